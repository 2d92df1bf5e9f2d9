#include "opsready/server/alertmanager_api.h"

#include <algorithm>
#include <chrono>

#include "opsready/core/time.h"

namespace opsready::server {
namespace {

using core::TimePoint;

constexpr const char* kZeroTime = "0001-01-01T00:00:00.000Z";

core::Result<bool> bool_param(const Request& req, const char* name, bool fallback) {
  if (!req.has_param(name)) return fallback;
  const std::string v = req.param(name);
  if (v == "true") return true;
  if (v == "false") return false;
  return core::fail("invalid_parameter", "must be true or false, not '" + v + "'", name);
}

// Every value of a repeatable parameter.
std::vector<std::string> params(const Request& req, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [k, v] : req.params) {
    if (k == name) out.push_back(v);
  }
  return out;
}

core::Result<alerting::Matchers> filter_param(const Request& req) {
  alerting::Matchers out;
  for (const std::string& text : params(req, "filter")) {
    // amtool sends one matcher per parameter; a braced list is accepted as well.
    auto ms = alerting::parse_matchers(text);
    if (!ms) {
      return core::fail("invalid_parameter", "bad matcher '" + text + "': " + ms.error().message,
                        "filter");
    }
    out.insert(out.end(), ms->begin(), ms->end());
  }
  return out;
}

nlohmann::json labels_json(const core::LabelSet& set) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : set) j[k] = v;
  return j;
}

std::string duration_text(core::Duration d) { return core::format_duration(d); }

bool selected(const engine::AlertView& v, const AlertFilter& f, TimePoint now) {
  if (core::is_resolved(*v.alert, now)) return false;  // Alertmanager lists firing alerts only
  const bool silenced = !v.silenced_by.empty();
  const bool inhibited = !v.inhibited_by.empty();
  if (!f.silenced && silenced) return false;
  if (!f.inhibited && inhibited) return false;
  if (!f.active && !silenced && !inhibited) return false;
  if (!alerting::matches(f.filter, v.alert->labels)) return false;
  if (f.receiver) {
    const bool any = std::any_of(v.receivers.begin(), v.receivers.end(), [&](const std::string& r) {
      return f.receiver->matches_value(r);
    });
    if (!any) return false;
  }
  return true;
}

nlohmann::json matchers_json(const alerting::Matchers& ms) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& m : ms) out.push_back(m.to_string());
  return out;
}

nlohmann::json route_json(const alerting::RouteSpec& r, bool root) {
  nlohmann::json j = nlohmann::json::object();
  if (r.receiver && !r.receiver->empty()) j["receiver"] = *r.receiver;
  if (r.group_by) j["group_by"] = *r.group_by;
  if (r.group_wait) j["group_wait"] = duration_text(*r.group_wait);
  if (r.group_interval) j["group_interval"] = duration_text(*r.group_interval);
  if (r.repeat_interval) j["repeat_interval"] = duration_text(*r.repeat_interval);
  if (!r.matchers.empty()) j["matchers"] = matchers_json(r.matchers);
  if (!root && r.continue_matching) j["continue"] = true;
  if (!r.mute_time_intervals.empty()) j["mute_time_intervals"] = r.mute_time_intervals;
  if (!r.active_time_intervals.empty()) j["active_time_intervals"] = r.active_time_intervals;
  if (!r.routes.empty()) {
    nlohmann::json children = nlohmann::json::array();
    for (const auto& c : r.routes) children.push_back(route_json(c, false));
    j["routes"] = std::move(children);
  }
  return j;
}

}  // namespace

core::Result<AlertFilter> parse_alert_filter(const Request& req) {
  AlertFilter f;
  for (auto [name, slot] :
       {std::pair{"active", &f.active}, std::pair{"silenced", &f.silenced},
        std::pair{"inhibited", &f.inhibited}, std::pair{"unprocessed", &f.unprocessed}}) {
    auto v = bool_param(req, name, true);
    if (!v) return std::unexpected(v.error());
    *slot = *v;
  }
  auto filter = filter_param(req);
  if (!filter) return std::unexpected(filter.error());
  f.filter = std::move(*filter);
  if (req.has_param("receiver")) {
    auto m =
        alerting::Matcher::create(alerting::MatchType::kRegex, "receiver", req.param("receiver"));
    if (!m) {
      return core::fail("invalid_parameter", "bad regular expression: " + m.error().message,
                        "receiver");
    }
    f.receiver = std::move(*m);
  }
  return f;
}

core::Result<alerting::Matchers> parse_silence_filter(const Request& req) {
  return filter_param(req);
}

