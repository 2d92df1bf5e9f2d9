// PostgreSQL implementation of Store, through libpq.
//
// A small pool of connections (PostgresOptions::pool_size), each used by one call at a time.
// Why no pooling library: libpq has none, Debian packages none for C++ (libpqxx has no pool
// either), and what is needed here is a mutex, a free list and a reconnect rule. Statements
// go through PQexecParams (unnamed, text parameters): a reconnect then needs no re-preparing,
// and the parse cost is small next to the loopback round trip.
//
// Outage rule: a call that finds its connection broken reconnects it (PQreset) unless another
// reconnect failed less than the backoff ago, in which case it fails at once with
// `store_unavailable`. The backoff doubles from reconnect_backoff_initial to
// reconnect_backoff_max while reconnects fail, and starts again after one succeeds. So an
// outage costs each call either nothing (fail fast) or one connect attempt, never a queue.
//
// Times are BIGINT nanoseconds since the epoch, as in the SQLite store, so both stores answer
// alike to the nanosecond; label sets and documents are TEXT holding JSON.

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "opsready/store/postgres_connection.h"
#include "opsready/store/rows.h"
#include "opsready/store/store.h"

namespace opsready::store {
namespace {

using core::Error;
using core::Result;
using core::TimePoint;
using rows::day_of;
using rows::from_ns;
using rows::kNsPerQuarter;
using rows::status_of_rank;
using rows::to_limit;
using rows::to_ns;

// Schema migrations, oldest first; migration k (0-based) takes opsready_schema.version from k
// to k+1. Append only, as the SQLite store's. Version 1 is the SQLite store's schema 10 in
// PostgreSQL's types, plus the outbox's claim columns (claimed_by, claimed_until_ns) that let
// replicas share the outbox.
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE component_snapshots (
  id             BIGSERIAL PRIMARY KEY,
  component      TEXT   NOT NULL,
  status         TEXT   NOT NULL,
  observed_at_ns BIGINT NOT NULL,
  json           TEXT   NOT NULL
);
CREATE INDEX component_snapshots_component_time
  ON component_snapshots (component, observed_at_ns);
CREATE INDEX component_snapshots_time ON component_snapshots (observed_at_ns);
CREATE TABLE readiness_snapshots (
  id              BIGSERIAL PRIMARY KEY,
  generated_at_ns BIGINT NOT NULL,
  status          TEXT   NOT NULL,
  json            TEXT   NOT NULL
);
CREATE INDEX readiness_snapshots_time ON readiness_snapshots (generated_at_ns);
CREATE TABLE alerts (
  id             BIGSERIAL PRIMARY KEY,
  fingerprint    TEXT    NOT NULL UNIQUE,
  labels         TEXT    NOT NULL,
  annotations    TEXT    NOT NULL,
  starts_at_ns   BIGINT  NOT NULL,
  ends_at_ns     BIGINT  NOT NULL,
  generator_url  TEXT    NOT NULL,
  timeout        INTEGER NOT NULL,
  received_at_ns BIGINT  NOT NULL
);
CREATE INDEX alerts_ends_at ON alerts (ends_at_ns);
CREATE TABLE alerting_state (
  kind TEXT NOT NULL,
  key  TEXT NOT NULL,
  json TEXT NOT NULL,
  PRIMARY KEY (kind, key)
);
CREATE TABLE alerting_log (
  id    BIGSERIAL PRIMARY KEY,
  kind  TEXT   NOT NULL,
  at_ns BIGINT NOT NULL,
  json  TEXT   NOT NULL
);
CREATE INDEX alerting_log_kind_time ON alerting_log (kind, at_ns);
CREATE INDEX alerting_log_time ON alerting_log (at_ns);
CREATE TABLE outbox (
  seq                BIGSERIAL PRIMARY KEY,
  id                 TEXT    NOT NULL UNIQUE,
  receiver           TEXT    NOT NULL,
  integration        TEXT    NOT NULL,
  group_key          TEXT    NOT NULL,
  group_id           TEXT    NOT NULL,
  alerts_hash        TEXT    NOT NULL,
  reason             TEXT    NOT NULL,
  decided_at_ns      BIGINT  NOT NULL,
  payload            TEXT    NOT NULL,
  state              TEXT    NOT NULL,
  attempts           INTEGER NOT NULL,
  next_attempt_at_ns BIGINT  NOT NULL,
  done_at_ns         BIGINT,
  last_error         TEXT    NOT NULL,
  claimed_by         TEXT    NOT NULL DEFAULT '',
  claimed_until_ns   BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX outbox_group ON outbox (receiver, group_key, decided_at_ns);
CREATE INDEX outbox_pending ON outbox (decided_at_ns, seq) WHERE state = 'pending';
CREATE INDEX outbox_done ON outbox (done_at_ns) WHERE done_at_ns IS NOT NULL;
CREATE TABLE component_days (
  component   TEXT    NOT NULL,
  day         BIGINT  NOT NULL,
  worst       INTEGER NOT NULL,
  last        INTEGER NOT NULL,
  first_at_ns BIGINT  NOT NULL,
  last_at_ns  BIGINT  NOT NULL,
  snapshots   BIGINT  NOT NULL,
  PRIMARY KEY (component, day)
);
CREATE INDEX component_days_day ON component_days (day, component);
CREATE TABLE component_quarters (
  component  TEXT    NOT NULL,
  quarter    BIGINT  NOT NULL,
  worst      INTEGER NOT NULL,
  last       INTEGER NOT NULL,
  last_at_ns BIGINT  NOT NULL,
  PRIMARY KEY (component, quarter)
);
CREATE INDEX component_quarters_quarter ON component_quarters (quarter);
CREATE TABLE drill_runs (
  id             TEXT   NOT NULL PRIMARY KEY,
  scenario       TEXT   NOT NULL,
  verdict        TEXT   NOT NULL,
  started_at_ns  BIGINT NOT NULL,
  finished_at_ns BIGINT,
  json           TEXT   NOT NULL,
  markdown       TEXT   NOT NULL
);
CREATE INDEX drill_runs_started ON drill_runs (started_at_ns);
CREATE TABLE gate_history (
  id       BIGSERIAL PRIMARY KEY,
  at_ns    BIGINT NOT NULL,
  decision TEXT   NOT NULL,
  json     TEXT   NOT NULL
);
CREATE INDEX gate_history_at ON gate_history (at_ns);
CREATE TABLE signoffs (
  id             BIGSERIAL PRIMARY KEY,
  signoff        TEXT   NOT NULL,
  "by"           TEXT   NOT NULL,
  at_ns          BIGINT NOT NULL,
  recorded_at_ns BIGINT NOT NULL,
  evidence       TEXT   NOT NULL,
  note           TEXT   NOT NULL,
  source         TEXT   NOT NULL
);
CREATE INDEX signoffs_by_name ON signoffs (signoff, at_ns);
CREATE INDEX signoffs_at ON signoffs (at_ns);
)sql",
};

constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));
// The advisory lock that serializes migrations between replicas opening the same database
// (an arbitrary constant: "opsr" in ASCII).
constexpr const char* kMigrationLock = "1869640562";

#define STATUS_RANK(col) "CASE " col " WHEN 'fail' THEN 2 WHEN 'warn' THEN 1 ELSE 0 END"
#define OUTBOX_COLUMNS                                                                           \
  "id, receiver, integration, group_key, group_id, alerts_hash, reason, decided_at_ns, payload," \
  " state, attempts, next_attempt_at_ns, done_at_ns, last_error, claimed_by, claimed_until_ns"

using PgResult = pg::ResultPtr;
using PgConn = pg::Conn;
using pg::code_for_state;

// Text parameters of one statement; integers in decimal, NULL as a null pointer.
class Params {
 public:
  Params& text(std::string_view v) {
    values_.emplace_back(v);
    null_.push_back(false);
    return *this;
  }
  Params& int64(std::int64_t v) {
    values_.push_back(std::to_string(v));
    null_.push_back(false);
    return *this;
  }
  Params& null() {
    values_.emplace_back();
    null_.push_back(true);
    return *this;
  }
  Params& optional_int64(const std::optional<TimePoint>& t) {
    return t ? int64(to_ns(*t)) : null();
  }
  [[nodiscard]] int size() const { return static_cast<int>(values_.size()); }
  [[nodiscard]] std::vector<const char*> pointers() const {
    std::vector<const char*> out;
    out.reserve(values_.size());
    for (std::size_t i = 0; i < values_.size(); ++i) {
      out.push_back(null_[i] ? nullptr : values_[i].c_str());
    }
    return out;
  }

