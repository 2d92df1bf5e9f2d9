#include "opsready/drills/scenario.h"

#include <algorithm>
#include <cstdio>

#include "opsready/core/time.h"

namespace opsready::drills {

std::string_view to_string(FaultKind k) {
  switch (k) {
    case FaultKind::kReceiverOutage:
      return "receiver_outage";
    case FaultKind::kFeedStall:
      return "feed_stall";
    case FaultKind::kCommand:
      return "command";
    case FaultKind::kTaskCrash:
      return "task_crash";
    case FaultKind::kStoreFault:
      return "store_fault";
    case FaultKind::kIncidentChaos:
      return "incident_chaos";
    case FaultKind::kIngestFailover:
      return "ingest_failover";
  }
  return "command";
}

std::optional<FaultKind> parse_fault_kind(std::string_view word) {
  for (auto k : {FaultKind::kReceiverOutage, FaultKind::kFeedStall, FaultKind::kCommand,
                 FaultKind::kTaskCrash, FaultKind::kStoreFault, FaultKind::kIncidentChaos,
                 FaultKind::kIngestFailover}) {
    if (to_string(k) == word) return k;
  }
  return std::nullopt;
}

bool is_valid_scenario_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  const auto ok = [](char c, bool first) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
    return !first && (c == '_' || c == '.' || c == '-');
  };
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!ok(name[i], i == 0)) return false;
  }
  return true;
}

namespace {

std::string bounds(std::string_view what, const std::optional<std::string_view>& at_most,
                   const std::optional<std::string_view>& at_least) {
  std::string out(what);
  if (at_least) out += " at least " + std::string(*at_least);
  if (at_least && at_most) out += " and";
  if (at_most) out += " at most " + std::string(*at_most);
  return out;
}

template <typename T, typename F>
std::optional<std::string_view> word(const std::optional<T>& v, F&& to_word) {
  if (!v) return std::nullopt;
  return to_word(*v);
}

}  // namespace

namespace {

std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

}  // namespace

std::string Check::describe() const {
  const auto status_word = [](core::Status s) { return core::to_string(s); };
  const auto gate_word = [](GateOutcome d) { return readiness::to_string(d); };
  switch (kind) {
    case Kind::kReadiness:
      return bounds("readiness", word(status_at_most, status_word),
                    word(status_at_least, status_word));
    case Kind::kGate:
      return bounds("gate", word(gate_at_most, gate_word), word(gate_at_least, gate_word));
    case Kind::kComponent:
      return bounds("component " + component, word(status_at_most, status_word),
                    word(status_at_least, status_word));
    case Kind::kAlert:
      return "alert " + alerting::to_string(matchers) + " firing";
    case Kind::kNoAlert:
      return "no alert " + alerting::to_string(matchers) + " firing";
    case Kind::kMetric: {
      const auto number = [](double v) { return format_number(v); };
      return bounds(
          "metric " + metric + (matchers.empty() ? "" : alerting::to_string(matchers)),
          value_at_most ? std::optional<std::string_view>(number(*value_at_most)) : std::nullopt,
          value_at_least ? std::optional<std::string_view>(number(*value_at_least)) : std::nullopt);
    }
  }
  return "";
}

namespace {

bool within(core::Status s, const std::optional<core::Status>& at_most,
            const std::optional<core::Status>& at_least) {
  if (at_most && core::rank(s) > core::rank(*at_most)) return false;
  if (at_least && core::rank(s) < core::rank(*at_least)) return false;
  return true;
}

bool within(GateOutcome d, const std::optional<GateOutcome>& at_most,
            const std::optional<GateOutcome>& at_least) {
  if (at_most && static_cast<int>(d) > static_cast<int>(*at_most)) return false;
  if (at_least && static_cast<int>(d) < static_cast<int>(*at_least)) return false;
  return true;
}

}  // namespace

