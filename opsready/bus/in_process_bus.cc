#include "opsready/bus/in_process_bus.h"

#include <array>
#include <bit>
#include <exception>
#include <functional>
#include <limits>
#include <utility>

#include "opsready/core/text.h"
#include "opsready/core/topic_pattern.h"

namespace opsready::bus {
namespace detail {

struct SubscriptionEntry {
  SubscriptionEntry(SubscriptionId i, core::TopicPattern p, Handler h)
      : id(i), pattern(std::move(p)), handler(std::move(h)) {}
  const SubscriptionId id;
  const core::TopicPattern pattern;
  const Handler handler;
  std::atomic<std::uint64_t> errors{0};
};

// Immutable once published: the dispatcher keeps one alive while it uses its handlers.
struct SubscriptionTable {
  std::uint64_t generation = 0;
  std::vector<std::shared_ptr<SubscriptionEntry>> entries;  // by id: fan-out order
};

// The subscriptions of one bus. Writers (subscribe/unsubscribe) take the mutex and publish a
// new table with a higher generation. Publishers count matches through a per-thread memo keyed
// by (registry, generation, topic). The dispatcher announces which generation it is using so
// that remove() can wait until a removed handler can no longer be called.
class SubscriptionRegistry {
 public:
  static constexpr std::uint64_t kEntering = 0;  // dispatching, generation not announced yet
  static constexpr std::uint64_t kIdle = std::numeric_limits<std::uint64_t>::max();

  explicit SubscriptionRegistry(std::atomic<std::thread::id>* dispatch_thread)
      : uid_(next_uid_.fetch_add(1, std::memory_order_relaxed)),
        dispatch_thread_(dispatch_thread),
        table_(std::make_shared<SubscriptionTable>(SubscriptionTable{1, {}})) {}

  core::Result<SubscriptionId> add(std::string_view pattern, Handler handler) {
    auto parsed = core::TopicPattern::parse(pattern);
    if (!parsed) return std::unexpected(parsed.error());
    if (!handler) return core::fail("invalid_handler", "a subscription needs a handler");
    std::lock_guard lock(mu_);
    const SubscriptionId id = next_id_++;
    auto table = std::make_shared<SubscriptionTable>(*table_);
    table->entries.push_back(
        std::make_shared<SubscriptionEntry>(id, std::move(*parsed), std::move(handler)));
    publish_locked(std::move(table));
    return id;
  }

  bool remove(SubscriptionId id) {
    std::uint64_t generation = 0;
    {
      std::lock_guard lock(mu_);
      auto table = std::make_shared<SubscriptionTable>(*table_);
      const auto before = table->entries.size();
      std::erase_if(table->entries, [id](const auto& e) { return e->id == id; });
      if (table->entries.size() == before) return false;
      generation = publish_locked(std::move(table));
    }
    if (dispatch_thread_->load() != std::this_thread::get_id()) wait_until_unused(generation);
    return true;
  }

  // Number of subscriptions matching `topic`, or -1 when it is not a valid topic. Any thread.
  int count_matches(std::string_view topic) {
    struct Memo {
      std::uint64_t uid = 0;
      std::uint64_t generation = 0;
      std::string topic;
      int count = 0;
    };
    struct ThreadMemo {
      Memo last;
      std::array<Memo, 64> slots;
    };
    thread_local ThreadMemo memo;

    const std::uint64_t generation = generation_.load(std::memory_order_acquire);
    if (memo.last.uid == uid_ && memo.last.generation == generation && memo.last.topic == topic) {
      return memo.last.count;
    }
    Memo& slot = memo.slots[std::hash<std::string_view>{}(topic) & (memo.slots.size() - 1)];
    if (slot.uid != uid_ || slot.generation != generation || slot.topic != topic) {
      slot.count = count_locked(topic);
      slot.uid = uid_;
      slot.generation = generation;
      slot.topic.assign(topic);
    }
    memo.last = slot;
    return slot.count;
  }

