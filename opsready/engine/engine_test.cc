#include "opsready/engine/engine.h"

#include <gtest/gtest.h>

#include <iostream>
#include <string>
#include <vector>

#include "opsready/core/time.h"

namespace opsready::engine {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

const core::TimePoint kT0 = core::parse_rfc3339("2025-01-02T00:00:00Z").value();

// Every output, as text lines, and the state rows as the store would hold them.
class RecordingSink final : public Sink {
 public:
  void alert_changed(const core::Alert& a, bool firing, core::TimePoint) override {
    lines.push_back(std::string(firing ? "fire " : "resolve ") + a.labels.at("alertname") + "{" +
                    (a.labels.contains("component") ? a.labels.at("component") : "") + "," +
                    a.labels.at("severity") + "}");
  }
  void decided(const Decision& d) override {
    const auto& n = d.notification;
    std::string names;
    for (const auto& a : n.firing) {
      names += (names.empty() ? "" : ",") + a.labels.at("alertname");
    }
    std::string resolved;
    for (const auto& a : n.resolved) {
      resolved += (resolved.empty() ? "" : ",") + a.labels.at("alertname");
    }
    notes.push_back(std::to_string(std::chrono::duration_cast<seconds>(n.at - kT0).count()) + "s " +
                    n.receiver + " " +
                    (d.escalation ? "escalation " + std::to_string(d.step)
                                  : std::string(alerting::to_string(n.reason))) +
                    " F[" + names + "] R[" + resolved + "]");
  }
  void persist(store::StateRow row) override {
    if (row.json.empty()) {
      std::erase_if(
          state, [&](const store::StateRow& r) { return r.kind == row.kind && r.key == row.key; });
      return;
    }
    for (auto& r : state) {
      if (r.kind == row.kind && r.key == row.key) {
        r = std::move(row);
        return;
      }
    }
    state.push_back(std::move(row));
  }
  void append(store::LogRow row) override { log.push_back(std::move(row)); }

