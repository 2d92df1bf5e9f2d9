#include "opsready/app/components_config.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace opsready::app {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

struct Loaded {
  components::ComponentsConfig config;
  std::vector<std::string> errors;  // "LINE: message"
};

Loaded load(const std::string& yaml) {
  Loaded out;
  const YAML::Node root = YAML::Load(yaml);
  load_components_config(root["detectors"], out.config, [&](const YAML::Node& at, std::string m) {
    out.errors.push_back(std::to_string(at.Mark().line + 1) + ": " + std::move(m));
  });
  return out;
}

TEST(ComponentsConfig, EveryComponentOverridable) {
  const Loaded l = load(R"(
detectors:
  sensory_drift:
    lookback: 11
    warn_threshold: 1.0
    alert_threshold: .inf
    page_hinkley_delta: 0
    page_hinkley_warn: 0.6
    page_hinkley_alert: 0.9
    variance_window: 8
    min_variance_samples: 50
    psi_enabled: false
    dimensions: [WHY, HOW]
  drift_sentry:
    baseline_window: 12
    evaluation_window: 4
    min_observations: 4
    cusum_warn: 1.5
    cusum_alert: 2.5
    training_reference:
      belief_confidence: {mean: 0.1, variance: 0.0001, count: 24}
      belief_bias: [0.1, 0.2, 0.3]
  ingest_slos:
    service: md_ingest
    freshness_target: 2m
    latency_target_p95: 800ms
    burn_rate:
      objective: 0.99
      min_events: 50
      windows:
        - {long: 1h, short: 5m, burn_rate: 14.4, severity: page}
        - {long: 3d, short: 6h, burn_rate: 1, severity: ticket}
    alert_routes:
      md_ingest: pagerduty:market-data
    dimensions:
      daily_bars: {freshness_target: 26h}
  strategy_performance:
    initial_capital: 250000
    period_start: 2025-01-01T00:00:00Z
    roi: {target_annual_roi: 0.25, fee_flat: 2.5, fee_bps: 0.5, daily_infra_cost: 8.33}
    baseline_min_trades: 3
    at_risk_status: fail
  understanding_loop:
    require_diagnostics: false
    latency_target_p95: 1500ms
    drift_alert_warn_after: 200s
    drift_alert_fail_after: 10m
    expected_drift_alerts: [sensory]
    replay_warn: 0.02
    replay_fail: 0.05
)");
  ASSERT_TRUE(l.errors.empty()) << l.errors.front();
  const auto& c = l.config;
  EXPECT_EQ(c.sensory_drift.lookback, 11u);
  EXPECT_EQ(c.sensory_drift.alert_threshold, std::numeric_limits<double>::infinity());
  EXPECT_EQ(c.sensory_drift.page_hinkley_delta, 0.0);
  EXPECT_EQ(c.sensory_drift.variance_window, 8u);
  EXPECT_FALSE(c.sensory_drift.psi_enabled);
  EXPECT_EQ(c.sensory_drift.dimensions, (std::vector<std::string>{"WHY", "HOW"}));
  EXPECT_EQ(c.drift_sentry.baseline_window, 12u);
  EXPECT_EQ(c.drift_sentry.cusum_alert, 2.5);
  EXPECT_EQ(c.drift_sentry.training_reference.at("belief_confidence"),
            (components::TrainingReference{.mean = 0.1, .variance = 0.0001, .count = 24}));
  EXPECT_EQ(c.drift_sentry.training_reference.at("belief_bias").count, 3u);
  EXPECT_EQ(c.ingest_slos.service, "md_ingest");
  EXPECT_EQ(c.ingest_slos.targets.freshness_target, minutes(2));
  EXPECT_EQ(c.ingest_slos.targets.latency_target_p95, std::chrono::milliseconds(800));
  EXPECT_EQ(c.ingest_slos.burn_rate.objective, 0.99);
  ASSERT_EQ(c.ingest_slos.burn_rate.windows.size(), 2u);
  EXPECT_EQ(c.ingest_slos.burn_rate.windows[1].severity, detect::BurnSeverity::kTicket);
  EXPECT_EQ(c.ingest_slos.burn_rate.windows[1].long_window, hours(72));
  EXPECT_EQ(c.ingest_slos.alert_routes.at("md_ingest"), "pagerduty:market-data");
  // A dimension inherits the section's targets and overrides its own.
  EXPECT_EQ(c.ingest_slos.dimensions.at("daily_bars").freshness_target, hours(26));
  EXPECT_EQ(c.ingest_slos.dimensions.at("daily_bars").latency_target_p95,
            std::chrono::milliseconds(800));
  EXPECT_EQ(c.strategy_performance.initial_capital, 250000.0);
  EXPECT_TRUE(c.strategy_performance.period_start.has_value());
  EXPECT_EQ(c.strategy_performance.roi.fee_bps, 0.5);
  EXPECT_EQ(c.strategy_performance.at_risk_status, core::Status::kFail);
  EXPECT_FALSE(c.understanding_loop.require_diagnostics);
  EXPECT_EQ(c.understanding_loop.drift_alert_fail_after, minutes(10));
  EXPECT_EQ(c.understanding_loop.expected_drift_alerts, (std::vector<std::string>{"sensory"}));
}

