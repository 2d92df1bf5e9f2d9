#include "opsready/components/backups.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "opsready/core/time.h"

namespace opsready::components {
namespace {

using nlohmann::json;
using std::chrono::days;
using std::chrono::hours;
using std::chrono::seconds;

namespace fs = std::filesystem;
const fs::path kTestdata = fs::path(__FILE__).parent_path().parent_path().parent_path() /
                           "examples" / "documents" / "backups";

core::TimePoint at(const char* text) { return core::parse_rfc3339(text).value(); }
std::string iso(core::TimePoint t) { return core::format_rfc3339(t); }

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

Evaluated eval(const json& doc, core::TimePoint now = at("2024-01-03T12:00:00Z"),
               const BackupsConfig& config = {}) {
  auto b = Backups::create(config).value();
  auto e = b->evaluate(doc, now);
  EXPECT_TRUE(e.has_value()) << (e ? "" : e.error().describe());
  return e ? *e : Evaluated{};
}

core::Error refusal(const json& doc) {
  auto b = Backups::create({}).value();
  auto e = b->evaluate(doc, at("2024-01-03T12:00:00Z"));
  EXPECT_FALSE(e.has_value()) << doc.dump();
  return e ? core::Error{} : e.error();
}

// test_backup.py::test_backup_readiness_ok: a 2 h old backup with a daily frequency is ok.
TEST(Backups, RecentBackupIsOk) {
  const auto now = at("2024-01-03T12:00:00Z");
  const Evaluated e = eval(
      {{"service", "timescale"},
       {"policy", {{"expected_frequency_seconds", 86400}}},
       {"state",
        {{"last_backup_at", iso(now - hours(2))}, {"last_restore_test_at", iso(now - hours(1))}}}},
      now);
  EXPECT_EQ(e.snapshot.status, core::Status::kOk);
  EXPECT_TRUE(e.snapshot.issues.empty());
  EXPECT_EQ(e.snapshot.observed_at, now);
  EXPECT_EQ(e.report["latest_backup_at"], "2024-01-03T10:00:00Z");
  EXPECT_EQ(e.report["next_backup_due_at"], "2024-01-04T10:00:00Z");
  EXPECT_EQ(e.snapshot.summary,
            "timescale status ok; latest backup 2024-01-03T10:00:00Z, next due "
            "2024-01-04T10:00:00Z");
  EXPECT_NE(e.markdown.find("Backup readiness"), std::string::npos);
  EXPECT_EQ(e.snapshot.metadata["source"], "input");
}

// test_backup_readiness_escalates_with_age: hourly frequency, 2 h → warn, 10 h → fail.
TEST(Backups, EscalatesWithAge) {
  const auto now = at("2024-01-04T00:00:00Z");
  struct Case {
    int age_hours;
    core::Status status;
    const char* message;
  };
  const Case cases[] = {
      {2, core::Status::kWarn, "Last backup exceeds warning threshold (7200s > 5400s)"},
      {10, core::Status::kFail, "Last backup exceeds failure threshold (36000s > 9000s)"},
  };
  for (const Case& c : cases) {
    const Evaluated e = eval(
        {{"policy", {{"expected_frequency_seconds", 3600.0}}},
         {"state",
          {{"last_backup_at", iso(now - hours(c.age_hours))}, {"last_restore_test_at", iso(now)}}}},
        now);
    EXPECT_EQ(e.snapshot.status, c.status) << c.age_hours;
    EXPECT_EQ(e.report["issues"], json::array({c.message}));
    EXPECT_EQ(issue_codes(e.snapshot), "backups.backup_age");
    ASSERT_EQ(e.snapshot.issues.size(), 1u);
    EXPECT_EQ(e.snapshot.issues[0].severity, core::severity_for(c.status));
    EXPECT_EQ(e.snapshot.issues[0].runbook, "docs/runbooks/backups.md#backup_age");
  }
}

// The age checks are strict: exactly 1.5 × / 2.5 × the frequency does not escalate.
TEST(Backups, AgeBoundaries) {
  const auto now = at("2024-01-04T00:00:00Z");
  struct Case {
    core::Duration age;
    core::Status status;
  };
  const Case cases[] = {
      {seconds(5400), core::Status::kOk},
      {seconds(5400) + std::chrono::nanoseconds(1), core::Status::kWarn},
      {seconds(9000), core::Status::kWarn},
      {seconds(9001), core::Status::kFail},
  };
  for (const Case& c : cases) {
    const Evaluated e = eval(
        {{"policy", {{"expected_frequency_seconds", "3600"}}},
         {"state", {{"last_backup_at", iso(now - c.age)}, {"last_restore_test_at", iso(now)}}}},
        now);
    EXPECT_EQ(e.snapshot.status, c.status) << core::to_seconds(c.age);
  }
}

// test_backup_readiness_handles_restore_tests: a 10 day old restore drill (interval 7) that
// completed with warnings → warn, with both restore issues.
TEST(Backups, RestoreTests) {
  const auto now = at("2024-02-01T00:00:00Z");
  const Evaluated e =
      eval({{"policy", {{"expected_frequency_seconds", 7200.0}, {"restore_test_interval_days", 7}}},
            {"state",
             {{"last_backup_at", iso(now - hours(1))},
              {"last_restore_test_at", iso(now - days(10))},
              {"last_restore_status", "warn"}}}},
           now);
  EXPECT_EQ(e.snapshot.status, core::Status::kWarn);
  EXPECT_EQ(e.report["issues"], json::array({"Restore drill past target window (864000s > "
                                             "604800s)",
                                             "Last restore drill completed with warnings"}));
  EXPECT_EQ(issue_codes(e.snapshot), "backups.restore_test,backups.restore_status");
}

// The restore cadence: above 1 × the interval warns, above 2 × fails; exactly at either does
// not escalate; interval 0 turns the restore checks off.
TEST(Backups, RestoreBoundaries) {
  const auto now = at("2024-02-01T00:00:00Z");
  struct Case {
    int interval;
    core::Duration age;
    const char* restore_status;
    core::Status status;
  };
  const Case cases[] = {
      {7, days(7), "ok", core::Status::kOk},
      {7, days(7) + seconds(1), "ok", core::Status::kWarn},
      {7, days(14), "ok", core::Status::kWarn},
      {7, days(14) + seconds(1), "ok", core::Status::kFail},
      {7, days(1), "failed", core::Status::kFail},
      {0, days(400), "failed", core::Status::kOk},
  };
  for (const Case& c : cases) {
    const Evaluated e = eval({{"policy", {{"restore_test_interval_days", c.interval}}},
                              {"state",
                               {{"last_backup_at", iso(now - hours(1))},
                                {"last_restore_test_at", iso(now - c.age)},
                                {"last_restore_status", c.restore_status}}}},
                             now);
    EXPECT_EQ(e.snapshot.status, c.status) << c.interval << " " << core::to_seconds(c.age);
  }
  const Evaluated overdue = eval(
      {{"policy", {{"restore_test_interval_days", 7}}},
       {"state",
        {{"last_backup_at", iso(now - hours(1))}, {"last_restore_test_at", iso(now - days(15))}}}},
      now);
  EXPECT_EQ(overdue.report["issues"], json::array({"Restore drill overdue (1296000s > 1209600s)"}));
}

// test_backup_readiness_disabled_policy_fails, with every issue an empty state gives.
TEST(Backups, DisabledPolicyFails) {
  const Evaluated e = eval({{"policy", {{"enabled", false}}}, {"state", json::object()}});
  EXPECT_EQ(e.snapshot.status, core::Status::kFail);
  EXPECT_EQ(e.report["issues"],
            json::array({"Backups are disabled in configuration", "No successful backup recorded",
                         "No restore drill recorded within policy window"}));
  EXPECT_EQ(issue_codes(e.snapshot), "backups.disabled,backups.no_backup,backups.restore_test");
  EXPECT_EQ(e.snapshot.issues[2].severity, core::Severity::kWarning);
  EXPECT_FALSE(e.report.contains("latest_backup_at"));
  EXPECT_FALSE(e.report.contains("next_backup_due_at"));
  EXPECT_EQ(e.snapshot.summary,
            "timescale_backups status fail: Backups are disabled in configuration; No successful "
            "backup recorded; No restore drill recorded within policy window");
}

// Retention, last backup status and recorded failures (de-duplicated), in the spec's order.
TEST(Backups, PolicyAndStateChecks) {
  const auto now = at("2024-01-03T12:00:00Z");
  const Evaluated e = eval({{"policy", {{"retention_days", 3}, {"minimum_retention_days", 7}}},
                            {"state",
                             {{"last_backup_at", iso(now - hours(1))},
                              {"last_backup_status", " Partial "},
                              {"last_restore_test_at", iso(now)},
                              {"recorded_failures", {"s3 timeout", "gcs auth", "s3 timeout"}}}}},
                           now);
  EXPECT_EQ(e.snapshot.status, core::Status::kWarn);
  EXPECT_EQ(e.report["issues"], json::array({"Retention window below minimum target (3d < 7d)",
                                             "Last backup completed with warnings",
                                             "Recent backup failures: s3 timeout, gcs auth"}));
  EXPECT_EQ(issue_codes(e.snapshot),
            "backups.retention,backups.last_backup_status,backups.recorded_failures");

  const Evaluated failed = eval({{"state",
                                  {{"last_backup_at", iso(now)},
                                   {"last_backup_status", "ERROR"},
                                   {"last_restore_test_at", iso(now)}}}},
                                now);
  EXPECT_EQ(failed.snapshot.status, core::Status::kFail);
  EXPECT_EQ(failed.report["issues"], json::array({"Last backup reported failure"}));
}

// warn_after_seconds / fail_after_seconds replace the multipliers; 0 is refused (the original
// read 0 as unset).
TEST(Backups, ExplicitThresholds) {
  const auto now = at("2024-01-03T12:00:00Z");
  const Evaluated e =
      eval({{"policy", {{"warn_after_seconds", 600}, {"fail_after_seconds", 1200}}},
            {"state",
             {{"last_backup_at", iso(now - seconds(900))}, {"last_restore_test_at", iso(now)}}}},
           now);
  EXPECT_EQ(e.report["issues"],
            json::array({"Last backup exceeds warning threshold (900s > 600s)"}));
  EXPECT_EQ(e.report["metadata"]["policy"]["warn_after_seconds"], 600.0);
  EXPECT_EQ(e.report["metadata"]["policy"]["fail_after_seconds"], 1200.0);

  const Evaluated defaults = eval({{"state", {{"last_backup_at", iso(now)}}}}, now);
  const json& policy = defaults.report["metadata"]["policy"];
  EXPECT_EQ(policy["expected_frequency_seconds"], 86400.0);
  EXPECT_EQ(policy["warn_after_seconds"], 129600.0);
  EXPECT_EQ(policy["fail_after_seconds"], 216000.0);
  EXPECT_EQ(policy["retention_days"], 7);
  EXPECT_EQ(policy["minimum_retention_days"], 7);
  EXPECT_EQ(policy["restore_test_interval_days"], 30);

  EXPECT_EQ(refusal({{"policy", {{"warn_after_seconds", 0}}}}).field, "policy.warn_after_seconds");
  EXPECT_EQ(refusal({{"policy", {{"fail_after_seconds", -5}}}}).field, "policy.fail_after_seconds");
  EXPECT_EQ(refusal({{"policy", {{"warn_after_seconds", 600}, {"fail_after_seconds", 300}}}}).field,
            "policy.fail_after_seconds");
  EXPECT_EQ(refusal({{"policy", {{"expected_frequency_seconds", 0}}}}).field,
            "policy.expected_frequency_seconds");
}

// The frequency is floored at 1 s; next_backup_due_at = last backup + frequency.
TEST(Backups, FrequencyFloor) {
  const auto now = at("2024-01-03T12:00:00Z");
  const Evaluated e =
      eval({{"policy", {{"expected_frequency_seconds", 0.25}}},
            {"state", {{"last_backup_at", iso(now)}, {"last_restore_test_at", iso(now)}}}},
           now);
  EXPECT_EQ(e.report["metadata"]["policy"]["expected_frequency_seconds"], 1.0);
  EXPECT_EQ(e.report["next_backup_due_at"], "2024-01-03T12:00:01Z");
}

// The as_dict keeps the policy, state and caller metadata (test_backup_snapshot_serialisation).
TEST(Backups, ReportShapeAndMetadata) {
  const auto now = at("2024-01-03T12:00:00Z");
  const Evaluated e = eval({{"service", "timescale"},
                            {"policy",
                             {{"providers", "aws_s3, gcs"},
                              {"storage_location", "s3://emp-backups/timescale"},
                              {"retention_days", 14}}},
                            {"state",
                             {{"last_backup_at", "2024-01-03T11:00:00"},
                              {"last_backup_status", "ok"},
                              {"last_restore_test_at", "2024-01-01T00:00:00+00:00"}}},
                            {"metadata", {{"ticket", "OPS-1"}}}},
                           now);
  const json expected_policy = {{"enabled", true},
                                {"expected_frequency_seconds", 86400.0},
                                {"warn_after_seconds", 129600.0},
                                {"fail_after_seconds", 216000.0},
                                {"retention_days", 14},
                                {"minimum_retention_days", 7},
                                {"restore_test_interval_days", 30},
                                {"providers", {"aws_s3", "gcs"}},
                                {"storage_location", "s3://emp-backups/timescale"}};
  EXPECT_EQ(e.report["metadata"]["policy"], expected_policy);
  EXPECT_EQ(e.report["metadata"]["state"],
            (json{{"last_backup_status", "ok"},
                  {"last_restore_status", nullptr},
                  {"recorded_failures", json::array()},
                  {"last_backup_at", "2024-01-03T11:00:00Z"},
                  {"last_restore_test_at", "2024-01-01T00:00:00Z"}}));
  EXPECT_EQ(e.report["metadata"]["context"], (json{{"ticket", "OPS-1"}}));
  EXPECT_EQ(e.report["service"], "timescale");
  EXPECT_EQ(e.report["generated_at"], "2024-01-03T12:00:00Z");
  EXPECT_EQ(e.report["status"], "ok");
  EXPECT_EQ(e.report["retention_days"], 14);
  EXPECT_EQ(e.report["issues"], json::array());
  EXPECT_EQ(e.markdown,
            "**Backup readiness – timescale**\n"
            "- Status: ok\n"
            "- Generated: 2024-01-03T12:00:00Z\n"
            "- Retention days: 14\n"
            "- Latest backup: 2024-01-03T11:00:00Z\n"
            "- Next backup due: 2024-01-04T11:00:00Z\n"
            "- Providers: aws_s3, gcs\n"
            "- Storage: s3://emp-backups/timescale");
}

TEST(Backups, MarkdownWithIssues) {
  const Evaluated e = eval({{"service", "a|b"}, {"policy", {{"enabled", "no"}}}});
  EXPECT_EQ(e.markdown,
            "**Backup readiness – a\\|b**\n"
            "- Status: fail\n"
            "- Generated: 2024-01-03T12:00:00Z\n"
            "- Retention days: 7\n"
            "- Latest backup: not recorded\n"
            "\n"
            "**Issues:**\n"
            "- Backups are disabled in configuration\n"
            "- No successful backup recorded\n"
            "- No restore drill recorded within policy window");
}

// The original's TIMESCALE_BACKUP_* extras evaluate like the policy/state form; field errors
// name the extra.
TEST(Backups, EnvironmentForm) {
  const auto now = at("2024-01-04T00:00:00Z");
  const Evaluated env = eval({{"TIMESCALE_BACKUP_FREQUENCY_SECONDS", "3600"},
                              {"TIMESCALE_BACKUP_RETENTION_DAYS", "3"},
                              {"TIMESCALE_BACKUP_LAST_SUCCESS", "2024-01-03T22:00:00Z"},
                              {"TIMESCALE_BACKUP_LAST_STATUS", "ok"},
                              {"TIMESCALE_BACKUP_RESTORE_INTERVAL_DAYS", "0"},
                              {"TIMESCALE_BACKUP_PROVIDERS", "aws_s3,gcs"},
                              {"TIMESCALE_BACKUP_FAILURES", "a;b"},
                              {"TIMESCALE_BACKUP_ENABLED", "yes"}},
                             now);
  const Evaluated input = eval({{"policy",
                                 {{"expected_frequency_seconds", 3600},
                                  {"retention_days", 3},
                                  {"restore_test_interval_days", 0},
                                  {"providers", {"aws_s3", "gcs"}}}},
                                {"state",
                                 {{"last_backup_at", "2024-01-03T22:00:00Z"},
                                  {"last_backup_status", "ok"},
                                  {"recorded_failures", {"a", "b"}}}}},
                               now);
  EXPECT_EQ(env.report, input.report);
  EXPECT_EQ(env.snapshot.status, core::Status::kWarn);
  EXPECT_EQ(env.snapshot.metadata["source"], "environment");
  EXPECT_EQ(issue_codes(env.snapshot),
            "backups.retention,backups.backup_age,backups.recorded_failures");

  EXPECT_EQ(refusal({{"TIMESCALE_BACKUP_FREQUENCY_SECONDS", "hourly"}}).field,
            "TIMESCALE_BACKUP_FREQUENCY_SECONDS");
  EXPECT_EQ(refusal({{"TIMESCALE_BACKUP_LAST_SUCCESS", "yesterday"}}).field,
            "TIMESCALE_BACKUP_LAST_SUCCESS");
  EXPECT_EQ(refusal({{"TIMESCALE_BACKUP_RETENTION", "7"}}).field, "TIMESCALE_BACKUP_RETENTION");
  EXPECT_EQ(refusal({{"TIMESCALE_BACKUP_ENABLED", "true"}, {"policy", json::object()}}).field,
            "policy");
}

TEST(Backups, RefusesDocumentsItDoesNotUnderstand) {
  struct Case {
    json doc;
    const char* field;
  };
  const Case cases[] = {
      {{{"policy", json::object()}, {"polcy", 1}}, "polcy"},
      {{{"policy", {{"retention", 3}}}}, "policy.retention"},
      {{{"policy", {{"retention_days", 3.5}}}}, "policy.retention_days"},
      {{{"policy", {{"retention_days", -1}}}}, "policy.retention_days"},
      {{{"policy", {{"enabled", "maybe"}}}}, "policy.enabled"},
      {{{"policy", {{"retention_days", true}}}}, "policy.retention_days"},
      {{{"policy", "daily"}}, "policy"},
      {{{"state", {{"last_backup_at", 5}}}}, "state.last_backup_at"},
      {{{"state", {{"recorded_failures", {{{"a", 1}}}}}}}, "state.recorded_failures[0]"},
      {{{"state", json::object()}, {"generated_at", "soon"}}, "generated_at"},
      {{{"service", "x"}}, ""},
      {json::object(), ""},
      {{{"status", "ok"}, {"retention", 7}}, "retention"},
      {{{"status", "sideways"}}, "status"},
      {{{"status", "ok"}, {"latest_backup_at", "never"}}, "latest_backup_at"},
      {{{"status", "ok"}, {"metadata", {{"issue_details", {{{"severity", "bad"}}}}}}},
       "metadata.issue_details[0].severity"},
  };
  for (const Case& c : cases) EXPECT_EQ(refusal(c.doc).field, c.field) << c.doc.dump();
  EXPECT_EQ(refusal(json::array()).code, "invalid_document");
}

// An evaluated snapshot of the original (issue messages only): each message gets the category
// and severity of the check that writes it.
TEST(Backups, EvaluatedSnapshotFromMessages) {
  const json doc = {{"service", "timescale"},
                    {"generated_at", "2024-01-04T00:00:00+00:00"},
                    {"status", "fail"},
                    {"latest_backup_at", "2024-01-03T14:00:00+00:00"},
                    {"next_backup_due_at", "2024-01-03T15:00:00+00:00"},
                    {"retention_days", 7},
                    {"issues",
                     {"Last backup exceeds failure threshold (36000s > 9000s)",
                      "Restore drill past target window (864000s > 604800s)", "test"}},
                    {"metadata", {{"policy", {{"providers", {"s3"}}}}}}};
  const Evaluated e = eval(doc, at("2024-01-05T00:00:00Z"));
  EXPECT_EQ(e.snapshot.status, core::Status::kFail);
  EXPECT_EQ(e.snapshot.observed_at, at("2024-01-04T00:00:00Z"));
  EXPECT_EQ(issue_codes(e.snapshot), "backups.backup_age,backups.restore_test,backups.issue");
  EXPECT_EQ(e.snapshot.issues[0].severity, core::Severity::kCritical);
  EXPECT_EQ(e.snapshot.issues[1].severity, core::Severity::kWarning);
  EXPECT_EQ(e.snapshot.issues[2].severity, core::Severity::kCritical);
  EXPECT_EQ(e.report, doc);
  EXPECT_EQ(e.report["metadata"]["policy"]["providers"], json::array({"s3"}));
  EXPECT_EQ(e.snapshot.metadata["source"], "evaluated_snapshot");
  EXPECT_EQ(e.snapshot.summary,
            "timescale status fail: Last backup exceeds failure threshold (36000s > 9000s); "
            "Restore drill past target window (864000s > 604800s); test");
  EXPECT_NE(e.markdown.find("- Providers: s3"), std::string::npos);
  EXPECT_NE(e.markdown.find("- Next backup due: 2024-01-03T15:00:00Z"), std::string::npos);
}

// An evaluated snapshot with issue_details keeps their (ok/warn/fail) severities.
TEST(Backups, EvaluatedSnapshotWithIssueDetails) {
  const json doc = {{"service", "timescale"},
                    {"generated_at", "2024-01-04T00:00:00Z"},
                    {"status", "warn"},
                    {"retention_days", 3},
                    {"issues", {"Retention window below minimum target (3d < 7d)"}},
                    {"metadata",
                     {{"issue_details",
                       {{{"category", "retention"},
                         {"severity", "warn"},
                         {"message", "Retention window below minimum target (3d < 7d)"}},
                        {{"category", "restore_test"},
                         {"severity", "ok"},
                         {"message", "restore drill scheduled"}}}}}}};
  const Evaluated e = eval(doc);
  EXPECT_EQ(e.snapshot.status, core::Status::kWarn);
  EXPECT_EQ(issue_codes(e.snapshot), "backups.retention,backups.restore_test");
  EXPECT_EQ(e.snapshot.issues[0].severity, core::Severity::kWarning);
  EXPECT_EQ(e.snapshot.issues[1].severity, core::Severity::kInfo);
}

// A report this component wrote reads back as the same snapshot.
TEST(Backups, ReportRoundTrip) {
  const auto now = at("2024-01-04T00:00:00Z");
  const Evaluated first = eval({{"policy", {{"expected_frequency_seconds", 3600}}},
                                {"state", {{"last_backup_at", iso(now - hours(2))}}}},
                               now);
  const Evaluated again = eval(first.report, now + hours(5));
  EXPECT_EQ(again.snapshot.status, first.snapshot.status);
  EXPECT_EQ(again.snapshot.issues, first.snapshot.issues);
  EXPECT_EQ(again.snapshot.observed_at, now);
  EXPECT_EQ(again.markdown, first.markdown);
}

TEST(Backups, ComponentKeepsTheLatestDocument) {
  auto b = Backups::create({}).value();
  EXPECT_EQ(b->name(), "backups");
  EXPECT_EQ(b->alert_category(), "operational.backups");
  EXPECT_TRUE(b->consumes("telemetry.operational.backups"));
  EXPECT_FALSE(b->consumes("telemetry.operational.failover_drill"));
  EXPECT_FALSE(b->active());
  const auto t = at("2024-01-03T12:00:00Z");
  ASSERT_TRUE(
      b->apply(
           {.topic = "telemetry.operational.backups",
            .time = t,
            .payload = {{"state", {{"last_backup_at", iso(t)}, {"last_restore_test_at", iso(t)}}}}})
          .has_value());
  EXPECT_TRUE(b->active());
  EXPECT_EQ(b->snapshot(t).status, core::Status::kOk);
  auto refused =
      b->apply({.topic = "telemetry.operational.backups", .time = t, .payload = {{"x", 1}}});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().field, "x");
  EXPECT_EQ(b->snapshot(t).status, core::Status::kOk);
  EXPECT_EQ(b->snapshot(t).observed_at, t);
}

TEST(Backups, ValidatesConfig) {
  struct Case {
    BackupsConfig config;
    const char* field;
  };
  const Case cases[] = {
      {{.service = ""}, "service"},
      {{.expected_frequency = seconds(0)}, "expected_frequency"},
      {{.warn_after_factor = 0}, "warn_after_factor"},
      {{.warn_after_factor = 3, .fail_after_factor = 2}, "fail_after_factor"},
      {{.restore_warn_factor = std::nan("")}, "restore_warn_factor"},
      {{.restore_fail_factor = 0.5}, "restore_fail_factor"},
      {{.minimum_retention_days = 40000}, "minimum_retention_days"},
  };
  for (const Case& c : cases) {
    auto ok = validate(c.config);
    ASSERT_FALSE(ok.has_value()) << c.field;
    EXPECT_EQ(ok.error().field, c.field);
  }
  EXPECT_TRUE(validate(BackupsConfig{}).has_value());
  // The config's policy defaults fill what a document leaves out.
  const Evaluated e =
      eval({{"state", {{"last_backup_at", "2024-01-03T11:00:00Z"}}}}, at("2024-01-03T12:00:00Z"),
           {.service = "pg",
            .expected_frequency = std::chrono::minutes(20),
            .restore_test_interval_days = 0});
  EXPECT_EQ(e.report["issues"],
            json::array({"Last backup exceeds failure threshold (3600s > 3000s)"}));
  EXPECT_EQ(e.report["service"], "pg");
}

// The example documents under testdata/backups evaluate as documented.
TEST(Backups, Testdata) {
  const auto now = at("2025-01-02T12:00:00Z");
  const Evaluated report = eval(load("report.json"), now);
  EXPECT_EQ(report.snapshot.status, core::Status::kOk);
  const Evaluated env = eval(load("environment.json"), now);
  EXPECT_EQ(env.snapshot.status, core::Status::kWarn);
  EXPECT_EQ(issue_codes(env.snapshot), "backups.restore_test");
  const Evaluated evaluated = eval(load("evaluated.json"), now);
  EXPECT_EQ(evaluated.snapshot.status, core::Status::kWarn);
  EXPECT_EQ(issue_codes(evaluated.snapshot), "backups.backup_age");
}

// Every issue category has its runbook section (the issue's runbook link is
// docs/runbooks/backups.md#<category>).
TEST(Backups, RunbookHasASectionPerCategory) {
  std::ifstream in(fs::path(__FILE__).parent_path() / "../../docs/runbooks/backups.md");
  ASSERT_TRUE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  for (const char* category :
       {"disabled", "retention", "last_backup_status", "no_backup", "backup_age",
        "recorded_failures", "restore_test", "restore_status", "issue"}) {
    EXPECT_NE(text.str().find(std::string("\n## ") + category + "\n"), std::string::npos)
        << category;
  }
}

}  // namespace
}  // namespace opsready::components
