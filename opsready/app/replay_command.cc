#include "opsready/app/replay_command.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <ostream>
#include <set>
#include <sstream>
#include <vector>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "opsready/app/commands.h"
#include "opsready/app/components_config.h"
#include "opsready/app/config.h"
#include "opsready/components/registry.h"
#include "opsready/core/text.h"
#include "opsready/core/time.h"
#include "opsready/engine/engine.h"
#include "opsready/readiness/readiness.h"
#include "opsready/server/alerts.h"

namespace opsready::app {
namespace {

struct ReplayConfig {
  readiness::GatePolicy gate;
  components::ComponentsConfig detectors;
  alerting::Policy alerting = alerting::default_policy();
};

// The text of `yaml` with the top-level `detectors:` block replaced by blank lines (so line
// numbers stay right), plus that block's node. The rest is parsed by parse_config(), which
// owns every other section; `detectors:` is read by load_components_config().
std::pair<std::string, YAML::Node> split_detectors(const std::string& yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception&) {
    return {yaml, YAML::Node()};  // parse_config() reports the syntax error
  }
  if (!root.IsMap() || !root["detectors"].IsDefined()) return {yaml, YAML::Node()};
  // The block runs from the `detectors` key to the next top-level key below it (or the end).
  int first = -1;
  for (const auto& kv : root) {
    if (kv.first.Scalar() == "detectors") first = kv.first.Mark().line;
  }
  int end = -1;
  for (const auto& kv : root) {
    const int line = kv.first.Mark().line;
    if (line > first && (end < 0 || line < end)) end = line;
  }
  std::string out;
  std::istringstream in(yaml);
  std::string line;
  for (int n = 0; std::getline(in, line); ++n) {
    if (n < first || (end >= 0 && n >= end)) out += line;
    out += "\n";
  }
  return {out, root["detectors"]};
}

std::expected<ReplayConfig, int> load_replay_config(
    const std::optional<std::filesystem::path>& file, std::ostream& err) {
  ReplayConfig rc;
  if (!file) return rc;
  std::ifstream in(*file, std::ios::binary);
  if (!in) {
    err << "opsready: " << file->string() << ": cannot open the file for reading\n";
    return std::unexpected(kExitNoInput);
  }
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string name = file->string();
  auto [rest, detectors] = split_detectors(buf.str());
  std::vector<ConfigError> errors;
  auto cfg = parse_config(rest, name);
  if (cfg) {
    rc.gate = cfg->gate;
    rc.alerting = cfg->alerting;
  } else {
    errors = cfg.error();
  }
  if (detectors.IsDefined()) {
    load_components_config(detectors, rc.detectors, [&](const YAML::Node& at, std::string m) {
      const int line = at.IsDefined() && at.Mark().line >= 0 ? at.Mark().line + 1 : 0;
      errors.push_back({name, line, std::move(m)});
    });
  }
  if (!errors.empty()) {
    for (const auto& e : errors) err << "opsready: " << e.describe() << "\n";
    return std::unexpected(kExitDataErr);
  }
  return rc;
}

std::string join(const std::vector<readiness::GateReason>& reasons) {
  std::string out;
  for (const auto& r : reasons) out += (out.empty() ? "" : ",") + r.code;
  return out;
}

std::string label(const core::Alert& a, const char* name) {
  const auto it = a.labels.find(name);
  return it == a.labels.end() ? std::string() : it->second;
}

std::string annotation(const core::Alert& a, const char* name) {
  const auto it = a.annotations.find(name);
  return it == a.annotations.end() ? std::string() : it->second;
}

// The alert names of a notified set: "[A,B]".
std::string names(const std::vector<core::Alert>& alerts) {
  std::string out = "[";
  for (const core::Alert& a : alerts) {
    if (out.size() > 1) out += ",";
    out += label(a, "alertname");
    if (const std::string c = label(a, "component"); !c.empty()) out += "{" + c + "}";
  }
  return out + "]";
}

nlohmann::json fingerprints(const std::vector<core::Alert>& alerts) {
  nlohmann::json out = nlohmann::json::array();
  for (const core::Alert& a : alerts) {
    out.push_back({{"alertname", label(a, "alertname")},
                   {"component", label(a, "component")},
                   {"fingerprint", a.fingerprint}});
  }
  return out;
}

std::string reason_word(const engine::Decision& d) {
  if (d.escalation) return "escalation step " + std::to_string(d.step);
  return std::string(alerting::to_string(d.notification.reason));
}

// The engine's outputs as replay lines.
class ReplaySink final : public engine::Sink {
 public:
  ReplaySink(bool json, std::ostream& out) : json_(json), out_(out) {}

