#include "opsready/components/nats_consumer.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "opsready/core/time.h"

namespace opsready::components {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::minutes;
using std::chrono::seconds;

const fs::path kTestdata = fs::path(__FILE__).parent_path().parent_path().parent_path() /
                           "examples" / "documents" / "nats_consumer";
const core::TimePoint kT0 = core::parse_rfc3339("2025-01-02T00:00:00Z").value();
constexpr std::string_view kTopic = "telemetry.bus.consumer";

json read_json(const fs::path& p) {
  std::ifstream in(p);
  return json::parse(in);
}

json info(std::string stream, std::string consumer, double pending, double ack_pending = 0,
          double redelivered = 0) {
  return {{"stream", std::move(stream)},
          {"consumer", std::move(consumer)},
          {"num_pending", pending},
          {"num_ack_pending", ack_pending},
          {"num_redelivered", redelivered}};
}

core::TelemetryEvent event(json payload, core::TimePoint t = kT0, std::string_view topic = kTopic) {
  return {.topic = std::string(topic), .time = t, .payload = std::move(payload)};
}

json with_limit(json doc, double limit) {
  doc["max_ack_pending"] = limit;
  return doc;
}

std::string codes(const core::ComponentSnapshot& s) {
  std::string out;
  for (const auto& i : s.issues) out += (out.empty() ? "" : ",") + i.code;
  return out;
}

// The brief's flattened document, then the JetStream API's own CONSUMER.INFO response for the
// same consumer a minute later.
TEST(NatsConsumer, ReportsOfOneConsumer) {
  auto c = NatsConsumer::create({}).value();
  ASSERT_TRUE(c->apply(event(read_json(kTestdata / "consumer_info.json"))));
  auto s = c->snapshot(kT0);
  EXPECT_EQ(s.component, "nats_consumer");
  EXPECT_EQ(s.status, core::Status::kWarn);
  ASSERT_EQ(s.issues.size(), 1u);
  EXPECT_EQ(s.issues[0],
            (core::Issue{.code = "nats_consumer.pending:TELEMETRY/opsready-ingest",
                         .severity = core::Severity::kWarning,
                         .message = "TELEMETRY/opsready-ingest: 1500 messages pending (> 1000)",
                         .runbook = "docs/runbooks/nats_consumer.md#pending"}));
  EXPECT_EQ(s.summary,
            "1 of 1 consumer degraded: TELEMETRY/opsready-ingest: 1500 messages pending (> 1000)");
  const json& m = s.metadata["consumers"][0];
  EXPECT_EQ(m["stream"], "TELEMETRY");
  EXPECT_EQ(m["consumer"], "opsready-ingest");
  EXPECT_EQ(m["status"], "warn");
  EXPECT_EQ(m["num_pending"], 1500);
  EXPECT_EQ(m["max_ack_pending"], 1000);
  EXPECT_EQ(m["delivered"], (json{{"stream_seq", 98500}, {"consumer_seq", 98512}}));
  EXPECT_FALSE(m.contains("redelivered_growth"));
  EXPECT_EQ(s.metadata["consumer_count"], 1);
  EXPECT_EQ(s.metadata["issue_counts"], (json{{"warn", 1}}));
  EXPECT_EQ(s.metadata["issue_details"][0]["detail"], (json{{"stream", "TELEMETRY"},
                                                            {"consumer", "opsready-ingest"},
                                                            {"num_pending", 1500},
                                                            {"threshold", 1000}}));

  ASSERT_TRUE(c->apply(event(read_json(kTestdata / "consumer_info_response.json"), kT0)));
  EXPECT_EQ(c->tracked(), 1u);
  s = c->snapshot(kT0 + minutes(1));
  EXPECT_EQ(s.status, core::Status::kFail);
  EXPECT_EQ(codes(s),
            "nats_consumer.ack_pending:TELEMETRY/opsready-ingest,"
            "nats_consumer.redelivered:TELEMETRY/opsready-ingest");
  EXPECT_EQ(s.issues[0].severity, core::Severity::kCritical);
  EXPECT_EQ(s.issues[0].message,
            "TELEMETRY/opsready-ingest: 1000 messages awaiting ack, at max_ack_pending 1000 "
            "(delivery suspended)");
  EXPECT_EQ(s.issues[1].severity, core::Severity::kWarning);
  EXPECT_EQ(s.issues[1].message,
            "TELEMETRY/opsready-ingest: 140 redeliveries since the previous report (> 100)");
  EXPECT_EQ(s.issues[1].runbook, "docs/runbooks/nats_consumer.md#redelivered");
  const json& m2 = s.metadata["consumers"][0];
  EXPECT_EQ(m2["observed_at"], "2025-01-02T00:01:00Z");  // the API's ts
  EXPECT_EQ(m2["ack_policy"], "explicit");
  EXPECT_EQ(m2["redelivered_growth"], 140);
  EXPECT_EQ(m2["reports"], 2);
  EXPECT_EQ(m2["delivered"]["last_active"], "2025-01-02T00:00:59.500Z");
}

TEST(NatsConsumer, PendingAndAckPendingBoundaries) {
  struct Case {
    json doc;
    core::Status status;
    std::string codes;
  };
  const std::string p = "nats_consumer.pending:S/c";
  const std::string a = "nats_consumer.ack_pending:S/c";
  const Case cases[] = {
      {info("S", "c", 1000), core::Status::kOk, ""},
      {info("S", "c", 1001), core::Status::kWarn, p},
      {info("S", "c", 10000), core::Status::kWarn, p},
      {info("S", "c", 10001), core::Status::kFail, p},
      {info("S", "c", 0, 1000), core::Status::kOk, ""},
      {info("S", "c", 0, 1001), core::Status::kWarn, a},
      {with_limit(info("S", "c", 0, 499), 500), core::Status::kOk, ""},
      {with_limit(info("S", "c", 0, 500), 500), core::Status::kFail, a},
      {with_limit(info("S", "c", 0, 5000), -1), core::Status::kWarn, a},
      {with_limit(info("S", "c", 0, 0), 0), core::Status::kOk, ""},
  };
  for (const auto& k : cases) {
    auto c = NatsConsumer::create({}).value();
    ASSERT_TRUE(c->apply(event(k.doc))) << k.doc.dump();
    const auto s = c->snapshot(kT0);
    EXPECT_EQ(s.status, k.status) << k.doc.dump();
    EXPECT_EQ(codes(s), k.codes) << k.doc.dump();
  }
}

TEST(NatsConsumer, RedeliveryGrowth) {
  struct Case {
    double first;
    double second;
    core::Status status;
  };
  const Case cases[] = {
      {40, 140, core::Status::kOk},     // grew by 100: not more than redelivered_warn
      {40, 141, core::Status::kWarn},   // grew by 101
      {500, 150, core::Status::kWarn},  // a recreated consumer: counted from zero
      {500, 50, core::Status::kOk},
  };
  for (const auto& k : cases) {
    auto c = NatsConsumer::create({}).value();
    ASSERT_TRUE(c->apply(event(info("S", "c", 0, 0, k.first))));
    // The first report only sets the baseline, however large.
    EXPECT_EQ(c->snapshot(kT0).status, core::Status::kOk);
    ASSERT_TRUE(c->apply(event(info("S", "c", 0, 0, k.second), kT0 + seconds(30))));
    const auto s = c->snapshot(kT0 + seconds(30));
    EXPECT_EQ(s.status, k.status) << k.first << " → " << k.second;
  }
}

// Staleness is measured at snapshot time, from the report's own time.
TEST(NatsConsumer, Stale) {
  auto c = NatsConsumer::create({}).value();
  ASSERT_TRUE(c->apply(event(info("S", "c", 0))));
  EXPECT_EQ(c->snapshot(kT0 + minutes(2)).status, core::Status::kOk);
  auto s = c->snapshot(kT0 + minutes(2) + seconds(1));
  EXPECT_EQ(s.status, core::Status::kWarn);
  EXPECT_EQ(codes(s), "nats_consumer.stale:S/c");
  EXPECT_EQ(s.issues[0].message, "S/c: no consumer info for 2m1s (> 2m)");
  EXPECT_EQ(s.observed_at, kT0);

  // The report's observed_at, not the event's time, is when it was seen.
  json late = info("S", "d", 0);
  late["observed_at"] = "2025-01-01T23:57:00Z";
  ASSERT_TRUE(c->apply(event(late, kT0)));
  EXPECT_EQ(codes(c->snapshot(kT0)), "nats_consumer.stale:S/d");

  auto never = NatsConsumer::create({.stale_after = std::nullopt}).value();
  ASSERT_TRUE(never->apply(event(info("S", "c", 0))));
  EXPECT_EQ(never->snapshot(kT0 + std::chrono::hours(24)).status, core::Status::kOk);

  auto forget = NatsConsumer::create({.forget_after = minutes(10)}).value();
  ASSERT_TRUE(forget->apply(event(info("S", "c", 0))));
  EXPECT_EQ(forget->snapshot(kT0 + minutes(10)).status, core::Status::kWarn);
  s = forget->snapshot(kT0 + minutes(10) + seconds(1));
  EXPECT_EQ(forget->tracked(), 0u);
  EXPECT_EQ(s.status, core::Status::kOk);
  EXPECT_EQ(s.summary, "No consumers reported");
}

TEST(NatsConsumer, ManyConsumers) {
  auto c = NatsConsumer::create({.max_consumers = 5}).value();
  ASSERT_TRUE(c->apply(event(info("B", "x", 20000))));
  ASSERT_TRUE(c->apply(event(info("A", "y", 0, 2000))));
  ASSERT_TRUE(c->apply(event(info("A", "x", 0))));
  ASSERT_TRUE(c->apply(event(info("A", "z", 5000, 5000), kT0, "telemetry.kafka.lag")));
  ASSERT_TRUE(c->apply(event(info("C", "x", 1001))));
  auto s = c->snapshot(kT0);
  EXPECT_EQ(s.status, core::Status::kFail);
  // Consumers in (stream, consumer) order.
  EXPECT_EQ(codes(s),
            "nats_consumer.ack_pending:A/y,nats_consumer.pending:A/z,"
            "nats_consumer.ack_pending:A/z,nats_consumer.pending:B/x,nats_consumer.pending:C/x");
  EXPECT_EQ(s.summary,
            "4 of 5 consumers degraded: A/y: 2000 messages awaiting ack (> 1000); A/z: 5000 "
            "messages pending (> 1000); A/z: 5000 messages awaiting ack (> 1000); +2 more");
  EXPECT_EQ(s.metadata["degraded_consumers"], 4);
  EXPECT_EQ(s.metadata["consumers"][0]["consumer"], "x");
  EXPECT_EQ(s.metadata["consumers"][0]["status"], "ok");
  EXPECT_EQ(s.metadata["consumers"][1]["status"], "warn");

  // The cap refuses a new pair and keeps the known ones.
  auto refused = c->apply(event(info("D", "x", 0)));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "too_many_consumers");
  EXPECT_EQ(refused.error().field, "payload.stream_name");
  ASSERT_TRUE(c->apply(event(info("B", "x", 0), kT0 + seconds(1))));
  EXPECT_EQ(c->tracked(), 5u);

