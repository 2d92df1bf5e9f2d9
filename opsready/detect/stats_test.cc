#include "opsready/detect/stats.h"

#include <gtest/gtest.h>

#include <limits>
#include <vector>

namespace opsready::detect {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Expected values are Python's math.fsum on the same inputs.
TEST(ExactSum, MatchesPythonFsum) {
  struct Case {
    std::vector<double> xs;
    double want;
  };
  const Case cases[] = {
      {{}, 0.0},
      {std::vector<double>(10, 0.1), 1.0},                        // naive: 0.9999999999999999
      {std::vector<double>(12, 0.05), 0.6000000000000001},        // a tie, rounded to even
      {{1e-16, 1.0, 1e16}, 1.0000000000000002e16},                // half-even across partials
      {{1e100, 1.0, -1e100, 1e-100, 1e50, -1.0, -1e50}, 1e-100},  // cancellation
      {{1.0, -1.0}, 0.0},
  };
  for (const Case& c : cases) EXPECT_EQ(exact_sum(c.xs), c.want) << c.xs.size();
}

TEST(ExactSum, IsOrderIndependent) {
  std::vector<double> xs = {1e16, 1.0, -1e16, 3.25, 1e-3, 0.1, -0.3};
  const double want = exact_sum(xs);
  std::vector<double> reversed(xs.rbegin(), xs.rend());
  EXPECT_EQ(exact_sum(reversed), want);
}

TEST(ExactSum, PropagatesNonFiniteLikeIeee) {
  EXPECT_EQ(exact_sum(std::vector<double>{1.0, kInf}), kInf);
  EXPECT_TRUE(std::isnan(exact_sum(std::vector<double>{kInf, -kInf})));
  EXPECT_TRUE(std::isnan(exact_sum(std::vector<double>{1.0, kNaN})));
  const double big = std::numeric_limits<double>::max();
  EXPECT_EQ(exact_sum(std::vector<double>{big, big}), kInf);  // Python raises OverflowError
}

// River's stats.Var docstring: [3, 5, 4, 7, 10, 12] → 0, 2, 1, 2.916666, 7.7, 12.56666.
TEST(Welford, MatchesRiversVarExample) {
  Welford w;
  const double xs[] = {3, 5, 4, 7, 10, 12};
  const double want[] = {0.0, 2.0, 1.0, 2.9166666666666665, 7.7, 12.566666666666666};
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(w.update(xs[i]), Outcome::kAccepted);
    EXPECT_DOUBLE_EQ(w.variance(), want[i]) << i;
  }
  EXPECT_EQ(w.count(), 6.0);
  EXPECT_EQ(w.mean(), 41.0 / 6.0);
  EXPECT_DOUBLE_EQ(w.population_variance(), 12.566666666666666 * 5 / 6);
}

TEST(Welford, RefusesNonFinite) {
  Welford w;
  w.update(1.0);
  const Welford before = w;
  EXPECT_EQ(w.update(kNaN), Outcome::kRefused);
  EXPECT_EQ(w.update(-kInf), Outcome::kRefused);
  EXPECT_EQ(w.refused(), 2U);
  EXPECT_EQ(w.mean(), before.mean());
  EXPECT_EQ(w.count(), 1.0);
  w.reset();
  EXPECT_EQ(w, Welford{});
}

// Spec §7.4 test 1: twelve 0.05 have a mean of 0.05000000000000000971 (fsum rounds their sum up
// to 0.6000000000000001), so the variance is 12·(6.9e-18)²/11 ≈ 5.25e-35, not 0.
TEST(SampleVariance, ConstantSeriesKeepsTheRoundingResidue) {
  const std::vector<double> base(12, 0.05);
  EXPECT_EQ(mean(base), 0.6000000000000001 / 12);
  const std::optional<double> v = sample_variance(base);
  ASSERT_TRUE(v.has_value());
  EXPECT_NEAR(*v, 5.2525362119651880e-35, 1e-49);
  EXPECT_EQ(sample_variance(std::vector<double>(4, 0.9)), 0.0);  // 0.9·4 sums exactly
}

TEST(SampleVariance, NeedsTwoValues) {
  EXPECT_FALSE(sample_variance(std::vector<double>{}).has_value());
  EXPECT_FALSE(sample_variance(std::vector<double>{1.0}).has_value());
  EXPECT_FALSE(mean(std::vector<double>{}).has_value());
  EXPECT_EQ(sample_variance(std::vector<double>{1.0, 3.0}), 2.0);
}

// The spec's ratio rules (§6.2 step 5 / §7.2) and golden values. Reference values are Python's
// fsum-based mean and variance on the same slices.
TEST(VarianceRatio, SpecCases) {
  using V = std::vector<double>;
  // §6.6 variance_ratio_flags_alert: [0.5, 0.6, 0.8] against [0.017, 0.019, 0.016] ≈ 10000.
  EXPECT_DOUBLE_EQ(*variance_ratio(V{0.017, 0.019, 0.016}, V{0.5, 0.6, 0.8}), 10000.00000000001);
  // §7.4 variance_warn: ≈ 5.037.
  EXPECT_DOUBLE_EQ(
      *variance_ratio(V{1.0, 1.02, 0.98, 1.01, 0.99, 1.03, 0.97, 1.02}, V{0.95, 1.05, 0.97, 1.03}),
      5.037037037037037);
  // §7.4 alert_generation_respects_threshold: ≈ 2.0.
  EXPECT_DOUBLE_EQ(*variance_ratio(V{0.19, 0.21, 0.2, 0.18, 0.22, 0.2}, V{0.26, 0.3, 0.28}),
                   1.999999999999998);
  // §7.4 detects_abrupt_shift: the residue above makes the ratio 0.0 rather than none.
  EXPECT_EQ(variance_ratio(V(12, 0.05), V(4, 0.9)), 0.0);
  // Zero baseline variance: +inf when the evaluation varies, none when it does not.
  EXPECT_EQ(variance_ratio(V{2.0, 2.0}, V{1.0, 3.0}), kInf);
  EXPECT_FALSE(variance_ratio(V{2.0, 2.0}, V{3.0, 3.0}).has_value());
  // Fewer than two values on either side.
  EXPECT_FALSE(variance_ratio(V{1.0}, V{1.0, 3.0}).has_value());
  EXPECT_FALSE(variance_ratio(V{1.0, 3.0}, V{}).has_value());
}

}  // namespace
}  // namespace opsready::detect
