#pragma once
// DrillService: the daemon's forced-failure drills (docs/drills.md). It owns the one drill
// that may run at a time, drives its drills::Run on the evaluation strand (so it reads the
// engine directly: readiness, alerts, groups, acks), injects and restores its fault, keeps the
// evidence in the store and exports the drill metrics.
//
//   DrillService drills(config.drills, store, clock, registry, ctx, pool, hooks, base_url);
//   drills.recover();                  // at start: undo what a crash left injected
//   spawn("drills", drills.loop());    // supervised, on the strand
//   drills.start({"scenario": "webhook-outage"})   // POST /api/v1/drills, any thread
//
// Faults: receiver_outage (hooks.outage: the Sender refuses the receiver's connections),
// feed_stall (drops(): the strand drops matching events before the engine sees them, counted),
// command (`sh -c run`, later `sh -c undo`, on the pool with a timeout; the environment
// has OPSREADY_DRILL_ID, OPSREADY_DRILL_SCENARIO and OPSREADY_URL, the daemon's base URL),
// task_crash (a task of the drill's own supervisor), store_fault (Store::set_fault),
// incident_chaos (Engine::set_incident_chaos) and ingest_failover (the spec's §6 drill: the
// fallback command runs as a command fault does, its report goes to failover_drill through
// hooks.ingest).
//
// Crash safety: before a fault is injected the run is written as its recovery record (verdict
// empty); recover() finds such records at the next start, runs a command fault's undo (the
// in-memory faults ended with the process) and closes them Aborted. The drill's target
// components carry drill="true" on their alerts while it runs (Engine::set_drill_components).
//
// Thread-safety: start(), stop(), list(), get() from any thread (they may block on the store
// or on the strand; the HTTP server calls them on its pool). loop(), drops(), recorded() on the
// strand. recover() before the loops run.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include "opsready/app/config.h"
#include "opsready/core/clock.h"
#include "opsready/core/event.h"
#include "opsready/core/topic_pattern.h"
#include "opsready/drills/run.h"
#include "opsready/engine/engine.h"
#include "opsready/metrics/registry.h"
#include "opsready/readiness/readiness.h"
#include "opsready/store/store.h"
#include "opsready/supervise/supervisor.h"

namespace opsready::app {

class DrillService {
 public:
  struct Hooks {
    std::function<engine::Engine*()> engine;  // strand
    // The latest readiness snapshot (any thread): the gate a start is checked against.
    std::function<std::shared_ptr<const readiness::ReadinessSnapshot>()> current;
    // A receiver outage on (true) or off (any thread).
    std::function<void(const std::string& receiver, bool down)> outage;
    // A nested supervisor under the daemon's root, for a task_crash drill's task (strand).
    std::function<supervise::Supervisor*(supervise::ChildSpec, supervise::SupervisorOptions)>
        spawn_supervisor;
    // One event into the evaluation queue (any thread): the ingest_failover drill's report.
    std::function<core::Result<void>(core::TelemetryEvent)> ingest;
    // The failover_drill component's settings: the ingest_failover drill decides with them.
    components::FailoverDrillConfig failover_drill;
  };

  // An answer for the HTTP API: its status code and body.
  struct Reply {
    int status = 200;
    nlohmann::json body;
  };

  DrillService(const DrillsConfig& config, store::Store& store, const core::Clock& clock,
               metrics::Registry& registry, asio::io_context& ctx, asio::thread_pool& pool,
               Hooks hooks, std::string base_url);
  ~DrillService();
  DrillService(const DrillService&) = delete;
  DrillService& operator=(const DrillService&) = delete;

  // Before the loops start: closes the runs a crash left unfinished, undoing their faults.
  // Returns the last drill that tested its hypothesis (Pass or Fail), for incident_response.
  std::optional<core::TimePoint> recover();

  // The supervised loop: waits for a start, runs the drill, stores the evidence.
  asio::awaitable<void> loop();

  // POST /api/v1/drills: {"scenario", "dry_run"?, "force"?, "by"?}. 202 with the drill id
  // (the run goes on in the loop); 200 with the plan and the steady-state results for a dry
  // run; 404 unknown scenario, 409 a drill is running or the gate blocks (without force),
  // 400 a bad request, 503 not running.
  [[nodiscard]] Reply start(const nlohmann::json& request);
  // POST /api/v1/drills/{id}/stop: aborts the running drill (restored at once).
  [[nodiscard]] Reply stop(const std::string& id, const std::string& by);
  // GET /api/v1/drills: {"scenarios": [...plans], "running": {...}|null, "runs": [summaries]}.
  [[nodiscard]] Reply list(const std::string& scenario, std::size_t limit) const;
  // GET /api/v1/drills/{id}: the stored run (its evidence), or the running one's so far.
  [[nodiscard]] core::Result<std::optional<store::DrillRunRow>> get(const std::string& id) const;

