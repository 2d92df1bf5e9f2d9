#pragma once
// StrategyPerformance: the `strategy_performance` readiness component (spec
// supervision-drift-strategy §8): per-strategy KPIs and portfolio aggregates, the fast-weight
// enabled-vs-disabled comparison and Hebbian roll-ups, a spread-implied baseline comparator,
// the understanding loop's KPIs (regime accuracy, drift false-positive/negative rates) and the
// ROI posture (ahead / tracking / at_risk), as a dict or as Markdown.
//
//   auto perf = components::StrategyPerformance::create({.initial_capital = 100000}).value();
//   perf->apply(event);                        // telemetry.strategy.trade {strategy_id, pnl, ...}
//   nlohmann::json report = perf->report_json(clock.now());
//   std::string md = perf->to_markdown(clock.now());
//
// Consumes (docs/components.md):
// - `telemetry.strategy.trade`: {strategy_id, pnl, notional, return_pct?, timestamp?, regime?,
//   fast_weights_enabled?, metadata?, fast_weight_metrics?, fast_weight_summary?};
// - `telemetry.strategy.regime_evaluation`: {correct: bool};
// - `telemetry.strategy.drift_evaluation`: {triggered: bool, drift_present: bool}.
//
// Readiness: the ROI posture maps ahead → ok, tracking → `tracking_status` (ok), at_risk →
// `at_risk_status` (warn); a baseline-comparator alert (strategy or portfolio) →
// `baseline_alert_status` (warn). Without an initial capital the posture is not graded. Issue
// codes: `strategy_performance.roi`, `strategy_performance.strategy.<id>.baseline`,
// `strategy_performance.portfolio.baseline`; the component's alert category is
// `operational.strategy_performance`. Not thread-safe (see component.h).

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "opsready/components/component.h"
#include "opsready/detect/stats.h"

namespace opsready::components {

inline constexpr std::string_view kStrategyPerformanceName = "strategy_performance";

// RoiCostModel (spec §8.6); the defaults are the bootstrap model: target 0.20, zero costs.
struct RoiCostModel {
  double target_annual_roi = 0.20;
  double fee_flat = 0.0;          // per trade
  double fee_bps = 0.0;           // on notional
  double daily_infra_cost = 0.0;  // per day

  bool operator==(const RoiCostModel&) const = default;
};

struct StrategyPerformanceConfig {
  bool enabled = true;
  // Capital the ROI is measured against; 0 = not configured (the posture is reported without
  // a status and an info issue says so).
  double initial_capital = 0.0;
  std::optional<core::TimePoint> period_start;  // default: the first applied event's time
  RoiCostModel roi;
  std::uint32_t baseline_window = 20;        // trades compared; ≥ 1
  std::uint32_t baseline_min_trades = 5;     // ≥ 1
  double baseline_tolerance_ratio = 0.25;    // ≥ 0
  double baseline_min_gap = 0.0001;          // ≥ 0
  double baseline_default_spread_bps = 1.0;  // ≥ 0; 0 = no default baseline
  core::Status tracking_status = core::Status::kOk;
  core::Status at_risk_status = core::Status::kWarn;
  core::Status baseline_alert_status = core::Status::kWarn;
  std::uint32_t max_strategies = 1024;  // distinct strategies tracked; more are refused

  bool operator==(const StrategyPerformanceConfig&) const = default;
};

[[nodiscard]] core::Result<void> validate(const StrategyPerformanceConfig& config);

// §8.2: the baseline return a trade's metadata implies (first hit wins; pips are 1e-4, not
// the spec's 1/104), clipped to [0, 1]; `fallback` when nothing matches.
[[nodiscard]] std::optional<double> infer_baseline_return(const nlohmann::json& metadata,
                                                          std::optional<double> fallback);

enum class RoiStatus : std::uint8_t { kAhead, kTracking, kAtRisk };
[[nodiscard]] std::string_view to_string(RoiStatus s);  // ahead / tracking / at_risk

struct RoiPosture {
  RoiStatus status = RoiStatus::kAtRisk;
  double initial_capital = 0, current_equity = 0, gross_pnl = 0, net_pnl = 0;
  double infrastructure_cost = 0, fees = 0, days_active = 0;
  std::uint64_t executed_trades = 0;
  double total_notional = 0, roi = 0, annualised_roi = 0, gross_roi = 0, gross_annualised_roi = 0;
  double breakeven_daily_return = 0, target_annual_roi = 0;

  bool operator==(const RoiPosture&) const = default;
};

// evaluate_roi_posture (§8.6).
[[nodiscard]] RoiPosture evaluate_roi_posture(double initial_capital, double total_pnl,
                                              std::uint64_t trades, double total_notional,
                                              core::TimePoint period_start, core::TimePoint as_of,
                                              const RoiCostModel& model);
[[nodiscard]] nlohmann::json to_json(const RoiPosture& p, core::TimePoint generated_at);

class StrategyPerformance final : public Component {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<StrategyPerformance>> create(
      const StrategyPerformanceConfig& config);

