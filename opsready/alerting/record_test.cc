#include "opsready/alerting/record.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "opsready/alerting/test_support.h"
#include "opsready/core/time.h"

namespace opsready::alerting {
namespace {

using nlohmann::json;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

const core::TimePoint kT0 = test::kNow;

core::TimePoint T(int s) { return kT0 + seconds(s); }

Record R(RecordKind kind, std::string group, int at, std::string by = "") {
  return Record{
      .kind = kind, .group = std::move(group), .receiver = "ops", .at = T(at), .by = std::move(by)};
}

TEST(RecordKind, NamesBothWays) {
  const std::vector<std::pair<RecordKind, std::string>> cases = {
      {RecordKind::kOpened, "opened"},
      {RecordKind::kNotified, "notified"},
      {RecordKind::kHeld, "held"},
      {RecordKind::kAcked, "acked"},
      {RecordKind::kUnacked, "unacked"},
      {RecordKind::kAckExpired, "ack_expired"},
      {RecordKind::kAckCleared, "ack_cleared"},
      {RecordKind::kEscalated, "escalated"},
      {RecordKind::kResolved, "resolved"},
  };
  for (const auto& [kind, name] : cases) {
    EXPECT_EQ(to_string(kind), name);
    EXPECT_EQ(record_kind_from_string(name), kind) << name;
  }
  EXPECT_EQ(record_kind_from_string("Acked"), std::nullopt);
  EXPECT_EQ(record_kind_from_string(""), std::nullopt);
}

TEST(RecordJson, RoundTrip) {
  const Record r{.kind = RecordKind::kAckCleared,
                 .group = R"({}:{team="a"})",
                 .receiver = "ops",
                 .at = T(90) + milliseconds(5),
                 .by = "alice",
                 .detail = "new alerts added",
                 .channel = "slack",
                 .sequence = 18446744073709551615ULL};
  const json j = to_json(r);
  EXPECT_EQ(j.dump(), R"({"at":"2019-12-20T00:01:30.005Z","by":"alice","channel":"slack",)"
                      R"("detail":"new alerts added",)"
                      R"("group":"{}:{team=\"a\"}","kind":"ack_cleared","receiver":"ops",)"
                      R"("sequence":18446744073709551615})");
  auto back = record_from_json(json::parse(j.dump()));
  ASSERT_TRUE(back.has_value()) << back.error().describe();
  EXPECT_EQ(*back, r);

  // Empty strings may be left out.
  auto minimal = record_from_json(
      json::parse(R"({"kind":"opened","group":"g","at":"2019-12-20T00:00:00Z","sequence":1})"));
  ASSERT_TRUE(minimal.has_value()) << minimal.error().describe();
  EXPECT_EQ(*minimal,
            (Record{.kind = RecordKind::kOpened, .group = "g", .at = kT0, .sequence = 1}));
}

TEST(RecordJson, Errors) {
  struct Case {
    std::string body;
    std::string code;
    std::string field;
  };
  const std::string at = R"("at":"2019-12-20T00:00:00Z")";
  const std::vector<Case> cases = {
      {R"("x")", "record_wrong_type", ""},
      {R"({"group":"g",)" + at + R"(,"sequence":1})", "record_missing_field", "kind"},
      {R"({"kind":"paged","group":"g",)" + at + R"(,"sequence":1})", "record_unknown_kind", "kind"},
      {R"({"kind":"opened",)" + at + R"(,"sequence":1})", "record_missing_field", "group"},
      {R"({"kind":"opened","group":7,)" + at + R"(,"sequence":1})", "record_wrong_type", "group"},
      {R"({"kind":"opened","group":"g","sequence":1})", "record_missing_field", "at"},
      {R"({"kind":"opened","group":"g","at":"noon","sequence":1})", "record_invalid_timestamp",
       "at"},
      {R"({"kind":"opened","group":"g",)" + at + R"(,"by":false,"sequence":1})",
       "record_wrong_type", "by"},
      {R"({"kind":"opened","group":"g",)" + at + "}", "record_missing_field", "sequence"},
      {R"({"kind":"opened","group":"g",)" + at + R"(,"sequence":-3})", "record_wrong_type",
       "sequence"},
      {R"({"kind":"opened","group":"g",)" + at + R"(,"sequence":1.5})", "record_wrong_type",
       "sequence"},
  };
  for (const Case& c : cases) {
    const auto r = record_from_json(json::parse(c.body));
    ASSERT_FALSE(r.has_value()) << c.body;
    EXPECT_EQ(r.error().code, c.code) << c.body;
    EXPECT_EQ(r.error().field, c.field) << c.body;
  }
}

TEST(Incidents, FromRecords) {
  struct Case {
    std::string name;
    std::vector<Record> records;
    std::vector<Incident> want;
  };
  const std::vector<Case> cases = {
      {"nothing", {}, {}},
      {"acked and resolved; the first ack counts",
       {R(RecordKind::kOpened, "g", 0), R(RecordKind::kNotified, "g", 0),
        R(RecordKind::kEscalated, "g", 300), R(RecordKind::kAcked, "g", 400, "alice"),
        R(RecordKind::kAckCleared, "g", 500, "alice"), R(RecordKind::kAcked, "g", 600, "bob"),
        R(RecordKind::kEscalated, "g", 900), R(RecordKind::kResolved, "g", 1000)},
       {{.group = "g",
         .receiver = "ops",
         .opened_at = T(0),
         .acknowledged_at = T(400),
         .acknowledged_by = "alice",
         .resolved_at = T(1000),
         .escalations = 2}}},
      {"unacked, resolved; then the group opens again: a new incident, still open",
       {R(RecordKind::kOpened, "g", 0), R(RecordKind::kResolved, "g", 100),
        R(RecordKind::kAcked, "g", 150, "late"),  // between incidents: ignored
        R(RecordKind::kOpened, "g", 200), R(RecordKind::kAcked, "g", 260, "bob")},
       {{.group = "g", .receiver = "ops", .opened_at = T(0), .resolved_at = T(100)},
        {.group = "g",
         .receiver = "ops",
         .opened_at = T(200),
         .acknowledged_at = T(260),
         .acknowledged_by = "bob"}}},
      {"groups interleave; each incident keeps its own times, in the order they opened",
       {R(RecordKind::kOpened, "b", 0), R(RecordKind::kOpened, "a", 10),
        R(RecordKind::kAcked, "a", 20, "x"), R(RecordKind::kResolved, "b", 30),
        R(RecordKind::kResolved, "a", 40)},
       {{.group = "b", .receiver = "ops", .opened_at = T(0), .resolved_at = T(30)},
        {.group = "a",
         .receiver = "ops",
         .opened_at = T(10),
         .acknowledged_at = T(20),
         .acknowledged_by = "x",
         .resolved_at = T(40)}}},
      {"a log that starts mid-incident: records before the first kOpened are ignored",
       {R(RecordKind::kAcked, "g", 0, "x"), R(RecordKind::kResolved, "g", 10),
        R(RecordKind::kOpened, "g", 20), R(RecordKind::kResolved, "g", 30)},
       {{.group = "g", .receiver = "ops", .opened_at = T(20), .resolved_at = T(30)}}},
      {"a second kOpened without kResolved leaves the first incident unresolved",
       {R(RecordKind::kOpened, "g", 0), R(RecordKind::kOpened, "g", 50),
        R(RecordKind::kResolved, "g", 80)},
       {{.group = "g", .receiver = "ops", .opened_at = T(0)},
        {.group = "g", .receiver = "ops", .opened_at = T(50), .resolved_at = T(80)}}},
  };
  for (const Case& c : cases) EXPECT_EQ(incidents(c.records), c.want) << c.name;
}

TEST(Incident, ResponseTimes) {
  const Incident open{.opened_at = T(0)};
  EXPECT_EQ(open.mtta(), std::nullopt);
  EXPECT_EQ(open.mttr(), std::nullopt);
  const Incident done{.opened_at = T(10), .acknowledged_at = T(70), .resolved_at = T(1000)};
  EXPECT_EQ(done.mtta(), seconds(60));
  EXPECT_EQ(done.mttr(), seconds(990));
}

TEST(DurationStats, NearestRankAndExactMean) {
  struct Case {
    std::string name;
    std::vector<core::Duration> samples;
    DurationStats want;
  };
  std::vector<core::Duration> twenty;
  for (int i = 20; i >= 1; --i) twenty.push_back(seconds(i));  // unsorted on purpose
  const core::Duration year = hours(24 * 365);
  const std::vector<Case> cases = {
      {"empty", {}, {}},
      {"one", {seconds(7)}, {1, seconds(7), seconds(7), seconds(7), seconds(7)}},
      {"two: p50 is the first, p95 the second",
       {seconds(3), seconds(1)},
       {2, seconds(2), seconds(1), seconds(3), seconds(3)}},
      {"1..20 s", twenty, {20, milliseconds(10500), seconds(10), seconds(19), seconds(20)}},
      {"mean rounds toward zero",
       {core::Duration(1), core::Duration(2)},
       {2, core::Duration(1), core::Duration(1), core::Duration(2), core::Duration(2)}},
      // 400 years in nanoseconds overflow 64 bits; their mean does not.
      {"no overflow", std::vector<core::Duration>(400, year), {400, year, year, year, year}},
  };
  for (const Case& c : cases) EXPECT_EQ(duration_stats(c.samples), c.want) << c.name;
}

TEST(Summarise, CountsAndStatistics) {
  const std::vector<Incident> list = {
      {.group = "a",
       .opened_at = T(0),
       .acknowledged_at = T(60),
       .resolved_at = T(600),
       .escalations = 1},
      {.group = "b", .opened_at = T(0), .acknowledged_at = T(180), .resolved_at = T(1200)},
      {.group = "c", .opened_at = T(0), .resolved_at = T(300)},      // never acked
      {.group = "d", .opened_at = T(0), .acknowledged_at = T(120)},  // still open
      {.group = "e", .opened_at = T(0), .escalations = 2},           // open, unacked
  };
  const ResponseSummary s = summarise(list);
  EXPECT_EQ(
      s, (ResponseSummary{.incidents = 5,
                          .resolved = 3,
                          .open = 2,
                          .acknowledged = 3,
                          .unacknowledged = 2,
                          .escalated = 2,
                          .mtta = {3, seconds(120), seconds(120), seconds(180), seconds(180)},
                          .mttr = {3, seconds(700), seconds(600), seconds(1200), seconds(1200)}}));
  EXPECT_EQ(to_json(s).dump(),
            R"({"acknowledged":3,"escalated":2,"incidents":5,)"
            R"("mtta":{"count":3,"max":{"minutes":3.0,"readable":"0:03:00","seconds":180},)"
            R"("mean":{"minutes":2.0,"readable":"0:02:00","seconds":120},)"
            R"("p50":{"minutes":2.0,"readable":"0:02:00","seconds":120},)"
            R"("p95":{"minutes":3.0,"readable":"0:03:00","seconds":180}},)"
            R"("mttr":{"count":3,"max":{"minutes":20.0,"readable":"0:20:00","seconds":1200},)"
            R"("mean":{"minutes":11.67,"readable":"0:11:40","seconds":700},)"
            R"("p50":{"minutes":10.0,"readable":"0:10:00","seconds":600},)"
            R"("p95":{"minutes":20.0,"readable":"0:20:00","seconds":1200}},)"
            R"("open":2,"resolved":3,"unacknowledged":2})");

  const ResponseSummary none = summarise({});
  EXPECT_EQ(none, ResponseSummary{});
  EXPECT_EQ(to_json(none)["mtta"].dump(),
            R"({"count":0,"max":null,"mean":null,"p50":null,"p95":null})");
}

TEST(Renderings, RoundedSecondsMinutesReadable) {
  struct Case {
    core::Duration d;
    std::int64_t seconds;
    double minutes;
    std::string readable;
  };
  const std::vector<Case> cases = {
      {seconds(180), 180, 3.0, "0:03:00"},
      {seconds(1110), 1110, 18.5, "0:18:30"},
      {milliseconds(500), 0, 0.01, "0:00:00"},  // half to even, as Python's round()
      {milliseconds(1500), 2, 0.03, "0:00:02"},
      {milliseconds(2500), 2, 0.04, "0:00:02"},
      {milliseconds(2501), 3, 0.04, "0:00:03"},
      {milliseconds(179'400), 179, 2.99, "0:02:59"},
      {-milliseconds(500), 0, -0.01, "0:00:00"},
      {-milliseconds(1500), -2, -0.03, "0:00:00"},  // clamped at zero
      {hours(26) + seconds(5), 93605, 1560.08, "26:00:05"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(rounded_seconds(c.d), c.seconds) << c.d.count();
    EXPECT_DOUBLE_EQ(rounded_minutes(c.d), c.minutes) << c.d.count();
    EXPECT_EQ(readable(c.d), c.readable) << c.d.count();
  }
}

// The original's own cases (spec §12.2): open 12:00, ack 12:03, resolve 12:18:30; and the same
// without an ack, resolved at 12:20:15.
TEST(IncidentJson, TheOriginalsCases) {
  const core::TimePoint noon = core::parse_rfc3339("2025-01-02T12:00:00Z").value();
  const Incident acked{.id = 7,
                       .group = "g",
                       .receiver = "ops",
                       .opened_at = noon,
                       .acknowledged_at = noon + minutes(3),
                       .acknowledged_by = "alice",
                       .acknowledged_via = "slack",
                       .resolved_at = noon + minutes(18) + seconds(30)};
  EXPECT_EQ(
      to_json(acked).dump(),
      R"({"acknowledged_at":"2025-01-02T12:03:00Z","acknowledged_by":"alice",)"
      R"("acknowledged_via":"slack","escalations":0,"group":"g","id":"7","mtta_minutes":3.0,"mtta_readable":"0:03:00",)"
      R"("mtta_seconds":180,"mttr_minutes":18.5,"mttr_readable":"0:18:30",)"
      R"("mttr_seconds":1110,"opened_at":"2025-01-02T12:00:00Z",)"
      R"("receiver":"ops","resolved_at":"2025-01-02T12:18:30Z"})");
  const Incident unacked{
      .group = "g", .receiver = "ops", .opened_at = noon, .resolved_at = noon + seconds(1215)};
  const json j = to_json(unacked);
  EXPECT_TRUE(j["acknowledged_at"].is_null());
  EXPECT_TRUE(j["mtta_seconds"].is_null());
  EXPECT_TRUE(j["mtta_minutes"].is_null());
  EXPECT_TRUE(j["mtta_readable"].is_null());
  EXPECT_EQ(j["mttr_seconds"], 1215);
  EXPECT_EQ(j["acknowledged_by"], "");
  EXPECT_EQ(j["acknowledged_via"], "");
}

}  // namespace
}  // namespace opsready::alerting
