// Integration tests of the NATS JetStream bus and the failover publisher against a real
// nats-server started (and restarted) by the test on a loopback port.

#include <gtest/gtest.h>
#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/bus/failover_publisher.h"
#include "opsready/bus/nats_bus.h"
#include "opsready/bus/test_support.h"
#include "tests/integration/nats/nats_server.h"

namespace opsready::bus {
namespace {

using core::TelemetryEvent;
using nats_testing::NatsServerProcess;
using testing::LogCollector;
using testing::TempDir;
using testing::TmpfsMount;
using namespace std::chrono_literals;

// nats_Close() once, after every test: LeakSanitizer then reports nothing from libnats.
class NatsLibrary : public ::testing::Environment {
 public:
  void TearDown() override { shutdown_nats_library(); }
};
const auto* const kNatsLibrary = ::testing::AddGlobalTestEnvironment(new NatsLibrary);

TelemetryEvent event(int source, int seq) {
  return TelemetryEvent{"telemetry.ingest.health",
                        "src-" + std::to_string(source),
                        core::TimePoint(std::chrono::seconds(1735689600 + seq)),
                        {{"seq", seq}, {"series", "ingest.lag_seconds"}, {"value", 0.25}}};
}

NatsBusOptions bus_options(const NatsServerProcess& server, LogCollector& logs) {
  NatsBusOptions o;
  o.servers = {server.url()};
  o.reconnect_initial = 50ms;
  o.reconnect_max = 500ms;
  o.publish_timeout = 2s;
  o.log = logs.fn();
  return o;
}

// Records, per source, the sequence numbers one durable consumer's handler saw.
struct Received {
  std::mutex mu;
  std::map<std::string, std::vector<int>> by_source;
  std::atomic<int> total{0};
  Handler handler() {
    return [this](const TelemetryEvent& e) {
      {
        std::lock_guard lock(mu);
        by_source[e.source].push_back(e.payload["seq"].get<int>());
      }
      ++total;
    };
  }
};

bool wait_until(const std::function<bool()>& done, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

class NatsBusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!server_.available()) GTEST_SKIP() << "nats-server is not installed";
    std::string error;
    ASSERT_TRUE(server_.start(&error)) << error;
  }
  void TearDown() override {
    if (HasFailure() && server_.available()) {
      std::cerr << "--- nats-server log ---\n"
                << server_.log_tail() << "\n--- bus log ---\n"
                << logs_.dump();
    }
  }

  TempDir dir_;
  NatsServerProcess server_{dir_.path() / "nats"};
  LogCollector logs_;
};

TEST_F(NatsBusTest, PublishesToTheStreamAndDeliversToADurableConsumer) {
  auto bus = NatsBus::connect(bus_options(server_, logs_));
  ASSERT_TRUE(bus.has_value()) << bus.error().message;
  ASSERT_TRUE(wait_until([&] { return (*bus)->connected(); }, 20s));
  EXPECT_EQ((*bus)->subject_for("telemetry.ingest.health"),
            "opsready.events.telemetry.ingest.health");

  Received got;
  auto consumer =
      (*bus)->consumer({.durable = "roundtrip", .filter = "telemetry.>"}, got.handler());
  ASSERT_TRUE(consumer.has_value()) << consumer.error().message;
  (*consumer)->start();

  for (int i = 0; i < 10; ++i) {
    const PublishResult r = (*bus)->publish(event(0, i), "rt-" + std::to_string(i));
    ASSERT_EQ(r, PublishResult::delivered_to(1)) << r.reason;
  }
  // The same message id again: JetStream keeps one copy.
  ASSERT_TRUE((*bus)->publish(event(0, 9), "rt-9").delivered());
  const PublishResult bad = (*bus)->publish(TelemetryEvent{"Bad Topic", "x", {}, {}});
  EXPECT_EQ(bad.status, PublishStatus::kFailed);
  EXPECT_FALSE(bad.retryable);

  ASSERT_TRUE(wait_until([&] { return got.total.load() >= 10; }, 30s));
  std::this_thread::sleep_for(300ms);  // room for a duplicate to show up, if there were one
  (*consumer)->stop();
  EXPECT_EQ(got.total.load(), 10);
  std::vector<int> want(10);
  for (int i = 0; i < 10; ++i) want[static_cast<std::size_t>(i)] = i;
  EXPECT_EQ(got.by_source["src-0"], want);
  const NatsConsumerCounters cc = (*consumer)->counters();
  EXPECT_EQ(cc.delivered, 10u);
  EXPECT_EQ(cc.handler_errors, 0u);
  const BusCounters bc = (*bus)->counters();
  EXPECT_TRUE(bc.running);
  EXPECT_EQ(bc.published, 11u);
  EXPECT_EQ(bc.dropped, 1u);
  EXPECT_EQ(bc.subscriber_count, 1u);
  EXPECT_EQ(bc.topic_subscribers.at("telemetry.>"), 1u);
}

