#include "opsready/components/incident_response.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "opsready/core/time.h"

namespace opsready::components {
namespace {

using nlohmann::json;

const core::TimePoint kT0 = core::parse_rfc3339("2025-02-01T00:00:00Z").value();
const std::filesystem::path kTestdata =
    std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "examples" /
    "documents" / "incident_response";

std::unique_ptr<IncidentResponse> make(IncidentResponseConfig c = {}) {
  return IncidentResponse::create(c).value();
}

Evaluated eval(const json& doc, IncidentResponseConfig c = {}) {
  auto e = make(std::move(c))->evaluate(doc, kT0);
  EXPECT_TRUE(e.has_value()) << (e ? "" : e.error().describe());
  return e ? *e : Evaluated{};
}

core::Error refusal(const json& doc, IncidentResponseConfig c = {}) {
  auto e = make(std::move(c))->evaluate(doc, kT0);
  EXPECT_FALSE(e.has_value());
  return e ? core::Error{} : e.error();
}

std::string codes(const core::ComponentSnapshot& s) {
  std::string out;
  for (const auto& i : s.issues) {
    out += (out.empty() ? "" : ",") + i.code + "=" + std::string(core::to_string(i.severity));
  }
  return out;
}

json read_json(const std::filesystem::path& p) {
  std::ifstream in(p);
  return json::parse(in);
}

// The spec's "OK" case (§10): every requirement met, major review at 45 d against 180.
json ok_case() {
  return {{"service", "emp"},
          {"policy",
           {{"required_runbooks", {"redis_outage", "kafka_lag"}},
            {"training_interval_days", 30},
            {"drill_interval_days", 45},
            {"minimum_primary_responders", 2},
            {"minimum_secondary_responders", 1},
            {"postmortem_sla_hours", 24.0},
            {"maximum_open_incidents", 2},
            {"require_chatops", true},
            {"require_major_incident_history", true},
            {"major_incident_review_interval_days", 180}}},
          {"state",
           {{"available_runbooks", {"redis_outage", "kafka_lag", "fix_restart"}},
            {"training_age_days", 12.0},
            {"drill_age_days", 20.0},
            {"primary_oncall", {"alice", "bob"}},
            {"secondary_oncall", {"carol"}},
            {"open_incidents", json::array()},
            {"postmortem_backlog_hours", 8.0},
            {"chatops_ready", true},
            {"last_major_incident_age_days", 45.0}}}};
}

// The spec's escalation case (§10).
json escalation_case() {
  return {{"service", "emp"},
          {"policy",
           {{"required_runbooks", {"redis_outage"}},
            {"training_interval_days", 14},
            {"drill_interval_days", 14},
            {"minimum_primary_responders", 1},
            {"minimum_secondary_responders", 1},
            {"postmortem_sla_hours", 12.0},
            {"maximum_open_incidents", 0},
            {"require_chatops", true}}},
          {"state",
           {{"available_runbooks", json::array()},
            {"training_age_days", 40.0},
            {"drill_age_days", 50.0},
            {"primary_oncall", {"alice"}},
            {"secondary_oncall", json::array()},
            {"open_incidents", {"ingest-lag"}},
            {"postmortem_backlog_hours", 30.0},
            {"chatops_ready", false}}}};
}

// A state that meets the default policy, to vary one field at a time.
json healthy_state() {
  return {{"training_age_days", 10.0},
          {"drill_age_days", 10.0},
          {"primary_oncall", {"alice"}},
          {"secondary_oncall", {"bob"}},
          {"open_incidents", json::array()},
          {"postmortem_backlog_hours", 0.0},
          {"chatops_ready", true}};
}

TEST(IncidentResponse, Identity) {
  auto ir = make();
  EXPECT_EQ(ir->name(), "incident_response");
  EXPECT_EQ(ir->alert_category(), "operational.incident_response");
  EXPECT_TRUE(ir->consumes("telemetry.operational.incident_response"));
  EXPECT_FALSE(ir->consumes("telemetry.operational.security"));
  EXPECT_FALSE(ir->active());
}

TEST(IncidentResponse, OkCase) {
  const Evaluated e = eval(ok_case());
  EXPECT_EQ(e.snapshot.status, core::Status::kOk);
  EXPECT_TRUE(e.snapshot.issues.empty());
  EXPECT_EQ(e.report["status"], "ok");
  EXPECT_EQ(e.report["issues"], json::array());
  EXPECT_EQ(e.report["metadata"]["policy"]["required_runbooks"],
            json({"redis_outage", "kafka_lag"}));
  EXPECT_FALSE(e.report["metadata"].contains("issue_details"));
  EXPECT_FALSE(e.report.contains("metrics"));
  EXPECT_NE(e.markdown.find("- Primary responders: 2"), std::string::npos);
  EXPECT_EQ(e.snapshot.summary, "open incidents=0, missing runbooks=0");
  EXPECT_EQ(e.snapshot.observed_at, kT0);
  EXPECT_EQ(e.report["generated_at"], "2025-02-01T00:00:00Z");
  EXPECT_EQ(e.report["service"], "emp");
  EXPECT_EQ(e.report["metadata"]["last_major_incident_age_days"], 45.0);
  EXPECT_EQ(e.snapshot.metadata["gate"]["status"], "ok");
}

TEST(IncidentResponse, EscalationCase) {
  const Evaluated e = eval(escalation_case());
  EXPECT_EQ(e.snapshot.status, core::Status::kFail);
  EXPECT_EQ(e.report["issues"],
            json({"Missing required runbooks: redis_outage",
                  "Incident response training overdue by more than 2x the interval",
                  "Incident drill cadence has lapsed significantly",
                  "Secondary on-call roster below recommended responders",
                  "1 open incidents exceeds threshold of 0",
                  "Postmortem backlog exceeds the configured SLA",
                  "ChatOps automations disabled or unavailable"}));
  EXPECT_EQ(codes(e.snapshot),
            "incident_response.missing_runbooks=critical,incident_response.training=critical,"
            "incident_response.drill=critical,incident_response.roster.secondary=warning,"
            "incident_response.open_incidents=critical,"
            "incident_response.postmortem_backlog=critical,incident_response.chatops=warning");
  const json& meta = e.report["metadata"];
  EXPECT_EQ(meta["postmortem_backlog_hours"], 30.0);
  EXPECT_EQ(meta["issue_counts"], json({{"fail", 5}, {"warn", 2}}));
  EXPECT_EQ(meta["highest_issue_severity"], "fail");
  EXPECT_EQ(meta["issue_details"][0],
            json({{"category", "missing_runbooks"},
                  {"severity", "fail"},
                  {"message", "Missing required runbooks: redis_outage"}}));
  EXPECT_EQ(e.report["missing_runbooks"], json({"redis_outage"}));
  EXPECT_EQ(meta["chatops_ready"], false);
  EXPECT_EQ(meta["open_incident_ids"], json({"ingest-lag"}));
  EXPECT_EQ(e.snapshot.issues[0].runbook, "docs/runbooks/incident_response.md#missing_runbooks");
  EXPECT_EQ(e.snapshot.issues[3].runbook, "docs/runbooks/incident_response.md#secondary_roster");
  // The gate: fail issues block; the secondary-roster and chatops warnings do not.
  EXPECT_EQ(e.snapshot.metadata["gate"]["warning_reason_codes"],
            json({"issue_secondary_roster_warn", "issue_chatops_warn"}));
  EXPECT_EQ(e.snapshot.metadata["gate"]["blocking_reason_codes"][0], "issue_missing_runbooks_fail");
}

TEST(IncidentResponse, EnvMappingParsing) {
  const json mapping = {{"INCIDENT_REQUIRED_RUNBOOKS", "redis_outage,kafka_lag"},
                        {"INCIDENT_AVAILABLE_RUNBOOKS", {"redis_outage"}},
                        {"INCIDENT_MIN_PRIMARY_RESPONDERS", "2"},
                        {"INCIDENT_PRIMARY_RESPONDERS", "alice,bob"},
                        {"INCIDENT_TRAINING_INTERVAL_DAYS", "20"},
                        {"INCIDENT_TRAINING_AGE_DAYS", "25"},
                        {"INCIDENT_DRILL_INTERVAL_DAYS", "30"},
                        {"INCIDENT_DRILL_AGE_DAYS", "35"},
                        {"INCIDENT_POSTMORTEM_SLA_HOURS", "18"},
                        {"INCIDENT_POSTMORTEM_BACKLOG_HOURS", "8"},
                        {"INCIDENT_REQUIRE_CHATOPS", "false"},
                        {"INCIDENT_REQUIRE_MAJOR_HISTORY", "true"},
                        {"INCIDENT_MAJOR_REVIEW_INTERVAL_DAYS", "200"},
                        {"INCIDENT_MAJOR_REVIEW_FAIL_MULTIPLIER", "1.5"},
                        {"INCIDENT_SERVICE_NAME", "ops"}};
  const Evaluated e = eval(mapping);
  const json& policy = e.report["metadata"]["policy"];
  EXPECT_EQ(policy["minimum_primary_responders"], 2);
  EXPECT_EQ(policy["training_interval_days"], 20);
  EXPECT_EQ(policy["require_chatops"], false);
  EXPECT_EQ(policy["require_major_incident_history"], true);
  EXPECT_EQ(policy["major_incident_review_interval_days"], 200);
  EXPECT_EQ(policy["major_incident_fail_multiplier"], 1.5);
  EXPECT_EQ(policy["required_runbooks"], json({"redis_outage", "kafka_lag"}));
  EXPECT_EQ(e.report["training_age_days"], 25.0);
  EXPECT_EQ(e.report["primary_oncall"], json({"alice", "bob"}));
  EXPECT_EQ(e.report["missing_runbooks"], json({"kafka_lag"}));
  EXPECT_EQ(e.report["metadata"]["chatops_ready"], false);
  EXPECT_EQ(e.report["service"], "ops");
  EXPECT_EQ(e.snapshot.metadata["source"], "env_mapping");
  // No secondary responders; the training (25 > 20) and drill (35 > 30) overdue; no major
  // review recorded; chatops not required.
  EXPECT_EQ(e.report["issues"],
            json({"Missing required runbooks: kafka_lag", "Incident response training overdue",
                  "Incident drill overdue", "Secondary on-call roster below recommended responders",
                  "No major incident review recorded"}));
  // Integers are truncated (§0.3); ack/resolved 0 count as unknown.
  const Evaluated t = eval({{"INCIDENT_MIN_PRIMARY_RESPONDERS", 2.9},
                            {"INCIDENT_METRICS_MTTA_MINUTES", "10"},
                            {"INCIDENT_METRICS_ACKNOWLEDGED", "0"},
                            {"INCIDENT_METRICS_RESOLVED", 3.7}});
  EXPECT_EQ(t.report["metadata"]["policy"]["minimum_primary_responders"], 2);
  EXPECT_EQ(t.report["metrics"]["acknowledged_incidents"], nullptr);
  EXPECT_EQ(t.report["metrics"]["resolved_incidents"], 3);
  EXPECT_EQ(t.report["service"], "emp_incidents");
}

TEST(IncidentResponse, MajorReviewOverdue) {
  json doc = {{"policy",
               {{"required_runbooks", {"redis_outage"}},
                {"training_interval_days", 30},
                {"drill_interval_days", 30},
                {"minimum_secondary_responders", 0},
                {"postmortem_sla_hours", 48.0},
                {"maximum_open_incidents", 2},
                {"require_chatops", false},
                {"require_major_incident_history", true},
                {"major_incident_review_interval_days", 120},
                {"major_incident_fail_multiplier", 1.5}}},
              {"state",
               {{"available_runbooks", {"redis_outage"}},
                {"training_age_days", 10.0},
                {"drill_age_days", 12.0},
                {"primary_oncall", {"alice"}},
                {"postmortem_backlog_hours", 2.0},
                {"last_major_incident_age_days", 500.0}}}};
  const Evaluated e = eval(doc);
  EXPECT_EQ(e.snapshot.status, core::Status::kFail);
  EXPECT_EQ(e.report["issues"],
            json({"Major incident review overdue – 500.0 days exceeds fail threshold 180.0"}));
  EXPECT_EQ(e.report["metadata"]["issue_details"][0]["detail"],
            json({{"age_days", 500.0},
                  {"interval_days", 120},
                  {"fail_multiplier", 1.5},
                  {"fail_threshold_days", 180.0}}));
  EXPECT_EQ(codes(e.snapshot), "incident_response.issue:major_incident_review=critical");
  EXPECT_EQ(e.snapshot.issues[0].runbook,
            "docs/runbooks/incident_response.md#major_incident_review");

  doc["state"]["last_major_incident_age_days"] = 150.0;  // > 120, < 180
  EXPECT_EQ(eval(doc).report["issues"],
            json({"Major incident review aging – 150.0 days exceeds interval 120.0"}));
}

TEST(IncidentResponse, MajorReviewMissingWarns) {
  const json doc = {{"policy",
                     {{"training_interval_days", 10},
                      {"drill_interval_days", 10},
                      {"minimum_primary_responders", 0},
                      {"minimum_secondary_responders", 0},
                      {"postmortem_sla_hours", 12.0},
                      {"maximum_open_incidents", 0},
                      {"require_chatops", false},
                      {"require_major_incident_history", true},
                      {"major_incident_review_interval_days", 90}}},
                    {"state", {{"training_age_days", 5.0}, {"drill_age_days", 6.0}}}};
  const Evaluated e = eval(doc);
  EXPECT_EQ(e.snapshot.status, core::Status::kWarn);
  EXPECT_EQ(e.report["issues"], json({"No major incident review recorded"}));
  EXPECT_EQ(e.report["metadata"]["issue_category_severity"]["major_incident_review"], "warn");
  EXPECT_EQ(e.report["metadata"]["issue_details"][0]["detail"]["age_days"], nullptr);
  EXPECT_EQ(e.report["metadata"]["postmortem_backlog_hours"], 0.0);
}

json metrics_case() {
  return {{"policy",
           {{"training_interval_days", 30},
            {"drill_interval_days", 30},
            {"maximum_open_incidents", 1},
            {"mtta_warn_minutes", 20.0},
            {"mtta_fail_minutes", 40.0},
            {"mttr_warn_minutes", 120.0},
            {"mttr_fail_minutes", 240.0},
            {"metrics_stale_warn_hours", 12.0},
            {"metrics_stale_fail_hours", 24.0}}},
          {"state",
           {{"available_runbooks", {"redis_outage"}},
            {"training_age_days", 10.0},
            {"drill_age_days", 15.0},
            {"primary_oncall", {"alice"}},
            {"secondary_oncall", {"bob"}},
            {"open_incidents", {"INC-1"}},
            {"postmortem_backlog_hours", 8.0},
            {"chatops_ready", true},
            {"metrics",
             {{"mtta_minutes", 55.0},
              {"mttr_minutes", 250.0},
              {"acknowledged_incidents", 5},
              {"resolved_incidents", 4},
              {"sample_window_days", 7.0},
              {"data_age_hours", 30.0}}}}}};
}

TEST(IncidentResponse, MetricsEscalation) {
  const Evaluated e = eval(metrics_case(), {.metrics_source = "document"});
  EXPECT_EQ(e.snapshot.status, core::Status::kFail);
  EXPECT_EQ(e.report["metrics"]["mtta_minutes"], 55.0);
  EXPECT_EQ(e.report["metadata"]["reliability_metrics"]["mttr_minutes"], 250.0);
  EXPECT_EQ(e.report["issues"],
            json({"Incident volume approaching the configured threshold",
                  "MTTA 55.0 minutes exceeds threshold 40.0 minutes",
                  "MTTR 250.0 minutes exceeds threshold 240.0 minutes",
                  "Incident metrics age 30.0 hours exceeds threshold 24.0 hours"}));
  EXPECT_EQ(e.report["metadata"]["issue_details"][1]["detail"],
            json({{"value_minutes", 55.0}, {"warn_minutes", 20.0}, {"fail_minutes", 40.0}}));
  EXPECT_EQ(e.report["metadata"]["issue_details"][3]["detail"],
            json({{"age_hours", 30.0}, {"warn_hours", 12.0}, {"fail_hours", 24.0}}));
  // open_incidents is a warn_block category: its warning also blocks the gate.
  EXPECT_EQ(codes(e.snapshot),
            "incident_response.open_incidents=warning,incident_response.mtta=critical,"
            "incident_response.mttr=critical,incident_response.metrics_staleness=critical,"
            "incident_response.gate:issue_open_incidents_warn_blocked=critical");
  EXPECT_EQ(e.snapshot.summary,
            "open incidents=1, missing runbooks=0, MTTA=55.0m, MTTR=250.0m, issues: Incident "
            "volume approaching the configured threshold; MTTA 55.0 minutes exceeds threshold "
            "40.0 minutes; MTTR 250.0 minutes exceeds threshold 240.0 minutes; Incident metrics "
            "age 30.0 hours exceeds threshold 24.0 hours; the gate blocks on warn: open_incidents");
  EXPECT_EQ(e.report["metadata"]["metrics_source"], "document");
}

// Each rule at its exact boundary: cadence, backlog and open incidents use '>', metrics,
// staleness and the major-review fail threshold use '≥'.
TEST(IncidentResponse, BoundaryOperators) {
  struct Case {
    const char* name;
    json policy;
    json state;
    json issues;
  };
  const std::vector<Case> cases = {
      {"training == interval",
       {{"training_interval_days", 30}},
       {{"training_age_days", 30}},
       json::array()},
      {"training just over",
       {{"training_interval_days", 30}},
       {{"training_age_days", 30.01}},
       {"Incident response training overdue"}},
      {"training == 2x",
       {{"training_interval_days", 30}},
       {{"training_age_days", 60}},
       {"Incident response training overdue"}},
      {"training over 2x",
       {{"training_interval_days", 30}},
       {{"training_age_days", 60.5}},
       {"Incident response training overdue by more than 2x the interval"}},
      {"drill == 2x",
       {{"drill_interval_days", 10}},
       {{"drill_age_days", 20}},
       {"Incident drill overdue"}},
      {"backlog == SLA",
       {{"postmortem_sla_hours", 24}},
       {{"postmortem_backlog_hours", 24}},
       json::array()},
      {"backlog == 2x SLA",
       {{"postmortem_sla_hours", 24}},
       {{"postmortem_backlog_hours", 48}},
       {"Postmortem backlog exceeds the configured SLA"}},
      {"backlog with SLA 0",
       {{"postmortem_sla_hours", 0}},
       {{"postmortem_backlog_hours", 0.5}},
       {"Postmortem backlog exceeds the configured SLA"}},
      {"open == max",
       {{"maximum_open_incidents", 2}},
       {{"open_incidents", {"a", "b"}}},
       {"Incident volume approaching the configured threshold"}},
      {"open below max",
       {{"maximum_open_incidents", 2}},
       {{"open_incidents", {"a"}}},
       json::array()},
      {"open == max == 0",
       {{"maximum_open_incidents", 0}},
       {{"open_incidents", json::array()}},
       json::array()},
      {"mtta == warn",
       {},
       {{"metrics", {{"mtta_minutes", 30}}}},
       {"MTTA 30.0 minutes approaches threshold 30.0 minutes"}},
      {"mtta below warn", {}, {{"metrics", {{"mtta_minutes", 29.99}}}}, json::array()},
      {"mtta == fail",
       {},
       {{"metrics", {{"mtta_minutes", 60}}}},
       {"MTTA 60.0 minutes exceeds threshold 60.0 minutes"}},
      {"mttr == warn",
       {},
       {{"metrics", {{"mttr_minutes", 180}}}},
       {"MTTR 180.0 minutes approaches threshold 180.0 minutes"}},
      {"staleness == warn",
       {},
       {{"metrics", {{"mtta_minutes", 1}, {"data_age_hours", 24}}}},
       {"Incident metrics age 24.0 hours approaches threshold 24.0 hours"}},
      {"staleness == fail",
       {},
       {{"metrics", {{"mtta_minutes", 1}, {"data_age_hours", 48}}}},
       {"Incident metrics age 48.0 hours exceeds threshold 48.0 hours"}},
      {"major == interval",
       {{"require_major_incident_history", true}, {"major_incident_review_interval_days", 100}},
       {{"last_major_incident_age_days", 100}},
       json::array()},
      {"major == fail threshold",
       {{"require_major_incident_history", true}, {"major_incident_review_interval_days", 100}},
       {{"last_major_incident_age_days", 200}},
       {"Major incident review overdue – 200.0 days exceeds fail threshold 200.0"}},
      {"major interval 0",
       {{"require_major_incident_history", true}, {"major_incident_review_interval_days", 0}},
       {{"last_major_incident_age_days", 1000}},
       json::array()},
  };
  for (const Case& c : cases) {
    json state = healthy_state();
    state.update(c.state);
    const Evaluated e =
        eval({{"policy", c.policy}, {"state", state}}, {.metrics_source = "document"});
    EXPECT_EQ(e.report["issues"], c.issues) << c.name;
  }
}

TEST(IncidentResponse, MetricThresholdsDisabled) {
  json state = healthy_state();
  state["metrics"] = {{"mtta_minutes", 500}, {"mttr_minutes", 5000}, {"data_age_hours", 100}};
  // 0 (the spec's from_mapping rule) or an explicit null disables a level.
  const Evaluated e = eval({{"policy",
                             {{"mtta_warn_minutes", 0},
                              {"mtta_fail_minutes", nullptr},
                              {"mttr_fail_minutes", -1},
                              {"metrics_stale_warn_hours", 0},
                              {"metrics_stale_fail_hours", 0}}},
                            {"state", state}},
                           {.metrics_source = "document"});
  EXPECT_EQ(e.report["issues"], json({"MTTR 5000.0 minutes approaches threshold 180.0 minutes"}));
  EXPECT_EQ(e.report["metadata"]["policy"]["mtta_warn_minutes"], nullptr);
  EXPECT_EQ(e.report["metadata"]["policy"]["mttr_fail_minutes"], nullptr);
  // The config's 0 disables too.
  const Evaluated c = eval({{"state", state}}, {.metrics_source = "document",
                                                .mtta_warn_minutes = 0,
                                                .mtta_fail_minutes = 0,
                                                .mttr_warn_minutes = 0,
                                                .mttr_fail_minutes = 0,
                                                .metrics_stale_warn_hours = 0,
                                                .metrics_stale_fail_hours = 0});
  EXPECT_EQ(c.report["issues"], json::array());
}

TEST(IncidentResponse, MetricsWithoutSignalAreDropped) {
  json state = healthy_state();
  state["metrics"] = {{"mtta_minutes", 0},
                      {"acknowledged_incidents", 0},
                      {"sample_window_days", 7},
                      {"data_age_hours", 100}};
  const Evaluated e = eval({{"state", state}}, {.metrics_source = "document"});
  EXPECT_FALSE(e.report.contains("metrics"));
  EXPECT_FALSE(e.report["metadata"].contains("reliability_metrics"));
  EXPECT_EQ(e.report["issues"], json::array());  // no staleness check without signal
  EXPECT_EQ(e.markdown.find("Reliability metrics"), std::string::npos);
}

TEST(IncidentResponse, GateWarnAndBlock) {
  const json doc = {{"policy",
                     {{"required_runbooks", {"redis_outage"}},
                      {"training_interval_days", 30},
                      {"drill_interval_days", 30}}},
                    {"state",
                     {{"available_runbooks", {"redis_outage"}},
                      {"training_age_days", 35.0},
                      {"drill_age_days", 10.0},
                      {"primary_oncall", {"alice"}},
                      {"secondary_oncall", {"bob"}},
                      {"postmortem_backlog_hours", 2.0},
                      {"chatops_ready", true}}}};
  const Evaluated e = eval(doc);
  EXPECT_EQ(e.snapshot.status, core::Status::kWarn);
  EXPECT_EQ(codes(e.snapshot), "incident_response.training=warning");
  const json& g = e.snapshot.metadata["gate"];
  EXPECT_EQ(g["status"], "warn");
  EXPECT_EQ(g["blocking_reasons"], json::array());
  EXPECT_EQ(g["warnings"], json({"Incident response training overdue"}));
  EXPECT_EQ(g["warning_reason_codes"], json({"issue_training_warn"}));
  EXPECT_EQ(g["warn_block_categories"],
            json({"metrics_mtta", "metrics_mttr", "missing_runbooks", "open_incidents",
                  "postmortem_backlog", "primary_roster"}));

  const Evaluated b = eval(doc, {.block_on_warn = true});
  EXPECT_EQ(b.snapshot.status, core::Status::kFail);
  EXPECT_EQ(b.report["status"], "warn");  // the evaluation's own status stays
  EXPECT_EQ(b.snapshot.metadata["evaluation_status"], "warn");
  EXPECT_EQ(codes(b.snapshot),
            "incident_response.training=warning,"
            "incident_response.gate:issue_training_warn_blocked=critical");
  EXPECT_EQ(b.snapshot.issues[1].message,
            "Incident response training overdue (blocks the gate: block_on_warn)");
  EXPECT_EQ(b.snapshot.issues[1].runbook, "docs/runbooks/incident_response.md#gate");
  EXPECT_EQ(b.snapshot.metadata["gate"]["status"], "fail");
  EXPECT_EQ(b.snapshot.metadata["gate"]["blocking_reason_codes"],
            json({"issue_training_warn_blocked"}));
  // issue_details keep the original severity.
  EXPECT_EQ(b.snapshot.metadata["issue_details"][0]["severity"], "warn");

  // A category listed in warn_block_categories (case-insensitive) blocks on its own.
  const Evaluated c = eval(doc, {.warn_block_categories = {"Training"}});
  EXPECT_EQ(c.snapshot.status, core::Status::kFail);
  EXPECT_EQ(c.snapshot.metadata["gate"]["blocking_reason_codes"],
            json({"issue_training_warn_blocked"}));
}

TEST(IncidentResponse, DefaultWarnBlockCategoryBlocks) {
  json state = healthy_state();
  state["postmortem_backlog_hours"] = 30.0;  // > 24, ≤ 48: warn
  const Evaluated e = eval({{"state", state}});
  EXPECT_EQ(e.report["status"], "warn");
  EXPECT_EQ(e.snapshot.status, core::Status::kFail);
  EXPECT_EQ(codes(e.snapshot),
            "incident_response.postmortem_backlog=warning,"
            "incident_response.gate:issue_postmortem_backlog_warn_blocked=critical");
  EXPECT_EQ(e.snapshot.summary,
            "open incidents=0, missing runbooks=0, issues: Postmortem backlog exceeds the "
            "configured SLA; the gate blocks on warn: postmortem_backlog");
  const Evaluated relaxed = eval({{"state", state}}, {.warn_block_categories = {}});
  EXPECT_EQ(relaxed.snapshot.status, core::Status::kWarn);
}

TEST(IncidentResponse, IncidentLogMetricsReplaceTheDocuments) {
  auto ir = make();
  ir->set_incident_metrics(IncidentMetrics{.mtta_minutes = 10.0, .acknowledged = 3});
  EXPECT_FALSE(ir->active());  // no document, no snapshot
  ASSERT_TRUE(
      ir->apply(
            {.topic = std::string(kIncidentResponseTopic), .time = kT0, .payload = metrics_case()})
          .has_value());
  ASSERT_TRUE(ir->active());
  auto s = ir->snapshot(kT0);
  EXPECT_EQ(s.metadata["metrics_source"], "incident_log");
  EXPECT_EQ(s.metadata["reliability_metrics"]["mtta_minutes"], 10.0);
  EXPECT_EQ(s.metadata["reliability_metrics"]["mttr_minutes"], nullptr);
  EXPECT_EQ(s.metadata["reliability_metrics"]["acknowledged_incidents"], 3);
  EXPECT_EQ(ir->latest()->report["metrics"]["mtta_minutes"], 10.0);
  EXPECT_EQ(ir->latest()->report["issues"],
            json({"Incident volume approaching the configured threshold"}));

  // New metrics re-evaluate the kept document at once, at its own time.
  ir->set_incident_metrics(IncidentMetrics{.mtta_minutes = 45.0, .data_age_hours = 1.0});
  s = ir->snapshot(kT0 + std::chrono::hours(1));
  EXPECT_EQ(s.observed_at, kT0);
  EXPECT_EQ(ir->latest()->report["issues"],
            json({"Incident volume approaching the configured threshold",
                  "MTTA 45.0 minutes exceeds threshold 40.0 minutes"}));
  EXPECT_EQ(s.summary.substr(0, 49), "open incidents=1, missing runbooks=0, MTTA=45.0m,");

  // Cleared: the document's metrics again.
  ir->set_incident_metrics(std::nullopt);
  EXPECT_EQ(ir->snapshot(kT0).metadata["metrics_source"], "document");
  EXPECT_EQ(ir->latest()->report["metrics"]["mtta_minutes"], 55.0);

  // metrics_source: document ignores the log.
  auto doc_only = make({.metrics_source = "document"});
  doc_only->set_incident_metrics(IncidentMetrics{.mtta_minutes = 1.0});
  auto e = doc_only->evaluate(metrics_case(), kT0);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->report["metrics"]["mtta_minutes"], 55.0);
  EXPECT_EQ(e->report["metadata"]["metrics_source"], "document");
}

TEST(IncidentResponse, IncidentLogWithoutSignalMeansNoMetrics) {
  auto ir = make();
  ir->set_incident_metrics(IncidentMetrics{.sample_window_days = 7.0, .data_age_hours = 100.0});
  auto e = ir->evaluate(metrics_case(), kT0);
  ASSERT_TRUE(e.has_value());
  EXPECT_FALSE(e->report.contains("metrics"));
  EXPECT_EQ(e->report["metadata"]["metrics_source"], "incident_log");
  EXPECT_EQ(e->report["issues"], json({"Incident volume approaching the configured threshold"}));
}

TEST(IncidentResponse, DocumentPolicyCanBeTurnedOff) {
  const json doc = {{"INCIDENT_TRAINING_INTERVAL_DAYS", "5"}, {"INCIDENT_TRAINING_AGE_DAYS", "11"},
                    {"INCIDENT_DRILL_AGE_DAYS", "1"},         {"INCIDENT_PRIMARY_RESPONDERS", "a"},
                    {"INCIDENT_SECONDARY_RESPONDERS", "b"},   {"INCIDENT_CHATOPS_READY", "yes"}};
  EXPECT_EQ(eval(doc).report["issues"],
            json({"Incident response training overdue by more than 2x the interval"}));
  const Evaluated off = eval(doc, {.document_policy = false, .training_interval_days = 9});
  EXPECT_EQ(off.report["issues"], json({"Incident response training overdue"}));
  EXPECT_EQ(off.report["metadata"]["policy"]["training_interval_days"], 9);
  EXPECT_EQ(off.snapshot.metadata["ignored_document_policy"],
            json({"INCIDENT_TRAINING_INTERVAL_DAYS"}));
  // Still read strictly: a wrong type is refused even when ignored.
  json bad = doc;
  bad["INCIDENT_TRAINING_INTERVAL_DAYS"] = "weekly";
  EXPECT_EQ(refusal(bad, {.document_policy = false}).field, "INCIDENT_TRAINING_INTERVAL_DAYS");
}

TEST(IncidentResponse, CallerMetadataGoesUnderContext) {
  json doc = ok_case();
  doc["metadata"] = {{"region", "eu-west"}, {"build", 42}, {"tags", {"a", "b"}}};
  const Evaluated e = eval(doc);
  EXPECT_EQ(e.report["metadata"]["context"], doc["metadata"]);
  EXPECT_FALSE(e.report["metadata"].contains("region"));
  EXPECT_NE(e.markdown.find("**Context:**\n- build: 42\n- region: eu-west\n- tags: [\"a\",\"b\"]"),
            std::string::npos);
  doc["metadata"] = json::object();
  EXPECT_FALSE(eval(doc).report["metadata"].contains("context"));
}

TEST(IncidentResponse, MarkdownGolden) {
  json doc = metrics_case();
  doc["service"] = "emp";
  doc["metadata"] = {{"run", "nightly | 7"}};
  const Evaluated e = eval(doc, {.metrics_source = "document"});
  EXPECT_EQ(e.markdown,
            "**Incident response – emp**\n"
            "- Status: FAIL\n"
            "- Generated: 2025-02-01T00:00:00Z\n"
            "- Primary responders: 1\n"
            "- Secondary responders: 1\n"
            "- Open incidents: 1\n"
            "- Training age (days): 10.0\n"
            "- Drill age (days): 15.0\n"
            "- Missing runbooks: none\n"
            "- Postmortem backlog (hours): 8.0\n"
            "\n"
            "**Reliability metrics:**\n"
            "- MTTA (minutes): 55.0\n"
            "- MTTR (minutes): 250.0\n"
            "- Incidents acknowledged: 5\n"
            "- Incidents resolved: 4\n"
            "- Metrics window (days): 7.0\n"
            "- Metrics age (hours): 30.0\n"
            "\n"
            "**Context:**\n"
            "- run: nightly \\| 7\n"
            "\n"
            "**Issues:**\n"
            "- Incident volume approaching the configured threshold\n"
            "- MTTA 55.0 minutes exceeds threshold 40.0 minutes\n"
            "- MTTR 250.0 minutes exceeds threshold 240.0 minutes\n"
            "- Incident metrics age 30.0 hours exceeds threshold 24.0 hours");
  const Evaluated missing = eval(escalation_case());
  EXPECT_NE(missing.markdown.find("- Missing runbooks: redis_outage\n"), std::string::npos);
}

TEST(IncidentResponse, EvaluatedSnapshotIntake) {
  const json evaluated = {
      {"service", "emp"},
      {"generated_at", "2025-01-31T12:00:00+00:00"},
      {"status", "warn"},
      {"missing_runbooks", json::array()},
      {"training_age_days", 40.0},
      {"drill_age_days", nullptr},
      {"primary_oncall", {"alice"}},
      {"secondary_oncall", json::array()},
      {"open_incidents", {"INC-7"}},
      {"issues",
       {"Incident response training overdue",
        "Secondary on-call roster below recommended "
        "responders",
        "Incident volume approaching the configured threshold"}},
      {"metadata",
       {{"postmortem_backlog_hours", 0.0},
        {"issue_details",
         {{{"category", "training"},
           {"severity", "warn"},
           {"message", "Incident response training overdue"}},
          {{"category", "secondary_roster"},
           {"severity", "warn"},
           {"message", "Secondary on-call roster below recommended responders"}},
          {{"category", "open_incidents"},
           {"severity", "warn"},
           {"message", "Incident volume approaching the configured threshold"}},
          {{"category", "review"}, {"severity", "ok"}, {"message", "reviewed"}}}}}}};
  const Evaluated e = eval(evaluated);
  EXPECT_EQ(e.snapshot.observed_at, core::parse_rfc3339("2025-01-31T12:00:00Z").value());
  EXPECT_EQ(codes(e.snapshot),
            "incident_response.training=warning,incident_response.roster.secondary=warning,"
            "incident_response.open_incidents=warning,incident_response.issue:review=info,"
            "incident_response.gate:issue_open_incidents_warn_blocked=critical");
  EXPECT_EQ(e.snapshot.status, core::Status::kFail);  // the open_incidents warning blocks
  EXPECT_EQ(e.report, [&] {
    json r = evaluated;
    r["metadata"]["metrics_source"] = "document";
    return r;
  }());
  EXPECT_EQ(e.snapshot.metadata["source"], "evaluated_snapshot");
  EXPECT_EQ(e.snapshot.metadata["evaluation_status"], "warn");
  EXPECT_EQ(e.snapshot.metadata["issue_details"][3]["severity"], "ok");
  EXPECT_NE(e.markdown.find("- Generated: 2025-01-31T12:00:00+00:00\n"), std::string::npos);
  EXPECT_NE(e.markdown.find("- Training age (days): 40.0\n"), std::string::npos);
  EXPECT_EQ(e.markdown.find("Drill age"), std::string::npos);

  // Our own report read back gives the same issues.
  const Evaluated first = eval(escalation_case());
  const Evaluated back = eval(first.report);
  EXPECT_EQ(back.snapshot.issues, first.snapshot.issues);
  EXPECT_EQ(back.snapshot.status, first.snapshot.status);
  EXPECT_EQ(back.markdown, first.markdown);
  EXPECT_EQ(back.snapshot.summary, first.snapshot.summary);

  // Without issue_details the issue strings stand, with the snapshot's status.
  const Evaluated bare = eval({{"status", "fail"}, {"issues", {"a", "b"}}});
  EXPECT_EQ(codes(bare.snapshot),
            "incident_response.issue=critical,incident_response.issue:2=critical");
  EXPECT_EQ(bare.snapshot.observed_at, kT0);
  EXPECT_EQ(bare.snapshot.metadata["gate"]["blocking_reasons"], json({"a", "b"}));
}

TEST(IncidentResponse, EvaluatedSnapshotRegradedWithIncidentLogMetrics) {
  auto ir = make();
  const Evaluated first = eval(metrics_case(), {.metrics_source = "document"});
  ir->set_incident_metrics(IncidentMetrics{.mtta_minutes = 25.0, .acknowledged = 2});
  auto e = ir->evaluate(first.report, kT0);
  ASSERT_TRUE(e.has_value()) << e.error().describe();
  // The document's policy echo (mtta warn 20, fail 40) grades the log's MTTA 25.
  EXPECT_EQ(e->report["issues"], json({"Incident volume approaching the configured threshold",
                                       "MTTA 25.0 minutes approaches threshold 20.0 minutes"}));
  EXPECT_EQ(e->report["status"], "warn");
  EXPECT_EQ(e->report["metrics"]["mtta_minutes"], 25.0);
  EXPECT_EQ(e->report["metadata"]["reliability_metrics"]["acknowledged_incidents"], 2);
  EXPECT_EQ(e->report["metadata"]["metrics_source"], "incident_log");
  EXPECT_EQ(e->report["metadata"]["issue_counts"], json({{"warn", 2}}));
  EXPECT_EQ(codes(e->snapshot),
            "incident_response.open_incidents=warning,incident_response.mtta=warning,"
            "incident_response.gate:issue_open_incidents_warn_blocked=critical,"
            "incident_response.gate:issue_metrics_mtta_warn_blocked=critical");
}

TEST(IncidentResponse, Refusals) {
  struct Case {
    const char* name;
    json doc;
    const char* field;
  };
  json wrong_state = ok_case();
  wrong_state["state"]["training_age_days"] = "soon";
  json unknown_policy = ok_case();
  unknown_policy["policy"]["bogus"] = 1;
  json unknown_metric = ok_case();
  unknown_metric["state"]["metrics"] = {{"mtta", 5}};
  json bool_number = ok_case();
  bool_number["policy"]["maximum_open_incidents"] = true;
  json bad_list = ok_case();
  bad_list["state"]["primary_oncall"] = {"alice", {{"name", "bob"}}};
  const std::vector<Case> cases = {
      {"env wrong type", {{"INCIDENT_TRAINING_AGE_DAYS", "soon"}}, "INCIDENT_TRAINING_AGE_DAYS"},
      {"env bad bool", {{"INCIDENT_CHATOPS_READY", "maybe"}}, "INCIDENT_CHATOPS_READY"},
      {"env unknown key", {{"INCIDENT_TRAINING_AGE_DAYS", 1}, {"INCIDENT_FOO", 1}}, "INCIDENT_FOO"},
      {"env foreign key", {{"INCIDENT_TRAINING_AGE_DAYS", 1}, {"policy", {}}}, "policy"},
      {"env metadata not object", {{"INCIDENT_DRILL_AGE_DAYS", 1}, {"metadata", "x"}}, "metadata"},
      {"structured wrong type", wrong_state, "state.training_age_days"},
      {"structured unknown policy key", unknown_policy, "policy.bogus"},
      {"structured unknown metric", unknown_metric, "state.metrics.mtta"},
      {"boolean is not a number", bool_number, "policy.maximum_open_incidents"},
      {"list item not a string", bad_list, "state.primary_oncall[1]"},
      {"structured without state", {{"service", "emp"}}, "state"},
      {"structured unknown root key", {{"state", {}}, {"extra", 1}}, "extra"},
      {"evaluated unknown key", {{"status", "ok"}, {"extra", 1}}, "extra"},
      {"evaluated bad status", {{"status", "green"}}, "status"},
      {"evaluated bad time", {{"status", "ok"}, {"generated_at", "yesterday"}}, "generated_at"},
      {"evaluated bad severity",
       {{"status", "warn"},
        {"metadata", {{"issue_details", {{{"category", "x"}, {"severity", "bad"}}}}}}},
       "metadata.issue_details[0].severity"},
      {"evaluated bad metrics",
       {{"status", "ok"}, {"metrics", {{"mtta_minutes", "slow"}}}},
       "metrics.mtta_minutes"},
  };
  for (const Case& c : cases) {
    const core::Error err = refusal(c.doc);
    EXPECT_EQ(err.field, c.field) << c.name << ": " << err.describe();
    EXPECT_EQ(err.code, "invalid_document") << c.name;
  }
  EXPECT_EQ(refusal(json::array()).code, "invalid_document");

  // A refused document leaves the previous evaluation in place.
  auto ir = make();
  ASSERT_TRUE(
      ir->apply({.topic = std::string(kIncidentResponseTopic), .time = kT0, .payload = ok_case()})
          .has_value());
  EXPECT_FALSE(
      ir->apply({.topic = std::string(kIncidentResponseTopic), .time = kT0, .payload = wrong_state})
          .has_value());
  EXPECT_EQ(ir->snapshot(kT0).status, core::Status::kOk);
}

TEST(IncidentResponse, ConfigValidation) {
  EXPECT_TRUE(validate(IncidentResponseConfig{}).has_value());
  struct Case {
    IncidentResponseConfig config;
    const char* field;
  };
  const std::vector<Case> cases = {
      {{.service = " "}, "service"},
      {{.metrics_source = "pagerduty"}, "metrics_source"},
      {{.required_runbooks = {""}}, "required_runbooks"},
      {{.postmortem_sla_hours = -1}, "postmortem_sla_hours"},
      {{.mtta_warn_minutes = 50, .mtta_fail_minutes = 40}, "mtta_fail_minutes"},
      {{.mttr_warn_minutes = -1}, "mttr_warn_minutes"},
      {{.metrics_stale_fail_hours = std::nan("")}, "metrics_stale_fail_hours"},
      {{.major_incident_fail_multiplier = 0.5}, "major_incident_fail_multiplier"},
      {{.warn_block_categories = {"roster"}}, "warn_block_categories"},
  };
  for (const Case& c : cases) {
    auto ok = validate(c.config);
    ASSERT_FALSE(ok.has_value()) << c.field;
    EXPECT_EQ(ok.error().field, c.field);
    EXPECT_FALSE(IncidentResponse::create(c.config).has_value());
  }
  // A disabled level does not constrain the other.
  EXPECT_TRUE(validate({.mtta_warn_minutes = 50, .mtta_fail_minutes = 0}).has_value());
}

TEST(IncidentResponse, Testdata) {
  for (const char* name : {"env.json", "structured.json", "evaluated.json"}) {
    const json doc = read_json(kTestdata / name);
    auto e = make()->evaluate(doc, kT0);
    ASSERT_TRUE(e.has_value()) << name << ": " << e.error().describe();
    EXPECT_FALSE(e->markdown.empty()) << name;
  }
  EXPECT_EQ(make()->evaluate(read_json(kTestdata / "env.json"), kT0)->snapshot.status,
            core::Status::kWarn);
  EXPECT_EQ(make()->evaluate(read_json(kTestdata / "structured.json"), kT0)->snapshot.status,
            core::Status::kOk);
  EXPECT_EQ(make()->evaluate(read_json(kTestdata / "evaluated.json"), kT0)->snapshot.status,
            core::Status::kFail);
}

TEST(IncidentResponse, TheDrillCadenceIsMeasuredFromOpsreadysOwnDrills) {
  auto ir = make();
  json doc = ok_case();  // drill_interval_days 45, the document says 20 days
  ir->set_last_drill(kT0 - std::chrono::hours(24 * 50));  // 50 days ago: overdue
  auto e = ir->evaluate(doc, kT0);
  ASSERT_TRUE(e.has_value()) << e.error().message;
  EXPECT_EQ(e->snapshot.status, core::Status::kWarn);
  EXPECT_EQ(e->report["drill_age_days"], 50.0);
  EXPECT_EQ(e->report["metadata"]["drill_source"], "opsready_drills");
  EXPECT_EQ(e->report["metadata"]["document_drill_age_days"], 20.0);
  ir->set_last_drill(kT0 - std::chrono::hours(12));
  e = ir->evaluate(doc, kT0);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->snapshot.status, core::Status::kOk);
  EXPECT_EQ(e->report["drill_age_days"], 0.5);
}

