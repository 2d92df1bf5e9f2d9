#include "opsready/components/registry.h"

namespace opsready::components {
namespace {

// Distinct topics whose consumers are cached; beyond this, lookups are computed each time so a
// producer inventing topics cannot grow the cache without bound.
constexpr std::size_t kMaxCachedTopics = 4096;

template <typename Config>
core::Result<void> check(const Config& c, std::string_view component) {
  if (!c.enabled) return {};
  if (auto ok = validate(c); !ok) {
    return core::fail(
        ok.error().code, ok.error().message,
        std::string(component) + (ok.error().field.empty() ? "" : ".") + ok.error().field);
  }
  return {};
}

template <typename T, typename Config>
core::Result<void> add(const Config& c, std::vector<std::unique_ptr<Component>>& out) {
  if (!c.enabled) return {};
  auto made = T::create(c);
  if (!made) return std::unexpected(made.error());
  out.push_back(std::move(*made));
  return {};
}

}  // namespace

core::Result<void> validate(const ComponentsConfig& c) {
  if (auto ok = check(c.sensory_drift, kSensoryDriftName); !ok) return ok;
  if (auto ok = check(c.drift_sentry, kDriftSentryName); !ok) return ok;
  if (auto ok = check(c.ingest_slos, kIngestSlosName); !ok) return ok;
  if (auto ok = check(c.strategy_performance, kStrategyPerformanceName); !ok) return ok;
  if (auto ok = check(c.understanding_loop, kUnderstandingLoopName); !ok) return ok;
  if (auto ok = check(c.system_validation, kSystemValidationName); !ok) return ok;
  if (auto ok = check(c.incident_response, kIncidentResponseName); !ok) return ok;
  if (auto ok = check(c.security, kSecurityName); !ok) return ok;
  if (auto ok = check(c.backups, kBackupsName); !ok) return ok;
  if (auto ok = check(c.failover_drill, kFailoverDrillName); !ok) return ok;
  if (auto ok = check(c.cross_region_failover, kCrossRegionFailoverName); !ok) return ok;
  if (auto ok = check(c.disaster_recovery, kDisasterRecoveryName); !ok) return ok;
  if (auto ok = check(c.professional_readiness, kProfessionalReadinessName); !ok) return ok;
  if (auto ok = check(c.cache, kCacheName); !ok) return ok;
  return check(c.nats_consumer, kNatsConsumerName);
}

core::Result<Registry> Registry::create(const ComponentsConfig& config) {
  if (auto ok = validate(config); !ok) return std::unexpected(ok.error());
  std::vector<std::unique_ptr<Component>> list;
  if (auto ok = add<SensoryDrift>(config.sensory_drift, list); !ok)
    return std::unexpected(ok.error());
  if (auto ok = add<DriftSentry>(config.drift_sentry, list); !ok)
    return std::unexpected(ok.error());
  if (auto ok = add<IngestSlos>(config.ingest_slos, list); !ok) return std::unexpected(ok.error());
  if (auto ok = add<StrategyPerformance>(config.strategy_performance, list); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = add<UnderstandingLoop>(config.understanding_loop, list); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = add<SystemValidation>(config.system_validation, list); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = add<IncidentResponse>(config.incident_response, list); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = add<Security>(config.security, list); !ok) return std::unexpected(ok.error());
  if (auto ok = add<Backups>(config.backups, list); !ok) return std::unexpected(ok.error());
  if (auto ok = add<FailoverDrill>(config.failover_drill, list); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = add<CrossRegionFailover>(config.cross_region_failover, list); !ok) {
    return std::unexpected(ok.error());
  }
  // Reads the backups and drill documents inside its own with those components' settings.
  if (config.disaster_recovery.enabled) {
    auto dr =
        DisasterRecovery::create(config.disaster_recovery, config.backups, config.failover_drill);
    if (!dr) return std::unexpected(dr.error());
    list.push_back(std::move(*dr));
  }
  if (auto ok = add<ProfessionalReadiness>(config.professional_readiness, list); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = add<CacheHealth>(config.cache, list); !ok) return std::unexpected(ok.error());
  if (auto ok = add<NatsConsumer>(config.nats_consumer, list); !ok) {
    return std::unexpected(ok.error());
  }
  return Registry(std::move(list));
}

Registry::Registry(std::vector<std::unique_ptr<Component>> components)
    : components_(std::move(components)) {}

const std::vector<Component*>& Registry::consumers(std::string_view topic) {
  if (const auto it = routes_.find(topic); it != routes_.end()) return it->second;
  std::vector<Component*> list;
  for (const auto& c : components_) {
    if (c->consumes(topic)) list.push_back(c.get());
  }
  if (routes_.size() >= kMaxCachedTopics) {
    uncached_ = std::move(list);
    return uncached_;
  }
  return routes_.emplace(std::string(topic), std::move(list)).first->second;
}

Routed Registry::route(const core::TelemetryEvent& event) {
  Routed r;
  for (Component* c : consumers(event.topic)) {
    ++r.consumers;
    if (auto ok = c->apply(event); !ok) {
      if (r.refused++ == 0) {
        r.component = std::string(c->name());
        r.error = ok.error();
      }
    }
  }
  return r;
}

void Registry::snapshots(core::TimePoint now, std::vector<core::ComponentSnapshot>& out,
                         Detail detail) {
  const std::size_t first = out.size();
  for (const auto& c : components_) {
    c->observe(std::span<const core::ComponentSnapshot>(out).subspan(first));
    if (c->active()) out.push_back(c->snapshot(now, detail));
  }
}

Component* Registry::find(std::string_view name) {
  for (const auto& c : components_) {
    if (c->name() == name) return c.get();
  }
  return nullptr;
}

std::string Registry::alert_category(std::string_view component) const {
  for (const auto& c : components_) {
    if (c->name() == component) return std::string(c->alert_category());
  }
  return "operational." + std::string(component);
}

DocumentChecker::DocumentChecker(const ComponentsConfig& config) {
  if (auto r = Registry::create(config)) registry_ = std::move(*r);
}

core::Result<void> DocumentChecker::check(const core::TelemetryEvent& event) {
  std::lock_guard lock(mu_);
  for (std::size_t i = 0; i < registry_.size(); ++i) {
    Component& c = registry_.at(i);
    if (!c.consumes(event.topic)) continue;
    if (auto ok = c.check(event); !ok) {
      core::Error e = ok.error();
      if (e.field.rfind("payload", 0) != 0) {
        e.field = e.field.empty() ? "payload" : "payload." + e.field;
      }
      e.message = std::string(c.name()) + ": " + e.message;
      return std::unexpected(std::move(e));
    }
  }
  return {};
}

}  // namespace opsready::components
