// readiness::aggregate() over a large, realistic fleet of component snapshots: one evaluation
// pass (dedup, sort, staleness, required components, issue catalog, gate), optionally followed
// by rendering. items/s counts component snapshots; "per_snapshot" is its inverse (seconds per
// snapshot, shown with an SI prefix).
//
// BM_Aggregator*: the incremental readiness::Aggregator over the same fleet, one changed
// snapshot per iteration: put() + evaluate() (items/s = events), and the same followed by
// snapshot() while the previous snapshot is still held, as a server publishing it would.
//
// Run from a release build, e.g.:
//
//   ./build/<release-dir>/bench/readiness_bench --benchmark_min_time=0.5

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "fleet.h"
#include "opsready/core/time.h"
#include "opsready/readiness/aggregator.h"
#include "opsready/readiness/readiness.h"

namespace {

using opsready::core::ComponentSnapshot;
using opsready::core::Severity;
using opsready::core::Status;
using opsready::core::TimePoint;
using opsready::readiness::Aggregator;
using opsready::readiness::GatePolicy;
using opsready::readiness::ReadinessSnapshot;

const TimePoint kNow = opsready::core::parse_rfc3339("2025-01-02T00:00:00Z").value();
using opsready::bench::Fleet;

Fleet make_fleet(int n) { return opsready::bench::make_fleet(n, kNow); }

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

// Changed snapshots of random fleet members, observed at increasing times from `start`, made
// ahead so that the timed loop only moves them in. Each differs from what the fleet member said
// before: the summary, the status with the fleet's odds and, one in four, the number of issues
// (which shifts the issue catalog of a materialized snapshot).
class Changes {
 public:
  Changes(const Fleet& f, TimePoint start) : fleet_(f), next_time_(start) {}
  // The next one; refills (outside the timing) when the batch is used up.
  ComponentSnapshot next(benchmark::State& state) {
    if (pos_ == batch_.size()) {
      state.PauseTiming();
      refill();
      state.ResumeTiming();
    }
    return std::move(batch_[pos_++]);
  }
  TimePoint time_of_last() const { return next_time_ - kStep; }

 private:
  static constexpr auto kStep = std::chrono::microseconds(1);
  static constexpr int kBatch = 256;

  void refill() {
    std::uniform_int_distribution<std::size_t> which(0, fleet_.snapshots.size() - 1);
    std::uniform_int_distribution<int> percent(0, 99);
    batch_.clear();
    for (int i = 0; i < kBatch; ++i) {
      ComponentSnapshot c = fleet_.snapshots[which(rng_)];
      const int p = percent(rng_);
      c.status = p < 2 ? Status::kFail : p < 12 ? Status::kWarn : Status::kOk;
      c.summary = "checks=" + std::to_string(counter_++) + " latency_p95_ms=42";
      if (percent(rng_) < 25) {
        if (c.issues.size() > 1 && percent(rng_) < 50) {
          c.issues.pop_back();
        } else {
          c.issues.push_back(c.issues.front());
        }
      }
      c.observed_at = next_time_;
      next_time_ += kStep;
      batch_.push_back(std::move(c));
    }
    pos_ = 0;
  }

  const Fleet& fleet_;
  std::mt19937 rng_{7};
  std::vector<ComponentSnapshot> batch_;
  std::size_t pos_ = 0;
  TimePoint next_time_;
  std::uint64_t counter_ = 0;
};

std::unique_ptr<Aggregator> loaded(const Fleet& f) {
  auto agg = std::make_unique<Aggregator>(f.policy);
  for (const auto& c : f.snapshots) agg->put(c);
  agg->evaluate(kNow);
  return agg;
}

// One event: put() of a changed snapshot of a random component, then evaluate() at its time.
void BM_AggregatorPutEvaluate(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const Fleet f = make_fleet(n);
  const auto agg = loaded(f);
  Changes changes(f, kNow);
  std::size_t changed = 0;
  for (auto _ : state) {
    agg->put(changes.next(state));
    changed += agg->evaluate(changes.time_of_last()) ? 1 : 0;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["changed"] = static_cast<double>(changed) /
                              static_cast<double>(std::max<std::int64_t>(1, state.iterations()));
  state.counters["components"] = static_cast<double>(agg->size());
}
BENCHMARK(BM_AggregatorPutEvaluate)->Arg(10000)->Arg(100000);

// One event, then the full snapshot, while a reader still holds the previous one. With
// `same_time` the evaluation time stays put (no stale age to rewrite); otherwise every event
// has its own time, as in the daemon, and the ~3 % stale components get their age rewritten.
void snapshot_after_one_change(benchmark::State& state, bool same_time) {
  const int n = static_cast<int>(state.range(0));
  const Fleet f = make_fleet(n);
  const auto agg = loaded(f);
  Changes changes(f, kNow);
  std::shared_ptr<const ReadinessSnapshot> held = agg->snapshot();
  for (auto _ : state) {
    agg->put(changes.next(state));
    agg->evaluate(same_time ? kNow : changes.time_of_last());
    held = agg->snapshot();
    benchmark::DoNotOptimize(held->gate.decision);
  }
  std::size_t stale = 0;
  for (const auto& c : held->components) {
    if (!c.issues.empty() && c.issues.back().code == "stale_snapshot") ++stale;
  }
  state.counters["blocking"] = static_cast<double>(held->gate.blocking_reasons.size());
  state.counters["warnings"] = static_cast<double>(held->gate.warnings.size());
  state.counters["stale"] = static_cast<double>(stale);
}

void BM_AggregatorSnapshot(benchmark::State& state) { snapshot_after_one_change(state, false); }
BENCHMARK(BM_AggregatorSnapshot)->Arg(10000)->Unit(benchmark::kMicrosecond);

void BM_AggregatorSnapshotSameTime(benchmark::State& state) {
  snapshot_after_one_change(state, true);
}
BENCHMARK(BM_AggregatorSnapshotSameTime)->Arg(10000)->Unit(benchmark::kMicrosecond);

// The worst case: every earlier snapshot is still held, so each one is built from scratch.
void BM_AggregatorSnapshotRebuild(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const Fleet f = make_fleet(n);
  const auto agg = loaded(f);
  Changes changes(f, kNow);
  std::vector<std::shared_ptr<const ReadinessSnapshot>> held;
  for (auto _ : state) {
    agg->put(changes.next(state));
    agg->evaluate(changes.time_of_last());
    held.push_back(agg->snapshot());
    if (held.size() > 3) {
      state.PauseTiming();
      held.erase(held.begin());
      state.ResumeTiming();
    }
  }
  set_counters(state, n);
}
BENCHMARK(BM_AggregatorSnapshotRebuild)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace
