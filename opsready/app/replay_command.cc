#include "opsready/app/replay_command.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <ostream>
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
#include "opsready/readiness/readiness.h"

namespace opsready::app {
namespace {

struct ReplayConfig {
  readiness::GatePolicy gate;
  components::ComponentsConfig detectors;
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

class Replayer {
 public:
  Replayer(const ReplayOptions& o, ReplayConfig config, components::Registry registry,
           std::ostream& out, std::ostream& err)
      : json_(o.format == "json"),
        name_(o.input.string()),
        config_(std::move(config)),
        registry_(std::move(registry)),
        out_(out),
        err_(err) {}

  void apply(const core::TelemetryEvent& e, std::size_t line) {
    ++events_;
    if (e.time > clock_.now()) clock_.set(e.time);
    if (e.topic == core::kComponentSnapshotTopic) {
      auto snap = core::component_snapshot_from_json(e.payload, e.time);
      if (!snap) {
        ++rejected_;
        err_ << "opsready: " << name_ << ":" << line
             << ": invalid component snapshot: " << snap.error().describe() << "\n";
        return;
      }
      ++applied_;
      snap->metadata = nlohmann::json::object();  // never printed; keeps aggregation cheap
      auto it = received_.find(snap->component);
      if (it == received_.end()) {
        received_.emplace(snap->component, std::move(*snap));
      } else if (snap->observed_at >= it->second.observed_at) {
        it->second = std::move(*snap);
      }
      return;
    }
    const components::Routed r = registry_.route(e);
    if (r.consumers == 0) {
      ++unrouted_;
    } else if (r.refused > 0) {
      ++rejected_;
      err_ << "opsready: " << name_ << ":" << line << ": " << r.component
           << " refused the event on " << e.topic << ": " << r.error.describe() << "\n";
    } else {
      ++applied_;
    }
  }

  void evaluate() {
    const core::TimePoint now = clock_.now();
    snapshots_.clear();
    // Brief snapshots: the replay prints statuses, gates and issues, never metadata.
    registry_.snapshots(now, snapshots_, components::Detail::kBrief);
    for (const auto& [name, s] : received_) snapshots_.push_back(s);
    last_ = readiness::aggregate(snapshots_, config_.gate, now);
    evaluated_ = true;

    alerts_.clear();
    for (const auto& c : last_.components) {
      const auto prev = previous_.find(c.component);
      components::derive_alerts(prev == previous_.end() ? nullptr : &prev->second, c,
                                registry_.alert_category(c.component), now, alerts_);
      core::ComponentSnapshot light{.component = c.component, .status = c.status};
      light.issues = c.issues;
      previous_.insert_or_assign(c.component, std::move(light));
    }

    std::string line = std::string(core::to_string(last_.status)) +
                       " gate=" + std::string(readiness::to_string(last_.gate.decision));
    for (const auto& c : last_.components) {
      line += " " + c.component + "=" + std::string(core::to_string(c.status));
    }
    if (!last_.gate.blocking_reasons.empty())
      line += " blocking=" + join(last_.gate.blocking_reasons);
    if (!last_.gate.warnings.empty()) line += " warnings=" + join(last_.gate.warnings);
    const std::string time = core::format_rfc3339(now);
    if (line != last_line_) {
      if (json_) {
        nlohmann::json comps = nlohmann::json::object();
        for (const auto& c : last_.components) comps[c.component] = core::to_string(c.status);
        nlohmann::json blocking = nlohmann::json::array();
        for (const auto& r : last_.gate.blocking_reasons) blocking.push_back(r.code);
        nlohmann::json warnings = nlohmann::json::array();
        for (const auto& r : last_.gate.warnings) warnings.push_back(r.code);
        out_ << nlohmann::json{{"type", "readiness"},
                               {"time", time},
                               {"status", core::to_string(last_.status)},
                               {"gate", readiness::to_string(last_.gate.decision)},
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
    for (const auto& a : alerts_) {
      if (json_) {
        out_ << nlohmann::json{{"type", "alert"},
                               {"time", time},
                               {"severity", core::to_string(a.severity)},
                               {"category", a.category},
                               {"component", a.component},
                               {"message", a.message}}
                    .dump()
             << "\n";
      } else {
        out_ << time << " alert " << core::to_string(a.severity) << " " << a.category << " ["
             << a.component << "] " << a.message << "\n";
      }
    }
  }

  void reject_line() {
    ++events_;
    ++rejected_;
  }
  [[nodiscard]] std::uint64_t events() const { return events_; }
  [[nodiscard]] std::uint64_t rejected() const { return rejected_; }

  void finish() {
    if (!evaluated_) evaluate();
    const std::string time = core::format_rfc3339(clock_.now());
    const auto status = core::to_string(last_.status);
    const auto gate = readiness::to_string(last_.gate.decision);
    if (json_) {
      out_ << nlohmann::json{{"type", "end"},         {"time", time},
                             {"events", events_},     {"applied", applied_},
                             {"unrouted", unrouted_}, {"rejected", rejected_},
                             {"readiness", status},   {"gate", gate}}
                  .dump()
           << "\n";
    } else {
      out_ << time << " end events=" << events_ << " applied=" << applied_
           << " unrouted=" << unrouted_ << " rejected=" << rejected_ << " readiness=" << status
           << " gate=" << gate << "\n";
    }
  }

 private:
  bool json_;
  std::string name_;
  ReplayConfig config_;
  components::Registry registry_;
  std::ostream& out_;
  std::ostream& err_;
  core::ManualClock clock_;
  std::map<std::string, core::ComponentSnapshot> received_;
  std::map<std::string, core::ComponentSnapshot> previous_;
  std::vector<core::ComponentSnapshot> snapshots_;
  std::vector<components::AlertEvent> alerts_;
  readiness::ReadinessSnapshot last_;
  bool evaluated_ = false;
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
  auto registry = components::Registry::create(config->detectors);
  if (!registry) {
    err << "opsready: detectors." << registry.error().describe() << "\n";
    return kExitDataErr;
  }
  std::ifstream in(o.input, std::ios::binary);
  if (!in) {
    err << "opsready: " << o.input.string() << ": cannot open the file for reading\n";
    return kExitNoInput;
  }
  const std::string name = o.input.string();
  Replayer replay(o, std::move(*config), std::move(*registry), out, err);
  std::string line;
  std::size_t line_no = 0;
  std::optional<core::TimePoint> group;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (core::trim(line).empty()) continue;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    std::string invalid;
    if (j.is_discarded()) {
      invalid = "not a JSON document";
    } else if (!j.is_object() || !j.contains("time") || j["time"].is_null()) {
      invalid = "time: required in a replay (event times drive the clock)";
    }
    auto event = invalid.empty() ? core::event_from_json(j, core::TimePoint{})
                                 : core::Result<core::TelemetryEvent>(core::TelemetryEvent{});
    if (invalid.empty() && !event) invalid = event.error().describe();
    if (!invalid.empty()) {
      err << "opsready: " << name << ":" << line_no << ": " << invalid << "\n";
      if (!o.keep_going) return kExitDataErr;
      replay.reject_line();
      continue;
    }
    if (group && event->time != *group) replay.evaluate();
    group = event->time;
    replay.apply(*event, line_no);
  }
  if (group) replay.evaluate();
  replay.finish();
  if (replay.rejected() > 0 && !o.keep_going) {
    err << "opsready: " << name << ": " << replay.rejected() << " of " << replay.events()
        << " event(s) rejected (--keep-going exits 0 all the same)\n";
    return kExitDataErr;
  }
  return kExitOk;
}

}  // namespace opsready::app
