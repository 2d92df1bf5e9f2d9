// readiness::aggregate() over a large, realistic fleet of component snapshots: one evaluation
// pass (dedup, sort, staleness, required components, issue catalog, gate), optionally followed
// by rendering. items/s counts component snapshots; "per_snapshot" is its inverse (seconds per
// snapshot, shown with an SI prefix). Run from a release build, e.g.:
//
//   ./build/<release-dir>/bench/readiness_bench --benchmark_min_time=0.5

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "opsready/core/time.h"
#include "opsready/readiness/readiness.h"

namespace {

using opsready::core::ComponentSnapshot;
using opsready::core::Severity;
using opsready::core::Status;
using opsready::core::TimePoint;
using opsready::readiness::GatePolicy;

const TimePoint kNow = opsready::core::parse_rfc3339("2025-01-02T00:00:00Z").value();
constexpr int kRequired = 50;
constexpr int kMissingRequired = 2;  // of the required components, this many never report

std::string name_of(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "component_%05d", i);
  return buf;
}

struct Fleet {
  std::vector<ComponentSnapshot> snapshots;
  GatePolicy policy;
};

// ~88% ok, ~10% warn, ~2% fail; 1-3 issues each; ~3% older than the 5 minute max age;
// 50 required components, 2 of them missing; a few per-component overrides.
Fleet make_fleet(int n) {
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

void set_counters(benchmark::State& state, int n) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * n);
  state.counters["per_snapshot"] = benchmark::Counter(
      n, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void BM_Aggregate(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const Fleet f = make_fleet(n);
  std::size_t blocking = 0;
  std::size_t warnings = 0;
  for (auto _ : state) {
    auto snap = opsready::readiness::aggregate(f.snapshots, f.policy, kNow);
    blocking = snap.gate.blocking_reasons.size();
    warnings = snap.gate.warnings.size();
    benchmark::DoNotOptimize(snap.gate.decision);
    benchmark::DoNotOptimize(snap.components.data());
  }
  set_counters(state, n);
  // Shows the gate did real work: one reason per failing / warning component and so on.
  state.counters["blocking"] = static_cast<double>(blocking);
  state.counters["warnings"] = static_cast<double>(warnings);
}
BENCHMARK(BM_Aggregate)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_AggregateToJson(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const Fleet f = make_fleet(n);
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto snap = opsready::readiness::aggregate(f.snapshots, f.policy, kNow);
    std::string text = opsready::readiness::to_json(snap).dump();
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  set_counters(state, n);
  state.counters["json_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_AggregateToJson)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_AggregateToMarkdown(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const Fleet f = make_fleet(n);
  for (auto _ : state) {
    auto snap = opsready::readiness::aggregate(f.snapshots, f.policy, kNow);
    std::string text = opsready::readiness::to_markdown(snap);
    benchmark::DoNotOptimize(text.data());
  }
  set_counters(state, n);
}
BENCHMARK(BM_AggregateToMarkdown)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace
