#pragma once
// Backups: the `backups` readiness component — backup readiness (spec
// alerts-bus-dashboard-drills-ci §8): a backup policy and the observed backup state graded
// into a BackupReadinessSnapshot.
//
//   auto backups = components::Backups::create({}).value();
//   auto e = backups->evaluate(doc, clock.now());   // either document form, below
//   if (e) publish(e->snapshot);                     // e->report: the spec's as_dict
//
// Consumes `telemetry.operational.backups`; every event carries one document, in one of three
// forms (docs/components.md "backups"), told apart by shape:
// - an evaluated snapshot (the original's BackupReadinessSnapshot.as_dict): it has `status`;
// - an environment-style mapping: it has a key starting with `TIMESCALE_BACKUP_` (the
//   original's extras, e.g. TIMESCALE_BACKUP_FREQUENCY_SECONDS, TIMESCALE_BACKUP_LAST_SUCCESS);
// - an input {service?, generated_at?, policy?{...}, state?{...}, metadata?}: it has `policy`
//   or `state`.
// Anything else is refused. An input is evaluated at its `generated_at` (else the event time)
// with the spec's checks, in order: disabled, retention, last backup status, no backup, backup
// age (warn after 1.5 ×, fail after 2.5 × the expected frequency unless the policy sets
// warn_after_seconds / fail_after_seconds), recorded failures, restore-test age (warn after
// 1 ×, fail after 2 × the interval) and restore status. Issue codes are `backups.<category>`.
// Not thread-safe (see component.h).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/components/report.h"

namespace opsready::components {

inline constexpr std::string_view kBackupsName = "backups";
inline constexpr std::string_view kBackupsTopic = "telemetry.operational.backups";

// Defaults of the backup policy where a document leaves a field out (the original's
// BackupPolicy defaults), and the multipliers the spec fixes.
struct BackupsConfig {
  bool enabled = true;
  std::string service = "timescale_backups";                   // when the document names none
  core::Duration expected_frequency = std::chrono::hours(24);  // policy default; floored at 1 s
  double warn_after_factor = 1.5;  // backup age warn threshold = factor × frequency
  double fail_after_factor = 2.5;  // backup age fail threshold = factor × frequency
  std::uint32_t retention_days = 7;
  std::uint32_t minimum_retention_days = 7;
  std::uint32_t restore_test_interval_days = 30;  // 0: no restore-test checks
  double restore_warn_factor = 1.0;               // restore-test age warn = factor × interval
  double restore_fail_factor = 2.0;               // restore-test age fail = factor × interval

  bool operator==(const BackupsConfig&) const = default;
};

[[nodiscard]] core::Result<void> validate(const BackupsConfig& config);

// The spec's BackupReadinessSnapshot.
struct BackupReadiness {
  std::string service;
  core::TimePoint generated_at{};
  core::Status status = core::Status::kOk;
  std::optional<core::TimePoint> latest_backup_at;
  std::optional<core::TimePoint> next_backup_due_at;
  std::int64_t retention_days = 0;
  std::vector<std::string> issues;  // de-duplicated, in check order
  // {policy{...}, state{...}, context?} and, once evaluated here, the issue catalog
  // (issue_details, ...).
  nlohmann::json metadata = nlohmann::json::object();
};

// The spec's as_dict: {service, generated_at, status, retention_days, issues, metadata,
// latest_backup_at?, next_backup_due_at?}.
[[nodiscard]] nlohmann::json to_json(const BackupReadiness& r);
// The spec's Markdown ("**Backup readiness – <service>**", Status, Generated, ...).
[[nodiscard]] std::string to_markdown(const BackupReadiness& r);

// What one backups document says.
struct BackupDocument {
  enum class Form : std::uint8_t { kInput, kEnvironment, kEvaluated };
  Form form = Form::kInput;
  BackupReadiness readiness;
  // The input forms' findings with their categories; empty for an evaluated snapshot (its
  // issues are read by Backups::evaluate from metadata.issue_details or its messages).
  Findings findings{std::string(kBackupsName)};
};

// Reads (and, for the input forms, evaluates at `now` unless the document has its own
// generated_at) one backups document; `doc` carries the path its errors name.
[[nodiscard]] core::Result<BackupDocument> read_backup_document(const Doc& doc, core::TimePoint now,
                                                                const BackupsConfig& config);

class Backups final : public DocumentComponent {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<Backups>> create(const BackupsConfig& config);

  [[nodiscard]] core::Result<Evaluated> evaluate(const nlohmann::json& doc,
                                                 core::TimePoint now) override;
  [[nodiscard]] const BackupsConfig& config() const { return config_; }

 private:
  explicit Backups(const BackupsConfig& config);

  BackupsConfig config_;
};

}  // namespace opsready::components