 private:
  std::vector<std::string> values_;
  std::vector<bool> null_;
};

// An array literal whose elements may be NULL (unquoted), the others as text_array's.
std::string nullable_array(const std::vector<std::optional<std::string>>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    if (!items[i]) {
      out += "NULL";
      continue;
    }
    out += '"';
    for (const char c : *items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

// A text[] literal ({"a","b"}) for unnest(): every element quoted, `"` and `\` escaped.
std::string text_array(const std::vector<std::string>& items) {
  return nullable_array(std::vector<std::optional<std::string>>(items.begin(), items.end()));
}

std::string cell(const PGresult* r, int row, int col) {
  return std::string(PQgetvalue(r, row, col), static_cast<std::size_t>(PQgetlength(r, row, col)));
}
std::int64_t cell_int(const PGresult* r, int row, int col) {
  const char* p = PQgetvalue(r, row, col);
  std::int64_t v = 0;
  std::from_chars(p, p + PQgetlength(r, row, col), v);
  return v;
}
bool cell_null(const PGresult* r, int row, int col) { return PQgetisnull(r, row, col) != 0; }
std::size_t affected(const PGresult* r) {
  const char* n = PQcmdTuples(const_cast<PGresult*>(r));
  std::size_t v = 0;
  if (n != nullptr) std::from_chars(n, n + std::char_traits<char>::length(n), v);
  return v;
}

class PostgresStore;

// One connection of the pool, leased to one call.
class Session {
 public:
  // `pooled`: the connection goes back to the pool when the session ends.
  Session(PostgresStore* store, PGconn* conn, bool pooled = true)
      : store_(store), conn_(conn), pooled_(pooled) {}
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session();

  Result<PgResult> exec(const char* sql, const Params& p, std::string_view what);
  Result<PgResult> exec(const char* sql, std::string_view what) {
    return exec(sql, Params{}, what);
  }
  // Runs `body` between BEGIN and COMMIT; rolls back when it fails.
  template <class T, class F>
  Result<T> transaction(std::string_view what, F&& body) {
    if (auto r = exec("BEGIN", what); !r) return std::unexpected(r.error());
    Result<T> out = body();
    if (!out) {
      (void)exec("ROLLBACK", what);
      return out;
    }
    if (auto r = exec("COMMIT", what); !r) {
      (void)exec("ROLLBACK", what);
      return std::unexpected(r.error());
    }
    return out;
  }

 private:
  PostgresStore* store_;
  PGconn* conn_;
  bool pooled_;
};

class PostgresStore final : public Store {
 public:
  static Result<std::unique_ptr<Store>> open(const PostgresOptions& o);
  ~PostgresStore() override = default;

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
  Result<std::vector<StateRow>> alerting_state(const std::string& kind) const override;
  Result<void> put_gate(const GateChange& change) override;
  Result<std::vector<GateChange>> gate_history(TimePoint since, TimePoint until,
                                               std::size_t limit) const override;
  Result<void> put_drill_run(const DrillRunRow& row) override;
  Result<std::vector<DrillRunRow>> drill_runs(const DrillRunQuery& q) const override;
  Result<std::optional<DrillRunRow>> drill_run(const std::string& id) const override;
  Result<std::int64_t> put_signoff(const SignoffRow& row) override;
  Result<std::vector<SignoffRow>> signoffs(const SignoffQuery& q) const override;
  Result<std::vector<LogRow>> alerting_log(const std::string& kind, TimePoint since,
                                           TimePoint until, std::size_t limit) const override;

  // Session's side: the error of a failed statement, noting a connection that broke.
  std::unexpected<Error> statement_error(PGconn* conn, const PGresult* r, std::string_view what);
  void release(PGconn* conn);

 private:
  explicit PostgresStore(PostgresOptions o) : options_(std::move(o)) {}

  // A pooled connection for one call (waits while all are busy), ready for use: reconnected
  // when it was broken (or refused at once inside the backoff), with the fault's settings.
  Result<std::unique_ptr<Session>> session() const;
  Result<PgConn> connect() const;
  Result<void> prepare_connection(PGconn* conn) const;
  Result<void> migrate(PGconn* conn);
  std::string where() const { return where_; }

  Result<std::vector<core::ComponentSnapshot>> read_components(const PGresult* r) const;
  Result<std::vector<OutboxRow>> read_outbox(const PGresult* r) const;
  Result<std::vector<core::Alert>> read_alerts(const PGresult* r) const;
  // Merges (put_alerts) or replaces (replace_alerts) a batch of alerts in one transaction.
  Result<void> alert_batch(const std::vector<core::Alert>& batch, bool merge);

  const PostgresOptions options_;
  std::string where_;  // "PostgreSQL host:port/db", for messages (never the password)

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  mutable std::vector<PGconn*> idle_;  // guarded by mu_; owned through all_
  std::vector<PgConn> all_;            // fixed after open
  // Reconnect backoff, guarded by mu_.
  mutable std::chrono::steady_clock::time_point retry_at_{};
  mutable core::Duration backoff_{};
  mutable std::string last_connect_error_;
  StoreFault fault_;                    // guarded by mu_
  std::uint64_t fault_generation_ = 0;  // guarded by mu_
  // Per connection, guarded by mu_: the fault generation its session has applied, and whether
  // it must be reconnected before its next use: set on every connection when one is found
  // broken (a server restart closed them all, but libpq notices only at their next use, which
  // would fail its caller's statement).
  struct ConnState {
    PGconn* conn = nullptr;
    std::uint64_t fault_generation = 0;
    bool stale = false;
  };
  mutable std::vector<ConnState> conns_;
  ConnState& state_of(PGconn* conn) const {
    for (ConnState& c : conns_) {
      if (c.conn == conn) return c;
    }
    return conns_.front();  // unreachable: every pooled connection has its state
  }
};

Session::~Session() {
  if (pooled_) store_->release(conn_);
}

Result<PgResult> Session::exec(const char* sql, const Params& p, std::string_view what) {
  const auto values = p.pointers();
  // Without parameters through PQexec, which also runs several statements (a migration).
  PgResult r(p.size() == 0
                 ? PQexec(conn_, sql)
                 : PQexecParams(conn_, sql, p.size(), nullptr, values.data(), nullptr, nullptr, 0));
  const ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
  return store_->statement_error(conn_, r.get(), what);
}

std::unexpected<Error> PostgresStore::statement_error(PGconn* conn, const PGresult* r,
                                                      std::string_view what) {
  const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string code = state != nullptr ? code_for_state(state) : "store_unavailable";
  if (PQstatus(conn) == CONNECTION_BAD) {
    code = "store_unavailable";
    std::lock_guard lock(mu_);
    for (ConnState& c : conns_) c.stale = true;
  }
  std::string message = r != nullptr ? PQresultErrorMessage(r) : PQerrorMessage(conn);
  if (message.empty()) message = PQerrorMessage(conn);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return core::fail(code, std::string(what) + " failed on " + where_ + ": " + message);
}

void PostgresStore::release(PGconn* conn) {
  {
    std::lock_guard lock(mu_);
    idle_.push_back(conn);
  }
  cv_.notify_one();
}

Result<PgConn> PostgresStore::connect() const { return pg::connect(options_, "opsready"); }

Result<void> PostgresStore::prepare_connection(PGconn* conn) const {
  // Errors and notices go to our messages, not to stderr.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  if (PQserverVersion(conn) < 110000) {
    return core::fail("store_cannot_open", "PostgreSQL " + std::to_string(PQserverVersion(conn)) +
                                               " is too old: opsready needs 11 or newer");
  }
  return {};
}

Result<std::unique_ptr<Session>> PostgresStore::session() const {
  auto* self = const_cast<PostgresStore*>(this);
  PGconn* conn = nullptr;
  StoreFault fault;
  std::uint64_t generation = 0;
  bool broken = false;
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return !idle_.empty(); });
    conn = idle_.back();
    idle_.pop_back();
    fault = fault_;
    generation = fault_generation_;
    broken = PQstatus(conn) != CONNECTION_OK || state_of(conn).stale;
    if (broken && std::chrono::steady_clock::now() < retry_at_) {
      idle_.push_back(conn);
      lock.unlock();
      cv_.notify_one();
      return core::fail("store_unavailable", where_ + " is unreachable (" + last_connect_error_ +
                                                 "); reconnecting with backoff");
    }
  }
  auto s = std::make_unique<Session>(self, conn);  // returns conn to the pool on every path
  if (broken) {
    PQreset(conn);
    std::lock_guard lock(mu_);
    if (PQstatus(conn) != CONNECTION_OK) {
      std::string msg = PQerrorMessage(conn);
      while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
      last_connect_error_ = msg;
      backoff_ = backoff_ == core::Duration::zero()
                     ? options_.reconnect_backoff_initial
                     : std::min(backoff_ * 2, options_.reconnect_backoff_max);
      retry_at_ = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(backoff_);
      return core::fail("store_unavailable", "cannot reconnect to " + where_ + ": " + msg);
    }
    backoff_ = core::Duration::zero();
    retry_at_ = {};
    // A new server session: the fault's settings are gone with the old one.
    state_of(conn) = ConnState{.conn = conn};
  }
  if (broken) {
    if (auto r = prepare_connection(conn); !r) return std::unexpected(r.error());
  }
  std::uint64_t applied = 0;
  {
    std::lock_guard lock(mu_);
    applied = state_of(conn).fault_generation;
  }
  if (applied != generation) {
    // The drill's read-only fault is PostgreSQL's own: a read-only transaction refuses every
    // write with SQLSTATE 25006, as a hot standby does.
    const char* sql = fault.read_only ? "SET default_transaction_read_only = on"
                                      : "SET default_transaction_read_only = off";
    if (auto r = s->exec(sql, "setting the drill's store fault"); !r) {
      return std::unexpected(r.error());
    }
    std::lock_guard lock(mu_);
    state_of(conn).fault_generation = generation;
  }
  if (fault.delay > core::Duration::zero()) std::this_thread::sleep_for(fault.delay);
  return s;
}

