// Embedding opsready's report-driven evaluators in a C++ runtime (docs/components.md
// "Report-driven components"): the runtime grades its own validation report and incident
// policy/state before it publishes them, and gates its start on the one readiness gate — the
// same evaluators, thresholds and gate as the daemon and `opsready evaluate`.
//
//   evaluate_documents [report.json]   default: a built-in report with one failing check
//
// Exits 0 when the gate passes or warns, 2 when it blocks, 65 when a document is refused.

#include <cstdio>
#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/components/registry.h"
#include "opsready/components/report.h"
#include "opsready/core/clock.h"
#include "opsready/readiness/readiness.h"

namespace components = opsready::components;
namespace core = opsready::core;

int main(int argc, char** argv) {
  const core::TimePoint now = core::SystemClock::instance().now();
  nlohmann::json report = {
      {"validator", "System Completeness"},
      {"results", {{"config", true}, {"fix_sessions", {{"passed", false}, {"message", "LSE"}}}}}};
  if (argc > 1) {
    std::ifstream in(argv[1]);
    report = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  }
  const nlohmann::json incident = {{"INCIDENT_REQUIRED_RUNBOOKS", "fix_session_down"},
                                   {"INCIDENT_AVAILABLE_RUNBOOKS", "fix_session_down;redis_outage"},
                                   {"INCIDENT_PRIMARY_RESPONDERS", "alice,bob"},
                                   {"INCIDENT_SECONDARY_RESPONDERS", "carol"},
                                   {"INCIDENT_TRAINING_AGE_DAYS", "20"},
                                   {"INCIDENT_DRILL_AGE_DAYS", "10"},
                                   {"INCIDENT_CHATOPS_READY", "true"}};

  // The spec's thresholds; a runtime sets its own in ComponentsConfig (as detectors: does).
  components::ComponentsConfig cfg;
  cfg.system_validation.min_success_rate = 0.9;
  auto registry = components::Registry::create(cfg);
  if (!registry) return 64;
  std::vector<core::ComponentSnapshot> snapshots;
  for (const auto& [name, doc] :
       {std::pair{"system_validation", report}, std::pair{"incident_response", incident}}) {
    auto* c = dynamic_cast<components::DocumentComponent*>(registry->find(name));
    auto e = c->evaluate(doc, now);
    if (!e) {
      std::fprintf(stderr, "%s refused: %s\n", name, e.error().describe().c_str());
      return 65;
    }
    std::printf("%s\n", e->markdown.c_str());
    snapshots.push_back(std::move(e->snapshot));
  }
  const auto readiness = opsready::readiness::aggregate(snapshots, {}, now);
  std::printf("gate: %s\n",
              std::string(opsready::readiness::to_string(readiness.gate.decision)).c_str());
  for (const auto& r : readiness.gate.blocking_reasons) {
    std::printf("  block %s: %s\n", r.code.c_str(), r.message.c_str());
  }
  return readiness.gate.decision == opsready::readiness::GateDecision::Decision::kBlock ? 2 : 0;
}