  [[nodiscard]] std::string_view name() const override { return kStrategyPerformanceName; }
  [[nodiscard]] std::string_view alert_category() const override {
    return "operational.strategy_performance";
  }
  [[nodiscard]] bool consumes(std::string_view topic) const override;
  [[nodiscard]] core::Result<void> apply(const core::TelemetryEvent& event) override;
  [[nodiscard]] bool active() const override { return applied_ > 0; }
  [[nodiscard]] core::ComponentSnapshot snapshot(core::TimePoint now, Detail detail) override;
  using Component::snapshot;

  // The spec's report as_dict at `as_of`: {generated_at, period_start, strategies[...],
  // aggregates, loop_metrics, roi_snapshot?, metadata}.
  [[nodiscard]] nlohmann::json report_json(core::TimePoint as_of) const;
  // The spec's Markdown (§8.7).
  [[nodiscard]] std::string to_markdown(core::TimePoint as_of) const;
  [[nodiscard]] const StrategyPerformanceConfig& config() const { return config_; }

 private:
  struct Trade {
    core::TimePoint timestamp{};
    double pnl = 0;
    double notional = 0;  // |notional|
    std::optional<double> return_pct;
    std::optional<double> baseline_return;
    std::optional<double> baseline_pnl;
  };
  struct Mode {
    std::uint64_t trades = 0;
    double pnl = 0, notional = 0, returns_sum = 0;
    std::uint64_t returns = 0;
  };
  // Running means / extremes of fast-weight metrics (§8.4).
  struct FastWeightMetrics {
    std::uint64_t samples = 0;
    std::map<std::string, std::pair<double, std::uint64_t>> sums;  // key → (sum, count)
    std::optional<double> max_multiplier, min_multiplier;
    void add(const nlohmann::json& metrics);
    [[nodiscard]] nlohmann::json to_json() const;
  };
  struct Hebbian {
    std::uint64_t samples = 0;
    std::map<std::string, std::pair<double, std::uint64_t>> sums;
    double max_multiplier = 0, min_multiplier = 0, last_multiplier = 0;
  };
  struct FastWeight {
    std::map<std::string, std::uint64_t> toggles;  // enabled / disabled / unknown
    FastWeightMetrics metrics;
    std::map<std::string, Hebbian> hebbian;
    void add(std::optional<bool> enabled, const nlohmann::json* metrics,
             const nlohmann::json* summary);
    [[nodiscard]] nlohmann::json to_json() const;
  };
  struct Drawdown {
    double cum = 0, peak = 0, max = 0;
    void add(double pnl);
  };
  struct Strategy {
    std::string id;
    std::uint64_t trades = 0, wins = 0, losses = 0;
    double pnl = 0, notional = 0;
    detect::ExactSum returns_sum;
    std::uint64_t returns = 0;
    std::map<std::string, std::uint64_t> regimes;
    Mode enabled, disabled;
    FastWeight fast_weight;
    bool has_fast_weight = false;
    Drawdown drawdown;
    std::deque<Trade> window;  // the latest baseline_window trades
  };

  explicit StrategyPerformance(const StrategyPerformanceConfig& config);
  core::Result<void> apply_trade(const core::TelemetryEvent& event);
  [[nodiscard]] nlohmann::json kpi_json(const Strategy& s) const;
  // The baseline comparator over a window of trades (§8.5); none without samples.
  struct Comparator {
    std::uint64_t window_trades = 0, samples = 0, missing = 0;
    double actual_pnl = 0, baseline_pnl = 0, actual_return = 0, baseline_return = 0;
    double gap = 0, tolerance = 0;
    core::TimePoint earliest{}, latest{};
    bool alert = false;
  };
  [[nodiscard]] std::optional<Comparator> compare(const std::deque<Trade>& window) const;
  [[nodiscard]] nlohmann::json comparator_json(const Comparator& c, std::string_view scope,
                                               std::string_view id) const;
  [[nodiscard]] std::optional<RoiPosture> posture(core::TimePoint as_of) const;
  [[nodiscard]] core::TimePoint period_start() const;

  StrategyPerformanceConfig config_;
  std::optional<double> default_baseline_;
  std::vector<Strategy> strategies_;  // in order of first trade
  std::map<std::string, std::size_t, std::less<>> index_;
  // Portfolio-wide.
  std::uint64_t trades_ = 0, wins_ = 0, losses_ = 0;
  double pnl_ = 0, notional_ = 0;
  detect::ExactSum returns_sum_;
  std::uint64_t returns_ = 0;
  Drawdown drawdown_;
  std::deque<Trade> window_;
  FastWeight fast_weight_;
  bool has_fast_weight_ = false;
  std::uint64_t out_of_order_ = 0;
  core::TimePoint latest_trade_{};
  // Loop KPIs.
  std::uint64_t regime_total_ = 0, regime_correct_ = 0;
  std::map<std::string, std::uint64_t> drift_counts_;
  std::uint64_t drift_total_ = 0;

  std::uint64_t applied_ = 0;
  std::optional<core::TimePoint> first_event_;
  core::TimePoint last_event_{};
};

}  // namespace opsready::components
