#include "opsready/drills/run.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

#include "opsready/core/time.h"

namespace opsready::drills {

using core::TimePoint;

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::kPass:
      return "Pass";
    case Verdict::kFail:
      return "Fail";
    case Verdict::kAborted:
      return "Aborted";
    case Verdict::kInconclusive:
      return "Inconclusive";
  }
  return "Inconclusive";
}

std::optional<Verdict> parse_verdict(std::string_view word) {
  for (auto v : kAllVerdicts) {
    if (to_string(v) == word) return v;
  }
  return std::nullopt;
}

namespace {

std::optional<core::Duration> between(const std::optional<core::TimePoint>& from,
                                      const std::optional<core::TimePoint>& to) {
  if (!from || !to) return std::nullopt;
  return *to - *from;
}

}  // namespace

std::optional<core::TimePoint> Evidence::first_notified_at() const {
  std::optional<core::TimePoint> first;
  for (const auto& [receiver, at] : notified_at) {
    if (!first || at < *first) first = at;
  }
  return first;
}

std::optional<core::Duration> Evidence::mttd() const { return between(injected_at, detected_at); }
std::optional<core::Duration> Evidence::mtta() const {
  return between(first_notified_at(), acked_at);
}
std::optional<core::Duration> Evidence::mttr() const { return between(injected_at, recovered_at); }
std::optional<core::Duration> Evidence::mttr_from_detection() const {
  return between(detected_at, recovered_at);
}

namespace {

nlohmann::json time_or_null(const std::optional<core::TimePoint>& t) {
  return t ? nlohmann::json(core::format_rfc3339(*t)) : nlohmann::json(nullptr);
}

nlohmann::json seconds_or_null(const std::optional<core::Duration>& d) {
  if (!d) return nullptr;
  // Milliseconds are the clock resolution the evidence claims.
  return std::round(core::to_seconds(*d) * 1000.0) / 1000.0;
}

nlohmann::json checks_json(const std::vector<CheckResult>& checks) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : checks) {
    out.push_back({{"check", c.check}, {"held", c.held}, {"observed", c.observed}});
  }
  return out;
}

std::string link(const Evidence& e, const std::string& path) { return e.base_url + path; }

}  // namespace

