// Tests of the system_validation component: the cases of test_system_validation.py (spec
// readiness-validation-incident-security-slo §10), the rules of §3 at their boundaries, the
// decisions of §11.2 items 1-4 and 6, refusals, history and restart.
#include "opsready/components/system_validation.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "opsready/core/time.h"

namespace opsready::components {
namespace {

using core::Severity;
using core::Status;
using nlohmann::json;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

const core::TimePoint kNow = core::parse_rfc3339("2025-01-02T00:00:00Z").value();

std::string iso(core::TimePoint t) { return core::format_rfc3339(t); }

std::unique_ptr<SystemValidation> make(const SystemValidationConfig& config = {}) {
  auto c = SystemValidation::create(config);
  EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().describe());
  return std::move(*c);
}

Evaluated eval(const json& doc, const SystemValidationConfig& config = {},
               core::TimePoint now = kNow) {
  auto e = make(config)->evaluate(doc, now);
  EXPECT_TRUE(e.has_value()) << (e ? "" : e.error().describe());
  return e ? std::move(*e) : Evaluated{};
}

core::Error refusal(const json& doc, const SystemValidationConfig& config = {}) {
  auto e = make(config)->evaluate(doc, kNow);
  EXPECT_FALSE(e.has_value());
  return e ? core::Error{} : e.error();
}

std::string codes(const core::ComponentSnapshot& s) {
  std::string out;
  for (const auto& i : s.issues) out += (out.empty() ? "" : ",") + i.code;
  return out;
}

const core::Issue* issue(const core::ComponentSnapshot& s, std::string_view code) {
  for (const auto& i : s.issues) {
    if (i.code == code) return &i;
  }
  return nullptr;
}

// An evaluated snapshot (the original's as_dict), as the spec's hand-built test snapshots.
json snapshot_doc(const char* status, int total, int passed, double rate, json checks,
                  json metadata = json::object()) {
  return {{"status", status},
          {"generated_at", iso(kNow)},
          {"total_checks", total},
          {"passed_checks", passed},
          {"failed_checks", total - passed},
          {"success_rate", rate},
          {"checks", std::move(checks)},
          {"metadata", std::move(metadata)}};
}

json check(const char* name, bool passed, const char* message = nullptr) {
  json c = {{"name", name}, {"passed", passed}};
  if (message != nullptr) c["message"] = message;
  return c;
}

std::filesystem::path testdata(const char* name) {
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "examples" /
         "documents" / "system_validation" / name;
}

json read_json(const char* name) {
  std::ifstream in(testdata(name), std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return json::parse(out.str());
}

// ---- Evaluation and Markdown ------------------------------------------------------------------

// test_evaluate_system_validation_full_pass.
TEST(SystemValidation, FullPass) {
  const json report = {{"timestamp", iso(kNow)},
                       {"validator", "System Completeness"},
                       {"total_checks", 2},
                       {"results", {{"core.interfaces", true}, {"integration", true}}},
                       {"summary", {{"status", "PASS"}, {"message", "All checks passed"}}},
                       {"metadata", {{"window", "daily"}}}};
  const Evaluated e = eval(report);
  const auto& s = e.snapshot;
  EXPECT_EQ(s.component, "system_validation");
  EXPECT_EQ(s.status, Status::kOk);
  EXPECT_EQ(s.summary, "2/2 checks passed (success=100%)");
  EXPECT_EQ(s.observed_at, kNow);
  EXPECT_TRUE(s.issues.empty()) << codes(s);
  EXPECT_EQ(e.report["status"], "pass");
  EXPECT_EQ(e.report["passed_checks"], 2);
  EXPECT_EQ(e.report["failed_checks"], 0);
  EXPECT_EQ(e.report["success_rate"], 1.0);
  EXPECT_EQ(e.report["checks"], (json{{{"name", "core.interfaces"}, {"passed", true}},
                                      {{"name", "integration"}, {"passed", true}}}));
  const json& md = e.report["metadata"];
  EXPECT_EQ(md["check_status_breakdown"], (json{{"passed", 2}, {"failed", 0}}));
  EXPECT_EQ(md["window"], "daily");
  EXPECT_EQ(md["validator"], "System Completeness");
  EXPECT_EQ(md["summary_message"], "All checks passed");
  EXPECT_EQ(md["computed_status"], "pass");
  EXPECT_EQ(md["reliability_status"], "pass");
  EXPECT_FALSE(md.contains("failing_checks"));
  EXPECT_FALSE(md.contains("issue_details"));
  EXPECT_EQ(e.markdown,
            "**System validation – status: pass**\n"
            "- Generated at: 2025-01-02T00:00:00Z\n"
            "- Checks passed: 2/2\n"
            "- Success rate: 100.00%\n"
            "- Validator: System Completeness\n"
            "- Summary: All checks passed\n"
            "- Reliability status: pass\n"
            "- Snapshot staleness (hours): 0.0\n"
            "- Reliability average success rate: 100.00%\n"
            "\n"
            "**Checks:**\n"
            "- ✅ core.interfaces\n"
            "- ✅ integration");
}

// test_evaluate_system_validation_partial_warn: 2/3 and PARTIAL say warn, the reliability
// average (67% < 85%) makes it FAIL (§3.3 "Consequences"; kept, §11.2.2).
TEST(SystemValidation, PartialIsFailByReliability) {
  const json report = {
      {"timestamp", iso(kNow)},
      {"validator", "System Completeness"},
      {"total_checks", 3},
      {"results",
       {{"core.exceptions", true}, {"population_manager", false}, {"system_integration", true}}},
      {"summary", {{"status", "PARTIAL"}, {"message", "population manager pending"}}}};
  const Evaluated e = eval(report);
  const auto& s = e.snapshot;
  EXPECT_EQ(s.status, Status::kFail);
  EXPECT_EQ(e.report["status"], "fail");
  EXPECT_EQ(e.report["passed_checks"], 2);
  EXPECT_EQ(e.report["failed_checks"], 1);
  EXPECT_DOUBLE_EQ(e.report["success_rate"].get<double>(), 2.0 / 3.0);
  const json& md = e.report["metadata"];
  EXPECT_EQ(md["failing_check_names"], json{"population_manager"});
  EXPECT_EQ(md["failing_checks"][0]["name"], "population_manager");
  EXPECT_TRUE(md["failing_checks"][0]["message"].is_null());
  EXPECT_EQ(md["check_status_breakdown"], (json{{"passed", 2}, {"failed", 1}}));
  // The computed status and the reliability status, separately (§11.2.2).
  EXPECT_EQ(md["computed_status"], "warn");
  EXPECT_EQ(md["reliability_status"], "fail");
  EXPECT_EQ(md["reliability"]["status"], "fail");
  EXPECT_EQ(md["reliability_issues"], json{"Average success rate 67% below fail threshold 85%"});
  EXPECT_EQ(md["issue_details"],
            (json{{{"category", "reliability"},
                   {"severity", "fail"},
                   {"message", "Average success rate 67% below fail threshold 85%"},
                   {"detail", {{"average_success_rate", 2.0 / 3.0}, {"threshold", 0.85}}}}}));
  EXPECT_EQ(md["issue_counts"], (json{{"fail", 1}}));
  EXPECT_EQ(md["highest_issue_severity"], "fail");
  EXPECT_EQ(codes(s),
            "system_validation.check:population_manager,"
            "system_validation.reliability:average_success_rate,"
            "system_validation.gate:success_rate_below_min");
  EXPECT_EQ(s.issues[0].severity, Severity::kWarning);  // some checks passed
  EXPECT_EQ(s.issues[0].message, "Validation check failed: population_manager");
  EXPECT_EQ(s.issues[0].runbook, "docs/runbooks/system_validation.md#check");
  EXPECT_EQ(s.issues[1].severity, Severity::kCritical);
  EXPECT_EQ(s.issues[1].runbook, "docs/runbooks/system_validation.md#reliability");
  EXPECT_EQ(s.issues[2].message, "Success rate 66.7% below minimum 95.0%");
  EXPECT_EQ(s.issues[2].severity, Severity::kCritical);
  EXPECT_EQ(s.issues[2].runbook, "docs/runbooks/system_validation.md#gate");
  EXPECT_EQ(
      s.summary,
      "2/3 checks passed (success=67%); failing checks: population_manager; reliability fail");
  EXPECT_EQ(s.metadata["gate"]["reason_codes"], (json{"status_fail", "success_rate_below_min"}));
  EXPECT_EQ(s.metadata["source"], "report");
}

// test_markdown_includes_failing_checks, and the whole Markdown of a report with every part.
TEST(SystemValidation, MarkdownGolden) {
  const json report = {{"timestamp", iso(kNow)},
                       {"validator", "Validator X"},
                       {"results",
                        {{{"name", "db"}, {"passed", false}, {"message", "down | since 09:00"}},
                         {{"check", "api"}, {"status", "ok"}}}},
                       {"summary", {{"message", "db pending"}}}};
  const Evaluated e = eval(report);
  EXPECT_EQ(e.markdown,
            "**System validation – status: fail**\n"
            "- Generated at: 2025-01-02T00:00:00Z\n"
            "- Checks passed: 1/2\n"
            "- Success rate: 50.00%\n"
            "- Failing checks: db\n"
            "- Validator: Validator X\n"
            "- Summary: db pending\n"
            "- Reliability status: fail\n"
            "- Snapshot staleness (hours): 0.0\n"
            "- Reliability average success rate: 50.00%\n"
            "- Consecutive WARN streak: 1\n"
            "\n"
            "**Reliability issues:**\n"
            "- Average success rate 50% below fail threshold 85%\n"
            "\n"
            "**Gate:**\n"
            "- Blocking: Success rate 50.0% below minimum 95.0%\n"
            "\n"
            "**Checks:**\n"
            "- ❌ db: down \\| since 09:00\n"
            "- ✅ api");
  EXPECT_EQ(issue(e.snapshot, "system_validation.check:db")->message,
            "Validation check failed: db – down | since 09:00");
}

// test_load_system_validation_snapshot_reads_file: the report's metadata (report_path, run)
// is kept; failed_checks = 1. Also the example files of docs/schemas.
TEST(SystemValidation, TestdataReport) {
  const Evaluated e = eval(read_json("report.json"), {}, kNow + hours(24));
  EXPECT_EQ(e.report["failed_checks"], 1);
  EXPECT_EQ(e.report["metadata"]["run"], "ci");
  EXPECT_EQ(e.report["metadata"]["report_path"], "system_validation_report.json");
  EXPECT_EQ(e.report["metadata"]["version"], "2.4.1");
  EXPECT_EQ(e.report["checks"][1], (json{{"name", "integration"},
                                         {"passed", false},
                                         {"message", "integration suite timed out"},
                                         {"metadata", {{"duration_s", 612}}}}));
  EXPECT_EQ(e.report["metadata"]["failing_checks"][0]["metadata"], (json{{"duration_s", 612}}));
  EXPECT_EQ(e.snapshot.status, Status::kFail);

  const Evaluated v = eval(read_json("evaluated.json"), {}, kNow + hours(24));
  EXPECT_EQ(v.snapshot.status, Status::kFail);
  EXPECT_EQ(codes(v.snapshot),
            "system_validation.check:integration,system_validation.reliability,"
            "system_validation.gate:success_rate_below_min");
  EXPECT_EQ(v.report, read_json("evaluated.json"));
}

// test_ci_system_validation_report_has_no_red, with the future-date decision (§11.2.3): a
// report of now passes; the CI fixture's 2099 date is flagged instead of being 0 h stale.
TEST(SystemValidation, CiFixtureAndFutureDates) {
  json report = {{"timestamp", iso(kNow)}, {"results", {{"core", true}, {"ingest", true}}}};
  EXPECT_EQ(eval(report).snapshot.status, Status::kOk);

  report["timestamp"] = "2099-01-01T00:00:00Z";
  const Evaluated e = eval(report);
  EXPECT_EQ(e.snapshot.status, Status::kWarn);
  EXPECT_EQ(codes(e.snapshot), "system_validation.reliability:future_dated");
  EXPECT_EQ(e.snapshot.issues[0].severity, Severity::kWarning);
  EXPECT_EQ(e.snapshot.issues[0].message,
            "Latest system validation snapshot dated 648648.0h in the future (tolerance 5m)");
  EXPECT_EQ(e.report["metadata"]["reliability"]["stale_hours"], 0.0);

  // The tolerance boundary: 5 min ahead is clock skew, a second more is flagged.
  report["timestamp"] = iso(kNow + minutes(5));
  EXPECT_EQ(eval(report).snapshot.status, Status::kOk);
  report["timestamp"] = iso(kNow + minutes(5) + seconds(1));
  EXPECT_EQ(codes(eval(report).snapshot), "system_validation.reliability:future_dated");
  // An evaluated snapshot from the future too.
  json snap = snapshot_doc("pass", 1, 1, 1.0, {check("core", true)});
  snap["generated_at"] = iso(kNow + hours(2));
  EXPECT_EQ(codes(eval(snap).snapshot), "system_validation.reliability:future_dated");
}

// §11.2.1: check verdicts are parsed, not truthiness. {"status": "fail"} fails.
TEST(SystemValidation, CheckVerdicts) {
  struct Case {
    json value;
    bool passed;
  };
  const Case cases[] = {
      {true, true},
      {false, false},
      {"pass", true},
      {"OK", true},
      {" healthy ", true},
      {"fail", false},
      {"warn", false},  // a check that does not say it passed has not passed
      {"partial", false},
      {"yes", true},
      {0, false},
      {{{"status", "fail"}}, false},
      {{{"status", "FAILED"}}, false},
      {{{"status", "green"}}, true},
      {{{"passed", true}, {"status", "pass"}}, true},
      {{{"passed", "no"}}, false},
  };
  for (const Case& c : cases) {
    const json report = {{"timestamp", iso(kNow)}, {"results", {{"db", c.value}}}};
    const Evaluated e = eval(report);
    EXPECT_EQ(e.report["checks"][0]["passed"], c.passed) << c.value.dump();
  }
  // The list form reads the same words.
  const json list = {
      {"timestamp", iso(kNow)},
      {"checks", {{{"name", "db"}, {"status", "fail"}}, {{"name", "api"}, {"passed", true}}}}};
  const Evaluated e = eval(list);
  EXPECT_EQ(e.report["passed_checks"], 1);
  EXPECT_EQ(e.report["metadata"]["failing_check_names"], json{"db"});
  // Plain values (read in one pass) and the other spellings of the reading rules give the
  // same checks; other keys are the check's metadata.
  const json plain_items = {{{"name", "7"}, {"passed", true}, {"x", 1}},
                            {{"check", "b"}, {"status", "fail"}, {"message", ""}}};
  const json other_items = {{{"name", 7}, {"passed", "yes"}, {"x", 1}},
                            {{"name", ""}, {"check", "b"}, {"passed", 0}, {"status", "FAILED"}}};
  const Evaluated a = eval({{"timestamp", iso(kNow)}, {"results", plain_items}});
  const Evaluated b = eval({{"timestamp", iso(kNow)}, {"results", other_items}});
  EXPECT_EQ(a.report["checks"], (json{{{"name", "7"}, {"passed", true}, {"metadata", {{"x", 1}}}},
                                      {{"name", "b"}, {"passed", false}}}));
  EXPECT_EQ(b.report["checks"], a.report["checks"]);
}

// A check value that is neither a boolean, a status word nor an object with passed/status is
// refused with its path, as is any other shape the reader does not know.
TEST(SystemValidation, Refusals) {
  struct Case {
    json doc;
    const char* field;
  };
  const json t = iso(kNow);
  const Case cases[] = {
      {{{"results", {{"db", 2}}}}, "results.db"},
      {{{"results", {{"db", nullptr}}}}, "results.db"},
      {{{"results", {{"db", {{"message", "x"}}}}}}, "results.db"},
      {{{"results", {{"db", {{"status", "maybe"}}}}}}, "results.db.status"},
      {{{"results", {{"db", {{"passed", true}, {"status", "fail"}}}}}}, "results.db.status"},
      {{{"results", {{"db", {{"passed", true}, {"message", json::array()}}}}}},
       "results.db.message"},
      {{{"results", {{{"name", "a"}, {"passed", true}}, "b"}}}, "results[1]"},
      {{{"checks", {{{"name", "a"}, {"passed", "maybe"}}}}}, "checks[0].passed"},
      {{{"checks", {{{"name", "a"}}}}}, "checks[0]"},
      {{{"results", "db"}}, "results"},
      {{{"results", json::object()}, {"checks", 5}}, "checks"},
      {{{"bogus", 1}}, "bogus"},
      {{{"summary", {{"status", "PASS"}, {"extra", 1}}}}, "summary.extra"},
      {{{"summary", "PASS"}}, "summary"},
      {{{"summary", {{"status", "sideways"}}}}, "summary.status"},
      {{{"status", "maybe"}}, "status"},
      {{{"status", 3}}, "status"},
      {{{"timestamp", "yesterday"}}, "timestamp"},
      {{{"total_checks", -1}}, "total_checks"},
      {{{"total_checks", 2.5}}, "total_checks"},
      {{{"total_checks", "many"}}, "total_checks"},
      {{{"total_checks", 2}, {"passed_checks", 3}}, "passed_checks"},
      {{{"total_checks", 2}, {"passed_checks", 1}, {"failed_checks", 0}}, "failed_checks"},
      {{{"success_rate", "high"}}, "success_rate"},
      {{{"metadata", "x"}}, "metadata"},
      // Evaluated snapshots.
      {{{"generated_at", t}, {"status", "bogus"}}, "status"},
      {{{"generated_at", t}}, "status"},
      {{{"generated_at", "soon"}, {"status", "pass"}}, "generated_at"},
      {{{"generated_at", t}, {"status", "pass"}, {"timestamp", t}}, "timestamp"},
      {{{"generated_at", t},
        {"status", "pass"},
        {"checks", {{{"name", "a"}, {"passed", true}, {"x", 1}}}}},
       "checks[0].x"},
      {{{"generated_at", t}, {"status", "pass"}, {"checks", {{{"name", "a"}}}}},
       "checks[0].passed"},
      {{{"generated_at", t}, {"status", "pass"}, {"checks", {1}}}, "checks[0]"},
      {{{"generated_at", t},
        {"status", "pass"},
        {"metadata", {{"reliability", {{"status", "odd"}}}}}},
       "metadata.reliability.status"},
      {{{"generated_at", t},
        {"status", "pass"},
        {"metadata", {{"issue_details", {{{"category", "x"}, {"severity", "odd"}}}}}}},
       "metadata.issue_details[0].severity"},
  };
  for (const Case& c : cases) {
    const core::Error err = refusal(c.doc);
    EXPECT_EQ(err.field, c.field) << c.doc.dump() << " → " << err.describe();
  }
  EXPECT_EQ(refusal(json::array()).code, "invalid_document");
  // A refused document leaves the previous evaluation and the history alone.
  auto sv = make();
  ASSERT_TRUE(sv->apply({.topic = std::string(kSystemValidationTopic),
                         .time = kNow,
                         .payload = {{"timestamp", iso(kNow)}, {"results", {{"a", true}}}}})
                  .has_value());
  const std::uint64_t version = sv->state_version();
  auto bad = sv->apply({.topic = std::string(kSystemValidationTopic),
                        .time = kNow,
                        .payload = {{"results", {{"a", 2}}}}});
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().field, "results.a");
  EXPECT_EQ(sv->history().size(), 1u);
  EXPECT_EQ(sv->state_version(), version);
  EXPECT_EQ(sv->snapshot(kNow).status, Status::kOk);
}

// §3.1 counts and rate normalisation.
TEST(SystemValidation, CountsAndRate) {
  struct Case {
    json extra;
    json results;
    int total;
    int passed;
    double rate;
    const char* status;
  };
  const Case cases[] = {
      // total raised to the number of checks.
      {{{"total_checks", 1}}, {{"a", true}, {"b", true}}, 2, 2, 1.0, "pass"},
      // more declared checks than listed: passed/total, warn.
      {{{"total_checks", 4}}, {{"a", true}, {"b", true}}, 4, 2, 0.5, "fail"},
      // a declared total with no results keeps the total (the spec's reset to 0 is dead code).
      {{{"total_checks", 5}, {"passed_checks", 5}}, nullptr, 5, 5, 1.0, "pass"},
      // explicit rates: > 1 is a percentage, capped; "95%" is 0.95; negative falls back.
      {{{"success_rate", 95}}, {{"a", true}, {"b", false}}, 2, 1, 0.95, "warn"},
      {{{"success_rate", 250}}, {{"a", true}, {"b", false}}, 2, 1, 1.0, "warn"},
      {{{"success_rate", "95%"}}, {{"a", true}, {"b", false}}, 2, 1, 0.95, "warn"},
      {{{"success_rate", -1}}, {{"a", true}, {"b", false}}, 2, 1, 0.5, "fail"},
      // an empty report: warn by the counts, FAIL by reliability (rate 0).
      {json::object(), nullptr, 0, 0, 0.0, "fail"},
  };
  for (const Case& c : cases) {
    json report = c.extra;
    report["timestamp"] = iso(kNow);
    if (!c.results.is_null()) report["results"] = c.results;
    const Evaluated e =
        eval(report, {.reliability_warn_success_rate = 0.9, .reliability_fail_success_rate = 0.6});
    EXPECT_EQ(e.report["total_checks"], c.total) << report.dump();
    EXPECT_EQ(e.report["passed_checks"], c.passed) << report.dump();
    EXPECT_EQ(e.report["failed_checks"], c.total - c.passed) << report.dump();
    EXPECT_DOUBLE_EQ(e.report["success_rate"].get<double>(), c.rate) << report.dump();
    EXPECT_EQ(e.report["status"], c.status) << report.dump();
  }
}

// §3.2: computed status, then escalated by the summary and top-level words, never lowered.
TEST(SystemValidation, StatusWords) {
  struct Case {
    json results;
    json summary_status;
    json status;
    const char* computed;
  };
  const Case cases[] = {
      {{{"a", true}}, nullptr, nullptr, "pass"},
      {{{"a", true}}, "degraded", nullptr, "warn"},
      {{{"a", true}}, nullptr, " ERROR ", "fail"},
      {{{"a", false}}, "pass", "ok", "fail"},  // never better
      {{{"a", true}, {"b", false}}, "", nullptr, "warn"},
  };
  for (const Case& c : cases) {
    json report = {{"timestamp", iso(kNow)}, {"results", c.results}};
    if (!c.summary_status.is_null()) report["summary"] = {{"status", c.summary_status}};
    if (!c.status.is_null()) report["status"] = c.status;
    const Evaluated e = eval(report, {.reliability_warn_success_rate = 0,
                                      .reliability_fail_success_rate = 0,
                                      .reliability_warn_fail_streak = 0,
                                      .reliability_fail_fail_streak = 0,
                                      .min_success_rate = 0});
    EXPECT_EQ(e.report["metadata"]["computed_status"], c.computed) << report.dump();
    EXPECT_EQ(e.report["status"], c.computed) << report.dump();
  }
}

// ---- Reliability ------------------------------------------------------------------------------

json report_at(core::TimePoint t, int passed, int failed) {
  json results = json::object();
  for (int i = 0; i < passed; ++i) results["ok_" + std::to_string(i)] = true;
  for (int i = 0; i < failed; ++i) results["bad_" + std::to_string(i)] = false;
  return {{"timestamp", iso(t)}, {"results", results}};
}

// test_system_validation_reliability_metadata_and_status: history fail@-10h, warn@-30h and a
// current run with 0/2 passing → FAIL, with reliability issues and issue_counts.fail.
TEST(SystemValidation, ReliabilityFromHistory) {
  const json history = {
      {{"generated_at", iso(kNow - hours(10))}, {"status", "fail"}, {"success_rate", 0.25}},
      {{"generated_at", iso(kNow - hours(30))}, {"status", "warn"}, {"success_rate", 0.6}}};
  const json report = {{"timestamp", iso(kNow)},
                       {"total_checks", 2},
                       {"results", {{"database", false}, {"event_bus", false}}}};
  auto runs = SystemValidation::history_from_json(history);
  ASSERT_TRUE(runs.has_value()) << runs.error().describe();
  auto e = make()->evaluate_with_history(report, *runs, kNow);
  ASSERT_TRUE(e.has_value()) << e.error().describe();
  const auto& s = e->snapshot;
  EXPECT_EQ(s.status, Status::kFail);
  const json& rel = e->report["metadata"]["reliability"];
  EXPECT_EQ(rel["status"], "fail");
  EXPECT_EQ(rel["samples_considered"], 3);
  EXPECT_EQ(rel["fail_streak"], 2);
  EXPECT_EQ(rel["warn_streak"], 0);
  EXPECT_DOUBLE_EQ(rel["average_success_rate"].get<double>(), (0.25 + 0.6 + 0.0) / 3);
  EXPECT_EQ(rel["latest_timestamp"], iso(kNow));
  EXPECT_EQ(rel["window_hours"], 72.0);
  EXPECT_EQ(rel["metadata"]["stale_warn_hours"], 24.0);
  EXPECT_EQ(rel["issues"], (json{"2 consecutive FAIL snapshots",
                                 "Average success rate 28% below fail threshold 85%"}));
  EXPECT_EQ(e->report["metadata"]["reliability_issues"], rel["issues"]);
  EXPECT_EQ(e->report["metadata"]["issue_counts"], (json{{"fail", 2}}));
  // test_system_validation_reliability_alert_emitted: the reliability findings are issues of
  // their own category; no check passed, so the check issues are critical.
  EXPECT_EQ(codes(s),
            "system_validation.check:database,system_validation.check:event_bus,"
            "system_validation.reliability:fail_streak,"
            "system_validation.reliability:average_success_rate,"
            "system_validation.gate:success_rate_below_min");
  EXPECT_EQ(s.issues[0].severity, Severity::kCritical);
  EXPECT_NE(e->markdown.find("- Consecutive FAIL streak: 2\n"), std::string::npos);
}

// §11.2.4: every reliability issue carries its own severity, not the overall one.
TEST(SystemValidation, ReliabilityIssuesOwnSeverity) {
  // Stale 30 h (warn) and an average of 50% (fail).
  const Evaluated e = eval(report_at(kNow - hours(30), 1, 1));
  EXPECT_EQ(e.report["metadata"]["reliability"]["issues"],
            (json{"Latest system validation snapshot stale 30.0h (warn>24.0h)",
                  "Average success rate 50% below fail threshold 85%"}));
  const json& details = e.report["metadata"]["issue_details"];
  ASSERT_EQ(details.size(), 2u);
  EXPECT_EQ(details[0]["severity"], "warn");
  EXPECT_EQ(details[1]["severity"], "fail");
  EXPECT_EQ(e.report["metadata"]["issue_counts"], (json{{"fail", 1}, {"warn", 1}}));
  EXPECT_EQ(issue(e.snapshot, "system_validation.reliability:stale")->severity, Severity::kWarning);
  EXPECT_EQ(issue(e.snapshot, "system_validation.reliability:average_success_rate")->severity,
            Severity::kCritical);
}

// Staleness compares strictly (>): exactly 24 h passes, exactly 48 h warns (verified edges).
TEST(SystemValidation, StalenessBoundaries) {
  struct Case {
    core::Duration age;
    const char* codes;
    const char* message;
  };
  const Case cases[] = {
      {hours(24), "", ""},
      {hours(24) + std::chrono::nanoseconds(1), "system_validation.reliability:stale",
       "Latest system validation snapshot stale 24.0h (warn>24.0h)"},
      {hours(48), "system_validation.reliability:stale",
       "Latest system validation snapshot stale 48.0h (warn>24.0h)"},
      {hours(48) + seconds(1), "system_validation.reliability:stale",
       "Latest system validation snapshot stale 48.0h (fail>48.0h)"},
  };
  for (const Case& c : cases) {
    const Evaluated e = eval(report_at(kNow - c.age, 2, 0));
    EXPECT_EQ(codes(e.snapshot), c.codes) << core::format_duration(c.age);
    if (!e.snapshot.issues.empty()) {
      EXPECT_EQ(e.snapshot.issues[0].message, c.message);
      EXPECT_EQ(e.snapshot.issues[0].severity,
                c.age > hours(48) ? Severity::kCritical : Severity::kWarning);
    }
  }
  // Disabled levels.
  const Evaluated off =
      eval(report_at(kNow - hours(60), 2, 0),
           {.reliability_stale_warn = std::nullopt, .reliability_stale_fail = std::nullopt});
  EXPECT_EQ(codes(off.snapshot), "");
}

// The average compares strictly (<) against 95% / 85%.
TEST(SystemValidation, AverageBoundaries) {
  struct Case {
    double rate;
    const char* status;
  };
  const Case cases[] = {{0.95, "pass"}, {0.9499, "warn"}, {0.85, "warn"}, {0.8499, "fail"}};
  for (const Case& c : cases) {
    json report = report_at(kNow, 2, 0);
    report["success_rate"] = c.rate;
    const Evaluated e = eval(report, {.min_success_rate = 0});
    EXPECT_EQ(e.report["metadata"]["reliability_status"], c.status) << c.rate;
  }
  // 19/20 is exactly 0.95: neither the reliability warn nor the gate minimum trips.
  const Evaluated e = eval(report_at(kNow, 19, 1));
  EXPECT_EQ(e.report["metadata"]["reliability_status"], "pass");
  EXPECT_EQ(codes(e.snapshot), "system_validation.check:bad_0");
  EXPECT_EQ(e.snapshot.status, Status::kWarn);
}

// Streaks: one FAIL run warns, two fail; two WARN runs warn; ties make the current run latest.
TEST(SystemValidation, Streaks) {
  const SystemValidationConfig lenient{.reliability_warn_success_rate = 0,
                                       .reliability_fail_success_rate = 0,
                                       .min_success_rate = 0};
  auto sv = make(lenient);
  const auto run = [](core::TimePoint t, Status s) {
    return SystemValidationRun{.timestamp = t, .status = s, .success_rate = 0};
  };
  const auto issues_of = [&](const json& report, std::vector<SystemValidationRun> history) {
    auto e = sv->evaluate_with_history(report, history, kNow);
    EXPECT_TRUE(e.has_value());
    return e->report["metadata"]["reliability"]["issues"];
  };
  EXPECT_EQ(issues_of(report_at(kNow, 0, 1), {}), json{"1 consecutive FAIL snapshots"});
  EXPECT_EQ(issue(eval(report_at(kNow, 0, 1), lenient).snapshot,
                  "system_validation.reliability:fail_streak")
                ->severity,
            Severity::kWarning);
  EXPECT_EQ(issues_of(report_at(kNow, 0, 1), {run(kNow - hours(1), Status::kFail)}),
            json{"2 consecutive FAIL snapshots"});
  EXPECT_EQ(issues_of(report_at(kNow, 1, 1), {run(kNow - hours(1), Status::kWarn)}),
            json{"2 consecutive WARN snapshots"});
  EXPECT_EQ(issues_of(report_at(kNow, 1, 1), {}), json::array());
  // A FAIL run with the current run's timestamp is the same run: the current one replaces it.
  EXPECT_EQ(issues_of(report_at(kNow, 1, 0), {run(kNow, Status::kFail)}), json::array());
  // Disabled: 0.
  auto off = make({.reliability_warn_fail_streak = 0,
                   .reliability_fail_fail_streak = 0,
                   .reliability_warn_warn_streak = 0});
  auto e = off->evaluate_with_history(report_at(kNow, 0, 1),
                                      {{run(kNow - hours(1), Status::kFail)}}, kNow);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->report["metadata"]["reliability"]["fail_streak"], 2);
  EXPECT_EQ(issue(e->snapshot, "system_validation.reliability:fail_streak"), nullptr);
}

