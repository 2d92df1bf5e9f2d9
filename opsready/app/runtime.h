#pragma once
// Runtime: one opsready daemon wired together — evaluation, persistence, metrics, the HTTP API
// and (for `opsready demo`) the demo workload — every loop a child of one root Supervisor.
//
//   Runtime rt(config, core::SystemClock::instance());
//   auto port = rt.start({.demo = false});       // opens the store, binds HTTP, adds the loops
//   supervise::RuntimeRunner runner(rt.context(), rt.supervisor(), {...});
//   return runner.run().exit_code;               // SIGINT/SIGTERM drain; a second stops now
//
// Concurrency (docs/architecture.md): one io_context, run by one thread (the runner's), is the
// evaluation strand: it owns the engine (engine::Engine: components, readiness, alerting),
// without locks. Every input — events, external alerts, the HTTP API's reads and changes of
// alert state — reaches it through one bounded queue of messages. Blocking work (SQLite writes, the
// HTTP listener) runs on an asio::thread_pool, awaited by supervised coroutines. Readers see an
// immutable shared_ptr<const ReadinessSnapshot>, swapped under a short lock. Public methods are
// thread-safe unless noted.
//
// The loops, in start order (they stop in reverse): persistence, alerts (writes the external
// alerts the engine merged behind to the store every ingest.alerts.flush_interval, and all of
// them at stop, after the HTTP listener has closed), evaluation (the engine's timers and the
// periodic evaluation), http,
// supervision (publishes the task_supervision component), and with `bus.nats` configured
// nats-ingest (the durable JetStream consumer of opsready.events.<topic>, feeding the
// evaluation queue with back-pressure) and bus (replays the spool, publishes the event_bus
// component on telemetry.event_bus.health through the failover publisher), then demo (only
// with the demo workload). docs/bus.md describes the daemon's bus wiring.

#include <atomic>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/strand.hpp>
#include <asio/thread_pool.hpp>

#include "opsready/alerting/incident.h"
#include "opsready/app/compliance_service.h"
#include "opsready/app/config.h"
#include "opsready/app/delivery.h"
#include "opsready/app/drill_service.h"
#include "opsready/app/validation_service.h"
#include "opsready/engine/engine.h"
#include "opsready/metrics/registry.h"
#include "opsready/server/backend.h"
#include "opsready/server/http_server.h"
#include "opsready/store/health.h"
#include "opsready/store/store.h"
#include "opsready/supervise/supervisor.h"

namespace asio {
class io_context;
}  // namespace asio

namespace opsready::app {

struct StartOptions {
  bool demo = false;  // also run the simulated trading runtime
};

// The `topic` label of the per-topic event counters takes the first kMaxTopicLabels distinct
// topics; events on later ones are counted under kOtherTopics (topics are the clients' choice,
// and each label value is a series Prometheus keeps).
inline constexpr std::size_t kMaxTopicLabels = 1000;
// While the store cannot be reached, its writes wait in memory (in order) and are tried again
// this often; at most this many wait, the oldest are dropped beyond (docs/runbooks/store.md).
inline constexpr std::chrono::seconds kStoreRetryInterval{1};
inline constexpr std::size_t kMaxWaitingWrites = 200'000;
// Most outbox rows one periodic claim takes over (beyond those the replica holds); the next
// replica.claim_interval takes more.
inline constexpr std::size_t kClaimBatch = 1000;
inline constexpr std::string_view kOtherTopics = "_other";

class Runtime final : public server::Backend {
 public:
  Runtime(Config config, const core::Clock& clock);
  ~Runtime() override;
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Opens the store (restoring the last component snapshots), binds the HTTP listener and adds
  // every loop to the root supervisor; they start when the supervisor runs. Returns the port.
  [[nodiscard]] core::Result<int> start(StartOptions options);

  // The evaluation strand's io_context and the root supervisor, for a RuntimeRunner.
  [[nodiscard]] asio::io_context& context() { return *ctx_; }
  [[nodiscard]] supervise::Supervisor& supervisor() { return *root_; }