Result<void> PostgresStore::migrate(PGconn* conn) {
  Session s(this, conn, /*pooled=*/false);  // open() puts it in the pool afterwards
  auto out = s.transaction<void>("applying schema migrations", [&]() -> Result<void> {
    if (auto r =
            s.exec((std::string("SELECT pg_advisory_xact_lock(") + kMigrationLock + ")").c_str(),
                   "locking the schema");
        !r) {
      return std::unexpected(r.error());
    }
    if (auto r = s.exec("CREATE TABLE IF NOT EXISTS opsready_schema (version INTEGER NOT NULL)",
                        "creating the schema version table");
        !r) {
      return std::unexpected(r.error());
    }
    auto v = s.exec("SELECT version FROM opsready_schema", "reading the schema version");
    if (!v) return std::unexpected(v.error());
    int version = 0;
    if (PQntuples(v->get()) == 0) {
      if (auto r = s.exec("INSERT INTO opsready_schema (version) VALUES (0)",
                          "recording the schema version");
          !r) {
        return std::unexpected(r.error());
      }
    } else if (PQntuples(v->get()) > 1) {
      return core::fail("store_corrupt", where_ + ": opsready_schema has more than one row");
    } else {
      version = static_cast<int>(cell_int(v->get(), 0, 0));
    }
    if (version > kSchemaVersion) {
      return core::fail("store_schema_too_new",
                        where_ + " has schema version " + std::to_string(version) +
                            ", newer than version " + std::to_string(kSchemaVersion) +
                            " that this opsready build knows; run a newer opsready or point "
                            "the store at another database");
    }
    if (version < 0) {
      return core::fail("store_corrupt",
                        where_ + " has a negative schema version " + std::to_string(version));
    }
    // All pending migrations in this one transaction: PostgreSQL's DDL is transactional, so a
    // failure leaves the schema as it was.
    for (int k = version; k < kSchemaVersion; ++k) {
      if (auto r = s.exec(kMigrations[k], "applying schema migration " + std::to_string(k + 1));
          !r) {
        Error e = r.error();
        if (e.code == "store_failed") e.code = "store_migration_failed";
        return std::unexpected(std::move(e));
      }
    }
    if (version != kSchemaVersion) {
      if (auto r = s.exec("UPDATE opsready_schema SET version = $1", Params().int64(kSchemaVersion),
                          "recording the schema version");
          !r) {
        return std::unexpected(r.error());
      }
    }
    return {};
  });
  return out;
}

Result<std::unique_ptr<Store>> PostgresStore::open(const PostgresOptions& o) {
  if (o.dsn.empty()) return core::fail("store_cannot_open", "store.postgres.dsn is empty");
  if (o.pool_size == 0) return core::fail("store_cannot_open", "store.postgres.pool_size is 0");
  std::unique_ptr<PostgresStore> store(new PostgresStore(o));
  for (std::size_t i = 0; i < o.pool_size; ++i) {
    auto conn = store->connect();
    if (!conn) return std::unexpected(conn.error());
    if (auto r = store->prepare_connection(conn->get()); !r) return std::unexpected(r.error());
    if (i == 0) {
      store->where_ = std::string("PostgreSQL ") + PQhost(conn->get()) + ":" + PQport(conn->get()) +
                      "/" + PQdb(conn->get());
      if (auto r = store->migrate(conn->get()); !r) return std::unexpected(r.error());
    }
    store->conns_.push_back({.conn = conn->get()});
    store->idle_.push_back(conn->get());
    store->all_.push_back(std::move(*conn));
  }
  return std::unique_ptr<Store>(std::move(store));
}

Result<void> PostgresStore::set_fault(const StoreFault& fault) {
  std::lock_guard lock(mu_);
  if (fault_ != fault) {
    fault_ = fault;
    ++fault_generation_;  // each connection applies it at its next call
  }
  return {};
}

Result<void> PostgresStore::put_component(const core::ComponentSnapshot& s) {
  auto json = rows::component_json(s);
  if (!json) return std::unexpected(json.error());
  auto session = this->session();
  if (!session) return std::unexpected(session.error());
  Session& db = **session;
  const std::int64_t ns = to_ns(s.observed_at);
  const int rank = core::rank(s.status);
  // One transaction for the snapshot and its roll-ups, as in the SQLite store.
  return db.transaction<void>("storing a component snapshot", [&]() -> Result<void> {
    if (auto r = db.exec(
            "INSERT INTO component_snapshots (component, status, observed_at_ns, json)"
            " VALUES ($1, $2, $3, $4)",
            Params().text(s.component).text(core::to_string(s.status)).int64(ns).text(*json),
            "storing a component snapshot");
        !r) {
      return std::unexpected(r.error());
    }
    if (auto r = db.exec(
            "INSERT INTO component_days AS d (component, day, worst, last, first_at_ns,"
            " last_at_ns, snapshots) VALUES ($1, $2, $3, $3, $4, $4, 1)"
            " ON CONFLICT (component, day) DO UPDATE SET worst = GREATEST(d.worst, excluded.worst),"
            " last = CASE WHEN excluded.last_at_ns >= d.last_at_ns THEN excluded.last ELSE d.last "
            "END,"
            " first_at_ns = LEAST(d.first_at_ns, excluded.first_at_ns),"
            " last_at_ns = GREATEST(d.last_at_ns, excluded.last_at_ns),"
            " snapshots = d.snapshots + 1",
            Params().text(s.component).int64(day_of(s.observed_at)).int64(rank).int64(ns),
            "updating the daily roll-up");
        !r) {
      return std::unexpected(r.error());
    }
    if (ns < 0) return {};
    if (auto r = db.exec(
            "INSERT INTO component_quarters AS q (component, quarter, worst, last, last_at_ns)"
            " VALUES ($1, $2, $3, $3, $4)"
            " ON CONFLICT (component, quarter) DO UPDATE SET"
            " worst = GREATEST(q.worst, excluded.worst),"
            " last = CASE WHEN excluded.last_at_ns >= q.last_at_ns THEN excluded.last ELSE q.last "
            "END,"
            " last_at_ns = GREATEST(q.last_at_ns, excluded.last_at_ns)",
            Params().text(s.component).int64(ns / kNsPerQuarter).int64(rank).int64(ns),
            "updating the quarter-hour roll-up");
        !r) {
      return std::unexpected(r.error());
    }
    return {};
  });
}

