#include "opsready/bus/failover_publisher.h"

#include <gtest/gtest.h>

#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "opsready/bus/in_process_bus.h"
#include "opsready/bus/test_support.h"
#include "opsready/core/time.h"

namespace opsready::bus {
namespace {

using core::TelemetryEvent;
using testing::LogCollector;
using testing::TempDir;
using testing::TmpfsMount;

// A scriptable bus at the EventBus seam.
class FakeBus final : public EventBus {
 public:
  enum class Mode { kUp, kUpNobody, kDown, kNotRunning, kReject, kThrow };
  explicit FakeBus(std::string name, Mode mode = Mode::kUp) : name_(std::move(name)), mode(mode) {}

  std::string_view name() const override { return name_; }
  bool is_running() const override { return mode != Mode::kNotRunning; }
  using EventBus::publish;
  PublishResult publish(const TelemetryEvent& e, std::string_view id) override {
    ++attempts;
    if (accept_budget == 0 && mode == Mode::kUp) return PublishResult::failed("budget spent");
    switch (mode) {
      case Mode::kUp:
        if (accept_budget > 0) --accept_budget;
        received.push_back(e.payload.value("seq", -1));
        ids.emplace_back(id);
        return PublishResult::delivered_to(2);
      case Mode::kUpNobody:
        received.push_back(e.payload.value("seq", -1));
        return PublishResult::delivered_to(0);
      case Mode::kDown:
        return PublishResult::failed("connection refused");
      case Mode::kNotRunning:
        return PublishResult::not_running("stopped");
      case Mode::kReject:
        return PublishResult::failed("message too large", false);
      case Mode::kThrow:
        throw std::logic_error("bug in bus");
    }
    return PublishResult::failed("?");
  }
  BusCounters counters() const override { return {}; }

  std::string name_;
  Mode mode;
  int accept_budget = -1;  // kUp: accept this many, then fail (negative: unlimited)
  int attempts = 0;
  std::vector<int> received;
  std::vector<std::string> ids;
};

TelemetryEvent event(int seq) {
  return TelemetryEvent{
      "telemetry.operational.readiness", "ops", core::TimePoint{}, {{"seq", seq}}};
}

struct Fixture {
  TempDir dir;
  LogCollector logs;
  core::ManualClock clock{core::parse_rfc3339("2025-01-02T00:00:00Z").value()};
  FakeBus primary{"primary"};
  FakeBus secondary{"secondary"};

  FailoverOptions options(bool spool = true) {
    FailoverOptions o;
    if (spool) o.spool_dir = dir.path() / "spool";
    o.retry_interval = std::chrono::seconds(1);
    o.publisher_id = "pub";
    o.log = logs.fn();
    return o;
  }
};

TEST(FailoverPublisher, UsesThePrimaryWhileItDelivers) {
  Fixture f;
  FailoverPublisher pub({&f.primary, &f.secondary}, f.options(), f.clock);
  auto d = pub.publish(event(1));
  ASSERT_TRUE(d.has_value()) << d.error().describe();
  EXPECT_EQ(d->route, Delivery::Route::kBus);
  EXPECT_EQ(d->bus_index, 0u);
  EXPECT_EQ(d->bus, "primary");
  EXPECT_EQ(d->subscribers, 2u);
  EXPECT_TRUE(d->message_id.starts_with("pub-")) << d->message_id;
  EXPECT_TRUE(d->message_id.ends_with("-1")) << d->message_id;
  EXPECT_EQ(f.primary.ids, std::vector<std::string>{d->message_id});
  EXPECT_EQ(f.secondary.attempts, 0);
  EXPECT_EQ(pub.counters().spooled, 0u);
}

TEST(FailoverPublisher, ZeroSubscribersIsADeliveryNotAFallback) {
  Fixture f;
  f.primary.mode = FakeBus::Mode::kUpNobody;
  FailoverPublisher pub({&f.primary, &f.secondary}, f.options(), f.clock);
  auto d = pub.publish(event(1));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->route, Delivery::Route::kBus);
  EXPECT_EQ(d->subscribers, 0u);
  EXPECT_EQ(f.secondary.attempts, 0);
}

TEST(FailoverPublisher, FallsBackDeterministicallyAndWarnsOncePerOutage) {
  Fixture f;
  FailoverPublisher pub({&f.primary, &f.secondary}, f.options(), f.clock);
  f.primary.mode = FakeBus::Mode::kNotRunning;
  for (int i = 1; i <= 3; ++i) {
    auto d = pub.publish(event(i));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->bus, "secondary");
    EXPECT_EQ(d->bus_index, 1u);
  }
  EXPECT_EQ(f.primary.attempts, 1) << "a down bus is skipped until retry_interval passed";
  EXPECT_EQ(f.logs.count(LogLevel::kWarn, "falling back to 'secondary'"), 1) << f.logs.dump();

