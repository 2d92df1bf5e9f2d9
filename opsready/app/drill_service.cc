#include "opsready/app/drill_service.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>

#include "opsready/app/coro.h"
#include "opsready/app/shell_command.h"
#include "opsready/core/time.h"

// GCC 12 at -O2 reports the deallocation of run_one()'s coroutine frame as mismatched with its
// allocation (-Wmismatched-new-delete): a false positive of its inlining across asio's
// awaitable_frame_base operator new/delete pair, which allocate and free the frame together.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace opsready::app {

namespace {

using core::TimePoint;

// A command fault's run or undo: its error names the command, its exit and its output.
core::Result<void> run_command(const std::string& command, core::Duration timeout,
                               const std::vector<std::string>& extra_env) {
  const ShellResult r = run_shell(command, timeout, extra_env);
  if (r.ok()) return {};
  return core::fail("drill_command", r.describe(command, timeout));
}

std::set<std::string, std::less<>> targets_of(const drills::Scenario& s) {
  return {s.target_components.begin(), s.target_components.end()};
}

store::DrillRunRow row_of(const drills::Run& run) {
  const auto& e = run.evidence();
  return {.id = e.drill_id,
          .scenario = e.scenario.name,
          .verdict = e.verdict && run.finished() ? std::string(drills::to_string(*e.verdict)) : "",
          .started_at = e.started_at,
          .finished_at = run.finished() ? e.finished_at : std::nullopt,
          .json = drills::to_json(e).dump(),
          .markdown = drills::to_markdown(e)};
}

nlohmann::json summary_of(const store::DrillRunRow& r) {
  nlohmann::json j = {
      {"drill_id", r.id},
      {"scenario", r.scenario},
      {"verdict", r.verdict.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.verdict)},
      {"started_at", core::format_rfc3339(r.started_at)},
      {"finished_at", r.finished_at ? nlohmann::json(core::format_rfc3339(*r.finished_at))
                                    : nlohmann::json(nullptr)}};
  const auto e = nlohmann::json::parse(r.json, nullptr, false);
  if (e.is_object()) {
    for (const char* k :
         {"injected_at", "failed_step", "reason", "mttd_seconds", "mtta_seconds", "mttr_seconds"}) {
      if (e.contains(k)) j[k] = e[k];
    }
  }
  return j;
}

std::string json_starting(const std::string& id, const std::string& scenario, TimePoint now) {
  return nlohmann::json{
      {"drill_id", id},     {"scenario", scenario},   {"started_at", core::format_rfc3339(now)},
      {"verdict", nullptr}, {"finished_at", nullptr}, {"status", "starting"}}
      .dump();
}

}  // namespace

struct DrillService::Metrics {
  explicit Metrics(metrics::Registry& r)
      : runs(r.counter("opsready_drill_runs_total",
                       "Drill runs that ended, by scenario and verdict (Pass, Fail, Aborted, "
                       "Inconclusive); dry runs are not counted.",
                       {"scenario", "verdict"})),
        mttd(r.gauge("opsready_drill_last_mttd_seconds",
                     "The last run's time from the fault's injection to the expected alert "
                     "firing, by scenario.",
                     {"scenario"})),
        mtta(r.gauge("opsready_drill_last_mtta_seconds",
                     "The last run's time from the first notification to the ack, by scenario.",
                     {"scenario"})),
        mttr(r.gauge("opsready_drill_last_mttr_seconds",
                     "The last run's time from the fault's injection to the steady state holding "
                     "again, by scenario.",
                     {"scenario"})),
        last_run(r.gauge("opsready_drill_last_run_timestamp_seconds",
                         "Unix time the scenario's last run ended.", {"scenario"})),
        running(r.gauge("opsready_drill_running", "1 while a drill runs, else 0.").with({})),
        dropped(r.counter("opsready_drill_dropped_events_total",
                          "Events a feed_stall drill dropped before evaluation, by scenario.",
                          {"scenario"})) {}

  metrics::CounterFamily& runs;
  metrics::GaugeFamily& mttd;
  metrics::GaugeFamily& mtta;
  metrics::GaugeFamily& mttr;
  metrics::GaugeFamily& last_run;
  metrics::Gauge& running;
  metrics::CounterFamily& dropped;
};

