#pragma once
// Leadership: which one of the replicas sharing a PostgreSQL store evaluates, decides and
// sends (docs/replicas.md). The leader holds a session-level advisory lock on a connection of
// its own; PostgreSQL releases it the moment that session ends (the process died, its host
// went away and the server's keepalives noticed, an operator terminated it), and the next
// standby to ask takes it. No consensus of our own: PostgreSQL is the arbiter.
//
//   auto l = store::Leadership::open(postgres_options, "replica-b").value();
//   while (!l->try_acquire().value_or(false)) wait();   // standby
//   ... lead; every second:  if (!l->check().value_or(false)) step down;
//
// The session's server-side keepalives (tcp_keepalives_*, tcp_user_timeout) are set short, so
// a leader cut off from PostgreSQL loses the lock within ~15 s rather than the kernel's hours;
// check() on the leader's side fails as soon as its own round trip does, so a leader that can
// no longer reach PostgreSQL knows it may have lost the lock.
//
// Thread-safety: one thread at a time (the caller serializes).

#include <memory>
#include <optional>
#include <string>

#include "opsready/core/error.h"
#include "opsready/store/store.h"

namespace opsready::store {

// The advisory lock key of leadership (bigint; the migrations use another).
inline constexpr long long kLeadershipLockKey = 1869640563;

class Leadership {
 public:
  // No connection yet: try_acquire() connects. `name` is the replica's (replica.name).
  static std::unique_ptr<Leadership> create(PostgresOptions options, std::string name);
  ~Leadership();
  Leadership(const Leadership&) = delete;
  Leadership& operator=(const Leadership&) = delete;

  // One attempt: connects when there is no session, then pg_try_advisory_lock. True when this
  // replica leads now (also when it led already). Errors: the store's (store_unavailable, ...).
  [[nodiscard]] core::Result<bool> try_acquire();
  // Whether this session still holds the lock (one round trip). False when the session ended
  // (the lock is then gone); an error when PostgreSQL could not be asked.
  [[nodiscard]] core::Result<bool> check();
  // The replica holding the lock now, by its name; nullopt when none does.
  [[nodiscard]] core::Result<std::optional<std::string>> holder();
  // Ends the session (and with it the lock).
  void release();
  [[nodiscard]] bool held() const { return held_; }
  [[nodiscard]] const std::string& name() const { return name_; }

 private:
  Leadership(PostgresOptions options, std::string name);
  // A session, opened when there is none (or it broke).
  core::Result<void> connect();
  struct Session;
  PostgresOptions options_;
  std::string name_;
  std::unique_ptr<Session> session_;
  bool held_ = false;
};

}  // namespace opsready::store
