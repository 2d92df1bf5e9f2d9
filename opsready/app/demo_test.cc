// The demo workload feeds every panel of the observability dashboard over one cycle.

#include "opsready/app/demo.h"

#include <set>

#include <gtest/gtest.h>

#include "opsready/core/text.h"
#include "opsready/core/time.h"
#include "opsready/server/dashboard.h"

namespace opsready::app {
namespace {

TEST(DemoTest, DashboardFeedsGiveEveryPanelDataAndMoveTheRiskPanel) {
  const core::TimePoint start = core::parse_rfc3339("2025-01-01T12:00:00Z").value();
  server::FeedPayloads feeds;
  std::set<core::Status> risk_statuses;
  std::set<core::Status> latency_statuses;
  for (std::uint64_t tick = 0; tick < 90; ++tick) {
    const core::TimePoint now = start + tick * kDemoPeriod;
    for (const auto& e : demo_events(tick, now)) {
      ASSERT_TRUE(core::is_valid_topic(e.topic)) << e.topic;
      // What ingest accepts: the event survives its own JSON codec.
      ASSERT_TRUE(core::event_from_json(core::to_json(e), now).has_value()) << e.topic;
      if (e.topic.starts_with("telemetry.dashboard.")) feeds[e.topic].push_back(e.payload);
    }
    readiness::ReadinessSnapshot snap;
    snap.generated_at = now;
    const server::Dashboard d = server::build_dashboard(server::dashboard_inputs(snap, feeds));
    for (const auto& p : d.panels) {
      if (p.name == "Risk & exposure") risk_statuses.insert(p.status);
      if (p.name == "Latency & throughput") latency_statuses.insert(p.status);
    }
    if (tick + 1 == 90) {
      std::vector<std::string> names;
      for (const auto& p : d.panels) names.push_back(p.name);
      EXPECT_EQ(names,
                (std::vector<std::string>{
                    "PnL & ROI", "Risk & exposure", "Gate Dashboard", "Compliance & governance",
                    "Evolution KPIs", "Operator leverage", "Latency & throughput", "System health",
                    "Operational readiness", "Policy graduation", "Decision diary",
                    "Understanding loop", "Policy reflections", "Quality & coverage"}));
      for (const auto& p : d.panels) {
        if (p.name == "Compliance & governance") {
          EXPECT_GT(p.metadata["counts"]["risk_breach"].get<int>(), 0);
          EXPECT_GT(p.metadata["counts"]["governance_action"].get<int>(), 0);
        }
        if (p.name == "Policy graduation") {
          EXPECT_EQ(p.metadata["ready"].size(), 2u);
          EXPECT_EQ(p.status, core::Status::kOk);  // the blocker is lifted at phase 45
        }
      }
    }
  }
  // VaR crosses 80 % of its limit and the limit itself during the cycle.
  EXPECT_EQ(risk_statuses,
            (std::set<core::Status>{core::Status::kOk, core::Status::kWarn, core::Status::kFail}));
  EXPECT_EQ(latency_statuses,
            (std::set<core::Status>{core::Status::kOk, core::Status::kWarn, core::Status::kFail}));
}

}  // namespace
}  // namespace opsready::app
