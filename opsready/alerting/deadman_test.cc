#include "opsready/alerting/deadman.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "opsready/alerting/test_support.h"
#include "opsready/core/time.h"

namespace opsready::alerting {
namespace {

using core::Alert;
using core::LabelSet;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;
using test::kNow;

DeadMan make(std::vector<ExpectedSource> sources, HeartbeatOptions options = {}) {
  auto dm = DeadMan::create(std::move(sources), kNow, std::move(options));
  if (!dm) {
    ADD_FAILURE() << dm.error().describe();
    return *DeadMan::create({}, kNow);
  }
  return std::move(*dm);
}

std::vector<Alert> advance(DeadMan& dm, core::TimePoint now) {
  std::vector<Alert> out;
  dm.advance(now, out);
  return out;
}

std::vector<Alert> seen(DeadMan& dm, std::string_view topic, core::TimePoint time) {
  std::vector<Alert> out;
  dm.seen(topic, time, out);
  return out;
}

std::string sources_of(const std::vector<Alert>& alerts) {
  std::string out;
  for (const Alert& a : alerts) {
    if (!out.empty()) out += ",";
    out += a.labels.at("source");
  }
  return out;
}

TEST(Watchdog, AlwaysFiringWithThePrometheusLabels) {
  const Watchdog w(kNow, {.service = "trading", .runbook_base = "rb"});
  const Alert& a = w.alert();
  EXPECT_EQ(a.labels, (LabelSet{{"alertname", "OpsreadyWatchdog"},
                                {"category", "opsready.watchdog"},
                                {"severity", "none"},
                                {"service", "trading"}}));
  EXPECT_EQ(a.fingerprint, core::alert_fingerprint(a.labels));
  EXPECT_EQ(a.starts_at, kNow);
  EXPECT_EQ(a.ends_at, kFiring);
  EXPECT_FALSE(core::is_resolved(a, kNow + std::chrono::hours(24 * 365 * 100)));
  EXPECT_EQ(a.annotations.at("summary"), "Alerting pipeline heartbeat (always firing)");
  EXPECT_EQ(a.annotations.at("runbook_url"), "rb/watchdog.md");
  EXPECT_TRUE(a.annotations.contains("description"));
}

TEST(DeadMan, CreateRefusesBadSources) {
  struct Case {
    std::vector<ExpectedSource> sources;
    std::string_view field;
  };
  const Case cases[] = {
      {{{.name = "", .topic_pattern = "a", .after = seconds(1)}}, "sources[0].name"},
      {{{.name = "a", .topic_pattern = "a", .after = seconds(1)},
        {.name = "a", .topic_pattern = "b", .after = seconds(1)}},
       "sources[1].name"},
      {{{.name = "a", .topic_pattern = "a", .after = seconds(0)}}, "sources[0].after"},
      {{{.name = "a", .topic_pattern = "a", .after = seconds(-1)}}, "sources[0].after"},
      {{{.name = "a", .topic_pattern = "", .after = seconds(1)}}, "sources[0].topic_pattern"},
      {{{.name = "a", .topic_pattern = "a.>.b", .after = seconds(1)}}, "sources[0].topic_pattern"},
      {{{.name = "a", .topic_pattern = "tele*", .after = seconds(1)}}, "sources[0].topic_pattern"},
      {{{.name = "a", .topic_pattern = "a..b", .after = seconds(1)}}, "sources[0].topic_pattern"},
      {{{.name = "a", .topic_pattern = "A.b", .after = seconds(1)}}, "sources[0].topic_pattern"},
  };
  for (const Case& c : cases) {
    const auto dm = DeadMan::create(c.sources, kNow);
    ASSERT_FALSE(dm.has_value()) << c.field;
    EXPECT_EQ(dm.error().code, "invalid_expected_source");
    EXPECT_EQ(dm.error().field, c.field);
  }
  EXPECT_TRUE(DeadMan::create({}, kNow).has_value());
}

TEST(DeadMan, TopicPatternsMatchAsNatsSubjects) {
  struct Case {
    std::string_view pattern, topic;
    bool want;
  };
  const Case cases[] = {
      {"telemetry.ingest.health", "telemetry.ingest.health", true},
      {"telemetry.ingest.health", "telemetry.ingest", false},
      {"telemetry.ingest.health", "telemetry.ingest.health.x", false},
      {"telemetry.>", "telemetry.ingest", true},
      {"telemetry.>", "telemetry.ingest.health", true},
      {"telemetry.>", "telemetry", false},
      {"telemetry.>", "telemetryx.a", false},
      {"telemetry.*", "telemetry.ingest", true},
      {"telemetry.*", "telemetry.ingest.health", false},
      {"telemetry.*.health", "telemetry.ingest.health", true},
      {"*", "telemetry", true},
      {"*", "telemetry.ingest", false},
      {">", "a.b.c", true},
      {"a.*", "a.", false},
  };
  for (const Case& c : cases) {
    DeadMan dm =
        make({{.name = "s", .topic_pattern = std::string(c.pattern), .after = minutes(1)}});
    // A match moves the deadline from start + 1m to the event's time + 1m.
    (void)seen(dm, c.topic, kNow + seconds(30));
    const core::TimePoint want = c.want ? kNow + seconds(90) : kNow + seconds(60);
    EXPECT_EQ(dm.next_deadline(), want) << c.pattern << " vs " << c.topic;
  }
}

TEST(DeadMan, RaisesAtTheExactBoundaryAndNotBefore) {
  DeadMan dm =
      make({{.name = "ingest", .topic_pattern = "telemetry.ingest.>", .after = minutes(5)}},
           {.service = "trading", .runbook_base = "docs/runbooks"});
  const core::TimePoint t = kNow + minutes(2);
  EXPECT_TRUE(seen(dm, "telemetry.ingest.health", t).empty());
  EXPECT_EQ(dm.next_deadline(), t + minutes(5));
  EXPECT_TRUE(advance(dm, t + minutes(5) - nanoseconds(1)).empty());
  const std::vector<Alert> out = advance(dm, t + minutes(5));
  ASSERT_EQ(out.size(), 1u);
  const Alert& a = out[0];
  EXPECT_EQ(a.labels, (LabelSet{{"alertname", "OpsreadyTelemetryAbsent"},
                                {"category", "operational.telemetry"},
                                {"severity", "critical"},
                                {"service", "trading"},
                                {"source", "ingest"}}));
  EXPECT_EQ(a.fingerprint, core::alert_fingerprint(a.labels));
  EXPECT_EQ(a.starts_at, t + minutes(5));
  EXPECT_EQ(a.ends_at, kFiring);
  EXPECT_EQ(a.annotations,
            (LabelSet{{"summary", "No telemetry from ingest for 5m"},
                      {"description", "No event on a topic matching telemetry.ingest.> since " +
                                          core::format_rfc3339(t) +
                                          "; one is expected at least every 5m."},
                      {"runbook_url", "docs/runbooks/telemetry.md"}}));
  EXPECT_EQ(dm.active().size(), 1u);
  EXPECT_EQ(dm.next_deadline(), std::nullopt);
  EXPECT_TRUE(advance(dm, t + minutes(50)).empty());  // raised once
}

TEST(DeadMan, AnEventAtTheBoundarySeenFirstKeepsTheSourcePresent) {
  DeadMan dm = make({{.name = "s", .topic_pattern = "a", .after = minutes(1)}});
  EXPECT_TRUE(seen(dm, "a", kNow + minutes(1)).empty());
  EXPECT_TRUE(advance(dm, kNow + minutes(1)).empty());
  EXPECT_EQ(dm.next_deadline(), kNow + minutes(2));
}

TEST(DeadMan, ANeverSeenSourceCountsFromStart) {
  DeadMan dm = make({{.name = "s", .topic_pattern = "a", .after = minutes(1)}});
  EXPECT_EQ(dm.next_deadline(), kNow + minutes(1));
  const std::vector<Alert> out = advance(dm, kNow + minutes(1));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].starts_at, kNow + minutes(1));
  EXPECT_EQ(out[0].annotations.at("description"), "No event on a topic matching a since start, " +
                                                      core::format_rfc3339(kNow) +
                                                      "; one is expected at least every 1m.");
}

