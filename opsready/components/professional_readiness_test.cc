// professional_readiness tests. testdata/professional_readiness/evaluated.json is what
// input.json evaluates to; after an intended change, regenerate it with (from the repo root,
// any build dir):
//
//   OPSREADY_UPDATE_GOLDEN=1 ./build/<dir>/opsready/components/opsready_components_test
//       --gtest_filter='ProfessionalReadiness.EvaluatedSnapshotIntake'
//
// and review the diff before committing.

#include "opsready/components/professional_readiness.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "opsready/components/registry.h"
#include "opsready/core/time.h"

namespace opsready::components {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kTestdata = fs::path(__FILE__).parent_path().parent_path().parent_path() /
                           "examples" / "documents" / "professional_readiness";
const core::TimePoint kT0 = core::parse_rfc3339("2025-01-02T00:00:00Z").value();
const core::TimePoint kNow = core::parse_rfc3339("2025-01-02T06:00:00Z").value();

json read_json(const fs::path& p) {
  std::ifstream in(p);
  return json::parse(in);
}

FeederSnapshot feeder(core::Status st, std::size_t count, core::TimePoint t,
                      json metadata = json::object()) {
  return FeederSnapshot{
      .status = st, .observed_at = t, .metadata = std::move(metadata), .count = count};
}

// The spec's first case: backbone ok, backup warn, SLO met, failover with an optional
// trigger and a non-empty recovery plan.
ProfessionalInputs spec_inputs() {
  ProfessionalInputs in;
  in.data_backbone = feeder(core::Status::kOk, 3, kT0);
  in.backups = feeder(core::Status::kWarn, 0, kT0 + std::chrono::minutes(5));
  in.backups->service = "timescale_backups";
  in.ingest_slos = feeder(core::Status::kOk, 2, kT0 + std::chrono::minutes(10));
  in.failover = FailoverDecision{.optional_triggers = {"macro_events"}};
  in.recovery = RecoveryPlan{.plan = json::array({"backfill macro_events"})};
  return in;
}

FeederSnapshot operational_warn() {
  return feeder(
      core::Status::kWarn, 2, kT0 + std::chrono::hours(1),
      {{"status_breakdown", {{"ok", 1}, {"warn", 1}}},
       {"component_statuses", {{"system_validation", "ok"}, {"drift_sentry", "warn"}}},
       {"issue_counts", {{"warn", 1}}},
       {"component_issue_details", {{"drift_sentry", {{"issue_counts", {{"warn", 1}}}}}}}});
}

std::vector<std::string> names(const ProfessionalReadinessSnapshot& p) {
  std::vector<std::string> out;
  for (const auto& c : p.components) out.push_back(c.name);
  return out;
}

const ProfessionalComponent& component(const ProfessionalReadinessSnapshot& p,
                                       std::string_view name) {
  for (const auto& c : p.components) {
    if (c.name == name) return c;
  }
  throw std::runtime_error("no component " + std::string(name));
}

std::string codes(const core::ComponentSnapshot& s) {
  std::string out;
  for (const auto& i : s.issues) out += (out.empty() ? "" : ",") + i.code;
  return out;
}

// §10 test_professional_readiness 1: the components present, in order, and the warn roll-up.
TEST(ProfessionalReadiness, SpecWarnRollup) {
  const auto p = evaluate_professional_readiness(spec_inputs(), kNow);
  EXPECT_EQ(p.status, core::Status::kWarn);
  EXPECT_EQ(names(p), (std::vector<std::string>{"data_backbone", "backups", "ingest_slos",
                                                "failover", "recovery"}));
  EXPECT_EQ(component(p, "data_backbone").summary, "status=ok across 3 components");
  EXPECT_EQ(component(p, "backups").summary, "timescale_backups status=warn");
  EXPECT_EQ(component(p, "ingest_slos").summary, "status=pass across 2 SLOs");
  EXPECT_EQ(component(p, "failover").status, core::Status::kWarn);
  EXPECT_EQ(component(p, "failover").summary, "optional dimensions degraded");
  EXPECT_EQ(component(p, "recovery").status, core::Status::kWarn);
  EXPECT_EQ(component(p, "recovery").summary, "recovery actions planned");
  EXPECT_EQ(component(p, "recovery").metadata, (json{{"plan", {"backfill macro_events"}}}));
  // The newest feeder time; recovery contributes none.
  EXPECT_EQ(p.generated_at, kT0 + std::chrono::minutes(10));
  EXPECT_EQ(p.metadata["component_count"], 5);
  EXPECT_EQ(p.metadata["status_breakdown"], (json{{"ok", 2}, {"warn", 3}}));
}

// §10 test 2: with the operational snapshot, its time is the newest and its counts roll up.
TEST(ProfessionalReadiness, WithOperationalSnapshot) {
  ProfessionalInputs in = spec_inputs();
  in.operational_readiness = operational_warn();
  // The original's rule: structured counts only, so only the aggregate's warn counts.
  auto p = evaluate_professional_readiness(in, kNow, {.count_components_without_counts = false});
  EXPECT_EQ(p.status, core::Status::kWarn);
  EXPECT_EQ(p.generated_at, kT0 + std::chrono::hours(1));
  EXPECT_EQ(p.metadata["component_count"], 6);
  EXPECT_EQ(p.metadata["component_statuses"]["operational_readiness"], "warn");
  EXPECT_EQ(p.metadata["issue_counts"], (json{{"warn", 1}}));
  const auto& op = component(p, "operational_readiness");
  EXPECT_EQ(op.summary, "status=warn across 2 components");
  EXPECT_EQ(op.metadata["snapshot"]["status"], "warn");
  EXPECT_EQ(op.metadata["issue_counts"], (json{{"warn", 1}}));
  EXPECT_EQ(op.metadata["component_statuses"]["drift_sentry"], "warn");
  EXPECT_EQ(
      p.metadata["component_issue_details"]["operational_readiness"],
      (json{{"issue_counts", {{"warn", 1}}},
            {"component_issue_details", {{"drift_sentry", {{"issue_counts", {{"warn", 1}}}}}}}}));
  EXPECT_FALSE(p.metadata["component_issue_details"].contains("backups"));

  // The default (spec §11.2 item 5): every degraded component counts, once when it carries no
  // counts of its own (backups, failover, recovery).
  p = evaluate_professional_readiness(in, kNow);
  EXPECT_EQ(p.metadata["issue_counts"], (json{{"warn", 4}}));
  EXPECT_EQ(p.metadata["component_issue_details"]["backups"],
            (json{{"severity", "warn"},
                  {"summary", "timescale_backups status=warn"},
                  {"issue_counts", {{"warn", 1}}}}));
}

// §10 test 3: should_failover fails with the reason as summary.
TEST(ProfessionalReadiness, FailoverDecision) {
  struct Case {
    FailoverDecision decision;
    core::Status status;
    std::string summary;
  };
  const Case cases[] = {
      {{.should_failover = true, .reason = "daily bars failed"},
       core::Status::kFail,
       "daily bars failed"},
      {{.should_failover = true}, core::Status::kFail, "failover triggered"},
      {{.should_failover = true, .optional_triggers = {"x"}},
       core::Status::kFail,
       "failover triggered"},
      {{.optional_triggers = {"intraday_trades"}},
       core::Status::kWarn,
       "optional dimensions degraded"},
      {{}, core::Status::kOk, "no failover required"},
  };
  for (const auto& c : cases) {
    ProfessionalInputs in;
    in.failover = c.decision;
    const auto p = evaluate_professional_readiness(in, kNow);
    EXPECT_EQ(p.status, c.status) << c.summary;
    EXPECT_EQ(component(p, "failover").summary, c.summary);
  }
  ProfessionalInputs in;
  in.failover = FailoverDecision{.should_failover = true,
                                 .reason = "daily bars failed",
                                 .generated_at = kT0 + std::chrono::hours(2)};
  const auto p = evaluate_professional_readiness(in, kNow);
  EXPECT_EQ(p.generated_at, kT0 + std::chrono::hours(2));
  EXPECT_EQ(component(p, "failover").metadata, (json{{"should_failover", true},
                                                     {"reason", "daily bars failed"},
                                                     {"optional_triggers", json::array()},
                                                     {"generated_at", "2025-01-02T02:00:00Z"}}));
  const Evaluated e = to_evaluated(p);
  EXPECT_EQ(e.snapshot.status, core::Status::kFail);
  ASSERT_EQ(e.snapshot.issues.size(), 1u);
  EXPECT_EQ(e.snapshot.issues[0],
            (core::Issue{.code = "professional_readiness.failover",
                         .severity = core::Severity::kCritical,
                         .message = "failover status fail: daily bars failed",
                         .runbook = "docs/runbooks/professional_readiness.md#failover"}));
}

// §10 test 4 and the whole Markdown: UPPERCASE status, no title, sorted metadata as JSON.
TEST(ProfessionalReadiness, Markdown) {
  ProfessionalInputs in;
  in.ingest_slos = feeder(core::Status::kOk, 2, kT0);
  const auto p = evaluate_professional_readiness(in, kNow);
  const std::string md = to_markdown(p);
  EXPECT_NE(md.find("| ingest_slos | OK |"), std::string::npos);
  EXPECT_EQ(md,
            "| Component | Status | Summary |\n"
            "| --- | --- | --- |\n"
            "| ingest_slos | OK | status=pass across 2 SLOs |\n"
            "\n"
            "Metadata:\n"
            "- **component_count**: 1\n"
            "- **component_statuses**: {\"ingest_slos\":\"ok\"}\n"
            "- **status_breakdown**: {\"ok\":1}\n");

  const auto empty = evaluate_professional_readiness({}, kNow);
  EXPECT_EQ(to_markdown(empty), "| Component | Status | Summary |\n| --- | --- | --- |\n");

  in.failover = FailoverDecision{.should_failover = true, .reason = "a | b\nc"};
  in.metadata = {{"owner", "ops"}};
  const std::string md2 = to_markdown(evaluate_professional_readiness(in, kNow));
  EXPECT_NE(md2.find("| failover | FAIL | a \\| b<br>c |\n"), std::string::npos) << md2;
  EXPECT_NE(md2.find("- **owner**: ops\n"), std::string::npos) << md2;
}

TEST(ProfessionalReadiness, NoInputs) {
  const auto p = evaluate_professional_readiness({}, kNow);
  EXPECT_EQ(p.status, core::Status::kOk);
  EXPECT_EQ(p.generated_at, kNow);
  EXPECT_EQ(p.metadata, (json{{"component_count", 0}}));
  const Evaluated e = to_evaluated(p);
  EXPECT_EQ(e.snapshot.summary, "No professional readiness inputs");
  EXPECT_TRUE(e.snapshot.issues.empty());
  EXPECT_EQ(e.report, (json{{"status", "ok"},
                            {"generated_at", "2025-01-02T06:00:00Z"},
                            {"components", json::array()},
                            {"metadata", {{"component_count", 0}}}}));
}

// Feeder statuses keep their rank; the SLO component prints the SLO words.
TEST(ProfessionalReadiness, StatusMapping) {
  struct Case {
    core::Status status;
    std::string backbone;
    std::string slos;
  };
  const Case cases[] = {
      {core::Status::kOk, "status=ok across 1 components", "status=pass across 1 SLOs"},
      {core::Status::kWarn, "status=warn across 1 components", "status=warn across 1 SLOs"},
      {core::Status::kFail, "status=fail across 1 components", "status=fail across 1 SLOs"},
  };
  for (const auto& c : cases) {
    ProfessionalInputs in;
    in.data_backbone = feeder(c.status, 1, kT0);
    in.ingest_slos = feeder(c.status, 1, kT0);
    const auto p = evaluate_professional_readiness(in, kNow);
    EXPECT_EQ(p.status, c.status);
    EXPECT_EQ(component(p, "data_backbone").summary, c.backbone);
    EXPECT_EQ(component(p, "ingest_slos").summary, c.slos);
    EXPECT_EQ(component(p, "ingest_slos").metadata["snapshot"]["status"],
              c.slos.substr(7, c.slos.find(' ') - 7));
  }
}

// The roll-up: own counts first, else the snapshot's (as snapshot_issue_counts); values
// truncated to int, bad values skipped; the aggregate's copies keep numbers only.
TEST(ProfessionalReadiness, IssueCountRollup) {
  ProfessionalInputs in;
  in.backups = feeder(core::Status::kWarn, 0, kT0,
                      {{"issue_counts", {{"warn", 2}, {"fail", "1"}, {"bad", "x"}}}});
  in.operational_readiness =
      feeder(core::Status::kFail, 3, kT0,
             {{"issue_counts", {{"warn", 1.7}, {"fail", 2}, {"text", "3"}}},
              {"component_issue_details", {{"incident_response", {{"k", 1}}}, {"odd", 5}}}});
  const auto p = evaluate_professional_readiness(in, kNow);
  EXPECT_EQ(component(p, "operational_readiness").metadata["issue_counts"],
            (json{{"warn", 1}, {"fail", 2}}));
  EXPECT_EQ(component(p, "operational_readiness").metadata["component_issue_details"],
            (json{{"incident_response", {{"k", 1}}}}));
  EXPECT_EQ(p.metadata["component_issue_details"]["backups"],
            (json{{"snapshot_issue_counts", {{"warn", 2}, {"fail", 1}}}}));
  EXPECT_EQ(p.metadata["issue_counts"], (json{{"warn", 3}, {"fail", 3}}));
}

TEST(ProfessionalReadiness, CallerMetadataOverrides) {
  ProfessionalInputs in;
  in.recovery = RecoveryPlan{};
  in.metadata = {{"component_count", 99}, {"protocol", "fix"}};
  const auto p = evaluate_professional_readiness(in, kNow);
  EXPECT_EQ(p.metadata["component_count"], 99);
  EXPECT_EQ(p.metadata["protocol"], "fix");
  EXPECT_EQ(component(p, "recovery").summary, "no recovery actions necessary");
  EXPECT_EQ(component(p, "recovery").status, core::Status::kOk);
  EXPECT_EQ(component(p, "recovery").metadata, json::object());
}

// Issues: one per degraded component with its own severity; the summary names them.
TEST(ProfessionalReadiness, IssuesAndSummary) {
  ProfessionalInputs in = spec_inputs();
  in.failover->should_failover = true;
  in.failover->reason = "daily bars failed";
  const Evaluated e = to_evaluated(evaluate_professional_readiness(in, kNow));
  EXPECT_EQ(e.snapshot.component, "professional_readiness");
  EXPECT_EQ(e.snapshot.status, core::Status::kFail);
  EXPECT_EQ(e.snapshot.observed_at, kT0 + std::chrono::minutes(10));
  EXPECT_EQ(e.snapshot.summary,
            "fail across 5 components (backups warn, failover fail, recovery warn)");
  EXPECT_EQ(codes(e.snapshot),
            "professional_readiness.backups,professional_readiness.failover,"
            "professional_readiness.recovery");
  EXPECT_EQ(e.snapshot.issues[0].severity, core::Severity::kWarning);
  EXPECT_EQ(e.snapshot.issues[0].message, "backups status warn: timescale_backups status=warn");
  EXPECT_EQ(e.snapshot.issues[1].severity, core::Severity::kCritical);
  EXPECT_EQ(e.snapshot.issues[2].runbook, "docs/runbooks/professional_readiness.md#recovery");
  EXPECT_EQ(e.snapshot.metadata["component_count"], 5);
  EXPECT_EQ(e.report["components"][1]["name"], "backups");
}

// Naive times are UTC; aware times are converted before the latest is taken.
TEST(ProfessionalReadiness, TimesNormalisedToUtc) {
  const json doc = {{"backups", {{"status", "ok"}, {"generated_at", "2025-01-02T01:00:00+01:00"}}},
                    {"ingest_slos", {{"status", "pass"}, {"generated_at", "2025-01-02T00:30:00"}}}};
  auto c = ProfessionalReadiness::create({}).value();
  const auto e = c->evaluate(doc, kNow).value();
  EXPECT_EQ(e.snapshot.observed_at, kT0 + std::chrono::minutes(30));
  EXPECT_EQ(e.report["generated_at"], "2025-01-02T00:30:00Z");
}

// The input document of testdata/: the feeders' own documents under their keys.
TEST(ProfessionalReadiness, InputDocument) {
  auto c = ProfessionalReadiness::create({}).value();
  const auto e = c->evaluate(read_json(kTestdata / "input.json"), kNow).value();
  EXPECT_EQ(e.snapshot.status, core::Status::kWarn);
  EXPECT_EQ(e.snapshot.observed_at, kT0 + std::chrono::minutes(15));
  EXPECT_EQ(e.snapshot.summary,
            "warn across 6 components (backups warn, operational_readiness warn, failover warn, "
            "recovery warn)");
  const json& comps = e.report["components"];
  ASSERT_EQ(comps.size(), 6u);
  EXPECT_EQ(comps[0]["summary"], "status=ok across 3 components");
  EXPECT_EQ(comps[1]["summary"], "timescale_backups status=warn");
  EXPECT_EQ(comps[2]["summary"], "status=pass across 2 SLOs");
  EXPECT_EQ(comps[3]["summary"], "status=warn across 2 components");
  EXPECT_EQ(comps[4]["metadata"]["optional_triggers"], json::array({"macro_events"}));
  EXPECT_EQ(comps[5]["metadata"]["plan"][0]["action"], "backfill");
  EXPECT_EQ(comps[5]["metadata"]["reasons"], json::array({"macro_events stale"}));
  EXPECT_FALSE(comps[5]["metadata"].contains("missing_symbols"));
  // The feeder's own document is the nested snapshot.
  EXPECT_EQ(comps[1]["metadata"]["snapshot"]["latest_backup_at"], "2025-01-01T21:00:00+00:00");
  EXPECT_EQ(e.snapshot.metadata["environment"], "staging");
  EXPECT_EQ(e.snapshot.metadata["issue_counts"], (json{{"warn", 4}}));
  EXPECT_NE(e.markdown.find("| operational_readiness | WARN | status=warn across 2 components |"),
            std::string::npos);
  // data_backbone may declare its count instead of listing its components.
  json doc = {{"data_backbone", {{"status", "warn"}, {"component_count", 4}}}};
  EXPECT_EQ(c->evaluate(doc, kNow).value().report["components"][0]["summary"],
            "status=warn across 4 components");
}

// The evaluated as_dict of testdata/ (what the input document evaluates to) reads back to the
// same status, summary, issues and Markdown.
TEST(ProfessionalReadiness, EvaluatedSnapshotIntake) {
  auto c = ProfessionalReadiness::create({}).value();
  const auto from_input = c->evaluate(read_json(kTestdata / "input.json"), kNow).value();
  if (std::getenv("OPSREADY_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(kTestdata / "evaluated.json") << from_input.report.dump(2) << "\n";
  }
  const json evaluated = read_json(kTestdata / "evaluated.json");
  EXPECT_EQ(evaluated, from_input.report) << from_input.report.dump(2);
  const auto e = c->evaluate(evaluated, kNow).value();
  EXPECT_EQ(e.snapshot.status, from_input.snapshot.status);
  EXPECT_EQ(e.snapshot.summary, from_input.snapshot.summary);
  EXPECT_EQ(e.snapshot.issues, from_input.snapshot.issues);
  EXPECT_EQ(e.snapshot.observed_at, from_input.snapshot.observed_at);
  EXPECT_EQ(e.markdown, from_input.markdown);
  EXPECT_EQ(e.report, evaluated);
  EXPECT_EQ(e.snapshot.metadata["source"], "evaluated_snapshot");

  // issue_details with the original's severities become issues of their own severity.
  const json doc = {{"status", "ok"},
                    {"generated_at", "2025-01-02T00:00:00+00:00"},
                    {"components", {{{"name", "ingest_slos"}, {"status", "ok"}, {"summary", "s"}}}},
                    {"metadata",
                     {{"issue_details",
                       {{{"category", "backups"}, {"severity", "warn"}, {"message", "m1"}},
                        {{"category", "failover"}, {"severity", "fail"}, {"message", "m2"}},
                        {{"category", "note"}, {"severity", "ok"}, {"message", "m3"}}}}}}};
  const auto d = c->evaluate(doc, kNow).value();
  EXPECT_EQ(d.snapshot.status, core::Status::kFail);
  EXPECT_EQ(codes(d.snapshot),
            "professional_readiness.backups,professional_readiness.failover,"
            "professional_readiness.note");
  EXPECT_EQ(d.snapshot.issues[0].severity, core::Severity::kWarning);
  EXPECT_EQ(d.snapshot.issues[1].severity, core::Severity::kCritical);
  EXPECT_EQ(d.snapshot.issues[2].severity, core::Severity::kInfo);
  EXPECT_EQ(d.snapshot.observed_at, kT0);
  EXPECT_EQ(d.snapshot.summary, "ok across 1 components");

  // A component issue whose code an issue_details entry already took stays unique.
  json dup = doc;
  dup["components"] = {{{"name", "backups"}, {"status", "warn"}, {"summary", "x"}}};
  EXPECT_EQ(codes(c->evaluate(dup, kNow).value().snapshot),
            "professional_readiness.backups,professional_readiness.failover,"
            "professional_readiness.note,professional_readiness.backups:2");
}

TEST(ProfessionalReadiness, Refusals) {
  auto c = ProfessionalReadiness::create({}).value();
  struct Case {
    json doc;
    std::string field;
  };
  const Case cases[] = {
      {{{"backupz", json::object()}}, "backupz"},
      {{{"backups", {{"status", 1}}}}, "backups.status"},
      {{{"backups", json::object()}}, "backups.status"},
      {{{"backups", {{"status", "ok"}, {"providers", "s3"}}}}, "backups.providers"},
      {{{"backups", {{"status", "ok"}, {"generated_at", "yesterday"}}}}, "backups.generated_at"},
      {{{"ingest_slos", {{"status", "green"}}}}, "ingest_slos.status"},
      {{{"ingest_slos", {{"status", "pass"}, {"slos", {1}}}}}, "ingest_slos.slos[0]"},
      {{{"data_backbone", {{"status", "ok"}, {"component_count", -1}}}},
       "data_backbone.component_count"},
      {{{"operational_readiness", {{"status", "ok"}, {"components", "a"}}}},
       "operational_readiness.components"},
      {{{"operational_readiness", {{"status", "ok"}, {"metadata", 3}}}},
       "operational_readiness.metadata"},
      {{{"failover", json::object()}}, "failover.should_failover"},
      {{{"failover", {{"should_failover", "maybe"}}}}, "failover.should_failover"},
      {{{"failover", {{"should_failover", false}, {"optional_triggers", {{1, 2}}}}}},
       "failover.optional_triggers[0]"},
      {{{"recovery", {{"plan", "backfill"}}}}, "recovery.plan"},
      {{{"recovery", {{"steps", json::array()}}}}, "recovery.steps"},
      {{{"metadata", "x"}}, "metadata"},
      {{{"status", "ok"}, {"extra", 1}}, "extra"},
      {{{"status", "great"}}, "status"},
      {{{"status", "ok"}, {"components", {{{"name", "backups"}, {"status", "ok"}, {"x", 1}}}}},
       "components[0].x"},
      {{{"status", "ok"}, {"components", {{{"name", "security"}, {"status", "ok"}}}}},
       "components[0].name"},
      {{{"status", "ok"}, {"components", {{{"name", "backups"}}}}}, "components[0].status"},
      {{{"status", "ok"}, {"components", {7}}}, "components[0]"},
  };
  for (const auto& k : cases) {
    auto e = c->evaluate(k.doc, kNow);
    ASSERT_FALSE(e.has_value()) << k.doc.dump();
    EXPECT_EQ(e.error().field, k.field) << k.doc.dump() << ": " << e.error().describe();
  }
  EXPECT_FALSE(c->evaluate(json::array(), kNow).has_value());
}

TEST(ProfessionalReadiness, DocumentComponent) {
  auto c = ProfessionalReadiness::create({}).value();
  EXPECT_EQ(c->name(), "professional_readiness");
  EXPECT_EQ(c->alert_category(), "operational.professional_readiness");
  EXPECT_TRUE(c->consumes("telemetry.operational.readiness"));
  EXPECT_FALSE(c->consumes("telemetry.operational.operational_readiness"));
  EXPECT_FALSE(c->active());
  const json doc = {{"failover", {{"should_failover", true}, {"reason", "daily bars failed"}}}};
  ASSERT_TRUE(c->apply({.topic = "telemetry.operational.readiness", .time = kT0, .payload = doc}));
  EXPECT_TRUE(c->active());
  auto s = c->snapshot(kNow);
  EXPECT_EQ(s.status, core::Status::kFail);
  EXPECT_EQ(s.observed_at, kT0);  // no feeder time: the event's
  EXPECT_EQ(codes(s), "professional_readiness.failover");
  EXPECT_TRUE(c->snapshot(kNow, Detail::kBrief).metadata.empty());
  // A refused document leaves the previous evaluation in place.
  EXPECT_FALSE(c->apply(
      {.topic = "telemetry.operational.readiness", .time = kT0, .payload = {{"failover", 1}}}));
  EXPECT_EQ(c->snapshot(kNow).status, core::Status::kFail);
}

// Views of opsready's own component snapshots.
TEST(ProfessionalReadiness, Adapters) {
  const core::ComponentSnapshot slos{
      .component = "ingest_slos",
      .status = core::Status::kWarn,
      .summary = "1 ingest SLOs at risk",
      .observed_at = kT0,
      .issues = {{.code = "a", .severity = core::Severity::kWarning, .message = "late"},
                 {.code = "b", .severity = core::Severity::kCritical, .message = "gone"},
                 {.code = "c", .severity = core::Severity::kInfo, .message = "fyi"}}};
  const FeederSnapshot f = feeder_of(slos, 4);
  EXPECT_EQ(f.metadata["issue_counts"], (json{{"warn", 1}, {"fail", 1}}));
  EXPECT_EQ(f.service, "ingest_slos");
  EXPECT_EQ(f.snapshot["component"], "ingest_slos");
  EXPECT_EQ(f.snapshot["metadata"]["issue_counts"], (json{{"warn", 1}, {"fail", 1}}));
  ProfessionalInputs in;
  in.ingest_slos = f;
  auto p = evaluate_professional_readiness(in, kNow);
  EXPECT_EQ(component(p, "ingest_slos").summary, "status=warn across 4 SLOs");
  EXPECT_EQ(p.metadata["issue_counts"], (json{{"warn", 1}, {"fail", 1}}));
  EXPECT_EQ(p.generated_at, kT0);

  core::ComponentSnapshot backups{.component = "backups",
                                  .status = core::Status::kOk,
                                  .metadata = {{"service", "timescale_backups"}}};
  EXPECT_EQ(feeder_of(backups).service, "timescale_backups");

  core::ComponentSnapshot drill{
      .component = "failover_drill",
      .status = core::Status::kWarn,
      .summary = "Failover drill completed with warnings",
      .observed_at = kT0,
      .issues = {{.code = "x", .severity = core::Severity::kWarning, .message = "intraday slow"}}};
  FailoverDecision d = failover_of(drill);
  EXPECT_FALSE(d.should_failover);
  EXPECT_EQ(d.optional_triggers, std::vector<std::string>{"intraday slow"});
  EXPECT_EQ(d.generated_at, kT0);
  drill.status = core::Status::kFail;
  drill.summary = "Failover automation failed";
  d = failover_of(drill);
  EXPECT_TRUE(d.should_failover);
  EXPECT_EQ(d.reason, "Failover automation failed");

  core::ComponentSnapshot dr{.component = "disaster_recovery",
                             .status = core::Status::kWarn,
                             .summary = "degraded",
                             .issues = {{.code = "y",
                                         .severity = core::Severity::kWarning,
                                         .message = "Backup posture warn; review issues"}}};
  RecoveryPlan r = recovery_of(dr);
  EXPECT_EQ(r.plan, json::array({"Backup posture warn; review issues"}));
  EXPECT_EQ(r.reasons, std::vector<std::string>{"degraded"});
  dr.status = core::Status::kOk;
  dr.issues.clear();
  EXPECT_EQ(recovery_of(dr).plan, json::array());
}

}  // namespace
}  // namespace opsready::components