// The spec's chaos simulation (alerts-bus-dashboard-drills-ci §5.3) as the incident_chaos drill
// fault applies it: responder outage + runbook corruption + surge fail, impacts recorded.
TEST(IncidentResponse, ChaosEventsChangeTheStateGradedUntilCleared) {
  auto ir = make();
  ASSERT_TRUE(
      ir->apply({.topic = std::string(kIncidentResponseTopic), .time = kT0, .payload = ok_case()})
          .has_value());
  EXPECT_EQ(ir->snapshot(kT0).status, core::Status::kOk);
  const core::TimePoint at = kT0 + std::chrono::minutes(30);
  ASSERT_TRUE(
      ir->set_chaos({{.type = ChaosEventType::kPrimaryResponderOutage, .responders = {"ALICE"}},
                     {.type = ChaosEventType::kRunbookCorruption},
                     {.type = ChaosEventType::kIncidentSurge, .count = 3}},
                    at)
          .has_value());
  const core::ComponentSnapshot s = ir->snapshot(kT0);
  EXPECT_EQ(s.status, core::Status::kFail);
  const json& events = s.metadata["chaos_events"];
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0]["sequence"], 1);
  EXPECT_EQ(events[0]["event_type"], "primary_responder_outage");
  EXPECT_EQ(events[0]["severity"], "fail");
  EXPECT_EQ(events[0]["description"], "primary responder outage");
  EXPECT_EQ(events[0]["applied_at"], "2025-02-01T00:20:00Z");  // now − 5 min × (n − i)
  EXPECT_EQ(events[2]["applied_at"], "2025-02-01T00:30:00Z");
  EXPECT_EQ(events[0]["impact"]["removed_primary"], json({"alice"}));
  EXPECT_EQ(events[0]["impact"]["remaining_primary"], json({"bob"}));
  EXPECT_EQ(events[1]["impact"]["removed_runbooks"], json({"redis_outage", "kafka_lag"}));
  EXPECT_EQ(events[1]["impact"]["remaining_runbooks"], json({"fix_restart"}));
  EXPECT_EQ(events[2]["impact"]["added_incidents"],
            json({"incident_surge-001", "incident_surge-002", "incident_surge-003"}));
  EXPECT_EQ(s.metadata["worst_chaos_severity"], "fail");
  EXPECT_NE(codes(s).find("incident_response.missing_runbooks=critical"), std::string::npos)
      << codes(s);
  EXPECT_NE(codes(s).find("incident_response.open_incidents=critical"), std::string::npos);
  EXPECT_NE(codes(s).find("incident_response.roster.primary=critical"), std::string::npos);

  ASSERT_TRUE(ir->set_chaos({}, at).has_value());
  const core::ComponentSnapshot after = ir->snapshot(kT0);
  EXPECT_EQ(after.status, core::Status::kOk);
  EXPECT_FALSE(after.metadata.contains("chaos_events"));
}

