// The contract of Store (store.h), run against every backend: each test runs once on SQLite
// and once on PostgreSQL (Backends/StoreTest.<name>/sqlite, .../postgres). A test names its
// store by a path, as a SQLite test would; on PostgreSQL each (test, path) is a database of its
// own on the test binary's shared server (tests/support/postgres_server.h), so opening the same
// path again reopens the same database. What only one backend does is in sqlite_store_test.cc
// and postgres_store_test.cc.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "opsready/core/time.h"
#include "opsready/store/store.h"
#include "opsready/store/test_support.h"
#include "tests/support/postgres_server.h"
#include "tests/support/temp_dir.h"

namespace opsready::store {
namespace {

namespace fs = std::filesystem;
using core::ComponentSnapshot;
using core::Status;
using core::TimePoint;
using test::alert;
using test::at;
using test::day_start;
using test::hour;
using test::outbox_row;
using test::ready;
using test::sec;
using test::snap;

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  // The store at `location`: the SQLite file, or the PostgreSQL database this test and
  // location map to (created at the first open).
  std::unique_ptr<Store> open(const fs::path& location) {
    auto s = open_store(location);
    EXPECT_TRUE(s.has_value()) << s.error().code << ": " << s.error().message;
    return s ? std::move(*s) : nullptr;
  }

  core::Result<std::unique_ptr<Store>> open_store(const fs::path& location) {
    if (GetParam() == "sqlite") return open_sqlite_store(location);
    auto& server = opsready::testing::shared_postgres();
    const std::string name = database_for(location);
    if (created_.insert(name).second) {
      std::string error;
      EXPECT_TRUE(server.create_database(name, &error)) << error;
    }
    return open_postgres_store({.dsn = server.dsn(name)});
  }

  // t_<FNV-1a of the test's full name and the location>: the location holds the test's
  // temporary directory, so the name is new in every run, and stays within PostgreSQL's 63
  // bytes.
  static std::string database_for(const fs::path& location) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    const std::string key =
        std::string(info->test_suite_name()) + "." + info->name() + "\n" + location.string();
    std::uint64_t hash = 1469598103934665603ull;
    for (const unsigned char c : key) {
      hash ^= c;
      hash *= 1099511628211ull;
    }
    char name[24];
    std::snprintf(name, sizeof name, "t_%016llx", static_cast<unsigned long long>(hash));
    return name;
  }

  opsready::testing::TempDir tmp_{"opsready-store"};
  fs::path dir_ = tmp_.path();
  std::set<std::string> created_;
};

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

TEST_P(StoreTest, RoundTripsComponentAndReadinessSnapshots) {
  auto store = open(dir_ / "opsready.db");
  ASSERT_TRUE(store);
  ComponentSnapshot s{.component = "incident_response",
                      .status = Status::kWarn,
                      .summary = "open incidents=2 \"quoted\" \u00e9",
                      // Nanoseconds must survive both the column and the JSON.
                      .observed_at = at("2025-01-02T00:00:00.123456789Z"),
                      .issues = {{.code = "open_incidents",
                                  .severity = core::Severity::kCritical,
                                  .message = "2 open incidents",
                                  .runbook = "docs/runbooks/incident_response.md"}},
                      .metadata = {{"open", 2}, {"ratio", 0.1}, {"tags", {"a", "b"}}}};
  ASSERT_TRUE(store->put_component(s).has_value());
  const StoredReadiness r = ready(at("2025-01-02T00:00:01.5Z"), Status::kFail);
  ASSERT_TRUE(store->put_readiness(r).has_value());

  auto latest = store->latest_components();
  ASSERT_TRUE(latest.has_value()) << latest.error().message;
  ASSERT_EQ(latest->size(), 1u);
  EXPECT_EQ(latest->front(), s);

  auto hist = store->component_history("incident_response", s.observed_at, s.observed_at, 10);
  ASSERT_TRUE(hist.has_value());
  ASSERT_EQ(hist->size(), 1u);
  EXPECT_EQ(hist->front(), s);

  auto lr = store->latest_readiness();
  ASSERT_TRUE(lr.has_value());
  ASSERT_TRUE(lr->has_value());
  EXPECT_EQ(**lr, r);
  auto rh = store->readiness_history(r.generated_at, r.generated_at, 10);
  ASSERT_TRUE(rh.has_value());
  EXPECT_EQ(*rh, std::vector<StoredReadiness>{r});
}

TEST_P(StoreTest, EmptyStoreAnswersEmpty) {
  auto store = open(dir_ / "opsready.db");
  ASSERT_TRUE(store);
  auto lr = store->latest_readiness();
  ASSERT_TRUE(lr.has_value());
  EXPECT_FALSE(lr->has_value());
  auto lc = store->latest_components();
  ASSERT_TRUE(lc.has_value());
  EXPECT_TRUE(lc->empty());
}

