#include "opsready/supervise/supervisor.h"

#include <gtest/gtest.h>

#include <thread>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

#include "opsready/supervise/test_util.h"

namespace opsready::supervise {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using testing::Events;
using testing::fail_after;
using testing::finish_after;
using testing::forever;
using testing::stubborn;

constexpr Backoff kFast{.initial = 100ms, .multiplier = 2.0, .max = 1s, .jitter = 0.0};

class SupervisorTest : public testing::ManualTimeTest {};

asio::awaitable<void> record_then_fail(std::vector<TimePoint>& starts, TimeSource& time,
                                       Duration after = Duration::zero()) {
  starts.push_back(time.now());
  if (after > Duration::zero()) co_await sleep_for(time, after);
  throw std::runtime_error("down");
}

std::vector<Duration> gaps(const std::vector<TimePoint>& starts) {
  std::vector<Duration> out;
  for (std::size_t i = 1; i < starts.size(); ++i) out.push_back(starts[i] - starts[i - 1]);
  return out;
}

TEST_F(SupervisorTest, FailureNeverTouchesASiblingUnderOneForOne) {
  Supervisor sup(ctx.get_executor(), options("root"));
  ASSERT_TRUE(
      sup.spawn({.name = "drift-monitor"}, [&] { return forever(time, events, "drift-monitor"); }));
  ASSERT_TRUE(sup.spawn({.name = "ingest", .backoff = kFast},
                        [&] { return fail_after(time, events, "ingest", 1s); }));
  sup.start();
  run(2300ms);  // ingest fails at 1 s and 2.1 s, restarts at 1.1 s and 2.3 s

  EXPECT_EQ(events.count("start:drift-monitor"), 1u);
  EXPECT_EQ(events.count("cancel:drift-monitor"), 0u);
  EXPECT_EQ(events.count("start:ingest"), 3u);
  const SupervisionSnapshot s = sup.describe();
  EXPECT_EQ(task(s, "root/drift-monitor").state, TaskState::kRunning);
  EXPECT_EQ(task(s, "root/drift-monitor").restarts, 0u);
  EXPECT_EQ(task(s, "root/ingest").state, TaskState::kRunning);
  EXPECT_EQ(task(s, "root/ingest").restarts, 2u);
  EXPECT_EQ(task(s, "root/ingest").last_error, "boom");
  EXPECT_TRUE(logged("task root/ingest failed: boom; restart 1 in 100ms"));
  EXPECT_THAT(recorder.events,
              ElementsAre("supervisor root idle->running", "restart root/ingest error",
                          "restart root/ingest error"));
}

TEST_F(SupervisorTest, OneForAllStopsEveryChildInReverseAndRestartsThemInOrder) {
  auto o = options("root");
  o.strategy = Strategy::kOneForAll;
  Supervisor sup(ctx.get_executor(), o);
  ASSERT_TRUE(sup.spawn({.name = "a"}, [&] { return forever(time, events, "a"); }));
  int b_runs = 0;
  ASSERT_TRUE(sup.spawn({.name = "b", .backoff = kFast}, [&] {
    return b_runs++ == 0 ? fail_after(time, events, "b", 1s) : forever(time, events, "b");
  }));
  ASSERT_TRUE(sup.spawn({.name = "c"}, [&] { return forever(time, events, "c"); }));
  ASSERT_TRUE(sup.spawn({.name = "d", .restart = Restart::kTemporary},
                        [&] { return forever(time, events, "d"); }));
  sup.start();
  run(2s);

  EXPECT_THAT(events.lines, ElementsAre("start:a@0", "start:b@0", "start:c@0", "start:d@0",  //
                                        "cancel:d@1000", "done:d@1000", "cancel:c@1000",
                                        "done:c@1000", "cancel:a@1000", "done:a@1000",  //
                                        "start:a@1100", "start:b@1100", "start:c@1100"));
  EXPECT_THAT(recorder.events, ElementsAre("supervisor root idle->running", "restart root/b error",
                                           "restart root/a sibling", "restart root/c sibling"));
  const SupervisionSnapshot s = sup.describe();
  ASSERT_EQ(s.tasks.size(), 3u);  // the temporary child is gone
  for (const auto& t : s.tasks) {
    EXPECT_EQ(t.state, TaskState::kRunning) << t.path;
    EXPECT_EQ(t.restarts, 1u) << t.path;
  }
}

TEST_F(SupervisorTest, RestForOneRestartsTheFailedChildAndThoseStartedAfterIt) {
  auto o = options("root");
  o.strategy = Strategy::kRestForOne;
  Supervisor sup(ctx.get_executor(), o);
  int b_runs = 0;
  ASSERT_TRUE(sup.spawn({.name = "a"}, [&] { return forever(time, events, "a"); }));
  ASSERT_TRUE(sup.spawn({.name = "b", .backoff = kFast}, [&] {
    return b_runs++ == 0 ? fail_after(time, events, "b", 1s) : forever(time, events, "b");
  }));
  ASSERT_TRUE(sup.spawn({.name = "c"}, [&] { return forever(time, events, "c"); }));
  ASSERT_TRUE(sup.spawn({.name = "d"}, [&] { return forever(time, events, "d"); }));
  sup.start();
  run(2s);

  EXPECT_THAT(events.lines,
              ElementsAre("start:a@0", "start:b@0", "start:c@0", "start:d@0",  //
                          "cancel:d@1000", "done:d@1000", "cancel:c@1000", "done:c@1000",
                          "start:b@1100", "start:c@1100", "start:d@1100"));
  EXPECT_EQ(task(sup.describe(), "root/a").restarts, 0u);
}

TEST_F(SupervisorTest, IntensityEscalatesThroughTwoLevels) {
  auto o = options("root");
  o.intensity = 1;
  o.period = 1h;
  Supervisor root(ctx.get_executor(), o);
  ASSERT_TRUE(root.spawn({.name = "steady"}, [&] { return forever(time, events, "steady"); }));
  SupervisorOptions mid_options;
  mid_options.intensity = 1;
  mid_options.period = 1h;
  auto mid = root.spawn_supervisor({.name = "mid", .backoff = {.initial = 1s, .jitter = 0.0}},
                                   mid_options);
  ASSERT_TRUE(mid) << mid.error().describe();
  ASSERT_TRUE((*mid)->spawn({.name = "leaf", .backoff = kFast},
                            [&] { return fail_after(time, events, "leaf", 1s); }));

  bool done = false;
  std::string error;
  asio::co_spawn(ctx, root.run(), [&](std::exception_ptr e) {
    done = true;
    try {
      if (e) std::rethrow_exception(e);
    } catch (const SupervisorFailed& f) {
      error = f.what();
    }
  });
  // leaf fails at 1 s (mid restarts it), at 2.1 s (mid fails; root restarts mid at 3.1 s),
  // at 4.1 s (mid restarts it), at 5.3 s (mid fails again; root exceeds its intensity).
  run(10s);

  ASSERT_TRUE(done);
  EXPECT_NE(error.find("supervisor root failed: restart intensity exceeded"), std::string::npos)
      << error;
  EXPECT_NE(error.find("last: task root/mid failed: supervisor root/mid failed"), std::string::npos)
      << error;
  EXPECT_EQ(root.state(), SupervisorState::kFailed);
  EXPECT_EQ(events.count("start:leaf"), 4u);
  EXPECT_EQ(events.count("cancel:steady"), 1u);  // escalation stopped the root's children
  const SupervisionSnapshot s = root.describe();
  ASSERT_EQ(s.supervisors.size(), 2u);
  EXPECT_EQ(s.supervisors[0].state, SupervisorState::kFailed);
  EXPECT_EQ(s.supervisors[1].path, "root/mid");
  EXPECT_EQ(s.supervisors[1].state, SupervisorState::kFailed);
  EXPECT_EQ(task(s, "root/mid").restarts, 1u);
  EXPECT_TRUE(task(s, "root/mid").is_supervisor);
  EXPECT_EQ(task(s, "root/mid/leaf").restarts, 2u);
  const auto& ev = recorder.events;
  EXPECT_EQ(std::count(ev.begin(), ev.end(), "supervisor root/mid stopping->failed"), 2);
  EXPECT_EQ(ev.back(), "supervisor root stopping->failed");
}

TEST_F(SupervisorTest, BackoffFollowsTheManualClockExactly) {
  auto o = options("root");
  o.intensity = 100;
  o.period = 1h;
  Supervisor sup(ctx.get_executor(), o);
  std::vector<TimePoint> starts;
  ASSERT_TRUE(sup.spawn({.name = "flaky", .backoff = kFast},
                        [&] { return record_then_fail(starts, time); }));
  sup.start();
  run();
  ASSERT_EQ(starts.size(), 1u);
  ASSERT_TRUE(time.next_deadline());
  EXPECT_EQ(*time.next_deadline() - clock.now(), 100ms);
  EXPECT_EQ(sup.describe().tasks[0].state, TaskState::kRestarting);
  run(99ms);
  EXPECT_EQ(starts.size(), 1u);
  run(1ms);
  EXPECT_EQ(starts.size(), 2u);
  run(6s);
  const std::vector<Duration> got = gaps(starts);
  ASSERT_GE(got.size(), 7u);
  const std::vector<Duration> want = {100ms, 200ms, 400ms, 800ms, 1s, 1s, 1s};
  EXPECT_EQ(std::vector<Duration>(got.begin(), got.begin() + 7), want);
}

TEST_F(SupervisorTest, BackoffStartsOverAfterAHealthyRun) {
  Supervisor sup(ctx.get_executor(), options("root"));
  std::vector<TimePoint> starts;
  ASSERT_TRUE(sup.spawn({.name = "long-runner", .backoff = kFast},
                        [&] { return record_then_fail(starts, time, 40s); }));
  sup.start();
  run(3min);
  ASSERT_GE(starts.size(), 3u);
  for (Duration g : gaps(starts)) EXPECT_EQ(g, 40s + 100ms);  // ran >= reset_after (30 s)
}

TEST_F(SupervisorTest, JitterIsReproducibleFromTheSeed) {
  auto starts_for = [&](std::uint64_t seed) {
    asio::io_context local;
    core::ManualClock c(clock.now());
    ManualTimeSource t(c);
    auto o = options("root");
    o.seed = seed;
    o.time = &t;
    o.intensity = 100;
    o.period = 1h;
    std::vector<TimePoint> starts;
    {
      Supervisor sup(local.get_executor(), o);
      Backoff b = kFast;
      b.jitter = 0.5;
      EXPECT_TRUE(
          sup.spawn({.name = "j", .backoff = b}, [&] { return record_then_fail(starts, t); }));
      sup.start();
      t.run_for(local, 5s);
    }
    return gaps(starts);
  };
  const auto a = starts_for(7);
  const auto b = starts_for(7);
  const auto c = starts_for(8);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  const std::vector<Duration> nominal = {100ms, 200ms, 400ms, 800ms, 1s};
  ASSERT_GE(a.size(), nominal.size());
  for (std::size_t i = 0; i < nominal.size(); ++i) {
    EXPECT_GE(a[i], nominal[i] / 2) << i;
    EXPECT_LE(a[i], nominal[i] * 3 / 2) << i;
  }
}

TEST(BackoffDelay, IsExponentialCappedAndJittered) {
  struct Case {
    Backoff b;
    std::uint32_t attempt;
    double u;
    Duration want;
  };
  const Case cases[] = {
      {kFast, 0, 0.5, 100ms},
      {kFast, 3, 0.5, 800ms},
      {kFast, 4, 0.5, 1s},  // capped
      {kFast, 1000, 0.5, 1s},
      {{.initial = 100ms, .max = 1s, .jitter = 0.5}, 0, 0.0, 50ms},
      {{.initial = 100ms, .max = 1s, .jitter = 0.5}, 0, 0.75, 125ms},
      {{.initial = 100ms, .max = 1s, .jitter = 0.5}, 10, 0.5, 1s},
      {{.initial = Duration::zero()}, 5, 0.9, Duration::zero()},
      {{.initial = 2s, .max = 1s, .jitter = 0.0}, 3, 0.5, 2s},  // max below initial
  };
  for (const auto& c : cases) {
    EXPECT_EQ(backoff_delay(c.b, c.attempt, c.u), c.want) << c.attempt << " " << c.u;
  }
}

TEST_F(SupervisorTest, StopsChildrenInReverseStartOrderOneAtATime) {
  Supervisor sup(ctx.get_executor(), options("root"));
  for (const char* n : {"a", "b", "c"}) {
    ASSERT_TRUE(sup.spawn({.name = n}, [&, n] { return forever(time, events, n, 1s); }));
  }
  sup.start();
  run();
  int stops = 0;
  StopReport report;
  sup.async_stop([&](const StopReport& r) {
    ++stops;
    report = r;
  });
  run(10s);

  EXPECT_THAT(events.lines, ElementsAre("start:a@0", "start:b@0", "start:c@0",  //
                                        "cancel:c@0", "done:c@1000",            //
                                        "cancel:b@1000", "done:b@2000",         //
                                        "cancel:a@2000", "done:a@3000"));
  EXPECT_EQ(stops, 1);
  EXPECT_TRUE(report.abandoned.empty());
  EXPECT_EQ(sup.state(), SupervisorState::kStopped);
  for (const auto& t : sup.describe().tasks) EXPECT_EQ(t.state, TaskState::kStopped);
}

TEST_F(SupervisorTest, TaskIgnoringCancellationIsReportedAndAbandoned) {
  Supervisor sup(ctx.get_executor(), options("root"));
  ASSERT_TRUE(sup.spawn({.name = "a"}, [&] { return forever(time, events, "a"); }));
  ASSERT_TRUE(sup.spawn(
      {.name = "feed", .shutdown_timeout = 2s, .metadata = {{"component", "market-data"}}},
      [&] { return stubborn(time, events, "feed", 10s); }));
  ASSERT_TRUE(sup.spawn({.name = "c"}, [&] { return forever(time, events, "c"); }));
  sup.start();
  run();
  sup.request_stop();
  run(2s);

  EXPECT_THAT(events.lines, ElementsAre("start:a@0", "start:feed@0", "start:c@0",  //
                                        "cancel:c@0", "done:c@0",                  //
                                        "ignored:feed@0",                          //
                                        "cancel:a@2000", "done:a@2000"));
  EXPECT_EQ(sup.state(), SupervisorState::kStopped);
  const StopReport r = sup.last_stop_report();
  ASSERT_EQ(r.abandoned.size(), 1u);
  EXPECT_EQ(r.abandoned[0],
            (AbandonedTask{
                .path = "root/feed", .metadata = {{"component", "market-data"}}, .waited = 2s}));
  EXPECT_TRUE(
      logged("task root/feed did not stop within 2s of cancellation; abandoned after 2s "
             "(metadata {component=market-data})"));
  EXPECT_THAT(recorder.events, ::testing::Contains("abandoned root/feed 2s"));
  const SupervisionSnapshot snapshot = sup.describe();
  const TaskInfo& feed = task(snapshot, "root/feed");
  EXPECT_EQ(feed.state, TaskState::kFailed);
  EXPECT_TRUE(feed.abandoned);

  run(8s);  // the abandoned task ends by itself at 10 s
  EXPECT_EQ(events.lines.back(), "end:feed@10000");
  EXPECT_TRUE(logged("task root/feed ended after it had been abandoned"));
}

TEST_F(SupervisorTest, AbandonedTaskThatNeverEndsIsReleasedAtTeardown) {
  Supervisor sup(ctx.get_executor(), options("root"));
  ASSERT_TRUE(sup.spawn({.name = "stuck", .shutdown_timeout = 1s},
                        [&] { return stubborn(time, events, "stuck", 1000h); }));
  sup.start();
  run();
  sup.request_stop();
  run(1s);
  EXPECT_EQ(sup.state(), SupervisorState::kStopped);
  EXPECT_EQ(sup.last_stop_report().abandoned.size(), 1u);
  // The coroutine is still suspended; ~ManualTimeSource and ~io_context free it (ASan checks).
}

TEST_F(SupervisorTest, StoppingTwiceIsSafeAndSpawnsAreRefusedOnceStopping) {
  Supervisor sup(ctx.get_executor(), options("root"));
  ASSERT_TRUE(sup.spawn({.name = "a"}, [&] { return forever(time, events, "a", 1s); }));
  sup.start();
  run();
  int stops = 0;
  sup.async_stop([&](const StopReport&) { ++stops; });
  sup.async_stop([&](const StopReport&) { ++stops; });
  sup.request_stop();
  run();
  EXPECT_EQ(sup.state(), SupervisorState::kStopping);
  auto refused = sup.spawn({.name = "late"}, [&] { return forever(time, events, "late"); });
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "supervisor_stopping");
  run(1s);
  EXPECT_EQ(sup.state(), SupervisorState::kStopped);
  EXPECT_EQ(stops, 2);
  sup.request_stop();
  sup.async_stop([&](const StopReport&) { ++stops; });
  run();
  EXPECT_EQ(stops, 3);
  EXPECT_EQ(events.count("cancel:a"), 1u);
  EXPECT_EQ(events.count("start:late"), 0u);
  EXPECT_FALSE(sup.spawn({.name = "later"}, [&] { return forever(time, events, "later"); }));
}

