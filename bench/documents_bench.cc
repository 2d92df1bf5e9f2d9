// The report-driven components (issue 13): documents evaluated per second per kind, from the
// example documents in examples/documents/ (parsed once; items/s counts evaluations of one
// document by DocumentComponent::evaluate, which reads it strictly, grades it, and builds the
// snapshot, the spec's as_dict and the Markdown), and system validation on a generated report
// of 10 000 checks (the comparison with the original's 14–30 ms), in its two list
// shapes, parsed from text in each iteration as `opsready evaluate` does.
//
//   ./build/<release-dir>/bench/documents_bench --benchmark_min_time=0.5

#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "opsready/components/registry.h"
#include "opsready/components/report.h"
#include "opsready/core/time.h"

namespace {

namespace fs = std::filesystem;
using opsready::components::DocumentComponent;
using opsready::components::Registry;

const opsready::core::TimePoint kNow =
    opsready::core::parse_rfc3339("2025-01-03T00:00:00Z").value();

fs::path examples() {
  return fs::path(__FILE__).parent_path().parent_path() / "examples/documents";
}

nlohmann::json load(const std::string& file) {
  std::ifstream in(examples() / file);
  return nlohmann::json::parse(in);
}

void evaluate_example(benchmark::State& state, const char* component, const char* file) {
  auto registry = Registry::create({}).value();
  auto* c = dynamic_cast<DocumentComponent*>(registry.find(component));
  const nlohmann::json doc = load(file);
  if (c == nullptr || !c->evaluate(doc, kNow)) {
    state.SkipWithError("the example does not evaluate");
    return;
  }
  for (auto _ : state) {
    auto e = c->evaluate(doc, kNow);
    benchmark::DoNotOptimize(e);
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK_CAPTURE(evaluate_example, system_validation, "system_validation",
                  "system_validation/report.json");
BENCHMARK_CAPTURE(evaluate_example, incident_response, "incident_response",
                  "incident_response/structured.json");
BENCHMARK_CAPTURE(evaluate_example, incident_response_env, "incident_response",
                  "incident_response/env.json");
BENCHMARK_CAPTURE(evaluate_example, security, "security", "security/env.json");
BENCHMARK_CAPTURE(evaluate_example, backups, "backups", "backups/report.json");
BENCHMARK_CAPTURE(evaluate_example, failover_drill, "failover_drill", "failover_drill/report.json");
BENCHMARK_CAPTURE(evaluate_example, cross_region_failover, "cross_region_failover",
                  "cross_region_failover/report.json");
BENCHMARK_CAPTURE(evaluate_example, disaster_recovery, "disaster_recovery",
                  "disaster_recovery/report.json");
BENCHMARK_CAPTURE(evaluate_example, professional_readiness, "professional_readiness",
                  "professional_readiness/input.json");
BENCHMARK_CAPTURE(evaluate_example, cache, "cache", "cache/report.json");
BENCHMARK_CAPTURE(evaluate_example, evaluated_incident_response, "incident_response",
                  "incident_response/evaluated.json");

// A validation report of `n` checks: the mapping form {name: bool} (range 0) or the list form
// [{name, passed, message, metadata}] with every 10th check failing (range 1).
std::string big_report(int n, bool list) {
  nlohmann::json results = list ? nlohmann::json::array() : nlohmann::json::object();
  for (int i = 0; i < n; ++i) {
    const std::string name = "check_" + std::to_string(i);
    const bool passed = i % 10 != 0;
    if (list) {
      results.push_back({{"name", name},
                         {"passed", passed},
                         {"message", passed ? "ok" : "assertion failed at step 3"},
                         {"duration_s", 0.25}});
    } else {
      results[name] = passed;
    }
  }
  return nlohmann::json{{"timestamp", "2025-01-03T00:00:00Z"},
                        {"validator", "System Completeness"},
                        {"results", results}}
      .dump();
}

void BM_SystemValidation10k(benchmark::State& state) {
  auto registry = Registry::create({}).value();
  auto* c = dynamic_cast<DocumentComponent*>(registry.find("system_validation"));
  const std::string text = big_report(10000, state.range(0) == 1);
  for (auto _ : state) {
    const nlohmann::json doc = nlohmann::json::parse(text);
    auto e = c->evaluate(doc, kNow);
    if (!e) state.SkipWithError(e.error().describe().c_str());
    benchmark::DoNotOptimize(e);
  }
  state.SetItemsProcessed(state.iterations() * 10000);
  state.SetLabel(state.range(0) == 1 ? "list form, 10% failing, parse + evaluate"
                                     : "mapping form, 10% failing, parse + evaluate");
}
BENCHMARK(BM_SystemValidation10k)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