  f.clock.advance(std::chrono::seconds(1));
  ASSERT_TRUE(pub.publish(event(4)).has_value());
  EXPECT_EQ(f.primary.attempts, 2) << "retried once the interval passed";
  EXPECT_EQ(f.logs.count(LogLevel::kWarn, "falling back"), 1) << "same outage: no new warning";

  f.primary.mode = FakeBus::Mode::kUp;
  f.clock.advance(std::chrono::seconds(1));
  auto d = pub.publish(event(5));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->bus, "primary");
  EXPECT_EQ(f.logs.count(LogLevel::kInfo, "event bus 'primary' recovered after 2 refused"), 1)
      << f.logs.dump();
  EXPECT_EQ(f.secondary.received, (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(f.primary.received, std::vector<int>{5});

  f.primary.mode = FakeBus::Mode::kDown;  // a second outage warns again
  ASSERT_TRUE(pub.publish(event(6)).has_value());
  EXPECT_EQ(f.logs.count(LogLevel::kWarn, "falling back to 'secondary'"), 2);
  const FailoverCounters c = pub.counters();
  ASSERT_EQ(c.buses.size(), 2u);
  EXPECT_EQ(c.buses[0].outages, 2u);
  EXPECT_EQ(c.buses[0].failures, 3u);
  EXPECT_FALSE(c.buses[0].up);
  EXPECT_EQ(c.buses[0].last_error, "connection refused");
  EXPECT_EQ(c.buses[1].delivered, 5u);
}

TEST(FailoverPublisher, SpoolsWhenEveryBusFailsAndReplaysInOrderBeforeNewEvents) {
  Fixture f;
  FailoverPublisher pub({&f.primary, &f.secondary}, f.options(), f.clock);
  ASSERT_TRUE(pub.publish(event(1)).has_value());
  f.primary.mode = FakeBus::Mode::kDown;
  f.secondary.mode = FakeBus::Mode::kDown;
  std::vector<std::string> spooled_ids;
  for (int i = 2; i <= 4; ++i) {
    auto d = pub.publish(event(i));
    ASSERT_TRUE(d.has_value()) << d.error().describe();
    EXPECT_EQ(d->route, Delivery::Route::kSpool);
    spooled_ids.push_back(d->message_id);
    f.clock.advance(std::chrono::seconds(1));  // every bus is retried (and fails) each time
  }
  EXPECT_EQ(pub.spool_pending(), 3u);
  EXPECT_EQ(f.logs.count(LogLevel::kWarn, "every event bus failed"), 1) << f.logs.dump();

  f.secondary.mode = FakeBus::Mode::kUp;  // the primary stays down
  f.clock.advance(std::chrono::seconds(1));
  auto d = pub.publish(event(5));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->route, Delivery::Route::kBus);
  EXPECT_EQ(d->bus, "secondary");
  EXPECT_EQ(f.secondary.received, (std::vector<int>{2, 3, 4, 5})) << "spool first, in order";
  EXPECT_EQ(std::vector<std::string>(f.secondary.ids.begin(), f.secondary.ids.begin() + 3),
            spooled_ids)
      << "replays keep their message ids";
  EXPECT_EQ(pub.spool_pending(), 0u);
  EXPECT_EQ(f.logs.count(LogLevel::kInfo, "replayed completely"), 1);
  const FailoverCounters c = pub.counters();
  EXPECT_EQ(c.spooled, 3u);
  EXPECT_EQ(c.replayed, 3u);
  EXPECT_EQ(c.published, 5u);
  EXPECT_EQ(c.errors, 0u);
}

TEST(FailoverPublisher, RemovesSpooledEventsOnlyAfterABusTookThem) {
  Fixture f;
  f.primary.mode = FakeBus::Mode::kDown;
  FailoverPublisher pub({&f.primary}, f.options(), f.clock);
  for (int i = 1; i <= 5; ++i) {
    ASSERT_EQ(pub.publish(event(i))->route, Delivery::Route::kSpool);
  }
  // The bus takes two records, then fails again: three stay, and a new event queues behind.
  f.primary.mode = FakeBus::Mode::kUp;
  f.primary.accept_budget = 2;
  f.clock.advance(std::chrono::seconds(1));
  auto d = pub.publish(event(6));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->route, Delivery::Route::kSpool) << "a new event never overtakes spooled ones";
  EXPECT_EQ(f.primary.received, (std::vector<int>{1, 2}));
  EXPECT_EQ(pub.spool_pending(), 4u);

  f.primary.accept_budget = -1;
  auto none = pub.replay();  // still inside retry_interval: nothing is tried
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(*none, 0u);
  f.clock.advance(std::chrono::seconds(1));
  auto replayed = pub.replay();
  ASSERT_TRUE(replayed.has_value());
  EXPECT_EQ(*replayed, 4u);
  EXPECT_EQ(f.primary.received, (std::vector<int>{1, 2, 3, 4, 5, 6}));
}

