#pragma once
// Shared fixtures for the supervise tests: an io_context driven by a ManualTimeSource, a log
// and observer that record what they see, and a few task coroutines. Everything runs on manual
// time, so nothing here depends on how fast the machine is.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <system_error>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/this_coro.hpp>

#include "opsready/core/time.h"
#include "opsready/supervise/supervisor.h"
#include "opsready/supervise/time_source.h"

namespace opsready::supervise::testing {

using namespace std::chrono_literals;

// Records "<what>:<task>@<ms since start>" lines.
struct Events {
  const core::ManualClock* clock = nullptr;
  TimePoint t0{};
  std::vector<std::string> lines;

  void add(const std::string& what, const std::string& task) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock->now() - t0);
    lines.push_back(what + ":" + task + "@" + std::to_string(ms.count()));
  }
  [[nodiscard]] std::size_t count(const std::string& prefix) const {
    return static_cast<std::size_t>(std::count_if(
        lines.begin(), lines.end(), [&](const auto& l) { return l.rfind(prefix, 0) == 0; }));
  }
};

struct Recorder final : Observer {
  std::vector<std::string> events;
  void on_restart(const TaskRef& t, RestartReason r) override {
    events.push_back("restart " + t.path() + " " + std::string(to_string(r)));
  }
  void on_abandoned(const TaskRef& t, Duration waited) override {
    events.push_back("abandoned " + t.path() + " " + core::format_duration(waited));
  }
  void on_supervisor_state(std::string_view path, SupervisorState from, SupervisorState to,
                           std::string_view /*reason*/) override {
    events.push_back("supervisor " + std::string(path) + " " + std::string(to_string(from)) + "->" +
                     std::string(to_string(to)));
  }
};

// Runs until cancelled (records start and cancel); after cancellation it spends `cleanup`
// of manual time before ending, as a task that flushes state would.
inline asio::awaitable<void> forever(TimeSource& time, Events& ev, std::string name,
                                     Duration cleanup = Duration::zero()) {
  ev.add("start", name);
  bool cancelled = false;
  try {
    co_await sleep_for(time, 1000h);
  } catch (const std::system_error&) {
    cancelled = true;
  }
  if (!cancelled) co_return;
  ev.add("cancel", name);
  if (cleanup > Duration::zero()) {
    co_await asio::this_coro::reset_cancellation_state();
    co_await sleep_for(time, cleanup);
  }
  ev.add("done", name);
  throw std::system_error(std::make_error_code(std::errc::operation_canceled));
}

// Starts, waits `after`, then throws `message`.
inline asio::awaitable<void> fail_after(TimeSource& time, Events& ev, std::string name,
                                        Duration after, std::string message = "boom") {
  ev.add("start", name);
  if (after > Duration::zero()) co_await sleep_for(time, after);
  throw std::runtime_error(message);
}

// Starts, waits `after`, then returns.
inline asio::awaitable<void> finish_after(TimeSource& time, Events& ev, std::string name,
                                          Duration after) {
  ev.add("start", name);
  if (after > Duration::zero()) co_await sleep_for(time, after);
  ev.add("end", name);
}

// Ignores every cancellation and ends only once `total` of manual time has passed.
inline asio::awaitable<void> stubborn(TimeSource& time, Events& ev, std::string name,
                                      Duration total) {
  ev.add("start", name);
  const TimePoint until = time.now() + total;
  while (time.now() < until) {
    co_await asio::this_coro::reset_cancellation_state();
    try {
      co_await sleep_for(time, until - time.now());
    } catch (const std::system_error&) {
      ev.add("ignored", name);
    }
  }
  ev.add("end", name);
}

class ManualTimeTest : public ::testing::Test {
 protected:
  ManualTimeTest() {
    events.clock = &clock;
    events.t0 = clock.now();
  }

  SupervisorOptions options(std::string name) {
    SupervisorOptions o;
    o.name = std::move(name);
    o.seed = 42;
    o.time = &time;
    o.observer = &recorder;
    o.log = [this](LogLevel level, std::string_view m) {
      logs.push_back(std::string(to_string(level)) + " " + std::string(m));
    };
    return o;
  }

  // Runs ready handlers and every timer due within `d` of manual time.
  void run(Duration d = Duration::zero()) { time.run_for(ctx, d); }

  [[nodiscard]] bool logged(std::string_view needle) const {
    return std::any_of(logs.begin(), logs.end(),
                       [&](const std::string& l) { return l.find(needle) != std::string::npos; });
  }

  static const TaskInfo& task(const SupervisionSnapshot& s, std::string_view path) {
    for (const auto& t : s.tasks) {
      if (t.path == path) return t;
    }
    ADD_FAILURE() << "no task " << path;
    static const TaskInfo none;
    return none;
  }

  // Declaration order matters: the time source is destroyed before the io_context.
  asio::io_context ctx;
  core::ManualClock clock{core::parse_rfc3339("2025-01-02T00:00:00Z").value()};
  ManualTimeSource time{clock};
  Events events;
  Recorder recorder;
  std::vector<std::string> logs;
};

}  // namespace opsready::supervise::testing