Result<void> PostgresStore::put_readiness(const StoredReadiness& r) {
  auto session = this->session();
  if (!session) return std::unexpected(session.error());
  auto out = (*session)->exec(
      "INSERT INTO readiness_snapshots (generated_at_ns, status, json) VALUES ($1, $2, $3)",
      Params().int64(to_ns(r.generated_at)).text(core::to_string(r.status)).text(r.json),
      "storing a readiness snapshot");
  if (!out) return std::unexpected(out.error());
  return {};
}

Result<std::vector<core::ComponentSnapshot>> PostgresStore::read_components(
    const PGresult* r) const {
  std::vector<core::ComponentSnapshot> out;
  out.reserve(static_cast<std::size_t>(PQntuples(r)));
  for (int i = 0; i < PQntuples(r); ++i) {
    auto s = rows::parse_component(cell(r, i, 0), where_);
    if (!s) return std::unexpected(s.error());
    out.push_back(std::move(*s));
  }
  return out;
}

Result<std::vector<StoredReadiness>> PostgresStore::readiness_history(TimePoint since,
                                                                      TimePoint until,
                                                                      std::size_t limit) const {
  auto session = this->session();
  if (!session) return std::unexpected(session.error());
  auto r = (*session)->exec(
      "SELECT generated_at_ns, status, json FROM ("
      "  SELECT id, generated_at_ns, status, json FROM readiness_snapshots"
      "  WHERE generated_at_ns BETWEEN $1 AND $2"
      "  ORDER BY generated_at_ns DESC, id DESC LIMIT $3) s"
      " ORDER BY generated_at_ns ASC, id ASC",
      Params().int64(to_ns(since)).int64(to_ns(until)).int64(to_limit(limit)),
      "reading readiness history");
  if (!r) return std::unexpected(r.error());
  std::vector<StoredReadiness> out;
  for (int i = 0; i < PQntuples(r->get()); ++i) {
    auto status = core::parse_status(cell(r->get(), i, 1));
    if (!status) {
      return core::fail("store_corrupt", "a readiness snapshot row in " + where_ +
                                             " has an unknown status: " + status.error().message);
    }
    out.push_back({.generated_at = from_ns(cell_int(r->get(), i, 0)),
                   .status = *status,
                   .json = cell(r->get(), i, 2)});
  }
  return out;
}

Result<std::vector<core::ComponentSnapshot>> PostgresStore::component_history(
    const std::string& component, TimePoint since, TimePoint until, std::size_t limit) const {
  auto session = this->session();
  if (!session) return std::unexpected(session.error());
  auto r = (*session)->exec(
      "SELECT json FROM ("
      "  SELECT id, observed_at_ns, json FROM component_snapshots"
      "  WHERE component = $1 AND observed_at_ns BETWEEN $2 AND $3"
      "  ORDER BY observed_at_ns DESC, id DESC LIMIT $4) s"
      " ORDER BY observed_at_ns ASC, id ASC",
      Params().text(component).int64(to_ns(since)).int64(to_ns(until)).int64(to_limit(limit)),
      "reading component history");
  if (!r) return std::unexpected(r.error());
  return read_components(r->get());
}

Result<std::vector<core::ComponentSnapshot>> PostgresStore::latest_components() const {
  auto session = this->session();
  if (!session) return std::unexpected(session.error());
  // DISTINCT ON keeps the first row of each component in this order: the newest, the last
  // inserted on a tie of time (as the SQLite store).
  auto r = (*session)->exec(
      "SELECT DISTINCT ON (component) json FROM component_snapshots"
      " ORDER BY component, observed_at_ns DESC, id DESC",
      "reading the latest component snapshots");
  if (!r) return std::unexpected(r.error());
  return read_components(r->get());
}

Result<std::optional<StoredReadiness>> PostgresStore::latest_readiness() const {
  auto all = readiness_history(TimePoint::min(), TimePoint::max(), 1);
  if (!all) return std::unexpected(all.error());
  if (all->empty()) return std::optional<StoredReadiness>();
  return std::optional<StoredReadiness>(std::move(all->back()));
}

Result<std::vector<ComponentDay>> PostgresStore::component_days(TimePoint since,
                                                                TimePoint until) const {
  const std::int64_t first = day_of(since);
  auto session = this->session();
  if (!session) return std::unexpected(session.error());
  // From the day before: what it ended with is carried into the first day.
  auto r = (*session)->exec(
      "SELECT component, day, worst, last, first_at_ns, last_at_ns, snapshots"
      " FROM component_days WHERE day BETWEEN $1 AND $2 ORDER BY component, day",
      Params().int64(first - 1).int64(day_of(until)), "reading the daily roll-up");
  if (!r) return std::unexpected(r.error());
  std::vector<ComponentDay> out;
  const PGresult* res = r->get();
  for (int i = 0; i < PQntuples(res); ++i) {
    out.push_back({.component = cell(res, i, 0),
                   .day = from_ns(cell_int(res, i, 1) * rows::kNsPerDay),
                   .worst = status_of_rank(cell_int(res, i, 2)),
                   .last = status_of_rank(cell_int(res, i, 3)),
                   .first_at = from_ns(cell_int(res, i, 4)),
                   .last_at = from_ns(cell_int(res, i, 5)),
                   .snapshots = cell_int(res, i, 6)});
  }
  rows::carry_days(out, first);
  return out;
}

Result<std::vector<ComponentBucket>> PostgresStore::component_buckets(TimePoint since,
                                                                      TimePoint until,
                                                                      core::Duration bucket) const {
  const auto plan = rows::plan_buckets(since, until, bucket);
  if (!plan) return std::unexpected(plan.error());
  auto session = this->session();
  if (!session) return std::unexpected(session.error());
  Session& db = **session;
  std::vector<std::pair<std::string, int>> carried;
  std::vector<std::pair<std::string, rows::BucketRow>> found;
  // The status each component had when the range began: its last snapshot before it.
  auto carry = db.exec(
      "WITH c(component) AS (SELECT DISTINCT component FROM component_days"
      "  WHERE day BETWEEN $2 AND $3)"
      " SELECT c.component, (SELECT " STATUS_RANK(
          "s.status") " FROM component_snapshots s"
                      "  WHERE s.component = c.component AND s.observed_at_ns < $1"
                      "  ORDER BY s.observed_at_ns DESC, s.id DESC LIMIT 1)"
                      " FROM c ORDER BY c.component",
      Params().int64(to_ns(since)).int64(plan->from_day).int64(plan->to_day),
      "reading the status before the buckets");
  if (!carry) return std::unexpected(carry.error());
  for (int i = 0; i < PQntuples(carry->get()); ++i) {
    carried.emplace_back(
        cell(carry->get(), i, 0),
        cell_null(carry->get(), i, 1) ? -1 : static_cast<int>(cell_int(carry->get(), i, 1)));
  }
  Params p;
  p.int64(to_ns(since))
      .int64(to_ns(until))
      .int64(plan->width)
      .int64(plan->from_day)
      .int64(plan->to_day);
  const char* sql =
      // Column 3 is the rank of the bucket's last snapshot (largest offset * 4 + rank).
      "WITH c(component) AS (SELECT DISTINCT component FROM component_days"
      "  WHERE day BETWEEN $4 AND $5)"
      " SELECT s.component, (s.observed_at_ns - $1) / $3 AS b, MAX(" STATUS_RANK("s.status") "),"
      " MAX((s.observed_at_ns - $1) * 4 + " STATUS_RANK("s.status") ") % 4"
      " FROM c JOIN component_snapshots s"
      " ON s.component = c.component AND s.observed_at_ns >= $1 AND s.observed_at_ns < $2"
      " GROUP BY s.component, b ORDER BY s.component, b";
  if (plan->by_quarter) {
    // Whole quarters from the roll-up [$6, $7), the snapshots for the part of `until`'s
    // quarter before it ($8 = the start of that quarter), as in the SQLite store.
    sql =
        "WITH c(component) AS (SELECT DISTINCT component FROM component_days"
        "  WHERE day BETWEEN $4 AND $5)"
        " SELECT component, b, MAX(worst), MAX(k) % 4 FROM ("
        "  SELECT q.component AS component, (q.quarter * 900000000000 - $1) / $3 AS b,"
        "   q.worst AS worst, (q.quarter * 900000000000 - $1) * 4 + q.last AS k"
        "  FROM c JOIN component_quarters q"
        "  ON q.component = c.component AND q.quarter >= $6 AND q.quarter < $7"
        "  UNION ALL"
        "  SELECT s.component, (s.observed_at_ns - $1) / $3, " STATUS_RANK("s.status") ","
        "   (s.observed_at_ns - $1) * 4 + " STATUS_RANK("s.status")
        "  FROM c JOIN component_snapshots s"
        "  ON s.component = c.component AND s.observed_at_ns >= $8 AND s.observed_at_ns < $2) u"
        " GROUP BY component, b ORDER BY component, b";
    p.int64(plan->since_quarter)
        .int64(plan->until_quarter)
        .int64(plan->until_quarter * kNsPerQuarter);
  }
  auto r = db.exec(sql, p, "reading the component buckets");
  if (!r) return std::unexpected(r.error());
  for (int i = 0; i < PQntuples(r->get()); ++i) {
    found.emplace_back(cell(r->get(), i, 0),
                       rows::BucketRow{.index = cell_int(r->get(), i, 1),
                                       .worst = static_cast<int>(cell_int(r->get(), i, 2)),
                                       .last = static_cast<int>(cell_int(r->get(), i, 3))});
  }
  return rows::walk_buckets(carried, found, since, bucket, plan->count);
}

