// AlertIndex::put throughput: one mutex against sharded mutexes, with 1, 2 and 4 posting threads
// (HTTP workers), each re-posting batches of 64 alerts (Prometheus' batch size) over its own
// 1 000 label sets, as a Prometheus server re-sends firing alerts. Items/s are alerts merged.
//
//   build/h-alerts-rel/bench/alert_index_bench --benchmark_min_time=1

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "opsready/core/alert.h"
#include "opsready/store/alert_index.h"

namespace {

using opsready::core::Alert;
using opsready::store::AlertIndex;

constexpr int kDistinct = 1000;
constexpr int kBatch = 64;

std::vector<std::vector<Alert>> batches_for(int thread) {
  const auto t0 = opsready::core::TimePoint(std::chrono::hours(24 * 365 * 55));
  std::vector<std::vector<Alert>> out;
  for (int b = 0; b < kDistinct / kBatch + 1; ++b) {
    std::vector<Alert> batch;
    for (int i = 0; i < kBatch; ++i) {
      const int n = (b * kBatch + i) % kDistinct;
      Alert a;
      a.labels = {{"alertname", "FixSessionDown"},
                  {"instance", "gw-" + std::to_string(n) + ":9100"},
                  {"job", "fix_gateway"},
                  {"prometheus", "prom-" + std::to_string(thread)},
                  {"severity", "page"}};
      a.annotations = {{"summary", "FIX session down on gw-" + std::to_string(n)},
                       {"runbook_url", "https://runbooks.example/fix-session-down"}};
      a.fingerprint = opsready::core::alert_fingerprint(a.labels);
      a.generator_url = "http://prometheus:9090/graph?g0.expr=fix_session_up+%3D%3D+0";
      a.starts_at = t0;
      a.ends_at = t0 + std::chrono::hours(1);
      a.received_at = t0 + std::chrono::seconds(b);
      batch.push_back(std::move(a));
    }
    out.push_back(std::move(batch));
  }
  return out;
}

template <std::size_t kShards>
void BM_AlertIndexPut(benchmark::State& state) {
  static AlertIndex index(kShards);
  const auto batches = batches_for(state.thread_index());
  std::size_t k = 0;
  for (auto _ : state) {
    index.put(batches[k++ % batches.size()]);
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

BENCHMARK_TEMPLATE(BM_AlertIndexPut, 1)->Name("AlertIndexPut/one_mutex")->ThreadRange(1, 4);
BENCHMARK_TEMPLATE(BM_AlertIndexPut, AlertIndex::kDefaultShards)
    ->Name("AlertIndexPut/16_shards")
    ->ThreadRange(1, 4);

}  // namespace
