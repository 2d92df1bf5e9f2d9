#pragma once
// ProfessionalReadiness: the `professional_readiness` readiness component — the higher-tier
// roll-up of the data backbone, backups, ingest SLOs, the operational readiness aggregate, the
// ingest failover decision and the recovery plan (spec readiness-validation-incident-security-slo
// §8). It owns the topic `telemetry.operational.readiness` (spec §2: that topic carries the
// professional feed; the aggregate of §7 is `telemetry.operational.operational_readiness`).
//
//   // In the engine, from live snapshots (a pure function, no state):
//   components::ProfessionalInputs in;
//   in.ingest_slos = components::feeder_of(ingest_slos_snapshot, slo_count);
//   in.backups = components::feeder_of(backups_snapshot);
//   in.failover = components::failover_of(failover_drill_snapshot);
//   auto p = components::evaluate_professional_readiness(in, clock.now());
//   components::Evaluated e = components::to_evaluated(p);   // snapshot, as_dict, Markdown
//
//   // As a component fed by documents (telemetry.operational.readiness):
//   auto c = components::ProfessionalReadiness::create({}).value();
//   c->apply(event);   // an input document or an evaluated ProfessionalReadinessSnapshot
//
// The two document forms (docs/components.md, docs/schemas/professional_readiness.schema.json):
// - evaluated: the original's ProfessionalReadinessSnapshot.as_dict {status, generated_at,
//   components[{name, status, summary, metadata}], metadata};
// - input: {data_backbone?, backups?, ingest_slos?, operational_readiness?, failover?,
//   recovery?, metadata?}, each key the feeder's own document, evaluated with §8's rules.
// A document with a top-level `status` is an evaluated snapshot; any other is an input.
//
// Issues: one per component that is not ok, code `professional_readiness.<component>` with the
// component's own status as severity. Not thread-safe; the evaluator functions are pure.

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/components/report.h"

namespace opsready::components {

inline constexpr std::string_view kProfessionalReadinessName = "professional_readiness";

struct ProfessionalReadinessConfig {
  bool enabled = true;
  // The issue_counts roll-up: a component that is not ok and carries no structured counts
  // (neither its own issue_counts nor its snapshot's) counts once under its status (the fix of
  // spec §11.2 item 5). false: the original's rule (structured counts only).
  bool count_components_without_counts = true;
  // Roll up opsready's own backups, ingest_slos, failover_drill and disaster_recovery
  // snapshots when no document arrives on the topic (observe()). Off by default: the roll-up's
  // status and issues repeat those components', so its alerts and gate reasons would double
  // theirs; turn it on where the professional view matters more than one alert per finding.
  bool live_rollup = false;

  bool operator==(const ProfessionalReadinessConfig&) const = default;
};

[[nodiscard]] core::Result<void> validate(const ProfessionalReadinessConfig& config);

// One feeder snapshot as professional readiness reads it (data backbone, backups, ingest SLOs,
// operational readiness): a core::ComponentSnapshot-like view.
struct FeederSnapshot {
  core::Status status = core::Status::kOk;
  std::string summary;
  std::optional<core::TimePoint> observed_at;  // none: contributes no timestamp
  // The feeder's own metadata. operational_readiness: status_breakdown, component_statuses,
  // issue_counts and component_issue_details are copied into the component's metadata (§8).
  nlohmann::json metadata = nlohmann::json::object();
  std::size_t count = 0;  // components (backbone, operational readiness) or SLOs (ingest SLOs)
  std::string service;    // backups: the summary's service ("timescale_backups")
  // What the component's metadata.snapshot carries (the feeder's as_dict); null: {status,
  // summary, generated_at?, metadata} built from the fields above. The issue_counts roll-up
  // reads snapshot.metadata.issue_counts of a component without counts of its own.
  nlohmann::json snapshot;

  bool operator==(const FeederSnapshot&) const = default;
};

// The ingest failover decision (§8 `failover`).
struct FailoverDecision {
  bool should_failover = false;
  std::string reason;  // empty: "failover triggered"
  std::vector<std::string> optional_triggers;
  std::optional<core::TimePoint> generated_at;
  nlohmann::json decision;  // the component's metadata (the decision dict); null: built

  bool operator==(const FailoverDecision&) const = default;
};

// The recovery recommendation (§8 `recovery`); contributes no timestamp.
struct RecoveryPlan {
  nlohmann::json plan = nlohmann::json::array();  // the planned actions (strings or objects)
  std::vector<std::string> reasons;
  std::vector<std::string> missing_symbols;

  bool operator==(const RecoveryPlan&) const = default;
};

// Every input is optional; a component appears only when its input is given.
struct ProfessionalInputs {
  std::optional<FeederSnapshot> data_backbone;
  std::optional<FeederSnapshot> backups;
  std::optional<FeederSnapshot> ingest_slos;
  std::optional<FeederSnapshot> operational_readiness;
  std::optional<FailoverDecision> failover;
  std::optional<RecoveryPlan> recovery;
  nlohmann::json metadata = nlohmann::json::object();  // caller metadata, merged last

