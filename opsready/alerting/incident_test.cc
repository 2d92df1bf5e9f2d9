#include "opsready/alerting/incident.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "opsready/alerting/test_support.h"
#include "opsready/core/time.h"

namespace opsready::alerting {
namespace {

using nlohmann::json;
using std::chrono::minutes;
using std::chrono::seconds;

const core::TimePoint kT0 = core::parse_rfc3339("2025-01-02T12:00:00Z").value();

core::TimePoint T(int s) { return kT0 + seconds(s); }

std::uint64_t next_sequence = 0;

Record R(RecordKind kind, std::string group, int at, std::string by = "",
         std::string channel = "") {
  return Record{.kind = kind,
                .group = std::move(group),
                .receiver = "ops",
                .at = T(at),
                .by = std::move(by),
                .channel = std::move(channel),
                .sequence = ++next_sequence};
}

store::OutboxRow Row(std::string group, std::string integration, std::string reason, int decided,
                     store::OutboxState state, std::optional<int> done,
                     std::string receiver = "ops") {
  return store::OutboxRow{.id = group + integration + reason + std::to_string(decided),
                          .receiver = std::move(receiver),
                          .integration = std::move(integration),
                          .group_key = std::move(group),
                          .group_id = "00000000000000aa",
                          .reason = std::move(reason),
                          .decided_at = T(decided),
                          .state = state,
                          .attempts = 1,
                          .done_at = done ? std::optional(T(*done)) : std::nullopt,
                          .last_error = state == store::OutboxState::kFailed ? "HTTP 400" : ""};
}

// The original's case (spec §12.2): open 12:00, ack 12:03 via Slack, resolve 12:18:30; the
// first notification accepted by Slack 2 s after open, the resolution by GitHub.
std::vector<IncidentTimeline> originals_case() {
  next_sequence = 0;
  const std::vector<Record> records = {
      R(RecordKind::kOpened, "g", 0),
      R(RecordKind::kNotified, "g", 0),
      R(RecordKind::kAcked, "g", 180, "alice", "slack"),
      R(RecordKind::kAcked, "g", 240, "bob", "cli"),  // a re-ack: not the MTTA
      R(RecordKind::kNotified, "g", 1110),
      R(RecordKind::kResolved, "g", 1110),
  };
  const std::vector<store::OutboxRow> outbox = {
      // Newest first, as the store answers.
      Row("g", "github/0", "all_resolved", 1110, store::OutboxState::kSent, 1111),
      Row("g", "webhook/0", "first", 0, store::OutboxState::kFailed, 5),
      Row("g", "slack/0", "first", 0, store::OutboxState::kSent, 2),
      Row("other", "slack/0", "first", 0, store::OutboxState::kSent, 1),  // another group
  };
  return timelines(records, outbox);
}

TEST(Timelines, RecordsAndDeliveriesOfOneIncidentInTimeOrder) {
  const auto all = originals_case();
  ASSERT_EQ(all.size(), 1u);
  const IncidentTimeline& t = all[0];
  EXPECT_EQ(t.incident.id, 1u);
  EXPECT_EQ(t.incident.acknowledged_by, "alice");
  EXPECT_EQ(t.incident.acknowledged_via, "slack");
  EXPECT_EQ(t.incident.mtta(), minutes(3));
  EXPECT_EQ(t.incident.mttr(), seconds(1110));
  EXPECT_EQ(t.group_id, "00000000000000aa");
  EXPECT_EQ(t.deliveries_failed, 1u);
  ASSERT_EQ(t.first_notified.size(), 1u);
  EXPECT_EQ(t.first_notified.at("ops"), T(2));
  std::vector<std::string> types;
  for (const auto& e : t.events)
    types.push_back(e.type + "@" + std::to_string((e.at - kT0) / seconds(1)));
  EXPECT_EQ(types, (std::vector<std::string>{"opened@0", "notified@0", "delivered@2",
                                             "delivery_failed@5", "acked@180", "acked@240",
                                             "notified@1110", "resolved@1110", "delivered@1111"}));
  EXPECT_EQ(t.events[2].integration, "slack/0");
  EXPECT_EQ(t.events[2].channel, "slack");
  EXPECT_EQ(t.events[3].detail, "first: HTTP 400");
  EXPECT_EQ(t.events[4].channel, "slack");
  EXPECT_EQ(t.events[4].by, "alice");
}

TEST(Timelines, ARowBelongsToTheIncidentOpenWhenItWasDecided) {
  next_sequence = 0;
  const std::vector<Record> records = {
      R(RecordKind::kOpened, "g", 0), R(RecordKind::kResolved, "g", 100),
      R(RecordKind::kOpened, "g", 200),  // open again: a second incident, still open
  };
  const std::vector<store::OutboxRow> outbox = {
      Row("g", "webhook/0", "first", 0, store::OutboxState::kSent, 1),
      Row("g", "webhook/0", "all_resolved", 100, store::OutboxState::kSent, 101),
      Row("g", "webhook/0", "first", 200, store::OutboxState::kPending, std::nullopt),
      Row("g", "webhook/0", "repeat", 150, store::OutboxState::kSent, 151),  // between: nobody's
  };
  const auto all = timelines(records, outbox);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].incident.id, 1u);
  EXPECT_EQ(all[1].incident.id, 3u);
  ASSERT_EQ(all[0].events.size(), 4u);  // opened, delivered, resolved, delivered
  EXPECT_EQ(all[0].events[3].detail, "all_resolved");
  ASSERT_EQ(all[1].events.size(), 2u);
  EXPECT_EQ(all[1].events[1].type, "delivery_pending");
  EXPECT_TRUE(all[1].first_notified.empty());
  EXPECT_FALSE(all[1].incident.resolved_at.has_value());
}

