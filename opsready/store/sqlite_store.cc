// SQLite implementation of Store.
//
// One connection, one mutex, statements prepared once at open. Why not a connection pool:
// every caller is a background writer or an occasional reader (history API, start-up
// restore), so contention is low, and one connection keeps the statements and the WAL
// reader/writer story trivial. The mutex is ours (the connection is opened NOMUTEX) because
// a statement's bind/step/reset sequence must be atomic as a whole, which SQLite's own
// serialized mode does not give.

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <iterator>
#include <limits>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "opsready/store/rows.h"
#include "opsready/store/store.h"

namespace opsready::store {
namespace {

using core::Error;
using core::Result;
using core::TimePoint;
using rows::day_of;
using rows::from_ns;
using rows::kNsPerDay;
using rows::kNsPerQuarter;
using rows::status_of_rank;
using rows::to_limit;
using rows::to_ns;

// Schema migrations, oldest first. Migration k (0-based) takes `user_version` from k to k+1.
// Append only: a shipped migration is never edited, or databases that already ran it would
// differ from new ones. No "IF NOT EXISTS": a migration that runs twice is a bug and should
// fail loudly rather than paper over a wrong user_version.
constexpr const char* kMigrations[] = {
    // 1: component and readiness history.
    R"sql(
CREATE TABLE component_snapshots (
  id             INTEGER PRIMARY KEY,
  component      TEXT    NOT NULL,
  status         TEXT    NOT NULL,
  observed_at_ns INTEGER NOT NULL,
  json           TEXT    NOT NULL
);
CREATE INDEX component_snapshots_component_time
  ON component_snapshots (component, observed_at_ns);
CREATE TABLE readiness_snapshots (
  id              INTEGER PRIMARY KEY,
  generated_at_ns INTEGER NOT NULL,
  status          TEXT    NOT NULL,
  json            TEXT    NOT NULL
);
CREATE INDEX readiness_snapshots_time ON readiness_snapshots (generated_at_ns);
)sql",
    // 2: external alerts (POST /api/v2/alerts), one row per fingerprint. Label sets are JSON
    // objects; `timeout` is 1 when ends_at was set by opsready (no endsAt posted).
    R"sql(
CREATE TABLE alerts (
  fingerprint    TEXT    PRIMARY KEY,
  labels         TEXT    NOT NULL,
  annotations    TEXT    NOT NULL,
  starts_at_ns   INTEGER NOT NULL,
  ends_at_ns     INTEGER NOT NULL,
  generator_url  TEXT    NOT NULL,
  timeout        INTEGER NOT NULL,
  received_at_ns INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX alerts_ends_at ON alerts (ends_at_ns);
)sql",
    // 3: alerting state (silences, acks, group notification logs, derived alerts) and the
    // append-only decision log (alert records, the silence audit trail).
    R"sql(
CREATE TABLE alerting_state (
  kind TEXT NOT NULL,
  key  TEXT NOT NULL,
  json TEXT NOT NULL,
  PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE TABLE alerting_log (
  id    INTEGER PRIMARY KEY,
  kind  TEXT    NOT NULL,
  at_ns INTEGER NOT NULL,
  json  TEXT    NOT NULL
);
CREATE INDEX alerting_log_kind_time ON alerting_log (kind, at_ns);
)sql",
    // 4: the durable outbox and notification log: one row per notification and integration,
    // written before it is sent. `id` is the idempotency key; `state` pending, sent or failed.
    R"sql(
CREATE TABLE outbox (
  seq                INTEGER PRIMARY KEY,
  id                 TEXT    NOT NULL UNIQUE,
  receiver           TEXT    NOT NULL,
  integration        TEXT    NOT NULL,
  group_key          TEXT    NOT NULL,
  group_id           TEXT    NOT NULL,
  alerts_hash        TEXT    NOT NULL,
  reason             TEXT    NOT NULL,
  decided_at_ns      INTEGER NOT NULL,
  payload            TEXT    NOT NULL,
  state              TEXT    NOT NULL,
  attempts           INTEGER NOT NULL,
  next_attempt_at_ns INTEGER NOT NULL,
  done_at_ns         INTEGER,
  last_error         TEXT    NOT NULL
);
CREATE INDEX outbox_group ON outbox (receiver, group_key, decided_at_ns);
CREATE INDEX outbox_pending ON outbox (state, decided_at_ns) WHERE state = 'pending';
CREATE INDEX outbox_done ON outbox (done_at_ns) WHERE done_at_ns IS NOT NULL;
)sql",
    // 5: external alerts in a rowid table, the fingerprint a unique index. Rows are ~700 bytes
    // and fingerprints are hashes: as the key of a WITHOUT ROWID table (migration 2) every new
    // alert went to a random place among wide rows, splitting and rewriting full pages (SQLite
    // advises WITHOUT ROWID only for rows under ~1/20 of a page). Now a new row is appended
    // and only the narrow index entry lands at random: about 3.5x the rows per second for a
    // batch of new alerts (measured in docs/performance.md, "Delivery").
    R"sql(
CREATE TABLE alerts_v5 (
  id             INTEGER PRIMARY KEY,
  fingerprint    TEXT    NOT NULL UNIQUE,
  labels         TEXT    NOT NULL,
  annotations    TEXT    NOT NULL,
  starts_at_ns   INTEGER NOT NULL,
  ends_at_ns     INTEGER NOT NULL,
  generator_url  TEXT    NOT NULL,
  timeout        INTEGER NOT NULL,
  received_at_ns INTEGER NOT NULL
);
INSERT INTO alerts_v5 (fingerprint, labels, annotations, starts_at_ns, ends_at_ns,
                       generator_url, timeout, received_at_ns)
  SELECT fingerprint, labels, annotations, starts_at_ns, ends_at_ns, generator_url, timeout,
         received_at_ns
  FROM alerts ORDER BY received_at_ns, fingerprint;
DROP TABLE alerts;
ALTER TABLE alerts_v5 RENAME TO alerts;
CREATE INDEX alerts_ends_at ON alerts (ends_at_ns);
)sql",
    // 6: the daily roll-up of component statuses for the status page's 90-day history, kept
    // past the snapshots' retention. `day` is the UTC day (days since 1970-01-01); `worst` and
    // `last` are status ranks (0 ok, 1 warn, 2 fail); `last` is the status of the day's last
    // snapshot. Backfilled from the snapshots there are: the last of a day is found as the
    // largest (offset in the day * 4 + rank), which also breaks ties of time by rank.
    R"sql(
CREATE TABLE component_days (
  component   TEXT    NOT NULL,
  day         INTEGER NOT NULL,
  worst       INTEGER NOT NULL,
  last        INTEGER NOT NULL,
  first_at_ns INTEGER NOT NULL,
  last_at_ns  INTEGER NOT NULL,
  snapshots   INTEGER NOT NULL,
  PRIMARY KEY (component, day)
) WITHOUT ROWID;
CREATE INDEX component_days_day ON component_days (day, component);
INSERT INTO component_days (component, day, worst, last, first_at_ns, last_at_ns, snapshots)
  SELECT component, day, MAX(rank), MAX((observed_at_ns - day * 86400000000000) * 4 + rank) % 4,
         MIN(observed_at_ns), MAX(observed_at_ns), COUNT(*)
  FROM (SELECT component, observed_at_ns, observed_at_ns / 86400000000000 AS day,
               CASE status WHEN 'fail' THEN 2 WHEN 'warn' THEN 1 ELSE 0 END AS rank
        FROM component_snapshots)
  GROUP BY component, day;
)sql",
    // 7: the quarter-hour roll-up the history strips are read from (component_buckets): the
    // worst status and the last status of each component per 15 minutes since 1970, so that
    // 24 h of one snapshot a minute for 1 000 components is 96 000 rows to read, not
    // 1 440 000. Pruned with the snapshots. Backfilled as migration 6 is.
    R"sql(
CREATE TABLE component_quarters (
  component  TEXT    NOT NULL,
  quarter    INTEGER NOT NULL,
  worst      INTEGER NOT NULL,
  last       INTEGER NOT NULL,
  last_at_ns INTEGER NOT NULL,
  PRIMARY KEY (component, quarter)
) WITHOUT ROWID;
INSERT INTO component_quarters (component, quarter, worst, last, last_at_ns)
  SELECT component, quarter, MAX(rank), MAX((observed_at_ns - quarter * 900000000000) * 4 + rank) % 4,
         MAX(observed_at_ns)
  FROM (SELECT component, observed_at_ns, observed_at_ns / 900000000000 AS quarter,
               CASE status WHEN 'fail' THEN 2 WHEN 'warn' THEN 1 ELSE 0 END AS rank
        FROM component_snapshots WHERE observed_at_ns >= 0)
  GROUP BY component, quarter;
)sql",
    // 8: drill runs (issue 15): one row per run, written when the fault is about to be
    // injected (the recovery record a crash leaves: verdict '' and finished_at NULL) and
    // again when the run ends; the evidence as JSON and as Markdown. Never pruned: it is
    // the audit trail of the drills.
    R"sql(
CREATE TABLE drill_runs (
  id             TEXT    NOT NULL PRIMARY KEY,
  scenario       TEXT    NOT NULL,
  verdict        TEXT    NOT NULL,
  started_at_ns  INTEGER NOT NULL,
  finished_at_ns INTEGER,
  json           TEXT    NOT NULL,
  markdown       TEXT    NOT NULL
);
CREATE INDEX drill_runs_started ON drill_runs (started_at_ns);
CREATE INDEX drill_runs_unfinished ON drill_runs (finished_at_ns) WHERE finished_at_ns IS NULL;
)sql",
    // 9: the gate's history (issue 15): one row per change of the gate's decision or of its
    // reason codes, the gate as JSON. Kept past `retention` (a change is rare, and deploy
    // audits ask for it); pruned with the daily roll-up (prune_component_days).
    R"sql(
