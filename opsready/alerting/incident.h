#pragma once
// Incident timelines (issue 12, "MTTA / MTTR from our own log"): what happened to one alert
// group between its first notification and its resolution, from the decision records
// (record.h: opened, notified, held, acked, escalated, resolved, ...) and the outbox rows that
// carried its notifications (store.h: when each receiver's integration accepted one, or refused
// it). No hand-typed timeline: the original's `alert_drill.py --opened-at ... --ack-at ...`
// becomes a rendering of what opsready recorded.
//
//   std::vector<IncidentTimeline> all = timelines(records, outbox_rows);
//   nlohmann::json api = to_json(all.front());          // GET /api/v1/incidents/{id}
//   nlohmann::json brief = to_drill_json(all.front(), now);   // spec §12.1's timeline shape
//   std::string md = to_markdown(all.front());
//
//   ResponseTracker t;                                  // the /metrics histograms
//   for (const Record& r : stored) t.feed(r);           // restore, at start
//   if (auto rt = t.feed(record)) histogram(rt->kind, rt->receiver).observe(rt->value);
//
// Definitions: record.h's (an incident is one opened→resolved span of a group; MTTA and MTTR
// both from open, as spec §12.2 and PagerDuty). An outbox row belongs to the incident of its
// group that was open when it was decided (opened_at ≤ decided_at ≤ resolved_at): the first
// notification is decided at the open instant, the "all resolved" one at the resolution.
//
// Plain values and pure functions; ResponseTracker is a single-owner value.

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/alerting/record.h"
#include "opsready/core/clock.h"
#include "opsready/store/store.h"

namespace opsready::alerting {

// One line of a timeline.
struct TimelineEvent {
  // A record's kind (to_string(RecordKind): "opened", "notified", "held", "acked", "unacked",
  // "ack_expired", "ack_cleared", "escalated", "resolved"), or a delivery of an outbox row:
  // "delivered" (accepted; at = done_at), "delivery_failed" (refused for good or given up;
  // at = done_at), "delivery_pending" (not accepted yet; at = decided_at).
  std::string type;
  core::TimePoint at{};
  std::string receiver;
  std::string integration;  // deliveries: "<type>/<index>", e.g. "slack/0"
  std::string by;           // acks and their ends: who
  std::string channel;      // acked: where the ack was given; deliveries: the integration type
  std::string detail;       // a record's detail; a delivery's reason, or its last error
  int attempts = 0;         // deliveries: requests made

  bool operator==(const TimelineEvent&) const = default;
};

struct IncidentTimeline {
  Incident incident;
  std::string group_id;  // the outbox rows' (engine::group_id); empty when it has none
  // When each receiver first accepted a notification of this incident (any integration).
  std::map<std::string, core::TimePoint> first_notified;
  std::size_t deliveries_failed = 0;
  std::vector<TimelineEvent> events;  // in time order; a record before a delivery at one time

  bool operator==(const IncidentTimeline&) const = default;
};

// The incidents `records` describe (record.h's incidents(), same order), each with its
// timeline: its records and the deliveries of the outbox rows that belong to it. `outbox` in
// any order.
[[nodiscard]] std::vector<IncidentTimeline> timelines(std::span<const Record> records,
                                                      std::span<const store::OutboxRow> outbox);

// to_json(Incident) plus "group_id", "first_notified": {receiver: RFC 3339},
// "deliveries_failed" and "events": [{"type", "at", "receiver"?, "integration"?, "by"?,
// "channel"?, "detail"?, "attempts"?}] (empty members left out).
[[nodiscard]] nlohmann::json to_json(const IncidentTimeline& t);

// The brief's timeline document (spec §12.1, what `alert_drill.py` writes and
// `ci_metrics.summarise_alert_timeline` reads): {"incident_id", "label" (= the id), "drill":
// false, "generated_at", "events": [{"type": "alert_opened" | "alert_acknowledged" |
// "alert_resolved", "timestamp" (whole seconds, UTC), "channel", "actor"?}], "note"}. The opened
// channel is the integration type that first accepted a notification ("opsready" when none
// did), the acknowledged one the ack's channel, the resolved one the integration type that
// first accepted the resolution ("opsready" when none did); the actor of the ack is who acked,
// of the others "opsready". The note names the group and its receiver.
[[nodiscard]] nlohmann::json to_drill_json(const IncidentTimeline& t, core::TimePoint now);

// A Markdown report: headline, MTTA/MTTR, first notification per receiver, the events table.
[[nodiscard]] std::string to_markdown(const IncidentTimeline& t);

// A response time completed by a record.
struct ResponseTime {
  enum class Kind { kAcknowledge, kResolve };
  Kind kind = Kind::kAcknowledge;
  std::string receiver;  // the incident's (the kOpened record's)
  core::Duration value{};

  bool operator==(const ResponseTime&) const = default;
};

// Follows the open incidents of a record stream, so that each first ack and each resolution
// can be observed once, as it happens (the MTTA/MTTR histograms on /metrics). Same definitions
// as incidents(): a kOpened starts an incident (replacing an unresolved one of the group), the
// first kAcked completes its time to acknowledge, kResolved its time to resolve and ends it.
class ResponseTracker {
 public:
  // The response time `r` completes, if any. Records must come in the order they were made.
  std::optional<ResponseTime> feed(const Record& r);
  [[nodiscard]] std::size_t open_count() const { return open_.size(); }

 private:
  struct Open {
    core::TimePoint opened_at{};
    std::string receiver;
    bool acknowledged = false;
  };
  std::map<std::string, Open, std::less<>> open_;
};

// MTTA / MTTR over a sliding window, from opsready's own incident log: what the
// incident_response component grades by default (docs/components.md "incident_response"), in
// place of the hand-filled INCIDENT_METRICS_* fields. Fed the same record stream as
// ResponseTracker (restored records first, then each record as it is made); a response time
// counts while it completed within `window` of `now`.
//
//   ResponseStats stats(std::chrono::days(30));
//   if (stats.feed(record)) component.set_incident_metrics(stats.summary(now));
class ResponseStats {
 public:
  struct Summary {
    std::optional<double> mtta_minutes;  // mean time to acknowledge, from open; none: no acks
    std::optional<double> mttr_minutes;  // mean time to resolve, from open; none: no resolves
    std::size_t acknowledged = 0;        // incidents acknowledged within the window
    std::size_t resolved = 0;            // incidents resolved within the window
    double sample_window_days = 0;

    bool operator==(const Summary&) const = default;
  };

  explicit ResponseStats(core::Duration window) : window_(window) {}

  // True when `r` completed a response time (the summary may have changed).
  bool feed(const Record& r);
  // The response times completed in (now - window, now]; older ones are dropped.
  [[nodiscard]] Summary summary(core::TimePoint now);
  // When the oldest response time in the window leaves it (the summary changes then), if any.
  [[nodiscard]] std::optional<core::TimePoint> next_change() const;

 private:
  struct Completed {
    core::TimePoint at{};
    core::Duration value{};
  };
  void drop_before(core::TimePoint cutoff);

  core::Duration window_;
  ResponseTracker tracker_;
  std::deque<Completed> acks_;      // in completion order
  std::deque<Completed> resolves_;  // in completion order
};

}  // namespace opsready::alerting
