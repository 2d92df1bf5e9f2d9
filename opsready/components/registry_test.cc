#include "opsready/components/registry.h"

#include <gtest/gtest.h>

#include <limits>

#include "opsready/components/sliding_quantiles.h"
#include "opsready/core/time.h"

namespace opsready::components {
namespace {

using nlohmann::json;

const core::TimePoint kT0 = core::parse_rfc3339("2025-01-02T00:00:00Z").value();

TEST(Registry, BuildsEnabledComponentsInOrder) {
  auto all = Registry::create({}).value();
  std::vector<std::string> names;
  for (std::size_t i = 0; i < all.size(); ++i) names.emplace_back(all.at(i).name());
  EXPECT_EQ(names, (std::vector<std::string>{
                       "sensory_drift", "drift_sentry", "ingest_slos", "strategy_performance",
                       "understanding_loop", "system_validation", "incident_response", "security",
                       "backups", "failover_drill", "cross_region_failover", "disaster_recovery",
                       "professional_readiness", "cache", "nats_consumer"}));

  ComponentsConfig cfg;
  cfg.drift_sentry.enabled = false;
  cfg.understanding_loop.enabled = false;
  cfg.understanding_loop.latency_window = 0;  // invalid, but disabled: not checked
  auto some = Registry::create(cfg).value();
  EXPECT_EQ(some.size(), all.size() - 2);
  EXPECT_EQ(some.find("drift_sentry"), nullptr);
  EXPECT_NE(some.find("ingest_slos"), nullptr);
}

TEST(Registry, ValidationNamesTheComponent) {
  ComponentsConfig cfg;
  cfg.sensory_drift.lookback = 0;
  auto r = Registry::create(cfg);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().field, "sensory_drift.lookback");
  ComponentsConfig cfg2;
  cfg2.ingest_slos.burn_rate.windows.clear();
  EXPECT_EQ(validate(cfg2).error().field, "ingest_slos.burn_rate.windows");
}

TEST(Registry, RoutesByTopicAndReportsRefusals) {
  auto reg = Registry::create({}).value();
  const core::TelemetryEvent ok{.topic = "telemetry.ingest.latency_seconds",
                                .time = kT0,
                                .payload = {{"series", "bars"}, {"value", 1.0}}};
  EXPECT_EQ(reg.route(ok), (Routed{.consumers = 1}));
  const core::TelemetryEvent unknown{.topic = "telemetry.other", .time = kT0};
  EXPECT_EQ(reg.route(unknown).consumers, 0);
  const core::TelemetryEvent bad{.topic = "telemetry.ingest.latency_seconds",
                                 .time = kT0,
                                 .payload = {{"series", "bars"}, {"value", -1.0}}};
  const Routed r = reg.route(bad);
  EXPECT_EQ(r.consumers, 1);
  EXPECT_EQ(r.refused, 1);
  EXPECT_EQ(r.component, "ingest_slos");
  EXPECT_EQ(r.error.field, "payload.value");
  // Only active components publish snapshots.
  std::vector<core::ComponentSnapshot> out;
  reg.snapshots(kT0, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].component, "ingest_slos");
  EXPECT_EQ(out[0].status, core::Status::kOk);
}

TEST(Registry, AlertCategories) {
  auto reg = Registry::create({}).value();
  EXPECT_EQ(reg.alert_category("sensory_drift"), "sensory.drift");
  EXPECT_EQ(reg.alert_category("drift_sentry"), "understanding.drift_sentry");
  EXPECT_EQ(reg.alert_category("ingest_slos"), "operational.ingest_slos");
  EXPECT_EQ(reg.alert_category("fix_gateway"), "operational.fix_gateway");
}

// The topic cache is bounded; lookups past the bound still route correctly.
TEST(Registry, ManyTopics) {
  auto reg = Registry::create({}).value();
  for (int k = 0; k < 5000; ++k) {
    EXPECT_EQ(reg.route({.topic = "telemetry.x" + std::to_string(k)}).consumers, 0);
  }
  EXPECT_EQ(reg.route({.topic = "telemetry.ingest.health", .payload = {{"checks", json::array()}}})
                .consumers,
            1);
}