TEST_P(StoreTest, TimeRangeBoundsAreInclusive) {
  auto store = open(dir_ / "opsready.db");
  ASSERT_TRUE(store);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store->put_readiness(ready(sec(i))).has_value());
    ASSERT_TRUE(store->put_component(snap("ingest_slos", sec(i))).has_value());
    ASSERT_TRUE(store->put_component(snap("security", sec(i))).has_value());
  }
  auto rh = store->readiness_history(sec(1), sec(3), 100);
  ASSERT_TRUE(rh.has_value());
  EXPECT_EQ(*rh, (std::vector<StoredReadiness>{ready(sec(1)), ready(sec(2)), ready(sec(3))}));

  auto ch = store->component_history("ingest_slos", sec(1), sec(3), 100);
  ASSERT_TRUE(ch.has_value());
  EXPECT_EQ(
      *ch, (std::vector<ComponentSnapshot>{snap("ingest_slos", sec(1)), snap("ingest_slos", sec(2)),
                                           snap("ingest_slos", sec(3))}));

  // One nanosecond outside each bound excludes the boundary rows.
  auto inner = store->readiness_history(sec(1) + std::chrono::nanoseconds(1),
                                        sec(3) - std::chrono::nanoseconds(1), 100);
  ASSERT_TRUE(inner.has_value());
  EXPECT_EQ(*inner, std::vector<StoredReadiness>{ready(sec(2))});

  auto none = store->component_history("unknown", sec(0), sec(4), 100);
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
}

TEST_P(StoreTest, LimitReturnsNewestRowsOldestFirst) {
  auto store = open(dir_ / "opsready.db");
  ASSERT_TRUE(store);
  // Inserted out of order, so the order must come from the timestamps, not insertion.
  for (int i : {3, 0, 4, 1, 2}) {
    ASSERT_TRUE(store->put_readiness(ready(sec(i))).has_value());
    ASSERT_TRUE(store->put_component(snap("security", sec(i))).has_value());
  }
  auto rh = store->readiness_history(sec(0), sec(4), 2);
  ASSERT_TRUE(rh.has_value());
  EXPECT_EQ(*rh, (std::vector<StoredReadiness>{ready(sec(3)), ready(sec(4))}));

  auto ch = store->component_history("security", sec(0), sec(4), 3);
  ASSERT_TRUE(ch.has_value());
  EXPECT_EQ(*ch, (std::vector<ComponentSnapshot>{snap("security", sec(2)), snap("security", sec(3)),
                                                 snap("security", sec(4))}));

  auto zero = store->readiness_history(sec(0), sec(4), 0);
  ASSERT_TRUE(zero.has_value());
  EXPECT_TRUE(zero->empty());

  auto all = store->readiness_history(sec(0), sec(4), static_cast<std::size_t>(-1));
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->size(), 5u);
}

TEST_P(StoreTest, LatestComponentsPicksNewestPerComponentSortedByName) {
  auto store = open(dir_ / "opsready.db");
  ASSERT_TRUE(store);
  const ComponentSnapshot rows[] = {
      snap("security", sec(5), Status::kFail), snap("security", sec(9), Status::kOk),
      snap("security", sec(7), Status::kWarn), snap("backups", sec(1), Status::kWarn),
      snap("backups", sec(0), Status::kFail),  snap("drift_sentry", sec(3)),
  };
  for (const auto& r : rows) ASSERT_TRUE(store->put_component(r).has_value());
  // Equal timestamps: the later write wins.
  ComponentSnapshot tie = snap("drift_sentry", sec(3), Status::kFail);
  tie.summary = "second write";
  ASSERT_TRUE(store->put_component(tie).has_value());

  auto latest = store->latest_components();
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(*latest, (std::vector<ComponentSnapshot>{
                         snap("backups", sec(1), Status::kWarn),
                         tie,
                         snap("security", sec(9), Status::kOk),
                     }));
}

TEST_P(StoreTest, PruneDeletesRowsStrictlyOlderThanTheHorizon) {
  auto store = open(dir_ / "opsready.db");
  ASSERT_TRUE(store);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(store->put_readiness(ready(sec(i))).has_value());
    ASSERT_TRUE(store->put_component(snap("security", sec(i))).has_value());
  }
  auto deleted = store->prune(sec(2));
  ASSERT_TRUE(deleted.has_value()) << deleted.error().message;
  EXPECT_EQ(*deleted, 4u);  // seconds 0 and 1 from both tables

  auto rh = store->readiness_history(sec(0), sec(10), 100);
  ASSERT_TRUE(rh.has_value());
  EXPECT_EQ(*rh, (std::vector<StoredReadiness>{ready(sec(2)), ready(sec(3))}));
  auto ch = store->component_history("security", sec(0), sec(10), 100);
  ASSERT_TRUE(ch.has_value());
  EXPECT_EQ(*ch,
            (std::vector<ComponentSnapshot>{snap("security", sec(2)), snap("security", sec(3))}));

  auto again = store->prune(sec(2));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, 0u);
}

