#include "opsready/supervise/runner.h"

#include <gtest/gtest.h>

#include <csignal>

#include <asio/io_context.hpp>

#include "opsready/supervise/test_util.h"

namespace opsready::supervise {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using testing::fail_after;
using testing::finish_after;
using testing::forever;
using testing::stubborn;
using Outcome = CallbackResult::Outcome;

class RunnerTest : public testing::ManualTimeTest {
 protected:
  RunnerOptions runner_options(bool signals = false) {
    RunnerOptions o;
    o.handle_signals = signals;
    o.log = [this](LogLevel level, std::string_view m) {
      logs.push_back(std::string(to_string(level)) + " " + std::string(m));
    };
    return o;
  }

  // A root that ends by itself after `after` (auto_shutdown on a significant job) and keeps a
  // loop running until then.
  std::unique_ptr<Supervisor> workload(Duration after) {
    auto o = options("root");
    o.auto_shutdown = AutoShutdown::kAnySignificant;
    auto root = std::make_unique<Supervisor>(ctx.get_executor(), o);
    EXPECT_TRUE(root->spawn({.name = "loop"}, [this] { return forever(time, events, "loop"); }));
    EXPECT_TRUE(root->spawn({.name = "job", .restart = Restart::kTransient, .significant = true},
                            [this, after] { return finish_after(time, events, "job", after); }));
    return root;
  }

  void add_callbacks(RuntimeRunner& runner) {
    for (const char* name : {"first", "second", "third"}) {
      runner.on_shutdown(name, [this, name]() -> asio::awaitable<void> {
        ran.push_back(name);
        co_return;
      });
    }
  }