  [[nodiscard]] std::shared_ptr<const SubscriptionTable> table() const {
    std::lock_guard lock(mu_);
    return table_;
  }
  [[nodiscard]] std::uint64_t generation() const {
    return generation_.load(std::memory_order_seq_cst);
  }
  [[nodiscard]] std::uint64_t errors(SubscriptionId id) const {
    std::lock_guard lock(mu_);
    for (const auto& e : table_->entries) {
      if (e->id == id) return e->errors.load(std::memory_order_relaxed);
    }
    return 0;
  }

  // Dispatcher protocol. enter() before reading generation() for a batch, announce(g) once
  // the handlers of generation g are the ones in use, leave() after the batch.
  void enter() { active_.store(kEntering, std::memory_order_seq_cst); }
  void announce(std::uint64_t generation) { active_.store(generation, std::memory_order_release); }
  void leave() { active_.store(kIdle, std::memory_order_release); }

 private:
  std::uint64_t publish_locked(std::shared_ptr<SubscriptionTable> table) {
    const std::uint64_t generation = table_->generation + 1;
    table->generation = generation;
    table_ = std::move(table);
    counts_.clear();
    generation_.store(generation, std::memory_order_seq_cst);
    return generation;
  }

  int count_locked(std::string_view topic) {
    std::lock_guard lock(mu_);
    const std::string key(topic);
    if (auto it = counts_.find(key); it != counts_.end()) return it->second;
    int count = -1;
    if (core::is_valid_topic(topic)) {
      count = 0;
      for (const auto& e : table_->entries) count += e->pattern.matches(topic) ? 1 : 0;
    }
    if (counts_.size() >= kMaxCachedCounts) counts_.clear();
    counts_.emplace(key, count);
    return count;
  }

  // The dispatcher stored kEntering (seq_cst) before loading the generation, and we stored the
  // generation (seq_cst) before loading active_: either it sees our table, or we see it busy
  // and wait for it to move to our generation or to go idle.
  void wait_until_unused(std::uint64_t generation) const {
    while (true) {
      const std::uint64_t active = active_.load(std::memory_order_seq_cst);
      if (active == kIdle || (active != kEntering && active >= generation)) return;
      std::this_thread::yield();
    }
  }

  static constexpr std::size_t kMaxCachedCounts = 4096;
  static inline std::atomic<std::uint64_t> next_uid_{1};

