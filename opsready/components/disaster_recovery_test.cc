#include "opsready/components/disaster_recovery.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "opsready/core/time.h"

namespace opsready::components {
namespace {

using nlohmann::json;
using std::chrono::hours;

namespace fs = std::filesystem;
const fs::path kTestdata = fs::path(__FILE__).parent_path().parent_path().parent_path() /
                           "examples" / "documents" / "disaster_recovery";

core::TimePoint at(const char* text) { return core::parse_rfc3339(text).value(); }
std::string iso(core::TimePoint t) { return core::format_rfc3339(t); }
const core::TimePoint kNow = at("2025-01-02T12:00:00Z");

json load(const char* name) {
  std::ifstream in(kTestdata / name);
  EXPECT_TRUE(in.good()) << name;
  return json::parse(in);
}

std::string issue_codes(const core::ComponentSnapshot& s) {
  std::string out;
  for (const auto& i : s.issues) out += (out.empty() ? "" : ",") + i.code;
  return out;
}

// test_disaster_recovery.py's _backup_snapshot fixture (an evaluated BackupReadinessSnapshot).
json backup_snapshot(const char* status = "ok", json issues = json::array()) {
  return {{"service", "timescale"},
          {"generated_at", iso(kNow)},
          {"status", status},
          {"latest_backup_at", iso(kNow - hours(1))},
          {"next_backup_due_at", iso(kNow + hours(5))},
          {"retention_days", 14},
          {"issues", std::move(issues)},
          {"metadata",
           {{"policy",
             {{"providers", {"aws_s3", "gcs"}}, {"storage_location", "s3://emp/timescale"}}}}}};
}

// ... and its _failover_snapshot fixture (an evaluated FailoverDrillSnapshot).
json failover_snapshot(const char* status = "ok") {
  return {{"status", status},
          {"generated_at", iso(kNow)},
          {"scenario", "timescale_failover"},
          {"components", {{{"name", "health"}, {"status", "ok"}, {"summary", "healthy"}}}},
          {"health_report", {{"status", "ok"}}},
          {"failover_decision", {{"should_failover", false}}},
          {"metadata", {{"fallback", {{"executed", false}, {"error", nullptr}}}}}};
}

Evaluated eval(const json& doc) {
  auto dr = DisasterRecovery::create({}).value();
  auto e = dr->evaluate(doc, kNow);
  EXPECT_TRUE(e.has_value()) << (e ? "" : e.error().describe());
  return e ? *e : Evaluated{};
}

core::Error refusal(const json& doc) {
  auto dr = DisasterRecovery::create({}).value();
  auto e = dr->evaluate(doc, kNow);
  EXPECT_FALSE(e.has_value()) << doc.dump();
  return e ? core::Error{} : e.error();
}

// test_plan_disaster_recovery_merges_snapshots: ok + ok → ready, with both steps.
TEST(DisasterRecovery, MergesSnapshots) {
  const Evaluated e =
      eval({{"backups", backup_snapshot()}, {"failover_drill", failover_snapshot()}});
  EXPECT_EQ(e.snapshot.status, core::Status::kOk);
  EXPECT_EQ(e.report["status"], "ready");
  ASSERT_EQ(e.report["steps"].size(), 2u);
  EXPECT_EQ(e.report["steps"][0],
            (json{{"name", "Backup validation"},
                  {"status", "ready"},
                  {"summary", "Backups meet policy targets"},
                  {"details",
                   {"Providers: aws_s3, gcs", "Storage: s3://emp/timescale",
                    "Latest backup: 2025-01-02T11:00:00Z", "Next due: 2025-01-02T17:00:00Z"}}}));
  EXPECT_EQ(e.report["steps"][1],
            (json{{"name", "Failover automation"},
                  {"status", "ready"},
                  {"summary", "Failover drill completed"},
                  {"details", {"health: ok – healthy", "Fallback not executed"}}}));
  EXPECT_EQ(e.report["metadata"], (json{{"scenario", "timescale_failover"}}));
  EXPECT_TRUE(e.snapshot.issues.empty());
  EXPECT_EQ(e.snapshot.summary,
            "Disaster recovery ready: Backups meet policy targets; Failover drill completed");
  EXPECT_EQ(e.snapshot.metadata["recovery_status"], "ready");
  EXPECT_EQ(e.snapshot.metadata["scenario"], "timescale_failover");
  EXPECT_EQ(e.snapshot.observed_at, kNow);
}

// test_plan_disaster_recovery_escalates_status_on_warning: a warn backup → degraded, its issue
// text in the step's details.
TEST(DisasterRecovery, BackupWarningDegrades) {
  const Evaluated e = eval({{"backups", backup_snapshot("warn", {"Retention window below target"})},
                            {"failover_drill", failover_snapshot()}});
  EXPECT_EQ(e.snapshot.status, core::Status::kWarn);
  EXPECT_EQ(e.report["status"], "degraded");
  const json& step = e.report["steps"][0];
  EXPECT_EQ(step["status"], "degraded");
  EXPECT_EQ(step["summary"], "Backup posture warn; review issues");
  EXPECT_EQ(step["details"][0], "Retention window below target");
  EXPECT_EQ(issue_codes(e.snapshot), "disaster_recovery.backup_validation");
  EXPECT_EQ(e.snapshot.issues[0].severity, core::Severity::kWarning);
  EXPECT_EQ(e.snapshot.issues[0].message, "Backup validation: Backup posture warn; review issues");
  EXPECT_EQ(e.snapshot.issues[0].runbook, "docs/runbooks/disaster_recovery.md#backup_validation");
  EXPECT_EQ(e.snapshot.metadata["issue_details"][0]["detail"][0], "Retention window below target");
}

// A failed drill blocks; the fallback error is a detail.
TEST(DisasterRecovery, FailedDrillBlocks) {
  json drill = failover_snapshot("fail");
  drill["components"].push_back(
      {{"name", "fallback"}, {"status", "fail"}, {"summary", "fallback failed: boom"}});
  drill["metadata"]["fallback"] = {{"executed", true}, {"error", "boom"}};
  const Evaluated e = eval({{"backups", backup_snapshot()}, {"failover_drill", drill}});
  EXPECT_EQ(e.report["status"], "blocked");
  EXPECT_EQ(e.snapshot.status, core::Status::kFail);
  EXPECT_EQ(e.report["steps"][1]["summary"], "Failover automation failed");
  EXPECT_EQ(e.report["steps"][1]["details"],
            (json{"health: ok – healthy", "fallback: fail – fallback failed: boom",
                  "Fallback executed during drill", "Fallback error: boom"}));
  EXPECT_EQ(issue_codes(e.snapshot), "disaster_recovery.failover_automation");
  EXPECT_EQ(e.snapshot.issues[0].severity, core::Severity::kCritical);
  const Evaluated warn =
      eval({{"backups", backup_snapshot()}, {"failover_drill", failover_snapshot("warn")}});
  EXPECT_EQ(warn.report["steps"][1]["summary"], "Failover drill completed with warnings");
  EXPECT_EQ(warn.report["status"], "degraded");
}

// test_markdown_formatter_includes_sections, as a golden.
TEST(DisasterRecovery, Markdown) {
  const Evaluated e =
      eval({{"backups", backup_snapshot()}, {"failover_drill", failover_snapshot()}});
  for (const char* heading : {"# Disaster recovery drill", "## Recovery steps",
                              "## Backup readiness snapshot", "## Failover drill snapshot"}) {
    EXPECT_NE(e.markdown.find(heading), std::string::npos) << heading;
  }
  EXPECT_EQ(e.markdown,
            "# Disaster recovery drill\n"
            "\n"
            "- Status: READY\n"
            "- Generated: 2025-01-02T12:00:00Z\n"
            "- Backup status: OK\n"
            "- Failover status: OK\n"
            "\n"
            "## Recovery steps\n"
            "| Step | Status | Summary |\n"
            "| --- | --- | --- |\n"
            "| Backup validation | READY | Backups meet policy targets |\n"
            "| Failover automation | READY | Failover drill completed |\n"
            "\n"
            "## Step details\n"
            "### Backup validation\n"
            "- Providers: aws_s3, gcs\n"
            "- Storage: s3://emp/timescale\n"
            "- Latest backup: 2025-01-02T11:00:00Z\n"
            "- Next due: 2025-01-02T17:00:00Z\n"
            "\n"
            "### Failover automation\n"
            "- health: ok – healthy\n"
            "- Fallback not executed\n"
            "\n"
            "## Backup readiness snapshot\n"
            "**Backup readiness – timescale**\n"
            "- Status: ok\n"
            "- Generated: 2025-01-02T12:00:00Z\n"
            "- Retention days: 14\n"
            "- Latest backup: 2025-01-02T11:00:00Z\n"
            "- Next backup due: 2025-01-02T17:00:00Z\n"
            "- Providers: aws_s3, gcs\n"
            "- Storage: s3://emp/timescale\n"
            "\n"
            "## Failover drill snapshot\n"
            "| Component | Status | Summary |\n"
            "| --- | --- | --- |\n"
            "| health | OK | healthy |");
}

// simulate_default_disaster_recovery: the fixture drill (daily SPY/QQQ/ES, intraday SPY/QQQ,
// daily failed over, a fallback that ran) and backups (every 6 h, 2.5 h old, restore 7 d ago
// of 14) → ready; the inputs are evaluated by the backups and failover_drill evaluators.
TEST(DisasterRecovery, DefaultSimulationIsReady) {
  const Evaluated e = eval(load("report.json"));
  EXPECT_EQ(e.report["status"], "ready");
  EXPECT_EQ(e.snapshot.status, core::Status::kOk);
  EXPECT_EQ(e.report["backup_snapshot"]["service"], "timescale_failover_backups");
  EXPECT_EQ(e.report["backup_snapshot"]["status"], "ok");
  EXPECT_EQ(e.report["failover_snapshot"]["status"], "ok");
  EXPECT_EQ(e.report["failover_snapshot"]["failover_decision"]["should_failover"], true);
  EXPECT_EQ(e.report["steps"][0]["details"],
            (json{"Providers: aws_s3, gcs", "Storage: s3://emp-backups/timescale",
                  "Latest backup: 2025-01-02T09:30:00Z", "Next due: 2025-01-02T15:30:00Z"}));
  EXPECT_EQ(e.report["steps"][1]["details"],
            (json{"health: fail – health status error",
                  "failover: ok – daily_bars produced zero rows; daily_bars missing symbols: SPY, "
                  "QQQ, ES; daily_bars status=error",
                  "fallback: ok – fallback executed", "Fallback executed during drill"}));
  EXPECT_EQ(e.report["metadata"]["scenario"], "timescale_failover");
  EXPECT_EQ(e.report["metadata"]["drill"]["initiated_at"], "2025-01-02T12:00:00Z");
  EXPECT_TRUE(e.snapshot.issues.empty());
}

// The DR scenario names the drill and the backup service where the parts name none.
TEST(DisasterRecovery, ScenarioDefaults) {
  json doc = load("report.json");
  doc["scenario"] = "regional";
  doc["failover_drill"].erase("metadata");
  const Evaluated e = eval(doc);
  EXPECT_EQ(e.report["backup_snapshot"]["service"], "regional_backups");
  EXPECT_EQ(e.report["failover_snapshot"]["scenario"], "regional");
  EXPECT_EQ(e.report["metadata"]["scenario"], "regional");
  doc.erase("scenario");
  doc["backups"]["service"] = "pg";
  const Evaluated plain = eval(doc);
  EXPECT_EQ(plain.report["backup_snapshot"]["service"], "pg");
  EXPECT_EQ(plain.report["metadata"]["scenario"], "timescale_failover");
}

// An evaluated DisasterRecoveryReport keeps its DR words; its steps give the issues.
TEST(DisasterRecovery, EvaluatedReport) {
  const json doc = load("evaluated.json");
  const Evaluated e = eval(doc);
  EXPECT_EQ(e.snapshot.status, core::Status::kWarn);
  EXPECT_EQ(e.snapshot.metadata["recovery_status"], "degraded");
  EXPECT_EQ(e.snapshot.metadata["source"], "evaluated_snapshot");
  EXPECT_EQ(issue_codes(e.snapshot), "disaster_recovery.backup_validation");
  EXPECT_EQ(e.report, doc);
  EXPECT_NE(
      e.markdown.find("| Backup validation | DEGRADED | Backup posture warn; review issues |"),
      std::string::npos);
  EXPECT_NE(e.markdown.find("- Retention window below minimum target (3d < 7d)"),
            std::string::npos);

  // A report this component wrote reads back with the same status and issues.
  const Evaluated first = eval(
      {{"backups", backup_snapshot("warn", {"x"})}, {"failover_drill", failover_snapshot("fail")}});
  const Evaluated again = eval(first.report);
  EXPECT_EQ(again.snapshot.status, core::Status::kFail);
  EXPECT_EQ(again.snapshot.issues, first.snapshot.issues);
  EXPECT_EQ(again.markdown, first.markdown);
}

TEST(DisasterRecovery, RefusesDocumentsItDoesNotUnderstand) {
  json bad_retention = load("report.json");
  bad_retention["backups"]["policy"]["retention_days"] = "two weeks";
  json bad_rows = load("report.json");
  bad_rows["failover_drill"]["results"]["daily_bars"]["rows_written"] = -3;
  json evaluated = load("evaluated.json");
  json no_backup = evaluated;
  no_backup.erase("backup_snapshot");
  json input_backup = evaluated;
  input_backup["backup_snapshot"] = {{"policy", json::object()}};
  json bad_step = evaluated;
  bad_step["steps"][1]["status"] = "fine";
  struct Case {
    json doc;
    const char* field;
  };
  const Case cases[] = {
      {json::object(), "backups"},
      {{{"backups", backup_snapshot()}}, "failover_drill"},
      {{{"failover_drill", failover_snapshot()}}, "backups"},
      {{{"backups", backup_snapshot()}, {"failover_drill", failover_snapshot()}, {"plan", 1}},
       "plan"},
      {{{"backups", "ok"}, {"failover_drill", failover_snapshot()}}, "backups"},
      {bad_retention, "backups.policy.retention_days"},
      {bad_rows, "failover_drill.results.daily_bars.rows_written"},
      {no_backup, "backup_snapshot"},
      {input_backup, "backup_snapshot"},
      {bad_step, "steps[1].status"},
      {{{"status", "ready"}, {"steps", json::array()}, {"backup", 1}}, "backup"},
  };
  for (const Case& c : cases) EXPECT_EQ(refusal(c.doc).field, c.field) << c.doc.dump();
}

// The daemon's view: the component follows the backups and failover-drill topics and plans
// once both have arrived, at each new event's time.
TEST(DisasterRecovery, FollowsBackupsAndDrillTopics) {
  auto dr = DisasterRecovery::create({}).value();
  EXPECT_EQ(dr->name(), "disaster_recovery");
  EXPECT_EQ(dr->alert_category(), "operational.disaster_recovery");
  EXPECT_TRUE(dr->consumes("telemetry.operational.disaster_recovery"));
  EXPECT_TRUE(dr->consumes("telemetry.operational.backups"));
  EXPECT_TRUE(dr->consumes("telemetry.operational.failover_drill"));
  const json fixture = load("report.json");
  ASSERT_TRUE(
      dr->apply(
            {.topic = "telemetry.operational.backups", .time = kNow, .payload = fixture["backups"]})
          .has_value());
  EXPECT_FALSE(dr->active());
  EXPECT_EQ(dr->state_version(), 1u);
  const auto t1 = kNow + hours(1);
  ASSERT_TRUE(dr->apply({.topic = "telemetry.operational.failover_drill",
                         .time = t1,
                         .payload = fixture["failover_drill"]})
                  .has_value());
  ASSERT_TRUE(dr->active());
  auto s = dr->snapshot(t1);
  EXPECT_EQ(s.status, core::Status::kOk);
  EXPECT_EQ(s.observed_at, t1);
  ASSERT_NE(dr->latest(), nullptr);
  // The backup part was evaluated at its own event's time.
  EXPECT_EQ(dr->latest()->report["backup_snapshot"]["generated_at"], "2025-01-02T12:00:00Z");
  EXPECT_EQ(dr->latest()->report["generated_at"], "2025-01-02T13:00:00Z");

  // Ingest's pre-queue check reads a part with the part's reader, without keeping it.
  EXPECT_TRUE(
      dr->check(
            {.topic = "telemetry.operational.backups", .time = t1, .payload = fixture["backups"]})
          .has_value());
  auto checked = dr->check(
      {.topic = "telemetry.operational.failover_drill", .time = t1, .payload = {{"result", 1}}});
  ASSERT_FALSE(checked.has_value());
  EXPECT_EQ(checked.error().field, "result");
  EXPECT_TRUE(
      dr->check(
            {.topic = "telemetry.operational.disaster_recovery", .time = t1, .payload = fixture})
          .has_value());
  EXPECT_FALSE(dr->check({.topic = "telemetry.operational.disaster_recovery",
                          .time = t1,
                          .payload = fixture["backups"]})
                   .has_value());
  EXPECT_EQ(dr->state_version(), 2u);

  // A refused part leaves everything as it was.
  auto refused =
      dr->apply({.topic = "telemetry.operational.backups", .time = t1, .payload = {{"policy", 1}}});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().field, "policy");
  EXPECT_EQ(dr->state_version(), 2u);