// An old report: stale, and no run within the window (average null).
TEST(SystemValidation, EmptyWindow) {
  const Evaluated e = eval(report_at(kNow - hours(100), 2, 0));
  const json& rel = e.report["metadata"]["reliability"];
  EXPECT_EQ(rel["issues"], (json{"Latest system validation snapshot stale 100.0h (fail>48.0h)",
                                 "No system validation runs within reliability window"}));
  EXPECT_TRUE(rel["average_success_rate"].is_null());
  EXPECT_EQ(rel["samples_considered"], 0);
  EXPECT_EQ(issue(e.snapshot, "system_validation.reliability:window_empty")->severity,
            Severity::kWarning);
  // window 0: every run counts.
  const Evaluated all =
      eval(report_at(kNow - hours(100), 2, 0), {.reliability_window = core::Duration::zero()});
  EXPECT_EQ(all.report["metadata"]["reliability"]["samples_considered"], 1);
}

// ---- History, state, restart ------------------------------------------------------------------

core::TelemetryEvent event_of(json report, core::TimePoint t) {
  return {.topic = std::string(kSystemValidationTopic), .time = t, .payload = std::move(report)};
}

void expect_same(const Evaluated& a, const Evaluated& b) {
  EXPECT_EQ(a.snapshot, b.snapshot);
  EXPECT_EQ(a.report, b.report);
  EXPECT_EQ(a.markdown, b.markdown);
}

