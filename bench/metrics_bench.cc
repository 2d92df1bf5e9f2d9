// Metrics registry costs: updating a counter through a cached child reference versus looking
// the child up with with() on every update, and rendering /metrics for 1 000 series.
//
//   cmake --preset release && cmake --build --preset release --target metrics_bench
//   ./build/release/bench/metrics_bench

#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "opsready/metrics/registry.h"

namespace opsready::metrics {
namespace {

// The hot-path pattern the header recommends: look the child up once, keep the reference.
void BM_CounterIncCached(benchmark::State& state) {
  Registry reg;
  Counter& c = reg.counter("opsready_events_received_total", "h", {"topic", "outcome"})
                   .with({"telemetry.ingest.health", "accepted"});
  for (auto _ : state) c.inc();
  benchmark::DoNotOptimize(c.value());
}
BENCHMARK(BM_CounterIncCached);

// with() on every update, label values already in a vector: mutex + map lookup.
void BM_CounterIncWithPrebuiltLabels(benchmark::State& state) {
  Registry reg;
  auto& fam = reg.counter("opsready_events_received_total", "h", {"topic", "outcome"});
  for (int i = 0; i < 20; ++i) fam.with({"topic." + std::to_string(i), "accepted"});
  const std::vector<std::string> values = {"telemetry.ingest.health", "accepted"};
  for (auto _ : state) fam.with(values).inc();
  benchmark::DoNotOptimize(fam.with(values).value());
}
BENCHMARK(BM_CounterIncWithPrebuiltLabels);

// with({"...", "..."}) written inline at the call site: also builds the vector and strings.
void BM_CounterIncWithInlineLabels(benchmark::State& state) {
  Registry reg;
  auto& fam = reg.counter("opsready_events_received_total", "h", {"topic", "outcome"});
  for (int i = 0; i < 20; ++i) fam.with({"topic." + std::to_string(i), "accepted"});
  for (auto _ : state) fam.with({"telemetry.ingest.health", "accepted"}).inc();
}
BENCHMARK(BM_CounterIncWithInlineLabels);

// One counter updated from every benchmark thread: the CAS loop under contention.
void BM_CounterIncContended(benchmark::State& state) {
  static Registry* reg = nullptr;
  static Counter* c = nullptr;
  if (state.thread_index() == 0) {
    reg = new Registry;
    c = &reg->counter("opsready_contended_total", "h").with({});
  }
  for (auto _ : state) c->inc();
  if (state.thread_index() == 0) {
    delete reg;
    reg = nullptr;
  }
}
BENCHMARK(BM_CounterIncContended)->Threads(1)->Threads(2);

// 1 000 series: 10 counter and 10 gauge families of 50 children each, two labels apiece.
void BM_Expose1000Series(benchmark::State& state) {
  Registry reg;
  for (int f = 0; f < 10; ++f) {
    auto& c = reg.counter("opsready_bench_" + std::to_string(f) + "_total", "Bench counter.",
                          {"component", "reason"});
    auto& g = reg.gauge("opsready_bench_gauge_" + std::to_string(f), "Bench gauge.",
                        {"component", "reason"});
    for (int i = 0; i < 50; ++i) {
      const std::vector<std::string> values = {"component_" + std::to_string(i), "reason"};
      c.with(values).inc(i * 1000.5);
      g.with(values).set(i / 7.0);
    }
  }
  std::size_t bytes = 0;
  for (auto _ : state) {
    const std::string text = reg.expose();
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Expose1000Series);

// Histograms dominate real scrapes: 100 series with the 11 default buckets = 1 400 lines.
void BM_Expose100Histograms(benchmark::State& state) {
  Registry reg;
  auto& h = reg.histogram("opsready_delivery_seconds", "Delivery latency.", default_buckets(),
                          {"receiver"});
  for (int i = 0; i < 100; ++i) {
    auto& child = h.with({"receiver_" + std::to_string(i)});
    for (int k = 0; k < 50; ++k) child.observe(k * 0.013);
  }
  std::size_t bytes = 0;
  for (auto _ : state) {
    const std::string text = reg.expose();
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Expose100Histograms);

}  // namespace
}  // namespace opsready::metrics
