#pragma once
// IncidentResponse: the `incident_response` readiness component — incident-response
// preparedness graded against a declarative policy (spec readiness-validation-incident-
// security-slo §4): runbooks, training and drill cadence, on-call rosters, open incidents,
// the postmortem backlog, ChatOps, the major-incident review cadence, MTTA/MTTR and the
// freshness of those metrics; and the spec's incident-response gate (§4.6).
//
//   auto ir = components::IncidentResponse::create({}).value();
//   ir->apply(event);   // telemetry.operational.incident_response, one document per event
//   ir->set_incident_metrics(IncidentMetrics{.mtta_minutes = 12.0, .acknowledged = 4});
//   core::ComponentSnapshot s = ir->snapshot(clock.now());
//
// Documents (docs/components.md "incident_response"; schema
// docs/schemas/incident_response.schema.json), told apart by shape:
// - a key `status` at the root: the original platform's evaluated IncidentResponseSnapshot
//   (as_dict: service, generated_at, status, missing_runbooks, ..., metadata.issue_details);
// - else any key starting with `INCIDENT_`: the env-style flat mapping (policy, state and
//   metrics keys together, INCIDENT_SERVICE_NAME, optional free-form `metadata`);
// - else the structured form {service?, policy{...}, state{..., metrics{...}}, metadata?}
//   with the spec's field names.
// Anything else, an unknown key or a value of the wrong type is refused with the path of the
// offending field. Policy thresholds are the config's; a document's policy keys override them
// only while `document_policy` is true.
//
// MTTA/MTTR: with metrics_source "incident_log" (the default), metrics handed in with
// set_incident_metrics() (opsready's own incident log) replace the document's; the kept
// document is re-evaluated at once. Without a document the component stays inactive.
//
// The status is the spec's gate status: the evaluation's status, raised to fail when the
// gate blocks (a fail issue, or a warn issue in warn_block_categories / with block_on_warn,
// which also adds a critical issue `incident_response.gate:issue_<category>_warn_blocked`).
// Not thread-safe (see component.h): apply() and set_incident_metrics() belong to the
// evaluation thread.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opsready/components/report.h"

namespace opsready::components {

inline constexpr std::string_view kIncidentResponseName = "incident_response";
inline constexpr std::string_view kIncidentResponseTopic =
    "telemetry.operational.incident_response";

struct IncidentResponseConfig {
  bool enabled = true;
  // The service named in the snapshot when the document names none.
  std::string service = "emp_incidents";
  // Whether a document's policy keys override the thresholds below.
  bool document_policy = true;
  // "incident_log": metrics from set_incident_metrics() replace the document's; "document".
  std::string metrics_source = "incident_log";
  // The window of the incident log's MTTA / MTTR (the engine's alerting::ResponseStats).
  core::Duration metrics_window = std::chrono::days(30);

  // The policy (§4.1), with the spec's defaults.
  std::vector<std::string> required_runbooks;
  std::uint32_t training_interval_days = 90;
  std::uint32_t drill_interval_days = 60;
  std::uint32_t minimum_primary_responders = 1;
  std::uint32_t minimum_secondary_responders = 1;
  double postmortem_sla_hours = 24.0;
  std::uint32_t maximum_open_incidents = 1;
  bool require_chatops = true;
  // MTTA / MTTR (minutes) and metrics staleness (hours): ≥ warn → warn, ≥ fail → fail;
  // 0 disables a level.
  double mtta_warn_minutes = 30.0;
  double mtta_fail_minutes = 60.0;
  double mttr_warn_minutes = 180.0;
  double mttr_fail_minutes = 360.0;
  double metrics_stale_warn_hours = 24.0;
  double metrics_stale_fail_hours = 48.0;
  bool require_major_incident_history = false;
  std::uint32_t major_incident_review_interval_days = 180;
  double major_incident_fail_multiplier = 2.0;  // ≥ 1

  // The gate (§4.6): warn issues of these categories (or every warn issue with
  // block_on_warn) block, as fail issues always do.
  bool block_on_warn = false;
  std::vector<std::string> warn_block_categories = {"missing_runbooks", "primary_roster",
                                                    "open_incidents",   "postmortem_backlog",
                                                    "metrics_mtta",     "metrics_mttr"};

  bool operator==(const IncidentResponseConfig&) const = default;
};

[[nodiscard]] core::Result<void> validate(const IncidentResponseConfig& config);

// MTTA/MTTR as opsready's incident log measures them (the spec's IncidentResponseMetrics).
struct IncidentMetrics {
  std::optional<double> mtta_minutes;
  std::optional<double> mttr_minutes;
  std::optional<std::uint64_t> acknowledged;  // incidents acknowledged in the window
  std::optional<std::uint64_t> resolved;      // incidents resolved in the window
  std::optional<double> sample_window_days;
  std::optional<double> data_age_hours;