TEST_F(SupervisorTest, DescribeReportsStateRestartsErrorsTimesAndMetadata) {
  Supervisor sup(ctx.get_executor(), options("root"));
  ASSERT_TRUE(sup.spawn({.name = "ingest", .metadata = {{"component", "ingest"}}},
                        [&] { return forever(time, events, "ingest"); }));
  int runs = 0;
  ASSERT_TRUE(sup.spawn({.name = "flaky", .backoff = kFast}, [&] {
    return runs++ == 0 ? fail_after(time, events, "flaky", 1s) : forever(time, events, "flaky");
  }));
  const TimePoint t0 = clock.now();
  EXPECT_EQ(sup.describe().tasks[0].state, TaskState::kStarting);  // not run yet
  sup.start();
  run(5s);

  const SupervisionSnapshot s = sup.describe();
  EXPECT_EQ(s.observed_at, t0 + 5s);
  ASSERT_EQ(s.supervisors.size(), 1u);
  EXPECT_EQ(s.supervisors[0], (SupervisorInfo{.path = "root",
                                              .state = SupervisorState::kRunning,
                                              .strategy = Strategy::kOneForOne,
                                              .intensity = 5,
                                              .period = 30s,
                                              .restarts_total = 1,
                                              .restarts_in_period = 1,
                                              .last_error = ""}));
  ASSERT_EQ(s.tasks.size(), 2u);
  TaskInfo want{.supervisor = "root",
                .name = "ingest",
                .path = "root/ingest",
                .state = TaskState::kRunning,
                .restart = Restart::kPermanent,
                .started_at = t0,
                .uptime = 5s,
                .metadata = {{"component", "ingest"}}};
  EXPECT_EQ(s.tasks[0], want);
  const TaskInfo& flaky = s.tasks[1];
  EXPECT_EQ(flaky.state, TaskState::kRunning);
  EXPECT_EQ(flaky.restarts, 1u);
  EXPECT_EQ(flaky.last_error, "boom");
  EXPECT_EQ(flaky.started_at, t0 + 1100ms);
  EXPECT_EQ(flaky.uptime, 3900ms);
  EXPECT_EQ(flaky.recent_restarts, std::vector<TimePoint>{t0 + 1s});
  const StateCounts counts = sup.state_counts();
  EXPECT_EQ(counts[static_cast<std::size_t>(TaskState::kRunning)], 2u);
  EXPECT_EQ(counts, s.count_by_state());
}

