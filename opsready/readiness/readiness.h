#pragma once
// Readiness aggregation and the gate.
//
//   GatePolicy policy;  // block on fail, warn on warn, never stale, warn when nothing reported
//   policy.components["incident_response"] = {.max_age = std::chrono::minutes(5),
//                                             .required = true};
//   ReadinessSnapshot snap = aggregate(latest_component_snapshots, policy, clock.now());
//   if (snap.gate.decision == GateDecision::Decision::kBlock) ...
//
// aggregate() is a pure function: the same inputs give the same snapshot, byte for byte,
// once rendered. It owns nothing and is thread-safe. Every gate in opsready (CLI `gate`,
// `/api/v1/gate`, later alert derivation) uses GateDecision and GatePolicy from here.

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <unordered_set>
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
  // The gate's verdict on a snapshot with no components at all (nothing has reported and no
  // component is required), so that an empty readiness does not look healthy: kWarn adds a
  // warning, kBlock a blocking reason, both with code `no_components`; kPass adds nothing.
  // The snapshot's status stays ok.
  GateDecision::Decision empty_decision = GateDecision::Decision::kWarn;

  bool operator==(const GatePolicy&) const = default;
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
//   (besides `component_<name>_fail` when fail is in its block_on);
// - with no component at all, the gate warns or blocks with code `no_components` as
//   policy.empty_decision says (the status stays ok).
// Aggregator (aggregator.h) keeps the same result up to date one snapshot at a time.
[[nodiscard]] ReadinessSnapshot aggregate(std::span<const ComponentSnapshot> latest,
                                          const GatePolicy& policy, TimePoint now);

// The gate over an already-aggregated snapshot (aggregate() calls this; exposed for
// re-evaluating a stored snapshot under another policy). Reasons come in this order: one per
// component in name order, then `required_component_missing_<name>` in name order, then
// `max_fail_components_exceeded`, `max_warn_components_exceeded[_blocked]` and
// `no_components`; each list keeps the first reason of each code.
[[nodiscard]] GateDecision evaluate_gate(const ReadinessSnapshot& snapshot,
                                         const GatePolicy& policy);

// JSON: {status, generated_at, counts{ok,warn,fail}, components[...], issues[{component,
// code, severity, message, runbook?}], gate{decision, blocking_reasons[{code, component,
// message}], warnings[...]}}.
[[nodiscard]] nlohmann::json to_json(const ReadinessSnapshot& s);
// {"ok": n, "warn": n, "fail": n}: every status, 0 when absent.
[[nodiscard]] nlohmann::json counts_to_json(const std::map<Status, int>& counts);
[[nodiscard]] nlohmann::json to_json(const GateDecision& g);
[[nodiscard]] core::Result<ReadinessSnapshot> readiness_from_json(const nlohmann::json& j);

// Markdown: headline, component table, issue catalog, gate section.
[[nodiscard]] std::string to_markdown(const ReadinessSnapshot& s);
// application/health+json (draft-inadarei-api-health-check): ok/warn/fail as pass/warn/fail,
// one check per component under "checks" keyed "<component>:status".
[[nodiscard]] nlohmann::json to_health_json(const ReadinessSnapshot& s, std::string_view version);

// The rules above, one definition each, shared by aggregate()/evaluate_gate() and Aggregator
// so that the batch and the incremental results cannot drift apart. Not for other callers.
namespace detail {

// The component's max age: its rule's, else the policy's; nullopt = never stale.
[[nodiscard]] std::optional<Duration> max_age_for(const ComponentRule* rule,
                                                  const GatePolicy& policy);
// The message of the `stale_snapshot` issue; it names the age, so it changes with `now`.
[[nodiscard]] std::string stale_message(TimePoint observed_at, TimePoint now, Duration max_age);
// When now - observed_at > max age (equal is fresh): escalates `c` to its stale status, appends
// the `stale_snapshot` issue (last) and returns true.
bool apply_staleness(ComponentSnapshot& c, const ComponentRule* rule, const GatePolicy& policy,
                     TimePoint now);
// The synthetic component standing in for a required one that has not reported.
[[nodiscard]] ComponentSnapshot missing_component(const std::string& name, TimePoint now);
// metadata.synthetic == true: the gate counts such a required component as missing.
[[nodiscard]] bool is_synthetic(const ComponentSnapshot& c);

// What one component's status contributes to the gate under its rule.
enum class Verdict : std::uint8_t { kNone, kBlock, kWarn };
[[nodiscard]] Verdict component_verdict(Status status, const ComponentRule* rule,
                                        const GatePolicy& policy);
// The reason for a component whose verdict is kBlock or kWarn.
[[nodiscard]] GateReason component_reason(const ComponentSnapshot& c, Verdict v);

// Builds a GateDecision in evaluate_gate()'s order (see there) into `out`, replacing what it
// held but reusing its storage (Aggregator rebuilds its gate in place). Feed the components in
// name order, then the missing required ones in name order, then finish(). Reasons share a code
// only when component names slug alike; a caller that knows none do passes `distinct_codes`
// and saves the de-duplication.
class GateBuilder {
 public:
  GateBuilder(const GatePolicy& policy, GateDecision& out, bool distinct_codes = false)
      : policy_(policy), out_(out), distinct_codes_(distinct_codes) {}
  void add_component(Verdict v, const GateReason& reason);
  void add_component(Verdict v, GateReason&& reason);
  void add_required_missing(const std::string& name);
  // `failing` / `warning`: components with status fail / warn; `components`: how many in all.
  void finish(int failing, int warning, std::size_t components);

 private:
  template <typename Reason>
  void add(bool blocking, Reason&& reason);

  const GatePolicy& policy_;
  GateDecision& out_;
  bool distinct_codes_;
  std::size_t blocking_ = 0;  // reasons written so far
  std::size_t warnings_ = 0;
  std::unordered_set<std::string> seen_blocking_;
  std::unordered_set<std::string> seen_warnings_;
};

}  // namespace detail

}  // namespace opsready::readiness
