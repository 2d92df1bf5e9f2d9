#include "opsready/components/ingest_slos.h"

#include <algorithm>
#include <cmath>

#include "opsready/components/report.h"
#include "opsready/core/time.h"

namespace opsready::components {
namespace {

constexpr std::string_view kHealthTopic = "telemetry.ingest.health";
constexpr std::string_view kFreshnessTopic = "telemetry.ingest.freshness_seconds";
constexpr std::string_view kCompletenessTopic = "telemetry.ingest.completeness";
constexpr std::string_view kLatencyTopic = "telemetry.ingest.latency_seconds";
constexpr std::string_view kEventsTopic = "telemetry.ingest.events";
constexpr std::uint32_t kMaxLatencyWindow = 1u << 20;

bool valid_token(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

SloStatus worse(SloStatus a, SloStatus b) { return a >= b ? a : b; }

core::Status to_core(SloStatus s) { return static_cast<core::Status>(s); }

double seconds(core::Duration d) { return core::to_seconds(d); }

std::string secs(double v, int decimals) { return fixed(v, decimals) + "s"; }

nlohmann::json string_list(const nlohmann::json& j, const char* key) {
  nlohmann::json out = nlohmann::json::array();
  if (!j.is_object()) return out;
  const auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& v : *it) {
    if (v.is_string() && !v.get_ref<const std::string&>().empty()) out.push_back(v);
  }
  return out;
}

std::string plural(std::size_t n, std::string_view what) {
  return std::to_string(n) + " " + std::string(what) + (n == 1 ? "" : "s");
}

}  // namespace

std::string_view to_string(SloStatus s) {
  switch (s) {
    case SloStatus::kPass:
      return "pass";
    case SloStatus::kWarn:
      return "warn";
    case SloStatus::kFail:
      return "fail";
  }
  return "fail";
}

std::map<std::string, std::string> default_ingest_routes() {
  return {{"timescale_ingest", "pagerduty:data-backbone"},
          {"timescale_ingest.daily_bars", "slack:#ops-timescale"},
          {"timescale_ingest.intraday_trades", "slack:#ops-timescale"},
          {"timescale_ingest.macro_events", "slack:#ops-timescale"}};
}

core::Result<void> validate(const IngestTargets& t) {
  if (t.freshness_target <= core::Duration::zero()) {
    return core::fail("invalid_parameter", "must be positive", "freshness_target");
  }
  if (t.freshness_breach && *t.freshness_breach < t.freshness_target) {
    return core::fail("invalid_parameter", "must not be below freshness_target",
                      "freshness_breach");
  }
  if (!(t.completeness_target >= 0 && t.completeness_target <= 1)) {
    return core::fail("invalid_parameter", "must be between 0 and 1", "completeness_target");
  }
  if (!(t.completeness_breach >= 0 && t.completeness_breach <= t.completeness_target)) {
    return core::fail("invalid_parameter", "must be between 0 and completeness_target",
                      "completeness_breach");
  }
  if (t.latency_target_p95 <= core::Duration::zero()) {
    return core::fail("invalid_parameter", "must be positive", "latency_target_p95");
  }
  if (t.latency_breach_p95 && *t.latency_breach_p95 < t.latency_target_p95) {
    return core::fail("invalid_parameter", "must not be below latency_target_p95",
                      "latency_breach_p95");
  }
  return {};
}

const IngestTargets& IngestSlosConfig::targets_for(const std::string& dimension) const {
  const auto it = dimensions.find(dimension);
  return it == dimensions.end() ? targets : it->second;
}

core::Result<void> validate(const IngestSlosConfig& c) {
  if (!valid_token(c.service)) {
    return core::fail("invalid_parameter", "must be [a-z0-9_-]+, at most 64 characters", "service");
  }
  if (auto ok = validate(c.targets); !ok) return ok;
  for (const auto& [name, t] : c.dimensions) {
    if (!valid_token(name)) {
      return core::fail("invalid_parameter",
                        "'" + name + "' is not a dimension name ([a-z0-9_-]+, at most 64)",
                        "dimensions");
    }
    if (auto ok = validate(t); !ok) {
      return core::fail(ok.error().code, ok.error().message,
                        "dimensions." + name + "." + ok.error().field);
    }
  }
  if (c.latency_window < 1 || c.latency_window > kMaxLatencyWindow) {
    return core::fail("invalid_parameter", "must be between 1 and 1048576", "latency_window");
  }
  if (auto ok = detect::validate(c.burn_rate); !ok) {
    return core::fail(ok.error().code, ok.error().message, "burn_rate." + ok.error().field);
  }
  if (c.max_dimensions < 1) return core::fail("invalid_parameter", "must be ≥ 1", "max_dimensions");
  return {};
}

nlohmann::json to_json(const IngestSloReport& r, std::string_view service,
                       core::TimePoint generated_at) {
  nlohmann::json slos = nlohmann::json::array();
  for (const auto& rec : r.records) {
    const auto object = [](const nlohmann::json& v) {
      return v.is_null() ? nlohmann::json::object() : v;
    };
    nlohmann::json j = {{"name", rec.name},
                        {"status", to_string(rec.status)},
                        {"message", rec.message},
                        {"target", object(rec.target)},
                        {"observed", object(rec.observed)}};
    if (!rec.alert_route.empty()) j["alert_route"] = rec.alert_route;
    if (!rec.metadata.is_null() && !rec.metadata.empty()) j["metadata"] = rec.metadata;
    slos.push_back(std::move(j));
  }
  nlohmann::json metadata = nlohmann::json::object();
  if (r.ingest_health) metadata["ingest_health"] = *r.ingest_health;
  return {{"service", service},
          {"generated_at", core::format_rfc3339(generated_at)},
          {"status", to_string(r.status)},
          {"slos", slos},
          {"metadata", metadata}};
}

std::string to_markdown(const IngestSloReport& r, std::string_view service,
                        core::TimePoint generated_at) {
  std::string out = "**Operational SLOs – " + std::string(service) +
                    "** (status: " + std::string(to_string(r.status)) +
                    ", generated: " + core::format_rfc3339(generated_at) + ")\n\n" +
                    "| SLO | Status | Message | Alert |\n| --- | --- | --- | --- |\n";
  for (const auto& rec : r.records) {
    out += "| " + rec.name + " | " + std::string(to_string(rec.status)) + " | " + rec.message +
           " | " + rec.alert_route + " |\n";
  }
  if (r.ingest_health) out += "\nMetadata:\n- **ingest_health**: " + *r.ingest_health + "\n";
  return out;
}

IngestSlos::IngestSlos(const IngestSlosConfig& config) : config_(config) {
  for (auto it = config_.alert_routes.begin(); it != config_.alert_routes.end();) {
    it = it->second.empty() ? config_.alert_routes.erase(it) : std::next(it);
  }
}

core::Result<std::unique_ptr<IngestSlos>> IngestSlos::create(const IngestSlosConfig& config) {
  if (auto ok = validate(config); !ok) return std::unexpected(ok.error());
  return std::unique_ptr<IngestSlos>(new IngestSlos(config));
}

bool IngestSlos::consumes(std::string_view topic) const {
  return topic == kHealthTopic || topic == kFreshnessTopic || topic == kCompletenessTopic ||
         topic == kLatencyTopic || topic == kEventsTopic;
}

core::Result<IngestSlos::Dimension*> IngestSlos::dimension(const std::string& name) {
  if (!valid_token(name)) {
    return core::fail("invalid_dimension",
                      "'" + name + "' is not an ingest dimension ([a-z0-9_-]+, at most 64)",
                      "payload.series");
  }
  auto it = dimensions_.find(name);
  if (it != dimensions_.end()) return &it->second;
  if (dimensions_.size() >= config_.max_dimensions) {
    return core::fail("too_many_dimensions",
                      "at most " + std::to_string(config_.max_dimensions) +
                          " ingest dimensions are tracked (ingest_slos.max_dimensions)",
                      "payload.series");
  }
  return &dimensions_[name];
}

// The shape of an ingest health report; errors name the payload field. A report of another
// shape (e.g. the ingest *results* {"results": ...}) is refused with the offending key, never
// read as an empty, healthy report.
static core::Result<void> check_health_report(const nlohmann::json& p) {
  if (!p.is_object()) return core::fail("wrong_type", "must be a JSON object", "payload");
  if (auto ok = Doc(p, "payload").only({"status", "generated_at", "checks", "metrics", "metadata"});
      !ok) {
    return std::unexpected(ok.error());
  }
  if (!p.contains("status") && !p.contains("checks")) {
    return core::fail("missing_field", "an ingest health report needs 'status' or 'checks'",
                      "payload");
  }
  const auto checks = p.find("checks");
  if (checks != p.end() && !checks->is_null() && !checks->is_array()) {
    return core::fail("wrong_type", "must be a list of checks", "payload.checks");
  }
  if (checks != p.end() && checks->is_array()) {
    for (std::size_t k = 0; k < checks->size(); ++k) {
      const auto& c = (*checks)[k];
      const std::string at = "payload.checks[" + std::to_string(k) + "]";
      if (!c.is_object()) return core::fail("wrong_type", "must be an object", at);
      if (auto ok =
              Doc(c, at).only({"dimension", "status", "message", "rows_written",
                               "freshness_seconds", "ingest_duration_seconds", "expected_symbols",
                               "observed_symbols", "missing_symbols", "metadata"});
          !ok) {
        return std::unexpected(ok.error());
      }
      const auto dim = c.find("dimension");
      if (dim == c.end() || !dim->is_string() || !valid_token(dim->get<std::string>())) {
        return core::fail("invalid_dimension",
                          "needs a 'dimension' of [a-z0-9_-]+ (at most 64 characters)",
                          at + ".dimension");
      }
    }
  }
  if (const auto m = p.find("metrics"); m != p.end() && !m->is_null() && !m->is_object()) {
    return core::fail("wrong_type", "must be an object", "payload.metrics");
  }
  return {};
}

core::Result<void> IngestSlos::check(const core::TelemetryEvent& event) {
  if (event.topic == kHealthTopic) return check_health_report(event.payload);
  if (consumes(event.topic)) {
    if (auto sample = core::sample_from_json(event.payload); !sample) {
      return std::unexpected(sample.error());
    }
  }
  return {};
}

core::Result<void> IngestSlos::apply(const core::TelemetryEvent& event) {
  if (event.topic == kHealthTopic) {
    const auto& p = event.payload;
    if (auto ok = check_health_report(p); !ok) return ok;
    health_ = p;
  } else if (consumes(event.topic)) {
    auto sample = core::sample_from_json(event.payload);
    if (!sample) return std::unexpected(sample.error());
    const double v = sample->value;
    if (event.topic == kCompletenessTopic && !(v >= 0 && v <= 1)) {
      return core::fail("invalid_value", "a completeness share must be between 0 and 1",
                        "payload.value");
    }
    if (event.topic != kCompletenessTopic && v < 0) {
      return core::fail("invalid_value", "must be ≥ 0", "payload.value");
    }
    std::uint64_t count = 0;
    bool error_outcome = false;
    if (event.topic == kEventsTopic) {
      if (v != std::floor(v) || v > 9.0e15) {
        return core::fail("invalid_value", "an event count must be a whole number",
                          "payload.value");
      }
      count = static_cast<std::uint64_t>(v);
      if (const auto it = sample->labels.find("outcome"); it != sample->labels.end()) {
        if (it->second == "error") {
          error_outcome = true;
        } else if (it->second != "ok") {
          return core::fail("invalid_value", "must be 'ok' or 'error'", "payload.labels.outcome");
        }
      }
    }
    auto d = dimension(sample->series);
    if (!d) return std::unexpected(d.error());
    Dimension& dim = **d;
    if (event.topic == kFreshnessTopic) {
      dim.freshness_seconds = v;
      dim.freshness_at = event.time;
    } else if (event.topic == kCompletenessTopic) {
      dim.completeness = v;
    } else if (event.topic == kLatencyTopic) {
      if (!dim.latencies) dim.latencies.emplace(config_.latency_window);
      dim.latencies->add(v);
    } else {
      if (!dim.burn) {
        auto created = detect::BurnRateEvaluator::create(config_.burn_rate);
        if (!created) return std::unexpected(created.error());  // validated in create()
        dim.burn.emplace(std::move(*created));
      }
      const auto rec = dim.burn->record(event.time, count, error_outcome ? count : 0);
      if (rec == detect::BurnRateEvaluator::Record::kTooOld) {
        return core::fail("too_old", "older than every burn-rate window", "time");
      }
    }
  } else {
    return core::fail("unknown_topic", "not an ingest SLO topic", "topic");
  }
  ++applied_;
  last_event_ = std::max(last_event_, event.time);
  return {};
}

std::string IngestSlos::route_for(const std::string& record, const std::string& dimension) const {
  for (const std::string& key : {record, config_.service + "." + dimension, config_.service}) {
    if (const auto it = config_.alert_routes.find(key); it != config_.alert_routes.end()) {
      return it->second;
    }
  }
  return {};
}

void IngestSlos::add_dimension_records(const std::string& name, Dimension& d, core::TimePoint now,
                                       bool details, std::vector<SloRecord>& out) {
  const IngestTargets& t = config_.targets_for(name);
  const std::string prefix = config_.service + "." + name + ".";
  if (d.freshness_seconds) {
    const double age = *d.freshness_seconds + std::max(0.0, seconds(now - d.freshness_at));
    const double target = seconds(t.freshness_target);
    const double breach = seconds(t.freshness_breach_or_default());
    SloRecord r{.name = prefix + "freshness"};
    if (age > breach) {
      r.status = SloStatus::kFail;
      r.message = "freshness " + secs(age, 0) + " exceeds breach " + secs(breach, 0);
    } else if (age > target) {
      r.status = SloStatus::kWarn;
      r.message = "freshness " + secs(age, 0) + " above target " + secs(target, 0);
    } else {
      r.message = "freshness " + secs(age, 0) + " within target " + secs(target, 0);
    }
    if (details) {
      r.target = {{"freshness_seconds", target}, {"freshness_breach_seconds", breach}};
      r.observed = {{"freshness_seconds", age},
                    {"reported_freshness_seconds", *d.freshness_seconds},
                    {"reported_at", core::format_rfc3339(d.freshness_at)}};
    }
    if (details) r.alert_route = route_for(r.name, name);
    out.push_back(std::move(r));
  }
  if (d.completeness) {
    const double c = *d.completeness;
    SloRecord r{.name = prefix + "completeness"};
    if (c < t.completeness_breach) {
      r.status = SloStatus::kFail;
      r.message =
          "completeness " + percent(c, 2) + " below breach " + percent(t.completeness_breach, 2);
    } else if (c < t.completeness_target) {
      r.status = SloStatus::kWarn;
      r.message =
          "completeness " + percent(c, 2) + " below target " + percent(t.completeness_target, 2);
    } else {
      r.message =
          "completeness " + percent(c, 2) + " meets target " + percent(t.completeness_target, 2);
    }
    if (details) {
      r.target = {{"completeness", t.completeness_target},
                  {"completeness_breach", t.completeness_breach}};
      r.observed = {{"completeness", c}};
    }
    if (details) r.alert_route = route_for(r.name, name);
    out.push_back(std::move(r));
  }
  if (d.latencies && !d.latencies->empty()) {
    const SlidingQuantiles& q = *d.latencies;
    const double p95 = q.nearest_rank(0.95);
    const double max = q.max();
    const double target = seconds(t.latency_target_p95);
    const double breach = seconds(t.latency_breach_or_default());
    SloRecord r{.name = prefix + "latency"};
    if (p95 > breach) {
      r.status = SloStatus::kFail;
      r.message = "p95 " + secs(p95, 2) + " exceeds breach threshold " + secs(breach, 2);
    } else if (max > breach) {
      r.status = SloStatus::kFail;
      r.message = "max " + secs(max, 2) + " exceeds breach threshold " + secs(breach, 2) +
                  " (p95 " + secs(p95, 2) + ")";
    } else if (p95 > target) {
      r.status = SloStatus::kWarn;
      r.message = "p95 " + secs(p95, 2) + " above target " + secs(target, 2);
    } else {
      r.message = "p95 " + secs(p95, 2) + " within target " + secs(target, 2);
    }
    if (details) {
      r.target = {{"p95_seconds", target}, {"p95_fail_seconds", breach}};
      r.observed = {{"p50_seconds", q.nearest_rank(0.50)},
                    {"p95_seconds", p95},
                    {"p99_seconds", q.nearest_rank(0.99)},
                    {"max_seconds", max},
                    {"samples", q.size()}};
    }
    if (details) r.alert_route = route_for(r.name, name);
    out.push_back(std::move(r));
  }
  if (d.burn) {
    const auto& e = d.burn->evaluate(now);
    const auto& windows = config_.burn_rate.windows;
    SloRecord r{.name = prefix + "burn_rate",
                .status = static_cast<SloStatus>(detect::to_status(e.severity))};
    nlohmann::json pairs = nlohmann::json::array();
    nlohmann::json targets = nlohmann::json::array();
    std::size_t firing = windows.size();
    bool any_traffic = false;
    for (std::size_t k = 0; k < e.pairs.size(); ++k) {
      const auto& p = e.pairs[k];
      const auto& w = windows[k];
      const auto reading = [](const detect::BurnRateWindowReading& x) {
        return nlohmann::json{{"events", x.events},
                              {"errors", x.errors},
                              {"error_ratio", x.error_ratio},
                              {"burn_rate", x.burn_rate}};
      };
      if (details) {
        pairs.push_back({{"long_window", reading(p.long_window)},
                         {"short_window", reading(p.short_window)},
                         {"enough_traffic", p.enough_traffic},
                         {"firing", p.firing}});
        targets.push_back({{"long_window", core::format_duration(w.long_window)},
                           {"short_window", core::format_duration(w.short_window)},
                           {"burn_rate", w.burn_rate},
                           {"severity", detect::to_string(w.severity)}});
      }
      any_traffic = any_traffic || p.enough_traffic;
      if (p.firing && w.severity == e.severity && firing == windows.size()) firing = k;
    }
    if (firing < windows.size()) {
      const auto& p = e.pairs[firing];
      const auto& w = windows[firing];
      r.message = "error budget burning " + fixed(p.long_window.burn_rate, 1) + "x over " +
                  core::format_duration(w.long_window) + " and " +
                  fixed(p.short_window.burn_rate, 1) + "x over " +
                  core::format_duration(w.short_window) + " (threshold " + shortest(w.burn_rate) +
                  "x, " + std::string(detect::to_string(w.severity)) + ")";
    } else if (!any_traffic) {
      r.message = "burn rate not evaluated: fewer than " +
                  std::to_string(config_.burn_rate.min_events) + " events in every window pair";
    } else {
      r.message = "error budget burn within limits (" +
                  fixed(e.pairs.front().long_window.burn_rate, 2) + "x over " +
                  core::format_duration(windows.front().long_window) + ")";
    }
    if (details) {
      r.target = {{"objective", config_.burn_rate.objective},
                  {"min_events", config_.burn_rate.min_events},
                  {"windows", targets}};
      r.observed = {{"pairs", pairs}, {"refused", d.burn->refused()}};
    }
    if (details) r.alert_route = route_for(r.name, name);
    out.push_back(std::move(r));
  }
}

IngestSloReport IngestSlos::report(core::TimePoint now) { return evaluate(now, true); }

IngestSloReport IngestSlos::evaluate(core::TimePoint now, bool details) {
  IngestSloReport report;
  std::vector<SloRecord> records;
  nlohmann::json summary_observed = nlohmann::json::object();
  std::size_t checks_count = 0;
  if (!health_.is_null()) {
    const auto& p = health_;
    const std::string health_status =
        p.contains("status") && p["status"].is_string() ? p["status"].get<std::string>() : "";
    if (!health_status.empty()) report.ingest_health = health_status;
    summary_observed["health_status"] =
        health_status.empty() ? nlohmann::json() : nlohmann::json(health_status);
    nlohmann::json metrics_by_dim = nlohmann::json::object();
    bool have_metrics = false;
    double total_rows = 0;
    if (const auto m = p.find("metrics"); m != p.end() && m->is_object()) {
      have_metrics = true;
      if (const auto dims = m->find("dimensions"); dims != m->end() && dims->is_array()) {
        for (const auto& d : *dims) {
          if (!d.is_object() || !d.contains("dimension") || !d["dimension"].is_string()) continue;
          metrics_by_dim[d["dimension"].get<std::string>()] = d;
          total_rows += number_field(d, "rows").value_or(0.0);
        }
      }
      summary_observed["total_rows"] = total_rows;
      if (const auto g = m->find("generated_at"); g != m->end() && g->is_string()) {
        summary_observed["metrics_generated_at"] = *g;
      }
    }
    if (const auto checks = p.find("checks"); checks != p.end() && checks->is_array()) {
      for (const auto& c : *checks) {
        ++checks_count;
        const std::string dim = c["dimension"].get<std::string>();
        SloRecord r{.name = config_.service + "." + dim};
        const std::string st =
            c.contains("status") && c["status"].is_string() ? c["status"].get<std::string>() : "";
        r.status = st == "ok"     ? SloStatus::kPass
                   : st == "warn" ? SloStatus::kWarn
                                  : SloStatus::kFail;
        r.message = c.contains("message") && c["message"].is_string()
                        ? c["message"].get<std::string>()
                        : "ingest check " + (st.empty() ? std::string("without status") : st);
        r.observed = {{"rows", c.value("rows_written", nlohmann::json())},
                      {"freshness_seconds", c.value("freshness_seconds", nlohmann::json())}};
        if (have_metrics && metrics_by_dim.contains(dim)) {
          const auto& m = metrics_by_dim[dim];
          r.observed["rows"] = m.value("rows", nlohmann::json());
          r.observed["freshness_seconds"] = m.value("freshness_seconds", nlohmann::json());
          if (m.contains("symbols")) r.observed["symbols"] = m["symbols"];
          if (m.contains("ingest_duration_seconds")) {
            r.observed["ingest_duration_seconds"] = m["ingest_duration_seconds"];
          }
        } else if (auto symbols = string_list(c, "observed_symbols"); !symbols.empty()) {
          r.observed["symbols"] = symbols;
        }
        if (!r.observed.contains("ingest_duration_seconds") &&
            c.contains("ingest_duration_seconds")) {
          r.observed["ingest_duration_seconds"] = c["ingest_duration_seconds"];
        }
        const nlohmann::json meta = c.value("metadata", nlohmann::json::object());
        r.target = {
            {"freshness_seconds", meta.is_object()
                                      ? meta.value("freshness_sla_seconds", nlohmann::json())
                                      : nlohmann::json()},
            {"min_rows", meta.is_object() ? meta.value("min_rows_required", nlohmann::json())
                                          : nlohmann::json()}};
        if (auto missing = string_list(c, "missing_symbols"); !missing.empty()) {
          r.metadata["missing_symbols"] = missing;
        }
        if (auto expected = string_list(c, "expected_symbols"); !expected.empty()) {
          r.metadata["expected_symbols"] = expected;
        }
        r.alert_route = route_for(r.name, dim);
        records.push_back(std::move(r));
      }
    }
  }
  if (report.ingest_health) {
    // The spec ignores the report's own status (a report saying "error" with no check passes,
    // §11.2.9). Here a report status worse than every check it carries is a record of its own.
    const std::string& hs = *report.ingest_health;
    const SloStatus own = hs == "ok"     ? SloStatus::kPass
                          : hs == "warn" ? SloStatus::kWarn
                                         : SloStatus::kFail;
    SloStatus checks_worst = SloStatus::kPass;
    for (const auto& r : records) checks_worst = worse(checks_worst, r.status);
    if (own > checks_worst) {
      SloRecord r{.name = config_.service + ".health_report",
                  .status = own,
                  .message = "the ingest health report says " + hs + " and no check explains it"};
      r.observed = {{"health_status", hs}, {"checks", checks_count}};
      r.alert_route = route_for(r.name, "");
      records.push_back(std::move(r));
    }
  }
  for (auto& [name, d] : dimensions_) add_dimension_records(name, d, now, details, records);

  std::size_t fails = 0;
  std::size_t warns = 0;
  nlohmann::json status_counts = nlohmann::json::object();
  for (const auto& r : records) {
    report.status = worse(report.status, r.status);
    fails += r.status == SloStatus::kFail;
    warns += r.status == SloStatus::kWarn;
    const std::string key(to_string(r.status));
    status_counts[key] = status_counts.value(key, 0) + 1;
  }
  SloRecord summary{.name = config_.service, .status = report.status};
  if (fails > 0) {
    summary.message = plural(fails, "ingest SLO") + " breached";
  } else if (warns > 0) {
    summary.message = plural(warns, "ingest SLO") + " at risk";
  } else if (!records.empty()) {
    summary.message = "All ingest SLOs met";
  } else {
    summary.message = "No ingest checks executed";
  }
  summary_observed["dimensions"] = checks_count;
  summary_observed["streaming_dimensions"] = dimensions_.size();
  summary.observed = std::move(summary_observed);
  summary.alert_route = route_for(config_.service, "");
  summary.metadata["status_counts"] = status_counts;
  report.records.reserve(records.size() + 1);
  report.records.push_back(std::move(summary));
  for (auto& r : records) report.records.push_back(std::move(r));
  return report;
}

core::ComponentSnapshot IngestSlos::snapshot(core::TimePoint now, Detail detail) {
  IngestSloReport r = evaluate(now, detail == Detail::kFull);
  core::ComponentSnapshot s{.component = std::string(kIngestSlosName),
                            .status = to_core(r.status),
                            .summary = r.records.front().message,
                            .observed_at = last_event_};
  const std::string runbook = runbook_path(kIngestSlosName);
  int warn = 0;
  int fail = 0;
  for (std::size_t k = 1; k < r.records.size(); ++k) {
    const auto& rec = r.records[k];
    if (rec.status == SloStatus::kPass) continue;
    (rec.status == SloStatus::kFail ? fail : warn) += 1;
    s.issues.push_back({.code = rec.name,
                        .severity = core::severity_for(to_core(rec.status)),
                        .message = rec.name + ": " + rec.message,
                        .runbook = runbook});
  }
  if (detail == Detail::kFull) {
    nlohmann::json doc = to_json(r, config_.service, now);
    s.metadata = {{"service", config_.service},
                  {"slo_status", doc["status"]},
                  {"slos", std::move(doc["slos"])},
                  {"runbook", runbook}};
    if (r.ingest_health) s.metadata["ingest_health"] = *r.ingest_health;
    if (warn + fail > 0) {
      nlohmann::json counts = nlohmann::json::object();
      if (warn) counts["warn"] = warn;
      if (fail) counts["fail"] = fail;
      s.metadata["issue_counts"] = counts;
    }
  }
  return s;
}

}  // namespace opsready::components