  std::vector<std::string> lines;
  std::vector<std::string> notes;
  std::vector<store::StateRow> state;
  std::vector<store::LogRow> log;
};

// One receiver `ops`, grouping by component, 30s / 5m / 1h; `pager` as its escalation.
EngineOptions options() {
  EngineOptions o;
  o.watchdog = false;
  o.derive.gate_alert = false;
  o.policy.route = alerting::RouteSpec{.receiver = "ops",
                                       .group_by = std::vector<std::string>{"component"},
                                       .group_wait = seconds(30),
                                       .group_interval = minutes(5),
                                       .repeat_interval = hours(1)};
  o.policy.receivers = {alerting::Receiver{.name = "ops",
                                           .escalation = {alerting::EscalationStep{
                                               .after = minutes(10), .receiver = "pager"}}},
                        alerting::Receiver{.name = "pager"}};
  return o;
}

core::ComponentSnapshot snap(const std::string& name, core::Status s, core::TimePoint at) {
  core::ComponentSnapshot c;
  c.component = name;
  c.status = s;
  c.summary = "summary of " + name;
  c.observed_at = at;
  return c;
}

struct Harness {
  explicit Harness(EngineOptions o = options()) {
    auto e = Engine::create(std::move(o), sink, kT0);
    EXPECT_TRUE(e.has_value()) << (e ? "" : e.error().describe());
    engine = std::move(*e);
  }
  // Fires the timers up to `t`, at their own times, then evaluates at `t`.
  void run_to(core::TimePoint t) {
    while (const auto due = engine->next_deadline()) {
      if (*due > t) break;
      engine->advance(*due);
    }
    engine->evaluate(t);
  }
  void put(const std::string& name, core::Status s, core::Duration at) {
    run_to(kT0 + at);
    engine->put_component(snap(name, s, kT0 + at), kT0 + at);
    engine->evaluate(kT0 + at);
  }
  RecordingSink sink;
  std::unique_ptr<Engine> engine;
};

TEST(Engine, AFailingComponentIsNotifiedAfterGroupWaitAndResolvesWhenOkAgain) {
  Harness h;
  h.put("ingest", core::Status::kFail, seconds(0));
  EXPECT_EQ(h.sink.lines, (std::vector<std::string>{"fire OpsreadyComponentNotOk{ingest,critical}",
                                                    "fire OpsreadyReadinessNotOk{,critical}"}));
  h.run_to(kT0 + seconds(29));
  EXPECT_TRUE(h.sink.notes.empty());
  h.run_to(kT0 + seconds(30));
  EXPECT_EQ(h.sink.notes,
            (std::vector<std::string>{"30s ops first notification F[OpsreadyReadinessNotOk] R[]",
                                      "30s ops first notification F[OpsreadyComponentNotOk] R[]"}));
  h.put("ingest", core::Status::kOk, minutes(2));
  h.run_to(kT0 + minutes(6));
  ASSERT_EQ(h.sink.notes.size(), 4u);
  EXPECT_EQ(h.sink.notes[2], "330s ops all alerts resolved F[] R[OpsreadyReadinessNotOk]");
  EXPECT_EQ(h.sink.notes[3], "330s ops all alerts resolved F[] R[OpsreadyComponentNotOk]");
  EXPECT_EQ(h.engine->groups().size(), 0u);
  // Nothing fires, so nothing is kept as a derived alert.
  for (const auto& row : h.sink.state) EXPECT_NE(row.kind, "derived_alert") << row.key;
}

TEST(Engine, ASilenceMutesTheGroupAndItsExpiryLetsTheAlertThrough) {
  Harness h;
  alerting::Silence s{.matchers = alerting::parse_matchers("component=ingest").value(),
                      .starts_at = kT0,
                      .ends_at = kT0 + minutes(10),
                      .created_by = "sre",
                      .comment = "maintenance"};
  const auto id = h.engine->put_silence(s, kT0);
  ASSERT_TRUE(id.has_value());
  h.put("ingest", core::Status::kFail, seconds(0));
  h.run_to(kT0 + minutes(9));
  // Only the overall readiness alert (no component label) goes out.
  EXPECT_EQ(h.sink.notes,
            (std::vector<std::string>{"30s ops first notification F[OpsreadyReadinessNotOk] R[]"}));
  const auto views = h.engine->alerts(kT0 + minutes(9));
  bool seen_silenced = false;
  for (const auto& v : views) {
    if (v.alert->labels.at("alertname") == "OpsreadyComponentNotOk") {
      EXPECT_EQ(v.silenced_by, std::vector<std::string>{*id});
      seen_silenced = true;
    }
  }
  EXPECT_TRUE(seen_silenced);
  h.run_to(kT0 + minutes(11));
  // At 10 minutes the silence ends and the readiness group, still unacked, escalates.
  ASSERT_EQ(h.sink.notes.size(), 3u);
  EXPECT_EQ(h.sink.notes[1], "630s ops first notification F[OpsreadyComponentNotOk] R[]");
  EXPECT_EQ(h.sink.notes[2], "630s pager escalation 1 F[OpsreadyReadinessNotOk] R[]");
  // The audit trail: the create, and the expiry while the muted alert still fired.
  int created = 0;
  int expired_while_firing = 0;
  for (const auto& row : h.sink.log) {
    if (row.kind != "silence_audit") continue;
    created += row.json.find("\"action\":\"create\"") != std::string::npos ? 1 : 0;
    expired_while_firing += row.json.find("expired_while_firing") != std::string::npos ? 1 : 0;
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(expired_while_firing, 1);
}

TEST(Engine, AnAckHoldsRepeatsAndStopsEscalationANewAlertReNotifies) {
  EngineOptions o = options();
  o.policy.route.group_by = std::vector<std::string>{"category"};
  Harness h(std::move(o));
  h.put("ingest", core::Status::kFail, seconds(0));
  h.run_to(kT0 + seconds(30));
  ASSERT_EQ(h.sink.notes.size(), 2u);
  const auto groups = h.engine->groups();
  std::string component_group;
  for (const auto& [key, g] : groups) {
    if (key.labels.at("category") == "operational.ingest") component_group = group_id(key);
  }
  ASSERT_FALSE(component_group.empty());
  ASSERT_TRUE(
      h.engine->ack(component_group, {.by = "alice", .comment = "on it"}, kT0 + minutes(1)));
  EXPECT_EQ(h.engine->ack("nope", {.by = "alice"}, kT0 + minutes(1)).error().code, "unknown_group");
  // 10 minutes after opening: the unacked group escalates to pager, the acked one does not.
  h.run_to(kT0 + minutes(10) + seconds(30));
  ASSERT_EQ(h.sink.notes.size(), 3u);
  EXPECT_EQ(h.sink.notes[2], "630s pager escalation 1 F[OpsreadyReadinessNotOk] R[]");
  // The repeat after 1h goes out for the unacked group only.
  // (Strictly more than repeat_interval after the first notification: the tick at 3630s is
  // exactly 1h later, so the repeat goes out at the next one.)
  h.run_to(kT0 + hours(1) + minutes(6));
  ASSERT_EQ(h.sink.notes.size(), 4u);
  EXPECT_EQ(h.sink.notes[3], "3930s ops repeat interval elapsed F[OpsreadyReadinessNotOk] R[]");
  EXPECT_GE(h.engine->counts(kT0 + hours(1) + minutes(6)).held, 1u);
  // A new alert in the acked group (an issue of the same component) re-notifies and ends the
  // ack.
  const auto at = kT0 + hours(1) + minutes(7);
  h.run_to(at);
  core::ComponentSnapshot with_issue = snap("ingest", core::Status::kFail, at);
  with_issue.issues.push_back(
      {.code = "lag_high", .severity = core::Severity::kCritical, .message = "lag 40s"});
  h.engine->put_component(with_issue, at);
  h.engine->evaluate(at);
  h.run_to(kT0 + hours(2));
  EXPECT_EQ(h.engine->acks().find(h.engine->groups().begin()->first.to_string()), nullptr);
  bool renotified = false;
  for (const auto& n : h.sink.notes) renotified |= n.find("new alerts added") != std::string::npos;
  EXPECT_TRUE(renotified);
}

TEST(Engine, ARestartRestoresStateAndTheFirstTickDoesNotNotifyAgain) {
  RecordingSink first_sink;
  std::vector<core::ComponentSnapshot> components;
  {
    Harness h;
    h.put("ingest", core::Status::kFail, seconds(0));
    ASSERT_TRUE(h.engine->put_silence(
        alerting::Silence{.matchers = alerting::parse_matchers("component=other").value(),
                          .starts_at = kT0,
                          .ends_at = kT0 + hours(2),
                          .created_by = "sre",
                          .comment = "elsewhere"},
        kT0));
    h.run_to(kT0 + seconds(30));
    ASSERT_EQ(h.sink.notes.size(), 2u);
    h.engine->checkpoint();
    first_sink.state = h.sink.state;
    components.push_back(snap("ingest", core::Status::kFail, kT0));
  }
  Harness again;
  const auto errors = again.engine->restore(
      RestoreState{.components = components, .state = first_sink.state}, kT0 + minutes(2));
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(again.engine->silences().size(), 1u);
  again.run_to(kT0 + minutes(20));
  // Already notified before the restart: the receiver hears nothing again (the repeat is 1h
  // away); the open, unacked groups escalate on the schedule they had before the restart.
  EXPECT_EQ(again.sink.notes,
            (std::vector<std::string>{"630s pager escalation 1 F[OpsreadyComponentNotOk] R[]",
                                      "630s pager escalation 1 F[OpsreadyReadinessNotOk] R[]"}));
  // The derived alerts kept their startsAt.
  for (const auto& v : again.engine->alerts(kT0 + minutes(20))) {
    EXPECT_EQ(v.alert->starts_at, kT0) << v.alert->labels.at("alertname");
  }
}

// The Acks state is one row per open group plus one with the sequence, so a checkpoint writes
// only the groups that changed; a store written with the whole state in one row still loads.
TEST(Engine, AcksArePersistedPerGroupAndAWholeStateRowStillLoads) {
  const auto rows_of = [](const std::vector<store::StateRow>& state, const std::string& kind) {
    std::vector<store::StateRow> out;
    for (const auto& r : state) {
      if (r.kind == kind) out.push_back(r);
    }
    return out;
  };
  std::vector<store::StateRow> state;
  {
    Harness h;
    h.put("ingest", core::Status::kFail, seconds(0));
    h.run_to(kT0 + seconds(30));
    ASSERT_EQ(h.sink.notes.size(), 2u);
    h.engine->checkpoint();
    const auto groups = rows_of(h.sink.state, "ack_group");
    ASSERT_EQ(groups.size(), 2u);
    const auto whole = rows_of(h.sink.state, "acks");
    ASSERT_EQ(whole.size(), 1u);
    const auto seq = alerting::acks_snapshot_from_json(nlohmann::json::parse(whole[0].json));
    ASSERT_TRUE(seq.has_value());
    EXPECT_TRUE(seq->groups.empty());
    EXPECT_EQ(seq->sequence, h.engine->acks().sequence());
    // Nothing changed: a checkpoint writes nothing.
    h.sink.state.clear();
    h.engine->checkpoint();
    EXPECT_TRUE(h.sink.state.empty());
    // The older layout: every group in the one "acks" row.
    const alerting::AcksSnapshot all = h.engine->acks().snapshot();
    ASSERT_EQ(all.groups.size(), 2u);
    state.push_back({.kind = "acks", .key = whole[0].key, .json = alerting::to_json(all).dump()});
  }
  Harness again;
  const auto errors = again.engine->restore(
      RestoreState{.components = {snap("ingest", core::Status::kFail, kT0)}, .state = state},
      kT0 + minutes(2));
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(again.engine->acks().open_count(), 2u);
  // The next checkpoint moves the groups into their own rows.
  again.engine->checkpoint();
  EXPECT_EQ(rows_of(again.sink.state, "ack_group").size(), 2u);
  const auto whole = rows_of(again.sink.state, "acks");
  ASSERT_EQ(whole.size(), 1u);
  EXPECT_TRUE(
      alerting::acks_snapshot_from_json(nlohmann::json::parse(whole[0].json))->groups.empty());
}

TEST(Engine, EvaluatingAfterEveryEventOrOncePerInstantDecidesTheSame) {
  std::vector<std::pair<core::Duration, core::ComponentSnapshot>> input;
  for (int i = 0; i < 40; ++i) {
    const auto at = seconds(10 * (i / 4));  // four snapshots per instant
    const auto status = (i % 7 == 0)   ? core::Status::kFail
                        : (i % 3 == 0) ? core::Status::kWarn
                                       : core::Status::kOk;
    input.emplace_back(at, snap("c" + std::to_string(i % 5), status, kT0 + at));
  }
  Harness each;
  Harness batch;
  for (std::size_t i = 0; i < input.size(); ++i) {
    const auto& [at, s] = input[i];
    each.run_to(kT0 + at);
    each.engine->put_component(s, kT0 + at);
    each.engine->evaluate(kT0 + at);

    batch.run_to(kT0 + at);
    batch.engine->put_component(s, kT0 + at);
    if (i + 1 == input.size() || input[i + 1].first != at) batch.engine->evaluate(kT0 + at);
  }
  each.run_to(kT0 + hours(1));
  batch.run_to(kT0 + hours(1));
  EXPECT_FALSE(each.sink.notes.empty());
  EXPECT_EQ(each.sink.notes, batch.sink.notes);
  EXPECT_EQ(*each.engine->readiness(), *batch.engine->readiness());
}

TEST(Engine, ExternalAlertsMeetTheSameRoutesInhibitionAndTimeout) {
  EngineOptions o = options();
  o.policy.inhibit_rules = {
      alerting::InhibitRule{.source = alerting::parse_matchers("severity=critical").value(),
                            .target = alerting::parse_matchers("severity=warning").value(),
                            .equal = {"component"}}};
  Harness h(std::move(o));
  auto alert = [](std::string name, std::string severity, core::Duration ends) {
    core::Alert a{.labels = {{"alertname", std::move(name)},
                             {"component", "ingest"},
                             {"severity", std::move(severity)}},
                  .starts_at = kT0,
                  .ends_at = kT0 + ends,
                  .received_at = kT0};
    core::assign_fingerprint(a);
    return a;
  };
  EXPECT_EQ(h.engine->put_alerts(
                {alert("Lag", "warning", minutes(5)), alert("Down", "critical", minutes(5))}, kT0),
            2u);
  h.run_to(kT0 + seconds(30));
  ASSERT_EQ(h.sink.notes.size(), 1u);
  EXPECT_EQ(h.sink.notes[0], "30s ops first notification F[Down] R[]");  // Lag is inhibited
  // Neither is re-posted: both time out, and the group says so.
  h.run_to(kT0 + minutes(6));
  ASSERT_EQ(h.sink.notes.size(), 2u);
  // Lag is no longer inhibited once Down has resolved, as in Alertmanager (a resolved source
  // inhibits nothing): the receiver hears of both resolving.
  EXPECT_EQ(h.sink.notes[1], "330s ops all alerts resolved F[] R[Down,Lag]");
  EXPECT_EQ(h.engine->take_external_changes().size(), 2u);
  EXPECT_TRUE(h.engine->take_external_changes().empty());
}

TEST(Engine, CreateRefusesAnInvalidPolicyNamingTheField) {
  EngineOptions o = options();
  o.policy.route.receiver = "nobody";
  RecordingSink sink;
  auto e = Engine::create(std::move(o), sink, kT0);
  ASSERT_FALSE(e.has_value());
  EXPECT_TRUE(e.error().field.starts_with("alerting.")) << e.error().field;
}

TEST(Engine, GroupIdsAreStableHex) {
  const alerting::GroupKey k{.route_id = "{}", .labels = {{"component", "x"}}};
  EXPECT_EQ(group_id(k), group_id(k));
  EXPECT_EQ(group_id(k).size(), 16u);
  EXPECT_NE(group_id(k), group_id(alerting::GroupKey{.route_id = "{}", .labels = {}}));
}

}  // namespace
}  // namespace opsready::engine

