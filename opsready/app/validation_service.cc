#include "opsready/app/validation_service.h"

#include <algorithm>
#include <utility>

#include <spdlog/spdlog.h>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>

#include "opsready/app/coro.h"
#include "opsready/app/shell_command.h"
#include "opsready/core/time.h"

namespace opsready::app {

namespace {

using core::TimePoint;

// The most of a report a command may print (an event payload is bounded the same way).
constexpr std::size_t kMaxReportBytes = 8u << 20;

// When the schedule runs next after a run that was due at or before `now`.
TimePoint next_run(const ValidationSchedule& sc, TimePoint due, TimePoint now) {
  if (sc.cron) return sc.cron->next_after(now);
  // `every` after the run that was due, skipping the ones a long run overlapped.
  while (due <= now) due += sc.every;
  return due;
}

}  // namespace

TimePoint missed_after(const ValidationSchedule& sc, TimePoint since) {
  if (!sc.cron) return since + sc.every + sc.grace;
  const TimePoint due = sc.cron->next_after(since);
  if (due == TimePoint::max()) return due;
  if (sc.grace != core::Duration::zero()) return due + sc.grace;
  return sc.cron->next_after(due);  // max() too when it fires no more
}

struct ValidationService::Metrics {
  explicit Metrics(metrics::Registry& r)
      : runs(r.counter("opsready_validation_runs_total",
                       "Scheduled validation runs (validation.schedules), by schedule and result "
                       "(ok, failed).",
                       {"schedule", "result"})),
        last_ok(r.gauge("opsready_validation_last_success_timestamp_seconds",
                        "Unix time of the schedule's last successful run.", {"schedule"})) {}
  metrics::CounterFamily& runs;
  metrics::GaugeFamily& last_ok;
};

ValidationService::ValidationService(const ValidationConfig& config, const core::Clock& clock,
                                     metrics::Registry& registry, asio::io_context& ctx,
                                     asio::thread_pool& pool, Hooks hooks)
    : config_(config),
      clock_(clock),
      metrics_(std::make_unique<Metrics>(registry)),
      ctx_(ctx),
      pool_(pool),
      hooks_(std::move(hooks)) {
  started_at_ = clock_.now();
  for (const auto& s : config_.schedules) {
    // The first run at start (after first_run_after), then every `every`; a cron schedule's
    // at its first fire time from then on.
    const TimePoint first = started_at_ + s.first_run_after;
    states_.push_back({.schedule = &s,
                       .next_at = s.cron ? s.cron->next_after(first - core::Duration(1)) : first});
    for (const char* result : {"ok", "failed"}) metrics_->runs.with({s.name, result});
  }
}

ValidationService::~ValidationService() = default;

core::ComponentSnapshot ValidationService::snapshot(TimePoint now) const {
  core::ComponentSnapshot snap{.component = std::string(kContinuousValidationComponent),
                               .status = core::Status::kOk,
                               .observed_at = now};
  nlohmann::json schedules = nlohmann::json::array();
  std::size_t failed = 0, missed = 0;
  for (const auto& s : states_) {
    const auto& sc = *s.schedule;
    const TimePoint since = s.last_ok_at.value_or(started_at_);
    const TimePoint deadline = missed_after(sc, since);
    if (deadline != TimePoint::max() && now > deadline) {
      ++missed;
      const std::string when = sc.cron ? "cron '" + sc.cron->expression() + "', due " +
                                             core::format_rfc3339(sc.cron->next_after(since)) +
                                             ", missed from " + core::format_rfc3339(deadline)
                                       : "every " + core::format_duration(sc.every) + ", grace " +
                                             core::format_duration(sc.grace);
      snap.issues.push_back(
          {.code = "validation_run_missed",
           .severity = core::Severity::kCritical,
           .message = "validation schedule " + sc.name + " has had no successful run for " +
                      core::format_duration(
                          std::chrono::duration_cast<std::chrono::seconds>(now - since)) +
                      " (" + when + ")" + (s.last_error.empty() ? "" : ": " + s.last_error),
           .runbook = "docs/runbooks/continuous_validation.md"});
    } else if (!s.last_error.empty()) {
      ++failed;
      snap.issues.push_back(
          {.code = "validation_run_failed",
           .severity = core::Severity::kWarning,
           .message = "validation schedule " + sc.name + " failed its last run: " + s.last_error,
           .runbook = "docs/runbooks/continuous_validation.md"});
    }
    const auto t = [](const std::optional<TimePoint>& x) {
      return x ? nlohmann::json(core::format_rfc3339(*x)) : nlohmann::json(nullptr);
    };
    schedules.push_back(
        {{"name", sc.name},
         {"every",
          sc.cron ? nlohmann::json(nullptr) : nlohmann::json(core::format_duration(sc.every))},
         {"cron", sc.cron ? nlohmann::json(sc.cron->expression()) : nlohmann::json(nullptr)},
         {"kind", sc.drill.empty() ? "command" : "drill"},
         {"last_run_at", t(s.last_run_at)},
         {"last_success_at", t(s.last_ok_at)},
         {"next_run_at", core::format_rfc3339(s.next_at)},
         {"runs", s.runs},
         {"failures", s.failures},
         {"last_error", s.last_error}});
  }
  snap.status = missed > 0   ? core::Status::kFail
                : failed > 0 ? core::Status::kWarn
                             : core::Status::kOk;
  snap.summary = std::to_string(states_.size()) + " schedule(s), " + std::to_string(failed) +
                 " failed, " + std::to_string(missed) + " missed";
  snap.metadata = {{"schedules", std::move(schedules)}};
  return snap;
}

asio::awaitable<void> ValidationService::run(State& s) {
  const auto& sc = *s.schedule;
  const TimePoint started = clock_.now();
  std::string error;
  if (!sc.drill.empty()) {
    const auto [status, body] =
        hooks_.drill({{"scenario", sc.drill}, {"by", "validation/" + sc.name}});
    if (status != 202) error = "drill " + sc.drill + " did not start: " + body.value("error", "");
  } else {
    ShellResult r;
    const std::vector<std::string> env = {"OPSREADY_URL=" + hooks_.base_url,
                                          "OPSREADY_VALIDATION_SCHEDULE=" + sc.name};
    const std::function<void()> job = [&] {
      r = run_shell(sc.command, sc.timeout, env, kMaxReportBytes);
    };
    co_await coro::run_to_completion(&ctx_, pool_.get_executor(), &job);
    if (!r.ok()) {
      error = r.describe(sc.command, sc.timeout);
    } else {
      auto doc = nlohmann::json::parse(r.out, nullptr, false);
      if (!doc.is_object()) {
        error = "'" + sc.command + "' did not print a JSON object on stdout";
      } else {
        core::TelemetryEvent e{.topic = sc.topic,
                               .source = "opsready.validation/" + sc.name,
                               .time = started,
                               .payload = std::move(doc)};
        if (auto ok = hooks_.ingest(std::move(e)); !ok) {
          error = "its report was refused: " + ok.error().describe();
        }
      }
    }
  }
  s.last_run_at = started;
  ++s.runs;
  s.last_error = error;
  if (error.empty()) {
    s.last_ok_at = started;
    metrics_->runs.with({sc.name, "ok"}).inc();
    metrics_->last_ok.with({sc.name}).set(core::to_seconds(started.time_since_epoch()));
    spdlog::info("validation: {} ran ({})", sc.name,
                 sc.drill.empty() ? "report taken" : "drill started");
  } else {
    ++s.failures;
    metrics_->runs.with({sc.name, "failed"}).inc();
    spdlog::warn("validation: {} failed: {}", sc.name, error);
  }
}

asio::awaitable<void> ValidationService::loop() {
  asio::steady_timer timer(ctx_);
  hooks_.publish(snapshot(clock_.now()));
  for (;;) {
    const TimePoint now = clock_.now();
    bool ran = false;
    for (auto& s : states_) {
      if (s.next_at > now) continue;
      co_await run(s);
      s.next_at = next_run(*s.schedule, s.next_at, clock_.now());
      ran = true;
    }
    hooks_.publish(snapshot(clock_.now()));
    (void)ran;
    // Until the next run is due, and at least every 10 s (a missed run is noticed in time).
    TimePoint wake = clock_.now() + std::chrono::seconds(10);
    for (const auto& s : states_) wake = std::min(wake, s.next_at);
    timer.expires_after(
        std::max<core::Duration>(wake - clock_.now(), std::chrono::milliseconds(1)));
    if (!co_await coro::wait(timer)) co_return;
  }
}

}  // namespace opsready::app