TEST_P(StoreTest, ReopenKeepsData) {
  const fs::path file = dir_ / "opsready.db";
  {
    auto store = open(file);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->put_readiness(ready(sec(1))).has_value());
    ASSERT_TRUE(store->put_component(snap("security", sec(1))).has_value());
  }
  {
    auto store = open(file);
    ASSERT_TRUE(store);
    auto rh = store->readiness_history(sec(0), sec(2), 10);
    ASSERT_TRUE(rh.has_value());
    EXPECT_EQ(*rh, std::vector<StoredReadiness>{ready(sec(1))});
    auto lc = store->latest_components();
    ASSERT_TRUE(lc.has_value());
    EXPECT_EQ(*lc, std::vector<ComponentSnapshot>{snap("security", sec(1))});
  }
}

TEST_P(StoreTest, RefusesInvalidComponentName) {
  auto store = open(dir_ / "opsready.db");
  ASSERT_TRUE(store);
  auto r = store->put_component(snap("Not A Name", sec(0)));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, "invalid_component_name");
  auto lc = store->latest_components();
  ASSERT_TRUE(lc.has_value());
  EXPECT_TRUE(lc->empty());
}

TEST_P(StoreTest, ConcurrentWritersAndReadersLoseNothing) {
  auto store = open(dir_ / "opsready.db");
  ASSERT_TRUE(store);
  constexpr int kThreads = 4;
  constexpr int kEach = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        EXPECT_TRUE(store->put_readiness(ready(sec(t * kEach + i))).has_value());
        EXPECT_TRUE(store->latest_readiness().has_value());
      }
    });
  }
  for (auto& th : threads) th.join();
  auto all = store->readiness_history(sec(0), sec(kThreads * kEach), 10'000);
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), static_cast<std::size_t>(kThreads * kEach));
  for (int i = 0; i < kThreads * kEach; ++i) EXPECT_EQ((*all)[i].generated_at, sec(i));
}

TEST_P(StoreTest, AlertsRoundTripMergeAndFilterByActivity) {
  const auto file = dir_ / "opsready.db";
  {
    auto store = open(file);
    ASSERT_TRUE(store);
    auto empty = store->alerts(false, sec(0));
    ASSERT_TRUE(empty.has_value());
    EXPECT_TRUE(empty->empty());

    const auto lag = alert("Lag", sec(0), sec(300), sec(0));
    const auto down = alert("Down", sec(0), sec(60), sec(0));
    ASSERT_TRUE(store->put_alerts({lag, down}).has_value());
    // Re-posted later: the stored start is kept, the end and annotations move on.
    auto again = alert("Lag", sec(60), sec(400), sec(60));
    again.annotations = {{"summary", "lag is still high"}};
    ASSERT_TRUE(store->put_alerts({again}).has_value());

    auto all = store->alerts(false, sec(100));
    ASSERT_TRUE(all.has_value());
    ASSERT_EQ(all->size(), 2u);
    auto active = store->alerts(true, sec(100));
    ASSERT_TRUE(active.has_value());
    ASSERT_EQ(active->size(), 1u);
    core::Alert expected = again;
    expected.starts_at = sec(0);
    EXPECT_EQ(active->front(), expected);
  }
  // Durable: a reopened store answers the same; prune drops alerts that ended before it.
  auto store = open(file);
  ASSERT_TRUE(store);
  auto all = store->alerts(false, sec(100));
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->size(), 2u);
  auto pruned = store->prune(sec(120));
  ASSERT_TRUE(pruned.has_value());
  EXPECT_EQ(*pruned, 1u);
  all = store->alerts(false, sec(100));
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().labels.at("alertname"), "Lag");
}

TEST_P(StoreTest, AlertWithoutFingerprintIsRefusedAndNothingIsStored) {
  auto store = open(dir_ / "opsready.db");
  ASSERT_TRUE(store);
  auto bad = alert("X", sec(0), sec(10), sec(0));
  bad.fingerprint.clear();
  auto r = store->put_alerts({alert("Y", sec(0), sec(10), sec(0)), bad});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, "invalid_alert");
  auto all = store->alerts(false, sec(0));
  ASSERT_TRUE(all.has_value());
  EXPECT_TRUE(all->empty());
}

TEST_P(StoreTest, AlertingStateWritesDeletesAndSurvivesAReopen) {
  const fs::path file = dir_ / "a.db";
  {
    auto s = open(file);
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->write_alerting({{.kind = "silence", .key = "b", .json = R"({"v":1})"},
                                   {.kind = "silence", .key = "a", .json = R"({"v":2})"},
                                   {.kind = "ack", .key = "g1", .json = R"({"by":"x"})"}},
                                  {}, {})
                    .has_value());
    // A write replaces, an empty json deletes, in the order given.
    ASSERT_TRUE(s->write_alerting({{.kind = "silence", .key = "b", .json = R"({"v":3})"},
                                   {.kind = "ack", .key = "g1", .json = ""}},
                                  {}, {})
                    .has_value());
  }
  auto s = open(file);
  ASSERT_TRUE(s);
  const auto silences = s->alerting_state("silence").value();
  ASSERT_EQ(silences.size(), 2u);
  EXPECT_EQ(silences[0], (StateRow{.kind = "silence", .key = "a", .json = R"({"v":2})"}));
  EXPECT_EQ(silences[1], (StateRow{.kind = "silence", .key = "b", .json = R"({"v":3})"}));
  EXPECT_TRUE(s->alerting_state("ack").value().empty());
  EXPECT_TRUE(s->alerting_state("nothing").value().empty());
}

