#pragma once
// ComponentSnapshot: what one readiness component says about itself at one moment.
//
//   ComponentSnapshot s{.component = "incident_response", .status = Status::kWarn,
//                       .summary = "open incidents=2", .observed_at = clock.now()};
//   s.issues.push_back({.code = "open_incidents", .severity = Severity::kWarning,
//                       .message = "2 open incidents", .runbook = "docs/runbooks/..."});
//
// JSON shape: {component, status, summary, observed_at, issues[{code, severity, message,
// runbook, labels?}], metadata{}}. Status accepts every vocabulary parse_status() knows; output is
// always ok/warn/fail. An issue severity is info/warning/critical or, as the original platform
// writes them, ok/warn/fail (mapped by rank). A snapshot without observed_at takes its time
// from `generated_at` (the original's key). Plain value type.

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/core/clock.h"
#include "opsready/core/error.h"
#include "opsready/core/status.h"

namespace opsready::core {

struct Issue {
  std::string code;
  Severity severity = Severity::kWarning;
  std::string message;
  std::string runbook;
  // Extra labels of the issue's alert (alerting/derive.h), e.g. the owner a sign-off's
  // reminder is routed to. Prometheus label names; the derived alert's own labels win.
  // Written to JSON only when not empty.
  std::map<std::string, std::string> labels;

  bool operator==(const Issue&) const = default;
};

struct ComponentSnapshot {
  std::string component;
  Status status = Status::kOk;
  std::string summary;
  TimePoint observed_at{};
  std::vector<Issue> issues;
  nlohmann::json metadata = nlohmann::json::object();

  bool operator==(const ComponentSnapshot&) const = default;
};

// A component name: [a-z0-9_-.]+, at most 128 characters (it appears in metric labels,
// reason codes and URLs).
[[nodiscard]] bool is_valid_component_name(std::string_view name);

[[nodiscard]] nlohmann::json to_json(const Issue& i);
[[nodiscard]] nlohmann::json to_json(const ComponentSnapshot& s);
[[nodiscard]] Result<Issue> issue_from_json(const nlohmann::json& j);
// `default_time` fills a missing observed_at (e.g. the time the event was received).
[[nodiscard]] Result<ComponentSnapshot> component_snapshot_from_json(const nlohmann::json& j,
                                                                     TimePoint default_time);

}  // namespace opsready::core