  // server::Backend
  [[nodiscard]] core::Result<void> check(const core::TelemetryEvent& event) override {
    if (engine::find_feed_topic(event.topic) != nullptr) return engine::check_feed(event);
    return checker_.check(event);
  }
  [[nodiscard]] server::SubmitResult submit(
      std::vector<core::TelemetryEvent> events,
      server::IngestPath path = server::IngestPath::kLibrary) override;
  // As submit(), but `events` is moved from only when accepted (kAccepted); otherwise it is
  // left intact for a retry. A batch larger than the queue capacity is accepted when the queue
  // is empty, so that no batch can be refused forever.
  [[nodiscard]] server::SubmitResult submit_batch(
      std::vector<core::TelemetryEvent>& events,
      server::IngestPath path = server::IngestPath::kLibrary);
  [[nodiscard]] std::shared_ptr<const readiness::ReadinessSnapshot> current() const override;
  [[nodiscard]] core::Result<std::vector<store::StoredReadiness>> history(
      core::TimePoint since, core::TimePoint until, std::size_t limit) const override;
  [[nodiscard]] bool ready() const override;
  [[nodiscard]] const core::Clock& clock() const override { return clock_; }
  [[nodiscard]] nlohmann::json supervision() const override;
  [[nodiscard]] server::SubmitResult submit_alerts(std::vector<core::Alert> alerts,
                                                   Durable durable = {}) override;
  [[nodiscard]] bool post(EngineTask task) override;
  [[nodiscard]] core::TimePoint started_at() const override { return started_at_; }
  [[nodiscard]] core::Result<std::vector<alerting::IncidentTimeline>> incidents(
      core::TimePoint since) const override;
  [[nodiscard]] std::shared_ptr<const engine::Feeds> feeds() const override;
  [[nodiscard]] core::Result<std::vector<core::ComponentSnapshot>> component_history(
      const std::string& component, core::TimePoint since, core::TimePoint until,
      std::size_t limit) const override;
  [[nodiscard]] nlohmann::json stats() const override;
  [[nodiscard]] core::Result<std::vector<store::ComponentBucket>> component_buckets(
      core::TimePoint since, core::TimePoint until, core::Duration bucket) const override;
  [[nodiscard]] core::Result<std::vector<store::ComponentDay>> component_days(
      core::TimePoint since, core::TimePoint until) const override;

  [[nodiscard]] core::Result<std::vector<store::GateChange>> gate_history(
      core::TimePoint since, core::TimePoint until, std::size_t limit) const override;
  [[nodiscard]] JsonReply drills(const std::string& scenario, std::size_t limit) const override;
  [[nodiscard]] JsonReply start_drill(const nlohmann::json& request) override;
  [[nodiscard]] JsonReply stop_drill(const std::string& id, const std::string& by) override;
  [[nodiscard]] JsonReply signoffs(const std::string& signoff, std::size_t limit) const override;
  [[nodiscard]] JsonReply record_signoff(const nlohmann::json& request,
                                         const std::string& source) override;
  [[nodiscard]] core::Result<std::optional<store::DrillRunRow>> drill(
      const std::string& id) const override;

  [[nodiscard]] metrics::Registry& registry() { return registry_; }

 private:
  struct Metrics;
  struct BusMetrics;
  struct BusLink;
  class SupervisionObserver;
  class EngineSink;
  // One input of the evaluation queue.
  struct AlertBatch {
    std::vector<core::Alert> alerts;
    Durable durable;  // called after the group commit that includes them
  };
  using Message = std::variant<core::TelemetryEvent, AlertBatch, EngineTask>;
  // Queues `messages` (`items` = what they weigh against queue_capacity): all or nothing.
  server::SubmitResult enqueue(std::vector<Message>& messages, std::size_t items);

