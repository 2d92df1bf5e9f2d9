#include "opsready/store/alert_index.h"

#include <stdlib.h>

#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "opsready/core/time.h"
#include "tests/support/temp_dir.h"

namespace opsready::store {
namespace {

namespace fs = std::filesystem;
using core::TimePoint;

TimePoint sec(int s) {
  return core::parse_rfc3339("2025-01-02T00:00:00Z").value() + std::chrono::seconds(s);
}

core::Alert alert(const std::string& name, TimePoint starts, TimePoint ends, TimePoint received,
                  bool timeout = false) {
  core::Alert a;
  a.labels = {{"alertname", name}, {"job", "fix_gateway"}};
  a.fingerprint = core::alert_fingerprint(a.labels);
  a.annotations = {{"summary", name + " at " + core::format_rfc3339(received)}};
  a.starts_at = starts;
  a.ends_at = ends;
  a.received_at = received;
  a.timeout = timeout;
  a.generator_url = "http://prometheus:9090/graph";
  return a;
}

// A Store that forwards to a real one, but whose replace_alerts fails while `failing` is set:
// the disk-full or locked-database case, on demand.
class FailingStore final : public Store {
 public:
  explicit FailingStore(Store& inner) : inner_(inner) {}
  bool failing = false;
  int replace_calls = 0;

  core::Result<void> set_fault(const StoreFault& f) override { return inner_.set_fault(f); }
  core::Result<void> put_component(const core::ComponentSnapshot& s) override {
    return inner_.put_component(s);
  }
  core::Result<void> put_readiness(const StoredReadiness& r) override {
    return inner_.put_readiness(r);
  }
  core::Result<std::vector<StoredReadiness>> readiness_history(TimePoint since, TimePoint until,
                                                               std::size_t limit) const override {
    return inner_.readiness_history(since, until, limit);
  }
  core::Result<std::vector<core::ComponentSnapshot>> component_history(
      const std::string& component, TimePoint since, TimePoint until,
      std::size_t limit) const override {
    return inner_.component_history(component, since, until, limit);
  }
  core::Result<std::vector<core::ComponentSnapshot>> latest_components() const override {
    return inner_.latest_components();
  }
  core::Result<std::optional<StoredReadiness>> latest_readiness() const override {
    return inner_.latest_readiness();
  }
  core::Result<std::vector<ComponentDay>> component_days(TimePoint since,
                                                         TimePoint until) const override {
    return inner_.component_days(since, until);
  }
  core::Result<std::vector<ComponentBucket>> component_buckets(
      TimePoint since, TimePoint until, core::Duration bucket) const override {
    return inner_.component_buckets(since, until, bucket);
  }
  core::Result<std::size_t> prune(TimePoint before) override { return inner_.prune(before); }
  core::Result<std::size_t> prune_component_days(TimePoint before) override {
    return inner_.prune_component_days(before);
  }
  core::Result<void> put_alerts(const std::vector<core::Alert>& batch) override {
    return inner_.put_alerts(batch);
  }
  core::Result<void> replace_alerts(const std::vector<core::Alert>& batch) override {
    ++replace_calls;
    if (failing) return core::fail("store_full", "database or disk is full (test)");
    return inner_.replace_alerts(batch);
  }
  core::Result<std::vector<core::Alert>> alerts(bool active_only, TimePoint now) const override {
    return inner_.alerts(active_only, now);
  }
  core::Result<void> write_alerting(const std::vector<StateRow>& state,
                                    const std::vector<LogRow>& log,
                                    const std::vector<OutboxRow>& outbox) override {
    return inner_.write_alerting(state, log, outbox);
  }
  core::Result<void> update_outbox(const std::vector<OutboxUpdate>& updates) override {
    return inner_.update_outbox(updates);
  }
  core::Result<std::vector<OutboxRow>> outbox_pending() const override {
    return inner_.outbox_pending();
  }
  core::Result<std::vector<OutboxRow>> outbox(const OutboxQuery& q) const override {
    return inner_.outbox(q);
  }
  core::Result<std::vector<OutboxRow>> claim_outbox(const std::string& owner, TimePoint now,
                                                    core::Duration lease,
                                                    std::size_t limit) override {
    return inner_.claim_outbox(owner, now, lease, limit);
  }
  core::Result<std::size_t> extend_outbox_claims(const std::string& owner, TimePoint until,
                                                 TimePoint ending_before) override {
    return inner_.extend_outbox_claims(owner, until, ending_before);
  }
  core::Result<std::size_t> prune_outbox(TimePoint before) override {
    return inner_.prune_outbox(before);
  }
  core::Result<std::vector<StateRow>> alerting_state(const std::string& kind) const override {
    return inner_.alerting_state(kind);
  }
  core::Result<std::vector<LogRow>> alerting_log(const std::string& kind, TimePoint since,
                                                 TimePoint until,
                                                 std::size_t limit) const override {
    return inner_.alerting_log(kind, since, until, limit);
  }
  core::Result<void> put_gate(const GateChange& change) override { return inner_.put_gate(change); }
  core::Result<std::vector<GateChange>> gate_history(TimePoint since, TimePoint until,
                                                     std::size_t limit) const override {
    return inner_.gate_history(since, until, limit);
  }
  core::Result<void> put_drill_run(const DrillRunRow& row) override {
    return inner_.put_drill_run(row);
  }
  core::Result<std::vector<DrillRunRow>> drill_runs(const DrillRunQuery& q) const override {
    return inner_.drill_runs(q);
  }
  core::Result<std::int64_t> put_signoff(const SignoffRow& row) override {
    return inner_.put_signoff(row);
  }
  core::Result<std::vector<SignoffRow>> signoffs(const SignoffQuery& q) const override {
    return inner_.signoffs(q);
  }
  core::Result<std::optional<DrillRunRow>> drill_run(const std::string& id) const override {
    return inner_.drill_run(id);
  }

