#include "opsready/drills/run.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "opsready/alerting/test_support.h"
#include "opsready/core/time.h"

namespace opsready::drills {
namespace {

using namespace std::chrono_literals;
using alerting::test::kNow;
using alerting::test::M;
using Kind = drills::Run::Action::Kind;

Scenario webhook_outage() {
  Scenario s;
  s.name = "webhook-outage";
  s.hypothesis = "A desk webhook outage is noticed at the fallback receiver within 30s.";
  s.steady_state = {
      {.kind = Check::Kind::kReadiness, .status_at_most = core::Status::kWarn},
      {.kind = Check::Kind::kNoAlert, .matchers = M(R"(alertname="OpsreadyNotificationFailing")")}};
  s.fault = {.kind = FaultKind::kReceiverOutage, .receiver = "desk", .duration = 10s};
  s.expect = {.alert = M(R"(alertname="OpsreadyNotificationFailing")"),
              .receiver = "fallback",
              .within = 30s,
              .acked = true};
  s.responder = Responder{.ack_after = 2s, .by = "drill-bot"};
  s.abort_if = {{.kind = Check::Kind::kComponent,
                 .component = "fix_gateway",
                 .status_at_least = core::Status::kFail}};
  s.recovery = {.within = 30s};
  return s;
}

Observation calm(core::TimePoint now) {
  Observation o{.now = now, .evaluated_at = now - 100ms};
  o.components = {{"fix_gateway", core::Status::kOk}, {"ingest_slos", core::Status::kOk}};
  return o;
}

ObservedAlert failing_alert(core::TimePoint starts) {
  return {.labels = {{"alertname", "OpsreadyNotificationFailing"}, {"receiver", "desk"}},
          .fingerprint = "f00d",
          .starts_at = starts,
          .groups = {"g1"}};
}

TEST(DrillRun, PassMeasuresFromTheRecords) {
  drills::Run run(webhook_outage(), {.id = "d-1", .started_at = kNow, .started_by = "test"});
  auto a = run.step(calm(kNow));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].kind, Kind::kInject);
  run.injected(kNow + 50ms, kNow + 50ms, {});
  EXPECT_TRUE(run.fault_in_place());

  // The alert starts 3 s in; the fallback accepts the notification at 3.5 s. The group's
  // notification and ack of an earlier incident (before the injection) do not count.
  auto o = calm(kNow + 4s);
  o.alerts.push_back(failing_alert(kNow + 3s));
  o.notifications.push_back({.group = "g1", .receiver = "fallback", .at = kNow - 1h});
  o.acks.push_back({.group = "g1", .by = "someone", .at = kNow - 59min});
  o.notifications.push_back({.group = "g1", .receiver = "fallback", .at = kNow + 3500ms});
  EXPECT_TRUE(run.step(o).empty());  // the responder waits ack_after

