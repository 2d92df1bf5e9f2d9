// Embedding opsready's supervisor in a C++ trading runtime (docs/supervision.md walks through
// it). The runtime here has:
//   - a market-data loop (permanent);
//   - a reconciler that fails twice at start-up (its venue session drops) and is restarted
//     with backoff;
//   - a persistence subtree (rest_for_one): a journal writer, and a flusher that depends on it;
//   - a health reporter that publishes the task_supervision readiness component;
//   - a trading session, the workload proper. It is transient and significant: when it ends,
//     the whole runtime shuts down (auto_shutdown).
// RuntimeRunner adds SIGINT/SIGTERM handling (the first signal drains, the second stops now),
// an overall timeout and shutdown callbacks. The process exits with the runner's code.
//
//   embed_supervisor [session_ms]      default 300; Ctrl-C to stop early

#include <cstdio>
#include <stdexcept>
#include <string>

#include <asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "opsready/supervise/health.h"
#include "opsready/supervise/runner.h"
#include "opsready/supervise/supervisor.h"
#include "opsready/supervise/time_source.h"

namespace sv = opsready::supervise;
using namespace std::chrono_literals;

namespace {

asio::awaitable<void> market_data(sv::TimeSource& time, int& ticks) {
  for (;;) {
    co_await sv::sleep_for(time, 20ms);  // stands for reading the feed
    ++ticks;
  }
}

asio::awaitable<void> reconciler(sv::TimeSource& time, int run) {
  co_await sv::sleep_for(time, 10ms);
  if (run <= 2) throw std::runtime_error("venue session dropped (run " + std::to_string(run) + ")");
  for (;;) co_await sv::sleep_for(time, 50ms);
}

asio::awaitable<void> idle_loop(sv::TimeSource& time) {
  for (;;) co_await sv::sleep_for(time, 100ms);
}

// Publishes readiness the way the app layer does: describe() -> task_supervision component.
asio::awaitable<void> health_reporter(sv::TimeSource& time, const sv::Supervisor& root) {
  for (;;) {
    co_await sv::sleep_for(time, 100ms);
    const auto component = sv::task_supervision_snapshot(root.describe());
    std::printf("[health] %s: %s\n",
                std::string(opsready::core::to_string(component.status)).c_str(),
                component.summary.c_str());
  }
}

// Bridges supervision events to metrics; here it just prints what would be counted as
// opsready_supervisor_restarts_total{task,reason}.
struct PrintingObserver final : sv::Observer {
  void on_restart(const sv::TaskRef& task, sv::RestartReason reason) override {
    std::printf("[metrics] opsready_supervisor_restarts_total{task=\"%s\",reason=\"%s\"} += 1\n",
                task.path().c_str(), std::string(sv::to_string(reason)).c_str());
  }
  void on_abandoned(const sv::TaskRef& task, sv::Duration waited) override {
    std::printf("[alert] %s ignored cancellation for %lld ms\n", task.path().c_str(),
                static_cast<long long>(
                    std::chrono::duration_cast<std::chrono::milliseconds>(waited).count()));
  }
};

}  // namespace

int main(int argc, char** argv) {
  const auto session = std::chrono::milliseconds(argc > 1 ? std::stoi(argv[1]) : 300);

  asio::io_context ctx;  // one thread runs it: RuntimeRunner::run() below
  PrintingObserver observer;
  sv::Supervisor root(ctx.get_executor(), {.name = "runtime",
                                           .auto_shutdown = sv::AutoShutdown::kAnySignificant,
                                           .observer = &observer});
  sv::TimeSource& time = root.time();

  int ticks = 0;
  int reconciler_runs = 0;
  const auto spawned = [](const opsready::core::Result<std::string>& r) {
    if (!r) throw std::runtime_error(r.error().describe());
  };
  spawned(root.spawn({.name = "market-data",
                      .shutdown_timeout = 1s,
                      .metadata = {{"venue", "XLON"}, {"component", "ingest"}}},
                     [&] { return market_data(time, ticks); }));
  spawned(root.spawn({.name = "reconciler", .backoff = {.initial = 10ms, .jitter = 0.2}},
                     [&] { return reconciler(time, ++reconciler_runs); }));

  auto persistence =
      root.spawn_supervisor({.name = "persistence"}, {.strategy = sv::Strategy::kRestForOne});
  if (!persistence) throw std::runtime_error(persistence.error().describe());
  spawned((*persistence)->spawn({.name = "journal-writer"}, [&] { return idle_loop(time); }));
  spawned((*persistence)->spawn({.name = "flusher"}, [&] { return idle_loop(time); }));

  spawned(root.spawn({.name = "health"}, [&] { return health_reporter(time, root); }));
  spawned(root.spawn({.name = "session", .restart = sv::Restart::kTransient, .significant = true},
                     [&]() -> asio::awaitable<void> { co_await sv::sleep_for(time, session); }));

  sv::RuntimeRunner runner(ctx, root, {.timeout = 60s});
  runner.on_shutdown("close-fix-sessions", []() -> asio::awaitable<void> {
    std::printf("[shutdown] FIX sessions closed\n");
    co_return;
  });
  runner.on_shutdown(
      "flush-orders",
      [&]() -> asio::awaitable<void> {
        co_await sv::sleep_for(time, 10ms);  // stands for an async flush
        std::printf("[shutdown] orders flushed after %d market-data ticks\n", ticks);
      },
      2s);

  const sv::RunReport report = runner.run();  // blocks until the runtime has stopped

  std::printf("%s\n", sv::to_json(root.describe()).dump(2).c_str());
  std::printf("%s\n", report.summary().c_str());
  return report.exit_code;
}
