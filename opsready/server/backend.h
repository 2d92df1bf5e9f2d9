#pragma once
// Backend: what the HTTP server needs from the runtime that owns evaluation.
//
// The server (level 5) must not know how a runtime is wired (level 6: app/), so app's Runtime
// implements this interface and hands it to HttpServer. Every method is called from the
// server's threads concurrently and must be thread-safe. Alert state (external and derived
// alerts, groups, silences, acks) belongs to the engine on the evaluation strand: the server
// reads and changes it only through post(), never from its own threads.

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "opsready/alerting/incident.h"
#include "opsready/core/alert.h"
#include "opsready/core/clock.h"
#include "opsready/core/error.h"
#include "opsready/core/event.h"
#include "opsready/engine/engine.h"
#include "opsready/engine/feeds.h"
#include "opsready/readiness/readiness.h"
#include "opsready/store/store.h"

namespace opsready::server {

// Where a batch of events came in (the `path` label of opsready_events_ingested_total).
enum class IngestPath { kHttp, kNats, kLibrary };
[[nodiscard]] constexpr std::string_view to_string(IngestPath p) {
  switch (p) {
    case IngestPath::kHttp:
      return "http";
    case IngestPath::kNats:
      return "nats";
    case IngestPath::kLibrary:
      return "library";
  }
  return "library";
}
inline constexpr IngestPath kAllIngestPaths[] = {IngestPath::kHttp, IngestPath::kNats,
                                                 IngestPath::kLibrary};

enum class SubmitResult {
  kAccepted,   // every event of the batch was queued for evaluation
  kQueueFull,  // none was queued: the evaluation queue has no room for the whole batch
  kStopping,   // none was queued: the runtime is shutting down
};

class Backend {
 public:
  virtual ~Backend() = default;

