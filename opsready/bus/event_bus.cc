#include "opsready/bus/event_bus.h"

namespace opsready::bus {

std::string_view to_string(LogLevel level) {
  switch (level) {
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