TEST(FailoverPublisher, TheSpoolSurvivesARestartOfThePublisher) {
  Fixture f;
  f.primary.mode = FakeBus::Mode::kDown;
  {
    FailoverPublisher pub({&f.primary}, f.options(), f.clock);
    for (int i = 1; i <= 3; ++i) ASSERT_TRUE(pub.publish(event(i)).has_value());
  }
  f.primary.mode = FakeBus::Mode::kUp;
  FailoverPublisher again({&f.primary}, f.options(), f.clock);
  EXPECT_EQ(again.spool_pending(), 3u);
  EXPECT_EQ(f.logs.count(LogLevel::kInfo, "from an earlier run"), 1);
  ASSERT_TRUE(again.publish(event(4)).has_value());
  EXPECT_EQ(f.primary.received, (std::vector<int>{1, 2, 3, 4}));
  ASSERT_EQ(f.primary.ids.size(), 4u);
  EXPECT_TRUE(f.primary.ids[0].ends_with("-1"));
  EXPECT_TRUE(f.primary.ids[2].ends_with("-3")) << "replayed records keep their ids";
  EXPECT_TRUE(f.primary.ids[3].ends_with("-1"));
  EXPECT_NE(f.primary.ids[3], f.primary.ids[0]) << "a restarted publisher never reuses an id";
}

TEST(FailoverPublisher, ABusThatThrowsIsATypedErrorNamingStageBusAndType) {
  Fixture f;
  f.primary.mode = FakeBus::Mode::kThrow;
  FailoverPublisher pub({&f.primary, &f.secondary}, f.options(), f.clock);
  auto r = pub.publish(event(1));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().stage, PublishStage::kBus);
  EXPECT_EQ(r.error().bus, "primary");
  EXPECT_EQ(r.error().event_type, "telemetry.operational.readiness");
  EXPECT_EQ(r.error().code, "bus_exception");
  EXPECT_EQ(r.error().describe(),
            "Failed to publish event 'telemetry.operational.readiness' via bus (bus 'primary'): "
            "the bus threw: bug in bus");
  EXPECT_EQ(f.secondary.attempts, 0) << "as in the spec, later buses are not tried";
  EXPECT_EQ(pub.counters().errors, 1u);
}

TEST(FailoverPublisher, PermanentRejectionByEveryBusIsNotSpooled) {
  Fixture f;
  f.primary.mode = FakeBus::Mode::kReject;
  f.secondary.mode = FakeBus::Mode::kReject;
  FailoverPublisher pub({&f.primary, &f.secondary}, f.options(), f.clock);
  auto r = pub.publish(event(1));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().stage, PublishStage::kBus);
  EXPECT_EQ(r.error().code, "rejected_by_every_bus");
  EXPECT_EQ(pub.spool_pending(), 0u);
  // One permanent refusal and one transient one: spool it.
  f.secondary.mode = FakeBus::Mode::kDown;
  f.clock.advance(std::chrono::seconds(1));
  EXPECT_EQ(pub.publish(event(2))->route, Delivery::Route::kSpool);
}

TEST(FailoverPublisher, ReplayMovesPermanentlyRefusedRecordsAside) {
  Fixture f;
  f.primary.mode = FakeBus::Mode::kDown;
  FailoverPublisher pub({&f.primary}, f.options(), f.clock);
  for (int i = 1; i <= 2; ++i) ASSERT_TRUE(pub.publish(event(i)).has_value());
  f.primary.mode = FakeBus::Mode::kReject;
  f.clock.advance(std::chrono::seconds(1));
  auto r = pub.replay();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 0u);
  EXPECT_EQ(pub.spool_pending(), 0u);
  EXPECT_EQ(pub.counters().rejected, 2u);
  std::ifstream in(f.dir.path() / "spool" / "rejected.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    EXPECT_NE(line.find("message too large"), std::string::npos) << line;
  }
  EXPECT_EQ(lines, 2);
  EXPECT_EQ(f.logs.count(LogLevel::kError, "refused permanently"), 2);
}

