#include "opsready/core/event_batch.h"

#include <gtest/gtest.h>

#include "opsready/core/time.h"

namespace opsready::core {
namespace {

const TimePoint kNow = *parse_rfc3339("2026-01-02T03:04:05Z");

TEST(EventBatch, ObjectArrayAndNdjsonGiveTheSameEvents) {
  const std::string one = R"({"topic":"telemetry.a","source":"s","payload":{"v":1}})";
  const std::string two = R"({"topic":"telemetry.b","time":"2026-01-01T00:00:00Z"})";
  const auto array = parse_events("[" + one + "," + two + "]", kNow);
  const auto ndjson = parse_events(one + "\n\n" + two + "\n", kNow);
  ASSERT_TRUE(array.errors.empty());
  ASSERT_EQ(array.events.size(), 2u);
  EXPECT_EQ(array.events, ndjson.events);
  EXPECT_EQ(array.events[0].time, kNow);  // missing time: received_at
  EXPECT_EQ(array.events[1].time, *parse_rfc3339("2026-01-01T00:00:00Z"));
  EXPECT_EQ(parse_events(one, kNow).events.front(), array.events.front());
}

TEST(EventBatch, EveryBadEventIsListedWithIndexLineAndField) {
  const auto p = parse_events(
      "{\"topic\":\"telemetry.ok\"}\n{\"topic\":\"Bad "
      "Topic\"}\n{\"topic\":\"telemetry.x\",\"payload\""
      ":3}\n{\"topic\":",
      kNow);
  ASSERT_EQ(p.errors.size(), 3u);
  EXPECT_EQ(p.errors[0].index, 1u);
  EXPECT_EQ(p.errors[0].line, 2u);
  EXPECT_EQ(p.errors[0].field, "topic");
  EXPECT_EQ(p.errors[1].field, "payload");
  EXPECT_EQ(p.errors[2].line, 4u);
  EXPECT_NE(p.errors[2].reason.find("malformed JSON"), std::string::npos);
}

TEST(EventBatch, WholeBodyErrors) {
  EXPECT_EQ(parse_events("", kNow).errors.at(0).reason.substr(0, 21), "request body is empty");
  EXPECT_EQ(parse_events("[]", kNow).errors.at(0).reason, "the event array is empty");
  EXPECT_EQ(parse_events("{\"topic\":\"telemetry.a\"", kNow).errors.size(), 1u);
  EXPECT_EQ(parse_events("{\"topic\":\"telemetry.\xff\"}", kNow).errors.at(0).reason,
            "request body is not valid UTF-8");
}

TEST(EventBatch, SubjectTopicFillsAMissingTopicAndRefusesAnother) {
  const auto filled =
      parse_events(R"([{"payload":{"value":2}},{"topic":"telemetry.lag"}])", kNow, "telemetry.lag");
  ASSERT_TRUE(filled.errors.empty());
  ASSERT_EQ(filled.events.size(), 2u);
  EXPECT_EQ(filled.events[0].topic, "telemetry.lag");
  EXPECT_EQ(filled.events[0].payload["value"], 2);

  const auto other = parse_events(R"({"topic":"telemetry.other"})", kNow, "telemetry.lag");
  ASSERT_EQ(other.errors.size(), 1u);
  EXPECT_EQ(other.errors[0].field, "topic");
  EXPECT_EQ(other.errors[0].reason, "'telemetry.other' is not the subject's topic 'telemetry.lag'");
  EXPECT_TRUE(other.events.empty());

  // Without a subject topic, the topic stays required.
  EXPECT_EQ(parse_events(R"({"payload":{}})", kNow).errors.at(0).field, "topic");
}

TEST(EventBatch, ComponentSnapshotsAreValidated) {
  const auto p = parse_events(
      R"({"topic":"opsready.component.snapshot","payload":{"component":"x","status":"maybe"}})",
      kNow);
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_EQ(p.errors[0].field.substr(0, 8), "payload.");
}

}  // namespace
}  // namespace opsready::core