namespace opsready::components {
namespace {

// Live mode in a registry (live_rollup): the roll-up of the backups and failover-drill
// evaluations of the same round; a document on the topic then takes precedence. Off by
// default: no roll-up without a document.
TEST(ProfessionalReadinessLive, RollsUpTheRegistrysOwnComponents) {
  ComponentsConfig cfg;
  cfg.professional_readiness.live_rollup = true;
  auto registry = Registry::create(cfg).value();
  const auto read = [](const char* file) {
    std::ifstream in(std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() /
                     "examples" / "documents" / file);
    return nlohmann::json::parse(in);
  };
  const core::TimePoint t = core::parse_rfc3339("2025-01-02T12:00:00Z").value();
  std::vector<core::ComponentSnapshot> out;
  registry.snapshots(t, out);
  for (const auto& s : out) EXPECT_NE(s.component, "professional_readiness");
  {
    auto off = Registry::create({}).value();
    ASSERT_EQ(off.route({.topic = "telemetry.operational.backups",
                         .time = t,
                         .payload = read("backups/report.json")})
                  .refused,
              0);
    std::vector<core::ComponentSnapshot> none;
    off.snapshots(t, none);
    for (const auto& s : none) EXPECT_NE(s.component, "professional_readiness");
  }

  ASSERT_TRUE(registry
                  .route({.topic = "telemetry.operational.backups",
                          .time = t,
                          .payload = read("backups/report.json")})
                  .refused == 0);
  out.clear();
  registry.snapshots(t, out);
  const auto find = [&](std::string_view name) -> const core::ComponentSnapshot* {
    for (const auto& s : out) {
      if (s.component == name) return &s;
    }
    return nullptr;
  };
  const core::ComponentSnapshot* p = find("professional_readiness");
  ASSERT_NE(p, nullptr);
  ASSERT_NE(find("backups"), nullptr);
  EXPECT_EQ(p->status, find("backups")->status);
  EXPECT_EQ(p->metadata["component_statuses"], (nlohmann::json{{"backups", "ok"}}));
  EXPECT_EQ(p->observed_at, find("backups")->observed_at);

  ASSERT_TRUE(registry
                  .route({.topic = "telemetry.operational.failover_drill",
                          .time = t,
                          .payload = read("failover_drill/report.json")})
                  .refused == 0);
  out.clear();
  registry.snapshots(t, out);
  p = find("professional_readiness");
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(p->metadata["component_statuses"].contains("failover")) << p->metadata.dump();

  // The runtime's own professional feed wins over the live roll-up.
  ASSERT_TRUE(registry
                  .route({.topic = "telemetry.operational.readiness",
                          .time = t,
                          .payload = read("professional_readiness/evaluated.json")})
                  .refused == 0);
  out.clear();
  registry.snapshots(t, out);
  p = find("professional_readiness");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->metadata.value("source", ""), "evaluated_snapshot") << p->metadata.dump();
}

}  // namespace
}  // namespace opsready::components
