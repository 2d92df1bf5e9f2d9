#pragma once
// Store: durable history of component snapshots and readiness snapshots, and the external
// alerts posted to POST /api/v2/alerts (keyed by fingerprint), and the alerting engine's state
// (silences, acks, notification logs) and decision log.
//
//   auto store = open_sqlite_store("./opsready-data/opsready.db");   // runs migrations
//   if (!store) die(store.error().message);
//   (*store)->put_component(snapshot);
//   (*store)->put_readiness({.generated_at = t, .status = Status::kWarn, .json = doc});
//   auto history = (*store)->readiness_history(since, until, 1000);
//   (*store)->put_alerts(alerts);                        // merged per fingerprint
//   (*store)->replace_alerts(merged);                    // as they are (AlertIndex's flush)
//   auto firing = (*store)->alerts(/*active_only=*/true, clock.now());
//   auto days = (*store)->component_days(now - std::chrono::days(90), now);  // status page
//   auto strip = (*store)->component_buckets(now - 24h, now, 15min);        // history strips
//
// The store is below readiness/ in the layer table, so readiness snapshots are stored as
// their rendered JSON document plus the indexed columns. Implementations are thread-safe:
// every call may come from any thread (SQLite in WAL mode behind one connection and mutex).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
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

// One piece of alerting state kept across restarts (a silence, an ack, a group's notification
// log, a derived alert), as JSON under (kind, key). The alerting layer above owns the format.
struct StateRow {
  std::string kind;  // "silence", "ack", "group_log", "derived_alert", ...
  std::string key;
  std::string json;  // empty in a write: delete the row

  bool operator==(const StateRow&) const = default;
};

// One entry of the append-only decision log (alert records, the silence audit trail).
struct LogRow {
  std::int64_t id = 0;  // assigned by the store, increasing
  std::string kind;     // "record", "silence_audit", ...
  core::TimePoint at{};
  std::string json;

  bool operator==(const LogRow&) const = default;
};

// One notification to one integration of a receiver in the durable outbox: written before it
// is sent (in the same transaction as the group's notification log), marked after the receiver
// accepted it or refused it for good. `id` is the idempotency key that travels with every
// request and is unique in the table: a second insert of the same id is a no-op.
enum class OutboxState { kPending, kSent, kFailed };
[[nodiscard]] std::string_view to_string(OutboxState s);
[[nodiscard]] std::optional<OutboxState> parse_outbox_state(std::string_view s);

struct OutboxRow {
  std::string id;  // the idempotency key
  std::string receiver;
  std::string integration;  // "<type>/<index in the receiver's list of that type>": webhook/0
  std::string group_key;    // GroupKey::to_string()
  std::string group_id;
  std::string alerts_hash;  // the alert set's hash, 16 hex digits
  std::string reason;       // first, new_alerts, new_resolved, all_resolved, repeat, escalation
  core::TimePoint decided_at{};
  std::string payload;  // what the delivery layer needs to send it again (its JSON)
  OutboxState state = OutboxState::kPending;
  int attempts = 0;  // requests made so far (counted before each is sent)
  core::TimePoint next_attempt_at{};
  std::optional<core::TimePoint> done_at;  // when it was sent or failed for good
  std::string last_error;                  // of the last attempt; empty once sent
  // Who sends it (a replica's name, Store::claim_outbox) and until when. The replica that
  // decides a row writes it claimed for itself, so that no other takes it while it sends.
  std::string claimed_by;
  core::TimePoint claimed_until{};

  bool operator==(const OutboxRow&) const = default;
};

// A change of an outbox row's delivery state (by id); the rest of the row never changes.
struct OutboxUpdate {
  std::string id;
  OutboxState state = OutboxState::kPending;
  int attempts = 0;
  core::TimePoint next_attempt_at{};
  std::optional<core::TimePoint> done_at;
  std::string last_error;

  bool operator==(const OutboxUpdate&) const = default;
};

