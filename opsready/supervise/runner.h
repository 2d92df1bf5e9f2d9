#pragma once
// RuntimeRunner: runs a root Supervisor as a process's workload. It turns SIGINT/SIGTERM, an
// optional overall timeout and the end of the workload into one orderly shutdown, runs the
// shutdown callbacks exactly once, and reports an exit code that says how the run ended.
//
//   asio::io_context ctx;
//   Supervisor root(ctx.get_executor(), {.name = "opsready"});
//   ... root.spawn(...) ...
//   RuntimeRunner runner(ctx, root, {.timeout = std::nullopt});
//   runner.on_shutdown("flush-store", [&]() -> asio::awaitable<void> {
//     co_await store.flush();
//   }, std::chrono::seconds(10));
//   RunReport report = runner.run();          // blocks; runs ctx on this thread
//   return report.exit_code;
//
// Shutdown sequence:
//   1. The first SIGINT or SIGTERM, the overall timeout, request_stop(), or the root stopping
//      by itself (auto_shutdown, or a failure that escalated to the top) starts the shutdown.
//      The first of these to happen gives the cause.
//   2. A graceful stop of the root: children are stopped in reverse start order, each within
//      its shutdown timeout.
//   3. Shutdown callbacks, in reverse registration order, one at a time. Each is limited to
//      its time limit: past it, the callback is cancelled, reported and abandoned. A
//      callback's error is logged, and the remaining callbacks still run. Callbacks run at
//      most once, whatever races with what.
//   A second SIGINT or SIGTERM at any point stops now. Every task is cancelled without
//   waiting, the running callback is abandoned, the remaining callbacks are skipped, and
//   run() returns 5. If `drain_timeout` is set and steps 2-3 take longer than that, the
//   runner stops now in the same way, and returns 4.
//
// Exit codes (RunReport::exit_code). They match `opsready serve`'s codes. When several apply,
// the first in this list wins:
//   5    stopped now by a second SIGINT/SIGTERM
//   6    the workload failed: the root supervisor exceeded its restart intensity
//   4    the shutdown was incomplete: the drain timeout passed, a task was abandoned, or a
//        callback failed or overran its limit
//   124  the overall timeout ended the run (as timeout(1) does)
//   0    otherwise: stopped by the first signal or request_stop(), or the workload ended
//
// Lifetime and threads: the io_context, the Supervisor and the TimeSource must outlive the
// runner. Call on_shutdown() before start() or run(). Call start(), run(), finished() and
// report() from the thread that runs the io_context. request_stop() may be called from any
// thread. Signal handling uses asio::signal_set: only one runner with handle_signals may
// exist at a time.

#include <csignal>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio/awaitable.hpp>

#include "opsready/supervise/supervisor.h"
#include "opsready/supervise/time_source.h"
#include "opsready/supervise/types.h"

namespace asio {
class io_context;
}  // namespace asio

namespace opsready::supervise {

namespace exit_code {
inline constexpr int kOk = 0;
inline constexpr int kIncomplete = 4;
inline constexpr int kForced = 5;
inline constexpr int kFailed = 6;
inline constexpr int kTimeout = 124;
}  // namespace exit_code

// A shutdown callback. For synchronous work, write a coroutine that does not co_await. A
// blocking call cannot be interrupted by the time limit.
using ShutdownCallback = std::move_only_function<asio::awaitable<void>()>;

struct RunnerOptions {
  std::optional<Duration> timeout;  // overall; unset: run until stopped
  // Bound on the whole graceful shutdown (stopping tasks, then callbacks), counted from its
  // start; past it the runner stops now (exit 4). Unset: bounded only by the per-task
  // shutdown timeouts and per-callback limits.
  std::optional<Duration> drain_timeout;
  bool handle_signals = true;                         // SIGINT and SIGTERM
  Duration callback_limit = std::chrono::seconds(5);  // default per-callback time limit
  TimeSource* time = nullptr;                         // not owned; unset: the root supervisor's
  LogFn log;                                          // unset: stderr_log
};

enum class StopCause : std::uint8_t {
  kNone,       // not stopped yet
  kCompleted,  // the root stopped by itself (auto_shutdown)
  kFailed,     // the root failed (restart intensity exceeded at the top)
  kSignal,     // first SIGINT/SIGTERM
  kTimeout,    // the overall timeout
  kRequested,  // request_stop()
  kForced,     // a second signal
};
[[nodiscard]] std::string_view to_string(StopCause c);

struct CallbackResult {
  enum class Outcome : std::uint8_t { kOk, kFailed, kTimedOut, kSkipped };
  std::string name;
  Outcome outcome = Outcome::kOk;
  std::string error;

  bool operator==(const CallbackResult&) const = default;
};
[[nodiscard]] std::string_view to_string(CallbackResult::Outcome o);

struct RunReport {
  int exit_code = exit_code::kOk;
  StopCause cause = StopCause::kNone;
  std::optional<int> signal;              // the first signal received, if any
  std::optional<int> forced_by;           // the second signal, if any
  bool drain_expired = false;             // the drain timeout cut the shutdown short
  std::string failure;                    // the root's failure, when it failed
  StopReport stop;                        // abandoned tasks
  std::vector<CallbackResult> callbacks;  // in the order they ran

  // One line for the log: "runtime stopped: cause=signal signal=SIGTERM abandoned=0 ...".
  [[nodiscard]] std::string summary() const;
};

namespace detail {
class RunnerState;
}  // namespace detail

class RuntimeRunner {
 public:
  RuntimeRunner(asio::io_context& ctx, Supervisor& root, RunnerOptions options = {});
  ~RuntimeRunner();
  RuntimeRunner(const RuntimeRunner&) = delete;
  RuntimeRunner& operator=(const RuntimeRunner&) = delete;

  // Registers a callback for shutdown. `limit` unset: options.callback_limit.
  void on_shutdown(std::string name, ShutdownCallback callback,
                   std::optional<Duration> limit = std::nullopt);

  // Installs the signal handlers and the timeout and starts the root (co_spawn of
  // root.run()). Does not block. For tests and embedders that drive the io_context
  // themselves.
  void start();
  // start(), then runs the io_context on this thread until finished(). Returns report().
  RunReport run();
  // Starts a graceful shutdown (cause kRequested unless one is already under way).
  void request_stop();

  [[nodiscard]] bool finished() const;
  [[nodiscard]] const RunReport& report() const;

 private:
  asio::io_context& ctx_;
  std::shared_ptr<detail::RunnerState> state_;
};

}  // namespace opsready::supervise