TEST_F(SupervisorTest, RestartTypesDecideWhatIsRestarted) {
  Supervisor sup(ctx.get_executor(), options("root"));
  ASSERT_TRUE(sup.spawn({.name = "transient-ok", .restart = Restart::kTransient},
                        [&] { return finish_after(time, events, "transient-ok", 1s); }));
  ASSERT_TRUE(sup.spawn({.name = "transient-err", .restart = Restart::kTransient, .backoff = kFast},
                        [&] { return fail_after(time, events, "transient-err", 1s); }));
  ASSERT_TRUE(sup.spawn({.name = "temporary", .restart = Restart::kTemporary},
                        [&] { return fail_after(time, events, "temporary", 1s); }));
  ASSERT_TRUE(sup.spawn({.name = "permanent-ok", .backoff = kFast},
                        [&] { return finish_after(time, events, "permanent-ok", 1s); }));
  sup.start();
  run(2s);

  EXPECT_EQ(events.count("start:transient-ok"), 1u);
  EXPECT_EQ(events.count("start:transient-err"), 2u);
  EXPECT_EQ(events.count("start:temporary"), 1u);
  EXPECT_EQ(events.count("start:permanent-ok"), 2u);
  const SupervisionSnapshot s = sup.describe();
  EXPECT_EQ(task(s, "root/transient-ok").state, TaskState::kStopped);
  EXPECT_EQ(s.tasks.size(), 3u);  // the temporary one is gone
  EXPECT_THAT(recorder.events, ::testing::Contains("restart root/permanent-ok exit"));
  EXPECT_THAT(recorder.events, ::testing::Contains("restart root/transient-err error"));
  EXPECT_TRUE(logged("task root/temporary failed: boom (temporary: not restarted)"));
}