Result<std::size_t> PostgresStore::prune(TimePoint before) {
  auto session = this->session();
  if (!session) return std::unexpected(session.error());
  Session& db = **session;
  const std::int64_t ns = to_ns(before);
  // One transaction: every table is pruned to the same horizon or none is.
  return db.transaction<std::size_t>("pruning history", [&]() -> Result<std::size_t> {
    std::size_t deleted = 0;
    struct Step {
      const char* sql;
      bool counted;  // the roll-up's rows are not history rows
    };
    const Step steps[] = {
        {"DELETE FROM component_snapshots WHERE observed_at_ns < $1", true},
        {"DELETE FROM component_quarters WHERE quarter < $1 / 900000000000", false},
        {"DELETE FROM readiness_snapshots WHERE generated_at_ns < $1", true},
        {"DELETE FROM alerts WHERE ends_at_ns < $1", true},
        {"DELETE FROM alerting_log WHERE at_ns < $1", true},
    };
    for (const Step& step : steps) {
      auto r = db.exec(step.sql, Params().int64(ns), "pruning history");
      if (!r) return std::unexpected(r.error());
      if (step.counted) deleted += affected(r->get());
    }
    return deleted;
  });
}

Result<std::size_t> PostgresStore::prune_component_days(TimePoint before) {
  auto session = this->session();
  if (!session) return std::unexpected(session.error());
  Session& db = **session;
  return db.transaction<std::size_t>("pruning the daily roll-up", [&]() -> Result<std::size_t> {
    auto days = db.exec("DELETE FROM component_days WHERE day < $1", Params().int64(day_of(before)),
                        "pruning the daily roll-up");
    if (!days) return std::unexpected(days.error());
    // The gate's history lives as long as the status page's days.
    auto gates = db.exec("DELETE FROM gate_history WHERE at_ns < $1", Params().int64(to_ns(before)),
                         "pruning the gate history");
    if (!gates) return std::unexpected(gates.error());
    return affected(days->get()) + affected(gates->get());
  });
}

Result<std::vector<core::Alert>> PostgresStore::read_alerts(const PGresult* r) const {
  std::vector<core::Alert> out;
  out.reserve(static_cast<std::size_t>(PQntuples(r)));
  for (int i = 0; i < PQntuples(r); ++i) {
    core::Alert a;
    a.fingerprint = cell(r, i, 0);
    if (!rows::labels_from_text(cell(r, i, 1), a.labels) ||
        !rows::labels_from_text(cell(r, i, 2), a.annotations)) {
      return core::fail("store_corrupt", "alert '" + a.fingerprint + "' in " + where_ +
                                             " holds labels or annotations that do not parse");
    }
    a.starts_at = from_ns(cell_int(r, i, 3));
    a.ends_at = from_ns(cell_int(r, i, 4));
    a.generator_url = cell(r, i, 5);
    a.timeout = cell_int(r, i, 6) != 0;
    a.received_at = from_ns(cell_int(r, i, 7));
    out.push_back(std::move(a));
  }
  return out;
}

Result<void> PostgresStore::alert_batch(const std::vector<core::Alert>& batch, bool merge) {
  if (batch.empty()) return {};
  for (const auto& a : batch) {
    if (a.fingerprint.empty()) {
      return core::fail("invalid_alert", "an alert without a fingerprint cannot be stored",
                        "fingerprint");
    }
  }
  // The batch folded per fingerprint, in order (one statement cannot upsert a row twice).
  std::vector<core::Alert> folded;
  std::unordered_map<std::string, std::size_t> index;
  for (const auto& a : batch) {
    auto [it, inserted] = index.emplace(a.fingerprint, folded.size());
    if (inserted) {
      folded.push_back(a);
    } else {
      folded[it->second] = merge ? core::merge_alert(folded[it->second], a) : a;
    }
  }
  std::vector<std::string> fingerprints;
  fingerprints.reserve(folded.size());
  for (const auto& a : folded) fingerprints.push_back(a.fingerprint);
  const std::string fingerprint_array = text_array(fingerprints);

  auto session = this->session();
  if (!session) return std::unexpected(session.error());
  Session& db = **session;
  return db.transaction<void>("storing alerts", [&]() -> Result<void> {
    if (merge) {
      // Replicas may merge the same alerts at once: the stored rows are locked first (in
      // fingerprint order, so that two batches cannot deadlock), and a fingerprint that is not
      // stored yet by its advisory lock, so the second merge sees the first's result.
      if (auto r = db.exec(
              "SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT"
              " hashtextextended(f, 1869640562) AS k FROM unnest($1::text[]) f ORDER BY k) s",
              Params().text(fingerprint_array), "locking alerts");
          !r) {
        return std::unexpected(r.error());
      }
      auto stored = db.exec(
          "SELECT fingerprint, labels, annotations, starts_at_ns, ends_at_ns, generator_url,"
          " timeout, received_at_ns FROM alerts WHERE fingerprint = ANY($1::text[])",
          Params().text(fingerprint_array), "reading stored alerts");
      if (!stored) return std::unexpected(stored.error());
      auto old = read_alerts(stored->get());
      if (!old) return std::unexpected(old.error());
      for (const core::Alert& o : *old) {
        core::Alert& a = folded[index.at(o.fingerprint)];
        a = core::merge_alert(o, a);
      }
    }
    std::vector<std::string> labels, annotations, starts, ends, urls, timeouts, received;
    for (const auto& a : folded) {
      labels.push_back(rows::labels_to_text(a.labels));
      annotations.push_back(rows::labels_to_text(a.annotations));
      starts.push_back(std::to_string(to_ns(a.starts_at)));
      ends.push_back(std::to_string(to_ns(a.ends_at)));
      urls.push_back(a.generator_url);
      timeouts.push_back(a.timeout ? "1" : "0");
      received.push_back(std::to_string(to_ns(a.received_at)));
    }
    auto r = db.exec(
        "INSERT INTO alerts (fingerprint, labels, annotations, starts_at_ns, ends_at_ns,"
        " generator_url, timeout, received_at_ns)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[],"
        " $6::text[], $7::integer[], $8::bigint[])"
        " ON CONFLICT (fingerprint) DO UPDATE SET labels = excluded.labels,"
        " annotations = excluded.annotations, starts_at_ns = excluded.starts_at_ns,"
        " ends_at_ns = excluded.ends_at_ns, generator_url = excluded.generator_url,"
        " timeout = excluded.timeout, received_at_ns = excluded.received_at_ns",
        Params()
            .text(fingerprint_array)
            .text(text_array(labels))
            .text(text_array(annotations))
            .text(text_array(starts))
            .text(text_array(ends))
            .text(text_array(urls))
            .text(text_array(timeouts))
            .text(text_array(received)),
        "storing alerts");
    if (!r) return std::unexpected(r.error());
    return {};
  });
}

Result<void> PostgresStore::put_alerts(const std::vector<core::Alert>& batch) {
  return alert_batch(batch, /*merge=*/true);
}

