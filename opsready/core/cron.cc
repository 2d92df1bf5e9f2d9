#include "opsready/core/cron.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace opsready::core {
namespace {

namespace chr = std::chrono;

struct FieldSpec {
  const char* name;  // as messages and Error::field name it
  int min;
  int max;                                  // day-of-week: 7, read as 0 (Sunday)
  std::span<const std::string_view> names;  // names[i] is min + i
};

constexpr std::array<std::string_view, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                          "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> kWeekdayNames = {"sun", "mon", "tue", "wed",
                                                           "thu", "fri", "sat"};

const std::array<FieldSpec, 5> kFields = {{{"minute", 0, 59, {}},
                                           {"hour", 0, 23, {}},
                                           {"day-of-month", 1, 31, {}},
                                           {"month", 1, 12, kMonthNames},
                                           {"day-of-week", 0, 7, kWeekdayNames}}};

// The years next_after() looks ahead.
constexpr int kMaxYears = 100;
// sys_time<nanoseconds> ends in April 2262.
constexpr int kLastYear = 2261;

std::unexpected<Error> field_error(const FieldSpec& f, std::string_view text, std::string what) {
  return fail("invalid_cron",
              std::string(f.name) + " field '" + std::string(text) + "': " + std::move(what),
              f.name);
}

// One value of a field: a number, or a name when the field has names.
Result<int> parse_value(const FieldSpec& f, std::string_view field, std::string_view v) {
  int n = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (!v.empty() && ec == std::errc() && end == v.data() + v.size()) {
    if (n < f.min || n > f.max) {
      return field_error(
          f, field,
          std::to_string(n) + " is not in " + std::to_string(f.min) + "-" + std::to_string(f.max));
    }
    return n;
  }
  std::string lower(v);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (std::size_t i = 0; i < f.names.size(); ++i) {
    if (f.names[i] == lower) return f.min + static_cast<int>(i);
  }
  std::string expected = "a number";
  if (!f.names.empty()) {
    expected += std::string(" or a name (") + std::string(f.names.front()) + ".." +
                std::string(f.names.back()) + ")";
  }
  return field_error(f, field, "'" + std::string(v) + "' is not " + expected);
}

// The values of one field, as a bitset of max + 1 bits (day-of-week's 7 folded onto 0).
template <std::size_t N>
Result<std::bitset<N>> parse_field(const FieldSpec& f, std::string_view field) {
  std::bitset<N> out;
  if (field.empty()) return field_error(f, field, "is empty");
  std::size_t pos = 0;
  while (pos <= field.size()) {
    const std::size_t comma = std::min(field.find(',', pos), field.size());
    const std::string_view item = field.substr(pos, comma - pos);
    pos = comma + 1;
    if (item.empty()) return field_error(f, field, "has an empty list item");
    std::string_view base = item;
    int step = 1;
    if (const auto slash = item.find('/'); slash != std::string_view::npos) {
      base = item.substr(0, slash);
      const std::string_view s = item.substr(slash + 1);
      const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), step);
      if (s.empty() || ec != std::errc() || end != s.data() + s.size() || step < 1) {
        return field_error(f, field, "step '" + std::string(s) + "' is not a whole number >= 1");
      }
    }
    int lo = 0;
    int hi = 0;
    if (base == "*") {
      lo = f.min;
      hi = f.max == 7 ? 6 : f.max;  // `*` in day-of-week: 0-6, 7 is 0 again
    } else if (const auto dash = base.find('-'); dash != std::string_view::npos) {
      auto a = parse_value(f, field, base.substr(0, dash));
      if (!a) return std::unexpected(a.error());
      auto b = parse_value(f, field, base.substr(dash + 1));
      if (!b) return std::unexpected(b.error());
      if (*a > *b) {
        return field_error(f, field,
                           "range '" + std::string(base) + "' runs backwards (write it as a list)");
      }
      lo = *a;
      hi = *b;
    } else {
      auto v = parse_value(f, field, base);
      if (!v) return std::unexpected(v.error());
      if (base.size() != item.size()) {
        return field_error(f, field,
                           "'" + std::string(item) + "': a step needs '*' or a range (write " +
                               std::string(base) + "-" + std::to_string(f.max) +
                               std::string(item.substr(base.size())) + ")");
      }
      lo = hi = *v;
    }
    for (int v = lo; v <= hi; v += step) out.set(static_cast<std::size_t>(v % N));
  }
  return out;
}

// The most days `month` has (29 for February).
unsigned max_days(unsigned month) {
  constexpr std::array<unsigned, 13> kDays = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return kDays[month];
}

}  // namespace

