#pragma once
// StoreHealth: the `store` readiness component — whether the daemon's writes reach the store.
// Every write the daemon makes (component and readiness history, alerts, alerting state and the
// outbox, outcomes) is recorded with its outcome and duration; the snapshot grades them:
//   - an operation whose latest write failed -> fail, issue `store.write_failed:<operation>`
//     (critical, the error's code and message);
//   - else a write slower than slow_write (1 s) within the last minute -> warn, issue
//     `store.slow_write` (warning, the slowest one);
//   - else ok.
// The metadata: path, failing_operations, last_error, last_error_at, slowest_write_seconds,
// writes and failed_writes since the start.
//
//   store::StoreHealth health({.path = "data/opsready.db"});
//   health.record("put_component", ok, took, clock.now());  // any thread
//   if (health.changed()) apply(health.snapshot(clock.now()));
//
// Thread-safe: record() runs on the store's threads, snapshot() on the evaluation strand.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "opsready/core/clock.h"
#include "opsready/core/error.h"
#include "opsready/core/snapshot.h"

namespace opsready::store {

inline constexpr std::string_view kStoreComponent = "store";
inline constexpr std::string_view kStoreRunbook = "docs/runbooks/store.md";

struct StoreHealthOptions {
  std::string path;  // the store's file, for the metadata
  core::Duration slow_write = std::chrono::seconds(1);
  core::Duration slow_window = std::chrono::minutes(1);  // how long a slow write keeps warning
};

class StoreHealth {
 public:
  explicit StoreHealth(StoreHealthOptions options);

  // One write of `operation` (e.g. "put_component") that took `took` and ended at `at`.
  void record(std::string_view operation, const core::Result<void>& outcome, core::Duration took,
              core::TimePoint at);
  // The component's snapshot at `now`.
  [[nodiscard]] core::ComponentSnapshot snapshot(core::TimePoint now) const;
  // Whether the graded status or the failing operations differ from the last snapshot()'s
  // (a slow write that ages out of its window counts as a change).
  [[nodiscard]] bool changed(core::TimePoint now) const;
  // Whether any write ever failed or was slow: until then the component is not published.
  [[nodiscard]] bool ever_troubled() const;

 private:
  struct Op {
    std::string code, message;
    core::TimePoint at{};
  };
  [[nodiscard]] std::string key_locked(core::TimePoint now) const;

  StoreHealthOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, Op, std::less<>> ops_;  // guarded by mu_: failed since the last success
  std::optional<core::TimePoint> slow_at_;      // guarded by mu_: the latest slow write
  core::Duration slowest_{};                    // guarded by mu_: within slow_window
  std::string slow_operation_;                  // guarded by mu_
  std::uint64_t writes_ = 0, failed_ = 0;       // guarded by mu_
  // Set once, read at every evaluation without the lock.
  std::atomic<bool> troubled_{false};
  mutable std::string last_key_;  // guarded by mu_: snapshot()'s grading
};

}  // namespace opsready::store