// Feeding reports one by one through apply() and giving the same reports as a history give
// the same snapshot, also when the window and max_history drop runs.
TEST(SystemValidation, AppliedHistoryEqualsExplicitHistory) {
  const SystemValidationConfig configs[] = {
      {},
      {.reliability_window = hours(10), .max_history = 2},
      {.reliability_window = core::Duration::zero(), .max_history = 3},
  };
  for (const SystemValidationConfig& config : configs) {
    std::vector<json> reports;
    std::vector<core::TimePoint> times;
    const int shape[][2] = {{3, 0}, {2, 1}, {0, 3}, {1, 2}, {3, 0}, {0, 2}};
    for (int i = 0; i < 6; ++i) {
      times.push_back(kNow + hours(4 * i));
      reports.push_back(report_at(times.back(), shape[i][0], shape[i][1]));
    }
    reports[3]["summary"] = {{"status", "degraded"}};
    reports[4]["timestamp"] = iso(times[3]);  // the same run again: it replaces the earlier
    auto applied = make(config);
    for (std::size_t i = 0; i + 1 < reports.size(); ++i) {
      ASSERT_TRUE(applied->apply(event_of(reports[i], times[i])).has_value());
    }
    auto runs = SystemValidation::history_from_json(
        json(std::vector<json>(reports.begin(), reports.end() - 1)));
    ASSERT_TRUE(runs.has_value()) << runs.error().describe();
    auto explicit_history =
        make(config)->evaluate_with_history(reports.back(), *runs, times.back());
    ASSERT_TRUE(explicit_history.has_value());
    auto before = applied->evaluate(reports.back(), times.back());
    ASSERT_TRUE(before.has_value());
    expect_same(*before, *explicit_history);
    // The CLI's way: DocumentComponent::load_history with the earlier documents.
    auto loaded = make(config);
    DocumentComponent& as_document = *loaded;
    ASSERT_TRUE(
        as_document
            .load_history(std::vector<json>(reports.begin(), reports.end() - 1), times.back())
            .has_value());
    auto via_load = loaded->evaluate(reports.back(), times.back());
    ASSERT_TRUE(via_load.has_value());
    expect_same(*via_load, *explicit_history);
    ASSERT_TRUE(applied->apply(event_of(reports.back(), times.back())).has_value());
    expect_same(*applied->latest(), *explicit_history);
    EXPECT_LE(applied->history().size(), config.max_history);
  }
}

