#pragma once
// Ingest parsing for POST /api/v1/events: a JSON object, a JSON array of objects, or NDJSON
// (one object per line). Every event is validated; the result lists every bad event with its
// index, field and reason, so the caller can reject the whole request and apply none of it.
//
//   IngestParse p = parse_events(body, clock.now());
//   if (!p.errors.empty()) reply_400(errors_to_json(p.errors));
//
// An event on topic `opsready.component.snapshot` must carry a valid ComponentSnapshot as its
// payload. Pure functions; thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/core/clock.h"
#include "opsready/core/event.h"

namespace opsready::server {

struct IngestError {
  std::size_t index = 0;  // 0-based event index in the request
  std::size_t line = 0;   // 1-based line for NDJSON bodies, else 0
  std::string field;      // e.g. "topic", "payload.status"; empty when the event is unparsable
  std::string reason;

  bool operator==(const IngestError&) const = default;
};

struct IngestParse {
  std::vector<core::TelemetryEvent> events;
  std::vector<IngestError> errors;
};

// `received_at` fills missing event times. Invalid UTF-8 is refused as a whole-body error.
[[nodiscard]] IngestParse parse_events(std::string_view body, core::TimePoint received_at);

// {"error": "...", "rejected": n, "errors": [{index, line?, field, reason}]}
[[nodiscard]] nlohmann::json errors_to_json(const std::vector<IngestError>& errors,
                                            std::size_t total);

}  // namespace opsready::server
