#include "opsready/components/cross_region_failover.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "opsready/core/time.h"

namespace opsready::components {
namespace {

using nlohmann::json;
using std::chrono::seconds;

namespace fs = std::filesystem;
const fs::path kTestdata = fs::path(__FILE__).parent_path().parent_path().parent_path() /
                           "examples" / "documents" / "cross_region_failover";

core::TimePoint at(const char* text) { return core::parse_rfc3339(text).value(); }
std::string iso(core::TimePoint t) { return core::format_rfc3339(t); }
const core::TimePoint kNow = at("2024-03-01T12:00:00Z");

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

// The settings of test_cross_region_failover.py::_make_settings.
CrossRegionFailoverConfig test_settings() {
  return {.primary_region = "eu-west",
          .replica_region = "us-east",
          .warn_after = seconds(60),
          .fail_after = seconds(300),
          .max_row_difference_ratio = 0.1,
          .dimensions = {"daily_bars"}};
}

json primary(int rows = 10) {
  return {{"rows_written", rows},           {"symbols", {"EURUSD"}},
          {"ingest_duration_seconds", 1.2}, {"freshness_seconds", 10.0},
          {"dimension", "daily_bars"},      {"source", "yahoo"}};
}

json replica(core::TimePoint executed_at, int rows = 10, const char* status = "ok") {
  return {{"run_id", "replica-1"},
          {"dimension", "daily_bars"},
          {"status", status},
          {"rows_written", rows},
          {"freshness_seconds", 12.0},
          {"ingest_duration_seconds", 1.0},
          {"executed_at", iso(executed_at)},
          {"source", "replica"},
          {"symbols", {"EURUSD"}},
          {"metadata", json::object()}};
}

json scheduler(const char* status, json issues = json::array()) {
  return {{"status", status},      {"generated_at", iso(kNow)}, {"enabled", true},
          {"running", true},       {"consecutive_failures", 0}, {"interval_seconds", 30.0},
          {"jitter_seconds", 5.0}, {"max_failures", 3},         {"issues", std::move(issues)}};
}

Evaluated eval(const json& doc, const CrossRegionFailoverConfig& config = test_settings()) {
  auto x = CrossRegionFailover::create(config).value();
  auto e = x->evaluate(doc, kNow);
  EXPECT_TRUE(e.has_value()) << (e ? "" : e.error().describe());
  return e ? *e : Evaluated{};
}

core::Error refusal(const json& doc) {
  auto x = CrossRegionFailover::create(test_settings()).value();
  auto e = x->evaluate(doc, kNow);
  EXPECT_FALSE(e.has_value()) << doc.dump();
  return e ? core::Error{} : e.error();
}

const json& component(const json& report, const char* name) {
  for (const auto& c : report["components"]) {
    if (c["name"] == name) return c;
  }
  ADD_FAILURE() << "no component " << name;
  static const json kNull;
  return kNull;
}

// test_evaluate_cross_region_ok_status: 10 s of lag and an ok scheduler → ok.
TEST(CrossRegionFailover, OkStatus) {
  const Evaluated e = eval({{"generated_at", iso(kNow)},
                            {"primary_results", {{"daily_bars", primary()}}},
                            {"replica_records", {{"daily_bars", replica(kNow - seconds(10))}}},
                            {"scheduler", scheduler("ok")}});
  EXPECT_EQ(e.snapshot.status, core::Status::kOk);
  const json& rep = component(e.report, "replica:daily_bars");
  EXPECT_EQ(rep["status"], "ok");
  EXPECT_EQ(rep["summary"], "replica healthy");
  EXPECT_EQ(rep["metadata"], (json{{"dimension", "daily_bars"},
                                   {"warn_after_seconds", 60.0},
                                   {"fail_after_seconds", 300.0},
                                   {"max_row_difference_ratio", 0.1},
                                   {"replica_status", "ok"},
                                   {"replica_rows", 10},
                                   {"replica_executed_at", "2024-03-01T11:59:50Z"},
                                   {"replica_symbols", {"EURUSD"}},
                                   {"lag_seconds", 10.0},
                                   {"primary_rows", 10},
                                   {"row_difference_ratio", 0.0}}));
  EXPECT_EQ(component(e.report, "scheduler")["summary"], "Scheduler status ok");
  EXPECT_TRUE(e.snapshot.issues.empty());
  EXPECT_EQ(e.snapshot.summary,
            "Cross-region failover eu-west -> us-east ok (2 components healthy)");
  EXPECT_EQ(e.report["primary_region"], "eu-west");
  EXPECT_EQ(e.report["replica_region"], "us-east");
  EXPECT_EQ(e.report["metadata"]["settings"], (json{{"enabled", true},
                                                    {"primary_region", "eu-west"},
                                                    {"replica_region", "us-east"},
                                                    {"warn_after_seconds", 60.0},
                                                    {"fail_after_seconds", 300.0},
                                                    {"max_row_difference_ratio", 0.1},
                                                    {"max_schedule_interval_seconds", nullptr},
                                                    {"dimensions", {"daily_bars"}}}));
}

// test_cross_region_warns_on_lag: 120 s of lag (warn 60 / fail 300), no scheduler snapshot →
// warn, and the replica summary names the lag.
TEST(CrossRegionFailover, WarnsOnLag) {
  const Evaluated e = eval({{"generated_at", iso(kNow)},
                            {"primary_results", {{"daily_bars", primary()}}},
                            {"replica_records", {{"daily_bars", replica(kNow - seconds(120))}}},
                            {"scheduler", {{"enabled", true}, {"interval_seconds", 90.0}}}});
  EXPECT_EQ(e.snapshot.status, core::Status::kWarn);
  EXPECT_EQ(component(e.report, "replica:daily_bars")["summary"], "lag 120s > warn threshold");
  const json& sched = component(e.report, "scheduler");
  EXPECT_EQ(sched["status"], "warn");
  EXPECT_EQ(sched["summary"], "Scheduler telemetry unavailable");
  EXPECT_EQ(sched["metadata"], (json{{"max_schedule_interval_seconds", nullptr},
                                     {"configured_enabled", true},
                                     {"configured_interval_seconds", 90.0}}));
  EXPECT_EQ(issue_codes(e.snapshot),
            "cross_region_failover.replica:daily_bars,cross_region_failover.scheduler");
  EXPECT_EQ(e.snapshot.issues[0].message, "replica:daily_bars: lag 120s > warn threshold");
  EXPECT_EQ(e.snapshot.issues[0].runbook, "docs/runbooks/cross_region_failover.md#replica");
  EXPECT_EQ(e.snapshot.issues[1].runbook, "docs/runbooks/cross_region_failover.md#scheduler");
  EXPECT_EQ(e.snapshot.summary,
            "Cross-region failover eu-west -> us-east warn: replica:daily_bars: lag 120s > warn "
            "threshold; scheduler: Scheduler telemetry unavailable");
}

// test_cross_region_fails_without_replica_history: no replica records, a replica error, a warn
// scheduler and an ok drill → fail with a replica_connection component.
TEST(CrossRegionFailover, FailsWithoutReplicaHistory) {
  const Evaluated e =
      eval({{"generated_at", iso(kNow)},
            {"primary_results", {{"daily_bars", primary()}}},
            {"replica_records", json::object()},
            {"scheduler", scheduler("warn", {"Scheduler disabled"})},
            {"failover_drill",
             {{"status", "ok"},
              {"generated_at", iso(kNow)},
              {"scenario", "drill"},
              {"components", {{{"name", "health"}, {"status", "ok"}, {"summary", "healthy"}}}}}},
            {"replica_error", "replica_not_configured"}});
  EXPECT_EQ(e.snapshot.status, core::Status::kFail);
  ASSERT_EQ(e.report["components"].size(), 4u);
  EXPECT_EQ(e.report["components"][0], (json{{"name", "replica_connection"},
                                             {"status", "fail"},
                                             {"summary", "Replica ingest history unavailable"},
                                             {"metadata", {{"error", "replica_not_configured"}}}}));
  EXPECT_EQ(component(e.report, "replica:daily_bars")["summary"], "Replica ingest record missing");
  EXPECT_EQ(component(e.report, "scheduler")["status"], "warn");
  EXPECT_EQ(component(e.report, "scheduler")["summary"],
            "Scheduler status warn; Scheduler disabled");
  const json& drill = component(e.report, "failover_drill");
  EXPECT_EQ(drill["summary"], "Failover drill status ok");
  EXPECT_EQ(drill["metadata"]["scenario"], "drill");
  EXPECT_EQ(issue_codes(e.snapshot),
            "cross_region_failover.replica_connection,cross_region_failover.replica:daily_bars,"
            "cross_region_failover.scheduler");
  EXPECT_EQ(e.snapshot.issues[0].severity, core::Severity::kCritical);
  EXPECT_EQ(e.snapshot.issues[2].severity, core::Severity::kWarning);
}

// The lag and row-difference comparisons are strict (>), the lag absolute.
TEST(CrossRegionFailover, Boundaries) {
  struct Case {
    core::Duration lag;  // executed_at = now − lag
    int replica_rows;
    const char* status;
    const char* expected;
    const char* summary;
  };
  const Case cases[] = {
      {seconds(60), 10, "ok", "ok", "replica healthy"},
      {seconds(61), 10, "ok", "warn", "lag 61s > warn threshold"},
      {seconds(300), 10, "ok", "warn", "lag 300s > warn threshold"},
      {seconds(301), 10, "ok", "fail", "lag 301s > fail threshold"},
      {-seconds(301), 10, "ok", "fail", "lag 301s > fail threshold"},
      {seconds(1), 9, "ok", "ok", "replica healthy"},
      {seconds(1), 8, "ok", "warn", "row difference exceeds allowance"},
      {seconds(1), 12, "ok", "warn", "row difference exceeds allowance"},
      {seconds(1), 10, "skipped", "ok", "replica healthy"},
      {seconds(1), 10, "failed", "warn", "status failed"},
      {seconds(400), 0, "error", "fail",
       "status error; lag 400s > fail threshold; row difference exceeds allowance"},
  };
  for (const Case& c : cases) {
    const Evaluated e = eval(
        {{"generated_at", iso(kNow)},
         {"primary_results", {{"daily_bars", primary(10)}}},
         {"replica_records", {{"daily_bars", replica(kNow - c.lag, c.replica_rows, c.status)}}},
         {"scheduler", scheduler("ok")}});
    const json& rep = component(e.report, "replica:daily_bars");
    EXPECT_EQ(rep["status"], c.expected) << c.summary;
    EXPECT_EQ(rep["summary"], c.summary);
  }
  // No primary rows: no ratio check, ratio 0.
  const Evaluated empty = eval({{"primary_results", {{"daily_bars", primary(0)}}},
                                {"replica_records", {{"daily_bars", replica(kNow, 50)}}},
                                {"scheduler", scheduler("ok")}});
  EXPECT_EQ(component(empty.report, "replica:daily_bars")["metadata"]["row_difference_ratio"], 0.0);
  EXPECT_EQ(empty.snapshot.status, core::Status::kOk);
}

TEST(CrossRegionFailover, SchedulerRules) {
  CrossRegionFailoverConfig config = test_settings();
  config.max_schedule_interval = seconds(30);
  const json base = {{"primary_results", {{"daily_bars", primary()}}},
                     {"replica_records", {{"daily_bars", replica(kNow)}}}};
  json at_limit = base;
  at_limit["scheduler"] = scheduler("ok");
  EXPECT_EQ(component(eval(at_limit, config).report, "scheduler")["status"], "ok");
  json over = base;
  over["scheduler"] = scheduler("ok", {"Scheduler has not completed a run yet"});
  over["scheduler"]["interval_seconds"] = 31;
  const Evaluated over_e = eval(over, config);
  const json& s = component(over_e.report, "scheduler");
  EXPECT_EQ(s["status"], "warn");
  EXPECT_EQ(s["summary"],
            "Scheduler status ok; Scheduler has not completed a run yet; interval exceeds cutover "
            "threshold");
  EXPECT_EQ(s["metadata"]["max_schedule_interval_seconds"], 30.0);
  json failing = base;
  failing["scheduler"] = scheduler("fail");
  EXPECT_EQ(eval(failing).snapshot.status, core::Status::kFail);
  json disabled = base;
  disabled["scheduler"] = {{"enabled", "false"}};
  EXPECT_EQ(component(eval(disabled).report, "scheduler")["summary"],
            "Scheduler disabled in configuration");
  const Evaluated absent_e = eval(base);
  const json& absent = component(absent_e.report, "scheduler");
  EXPECT_EQ(absent["summary"], "Scheduler telemetry unavailable");
  EXPECT_EQ(absent["status"], "warn");
  EXPECT_EQ(absent["metadata"], (json{{"max_schedule_interval_seconds", nullptr}}));
}

// Without configured dimensions: the primary's (sorted), then the replica's extra ones; the
// spec's defaults 900 s / 1 800 s / 5 %.
TEST(CrossRegionFailover, DimensionsAndDefaults) {
  json intraday = replica(kNow - seconds(1000));
  intraday["dimension"] = "intraday_trades";
  const Evaluated e =
      eval({{"primary_results", {{"macro_events", {{"rows", 3}}}, {"daily_bars", primary(100)}}},
            {"replica_records", {{"daily_bars", replica(kNow, 94)}, {"intraday", intraday}}},
            {"scheduler", scheduler("ok")}},
           CrossRegionFailoverConfig{});
  std::vector<std::string> names;
  for (const auto& c : e.report["components"]) names.push_back(c["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"replica:daily_bars", "replica:macro_events",
                                             "replica:intraday_trades", "scheduler"}));
  EXPECT_EQ(component(e.report, "replica:daily_bars")["summary"],
            "row difference exceeds allowance");
  EXPECT_EQ(component(e.report, "replica:macro_events")["summary"],
            "Replica ingest record missing");
  EXPECT_EQ(component(e.report, "replica:intraday_trades")["summary"],
            "lag 1000s > warn threshold");
  EXPECT_EQ(e.report["primary_region"], "primary");
  EXPECT_EQ(e.report["replica_region"], "replica");
  EXPECT_EQ(e.snapshot.observed_at, kNow);
  EXPECT_EQ(issue_codes(e.snapshot),
            "cross_region_failover.replica:daily_bars,cross_region_failover.replica:macro_events,"
            "cross_region_failover.replica:intraday_trades");
}

TEST(CrossRegionFailover, Markdown) {
  const Evaluated e = eval({{"primary_results", {{"daily_bars", primary()}}},
                            {"replica_records", {{"daily_bars", replica(kNow - seconds(120))}}},
                            {"replica_error", "timeout | dns"}});
  EXPECT_EQ(e.markdown,
            "| Component | Status | Summary |\n"
            "| --- | --- | --- |\n"
            "| replica_connection | FAIL | Replica ingest history unavailable |\n"
            "| replica:daily_bars | WARN | lag 120s > warn threshold |\n"
            "| scheduler | WARN | Scheduler telemetry unavailable |");
}

// A drill input nested in the document is run with the default drill thresholds.
TEST(CrossRegionFailover, NestedDrillInput) {
  const Evaluated e = eval({{"primary_results", {{"daily_bars", primary()}}},
                            {"replica_records", {{"daily_bars", replica(kNow)}}},
                            {"scheduler", scheduler("ok")},
                            {"failover_drill",
                             {{"plan", {{"daily", {{"symbols", {"EURUSD"}}}}}},
                              {"results", {{"daily_bars", primary()}}},
                              {"fail_dimensions", {"daily_bars"}}}}});
  const json& drill = component(e.report, "failover_drill");
  EXPECT_EQ(drill["status"], "warn");
  EXPECT_EQ(drill["summary"], "Failover drill status warn");
  EXPECT_EQ(drill["metadata"]["components"][2]["summary"], "fallback not provided");
  EXPECT_EQ(issue_codes(e.snapshot), "cross_region_failover.failover_drill");
}

// An evaluated snapshot keeps its status; its components give the issues, with qualifiers.
TEST(CrossRegionFailover, EvaluatedSnapshot) {
  const json doc = {
      {"status", "fail"},
      {"generated_at", "2024-03-01T11:00:00+00:00"},
      {"primary_region", "eu-west"},
      {"replica_region", "us-east"},
      {"components",
       {{{"name", "replica:daily_bars"},
         {"status", "fail"},
         {"summary", "lag 400s > fail threshold"}},
        {{"name", "replica:intraday_trades"}, {"status", "ok"}, {"summary", "replica healthy"}},
        {{"name", "replica:macro_events"},
         {"status", "warn"},
         {"summary", "row difference exceeds allowance"}},
        {{"name", "scheduler"},
         {"status", "warn"},
         {"summary", "Scheduler telemetry unavailable"}}}},
      {"metadata", {{"settings", {{"warn_after_seconds", 900.0}}}}}};
  const Evaluated e = eval(doc);
  EXPECT_EQ(e.snapshot.status, core::Status::kFail);
  EXPECT_EQ(e.snapshot.observed_at, at("2024-03-01T11:00:00Z"));
  EXPECT_EQ(issue_codes(e.snapshot),
            "cross_region_failover.replica:daily_bars,cross_region_failover.replica:macro_events,"
            "cross_region_failover.scheduler");
  EXPECT_EQ(e.snapshot.issues[0].severity, core::Severity::kCritical);
  EXPECT_EQ(e.snapshot.issues[1].severity, core::Severity::kWarning);
  EXPECT_EQ(e.report, doc);
  EXPECT_EQ(e.snapshot.metadata["source"], "evaluated_snapshot");
  EXPECT_EQ(e.snapshot.metadata["settings"]["warn_after_seconds"], 900.0);
  EXPECT_NE(e.markdown.find("| replica:macro_events | WARN | row difference exceeds allowance |"),
            std::string::npos);

  // A report this component wrote reads back with the same issues.
  const Evaluated first =
      eval({{"primary_results", {{"daily_bars", primary()}}},
            {"replica_records", {{"daily_bars", replica(kNow - seconds(90))}}}});
  const Evaluated again = eval(first.report);
  EXPECT_EQ(again.snapshot.issues, first.snapshot.issues);
  EXPECT_EQ(again.snapshot.status, first.snapshot.status);
  EXPECT_EQ(again.snapshot.summary, first.snapshot.summary);
}

TEST(CrossRegionFailover, RefusesDocumentsItDoesNotUnderstand) {
  const json results = {{"daily_bars", primary()}};
  json no_status = replica(kNow);
  no_status.erase("status");
  json no_time = replica(kNow);
  no_time.erase("executed_at");
  struct Case {
    json doc;
    const char* field;
  };
  const Case cases[] = {
      {json::object(), ""},
      {{{"primary_result", results}}, "primary_result"},
      {{{"primary_results", results}, {"replica_records", {{"daily_bars", no_status}}}},
       "replica_records.daily_bars.status"},
      {{{"primary_results", results}, {"replica_records", {{"daily_bars", no_time}}}},
       "replica_records.daily_bars.executed_at"},
      {{{"primary_results", results}, {"replica_records", {{"daily_bars", {{"lag", 1}}}}}},
       "replica_records.daily_bars.lag"},
      {{{"primary_results", results}, {"replica_records", "none"}}, "replica_records"},
      {{{"primary_results", results},
        {"replica_records", json::array({replica(kNow), replica(kNow)})}},
       "replica_records[1].dimension"},
      {{{"primary_results", {{"daily_bars", {{"rows", "many"}}}}}},
       "primary_results.daily_bars.rows"},
      {{{"primary_results", results}, {"scheduler", {{"status", "ok"}, {"interval", 1}}}},
       "scheduler.interval"},
      {{{"primary_results", results}, {"scheduler", {{"running", true}}}}, "scheduler.running"},
      {{{"primary_results", results}, {"scheduler", {{"status", "sleepy"}}}}, "scheduler.status"},
      {{{"primary_results", results}, {"failover_drill", {{"status", "ok"}, {"x", 1}}}},
       "failover_drill.x"},
      {{{"primary_results", results}, {"failover_drill", json::object()}}, "failover_drill"},
      {{{"primary_results", results}, {"replica_error", json::array()}}, "replica_error"},
      {{{"status", "ok"}, {"components", {{{"name", "scheduler"}, {"status", "meh"}}}}},
       "components[0].status"},
      {{{"status", "ok"}, {"settings", json::object()}}, "settings"},
  };
  for (const Case& c : cases) EXPECT_EQ(refusal(c.doc).field, c.field) << c.doc.dump();
}

TEST(CrossRegionFailover, Component) {
  auto x = CrossRegionFailover::create({}).value();
  EXPECT_EQ(x->name(), "cross_region_failover");
  EXPECT_EQ(x->alert_category(), "operational.cross_region_failover");
  EXPECT_TRUE(x->consumes("telemetry.ingest.cross_region_failover"));
  EXPECT_FALSE(x->consumes("telemetry.operational.cross_region_failover"));
  ASSERT_TRUE(x->apply({.topic = "telemetry.ingest.cross_region_failover",
                        .time = kNow,
                        .payload = {{"primary_results", {{"daily_bars", primary()}}},
                                    {"replica_records", {{"daily_bars", replica(kNow)}}},
                                    {"scheduler", scheduler("ok")}}})
                  .has_value());
  EXPECT_EQ(x->snapshot(kNow).status, core::Status::kOk);
}

TEST(CrossRegionFailover, ValidatesConfig) {
  struct Case {
    CrossRegionFailoverConfig config;
    const char* field;
  };
  const Case cases[] = {
      {{.primary_region = ""}, "primary_region"},
      {{.replica_region = ""}, "replica_region"},
      {{.warn_after = -seconds(1)}, "warn_after"},
      {{.warn_after = seconds(100), .fail_after = seconds(99)}, "fail_after"},
      {{.max_row_difference_ratio = 1.5}, "max_row_difference_ratio"},
      {{.max_schedule_interval = seconds(0)}, "max_schedule_interval"},
      {{.dimensions = {""}}, "dimensions"},
  };
  for (const Case& c : cases) {
    auto ok = validate(c.config);
    ASSERT_FALSE(ok.has_value()) << c.field;
    EXPECT_EQ(ok.error().field, c.field);
  }
  EXPECT_TRUE(validate(CrossRegionFailoverConfig{}).has_value());
  EXPECT_TRUE(validate({.warn_after = seconds(100), .fail_after = seconds(100)}).has_value());
}

TEST(CrossRegionFailover, Testdata) {
  const Evaluated report = eval(load("report.json"), CrossRegionFailoverConfig{});
  EXPECT_EQ(report.snapshot.status, core::Status::kWarn);
  EXPECT_EQ(issue_codes(report.snapshot), "cross_region_failover.replica:intraday_trades");
  const Evaluated evaluated = eval(load("evaluated.json"), CrossRegionFailoverConfig{});
  EXPECT_EQ(evaluated.snapshot.status, core::Status::kFail);
  EXPECT_EQ(issue_codes(evaluated.snapshot),
            "cross_region_failover.replica_connection,cross_region_failover.replica:daily_bars");
}

// Every issue category has its runbook section (the issue's runbook link is
// docs/runbooks/cross_region_failover.md#<category>).
TEST(CrossRegionFailover, RunbookHasASectionPerCategory) {
  std::ifstream in(fs::path(__FILE__).parent_path() /
                   "../../docs/runbooks/cross_region_failover.md");
  ASSERT_TRUE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  for (const char* category : {"replica_connection", "replica", "scheduler", "failover_drill"}) {
    EXPECT_NE(text.str().find(std::string("\n## ") + category + "\n"), std::string::npos)
        << category;
  }
}

}  // namespace
}  // namespace opsready::components
