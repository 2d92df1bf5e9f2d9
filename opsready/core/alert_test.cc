#include "opsready/core/alert.h"

#include <gtest/gtest.h>

#include "opsready/core/time.h"

namespace opsready::core {
namespace {

TimePoint at(const char* text) { return parse_rfc3339(text).value(); }

// Prometheus common/model's own test vectors (signature_test.go, TestMetricToFingerprint), so
// a fingerprint here equals the one Alertmanager shows for the same label set.
TEST(AlertFingerprint, MatchesPrometheusModel) {
  EXPECT_EQ(alert_fingerprint_value({}), 14695981039346656037ULL);
  EXPECT_EQ(alert_fingerprint_value({{"name", "garland, briggs"}, {"fear", "love is not enough"}}),
            5799056148416392346ULL);
  EXPECT_EQ(alert_fingerprint({{"name", "garland, briggs"}, {"fear", "love is not enough"}}),
            "507a62d79ee76c9a");
  // Order-independent by construction; a label moved into the value changes it.
  EXPECT_NE(alert_fingerprint({{"a", "bc"}}), alert_fingerprint({{"ab", "c"}}));
}

TEST(AlertLabelName, FollowsPrometheusSyntax) {
  for (const char* ok : {"a", "_", "alertname", "A_1", "__name__"}) {
    EXPECT_TRUE(is_valid_label_name(ok)) << ok;
  }
  for (const char* bad : {"", "1a", "a-b", "a.b", "é", "a b"}) {
    EXPECT_FALSE(is_valid_label_name(bad)) << bad;
  }
}

Alert make(const char* starts, const char* ends, const char* received, bool timeout = false) {
  Alert a;
  a.labels = {{"alertname", "X"}};
  a.fingerprint = alert_fingerprint(a.labels);
  a.starts_at = at(starts);
  a.ends_at = at(ends);
  a.received_at = at(received);
  a.timeout = timeout;
  return a;
}

TEST(AlertMerge, FollowsAlertmanager) {
  struct Case {
    const char* what;
    Alert stored;
    Alert incoming;
    const char* starts;
    const char* ends;
  };
  const Case cases[] = {
      {"re-post while firing keeps the earliest start and takes the new end",
       make("2025-01-01T00:00:00Z", "2025-01-01T00:04:00Z", "2025-01-01T00:00:00Z"),
       make("2025-01-01T00:01:00Z", "2025-01-01T00:05:00Z", "2025-01-01T00:01:00Z"),
       "2025-01-01T00:00:00Z", "2025-01-01T00:05:00Z"},
      {"an explicit resolve inside the active range ends it",
       make("2025-01-01T00:00:00Z", "2025-01-01T00:04:00Z", "2025-01-01T00:00:00Z"),
       make("2025-01-01T00:00:00Z", "2025-01-01T00:02:00Z", "2025-01-01T00:02:00Z"),
       "2025-01-01T00:00:00Z", "2025-01-01T00:02:00Z"},
      {"a firing update does not shorten a later explicit end",
       make("2025-01-01T00:00:00Z", "2025-01-01T00:10:00Z", "2025-01-01T00:00:00Z"),
       make("2025-01-01T00:01:00Z", "2025-01-01T00:05:00Z", "2025-01-01T00:01:00Z", true),
       "2025-01-01T00:00:00Z", "2025-01-01T00:10:00Z"},
      {"a later timeout end does not override",
       make("2025-01-01T00:00:00Z", "2025-01-01T00:10:00Z", "2025-01-01T00:00:00Z", true),
       make("2025-01-01T00:01:00Z", "2025-01-01T00:05:00Z", "2025-01-01T00:01:00Z"),
       "2025-01-01T00:00:00Z", "2025-01-01T00:05:00Z"},
      {"no overlap: a new occurrence replaces the old one",
       make("2025-01-01T00:00:00Z", "2025-01-01T00:04:00Z", "2025-01-01T00:00:00Z"),
       make("2025-01-01T01:00:00Z", "2025-01-01T01:04:00Z", "2025-01-01T01:00:00Z"),
       "2025-01-01T01:00:00Z", "2025-01-01T01:04:00Z"},
  };
  for (const auto& c : cases) {
    const Alert m = merge_alert(c.stored, c.incoming);
    EXPECT_EQ(m.starts_at, at(c.starts)) << c.what;
    EXPECT_EQ(m.ends_at, at(c.ends)) << c.what;
    EXPECT_EQ(m.received_at, c.incoming.received_at) << c.what;
    // In place, copying or moving: the same result.
    Alert copied = c.stored;
    merge_alert_into(copied, c.incoming);
    EXPECT_EQ(copied, m) << c.what;
    Alert moved = c.stored;
    merge_alert_into(moved, Alert(c.incoming));
    EXPECT_EQ(moved, m) << c.what;
  }
}

TEST(AlertFingerprint, AssignedInPlaceEqualsComputed) {
  Alert a;
  a.labels = {{"name", "garland, briggs"}, {"fear", "love is not enough"}};
  a.fingerprint = "stale";
  assign_fingerprint(a);
  EXPECT_EQ(a.fingerprint, "507a62d79ee76c9a");
  a.labels = {};
  assign_fingerprint(a);
  EXPECT_EQ(a.fingerprint, alert_fingerprint({}));
  EXPECT_EQ(a.fingerprint, "cbf29ce484222325");
}

TEST(AlertJson, StatusFollowsEndsAt) {
  const Alert a = make("2025-01-01T00:00:00Z", "2025-01-01T00:05:00Z", "2025-01-01T00:00:00Z");
  EXPECT_EQ(to_json(a, at("2025-01-01T00:04:59Z"))["status"], "firing");
  EXPECT_EQ(to_json(a, at("2025-01-01T00:05:00Z"))["status"], "resolved");
  const auto j = to_json(a, at("2025-01-01T00:00:00Z"));
  EXPECT_EQ(j["fingerprint"], a.fingerprint);
  EXPECT_EQ(j["labels"]["alertname"], "X");
  EXPECT_EQ(j["startsAt"], "2025-01-01T00:00:00Z");
  EXPECT_EQ(j["endsAt"], "2025-01-01T00:05:00Z");
}

}  // namespace
}  // namespace opsready::core