CREATE TABLE gate_history (
  id       INTEGER PRIMARY KEY,
  at_ns    INTEGER NOT NULL,
  decision TEXT    NOT NULL,
  json     TEXT    NOT NULL
);
CREATE INDEX gate_history_at ON gate_history (at_ns);
)sql",
    // 10: compliance sign-offs (issue 15): append-only, never pruned (the audit log of the
    // compliance cadence). Read newest completed first, per sign-off.
    R"sql(
CREATE TABLE signoffs (
  id             INTEGER PRIMARY KEY,
  signoff        TEXT    NOT NULL,
  by             TEXT    NOT NULL,
  at_ns          INTEGER NOT NULL,
  recorded_at_ns INTEGER NOT NULL,
  evidence       TEXT    NOT NULL,
  note           TEXT    NOT NULL,
  source         TEXT    NOT NULL
);
CREATE INDEX signoffs_by_name ON signoffs (signoff, at_ns);
CREATE INDEX signoffs_at ON signoffs (at_ns);
)sql",
    // 11: outbox claims (issue 16, Store::claim_outbox): which owner sends a pending row, until
    // when. Existing rows are unclaimed.
    R"sql(
ALTER TABLE outbox ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN claimed_until_ns INTEGER NOT NULL DEFAULT 0;
)sql",
};

constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

// The rank of a status word as stored (core::to_string), in SQL.
#define STATUS_RANK(col) "CASE " col " WHEN 'fail' THEN 2 WHEN 'warn' THEN 1 ELSE 0 END"

// Store calls run off the evaluation strand (see ARCHITECTURE.md), so waiting a few seconds
// for another process's write lock (e.g. `opsready report` reading the same file) is better
// than failing the write.
constexpr int kBusyTimeoutMs = 5000;

// A stable error code per failure class, so callers and operators can tell "restore from
// backup" (corrupt) from "fix permissions" (cannot open) from "retry" (busy).
std::string code_for(int rc) {
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return "store_corrupt";
    case SQLITE_READONLY:
      return "store_read_only";
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return "store_cannot_open";
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return "store_busy";
    case SQLITE_FULL:
      return "store_full";
    default:
      return "store_failed";
  }
}

std::string column_text(sqlite3_stmt* st, int col) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, col));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(st, col)))
           : std::string();
}

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
using DbHandle = std::unique_ptr<sqlite3, DbCloser>;

struct StmtFinalizer {
  void operator()(sqlite3_stmt* st) const { sqlite3_finalize(st); }
};
using StmtHandle = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// Resets a cached statement when a call leaves, whatever the path, so the next call starts
// clean and no read transaction is left open (an un-reset SELECT would pin the WAL and stop
// checkpoints).
class StmtUse {
 public:
  explicit StmtUse(const StmtHandle& st) : st_(st.get()) {}
  StmtUse(const StmtUse&) = delete;
  StmtUse& operator=(const StmtUse&) = delete;
  ~StmtUse() {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
  }
  sqlite3_stmt* get() const { return st_; }

 private:
  sqlite3_stmt* st_;
};

// Checkpoints the write-ahead log on a thread and a connection of its own, so that no commit
// waits for it. SQLite's automatic checkpoint runs inside the COMMIT that takes the WAL past
// 1 000 pages, with an fsync of the WAL and one of the database: under ingest those commits
// were the slowest POST /api/v2/alerts answers (a 2xx waits for its commit). A PASSIVE
// checkpoint never blocks a writer (writers go on appending), and SQLite starts the WAL from
// its beginning again at the first write after a checkpoint that copied all of it.
class Checkpointer {
 public:
  static constexpr int kPages = 1000;       // SQLite's wal_autocheckpoint default
  static constexpr int kForcePages = 8000;  // ~32 MiB of WAL: see on_commit

  explicit Checkpointer(DbHandle db) : db_(std::move(db)), thread_([this] { run(); }) {}
  ~Checkpointer() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // sqlite3_wal_hook's callback on the writing connection: after every commit, with the
  // number of pages now in the WAL.
  static int on_commit(void* self, sqlite3* writer, const char*, int pages) {
    if (pages >= kForcePages) {
      // Writes never paused long enough for a checkpoint beside them to copy the whole WAL
      // (a PASSIVE checkpoint copies what was committed when it began, and SQLite starts the
      // WAL again only after one that copied everything): the writer checkpoints itself, as
      // SQLite's automatic checkpoint does. Nothing else writes meanwhile (one writer), so it
      // completes, and the WAL stays within about kForcePages.
      (void)sqlite3_wal_checkpoint_v2(writer, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    } else if (pages >= kPages) {
      static_cast<Checkpointer*>(self)->wake();
    }
    return SQLITE_OK;
  }

 private:
  void wake() {
    {
      std::lock_guard lock(mu_);
      due_ = true;
    }
    cv_.notify_one();
  }
  void run() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return stop_ || due_; });
      if (stop_) return;
      due_ = false;
      lock.unlock();
      // SQLITE_BUSY (another checkpoint runs) or an I/O error: the WAL keeps its frames, the
      // commits go on, and the next wake tries again.
      (void)sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                      nullptr);
      lock.lock();
    }
  }

  DbHandle db_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool due_ = false;   // guarded by mu_
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

class SqliteStore final : public Store {
 public:
  static Result<std::unique_ptr<Store>> open(const std::filesystem::path& file);

  Result<void> set_fault(const StoreFault& fault) override;

  Result<void> put_component(const core::ComponentSnapshot& s) override;
  Result<void> put_readiness(const StoredReadiness& r) override;
  Result<std::vector<StoredReadiness>> readiness_history(TimePoint since, TimePoint until,
                                                         std::size_t limit) const override;
  Result<std::vector<core::ComponentSnapshot>> component_history(const std::string& component,
                                                                 TimePoint since, TimePoint until,
                                                                 std::size_t limit) const override;
  Result<std::vector<core::ComponentSnapshot>> latest_components() const override;
  Result<std::optional<StoredReadiness>> latest_readiness() const override;
  Result<std::vector<ComponentDay>> component_days(TimePoint since, TimePoint until) const override;
  Result<std::vector<ComponentBucket>> component_buckets(TimePoint since, TimePoint until,
                                                         core::Duration bucket) const override;
  Result<std::size_t> prune(TimePoint before) override;
  Result<std::size_t> prune_component_days(TimePoint before) override;
  Result<void> put_alerts(const std::vector<core::Alert>& batch) override;
  Result<void> replace_alerts(const std::vector<core::Alert>& batch) override;
  Result<std::vector<core::Alert>> alerts(bool active_only, TimePoint now) const override;
  Result<void> write_alerting(const std::vector<StateRow>& state, const std::vector<LogRow>& log,
                              const std::vector<OutboxRow>& outbox) override;
  Result<void> update_outbox(const std::vector<OutboxUpdate>& updates) override;
  Result<std::vector<OutboxRow>> outbox_pending() const override;
  Result<std::vector<OutboxRow>> outbox(const OutboxQuery& q) const override;
  Result<std::vector<OutboxRow>> claim_outbox(const std::string& owner, TimePoint now,
                                              core::Duration lease, std::size_t limit) override;
  Result<std::size_t> extend_outbox_claims(const std::string& owner, TimePoint until,
                                           TimePoint ending_before) override;
  Result<std::size_t> prune_outbox(TimePoint before) override;
  void release_free_pages();
  Result<std::vector<StateRow>> alerting_state(const std::string& kind) const override;
  Result<void> put_drill_run(const DrillRunRow& row) override;
  Result<void> put_gate(const GateChange& change) override;
  Result<std::vector<GateChange>> gate_history(TimePoint since, TimePoint until,
                                               std::size_t limit) const override;
  Result<std::vector<DrillRunRow>> drill_runs(const DrillRunQuery& q) const override;
  Result<std::optional<DrillRunRow>> drill_run(const std::string& id) const override;
  Result<std::int64_t> put_signoff(const SignoffRow& row) override;
  Result<std::vector<SignoffRow>> signoffs(const SignoffQuery& q) const override;
  Result<std::vector<LogRow>> alerting_log(const std::string& kind, TimePoint since,
                                           TimePoint until, std::size_t limit) const override;

 private:
  SqliteStore(std::string path, DbHandle db) : path_(std::move(path)), db_(std::move(db)) {}

  // mu_, held; then the fault's delay, slept while holding it (a stalled disk holds up every
  // operation behind the one it stalls).
  [[nodiscard]] std::unique_lock<std::mutex> locked() const;
  std::unexpected<Error> sql_error(std::string_view what, int rc) const;
  Result<void> exec(const char* sql, std::string_view what);
  Result<void> migrate();
  Result<void> prepare_all();
  Result<StmtHandle> prepare(const char* sql);
  Result<void> step_done(const StmtUse& st, std::string_view what) const;
  Result<core::ComponentSnapshot> parse_component(sqlite3_stmt* st, int json_col) const;
  Result<StoredReadiness> read_readiness(sqlite3_stmt* st) const;
  Result<std::vector<core::ComponentSnapshot>> collect_components(const StmtUse& st,
                                                                  std::string_view what) const;
  Result<core::Alert> read_alert(sqlite3_stmt* st) const;
  Result<std::vector<OutboxRow>> collect_outbox(const StmtUse& st) const;
  Result<void> put_alert_locked(const core::Alert& a);
  Result<void> write_alert_locked(const core::Alert& a);
  // Runs `write` for each alert of `batch` inside one transaction.
  Result<void> alert_batch(const std::vector<core::Alert>& batch,
                           Result<void> (SqliteStore::*write)(const core::Alert&));

