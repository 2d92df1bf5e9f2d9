#pragma once
// Leadership among the replicas sharing a PostgreSQL store (docs/replicas.md), as
// `opsready serve` runs it: one replica leads (evaluates, decides, sends), the others stand by.
//
//   auto lead = app::Leading::wait(config);   // blocks while another replica leads
//   if (lead.outcome != kLeading) return ...; // stopped by a signal, or the store unreachable
//   config.listen.port = lead.port;           // the port the standby listened on
//   ... start the runtime; lead.watch(on_lost) checks the lock every replica.claim_interval
//
// While standing by, the replica answers /-/healthy (200), /-/ready (503, naming the leader),
// /metrics (opsready_replica_leader 0) and GET /api/v1/readiness (the leader's latest snapshot,
// read from the store), and the API's write and alert routes with 503 and Retry-After, so a
// load balancer or Prometheus sends to the leader. It tries to take the lock every
// replica.claim_interval; after PostgreSQL was unreachable it waits replica.claim_lease of
// reachability first, so that a leader that lived through the outage takes its lock back
// before a standby can.
//
// Thread-safety: wait() on the main thread; watch() starts a thread of its own.

#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <thread>

#include "opsready/app/config.h"
#include "opsready/metrics/registry.h"
#include "opsready/store/leadership.h"

namespace opsready::app {

// opsready_replica_leader: one declaration, bound by the standby's registry and the runtime's.
metrics::GaugeFamily& replica_leader_gauge(metrics::Registry& registry);

class Leading {
 public:
  enum class Outcome { kLeading, kStopped, kUnavailable, kFailed };

  // Blocks until this replica leads, a SIGINT/SIGTERM arrives (kStopped), PostgreSQL cannot
  // be reached at the first attempt (kUnavailable: serve exits 69 as it does without
  // replicas), or the standby listener cannot bind (kFailed).
  static Leading wait(const Config& config);

  Leading(Leading&&) = default;
  Leading& operator=(Leading&&) = default;
  ~Leading();

  [[nodiscard]] Outcome outcome() const { return outcome_; }
  // The port the standby listened on (0 when it never needed to): the runtime binds it again.
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] const std::string& error() const { return error_; }

  // Checks the lock every replica.claim_interval on a thread of its own, until stop. While
  // PostgreSQL cannot be reached the replica goes on leading (no other can take the lock) and
  // takes it back as soon as it can; once another replica holds it, `lost(holder)` is called
  // once, from that thread.
  void watch(std::function<void(const std::string& holder)> lost);
  void stop_watching();

 private:
  Leading() = default;
  Outcome outcome_ = Outcome::kFailed;
  int port_ = 0;
  std::string error_;
  core::Duration interval_{};
  std::unique_ptr<store::Leadership> leadership_;
  std::jthread watcher_;
};

}  // namespace opsready::app
