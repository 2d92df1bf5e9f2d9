// The demo workload feeds every panel of the observability dashboard over one cycle, and its
// embedded configuration offers a drill against its own feeds and two sign-offs.

#include "opsready/app/demo.h"

#include <algorithm>
#include <set>

#include <gtest/gtest.h>

#include "opsready/alerting/policy.h"
#include "opsready/components/compliance_cadence.h"
#include "opsready/core/text.h"
#include "opsready/core/time.h"
#include "opsready/core/topic_pattern.h"
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

const drills::Scenario* scenario(const Config& cfg, std::string_view name) {
  for (const auto& s : cfg.drills.scenarios) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

TEST(DemoTest, ConfigOffersAFeedStallDrillAgainstTheDemosOwnFeeds) {
  const core::TimePoint now = core::parse_rfc3339("2025-01-01T12:00:00Z").value();
  const Config cfg = demo_config(Config{}, now);
  const drills::Scenario* s = scenario(cfg, kDemoDrill);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->fault.kind, drills::FaultKind::kFeedStall);
  EXPECT_TRUE(s->file.empty());  // built in
  ASSERT_EQ(s->fault.topics.size(), 1u);
  const auto stalled = core::TopicPattern::parse(s->fault.topics[0]).value();

  const auto source = std::ranges::find(cfg.expected_sources, std::string(kDemoFeedSource),
                                        &alerting::ExpectedSource::name);
  ASSERT_NE(source, cfg.expected_sources.end());
  const auto expected = core::TopicPattern::parse(source->topic_pattern).value();
  // The fault outlasts the source's silence, and the alert is expected after it is raised.
  EXPECT_GT(s->fault.duration, source->after + kDemoPeriod);
  EXPECT_GT(s->expect.within, source->after);
  ASSERT_TRUE(s->responder.has_value());
  EXPECT_EQ(cfg.alerting.route.group_wait, std::chrono::seconds(1));

  // Every tick of a cycle feeds the source (so the steady state holds and only the stall
  // silences it), and everything that feeds it is stalled.
  for (std::uint64_t tick = 0; tick < 90; ++tick) {
    int fed = 0;
    for (const auto& e : demo_events(tick, now + tick * kDemoPeriod)) {
      if (!expected.matches(e.topic)) continue;
      ++fed;
      EXPECT_TRUE(stalled.matches(e.topic)) << e.topic;
    }
    EXPECT_GT(fed, 0) << "tick " << tick;
  }
}

TEST(DemoTest, ConfigDeclaresTwoSignoffsInDifferentStandings) {
  const core::TimePoint now = core::parse_rfc3339("2025-01-01T12:00:00Z").value();
  const Config cfg = demo_config(Config{}, now);
  std::vector<std::pair<std::string, std::string>> got;
  for (const auto& c : cfg.compliance.signoffs) {
    got.emplace_back(c.name, components::to_string(components::standing(c, nullptr, now).state));
    EXPECT_NE(c.overdue, core::Status::kFail) << c.name << ": the demo's gate must not block";
  }
  EXPECT_EQ(got, (std::vector<std::pair<std::string, std::string>>{{"security-review", "ok"},
                                                                   {"access-review", "due_soon"}}));
}

TEST(DemoTest, ConfigKeepsWhatTheGivenConfigurationNames) {
  const core::TimePoint now = core::parse_rfc3339("2025-01-01T12:00:00Z").value();
  Config given;
  given.drills.scenarios.push_back({.name = std::string(kDemoDrill), .description = "mine"});
  given.compliance.signoffs.push_back({.name = "access-review", .owner = "me"});
  given.alerting.route.receiver = "desk";
  given.alerting.receivers = {alerting::Receiver{.name = "desk"}};
  const Config cfg = demo_config(given, now);
  ASSERT_EQ(cfg.drills.scenarios.size(), 1u);
  EXPECT_EQ(cfg.drills.scenarios[0].description, "mine");
  ASSERT_EQ(cfg.compliance.signoffs.size(), 2u);
  EXPECT_EQ(cfg.compliance.signoffs[0].owner, "me");
  EXPECT_EQ(cfg.compliance.signoffs[1].name, "security-review");
  EXPECT_EQ(cfg.alerting.route.group_wait, std::nullopt);  // a policy of its own is kept
  EXPECT_TRUE(cfg.gate.components.at("fix_gateway").required);
}

}  // namespace
}  // namespace opsready::app