  std::vector<std::string> ran;
};

TEST_F(RunnerTest, CallbacksRunOnceInReverseRegistrationOrder) {
  auto root = workload(1s);
  RuntimeRunner runner(ctx, *root, runner_options());
  add_callbacks(runner);
  runner.start();
  run(1s);

  ASSERT_TRUE(runner.finished());
  EXPECT_THAT(ran, ElementsAre("third", "second", "first"));
  const RunReport& r = runner.report();
  EXPECT_EQ(r.exit_code, exit_code::kOk);
  EXPECT_EQ(r.cause, StopCause::kCompleted);
  EXPECT_EQ(r.callbacks, (std::vector<CallbackResult>{{"third", Outcome::kOk, ""},
                                                      {"second", Outcome::kOk, ""},
                                                      {"first", Outcome::kOk, ""}}));
  EXPECT_EQ(events.count("cancel:loop"), 1u);
  run(1h);
  EXPECT_EQ(ran.size(), 3u);
}

TEST_F(RunnerTest, AFailingCallbackIsLoggedAndTheOthersStillRun) {
  auto root = workload(1s);
  RuntimeRunner runner(ctx, *root, runner_options());
  runner.on_shutdown("first", [this]() -> asio::awaitable<void> {
    ran.push_back("first");
    co_return;
  });
  runner.on_shutdown("second", [this]() -> asio::awaitable<void> {
    ran.push_back("second");
    throw std::runtime_error("flush failed");
    co_return;
  });
  runner.on_shutdown("third", [this]() -> asio::awaitable<void> {
    ran.push_back("third");
    co_return;
  });
  runner.start();
  run(1s);

  ASSERT_TRUE(runner.finished());
  EXPECT_THAT(ran, ElementsAre("third", "second", "first"));
  EXPECT_EQ(runner.report().callbacks[1],
            (CallbackResult{"second", Outcome::kFailed, "flush failed"}));
  EXPECT_EQ(runner.report().exit_code, exit_code::kIncomplete);
  EXPECT_TRUE(logged("shutdown callback second failed: flush failed"));
}

TEST_F(RunnerTest, ACallbackOverrunningItsLimitIsAbandoned) {
  auto root = workload(1s);
  RuntimeRunner runner(ctx, *root, runner_options());
  runner.on_shutdown("first", [this]() -> asio::awaitable<void> {
    ran.push_back("first");
    co_return;
  });
  runner.on_shutdown(
      "slow",
      [this]() -> asio::awaitable<void> {
        ran.push_back("slow");
        co_await sleep_for(time, 1h);
        ran.push_back("slow finished");
      },
      2s);
  runner.start();
  run(1s);
  EXPECT_FALSE(runner.finished());
  run(2s);

  ASSERT_TRUE(runner.finished());
  EXPECT_THAT(ran, ElementsAre("slow", "first"));
  EXPECT_EQ(runner.report().callbacks[0],
            (CallbackResult{"slow", Outcome::kTimedOut, "exceeded its limit of 2s"}));
  EXPECT_EQ(runner.report().exit_code, exit_code::kIncomplete);
  EXPECT_TRUE(logged("shutdown callback slow exceeded its limit of 2s; abandoned"));
}

TEST_F(RunnerTest, OverallTimeoutStopsGracefully) {
  Supervisor root(ctx.get_executor(), options("root"));
  ASSERT_TRUE(root.spawn({.name = "loop"}, [this] { return forever(time, events, "loop", 1s); }));
  auto o = runner_options();
  o.timeout = 10s;
  RuntimeRunner runner(ctx, root, o);
  add_callbacks(runner);
  runner.start();
  run(10s);
  EXPECT_FALSE(runner.finished());  // the loop takes 1 s to clean up
  run(1s);

  ASSERT_TRUE(runner.finished());
  EXPECT_THAT(events.lines, ElementsAre("start:loop@0", "cancel:loop@10000", "done:loop@11000"));
  EXPECT_EQ(runner.report().cause, StopCause::kTimeout);
  EXPECT_EQ(runner.report().exit_code, exit_code::kTimeout);
  EXPECT_EQ(ran.size(), 3u);
}

TEST_F(RunnerTest, SignalRacingTheTimeoutRunsCallbacksExactlyOnce) {
  Supervisor root(ctx.get_executor(), options("root"));
  ASSERT_TRUE(root.spawn({.name = "loop"}, [this] { return forever(time, events, "loop"); }));
  auto o = runner_options(/*signals=*/true);
  o.timeout = 10s;
  RuntimeRunner runner(ctx, root, o);
  int calls = 0;
  runner.on_shutdown("flush", [&calls]() -> asio::awaitable<void> {
    ++calls;
    co_return;
  });
  runner.start();
  run(10s - 1ms);
  time.advance(1ms);    // the timeout is due and posted, not yet handled...
  std::raise(SIGTERM);  // ...and the signal is pending: both are handled in one pass
  run(1s);

  ASSERT_TRUE(runner.finished());
  EXPECT_EQ(calls, 1);
  const RunReport& r = runner.report();
  EXPECT_EQ(r.signal, SIGTERM);
  ASSERT_TRUE(r.cause == StopCause::kTimeout || r.cause == StopCause::kSignal);
  EXPECT_EQ(r.exit_code, r.cause == StopCause::kTimeout ? exit_code::kTimeout : exit_code::kOk);
  EXPECT_EQ(events.count("cancel:loop"), 1u);
  run(1h);
  EXPECT_EQ(calls, 1);
}

TEST_F(RunnerTest, TwoSignalsRacingTheTimeoutStopNowAndSkipCallbacks) {
  Supervisor root(ctx.get_executor(), options("root"));
  ASSERT_TRUE(root.spawn({.name = "loop"}, [this] { return forever(time, events, "loop", 1s); }));
  auto o = runner_options(/*signals=*/true);
  o.timeout = 10s;
  RuntimeRunner runner(ctx, root, o);
  int calls = 0;
  runner.on_shutdown("flush", [&calls]() -> asio::awaitable<void> {
    ++calls;
    co_return;
  });
  runner.start();
  run(10s - 1ms);
  time.advance(1ms);
  std::raise(SIGTERM);
  run();
  std::raise(SIGTERM);
  run(1s);

  ASSERT_TRUE(runner.finished());
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(runner.report().exit_code, exit_code::kForced);
}

TEST_F(RunnerTest, SecondSignalStopsNowWithoutWaitingForStuckTasks) {
  Supervisor root(ctx.get_executor(), options("root"));
  ASSERT_TRUE(root.spawn({.name = "loop"}, [this] { return forever(time, events, "loop"); }));
  ASSERT_TRUE(root.spawn({.name = "stuck", .shutdown_timeout = 5s},
                         [this] { return stubborn(time, events, "stuck", 1000h); }));
  RuntimeRunner runner(ctx, root, runner_options(/*signals=*/true));
  add_callbacks(runner);
  runner.start();
  run();
  const TimePoint before = clock.now();
  std::raise(SIGTERM);
  run();
  EXPECT_FALSE(runner.finished());  // draining: "stuck" ignores its cancellation
  std::raise(SIGINT);
  run();

  ASSERT_TRUE(runner.finished());
  EXPECT_EQ(clock.now(), before);
  const RunReport& r = runner.report();
  EXPECT_EQ(r.exit_code, exit_code::kForced);
  EXPECT_EQ(r.cause, StopCause::kForced);
  EXPECT_EQ(r.signal, SIGTERM);
  EXPECT_EQ(r.forced_by, SIGINT);
  EXPECT_TRUE(ran.empty());
  ASSERT_EQ(r.callbacks.size(), 3u);
  for (const auto& c : r.callbacks) EXPECT_EQ(c.outcome, Outcome::kSkipped);
  EXPECT_TRUE(logged("received SIGTERM: stopping gracefully"));
  EXPECT_TRUE(logged("received SIGINT again: stopping now"));
}

TEST_F(RunnerTest, ASignalAfterTheRunFinishedIsSwallowed) {
  auto root = workload(1s);
  RuntimeRunner runner(ctx, *root, runner_options(/*signals=*/true));
  runner.start();
  run(1s);
  ASSERT_TRUE(runner.finished());
  std::raise(SIGTERM);  // would kill the test process if the handler were gone
  run();
  EXPECT_EQ(runner.report().exit_code, exit_code::kOk);
  EXPECT_FALSE(runner.report().signal);
}

TEST_F(RunnerTest, DrainTimeoutBoundsTheWholeShutdown) {
  Supervisor root(ctx.get_executor(), options("root"));
  ASSERT_TRUE(root.spawn({.name = "slow", .shutdown_timeout = 10s},
                         [this] { return forever(time, events, "slow", 2s); }));
  ASSERT_TRUE(root.spawn({.name = "stuck", .shutdown_timeout = 10s},
                         [this] { return stubborn(time, events, "stuck", 1000h); }));
  auto o = runner_options();
  o.drain_timeout = 5s;
  RuntimeRunner runner(ctx, root, o);
  add_callbacks(runner);
  runner.start();
  run();
  runner.request_stop();
  run(5s - 1ms);
  EXPECT_FALSE(runner.finished());
  run(1ms);

  ASSERT_TRUE(runner.finished());
  const RunReport& r = runner.report();
  EXPECT_TRUE(r.drain_expired);
  EXPECT_EQ(r.cause, StopCause::kRequested);
  EXPECT_EQ(r.exit_code, exit_code::kIncomplete);
  EXPECT_TRUE(ran.empty());
  EXPECT_EQ(events.count("cancel:slow"), 1u);  // "stuck" went first; "slow" was cancelled now
  EXPECT_TRUE(logged("shutdown exceeded its drain timeout of 5s: stopping now"));
}

TEST_F(RunnerTest, WorkloadFailureExitsSixAfterRunningCallbacks) {
  auto o = options("root");
  o.intensity = 0;
  Supervisor root(ctx.get_executor(), o);
  ASSERT_TRUE(root.spawn({.name = "loop"}, [this] { return forever(time, events, "loop"); }));
  ASSERT_TRUE(
      root.spawn({.name = "crasher"}, [this] { return fail_after(time, events, "crasher", 1s); }));
  RuntimeRunner runner(ctx, root, runner_options());
  add_callbacks(runner);
  runner.start();
  run(1s);

  ASSERT_TRUE(runner.finished());
  const RunReport& r = runner.report();
  EXPECT_EQ(r.exit_code, exit_code::kFailed);
  EXPECT_EQ(r.cause, StopCause::kFailed);
  EXPECT_NE(r.failure.find("restart intensity exceeded"), std::string::npos) << r.failure;
  EXPECT_EQ(ran.size(), 3u);
  EXPECT_EQ(events.count("cancel:loop"), 1u);
}

TEST_F(RunnerTest, RequestStopDrainsAndExitsZero) {
  Supervisor root(ctx.get_executor(), options("root"));
  ASSERT_TRUE(root.spawn({.name = "loop"}, [this] { return forever(time, events, "loop"); }));
  RuntimeRunner runner(ctx, root, runner_options());
  add_callbacks(runner);
  runner.start();
  run();
  runner.request_stop();
  runner.request_stop();
  run();
  ASSERT_TRUE(runner.finished());
  EXPECT_EQ(runner.report().cause, StopCause::kRequested);
  EXPECT_EQ(runner.report().exit_code, exit_code::kOk);
  EXPECT_EQ(ran.size(), 3u);
  EXPECT_EQ(runner.report().summary(),
            "runtime stopped: cause=requested abandoned_tasks=0 callbacks_ok=3/3 exit_code=0");
}

TEST_F(RunnerTest, AbandonedTaskMakesTheShutdownIncomplete) {
  Supervisor root(ctx.get_executor(), options("root"));
  ASSERT_TRUE(root.spawn({.name = "stuck", .shutdown_timeout = 1s},
                         [this] { return stubborn(time, events, "stuck", 1000h); }));
  RuntimeRunner runner(ctx, root, runner_options());
  runner.start();
  run();
  runner.request_stop();
  run(1s);
  ASSERT_TRUE(runner.finished());
  EXPECT_EQ(runner.report().exit_code, exit_code::kIncomplete);
  ASSERT_EQ(runner.report().stop.abandoned.size(), 1u);
  EXPECT_EQ(runner.report().stop.abandoned[0].path, "root/stuck");
}

TEST(RuntimeRunner, RunBlocksUntilTheWorkloadEnds) {
  asio::io_context ctx;
  auto quiet = [](LogLevel, std::string_view) {};
  Supervisor root(ctx.get_executor(),
                  {.name = "root", .auto_shutdown = AutoShutdown::kAnySignificant, .log = quiet});
  ASSERT_TRUE(root.spawn({.name = "job", .restart = Restart::kTransient, .significant = true},
                         []() -> asio::awaitable<void> { co_return; }));
  RuntimeRunner runner(ctx, root, {.handle_signals = false, .log = quiet});
  int calls = 0;
  runner.on_shutdown("flush", [&calls]() -> asio::awaitable<void> {
    ++calls;
    co_return;
  });
  const RunReport r = runner.run();
  EXPECT_EQ(r.exit_code, exit_code::kOk);
  EXPECT_EQ(r.cause, StopCause::kCompleted);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace opsready::supervise
