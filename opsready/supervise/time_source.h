#pragma once
// TimeSource: the supervisor's clock and timers, injectable so that backoff, shutdown timeouts
// and the runner's limits run on manual time in tests and replays.
//
//   core::ManualClock clock;
//   ManualTimeSource time(clock);                 // declare after the io_context
//   Supervisor sup(ctx.get_executor(), {.time = &time});
//   ...
//   time.run_for(ctx, std::chrono::seconds(5));   // fires every timer due in the next 5 s,
//                                                 // at its exact time, running ctx in between
//
// Tasks that wait should wait through the same source (`co_await sleep_for(time, 1s)`), so a
// test drives them too. SystemTimeSource is the production implementation (asio::steady_timer
// for waits, core::SystemClock for timestamps).
//
// Thread-safety: now() and monotonic_now() may be called from any thread. schedule() and the
// returned handle's cancel() must be called on the executor the timer was scheduled on (as for
// any asio I/O object). ManualTimeSource is internally locked; like any I/O object it must be
// destroyed before the io_context its timers post to.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include "opsready/core/clock.h"

namespace asio {
class io_context;
}  // namespace asio

namespace opsready::supervise {

using core::Duration;
using core::TimePoint;

// A scheduled callback. cancel() guarantees the callback will not be invoked if it has not been
// handed to the executor yet; it is a no-op afterwards.
class Timer {
 public:
  virtual ~Timer() = default;
  virtual void cancel() = 0;
};
using TimerHandle = std::shared_ptr<Timer>;

class TimeSource {
 public:
  virtual ~TimeSource() = default;
  // Wall-clock time, for timestamps shown to people (started_at).
  [[nodiscard]] virtual TimePoint now() const = 0;
  // Monotonic time since an arbitrary epoch, for deadlines, uptimes and intensity windows
  // (SystemTimeSource: millisecond resolution).
  [[nodiscard]] virtual Duration monotonic_now() const = 0;
  // Runs `fn` on `ex` once `after` has elapsed, unless cancelled first.
  [[nodiscard]] virtual TimerHandle schedule(const asio::any_io_executor& ex, Duration after,
                                             std::function<void()> fn) = 0;
};

class SystemTimeSource final : public TimeSource {
 public:
  [[nodiscard]] TimePoint now() const override;
  [[nodiscard]] Duration monotonic_now() const override;
  [[nodiscard]] TimerHandle schedule(const asio::any_io_executor& ex, Duration after,
                                     std::function<void()> fn) override;
  // One process-wide instance, the default everywhere a TimeSource is optional.
  static SystemTimeSource& instance();
};

// Time that moves only when told to. now() and monotonic_now() both read the ManualClock (the
// monotonic epoch is the clock's epoch), so backoff and timeouts are exact and reproducible.
class ManualTimeSource final : public TimeSource {
 public:
  explicit ManualTimeSource(core::ManualClock& clock);
  ~ManualTimeSource() override;
  ManualTimeSource(const ManualTimeSource&) = delete;
  ManualTimeSource& operator=(const ManualTimeSource&) = delete;

  [[nodiscard]] TimePoint now() const override;
  [[nodiscard]] Duration monotonic_now() const override;
  [[nodiscard]] TimerHandle schedule(const asio::any_io_executor& ex, Duration after,
                                     std::function<void()> fn) override;

  // Moves time forward by `d`, posting every timer that falls due, earliest first (ties in
  // scheduling order); the clock steps to each timer's deadline before it is posted. Nothing
  // runs until the executor runs.
  void advance(Duration d);
  // Deterministic driver for one io_context: runs ready handlers, then fires the timers due in
  // the next `d` one at a time, each at its own deadline, running `ctx` after each, so timers
  // scheduled by those handlers within the window also fire on time. Ends at now + d with ctx
  // drained. run_for(ctx, 0) just drains ctx.
  void run_for(asio::io_context& ctx, Duration d);
  [[nodiscard]] std::size_t pending() const;
  [[nodiscard]] std::optional<TimePoint> next_deadline() const;

  struct Impl;

 private:
  core::ManualClock& clock_;
  std::shared_ptr<Impl> impl_;
};

// Suspends the calling coroutine for `d` on `time`. Cancellable through the coroutine's
// cancellation slot: a cancelled sleep throws asio::system_error(operation_aborted), like
// asio's own operations. `time` must outlive the sleep.
asio::awaitable<void> sleep_for(TimeSource& time, Duration d);

}  // namespace opsready::supervise