Result<void> PostgresStore::replace_alerts(const std::vector<core::Alert>& batch) {
  return alert_batch(batch, /*merge=*/false);
}

Result<std::vector<core::Alert>> PostgresStore::alerts(bool active_only, TimePoint now) const {
  auto session = this->session();
  if (!session) return std::unexpected(session.error());
  // COLLATE "C": by fingerprint bytes, as SQLite orders text (the database's collation may be
  // a locale's).
  auto r = (*session)->exec(
      "SELECT fingerprint, labels, annotations, starts_at_ns, ends_at_ns, generator_url,"
      " timeout, received_at_ns FROM alerts WHERE $1::integer = 0 OR ends_at_ns > $2"
      " ORDER BY fingerprint COLLATE \"C\"",
      Params().int64(active_only ? 1 : 0).int64(to_ns(now)), "reading alerts");
  if (!r) return std::unexpected(r.error());
  return read_alerts(r->get());
}

Result<void> PostgresStore::write_alerting(const std::vector<StateRow>& state,
                                           const std::vector<LogRow>& log,
                                           const std::vector<OutboxRow>& outbox) {
  if (state.empty() && log.empty() && outbox.empty()) return {};
  // One statement per table, its rows as arrays (unnest ... WITH ORDINALITY keeps their order):
  // a row per statement was a loopback round trip each, and the daemon's persistence strand
  // spent most of a burst waiting for them.
  // State: the last row of each (kind, key) wins, as when they were applied in turn.
  std::vector<const StateRow*> last;
  {
    std::map<std::pair<std::string, std::string>, std::size_t> at;
    for (const StateRow& row : state) {
      auto [it, inserted] = at.emplace(std::make_pair(row.kind, row.key), last.size());
      if (inserted) {
        last.push_back(&row);
      } else {
        last[it->second] = &row;
      }
    }
  }
  std::vector<std::string> del_kind, del_key, up_kind, up_key, up_json;
  for (const StateRow* row : last) {
    if (row->json.empty()) {
      del_kind.push_back(row->kind);
      del_key.push_back(row->key);
    } else {
      up_kind.push_back(row->kind);
      up_key.push_back(row->key);
      up_json.push_back(row->json);
    }
  }
  std::vector<std::string> log_kind, log_at, log_json;
  for (const LogRow& row : log) {
    log_kind.push_back(row.kind);
    log_at.push_back(std::to_string(to_ns(row.at)));
    log_json.push_back(row.json);
  }
  // Outbox columns, in table order.
  std::vector<std::vector<std::optional<std::string>>> ob(16);
  for (const OutboxRow& row : outbox) {
    const std::string fields[] = {row.id,
                                  row.receiver,
                                  row.integration,
                                  row.group_key,
                                  row.group_id,
                                  row.alerts_hash,
                                  row.reason,
                                  std::to_string(to_ns(row.decided_at)),
                                  row.payload,
                                  std::string(to_string(row.state)),
                                  std::to_string(row.attempts),
                                  std::to_string(to_ns(row.next_attempt_at)),
                                  "",
                                  row.last_error,
                                  row.claimed_by,
                                  std::to_string(to_ns(row.claimed_until))};
    for (std::size_t c = 0; c < 16; ++c) ob[c].emplace_back(fields[c]);
    ob[12].back() = row.done_at ? std::optional<std::string>(std::to_string(to_ns(*row.done_at)))
                                : std::nullopt;
  }
  auto session = this->session();
  if (!session) return std::unexpected(session.error());
  Session& db = **session;
  return db.transaction<void>("writing alerting state", [&]() -> Result<void> {
    if (!del_kind.empty()) {
      auto r = db.exec(
          "DELETE FROM alerting_state s USING unnest($1::text[], $2::text[]) AS d(kind, key)"
          " WHERE s.kind = d.kind AND s.key = d.key",
          Params().text(text_array(del_kind)).text(text_array(del_key)), "writing alerting state");
      if (!r) return std::unexpected(r.error());
    }
    if (!up_kind.empty()) {
      auto r = db.exec(
          "INSERT INTO alerting_state (kind, key, json)"
          " SELECT * FROM unnest($1::text[], $2::text[], $3::text[])"
          " ON CONFLICT (kind, key) DO UPDATE SET json = excluded.json",
          Params().text(text_array(up_kind)).text(text_array(up_key)).text(text_array(up_json)),
          "writing alerting state");
      if (!r) return std::unexpected(r.error());
    }
    if (!log_kind.empty()) {
      auto r = db.exec(
          "INSERT INTO alerting_log (kind, at_ns, json) SELECT kind, at_ns, json FROM"
          " unnest($1::text[], $2::bigint[], $3::text[]) WITH ORDINALITY AS l(kind, at_ns, json,"
          " n) ORDER BY n",
          Params().text(text_array(log_kind)).text(text_array(log_at)).text(text_array(log_json)),
          "appending to the alerting log");
      if (!r) return std::unexpected(r.error());
    }
    if (!outbox.empty()) {
      // The idempotency key is unique: a second replica deciding the same notification
      // inserts nothing.
      Params p;
      for (const auto& column : ob) p.text(nullable_array(column));
      auto r = db.exec(
          "INSERT INTO outbox (id, receiver, integration, group_key, group_id, alerts_hash,"
          " reason, decided_at_ns, payload, state, attempts, next_attempt_at_ns, done_at_ns,"
          " last_error, claimed_by, claimed_until_ns)"
          " SELECT id, receiver, integration, group_key, group_id, alerts_hash, reason,"
          " decided_at_ns, payload, state, attempts, next_attempt_at_ns, done_at_ns, last_error,"
          " claimed_by, claimed_until_ns FROM unnest($1::text[], $2::text[], $3::text[],"
          " $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::text[], $10::text[],"
          " $11::int[], $12::bigint[], $13::bigint[], $14::text[], $15::text[], $16::bigint[])"
          " WITH ORDINALITY AS o(id, receiver, integration, group_key, group_id, alerts_hash,"
          " reason, decided_at_ns, payload, state, attempts, next_attempt_at_ns, done_at_ns,"
          " last_error, claimed_by, claimed_until_ns, n) ORDER BY n"
          " ON CONFLICT (id) DO NOTHING",
          p, "writing to the outbox");
      if (!r) return std::unexpected(r.error());
    }
    return {};
  });
}

Result<void> PostgresStore::update_outbox(const std::vector<OutboxUpdate>& updates) {
  if (updates.empty()) return {};
  // One statement for the batch; the last update of a row wins, as when applied in turn.
  std::vector<const OutboxUpdate*> last;
  {
    std::unordered_map<std::string, std::size_t> at;
    for (const OutboxUpdate& u : updates) {
      auto [it, inserted] = at.emplace(u.id, last.size());
      if (inserted) {
        last.push_back(&u);
      } else {
        last[it->second] = &u;
      }
    }
  }
  std::vector<std::optional<std::string>> id, st, attempts, next, done, err;
  for (const OutboxUpdate* u : last) {
    id.emplace_back(u->id);
    st.emplace_back(std::string(to_string(u->state)));
    attempts.emplace_back(std::to_string(u->attempts));
    next.emplace_back(std::to_string(to_ns(u->next_attempt_at)));
    done.push_back(u->done_at ? std::optional<std::string>(std::to_string(to_ns(*u->done_at)))
                              : std::nullopt);
    err.emplace_back(u->last_error);
  }
  auto session = this->session();
  if (!session) return std::unexpected(session.error());
  Session& db = **session;
  return db.transaction<void>("updating the outbox", [&]() -> Result<void> {
    auto r = db.exec(
        "UPDATE outbox o SET state = u.state, attempts = u.attempts,"
        " next_attempt_at_ns = u.next_at, done_at_ns = u.done_at, last_error = u.err"
        " FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[], $5::bigint[], $6::text[])"
        " AS u(id, state, attempts, next_at, done_at, err) WHERE o.id = u.id",
        Params()
            .text(nullable_array(id))
            .text(nullable_array(st))
            .text(nullable_array(attempts))
            .text(nullable_array(next))
            .text(nullable_array(done))
            .text(nullable_array(err)),
        "updating the outbox");
    if (!r) return std::unexpected(r.error());
    return {};
  });
}

