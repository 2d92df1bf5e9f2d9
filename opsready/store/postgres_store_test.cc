// The PostgreSQL store's own behaviour: the schema version in its table, several replicas on
// one database (migrating at once, sharing the outbox), a server restart under a running store,
// and an unreachable server. What every backend must do alike is the contract suite,
// store_test.cc.

#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "opsready/core/error.h"
#include "opsready/store/leadership.h"
#include "opsready/store/store.h"
#include "opsready/store/test_support.h"
#include "tests/support/postgres_server.h"

namespace opsready::store {
namespace {

using core::ComponentSnapshot;
using core::Status;
using opsready::testing::shared_postgres;
using test::outbox_row;
using test::ready;
using test::sec;
using test::snap;

// Runs `sql` (one statement or several) on a connection of its own and returns the first
// column of the first row of the last result as text ("" when there is none): the test's
// independent view of the database.
std::string raw_query(const std::string& dsn, const std::string& sql) {
  PGconn* conn = PQconnectdb(dsn.c_str());
  EXPECT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
  PGresult* result = PQexec(conn, sql.c_str());
  const ExecStatusType status = PQresultStatus(result);
  EXPECT_TRUE(status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK)
      << sql << ": " << PQerrorMessage(conn);
  std::string out;
  if (status == PGRES_TUPLES_OK && PQntuples(result) > 0 && !PQgetisnull(result, 0, 0)) {
    out = PQgetvalue(result, 0, 0);
  }
  PQclear(result);
  PQfinish(conn);
  return out;
}

class PostgresStoreTest : public ::testing::Test {
 protected:
  // A new, empty database on the shared server; returns its name.
  static std::string new_database() {
    static int next = 0;
    const std::string name = "p_" + std::to_string(++next);
    std::string error;
    EXPECT_TRUE(shared_postgres().create_database(name, &error)) << error;
    return name;
  }

  static std::unique_ptr<Store> open(const std::string& dsn) {
    auto s = open_postgres_store({.dsn = dsn});
    EXPECT_TRUE(s.has_value()) << s.error().code << ": " << s.error().message;
    return s ? std::move(*s) : nullptr;
  }
};

// SQLite's counterpart: SqliteStoreTest.RefusesDatabaseWithNewerSchema.
TEST_F(PostgresStoreTest, RefusesDatabaseWithNewerSchema) {
  const std::string db = new_database();
  const std::string dsn = shared_postgres().dsn(db);
  const std::string newer = std::to_string(postgres_schema_version() + 1);
  raw_query(dsn,
            "CREATE TABLE opsready_schema (version INTEGER NOT NULL);"
            "INSERT INTO opsready_schema (version) VALUES (" +
                newer + ")");
  auto store = open_postgres_store({.dsn = dsn});
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, "store_schema_too_new");
  EXPECT_NE(store.error().message.find(db), std::string::npos) << store.error().message;
  EXPECT_NE(store.error().message.find(newer), std::string::npos) << store.error().message;
  // Refused without touching it: no tables created, version unchanged.
  EXPECT_EQ(raw_query(dsn, "SELECT count(*) FROM opsready_schema"), "1");
  EXPECT_EQ(raw_query(dsn, "SELECT version FROM opsready_schema"), newer);
  EXPECT_EQ(raw_query(dsn, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), "1");
}

// Replicas starting together: the migrations are serialized between them (the advisory lock),
// so neither fails and the schema is applied once.
TEST_F(PostgresStoreTest, TwoReplicasOpeningOneDatabaseAtOnceBothMigrateAndShareTheData) {
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const std::string dsn = shared_postgres().dsn(new_database());
    std::optional<core::Result<std::unique_ptr<Store>>> opened[2];
    std::latch go(2);
    std::vector<std::thread> threads;
    for (auto& slot : opened) {
      threads.emplace_back([&] {
        go.arrive_and_wait();
        slot.emplace(open_postgres_store({.dsn = dsn}));
      });
    }
    for (auto& t : threads) t.join();
    for (const auto& slot : opened) {
      ASSERT_TRUE(slot.has_value());
      ASSERT_TRUE(slot->has_value()) << (*slot).error().code << ": " << (*slot).error().message;
    }
    Store& a = *opened[0]->value();
    Store& b = *opened[1]->value();
    EXPECT_EQ(raw_query(dsn, "SELECT count(*) FROM opsready_schema"), "1");
    EXPECT_EQ(raw_query(dsn, "SELECT version FROM opsready_schema"),
              std::to_string(postgres_schema_version()));

    const ComponentSnapshot s = snap("ingest", sec(1), Status::kWarn);
    ASSERT_TRUE(a.put_component(s).has_value());
    auto latest = b.latest_components();
    ASSERT_TRUE(latest.has_value()) << latest.error().message;
    EXPECT_EQ(*latest, std::vector<ComponentSnapshot>{s});

    ASSERT_TRUE(b.put_readiness(ready(sec(2), Status::kFail)).has_value());
    auto lr = a.latest_readiness();
    ASSERT_TRUE(lr.has_value()) << lr.error().message;
    ASSERT_TRUE(lr->has_value());
    EXPECT_EQ(**lr, ready(sec(2), Status::kFail));

    const StateRow silence{.kind = "silence", .key = "s1", .json = R"({"v":1})"};
    ASSERT_TRUE(a.write_alerting({silence}, {{.kind = "record", .at = sec(3), .json = "r"}}, {})
                    .has_value());
    EXPECT_EQ(b.alerting_state("silence").value(), std::vector<StateRow>{silence});
    const auto log = b.alerting_log("record", sec(0), sec(10), 10).value();
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0].json, "r");
  }
}