  void alert_changed(const core::Alert& a, bool firing, core::TimePoint now) override {
    const std::string time = core::format_rfc3339(now);
    // firing: new; updated: its annotations changed; resolved.
    const char* state = "resolved";
    if (firing) state = firing_.insert(a.fingerprint).second ? "firing" : "updated";
    if (!firing) firing_.erase(a.fingerprint);
    if (json_) {
      out_ << nlohmann::json{{"type", "alert"},
                             {"time", time},
                             {"state", state},
                             {"alertname", label(a, "alertname")},
                             {"severity", label(a, "severity")},
                             {"category", label(a, "category")},
                             {"component", label(a, "component")},
                             {"summary", annotation(a, "summary")},
                             {"fingerprint", a.fingerprint}}
                  .dump()
           << "\n";
    } else {
      out_ << time << " alert " << state << " " << label(a, "severity") << " "
           << label(a, "category") << " [" << label(a, "component") << "] " << label(a, "alertname")
           << ": " << annotation(a, "summary") << "\n";
    }
  }

  void decided(const engine::Decision& d) override {
    ++notifications_;
    const auto& n = d.notification;
    const std::string time = core::format_rfc3339(n.at);
    if (json_) {
      out_ << nlohmann::json{{"type", "notification"},
                             {"time", time},
                             {"receiver", n.receiver},
                             {"reason", reason_word(d)},
                             {"group", n.group.to_string()},
                             {"group_id", d.group_id},
                             {"firing", fingerprints(n.firing)},
                             {"resolved", fingerprints(n.resolved)}}
                  .dump()
           << "\n";
    } else {
      out_ << time << " notify " << n.receiver << " (" << reason_word(d) << ") "
           << n.group.to_string() << " firing=" << names(n.firing)
           << " resolved=" << names(n.resolved) << "\n";
    }
  }

  [[nodiscard]] std::uint64_t notifications() const { return notifications_; }

 private:
  bool json_;
  std::ostream& out_;
  std::uint64_t notifications_ = 0;
  std::set<std::string> firing_;  // fingerprints
};

class Replayer {
 public:
  Replayer(const ReplayOptions& o, std::ostream& out, std::ostream& err)
      : json_(o.format == "json"),
        name_(o.input.string()),
        sink_(json_, out),
        out_(out),
        err_(err) {}

  core::Result<void> start(ReplayConfig config, core::TimePoint start) {
    auto e = engine::Engine::create({.gate = std::move(config.gate),
                                     .detectors = std::move(config.detectors),
                                     .policy = std::move(config.alerting),
                                     .watchdog = false,
                                     .silence_seed = 1,
                                     .detail = components::Detail::kBrief},
                                    sink_, start);
    if (!e) return std::unexpected(e.error());
    engine_ = std::move(*e);
    return {};
  }
  [[nodiscard]] bool started() const { return engine_ != nullptr; }

  // Timers due by `t` fire first, at their own times.
  void advance_to(core::TimePoint t) {
    while (const auto due = engine_->next_deadline()) {
      if (*due > t) break;
      engine_->advance(*due);
      now_ = std::max(now_, *due);
      print_readiness(*due);
    }
  }

