// The demo workload: a small simulated FIX trading runtime that publishes component snapshots
// and report documents through the same hand-over queue as HTTP ingest, so a newcomer sees
// readiness, the gate, alerts and /metrics move. The schedule is a pure function of the tick
// number, so the demo behaves the same on every run.

#include "opsready/app/demo.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <string_view>

#include "opsready/alerting/policy.h"
#include "opsready/app/drills_config.h"
#include "opsready/core/snapshot.h"
#include "opsready/core/time.h"

namespace opsready::app {
namespace {

using core::ComponentSnapshot;
using core::Issue;
using core::Severity;
using core::Status;

ComponentSnapshot make(std::string name, Status status, std::string summary, core::TimePoint at) {
  return ComponentSnapshot{.component = std::move(name),
                           .status = status,
                           .summary = std::move(summary),
                           .observed_at = at,
                           .issues = {},
                           .metadata = nlohmann::json::object()};
}

// The runtime components opsready has no evaluator for, as their own snapshots.
std::vector<ComponentSnapshot> runtime_snapshots(std::uint64_t phase, core::TimePoint now) {
  std::vector<ComponentSnapshot> out;

  // FIX gateway: a session to one venue drops for 10 ticks each cycle.
  {
    const bool down = phase >= 60 && phase < 70;
    auto s = make(
        "fix_gateway", down ? Status::kFail : Status::kOk,
        down ? "1/3 FIX sessions down (LSE-TRADE: logon rejected)" : "3/3 FIX sessions logged on",
        now);
    s.metadata = {{"sessions_up", down ? 2 : 3}, {"sessions_total", 3}};
    if (down) {
      s.issues.push_back({.code = "fix_session_down",
                          .severity = Severity::kCritical,
                          .message = "FIX session LSE-TRADE is not logged on",
                          .runbook = "docs/runbooks/demo.md#fix-session-down"});
    }
    out.push_back(std::move(s));
  }
  // Market-data ingest: lag ramps up and recovers.
  {
    const double lag = phase < 20 ? 0.4 : phase < 35 ? 0.4 + 0.25 * double(phase - 20) : 0.4;
    const Status st = lag > 4.0 ? Status::kFail : lag > 2.0 ? Status::kWarn : Status::kOk;
    char summary[96];
    std::snprintf(summary, sizeof summary, "ingest lag %.2fs (warn>2s, fail>4s)", lag);
    auto s = make("market_data_ingest", st, summary, now);
    s.metadata = {{"lag_seconds", lag}};
    if (st != Status::kOk) {
      s.issues.push_back({.code = "ingest_lag",
                          .severity = core::severity_for(st),
                          .message = summary,
                          .runbook = "docs/runbooks/demo.md#ingest-lag"});
    }
    out.push_back(std::move(s));
  }
  // Risk engine: limit utilisation crosses the warning band.
  {
    const int util = 55 + static_cast<int>((phase * 7) % 40);
    const Status st = util >= 85 ? Status::kWarn : Status::kOk;
    auto s = make("risk_engine", st, "VaR limit utilisation " + std::to_string(util) + "%", now);
    s.metadata = {{"var_utilisation_pct", util}};
    if (st != Status::kOk) {
      s.issues.push_back({.code = "var_limit_utilisation",
                          .severity = Severity::kWarning,
                          .message = "VaR limit utilisation at " + std::to_string(util) + "%",
                          .runbook = "docs/runbooks/demo.md#risk-limits"});
    }
    out.push_back(std::move(s));
  }
  return out;
}

// Whole seconds, as the runtime's reports carry them.
std::string iso(core::TimePoint t) {
  return core::format_rfc3339(std::chrono::floor<std::chrono::seconds>(t));
}

core::TelemetryEvent document(std::string topic, core::TimePoint now, nlohmann::json payload) {
  return core::TelemetryEvent{.topic = std::move(topic),
                              .source = "demo.trading_runtime",
                              .time = now,
                              .payload = std::move(payload)};
}

// The feeds of the original's dashboard panels (telemetry.dashboard.*, docs/dashboard.md): the
// runtime's risk, monitoring, ROI, decision loop, compliance, evolution, operator, backbone,
// policy and quality telemetry, on the same 90-tick cycle. VaR climbs from 6,500 to 11,000
// against its 10,000 limit (past 80 % at phase 15, past the limit at phase 36) and falls back;
// latency and a critical tail spike follow the FIX outage; drift warns from 20 to 40 and
// alerts from 30 to 35; diary coverage drops below target from 70 to 80.
std::vector<core::TelemetryEvent> dashboard_feeds(std::uint64_t tick, std::uint64_t phase,
                                                  core::TimePoint now) {
  std::vector<core::TelemetryEvent> out;
  const auto feed = [&out, now](std::string_view topic, nlohmann::json payload) {
    out.push_back(document("telemetry.dashboard." + std::string(topic), now, std::move(payload)));
  };
  const double p = static_cast<double>(phase);
  const bool fix_down = phase >= 60 && phase < 70;
  const double var = phase <= 45 ? 6500.0 + 100.0 * p : 11000.0 - 100.0 * (p - 45.0);
  const double wave = std::sin(p / 90.0 * 2.0 * 3.14159265358979);
  // Every tick: risk and monitoring.
  feed("risk", {{"results",
                 {{"parametric_var", {{"value", var}, {"confidence", 0.99}, {"sample_size", 252}}},
                  {"expected_shortfall",
                   {{"value", var * 0.75}, {"confidence", 0.975}, {"sample_size", 252}}}}},
                {"limits", {{"parametric_var", 10000.0}, {"expected_shortfall", 12000.0}}}});
  const double p99 = fix_down ? 1450.0 + 20.0 * (p - 60.0) : 640.0 + 120.0 * wave;
  const bool drift_warn = phase >= 20 && phase < 40;
  const bool drift_alert = phase >= 30 && phase < 35;
  nlohmann::json spikes = nlohmann::json::array();
  if (fix_down) {
    spikes.push_back({{"name", "var"},
                      {"value", 0.08},
                      {"threshold", 0.05},
                      {"severity", phase < 65 ? "critical" : "warn"}});
  }
  feed("monitoring", {{"generated_at", iso(now)},
                      {"status", "ok"},
                      {"latency_ms",
                       {{"p95_ms", p99 * 0.6},
                        {"p99_ms", p99},
                        {"p99_target_ms", 1000.0},
                        {"samples", 1200 + tick % 300},
                        {"status", p99 > 1000.0 ? "warn" : "ok"}}},
                      {"throughput",
                       {{"per_minute", fix_down ? 18.0 : 45.0 + 10.0 * wave},
                        {"per_second", (fix_down ? 18.0 : 45.0 + 10.0 * wave) / 60.0},
                        {"backlog", fix_down ? 40 : 3}}},
                      {"pnl",
                       {{"daily", 1800.0 - 40.0 * p},
                        {"swing", 0.04 + 0.02 * std::fabs(wave)},
                        {"drawdown", phase < 60 ? 0.03 : 0.03 + 0.004 * (p - 60.0)}}},
                      {"memory",
                       {{"current_mb", 480.0 + 2.0 * p},
                        {"peak_mb", 768.0},
                        {"current_percent", (480.0 + 2.0 * p) / 1024.0},
                        {"peak_percent", 0.75}}},
                      {"tail_spikes", spikes},
                      {"drift_summary",
                       {{"status", drift_alert  ? "alert"
                                   : drift_warn ? "warn"
                                                : "normal"},
                        {"dimensions",
                         {{"alpha",
                           {{"severity", drift_alert  ? "alert"
                                         : drift_warn ? "warn"
                                                      : "normal"},
                            {"delta", drift_warn ? 0.2 + 0.01 * (p - 20.0) : 0.02},
                            {"variance_ratio", drift_warn ? 1.5 : 1.0},
                            {"samples", 128}}},
                          {"beta", {{"severity", "normal"}, {"delta", 0.01}, {"samples", 128}}}}}}},
                      {"metadata", {{"source", "demo.trading_runtime"}}}});
  if (tick % 5 != 0) return out;

  const double roi = 0.004 + 0.00012 * (90.0 - p);
  feed("roi", {{"status", phase >= 60 && phase < 80 ? "at_risk" : "tracking"},
               {"roi", roi},
               {"annualised_roi", roi * 30.0},
               {"target_annual_roi", 0.25},
               {"net_pnl", 250000.0 * roi},
               {"gross_pnl", 250000.0 * roi + 380.0},
               {"fees", 260.0},
               {"infrastructure_cost", 120.0},
               {"executed_trades", 40 + phase}});
  // The decision loop: diary coverage over the cycle's iterations and the loop's compliance
  // events (a warning past 80 % of the VaR limit, a breach past it).
  const auto iterations = static_cast<int>(20 + phase);
  const int recorded = phase >= 70 && phase < 80 ? iterations - 4 : iterations;
  nlohmann::json events = nlohmann::json::array();
  if (var > 8000.0) {
    events.push_back(
        {{"event_type", var > 10000.0 ? "risk_breach" : "risk_warning"},
         {"severity", var > 10000.0 ? "critical" : "warn"},
         {"summary", "parametric_var " + std::to_string(static_cast<int>(var)) + " vs limit 10000"},
         {"policy_id", "risk.var_limit"},
         {"occurred_at", iso(now)}});
  }
  feed("loop", {{"loop", "alpha_trade"},
                {"compliance_events", events},
                {"metadata",
                 {{"diary_coverage",
                   {{"iterations", iterations},
                    {"recorded", recorded},
                    {"coverage", static_cast<double>(recorded) / iterations},
                    {"target", 0.95},
                    {"minimum_samples", 20},
                    {"gap_breach", false},
                    {"last_recorded_at", iso(now)}}}}}});
  if (phase == 10 || phase == 50) {
    feed("compliance", {{"event_type", phase == 10 ? "governance_promotion" : "governance_action"},
                        {"severity", "info"},
                        {"summary", phase == 10 ? "momentum promoted to PILOT"
                                                : "mean_reversion throttled by the desk"},
                        {"policy_id", phase == 10 ? "momentum" : "mean_reversion"},
                        {"occurred_at", iso(now)}});
  }
  feed("evolution", {{"status", drift_warn ? "warn" : "ok"},
                     {"generated_at", iso(now)},
                     {"experiments_running", 3},
                     {"promotion_rate", 0.25},
                     {"time_to_candidate_hours", 6.5 + 0.05 * p},
                     {"rollback_latency_seconds", 42.0}});
  feed("operator_leverage", {{"status", "ok"},
                             {"generated_at", iso(now)},
                             {"operators", 3},
                             {"experiments_per_week", 11.5},
                             {"quality_pass_rate", 0.93}});
  const bool cache_fallback = phase >= 40 && phase < 50;
  feed("backbone", {{"status", cache_fallback ? "warn" : "ok"},
                    {"components",
                     {{{"name", "timescale"}, {"status", "ok"}, {"summary", "primary healthy"}},
                      {{"name", "redis"},
                       {"status", cache_fallback ? "warn" : "ok"},
                       {"summary", cache_fallback ? "in-memory fallback active" : "reachable"}},
                      {{"name", "kafka"}, {"status", "ok"}, {"summary", "consumer lag 40"}}}}});
  feed("policy_graduation",
       {{"assessments",
         nlohmann::json::array({{{"policy_id", "momentum"},
                                 {"current_stage", "PAPER"},
                                 {"recommended_stage", "PILOT"}},
                                {{"policy_id", "mean_reversion"},
                                 {"current_stage", "PILOT"},
                                 {"recommended_stage", "LIMITED_LIVE"},
                                 {"blockers", phase < 45 ? nlohmann::json{"approvals_required"}
                                                         : nlohmann::json::array()}}})}});
  feed("policy_reflection",
       {{"digest",
         {{"total_decisions", iterations},
          {"tactics",
           {{{"tactic_id", "momentum"}, {"count", iterations * 3 / 5}, {"share", 0.6}},
            {{"tactic_id", "mean_reversion"}, {"count", iterations * 2 / 5}, {"share", 0.4}}}}}},
        {"insights", {"momentum dominates while the regime is bull"}}});
  feed("quality", {{"status", "warn"},
                   {"coverage_percent", 78.0},
                   {"target_percent", 80.0},
                   {"notes", {"Coverage below target in src/risk"}},
                   {"remediation", "Add tests for the risk limit checks"}});
  feed("gate_metrics", {{"metrics",
                         {{{"name", "order_success_rate"},
                           {"value", fix_down ? 0.91 : 0.985},
                           {"warn_threshold", 0.95},
                           {"fail_threshold", 0.90},
                           {"mode", "at_least"}},
                          {{"name", "mtta_minutes"},
                           {"value", phase >= 62 && phase < 80 ? 35.0 : 12.0},
                           {"warn_threshold", 30.0},
                           {"fail_threshold", 60.0},
                           {"mode", "at_most"}}}}});
  return out;
}

}  // namespace

// One cycle is 90 ticks (3 minutes at the default period): the FIX session to LSE drops at
// tick 60 for 10 ticks, an incident is open from 62 to 80, the cache falls back to memory from
// 40 to 50 and the replica lags from 20 to 40.
namespace {

// The samples the drift detectors and the ingest SLOs grade (the dashboard's drift and SLO
// panels): the understanding loop's belief confidence shifts from phase 20 to 40 (drift_sentry's
// Page-Hinkley and CUSUM), the sensory WHY/HOW signals jump from phase 25 to 40 (sensory_drift),
// and the daily-bars ingest goes stale and errs during the FIX outage (ingest_slos: freshness,
// latency and the burn rate of its event outcomes). The jitter is a fixed function of the tick,
// so a demo run is the same every time.
constexpr int kLoopEvaluationsPerTick = 20;

// Noise in [-1, 1): a fixed function of `n` (splitmix64), so that a demo run repeats.
double noise(std::uint64_t n) {
  n += 0x9e3779b97f4a7c15ULL;
  n = (n ^ (n >> 30)) * 0xbf58476d1ce4e5b9ULL;
  n = (n ^ (n >> 27)) * 0x94d049bb133111ebULL;
  n ^= n >> 31;
  return static_cast<double>(n >> 11) / static_cast<double>(1ULL << 52) - 1.0;
}

std::vector<core::TelemetryEvent> detector_samples(std::uint64_t tick, std::uint64_t phase,
                                                   core::TimePoint now) {
  const double jitter = noise(tick) * 0.05;
  const bool shifted = phase >= 20 && phase < 40;
  const bool sensory_jump = phase >= 25 && phase < 40;
  const bool fix_down = phase >= 60 && phase < 70;
  auto sample = [&](std::string topic, std::string series, double value,
                    nlohmann::json labels = nlohmann::json::object()) {
    nlohmann::json payload = {{"series", std::move(series)}, {"value", value}};
    if (!labels.empty()) payload["labels"] = std::move(labels);
    return document(std::move(topic), now, std::move(payload));
  };
  std::vector<core::TelemetryEvent> out;
  // The loop evaluates many times a tick: drift_sentry's 240 + 60 value windows fill in 15 ticks.
  for (int i = 0; i < kLoopEvaluationsPerTick; ++i) {
    // Alternating in sign, so that a steady metric stays steady for Page-Hinkley (whose sum
    // of standardised deviations random noise would walk past its threshold).
    const double j =
        (i % 2 == 0 ? 0.03 : -0.03) * (0.5 + 0.5 * std::abs(noise(tick * kLoopEvaluationsPerTick +
                                                                  static_cast<std::uint64_t>(i))));
    out.push_back(
        sample("telemetry.understanding.metric", "belief_confidence", (shifted ? 0.55 : 0.82) + j));
    out.push_back(sample("telemetry.understanding.metric", "regime_accuracy", 0.74 + j));
  }
  out.push_back(sample("telemetry.sensory.why", "why", (sensory_jump ? 0.9 : 0.3) + jitter));
  out.push_back(sample("telemetry.sensory.how", "how",
                       (sensory_jump ? 0.7 : 0.4) + noise(tick + 1'000'000) * 0.05));
  out.push_back(sample("telemetry.sensory.what", "what", 0.5 + noise(tick + 2'000'000) * 0.05));
  out.push_back(
      sample("telemetry.ingest.freshness_seconds", "daily_bars", fix_down ? 420.0 : 15.0));
  out.push_back(
      sample("telemetry.ingest.latency_seconds", "daily_bars", (fix_down ? 4.0 : 0.4) + jitter));
  out.push_back(
      sample("telemetry.ingest.events", "daily_bars", fix_down ? 20 : 100, {{"outcome", "ok"}}));
  if (fix_down) {
    out.push_back(sample("telemetry.ingest.events", "daily_bars", 80, {{"outcome", "error"}}));
  }
  return out;
}

}  // namespace

namespace {

// The demo's drill, in the form a scenario file takes (docs/configuration.md shows it): the
// dashboard feeds arrive every tick (2 s), so with the source's `after` of 5 s the dead-man
// switch raises the alert 3 to 5 s into the stall, well within `within` and the fault's 12 s;
// the feeds' next tick after the restore resolves it.
constexpr std::string_view kDemoDrillYaml = R"(name: demo-feed-stall
description: The dashboard feeds (telemetry.dashboard.>) are dropped at ingest for 12 seconds.
hypothesis: >-
  When the dashboard feeds go silent, OpsreadyTelemetryAbsent{source="dashboard_feeds"} fires
  within 8 s of the stall, and it resolves once the feeds return.
steady_state:
  - no_alert: 'alertname="OpsreadyTelemetryAbsent", source="dashboard_feeds"'
fault:
  kind: feed_stall
  topics: [telemetry.dashboard.>]
  duration: 12s
expect:
  alert: '{alertname="OpsreadyTelemetryAbsent", source="dashboard_feeds"}'
  within: 8s
responder:
  ack_after: 500ms
recovery:
  within: 30s
)";

constexpr auto kDay = std::chrono::hours(24);

template <typename T>
bool has_name(const std::vector<T>& v, std::string_view name) {
  return std::ranges::any_of(v, [name](const T& x) { return x.name == name; });
}

}  // namespace

