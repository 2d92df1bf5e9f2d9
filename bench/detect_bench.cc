// Streaming detector throughput and state size.
//
// Build and run from a release tree (-O2 -ffp-contract=off, as the `release` preset):
//   cmake --build build/release --target detect_bench
//   build/release/bench/detect_bench --benchmark_min_time=1
// Figures and the machine they were taken on are recorded in docs/detectors.md (Performance).
//
// Inputs are generated deterministically (SplitMix64) with level shifts, so the detectors run
// through detections and resets as they would in production, not just the calm path.

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "opsready/detect/burn_rate.h"
#include "opsready/detect/clamped.h"
#include "opsready/detect/cusum.h"
#include "opsready/detect/feed.h"
#include "opsready/detect/page_hinkley.h"
#include "opsready/detect/psi.h"
#include "opsready/detect/rolling_variance.h"
#include "opsready/detect/stats.h"

namespace opsready::detect {
namespace {

// SplitMix64 to a double in [-0.5, 0.5), plus a level that moves every `period` samples.
std::vector<double> shifting_series(std::size_t n, std::uint64_t seed, std::size_t period) {
  std::vector<double> xs(n);
  std::uint64_t state = seed;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    const double noise = static_cast<double>(z >> 11) * 0x1.0p-53 - 0.5;
    const double level = static_cast<double>((i / period) % 3);
    xs[i] = level + 0.2 * noise;
  }
  return xs;
}

// One series through feed(): the inline per-sample update with the state in registers. The
// detector escapes (its state is observed after each pass), as a component's member would.
void BM_PageHinkleyOneSeries(benchmark::State& state) {
  const std::vector<double> xs = shifting_series(1 << 16, 12345, 5000);
  PageHinkley ph;
  std::uint64_t drifts = 0;
  for (auto _ : state) {
    feed(ph, xs, [&](std::size_t, Outcome o) { drifts += o == Outcome::kDrift ? 1 : 0; });
    benchmark::DoNotOptimize(drifts);
    benchmark::DoNotOptimize(&ph);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(xs.size()));
  state.counters["drifts"] = static_cast<double>(drifts);
}
BENCHMARK(BM_PageHinkleyOneSeries);

// The same samples through update() called on the escaped detector: the compiler must assume
// each sample load may alias the state, so the state goes through memory on every update.
void BM_PageHinkleyOneSeriesPerCall(benchmark::State& state) {
  const std::vector<double> xs = shifting_series(1 << 16, 12345, 5000);
  PageHinkley ph;
  std::uint64_t drifts = 0;
  for (auto _ : state) {
    for (double x : xs) drifts += ph.update(x) == Outcome::kDrift ? 1 : 0;
    benchmark::DoNotOptimize(drifts);
    benchmark::DoNotOptimize(&ph);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(xs.size()));
}
BENCHMARK(BM_PageHinkleyOneSeriesPerCall);

// Many independent series in one batch: every step takes one sample per series. The input
// cycles through kRows precomputed steps so it stays in cache and the figure is the detector's.
// Second argument: the instruction set (PageHinkleyBatch::Isa; 0 = auto).
void BM_PageHinkleyBatch(benchmark::State& state) {
  const auto series = static_cast<std::size_t>(state.range(0));
  const auto isa = static_cast<PageHinkleyBatch::Isa>(state.range(1));
  if (!PageHinkleyBatch::supported(isa)) {
    state.SkipWithError("instruction set not supported on this CPU");
    return;
  }
  constexpr std::size_t kRows = 16;
  const std::vector<double> xs = shifting_series(series * kRows, 777, 4999);
  auto batch = PageHinkleyBatch::create(series, PageHinkleyConfig{}, isa).value();
  std::size_t row = 0;
  std::uint64_t drifts = 0;
  for (auto _ : state) {
    const PageHinkleyBatch::Step s =
        batch.update(std::span<const double>(xs).subspan(row * series, series));
    drifts += s.drifts;
    row = (row + 1) % kRows;
  }
  benchmark::DoNotOptimize(drifts);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(series));
  state.counters["state_bytes"] = static_cast<double>(batch.heap_bytes());
}
BENCHMARK(BM_PageHinkleyBatch)
    ->ArgNames({"series", "isa"})
    ->ArgsProduct({{64, 128, 256, 512, 1024, 2048, 4096, 16384, 262144}, {0}})
    ->ArgsProduct({{1024}, {1, 2, 3}});

// The other detectors, one series each, for comparison.
template <typename Detector>
void run_one_series(benchmark::State& state, Detector& d) {
  const std::vector<double> xs = shifting_series(1 << 16, 12345, 5000);
  std::uint64_t sink = 0;
  for (auto _ : state) {
    if constexpr (std::is_trivially_copyable_v<Detector>) {
      feed(d, xs, [&](std::size_t, auto r) { sink += static_cast<std::uint64_t>(r); });
    } else {
      for (double x : xs) sink += static_cast<std::uint64_t>(d.update(x));
    }
    benchmark::DoNotOptimize(sink);
    benchmark::DoNotOptimize(&d);  // the state is observed, so no update can be dropped
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(xs.size()));
}

