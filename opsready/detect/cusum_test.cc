#include "opsready/detect/cusum.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

namespace opsready::detect {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<double> read_series(const std::filesystem::path& p) {
  std::ifstream in(p);
  EXPECT_TRUE(in.good()) << "cannot open " << p;
  std::string line;
  std::getline(in, line);  // header i,x
  std::vector<double> xs;
  while (std::getline(in, line)) {
    const auto comma = line.find(',');
    if (comma == std::string::npos) continue;
    EXPECT_EQ(std::stoul(line.substr(0, comma)), xs.size());
    xs.push_back(std::strtod(line.c_str() + comma + 1, nullptr));
  }
  return xs;
}

std::vector<std::size_t> detections(Cusum c, const std::vector<double>& xs) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (c.update(xs[i]) == Outcome::kDrift) out.push_back(i);
  }
  return out;
}

// River's CUSUM docstring: 200 draws of gauss(0, 1) then 200 of gauss(3, 1) from
// random.Random(12345), detections at 201 and 251. The stream is recorded in testdata/cusum
// (see testdata/README.md) since the C++ side has no Python RNG.
TEST(Cusum, RiverDocExampleDetectsAt201And251) {
  const auto xs = read_series(std::filesystem::path(OPSREADY_DETECT_TESTDATA_DIR) / "cusum" /
                              "river_doc_example.csv");
  ASSERT_EQ(xs.size(), 400U);
  EXPECT_EQ(detections(Cusum{}, xs), (std::vector<std::size_t>{201, 251}));
}

// Hand-computed: min_instances 3, slack 0.5, threshold 2, on [0, 2, 1, ...].
//   n=3 freezes: mean 1, sample variance ((1)+(1)+0)/2 = 1 → sigma 1, k 0.5, limit 2.
//   x=1 (n=3): dev 0  → S+ = max(0, 0 - 0.5) = 0, S- = 0
//   x=4:       dev 3  → S+ = 2.5 > 2 → drift up
//   next x=1: reset (n=1), no test before min_instances.
TEST(Cusum, HandComputed) {
  auto c = Cusum::create({.min_instances = 3, .slack = 0.5, .threshold = 2.0}).value();
  EXPECT_EQ(c.update(0.0), Outcome::kAccepted);
  EXPECT_EQ(c.update(2.0), Outcome::kAccepted);
  EXPECT_EQ(c.reference(), 0.0);  // not frozen yet
  EXPECT_EQ(c.update(1.0), Outcome::kAccepted);
  EXPECT_EQ(c.reference(), 1.0);
  EXPECT_EQ(c.sigma(), 1.0);
  EXPECT_EQ(c.sum_increase(), 0.0);
  EXPECT_EQ(c.update(4.0), Outcome::kDrift);
  EXPECT_EQ(c.sum_increase(), 2.5);
  EXPECT_EQ(c.direction(), Direction::kUp);
  EXPECT_EQ(c.count(), 4U);
  EXPECT_EQ(c.update(1.0), Outcome::kAccepted);  // the reset happens on this update
  EXPECT_EQ(c.count(), 1U);
  EXPECT_EQ(c.reference(), 0.0);
}

TEST(Cusum, ModesTestTheirSides) {
  for (Mode mode : {Mode::kUp, Mode::kDown, Mode::kBoth}) {
    auto c =
        Cusum::create({.min_instances = 3, .slack = 0.5, .threshold = 2.0, .mode = mode}).value();
    for (double x : {0.0, 2.0, 1.0}) c.update(x);
    // x = -2: dev -3 → S- = 2.5 > 2.
    EXPECT_EQ(c.update(-2.0), tests_down(mode) ? Outcome::kDrift : Outcome::kAccepted);
    if (tests_down(mode)) {
      EXPECT_EQ(c.direction(), Direction::kDown);
    }
  }
}

// A constant warm-up freezes sigma = 0, so k = limit = 0 and any later difference is drift.
TEST(Cusum, ConstantWarmUpMakesAnyChangeADetection) {
  auto c = Cusum::create({.min_instances = 3}).value();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(c.update(5.0), Outcome::kAccepted);
  EXPECT_EQ(c.sigma(), 0.0);
  EXPECT_EQ(c.update(5.0), Outcome::kAccepted);
  EXPECT_EQ(c.update(5.000001), Outcome::kDrift);
}

TEST(Cusum, RefusesNonFinite) {
  auto c = Cusum::create({.min_instances = 3, .slack = 0.5, .threshold = 2.0}).value();
  for (double x : {0.0, 2.0, 1.0}) c.update(x);
  EXPECT_EQ(c.update(4.0), Outcome::kDrift);
  EXPECT_EQ(c.update(kNaN), Outcome::kRefused);
  EXPECT_TRUE(c.drift_detected());  // a refusal is not an update: the reset still waits
  EXPECT_EQ(c.count(), 4U);
  EXPECT_EQ(c.refused(), 1U);
  c.update(0.0);
  EXPECT_EQ(c.count(), 1U);
  EXPECT_EQ(c.refused(), 1U);
}

TEST(Cusum, RefusesInvalidParameters) {
  EXPECT_EQ(Cusum::create({.min_instances = 0}).error().field, "min_instances");
  EXPECT_EQ(Cusum::create({.slack = -0.1}).error().field, "slack");
  EXPECT_EQ(Cusum::create({.threshold = 0.0}).error().field, "threshold");
  EXPECT_EQ(Cusum::create({.mode = static_cast<Mode>(7)}).error().field, "mode");
  EXPECT_EQ(Cusum{}.config(), CusumConfig{});
  EXPECT_EQ(CusumConfig{}.min_instances, 30U);
  EXPECT_EQ(CusumConfig{}.slack, 0.5);
  EXPECT_EQ(CusumConfig{}.threshold, 5.0);
}

}  // namespace
}  // namespace opsready::detect
