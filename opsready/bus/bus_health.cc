#include "opsready/bus/bus_health.h"

#include "opsready/core/time.h"

namespace opsready::bus {
namespace {

void add_issue(core::ComponentSnapshot& s, core::Status status, std::string code,
               std::string message) {
  s.status = core::escalate(s.status, status);
  s.issues.push_back(core::Issue{std::move(code), core::severity_for(status), std::move(message),
                                 std::string(kBusOutageRunbook)});
}

std::string plural(std::uint64_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

}  // namespace

core::ComponentSnapshot evaluate_bus_health(const BusCounters& c, core::TimePoint now,
                                            const BusHealthOptions& o) {
  core::ComponentSnapshot s;
  s.component = std::string(kBusHealthComponent);
  s.observed_at = now;

  if (!c.running) {
    if (o.expected) {
      add_issue(s, core::Status::kFail, "bus_not_running",
                "Event bus is not running; telemetry will be dropped");
    } else {
      add_issue(s, core::Status::kWarn, "bus_inactive", "Event bus is inactive");
    }
  }
  if (c.queue_depth >= o.queue_fail) {
    add_issue(
        s, core::Status::kFail, "queue_backlog",
        "Queue has " + std::to_string(c.queue_depth) + " pending events; worker may be stalled");
  } else if (c.queue_depth >= o.queue_warn) {
    add_issue(s, core::Status::kWarn, "queue_backlog",
              "Queue has " + std::to_string(c.queue_depth) + " pending events; monitor backlog");
  }
  if (c.dropped > 0) {
    add_issue(s, c.dropped < o.dropped_fail ? core::Status::kWarn : core::Status::kFail,
              "events_dropped",
              plural(c.dropped, "event", "events") +
                  " dropped while the bus was inactive or its queue was full");
  }
  if (c.handler_errors > 0) {
    add_issue(s,
              c.handler_errors < o.handler_errors_fail ? core::Status::kWarn : core::Status::kFail,
              "handler_errors",
              plural(c.handler_errors, "handler error", "handler errors") + " recorded");
  }
  if (o.expected && c.published == 0) {
    add_issue(s, core::Status::kWarn, "no_events_published",
              "No events published on the bus yet; confirm publishers are wired");
  }
  if (o.expected && c.published > 0 && c.last_event_at && now - *c.last_event_at > o.idle_warn) {
    add_issue(s, core::Status::kWarn, "bus_idle",
              "No events observed in the last " + core::format_duration(o.idle_warn) +
                  " (last event " + core::format_duration(now - *c.last_event_at) + " ago)");
  }
  if (o.expected && c.subscriber_count == 0) {
    add_issue(s, core::Status::kWarn, "no_subscribers",
              "No subscribers registered; telemetry consumers may be missing");
  }

  s.summary = std::string(c.running ? "running" : "not running") + ", queue " +
              std::to_string(c.queue_depth) +
              (c.queue_capacity ? "/" + std::to_string(*c.queue_capacity) : std::string()) + ", " +
              plural(c.published, "event", "events") + " published, " + std::to_string(c.dropped) +
              " dropped, " + plural(c.handler_errors, "handler error", "handler errors") + ", " +
              plural(c.subscriber_count, "subscriber", "subscribers");

  nlohmann::json topics = nlohmann::json::object();
  for (const auto& [pattern, n] : c.topic_subscribers) topics[pattern] = n;
  nlohmann::json m = {
      {"service", o.service},
      {"expected", o.expected},
      {"running", c.running},
      {"queue_size", c.queue_depth},
      {"queue_capacity",
       c.queue_capacity ? nlohmann::json(*c.queue_capacity) : nlohmann::json(nullptr)},
      {"subscriber_count", c.subscriber_count},
      {"topic_subscribers", topics},
      {"published_events", c.published},
      {"delivered_events", c.delivered},
      {"dropped_events", c.dropped},
      {"handler_errors", c.handler_errors},
  };
  if (c.running && c.started_at) m["uptime_seconds"] = core::to_seconds(now - *c.started_at);
  if (c.last_event_at) m["last_event_at"] = core::format_rfc3339(*c.last_event_at);
  if (c.last_error_at) m["last_error_at"] = core::format_rfc3339(*c.last_error_at);
  if (o.metadata.is_object()) {
    for (const auto& [k, v] : o.metadata.items()) m[k] = v;
  }
  s.metadata = std::move(m);
  return s;
}

core::TelemetryEvent bus_health_event(const core::ComponentSnapshot& snapshot) {
  return core::TelemetryEvent{std::string(kBusHealthTopic), std::string(kBusHealthSource),
                              snapshot.observed_at, core::to_json(snapshot)};
}

}  // namespace opsready::bus
