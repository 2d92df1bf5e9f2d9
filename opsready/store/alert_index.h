#pragma once
// AlertIndex: the external alerts (POST /api/v2/alerts) in memory, keyed by fingerprint, and
// written behind to a Store.
//
//   AlertIndex index;
//   index.restore(*store);                         // at start: what the store holds
//   index.put(parsed.alerts);                      // HTTP workers: merge, mark dirty
//   auto firing = index.list(/*active_only=*/true, clock.now());
//   index.flush(*store);                           // every alerts.flush_interval, and at stop
//
// Why: merging a re-posted alert into its SQLite row (SELECT, JSON decode, merge, INSERT OR
// REPLACE, one transaction per request behind the store's one mutex) bounded POST
// /api/v2/alerts near Alertmanager's rate. Alertmanager keeps alerts in memory only; opsready
// keeps them in memory at once and on disk within one flush interval. put() merges with
// core::merge_alert_into, the rule Store::put_alerts applies, so the index holds what the store
// would have held; flush() writes each fingerprint changed since the last flush once (re-posts
// collapse: Prometheus re-sends every firing alert each resend interval) with
// Store::replace_alerts, in one transaction. A failed flush keeps the alerts dirty for the
// next one: nothing accepted is dropped by a failing write, only delayed.
//
// Thread-safe. The fingerprints are spread over `shards` shards, each with its own mutex, so
// HTTP workers posting different alerts do not wait on one another; flush() and prune() lock
// one shard at a time, briefly (they copy, then write without a lock). flush() calls are
// serialized among themselves.

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "opsready/core/alert.h"
#include "opsready/core/clock.h"
#include "opsready/core/error.h"
#include "opsready/store/store.h"

namespace opsready::store {

class AlertIndex {
 public:
  static constexpr std::size_t kDefaultShards = 16;

  explicit AlertIndex(std::size_t shards = kDefaultShards);
  ~AlertIndex();
  AlertIndex(const AlertIndex&) = delete;
  AlertIndex& operator=(const AlertIndex&) = delete;

  // Loads every alert the store holds, as clean (already on disk). Meant for start-up, before
  // any put(); an alert already in the index is replaced. Returns how many were loaded.
  [[nodiscard]] core::Result<std::size_t> restore(const Store& store);

  // Merges each alert (fingerprint set) into the index in order, as Store::put_alerts would,
  // and marks its fingerprint dirty. A re-posted alert is copied into the stored one's strings
  // and map nodes (no allocation when its label sets keep their shape); a new one is copied.
  void put(const std::vector<core::Alert>& batch);

  // Every alert, or only those firing at `now` (ends_at after now), sorted by fingerprint.
  [[nodiscard]] std::vector<core::Alert> list(bool active_only, core::TimePoint now) const;

  // Writes every dirty alert, as it is now, to `store` in one transaction and marks it clean.
  // Returns how many were written; on failure they stay dirty and the error is returned.
  [[nodiscard]] core::Result<std::size_t> flush(Store& store);

  // Drops clean alerts that ended before `before` (Store::prune's horizon for alerts); a dirty
  // one stays until it has been written. Returns how many were dropped.
  std::size_t prune(core::TimePoint before);

  [[nodiscard]] std::size_t size() const;
  [[nodiscard]] std::size_t dirty() const;  // alerts waiting for the next flush

 private:
  struct Shard;
  Shard& shard_for(const std::string& fingerprint) const;
  void mark_dirty(std::vector<core::Alert> unwritten);

  std::unique_ptr<Shard[]> shards_;
  std::size_t shard_count_;
  std::mutex flush_mu_;
};

}  // namespace opsready::store
