#pragma once
// Registry: the set of component evaluators one runtime (or one replay) runs, built from
// configuration, and the routing of telemetry events to them.
//
//   components::ComponentsConfig cfg;                  // every component on, spec defaults
//   cfg.sensory_drift.lookback = 36;
//   auto registry = components::Registry::create(cfg).value();
//   components::Routed r = registry.route(event);      // on the evaluation thread
//   if (r.consumers == 0) count_unrouted(event.topic);
//   std::vector<core::ComponentSnapshot> out;
//   registry.snapshots(clock.now(), out);               // active components only
//
// Lifetime and threads: the registry owns its components; it belongs to the evaluation thread
// (one writer, no locks). route() caches the consumers of each topic it has seen, so a topic
// costs one hash lookup per event after the first.

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "opsready/components/backups.h"
#include "opsready/components/cache_health.h"
#include "opsready/components/component.h"
#include "opsready/components/cross_region_failover.h"
#include "opsready/components/disaster_recovery.h"
#include "opsready/components/drift_sentry.h"
#include "opsready/components/failover_drill.h"
#include "opsready/components/incident_response.h"
#include "opsready/components/ingest_slos.h"
#include "opsready/components/nats_consumer.h"
#include "opsready/components/professional_readiness.h"
#include "opsready/components/security.h"
#include "opsready/components/sensory_drift.h"
#include "opsready/components/strategy_performance.h"
#include "opsready/components/system_validation.h"
#include "opsready/components/understanding_loop.h"

namespace opsready::components {

// Settings of every built-in component; the YAML section `detectors:` (docs/components.md).
struct ComponentsConfig {
  SensoryDriftConfig sensory_drift;
  DriftSentryConfig drift_sentry;
  IngestSlosConfig ingest_slos;
  StrategyPerformanceConfig strategy_performance;
  UnderstandingLoopConfig understanding_loop;
  // The report-driven components (issue 13).
  SystemValidationConfig system_validation;
  IncidentResponseConfig incident_response;
  SecurityConfig security;
  BackupsConfig backups;
  FailoverDrillConfig failover_drill;
  CrossRegionFailoverConfig cross_region_failover;
  DisasterRecoveryConfig disaster_recovery;
  ProfessionalReadinessConfig professional_readiness;
  CacheHealthConfig cache;
  NatsConsumerConfig nats_consumer;

  bool operator==(const ComponentsConfig&) const = default;
};

// Validates every enabled component's settings; the error's field is prefixed with the
// component name ("sensory_drift.lookback").
[[nodiscard]] core::Result<void> validate(const ComponentsConfig& config);

// What routing one event did.
struct Routed {
  int consumers = 0;      // components that consume the topic
  int refused = 0;        // of those, how many refused the payload
  std::string component;  // the first component that refused it
  core::Error error;      // its reason (the field names the payload field)

  bool operator==(const Routed&) const = default;
};

class Registry {
 public:
  // Builds the enabled components, in the order of ComponentsConfig.
  [[nodiscard]] static core::Result<Registry> create(const ComponentsConfig& config);
  // A registry over the given components (tests, embedders with their own evaluators).
  explicit Registry(std::vector<std::unique_ptr<Component>> components);
  // An empty registry: routes nothing (a member to be assigned from create()).
  Registry() = default;

  Registry(Registry&&) noexcept = default;
  Registry& operator=(Registry&&) noexcept = default;

  // Applies `event` to every component that consumes its topic.
  Routed route(const core::TelemetryEvent& event);
  // Appends the snapshot of every active component at `now`, in registry order; each
  // component first observe()s the snapshots taken before it in this call.
  void snapshots(core::TimePoint now, std::vector<core::ComponentSnapshot>& out,
                 Detail detail = Detail::kFull);

  [[nodiscard]] std::size_t size() const { return components_.size(); }
  [[nodiscard]] Component& at(std::size_t i) { return *components_[i]; }
  // The component with this name, or nullptr.
  [[nodiscard]] Component* find(std::string_view name);
  // The alert category of a component: its own for registry components, else
  // "operational.<name>" (the spec's per-component readiness category, §7.4).
  [[nodiscard]] std::string alert_category(std::string_view component) const;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  const std::vector<Component*>& consumers(std::string_view topic);

  std::vector<std::unique_ptr<Component>> components_;
  std::unordered_map<std::string, std::vector<Component*>, Hash, std::equal_to<>> routes_;
  std::vector<Component*> uncached_;  // the answer for a topic past the cache's bound
};

// The shape check of ingest: a registry of its own (built from the same configuration as the
// evaluation strand's) whose components' check() is asked, under a lock, whether an event
// would be refused, before the event is queued. Thread-safe; HTTP and NATS ingest threads
// share one.
//
//   components::DocumentChecker checker(cfg);
//   if (auto ok = checker.check(event); !ok) return reply_400(ok.error());  // field names it
class DocumentChecker {
 public:
  // An empty checker (checks nothing) when `config` does not build.
  explicit DocumentChecker(const ComponentsConfig& config);
  // The first refusal of a consuming component, with the field prefixed "payload." when the
  // component names a payload field without it.
  [[nodiscard]] core::Result<void> check(const core::TelemetryEvent& event);

 private:
  std::mutex mu_;
  Registry registry_;
};

}  // namespace opsready::components
