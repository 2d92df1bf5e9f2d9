#pragma once
// The component fleet the readiness and engine benchmarks share: ~88% ok, ~10% warn, ~2% fail,
// 1-3 issues each, ~3% older than the 5 minute max age, 50 required components (2 of them
// never report), a few per-component overrides, in shuffled order. Deterministic (fixed seed).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "opsready/core/snapshot.h"
#include "opsready/readiness/readiness.h"

namespace opsready::bench {

using core::ComponentSnapshot;
using core::Severity;
using core::Status;
using core::TimePoint;
using readiness::GatePolicy;

inline constexpr int kRequired = 50;
inline constexpr int kMissingRequired = 2;  // of the required components, this many never report

inline std::string name_of(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "component_%05d", i);
  return buf;
}

struct Fleet {
  std::vector<ComponentSnapshot> snapshots;
  GatePolicy policy;
};

// ~88% ok, ~10% warn, ~2% fail; 1-3 issues each; ~3% older than the 5 minute max age;
inline Fleet make_fleet(int n, TimePoint kNow) {
  std::mt19937 rng(20250102);
  std::uniform_int_distribution<int> percent(0, 99);
  std::uniform_int_distribution<int> issue_count(1, 3);
  std::uniform_int_distribution<int> age_s(0, 240);
  Fleet f;
  f.snapshots.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const int p = percent(rng);
    const Status status = p < 2 ? Status::kFail : p < 12 ? Status::kWarn : Status::kOk;
    ComponentSnapshot c{
        .component = name_of(i),
        .status = status,
        .summary =
            "checks=" + std::to_string(i % 17) + " latency_p95_ms=" + std::to_string(i % 250),
        .observed_at = kNow - std::chrono::seconds(percent(rng) < 3 ? 900 : age_s(rng)),
        .issues = {},
        .metadata = {{"region", i % 2 == 0 ? "eu-west" : "us-east"}, {"shard", i % 16}}};
    const int k = issue_count(rng);
    for (int j = 0; j < k; ++j) {
      c.issues.push_back(
          {.code = "issue_" + std::to_string(j),
           .severity = j == 0 ? opsready::core::severity_for(status) : Severity::kInfo,
           .message = "detail " + std::to_string(j) + " of " + c.component,
           .runbook = j == 0 ? "docs/runbooks/" + c.component + ".md" : ""});
    }
    f.snapshots.push_back(std::move(c));
  }
  f.policy.max_age = std::chrono::minutes(5);
  f.policy.max_fail_components = n / 20;
  f.policy.max_warn_components = n / 5;
  const int stride = n / kRequired;
  for (int r = 0; r < kRequired - kMissingRequired; ++r) {
    f.policy.components[name_of(r * stride)].required = true;
  }
  for (int r = 0; r < kMissingRequired; ++r) {
    f.policy.components["absent_" + std::to_string(r)].required = true;
  }
  f.policy.components[name_of(1)].max_age = std::chrono::hours(1);
  f.policy.components[name_of(3)].block_on = std::vector<Status>{Status::kFail, Status::kWarn};
  // Input order is not name order, as when snapshots come from a hash map.
  std::shuffle(f.snapshots.begin(), f.snapshots.end(), rng);
  return f;
}

}  // namespace opsready::bench
