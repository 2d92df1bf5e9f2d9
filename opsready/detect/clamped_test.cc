#include "opsready/detect/clamped.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "opsready/detect/stats.h"

namespace opsready::detect {
namespace {

using V = std::vector<double>;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// The spec's golden values (supervision-drift-strategy §6.6, §7.4). "want" is the spec's
// rounded figure; "exact" is Python's PH(series, δ) of §6.3 on the same series, which the port
// must reproduce to the last bit (same operations, same order).
TEST(ClampedPageHinkley, SpecGoldenValues) {
  struct Case {
    const char* name;
    V series;  // chronological
    double delta;
    double want;  // printed with as many digits as the spec gives
    double exact;
  };
  const Case cases[] = {
      // §6.6 page_hinkley_escalates_without_delta_trigger: history newest first 0.02, 0.03,
      // 0.015, 0.01, 0.025, 0.018, then the latest 1.2.
      {"escalates",
       {0.018, 0.025, 0.01, 0.015, 0.03, 0.02, 1.2},
       0.0,
       1.022448,
       1.0224476190476188},
      // §6.6 page_hinkley_replay fixture: WHY 0.40 … -0.02 newest first, lookback 11.
      {"replay",
       {-0.02, -0.01, 0.0, 0.02, 0.05, 0.07, 0.10, 0.14, 0.18, 0.24, 0.32, 0.40},
       0.0,
       1.078270,
       1.078270202020202},
      // §6.6 variance_ratio_flags_alert: PH(δ=0.01) ≈ 1.41, below 3.
      {"variance_case",
       {0.015, 0.018, 0.020, 0.017, 0.019, 0.016, 0.5, 0.6, 0.8},
       0.01,
       1.41,
       1.4101686507936508},
      // §7.4 detects_abrupt_shift: [0.05]*12 + [0.9]*4, δ=0.001 → ≈ 2.82669.
      {"abrupt_shift",
       {0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.9, 0.9, 0.9, 0.9},
       0.001,
       2.82669,
       2.8266868131868135},
      // §7.4 alert_generation_respects_threshold: ≈ 0.179762, just under 0.18.
      {"just_under",
       {0.19, 0.21, 0.2, 0.18, 0.22, 0.2, 0.26, 0.3, 0.28},
       0.005,
       0.179762,
       0.17976190476190473},
      // §7.4 variance_warn, whose PH ≈ 0.1278 comes out with δ = 0.01.
      {"variance_warn",
       {1.0, 1.02, 0.98, 1.01, 0.99, 1.03, 0.97, 1.02, 0.95, 1.05, 0.97, 1.03},
       0.01,
       0.1278,
       0.12775757575757546},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    // Within half a unit of the spec's last printed digit.
    double unit = 1.0;
    while (std::fabs(c.want * unit - std::round(c.want * unit)) > 1e-9) unit *= 10;
    EXPECT_NEAR(clamped_page_hinkley(c.series, c.delta), c.want, 0.5 / unit);
    EXPECT_EQ(clamped_page_hinkley(c.series, c.delta), c.exact);
  }
}

// §6.6 replay: PH 0.6/0.9 → alert; §7.4: 0.179762 against 0.18 stays normal.
TEST(ClampedPageHinkley, GradesOnWarnAndAlert) {
  auto ph = ClampedPageHinkley::create({.delta = 0.0, .warn = 0.6, .alert = 0.9}).value();
  Grade last = Grade::kNormal;
  for (double x : {-0.02, -0.01, 0.0, 0.02, 0.05, 0.07, 0.10, 0.14, 0.18, 0.24, 0.32, 0.40}) {
    last = ph.update(x);
  }
  EXPECT_EQ(last, Grade::kAlert);
  EXPECT_EQ(ph.direction(), Direction::kUp);
  EXPECT_EQ(ph.count(), 12U);

  auto sentry = ClampedPageHinkley::create({.delta = 0.005, .warn = 0.18, .alert = 0.5}).value();
  for (double x : {0.19, 0.21, 0.2, 0.18, 0.22, 0.2, 0.26, 0.3, 0.28}) last = sentry.update(x);
  EXPECT_EQ(last, Grade::kNormal);
}

// Hand-computed, δ = 0: [1, 0, 0].
//   x=1: seeds mean=1.
//   x=0: mean = 1 + (0-1)/2 = 0.5; d = -0.5 → S+=0 S-=-0.5 M-=-0.5
//   x=0: mean = 0.5 + (0-0.5)/3 = 1/3; d = -1/3 → S- = -5/6, M- = -5/6 → statistic 5/6 (down)
TEST(ClampedPageHinkley, HandComputedDownwardStatistic) {
  auto ph = ClampedPageHinkley::create({.delta = 0.0, .warn = 0.5, .alert = 1.0}).value();
  EXPECT_EQ(ph.update(1.0), Grade::kNormal);  // one sample: below min_samples
  EXPECT_EQ(ph.statistic(), 0.0);
  EXPECT_EQ(ph.update(0.0), Grade::kWarn);  // 0.5 ≥ 0.5
  EXPECT_EQ(ph.update(0.0), Grade::kWarn);
  EXPECT_DOUBLE_EQ(ph.statistic(), 5.0 / 6.0);
  EXPECT_EQ(ph.direction(), Direction::kDown);
  EXPECT_EQ(ph.sums().s_pos, 0.0);
}

// δ is subtracted on both sides (spec §6.3 [Q]): a flat series drifts "down" by δ per step.
TEST(ClampedPageHinkley, DeltaInflatesTheDownwardSide) {
  EXPECT_DOUBLE_EQ(clamped_page_hinkley(V{0.1, 0.1, 0.1, 0.1, 0.1}, 10.0), 40.0);
  EXPECT_EQ(clamped_page_hinkley(V{}, 0.01), 0.0);
  EXPECT_EQ(clamped_page_hinkley(V{7.0}, 0.01), 0.0);
}

TEST(ClampedPageHinkley, RefusesNonFinite) {
  auto ph = ClampedPageHinkley::create({}).value();
  EXPECT_EQ(ph.update(kNaN), Grade::kRefused);  // not even the seed
  ph.update(1.0);
  ph.update(2.0);
  const ClampedSums sums = ph.sums();
  EXPECT_EQ(ph.update(kInf), Grade::kRefused);
  EXPECT_EQ(ph.sums(), sums);
  EXPECT_EQ(ph.count(), 2U);
  EXPECT_EQ(ph.refused(), 2U);
  EXPECT_EQ(clamped_page_hinkley(V{1.0, kNaN, 2.0}, 0.0), clamped_page_hinkley(V{1.0, 2.0}, 0.0));
  ph.reset();
  EXPECT_EQ(ph.count(), 0U);
  EXPECT_EQ(ph.refused(), 2U);
}

TEST(ClampedPageHinkley, RefusesInvalidParameters) {
  EXPECT_EQ(ClampedPageHinkley::create({.delta = -1.0}).error().field, "delta");
  EXPECT_EQ(ClampedPageHinkley::create({.warn = 7.0, .alert = 6.0}).error().field, "warn");
  EXPECT_EQ(ClampedPageHinkley::create({.alert = kNaN}).error().field, "alert");
  EXPECT_EQ(ClampedPageHinkley::create({.min_samples = 0}).error().field, "min_samples");
  EXPECT_TRUE(ClampedPageHinkley::create({.warn = kInf, .alert = kInf}).has_value());
}

// §7.4: CUSUM on the evaluation slice against the baseline mean.
TEST(ClampedCusum, SpecGoldenValues) {
  struct Case {
    const char* name;
    V baseline;
    V evaluation;
    double want;   // the spec's figure
    double exact;  // Python on the same slices
  };
  const Case cases[] = {
      {"abrupt_shift", V(12, 0.05), V(4, 0.9), 3.4, 3.4},  // 4 · 0.85
      {"variance_warn",
       {1.0, 1.02, 0.98, 1.01, 0.99, 1.03, 0.97, 1.02},
       {0.95, 1.05, 0.97, 1.03},
       0.0525,
       0.05249999999999999},
      {"just_under",
       {0.19, 0.21, 0.2, 0.18, 0.22, 0.2},
       {0.26, 0.3, 0.28},
       0.24,
       0.24000000000000007},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const double ref = *mean(c.baseline);
    EXPECT_NEAR(clamped_cusum(c.evaluation, ref, 0.0), c.want, 1e-12);
    EXPECT_EQ(clamped_cusum(c.evaluation, ref, 0.0), c.exact);
  }
}

// Hand-computed: reference 1, drift 0.5, values [3, 3, -2].
//   d = 1.5 → S+ 1.5; d = 1.5 → S+ 3 (M+ 3); d = -3.5 → S+ 0, S- -3.5 (M- -3.5) → 3.5, down.
TEST(ClampedCusum, HandComputed) {
  auto c =
      ClampedCusum::create({.reference = 1.0, .drift = 0.5, .warn = 3.0, .alert = 3.5}).value();
  EXPECT_EQ(c.update(3.0), Grade::kNormal);  // below min_samples, statistic 1.5 anyway
  EXPECT_EQ(c.statistic(), 1.5);
  EXPECT_EQ(c.update(3.0), Grade::kWarn);
  EXPECT_EQ(c.direction(), Direction::kUp);
  EXPECT_EQ(c.update(-2.0), Grade::kAlert);
  EXPECT_EQ(c.statistic(), 3.5);
  EXPECT_EQ(c.direction(), Direction::kDown);
  EXPECT_EQ(c.update(kNaN), Grade::kRefused);
  EXPECT_EQ(c.refused(), 1U);
  EXPECT_EQ(ClampedCusum::create({.reference = kInf}).error().field, "reference");
  EXPECT_EQ(ClampedCusum::create({.drift = kNaN}).error().field, "drift");
}

}  // namespace
}  // namespace opsready::detect