 private:
  Store& inner_;
};

class AlertIndexTest : public ::testing::Test {
 protected:
  std::unique_ptr<Store> open(const std::string& name) {
    auto s = open_sqlite_store(dir_ / name);
    EXPECT_TRUE(s.has_value()) << s.error().message;
    return s ? std::move(*s) : nullptr;
  }
  static std::vector<core::Alert> stored(const Store& s) {
    auto all = s.alerts(false, TimePoint{});
    EXPECT_TRUE(all.has_value()) << all.error().message;
    return all ? *all : std::vector<core::Alert>{};
  }

  opsready::testing::TempDir tmp_{"opsready-alert-index"};
  fs::path dir_ = tmp_.path();
};

// The index must hold exactly what Store::put_alerts (merge in SQL) would have stored, for any
// sequence of posts: re-posts while firing, resolves, timeouts, posts out of receive order,
// gaps that start a new activity range. A second store written only by flush() then holds the
// same, and an index restored from it too.
TEST_F(AlertIndexTest, IndexAndStoreAgreeOnRepostSequences) {
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    auto merged_by_store = open("store-" + std::to_string(seed) + ".db");
    auto written_behind = open("behind-" + std::to_string(seed) + ".db");
    ASSERT_TRUE(merged_by_store && written_behind);
    AlertIndex index(seed % 3 == 0 ? 1 : AlertIndex::kDefaultShards);
    std::mt19937 rng(seed);
    auto pick = [&rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    int clock = 0;
    for (int round = 0; round < 60; ++round) {
      std::vector<core::Alert> batch;
      for (int n = pick(1, 6); n > 0; --n) {
        clock += pick(0, 40);
        const int received = clock - (pick(0, 4) == 0 ? pick(1, 120) : 0);  // late, sometimes
        const int starts = received - pick(0, 200);
        const int ends = received + pick(-100, 300);
        batch.push_back(alert("A" + std::to_string(pick(0, 7)), sec(starts),
                              sec(std::max(ends, starts)), sec(received), pick(0, 3) == 0));
      }
      ASSERT_TRUE(merged_by_store->put_alerts(batch).has_value());
      index.put(batch);
      ASSERT_EQ(index.list(false, TimePoint{}), stored(*merged_by_store)) << "round " << round;
      if (pick(0, 2) == 0) {
        ASSERT_TRUE(index.flush(*written_behind).has_value());
        EXPECT_EQ(index.dirty(), 0u);
        EXPECT_EQ(stored(*written_behind), stored(*merged_by_store)) << "round " << round;
      }
    }
    ASSERT_TRUE(index.flush(*written_behind).has_value());
    EXPECT_EQ(stored(*written_behind), stored(*merged_by_store));
    AlertIndex restored;
    auto loaded = restored.restore(*written_behind);
    ASSERT_TRUE(loaded.has_value());
    EXPECT_EQ(*loaded, index.size());
    EXPECT_EQ(restored.list(false, TimePoint{}), index.list(false, TimePoint{}));
    EXPECT_EQ(restored.dirty(), 0u);
  }
}

TEST_F(AlertIndexTest, RepostsCollapseIntoOneWritePerFingerprint) {
  auto store = open("opsready.db");
  ASSERT_TRUE(store);
  AlertIndex index;
  for (int i = 0; i < 100; ++i) {
    index.put({alert("Lag", sec(0), sec(300 + i), sec(i)), alert("Down", sec(0), sec(60), sec(i))});
  }
  EXPECT_EQ(index.size(), 2u);
  EXPECT_EQ(index.dirty(), 2u);
  auto written = index.flush(*store);
  ASSERT_TRUE(written.has_value());
  EXPECT_EQ(*written, 2u);
  EXPECT_EQ(index.dirty(), 0u);
  written = index.flush(*store);
  ASSERT_TRUE(written.has_value());
  EXPECT_EQ(*written, 0u);  // nothing changed since
  const auto all = stored(*store);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all, index.list(false, TimePoint{}));
  const auto active = index.list(true, sec(100));
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0].labels.at("alertname"), "Lag");
  EXPECT_EQ(active[0].ends_at, sec(399));
}

