// engine::Engine under issue 11's workloads, on manual time, with a Sink that only counts.
//
// BM_EngineEventEvaluate/10000: 10 000 components (statuses ~88/10/2 % ok/warn/fail, 1-3
// issues), the default policy; per iteration one put_component() of a changed snapshot of a
// random component, then advance() when a timer is due and evaluate(now), `now` moving 1 ms per
// event, as the daemon's evaluation strand drains one event. items/s = events through the
// engine. The BM_EnginePart_* benchmarks run the same changes through the pieces evaluate()
// is made of: the readiness::Aggregator alone (put + evaluate), then with alert derivation
// (alerting::Deriver) as the engine derives; what the engine costs beyond that is routing,
// inhibition, grouping and the rows it hands to the Sink. A third builds the gate
// (Aggregator::gate()) after every event, which the engine does not.
//
// BM_EngineEventEvaluateNoState/10000: the same with a Sink that declines state rows, as a
// replay does (Sink::wants_persist).
//
// BM_EngineEventBatchEvaluate/10000/100: the same, 100 events per evaluate(), as the daemon
// evaluates once per batch it drains.
//
// BM_EngineAggregateGate/10000: one change, evaluate(), then engine.readiness() held as the
// daemon holds the snapshot it publishes: the cost of a fresh full readiness snapshot.
//
// BM_RoutePutInhibit/100000: 100 000 distinct Prometheus alerts (bench/alerting_workload.h:
// 9-10 labels, 200 alertnames) through the workload's policy (20 routes, 100 inhibit rules) in
// put_alerts() batches of 64, into a fresh engine per iteration; items/s = alerts. Counters
// bytes_per_alert (resident memory, /proc/self/statm, after minus before, over the alerts)
// and heap_bytes_per_alert (glibc's mallinfo2 in-use bytes, the same way), measured on the
// first fill of the process. BM_RoutePutInhibitRepost: re-posts of a fixed 10 000 of them into
// the full engine (what Prometheus re-sending firing alerts costs). BM_GroupTick: advance()
// by one group_interval (5m) over the full engine, every group ticking once; items/s = alerts
// in the ticked groups; first_tick_ms is the first tick (every group notifies) in setup.
//
//   build/h-bench/bench/engine_bench --benchmark_min_time=1 --benchmark_repetitions=3
//     --benchmark_report_aggregates_only=true        (one command line)

#include <benchmark/benchmark.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "alerting_workload.h"
#include "fleet.h"
#include "opsready/alerting/derive.h"
#include "opsready/app/alerting_config.h"
#include "opsready/core/time.h"
#include "opsready/engine/engine.h"
#include "opsready/readiness/aggregator.h"

namespace {

using opsready::core::Alert;
using opsready::core::ComponentSnapshot;
using opsready::core::Severity;
using opsready::core::Status;
using opsready::core::TimePoint;
using opsready::engine::Engine;
using opsready::engine::EngineOptions;
using opsready::readiness::Aggregator;
using opsready::readiness::GatePolicy;
namespace workload = opsready::bench::workload;

const TimePoint kNow = opsready::core::parse_rfc3339("2025-01-02T00:00:00Z").value();
// The fleet is loaded at kNow; the changes start once the first group ticks are behind.
const TimePoint kStart = kNow + std::chrono::minutes(1);
constexpr auto kStep = std::chrono::milliseconds(1);

// ---- the component fleet (bench/fleet.h, as bench/readiness_bench.cc's) -------------------

using opsready::bench::Fleet;
using opsready::bench::name_of;
Fleet make_fleet(int n) { return opsready::bench::make_fleet(n, kNow); }

// Changed snapshots of random fleet members, observed kStep apart from kStart, made ahead in
// batches (outside the timing). Each differs from what the member said before: the summary
// always, the status with the fleet's odds (so about one in five flips), and one in four the
// number of issues.
class Changes {
 public:
  explicit Changes(const Fleet& f) : fleet_(f) {}
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
  static constexpr int kBatch = 1024;