TEST(FailoverPublisher, NoSpoolConfiguredIsATypedSpoolError) {
  Fixture f;
  f.primary.mode = FakeBus::Mode::kDown;
  FailoverPublisher pub({&f.primary}, f.options(/*spool=*/false), f.clock);
  auto r = pub.publish(event(1));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().stage, PublishStage::kSpool);
  EXPECT_EQ(r.error().code, "no_spool");
  EXPECT_NE(r.error().message.find("primary: connection refused"), std::string::npos)
      << r.error().message;
  FailoverPublisher empty({}, f.options(/*spool=*/false), f.clock);
  EXPECT_EQ(empty.publish(event(1)).error().code, "no_spool");
}

// The spool directory is a read-only tmpfs mount (root ignores chmod, not MS_RDONLY).
TEST(FailoverPublisher, AReadOnlySpoolIsATypedErrorNotACrash) {
  Fixture f;
  const auto ro_dir = f.dir.path() / "ro";
  TmpfsMount ro(ro_dir, /*read_only=*/true);
  if (!ro.mounted()) GTEST_SKIP() << "cannot mount a read-only tmpfs here: " << ro.error();
  FailoverOptions o = f.options();
  o.spool_dir = ro_dir / "spool";
  FailoverPublisher pub({&f.primary}, o, f.clock);
  EXPECT_EQ(f.logs.count(LogLevel::kError, "spool unavailable"), 1) << f.logs.dump();
  EXPECT_TRUE(pub.publish(event(1)).has_value()) << "the buses still work";
  f.primary.mode = FakeBus::Mode::kDown;
  for (int i = 2; i <= 3; ++i) {
    auto r = pub.publish(event(i));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().stage, PublishStage::kSpool);
    EXPECT_EQ(r.error().event_type, "telemetry.operational.readiness");
    EXPECT_EQ(r.error().code, "spool_read_only");
    EXPECT_NE(r.error().message.find("Read-only file system"), std::string::npos)
        << r.error().message;
  }
  EXPECT_EQ(f.logs.count(LogLevel::kError, "spool unavailable"), 1) << "logged once per outage";
  const FailoverCounters c = pub.counters();
  EXPECT_FALSE(c.spool_available);
  EXPECT_EQ(c.errors, 2u);
}

TEST(FailoverPublisher, AFileWhereTheSpoolDirectoryShouldBeIsATypedError) {
  Fixture f;
  const auto file = f.dir.path() / "file";
  std::ofstream(file) << "x";
  FailoverOptions o = f.options();
  o.spool_dir = file;
  f.primary.mode = FakeBus::Mode::kDown;
  FailoverPublisher pub({&f.primary}, o, f.clock);
  auto r = pub.publish(event(1));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().stage, PublishStage::kSpool);
  EXPECT_EQ(r.error().code, "spool_io_error");
  EXPECT_NE(r.error().message.find(file.string()), std::string::npos) << r.error().message;
}

TEST(FailoverPublisher, AFullSpoolIsATypedError) {
  Fixture f;
  FailoverOptions o = f.options();
  o.spool.max_bytes = 600;
  f.primary.mode = FakeBus::Mode::kDown;
  FailoverPublisher pub({&f.primary}, o, f.clock);
  std::expected<Delivery, PublishError> r;
  int spooled = 0;
  while ((r = pub.publish(event(spooled + 1)))) ++spooled;
  EXPECT_GT(spooled, 0);
  EXPECT_EQ(r.error().stage, PublishStage::kSpool);
  EXPECT_EQ(r.error().code, "spool_full");
  EXPECT_EQ(f.logs.count(LogLevel::kError, "refused an event"), 1);
}

TEST(FailoverPublisher, RunReplaysWithoutNewEvents) {
  Fixture f;
  FailoverOptions o = f.options();
  o.retry_interval = std::chrono::milliseconds(10);
  InProcessBus bus({.name = "local"});
  std::atomic<int> handled{0};
  auto sub = bus.subscribe(">", [&](const TelemetryEvent&) { ++handled; }).value();
  FailoverPublisher pub({&bus}, o);  // system clock: run() sleeps for real
  for (int i = 1; i <= 3; ++i) ASSERT_EQ(pub.publish(event(i))->route, Delivery::Route::kSpool);
  bus.start();
  std::jthread pump([&](std::stop_token st) { pub.run(st); });
  for (int i = 0; i < 6000 && pub.spool_pending() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(pub.spool_pending(), 0u);
  pump.request_stop();
  pump.join();
  ASSERT_TRUE(bus.flush());
  EXPECT_EQ(handled.load(), 3);
}

}  // namespace
}  // namespace opsready::bus