Config demo_config(Config cfg, core::TimePoint now) {
  now = std::chrono::floor<std::chrono::seconds>(now);  // whole seconds read better in the API
  auto& comps = cfg.gate.components;
  comps["fix_gateway"].required = true;
  comps["risk_engine"].required = true;
  comps["backups"].max_age = std::chrono::seconds(60);
  if (!cfg.gate.max_age) cfg.gate.max_age = std::chrono::seconds(30);

  if (!has_name(cfg.expected_sources, kDemoFeedSource)) {
    cfg.expected_sources.push_back({.name = std::string(kDemoFeedSource),
                                    .topic_pattern = "telemetry.dashboard.>",
                                    .after = std::chrono::seconds(5)});
  }
  if (!has_name(cfg.drills.scenarios, kDemoDrill)) {
    auto s = parse_scenario(std::string(kDemoDrillYaml), "demo-feed-stall (built in)");
    assert(s.has_value() && "the demo's drill scenario is valid");
    if (s) {
      s->file.clear();  // built in code: no file
      cfg.drills.scenarios.push_back(std::move(*s));
    }
  }
  // Alertmanager's group_wait of 30 s would notify after the drill's fault ended: with the
  // default policy, the demo notifies a group 1 s after its first alert, so the responder's ack
  // (and MTTA) fall within the drill.
  if (cfg.alerting == alerting::default_policy()) {
    cfg.alerting.route.group_wait = std::chrono::seconds(1);
  }

  // Two sign-offs, one in good standing and one due soon. Overdue is warn for both: the demo's
  // gate should not block on a review nobody can do in it. Both count from `since` until
  // someone records one (`opsready signoff record`).
  auto& signoffs = cfg.compliance.signoffs;
  if (!has_name(signoffs, "security-review")) {
    signoffs.push_back({.name = "security-review",
                        .kind = "security_review",
                        .owner = "secops",
                        .every = 90 * kDay,
                        .due_soon = 14 * kDay,
                        .overdue = core::Status::kWarn,
                        .since = now - 20 * kDay,
                        .description = "Quarterly security review of the trading runtime"});
  }
  if (!has_name(signoffs, "access-review")) {
    signoffs.push_back({.name = "access-review",
                        .kind = "access_review",
                        .owner = "desk-lead",
                        .every = 30 * kDay,
                        .due_soon = 7 * kDay,
                        .overdue = core::Status::kWarn,
                        .since = now - 25 * kDay,
                        .description = "Monthly review of who may trade and deploy"});
  }
  return cfg;
}