nlohmann::json gettable_alert(const engine::AlertView& v, TimePoint now) {
  const core::Alert& a = *v.alert;
  nlohmann::json receivers = nlohmann::json::array();
  for (const auto& r : v.receivers) receivers.push_back({{"name", r}});
  const bool firing = !core::is_resolved(a, now);
  return {{"labels", labels_json(a.labels)},
          {"annotations", labels_json(a.annotations)},
          {"startsAt", core::format_rfc3339(a.starts_at)},
          {"endsAt", a.ends_at == TimePoint::max() ? std::string(kZeroTime)
                                                   : core::format_rfc3339(a.ends_at)},
          {"updatedAt", core::format_rfc3339(v.derived ? a.starts_at : a.received_at)},
          {"generatorURL", a.generator_url},
          {"fingerprint", a.fingerprint},
          {"receivers", std::move(receivers)},
          {"status",
           {{"state", !firing          ? "unprocessed"
                      : v.suppressed() ? "suppressed"
                                       : "active"},
            {"silencedBy", v.silenced_by},
            {"inhibitedBy", v.inhibited_by}}}};
}

nlohmann::json alerts_json(const engine::Engine& e, const AlertFilter& f, TimePoint now) {
  nlohmann::json out = nlohmann::json::array();
  for (const engine::AlertView& v : e.alerts(now)) {
    if (selected(v, f, now)) out.push_back(gettable_alert(v, now));
  }
  return out;
}

nlohmann::json groups_json(const engine::Engine& e, const AlertFilter& f, TimePoint now) {
  // The views by fingerprint, for the mute state of each grouped alert.
  const std::vector<engine::AlertView> views = e.alerts(now);
  auto view_of = [&views](const std::string& fp) -> const engine::AlertView* {
    const auto it = std::lower_bound(
        views.begin(), views.end(), fp,
        [](const engine::AlertView& v, const std::string& k) { return v.alert->fingerprint < k; });
    return it != views.end() && it->alert->fingerprint == fp ? &*it : nullptr;
  };
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [key, g] : e.groups()) {
    if (f.receiver && !f.receiver->matches_value(g.receiver())) continue;
    nlohmann::json alerts = nlohmann::json::array();
    for (const auto& [fp, a] : g.alerts) {
      const engine::AlertView* v = view_of(a->fingerprint);
      if (v == nullptr || !selected(*v,
                                    AlertFilter{.active = f.active,
                                                .silenced = f.silenced,
                                                .inhibited = f.inhibited,
                                                .unprocessed = f.unprocessed,
                                                .filter = f.filter},
                                    now)) {
        continue;
      }
      alerts.push_back(gettable_alert(*v, now));
    }
    if (alerts.empty()) continue;
    nlohmann::json group = {{"labels", labels_json(key.labels)},
                            {"receiver", {{"name", g.receiver()}}},
                            {"alerts", std::move(alerts)},
                            {"id", engine::group_id(key)},
                            {"key", key.to_string()}};
    if (const alerting::Ack* ack = e.acks().find(key.to_string())) {
      nlohmann::json a = {
          {"by", ack->by}, {"comment", ack->comment}, {"at", core::format_rfc3339(ack->at)}};
      if (ack->expires_at) a["expiresAt"] = core::format_rfc3339(*ack->expires_at);
      group["ack"] = std::move(a);
    }
    out.push_back(std::move(group));
  }
  return out;
}

nlohmann::json receivers_json(const alerting::Policy& p) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : p.receivers) out.push_back({{"name", r.name}});
  return out;
}

nlohmann::json alertmanager_config(const alerting::Policy& p) {
  nlohmann::json receivers = nlohmann::json::array();
  for (const auto& r : p.receivers) receivers.push_back({{"name", r.name}});
  nlohmann::json inhibit = nlohmann::json::array();
  for (const auto& rule : p.inhibit_rules) {
    nlohmann::json j = {{"source_matchers", matchers_json(rule.source)},
                        {"target_matchers", matchers_json(rule.target)}};
    if (!rule.equal.empty()) j["equal"] = rule.equal;
    inhibit.push_back(std::move(j));
  }
  nlohmann::json doc = {{"route", route_json(p.route, true)}, {"receivers", std::move(receivers)}};
  if (!inhibit.empty()) doc["inhibit_rules"] = std::move(inhibit);
  if (!p.time_intervals.empty()) {
    nlohmann::json intervals = nlohmann::json::array();
    for (const auto& ti : p.time_intervals) {
      intervals.push_back({{"name", ti.name}, {"time_intervals", alerting::to_json(ti)}});
    }
    doc["time_intervals"] = std::move(intervals);
  }
  return doc;
}

nlohmann::json status_json(const alerting::Policy& p, const std::string& version, TimePoint started,
                           TimePoint now) {
  (void)now;
  return {{"cluster", {{"status", "disabled"}, {"peers", nlohmann::json::array()}}},
          {"config", {{"original", alertmanager_config(p).dump(2)}}},
          {"uptime", core::format_rfc3339(started)},
          {"versionInfo",
           {{"version", version},
            {"branch", ""},
            {"revision", ""},
            {"buildUser", ""},
            {"buildDate", ""},
            {"goVersion", "opsready (C++)"}}}};
}

nlohmann::json silences_json(const engine::Engine& e, const alerting::Matchers& filter,
                             TimePoint now) {
  nlohmann::json out = nlohmann::json::array();
  for (const alerting::Silence* s : e.silences().query(std::nullopt, filter, now)) {
    out.push_back(alerting::to_json(*s, now));
  }
  return out;
}

}  // namespace opsready::server
