#include "opsready/core/time.h"

#include <gtest/gtest.h>

namespace opsready::core {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(Time, RoundTripsUtc) {
  for (const char* s :
       {"2025-01-02T00:00:00Z", "1970-01-01T00:00:00Z", "2024-02-29T23:59:59Z",
        "2025-10-25T12:34:56.789Z", "2025-10-25T12:34:56.000001Z", "2025-10-25T12:34:56.123456789Z",
        "1969-12-31T23:59:59.5Z", "2099-12-31T00:00:00Z"}) {
    auto t = parse_rfc3339(s);
    ASSERT_TRUE(t.has_value()) << s << ": " << t.error().message;
    std::string want = s;
    if (want == "1969-12-31T23:59:59.5Z") want = "1969-12-31T23:59:59.500Z";
    EXPECT_EQ(format_rfc3339(*t), want);
  }
}

TEST(Time, AcceptsOffsetsAndNormalisesToUtc) {
  EXPECT_EQ(format_rfc3339(parse_rfc3339("2025-01-02T01:30:00+01:30").value()),
            "2025-01-02T00:00:00Z");
  EXPECT_EQ(format_rfc3339(parse_rfc3339("2025-01-01T23:00:00-01:00").value()),
            "2025-01-02T00:00:00Z");
  EXPECT_EQ(format_rfc3339(parse_rfc3339("2025-01-02 00:00:00z").value()), "2025-01-02T00:00:00Z");
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:10Z").value().time_since_epoch(), seconds(10));
}

TEST(Time, RefusesMalformed) {
  for (const char* s : {"", "2025-01-02", "2025-01-02T00:00:00", "2025-13-01T00:00:00Z",
                        "2025-02-29T00:00:00Z", "2025-01-02T24:00:00Z", "2025-01-02T00:00:00.Z",
                        "2025-01-02T00:00:00+0100", "2025-01-02T00:00:00Zjunk", "yesterday"}) {
    auto t = parse_rfc3339(s);
    EXPECT_FALSE(t.has_value()) << s;
    if (!t) {
      EXPECT_EQ(t.error().code, "invalid_timestamp");
    }
  }
}

TEST(Time, Durations) {
  EXPECT_EQ(parse_duration("300s").value(), seconds(300));
  EXPECT_EQ(parse_duration("1h30m").value(), std::chrono::minutes(90));
  EXPECT_EQ(parse_duration("250ms").value(), milliseconds(250));
  EXPECT_EQ(parse_duration("2d").value(), hours(48));
  EXPECT_EQ(parse_duration("0").value(), Duration::zero());
  EXPECT_FALSE(parse_duration("5").has_value());
  EXPECT_FALSE(parse_duration("5x").has_value());
  EXPECT_FALSE(parse_duration("").has_value());
  EXPECT_FALSE(parse_duration("-5s").has_value());
  EXPECT_EQ(format_duration(std::chrono::minutes(90)), "1h30m");
  EXPECT_EQ(format_duration(milliseconds(250)), "250ms");
  EXPECT_EQ(format_duration(Duration::zero()), "0s");
}

TEST(Clock, ManualClockMovesOnlyWhenTold) {
  ManualClock clock(parse_rfc3339("2025-01-02T00:00:00Z").value());
  const auto t0 = clock.now();
  EXPECT_EQ(clock.now(), t0);
  clock.advance(seconds(30));
  EXPECT_EQ(clock.now() - t0, seconds(30));
  clock.set(t0);
  EXPECT_EQ(clock.now(), t0);
  EXPECT_GT(SystemClock::instance().now(), parse_rfc3339("2020-01-01T00:00:00Z").value());
}

}  // namespace
}  // namespace opsready::core