  // One input line at its time: a control line (alerts, silence, expire_silence, ack, unack)
  // or, when `event` is set, a telemetry event.
  void apply(const nlohmann::json& j, const core::TelemetryEvent* event, core::TimePoint time,
             std::size_t line) {
    ++events_;
    now_ = time;
    auto refuse = [&](const std::string& why) {
      ++rejected_;
      err_ << "opsready: " << name_ << ":" << line << ": " << why << "\n";
    };
    if (j.contains("alerts")) {
      const server::AlertsParse p =
          server::parse_alerts(j["alerts"].dump(), time, std::chrono::minutes(5));
      for (const auto& e : p.errors) {
        refuse("alerts[" + std::to_string(e.index) + "]." + e.field + ": " + e.reason);
      }
      if (p.body_ok && !p.alerts.empty()) {
        (void)engine_->put_alerts(p.alerts, time);
        ++applied_;
      } else if (!p.body_ok) {
        refuse("alerts: must be an array of alerts");
      }
      return;
    }
    if (j.contains("silence")) {
      auto s = alerting::silence_from_json(j["silence"], time);
      if (!s) return refuse("silence." + s.error().describe());
      auto id = engine_->put_silence(std::move(*s), time);
      if (!id) return refuse("silence: " + id.error().describe());
      ++applied_;
      return;
    }
    if (j.contains("expire_silence")) {
      auto ok = engine_->expire_silence(j.value("expire_silence", std::string()), time);
      if (!ok) return refuse("expire_silence: " + ok.error().describe());
      ++applied_;
      return;
    }
    if (j.contains("ack") || j.contains("unack")) {
      const bool ack = j.contains("ack");
      const nlohmann::json& a = ack ? j["ack"] : j["unack"];
      if (!a.is_object() || !a.contains("group") || !a["group"].is_string()) {
        return refuse(std::string(ack ? "ack" : "unack") + ".group: required (a group key or id)");
      }
      std::optional<core::TimePoint> expires;
      if (a.contains("expiresAt")) {
        auto t = core::parse_rfc3339(a.value("expiresAt", std::string()));
        if (!t) return refuse("ack.expiresAt: " + t.error().message);
        expires = *t;
      }
      const std::string group = a["group"].get<std::string>();
      auto ok = ack ? engine_->ack(group,
                                   {.by = a.value("by", std::string()),
                                    .comment = a.value("comment", std::string()),
                                    .channel = a.value("channel", std::string("replay")),
                                    .expires_at = expires},
                                   time)
                    : engine_->unack(group, a.value("by", std::string()), time);
      if (!ok) return refuse(std::string(ack ? "ack: " : "unack: ") + ok.error().describe());
      ++applied_;
      return;
    }
    if (event == nullptr) return refuse("not an event");
    const components::Routed r = engine_->apply(*event, time);
    if (r.consumers == 0) {
      ++unrouted_;
    } else if (r.refused > 0) {
      refuse(r.component == core::kComponentSnapshotTopic
                 ? "invalid component snapshot: " + r.error.describe()
                 : r.component + " refused the event on " + event->topic + ": " +
                       r.error.describe());
    } else {
      ++applied_;
    }
  }

  void evaluate(core::TimePoint t) {
    now_ = t;
    engine_->evaluate(t);
    print_readiness(t);
  }

  void print_readiness(core::TimePoint t) {
    auto snap = engine_->readiness();
    std::string line = std::string(core::to_string(snap->status)) +
                       " gate=" + std::string(readiness::to_string(snap->gate.decision));
    for (const auto& c : snap->components) {
      line += " " + c.component + "=" + std::string(core::to_string(c.status));
    }
    if (!snap->gate.blocking_reasons.empty())
      line += " blocking=" + join(snap->gate.blocking_reasons);
    if (!snap->gate.warnings.empty()) line += " warnings=" + join(snap->gate.warnings);
    if (line == last_line_) return;
    const std::string time = core::format_rfc3339(t);
    if (json_) {
      nlohmann::json comps = nlohmann::json::object();
      for (const auto& c : snap->components) comps[c.component] = core::to_string(c.status);
      nlohmann::json blocking = nlohmann::json::array();
      for (const auto& r : snap->gate.blocking_reasons) blocking.push_back(r.code);
      nlohmann::json warnings = nlohmann::json::array();
      for (const auto& r : snap->gate.warnings) warnings.push_back(r.code);
      out_ << nlohmann::json{{"type", "readiness"},
                             {"time", time},
                             {"status", core::to_string(snap->status)},
                             {"gate", readiness::to_string(snap->gate.decision)},
                             {"components", comps},
                             {"blocking", blocking},
                             {"warnings", warnings}}
                  .dump()
           << "\n";
    } else {
      out_ << time << " readiness " << line << "\n";
    }
    last_line_ = std::move(line);
  }

  void reject_line() {
    ++events_;
    ++rejected_;
  }
  [[nodiscard]] std::uint64_t events() const { return events_; }
  [[nodiscard]] std::uint64_t rejected() const { return rejected_; }

