#include "opsready/alerting/time_interval.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "opsready/core/time.h"

namespace opsready::alerting {
namespace {

core::TimePoint at(const char* rfc3339) {
  auto t = core::parse_rfc3339(rfc3339);
  if (!t) {
    ADD_FAILURE() << rfc3339 << ": " << t.error().message;
    return {};
  }
  return *t;
}

TimeOfDayRange hours(const char* start, const char* end) {
  auto r = parse_time_of_day_range(start, end);
  if (!r) {
    ADD_FAILURE() << start << "-" << end << ": " << r.error().message;
    return {};
  }
  return *r;
}

// Alertmanager's timeinterval_test.go (timeIntervalTestCases, yamlUnmarshalTestCases,
// completeTestCases), its dates rewritten as RFC 3339, plus the edges of opsready's own.
TEST(TimeInterval, ContainsAsAlertmanager) {
  struct Case {
    const char* name;
    TimeRangeSpec range;
    std::vector<const char*> inside;
    std::vector<const char*> outside;
    bool parseable = true;  // false: Alertmanager's test builds a range its parser refuses
  };
  const InclusiveRange monday_to_friday{1, 5};
  const Case cases[] = {
      {"empty range holds always",
       {},
       {"2006-01-02T15:04:00Z", "2007-01-03T10:04:00Z", "2006-01-04T09:04:00Z"},
       {}},
      {"9am to 5pm, monday to friday",
       {.times = {{540, 1020}}, .weekdays = {monday_to_friday}},
       {"2020-05-04T15:04:00Z", "2020-05-05T10:04:00Z", "2020-06-09T09:04:00Z"},
       {"2020-05-03T15:04:00Z", "2020-05-04T08:59:00Z", "2020-05-05T05:00:00Z"}},
      {"easter 2020",
       {.days_of_month = {{4, 6}}, .months = {{4, 4}}, .years = {{2020, 2020}}},
       {"2020-04-04T15:04:00Z", "2020-04-05T00:00:00Z", "2020-04-06T23:05:00Z"},
       {"2018-05-03T15:04:00Z", "2020-04-03T23:59:00Z", "2020-06-04T23:59:00Z",
        "2019-04-06T23:59:00Z", "2020-04-07T00:00:00Z"}},
      {"last 3 days of each month",
       {.days_of_month = {{-3, -1}}},
       {"2020-01-31T15:04:00Z", "2020-01-30T15:04:00Z", "2020-01-29T15:04:00Z",
        "2020-06-30T00:00:00Z", "2020-02-29T23:05:00Z"},
       {"2018-05-03T15:04:00Z", "2020-01-27T15:04:00Z", "2020-04-03T23:59:00Z",
        "2020-06-04T23:59:00Z", "2019-04-06T23:59:00Z", "2020-04-07T00:00:00Z",
        "2020-03-01T00:00:00Z"}},
      {"out of bound days are clamped to the month",
       {.days_of_month = {{-31, 31}}, .months = {{6, 6}}},
       {"2020-06-30T00:00:00Z", "2020-06-01T00:00:00Z"},
       {"2020-05-31T00:00:00Z", "2020-07-01T00:00:00Z"},
       false},
      {"Sydney business hours",
       {.times = {{540, 1020}}, .weekdays = {monday_to_friday}, .location = "Australia/Sydney"},
       {"2021-04-06T13:00:00+10:00"},
       {"2021-04-06T13:00:00+00:00"}},
      {"Sydney during daylight saving time",
       {.times = {{540, 1020}},
        .weekdays = {monday_to_friday},
        .months = {{11, 11}},
        .location = "Australia/Sydney"},
       {"2021-11-01T09:00:00+11:00", "2021-10-31T22:00:00Z"},
       {"2021-10-31T21:00:00Z"}},
      {"last day does not shift in a spring-forward month (Alertmanager 0.28's DST fix)",
       {.days_of_month = {{-1, -1}}, .location = "America/New_York"},
       {"2021-03-31T12:00:00-04:00"},
       {"2021-03-30T12:00:00-04:00"}},
      {"last week of the first quarter, business hours, two year ranges",
       {.times = {{540, 1020}},
        .weekdays = {monday_to_friday, {0, 0}},
        .days_of_month = {{-7, -1}},
        .months = {{1, 3}},
        .years = {{2020, 2025}, {2030, 2035}}},
       {"2021-01-27T09:00:00Z", "2021-01-28T16:59:00Z", "2021-01-29T13:00:00Z",
        "2025-03-31T13:00:00Z", "2035-01-31T13:00:00Z"},
       {"2021-01-30T13:00:00Z", "2021-04-01T13:00:00Z", "2026-01-30T13:00:00Z",
        "2035-01-31T17:01:00Z"}},
      {"every field at once",
       {.times = {{780, 900}},
        .weekdays = {{1, 3}, {6, 6}, {0, 0}},
        .days_of_month = {{1, 1}, {10, 10}, {20, -1}},
        .months = {{1, 3}},
        .years = {{2020, 2023}}},
       {"2021-01-10T13:00:00Z", "2021-01-30T14:24:00Z"},
       {"2021-01-09T13:00:00Z", "2021-01-20T12:59:00Z", "2021-02-02T13:00:00Z"}},
      {"a start past the month's end is not clamped into it",
       {.days_of_month = {{30, 31}}, .months = {{2, 2}}, .years = {{2020, 2023}}},
       {},
       {"2021-02-28T13:00:00Z", "2020-02-29T13:00:00Z"}},
      // opsready's own edges.
      {"24:00 ends at midnight, exclusive",
       {.times = {{1020, kMinutesPerDay}}},
       {"2024-05-01T17:00:00Z", "2024-05-01T23:59:59.999Z"},
       {"2024-05-01T16:59:59Z", "2024-05-02T00:00:00Z"}},
      {"the end minute is exclusive",
       {.times = {{540, 1020}}},
       {"2024-05-01T09:00:00Z", "2024-05-01T16:59:59Z"},
       {"2024-05-01T08:59:59Z", "2024-05-01T17:00:00Z"}},
      {"several times are ORed",
       {.times = {{0, 540}, {1020, kMinutesPerDay}}},
       {"2024-05-01T00:00:00Z", "2024-05-01T08:59:00Z", "2024-05-01T17:00:00Z"},
       {"2024-05-01T09:00:00Z", "2024-05-01T12:00:00Z"}},
      {"last day of February in a leap year and a common year",
       {.days_of_month = {{-1, -1}}, .months = {{2, 2}}},
       {"2024-02-29T12:00:00Z", "2023-02-28T12:00:00Z"},
       {"2024-02-28T12:00:00Z", "2023-02-27T12:00:00Z", "2024-03-01T00:00:00Z"}},
      {"1:31 clamps to the end of a 30-day month",
       {.days_of_month = {{1, 31}}},
       {"2024-04-30T23:59:00Z", "2024-04-01T00:00:00Z"},
       {}},
      {"1:-1 is the whole month",
       {.days_of_month = {{1, -1}}},
       {"2024-02-29T12:00:00Z", "2024-01-01T00:00:00Z", "2024-12-31T23:59:00Z"},
       {}},
      {"-31:-29 in February: from the first to the first (29 days) or nothing",
       {.days_of_month = {{-31, -29}}, .months = {{2, 2}}},
       {"2024-02-01T12:00:00Z"},
       {"2024-02-02T12:00:00Z", "2023-02-01T12:00:00Z"}},
      {"the weekday is the location's, not UTC's",
       {.weekdays = {{6, 6}}, .location = "Asia/Tokyo"},
       {"2024-01-05T15:00:00Z"},   // Friday in UTC, Saturday 00:00 in Tokyo
       {"2024-01-06T15:00:00Z"}},  // Saturday in UTC, Sunday in Tokyo
      {"the year is the location's: new year's eve in Sydney",
       {.years = {{2024, 2024}}, .location = "Australia/Sydney"},
       {"2023-12-31T13:00:00Z"},
       {"2023-12-31T12:59:59Z"}},
  };
  for (const auto& c : cases) {
    if (c.parseable) {
      ASSERT_TRUE(validate(c.range)) << c.name << ": " << validate(c.range).error().describe();
    }
    for (const char* t : c.inside) EXPECT_TRUE(contains(c.range, at(t))) << c.name << ": " << t;
    for (const char* t : c.outside) EXPECT_FALSE(contains(c.range, at(t))) << c.name << ": " << t;
  }
}

// Alertmanager's TestIntervener_Mutes: a named interval holds when any of its ranges does.
TEST(TimeInterval, NamedIntervalsOrTheirRanges) {
  const TimeInterval evenings{
      .name = "evenings",
      .ranges = {{.times = {hours("00:00", "09:00")}, .location = "Australia/Sydney"},
                 {.times = {hours("17:00", "24:00")}, .location = "Australia/Sydney"}}};
  const TimeInterval weekends{
      .name = "weekends",
      .ranges = {{.weekdays = {{6, 6}, {0, 0}}, .location = "Australia/Sydney"}}};
  struct Case {
    const char* now;
    bool evenings;
    bool weekends;
  };
  const Case cases[] = {
      {"2024-01-01T00:00:00+11:00", true, false},   // outside working hours
      {"2024-01-01T09:00:00+11:00", false, false},  // working hours
      {"2024-01-06T10:00:00+11:00", false, true},   // weekend
      {"2024-01-06T17:00:00+11:00", true, true},    // weekend evening
      {"2024-01-01T10:00:00Z", true, false},        // 21:00 on a Monday in Sydney
      {"2024-01-06T10:00:00Z", true, true},         // 21:00 on a Saturday in Sydney
  };
  for (const auto& c : cases) {
    EXPECT_EQ(contains(evenings, at(c.now)), c.evenings) << c.now;
    EXPECT_EQ(contains(weekends, at(c.now)), c.weekends) << c.now;
  }
  EXPECT_FALSE(contains(TimeInterval{.name = "none"}, at("2024-01-01T00:00:00Z")));
}

TEST(TimeInterval, LocalIsTheMachinesZone) {
  const char* old = std::getenv("TZ");
  const std::optional<std::string> saved = old ? std::optional<std::string>(old) : std::nullopt;
  ::setenv("TZ", "Asia/Tokyo", 1);
  const TimeRangeSpec morning{.times = {hours("09:00", "10:00")}, .location = "Local"};
  const bool tokyo = contains(morning, at("2024-01-01T00:30:00Z"));  // 09:30 in Tokyo
  const bool utc = contains(morning, at("2024-01-01T09:30:00Z"));
  if (saved) {
    ::setenv("TZ", saved->c_str(), 1);
  } else {
    ::unsetenv("TZ");
  }
  EXPECT_TRUE(tokyo);
  EXPECT_FALSE(utc);
}

TEST(TimeInterval, ParsesClockTimes) {
  struct Case {
    const char* start;
    const char* end;
    std::optional<TimeOfDayRange> want;  // nullopt: an error
  };
  const Case cases[] = {
      {"00:00", "24:00", TimeOfDayRange{0, 1440}},
      {"01:35", "17:39", TimeOfDayRange{95, 1059}},
      {"09:35", "09:39", TimeOfDayRange{575, 579}},
      {"23:59", "24:00", TimeOfDayRange{1439, 1440}},
      {"17:31", "17:31", std::nullopt},  // empty
      {"12:30", "24:01", std::nullopt},  // past the day
      {"09:30", "07:41", std::nullopt},  // backwards
      {"24:00", "17:41", std::nullopt},
      {"01:99", "23:59", std::nullopt},
      {"00:00", "99:99", std::nullopt},
      {"9:00", "17:00", std::nullopt},  // two digits, as Alertmanager's regex
      {"09:00", "", std::nullopt},
      {"09:00:00", "17:00", std::nullopt},
      {"25:00", "26:00", std::nullopt},
  };
  for (const auto& c : cases) {
    auto got = parse_time_of_day_range(c.start, c.end);
    if (c.want) {
      ASSERT_TRUE(got) << c.start << "-" << c.end << ": " << got.error().message;
      EXPECT_EQ(*got, *c.want) << c.start << "-" << c.end;
    } else {
      EXPECT_FALSE(got) << c.start << "-" << c.end;
    }
  }
  EXPECT_EQ(parse_clock_time("01:99").error().message,
            "couldn't parse timestamp '01:99', invalid format (HH:MM from 00:00 to 24:00)");
  EXPECT_EQ(parse_time_of_day_range("17:31", "17:31").error().code,
            "time_interval_empty_time_range");
}

TEST(TimeInterval, ParsesRanges) {
  using Parse = core::Result<InclusiveRange> (*)(std::string_view);
  struct Case {
    Parse parse;
    const char* text;
    std::optional<InclusiveRange> want;
    const char* error = "";  // the message when want is nullopt
  };
  const Case cases[] = {
      {parse_weekday_range, "monday:friday", InclusiveRange{1, 5}},
      {parse_weekday_range, "Monday:FRIDAY", InclusiveRange{1, 5}},
      {parse_weekday_range, "sunday", InclusiveRange{0, 0}},
      {parse_weekday_range, "saturday:saturday", InclusiveRange{6, 6}},
      {parse_weekday_range, "friday:monday", std::nullopt,
       "start day friday is after end day monday"},
      {parse_weekday_range, "blurgsday:flurgsday", std::nullopt,
       "'blurgsday' is not a valid weekday"},
      {parse_weekday_range, "1:3", std::nullopt, "'1' is not a valid weekday"},
      {parse_weekday_range, "-2:-1", std::nullopt, "'-2' is not a valid weekday"},
      {parse_weekday_range, "monday:", std::nullopt, "'' is not a valid weekday"},
      {parse_weekday_range, "monday:tuesday:friday", std::nullopt,
       "couldn't parse range 'monday:tuesday:friday', invalid format"},
      {parse_weekday_range, "", std::nullopt, "'' is not a valid weekday"},
      {parse_day_of_month_range, "1:5", InclusiveRange{1, 5}},
      {parse_day_of_month_range, "-3:-1", InclusiveRange{-3, -1}},
      {parse_day_of_month_range, "1:-1", InclusiveRange{1, -1}},
      {parse_day_of_month_range, "31", InclusiveRange{31, 31}},
      {parse_day_of_month_range, "0", std::nullopt,
       "0 is not a valid day of the month: out of range"},
      {parse_day_of_month_range, "-50:-20", std::nullopt,
       "-50 is not a valid day of the month: out of range"},
      {parse_day_of_month_range, "1:50", std::nullopt,
       "50 is not a valid day of the month: out of range"},
      {parse_day_of_month_range, "-15:5", std::nullopt,
       "end day must be negative if start day is negative"},
      {parse_day_of_month_range, "10:-25", std::nullopt,
       "end day -25 is always before start day 10"},
      {parse_day_of_month_range, "5:1", std::nullopt, "end day 1 is always before start day 5"},
      {parse_day_of_month_range, "first", std::nullopt, "'first' is not a valid day of the month"},
      {parse_month_range, "January:december", InclusiveRange{1, 12}},
      {parse_month_range, "1:3", InclusiveRange{1, 3}},
      {parse_month_range, "may:august", InclusiveRange{5, 8}},
      {parse_month_range, "may:8", InclusiveRange{5, 8}},
      {parse_month_range, "december", InclusiveRange{12, 12}},
      {parse_month_range, "martius:june", std::nullopt, "'martius' is not a valid month"},
      {parse_month_range, "march:junius", std::nullopt, "'junius' is not a valid month"},
      {parse_month_range, "december:january", std::nullopt,
       "end month january is before start month december"},
      {parse_month_range, "13", std::nullopt, "13 is not a valid month: out of range (1..12)"},
      {parse_year_range, "2020:2022", InclusiveRange{2020, 2022}},
      {parse_year_range, "2030", InclusiveRange{2030, 2030}},
      {parse_year_range, "2022:2020", std::nullopt, "end year 2020 is before start year 2022"},
      {parse_year_range, "twenty", std::nullopt, "'twenty' is not a valid year"},
      {parse_year_range, "10000", std::nullopt,
       "10000 is not a valid year: out of range (0..9999)"},
  };
  for (const auto& c : cases) {
    auto got = c.parse(c.text);
    if (c.want) {
      ASSERT_TRUE(got) << c.text << ": " << got.error().message;
      EXPECT_EQ(*got, *c.want) << c.text;
    } else {
      ASSERT_FALSE(got) << c.text;
      EXPECT_EQ(got.error().message, c.error) << c.text;
      EXPECT_TRUE(got.error().code.starts_with("time_interval_")) << c.text;
    }
  }
}

TEST(TimeInterval, Locations) {
  for (const char* ok : {"", "UTC", "Local", "Australia/Sydney", "America/New_York"}) {
    EXPECT_TRUE(check_location(ok)) << ok;
  }
  for (const char* bad : {"Mars/Olympus_Mons", "/etc/localtime", "../zoneinfo/UTC", "utc "}) {
    auto r = check_location(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, "time_interval_unknown_location") << bad;
  }
}

// Alertmanager's JSON form, which the parsers read back to the same interval.
TEST(TimeInterval, ToJsonAsAlertmanager) {
  const TimeInterval ti{.name = "quarter-end",
                        .ranges = {{.times = {{540, 1020}, {1320, kMinutesPerDay}},
                                    .weekdays = {{1, 5}, {0, 0}},
                                    .days_of_month = {{-7, -1}, {1, 1}},
                                    .months = {{1, 3}},
                                    .years = {{2020, 2025}},
                                    .location = "Europe/Berlin"},
                                   {.weekdays = {{6, 6}}}}};
  const nlohmann::json want = nlohmann::json::parse(R"([
    {"times": [{"start_time": "09:00", "end_time": "17:00"},
               {"start_time": "22:00", "end_time": "24:00"}],
     "weekdays": ["monday:friday", "sunday"], "days_of_month": ["-7:-1", "1"],
     "months": ["1:3"], "years": ["2020:2025"], "location": "Europe/Berlin"},
    {"weekdays": ["saturday"]}])");
  const nlohmann::json got = to_json(ti);
  EXPECT_EQ(got, want) << got.dump();
  // Read back by the parsers.
  const auto& first = got[0];
  EXPECT_EQ(*parse_time_of_day_range(first["times"][1]["start_time"].get<std::string>(),
                                     first["times"][1]["end_time"].get<std::string>()),
            ti.ranges[0].times[1]);
  EXPECT_EQ(*parse_weekday_range(first["weekdays"][0].get<std::string>()),
            ti.ranges[0].weekdays[0]);
  EXPECT_EQ(*parse_day_of_month_range(first["days_of_month"][0].get<std::string>()),
            ti.ranges[0].days_of_month[0]);
  EXPECT_EQ(*parse_month_range(first["months"][0].get<std::string>()), ti.ranges[0].months[0]);
  EXPECT_EQ(to_json(TimeInterval{.name = "empty"}), nlohmann::json::array());
}

// A range built in code is checked as the parsers check text, the field naming the entry.
TEST(TimeInterval, ValidateNamesTheEntry) {
  struct Case {
    TimeRangeSpec range;
    const char* field;
  };
  const Case cases[] = {
      {{.times = {{540, 1020}, {600, 600}}}, "times[1]"},
      {{.times = {{0, 1441}}}, "times[0]"},
      {{.weekdays = {{1, 7}}}, "weekdays[0]"},
      {{.weekdays = {{5, 1}}}, "weekdays[0]"},
      {{.days_of_month = {{1, 5}, {0, 3}}}, "days_of_month[1]"},
      {{.months = {{0, 3}}}, "months[0]"},
      {{.years = {{2025, 2024}}}, "years[0]"},
      {{.location = "Nowhere/Special"}, "location"},
  };
  for (const auto& c : cases) {
    auto r = validate(c.range);
    ASSERT_FALSE(r) << c.field;
    EXPECT_EQ(r.error().field, c.field);
  }
}

}  // namespace
}  // namespace opsready::alerting
