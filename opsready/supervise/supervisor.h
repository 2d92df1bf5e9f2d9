#pragma once
// Supervisor: runs asio C++20 coroutines as supervised children, in the manner of an Erlang/OTP
// supervisor. It restarts children by restart type (permanent / transient / temporary) and
// strategy (one_for_one / one_for_all / rest_for_one), with exponential backoff. When restarts
// exceed its intensity within its period, it stops all children and fails, and the failure
// escalates to its parent supervisor. It stops children in reverse start order, each within its
// shutdown timeout. A child that ignores cancellation past that timeout is reported and
// abandoned, and the stop goes on without it.
//
//   asio::io_context ctx;
//   Supervisor root(ctx.get_executor(), {.name = "opsready"});
//   auto ok = root.spawn({.name = "evaluation", .metadata = {{"component", "readiness"}}},
//                        [&]() -> asio::awaitable<void> { co_await evaluator.loop(); });
//   Supervisor* io = root.spawn_supervisor({.name = "io"}, {.strategy = Strategy::kRestForOne})
//                        .value();
//   RuntimeRunner runner(ctx, root);        // or: root.start(); ... root.request_stop();
//   return runner.run().exit_code;
//
// Rationale: a trading runtime's background loops must never run unsupervised, and a failure
// in one must neither go unnoticed nor take its siblings down (one_for_one). When a failure
// keeps repeating, it must end up somewhere an operator sees it: the intensity limit escalates
// it up the tree, and at the top RuntimeRunner turns it into a non-zero exit code.
//
// Lifetime and threads: a Supervisor is bound to one executor. That executor must not run
// handlers concurrently: an io_context run by one thread, or a strand. Children run on it.
// spawn(), spawn_supervisor(), request_stop() and async_stop() may be called from any thread.
// Work they start runs on the executor. describe(), state(), state_counts() and
// last_stop_report() may be called from any thread: they read under a lock.
// A child's factory is kept for the child's whole life and is called again on every restart,
// so a capturing lambda coroutine is safe. Destroying a Supervisor cancels whatever still
// runs, without waiting. Destroy it on the executor's thread or after the executor has
// stopped, and before the TimeSource, Observer and LogFn it uses.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include "opsready/core/error.h"
#include "opsready/supervise/time_source.h"
#include "opsready/supervise/types.h"

namespace opsready::supervise {

// Makes one run of a child. Called at every (re)start.
using TaskFactory = std::move_only_function<asio::awaitable<void>()>;

struct SupervisorOptions {
  // Last segment of the supervisor's path ("opsready", "opsready/io"). For a nested supervisor
  // the ChildSpec name is used instead.
  std::string name = "root";
  Strategy strategy = Strategy::kOneForOne;
  // More than `intensity` restarts within `period` makes the supervisor fail and escalate.
  // OTP's default is 1 in 5 s. Ours is 5 in 30 s, so that the default backoff (0.1, 0.2, 0.4,
  // 0.8, 1.6 s...) cannot dodge the window while a brief outage of a dependency is still
  // absorbed. See docs/supervision.md.
  int intensity = 5;
  Duration period = std::chrono::seconds(30);
  AutoShutdown auto_shutdown = AutoShutdown::kNever;
  // Seed of the backoff-jitter generator. Unset: random. A nested supervisor without a seed
  // takes one from its parent's generator, so one seed makes a whole tree reproducible.
  std::optional<std::uint64_t> seed;
  // Not owned. Unset: SystemTimeSource::instance(). Nested supervisors inherit unset hooks.
  TimeSource* time = nullptr;
  Observer* observer = nullptr;  // not owned; may stay null
  LogFn log;                     // unset: stderr_log
};

// Thrown out of run() when the supervisor failed (restart intensity exceeded); its parent sees
// it as the child's error.
class SupervisorFailed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class StopMode : std::uint8_t {
  kGraceful,   // reverse start order, each child within its shutdown timeout
  kImmediate,  // cancel every child at once and stop without waiting for any
};

namespace detail {
class SupervisorCore;
}  // namespace detail

class Supervisor {
 public:
  Supervisor(asio::any_io_executor executor, SupervisorOptions options = {});
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Adds a child. While the supervisor runs, the child starts at once. Before it runs, the
  // child starts with the others, in spawn order, when run() begins. Refused with
  // `supervisor_stopping` once a stop has begun, and with `invalid_child_spec` for a bad spec
  // (empty factory, significant+permanent, multiplier < 1, jitter outside [0, 1], negative
  // durations). Returns the child's name (generated when the spec's was empty).
  [[nodiscard]] core::Result<std::string> spawn(ChildSpec spec, TaskFactory factory);

  // Adds a nested supervisor as a child (OTP `type => supervisor`) and returns it, to spawn
  // its own children. The nested supervisor is owned by this one and lives as long as it.
  // Its name is spec.name, and its hooks, time source and seed default to this one's. Its
  // shutdown timeout defaults to kInfinity: its own children's timeouts bound its stop.
  [[nodiscard]] core::Result<Supervisor*> spawn_supervisor(ChildSpec spec,
                                                           SupervisorOptions options = {});

  // Runs the supervisor: starts its children in order and completes when it has stopped, by
  // request_stop(), by cancellation of the awaiting coroutine (the graceful stop still runs
  // to the end first), or by auto_shutdown. Throws SupervisorFailed when restart intensity
  // was exceeded. A parent calls run() again to restart it. It also throws std::logic_error
  // if the supervisor is already running.
  asio::awaitable<void> run();
  // Runs the supervisor detached (co_spawn of run()) for embedders without a RuntimeRunner.
  // A failure is logged and reported to the observer.
  void start();

  // Idempotent and thread-safe. Stopping twice is safe. kImmediate overrides a graceful stop
  // that is in progress.
  void request_stop(StopMode mode = StopMode::kGraceful);
  // request_stop(mode), then `done` runs on the executor once the supervisor has stopped, at
  // once if it already has.
  void async_stop(std::function<void(const StopReport&)> done, StopMode mode = StopMode::kGraceful);

  [[nodiscard]] SupervisionSnapshot describe() const;
  [[nodiscard]] SupervisorState state() const;
  // Tasks per state, whole tree, without building a snapshot (for metric gauges).
  [[nodiscard]] StateCounts state_counts() const;
  // The abandoned tasks (whole tree) of the most recent stop.
  [[nodiscard]] StopReport last_stop_report() const;
  [[nodiscard]] const std::string& path() const;
  [[nodiscard]] const asio::any_io_executor& executor() const;
  [[nodiscard]] TimeSource& time() const;

 private:
  explicit Supervisor(std::shared_ptr<detail::SupervisorCore> core);

  std::shared_ptr<detail::SupervisorCore> core_;
  std::mutex nested_mu_;
  std::vector<std::unique_ptr<Supervisor>> nested_;
};

}  // namespace opsready::supervise