TEST(Registry, BriefSnapshotsMatchFullOnes) {
  ComponentsConfig cfg;
  cfg.drift_sentry.baseline_window = 2;
  cfg.drift_sentry.evaluation_window = 2;
  cfg.drift_sentry.min_observations = 2;
  cfg.strategy_performance.initial_capital = 1000;
  cfg.strategy_performance.baseline_min_trades = 1;
  auto reg = Registry::create(cfg).value();
  const std::vector<core::TelemetryEvent> events = {
      {.topic = "telemetry.sensory.why", .payload = {{"series", "s"}, {"value", 0.1}}},
      {.topic = "telemetry.sensory.why", .payload = {{"series", "s"}, {"value", 0.9}}},
      {.topic = "telemetry.understanding.metric", .payload = {{"series", "m"}, {"value", 1.0}}},
      {.topic = "telemetry.understanding.metric", .payload = {{"series", "m"}, {"value", 1.0}}},
      {.topic = "telemetry.understanding.metric", .payload = {{"series", "m"}, {"value", 9.0}}},
      {.topic = "telemetry.understanding.metric", .payload = {{"series", "m"}, {"value", 3.0}}},
      {.topic = "telemetry.ingest.latency_seconds", .payload = {{"series", "b"}, {"value", 9.0}}},
      {.topic = "telemetry.ingest.freshness_seconds", .payload = {{"series", "b"}, {"value", 999}}},
      {.topic = "telemetry.strategy.trade",
       .payload = {{"strategy_id", "a"}, {"pnl", -5.0}, {"notional", 1000.0}}},
      {.topic = "telemetry.understanding.replay_drift", .payload = {{"series", "p"}, {"value", 1}}},
  };
  for (auto e : events) {
    e.time = kT0;
    ASSERT_EQ(reg.route(e).refused, 0) << e.topic;
  }
  std::vector<core::ComponentSnapshot> full;
  std::vector<core::ComponentSnapshot> brief;
  reg.snapshots(kT0 + std::chrono::minutes(1), full);
  reg.snapshots(kT0 + std::chrono::minutes(1), brief, Detail::kBrief);
  ASSERT_EQ(full.size(), 5u);
  ASSERT_EQ(brief.size(), 5u);
  for (std::size_t k = 0; k < full.size(); ++k) {
    EXPECT_NE(full[k].status, core::Status::kOk) << full[k].component;  // every one has findings
    EXPECT_FALSE(full[k].metadata.empty()) << full[k].component;
    EXPECT_TRUE(brief[k].metadata.empty()) << brief[k].component;
    core::ComponentSnapshot stripped = full[k];
    stripped.metadata = json::object();
    EXPECT_EQ(stripped, brief[k]) << full[k].component;
  }
}

TEST(SlidingQuantiles, NearestRankOverTheWindow) {
  SlidingQuantiles w(4);
  EXPECT_EQ(w.nearest_rank(0.95), 0.0);
  for (double v : {5.0, 1.0, 3.0, 3.0}) w.add(v);
  EXPECT_EQ(w.nearest_rank(0.5), 3.0);   // ceil(2) → 2nd of [1, 3, 3, 5]
  EXPECT_EQ(w.nearest_rank(0.95), 5.0);  // ceil(3.8) → 4th
  EXPECT_EQ(w.nearest_rank(0.01), 1.0);
  w.add(2.0);  // evicts 5.0: [1, 2, 3, 3]
  EXPECT_EQ(w.size(), 4u);
  EXPECT_EQ(w.max(), 3.0);
  EXPECT_EQ(w.nearest_rank(0.5), 2.0);
  w.add(0.5);  // evicts 1.0
  w.add(0.5);  // evicts one 3.0: [0.5, 0.5, 2, 3]
  EXPECT_EQ(w.nearest_rank(0.75), 2.0);
  EXPECT_EQ(w.max(), 3.0);
}

TEST(Helpers, Formatting) {
  EXPECT_EQ(fixed(1.5, 2), "1.50");
  EXPECT_EQ(fixed(0.0025, 3), "0.003");  // the double is just above 0.0025
  EXPECT_EQ(signed_fixed(0.3, 3), "+0.300");
  EXPECT_EQ(signed_fixed(-0.25, 3), "-0.250");
  EXPECT_EQ(signed_fixed(0.0, 3), "+0.000");
  EXPECT_EQ(percent(0.1234, 1), "12.3%");
  EXPECT_EQ(grouped(-1234.5, 2), "-1,234.50");
  EXPECT_EQ(grouped(1234567.0, 2), "1,234,567.00");
  EXPECT_EQ(grouped(999.999, 2), "1,000.00");
  EXPECT_EQ(grouped(12.0, 0), "12");
  EXPECT_EQ(shortest(0.25), "0.25");
  EXPECT_EQ(shortest(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(json_number(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(json_number(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_TRUE(json_number(std::numeric_limits<double>::quiet_NaN()).is_null());
  EXPECT_EQ(json_number(1.5), 1.5);
}

TEST(Helpers, CoerceNumber) {
  EXPECT_EQ(coerce_number(json(2)), 2.0);
  EXPECT_EQ(coerce_number(json(true)), std::nullopt);  // a boolean is not a number
  EXPECT_EQ(coerce_number(json(" +1.5 ")), 1.5);
  EXPECT_EQ(coerce_number(json("1e-3")), 0.001);
  EXPECT_FALSE(coerce_number(json("nan")).has_value());
  EXPECT_FALSE(coerce_number(json("inf")).has_value());
  EXPECT_FALSE(coerce_number(json("1.5x")).has_value());
  EXPECT_FALSE(coerce_number(json("")).has_value());
  EXPECT_FALSE(coerce_number(json(nullptr)).has_value());
  EXPECT_FALSE(coerce_number(json::array()).has_value());
  EXPECT_FALSE(coerce_number(json(std::numeric_limits<double>::quiet_NaN())).has_value());
  EXPECT_EQ(runbook_path("ingest_slos"), "docs/runbooks/ingest_slos.md");
}

}  // namespace
}  // namespace opsready::components
