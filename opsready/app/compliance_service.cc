#include "opsready/app/compliance_service.h"

#include <algorithm>
#include <utility>

#include <spdlog/spdlog.h>
#include <asio/post.hpp>

#include "opsready/app/coro.h"
#include "opsready/core/time.h"

namespace opsready::app {

namespace {

using core::TimePoint;
using nlohmann::json;

// A completion may be dated this far ahead of opsready's clock (the recorder's clock skew).
constexpr auto kMaxFutureSkew = std::chrono::minutes(5);
// The loop republishes at least this often (observed_at stays fresh for the gate's max_age).
constexpr auto kRepublishEvery = std::chrono::minutes(1);
constexpr std::size_t kMaxByBytes = 256, kMaxEvidenceBytes = 2048, kMaxNoteBytes = 4096;

json to_json(const store::SignoffRow& r) {
  return {{"id", r.id},
          {"signoff", r.signoff},
          {"by", r.by},
          {"at", core::format_rfc3339(r.at)},
          {"recorded_at", core::format_rfc3339(r.recorded_at)},
          {"evidence", r.evidence},
          {"note", r.note},
          {"source", r.source}};
}

}  // namespace

struct ComplianceService::Metrics {
  explicit Metrics(metrics::Registry& r)
      : recorded(r.counter("opsready_signoffs_recorded_total",
                           "Sign-offs recorded (POST /api/v1/signoffs), by compliance.signoffs "
                           "name.",
                           {"signoff"})),
        last(r.gauge("opsready_signoff_last_completed_timestamp_seconds",
                     "Unix time of the sign-off's last recorded completion; 0 when none.",
                     {"signoff"})),
        due(r.gauge("opsready_signoff_due_timestamp_seconds",
                    "Unix time the sign-off falls due (last completion, or `since`, + every); 0 "
                    "when it has neither (overdue).",
                    {"signoff"})) {}
  metrics::CounterFamily& recorded;
  metrics::GaugeFamily& last;
  metrics::GaugeFamily& due;
};

ComplianceService::ComplianceService(const ComplianceConfig& config, store::Store& store,
                                     const core::Clock& clock, metrics::Registry& registry,
                                     asio::io_context& ctx, Hooks hooks)
    : config_(config),
      store_(store),
      clock_(clock),
      metrics_(std::make_unique<Metrics>(registry)),
      ctx_(ctx),
      hooks_(std::move(hooks)) {
  std::lock_guard lock(mu_);
  for (const auto& c : config_.signoffs) {
    metrics_->recorded.with({c.name});
    update_metrics(c);
  }
}

ComplianceService::~ComplianceService() = default;

const components::SignoffCadence* ComplianceService::find(std::string_view name) const {
  const auto it = std::find_if(config_.signoffs.begin(), config_.signoffs.end(),
                               [&](const auto& c) { return c.name == name; });
  return it == config_.signoffs.end() ? nullptr : &*it;
}

void ComplianceService::update_metrics(const components::SignoffCadence& c) {
  const auto it = last_.find(c.name);
  const components::SignoffCompletion* done = it == last_.end() ? nullptr : &it->second;
  metrics_->last.with({c.name}).set(done ? core::to_unix_seconds(done->at) : 0.0);
  const auto st = components::standing(c, done, clock_.now());
  metrics_->due.with({c.name}).set(st.due_at ? core::to_unix_seconds(*st.due_at) : 0.0);
}

core::Result<void> ComplianceService::restore() {
  for (const auto& c : config_.signoffs) {
    auto rows = store_.signoffs({.signoff = c.name, .limit = 1});
    if (!rows) return std::unexpected(rows.error());
    if (rows->empty()) continue;
    const auto& r = rows->front();
    std::lock_guard lock(mu_);
    last_[c.name] = {.by = r.by, .at = r.at, .evidence = r.evidence};
    update_metrics(c);
  }
  return {};
}

core::ComponentSnapshot ComplianceService::snapshot(TimePoint now) const {
  std::lock_guard lock(mu_);
  return components::grade_signoffs(
      config_.signoffs,
      [this](std::string_view n) -> const components::SignoffCompletion* {
        const auto it = last_.find(n);
        return it == last_.end() ? nullptr : &it->second;
      },
      now);
}

ComplianceService::Reply ComplianceService::record(const json& request, const std::string& source) {
  if (!request.is_object()) return {400, {{"error", "the body must be a JSON object"}}};
  for (const auto& [k, v] : request.items()) {
    if (k != "signoff" && k != "by" && k != "at" && k != "evidence" && k != "note") {
      return {400,
              {{"error", "unknown field '" + k + "' (known: signoff, by, at, evidence, note)"}}};
    }
    if (!v.is_string()) return {400, {{"error", "'" + k + "' must be a string"}}};
  }
  const auto field = [&](const char* k) { return request.value(k, std::string()); };
  const std::string name = field("signoff");
  const components::SignoffCadence* c = find(name);
  if (c == nullptr) {
    std::string known;
    for (const auto& x : config_.signoffs) known += (known.empty() ? "" : ", ") + x.name;
    return {404,
            {{"error", "no sign-off is named '" + name + "' (configured: " +
                           (known.empty() ? "none; see compliance.signoffs" : known) + ")"}}};
  }
  store::SignoffRow row{.signoff = name,
                        .by = field("by"),
                        .recorded_at = clock_.now(),
                        .evidence = field("evidence"),
                        .note = field("note"),
                        .source = source};
  if (row.by.empty()) return {400, {{"error", "'by' must name who signed off"}}};
  if (row.by.size() > kMaxByBytes || row.evidence.size() > kMaxEvidenceBytes ||
      row.note.size() > kMaxNoteBytes) {
    return {400,
            {{"error", "'by', 'evidence' and 'note' may hold at most 256, 2048 and 4096 bytes"}}};
  }
  row.at = row.recorded_at;
  if (request.contains("at")) {
    auto t = core::parse_rfc3339(field("at"));
    if (!t) return {400, {{"error", "'at' is not an RFC 3339 time: " + t.error().message}}};
    if (*t > row.recorded_at + kMaxFutureSkew) {
      return {400, {{"error", "'at' (" + field("at") + ") is in the future"}}};
    }
    row.at = *t;
  }
  auto id = store_.put_signoff(row);
  if (!id) return {503, {{"error", "the sign-off was not stored: " + id.error().message}}};
  row.id = *id;

  components::SignoffStanding st;
  {
    std::lock_guard lock(mu_);
    auto& last = last_[name];
    // A backdated record older than the last completion goes into the audit log only.
    if (last.by.empty() || row.at >= last.at) {
      last = {.by = row.by, .at = row.at, .evidence = row.evidence};
    }
    st = components::standing(*c, &last, row.recorded_at);
    metrics_->recorded.with({name}).inc();
    update_metrics(*c);
  }
  spdlog::info("compliance: {} signed off by {} at {} ({}), now {}", name, row.by,
               core::format_rfc3339(row.at), source, components::to_string(st.state));
  asio::post(ctx_, [this] {
    hooks_.publish(snapshot(clock_.now()));
    if (wake_ != nullptr) wake_->cancel();  // its next change moved
  });
  return {201,
          {{"signoff", to_json(row)},
           {"standing",
            {{"state", components::to_string(st.state)},
             {"due_at", st.due_at ? json(core::format_rfc3339(*st.due_at)) : json(nullptr)}}}}};
}

ComplianceService::Reply ComplianceService::list(const std::string& signoff,
                                                 std::size_t limit) const {
  if (!signoff.empty() && find(signoff) == nullptr) {
    return {404, {{"error", "no sign-off is named '" + signoff + "' (compliance.signoffs)"}}};
  }
  auto rows = store_.signoffs({.signoff = signoff, .limit = limit});
  if (!rows) return {503, {{"error", "sign-offs unavailable: " + rows.error().message}}};
  const core::ComponentSnapshot snap = snapshot(clock_.now());
  json cadences = json::array();
  const json& graded = snap.metadata["signoffs"];
  for (const auto& c : config_.signoffs) {
    if (!signoff.empty() && c.name != signoff) continue;
    // The grading's entry of this sign-off, by name (not by position).
    json j = json::object();
    for (const auto& g : graded) {
      if (g.value("name", "") == c.name) j = g;
    }
    j["due_soon"] = components::format_span(c.due_soon);
    j["overdue_status"] = core::to_string(c.overdue);
    j["description"] = c.description;
    j["runbook"] = c.runbook;
    cadences.push_back(std::move(j));
  }
  json records = json::array();
  for (const auto& r : *rows) records.push_back(to_json(r));
  return {200,
          {{"status", core::to_string(snap.status)},
           {"summary", snap.summary},
           {"signoffs", std::move(cadences)},
           {"records", std::move(records)}}};
}

asio::awaitable<void> ComplianceService::loop() {
  asio::steady_timer timer(ctx_);
  wake_ = &timer;
  struct Unset {
    asio::steady_timer*& p;
    ~Unset() { p = nullptr; }
  } unset{wake_};
  for (;;) {
    const TimePoint now = clock_.now();
    hooks_.publish(snapshot(now));
    std::optional<TimePoint> next;
    {
      std::lock_guard lock(mu_);
      for (const auto& c : config_.signoffs) update_metrics(c);
      next = components::next_standing_change(
          config_.signoffs,
          [this](std::string_view n) -> const components::SignoffCompletion* {
            const auto it = last_.find(n);
            return it == last_.end() ? nullptr : &it->second;
          },
          now);
    }
    core::Duration sleep = kRepublishEvery;
    if (next) sleep = std::min<core::Duration>(sleep, *next - now);
    timer.expires_after(std::max<core::Duration>(sleep, std::chrono::milliseconds(1)));
    if (!co_await coro::wait(timer) && co_await coro::cancel_requested()) co_return;
  }
}

}  // namespace opsready::app
