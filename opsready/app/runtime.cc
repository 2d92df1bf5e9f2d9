#include "opsready/app/runtime.h"

#include <spdlog/spdlog.h>
#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>

#include "opsready/app/demo.h"
#include "opsready/app/version.h"
#include "opsready/core/time.h"
#include "opsready/supervise/health.h"

namespace opsready::app {
namespace {

using asio::use_awaitable;
using core::Status;
constexpr auto kTuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr auto kSupervisionPeriod = std::chrono::seconds(5);

// Runs a batch of blocking store writes; a coroutine so that co_spawn can run it on the pool.
asio::awaitable<void> run_writes(std::vector<std::function<void()>>* batch) {
  for (const auto& write : *batch) write();
  co_return;
}

// Waits on `timer` until it fires or is cancelled; true when it fired.
asio::awaitable<bool> wait(asio::steady_timer& timer) {
  auto [ec] = co_await timer.async_wait(kTuple);
  co_return !ec;
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

}  // namespace

// Every metric the runtime exports, declared once so names, help and /metrics agree.
struct Runtime::Metrics {
  explicit Metrics(metrics::Registry& r)
      : component_status(r.gauge("opsready_component_status",
                                 "Status of each readiness component: 0 ok, 1 warn, 2 fail.",
                                 {"component"})),
        readiness_status(
            r.gauge("opsready_readiness_status", "Overall readiness status: 0 ok, 1 warn, 2 fail.")
                .with({})),
        gate_decision(
            r.gauge("opsready_gate_decision", "Gate decision: 0 pass, 1 warn, 2 block.").with({})),
        events_received(r.counter("opsready_events_received_total",
                                  "Telemetry events accepted for evaluation, by topic.",
                                  {"topic"})),
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
        events_refused(r.counter("opsready_events_refused_total",
                                 "Routed events a component refused (bad payload), by component.",
                                 {"component"})),
        supervisor_tasks(r.gauge("opsready_supervisor_tasks",
                                 "Supervised tasks of opsready's own supervisor tree, by state.",
                                 {"state"})),
        supervisor_restarts(r.counter("opsready_supervisor_restarts_total",
                                      "Restarts of supervised tasks, by task path and reason.",
                                      {"task", "reason"})),
        supervisor_abandoned(r.counter(
            "opsready_supervisor_abandoned_total",
            "Tasks abandoned after ignoring cancellation past their shutdown timeout.", {"task"})) {
    r.gauge("opsready_build_info", "Build information; the value is always 1.",
            {"version", "compiler"})
        .with({std::string(kVersion), std::string(kCompiler)})
        .set(1);
  }
  metrics::GaugeFamily& component_status;
  metrics::Gauge& readiness_status;
  metrics::Gauge& gate_decision;
  metrics::CounterFamily& events_received;
  metrics::CounterFamily& events_unrouted;
  metrics::Counter& evaluations;
  metrics::CounterFamily& store_errors;
  metrics::Gauge& queue_depth;
  metrics::GaugeFamily& components;
  metrics::Gauge& last_evaluation;
  metrics::CounterFamily& events_refused;
  metrics::GaugeFamily& supervisor_tasks;
  metrics::CounterFamily& supervisor_restarts;
  metrics::CounterFamily& supervisor_abandoned;
};

// Bridges supervision events to /metrics. Runs on the evaluation strand; never blocks.
class Runtime::SupervisionObserver final : public supervise::Observer {
 public:
  explicit SupervisionObserver(Metrics& m) : m_(m) {}
  void attach(const supervise::Supervisor* root) { root_ = root; }

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
  void on_abandoned(const supervise::TaskRef& task, supervise::Duration waited) override {
    m_.supervisor_abandoned.with({task.path()}).inc();
    spdlog::error("supervisor: {} ignored cancellation for {}; abandoned", task.path(),
                  core::format_duration(waited));
  }

