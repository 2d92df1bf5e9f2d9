#include "opsready/app/runtime.h"

#include "opsready/app/coro.h"

#include <spdlog/spdlog.h>
#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>

#include <algorithm>
#include <condition_variable>
#include <limits>
#include <random>

#include "opsready/app/demo.h"
#include "opsready/app/version.h"
#include "opsready/bus/bus_health.h"
#include "opsready/bus/failover_publisher.h"
#include "opsready/bus/nats_bus.h"
#include "opsready/core/time.h"
#include "opsready/supervise/health.h"

namespace opsready::app {
namespace {

using asio::use_awaitable;
using core::Status;
using coro::cancel_requested;
using coro::kTuple;
using coro::run_to_completion;
using coro::wait;
constexpr auto kSupervisionPeriod = std::chrono::seconds(5);

// Runs a blocking body on a pool thread, awaited by a supervised coroutine: the body ends when
// its stop token is requested (the coroutine's cancellation; `on_stop`, when set, is called
// every 50 ms until then, for bodies that must be told some other way) or by itself (an error:
// the coroutine then throws, and the supervisor restarts it). The pointers are to the caller's
// frame locals (GCC 12 mis-destroys capturing temporaries in co_await expressions).
struct Blocking {
  explicit Blocking(asio::io_context& ctx) : timer(ctx) {}
  asio::steady_timer timer;
  std::stop_source stop;
  bool finished = false;
  std::string error;
};

asio::awaitable<void> run_blocking(asio::io_context* ctx, asio::thread_pool* pool,
                                   const std::function<void(std::stop_token)>* body,
                                   const std::string* what, const std::function<void()>* on_stop) {
  co_await asio::this_coro::throw_if_cancelled(false);
  auto run = std::make_shared<Blocking>(*ctx);
  asio::post(*pool, [ctx, run, body = *body] {
    std::string error;
    try {
      body(run->stop.get_token());
    } catch (const std::exception& e) {
      error = e.what();
    }
    asio::post(*ctx, [run, error = std::move(error)] {
      run->finished = true;
      run->error = error;
      run->timer.cancel();
    });
  });
  run->timer.expires_at(asio::steady_timer::time_point::max());
  co_await wait(run->timer);
  if (run->finished) {
    throw std::runtime_error(*what +
                             (run->error.empty() ? " ended unexpectedly" : ": " + run->error));
  }
  co_await asio::this_coro::reset_cancellation_state();
  run->stop.request_stop();
  while (!run->finished) {
    if (on_stop != nullptr && *on_stop) (*on_stop)();
    run->timer.expires_after(std::chrono::milliseconds(50));
    co_await wait(run->timer);
  }
}

spdlog::level::level_enum spdlog_level(supervise::LogLevel l) {
  switch (l) {
    case supervise::LogLevel::kDebug:
      return spdlog::level::debug;
    case supervise::LogLevel::kInfo:
      return spdlog::level::info;
    case supervise::LogLevel::kWarn:
      return spdlog::level::warn;
    case supervise::LogLevel::kError:
      return spdlog::level::err;
  }
  return spdlog::level::err;
}

bus::LogFn bus_log() {
  return [](bus::LogLevel level, std::string_view message) {
    spdlog::log(spdlog_level(level), "{}", message);
  };
}

// The most decision records (and outbox rows) an incident query or the start reads: far more
// than a desk's incidents, a bound on what one request can make the daemon hold.
constexpr std::size_t kMaxIncidentRecords = 1'000'000;

// Incident response times: ten seconds to a day.
const std::vector<double> kIncidentBuckets = {10,   30,   60,   120,   300,   600,  900,
                                              1800, 3600, 7200, 14400, 43200, 86400};

}  // namespace

// Every metric the runtime exports, declared once so names, help and /metrics agree.
struct Runtime::Metrics {
  explicit Metrics(metrics::Registry& r)
      : component_status(r.gauge("opsready_component_status",
                                 "Status of each readiness component: 0 ok, 1 warn, 2 fail.",
                                 {"component"})),
        failed_logins(r.gauge("opsready_security_failed_logins_last_hour",
                              "Failed logins in the last hour, from the latest security posture "
                              "document (the spec's security_failed_logins_last_hour).")
                          .with({})),
        readiness_status(
            r.gauge("opsready_readiness_status", "Overall readiness status: 0 ok, 1 warn, 2 fail.")
                .with({})),
        gate_decision(
            r.gauge("opsready_gate_decision", "Gate decision: 0 pass, 1 warn, 2 block.").with({})),
        events_received(r.counter("opsready_events_received_total",
                                  "Telemetry events accepted for evaluation, by topic.",
                                  {"topic"})),
        events_ingested(r.counter("opsready_events_ingested_total",
                                  "Telemetry events taken into the evaluation queue, by the path "
                                  "they came in on: http, nats, library (the C++ API and the "
                                  "daemon's own: demo, consumer reports).",
                                  {"path"})),
        events_unrouted(r.counter("opsready_events_unrouted_total",
                                  "Accepted events that no component consumes, by topic.",
                                  {"topic"})),
        evaluations(r.counter("opsready_evaluations_total", "Readiness evaluations run.").with({})),
        store_errors(
            r.counter("opsready_store_errors_total", "Failed store operations.", {"operation"})),
        queue_depth(
            r.gauge("opsready_evaluation_queue_depth", "Events waiting for evaluation.").with({})),
        components(r.gauge("opsready_components", "Components known to readiness, by status.",
                           {"status"})),
        last_evaluation(r.gauge("opsready_last_evaluation_timestamp_seconds",
                                "Unix time of the last readiness evaluation.")
                            .with({})),
        payload_errors(r.counter("opsready_component_payload_errors_total",
                                 "Accepted events whose payload a component refused (the "
                                 "event is not applied), by component.",
                                 {"component"})),
        supervisor_tasks(r.gauge("opsready_supervisor_tasks",
                                 "Supervised tasks of opsready's own supervisor tree, by state.",
                                 {"state"})),
        supervisor_restarts(r.counter("opsready_supervisor_restarts_total",
                                      "Restarts of supervised tasks, by task path and reason.",
                                      {"task", "reason"})),
        supervisor_abandoned(r.counter(
            "opsready_supervisor_abandoned_total",
            "Tasks abandoned after ignoring cancellation past their shutdown timeout.", {"task"})),
        notifications(r.counter("opsready_notifications_decided_total",
                                "Notifications the alerting engine decided, by receiver and reason "
                                "(first, new_alerts, new_resolved, all_resolved, repeat, "
                                "escalation).",
                                {"receiver", "reason"})),
        alerts(r.gauge("opsready_alerts", "Alerts the engine holds, by origin and state.",
                       {"origin", "state"})),
        alert_groups(r.gauge("opsready_alert_groups", "Aggregation groups with at least one alert.")
                         .with({})),
        silences(r.gauge("opsready_silences", "Silences, by state.", {"state"})),
        acks(r.gauge("opsready_alert_group_acks", "Acknowledged alert groups.").with({})),
        escalations(r.counter("opsready_escalations_total", "Escalation steps fired.").with({})),
        held(r.counter("opsready_notifications_held_total",
                       "Repeat notifications held back because their group is acknowledged.")
                 .with({})),
        alerts_refused(r.counter("opsready_alerts_refused_total",
                                 "External alerts refused because the engine holds "
                                 "max_external_alerts already.")
                           .with({})),
        evaluation_seconds(r.histogram("opsready_evaluation_duration_seconds",
                                       "Time the evaluation strand spent per evaluation "
                                       "(timers, readiness, derivation, routing).",
                                       {1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 0.1, 0.5})
                               .with({})),
        time_to_acknowledge(
            r.histogram("opsready_incident_time_to_acknowledge_seconds",
                        "From an incident's open (its group's first notification) to its first "
                        "acknowledgement (MTTA), by the group's receiver.",
                        kIncidentBuckets, {"receiver"})),
        time_to_resolve(r.histogram("opsready_incident_time_to_resolve_seconds",
                                    "From an incident's open (its group's first notification) to "
                                    "its resolution (MTTR), by the group's receiver.",
                                    kIncidentBuckets, {"receiver"})) {
    // Every path from the start, so that a rate() over them has a zero to start from.
    for (server::IngestPath p : server::kAllIngestPaths) {
      events_ingested.with({std::string(server::to_string(p))});
    }
    r.gauge("opsready_build_info", "Build information; the value is always 1.",
            {"version", "compiler"})
        .with({std::string(kVersion), std::string(kCompiler)})
        .set(1);
  }
  metrics::GaugeFamily& component_status;
  metrics::Gauge& failed_logins;
  metrics::Gauge& readiness_status;
  metrics::Gauge& gate_decision;
  metrics::CounterFamily& events_received;
  metrics::CounterFamily& events_ingested;
  metrics::CounterFamily& events_unrouted;
  metrics::Counter& evaluations;
  metrics::CounterFamily& store_errors;
  metrics::Gauge& queue_depth;
  metrics::GaugeFamily& components;
  metrics::Gauge& last_evaluation;
  metrics::CounterFamily& payload_errors;
  metrics::GaugeFamily& supervisor_tasks;
  metrics::CounterFamily& supervisor_restarts;
  metrics::CounterFamily& supervisor_abandoned;
  metrics::CounterFamily& notifications;
  metrics::GaugeFamily& alerts;
  metrics::Gauge& alert_groups;
  metrics::GaugeFamily& silences;
  metrics::Gauge& acks;
  metrics::Counter& escalations;
  metrics::Counter& held;
  metrics::Counter& alerts_refused;
  metrics::Histogram& evaluation_seconds;
  metrics::HistogramFamily& time_to_acknowledge;
  metrics::HistogramFamily& time_to_resolve;
  std::uint64_t escalations_seen = 0;
  std::uint64_t held_seen = 0;
  std::uint64_t refused_seen = 0;
};

// The bus metrics, registered only when bus.nats is configured. Library counters are
// exported as deltas by the bus loop (every bus.retry_interval).
struct Runtime::BusMetrics {
  explicit BusMetrics(metrics::Registry& r)
      : nats_connected(
            r.gauge("opsready_nats_connected", "1 while connected to a NATS server, else 0.")
                .with({})),
        nats_messages(r.counter("opsready_nats_messages_total",
                                "Messages fetched by the NATS ingest consumer, by result: "
                                "taken, duplicate (a redelivery already handled), rejected "
                                "(not a valid event batch; terminated), redelivered (not "
                                "taken while opsready stopped; redelivered later).",
                                {"result"})),
        nats_events(r.counter("opsready_nats_events_total",
                              "Events the NATS ingest consumer handed to the evaluation queue.")
                        .with({})),
        nats_fetch_errors(
            r.counter("opsready_nats_fetch_errors_total", "Failed fetches of the ingest consumer.")
                .with({})),
        nats_pending(r.gauge("opsready_nats_consumer_pending",
                             "Stream messages not yet delivered to the ingest consumer.")
                         .with({})),
        bus_up(r.gauge("opsready_bus_up",
                       "1 while the failover publisher considers the bus up, else 0.", {"bus"})),
        bus_delivered(r.counter("opsready_bus_published_total",
                                "Events a bus took from the failover publisher (new and replayed).",
                                {"bus"})),
        bus_failures(
            r.counter("opsready_bus_failures_total", "Publish attempts a bus refused.", {"bus"})),
        spooled(r.counter("opsready_spool_appended_total",
                          "Events written to the spool because no bus took them.")
                    .with({})),
        replayed(r.counter("opsready_spool_replayed_total", "Spooled events a bus took on replay.")
                     .with({})),
        spool_pending(
            r.gauge("opsready_spool_pending", "Events in the spool waiting for a bus.").with({})),
        publish_errors(r.counter("opsready_bus_publish_errors_total",
                                 "Events no bus and not the spool could take (each logged).")
                           .with({})) {}
  metrics::Gauge& nats_connected;
  metrics::CounterFamily& nats_messages;
  metrics::Counter& nats_events;
  metrics::Counter& nats_fetch_errors;
  metrics::Gauge& nats_pending;
  metrics::GaugeFamily& bus_up;
  metrics::CounterFamily& bus_delivered;
  metrics::CounterFamily& bus_failures;
  metrics::Counter& spooled;
  metrics::Counter& replayed;
  metrics::Gauge& spool_pending;
  metrics::Counter& publish_errors;
};

// What bus.nats adds to a runtime. The consumer and the publisher hold the bus; destroyed in
// reverse order (publisher, consumer, bus).
struct Runtime::BusLink {
  std::unique_ptr<asio::thread_pool> pool;  // the consumer's fetch loop, publishes and replays
  std::unique_ptr<bus::NatsBus> nats;
  std::unique_ptr<bus::NatsConsumer> consumer;
  std::unique_ptr<bus::FailoverPublisher> publisher;
  std::unique_ptr<BusMetrics> metrics;
  core::TimePoint next_health{};
  // Counters as last exported (the bus loop only).
  bus::NatsConsumerCounters consumer_seen;
  std::uint64_t taken_seen = 0;  // messages taken (derived: fetched minus the other results)
  bus::FailoverCounters publisher_seen;
  // Wakes a consumer waiting for room in the evaluation queue.
  std::mutex room_mu;
  std::condition_variable_any room_cv;