DrillService::DrillService(const DrillsConfig& config, store::Store& store,
                           const core::Clock& clock, metrics::Registry& registry,
                           asio::io_context& ctx, asio::thread_pool& pool, Hooks hooks,
                           std::string base_url)
    : config_(config),
      store_(store),
      clock_(clock),
      registry_(registry),
      metrics_(std::make_unique<Metrics>(registry)),
      ctx_(ctx),
      pool_(pool),
      hooks_(std::move(hooks)),
      base_url_(std::move(base_url)),
      wake_timer_(std::make_unique<asio::steady_timer>(ctx)) {
  // Every scenario's series exist from the start (0 runs), as Prometheus prefers.
  for (const auto& s : config_.scenarios) {
    for (auto v : drills::kAllVerdicts)
      metrics_->runs.with({s.name, std::string(drills::to_string(v))});
  }
}

DrillService::~DrillService() = default;

std::vector<std::string> DrillService::command_env(const std::string& id,
                                                   const std::string& scenario) const {
  return {"OPSREADY_DRILL_ID=" + id, "OPSREADY_DRILL_SCENARIO=" + scenario,
          "OPSREADY_URL=" + base_url_};
}

const drills::Scenario* DrillService::find(const std::string& name) const {
  for (const auto& s : config_.scenarios) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::string DrillService::new_id(TimePoint now) {
  // Sortable by time and unique in the store: drill-<UTC time>-<random>.
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string t = core::format_rfc3339(now);
  std::erase_if(t, [](char c) { return c == '-' || c == ':'; });
  if (const auto dot = t.find('.'); dot != std::string::npos) t = t.substr(0, dot) + "Z";
  char tail[9];
  std::snprintf(tail, sizeof tail, "%08x", static_cast<unsigned>(rng() ^ ++sequence_));
  return "drill-" + t + "-" + tail;
}

std::optional<TimePoint> DrillService::recover() {
  std::optional<TimePoint> last_tested;
  if (auto runs = store_.drill_runs({.limit = 1000}); runs) {
    for (const auto& r : *runs) {
      if ((r.verdict == "Pass" || r.verdict == "Fail") && r.finished_at) {
        if (!last_tested || *r.finished_at > *last_tested) last_tested = r.finished_at;
      }
    }
  }
  auto unfinished = store_.drill_runs({.unfinished_only = true, .limit = 1000});
  if (!unfinished) {
    spdlog::error("drills: cannot read the drills a restart may have interrupted: {}",
                  unfinished.error().message);
    return last_tested;
  }
  const TimePoint now = clock_.now();
  for (store::DrillRunRow r : *unfinished) {
    auto j = nlohmann::json::parse(r.json, nullptr, false);
    if (!j.is_object()) j = nlohmann::json::object();
    const auto fault = j.value("fault", nlohmann::json::object());
    std::string how = "nothing was left in place (the fault lived in the process that stopped)";
    std::string restore_error;
    const std::string kind = fault.value("kind", "");
    if (kind == "command" || (kind == "ingest_failover" && !fault.value("undo", "").empty())) {
      const std::string undo = fault.value("undo", "");
      auto timeout = core::parse_duration(fault.value("command_timeout", "30s"));
      auto ok = run_command(undo, timeout ? *timeout : std::chrono::seconds(30),
                            command_env(r.id, r.scenario));
      if (ok) {
        how = "its undo command ran: " + undo;
      } else {
        restore_error = ok.error().message;
        how = "its undo command failed: " + restore_error;
      }
    }
    const std::string reason = "opsready stopped during the drill; at the restart (" +
                               core::format_rfc3339(now) + ") " + how;
    spdlog::warn("drills: {} ({}) was interrupted: {}", r.id, r.scenario, reason);
    j["verdict"] = "Aborted";
    j["failed_step"] = "stopped";
    j["reason"] = reason;
    j["abort_reason"] = reason;
    j["finished_at"] = core::format_rfc3339(now);
    if (!restore_error.empty()) j["restore_error"] = restore_error;
    r.verdict = "Aborted";
    r.finished_at = now;
    r.json = j.dump();
    if (const auto at = r.markdown.find("- **Verdict:** running"); at != std::string::npos) {
      r.markdown.replace(at, std::string("- **Verdict:** running").size(),
                         "- **Verdict:** Aborted\n- **Abort reason:** " + reason);
    }
    r.markdown += "\n## Recovery after a restart\n\n" + reason + "\n";
    if (auto ok = store_.put_drill_run(r); !ok) {
      spdlog::error("drills: cannot close the interrupted drill {}: {}", r.id, ok.error().message);
      continue;
    }
    metrics_->runs.with({r.scenario, "Aborted"}).inc();
  }
  return last_tested;
}

bool DrillService::drops(const core::TelemetryEvent& e) {
  if (stalled_.empty()) return false;
  for (const auto& p : stalled_) {
    if (p.matches(e.topic)) {
      metrics_->dropped.with({stalled_scenario_}).inc();
      return true;
    }
  }
  return false;
}

void DrillService::recorded(const std::string& group_id, const std::string& receiver,
                            TimePoint at) {
  bool running = false;
  {
    std::lock_guard lock(mu_);
    running = !running_id_.empty();
  }
  if (!running) return;
  recorded_.push_back({.group = group_id, .receiver = receiver, .at = at});
}

void DrillService::decided(const store::OutboxRow& row) {
  if (!observing_) return;
  decided_.insert_or_assign(row.id, std::make_pair(row.group_id, row.receiver));
}

void DrillService::sent(const std::string& id, TimePoint at) {
  if (!observing_) return;
  auto node = decided_.extract(id);
  if (node.empty()) return;
  recorded_.push_back({.group = node.mapped().first, .receiver = node.mapped().second, .at = at});
}

drills::Observation DrillService::observe_now(engine::Engine& e, const drills::Scenario& s,
                                              TimePoint now,
                                              std::vector<std::string>& group_keys) const {
  drills::Observation o{.now = now};
  const auto snap = e.readiness();
  o.evaluated_at = snap->generated_at;
  o.readiness = snap->status;
  o.gate = snap->gate.decision;
  o.components.reserve(snap->components.size());
  for (const auto& c : snap->components) o.components.emplace_back(c.component, c.status);
  std::sort(o.components.begin(), o.components.end());
  for (const auto& v : e.alerts(now)) {
    if (core::is_resolved(*v.alert, now)) continue;
    o.alerts.push_back({.labels = v.alert->labels,
                        .fingerprint = v.alert->fingerprint,
                        .starts_at = v.alert->starts_at});
  }
  for (const std::string& name : drills::metric_names(s)) {
    auto& series = o.metrics[name];
    for (auto& sample : registry_.samples(name)) {
      core::LabelSet labels;
      for (auto& [k, v] : sample.labels) labels.emplace(std::move(k), std::move(v));
      series.push_back({.labels = std::move(labels), .value = sample.value});
    }
  }
  if (s.expect.alert.empty()) return o;
  // The groups that hold an alert the drill expects, and their acks.
  std::map<std::string, std::vector<std::string>> groups_of;  // fingerprint → group ids
  for (const auto& [key, group] : e.groups()) {
    bool any = false;
    const std::string id = engine::group_id(key);
    for (const auto& [fp, a] : group.alerts) {
      if (core::is_resolved(*a, now) || !alerting::matches(s.expect.alert, a->labels)) continue;
      groups_of[a->fingerprint].push_back(id);
      any = true;
    }
    if (!any) continue;
    const std::string k = key.to_string();
    group_keys.push_back(k);
    if (const alerting::Ack* ack = e.acks().find(k)) {
      o.acks.push_back({.group = id, .by = ack->by, .channel = ack->channel, .at = ack->at});
    }
  }
  for (auto& a : o.alerts) {
    if (auto it = groups_of.find(a.fingerprint); it != groups_of.end()) a.groups = it->second;
  }
  return o;
}

asio::awaitable<drills::Observation> DrillService::observe(const drills::Run& run) {
  engine::Engine* e = hooks_.engine();
  std::vector<std::string> keys;
  drills::Observation o = observe_now(*e, run.scenario(), clock_.now(), keys);
  o.notifications = recorded_;
  if (!keys.empty()) {
    std::vector<store::OutboxRow> rows;
    const std::function<void()> job = [this, &keys, &rows] {
      for (const auto& k : keys) {
        auto got =
            store_.outbox({.group_key = k, .state = store::OutboxState::kSent, .limit = 100});
        if (got) rows.insert(rows.end(), got->begin(), got->end());
      }
    };
    co_await coro::run_to_completion(&ctx_, pool_.get_executor(), &job);
    for (const auto& r : rows) {
      if (r.done_at)
        o.notifications.push_back({.group = r.group_id, .receiver = r.receiver, .at = *r.done_at});
    }
  }
  co_return o;
}

asio::awaitable<core::Result<void>> DrillService::fault_command(const drills::Run& run,
                                                                const std::string& command) {
  core::Result<void> result;
  const std::vector<std::string> env = command_env(run.evidence().drill_id, run.scenario().name);
  const core::Duration timeout = run.scenario().fault.command_timeout;
  const std::function<void()> job = [&] { result = run_command(command, timeout, env); };
  co_await coro::run_to_completion(&ctx_, pool_.get_executor(), &job);
  co_return result;
}

asio::awaitable<core::Result<void>> DrillService::inject(drills::Run& run) {
  const auto& s = run.scenario();
  const auto& f = s.fault;
  switch (f.kind) {
    case drills::FaultKind::kReceiverOutage:
      hooks_.outage(f.receiver, true);
      co_return core::Result<void>{};
    case drills::FaultKind::kFeedStall: {
      stalled_.clear();
      for (const auto& t : f.topics) {
        auto p = core::TopicPattern::parse(t);
        if (!p) co_return std::unexpected(p.error());
        stalled_.push_back(std::move(*p));
      }
      stalled_scenario_ = s.name;
      co_return core::Result<void>{};
    }
    case drills::FaultKind::kCommand:
      co_return co_await fault_command(run, f.run);
    case drills::FaultKind::kTaskCrash: {
      if (!hooks_.spawn_supervisor) {
        co_return std::unexpected(
            core::Error{.code = "unavailable", .message = "no supervisor to run the task in"});
      }
      // The drill's own supervisor (temporary: when it fails, the root logs it and does not
      // restart it), with the scenario's intensity, and in it the task that crashes.
      crash_supervisor_ =
          hooks_.spawn_supervisor({.name = "drill-" + s.name,
                                   .restart = supervise::Restart::kTemporary,
                                   .metadata = {{"drill", run.evidence().drill_id}}},
                                  {.intensity = f.intensity, .period = f.period});
      if (crash_supervisor_ == nullptr) {
        co_return std::unexpected(
            core::Error{.code = "unavailable", .message = "the drill's supervisor did not start"});
      }
      auto remaining = std::make_shared<std::atomic<int>>(f.failures);
      auto spawned = crash_supervisor_->spawn(
          {.name = "crash-loop", .metadata = {{"failures", std::to_string(f.failures)}}},
          [remaining]() -> asio::awaitable<void> {
            if (remaining->fetch_sub(1) > 0) {
              throw std::runtime_error("drill: injected crash");
            }
            // Crashed enough: run until the drill stops it.
            asio::steady_timer forever(co_await asio::this_coro::executor);
            forever.expires_at(asio::steady_timer::time_point::max());
            (void)co_await coro::wait(forever);
          });
      if (!spawned) co_return std::unexpected(spawned.error());
      co_return core::Result<void>{};
    }
    case drills::FaultKind::kStoreFault:
      co_return co_await set_store_fault({.read_only = f.read_only, .delay = f.delay});
    case drills::FaultKind::kIncidentChaos: {
      auto chaos = hooks_.engine()->set_incident_chaos(f.chaos, clock_.now());
      if (!chaos) co_return std::unexpected(chaos.error());
      run.set_fault_report({{"chaos_events", std::move(*chaos)}});
      co_return core::Result<void>{};
    }
    case drills::FaultKind::kIngestFailover: {
      nlohmann::json report;
      core::Result<core::TelemetryEvent> event;
      const std::function<void()> job = [&] { event = ingest_failover(run, report); };
      co_await coro::run_to_completion(&ctx_, pool_.get_executor(), &job);
      if (!report.is_null()) run.set_fault_report(std::move(report));
      if (!event) co_return std::unexpected(event.error());
      co_return hooks_.ingest ? hooks_.ingest(std::move(*event))
                              : core::fail("unavailable", "no evaluation queue to report to");
    }
  }
  co_return core::Result<void>{};
}

asio::awaitable<core::Result<void>> DrillService::set_store_fault(store::StoreFault fault) {
  // On the pool: a slow store holds its lock while it sleeps.
  core::Result<void> result;
  const std::function<void()> job = [&] { result = store_.set_fault(fault); };
  co_await coro::run_to_completion(&ctx_, pool_.get_executor(), &job);
  co_return result;
}

core::Result<core::TelemetryEvent> DrillService::ingest_failover(const drills::Run& run,
                                                                 nlohmann::json& report) const {
  // The spec's §6 drill (components/failover_drill.h): the runtime's ingest results with the
  // targeted dimensions emptied, the failover decision, and — when it says to fail over — the
  // real fallback; the outcome goes to the failover_drill component as a document.
  const auto& s = run.scenario();
  const auto& f = s.fault;
  // A relative path is the scenario file's neighbour.
  std::filesystem::path file = f.results_file;
  if (file.is_relative() && !s.file.empty()) {
    file = std::filesystem::path(s.file).parent_path() / file;
  }
  std::ifstream in(file);
  if (!in) {
    return core::fail("drill_results", "cannot read the ingest results '" + file.string() +
                                           "': " + std::strerror(errno));
  }
  nlohmann::json results = nlohmann::json::parse(in, nullptr, false);
  if (results.is_discarded()) {
    return core::fail("drill_results", "'" + file.string() + "' is not JSON");
  }
  // The runtime's last ingest run: {plan?, results} (the plan says what was expected), or the
  // results alone.
  nlohmann::json plan;
  if (results.is_object() && results.contains("results")) {
    plan = results.value("plan", nlohmann::json());
    results = nlohmann::json(results["results"]);
  }
  const TimePoint now = clock_.now();
  nlohmann::json doc = {
      {"generated_at", core::format_rfc3339(now)},
      {"scenario", s.name},
      {"results", std::move(results)},
      {"metadata", {{"drill_id", run.evidence().drill_id}, {"results_file", file.string()}}}};
  if (!plan.is_null()) doc["plan"] = std::move(plan);
  if (!f.dimensions.empty()) doc["fail_dimensions"] = f.dimensions;
  auto decided = components::read_failover_drill_document(components::Doc(doc, ""), now,
                                                          hooks_.failover_drill);
  if (!decided) {
    return core::fail("drill_results", "'" + file.string() + "': " + decided.error().describe());
  }
  const nlohmann::json& decision = decided->report.failover_decision;
  const bool failover = decision.value("should_failover", false);
  if (failover && !f.fallback.empty()) {
    std::vector<std::string> env = command_env(run.evidence().drill_id, s.name);
    std::string dims;
    for (const auto& d :
         decided->report.metadata.value("targeted_dimensions", std::vector<std::string>{})) {
      dims += (dims.empty() ? "" : ",") + d;
    }
    env.push_back("OPSREADY_DRILL_DIMENSIONS=" + dims);
    env.push_back("OPSREADY_DRILL_REASON=" + decision.value("reason", std::string()));
    const ShellResult r = run_shell(f.fallback, f.command_timeout, env);
    doc["fallback"] = {{"executed", true}};
    if (!r.ok()) doc["fallback"]["error"] = r.describe(f.fallback, f.command_timeout);
  }
  auto graded = components::read_failover_drill_document(components::Doc(doc, ""), now,
                                                         hooks_.failover_drill);
  if (!graded) return std::unexpected(graded.error());
  report = components::to_json(graded->report);
  return core::TelemetryEvent{.topic = std::string(components::kFailoverDrillTopic),
                              .source = "opsready.drills",
                              .time = now,
                              .payload = std::move(doc)};
}

asio::awaitable<core::Result<void>> DrillService::restore(const drills::Run& run) {
  const auto& s = run.scenario();
  const auto& f = s.fault;
  switch (f.kind) {
    case drills::FaultKind::kReceiverOutage:
      hooks_.outage(f.receiver, false);
      co_return core::Result<void>{};
    case drills::FaultKind::kFeedStall:
      stalled_.clear();
      co_return core::Result<void>{};
    case drills::FaultKind::kCommand:
      co_return co_await fault_command(run, f.undo);
    case drills::FaultKind::kTaskCrash:
      // Stopped, the drill's supervisor leaves the tree (a temporary child that ended); one
      // that already failed has left it.
      if (crash_supervisor_ != nullptr) crash_supervisor_->request_stop();
      crash_supervisor_ = nullptr;
      co_return core::Result<void>{};
    case drills::FaultKind::kStoreFault:
      co_return co_await set_store_fault({});
    case drills::FaultKind::kIncidentChaos: {
      auto cleared = hooks_.engine()->set_incident_chaos({}, clock_.now());
      if (!cleared) co_return std::unexpected(cleared.error());
      co_return core::Result<void>{};
    }
    case drills::FaultKind::kIngestFailover:
      // The drill's report stays the component's latest (it is the latest failover drill); the
      // undo, when given, switches the runtime back to its primary.
      if (f.undo.empty()) co_return core::Result<void>{};
      co_return co_await fault_command(run, f.undo);
  }
  co_return core::Result<void>{};
}

asio::awaitable<void> DrillService::write(const drills::Run& run) {
  const store::DrillRunRow row = row_of(run);
  core::Result<void> written;
  const std::function<void()> job = [this, &row, &written] { written = store_.put_drill_run(row); };
  co_await coro::run_to_completion(&ctx_, pool_.get_executor(), &job);
  if (!written) {
    spdlog::error("drills: cannot store drill {}: {}", row.id, written.error().message);
  }
  std::lock_guard lock(mu_);
  running_row_ = row;
}

void DrillService::finished(const drills::Run& run) {
  const auto& e = run.evidence();
  if (!e.verdict) return;
  const std::string& name = e.scenario.name;
  metrics_->runs.with({name, std::string(drills::to_string(*e.verdict))}).inc();
  if (auto d = e.mttd()) metrics_->mttd.with({name}).set(core::to_seconds(*d));
  if (auto d = e.mtta()) metrics_->mtta.with({name}).set(core::to_seconds(*d));
  if (auto d = e.mttr()) metrics_->mttr.with({name}).set(core::to_seconds(*d));
  if (e.finished_at) {
    metrics_->last_run.with({name}).set(core::to_seconds(e.finished_at->time_since_epoch()));
    if (*e.verdict == drills::Verdict::kPass || *e.verdict == drills::Verdict::kFail) {
      hooks_.engine()->set_last_drill(*e.finished_at);
    }
  }
  spdlog::info("drills: {} ({}) ended: {}{}", e.drill_id, name, drills::to_string(*e.verdict),
               e.reason.empty() ? "" : " — " + e.reason);
}

asio::awaitable<void> DrillService::run_one(Pending p) {
  drills::Run run(*p.scenario, {.id = p.id,
                                .started_at = clock_.now(),
                                .forced = p.forced,
                                .started_by = p.by,
                                .base_url = base_url_});
  metrics_->running.set(1);
  recorded_.clear();
  decided_.clear();
  observing_ = true;
  hooks_.engine()->set_drill_components(targets_of(*p.scenario), clock_.now());
  spdlog::info("drills: {} ({}) started{}", p.id, p.scenario->name,
               p.by.empty() ? "" : " by " + p.by);
  asio::steady_timer poll(ctx_);
  std::exception_ptr error;
  try {
    for (;;) {
      std::string stop_by;
      {
        std::lock_guard lock(mu_);
        stop_by.swap(stop_requested_);
      }
      if (!stop_by.empty()) (void)run.stop("stopped by " + stop_by, clock_.now());
      const drills::Observation o = co_await observe(run);
      for (const auto& a : run.step(o)) {
        switch (a.kind) {
          case drills::Run::Action::Kind::kInject: {
            co_await write(run);  // the recovery record, before anything is injected
            const TimePoint began = clock_.now();
            const auto r = co_await inject(run);
            run.injected(began, clock_.now(), r);
            if (!r)
              spdlog::error("drills: {}: the fault could not be injected: {}", p.id,
                            r.error().message);
            break;
          }
          case drills::Run::Action::Kind::kRestore: {
            const auto r = co_await restore(run);
            run.restored(clock_.now(), r);
            if (!r)
              spdlog::error("drills: {}: the fault could not be undone: {}", p.id,
                            r.error().message);
            break;
          }
          case drills::Run::Action::Kind::kAck: {
            auto ok =
                hooks_.engine()->ack(a.group,
                                     alerting::Ack{.by = a.by,
                                                   .comment = "scripted responder of drill " + p.id,
                                                   .channel = "drill"},
                                     clock_.now());
            if (!ok)
              spdlog::warn("drills: {}: the responder's ack failed: {}", p.id, ok.error().message);
            break;
          }
        }
      }
      if (run.finished()) break;
      {
        const store::DrillRunRow row = row_of(run);
        std::lock_guard lock(mu_);
        running_row_ = row;
      }
      poll.expires_after(config_.poll_interval);
      if (!co_await coro::wait(poll)) break;  // opsready is stopping
    }
  } catch (...) {
    error = std::current_exception();
  }
  if (!run.finished()) {
    // A stop of opsready, or a failure of this loop: the fault must not outlive the drill.
    if (run.stop(error ? "the drill loop failed" : "opsready is shutting down", clock_.now())) {
      const auto r = co_await restore(run);
      run.restored(clock_.now(), r);
    }
  }
  hooks_.engine()->set_drill_components({}, clock_.now());
  finished(run);
  co_await write(run);
  recorded_.clear();
  decided_.clear();
  observing_ = false;
  metrics_->running.set(0);
  if (error) std::rethrow_exception(error);
}

asio::awaitable<void> DrillService::loop() {
  co_await asio::this_coro::throw_if_cancelled(false);
  asio::steady_timer& wake = *wake_timer_;
  for (;;) {
    std::optional<Pending> p;
    {
      std::lock_guard lock(mu_);
      if (pending_) {
        p = std::move(pending_);
        pending_.reset();
        running_id_ = p->id;
        waiting_ = false;
      } else {
        waiting_ = true;
      }
    }
    if (!p) {
      wake.expires_at(asio::steady_timer::time_point::max());
      (void)co_await coro::wait(wake);
      if (co_await coro::cancel_requested()) {
        std::lock_guard lock(mu_);
        waiting_ = false;
        co_return;
      }
      continue;
    }
    std::exception_ptr error;
    try {
      co_await run_one(std::move(*p));
    } catch (...) {
      error = std::current_exception();
    }
    {
      std::lock_guard lock(mu_);
      running_id_.clear();
      running_row_.reset();
      stop_requested_.clear();
    }
    if (error) std::rethrow_exception(error);
    if (co_await coro::cancel_requested()) co_return;
  }
}

DrillService::Reply DrillService::start(const nlohmann::json& request) {
  if (!request.is_object()) return {400, {{"error", "the body must be a JSON object"}}};
  const auto field = [&](const char* k) {
    return request.contains(k) ? request[k] : nlohmann::json();
  };
  for (const auto& [k, v] : request.items()) {
    if (k != "scenario" && k != "dry_run" && k != "force" && k != "by") {
      return {400, {{"error", "unknown field '" + k + "' (known: scenario, dry_run, force, by)"}}};
    }
  }
  if (!field("scenario").is_string()) return {400, {{"error", "'scenario' must be a string"}}};
  for (const char* k : {"dry_run", "force"}) {
    if (!field(k).is_null() && !field(k).is_boolean()) {
      return {400, {{"error", std::string("'") + k + "' must be true or false"}}};
    }
  }
  if (!field("by").is_null() && !field("by").is_string()) {
    return {400, {{"error", "'by' must be a string"}}};
  }
  const std::string name = field("scenario").get<std::string>();
  const drills::Scenario* s = find(name);
  if (s == nullptr) {
    std::string known;
    for (const auto& x : config_.scenarios) known += (known.empty() ? "" : ", ") + x.name;
    return {404,
            {{"error", "no drill scenario is named '" + name + "' (configured: " +
                           (known.empty() ? "none; see drills.scenarios" : known) + ")"}}};
  }
  const bool dry = field("dry_run").is_boolean() && field("dry_run").get<bool>();
  const bool force = field("force").is_boolean() && field("force").get<bool>();
  const std::string by = field("by").is_string() ? field("by").get<std::string>() : "";
  const auto snap = hooks_.current ? hooks_.current() : nullptr;
  const bool blocked = snap && snap->gate.decision == readiness::GateDecision::Decision::kBlock;

  if (dry) {
    // The steady-state checks now, on the strand; nothing is injected or stored.
    auto promise = std::make_shared<std::promise<drills::Evidence>>();
    auto future = promise->get_future();
    asio::post(ctx_, [this, s, promise, by] {
      drills::Run run(*s, {.id = "dry-run",
                           .started_at = clock_.now(),
                           .dry_run = true,
                           .started_by = by,
                           .base_url = base_url_});
      std::vector<std::string> keys;
      engine::Engine* e = hooks_.engine();
      if (e == nullptr) {
        promise->set_value(run.evidence());
        return;
      }
      (void)run.step(observe_now(*e, *s, clock_.now(), keys));
      promise->set_value(run.evidence());
    });
    if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      return {503, {{"error", "the evaluation strand did not answer within 10s"}}};
    }
    const drills::Evidence ev = future.get();
    bool held = true;
    for (const auto& c : ev.steady_state_before) held = held && c.held;
    nlohmann::json steady = nlohmann::json::array();
    for (const auto& c : ev.steady_state_before) {
      steady.push_back({{"check", c.check}, {"held", c.held}, {"observed", c.observed}});
    }
    std::string refusal;
    if (blocked && !force) refusal = "the gate blocks: a run would be refused without force";
    return {200,
            {{"dry_run", true},
             {"scenario", drills::to_json(*s)},
             {"steady_state", std::move(steady)},
             {"steady_state_held", held},
             {"gate_blocks", blocked},
             {"would_run", held && refusal.empty()},
             {"refusal", refusal}}};
  }

  std::lock_guard lock(mu_);
  if (pending_ || !running_id_.empty()) {
    const std::string other = pending_ ? pending_->id : running_id_;
    return {409,
            {{"error", "drill " + other + " is running; one drill runs at a time"},
             {"running", other}}};
  }
  if (blocked && !force) {
    return {409,
            {{"error",
              "the gate blocks, so the drill does not run (a drill adds a failure "
              "to a system that is already not fit to trade); pass force to run "
              "it anyway"}}};
  }
  Pending p{.id = new_id(clock_.now()), .scenario = s, .forced = blocked && force, .by = by};
  const std::string id = p.id;
  const TimePoint now = clock_.now();
  // What GET /api/v1/drills/{id} answers until the loop's first step.
  running_row_ = store::DrillRunRow{
      .id = id,
      .scenario = name,
      .started_at = now,
      .json = json_starting(id, name, now),
      .markdown = "# Drill " + id + " – " + name + "\n\n- **Verdict:** starting\n"};
  pending_ = std::move(p);
  if (waiting_) asio::post(ctx_, [this] { wake_timer_->cancel(); });
  return {202,
          {{"drill_id", id},
           {"scenario", name},
           {"status", "started"},
           {"links", {{"self", base_url_ + "/api/v1/drills/" + id}}}}};
}

