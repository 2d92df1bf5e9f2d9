#include "opsready/core/event_batch.h"

#include "opsready/core/snapshot.h"
#include "opsready/core/text.h"

namespace opsready::core {
namespace {

// nlohmann's non-throwing parse gives no position; re-parse with exceptions for the message.
std::string malformed_reason(std::string_view text) {
  try {
    const auto j = nlohmann::json::parse(text);
    static_cast<void>(j);
  } catch (const nlohmann::json::exception& e) {
    return std::string("malformed JSON: ") + e.what();
  }
  return "malformed JSON";
}

struct Context {
  TimePoint received_at;
  std::string_view subject_topic;
};

void validate_one(const nlohmann::json& j, std::size_t index, std::size_t line, const Context& cx,
                  IngestParse& out) {
  Result<TelemetryEvent> event = [&]() -> Result<TelemetryEvent> {
    if (cx.subject_topic.empty() || !j.is_object()) return event_from_json(j, cx.received_at);
    const auto topic = j.find("topic");
    if (topic == j.end()) {
      nlohmann::json with_topic = j;
      with_topic["topic"] = cx.subject_topic;
      return event_from_json(with_topic, cx.received_at);
    }
    if (topic->is_string() && topic->get_ref<const std::string&>() != cx.subject_topic) {
      return fail("topic_mismatch",
                  "'" + topic->get<std::string>() + "' is not the subject's topic '" +
                      std::string(cx.subject_topic) + "'",
                  "topic");
    }
    return event_from_json(j, cx.received_at);
  }();
  if (!event) {
    out.errors.push_back({index, line, event.error().field, event.error().message});
    return;
  }
  if (event->topic == kComponentSnapshotTopic) {
    auto snap = component_snapshot_from_json(event->payload, event->time);
    if (!snap) {
      const auto& f = snap.error().field;
      out.errors.push_back(
          {index, line, f.empty() ? "payload" : "payload." + f, snap.error().message});
      return;
    }
  }
  out.events.push_back(std::move(*event));
}

}  // namespace

IngestParse parse_events(std::string_view body, TimePoint received_at,
                         std::string_view subject_topic) {
  const Context cx{received_at, subject_topic};
  IngestParse out;
  if (!is_valid_utf8(body)) {
    out.errors.push_back({0, 0, "", "request body is not valid UTF-8"});
    return out;
  }
  const std::string_view trimmed = trim(body);
  if (trimmed.empty()) {
    out.errors.push_back({0, 0, "",
                          "request body is empty (expected a JSON event, an array of "
                          "events or NDJSON)"});
    return out;
  }
  // A whole-body JSON document: an object or an array of objects.
  auto whole = nlohmann::json::parse(trimmed, nullptr, /*allow_exceptions=*/false);
  if (!whole.is_discarded()) {
    if (whole.is_array()) {
      for (std::size_t i = 0; i < whole.size(); ++i) validate_one(whole[i], i, 0, cx, out);
      if (whole.empty()) out.errors.push_back({0, 0, "", "the event array is empty"});
    } else {
      validate_one(whole, 0, 0, cx, out);
    }
    return out;
  }
  // NDJSON: one event per non-blank line. A body that is one line is a malformed document.
  std::size_t index = 0;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  const bool multi_line = trimmed.find('\n') != std::string_view::npos;
  if (!multi_line) {
    out.errors.push_back({0, 0, "", malformed_reason(trimmed)});
    return out;
  }
  while (pos <= body.size()) {
    const auto nl = body.find('\n', pos);
    const std::string_view line =
        body.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    ++line_no;
    pos = nl == std::string_view::npos ? body.size() + 1 : nl + 1;
    if (trim(line).empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) {
      out.errors.push_back({index, line_no, "", malformed_reason(line)});
    } else {
      validate_one(j, index, line_no, cx, out);
    }
    ++index;
  }
  return out;
}

nlohmann::json errors_to_json(const std::vector<IngestError>& errors, std::size_t total) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& e : errors) {
    nlohmann::json item = {{"index", e.index}, {"field", e.field}, {"reason", e.reason}};
    if (e.line > 0) item["line"] = e.line;
    list.push_back(std::move(item));
  }
  return {{"error", "request rejected: " + std::to_string(errors.size()) + " invalid event(s) of " +
                        std::to_string(total) + "; nothing was applied"},
          {"rejected", errors.size()},
          {"errors", std::move(list)}};
}

}  // namespace opsready::core
