#include "opsready/components/failover_drill.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "opsready/core/time.h"

namespace opsready::components {
namespace {

using nlohmann::json;

namespace fs = std::filesystem;
const fs::path kTestdata = fs::path(__FILE__).parent_path().parent_path().parent_path() /
                           "examples" / "documents" / "failover_drill";

core::TimePoint at(const char* text) { return core::parse_rfc3339(text).value(); }
const core::TimePoint kNow = at("2024-01-02T00:00:00Z");

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

const json* component(const json& report, const char* name) {
  for (const auto& c : report["components"]) {
    if (c["name"] == name) return &c;
  }
  ADD_FAILURE() << "no component " << name;
  static const json kNull;
  return &kNull;
}

Evaluated eval(const json& doc, const FailoverDrillConfig& config = {}) {
  auto d = FailoverDrill::create(config).value();
  auto e = d->evaluate(doc, kNow);
  EXPECT_TRUE(e.has_value()) << (e ? "" : e.error().describe());
  return e ? *e : Evaluated{};
}

core::Error refusal(const json& doc) {
  auto d = FailoverDrill::create({}).value();
  auto e = d->evaluate(doc, kNow);
  EXPECT_FALSE(e.has_value()) << doc.dump();
  return e ? core::Error{} : e.error();
}

json daily_result(int rows, double freshness) {
  return {{"rows_written", rows},
          {"symbols", {"EURUSD"}},
          {"start_ts", "2024-01-01T00:00:00+00:00"},
          {"end_ts", "2024-01-01T23:00:00+00:00"},
          {"ingest_duration_seconds", 2.0},
          {"freshness_seconds", freshness},
          {"dimension", "daily_bars"},
          {"source", "yahoo"}};
}

// test_failover_drill_triggers_failover: a required daily outage with a fallback that ran →
// ok, failover triggered, the fallback executed.
TEST(FailoverDrill, RequiredOutageWithFallback) {
  const Evaluated e = eval({{"scenario", "required-daily"},
                            {"plan", {{"daily_bars", {{"symbols", {"EURUSD"}}}}}},
                            {"results", {{"daily_bars", daily_result(12, 30.0)}}},
                            {"fail_dimensions", {"daily_bars"}},
                            {"fallback", {{"executed", true}}}});
  EXPECT_EQ(e.snapshot.status, core::Status::kOk);
  EXPECT_EQ(e.report["status"], "ok");
  EXPECT_EQ(e.report["failover_decision"]["should_failover"], true);
  EXPECT_EQ(e.report["failover_decision"]["reason"],
            "daily_bars produced zero rows; daily_bars missing symbols: EURUSD; daily_bars "
            "status=error");
  EXPECT_EQ(e.report["failover_decision"]["triggered_dimensions"], json::array({"daily_bars"}));
  EXPECT_EQ(e.report["metadata"]["fallback"], (json{{"executed", true}, {"error", nullptr}}));
  EXPECT_EQ(e.report["metadata"]["failover_triggered"], true);
  EXPECT_EQ(e.report["metadata"]["targeted_dimensions"], json::array({"daily_bars"}));
  EXPECT_EQ((*component(e.report, "health"))["status"], "fail");
  EXPECT_EQ((*component(e.report, "health"))["summary"], "health status error");
  EXPECT_EQ((*component(e.report, "failover"))["status"], "ok");
  EXPECT_EQ((*component(e.report, "fallback"))["summary"], "fallback executed");
  // Health fails on purpose: an info issue, not part of the status.
  EXPECT_EQ(issue_codes(e.snapshot), "failover_drill.health:daily_bars");
  EXPECT_EQ(e.snapshot.issues[0].severity, core::Severity::kInfo);
  EXPECT_EQ(e.snapshot.issues[0].message,
            "daily_bars error: No rows ingested for planned slice; All expected symbols missing "
            "from ingest result; Freshness metric unavailable");
  EXPECT_EQ(e.snapshot.issues[0].runbook, "docs/runbooks/failover_drill.md#health");
  EXPECT_EQ(e.snapshot.summary,
            "Failover drill (required-daily) ok: daily_bars produced zero rows; daily_bars missing "
            "symbols: EURUSD; daily_bars status=error; fallback executed");
  const json& check = e.report["health_report"]["checks"][0];
  EXPECT_EQ(
      check,
      (json{
          {"dimension", "daily_bars"},
          {"status", "error"},
          {"message",
           "No rows ingested for planned slice; All expected symbols missing from ingest "
           "result; Freshness metric unavailable"},
          {"rows_written", 0},
          {"freshness_seconds", nullptr},
          {"observed_symbols", json::array()},
          {"expected_symbols", {"EURUSD"}},
          {"missing_symbols", {"EURUSD"}},
          {"ingest_duration_seconds", 0.0},
          {"metadata",
           {{"freshness_sla_seconds", 86400.0}, {"min_rows_required", 1}, {"source", "yahoo"}}}}));
  EXPECT_EQ(e.report["health_report"]["metadata"]["drill"],
            (json{{"scenario", "required-daily"}, {"dimensions", {"daily_bars"}}}));
}

// test_failover_drill_warns_when_optional_dimension: an optional macro outage without a
// fallback → warn, no failover, optional_triggers [macro_events].
TEST(FailoverDrill, OptionalOutageWarns) {
  const Evaluated e = eval({{"scenario", "optional-macro"},
                            {"plan",
                             {{"daily_bars", {{"symbols", {"EURUSD"}}}},
                              {"macro_events", {{"events", {{{"event_name", "CPI"}}}}}}}},
                            {"results",
                             {{"daily_bars", daily_result(8, 40.0)},
                              {"macro_events",
                               {{"rows_written", 1},
                                {"symbols", {"CPI"}},
                                {"freshness_seconds", nullptr},
                                {"source", "fred"}}}}},
                            {"fail_dimensions", {"macro_events"}}});
  EXPECT_EQ(e.snapshot.status, core::Status::kWarn);
  const json& decision = e.report["failover_decision"];
  EXPECT_EQ(decision["should_failover"], false);
  EXPECT_EQ(decision["reason"], nullptr);
  EXPECT_EQ(decision["optional_triggers"], json::array({"macro_events"}));
  EXPECT_EQ(decision["triggered_dimensions"], json::array());
  EXPECT_EQ(decision["planned_dimensions"], json::array({"daily_bars", "macro_events"}));
  EXPECT_EQ((*component(e.report, "failover"))["summary"], "failover not triggered");
  EXPECT_EQ((*component(e.report, "fallback"))["summary"],
            "no fallback required for simulated outage");
  EXPECT_EQ(issue_codes(e.snapshot),
            "failover_drill.health:macro_events,failover_drill.failover,failover_drill.fallback");
  EXPECT_EQ(e.snapshot.issues[1].severity, core::Severity::kWarning);
  EXPECT_EQ(e.snapshot.issues[1].message, "failover: failover not triggered");
  EXPECT_EQ(e.snapshot.issues[2].runbook, "docs/runbooks/failover_drill.md#fallback");
}

// test_failover_drill_records_fallback_error: the fallback raised → fail, the error recorded.
TEST(FailoverDrill, FallbackErrorFails) {
  const Evaluated e = eval({{"scenario", "failing-fallback"},
                            {"plan", {{"daily_bars", {{"symbols", {"EURUSD"}}}}}},
                            {"results", {{"daily_bars", daily_result(5, 50.0)}}},
                            {"fail_dimensions", {"daily_bars"}},
                            {"fallback", {{"executed", true}, {"error", "fallback failed"}}}});
  EXPECT_EQ(e.snapshot.status, core::Status::kFail);
  EXPECT_EQ(e.report["metadata"]["fallback"],
            (json{{"executed", true}, {"error", "fallback failed"}}));
  EXPECT_EQ((*component(e.report, "fallback"))["summary"], "fallback failed: fallback failed");
  EXPECT_EQ(issue_codes(e.snapshot), "failover_drill.health:daily_bars,failover_drill.fallback");
  EXPECT_EQ(e.snapshot.issues[1].severity, core::Severity::kCritical);
}

// A triggered failover without a recorded fallback run grades warn (the original CLI passes no
// fallback); `executed: false` reads the same way.
TEST(FailoverDrill, TriggeredWithoutFallbackWarns) {
  for (const json& fallback : {json(nullptr), json{{"executed", false}}}) {
    json doc = {{"plan", {{"daily_bars", {{"symbols", {"EURUSD"}}}}}},
                {"results", {{"daily_bars", daily_result(5, 50.0)}}}};
    if (!fallback.is_null()) doc["fallback"] = fallback;
    const Evaluated e = eval(doc);
    EXPECT_EQ(e.snapshot.status, core::Status::kWarn);
    EXPECT_EQ((*component(e.report, "fallback"))["summary"], "fallback not provided");
    EXPECT_EQ(e.report["metadata"]["fallback"]["executed"], false);
    // Without fail_dimensions every result's dimension is targeted.
    EXPECT_EQ(e.report["metadata"]["targeted_dimensions"], json::array({"daily_bars"}));
    EXPECT_EQ(e.report["scenario"], "timescale_failover");
  }
}

// An explicit empty fail_dimensions simulates no outage: "no failover scenario configured".
TEST(FailoverDrill, NoTargets) {
  const Evaluated e = eval({{"plan", {{"daily_bars", {{"symbols", {"EURUSD"}}}}}},
                            {"results", {{"daily_bars", daily_result(5, 50.0)}}},
                            {"fail_dimensions", json::array()}});
  EXPECT_EQ(e.snapshot.status, core::Status::kOk);
  EXPECT_EQ((*component(e.report, "failover"))["summary"], "failover not triggered");
  EXPECT_EQ((*component(e.report, "fallback"))["summary"], "no failover scenario configured");
  EXPECT_TRUE(e.snapshot.issues.empty());
  EXPECT_EQ((*component(e.report, "health"))["summary"], "health status ok");
}

// The plan names daily|intraday|macro (the institutional vertical's) are read as
// daily_bars|intraday_trades|macro_events, in the plan, the results and fail_dimensions.
TEST(FailoverDrill, DimensionAliases) {
  const json canonical = {{"plan", {{"daily_bars", {{"symbols", {"EURUSD"}}}}}},
                          {"results", {{"daily_bars", daily_result(12, 30.0)}}},
                          {"fail_dimensions", {"daily_bars"}},
                          {"fallback", {{"executed", true}}}};
  json aliased = canonical;
  aliased["plan"] = {{"daily", {{"symbols", {"EURUSD"}}}}};
  json r = daily_result(12, 30.0);
  r.erase("dimension");
  aliased["results"] = {{"daily", r}};
  aliased["fail_dimensions"] = "daily";
  EXPECT_EQ(eval(aliased).report, eval(canonical).report);
  EXPECT_EQ(refusal({{"plan", {{"daily", json::object()}, {"daily_bars", json::object()}}},
                     {"results", {{"daily_bars", daily_result(1, 1)}}}})
                .field,
            "plan.daily");
}

// The three result shapes the original CLI reads: keyed by dimension, one object with
// `dimension`, a list; `rows` is read like `rows_written`.
TEST(FailoverDrill, ResultShapes) {
  const json keyed = {{"results", {{"daily_bars", daily_result(12, 30.0)}}}};
  const json single = {{"results", daily_result(12, 30.0)}};
  const json list = {{"results", json::array({daily_result(12, 30.0)})}};
  json rows = daily_result(12, 30.0);
  rows.erase("rows_written");
  rows["rows"] = 12;
  const json with_rows = {{"results", json::array({rows})}};
  const json expected = eval(keyed).report;
  EXPECT_EQ(eval(single).report, expected);
  EXPECT_EQ(eval(list).report, expected);
  EXPECT_EQ(eval(with_rows).report, expected);
}

// The ingest health rules (§6.1) and their boundaries.
TEST(FailoverDrill, HealthRules) {
  struct Case {
    const char* name;
    json plan;
    json result;  // intraday_trades
    const char* status;
    const char* message;
  };
  const json planned = {{"intraday_trades", {{"symbols", {"SPY", "QQQ"}}}}};
  const Case cases[] = {
      {"fresh",
       planned,
       {{"rows", 10}, {"symbols", {"SPY", "QQQ"}}, {"freshness_seconds", 900}},
       "ok",
       "Ingest healthy"},
      {"stale",
       planned,
       {{"rows", 10}, {"symbols", {"SPY", "QQQ"}}, {"freshness_seconds", 900.5}},
       "warn",
       "Freshness 900s exceeds SLA 900s"},
      {"some missing",
       planned,
       {{"rows", 10}, {"symbols", {"SPY"}}, {"freshness_seconds", 60}},
       "warn",
       "Missing symbols: QQQ"},
      {"planned no symbols",
       {{"intraday_trades", json::object()}},
       {{"rows", 0}, {"freshness_seconds", 60}},
       "warn",
       "No rows ingested for planned slice"},
      {"unplanned below min", nullptr, {{"rows", 0}}, "warn", "Rows below threshold (0 < 1)"},
      {"unplanned no freshness", nullptr, {{"rows", 3}}, "ok", "Ingest healthy"},
  };
  for (const Case& c : cases) {
    json doc = {{"results", {{"intraday_trades", c.result}}}, {"fail_dimensions", json::array()}};
    if (!c.plan.is_null()) doc["plan"] = c.plan;
    const Evaluated e = eval(doc);
    const json& check = e.report["health_report"]["checks"][0];
    EXPECT_EQ(check["status"], c.status) << c.name;
    EXPECT_EQ(check["message"], c.message) << c.name;
  }
}

// A planned dimension with no result at all reads as an empty result: a required trigger.
TEST(FailoverDrill, PlannedDimensionWithoutResult) {
  const Evaluated e = eval(
      {{"plan", {{"daily_bars", {{"symbols", {"EURUSD"}}}}, {"intraday", {{"symbols", {"SPY"}}}}}},
       {"results", {{"daily_bars", daily_result(12, 30.0)}}},
       {"fail_dimensions", json::array()},
       {"fallback", {{"executed", true}}}});
  const json& checks = e.report["health_report"]["checks"];
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_EQ(checks[1]["dimension"], "intraday_trades");
  EXPECT_EQ(checks[1]["status"], "error");
  EXPECT_EQ(checks[1]["ingest_duration_seconds"], 0.0);
  EXPECT_EQ(e.report["failover_decision"]["reason"],
            "intraday_trades produced zero rows; intraday_trades missing symbols: SPY; "
            "intraday_trades status=error");
  EXPECT_EQ(e.report["health_report"]["metadata"]["planned_dimensions"],
            json::array({"daily_bars", "intraday_trades"}));
  // Nothing was targeted, yet failover triggered on a real outage and the fallback ran.
  EXPECT_EQ(e.snapshot.status, core::Status::kOk);
  EXPECT_EQ(issue_codes(e.snapshot), "failover_drill.health:intraday_trades");
}

// With `warn` among the trigger statuses, an unplanned dimension that warns fails over on the
// overall status, with no required dimension triggered → the failover component warns.
TEST(FailoverDrill, OverallStatusTrigger) {
  const json doc = {{"plan", {{"daily_bars", {{"symbols", {"EURUSD"}}}}}},
                    {"results",
                     {{"daily_bars", daily_result(12, 30.0)},
                      {"intraday_trades", {{"rows", 0}, {"freshness_seconds", 1}}}}},
                    {"fail_dimensions", json::array()},
                    {"failover_policy", {{"trigger_statuses", {"warn", "error"}}}}};
  const Evaluated e = eval(doc);
  EXPECT_EQ(e.report["failover_decision"]["should_failover"], true);
  EXPECT_EQ(e.report["failover_decision"]["reason"], "overall status=warn");
  EXPECT_EQ((*component(e.report, "failover"))["status"], "warn");
  EXPECT_EQ((*component(e.report, "failover"))["summary"], "overall status=warn");
  EXPECT_EQ(e.snapshot.status, core::Status::kWarn);
  // The same document under the default policy (trigger on error only) does not fail over.
  FailoverDrillConfig config;
  config.trigger_statuses = {"warn"};
  json plain = doc;
  plain.erase("failover_policy");
  EXPECT_EQ(eval(plain).report["failover_decision"]["should_failover"], false);
  EXPECT_EQ(eval(plain, config).report["failover_decision"]["should_failover"], true);
}

// An optional dimension is configurable; an optional-only outage never fails over.
TEST(FailoverDrill, OptionalDimensionsPolicy) {
  const json doc = {{"plan", {{"daily", {{"symbols", {"EURUSD"}}}}}},
                    {"results", {{"daily_bars", daily_result(12, 30.0)}}},
                    {"fail_dimensions", {"daily"}},
                    {"failover_policy", {{"optional_dimensions", "daily, macro"}}}};
  const Evaluated e = eval(doc);
  EXPECT_EQ(e.report["failover_decision"]["should_failover"], false);
  EXPECT_EQ(e.report["failover_decision"]["optional_triggers"], json::array({"daily_bars"}));
  EXPECT_EQ(e.snapshot.status, core::Status::kWarn);
}

TEST(FailoverDrill, Markdown) {
  const Evaluated e = eval({{"scenario", "required-daily"},
                            {"generated_at", "2024-01-02T03:04:05Z"},
                            {"plan", {{"daily_bars", {{"symbols", {"EURUSD"}}}}}},
                            {"results", {{"daily_bars", daily_result(12, 30.0)}}},
                            {"fail_dimensions", {"daily_bars"}},
                            {"fallback", {{"executed", true}, {"error", "pg | down"}}}});
  EXPECT_EQ(e.markdown,
            "# Timescale Failover Drill (required-daily)\n"
            "\n"
            "- Status: FAIL\n"
            "- Generated at: 2024-01-02T03:04:05Z\n"
            "- Requested dimensions: daily_bars\n"
            "\n"
            "## Components\n"
            "| Component | Status | Summary |\n"
            "| --- | --- | --- |\n"
            "| health | FAIL | health status error |\n"
            "| failover | OK | daily_bars produced zero rows; daily_bars missing symbols: EURUSD; "
            "daily_bars status=error |\n"
            "| fallback | FAIL | fallback failed: pg \\| down |");
  EXPECT_EQ(e.snapshot.observed_at, at("2024-01-02T03:04:05Z"));
  EXPECT_EQ(e.report["generated_at"], "2024-01-02T03:04:05Z");
}

// An evaluated FailoverDrillSnapshot (as the cross-region test builds one): status as given,
// issues from its components.
TEST(FailoverDrill, EvaluatedSnapshot) {
  const json doc = {
      {"status", "warn"},
      {"generated_at", "2024-01-01T00:00:00+00:00"},
      {"scenario", "drill"},
      {"components",
       {{{"name", "health"},
         {"status", "fail"},
         {"summary", "health status error"},
         {"metadata",
          {{"checks",
            {{{"dimension", "daily_bars"}, {"status", "error"}, {"message", "No rows"}},
             {{"dimension", "intraday_trades"},
              {"status", "ok"},
              {"message", "Ingest healthy"}}}}}}},
        {{"name", "failover"}, {"status", "ok"}, {"summary", "daily_bars produced zero rows"}},
        {{"name", "fallback"}, {"status", "warn"}, {"summary", "fallback not provided"}}}},
      {"health_report", json::object()},
      {"failover_decision", {{"should_failover", true}}},
      {"metadata", {{"fallback", {{"executed", false}, {"error", nullptr}}}}}};
  const Evaluated e = eval(doc);
  EXPECT_EQ(e.snapshot.status, core::Status::kWarn);
  EXPECT_EQ(e.snapshot.observed_at, at("2024-01-01T00:00:00Z"));
  EXPECT_EQ(issue_codes(e.snapshot), "failover_drill.health:daily_bars,failover_drill.fallback");
  EXPECT_EQ(e.snapshot.issues[0].severity, core::Severity::kInfo);
  EXPECT_EQ(e.snapshot.issues[1].severity, core::Severity::kWarning);
  EXPECT_EQ(e.snapshot.summary,
            "Failover drill (drill) warn: daily_bars produced zero rows; fallback not provided");
  EXPECT_EQ(e.report, doc);
  EXPECT_EQ(e.snapshot.metadata["source"], "evaluated_snapshot");
  EXPECT_EQ(e.snapshot.metadata["issue_details"][1]["severity"], "warn");
  EXPECT_NE(e.markdown.find("| fallback | WARN | fallback not provided |"), std::string::npos);

  // The minimal snapshot of test_cross_region_failover.py: one healthy component.
  const Evaluated minimal =
      eval({{"status", "ok"},
            {"scenario", "drill"},
            {"components", {{{"name", "health"}, {"status", "ok"}, {"summary", "healthy"}}}}});
  EXPECT_EQ(minimal.snapshot.status, core::Status::kOk);
  EXPECT_TRUE(minimal.snapshot.issues.empty());
  EXPECT_EQ(minimal.snapshot.observed_at, kNow);
}

// A report this component wrote reads back with the same status and issues.
TEST(FailoverDrill, ReportRoundTrip) {
  const Evaluated first = eval({{"plan", {{"daily_bars", {{"symbols", {"EURUSD"}}}}}},
                                {"results", {{"daily_bars", daily_result(12, 30.0)}}}});
  const Evaluated again = eval(first.report);
  EXPECT_EQ(again.snapshot.status, first.snapshot.status);
  EXPECT_EQ(again.snapshot.issues, first.snapshot.issues);
  EXPECT_EQ(again.snapshot.summary, first.snapshot.summary);
  EXPECT_EQ(again.markdown, first.markdown);
}

TEST(FailoverDrill, RefusesDocumentsItDoesNotUnderstand) {
  const json ok_results = {{"daily_bars", daily_result(1, 1)}};
  struct Case {
    json doc;
    const char* field;
  };
  const Case cases[] = {
      {json::object(), ""},
      {{{"result", ok_results}}, "result"},
      {{{"results", json::object()}}, "results"},
      {{{"results", "daily_bars"}}, "results"},
      {{{"results", {{"daily_bars", 5}}}}, "results.daily_bars"},
      {{{"results", {{"daily_bars", {{"rows", 1}, {"rows_written", 1}}}}}},
       "results.daily_bars.rows"},
      {{{"results", {{"daily_bars", {{"rows", -1}}}}}}, "results.daily_bars.rows"},
      {{{"results", {{"daily_bars", {{"rows", 1.5}}}}}}, "results.daily_bars.rows"},
      {{{"results", {{"daily_bars", {{"freshness_seconds", "fresh"}}}}}},
       "results.daily_bars.freshness_seconds"},
      {{{"results", {{"daily_bars", {{"dimension", "intraday"}}}}}},
       "results.daily_bars.dimension"},
      {{{"results", {{"daily_bars", {{"row", 1}}}}}}, "results.daily_bars.row"},
      {{{"results", json::array({{{"rows", 1}}})}}, "results[0].dimension"},
      {{{"results", json::array({{{"rows", 1}, {"dimension", "daily"}},
                                 {{"rows", 2}, {"dimension", "daily_bars"}}})}},
       "results[1].dimension"},
      {{{"results", ok_results}, {"plan", {{"weekly", json::object()}}}}, "plan.weekly"},
      {{{"results", ok_results}, {"plan", {{"daily_bars", {{"interval", "1m"}}}}}},
       "plan.daily_bars.interval"},
      {{{"results", ok_results}, {"plan", {{"macro", {{"events", {7}}}}}}}, "plan.macro.events[0]"},
      {{{"results", ok_results}, {"fallback", {{"error", "x"}}}}, "fallback.executed"},
      {{{"results", ok_results}, {"fallback", {{"executed", false}, {"error", "x"}}}},
       "fallback.executed"},
      {{{"results", ok_results}, {"fallback", {{"executed", "maybe"}}}}, "fallback.executed"},
      {{{"results", ok_results}, {"failover_policy", {{"trigger_statuses", {"fail"}}}}},
       "failover_policy.trigger_statuses"},
      {{{"results", ok_results}, {"failover_policy", {{"require_row", true}}}},
       "failover_policy.require_row"},
      {{{"results", ok_results}, {"generated_at", 5}}, "generated_at"},
      {{{"status", "ok"}, {"components", {{{"name", "health"}}}}}, "components[0].status"},
      {{{"status", "ok"}, {"components", {{{"status", "ok"}}}}}, "components[0].name"},
      {{{"status", "ok"}, {"components", {{{"name", "x"}, {"status", "ok"}, {"detail", 1}}}}},
       "components[0].detail"},
      {{{"status", "ok"}, {"checks", json::array()}}, "checks"},
      {{{"status", "great"}}, "status"},
  };
  for (const Case& c : cases) EXPECT_EQ(refusal(c.doc).field, c.field) << c.doc.dump();
}

TEST(FailoverDrill, Component) {
  auto d = FailoverDrill::create({}).value();
  EXPECT_EQ(d->name(), "failover_drill");
  EXPECT_EQ(d->alert_category(), "operational.failover_drill");
  EXPECT_TRUE(d->consumes("telemetry.operational.failover_drill"));
  EXPECT_FALSE(d->consumes("telemetry.operational.backups"));
  ASSERT_TRUE(d->apply({.topic = "telemetry.operational.failover_drill",
                        .time = kNow,
                        .payload = {{"results", {{"daily_bars", daily_result(1, 1)}}},
                                    {"fail_dimensions", json::array()}}})
                  .has_value());
  EXPECT_TRUE(d->active());
  const auto s = d->snapshot(kNow);
  EXPECT_EQ(s.status, core::Status::kOk);
  EXPECT_EQ(s.observed_at, kNow);
  EXPECT_EQ(d->snapshot(kNow, Detail::kBrief).metadata, json::object());
}

TEST(FailoverDrill, ValidatesConfig) {
  struct Case {
    FailoverDrillConfig config;
    const char* field;
  };
  const Case cases[] = {
      {{.scenario = ""}, "scenario"},
      {{.dimensions = {" "}}, "dimensions"},
      {{.intraday_trades_freshness_sla = core::Duration::zero()}, "intraday_trades_freshness_sla"},
      {{.trigger_statuses = {"fail"}}, "trigger_statuses"},
      {{.optional_dimensions = {""}}, "optional_dimensions"},
  };
  for (const Case& c : cases) {
    auto ok = validate(c.config);
    ASSERT_FALSE(ok.has_value()) << c.field;
    EXPECT_EQ(ok.error().field, c.field);
  }
  EXPECT_TRUE(validate(FailoverDrillConfig{}).has_value());
  // config.dimensions chooses the targets when the document lists none.
  const Evaluated e = eval({{"results",
                             {{"daily_bars", daily_result(1, 1)},
                              {"intraday_trades", {{"rows", 5}, {"freshness_seconds", 1}}}}}},
                           {.dimensions = {"intraday"}});
  EXPECT_EQ(e.report["metadata"]["targeted_dimensions"], json::array({"intraday_trades"}));
}

TEST(FailoverDrill, Testdata) {
  const Evaluated report = eval(load("report.json"));
  EXPECT_EQ(report.snapshot.status, core::Status::kOk);
  EXPECT_EQ(report.report["failover_decision"]["should_failover"], true);
  const Evaluated evaluated = eval(load("evaluated.json"));
  EXPECT_EQ(evaluated.snapshot.status, core::Status::kWarn);
  EXPECT_EQ(issue_codes(evaluated.snapshot),
            "failover_drill.health:daily_bars,failover_drill.fallback");
}

// Every issue category has its runbook section (the issue's runbook link is
// docs/runbooks/failover_drill.md#<category>).
TEST(FailoverDrill, RunbookHasASectionPerCategory) {
  std::ifstream in(fs::path(__FILE__).parent_path() / "../../docs/runbooks/failover_drill.md");
  ASSERT_TRUE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  for (const char* category : {"health", "failover", "fallback"}) {
    EXPECT_NE(text.str().find(std::string("\n## ") + category + "\n"), std::string::npos)
        << category;
  }
}

}  // namespace
}  // namespace opsready::components