  o.now = kNow + 5600ms;
  a = run.step(o);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].kind, Kind::kAck);
  EXPECT_EQ(a[0].group, "g1");
  EXPECT_EQ(a[0].by, "drill-bot");

  o.now = kNow + 10100ms;
  o.acks.push_back({.group = "g1", .by = "drill-bot", .channel = "drill", .at = kNow + 5700ms});
  a = run.step(o);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].kind, Kind::kRestore);
  run.restored(kNow + 10200ms, {});
  EXPECT_FALSE(run.fault_in_place());

  o.now = kNow + 11s;  // still firing: not recovered
  EXPECT_TRUE(run.step(o).empty());
  EXPECT_FALSE(run.finished());
  auto back = calm(kNow + 13s);
  back.evaluated_at = kNow + 12500ms;
  EXPECT_TRUE(run.step(back).empty());
  ASSERT_TRUE(run.finished());

  const auto& e = run.evidence();
  ASSERT_TRUE(e.verdict);
  EXPECT_EQ(*e.verdict, Verdict::kPass) << e.reason;
  EXPECT_EQ(*e.mttd(), 2950ms);                 // 3 s − 50 ms
  EXPECT_EQ(*e.mtta(), 2200ms);                 // 5.7 s − 3.5 s
  EXPECT_EQ(*e.mttr(), 12450ms);                // 12.5 s − 50 ms
  EXPECT_EQ(*e.mttr_from_detection(), 9500ms);  // 12.5 s − 3 s
  EXPECT_EQ(e.probes, 3u);
  EXPECT_EQ(e.probes_passed, 3u);

  const auto j = to_json(e);
  EXPECT_EQ(j["verdict"], "Pass");
  EXPECT_EQ(j["mttd_seconds"], 2.95);
  EXPECT_EQ(j["notified_at"]["fallback"], core::format_rfc3339(kNow + 3500ms));
  EXPECT_EQ(j["acked_by"], "drill-bot");
  EXPECT_EQ(j["probes"]["success_pct"], 100.0);

  // The Markdown evidence is a golden file (OPSREADY_UPDATE_GOLDEN=1 rewrites it).
  const auto golden =
      std::filesystem::path(__FILE__).parent_path() / "testdata" / "webhook_outage_pass.md";
  const std::string md = to_markdown(e);
  if (std::getenv("OPSREADY_UPDATE_GOLDEN") != nullptr) {
    std::filesystem::create_directories(golden.parent_path());
    std::ofstream(golden) << md;
  }
  std::ifstream in(golden);
  ASSERT_TRUE(in) << golden;
  std::stringstream want;
  want << in.rdbuf();
  EXPECT_EQ(md, want.str());
}

TEST(DrillRun, AnAlertRoutedNowhereFailsAtNotify) {
  auto s = webhook_outage();
  s.responder.reset();
  s.expect.acked = false;
  drills::Run run(s, {.id = "d-2", .started_at = kNow});
  ASSERT_EQ(run.step(calm(kNow)).size(), 1u);
  run.injected(kNow, kNow, {});
  auto o = calm(kNow + 11s);
  o.alerts.push_back(failing_alert(kNow + 1s));
  ASSERT_EQ(run.step(o).size(), 1u);  // restore
  run.restored(kNow + 11s, {});
  (void)run.step(calm(kNow + 12s));
  ASSERT_TRUE(run.finished());
  EXPECT_EQ(run.evidence().verdict, Verdict::kFail);
  EXPECT_EQ(run.evidence().failed_step, "notify");
  EXPECT_EQ(run.evidence().reason,
            "receiver fallback was never notified of the alert (no receiver was)");
}

TEST(DrillRun, AnAbortConditionStopsAndRestores) {
  drills::Run run(webhook_outage(), {.id = "d-3", .started_at = kNow});
  ASSERT_EQ(run.step(calm(kNow)).size(), 1u);
  run.injected(kNow, kNow, {});
  auto o = calm(kNow + 1s);
  o.components[0].second = core::Status::kFail;  // fix_gateway
  auto a = run.step(o);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].kind, Kind::kRestore);
  run.restored(kNow + 1100ms, {});
  (void)run.step(calm(kNow + 2s));
  ASSERT_TRUE(run.finished());
  const auto& e = run.evidence();
  EXPECT_EQ(e.verdict, Verdict::kAborted);
  EXPECT_EQ(e.abort_reason,
            "abort condition held: component fix_gateway at least fail (component fix_gateway "
            "fail)");
  EXPECT_EQ(e.probes, 1u);
  EXPECT_EQ(e.probes_passed, 0u);
  ASSERT_TRUE(e.recovered_at);  // recovery is still checked after an abort
}

TEST(DrillRun, NoSteadyStateIsInconclusiveAndInjectsNothing) {
  drills::Run run(webhook_outage(), {.id = "d-4", .started_at = kNow});
  auto o = calm(kNow);
  o.readiness = core::Status::kFail;
  EXPECT_TRUE(run.step(o).empty());
  ASSERT_TRUE(run.finished());
  EXPECT_EQ(run.evidence().verdict, Verdict::kInconclusive);
  EXPECT_EQ(run.evidence().failed_step, "steady_state_before");
  EXPECT_FALSE(run.evidence().injected_at);
}