  // Whether an event would be refused for the shape of its payload (a document a component
  // cannot read), asked by ingest before submit(): the error names the payload field.
  [[nodiscard]] virtual core::Result<void> check(const core::TelemetryEvent& event) = 0;
  // All or nothing: either every event is queued, or none is.
  [[nodiscard]] virtual SubmitResult submit(std::vector<core::TelemetryEvent> events,
                                            IngestPath path = IngestPath::kLibrary) = 0;
  // The latest evaluated readiness snapshot (never null once ready()).
  [[nodiscard]] virtual std::shared_ptr<const readiness::ReadinessSnapshot> current() const = 0;
  [[nodiscard]] virtual core::Result<std::vector<store::StoredReadiness>> history(
      core::TimePoint since, core::TimePoint until, std::size_t limit) const = 0;
  [[nodiscard]] virtual bool ready() const = 0;
  [[nodiscard]] virtual const core::Clock& clock() const = 0;
  // The supervision tree of the runtime's own tasks (GET /api/v1/supervision).
  [[nodiscard]] virtual nlohmann::json supervision() const = 0;
  // External alerts (POST /api/v2/alerts) into the evaluation queue, all or nothing, as
  // submit() does with events: the engine merges them by fingerprint (Alertmanager's rules) on
  // the strand, and the runtime writes them to the store in a group commit (one transaction for
  // every batch applied since the last one). `durable`, when set and the batch was accepted, is
  // called once that commit has ended: with success when the alerts are on disk, with the store's
  // error otherwise. It may run on any thread, must not block, and is dropped uncalled only when
  // the runtime stops before it could write (a crash, or a store that never came back).
  using Durable = std::move_only_function<void(core::Result<void>)>;
  [[nodiscard]] virtual SubmitResult submit_alerts(std::vector<core::Alert> alerts,
                                                   Durable durable = {}) = 0;
  // Runs `task` on the evaluation strand with the engine and the strand's `now`, after the
  // inputs queued before it; a task answers its request from there (Responder is thread-safe).
  // Returns false, and drops the task, when the runtime is stopping or not started.
  using EngineTask = std::move_only_function<void(engine::Engine&, core::TimePoint now)>;
  [[nodiscard]] virtual bool post(EngineTask task) = 0;
  // When the runtime started (GET /api/v2/status's uptime).
  [[nodiscard]] virtual core::TimePoint started_at() const = 0;
  // The incidents (alerting/incident.h) whose records the store holds from `since` on, with
  // the deliveries of the outbox rows decided since then, in the order they opened. Read from
  // the store, which the engine's records reach a few milliseconds after they are made.
  [[nodiscard]] virtual core::Result<std::vector<alerting::IncidentTimeline>> incidents(
      core::TimePoint since) const = 0;
  // The dashboard feeds as of the last evaluation (engine/feeds.h; never null).
  [[nodiscard]] virtual std::shared_ptr<const engine::Feeds> feeds() const = 0;
  // One component's stored snapshots in [since, until], oldest first, at most `limit` (the
  // newest of the range when it holds more).
  [[nodiscard]] virtual core::Result<std::vector<core::ComponentSnapshot>> component_history(
      const std::string& component, core::TimePoint since, core::TimePoint until,
      std::size_t limit) const = 0;
  // The daemon's own ingest and delivery figures for the dashboard (GET /api/v1/dashboard/
  // stream's `stats` event): {"events_total": {path: n}, "queue": {"depth", "capacity"},
  // "nats": {"connected", "consumer_pending"}, "spool_pending", "notifications": {...}};
  // null where a part is not configured.
  [[nodiscard]] virtual nlohmann::json stats() const = 0;
  // The worst status of every component per bucket (Store::component_buckets): the dashboard's
  // status-history strips.
  [[nodiscard]] virtual core::Result<std::vector<store::ComponentBucket>> component_buckets(
      core::TimePoint since, core::TimePoint until, core::Duration bucket) const = 0;
  // The gate's changes in [since, until], oldest first (Store::gate_history).
  [[nodiscard]] virtual core::Result<std::vector<store::GateChange>> gate_history(
      core::TimePoint since, core::TimePoint until, std::size_t limit) const = 0;
  // Forced-failure drills (docs/drills.md) and compliance sign-offs, JSON in and out: the
  // drills layer is the server's neighbour, not below it, and the sign-offs are the app's.
  // Each answer is the HTTP status and body the route sends. Called on the server's pool (they
  // may block on the store or the evaluation strand).
  struct JsonReply {
    int status = 200;
    nlohmann::json body;
  };
  // GET /api/v1/drills: the scenarios, the running drill and the stored runs (newest first).
  [[nodiscard]] virtual JsonReply drills(const std::string& scenario, std::size_t limit) const = 0;
  // POST /api/v1/drills: {"scenario", "dry_run"?, "force"?, "by"?}.
  [[nodiscard]] virtual JsonReply start_drill(const nlohmann::json& request) = 0;
  // POST /api/v1/drills/{id}/stop.
  [[nodiscard]] virtual JsonReply stop_drill(const std::string& id, const std::string& by) = 0;
  // GET /api/v1/drills/{id}: the run's evidence (JSON and Markdown); nullopt when unknown.
  [[nodiscard]] virtual core::Result<std::optional<store::DrillRunRow>> drill(
      const std::string& id) const = 0;
  // GET /api/v1/signoffs: the compliance cadence and the recorded sign-offs.
  [[nodiscard]] virtual JsonReply signoffs(const std::string& signoff, std::size_t limit) const = 0;
  // POST /api/v1/signoffs: {"signoff", "by", "at"?, "evidence"?, "note"?}; `source` is who sent
  // it (the audit log's).
  [[nodiscard]] virtual JsonReply record_signoff(const nlohmann::json& request,
                                                 const std::string& source) = 0;
  // The daily roll-up (Store::component_days): the status page's 90-day history.
  [[nodiscard]] virtual core::Result<std::vector<store::ComponentDay>> component_days(
      core::TimePoint since, core::TimePoint until) const = 0;
};

}  // namespace opsready::server
