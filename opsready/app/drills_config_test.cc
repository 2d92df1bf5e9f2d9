#include "opsready/app/drills_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "opsready/app/config.h"
#include "tests/support/temp_dir.h"

namespace opsready::app {
namespace {

using namespace std::chrono_literals;

std::string errors_of(const ScenarioResult& r) {
  std::string out;
  if (r) return out;
  for (const auto& e : r.error()) out += e.describe() + "\n";
  return out;
}

TEST(DrillScenario, ReadsEveryField) {
  const auto s = parse_scenario(R"(name: webhook-outage
description: d
hypothesis: h
steady_state:
  - readiness: {at_most: warn}
  - gate: {at_most: warn}
  - component: {name: fix_gateway, at_most: ok}
  - no_alert: 'alertname="X"'
  - alert: ['alertname="W"', 'severity=~"crit.*"']
fault: {kind: receiver_outage, receiver: desk, duration: 8s}
target: {components: [fix_gateway]}
expect: {alert: '{alertname="Y", receiver="desk"}', receiver: fallback, within: 30s}
responder: {ack_after: 1s, by: bot}
abort_if:
  - gate: {at_least: block}
  - metric: {name: opsready_events_refused_total, at_least: 10}
during:
  - metric: {name: opsready_spool_pending_events, labels: 'a="b"', at_least: 1, at_most: 5.5}
recovery: {within: 1m, alert_resolved: false}
)",
                                "s.yml");
  ASSERT_TRUE(s.has_value()) << errors_of(s);
  EXPECT_EQ(s->name, "webhook-outage");
  ASSERT_EQ(s->steady_state.size(), 5u);
  EXPECT_EQ(s->steady_state[2].describe(), "component fix_gateway at most ok");
  EXPECT_EQ(s->steady_state[4].matchers.size(), 2u);
  EXPECT_EQ(s->fault.kind, drills::FaultKind::kReceiverOutage);
  EXPECT_EQ(s->fault.duration, 8s);
  EXPECT_EQ(s->target_components, std::vector<std::string>{"fix_gateway"});
  EXPECT_EQ(s->expect.receiver, "fallback");
  EXPECT_TRUE(s->expect.acked);  // a responder makes the ack part of the hypothesis
  ASSERT_TRUE(s->responder);
  EXPECT_EQ(s->responder->by, "bot");
  EXPECT_EQ(s->abort_if[0].describe(), "gate at least block");
  EXPECT_EQ(s->abort_if[1].describe(), "metric opsready_events_refused_total at least 10");
  ASSERT_EQ(s->during.size(), 1u);
  EXPECT_EQ(s->during[0].describe(),
            "metric opsready_spool_pending_events{a=\"b\"} at least 1 and at most 5.5");
  EXPECT_FALSE(s->recovery.alert_resolved);
  EXPECT_EQ(s->file, "s.yml");
}

// The faults of the store, the incident-response chaos events and the ingest failover drill.
TEST(DrillScenario, ReadsTheStoreChaosAndFailoverFaults) {
  const auto store = parse_scenario(
      "name: s\nhypothesis: h\nfault: {kind: store_fault, read_only: true, delay: 250ms}\n",
      "s.yml");
  ASSERT_TRUE(store.has_value()) << errors_of(store);
  EXPECT_EQ(store->fault.kind, drills::FaultKind::kStoreFault);
  EXPECT_TRUE(store->fault.read_only);
  EXPECT_EQ(store->fault.delay, 250ms);

  const auto chaos = parse_scenario(R"(name: c
hypothesis: h
fault:
  kind: incident_chaos
  events:
    - {type: primary_responder_outage, responders: [alice], severity: warn}
    - {type: metrics_stale, data_age_hours: 36, mtta_minutes: 90}
    - {type: incident_surge, count: 2, prefix: surge, description: many}
)",
                                    "c.yml");
  ASSERT_TRUE(chaos.has_value()) << errors_of(chaos);
  ASSERT_EQ(chaos->fault.chaos.size(), 3u);
  EXPECT_EQ(chaos->fault.chaos[0].type, components::ChaosEventType::kPrimaryResponderOutage);
  EXPECT_EQ(chaos->fault.chaos[0].responders, std::vector<std::string>{"alice"});
  EXPECT_EQ(chaos->fault.chaos[0].severity, core::Status::kWarn);
  EXPECT_EQ(chaos->fault.chaos[1].data_age_hours, 36.0);
  EXPECT_EQ(chaos->fault.chaos[1].mtta_minutes, 90.0);
  EXPECT_FALSE(chaos->fault.chaos[1].mttr_minutes.has_value());
  EXPECT_EQ(chaos->fault.chaos[2].count, 2u);
  EXPECT_EQ(chaos->fault.chaos[2].prefix, "surge");
  // Its alerts are the drill's.
  EXPECT_EQ(chaos->target_components, std::vector<std::string>{"incident_response"});
  EXPECT_EQ(drills::to_json(*chaos)["fault"]["events"][2],
            nlohmann::json({{"type", "incident_surge"},
                            {"count", 2},
                            {"prefix", "surge"},
                            {"description", "many"}}));