Result<std::vector<OutboxRow>> PostgresStore::read_outbox(const PGresult* r) const {
  std::vector<OutboxRow> out;
  out.reserve(static_cast<std::size_t>(PQntuples(r)));
  for (int i = 0; i < PQntuples(r); ++i) {
    OutboxRow row{.id = cell(r, i, 0),
                  .receiver = cell(r, i, 1),
                  .integration = cell(r, i, 2),
                  .group_key = cell(r, i, 3),
                  .group_id = cell(r, i, 4),
                  .alerts_hash = cell(r, i, 5),
                  .reason = cell(r, i, 6),
                  .decided_at = from_ns(cell_int(r, i, 7)),
                  .payload = cell(r, i, 8)};
    const auto state = parse_outbox_state(cell(r, i, 9));
    if (!state) {
      return core::fail("store_corrupt", "outbox row '" + row.id + "' has no valid state");
    }
    row.state = *state;
    row.attempts = static_cast<int>(cell_int(r, i, 10));
    row.next_attempt_at = from_ns(cell_int(r, i, 11));
    if (!cell_null(r, i, 12)) row.done_at = from_ns(cell_int(r, i, 12));
    row.last_error = cell(r, i, 13);
    row.claimed_by = cell(r, i, 14);
    row.claimed_until = from_ns(cell_int(r, i, 15));
    out.push_back(std::move(row));
  }
  return out;
}

Result<std::vector<OutboxRow>> PostgresStore::outbox_pending() const {
  auto session = this->session();
  if (!session) return std::unexpected(session.error());
  auto r = (*session)->exec("SELECT " OUTBOX_COLUMNS
                            " FROM outbox WHERE state = 'pending'"
                            " ORDER BY decided_at_ns ASC, seq ASC",
                            "reading the outbox");
  if (!r) return std::unexpected(r.error());
  return read_outbox(r->get());
}

Result<std::vector<OutboxRow>> PostgresStore::outbox(const OutboxQuery& q) const {
  auto session = this->session();
  if (!session) return std::unexpected(session.error());
  auto r = (*session)->exec(
      "SELECT " OUTBOX_COLUMNS
      " FROM outbox WHERE ($1 = '' OR receiver = $1)"
      " AND ($2 = '' OR group_key = $2) AND ($3 = '' OR state = $3)"
      " AND decided_at_ns BETWEEN $4 AND $5 ORDER BY decided_at_ns DESC, seq DESC LIMIT $6",
      Params()
          .text(q.receiver)
          .text(q.group_key)
          .text(q.state ? to_string(*q.state) : std::string_view())
          .int64(to_ns(q.since))
          .int64(to_ns(q.until))
          .int64(to_limit(q.limit)),
      "reading the outbox");
  if (!r) return std::unexpected(r.error());
  return read_outbox(r->get());
}

Result<std::vector<OutboxRow>> PostgresStore::claim_outbox(const std::string& owner, TimePoint now,
                                                           core::Duration lease,
                                                           std::size_t limit) {
  auto session = this->session();
  if (!session) return std::unexpected(session.error());
  // SKIP LOCKED: rows another replica is claiming right now are passed over, not waited for,
  // so concurrent claims get disjoint rows without blocking each other. Column 16 (seq)
  // restores the order, which RETURNING does not keep.
  auto r = (*session)->exec(
      "WITH c AS (SELECT seq FROM outbox WHERE state = 'pending'"
      "  AND claimed_until_ns <= $3"
      "  ORDER BY decided_at_ns ASC, seq ASC LIMIT $4 FOR UPDATE SKIP LOCKED)"
      " UPDATE outbox o SET claimed_by = $1, claimed_until_ns = $2 FROM c WHERE o.seq = c.seq"
      " RETURNING o.id, o.receiver, o.integration, o.group_key, o.group_id, o.alerts_hash,"
      " o.reason, o.decided_at_ns, o.payload, o.state, o.attempts, o.next_attempt_at_ns,"
      " o.done_at_ns, o.last_error, o.claimed_by, o.claimed_until_ns, o.seq",
      Params().text(owner).int64(to_ns(now + lease)).int64(to_ns(now)).int64(to_limit(limit)),
      "claiming outbox rows");
  if (!r) return std::unexpected(r.error());
  auto rows = read_outbox(r->get());
  if (!rows) return rows;
  std::vector<std::pair<std::int64_t, std::size_t>> order;
  for (int i = 0; i < PQntuples(r->get()); ++i) {
    order.emplace_back(cell_int(r->get(), i, 16), static_cast<std::size_t>(i));
  }
  std::sort(order.begin(), order.end(), [&](const auto& a, const auto& b) {
    const auto& ra = (*rows)[a.second];
    const auto& rb = (*rows)[b.second];
    return std::tie(ra.decided_at, a.first) < std::tie(rb.decided_at, b.first);
  });
  std::vector<OutboxRow> out;
  out.reserve(rows->size());
  for (const auto& [seq, i] : order) out.push_back(std::move((*rows)[i]));
  return out;
}

Result<std::size_t> PostgresStore::extend_outbox_claims(const std::string& owner, TimePoint until,
                                                        TimePoint ending_before) {
  auto session = this->session();
  if (!session) return std::unexpected(session.error());
  auto r = (*session)->exec(
      "UPDATE outbox SET claimed_until_ns = $2"
      " WHERE state = 'pending' AND claimed_by = $1 AND claimed_until_ns < $3",
      Params().text(owner).int64(to_ns(until)).int64(to_ns(ending_before)),
      "extending outbox claims");
  if (!r) return std::unexpected(r.error());
  return affected(r->get());
}

Result<std::size_t> PostgresStore::prune_outbox(TimePoint before) {
  auto session = this->session();
  if (!session) return std::unexpected(session.error());
  auto r = (*session)->exec("DELETE FROM outbox WHERE done_at_ns IS NOT NULL AND done_at_ns < $1",
                            Params().int64(to_ns(before)), "pruning the outbox");
  if (!r) return std::unexpected(r.error());
  return affected(r->get());
}

Result<std::vector<StateRow>> PostgresStore::alerting_state(const std::string& kind) const {
  auto session = this->session();
  if (!session) return std::unexpected(session.error());
  auto r = (*session)->exec(
      "SELECT kind, key, json FROM alerting_state WHERE kind = $1 ORDER BY key COLLATE \"C\"",
      Params().text(kind), "reading alerting state");
  if (!r) return std::unexpected(r.error());
  std::vector<StateRow> out;
  for (int i = 0; i < PQntuples(r->get()); ++i) {
    out.push_back(
        {.kind = cell(r->get(), i, 0), .key = cell(r->get(), i, 1), .json = cell(r->get(), i, 2)});
  }
  return out;
}

