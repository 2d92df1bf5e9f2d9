#pragma once
// DriftSentry: the `drift_sentry` readiness component (spec supervision-drift-strategy §7).
// Watches the understanding loop's belief and regime metrics for drift with three detectors —
// the brief's Page-Hinkley over baseline + evaluation, a CUSUM of the evaluation against the
// baseline mean, and the evaluation/baseline variance ratio — plus optional out-of-distribution
// checks against training statistics; recommends freezing exploration and a size multiplier.
//
//   auto sentry = components::DriftSentry::create({.baseline_window = 12,
//                                                  .evaluation_window = 4}).value();
//   sentry->apply(event);   // telemetry.understanding.metric {series: "belief_confidence", value}
//   const components::DriftSentryReport& r = sentry->report();
//   if (r.status != detect::Grade::kNormal) act(r.recommended_size_multiplier);
//
// Consumes (docs/components.md):
// - `telemetry.understanding.metric`: a sample {series: <metric>, value}; per metric the latest
//   baseline_window + evaluation_window values are kept, oldest first;
// - `telemetry.understanding.training_reference`: {metric: <name>, values|samples|series|data?,
//   mean?, variance?, count?}, or {metrics: {<name>: <reference>, ...}}; a reference may also
//   be a bare number (a mean) or a list of values. Replaces that metric's reference.
// Training references can also come from the configuration (`training_reference`).
//
// A metric is evaluated once it holds baseline_window + evaluation_window values: the
// evaluation slice is the latest evaluation_window values, the baseline the values before them.
// Issues: one per non-normal metric, code (= alert category)
// `understanding.drift_sentry.<metric>`; the component's alert category is
// `understanding.drift_sentry`. Not thread-safe (see component.h).

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

inline constexpr std::string_view kDriftSentryName = "drift_sentry";
inline constexpr std::string_view kDriftSentryMetricTopic = "telemetry.understanding.metric";
inline constexpr std::string_view kDriftSentryTrainingTopic =
    "telemetry.understanding.training_reference";

// Training statistics of one metric. When `values` are given they win: mean, variance (sample,
// n - 1; 0 with fewer than two) and count are computed from them.
struct TrainingReference {
  std::optional<double> mean;
  std::optional<double> variance;
  std::optional<std::uint64_t> count;

  bool operator==(const TrainingReference&) const = default;
};

// Parses the spec's accepted shapes: a number (the mean), a list of numbers (samples), or a
// mapping with a list under the first of values/samples/series/data and/or mean, variance,
// count. Non-numeric list items are dropped; a reference with neither samples nor a mean is
// refused.
[[nodiscard]] core::Result<TrainingReference> training_reference_from_json(const nlohmann::json& j);

struct DriftSentryConfig {
  bool enabled = true;
  std::uint32_t baseline_window = 240;   // B ≥ 1
  std::uint32_t evaluation_window = 60;  // E ≥ 1
  std::uint32_t min_observations = 30;   // ≤ min(B, E), or no metric could ever be evaluated
  double page_hinkley_delta = 0.05;
  double page_hinkley_warn = 2.0;
  double page_hinkley_alert = 4.0;
  double cusum_drift = 0.0;
  double cusum_warn = 3.0;
  double cusum_alert = 6.0;
  double variance_ratio_warn = 1.6;
  double variance_ratio_alert = 2.4;
  double training_mean_diff_warn = 0.06;
  double training_mean_diff_alert = 0.12;
  double training_variance_ratio_warn = 1.8;
  double training_variance_ratio_alert = 3.0;
  // recommended_size_multiplier: by training-divergence severity normal / warn / alert.
  double size_multiplier = 0.5;
  double size_multiplier_training_warn = 0.35;
  double size_multiplier_training_alert = 0.2;
  std::uint32_t max_metrics = 256;  // distinct metrics tracked; more are refused
  std::map<std::string, TrainingReference> training_reference;

  bool operator==(const DriftSentryConfig&) const = default;
};

[[nodiscard]] core::Result<void> validate(const DriftSentryConfig& config);
// The spec's DriftSentryConfig.as_dict(): the 15 detector fields.
[[nodiscard]] nlohmann::json config_json(const DriftSentryConfig& config);

struct DriftMetricReading {
  std::string name;
  detect::Grade severity = detect::Grade::kNormal;
  double baseline_mean = 0.0;
  double evaluation_mean = 0.0;
  double baseline_variance = 0.0;  // sample variance; 0 with fewer than two values
  double evaluation_variance = 0.0;
  std::uint64_t baseline_count = 0;
  std::uint64_t evaluation_count = 0;
  std::optional<double> page_hinkley_stat;
  std::optional<double> cusum_stat;
  std::optional<double> variance_ratio;  // may be +inf
  std::optional<double> training_mean;
  std::optional<double> training_variance;
  std::optional<std::uint64_t> training_count;
  std::optional<double> training_mean_delta;
  std::optional<double> training_variance_ratio;
  detect::Grade training_severity = detect::Grade::kNormal;
  std::vector<std::string> detectors;  // main labels, then training labels

  bool operator==(const DriftMetricReading&) const = default;
};

struct DriftSentryReport {
  detect::Grade status = detect::Grade::kNormal;
  std::vector<DriftMetricReading> metrics;  // evaluated metrics, by name
  std::uint64_t waiting_metrics = 0;        // metrics without B + E values yet
  detect::Grade training_divergence = detect::Grade::kNormal;
  double recommended_size_multiplier = 0.5;

  bool operator==(const DriftSentryReport&) const = default;
};

// {status, metrics[...], config{...}, metadata{metric_count, runbook, severity_counts,
// detectors, triggers?, recommended_size_multiplier, training_divergence?, actions?,
// theory_packet?}, actions?} — the spec's snapshot dict (§7.3).
[[nodiscard]] nlohmann::json to_json(const DriftSentryReport& r, const DriftSentryConfig& config,
                                     core::TimePoint generated_at);
// The spec's Markdown (§7.3).
[[nodiscard]] std::string to_markdown(const DriftSentryReport& r, core::TimePoint generated_at);

class DriftSentry final : public Component {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<DriftSentry>> create(
      const DriftSentryConfig& config);

  [[nodiscard]] std::string_view name() const override { return kDriftSentryName; }
  [[nodiscard]] std::string_view alert_category() const override {
    return "understanding.drift_sentry";
  }
  [[nodiscard]] bool consumes(std::string_view topic) const override;
  [[nodiscard]] core::Result<void> apply(const core::TelemetryEvent& event) override;
  [[nodiscard]] bool active() const override { return applied_ > 0; }
  [[nodiscard]] core::ComponentSnapshot snapshot(core::TimePoint now, Detail detail) override;
  using Component::snapshot;

  [[nodiscard]] const DriftSentryReport& report();
  [[nodiscard]] std::string to_markdown() { return components::to_markdown(report(), last_event_); }
  [[nodiscard]] const DriftSentryConfig& config() const { return config_; }

 private:
  explicit DriftSentry(const DriftSentryConfig& config);
  void evaluate();
  [[nodiscard]] DriftMetricReading evaluate_metric(const std::string& name,
                                                   const std::deque<double>& values) const;

  DriftSentryConfig config_;
  std::map<std::string, std::deque<double>> series_;
  std::map<std::string, TrainingReference> training_;
  std::uint64_t applied_ = 0;
  core::TimePoint last_event_{};
  bool dirty_ = true;
  DriftSentryReport report_;
  std::optional<core::ComponentSnapshot> cached_[2];  // by Detail: full, brief
};

}  // namespace opsready::components
