#pragma once
// The vocabulary of opsready::supervise: child specs, restart types and strategies, task and
// supervisor descriptions, stop reports, and the observer and log hooks an embedding runtime
// uses to bridge supervision into its own metrics and logs.
//
//   ChildSpec spec{.name = "market-data",
//                  .restart = Restart::kPermanent,
//                  .shutdown_timeout = std::chrono::seconds(2),
//                  .metadata = {{"component", "ingest"}}};
//
// Semantics follow Erlang/OTP's supervisor (restart types, strategies, intensity, reverse-order
// shutdown); docs/supervision.md explains each default. Everything here is a plain value type
// (thread-safe as values are), except Observer, which the caller owns and must keep alive for
// as long as the supervisors that point at it.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opsready/core/clock.h"

namespace opsready::supervise {

using core::Duration;
using core::TimePoint;
using Metadata = std::map<std::string, std::string>;

// A shutdown timeout that never expires (OTP's `infinity`; the default for nested supervisors).
inline constexpr Duration kInfinity = Duration::max();

// When a terminated child is restarted (OTP restart types).
enum class Restart : std::uint8_t {
  kPermanent,  // always restarted, whether it failed or returned
  kTransient,  // restarted only when it failed (threw)
  kTemporary,  // never restarted; removed from the supervisor once it ends
};

// Which children are restarted when one fails (OTP strategies).
enum class Strategy : std::uint8_t {
  kOneForOne,   // only the failed child; siblings are never touched
  kOneForAll,   // every child is stopped (reverse order) and all are restarted
  kRestForOne,  // the failed child and every child started after it
};

// Whether the supervisor stops by itself when significant children end (OTP 24 auto_shutdown).
enum class AutoShutdown : std::uint8_t { kNever, kAnySignificant, kAllSignificant };

enum class TaskState : std::uint8_t {
  kStarting,    // registered, its coroutine not yet running
  kRunning,     // its coroutine runs
  kRestarting,  // ended or stopped, waiting for its restart (backoff, group restart)
  kStopping,    // cancelled by the supervisor, waiting for it to end
  kStopped,     // ended and will not be restarted
  kFailed,      // failed and will not be restarted, or abandoned after ignoring cancellation
};
inline constexpr std::size_t kTaskStateCount = 6;
inline constexpr std::array<TaskState, kTaskStateCount> kAllTaskStates = {
    TaskState::kStarting, TaskState::kRunning, TaskState::kRestarting,
    TaskState::kStopping, TaskState::kStopped, TaskState::kFailed};
using StateCounts = std::array<std::size_t, kTaskStateCount>;

enum class SupervisorState : std::uint8_t {
  kIdle,      // constructed, never run
  kRunning,   // run() is active
  kStopping,  // stopping its children in reverse start order
  kStopped,   // stopped on request (or auto_shutdown); a parent may run it again
  kFailed,    // restart intensity exceeded: children stopped, failure escalated to the parent
};

// Why a child was restarted (the `reason` label of opsready_supervisor_restarts_total).
enum class RestartReason : std::uint8_t {
  kError,    // it threw
  kExit,     // a permanent child returned
  kSibling,  // a sibling failed under one_for_all / rest_for_one
};

enum class LogLevel : std::uint8_t { kDebug, kInfo, kWarn, kError };

[[nodiscard]] std::string_view to_string(Restart r);
[[nodiscard]] std::string_view to_string(Strategy s);
[[nodiscard]] std::string_view to_string(AutoShutdown a);
[[nodiscard]] std::string_view to_string(TaskState s);
[[nodiscard]] std::string_view to_string(SupervisorState s);
[[nodiscard]] std::string_view to_string(RestartReason r);
[[nodiscard]] std::string_view to_string(LogLevel l);

// Exponential restart backoff. The delay before consecutive restart n (0-based) is
// min(max, initial * multiplier^n) * (1 + jitter * (2u - 1)) with u in [0, 1) drawn from the
// supervisor's seeded generator. A child that ran for at least `reset_after` before failing
// starts again from `initial`.
struct Backoff {
  Duration initial = std::chrono::milliseconds(100);
  double multiplier = 2.0;
  Duration max = std::chrono::seconds(10);
  double jitter = 0.1;  // fraction of the delay, 0..1
  Duration reset_after = std::chrono::seconds(30);

