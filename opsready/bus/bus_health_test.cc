#include "opsready/bus/bus_health.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "opsready/core/time.h"

namespace opsready::bus {
namespace {

using core::Status;

const core::TimePoint kNow = core::parse_rfc3339("2025-01-02T12:00:00Z").value();

// A bus with nothing to report: running, used, listened to.
BusCounters healthy() {
  BusCounters c;
  c.running = true;
  c.published = 10;
  c.delivered = 10;
  c.queue_capacity = 65536;
  c.subscriber_count = 1;
  c.topic_subscribers = {{"telemetry.>", 1}};
  c.last_event_at = kNow;
  c.started_at = kNow - std::chrono::seconds(90);
  return c;
}

std::vector<std::string> codes(const core::ComponentSnapshot& s) {
  std::vector<std::string> out;
  for (const auto& i : s.issues) out.push_back(i.code);
  return out;
}

TEST(BusHealth, HealthyBusIsOk) {
  const auto s = evaluate_bus_health(healthy(), kNow);
  EXPECT_EQ(s.component, "event_bus");
  EXPECT_EQ(s.status, Status::kOk);
  EXPECT_TRUE(s.issues.empty());
  EXPECT_EQ(s.observed_at, kNow);
  EXPECT_EQ(s.summary,
            "running, queue 0/65536, 10 events published, 0 dropped, 0 handler errors, "
            "1 subscriber");
  EXPECT_EQ(s.metadata["expected"], true);
  EXPECT_EQ(s.metadata["uptime_seconds"], 90.0);
  EXPECT_EQ(s.metadata["last_event_at"], "2025-01-02T12:00:00Z");
  EXPECT_EQ(s.metadata["topic_subscribers"]["telemetry.>"], 1);
}

TEST(BusHealth, ThresholdsAtTheirExactBoundaries) {
  struct Case {
    const char* name;
    void (*mutate)(BusCounters&);
    Status want;
    const char* code;  // expected single issue code, "" for none
  };
  const Case cases[] = {
      {"queue 99", [](BusCounters& c) { c.queue_depth = 99; }, Status::kOk, ""},
      {"queue 100", [](BusCounters& c) { c.queue_depth = 100; }, Status::kWarn, "queue_backlog"},
      {"queue 499", [](BusCounters& c) { c.queue_depth = 499; }, Status::kWarn, "queue_backlog"},
      {"queue 500", [](BusCounters& c) { c.queue_depth = 500; }, Status::kFail, "queue_backlog"},
      {"dropped 0", [](BusCounters& c) { c.dropped = 0; }, Status::kOk, ""},
      {"dropped 1", [](BusCounters& c) { c.dropped = 1; }, Status::kWarn, "events_dropped"},
      {"dropped 4", [](BusCounters& c) { c.dropped = 4; }, Status::kWarn, "events_dropped"},
      {"dropped 5", [](BusCounters& c) { c.dropped = 5; }, Status::kFail, "events_dropped"},
      {"errors 1", [](BusCounters& c) { c.handler_errors = 1; }, Status::kWarn, "handler_errors"},
      {"errors 2", [](BusCounters& c) { c.handler_errors = 2; }, Status::kWarn, "handler_errors"},
      {"errors 3", [](BusCounters& c) { c.handler_errors = 3; }, Status::kFail, "handler_errors"},
      {"idle 300s", [](BusCounters& c) { c.last_event_at = kNow - std::chrono::seconds(300); },
       Status::kOk, ""},
      {"idle 300s+1ns",
       [](BusCounters& c) {
         c.last_event_at = kNow - std::chrono::seconds(300) - std::chrono::nanoseconds(1);
       },
       Status::kWarn, "bus_idle"},
      {"no subscribers", [](BusCounters& c) { c.subscriber_count = 0; }, Status::kWarn,
       "no_subscribers"},
      {"nothing published",
       [](BusCounters& c) {
         c.published = 0;
         c.last_event_at.reset();
       },
       Status::kWarn, "no_events_published"},
      {"expected, not running", [](BusCounters& c) { c.running = false; }, Status::kFail,
       "bus_not_running"},
  };
  for (const auto& c : cases) {
    BusCounters counters = healthy();
    c.mutate(counters);
    const auto s = evaluate_bus_health(counters, kNow);
    EXPECT_EQ(s.status, c.want) << c.name;
    const std::vector<std::string> want_codes =
        std::string(c.code).empty() ? std::vector<std::string>{} : std::vector<std::string>{c.code};
    EXPECT_EQ(codes(s), want_codes) << c.name;
    for (const auto& issue : s.issues) {
      EXPECT_EQ(issue.severity, core::severity_for(c.want)) << c.name;
      EXPECT_EQ(issue.runbook, kBusOutageRunbook);
    }
  }
}

TEST(BusHealth, MessagesFollowTheSpec) {
  BusCounters c = healthy();
  c.handler_errors = 1;
  EXPECT_EQ(evaluate_bus_health(c, kNow).issues.at(0).message, "1 handler error recorded");
  c.handler_errors = 4;
  EXPECT_EQ(evaluate_bus_health(c, kNow).issues.at(0).message, "4 handler errors recorded");
  c = healthy();
  c.queue_depth = 120;
  EXPECT_EQ(evaluate_bus_health(c, kNow).issues.at(0).message,
            "Queue has 120 pending events; monitor backlog");
  c.queue_depth = 700;
  EXPECT_EQ(evaluate_bus_health(c, kNow).issues.at(0).message,
            "Queue has 700 pending events; worker may be stalled");
  c = healthy();
  c.last_event_at = kNow - std::chrono::minutes(10);
  EXPECT_EQ(evaluate_bus_health(c, kNow).issues.at(0).message,
            "No events observed in the last 5m (last event 10m ago)");
}

TEST(BusHealth, NotExpectedAndNotRunningOnlyWarns) {
  BusCounters c;  // a fresh, stopped, unused bus
  const auto expected = evaluate_bus_health(c, kNow);
  EXPECT_EQ(expected.status, Status::kFail);
  EXPECT_EQ(codes(expected),
            (std::vector<std::string>{"bus_not_running", "no_events_published", "no_subscribers"}));
  EXPECT_EQ(expected.issues[0].message, "Event bus is not running; telemetry will be dropped");
  const auto optional = evaluate_bus_health(c, kNow, {.expected = false});
  EXPECT_EQ(optional.status, Status::kWarn);
  EXPECT_EQ(codes(optional), std::vector<std::string>{"bus_inactive"});
  EXPECT_EQ(optional.metadata["expected"], false);
  EXPECT_FALSE(optional.metadata.contains("uptime_seconds"));
}

// The spec's combined case: injected statistics with a lowered queue threshold.
TEST(BusHealth, CombinedFailureMergesCallerMetadata) {
  BusCounters c = healthy();
  c.queue_depth = 250;
  c.dropped = 6;
  c.handler_errors = 4;
  c.last_event_at = kNow - std::chrono::seconds(600);
  c.last_error_at = kNow - std::chrono::seconds(5);
  const auto s = evaluate_bus_health(
      c, kNow,
      {.queue_fail = 200, .service = "nats", .metadata = {{"region", "eu-1"}, {"expected", "x"}}});
  EXPECT_EQ(s.status, Status::kFail);
  EXPECT_EQ(codes(s), (std::vector<std::string>{"queue_backlog", "events_dropped", "handler_errors",
                                                "bus_idle"}));
  EXPECT_NE(s.issues[0].message.find("250 pending events"), std::string::npos);
  EXPECT_NE(s.issues[1].message.find("6 events dropped"), std::string::npos);
  EXPECT_NE(s.issues[2].message.find("4 handler errors"), std::string::npos);
  EXPECT_NE(s.issues[3].message.find("No events observed"), std::string::npos);
  EXPECT_EQ(s.metadata["region"], "eu-1");
  EXPECT_EQ(s.metadata["expected"], "x") << "caller metadata wins";
  EXPECT_EQ(s.metadata["service"], "nats");
  EXPECT_EQ(s.metadata["dropped_events"], 6);
  EXPECT_EQ(s.metadata["last_error_at"], "2025-01-02T11:59:55Z");
}

TEST(BusHealth, PublishedAsAnEventOnItsTopic) {
  const auto s = evaluate_bus_health(healthy(), kNow);
  const core::TelemetryEvent e = bus_health_event(s);
  EXPECT_EQ(e.topic, "telemetry.event_bus.health");
  EXPECT_EQ(e.source, "operations.event_bus_health");
  EXPECT_EQ(e.time, kNow);
  auto back = core::component_snapshot_from_json(e.payload, kNow);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(back->component, "event_bus");
  EXPECT_EQ(back->status, Status::kOk);
}

}  // namespace
}  // namespace opsready::bus
