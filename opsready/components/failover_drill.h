#pragma once
// FailoverDrill: the `failover_drill` readiness component — the Timescale failover drill (spec
// alerts-bus-dashboard-drills-ci §6.1–6.3): targeted ingest dimensions are emptied, ingest
// health is evaluated, the failover decision taken and the recorded fallback outcome graded.
//
//   auto drill = components::FailoverDrill::create({}).value();
//   auto e = drill->evaluate(doc, clock.now());   // either document form, below
//   if (e) publish(e->snapshot);                   // e->report: FailoverDrillSnapshot.as_dict
//
// Consumes `telemetry.operational.failover_drill` (opsready's topic: the original published
// none); every event carries one document, told apart by shape:
// - an evaluated snapshot (FailoverDrillSnapshot.as_dict): it has `status`;
// - an input {generated_at?, scenario?, plan?, results, fail_dimensions?, fallback?{executed,
//   error?}, failover_policy?, metadata?}: it has `results` (an object keyed by dimension, one
//   object with `dimension`, or a list — as the original CLI reads them).
// Dimension names daily|intraday|macro are read as daily_bars|intraday_trades|macro_events
// everywhere (plan keys, result keys, fail_dimensions, optional_dimensions).
//
// Readiness = max(failover, fallback): the health component is left out on purpose (a good
// drill empties a dimension, so health fails while the drill succeeds). Issue codes:
// `failover_drill.failover`, `failover_drill.fallback` (the component's status) and
// `failover_drill.health` (info: the simulated outage's health findings are expected).
// Not thread-safe (see component.h).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/components/report.h"

namespace opsready::components {

inline constexpr std::string_view kFailoverDrillName = "failover_drill";
inline constexpr std::string_view kFailoverDrillTopic = "telemetry.operational.failover_drill";

struct FailoverDrillConfig {
  bool enabled = true;
  std::string scenario = "timescale_failover";  // when the document names none
  // Dimensions to fail when the document lists none; empty: every result's dimension.
  std::vector<std::string> dimensions;
  // Ingest health (spec §6.1): freshness SLAs and minimum rows per dimension.
  core::Duration daily_bars_freshness_sla = std::chrono::hours(24);
  core::Duration intraday_trades_freshness_sla = std::chrono::minutes(15);
  core::Duration macro_events_freshness_sla = std::chrono::hours(24 * 7);
  std::uint32_t daily_bars_min_rows = 1;
  std::uint32_t intraday_trades_min_rows = 1;
  std::uint32_t macro_events_min_rows = 0;
  // The failover policy's defaults (a document's failover_policy overrides them).
  std::vector<std::string> trigger_statuses = {"error"};  // ingest health words: ok/warn/error
  bool require_rows = true;
  bool fail_on_missing_symbols = true;
  std::vector<std::string> optional_dimensions = {"macro_events"};

  bool operator==(const FailoverDrillConfig&) const = default;
};

[[nodiscard]] core::Result<void> validate(const FailoverDrillConfig& config);

// "daily_bars" for daily, "intraday_trades" for intraday, "macro_events" for macro; any other
// name trimmed and otherwise unchanged.
[[nodiscard]] std::string canonical_dimension(std::string_view name);

// One TimescaleIngestResult.
struct IngestResult {
  std::string dimension;
  std::int64_t rows_written = 0;
  std::vector<std::string> symbols;
  std::optional<core::TimePoint> start_ts;
  std::optional<core::TimePoint> end_ts;
  std::optional<double> ingest_duration_seconds;
  std::optional<double> freshness_seconds;
  std::optional<std::string> source;
};

// Reads `key` of `parent` as ingest results: an object keyed by dimension, one object with
// `dimension`, or a list of objects with `dimension`; rows as `rows_written` or `rows`.
// Dimension names are canonical; a dimension given twice is refused.
[[nodiscard]] core::Result<std::map<std::string, IngestResult>> read_ingest_results(
    const Doc& parent, std::string_view key);

// One component of a drill (FailoverDrillComponent: health, failover, fallback); empty metadata
// is left out of as_dict.
using DrillComponent = NamedStatus;

// The spec's FailoverDrillSnapshot.
struct FailoverDrillReport {
  core::Status status = core::Status::kOk;
  core::TimePoint generated_at{};
  std::string scenario;
  std::vector<DrillComponent> components;                       // health, failover, fallback
  nlohmann::json health_report = nlohmann::json::object();      // IngestHealthReport.as_dict
  nlohmann::json failover_decision = nlohmann::json::object();  // IngestFailoverDecision
  nlohmann::json metadata = nlohmann::json::object();
};

// as_dict: {status, generated_at, scenario, components, health_report, failover_decision,
// metadata}.
[[nodiscard]] nlohmann::json to_json(const FailoverDrillReport& r);
// The spec's to_markdown: the `| Component | Status | Summary |` table.
[[nodiscard]] std::string components_table(const FailoverDrillReport& r);
// The drill CLI's Markdown: "# Timescale Failover Drill (<scenario>)", Status, Generated at,
// Requested dimensions, "## Components" and the table.
[[nodiscard]] std::string to_markdown(const FailoverDrillReport& r);
// The findings of a drill: failover / fallback at their status, non-ok health checks as info.
[[nodiscard]] Findings drill_findings(const FailoverDrillReport& r);

// What one failover-drill document says.
struct FailoverDrillDocument {
  bool evaluated = false;  // an evaluated snapshot, as opposed to a drill run here
  FailoverDrillReport report;
};

// Reads (and, for an input, runs at `now` unless the document has its own generated_at) one
// failover-drill document; `doc` carries the path its errors name.
[[nodiscard]] core::Result<FailoverDrillDocument> read_failover_drill_document(
    const Doc& doc, core::TimePoint now, const FailoverDrillConfig& config);

class FailoverDrill final : public DocumentComponent {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<FailoverDrill>> create(
      const FailoverDrillConfig& config);

  [[nodiscard]] core::Result<Evaluated> evaluate(const nlohmann::json& doc,
                                                 core::TimePoint now) override;
  [[nodiscard]] const FailoverDrillConfig& config() const { return config_; }

 private:
  explicit FailoverDrill(const FailoverDrillConfig& config);

  FailoverDrillConfig config_;
};

}  // namespace opsready::components