// A run delivered twice (the bus delivers at least once), or a --history file that holds the
// report being evaluated, counts once.
TEST(SystemValidation, SameRunCountsOnce) {
  const json report = report_at(kNow, 1, 1);
  auto sv = make();
  ASSERT_TRUE(sv->apply(event_of(report, kNow)).has_value());
  ASSERT_TRUE(sv->apply(event_of(report, kNow)).has_value());
  EXPECT_EQ(sv->history().size(), 1u);
  const json& rel = sv->latest()->report["metadata"]["reliability"];
  EXPECT_EQ(rel["samples_considered"], 1);
  EXPECT_EQ(rel["warn_streak"], 1);

  auto runs =
      SystemValidation::history_from_json(json::array({report_at(kNow - hours(1), 1, 1), report}));
  ASSERT_TRUE(runs.has_value());
  auto e = make()->evaluate_with_history(report, *runs, kNow);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->report["metadata"]["reliability"]["samples_considered"], 2);
  EXPECT_EQ(e->report["metadata"]["reliability"]["warn_streak"], 2);
  // Of two history items with one timestamp, the last given is the run.
  auto sv2 = make();
  sv2->load_runs({{{kNow, Status::kFail, 0.0}, {kNow, Status::kOk, 1.0}}});
  EXPECT_EQ(sv2->history(), (std::vector<SystemValidationRun>{{kNow, Status::kOk, 1.0}}));
}