  const auto failover = parse_scenario(R"(name: f
hypothesis: h
fault:
  kind: ingest_failover
  results_file: results.json
  dimensions: [daily]
  fallback: switch-to-replica
  undo: switch-back
)",
                                       "dir/f.yml");
  ASSERT_TRUE(failover.has_value()) << errors_of(failover);
  EXPECT_EQ(failover->fault.results_file, "results.json");
  EXPECT_EQ(failover->fault.dimensions, std::vector<std::string>{"daily"});
  EXPECT_EQ(failover->fault.fallback, "switch-to-replica");
  EXPECT_EQ(failover->fault.undo, "switch-back");
  EXPECT_EQ(failover->target_components, std::vector<std::string>{"failover_drill"});
}

TEST(DrillScenario, RefusesWhatCannotRunWithFileAndLine) {
  struct Case {
    std::string yaml;
    std::string want;
  };
  const Case cases[] = {
      {"name: Bad\nhypothesis: h\nfault: {kind: command, run: a, undo: b}\n",
       "s.yml:1: name 'Bad' must be 1-64 of a-z, 0-9, '_', '.', '-', starting with a letter or "
       "digit"},
      {"name: a\nfault: {kind: command, run: a, undo: b}\n",
       "s.yml:1: the top level needs 'hypothesis'"},
      {"name: a\nhypothesis: h\nfault: {kind: explode}\n",
       "s.yml:3: fault.kind must be receiver_outage, feed_stall, command, task_crash, "
       "store_fault, incident_chaos or ingest_failover, got 'explode'"},
      {"name: a\nhypothesis: h\nfault: {kind: store_fault}\n",
       "s.yml:3: fault: a store_fault needs 'read_only: true' or a 'delay'"},
      {"name: a\nhypothesis: h\nfault: {kind: incident_chaos}\n",
       "s.yml:3: fault: an incident_chaos needs 'events'"},
      {"name: a\nhypothesis: h\nfault: {kind: incident_chaos, events: [{type: meteor}]}\n",
       "s.yml:3: fault.events[0].type must be primary_responder_outage,"},
      {"name: a\nhypothesis: h\nfault: {kind: incident_chaos, events: [{type: incident_surge, "
       "count: 0}]}\n",
       "s.yml:3: fault.events[0].count"},
      {"name: a\nhypothesis: h\nfault: {kind: ingest_failover, fallback: x}\n",
       "s.yml:3: fault: an ingest_failover needs 'results_file'"},
      {"name: a\nhypothesis: h\nfault: {kind: command, run: a}\n",
       "s.yml:3: fault: a command fault needs 'run' and 'undo' (the undo runs after a crash too)"},
      {"name: a\nhypothesis: h\nfault: {kind: feed_stall, topics: ['Bad Topic']}\n",
       "s.yml:3: fault.topics: 'Bad Topic'"},
      {"name: a\nhypothesis: h\nfault: {kind: receiver_outage, receiver: x}\n"
       "steady_state:\n  - weather: {at_most: ok}\n",
       "s.yml:5: steady_state[0]: unknown check 'weather' (known: readiness, gate, component, "
       "alert, no_alert or metric)"},
      {"name: a\nhypothesis: h\nfault: {kind: receiver_outage, receiver: x}\n"
       "during:\n  - metric: {name: 'bad name', at_least: 1}\n",
       "s.yml:5: during[0].metric.name: 'bad name' is not a metric name"},
      {"name: a\nhypothesis: h\nfault: {kind: receiver_outage, receiver: x}\n"
       "during:\n  - metric: {name: up}\n",
       "s.yml:5: during[0].metric needs at_most or at_least"},
      {"name: a\nhypothesis: h\nfault: {kind: receiver_outage, receiver: x}\n"
       "abort_if:\n  - gate: {at_least: red}\n",
       "s.yml:5: abort_if[0].gate.at_least must be pass, warn or block, got 'red'"},
      {"name: a\nhypothesis: h\nfault: {kind: receiver_outage, receiver: x}\n"
       "expect: {alert: 'a=~\"(\"'}\n",
       "s.yml:4: expect.alert:"},
      {"name: a\nhypothesis: h\nfault: {kind: receiver_outage, receiver: x}\nextra: 1\n",
       "s.yml:4: unknown key 'extra'"},
  };
  for (const auto& c : cases) {
    const auto r = parse_scenario(c.yaml, "s.yml");
    ASSERT_FALSE(r.has_value()) << c.yaml;
    EXPECT_NE(errors_of(r).find(c.want), std::string::npos) << c.yaml << "\ngot:\n" << errors_of(r);
  }
}