std::vector<core::TelemetryEvent> demo_events(std::uint64_t tick, core::TimePoint now) {
  const std::uint64_t phase = tick % 90;
  std::vector<core::TelemetryEvent> out;
  for (auto& s : runtime_snapshots(phase, now)) {
    out.push_back(document(std::string(core::kComponentSnapshotTopic), now, core::to_json(s)));
  }
  const bool fix_down = phase >= 60 && phase < 70;
  // System validation: the validator's report every 5 ticks; its FIX check fails in the outage.
  if (tick % 5 == 0) {
    nlohmann::json results = nlohmann::json::object();
    for (const char* check :
         {"config", "risk_limits", "market_data", "order_router", "position_keeper", "pnl",
          "audit_log", "kill_switch", "replay", "timescale", "redis", "nats"}) {
      results[check] = true;
    }
    results["fix_sessions"] =
        fix_down ? nlohmann::json{{"passed", false}, {"message", "LSE-TRADE logon rejected"}}
                 : nlohmann::json(true);
    out.push_back(document("telemetry.operational.system_validation", now,
                           {{"timestamp", iso(now)},
                            {"validator", "System Completeness"},
                            {"version", "demo"},
                            {"results", results}}));
  }
  // Incident response: the runtime's policy and state; one incident open after the outage.
  if (tick % 5 == 0 || phase == 62 || phase == 80) {
    const bool open = phase >= 62 && phase < 80;
    out.push_back(document(
        "telemetry.operational.incident_response", now,
        {{"service", "trading_runtime"},
         {"policy", {{"required_runbooks", {"fix_session_down", "redis_outage", "kafka_lag"}}}},
         {"state",
          {{"available_runbooks", {"fix_session_down", "redis_outage", "kafka_lag"}},
           {"training_age_days", 21.0},
           {"drill_age_days", 14.0},
           {"primary_oncall", {"alice", "bob"}},
           {"secondary_oncall", {"carol"}},
           {"open_incidents", open ? nlohmann::json{"INC-LSE-TRADE"} : nlohmann::json::array()},
           {"postmortem_backlog_hours", 2.0},
           {"chatops_ready", true}}}}));
  }
  // Security posture: the SECURITY_* mapping every 15 ticks.
  if (tick % 15 == 0) {
    out.push_back(document("telemetry.operational.security", now,
                           {{"SECURITY_SERVICE_NAME", "trading_runtime"},
                            {"SECURITY_TOTAL_USERS", "40"},
                            {"SECURITY_USERS_WITH_MFA", "39"},
                            {"SECURITY_CREDENTIAL_AGE_DAYS", "21"},
                            {"SECURITY_SECRETS_AGE_DAYS", "12"},
                            {"SECURITY_INCIDENT_DRILL_AGE_DAYS", "30"},
                            {"SECURITY_VULNERABILITY_SCAN_AGE_DAYS", "6"},
                            {"SECURITY_INTRUSION_DETECTION_ACTIVE", "true"},
                            {"SECURITY_FAILED_LOGINS_LAST_HOUR", fix_down ? "25" : "3"},
                            {"SECURITY_TLS_VERSIONS", "TLS1.2,TLS1.3"},
                            {"SECURITY_CERTIFICATE_EXPIRY_DAYS", "75"}}));
  }
  // Backups: reported rarely, so the component goes stale between reports (max_age 60s).
  if (tick % 45 == 0) {
    out.push_back(document("telemetry.operational.backups", now,
                           {{"service", "timescale_backups"},
                            {"generated_at", iso(now)},
                            {"policy",
                             {{"expected_frequency_seconds", 21600},
                              {"retention_days", 14},
                              {"restore_test_interval_days", 14},
                              {"providers", {"aws_s3"}},
                              {"storage_location", "s3://demo-backups/timescale"}}},
                            {"state",
                             {{"last_backup_at", iso(now - std::chrono::minutes(2))},
                              {"last_backup_status", "ok"},
                              {"last_restore_test_at", iso(now - std::chrono::hours(24 * 3))},
                              {"last_restore_status", "ok"}}}}));
    // The ingest failover drill of the same maintenance window (disaster_recovery follows both).
    out.push_back(document(
        "telemetry.operational.failover_drill", now,
        {{"generated_at", iso(now)},
         {"scenario", "timescale_failover"},
         {"plan",
          {{"daily_bars", {{"symbols", {"SPY", "QQQ"}}}},
           {"intraday_trades", {{"symbols", {"SPY", "QQQ"}}}}}},
         {"results",
          {{"daily_bars",
            {{"rows_written", 1800}, {"symbols", {"SPY", "QQQ"}}, {"freshness_seconds", 600.0}}},
           {"intraday_trades",
            {{"rows_written", 96000}, {"symbols", {"SPY", "QQQ"}}, {"freshness_seconds", 60.0}}}}},
         {"fail_dimensions", {"daily_bars"}},
         {"fallback", {{"executed", true}}}}));
  }
  // Cross-region replica: lag grows past the warn threshold and recovers.
  if (tick % 5 == 0) {
    const double lag = phase >= 20 && phase < 40 ? 300.0 + 60.0 * double(phase - 20) : 120.0;
    out.push_back(
        document("telemetry.ingest.cross_region_failover", now,
                 {{"generated_at", iso(now)},
                  {"primary_region", "eu-west"},
                  {"replica_region", "us-east"},
                  {"primary_results", {{"daily_bars", {{"rows_written", 1800}}}}},
                  {"replica_records",
                   {{"daily_bars",
                     {{"status", "ok"},
                      {"rows_written", 1800},
                      {"executed_at", iso(now - std::chrono::duration_cast<core::Duration>(
                                                    std::chrono::duration<double>(lag)))}}}}},
                  {"scheduler", {{"status", "ok"}, {"interval_seconds", 3600.0}}}}));
  }
  // Cache: the in-memory fallback takes over while Redis is unreachable.
  if (tick % 5 == 0 || phase == 40 || phase == 50) {
    const bool fallback = phase >= 40 && phase < 50;
    out.push_back(document("telemetry.cache.health", now,
                           {{"generated_at", iso(now)},
                            {"backend", fallback ? "memory" : "redis"},
                            {"configured", true},
                            {"reachable", !fallback},
                            {"fallback_active", fallback},
                            {"hit_rate", 0.93},
                            {"hits", 930},
                            {"misses", 70},
                            {"latency_ms_p95", 1.2}}));
  }
  for (auto& e : dashboard_feeds(tick, phase, now)) out.push_back(std::move(e));
  for (auto& e : detector_samples(tick, phase, now)) out.push_back(std::move(e));
  return out;
}

}  // namespace opsready::app
