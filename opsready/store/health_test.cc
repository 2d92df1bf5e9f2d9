#include "opsready/store/health.h"

#include <gtest/gtest.h>

#include "opsready/core/time.h"

namespace opsready::store {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

core::TimePoint at(int s) { return core::TimePoint{} + seconds(1'700'000'000 + s); }

TEST(StoreHealth, FailingWritesFailUntilAWriteSucceeds) {
  StoreHealth h({.path = "d/opsready.db"});
  EXPECT_FALSE(h.ever_troubled());
  h.record("put_component", {}, milliseconds(2), at(0));
  EXPECT_EQ(h.snapshot(at(0)).status, core::Status::kOk);
  EXPECT_FALSE(h.changed(at(0)));

  h.record("put_component", core::fail("store_read_only", "attempt to write a readonly database"),
           milliseconds(1), at(1));
  // Refused for its data, not by the store: not counted.
  h.record("put_readiness", core::fail("invalid_component_name", "bad name"), milliseconds(1),
           at(2));
  EXPECT_TRUE(h.ever_troubled());
  EXPECT_TRUE(h.changed(at(2)));
  const auto s = h.snapshot(at(2));
  EXPECT_FALSE(h.changed(at(2)));
  EXPECT_EQ(s.component, "store");
  EXPECT_EQ(s.status, core::Status::kFail);
  ASSERT_EQ(s.issues.size(), 1u);
  EXPECT_EQ(s.issues[0].code, "store.write_failed:put_component");
  EXPECT_EQ(s.issues[0].severity, core::Severity::kCritical);
  EXPECT_NE(s.issues[0].message.find("store_read_only"), std::string::npos) << s.issues[0].message;
  EXPECT_EQ(s.metadata["failing_operations"], nlohmann::json::array({"put_component"}));
  EXPECT_EQ(s.metadata["failed_writes"], 1);
  EXPECT_EQ(s.metadata["writes"], 3);
  EXPECT_EQ(s.metadata["last_error_at"], core::format_rfc3339(at(1)));
  EXPECT_EQ(s.metadata["path"], "d/opsready.db");

  h.record("put_readiness", {}, milliseconds(1), at(3));  // any write that succeeds
  EXPECT_TRUE(h.changed(at(3)));
  EXPECT_EQ(h.snapshot(at(3)).status, core::Status::kOk);
  EXPECT_TRUE(h.ever_troubled());  // published from the first trouble on
}

TEST(StoreHealth, SlowWriteWarnsForItsWindow) {
  StoreHealth h({.slow_write = seconds(1), .slow_window = seconds(60)});
  h.record("write_alerting", {}, milliseconds(999), at(0));
  EXPECT_FALSE(h.ever_troubled());
  h.record("write_alerting", {}, milliseconds(1500), at(1));
  const auto s = h.snapshot(at(10));
  EXPECT_EQ(s.status, core::Status::kWarn);
  ASSERT_EQ(s.issues.size(), 1u);
  EXPECT_EQ(s.issues[0].code, "store.slow_write");
  EXPECT_NE(s.issues[0].message.find("write_alerting"), std::string::npos);
  EXPECT_DOUBLE_EQ(s.metadata["slowest_write_seconds"].get<double>(), 1.5);
  EXPECT_FALSE(h.changed(at(61)));
  EXPECT_TRUE(h.changed(at(62)));  // aged out
  EXPECT_EQ(h.snapshot(at(62)).status, core::Status::kOk);
}

TEST(StoreHealth, FailureOutranksSlowness) {
  StoreHealth h({});
  h.record("put_alerts", core::fail("store_busy", "database is locked"), seconds(5), at(0));
  const auto s = h.snapshot(at(1));
  EXPECT_EQ(s.status, core::Status::kFail);
  ASSERT_EQ(s.issues.size(), 1u);
  EXPECT_EQ(s.issues[0].code, "store.write_failed:put_alerts");
}

}  // namespace
}  // namespace opsready::store