// The window and max_history bound the kept runs.
TEST(SystemValidation, KeptHistoryIsBounded) {
  auto sv = make({.reliability_window = hours(10), .max_history = 3});
  for (int i = 0; i < 6; ++i) {
    const core::TimePoint t = kNow + hours(i);
    ASSERT_TRUE(sv->apply(event_of(report_at(t, 1, 0), t)).has_value());
  }
  ASSERT_EQ(sv->history().size(), 3u);
  EXPECT_EQ(sv->history().front().timestamp, kNow + hours(3));
  EXPECT_EQ(sv->history().back().timestamp, kNow + hours(5));
  ASSERT_TRUE(sv->apply(event_of(report_at(kNow + hours(20), 1, 0), kNow + hours(20))).has_value());
  ASSERT_EQ(sv->history().size(), 1u);  // the others fell out of the window
  // A run dated beyond the tolerance is flagged and not kept.
  ASSERT_TRUE(sv->apply(event_of(report_at(kNow + hours(40), 1, 0), kNow + hours(21))).has_value());
  EXPECT_EQ(sv->history().size(), 1u);
  EXPECT_EQ(codes(sv->snapshot(kNow)), "system_validation.reliability:future_dated");
}

// restore(state()) reproduces the same evaluation after a restart.
TEST(SystemValidation, StateRoundTrip) {
  auto sv = make();
  EXPECT_TRUE(sv->state()["runs"].empty());
  const std::uint64_t v0 = sv->state_version();
  ASSERT_TRUE(sv->apply(event_of(report_at(kNow - hours(2), 0, 2), kNow - hours(2))).has_value());
  ASSERT_TRUE(sv->apply(event_of(report_at(kNow - hours(1), 1, 1), kNow - hours(1))).has_value());
  EXPECT_EQ(sv->state_version(), v0 + 2);
  const json state = sv->state();
  EXPECT_EQ(state["version"], 1);
  EXPECT_EQ(state["runs"][0],
            (json{{"timestamp", iso(kNow - hours(2))}, {"status", "fail"}, {"success_rate", 0.0}}));

  auto restarted = make();
  ASSERT_TRUE(restarted->restore(state).has_value());
  EXPECT_EQ(restarted->history(), sv->history());
  EXPECT_EQ(restarted->state(), state);
  EXPECT_FALSE(restarted->active());
  const json next = report_at(kNow, 0, 2);
  auto a = sv->evaluate(next, kNow);
  auto b = restarted->evaluate(next, kNow);
  ASSERT_TRUE(a.has_value() && b.has_value());
  expect_same(*a, *b);
  EXPECT_EQ(b->report["metadata"]["reliability"]["fail_streak"], 1);
  EXPECT_EQ(b->report["metadata"]["reliability"]["samples_considered"], 3);

  EXPECT_TRUE(restarted->restore(nullptr).has_value());
  EXPECT_EQ(restarted->restore({{"version", 2}, {"runs", json::array()}}).error().field, "version");
  EXPECT_EQ(restarted
                ->restore({{"version", 1},
                           {"runs",
                            {{{"timestamp", iso(kNow)}, {"status", "odd"}, {"success_rate", 1}}}}})
                .error()
                .field,
            "runs[0].status");
  EXPECT_EQ(
      restarted->restore({{"version", 1}, {"runs", {{{"timestamp", iso(kNow)}}}}}).error().field,
      "runs[0].status");
  EXPECT_EQ(restarted->history(), sv->history());  // a refused state changes nothing
}