TEST_F(SupervisorTest, AutoShutdownStopsWhenASignificantChildEnds) {
  auto o = options("root");
  o.auto_shutdown = AutoShutdown::kAnySignificant;
  Supervisor sup(ctx.get_executor(), o);
  ASSERT_TRUE(sup.spawn({.name = "loop"}, [&] { return forever(time, events, "loop"); }));
  ASSERT_TRUE(sup.spawn({.name = "replay", .restart = Restart::kTransient, .significant = true},
                        [&] { return finish_after(time, events, "replay", 1s); }));
  sup.start();
  run(1s);
  EXPECT_EQ(sup.state(), SupervisorState::kStopped);
  EXPECT_THAT(events.lines, ElementsAre("start:loop@0", "start:replay@0", "end:replay@1000",
                                        "cancel:loop@1000", "done:loop@1000"));
}

TEST_F(SupervisorTest, NestedSupervisorStopsItsOwnChildrenInPlace) {
  Supervisor root(ctx.get_executor(), options("root"));
  ASSERT_TRUE(root.spawn({.name = "a"}, [&] { return forever(time, events, "a"); }));
  auto mid = root.spawn_supervisor({.name = "mid"});
  ASSERT_TRUE(mid);
  ASSERT_TRUE((*mid)->spawn({.name = "x"}, [&] { return forever(time, events, "x"); }));
  ASSERT_TRUE((*mid)->spawn({.name = "y"}, [&] { return forever(time, events, "y", 1s); }));
  ASSERT_TRUE(root.spawn({.name = "b"}, [&] { return forever(time, events, "b"); }));
  root.start();
  run();
  EXPECT_EQ((*mid)->path(), "root/mid");
  root.request_stop();
  run(5s);
  EXPECT_THAT(events.lines,
              ElementsAre("start:a@0", "start:x@0", "start:y@0", "start:b@0",  //
                          "cancel:b@0", "done:b@0", "cancel:y@0", "done:y@1000", "cancel:x@1000",
                          "done:x@1000", "cancel:a@1000", "done:a@1000"));
  EXPECT_EQ(root.state(), SupervisorState::kStopped);
  EXPECT_EQ((*mid)->state(), SupervisorState::kStopped);
}