TEST_P(StoreTest, AlertingLogAppendsInOrderFiltersByKindAndRangeAndIsPruned) {
  auto s = open(dir_ / "log.db");
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->write_alerting({},
                                {{.kind = "record", .at = sec(10), .json = "1"},
                                 {.kind = "record", .at = sec(10), .json = "2"},
                                 {.kind = "silence_audit", .at = sec(15), .json = "s"},
                                 {.kind = "record", .at = sec(20), .json = "3"}},
                                {})
                  .has_value());
  const auto all = s->alerting_log("record", sec(0), sec(100), 10).value();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].json, "1");
  EXPECT_EQ(all[1].json, "2");
  EXPECT_EQ(all[2].json, "3");
  EXPECT_LT(all[0].id, all[1].id);
  EXPECT_EQ(all[2].at, sec(20));
  // The newest `limit` rows of the range, oldest first.
  const auto newest = s->alerting_log("record", sec(0), sec(100), 2).value();
  ASSERT_EQ(newest.size(), 2u);
  EXPECT_EQ(newest[0].json, "2");
  EXPECT_EQ(s->alerting_log("record", sec(11), sec(20), 10).value().size(), 1u);
  EXPECT_EQ(s->alerting_log("silence_audit", sec(0), sec(100), 10).value().size(), 1u);
  EXPECT_EQ(s->prune(sec(15)).value(), 2u);
  EXPECT_EQ(s->alerting_log("record", sec(0), sec(100), 10).value().size(), 1u);
}

TEST_P(StoreTest, OutboxRowsAreWrittenWithTheStateOnceByIdAndSurviveAReopen) {
  const fs::path file = dir_ / "outbox.db";
  {
    auto s = open(file);
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->write_alerting({{.kind = "group_log", .key = "g", .json = "{}"}}, {},
                                  {outbox_row("k1", "g", 10), outbox_row("k2", "h", 11)})
                    .has_value());
    // The same id again (a replica or a re-decision inserting it twice) changes nothing.
    OutboxRow again = outbox_row("k1", "g", 10);
    again.payload = "changed";
    ASSERT_TRUE(s->write_alerting({}, {}, {again}).has_value());
  }
  auto s = open(file);
  ASSERT_TRUE(s);
  const auto pending = s->outbox_pending().value();
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0], outbox_row("k1", "g", 10));  // oldest decided first
  EXPECT_EQ(pending[1].id, "k2");
  EXPECT_EQ(s->alerting_state("group_log").value().size(), 1u);
}

TEST_P(StoreTest, OutboxUpdatesMarkRowsAndTheLogAnswersWhatWasSent) {
  auto s = open(dir_ / "outbox.db");
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->write_alerting({}, {},
                                {outbox_row("k1", "g", 10), outbox_row("k2", "g", 20),
                                 outbox_row("k3", "h", 30)})
                  .has_value());
  ASSERT_TRUE(s->update_outbox({{.id = "k1",
                                 .state = OutboxState::kSent,
                                 .attempts = 2,
                                 .next_attempt_at = sec(12),
                                 .done_at = sec(12)},
                                {.id = "k3",
                                 .state = OutboxState::kFailed,
                                 .attempts = 1,
                                 .done_at = sec(31),
                                 .last_error = "HTTP 400"},
                                {.id = "unknown", .state = OutboxState::kSent}})
                  .has_value());
  const auto pending = s->outbox_pending().value();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].id, "k2");
  // Was group g notified? The newest sent row of the receiver and group.
  const auto sent =
      s->outbox({.receiver = "ops", .group_key = "g", .state = OutboxState::kSent}).value();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].id, "k1");
  EXPECT_EQ(sent[0].attempts, 2);
  EXPECT_EQ(sent[0].done_at, sec(12));
  // Newest decided first, every state, limited.
  const auto all = s->outbox({.limit = 2}).value();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, "k3");
  EXPECT_EQ(all[0].state, OutboxState::kFailed);
  EXPECT_EQ(all[0].last_error, "HTTP 400");
  EXPECT_EQ(all[1].id, "k2");
  EXPECT_EQ(s->outbox({.since = sec(15), .until = sec(25)}).value().size(), 1u);
  // Pruning deletes finished rows only.
  EXPECT_EQ(s->prune_outbox(sec(100)).value(), 2u);
  EXPECT_EQ(s->outbox({}).value().size(), 1u);
  EXPECT_EQ(s->outbox_pending().value().size(), 1u);
}