Result<void> PostgresStore::put_gate(const GateChange& change) {
  auto session = this->session();
  if (!session) return std::unexpected(session.error());
  auto r =
      (*session)->exec("INSERT INTO gate_history (at_ns, decision, json) VALUES ($1, $2, $3)",
                       Params().int64(to_ns(change.at)).text(change.decision).text(change.json),
                       "storing a gate change");
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<std::vector<GateChange>> PostgresStore::gate_history(TimePoint since, TimePoint until,
                                                            std::size_t limit) const {
  auto session = this->session();
  if (!session) return std::unexpected(session.error());
  auto r = (*session)->exec(
      "SELECT at_ns, decision, json FROM (SELECT id, at_ns, decision, json FROM gate_history"
      " WHERE at_ns >= $1 AND at_ns <= $2 ORDER BY at_ns DESC, id DESC LIMIT $3) g"
      " ORDER BY at_ns, id",
      Params().int64(to_ns(since)).int64(to_ns(until)).int64(to_limit(limit)),
      "reading the gate history");
  if (!r) return std::unexpected(r.error());
  std::vector<GateChange> out;
  for (int i = 0; i < PQntuples(r->get()); ++i) {
    out.push_back({.at = from_ns(cell_int(r->get(), i, 0)),
                   .decision = cell(r->get(), i, 1),
                   .json = cell(r->get(), i, 2)});
  }
  return out;
}

Result<void> PostgresStore::put_drill_run(const DrillRunRow& row) {
  auto session = this->session();
  if (!session) return std::unexpected(session.error());
  auto r = (*session)->exec(
      "INSERT INTO drill_runs (id, scenario, verdict, started_at_ns, finished_at_ns, json,"
      " markdown) VALUES ($1, $2, $3, $4, $5, $6, $7)"
      " ON CONFLICT (id) DO UPDATE SET scenario = excluded.scenario,"
      " verdict = excluded.verdict, started_at_ns = excluded.started_at_ns,"
      " finished_at_ns = excluded.finished_at_ns, json = excluded.json,"
      " markdown = excluded.markdown",
      Params()
          .text(row.id)
          .text(row.scenario)
          .text(row.verdict)
          .int64(to_ns(row.started_at))
          .optional_int64(row.finished_at)
          .text(row.json)
          .text(row.markdown),
      "storing a drill run");
  if (!r) return std::unexpected(r.error());
  return {};
}

DrillRunRow read_drill(const PGresult* r, int i) {
  DrillRunRow row{.id = cell(r, i, 0),
                  .scenario = cell(r, i, 1),
                  .verdict = cell(r, i, 2),
                  .started_at = from_ns(cell_int(r, i, 3)),
                  .json = cell(r, i, 5),
                  .markdown = cell(r, i, 6)};
  if (!cell_null(r, i, 4)) row.finished_at = from_ns(cell_int(r, i, 4));
  return row;
}

Result<std::vector<DrillRunRow>> PostgresStore::drill_runs(const DrillRunQuery& q) const {
  auto session = this->session();
  if (!session) return std::unexpected(session.error());
  auto r = (*session)->exec(
      "SELECT id, scenario, verdict, started_at_ns, finished_at_ns, json, markdown"
      " FROM drill_runs WHERE ($1 = '' OR scenario = $1)"
      " AND ($2::integer = 0 OR finished_at_ns IS NULL)"
      " ORDER BY started_at_ns DESC, id COLLATE \"C\" DESC LIMIT $3",
      Params().text(q.scenario).int64(q.unfinished_only ? 1 : 0).int64(to_limit(q.limit)),
      "reading drill runs");
  if (!r) return std::unexpected(r.error());
  std::vector<DrillRunRow> out;
  for (int i = 0; i < PQntuples(r->get()); ++i) out.push_back(read_drill(r->get(), i));
  return out;
}

Result<std::optional<DrillRunRow>> PostgresStore::drill_run(const std::string& id) const {
  auto session = this->session();
  if (!session) return std::unexpected(session.error());
  auto r = (*session)->exec(
      "SELECT id, scenario, verdict, started_at_ns, finished_at_ns, json, markdown"
      " FROM drill_runs WHERE id = $1",
      Params().text(id), "reading a drill run");
  if (!r) return std::unexpected(r.error());
  if (PQntuples(r->get()) == 0) return std::optional<DrillRunRow>();
  return std::optional<DrillRunRow>(read_drill(r->get(), 0));
}

Result<std::int64_t> PostgresStore::put_signoff(const SignoffRow& row) {
  auto session = this->session();
  if (!session) return std::unexpected(session.error());
  auto r = (*session)->exec(
      "INSERT INTO signoffs (signoff, \"by\", at_ns, recorded_at_ns, evidence, note, source)"
      " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
      Params()
          .text(row.signoff)
          .text(row.by)
          .int64(to_ns(row.at))
          .int64(to_ns(row.recorded_at))
          .text(row.evidence)
          .text(row.note)
          .text(row.source),
      "storing a sign-off");
  if (!r) return std::unexpected(r.error());
  return cell_int(r->get(), 0, 0);
}

Result<std::vector<SignoffRow>> PostgresStore::signoffs(const SignoffQuery& q) const {
  auto session = this->session();
  if (!session) return std::unexpected(session.error());
  auto r = (*session)->exec(
      "SELECT id, signoff, \"by\", at_ns, recorded_at_ns, evidence, note, source FROM signoffs"
      " WHERE ($1 = '' OR signoff = $1) ORDER BY at_ns DESC, id DESC LIMIT $2",
      Params().text(q.signoff).int64(to_limit(q.limit)), "reading sign-offs");
  if (!r) return std::unexpected(r.error());
  std::vector<SignoffRow> out;
  const PGresult* res = r->get();
  for (int i = 0; i < PQntuples(res); ++i) {
    out.push_back({.id = cell_int(res, i, 0),
                   .signoff = cell(res, i, 1),
                   .by = cell(res, i, 2),
                   .at = from_ns(cell_int(res, i, 3)),
                   .recorded_at = from_ns(cell_int(res, i, 4)),
                   .evidence = cell(res, i, 5),
                   .note = cell(res, i, 6),
                   .source = cell(res, i, 7)});
  }
  return out;
}

Result<std::vector<LogRow>> PostgresStore::alerting_log(const std::string& kind, TimePoint since,
                                                        TimePoint until, std::size_t limit) const {
  auto session = this->session();
  if (!session) return std::unexpected(session.error());
  auto r = (*session)->exec(
      "SELECT id, kind, at_ns, json FROM ("
      "  SELECT id, kind, at_ns, json FROM alerting_log"
      "  WHERE kind = $1 AND at_ns BETWEEN $2 AND $3 ORDER BY at_ns DESC, id DESC LIMIT $4) l"
      " ORDER BY at_ns ASC, id ASC",
      Params().text(kind).int64(to_ns(since)).int64(to_ns(until)).int64(to_limit(limit)),
      "reading the alerting log");
  if (!r) return std::unexpected(r.error());
  std::vector<LogRow> out;
  for (int i = 0; i < PQntuples(r->get()); ++i) {
    out.push_back({.id = cell_int(r->get(), i, 0),
                   .kind = cell(r->get(), i, 1),
                   .at = from_ns(cell_int(r->get(), i, 2)),
                   .json = cell(r->get(), i, 3)});
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<Store>> open_postgres_store(const PostgresOptions& o) {
  return PostgresStore::open(o);
}

int postgres_schema_version() { return kSchemaVersion; }

namespace pg {

core::Result<Conn> connect(const PostgresOptions& o, const std::string& application_name) {
  // Keywords are processed in order and a repeated one keeps its last value: ours come first,
  // so that the operator's dsn (expanded from `dbname`, last) overrides any of them.
  const std::string connect_timeout = std::to_string(std::max<std::int64_t>(
      2, std::chrono::duration_cast<std::chrono::seconds>(o.connect_timeout).count()));
  const std::string options =
      "-c statement_timeout=" +
      std::to_string(
          std::chrono::duration_cast<std::chrono::milliseconds>(o.statement_timeout).count());
  // Keepalives: a server that vanished (host down, cable cut) is noticed in ~10 s, not after
  // the kernel's two hours.
  const char* keys[] = {"connect_timeout",  "options",         "application_name",
                        "keepalives",       "keepalives_idle", "keepalives_interval",
                        "keepalives_count", "dbname",          nullptr};
  const char* values[] = {
      connect_timeout.c_str(), options.c_str(), application_name.c_str(), "1", "5", "2", "3",
      o.dsn.c_str(),           nullptr};
  Conn conn(PQconnectdbParams(keys, values, /*expand_dbname=*/1));
  if (!conn) return core::fail("store_unavailable", "cannot allocate a PostgreSQL connection");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn.get());
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    // libpq's message names host and port, never the password.
    const bool auth = msg.find("authentication") != std::string::npos ||
                      msg.find("password") != std::string::npos ||
                      msg.find("does not exist") != std::string::npos;
    return core::fail(auth ? "store_cannot_open" : "store_unavailable",
                      "cannot connect to PostgreSQL: " + msg);
  }
  return conn;
}

// A stable error code per SQLSTATE class, as the SQLite store's code_for: callers and
// operators tell "wait for the server" (unavailable) from "fix the disk" (full) from "retry"
// (busy).
std::string code_for_state(std::string_view state) {
  if (state.starts_with("08") || state == "57P01" || state == "57P02" || state == "57P03" ||
      state == "53300") {
    return "store_unavailable";
  }
  if (state == "25006") return "store_read_only";
  if (state == "57014") return "store_timeout";
  if (state == "53100") return "store_full";
  if (state == "40001" || state == "40P01" || state == "55P03") return "store_busy";
  if (state == "XX001" || state == "XX002") return "store_corrupt";
  if (state.starts_with("28")) return "store_cannot_open";
  return "store_failed";
}

}  // namespace pg

}  // namespace opsready::store
