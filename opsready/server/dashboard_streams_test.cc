#include "opsready/server/dashboard_streams.h"

#include <gtest/gtest.h>

#include "opsready/core/time.h"

namespace opsready::server {
namespace {

using core::ComponentSnapshot;
using core::Status;
using nlohmann::json;

core::TimePoint at(std::string_view t) { return core::parse_rfc3339(t).value(); }

ComponentSnapshot component(std::string name, Status status, std::string_view observed,
                            std::vector<core::Issue> issues = {}) {
  return ComponentSnapshot{.component = std::move(name),
                           .status = status,
                           .summary = "summary",
                           .observed_at = at(observed),
                           .issues = std::move(issues)};
}

readiness::ReadinessSnapshot snapshot(std::vector<ComponentSnapshot> latest, std::string_view now) {
  return readiness::aggregate(latest, readiness::GatePolicy{}, at(now));
}

json data_of(std::string_view event, std::string_view kind) {
  const std::string head = "event: " + std::string(kind) + "\ndata: ";
  EXPECT_EQ(event.substr(0, head.size()), head);
  EXPECT_TRUE(event.ends_with("\n\n"));
  return json::parse(event.substr(head.size(), event.size() - head.size() - 2));
}

// What the page does with a delta (web/app.js): replace and remove components by name, keep
// them sorted, rebuild the issue catalog, take the scalars and the gate when present.
json apply(json doc, const json& delta) {
  EXPECT_EQ(delta["base"], doc["version"]);
  std::map<std::string, json> by_name;
  for (const auto& c : doc["components"]) by_name[c["component"]] = c;
  for (const auto& n : delta["removed"]) by_name.erase(n.get<std::string>());
  for (const auto& c : delta["components"]) by_name[c["component"]] = c;
  doc["components"] = json::array();
  doc["issues"] = json::array();
  for (auto& [name, c] : by_name) {
    for (json i : c["issues"]) {
      i["component"] = name;
      doc["issues"].push_back(std::move(i));
    }
    doc["components"].push_back(c);
  }
  for (const char* k : {"version", "generated_at", "status", "counts"}) doc[k] = delta[k];
  if (delta.contains("gate")) doc["gate"] = delta["gate"];
  return doc;
}

TEST(ReadinessDelta, AppliedToTheBaseItGivesTheNewSnapshot) {
  const core::Issue lag{.code = "lag", .severity = core::Severity::kCritical, .message = "m"};
  const auto from = snapshot({component("a", Status::kOk, "2025-01-01T12:00:00Z"),
                              component("b", Status::kOk, "2025-01-01T12:00:00Z"),
                              component("c", Status::kWarn, "2025-01-01T12:00:00Z")},
                             "2025-01-01T12:00:01Z");
  const auto to = snapshot({component("a", Status::kOk, "2025-01-01T12:00:00Z"),
                            component("b", Status::kFail, "2025-01-01T12:00:02Z", {lag}),
                            component("d", Status::kOk, "2025-01-01T12:00:02Z")},
                           "2025-01-01T12:00:03Z");
  const json base = data_of(readiness_event(from, 7), "readiness");
  EXPECT_EQ(base["version"], 7);
  const auto event = readiness_delta_event(from, to, 7, 8);
  ASSERT_TRUE(event);
  const json delta = data_of(*event, "readiness_delta");
  // Only b (changed) and d (added) travel; c is removed; a, unchanged, does not.
  ASSERT_EQ(delta["components"].size(), 2U) << delta.dump(2);
  EXPECT_EQ(delta["components"][0]["component"], "b");
  EXPECT_EQ(delta["components"][1]["component"], "d");
  EXPECT_EQ(delta["removed"], json::array({"c"}));
  EXPECT_TRUE(delta.contains("gate"));  // b failing blocks the gate

  json want = readiness::to_json(to);
  want["version"] = 8;
  EXPECT_EQ(apply(base, delta), want);
}

TEST(ReadinessDelta, NothingWhenOnlyTheEvaluationTimeMoved) {
  const std::vector<ComponentSnapshot> latest = {
      component("a", Status::kOk, "2025-01-01T12:00:00Z")};
  const auto from = snapshot(latest, "2025-01-01T12:00:01Z");
  const auto to = snapshot(latest, "2025-01-01T12:00:05Z");
  EXPECT_FALSE(readiness_delta_event(from, to, 1, 2));
  // A gate that changes alone (an unchanged component going stale changes the component too,
  // so the gate is the case to check) is sent without components.
  auto gated = to;
  gated.gate.decision = readiness::GateDecision::Decision::kWarn;
  const auto event = readiness_delta_event(from, gated, 1, 2);
  ASSERT_TRUE(event);
  const json delta = data_of(*event, "readiness_delta");
  EXPECT_TRUE(delta["components"].empty());
  EXPECT_EQ(delta["gate"]["decision"], "warn");
}

TEST(ReadinessDelta, TheUnchangedGateIsLeftOut) {
  const auto from =
      snapshot({component("a", Status::kOk, "2025-01-01T12:00:00Z")}, "2025-01-01T12:00:01Z");
  const auto to =
      snapshot({component("a", Status::kOk, "2025-01-01T12:00:04Z")}, "2025-01-01T12:00:05Z");
  const auto event = readiness_delta_event(from, to, 3, 4);
  ASSERT_TRUE(event);
  const json delta = data_of(*event, "readiness_delta");
  EXPECT_FALSE(delta.contains("gate"));
  EXPECT_EQ(delta["components"][0]["observed_at"], "2025-01-01T12:00:04Z");
  json base = data_of(readiness_event(from, 3), "readiness");
  json want = readiness::to_json(to);
  want["version"] = 4;
  EXPECT_EQ(apply(base, delta), want);
}

}  // namespace
}  // namespace opsready::server