  void finish(bool final, core::Duration settle) {
    // Timers due within `settle` after the last input fire (group_wait, group_interval).
    advance_to(now_ + settle);
    const std::string time = core::format_rfc3339(now_);  // the last input or timer
    auto snap = engine_->readiness();
    const auto status = core::to_string(snap->status);
    const auto gate = readiness::to_string(snap->gate.decision);
    if (final) {
      if (json_) {
        out_ << nlohmann::json{{"type", "final"},
                               {"time", time},
                               {"readiness", readiness::to_json(*snap)}}
                    .dump()
             << "\n";
      } else {
        out_ << readiness::to_markdown(*snap);
      }
    }
    if (json_) {
      out_ << nlohmann::json{{"type", "end"},
                             {"time", time},
                             {"events", events_},
                             {"applied", applied_},
                             {"unrouted", unrouted_},
                             {"rejected", rejected_},
                             {"notifications", sink_.notifications()},
                             {"readiness", status},
                             {"gate", gate}}
                  .dump()
           << "\n";
    } else {
      out_ << time << " end events=" << events_ << " applied=" << applied_
           << " unrouted=" << unrouted_ << " rejected=" << rejected_
           << " notifications=" << sink_.notifications() << " readiness=" << status
           << " gate=" << gate << "\n";
    }
  }

 private:
  bool json_;
  std::string name_;
  ReplaySink sink_;
  std::ostream& out_;
  std::ostream& err_;
  std::unique_ptr<engine::Engine> engine_;
  core::TimePoint now_{};
  std::string last_line_;
  std::uint64_t events_ = 0, applied_ = 0, unrouted_ = 0, rejected_ = 0;
};

}  // namespace

int run_replay(const ReplayOptions& o, std::ostream& out, std::ostream& err) {
  if (o.format != "text" && o.format != "json") {
    err << "opsready: --format: must be text or json\n";
    return kExitUsage;
  }
  auto config = load_replay_config(o.config, err);
  if (!config) return config.error();
  std::ifstream in(o.input, std::ios::binary);
  if (!in) {
    err << "opsready: " << o.input.string() << ": cannot open the file for reading\n";
    return kExitNoInput;
  }
  const std::string name = o.input.string();
  Replayer replay(o, out, err);
  std::string line;
  std::size_t line_no = 0;
  std::optional<core::TimePoint> group;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (core::trim(line).empty()) continue;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    std::string invalid;
    core::TimePoint time{};
    if (j.is_discarded()) {
      invalid = "not a JSON document";
    } else if (!j.is_object() || !j.contains("time") || !j["time"].is_string()) {
      invalid = "time: required in a replay (event times drive the clock)";
    } else if (auto t = core::parse_rfc3339(j["time"].get<std::string>()); !t) {
      invalid = "time: " + t.error().message;
    } else {
      time = *t;
    }
    // A line older than the clock is applied at the clock's time (the clock never goes back;
    // an older component snapshot is kept out of the latest, as in the daemon).
    if (invalid.empty() && group && time < *group) time = *group;
    const bool control = invalid.empty() &&
                         (j.contains("alerts") || j.contains("silence") ||
                          j.contains("expire_silence") || j.contains("ack") || j.contains("unack"));
    std::optional<core::TelemetryEvent> event;
    if (invalid.empty() && !control) {
      auto e = core::event_from_json(j, core::TimePoint{});
      if (e) {
        event = std::move(*e);
      } else {
        invalid = e.error().describe();
      }
    }
    if (!invalid.empty()) {
      err << "opsready: " << name << ":" << line_no << ": " << invalid << "\n";
      if (!o.keep_going) return kExitDataErr;
      replay.reject_line();
      continue;
    }
    if (!replay.started()) {
      // The engine starts at the first line's time (the dead-man switch counts from there).
      if (auto ok = replay.start(*config, time); !ok) {
        err << "opsready: " << (o.config ? o.config->string() : name) << ": "
            << ok.error().describe() << "\n";
        return kExitDataErr;
      }
    }
    if (group && time != *group) replay.evaluate(*group);
    replay.advance_to(time);
    group = time;
    replay.apply(j, event ? &*event : nullptr, time, line_no);
  }
  if (!replay.started()) {
    if (auto ok = replay.start(*config, core::TimePoint{}); !ok) {
      err << "opsready: " << ok.error().describe() << "\n";
      return kExitDataErr;
    }
  }
  replay.evaluate(group.value_or(core::TimePoint{}));  // an empty input: once, at the epoch
  replay.finish(o.final, o.settle);
  if (replay.rejected() > 0 && !o.keep_going) {
    err << "opsready: " << name << ": " << replay.rejected() << " of " << replay.events()
        << " event(s) rejected (--keep-going exits 0 all the same)\n";
    return kExitDataErr;
  }
  return kExitOk;
}

}  // namespace opsready::app
