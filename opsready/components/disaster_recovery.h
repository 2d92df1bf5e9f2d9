#pragma once
// DisasterRecovery: the `disaster_recovery` readiness component — disaster-recovery readiness
// (spec alerts-bus-dashboard-drills-ci §9) planned from a backup-readiness snapshot and a
// failover-drill snapshot: two recovery steps (Backup validation, Failover automation), each
// ready / degraded / blocked, and the worst of them.
//
//   auto dr = components::DisasterRecovery::create({}).value();
//   auto e = dr->evaluate(doc, clock.now());     // either document form, below
//   dr->apply(backups_event);                     // or follow the backups / drill topics
//
// Consumes (docs/components.md "disaster_recovery"):
// - `telemetry.operational.disaster_recovery`: one document, told apart by shape:
//   - an evaluated report (DisasterRecoveryReport.as_dict {status, generated_at, steps,
//     backup_snapshot, failover_snapshot, metadata}): it has `status`;
//   - an input {generated_at?, scenario?, backups, failover_drill, metadata?}: `backups` is a
//     backups document and `failover_drill` a failover-drill document, each in either of its
//     forms, read by the backups / failover_drill evaluators with their settings;
// - `telemetry.operational.backups` and `telemetry.operational.failover_drill` (unless
//   follow_components is off): the latest evaluation seen on each; once both have arrived, every
//   new one re-plans recovery at its event's time, so the daemon shows DR readiness without a
//   separate document. A DR document's two parts count as the latest of each as well.
//
// Readiness: ready → ok, degraded → warn, blocked → fail; the report keeps the DR words. Issue
// codes `disaster_recovery.<step slug>` (backup_validation, failover_automation), one per step
// that is not ready. The latest backups and drill evaluations are the component's state(), so a
// restart does not wait for both topics again. Not thread-safe (see component.h).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/components/backups.h"
#include "opsready/components/failover_drill.h"
#include "opsready/components/report.h"

namespace opsready::components {

inline constexpr std::string_view kDisasterRecoveryName = "disaster_recovery";
inline constexpr std::string_view kDisasterRecoveryTopic =
    "telemetry.operational.disaster_recovery";

struct DisasterRecoveryConfig {
  bool enabled = true;
  // Also plan from the latest documents on the backups and failover-drill topics.
  bool follow_components = true;

  bool operator==(const DisasterRecoveryConfig&) const = default;
};

[[nodiscard]] core::Result<void> validate(const DisasterRecoveryConfig& config);

// "ready" / "degraded" / "blocked" (DisasterRecoveryStatus) for ok / warn / fail.
[[nodiscard]] std::string_view recovery_word(core::Status s);

// One RecoveryStep.
struct RecoveryStep {
  std::string name;
  core::Status status = core::Status::kOk;
  std::string summary;
  std::vector<std::string> details;
};

// The spec's DisasterRecoveryReport.
struct DisasterRecoveryReport {
  core::Status status = core::Status::kOk;
  core::TimePoint generated_at{};
  std::vector<RecoveryStep> steps;
  BackupReadiness backup;
  FailoverDrillReport failover;
  nlohmann::json metadata = nlohmann::json::object();
};

// plan_disaster_recovery: the two steps and their worst status; metadata gains `scenario` (the
// drill's) unless it has one.
[[nodiscard]] DisasterRecoveryReport plan_disaster_recovery(const BackupReadiness& backup,
                                                            const FailoverDrillReport& failover,
                                                            core::TimePoint generated_at,
                                                            nlohmann::json metadata);
// as_dict: {status (ready/degraded/blocked), generated_at, steps[{name, status, summary,
// details}], backup_snapshot, failover_snapshot, metadata}.
[[nodiscard]] nlohmann::json to_json(const DisasterRecoveryReport& r);
// "# Disaster recovery drill", the bullets, "## Recovery steps", "## Step details",
// "## Backup readiness snapshot", "## Failover drill snapshot".
[[nodiscard]] std::string to_markdown(const DisasterRecoveryReport& r);

class DisasterRecovery final : public DocumentComponent {
 public:
  // `backups` and `failover_drill` are the settings the nested documents are read with (the
  // settings of the backups and failover_drill components, so both agree).
  [[nodiscard]] static core::Result<std::unique_ptr<DisasterRecovery>> create(
      const DisasterRecoveryConfig& config, const BackupsConfig& backups = {},
      const FailoverDrillConfig& failover_drill = {});

  [[nodiscard]] core::Result<void> apply(const core::TelemetryEvent& event) override;
  // A backups or failover-drill event is checked with its own reader (a valid backups
  // document is not a DR document).
  [[nodiscard]] core::Result<void> check(const core::TelemetryEvent& event) override;
  [[nodiscard]] core::Result<Evaluated> evaluate(const nlohmann::json& doc,
                                                 core::TimePoint now) override;

  // {backups, failover_drill}: the latest evaluation of each (as_dict), null before any.
  [[nodiscard]] nlohmann::json state() const override;
  [[nodiscard]] std::uint64_t state_version() const override { return version_; }
  [[nodiscard]] core::Result<void> restore(const nlohmann::json& state) override;

  [[nodiscard]] const DisasterRecoveryConfig& config() const { return config_; }

 private:
  DisasterRecovery(const DisasterRecoveryConfig& config, const BackupsConfig& backups,
                   const FailoverDrillConfig& failover_drill);
  // The as_dict of a backups / failover-drill event's document (evaluated at the event's time).
  [[nodiscard]] core::Result<nlohmann::json> read_part(const core::TelemetryEvent& event) const;
  // Plans from the two latest parts, when both are known.
  [[nodiscard]] core::Result<void> replan(core::TimePoint at);

  DisasterRecoveryConfig config_;
  BackupsConfig backups_config_;
  FailoverDrillConfig drill_config_;
  nlohmann::json backups_;         // latest backups evaluation (as_dict); null: none
  nlohmann::json failover_drill_;  // latest failover-drill evaluation (as_dict); null: none
  std::uint64_t version_ = 0;
};

}  // namespace opsready::components