TEST_F(NatsBusTest, ADurableConsumerResumesWhereItStopped) {
  auto bus = NatsBus::connect(bus_options(server_, logs_)).value();
  ASSERT_TRUE(wait_until([&] { return bus->connected(); }, 20s));
  Received first, second;
  {
    auto c = bus->consumer({.durable = "resume"}, first.handler()).value();
    c->start();
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(bus->publish(event(0, i)).delivered());
    ASSERT_TRUE(wait_until([&] { return first.total.load() >= 5; }, 30s));
  }  // destroyed: the durable stays on the server
  for (int i = 5; i < 8; ++i) ASSERT_TRUE(bus->publish(event(0, i)).delivered());
  auto c = bus->consumer({.durable = "resume"}, second.handler()).value();
  c->start();
  ASSERT_TRUE(wait_until([&] { return second.total.load() >= 3; }, 30s));
  std::this_thread::sleep_for(300ms);
  c->stop();
  EXPECT_EQ(second.by_source["src-0"], (std::vector<int>{5, 6, 7}));
}

// A delivery lost in flight (here: taken by another reader of the durable that never acks,
// as a connection dying mid-fetch does) would come back only after ack_wait, behind later
// messages. An ordered consumer sees the gap in the delivery sequence, reads the missed
// message from the stream, handles it in order, and acks its late redelivery as a duplicate.
TEST_F(NatsBusTest, AnOrderedConsumerFillsALostDeliveryFromTheStream) {
  auto bus = NatsBus::connect(bus_options(server_, logs_)).value();
  ASSERT_TRUE(wait_until([&] { return bus->connected(); }, 20s));
  Received got;
  NatsConsumerOptions co{.durable = "gap", .batch = 16, .fetch_timeout = 100ms, .ack_wait = 1s};
  auto c = bus->consumer(co, got.handler()).value();
  c->start();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(bus->publish(event(0, i)).delivered());
  ASSERT_TRUE(wait_until([&] { return got.total.load() >= 3; }, 30s));
  c->stop();
  for (int i = 3; i < 8; ++i) ASSERT_TRUE(bus->publish(event(0, i)).delivered());

  {  // The thief: fetches the next delivery (event 3) and drops it without an ack.
    natsConnection* nc = nullptr;
    jsCtx* js = nullptr;
    ASSERT_EQ(natsConnection_ConnectTo(&nc, server_.url().c_str()), NATS_OK);
    ASSERT_EQ(natsConnection_JetStream(&js, nc, nullptr), NATS_OK);
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = "OPSREADY_EVENTS";
    so.Consumer = "gap";
    natsSubscription* sub = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    ASSERT_EQ(js_PullSubscribe(&sub, js, "opsready.events.>", "gap", nullptr, &so, &jerr), NATS_OK)
        << jerr;
    natsMsgList list{};
    ASSERT_EQ(natsSubscription_Fetch(&list, sub, 1, 5000, &jerr), NATS_OK);
    ASSERT_EQ(list.Count, 1);
    EXPECT_EQ(nlohmann::json::parse(natsMsg_GetData(list.Msgs[0]))["payload"]["seq"], 3);
    natsMsgList_Destroy(&list);
    natsSubscription_Destroy(sub);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
  }

  c->start();
  ASSERT_TRUE(wait_until([&] { return got.total.load() >= 8; }, 30s));
  // The stolen delivery comes back after ack_wait: acked as a duplicate, not handled again.
  ASSERT_TRUE(wait_until([&] { return c->counters().duplicates >= 1; }, 30s));
  c->stop();
  EXPECT_EQ(got.by_source["src-0"], (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(got.total.load(), 8);
  EXPECT_EQ(c->counters().gap_filled, 1u);
}

// The acceptance test: 100 000 events from 4 sources through the failover publisher
// (NATS first, then the spool); nats-server is stopped in the middle of the stream and
// restarted on the same port with the same store. Each durable consumer must see every event
// exactly once, in order per source.
TEST_F(NatsBusTest, ServerRestartMidStreamLosesNothingAndDuplicatesNothing) {
  constexpr int kEvents = 100000;
  constexpr int kSources = 4;
  constexpr int kStopAt = 30000;
  constexpr int kRestartAt = 60000;

  auto bus = NatsBus::connect(bus_options(server_, logs_)).value();
  ASSERT_TRUE(wait_until([&] { return bus->connected(); }, 20s));
  ASSERT_TRUE(bus->ensure_stream());

  Received a, b;
  NatsConsumerOptions co{.durable = "eval-a", .filter = "telemetry.>"};
  co.ack_wait = 5s;
  auto consumer_a = bus->consumer(co, a.handler()).value();
  co.durable = "eval-b";
  auto consumer_b = bus->consumer(co, b.handler()).value();
  consumer_a->start();
  consumer_b->start();

  FailoverOptions fo;
  fo.spool_dir = dir_.path() / "spool";
  fo.spool.fsync = FsyncPolicy::kNever;  // power loss is not what this test is about
  fo.retry_interval = 100ms;
  fo.publisher_id = "restart-test";
  fo.log = logs_.fn();
  FailoverPublisher pub({bus.get()}, fo);

  // Another thread stops the server while the producer keeps going, so publishes are in
  // flight when it dies. The producer restarts it itself (from this thread: the server is
  // tied to the thread that forks it by PR_SET_PDEATHSIG) and goes on at once, so publishes
  // are also in flight while the client reconnects.
  std::latch stop_now(1);
  std::atomic<bool> stopped{false};
  std::jthread controller([&] {
    stop_now.wait();
    server_.stop();
    stopped = true;
  });

  int to_bus = 0, to_spool = 0;
  for (int i = 0; i < kEvents; ++i) {
    if (i == kStopAt) stop_now.count_down();
    if (i == kRestartAt) {
      while (!stopped.load()) std::this_thread::sleep_for(1ms);  // the outage really happened
      controller.join();
      std::string error;
      ASSERT_TRUE(server_.start(&error)) << error;
    }
    auto d = pub.publish(event(i % kSources, i / kSources));
    ASSERT_TRUE(d.has_value()) << d.error().describe();
    (d->route == Delivery::Route::kBus ? to_bus : to_spool)++;
  }

  // Whatever is still spooled goes out once NATS is back.
  ASSERT_TRUE(wait_until(
      [&] {
        (void)pub.replay();
        return pub.spool_pending() == 0;
      },
      180s))
      << pub.spool_pending() << " events still spooled";
  ASSERT_TRUE(
      wait_until([&] { return a.total.load() >= kEvents && b.total.load() >= kEvents; }, 300s))
      << "a=" << a.total.load() << " b=" << b.total.load();
  std::this_thread::sleep_for(1s);  // room for a late duplicate, if there were one
  consumer_a->stop();
  consumer_b->stop();

  const FailoverCounters fc = pub.counters();
  EXPECT_GT(to_spool, 0) << "the outage must have sent events to the spool";
  EXPECT_GT(to_bus, 0);
  EXPECT_EQ(fc.spooled, static_cast<std::uint64_t>(to_spool));
  EXPECT_EQ(fc.replayed, fc.spooled) << "every spooled event was replayed";
  EXPECT_EQ(fc.errors, 0u);
  EXPECT_EQ(fc.buses.at(0).outages, 1u);
  EXPECT_EQ(logs_.count(LogLevel::kWarn, "falling back to the spool"), 1) << logs_.dump();

  for (Received* r : {&a, &b}) {
    EXPECT_EQ(r->total.load(), kEvents);
    for (int s = 0; s < kSources; ++s) {
      const auto& seqs = r->by_source["src-" + std::to_string(s)];
      ASSERT_EQ(seqs.size(), static_cast<std::size_t>(kEvents / kSources)) << "source " << s;
      for (std::size_t k = 0; k < seqs.size(); ++k) {
        ASSERT_EQ(seqs[k], static_cast<int>(k)) << "source " << s << ", position " << k;
      }
    }
  }
  for (const auto* c : {consumer_a.get(), consumer_b.get()}) {
    const NatsConsumerCounters cc = c->counters();
    EXPECT_EQ(cc.delivered, static_cast<std::uint64_t>(kEvents)) << c->durable();
    EXPECT_EQ(cc.undecodable, 0u);
    std::cerr << c->durable() << ": received " << cc.received << ", duplicates skipped "
              << cc.duplicates << ", fetch errors " << cc.fetch_errors << "\n";
  }
  std::cerr << "published " << kEvents << ": " << to_bus << " straight to NATS, " << to_spool
            << " spooled and replayed; deliveries lost in flight and filled from the stream: "
            << consumer_a->counters().gap_filled << " / " << consumer_b->counters().gap_filled
            << "\n";
}

// The spool directory is on a read-only file system while NATS is down: the failover
// publisher returns a typed error naming the stage and the event type, and nothing crashes.
TEST_F(NatsBusTest, ReadOnlySpoolDuringAnOutageIsATypedError) {
  auto bus = NatsBus::connect(bus_options(server_, logs_)).value();
  ASSERT_TRUE(wait_until([&] { return bus->connected(); }, 20s));
  const auto ro_dir = dir_.path() / "ro";
  TmpfsMount ro(ro_dir, /*read_only=*/true);
  std::filesystem::path spool_dir = ro_dir / "spool";
  std::string want_code = "spool_read_only";
  if (!ro.mounted()) {
    // Without CAP_SYS_ADMIN: a regular file where the spool directory should be.
    spool_dir = dir_.path() / "a-file";
    std::ofstream(spool_dir) << "x";
    want_code = "spool_io_error";
    std::cerr << "read-only tmpfs not available (" << ro.error()
              << "); using a file in place of the spool directory\n";
  }
  FailoverOptions fo;
  fo.spool_dir = spool_dir;
  fo.log = logs_.fn();
  FailoverPublisher pub({bus.get()}, fo);
  ASSERT_TRUE(pub.publish(event(0, 0)).has_value());
  server_.stop();
  ASSERT_TRUE(wait_until([&] { return !bus->connected(); }, 20s));
  for (int i = 1; i <= 3; ++i) {
    auto r = pub.publish(event(0, i));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().stage, PublishStage::kSpool);
    EXPECT_EQ(r.error().event_type, "telemetry.ingest.health");
    EXPECT_EQ(r.error().code, want_code) << r.error().describe();
    EXPECT_NE(r.error().describe().find("Failed to publish event 'telemetry.ingest.health' via "
                                        "spool"),
              std::string::npos);
  }
  EXPECT_EQ(pub.counters().errors, 3u);
}

TEST_F(NatsBusTest, PublishFailsFastWhileNoServerIsReachable) {
  server_.stop();
  auto bus = NatsBus::connect(bus_options(server_, logs_));
  ASSERT_TRUE(bus.has_value()) << "connect keeps retrying in the background";
  EXPECT_TRUE((*bus)->is_running());
  EXPECT_FALSE((*bus)->connected());
  const PublishResult r = (*bus)->publish(event(0, 0));
  EXPECT_EQ(r.status, PublishStatus::kFailed);
  EXPECT_TRUE(r.retryable);
  EXPECT_NE(r.reason.find("not connected"), std::string::npos) << r.reason;
  EXPECT_FALSE((*bus)->counters().running);
  // The server comes up: the same bus connects and publishes.
  std::string error;
  ASSERT_TRUE(server_.start(&error)) << error;
  ASSERT_TRUE(wait_until([&] { return (*bus)->connected(); }, 30s));
  EXPECT_TRUE((*bus)->publish(event(0, 1)).delivered());
  (*bus)->close();
  EXPECT_EQ((*bus)->publish(event(0, 2)).status, PublishStatus::kNotRunning);
}

}  // namespace
}  // namespace opsready::bus