nlohmann::json to_json(const Evidence& e) {
  nlohmann::json notified = nlohmann::json::object();
  for (const auto& [receiver, at] : e.notified_at) notified[receiver] = core::format_rfc3339(at);
  nlohmann::json alert = nullptr;
  if (!e.alert_fingerprint.empty()) {
    alert = {{"fingerprint", e.alert_fingerprint},
             {"labels", e.alert_labels},
             {"groups", e.alert_groups}};
  }
  nlohmann::json probes = {{"abort_checks", e.probes}, {"passed", e.probes_passed}};
  probes["success_pct"] =
      e.probes == 0 ? nlohmann::json(nullptr)
                    : nlohmann::json(std::round(1000.0 * static_cast<double>(e.probes_passed) /
                                                static_cast<double>(e.probes)) /
                                     10.0);
  if (e.abort_breach) {
    probes["breach"] = {{"check", e.abort_breach->check}, {"observed", e.abort_breach->observed}};
  }
  nlohmann::json during = nlohmann::json::array();
  for (const auto& d : e.during) {
    during.push_back({{"check", d.result.check},
                      {"held", d.held_at.has_value()},
                      {"held_at", time_or_null(d.held_at)},
                      {"observed", d.result.observed}});
  }
  nlohmann::json links = {
      {"evidence", link(e, "/api/v1/drills/" + e.drill_id)},
      {"markdown", link(e, "/api/v1/drills/" + e.drill_id + "?format=markdown")}};
  // The incidents the drill opened (their timelines: GET /api/v1/incidents/{id}).
  links["incidents"] = link(e, "/api/v1/incidents?since=" + core::format_rfc3339(e.started_at));
  nlohmann::json j = {
      {"drill_id", e.drill_id},
      {"scenario", e.scenario.name},
      {"hypothesis", e.scenario.hypothesis},
      {"fault", to_json(e.scenario)["fault"]},
      {"target", e.scenario.target_components},
      {"dry_run", e.dry_run},
      {"forced", e.forced},
      {"started_by", e.started_by},
      {"started_at", core::format_rfc3339(e.started_at)},
      {"injected_at", time_or_null(e.injected_at)},
      {"inject_ended_at", time_or_null(e.inject_ended_at)},
      {"detected_at", time_or_null(e.detected_at)},
      {"notified_at", std::move(notified)},
      {"acked_at", time_or_null(e.acked_at)},
      {"acked_by", e.acked_by},
      {"acked_via", e.acked_via},
      {"restored_at", time_or_null(e.restored_at)},
      {"recovered_at", time_or_null(e.recovered_at)},
      {"finished_at", time_or_null(e.finished_at)},
      {"verdict", e.verdict ? nlohmann::json(to_string(*e.verdict)) : nlohmann::json(nullptr)},
      {"failed_step", e.failed_step},
      {"reason", e.reason},
      {"abort_reason", e.abort_reason},
      {"mttd_seconds", seconds_or_null(e.mttd())},
      {"mtta_seconds", seconds_or_null(e.mtta())},
      {"mttr_seconds", seconds_or_null(e.mttr())},
      {"mttr_from_detection_seconds", seconds_or_null(e.mttr_from_detection())},
      {"clocks",
       {{"mttd", "injected_at → detected_at (the expected alert's startsAt)"},
        {"mtta", "first notified_at → acked_at"},
        {"mttr", "injected_at → recovered_at (steady state held again)"},
        {"mttr_from_detection", "detected_at → recovered_at"}}},
      {"steady_state",
       {{"before", checks_json(e.steady_state_before)},
        {"after", checks_json(e.steady_state_after)}}},
      {"probes", std::move(probes)},
      {"during", std::move(during)},
      {"alert", std::move(alert)},
      {"inject_error", e.inject_error},
      {"restore_error", e.restore_error},
      {"scenario_plan", to_json(e.scenario)},
      {"links", std::move(links)},
  };
  if (!e.fault_report.is_null()) j["fault_report"] = e.fault_report;
  return j;
}

namespace {

std::string time_text(const std::optional<core::TimePoint>& t) {
  return t ? core::format_rfc3339(*t) : "—";
}

std::string seconds_text(const std::optional<core::Duration>& d) {
  if (!d) return "—";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.3f s", core::to_seconds(*d));
  return buf;
}

// A Markdown table cell: pipes escaped, line breaks folded.
std::string cell(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out.empty() ? "—" : out;
}

void checks_table(std::string& md, const std::vector<CheckResult>& checks) {
  if (checks.empty()) {
    md += "_Not checked._\n";
    return;
  }
  md += "| Check | Held | Observed |\n|---|---|---|\n";
  for (const auto& c : checks) {
    md += "| " + cell(c.check) + " | " + (c.held ? "yes" : "**no**") + " | " + cell(c.observed) +
          " |\n";
  }
}

}  // namespace

