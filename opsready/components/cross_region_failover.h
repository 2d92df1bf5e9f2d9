#pragma once
// CrossRegionFailover: the `cross_region_failover` readiness component — cross-region
// replication of the ingest slice (spec alerts-bus-dashboard-drills-ci §7): the replica's
// ingest records against the primary's results (lag, status, row difference), the ingest
// scheduler, and optionally the latest failover drill.
//
//   auto xr = components::CrossRegionFailover::create({}).value();
//   auto e = xr->evaluate(doc, clock.now());   // either document form, below
//   if (e) publish(e->snapshot);                // e->report: CrossRegionFailoverSnapshot.as_dict
//
// Consumes `telemetry.ingest.cross_region_failover` (the original's topic); every event carries
// one document, told apart by shape:
// - an evaluated snapshot (as_dict {status, generated_at, primary_region, replica_region,
//   components[{name, status, summary, metadata?}], metadata?}): it has `status`;
// - an input {generated_at?, primary_region?, replica_region?, primary_results{dim → result},
//   replica_records{dim → {status, rows, executed_at, symbols, ...}}, scheduler?{...},
//   failover_drill?{...}, replica_error?, metadata?}: it has primary_results, replica_records
//   or replica_error.
// Components: replica_connection (when replica_error), replica:<dim> per dimension, scheduler,
// and failover_drill when the document carries a drill; readiness = the worst of them. Issue
// codes: `cross_region_failover.<component>`, with the dimension as a ':' qualifier for
// `cross_region_failover.replica:<dim>` (alert category cross_region_failover.replica).
// Not thread-safe (see component.h).

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/components/report.h"

namespace opsready::components {

inline constexpr std::string_view kCrossRegionFailoverName = "cross_region_failover";
inline constexpr std::string_view kCrossRegionFailoverTopic =
    "telemetry.ingest.cross_region_failover";

// The original's TimescaleCrossRegionSettings (extras TIMESCALE_CROSS_REGION_*).
struct CrossRegionFailoverConfig {
  bool enabled = true;
  std::string primary_region = "primary";  // when the document names none
  std::string replica_region = "replica";
  core::Duration warn_after = std::chrono::seconds(900);   // replica lag above: warn
  core::Duration fail_after = std::chrono::seconds(1800);  // replica lag above: fail; ≥ warn_after
  double max_row_difference_ratio = 0.05;  // |primary − replica| / primary above: warn; 0..1
  std::optional<core::Duration> max_schedule_interval;  // scheduler interval above: warn
  std::vector<std::string> dimensions;  // empty: the primary's, then the replica's dimensions

  bool operator==(const CrossRegionFailoverConfig&) const = default;
};

[[nodiscard]] core::Result<void> validate(const CrossRegionFailoverConfig& config);

// One CrossRegionComponent (name: replica_connection, replica:<dim>, scheduler,
// failover_drill); empty metadata is left out of as_dict.
using RegionComponent = NamedStatus;

// The spec's CrossRegionFailoverSnapshot.
struct CrossRegionReport {
  core::Status status = core::Status::kOk;
  core::TimePoint generated_at{};
  std::string primary_region;
  std::string replica_region;
  std::vector<RegionComponent> components;
  nlohmann::json metadata = nlohmann::json::object();  // {settings, ...caller}; empty: left out
};

// as_dict: {status, generated_at, primary_region, replica_region, components, metadata?}.
[[nodiscard]] nlohmann::json to_json(const CrossRegionReport& r);
// The spec's Markdown: the `| Component | Status | Summary |` table.
[[nodiscard]] std::string to_markdown(const CrossRegionReport& r);
// One finding per component that is not ok, at its status.
[[nodiscard]] Findings region_findings(const CrossRegionReport& r);

struct CrossRegionDocument {
  bool evaluated = false;
  CrossRegionReport report;
};

// Reads (and, for an input, evaluates at its generated_at, else `now`) one cross-region
// document; `doc` carries the path its errors name.
[[nodiscard]] core::Result<CrossRegionDocument> read_cross_region_document(
    const Doc& doc, core::TimePoint now, const CrossRegionFailoverConfig& config);

class CrossRegionFailover final : public DocumentComponent {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<CrossRegionFailover>> create(
      const CrossRegionFailoverConfig& config);

  [[nodiscard]] core::Result<Evaluated> evaluate(const nlohmann::json& doc,
                                                 core::TimePoint now) override;
  [[nodiscard]] const CrossRegionFailoverConfig& config() const { return config_; }

 private:
  explicit CrossRegionFailover(const CrossRegionFailoverConfig& config);

  CrossRegionFailoverConfig config_;
};

}  // namespace opsready::components