  auto quiet = NatsConsumer::create({}).value();
  ASSERT_TRUE(quiet->apply(event(info("A", "x", 0))));
  ASSERT_TRUE(quiet->apply(event(info("A", "y", 0))));
  EXPECT_EQ(quiet->snapshot(kT0).summary, "2 consumers within limits");
}

// A report older than the one kept is ignored: the newer counters stand.
// NATS delivers at least once: the same report again (same observed_at) is not a new sample, so
// a redelivery warning it raised stays.
TEST(NatsConsumer, TheSameReportDeliveredTwiceKeepsItsRedeliveryGrowth) {
  auto c = NatsConsumer::create({}).value();
  json first = info("S", "c", 0, 0, 10);
  first["observed_at"] = "2025-01-02T00:00:00Z";
  json second = info("S", "c", 0, 0, 300);
  second["observed_at"] = "2025-01-02T00:01:00Z";
  ASSERT_TRUE(c->apply(event(first)));
  ASSERT_TRUE(c->apply(event(second, kT0 + minutes(1))));
  EXPECT_EQ(codes(c->snapshot(kT0 + minutes(1))), "nats_consumer.redelivered:S/c");
  ASSERT_TRUE(c->apply(event(second, kT0 + minutes(1))));
  EXPECT_EQ(codes(c->snapshot(kT0 + minutes(1))), "nats_consumer.redelivered:S/c");
}