std::string to_markdown(const Evidence& e) {
  std::string md;
  md += "# Drill " + e.drill_id + " – " + e.scenario.name + "\n\n";
  const std::string verdict =
      e.verdict ? std::string(to_string(*e.verdict)) : (e.dry_run ? "dry run" : "running");
  md += "- **Verdict:** " + verdict + "\n";
  if (!e.failed_step.empty()) md += "- **Failed step:** " + e.failed_step + "\n";
  if (!e.reason.empty()) md += "- **Reason:** " + e.reason + "\n";
  if (!e.abort_reason.empty()) md += "- **Abort reason:** " + e.abort_reason + "\n";
  md += "- **Hypothesis:** " + (e.scenario.hypothesis.empty() ? "—" : e.scenario.hypothesis) + "\n";
  const auto fault = to_json(e.scenario)["fault"];
  std::string fault_text = std::string(to_string(e.scenario.fault.kind));
  switch (e.scenario.fault.kind) {
    case FaultKind::kReceiverOutage:
      fault_text += " of receiver `" + e.scenario.fault.receiver + "`";
      break;
    case FaultKind::kFeedStall: {
      std::string topics;
      for (const auto& t : e.scenario.fault.topics)
        topics += (topics.empty() ? "`" : ", `") + t + "`";
      fault_text += " of " + topics;
      break;
    }
    case FaultKind::kCommand:
      fault_text += " `" + e.scenario.fault.run + "` (undo `" + e.scenario.fault.undo + "`)";
      break;
    case FaultKind::kTaskCrash:
      fault_text += " of a drill task failing " + std::to_string(e.scenario.fault.failures) +
                    " times (its supervisor's intensity " +
                    std::to_string(e.scenario.fault.intensity) + " in " +
                    core::format_duration(e.scenario.fault.period) + ")";
      break;
    case FaultKind::kStoreFault:
      fault_text += e.scenario.fault.read_only ? " (read-only" : " (writable";
      if (e.scenario.fault.delay > core::Duration::zero()) {
        fault_text +=
            ", every operation " + core::format_duration(e.scenario.fault.delay) + " late";
      }
      fault_text += ")";
      break;
    case FaultKind::kIncidentChaos: {
      std::string events;
      for (const auto& c : e.scenario.fault.chaos)
        events += (events.empty() ? "`" : ", `") + std::string(components::to_string(c.type)) + "`";
      fault_text += " of " + events;
      break;
    }
    case FaultKind::kIngestFailover: {
      std::string dims;
      for (const auto& d : e.scenario.fault.dimensions)
        dims += (dims.empty() ? "`" : ", `") + d + "`";
      fault_text +=
          " emptying " + (dims.empty() ? std::string("every dimension") : dims) + " of `" +
          e.scenario.fault.results_file + "`" +
          (e.scenario.fault.fallback.empty() ? std::string(", no fallback")
                                             : ", fallback `" + e.scenario.fault.fallback + "`");
      break;
    }
  }
  md += "- **Fault:** " + fault_text + " for " + core::format_duration(e.scenario.fault.duration) +
        "\n";
  if (!e.scenario.target_components.empty()) {
    std::string t;
    for (const auto& c : e.scenario.target_components) t += (t.empty() ? "" : ", ") + c;
    md += "- **Target components:** " + t + "\n";
  }
  md += "- **Expected alert:** `" + alerting::to_string(e.scenario.expect.alert) + "`" +
        (e.scenario.expect.receiver.empty() ? ""
                                            : " at receiver `" + e.scenario.expect.receiver + "`") +
        " within " + core::format_duration(e.scenario.expect.within) + "\n";
  if (e.forced) md += "- **Forced:** started while the gate blocked\n";
  if (!e.started_by.empty()) md += "- **Started by:** " + e.started_by + "\n";

  md += "\n## Timeline\n\n| Event | Time |\n|---|---|\n";
  md += "| Started | " + core::format_rfc3339(e.started_at) + " |\n";
  md += "| Fault injected | " + time_text(e.injected_at) + " |\n";
  md += "| Alert firing (detected) | " + time_text(e.detected_at) + " |\n";
  if (e.notified_at.empty()) {
    md += "| Notified | — |\n";
  } else {
    for (const auto& [receiver, at] : e.notified_at) {
      md += "| Notified `" + cell(receiver) + "` | " + core::format_rfc3339(at) + " |\n";
    }
  }
  md += "| Acknowledged | " + time_text(e.acked_at) +
        (e.acked_by.empty() ? "" : " by " + cell(e.acked_by)) +
        (e.acked_via.empty() ? "" : " via " + cell(e.acked_via)) + " |\n";
  md += "| Fault restored | " + time_text(e.restored_at) + " |\n";
  md += "| Recovered | " + time_text(e.recovered_at) + " |\n";
  md += "| Finished | " + time_text(e.finished_at) + " |\n";

  md += "\n## Response times\n\n| Measure | Value | Clock |\n|---|---|---|\n";
  md += "| MTTD | " + seconds_text(e.mttd()) + " | fault injected → alert firing |\n";
  md += "| MTTA | " + seconds_text(e.mtta()) + " | first notification → ack |\n";
  md += "| MTTR | " + seconds_text(e.mttr()) + " | fault injected → steady state again |\n";
  md += "| MTTR from detection | " + seconds_text(e.mttr_from_detection()) +
        " | alert firing → steady state again |\n";

  md += "\n## Steady state before\n\n";
  checks_table(md, e.steady_state_before);
  md += "\n## Steady state after\n\n";
  checks_table(md, e.steady_state_after);

  md += "\n## Probes\n\n";
  if (e.scenario.abort_if.empty()) {
    md += "No abort conditions.\n";
  } else {
    char buf[96];
    std::snprintf(buf, sizeof buf, "Abort conditions checked %zu times, clear %zu times.\n",
                  e.probes, e.probes_passed);
    md += buf;
    if (e.abort_breach) {
      md += "Breached: " + e.abort_breach->check + " (" + e.abort_breach->observed + ").\n";
    }
  }
  if (!e.scenario.during.empty()) {
    md +=
        "\n## During the fault\n\n| Check | Held | First held | Last observed |\n"
        "|---|---|---|---|\n";
    for (std::size_t i = 0; i < e.scenario.during.size(); ++i) {
      const Evidence::During* d = i < e.during.size() ? &e.during[i] : nullptr;
      const bool held = d != nullptr && d->held_at.has_value();
      md += "| " + cell(e.scenario.during[i].describe()) + " | " + (held ? "yes" : "**no**") +
            " | " + (held ? core::format_rfc3339(*d->held_at) : std::string("—")) + " | " +
            cell(d != nullptr ? d->result.observed : "") + " |\n";
    }
  }
  if (!e.alert_fingerprint.empty()) {
    md += "\n## Alert\n\n- Fingerprint: `" + e.alert_fingerprint + "`\n- Labels: `";
    std::string labels;
    for (const auto& [k, v] : e.alert_labels)
      labels += (labels.empty() ? "" : ",") + k + "=\"" + v + "\"";
    md += "{" + labels + "}`\n";
    md += "- Groups: " + std::to_string(e.alert_groups.size()) + "\n";
    md +=
        "- Incidents: " + link(e, "/api/v1/incidents?since=" + core::format_rfc3339(e.started_at)) +
        "\n";
  }
  if (!e.inject_error.empty() || !e.restore_error.empty()) {
    md += "\n## Errors\n\n";
    if (!e.inject_error.empty()) md += "- Inject: " + e.inject_error + "\n";
    if (!e.restore_error.empty()) md += "- Restore: " + e.restore_error + "\n";
  }
  if (!e.fault_report.is_null()) {
    md += "\n## Fault report\n\n```json\n" + e.fault_report.dump(2) + "\n```\n";
  }
  md += "\nEvidence: " + link(e, "/api/v1/drills/" + e.drill_id) + "\n";
  return md;
}

