// The demo workload: a small simulated FIX trading runtime that publishes component
// snapshots through the same hand-over queue as HTTP ingest, so a newcomer sees readiness,
// the gate and /metrics move. The schedule is a pure function of the tick number, so the
// demo behaves the same on every run.

#include "opsready/app/demo.h"

#include <cstdio>

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

}  // namespace

// One cycle is 90 ticks (3 minutes at the default period).
std::vector<ComponentSnapshot> demo_snapshots(std::uint64_t tick, core::TimePoint now) {
  const std::uint64_t phase = tick % 90;
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
  // Incident response: one open incident during the FIX outage and a while after.
  {
    const bool open = phase >= 62 && phase < 80;
    auto s = make("incident_response", open ? Status::kWarn : Status::kOk,
                  open ? "open incidents=1, missing runbooks=0, MTTA=1.5m"
                       : "open incidents=0, missing runbooks=0",
                  now);
    if (open) {
      s.issues.push_back({.code = "open_incidents",
                          .severity = Severity::kWarning,
                          .message = "1 open incident (FIX session LSE-TRADE)",
                          .runbook = "docs/runbooks/demo.md#incident"});
    }
    out.push_back(std::move(s));
  }
  // System validation: all checks pass (published every 5 ticks).
  if (tick % 5 == 0) {
    out.push_back(
        make("system_validation", Status::kOk, "12/12 checks passed (success=100%)", now));
  }
  // Backups: reported rarely, so the component goes stale between reports (max_age 60s).
  if (tick % 45 == 0) {
    out.push_back(make("backups", Status::kOk, "last backup 2m ago, restore test passed", now));
  }
  return out;
}

}  // namespace opsready::app