TEST(ComponentsConfig, EmptySectionKeepsDefaults) {
  EXPECT_EQ(load("detectors:\n").config, components::ComponentsConfig{});
  EXPECT_EQ(load("detectors:\n  ingest_slos: {enabled: false}\n").config.ingest_slos.enabled,
            false);
}

TEST(ComponentsConfig, ErrorsNameTheLine) {
  const Loaded l = load(R"(detectors:
  sensory_drift:
    lookback: -3
    warn_threshold: high
    psi_enabled: yes
  drift_sentry:
    bogus: 1
  ingest_slos:
    freshness_target: 5 minutes
    burn_rate:
      windows:
        - {long: 1h, burn_rate: 2, severity: urgent}
  strategy_performance:
    at_risk_status: purple
  nonsense: {}
)");
  const std::vector<std::string> want = {
      "15: unknown key 'nonsense' in detectors",  // the section's keys are checked first
      "3: detectors.sensory_drift.lookback must be a whole number from 0 to 4294967295, got '-3'",
      "4: detectors.sensory_drift.warn_threshold must be a number, got 'high'",
      "5: detectors.sensory_drift.psi_enabled must be true or false, got 'yes'",
      "7: unknown key 'bogus' in detectors.drift_sentry",
      "9: detectors.ingest_slos.freshness_target: ",
      "12: detectors.ingest_slos.burn_rate.windows[0] needs 'short'",
      "12: detectors.ingest_slos.burn_rate.windows[0].severity must be page or ticket, got "
      "'urgent'",
      "14: detectors.strategy_performance.at_risk_status: unknown status word 'purple'",
  };
  ASSERT_EQ(l.errors.size(), want.size());
  for (std::size_t k = 0; k < want.size(); ++k) {
    EXPECT_TRUE(l.errors[k].starts_with(want[k])) << l.errors[k] << "\n  want: " << want[k];
  }
  // Nothing is applied from a section with errors.
  EXPECT_EQ(l.config, components::ComponentsConfig{});
}

// The components' own validation is reported at the offending key.
TEST(ComponentsConfig, ValidationAtTheKey) {
  struct Case {
    const char* yaml;
    const char* want;
  };
  const Case cases[] = {
      {"detectors:\n  sensory_drift:\n    warn_threshold: 0.9\n    alert_threshold: 0.5\n",
       "3: detectors.sensory_drift.warn_threshold: must not be above alert_threshold (0.5)"},
      {"detectors:\n  drift_sentry:\n    evaluation_window: 10\n",
       "3: detectors.drift_sentry.min_observations: must be between 1 and min("},
      {"detectors:\n  ingest_slos:\n    dimensions:\n      bars:\n        completeness_breach: 1\n",
       "5: detectors.ingest_slos.dimensions.bars.completeness_breach: must be between 0 and "},
      {"detectors:\n  ingest_slos:\n    burn_rate:\n      windows:\n"
       "        - {long: 5m, short: 1h, burn_rate: 2}\n",
       "5: detectors.ingest_slos.burn_rate.windows[0]: short_window must not exceed long_window"},
  };
  for (const auto& c : cases) {
    const Loaded l = load(c.yaml);
    ASSERT_EQ(l.errors.size(), 1u) << c.yaml;
    EXPECT_TRUE(l.errors[0].starts_with(c.want)) << l.errors[0] << "\n  want: " << c.want;
  }
}

TEST(ComponentsConfig, NotAMapping) {
  const Loaded l = load("detectors: [sensory_drift]\n");
  ASSERT_EQ(l.errors.size(), 1u);
  EXPECT_EQ(l.errors[0], "1: detectors must be a mapping");
}

}  // namespace
}  // namespace opsready::app