// ---- Run ------------------------------------------------------------------------------

Run::Run(Scenario scenario, RunOptions options) {
  evidence_.drill_id = std::move(options.id);
  evidence_.scenario = std::move(scenario);
  evidence_.dry_run = options.dry_run;
  evidence_.forced = options.forced;
  evidence_.started_by = std::move(options.started_by);
  evidence_.started_at = options.started_at;
  evidence_.base_url = std::move(options.base_url);
}

void Run::set_outcome(Verdict v, std::string step, std::string reason) {
  if (evidence_.verdict) return;  // the first outcome stands
  evidence_.verdict = v;
  evidence_.failed_step = std::move(step);
  evidence_.reason = std::move(reason);
}

void Run::finish(core::TimePoint now) {
  phase_ = Phase::kFinished;
  evidence_.finished_at = now;
  if (evidence_.dry_run) return;
  const auto& ex = evidence_.scenario.expect;
  if (!ex.alert.empty()) {
    if (!evidence_.detected_at) {
      set_outcome(Verdict::kFail, "detect",
                  "no alert matching " + alerting::to_string(ex.alert) + " fired");
    } else if (*evidence_.mttd() > ex.within) {
      set_outcome(Verdict::kFail, "detect",
                  "the alert fired " + core::format_duration(*evidence_.mttd()) +
                      " after the injection, expected within " + core::format_duration(ex.within));
    }
  }
  if (!ex.receiver.empty() && !evidence_.notified_at.contains(ex.receiver)) {
    set_outcome(Verdict::kFail, "notify",
                "receiver " + ex.receiver + " was never notified of the alert" +
                    (evidence_.notified_at.empty() ? " (no receiver was)" : ""));
  }
  if (ex.acked && !evidence_.acked_at) {
    set_outcome(Verdict::kFail, "acknowledge", "the alert was not acknowledged");
  }
  for (std::size_t i = 0; i < evidence_.scenario.during.size(); ++i) {
    const auto* d = i < evidence_.during.size() ? &evidence_.during[i] : nullptr;
    if (d != nullptr && d->held_at) continue;
    set_outcome(Verdict::kFail, "during",
                evidence_.scenario.during[i].describe() +
                    " never held while the fault was in place" +
                    (d != nullptr ? " (last observed: " + d->result.observed + ")" : ""));
    break;
  }
  if (!evidence_.restore_error.empty()) {
    set_outcome(Verdict::kFail, "restore",
                "the fault could not be undone: " + evidence_.restore_error);
  }
  if (!evidence_.recovered_at) {
    set_outcome(Verdict::kFail, "recover",
                "the steady state did not hold within " +
                    core::format_duration(evidence_.scenario.recovery.within) + " of the restore");
  }
  set_outcome(Verdict::kPass, "", "");
}