namespace opsready::engine {
namespace {

core::TelemetryEvent feed_event(const std::string& topic, nlohmann::json payload,
                                core::Duration at) {
  return {.topic = topic, .source = "test", .time = kT0 + at, .payload = std::move(payload)};
}

TEST(EngineFeeds, KeepsTheNewestPayloadsOfEachFeedTopicAndRefusesANonObject) {
  Harness h;
  const auto before = h.engine->feeds();
  EXPECT_TRUE(before->empty());
  EXPECT_EQ(h.engine
                ->apply(feed_event("telemetry.dashboard.roi", {{"status", "tracking"}}, seconds(1)),
                        kT0 + seconds(1))
                .consumers,
            1);
  for (int i = 0; i < 25; ++i) {
    (void)h.engine->apply(feed_event("telemetry.dashboard.loop", {{"i", i}}, seconds(2 + i)),
                          kT0 + seconds(2 + i));
  }
  const auto r =
      h.engine->apply(feed_event("telemetry.dashboard.risk", 42, seconds(30)), kT0 + seconds(30));
  EXPECT_EQ(r.refused, 1);
  EXPECT_EQ(r.error.field, "payload");

  const auto feeds = h.engine->feeds();
  EXPECT_TRUE(before->empty()) << "a published value never changes";
  ASSERT_EQ(feeds->size(), 2u);
  EXPECT_EQ(feeds->at("telemetry.dashboard.roi").payloads.front()["status"], "tracking");
  const Feed& loop = feeds->at("telemetry.dashboard.loop");
  ASSERT_EQ(loop.payloads.size(), 20u);  // the topic's keep
  EXPECT_EQ(loop.payloads.front()["i"], 5);
  EXPECT_EQ(loop.payloads.back()["i"], 24);
  EXPECT_EQ(loop.received, kT0 + seconds(26));
  EXPECT_EQ(h.engine->counts(kT0 + seconds(30)).events_unrouted, 0u);
}

TEST(EngineFeeds, ComeBackAfterARestartFromTheirStateRows) {
  Harness first;
  (void)first.engine->apply(
      feed_event("telemetry.dashboard.monitoring", {{"latency_ms", {{"p99_ms", 880}}}}, seconds(1)),
      kT0 + seconds(1));
  Harness second;
  RestoreState state;
  for (const auto& row : first.sink.state) {
    if (row.kind == "feed") state.state.push_back(row);
  }
  ASSERT_EQ(state.state.size(), 1u);
  EXPECT_TRUE(second.engine->restore(std::move(state), kT0 + seconds(2)).empty());
  const auto feeds = second.engine->feeds();
  ASSERT_EQ(feeds->size(), 1u);
  EXPECT_EQ(feeds->at("telemetry.dashboard.monitoring").payloads.front()["latency_ms"]["p99_ms"],
            880);
  EXPECT_EQ(feeds->at("telemetry.dashboard.monitoring").received, kT0 + seconds(1));
}

}  // namespace
}  // namespace opsready::engine
