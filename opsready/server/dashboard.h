#pragma once
// The observability dashboard: the original platform's panel model (spec §3), built from the
// telemetry the trading runtime publishes (the engine's feeds) and opsready's own state (the
// readiness snapshot, the event_bus, ingest_slos and understanding_loop components). It is what
// GET /api/v1/dashboard serves and what `opsready dashboard` renders for CI.
//
//   DashboardInputs in = dashboard_inputs(*readiness_snapshot, feeds);
//   Dashboard d = build_dashboard(in);
//   nlohmann::json j = to_json(d);   // {generated_at, status, panels, metadata,
//   remediation_summary} std::string md = to_markdown(d);
//
// Panel order (§3.2): the caller's additional panels, then PnL & ROI, Risk & exposure, Gate
// Dashboard, Compliance & governance (always), Evolution KPIs (always), Operator leverage
// (always), Latency & throughput, System health, Operational readiness, Policy graduation,
// Decision diary (always), Understanding loop (always), Policy reflections, Quality & coverage.
// The overall status is the worst panel status. Each panel's rules are in dashboard.cc and
// docs (the dashboard fragment), with every place where opsready departs from the original's
// quirks. Building reads no clock when `generated_at` is given and has no side effects.
//
// Everything here is a pure function over plain values; thread-safe as any value.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/core/clock.h"
#include "opsready/core/error.h"
#include "opsready/core/status.h"
#include "opsready/readiness/readiness.h"

namespace opsready::server {

using DashboardStatus = core::Status;

struct DashboardPanel {
  std::string name;
  DashboardStatus status = DashboardStatus::kOk;
  std::string headline;
  std::vector<std::string> details;
  nlohmann::json metadata = nlohmann::json::object();

  bool operator==(const DashboardPanel&) const = default;
};

struct Dashboard {
  core::TimePoint generated_at{};
  DashboardStatus status = DashboardStatus::kOk;
  std::vector<DashboardPanel> panels;
  nlohmann::json metadata = nlohmann::json::object();

  bool operator==(const Dashboard&) const = default;
};

// {name, status, headline} + details (only when non-empty) + metadata (only when non-empty).
[[nodiscard]] nlohmann::json to_json(const DashboardPanel& p);
// {generated_at, status, panels, metadata, remediation_summary}.
[[nodiscard]] nlohmann::json to_json(const Dashboard& d);
// The CI roll-up: {generated_at, overall_status, panel_counts{ok,warn,fail}, failing_panels,
// warning_panels, healthy_panels}, the name lists in panel order.
[[nodiscard]] nlohmann::json remediation_summary(const Dashboard& d);
// Markdown as spec §3.1 without the Python artefacts: empty details are skipped (no bare "- "),
// a detail that starts with "- " (the compliance SLO overview) is a nested bullet,
// metadata values are JSON (strings unquoted), cells escaped with core::markdown_inline.
[[nodiscard]] std::string to_markdown(const Dashboard& d);
// Reads to_json()'s shape back (remediation_summary is derived, so it is ignored); errors name
// the offending field.
[[nodiscard]] core::Result<Dashboard> dashboard_from_json(const nlohmann::json& j);
[[nodiscard]] core::Result<DashboardPanel> panel_from_json(const nlohmann::json& j);

// One optional field per input of the original's build_observability_dashboard (§3.2), as
// JSON documents (the shapes are in the dashboard fragment of the docs). An absent field is
// "not given" (None); a given but empty one is still given (policy_graduation_assessments: []
// makes the panel).
struct DashboardInputs {
  std::optional<nlohmann::json> roi_snapshot;
  std::optional<nlohmann::json> risk_results;       // {name: result object or number}
  std::optional<nlohmann::json> risk_limits;        // {name: number}
  std::optional<nlohmann::json> loop_results;       // [loop result, ...]
  std::optional<nlohmann::json> compliance_events;  // [event, ...]
  std::optional<nlohmann::json> compliance_slo_snapshot;
  std::optional<nlohmann::json> evolution_kpis;
  std::optional<nlohmann::json> operator_leverage_snapshot;
  std::optional<nlohmann::json> event_bus_snapshot;  // the event_bus component snapshot
  std::optional<nlohmann::json> monitoring_snapshot;
  std::optional<nlohmann::json> slo_snapshot;  // the ingest_slos component snapshot
  std::optional<nlohmann::json> backbone_snapshot;
  std::optional<nlohmann::json> operational_readiness_snapshot;  // readiness::to_json()
  std::optional<nlohmann::json> policy_graduation_assessments;
  std::optional<nlohmann::json> quality_snapshot;
  std::optional<nlohmann::json> policy_reflection;
  std::optional<nlohmann::json> understanding_snapshot;  // the understanding_loop component
  std::vector<DashboardPanel> additional_panels;
  std::optional<nlohmann::json> gate_dashboard;  // {metrics: [...]} or [metric, ...]
  std::optional<core::TimePoint> generated_at;   // default: the system clock's now
  nlohmann::json metadata = nlohmann::json::object();

  bool operator==(const DashboardInputs&) const = default;
};

// The inputs from a JSON object whose keys are the field names above (`opsready dashboard
// --input FILE`); null values are "not given"; an unknown key is an error (a typo would
// otherwise silently drop a panel's data).
[[nodiscard]] core::Result<DashboardInputs> dashboard_inputs_from_json(const nlohmann::json& j);

[[nodiscard]] Dashboard build_dashboard(const DashboardInputs& inputs);

// Feed topic -> payloads, newest last (the engine's feeds, CONTRACT.md), decoupled from the
// engine's container type.
using FeedPayloads = std::map<std::string, std::vector<nlohmann::json>, std::less<>>;

// The feed topics the dashboard reads.
inline constexpr std::string_view kRoiFeed = "telemetry.dashboard.roi";
inline constexpr std::string_view kRiskFeed = "telemetry.dashboard.risk";
inline constexpr std::string_view kLoopFeed = "telemetry.dashboard.loop";
inline constexpr std::string_view kComplianceFeed = "telemetry.dashboard.compliance";
inline constexpr std::string_view kComplianceSloFeed = "telemetry.dashboard.compliance_slo";
inline constexpr std::string_view kEvolutionFeed = "telemetry.dashboard.evolution";
inline constexpr std::string_view kOperatorLeverageFeed = "telemetry.dashboard.operator_leverage";
inline constexpr std::string_view kMonitoringFeed = "telemetry.dashboard.monitoring";
inline constexpr std::string_view kBackboneFeed = "telemetry.dashboard.backbone";
inline constexpr std::string_view kPolicyGraduationFeed = "telemetry.dashboard.policy_graduation";
inline constexpr std::string_view kPolicyReflectionFeed = "telemetry.dashboard.policy_reflection";
inline constexpr std::string_view kQualityFeed = "telemetry.dashboard.quality";
inline constexpr std::string_view kGateMetricsFeed = "telemetry.dashboard.gate_metrics";

// The inputs of a live daemon: the newest payload of each single-payload feed, every loop
// result and compliance event kept, the event_bus / ingest_slos / understanding_loop component
// snapshots and the readiness snapshot itself; generated_at = the snapshot's generated_at.
[[nodiscard]] DashboardInputs dashboard_inputs(const readiness::ReadinessSnapshot& snapshot,
                                               const FeedPayloads& feeds);

}  // namespace opsready::server
