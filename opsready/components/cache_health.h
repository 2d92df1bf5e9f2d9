#pragma once
// CacheHealth: the `cache` readiness component — the health of the shared cache (the original
// platform's Redis cache, with the in-memory bootstrap cache as its fallback), from the reports
// on `telemetry.cache.health` (spec alerts-bus-dashboard-drills-ci §2.7, runbook
// redis_cache_outage §10).
//
//   auto cache = components::CacheHealth::create({}).value();
//   cache->apply(event);   // {configured: true, reachable: true, hits: 900, misses: 100, ...}
//   core::ComponentSnapshot s = cache->snapshot(clock.now());
//
// Two document forms (docs/components.md, docs/schemas/cache_health.schema.json):
// - a report {generated_at?, backend? (redis|memory), status?, configured, reachable,
//   fallback_active?, hit_rate? (0..1), hits?, misses?, evictions?, latency_ms_p95?, errors?,
//   namespace?, metadata?}, graded by the rules below;
// - an evaluated snapshot {status, generated_at?, summary?, issues?[], metadata?} (what
//   to_json of a graded report writes without the report keys), read by from_evaluated().
// A document with `configured` is a report; one without it is an evaluated snapshot.
//
// Rules, in order (thresholds from CacheHealthConfig):
// - configured and not reachable → fail `Redis cache unreachable` (cache.unreachable);
// - not configured while require_configured → warn `Redis cache not configured`
// (cache.not_configured);
// - fallback_active → warn `In-memory fallback cache active` (cache.fallback);
// - hit rate (hit_rate, else hits / (hits + misses)) < hit_rate_fail → fail, < hit_rate_warn →
//   warn (cache.hit_rate), only when hits + misses ≥ min_requests (always when the counts are
//   not reported);
// - latency_ms_p95 > latency_fail_ms → fail, > latency_warn_ms → warn (cache.latency);
// - evictions > evictions_warn → warn (cache.evictions); errors > errors_warn → warn
//   (cache.errors);
// - a reported status word worse than every finding above → that status (cache.status).
// Not thread-safe (see component.h).

#include <cstdint>
#include <memory>
#include <string>

#include "opsready/components/report.h"

namespace opsready::components {

inline constexpr std::string_view kCacheName = "cache";

struct CacheHealthConfig {
  bool enabled = true;
  bool require_configured = true;    // warn while the shared cache is not configured
  double hit_rate_warn = 0.8;        // warn when the hit rate < this
  double hit_rate_fail = 0.5;        // fail when the hit rate < this
  std::uint32_t min_requests = 100;  // hits + misses needed before the hit rate is graded
  double latency_warn_ms = 5;        // warn when p95 latency > this (ms)
  double latency_fail_ms = 50;       // fail when p95 latency > this (ms)
  std::uint32_t evictions_warn = 0;  // warn when evictions > this
  std::uint32_t errors_warn = 0;     // warn when errors > this

  bool operator==(const CacheHealthConfig&) const = default;
};

[[nodiscard]] core::Result<void> validate(const CacheHealthConfig& config);

class CacheHealth final : public DocumentComponent {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<CacheHealth>> create(
      const CacheHealthConfig& config);

  // A report (with `configured`) or an evaluated snapshot (see above).
  [[nodiscard]] core::Result<Evaluated> evaluate(const nlohmann::json& doc,
                                                 core::TimePoint now) override;
  [[nodiscard]] const CacheHealthConfig& config() const { return config_; }

 private:
  explicit CacheHealth(const CacheHealthConfig& config);
  CacheHealthConfig config_;
};

}  // namespace opsready::components
