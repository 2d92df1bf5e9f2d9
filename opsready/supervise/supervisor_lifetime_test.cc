// Lifetime and threading of the supervisor's spawn/exit path: records are recycled and handlers
// hold raw pointers kept valid by pins, so these tests check that nothing is kept, lost or freed
// early (the asan preset checks the memory side), on every kind of executor.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <asio/execution.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/require.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "opsready/supervise/supervisor.h"
#include "opsready/supervise/test_util.h"

namespace opsready::supervise {
namespace {

using namespace std::chrono_literals;
using testing::Events;
using testing::finish_after;
using testing::forever;
using testing::stubborn;

class SupervisorLifetimeTest : public testing::ManualTimeTest {};

StateCounts no_tasks() { return StateCounts{}; }

TEST_F(SupervisorLifetimeTest, TemporaryTaskReleasesItsFactoryWhenItEnds) {
  Supervisor sup(ctx.get_executor(), options("root"));
  sup.start();
  run();
  auto token = std::make_shared<int>(0);
  ASSERT_TRUE(sup.spawn({.name = "ok", .restart = Restart::kTemporary},
                        [&, token] { return finish_after(time, events, "ok", 1s); }));
  ASSERT_TRUE(sup.spawn({.name = "bad", .restart = Restart::kTemporary},
                        [&, token] { return testing::fail_after(time, events, "bad", 2s); }));
  run();
  EXPECT_EQ(token.use_count(), 3);  // both factories are kept while their tasks run
  run(1s);
  EXPECT_EQ(token.use_count(), 2);
  run(1s);
  EXPECT_EQ(token.use_count(), 1);
  EXPECT_TRUE(sup.describe().tasks.empty());
  EXPECT_EQ(sup.state_counts(), no_tasks());
}

TEST_F(SupervisorLifetimeTest, PermanentTaskKeepsItsFactoryForRestarts) {
  Supervisor sup(ctx.get_executor(), options("root"));
  auto token = std::make_shared<int>(0);
  ASSERT_TRUE(sup.spawn({.name = "loop", .backoff = {.initial = 1s, .jitter = 0.0}},
                        [&, token] { return finish_after(time, events, "loop", 1s); }));
  sup.start();
  run(5s);
  EXPECT_GE(events.count("start:loop"), 2u);
  EXPECT_EQ(token.use_count(), 2);
}

TEST_F(SupervisorLifetimeTest, AbandonedTemporaryTaskIsRemovedOnceItEnds) {
  Supervisor sup(ctx.get_executor(), options("root"));
  ASSERT_TRUE(sup.spawn({.name = "stuck", .restart = Restart::kTemporary, .shutdown_timeout = 1s},
                        [&] { return stubborn(time, events, "stuck", 5s); }));
  ASSERT_TRUE(sup.spawn({.name = "quick", .restart = Restart::kTemporary},
                        [&] { return forever(time, events, "quick"); }));
  sup.start();
  run();
  sup.request_stop();
  run(1s);
  EXPECT_EQ(sup.state(), SupervisorState::kStopped);
  SupervisionSnapshot s = sup.describe();
  ASSERT_EQ(s.tasks.size(), 1u);  // "quick" stopped and, being temporary, is gone
  EXPECT_EQ(s.tasks[0].name, "stuck");
  EXPECT_EQ(s.tasks[0].state, TaskState::kFailed);
  EXPECT_TRUE(s.tasks[0].abandoned);

  run(4s);  // the abandoned run ends by itself
  EXPECT_EQ(events.lines.back(), "end:stuck@5000");
  EXPECT_TRUE(logged("task root/stuck ended after it had been abandoned"));
  EXPECT_TRUE(sup.describe().tasks.empty());
  EXPECT_EQ(sup.state_counts(), no_tasks());
}

TEST_F(SupervisorLifetimeTest, RecycledRecordsStartCleanAfterFailuresAndAbandonment) {
  Supervisor sup(ctx.get_executor(), options("root"));
  sup.start();
  run();
  ASSERT_TRUE(sup.spawn({.name = "fails", .restart = Restart::kTemporary, .metadata = {{"k", "v"}}},
                        [&] { return testing::fail_after(time, events, "fails", 0s); }));
  run();
  EXPECT_TRUE(logged("task root/fails failed: boom"));
  EXPECT_TRUE(sup.describe().tasks.empty());
  // The next spawn reuses the record of "fails".
  ASSERT_TRUE(sup.spawn({.name = "fresh", .restart = Restart::kTemporary},
                        [&] { return forever(time, events, "fresh"); }));
  run();
  const SupervisionSnapshot s = sup.describe();
  ASSERT_EQ(s.tasks.size(), 1u);
  EXPECT_EQ(s.tasks[0].name, "fresh");
  EXPECT_EQ(s.tasks[0].state, TaskState::kRunning);
  EXPECT_TRUE(s.tasks[0].last_error.empty());
  EXPECT_TRUE(s.tasks[0].metadata.empty());
  EXPECT_EQ(s.tasks[0].restarts, 0u);
  EXPECT_TRUE(s.tasks[0].recent_restarts.empty());
}

// A start handed to the executor from another thread and still queued when the io_context is
// destroyed (after the supervisor, as documented): destroying the queued start must release the
// supervisor's state (asan: no leak, no use after free).
TEST(SupervisorTeardown, QueuedStartIsReleasedWithTheContext) {
  asio::io_context ctx;
  {
    Supervisor sup(ctx.get_executor(), {.name = "root", .seed = 1});
    sup.start();
    ctx.poll();
    std::thread other([&] {
      EXPECT_TRUE(sup.spawn({.name = "never"}, []() -> asio::awaitable<void> { co_return; }));
    });
    other.join();
    EXPECT_EQ(sup.describe().tasks.size(), 1u);
  }
  // ~io_context destroys the queued start after the supervisor.
}

// Many threads spawn while the loop runs on its own thread and others read the tree: the lock
// is contended, starts go through the queue, and every task is accounted for.
TEST(SupervisorThreads, SpawnsFromManyThreadsWhileTheLoopRuns) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  asio::io_context ctx;
  auto work = asio::make_work_guard(ctx);
  Supervisor sup(ctx.get_executor(), {.name = "root", .seed = 1});
  sup.start();
  std::thread loop([&] { ctx.run(); });