// One write with several changes of one row: they apply in order, as one at a time would.
TEST_P(StoreTest, ABatchWithTheSameRowTwiceKeepsTheLastChange) {
  auto s = open(dir_ / "batch.db");
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->write_alerting({{"silence", "a", R"({"v":1})"},
                                 {"silence", "b", R"({"v":1})"},
                                 {"silence", "a", ""},
                                 {"silence", "b", R"({"v":2})"},
                                 {"silence", "c", ""},
                                 {"silence", "c", R"({"v":3})"}},
                                {{.kind = "record", .at = sec(1), .json = R"({"n":1})"},
                                 {.kind = "record", .at = sec(1), .json = R"({"n":2})"}},
                                {outbox_row("k1", "g", 1), outbox_row("k1", "g", 1)})
                  .has_value());
  EXPECT_EQ(
      s->alerting_state("silence").value(),
      (std::vector<StateRow>{{"silence", "b", R"({"v":2})"}, {"silence", "c", R"({"v":3})"}}));
  const auto log = s->alerting_log("record", sec(0), sec(2), 10).value();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].json, R"({"n":1})");  // in the order written
  EXPECT_EQ(log[1].json, R"({"n":2})");
  EXPECT_EQ(s->outbox({}).value().size(), 1u);  // one idempotency key, one row
  ASSERT_TRUE(
      s->update_outbox(
           {{.id = "k1", .state = OutboxState::kPending, .attempts = 1, .last_error = "HTTP 500"},
            {.id = "k1", .state = OutboxState::kSent, .attempts = 2, .done_at = sec(5)}})
          .has_value());
  const auto row = s->outbox({}).value().front();
  EXPECT_EQ(row.state, OutboxState::kSent);
  EXPECT_EQ(row.attempts, 2);
  EXPECT_EQ(row.done_at, sec(5));
  EXPECT_EQ(row.last_error, "");
}

TEST_P(StoreTest, OutboxClaimsAreExclusiveUntilTheyEndAndTheOwnerRenewsThem) {
  auto s = open(dir_ / "claims.db");
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->write_alerting({}, {},
                                {outbox_row("k3", "g", 30), outbox_row("k1", "g", 10),
                                 outbox_row("k2", "h", 20)})
                  .has_value());
  const auto ids = [](const std::vector<OutboxRow>& rows) {
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r.id);
    return out;
  };
  // Oldest decided first, at most `limit`, the rows as written.
  const auto a = s->claim_outbox("replica-a", sec(100), std::chrono::seconds(30), 2).value();
  EXPECT_EQ(ids(a), (std::vector<std::string>{"k1", "k2"}));
  auto k1 = outbox_row("k1", "g", 10);
  k1.claimed_by = "replica-a";
  k1.claimed_until = sec(130);
  EXPECT_EQ(a[0], k1);
  // Another owner gets only what no live claim holds.
  EXPECT_EQ(ids(s->claim_outbox("replica-b", sec(110), std::chrono::seconds(30), 10).value()),
            (std::vector<std::string>{"k3"}));
  EXPECT_TRUE(s->claim_outbox("replica-c", sec(120), std::chrono::seconds(30), 10).value().empty());
  // An owner's live claims are not handed to it again (it is sending them). It renews those
  // ending before 140 s (both: they end at 130 s) to 160 s; a second renewal rewrites none.
  EXPECT_TRUE(s->claim_outbox("replica-a", sec(125), std::chrono::seconds(30), 10).value().empty());
  EXPECT_EQ(s->extend_outbox_claims("replica-a", sec(160), sec(140)).value(), 2u);
  EXPECT_EQ(s->extend_outbox_claims("replica-a", sec(160), sec(140)).value(), 0u);
  // replica-b's claim of k3 ended at 140 s: replica-c takes it over; replica-a's still hold.
  EXPECT_EQ(ids(s->claim_outbox("replica-c", sec(150), std::chrono::seconds(30), 10).value()),
            (std::vector<std::string>{"k3"}));
  // A row sent is claimed by no one; an ended claim goes to whoever asks.
  ASSERT_TRUE(s->update_outbox({{.id = "k1", .state = OutboxState::kSent, .done_at = sec(130)}})
                  .has_value());
  EXPECT_EQ(ids(s->claim_outbox("replica-c", sec(165), std::chrono::seconds(30), 10).value()),
            (std::vector<std::string>{"k2"}));
  EXPECT_EQ(s->outbox_pending().value().size(), 2u);  // claims do not change the state
  // replica-c renews its two claims to 300 s: replica-a gets nothing before then.
  EXPECT_EQ(s->extend_outbox_claims("replica-c", sec(300)).value(), 2u);
  EXPECT_TRUE(s->claim_outbox("replica-a", sec(299), std::chrono::seconds(30), 10).value().empty());
  // A release (until = now) hands them over at once; an owner without claims changes nothing.
  EXPECT_EQ(s->extend_outbox_claims("replica-c", sec(200)).value(), 2u);
  EXPECT_EQ(s->extend_outbox_claims("replica-z", sec(900)).value(), 0u);
  EXPECT_EQ(ids(s->claim_outbox("replica-a", sec(200), std::chrono::seconds(30), 10).value()),
            (std::vector<std::string>{"k2", "k3"}));
  // A row written claimed by the replica that decided it is that replica's until its claim ends.
  auto k4 = outbox_row("k4", "g", 40);
  k4.claimed_by = "replica-w";
  k4.claimed_until = sec(1000);
  ASSERT_TRUE(s->write_alerting({}, {}, {k4}).has_value());
  EXPECT_EQ(s->outbox({.group_key = "g"}).value().front(), k4);
  EXPECT_TRUE(s->claim_outbox("replica-b", sec(210), std::chrono::seconds(30), 10).value().empty());
  EXPECT_EQ(ids(s->claim_outbox("replica-w", sec(999), std::chrono::seconds(30), 10).value()),
            (std::vector<std::string>{"k2", "k3"}));
  // At a start, replica-w ends its own claims first: then k4 comes back to it too.
  EXPECT_EQ(s->extend_outbox_claims("replica-w", sec(999)).value(), 3u);
  EXPECT_EQ(ids(s->claim_outbox("replica-w", sec(999), std::chrono::seconds(30), 10).value()),
            (std::vector<std::string>{"k2", "k3", "k4"}));
}