  std::string path_;
  mutable std::mutex mu_;
  StoreFault fault_;  // guarded by mu_
  // Declared before the statements so it is closed after they are finalized.
  DbHandle db_;
  StmtHandle insert_component_;
  StmtHandle upsert_day_;
  StmtHandle days_range_;
  StmtHandle bucket_worst_;
  StmtHandle bucket_carry_;
  StmtHandle upsert_quarter_;
  StmtHandle bucket_quarters_;
  StmtHandle prune_quarters_;
  StmtHandle prune_days_;
  StmtHandle insert_readiness_;
  StmtHandle readiness_range_;
  StmtHandle component_range_;
  StmtHandle latest_components_;
  StmtHandle latest_readiness_;
  StmtHandle prune_components_;
  StmtHandle prune_readiness_;
  StmtHandle prune_alerts_;
  StmtHandle get_alert_;
  StmtHandle upsert_alert_;
  StmtHandle list_alerts_;
  StmtHandle put_state_;
  StmtHandle delete_state_;
  StmtHandle list_state_;
  StmtHandle append_log_;
  StmtHandle log_range_;
  StmtHandle prune_log_;
  StmtHandle insert_outbox_;
  StmtHandle update_outbox_;
  StmtHandle outbox_pending_;
  StmtHandle outbox_query_;
  StmtHandle claimable_;
  StmtHandle claim_;
  StmtHandle extend_claims_;
  StmtHandle prune_outbox_;
  StmtHandle put_gate_;
  StmtHandle prune_gates_;
  StmtHandle gate_range_;
  StmtHandle put_drill_;
  StmtHandle list_drills_;
  StmtHandle get_drill_;
  StmtHandle put_signoff_;
  StmtHandle list_signoffs_;
  // Declared last, so destroyed first: its connection closes before db_, and db_'s close (the
  // last connection's) checkpoints what is left and removes the WAL.
  std::unique_ptr<Checkpointer> checkpointer_;
};

std::unexpected<Error> SqliteStore::sql_error(std::string_view what, int rc) const {
  return core::fail(code_for(rc),
                    std::string(what) + " failed on '" + path_ + "': " + sqlite3_errmsg(db_.get()));
}

Result<void> SqliteStore::exec(const char* sql, std::string_view what) {
  char* msg = nullptr;
  const int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, &msg);
  if (rc == SQLITE_OK) return {};
  std::string text = msg ? msg : sqlite3_errstr(rc);
  sqlite3_free(msg);
  return core::fail(code_for(rc), std::string(what) + " failed on '" + path_ + "': " + text);
}

Result<StmtHandle> SqliteStore::prepare(const char* sql) {
  sqlite3_stmt* st = nullptr;
  // PERSISTENT: these live as long as the store, so SQLite keeps them out of its lookaside.
  const int rc = sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr);
  if (rc != SQLITE_OK) return sql_error("preparing a statement", rc);
  return StmtHandle(st);
}

Result<void> SqliteStore::step_done(const StmtUse& st, std::string_view what) const {
  const int rc = sqlite3_step(st.get());
  if (rc != SQLITE_DONE) return sql_error(what, rc);
  return {};
}

// Each migration runs in its own BEGIN IMMEDIATE transaction together with its user_version
// bump, so a crash leaves the schema at a whole version. The version is re-read inside the
// write lock: two processes opening a fresh file at once serialize here, and the second one
// finds the work already done instead of failing on "table already exists".
Result<void> SqliteStore::migrate() {
  for (;;) {
    if (auto r = exec("BEGIN IMMEDIATE", "starting a migration"); !r) return r;
    int version = -1;
    {
      sqlite3_stmt* raw = nullptr;
      int rc = sqlite3_prepare_v2(db_.get(), "PRAGMA user_version", -1, &raw, nullptr);
      StmtHandle st(raw);
      if (rc == SQLITE_OK) rc = sqlite3_step(st.get());
      if (rc != SQLITE_ROW) {
        auto err = sql_error("reading the schema version", rc);
        (void)exec("ROLLBACK", "rolling back");
        return err;
      }
      version = sqlite3_column_int(st.get(), 0);
    }
    if (version > kSchemaVersion) {
      (void)exec("ROLLBACK", "rolling back");
      return core::fail("store_schema_too_new",
                        "'" + path_ + "' has schema version " + std::to_string(version) +
                            ", newer than version " + std::to_string(kSchemaVersion) +
                            " that this opsready build knows; run a newer opsready or point "
                            "the store at another file");
    }
    if (version == kSchemaVersion) return exec("COMMIT", "finishing schema checks");
    if (version < 0) {
      (void)exec("ROLLBACK", "rolling back");
      return core::fail("store_corrupt",
                        "'" + path_ + "' has a negative schema version " + std::to_string(version));
    }
    auto applied =
        exec(kMigrations[version], "applying schema migration " + std::to_string(version + 1));
    if (applied) {
      // PRAGMA takes no bound parameters; the value is our own integer.
      const std::string bump = "PRAGMA user_version = " + std::to_string(version + 1);
      applied = exec(bump.c_str(), "recording schema version " + std::to_string(version + 1));
    }
    if (applied) applied = exec("COMMIT", "committing schema migration");
    if (!applied) {
      (void)exec("ROLLBACK", "rolling back");
      Error e = applied.error();
      if (e.code == "store_failed") e.code = "store_migration_failed";
      return std::unexpected(std::move(e));
    }
  }
}

#define OUTBOX_COLUMNS                                                                           \
  "id, receiver, integration, group_key, group_id, alerts_hash, reason, decided_at_ns, payload," \
  " state, attempts, next_attempt_at_ns, done_at_ns, last_error, claimed_by, claimed_until_ns"

