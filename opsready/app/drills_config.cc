#include "opsready/app/drills_config.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <utility>

#include "opsready/core/topic_pattern.h"

namespace opsready::app {

namespace {

using YAML::Node;

// Matchers as one string (`{a="b", c=~"d"}`) or a list of single matchers.
std::optional<alerting::Matchers> read_matchers(config::Reader& r, const Node& n,
                                                const std::string& path) {
  if (n.IsSequence()) {
    alerting::Matchers out;
    for (std::size_t i = 0; i < n.size(); ++i) {
      const std::string at = path + "[" + std::to_string(i) + "]";
      const auto text = r.scalar(n[i], at);
      if (!text) return std::nullopt;
      auto m = alerting::parse_matcher(*text);
      if (!m) {
        r.error(n[i], at + ": " + m.error().message);
        return std::nullopt;
      }
      out.push_back(std::move(*m));
    }
    return out;
  }
  const auto text = r.scalar(n, path);
  if (!text) return std::nullopt;
  auto ms = alerting::parse_matchers(*text);
  if (!ms) {
    r.error(n, path + ": " + ms.error().message);
    return std::nullopt;
  }
  return std::move(*ms);
}

config::Field matchers_field(std::string key, alerting::Matchers& out) {
  return config::custom(std::move(key),
                        [&out](config::Reader& r, const Node& n, const std::string& path) {
                          if (auto ms = read_matchers(r, n, path)) out = std::move(*ms);
                        });
}

config::Field gate_field(std::string key, std::optional<drills::GateOutcome>& out) {
  return config::custom(std::move(key),
                        [&out](config::Reader& r, const Node& n, const std::string& path) {
                          const auto word = r.scalar(n, path);
                          if (!word) return;
                          auto d = readiness::parse_decision(*word);
                          if (!d) {
                            r.error(n, path + " must be pass, warn or block, got '" + *word + "'");
                            return;
                          }
                          out = *d;
                        });
}

constexpr const char* kCheckKinds = "readiness, gate, component, alert, no_alert or metric";

// One check: a mapping with one key, the kind.
//   - readiness: {at_most: warn}          - gate: {at_most: warn, at_least: pass}
//   - component: {name: fix_gateway, at_least: fail}
//   - alert: 'alertname="X"'              - no_alert: ['alertname="X"', 'severity="critical"']
//   - metric: {name: opsready_spool_pending_events, labels: 'x="y"', at_least: 1}
void read_check(config::Reader& r, const Node& item, const std::string& path,
                std::vector<drills::Check>& out) {
  using Kind = drills::Check::Kind;
  if (!item.IsMap() || item.size() != 1) {
    r.error(item, path + " must be a mapping with one key: " + kCheckKinds);
    return;
  }
  const std::string kind = item.begin()->first.as<std::string>();
  const Node value = item.begin()->second;
  const std::string at = path + "." + kind;
  drills::Check c;
  const std::size_t errors = r.error_count();
  if (kind == "readiness" || kind == "component") {
    c.kind = kind == "readiness" ? Kind::kReadiness : Kind::kComponent;
    config::Table t = {config::status("at_most", c.status_at_most),
                       config::status("at_least", c.status_at_least)};
    if (c.kind == Kind::kComponent) {
      t.insert(t.begin(),
               config::required(config::text("name", c.component, {config::not_empty()})));
    }
    r.read(value, at, t);
    if (!c.status_at_most && !c.status_at_least && r.error_count() == errors) {
      r.error(value, at + " needs at_most or at_least");
    }
  } else if (kind == "gate") {
    c.kind = Kind::kGate;
    r.read(value, at,
           {gate_field("at_most", c.gate_at_most), gate_field("at_least", c.gate_at_least)});
    if (!c.gate_at_most && !c.gate_at_least && r.error_count() == errors) {
      r.error(value, at + " needs at_most or at_least");
    }
  } else if (kind == "alert" || kind == "no_alert") {
    c.kind = kind == "alert" ? Kind::kAlert : Kind::kNoAlert;
    auto ms = read_matchers(r, value, at);
    if (!ms) return;
    if (ms->empty()) {
      r.error(value, at + " needs at least one matcher");
      return;
    }
    c.matchers = std::move(*ms);
  } else if (kind == "metric") {
    c.kind = Kind::kMetric;
    double at_most = 0, at_least = 0;
    bool has_most = false, has_least = false;
    r.read(
        value, at,
        {config::required(
             config::custom("name",
                            [&c](config::Reader& r2, const Node& n, const std::string& p) {
                              const auto name = r2.scalar(n, p);
                              if (!name) return;
                              // Prometheus's metric name syntax.
                              static const std::regex re("[a-zA-Z_:][a-zA-Z0-9_:]*");
                              if (!std::regex_match(*name, re)) {
                                r2.error(n, p + ": '" + *name + "' is not a metric name");
                                return;
                              }
                              c.metric = *name;
                            })),
         matchers_field("labels", c.matchers),
         config::custom("at_most",
                        [&](config::Reader& r2, const Node& n, const std::string& p) {
                          has_most = true;
                          (void)config::number("at_most", at_most).read(r2, n, p);
                        }),
         config::custom("at_least", [&](config::Reader& r2, const Node& n, const std::string& p) {
           has_least = true;
           (void)config::number("at_least", at_least).read(r2, n, p);
         })});
    if (has_most) c.value_at_most = at_most;
    if (has_least) c.value_at_least = at_least;
    if (!has_most && !has_least && r.error_count() == errors) {
      r.error(value, at + " needs at_most or at_least");
    }
  } else {
    r.error(item, path + ": unknown check '" + kind + "' (known: " + kCheckKinds + ")");
    return;
  }
  if (r.error_count() == errors) out.push_back(std::move(c));
}

config::Field checks_field(std::string key, std::vector<drills::Check>& out) {
  return config::list(
      std::move(key), "a list of checks",
      [&out](config::Reader& r, const Node& item, const std::string& path, std::size_t index) {
        read_check(r, item, path + "[" + std::to_string(index) + "]", out);
      });
}

// A number that may be absent (the chaos events' parameters).
config::Field optional_number(std::string key, std::optional<double>& out) {
  return config::custom(key, [key, &out](config::Reader& r, const Node& n, const std::string& p) {
    double v = 0;
    const std::size_t errors = r.error_count();
    (void)config::number(key, v).read(r, n, p);
    if (r.error_count() == errors) out = v;
  });
}

config::Table chaos_event_table(components::ChaosEvent& e) {
  return {
      config::required(config::custom(
          "type",
          [&e](config::Reader& r, const Node& n, const std::string& path) {
            const auto word = r.scalar(n, path);
            if (!word) return;
            auto t = components::parse_chaos_event_type(*word);
            if (!t) {
              r.error(n, path +
                             " must be primary_responder_outage, secondary_responder_overload, "
                             "runbook_corruption, chatops_failure, metrics_stale, "
                             "incident_surge, postmortem_backlog or training_lapse, got '" +
                             *word + "'");
              return;
            }
            e.type = *t;
          })),
      config::status("severity", e.severity),
      config::text("description", e.description),
      config::strings("responders", e.responders),
      config::strings("runbooks", e.runbooks),
      config::integer("count", e.count, 1, 1000),
      config::text("prefix", e.prefix),
      optional_number("hours", e.hours),
      optional_number("data_age_hours", e.data_age_hours),
      optional_number("mtta_minutes", e.mtta_minutes),
      optional_number("mttr_minutes", e.mttr_minutes),
      optional_number("training_age_days", e.training_age_days),
      optional_number("drill_age_days", e.drill_age_days),
  };
}

config::Table fault_table(drills::Fault& f) {
  return {
      config::required(config::custom(
          "kind",
          [&f](config::Reader& r, const Node& n, const std::string& path) {
            const auto word = r.scalar(n, path);
            if (!word) return;
            auto k = drills::parse_fault_kind(*word);
            if (!k) {
              r.error(n, path +
                             " must be receiver_outage, feed_stall, command, task_crash, "
                             "store_fault, incident_chaos or ingest_failover, got '" +
                             *word + "'");
              return;
            }
            f.kind = *k;
          })),
      config::text("receiver", f.receiver),
      config::strings("topics", f.topics,
                      {.expected = "a list of topic patterns",
                       .item_checks = {[](const std::string& t,
                                          const std::string& path) -> std::optional<std::string> {
                         if (auto ok = core::TopicPattern::parse(t); !ok) {
                           return path + ": '" + t + "': " + ok.error().message;
                         }
                         return std::nullopt;
                       }}}),
      config::text("run", f.run),
      config::text("undo", f.undo),
      config::duration("command_timeout", f.command_timeout, {config::positive()}),
      config::integer("failures", f.failures, 1, 1000),
      config::integer("intensity", f.intensity, 0, 1000),
      config::duration("period", f.period, {config::positive()}),
      config::flag("read_only", f.read_only),
      config::duration("delay", f.delay),
      config::items<components::ChaosEvent>("events", f.chaos, "a list of chaos events",
                                            chaos_event_table),
      config::text("results_file", f.results_file),
      config::strings("dimensions", f.dimensions),
      config::text("fallback", f.fallback),
      config::duration("duration", f.duration, {config::positive()}),
  };
}

config::Table scenario_table(drills::Scenario& s) {
  return {
      config::required(config::custom(
          "name",
          [&s](config::Reader& r, const Node& n, const std::string& path) {
            const auto word = r.scalar(n, path);
            if (!word) return;
            if (!drills::is_valid_scenario_name(*word)) {
              r.error(n, path + " '" + *word +
                             "' must be 1-64 of a-z, 0-9, '_', '.', '-', starting with a letter "
                             "or digit");
              return;
            }
            s.name = *word;
          })),
      config::text("description", s.description),
      config::required(config::text("hypothesis", s.hypothesis, {config::not_empty()})),
      checks_field("steady_state", s.steady_state),
      config::required(config::section("fault", [&s] { return fault_table(s.fault); })),
      config::section(
          "target",
          [&s] { return config::Table{config::strings("components", s.target_components)}; }),
      config::section("expect",
                      [&s] {
                        return config::Table{
                            matchers_field("alert", s.expect.alert),
                            config::text("receiver", s.expect.receiver),
                            config::duration("within", s.expect.within, {config::positive()}),
                            config::flag("acked", s.expect.acked)};
                      }),
      config::section("responder",
                      [&s] {
                        s.responder.emplace();
                        return config::Table{
                            config::duration("ack_after", s.responder->ack_after),
                            config::text("by", s.responder->by, {config::not_empty()})};
                      }),
      checks_field("abort_if", s.abort_if),
      checks_field("during", s.during),
      config::section("recovery",
                      [&s] {
                        return config::Table{
                            config::duration("within", s.recovery.within, {config::positive()}),
                            config::flag("alert_resolved", s.recovery.alert_resolved)};
                      }),
  };
}

// What a fault of each kind needs, once the whole scenario is read.
void check_fault(config::Reader& r, const Node& root, drills::Scenario& s) {
  const Node at = root["fault"];
  const auto& f = s.fault;
  // The component a fault acts on is a target: its alerts are the drill's (routes can send
  // them to a drill receiver).
  const auto target = [&s](std::string_view component) {
    if (std::find(s.target_components.begin(), s.target_components.end(), component) ==
        s.target_components.end()) {
      s.target_components.emplace_back(component);
    }
  };
  switch (f.kind) {
    case drills::FaultKind::kReceiverOutage:
      if (f.receiver.empty()) r.error(at, "fault: a receiver_outage needs 'receiver'");
      break;
    case drills::FaultKind::kFeedStall:
      if (f.topics.empty()) r.error(at, "fault: a feed_stall needs 'topics'");
      break;
    case drills::FaultKind::kTaskCrash:
      break;
    case drills::FaultKind::kStoreFault:
      if (!f.read_only && f.delay <= core::Duration::zero()) {
        r.error(at, "fault: a store_fault needs 'read_only: true' or a 'delay'");
      }
      break;
    case drills::FaultKind::kIncidentChaos:
      if (f.chaos.empty()) r.error(at, "fault: an incident_chaos needs 'events'");
      target(components::kIncidentResponseName);
      break;
    case drills::FaultKind::kIngestFailover:
      if (f.results_file.empty()) {
        r.error(at, "fault: an ingest_failover needs 'results_file' (the ingest results, JSON)");
      }
      target(components::kFailoverDrillName);
      break;
    case drills::FaultKind::kCommand:
      if (f.run.empty() || f.undo.empty()) {
        r.error(at,
                "fault: a command fault needs 'run' and 'undo' (the undo runs after a crash "
                "too)");
      }
      break;
  }
  if (s.responder && !s.expect.acked) {
    // A responder acks, so the ack is part of what the drill checks.
    s.expect.acked = true;
  }
}

}  // namespace

ScenarioResult parse_scenario(const std::string& yaml, const std::string& name) {
  drills::Scenario s;
  auto d = read_document(yaml, name, [&](config::Reader& reader, const Node& root) {
    if (!root.IsMap()) {
      reader.error(root, "a drill scenario must be a YAML mapping");
    } else if (reader.read(root, "", scenario_table(s))) {
      check_fault(reader, root, s);
      reader.finish();
    }
  });
  // A scenario has no deprecated names: a warning would be a bug of its table.
  d.errors.insert(d.errors.end(), d.warnings.begin(), d.warnings.end());
  if (!d.errors.empty()) return std::unexpected(std::move(d.errors));
  s.file = name;
  return s;
}

namespace {

// The scenario files of one `scenarios` entry: the file, or a directory's *.yml / *.yaml.
std::vector<std::filesystem::path> files_of(const std::filesystem::path& p, std::string& error) {
  std::error_code ec;
  if (!std::filesystem::is_directory(p, ec)) return {p};
  std::vector<std::filesystem::path> out;
  for (const auto& entry : std::filesystem::directory_iterator(p, ec)) {
    const auto ext = entry.path().extension();
    if (entry.is_regular_file() && (ext == ".yml" || ext == ".yaml")) out.push_back(entry.path());
  }
  if (ec) error = ec.message();
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

config::Field drills_field(std::string key, const std::string& file, DrillsConfig& out,
                           const alerting::Policy& policy, OtherFileSinks other_file) {
  return config::section(std::move(key), [&file, &out, &policy, other_file] {
    return config::Table{
        config::custom(
            "scenarios",
            [&file, &out, &policy, other_file](config::Reader& r, const Node& n,
                                               const std::string& path) {
              if (!n.IsSequence()) {
                r.error(n, path + " must be a list of files or directories");
                return;
              }
              const auto dir = std::filesystem::path(file).parent_path();
              std::set<std::string> names;
              for (std::size_t i = 0; i < n.size(); ++i) {
                const std::string at = path + "[" + std::to_string(i) + "]";
                const auto text = r.scalar(n[i], at);
                if (!text) continue;
                std::filesystem::path p = *text;
                if (p.is_relative()) p = dir / p;
                out.paths.push_back(p);
                std::string error;
                const auto files = files_of(p, error);
                if (!error.empty())
                  r.error(n[i], at + ": cannot list '" + p.string() + "': " + error);
                for (const auto& f : files) {
                  std::ifstream in(f, std::ios::binary);
                  if (!in) {
                    r.error(n[i],
                            at + ": cannot read '" + f.string() + "': " + std::strerror(errno));
                    continue;
                  }
                  std::stringstream buf;
                  buf << in.rdbuf();
                  auto s = parse_scenario(buf.str(), f.string());
                  if (!s) {
                    const std::size_t count = s.error().size();
                    for (auto& e : s.error()) {
                      if (other_file.error) other_file.error(std::move(e));
                    }
                    r.error(n[i], at + ": " + std::to_string(count) + " error(s) in '" +
                                      f.string() + "'");
                    continue;
                  }
                  if (!names.insert(s->name).second) {
                    r.error(n[i], at + ": two scenarios are named '" + s->name +
                                      "' (the second in '" + f.string() + "')");
                    continue;
                  }
                  for (const std::string* receiver : {&s->fault.receiver, &s->expect.receiver}) {
                    if (receiver->empty()) continue;
                    const bool known = std::any_of(
                        policy.receivers.begin(), policy.receivers.end(),
                        [&](const alerting::Receiver& x) { return x.name == *receiver; });
                    if (!known) {
                      r.error(n[i], at + ": scenario '" + s->name + "' in '" + f.string() +
                                        "' names receiver '" + *receiver +
                                        "', which the alerting policy does not have");
                    }
                  }
                  out.scenarios.push_back(std::move(*s));
                }
              }
              std::sort(out.scenarios.begin(), out.scenarios.end(),
                        [](const auto& a, const auto& b) { return a.name < b.name; });
            }),
        config::duration(
            "poll_interval", out.poll_interval,
            {config::between(std::chrono::milliseconds(10), std::chrono::seconds(10))}),
    };
  });
}

}  // namespace opsready::app
