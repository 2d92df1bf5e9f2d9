#include "opsready/detect/rolling_variance.h"

#include <gtest/gtest.h>

#include <limits>
#include <vector>

#include "opsready/detect/stats.h"

namespace opsready::detect {
namespace {

using V = std::vector<double>;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

V values(std::span<const double> s) { return V(s.begin(), s.end()); }

// §6.6 variance_ratio_flags_alert: series 0.015 … 0.8 with windows of 3: once full, the last
// update compares [0.5, 0.6, 0.8] with [0.017, 0.019, 0.016]: ≈ 10000 → alert at 1.5 / 2.5.
TEST(RollingVariance, SpecSensoryCaseAlerts) {
  auto rv = RollingVariance::create({.baseline_window = 3, .evaluation_window = 3}).value();
  const V series = {0.015, 0.018, 0.020, 0.017, 0.019, 0.016, 0.5, 0.6, 0.8};
  std::vector<Grade> grades;
  for (double x : series) grades.push_back(rv.update(x));
  EXPECT_EQ(grades.back(), Grade::kAlert);
  EXPECT_EQ(values(rv.baseline()), (V{0.017, 0.019, 0.016}));
  EXPECT_EQ(values(rv.evaluation()), (V{0.5, 0.6, 0.8}));
  EXPECT_DOUBLE_EQ(*rv.ratio(), 10000.00000000001);
  // Not graded before six samples; the calm first full window is normal.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(grades[i], Grade::kNormal) << i;
  EXPECT_EQ(grades[5], Grade::kNormal);
}

// The drift sentry's cases (§7.4), one baseline window followed by one evaluation window.
TEST(RollingVariance, SpecSentryCases) {
  struct Case {
    V baseline;
    V evaluation;
    double warn, alert;
    double ratio;
    Grade want;
  };
  const Case cases[] = {
      // variance_warn: ≈ 5.037, a warn under that test's thresholds (here 5.0 / 6.0).
      {{1.0, 1.02, 0.98, 1.01, 0.99, 1.03, 0.97, 1.02},
       {0.95, 1.05, 0.97, 1.03},
       5.0,
       6.0,
       5.037037037037037,
       Grade::kWarn},
      // §7.4 alert_generation_respects_threshold: ≈ 2.0 → warn at 1.15 / 2.5.
      {{0.19, 0.21, 0.2, 0.18, 0.22, 0.2},
       {0.26, 0.3, 0.28},
       1.15,
       2.5,
       1.999999999999998,
       Grade::kWarn},
  };
  for (const Case& c : cases) {
    auto rv = RollingVariance::create(
                  {.baseline_window = static_cast<std::uint32_t>(c.baseline.size()),
                   .evaluation_window = static_cast<std::uint32_t>(c.evaluation.size()),
                   .warn_ratio = c.warn,
                   .alert_ratio = c.alert})
                  .value();
    Grade g = Grade::kNormal;
    for (double x : c.baseline) g = rv.update(x);
    for (double x : c.evaluation) g = rv.update(x);
    EXPECT_EQ(g, c.want);
    EXPECT_DOUBLE_EQ(*rv.ratio(), c.ratio);
    EXPECT_EQ(rv.ratio(), variance_ratio(c.baseline, c.evaluation));  // same number, exactly
  }
}

// The windows slide: after more samples than the ring holds, the slices are still the latest
// ones in order, and the ratio equals the batch function's on them.
TEST(RollingVariance, WindowsSlide) {
  auto rv = RollingVariance::create({.baseline_window = 4, .evaluation_window = 2}).value();
  V all;
  for (int i = 0; i < 23; ++i) {
    const double x = (i * 37 % 11) * 0.25;
    all.push_back(x);
    rv.update(x);
    if (all.size() < 6) {
      EXPECT_TRUE(rv.baseline().empty());
      EXPECT_FALSE(rv.ratio().has_value());
      continue;
    }
    const V base(all.end() - 6, all.end() - 2);
    const V eval(all.end() - 2, all.end());
    ASSERT_EQ(values(rv.baseline()), base) << i;
    ASSERT_EQ(values(rv.evaluation()), eval) << i;
    ASSERT_EQ(rv.ratio(), variance_ratio(base, eval)) << i;
  }
  EXPECT_EQ(rv.count(), 23U);
  EXPECT_EQ(rv.heap_bytes(), 12 * sizeof(double));
}

// A flat baseline: +inf (alert) when the evaluation varies, no ratio (normal) when it is flat.
TEST(RollingVariance, FlatBaseline) {
  auto rv = RollingVariance::create({.baseline_window = 2, .evaluation_window = 2}).value();
  for (double x : {1.0, 1.0, 1.0}) rv.update(x);
  EXPECT_EQ(rv.update(1.0), Grade::kNormal);
  EXPECT_FALSE(rv.ratio().has_value());
  rv.reset();
  for (double x : {1.0, 1.0, 1.0}) rv.update(x);
  EXPECT_EQ(rv.update(3.0), Grade::kAlert);
  EXPECT_EQ(rv.ratio(), kInf);
}

TEST(RollingVariance, RefusesNonFinite) {
  auto rv = RollingVariance::create({.baseline_window = 2, .evaluation_window = 2}).value();
  for (double x : {1.0, 2.0, 1.0}) rv.update(x);
  EXPECT_EQ(rv.update(kNaN), Grade::kRefused);
  EXPECT_EQ(rv.update(kInf), Grade::kRefused);
  EXPECT_EQ(rv.count(), 3U);
  EXPECT_EQ(rv.refused(), 2U);
  rv.update(2.0);
  EXPECT_EQ(values(rv.evaluation()), (V{1.0, 2.0}));
}

TEST(RollingVariance, RefusesInvalidParameters) {
  EXPECT_EQ(RollingVariance::create({.baseline_window = 1}).error().field, "baseline_window");
  EXPECT_EQ(RollingVariance::create({.evaluation_window = 0}).error().field, "evaluation_window");
  EXPECT_EQ(RollingVariance::create({.warn_ratio = 3.0, .alert_ratio = 2.0}).error().field,
            "warn_ratio");
  EXPECT_EQ(RollingVariance::create({.alert_ratio = kNaN}).error().field, "alert_ratio");
}

}  // namespace
}  // namespace opsready::detect
