#include "opsready/store/leadership.h"

#include <libpq-fe.h>

#include <string>
#include <utility>

#include "opsready/store/postgres_connection.h"

namespace opsready::store {

namespace {

constexpr const char* kApplicationPrefix = "opsready-leader:";

const std::string kKey = std::to_string(kLeadershipLockKey);

// The lock's row in pg_locks (alias l), for the key in $1: a bigint key shows as classid = its
// high 32 bits, objid = its low 32 bits, objsubid = 1.
#define LEADERSHIP_LOCK_ROW                                                        \
  " l.locktype = 'advisory' AND l.granted AND l.classid = ($1::bigint >> 32)::oid" \
  " AND l.objid = ($1::bigint & 4294967295)::oid AND l.objsubid = 1"

}  // namespace

struct Leadership::Session {
  pg::Conn conn;

  // One statement; the result when it returned tuples or a command status.
  core::Result<pg::ResultPtr> exec(const char* sql, const char* param, std::string_view what) {
    // Without a parameter through PQexec, which takes several statements.
    const char* params[] = {param};
    pg::ResultPtr r(param == nullptr
                        ? PQexec(conn.get(), sql)
                        : PQexecParams(conn.get(), sql, 1, nullptr, params, nullptr, nullptr, 0));
    const ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) return r;
    const char* state = r ? PQresultErrorField(r.get(), PG_DIAG_SQLSTATE) : nullptr;
    std::string msg = PQerrorMessage(conn.get());
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    const std::string code = PQstatus(conn.get()) != CONNECTION_OK || state == nullptr
                                 ? "store_unavailable"
                                 : pg::code_for_state(state);
    return core::fail(code, std::string(what) + ": " + msg);
  }
  [[nodiscard]] bool broken() const { return PQstatus(conn.get()) != CONNECTION_OK; }
};

std::unique_ptr<Leadership> Leadership::create(PostgresOptions options, std::string name) {
  return std::unique_ptr<Leadership>(new Leadership(std::move(options), std::move(name)));
}

Leadership::Leadership(PostgresOptions options, std::string name)
    : options_(std::move(options)), name_(std::move(name)) {}

Leadership::~Leadership() = default;

core::Result<void> Leadership::connect() {
  if (session_ && session_->broken()) release();
  if (session_) return {};
  // application_name carries the replica's name, so that standbys can say who leads
  // (holder()); PostgreSQL keeps at most 63 bytes of it.
  auto conn = pg::connect(options_, (kApplicationPrefix + name_).substr(0, 63));
  if (!conn) return std::unexpected(conn.error());
  session_ = std::make_unique<Session>(Session{std::move(*conn)});
  PQsetNoticeProcessor(
      session_->conn.get(), [](void*, const char*) {}, nullptr);
  // The server notices a leader that vanished without closing its connection within ~15 s
  // (idle 5 s, then 3 probes 2 s apart; unacknowledged data 10 s), and ends its session: the
  // lock goes with it. tcp_user_timeout is PostgreSQL 12+, hence its own SET.
  static_cast<void>(
      session_->exec("SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; "
                     "SET tcp_keepalives_count = 3",
                     nullptr, "setting keepalives"));
  static_cast<void>(session_->exec("SET tcp_user_timeout = 10000", nullptr, "setting keepalives"));
  return {};
}

core::Result<bool> Leadership::try_acquire() {
  if (auto c = connect(); !c) return std::unexpected(c.error());
  if (held_) return check();
  auto r = session_->exec("SELECT pg_try_advisory_lock($1::bigint)", kKey.c_str(),
                          "taking the leadership lock");
  if (!r) {
    if (session_->broken()) release();
    return std::unexpected(r.error());
  }
  held_ = PQntuples(r->get()) == 1 && std::string_view(PQgetvalue(r->get(), 0, 0)) == "t";
  return held_;
}

core::Result<bool> Leadership::check() {
  if (!session_ || !held_) return false;
  auto r = session_->exec(
      "SELECT count(*) FROM pg_locks l WHERE l.pid = pg_backend_pid() AND" LEADERSHIP_LOCK_ROW,
      kKey.c_str(), "checking the leadership lock");
  if (!r) {
    if (session_->broken()) {
      // The session is gone, and the lock with it.
      release();
      return false;
    }
    return std::unexpected(r.error());
  }
  held_ = std::string_view(PQgetvalue(r->get(), 0, 0)) == "1";
  return held_;
}

core::Result<std::optional<std::string>> Leadership::holder() {
  if (auto c = connect(); !c) return std::unexpected(c.error());
  auto r = session_->exec(
      "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
      " WHERE" LEADERSHIP_LOCK_ROW,
      kKey.c_str(), "reading who leads");
  if (!r) {
    if (session_->broken()) release();
    return std::unexpected(r.error());
  }
  if (PQntuples(r->get()) == 0) return std::optional<std::string>();
  std::string app = PQgetvalue(r->get(), 0, 0);
  if (app.starts_with(kApplicationPrefix))
    app.erase(0, std::string_view(kApplicationPrefix).size());
  return std::optional<std::string>(std::move(app));
}

void Leadership::release() {
  session_.reset();
  held_ = false;
}

}  // namespace opsready::store