// Which outbox rows to read, newest decided first.
struct OutboxQuery {
  std::string receiver;   // empty: any
  std::string group_key;  // empty: any
  std::optional<OutboxState> state;
  core::TimePoint since = core::TimePoint::min();
  core::TimePoint until = core::TimePoint::max();
  std::size_t limit = 1000;
};

// One component's UTC day in the daily roll-up (`component_days`, kept for the status page's
// history far longer than the snapshots themselves; see Store::prune_component_days).
struct ComponentDay {
  std::string component;
  core::TimePoint day{};  // 00:00:00 UTC of the day
  // The worst status of the day: of its snapshots, and of the status the previous day ended
  // with when that day has a row too (a component failing at 23:00 that first reports ok at
  // 08:00 the next day was failing at 00:00).
  core::Status worst = core::Status::kOk;
  core::Status last = core::Status::kOk;  // of the day's last snapshot
  core::TimePoint first_at{};             // the day's first and last snapshot
  core::TimePoint last_at{};
  std::int64_t snapshots = 0;  // snapshots stored that day

  bool operator==(const ComponentDay&) const = default;
};

// The worst status of one component in one time bucket (the dashboard's history strips).
struct ComponentBucket {
  std::string component;
  core::TimePoint start{};  // since + k * bucket
  core::Status worst = core::Status::kOk;

  bool operator==(const ComponentBucket&) const = default;
};

// One drill run (drills/run.h owns the evidence format): written as the recovery record
// before its fault is injected (verdict empty, finished_at unset) and again when it ends.
struct DrillRunRow {
  std::string id;
  std::string scenario;
  std::string verdict;  // Pass, Fail, Aborted, Inconclusive; empty while running
  core::TimePoint started_at{};
  std::optional<core::TimePoint> finished_at;
  std::string json;      // the evidence
  std::string markdown;  // the evidence as Markdown

  bool operator==(const DrillRunRow&) const = default;
};

// One change of the gate (its decision, or its reason codes): readiness/ owns the JSON.
struct GateChange {
  core::TimePoint at{};
  std::string decision;  // pass, warn, block
  std::string json;      // {decision, blocking_reasons, warnings}

  bool operator==(const GateChange&) const = default;
};

// One recorded completion of a compliance sign-off (components/compliance_cadence.h): the
// table is append-only, so it is also the sign-offs' audit log (a correction is a new row).
struct SignoffRow {
  std::int64_t id = 0;  // assigned by put_signoff
  std::string signoff;  // the cadence's name
  std::string by;
  core::TimePoint at{};           // when the review/rotation/sign-off was done
  core::TimePoint recorded_at{};  // when opsready was told
  std::string evidence;           // a link or a path
  std::string note;
  std::string source;  // who told opsready: "http 127.0.0.1:53412", ...

  bool operator==(const SignoffRow&) const = default;
};

struct SignoffQuery {
  std::string signoff;  // empty: any
  std::size_t limit = 100;
};

struct DrillRunQuery {
  std::string scenario;          // empty: any
  bool unfinished_only = false;  // the recovery records a crash left
  std::size_t limit = 100;
};

// The daily roll-up is kept this long by default (status_page.status_days), past the history
// retention: the status page shows 90 days.
inline constexpr int kDefaultStatusDays = 400;

// A fault a drill puts into the store (docs/drills.md, fault kind `store_fault`), in place until
// it is set back to the default: `read_only` makes every write fail as a read-only database does
// (SQLite's own refusal, SQLITE_READONLY: code `store_read_only`), reads still answer; `delay`
// slows every operation by that much, as a stalled disk would (operations queue behind it).
struct StoreFault {
  bool read_only = false;
  core::Duration delay{};

  [[nodiscard]] bool active() const { return read_only || delay > core::Duration::zero(); }
  bool operator==(const StoreFault&) const = default;
};

class Store {
 public:
  virtual ~Store() = default;

  // Puts `fault` in place (StoreFault{} removes it). Only drills call this.
  [[nodiscard]] virtual core::Result<void> set_fault(const StoreFault& fault) = 0;

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