  bool operator==(const Backoff&) const = default;
};

// Pure: the delay for consecutive restart `attempt` (0-based), given the jitter draw u in [0, 1).
[[nodiscard]] Duration backoff_delay(const Backoff& b, std::uint32_t attempt, double u);

struct ChildSpec {
  // Shown in describe(), logs and metric labels; need not be unique, but long-lived loops
  // should have unique names. Empty: "<supervisor>-task-00001", numbered per supervisor.
  std::string name;
  Restart restart = Restart::kPermanent;
  // How long a cancelled child may take to end before it is abandoned.
  // Unset: 5 s for a task, kInfinity for a nested supervisor (OTP's defaults).
  std::optional<Duration> shutdown_timeout;
  Backoff backoff;
  Metadata metadata;
  // Ending by itself (not restarted) may stop the supervisor, see AutoShutdown. Transient or
  // temporary children only.
  bool significant = false;
};

// The task an observer callback is about. Views stay valid for the duration of the call.
struct TaskRef {
  std::string_view supervisor;  // path of the owning supervisor, e.g. "opsready/persistence"
  std::string_view name;
  const Metadata& metadata;

  [[nodiscard]] std::string path() const;  // supervisor + "/" + name
};

// Telemetry hook. Callbacks run on the supervisor's executor, never under its lock, so they may
// call describe(); they must not block. Default implementations do nothing.
class Observer {
 public:
  virtual ~Observer() = default;
  virtual void on_task_state(const TaskRef& /*task*/, TaskState /*from*/, TaskState /*to*/) {}
  virtual void on_restart(const TaskRef& /*task*/, RestartReason /*reason*/) {}
  virtual void on_abandoned(const TaskRef& /*task*/, Duration /*waited*/) {}
  virtual void on_supervisor_state(std::string_view /*path*/, SupervisorState /*from*/,
                                   SupervisorState /*to*/, std::string_view /*reason*/) {}
};

// Log sink. Called on the executor, outside the supervisor's lock; must not block for long.
using LogFn = std::function<void(LogLevel, std::string_view message)>;
// Writes warn and error lines to stderr ("opsready.supervise[warn]: ...").
void stderr_log(LogLevel level, std::string_view message);

// One task in describe() output.
struct TaskInfo {
  std::string supervisor;  // owning supervisor's path
  std::string name;
  std::string path;  // supervisor + "/" + name; unique for uniquely named tasks
  TaskState state = TaskState::kStarting;
  Restart restart = Restart::kPermanent;
  bool is_supervisor = false;
  bool significant = false;
  std::uint64_t restarts = 0;           // over the task's life
  std::string last_error;               // empty when it never failed
  std::optional<TimePoint> started_at;  // start of the current (or last) run
  Duration uptime{};                    // of the current run; zero when not running
  Metadata metadata;
  bool abandoned = false;                  // ignored cancellation past its shutdown timeout
  std::vector<TimePoint> recent_restarts;  // oldest first, at most kRecentRestarts

  bool operator==(const TaskInfo&) const = default;
};
inline constexpr std::size_t kRecentRestarts = 64;

struct SupervisorInfo {
  std::string path;
  SupervisorState state = SupervisorState::kIdle;
  Strategy strategy = Strategy::kOneForOne;
  int intensity = 0;
  Duration period{};
  std::uint64_t restarts_total = 0;
  std::size_t restarts_in_period = 0;  // counted against intensity right now
  std::string last_error;              // why it failed (intensity), when it did

  bool operator==(const SupervisorInfo&) const = default;
};

// describe() output for a supervision tree, flattened depth first: a nested supervisor's own
// TaskInfo is followed by its tasks.
struct SupervisionSnapshot {
  TimePoint observed_at{};
  std::vector<SupervisorInfo> supervisors;
  std::vector<TaskInfo> tasks;

  [[nodiscard]] StateCounts count_by_state() const;
  bool operator==(const SupervisionSnapshot&) const = default;
};

struct AbandonedTask {
  std::string path;
  Metadata metadata;
  Duration waited{};  // from cancellation to abandonment

  bool operator==(const AbandonedTask&) const = default;
};

// How the last stop went.
struct StopReport {
  std::vector<AbandonedTask> abandoned;  // whole tree
  bool immediate = false;                // stop-now: cancelled everything without waiting

  bool operator==(const StopReport&) const = default;
};

}  // namespace opsready::supervise
