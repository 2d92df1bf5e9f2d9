#include "opsready/alerting/time_interval.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <string>

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

#include "opsready/core/text.h"

namespace opsready::alerting {
namespace {

constexpr std::array<std::string_view, 7> kWeekdays = {"sunday",   "monday", "tuesday", "wednesday",
                                                       "thursday", "friday", "saturday"};
constexpr std::array<std::string_view, 12> kMonths = {
    "january", "february", "march",     "april",   "may",      "june",
    "july",    "august",   "september", "october", "november", "december"};

// Go's strconv.Atoi: an optional sign and decimal digits, nothing else.
std::optional<int> to_int(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  int v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// One member of a range, or nullopt when it is not one.
using MemberFn = std::optional<int> (*)(std::string_view);

// Alertmanager's stringableRangeFromString: lower-cased, "a" or "a:b".
core::Result<InclusiveRange> split_range(std::string_view text, MemberFn member,
                                         const std::string& code, const std::string& what) {
  const std::string lower = core::to_lower(text);
  const std::string_view s = lower;
  const auto colon = s.find(':');
  if (colon != std::string_view::npos && s.find(':', colon + 1) != std::string_view::npos) {
    return core::fail(code, "couldn't parse range '" + std::string(text) + "', invalid format");
  }
  const std::string_view first = s.substr(0, colon);
  const std::string_view second = colon == std::string_view::npos ? first : s.substr(colon + 1);
  const auto begin = member(first);
  if (!begin) return core::fail(code, "'" + std::string(first) + "' is not a valid " + what);
  const auto end = member(second);
  if (!end) return core::fail(code, "'" + std::string(second) + "' is not a valid " + what);
  return InclusiveRange{*begin, *end};
}

std::optional<int> weekday_member(std::string_view s) {
  const auto it = std::find(kWeekdays.begin(), kWeekdays.end(), s);
  if (it == kWeekdays.end()) return std::nullopt;
  return static_cast<int>(it - kWeekdays.begin());
}

std::optional<int> month_member(std::string_view s) {
  const auto it = std::find(kMonths.begin(), kMonths.end(), s);
  if (it != kMonths.end()) return static_cast<int>(it - kMonths.begin()) + 1;
  return to_int(s);
}

std::string weekday_name(int d) {
  return d >= 0 && d < 7 ? std::string(kWeekdays[static_cast<std::size_t>(d)]) : std::to_string(d);
}

std::string month_name(int m) {
  return m >= 1 && m <= 12 ? std::string(kMonths[static_cast<std::size_t>(m - 1)])
                           : std::to_string(m);
}

core::Result<void> check_weekdays(const InclusiveRange& r) {
  for (const int d : {r.begin, r.end}) {
    if (d < 0 || d > 6) {
      return core::fail("time_interval_invalid_weekday",
                        std::to_string(d) + " is not a valid day of the week: out of range");
    }
  }
  if (r.begin > r.end) {
    return core::fail(
        "time_interval_invalid_weekday",
        "start day " + weekday_name(r.begin) + " is after end day " + weekday_name(r.end));
  }
  return {};
}

core::Result<void> check_days_of_month(const InclusiveRange& r) {
  for (const int d : {r.begin, r.end}) {
    if (d == 0 || d < -31 || d > 31) {
      return core::fail("time_interval_invalid_day_of_month",
                        std::to_string(d) + " is not a valid day of the month: out of range");
    }
  }
  if (r.begin < 0 && r.end > 0) {
    return core::fail("time_interval_invalid_day_of_month",
                      "end day must be negative if start day is negative");
  }
  // As Alertmanager: begin <= end cannot be known for negative days, but a range that is empty
  // in every month of 28 days or more is always wrong.
  const int begin = r.begin < 0 ? 28 + r.begin : r.begin;
  const int end = r.end < 0 ? 28 + r.end : r.end;
  if (begin > end) {
    return core::fail("time_interval_invalid_day_of_month", "end day " + std::to_string(r.end) +
                                                                " is always before start day " +
                                                                std::to_string(r.begin));
  }
  return {};
}

core::Result<void> check_months(const InclusiveRange& r) {
  for (const int m : {r.begin, r.end}) {
    if (m < 1 || m > 12) {
      return core::fail("time_interval_invalid_month",
                        std::to_string(m) + " is not a valid month: out of range (1..12)");
    }
  }
  if (r.begin > r.end) {
    return core::fail(
        "time_interval_invalid_month",
        "end month " + month_name(r.end) + " is before start month " + month_name(r.begin));
  }
  return {};
}

core::Result<void> check_years(const InclusiveRange& r) {
  for (const int y : {r.begin, r.end}) {
    if (y < 0 || y > 9999) {
      return core::fail("time_interval_invalid_year",
                        std::to_string(y) + " is not a valid year: out of range (0..9999)");
    }
  }
  if (r.begin > r.end) {
    return core::fail(
        "time_interval_invalid_year",
        "end year " + std::to_string(r.end) + " is before start year " + std::to_string(r.begin));
  }
  return {};
}

core::Result<void> check_time_of_day(const TimeOfDayRange& r) {
  if (r.start_minute < 0 || r.end_minute > kMinutesPerDay || r.start_minute >= r.end_minute) {
    return core::fail("time_interval_empty_time_range",
                      "start time cannot be equal or greater than end time");
  }
  return {};
}

core::Result<InclusiveRange> checked(core::Result<InclusiveRange> r,
                                     core::Result<void> (*check)(const InclusiveRange&)) {
  if (!r) return r;
  if (auto ok = check(*r); !ok) return std::unexpected(ok.error());
  return r;
}

// The zone of a validated name; UTC for a name that does not load (validate() refuses those).
cctz::time_zone zone(const std::string& name) {
  if (name.empty() || name == "UTC") return cctz::utc_time_zone();
  if (name == "Local") return cctz::local_time_zone();
  cctz::time_zone tz;
  (void)cctz::load_time_zone(name, &tz);
  return tz;
}

bool any_holds(const std::vector<InclusiveRange>& ranges, int v) {
  return ranges.empty() || std::any_of(ranges.begin(), ranges.end(), [v](const InclusiveRange& r) {
           return v >= r.begin && v <= r.end;
         });
}

}  // namespace

bool contains(const TimeRangeSpec& r, core::TimePoint t) {
  const cctz::civil_second cs = cctz::convert(t, zone(r.location));
  const int minute = cs.hour() * 60 + cs.minute();
  if (!r.times.empty() &&
      std::none_of(r.times.begin(), r.times.end(), [minute](const TimeOfDayRange& tr) {
        return minute >= tr.start_minute && minute < tr.end_minute;
      })) {
    return false;
  }
  if (!r.days_of_month.empty()) {
    const cctz::civil_day last = cctz::civil_day(cctz::civil_month(cs) + 1) - 1;
    const int days = last.day();
    const int day = cs.day();
    const bool in = std::any_of(r.days_of_month.begin(), r.days_of_month.end(),
                                [days, day](const InclusiveRange& dr) {
                                  int begin = dr.begin < 0 ? days + dr.begin + 1 : dr.begin;
                                  int end = dr.end < 0 ? days + dr.end + 1 : dr.end;
                                  if (begin > days) return false;  // starts after this month's end
                                  begin = std::clamp(begin, -days, days);
                                  end = std::clamp(end, -days, days);
                                  return day >= begin && day <= end;
                                });
    if (!in) return false;
  }
  if (!any_holds(r.months, cs.month())) return false;
  // cctz counts weekdays from Monday; Alertmanager (Go) from Sunday.
  const int weekday = (static_cast<int>(cctz::get_weekday(cctz::civil_day(cs))) + 1) % 7;
  if (!any_holds(r.weekdays, weekday)) return false;
  return any_holds(r.years, static_cast<int>(cs.year()));
}

bool contains(const TimeInterval& interval, core::TimePoint t) {
  return std::any_of(interval.ranges.begin(), interval.ranges.end(),
                     [t](const TimeRangeSpec& r) { return contains(r, t); });
}

nlohmann::json to_json(const TimeInterval& interval) {
  const auto clock = [](int minutes) {
    std::string out = std::to_string(minutes / 60);
    if (out.size() < 2) out.insert(0, "0");
    const int m = minutes % 60;
    return out + ":" + (m < 10 ? "0" : "") + std::to_string(m);
  };
  // Alertmanager's InclusiveRange.MarshalText: "a" when begin == end, else "a:b".
  const auto ranges = [](const std::vector<InclusiveRange>& list, auto name) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : list) {
      out.push_back(r.begin == r.end ? name(r.begin) : name(r.begin) + ":" + name(r.end));
    }
    return out;
  };
  const auto number = [](int v) { return std::to_string(v); };
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : interval.ranges) {
    nlohmann::json j = nlohmann::json::object();
    if (!r.times.empty()) {
      nlohmann::json times = nlohmann::json::array();
      for (const auto& t : r.times) {
        times.push_back({{"start_time", clock(t.start_minute)}, {"end_time", clock(t.end_minute)}});
      }
      j["times"] = std::move(times);
    }
    if (!r.weekdays.empty()) j["weekdays"] = ranges(r.weekdays, weekday_name);
    if (!r.days_of_month.empty()) j["days_of_month"] = ranges(r.days_of_month, number);
    if (!r.months.empty()) j["months"] = ranges(r.months, number);
    if (!r.years.empty()) j["years"] = ranges(r.years, number);
    if (!r.location.empty()) j["location"] = r.location;
    out.push_back(std::move(j));
  }
  return out;
}