// What alert_drill.py writes, from what opsready recorded; ci_metrics reads it back to the
// original's numbers (MTTA 180 s, MTTR 1 110 s).
TEST(Timelines, TheBriefsTimelineDocument) {
  const auto all = originals_case();
  const json j = to_drill_json(all[0], T(2000));
  EXPECT_EQ(j.dump(),
            R"({"drill":false,"events":[)"
            R"({"actor":"opsready","channel":"slack","timestamp":"2025-01-02T12:00:00Z",)"
            R"("type":"alert_opened"},)"
            R"({"actor":"alice","channel":"slack","timestamp":"2025-01-02T12:03:00Z",)"
            R"("type":"alert_acknowledged"},)"
            R"({"actor":"opsready","channel":"github","timestamp":"2025-01-02T12:18:30Z",)"
            R"("type":"alert_resolved"}],)"
            R"("generated_at":"2025-01-02T12:33:20Z","incident_id":"1","label":"1",)"
            R"("note":"alert group g, receiver ops"})");
}

TEST(Timelines, JsonAndMarkdown) {
  const auto all = originals_case();
  const json j = to_json(all[0]);
  EXPECT_EQ(j["id"], "1");
  EXPECT_EQ(j["mtta_seconds"], 180);
  EXPECT_EQ(j["mttr_readable"], "0:18:30");
  EXPECT_EQ(j["acknowledged_via"], "slack");
  EXPECT_EQ(j["first_notified"]["ops"], "2025-01-02T12:00:02Z");
  EXPECT_EQ(j["events"].size(), 9u);
  EXPECT_EQ(j["events"][2],
            json::parse(R"({"type":"delivered","at":"2025-01-02T12:00:02Z","receiver":"ops",
                            "integration":"slack/0","channel":"slack","detail":"first",
                            "attempts":1})"));
  EXPECT_FALSE(j["events"][0].contains("integration"));
  const std::string md = to_markdown(all[0]);
  EXPECT_NE(md.find("# Incident 1\n"), std::string::npos) << md;
  EXPECT_NE(md.find("- Acknowledged: 2025-01-02T12:03:00Z by alice via slack\n"), std::string::npos)
      << md;
  EXPECT_NE(md.find("- MTTA: 0:03:00 (180 s); MTTR: 0:18:30 (1110 s)\n"), std::string::npos) << md;
  EXPECT_NE(md.find("| ops | 2025-01-02T12:00:02Z | 2s |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 2025-01-02T12:00:05Z | delivery_failed | ops | webhook/0 | — | webhook | "
                    "first: HTTP 400 |"),
            std::string::npos)
      << md;
}

