// The SQLite store's own behaviour: its file and WAL, its errors for unusable paths and files,
// its migrations from earlier schemas, and what it gives back to the file system. What every
// backend must do alike is the contract suite, store_test.cc.

#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "opsready/core/time.h"
#include "opsready/store/store.h"
#include "opsready/store/test_support.h"
#include "tests/support/temp_dir.h"

namespace opsready::store {
namespace {

namespace fs = std::filesystem;
using core::Status;
using core::TimePoint;
using test::alert;
using test::day_start;
using test::hour;
using test::ready;
using test::sec;
using test::snap;

// Runs one statement on a separate raw connection and returns the first column of the first
// row as text ("" when there is none): the test's independent view of the file.
std::string raw_query(const fs::path& file, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  std::string out;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  const int rc = sqlite3_step(st);
  EXPECT_TRUE(rc == SQLITE_ROW || rc == SQLITE_DONE) << sqlite3_errmsg(db);
  if (rc == SQLITE_ROW && sqlite3_column_text(st, 0) != nullptr) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<Store> open(const fs::path& file) {
    auto s = open_sqlite_store(file);
    EXPECT_TRUE(s.has_value()) << s.error().code << ": " << s.error().message;
    return s ? std::move(*s) : nullptr;
  }

  opsready::testing::TempDir tmp_{"opsready-store"};
  fs::path dir_ = tmp_.path();
};

TEST_F(SqliteStoreTest, CreatesMissingParentDirectories) {
  const fs::path file = dir_ / "a" / "b" / "opsready.db";
  auto store = open(file);
  ASSERT_TRUE(store);
  EXPECT_TRUE(fs::is_regular_file(file));
}

// Reopening keeps the data: StoreTest.ReopenKeepsData, for every backend.
TEST_F(SqliteStoreTest, ReopenDoesNotRerunMigrations) {
  const fs::path file = dir_ / "opsready.db";
  {
    auto store = open(file);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->put_readiness(ready(sec(1))).has_value());
  }
  EXPECT_EQ(raw_query(file, "PRAGMA user_version"), std::to_string(sqlite_schema_version()));
  // Migration 1 creates this index; if it ran again on reopen, the index would be back.
  raw_query(file, "DROP INDEX readiness_snapshots_time");
  {
    auto store = open(file);
    ASSERT_TRUE(store);
  }
  EXPECT_EQ(raw_query(file,
                      "SELECT count(*) FROM sqlite_master WHERE name = "
                      "'readiness_snapshots_time'"),
            "0");
  EXPECT_EQ(raw_query(file, "PRAGMA user_version"), std::to_string(sqlite_schema_version()));
}

// PostgreSQL's counterpart: PostgresStoreTest.RefusesDatabaseWithNewerSchema.
TEST_F(SqliteStoreTest, RefusesDatabaseWithNewerSchema) {
  const fs::path file = dir_ / "future.db";
  const std::string newer = std::to_string(sqlite_schema_version() + 1);
  raw_query(file, "PRAGMA user_version = " + newer);
  auto store = open_sqlite_store(file);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, "store_schema_too_new");
  EXPECT_NE(store.error().message.find(file.string()), std::string::npos) << store.error().message;
  EXPECT_NE(store.error().message.find(newer), std::string::npos) << store.error().message;
  // Refused without touching it: no tables created, version unchanged.
  EXPECT_EQ(raw_query(file, "PRAGMA user_version"), newer);
  EXPECT_EQ(raw_query(file, "SELECT count(*) FROM sqlite_master"), "0");
}

TEST_F(SqliteStoreTest, UnusablePathsGiveErrorsNamingThePath) {
  // A regular file where a directory is needed fails even for root, unlike chmod tricks.
  const fs::path blocker = dir_ / "not-a-dir";
  std::ofstream(blocker) << "x";
  fs::create_directories(dir_ / "is-a-dir");
  std::vector<fs::path> cases = {
      blocker / "opsready.db",
      blocker / "deeper" / "opsready.db",
      dir_ / "is-a-dir",
  };
  if (geteuid() != 0) {  // root ignores permission bits
    fs::create_directories(dir_ / "read-only");
    fs::permissions(dir_ / "read-only", fs::perms::owner_read | fs::perms::owner_exec);
    cases.push_back(dir_ / "read-only" / "opsready.db");
    cases.push_back(dir_ / "read-only" / "sub" / "opsready.db");
  }
  for (const auto& file : cases) {
    auto store = open_sqlite_store(file);
    ASSERT_FALSE(store.has_value()) << file;
    EXPECT_EQ(store.error().code, "store_cannot_open") << file;
    EXPECT_NE(store.error().message.find(file.string()), std::string::npos)
        << store.error().message;
  }
}

