#pragma once
// Coroutine helpers of the daemon's supervised loops (app/runtime.cc, app/drill_service.cc),
// all on the evaluation strand's io_context.

#include <exception>
#include <functional>
#include <memory>

#include <asio/awaitable.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

namespace opsready::app::coro {

inline constexpr auto kTuple = asio::experimental::as_tuple(asio::use_awaitable);

// Waits on `timer` until it fires or is cancelled; true when it fired.
inline asio::awaitable<bool> wait(asio::steady_timer& timer) {
  auto [ec] = co_await timer.async_wait(kTuple);
  co_return !ec;
}

// Runs `*job` on `executor` (a pool, or a strand of one) and waits until it has run, even if
// the calling coroutine is cancelled meanwhile: a store write or a spool replay that was
// started is never cut short, and a cancellation that arrives during it is not lost (the
// caller sees it in its cancellation state). The caller sets throw_if_cancelled(false).
// `job` points to the caller's frame local (GCC 12 mis-destroys capturing temporaries in
// co_await expressions).
struct Completion {
  explicit Completion(asio::io_context& ctx) : timer(ctx) {}
  asio::steady_timer timer;
  bool done = false;
  std::exception_ptr error;
};

template <class Executor>
asio::awaitable<void> run_to_completion(asio::io_context* ctx, Executor executor,
                                        const std::function<void()>* job) {
  auto c = std::make_shared<Completion>(*ctx);
  c->timer.expires_at(asio::steady_timer::time_point::max());
  asio::post(executor, [ctx, c, job = *job] {
    std::exception_ptr error;
    try {
      job();
    } catch (...) {
      error = std::current_exception();
    }
    asio::post(*ctx, [c, error] {
      c->done = true;
      c->error = error;
      c->timer.cancel();
    });
  });
  while (!c->done) co_await wait(c->timer);
  if (c->error) std::rethrow_exception(c->error);
}

inline asio::awaitable<bool> cancel_requested() {
  co_return (co_await asio::this_coro::cancellation_state).cancelled() !=
      asio::cancellation_type::none;
}

}  // namespace opsready::app::coro
