#pragma once
// CronSchedule: a standard 5-field cron expression ("m h dom mon dow"), evaluated in UTC, as
// validation.schedules[].cron gives it (docs/configuration.md#validation).
//
//   auto c = CronSchedule::parse("*/15 9-17 * * mon-fri");
//   if (!c) return c.error();               // .field names the cron field that is wrong
//   core::TimePoint next = c->next_after(clock.now());
//
// Syntax (Vixie cron, as crontab(5) of Debian 12 describes it): each field is a comma-separated
// list of items; an item is `*`, a number `N`, a range `N-M`, either of `*` and `N-M` with a
// step (`*/15`, `1-5/2`). Months may be named jan..dec and weekdays sun..sat (any case, in
// ranges too); weekday 7 is Sunday, as 0 is. When both day-of-month and day-of-week are
// restricted (neither starts with `*`), a day matches when either does ("1,15 * mon": the 1st,
// the 15th and every Monday); otherwise both must. Not supported, and refused with a message:
// `N/step` without a range (write `N-MAX/step`), the `@daily` shorthands, `?`, `L`, `W`, `#`,
// backwards ranges, and expressions that can never fire ("0 0 30 2 *").
//
// Hand-written: Debian 12 packages no C or C++ cron library (only Go's robfig/cron), and the
// time zone database of <chrono> is not in GCC 12's libstdc++, so schedules are UTC only.
//
// A plain value type; thread-safe as any const value.

#include <bitset>
#include <string>
#include <string_view>

#include "opsready/core/clock.h"
#include "opsready/core/error.h"

namespace opsready::core {

class CronSchedule {
 public:
  // Errors have code `invalid_cron`, `field` the cron field ("minute", "hour", "day-of-month",
  // "month", "day-of-week"; empty for the whole expression) and a message that names it.
  [[nodiscard]] static Result<CronSchedule> parse(std::string_view expression);

  // The first fire time strictly after `t` (whole UTC minutes). Walks months, then the days of
  // a matching month, then the hours and minutes of a matching day: never minute by minute, and
  // at most 100 years ahead. Most expressions fire within a year; Feb 29 waits up to 8 years
  // (across 2100), and Feb 29 on one weekday (`0 0 29 2 */7`) up to about 40. TimePoint::max()
  // when nothing fires in 100 years or before TimePoint's range ends (2262).
  [[nodiscard]] TimePoint next_after(TimePoint t) const;

  // Whether the whole minute `t` falls in is a fire time.
  [[nodiscard]] bool matches(TimePoint t) const;

  // As given to parse(), for messages and JSON.
  [[nodiscard]] const std::string& expression() const { return expression_; }

  bool operator==(const CronSchedule&) const = default;

 private:
  CronSchedule() = default;
  [[nodiscard]] bool day_matches(int day_of_month, unsigned weekday) const;

  std::string expression_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;     // 1..31
  std::bitset<13> months_;   // 1..12
  std::bitset<7> weekdays_;  // 0 = Sunday
  bool days_star_ = false;   // day-of-month starts with '*' (Vixie's DOM_STAR)
  bool weekdays_star_ = false;
};

}  // namespace opsready::core