// --history FILE: a JSON array or JSON Lines of reports, snapshots or entries.
TEST(SystemValidation, ParseHistory) {
  const std::string jsonl =
      "{\"timestamp\": \"2025-01-01T00:00:00Z\", \"status\": \"fail\", \"success_rate\": 25}\n"
      "\n"
      "{\"generated_at\": \"2025-01-01T06:00:00Z\", \"status\": \"warn\", \"success_rate\": 0.6}\n"
      "{\"timestamp\": \"2025-01-01T12:00:00\", \"results\": {\"a\": true, \"b\": false}}\n";
  auto runs = SystemValidation::parse_history(jsonl);
  ASSERT_TRUE(runs.has_value()) << runs.error().describe();
  const std::vector<SystemValidationRun> want = {
      {core::parse_rfc3339("2025-01-01T00:00:00Z").value(), Status::kFail, 0.25},
      {core::parse_rfc3339("2025-01-01T06:00:00Z").value(), Status::kWarn, 0.6},
      {core::parse_rfc3339("2025-01-01T12:00:00Z").value(), Status::kWarn, 0.5},
  };
  EXPECT_EQ(*runs, want);
  std::string array = "[";
  std::size_t start = 0;
  for (std::size_t end; (end = jsonl.find('\n', start)) != std::string::npos; start = end + 1) {
    const std::string line = jsonl.substr(start, end - start);
    if (line.empty()) continue;
    array += (array.size() > 1 ? "," : "") + line;
  }
  auto from_array = SystemValidation::parse_history(array + "]");
  ASSERT_TRUE(from_array.has_value());
  EXPECT_EQ(*from_array, want);
  EXPECT_TRUE(SystemValidation::parse_history("").value().empty());

  EXPECT_EQ(SystemValidation::parse_history("{}\n{nope\n").error().field, "history[1]");
  EXPECT_EQ(SystemValidation::parse_history("[1]").error().field, "history[0]");
  EXPECT_EQ(SystemValidation::parse_history("{\"results\": {\"a\": true}}").error().field,
            "history[0].timestamp");
  EXPECT_EQ(
      SystemValidation::parse_history(
          "{\"timestamp\": \"2025-01-01T00:00:00Z\", \"status\": \"odd\", \"success_rate\": 1}")
          .error()
          .field,
      "history[0].status");
  EXPECT_EQ(SystemValidation::parse_history(
                "{\"timestamp\": \"2025-01-01T00:00:00Z\", \"results\": {\"a\": 7}}")
                .error()
                .field,
            "history[0].results.a");

  // The example files of the runbook: report.json (warn, 50%) after pass 100%, warn 50% and
  // fail 50%: the average 62.5% fails; the latest run is WARN, so no FAIL streak.
  std::ifstream in(testdata("history.jsonl"), std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  auto file = SystemValidation::parse_history(text.str());
  ASSERT_TRUE(file.has_value()) << file.error().describe();
  ASSERT_EQ(file->size(), 3u);
  EXPECT_EQ((*file)[1], (SystemValidationRun{core::parse_rfc3339("2025-01-02T12:00:00Z").value(),
                                             Status::kWarn, 0.5}));
  auto with = make()->evaluate_with_history(read_json("report.json"), *file,
                                            core::parse_rfc3339("2025-01-03T00:00:00Z").value());
  ASSERT_TRUE(with.has_value());
  EXPECT_EQ(with->report["metadata"]["reliability"]["issues"],
            (json{"Average success rate 62% below fail threshold 85%"}));
  EXPECT_EQ(with->report["metadata"]["reliability"]["samples_considered"], 4);

  // load_runs() makes them the kept runs.
  auto sv = make();
  sv->load_runs(want);
  auto e = sv->evaluate(report_at(kNow - hours(6), 0, 1), kNow - hours(6));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->report["metadata"]["reliability"]["samples_considered"], 4);
}

// ---- Gate options (§3.6) ----------------------------------------------------------------------

