#pragma once
// Runtime: one opsready daemon wired together — evaluation, persistence, metrics and the
// HTTP API — for `opsready serve` and `opsready demo`.
//
//   Runtime rt(config, core::SystemClock::instance());
//   if (auto ok = rt.start(); !ok) die(ok.error().message);   // opens the store, binds HTTP
//   rt.wait_for_stop_signal();  ...  rt.stop();               // drains and flushes
//
// Concurrency (docs/architecture.md): one evaluation thread owns all component state and the
// aggregator (no locks on that state); ingest threads hand events over through a bounded
// queue; store writes run on a persistence thread; readers see an immutable
// shared_ptr<const ReadinessSnapshot> swapped atomically. Public methods are thread-safe.

#include <atomic>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "opsready/app/config.h"
#include "opsready/metrics/registry.h"
#include "opsready/server/backend.h"
#include "opsready/server/http_server.h"
#include "opsready/store/store.h"

namespace asio {
class io_context;
}

namespace opsready::app {

class Runtime final : public server::Backend {
 public:
  Runtime(Config config, const core::Clock& clock);
  ~Runtime() override;
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Opens the store (restoring the last component snapshots), binds the HTTP listener and
  // starts the evaluation, persistence and HTTP threads. Returns the bound port.
  [[nodiscard]] core::Result<int> start();
  // Graceful stop: stops HTTP, evaluates what is queued, flushes the store. Idempotent.
  void stop();

  // Starts the built-in simulated trading runtime that publishes component snapshots.
  void start_demo_workload();

  // server::Backend
  [[nodiscard]] server::SubmitResult submit(std::vector<core::TelemetryEvent> events) override;
  [[nodiscard]] std::shared_ptr<const readiness::ReadinessSnapshot> current() const override;
  [[nodiscard]] core::Result<std::vector<store::StoredReadiness>> history(
      core::TimePoint since, core::TimePoint until, std::size_t limit) const override;
  [[nodiscard]] bool ready() const override;
  [[nodiscard]] const core::Clock& clock() const override { return clock_; }

  [[nodiscard]] metrics::Registry& registry() { return registry_; }

 private:
  struct Metrics;

  void drain();                               // evaluation thread
  void apply(const core::TelemetryEvent& e);  // evaluation thread
  void evaluate();                            // evaluation thread
  void persist_component(const core::ComponentSnapshot& s);
  void persist_readiness(const readiness::ReadinessSnapshot& s);
  void prune_if_due(core::TimePoint now);  // evaluation thread
  void demo_tick(std::uint64_t tick);      // evaluation thread
  void demo_step();                        // evaluation thread: one tick, then re-arm
  void schedule_tick();                    // evaluation thread: periodic evaluation

  Config config_;
  const core::Clock& clock_;
  metrics::Registry registry_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<server::HttpServer> http_;

  std::unique_ptr<asio::io_context> eval_ctx_;
  std::unique_ptr<asio::io_context> persist_ctx_;
  struct Loops;
  std::unique_ptr<Loops> loops_;
  std::vector<std::thread> threads_;

  // Ingest hand-over queue (any thread -> evaluation thread).
  std::mutex queue_mu_;
  std::vector<core::TelemetryEvent> queue_;
  bool drain_scheduled_ = false;
  std::atomic<bool> accepting_{false};

  // Evaluation-thread state.
  std::map<std::string, core::ComponentSnapshot> latest_;
  bool dirty_ = true;
  std::string last_persisted_;  // readiness document without generated_at
  core::TimePoint last_persisted_at_{};
  core::TimePoint last_prune_{};

  std::atomic<std::shared_ptr<const readiness::ReadinessSnapshot>> current_;
  std::atomic<bool> ready_{false};
  std::once_flag stop_once_;
};

}  // namespace opsready::app
