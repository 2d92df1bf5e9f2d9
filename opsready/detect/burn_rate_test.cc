#include "opsready/detect/burn_rate.h"

#include <gtest/gtest.h>

#include <chrono>

#include "opsready/core/time.h"

namespace opsready::detect {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;

// Midnight UTC: a whole number of buckets for every default window (5 s … 72 min).
const core::TimePoint kT0 = core::parse_rfc3339("2025-01-02T00:00:00Z").value();

TEST(BurnRate, DefaultsAreTheSreWorkbookPairs) {
  const BurnRateConfig c;
  ASSERT_EQ(c.windows.size(), 3U);
  EXPECT_EQ(c.windows[0], (BurnRateWindow{hours(1), minutes(5), 14.4, BurnSeverity::kPage}));
  EXPECT_EQ(c.windows[1], (BurnRateWindow{hours(6), minutes(30), 6.0, BurnSeverity::kPage}));
  EXPECT_EQ(c.windows[2], (BurnRateWindow{days(3), hours(6), 1.0, BurnSeverity::kTicket}));
  EXPECT_EQ(c.objective, 0.999);
  EXPECT_EQ(to_status(BurnSeverity::kPage), core::Status::kFail);
  EXPECT_EQ(to_status(BurnSeverity::kTicket), core::Status::kWarn);
  EXPECT_EQ(to_string(BurnSeverity::kTicket), "ticket");
}

// 1000 events, 20 errors at T0: error ratio 0.02 in every window, burn rate 0.02 / 0.001 ≈ 20,
// over 14.4, 6 and 1: every pair fires; the evaluation's severity is page. Then, with no new
// events, the windows empty out one after the other:
//   T0 + 5m:  the 5m window no longer holds T0 → pair 1 stops (too little traffic), pair 2 pages
//   T0 + 30m: pair 2 stops, pair 3 (6h / 3d, 1×) tickets
//   T0 + 6h:  nothing fires.
TEST(BurnRate, FastBurnPagesThenDecays) {
  auto slo = BurnRateEvaluator::create({}).value();
  ASSERT_EQ(slo.record(kT0, 1000, 20), BurnRateEvaluator::Record::kRecorded);
  const BurnRateEvaluation& e = slo.evaluate(kT0);
  EXPECT_EQ(e.severity, BurnSeverity::kPage);
  ASSERT_EQ(e.pairs.size(), 3U);
  for (const BurnRatePairReading& p : e.pairs) {
    EXPECT_TRUE(p.firing);
    EXPECT_TRUE(p.enough_traffic);
    EXPECT_EQ(p.short_window.events, 1000U);
    EXPECT_EQ(p.long_window.errors, 20U);
    EXPECT_EQ(p.long_window.error_ratio, 0.02);
    // 0.02 / (1 - 0.999): the budget is 0.0010000000000000009 in double, so ≈ 19.99999999999998.
    EXPECT_EQ(p.short_window.burn_rate, 0.02 / (1 - 0.999));
  }
  struct Step {
    core::Duration after;
    BurnSeverity want;
    bool pair1, pair2, pair3;
  };
  const Step steps[] = {
      {minutes(5) - nanoseconds(1), BurnSeverity::kPage, true, true, true},
      {minutes(5), BurnSeverity::kPage, false, true, true},
      {minutes(30) - nanoseconds(1), BurnSeverity::kPage, false, true, true},
      {minutes(30), BurnSeverity::kTicket, false, false, true},
      {hours(6), BurnSeverity::kNone, false, false, false},
  };
  for (const Step& s : steps) {
    const BurnRateEvaluation& now = slo.evaluate(kT0 + s.after);
    SCOPED_TRACE(core::format_duration(s.after));
    EXPECT_EQ(now.severity, s.want);
    EXPECT_EQ(now.pairs[0].firing, s.pair1);
    EXPECT_EQ(now.pairs[1].firing, s.pair2);
    EXPECT_EQ(now.pairs[2].firing, s.pair3);
    if (s.after == minutes(5)) {
      EXPECT_EQ(now.pairs[0].short_window.events, 0U);
      EXPECT_FALSE(now.pairs[0].enough_traffic);
      EXPECT_EQ(now.pairs[0].long_window.events, 1000U);
    }
  }
}

// 3 errors in 1000: ratio 0.003, under 14.4× and 6× a 0.1% budget (0.0144, 0.006) but over 1×
// (0.001): a ticket, not a page.
TEST(BurnRate, SlowBurnTickets) {
  auto slo = BurnRateEvaluator::create({}).value();
  slo.record(kT0, 1000, 3);
  const BurnRateEvaluation& e = slo.evaluate(kT0 + minutes(1));
  EXPECT_EQ(e.severity, BurnSeverity::kTicket);
  EXPECT_FALSE(e.pairs[0].firing);
  EXPECT_FALSE(e.pairs[1].firing);
  EXPECT_TRUE(e.pairs[2].firing);
}

// The guard: 5 failing events are 100% errors but below min_events (10) in both windows; five
// more good events make 10 events at 50% errors, and the pair fires.
TEST(BurnRate, MinimumTrafficGuard) {
  auto slo = BurnRateEvaluator::create({}).value();
  slo.record(kT0, 5, 5);
  const BurnRateEvaluation& quiet = slo.evaluate(kT0);
  EXPECT_EQ(quiet.severity, BurnSeverity::kNone);
  EXPECT_FALSE(quiet.pairs[0].enough_traffic);
  EXPECT_EQ(quiet.pairs[0].short_window.error_ratio, 1.0);  // measured, just not acted on
  slo.record(kT0 + seconds(1), 5, 0);
  const BurnRateEvaluation& busy = slo.evaluate(kT0 + seconds(1));
  EXPECT_TRUE(busy.pairs[0].enough_traffic);
  EXPECT_EQ(busy.severity, BurnSeverity::kPage);
}

// Both windows must exceed the rate (AND), strictly (`>` as the workbook's rules). Objective
// 0.5 makes the budget exactly 0.5, so a burn rate of 1 is an error ratio of exactly 0.5.
TEST(BurnRate, BothWindowsMustExceedStrictly) {
  const BurnRateConfig config{
      .objective = 0.5,
      .windows = {{.long_window = hours(1), .short_window = minutes(5), .burn_rate = 1.0}},
      .min_events = 1};
  auto slo = BurnRateEvaluator::create(config).value();
  slo.record(kT0, 10, 5);  // ratio 0.5: at the rate, not over it
  EXPECT_EQ(slo.evaluate(kT0).severity, BurnSeverity::kNone);
  EXPECT_EQ(slo.evaluate(kT0).pairs[0].long_window.burn_rate, 1.0);
  slo.record(kT0, 10, 6);  // 11 / 20 = 0.55 in both windows
  EXPECT_EQ(slo.evaluate(kT0).severity, BurnSeverity::kPage);
  // Forty minutes later, 10 good events: the short window holds only them (ratio 0); the long
  // window 11 / 30 ≈ 0.37. Neither is over 0.5.
  slo.record(kT0 + minutes(40), 10, 0);
  const BurnRateEvaluation& e = slo.evaluate(kT0 + minutes(40));
  EXPECT_EQ(e.pairs[0].short_window.events, 10U);
  EXPECT_EQ(e.pairs[0].long_window.events, 30U);
  EXPECT_EQ(e.severity, BurnSeverity::kNone);
  // Errors only in the long window's past with a bad short window: 10 bad events now.
  slo.record(kT0 + minutes(41), 10, 10);
  const BurnRateEvaluation& f = slo.evaluate(kT0 + minutes(41));
  EXPECT_EQ(f.pairs[0].long_window.error_ratio, 21.0 / 40.0);  // 0.525 > 0.5
  EXPECT_EQ(f.pairs[0].short_window.error_ratio, 0.5);         // 10 / 20: not over
  EXPECT_EQ(f.severity, BurnSeverity::kNone);
}

// Late records land in every window that still covers them; one older than every window, or
// with more errors than events, is refused and counted.
TEST(BurnRate, LateAndInvalidRecords) {
  auto slo = BurnRateEvaluator::create({}).value();
  slo.record(kT0 + days(1), 100, 0);
  // Ten minutes late: outside the 5m window, inside the others.
  EXPECT_EQ(slo.record(kT0 + days(1) - minutes(10), 100, 100),
            BurnRateEvaluator::Record::kRecorded);
  const BurnRateEvaluation& e = slo.evaluate(kT0 + days(1));
  EXPECT_EQ(e.pairs[0].short_window.events, 100U);
  EXPECT_EQ(e.pairs[0].long_window.events, 200U);
  EXPECT_EQ(slo.record(kT0 - days(3), 1, 0), BurnRateEvaluator::Record::kTooOld);
  EXPECT_EQ(slo.record(kT0 + days(1), 1, 2), BurnRateEvaluator::Record::kInvalid);
  EXPECT_EQ(slo.refused(), 2U);
  // Evaluating before the latest record evaluates at the latest: windows never move back.
  EXPECT_EQ(slo.evaluate(kT0).pairs[0].short_window.events, 100U);
}

// Nothing recorded: nothing fires; a jump of more than a window clears it.
TEST(BurnRate, EmptyAndJumps) {
  auto slo = BurnRateEvaluator::create({}).value();
  EXPECT_EQ(slo.evaluate(kT0).severity, BurnSeverity::kNone);
  slo.record(kT0, 100, 100);
  EXPECT_EQ(slo.evaluate(kT0 + days(30)).pairs[2].long_window.events, 0U);
  EXPECT_GT(slo.heap_bytes(), 5 * 60 * 2 * sizeof(std::uint64_t));
}

TEST(BurnRate, RefusesInvalidConfiguration) {
  const auto field = [](BurnRateConfig c) { return BurnRateEvaluator::create(c).error().field; };
  EXPECT_EQ(field({.objective = 1.0}), "objective");
  EXPECT_EQ(field({.objective = 0.0}), "objective");
  EXPECT_EQ(field({.windows = {}}), "windows");
  EXPECT_EQ(field({.buckets_per_window = 0}), "buckets_per_window");
  EXPECT_EQ(field({.windows = {{hours(1), hours(2), 1.0, BurnSeverity::kPage}}}), "windows[0]");
  EXPECT_EQ(field({.windows = {{hours(1), minutes(5), 0.0, BurnSeverity::kPage}}}),
            "windows[0].burn_rate");
  EXPECT_EQ(field({.windows = {{hours(1), minutes(5), 1.0, BurnSeverity::kNone}}}),
            "windows[0].severity");
  EXPECT_EQ(field({.windows = {{hours(1), nanoseconds(10), 1.0, BurnSeverity::kPage}}}),
            "windows[0]");
}

}  // namespace
}  // namespace opsready::detect