// test_system_validation_gate_blocks_fail_and_warn.
TEST(SystemValidation, GateFailAndWarn) {
  const json checks = {check("core", false), check("ingest", false)};
  const Evaluated fail = eval(snapshot_doc("fail", 2, 0, 0.0, checks), {.min_success_rate = 0.5});
  EXPECT_EQ(fail.snapshot.status, Status::kFail);
  EXPECT_EQ(fail.snapshot.metadata["gate"]["should_block"], true);
  EXPECT_EQ(fail.snapshot.metadata["gate"]["reasons"][0], "System validation status is FAIL");
  EXPECT_EQ(fail.snapshot.metadata["gate"]["reason_codes"],
            (json{"status_fail", "success_rate_below_min"}));
  // The status itself is not an issue (the component alert covers it).
  EXPECT_EQ(codes(fail.snapshot),
            "system_validation.check:core,system_validation.check:ingest,"
            "system_validation.gate:success_rate_below_min");

  // WARN with block_on_warn blocks (a fail finding); 0.5 is not below 0.5.
  const json warn = snapshot_doc("warn", 2, 1, 0.5, {check("core", false), check("ingest", true)});
  const Evaluated blocked = eval(warn, {.min_success_rate = 0.5, .block_on_warn = true});
  EXPECT_EQ(codes(blocked.snapshot),
            "system_validation.check:core,system_validation.gate:status_warn_blocked");
  EXPECT_EQ(blocked.snapshot.status, Status::kFail);
  const core::Issue* i = issue(blocked.snapshot, "system_validation.gate:status_warn_blocked");
  EXPECT_EQ(i->message, "System validation status is WARN and block_on_warn is enabled");
  EXPECT_EQ(i->severity, Severity::kCritical);
  EXPECT_EQ(blocked.snapshot.metadata["gate"]["status"], "fail");
  // Without block_on_warn it stays a warning.
  EXPECT_EQ(eval(warn, {.min_success_rate = 0.5}).snapshot.status, Status::kWarn);
  // The default minimum (95%) blocks a WARN snapshot at 80% (the spec's consequence, kept).
  const json eighty = snapshot_doc(
      "warn", 5, 4, 0.8,
      {check("a", true), check("b", true), check("c", true), check("d", true), check("e", false)});
  const Evaluated d = eval(eighty);
  EXPECT_EQ(d.snapshot.status, Status::kFail);
  EXPECT_EQ(issue(d.snapshot, "system_validation.gate:success_rate_below_min")->message,
            "Success rate 80.0% below minimum 95.0%");
}

// test_system_validation_gate_enforces_required_checks.
TEST(SystemValidation, GateRequiredChecks) {
  const json pass = snapshot_doc("pass", 2, 2, 1.0, {check("core", true), check("ingest", true)});
  const Evaluated missing = eval(pass, {.required_checks = {"routing", "Routing.API", "CORE"}});
  EXPECT_EQ(codes(missing.snapshot),
            "system_validation.gate:required_check_missing_routing,"
            "system_validation.gate:required_check_missing_routing_api");
  EXPECT_EQ(missing.snapshot.issues[1].message,
            "Required check missing from snapshot: Routing.API");
  EXPECT_EQ(missing.snapshot.status, Status::kFail);

  const json failing =
      snapshot_doc("warn", 2, 1, 0.5, {check("core", true), check("Ingest", false)});
  const Evaluated e = eval(failing, {.min_success_rate = 0.8, .required_checks = {"ingest"}});
  EXPECT_EQ(codes(e.snapshot),
            "system_validation.check:ingest,system_validation.gate:success_rate_below_min,"
            "system_validation.gate:required_check_failed_ingest");
  EXPECT_EQ(issue(e.snapshot, "system_validation.gate:required_check_failed_ingest")->message,
            "Required check failed: Ingest");
  EXPECT_EQ(e.snapshot.metadata["gate"]["required_checks"], json{"ingest"});
}

// test_system_validation_gate_considers_reliability: reliability fail and 12 h stale against a
// 10 h limit give both reasons.
TEST(SystemValidation, GateConsidersReliability) {
  const json doc = snapshot_doc(
      "pass", 2, 2, 1.0, {check("core", true), check("ops", true)},
      {{"reliability",
        {{"status", "fail"}, {"stale_hours", 12.0}, {"issues", {"validation runs failing"}}}}});
  const Evaluated e = eval(doc, {.consider_reliability = true, .reliability_max_stale = hours(10)});
  EXPECT_EQ(codes(e.snapshot),
            "system_validation.gate:reliability_status_fail,"
            "system_validation.gate:reliability_snapshot_stale");
  EXPECT_EQ(e.snapshot.issues[0].message, "System validation reliability status is FAIL");
  EXPECT_EQ(e.snapshot.issues[1].message,
            "Reliability snapshot stale 12.0 hours exceeds limit 10.0 hours");
  EXPECT_EQ(e.snapshot.status, Status::kFail);
  const json& gate = e.snapshot.metadata["gate"];
  EXPECT_EQ(gate["consider_reliability"], true);
  EXPECT_EQ(gate["reliability_max_stale_hours"], 10.0);
  EXPECT_EQ(e.snapshot.metadata["reliability"]["status"], "fail");
  EXPECT_EQ(e.snapshot.metadata["reliability_status"], "fail");
  // Exactly at the limit is not stale.
  const Evaluated at =
      eval(doc, {.consider_reliability = true, .reliability_max_stale = hours(12)});
  EXPECT_EQ(codes(at.snapshot), "system_validation.gate:reliability_status_fail");
  // Not considered: nothing.
  EXPECT_EQ(codes(eval(doc).snapshot), "");
}

// test_system_validation_gate_reliability_warns_without_blocking.
TEST(SystemValidation, GateReliabilityWarn) {
  const json doc = snapshot_doc(
      "pass", 1, 1, 1.0, {check("core", true)},
      {{"reliability",
        {{"status", "warn"}, {"stale_hours", 2.0}, {"issues", {"recent run warning"}}}}});
  const Evaluated warns = eval(doc, {.consider_reliability = true});
  EXPECT_EQ(codes(warns.snapshot), "system_validation.gate:reliability_status_warn");
  EXPECT_EQ(warns.snapshot.status, Status::kWarn);
  EXPECT_EQ(warns.snapshot.metadata["gate"]["should_block"], false);
  EXPECT_EQ(warns.snapshot.metadata["gate"]["warnings"],
            json{"System validation reliability status is WARN"});
  const Evaluated blocks =
      eval(doc, {.consider_reliability = true, .reliability_block_on_warn = true});
  EXPECT_EQ(codes(blocks.snapshot), "system_validation.gate:reliability_status_warn_blocked");
  EXPECT_EQ(blocks.snapshot.status, Status::kFail);
  EXPECT_EQ(blocks.snapshot.metadata["gate"]["reasons"],
            json{"System validation reliability status is WARN"});
  // No reliability metadata: a warning.
  const Evaluated none =
      eval(snapshot_doc("pass", 1, 1, 1.0, {check("core", true)}), {.consider_reliability = true});
  EXPECT_EQ(codes(none.snapshot), "system_validation.gate:reliability_metadata_unavailable");
  EXPECT_EQ(none.snapshot.status, Status::kWarn);
}

// ---- Evaluated snapshots and alert categories (§3.7) ------------------------------------------

