#include "opsready/supervise/types.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

namespace opsready::supervise {

std::string_view to_string(Restart r) {
  switch (r) {
    case Restart::kPermanent:
      return "permanent";
    case Restart::kTransient:
      return "transient";
    case Restart::kTemporary:
      return "temporary";
  }
  return "unknown";
}

std::string_view to_string(Strategy s) {
  switch (s) {
    case Strategy::kOneForOne:
      return "one_for_one";
    case Strategy::kOneForAll:
      return "one_for_all";
    case Strategy::kRestForOne:
      return "rest_for_one";
  }
  return "unknown";
}

std::string_view to_string(AutoShutdown a) {
  switch (a) {
    case AutoShutdown::kNever:
      return "never";
    case AutoShutdown::kAnySignificant:
      return "any_significant";
    case AutoShutdown::kAllSignificant:
      return "all_significant";
  }
  return "unknown";
}

std::string_view to_string(TaskState s) {
  switch (s) {
    case TaskState::kStarting:
      return "starting";
    case TaskState::kRunning:
      return "running";
    case TaskState::kRestarting:
      return "restarting";
    case TaskState::kStopping:
      return "stopping";
    case TaskState::kStopped:
      return "stopped";
    case TaskState::kFailed:
      return "failed";
  }
  return "unknown";
}

std::string_view to_string(SupervisorState s) {
  switch (s) {
    case SupervisorState::kIdle:
      return "idle";
    case SupervisorState::kRunning:
      return "running";
    case SupervisorState::kStopping:
      return "stopping";
    case SupervisorState::kStopped:
      return "stopped";
    case SupervisorState::kFailed:
      return "failed";
  }
  return "unknown";
}

std::string_view to_string(RestartReason r) {
  switch (r) {
    case RestartReason::kError:
      return "error";
    case RestartReason::kExit:
      return "exit";
    case RestartReason::kSibling:
      return "sibling";
  }
  return "unknown";
}

std::string_view to_string(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "unknown";
}

Duration backoff_delay(const Backoff& b, std::uint32_t attempt, double u) {
  if (b.initial <= Duration::zero()) return Duration::zero();
  // Computed in double seconds-of-nanoseconds, capped before converting back, so large
  // attempt counts saturate at `max` instead of overflowing.
  const double cap = static_cast<double>(std::max(b.max, b.initial).count());
  double ns = static_cast<double>(b.initial.count()) *
              std::pow(std::max(b.multiplier, 1.0), static_cast<double>(attempt));
  ns = std::min(ns, cap);
  const double jitter = std::clamp(b.jitter, 0.0, 1.0);
  ns *= 1.0 + jitter * (2.0 * std::clamp(u, 0.0, 1.0) - 1.0);
  return Duration(static_cast<Duration::rep>(std::llround(std::max(ns, 0.0))));
}

std::string TaskRef::path() const {
  std::string p;
  p.reserve(supervisor.size() + 1 + name.size());
  p.append(supervisor).append("/").append(name);
  return p;
}

void stderr_log(LogLevel level, std::string_view message) {
  if (level < LogLevel::kWarn) return;
  const std::string_view lvl = to_string(level);
  std::fprintf(stderr, "opsready.supervise[%.*s]: %.*s\n", static_cast<int>(lvl.size()), lvl.data(),
               static_cast<int>(message.size()), message.data());
}

StateCounts SupervisionSnapshot::count_by_state() const {
  StateCounts counts{};
  for (const auto& t : tasks) ++counts[static_cast<std::size_t>(t.state)];
  return counts;
}

}  // namespace opsready::supervise
