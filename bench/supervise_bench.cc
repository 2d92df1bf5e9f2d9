// Cost of supervision against bare asio::co_spawn, in the same binary and run.
//
//   SpawnComplete_{Bare,Supervised}/N: N tasks that complete at once (co_return) are spawned
//     from outside the loop, then the loop is polled until they have all completed. The
//     supervised version spawns temporary children of a running Supervisor. `per_task` is
//     time per task. The _OnExecutor variants spawn from a handler running on the loop (a
//     server accepting connections does this). The _Yield variants run tasks that suspend
//     once (co_await post) before completing: the least work a real task does.
//   SpawnComplete_BareCancellable_OnExecutor{,_Yield}: not a baseline of the goal but a
//     like-for-like reference: bare co_spawn through the same asio path a supervised task
//     takes (a cancellation slot bound to the completion handler, whose associated executor
//     is the io_context's own), without the supervisor's bookkeeping. Supervised minus this is
//     what the bookkeeping costs.
//   Stop_{Bare,Supervised}/N: N tasks wait on a steady_timer. Bare: emit a cancellation_signal
//     per task and poll until all completed. Supervised: async_stop() and poll until the
//     supervisor reports stopped. It stops children one at a time in reverse start order, each
//     within its shutdown timeout. Set-up and tear-down are not timed.
//
// Run from a release build; figures and analysis in docs/supervision.md#performance:
//   build/release/bench/supervise_bench --benchmark_repetitions=10
//     --benchmark_enable_random_interleaving=true   (one command line)

#include <benchmark/benchmark.h>

#include <exception>
#include <memory>
#include <vector>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "opsready/supervise/supervisor.h"

namespace {

using opsready::supervise::ChildSpec;
using opsready::supervise::Restart;
using opsready::supervise::StopReport;
using opsready::supervise::Supervisor;
using opsready::supervise::SupervisorOptions;

asio::awaitable<void> noop() { co_return; }

asio::awaitable<void> yield_once() {
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
}

asio::awaitable<void> wait_an_hour() {
  asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::hours(1));
  co_await t.async_wait(asio::use_awaitable);
}

SupervisorOptions quiet_options() {
  SupervisorOptions o;
  o.name = "bench";
  o.seed = 1;
  o.log = [](opsready::supervise::LogLevel, std::string_view) {};
  return o;
}

// The completion handler of BareCancellable: completes through the io_context's executor, as
// the supervisor's exit handler does.
struct CancellableDone {
  using executor_type = asio::io_context::executor_type;
  executor_type ex;
  [[nodiscard]] executor_type get_executor() const noexcept { return ex; }
  void operator()(const std::exception_ptr& /*e*/) const {}
};

void drain(asio::io_context& ctx) {
  ctx.restart();
  ctx.poll();
}

