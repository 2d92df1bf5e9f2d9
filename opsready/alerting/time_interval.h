#pragma once
// TimeInterval: Alertmanager's named time intervals (the `time_intervals:` of its configuration,
// package timeinterval), which routes name in mute_time_intervals and active_time_intervals.
// The value parsers here read the strings of the configuration ("monday:friday", "09:00",
// "-3:-1", "may:august", "Europe/Berlin"); app/alerting_config.cc reads the YAML around them.
//
//   auto hours = parse_time_of_day_range("09:00", "17:00");     // minutes [540, 1020)
//   auto days = parse_weekday_range("monday:friday");            // {1, 5}; Sunday is 0
//   TimeInterval business{.name = "business-hours",
//                         .ranges = {{.times = {*hours}, .weekdays = {*days},
//                                     .location = "Europe/Berlin"}}};
//   if (!contains(business, clock.now())) mute(route);           // active_time_intervals
//
// Semantics are Alertmanager's (timeinterval.ContainsTime, 0.25 and the DST fix of 0.28):
//  - a TimeInterval holds when any of its ranges holds; a range holds when every field that is
//    set holds, and a field holds when any of its entries does (an empty field is unset);
//  - the instant is first converted to the range's `location` (an IANA zone name, "UTC", or
//    "Local" for the machine's zone; empty is UTC), then compared field by field in civil time;
//  - `times` start inclusive, end exclusive, in minutes of the day ("24:00" ends at midnight);
//  - weekdays are named ("Monday", case-insensitive), Sunday = 0 .. Saturday = 6, ranges with
//    ':' inclusive at both ends ("monday:friday"; "friday:monday" is an error);
//  - days_of_month are 1..31 or -31..-1 counted from the month's end (-1 is its last day),
//    inclusive; a range is clamped to the month ("1:31" in February ends on the 28th or 29th),
//    and a range whose start lies past the month's end does not hold that month ("30:31" never
//    holds in February); a negative start needs a negative end, and a range that is empty in
//    every month of 28 days or more is an error ("10:-25");
//  - months are names (case-insensitive) or numbers 1..12, years numbers; both inclusive
//    ranges.
// Where opsready is stricter than Alertmanager, so that a typo is an error rather than a range
// that never holds: month numbers outside 1..12 and years outside 0..9999 are refused (0.25
// takes any integer), and so is a location name that is absolute or contains "..", as Go's
// time.LoadLocation does.
//
// Plain value types, safe to share between threads. Zones are named, not held: contains()
// looks the zone up by name in cctz's process-wide cache (loaded once, from the tz database,
// /usr/share/zoneinfo or $TZDIR), which is thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/core/clock.h"
#include "opsready/core/error.h"

namespace opsready::alerting {

inline constexpr int kMinutesPerDay = 24 * 60;

// An inclusive range of weekdays, days of the month, months or years.
struct InclusiveRange {
  int begin = 0;
  int end = 0;

  bool operator==(const InclusiveRange&) const = default;
};

// Minutes of the day, start inclusive, end exclusive: 0 <= start < end <= 1440.
struct TimeOfDayRange {
  int start_minute = 0;
  int end_minute = 0;

  bool operator==(const TimeOfDayRange&) const = default;
};

// One entry of a time interval's `time_intervals:` list (Alertmanager's timeinterval.TimeInterval).
struct TimeRangeSpec {
  std::vector<TimeOfDayRange> times;
  std::vector<InclusiveRange> weekdays;       // 0 = Sunday .. 6 = Saturday
  std::vector<InclusiveRange> days_of_month;  // 1..31, or -31..-1 from the month's end
  std::vector<InclusiveRange> months;         // 1 = January .. 12
  std::vector<InclusiveRange> years;
  std::string location;  // IANA zone name, "UTC" or "Local"; empty: UTC

  bool operator==(const TimeRangeSpec&) const = default;
};

// A named interval, as routes reference it.
struct TimeInterval {
  std::string name;
  std::vector<TimeRangeSpec> ranges;

  bool operator==(const TimeInterval&) const = default;
};

[[nodiscard]] bool contains(const TimeRangeSpec& range, core::TimePoint t);
// Whether any range of `interval` holds at `t` (an interval without ranges never holds).
[[nodiscard]] bool contains(const TimeInterval& interval, core::TimePoint t);

// The interval's `time_intervals:` list as Alertmanager's API prints it (timeinterval's
// MarshalJSON), which the parsers read back: [{"times": [{"start_time": "09:00", "end_time":
// "17:00"}], "weekdays": ["monday:friday"], "days_of_month": ["-3:-1"], "months": ["1:3"],
// "years": ["2024"], "location": "Europe/Berlin"}]; empty fields and an empty location are left
// out.
[[nodiscard]] nlohmann::json to_json(const TimeInterval& interval);

// ---- Value parsers (errors carry a code and Alertmanager's wording) ----

// "HH:MM", two digits each, 00:00 to 23:59, or 24:00: minutes since midnight.
// Error: time_interval_invalid_time.
[[nodiscard]] core::Result<int> parse_clock_time(std::string_view text);
// start < end. Errors: time_interval_invalid_time, time_interval_empty_time_range.
[[nodiscard]] core::Result<TimeOfDayRange> parse_time_of_day_range(std::string_view start,
                                                                   std::string_view end);
// "monday", "Monday:Friday". Error: time_interval_invalid_weekday.
[[nodiscard]] core::Result<InclusiveRange> parse_weekday_range(std::string_view text);
// "1", "1:5", "-3:-1", "1:-1". Error: time_interval_invalid_day_of_month.
[[nodiscard]] core::Result<InclusiveRange> parse_day_of_month_range(std::string_view text);
// "may", "1:3", "may:august", "January:december". Error: time_interval_invalid_month.
[[nodiscard]] core::Result<InclusiveRange> parse_month_range(std::string_view text);
// "2024", "2020:2022". Error: time_interval_invalid_year.
[[nodiscard]] core::Result<InclusiveRange> parse_year_range(std::string_view text);
// Whether the zone can be loaded. Error: time_interval_unknown_location.
[[nodiscard]] core::Result<void> check_location(std::string_view name);

// Checks a range built in code as the parsers would have: every bound in range, begin <= end,
// the location loadable. The error's field names the entry ("weekdays[1]", "location").
[[nodiscard]] core::Result<void> validate(const TimeRangeSpec& range);

}  // namespace opsready::alerting