TEST(DrillRun, DryRunChecksOnly) {
  drills::Run run(webhook_outage(), {.id = "d-5", .started_at = kNow, .dry_run = true});
  EXPECT_TRUE(run.step(calm(kNow)).empty());
  ASSERT_TRUE(run.finished());
  EXPECT_FALSE(run.evidence().verdict);
  ASSERT_EQ(run.evidence().steady_state_before.size(), 2u);
  EXPECT_TRUE(run.evidence().steady_state_before[0].held);
}

TEST(DrillRun, AFailedInjectionIsInconclusiveAndStillRestored) {
  drills::Run run(webhook_outage(), {.id = "d-6", .started_at = kNow});
  ASSERT_EQ(run.step(calm(kNow)).size(), 1u);
  run.injected(kNow, kNow,
               std::unexpected(core::Error{.code = "x", .message = "no such receiver"}));
  auto a = run.step(calm(kNow + 10ms));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].kind, Kind::kRestore);
  run.restored(kNow + 20ms, {});
  ASSERT_TRUE(run.finished());
  EXPECT_EQ(run.evidence().verdict, Verdict::kInconclusive);
  EXPECT_EQ(run.evidence().failed_step, "inject");
}

TEST(DrillRun, TheFaultsReportIsInTheEvidence) {
  drills::Run run(webhook_outage(), {.id = "d-9", .started_at = kNow});
  EXPECT_FALSE(drills::to_json(run.evidence()).contains("fault_report"));
  EXPECT_EQ(drills::to_markdown(run.evidence()).find("## Fault report"), std::string::npos);
  run.set_fault_report({{"chaos_events", {{{"event_type", "chatops_failure"}}}}});
  EXPECT_EQ(drills::to_json(run.evidence())["fault_report"]["chaos_events"][0]["event_type"],
            "chatops_failure");
  const std::string md = drills::to_markdown(run.evidence());
  EXPECT_NE(md.find("## Fault report\n\n```json\n"), std::string::npos) << md;
  EXPECT_NE(md.find("\"event_type\": \"chatops_failure\""), std::string::npos) << md;
}

TEST(DrillRun, StopDuringTheFaultIsAborted) {
  drills::Run run(webhook_outage(), {.id = "d-7", .started_at = kNow});
  ASSERT_EQ(run.step(calm(kNow)).size(), 1u);
  run.injected(kNow, kNow, {});
  EXPECT_TRUE(run.stop("opsready is shutting down", kNow + 1s));
  auto a = run.step(calm(kNow + 1s));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].kind, Kind::kRestore);
  run.restored(kNow + 1s, {});
  ASSERT_TRUE(run.finished());
  EXPECT_EQ(run.evidence().verdict, Verdict::kAborted);
}

TEST(DrillRun, AnAlertFiringBeforeTheDrillIsNotItsDetection) {
  auto s = webhook_outage();
  s.steady_state.clear();
  s.responder.reset();
  s.expect.acked = false;
  s.expect.receiver.clear();
  drills::Run run(s, {.id = "d-8", .started_at = kNow});
  auto o = calm(kNow);
  o.alerts.push_back(failing_alert(kNow - 1h));
  ASSERT_EQ(run.step(o).size(), 1u);
  run.injected(kNow, kNow, {});
  o.now = kNow + 11s;
  ASSERT_EQ(run.step(o).size(), 1u);
  run.restored(kNow + 11s, {});
  (void)run.step(calm(kNow + 12s));
  EXPECT_EQ(run.evidence().verdict, Verdict::kFail);
  EXPECT_EQ(run.evidence().failed_step, "detect");
}

TEST(Scenario, ChecksDescribeAndEvaluate) {
  const Check c{.kind = Check::Kind::kGate, .gate_at_most = GateOutcome::kWarn};
  EXPECT_EQ(c.describe(), "gate at most warn");
  auto o = calm(kNow);
  o.gate = GateOutcome::kBlock;
  const auto r = evaluate(c, o);
  EXPECT_FALSE(r.held);
  EXPECT_EQ(r.observed, "gate block");
  const Check missing{
      .kind = Check::Kind::kComponent, .component = "risk", .status_at_most = core::Status::kOk};
  EXPECT_FALSE(evaluate(missing, o).held);
  EXPECT_EQ(evaluate(missing, o).observed, "component risk not reported");
  EXPECT_TRUE(is_valid_scenario_name("feed-stall.ingest_1"));
  EXPECT_FALSE(is_valid_scenario_name("-x"));
  EXPECT_FALSE(is_valid_scenario_name("Feed"));
}

}  // namespace
}  // namespace opsready::drills