CheckResult evaluate(const Check& c, const Observation& o) {
  CheckResult r{.check = c.describe()};
  switch (c.kind) {
    case Check::Kind::kReadiness:
      r.held = within(o.readiness, c.status_at_most, c.status_at_least);
      r.observed = "readiness " + std::string(core::to_string(o.readiness));
      break;
    case Check::Kind::kGate:
      r.held = within(o.gate, c.gate_at_most, c.gate_at_least);
      r.observed = "gate " + std::string(readiness::to_string(o.gate));
      break;
    case Check::Kind::kComponent: {
      const auto it = std::lower_bound(
          o.components.begin(), o.components.end(), c.component,
          [](const auto& entry, const std::string& name) { return entry.first < name; });
      if (it == o.components.end() || it->first != c.component) {
        r.held = false;
        r.observed = "component " + c.component + " not reported";
      } else {
        r.held = within(it->second, c.status_at_most, c.status_at_least);
        r.observed = "component " + c.component + " " + std::string(core::to_string(it->second));
      }
      break;
    }
    case Check::Kind::kAlert:
    case Check::Kind::kNoAlert: {
      const auto n = std::count_if(o.alerts.begin(), o.alerts.end(), [&](const ObservedAlert& a) {
        return alerting::matches(c.matchers, a.labels);
      });
      r.held = c.kind == Check::Kind::kAlert ? n > 0 : n == 0;
      r.observed = std::to_string(n) + (n == 1 ? " alert matches" : " alerts match");
      break;
    }
    case Check::Kind::kMetric: {
      const auto it = o.metrics.find(c.metric);
      double sum = 0;
      std::size_t n = 0;
      if (it != o.metrics.end()) {
        for (const auto& sample : it->second) {
          if (!alerting::matches(c.matchers, sample.labels)) continue;
          sum += sample.value;
          ++n;
        }
      }
      if (n == 0) {
        r.held = false;
        r.observed = "no series of " + c.metric + " matches";
        break;
      }
      r.held = (!c.value_at_most || sum <= *c.value_at_most) &&
               (!c.value_at_least || sum >= *c.value_at_least);
      r.observed = c.metric + " " + format_number(sum) +
                   (n == 1 ? "" : " (" + std::to_string(n) + " series)");
      break;
    }
  }
  return r;
}

namespace {

nlohmann::json check_json(const Check& c) {
  nlohmann::json j = {{"check", c.describe()}};
  return j;
}

nlohmann::json checks_json(const std::vector<Check>& checks) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : checks) out.push_back(check_json(c)["check"]);
  return out;
}

}  // namespace

nlohmann::json to_json(const Scenario& s) {
  nlohmann::json fault = {{"kind", to_string(s.fault.kind)},
                          {"duration", core::format_duration(s.fault.duration)}};
  switch (s.fault.kind) {
    case FaultKind::kReceiverOutage:
      fault["receiver"] = s.fault.receiver;
      break;
    case FaultKind::kFeedStall:
      fault["topics"] = s.fault.topics;
      break;
    case FaultKind::kCommand:
      fault["run"] = s.fault.run;
      fault["undo"] = s.fault.undo;
      fault["command_timeout"] = core::format_duration(s.fault.command_timeout);
      break;
    case FaultKind::kTaskCrash:
      fault["failures"] = s.fault.failures;
      fault["intensity"] = s.fault.intensity;
      fault["period"] = core::format_duration(s.fault.period);
      break;
    case FaultKind::kStoreFault:
      fault["read_only"] = s.fault.read_only;
      fault["delay"] = core::format_duration(s.fault.delay);
      break;
    case FaultKind::kIncidentChaos: {
      nlohmann::json events = nlohmann::json::array();
      for (const auto& e : s.fault.chaos) events.push_back(components::to_json(e));
      fault["events"] = std::move(events);
      break;
    }
    case FaultKind::kIngestFailover:
      fault["results_file"] = s.fault.results_file;
      fault["dimensions"] = s.fault.dimensions;
      fault["fallback"] = s.fault.fallback;
      if (!s.fault.undo.empty()) fault["undo"] = s.fault.undo;
      fault["command_timeout"] = core::format_duration(s.fault.command_timeout);
      break;
  }
  nlohmann::json expect = {{"alert", alerting::to_string(s.expect.alert)},
                           {"within", core::format_duration(s.expect.within)},
                           {"acked", s.expect.acked}};
  if (!s.expect.receiver.empty()) expect["receiver"] = s.expect.receiver;
  nlohmann::json j = {{"name", s.name},
                      {"description", s.description},
                      {"hypothesis", s.hypothesis},
                      {"steady_state", checks_json(s.steady_state)},
                      {"fault", std::move(fault)},
                      {"target_components", s.target_components},
                      {"expect", std::move(expect)},
                      {"abort_if", checks_json(s.abort_if)},
                      {"during", checks_json(s.during)},
                      {"recovery",
                       {{"within", core::format_duration(s.recovery.within)},
                        {"alert_resolved", s.recovery.alert_resolved}}}};
  if (s.responder) {
    j["responder"] = {{"ack_after", core::format_duration(s.responder->ack_after)},
                      {"by", s.responder->by}};
  }
  if (!s.file.empty()) j["file"] = s.file;
  return j;
}

std::vector<std::string> metric_names(const Scenario& s) {
  std::vector<std::string> out;
  for (const auto* list : {&s.steady_state, &s.abort_if, &s.during}) {
    for (const Check& c : *list) {
      if (c.kind == Check::Kind::kMetric) out.push_back(c.metric);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace opsready::drills