void per_task(benchmark::State& state, std::int64_t n) {
  state.counters["per_task"] =
      benchmark::Counter(static_cast<double>(state.iterations() * n),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void SpawnComplete_Bare(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  asio::io_context ctx(1);
  for (auto _ : state) {
    for (std::int64_t i = 0; i < n; ++i) asio::co_spawn(ctx, noop(), asio::detached);
    drain(ctx);
  }
  per_task(state, n);
}

void SpawnComplete_Supervised(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  asio::io_context ctx(1);
  Supervisor sup(ctx.get_executor(), quiet_options());
  sup.start();
  drain(ctx);
  for (auto _ : state) {
    for (std::int64_t i = 0; i < n; ++i) {
      auto ok = sup.spawn({.name = "t", .restart = Restart::kTemporary}, [] { return noop(); });
      benchmark::DoNotOptimize(ok);
    }
    drain(ctx);
  }
  if (!sup.describe().tasks.empty()) state.SkipWithError("tasks left behind");
  per_task(state, n);
}

void SpawnComplete_Bare_OnExecutor(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  asio::io_context ctx(1);
  for (auto _ : state) {
    asio::post(ctx, [&] {
      for (std::int64_t i = 0; i < n; ++i) asio::co_spawn(ctx, noop(), asio::detached);
    });
    drain(ctx);
  }
  per_task(state, n);
}

void SpawnComplete_Supervised_OnExecutor(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  asio::io_context ctx(1);
  Supervisor sup(ctx.get_executor(), quiet_options());
  sup.start();
  drain(ctx);
  for (auto _ : state) {
    asio::post(ctx, [&] {
      for (std::int64_t i = 0; i < n; ++i) {
        auto ok = sup.spawn({.name = "t", .restart = Restart::kTemporary}, [] { return noop(); });
        benchmark::DoNotOptimize(ok);
      }
    });
    drain(ctx);
  }
  if (!sup.describe().tasks.empty()) state.SkipWithError("tasks left behind");
  per_task(state, n);
}

void SpawnComplete_Bare_OnExecutor_Yield(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  asio::io_context ctx(1);
  for (auto _ : state) {
    asio::post(ctx, [&] {
      for (std::int64_t i = 0; i < n; ++i) asio::co_spawn(ctx, yield_once(), asio::detached);
    });
    drain(ctx);
  }
  per_task(state, n);
}

void SpawnComplete_Supervised_OnExecutor_Yield(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  asio::io_context ctx(1);
  Supervisor sup(ctx.get_executor(), quiet_options());
  sup.start();
  drain(ctx);
  for (auto _ : state) {
    asio::post(ctx, [&] {
      for (std::int64_t i = 0; i < n; ++i) {
        auto ok =
            sup.spawn({.name = "t", .restart = Restart::kTemporary}, [] { return yield_once(); });
        benchmark::DoNotOptimize(ok);
      }
    });
    drain(ctx);
  }
  if (!sup.describe().tasks.empty()) state.SkipWithError("tasks left behind");
  per_task(state, n);
}

template <asio::awaitable<void> (*Task)()>
void SpawnComplete_BareCancellable_OnExecutor_T(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  asio::io_context ctx(1);
  auto signals = std::make_unique<asio::cancellation_signal[]>(static_cast<std::size_t>(n));
  for (auto _ : state) {
    asio::post(ctx, [&] {
      for (std::int64_t i = 0; i < n; ++i) {
        asio::co_spawn(ctx, Task(),
                       asio::bind_cancellation_slot(signals[static_cast<std::size_t>(i)].slot(),
                                                    CancellableDone{ctx.get_executor()}));
      }
    });
    drain(ctx);
  }
  per_task(state, n);
}

void SpawnComplete_BareCancellable_OnExecutor(benchmark::State& state) {
  SpawnComplete_BareCancellable_OnExecutor_T<noop>(state);
}

void SpawnComplete_BareCancellable_OnExecutor_Yield(benchmark::State& state) {
  SpawnComplete_BareCancellable_OnExecutor_T<yield_once>(state);
}

void Stop_Bare(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  for (auto _ : state) {
    state.PauseTiming();
    {
      asio::io_context ctx(1);
      std::vector<std::unique_ptr<asio::cancellation_signal>> signals;
      signals.reserve(static_cast<std::size_t>(n));
      for (std::int64_t i = 0; i < n; ++i) {
        signals.push_back(std::make_unique<asio::cancellation_signal>());
        asio::co_spawn(ctx, wait_an_hour(),
                       asio::bind_cancellation_slot(signals.back()->slot(), asio::detached));
      }
      drain(ctx);
      state.ResumeTiming();
      for (auto& s : signals) s->emit(asio::cancellation_type::terminal);
      drain(ctx);
      state.PauseTiming();
    }
    state.ResumeTiming();
  }
  per_task(state, n);
}

void Stop_Supervised(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  for (auto _ : state) {
    state.PauseTiming();
    {
      asio::io_context ctx(1);
      Supervisor sup(ctx.get_executor(), quiet_options());
      for (std::int64_t i = 0; i < n; ++i) {
        auto ok = sup.spawn(ChildSpec{.name = "t"}, [] { return wait_an_hour(); });
        benchmark::DoNotOptimize(ok);
      }
      sup.start();
      drain(ctx);
      bool stopped = false;
      state.ResumeTiming();
      sup.async_stop([&](const StopReport&) { stopped = true; });
      drain(ctx);
      state.PauseTiming();
      if (!stopped) state.SkipWithError("supervisor did not stop");
    }
    state.ResumeTiming();
  }
  per_task(state, n);
}

}  // namespace

BENCHMARK(SpawnComplete_Bare)->Arg(1000);
BENCHMARK(SpawnComplete_Supervised)->Arg(1000);
BENCHMARK(SpawnComplete_Bare_OnExecutor)->Arg(1000);
BENCHMARK(SpawnComplete_Supervised_OnExecutor)->Arg(1000);
BENCHMARK(SpawnComplete_Bare_OnExecutor_Yield)->Arg(1000);
BENCHMARK(SpawnComplete_Supervised_OnExecutor_Yield)->Arg(1000);
BENCHMARK(SpawnComplete_BareCancellable_OnExecutor)->Arg(1000);
BENCHMARK(SpawnComplete_BareCancellable_OnExecutor_Yield)->Arg(1000);
BENCHMARK(Stop_Bare)->Arg(100000)->Iterations(10)->Unit(benchmark::kMillisecond);
BENCHMARK(Stop_Supervised)->Arg(100000)->Iterations(10)->Unit(benchmark::kMillisecond);
