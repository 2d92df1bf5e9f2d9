#include "opsready/components/strategy_performance.h"

#include <gtest/gtest.h>

#include <vector>

#include "opsready/core/time.h"

namespace opsready::components {
namespace {

using nlohmann::json;
using std::chrono::minutes;
using std::chrono::seconds;

const core::TimePoint kT0 = core::parse_rfc3339("2025-01-02T00:00:00Z").value();

core::TelemetryEvent trade(json payload, core::TimePoint t) {
  return {.topic = "telemetry.strategy.trade", .time = t, .payload = std::move(payload)};
}

json find_strategy(const json& report, std::string_view id) {
  for (const auto& s : report["strategies"]) {
    if (s["strategy_id"] == id) return s;
  }
  ADD_FAILURE() << "no strategy " << id;
  return {};
}

std::unique_ptr<StrategyPerformance> kpi_fixture() {
  auto perf = StrategyPerformance::create({.initial_capital = 100000}).value();
  EXPECT_TRUE(perf->apply(trade({{"strategy_id", "alpha"},
                                 {"pnl", 500.0},
                                 {"notional", 10000.0},
                                 {"fast_weights_enabled", true}},
                                kT0))
                  .has_value());
  EXPECT_TRUE(perf->apply(trade({{"strategy_id", "alpha"},
                                 {"pnl", -200.0},
                                 {"notional", 8000.0},
                                 {"fast_weights_enabled", false}},
                                kT0 + minutes(1)))
                  .has_value());
  EXPECT_TRUE(perf->apply(trade({{"strategy_id", "beta"}, {"pnl", 300.0}, {"notional", 5000.0}},
                                kT0 + minutes(2)))
                  .has_value());
  return perf;
}

// §8.8 per-strategy KPIs, drawdown and ROI posture.
TEST(StrategyPerformance, PerStrategyKpis) {
  auto perf = kpi_fixture();
  const json r = perf->report_json(kT0 + minutes(5));
  const json alpha = find_strategy(r, "alpha");
  EXPECT_EQ(alpha["trades"], 2);
  EXPECT_EQ(alpha["wins"], 1);
  EXPECT_EQ(alpha["losses"], 1);
  EXPECT_EQ(alpha["total_pnl"], 300.0);
  EXPECT_DOUBLE_EQ(alpha["fast_weight_breakdown"]["roi_uplift"].get<double>(), 0.075);
  EXPECT_EQ(alpha["fast_weight_breakdown"]["enabled"]["trades"], 1);
  EXPECT_EQ(alpha["max_drawdown"], 200.0);
  EXPECT_DOUBLE_EQ(alpha["max_drawdown_pct"].get<double>(), 200.0 / 18000.0);
  EXPECT_EQ(r["strategies"][0]["strategy_id"], "alpha");  // order of first trade
  const json& agg = r["aggregates"];
  EXPECT_EQ(agg["trades"], 3);
  EXPECT_EQ(agg["wins"], 2);
  EXPECT_EQ(agg["losses"], 1);
  EXPECT_EQ(agg["total_pnl"], 600.0);
  EXPECT_DOUBLE_EQ(agg["roi"].get<double>(), 600.0 / 23000.0);
  EXPECT_DOUBLE_EQ(agg["metadata"]["fast_weight_roi_uplift_mean"].get<double>(), 0.075);
  const json& roi = r["roi_snapshot"];
  EXPECT_DOUBLE_EQ(roi["days_active"].get<double>(), 1.0 / 24.0);
  EXPECT_DOUBLE_EQ(roi["roi"].get<double>(), 0.006);
  EXPECT_NEAR(roi["annualised_roi"].get<double>(), 52.596, 1e-9);
  EXPECT_EQ(roi["status"], "ahead");

  const auto s = perf->snapshot(kT0 + minutes(5));
  EXPECT_EQ(s.status, core::Status::kOk);
  EXPECT_EQ(s.summary,
            "ROI ahead: annualised 5259.60% vs target 20.00%; 3 trades across 2 strategies, PnL "
            "600.00");
  EXPECT_TRUE(s.issues.empty());
  EXPECT_EQ(s.observed_at, kT0 + minutes(2));
}

TEST(StrategyPerformance, Markdown) {
  auto perf = kpi_fixture();
  EXPECT_EQ(perf->to_markdown(kT0 + minutes(5)),
            "**Strategy KPIs** — generated at 2025-01-02T00:05:00Z\n"
            "\n"
            "| Strategy | Trades | Win rate | ROI | PnL | Max drawdown |\n"
            "| --- | ---: | ---: | ---: | ---: | ---: |\n"
            "| alpha | 2 | 50.0% | 1.67% | 300.00 | 200.00 (1.11%) |\n"
            "| beta | 1 | 100.0% | 6.00% | 300.00 | 0.00 (0.00%) |\n"
            "\n"
            "**Portfolio totals**\n"
            "- Trades: 3 (wins: 2, losses: 1)\n"
            "- ROI: 2.61% | Win rate: 66.67%\n"
            "- PnL: 600.00 | Max drawdown: 200.00\n"
            "\n"
            "**ROI posture**\n"
            "- Status: ahead | ROI: 0.60% | Annualised: 5259.60%\n"
            "- Net PnL: 600.00 | Trades: 3\n");
}

// §8.8 fast-weight and Hebbian roll-ups, per strategy and mirrored in the aggregates.
TEST(StrategyPerformance, FastWeightAndHebbian) {
  auto perf = StrategyPerformance::create({}).value();
  ASSERT_TRUE(perf->apply(trade({{"strategy_id", "alpha"},
                                 {"pnl", 10.0},
                                 {"notional", 1000.0},
                                 {"fast_weights_enabled", true},
                                 {"fast_weight_metrics",
                                  {{"active", 1},
                                   {"sparsity", 0.65},
                                   {"active_percentage", 30},
                                   {"max_multiplier", 1.6},
                                   {"min_multiplier", 0.8}}},
                                 {"fast_weight_summary",
                                  {{"momentum_boost",
                                    {{"current_multiplier", 1.45},
                                     {"previous_multiplier", 1.5},
                                     {"feature_value", 0.8}}},
                                   {"mean_reversion_guard", {{"current_multiplier", 0.95}}},
                                   {"ignored", {{"feature_value", 1.0}}}}}},
                                kT0))
                  .has_value());
  ASSERT_TRUE(perf->apply(trade({{"strategy_id", "alpha"},
                                 {"pnl", -5.0},
                                 {"notional", 1000.0},
                                 {"fast_weights_enabled", false},
                                 {"fast_weight_metrics",
                                  {{"active", "2"},
                                   {"sparsity", 0.7},
                                   {"active_percentage", 35},
                                   {"max_multiplier", 1.2},
                                   {"min_multiplier", 0.7}}},
                                 {"fast_weight_summary",
                                  {{"adapters",
                                    {{"momentum_boost",
                                      {{"current_multiplier", 1.4},
                                       {"previous_multiplier", 1.4},
                                       {"feature_value", 0.9}}}}}}}},
                                kT0 + seconds(1)))
                  .has_value());
  const json r = perf->report_json(kT0 + minutes(1));
  for (const json& fw : {find_strategy(r, "alpha")["metadata"]["fast_weight"],
                         r["aggregates"]["metadata"]["fast_weight"]}) {
    EXPECT_EQ(fw["toggle_counts"], (json{{"disabled", 1}, {"enabled", 1}}));
    const json& m = fw["metrics"];
    EXPECT_EQ(m["samples"], 2);
    EXPECT_DOUBLE_EQ(m["active_mean"].get<double>(), 1.5);
    EXPECT_DOUBLE_EQ(m["sparsity_mean"].get<double>(), 0.675);
    EXPECT_DOUBLE_EQ(m["active_percentage_mean"].get<double>(), 32.5);
    EXPECT_EQ(m["max_multiplier"], 1.6);
    EXPECT_EQ(m["min_multiplier"], 0.7);
    const json& mb = fw["hebbian_adapters"]["momentum_boost"];
    EXPECT_EQ(mb["samples"], 2);
    EXPECT_DOUBLE_EQ(mb["current_multiplier_mean"].get<double>(), 1.425);
    EXPECT_NEAR(mb["delta_mean"].get<double>(), -0.025, 1e-15);  // (1.45 - 1.5 + 0) / 2
    EXPECT_DOUBLE_EQ(mb["feature_value_mean"].get<double>(), 0.85);
    EXPECT_EQ(mb["last_multiplier"], 1.4);
    const json& mr = fw["hebbian_adapters"]["mean_reversion_guard"];
    EXPECT_EQ(mr["samples"], 1);
    EXPECT_EQ(mr["current_multiplier_mean"], 0.95);
    EXPECT_FALSE(fw["hebbian_adapters"].contains("ignored"));  // no current_multiplier
  }
}

// §8.8 loop metrics; the Markdown shows the loop section whenever drift evaluations exist,
// even without regime evaluations (the spec hides it then: [Q], fixed).
TEST(StrategyPerformance, LoopMetrics) {
  auto perf = StrategyPerformance::create({}).value();
  const auto drift = [&](bool triggered, bool present) {
    ASSERT_TRUE(perf->apply({.topic = "telemetry.strategy.drift_evaluation",
                             .time = kT0,
                             .payload = {{"triggered", triggered}, {"drift_present", present}}})
                    .has_value());
  };
  drift(true, false);   // false positive
  drift(false, true);   // false negative
  drift(false, false);  // true negative
  EXPECT_NE(perf->to_markdown(kT0).find("**Understanding loop KPIs**\n"
                                        "- Drift false-positive rate: 50.00%\n"
                                        "- Drift false-negative rate: 100.00%\n"),
            std::string::npos);
  for (bool correct : {true, false}) {
    ASSERT_TRUE(perf->apply({.topic = "telemetry.strategy.regime_evaluation",
                             .time = kT0,
                             .payload = {{"correct", correct}}})
                    .has_value());
  }
  const json loop = perf->report_json(kT0)["loop_metrics"];
  EXPECT_EQ(loop["regime_accuracy"], 0.5);
  EXPECT_EQ(loop["total_regime_evaluations"], 2);
  EXPECT_EQ(loop["drift_false_positive_rate"], 0.5);
  EXPECT_EQ(loop["drift_false_negative_rate"], 1.0);
  EXPECT_EQ(loop["total_drift_evaluations"], 3);
  EXPECT_EQ(loop["drift_counts"],
            (json{{"false_negative", 1}, {"false_positive", 1}, {"true_negative", 1}}));
}

// §8.8 no trades: the posture is present with net 0 and 0 trades.
TEST(StrategyPerformance, NoTradesPosture) {
  auto perf = StrategyPerformance::create({.initial_capital = 1000}).value();
  ASSERT_TRUE(perf->apply({.topic = "telemetry.strategy.regime_evaluation",
                           .time = kT0,
                           .payload = {{"correct", true}}})
                  .has_value());
  const json roi = perf->report_json(kT0 + minutes(1))["roi_snapshot"];
  EXPECT_EQ(roi["net_pnl"], 0.0);
  EXPECT_EQ(roi["executed_trades"], 0);
  EXPECT_EQ(roi["status"], "at_risk");  // annualised 0 < half the 0.20 target
}

// §8.8 baseline underperformance: 3 trades of pnl 2 on 10k at 25 bps → baseline 75 vs actual
// 6, tolerance 3.75, gap 0.0023 → the strategy and the portfolio alert.
TEST(StrategyPerformance, BaselineUnderperformance) {
  auto perf = StrategyPerformance::create({.initial_capital = 100000,
                                           .baseline_window = 4,
                                           .baseline_min_trades = 3,
                                           .baseline_tolerance_ratio = 0.05,
                                           .baseline_min_gap = 5e-5})
                  .value();
  for (int k = 0; k < 3; ++k) {
    ASSERT_TRUE(perf->apply(trade({{"strategy_id", "zeta"},
                                   {"pnl", 2.0},
                                   {"notional", 10000.0},
                                   {"metadata", {{"spread_bps", 25}}}},
                                  kT0 + minutes(k)))
                    .has_value());
  }
  const json r = perf->report_json(kT0 + minutes(3));
  const json c = find_strategy(r, "zeta")["metadata"]["baseline_comparator"];
  EXPECT_DOUBLE_EQ(c["baseline_pnl"].get<double>(), 75.0);
  EXPECT_DOUBLE_EQ(c["actual_pnl"].get<double>(), 6.0);
  EXPECT_DOUBLE_EQ(c["tolerance_value"].get<double>(), 3.75);
  EXPECT_NEAR(c["return_gap"].get<double>(), 0.0023, 1e-15);
  EXPECT_EQ(c["alert"], true);
  EXPECT_EQ(c["alert_reason"], "actual_below_baseline");
  EXPECT_EQ(c["window_minutes"], 2.0);
  EXPECT_EQ(r["metadata"]["baseline_comparator"]["alert"], true);
  EXPECT_EQ(r["metadata"]["baseline_comparator"]["identifier"], "portfolio");
  ASSERT_EQ(r["metadata"]["baseline_alerts"].size(), 1u);
  EXPECT_EQ(r["metadata"]["baseline_alerts"][0]["strategy_id"], "zeta");

  const auto s = perf->snapshot(kT0 + minutes(3));
  EXPECT_EQ(s.status, core::Status::kWarn);
  std::vector<std::string> codes;
  for (const auto& i : s.issues) codes.push_back(i.code);
  EXPECT_EQ(codes, (std::vector<std::string>{"strategy_performance.strategy.zeta.baseline",
                                             "strategy_performance.portfolio.baseline"}));
  EXPECT_EQ(s.issues[0].message,
            "strategy zeta below its spread baseline: return gap 0.002300, PnL shortfall 69.00 "
            "over 3 trades");
}

// §8.8 baseline all clear: 3 trades of pnl 30 on 10k at 20 bps → gap -0.001.
TEST(StrategyPerformance, BaselineAllClear) {
  auto perf = StrategyPerformance::create({.baseline_window = 4,
                                           .baseline_min_trades = 3,
                                           .baseline_tolerance_ratio = 0.05,
                                           .baseline_min_gap = 5e-5})
                  .value();
  for (int k = 0; k < 3; ++k) {
    ASSERT_TRUE(perf->apply(trade({{"strategy_id", "zeta"},
                                   {"pnl", 30.0},
                                   {"notional", 10000.0},
                                   {"metadata", {{"spread_bps", 20}}}},
                                  kT0 + minutes(k)))
                    .has_value());
  }
  const json r = perf->report_json(kT0 + minutes(3));
  const json c = find_strategy(r, "zeta")["metadata"]["baseline_comparator"];
  EXPECT_NEAR(c["return_gap"].get<double>(), -0.001, 1e-15);
  EXPECT_EQ(c["alert"], false);
  EXPECT_FALSE(r["metadata"].contains("baseline_alerts"));
}

// The minimum-trades rule at its boundary: 2 trades do not alert, the third does.
TEST(StrategyPerformance, BaselineMinTradesBoundary) {
  auto perf = StrategyPerformance::create({.baseline_min_trades = 3}).value();
  for (int k = 0; k < 3; ++k) {
    ASSERT_TRUE(perf->apply(trade({{"strategy_id", "z"},
                                   {"pnl", 0.0},
                                   {"notional", 10000.0},
                                   {"metadata", {{"spread_bps", 25}}}},
                                  kT0 + minutes(k)))
                    .has_value());
    const bool alert = find_strategy(perf->report_json(kT0 + minutes(k)),
                                     "z")["metadata"]["baseline_comparator"]["alert"];
    EXPECT_EQ(alert, k == 2) << k;
  }
}

TEST(StrategyPerformance, InferBaselineReturn) {
  struct Case {
    json metadata;
    std::optional<double> want;
  };
  const std::optional<double> fallback = 0.0001;
  const Case cases[] = {
      {json::object(), fallback},
      {{{"baseline_return", 0.5}}, 0.5},
      {{{"expected_return", "1.5%"}}, 0.015},
      {{{"target_return", "25bps"}}, 0.0025},
      {{{"target_return", "25 bp"}}, 0.0025},
      {{{"target_return", "2 pips"}}, 0.0002},  // the spec divides by 104 (a bug)
      {{{"spread_pips", 3}}, 0.0003},
      {{{"spread_bps", "40"}}, 0.004},
      {{{"expected_return", 2.0}}, 1.0},  // clipped to [0, 1]
      {{{"expected_return", -0.1}}, 0.0},
      {{{"baseline_return", "inf"}, {"spread_bps", 10}}, 0.001},  // non-finite skipped
      {{{"baseline_return", "n/a"}, {"spread_pct", 0.002}}, 0.002},
      {{{"mid_price", 100.0}, {"tick_size", 0.01}, {"spread_ticks", -2}}, 0.0002},
      {{{"price", 0}, {"entry_price", 50.0}, {"spread", 0.05}}, 0.001},
      {{{"spread", 0.05}}, fallback},  // no price
      {{{"unrelated", 1}}, fallback},
  };
  for (const auto& c : cases) {
    const auto got = infer_baseline_return(c.metadata, fallback);
    ASSERT_EQ(got.has_value(), c.want.has_value()) << c.metadata.dump();
    EXPECT_DOUBLE_EQ(*got, *c.want) << c.metadata.dump();
  }
  EXPECT_FALSE(infer_baseline_return(json::object(), std::nullopt).has_value());
}

TEST(StrategyPerformance, RoiPostureStatusesAtBoundaries) {
  // One day of 1000 on 1000: ROI 1.0, annualised exactly 365.25.
  const core::TimePoint day = kT0 + std::chrono::hours(24);
  const auto status = [&](double target) {
    return evaluate_roi_posture(1000, 1000, 1, 0, kT0, day, {.target_annual_roi = target}).status;
  };
  EXPECT_EQ(status(365.25), RoiStatus::kAhead);  // annualised ≥ target
  EXPECT_EQ(status(std::nextafter(365.25, 1e9)), RoiStatus::kTracking);
  EXPECT_EQ(status(730.5), RoiStatus::kTracking);  // annualised ≥ 0.5 × target
  EXPECT_EQ(status(std::nextafter(730.5, 1e9)), RoiStatus::kAtRisk);
  EXPECT_EQ(evaluate_roi_posture(1000, 1000, 1, 0, kT0, day, {}).annualised_roi, 365.25);
  // Less than an hour counts as an hour (days = max(elapsed, 1/24)).
  EXPECT_EQ(evaluate_roi_posture(1000, 1, 1, 0, kT0, kT0, {}).days_active, 1.0 / 24.0);
  // Costs: 2 trades × 2.5 + 10 000 × 0.5 bp = 5.5 fees; 10/day infrastructure.
  const auto p = evaluate_roi_posture(
      1000, 100, 2, 10000, kT0, kT0 + std::chrono::hours(48),
      {.target_annual_roi = 0.25, .fee_flat = 2.5, .fee_bps = 0.5, .daily_infra_cost = 10});
  EXPECT_DOUBLE_EQ(p.fees, 5.5);
  EXPECT_DOUBLE_EQ(p.infrastructure_cost, 20.0);
  EXPECT_DOUBLE_EQ(p.net_pnl, 74.5);
  EXPECT_DOUBLE_EQ(p.breakeven_daily_return, (10 + 5.5 / 2) / 1000);
}

TEST(StrategyPerformance, AtRiskWarnsAndUnconfiguredCapitalIsInfo) {
  auto perf = StrategyPerformance::create({.initial_capital = 100000}).value();
  ASSERT_TRUE(perf->apply(trade({{"strategy_id", "a"}, {"pnl", -50.0}, {"notional", 1000.0}}, kT0))
                  .has_value());
  auto s = perf->snapshot(kT0 + minutes(5));
  EXPECT_EQ(s.status, core::Status::kWarn);
  ASSERT_EQ(s.issues.size(), 1u);
  EXPECT_EQ(s.issues[0].code, "strategy_performance.roi");
  EXPECT_EQ(s.issues[0].severity, core::Severity::kWarning);

  auto bare = StrategyPerformance::create({}).value();
  ASSERT_TRUE(bare->apply(trade({{"strategy_id", "a"}, {"pnl", -50.0}, {"notional", 1000.0}}, kT0))
                  .has_value());
  s = bare->snapshot(kT0);
  EXPECT_EQ(s.status, core::Status::kOk);
  ASSERT_EQ(s.issues.size(), 1u);
  EXPECT_EQ(s.issues[0].code, "strategy_performance.roi_unconfigured");
  EXPECT_EQ(s.issues[0].severity, core::Severity::kInfo);
  EXPECT_FALSE(bare->report_json(kT0).contains("roi_snapshot"));
}

TEST(StrategyPerformance, RefusedTradesAndOutOfOrder) {
  auto perf = StrategyPerformance::create({.max_strategies = 1}).value();
  struct Case {
    json payload;
    const char* field;
  };
  const Case cases[] = {
      {{{"pnl", 1}, {"notional", 1}}, "payload.strategy_id"},
      {{{"strategy_id", "a"}, {"notional", 1}}, "payload.pnl"},
      {{{"strategy_id", "a"}, {"pnl", 1}, {"notional", "lots"}}, "payload.notional"},
      {{{"strategy_id", "a"}, {"pnl", 1}, {"notional", 1}, {"fast_weights_enabled", "yes"}},
       "payload.fast_weights_enabled"},
      {{{"strategy_id", "a"}, {"pnl", 1}, {"notional", 1}, {"timestamp", "yesterday"}},
       "payload.timestamp"},
      {{{"strategy_id", "a"}, {"pnl", 1}, {"notional", 1}, {"metadata", "x"}}, "payload.metadata"},
  };
  for (const auto& c : cases) {
    auto ok = perf->apply(trade(c.payload, kT0));
    ASSERT_FALSE(ok.has_value()) << c.field;
    EXPECT_EQ(ok.error().field, c.field);
  }
  EXPECT_FALSE(perf->active());
  ASSERT_TRUE(
      perf->apply(trade({{"strategy_id", "a"}, {"pnl", 1}, {"notional", 1}}, kT0 + minutes(2)))
          .has_value());
  ASSERT_TRUE(perf->apply(trade({{"strategy_id", "a"},
                                 {"pnl", 1},
                                 {"notional", 1},
                                 {"timestamp", "2025-01-02T00:01:00Z"}},
                                kT0 + minutes(3)))
                  .has_value());
  EXPECT_EQ(perf->report_json(kT0)["metadata"]["out_of_order_trades"], 1);
  auto full = perf->apply(trade({{"strategy_id", "b"}, {"pnl", 1}, {"notional", 1}}, kT0));
  ASSERT_FALSE(full.has_value());
  EXPECT_EQ(full.error().code, "too_many_strategies");
}

TEST(StrategyPerformance, ConfigValidation) {
  struct Case {
    StrategyPerformanceConfig config;
    const char* field;
  };
  const Case cases[] = {
      {{.initial_capital = -1}, "initial_capital"},
      {{.roi = {.fee_bps = -1}}, "roi.fee_bps"},
      {{.baseline_window = 0}, "baseline_window"},
      {{.baseline_min_trades = 0}, "baseline_min_trades"},
      {{.baseline_min_gap = -1e-4}, "baseline_min_gap"},
      {{.max_strategies = 0}, "max_strategies"},
  };
  for (const auto& c : cases) {
    auto ok = validate(c.config);
    ASSERT_FALSE(ok.has_value()) << c.field;
    EXPECT_EQ(ok.error().field, c.field);
  }
  EXPECT_TRUE(validate(StrategyPerformanceConfig{}).has_value());
}

}  // namespace
}  // namespace opsready::components
