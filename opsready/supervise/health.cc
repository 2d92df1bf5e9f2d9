#include "opsready/supervise/health.h"

#include <algorithm>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "opsready/core/time.h"

namespace opsready::supervise {
namespace {

constexpr std::string_view kRunbook = "docs/supervision.md#operator-drill";

nlohmann::json metadata_json(const Metadata& m) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

std::size_t restarts_within(const TaskInfo& t, TimePoint now, Duration window) {
  return static_cast<std::size_t>(std::count_if(t.recent_restarts.begin(), t.recent_restarts.end(),
                                                [&](TimePoint r) { return now - r <= window; }));
}

}  // namespace

core::ComponentSnapshot task_supervision_snapshot(const SupervisionSnapshot& s,
                                                  const HealthPolicy& policy) {
  core::ComponentSnapshot out;
  out.component = std::string(kComponentName);
  out.observed_at = s.observed_at;

  std::map<std::string, SupervisorState> sup_state;
  for (const auto& sup : s.supervisors) {
    sup_state[sup.path] = sup.state;
    if (sup.state == SupervisorState::kFailed) {
      out.issues.push_back({.code = "supervisor_failed",
                            .severity = core::Severity::kCritical,
                            .message = "supervisor " + sup.path + " failed: " + sup.last_error,
                            .runbook = std::string(kRunbook)});
    } else if (sup.state != SupervisorState::kRunning) {
      out.issues.push_back(
          {.code = "supervisor_not_running",
           .severity = core::Severity::kWarning,
           .message = "supervisor " + sup.path + " is " + std::string(to_string(sup.state)),
           .runbook = std::string(kRunbook)});
    }
  }

  std::size_t window_restarts = 0;
  for (const auto& t : s.tasks) {
    const bool down = t.state == TaskState::kStopped || t.state == TaskState::kFailed;
    const auto it = sup_state.find(t.supervisor);
    const bool sup_running = it != sup_state.end() && it->second == SupervisorState::kRunning;
    if (t.restart == Restart::kPermanent && down && sup_running) {
      std::string why =
          t.abandoned ? "abandoned after ignoring cancellation" : std::string(to_string(t.state));
      if (!t.last_error.empty() && !t.abandoned) why += ": " + t.last_error;
      out.issues.push_back({.code = "task_down",
                            .severity = core::Severity::kCritical,
                            .message = "permanent task " + t.path + " is down (" + why + ")",
                            .runbook = std::string(kRunbook)});
    } else if (t.abandoned) {
      out.issues.push_back({.code = "task_abandoned",
                            .severity = core::Severity::kWarning,
                            .message = "task " + t.path + " ignored cancellation and was abandoned",
                            .runbook = std::string(kRunbook)});
    }
    const std::size_t n = restarts_within(t, s.observed_at, policy.window);
    window_restarts += n;
    if (policy.restart_warn_threshold > 0 && n >= policy.restart_warn_threshold) {
      out.issues.push_back(
          {.code = "restart_storm",
           .severity = core::Severity::kWarning,
           .message = "task " + t.path + " restarted " + std::to_string(n) + " times in the last " +
                      core::format_duration(policy.window) +
                      (t.last_error.empty() ? "" : "; last error: " + t.last_error),
           .runbook = std::string(kRunbook)});
    }
  }

  for (const auto& i : out.issues)
    out.status = core::escalate(out.status, core::status_for(i.severity));

  const StateCounts counts = s.count_by_state();
  nlohmann::json states = nlohmann::json::object();
  std::string breakdown;
  for (TaskState st : kAllTaskStates) {
    const std::size_t n = counts[static_cast<std::size_t>(st)];
    states[std::string(to_string(st))] = n;
    if (n == 0) continue;
    breakdown +=
        (breakdown.empty() ? "" : ", ") + std::to_string(n) + " " + std::string(to_string(st));
  }
  out.summary = std::to_string(s.tasks.size()) + " tasks" +
                (breakdown.empty() ? "" : " (" + breakdown + ")") + "; " +
                std::to_string(window_restarts) + " restarts in the last " +
                core::format_duration(policy.window);
  if (!out.issues.empty()) out.summary = out.issues.front().message + "; " + out.summary;
  out.metadata = {{"tasks", s.tasks.size()},
                  {"supervisors", s.supervisors.size()},
                  {"states", std::move(states)},
                  {"restarts_in_window", window_restarts},
                  {"window_seconds", core::to_seconds(policy.window)},
                  {"restart_warn_threshold", policy.restart_warn_threshold}};
  return out;
}

nlohmann::json to_json(const SupervisionSnapshot& s) {
  nlohmann::json counts = nlohmann::json::object();
  const StateCounts c = s.count_by_state();
  for (TaskState st : kAllTaskStates) {
    counts[std::string(to_string(st))] = c[static_cast<std::size_t>(st)];
  }
  nlohmann::json sups = nlohmann::json::array();
  for (const auto& sup : s.supervisors) {
    sups.push_back({{"path", sup.path},
                    {"state", to_string(sup.state)},
                    {"strategy", to_string(sup.strategy)},
                    {"intensity", sup.intensity},
                    {"period_seconds", core::to_seconds(sup.period)},
                    {"restarts_total", sup.restarts_total},
                    {"restarts_in_period", sup.restarts_in_period},
                    {"last_error", sup.last_error.empty() ? nlohmann::json(nullptr)
                                                          : nlohmann::json(sup.last_error)}});
  }
  nlohmann::json tasks = nlohmann::json::array();
  for (const auto& t : s.tasks) {
    tasks.push_back(
        {{"name", t.name},
         {"path", t.path},
         {"supervisor", t.supervisor},
         {"state", to_string(t.state)},
         {"restart", to_string(t.restart)},
         {"is_supervisor", t.is_supervisor},
         {"significant", t.significant},
         {"restarts", t.restarts},
         {"last_error",
          t.last_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(t.last_error)},
         {"started_at", t.started_at ? nlohmann::json(core::format_rfc3339(*t.started_at))
                                     : nlohmann::json(nullptr)},
         {"uptime_seconds", core::to_seconds(t.uptime)},
         {"metadata", metadata_json(t.metadata)},
         {"abandoned", t.abandoned}});
  }
  return {{"observed_at", core::format_rfc3339(s.observed_at)},
          {"counts", std::move(counts)},
          {"supervisors", std::move(sups)},
          {"tasks", std::move(tasks)}};
}

}  // namespace opsready::supervise