TEST(DeadMan, TheNextEventResolvesAndTheClockStartsAgain) {
  DeadMan dm = make({{.name = "s", .topic_pattern = "a.>", .after = minutes(1)}});
  const std::vector<Alert> raised = advance(dm, kNow + minutes(3));
  ASSERT_EQ(raised.size(), 1u);
  EXPECT_EQ(raised[0].starts_at, kNow + minutes(1));        // its own deadline, not `now`
  EXPECT_TRUE(seen(dm, "b.c", kNow + minutes(4)).empty());  // not this source's topic
  const core::TimePoint back = kNow + minutes(5);
  std::vector<Alert> out = seen(dm, "a.b", back);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].fingerprint, raised[0].fingerprint);
  EXPECT_EQ(out[0].starts_at, kNow + minutes(1));
  EXPECT_EQ(out[0].ends_at, back);
  EXPECT_TRUE(dm.active().empty());
  EXPECT_TRUE(seen(dm, "a.b", back + seconds(1)).empty());  // resolved once
  EXPECT_EQ(dm.next_deadline(), back + seconds(1) + minutes(1));
  out = advance(dm, back + seconds(1) + minutes(1));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].starts_at, back + seconds(1) + minutes(1));
}

TEST(DeadMan, AdvanceRaisesInDeadlineOrderAndSkipsAhead) {
  DeadMan dm = make({{.name = "slow", .topic_pattern = "slow", .after = minutes(10)},
                     {.name = "fast", .topic_pattern = "fast", .after = minutes(1)},
                     {.name = "tie", .topic_pattern = "tie", .after = minutes(1)},
                     {.name = "both", .topic_pattern = "*", .after = minutes(30)}});
  EXPECT_EQ(dm.next_deadline(), kNow + minutes(1));
  (void)seen(dm, "fast", kNow + minutes(2));  // fast: due at 3m; tie stays due at 1m
  EXPECT_EQ(dm.next_deadline(), kNow + minutes(1));
  (void)seen(dm, "tie", kNow + minutes(2));  // both at 3m now; "both" matched too
  EXPECT_EQ(dm.next_deadline(), kNow + minutes(3));
  const std::vector<Alert> out = advance(dm, kNow + minutes(20));
  EXPECT_EQ(sources_of(out), "fast,tie,slow");
  EXPECT_EQ(out[0].starts_at, kNow + minutes(3));
  EXPECT_EQ(out[2].starts_at, kNow + minutes(10));
  EXPECT_EQ(dm.next_deadline(), kNow + minutes(32));  // "both", seen at 2m
}

