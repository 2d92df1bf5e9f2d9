#pragma once
// TelemetryEvent: the unit every producer hands to opsready (HTTP, NATS, the library API,
// replay files). A numeric sample is an event whose payload is {series, value, labels}.
//
//   TelemetryEvent e{.topic = "telemetry.ingest.health", .source = "ingest-1",
//                    .time = clock.now(), .payload = {{"series", "lag"}, {"value", 2.5}}};
//   nlohmann::json j = to_json(e);
//   Result<TelemetryEvent> back = event_from_json(j, clock.now());
//
// Plain value type; thread-safe as any value.

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "opsready/core/clock.h"
#include "opsready/core/error.h"

namespace opsready::core {

// Topic that carries a ComponentSnapshot as its payload.
inline constexpr std::string_view kComponentSnapshotTopic = "opsready.component.snapshot";

struct TelemetryEvent {
  std::string topic;
  std::string source;
  TimePoint time{};
  nlohmann::json payload = nlohmann::json::object();

  bool operator==(const TelemetryEvent&) const = default;
};

struct Sample {
  std::string series;
  double value = 0;
  std::map<std::string, std::string> labels;

  bool operator==(const Sample&) const = default;
};

[[nodiscard]] nlohmann::json to_json(const TelemetryEvent& e);
// Validates field by field; `default_time` is used when "time" is absent.
// Errors name the field ("topic", "time", "payload", ...) and the reason.
[[nodiscard]] Result<TelemetryEvent> event_from_json(const nlohmann::json& j,
                                                     TimePoint default_time);

[[nodiscard]] nlohmann::json to_json(const Sample& s);
// The one number-coercion rule of every document opsready reads (docs/components.md "Reading
// documents"): a JSON number, or a string holding a decimal number —
// trimmed, a leading '+' allowed, a trailing '%' dividing by 100 ("95%" is 0.95). Anything
// else (a boolean is not a number: `true` where a count belongs is a publisher's bug), and any
// non-finite result (NaN, ±inf, also from strings), is none.
[[nodiscard]] std::optional<double> to_number(const nlohmann::json& v);

// "value" must be a number by to_number(); label values must be strings.
[[nodiscard]] Result<Sample> sample_from_json(const nlohmann::json& j);

}  // namespace opsready::core
