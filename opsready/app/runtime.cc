#include "opsready/app/runtime.h"

#include <cmath>

#include <spdlog/spdlog.h>
#include <asio.hpp>

#include "opsready/app/demo.h"
#include "opsready/app/version.h"
#include "opsready/core/time.h"

namespace opsready::app {

using core::Status;

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
                            .with({})) {
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
};

struct Runtime::Loops {
  Loops(asio::io_context& eval, asio::io_context& persist)
      : eval_guard(asio::make_work_guard(eval)),
        persist_guard(asio::make_work_guard(persist)),
        eval_timer(eval),
        demo_timer(eval) {}
  asio::executor_work_guard<asio::io_context::executor_type> eval_guard;
  asio::executor_work_guard<asio::io_context::executor_type> persist_guard;
  asio::steady_timer eval_timer;
  asio::steady_timer demo_timer;
  std::uint64_t demo_tick = 0;
};

Runtime::Runtime(Config config, const core::Clock& clock)
    : config_(std::move(config)),
      clock_(clock),
      metrics_(std::make_unique<Metrics>(registry_)),
      eval_ctx_(std::make_unique<asio::io_context>(1)),
      persist_ctx_(std::make_unique<asio::io_context>(1)) {}

Runtime::~Runtime() { stop(); }

core::Result<int> Runtime::start() {
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
                          .version = std::string(kVersion)});
  auto port = http_->bind();
  if (!port) return std::unexpected(port.error());

  loops_ = std::make_unique<Loops>(*eval_ctx_, *persist_ctx_);
  evaluate();  // a first snapshot before anyone can ask
  accepting_ = true;

  // The evaluation tick: staleness moves with time even when no event arrives.
  asio::post(*eval_ctx_, [this] { schedule_tick(); });

  threads_.emplace_back([this] { eval_ctx_->run(); });
  threads_.emplace_back([this] { persist_ctx_->run(); });
  threads_.emplace_back([this] {
    if (!http_->serve()) spdlog::error("http: serving stopped with an error");
  });
  ready_ = true;
  spdlog::info("opsready {} listening on http://{}:{} (data dir {})", kVersion, config_.listen.host,
               *port, config_.data_dir.string());
  return *port;
}

void Runtime::stop() {
  std::call_once(stop_once_, [this] {
    if (!loops_) return;  // never started
    ready_ = false;
    {
      // Under the queue lock, so no submit() can slip in after the final drain below.
      std::lock_guard lock(queue_mu_);
      accepting_ = false;
    }
    spdlog::info("stopping: closing the HTTP listener");
    http_->stop();
    // threads_: evaluation, persistence, http.
    if (threads_.size() > 2) threads_[2].join();
    // Last evaluation with whatever is queued, then let the evaluation thread finish.
    asio::post(*eval_ctx_, [this] {
      loops_->eval_timer.cancel();
      loops_->demo_timer.cancel();
      drain();
      evaluate();
      loops_->eval_guard.reset();
    });
    if (!threads_.empty()) threads_[0].join();
    // Only now may the persistence thread run out of work: the evaluation thread has posted
    // its last store writes, which run before the thread exits.
    loops_->persist_guard.reset();
    if (threads_.size() > 1) threads_[1].join();
    threads_.clear();
    spdlog::info("stopped: state flushed to {}", (config_.data_dir / "opsready.db").string());
  });
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
    asio::post(*eval_ctx_, [this] {
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
    metrics_->events_unrouted.with({e.topic}).inc();
    return;
  }
  auto snap = core::component_snapshot_from_json(e.payload, e.time);
  if (!snap) {
    // The HTTP path validates before queueing; this guards library callers.
    spdlog::warn("dropping invalid component snapshot from '{}': {}", e.source,
                 snap.error().describe());
    return;
  }
  persist_component(*snap);
  auto it = latest_.find(snap->component);
  if (it == latest_.end()) {
    latest_.emplace(snap->component, std::move(*snap));
  } else if (snap->observed_at >= it->second.observed_at) {
    it->second = std::move(*snap);
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
  asio::post(*persist_ctx_, [this, before] {
    auto pruned = store_->prune(before);
    if (!pruned) {
      metrics_->store_errors.with({"prune"}).inc();
      spdlog::error("store: pruning history failed: {}", pruned.error().message);
    } else if (*pruned > 0) {
      spdlog::info("store: pruned {} row(s) older than {}", *pruned, core::format_rfc3339(before));
    }
  });
}

void Runtime::persist_component(const core::ComponentSnapshot& s) {
  asio::post(*persist_ctx_, [this, s] {
    if (auto ok = store_->put_component(s); !ok) {
      metrics_->store_errors.with({"put_component"}).inc();
      spdlog::error("store: cannot save snapshot of '{}': {}", s.component, ok.error().message);
    }
  });
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
  store::StoredReadiness row{
      .generated_at = s.generated_at, .status = s.status, .json = doc.dump()};
  asio::post(*persist_ctx_, [this, row = std::move(row)] {
    if (auto ok = store_->put_readiness(row); !ok) {
      metrics_->store_errors.with({"put_readiness"}).inc();
      spdlog::error("store: cannot save readiness snapshot: {}", ok.error().message);
    }
  });
}

void Runtime::start_demo_workload() {
  asio::post(*eval_ctx_, [this] { demo_step(); });
}

void Runtime::demo_step() {
  demo_tick(loops_->demo_tick++);
  loops_->demo_timer.expires_after(kDemoPeriod);
  loops_->demo_timer.async_wait([this](std::error_code ec) {
    if (!ec) demo_step();
  });
}

void Runtime::schedule_tick() {
  loops_->eval_timer.expires_after(config_.evaluation_interval);
  loops_->eval_timer.async_wait([this](std::error_code ec) {
    if (ec) return;
    evaluate();
    schedule_tick();
  });
}

}  // namespace opsready::app
