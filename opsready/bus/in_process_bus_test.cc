#include "opsready/bus/in_process_bus.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <mutex>
#include <semaphore>
#include <stdexcept>
#include <thread>
#include <vector>

#include "opsready/bus/test_support.h"
#include "opsready/core/time.h"

namespace opsready::bus {
namespace {

using core::TelemetryEvent;
using testing::LogCollector;

TelemetryEvent event(std::string topic, int seq = 0, std::string source = "test") {
  return TelemetryEvent{std::move(topic), std::move(source), core::TimePoint{},
                        nlohmann::json{{"seq", seq}}};
}

// Collects what a handler saw, from the dispatch thread.
struct Seen {
  std::mutex mu;
  std::vector<std::string> topics;
  std::vector<int> seqs;
  Handler handler() {
    return [this](const TelemetryEvent& e) {
      std::lock_guard lock(mu);
      topics.push_back(e.topic);
      seqs.push_back(e.payload.value("seq", -1));
    };
  }
  std::size_t size() {
    std::lock_guard lock(mu);
    return topics.size();
  }
};

TEST(InProcessBus, NotStartedRefusesWithNotRunningAndWarnsOnce) {
  LogCollector logs;
  InProcessBus bus({.log = logs.fn()});
  const PublishResult r1 = bus.publish(event("telemetry.a"));
  const PublishResult r2 = bus.publish(event("telemetry.a"));
  EXPECT_EQ(r1.status, PublishStatus::kNotRunning);
  EXPECT_FALSE(r1.delivered());
  EXPECT_EQ(r2.status, PublishStatus::kNotRunning);
  EXPECT_EQ(logs.count(LogLevel::kWarn, "not running"), 1) << logs.dump();
  const BusCounters c = bus.counters();
  EXPECT_FALSE(c.running);
  EXPECT_EQ(c.dropped, 2u);
  EXPECT_EQ(c.published, 0u);
  EXPECT_FALSE(bus.flush());
}

TEST(InProcessBus, TypedResultCountsMatchingSubscribersAndZeroIsSuccess) {
  InProcessBus bus;
  Seen a, b, other;
  auto s1 = bus.subscribe("telemetry.operational.*", a.handler()).value();
  auto s2 = bus.subscribe("telemetry.>", b.handler()).value();
  auto s3 = bus.subscribe("telemetry.sensory.drift", other.handler()).value();
  bus.start();
  EXPECT_EQ(bus.publish(event("telemetry.operational.readiness")), PublishResult::delivered_to(2));
  EXPECT_EQ(bus.publish(event("telemetry.ingest.health")), PublishResult::delivered_to(1));
  const PublishResult nobody = bus.publish(event("audit.login"));
  EXPECT_EQ(nobody.status, PublishStatus::kDelivered);
  EXPECT_EQ(nobody.subscribers, 0u);
  EXPECT_TRUE(nobody.delivered()) << "0 subscribers is a delivery, not a failure";
  ASSERT_TRUE(bus.flush());
  EXPECT_EQ(a.topics, std::vector<std::string>{"telemetry.operational.readiness"});
  EXPECT_EQ(b.topics, (std::vector<std::string>{"telemetry.operational.readiness",
                                                "telemetry.ingest.health"}));
  EXPECT_TRUE(other.topics.empty());
  const BusCounters c = bus.counters();
  EXPECT_EQ(c.published, 3u);
  EXPECT_EQ(c.delivered, 3u);
  EXPECT_EQ(c.dropped, 0u);
  EXPECT_EQ(c.queue_depth, 0u);
  EXPECT_EQ(c.subscriber_count, 3u);
  EXPECT_EQ(c.topic_subscribers.at("telemetry.>"), 1u);
  bus.stop();
}

TEST(InProcessBus, InvalidTopicsAndPatternsAreRefused) {
  InProcessBus bus;
  auto bad = bus.subscribe("telemetry.op*", [](const TelemetryEvent&) {});
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, "invalid_topic_pattern");
  EXPECT_FALSE(bus.subscribe("a.b", Handler{}).has_value());
  bus.start();
  const PublishResult r = bus.publish(event("Not A Topic"));
  EXPECT_EQ(r.status, PublishStatus::kFailed);
  EXPECT_FALSE(r.retryable);
  EXPECT_EQ(bus.counters().dropped, 1u);
}

TEST(InProcessBus, HandlerErrorsAreIsolatedCountedAndLoggedSparingly) {
  LogCollector logs;
  InProcessBus bus({.log = logs.fn()});
  Seen good;
  auto throws_std =
      bus.subscribe("telemetry.>", [](const TelemetryEvent&) { throw std::runtime_error("boom"); })
          .value();
  auto throws_int = bus.subscribe("telemetry.>", [](const TelemetryEvent&) { throw 42; }).value();
  auto ok = bus.subscribe("telemetry.>", good.handler()).value();
  bus.start();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(bus.publish(event("telemetry.x", i)), PublishResult::delivered_to(3));
  }
  ASSERT_TRUE(bus.flush());
  EXPECT_EQ(good.seqs, (std::vector<int>{0, 1, 2, 3, 4}));
  const BusCounters c = bus.counters();
  EXPECT_EQ(c.handler_errors, 10u);
  EXPECT_EQ(c.delivered, 5u);
  EXPECT_TRUE(c.last_error_at.has_value());
  EXPECT_EQ(bus.handler_errors(throws_std.id()), 5u);
  EXPECT_EQ(bus.handler_errors(throws_int.id()), 5u);
  EXPECT_EQ(bus.handler_errors(ok.id()), 0u);
  // Logged at the 1st, 2nd and 4th error of each subscription.
  EXPECT_EQ(logs.count(LogLevel::kError, "Error in handler"), 6) << logs.dump();
  EXPECT_EQ(logs.count(LogLevel::kError, "boom"), 3);
  EXPECT_EQ(logs.count(LogLevel::kError, "for event type 'telemetry.x'"), 6);
}

