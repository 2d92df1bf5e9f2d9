#pragma once
// Store: durable history of component snapshots and readiness snapshots, and the external
// alerts posted to POST /api/v2/alerts (keyed by fingerprint).
//
//   auto store = open_sqlite_store("./opsready-data/opsready.db");   // runs migrations
//   if (!store) die(store.error().message);
//   (*store)->put_component(snapshot);
//   (*store)->put_readiness({.generated_at = t, .status = Status::kWarn, .json = doc});
//   auto history = (*store)->readiness_history(since, until, 1000);
//   (*store)->put_alerts(alerts);                        // merged per fingerprint
//   (*store)->replace_alerts(merged);                    // as they are (AlertIndex's flush)
//   auto firing = (*store)->alerts(/*active_only=*/true, clock.now());
//
// The store is below readiness/ in the layer table, so readiness snapshots are stored as
// their rendered JSON document plus the indexed columns. Implementations are thread-safe:
// every call may come from any thread (SQLite in WAL mode behind one connection and mutex).

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "opsready/core/alert.h"
#include "opsready/core/clock.h"
#include "opsready/core/error.h"
#include "opsready/core/snapshot.h"
#include "opsready/core/status.h"

namespace opsready::store {

struct StoredReadiness {
  core::TimePoint generated_at{};
  core::Status status = core::Status::kOk;
  std::string json;  // the rendered ReadinessSnapshot document

  bool operator==(const StoredReadiness&) const = default;
};

class Store {
 public:
  virtual ~Store() = default;

  [[nodiscard]] virtual core::Result<void> put_component(const core::ComponentSnapshot& s) = 0;
  [[nodiscard]] virtual core::Result<void> put_readiness(const StoredReadiness& r) = 0;

  // Inclusive range [since, until], oldest first, at most `limit` rows (the newest `limit`
  // rows of the range when it holds more).
  [[nodiscard]] virtual core::Result<std::vector<StoredReadiness>> readiness_history(
      core::TimePoint since, core::TimePoint until, std::size_t limit) const = 0;
  [[nodiscard]] virtual core::Result<std::vector<core::ComponentSnapshot>> component_history(
      const std::string& component, core::TimePoint since, core::TimePoint until,
      std::size_t limit) const = 0;
  // The newest snapshot of every component, sorted by name (used to restore state at start).
  [[nodiscard]] virtual core::Result<std::vector<core::ComponentSnapshot>> latest_components()
      const = 0;
  // Newest readiness snapshot, if any.
  [[nodiscard]] virtual core::Result<std::optional<StoredReadiness>> latest_readiness() const = 0;

  // Deletes snapshot rows older than `before`, and alerts that ended before it; returns the
  // number of rows deleted.
  [[nodiscard]] virtual core::Result<std::size_t> prune(core::TimePoint before) = 0;

  // Stores a batch of alerts in one transaction, in order: an alert whose fingerprint is
  // already stored is merged into it with core::merge_alert (Alertmanager's rules), else it
  // is inserted. Each alert's fingerprint must be set.
  [[nodiscard]] virtual core::Result<void> put_alerts(const std::vector<core::Alert>& batch) = 0;
  // Stores each alert as it is, replacing the row with the same fingerprint (no merge), in one
  // transaction: all of it or none. For a caller that has merged already (AlertIndex's
  // write-behind flush). Each alert's fingerprint must be set.
  [[nodiscard]] virtual core::Result<void> replace_alerts(
      const std::vector<core::Alert>& batch) = 0;
  // Every stored alert, or only those firing at `now` (ends_at after now), by fingerprint.
  [[nodiscard]] virtual core::Result<std::vector<core::Alert>> alerts(
      bool active_only, core::TimePoint now) const = 0;
};

// SQLite in WAL mode. open_sqlite_store() creates the file and its directory when missing and
// applies pending schema migrations inside one transaction each; the schema version is kept in
// `PRAGMA user_version`. A database written by a newer opsready is refused.
[[nodiscard]] core::Result<std::unique_ptr<Store>> open_sqlite_store(
    const std::filesystem::path& file);

// Newest schema version this build knows.
[[nodiscard]] int sqlite_schema_version();

}  // namespace opsready::store
