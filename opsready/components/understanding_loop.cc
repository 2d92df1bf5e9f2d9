#include "opsready/components/understanding_loop.h"

#include "opsready/core/text.h"

#include <algorithm>
#include <cmath>

#include "opsready/core/time.h"

namespace opsready::components {
namespace {

constexpr std::string_view kDiagnosticsTopic = "telemetry.understanding.diagnostics";
constexpr std::string_view kLatencyTopic = "telemetry.understanding.latency_seconds";
constexpr std::string_view kDriftAlertTopic = "telemetry.understanding.drift_alert";
constexpr std::string_view kReplayTopic = "telemetry.understanding.replay_drift";
constexpr std::string_view kRecommendedCli = "python -m tools.understanding.graph_diagnostics";

struct Record {
  std::string name;
  core::Status status = core::Status::kOk;
  std::string message;
  nlohmann::json target;
  nlohmann::json observed;
};

std::string_view slo_word(core::Status s) {
  return s == core::Status::kOk ? "pass" : s == core::Status::kWarn ? "warn" : "fail";
}

std::string secs(double v, int decimals) { return fixed(v, decimals) + "s"; }

std::vector<std::string> string_items(const nlohmann::json& j, const char* object_key,
                                      const char* list_key) {
  std::vector<std::string> out;
  if (!j.is_object()) return out;
  const auto o = j.find(object_key);
  if (o == j.end() || !o->is_object()) return out;
  const auto l = o->find(list_key);
  if (l == o->end() || !l->is_array()) return out;
  for (const auto& v : *l) {
    if (v.is_string()) {
      out.push_back(v.get<std::string>());
    } else if (v.is_object() && v.contains("name") && v["name"].is_string()) {
      out.push_back(v["name"].get<std::string>());
    } else if (!v.is_null()) {
      out.push_back(v.dump());
    }
  }
  return out;
}

bool valid_probe_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

}  // namespace

core::Result<void> validate(const UnderstandingLoopConfig& c) {
  if (c.latency_target_p95 <= core::Duration::zero()) {
    return core::fail("invalid_parameter", "must be positive", "latency_target_p95");
  }
  if (c.latency_breach_p95 && *c.latency_breach_p95 < c.latency_target_p95) {
    return core::fail("invalid_parameter", "must not be below latency_target_p95",
                      "latency_breach_p95");
  }
  if (c.latency_window < 1 || c.latency_window > (1u << 20)) {
    return core::fail("invalid_parameter", "must be between 1 and 1048576", "latency_window");
  }
  if (c.drift_alert_warn_after < core::Duration::zero()) {
    return core::fail("invalid_parameter", "must not be negative", "drift_alert_warn_after");
  }
  if (c.drift_alert_fail_after < c.drift_alert_warn_after) {
    return core::fail("invalid_parameter", "must not be below drift_alert_warn_after",
                      "drift_alert_fail_after");
  }
  if (!std::isfinite(c.replay_warn) || c.replay_warn < 0) {
    return core::fail("invalid_parameter", "must be a finite number ≥ 0", "replay_warn");
  }
  if (!std::isfinite(c.replay_fail) || c.replay_fail < c.replay_warn) {
    return core::fail("invalid_parameter", "must be a finite number ≥ replay_warn", "replay_fail");
  }
  for (const auto& a : c.expected_drift_alerts) {
    if (!valid_probe_name(a)) {
      return core::fail("invalid_parameter",
                        "'" + a + "' is not an alert name ([a-z0-9_-]+, at most 64)",
                        "expected_drift_alerts");
    }
  }
  if (c.max_probes < 1) return core::fail("invalid_parameter", "must be ≥ 1", "max_probes");
  return {};
}

UnderstandingLoop::UnderstandingLoop(const UnderstandingLoopConfig& config) : config_(config) {
  for (const auto& a : config_.expected_drift_alerts) alerts_[a];
}

core::Result<std::unique_ptr<UnderstandingLoop>> UnderstandingLoop::create(
    const UnderstandingLoopConfig& config) {
  if (auto ok = validate(config); !ok) return std::unexpected(ok.error());
  return std::unique_ptr<UnderstandingLoop>(new UnderstandingLoop(config));
}

bool UnderstandingLoop::consumes(std::string_view topic) const {
  return topic == kDiagnosticsTopic || topic == kLatencyTopic || topic == kDriftAlertTopic ||
         topic == kReplayTopic;
}

bool UnderstandingLoop::room_for(std::size_t current_size) const {
  return current_size < config_.max_probes;
}

core::Result<void> UnderstandingLoop::apply(const core::TelemetryEvent& event) {
  if (event.topic == kDiagnosticsTopic) {
    const auto& p = event.payload;
    const auto status = p.find("status");
    if (status == p.end() || !status->is_string()) {
      return core::fail("missing_field", "diagnostics need a status (ok/warn/fail)",
                        "payload.status");
    }
    if (auto parsed = core::parse_status(status->get<std::string>()); !parsed) {
      return core::fail(parsed.error().code, parsed.error().message, "payload.status");
    }
    if (const auto rs = p.find("regime_state"); rs != p.end() && !rs->is_null()) {
      if (!rs->is_object())
        return core::fail("wrong_type", "must be an object", "payload.regime_state");
      if (const auto c = rs->find("confidence"); c != rs->end() && !c->is_null()) {
        const auto v = coerce_number(*c);
        if (!v || *v < 0 || *v > 1) {
          return core::fail("invalid_value", "must be a number between 0 and 1",
                            "payload.regime_state.confidence");
        }
      }
    }
    diagnostics_ = p;
  } else if (consumes(event.topic)) {
    auto sample = core::sample_from_json(event.payload);
    if (!sample) return std::unexpected(sample.error());
    const std::string& name = sample->series;
    if (!valid_probe_name(name)) {
      return core::fail("invalid_series",
                        "'" + name + "' is not a probe name ([a-z0-9_-]+, at most 64)",
                        "payload.series");
    }
    const std::size_t probes = latencies_.size() + alerts_.size() + replays_.size();
    if (event.topic == kLatencyTopic) {
      if (sample->value < 0) return core::fail("invalid_value", "must be ≥ 0", "payload.value");
      if (!latencies_.contains(name) && !room_for(probes)) {
        return core::fail("too_many_probes", "understanding_loop.max_probes reached",
                          "payload.series");
      }
      latencies_.try_emplace(name, config_.latency_window).first->second.add(sample->value);
    } else if (event.topic == kDriftAlertTopic) {
      if (!alerts_.contains(name) && !room_for(probes)) {
        return core::fail("too_many_probes", "understanding_loop.max_probes reached",
                          "payload.series");
      }
      auto& a = alerts_[name];
      a.last = a.last ? std::max(*a.last, event.time) : event.time;
      a.sent = sample->value;
    } else {
      Replay r{.drift = sample->value};
      if (const auto it = sample->labels.find("checksum_match"); it != sample->labels.end()) {
        if (it->second == "true") {
          r.checksum_match = true;
        } else if (it->second == "false") {
          r.checksum_match = false;
        } else if (!it->second.empty()) {
          return core::fail("invalid_value", "must be true or false",
                            "payload.labels.checksum_match");
        }
      }
      if (const auto it = sample->labels.find("mismatched_fields"); it != sample->labels.end()) {
        std::string field;
        for (char c : it->second + ",") {
          if (c == ',') {
            if (!field.empty()) r.mismatched_fields.push_back(field);
            field.clear();
          } else if (c != ' ') {
            field += c;
          }
        }
      }
      if (!replays_.contains(name) && !room_for(probes)) {
        return core::fail("too_many_probes", "understanding_loop.max_probes reached",
                          "payload.series");
      }
      replays_[name] = std::move(r);
    }
  } else {
    return core::fail("unknown_topic", "not an understanding-loop topic", "topic");
  }
  ++applied_;
  last_event_ = std::max(last_event_, event.time);
  return {};
}

core::ComponentSnapshot UnderstandingLoop::snapshot(core::TimePoint now, Detail detail) {
  const bool full = detail == Detail::kFull;
  core::ComponentSnapshot s{.component = std::string(kUnderstandingLoopName),
                            .observed_at = last_event_};
  const std::string runbook = runbook_path(kUnderstandingLoopName);
  std::vector<std::string> details;
  std::string headline;
  if (!diagnostics_.is_null()) {
    const auto& d = diagnostics_;
    const core::Status st =
        core::parse_status(d["status"].get<std::string>()).value_or(core::Status::kOk);
    s.status = st;
    headline = "Understanding " + std::string(to_string(st));
    const auto rs = d.find("regime_state");
    if (rs != d.end() && rs->is_object()) {
      const std::string regime = rs->contains("regime") && (*rs)["regime"].is_string()
                                     ? (*rs)["regime"].get<std::string>()
                                     : "unknown";
      const double conf = number_field(*rs, "confidence").value_or(0.0);
      details.push_back("Regime " + regime + " @ " + percent(conf, 1));
    }
    details.push_back("Drift exceedances: " +
                      std::to_string(string_items(d, "drift_summary", "exceeded").size()));
    if (const auto dec = d.find("decision"); dec != d.end() && dec->is_object()) {
      const std::string tactic = dec->contains("tactic_id") && (*dec)["tactic_id"].is_string()
                                     ? (*dec)["tactic_id"].get<std::string>()
                                     : "unknown";
      details.push_back("Selected tactic " + tactic + " weight " +
                        fixed(number_field(*dec, "selected_weight").value_or(0.0), 3));
    }
    const auto approvals = string_items(d, "ledger_diff", "approvals");
    details.push_back("Ledger approvals: " +
                      (approvals.empty() ? "none" : core::join(approvals, ",")));
    const auto experiments = string_items(d, "decision", "experiments_applied");
    details.push_back("Experiments: " +
                      (experiments.empty() ? "none" : core::join(experiments, ",")));
    if (st != core::Status::kOk) {
      s.issues.push_back({.code = "understanding_loop.diagnostics",
                          .severity = core::severity_for(st),
                          .message = headline + ": " + core::join(details, "; "),
                          .runbook = runbook});
    }
    if (full) s.metadata["understanding_loop"] = d;
  } else {
    headline = "Understanding diagnostics unavailable";
    s.metadata["understanding_loop"] = {{"status", "missing"},
                                        {"recommended_cli", kRecommendedCli}};
    if (config_.require_diagnostics) {
      s.status = core::Status::kWarn;
      s.issues.push_back({.code = "understanding_loop.diagnostics",
                          .severity = core::Severity::kWarning,
                          .message = headline + ": run the graph diagnostics CLI (" +
                                     std::string(kRecommendedCli) + ")",
                          .runbook = runbook});
    }
  }

  std::vector<Record> records;
  const double target = core::to_seconds(config_.latency_target_p95);
  const double breach = core::to_seconds(config_.latency_breach_p95.value_or(
      std::chrono::duration_cast<core::Duration>(config_.latency_target_p95 * 1.5)));
  for (const auto& [loop, q] : latencies_) {
    const double p95 = q.nearest_rank(0.95);
    const double max = q.max();
    Record r{.name = "understanding_loop.latency." + loop};
    if (p95 > breach) {
      r.status = core::Status::kFail;
      r.message = "p95 " + secs(p95, 2) + " exceeds breach threshold " + secs(breach, 2);
    } else if (max > breach) {
      r.status = core::Status::kFail;
      r.message = "max " + secs(max, 2) + " exceeds breach threshold " + secs(breach, 2) +
                  " (p95 " + secs(p95, 2) + ")";
    } else if (p95 > target) {
      r.status = core::Status::kWarn;
      r.message = "p95 " + secs(p95, 2) + " above target " + secs(target, 2);
    } else {
      r.message = "p95 " + secs(p95, 2) + " within target " + secs(target, 2);
    }
    r.target = {{"p95_seconds", target}, {"p95_fail_seconds", breach}};
    r.observed = {{"p95_seconds", p95}, {"max_seconds", max}, {"samples", q.size()}};
    records.push_back(std::move(r));
  }
  const double warn_after = core::to_seconds(config_.drift_alert_warn_after);
  const double fail_after = core::to_seconds(config_.drift_alert_fail_after);
  for (const auto& [alert, a] : alerts_) {
    Record r{.name = "understanding_loop.drift_alert." + alert};
    r.target = {{"warn_after_seconds", warn_after}, {"fail_after_seconds", fail_after}};
    if (!a.last) {
      r.status = core::Status::kFail;
      r.message = "No drift alert observed";
      r.observed = {{"alerts_sent", a.sent}};
    } else {
      const double f = std::max(0.0, core::to_seconds(now - *a.last));
      if (f <= warn_after) {
        r.message = "Freshness " + secs(f, 0) + " within " + secs(warn_after, 0) + " target";
      } else if (f <= fail_after) {
        r.status = core::Status::kWarn;
        r.message = "Freshness " + secs(f, 0) + " approaching limit " + secs(fail_after, 0);
      } else {
        r.status = core::Status::kFail;
        r.message = "Freshness " + secs(f, 0) + " exceeds limit " + secs(fail_after, 0);
      }
      r.observed = {{"freshness_seconds", f},
                    {"last_alert_at", core::format_rfc3339(*a.last)},
                    {"alerts_sent", a.sent}};
    }
    records.push_back(std::move(r));
  }
  for (const auto& [probe, rp] : replays_) {
    Record r{.name = "understanding_loop.replay." + probe};
    std::vector<std::string> problems;
    const auto raise = [&r, &problems](core::Status st, std::string text) {
      r.status = core::escalate(r.status, st);
      problems.push_back(std::move(text));
    };
    if (rp.checksum_match == false) raise(core::Status::kFail, "checksum mismatch");
    if (!rp.checksum_match) raise(core::Status::kWarn, "checksum unknown");
    if (rp.drift > config_.replay_fail) {
      raise(core::Status::kFail,
            "drift " + fixed(rp.drift, 3) + " exceeds " + fixed(config_.replay_fail, 3));
    } else if (rp.drift > config_.replay_warn) {
      raise(core::Status::kWarn,
            "drift " + fixed(rp.drift, 3) + " above warn " + fixed(config_.replay_warn, 3));
    }
    if (!rp.mismatched_fields.empty()) raise(core::Status::kFail, "mismatched fields present");
    r.message =
        problems.empty() ? "Replay determinism within thresholds" : core::join(problems, "; ");
    r.target = {{"warn_threshold", config_.replay_warn}, {"fail_threshold", config_.replay_fail}};
    r.observed = {{"drift_score", rp.drift},
                  {"checksum_match",
                   rp.checksum_match ? nlohmann::json(*rp.checksum_match) : nlohmann::json()},
                  {"mismatched_fields", rp.mismatched_fields}};
    records.push_back(std::move(r));
  }

  std::size_t fails = 0;
  std::size_t warns = 0;
  nlohmann::json slos = nlohmann::json::array();
  for (const auto& r : records) {
    s.status = core::escalate(s.status, r.status);
    fails += r.status == core::Status::kFail;
    warns += r.status == core::Status::kWarn;
    if (full) {
      slos.push_back({{"name", r.name},
                      {"status", slo_word(r.status)},
                      {"message", r.message},
                      {"target", r.target},
                      {"observed", r.observed}});
    }
    if (r.status != core::Status::kOk) {
      s.issues.push_back({.code = r.name,
                          .severity = core::severity_for(r.status),
                          .message = r.name + ": " + r.message,
                          .runbook = runbook});
    }
  }
  s.summary = headline;
  if (fails > 0) {
    s.summary += "; " + std::to_string(fails) + " loop SLO" + (fails == 1 ? "" : "s") + " breached";
  } else if (warns > 0) {
    s.summary += "; " + std::to_string(warns) + " loop SLO" + (warns == 1 ? "" : "s") + " at risk";
  } else if (!records.empty()) {
    s.summary += "; all understanding-loop SLOs met";
  }
  if (full) {
    s.metadata["details"] = details;
    s.metadata["slos"] = slos;
    s.metadata["runbook"] = runbook;
    int warn_issues = 0;
    int fail_issues = 0;
    for (const auto& i : s.issues) {
      warn_issues += i.severity == core::Severity::kWarning;
      fail_issues += i.severity == core::Severity::kCritical;
    }
    if (warn_issues + fail_issues > 0) {
      nlohmann::json counts = nlohmann::json::object();
      if (warn_issues) counts["warn"] = warn_issues;
      if (fail_issues) counts["fail"] = fail_issues;
      s.metadata["issue_counts"] = counts;
    }
  } else {
    s.metadata = nlohmann::json::object();
  }
  return s;
}

}  // namespace opsready::components