// ---- the daily roll-up and the status buckets (issue 14) ----

TEST_P(StoreTest, TheDailyRollUpKeepsTheWorstStatusOfEachDay) {
  auto store = open(dir_ / "opsready.db");
  ASSERT_TRUE(store);
  // Day 0: ok, fail, ok (out of order: the 06:00 snapshot arrives last). Day 1: warn only.
  for (const auto& s : {snap("ingest", hour(1)), snap("ingest", hour(9), Status::kFail),
                        snap("ingest", hour(20)), snap("ingest", hour(6), Status::kWarn),
                        snap("risk", hour(2)), snap("ingest", hour(24 + 1, 30), Status::kWarn)}) {
    ASSERT_TRUE(store->put_component(s).has_value());
  }
  auto days = store->component_days(day_start(0), day_start(1) + std::chrono::hours(5));
  ASSERT_TRUE(days.has_value()) << days.error().message;
  const std::vector<ComponentDay> want = {
      {.component = "ingest",
       .day = day_start(0),
       .worst = Status::kFail,
       .last = Status::kOk,
       .first_at = hour(1),
       .last_at = hour(20),
       .snapshots = 4},
      {.component = "ingest",
       .day = day_start(1),
       .worst = Status::kWarn,
       .last = Status::kWarn,
       .first_at = hour(25, 30),
       .last_at = hour(25, 30),
       .snapshots = 1},
      {.component = "risk",
       .day = day_start(0),
       .worst = Status::kOk,
       .last = Status::kOk,
       .first_at = hour(2),
       .last_at = hour(2),
       .snapshots = 1},
  };
  EXPECT_EQ(*days, want);
  // Only the days the range touches.
  auto second = store->component_days(day_start(1), day_start(1));
  ASSERT_TRUE(second.has_value());
  ASSERT_EQ(second->size(), 1u);
  EXPECT_EQ(second->front().day, day_start(1));
}

TEST_P(StoreTest, ADayBeginsWithTheStatusThePreviousDayEndedWith) {
  auto store = open(dir_ / "opsready.db");
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put_component(snap("ingest", hour(23), Status::kFail)).has_value());
  ASSERT_TRUE(store->put_component(snap("ingest", hour(24 + 8))).has_value());
  // Day 2 has no row: no data, and nothing carried past it.
  ASSERT_TRUE(
      store->put_component(snap("ingest", day_start(3) + std::chrono::hours(1))).has_value());
  auto days = store->component_days(day_start(1), day_start(3));
  ASSERT_TRUE(days.has_value());
  ASSERT_EQ(days->size(), 2u);
  EXPECT_EQ((*days)[0].day, day_start(1));
  EXPECT_EQ((*days)[0].worst, Status::kFail);  // failing from 00:00 until the 08:00 ok
  EXPECT_EQ((*days)[0].last, Status::kOk);
  EXPECT_EQ((*days)[1].day, day_start(3));
  EXPECT_EQ((*days)[1].worst, Status::kOk);
}

TEST_P(StoreTest, PruningHistoryKeepsTheDailyRollUpUntilItsOwnHorizon) {
  auto store = open(dir_ / "opsready.db");
  ASSERT_TRUE(store);
  for (int d = 0; d < 5; ++d) {
    ASSERT_TRUE(
        store->put_component(snap("ingest", day_start(d) + std::chrono::hours(12), Status::kWarn))
            .has_value());
  }
  auto pruned = store->prune(day_start(4));
  ASSERT_TRUE(pruned.has_value());
  EXPECT_EQ(*pruned, 4u);  // the snapshots of days 0-3
  auto days = store->component_days(day_start(0), day_start(4));
  ASSERT_TRUE(days.has_value());
  EXPECT_EQ(days->size(), 5u);
  // The roll-up's own prune takes whole days before the horizon's day.
  auto gone = store->prune_component_days(day_start(2) + std::chrono::hours(3));
  ASSERT_TRUE(gone.has_value());
  EXPECT_EQ(*gone, 2u);
  days = store->component_days(day_start(0), day_start(4));
  ASSERT_TRUE(days.has_value());
  ASSERT_EQ(days->size(), 3u);
  EXPECT_EQ(days->front().day, day_start(2));
}