TEST_F(SqliteStoreTest, GarbageFileGivesCorruptError) {
  const fs::path file = dir_ / "garbage.db";
  std::string junk;
  for (int i = 0; i < 200; ++i) junk += "this is not an sqlite database\n";
  std::ofstream(file, std::ios::binary) << junk;

  auto store = open_sqlite_store(file);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, "store_corrupt");
  EXPECT_NE(store.error().message.find(file.string()), std::string::npos) << store.error().message;
  std::ifstream in(file, std::ios::binary);
  const std::string after((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(after, junk);  // left as found, for the operator to inspect
}

TEST_F(SqliteStoreTest, UsesWalJournalMode) {
  const fs::path file = dir_ / "opsready.db";
  auto store = open(file);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put_readiness(ready(sec(1))).has_value());
  EXPECT_EQ(raw_query(file, "PRAGMA journal_mode"), "wal");
  EXPECT_TRUE(fs::exists(fs::path(file.string() + "-wal")));
}

TEST_F(SqliteStoreTest, RefusesToRunWithoutWal) {
  // An in-memory database answers journal_mode=WAL with "memory", the same path a file system
  // without shared-memory support takes.
  auto store = open_sqlite_store(":memory:");
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, "store_cannot_open");
  EXPECT_NE(store.error().message.find("WAL"), std::string::npos) << store.error().message;
}