  ~BusLink() {
    publisher.reset();
    consumer.reset();
    if (nats) nats->close();
    if (pool) pool->join();
  }
};

// Bridges supervision events to /metrics. Runs on the evaluation strand; never blocks.
class Runtime::SupervisionObserver final : public supervise::Observer {
 public:
  explicit SupervisionObserver(Metrics& m) : m_(m) {}
  void attach(const supervise::Supervisor* root) { root_ = root; }
  // Called with the path and reason of a supervisor that failed (its restart intensity was
  // exceeded): it may leave the tree before the next sample (a temporary child does).
  std::function<void(std::string path, std::string reason)> supervisor_failed;

  void on_task_state(const supervise::TaskRef&, supervise::TaskState,
                     supervise::TaskState) override {
    if (root_ == nullptr) return;
    const auto counts = root_->state_counts();
    for (std::size_t i = 0; i < supervise::kTaskStateCount; ++i) {
      m_.supervisor_tasks.with({std::string(supervise::to_string(supervise::kAllTaskStates[i]))})
          .set(static_cast<double>(counts[i]));
    }
  }
  void on_restart(const supervise::TaskRef& task, supervise::RestartReason reason) override {
    m_.supervisor_restarts.with({task.path(), std::string(supervise::to_string(reason))}).inc();
  }
  void on_supervisor_state(std::string_view path, supervise::SupervisorState,
                           supervise::SupervisorState to, std::string_view reason) override {
    if (to == supervise::SupervisorState::kFailed && supervisor_failed) {
      supervisor_failed(std::string(path), std::string(reason));
    }
  }
  void on_abandoned(const supervise::TaskRef& task, supervise::Duration waited) override {
    m_.supervisor_abandoned.with({task.path()}).inc();
    spdlog::error("supervisor: {} ignored cancellation for {}; abandoned", task.path(),
                  core::format_duration(waited));
  }

 private:
  Metrics& m_;
  const supervise::Supervisor* root_ = nullptr;
};

// The engine's outputs, on the evaluation strand: into the write-behind batches, /metrics and
// the log, and a decided notification into the outbox (one row per integration, delivery.h).
class Runtime::EngineSink final : public engine::Sink {
 public:
  explicit EngineSink(Runtime& rt) : rt_(rt) {}
  void component_received(const core::ComponentSnapshot& s) override { rt_.persist_component(s); }
  void decided(const engine::Decision& d) override {
    const auto& n = d.notification;
    const std::string_view reason = decision_reason(d);
    rt_.metrics_->notifications.with({n.receiver, std::string(reason)}).inc();
    nlohmann::json firing = nlohmann::json::array();
    for (const auto& a : n.firing) firing.push_back(a.fingerprint);
    nlohmann::json resolved = nlohmann::json::array();
    for (const auto& a : n.resolved) resolved.push_back(a.fingerprint);
    nlohmann::json row = {{"receiver", n.receiver},           {"group", n.group.to_string()},
                          {"group_id", d.group_id},           {"reason", reason},
                          {"at", core::format_rfc3339(n.at)}, {"firing", std::move(firing)},
                          {"resolved", std::move(resolved)}};
    if (d.escalation) row["step"] = d.step;
    spdlog::info("alerting: notify {} ({}) group {} firing={} resolved={}", n.receiver, reason,
                 n.group.to_string(), n.firing.size(), n.resolved.size());
    rt_.log_rows_.push_back({.kind = "notification", .at = n.at, .json = row.dump()});
    std::size_t rows = 0;
    if (rt_.delivery_) {
      for (store::OutboxRow& r : rt_.delivery_->rows(d)) {
        if (rt_.drills_) rt_.drills_->decided(r);
        rt_.outbox_rows_.push_back(std::move(r));
        ++rows;
      }
    }
    // A receiver that only records: the decision is its notification (a drill's notified_at).
    if (rows == 0 && !n.firing.empty() && rt_.drills_) {
      rt_.drills_->recorded(d.group_id, n.receiver, n.at);
    }
  }
  void persist(store::StateRow row) override { rt_.state_rows_.push_back(std::move(row)); }
  void append(store::LogRow row) override { rt_.log_rows_.push_back(std::move(row)); }
  void recorded(const alerting::Record& r) override {
    if (auto t = rt_.responses_.feed(r)) rt_.observe_response(*t);
  }