TEST_F(SupervisorTest, ImmediateStopDoesNotWait) {
  Supervisor sup(ctx.get_executor(), options("root"));
  ASSERT_TRUE(sup.spawn({.name = "a"}, [&] { return forever(time, events, "a"); }));
  ASSERT_TRUE(sup.spawn({.name = "stuck"}, [&] { return stubborn(time, events, "stuck", 1000h); }));
  sup.start();
  run();
  const TimePoint before = clock.now();
  sup.request_stop(StopMode::kGraceful);
  sup.request_stop(StopMode::kImmediate);
  run();
  EXPECT_EQ(sup.state(), SupervisorState::kStopped);
  EXPECT_EQ(clock.now(), before);
  EXPECT_TRUE(sup.last_stop_report().immediate);
  EXPECT_EQ(events.count("cancel:a"), 1u);
  EXPECT_EQ(task(sup.describe(), "root/stuck").state, TaskState::kStopping);
}

TEST_F(SupervisorTest, StopBeforeRunMeansItNeverRuns) {
  Supervisor sup(ctx.get_executor(), options("root"));
  ASSERT_TRUE(sup.spawn({.name = "a"}, [&] { return forever(time, events, "a"); }));
  sup.request_stop();
  run();
  EXPECT_EQ(sup.state(), SupervisorState::kStopped);
  bool done = false;
  asio::co_spawn(ctx, sup.run(), [&](std::exception_ptr e) { done = !e; });
  run();
  EXPECT_TRUE(done);
  EXPECT_EQ(events.count("start:a"), 0u);
}