TEST(InProcessBus, BoundedQueueRefusesAndCountsWhenFull) {
  InProcessBus bus({.queue_capacity = 4});
  std::latch entered(1);
  std::binary_semaphore release(0);
  std::atomic<int> handled{0};
  auto sub = bus.subscribe("t.>",
                           [&](const TelemetryEvent& e) {
                             if (e.payload.value("seq", -1) == 0) {
                               entered.count_down();
                               release.acquire();
                             }
                             ++handled;
                           })
                 .value();
  bus.start();
  ASSERT_TRUE(bus.publish(event("t.a", 0)).delivered());
  entered.wait();  // the dispatcher holds event 0's slot while its handler runs
  int accepted = 0, refused = 0;
  for (int i = 1; i <= 10; ++i) {
    const PublishResult r = bus.publish(event("t.a", i));
    if (r.delivered()) {
      ++accepted;
    } else {
      EXPECT_EQ(r.status, PublishStatus::kFailed);
      EXPECT_TRUE(r.retryable);
      EXPECT_NE(r.reason.find("queue is full"), std::string::npos) << r.reason;
      ++refused;
    }
  }
  EXPECT_EQ(accepted, 3);
  EXPECT_EQ(refused, 7);
  BusCounters c = bus.counters();
  EXPECT_EQ(c.dropped, 7u);
  EXPECT_EQ(c.queue_capacity, 4u);
  release.release();
  ASSERT_TRUE(bus.flush());
  c = bus.counters();
  EXPECT_EQ(handled.load(), 4);
  EXPECT_EQ(c.published, 4u);
  EXPECT_EQ(c.delivered, 4u);
  EXPECT_EQ(c.queue_depth, 0u);
}

