#include "opsready/detect/psi.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace opsready::detect {
namespace {

using V = std::vector<double>;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Expected cuts are Python's statistics.quantiles(data, n, method="inclusive").
TEST(InclusiveQuantiles, MatchPython) {
  EXPECT_EQ(inclusive_quantiles(V(24, 0.12), 10), (V{0.12, 0.12, 0.12000000000000002, 0.12, 0.12,
                                                     0.12, 0.12000000000000002, 0.12, 0.12}));
  EXPECT_EQ(inclusive_quantiles(V{1, 1, 2, 3, 3, 4, 5, 5, 5, 6, 9}, 10),
            (V{1.0, 2.0, 3.0, 3.0, 4.0, 5.0, 5.0, 5.0, 6.0}));
  EXPECT_EQ(inclusive_quantiles(V{1.0, 2.0}, 4), (V{1.25, 1.5, 1.75}));
  V tenths;
  for (int i = 0; i <= 20; ++i) tenths.push_back(0.1 * i);
  EXPECT_EQ(inclusive_quantiles(tenths, 10), (V{0.2, 0.4, 0.6000000000000001, 0.8, 1.0,
                                                1.2000000000000002, 1.4000000000000001, 1.6, 1.8}));
}

// §6.4/§6.6 psi_triggers_alert, feature by feature. Baseline: 24 entries at the base level;
// evaluation: one at the first shifted level, eleven at the shifted level, twelve at the base
// level. Levels: signal 0.12 / 0.40 / 0.88 plus the dimension's offset; confidence 0.58 / 0.66 /
// 0.92 minus half the offset. Only the features whose constant baseline rounds to two distinct
// cuts see the shift (WHY.signal, WHEN.signal, WHEN.confidence): PSI 6.9077 from baseline
// buckets [0, 24, 0] against evaluation buckets [0, 12, 12]; all others 0.0, as the spec says.
TEST(Psi, SpecFixtureFeatureByFeature) {
  struct Case {
    const char* feature;
    double offset;
    bool signal;
    double want;
  };
  const double kShifted = 6.90774215661876;  // Python, fsum over the buckets
  const Case cases[] = {
      {"WHY.signal", 0.0, true, kShifted},    {"WHY.confidence", 0.0, false, 0.0},
      {"WHAT.signal", 0.03, true, 0.0},       {"WHAT.confidence", 0.03, false, 0.0},
      {"WHEN.signal", -0.02, true, kShifted}, {"WHEN.confidence", -0.02, false, kShifted},
      {"HOW.signal", 0.05, true, 0.0},        {"HOW.confidence", 0.05, false, 0.0},
      {"ANOMALY.signal", -0.04, true, 0.0},   {"ANOMALY.confidence", -0.04, false, 0.0},
  };
  for (const Case& c : cases) {
    const double base = c.signal ? 0.12 + c.offset : 0.58 - c.offset / 2;
    const double first = c.signal ? 0.40 + c.offset : 0.66 - c.offset / 2;
    const double shifted = c.signal ? 0.88 + c.offset : 0.92 - c.offset / 2;
    V evaluation = {first};
    evaluation.insert(evaluation.end(), 11, shifted);
    evaluation.insert(evaluation.end(), 12, base);
    const auto got = psi(V(24, base), evaluation);
    ASSERT_TRUE(got.has_value()) << c.feature;
    EXPECT_EQ(*got, c.want) << c.feature;
  }
  // The alerting feature's buckets.
  const PsiBaseline why = PsiBaseline::create(V(24, 0.12)).value();
  EXPECT_EQ(V(why.cuts().begin(), why.cuts().end()), (V{0.12, 0.12000000000000002}));
  EXPECT_EQ(std::vector<std::uint64_t>(why.counts().begin(), why.counts().end()),
            (std::vector<std::uint64_t>{0, 24, 0}));
  EXPECT_GE(kShifted, PsiConfig{}.alert);
}

// Hand-computed with 2 buckets: baseline [1, 2, 3, 4] → one cut at (2·1 + 3·1)/2 = 2.5;
// baseline shares [0.5, 0.5]. Evaluation [1, 1, 1, 4] → shares [0.75, 0.25].
// PSI = (0.75-0.5)·ln(1.5) + (0.25-0.5)·ln(0.5) = 0.25·(ln 1.5 + ln 2) = 0.25·ln 3.
TEST(Psi, HandComputedTwoBuckets) {
  const PsiConfig two{.buckets = 2};
  EXPECT_EQ(inclusive_quantiles(V{1, 2, 3, 4}, 2), V{2.5});
  const auto got = psi(V{4, 1, 3, 2}, V{1, 1, 1, 4}, two);
  ASSERT_TRUE(got.has_value());
  EXPECT_NEAR(*got, 0.25 * std::log(3.0), 1e-15);
  // A value equal to a cut goes to the upper bucket.
  const PsiBaseline b = PsiBaseline::create(V{1, 2, 3, 4}, two).value();
  EXPECT_EQ(b.bucket(2.5), 1U);
  EXPECT_EQ(b.bucket(2.4999999999999996), 0U);
  EXPECT_EQ(b.bucket(-1e300), 0U);
  // Identical distributions: 0.
  EXPECT_EQ(psi(V{1, 2, 3, 4}, V{1, 2, 3, 4}, two), 0.0);
}

// An empty bucket is floored at ε: evaluation entirely in a bucket the baseline never saw.
// Baseline [1, 2, 3, 4] (2 buckets, shares 0.5/0.5); evaluation [1, 1]: shares [1, ε].
// PSI = (1 - 0.5)·ln(2) + (1e-6 - 0.5)·ln(2e-6).
TEST(Psi, EpsilonFloorsEmptyBuckets) {
  const auto got = psi(V{1, 2, 3, 4}, V{1, 1}, PsiConfig{.buckets = 2});
  ASSERT_TRUE(got.has_value());
  EXPECT_NEAR(*got, 0.5 * std::log(2.0) + (1e-6 - 0.5) * std::log(2e-6), 1e-12);
}

// The streaming monitor counts evaluation samples one by one; its value equals psi().
TEST(PsiMonitor, StreamingEqualsBatch) {
  V base, eval;
  for (int i = 0; i < 120; ++i) base.push_back(std::sin(i * 0.7));
  for (int i = 0; i < 24; ++i) eval.push_back(std::sin(i * 0.7) + 0.3);
  PsiMonitor m(PsiBaseline::create(base).value());
  EXPECT_FALSE(m.value().has_value());
  EXPECT_EQ(m.grade(), Grade::kNormal);
  for (double x : eval) EXPECT_EQ(m.update(x), Outcome::kAccepted);
  EXPECT_EQ(m.value(), psi(base, eval).value());
  EXPECT_EQ(m.count(), 24U);
  EXPECT_EQ(m.baseline().buckets(), 10U);
  m.reset();
  EXPECT_EQ(m.count(), 0U);
  EXPECT_GT(m.heap_bytes(), 0U);
}

TEST(PsiMonitor, RefusesNonFiniteAndGrades) {
  PsiMonitor m(PsiBaseline::create(V(24, 0.12)).value());
  EXPECT_EQ(m.update(kNaN), Outcome::kRefused);
  EXPECT_EQ(m.update(kInf), Outcome::kRefused);
  EXPECT_EQ(m.refused(), 2U);
  EXPECT_EQ(m.count(), 0U);
  m.update(0.12);
  m.update(0.88);
  EXPECT_EQ(m.grade(), Grade::kAlert);  // [0, 1, 1] against [0, 24, 0]
  // Non-finite values are left out of psi() too.
  EXPECT_EQ(psi(V{1, 2, kNaN, 3, 4}, V{1, kInf, 1, 1, 4}, PsiConfig{.buckets = 2}),
            psi(V{1, 2, 3, 4}, V{1, 1, 1, 4}, PsiConfig{.buckets = 2}));
}

TEST(Psi, RefusesWhatItCannotMeasure) {
  EXPECT_EQ(psi(V{1.0}, V{1.0}).error().code, "insufficient_baseline");
  EXPECT_EQ(psi(V{1.0, kNaN}, V{1.0}).error().code, "insufficient_baseline");
  EXPECT_EQ(psi(V{1.0, 2.0}, V{kNaN}).error().code, "empty_evaluation");
  EXPECT_EQ(psi(V{1.0, 2.0}, V{1.0}, PsiConfig{.buckets = 1}).error().field, "buckets");
  EXPECT_EQ(psi(V{1.0, 2.0}, V{1.0}, PsiConfig{.epsilon = 0.0}).error().field, "epsilon");
}

}  // namespace
}  // namespace opsready::detect
