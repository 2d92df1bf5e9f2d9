#include "opsready/engine/feeds.h"

#include <algorithm>

#include "opsready/core/time.h"

namespace opsready::engine {

const FeedTopic* find_feed_topic(std::string_view topic) {
  const auto it = std::ranges::find(kFeedTopics, topic, &FeedTopic::topic);
  return it == std::end(kFeedTopics) ? nullptr : &*it;
}

core::Result<void> check_feed(const core::TelemetryEvent& e) {
  if (!e.payload.is_object()) {
    return core::fail("invalid_payload",
                      "a " + e.topic + " payload must be a JSON object, not " +
                          std::string(e.payload.type_name()),
                      "payload");
  }
  return {};
}

void put_feed(Feeds& feeds, const FeedTopic& t, const core::TelemetryEvent& e) {
  auto it = feeds.find(t.topic);
  if (it == feeds.end()) it = feeds.emplace(std::string(t.topic), Feed{}).first;
  Feed& f = it->second;
  f.received = std::max(f.received, e.time);
  f.payloads.push_back(e.payload);
  if (f.payloads.size() > t.keep) {
    f.payloads.erase(f.payloads.begin(),
                     f.payloads.begin() + static_cast<std::ptrdiff_t>(f.payloads.size() - t.keep));
  }
}

nlohmann::json to_json(const Feed& f) {
  return {{"received", core::format_rfc3339(f.received)}, {"payloads", f.payloads}};
}

core::Result<Feed> feed_from_json(const nlohmann::json& j, const FeedTopic& t) {
  if (!j.is_object() || !j.contains("received") || !j["received"].is_string() ||
      !j.contains("payloads") || !j["payloads"].is_array()) {
    return core::fail("invalid_state", "a feed row needs received and payloads", "feed");
  }
  auto received = core::parse_rfc3339(j["received"].get<std::string>());
  if (!received) return core::fail("invalid_state", received.error().message, "received");
  Feed f{.received = *received, .payloads = {}};
  for (const auto& p : j["payloads"]) {
    if (p.is_object()) f.payloads.push_back(p);
  }
  if (f.payloads.size() > t.keep) {
    f.payloads.erase(f.payloads.begin(),
                     f.payloads.begin() + static_cast<std::ptrdiff_t>(f.payloads.size() - t.keep));
  }
  return f;
}

}  // namespace opsready::engine