void BM_CusumOneSeries(benchmark::State& state) {
  Cusum d;
  run_one_series(state, d);
}
BENCHMARK(BM_CusumOneSeries);

void BM_ClampedPageHinkleyOneSeries(benchmark::State& state) {
  auto d = ClampedPageHinkley::create({}).value();
  run_one_series(state, d);
}
BENCHMARK(BM_ClampedPageHinkleyOneSeries);

void BM_WelfordOneSeries(benchmark::State& state) {
  Welford d;
  run_one_series(state, d);
}
BENCHMARK(BM_WelfordOneSeries);

// Recomputes both window variances exactly on every update: O(window) per sample.
void BM_RollingVarianceOneSeries(benchmark::State& state) {
  const auto w = static_cast<std::uint32_t>(state.range(0));
  auto d = RollingVariance::create({.baseline_window = w, .evaluation_window = w}).value();
  run_one_series(state, d);
}
BENCHMARK(BM_RollingVarianceOneSeries)->Arg(20)->Arg(120);

void BM_PsiMonitorOneSeries(benchmark::State& state) {
  PsiMonitor d(PsiBaseline::create(shifting_series(120, 99, 1000)).value());
  run_one_series(state, d);
}
BENCHMARK(BM_PsiMonitorOneSeries);

// One record per event, one second apart, then an evaluation every 60 records.
void BM_BurnRateRecord(benchmark::State& state) {
  auto slo = BurnRateEvaluator::create({}).value();
  core::TimePoint t{};
  std::uint64_t n = 0;
  for (auto _ : state) {
    t += std::chrono::seconds(1);
    slo.record(t, 1, (n % 997 == 0) ? 1 : 0);
    if (++n % 60 == 0) benchmark::DoNotOptimize(slo.evaluate(t).severity);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BurnRateRecord);

// Bytes of state per detector: sizeof (the inline part) and what it holds on the heap, with the
// defaults. Reported as counters; the timing of these entries means nothing.
void report_size(benchmark::State& state, std::size_t inline_bytes, std::size_t heap_bytes) {
  for (auto _ : state) benchmark::DoNotOptimize(inline_bytes);
  state.counters["sizeof"] = static_cast<double>(inline_bytes);
  state.counters["heap"] = static_cast<double>(heap_bytes);
}
void BM_StateBytes_PageHinkley(benchmark::State& s) { report_size(s, sizeof(PageHinkley), 0); }
void BM_StateBytes_PageHinkleyBatchPerSeries(benchmark::State& s) {
  report_size(s, 0, PageHinkleyBatch::kBytesPerSeries);
}
void BM_StateBytes_ClampedPageHinkley(benchmark::State& s) {
  report_size(s, sizeof(ClampedPageHinkley), 0);
}
void BM_StateBytes_ClampedCusum(benchmark::State& s) { report_size(s, sizeof(ClampedCusum), 0); }
void BM_StateBytes_Cusum(benchmark::State& s) { report_size(s, sizeof(Cusum), 0); }
void BM_StateBytes_Welford(benchmark::State& s) { report_size(s, sizeof(Welford), 0); }
void BM_StateBytes_RollingVariance20x20(benchmark::State& s) {
  const auto d = RollingVariance::create({}).value();
  report_size(s, sizeof(RollingVariance), d.heap_bytes());
}
void BM_StateBytes_PsiMonitor10(benchmark::State& s) {
  const PsiMonitor d(PsiBaseline::create(shifting_series(120, 99, 1000)).value());
  report_size(s, sizeof(PsiMonitor), d.heap_bytes());
}
void BM_StateBytes_BurnRateSreDefaults(benchmark::State& s) {
  const auto d = BurnRateEvaluator::create({}).value();
  report_size(s, sizeof(BurnRateEvaluator), d.heap_bytes());
}
BENCHMARK(BM_StateBytes_PageHinkley);
BENCHMARK(BM_StateBytes_PageHinkleyBatchPerSeries);
BENCHMARK(BM_StateBytes_ClampedPageHinkley);
BENCHMARK(BM_StateBytes_ClampedCusum);
BENCHMARK(BM_StateBytes_Cusum);
BENCHMARK(BM_StateBytes_Welford);
BENCHMARK(BM_StateBytes_RollingVariance20x20);
BENCHMARK(BM_StateBytes_PsiMonitor10);
BENCHMARK(BM_StateBytes_BurnRateSreDefaults);

}  // namespace
}  // namespace opsready::detect