TEST_F(SqliteStoreTest, TheWalIsCheckpointedIntoTheDatabaseWhileWritesGoOn) {
  // The checkpoints run on a thread of their own (no commit waits for one): once the WAL has
  // passed 1 000 pages, its pages reach the database file, and the WAL does not grow without
  // bound. Without any checkpoint the database file would stay at its first few pages.
  const auto file = dir_ / "opsready.db";
  auto store = open(file);
  ASSERT_TRUE(store);
  const auto initial = fs::file_size(file);
  for (int i = 0; i < 400; ++i) {  // ~3 pages per row, one commit each: ~1 200 WAL pages
    StoredReadiness r = ready(sec(i));
    r.json = R"({"pad":")" + std::string(10000, static_cast<char>('a' + i % 26)) + R"("})";
    ASSERT_TRUE(store->put_readiness(r).has_value());
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (fs::file_size(file) < initial + 2'000'000 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(fs::file_size(file), initial + 2'000'000) << "no checkpoint copied the WAL";
  // Everything committed is readable, whichever file holds it.
  auto all = store->readiness_history(sec(0), sec(400), 1000);
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->size(), 400u);
  // A clean close checkpoints the rest and removes the WAL.
  store.reset();
  EXPECT_FALSE(fs::exists(file.string() + "-wal"));
}

TEST_F(SqliteStoreTest, PruneGivesTheFreedPagesBackToTheFileSystem) {
  const auto file = dir_ / "opsready.db";
  auto store = open(file);
  ASSERT_TRUE(store);
  EXPECT_EQ(raw_query(file, "PRAGMA auto_vacuum"), "2");  // incremental
  for (int i = 0; i < 500; ++i) {
    StoredReadiness r = ready(sec(i));
    r.json = R"({"pad":")" + std::string(4000, 'x') + R"("})";
    ASSERT_TRUE(store->put_readiness(r).has_value());
  }
  const int full = std::stoi(raw_query(file, "PRAGMA page_count"));
  auto pruned = store->prune(sec(450));
  ASSERT_TRUE(pruned.has_value());
  EXPECT_EQ(*pruned, 450u);
  EXPECT_EQ(raw_query(file, "PRAGMA freelist_count"), "0");
  // 450 of 500 rows of a page or more each are gone, and so are their pages.
  EXPECT_LT(std::stoi(raw_query(file, "PRAGMA page_count")), full / 4) << full;
}

TEST_F(SqliteStoreTest, MigrationFiveKeepsTheAlertsOfAVersionFourDatabase) {
  const auto file = dir_ / "opsready.db";
  const auto lag = alert("Lag", sec(0), sec(300), sec(7));
  const auto ns = [](TimePoint t) {
    return std::to_string(
        std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
  };
  { ASSERT_TRUE(open(file)); }
  // Back to schema 4: the alerts table of migration 2 (WITHOUT ROWID, keyed by fingerprint)
  // holding one alert, as a database written by an earlier release has it.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  const std::string v4 =
      "ALTER TABLE outbox DROP COLUMN claimed_by;"        // migration 11's
      "ALTER TABLE outbox DROP COLUMN claimed_until_ns;"  // migration 11's
      "DROP TABLE signoffs;"                              // migration 10's
      "DROP TABLE gate_history;"                          // migration 9's
      "DROP TABLE drill_runs;"                            // migration 8's
      "DROP TABLE component_quarters;"                    // migration 7's
      "DROP TABLE component_days;"                        // migration 6's
      "DROP TABLE alerts;"
      "CREATE TABLE alerts (fingerprint TEXT PRIMARY KEY, labels TEXT NOT NULL,"
      " annotations TEXT NOT NULL, starts_at_ns INTEGER NOT NULL, ends_at_ns INTEGER NOT NULL,"
      " generator_url TEXT NOT NULL, timeout INTEGER NOT NULL, received_at_ns INTEGER NOT NULL)"
      " WITHOUT ROWID;"
      "CREATE INDEX alerts_ends_at ON alerts (ends_at_ns);"
      "INSERT INTO alerts VALUES ('" +
      lag.fingerprint +
      "', '{\"alertname\":\"Lag\",\"severity\":\"page\"}',"
      " '{\"summary\":\"lag is high\"}', " +
      ns(sec(0)) + ", " + ns(sec(300)) + ", 'http://prometheus:9090/graph?g0.expr=up', 0, " +
      ns(sec(7)) +
      ");"
      "PRAGMA user_version = 4;";
  char* err = nullptr;
  ASSERT_EQ(sqlite3_exec(db, v4.c_str(), nullptr, nullptr, &err), SQLITE_OK) << err;
  sqlite3_close(db);

  auto store = open(file);
  ASSERT_TRUE(store);
  EXPECT_EQ(raw_query(file, "PRAGMA user_version"), std::to_string(sqlite_schema_version()));
  auto all = store->alerts(false, sec(100));
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front(), lag);
  // A rowid table now, with the ends_at index back, and an upsert keeps one row per alert.
  EXPECT_EQ(raw_query(file, "SELECT count(*) FROM pragma_table_info('alerts') WHERE name = 'id'"),
            "1");
  EXPECT_EQ(raw_query(file, "SELECT count(*) FROM sqlite_master WHERE name = 'alerts_ends_at'"),
            "1");
  auto later = lag;
  later.ends_at = sec(600);
  ASSERT_TRUE(store->replace_alerts({later}).has_value());
  EXPECT_EQ(raw_query(file, "SELECT count(*) FROM alerts"), "1");
  EXPECT_EQ(raw_query(file, "SELECT ends_at_ns FROM alerts"), ns(sec(600)));
}

TEST_F(SqliteStoreTest, MigrationSixBackfillsTheDailyRollUpOfAVersionFiveDatabase) {
  const auto file = dir_ / "opsready.db";
  {
    auto store = open(file);
    ASSERT_TRUE(store);
    for (const auto& s : {snap("ingest", hour(3)), snap("ingest", hour(7), Status::kFail),
                          snap("ingest", hour(22), Status::kWarn), snap("risk", hour(24 + 2))}) {
      ASSERT_TRUE(store->put_component(s).has_value());
    }
  }
  // Back to schema 5: no roll-up table, the snapshots as an earlier release left them.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  ASSERT_EQ(
      sqlite3_exec(db,
                   "ALTER TABLE outbox DROP COLUMN claimed_by; ALTER TABLE outbox DROP COLUMN "
                   "claimed_until_ns; DROP TABLE signoffs; DROP TABLE gate_history; DROP TABLE "
                   "drill_runs; DROP TABLE "
                   "component_quarters; DROP TABLE component_days; "
                   "PRAGMA user_version = 5;",
                   nullptr, nullptr, &err),
      SQLITE_OK)
      << err;
  sqlite3_close(db);

  auto store = open(file);
  ASSERT_TRUE(store);
  EXPECT_EQ(raw_query(file, "PRAGMA user_version"), std::to_string(sqlite_schema_version()));
  auto days = store->component_days(day_start(0), day_start(1));
  ASSERT_TRUE(days.has_value());
  const std::vector<ComponentDay> want = {
      {.component = "ingest",
       .day = day_start(0),
       .worst = Status::kFail,
       .last = Status::kWarn,
       .first_at = hour(3),
       .last_at = hour(22),
       .snapshots = 3},
      {.component = "risk",
       .day = day_start(1),
       .worst = Status::kOk,
       .last = Status::kOk,
       .first_at = hour(26),
       .last_at = hour(26),
       .snapshots = 1},
  };
  EXPECT_EQ(*days, want);
  // And the roll-up goes on from there.
  ASSERT_TRUE(store->put_component(snap("risk", hour(27), Status::kFail)).has_value());
  days = store->component_days(day_start(1), day_start(1));
  ASSERT_TRUE(days.has_value());
  ASSERT_EQ(days->size(), 1u);
  EXPECT_EQ(days->front().worst, Status::kFail);
  EXPECT_EQ(days->front().snapshots, 2);
}

