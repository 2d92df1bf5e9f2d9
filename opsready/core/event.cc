#include "opsready/core/event.h"

#include <charconv>
#include <cmath>

#include "opsready/core/text.h"
#include "opsready/core/time.h"

namespace opsready::core {

nlohmann::json to_json(const TelemetryEvent& e) {
  return {{"topic", e.topic},
          {"source", e.source},
          {"time", format_rfc3339(e.time)},
          {"payload", e.payload}};
}

Result<TelemetryEvent> event_from_json(const nlohmann::json& j, TimePoint default_time) {
  if (!j.is_object()) return fail("invalid_event", "an event must be a JSON object");
  TelemetryEvent e;
  const auto topic = j.find("topic");
  if (topic == j.end()) return fail("missing_field", "required field is missing", "topic");
  if (!topic->is_string()) return fail("wrong_type", "must be a string", "topic");
  e.topic = topic->get<std::string>();
  if (!is_valid_topic(e.topic)) {
    return fail("invalid_topic",
                "'" + e.topic +
                    "' is not a topic (dot-separated lower-case tokens of [a-z0-9_-], "
                    "e.g. telemetry.ingest.health)",
                "topic");
  }
  if (const auto source = j.find("source"); source != j.end() && !source->is_null()) {
    if (!source->is_string()) return fail("wrong_type", "must be a string", "source");
    e.source = source->get<std::string>();
  }
  e.time = default_time;
  if (const auto time = j.find("time"); time != j.end() && !time->is_null()) {
    if (!time->is_string()) return fail("wrong_type", "must be an RFC 3339 string", "time");
    auto parsed = parse_rfc3339(time->get<std::string>());
    if (!parsed) return fail("invalid_timestamp", parsed.error().message, "time");
    e.time = *parsed;
  }
  if (const auto payload = j.find("payload"); payload != j.end() && !payload->is_null()) {
    if (!payload->is_object()) return fail("wrong_type", "must be a JSON object", "payload");
    e.payload = *payload;
  }
  return e;
}

nlohmann::json to_json(const Sample& s) {
  nlohmann::json labels = nlohmann::json::object();
  for (const auto& [k, v] : s.labels) labels[k] = v;
  return {{"series", s.series}, {"value", s.value}, {"labels", labels}};
}

std::optional<double> to_number(const nlohmann::json& v) {
  double out = 0.0;
  if (v.is_number()) {
    out = v.get<double>();
  } else if (v.is_string()) {
    std::string_view s = trim(v.get_ref<const std::string&>());
    double scale = 1.0;  // divisor
    if (!s.empty() && s.back() == '%') {
      s.remove_suffix(1);
      s = trim(s);
      scale = 100.0;
    }
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    if (s.empty()) return std::nullopt;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    out /= scale;  // 95 / 100 is exactly the double nearest 0.95
  } else {
    return std::nullopt;
  }
  if (!std::isfinite(out)) return std::nullopt;
  return out;
}

Result<Sample> sample_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return fail("wrong_type", "a sample must be a JSON object", "payload");
  Sample s;
  const auto series = j.find("series");
  if (series == j.end() || !series->is_string() || series->get_ref<const std::string&>().empty()) {
    return fail("missing_field", "a sample needs a non-empty string 'series'", "payload.series");
  }
  s.series = series->get<std::string>();
  const auto value = j.find("value");
  if (value == j.end() || value->is_null()) {
    return fail("missing_field", "a sample needs a numeric 'value'", "payload.value");
  }
  const auto v = to_number(*value);
  if (!v) {
    return fail(value->is_number() ? "not_finite" : "wrong_type",
                "must be a finite number (or a string holding one)", "payload.value");
  }
  s.value = *v;
  if (const auto labels = j.find("labels"); labels != j.end() && !labels->is_null()) {
    if (!labels->is_object()) return fail("wrong_type", "must be an object", "payload.labels");
    for (const auto& [k, v] : labels->items()) {
      if (!v.is_string()) return fail("wrong_type", "must be a string", "payload.labels." + k);
      s.labels.emplace(k, v.get<std::string>());
    }
  }
  return s;
}

}  // namespace opsready::core
