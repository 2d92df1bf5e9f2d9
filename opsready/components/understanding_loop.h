#pragma once
// UnderstandingLoop: the `understanding_loop` readiness component — the understanding loop's
// diagnostics (spec supervision-drift-strategy §9: regime, decision, ledger approvals, drift
// exceedances) and its SLO probes (spec readiness-validation-incident-security-slo §5.3: loop
// latency, drift-alert freshness, replay determinism).
//
//   auto loop = components::UnderstandingLoop::create({}).value();
//   loop->apply(event);   // telemetry.understanding.diagnostics {status, regime_state, ...}
//   core::ComponentSnapshot s = loop->snapshot(clock.now());
//
// Consumes (docs/components.md):
// - `telemetry.understanding.diagnostics`: an UnderstandingLoopSnapshot {status (ok/warn/fail),
//   regime_state{regime, confidence (0..1)}, decision{tactic_id, selected_weight,
//   experiments_applied[]}, ledger_diff{approvals[]}, drift_summary{exceeded[]}, ...}; the
//   latest one replaces the previous;
// - `telemetry.understanding.latency_seconds`: a sample, series = the loop, value = one loop
//   latency (s); p95 and max over the latest latency_window observations (nearest rank);
// - `telemetry.understanding.drift_alert`: a sample, series = the alert, value = alerts sent;
//   its time is the time of the latest drift alert;
// - `telemetry.understanding.replay_drift`: a sample, series = the probe, value = the drift
//   score; labels `checksum_match` (true/false; absent = unknown) and `mismatched_fields`
//   (comma-separated).
//
// Readiness: the diagnostics status (fail → fail, warn → warn, anything else → ok) escalated by
// every probe (pass/warn/fail). Without diagnostics (and require_diagnostics) the component
// warns "Understanding diagnostics unavailable". Issue codes: `understanding_loop.diagnostics`,
// `understanding_loop.latency.<loop>`, `understanding_loop.drift_alert.<alert>`,
// `understanding_loop.replay.<probe>`; the component's alert category is `understanding.loop`.
// Not thread-safe (see component.h).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "opsready/components/component.h"
#include "opsready/components/sliding_quantiles.h"

namespace opsready::components {

inline constexpr std::string_view kUnderstandingLoopName = "understanding_loop";

struct UnderstandingLoopConfig {
  bool enabled = true;
  bool require_diagnostics = true;  // warn while no diagnostics snapshot has arrived
  // Latency probe: warn when p95 > target; fail when p95 or max > breach (1.5 × target).
  core::Duration latency_target_p95 = std::chrono::milliseconds(1500);
  std::optional<core::Duration> latency_breach_p95;
  std::uint32_t latency_window = 1024;  // observations kept per loop; ≥ 1
  // Drift-alert freshness: pass while the latest alert is at most warn_after old, warn up to
  // fail_after, fail beyond (and fail while an expected alert has never been seen).
  core::Duration drift_alert_warn_after = std::chrono::seconds(200);
  core::Duration drift_alert_fail_after = std::chrono::seconds(600);
  std::vector<std::string> expected_drift_alerts;  // probes that exist before their first alert
  // Replay determinism: warn when the drift score > replay_warn, fail when > replay_fail.
  double replay_warn = 0.05;
  double replay_fail = 0.1;
  std::uint32_t max_probes = 256;  // distinct loops/alerts/probes tracked; more are refused

  bool operator==(const UnderstandingLoopConfig&) const = default;
};

[[nodiscard]] core::Result<void> validate(const UnderstandingLoopConfig& config);

class UnderstandingLoop final : public Component {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<UnderstandingLoop>> create(
      const UnderstandingLoopConfig& config);

  [[nodiscard]] std::string_view name() const override { return kUnderstandingLoopName; }
  [[nodiscard]] std::string_view alert_category() const override { return "understanding.loop"; }
  [[nodiscard]] bool consumes(std::string_view topic) const override;
  [[nodiscard]] core::Result<void> apply(const core::TelemetryEvent& event) override;
  [[nodiscard]] bool active() const override { return applied_ > 0; }
  [[nodiscard]] core::ComponentSnapshot snapshot(core::TimePoint now, Detail detail) override;
  using Component::snapshot;
  [[nodiscard]] const UnderstandingLoopConfig& config() const { return config_; }

 private:
  struct Replay {
    double drift = 0;
    std::optional<bool> checksum_match;
    std::vector<std::string> mismatched_fields;
  };
  struct AlertSeen {
    std::optional<core::TimePoint> last;
    double sent = 0;
  };

  explicit UnderstandingLoop(const UnderstandingLoopConfig& config);
  [[nodiscard]] bool room_for(std::size_t current_size) const;

  UnderstandingLoopConfig config_;
  nlohmann::json diagnostics_;  // null: none yet
  std::map<std::string, SlidingQuantiles> latencies_;
  std::map<std::string, AlertSeen> alerts_;
  std::map<std::string, Replay> replays_;
  std::uint64_t applied_ = 0;
  core::TimePoint last_event_{};
};

}  // namespace opsready::components
