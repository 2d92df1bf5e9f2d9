#pragma once
// IngestSlos: the `ingest_slos` readiness component — service-level objectives of the market-data
// ingest (spec readiness-validation-incident-security-slo §5.2, plus streaming SLOs per ingest
// dimension: freshness, completeness, latency percentiles and multiwindow burn-rate alerts).
//
//   auto slos = components::IngestSlos::create({}).value();
//   slos->apply(event);   // telemetry.ingest.freshness_seconds {series: "daily_bars", value: 42}
//   const components::IngestSloReport& r = slos->report(clock.now());
//   for (const auto& rec : r.records) use(rec.name, rec.status, rec.message);
//
// Consumes (docs/components.md); in every sample `series` is the ingest dimension
// ([a-z0-9_-]+, e.g. `daily_bars`):
// - `telemetry.ingest.health`: the ingest health report {status, generated_at?, checks[...],
//   metrics?{generated_at?, dimensions[...]}} — evaluated as the spec's evaluate_ingest_slos
//   (one record per check, status ok → pass, warn → warn, anything else → fail);
// - `telemetry.ingest.freshness_seconds`: age of the newest ingested data at the event time;
//   at evaluation time the age is value + (now − event time);
// - `telemetry.ingest.completeness`: share of the expected data that arrived, in [0, 1];
// - `telemetry.ingest.latency_seconds`: one ingest latency observation (≥ 0); p50/p95/p99/max
//   over the latest latency_window observations (nearest rank);
// - `telemetry.ingest.events`: value = a count of processed items (a non-negative integer),
//   label `outcome` = `ok` (default) or `error`; feeds the burn-rate windows.
//
// Record names: `<service>` (the summary, first), `<service>.<dimension>` (health-report checks),
// `<service>.<dimension>.<slo>` with slo freshness, completeness, latency, burn_rate. Each record
// not met is an issue whose code (= alert category) is the record name; the component's alert
// category is `operational.ingest_slos`. Not thread-safe (see component.h).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "opsready/components/component.h"
#include "opsready/components/sliding_quantiles.h"
#include "opsready/detect/burn_rate.h"

namespace opsready::components {

inline constexpr std::string_view kIngestSlosName = "ingest_slos";

// Targets of one ingest dimension. Statuses: pass when met, warn ("at risk") past the target,
// fail ("breached") past the breach level.
struct IngestTargets {
  core::Duration freshness_target = std::chrono::minutes(5);    // warn when age > target
  std::optional<core::Duration> freshness_breach;               // fail when age > it; 2 × target
  double completeness_target = 0.99;                            // warn when share < target
  double completeness_breach = 0.95;                            // fail when share < breach
  core::Duration latency_target_p95 = std::chrono::seconds(5);  // warn when p95 > target
  std::optional<core::Duration> latency_breach_p95;  // fail when p95 or max > it; 1.5 × target

  bool operator==(const IngestTargets&) const = default;

  [[nodiscard]] core::Duration freshness_breach_or_default() const {
    return freshness_breach.value_or(freshness_target * 2);
  }
  [[nodiscard]] core::Duration latency_breach_or_default() const {
    return latency_breach_p95.value_or(
        std::chrono::duration_cast<core::Duration>(latency_target_p95 * 1.5));
  }
};

[[nodiscard]] core::Result<void> validate(const IngestTargets& targets);

// The spec's default alert routes (§5.2).
[[nodiscard]] std::map<std::string, std::string> default_ingest_routes();

struct IngestSlosConfig {
  bool enabled = true;
  std::string service = "timescale_ingest";         // record-name prefix ([a-z0-9_-]+)
  IngestTargets targets;                            // defaults for every dimension
  std::map<std::string, IngestTargets> dimensions;  // per-dimension targets
  std::uint32_t latency_window = 1024;  // latency observations kept per dimension; ≥ 1
  detect::BurnRateConfig burn_rate;     // objective 0.999, the SRE workbook's pairs
  // Record name → route; caller routes override these defaults, empty values are ignored.
  std::map<std::string, std::string> alert_routes = default_ingest_routes();
  std::uint32_t max_dimensions = 256;  // distinct dimensions tracked; more are refused