TEST(NatsConsumer, LateReportIgnored) {
  auto c = NatsConsumer::create({}).value();
  json newer = info("S", "c", 5000, 0, 500);
  newer["observed_at"] = "2025-01-02T00:01:00Z";
  json older = info("S", "c", 0, 0, 0);
  older["observed_at"] = "2025-01-02T00:00:00Z";
  ASSERT_TRUE(c->apply(event(newer)));
  ASSERT_TRUE(c->apply(event(older, kT0 + minutes(2))));
  const auto s = c->snapshot(kT0 + minutes(1));
  EXPECT_EQ(codes(s), "nats_consumer.pending:S/c");
  EXPECT_EQ(s.metadata["consumers"][0]["reports"], 1);
  EXPECT_EQ(s.observed_at, kT0 + minutes(2));  // the time of the last event applied
}

TEST(NatsConsumer, BriefDetail) {
  auto c = NatsConsumer::create({}).value();
  ASSERT_TRUE(c->apply(event(info("S", "c", 20000))));
  const auto full = c->snapshot(kT0);
  const auto brief = c->snapshot(kT0, Detail::kBrief);
  EXPECT_TRUE(brief.metadata.empty());
  EXPECT_EQ(brief.issues, full.issues);
  EXPECT_EQ(brief.summary, full.summary);
  EXPECT_EQ(brief.status, core::Status::kFail);
}