  void refill() {
    std::uniform_int_distribution<std::size_t> which(0, fleet_.snapshots.size() - 1);
    std::uniform_int_distribution<int> percent(0, 99);
    batch_.clear();
    for (int i = 0; i < kBatch; ++i) {
      ComponentSnapshot c = fleet_.snapshots[which(rng_)];
      const int p = percent(rng_);
      c.status = p < 2 ? Status::kFail : p < 12 ? Status::kWarn : Status::kOk;
      c.issues.front().severity = opsready::core::severity_for(c.status);
      c.summary = "checks=" + std::to_string(counter_++) + " latency_p95_ms=42";
      if (percent(rng_) < 25) {
        if (c.issues.size() > 1 && percent(rng_) < 50) {
          c.issues.pop_back();
        } else {
          c.issues.push_back(c.issues.front());
          c.issues.back().code = "issue_extra";
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
  TimePoint next_time_ = kStart;
  std::uint64_t counter_ = 0;
};

// Counts what the engine hands out; keeps nothing. With wants_state false it declines the
// state rows (Sink::wants_persist), as a driver that keeps no state (a replay) does.
class CountingSink : public opsready::engine::Sink {
 public:
  void alert_changed(const Alert&, bool, TimePoint) override { ++alerts_changed; }
  void decided(const opsready::engine::Decision&) override { ++decisions; }
  void persist(opsready::store::StateRow) override { ++rows; }
  void append(opsready::store::LogRow) override { ++rows; }
  bool wants_persist() const override { return wants_state; }
  bool wants_state = true;
  std::uint64_t alerts_changed = 0;
  std::uint64_t decisions = 0;
  std::uint64_t rows = 0;
};

std::unique_ptr<Engine> engine_with(EngineOptions o, CountingSink& sink) {
  auto e = Engine::create(std::move(o), sink, kNow);
  if (!e) throw std::runtime_error("engine: " + e.error().describe());
  return std::move(*e);
}

// The fleet put and evaluated at kNow, its first group ticks fired (kStart is past group_wait).
std::unique_ptr<Engine> loaded_engine(const Fleet& f, CountingSink& sink) {
  EngineOptions o;
  o.gate = f.policy;
  auto e = engine_with(std::move(o), sink);
  for (const auto& c : f.snapshots) e->put_component(c, kNow);
  e->evaluate(kNow);
  e->advance(kStart);
  return e;
}

double per_iteration(const benchmark::State& state, std::uint64_t n) {
  return static_cast<double>(n) /
         static_cast<double>(std::max<std::int64_t>(1, state.iterations()));
}

// ---- the event path ------------------------------------------------------------------------

void engine_event_evaluate(benchmark::State& state, bool wants_state) {
  const Fleet f = make_fleet(static_cast<int>(state.range(0)));
  CountingSink sink;
  sink.wants_state = wants_state;
  const auto e = loaded_engine(f, sink);
  Changes changes(f);
  const auto before = sink;
  std::uint64_t changed = 0;
  for (auto _ : state) {
    e->put_component(changes.next(state), changes.time_of_last());
    const TimePoint now = changes.time_of_last();
    if (auto due = e->next_deadline(); due && *due <= now) e->advance(now);
    changed += e->evaluate(now) ? 1 : 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["changed"] = per_iteration(state, changed);
  state.counters["alerts_changed"] =
      per_iteration(state, sink.alerts_changed - before.alerts_changed);
  state.counters["decisions"] = per_iteration(state, sink.decisions - before.decisions);
  state.counters["rows"] = per_iteration(state, sink.rows - before.rows);
  const auto c = e->counts(changes.time_of_last());
  state.counters["alerts_firing"] = static_cast<double>(c.alerts_firing);
  state.counters["groups"] = static_cast<double>(c.groups);
}

void BM_EngineEventEvaluate(benchmark::State& state) { engine_event_evaluate(state, true); }
BENCHMARK(BM_EngineEventEvaluate)->Arg(10000);
// The same with a Sink that wants no state rows (a replay's): no JSON row is built.
void BM_EngineEventEvaluateNoState(benchmark::State& state) { engine_event_evaluate(state, false); }
BENCHMARK(BM_EngineEventEvaluateNoState)->Arg(10000);

// The same events, evaluated once per range(1) of them, as the daemon evaluates once per batch
// it drains from its queue.
void BM_EngineEventBatchEvaluate(benchmark::State& state) {
  const Fleet f = make_fleet(static_cast<int>(state.range(0)));
  const auto batch = state.range(1);
  CountingSink sink;
  const auto e = loaded_engine(f, sink);
  Changes changes(f);
  for (auto _ : state) {
    for (std::int64_t i = 0; i < batch; ++i) {
      e->put_component(changes.next(state), changes.time_of_last());
    }
    const TimePoint now = changes.time_of_last();
    if (auto due = e->next_deadline(); due && *due <= now) e->advance(now);
    e->evaluate(now);
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_EngineEventBatchEvaluate)->Args({10000, 100});

// The pieces of evaluate(), as the engine runs them: kAggregator the aggregator alone;
// kDerive + the derivation of each changed component's alerts, and of the readiness and gate
// alerts when the overall status or the gate decision changed (the engine refreshes their
// text alone at most once a second); kGate the aggregator and Aggregator::gate() after every
// changed evaluation, the cost that throttle avoids.
enum class Part { kAggregator, kDerive, kGate };

void engine_part(benchmark::State& state, Part part) {
  const Fleet f = make_fleet(static_cast<int>(state.range(0)));
  Aggregator agg(f.policy);
  for (const auto& c : f.snapshots) agg.put(c);
  agg.evaluate(kNow);
  opsready::alerting::Deriver deriver({});
  std::vector<opsready::core::AlertRef> out;
  for (const auto& c : agg.changes()) deriver.component(c.before, c.after, kNow, out);
  auto status = agg.status();
  auto decision = agg.decision();
  deriver.readiness(status, agg.gate(), kNow, out);
  Changes changes(f);
  std::uint64_t derived = 0;
  for (auto _ : state) {
    agg.put(changes.next(state));
    const TimePoint now = changes.time_of_last();
    if (!agg.evaluate(now) || part == Part::kAggregator) continue;
    if (part == Part::kGate) {
      const auto gate = agg.gate();
      benchmark::DoNotOptimize(gate.decision);
      continue;
    }
    out.clear();
    for (const auto& c : agg.changes()) deriver.component(c.before, c.after, now, out);
    if (agg.status() != status || agg.decision() != decision) {
      status = agg.status();
      decision = agg.decision();
      deriver.readiness(status, agg.gate(), now, out);
    }
    derived += out.size();
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["alerts_changed"] = per_iteration(state, derived);
}

void BM_EnginePart_Aggregator(benchmark::State& state) { engine_part(state, Part::kAggregator); }
BENCHMARK(BM_EnginePart_Aggregator)->Arg(10000);
void BM_EnginePart_AggregatorDerive(benchmark::State& state) { engine_part(state, Part::kDerive); }
BENCHMARK(BM_EnginePart_AggregatorDerive)->Arg(10000);
void BM_EnginePart_AggregatorGateEveryEvent(benchmark::State& state) {
  engine_part(state, Part::kGate);
}
BENCHMARK(BM_EnginePart_AggregatorGateEveryEvent)->Arg(10000);

// One change, evaluate(), and the full snapshot, held while the next change comes.
void BM_EngineAggregateGate(benchmark::State& state) {
  const Fleet f = make_fleet(static_cast<int>(state.range(0)));
  CountingSink sink;
  const auto e = loaded_engine(f, sink);
  Changes changes(f);
  std::shared_ptr<const opsready::readiness::ReadinessSnapshot> held = e->readiness();
  for (auto _ : state) {
    e->put_component(changes.next(state), changes.time_of_last());
    e->evaluate(changes.time_of_last());
    held = e->readiness();
    benchmark::DoNotOptimize(held->gate.decision);
  }
  state.counters["components"] = static_cast<double>(held->components.size());
  state.counters["blocking"] = static_cast<double>(held->gate.blocking_reasons.size());
  state.counters["warnings"] = static_cast<double>(held->gate.warnings.size());
}
BENCHMARK(BM_EngineAggregateGate)->Arg(10000)->Unit(benchmark::kMicrosecond);

// ---- external alerts -----------------------------------------------------------------------

constexpr int kBatch = 64;
constexpr int kRepostSet = 10000;

EngineOptions alerting_options() {
  static const opsready::alerting::Policy policy = [] {
    auto p = opsready::app::parse_alerting(workload::policy_yaml(), "bench/alerting_workload.h");
    if (!p) throw std::runtime_error("the workload policy does not load: " + p.error()[0].message);
    return p->policy;
  }();
  EngineOptions o;
  o.policy = policy;
  return o;
}

// Alerts [0, n) of the workload, as server::parse_alerts leaves them, in batches of 64.
std::vector<std::vector<Alert>> alert_batches(int n, TimePoint received) {
  std::vector<std::vector<Alert>> out;
  for (int i = 0; i < n; ++i) {
    if (i % kBatch == 0) out.emplace_back();
    Alert a;
    a.labels = workload::alert_labels(i);
    a.annotations = workload::alert_annotations(a.labels);
    opsready::core::assign_fingerprint(a);
    a.starts_at = kNow - std::chrono::minutes(5);
    a.ends_at = kNow + std::chrono::hours(24 * 3650);  // firing for the whole benchmark
    a.generator_url =
        "http://prometheus-k8s-0:9090/graph?g0.expr=" + a.labels["alertname"] + "&g0.tab=1";
    a.received_at = received;
    out.back().push_back(std::move(a));
  }
  return out;
}

std::int64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t size = 0;
  std::int64_t resident = 0;
  statm >> size >> resident;
  return resident * ::sysconf(_SC_PAGESIZE);
}

std::int64_t heap_bytes() { return static_cast<std::int64_t>(::mallinfo2().uordblks); }

void BM_RoutePutInhibit(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  static const auto batches = alert_batches(n, kNow);
  // The first fill of the process measures memory: later ones reuse what the allocator kept.
  static double rss_per_alert = -1;
  static double heap_per_alert = -1;
  std::size_t groups = 0;
  std::size_t sources = 0;
  for (auto _ : state) {
    state.PauseTiming();
    CountingSink sink;
    ::malloc_trim(0);  // what earlier benchmarks freed goes back, so RSS grows with the fill
    const std::int64_t rss0 = resident_bytes();
    const std::int64_t heap0 = heap_bytes();
    auto e = engine_with(alerting_options(), sink);
    state.ResumeTiming();
    for (const auto& b : batches) e->put_alerts(b, kNow);
    state.PauseTiming();
    if (rss_per_alert < 0) {
      rss_per_alert = static_cast<double>(resident_bytes() - rss0) / n;
      heap_per_alert = static_cast<double>(heap_bytes() - heap0) / n;
    }
    groups = e->counts(kNow).groups;
    sources = e->counts(kNow).alerts_external;
    e.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["per_alert"] = benchmark::Counter(
      n, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["bytes_per_alert"] = rss_per_alert;
  state.counters["heap_bytes_per_alert"] = heap_per_alert;
  state.counters["groups"] = static_cast<double>(groups);
  state.counters["alerts"] = static_cast<double>(sources);
}
BENCHMARK(BM_RoutePutInhibit)->Arg(100000)->Unit(benchmark::kMillisecond);

// The full engine of BM_RoutePutInhibitRepost and BM_GroupTick: the workload's 100 000 alerts
// put at kNow, the first tick (every group notifies) behind it at kStart. Built once per process
// and shared, so that what is timed (and profiled) is the steady state, not the fill; `now`
// only moves forward across the benchmarks' runs.
struct FullEngine {
  CountingSink sink;
  std::unique_ptr<Engine> engine;
  TimePoint now = kStart;
  double first_tick_ms = 0;
  explicit FullEngine(int n) : engine(engine_with(alerting_options(), sink)) {
    for (const auto& b : alert_batches(n, kNow)) engine->put_alerts(b, kNow);
    const auto t0 = std::chrono::steady_clock::now();
    engine->advance(kStart);
    first_tick_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }
};

FullEngine& full_engine(int n) {
  static FullEngine full(n);
  return full;
}

void BM_RoutePutInhibitRepost(benchmark::State& state) {
  FullEngine& full = full_engine(static_cast<int>(state.range(0)));
  auto batches = alert_batches(kRepostSet, full.now);
  const auto decisions0 = full.sink.decisions;
  std::size_t k = 0;
  for (auto _ : state) {
    full.engine->put_alerts(batches[k % batches.size()], full.now);
    if (++k % batches.size() == 0) {
      full.now += std::chrono::seconds(1);  // the next round of re-posts: Prometheus' resend
      state.PauseTiming();
      for (auto& batch : batches) {
        for (auto& a : batch) a.received_at = full.now;
      }
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["decisions"] = static_cast<double>(full.sink.decisions - decisions0);
}
BENCHMARK(BM_RoutePutInhibitRepost)->Arg(100000);

void BM_GroupTick(benchmark::State& state) {
  FullEngine& full = full_engine(static_cast<int>(state.range(0)));
  std::size_t in_groups = 0;
  for (const auto& [key, g] : full.engine->groups()) in_groups += g.alerts.size();
  const auto decisions0 = full.sink.decisions;
  for (auto _ : state) {
    full.now += opsready::alerting::kDefaultGroupInterval;
    full.engine->advance(full.now);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(in_groups));
  state.counters["groups"] = static_cast<double>(full.engine->groups().size());
  state.counters["alerts_in_groups"] = static_cast<double>(in_groups);
  state.counters["decisions_per_tick"] = per_iteration(state, full.sink.decisions - decisions0);
  state.counters["first_tick_ms"] = full.first_tick_ms;
}
BENCHMARK(BM_GroupTick)->Arg(100000)->Unit(benchmark::kMillisecond);

}  // namespace