 private:
  Runtime& rt_;
};

Runtime::Runtime(Config config, const core::Clock& clock)
    : config_(std::move(config)),
      clock_(clock),
      metrics_(std::make_unique<Metrics>(registry_)),
      checker_(config_.detectors),
      ctx_(std::make_unique<asio::io_context>(1)),
      pool_(std::make_unique<asio::thread_pool>(2)),
      observer_(std::make_unique<SupervisionObserver>(*metrics_)) {
  supervise::SupervisorOptions options;
  options.name = "opsready";
  options.observer = observer_.get();
  options.log = [](supervise::LogLevel level, std::string_view message) {
    spdlog::log(spdlog_level(level), "{}", message);
  };
  root_ = std::make_unique<supervise::Supervisor>(ctx_->get_executor(), std::move(options));
  observer_->attach(root_.get());
  observer_->supervisor_failed = [this](std::string path, std::string reason) {
    asio::post(*ctx_, [this, path = std::move(path), reason = std::move(reason)]() mutable {
      failed_supervisors_.push_back({.path = std::move(path),
                                     .state = supervise::SupervisorState::kFailed,
                                     .last_error = std::move(reason)});
      if (supervision_wake_) supervision_wake_();  // graded now, not at the next sample
    });
  };
}

Runtime::~Runtime() {
  // Normally the runner has stopped every loop. If not (start() failed, or an embedder drops
  // the runtime), make sure the listener is closed so the pool can be joined.
  if (http_) http_->stop(core::Duration::zero());
  root_.reset();
  bus_.reset();
  if (delivery_pool_) delivery_pool_->join();
  pool_->join();
}

core::Result<int> Runtime::start(StartOptions options) {
  std::error_code ec;
  std::filesystem::create_directories(config_.data_dir, ec);
  if (ec) {
    return core::fail("data_dir", "cannot create data directory '" + config_.data_dir.string() +
                                      "': " + ec.message());
  }
  sink_ = std::make_unique<EngineSink>(*this);
  started_at_ = clock_.now();
  delivery_pool_ = std::make_unique<asio::thread_pool>(1);
  delivery_ = std::make_unique<Delivery>(
      config_.delivery,
      Delivery::Claims{.owner = replica_name(config_.replica),
                       .lease = config_.replica.claim_lease},
      config_.alerting,
      config_.delivery.external_url.empty()
          ? "http://" + config_.listen.host + ":" + std::to_string(config_.listen.port)
          : config_.delivery.external_url,
      clock_, registry_, [this](Delivery::Report r) {
        asio::post(*ctx_, [this, r = std::move(r)]() mutable { delivered(std::move(r)); });
      });
  engine::EngineOptions eo{.gate = config_.gate,
                           .detectors = config_.detectors,
                           .policy = config_.alerting,
                           .expected_sources = config_.expected_sources,
                           .silence_seed = std::random_device{}()};
  eo.silence_seed = (eo.silence_seed << 32) ^ std::random_device{}();
  // About 10-20 ms of group ticks per evaluation round (~0.5-1 µs per alert entry): then the
  // queued POSTs and events get the strand before the next round.
  eo.tick_budget = 20'000;
  auto engine = engine::Engine::create(std::move(eo), *sink_, started_at_);
  if (!engine) return core::fail("invalid_config", engine.error().describe());
  engine_ = std::move(*engine);

  // SQLite in the data directory, or the PostgreSQL database replicas share (store.postgres).
  auto store = config_.store.postgres ? store::open_postgres_store(*config_.store.postgres)
                                      : store::open_sqlite_store(config_.data_dir / "opsready.db");
  if (!store) return std::unexpected(store.error());
  store_ = std::move(*store);
  store_health_ = std::make_unique<store::StoreHealth>(store::StoreHealthOptions{
      .path = config_.store.postgres ? std::string("PostgreSQL (store.postgres)")
                                     : (config_.data_dir / "opsready.db").string()});
  spdlog::info("store: {}", config_.store.postgres ? "PostgreSQL (store.postgres)"
                                                   : (config_.data_dir / "opsready.db").string());
  engine::RestoreState restore;
  if (auto restored = store_->latest_components(); restored) {
    restore.components = std::move(*restored);
    if (!restore.components.empty()) {
      spdlog::info("restored the last snapshot of {} component(s) from the store",
                   restore.components.size());
    }
  } else {
    spdlog::warn("could not restore component snapshots: {}", restored.error().message);
  }
  if (auto alerts = store_->alerts(/*active_only=*/false, started_at_); alerts) {
    restore.external_alerts = std::move(*alerts);
    if (!restore.external_alerts.empty()) {
      spdlog::info("restored {} external alert(s) from the store", restore.external_alerts.size());
    }
  } else {
    spdlog::warn("could not restore external alerts: {}", alerts.error().message);
  }
  for (const std::string_view kind : engine::kStateKinds) {
    if (auto rows = store_->alerting_state(std::string(kind)); rows) {
      restore.state.insert(restore.state.end(), std::make_move_iterator(rows->begin()),
                           std::make_move_iterator(rows->end()));
    } else {
      spdlog::warn("could not restore alerting state ({}): {}", kind, rows.error().message);
    }
  }
  // The incident log (the store keeps records for `retention`): the incidents open at the stop,
  // so that an ack or resolution after the start is measured from its open, and the engine's
  // MTTA / MTTR window for the incident_response component.
  if (auto rows = store_->alerting_log("record", core::TimePoint::min(), core::TimePoint::max(),
                                       kMaxIncidentRecords);
      rows) {
    for (const store::LogRow& row : *rows) {
      auto r = alerting::record_from_json(nlohmann::json::parse(row.json, nullptr, false));
      if (!r) continue;
      static_cast<void>(responses_.feed(*r));
      restore.records.push_back(std::move(*r));
    }
  } else {
    spdlog::warn("could not read the decision records: {}", rows.error().message);
  }
  for (const core::Error& e : engine_->restore(std::move(restore), started_at_)) {
    spdlog::warn("{}", e.message);
  }
  flush_engine_output();
  // What a crash or stop left unsent goes again, with the same ids: this replica's own rows,
  // and those no live claim of another replica holds (docs/replicas.md).
  // Its own claims of the last run are ended first, so that they come back with the rest.
  if (auto ended = store_->extend_outbox_claims(delivery_->owner(), clock_.now()); !ended) {
    spdlog::error("could not take back this replica's outbox claims: {}", ended.error().message);
  }
  if (auto pending = store_->claim_outbox(delivery_->owner(), clock_.now(), delivery_->lease(),
                                          std::numeric_limits<std::size_t>::max());
      pending) {
    static_cast<void>(delivery_->claimed(*pending));
  } else {
    spdlog::error("could not claim the outbox's pending notifications: {}",
                  pending.error().message);
  }

  http_ = std::make_unique<server::HttpServer>(
      *this, registry_,
      server::HttpOptions{.listener = {.host = config_.listen.host,
                                       .port = config_.listen.port,
                                       .limits = config_.http.listener,
                                       .max_body_bytes = config_.max_body_bytes},
                          .version = std::string(kVersion),
                          .ingest_tokens = config_.ingest_tokens,
                          .alert_resolve_timeout = config_.alert_resolve_timeout,
                          .stream_heartbeat = config_.http.stream_heartbeat,
                          .status_page = config_.status_page});
  auto port = http_->bind();
  if (!port) return std::unexpected(port.error());
  http_bound_ = true;

  // One event into the evaluation queue, checked as the ingest routes check them (the
  // validation runs' and the ingest_failover drill's reports).
  const auto ingest = [this](core::TelemetryEvent e) -> core::Result<void> {
    if (auto ok = check(e); !ok) return ok;
    std::vector<core::TelemetryEvent> batch;
    batch.push_back(std::move(e));
    if (submit(std::move(batch)) != server::SubmitResult::kAccepted) {
      return core::fail("queue_full", "the evaluation queue did not take it");
    }
    return {};
  };
  // Drills: what a crash interrupted is undone before anything else runs.
  drills_ = std::make_unique<DrillService>(
      config_.drills, *store_, clock_, registry_, *ctx_, *pool_,
      DrillService::Hooks{
          .engine = [this] { return engine_.get(); },
          .current = [this] { return current(); },
          .outage = [this](const std::string& receiver,
                           bool down) { delivery_->set_outage(receiver, down); },
          .spawn_supervisor = [this](supervise::ChildSpec spec,
                                     supervise::SupervisorOptions o) -> supervise::Supervisor* {
            auto sup = root_->spawn_supervisor(std::move(spec), std::move(o));
            return sup ? *sup : nullptr;
          },
          .ingest = ingest,
          .failover_drill = config_.detectors.failover_drill},
      config_.delivery.external_url.empty()
          ? "http://" + config_.listen.host + ":" + std::to_string(*port)
          : config_.delivery.external_url);
  if (auto last = drills_->recover()) engine_->set_last_drill(*last);
  {
    // Always built, so its metrics are declared; its loop runs only with schedules.
    validation_ = std::make_unique<ValidationService>(
        config_.validation, clock_, registry_, *ctx_, *pool_,
        ValidationService::Hooks{
            .ingest = ingest,
            .drill =
                [this](const nlohmann::json& request) {
                  auto r = drills_->start(request);
                  return std::pair<int, nlohmann::json>(r.status, std::move(r.body));
                },
            .publish = [this](core::ComponentSnapshot s) { apply_snapshot(std::move(s)); },
            .base_url = "http://" + config_.listen.host + ":" + std::to_string(*port)});
  }

  compliance_ = std::make_unique<ComplianceService>(
      config_.compliance, *store_, clock_, registry_, *ctx_,
      ComplianceService::Hooks{
          .publish = [this](core::ComponentSnapshot s) { apply_snapshot(std::move(s)); }});
  if (auto ok = compliance_->restore(); !ok) {
    spdlog::error("could not read the recorded sign-offs: {}", ok.error().message);
  }
  if (!config_.compliance.signoffs.empty()) {
    apply_snapshot(compliance_->snapshot(clock_.now()));  // graded in the first snapshot
  }

  if (config_.bus.nats) {
    if (auto ok = start_bus(); !ok) return std::unexpected(ok.error());
  }

  evaluate();  // a first snapshot before anyone can ask
  {
    std::lock_guard lock(queue_mu_);
    accepting_ = true;
  }

  using supervise::ChildSpec;
  auto spawn = [this](ChildSpec spec, asio::awaitable<void> (Runtime::*loop)()) {
    auto name = root_->spawn(std::move(spec), [this, loop] { return (this->*loop)(); });
    if (!name) throw std::logic_error("cannot spawn a runtime loop: " + name.error().message);
  };
  spawn({.name = "delivery",
         .metadata = {{"max_in_flight", std::to_string(config_.delivery.max_in_flight)},
                      {"max_in_flight_per_receiver",
                       std::to_string(config_.delivery.max_in_flight_per_receiver)}}},
        &Runtime::delivery_loop);
  spawn({.name = "persistence",
         .metadata = {{"store", config_.store.postgres ? "postgres" : "sqlite"}}},
        &Runtime::persistence_loop);
  spawn({.name = "alerts",
         .metadata = {{"flush_interval", core::format_duration(config_.alert_flush_interval)}}},
        &Runtime::alerts_loop);
  spawn({.name = "evaluation", .metadata = {{"component", "readiness"}}},
        &Runtime::evaluation_loop);
  spawn({.name = "http",
         .shutdown_timeout = std::chrono::seconds(15),
         .metadata = {{"listen", config_.listen.host + ":" + std::to_string(*port)}}},
        &Runtime::http_loop);
  spawn({.name = "supervision", .metadata = {{"component", "task_supervision"}}},
        &Runtime::supervision_loop);
  {
    // A drill restores its fault before the loop ends: give a command's undo its timeout.
    core::Duration longest = std::chrono::seconds(5);
    for (const auto& sc : config_.drills.scenarios) {
      longest = std::max(longest, sc.fault.command_timeout + std::chrono::seconds(5));
    }
    if (!config_.validation.schedules.empty()) {
      auto v = root_->spawn(
          {.name = "validation",
           .metadata = {{"schedules", std::to_string(config_.validation.schedules.size())}}},
          [this] { return validation_->loop(); });
      if (!v) throw std::logic_error("cannot spawn the validation loop: " + v.error().message);
    }
    if (!config_.compliance.signoffs.empty()) {
      auto c = root_->spawn(
          {.name = "compliance",
           .metadata = {{"signoffs", std::to_string(config_.compliance.signoffs.size())}}},
          [this] { return compliance_->loop(); });
      if (!c) throw std::logic_error("cannot spawn the compliance loop: " + c.error().message);
    }
    auto name = root_->spawn(
        {.name = "drills",
         .shutdown_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(longest),
         .metadata = {{"scenarios", std::to_string(config_.drills.scenarios.size())}}},
        [this] { return drills_->loop(); });
    if (!name) throw std::logic_error("cannot spawn the drills loop: " + name.error().message);
  }
  if (bus_) {
    const auto& nats = *config_.bus.nats;
    std::string servers;
    for (const auto& url : nats.servers) servers += (servers.empty() ? "" : ",") + url;
    if (bus_->consumer) {
      spawn({.name = "nats-ingest",
             .metadata = {{"servers", servers},
                          {"durable", nats.durable},
                          {"subjects", nats.subject_prefix + "." + nats.filter}}},
            &Runtime::nats_ingest_loop);
    }
    spawn({.name = "bus",
           .metadata = {{"component", std::string(bus::kBusHealthComponent)},
                        {"spool", bus_->publisher->counters().spool_configured
                                      ? (config_.bus.spool_dir.empty()
                                             ? (config_.data_dir / "spool").string()
                                             : config_.bus.spool_dir.string())
                                      : ""}}},
          &Runtime::bus_loop);
  }
  if (options.demo) {
    spawn({.name = "demo", .metadata = {{"workload", "simulated trading runtime"}}},
          &Runtime::demo_loop);
  }
  ready_ = true;
  spdlog::info("opsready {} listening on http://{}:{} (data dir {})", kVersion, config_.listen.host,
               *port, config_.data_dir.string());
  return *port;
}

asio::awaitable<void> Runtime::persistence_loop() {
  // Cancellation is handled by hand (it means "flush, then end"), never by exceptions.
  co_await asio::this_coro::throw_if_cancelled(false);
  auto strand = asio::make_strand(pool_->get_executor());
  asio::steady_timer wake(*ctx_);
  bool stalled_before = false;
  auto claim_at = asio::steady_timer::clock_type::now() + config_.replica.claim_interval;
  for (;;) {
    if (asio::steady_timer::clock_type::now() >= claim_at) {
      queue_claims();
      claim_at = asio::steady_timer::clock_type::now() + config_.replica.claim_interval;
    }
    bool stalled = false;
    while (!stalled && (!pending_writes_.empty() || !outbox_updates_.empty())) {
      stalled = !(co_await flush_writes(strand));
    }
    if (stalled && !stalled_before) {
      spdlog::error("store: unreachable; {} write(s) kept in memory and retried every {}",
                    pending_writes_.size(), core::format_duration(kStoreRetryInterval));
    } else if (!stalled && stalled_before) {
      spdlog::info("store: reachable again; the waiting writes are caught up");
    }
    stalled_before = stalled;
    // Checked before every wait: a stop requested during a flush is not lost.
    if (co_await cancel_requested()) break;
    // While the store is unreachable, new writes wait for the retry instead of waking the loop.
    wake.expires_at(
        stalled ? std::min(asio::steady_timer::clock_type::now() + kStoreRetryInterval, claim_at)
                : claim_at);
    if (!stalled) persistence_wake_ = [&wake] { wake.cancel(); };
    const bool fired = co_await wait(wake);
    persistence_wake_ = nullptr;
    static_cast<void>(fired);
  }
  // Graceful stop: the evaluation loop (stopped before this one) has queued its last writes.
  co_await asio::this_coro::reset_cancellation_state();
  bool flushed = co_await flush_writes(strand);
  // The requests already sent may end (for a quarter of shutdown_timeout, at most a request's
  // timeout) and nothing new starts: what a receiver took is marked sent, not sent again by
  // whoever starts next. Their outcomes are posted to this strand before this coroutine goes
  // on, so the next flush writes their marks.
  {
    const core::Duration limit = std::min(config_.delivery.timeout, config_.shutdown_timeout / 4);
    const std::function<void()> drain = [this, limit] {
      if (!delivery_->drain(limit)) {
        spdlog::warn("stopping: notifications still in flight after {}; they stay pending",
                     core::format_duration(limit));
      }
    };
    co_await run_to_completion(ctx_.get(), strand, &drain);
  }
  if (flushed) flushed = co_await flush_writes(strand);
  if (!flushed) {
    spdlog::error(
        "stopped: the store is unreachable; {} write(s) and {} delivery mark(s) were "
        "not written",
        pending_writes_.size(), outbox_updates_.size());
  } else {
    // What was still being sent is another replica's to send at once, not after the lease.
    if (delivery_->held() > 0) {
      pending_writes_.push_back([this] {
        const auto released = stored("claim_outbox", [this]() -> core::Result<void> {
          auto n = store_->extend_outbox_claims(delivery_->owner(), clock_.now());
          if (!n) return std::unexpected(n.error());
          if (*n > 0)
            spdlog::info("delivery: released the claims of {} unsent notification(s)", *n);
          return {};
        });
        return released.has_value() || !transient(released);
      });
      static_cast<void>(co_await flush_writes(strand));
    }
    spdlog::info("stopped: state flushed to {}", config_.store.postgres
                                                     ? std::string("PostgreSQL")
                                                     : (config_.data_dir / "opsready.db").string());
  }
}

asio::awaitable<void> Runtime::alerts_loop() {
  // Cancellation is handled by hand (it means "flush everything, then end"), as in
  // persistence_loop.
  co_await asio::this_coro::throw_if_cancelled(false);
  // A POST waiting for durability wakes it at once (group commit: while one commit runs, the
  // requests that arrive meanwhile wait for the next, which takes them all).
  asio::steady_timer timer(*ctx_);
  for (;;) {
    if (durable_waiting_.empty()) {
      timer.expires_after(config_.alert_flush_interval);
      alerts_wake_ = [&timer] { timer.cancel(); };
      const bool fired = co_await wait(timer);
      alerts_wake_ = nullptr;
      if (!fired && co_await cancel_requested()) break;
    }
    co_await flush_alerts();
    if (co_await cancel_requested()) break;  // a stop requested during the flush
  }
  alerts_wake_ = nullptr;
  // Graceful stop: the HTTP loop (stopped before this one) has answered its last request.
  co_await asio::this_coro::reset_cancellation_state();
  co_await flush_alerts();
  if (const std::size_t left = unwritten_alerts_.size(); left > 0) {
    spdlog::error("stopped: {} accepted alert(s) could not be written to the store", left);
  }
}

asio::awaitable<void> Runtime::flush_alerts() {
  for (core::Alert& a : engine_->take_external_changes()) {
    std::string fp = a.fingerprint;
    unwritten_alerts_.insert_or_assign(std::move(fp), std::move(a));
  }
  // Those waiting for this commit: their alerts were applied before the changes just taken.
  std::vector<Durable> waiting;
  waiting.swap(durable_waiting_);
  if (unwritten_alerts_.empty()) {
    for (Durable& d : waiting) d(core::Result<void>{});  // nothing changed: already durable
    co_return;
  }
  std::vector<core::Alert> batch;
  batch.reserve(unwritten_alerts_.size());
  for (auto& [fp, a] : unwritten_alerts_) batch.push_back(std::move(a));
  unwritten_alerts_.clear();
  // SQLite blocks: the write runs on the pool, this loop waits for it.
  core::Result<void> written;
  const std::function<void()> job = [this, &written, &batch] {
    written = stored("put_alerts", [&] { return store_->replace_alerts(batch); });
  };
  co_await run_to_completion(ctx_.get(), pool_->get_executor(), &job);
  for (Durable& d : waiting) d(written);
  if (!written) {
    // Kept for the next flush, unless a newer version of the alert arrived meanwhile.
    for (auto& a : batch) {
      std::string fp = a.fingerprint;
      unwritten_alerts_.try_emplace(std::move(fp), std::move(a));
    }
    // Once per failing streak: the flush is retried every interval with the same alerts.
    if (!alerts_flush_failing_) {
      spdlog::error("store: cannot write {} alert(s); kept in memory, retrying every {}: {}",
                    unwritten_alerts_.size(), core::format_duration(config_.alert_flush_interval),
                    written.error().message);
    }
    alerts_flush_failing_ = true;
  } else if (alerts_flush_failing_) {
    spdlog::info("store: alerts are written again ({} alert(s) caught up)", batch.size());
    alerts_flush_failing_ = false;
  }
}

bool Runtime::transient(const core::Result<void>& outcome) {
  if (outcome) return false;
  const std::string& code = outcome.error().code;
  return code == "store_unavailable" || code == "store_timeout" || code == "store_busy";
}

asio::awaitable<bool> Runtime::flush_writes(asio::strand<asio::thread_pool::executor_type> strand) {
  // The batch lives in this frame until the pool has run it. (No capturing lambdas in the
  // co_await expression: GCC 12 mis-destroys such temporaries.)
  std::vector<StoreWrite> batch;
  batch.swap(pending_writes_);
  // Delivery outcomes go first, in one transaction: each names a row committed by an earlier
  // flush (a row is sent only after its write), and a finished notification holds its request
  // slot until its mark is committed, so marks must not wait behind the bulk of new decisions.
  std::vector<store::OutboxUpdate> marks;
  marks.swap(outbox_updates_);
  bool marks_written = true;
  std::size_t done = 0;  // writes of the batch that are done
  const std::function<void()> job = [this, &batch, &marks, &marks_written, &done] {
    if (!marks.empty()) marks_written = write_marks(marks);
    for (; done < batch.size(); ++done) {
      if (!batch[done]()) break;
    }
  };
  co_await run_to_completion(ctx_.get(), strand, &job);
  if (marks_written && done == batch.size()) co_return true;
  // Back in front of what arrived meanwhile, in order.
  if (!marks_written) outbox_updates_.insert(outbox_updates_.begin(), marks.begin(), marks.end());
  pending_writes_.insert(pending_writes_.begin(), std::make_move_iterator(batch.begin() + done),
                         std::make_move_iterator(batch.end()));
  if (pending_writes_.size() > kMaxWaitingWrites) {
    // Memory is bounded: the oldest go (history rows, mostly; docs/runbooks/store.md).
    const std::size_t excess = pending_writes_.size() - kMaxWaitingWrites;
    pending_writes_.erase(pending_writes_.begin(),
                          pending_writes_.begin() + static_cast<std::ptrdiff_t>(excess));
    metrics_->store_errors.with({"dropped_waiting"}).inc(static_cast<double>(excess));
    spdlog::error(
        "store: unreachable for too long; dropped the {} oldest waiting write(s) "
        "(at most {} are kept)",
        excess, kMaxWaitingWrites);
  }
  co_return false;
}

void Runtime::queue_claims() {
  if (claims_queued_.exchange(true)) return;  // one waits already (the store is unreachable)
  pending_writes_.push_back([this] {
    claims_queued_ = false;
    const core::TimePoint now = clock_.now();
    const std::string& owner = delivery_->owner();
    const auto ok = stored("claim_outbox", [&]() -> core::Result<void> {
      // Renewed first: the rows this replica is sending stay its own. Only those whose claim
      // ends within half a lease are rewritten, so a row costs a write per half lease, not
      // one per claim_interval.
      if (delivery_->held() > 0) {
        if (auto n = store_->extend_outbox_claims(owner, now + delivery_->lease(),
                                                  now + delivery_->lease() / 2);
            !n) {
          return std::unexpected(n.error());
        }
      }
      // Then what no live claim holds: rows of a replica that died or stopped.
      auto rows = store_->claim_outbox(owner, now, delivery_->lease(), kClaimBatch);
      if (!rows) return std::unexpected(rows.error());
      static_cast<void>(delivery_->claimed(*rows));
      return {};
    });
    if (!ok && !transient(ok)) {
      spdlog::error("store: cannot claim outbox rows: {}", ok.error().message);
    }
    // Never held back for a retry: the next claim_interval claims again.
    return true;
  });
}

bool Runtime::write_marks(const std::vector<store::OutboxUpdate>& updates) {
  const auto ok = stored("update_outbox", [&] { return store_->update_outbox(updates); });
  if (!ok) {
    spdlog::error("store: cannot mark {} outbox row(s): {}", updates.size(), ok.error().message);
  }
  // Their slots are free now (also when the write failed: those rows stay pending and are sent
  // again after a restart, rather than stopping delivery). They stay held, and claimed, until
  // a write of their marks succeeds.
  std::vector<std::string> finished;
  for (const store::OutboxUpdate& u : updates) {
    if (u.state != store::OutboxState::kPending) finished.push_back(u.id);
  }
  delivery_->recorded(std::move(finished), ok.has_value());
  return !transient(ok);
}

void Runtime::wake_persistence() {
  if (persistence_wake_) persistence_wake_();
}

asio::awaitable<void> Runtime::evaluation_loop() {
  asio::steady_timer timer(*ctx_);
  for (;;) {
    // The periodic evaluation, or sooner when an engine timer (a group tick, an escalation, a
    // component going stale) is due before it.
    core::Duration wait_for = config_.evaluation_interval;
    if (const auto due = engine_->next_deadline()) {
      wait_for = std::clamp<core::Duration>(*due - clock_.now(), core::Duration::zero(), wait_for);
    }
    timer.expires_after(wait_for);
    evaluation_wake_at_ = clock_.now() + wait_for;
    evaluation_wake_ = [&timer] { timer.cancel(); };
    const bool fired = co_await wait(timer);
    evaluation_wake_ = nullptr;
    if (!fired) {
      // Woken early (a timer of the engine became due sooner: see rearm_evaluation()), or
      // cancelled: the runtime is stopping.
      if (std::exchange(evaluation_rearmed_, false) && !co_await cancel_requested()) continue;
      break;
    }
    evaluate();
  }
  // Graceful stop: accept nothing more, evaluate what is queued, once more.
  {
    std::lock_guard lock(queue_mu_);
    accepting_ = false;
  }
  ready_ = false;
  drain();
  evaluate();
}

asio::awaitable<void> Runtime::http_loop() {
  co_await asio::this_coro::throw_if_cancelled(false);
  if (!http_bound_) {  // a restart: bind again (to the same port)
    auto port = http_->bind();
    if (!port) throw std::runtime_error(port.error().message);
  }
  http_bound_ = false;
  // The listener's first network thread is a pool thread; this coroutine waits for it to end,
  // or for cancellation, which stops the listener: in-flight requests are answered (for at
  // most half the shutdown timeout, leaving the rest to the flushes), idle connections close.
  const std::function<void(std::stop_token)> serve = [this](std::stop_token) { http_->serve(); };
  // stop() before the listener thread entered serve() is kept for it; repeating it is harmless.
  bool logged = false;
  const std::function<void()> stop = [this, &logged] {
    if (std::exchange(logged, true)) return;
    spdlog::info("stopping: closing the HTTP listener");
    http_->stop(config_.shutdown_timeout / 2);
  };
  const std::string what = "the HTTP listener";
  co_await run_blocking(ctx_.get(), pool_.get(), &serve, &what, &stop);
}

asio::awaitable<void> Runtime::delivery_loop() {
  const std::function<void(std::stop_token)> body = [this](std::stop_token stop) {
    delivery_->run(std::move(stop));
  };
  const std::string what = "the delivery loop";
  co_await run_blocking(ctx_.get(), delivery_pool_.get(), &body, &what, nullptr);
}

void Runtime::delivered(Delivery::Report report) {
  if (report.update && report.update->state == store::OutboxState::kSent && drills_ &&
      report.update->done_at) {
    drills_->sent(report.update->id, *report.update->done_at);
  }
  if (report.update) outbox_updates_.push_back(std::move(*report.update));
  if (!report.alerts.empty()) {
    // Into the engine like an alert Prometheus posted: routed, grouped, stored.
    if (submit_alerts(std::move(report.alerts)) != server::SubmitResult::kAccepted) {
      spdlog::warn("delivery: the evaluation queue refused an {} alert", kNotificationFailingAlert);
    }
  }
  if (!outbox_updates_.empty()) wake_persistence();  // flush_writes() writes them first
}

asio::awaitable<void> Runtime::supervision_loop() {
  asio::steady_timer timer(*ctx_);
  bool woken = false;
  supervision_wake_ = [&timer, &woken] {
    woken = true;
    timer.cancel();
  };
  for (;;) {
    supervise::SupervisionSnapshot tree = root_->describe();
    // A supervisor that failed since the last sample is graded once even if it has left the
    // tree since (a drill's task_crash supervisor, any temporary one): its escalation is seen.
    for (supervise::SupervisorInfo& failed : failed_supervisors_) {
      const bool listed = std::any_of(tree.supervisors.begin(), tree.supervisors.end(),
                                      [&](const auto& s) { return s.path == failed.path; });
      if (!listed) tree.supervisors.push_back(std::move(failed));
    }
    failed_supervisors_.clear();
    auto snap = supervise::task_supervision_snapshot(tree);
    snap.observed_at = clock_.now();
    apply_snapshot(std::move(snap));
    timer.expires_after(kSupervisionPeriod);
    woken = false;
    if (co_await wait(timer)) continue;
    // Cancelled: a wake-up (sample now), or the stop.
    if (!std::exchange(woken, false) || co_await cancel_requested()) break;
  }
  supervision_wake_ = nullptr;
}

asio::awaitable<void> Runtime::demo_loop() {
  asio::steady_timer timer(*ctx_);
  for (std::uint64_t tick = 0;; ++tick) {
    demo_tick(tick);
    timer.expires_after(kDemoPeriod);
    if (!co_await wait(timer)) break;
  }
}

server::SubmitResult Runtime::submit(std::vector<core::TelemetryEvent> events,
                                     server::IngestPath path) {
  return submit_batch(events, path);
}

server::SubmitResult Runtime::submit_batch(std::vector<core::TelemetryEvent>& events,
                                           server::IngestPath path) {
  std::vector<Message> messages;
  messages.reserve(events.size());
  for (auto& e : events) messages.emplace_back(std::move(e));
  const std::size_t n = messages.size();
  const auto r = enqueue(messages, n);
  if (r == server::SubmitResult::kAccepted) {
    metrics_->events_ingested.with({std::string(server::to_string(path))})
        .inc(static_cast<double>(n));
    events.clear();
  } else {
    // Left intact for a retry (the caller's contract).
    for (std::size_t i = 0; i < messages.size(); ++i) {
      events[i] = std::move(std::get<core::TelemetryEvent>(messages[i]));
    }
  }
  return r;
}

server::SubmitResult Runtime::submit_alerts(std::vector<core::Alert> alerts, Durable durable) {
  const std::size_t n = alerts.size();
  std::vector<Message> messages;
  messages.emplace_back(AlertBatch{std::move(alerts), std::move(durable)});
  return enqueue(messages, n);
}

bool Runtime::post(EngineTask task) {
  std::vector<Message> messages;
  messages.emplace_back(std::move(task));
  return enqueue(messages, 1) == server::SubmitResult::kAccepted;
}

server::SubmitResult Runtime::enqueue(std::vector<Message>& messages, std::size_t items) {
  std::lock_guard lock(queue_mu_);
  if (!accepting_ || !engine_) return server::SubmitResult::kStopping;
  // A batch larger than the capacity is taken when the queue is empty, so that no batch can be
  // refused forever.
  if (queued_items_ > 0 && queued_items_ + items > config_.queue_capacity) {
    return server::SubmitResult::kQueueFull;
  }
  if (queue_.empty()) {
    queue_ = std::move(messages);
  } else {
    queue_.insert(queue_.end(), std::make_move_iterator(messages.begin()),
                  std::make_move_iterator(messages.end()));
  }
  queued_items_ += items;
  metrics_->queue_depth.set(static_cast<double>(queued_items_));
  if (!drain_scheduled_) {
    drain_scheduled_ = true;
    asio::post(*ctx_, [this] {
      drain();
      if (dirty_) evaluate();
    });
  }
  messages.clear();
  return server::SubmitResult::kAccepted;
}

server::Backend::JsonReply Runtime::drills(const std::string& scenario, std::size_t limit) const {
  if (!drills_) return {503, {{"error", "opsready is starting"}}};
  auto r = drills_->list(scenario, limit);
  return {r.status, std::move(r.body)};
}

server::Backend::JsonReply Runtime::start_drill(const nlohmann::json& request) {
  if (!drills_ || !ready()) return {503, {{"error", "opsready is starting or shutting down"}}};
  auto r = drills_->start(request);
  return {r.status, std::move(r.body)};
}

server::Backend::JsonReply Runtime::stop_drill(const std::string& id, const std::string& by) {
  if (!drills_) return {503, {{"error", "opsready is starting"}}};
  auto r = drills_->stop(id, by);
  return {r.status, std::move(r.body)};
}

server::Backend::JsonReply Runtime::signoffs(const std::string& signoff, std::size_t limit) const {
  if (!compliance_) return {503, {{"error", "opsready is starting"}}};
  auto r = compliance_->list(signoff, limit);
  return {r.status, std::move(r.body)};
}

server::Backend::JsonReply Runtime::record_signoff(const nlohmann::json& request,
                                                   const std::string& source) {
  if (!compliance_ || !ready()) return {503, {{"error", "opsready is starting or shutting down"}}};
  auto r = compliance_->record(request, source);
  return {r.status, std::move(r.body)};
}

core::Result<std::optional<store::DrillRunRow>> Runtime::drill(const std::string& id) const {
  if (!drills_) return core::fail("not_started", "the store is not open");
  return drills_->get(id);
}

core::Result<std::vector<store::GateChange>> Runtime::gate_history(core::TimePoint since,
                                                                   core::TimePoint until,
                                                                   std::size_t limit) const {
  if (!store_) return core::fail("not_started", "the store is not open");
  return store_->gate_history(since, until, limit);
}

std::shared_ptr<const readiness::ReadinessSnapshot> Runtime::current() const {
  std::lock_guard lock(current_mu_);
  return current_;
}

core::Result<std::vector<store::StoredReadiness>> Runtime::history(core::TimePoint since,
                                                                   core::TimePoint until,
                                                                   std::size_t limit) const {
  if (!store_) return core::fail("not_started", "the store is not open");
  return store_->readiness_history(since, until, limit);
}

bool Runtime::ready() const { return ready_.load(); }

core::Result<std::vector<alerting::IncidentTimeline>> Runtime::incidents(
    core::TimePoint since) const {
  if (!store_) return core::fail("not_started", "the store is not open");
  auto rows = store_->alerting_log("record", since, core::TimePoint::max(), kMaxIncidentRecords);
  if (!rows) return std::unexpected(rows.error());
  std::vector<alerting::Record> records;
  records.reserve(rows->size());
  for (const store::LogRow& row : *rows) {
    auto r = alerting::record_from_json(nlohmann::json::parse(row.json, nullptr, false));
    if (!r) {
      return core::fail("store_corrupt",
                        "decision record " + std::to_string(row.id) + ": " + r.error().describe());
    }
    records.push_back(std::move(*r));
  }
  auto outbox = store_->outbox({.since = since, .limit = kMaxIncidentRecords});
  if (!outbox) return std::unexpected(outbox.error());
  return alerting::timelines(records, *outbox);
}

std::shared_ptr<const engine::Feeds> Runtime::feeds() const {
  std::lock_guard lock(current_mu_);
  return feeds_;
}

core::Result<std::vector<store::ComponentBucket>> Runtime::component_buckets(
    core::TimePoint since, core::TimePoint until, core::Duration bucket) const {
  if (!store_) return core::fail("not_started", "the store is not open");
  return store_->component_buckets(since, until, bucket);
}

core::Result<std::vector<store::ComponentDay>> Runtime::component_days(
    core::TimePoint since, core::TimePoint until) const {
  if (!store_) return core::fail("not_started", "the store is not open");
  return store_->component_days(since, until);
}

core::Result<std::vector<core::ComponentSnapshot>> Runtime::component_history(
    const std::string& component, core::TimePoint since, core::TimePoint until,
    std::size_t limit) const {
  if (!store_) return core::fail("not_started", "the store is not open");
  return store_->component_history(component, since, until, limit);
}

nlohmann::json Runtime::stats() const {
  nlohmann::json events = nlohmann::json::object();
  for (server::IngestPath p : server::kAllIngestPaths) {
    const std::string name(server::to_string(p));
    events[name] = metrics_->events_ingested.with({name}).value();
  }
  // The queue's depth as its gauge has it (set under the queue's lock at every change).
  const double depth = metrics_->queue_depth.value();
  nlohmann::json out = {{"events_total", std::move(events)},
                        {"queue", {{"depth", depth}, {"capacity", config_.queue_capacity}}},
                        {"nats", nullptr},
                        {"spool_pending", nullptr},
                        {"notifications", {{"escalations_total", metrics_->escalations.value()}}}};
  if (bus_ && bus_->metrics) {
    const BusMetrics& b = *bus_->metrics;
    out["nats"] = {{"connected", b.nats_connected.value() > 0},
                   {"consumer_pending", b.nats_pending.value()},
                   {"events_total", b.nats_events.value()}};
    out["spool_pending"] = b.spool_pending.value();
  }
  return out;
}

void Runtime::observe_response(const alerting::ResponseTime& t) {
  auto& family = t.kind == alerting::ResponseTime::Kind::kAcknowledge
                     ? metrics_->time_to_acknowledge
                     : metrics_->time_to_resolve;
  family.with({t.receiver}).observe(core::to_seconds(t.value));
}

nlohmann::json Runtime::supervision() const { return supervise::to_json(root_->describe()); }

void Runtime::drain() {
  std::vector<Message> batch;
  {
    std::lock_guard lock(queue_mu_);
    batch.swap(queue_);
    queued_items_ = 0;
    drain_scheduled_ = false;
    metrics_->queue_depth.set(0);
  }
  if (bus_) bus_->room_cv.notify_all();
  if (batch.empty()) return;
  const auto now = clock_.now();
  // Timers due before this batch fire first.
  if (const auto due = engine_->next_deadline(); due && *due <= now) engine_->advance(now);
  for (auto& m : batch) apply(m, now);
  flush_engine_output();
  rearm_evaluation();
}

void Runtime::rearm_evaluation() {
  // A group's group_wait or group_interval that ends before the evaluation loop's wait does
  // wakes it then, not up to evaluation_interval late.
  if (!evaluation_wake_) return;
  const auto due = engine_->next_deadline();
  if (!due || *due >= evaluation_wake_at_) return;
  evaluation_rearmed_ = true;
  evaluation_wake_();
}

void Runtime::apply(Message& m, core::TimePoint now) {
  if (auto* e = std::get_if<core::TelemetryEvent>(&m)) {
    if (drills_ && drills_->drops(*e)) return;  // a feed_stall drill (counted there)
    const std::string& topic = topic_label(e->topic);
    metrics_->events_received.with({topic}).inc();
    const components::Routed r = engine_->apply(*e, now);
    if (r.consumers == 0) {
      metrics_->events_unrouted.with({topic}).inc();
    } else if (r.refused > 0) {
      metrics_->payload_errors.with({r.component}).inc();
      spdlog::debug("{} refused an event on {} from '{}': {}", r.component, e->topic, e->source,
                    r.error.describe());
    } else {
      dirty_ = true;
    }
  } else if (auto* b = std::get_if<AlertBatch>(&m)) {
    (void)engine_->put_alerts(b->alerts, now);
    dirty_ = true;
    if (b->durable) {
      durable_waiting_.push_back(std::move(b->durable));
      if (alerts_wake_) alerts_wake_();  // commit now, not at the next flush interval
    }
  } else if (auto* task = std::get_if<EngineTask>(&m)) {
    (*task)(*engine_, now);
    dirty_ = true;
  }
}

const std::string& Runtime::topic_label(const std::string& topic) {
  static const std::string kOther(kOtherTopics);
  if (topic_labels_.contains(topic)) return topic;
  if (topic_labels_.size() >= kMaxTopicLabels) return kOther;
  topic_labels_.insert(topic);
  return topic;
}

void Runtime::apply_snapshot(core::ComponentSnapshot s) {
  engine_->put_component(std::move(s), clock_.now());
  dirty_ = true;
}

void Runtime::flush_engine_output() {
  engine_->checkpoint();
  if (state_rows_.empty() && log_rows_.empty() && outbox_rows_.empty()) return;
  // The outbox rows are committed with the decisions that made them, and sent only after.
  pending_writes_.push_back([this, state = std::move(state_rows_), log = std::move(log_rows_),
                             outbox = std::move(outbox_rows_)]() mutable {
    // Claimed for this replica from the write on: no other takes them while they are sent.
    const core::TimePoint until = clock_.now() + delivery_->lease();
    for (store::OutboxRow& row : outbox) {
      row.claimed_by = delivery_->owner();
      row.claimed_until = until;
    }
    const auto ok =
        stored("write_alerting", [&] { return store_->write_alerting(state, log, outbox); });
    if (!ok && (!transient(ok) || !outbox.empty())) {
      spdlog::error(
          "store: cannot save alerting state ({} row(s), {} log row(s), {} outbox "
          "row(s)){}: {}",
          state.size(), log.size(), outbox.size(),
          outbox.empty() ? "" : "; sending the notifications without a durable record",
          ok.error().message);
    }
    // Sent even when the write failed: a notification not on disk is still better sent than
    // dropped or held until the store returns (it is then not resent after a crash).
    for (const store::OutboxRow& row : outbox) delivery_->send(row);
    // A retry writes the state and the log; the notifications have gone.
    outbox.clear();
    return !transient(ok);
  });
  state_rows_.clear();
  log_rows_.clear();
  outbox_rows_.clear();
  wake_persistence();
}

void Runtime::evaluate() {
  const auto started = std::chrono::steady_clock::now();
  const auto now = clock_.now();
  if (const auto due = engine_->next_deadline(); due && *due <= now) engine_->advance(now);
  publish_store_health(now);
  engine_->evaluate(now);
  dirty_ = false;
  flush_engine_output();
  rearm_evaluation();
  metrics_->evaluation_seconds.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  metrics_->evaluations.inc();
  metrics_->last_evaluation.set(core::to_unix_seconds(now));
  export_engine_metrics(now);

  // The dashboards' alerts, panels and figures, about once a second (nothing without one).
  if (http_ && now - dashboard_at_ >= std::chrono::seconds(1)) {
    dashboard_at_ = now;
    http_->dashboard_tick(*engine_, now);
  }

  // Publish a new snapshot when it changed, and at least once a second with a fresh
  // generated_at (the snapshot itself is materialized once per version).
  const std::uint64_t version = engine_->readiness_version();
  if (version == published_version_ && current_ && now - published_at_ < std::chrono::seconds(1)) {
    return;
  }
  std::shared_ptr<const readiness::ReadinessSnapshot> snap = engine_->readiness();
  if (snap->generated_at != now) {
    auto fresh = std::make_shared<readiness::ReadinessSnapshot>(*snap);
    fresh->generated_at = now;
    snap = std::move(fresh);
  }
  published_version_ = version;
  published_at_ = now;
  metrics_->readiness_status.set(core::rank(snap->status));
  metrics_->gate_decision.set(static_cast<double>(snap->gate.decision));
  for (const auto& c : snap->components) {
    metrics_->component_status.with({c.component}).set(core::rank(c.status));
    // The spec's side effect of the security posture (§2): the failed logins of the last hour,
    // from the latest document (clamped at 0 by the evaluator).
    if (c.component == "security" && c.metadata.is_object()) {
      if (const auto it = c.metadata.find("failed_logins_last_hour");
          it != c.metadata.end() && it->is_number()) {
        metrics_->failed_logins.set(it->get<double>());
      }
    }
  }
  for (Status s : core::kAllStatuses) {
    const auto it = snap->counts.find(s);
    metrics_->components.with({std::string(core::to_string(s))})
        .set(it == snap->counts.end() ? 0 : it->second);
  }
  persist_readiness(*snap);
  prune_if_due(now);
  if (http_) http_->publish_readiness(snap);
  std::shared_ptr<const engine::Feeds> feeds;
  if (engine_->feeds_version() != feeds_version_) feeds = engine_->feeds();
  {
    std::lock_guard lock(current_mu_);
    current_.swap(snap);
    if (feeds) {
      feeds_.swap(feeds);
      feeds_version_ = engine_->feeds_version();
    }
  }  // the previous snapshot and feeds are released outside the lock
}

void Runtime::export_engine_metrics(core::TimePoint now) {
  const engine::EngineCounts c = engine_->counts(now);
  metrics_->alerts.with({"derived", "firing"}).set(static_cast<double>(c.alerts_derived));
  metrics_->alerts.with({"external", "firing"})
      .set(static_cast<double>(c.alerts_firing - c.alerts_derived));
  metrics_->alerts.with({"external", "resolved"})
      .set(static_cast<double>(c.alerts_external - (c.alerts_firing - c.alerts_derived)));
  metrics_->alert_groups.set(static_cast<double>(c.groups));
  metrics_->acks.set(static_cast<double>(c.acks));
  for (auto state : {alerting::SilenceState::kActive, alerting::SilenceState::kPending,
                     alerting::SilenceState::kExpired}) {
    metrics_->silences.with({std::string(alerting::to_string(state))})
        .set(static_cast<double>(engine_->silences().count(state, now)));
  }
  auto delta = [](std::uint64_t now_value, std::uint64_t& seen) {
    const auto d = now_value >= seen ? now_value - seen : 0;
    seen = now_value;
    return static_cast<double>(d);
  };
  metrics_->escalations.inc(delta(c.escalations, metrics_->escalations_seen));
  metrics_->held.inc(delta(c.held, metrics_->held_seen));
  metrics_->alerts_refused.inc(delta(c.external_refused, metrics_->refused_seen));
}

void Runtime::prune_if_due(core::TimePoint now) {
  if (now - last_prune_ < std::chrono::hours(1)) return;
  last_prune_ = now;
  // retention 0 keeps the history; the outbox has its own retention (delivery.retention).
  if (config_.retention > core::Duration::zero()) {
    // Not retried: the next hour's prune does the same work.
    pending_writes_.push_back([this, before = now - config_.retention] {
      auto pruned = store_->prune(before);
      if (!pruned) {
        metrics_->store_errors.with({"prune"}).inc();
        spdlog::error("store: pruning history failed: {}", pruned.error().message);
      } else if (*pruned > 0) {
        spdlog::info("store: pruned {} row(s) older than {}", *pruned,
                     core::format_rfc3339(before));
      }
      return true;
    });
  }
  pending_writes_.push_back([this, before = now - config_.delivery.retention] {
    auto pruned = store_->prune_outbox(before);
    if (!pruned) {
      metrics_->store_errors.with({"prune_outbox"}).inc();
      spdlog::error("store: pruning the outbox failed: {}", pruned.error().message);
    } else if (*pruned > 0) {
      spdlog::info("store: pruned {} finished outbox row(s) older than {}", *pruned,
                   core::format_rfc3339(before));
    }
    return true;
  });
  // The status page's daily roll-up outlives the history (status_page.status_days).
  pending_writes_.push_back(
      [this, before = now - std::chrono::days(config_.status_page.status_days)] {
        auto pruned = store_->prune_component_days(before);
        if (!pruned) {
          metrics_->store_errors.with({"prune_component_days"}).inc();
          spdlog::error("store: pruning the daily roll-up failed: {}", pruned.error().message);
        }
        return true;
      });
  wake_persistence();
}

core::Result<void> Runtime::stored(std::string_view operation,
                                   const std::function<core::Result<void>()>& write) {
  const auto began = std::chrono::steady_clock::now();
  core::Result<void> outcome = write();
  const auto took = std::chrono::steady_clock::now() - began;
  if (!outcome) metrics_->store_errors.with({std::string(operation)}).inc();
  const core::TimePoint now = clock_.now();
  store_health_->record(operation, outcome, std::chrono::duration_cast<core::Duration>(took), now);
  return outcome;
}

void Runtime::publish_store_health(core::TimePoint now) {
  // Published from the first failed or slow write on (a store that never had trouble adds no
  // component), at each change and every 10 s, so that gate.max_age never finds it stale.
  if (!store_health_->ever_troubled()) return;
  if (!store_health_->changed(now) && now - store_health_at_ < std::chrono::seconds(10)) return;
  store_health_at_ = now;
  apply_snapshot(store_health_->snapshot(now));
}

void Runtime::persist_component(const core::ComponentSnapshot& s) {
  pending_writes_.push_back([this, s] {
    const auto ok = stored("put_component", [&] { return store_->put_component(s); });
    if (transient(ok)) return false;  // logged once per outage by the persistence loop
    if (!ok) {
      spdlog::error("store: cannot save snapshot of '{}': {}", s.component, ok.error().message);
    }
    return true;
  });
  wake_persistence();
}

void Runtime::persist_readiness(const readiness::ReadinessSnapshot& s) {
  nlohmann::json doc = readiness::to_json(s);
  nlohmann::json body = doc;
  body.erase("generated_at");
  std::string key = body.dump();
  // Store every change, plus a heartbeat row a minute so history has no gaps to guess over.
  if (key == last_persisted_ && s.generated_at - last_persisted_at_ < std::chrono::minutes(1)) {
    return;
  }
  last_persisted_ = std::move(key);
  last_persisted_at_ = s.generated_at;
  // The gate's history: each change of its decision or of its reason codes.
  std::string gate_key(readiness::to_string(s.gate.decision));
  for (const auto* reasons : {&s.gate.blocking_reasons, &s.gate.warnings}) {
    gate_key += '|';
    for (const auto& r : *reasons) gate_key += r.code + ",";
  }
  if (gate_key != last_gate_) {
    last_gate_ = std::move(gate_key);
    nlohmann::json gate = readiness::to_json(s.gate);
    gate["at"] = core::format_rfc3339(s.generated_at);
    pending_writes_.push_back(
        [this,
         row = store::GateChange{.at = s.generated_at,
                                 .decision = std::string(readiness::to_string(s.gate.decision)),
                                 .json = gate.dump()}] {
          const auto ok = stored("put_gate", [&] { return store_->put_gate(row); });
          if (transient(ok)) return false;
          if (!ok) spdlog::error("store: cannot save a gate change: {}", ok.error().message);
          return true;
        });
  }
  pending_writes_.push_back(
      [this, row = store::StoredReadiness{
                 .generated_at = s.generated_at, .status = s.status, .json = doc.dump()}] {
        const auto ok = stored("put_readiness", [&] { return store_->put_readiness(row); });
        if (transient(ok)) return false;
        if (!ok) spdlog::error("store: cannot save readiness snapshot: {}", ok.error().message);
        return true;
      });
  wake_persistence();
}

// ---- bus.nats ------------------------------------------------------------------------------

core::Result<void> Runtime::start_bus() {
  const NatsConfig& cfg = *config_.bus.nats;
  auto link = std::make_unique<BusLink>();
  auto nats = bus::NatsBus::connect({.servers = cfg.servers,
                                     .stream = cfg.stream,
                                     .subject_prefix = cfg.subject_prefix,
                                     .create_stream = cfg.create_stream,
                                     .memory_storage = cfg.memory_storage,
                                     .duplicate_window = cfg.duplicate_window,
                                     .connect_timeout = cfg.connect_timeout,
                                     .publish_timeout = cfg.publish_timeout,
                                     .reconnect_initial = cfg.reconnect_initial,
                                     .reconnect_max = cfg.reconnect_max,
                                     .log = bus_log()},
                                    clock_);
  if (!nats) return std::unexpected(nats.error());
  link->nats = std::move(*nats);
  link->pool = std::make_unique<asio::thread_pool>(2);
  if (cfg.ingest) {
    auto consumer = link->nats->consumer(
        {.durable = cfg.durable,
         .filter = cfg.filter,
         .batch = cfg.batch,
         .fetch_timeout = cfg.fetch_timeout,
         .ack_wait = cfg.ack_wait,
         .max_ack_pending = cfg.max_ack_pending,
         .max_message_bytes = config_.max_body_bytes,
         .ordered = cfg.ordered,
         .check = [this](const core::TelemetryEvent& e) { return checker_.check(e); }},
        bus::BatchHandler([this](std::vector<core::TelemetryEvent>& events, std::stop_token stop) {
          return take_from_nats(events, stop);
        }));
    if (!consumer) return std::unexpected(consumer.error());
    link->consumer = std::move(*consumer);
  }
  bus::FailoverOptions fo;
  fo.spool_dir = config_.bus.spool_dir.empty() ? config_.data_dir / "spool" : config_.bus.spool_dir;
  fo.spool.fsync = config_.bus.spool_fsync == "always"  ? bus::FsyncPolicy::kAlways
                   : config_.bus.spool_fsync == "never" ? bus::FsyncPolicy::kNever
                                                        : bus::FsyncPolicy::kInterval;
  fo.spool.fsync_interval = config_.bus.spool_fsync_interval;
  fo.spool.max_bytes = config_.bus.spool_max_bytes;
  fo.retry_interval = config_.bus.retry_interval;
  fo.publisher_id = "opsready";
  fo.log = bus_log();
  link->publisher = std::make_unique<bus::FailoverPublisher>(
      std::vector<bus::EventBus*>{link->nats.get()}, std::move(fo), clock_);
  link->metrics = std::make_unique<BusMetrics>(registry_);
  bus_ = std::move(link);
  return {};
}

bool Runtime::take_from_nats(std::vector<core::TelemetryEvent>& events,
                             const std::stop_token& stop) {
  while (!stop.stop_requested()) {
    switch (submit_batch(events, server::IngestPath::kNats)) {
      case server::SubmitResult::kAccepted:
        return true;
      case server::SubmitResult::kStopping:
        return false;
      case server::SubmitResult::kQueueFull: {
        // Back-pressure: the fetch loop waits (JetStream keeps the rest) until the evaluation
        // strand drains the queue.
        std::unique_lock lock(bus_->room_mu);
        bus_->room_cv.wait_for(lock, stop, std::chrono::milliseconds(5), [] { return false; });
        break;
      }
    }
  }
  return false;
}

asio::awaitable<void> Runtime::nats_ingest_loop() {
  bus::NatsConsumer* consumer = bus_->consumer.get();
  const std::function<void(std::stop_token)> fetch = [consumer](std::stop_token stop) {
    consumer->run(std::move(stop));
  };
  const std::string what = "the NATS ingest consumer";
  co_await run_blocking(ctx_.get(), bus_->pool.get(), &fetch, &what, nullptr);
}

asio::awaitable<void> Runtime::bus_loop() {
  co_await asio::this_coro::throw_if_cancelled(false);
  asio::steady_timer timer(*ctx_);
  auto strand = asio::make_strand(bus_->pool->get_executor());
  for (;;) {
    const auto now = clock_.now();
    const bool health = now >= bus_->next_health;
    if (health) bus_->next_health = now + config_.bus.health_interval;
    const std::function<void()> job = [this, health] { bus_tick(health); };
    co_await run_to_completion(ctx_.get(), strand, &job);
    export_bus_metrics();
    if (co_await cancel_requested()) break;  // a stop requested during the tick
    timer.expires_after(config_.bus.retry_interval);
    if (!co_await wait(timer)) break;
  }
}

// On the bus pool: replay the spool; publish the event_bus component when due.
void Runtime::bus_tick(bool publish_health) {
  if (auto replayed = bus_->publisher->replay(); !replayed) {
    spdlog::error("{}", replayed.error().describe());
  }
  if (!publish_health) return;
  const auto failover = bus_->publisher->counters();
  nlohmann::json meta = {{"spool_pending", failover.spool.pending},
                         {"spooled_events", failover.spooled},
                         {"replayed_events", failover.replayed},
                         {"publish_errors", failover.errors},
                         {"connected", bus_->nats->connected()}};
  if (!failover.spool_error.empty()) meta["spool_error"] = failover.spool_error;
  // Dropped means lost: an event NATS refused but the spool took is replayed later, not
  // dropped, so only what the failover publisher could place nowhere counts. (NATS's own
  // refusal count lasts the process lifetime and would keep event_bus warning long after an
  // outage was over and its spool replayed; the bus-outage drill found it.)
  bus::BusCounters counters = bus_->nats->counters();
  meta["nats_refused_events"] = counters.dropped;
  counters.dropped = failover.errors;
  auto snap = bus::evaluate_bus_health(counters, clock_.now(),
                                       {.service = "nats", .metadata = std::move(meta)});
  // Applied here at once (it matters most when NATS is down), and published for the other
  // consumers of the stream. This runtime's consumer gets it back on telemetry.event_bus.health,
  // a topic no component consumes (counted as unrouted), so it is not applied twice.
  asio::post(*ctx_, [this, snap] { apply_snapshot(snap); });
  if (auto r = bus_->publisher->publish(bus::bus_health_event(snap)); !r) {
    bus_->metrics->publish_errors.inc();
    spdlog::error("{}", r.error().describe());
  }
  publish_consumer_info();
}

// On the bus pool: the CONSUMER.INFO of opsready's own ingest consumer and of every
// bus.nats.watch_consumers entry, as telemetry.bus.consumer events for the nats_consumer
// component. A consumer that cannot be read is logged and left out (the component then sees
// it go silent and grades it stale).
void Runtime::publish_consumer_info() {
  const NatsConfig& cfg = *config_.bus.nats;
  std::vector<std::pair<std::string, std::string>> targets;
  if (bus_->consumer) targets.emplace_back(cfg.stream, cfg.durable);
  for (const std::string& w : cfg.watch_consumers) {
    const auto slash = w.find('/');
    targets.emplace_back(w.substr(0, slash), w.substr(slash + 1));
  }
  std::vector<core::TelemetryEvent> events;
  for (const auto& [stream, consumer] : targets) {
    auto info = bus_->nats->consumer_info(stream, consumer);
    if (!info) {
      spdlog::warn("nats_consumer: {}", info.error().message);
      continue;
    }
    events.push_back({.topic = "telemetry.bus.consumer",
                      .source = "opsready.bus",
                      .time = clock_.now(),
                      .payload = std::move(*info)});
  }
  if (!events.empty()) (void)submit(std::move(events));
}

// On the evaluation strand: library counters to /metrics.
void Runtime::export_bus_metrics() {
  BusMetrics& m = *bus_->metrics;
  auto delta = [](std::uint64_t now, std::uint64_t& seen) {
    const auto d = now >= seen ? now - seen : 0;
    seen = now;
    return static_cast<double>(d);
  };
  m.nats_connected.set(bus_->nats->connected() ? 1 : 0);
  if (bus_->consumer) {
    const auto c = bus_->consumer->counters();
    auto& seen = bus_->consumer_seen;
    m.nats_messages.with({"duplicate"}).inc(delta(c.duplicates, seen.duplicates));
    m.nats_messages.with({"rejected"}).inc(delta(c.undecodable, seen.undecodable));
    m.nats_messages.with({"redelivered"}).inc(delta(c.not_taken, seen.not_taken));
    // taken = fetched minus the other results.
    const auto others = c.duplicates + c.undecodable + c.not_taken;
    const auto taken = c.received >= others ? c.received - others : 0;
    m.nats_messages.with({"taken"}).inc(delta(taken, bus_->taken_seen));
    m.nats_events.inc(delta(c.delivered, seen.delivered));
    m.nats_fetch_errors.inc(delta(c.fetch_errors, seen.fetch_errors));
    m.nats_pending.set(static_cast<double>(c.pending));
  }
  const auto f = bus_->publisher->counters();
  auto& seen = bus_->publisher_seen;
  seen.buses.resize(f.buses.size());
  for (std::size_t i = 0; i < f.buses.size(); ++i) {
    const auto& b = f.buses[i];
    m.bus_up.with({b.name}).set(b.up ? 1 : 0);
    m.bus_delivered.with({b.name}).inc(delta(b.delivered, seen.buses[i].delivered));
    m.bus_failures.with({b.name}).inc(delta(b.failures, seen.buses[i].failures));
  }
  m.spooled.inc(delta(f.spooled, seen.spooled));
  m.replayed.inc(delta(f.replayed, seen.replayed));
  m.spool_pending.set(static_cast<double>(f.spool.pending));
}

void Runtime::demo_tick(std::uint64_t tick) {
  const auto now = clock_.now();
  (void)submit(demo_events(tick, now));
}

}  // namespace opsready::app
