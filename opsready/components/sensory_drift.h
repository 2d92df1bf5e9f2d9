#pragma once
// SensoryDrift: the `sensory_drift` readiness component (spec supervision-drift-strategy §6).
// Grades drift per sensory dimension (WHY, WHAT, WHEN, HOW, ANOMALY, or any other the audit
// trail carries) with a delta detector, the brief's Page-Hinkley statistic and a variance
// ratio, plus a population stability index (PSI) over the core features of the audit trail.
//
//   auto drift = components::SensoryDrift::create({.lookback = 11}).value();
//   drift->apply(event);                     // telemetry.sensory.audit or telemetry.sensory.why
//   const auto& report = drift->report();    // per-dimension readings, PSI, status
//   core::ComponentSnapshot s = drift->snapshot(clock.now());
//   std::string md = drift->to_markdown();   // the spec's dimension table
//
// Consumes (docs/components.md):
// - `telemetry.sensory.audit`: one sensory audit entry
//   {symbol?, unified_score?, confidence?, dimensions: {NAME: {signal, confidence?}}, metadata?};
// - `telemetry.sensory.<dimension>` for each configured dimension (lower case, e.g.
//   `telemetry.sensory.why`): a sample {series, value, labels?}; value is the dimension's signal,
//   the optional label `confidence` its confidence. It is one audit entry with that dimension.
// Dimension names are upper-cased. Each dimension is evaluated over its own latest
// lookback + 1 signals (the latest and the history before it), so dimensions that arrive in
// separate events do not crowd each other out of the window (docs/components.md, decisions).
//
// Severity normal/warn/alert maps to ok/warn/fail. Each non-normal dimension is an issue with
// code (= alert category) `sensory.drift.<dimension lower case>`; the component's own alert
// category is `sensory.drift`. Not thread-safe (see component.h).

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "opsready/components/component.h"
#include "opsready/detect/outcome.h"

namespace opsready::components {

inline constexpr std::string_view kSensoryDriftName = "sensory_drift";
inline constexpr std::string_view kSensoryAuditTopic = "telemetry.sensory.audit";

struct SensoryDriftConfig {
  bool enabled = true;
  std::uint32_t lookback = 20;   // history signals per dimension; ≥ 1
  double warn_threshold = 0.25;  // on |current - baseline mean|, inclusive
  double alert_threshold = 0.5;
  double page_hinkley_delta = 0.01;  // δ of the brief's Page-Hinkley; finite, ≥ 0
  double page_hinkley_warn = 3.0;
  double page_hinkley_alert = 6.0;
  std::uint32_t page_hinkley_min_samples = 4;  // series length before PH is graded; ≥ 2
  std::uint32_t variance_window = 0;           // 0 = lookback (the spec's None)
  double variance_warn_ratio = 1.5;
  double variance_alert_ratio = 2.5;
  std::uint32_t min_variance_samples = 5;  // m: the variance ratio needs 2m signals; ≥ 2
  bool psi_enabled = true;
  double psi_alert = 0.25;  // PSI ≥ this is an alert (no warn level)
  // Dimensions accepted on telemetry.sensory.<dimension> sample topics.
  std::vector<std::string> dimensions = {"WHY", "WHAT", "WHEN", "HOW", "ANOMALY"};

  bool operator==(const SensoryDriftConfig&) const = default;
};

[[nodiscard]] core::Result<void> validate(const SensoryDriftConfig& config);

// One graded dimension: a sensory dimension, or a PSI feature named "psi:<feature>".
struct DimensionReading {
  std::string name;
  double current_signal = 0.0;  // for PSI dimensions: the PSI value
  detect::Grade severity = detect::Grade::kNormal;
  std::uint64_t samples = 0;
  std::optional<double> baseline_signal;
  std::optional<double> delta;
  std::optional<double> current_confidence;
  std::optional<double> baseline_confidence;
  std::optional<double> confidence_delta;
  std::optional<double> page_hinkley_stat;
  std::optional<double> variance_ratio;
  std::optional<double> psi;  // PSI dimensions only
  std::vector<std::string> detectors;