  const std::uint64_t uid_;
  std::atomic<std::thread::id>* dispatch_thread_;
  mutable std::mutex mu_;
  std::shared_ptr<const SubscriptionTable> table_;
  SubscriptionId next_id_ = 1;
  std::unordered_map<std::string, int> counts_;
  std::atomic<std::uint64_t> generation_{1};
  std::atomic<std::uint64_t> active_{kIdle};
};

}  // namespace detail

// ---- Subscription ----------------------------------------------------------------------------

Subscription::Subscription(Subscription&& other) noexcept
    : registry_(std::move(other.registry_)), id_(std::exchange(other.id_, 0)) {}

Subscription& Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    unsubscribe();
    registry_ = std::move(other.registry_);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

Subscription::~Subscription() { unsubscribe(); }

void Subscription::unsubscribe() {
  if (id_ == 0) return;
  if (auto registry = registry_.lock()) registry->remove(id_);
  registry_.reset();
  id_ = 0;
}

SubscriptionId Subscription::release() {
  registry_.reset();
  return std::exchange(id_, 0);
}

// ---- InProcessBus ----------------------------------------------------------------------------

namespace {

std::int64_t to_ns(core::TimePoint t) { return t.time_since_epoch().count(); }

std::optional<core::TimePoint> from_ns(std::int64_t ns, std::int64_t none) {
  if (ns == none) return std::nullopt;
  return core::TimePoint(core::Duration(ns));
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace

InProcessBus::InProcessBus(InProcessBusOptions options, const core::Clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      registry_(std::make_shared<detail::SubscriptionRegistry>(&dispatch_thread_)),
      ring_(options_.queue_capacity) {
  if (options_.dispatch_batch == 0) options_.dispatch_batch = 1;
}

InProcessBus::~InProcessBus() { stop(); }

bool InProcessBus::is_running() const { return accepting_.load(std::memory_order_acquire); }

PublishResult InProcessBus::refuse_not_running() {
  dropped_.fetch_add(1, std::memory_order_relaxed);
  if (!warned_not_running_.exchange(true, std::memory_order_relaxed)) {
    log_to(options_.log, LogLevel::kWarn,
           "event bus '" + options_.name + "' is not running; event dropped");
  }
  return PublishResult::not_running("event bus '" + options_.name + "' is not running");
}

template <typename Fill>
PublishResult InProcessBus::enqueue(std::string_view topic, Fill&& fill) {
  if (!accepting_.load(std::memory_order_acquire)) return refuse_not_running();
  const int subscribers = registry_->count_matches(topic);
  if (subscribers < 0) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return PublishResult::failed("'" + std::string(topic) + "' is not a topic", false);
  }
  bool accepted = false;
  const bool claimed = ring_.try_push_with([&](Envelope& slot) {
    // Checked again after the claim: stop() stores accepting_=false and then reads the tail,
    // so a claim it did not see is one that sees accepting_=false here.
    if (accepting_.load(std::memory_order_seq_cst)) {
      fill(slot);
      accepted = true;
    } else {
      slot.tombstone = true;
    }
  });
  if (!claimed) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return PublishResult::failed("event bus '" + options_.name + "' queue is full (" +
                                     std::to_string(ring_.capacity()) + " events)",
                                 true);
  }
  if (dispatcher_sleeping_.load(std::memory_order_seq_cst)) wake_dispatcher();
  if (!accepted) {
    tombstones_.fetch_add(1, std::memory_order_relaxed);
    return refuse_not_running();
  }
  return PublishResult::delivered_to(static_cast<std::size_t>(subscribers));
}

PublishResult InProcessBus::publish(const core::TelemetryEvent& event, std::string_view) {
  return enqueue(event.topic, [&](Envelope& slot) { slot.owned.emplace(event); });
}

PublishResult InProcessBus::publish(core::TelemetryEvent&& event) {
  const std::string& topic = event.topic;
  return enqueue(topic, [&](Envelope& slot) { slot.owned.emplace(std::move(event)); });
}

PublishResult InProcessBus::publish(std::shared_ptr<const core::TelemetryEvent> event) {
  if (!event) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return PublishResult::failed("null event", false);
  }
  const std::string& topic = event->topic;
  return enqueue(topic, [&](Envelope& slot) { slot.shared = std::move(event); });
}

core::Result<Subscription> InProcessBus::subscribe(std::string_view pattern, Handler handler) {
  auto id = registry_->add(pattern, std::move(handler));
  if (!id) return std::unexpected(id.error());
  return Subscription(registry_, *id);
}

bool InProcessBus::unsubscribe(SubscriptionId id) { return registry_->remove(id); }

std::uint64_t InProcessBus::handler_errors(SubscriptionId id) const {
  return registry_->errors(id);
}

BusCounters InProcessBus::counters() const {
  BusCounters c;
  c.running = is_running();
  const std::uint64_t tail = ring_.tail();
  const std::uint64_t head = ring_.published_head();
  c.published = tail - tombstones_.load(std::memory_order_relaxed);
  c.delivered = delivered_.load(std::memory_order_relaxed);
  c.dropped = dropped_.load(std::memory_order_relaxed);
  c.handler_errors = handler_errors_.load(std::memory_order_relaxed);
  c.queue_depth = tail > head ? static_cast<std::size_t>(tail - head) : 0;
  c.queue_capacity = ring_.capacity();
  const auto table = registry_->table();
  c.subscriber_count = table->entries.size();
  for (const auto& e : table->entries) ++c.topic_subscribers[e->pattern.text()];
  c.last_event_at = from_ns(last_event_ns_.load(std::memory_order_relaxed), kNoTime);
  c.last_error_at = from_ns(last_error_ns_.load(std::memory_order_relaxed), kNoTime);
  c.started_at = from_ns(started_ns_.load(std::memory_order_relaxed), kNoTime);
  return c;
}

void InProcessBus::start() {
  std::lock_guard lock(lifecycle_mu_);
  if (thread_.joinable()) return;
  warned_not_running_.store(false, std::memory_order_relaxed);
  started_ns_.store(to_ns(clock_.now()), std::memory_order_relaxed);
  // Accept from the moment start() returns, not from the moment the thread is scheduled.
  accepting_.store(true, std::memory_order_seq_cst);
  if (dispatching_.exchange(true)) {
    log_to(options_.log, LogLevel::kError,
           "event bus '" + options_.name + "': start() while run() is already running");
    return;
  }
  // dispatching_ is claimed here, so flush() right after start() waits for the new thread.
  thread_ = std::jthread([this](std::stop_token stop) { dispatch_loop(std::move(stop)); });
}

void InProcessBus::stop() {
  std::lock_guard lock(lifecycle_mu_);
  if (!thread_.joinable()) return;
  thread_.request_stop();
  if (on_dispatch_thread()) return;  // from a handler: the loop ends after this batch
  thread_.join();
  thread_ = std::jthread();
}

bool InProcessBus::on_dispatch_thread() const {
  return dispatch_thread_.load() == std::this_thread::get_id();
}

void InProcessBus::run(std::stop_token stop) {
  if (dispatching_.exchange(true)) {
    log_to(options_.log, LogLevel::kError,
           "event bus '" + options_.name + "': run() called while already running");
    return;
  }
  dispatch_loop(std::move(stop));
}

void InProcessBus::dispatch_loop(std::stop_token stop) {
  dispatch_thread_.store(std::this_thread::get_id());
  if (!accepting_.load(std::memory_order_seq_cst)) {
    warned_not_running_.store(false, std::memory_order_relaxed);
    started_ns_.store(to_ns(clock_.now()), std::memory_order_relaxed);
    accepting_.store(true, std::memory_order_seq_cst);
  }
  {
    std::stop_callback on_stop(stop, [this] { wake_dispatcher(); });
    while (!stop.stop_requested()) {
      if (dispatch_batch(options_.dispatch_batch) == 0) idle_wait(stop);
    }
  }
  // Refuse new events, then deliver everything claimed before the refusal became visible:
  // every slot below the tail read after the store is either an accepted event or a
  // tombstone, and producers publish a claimed slot promptly.
  accepting_.store(false, std::memory_order_seq_cst);
  const std::uint64_t end = ring_.tail();
  while (ring_.head() < end) {
    // A producer between its claim and its publish may be descheduled: let it run.
    if (dispatch_batch(options_.dispatch_batch) == 0) std::this_thread::yield();
  }
  started_ns_.store(kNoTime, std::memory_order_relaxed);
  dispatch_thread_.store(std::thread::id());
  dispatching_.store(false, std::memory_order_seq_cst);
  notify_flushers();
}

void InProcessBus::wake_dispatcher() {
  { std::lock_guard lock(wake_mu_); }
  wake_cv_.notify_one();
}

void InProcessBus::idle_wait(const std::stop_token& stop) {
  // Spin briefly: under load the next event is a few hundred nanoseconds away, and a futex
  // round trip costs microseconds on both sides.
  for (int i = 0; i < 256; ++i) {
    if (ring_.tail() != ring_.head()) return;
    cpu_relax();
  }
  for (int i = 0; i < 4; ++i) {
    std::this_thread::yield();
    if (ring_.tail() != ring_.head()) return;
  }
  std::unique_lock lock(wake_mu_);
  dispatcher_sleeping_.store(true, std::memory_order_seq_cst);
  // Dekker with the producer: it claims (seq_cst CAS on the tail) then reads the flag; we set
  // the flag then read the tail. One of us sees the other.
  wake_cv_.wait(lock, [&] { return ring_.tail() != ring_.head() || stop.stop_requested(); });
  dispatcher_sleeping_.store(false, std::memory_order_relaxed);
}

std::size_t InProcessBus::dispatch_batch(std::size_t max) {
  std::size_t n = 0;
  while (n < max) {
    Envelope* envelope = ring_.front();
    if (envelope == nullptr) break;
    if (n == 0) {
      registry_->enter();
      active_published_ = false;
    }
    if (!envelope->tombstone) deliver(*envelope->get());
    envelope->reset();
    ring_.pop();
    ++n;
  }
  if (n > 0) {
    registry_->leave();
    delivered_.store(delivered_local_, std::memory_order_relaxed);
    last_event_ns_.store(to_ns(clock_.now()), std::memory_order_relaxed);
    ring_.publish_head();
    notify_flushers();
  }
  return n;
}

void InProcessBus::refresh_table() {
  table_ = registry_->table();
  table_generation_ = table_->generation;
  routes_.clear();
  last_route_ = nullptr;
}

void InProcessBus::deliver(const core::TelemetryEvent& event) {
  if (registry_->generation() != table_generation_) {
    refresh_table();
    active_published_ = false;
  }
  if (!active_published_) {
    registry_->announce(table_generation_);
    active_published_ = true;
  }
  for (detail::SubscriptionEntry* entry : route_for(event.topic)) {
    try {
      entry->handler(event);
      ++delivered_local_;
    } catch (const std::exception& e) {
      handler_failed(*entry, event, e.what());
    } catch (...) {
      handler_failed(*entry, event, "an exception not derived from std::exception");
    }
  }
}

const InProcessBus::Route& InProcessBus::route_for(const std::string& topic) {
  if (last_route_ != nullptr && topic == last_topic_) return *last_route_;
  auto it = routes_.find(topic);
  if (it == routes_.end()) {
    if (routes_.size() >= 4096) routes_.clear();  // bound memory against unbounded topics
    Route route;
    for (const auto& entry : table_->entries) {
      if (entry->pattern.matches(topic)) route.push_back(entry.get());
    }
    it = routes_.emplace(topic, std::move(route)).first;
  }
  last_topic_ = topic;
  last_route_ = &it->second;
  return it->second;
}

void InProcessBus::handler_failed(detail::SubscriptionEntry& entry,
                                  const core::TelemetryEvent& event, const char* what) {
  handler_errors_.fetch_add(1, std::memory_order_relaxed);
  last_error_ns_.store(to_ns(clock_.now()), std::memory_order_relaxed);
  const std::uint64_t n = entry.errors.fetch_add(1, std::memory_order_relaxed) + 1;
  if (std::has_single_bit(n)) {  // 1st, 2nd, 4th, 8th...: visible, never a flood
    log_to(options_.log, LogLevel::kError,
           "Error in handler #" + std::to_string(entry.id) + " ('" + entry.pattern.text() +
               "') for event type '" + event.topic + "': " + what + " (" + std::to_string(n) +
               (n == 1 ? " error" : " errors") + " so far)");
  }
}

void InProcessBus::notify_flushers() {
  if (flush_waiters_.load(std::memory_order_seq_cst) == 0) return;
  { std::lock_guard lock(flush_mu_); }
  flush_cv_.notify_all();
}

bool InProcessBus::flush() {
  if (!dispatching_.load(std::memory_order_seq_cst) || on_dispatch_thread()) return false;
  const std::uint64_t target = ring_.tail();
  flush_waiters_.fetch_add(1, std::memory_order_seq_cst);
  bool done = false;
  {
    std::unique_lock lock(flush_mu_);
    flush_cv_.wait(lock, [&] {
      return ring_.published_head() >= target || !dispatching_.load(std::memory_order_seq_cst);
    });
    done = ring_.published_head() >= target;
  }
  flush_waiters_.fetch_sub(1, std::memory_order_seq_cst);
  return done;
}

}  // namespace opsready::bus