  bool operator==(const IngestSlosConfig&) const = default;

  [[nodiscard]] const IngestTargets& targets_for(const std::string& dimension) const;
};

[[nodiscard]] core::Result<void> validate(const IngestSlosConfig& config);

enum class SloStatus : std::uint8_t { kPass = 0, kWarn = 1, kFail = 2 };
// "pass" / "warn" / "fail" (the spec's SLO wire values).
[[nodiscard]] std::string_view to_string(SloStatus s);

// The spec's ServiceSLO.
struct SloRecord {
  std::string name;
  SloStatus status = SloStatus::kPass;
  std::string message;
  // Null until filled (kBrief evaluations leave them unset); to_json() writes {} for null.
  nlohmann::json target;
  nlohmann::json observed;
  std::string alert_route;  // empty: none
  nlohmann::json metadata;

  bool operator==(const SloRecord&) const = default;
};

struct IngestSloReport {
  SloStatus status = SloStatus::kPass;
  std::vector<SloRecord> records;            // the summary record first
  std::optional<std::string> ingest_health;  // the latest health report's status

  bool operator==(const IngestSloReport&) const = default;
};

// The spec's OperationalSLOSnapshot dict: {service, generated_at, status, slos[...], metadata}.
[[nodiscard]] nlohmann::json to_json(const IngestSloReport& r, std::string_view service,
                                     core::TimePoint generated_at);
// The spec's Markdown (§5.1).
[[nodiscard]] std::string to_markdown(const IngestSloReport& r, std::string_view service,
                                      core::TimePoint generated_at);

class IngestSlos final : public Component {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<IngestSlos>> create(
      const IngestSlosConfig& config);

  [[nodiscard]] std::string_view name() const override { return kIngestSlosName; }
  [[nodiscard]] std::string_view alert_category() const override {
    return "operational.ingest_slos";
  }
  [[nodiscard]] bool consumes(std::string_view topic) const override;
  [[nodiscard]] core::Result<void> apply(const core::TelemetryEvent& event) override;
  // The health report's shape and the samples' (not the per-dimension bounds).
  [[nodiscard]] core::Result<void> check(const core::TelemetryEvent& event) override;
  [[nodiscard]] bool active() const override { return applied_ > 0; }
  [[nodiscard]] core::ComponentSnapshot snapshot(core::TimePoint now, Detail detail) override;
  using Component::snapshot;

  // The records at `now` (freshness ages and burn-rate windows move with time).
  [[nodiscard]] IngestSloReport report(core::TimePoint now);
  [[nodiscard]] const IngestSlosConfig& config() const { return config_; }

 private:
  struct Dimension {
    std::optional<double> freshness_seconds;  // as reported
    core::TimePoint freshness_at{};
    std::optional<double> completeness;
    std::optional<SlidingQuantiles> latencies;  // latest latency_window observations
    std::optional<detect::BurnRateEvaluator> burn;
  };

  explicit IngestSlos(const IngestSlosConfig& config);
  core::Result<Dimension*> dimension(const std::string& name);
  [[nodiscard]] std::string route_for(const std::string& record,
                                      const std::string& dimension) const;
  // `details`: fill each record's target and observed (kFull snapshots, report()).
  IngestSloReport evaluate(core::TimePoint now, bool details);
  void add_dimension_records(const std::string& name, Dimension& d, core::TimePoint now,
                             bool details, std::vector<SloRecord>& out);

  IngestSlosConfig config_;
  std::map<std::string, Dimension> dimensions_;
  nlohmann::json health_;  // the latest health report payload (null: none)
  std::uint64_t applied_ = 0;
  core::TimePoint last_event_{};
};

}  // namespace opsready::components