  // Supervised loops (run on the evaluation strand).
  asio::awaitable<void> persistence_loop();
  asio::awaitable<void> alerts_loop();
  // Writes the external alerts the engine changed to the store on the pool; counts and logs a
  // failure (they are kept and written with the next flush).
  asio::awaitable<void> flush_alerts();
  asio::awaitable<void> evaluation_loop();
  // Wakes the evaluation loop when the engine's next deadline is before its wake-up.
  void rearm_evaluation();
  // Writes delivery outcomes (one transaction), then frees their request slots. Pool thread.
  // False when the store could not be reached (the marks are then to be written again).
  bool write_marks(const std::vector<store::OutboxUpdate>& updates);
  // Queues a store write that renews the claims of the rows delivery holds and claims those no
  // live claim holds (docs/replicas.md), unless one is waiting already. Strand.
  void queue_claims();
  asio::awaitable<void> http_loop();
  asio::awaitable<void> supervision_loop();
  asio::awaitable<void> demo_loop();
  // Runs the Delivery's Sender on its own thread (delivery_pool_).
  asio::awaitable<void> delivery_loop();
  asio::awaitable<void> nats_ingest_loop();
  asio::awaitable<void> bus_loop();
  core::Result<void> start_bus();
  // Bus work on the bus pool (blocking: publishes wait for the stream's ack).
  void bus_tick(bool publish_health);
  void publish_consumer_info();
  void export_bus_metrics();
  // Takes a fetched batch into the evaluation queue, waiting while it is full. False when
  // opsready is stopping (the batch is then redelivered).
  bool take_from_nats(std::vector<core::TelemetryEvent>& events, const std::stop_token& stop);
  // False when the store could not be reached: the unwritten writes are back in
  // pending_writes_ (and marks in outbox_updates_), for a retry.
  asio::awaitable<bool> flush_writes(asio::strand<asio::thread_pool::executor_type> strand);
  // Whether `outcome` failed for a reason that passes (the store's server is unreachable, a
  // statement timed out, a lock was busy): the write is worth trying again.
  [[nodiscard]] static bool transient(const core::Result<void>& outcome);

  // Evaluation strand only.
  void drain();
  void apply(Message& m, core::TimePoint now);
  void apply_snapshot(core::ComponentSnapshot s);
  // Fires the engine's due timers, evaluates, publishes the snapshot when it changed (or a
  // second has passed) and queues what the engine emitted for the store.
  void evaluate();
  void flush_engine_output();
  void export_engine_metrics(core::TimePoint now);
  // The `topic` label value for `topic` (see kMaxTopicLabels).
  const std::string& topic_label(const std::string& topic);
  void persist_component(const core::ComponentSnapshot& s);
  // One store write of `operation`: timed, counted when it fails and recorded in the `store`
  // component (store/health.h), which each evaluation publishes when it changed. Any thread.
  core::Result<void> stored(std::string_view operation,
                            const std::function<core::Result<void>()>& write);
  void publish_store_health(core::TimePoint now);  // on the strand
  void persist_readiness(const readiness::ReadinessSnapshot& s);
  void prune_if_due(core::TimePoint now);
  void demo_tick(std::uint64_t tick);
  void wake_persistence();
  // A delivery outcome, on the evaluation strand: the row's new state into the next store
  // write, a failing-receiver alert into the engine.
  void delivered(Delivery::Report report);
  // A response time an incident completed: into the MTTA/MTTR histograms.
  void observe_response(const alerting::ResponseTime& t);

  Config config_;
  const core::Clock& clock_;
  metrics::Registry registry_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<store::StoreHealth> store_health_;
  core::TimePoint store_health_at_{};  // on the strand: when the `store` component was applied
  std::unique_ptr<EngineSink> sink_;
  std::unique_ptr<engine::Engine> engine_;  // the evaluation strand's
  // Ingest's shape check (HTTP and NATS threads): document components of its own.
  components::DocumentChecker checker_;
  core::TimePoint started_at_{};
  // External alerts a flush could not write, kept for the next one (alerts loop only).
  std::unordered_map<std::string, core::Alert> unwritten_alerts_;
  bool alerts_flush_failing_ = false;  // alerts loop only: log a failing flush once
  // Evaluation strand: the callers waiting for the next group commit of external alerts, and
  // the alerts loop's wake-up (set while it waits).
  std::vector<Durable> durable_waiting_;
  std::function<void()> alerts_wake_;
  std::unique_ptr<server::HttpServer> http_;
  bool http_bound_ = false;

