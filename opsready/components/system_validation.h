#pragma once
// SystemValidation: the `system_validation` readiness component (spec
// readiness-validation-incident-security-slo §3) — grades the report of a system completeness
// validator, keeps the recent runs for the reliability rules, and turns the spec's deploy-gate
// options into issues so that the one readiness gate decides.
//
//   auto sv = components::SystemValidation::create({}).value();
//   sv->apply(event);    // telemetry.operational.system_validation {timestamp, results, ...}
//   core::ComponentSnapshot s = sv->snapshot(clock.now());
//   // The CLI's `--history FILE`:
//   auto runs = components::SystemValidation::parse_history(file_text).value();
//   auto e = sv->evaluate_with_history(report, runs, now).value();   // e.markdown, e.report
//   // or, as the CLI does: sv->load_history(earlier_documents, now); sv->evaluate(report, now);
//
// Consumes `telemetry.operational.system_validation`, one document per event, in one of two
// forms told apart by shape (docs/components.md "system_validation"):
// - a validation report (§3.1) — no `generated_at` key: {timestamp?, results|checks (mapping
//   name → verdict, or list of {name|check, passed|status, message?, ...}), total_checks?,
//   passed_checks?, failed_checks?, success_rate?, summary{status?, message?}?, status?,
//   validator?, version?, metadata?}; graded with §3.2-3.3 and the kept history;
// - an evaluated SystemValidationSnapshot (§3.4 as_dict) — has `generated_at`: {status,
//   generated_at, total_checks, passed_checks, failed_checks, success_rate, checks[{name,
//   passed, message?, metadata?}], metadata}; its own status and issue_details stand
//   (from_evaluated), plus the check and gate issues below.
// Anything else is refused with the path of the offending field.
//
// Readiness status: the spec's status (computed from the counts, escalated by the report's
// status words and by the reliability summary; pass → ok), escalated by the issues:
// `system_validation.check:<slug(name)>` per failing check (warn, or fail when no check
// passed), `system_validation.reliability:<rule>` per reliability finding (its own severity),
// `system_validation.gate:<reason code>` per gate option that trips (fail where the spec's
// gate blocks, warn where it only warns). The status itself is not an issue: the component
// alert (`operational.system_validation`) covers it.
//
// History: every report or snapshot applied leaves one run {timestamp, status before
// reliability, success_rate} (a run with the timestamp of a kept one replaces it: the same run
// delivered again); the runs within reliability_window (at most max_history) are kept, survive
// a restart through state()/restore(), and are what the next evaluation sees.
// Not thread-safe (see component.h).

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "opsready/components/report.h"

namespace opsready::components {

inline constexpr std::string_view kSystemValidationName = "system_validation";
inline constexpr std::string_view kSystemValidationTopic =
    "telemetry.operational.system_validation";

struct SystemValidationConfig {
  bool enabled = true;
  // Reliability summary (§3.3). The window: earlier runs older than now - window are
  // forgotten (0: every kept run counts).
  core::Duration reliability_window = std::chrono::hours(72);
  // Staleness of the latest run: warn / fail when strictly older (nullopt disables a level).
  std::optional<core::Duration> reliability_stale_warn = std::chrono::hours(24);
  std::optional<core::Duration> reliability_stale_fail = std::chrono::hours(48);
  // Average success rate over the window: warn / fail when strictly below (0..1).
  double reliability_warn_success_rate = 0.95;
  double reliability_fail_success_rate = 0.85;
  // Consecutive FAIL runs (from the latest) that warn / fail; 0 disables.
  std::uint32_t reliability_warn_fail_streak = 1;
  std::uint32_t reliability_fail_fail_streak = 2;
  // Consecutive WARN runs that warn (the spec's hard-coded 2); 0 disables.
  std::uint32_t reliability_warn_warn_streak = 2;
  // A latest run dated further than this after the evaluation time is flagged (warn) and not
  // kept as history.
  core::Duration future_tolerance = std::chrono::minutes(5);
  std::uint32_t max_history = 1000;  // earlier runs kept; 1..1000000

  // Gate options (§3.6), as issues `system_validation.gate:<reason code>`.
  double min_success_rate = 0.95;            // success_rate strictly below → fail (0 disables)
  bool block_on_warn = false;                // a WARN status → fail (status_warn_blocked)
  std::vector<std::string> required_checks;  // case-insensitive; missing or failed → fail
  bool consider_reliability = false;         // reliability fail → fail; warn → warn
  bool reliability_block_on_warn = false;    // with consider_reliability: reliability warn → fail
  std::optional<core::Duration> reliability_max_stale;  // with consider_reliability