Result<void> SqliteStore::prepare_all() {
  struct Entry {
    StmtHandle* slot;
    const char* sql;
  };
  const Entry entries[] = {
      {&prune_gates_, "DELETE FROM gate_history WHERE at_ns < ?1"},
      {&put_gate_, "INSERT INTO gate_history (at_ns, decision, json) VALUES (?1, ?2, ?3)"},
      // The newest `limit` of the range, returned oldest first.
      {&gate_range_,
       "SELECT at_ns, decision, json FROM (SELECT id, at_ns, decision, json FROM gate_history"
       " WHERE at_ns >= ?1 AND at_ns <= ?2 ORDER BY at_ns DESC, id DESC LIMIT ?3)"
       " ORDER BY at_ns, id"},
      {&put_drill_,
       "INSERT OR REPLACE INTO drill_runs (id, scenario, verdict, started_at_ns, finished_at_ns,"
       " json, markdown) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
      {&list_drills_,
       "SELECT id, scenario, verdict, started_at_ns, finished_at_ns, json, markdown"
       " FROM drill_runs WHERE (?1 = '' OR scenario = ?1) AND (?2 = 0 OR finished_at_ns IS NULL)"
       " ORDER BY started_at_ns DESC, id DESC LIMIT ?3"},
      {&put_signoff_,
       "INSERT INTO signoffs (signoff, by, at_ns, recorded_at_ns, evidence, note, source)"
       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
      {&list_signoffs_,
       "SELECT id, signoff, by, at_ns, recorded_at_ns, evidence, note, source FROM signoffs"
       " WHERE (?1 = '' OR signoff = ?1) ORDER BY at_ns DESC, id DESC LIMIT ?2"},
      {&get_drill_,
       "SELECT id, scenario, verdict, started_at_ns, finished_at_ns, json, markdown"
       " FROM drill_runs WHERE id = ?1"},
      {&insert_component_,
       "INSERT INTO component_snapshots (component, status, observed_at_ns, json) "
       "VALUES (?1, ?2, ?3, ?4)"},
      // Keeps the worst status of the day; `last` follows the newest snapshot even when
      // snapshots arrive out of order. SET expressions read the row as it was.
      {&upsert_day_,
       "INSERT INTO component_days (component, day, worst, last, first_at_ns, last_at_ns,"
       " snapshots) VALUES (?1, ?2, ?3, ?3, ?4, ?4, 1)"
       " ON CONFLICT (component, day) DO UPDATE SET worst = MAX(worst, excluded.worst),"
       " last = CASE WHEN excluded.last_at_ns >= last_at_ns THEN excluded.last ELSE last END,"
       " first_at_ns = MIN(first_at_ns, excluded.first_at_ns),"
       " last_at_ns = MAX(last_at_ns, excluded.last_at_ns), snapshots = snapshots + 1"},
      {&days_range_,
       "SELECT component, day, worst, last, first_at_ns, last_at_ns, snapshots"
       " FROM component_days WHERE day BETWEEN ?1 AND ?2 ORDER BY component, day"},
      // Per component of the roll-up (index component_days_day), one range of the
      // (component, observed_at_ns) index; CROSS JOIN keeps that loop order. Column 3 is the
      // rank of the bucket's last snapshot (largest offset * 4 + rank, as migration 6).
      {&bucket_worst_,
       "WITH c(component) AS (SELECT DISTINCT component FROM component_days"
       "  WHERE day BETWEEN ?4 AND ?5)"
       " SELECT s.component, (s.observed_at_ns - ?1) / ?3 AS b, MAX(" STATUS_RANK(
           "s.status") "),"
                       " MAX((s.observed_at_ns - ?1) * 4 + " STATUS_RANK(
                           "s.status") ") % 4"
                                       " FROM c CROSS JOIN component_snapshots s"
                                       " ON s.component = c.component AND s.observed_at_ns >= ?1 "
                                       "AND s.observed_at_ns < ?2"
                                       " GROUP BY s.component, b ORDER BY s.component, b"},
      // The status each component had when the range began: its last snapshot before it.
      {&bucket_carry_,
       "WITH c(component) AS (SELECT DISTINCT component FROM component_days"
       "  WHERE day BETWEEN ?2 AND ?3)"
       " SELECT c.component, (SELECT " STATUS_RANK(
           "s.status") " FROM component_snapshots s"
                       "  WHERE s.component = c.component AND s.observed_at_ns < ?1"
                       "  ORDER BY s.observed_at_ns DESC, s.id DESC LIMIT 1)"
                       " FROM c ORDER BY c.component"},
      // As upsert_day_, per quarter hour (snapshots before 1970 are not rolled up).
      {&upsert_quarter_,
       "INSERT INTO component_quarters (component, quarter, worst, last, last_at_ns)"
       " VALUES (?1, ?2, ?3, ?3, ?4)"
       " ON CONFLICT (component, quarter) DO UPDATE SET worst = MAX(worst, excluded.worst),"
       " last = CASE WHEN excluded.last_at_ns >= last_at_ns THEN excluded.last ELSE last END,"
       " last_at_ns = MAX(last_at_ns, excluded.last_at_ns)"},
      // bucket_worst_ for a range that starts on a quarter hour with buckets a whole number of
      // quarters wide: the roll-up's quarters [?6, ?7) and, for the part of a quarter before
      // `until` (?8 = the start of until's quarter), the snapshots themselves, so `until` stays
      // exclusive. Column 3 orders quarters by their start and snapshots by their time (all
      // later than the quarters').
      {&bucket_quarters_,
       "WITH c(component) AS (SELECT DISTINCT component FROM component_days"
       "  WHERE day BETWEEN ?4 AND ?5)"
       " SELECT component, b, MAX(worst), MAX(k) % 4 FROM ("
       "  SELECT q.component AS component, (q.quarter * 900000000000 - ?1) / ?3 AS b,"
       "   q.worst AS worst, (q.quarter * 900000000000 - ?1) * 4 + q.last AS k"
       "  FROM c CROSS JOIN component_quarters q"
       "  ON q.component = c.component AND q.quarter >= ?6 AND q.quarter < ?7"
       "  UNION ALL"
       "  SELECT s.component, (s.observed_at_ns - ?1) / ?3, " STATUS_RANK(
           "s.status") ","
                       "   (s.observed_at_ns - ?1) * 4 + " STATUS_RANK(
                           "s.status") "  FROM c CROSS JOIN component_snapshots s"
                                       "  ON s.component = c.component AND s.observed_at_ns >= ?8 "
                                       "AND s.observed_at_ns < ?2)"
                                       " GROUP BY component, b ORDER BY component, b"},
      {&prune_quarters_, "DELETE FROM component_quarters WHERE quarter < ?1 / 900000000000"},
      {&prune_days_, "DELETE FROM component_days WHERE day < ?1"},
      {&insert_readiness_,
       "INSERT INTO readiness_snapshots (generated_at_ns, status, json) VALUES (?1, ?2, ?3)"},
      // The inner query picks the newest `limit` rows; the outer one puts them oldest first.
      // `id` breaks ties between equal timestamps in insertion order.
      {&readiness_range_,
       "SELECT generated_at_ns, status, json FROM ("
       "  SELECT id, generated_at_ns, status, json FROM readiness_snapshots"
       "  WHERE generated_at_ns BETWEEN ?1 AND ?2"
       "  ORDER BY generated_at_ns DESC, id DESC LIMIT ?3)"
       " ORDER BY generated_at_ns ASC, id ASC"},
      {&component_range_,
       "SELECT json FROM ("
       "  SELECT id, observed_at_ns, json FROM component_snapshots"
       "  WHERE component = ?1 AND observed_at_ns BETWEEN ?2 AND ?3"
       "  ORDER BY observed_at_ns DESC, id DESC LIMIT ?4)"
       " ORDER BY observed_at_ns ASC, id ASC"},
      // One index probe per distinct component on (component, observed_at_ns); unlike the
      // bare-column-with-max() shortcut, ties on time resolve deterministically (last insert).
      {&latest_components_,
       "SELECT (SELECT i.json FROM component_snapshots i WHERE i.component = d.component"
       "        ORDER BY i.observed_at_ns DESC, i.id DESC LIMIT 1)"
       " FROM (SELECT DISTINCT component FROM component_snapshots) d"
       " ORDER BY d.component"},
      {&latest_readiness_,
       "SELECT generated_at_ns, status, json FROM readiness_snapshots"
       " ORDER BY generated_at_ns DESC, id DESC LIMIT 1"},
      {&prune_components_, "DELETE FROM component_snapshots WHERE observed_at_ns < ?1"},
      {&prune_readiness_, "DELETE FROM readiness_snapshots WHERE generated_at_ns < ?1"},
      {&prune_alerts_, "DELETE FROM alerts WHERE ends_at_ns < ?1"},
      {&get_alert_,
       "SELECT fingerprint, labels, annotations, starts_at_ns, ends_at_ns, generator_url,"
       " timeout, received_at_ns FROM alerts WHERE fingerprint = ?1"},
      {&upsert_alert_,
       "INSERT INTO alerts (fingerprint, labels, annotations, starts_at_ns,"
       " ends_at_ns, generator_url, timeout, received_at_ns)"
       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
       " ON CONFLICT (fingerprint) DO UPDATE SET labels = excluded.labels,"
       " annotations = excluded.annotations, starts_at_ns = excluded.starts_at_ns,"
       " ends_at_ns = excluded.ends_at_ns, generator_url = excluded.generator_url,"
       " timeout = excluded.timeout, received_at_ns = excluded.received_at_ns"},
      {&list_alerts_,
       "SELECT fingerprint, labels, annotations, starts_at_ns, ends_at_ns, generator_url,"
       " timeout, received_at_ns FROM alerts WHERE ?1 = 0 OR ends_at_ns > ?2"
       " ORDER BY fingerprint"},
      {&put_state_, "INSERT OR REPLACE INTO alerting_state (kind, key, json) VALUES (?1, ?2, ?3)"},
      {&delete_state_, "DELETE FROM alerting_state WHERE kind = ?1 AND key = ?2"},
      {&list_state_, "SELECT kind, key, json FROM alerting_state WHERE kind = ?1 ORDER BY key"},
      {&append_log_, "INSERT INTO alerting_log (kind, at_ns, json) VALUES (?1, ?2, ?3)"},
      {&log_range_,
       "SELECT id, kind, at_ns, json FROM ("
       "  SELECT id, kind, at_ns, json FROM alerting_log"
       "  WHERE kind = ?1 AND at_ns BETWEEN ?2 AND ?3 ORDER BY at_ns DESC, id DESC LIMIT ?4)"
       " ORDER BY at_ns ASC, id ASC"},
      {&prune_log_, "DELETE FROM alerting_log WHERE at_ns < ?1"},
      {&insert_outbox_,
       "INSERT OR IGNORE INTO outbox (id, receiver, integration, group_key, group_id,"
       " alerts_hash, reason, decided_at_ns, payload, state, attempts, next_attempt_at_ns,"
       " done_at_ns, last_error, claimed_by, claimed_until_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
       " ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"},
      {&update_outbox_,
       "UPDATE outbox SET state = ?2, attempts = ?3, next_attempt_at_ns = ?4, done_at_ns = ?5,"
       " last_error = ?6 WHERE id = ?1"},
      {&outbox_pending_, "SELECT " OUTBOX_COLUMNS " FROM outbox WHERE state = 'pending'"
                         " ORDER BY decided_at_ns ASC, seq ASC"},
      {&outbox_query_,
       "SELECT " OUTBOX_COLUMNS " FROM outbox WHERE (?1 = '' OR receiver = ?1)"
       " AND (?2 = '' OR group_key = ?2) AND (?3 = '' OR state = ?3)"
       " AND decided_at_ns BETWEEN ?4 AND ?5 ORDER BY decided_at_ns DESC, seq DESC LIMIT ?6"},
      {&prune_outbox_, "DELETE FROM outbox WHERE done_at_ns IS NOT NULL AND done_at_ns < ?1"},
      {&claimable_, "SELECT " OUTBOX_COLUMNS " FROM outbox WHERE state = 'pending'"
                    " AND claimed_until_ns <= ?2"
                    " ORDER BY decided_at_ns ASC, seq ASC LIMIT ?3"},
      {&claim_, "UPDATE outbox SET claimed_by = ?2, claimed_until_ns = ?3 WHERE id = ?1"},
      {&extend_claims_,
       "UPDATE outbox SET claimed_until_ns = ?2"
       " WHERE state = 'pending' AND claimed_by = ?1 AND claimed_until_ns < ?3"},
  };
  for (const auto& e : entries) {
    auto st = prepare(e.sql);
    if (!st) return std::unexpected(st.error());
    *e.slot = std::move(*st);
  }
  return {};
}

Result<std::unique_ptr<Store>> SqliteStore::open(const std::filesystem::path& file) {
  const std::string path = file.string();
  if (path.empty()) return core::fail("store_cannot_open", "the store path is empty");
  if (const auto dir = file.parent_path(); !dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return core::fail("store_cannot_open", "cannot create directory '" + dir.string() +
                                                 "' for store '" + path + "': " + ec.message());
    }
  }

  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  DbHandle db(raw);  // sqlite3_open_v2 allocates a handle even on failure; close it either way
  if (rc != SQLITE_OK) {
    return core::fail(code_for(rc), "cannot open store '" + path +
                                        "': " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_extended_result_codes(db.get(), 1);
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);

  std::unique_ptr<SqliteStore> store(new SqliteStore(path, std::move(db)));

  // Compaction: a new database keeps its free pages apart, so that release_free_pages() can
  // give them back to the file system after a prune. Set first: the WAL switch writes the
  // header, after which it no longer applies. An existing database created without it keeps
  // auto_vacuum=NONE, reuses its free pages for new rows and shrinks only with an offline
  // `VACUUM` (docs/operator-guide.md, "Disk use"). A file that is not a database fails here.
  if (const int rc = sqlite3_exec(store->db_.get(), "PRAGMA auto_vacuum=INCREMENTAL", nullptr,
                                  nullptr, nullptr);
      rc != SQLITE_OK) {
    return core::fail(code_for(rc),
                      "cannot open store '" + path + "': " + sqlite3_errmsg(store->db_.get()));
  }
  // Opening is lazy: a file that is not a database is first noticed here, as SQLITE_NOTADB.
  // journal_mode answers with the mode in force, which is not WAL when the file system cannot
  // do WAL (no shared memory); refuse rather than run with other durability and locking.
  {
    sqlite3_stmt* st_raw = nullptr;
    int mode_rc =
        sqlite3_prepare_v2(store->db_.get(), "PRAGMA journal_mode=WAL", -1, &st_raw, nullptr);
    StmtHandle st(st_raw);
    if (mode_rc == SQLITE_OK) mode_rc = sqlite3_step(st.get());
    if (mode_rc != SQLITE_ROW) {
      return core::fail(code_for(mode_rc),
                        "cannot open store '" + path + "': " + sqlite3_errmsg(store->db_.get()));
    }
    const std::string mode = column_text(st.get(), 0);
    if (mode != "wal") {
      return core::fail("store_cannot_open", "store '" + path +
                                                 "' cannot use WAL journal mode (got '" + mode +
                                                 "'); put it on a local file system");
    }
  }
  // NORMAL is durable across application crashes in WAL mode; only a power loss may drop the
  // last transactions, which history can afford, and it saves an fsync per write.
  if (auto r = store->exec("PRAGMA synchronous=NORMAL", "setting synchronous"); !r) {
    return std::unexpected(r.error());
  }
  // The page cache: SQLite's default (2 MiB) holds a few thousand alert rows, so a batch of
  // new alerts reads most of the pages it touches back from the OS (pread) before changing
  // them. 64 MiB holds the working set of 100 000 active alerts.
  if (auto r = store->exec("PRAGMA cache_size=-65536", "setting cache_size"); !r) {
    return std::unexpected(r.error());
  }
  // A WAL that grew in a burst is cut back to this when SQLite starts it again (it would keep
  // its largest size otherwise).
  if (auto r = store->exec("PRAGMA journal_size_limit=33554432", "setting journal_size_limit");
      !r) {
    return std::unexpected(r.error());
  }
  if (auto r = store->migrate(); !r) return std::unexpected(r.error());
  if (auto r = store->prepare_all(); !r) return std::unexpected(r.error());
  {
    sqlite3* side = nullptr;
    int side_rc =
        sqlite3_open_v2(path.c_str(), &side, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    DbHandle handle(side);
    // A connection that has not read the database yet does not know it is in WAL mode, and
    // its checkpoints would do nothing: it reads the mode first.
    if (side_rc == SQLITE_OK) {
      side_rc = sqlite3_exec(side, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
    }
    if (side_rc != SQLITE_OK) {
      return core::fail(code_for(side_rc),
                        "cannot open store '" + path + "' for checkpoints: " +
                            (side ? sqlite3_errmsg(side) : sqlite3_errstr(side_rc)));
    }
    store->checkpointer_ = std::make_unique<Checkpointer>(std::move(handle));
    // Replaces SQLite's automatic checkpoint on the writing connection (wal_autocheckpoint is
    // a wal hook too).
    sqlite3_wal_hook(store->db_.get(), &Checkpointer::on_commit, store->checkpointer_.get());
  }
  return std::unique_ptr<Store>(std::move(store));
}

std::unique_lock<std::mutex> SqliteStore::locked() const {
  std::unique_lock lock(mu_);
  if (fault_.delay > core::Duration::zero()) std::this_thread::sleep_for(fault_.delay);
  return lock;
}

Result<void> SqliteStore::set_fault(const StoreFault& fault) {
  std::lock_guard lock(mu_);
  // query_only is SQLite's own read-only switch for a connection: every write statement then
  // fails with SQLITE_READONLY, as on a read-only database, while reads go on.
  const char* sql = fault.read_only ? "PRAGMA query_only=1" : "PRAGMA query_only=0";
  if (const int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr); rc != SQLITE_OK) {
    return sql_error("setting the drill's store fault", rc);
  }
  fault_ = fault;
  return {};
}

Result<void> SqliteStore::put_component(const core::ComponentSnapshot& s) {
  auto encoded = rows::component_json(s);
  if (!encoded) return std::unexpected(encoded.error());
  const std::string& json = *encoded;
  const std::string_view status = core::to_string(s.status);
  const auto lock = locked();
  // One transaction for the snapshot and its day's roll-up: one commit, as before the
  // roll-up, and the two cannot disagree.
  if (auto r = exec("BEGIN IMMEDIATE", "starting a component write"); !r) return r;
  auto write = [&]() -> Result<void> {
    {
      StmtUse st(insert_component_);
      sqlite3_bind_text(st.get(), 1, s.component.data(), static_cast<int>(s.component.size()),
                        SQLITE_STATIC);
      sqlite3_bind_text(st.get(), 2, status.data(), static_cast<int>(status.size()), SQLITE_STATIC);
      sqlite3_bind_int64(st.get(), 3, to_ns(s.observed_at));
      sqlite3_bind_text64(st.get(), 4, json.data(), json.size(), SQLITE_STATIC, SQLITE_UTF8);
      if (auto r = step_done(st, "storing a component snapshot"); !r) return r;
    }
    StmtUse day(upsert_day_);
    sqlite3_bind_text(day.get(), 1, s.component.data(), static_cast<int>(s.component.size()),
                      SQLITE_STATIC);
    sqlite3_bind_int64(day.get(), 2, day_of(s.observed_at));
    sqlite3_bind_int(day.get(), 3, core::rank(s.status));
    sqlite3_bind_int64(day.get(), 4, to_ns(s.observed_at));
    if (auto r = step_done(day, "updating the daily roll-up"); !r) return r;
    if (to_ns(s.observed_at) < 0) return {};
    StmtUse quarter(upsert_quarter_);
    sqlite3_bind_text(quarter.get(), 1, s.component.data(), static_cast<int>(s.component.size()),
                      SQLITE_STATIC);
    sqlite3_bind_int64(quarter.get(), 2, to_ns(s.observed_at) / kNsPerQuarter);
    sqlite3_bind_int(quarter.get(), 3, core::rank(s.status));
    sqlite3_bind_int64(quarter.get(), 4, to_ns(s.observed_at));
    return step_done(quarter, "updating the quarter-hour roll-up");
  };
  if (auto r = write(); !r) {
    (void)exec("ROLLBACK", "rolling back a component write");
    return r;
  }
  if (auto r = exec("COMMIT", "committing a component write"); !r) {
    (void)exec("ROLLBACK", "rolling back a component write");
    return r;
  }
  return {};
}

Result<void> SqliteStore::put_readiness(const StoredReadiness& r) {
  const std::string_view status = core::to_string(r.status);
  const auto lock = locked();
  StmtUse st(insert_readiness_);
  sqlite3_bind_int64(st.get(), 1, to_ns(r.generated_at));
  sqlite3_bind_text(st.get(), 2, status.data(), static_cast<int>(status.size()), SQLITE_STATIC);
  sqlite3_bind_text64(st.get(), 3, r.json.data(), r.json.size(), SQLITE_STATIC, SQLITE_UTF8);
  return step_done(st, "storing a readiness snapshot");
}

Result<core::ComponentSnapshot> SqliteStore::parse_component(sqlite3_stmt* st, int json_col) const {
  return rows::parse_component(column_text(st, json_col), "'" + path_ + "'");
}

Result<StoredReadiness> SqliteStore::read_readiness(sqlite3_stmt* st) const {
  StoredReadiness r;
  r.generated_at = from_ns(sqlite3_column_int64(st, 0));
  auto status = core::parse_status(column_text(st, 1));
  if (!status) {
    return core::fail("store_corrupt", "a readiness snapshot row in '" + path_ +
                                           "' has an unknown status: " + status.error().message);
  }
  r.status = *status;
  r.json = column_text(st, 2);
  return r;
}

Result<std::vector<core::ComponentSnapshot>> SqliteStore::collect_components(
    const StmtUse& st, std::string_view what) const {
  std::vector<core::ComponentSnapshot> out;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    auto s = parse_component(st.get(), 0);
    if (!s) return std::unexpected(s.error());
    out.push_back(std::move(*s));
  }
  if (rc != SQLITE_DONE) return sql_error(what, rc);
  return out;
}

Result<std::vector<StoredReadiness>> SqliteStore::readiness_history(TimePoint since,
                                                                    TimePoint until,
                                                                    std::size_t limit) const {
  const auto lock = locked();
  StmtUse st(readiness_range_);
  sqlite3_bind_int64(st.get(), 1, to_ns(since));
  sqlite3_bind_int64(st.get(), 2, to_ns(until));
  sqlite3_bind_int64(st.get(), 3, to_limit(limit));
  std::vector<StoredReadiness> out;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    auto r = read_readiness(st.get());
    if (!r) return std::unexpected(r.error());
    out.push_back(std::move(*r));
  }
  if (rc != SQLITE_DONE) return sql_error("reading readiness history", rc);
  return out;
}

Result<std::vector<core::ComponentSnapshot>> SqliteStore::component_history(
    const std::string& component, TimePoint since, TimePoint until, std::size_t limit) const {
  const auto lock = locked();
  StmtUse st(component_range_);
  sqlite3_bind_text(st.get(), 1, component.data(), static_cast<int>(component.size()),
                    SQLITE_STATIC);
  sqlite3_bind_int64(st.get(), 2, to_ns(since));
  sqlite3_bind_int64(st.get(), 3, to_ns(until));
  sqlite3_bind_int64(st.get(), 4, to_limit(limit));
  return collect_components(st, "reading component history");
}

Result<std::vector<core::ComponentSnapshot>> SqliteStore::latest_components() const {
  const auto lock = locked();
  StmtUse st(latest_components_);
  return collect_components(st, "reading the latest component snapshots");
}

Result<std::optional<StoredReadiness>> SqliteStore::latest_readiness() const {
  const auto lock = locked();
  StmtUse st(latest_readiness_);
  const int rc = sqlite3_step(st.get());
  if (rc == SQLITE_DONE) return std::optional<StoredReadiness>();
  if (rc != SQLITE_ROW) return sql_error("reading the latest readiness snapshot", rc);
  auto r = read_readiness(st.get());
  if (!r) return std::unexpected(r.error());
  return std::optional<StoredReadiness>(std::move(*r));
}

Result<std::vector<ComponentDay>> SqliteStore::component_days(TimePoint since,
                                                              TimePoint until) const {
  const std::int64_t first = day_of(since);
  std::vector<ComponentDay> out;
  {
    const auto lock = locked();
    StmtUse st(days_range_);
    // From the day before: what it ended with is carried into the first day.
    sqlite3_bind_int64(st.get(), 1, first - 1);
    sqlite3_bind_int64(st.get(), 2, day_of(until));
    int rc;
    while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
      out.push_back({.component = column_text(st.get(), 0),
                     .day = from_ns(sqlite3_column_int64(st.get(), 1) * kNsPerDay),
                     .worst = status_of_rank(sqlite3_column_int64(st.get(), 2)),
                     .last = status_of_rank(sqlite3_column_int64(st.get(), 3)),
                     .first_at = from_ns(sqlite3_column_int64(st.get(), 4)),
                     .last_at = from_ns(sqlite3_column_int64(st.get(), 5)),
                     .snapshots = sqlite3_column_int64(st.get(), 6)});
    }
    if (rc != SQLITE_DONE) return sql_error("reading the daily roll-up", rc);
  }
  rows::carry_days(out, first);
  return out;
}

