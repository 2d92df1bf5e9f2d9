#include "opsready/app/alerting_config.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include <yaml-cpp/yaml.h>

#include "opsready/alerting/notify/transports.h"

namespace opsready::app {
namespace {

using nlohmann::json;
using YAML::Node;

int line_of(const Node& at) {
  return at.IsDefined() && at.Mark().line >= 0 ? at.Mark().line + 1 : 0;
}

// `prefix` and a field relative to it: "alerting" + "receivers[0].name", "" + "route".
std::string at_path(const std::string& prefix, const std::string& field) {
  if (prefix.empty()) return field;
  if (field.empty()) return prefix;
  return field.front() == '[' ? prefix + field : prefix + "." + field;
}

// The node a field ("receivers[1].email_configs[0].smarthost") names below `node`: the deepest
// one that exists, so that a missing key is reported at its mapping.
Node node_at(const Node& node, std::string_view field) {
  if (field.empty()) return node;
  if (field.front() == '.') field.remove_prefix(1);
  if (field.front() == '[') {
    const auto close = field.find(']');
    std::size_t index = 0;
    const auto [end, ec] = std::from_chars(field.data() + 1, field.data() + close, index);
    if (close == std::string_view::npos || ec != std::errc() || !node.IsSequence() ||
        index >= node.size()) {
      return node;
    }
    return node_at(node[index], field.substr(close + 1));
  }
  const auto stop = std::min(field.find('.'), field.find('['));
  const std::string key(field.substr(0, stop));
  if (!node.IsMap()) return node;
  const Node child = node[key];
  if (!child.IsDefined()) return node;
  return node_at(child, stop == std::string_view::npos ? "" : field.substr(stop));
}

// YAML → JSON with every scalar a string: alerting::normalize_settings() types them by key, so
// that a password such as 0123 keeps its leading zero. A null value stays null (absent).
json to_json(config::Reader& r, const Node& n, const std::string& path) {
  if (n.IsMap()) {
    json o = json::object();
    for (const auto& kv : n) {
      const std::string key = kv.first.Scalar();
      if (o.contains(key)) {
        r.error(kv.first, "key '" + key + "' is given twice in " + path);
        continue;
      }
      o[key] = to_json(r, kv.second, path + "." + key);
    }
    return o;
  }
  if (n.IsSequence()) {
    json a = json::array();
    for (std::size_t i = 0; i < n.size(); ++i) {
      a.push_back(to_json(r, n[i], path + "[" + std::to_string(i) + "]"));
    }
    return a;
  }
  if (n.IsScalar()) return n.Scalar();
  return nullptr;
}

// The key node of `key` in `map`, for a message about the key rather than its value (whose line
// is the next one in block style); `map` itself when there is none.
Node key_of(const Node& map, std::string_view key) {
  if (map.IsMap()) {
    for (const auto& kv : map) {
      if (kv.first.Scalar() == key) return kv.first;
    }
  }
  return map;
}

// A YAML single-quoted scalar (for the matchers a deprecation warning suggests).
std::string single_quoted(const std::string& s) {
  std::string out = "'";
  for (const char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

config::Field am_duration(std::string key, std::optional<core::Duration>& out) {
  return config::custom(std::move(key),
                        [&out](config::Reader& r, const Node& n, const std::string& path) {
                          const auto s = r.scalar(n, path);
                          if (!s) return;
                          auto d = alerting::parse_alertmanager_duration(*s);
                          if (!d) {
                            r.error(n, path + ": " + d.error().message);
                            return;
                          }
                          out = *d;
                        });
}

// A list field whose absence and null (`inhibit_rules:` with nothing under it, as Alertmanager
// files have) both mean "none". `below` is config::Field::below.
config::Field sequence(std::string key, std::string expected, config::ItemFn item,
                       config::KeysFn below = {}) {
  return config::custom(
      std::move(key),
      [expected = std::move(expected), item = std::move(item)](config::Reader& r, const Node& n,
                                                               const std::string& path) {
        if (n.IsNull()) return;
        if (!n.IsSequence()) {
          r.error(n, path + " must be " + expected);
          return;
        }
        for (std::size_t i = 0; i < n.size(); ++i) item(r, n[i], path, i);
      },
      std::move(below));
}

std::string indexed(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

// `matchers:`: a list of strings, each holding one or more matchers (Alertmanager parses each
// entry with labels.ParseMatchers).
config::Field matcher_list(std::string key, alerting::Matchers& out) {
  return sequence(
      std::move(key), "a list of matchers, e.g. ['severity=\"critical\"']",
      [&out](config::Reader& r, const Node& item, const std::string& path, std::size_t i) {
        const auto s = r.scalar(item, indexed(path, i));
        if (!s) return;
        auto ms = alerting::parse_matchers(*s);
        if (!ms) {
          r.error(item, indexed(path, i) + ": " + ms.error().message);
          return;
        }
        out.insert(out.end(), ms->begin(), ms->end());
      });
}

// The deprecated `match:` / `match_re:` maps of label names to values (regexes), turned into
// matchers, with a warning that spells the `matchers:` to write instead.
// `parent` is the mapping holding the key, where the warning points.
config::Field match_map(std::string key, alerting::MatchType type, alerting::Matchers& out,
                        std::string replacement, const Node& parent) {
  return config::custom(
      key,
      [key, type, &out, replacement = std::move(replacement), parent](
          config::Reader& r, const Node& n, const std::string& path) {
        if (n.IsNull()) return;
        if (!n.IsMap()) {
          r.error(n, path + " must be a mapping of label names to values");
          return;
        }
        std::string written;
        for (const auto& kv : n) {
          const std::string name = kv.first.Scalar();
          const auto value = r.scalar(kv.second, path + "." + name);
          if (!value) continue;
          auto m = alerting::Matcher::create(type, name, *value);
          if (!m) {
            r.error(kv.first, path + "." + name + ": " + m.error().message);
            continue;
          }
          written += (written.empty() ? "" : ", ") + single_quoted(m->to_string());
          out.push_back(*m);
        }
        r.warning(key_of(parent, key),
                  path + " is deprecated; write it as " + replacement + ": [" + written + "]");
      },
      [] { return config::name_keys(); });
}

// Reads one policy (the inline section, or a whole Alertmanager file) into a Policy.
class PolicyReader {
 public:
  // `prefix`: the path of `root` in messages ("alerting", or "" for a file of its own);
  // `base_dir`: the directory relative *_file paths are resolved against.
  PolicyReader(config::Reader& r, std::string prefix, std::filesystem::path base_dir,
               alerting::Policy& out)
      : r_(r), prefix_(std::move(prefix)), base_dir_(std::move(base_dir)), policy_(out) {}

  // True when the policy has no error. The whole-policy checks (alerting::check: references,
  // the route tree's and inhibit rules' own rules) run only on a policy that read without
  // error, as a part left out would make them report what is not wrong.
  bool read(const Node& root, bool inline_section) {
    const std::size_t before = r_.error_count();
    if (!r_.read(root, prefix_, top_table(inline_section, root)) || r_.error_count() > before) {
      return false;
    }
    for (const auto& e : alerting::check(policy_)) {
      r_.error(node_at(root, yaml_field(e.field)),
               at_path(prefix_, yaml_field(e.field)) + ": " + e.message);
    }
    if (r_.error_count() > before) return false;
    check_integrations(root);
    return r_.error_count() == before;
  }

  // The keys of a policy, as config::known_keys() lists them; `inline_section`: the `alerting:`
  // section, with its config_file.
  static std::vector<std::string> known_keys(bool inline_section) {
    config::Reader r({});
    alerting::Policy policy;
    PolicyReader reader(r, "", {}, policy);
    return config::known_keys(reader.top_table(inline_section, Node()));
  }

 private:
  // A Policy field as the YAML spells it: the deprecated mute_time_intervals follow
  // time_intervals in Policy::time_intervals.
  std::string yaml_field(const std::string& field) const {
    constexpr std::string_view kList = "time_intervals[";
    if (!field.starts_with(kList)) return field;
    std::size_t index = 0;
    const auto [end, ec] =
        std::from_chars(field.data() + kList.size(), field.data() + field.size(), index);
    if (ec != std::errc() || index < main_time_intervals_) return field;
    return "mute_time_intervals[" + std::to_string(index - main_time_intervals_) + end;
  }

  // Each integration as delivery would build it (errors), then lint()'s advice (warnings).
  void check_integrations(const Node& root) {
    for (std::size_t i = 0; i < policy_.receivers.size(); ++i) {
      std::map<std::string, std::size_t> index;
      for (const auto& integration : policy_.receivers[i].integrations) {
        const auto* type = alerting::find_integration_type(integration.type);
        const std::string at = indexed("receivers", i) + "." + std::string(type->config_key) + "[" +
                               std::to_string(index[integration.type]++) + "]";
        // What delivery would refuse at send time (a template that does not compile or render,
        // Go template syntax, a value it cannot use) is an error now, not at 3 a.m. Secrets
        // files are not read here, and messages never quote a secret.
        std::string refused;
        if (auto ok = alerting::notify::check_integration(integration, policy_.global); !ok) {
          refused = ok.error().field.empty() ? at : at + "." + ok.error().field;
          r_.error(node_at(root, refused), at_path(prefix_, refused) + ": " + ok.error().message);
        }
        for (const auto& w : alerting::lint(integration, policy_.global)) {
          const std::string field = w.field.empty() ? at : at + "." + w.field;
          if (field == refused) continue;  // the error says it
          r_.warning(node_at(root, field), at_path(prefix_, field) + ": " + w.message);
        }
      }
    }
  }

  config::Table top_table(bool inline_section, const Node& root) {
    config::Table t;
    if (inline_section) t.push_back(config::handled("config_file"));  // read by alerting_field
    t.push_back(config::custom(
        "global",
        [this](config::Reader& r, const Node& n, const std::string& path) {
          if (n.IsNull()) return;
          if (!n.IsMap()) {
            r.error(n, path + " must be a mapping");
            return;
          }
          json global = to_json(r, n, path);
          for (const auto& e : alerting::normalize_global(global, base_dir_)) {
            r.error(node_at(n, e.field), at_path(path, e.field) + ": " + e.message);
          }
          policy_.global = std::move(global);
        },
        [] { return config::mapping_keys(alerting::global_keys()); }));
    t.push_back(config::required(config::custom(
        "route",
        [this](config::Reader&, const Node& n, const std::string& path) {
          read_route(n, path, policy_.route);
        },
        [this] {
          alerting::RouteSpec route;
          return config::mapping_keys(config::known_keys(route_table(route, Node())));
        })));
    t.push_back(sequence(
        "receivers", "a list of receivers ({name, webhook_configs, ...})",
        [this](config::Reader&, const Node& item, const std::string& path, std::size_t i) {
          read_receiver(item, indexed(path, i));
        },
        [this] {
          alerting::Receiver receiver;
          return config::item_keys(config::known_keys(receiver_table(receiver)));
        }));
    t.push_back(sequence(
        "inhibit_rules", "a list of inhibit rules ({source_matchers, target_matchers, equal})",
        [this](config::Reader& r, const Node& item, const std::string& path, std::size_t i) {
          alerting::InhibitRule rule;
          if (r.read(item, indexed(path, i), inhibit_table(rule, item))) {
            policy_.inhibit_rules.push_back(std::move(rule));
          }
        },
        [this] {
          alerting::InhibitRule rule;
          return config::item_keys(config::known_keys(inhibit_table(rule, Node())));
        }));
    t.push_back(
        config::custom("templates", [](config::Reader& r, const Node& n, const std::string& path) {
          if (n.IsNull() || (n.IsSequence() && n.size() == 0)) return;
          if (!n.IsSequence()) {
            r.error(n, path + " must be a list of file names");
            return;
          }
          r.error(n, path +
                         ": not supported by opsready: Alertmanager's templates are Go "
                         "templates, which opsready does not run (leave the list empty)");
        }));
    const auto interval_keys = [] {
      alerting::TimeInterval interval;
      return config::item_keys(config::known_keys(interval_table(interval)));
    };
    t.push_back(sequence(
        "time_intervals", "a list of time intervals ({name, time_intervals})",
        [this](config::Reader&, const Node& item, const std::string& path, std::size_t i) {
          read_time_interval(item, indexed(path, i));
          main_time_intervals_ = policy_.time_intervals.size();
        },
        interval_keys));
    t.push_back(config::custom(
        "mute_time_intervals",
        [this, root](config::Reader& r, const Node& n, const std::string& path) {
          if (n.IsNull()) return;
          if (!n.IsSequence()) {
            r.error(n, path + " must be a list of time intervals ({name, time_intervals})");
            return;
          }
          r.warning(key_of(root, "mute_time_intervals"),
                    path + " is deprecated; write it as time_intervals (the same keys)");
          for (std::size_t i = 0; i < n.size(); ++i) read_time_interval(n[i], indexed(path, i));
        },
        interval_keys));
    return t;
  }

  void read_route(const Node& n, const std::string& path, alerting::RouteSpec& route) {
    r_.read(n, path, route_table(route, n));
  }

  // `child_keys`: whether the `routes` field lists its routes' keys (known_keys). A child's
  // table does not, so that the listing ends: a deeper route has the same keys.
  config::Table route_table(alerting::RouteSpec& route, const Node& node, bool child_keys = true) {
    config::KeysFn routes_keys;
    if (child_keys) {
      routes_keys = [this] {
        alerting::RouteSpec child;
        return config::item_keys(config::known_keys(route_table(child, Node(), false)));
      };
    }
    return {
        config::custom("receiver",
                       [&route](config::Reader& r, const Node& n, const std::string& path) {
                         if (auto s = r.scalar(n, path)) route.receiver = *s;
                       }),
        config::custom("group_by",
                       [&route](config::Reader& r, const Node& n, const std::string& path) {
                         if (!n.IsSequence()) {
                           r.error(n, path + " must be a list of label names, or ['...']");
                           return;
                         }
                         std::vector<std::string> labels;
                         for (const auto& item : n) {
                           if (auto s = r.scalar(item, path)) labels.push_back(*s);
                         }
                         route.group_by = std::move(labels);
                       }),
        config::flag("continue", route.continue_matching),
        match_map("match", alerting::MatchType::kEqual, route.matchers, "matchers", node),
        match_map("match_re", alerting::MatchType::kRegex, route.matchers, "matchers", node),
        matcher_list("matchers", route.matchers),
        am_duration("group_wait", route.group_wait),
        am_duration("group_interval", route.group_interval),
        am_duration("repeat_interval", route.repeat_interval),
        config::strings("mute_time_intervals", route.mute_time_intervals,
                        {.expected = "a list of time interval names"}),
        config::strings("active_time_intervals", route.active_time_intervals,
                        {.expected = "a list of time interval names"}),
        sequence(
            "routes", "a list of routes",
            [this, &route](config::Reader&, const Node& item, const std::string& path,
                           std::size_t i) {
              alerting::RouteSpec child;
              read_route(item, indexed(path, i), child);
              route.routes.push_back(std::move(child));
            },
            routes_keys),
    };
  }

  void read_receiver(const Node& item, const std::string& path) {
    if (!item.IsMap()) {
      r_.error(item, path + " must be a mapping with at least 'name'");
      return;
    }
    // Integrations opsready does not deliver to are refused by name, not as unknown keys, and
    // left out of the mapping the table reads.
    const auto unsupported = alerting::unsupported_integration_keys();
    Node supported(YAML::NodeType::Map);
    for (const auto& kv : item) {
      const std::string key = kv.first.Scalar();
      if (std::find(unsupported.begin(), unsupported.end(), key) != unsupported.end()) {
        r_.error(kv.first, path + "." + key + ": not supported by opsready (supported: " +
                               alerting::supported_integration_keys() + ")");
        continue;
      }
      supported.force_insert(kv.first, kv.second);
    }
    if (!item["name"]) r_.error(item, path + " needs 'name'");
    alerting::Receiver receiver;
    r_.read(supported, path, receiver_table(receiver));
    policy_.receivers.push_back(std::move(receiver));
  }

  config::Table receiver_table(alerting::Receiver& receiver) {
    config::Table t{config::text("name", receiver.name, {config::not_empty()})};
    for (const auto& type : alerting::integration_types()) {
      t.push_back(sequence(
          std::string(type.config_key), "a list of " + std::string(type.type) + " configurations",
          [this, &receiver, &type](config::Reader&, const Node& item, const std::string& path,
                                   std::size_t i) {
            read_integration(type, item, indexed(path, i), receiver);
          },
          [&type] { return config::item_keys(alerting::settings_keys(type.type)); }));
    }
    t.push_back(sequence(
        "escalation", "a list of escalation steps ({after, receiver})",
        [this, &receiver](config::Reader& r, const Node& item, const std::string& path,
                          std::size_t i) {
          std::optional<core::Duration> after;
          alerting::EscalationStep step;
          if (!r.read(item, indexed(path, i), escalation_table(after, step))) return;
          step.after = after.value_or(core::Duration::zero());
          receiver.escalation.push_back(std::move(step));
        },
        [] {
          std::optional<core::Duration> after;
          alerting::EscalationStep step;
          return config::item_keys(config::known_keys(escalation_table(after, step)));
        }));
    return t;
  }

  static config::Table escalation_table(std::optional<core::Duration>& after,
                                        alerting::EscalationStep& step) {
    return {config::required(am_duration("after", after)),
            config::required(config::text("receiver", step.receiver))};
  }

  void read_integration(const alerting::IntegrationType& type, const Node& item,
                        const std::string& path, alerting::Receiver& receiver) {
    if (!item.IsMap()) {
      r_.error(item, path + " must be a mapping");
      return;
    }
    alerting::Integration integration{
        .type = std::string(type.type), .send_resolved = type.send_resolved, .line = line_of(item)};
    json settings = to_json(r_, item, path);
    for (const auto& e : alerting::normalize_settings(type.type, settings, base_dir_)) {
      r_.error(node_at(item, e.field), at_path(path, e.field) + ": " + e.message);
    }
    if (settings.contains("send_resolved") && settings["send_resolved"].is_boolean()) {
      integration.send_resolved = settings["send_resolved"].get<bool>();
    }
    settings.erase("send_resolved");
    integration.settings = std::move(settings);
    receiver.integrations.push_back(std::move(integration));
  }

  config::Table inhibit_table(alerting::InhibitRule& rule, const Node& node) {
    using alerting::MatchType;
    return {
        matcher_list("source_matchers", rule.source),
        matcher_list("target_matchers", rule.target),
        config::strings("equal", rule.equal, {.expected = "a list of label names"}),
        config::text("name", rule.name),
        match_map("source_match", MatchType::kEqual, rule.source, "source_matchers", node),
        match_map("source_match_re", MatchType::kRegex, rule.source, "source_matchers", node),
        match_map("target_match", MatchType::kEqual, rule.target, "target_matchers", node),
        match_map("target_match_re", MatchType::kRegex, rule.target, "target_matchers", node),
    };
  }

  void read_time_interval(const Node& item, const std::string& path) {
    alerting::TimeInterval interval;
    if (r_.read(item, path, interval_table(interval))) {
      policy_.time_intervals.push_back(std::move(interval));
    }
  }

  static config::Table interval_table(alerting::TimeInterval& interval) {
    return {
        config::required(config::text("name", interval.name, {config::not_empty()})),
        sequence(
            "time_intervals",
            "a list of {times, weekdays, days_of_month, months, years, "
            "location}",
            [&interval](config::Reader& r, const Node& range, const std::string& p, std::size_t i) {
              alerting::TimeRangeSpec spec;
              if (r.read(range, indexed(p, i), range_table(spec))) {
                interval.ranges.push_back(std::move(spec));
              }
            },
            [] {
              alerting::TimeRangeSpec spec;
              return config::item_keys(config::known_keys(range_table(spec)));
            })};
  }

  using RangeParser = core::Result<alerting::InclusiveRange> (*)(std::string_view);

  static config::Field ranges(std::string key, std::vector<alerting::InclusiveRange>& out,
                              RangeParser parse, std::string example) {
    return sequence(
        std::move(key), "a list, e.g. " + std::move(example),
        [&out, parse](config::Reader& r, const Node& item, const std::string& path, std::size_t i) {
          const auto s = r.scalar(item, indexed(path, i));
          if (!s) return;
          auto range = parse(*s);
          if (!range) {
            r.error(item, indexed(path, i) + ": " + range.error().message);
            return;
          }
          out.push_back(*range);
        });
  }

  static config::Table times_table(std::string& start, std::string& end) {
    return {config::required(config::text("start_time", start)),
            config::required(config::text("end_time", end))};
  }

  static config::Table range_table(alerting::TimeRangeSpec& spec) {
    return {
        sequence(
            "times", "a list of {start_time: 'HH:MM', end_time: 'HH:MM'}",
            [&spec](config::Reader& r, const Node& item, const std::string& path, std::size_t i) {
              std::string start;
              std::string end;
              const std::string at = indexed(path, i);
              const std::size_t before = r.error_count();
              if (!r.read(item, at, times_table(start, end)) || r.error_count() > before) {
                return;
              }
              auto range = alerting::parse_time_of_day_range(start, end);
              if (!range) {
                r.error(item, at + ": " + range.error().message);
                return;
              }
              spec.times.push_back(*range);
            },
            [] {
              std::string start;
              std::string end;
              return config::item_keys(config::known_keys(times_table(start, end)));
            }),
        ranges("weekdays", spec.weekdays, alerting::parse_weekday_range,
               "['monday:friday', 'sunday']"),
        ranges("days_of_month", spec.days_of_month, alerting::parse_day_of_month_range,
               "['1:5', '-3:-1']"),
        ranges("months", spec.months, alerting::parse_month_range,
               "['1:3', 'may:august', 'december']"),
        ranges("years", spec.years, alerting::parse_year_range, "['2020:2022', '2030']"),
        config::custom("location",
                       [&spec](config::Reader& r, const Node& n, const std::string& path) {
                         const auto s = r.scalar(n, path);
                         if (!s) return;
                         if (auto ok = alerting::check_location(*s); !ok) {
                           r.error(n, path + ": " + ok.error().message);
                           return;
                         }
                         spec.location = *s;
                       }),
    };
  }

  config::Reader& r_;
  std::string prefix_;
  std::filesystem::path base_dir_;
  alerting::Policy& policy_;
  std::size_t main_time_intervals_ = 0;  // entries of `time_intervals:` in the policy's list
};

config::Sink collect(std::vector<ConfigError>& into, const std::string& file) {
  return [&into, &file](const Node& at, std::string message) {
    into.push_back({file, line_of(at), std::move(message)});
  };
}

}  // namespace

DocumentDiagnostics read_document(
    const std::string& yaml, const std::string& name,
    const std::function<void(config::Reader& reader, const Node& root)>& read) {
  DocumentDiagnostics d;
  Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    d.errors.push_back(
        {name, e.mark.line >= 0 ? e.mark.line + 1 : 0, "YAML syntax error: " + e.msg});
    return d;
  }
  config::Reader reader(collect(d.errors, name), collect(d.warnings, name));
  try {
    read(reader, root);
  } catch (const YAML::Exception& e) {
    d.errors.push_back({name, e.mark.line >= 0 ? e.mark.line + 1 : 0, e.msg});
  }
  return d;
}

AlertingResult parse_alerting(const std::string& yaml, const std::string& name) {
  alerting::Policy policy;
  auto d = read_document(yaml, name, [&](config::Reader& reader, const Node& root) {
    if (!root.IsNull() && !root.IsMap()) {
      reader.error(root, "an Alertmanager configuration must be a YAML mapping");
      return;
    }
    PolicyReader(reader, "", std::filesystem::path(name).parent_path(), policy).read(root, false);
    reader.finish();
  });
  if (!d.errors.empty()) return std::unexpected(std::move(d.errors));
  policy.source = name;
  return AlertingFile{std::move(policy), std::move(d.warnings)};
}

AlertingResult load_alerting_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return std::unexpected(std::vector<ConfigError>{
        {file.string(), 0,
         std::string("cannot open the file for reading: ") + std::strerror(errno)}});
  }
  std::stringstream buf;
  buf << in.rdbuf();
  return parse_alerting(buf.str(), file.string());
}

config::Field alerting_field(std::string key, const std::string& file, alerting::Policy& out,
                             OtherFileSinks other_file) {
  return config::custom(
      std::move(key),
      [&file, &out, other_file = std::move(other_file)](config::Reader& r, const Node& n,
                                                        const std::string& path) {
        if (!n.IsNull() && !n.IsMap()) {
          r.error(n, path + " must be a mapping");
          return;
        }
        const std::filesystem::path dir = std::filesystem::path(file).parent_path();
        const Node& section = n;
        if (!section.IsMap() || !section["config_file"]) {
          alerting::Policy policy;
          if (PolicyReader(r, path, dir, policy).read(section, true)) {
            policy.source = file;
            out = std::move(policy);
          }
          return;
        }
        const Node config_file = section["config_file"];
        const std::string at = path + ".config_file";
        if (section.size() > 1) {
          std::string keys;
          for (const auto& kv : section) {
            if (kv.first.Scalar() != "config_file")
              keys += (keys.empty() ? "" : ", ") + kv.first.Scalar();
          }
          r.error(config_file, at + " cannot be combined with inline policy keys (" + keys +
                                   "): put the whole policy in the file it names");
          return;
        }
        const auto name = r.scalar(config_file, at);
        if (!name) return;
        if (name->empty()) {
          r.error(config_file, at + " must not be empty");
          return;
        }
        std::filesystem::path target = *name;
        if (target.is_relative()) target = dir / target;
        std::ifstream in(target, std::ios::binary);
        if (!in) {
          r.error(config_file,
                  at + ": cannot read '" + target.string() + "': " + std::strerror(errno));
          return;
        }
        std::stringstream buf;
        buf << in.rdbuf();
        auto loaded = parse_alerting(buf.str(), target.string());
        if (!loaded) {
          const std::size_t count = loaded.error().size();
          for (auto& e : loaded.error()) {
            if (other_file.error) other_file.error(std::move(e));
          }
          r.error(config_file,
                  at + ": " + std::to_string(count) + " error(s) in '" + target.string() + "'");
          return;
        }
        for (auto& w : loaded->warnings) {
          if (other_file.warning) other_file.warning(std::move(w));
        }
        out = std::move(loaded->policy);
      },
      [] { return config::mapping_keys(PolicyReader::known_keys(true)); });
}

}  // namespace opsready::app
