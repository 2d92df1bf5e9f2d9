#pragma once
// Event-bus health: a pure function from a bus's counters to the readiness snapshot of the
// `event_bus` component (spec: event_bus_health.py), published on telemetry.event_bus.health.
//
//   core::ComponentSnapshot s = evaluate_bus_health(bus.counters(), clock.now());
//   failover.publish(bus_health_event(s));
//
// Rules, in this order; issues are appended and the status escalates:
//   1. expected and not running  -> fail  bus_not_running  "Event bus is not running; ..."
//      not expected, not running -> warn  bus_inactive
//   2. queue >= queue_fail (500) -> fail  queue_backlog; else >= queue_warn (100) -> warn
//   3. dropped 1..dropped_fail-1 (1-4) -> warn, >= dropped_fail (5) -> fail  events_dropped
//   4. handler errors 1..2 -> warn, >= 3 -> fail                              handler_errors
//   5. expected and nothing published -> warn                            no_events_published
//   6. expected, published, last event more than idle_warn (300 s) ago -> warn       bus_idle
//   7. expected and no subscriber -> warn                                      no_subscribers
// Issue severities follow the status (warn -> warning, fail -> critical). The metadata mirrors
// the counters under the spec's field names (running, queue_size, queue_capacity,
// subscriber_count, topic_subscribers, published_events, dropped_events, handler_errors,
// delivered_events, uptime_seconds, last_event_at, last_error_at) plus service and expected,
// overlaid by the caller's metadata. Thread-safe (pure).

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "opsready/bus/event_bus.h"
#include "opsready/core/event.h"
#include "opsready/core/snapshot.h"

namespace opsready::bus {

inline constexpr std::string_view kBusHealthComponent = "event_bus";
inline constexpr std::string_view kBusHealthTopic = "telemetry.event_bus.health";
inline constexpr std::string_view kBusHealthSource = "operations.event_bus_health";
inline constexpr std::string_view kBusOutageRunbook = "docs/bus.md#runbook-event-bus-outage";

struct BusHealthOptions {
  bool expected = true;  // the bus should be running (a stopped bus is then a failure)
  std::size_t queue_warn = 100;
  std::size_t queue_fail = 500;
  std::uint64_t dropped_fail = 5;         // 1 .. dropped_fail-1 dropped events warn
  std::uint64_t handler_errors_fail = 3;  // 1 .. handler_errors_fail-1 errors warn
  core::Duration idle_warn = std::chrono::seconds(300);
  std::string service = "event_bus";  // which bus, e.g. "nats" or "in_process"
  nlohmann::json metadata = nlohmann::json::object();
};

[[nodiscard]] core::ComponentSnapshot evaluate_bus_health(const BusCounters& counters,
                                                          core::TimePoint now,
                                                          const BusHealthOptions& options = {});

// The snapshot as an event on kBusHealthTopic from kBusHealthSource, timed at observed_at.
[[nodiscard]] core::TelemetryEvent bus_health_event(const core::ComponentSnapshot& snapshot);

}  // namespace opsready::bus