TEST(NatsConsumer, Refusals) {
  struct Case {
    json doc;
    std::string field;
  };
  const auto set = [](json doc, const std::string& key, json v) {
    doc[key] = std::move(v);
    return doc;
  };
  const auto drop = [](json doc, const std::string& key) {
    doc.erase(key);
    return doc;
  };
  const json ok = info("S", "c", 0);
  const Case cases[] = {
      {drop(ok, "num_pending"), "payload.num_pending"},
      {set(ok, "num_pending", -1), "payload.num_pending"},
      {set(ok, "num_ack_pending", 1.5), "payload.num_ack_pending"},
      {set(ok, "num_redelivered", "many"), "payload.num_redelivered"},
      {set(ok, "num_waiting", true), "payload.num_waiting"},
      {drop(ok, "stream"), "payload.stream_name"},
      {drop(ok, "consumer"), "payload.name"},
      {set(ok, "stream", "a.b"), "payload.stream"},
      {set(ok, "consumer", "a b"), "payload.consumer"},
      {set(ok, "stream_name", "T"), "payload.stream"},
      {set(ok, "lag", 3), "payload.lag"},
      {set(ok, "type", "io.nats.jetstream.api.v1.stream_info_response"), "payload.type"},
      {set(ok, "ts", "now"), "payload.ts"},
      {set(ok, "delivered", {{"stream_seq", 1}, {"seq", 2}}), "payload.delivered.seq"},
      {set(ok, "ack_floor", {{"stream_seq", -2}}), "payload.ack_floor.stream_seq"},
      {set(ok, "config", {{"ack_policy", "sometimes"}}), "payload.config.ack_policy"},
      {set(ok, "config", {{"max_ack_pending", "lots"}}), "payload.config.max_ack_pending"},
      {set(set(ok, "config", {{"max_ack_pending", 10}}), "max_ack_pending", 20),
       "payload.max_ack_pending"},
      {set(ok, "config", 5), "payload.config"},
      {set(ok, "paused", "maybe"), "payload.paused"},
      {json{{"type", "io.nats.jetstream.api.v1.consumer_info_response"},
            {"error", {{"code", 404}, {"err_code", 10014}, {"description", "consumer not found"}}}},
       "payload.error"},
  };
  for (const auto& k : cases) {
    auto c = NatsConsumer::create({}).value();
    auto r = c->apply(event(k.doc));
    ASSERT_FALSE(r) << k.doc.dump();
    EXPECT_EQ(r.error().field, k.field) << k.doc.dump() << ": " << r.error().describe();
    EXPECT_FALSE(c->active());
  }
  auto c = NatsConsumer::create({}).value();
  auto r = c->apply(event(json{{"error", {{"code", 404}, {"description", "consumer not found"}}}}));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("consumer not found"), std::string::npos);
  EXPECT_FALSE(c->apply(event(json::array())));
  EXPECT_FALSE(c->apply(event(ok, kT0, "telemetry.bus.health")));
}

TEST(NatsConsumer, TopicsAndConfig) {
  auto c = NatsConsumer::create({}).value();
  EXPECT_EQ(c->name(), "nats_consumer");
  EXPECT_EQ(c->alert_category(), "operational.nats_consumer");
  EXPECT_TRUE(c->consumes("telemetry.bus.consumer"));
  EXPECT_TRUE(c->consumes("telemetry.kafka.lag"));
  EXPECT_FALSE(c->consumes("telemetry.kafka.readiness"));
  EXPECT_FALSE(c->active());

  EXPECT_TRUE(validate(NatsConsumerConfig{}).has_value());
  EXPECT_EQ(validate(NatsConsumerConfig{.pending_fail = 10}).error().field, "pending_fail");
  EXPECT_EQ(validate(NatsConsumerConfig{.stale_after = seconds(0)}).error().field, "stale_after");
  EXPECT_EQ(validate(NatsConsumerConfig{.forget_after = seconds(60)}).error().field,
            "forget_after");
  EXPECT_EQ(validate(NatsConsumerConfig{.max_consumers = 0}).error().field, "max_consumers");
  EXPECT_FALSE(NatsConsumer::create({.max_consumers = 0}).has_value());
}

}  // namespace
}  // namespace opsready::components