Result<CronSchedule> CronSchedule::parse(std::string_view expression) {
  std::vector<std::string_view> parts;
  for (std::size_t pos = 0; pos < expression.size();) {
    const auto start = expression.find_first_not_of(" \t", pos);
    if (start == std::string_view::npos) break;
    const auto end = std::min(expression.find_first_of(" \t", start), expression.size());
    parts.push_back(expression.substr(start, end - start));
    pos = end;
  }
  if (parts.size() != 5) {
    return fail("invalid_cron",
                "'" + std::string(expression) +
                    "' is not a 5-field cron expression (minute hour day-of-month month "
                    "day-of-week), it has " +
                    std::to_string(parts.size()) + " field(s)");
  }
  CronSchedule c;
  c.expression_ = std::string(expression);
  auto minutes = parse_field<60>(kFields[0], parts[0]);
  if (!minutes) return std::unexpected(minutes.error());
  auto hours = parse_field<24>(kFields[1], parts[1]);
  if (!hours) return std::unexpected(hours.error());
  auto days = parse_field<32>(kFields[2], parts[2]);
  if (!days) return std::unexpected(days.error());
  auto months = parse_field<13>(kFields[3], parts[3]);
  if (!months) return std::unexpected(months.error());
  auto weekdays = parse_field<7>(kFields[4], parts[4]);
  if (!weekdays) return std::unexpected(weekdays.error());
  c.minutes_ = *minutes;
  c.hours_ = *hours;
  c.days_ = *days;
  c.months_ = *months;
  c.weekdays_ = *weekdays;
  c.days_star_ = parts[2].starts_with('*');
  c.weekdays_star_ = parts[4].starts_with('*');
  // Every weekday falls on every date some year, so only day-of-month against the months can
  // make an expression that never fires, when day-of-month alone decides.
  if (c.weekdays_star_) {
    bool possible = false;
    for (unsigned m = 1; m <= 12 && !possible; ++m) {
      if (!c.months_[m]) continue;
      for (unsigned d = 1; d <= max_days(m) && !possible; ++d) possible = c.days_[d];
    }
    if (!possible) {
      return fail("invalid_cron",
                  "'" + std::string(expression) +
                      "' never fires: no month of the month field has a day of the "
                      "day-of-month field",
                  "day-of-month");
    }
  }
  return c;
}

bool CronSchedule::day_matches(int day_of_month, unsigned weekday) const {
  const bool dom = days_[static_cast<std::size_t>(day_of_month)];
  const bool dow = weekdays_[weekday];
  // Vixie cron: both fields restricted, either may match; otherwise both must.
  return days_star_ || weekdays_star_ ? dom && dow : dom || dow;
}

bool CronSchedule::matches(TimePoint t) const {
  const auto day = chr::floor<chr::days>(t);
  const chr::year_month_day ymd{day};
  const auto tod = chr::floor<chr::minutes>(t) - day;
  const auto h = static_cast<std::size_t>(chr::duration_cast<chr::hours>(tod).count());
  const auto m = static_cast<std::size_t>((tod % chr::hours(1)).count());
  return minutes_[m] && hours_[h] && months_[static_cast<unsigned>(ymd.month())] &&
         day_matches(static_cast<int>(static_cast<unsigned>(ymd.day())),
                     chr::weekday{day}.c_encoding());
}

TimePoint CronSchedule::next_after(TimePoint t) const {
  const auto start = chr::floor<chr::minutes>(t) + chr::minutes(1);
  const auto first_day = chr::floor<chr::days>(start);
  const chr::year_month_day ymd{first_day};
  const auto tod = start - first_day;
  int year = static_cast<int>(ymd.year());
  unsigned month = static_cast<unsigned>(ymd.month());
  unsigned day = static_cast<unsigned>(ymd.day());
  int hour = static_cast<int>(chr::duration_cast<chr::hours>(tod).count());
  int minute = static_cast<int>((tod % chr::hours(1)).count());
  for (int seen = 0; seen < 12 * kMaxYears && year <= kLastYear; ++seen) {
    if (months_[month]) {
      const unsigned last =
          static_cast<unsigned>((chr::year{year} / chr::month{month} / chr::last).day());
      for (; day <= last; ++day, hour = 0, minute = 0) {
        const chr::sys_days date{chr::year{year} / chr::month{month} / chr::day{day}};
        if (!day_matches(static_cast<int>(day), chr::weekday{date}.c_encoding())) continue;
        for (; hour < 24; ++hour, minute = 0) {
          if (!hours_[static_cast<std::size_t>(hour)]) continue;
          for (; minute < 60; ++minute) {
            if (minutes_[static_cast<std::size_t>(minute)]) {
              return TimePoint(date) + chr::hours(hour) + chr::minutes(minute);
            }
          }
        }
      }
    }
    day = 1;
    hour = 0;
    minute = 0;
    if (++month == 13) {
      month = 1;
      ++year;
    }
  }
  return TimePoint::max();
}

}  // namespace opsready::core