// Two replicas deciding the same notification (the same idempotency key) at the same moment:
// both writes succeed, and the outbox holds the row once.
TEST_F(PostgresStoreTest, TheSameOutboxIdWrittenByTwoStoresAtOnceIsInsertedOnce) {
  const std::string dsn = shared_postgres().dsn(new_database());
  auto a = open(dsn);
  auto b = open(dsn);
  ASSERT_TRUE(a && b);
  constexpr int kIds = 25;
  std::latch go(2);
  std::mutex mu;
  std::vector<std::string> errors;
  const auto replica = [&](Store& store, const std::string& who) {
    go.arrive_and_wait();
    for (int i = 0; i < kIds; ++i) {
      const std::string group = "g" + std::to_string(i);
      auto r = store.write_alerting(
          {{.kind = "group_log", .key = group, .json = R"({"by":")" + who + "\"}"}}, {},
          {outbox_row("k" + std::to_string(i), group, i)});
      if (!r) {
        std::lock_guard lock(mu);
        errors.push_back(who + " k" + std::to_string(i) + ": " + r.error().code + ": " +
                         r.error().message);
      }
    }
  };
  std::thread ta(replica, std::ref(*a), "a");
  std::thread tb(replica, std::ref(*b), "b");
  ta.join();
  tb.join();
  EXPECT_TRUE(errors.empty()) << errors.size() << " failed writes, first: " << errors.front();

  const auto rows = a->outbox({.limit = 1000});
  ASSERT_TRUE(rows.has_value()) << rows.error().message;
  std::map<std::string, int> times;
  for (const auto& row : *rows) ++times[row.id];
  ASSERT_EQ(times.size(), static_cast<std::size_t>(kIds));
  for (int i = 0; i < kIds; ++i) EXPECT_EQ(times["k" + std::to_string(i)], 1) << "k" << i;
  EXPECT_EQ(rows->size(), static_cast<std::size_t>(kIds));
  const auto pending = b->outbox_pending();
  ASSERT_TRUE(pending.has_value()) << pending.error().message;
  EXPECT_EQ(pending->size(), static_cast<std::size_t>(kIds));
  EXPECT_EQ(raw_query(dsn, "SELECT count(*) FROM outbox"), std::to_string(kIds));
}

