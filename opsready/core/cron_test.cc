#include "opsready/core/cron.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "opsready/core/time.h"

namespace opsready::core {
namespace {

using namespace std::chrono_literals;

TimePoint at(const char* rfc3339) { return parse_rfc3339(rfc3339).value(); }

// The fire time after `after`, each case written out by hand (calendar facts checked against
// Python's datetime: 2025-01-13 is a Monday, 2025-02-13 a Thursday, 2032-02-29 and 2128-02-29
// Sundays, 2100 no leap year).
TEST(Cron, NextAfter) {
  struct Case {
    const char* expr;
    const char* after;
    const char* want;
  };
  const Case cases[] = {
      {"*/15 * * * *", "2025-01-01T10:07:30Z", "2025-01-01T10:15:00Z"},
      // Strictly after: a fire time is not its own next.
      {"*/15 * * * *", "2025-01-01T10:15:00Z", "2025-01-01T10:30:00Z"},
      {"*/15 * * * *", "2025-01-01T10:14:59.999Z", "2025-01-01T10:15:00Z"},
      {"* * * * *", "2025-01-01T10:15:00.5Z", "2025-01-01T10:16:00Z"},
      {"0 1-5/2 * * *", "2025-01-01T01:00:00Z", "2025-01-01T03:00:00Z"},
      {"0 1-5/2 * * *", "2025-01-01T05:00:00Z", "2025-01-02T01:00:00Z"},
      {"5,10-12 3 * * *", "2025-01-01T03:10:00Z", "2025-01-01T03:11:00Z"},
      {"59 23 31 12 *", "2024-12-31T23:59:00Z", "2025-12-31T23:59:00Z"},
      {"0 0 31 * *", "2025-01-31T00:00:00Z", "2025-03-31T00:00:00Z"},
      // Feb 29: the next leap year; 2100 is none.
      {"0 0 29 2 *", "2024-03-01T00:00:00Z", "2028-02-29T00:00:00Z"},
      {"0 0 29 2 *", "2096-03-01T00:00:00Z", "2104-02-29T00:00:00Z"},
      // Feb 29 that is a Sunday (`*/7` starts with '*', so both fields must match): 40 years.
      {"0 0 29 2 */7", "2088-03-01T00:00:00Z", "2128-02-29T00:00:00Z"},
      // Weekdays: names, ranges, 7 = Sunday.
      {"30 9 * * mon-fri", "2025-01-03T10:00:00Z", "2025-01-06T09:30:00Z"},
      {"0 0 * * 7", "2025-01-01T00:00:00Z", "2025-01-05T00:00:00Z"},
      {"0 0 * * 0", "2025-01-01T00:00:00Z", "2025-01-05T00:00:00Z"},
      {"0 0 * * 5-7", "2025-01-04T00:00:00Z", "2025-01-05T00:00:00Z"},
      {"0 0 * * SAT", "2025-01-01T00:00:00Z", "2025-01-04T00:00:00Z"},
      {"0 0 1 jan,JUL *", "2025-02-01T00:00:00Z", "2025-07-01T00:00:00Z"},
      {"0 0 1 mar-may/2 *", "2025-03-01T00:00:00Z", "2025-05-01T00:00:00Z"},
      // Vixie's rule: both restricted, either matches (Friday Jan 3 before Monday Jan 13)...
      {"0 12 13 * fri", "2025-01-01T00:00:00Z", "2025-01-03T12:00:00Z"},
      {"0 12 13 * fri", "2025-01-10T12:00:00Z", "2025-01-13T12:00:00Z"},
      // ... one of them '*' (or '*/N'), both must.
      {"0 12 13 * *", "2025-01-01T00:00:00Z", "2025-01-13T12:00:00Z"},
      {"0 12 * * fri", "2025-01-03T12:00:00Z", "2025-01-10T12:00:00Z"},
      {"0 0 13 * */2", "2025-01-01T00:00:00Z", "2025-02-13T00:00:00Z"},
      {"0 0 */10 * fri", "2025-01-01T00:00:00Z", "2025-01-31T00:00:00Z"},  // 1, 11, 21, 31
      // UTC: 02:30 exists on the days clocks change in Europe (Mar 30) and the US (Mar 9).
      {"30 2 * * *", "2025-03-30T00:00:00Z", "2025-03-30T02:30:00Z"},
      {"30 2 * * *", "2025-03-09T00:00:00Z", "2025-03-09T02:30:00Z"},
      {"0 * * * *", "2025-10-26T00:30:00Z", "2025-10-26T01:00:00Z"},
  };
  for (const auto& c : cases) {
    auto cron = CronSchedule::parse(c.expr);
    ASSERT_TRUE(cron) << c.expr << ": " << cron.error().message;
    EXPECT_EQ(format_rfc3339(cron->next_after(at(c.after))), c.want)
        << c.expr << " after " << c.after;
    EXPECT_TRUE(cron->matches(at(c.want))) << c.expr << " at " << c.want;
  }
}

TEST(Cron, Matches) {
  const auto c = CronSchedule::parse("0 12 13 * fri").value();
  EXPECT_TRUE(c.matches(at("2025-01-13T12:00:59Z")));   // the 13th, a Monday
  EXPECT_TRUE(c.matches(at("2025-01-03T12:00:00Z")));   // a Friday, the 3rd
  EXPECT_FALSE(c.matches(at("2025-01-06T12:00:00Z")));  // a Monday, the 6th
  EXPECT_FALSE(c.matches(at("2025-01-13T12:01:00Z")));
  EXPECT_EQ(c.expression(), "0 12 13 * fri");
}

// Every error names the cron field it is about, in the message and as Error::field.
TEST(Cron, InvalidExpressionsNameTheField) {
  struct Case {
    const char* expr;
    const char* field;
    const char* message;
  };
  const Case cases[] = {
      {"* * * *", "",
       "'* * * *' is not a 5-field cron expression (minute hour day-of-month month day-of-week), "
       "it has 4 field(s)"},
      {"@daily", "",
       "'@daily' is not a 5-field cron expression (minute hour day-of-month month day-of-week), "
       "it has 1 field(s)"},
      {"60 * * * *", "minute", "minute field '60': 60 is not in 0-59"},
      {"* 24 * * *", "hour", "hour field '24': 24 is not in 0-23"},
      {"* * 0 * *", "day-of-month", "day-of-month field '0': 0 is not in 1-31"},
      {"* * L * *", "day-of-month", "day-of-month field 'L': 'L' is not a number"},
      {"* * * 13 *", "month", "month field '13': 13 is not in 1-12"},
      {"* * * foo *", "month", "month field 'foo': 'foo' is not a number or a name (jan..dec)"},
      {"* * * * 8", "day-of-week", "day-of-week field '8': 8 is not in 0-7"},
      {"* * * * mon-sun", "day-of-week",
       "day-of-week field 'mon-sun': range 'mon-sun' runs backwards (write it as a list)"},
      {"*/0 * * * *", "minute", "minute field '*/0': step '0' is not a whole number >= 1"},
      {"*/x * * * *", "minute", "minute field '*/x': step 'x' is not a whole number >= 1"},
      {"5-1 * * * *", "minute",
       "minute field '5-1': range '5-1' runs backwards (write it as a "
       "list)"},
      {"5/10 * * * *", "minute",
       "minute field '5/10': '5/10': a step needs '*' or a range (write 5-59/10)"},
      {"1,,2 * * * *", "minute", "minute field '1,,2': has an empty list item"},
      {"-1 * * * *", "minute", "minute field '-1': '' is not a number"},
      {"0 0 30 2 *", "day-of-month",
       "'0 0 30 2 *' never fires: no month of the month field has a day of the day-of-month "
       "field"},
      {"0 0 31 apr,jun,sep,nov *", "day-of-month",
       "'0 0 31 apr,jun,sep,nov *' never fires: no month of the month field has a day of the "
       "day-of-month field"},
  };
  for (const auto& c : cases) {
    auto cron = CronSchedule::parse(c.expr);
    ASSERT_FALSE(cron) << c.expr;
    EXPECT_EQ(cron.error().code, "invalid_cron");
    EXPECT_EQ(cron.error().field, c.field) << c.expr;
    EXPECT_EQ(cron.error().message, c.message) << c.expr;
  }
  // Both restricted: a Friday in February always comes, so Feb 30 is no error.
  EXPECT_TRUE(CronSchedule::parse("0 0 30 2 fri"));
}

// next_after() against a scan of every minute (matches()) for random expressions: the skips
// over months, days and hours must not pass a fire time. Seeded, so a failure reproduces.
TEST(Cron, NextAfterAgreesWithAMinuteScan) {
  const std::vector<std::vector<std::string>> options = {
      {"*", "0", "*/7", "5-20/5", "0,30", "59"},     {"*", "0", "*/5", "9-17", "23", "1,13"},
      {"*", "1", "15", "31", "*/10", "28-31", "29"}, {"*", "2", "feb", "*/3", "jan,dec", "4-6"},
      {"*", "0", "7", "mon-fri", "*/2", "sat", "3"},
  };
  std::mt19937 rng(15);
  const TimePoint start = at("2027-12-25T22:00:00Z");
  int checked = 0;
  for (int i = 0; i < 150; ++i) {
    std::string expr;
    for (const auto& field : options) {
      std::uniform_int_distribution<std::size_t> pick(0, field.size() - 1);
      expr += (expr.empty() ? "" : " ") + field[pick(rng)];
    }
    auto cron = CronSchedule::parse(expr);
    if (!cron) continue;  // never fires ("* * 31 feb *")
    TimePoint t = start + std::chrono::minutes(std::uniform_int_distribution<int>(0, 5000)(rng));
    const TimePoint got = cron->next_after(t);
    // The scan: every minute after t, up to `got` or 35 days.
    TimePoint scan = std::chrono::floor<std::chrono::minutes>(t) + 1min;
    const TimePoint limit = std::min(got, scan + std::chrono::days(35));
    while (scan < limit && !cron->matches(scan)) scan += 1min;
    if (got <= limit) {
      EXPECT_TRUE(cron->matches(got)) << expr;
      EXPECT_EQ(format_rfc3339(scan), format_rfc3339(got))
          << expr << " after " << format_rfc3339(t);
    } else {
      EXPECT_FALSE(cron->matches(scan)) << expr;
    }
    ++checked;
  }
  EXPECT_GT(checked, 100);
}

}  // namespace
}  // namespace opsready::core