TEST(DrillsConfig, LoadsScenarioFilesAndChecksTheirReceivers) {
  opsready::testing::TempDir dir{"opsready-drills-config"};
  const auto d = dir.path();
  std::filesystem::create_directories(d / "drills");
  const auto write = [](const std::filesystem::path& p, const std::string& text) {
    std::ofstream(p) << text;
  };
  write(d / "drills" / "b.yml",
        "name: b\nhypothesis: h\nfault: {kind: receiver_outage, receiver: desk}\n");
  write(d / "drills" / "a.yaml",
        "name: a\nhypothesis: h\nfault: {kind: command, run: 'true', undo: 'true'}\n");
  write(d / "drills" / "notes.txt", "not a scenario");
  const std::string alerting =
      "alerting:\n  route: {receiver: desk}\n  receivers:\n    - name: desk\n";
  write(d / "opsready.yml", alerting + "drills:\n  scenarios: [drills]\n  poll_interval: 20ms\n");
  auto cfg = load_config_file(d / "opsready.yml");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().front().describe();
  ASSERT_EQ(cfg->drills.scenarios.size(), 2u);
  EXPECT_EQ(cfg->drills.scenarios[0].name, "a");  // by name
  EXPECT_EQ(cfg->drills.scenarios[1].name, "b");
  EXPECT_EQ(cfg->drills.poll_interval, 20ms);

  // A receiver the policy does not have, and an error inside a scenario file: each named.
  write(d / "drills" / "b.yml",
        "name: b\nhypothesis: h\nfault: {kind: receiver_outage, receiver: pager}\n");
  write(d / "drills" / "c.yml", "name: c\nhypothesis: h\nfault: {kind: nope}\n");
  cfg = load_config_file(d / "opsready.yml");
  ASSERT_FALSE(cfg.has_value());
  std::string all;
  for (const auto& e : cfg.error()) all += e.describe() + "\n";
  EXPECT_NE(all.find("names receiver 'pager', which the alerting policy does not have"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find((d / "drills" / "c.yml").string() + ":3: fault.kind must be"),
            std::string::npos)
      << all;
}

TEST(DrillsConfig, ExpectedSourcesFeedTheDeadManSwitch) {
  auto cfg = parse_config(
      "ingest:\n  expected_sources:\n    - {name: fix_session, topic: telemetry.fix.>, after: "
      "2s}\n",
      "t.yml");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().front().describe();
  ASSERT_EQ(cfg->expected_sources.size(), 1u);
  EXPECT_EQ(cfg->expected_sources[0].name, "fix_session");
  EXPECT_EQ(cfg->expected_sources[0].topic_pattern, "telemetry.fix.>");
  EXPECT_EQ(cfg->expected_sources[0].after, 2s);
  cfg = parse_config("ingest:\n  expected_sources:\n    - {name: x, topic: 'A B'}\n", "t.yml");
  ASSERT_FALSE(cfg.has_value());
  std::string all;
  for (const auto& e : cfg.error()) all += e.describe() + "\n";
  EXPECT_NE(all.find("needs 'after'"), std::string::npos) << all;
}

}  // namespace
}  // namespace opsready::app
