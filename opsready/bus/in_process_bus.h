#pragma once
// InProcessBus: topic subscriptions with NATS-style wildcards, a bounded lock-free queue and
// one dispatch thread. The bus of a single-machine opsready and of an embedding runtime.
//
//   InProcessBus bus({.queue_capacity = 65536, .log = my_log});
//   auto sub = bus.subscribe("telemetry.operational.*",
//                            [](const core::TelemetryEvent& e) { ... }).value();
//   bus.start();                                   // or run(stop_token) under a supervisor
//   PublishResult r = bus.publish(std::move(event));   // any thread; never blocks
//   bus.stop();                                    // refuses new events, delivers queued ones
//
// Publishing (any thread) counts the subscribers whose pattern matches (cached per topic and
// per thread, so a steady stream pays a string compare), claims a ring slot with one CAS and
// moves the event in. When the ring is full the event is refused (kFailed, retryable) and
// counted as dropped: publish never blocks a producer. The dispatch thread drains the ring in
// batches and calls each matching handler in subscription order. Its own route cache maps a
// topic to its handlers, rebuilt only when subscriptions change.
//
// Handler exceptions are caught, counted (handler_errors, per subscription too) and logged at
// the 1st, 2nd, 4th, 8th... error of each subscription. They never reach the publisher or
// other handlers.
//
// Lifecycle (rationale): the dispatch loop is a plain blocking function, run(stop_token), so it
// can run under the TaskSupervisor like every other loop. start()/stop() run it on a thread the
// bus owns, for embedders without one. A stopping bus refuses new events (kNotRunning, counted
// as dropped, warned once per stop) and delivers every event it already accepted before run()
// returns. Nothing accepted is abandoned.
//
// Unsubscribing (Subscription's destructor or unsubscribe()) from a thread other than the
// dispatch thread waits until the dispatcher no longer uses the handler, so a handler may
// safely capture references to objects destroyed right after unsubscribing. From inside a
// handler it takes effect from the next event. Handlers must not block indefinitely.
//
// Thread-safety: every public member may be called from any thread, except that stop() and
// flush() called from inside a handler do not wait (they would wait for themselves).

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "opsready/bus/event_bus.h"
#include "opsready/bus/mpsc_ring.h"
#include "opsready/core/clock.h"
#include "opsready/core/error.h"

namespace opsready::bus {

namespace detail {
class SubscriptionRegistry;
struct SubscriptionEntry;
struct SubscriptionTable;
}  // namespace detail

using SubscriptionId = std::uint64_t;

// Owning handle of one subscription: unsubscribes when destroyed. Move-only. Safe to outlive
// the bus (it then does nothing).
class Subscription {
 public:
  Subscription() = default;
  Subscription(Subscription&& other) noexcept;
  Subscription& operator=(Subscription&& other) noexcept;
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  ~Subscription();

  // Monotonic from 1 per bus; 0 for an empty handle.
  [[nodiscard]] SubscriptionId id() const { return id_; }
  // Idempotent.
  void unsubscribe();
  // Keeps the subscription for the bus's lifetime and empties the handle.
  SubscriptionId release();

 private:
  friend class InProcessBus;
  Subscription(std::weak_ptr<detail::SubscriptionRegistry> registry, SubscriptionId id)
      : registry_(std::move(registry)), id_(id) {}

  std::weak_ptr<detail::SubscriptionRegistry> registry_;
  SubscriptionId id_ = 0;
};

struct InProcessBusOptions {
  std::string name = "in_process";
  // Rounded up to a power of two. Each slot holds one event (about 120 bytes plus the event's
  // own heap data while queued).
  std::size_t queue_capacity = 65536;
  // Events dispatched between two looks at the stop token and two counter publications.
  std::size_t dispatch_batch = 512;
  LogFn log;
};

class InProcessBus final : public EventBus {
 public:
  explicit InProcessBus(InProcessBusOptions options = {},
                        const core::Clock& clock = core::SystemClock::instance());
  // Stops the owned dispatch thread (delivering what is queued) if start() was used. A bus
  // driven by run() must have been stopped by its owner before it is destroyed.
  ~InProcessBus() override;
  InProcessBus(const InProcessBus&) = delete;
  InProcessBus& operator=(const InProcessBus&) = delete;