TEST_P(StoreTest, BucketsHoldTheWorstStatusAndCarryTheLastOneForward) {
  auto store = open(dir_ / "opsready.db");
  ASSERT_TRUE(store);
  // ingest: fail at 09:30 before the range, ok at 11:10 then warn at 11:20, ok at 11:50.
  // risk: first seen at 12:15 (no bucket before). feed: its only snapshot before the range.
  for (const auto& s :
       {snap("ingest", hour(9, 30), Status::kFail), snap("ingest", hour(11, 10)),
        snap("ingest", hour(11, 20), Status::kWarn), snap("ingest", hour(11, 50)),
        snap("risk", hour(12, 15), Status::kWarn), snap("feed", hour(8), Status::kWarn)}) {
    ASSERT_TRUE(store->put_component(s).has_value());
  }
  auto buckets = store->component_buckets(hour(10), hour(14), std::chrono::hours(1));
  ASSERT_TRUE(buckets.has_value()) << buckets.error().message;
  const std::vector<ComponentBucket> want = {
      {.component = "feed", .start = hour(10), .worst = Status::kWarn},
      {.component = "feed", .start = hour(11), .worst = Status::kWarn},
      {.component = "feed", .start = hour(12), .worst = Status::kWarn},
      {.component = "feed", .start = hour(13), .worst = Status::kWarn},
      {.component = "ingest", .start = hour(10), .worst = Status::kFail},  // carried in
      {.component = "ingest", .start = hour(11), .worst = Status::kFail},  // fail until 11:10
      {.component = "ingest", .start = hour(12), .worst = Status::kOk},
      {.component = "ingest", .start = hour(13), .worst = Status::kOk},
      {.component = "risk", .start = hour(12), .worst = Status::kWarn},
      {.component = "risk", .start = hour(13), .worst = Status::kWarn},
  };
  EXPECT_EQ(*buckets, want);
}

TEST_P(StoreTest, BucketsOfAPartialLastBucketAndBadArguments) {
  auto store = open(dir_ / "opsready.db");
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put_component(snap("ingest", hour(10, 50), Status::kFail)).has_value());
  auto buckets = store->component_buckets(hour(10), hour(10, 55), std::chrono::minutes(15));
  ASSERT_TRUE(buckets.has_value());
  ASSERT_EQ(buckets->size(), 1u);  // buckets 10:00-10:45 before the first snapshot left out
  EXPECT_EQ(buckets->front().start, hour(10, 45));
  EXPECT_EQ(buckets->front().worst, Status::kFail);
  // Until is exclusive: a snapshot at `until` is not in the range.
  auto before = store->component_buckets(hour(10), hour(10, 50), std::chrono::minutes(15));
  ASSERT_TRUE(before.has_value());
  EXPECT_TRUE(before->empty());
  for (const auto& [since, until, width] :
       {std::tuple{hour(10), hour(10), core::Duration(std::chrono::minutes(1))},
        std::tuple{hour(10), hour(11), core::Duration::zero()},
        std::tuple{hour(10), hour(11), core::Duration(std::chrono::milliseconds(1))}}) {
    auto bad = store->component_buckets(since, until, width);
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().code, "invalid_argument");
  }
}

TEST_P(StoreTest, DrillRunsAreRecoveryRecordsUntilTheyEndAndSurviveAReopen) {
  const auto file = dir_ / "opsready.db";
  DrillRunRow running{.id = "d-2",
                      .scenario = "feed-stall",
                      .started_at = at("2025-01-02T00:00:10Z"),
                      .json = R"({"drill_id":"d-2"})",
                      .markdown = "# Drill d-2\n"};
  {
    auto store = open(file);
    ASSERT_TRUE(store);
    const DrillRunRow done{.id = "d-1",
                           .scenario = "webhook-outage",
                           .verdict = "Pass",
                           .started_at = at("2025-01-02T00:00:00Z"),
                           .finished_at = at("2025-01-02T00:00:05.5Z"),
                           .json = R"({"drill_id":"d-1"})",
                           .markdown = "# Drill d-1\n"};
    ASSERT_TRUE(store->put_drill_run(done).has_value());
    ASSERT_TRUE(store->put_drill_run(running).has_value());
    auto all = store->drill_runs({});
    ASSERT_TRUE(all.has_value()) << all.error().message;
    ASSERT_EQ(all->size(), 2u);
    EXPECT_EQ((*all)[0], running);  // newest started first
    EXPECT_EQ((*all)[1], done);
    auto one = store->drill_runs({.scenario = "webhook-outage"});
    ASSERT_TRUE(one.has_value());
    ASSERT_EQ(one->size(), 1u);
    EXPECT_EQ(one->front().id, "d-1");
  }
  auto store = open(file);
  ASSERT_TRUE(store);
  auto unfinished = store->drill_runs({.unfinished_only = true});
  ASSERT_TRUE(unfinished.has_value());
  ASSERT_EQ(unfinished->size(), 1u);
  EXPECT_EQ(unfinished->front(), running);
  // The end of the run replaces its recovery record.
  running.verdict = "Aborted";
  running.finished_at = at("2025-01-02T00:01:00Z");
  ASSERT_TRUE(store->put_drill_run(running).has_value());
  EXPECT_TRUE(store->drill_runs({.unfinished_only = true})->empty());
  auto got = store->drill_run("d-2");
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, running);
  EXPECT_FALSE(store->drill_run("nope")->has_value());
}