 private:
  Metrics& m_;
  const supervise::Supervisor* root_ = nullptr;
};

Runtime::Runtime(Config config, const core::Clock& clock)
    : config_(std::move(config)),
      clock_(clock),
      metrics_(std::make_unique<Metrics>(registry_)),
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
}

Runtime::~Runtime() {
  // Normally the runner has stopped every loop. If not (start() failed, or an embedder drops
  // the runtime), make sure the listener is closed so the pool can be joined.
  if (http_) http_->stop();
  root_.reset();
  pool_->join();
}

core::Result<int> Runtime::start(StartOptions options) {
  auto evaluators = components::Registry::create(config_.detectors);
  if (!evaluators) {
    return core::fail("invalid_config", "detectors." + evaluators.error().describe());
  }
  evaluators_ = std::move(*evaluators);
  std::error_code ec;
  std::filesystem::create_directories(config_.data_dir, ec);
  if (ec) {
    return core::fail("data_dir", "cannot create data directory '" + config_.data_dir.string() +
                                      "': " + ec.message());
  }
  auto store = store::open_sqlite_store(config_.data_dir / "opsready.db");
  if (!store) return std::unexpected(store.error());
  store_ = std::move(*store);
  auto restored = store_->latest_components();
  if (restored) {
    for (auto& s : *restored) latest_.emplace(s.component, std::move(s));
    if (!latest_.empty()) {
      spdlog::info("restored the last snapshot of {} component(s) from the store", latest_.size());
    }
  } else {
    spdlog::warn("could not restore component snapshots: {}", restored.error().message);
  }

  http_ = std::make_unique<server::HttpServer>(
      *this, registry_,
      server::HttpOptions{.host = config_.listen.host,
                          .port = config_.listen.port,
                          .max_body_bytes = config_.max_body_bytes,
                          .version = std::string(kVersion),
                          .ingest_tokens = config_.ingest_tokens,
                          .alert_resolve_timeout = config_.alert_resolve_timeout});
  auto port = http_->bind();
  if (!port) return std::unexpected(port.error());
  http_bound_ = true;

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
  spawn({.name = "persistence", .metadata = {{"store", "sqlite"}}}, &Runtime::persistence_loop);
  spawn({.name = "evaluation", .metadata = {{"component", "readiness"}}},
        &Runtime::evaluation_loop);
  spawn({.name = "http",
         .shutdown_timeout = std::chrono::seconds(15),
         .metadata = {{"listen", config_.listen.host + ":" + std::to_string(*port)}}},
        &Runtime::http_loop);
  spawn({.name = "supervision", .metadata = {{"component", "task_supervision"}}},
        &Runtime::supervision_loop);
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
  for (;;) {
    while (!pending_writes_.empty()) co_await flush_writes(strand);
    wake.expires_at(asio::steady_timer::time_point::max());
    persistence_wake_ = [&wake] { wake.cancel(); };
    const bool fired = co_await wait(wake);
    persistence_wake_ = nullptr;
    static_cast<void>(fired);
    const auto cancelled = (co_await asio::this_coro::cancellation_state).cancelled();
    if (cancelled != asio::cancellation_type::none) break;
  }
  // Graceful stop: the evaluation loop (stopped before this one) has queued its last writes.
  co_await asio::this_coro::reset_cancellation_state();
  co_await flush_writes(strand);
  spdlog::info("stopped: state flushed to {}", (config_.data_dir / "opsready.db").string());
}

asio::awaitable<void> Runtime::flush_writes(asio::strand<asio::thread_pool::executor_type> strand) {
  // The batch lives in this frame until the pool has run it. (No capturing lambdas in the
  // co_await expression: GCC 12 mis-destroys such temporaries.)
  std::vector<std::function<void()>> batch;
  batch.swap(pending_writes_);
  co_await asio::co_spawn(strand, run_writes(&batch), use_awaitable);
}

void Runtime::wake_persistence() {
  if (persistence_wake_) persistence_wake_();
}

asio::awaitable<void> Runtime::evaluation_loop() {
  asio::steady_timer timer(*ctx_);
  for (;;) {
    timer.expires_after(config_.evaluation_interval);
    if (!co_await wait(timer)) break;  // cancelled: the runtime is stopping
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
  // The listener blocks a pool thread; this coroutine waits for it to end, or for
  // cancellation, which closes the listener and waits for in-flight requests.
  struct Serving {
    explicit Serving(asio::io_context& ctx) : timer(ctx) {}
    asio::steady_timer timer;
    bool finished = false;
    bool ok = true;
  };
  auto serving = std::make_shared<Serving>(*ctx_);
  asio::post(*pool_, [this, serving] {
    const bool ok = http_->serve();
    asio::post(*ctx_, [serving, ok] {
      serving->finished = true;
      serving->ok = ok;
      serving->timer.cancel();
    });
  });
  serving->timer.expires_at(asio::steady_timer::time_point::max());
  co_await wait(serving->timer);
  if (serving->finished) {
    throw std::runtime_error(serving->ok ? "the HTTP listener closed unexpectedly"
                                         : "the HTTP listener failed");
  }
  spdlog::info("stopping: closing the HTTP listener");
  co_await asio::this_coro::reset_cancellation_state();
  while (!serving->finished) {
    // stop() before the listener thread entered its accept loop would be missed: repeat it.
    http_->stop();
    serving->timer.expires_after(std::chrono::milliseconds(50));
    co_await wait(serving->timer);
  }
}

asio::awaitable<void> Runtime::supervision_loop() {
  asio::steady_timer timer(*ctx_);
  for (;;) {
    auto snap = supervise::task_supervision_snapshot(root_->describe());
    snap.observed_at = clock_.now();
    apply_snapshot(std::move(snap));
    timer.expires_after(kSupervisionPeriod);
    if (!co_await wait(timer)) break;
  }
}

asio::awaitable<void> Runtime::demo_loop() {
  asio::steady_timer timer(*ctx_);
  for (std::uint64_t tick = 0;; ++tick) {
    demo_tick(tick);
    timer.expires_after(kDemoPeriod);
    if (!co_await wait(timer)) break;
  }
}

server::SubmitResult Runtime::submit(std::vector<core::TelemetryEvent> events) {
  std::lock_guard lock(queue_mu_);
  if (!accepting_) return server::SubmitResult::kStopping;
  if (queue_.size() + events.size() > config_.queue_capacity) {
    return server::SubmitResult::kQueueFull;
  }
  if (queue_.empty()) {
    queue_ = std::move(events);
  } else {
    queue_.insert(queue_.end(), std::make_move_iterator(events.begin()),
                  std::make_move_iterator(events.end()));
  }
  metrics_->queue_depth.set(static_cast<double>(queue_.size()));
  if (!drain_scheduled_) {
    drain_scheduled_ = true;
    asio::post(*ctx_, [this] {
      drain();
      if (dirty_) evaluate();
    });
  }
  return server::SubmitResult::kAccepted;
}

std::shared_ptr<const readiness::ReadinessSnapshot> Runtime::current() const {
  return current_.load(std::memory_order_acquire);
}

core::Result<std::vector<store::StoredReadiness>> Runtime::history(core::TimePoint since,
                                                                   core::TimePoint until,
                                                                   std::size_t limit) const {
  if (!store_) return core::fail("not_started", "the store is not open");
  return store_->readiness_history(since, until, limit);
}

bool Runtime::ready() const { return ready_.load(); }

nlohmann::json Runtime::supervision() const { return supervise::to_json(root_->describe()); }

// Straight to the store on the caller's (HTTP worker's) thread: the store is thread-safe, and
// the evaluation strand must not wait on SQLite.
core::Result<void> Runtime::put_alerts(const std::vector<core::Alert>& alerts) {
  if (!store_) return core::fail("not_started", "the store is not open");
  return store_->put_alerts(alerts);
}

core::Result<std::vector<core::Alert>> Runtime::alerts(bool active_only,
                                                       core::TimePoint now) const {
  if (!store_) return core::fail("not_started", "the store is not open");
  return store_->alerts(active_only, now);
}

void Runtime::drain() {
  std::vector<core::TelemetryEvent> batch;
  {
    std::lock_guard lock(queue_mu_);
    batch.swap(queue_);
    drain_scheduled_ = false;
    metrics_->queue_depth.set(0);
  }
  for (const auto& e : batch) apply(e);
}

void Runtime::apply(const core::TelemetryEvent& e) {
  metrics_->events_received.with({e.topic}).inc();
  if (e.topic != core::kComponentSnapshotTopic) {
    const components::Routed r = evaluators_.route(e);
    if (r.consumers == 0) {
      metrics_->events_unrouted.with({e.topic}).inc();
    } else if (r.refused > 0) {
      metrics_->events_refused.with({r.component}).inc();
      spdlog::debug("{} refused an event on {} from '{}': {}", r.component, e.topic, e.source,
                    r.error.describe());
    } else {
      dirty_ = true;
    }
    return;
  }
  auto snap = core::component_snapshot_from_json(e.payload, e.time);
  if (!snap) {
    // The HTTP path validates before queueing; this guards library callers.
    spdlog::warn("dropping invalid component snapshot from '{}': {}", e.source,
                 snap.error().describe());
    return;
  }
  apply_snapshot(std::move(*snap));
}

void Runtime::apply_snapshot(core::ComponentSnapshot s) {
  persist_component(s);
  auto it = latest_.find(s.component);
  if (it == latest_.end()) {
    latest_.emplace(s.component, std::move(s));
  } else if (s.observed_at >= it->second.observed_at) {
    it->second = std::move(s);
  } else {
    return;  // an older snapshot arriving late: kept in history, not the latest
  }
  dirty_ = true;
}

void Runtime::evaluate() {
  std::vector<core::ComponentSnapshot> latest;
  latest.reserve(latest_.size());
  for (const auto& [name, s] : latest_) latest.push_back(s);
  const auto now = clock_.now();
  evaluators_.snapshots(now, latest);
  auto snap = std::make_shared<const readiness::ReadinessSnapshot>(
      readiness::aggregate(latest, config_.gate, now));
  dirty_ = false;

  metrics_->evaluations.inc();
  metrics_->last_evaluation.set(core::to_unix_seconds(now));
  metrics_->readiness_status.set(core::rank(snap->status));
  metrics_->gate_decision.set(static_cast<double>(snap->gate.decision));
  for (const auto& c : snap->components) {
    metrics_->component_status.with({c.component}).set(core::rank(c.status));
  }
  for (Status s : core::kAllStatuses) {
    const auto it = snap->counts.find(s);
    metrics_->components.with({std::string(core::to_string(s))})
        .set(it == snap->counts.end() ? 0 : it->second);
  }
  persist_readiness(*snap);
  prune_if_due(now);
  current_.store(std::move(snap), std::memory_order_release);
}

void Runtime::prune_if_due(core::TimePoint now) {
  if (config_.retention <= core::Duration::zero() || now - last_prune_ < std::chrono::hours(1)) {
    return;
  }
  last_prune_ = now;
  const auto before = now - config_.retention;
  pending_writes_.push_back([this, before] {
    auto pruned = store_->prune(before);
    if (!pruned) {
      metrics_->store_errors.with({"prune"}).inc();
      spdlog::error("store: pruning history failed: {}", pruned.error().message);
    } else if (*pruned > 0) {
      spdlog::info("store: pruned {} row(s) older than {}", *pruned, core::format_rfc3339(before));
    }
  });
  wake_persistence();
}

void Runtime::persist_component(const core::ComponentSnapshot& s) {
  pending_writes_.push_back([this, s] {
    if (auto ok = store_->put_component(s); !ok) {
      metrics_->store_errors.with({"put_component"}).inc();
      spdlog::error("store: cannot save snapshot of '{}': {}", s.component, ok.error().message);
    }
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
  pending_writes_.push_back(
      [this, row = store::StoredReadiness{
                 .generated_at = s.generated_at, .status = s.status, .json = doc.dump()}] {
        if (auto ok = store_->put_readiness(row); !ok) {
          metrics_->store_errors.with({"put_readiness"}).inc();
          spdlog::error("store: cannot save readiness snapshot: {}", ok.error().message);
        }
      });
  wake_persistence();
}

void Runtime::demo_tick(std::uint64_t tick) {
  const auto now = clock_.now();
  std::vector<core::TelemetryEvent> events;
  for (auto& s : demo_snapshots(tick, now)) {
    events.push_back({.topic = std::string(core::kComponentSnapshotTopic),
                      .source = "demo.trading_runtime",
                      .time = now,
                      .payload = core::to_json(s)});
  }
  (void)submit(std::move(events));
}

}  // namespace opsready::app
