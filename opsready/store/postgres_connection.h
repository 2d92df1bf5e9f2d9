#pragma once
// How every opsready connection to PostgreSQL is opened (the store's pool and the leadership
// session alike): timeouts, keepalives and the operator's DSN in one place. Internal to store/.

#include <libpq-fe.h>

#include <memory>
#include <string>
#include <string_view>

#include "opsready/core/error.h"
#include "opsready/store/store.h"

namespace opsready::store::pg {

struct ConnFinish {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using Conn = std::unique_ptr<PGconn, ConnFinish>;

struct ResultClear {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultClear>;

// Connects with `o`'s connect and statement timeouts, client keepalives (a vanished server is
// noticed in ~10 s) and `application_name`; the operator's DSN comes last and overrides any of
// them. Errors: store_cannot_open (authentication, unknown database), store_unavailable.
[[nodiscard]] core::Result<Conn> connect(const PostgresOptions& o,
                                         const std::string& application_name);

// A stable error code per SQLSTATE class: store_unavailable, store_read_only, store_timeout,
// store_full, store_busy, store_corrupt, store_cannot_open, store_failed.
[[nodiscard]] std::string code_for_state(std::string_view state);

}  // namespace opsready::store::pg