TEST_F(SqliteStoreTest, MigrationSevenBackfillsTheQuarterHourRollUpTheStripsAreReadFrom) {
  const auto file = dir_ / "opsready.db";
  const auto strips = [](Store& s) {
    // 15-minute buckets (the roll-up) and 10-minute ones (the snapshots) over the same hours.
    auto quarters = s.component_buckets(hour(10), hour(13, 5), std::chrono::minutes(15));
    auto tens = s.component_buckets(hour(10), hour(13, 5), std::chrono::minutes(10));
    EXPECT_TRUE(quarters.has_value() && tens.has_value());
    return std::pair{quarters.value_or(std::vector<ComponentBucket>{}),
                     tens.value_or(std::vector<ComponentBucket>{})};
  };
  std::pair<std::vector<ComponentBucket>, std::vector<ComponentBucket>> want;
  {
    auto store = open(file);
    ASSERT_TRUE(store);
    // Several snapshots in one quarter (the last one ok after a fail), one at until's quarter
    // before until (13:02) and one after it (13:07, not in the range).
    for (const auto& s :
         {snap("ingest", hour(10, 1)), snap("ingest", hour(10, 7), Status::kFail),
          snap("ingest", hour(10, 14)), snap("ingest", hour(11, 40), Status::kWarn),
          snap("ingest", hour(13, 2), Status::kFail), snap("ingest", hour(13, 7), Status::kWarn),
          snap("risk", hour(9), Status::kWarn), snap("risk", hour(12, 30))}) {
      ASSERT_TRUE(store->put_component(s).has_value());
    }
    want = strips(*store);
  }
  // The strips as a reader of the snapshots would make them.
  ASSERT_EQ(want.first.size(), 13u + 13u);         // ingest 10:00-13:00, risk carried from 09:00
  EXPECT_EQ(want.first[0].worst, Status::kFail);   // 10:00: fail at 10:07
  EXPECT_EQ(want.first[1].worst, Status::kOk);     // 10:15: ok since 10:14
  EXPECT_EQ(want.first[6].worst, Status::kWarn);   // 11:30: warn at 11:40
  EXPECT_EQ(want.first[12].worst, Status::kFail);  // 13:00: fail at 13:02, 13:07 not in range
  EXPECT_EQ(want.first[12].start, hour(13));
  ASSERT_EQ(want.second.size(), 19u + 19u);
  EXPECT_EQ(want.second[0].worst, Status::kFail);  // 10:00-10:10
  EXPECT_EQ(want.second[1].worst, Status::kFail);  // 10:10: fail until 10:14
  EXPECT_EQ(want.second[2].worst, Status::kOk);
  EXPECT_EQ(want.second[18].worst, Status::kFail);  // 13:00-13:05

  // Back to schema 6 (no quarter roll-up): migration 7 fills it from the snapshots.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  ASSERT_EQ(
      sqlite3_exec(db,
                   "ALTER TABLE outbox DROP COLUMN claimed_by; ALTER TABLE outbox DROP COLUMN "
                   "claimed_until_ns; DROP TABLE signoffs; DROP TABLE gate_history; DROP TABLE "
                   "drill_runs; DROP TABLE "
                   "component_quarters; PRAGMA user_version = 6;",
                   nullptr, nullptr, &err),
      SQLITE_OK)
      << err;
  sqlite3_close(db);
  auto store = open(file);
  ASSERT_TRUE(store);
  EXPECT_EQ(strips(*store), want);
  // Pruning takes the quarters before the horizon with the snapshots (not counted as history).
  auto pruned = store->prune(hour(12));
  ASSERT_TRUE(pruned.has_value());
  EXPECT_EQ(*pruned, 5u);
  EXPECT_EQ(raw_query(file, "SELECT COUNT(*) FROM component_quarters WHERE quarter < " +
                                std::to_string(std::chrono::duration_cast<std::chrono::minutes>(
                                                   hour(12).time_since_epoch())
                                                   .count() /
                                               15)),
            "0");
}

}  // namespace
}  // namespace opsready::store
