#include "opsready/supervise/time_source.h"

#include <ctime>
#include <map>
#include <mutex>
#include <optional>
#include <system_error>
#include <utility>

#include <asio/associated_cancellation_slot.hpp>
#include <asio/async_result.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/error.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

namespace opsready::supervise {

// ---------------------------------------------------------------------------------------------
// SystemTimeSource

namespace {

class SystemTimer final : public Timer {
 public:
  explicit SystemTimer(std::shared_ptr<asio::steady_timer> t) : timer_(std::move(t)) {}
  void cancel() override { timer_->cancel(); }

 private:
  std::shared_ptr<asio::steady_timer> timer_;
};

}  // namespace

TimePoint SystemTimeSource::now() const { return core::SystemClock::instance().now(); }

// CLOCK_MONOTONIC_COARSE (the epoch of steady_clock): a few nanoseconds instead of a few tens,
// at the resolution of the kernel tick (1-4 ms). Enough for uptimes, backoff resets and
// shutdown deadlines, and read at every task start.
Duration SystemTimeSource::monotonic_now() const {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

TimerHandle SystemTimeSource::schedule(const asio::any_io_executor& ex, Duration after,
                                       std::function<void()> fn) {
  auto timer = std::make_shared<asio::steady_timer>(ex);
  // asio saturates now() + after, so kInfinity-like durations are safe.
  timer->expires_after(std::chrono::duration_cast<asio::steady_timer::duration>(after));
  timer->async_wait([timer, fn = std::move(fn)](std::error_code ec) {
    if (!ec) fn();
  });
  return std::make_shared<SystemTimer>(std::move(timer));
}

SystemTimeSource& SystemTimeSource::instance() {
  static SystemTimeSource source;
  return source;
}

// ---------------------------------------------------------------------------------------------
// ManualTimeSource

struct ManualTimeSource::Impl {
  struct Entry {
    asio::any_io_executor ex;
    std::function<void()> fn;
  };
  using Key = std::pair<TimePoint, std::uint64_t>;  // deadline, scheduling order

  mutable std::mutex mu;
  std::map<Key, Entry> entries;
  std::uint64_t next_seq = 0;

  // Removes and returns the earliest entry due at or before `limit`.
  std::optional<std::pair<Key, Entry>> pop_due(TimePoint limit) {
    std::lock_guard lk(mu);
    if (entries.empty() || entries.begin()->first.first > limit) return std::nullopt;
    auto node = entries.extract(entries.begin());
    return std::make_pair(node.key(), std::move(node.mapped()));
  }
};

namespace {

class ManualTimer final : public Timer {
 public:
  ManualTimer(std::weak_ptr<ManualTimeSource::Impl> impl, ManualTimeSource::Impl::Key key)
      : impl_(std::move(impl)), key_(key) {}

  void cancel() override {
    auto impl = impl_.lock();
    if (!impl) return;
    std::optional<ManualTimeSource::Impl::Entry> dropped;  // destroyed after unlocking
    {
      std::lock_guard lk(impl->mu);
      auto it = impl->entries.find(key_);
      if (it == impl->entries.end()) return;
      dropped = std::move(it->second);
      impl->entries.erase(it);
    }
  }

 private:
  std::weak_ptr<ManualTimeSource::Impl> impl_;
  ManualTimeSource::Impl::Key key_;
};

void drain(asio::io_context& ctx) {
  ctx.restart();
  ctx.poll();
}

}  // namespace

ManualTimeSource::ManualTimeSource(core::ManualClock& clock)
    : clock_(clock), impl_(std::make_shared<Impl>()) {}

ManualTimeSource::~ManualTimeSource() {
  std::map<Impl::Key, Impl::Entry> dropped;  // destroyed after unlocking
  std::lock_guard lk(impl_->mu);
  dropped.swap(impl_->entries);
}

TimePoint ManualTimeSource::now() const { return clock_.now(); }

Duration ManualTimeSource::monotonic_now() const { return clock_.now().time_since_epoch(); }

TimerHandle ManualTimeSource::schedule(const asio::any_io_executor& ex, Duration after,
                                       std::function<void()> fn) {
  const TimePoint now = clock_.now();
  const TimePoint deadline =
      after >= TimePoint::max() - now ? TimePoint::max() : now + std::max(after, Duration::zero());
  std::lock_guard lk(impl_->mu);
  const Impl::Key key{deadline, impl_->next_seq++};
  impl_->entries.emplace(key, Impl::Entry{ex, std::move(fn)});
  return std::make_shared<ManualTimer>(impl_, key);
}

void ManualTimeSource::advance(Duration d) {
  const TimePoint target = clock_.now() + d;
  while (auto due = impl_->pop_due(target)) {
    if (due->first.first > clock_.now()) clock_.set(due->first.first);
    asio::post(due->second.ex, std::move(due->second.fn));
  }
  if (target > clock_.now()) clock_.set(target);
}

void ManualTimeSource::run_for(asio::io_context& ctx, Duration d) {
  const TimePoint target = clock_.now() + d;
  drain(ctx);
  while (auto due = impl_->pop_due(target)) {
    if (due->first.first > clock_.now()) clock_.set(due->first.first);
    asio::post(due->second.ex, std::move(due->second.fn));
    drain(ctx);
  }
  if (target > clock_.now()) clock_.set(target);
  drain(ctx);
}

std::size_t ManualTimeSource::pending() const {
  std::lock_guard lk(impl_->mu);
  return impl_->entries.size();
}

std::optional<TimePoint> ManualTimeSource::next_deadline() const {
  std::lock_guard lk(impl_->mu);
  if (impl_->entries.empty()) return std::nullopt;
  return impl_->entries.begin()->first.first;
}

// ---------------------------------------------------------------------------------------------
// sleep_for

namespace {

// One pending sleep. Owned by the timer callback (and, briefly, by a posted abort); the
// cancellation slot holds only a weak reference, so an abandoned sleep never forms a cycle.
template <typename Handler>
class SleepOp : public std::enable_shared_from_this<SleepOp<Handler>> {
 public:
  SleepOp(Handler handler, asio::any_io_executor ex)
      : handler_(std::move(handler)), ex_(std::move(ex)) {}

  void start(TimeSource& time, Duration d) {
    slot_ = asio::get_associated_cancellation_slot(*handler_);
    if (slot_.is_connected()) {
      std::weak_ptr<SleepOp> weak = this->shared_from_this();
      slot_.assign([weak](asio::cancellation_type type) {
        if (type == asio::cancellation_type::none) return;
        if (auto op = weak.lock()) op->abort();
      });
    }
    timer_ = time.schedule(ex_, d, [self = this->shared_from_this()] { self->complete({}); });
  }

 private:
  void abort() {
    if (timer_) timer_->cancel();
    // Completion always goes through the executor, never inline from emit().
    asio::post(
        ex_, [self = this->shared_from_this()] { self->complete(asio::error::operation_aborted); });
  }

  void complete(std::error_code ec) {
    if (!handler_) return;
    if (slot_.is_connected()) slot_.clear();
    timer_.reset();
    Handler h = std::move(*handler_);
    handler_.reset();
    std::move(h)(ec);
  }

  std::optional<Handler> handler_;
  asio::any_io_executor ex_;
  asio::cancellation_slot slot_;
  TimerHandle timer_;
};

}  // namespace

asio::awaitable<void> sleep_for(TimeSource& time, Duration d) {
  asio::any_io_executor ex = co_await asio::this_coro::executor;
  co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(std::error_code)>(
      [&time, d, ex](auto handler) {
        using Handler = decltype(handler);
        auto op = std::make_shared<SleepOp<Handler>>(std::move(handler), ex);
        op->start(time, d);
      },
      asio::use_awaitable);
}

}  // namespace opsready::supervise