void Run::follow(const Observation& o) {
  const auto& ex = evidence_.scenario.expect;
  if (ex.alert.empty()) return;
  for (const auto& a : o.alerts) {
    if (preexisting_.contains(a.fingerprint) || !alerting::matches(ex.alert, a.labels)) continue;
    if (evidence_.alert_fingerprint.empty()) {
      evidence_.alert_fingerprint = a.fingerprint;
      evidence_.alert_labels = a.labels;
      evidence_.alert_groups = a.groups;
      // Not before the injection began (a clock step between the two cannot make MTTD < 0).
      evidence_.detected_at = std::max(a.starts_at, *evidence_.injected_at);
    }
    for (const auto& g : a.groups) groups_.insert(g);
  }
  // Only what this run caused: a group that was notified or acked in an earlier incident (an
  // earlier run of the same scenario groups the same way) does not count.
  const TimePoint from = *evidence_.injected_at;
  for (const auto& n : o.notifications) {
    if (!groups_.contains(n.group) || n.at < from) continue;
    auto [it, inserted] = evidence_.notified_at.emplace(n.receiver, n.at);
    if (!inserted && n.at < it->second) it->second = n.at;
  }
  for (const auto& k : o.acks) {
    if (!groups_.contains(k.group) || k.at < from) continue;
    if (!evidence_.acked_at || k.at < *evidence_.acked_at) {
      evidence_.acked_at = k.at;
      evidence_.acked_by = k.by;
      evidence_.acked_via = k.channel;
    }
  }
}