  std::unique_ptr<asio::io_context> ctx_;
  std::unique_ptr<asio::thread_pool> pool_;  // blocking work: SQLite, the HTTP listener
  std::unique_ptr<SupervisionObserver> observer_;
  // Strand: supervisors that failed since the last supervision sample, and its wake-up.
  std::vector<supervise::SupervisorInfo> failed_supervisors_;
  std::function<void()> supervision_wake_;
  std::unique_ptr<supervise::Supervisor> root_;
  std::unique_ptr<BusLink> bus_;  // bus.nats configured: NATS, consumer, failover publisher
  // The durable outbox's sender (delivery.h) and the thread its loop blocks.
  std::unique_ptr<Delivery> delivery_;
  std::unique_ptr<asio::thread_pool> delivery_pool_;
  // The forced-failure drills (drill_service.h); after ctx_ and pool_, which it uses.
  std::unique_ptr<DrillService> drills_;
  std::unique_ptr<ValidationService> validation_;  // its loop runs with validation.schedules
  std::unique_ptr<ComplianceService> compliance_;  // its loop runs with compliance.signoffs

  // The evaluation queue (any thread -> evaluation strand).
  std::mutex queue_mu_;
  std::vector<Message> queue_;
  std::size_t queued_items_ = 0;  // events + alerts + tasks in queue_
  bool drain_scheduled_ = false;
  bool accepting_ = false;  // guarded by queue_mu_

  // Evaluation-strand state.
  alerting::ResponseTracker responses_;  // the open incidents, for the MTTA/MTTR histograms
  bool dirty_ = true;
  std::unordered_set<std::string> topic_labels_;
  std::uint64_t published_version_ = 0;
  core::TimePoint published_at_{};
  std::vector<store::StateRow> state_rows_;  // the engine's output since the last flush
  std::vector<store::LogRow> log_rows_;
  std::vector<store::OutboxRow> outbox_rows_;  // decided since the last flush
  // Delivery outcomes not yet written; flush_writes() writes them before pending_writes_.
  std::vector<store::OutboxUpdate> outbox_updates_;
  std::string last_persisted_;  // readiness document without generated_at
  std::string last_gate_;       // the gate's decision and reason codes last stored
  core::TimePoint last_persisted_at_{};
  core::TimePoint last_prune_{};
  // Store writes, run on the pool in order. Each returns true when it is done (written, or
  // refused for good and logged) and false when the store could not be reached (a transient
  // error: store_unavailable, store_timeout, store_busy): that write and those after it are
  // kept, in order, and tried again after kStoreRetryInterval, up to kMaxWaitingWrites.
  using StoreWrite = std::function<bool()>;
  std::vector<StoreWrite> pending_writes_;
  // The evaluation loop's wait: when it ends, and how to end it sooner (rearm_evaluation()).
  core::TimePoint evaluation_wake_at_{};
  std::function<void()> evaluation_wake_;
  bool evaluation_rearmed_ = false;
  std::function<void()> persistence_wake_;  // set while the persistence loop waits
  std::atomic<bool> claims_queued_{false};  // a queue_claims() write waits to run

  // The published snapshot. A mutex held only to copy or swap the pointer, rather than
  // std::atomic<std::shared_ptr>: libstdc++ 12 implements that with a lock ThreadSanitizer
  // cannot see, which hides real races behind false reports.
  mutable std::mutex current_mu_;
  std::shared_ptr<const readiness::ReadinessSnapshot> current_;
  // The engine's feeds as last published (under current_mu_), and their version.
  std::shared_ptr<const engine::Feeds> feeds_ = std::make_shared<const engine::Feeds>();
  std::uint64_t feeds_version_ = 0;
  core::TimePoint dashboard_at_{};  // the last HttpServer::dashboard_tick (strand)
  std::atomic<bool> ready_{false};
};

}  // namespace opsready::app