  bool operator==(const IncidentMetrics&) const = default;
};

// The chaos events of the spec's incident simulation (alerts-bus-dashboard-drills-ci §5.3), as
// the `incident_chaos` drill fault applies them (docs/drills.md): each changes a copy of the
// incident-response state before it is graded.
enum class ChaosEventType {
  kPrimaryResponderOutage,      // fail: removes `responders` from the primary on-call (all)
  kSecondaryResponderOverload,  // warn: removes `responders` from the secondary on-call (all)
  kRunbookCorruption,           // fail: removes `runbooks` (else the required ones present,
                                //       else the first available)
  kChatopsFailure,              // warn: ChatOps not ready
  kMetricsStale,       // warn: data_age_hours (policy stale fail ‖ warn ‖ 48), mtta/mttr
  kIncidentSurge,      // fail: `count` (1) incidents `{prefix}-{NNN}` opened
  kPostmortemBacklog,  // warn: backlog `hours` (max(4 × SLA, 24))
  kTrainingLapse,      // warn: training and drill ages (2 × their intervals)
};
[[nodiscard]] std::string_view to_string(ChaosEventType t);  // primary_responder_outage, ...
[[nodiscard]] std::optional<ChaosEventType> parse_chaos_event_type(std::string_view word);
[[nodiscard]] core::Status default_severity(ChaosEventType t);

struct ChaosEvent {
  ChaosEventType type = ChaosEventType::kPrimaryResponderOutage;
  std::optional<core::Status> severity;  // none: default_severity(type)
  std::string description;               // empty: the type with spaces
  std::vector<std::string> responders;   // responder outage / overload (case-insensitive)
  std::vector<std::string> runbooks;     // runbook_corruption (case-insensitive)
  std::optional<std::uint32_t> count;    // incident_surge
  std::string prefix;                    // incident_surge (empty: incident_surge)
  std::optional<double> hours;           // postmortem_backlog
  std::optional<double> data_age_hours, mtta_minutes, mttr_minutes;  // metrics_stale
  std::optional<double> training_age_days, drill_age_days;           // training_lapse

  bool operator==(const ChaosEvent&) const = default;
};
// {type, severity?, description?, and each parameter that is set}.
[[nodiscard]] nlohmann::json to_json(const ChaosEvent& e);

class IncidentResponse final : public DocumentComponent {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<IncidentResponse>> create(
      const IncidentResponseConfig& config);

  [[nodiscard]] core::Result<void> apply(const core::TelemetryEvent& event) override;
  // Evaluates one document at `now` (the event time) with the current incident-log metrics.
  [[nodiscard]] core::Result<Evaluated> evaluate(const nlohmann::json& doc,
                                                 core::TimePoint now) override;

  // The incident log's metrics (nullopt: none; the document's are used). Re-evaluates the
  // latest document, if any, at its own event time.
  void set_incident_metrics(std::optional<IncidentMetrics> metrics);
  [[nodiscard]] const std::optional<IncidentMetrics>& incident_metrics() const {
    return incident_metrics_;
  }
  // The newest drill opsready ran that tested its hypothesis (drills/: verdict Pass or Fail):
  // the drill age of a structured or env-style document is then measured from it (metadata
  // drill_source "opsready_drills"); an evaluated snapshot document keeps its own grading.
  // Re-evaluates the latest document, if any.
  void set_last_drill(std::optional<core::TimePoint> at);
  [[nodiscard]] const std::optional<core::TimePoint>& last_drill() const { return last_drill_; }
  // Chaos events applied (in order, event i of n at applied_at − 5 min × (n − i)) to the state
  // of every document graded until they are cleared (an empty list); the metadata then holds
  // `chaos_events` [{sequence, applied_at, event_type, severity, description, impact}] and
  // `worst_chaos_severity`. Re-evaluates the latest document. Refused (nothing changes) when
  // there is no document, or it is an evaluated snapshot, which has no state to change.
  [[nodiscard]] core::Result<void> set_chaos(std::vector<ChaosEvent> events,
                                             core::TimePoint applied_at);
  [[nodiscard]] const std::vector<ChaosEvent>& chaos() const { return chaos_; }
  [[nodiscard]] const IncidentResponseConfig& config() const { return config_; }

 private:
  explicit IncidentResponse(const IncidentResponseConfig& config);

  IncidentResponseConfig config_;
  std::optional<IncidentMetrics> incident_metrics_;
  std::optional<core::TimePoint> last_drill_;
  std::vector<ChaosEvent> chaos_;
  core::TimePoint chaos_at_{};
  std::optional<core::TelemetryEvent> last_event_;  // the document the latest evaluation graded
};

}  // namespace opsready::components