  bool operator==(const DimensionReading&) const = default;
};

struct PsiFeature {
  std::string name;
  double psi = 0.0;

  bool operator==(const PsiFeature&) const = default;
};

struct PsiSummary {
  double threshold = 0.25;
  std::vector<PsiFeature> features;  // sorted by name
  std::uint64_t baseline_samples = 0;
  std::uint64_t evaluation_samples = 0;
  double max_psi = 0.0;
  std::vector<PsiFeature> alerts;  // psi ≥ threshold, highest first

  bool operator==(const PsiSummary&) const = default;
};

struct SensoryDriftReport {
  detect::Grade status = detect::Grade::kNormal;
  std::uint64_t entries = 0;                 // audit entries applied
  std::uint64_t sample_window = 0;           // the spec's sample_window
  std::vector<DimensionReading> dimensions;  // sensory dimensions by name, then PSI features
  std::optional<PsiSummary> psi;
  nlohmann::json entry_metadata = nlohmann::json::object();  // the latest entry's `metadata`

  bool operator==(const SensoryDriftReport&) const = default;
};

// The report as the spec's snapshot dict: {status, sample_window, metadata{entries, ...,
// severity_counts, detectors, psi?}, dimensions[...]}.
[[nodiscard]] nlohmann::json to_json(const SensoryDriftReport& r);
// The spec's Markdown table (rows sorted by name) or "No sensory audit data available."
[[nodiscard]] std::string to_markdown(const SensoryDriftReport& r);

class SensoryDrift final : public Component {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<SensoryDrift>> create(
      const SensoryDriftConfig& config);

  [[nodiscard]] std::string_view name() const override { return kSensoryDriftName; }
  [[nodiscard]] std::string_view alert_category() const override { return "sensory.drift"; }
  [[nodiscard]] bool consumes(std::string_view topic) const override;
  [[nodiscard]] core::Result<void> apply(const core::TelemetryEvent& event) override;
  // The audit entry's shape (one entry, known keys).
  [[nodiscard]] core::Result<void> check(const core::TelemetryEvent& event) override;
  [[nodiscard]] bool active() const override { return entries_ > 0; }
  [[nodiscard]] core::ComponentSnapshot snapshot(core::TimePoint now, Detail detail) override;
  using Component::snapshot;

  // The evaluation of the current state (recomputed after a change).
  [[nodiscard]] const SensoryDriftReport& report();
  [[nodiscard]] std::string to_markdown() { return components::to_markdown(report()); }
  [[nodiscard]] const SensoryDriftConfig& config() const { return config_; }

 private:
  struct Signal {
    double signal = 0.0;
    std::optional<double> confidence;
  };
  // One audit entry's PSI features, by interned feature id.
  using Features = std::vector<std::pair<std::uint32_t, double>>;

  explicit SensoryDrift(const SensoryDriftConfig& config);
  void add_signal(const std::string& dimension, Signal s);
  std::uint32_t feature_id(const std::string& name);
  void evaluate();
  void evaluate_psi(SensoryDriftReport& r) const;

  SensoryDriftConfig config_;
  std::vector<std::string> topics_;  // telemetry.sensory.<dimension>
  // Per dimension, the latest lookback + 1 signals, oldest first.
  std::map<std::string, std::deque<Signal>> series_;
  // The latest entries' PSI features, newest first (at most 144 entries: 24 + 120).
  std::deque<Features> psi_entries_;
  std::vector<std::string> feature_names_;
  std::map<std::string, std::uint32_t, std::less<>> feature_ids_;
  std::uint64_t entries_ = 0;
  nlohmann::json entry_metadata_ = nlohmann::json::object();
  core::TimePoint last_event_{};
  bool dirty_ = true;
  SensoryDriftReport report_;
  std::optional<core::ComponentSnapshot> cached_[2];  // by Detail: full, brief
};

}  // namespace opsready::components