TEST_F(AlertIndexTest, AFailedFlushKeepsEveryAlertForTheNextOne) {
  auto real = open("opsready.db");
  ASSERT_TRUE(real);
  FailingStore store(*real);
  AlertIndex index;
  index.put({alert("Lag", sec(0), sec(300), sec(0)), alert("Down", sec(0), sec(60), sec(0))});
  store.failing = true;
  auto r = index.flush(store);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, "store_full");
  EXPECT_EQ(index.dirty(), 2u);
  EXPECT_EQ(index.size(), 2u);
  // Accepted while the store is failing: merged in memory, written later.
  index.put({alert("Lag", sec(10), sec(400), sec(10)), alert("New", sec(5), sec(50), sec(5))});
  // Pruning does not drop what was never written.
  EXPECT_EQ(index.prune(sec(1000)), 0u);
  ASSERT_FALSE(index.flush(store).has_value());
  EXPECT_TRUE(stored(*real).empty());

  store.failing = false;
  auto written = index.flush(store);
  ASSERT_TRUE(written.has_value());
  EXPECT_EQ(*written, 3u);
  EXPECT_EQ(index.dirty(), 0u);
  EXPECT_EQ(stored(*real), index.list(false, TimePoint{}));
  EXPECT_EQ(store.replace_calls, 3);
  // Written now: an alert that ended before the horizon goes from memory, as from the store.
  EXPECT_EQ(index.prune(sec(100)), 2u);  // Down (ended 60) and New (ended 50)
  EXPECT_EQ(index.size(), 1u);
}

TEST_F(AlertIndexTest, ConcurrentPostsLoseNothing) {
  auto store = open("opsready.db");
  ASSERT_TRUE(store);
  AlertIndex index;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&index, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Each thread re-posts its own 50 alerts ten times.
        const std::string name = "T" + std::to_string(t) + "-" + std::to_string(i % 50);
        index.put({alert(name, sec(0), sec(1000 + i), sec(i))});
      }
    });
  }
  // A flush running concurrently with the posts.
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(index.flush(*store).has_value());
  for (auto& th : threads) th.join();
  ASSERT_TRUE(index.flush(*store).has_value());
  const auto all = index.list(false, TimePoint{});
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kThreads * 50));
  for (const auto& a : all) {
    // The last post of "Tt-k" was i = kPerThread - 50 + k: its end wins.
    const std::string& name = a.labels.at("alertname");
    const int k = std::stoi(name.substr(name.find('-') + 1));
    EXPECT_EQ(a.ends_at, sec(1000 + kPerThread - 50 + k)) << name;
  }
  EXPECT_EQ(stored(*store), all);
}

}  // namespace
}  // namespace opsready::store