  bool operator==(const ProfessionalInputs&) const = default;
};

struct ProfessionalComponent {
  std::string name;
  core::Status status = core::Status::kOk;
  std::string summary;
  nlohmann::json metadata = nlohmann::json::object();

  bool operator==(const ProfessionalComponent&) const = default;
};

// The spec's ProfessionalReadinessSnapshot.
struct ProfessionalReadinessSnapshot {
  core::Status status = core::Status::kOk;
  core::TimePoint generated_at{};
  std::vector<ProfessionalComponent> components;  // data_backbone, backups, ... in §8's order
  nlohmann::json metadata = nlohmann::json::object();

  bool operator==(const ProfessionalReadinessSnapshot&) const = default;
};

// A feeder view of one of opsready's own component snapshots: status, summary, observed_at and
// metadata as they are; `count` as given (the caller knows what it counts); service =
// metadata.service when a string, else the component name; snapshot = core::to_json(s). When
// the snapshot's metadata has no issue_counts, its issues are counted by severity (warning →
// warn, critical → fail) into metadata.issue_counts.
[[nodiscard]] FeederSnapshot feeder_of(const core::ComponentSnapshot& s, std::size_t count = 0);
// The failover decision a failover-drill snapshot implies: should_failover when it fails
// (reason = its summary), its warning issues as optional triggers; generated_at = observed_at.
[[nodiscard]] FailoverDecision failover_of(const core::ComponentSnapshot& drill);
// The recovery plan a disaster-recovery snapshot implies: one planned action per warning or
// critical issue (its message), the summary as the reason when not ok.
[[nodiscard]] RecoveryPlan recovery_of(const core::ComponentSnapshot& recovery);

// §8: the components in order, their statuses, summaries and metadata; status = the worst
// (ok when none); generated_at = the latest feeder timestamp, else `now`; metadata
// component_count, status_breakdown, component_statuses, issue_counts, component_issue_details,
// then the caller's metadata (which overrides).
[[nodiscard]] ProfessionalReadinessSnapshot evaluate_professional_readiness(
    const ProfessionalInputs& inputs, core::TimePoint now,
    const ProfessionalReadinessConfig& config = {});

// The spec's as_dict: {status, generated_at, components[{name, status, summary, metadata}],
// metadata}.
[[nodiscard]] nlohmann::json to_json(const ProfessionalReadinessSnapshot& p);
// The spec's Markdown: `| Component | Status | Summary |` with UPPERCASE status, then a blank
// line, `Metadata:` and sorted `- **key**: value` lines (strings as they are, other values as
// compact JSON); no title. Without components: the header, the separator and a newline.
[[nodiscard]] std::string to_markdown(const ProfessionalReadinessSnapshot& p);
// The component snapshot (status, summary, one issue per component not ok, metadata = the
// spec's metadata), the as_dict and the Markdown.
[[nodiscard]] Evaluated to_evaluated(const ProfessionalReadinessSnapshot& p);

// Reads an input document into ProfessionalInputs (refusing unknown keys with their path).
[[nodiscard]] core::Result<ProfessionalInputs> professional_inputs_from_json(
    const nlohmann::json& doc);

class ProfessionalReadiness final : public DocumentComponent {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<ProfessionalReadiness>> create(
      const ProfessionalReadinessConfig& config);

  // An evaluated snapshot (top-level `status`) or an input document (see above).
  [[nodiscard]] core::Result<Evaluated> evaluate(const nlohmann::json& doc,
                                                 core::TimePoint now) override;
  [[nodiscard]] const ProfessionalReadinessConfig& config() const { return config_; }

  // Live mode (config live_rollup): the roll-up of opsready's own backups, ingest_slos,
  // failover_drill (the failover decision) and disaster_recovery (the recovery plan) snapshots,
  // taken in the same round. The operational readiness aggregate (and the data backbone, which
  // opsready does not evaluate) are left out here: professional_readiness is itself one of the
  // aggregate's components. A document on telemetry.operational.readiness (the runtime's own
  // professional feed) takes precedence.
  void observe(std::span<const core::ComponentSnapshot> earlier) override;
  [[nodiscard]] bool active() const override { return latest() != nullptr || live_.has_value(); }
  [[nodiscard]] core::ComponentSnapshot snapshot(core::TimePoint now, Detail detail) override;
  using Component::snapshot;

 private:
  explicit ProfessionalReadiness(const ProfessionalReadinessConfig& config);
  ProfessionalReadinessConfig config_;
  std::string live_key_;                         // what the live snapshot was built from
  std::optional<core::ComponentSnapshot> live_;  // none: no feeder has reported
};

}  // namespace opsready::components
