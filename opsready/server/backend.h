#pragma once
// Backend: what the HTTP server needs from the runtime that owns evaluation.
//
// The server (level 4) must not know how a runtime is wired (level 5: app/), so app's Runtime
// implements this interface and hands it to HttpServer. Every method is called from the
// server's worker threads concurrently and must be thread-safe.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "opsready/core/alert.h"
#include "opsready/core/clock.h"
#include "opsready/core/error.h"
#include "opsready/core/event.h"
#include "opsready/readiness/readiness.h"
#include "opsready/store/store.h"

namespace opsready::server {

enum class SubmitResult {
  kAccepted,   // every event of the batch was queued for evaluation
  kQueueFull,  // none was queued: the evaluation queue has no room for the whole batch
  kStopping,   // none was queued: the runtime is shutting down
};

class Backend {
 public:
  virtual ~Backend() = default;

  // All or nothing: either every event is queued, or none is.
  [[nodiscard]] virtual SubmitResult submit(std::vector<core::TelemetryEvent> events) = 0;
  // The latest evaluated readiness snapshot (never null once ready()).
  [[nodiscard]] virtual std::shared_ptr<const readiness::ReadinessSnapshot> current() const = 0;
  [[nodiscard]] virtual core::Result<std::vector<store::StoredReadiness>> history(
      core::TimePoint since, core::TimePoint until, std::size_t limit) const = 0;
  [[nodiscard]] virtual bool ready() const = 0;
  [[nodiscard]] virtual const core::Clock& clock() const = 0;
  // The supervision tree of the runtime's own tasks (GET /api/v1/supervision).
  [[nodiscard]] virtual nlohmann::json supervision() const = 0;
  // External alerts (POST /api/v2/alerts, GET /api/v1/alerts), merged by fingerprint with
  // Alertmanager's rules (core::merge_alert). Called on the HTTP worker threads, never on the
  // evaluation strand. The runtime holds them in memory at once and writes them behind to the
  // store (store::AlertIndex); neither call waits on the store.
  [[nodiscard]] virtual core::Result<void> put_alerts(const std::vector<core::Alert>& alerts) = 0;
  [[nodiscard]] virtual core::Result<std::vector<core::Alert>> alerts(
      bool active_only, core::TimePoint now) const = 0;
};

}  // namespace opsready::server