TEST(IncidentResponse, ChaosMetricsStaleAndTrainingLapse) {
  json doc = ok_case();
  doc["policy"]["metrics_stale_warn_hours"] = 12;
  doc["policy"]["metrics_stale_fail_hours"] = 24;
  doc["state"]["metrics"] = {{"mtta_minutes", 5.0}, {"acknowledged_incidents", 2}};
  auto ir = make({.metrics_source = "document"});
  ASSERT_TRUE(ir->apply({.topic = std::string(kIncidentResponseTopic), .time = kT0, .payload = doc})
                  .has_value());
  ASSERT_TRUE(ir->set_chaos({{.type = ChaosEventType::kMetricsStale, .data_age_hours = 36.0}}, kT0)
                  .has_value());
  core::ComponentSnapshot s = ir->snapshot(kT0);
  EXPECT_EQ(s.status, core::Status::kFail);
  bool named = false;
  for (const auto& i : s.issues)
    named = named || i.message.find("metrics age 36.0 hours") != std::string::npos;
  EXPECT_TRUE(named) << codes(s);
  EXPECT_EQ(s.metadata["chaos_events"][0]["severity"], "warn");
  EXPECT_EQ(s.metadata["chaos_events"][0]["impact"]["data_age_hours"], 36.0);

  // Exactly twice the intervals: the rules' strict `>` grades warn, not fail.
  ASSERT_TRUE(ir->set_chaos({{.type = ChaosEventType::kTrainingLapse}}, kT0).has_value());
  s = ir->snapshot(kT0);
  EXPECT_EQ(s.status, core::Status::kWarn) << codes(s);
  EXPECT_EQ(s.metadata["chaos_events"][0]["impact"]["training_age_days"], 60.0);
  EXPECT_EQ(s.metadata["chaos_events"][0]["impact"]["drill_age_days"], 90.0);
}

