#include "opsready/server/dashboard.h"

#include <gtest/gtest.h>

#include "opsready/engine/feeds.h"

#include "opsready/core/time.h"

namespace opsready::server {
namespace {

using core::Status;
using nlohmann::json;

core::TimePoint at_noon() { return core::parse_rfc3339("2025-01-01T12:00:00Z").value(); }

const DashboardPanel& panel(const Dashboard& d, std::string_view name) {
  for (const auto& p : d.panels) {
    if (p.name == name) return p;
  }
  static const DashboardPanel kNone{.name = "<missing>"};
  ADD_FAILURE() << "no panel " << name;
  return kNone;
}

std::vector<std::string> names(const Dashboard& d) {
  std::vector<std::string> out;
  for (const auto& p : d.panels) out.push_back(p.name);
  return out;
}

bool has_detail(const DashboardPanel& p, std::string_view needle) {
  for (const auto& d : p.details) {
    if (d.find(needle) != std::string::npos) return true;
  }
  return false;
}

DashboardInputs full_inputs() {
  DashboardInputs in;
  in.generated_at = at_noon();
  in.roi_snapshot = json{{"status", "tracking"},   {"roi", 0.015},
                         {"annualised_roi", 0.45}, {"target_annual_roi", 0.25},
                         {"net_pnl", 1500.0},      {"gross_pnl", 1800.0},
                         {"fees", 200.0},          {"infrastructure_cost", 100.0}};
  in.risk_results =
      json{{"parametric_var", {{"value", 12000.0}, {"confidence", 0.99}, {"sample_size", 252}}},
           {"expected_shortfall", {{"value", 8500.0}, {"confidence", 0.975}}}};
  in.risk_limits = json{{"parametric_var", 10000.0}, {"expected_shortfall", 12000.0}};
  in.event_bus_snapshot = json{{"component", "event_bus"},
                               {"status", "warn"},
                               {"summary", "queue 120"},
                               {"issues", {{{"message", "Queue has 120 pending events"}}}},
                               {"metadata",
                                {{"queue_size", 120},
                                 {"queue_capacity", 1024},
                                 {"dropped_events", 0},
                                 {"handler_errors", 1},
                                 {"last_event_at", "2025-01-01T11:59:00Z"}}}};
  in.slo_snapshot = json{
      {"service", "timescale_ingest"},
      {"status", "at_risk"},
      {"slos",
       {{{"name", "freshness"}, {"status", "met"}}, {{"name", "latency"}, {"status", "at_risk"}}}}};
  in.backbone_snapshot = json{{"status", "warn"},
                              {"components",
                               {{{"name", "timescale"}, {"status", "ok"}, {"summary", "primary"}},
                                {{"name", "redis"}, {"status", "warn"}, {"summary", "fallback"}}}}};
  in.operational_readiness_snapshot =
      json{{"status", "warn"},
           {"components",
            {{{"component", "fix_gateway"}, {"status", "ok"}, {"summary", "3/3 sessions"}},
             {{"component", "cache"}, {"status", "warn"}, {"summary", "memory fallback"}}}}};
  in.quality_snapshot = json{{"status", "warn"},
                             {"coverage_percent", 78.0},
                             {"target_percent", 80.0},
                             {"notes", {"Coverage below target in risk/"}},
                             {"remediation", "Add tests for risk/limits.py"}};
  return in;
}

TEST(DashboardTest, FullCompositionHasElevenPanelsAndTheRollUp) {
  const Dashboard d = build_dashboard(full_inputs());
  EXPECT_EQ(d.status, Status::kFail);
  EXPECT_EQ(names(d),
            (std::vector<std::string>{"PnL & ROI", "Risk & exposure", "Compliance & governance",
                                      "Evolution KPIs", "Operator leverage", "Latency & throughput",
                                      "System health", "Operational readiness", "Decision diary",
                                      "Understanding loop", "Quality & coverage"}));
  const auto& risk = panel(d, "Risk & exposure");
  EXPECT_EQ(risk.status, Status::kFail);
  EXPECT_EQ(risk.metadata["parametric_var"]["limit_status"], "violation");
  EXPECT_EQ(risk.metadata["expected_shortfall"]["limit_status"], "ok");
  EXPECT_EQ(risk.headline, "parametric_var 12,000.00 (120% of limit)");
  EXPECT_EQ(risk.details.at(1), "parametric_var: 12,000.00 @ 99.0% (n=252) limit 10,000.00");
  const auto& compliance = panel(d, "Compliance & governance");
  EXPECT_EQ(compliance.status, Status::kWarn);
  EXPECT_EQ(compliance.metadata["counts"]["risk_breach"], 0);
  EXPECT_EQ(compliance.details.at(0),
            "No compliance telemetry supplied; provide loop results or explicit compliance "
            "events.");
  EXPECT_EQ(panel(d, "PnL & ROI").status, Status::kOk);
  EXPECT_EQ(panel(d, "PnL & ROI").headline, "Net ROI 1.50% (annualised 45.00%, target 25.00%)");
  EXPECT_EQ(panel(d, "PnL & ROI").details.at(0), "Net P&L: 1,500.00");
  for (const char* name :
       {"Evolution KPIs", "Latency & throughput", "Quality & coverage", "Decision diary",
        "System health", "Operational readiness", "Understanding loop", "Operator leverage"}) {
    EXPECT_EQ(panel(d, name).status, Status::kWarn) << name;
  }
  const json summary = remediation_summary(d);
  EXPECT_EQ(summary["panel_counts"], (json{{"ok", 1}, {"warn", 9}, {"fail", 1}}));
  EXPECT_EQ(summary["failing_panels"], json::array({"Risk & exposure"}));
  EXPECT_EQ(summary["healthy_panels"], json::array({"PnL & ROI"}));
  EXPECT_EQ(summary["overall_status"], "fail");
  EXPECT_EQ(summary["generated_at"], "2025-01-01T12:00:00Z");
  EXPECT_EQ(d.metadata["panel_status_counts"], summary["panel_counts"]);
  EXPECT_EQ(d.metadata["panel_statuses"]["Risk & exposure"], "fail");
  const std::string md = to_markdown(d);
  EXPECT_NE(md.find("# Operational observability dashboard\n"), std::string::npos);
  for (const auto& n : names(d)) EXPECT_NE(md.find("## " + n + "\n"), std::string::npos) << n;

  const auto& latency = panel(d, "Latency & throughput");
  EXPECT_EQ(latency.headline, "Event bus warn; Ingest SLOs warn");
  EXPECT_EQ(latency.details,
            (std::vector<std::string>{"Event bus queue 120 (dropped 0, errors 1)",
                                      "Queue capacity 1024", "Last event: 2025-01-01T11:59:00Z",
                                      "Issue: Queue has 120 pending events",
                                      "SLOs pass 1 / warn 1 / fail 0"}));
  const auto& system = panel(d, "System health");
  EXPECT_EQ(system.headline, "Backbone status warn");
  EXPECT_EQ(system.details,
            (std::vector<std::string>{"Components OK 1 / warn 1 / fail 0", "",
                                      "timescale: ok — primary", "redis: warn — fallback"}));
  const auto& readiness = panel(d, "Operational readiness");
  EXPECT_EQ(readiness.details, (std::vector<std::string>{"Components OK 1 / warn 1 / fail 0", "",
                                                         "cache: memory fallback"}));
  const auto& quality = panel(d, "Quality & coverage");
  EXPECT_EQ(quality.headline, "Coverage 78.00% (target 80.00%)");
  EXPECT_EQ(quality.details.back(), "Remediation: Add tests for risk/limits.py");
}

json monitoring() {
  return {{"status", "ok"},
          {"latency_ms",
           {{"p95_ms", 420.0}, {"p99_ms", 880.0}, {"p99_target_ms", 750.0}, {"samples", 1200}}},
          {"throughput", {{"per_minute", 45.0}, {"per_second", 0.75}, {"backlog", 3}}},
          {"pnl", {{"daily", -1250.0}, {"swing", 0.06}, {"drawdown", 0.12}}},
          {"memory",
           {{"current_mb", 512.0},
            {"peak_mb", 768.0},
            {"current_percent", 62.0},
            {"peak_percent", 0.75}}},
          {"tail_spikes",
           {{{"name", "var"}, {"value", 0.08}, {"threshold", 0.05}, {"severity", "critical"}}}},
          {"drift_summary",
           {{"status", "warn"},
            {"dimensions",
             {{"alpha",
               {{"severity", "warn"}, {"delta", 0.42}, {"variance_ratio", 1.5}, {"samples", 128}}},
              {"beta", {{"severity", "normal"}, {"delta", 0.01}}}}}}},
          {"metadata", {{"source", "runtime"}}}};
}

TEST(DashboardTest, MonitoringEnrichment) {
  DashboardInputs in;
  in.generated_at = at_noon();
  in.monitoring_snapshot = monitoring();
  const Dashboard d = build_dashboard(in);
  const auto& p = panel(d, "Latency & throughput");
  EXPECT_EQ(p.status, Status::kFail);  // the critical tail spike
  EXPECT_EQ(p.details,
            (std::vector<std::string>{
                "Latency p95 420ms, p99 880ms (target 750ms) samples 1200",
                "Throughput 45.00 per min, 0.75 per sec, backlog 3",
                "P&L Daily P&L -1,250.00, σ 0.060, Drawdown 12.0%",
                "Memory current 512.0 MiB, peak 768.0 MiB, curr 62.0%, peak 75.0%",
                "Tail spike VAR: 0.080 (threshold 0.050) [critical]",
                "Drift alpha: warn Δ 0.420 σ² x1.50 (n=128)", "Drift beta: normal Δ 0.010"}));
  EXPECT_EQ(p.headline, "p99 880ms; Throughput 45.0/min; Daily P&L -1,250.00; Drift warn");
  EXPECT_EQ(p.metadata["monitoring"]["metadata"]["source"], "runtime");
  EXPECT_EQ(p.metadata["drift"]["status"], "warn");
}

TEST(DashboardTest, FailingDriftDimensionFailsThePanel) {
  DashboardInputs in;
  in.generated_at = at_noon();
  in.monitoring_snapshot =
      json{{"drift",
            {{"status", "warn"}, {"dimensions", {{{"name", "alpha"}, {"severity", "alert"}}}}}}};
  const Dashboard d = build_dashboard(in);
  const auto& p = panel(d, "Latency & throughput");
  EXPECT_EQ(p.status, Status::kFail);  // the original kept warn here (spec §3.4 [I])
  EXPECT_EQ(p.headline, "Drift warn; alpha drift alert");
}

TEST(DashboardTest, NumberFormats) {
  DashboardInputs in;
  in.generated_at = at_noon();
  const auto first_detail = [&in](json latency) {
    in.monitoring_snapshot = json{{"latency", std::move(latency)}};
    return panel(build_dashboard(in), "Latency & throughput").details.at(0);
  };
  EXPECT_EQ(first_detail({{"p95", 1234.0}, {"p99", 42.0}}), "Latency p95 1.23s, p99 42.0ms");
  EXPECT_EQ(first_detail({{"p99", 0.0}}), "Latency p95 n/a, p99 0.0ms");  // 0 is a value
  in.monitoring_snapshot =
      json{{"tail_spikes", {{{"metric", "slip"}, {"value", 0.031}, {"unit", "%"}}}}};
  EXPECT_EQ(panel(build_dashboard(in), "Latency & throughput").details.at(0),
            "Tail spike SLIP: 3.10%");
  in.monitoring_snapshot = json{{"pnl", {{"daily_pnl", 1234567.891}}}};
  EXPECT_EQ(panel(build_dashboard(in), "Latency & throughput").details.at(0),
            "P&L Daily P&L 1,234,567.89");
}

TEST(DashboardTest, CriticalRiskBreachFromALoopResult) {
  DashboardInputs in;
  in.generated_at = at_noon();
  in.loop_results = json::array({{{"compliance_events",
                                   {{{"event_type", "risk_breach"},
                                     {"severity", "critical"},
                                     {"summary", "VaR above limit"},
                                     {"policy_id", "risk-var"},
                                     {"occurred_at", "2025-01-01T11:00:00+00:00"}}}}}});
  in.compliance_events = json::array({{{"event_type", "governance_action"},
                                       {"severity", "info"},
                                       {"occurred_at", "2025-01-01T11:30:00Z"}}});
  const Dashboard d = build_dashboard(in);
  const auto& p = panel(d, "Compliance & governance");
  EXPECT_EQ(p.status, Status::kFail);
  EXPECT_EQ(p.metadata["counts"]["risk_breach"], 1);
  EXPECT_EQ(p.metadata["counts"]["governance_action"], 1);
  EXPECT_EQ(p.metadata["events"][1]["summary"], "VaR above limit");
  EXPECT_EQ(p.metadata["events"][1]["policy_id"], "risk-var");
  EXPECT_EQ(p.metadata["compliance_slo"]["metadata"]["breaches"], 1);
  EXPECT_EQ(p.metadata["compliance_slo"]["status"], "breached");
  EXPECT_EQ(p.headline, "Risk breaches 1 | Governance actions 1");
  EXPECT_EQ(p.details, (std::vector<std::string>{
                           "2025-01-01T11:30:00Z — policy: Compliance event recorded",
                           "2025-01-01T11:00:00Z — risk-var: VaR above limit", "", "SLO overview:",
                           "- policy_breach_prevention: breached — 1 risk breach recorded",
                           "- governance_interventions: at_risk — 1 governance action recorded"}));
}

TEST(DashboardTest, NoInputsGivesFiveWarnPanels) {
  DashboardInputs in;
  in.generated_at = at_noon();
  const Dashboard d = build_dashboard(in);
  EXPECT_EQ(names(d), (std::vector<std::string>{"Compliance & governance", "Evolution KPIs",
                                                "Operator leverage", "Decision diary",
                                                "Understanding loop"}));
  for (const auto& p : d.panels) EXPECT_EQ(p.status, Status::kWarn) << p.name;
  EXPECT_EQ(d.status, Status::kWarn);
  EXPECT_NE(to_markdown(d).find("| Panel"), std::string::npos);
  EXPECT_EQ(to_json(d)["remediation_summary"], remediation_summary(d));
  EXPECT_EQ(panel(d, "Compliance & governance").headline, "Compliance telemetry baseline");
  EXPECT_EQ(panel(d, "Decision diary").metadata["decision_diary"]["status"], "missing");
}

TEST(DashboardTest, AdditionalPanelComesFirstAndCounts) {
  DashboardInputs in;
  in.generated_at = at_noon();
  in.additional_panels.push_back({.name = "Custom", .status = Status::kWarn, .headline = "custom"});
  const Dashboard d = build_dashboard(in);
  EXPECT_EQ(d.panels.front().name, "Custom");
  EXPECT_EQ(remediation_summary(d)["panel_counts"]["warn"], 6);
}

TEST(DashboardTest, RiskRatios) {
  DashboardInputs in;
  in.generated_at = at_noon();
  in.risk_results = json{{"parametric_var", 9000.0}};
  in.risk_limits = json{{"parametric_var", 10000.0}};
  Dashboard d = build_dashboard(in);
  const auto& p = panel(d, "Risk & exposure");
  EXPECT_EQ(p.status, Status::kWarn);
  EXPECT_DOUBLE_EQ(p.metadata["parametric_var"]["limit_ratio"].get<double>(), 0.9);
  EXPECT_EQ(p.metadata["parametric_var"]["limit_status"], "warn");

  in.risk_results = json{{"es", 90.0}, {"var", 5.0}};
  in.risk_limits = json{{"es", 100.0}, {"var", 0.0}};
  d = build_dashboard(in);
  const auto& q = panel(d, "Risk & exposure");
  EXPECT_EQ(q.status, Status::kWarn);
  EXPECT_EQ(q.metadata["var"]["limit_status"], "invalid");
  EXPECT_EQ(q.metadata["var"]["limit"], 0.0);
  EXPECT_FALSE(q.metadata["var"].contains("limit_ratio"));
  EXPECT_EQ(q.details, (std::vector<std::string>{"es: 90.00 limit 100.00", "var: 5.00"}));

  in.risk_results = json{{"var", 5.0}};
  in.risk_limits.reset();
  EXPECT_EQ(panel(build_dashboard(in), "Risk & exposure").headline, "Peak tail risk var 5.00");
  in.risk_results = json{{"var", 0.0}};
  EXPECT_EQ(panel(build_dashboard(in), "Risk & exposure").headline, "Risk metrics unavailable");
  in.risk_results = json::object();
  EXPECT_EQ(build_dashboard(in).panels.front().name, "Compliance & governance");
}

TEST(DashboardTest, PolicyGraduation) {
  DashboardInputs in;
  in.generated_at = at_noon();
  in.policy_graduation_assessments = json::array(
      {{{"policy_id", "alpha"}, {"current_stage", "paper"}, {"recommended_stage", "pilot"}},
       {{"policy_id", "beta"},
        {"current_stage", "PAPER"},
        {"recommended_stage", "PILOT"},
        {"blockers", {"approvals_required"}}}});
  Dashboard d = build_dashboard(in);
  const auto& p = panel(d, "Policy graduation");
  EXPECT_EQ(p.status, Status::kWarn);
  EXPECT_EQ(p.metadata["ready"], json::array({"alpha"}));
  EXPECT_EQ(p.metadata["blocked"]["beta"], json::array({"approvals_required"}));
  EXPECT_EQ(p.details.at(0), "alpha: PAPER → PILOT (ready)");
  EXPECT_EQ(p.headline, "Ready 1 | Blocked 1 | Regressions 0");

  in.policy_graduation_assessments = json::array({{{"policy_id", "gamma"},
                                                   {"current_stage", "LIMITED_LIVE"},
                                                   {"recommended_stage", "PAPER"}}});
  d = build_dashboard(in);
  EXPECT_EQ(panel(d, "Policy graduation").status, Status::kFail);
  EXPECT_EQ(panel(d, "Policy graduation").metadata["regressions"], json::array({"gamma"}));

  in.policy_graduation_assessments = json::array();
  EXPECT_EQ(panel(build_dashboard(in), "Policy graduation").status, Status::kOk);
}

TEST(DashboardTest, UnderstandingPresentAndMissing) {
  DashboardInputs in;
  in.generated_at = at_noon();
  const json diagnostics = {{"status", "ok"},
                            {"regime_state", {{"regime", "bull"}, {"confidence", 0.8}}},
                            {"decision",
                             {{"tactic_id", "momentum"},
                              {"selected_weight", 0.123},
                              {"experiments_applied", {"exp-1", "exp-2"}}}},
                            {"ledger_diff", {{"approvals", {"risk"}}}},
                            {"drift_summary", {{"exceeded", {"alpha"}}}}};
  in.understanding_snapshot = json{{"component", "understanding_loop"},
                                   {"status", "ok"},
                                   {"summary", "Understanding ok"},
                                   {"issues", json::array()},
                                   {"metadata", {{"understanding_loop", diagnostics}}}};
  Dashboard d = build_dashboard(in);
  const auto& p = panel(d, "Understanding loop");
  EXPECT_EQ(p.status, Status::kOk);
  EXPECT_EQ(p.headline, "Understanding ok");
  EXPECT_EQ(p.details,
            (std::vector<std::string>{"Regime bull @ 80.0%", "Drift exceedances: 1",
                                      "Selected tactic momentum weight 0.123",
                                      "Ledger approvals: risk", "Experiments: exp-1,exp-2"}));
  // The original's own snapshot shape works too.
  in.understanding_snapshot = diagnostics;
  EXPECT_EQ(panel(build_dashboard(in), "Understanding loop").details.at(0), "Regime bull @ 80.0%");

  // The component before any diagnostics arrived is the placeholder.
  in.understanding_snapshot = json{{"component", "understanding_loop"},
                                   {"status", "warn"},
                                   {"metadata", {{"understanding_loop", {{"status", "missing"}}}}}};
  d = build_dashboard(in);
  const auto& m = panel(d, "Understanding loop");
  EXPECT_EQ(m.status, Status::kWarn);
  EXPECT_EQ(m.headline, "Understanding diagnostics unavailable");
  EXPECT_EQ(m.metadata["understanding_loop"]["recommended_cli"],
            "python -m tools.understanding.graph_diagnostics");
}

TEST(DashboardTest, PolicyReflections) {
  DashboardInputs in;
  in.generated_at = at_noon();
  in.policy_reflection =
      json{{"digest",
            {{"total_decisions", 20},
             {"tactics", {{{"tactic_id", "momentum"}, {"count", 12}, {"share", 0.6}}}}}},
           {"insights", {"Momentum dominates in bull regimes"}}};
  Dashboard d = build_dashboard(in);
  const auto& p = panel(d, "Policy reflections");
  EXPECT_EQ(p.status, Status::kOk);
  EXPECT_EQ(p.details, (std::vector<std::string>{"Top tactic momentum: 12 decisions (60.0%)",
                                                 "Insight: Momentum dominates in bull regimes"}));
  in.policy_reflection = json{{"total_decisions", 0}};
  EXPECT_EQ(panel(build_dashboard(in), "Policy reflections").status, Status::kWarn);
}

// Table-driven: each diary coverage map and what the panel makes of it.
TEST(DashboardTest, DecisionDiary) {
  struct Case {
    const char* name;
    json coverage;
    Status status;
    std::vector<std::string> missing_fields;
    std::string headline;
  };
  const std::vector<Case> cases = {
      {"success",
       {{"coverage", 0.97}, {"target", 0.95}, {"iterations", 100}, {"recorded", 97}},
       Status::kOk,
       {},
       "Coverage 97.00% (target 95.00%)"},
      {"percent inference",
       {{"coverage", 97.0}, {"target_percent", 95.0}, {"iterations", 100}, {"recorded", 97}},
       Status::kOk,
       {},
       "Coverage 97.00% (target 95.00%)"},
      {"count inference",
       {{"iterations", 20}, {"recorded", 19}, {"target", 0.95}},
       Status::kWarn,
       {"coverage"},
       "Coverage 95.00% (target 95.00%)"},
      {"shortfall",
       {{"coverage", 0.88}, {"target", 0.95}, {"iterations", 100}, {"recorded", 88}},
       Status::kFail,
       {},
       "Coverage 88.00% (target 95.00%)"},
      {"gap breach",
       {{"coverage", 0.99},
        {"target", 0.95},
        {"iterations", 100},
        {"recorded", 99},
        {"gap_breach", true},
        {"last_recorded_at", "2025-01-01T11:55:00Z"}},
       Status::kFail,
       {},
       "Coverage 99.00% (target 95.00%)"},
      {"default target",
       {{"iterations", 20}, {"recorded", 18}},
       Status::kFail,
       {"coverage", "target"},
       "Coverage 90.00% (target 95.00%)"},
      {"nothing reported",
       {{"iterations", nullptr}},
       Status::kWarn,
       {"coverage", "iterations", "recorded", "target"},
       "Coverage unknown (target 95.00%)"},
  };
  for (const auto& c : cases) {
    DashboardInputs in;
    in.generated_at = at_noon();
    // An earlier loop result without coverage, then the one carrying it in its metadata.
    in.loop_results =
        json::array({json::object(), {{"metadata", {{"diary_coverage", c.coverage}}}}});
    const Dashboard d = build_dashboard(in);
    const auto& p = panel(d, "Decision diary");
    EXPECT_EQ(p.status, c.status) << c.name;
    EXPECT_EQ(p.headline, c.headline) << c.name;
    EXPECT_EQ(p.metadata["decision_diary"]["coverage"]["missing_telemetry_fields"],
              json(c.missing_fields))
        << c.name;
  }
}

TEST(DashboardTest, DecisionDiaryDetails) {
  DashboardInputs in;
  in.generated_at = at_noon();
  in.loop_results = json::array({{{"trade_metadata",
                                   {{"diary_coverage",
                                     {{"coverage", 0.88},
                                      {"target", 0.95},
                                      {"iterations", 10},
                                      {"recorded", 9},
                                      {"minimum_samples", 20},
                                      {"gap_breach", true}}}}}}});
  const Dashboard d = build_dashboard(in);
  const auto& p = panel(d, "Decision diary");
  EXPECT_EQ(p.details,
            (std::vector<std::string>{"Recorded 9 of 10 iterations (missing 1)",
                                      "Insufficient samples: 10 iterations (minimum 20).",
                                      "Coverage shortfall 7.00pp vs target.",
                                      "Diary gap alert active (> 180s); last recorded unknown."}));
  const json& alerts = p.metadata["decision_diary"]["alerts"];
  EXPECT_EQ(alerts, (json{{"coverage_below_target", true},
                          {"gap_breach", true},
                          {"insufficient_samples", true},
                          {"missing_telemetry", false}}));
  EXPECT_EQ(p.metadata["decision_diary"]["coverage"]["coverage_percent"], 88.0);
}

TEST(DashboardTest, GateMetrics) {
  DashboardInputs in;
  in.generated_at = at_noon();
  in.gate_dashboard = json{{"metrics",
                            {{{"name", "success_rate"},
                              {"value", 0.92},
                              {"warn_threshold", 0.95},
                              {"fail_threshold", 0.90},
                              {"mode", "at_least"}},
                             {{"name", "mtta_minutes"},
                              {"value", 72},
                              {"warn_threshold", 60},
                              {"fail_threshold", 90},
                              {"mode", "at_most"}}}}};
  Dashboard d = build_dashboard(in);
  ASSERT_EQ(std::count_if(d.panels.begin(), d.panels.end(),
                          [](const auto& p) { return p.name == "Gate Dashboard"; }),
            1);
  const auto& p = panel(d, "Gate Dashboard");
  EXPECT_EQ(p.status, Status::kWarn);
  EXPECT_EQ(p.headline, "Gate health WARN — 0 fail / 2 warn across 2 metrics");
  EXPECT_EQ(p.details.at(0),
            "success_rate 0.920 [###############.|...] WARN (warn < 0.950, fail < 0.900)");
  EXPECT_NE(p.details.at(1).find("mtta_minutes 72.000"), std::string::npos);

  // A metric without a value fails; a value equal to a threshold passes it (strict).
  in.gate_dashboard = json::array({{{"name", "a"}, {"warn_threshold", 1}},
                                   {{"name", "b"}, {"value", 0.95}, {"warn_threshold", 0.95}}});
  d = build_dashboard(in);
  EXPECT_EQ(panel(d, "Gate Dashboard").status, Status::kFail);
  EXPECT_EQ(panel(d, "Gate Dashboard").metadata["gate_dashboard"]["metrics"][1]["status"], "ok");
}

TEST(DashboardTest, EvolutionAndOperatorLeverageStatuses) {
  DashboardInputs in;
  in.generated_at = at_noon();
  for (const auto& [word, expected] :
       std::vector<std::pair<json, Status>>{{"ok", Status::kOk},
                                            {"warning", Status::kWarn},
                                            {"FAIL", Status::kFail},
                                            {"unknown", Status::kWarn},
                                            {nullptr, Status::kWarn}}) {
    in.evolution_kpis = json{{"status", word}, {"promotion_rate", 0.25}, {"experiments", 4}};
    const Dashboard d = build_dashboard(in);
    const auto& p = panel(d, "Evolution KPIs");
    EXPECT_EQ(p.status, expected) << word;
    EXPECT_EQ(p.details, (std::vector<std::string>{"experiments: 4", "promotion_rate: 0.250"}));
  }
  in.operator_leverage_snapshot = json{{"status", "ok"}};
  EXPECT_EQ(panel(build_dashboard(in), "Operator leverage").status, Status::kOk);
}

TEST(DashboardTest, MarkdownGolden) {
  Dashboard d{.generated_at = at_noon(), .status = Status::kWarn};
  d.panels.push_back({.name = "Alpha",
                      .status = Status::kOk,
                      .headline = "All | good",
                      .details = {"one", "", "two"},
                      .metadata = {{"b", "text"}, {"a", {{"n", 1}}}}});
  d.panels.push_back({.name = "Beta", .status = Status::kWarn, .headline = "check"});
  EXPECT_EQ(to_markdown(d),
            "# Operational observability dashboard\n"
            "- Generated at: 2025-01-01T12:00:00Z\n"
            "- Overall status: WARN\n"
            "\n"
            "| Panel | Status | Headline |\n"
            "| --- | --- | --- |\n"
            "| Alpha | OK | All \\| good |\n"
            "| Beta | WARN | check |\n"
            "\n"
            "## Alpha\n"
            "**Status:** OK\n"
            "All \\| good\n"
            "\n"
            "- one\n"
            "- two\n"
            "\n"
            "Metadata:\n"
            "- **a**: {\"n\":1}\n"
            "- **b**: text\n"
            "\n"
            "## Beta\n"
            "**Status:** WARN\n"
            "check\n");
}

TEST(DashboardTest, JsonRoundTrip) {
  const Dashboard d = build_dashboard(full_inputs());
  const json j = to_json(d);
  EXPECT_FALSE(j["panels"][0].contains("details") && j["panels"][0]["details"].empty());
  auto back = dashboard_from_json(j);
  ASSERT_TRUE(back.has_value()) << back.error().describe();
  EXPECT_EQ(*back, d);
  const json panel_json =
      to_json(DashboardPanel{.name = "x", .status = Status::kOk, .headline = "h"});
  EXPECT_EQ(panel_json, (json{{"name", "x"}, {"status", "ok"}, {"headline", "h"}}));

  json broken = j;
  broken["panels"][2]["status"] = "purple";
  auto err = dashboard_from_json(broken);
  ASSERT_FALSE(err.has_value());
  EXPECT_EQ(err.error().field, "panels[2].status");
}

TEST(DashboardTest, InputsFromJson) {
  auto in = dashboard_inputs_from_json(
      {{"generated_at", "2025-01-01T12:00:00Z"},
       {"roi_snapshot", {{"status", "at_risk"}}},
       {"quality_snapshot", nullptr},
       {"additional_panels", {{{"name", "X"}, {"status", "fail"}, {"headline", "h"}}}}});
  ASSERT_TRUE(in.has_value()) << in.error().describe();
  EXPECT_EQ(in->generated_at, at_noon());
  EXPECT_FALSE(in->quality_snapshot.has_value());
  const Dashboard d = build_dashboard(*in);
  EXPECT_EQ(d.panels.front().name, "X");
  EXPECT_EQ(panel(d, "PnL & ROI").status, Status::kWarn);
  auto typo = dashboard_inputs_from_json({{"roi_snapshto", json::object()}});
  ASSERT_FALSE(typo.has_value());
  EXPECT_EQ(typo.error().field, "roi_snapshto");
}

TEST(DashboardTest, InputsFromReadinessAndFeeds) {
  readiness::ReadinessSnapshot snap;
  snap.generated_at = at_noon();
  snap.status = Status::kWarn;
  snap.counts = {{Status::kOk, 1}, {Status::kWarn, 1}, {Status::kFail, 0}};
  snap.components.push_back({.component = "event_bus",
                             .status = Status::kWarn,
                             .summary = "queue 120",
                             .observed_at = at_noon(),
                             .metadata = {{"queue_size", 120}}});
  snap.components.push_back(
      {.component = "ingest_slos",
       .status = Status::kOk,
       .summary = "All ingest SLOs met",
       .observed_at = at_noon(),
       .metadata = {{"service", "timescale_ingest"},
                    {"slos",
                     {{{"name", "timescale_ingest"}, {"status", "pass"}},
                      {{"name", "timescale_ingest.daily_bars.freshness"}, {"status", "pass"}}}}}});
  FeedPayloads feeds;
  feeds[std::string(kRiskFeed)] = {json{{"results", {{"var", 1.0}}}, {"limits", {{"var", 10.0}}}},
                                   json{{"results", {{"var", 9.5}}}, {"limits", {{"var", 10.0}}}}};
  feeds[std::string(kLoopFeed)] = {
      json{{"compliance_events", {{{"event_type", "risk_warning"}, {"severity", "warn"}}}}}};
  feeds[std::string(kComplianceFeed)] = {
      json{{"event_type", "governance_promotion"}, {"severity", "info"}},
      json{{"events", {{{"event_type", "risk_breach"}, {"severity", "critical"}}}}}};
  const DashboardInputs in = dashboard_inputs(snap, feeds);
  EXPECT_EQ(in.generated_at, at_noon());
  EXPECT_EQ(in.risk_results, (json{{"var", 9.5}}));
  ASSERT_TRUE(in.compliance_events.has_value());
  EXPECT_EQ(in.compliance_events->size(), 2u);
  EXPECT_EQ((*in.event_bus_snapshot)["component"], "event_bus");
  EXPECT_FALSE(in.understanding_snapshot.has_value());
  EXPECT_EQ((*in.operational_readiness_snapshot)["status"], "warn");

  const Dashboard d = build_dashboard(in);
  const auto& compliance = panel(d, "Compliance & governance");
  EXPECT_EQ(compliance.metadata["counts"], (json{{"risk_breach", 1},
                                                 {"risk_warning", 1},
                                                 {"governance_action", 0},
                                                 {"governance_promotion", 1}}));
  EXPECT_EQ(compliance.status, Status::kFail);
  EXPECT_EQ(panel(d, "Risk & exposure").status, Status::kWarn);
  const auto& latency = panel(d, "Latency & throughput");
  // The ingest_slos roll-up record is not counted as an SLO of its own.
  EXPECT_TRUE(has_detail(latency, "SLOs pass 1 / warn 0 / fail 0"));
  EXPECT_EQ(latency.headline, "Event bus warn; Ingest SLOs pass");
  EXPECT_EQ(panel(d, "Operational readiness").headline, "Readiness warn");
}

}  // namespace
}  // namespace opsready::server

namespace opsready::server {
namespace {

// The dashboard reads exactly the feed topics the engine keeps (engine/feeds.h's one list).
TEST(DashboardFeeds, TheDashboardsTopicsAreTheEnginesFeedTopics) {
  const std::string_view read[] = {kRoiFeed,
                                   kRiskFeed,
                                   kLoopFeed,
                                   kComplianceFeed,
                                   kComplianceSloFeed,
                                   kEvolutionFeed,
                                   kOperatorLeverageFeed,
                                   kMonitoringFeed,
                                   kBackboneFeed,
                                   kPolicyGraduationFeed,
                                   kPolicyReflectionFeed,
                                   kQualityFeed,
                                   kGateMetricsFeed};
  ASSERT_EQ(std::size(read), std::size(engine::kFeedTopics));
  for (std::string_view t : read) {
    EXPECT_NE(engine::find_feed_topic(t), nullptr) << t;
  }
}

}  // namespace
}  // namespace opsready::server
