#pragma once
// Record: the decision record of acknowledgement and escalation (issue 11 §5), and the response
// times computed from it. Acks (ack.h) appends one Record per decision: a group opened, a
// notification sent or held back, an ack given, taken back, expired or cleared, an escalation
// step fired, a group resolved. The records are the audit trail and the input of the MTTA/MTTR
// report; they are facts, never read back to rebuild state (Acks has its own snapshot).
//
//   for (Record& r : acks.take_records()) log.push_back(std::move(r));   // JSON lines: to_json(r)
//   std::vector<Incident> done = incidents(log);
//   ResponseSummary s = summarise(done);          // s.mtta.p95, s.unacknowledged, ...
//   body["alert_response"] = to_json(s);
//
// Definitions (ANCHORS §4; the original's ci_metrics.summarise_alert_timeline, spec §12.2):
//  - an incident is one opened→resolved span of a group: a kOpened record starts it, the next
//    kResolved record of the same group ends it; a group that opens again after that is a new
//    incident. A kOpened of a group whose incident is still open starts a new one too, leaving
//    the old one unresolved (a lost kResolved, e.g. a crash between the two writes);
//  - MTTA = first kAcked − opened; MTTR = kResolved − opened. Both start at open, not at the
//    ack, as in the original and in PagerDuty; "opened" is the group's first notification, so
//    group_wait is not part of either;
//  - records of a group without an open incident (a log that starts mid-incident) are ignored.
//
// Plain values and pure functions; thread-safe as values are.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/core/clock.h"
#include "opsready/core/error.h"

namespace opsready::alerting {

enum class RecordKind {
  kOpened,      // the group's first notification; receiver = the group's receiver
  kNotified,    // a notification went out; detail = its reason (to_string(NotifyReason))
  kHeld,        // a repeat held back by an ack; by = who acked
  kAcked,       // by = who; detail = the comment; a re-ack is another kAcked
  kUnacked,     // by = who took it back; detail = "ack by <who acked>"
  kAckExpired,  // at = the ack's expires_at; by = who acked
  kAckCleared,  // new alerts or a severity rise ended the ack; by = who acked; detail = why
  kEscalated,   // receiver = the step's receiver; detail = "step <i> after <after>"
  kResolved,    // the group resolved or disappeared; detail = "ack by <who>" when it was acked
};

// "opened", "notified", "held", "acked", "unacked", "ack_expired", "ack_cleared",
// "escalated", "resolved".
[[nodiscard]] std::string_view to_string(RecordKind kind);
// The inverse of to_string(); std::nullopt for any other text.
[[nodiscard]] std::optional<RecordKind> record_kind_from_string(std::string_view text);

struct Record {
  RecordKind kind = RecordKind::kOpened;
  std::string group;  // GroupKey::to_string()
  std::string receiver;
  core::TimePoint at{};
  std::string by;
  std::string detail;
  std::string channel;         // kAcked: where the ack was given (Ack::channel); else empty
  std::uint64_t sequence = 0;  // 1, 2, ... per Acks, continued across restore()

  bool operator==(const Record&) const = default;
};

// {"kind", "group", "receiver", "at" (RFC 3339), "by", "detail", "channel", "sequence"}; every
// key is written, empty strings too.
[[nodiscard]] nlohmann::json to_json(const Record& r);
// The inverse of to_json(). "kind", "group", "at" and "sequence" are required; "receiver",
// "by", "detail" and "channel" default to empty (records written before "channel" existed). Errors
// name the field: `record_wrong_type`, `record_missing_field`, `record_unknown_kind`,
// `record_invalid_timestamp`.
[[nodiscard]] core::Result<Record> record_from_json(const nlohmann::json& j);

struct Incident {
  std::uint64_t id = 0;  // the kOpened record's sequence: unique per store, stable
  std::string group;
  std::string receiver;  // the kOpened record's
  core::TimePoint opened_at{};
  std::optional<core::TimePoint> acknowledged_at;  // the first kAcked
  std::string acknowledged_by;                     // its `by`
  std::string acknowledged_via;                    // its `channel`
  std::optional<core::TimePoint> resolved_at;      // std::nullopt: still open
  std::size_t escalations = 0;                     // kEscalated records in the span

  bool operator==(const Incident&) const = default;

  // acknowledged_at − opened_at; std::nullopt when never acknowledged.
  [[nodiscard]] std::optional<core::Duration> mtta() const;
  // resolved_at − opened_at; std::nullopt while open.
  [[nodiscard]] std::optional<core::Duration> mttr() const;
};

// The incidents that `records` (in the order Acks made them) describe, in the order they
// opened (see the overview).
[[nodiscard]] std::vector<Incident> incidents(std::span<const Record> records);

// Statistics of a set of durations; all zero when count is 0. p50 and p95 are nearest-rank
// (the ceil(p·n)-th smallest, as components/sliding_quantiles.h), so each is a sample; mean is
// exact to the nanosecond (rounded toward zero).
struct DurationStats {
  std::size_t count = 0;
  core::Duration mean{};
  core::Duration p50{};
  core::Duration p95{};
  core::Duration max{};

  bool operator==(const DurationStats&) const = default;
};

[[nodiscard]] DurationStats duration_stats(std::vector<core::Duration> samples);

struct ResponseSummary {
  std::size_t incidents = 0;
  std::size_t resolved = 0;
  std::size_t open = 0;            // incidents - resolved
  std::size_t acknowledged = 0;    // with at least one ack
  std::size_t unacknowledged = 0;  // incidents - acknowledged, open or resolved
  std::size_t escalated = 0;       // with at least one escalation step fired
  DurationStats mtta;              // over the acknowledged incidents
  DurationStats mttr;              // over the resolved incidents

  bool operator==(const ResponseSummary&) const = default;
};

[[nodiscard]] ResponseSummary summarise(std::span<const Incident> incidents);

// The original's renderings of a response time (spec §12.2): whole seconds rounded half to
// even (Python's round()); minutes rounded to 2 decimals; "H:MM:SS" of the rounded seconds
// clamped at zero, hours unbounded ("26:00:00" where Python would print "1 day, 2:00:00").
[[nodiscard]] std::int64_t rounded_seconds(core::Duration d);
[[nodiscard]] double rounded_minutes(core::Duration d);
[[nodiscard]] std::string readable(core::Duration d);

// {"id" (decimal text), "group", "receiver", "opened_at", "acknowledged_at", "acknowledged_by",
//  "acknowledged_via", "resolved_at",
//  "escalations", "mtta_seconds", "mtta_minutes", "mtta_readable", "mttr_seconds",
//  "mttr_minutes", "mttr_readable"}: the original's key names; a missing time or response time
// is null, a missing acknowledged_by / acknowledged_via "".
[[nodiscard]] nlohmann::json to_json(const Incident& i);

// {"incidents", "resolved", "open", "acknowledged", "unacknowledged", "escalated",
//  "mtta": {"count", "mean", "p50", "p95", "max"}, "mttr": {...}} where each statistic is
// {"seconds", "minutes", "readable"}, or null when its count is 0.
[[nodiscard]] nlohmann::json to_json(const ResponseSummary& s);

}  // namespace opsready::alerting