Result<std::vector<ComponentBucket>> SqliteStore::component_buckets(TimePoint since,
                                                                    TimePoint until,
                                                                    core::Duration bucket) const {
  const auto plan = rows::plan_buckets(since, until, bucket);
  if (!plan) return std::unexpected(plan.error());
  const std::int64_t width = plan->width;
  const std::int64_t from_day = plan->from_day;
  const std::int64_t to_day = plan->to_day;
  using Row = rows::BucketRow;
  // By component: the carried-in rank (-1 when unknown), then the buckets with snapshots.
  std::vector<std::pair<std::string, int>> carried;
  std::vector<std::pair<std::string, Row>> found;
  {
    const auto lock = locked();
    {
      StmtUse st(bucket_carry_);
      sqlite3_bind_int64(st.get(), 1, to_ns(since));
      sqlite3_bind_int64(st.get(), 2, from_day);
      sqlite3_bind_int64(st.get(), 3, to_day);
      int rc;
      while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
        const bool known = sqlite3_column_type(st.get(), 1) != SQLITE_NULL;
        carried.emplace_back(column_text(st.get(), 0),
                             known ? sqlite3_column_int(st.get(), 1) : -1);
      }
      if (rc != SQLITE_DONE) return sql_error("reading the status before the buckets", rc);
    }
    // Whole quarters from the roll-up when the buckets are made of them.
    const bool by_quarter = plan->by_quarter;
    StmtUse st(by_quarter ? bucket_quarters_ : bucket_worst_);
    sqlite3_bind_int64(st.get(), 1, to_ns(since));
    sqlite3_bind_int64(st.get(), 2, to_ns(until));
    sqlite3_bind_int64(st.get(), 3, width);
    sqlite3_bind_int64(st.get(), 4, from_day);
    sqlite3_bind_int64(st.get(), 5, to_day);
    if (by_quarter) {
      sqlite3_bind_int64(st.get(), 6, plan->since_quarter);
      sqlite3_bind_int64(st.get(), 7, plan->until_quarter);
      sqlite3_bind_int64(st.get(), 8, plan->until_quarter * kNsPerQuarter);
    }
    int rc;
    while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
      found.emplace_back(column_text(st.get(), 0), Row{.index = sqlite3_column_int64(st.get(), 1),
                                                       .worst = sqlite3_column_int(st.get(), 2),
                                                       .last = sqlite3_column_int(st.get(), 3)});
    }
    if (rc != SQLITE_DONE) return sql_error("reading the component buckets", rc);
  }
  return rows::walk_buckets(carried, found, since, bucket, plan->count);
}