core::Result<int> parse_clock_time(std::string_view text) {
  const auto digit = [&text](std::size_t i) { return text[i] >= '0' && text[i] <= '9'; };
  const bool shape =
      text.size() == 5 && digit(0) && digit(1) && text[2] == ':' && digit(3) && digit(4);
  const int hours = shape ? (text[0] - '0') * 10 + (text[1] - '0') : -1;
  const int minutes = shape ? (text[3] - '0') * 10 + (text[4] - '0') : -1;
  if (!shape || minutes > 59 || hours > 24 || (hours == 24 && minutes != 0)) {
    return core::fail("time_interval_invalid_time",
                      "couldn't parse timestamp '" + std::string(text) +
                          "', invalid format (HH:MM from 00:00 to 24:00)");
  }
  return hours * 60 + minutes;
}

core::Result<TimeOfDayRange> parse_time_of_day_range(std::string_view start, std::string_view end) {
  const auto s = parse_clock_time(start);
  if (!s) return std::unexpected(s.error());
  const auto e = parse_clock_time(end);
  if (!e) return std::unexpected(e.error());
  const TimeOfDayRange r{*s, *e};
  if (auto ok = check_time_of_day(r); !ok) return std::unexpected(ok.error());
  return r;
}

core::Result<InclusiveRange> parse_weekday_range(std::string_view text) {
  return checked(split_range(text, weekday_member, "time_interval_invalid_weekday", "weekday"),
                 check_weekdays);
}