TEST(ResponseTracker, FirstAckAndResolutionOnceEach) {
  next_sequence = 0;
  ResponseTracker t;
  EXPECT_EQ(t.feed(R(RecordKind::kAcked, "g", 0, "x")), std::nullopt);  // not open: ignored
  EXPECT_EQ(t.feed(R(RecordKind::kOpened, "g", 10)), std::nullopt);
  EXPECT_EQ(t.feed(R(RecordKind::kAcked, "g", 70, "alice")),
            (ResponseTime{ResponseTime::Kind::kAcknowledge, "ops", seconds(60)}));
  EXPECT_EQ(t.feed(R(RecordKind::kAcked, "g", 80, "bob")), std::nullopt);  // a re-ack
  EXPECT_EQ(t.open_count(), 1u);
  EXPECT_EQ(t.feed(R(RecordKind::kResolved, "g", 310)),
            (ResponseTime{ResponseTime::Kind::kResolve, "ops", seconds(300)}));
  EXPECT_EQ(t.open_count(), 0u);
  EXPECT_EQ(t.feed(R(RecordKind::kResolved, "g", 320)), std::nullopt);
  // Opened again: a new incident, acked anew.
  EXPECT_EQ(t.feed(R(RecordKind::kOpened, "g", 400)), std::nullopt);
  EXPECT_EQ(t.feed(R(RecordKind::kAcked, "g", 405, "carol")),
            (ResponseTime{ResponseTime::Kind::kAcknowledge, "ops", seconds(5)}));
}

TEST(ResponseStats, MeanTimesOverTheWindowFromTheIncidentLog) {
  next_sequence = 0;
  ResponseStats stats(std::chrono::hours(1));
  EXPECT_EQ(stats.summary(T(0)), (ResponseStats::Summary{.sample_window_days = 1.0 / 24}));
  EXPECT_FALSE(stats.feed(R(RecordKind::kOpened, "a", 0)));
  EXPECT_TRUE(stats.feed(R(RecordKind::kAcked, "a", 600, "alice")));  // TTA 10 min
  EXPECT_FALSE(stats.feed(R(RecordKind::kAcked, "a", 700, "bob")));   // a re-ack
  EXPECT_FALSE(stats.feed(R(RecordKind::kOpened, "b", 900)));
  EXPECT_TRUE(stats.feed(R(RecordKind::kAcked, "b", 2700, "carol")));  // TTA 30 min
  EXPECT_TRUE(stats.feed(R(RecordKind::kResolved, "a", 3600)));        // TTR 60 min
  auto s = stats.summary(T(3600));
  EXPECT_EQ(s.mtta_minutes, 20.0);
  EXPECT_EQ(s.mttr_minutes, 60.0);
  EXPECT_EQ(s.acknowledged, 2u);
  EXPECT_EQ(s.resolved, 1u);
  // The first ack (completed at 600 s) leaves the one-hour window at 4200 s.
  EXPECT_EQ(stats.next_change(), T(600 + 3600));
  s = stats.summary(T(4200));
  EXPECT_EQ(s.mtta_minutes, 30.0);
  EXPECT_EQ(s.acknowledged, 1u);
  s = stats.summary(T(2 * 3600 + 3600));
  EXPECT_EQ(s.mtta_minutes, std::nullopt);
  EXPECT_EQ(s.mttr_minutes, std::nullopt);
  EXPECT_EQ(stats.next_change(), std::nullopt);
}

}  // namespace
}  // namespace opsready::alerting