  std::atomic<int> ran{0};
  std::atomic<bool> spawning{true};
  std::thread reader([&] {
    while (spawning.load()) {
      const SupervisionSnapshot s = sup.describe();
      const StateCounts counts = sup.state_counts();
      std::size_t total = 0;
      for (std::size_t n : counts) total += n;
      EXPECT_LE(s.tasks.size(), static_cast<std::size_t>(kThreads * kPerThread));
      EXPECT_LE(total, static_cast<std::size_t>(kThreads * kPerThread));
    }
  });
  std::vector<std::thread> spawners;
  for (int t = 0; t < kThreads; ++t) {
    spawners.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        auto ok = sup.spawn(
            {.name = "t", .restart = Restart::kTemporary}, [&]() -> asio::awaitable<void> {
              co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
              ran.fetch_add(1);
            });
        EXPECT_TRUE(ok);
      }
    });
  }
  for (auto& t : spawners) t.join();
  spawning.store(false);
  reader.join();

  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (ran.load() < kThreads * kPerThread && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(ran.load(), kThreads * kPerThread);
  std::atomic<bool> stopped{false};
  sup.async_stop([&](const StopReport&) { stopped.store(true); });
  while (!stopped.load() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_TRUE(stopped.load());
  work.reset();
  ctx.stop();
  loop.join();
  EXPECT_TRUE(sup.describe().tasks.empty());
  EXPECT_EQ(sup.state_counts(), StateCounts{});
}

// Exercises each way the supervisor reaches its executor: an io_context executor, a strand
// (both by their concrete type), and an executor it does not know (type-erased throughout).
template <typename Executor>
void spawn_run_and_stop(asio::io_context& ctx, Executor ex, bool check_strand) {
  Supervisor sup(ex, {.name = "root", .seed = 1});
  int ran = 0;
  int on_strand = 0;
  auto body = [&]() -> asio::awaitable<void> {
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    ++ran;
    if constexpr (requires { ex.running_in_this_thread(); }) {
      if (ex.running_in_this_thread()) ++on_strand;
    }
  };
  ASSERT_TRUE(sup.spawn({.name = "early", .restart = Restart::kTemporary}, body));
  ASSERT_TRUE(sup.spawn({.name = "long"}, [&]() -> asio::awaitable<void> {
    asio::steady_timer t(co_await asio::this_coro::executor, 1h);
    co_await t.async_wait(asio::use_awaitable);
  }));
  sup.start();
  ctx.restart();
  ctx.poll();
  // Spawned from a handler on the executor.
  asio::post(ex, [&] {
    for (int i = 0; i < 10; ++i) {
      EXPECT_TRUE(sup.spawn({.name = "late", .restart = Restart::kTemporary}, body));
    }
  });
  ctx.restart();
  ctx.poll();
  EXPECT_EQ(ran, 11);
  if (check_strand) {
    EXPECT_EQ(on_strand, 11);
  }
  const SupervisionSnapshot s = sup.describe();
  ASSERT_EQ(s.tasks.size(), 1u);
  EXPECT_EQ(s.tasks[0].name, "long");
  bool stopped = false;
  sup.async_stop([&](const StopReport& r) {
    stopped = true;
    EXPECT_TRUE(r.abandoned.empty());
  });
  ctx.restart();
  ctx.poll();
  EXPECT_TRUE(stopped);
  EXPECT_EQ(sup.state(), SupervisorState::kStopped);
  EXPECT_EQ(sup.describe().tasks[0].state, TaskState::kStopped);
}

TEST(SupervisorExecutors, IoContextExecutor) {
  asio::io_context ctx;
  spawn_run_and_stop(ctx, ctx.get_executor(), false);
}

TEST(SupervisorExecutors, Strand) {
  asio::io_context ctx;
  spawn_run_and_stop(ctx, asio::make_strand(ctx), true);
}

TEST(SupervisorExecutors, ExecutorOfAnotherType) {
  asio::io_context ctx;
  // Not io_context::executor_type (it tracks work): the supervisor cannot name its type.
  spawn_run_and_stop(
      ctx, asio::require(ctx.get_executor(), asio::execution::outstanding_work.tracked), false);
}

}  // namespace
}  // namespace opsready::supervise
