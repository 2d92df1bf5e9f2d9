// `opsready replay` throughput on a generated 1 M-event telemetry file (docs/components.md,
// "Performance"). The file is written once per process into the temp directory: a
// deterministic mix of every topic the built-in components consume —
//   40 % ingest latency samples, 10 % ingest event counts, 10 % ingest freshness samples,
//   10 % sensory audit entries (5 dimensions; the PSI window fills), 10 % drift-sentry metric
//   samples, 10 % strategy trades, 10 % understanding-loop latency samples,
// plus a diagnostics snapshot and an external component snapshot every 10 000 events.
//
// BM_Replay/N: the whole command (JSON parsing, routing, evaluation, aggregation, alert
// derivation, output to a null stream), N events per distinct timestamp, so readiness is
// evaluated 1 M / N times. BM_Route: the same events pre-parsed, routed through the registry
// only (no evaluation), to separate folding events in from evaluating.
//
//   build/release/bench/replay_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only

#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <sstream>
#include <streambuf>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/app/replay_command.h"
#include "opsready/components/registry.h"
#include "opsready/core/time.h"

namespace {

namespace fs = std::filesystem;
using opsready::core::TimePoint;

constexpr std::size_t kEvents = 1'000'000;

class NullBuffer : public std::streambuf {
 protected:
  int_type overflow(int_type c) override { return c; }
  std::streamsize xsputn(const char*, std::streamsize n) override { return n; }
};

// SplitMix64: deterministic, no <random> distribution differences between standard libraries.
struct Rng {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
};

std::string event_line(std::size_t i, const std::string& time, Rng& rng) {
  static const char* dims[] = {"daily_bars", "intraday_trades", "macro_events"};
  char buf[1024];
  const auto sample = [&](const char* topic, const std::string& series, double v) {
    std::snprintf(buf, sizeof buf,
                  R"({"topic":"%s","time":"%s","payload":{"series":"%s","value":%.6f}})", topic,
                  time.c_str(), series.c_str(), v);
    return std::string(buf);
  };
  if (i % 10000 == 0) {
    std::snprintf(buf, sizeof buf,
                  R"({"topic":"opsready.component.snapshot","time":"%s","payload":{"component":)"
                  R"("fix_gateway","status":"ok","summary":"sessions up"}})",
                  time.c_str());
    return buf;
  }
  if (i % 10000 == 1) {
    std::snprintf(buf, sizeof buf,
                  R"({"topic":"telemetry.understanding.diagnostics","time":"%s","payload":)"
                  R"({"status":"ok","regime_state":{"regime":"trending","confidence":0.7},)"
                  R"("decision":{"tactic_id":"t1","selected_weight":0.5},)"
                  R"("drift_summary":{"exceeded":[]}}})",
                  time.c_str());
    return buf;
  }
  const std::string dim = dims[rng.next() % 3];
  switch (i % 10) {
    case 0:
    case 1:
    case 2:
    case 3:
      return sample("telemetry.ingest.latency_seconds", dim, 0.5 + rng.uniform());
    case 4: {
      std::snprintf(buf, sizeof buf,
                    R"({"topic":"telemetry.ingest.events","time":"%s","payload":{"series":"%s",)"
                    R"("value":%d,"labels":{"outcome":"%s"}}})",
                    time.c_str(), dim.c_str(), static_cast<int>(rng.next() % 100),
                    rng.next() % 500 == 0 ? "error" : "ok");
      return buf;
    }
    case 5:
      return sample("telemetry.ingest.freshness_seconds", dim, 30 * rng.uniform());
    case 6: {
      const double level = 0.1 + 0.05 * rng.uniform();
      std::snprintf(buf, sizeof buf,
                    R"({"topic":"telemetry.sensory.audit","time":"%s","payload":{"symbol":)"
                    R"("EURUSD","unified_score":%.4f,"confidence":%.4f,"dimensions":{)"
                    R"("WHY":{"signal":%.4f,"confidence":0.7},"WHAT":{"signal":%.4f,)"
                    R"("confidence":0.7},"WHEN":{"signal":%.4f,"confidence":0.7},"HOW":)"
                    R"({"signal":%.4f,"confidence":0.7},"ANOMALY":{"signal":%.4f,)"
                    R"("confidence":0.7}}}})",
                    time.c_str(), level, 0.7 + 0.01 * rng.uniform(), level, level + 0.01,
                    level - 0.01, level + 0.02 * rng.uniform(), 0.05 * rng.uniform());
      return buf;
    }
    case 7:
      return sample("telemetry.understanding.metric",
                    std::string("belief_") + std::to_string(rng.next() % 3),
                    0.5 + 0.02 * rng.uniform());
    case 8: {
      std::snprintf(buf, sizeof buf,
                    R"({"topic":"telemetry.strategy.trade","time":"%s","payload":{)"
                    R"("strategy_id":"s%d","pnl":%.2f,"notional":%.2f,)"
                    R"("fast_weights_enabled":%s,"metadata":{"spread_bps":1}}})",
                    time.c_str(), static_cast<int>(rng.next() % 5), 100 * (rng.uniform() - 0.45),
                    10000 + 1000 * rng.uniform(), rng.next() % 2 ? "true" : "false");
      return buf;
    }
    default:
      return sample("telemetry.understanding.latency_seconds", "professional", 0.2 + rng.uniform());
  }
}

// The generated file for `per_timestamp` events per distinct time (cached per process).
fs::path events_file(std::size_t per_timestamp) {
  static std::map<std::size_t, fs::path> made;
  if (const auto it = made.find(per_timestamp); it != made.end()) return it->second;
  const fs::path path = fs::temp_directory_path() /
                        ("opsready_replay_bench_" + std::to_string(per_timestamp) + ".jsonl");
  std::ofstream out(path, std::ios::binary);
  Rng rng{12345};
  const TimePoint t0 = opsready::core::parse_rfc3339("2025-01-02T00:00:00Z").value();
  std::string time;
  for (std::size_t i = 0; i < kEvents; ++i) {
    if (i % per_timestamp == 0) {
      time = opsready::core::format_rfc3339(t0 + std::chrono::milliseconds(100) *
                                                     static_cast<long>(i / per_timestamp));
    }
    out << event_line(i, time, rng) << '\n';
  }
  made.emplace(per_timestamp, path);
  return path;
}

fs::path config_file() {
  const fs::path path = fs::temp_directory_path() / "opsready_replay_bench.yml";
  std::ofstream(path, std::ios::binary) << "gate:\n  max_age: 10m\n"
                                           "detectors:\n"
                                           "  drift_sentry:\n"
                                           "    baseline_window: 48\n"
                                           "    evaluation_window: 12\n"
                                           "    min_observations: 12\n"
                                           "  strategy_performance:\n"
                                           "    initial_capital: 1000000\n";
  return path;
}

void BM_Replay(benchmark::State& state) {
  const fs::path input = events_file(static_cast<std::size_t>(state.range(0)));
  const fs::path config = config_file();
  NullBuffer null;
  std::ostream out(&null);
  for (auto _ : state) {
    std::ostringstream err;
    const int code =
        opsready::app::run_replay({.input = input, .config = config, .keep_going = true}, out, err);
    if (code != 0) state.SkipWithError(err.str().c_str());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kEvents));
  state.counters["evaluations"] =
      static_cast<double>(kEvents / static_cast<std::size_t>(state.range(0)));
}
BENCHMARK(BM_Replay)->Arg(1)->Arg(100)->Unit(benchmark::kSecond)->Iterations(1);

void BM_Route(benchmark::State& state) {
  const fs::path input = events_file(1);
  std::vector<opsready::core::TelemetryEvent> events;
  events.reserve(kEvents);
  std::ifstream in(input);
  std::string line;
  while (std::getline(in, line)) {
    events.push_back(
        opsready::core::event_from_json(nlohmann::json::parse(line), TimePoint{}).value());
  }
  opsready::components::ComponentsConfig cfg;
  cfg.drift_sentry.baseline_window = 48;
  cfg.drift_sentry.evaluation_window = 12;
  cfg.drift_sentry.min_observations = 12;
  for (auto _ : state) {
    auto registry = opsready::components::Registry::create(cfg).value();
    std::size_t refused = 0;
    for (const auto& e : events) refused += static_cast<std::size_t>(registry.route(e).refused);
    benchmark::DoNotOptimize(refused);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * events.size()));
}
BENCHMARK(BM_Route)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