TEST_P(StoreTest, SignoffsAreAppendedAndListedNewestCompletedFirst) {
  const auto file = dir_ / "opsready.db";
  SignoffRow q3{.signoff = "security-review",
                .by = "alice",
                .at = at("2026-09-30T00:00:00Z"),
                .recorded_at = at("2026-10-01T08:00:00Z"),
                .evidence = "https://wiki/sec/q3",
                .note = "late, see the postmortem",
                .source = "http 127.0.0.1:40000"};
  SignoffRow rotation{.signoff = "secrets-rotation",
                      .by = "bob",
                      .at = at("2026-11-01T00:00:00Z"),
                      .recorded_at = at("2026-11-01T00:00:00Z"),
                      .source = "cli"};
  // Backdated: recorded after q3 but completed before it.
  SignoffRow q2{.signoff = "security-review",
                .by = "alice",
                .at = at("2026-06-30T00:00:00Z"),
                .recorded_at = at("2026-11-02T00:00:00Z"),
                .evidence = "https://wiki/sec/q2",
                .source = "cli"};
  {
    auto store = open(file);
    ASSERT_TRUE(store);
    for (SignoffRow* r : {&q3, &rotation, &q2}) {
      auto id = store->put_signoff(*r);
      ASSERT_TRUE(id.has_value()) << id.error().message;
      r->id = *id;
    }
    EXPECT_LT(q3.id, rotation.id);
    EXPECT_LT(rotation.id, q2.id);
  }
  auto store = open(file);  // and they survive a reopen
  ASSERT_TRUE(store);
  auto all = store->signoffs({});
  ASSERT_TRUE(all.has_value()) << all.error().message;
  EXPECT_EQ(*all, (std::vector<SignoffRow>{rotation, q3, q2}));
  auto last = store->signoffs({.signoff = "security-review", .limit = 1});
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(*last, std::vector<SignoffRow>{q3});  // the newest completion, not the newest row
  EXPECT_TRUE(store->signoffs({.signoff = "access-review"})->empty());
}

TEST_P(StoreTest, TheGateHistoryKeepsEveryChangeInOrder) {
  auto store = open(dir_ / "opsready.db");
  ASSERT_TRUE(store);
  for (int i = 0; i < 5; ++i) {
    const std::string decision = i % 2 == 0 ? "pass" : "block";
    ASSERT_TRUE(store
                    ->put_gate({.at = sec(10 * i),
                                .decision = decision,
                                .json = R"({"decision":")" + decision + "\"}"})
                    .has_value());
  }
  auto all = store->gate_history(sec(0), sec(100), 100);
  ASSERT_TRUE(all.has_value()) << all.error().message;
  ASSERT_EQ(all->size(), 5u);
  EXPECT_EQ(all->front().at, sec(0));
  EXPECT_EQ((*all)[1].decision, "block");
  auto newest = store->gate_history(sec(0), sec(100), 2);  // the newest two, oldest first
  ASSERT_TRUE(newest.has_value());
  ASSERT_EQ(newest->size(), 2u);
  EXPECT_EQ(newest->front().at, sec(30));
  EXPECT_EQ(newest->back().at, sec(40));
  EXPECT_EQ(store->gate_history(sec(11), sec(29), 10)->size(), 1u);
}

// The drills' store fault (docs/drills.md "store_fault"): the database's own read-only refusal
// for writes (SQLite's SQLITE_READONLY, PostgreSQL's read-only transaction) while reads go on,
// and a delay on every operation; both undone by StoreFault{}.
TEST_P(StoreTest, DrillFaultMakesWritesFailReadOnlyAndSlowsOperations) {
  auto store = open(dir_ / "opsready.db");
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put_component(snap("ingest_slos", sec(1))).has_value());

  ASSERT_TRUE(store->set_fault({.read_only = true}).has_value());
  auto refused = store->put_component(snap("ingest_slos", sec(2)));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, "store_read_only") << refused.error().message;
  auto written = store->put_readiness(ready(sec(2)));
  ASSERT_FALSE(written.has_value());
  EXPECT_EQ(written.error().code, "store_read_only");
  auto latest = store->latest_components();  // reads still answer
  ASSERT_TRUE(latest.has_value());
  ASSERT_EQ(latest->size(), 1u);
  EXPECT_EQ(latest->front().observed_at, sec(1));

  ASSERT_TRUE(store->set_fault({.delay = std::chrono::milliseconds(120)}).has_value());
  const auto began = std::chrono::steady_clock::now();
  ASSERT_TRUE(store->put_component(snap("ingest_slos", sec(3))).has_value());  // writable again
  EXPECT_GE(std::chrono::steady_clock::now() - began, std::chrono::milliseconds(120));

  ASSERT_TRUE(store->set_fault({}).has_value());
  ASSERT_TRUE(store->put_readiness(ready(sec(4))).has_value());
  auto history = store->component_history("ingest_slos", sec(0), sec(10), 10);
  ASSERT_TRUE(history.has_value());
  EXPECT_EQ(history->size(), 2u);  // the refused write left nothing
}

}  // namespace
}  // namespace opsready::store