  // The daily roll-up of the UTC days that [since, until] touches, by component then day. Days
  // without a snapshot have no row ("no data"). put_component keeps it (one upsert per write);
  // a store migrated from schema 5 has it backfilled from the snapshots it held.
  [[nodiscard]] virtual core::Result<std::vector<ComponentDay>> component_days(
      core::TimePoint since, core::TimePoint until) const = 0;
  // The worst status of every component in each bucket [since + k*bucket, since + (k+1)*bucket)
  // of [since, until), by component then start. A bucket's worst includes the status carried
  // into it: a component that was `fail` at 10:00 and sent nothing since is still fail in the
  // 11:00 bucket. So a component has a bucket from the first one where its status is known
  // (its last snapshot before `since`, or its first in the range) to the last; buckets before
  // are left out. Components are those with a daily roll-up row within 14 days before `since`
  // or in the range. Refused (invalid_argument) unless bucket > 0, until > since and the range
  // holds at most 100 000 buckets.
  [[nodiscard]] virtual core::Result<std::vector<ComponentBucket>> component_buckets(
      core::TimePoint since, core::TimePoint until, core::Duration bucket) const = 0;

  // Deletes snapshot rows older than `before`, and alerts that ended before it; returns the
  // number of rows deleted. The daily roll-up is left alone (prune_component_days).
  [[nodiscard]] virtual core::Result<std::size_t> prune(core::TimePoint before) = 0;
  // Deletes the daily roll-up rows of the UTC days that ended before `before`'s day (the
  // daemon passes now - status_page.status_days), and the gate changes before `before`;
  // returns how many rows.
  [[nodiscard]] virtual core::Result<std::size_t> prune_component_days(core::TimePoint before) = 0;

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