DrillService::Reply DrillService::stop(const std::string& id, const std::string& by) {
  std::lock_guard lock(mu_);
  if (running_id_ != id || id.empty()) {
    return {409, {{"error", "drill " + id + " is not running"}}};
  }
  stop_requested_ = by.empty() ? "an operator" : by;
  return {202, {{"drill_id", id}, {"status", "stopping"}}};
}

DrillService::Reply DrillService::list(const std::string& scenario, std::size_t limit) const {
  nlohmann::json scenarios = nlohmann::json::array();
  for (const auto& s : config_.scenarios) scenarios.push_back(drills::to_json(s));
  nlohmann::json running = nullptr;
  {
    std::lock_guard lock(mu_);
    if (running_row_) {
      running = summary_of(*running_row_);
    } else if (pending_ || !running_id_.empty()) {
      running = {{"drill_id", pending_ ? pending_->id : running_id_}};
    }
  }
  auto rows = store_.drill_runs({.scenario = scenario, .limit = limit});
  if (!rows) return {500, {{"error", "drill runs unavailable: " + rows.error().message}}};
  nlohmann::json runs = nlohmann::json::array();
  for (const auto& r : *rows) runs.push_back(summary_of(r));
  return {200,
          {{"scenarios", std::move(scenarios)},
           {"running", std::move(running)},
           {"runs", std::move(runs)}}};
}

core::Result<std::optional<store::DrillRunRow>> DrillService::get(const std::string& id) const {
  {
    std::lock_guard lock(mu_);
    if (running_row_ && running_row_->id == id)
      return std::optional<store::DrillRunRow>(*running_row_);
  }
  return store_.drill_run(id);
}

}  // namespace opsready::app