  // A newer, failing backup blocks recovery.
  const auto t2 = kNow + hours(2);
  ASSERT_TRUE(dr->apply({.topic = "telemetry.operational.backups",
                         .time = t2,
                         .payload = backup_snapshot("fail", {"No successful backup recorded"})})
                  .has_value());
  s = dr->snapshot(t2);
  EXPECT_EQ(s.status, core::Status::kFail);
  EXPECT_EQ(s.metadata["recovery_status"], "blocked");
  EXPECT_EQ(issue_codes(s), "disaster_recovery.backup_validation");

  // What survives a restart: both parts; the restored component plans again right away.
  const json state = dr->state();
  auto restored = DisasterRecovery::create({}).value();
  ASSERT_TRUE(restored->restore(state).has_value());
  ASSERT_TRUE(restored->active());
  const auto r = restored->snapshot(t2);
  EXPECT_EQ(r.status, core::Status::kFail);
  EXPECT_EQ(r.issues, s.issues);
  EXPECT_EQ(r.observed_at, t1);  // the newer part's own time (the drill ran at t1)
  EXPECT_FALSE(restored->restore({{"backups", {{"x", 1}}}}).has_value());
  EXPECT_TRUE(restored->restore(nullptr).has_value());
}

// A DR document's parts count as the latest backups and drill: a later drill event re-plans
// with the document's backups.
TEST(DisasterRecovery, DocumentPartsAreTheLatest) {
  auto dr = DisasterRecovery::create({}).value();
  ASSERT_TRUE(dr->apply({.topic = "telemetry.operational.disaster_recovery",
                         .time = kNow,
                         .payload = {{"backups",
                                      backup_snapshot("warn", {"Retention window below target"})},
                                     {"failover_drill", failover_snapshot()}}})
                  .has_value());
  EXPECT_EQ(dr->snapshot(kNow).status, core::Status::kWarn);
  ASSERT_TRUE(dr->apply({.topic = "telemetry.operational.failover_drill",
                         .time = kNow + hours(1),
                         .payload = failover_snapshot("fail")})
                  .has_value());
  const auto s = dr->snapshot(kNow + hours(1));
  EXPECT_EQ(s.status, core::Status::kFail);
  EXPECT_EQ(issue_codes(s),
            "disaster_recovery.backup_validation,disaster_recovery.failover_automation");
}

TEST(DisasterRecovery, FollowingCanBeTurnedOff) {
  auto dr = DisasterRecovery::create({.follow_components = false}).value();
  EXPECT_TRUE(dr->consumes("telemetry.operational.disaster_recovery"));
  EXPECT_FALSE(dr->consumes("telemetry.operational.backups"));
  EXPECT_FALSE(dr->consumes("telemetry.operational.failover_drill"));
  EXPECT_FALSE(
      dr->apply(
            {.topic = "telemetry.operational.backups", .time = kNow, .payload = backup_snapshot()})
          .has_value());
  auto bad = DisasterRecovery::create({}, {.service = ""});
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().field, "backups.service");
  auto bad_drill = DisasterRecovery::create({}, {}, {.trigger_statuses = {"bad"}});
  ASSERT_FALSE(bad_drill.has_value());
  EXPECT_EQ(bad_drill.error().field, "failover_drill.trigger_statuses");
}

// Every issue category has its runbook section (the issue's runbook link is
// docs/runbooks/disaster_recovery.md#<category>).
TEST(DisasterRecovery, RunbookHasASectionPerCategory) {
  std::ifstream in(fs::path(__FILE__).parent_path() / "../../docs/runbooks/disaster_recovery.md");
  ASSERT_TRUE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  for (const char* category : {"backup_validation", "failover_automation"}) {
    EXPECT_NE(text.str().find(std::string("\n## ") + category + "\n"), std::string::npos)
        << category;
  }
}

}  // namespace
}  // namespace opsready::components
