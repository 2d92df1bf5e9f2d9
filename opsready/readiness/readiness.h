#pragma once
// Readiness aggregation and the gate.
//
//   GatePolicy policy;                       // block on fail, warn on warn, never stale
//   policy.components["incident_response"] = {.max_age = std::chrono::minutes(5),
//                                             .required = true};
//   ReadinessSnapshot snap = aggregate(latest_component_snapshots, policy, clock.now());
//   if (snap.gate.decision == GateDecision::Decision::kBlock) ...
//
// aggregate() is a pure function: the same inputs give the same snapshot, byte for byte,
// once rendered. It owns nothing and is thread-safe. Every gate in opsready (CLI `gate`,
// `/api/v1/gate`, later alert derivation) uses GateDecision and GatePolicy from here.

#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/core/clock.h"
#include "opsready/core/error.h"
#include "opsready/core/snapshot.h"
#include "opsready/core/status.h"

namespace opsready::readiness {

using core::ComponentSnapshot;
using core::Duration;
using core::Status;
using core::TimePoint;

// Per-component settings; every optional falls back to the policy-wide value.
// Every member has a default member initializer so designated initializers that name only
// some fields (as above) compile under -Wextra (-Wmissing-field-initializers).
struct ComponentRule {
  std::optional<Duration> max_age{};
  bool required = false;
  std::optional<Status> stale_status{};
  // Statuses of this component that block / warn; unset = the policy's block_on / warn_on.
  std::optional<std::vector<Status>> block_on{};
  std::optional<std::vector<Status>> warn_on{};

  bool operator==(const ComponentRule&) const = default;
};

struct GatePolicy {
  std::vector<Status> block_on = {Status::kFail};
  std::vector<Status> warn_on = {Status::kWarn};
  // Default max age for every component; nullopt = snapshots never go stale.
  std::optional<Duration> max_age{};
  Status stale_status = Status::kWarn;
  // Limits on how many components may fail / warn; exceeding max_fail blocks, exceeding
  // max_warn warns (blocks when warn is in block_on). nullopt = no limit.
  std::optional<int> max_fail_components{};
  std::optional<int> max_warn_components{};
  std::map<std::string, ComponentRule> components{};

  bool operator==(const GatePolicy&) const = default;
};

struct GateReason {
  std::string code;       // slug, spec section 0.2: component_<name>_fail, ...
  std::string component;  // empty for reasons about the whole snapshot
  std::string message;

  bool operator==(const GateReason&) const = default;
};

struct GateDecision {
  enum class Decision { kPass, kWarn, kBlock };
  Decision decision = Decision::kPass;
  std::vector<GateReason> blocking_reasons;  // de-duplicated by code, first-seen order
  std::vector<GateReason> warnings;          // de-duplicated by code, first-seen order

  bool operator==(const GateDecision&) const = default;
};

// One entry of the issue catalog: an issue with the component it belongs to.
struct CatalogIssue {
  std::string component;
  core::Issue issue;

  bool operator==(const CatalogIssue&) const = default;
};

struct ReadinessSnapshot {
  Status status = Status::kOk;                // worst component status; ok when there are none
  TimePoint generated_at{};                   // the evaluation time passed to aggregate()
  std::map<Status, int> counts;               // always holds ok, warn and fail
  std::vector<ComponentSnapshot> components;  // sorted by name, after staleness escalation
  std::vector<CatalogIssue> issues;           // every issue of every component, in order
  GateDecision gate;

  bool operator==(const ReadinessSnapshot&) const = default;
};

[[nodiscard]] std::string_view to_string(GateDecision::Decision d);  // pass / warn / block
[[nodiscard]] core::Result<GateDecision::Decision> parse_decision(std::string_view word);

// Aggregates the latest snapshot of each component (if a name appears twice, the one with
// the later observed_at wins; on a tie, the later one in `latest`) and evaluates the gate:
// - staleness: now - observed_at > max_age escalates the component to its stale status and
//   adds an issue `stale_snapshot` (severity from the stale status);
// - a required component with no snapshot appears as a component with status fail, summary
//   "no snapshot received", observed_at = now, metadata {"synthetic": true} and issue
//   `missing_component`, and blocks the gate with code `required_component_missing_<name>`
//   (besides `component_<name>_fail` when fail is in its block_on).
[[nodiscard]] ReadinessSnapshot aggregate(std::span<const ComponentSnapshot> latest,
                                          const GatePolicy& policy, TimePoint now);

// The gate over an already-aggregated snapshot (aggregate() calls this; exposed for
// re-evaluating a stored snapshot under another policy).
[[nodiscard]] GateDecision evaluate_gate(const ReadinessSnapshot& snapshot,
                                         const GatePolicy& policy);

// JSON: {status, generated_at, counts{ok,warn,fail}, components[...], issues[{component,
// code, severity, message, runbook?}], gate{decision, blocking_reasons[{code, component,
// message}], warnings[...]}}.
[[nodiscard]] nlohmann::json to_json(const ReadinessSnapshot& s);
[[nodiscard]] nlohmann::json to_json(const GateDecision& g);
[[nodiscard]] core::Result<ReadinessSnapshot> readiness_from_json(const nlohmann::json& j);

// Markdown: headline, component table, issue catalog, gate section.
[[nodiscard]] std::string to_markdown(const ReadinessSnapshot& s);
// application/health+json (draft-inadarei-api-health-check): ok/warn/fail as pass/warn/fail,
// one check per component under "checks" keyed "<component>:status".
[[nodiscard]] nlohmann::json to_health_json(const ReadinessSnapshot& s, std::string_view version);

}  // namespace opsready::readiness
