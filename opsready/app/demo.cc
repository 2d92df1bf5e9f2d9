// The demo workload: a small simulated FIX trading runtime that publishes component snapshots
// and report documents through the same hand-over queue as HTTP ingest, so a newcomer sees
// readiness, the gate, alerts and /metrics move. The schedule is a pure function of the tick
// number, so the demo behaves the same on every run.

#include "opsready/app/demo.h"

#include <cstdio>

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

}  // namespace

// One cycle is 90 ticks (3 minutes at the default period): the FIX session to LSE drops at
// tick 60 for 10 ticks, an incident is open from 62 to 80, the cache falls back to memory from
// 40 to 50 and the replica lags from 20 to 40.
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
  return out;
}

}  // namespace opsready::app
