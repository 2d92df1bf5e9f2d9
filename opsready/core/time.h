#pragma once
// RFC 3339 timestamps and human durations.
//
//   auto t = parse_rfc3339("2025-01-02T01:00:00+01:00");   // == 2025-01-02T00:00:00Z
//   format_rfc3339(*t) == "2025-01-02T00:00:00Z"
//   parse_duration("90s"), parse_duration("5m"), parse_duration("1h30m")
//
// Output is always UTC with a 'Z'; fractional seconds are printed only when non-zero, with
// 3, 6 or 9 digits. Input accepts 'T', 't' or ' ' between date and time, any number of
// fractional digits (nanosecond precision kept), 'Z', 'z' or a numeric offset.
// libstdc++ 12 lacks std::chrono::parse/format, so the calendar arithmetic is written here.

#include <string>
#include <string_view>

#include "opsready/core/clock.h"
#include "opsready/core/error.h"

namespace opsready::core {

[[nodiscard]] Result<TimePoint> parse_rfc3339(std::string_view text);
[[nodiscard]] std::string format_rfc3339(TimePoint t);

// Prometheus-style durations: one or more <number><unit> with units ms, s, m, h, d, w
// (e.g. "300s", "1h30m", "250ms"); a bare "0" is zero.
[[nodiscard]] Result<Duration> parse_duration(std::string_view text);
// Shortest Prometheus-style rendering: "5m", "1h30m", "250ms", "0s".
[[nodiscard]] std::string format_duration(Duration d);

// Seconds as a double, for JSON and metrics.
[[nodiscard]] inline double to_seconds(Duration d) {
  return std::chrono::duration<double>(d).count();
}
[[nodiscard]] inline double to_unix_seconds(TimePoint t) {
  return to_seconds(t.time_since_epoch());
}

}  // namespace opsready::core