TEST(InProcessBus, StopDeliversEverythingAcceptedThenRefuses) {
  LogCollector logs;
  InProcessBus bus({.log = logs.fn()});
  std::atomic<int> handled{0};
  auto sub = bus.subscribe("t.a", [&](const TelemetryEvent&) { ++handled; }).value();
  bus.start();
  int accepted = 0;
  for (int i = 0; i < 5000; ++i) accepted += bus.publish(event("t.a", i)).delivered() ? 1 : 0;
  bus.stop();
  EXPECT_EQ(handled.load(), accepted);
  EXPECT_EQ(accepted, 5000);
  EXPECT_FALSE(bus.is_running());
  EXPECT_EQ(bus.publish(event("t.a")).status, PublishStatus::kNotRunning);
  EXPECT_EQ(logs.count(LogLevel::kWarn, "not running"), 1);
  // Restartable.
  bus.start();
  EXPECT_TRUE(bus.publish(event("t.a")).delivered());
  bus.stop();
  EXPECT_EQ(handled.load(), 5001);
}

TEST(InProcessBus, UnsubscribeStopsDeliveryAndIsIdempotent) {
  InProcessBus bus;
  Seen seen;
  auto sub = bus.subscribe("t.*", seen.handler()).value();
  const SubscriptionId id = sub.id();
  EXPECT_EQ(id, 1u);
  bus.start();
  EXPECT_EQ(bus.publish(event("t.a", 1)), PublishResult::delivered_to(1));
  ASSERT_TRUE(bus.flush());
  sub.unsubscribe();
  sub.unsubscribe();
  EXPECT_FALSE(bus.unsubscribe(id));
  EXPECT_EQ(bus.publish(event("t.a", 2)), PublishResult::delivered_to(0));
  ASSERT_TRUE(bus.flush());
  EXPECT_EQ(seen.seqs, std::vector<int>{1});
  // A new subscription while running is seen by the next publish.
  auto again = bus.subscribe("t.a", seen.handler()).value();
  EXPECT_EQ(again.id(), 2u);
  EXPECT_EQ(bus.publish(event("t.a", 3)), PublishResult::delivered_to(1));
  ASSERT_TRUE(bus.flush());
  EXPECT_EQ(seen.seqs, (std::vector<int>{1, 3}));
}

TEST(InProcessBus, UnsubscribeWaitsForTheHandlerInFlight) {
  InProcessBus bus;
  std::latch entered(1);
  std::binary_semaphore release(0);
  std::atomic<bool> in_handler{false};
  auto sub = bus.subscribe("t.a",
                           [&](const TelemetryEvent&) {
                             in_handler = true;
                             entered.count_down();
                             release.acquire();
                             in_handler = false;
                           })
                 .value();
  bus.start();
  ASSERT_TRUE(bus.publish(event("t.a")).delivered());
  entered.wait();
  std::atomic<bool> returned{false};
  std::jthread unsubscriber([&] {
    sub.unsubscribe();
    returned = true;
    EXPECT_FALSE(in_handler.load()) << "unsubscribe returned while its handler still ran";
  });
  // Give a broken implementation every chance to return early.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(returned.load());
  release.release();
  unsubscriber.join();
  EXPECT_TRUE(returned.load());
}

TEST(InProcessBus, HandlersMayUnsubscribeThemselvesAndStopTheBus) {
  InProcessBus bus;
  std::atomic<int> calls{0};
  Subscription sub;
  sub = bus.subscribe("t.a",
                      [&](const TelemetryEvent&) {
                        ++calls;
                        sub.unsubscribe();  // from the dispatch thread: must not wait for itself
                      })
            .value();
  bus.start();
  ASSERT_TRUE(bus.publish(event("t.a")).delivered());
  ASSERT_TRUE(bus.flush());
  EXPECT_EQ(bus.publish(event("t.a")), PublishResult::delivered_to(0));
  ASSERT_TRUE(bus.flush());
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(bus.counters().subscriber_count, 0u);

  std::atomic<bool> flushed_inside{true};
  auto stopper = bus.subscribe("t.stop",
                               [&](const TelemetryEvent&) {
                                 flushed_inside = bus.flush();  // would wait for itself: refused
                                 bus.stop();
                               })
                     .value();
  ASSERT_TRUE(bus.publish(event("t.stop")).delivered());
  while (bus.is_running()) std::this_thread::yield();
  EXPECT_FALSE(flushed_inside.load());
  bus.stop();  // joins the thread the handler asked to stop
}