  bool operator==(const SystemValidationConfig&) const = default;
};

[[nodiscard]] core::Result<void> validate(const SystemValidationConfig& config);

// One run as the reliability rules see it (§3.2 step 3).
struct SystemValidationRun {
  core::TimePoint timestamp{};
  core::Status status = core::Status::kWarn;  // before reliability
  double success_rate = 0;                    // 0..1

  bool operator==(const SystemValidationRun&) const = default;
};

class SystemValidation final : public DocumentComponent {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<SystemValidation>> create(
      const SystemValidationConfig& config);

  // Evaluates one document against the kept history (not changing it).
  [[nodiscard]] core::Result<Evaluated> evaluate(const nlohmann::json& doc,
                                                 core::TimePoint now) override;
  // Evaluates one document against `history` instead of the kept runs, with the same rules
  // (window, max_history; runs with the same timestamp are one run, the last given wins, and
  // the document's own run replaces a run with its timestamp). Giving the runs of earlier
  // reports here and applying those reports one by one give the same result.
  [[nodiscard]] core::Result<Evaluated> evaluate_with_history(
      const nlohmann::json& doc, std::span<const SystemValidationRun> history,
      core::TimePoint now) const;

  // The run a document (report or evaluated snapshot) contributes; `now` stands in for a
  // report without a timestamp.
  [[nodiscard]] static core::Result<SystemValidationRun> run_of(const nlohmann::json& doc,
                                                                core::TimePoint now);
  // The runs of a history list: a JSON array of earlier reports, evaluated snapshots or history
  // entries {timestamp|generated_at, status, success_rate} (exactly those keys). Every item
  // needs its time; errors name "history[i]...".
  [[nodiscard]] static core::Result<std::vector<SystemValidationRun>> history_from_json(
      const nlohmann::json& items);
  // The same from the text of a `--history FILE`: a JSON array, or JSON Lines (one item per
  // non-blank line).
  [[nodiscard]] static core::Result<std::vector<SystemValidationRun>> parse_history(
      std::string_view text);

  // Replaces the kept runs with the runs of `docs` (history_from_json: earlier reports,
  // evaluated snapshots or history entries, each with its time), as `opsready evaluate
  // --history FILE` does; `now` is not used (every item carries its time).
  [[nodiscard]] core::Result<void> load_history(const std::vector<nlohmann::json>& docs,
                                                core::TimePoint now) override;
  // Replaces the kept runs: sorted, one per timestamp (the last given), at most max_history.
  void load_runs(std::span<const SystemValidationRun> runs);
  // The kept runs, oldest first.
  [[nodiscard]] const std::vector<SystemValidationRun>& history() const { return history_; }

  [[nodiscard]] core::ComponentSnapshot snapshot(core::TimePoint now, Detail detail) override;
  using Component::snapshot;

  // {"version": 1, "runs": [{timestamp, status, success_rate}]}.
  [[nodiscard]] nlohmann::json state() const override;
  [[nodiscard]] std::uint64_t state_version() const override { return state_version_; }
  [[nodiscard]] core::Result<void> restore(const nlohmann::json& state) override;

  [[nodiscard]] const SystemValidationConfig& config() const { return config_; }

 protected:
  void kept(const Evaluated& e) override;

 private:
  explicit SystemValidation(const SystemValidationConfig& config);
  // The earlier runs the rules see at `now`: of `sorted` (oldest first), those within the
  // window, at most max_history (the newest).
  [[nodiscard]] std::span<const SystemValidationRun> effective(
      std::span<const SystemValidationRun> sorted, core::TimePoint now) const;
  [[nodiscard]] core::Result<Evaluated> evaluate_sorted(const nlohmann::json& doc,
                                                        std::span<const SystemValidationRun> sorted,
                                                        core::TimePoint now,
                                                        SystemValidationRun* run) const;
  void keep(const SystemValidationRun& run, core::TimePoint now);

  SystemValidationConfig config_;
  std::vector<SystemValidationRun> history_;  // sorted by timestamp, one run per timestamp
  std::uint64_t state_version_ = 0;
  // The run and time of the latest evaluate(), recorded by kept() right after apply() made it.
  std::optional<std::pair<SystemValidationRun, core::TimePoint>> pending_;
};

}  // namespace opsready::components