  // Strand: whether a feed stall drops `e` (then counted, never applied).
  [[nodiscard]] bool drops(const core::TelemetryEvent& e);
  // Strand: a notification decided for a receiver that only records (no outbox row).
  void recorded(const std::string& group_id, const std::string& receiver, core::TimePoint at);
  // A notification decided (its outbox row) and its acceptance by the receiver (strand): what
  // the run sees as notified even when the store cannot record it (a store_fault drill).
  void decided(const store::OutboxRow& row);
  void sent(const std::string& id, core::TimePoint at);

 private:
  struct Metrics;
  struct Pending {
    std::string id;
    const drills::Scenario* scenario = nullptr;
    bool forced = false;
    std::string by;
  };

  asio::awaitable<void> run_one(Pending p);
  // What the run observes now (strand; the outbox read on the pool).
  asio::awaitable<drills::Observation> observe(const drills::Run& run);
  asio::awaitable<core::Result<void>> inject(drills::Run& run);
  asio::awaitable<core::Result<void>> restore(const drills::Run& run);
  // The store_fault fault on (a fault) or off (StoreFault{}), on the pool.
  asio::awaitable<core::Result<void>> set_store_fault(store::StoreFault fault);
  // The ingest_failover fault, on the pool: reads the results, decides, runs the fallback and
  // returns the failover_drill document as an event; `report` gets the graded report.
  [[nodiscard]] core::Result<core::TelemetryEvent> ingest_failover(const drills::Run& run,
                                                                   nlohmann::json& report) const;
  // A command fault's `run` or `undo` on the pool (run_command, with command_env()).
  asio::awaitable<core::Result<void>> fault_command(const drills::Run& run,
                                                    const std::string& command);
  asio::awaitable<void> write(const drills::Run& run);
  void finished(const drills::Run& run);
  [[nodiscard]] drills::Observation observe_now(engine::Engine& e, const drills::Scenario& s,
                                                core::TimePoint now,
                                                std::vector<std::string>& group_keys) const;
  // OPSREADY_DRILL_ID, OPSREADY_DRILL_SCENARIO and OPSREADY_URL for a command fault.
  [[nodiscard]] std::vector<std::string> command_env(const std::string& id,
                                                     const std::string& scenario) const;
  [[nodiscard]] const drills::Scenario* find(const std::string& name) const;
  [[nodiscard]] std::string new_id(core::TimePoint now);

  DrillsConfig config_;
  store::Store& store_;
  const core::Clock& clock_;
  const metrics::Registry& registry_;                  // what metric checks read
  supervise::Supervisor* crash_supervisor_ = nullptr;  // a task_crash drill's (strand)
  std::unique_ptr<Metrics> metrics_;
  asio::io_context& ctx_;
  asio::thread_pool& pool_;
  Hooks hooks_;
  std::string base_url_;
  std::unique_ptr<asio::steady_timer> wake_timer_;  // strand: the loop's wait for a start

  // Guards what follows (HTTP threads and the strand).
  mutable std::mutex mu_;
  std::optional<Pending> pending_;                 // started, not yet taken by the loop
  std::string running_id_;                         // the loop's run ("" when none)
  std::string stop_requested_;                     // who asked to stop the running drill
  std::optional<store::DrillRunRow> running_row_;  // the running drill's evidence so far
  bool waiting_ = false;                           // the loop waits on wake_timer_ for a start
  std::uint64_t sequence_ = 0;

  // Strand only.
  std::vector<core::TopicPattern> stalled_;  // a feed stall's topics
  std::string stalled_scenario_;
  std::vector<drills::ObservedNotification> recorded_;  // records-only notifications
  // Outbox rows decided while a run observes (decided()), by id: their group and receiver,
  // until sent() reports them accepted (strand).
  std::map<std::string, std::pair<std::string, std::string>, std::less<>> decided_;
  bool observing_ = false;  // a run is between its start and its end: recorded() keeps them
};

}  // namespace opsready::app
