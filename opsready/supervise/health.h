#pragma once
// Supervision as readiness and JSON: pure functions over describe() output, for the app layer
// to publish the `task_supervision` component and serve GET /api/v1/supervision.
//
//   SupervisionSnapshot s = root.describe();
//   core::ComponentSnapshot c = task_supervision_snapshot(s, {.restart_warn_threshold = 3});
//   nlohmann::json body = to_json(s);
//
// Status rules:
//   fail  a supervisor failed (restart intensity exceeded), or a permanent task is down
//         (stopped or failed) while its supervisor is running
//   warn  a task restarted at least `restart_warn_threshold` times within `window`; a
//         non-permanent task was abandoned; a supervisor is not running (idle, stopping,
//         stopped)
//   ok    otherwise
// Same input, same output; thread-safe.

#include <cstdint>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "opsready/core/snapshot.h"
#include "opsready/supervise/types.h"

namespace opsready::supervise {

inline constexpr std::string_view kComponentName = "task_supervision";

struct HealthPolicy {
  std::uint32_t restart_warn_threshold = 3;
  Duration window = std::chrono::minutes(10);

  bool operator==(const HealthPolicy&) const = default;
};

[[nodiscard]] core::ComponentSnapshot task_supervision_snapshot(const SupervisionSnapshot& s,
                                                                const HealthPolicy& policy = {});

// {"observed_at", "counts": {state: n}, "supervisors": [...], "tasks": [...]}; times RFC 3339,
// durations in seconds, absent values null.
[[nodiscard]] nlohmann::json to_json(const SupervisionSnapshot& s);

}  // namespace opsready::supervise