Result<std::size_t> SqliteStore::prune_component_days(TimePoint before) {
  const auto lock = locked();
  StmtUse st(prune_days_);
  sqlite3_bind_int64(st.get(), 1, day_of(before));
  if (auto r = step_done(st, "pruning the daily roll-up"); !r) return std::unexpected(r.error());
  auto deleted = static_cast<std::size_t>(sqlite3_changes64(db_.get()));
  {
    // The gate's history lives as long as the status page's days.
    StmtUse gates(prune_gates_);
    sqlite3_bind_int64(gates.get(), 1, to_ns(before));
    if (auto r = step_done(gates, "pruning the gate history"); !r)
      return std::unexpected(r.error());
    deleted += static_cast<std::size_t>(sqlite3_changes64(db_.get()));
  }
  if (deleted > 0) release_free_pages();
  return deleted;
}

Result<std::size_t> SqliteStore::prune(TimePoint before) {
  const auto lock = locked();
  // One transaction: both tables are pruned to the same horizon or neither is.
  if (auto r = exec("BEGIN IMMEDIATE", "starting a prune"); !r) return std::unexpected(r.error());
  std::size_t deleted = 0;
  for (const StmtHandle* h :
       {&prune_components_, &prune_quarters_, &prune_readiness_, &prune_alerts_, &prune_log_}) {
    StmtUse st(*h);
    sqlite3_bind_int64(st.get(), 1, to_ns(before));
    if (auto r = step_done(st, "pruning history"); !r) {
      (void)exec("ROLLBACK", "rolling back a prune");
      return std::unexpected(r.error());
    }
    // The roll-up's rows are not history rows.
    if (h != &prune_quarters_) deleted += static_cast<std::size_t>(sqlite3_changes64(db_.get()));
  }
  if (auto r = exec("COMMIT", "committing a prune"); !r) {
    (void)exec("ROLLBACK", "rolling back a prune");
    return std::unexpected(r.error());
  }
  if (deleted > 0) release_free_pages();
  return deleted;
}

// Caller holds mu_. Hands the pages a prune freed back to the file system (incremental vacuum;
// only in a database created with auto_vacuum=INCREMENTAL, see open()). Best effort: the rows
// are gone either way, and a failure leaves the pages on the free list for new rows.
void SqliteStore::release_free_pages() {
  (void)exec("PRAGMA incremental_vacuum", "releasing free pages");
}

Result<core::Alert> SqliteStore::read_alert(sqlite3_stmt* st) const {
  core::Alert a;
  a.fingerprint = column_text(st, 0);
  if (!rows::labels_from_text(column_text(st, 1), a.labels) ||
      !rows::labels_from_text(column_text(st, 2), a.annotations)) {
    return core::fail("store_corrupt", "alert '" + a.fingerprint + "' in '" + path_ +
                                           "' holds labels or annotations that do not parse");
  }
  a.starts_at = from_ns(sqlite3_column_int64(st, 3));
  a.ends_at = from_ns(sqlite3_column_int64(st, 4));
  a.generator_url = column_text(st, 5);
  a.timeout = sqlite3_column_int(st, 6) != 0;
  a.received_at = from_ns(sqlite3_column_int64(st, 7));
  return a;
}

// Caller holds mu_ and an open transaction.
Result<void> SqliteStore::put_alert_locked(const core::Alert& incoming) {
  std::optional<core::Alert> stored;
  {
    StmtUse get(get_alert_);
    sqlite3_bind_text(get.get(), 1, incoming.fingerprint.data(),
                      static_cast<int>(incoming.fingerprint.size()), SQLITE_STATIC);
    const int rc = sqlite3_step(get.get());
    if (rc == SQLITE_ROW) {
      auto a = read_alert(get.get());
      if (!a) return std::unexpected(a.error());
      stored = std::move(*a);
    } else if (rc != SQLITE_DONE) {
      return sql_error("reading a stored alert", rc);
    }
  }
  return write_alert_locked(stored ? core::merge_alert(*stored, incoming) : incoming);
}

// Caller holds mu_ and an open transaction.
Result<void> SqliteStore::write_alert_locked(const core::Alert& a) {
  const std::string labels = rows::labels_to_text(a.labels);
  const std::string annotations = rows::labels_to_text(a.annotations);
  StmtUse st(upsert_alert_);
  sqlite3_bind_text(st.get(), 1, a.fingerprint.data(), static_cast<int>(a.fingerprint.size()),
                    SQLITE_STATIC);
  sqlite3_bind_text64(st.get(), 2, labels.data(), labels.size(), SQLITE_STATIC, SQLITE_UTF8);
  sqlite3_bind_text64(st.get(), 3, annotations.data(), annotations.size(), SQLITE_STATIC,
                      SQLITE_UTF8);
  sqlite3_bind_int64(st.get(), 4, to_ns(a.starts_at));
  sqlite3_bind_int64(st.get(), 5, to_ns(a.ends_at));
  sqlite3_bind_text64(st.get(), 6, a.generator_url.data(), a.generator_url.size(), SQLITE_STATIC,
                      SQLITE_UTF8);
  sqlite3_bind_int(st.get(), 7, a.timeout ? 1 : 0);
  sqlite3_bind_int64(st.get(), 8, to_ns(a.received_at));
  return step_done(st, "storing an alert");
}