TEST(InProcessBus, ManyProducersKeepPerSourceOrder) {
  InProcessBus bus({.queue_capacity = 1024});
  constexpr int kProducers = 4;
  constexpr int kPerProducer = 20000;
  std::vector<int> next(kProducers, 0);
  std::atomic<int> out_of_order{0};
  auto sub = bus.subscribe("t.>",
                           [&](const TelemetryEvent& e) {
                             const int p = std::stoi(e.source);
                             const int seq = e.payload["seq"].get<int>();
                             if (seq != next[p]) ++out_of_order;
                             next[p] = seq + 1;
                           })
                 .value();
  bus.start();
  std::atomic<std::uint64_t> refused{0};
  {
    std::vector<std::jthread> producers;
    for (int p = 0; p < kProducers; ++p) {
      producers.emplace_back([&, p] {
        for (int i = 0; i < kPerProducer;) {
          TelemetryEvent e = event("t.p", i, std::to_string(p));
          if (bus.publish(std::move(e)).delivered()) {
            ++i;
          } else {
            ++refused;
            std::this_thread::yield();
          }
        }
      });
    }
  }
  ASSERT_TRUE(bus.flush());
  EXPECT_EQ(out_of_order.load(), 0);
  for (int p = 0; p < kProducers; ++p) EXPECT_EQ(next[p], kPerProducer);
  const BusCounters c = bus.counters();
  EXPECT_EQ(c.published, std::uint64_t{kProducers * kPerProducer});
  EXPECT_EQ(c.delivered, std::uint64_t{kProducers * kPerProducer});
  EXPECT_EQ(c.dropped, refused.load());
}

TEST(InProcessBus, SharedAndCopiedEventsArriveIntact) {
  InProcessBus bus;
  std::vector<TelemetryEvent> got;
  auto sub = bus.subscribe(">", [&](const TelemetryEvent& e) { got.push_back(e); }).value();
  bus.start();
  const TelemetryEvent original{"telemetry.ingest.health",
                                "ingest-1",
                                core::parse_rfc3339("2025-01-02T03:04:05.123456789Z").value(),
                                {{"series", "lag"}, {"value", 2.5}}};
  auto shared = std::make_shared<const TelemetryEvent>(original);
  EXPECT_EQ(bus.publish(shared), PublishResult::delivered_to(1));
  EXPECT_EQ(bus.publish(original), PublishResult::delivered_to(1));
  TelemetryEvent moved = original;
  EXPECT_EQ(bus.publish(std::move(moved)), PublishResult::delivered_to(1));
  EXPECT_EQ(bus.publish(std::shared_ptr<const TelemetryEvent>()).status, PublishStatus::kFailed);
  ASSERT_TRUE(bus.flush());
  ASSERT_EQ(got.size(), 3u);
  for (const auto& e : got) EXPECT_EQ(e, original);
}

TEST(InProcessBus, RunsUnderAnExternalStopTokenWithInjectedClock) {
  core::ManualClock clock(core::parse_rfc3339("2025-01-02T00:00:00Z").value());
  InProcessBus bus({}, clock);
  std::atomic<int> handled{0};
  auto sub = bus.subscribe("t.a", [&](const TelemetryEvent&) { ++handled; }).value();
  std::stop_source stop;
  std::jthread loop([&] { bus.run(stop.get_token()); });
  while (!bus.is_running()) std::this_thread::yield();
  EXPECT_EQ(bus.counters().started_at, clock.now());
  clock.advance(std::chrono::seconds(5));
  ASSERT_TRUE(bus.publish(event("t.a")).delivered());
  ASSERT_TRUE(bus.flush());
  const BusCounters c = bus.counters();
  EXPECT_EQ(c.last_event_at, clock.now());
  EXPECT_TRUE(c.running);
  stop.request_stop();
  loop.join();
  EXPECT_FALSE(bus.is_running());
  EXPECT_FALSE(bus.counters().started_at.has_value());
  EXPECT_EQ(handled.load(), 1);
}

}  // namespace
}  // namespace opsready::bus