// Three replicas claiming the same outbox at once, in small batches, until nothing is left:
// every row is claimed by exactly one of them (FOR UPDATE SKIP LOCKED), none is lost.
TEST_F(PostgresStoreTest, ReplicasClaimingAtOnceGetEveryRowExactlyOnce) {
  const std::string dsn = shared_postgres().dsn(new_database());
  std::vector<std::unique_ptr<Store>> replicas;
  for (int i = 0; i < 3; ++i) {
    replicas.push_back(open(dsn));
    ASSERT_TRUE(replicas.back());
  }
  constexpr int kRows = 600;
  std::vector<OutboxRow> rows;
  for (int i = 0; i < kRows; ++i) rows.push_back(outbox_row("n" + std::to_string(i), "g", i));
  ASSERT_TRUE(replicas[0]->write_alerting({}, {}, rows).has_value());

  std::latch go(3);
  std::mutex mu;
  std::map<std::string, std::vector<std::string>> claimed_by;  // id -> owners
  std::vector<std::string> errors;
  const auto claim = [&](Store& store, const std::string& owner) {
    go.arrive_and_wait();
    // A row another claim has locked at that moment is skipped (SKIP LOCKED), so
    // "nothing new" does not mean "nothing left": each goes on until every row is someone's
    // (bounded, so that a lost row fails the test instead of hanging it).
    std::set<std::string> mine;
    for (int attempt = 0; attempt < 20000; ++attempt) {
      auto got = store.claim_outbox(owner, sec(1000), std::chrono::minutes(5), 7);
      std::lock_guard lock(mu);
      if (!got) {
        errors.push_back(owner + ": " + got.error().message);
        return;
      }
      for (const auto& row : *got) {
        if (mine.insert(row.id).second) claimed_by[row.id].push_back(owner);
      }
      if (claimed_by.size() == static_cast<std::size_t>(kRows)) return;
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back(claim, std::ref(*replicas[static_cast<std::size_t>(i)]),
                         "replica-" + std::to_string(i));
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(errors.empty()) << errors.front();
  ASSERT_EQ(claimed_by.size(), static_cast<std::size_t>(kRows));
  std::map<std::string, int> per_owner;
  for (const auto& [id, owners] : claimed_by) {
    EXPECT_EQ(owners.size(), 1u) << id << " claimed by " << owners.size() << " replicas";
    ++per_owner[owners.front()];
  }
  // Nothing is left to claim until the claims expire; then all of it again.
  EXPECT_TRUE(
      replicas[1]->claim_outbox("late", sec(1100), std::chrono::minutes(5), 1000).value().empty());
  EXPECT_EQ(
      replicas[1]->claim_outbox("late", sec(1400), std::chrono::minutes(5), 1000).value().size(),
      static_cast<std::size_t>(kRows));
}

// Leadership (store/leadership.h): one replica at a time holds it; the others see who; it passes
// on when the leader's session ends, whether it let go or its backend was terminated.
TEST_F(PostgresStoreTest, LeadershipIsHeldByOneReplicaAndPassesOnWhenItsSessionEnds) {
  const std::string dsn = shared_postgres().dsn(new_database());
  auto a = Leadership::create({.dsn = dsn}, "replica-a");
  auto b = Leadership::create({.dsn = dsn}, "replica-b");
  ASSERT_TRUE(a->try_acquire().value());
  EXPECT_TRUE(a->try_acquire().value());  // again: still the leader
  EXPECT_FALSE(b->try_acquire().value());
  EXPECT_FALSE(b->held());
  EXPECT_EQ(b->holder().value(), std::optional<std::string>("replica-a"));
  EXPECT_TRUE(a->check().value());
  EXPECT_FALSE(b->check().value());  // a standby holds nothing

  // a lets go: b takes it at its next attempt.
  a->release();
  EXPECT_FALSE(a->held());
  const auto eventually = [](const std::function<bool()>& f) {
    for (int i = 0; i < 100 && !f(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return f();
  };
  EXPECT_TRUE(eventually([&] { return b->try_acquire().value_or(false); }));
  EXPECT_EQ(a->holder().value(), std::optional<std::string>("replica-b"));
  EXPECT_FALSE(a->try_acquire().value());

  // b's backend is terminated (an operator, or the server's keepalives giving up on its host):
  // b finds out at its next check, and a takes over.
  raw_query(dsn,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'opsready-leader:replica-b'");
  EXPECT_TRUE(eventually([&] { return !b->check().value_or(true); }));
  EXPECT_FALSE(b->held());
  EXPECT_TRUE(eventually([&] { return a->try_acquire().value_or(false); }));
  EXPECT_EQ(b->holder().value(), std::optional<std::string>("replica-a"));
}

// A server restart under a running store (a server of its own, so the shared one goes on):
// while it is down every call fails at once with store_unavailable instead of hanging, and once
// it is back the store reconnects by itself and finds what it wrote before.
TEST_F(PostgresStoreTest, ARestartOfTheServerFailsCallsFastThenTheStoreReconnects) {
  opsready::testing::PostgresServerProcess server;
  std::string error;
  ASSERT_TRUE(server.start(&error)) << error;
  ASSERT_TRUE(server.create_database("restart", &error)) << error;
  auto store = open(server.dsn("restart"));
  ASSERT_TRUE(store);
  const ComponentSnapshot before = snap("ingest", sec(1), Status::kWarn);
  ASSERT_TRUE(store->put_component(before).has_value());
  ASSERT_TRUE(store->put_readiness(ready(sec(1))).has_value());

  server.stop();
  ASSERT_FALSE(server.running());
  for (int i = 0; i < 8; ++i) {
    SCOPED_TRACE("call " + std::to_string(i) + " during the outage");
    const auto began = std::chrono::steady_clock::now();
    std::optional<core::Error> failed;
    if (i % 2 == 0) {
      if (auto r = store->put_component(snap("ingest", sec(10 + i))); !r) failed = r.error();
    } else {
      if (auto r = store->latest_components(); !r) failed = r.error();
    }
    const auto took = std::chrono::steady_clock::now() - began;
    ASSERT_TRUE(failed.has_value());
    EXPECT_EQ(failed->code, "store_unavailable") << failed->message;
    EXPECT_LE(took, std::chrono::seconds(6));
  }

  ASSERT_TRUE(server.start(&error)) << error;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  auto latest = store->latest_components();
  while (!latest && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    latest = store->latest_components();
  }
  ASSERT_TRUE(latest.has_value()) << "not back 15 s after the restart: " << latest.error().code
                                  << ": " << latest.error().message;
  EXPECT_EQ(*latest, std::vector<ComponentSnapshot>{before});  // the outage wrote nothing
  // Back for good: every call from now on succeeds, on each connection of the pool (several
  // threads at once take several connections).
  auto lr = store->latest_readiness();
  ASSERT_TRUE(lr.has_value()) << lr.error().code << ": " << lr.error().message;
  ASSERT_TRUE(lr->has_value());
  EXPECT_EQ(**lr, ready(sec(1)));
  ASSERT_TRUE(store->put_component(snap("ingest", sec(20))).has_value());
  std::vector<std::thread> threads;
  std::latch go(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      go.arrive_and_wait();
      auto r = store->component_history("ingest", sec(0), sec(100), 10);
      EXPECT_TRUE(r.has_value()) << "thread " << t << ": " << r.error().code << ": "
                                 << r.error().message;
      if (r) {
        EXPECT_EQ(r->size(), 2u);
      }
    });
  }
  for (auto& th : threads) th.join();
}

// Nothing listening: the store does not open, says the server is unavailable (not that the
// configuration is wrong), names where it tried, and never repeats the password.
TEST_F(PostgresStoreTest, AnUnreachableServerIsUnavailableAndTheMessageHidesThePassword) {
  const int port = opsready::testing::free_loopback_port();
  ASSERT_NE(port, 0);
  const std::string p = std::to_string(port);
  for (const std::string& dsn :
       {"host=127.0.0.1 port=" + p + " user=opsready password=secret123 dbname=opsready",
        "postgresql://opsready:secret123@127.0.0.1:" + p + "/opsready?connect_timeout=5"}) {
    SCOPED_TRACE(dsn);
    auto store = open_postgres_store({.dsn = dsn});
    ASSERT_FALSE(store.has_value());
    EXPECT_EQ(store.error().code, "store_unavailable") << store.error().message;
    EXPECT_EQ(store.error().message.find("secret123"), std::string::npos) << store.error().message;
    EXPECT_NE(store.error().message.find(p), std::string::npos) << store.error().message;
  }
}

}  // namespace
}  // namespace opsready::store
