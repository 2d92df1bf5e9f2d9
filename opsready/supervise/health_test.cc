#include "opsready/supervise/health.h"

#include <gtest/gtest.h>

#include <functional>

#include <nlohmann/json.hpp>

#include "opsready/core/time.h"

namespace opsready::supervise {
namespace {

using namespace std::chrono_literals;

TimePoint at(const char* s) { return core::parse_rfc3339(s).value(); }

SupervisionSnapshot healthy() {
  SupervisionSnapshot s;
  s.observed_at = at("2025-01-02T01:00:00Z");
  s.supervisors = {
      {.path = "opsready", .state = SupervisorState::kRunning, .intensity = 5, .period = 30s}};
  s.tasks = {{.supervisor = "opsready",
              .name = "http",
              .path = "opsready/http",
              .state = TaskState::kRunning,
              .started_at = at("2025-01-02T00:00:00Z"),
              .uptime = 1h,
              .metadata = {{"component", "server"}}},
             {.supervisor = "opsready",
              .name = "evaluation",
              .path = "opsready/evaluation",
              .state = TaskState::kRunning}};
  return s;
}

TEST(TaskSupervisionSnapshot, StatusFollowsTheRules) {
  struct Case {
    const char* name;
    std::function<void(SupervisionSnapshot&)> change;
    core::Status want;
    std::vector<std::string> codes;
  };
  const TimePoint now = at("2025-01-02T01:00:00Z");
  const Case cases[] = {
      {"healthy", [](SupervisionSnapshot&) {}, core::Status::kOk, {}},
      {"restart storm",
       [&](SupervisionSnapshot& s) {
         s.tasks[0].recent_restarts = {now - 9min, now - 1min, now};
       },
       core::Status::kWarn,
       {"restart_storm"}},
      {"below the threshold",
       [&](SupervisionSnapshot& s) {
         s.tasks[0].recent_restarts = {now - 1min, now};
       },
       core::Status::kOk,
       {}},
      {"old restarts leave the window",
       [&](SupervisionSnapshot& s) {
         s.tasks[0].recent_restarts = {now - 11min, now - 1min, now};
       },
       core::Status::kOk,
       {}},
      {"supervisor failed",
       [](SupervisionSnapshot& s) {
         s.supervisors[0].state = SupervisorState::kFailed;
         s.supervisors[0].last_error = "restart intensity exceeded";
         s.tasks[0].state = TaskState::kFailed;
       },
       core::Status::kFail,
       {"supervisor_failed"}},
      {"permanent task down while its supervisor runs",
       [](SupervisionSnapshot& s) {
         s.tasks[1].state = TaskState::kFailed;
         s.tasks[1].abandoned = true;
       },
       core::Status::kFail,
       {"task_down"}},
      {"stopping on request",
       [](SupervisionSnapshot& s) {
         s.supervisors[0].state = SupervisorState::kStopping;
         s.tasks[0].state = TaskState::kStopped;
       },
       core::Status::kWarn,
       {"supervisor_not_running"}},
      {"abandoned temporary task",
       [](SupervisionSnapshot& s) {
         s.tasks[1].restart = Restart::kTemporary;
         s.tasks[1].state = TaskState::kFailed;
         s.tasks[1].abandoned = true;
       },
       core::Status::kWarn,
       {"task_abandoned"}},
      {"transient task done",
       [](SupervisionSnapshot& s) {
         s.tasks[1].restart = Restart::kTransient;
         s.tasks[1].state = TaskState::kStopped;
       },
       core::Status::kOk,
       {}},
  };
  for (const auto& c : cases) {
    SupervisionSnapshot s = healthy();
    c.change(s);
    const core::ComponentSnapshot got = task_supervision_snapshot(s);
    EXPECT_EQ(got.component, "task_supervision") << c.name;
    EXPECT_EQ(got.status, c.want) << c.name << ": " << got.summary;
    std::vector<std::string> codes;
    for (const auto& i : got.issues) codes.push_back(i.code);
    EXPECT_EQ(codes, c.codes) << c.name;
    EXPECT_EQ(got.observed_at, now) << c.name;
  }
}

TEST(TaskSupervisionSnapshot, SummaryAndMetadata) {
  SupervisionSnapshot s = healthy();
  const TimePoint now = s.observed_at;
  s.tasks[0].recent_restarts = {now - 2min, now - 1min, now};
  const core::ComponentSnapshot got =
      task_supervision_snapshot(s, {.restart_warn_threshold = 3, .window = 5min});
  EXPECT_EQ(got.summary,
            "task opsready/http restarted 3 times in the last 5m; 2 tasks (2 running); 3 restarts "
            "in the last 5m");
  EXPECT_EQ(got.metadata["states"]["running"], 2);
  EXPECT_EQ(got.metadata["restarts_in_window"], 3);
  EXPECT_EQ(got.metadata["window_seconds"], 300.0);
  EXPECT_EQ(got.issues[0].severity, core::Severity::kWarning);
  EXPECT_EQ(got.issues[0].runbook, "docs/supervision.md#operator-drill");
}

TEST(SupervisionJson, HasEveryFieldWithNullsForAbsentValues) {
  const nlohmann::json j = to_json(healthy());
  EXPECT_EQ(j["observed_at"], "2025-01-02T01:00:00Z");
  EXPECT_EQ(j["counts"]["running"], 2);
  EXPECT_EQ(j["counts"]["failed"], 0);
  EXPECT_EQ(j["supervisors"][0]["strategy"], "one_for_one");
  EXPECT_EQ(j["supervisors"][0]["period_seconds"], 30.0);
  EXPECT_TRUE(j["supervisors"][0]["last_error"].is_null());
  const auto& http = j["tasks"][0];
  EXPECT_EQ(http["path"], "opsready/http");
  EXPECT_EQ(http["state"], "running");
  EXPECT_EQ(http["restart"], "permanent");
  EXPECT_EQ(http["started_at"], "2025-01-02T00:00:00Z");
  EXPECT_EQ(http["uptime_seconds"], 3600.0);
  EXPECT_EQ(http["metadata"]["component"], "server");
  EXPECT_TRUE(http["last_error"].is_null());
  EXPECT_TRUE(j["tasks"][1]["started_at"].is_null());
  EXPECT_EQ(j["tasks"][1]["restarts"], 0);
}

}  // namespace
}  // namespace opsready::supervise