TEST(DeadMan, AnOlderEventDoesNotMoveLastSeenBack) {
  DeadMan dm = make({{.name = "s", .topic_pattern = "a", .after = minutes(1)}});
  (void)seen(dm, "a", kNow + seconds(50));
  (void)seen(dm, "a", kNow + seconds(10));
  EXPECT_EQ(dm.next_deadline(), kNow + seconds(110));
}

TEST(DeadMan, ManyTopicsPastTheCacheStillMatch) {
  DeadMan dm = make({{.name = "s", .topic_pattern = "t.>", .after = minutes(1)}});
  for (std::size_t i = 0; i < DeadMan::kTopicCacheBound + 10; ++i) {
    (void)seen(dm, "u." + std::to_string(i), kNow);
  }
  (void)seen(dm, "t.late", kNow + seconds(30));
  EXPECT_EQ(dm.next_deadline(), kNow + seconds(90));
}

TEST(DeadMan, RestoreKeepsTheAbsentAlert) {
  const std::vector<ExpectedSource> sources = {
      {.name = "s", .topic_pattern = "a", .after = minutes(1)},
      {.name = "t", .topic_pattern = "b", .after = minutes(1)}};
  DeadMan first = make(sources);
  std::vector<Alert> firing = advance(first, kNow + minutes(1));
  ASSERT_EQ(firing.size(), 2u);
  Alert other_service = firing[1];
  other_service.labels["service"] = "elsewhere";
  Alert resolved = firing[1];
  resolved.ends_at = kNow;

  DeadMan dm = make(sources);
  EXPECT_EQ(dm.restore({firing[0], other_service, resolved}), 1u);
  EXPECT_EQ(dm.active().size(), 1u);
  EXPECT_EQ(dm.next_deadline(), kNow + minutes(1));  // "t": not restored, counts from start
  const std::vector<Alert> out = seen(dm, "a", kNow + minutes(7));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].starts_at, kNow + minutes(1));
  EXPECT_EQ(out[0].ends_at, kNow + minutes(7));
}

}  // namespace
}  // namespace opsready::alerting