Result<void> SqliteStore::alert_batch(const std::vector<core::Alert>& batch,
                                      Result<void> (SqliteStore::*write)(const core::Alert&)) {
  if (batch.empty()) return {};
  for (const auto& a : batch) {
    if (a.fingerprint.empty()) {
      return core::fail("invalid_alert", "an alert without a fingerprint cannot be stored",
                        "fingerprint");
    }
  }
  const auto lock = locked();
  // One transaction per batch: all of it or none, and one WAL commit instead of one per alert.
  if (auto r = exec("BEGIN IMMEDIATE", "starting an alert batch"); !r) return r;
  for (const auto& a : batch) {
    if (auto r = (this->*write)(a); !r) {
      (void)exec("ROLLBACK", "rolling back an alert batch");
      return r;
    }
  }
  if (auto r = exec("COMMIT", "committing an alert batch"); !r) {
    (void)exec("ROLLBACK", "rolling back an alert batch");
    return r;
  }
  return {};
}

Result<void> SqliteStore::put_alerts(const std::vector<core::Alert>& batch) {
  return alert_batch(batch, &SqliteStore::put_alert_locked);
}

Result<void> SqliteStore::replace_alerts(const std::vector<core::Alert>& batch) {
  return alert_batch(batch, &SqliteStore::write_alert_locked);
}

Result<std::vector<core::Alert>> SqliteStore::alerts(bool active_only, TimePoint now) const {
  const auto lock = locked();
  StmtUse st(list_alerts_);
  sqlite3_bind_int(st.get(), 1, active_only ? 1 : 0);
  sqlite3_bind_int64(st.get(), 2, to_ns(now));
  std::vector<core::Alert> out;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    auto a = read_alert(st.get());
    if (!a) return std::unexpected(a.error());
    out.push_back(std::move(*a));
  }
  if (rc != SQLITE_DONE) return sql_error("reading alerts", rc);
  return out;
}

Result<void> SqliteStore::write_alerting(const std::vector<StateRow>& state,
                                         const std::vector<LogRow>& log,
                                         const std::vector<OutboxRow>& outbox) {
  if (state.empty() && log.empty() && outbox.empty()) return {};
  const auto lock = locked();
  if (auto r = exec("BEGIN IMMEDIATE", "starting an alerting write"); !r) return r;
  auto write = [&]() -> Result<void> {
    for (const StateRow& row : state) {
      StmtUse st(row.json.empty() ? delete_state_ : put_state_);
      sqlite3_bind_text(st.get(), 1, row.kind.data(), static_cast<int>(row.kind.size()),
                        SQLITE_STATIC);
      sqlite3_bind_text(st.get(), 2, row.key.data(), static_cast<int>(row.key.size()),
                        SQLITE_STATIC);
      if (!row.json.empty()) {
        sqlite3_bind_text(st.get(), 3, row.json.data(), static_cast<int>(row.json.size()),
                          SQLITE_STATIC);
      }
      if (auto r = step_done(st, "writing alerting state"); !r) return r;
    }
    for (const LogRow& row : log) {
      StmtUse st(append_log_);
      sqlite3_bind_text(st.get(), 1, row.kind.data(), static_cast<int>(row.kind.size()),
                        SQLITE_STATIC);
      sqlite3_bind_int64(st.get(), 2, to_ns(row.at));
      sqlite3_bind_text(st.get(), 3, row.json.data(), static_cast<int>(row.json.size()),
                        SQLITE_STATIC);
      if (auto r = step_done(st, "appending to the alerting log"); !r) return r;
    }
    for (const OutboxRow& row : outbox) {
      StmtUse st(insert_outbox_);
      auto text = [&](int col, const std::string& v) {
        sqlite3_bind_text(st.get(), col, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
      };
      text(1, row.id);
      text(2, row.receiver);
      text(3, row.integration);
      text(4, row.group_key);
      text(5, row.group_id);
      text(6, row.alerts_hash);
      text(7, row.reason);
      sqlite3_bind_int64(st.get(), 8, to_ns(row.decided_at));
      text(9, row.payload);
      const std::string_view state_word = to_string(row.state);
      sqlite3_bind_text(st.get(), 10, state_word.data(), static_cast<int>(state_word.size()),
                        SQLITE_STATIC);
      sqlite3_bind_int(st.get(), 11, row.attempts);
      sqlite3_bind_int64(st.get(), 12, to_ns(row.next_attempt_at));
      if (row.done_at) sqlite3_bind_int64(st.get(), 13, to_ns(*row.done_at));
      text(14, row.last_error);
      text(15, row.claimed_by);
      sqlite3_bind_int64(st.get(), 16, to_ns(row.claimed_until));
      if (auto r = step_done(st, "writing to the outbox"); !r) return r;
    }
    return {};
  };
  if (auto r = write(); !r) {
    (void)exec("ROLLBACK", "rolling back an alerting write");
    return r;
  }
  if (auto r = exec("COMMIT", "committing an alerting write"); !r) {
    (void)exec("ROLLBACK", "rolling back an alerting write");
    return r;
  }
  return {};
}

Result<std::vector<StateRow>> SqliteStore::alerting_state(const std::string& kind) const {
  const auto lock = locked();
  StmtUse st(list_state_);
  sqlite3_bind_text(st.get(), 1, kind.data(), static_cast<int>(kind.size()), SQLITE_STATIC);
  std::vector<StateRow> out;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    out.push_back({.kind = column_text(st.get(), 0),
                   .key = column_text(st.get(), 1),
                   .json = column_text(st.get(), 2)});
  }
  if (rc != SQLITE_DONE) return sql_error("reading alerting state", rc);
  return out;
}

Result<void> SqliteStore::put_gate(const GateChange& change) {
  const auto lock = locked();
  StmtUse st(put_gate_);
  sqlite3_bind_int64(st.get(), 1, to_ns(change.at));
  sqlite3_bind_text64(st.get(), 2, change.decision.data(), change.decision.size(), SQLITE_STATIC,
                      SQLITE_UTF8);
  sqlite3_bind_text64(st.get(), 3, change.json.data(), change.json.size(), SQLITE_STATIC,
                      SQLITE_UTF8);
  return step_done(st, "storing a gate change");
}

Result<std::vector<GateChange>> SqliteStore::gate_history(TimePoint since, TimePoint until,
                                                          std::size_t limit) const {
  const auto lock = locked();
  StmtUse st(gate_range_);
  sqlite3_bind_int64(st.get(), 1, to_ns(since));
  sqlite3_bind_int64(st.get(), 2, to_ns(until));
  sqlite3_bind_int64(st.get(), 3, static_cast<sqlite3_int64>(limit));
  std::vector<GateChange> out;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    out.push_back({.at = from_ns(sqlite3_column_int64(st.get(), 0)),
                   .decision = column_text(st.get(), 1),
                   .json = column_text(st.get(), 2)});
  }
  if (rc != SQLITE_DONE) return sql_error("reading the gate history", rc);
  return out;
}

Result<void> SqliteStore::put_drill_run(const DrillRunRow& row) {
  const auto lock = locked();
  StmtUse st(put_drill_);
  const auto text = [&](int col, const std::string& v) {
    sqlite3_bind_text64(st.get(), col, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
  };
  text(1, row.id);
  text(2, row.scenario);
  text(3, row.verdict);
  sqlite3_bind_int64(st.get(), 4, to_ns(row.started_at));
  if (row.finished_at) {
    sqlite3_bind_int64(st.get(), 5, to_ns(*row.finished_at));
  } else {
    sqlite3_bind_null(st.get(), 5);
  }
  text(6, row.json);
  text(7, row.markdown);
  return step_done(st, "storing a drill run");
}

namespace {

DrillRunRow read_drill(sqlite3_stmt* st) {
  DrillRunRow r{.id = column_text(st, 0),
                .scenario = column_text(st, 1),
                .verdict = column_text(st, 2),
                .started_at = from_ns(sqlite3_column_int64(st, 3)),
                .json = column_text(st, 5),
                .markdown = column_text(st, 6)};
  if (sqlite3_column_type(st, 4) != SQLITE_NULL)
    r.finished_at = from_ns(sqlite3_column_int64(st, 4));
  return r;
}

}  // namespace

Result<std::vector<DrillRunRow>> SqliteStore::drill_runs(const DrillRunQuery& q) const {
  const auto lock = locked();
  StmtUse st(list_drills_);
  sqlite3_bind_text64(st.get(), 1, q.scenario.data(), q.scenario.size(), SQLITE_STATIC,
                      SQLITE_UTF8);
  sqlite3_bind_int(st.get(), 2, q.unfinished_only ? 1 : 0);
  sqlite3_bind_int64(st.get(), 3, static_cast<sqlite3_int64>(q.limit));
  std::vector<DrillRunRow> out;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) out.push_back(read_drill(st.get()));
  if (rc != SQLITE_DONE) return sql_error("reading drill runs", rc);
  return out;
}

Result<std::int64_t> SqliteStore::put_signoff(const SignoffRow& row) {
  const auto lock = locked();
  StmtUse st(put_signoff_);
  const auto text = [&](int col, const std::string& v) {
    sqlite3_bind_text64(st.get(), col, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
  };
  text(1, row.signoff);
  text(2, row.by);
  sqlite3_bind_int64(st.get(), 3, to_ns(row.at));
  sqlite3_bind_int64(st.get(), 4, to_ns(row.recorded_at));
  text(5, row.evidence);
  text(6, row.note);
  text(7, row.source);
  if (auto ok = step_done(st, "storing a sign-off"); !ok) return std::unexpected(ok.error());
  return static_cast<std::int64_t>(sqlite3_last_insert_rowid(db_.get()));
}

Result<std::vector<SignoffRow>> SqliteStore::signoffs(const SignoffQuery& q) const {
  const auto lock = locked();
  StmtUse st(list_signoffs_);
  sqlite3_bind_text64(st.get(), 1, q.signoff.data(), q.signoff.size(), SQLITE_STATIC, SQLITE_UTF8);
  sqlite3_bind_int64(st.get(), 2, static_cast<sqlite3_int64>(q.limit));
  std::vector<SignoffRow> out;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    out.push_back({.id = sqlite3_column_int64(st.get(), 0),
                   .signoff = column_text(st.get(), 1),
                   .by = column_text(st.get(), 2),
                   .at = from_ns(sqlite3_column_int64(st.get(), 3)),
                   .recorded_at = from_ns(sqlite3_column_int64(st.get(), 4)),
                   .evidence = column_text(st.get(), 5),
                   .note = column_text(st.get(), 6),
                   .source = column_text(st.get(), 7)});
  }
  if (rc != SQLITE_DONE) return sql_error("reading sign-offs", rc);
  return out;
}