namespace opsready::drills {
namespace {

Check spooled(double at_least) {
  return {.kind = Check::Kind::kMetric,
          .matchers = M(R"(queue="bus")"),
          .metric = "opsready_spool_pending_events",
          .value_at_least = at_least};
}

TEST(DrillCheck, AMetricCheckSumsTheMatchingSeriesAndNeedsOne) {
  Observation o = calm(kNow);
  const Check c = spooled(3);
  EXPECT_EQ(c.describe(), "metric opsready_spool_pending_events{queue=\"bus\"} at least 3");
  auto r = evaluate(c, o);
  EXPECT_FALSE(r.held);
  EXPECT_EQ(r.observed, "no series of opsready_spool_pending_events matches");
  o.metrics["opsready_spool_pending_events"] = {{.labels = {{"queue", "bus"}}, .value = 2},
                                                {.labels = {{"queue", "bus"}}, .value = 1.5},
                                                {.labels = {{"queue", "other"}}, .value = 100}};
  r = evaluate(c, o);
  EXPECT_TRUE(r.held);
  EXPECT_EQ(r.observed, "opsready_spool_pending_events 3.5 (2 series)");
  Check most = c;
  most.value_at_least.reset();
  most.value_at_most = 0;
  EXPECT_FALSE(evaluate(most, o).held);
  EXPECT_EQ(most.describe(), "metric opsready_spool_pending_events{queue=\"bus\"} at most 0");
  Scenario s = webhook_outage();
  s.during = {c};
  s.abort_if.push_back(most);
  EXPECT_EQ(metric_names(s), std::vector<std::string>{"opsready_spool_pending_events"});
}

TEST(DrillRun, ADuringCheckMustHoldOnceWhileTheFaultIsInPlace) {
  for (const bool spool_seen : {true, false}) {
    Scenario s = webhook_outage();
    s.expect = {};
    s.responder.reset();
    s.during = {spooled(1)};
    drills::Run run(s, {.id = "d-2", .started_at = kNow});
    auto o = calm(kNow);
    o.metrics["opsready_spool_pending_events"] = {{.labels = {{"queue", "bus"}}, .value = 0}};
    ASSERT_EQ(run.step(o).size(), 1u);
    run.injected(kNow, kNow, {});
    o.now = kNow + 2s;
    if (spool_seen) o.metrics["opsready_spool_pending_events"][0].value = 7;
    EXPECT_TRUE(run.step(o).empty());
    o.now = kNow + 4s;
    o.metrics["opsready_spool_pending_events"][0].value = 0;  // drained again: once is enough
    EXPECT_TRUE(run.step(o).empty());
    o.now = kNow + 11s;
    ASSERT_EQ(run.step(o).size(), 1u);  // restore
    run.restored(kNow + 11s, {});
    o.now = kNow + 12s;
    (void)run.step(o);
    ASSERT_TRUE(run.finished());
    const auto& e = run.evidence();
    ASSERT_TRUE(e.verdict);
    ASSERT_EQ(e.during.size(), 1u);
    if (spool_seen) {
      EXPECT_EQ(*e.verdict, Verdict::kPass) << e.reason;
      EXPECT_EQ(e.during[0].held_at, kNow + 2s);
      EXPECT_EQ(to_json(e)["during"][0]["held_at"], core::format_rfc3339(kNow + 2s));
      EXPECT_NE(to_markdown(e).find("## During the fault"), std::string::npos);
    } else {
      EXPECT_EQ(*e.verdict, Verdict::kFail);
      EXPECT_EQ(e.failed_step, "during");
      EXPECT_EQ(e.reason,
                "metric opsready_spool_pending_events{queue=\"bus\"} at least 1 never held while "
                "the fault was in place (last observed: opsready_spool_pending_events 0)");
      EXPECT_FALSE(to_json(e)["during"][0]["held"].get<bool>());
    }
  }
}

}  // namespace
}  // namespace opsready::drills