  // Alerting state: writes (row.json set) and deletes (row.json empty) in one transaction, in
  // order, together with `log` rows appended in order (ids assigned) and `outbox` rows
  // inserted (an id already there is left as it is). All or nothing.
  [[nodiscard]] virtual core::Result<void> write_alerting(const std::vector<StateRow>& state,
                                                          const std::vector<LogRow>& log,
                                                          const std::vector<OutboxRow>& outbox) = 0;
  // Delivery state changes, in one transaction, in order. An unknown id is skipped.
  [[nodiscard]] virtual core::Result<void> update_outbox(
      const std::vector<OutboxUpdate>& updates) = 0;
  // Every pending row (not yet accepted, not failed for good), oldest decided first: what a
  // start sends again, with the same ids.
  [[nodiscard]] virtual core::Result<std::vector<OutboxRow>> outbox_pending() const = 0;
  // Claims pending rows for `owner` (a replica's name) until `now + lease`: up to `limit` of
  // those no live claim holds (never claimed, or their claim ended by `now`; a replica's own
  // live claims are not returned: it is sending those), oldest decided first. Two replicas
  // claiming at once get disjoint rows (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: one
  // writer), so exactly one sends each; a replica that dies leaves its claims to expire, and
  // another takes them. At start a replica first ends its own claims (extend_outbox_claims to
  // now) and then claims: what its last run left comes back at once.
  [[nodiscard]] virtual core::Result<std::vector<OutboxRow>> claim_outbox(const std::string& owner,
                                                                          core::TimePoint now,
                                                                          core::Duration lease,
                                                                          std::size_t limit) = 0;
  // Sets the claims `owner` holds on pending rows that end before `ending_before` to end at
  // `until`: a renewal (`until` later than now, `ending_before` about half a lease ahead, so a
  // row is rewritten once per half lease rather than at every renewal) or a release (`until` =
  // now, every row: at a graceful stop, so that another replica takes them at once rather than
  // after the lease). Returns how many rows.
  [[nodiscard]] virtual core::Result<std::size_t> extend_outbox_claims(
      const std::string& owner, core::TimePoint until,
      core::TimePoint ending_before = core::TimePoint::max()) = 0;
  // Rows matching `q`, newest decided first (the notification log: "was this group already
  // notified with this content?" is a query for receiver + group_key + state sent).
  [[nodiscard]] virtual core::Result<std::vector<OutboxRow>> outbox(const OutboxQuery& q) const = 0;
  // Deletes outbox rows sent or failed before `before`; returns how many. Pending rows are
  // never deleted.
  [[nodiscard]] virtual core::Result<std::size_t> prune_outbox(core::TimePoint before) = 0;
  // Every state row of `kind`, by key.
  [[nodiscard]] virtual core::Result<std::vector<StateRow>> alerting_state(
      const std::string& kind) const = 0;
  // The gate's changes: appended; read in [since, until], oldest first, at most `limit` (the
  // newest of the range when it holds more).
  [[nodiscard]] virtual core::Result<void> put_gate(const GateChange& change) = 0;
  [[nodiscard]] virtual core::Result<std::vector<GateChange>> gate_history(
      core::TimePoint since, core::TimePoint until, std::size_t limit) const = 0;
  // Drill runs: inserted or replaced by id; listed newest started first.
  [[nodiscard]] virtual core::Result<void> put_drill_run(const DrillRunRow& row) = 0;
  [[nodiscard]] virtual core::Result<std::vector<DrillRunRow>> drill_runs(
      const DrillRunQuery& q) const = 0;
  [[nodiscard]] virtual core::Result<std::optional<DrillRunRow>> drill_run(
      const std::string& id) const = 0;
  // Sign-offs: appended (the returned id is the row's); listed newest completed first.
  [[nodiscard]] virtual core::Result<std::int64_t> put_signoff(const SignoffRow& row) = 0;
  [[nodiscard]] virtual core::Result<std::vector<SignoffRow>> signoffs(
      const SignoffQuery& q) const = 0;
  // Log rows of `kind` with `at` in [since, until], oldest first, at most `limit` (the newest
  // `limit` of the range when it holds more). prune() deletes log rows older than its horizon.
  [[nodiscard]] virtual core::Result<std::vector<LogRow>> alerting_log(const std::string& kind,
                                                                       core::TimePoint since,
                                                                       core::TimePoint until,
                                                                       std::size_t limit) const = 0;
};

// SQLite in WAL mode. open_sqlite_store() creates the file and its directory when missing and
// applies pending schema migrations inside one transaction each; the schema version is kept in
// `PRAGMA user_version`. A database written by a newer opsready is refused.
[[nodiscard]] core::Result<std::unique_ptr<Store>> open_sqlite_store(
    const std::filesystem::path& file);

// Newest schema version this build knows.
[[nodiscard]] int sqlite_schema_version();

// PostgreSQL through libpq (store.postgres in the configuration): the store that several
// replicas share. open_postgres_store() connects, applies pending migrations (serialized
// between replicas by an advisory lock; the version is kept in the table opsready_schema), and
// refuses a database whose schema is newer than this build's. Every call takes a connection of
// the pool (waiting for one when all are busy); a connection found broken is reconnected with
// exponential backoff, and calls meanwhile fail with `store_unavailable` at once instead of
// queueing behind the outage. Every statement runs under `statement_timeout`.
struct PostgresOptions {
  std::string dsn;  // a libpq connection string or URI (password from dsn_file, never logged)
  std::size_t pool_size = 4;
  core::Duration connect_timeout = std::chrono::seconds(5);
  core::Duration statement_timeout = std::chrono::seconds(10);
  core::Duration reconnect_backoff_initial = std::chrono::milliseconds(100);
  core::Duration reconnect_backoff_max = std::chrono::seconds(10);

  bool operator==(const PostgresOptions&) const = default;
};

[[nodiscard]] core::Result<std::unique_ptr<Store>> open_postgres_store(const PostgresOptions& o);

// Newest PostgreSQL schema version this build knows.
[[nodiscard]] int postgres_schema_version();

}  // namespace opsready::store