TEST(IncidentResponse, ChaosIsRefusedWithoutAStateToChange) {
  auto ir = make();
  auto none = ir->set_chaos({{.type = ChaosEventType::kChatopsFailure}}, kT0);
  ASSERT_FALSE(none.has_value());
  EXPECT_NE(none.error().message.find("no document"), std::string::npos);
  json evaluated = {{"service", "emp"},
                    {"generated_at", "2025-02-01T00:00:00Z"},
                    {"status", "ok"},
                    {"issues", json::array()}};
  (void)ir->apply(
      {.topic = std::string(kIncidentResponseTopic), .time = kT0, .payload = evaluated});
  auto snapshot_doc = ir->set_chaos({{.type = ChaosEventType::kChatopsFailure}}, kT0);
  ASSERT_FALSE(snapshot_doc.has_value());
  EXPECT_TRUE(ir->chaos().empty());
  for (auto t : {"primary_responder_outage", "secondary_responder_overload", "runbook_corruption",
                 "chatops_failure", "metrics_stale", "incident_surge", "postmortem_backlog",
                 "training_lapse"}) {
    auto parsed = parse_chaos_event_type(t);
    ASSERT_TRUE(parsed) << t;
    EXPECT_EQ(to_string(*parsed), t);
  }
  EXPECT_FALSE(parse_chaos_event_type("meteor_strike"));
}

}  // namespace
}  // namespace opsready::components
