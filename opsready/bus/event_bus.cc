#include "opsready/bus/event_bus.h"

namespace opsready::bus {

void log_to(const LogFn& log, LogLevel level, std::string_view message) {
  if (log) log(level, message);
}

std::string_view to_string(PublishStatus s) {
  switch (s) {
    case PublishStatus::kDelivered:
      return "delivered";
    case PublishStatus::kNotRunning:
      return "not_running";
    case PublishStatus::kFailed:
      return "failed";
  }
  return "unknown";
}

}  // namespace opsready::bus