TEST_F(SupervisorTest, SpawnWhileRunningStartsAtOnce) {
  Supervisor sup(ctx.get_executor(), options("root"));
  sup.start();
  run();
  auto name = sup.spawn({}, [&] { return forever(time, events, "anon"); });
  ASSERT_TRUE(name);
  EXPECT_EQ(*name, "root-task-00001");
  run();
  EXPECT_EQ(events.count("start:anon"), 1u);
  EXPECT_EQ(task(sup.describe(), "root/root-task-00001").state, TaskState::kRunning);
}

TEST_F(SupervisorTest, ManyShortTasksLeaveNothingBehind) {
  Supervisor sup(ctx.get_executor(), options("root"));
  sup.start();
  run();
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 200; ++i) {
      ASSERT_TRUE(sup.spawn({.name = "short",
                             .restart = Restart::kTemporary,
                             .metadata = {{"round", std::to_string(round)}}},
                            [&] { return fail_after(time, events, "short", Duration::zero()); }));
    }
    run();
  }
  EXPECT_EQ(events.count("start:short"), 600u);
  EXPECT_TRUE(sup.describe().tasks.empty());
  // Records are recycled: a new task starts clean.
  ASSERT_TRUE(sup.spawn({.name = "fresh", .restart = Restart::kTemporary},
                        [&] { return forever(time, events, "fresh"); }));
  run();
  const SupervisionSnapshot s = sup.describe();
  ASSERT_EQ(s.tasks.size(), 1u);
  EXPECT_EQ(s.tasks[0].name, "fresh");
  EXPECT_EQ(s.tasks[0].state, TaskState::kRunning);
  EXPECT_EQ(s.tasks[0].restarts, 0u);
  EXPECT_TRUE(s.tasks[0].metadata.empty());
  EXPECT_TRUE(s.tasks[0].last_error.empty());
  EXPECT_FALSE(s.tasks[0].abandoned);
  EXPECT_EQ(sup.state_counts()[static_cast<std::size_t>(TaskState::kRunning)], 1u);
}