  [[nodiscard]] std::string_view name() const override { return options_.name; }
  [[nodiscard]] bool is_running() const override;
  using EventBus::publish;
  // Copies the event into the queue; `message_id` is not used in-process.
  [[nodiscard]] PublishResult publish(const core::TelemetryEvent& event,
                                      std::string_view message_id) override;
  // Moves the event into the queue: the cheapest way in for a producer that is done with it.
  [[nodiscard]] PublishResult publish(core::TelemetryEvent&& event);
  // Shares an immutable event (no copy), e.g. one event handed to several buses.
  [[nodiscard]] PublishResult publish(std::shared_ptr<const core::TelemetryEvent> event);
  [[nodiscard]] BusCounters counters() const override;

  // `pattern` is a TopicPattern ("telemetry.operational.*"); an invalid one is refused with
  // code `invalid_topic_pattern`. Each call is its own subscription, even for the same handler.
  [[nodiscard]] core::Result<Subscription> subscribe(std::string_view pattern, Handler handler);
  // Idempotent; false when `id` was not subscribed.
  bool unsubscribe(SubscriptionId id);
  // Errors thrown by one subscription's handler so far (0 for an unknown id).
  [[nodiscard]] std::uint64_t handler_errors(SubscriptionId id) const;

  // Runs the dispatch loop on a thread owned by the bus. No-op when already running.
  void start();
  // Stops the owned thread after it has delivered every accepted event. No-op when not started.
  void stop();
  // The dispatch loop itself, for a supervisor: accepts events while it runs, returns once
  // `stop` is requested and every accepted event was delivered. One run() at a time; a second
  // concurrent call returns at once and logs an error.
  void run(std::stop_token stop);

  // Waits until every event accepted before the call has been handed to its handlers. Returns
  // false without waiting when no dispatch loop runs or when called from a handler.
  bool flush();

 private:
  struct Envelope {
    std::optional<core::TelemetryEvent> owned;
    std::shared_ptr<const core::TelemetryEvent> shared;
    bool tombstone = false;  // slot claimed while the bus was stopping: nothing to deliver

    [[nodiscard]] const core::TelemetryEvent* get() const { return owned ? &*owned : shared.get(); }
    void reset() {
      owned.reset();
      shared.reset();
      tombstone = false;
    }
  };
  using Route = std::vector<detail::SubscriptionEntry*>;

  template <typename Fill>
  PublishResult enqueue(std::string_view topic, Fill&& fill);
  PublishResult refuse_not_running();
  void dispatch_loop(std::stop_token stop);  // dispatching_ already claimed
  void wake_dispatcher();
  std::size_t dispatch_batch(std::size_t max);
  void deliver(const core::TelemetryEvent& event);
  const Route& route_for(const std::string& topic);
  void refresh_table();
  void handler_failed(detail::SubscriptionEntry& entry, const core::TelemetryEvent& event,
                      const char* what);
  void idle_wait(const std::stop_token& stop);
  void notify_flushers();
  [[nodiscard]] bool on_dispatch_thread() const;

  InProcessBusOptions options_;
  const core::Clock& clock_;
  std::shared_ptr<detail::SubscriptionRegistry> registry_;
  MpscRing<Envelope> ring_;

  std::atomic<bool> accepting_{false};
  std::atomic<bool> dispatching_{false};
  std::atomic<bool> dispatcher_sleeping_{false};
  std::atomic<bool> warned_not_running_{false};
  std::atomic<std::thread::id> dispatch_thread_{};
  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  std::atomic<int> flush_waiters_{0};
  std::mutex flush_mu_;
  std::condition_variable flush_cv_;

  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> tombstones_{0};
  std::atomic<std::uint64_t> handler_errors_{0};
  std::atomic<std::uint64_t> delivered_{0};
  static constexpr std::int64_t kNoTime = INT64_MIN;
  std::atomic<std::int64_t> last_event_ns_{kNoTime};
  std::atomic<std::int64_t> last_error_ns_{kNoTime};
  std::atomic<std::int64_t> started_ns_{kNoTime};

  // Dispatch-thread state.
  std::uint64_t delivered_local_ = 0;
  std::shared_ptr<const detail::SubscriptionTable> table_;
  std::uint64_t table_generation_ = 0;
  bool active_published_ = false;
  std::unordered_map<std::string, Route> routes_;
  std::string last_topic_;
  const Route* last_route_ = nullptr;

  std::mutex lifecycle_mu_;
  std::jthread thread_;
};

}  // namespace opsready::bus
