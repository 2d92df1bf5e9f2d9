#pragma once
// ComplianceService: the compliance cadence (docs/operator-guide.md "Compliance cadence").
// compliance.signoffs says which sign-offs the desk owes and how often; each completion is
// recorded through POST /api/v1/signoffs (or `opsready signoff record`) into the store's
// append-only signoffs table, the audit log. The service keeps every cadence's last
// completion, grades them as the `compliance_cadence` component (components/
// compliance_cadence.h: due soon = warn, overdue = the cadence's `overdue`, fail by default)
// and publishes that snapshot at start, on every record and whenever a standing changes with
// time, so the owner's reminder fires before a sign-off falls due.
//
// Threads: record() and list() run on the server's pool and write or read the store there;
// the last completions are guarded by a mutex; the snapshot is published on the evaluation
// strand (the loop, and the task record() posts).

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "opsready/app/config.h"
#include "opsready/components/compliance_cadence.h"
#include "opsready/core/clock.h"
#include "opsready/core/error.h"
#include "opsready/core/snapshot.h"
#include "opsready/metrics/registry.h"
#include "opsready/store/store.h"

namespace opsready::app {

class ComplianceService {
 public:
  struct Hooks {
    // The compliance_cadence snapshot, into the engine (called on the strand).
    std::function<void(core::ComponentSnapshot)> publish;
  };
  struct Reply {
    int status = 200;
    nlohmann::json body;
  };

  ComplianceService(const ComplianceConfig& config, store::Store& store, const core::Clock& clock,
                    metrics::Registry& registry, asio::io_context& ctx, Hooks hooks);
  ~ComplianceService();

  // At start: every cadence's last completion from the store.
  [[nodiscard]] core::Result<void> restore();
  // Publishes at start, then at each standing change (at least hourly). Only spawned when
  // compliance.signoffs is not empty.
  asio::awaitable<void> loop();

  // POST /api/v1/signoffs: {"signoff", "by", "at"?, "evidence"?, "note"?}. `source` says who
  // told opsready (kept in the audit log). 201 with the stored record and the new standing.
  [[nodiscard]] Reply record(const nlohmann::json& request, const std::string& source);
  // GET /api/v1/signoffs: every cadence with its standing, and the recorded sign-offs newest
  // completed first (of `signoff` only, when not empty).
  [[nodiscard]] Reply list(const std::string& signoff, std::size_t limit) const;

  [[nodiscard]] core::ComponentSnapshot snapshot(core::TimePoint now) const;

 private:
  struct Metrics;
  using Last = std::map<std::string, components::SignoffCompletion, std::less<>>;

  // Under mu_: the cadence's metrics from last_.
  void update_metrics(const components::SignoffCadence& c);
  [[nodiscard]] const components::SignoffCadence* find(std::string_view name) const;

  const ComplianceConfig& config_;
  store::Store& store_;
  const core::Clock& clock_;
  std::unique_ptr<Metrics> metrics_;
  asio::io_context& ctx_;
  Hooks hooks_;
  mutable std::mutex mu_;
  Last last_;                           // guarded by mu_
  asio::steady_timer* wake_ = nullptr;  // the loop's timer (strand)
};

}  // namespace opsready::app