std::vector<Run::Action> Run::step(const Observation& o) {
  std::vector<Action> out;
  const auto& sc = evidence_.scenario;
  switch (phase_) {
    case Phase::kStart: {
      bool held = true;
      for (const auto& c : sc.steady_state) {
        evidence_.steady_state_before.push_back(evaluate(c, o));
        held = held && evidence_.steady_state_before.back().held;
      }
      for (const auto& a : o.alerts) preexisting_.insert(a.fingerprint);
      if (evidence_.dry_run) {
        finish(o.now);
        return out;
      }
      if (!held) {
        for (const auto& r : evidence_.steady_state_before) {
          if (!r.held) {
            set_outcome(Verdict::kInconclusive, "steady_state_before",
                        "the steady state did not hold: " + r.check + " (" + r.observed + ")");
            break;
          }
        }
        phase_ = Phase::kFinished;
        evidence_.finished_at = o.now;
        return out;
      }
      phase_ = Phase::kInjecting;
      out.push_back({.kind = Action::Kind::kInject});
      return out;
    }
    case Phase::kInjecting:
      return out;  // waiting for injected()
    case Phase::kRestoring:
      if (restore_due_) {  // after a failed injection or a stop
        restore_due_ = false;
        out.push_back({.kind = Action::Kind::kRestore});
      }
      return out;  // waiting for restored()
    case Phase::kRunning: {
      follow(o);
      ++evidence_.probes;
      std::optional<CheckResult> breach;
      for (const auto& c : sc.abort_if) {
        auto r = evaluate(c, o);
        if (r.held) {
          breach = std::move(r);
          break;
        }
      }
      if (breach) {
        evidence_.abort_reason =
            "abort condition held: " + breach->check + " (" + breach->observed + ")";
        evidence_.abort_breach = std::move(breach);
        set_outcome(Verdict::kAborted, "observe", evidence_.abort_reason);
        phase_ = Phase::kRestoring;
        out.push_back({.kind = Action::Kind::kRestore});
        return out;
      }
      ++evidence_.probes_passed;
      evidence_.during.resize(sc.during.size());
      for (std::size_t i = 0; i < sc.during.size(); ++i) {
        auto& d = evidence_.during[i];
        if (d.held_at) continue;
        d.result = evaluate(sc.during[i], o);
        if (d.result.held) d.held_at = o.now;
      }
      if (sc.responder && !ack_sent_ && !evidence_.acked_at) {
        // The first notification at the expected receiver (any receiver when none is named).
        std::optional<core::TimePoint> first;
        if (!sc.expect.receiver.empty()) {
          if (auto it = evidence_.notified_at.find(sc.expect.receiver);
              it != evidence_.notified_at.end()) {
            first = it->second;
          }
        } else {
          first = evidence_.first_notified_at();
        }
        if (first && o.now >= *first + sc.responder->ack_after && !evidence_.alert_groups.empty()) {
          ack_sent_ = true;
          for (const auto& g : evidence_.alert_groups) {
            out.push_back({.kind = Action::Kind::kAck, .group = g, .by = sc.responder->by});
          }
        }
      }
      if (o.now >= *evidence_.inject_ended_at + sc.fault.duration) {
        phase_ = Phase::kRestoring;
        out.push_back({.kind = Action::Kind::kRestore});
      }
      return out;
    }
    case Phase::kRecovering: {
      follow(o);
      std::vector<CheckResult> after;
      bool held = true;
      for (const auto& c : sc.steady_state) {
        after.push_back(evaluate(c, o));
        held = held && after.back().held;
      }
      if (held && sc.recovery.alert_resolved && !evidence_.alert_fingerprint.empty()) {
        held = std::none_of(o.alerts.begin(), o.alerts.end(), [&](const ObservedAlert& a) {
          return a.fingerprint == evidence_.alert_fingerprint;
        });
      }
      evidence_.steady_state_after = std::move(after);
      if (held) {
        evidence_.recovered_at = std::max(o.evaluated_at, *evidence_.restored_at);
        finish(o.now);
      } else if (o.now >= *evidence_.restored_at + sc.recovery.within) {
        finish(o.now);
      }
      return out;
    }
    case Phase::kFinished:
      return out;
  }
  return out;
}

void Run::injected(core::TimePoint began, core::TimePoint at, const core::Result<void>& result) {
  if (phase_ != Phase::kInjecting) return;
  evidence_.injected_at = began;
  evidence_.inject_ended_at = at;
  if (!result) {
    evidence_.inject_error = result.error().message;
    set_outcome(Verdict::kInconclusive, "inject",
                "the fault could not be injected: " + result.error().message);
    // Undo what may have been done.
    phase_ = Phase::kRestoring;
    restore_due_ = true;
    return;
  }
  phase_ = Phase::kRunning;
}

void Run::restored(core::TimePoint at, const core::Result<void>& result) {
  if (phase_ != Phase::kRestoring && phase_ != Phase::kInjecting) return;
  evidence_.restored_at = at;
  if (!result) evidence_.restore_error = result.error().message;
  // A failed injection and a stop end with the restore; everything else waits for recovery.
  if (evidence_.failed_step == "inject" || evidence_.failed_step == "stopped") {
    phase_ = Phase::kFinished;
    evidence_.finished_at = at;
    return;
  }
  phase_ = Phase::kRecovering;
}

bool Run::stop(std::string reason, core::TimePoint now) {
  if (phase_ == Phase::kFinished) return false;
  evidence_.abort_reason = reason;
  set_outcome(Verdict::kAborted, "stopped", std::move(reason));
  if (phase_ == Phase::kRunning || phase_ == Phase::kInjecting) {
    phase_ = Phase::kRestoring;
    restore_due_ = true;
    return true;
  }
  if (phase_ == Phase::kRestoring) return true;
  finish(now);
  return false;
}

}  // namespace opsready::drills