// test_system_validation_alert_generation: a WARN snapshot gives a check issue (warning); the
// status is not an issue.
TEST(SystemValidation, EvaluatedWarnSnapshot) {
  json database = check("database_latency", false, "latency above threshold");
  database["metadata"] = {{"latency_ms", 450}};
  const json doc = snapshot_doc("warn", 3, 2, 2.0 / 3, {database, check("event_bus", true)},
                                {{"validator", "ops_guardian"}});
  const Evaluated e = eval(doc, {.min_success_rate = 0});
  EXPECT_EQ(e.snapshot.status, Status::kWarn);
  EXPECT_EQ(codes(e.snapshot), "system_validation.check:database_latency");
  EXPECT_EQ(e.snapshot.issues[0].severity, Severity::kWarning);
  EXPECT_EQ(e.snapshot.issues[0].message,
            "Validation check failed: database_latency – latency above threshold");
  EXPECT_EQ(e.snapshot.summary,
            "2/3 checks passed (success=67%); failing checks: database_latency");
  EXPECT_EQ(e.snapshot.metadata["source"], "evaluated_snapshot");
  EXPECT_EQ(e.snapshot.metadata["validator"], "ops_guardian");
  EXPECT_EQ(e.report, doc);
  EXPECT_EQ(e.markdown,
            "**System validation – status: warn**\n"
            "- Generated at: 2025-01-02T00:00:00Z\n"
            "- Checks passed: 2/3\n"
            "- Success rate: 66.67%\n"
            "- Failing checks: database_latency\n"
            "- Validator: ops_guardian\n"
            "\n"
            "**Checks:**\n"
            "- ❌ database_latency: latency above threshold\n"
            "- ✅ event_bus");
}

// test_route_system_validation_alerts_dispatches / threshold filtering: with no check passing,
// the check issues are critical (the check's own part of the status, §3.7 "fail if the snapshot
// is fail" made per issue), so a threshold of fail still sees them.
TEST(SystemValidation, EvaluatedFailSnapshot) {
  const Evaluated e =
      eval(snapshot_doc("fail", 2, 0, 0.0, {check("database", false), check("event_bus", false)}));
  EXPECT_EQ(codes(e.snapshot),
            "system_validation.check:database,system_validation.check:event_bus,"
            "system_validation.gate:success_rate_below_min");
  for (const auto& i : e.snapshot.issues) EXPECT_EQ(i.severity, Severity::kCritical) << i.code;
  const Evaluated zero = eval(snapshot_doc("warn", 1, 0, 0.0, {check("ops", false)}));
  EXPECT_EQ(zero.snapshot.status, Status::kFail);
  EXPECT_EQ(zero.snapshot.issues[0].severity, Severity::kCritical);
}

// The original's issue_details (severities ok/warn/fail) become issues; repeated names of
// checks get unique codes.
TEST(SystemValidation, EvaluatedIssueDetails) {
  const json doc =
      snapshot_doc("fail", 3, 1, 1.0 / 3,
                   {check("Routing.API", false), check("routing api", false), check("core", true)},
                   {{"reliability", {{"status", "fail"}, {"issues", {"a", "b"}}}},
                    {"issue_details",
                     {{{"category", "reliability"},
                       {"severity", "fail"},
                       {"message", "2 consecutive FAIL snapshots"}},
                      {{"category", "reliability"}, {"severity", "warn"}, {"message", "stale"}}}}});
  const Evaluated e = eval(doc, {.min_success_rate = 0});
  EXPECT_EQ(codes(e.snapshot),
            "system_validation.check:routing_api,system_validation.check:routing_api:2,"
            "system_validation.reliability,system_validation.reliability:2");
  EXPECT_EQ(e.snapshot.issues[2].severity, Severity::kCritical);
  EXPECT_EQ(e.snapshot.issues[3].severity, Severity::kWarning);
  EXPECT_EQ(e.snapshot.summary,
            "1/3 checks passed (success=33%); failing checks: Routing.API, routing api; "
            "reliability fail");
  EXPECT_EQ(e.snapshot.metadata["reliability_status"], "fail");
  EXPECT_NE(e.markdown.find("**Reliability issues:**\n- a\n- b\n"), std::string::npos);
}

// The component: topic, categories, brief snapshots, and the event time standing in for a
// report without a timestamp.
TEST(SystemValidation, Component) {
  auto sv = make();
  EXPECT_EQ(sv->name(), "system_validation");
  EXPECT_EQ(sv->alert_category(), "operational.system_validation");
  EXPECT_TRUE(sv->consumes("telemetry.operational.system_validation"));
  EXPECT_FALSE(sv->consumes("telemetry.operational.readiness"));
  EXPECT_FALSE(sv->active());
  ASSERT_TRUE(
      sv->apply(event_of({{"results", {{"core", true}, {"db", false}}}}, kNow)).has_value());
  EXPECT_TRUE(sv->active());
  const auto full = sv->snapshot(kNow);
  EXPECT_EQ(full.observed_at, kNow);
  EXPECT_EQ(full.metadata["reliability"]["latest_timestamp"], iso(kNow));
  const auto brief = sv->snapshot(kNow, Detail::kBrief);
  EXPECT_TRUE(brief.metadata.empty());
  EXPECT_EQ(brief.issues, full.issues);
  EXPECT_EQ(brief.status, full.status);
  EXPECT_EQ(brief.summary, full.summary);
  ASSERT_EQ(sv->history().size(), 1u);
  EXPECT_EQ(sv->history()[0], (SystemValidationRun{kNow, Status::kWarn, 0.5}));
}

// A 10 000-check report (the benchmark's shape) evaluates with every check and no quadratic
// work in the issue codes.
TEST(SystemValidation, LargeReport) {
  json results = json::object();
  for (int i = 0; i < 10000; ++i) results["check_" + std::to_string(i)] = (i % 10 != 0);
  const Evaluated e =
      eval({{"timestamp", iso(kNow)}, {"results", results}}, {.min_success_rate = 0});
  EXPECT_EQ(e.report["total_checks"], 10000);
  EXPECT_EQ(e.report["passed_checks"], 9000);
  EXPECT_EQ(e.snapshot.issues.size(), 1000u + 1u);  // checks + the average (90% < 95%)
  EXPECT_EQ(e.snapshot.summary.substr(0, 60),
            "9000/10000 checks passed (success=90%); failing checks: chec");
  EXPECT_NE(e.snapshot.summary.find("… (+990 more)"), std::string::npos);
}

TEST(SystemValidation, ValidateConfig) {
  struct Case {
    SystemValidationConfig config;
    const char* field;
  };
  const Case cases[] = {
      {{.reliability_window = -hours(1)}, "reliability_window"},
      {{.reliability_stale_warn = hours(50)}, "reliability_stale_fail"},
      {{.reliability_warn_success_rate = 1.5}, "reliability_warn_success_rate"},
      {{.reliability_warn_success_rate = 0.5}, "reliability_fail_success_rate"},
      {{.reliability_warn_fail_streak = 3}, "reliability_fail_fail_streak"},
      {{.future_tolerance = -seconds(1)}, "future_tolerance"},
      {{.max_history = 0}, "max_history"},
      {{.min_success_rate = 95}, "min_success_rate"},
      {{.required_checks = {"a", " "}}, "required_checks"},
      {{.required_checks = {"Routing.API", "routing api"}}, "required_checks"},
      {{.reliability_max_stale = -hours(1)}, "reliability_max_stale"},
  };
  for (const Case& c : cases) {
    auto ok = validate(c.config);
    ASSERT_FALSE(ok.has_value()) << c.field;
    EXPECT_EQ(ok.error().field, c.field);
    EXPECT_FALSE(SystemValidation::create(c.config).has_value());
  }
  EXPECT_TRUE(validate({}).has_value());
  EXPECT_TRUE(validate({.reliability_stale_warn = std::nullopt, .reliability_fail_fail_streak = 0})
                  .has_value());
}

}  // namespace
}  // namespace opsready::components
