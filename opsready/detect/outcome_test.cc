#include "opsready/detect/outcome.h"

#include <gtest/gtest.h>

#include <limits>

namespace opsready::detect {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Spec §5: inclusive thresholds; +inf reaches any finite threshold, a finite value never reaches
// an infinite one.
TEST(Grade, ThresholdsAreInclusive) {
  struct Case {
    double v, warn, alert;
    Grade want;
  };
  const Case cases[] = {
      {0.0, 3.0, 6.0, Grade::kNormal},
      {2.999, 3.0, 6.0, Grade::kNormal},
      {3.0, 3.0, 6.0, Grade::kWarn},
      {5.999, 3.0, 6.0, Grade::kWarn},
      {6.0, 3.0, 6.0, Grade::kAlert},
      {kInf, 3.0, 6.0, Grade::kAlert},
      {1e300, 3.0, kInf, Grade::kWarn},
      {1e300, kInf, kInf, Grade::kNormal},
      {0.25, 0.25, 0.5, Grade::kWarn},  // spec §6.6: |delta| exactly at the warn threshold
      {std::numeric_limits<double>::quiet_NaN(), 3.0, 6.0, Grade::kNormal},
  };
  for (const Case& c : cases) EXPECT_EQ(grade(c.v, c.warn, c.alert), c.want) << c.v;
}

TEST(Grade, MapsToReadinessStatus) {
  EXPECT_EQ(to_status(Grade::kNormal), core::Status::kOk);
  EXPECT_EQ(to_status(Grade::kWarn), core::Status::kWarn);
  EXPECT_EQ(to_status(Grade::kAlert), core::Status::kFail);
  EXPECT_EQ(to_status(Grade::kRefused), core::Status::kOk);
  EXPECT_EQ(escalate(Grade::kWarn, Grade::kRefused), Grade::kWarn);
  EXPECT_EQ(escalate(Grade::kRefused, Grade::kNormal), Grade::kNormal);
  EXPECT_EQ(escalate(Grade::kAlert, Grade::kWarn), Grade::kAlert);
}

TEST(Outcome, WireNames) {
  EXPECT_EQ(to_string(Outcome::kRefused), "refused");
  EXPECT_EQ(to_string(Grade::kAlert), "alert");
  EXPECT_EQ(to_string(Direction::kDown), "down");
  EXPECT_EQ(to_string(Mode::kBoth), "both");
  for (Mode m : {Mode::kUp, Mode::kDown, Mode::kBoth}) EXPECT_EQ(parse_mode(to_string(m)), m);
  EXPECT_EQ(parse_mode("UP").error().field, "mode");
  EXPECT_TRUE(tests_up(Mode::kBoth) && tests_down(Mode::kBoth));
  EXPECT_TRUE(tests_up(Mode::kUp) && !tests_down(Mode::kUp));
}

}  // namespace
}  // namespace opsready::detect
