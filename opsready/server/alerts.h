#pragma once
// Alert ingest for POST /api/v2/alerts: Alertmanager's API v2 `postableAlerts` body, parsed and
// validated the way Alertmanager 0.25 does it (api/v2 postAlertsHandler, types.Alert.Validate),
// so a Prometheus server can use opsready as its alertmanager unchanged.
//
//   AlertsParse p = parse_alerts(body, clock.now(), std::chrono::minutes(5));
//   store.put_alerts(p.alerts);                  // the valid ones, best effort
//   if (!p.errors.empty()) reply_400(alert_errors_to_json(p));
//
// Per alert: labels are required; labels with an empty value are dropped first (Prometheus
// uses an empty value to mean "no label") and at least one must remain; label and annotation
// names match [a-zA-Z_][a-zA-Z0-9_]*; values are strings. startsAt missing → endsAt if given,
// else `now`; endsAt missing → now + resolve_timeout, marked `timeout`; endsAt before startsAt
// is refused ("start time must be before end time"). A body that is not valid UTF-8 or not a
// JSON array is refused whole. Pure functions; thread-safe.
//
// The body is read with simdjson On-Demand (the hot path: Prometheus posts every firing alert
// each resend interval). A body simdjson refuses is read again with nlohmann-json, which words
// the syntax error ("malformed JSON: [json.exception.parse_error.101] ..."); both readings feed
// the same validation, so the result does not depend on which parser read the body.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/core/alert.h"
#include "opsready/core/clock.h"

namespace opsready::server {

struct AlertError {
  std::size_t index = 0;  // 0-based position in the posted array
  std::string field;      // e.g. "labels", "labels.1x", "endsAt"; empty for the whole body
  std::string reason;

  bool operator==(const AlertError&) const = default;
};

struct AlertsParse {
  bool body_ok = true;              // false: the body is not a JSON array; nothing was parsed
  std::size_t total = 0;            // alerts in the array
  std::vector<core::Alert> alerts;  // the valid ones, in posted order, fingerprints set
  std::vector<AlertError> errors;

  bool operator==(const AlertsParse&) const = default;
};

[[nodiscard]] AlertsParse parse_alerts(std::string_view body, core::TimePoint now,
                                       core::Duration resolve_timeout);
// The same, into `out`, whose alerts (from an earlier parse) are reused: their strings and map
// nodes take the new values without allocating when the label sets keep their shape, as a
// sender's alerts from one rule do. For a caller that keeps one AlertsParse per thread.
void parse_alerts(std::string_view body, core::TimePoint now, core::Duration resolve_timeout,
                  AlertsParse& out);
// The same parse with nlohmann-json only: the reference the fast path is tested against, and
// the path a body simdjson refuses takes.
[[nodiscard]] AlertsParse parse_alerts_reference(std::string_view body, core::TimePoint now,
                                                 core::Duration resolve_timeout);

// {"error": "...", "accepted": n, "rejected": m, "errors": [{index, field, reason}]}
[[nodiscard]] nlohmann::json alert_errors_to_json(const AlertsParse& p);

}  // namespace opsready::server
