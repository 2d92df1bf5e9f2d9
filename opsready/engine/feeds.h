#pragma once
// Feeds: the telemetry that only the dashboard's panels read (the original's
// build_observability_dashboard inputs that are no readiness component: ROI, risk, loop results,
// compliance events, monitoring, …). The engine keeps the newest payloads of each feed topic
// and hands them out as one immutable value, so the dashboard renders off the strand.
//
//   engine::Feeds f;
//   if (const FeedTopic* t = find_feed_topic(event.topic)) put_feed(f, *t, event);
//
// A topic absent from Feeds is a feed that never arrived: its panel shows the original's
// placeholder. Feed payloads are kept as sent (the dashboard normalises them, as the original
// does); the one shape check at ingest is that a payload is a JSON object.

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/core/clock.h"
#include "opsready/core/error.h"
#include "opsready/core/event.h"

namespace opsready::engine {

struct FeedTopic {
  std::string_view topic;
  std::size_t keep;       // payloads kept, newest last
  std::string_view what;  // the dashboard input it is (docs/dashboard.md)
};

// The one list of feed topics: the engine, the ingest check and docs/dashboard.md read it.
inline constexpr FeedTopic kFeedTopics[] = {
    {"telemetry.dashboard.roi", 1, "roi_snapshot"},
    {"telemetry.dashboard.risk", 1, "risk_results, risk_limits"},
    {"telemetry.dashboard.loop", 20, "loop_results"},
    {"telemetry.dashboard.compliance", 100, "compliance_events"},
    {"telemetry.dashboard.compliance_slo", 1, "compliance_slo_snapshot"},
    {"telemetry.dashboard.evolution", 1, "evolution_kpis"},
    {"telemetry.dashboard.operator_leverage", 1, "operator_leverage_snapshot"},
    {"telemetry.dashboard.monitoring", 1, "monitoring_snapshot"},
    {"telemetry.dashboard.backbone", 1, "backbone_snapshot"},
    {"telemetry.dashboard.policy_graduation", 1, "policy_graduation_assessments"},
    {"telemetry.dashboard.policy_reflection", 1, "policy_reflection"},
    {"telemetry.dashboard.quality", 1, "quality_snapshot"},
    {"telemetry.dashboard.gate_metrics", 1, "gate_dashboard"},
};

struct Feed {
  core::TimePoint received{};            // event time of the newest payload
  std::vector<nlohmann::json> payloads;  // newest last, at most the topic's keep

  bool operator==(const Feed&) const = default;
};

// By topic.
using Feeds = std::map<std::string, Feed, std::less<>>;

// The feed topic `topic` is, or nullptr.
[[nodiscard]] const FeedTopic* find_feed_topic(std::string_view topic);

// Whether a feed event's payload can be kept (a JSON object); the error names the payload.
[[nodiscard]] core::Result<void> check_feed(const core::TelemetryEvent& e);

// Appends e.payload to its feed, dropping the oldest past `t.keep`.
void put_feed(Feeds& feeds, const FeedTopic& t, const core::TelemetryEvent& e);

// The state row of one feed (engine state kind "feed", keyed by topic), and back.
[[nodiscard]] nlohmann::json to_json(const Feed& f);
[[nodiscard]] core::Result<Feed> feed_from_json(const nlohmann::json& j, const FeedTopic& t);

}  // namespace opsready::engine