Result<std::optional<DrillRunRow>> SqliteStore::drill_run(const std::string& id) const {
  const auto lock = locked();
  StmtUse st(get_drill_);
  sqlite3_bind_text64(st.get(), 1, id.data(), id.size(), SQLITE_STATIC, SQLITE_UTF8);
  const int rc = sqlite3_step(st.get());
  if (rc == SQLITE_DONE) return std::optional<DrillRunRow>();
  if (rc != SQLITE_ROW) return sql_error("reading a drill run", rc);
  return std::optional<DrillRunRow>(read_drill(st.get()));
}

Result<std::vector<LogRow>> SqliteStore::alerting_log(const std::string& kind, TimePoint since,
                                                      TimePoint until, std::size_t limit) const {
  const auto lock = locked();
  StmtUse st(log_range_);
  sqlite3_bind_text(st.get(), 1, kind.data(), static_cast<int>(kind.size()), SQLITE_STATIC);
  sqlite3_bind_int64(st.get(), 2, to_ns(since));
  sqlite3_bind_int64(st.get(), 3, to_ns(until));
  sqlite3_bind_int64(st.get(), 4, static_cast<sqlite3_int64>(limit));
  std::vector<LogRow> out;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    out.push_back({.id = sqlite3_column_int64(st.get(), 0),
                   .kind = column_text(st.get(), 1),
                   .at = from_ns(sqlite3_column_int64(st.get(), 2)),
                   .json = column_text(st.get(), 3)});
  }
  if (rc != SQLITE_DONE) return sql_error("reading the alerting log", rc);
  return out;
}

Result<void> SqliteStore::update_outbox(const std::vector<OutboxUpdate>& updates) {
  if (updates.empty()) return {};
  const auto lock = locked();
  if (auto r = exec("BEGIN IMMEDIATE", "starting an outbox update"); !r) return r;
  auto write = [&]() -> Result<void> {
    for (const OutboxUpdate& u : updates) {
      StmtUse st(update_outbox_);
      sqlite3_bind_text(st.get(), 1, u.id.data(), static_cast<int>(u.id.size()), SQLITE_STATIC);
      const std::string_view state_word = to_string(u.state);
      sqlite3_bind_text(st.get(), 2, state_word.data(), static_cast<int>(state_word.size()),
                        SQLITE_STATIC);
      sqlite3_bind_int(st.get(), 3, u.attempts);
      sqlite3_bind_int64(st.get(), 4, to_ns(u.next_attempt_at));
      if (u.done_at) sqlite3_bind_int64(st.get(), 5, to_ns(*u.done_at));
      sqlite3_bind_text(st.get(), 6, u.last_error.data(), static_cast<int>(u.last_error.size()),
                        SQLITE_STATIC);
      if (auto r = step_done(st, "updating the outbox"); !r) return r;
    }
    return {};
  };
  if (auto r = write(); !r) {
    (void)exec("ROLLBACK", "rolling back an outbox update");
    return r;
  }
  if (auto r = exec("COMMIT", "committing an outbox update"); !r) {
    (void)exec("ROLLBACK", "rolling back an outbox update");
    return r;
  }
  return {};
}

Result<std::vector<OutboxRow>> SqliteStore::collect_outbox(const StmtUse& st) const {
  std::vector<OutboxRow> out;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    OutboxRow row{.id = column_text(st.get(), 0),
                  .receiver = column_text(st.get(), 1),
                  .integration = column_text(st.get(), 2),
                  .group_key = column_text(st.get(), 3),
                  .group_id = column_text(st.get(), 4),
                  .alerts_hash = column_text(st.get(), 5),
                  .reason = column_text(st.get(), 6),
                  .decided_at = from_ns(sqlite3_column_int64(st.get(), 7)),
                  .payload = column_text(st.get(), 8)};
    const auto state = parse_outbox_state(column_text(st.get(), 9));
    if (!state)
      return core::fail("store_corrupt", "outbox row '" + row.id + "' has no valid state");
    row.state = *state;
    row.attempts = sqlite3_column_int(st.get(), 10);
    row.next_attempt_at = from_ns(sqlite3_column_int64(st.get(), 11));
    if (sqlite3_column_type(st.get(), 12) != SQLITE_NULL) {
      row.done_at = from_ns(sqlite3_column_int64(st.get(), 12));
    }
    row.last_error = column_text(st.get(), 13);
    row.claimed_by = column_text(st.get(), 14);
    row.claimed_until = from_ns(sqlite3_column_int64(st.get(), 15));
    out.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) return sql_error("reading the outbox", rc);
  return out;
}

Result<std::vector<OutboxRow>> SqliteStore::outbox_pending() const {
  const auto lock = locked();
  StmtUse st(outbox_pending_);
  return collect_outbox(st);
}

Result<std::vector<OutboxRow>> SqliteStore::outbox(const OutboxQuery& q) const {
  const auto lock = locked();
  StmtUse st(outbox_query_);
  sqlite3_bind_text(st.get(), 1, q.receiver.data(), static_cast<int>(q.receiver.size()),
                    SQLITE_STATIC);
  sqlite3_bind_text(st.get(), 2, q.group_key.data(), static_cast<int>(q.group_key.size()),
                    SQLITE_STATIC);
  // Not a default string_view: a null pointer would bind NULL, which equals nothing.
  const std::string_view state_word = q.state ? to_string(*q.state) : std::string_view("");
  sqlite3_bind_text(st.get(), 3, state_word.data(), static_cast<int>(state_word.size()),
                    SQLITE_STATIC);
  sqlite3_bind_int64(st.get(), 4, to_ns(q.since));
  sqlite3_bind_int64(st.get(), 5, to_ns(q.until));
  sqlite3_bind_int64(st.get(), 6, to_limit(q.limit));
  return collect_outbox(st);
}

Result<std::vector<OutboxRow>> SqliteStore::claim_outbox(const std::string& owner, TimePoint now,
                                                         core::Duration lease, std::size_t limit) {
  const auto lock = locked();
  // One writer: the read and the claims in one IMMEDIATE transaction are atomic.
  if (auto r = exec("BEGIN IMMEDIATE", "starting an outbox claim"); !r) {
    return std::unexpected(r.error());
  }
  auto claim = [&]() -> Result<std::vector<OutboxRow>> {
    std::vector<OutboxRow> rows;
    {
      StmtUse st(claimable_);
      sqlite3_bind_int64(st.get(), 2, to_ns(now));
      sqlite3_bind_int64(st.get(), 3, to_limit(limit));
      auto read = collect_outbox(st);
      if (!read) return std::unexpected(read.error());
      rows = std::move(*read);
    }
    for (OutboxRow& row : rows) {
      row.claimed_by = owner;
      row.claimed_until = now + lease;
      StmtUse st(claim_);
      sqlite3_bind_text(st.get(), 1, row.id.data(), static_cast<int>(row.id.size()), SQLITE_STATIC);
      sqlite3_bind_text(st.get(), 2, owner.data(), static_cast<int>(owner.size()), SQLITE_STATIC);
      sqlite3_bind_int64(st.get(), 3, to_ns(now + lease));
      if (auto r = step_done(st, "claiming an outbox row"); !r) return std::unexpected(r.error());
    }
    return rows;
  };
  auto rows = claim();
  if (!rows) {
    (void)exec("ROLLBACK", "rolling back an outbox claim");
    return rows;
  }
  if (auto r = exec("COMMIT", "committing an outbox claim"); !r) {
    (void)exec("ROLLBACK", "rolling back an outbox claim");
    return std::unexpected(r.error());
  }
  return rows;
}

Result<std::size_t> SqliteStore::extend_outbox_claims(const std::string& owner, TimePoint until,
                                                      TimePoint ending_before) {
  const auto lock = locked();
  StmtUse st(extend_claims_);
  sqlite3_bind_text(st.get(), 1, owner.data(), static_cast<int>(owner.size()), SQLITE_STATIC);
  sqlite3_bind_int64(st.get(), 2, to_ns(until));
  sqlite3_bind_int64(st.get(), 3, to_ns(ending_before));
  if (auto r = step_done(st, "extending outbox claims"); !r) return std::unexpected(r.error());
  return static_cast<std::size_t>(sqlite3_changes(db_.get()));
}

Result<std::size_t> SqliteStore::prune_outbox(TimePoint before) {
  const auto lock = locked();
  StmtUse st(prune_outbox_);
  sqlite3_bind_int64(st.get(), 1, to_ns(before));
  if (auto r = step_done(st, "pruning the outbox"); !r) return std::unexpected(r.error());
  const auto deleted = static_cast<std::size_t>(sqlite3_changes(db_.get()));
  if (deleted > 0) release_free_pages();
  return deleted;
}

}  // namespace

Result<std::unique_ptr<Store>> open_sqlite_store(const std::filesystem::path& file) {
  return SqliteStore::open(file);
}

int sqlite_schema_version() { return kSchemaVersion; }

}  // namespace opsready::store