TEST_F(SupervisorTest, SpawnFromAnotherThreadStartsOnTheExecutor) {
  Supervisor sup(ctx.get_executor(), options("root"));
  sup.start();
  run();
  std::thread other([&] {
    EXPECT_TRUE(sup.spawn({.name = "remote"}, [&] { return forever(time, events, "remote"); }));
  });
  other.join();
  EXPECT_EQ(events.count("start:remote"), 0u);  // handed to the executor
  EXPECT_EQ(task(sup.describe(), "root/remote").state, TaskState::kStarting);
  run();
  EXPECT_EQ(events.count("start:remote"), 1u);
  EXPECT_EQ(task(sup.describe(), "root/remote").state, TaskState::kRunning);
}

TEST_F(SupervisorTest, InvalidSpecsAreRefused) {
  Supervisor sup(ctx.get_executor(), options("root"));
  struct Case {
    ChildSpec spec;
    bool with_factory;
  };
  Case cases[] = {
      {{.name = "no-factory"}, false},
      {{.name = "a/b"}, true},
      {{.name = "sig", .significant = true}, true},
      {{.name = "mult", .backoff = {.multiplier = 0.5}}, true},
      {{.name = "jitter", .backoff = {.jitter = 1.5}}, true},
      {{.name = "neg", .shutdown_timeout = -1s}, true},
      {{.name = "neg-backoff", .backoff = {.initial = -1s}}, true},
  };
  for (auto& c : cases) {
    TaskFactory f;
    if (c.with_factory) f = [&] { return forever(time, events, "x"); };
    auto r = sup.spawn(c.spec, std::move(f));
    ASSERT_FALSE(r) << c.spec.name;
    EXPECT_EQ(r.error().code, "invalid_child_spec") << c.spec.name;
  }
  EXPECT_TRUE(sup.describe().tasks.empty());
}

}  // namespace
}  // namespace opsready::supervise