core::Result<InclusiveRange> parse_day_of_month_range(std::string_view text) {
  return checked(
      split_range(text, to_int, "time_interval_invalid_day_of_month", "day of the month"),
      check_days_of_month);
}

core::Result<InclusiveRange> parse_month_range(std::string_view text) {
  return checked(split_range(text, month_member, "time_interval_invalid_month", "month"),
                 check_months);
}

core::Result<InclusiveRange> parse_year_range(std::string_view text) {
  return checked(split_range(text, to_int, "time_interval_invalid_year", "year"), check_years);
}

core::Result<void> check_location(std::string_view name) {
  if (name.empty() || name == "UTC" || name == "Local") return {};
  const std::string n(name);
  cctz::time_zone tz;
  if (n.front() == '/' || n.front() == '\\' || n.find("..") != std::string::npos ||
      !cctz::load_time_zone(n, &tz)) {
    return core::fail(
        "time_interval_unknown_location",
        "unknown time zone '" + n + "' (an IANA name such as Europe/Berlin, or UTC, or Local)");
  }
  return {};
}

core::Result<void> validate(const TimeRangeSpec& range) {
  const auto each = [](const auto& list, const char* name, auto check) -> core::Result<void> {
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (auto ok = check(list[i]); !ok) {
        return core::fail(ok.error().code, ok.error().message,
                          std::string(name) + "[" + std::to_string(i) + "]");
      }
    }
    return {};
  };
  if (auto ok = each(range.times, "times", check_time_of_day); !ok) return ok;
  if (auto ok = each(range.weekdays, "weekdays", check_weekdays); !ok) return ok;
  if (auto ok = each(range.days_of_month, "days_of_month", check_days_of_month); !ok) return ok;
  if (auto ok = each(range.months, "months", check_months); !ok) return ok;
  if (auto ok = each(range.years, "years", check_years); !ok) return ok;
  if (auto ok = check_location(range.location); !ok) {
    return core::fail(ok.error().code, ok.error().message, "location");
  }
  return {};
}

}  // namespace opsready::alerting
