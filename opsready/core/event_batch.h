#pragma once
// Event batches: the body of POST /api/v1/events and of a NATS message on
// `opsready.events.<topic>` — a JSON object, a JSON array of objects, or NDJSON (one object
// per line). Every event is validated; the result lists every bad event with its index, field
// and reason, so the caller can reject the whole batch and apply none of it.
//
//   IngestParse p = parse_events(body, clock.now());
//   if (!p.errors.empty()) reply_400(errors_to_json(p.errors));
//   // NATS: the subject names the topic; events may omit it, and must not contradict it.
//   IngestParse q = parse_events(msg_body, clock.now(), "telemetry.ingest.lag");
//
// An event on topic `opsready.component.snapshot` must carry a valid ComponentSnapshot as its
// payload. Pure functions; thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/core/clock.h"
#include "opsready/core/event.h"

namespace opsready::core {

struct IngestError {
  std::size_t index = 0;  // 0-based event index in the request
  std::size_t line = 0;   // 1-based line for NDJSON bodies, else 0
  std::string field;      // e.g. "topic", "payload.status"; empty when the event is unparsable
  std::string reason;

  bool operator==(const IngestError&) const = default;
};

struct IngestParse {
  std::vector<TelemetryEvent> events;
  std::vector<IngestError> errors;
};

// `received_at` fills missing event times. Invalid UTF-8 is refused as a whole-body error.
// A non-empty `subject_topic` (the topic a NATS subject names) is the topic of events that
// give none; an event naming another topic is refused (field "topic").
[[nodiscard]] IngestParse parse_events(std::string_view body, TimePoint received_at,
                                       std::string_view subject_topic = {});

// {"error": "...", "rejected": n, "errors": [{index, line?, field, reason}]}
[[nodiscard]] nlohmann::json errors_to_json(const std::vector<IngestError>& errors,
                                            std::size_t total);

}  // namespace opsready::core
