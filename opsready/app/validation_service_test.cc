#include "opsready/app/validation_service.h"

#include <gtest/gtest.h>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include "opsready/core/time.h"

namespace opsready::app {
namespace {

using namespace std::chrono_literals;

core::TimePoint at(const char* rfc3339) { return core::parse_rfc3339(rfc3339).value(); }

ValidationSchedule cron_schedule(const char* expr, core::Duration grace = {}) {
  return {.name = "nightly",
          .cron = core::CronSchedule::parse(expr).value(),
          .drill = "game-day",
          .grace = grace};
}

TEST(ValidationService, MissedAfterTheDueRunAndItsGrace) {
  struct Case {
    const char* what;
    ValidationSchedule schedule;
    const char* since;
    const char* want;
  };
  const Case cases[] = {
      {"interval: every + grace",
       {.name = "hourly", .every = 1h, .command = "true", .grace = 1h},
       "2025-01-01T10:00:00Z",
       "2025-01-01T12:00:00Z"},
      {"cron, default grace: the next fire time after the due one", cron_schedule("0 * * * *"),
       "2025-01-01T10:00:30Z", "2025-01-01T12:00:00Z"},
      {"cron, grace given", cron_schedule("0 * * * *", 5min), "2025-01-01T10:00:30Z",
       "2025-01-01T11:05:00Z"},
      {"cron: a success at the fire time owes the next one", cron_schedule("0 * * * *"),
       "2025-01-01T11:00:00Z", "2025-01-01T13:00:00Z"},
      // Friday's run is due Monday 09:00; missed once Tuesday's is due.
      {"cron, weekdays", cron_schedule("0 9 * * mon-fri"), "2025-01-03T09:00:05Z",
       "2025-01-07T09:00:00Z"},
      {"cron, Feb 29", cron_schedule("0 0 29 2 *"), "2024-03-01T00:00:00Z", "2032-02-29T00:00:00Z"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(core::format_rfc3339(missed_after(c.schedule, at(c.since))), c.want) << c.what;
  }
}

// A cron schedule in the service: its first run at the first fire time, the next one at the
// fire time after, and `continuous_validation` fails only once that one is missed as well.
TEST(ValidationService, CronScheduleRunsAtItsFireTimes) {
  core::ManualClock clock(at("2025-01-01T11:00:00Z"));
  metrics::Registry registry;
  asio::io_context ctx;
  asio::thread_pool pool(1);
  ValidationConfig config{.schedules = {cron_schedule("0 * * * *")}};
  int drills = 0;
  std::optional<core::ComponentSnapshot> published;
  ValidationService service(
      config, clock, registry, ctx, pool,
      {.ingest = [](core::TelemetryEvent) -> core::Result<void> { return {}; },
       .drill =
           [&drills](const nlohmann::json& body) {
             EXPECT_EQ(body["scenario"], "game-day");
             ++drills;
             return std::pair<int, nlohmann::json>{202, nlohmann::json::object()};
           },
       .publish = [&published](core::ComponentSnapshot s) { published = std::move(s); },
       .base_url = "http://127.0.0.1:0"});
  // Before the loop: due at 11:00 (the start is a fire time), missed from 12:00.
  EXPECT_EQ(service.snapshot(at("2025-01-01T11:59:00Z")).status, core::Status::kOk);
  asio::cancellation_signal stop;
  asio::co_spawn(ctx, service.loop(), asio::bind_cancellation_slot(stop.slot(), asio::detached));
  ctx.poll();  // runs what is due, then waits on its timer
  ASSERT_EQ(drills, 1);
  ASSERT_TRUE(published);
  const auto& meta = published->metadata["schedules"][0];
  EXPECT_EQ(meta["cron"], "0 * * * *");
  EXPECT_TRUE(meta["every"].is_null());
  EXPECT_EQ(meta["last_success_at"], "2025-01-01T11:00:00Z");
  EXPECT_EQ(meta["next_run_at"], "2025-01-01T12:00:00Z");
  // The 12:00 run is owed until 13:00.
  EXPECT_EQ(service.snapshot(at("2025-01-01T12:59:59Z")).status, core::Status::kOk);
  const auto late = service.snapshot(at("2025-01-01T13:00:01Z"));
  EXPECT_EQ(late.status, core::Status::kFail);
  ASSERT_EQ(late.issues.size(), 1u);
  EXPECT_EQ(late.issues[0].code, "validation_run_missed");
  EXPECT_EQ(late.issues[0].message,
            "validation schedule nightly has had no successful run for 2h1s (cron '0 * * * *', "
            "due 2025-01-01T12:00:00Z, missed from 2025-01-01T13:00:00Z)");
  stop.emit(asio::cancellation_type::terminal);
  ctx.poll();
  pool.join();
}

}  // namespace
}  // namespace opsready::app
