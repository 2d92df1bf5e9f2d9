// The public status page: building it from readiness, the daily roll-up and the incidents, and
// its four renderings (HTML, JSON, Statuspage's summary.json, Markdown).

#include "opsready/server/status_page.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "opsready/core/text.h"
#include "opsready/core/time.h"

namespace opsready::server {
namespace {

using core::Status;
using core::TimePoint;
using nlohmann::json;

TimePoint day_floor(TimePoint t) {
  const auto d = std::chrono::floor<std::chrono::days>(t.time_since_epoch());
  return TimePoint(std::chrono::duration_cast<core::Duration>(d));
}

std::string day_text(TimePoint day) { return core::format_rfc3339(day).substr(0, 10); }

// The labels of a group key (`<route id>:{name="value", ...}`, route.h), or empty when it does
// not parse. The route id may itself hold ":{" (matchers), so every start is tried.
std::map<std::string, std::string> group_labels(std::string_view key) {
  for (std::size_t at = key.find(":{"); at != std::string_view::npos; at = key.find(":{", at + 1)) {
    std::map<std::string, std::string> out;
    std::size_t i = at + 2;
    bool ok = true;
    while (ok && i < key.size() && key[i] != '}') {
      const std::size_t eq = key.find("=\"", i);
      if (eq == std::string_view::npos) {
        ok = false;
        break;
      }
      std::string name(key.substr(i, eq - i));
      std::string value;
      i = eq + 2;
      for (; i < key.size() && key[i] != '"'; ++i) {
        if (key[i] == '\\' && i + 1 < key.size()) {
          const char e = key[++i];
          if (e == 'n')
            value += '\n';
          else if (e == 'r')
            value += '\r';
          else if (e == 't')
            value += '\t';
          else if (e == 'x' && i + 2 < key.size()) {
            value += static_cast<char>(std::stoi(std::string(key.substr(i + 1, 2)), nullptr, 16));
            i += 2;
          } else
            value += e;
        } else {
          value += key[i];
        }
      }
      if (i >= key.size()) {
        ok = false;
        break;
      }
      ++i;  // the closing quote
      out.emplace(std::move(name), std::move(value));
      if (key.substr(i, 2) == ", ") i += 2;
    }
    if (ok && i + 1 == key.size() && key[i] == '}') return out;
  }
  return {};
}

std::optional<Status> worse(std::optional<Status> a, Status b) {
  return a ? core::escalate(*a, b) : b;
}

std::string_view status_word(std::optional<Status> s) {
  return s ? core::to_string(*s) : std::string_view("none");
}

json opt_time(const std::optional<TimePoint>& t) {
  return t ? json(core::format_rfc3339(*t)) : json(nullptr);
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view name) {
  std::size_t p = 0, n = 0, star = std::string_view::npos, mark = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p;
      ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::string_view to_string(IncidentState s) {
  switch (s) {
    case IncidentState::kInvestigating:
      return "investigating";
    case IncidentState::kIdentified:
      return "identified";
    case IncidentState::kMonitoring:
      return "monitoring";
    case IncidentState::kResolved:
      return "resolved";
  }
  return "investigating";
}

std::optional<IncidentState> parse_incident_state(std::string_view s) {
  for (auto st : {IncidentState::kInvestigating, IncidentState::kIdentified,
                  IncidentState::kMonitoring, IncidentState::kResolved}) {
    if (to_string(st) == s) return st;
  }
  return std::nullopt;
}

std::string_view public_status(std::optional<Status> s) {
  if (!s) return "No data";
  switch (*s) {
    case Status::kOk:
      return "Operational";
    case Status::kWarn:
      return "Degraded performance";
    case Status::kFail:
      return "Major outage";
  }
  return "No data";
}

std::string_view overall_description(Status s) {
  switch (s) {
    case Status::kOk:
      return "All systems operational";
    case Status::kWarn:
      return "Degraded performance";
    case Status::kFail:
      return "Major outage";
  }
  return "All systems operational";
}

StatusPage build_status_page(const StatusPageOptions& options,
                             const readiness::ReadinessSnapshot& readiness,
                             const std::vector<store::ComponentDay>& days,
                             const std::vector<alerting::IncidentTimeline>& incidents,
                             TimePoint now) {
  StatusPage page{.title = options.title, .url = options.url, .generated_at = now};
  const auto in_group = [](const StatusGroupOptions& g, std::string_view component) {
    return std::any_of(g.components.begin(), g.components.end(),
                       [&](const std::string& p) { return glob_match(p, component); });
  };
  const auto grouped = [&](std::string_view component) {
    return std::any_of(options.groups.begin(), options.groups.end(),
                       [&](const StatusGroupOptions& g) { return in_group(g, component); });
  };
  // Every component name known: now, or in the history.
  std::set<std::string, std::less<>> names;
  for (const auto& c : readiness.components) names.insert(c.component);
  for (const auto& d : days) names.insert(d.component);

  std::vector<StatusGroupOptions> groups = options.groups;
  if (options.show_ungrouped) {
    StatusGroupOptions other{.name = std::string(kUngroupedName)};
    for (const auto& n : names) {
      if (!grouped(n)) other.components.push_back(n);  // names, which match themselves
    }
    if (!other.components.empty()) groups.push_back(std::move(other));
  }

  const TimePoint today = day_floor(now);
  const TimePoint first_day = today - std::chrono::days(kStatusHistoryDays - 1);
  std::set<std::string> ids;
  for (const StatusGroupOptions& g : groups) {
    StatusGroup out{.name = g.name, .description = g.description};
    std::string id = core::slug_part(g.name);
    for (int k = 2; ids.contains(id); ++k) id = core::slug_part(g.name) + "_" + std::to_string(k);
    ids.insert(id);
    out.id = std::move(id);
    for (const auto& c : readiness.components) {
      if (!in_group(g, c.component)) continue;
      out.status = worse(out.status, c.status);
      if (!out.updated_at || c.observed_at > *out.updated_at) out.updated_at = c.observed_at;
    }
    std::vector<std::optional<Status>> worst(kStatusHistoryDays);
    for (const auto& d : days) {
      if (d.day < first_day || d.day > today || !in_group(g, d.component)) continue;
      const auto index = (day_floor(d.day) - first_day) / std::chrono::days(1);
      worst[static_cast<std::size_t>(index)] =
          worse(worst[static_cast<std::size_t>(index)], d.worst);
    }
    for (int i = 0; i < kStatusHistoryDays; ++i) {
      const auto& s = worst[static_cast<std::size_t>(i)];
      out.history.push_back({.day = first_day + std::chrono::days(i), .status = s});
      if (s) ++out.days_with_data;
      if (s == Status::kOk) ++out.operational_days;
    }
    page.status = core::escalate(page.status, out.status.value_or(Status::kOk));
    page.groups.push_back(std::move(out));
  }

  for (const auto& t : incidents) {
    const alerting::Incident& inc = t.incident;
    if (!options.incident_receivers.empty() &&
        std::find(options.incident_receivers.begin(), options.incident_receivers.end(),
                  inc.receiver) == options.incident_receivers.end()) {
      continue;
    }
    if (inc.resolved_at && *inc.resolved_at < now - kRecentlyResolved) continue;
    const auto labels = group_labels(inc.group);
    StatusIncident out{.id = std::to_string(inc.id),
                       .started_at = inc.opened_at,
                       .identified_at = inc.acknowledged_at,
                       .resolved_at = inc.resolved_at};
    const auto alertname = labels.find("alertname");
    out.title = alertname != labels.end() && !alertname->second.empty() ? alertname->second
                                                                        : "Incident " + out.id;
    bool all_operational = true;
    if (const auto component = labels.find("component"); component != labels.end()) {
      for (std::size_t i = 0; i < groups.size(); ++i) {
        if (!in_group(groups[i], component->second)) continue;
        out.groups.push_back(page.groups[i].name);
        if (page.groups[i].status != Status::kOk) all_operational = false;
      }
    }
    if (inc.resolved_at) {
      out.state = IncidentState::kResolved;
    } else if (inc.acknowledged_at) {
      out.state = !out.groups.empty() && all_operational ? IncidentState::kMonitoring
                                                         : IncidentState::kIdentified;
    }
    out.updated_at = std::max({out.started_at, out.identified_at.value_or(out.started_at),
                               out.resolved_at.value_or(out.started_at)});
    (inc.resolved_at ? page.resolved : page.incidents).push_back(std::move(out));
  }
  for (auto* list : {&page.incidents, &page.resolved}) {
    std::sort(list->begin(), list->end(), [](const StatusIncident& a, const StatusIncident& b) {
      if (a.started_at != b.started_at) return a.started_at > b.started_at;
      return a.id > b.id;
    });
  }
  return page;
}

// ---- JSON ----

namespace {

json incident_json(const StatusIncident& i) {
  return {{"id", i.id},
          {"title", i.title},
          {"state", to_string(i.state)},
          {"groups", i.groups},
          {"started_at", core::format_rfc3339(i.started_at)},
          {"identified_at", opt_time(i.identified_at)},
          {"resolved_at", opt_time(i.resolved_at)},
          {"updated_at", core::format_rfc3339(i.updated_at)}};
}

json status_json(std::optional<Status> s) { return s ? json(core::to_string(*s)) : json(nullptr); }

// Readers for status_page_from_json: each throws Bad with the field's path.
struct Bad {
  std::string field;
};

const json& member(const json& j, const char* key, const std::string& path) {
  if (!j.is_object() || !j.contains(key)) throw Bad{path + "." + key};
  return j.at(key);
}
std::string text(const json& j, const char* key, const std::string& path) {
  const json& v = member(j, key, path);
  if (!v.is_string()) throw Bad{path + "." + key};
  return v.get<std::string>();
}
TimePoint time_of(const json& j, const char* key, const std::string& path) {
  auto t = core::parse_rfc3339(text(j, key, path));
  if (!t) throw Bad{path + "." + key};
  return *t;
}
std::optional<TimePoint> opt_time_of(const json& j, const char* key, const std::string& path) {
  if (member(j, key, path).is_null()) return std::nullopt;
  return time_of(j, key, path);
}
std::optional<Status> opt_status_of(const json& j, const char* key, const std::string& path) {
  const json& v = member(j, key, path);
  if (v.is_null()) return std::nullopt;
  if (!v.is_string()) throw Bad{path + "." + key};
  auto s = core::parse_status(v.get<std::string>());
  if (!s) throw Bad{path + "." + key};
  return *s;
}
int int_of(const json& j, const char* key, const std::string& path) {
  const json& v = member(j, key, path);
  if (!v.is_number_integer()) throw Bad{path + "." + key};
  return v.get<int>();
}
const json& array_of(const json& j, const char* key, const std::string& path) {
  const json& v = member(j, key, path);
  if (!v.is_array()) throw Bad{path + "." + key};
  return v;
}

StatusIncident incident_from(const json& j, const std::string& path) {
  StatusIncident i{.id = text(j, "id", path), .title = text(j, "title", path)};
  const auto state = parse_incident_state(text(j, "state", path));
  if (!state) throw Bad{path + ".state"};
  i.state = *state;
  for (const json& g : array_of(j, "groups", path)) {
    if (!g.is_string()) throw Bad{path + ".groups"};
    i.groups.push_back(g.get<std::string>());
  }
  i.started_at = time_of(j, "started_at", path);
  i.identified_at = opt_time_of(j, "identified_at", path);
  i.resolved_at = opt_time_of(j, "resolved_at", path);
  i.updated_at = time_of(j, "updated_at", path);
  return i;
}

}  // namespace

json to_json(const StatusPage& page) {
  json groups = json::array();
  for (const StatusGroup& g : page.groups) {
    json history = json::array();
    for (const StatusDay& d : g.history) {
      history.push_back({{"day", day_text(d.day)}, {"status", status_json(d.status)}});
    }
    groups.push_back({{"id", g.id},
                      {"name", g.name},
                      {"description", g.description},
                      {"status", status_json(g.status)},
                      {"status_text", public_status(g.status)},
                      {"updated_at", opt_time(g.updated_at)},
                      {"days_with_data", g.days_with_data},
                      {"operational_days", g.operational_days},
                      {"history", std::move(history)}});
  }
  json incidents = json::array();
  for (const auto& i : page.incidents) incidents.push_back(incident_json(i));
  json resolved = json::array();
  for (const auto& i : page.resolved) resolved.push_back(incident_json(i));
  return {{"title", page.title},
          {"url", page.url},
          {"generated_at", core::format_rfc3339(page.generated_at)},
          {"status", core::to_string(page.status)},
          {"description", overall_description(page.status)},
          {"groups", std::move(groups)},
          {"incidents", std::move(incidents)},
          {"resolved", std::move(resolved)}};
}

core::Result<StatusPage> status_page_from_json(const json& j) {
  try {
    StatusPage page{.title = text(j, "title", "status"),
                    .url = text(j, "url", "status"),
                    .generated_at = time_of(j, "generated_at", "status")};
    const auto overall = opt_status_of(j, "status", "status");
    if (!overall) throw Bad{"status.status"};
    page.status = *overall;
    std::size_t gi = 0;
    for (const json& g : array_of(j, "groups", "status")) {
      const std::string path = "status.groups[" + std::to_string(gi++) + "]";
      StatusGroup out{.id = text(g, "id", path),
                      .name = text(g, "name", path),
                      .description = text(g, "description", path),
                      .status = opt_status_of(g, "status", path),
                      .updated_at = opt_time_of(g, "updated_at", path),
                      .days_with_data = int_of(g, "days_with_data", path),
                      .operational_days = int_of(g, "operational_days", path)};
      std::size_t di = 0;
      for (const json& d : array_of(g, "history", path)) {
        const std::string dp = path + ".history[" + std::to_string(di++) + "]";
        auto day = core::parse_rfc3339(text(d, "day", dp) + "T00:00:00Z");
        if (!day) throw Bad{dp + ".day"};
        out.history.push_back({.day = *day, .status = opt_status_of(d, "status", dp)});
      }
      page.groups.push_back(std::move(out));
    }
    std::size_t ii = 0;
    for (const json& i : array_of(j, "incidents", "status")) {
      page.incidents.push_back(incident_from(i, "status.incidents[" + std::to_string(ii++) + "]"));
    }
    ii = 0;
    for (const json& i : array_of(j, "resolved", "status")) {
      page.resolved.push_back(incident_from(i, "status.resolved[" + std::to_string(ii++) + "]"));
    }
    return page;
  } catch (const Bad& b) {
    return core::fail("status_page_invalid",
                      "the status page document has no valid '" + b.field + "'", b.field);
  }
}

// ---- summary.json ----

namespace {

std::string_view component_status(Status s) {
  switch (s) {
    case Status::kOk:
      return "operational";
    case Status::kWarn:
      return "degraded_performance";
    case Status::kFail:
      return "major_outage";
  }
  return "operational";
}

std::string_view impact_of(Status s) {
  return s == Status::kFail ? "major" : s == Status::kWarn ? "minor" : "none";
}

std::string_view update_body(IncidentState s) {
  switch (s) {
    case IncidentState::kInvestigating:
      return "We are investigating this issue.";
    case IncidentState::kIdentified:
      return "The issue has been identified and is being worked on.";
    case IncidentState::kMonitoring:
      return "Service is operational again; we are monitoring the results.";
    case IncidentState::kResolved:
      return "This incident has been resolved.";
  }
  return "";
}

}  // namespace

json to_summary_json(const StatusPage& page) {
  const std::string page_id = core::slug_part(page.title);
  const std::string updated = core::format_rfc3339(page.generated_at);
  const json url = page.url.empty() ? json(nullptr) : json(page.url);
  json components = json::array();
  std::map<std::string, json, std::less<>> by_name;
  bool all_major = !page.groups.empty();
  int position = 0;
  for (const StatusGroup& g : page.groups) {
    if (!g.status) continue;
    if (*g.status != Status::kFail) all_major = false;
    const std::string at = g.updated_at ? core::format_rfc3339(*g.updated_at) : updated;
    json c = {{"id", g.id},
              {"name", g.name},
              {"status", component_status(*g.status)},
              {"created_at", at},
              {"updated_at", at},
              {"position", ++position},
              {"description", g.description.empty() ? json(nullptr) : json(g.description)},
              {"showcase", true},
              {"start_date", nullptr},
              {"group_id", nullptr},
              {"page_id", page_id},
              {"group", false},
              {"only_show_if_degraded", false}};
    by_name.emplace(g.name, c);
    components.push_back(std::move(c));
  }
  if (position == 0) all_major = false;
  const std::string_view indicator = all_major ? "critical" : impact_of(page.status);
  const std::string_view description = indicator == "none"    ? "All Systems Operational"
                                       : indicator == "minor" ? "Minor Service Outage"
                                       : indicator == "major" ? "Partial System Outage"
                                                              : "Major Service Outage";
  json incidents = json::array();
  for (const StatusIncident& i : page.incidents) {
    json affected = json::array();
    Status worst = Status::kWarn;  // an open incident is at least minor
    for (const std::string& g : i.groups) {
      if (auto it = by_name.find(g); it != by_name.end()) {
        affected.push_back(it->second);
        if (it->second.at("status") == "major_outage") worst = Status::kFail;
      }
    }
    const std::string updated_at = core::format_rfc3339(i.updated_at);
    json update = {{"id", i.id + "-" + std::string(to_string(i.state))},
                   {"status", to_string(i.state)},
                   {"body", update_body(i.state)},
                   {"incident_id", i.id},
                   {"created_at", updated_at},
                   {"updated_at", updated_at},
                   {"display_at", updated_at},
                   {"affected_components", nullptr}};
    incidents.push_back({{"id", i.id},
                         {"name", i.title},
                         {"status", to_string(i.state)},
                         {"created_at", core::format_rfc3339(i.started_at)},
                         {"updated_at", updated_at},
                         {"monitoring_at", nullptr},
                         {"resolved_at", nullptr},
                         {"impact", impact_of(worst)},
                         {"shortlink", url},
                         {"started_at", core::format_rfc3339(i.started_at)},
                         {"page_id", page_id},
                         {"incident_updates", json::array({std::move(update)})},
                         {"components", std::move(affected)}});
  }
  return {{"page",
           {{"id", page_id},
            {"name", page.title},
            {"url", url},
            {"time_zone", "Etc/UTC"},
            {"updated_at", updated}}},
          {"status", {{"indicator", indicator}, {"description", description}}},
          {"components", std::move(components)},
          {"incidents", std::move(incidents)},
          {"scheduled_maintenances", json::array()}};
}

// ---- HTML ----

namespace {

std::string esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string time_html(TimePoint t) {
  const std::string s = core::format_rfc3339(t);
  return "<time datetime=\"" + s + "\">" + s + "</time>";
}

constexpr std::string_view kCss = R"css(
:root{color-scheme:light dark;--bg:#fff;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;
--ok:#1a7f37;--warn:#9a6700;--fail:#cf222e;--none:#818b98}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;
--line:#3d444d;--ok:#3fb950;--warn:#d29922;--fail:#f85149;--none:#656c76}}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);
font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif}
.wrap{max-width:60rem;margin:0 auto;padding:1.5rem 1rem}h1{font-size:1.75rem;margin:0 0 1rem}
h2{font-size:1.25rem;margin:2rem 0 .75rem}h3{font-size:1.05rem;margin:0}
.banner{padding:1rem;border-radius:.5rem;border:2px solid var(--s);font-weight:600}
.muted{color:var(--muted)}.group{border:1px solid var(--line);border-radius:.5rem;
padding:1rem;margin:0 0 1rem}.row{display:flex;justify-content:space-between;gap:1rem;
flex-wrap:wrap}.state{font-weight:600;color:var(--s)}
.s-ok{--s:var(--ok)}.s-warn{--s:var(--warn)}.s-fail{--s:var(--fail)}.s-none{--s:var(--none)}
.history{display:flex;gap:1px;list-style:none;padding:0;margin:.75rem 0 .25rem;height:2rem}
.history li{flex:1;background:var(--s);border-radius:1px}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.incident{border-left:4px solid var(--s);padding:.25rem .75rem;margin:0 0 1rem}
ul.incidents{list-style:none;padding:0}
)css";

void incident_html(std::ostringstream& o, const StatusIncident& i) {
  const char* cls = i.state == IncidentState::kResolved     ? "s-ok"
                    : i.state == IncidentState::kMonitoring ? "s-warn"
                                                            : "s-fail";
  o << "<li class=\"incident " << cls << "\" data-incident=\"" << esc(i.id) << "\" data-state=\""
    << to_string(i.state) << "\"><h3>" << esc(i.title) << "</h3><p><span class=\"state\">"
    << esc(core::to_upper(to_string(i.state).substr(0, 1)) +
           std::string(to_string(i.state).substr(1)))
    << "</span> · started " << time_html(i.started_at);
  if (i.identified_at) o << " · identified " << time_html(*i.identified_at);
  if (i.resolved_at) o << " · resolved " << time_html(*i.resolved_at);
  o << "</p>";
  if (!i.groups.empty())
    o << "<p class=\"muted\">Affects " << esc(core::join(i.groups, ", ")) << "</p>";
  o << "</li>";
}

}  // namespace

std::string to_html(const StatusPage& page) {
  std::ostringstream o;
  const std::string_view overall = core::to_string(page.status);
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
       "<title>"
    << esc(page.title) << "</title><style>" << kCss << "</style></head>\n<body><div class=\"wrap\">"
    << "<header><h1>" << esc(page.title) << "</h1><p class=\"banner s-" << overall
    << "\" id=\"overall\" data-status=\"" << overall << "\">" << overall_description(page.status)
    << "</p><p class=\"muted\">Updated " << time_html(page.generated_at)
    << " (UTC)</p></header>\n<main>\n";
  o << "<section aria-labelledby=\"current\"><h2 id=\"current\">Current incidents</h2>";
  if (page.incidents.empty()) {
    o << "<p>No current incidents.</p>";
  } else {
    o << "<ul class=\"incidents\">";
    for (const auto& i : page.incidents) incident_html(o, i);
    o << "</ul>";
  }
  o << "</section>\n<section aria-labelledby=\"groups\"><h2 id=\"groups\">Components</h2>\n";
  for (const StatusGroup& g : page.groups) {
    const std::string_view s = status_word(g.status);
    o << "<article class=\"group s-" << s << "\" id=\"group-" << esc(g.id) << "\" data-group=\""
      << esc(g.id) << "\" data-status=\"" << s << "\"><div class=\"row\"><h3>" << esc(g.name)
      << "</h3><span class=\"state\">" << public_status(g.status) << "</span></div>";
    if (!g.description.empty()) o << "<p class=\"muted\">" << esc(g.description) << "</p>";
    o << "<ol class=\"history\" aria-label=\"" << esc(g.name) << ": daily status, last "
      << g.history.size() << " days\">";
    for (const StatusDay& d : g.history) {
      const std::string label = day_text(d.day) + ": " + std::string(public_status(d.status));
      o << "<li class=\"s-" << status_word(d.status) << "\" data-day=\"" << day_text(d.day)
        << "\" data-status=\"" << status_word(d.status) << "\" title=\"" << label
        << "\"><span class=\"vh\">" << label << "</span></li>";
    }
    o << "</ol><p class=\"row muted\"><span>" << g.history.size() << " days ago</span><span>"
      << g.operational_days << " of " << g.days_with_data
      << " days with data operational</span><span>Today</span></p></article>\n";
  }
  o << "</section>\n";
  if (!page.resolved.empty()) {
    o << "<section aria-labelledby=\"resolved\"><h2 id=\"resolved\">Recently resolved</h2>"
         "<ul class=\"incidents\">";
    for (const auto& i : page.resolved) incident_html(o, i);
    o << "</ul></section>\n";
  }
  o << "</main><footer class=\"muted\"><p>Generated by opsready from live readiness.";
  if (!page.url.empty()) o << " <a href=\"" << esc(page.url) << "\">" << esc(page.url) << "</a>";
  o << "</p></footer></div></body></html>\n";
  return o.str();
}

// ---- Markdown ----

namespace {

std::string_view bar(std::optional<Status> s) {
  if (!s) return "·";
  return *s == Status::kOk ? "▇" : *s == Status::kWarn ? "▄" : "▁";
}

void incidents_md(std::ostringstream& o, const std::vector<StatusIncident>& list) {
  for (const StatusIncident& i : list) {
    o << "- **" << core::markdown_inline(i.title) << "**: " << to_string(i.state) << ", started "
      << core::format_rfc3339(i.started_at);
    if (i.resolved_at) o << ", resolved " << core::format_rfc3339(*i.resolved_at);
    if (!i.groups.empty())
      o << " (affects " << core::markdown_inline(core::join(i.groups, ", ")) << ")";
    o << "\n";
  }
}

}  // namespace

std::string to_markdown(const StatusPage& page) {
  std::ostringstream o;
  o << "# " << core::markdown_inline(page.title) << "\n\n**" << overall_description(page.status)
    << "** (updated " << core::format_rfc3339(page.generated_at) << ")\n\n";
  o << "| Group | Status | Description |\n|---|---|---|\n";
  for (const StatusGroup& g : page.groups) {
    o << "| " << core::markdown_inline(g.name) << " | " << public_status(g.status) << " | "
      << core::markdown_inline(g.description) << " |\n";
  }
  o << "\n## Current incidents\n\n";
  if (page.incidents.empty()) o << "No current incidents.\n";
  incidents_md(o, page.incidents);
  if (!page.resolved.empty()) {
    o << "\n## Recently resolved\n\n";
    incidents_md(o, page.resolved);
  }
  o << "\n## History (" << kStatusHistoryDays << " days, oldest first)\n\n"
    << "▇ operational · ▄ degraded performance · ▁ major outage · `·` no data\n\n";
  for (const StatusGroup& g : page.groups) {
    o << "**" << core::markdown_inline(g.name) << "**: " << g.operational_days << " of "
      << g.days_with_data << " days with data operational\n\n`";
    for (const StatusDay& d : g.history) o << bar(d.status);
    o << "`\n\n";
  }
  return o.str();
}

}  // namespace opsready::server
