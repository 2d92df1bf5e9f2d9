#include "opsready/server/dashboard.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <set>
#include <string_view>
#include <utility>

#include "opsready/core/event.h"
#include "opsready/core/snapshot.h"
#include "opsready/core/text.h"
#include "opsready/core/time.h"

namespace opsready::server {
namespace {

using core::Status;
using nlohmann::json;

// ---- reading documents without trusting their shape -----------------------------------------

const json& at(const json& j, std::string_view key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  const auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

// The first of `keys` holding a number. A present 0 is a value: the original's `or` chains
// skipped it as missing (spec §0, [I]).
std::optional<double> number(const json& j, std::initializer_list<std::string_view> keys) {
  for (const auto key : keys) {
    if (auto v = core::to_number(at(j, key))) return v;
  }
  return std::nullopt;
}

std::optional<std::string> text(const json& j, std::initializer_list<std::string_view> keys) {
  for (const auto key : keys) {
    const json& v = at(j, key);
    if (v.is_string() && !v.get<std::string>().empty()) return v.get<std::string>();
  }
  return std::nullopt;
}

// The first of `keys` holding an object.
const json& object(const json& j, std::initializer_list<std::string_view> keys) {
  for (const auto key : keys) {
    const json& v = at(j, key);
    if (v.is_object()) return v;
  }
  static const json kNull;
  return kNull;
}

std::string scalar_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "none";
  return v.dump();
}

// ---- number formats (classic "C" locale: snprintf is never localised here) -----------------

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// Python's {:,.2f}: 12000 -> "12,000.00".
std::string money(double v) {
  std::string s = fixed(std::fabs(v), 2);
  const auto dot = s.find('.');
  std::string head = s.substr(0, dot);
  std::string grouped;
  for (std::size_t i = 0; i < head.size(); ++i) {
    if (i > 0 && (head.size() - i) % 3 == 0) grouped.push_back(',');
    grouped.push_back(head[i]);
  }
  return (v < 0 && fixed(v, 2) != "-0.00" ? "-" : "") + grouped + s.substr(dot);
}

// Python's {:.Nf%}: a fraction as a percentage.
std::string percent(double fraction, int digits) { return fixed(fraction * 100.0, digits) + "%"; }

// Milliseconds: >= 1000 -> "1.23s", >= 100 -> "880ms", else "42.0ms".
std::string ms(std::optional<double> v) {
  if (!v) return "n/a";
  if (*v >= 1000.0) return fixed(*v / 1000.0, 2) + "s";
  if (*v >= 100.0) return fixed(*v, 0) + "ms";
  return fixed(*v, 1) + "ms";
}

std::string integer(double v) { return fixed(std::round(v), 0); }

std::string upper(Status s) { return core::to_upper(core::to_string(s)); }

// ---- status vocabularies (§3.3) ---------------------------------------------------------------

// ok/warn/fail and every vocabulary core::parse_status knows (met/at_risk/breached, pass,
// normal/alert, ...); absent or unknown words are warn: a source that cannot say how it is,
// is not healthy.
Status mapped(const json& status_word) {
  if (!status_word.is_string()) return Status::kWarn;
  return core::parse_status(status_word.get<std::string>()).value_or(Status::kWarn);
}

// Evolution / operator leverage: None -> warn, fail -> fail, warn|warning -> warn, ok -> ok,
// anything else -> warn.
Status kpi_status(const json& word) {
  if (!word.is_string()) return Status::kWarn;
  const std::string w = core::to_lower(core::trim(word.get<std::string>()));
  if (w == "fail") return Status::kFail;
  if (w == "ok") return Status::kOk;
  return Status::kWarn;
}

// Compliance severity: critical|fail|alert -> fail, warn|warning -> warn, else ok.
Status severity_status(const json& word) {
  if (!word.is_string()) return Status::kOk;
  const std::string w = core::to_lower(core::trim(word.get<std::string>()));
  if (w == "critical" || w == "fail" || w == "alert") return Status::kFail;
  if (w == "warn" || w == "warning") return Status::kWarn;
  return Status::kOk;
}

// Monitoring tokens (case-insensitive, trimmed; empty or none -> ok).
Status token_status(const json& word) {
  if (!word.is_string()) return Status::kOk;
  const std::string w = core::to_lower(core::trim(word.get<std::string>()));
  static constexpr std::array<std::string_view, 7> kFail = {"fail",  "critical", "alert", "severe",
                                                            "fatal", "breach",   "error"};
  static constexpr std::array<std::string_view, 6> kWarn = {"warn",    "warning",  "at_risk",
                                                            "caution", "degraded", "anomaly"};
  if (std::find(kFail.begin(), kFail.end(), w) != kFail.end()) return Status::kFail;
  if (std::find(kWarn.begin(), kWarn.end(), w) != kWarn.end()) return Status::kWarn;
  return Status::kOk;
}

// Drift: alert -> fail, warn -> warn, normal -> ok, other words through the token map.
Status drift_status(const json& word) { return token_status(word); }

json counts_json(const std::array<int, 3>& c) {
  return {{"ok", c[0]}, {"warn", c[1]}, {"fail", c[2]}};
}

std::string components_line(const std::array<int, 3>& c) {
  return "Components OK " + std::to_string(c[0]) + " / warn " + std::to_string(c[1]) + " / fail " +
         std::to_string(c[2]);
}

// Issue texts of a snapshot: strings (the original's as_dict) or opsready issue objects.
std::vector<std::string> issue_texts(const json& snapshot) {
  std::vector<std::string> out;
  const json& issues = at(snapshot, "issues");
  if (!issues.is_array()) return out;
  for (const json& i : issues) {
    if (i.is_string()) {
      out.push_back(i.get<std::string>());
    } else if (auto m = text(i, {"message", "summary"})) {
      out.push_back(*m);
    }
  }
  return out;
}

// A field of a component snapshot: top level (the original's as_dict) or in its metadata
// (opsready's component snapshot).
const json& field(const json& snapshot, std::string_view key) {
  const json& top = at(snapshot, key);
  return top.is_null() ? at(at(snapshot, "metadata"), key) : top;
}

// ---- panels -----------------------------------------------------------------------------------

DashboardPanel roi_panel(const json& roi) {
  DashboardPanel p{.name = "PnL & ROI"};
  const std::string word = core::to_lower(
      at(roi, "status").is_string() ? at(roi, "status").get<std::string>() : std::string());
  p.status = word == "at_risk" ? Status::kWarn : Status::kOk;
  const auto pct = [](std::optional<double> v) { return v ? percent(*v, 2) : "n/a"; };
  p.headline = "Net ROI " + pct(number(roi, {"roi"})) + " (annualised " +
               pct(number(roi, {"annualised_roi", "annualized_roi"})) + ", target " +
               pct(number(roi, {"target_annual_roi"})) + ")";
  const auto line = [&](std::string label, std::initializer_list<std::string_view> keys) {
    const auto v = number(roi, keys);
    p.details.push_back(std::move(label) + ": " + (v ? money(*v) : "n/a"));
  };
  line("Net P&L", {"net_pnl"});
  line("Gross P&L", {"gross_pnl"});
  line("Fees", {"fees"});
  line("Infrastructure cost", {"infrastructure_cost"});
  p.metadata = {{"roi", roi}};
  return p;
}

DashboardPanel risk_panel(const json& results, const json& limits) {
  DashboardPanel p{.name = "Risk & exposure"};
  std::optional<std::pair<std::string, double>> worst;
  json meta = json::object();
  // nlohmann's object iterates its keys sorted: the spec's "sorted by name".
  for (const auto& [name, result] : results.items()) {
    json payload = result.is_object() ? result : json{{"value", result}};
    const auto value = core::to_number(at(payload, "value"));
    if (value) payload["value"] = *value;
    const auto confidence = core::to_number(at(payload, "confidence"));
    if (confidence) payload["confidence"] = *confidence;
    const auto samples = core::to_number(at(payload, "sample_size"));
    if (samples) payload["sample_size"] = static_cast<long long>(*samples);
    std::string line = name + ": " + (value ? money(*value) : "n/a");
    if (confidence) line += " @ " + percent(*confidence, 1);
    if (samples) line += " (n=" + integer(*samples) + ")";
    const auto limit = core::to_number(at(limits, name));
    if (limit && *limit > 0) {
      line += " limit " + money(*limit);
      payload["limit"] = *limit;
      if (value) {
        const double ratio = *value / *limit;
        payload["limit_ratio"] = ratio;
        if (*value > *limit) {
          p.status = core::escalate(p.status, Status::kFail);
          payload["limit_status"] = "violation";
        } else if (*value > 0.8 * *limit) {
          p.status = core::escalate(p.status, Status::kWarn);
          payload["limit_status"] = "warn";
        } else {
          payload["limit_status"] = "ok";
        }
      }
    } else if (limit) {
      payload["limit"] = *limit;
      payload["limit_status"] = "invalid";
    }
    if (value && *value > 0 && (!worst || *value > worst->second)) worst.emplace(name, *value);
    p.details.push_back(std::move(line));
    meta[name] = std::move(payload);
  }
  if (!worst) {
    p.headline = "Risk metrics unavailable";
  } else if (const auto ratio = core::to_number(at(meta[worst->first], "limit_ratio"))) {
    p.headline =
        worst->first + " " + money(worst->second) + " (" + percent(*ratio, 0) + " of limit)";
  } else {
    p.headline = "Peak tail risk " + worst->first + " " + money(worst->second);
  }
  p.metadata = std::move(meta);
  return p;
}

// ---- gate dashboard ---------------------------------------------------------------------------

// A 20-cell gauge of the value on a scale from 0 to 1.25 × the larger threshold (or the value
// when it is larger), with the warn threshold marked '|'.
std::string gauge(double value, std::optional<double> warn, std::optional<double> fail) {
  constexpr int kCells = 20;
  double top = std::max({value, warn.value_or(0.0), fail.value_or(0.0)});
  top = top > 0 ? top * 1.25 : 1.0;
  const int filled = std::clamp(static_cast<int>(std::lround(value / top * kCells)), 0, kCells);
  std::string bar(kCells, '.');
  std::fill(bar.begin(), bar.begin() + filled, '#');
  if (warn && *warn >= 0) {
    const int mark = std::clamp(static_cast<int>(std::lround(*warn / top * kCells)), 0, kCells - 1);
    bar[mark] = '|';
  }
  return "[" + bar + "]";
}

DashboardPanel gate_panel(const json& gate) {
  DashboardPanel p{.name = "Gate Dashboard"};
  const json& metrics = gate.is_array() ? gate : at(gate, "metrics");
  std::array<int, 3> counts{};
  json rendered = json::array();
  if (metrics.is_array()) {
    for (const json& m : metrics) {
      const std::string name = text(m, {"name", "metric"}).value_or("metric");
      const auto value = number(m, {"value"});
      const auto warn = number(m, {"warn_threshold", "warn"});
      const auto fail = number(m, {"fail_threshold", "fail"});
      const std::string mode =
          core::to_lower(text(m, {"mode", "comparison", "direction"}).value_or("at_least"));
      const bool at_most = mode == "at_most";
      Status st = Status::kOk;
      // Strict comparisons: a value equal to a threshold passes it.
      const auto beyond = [&](std::optional<double> t) {
        return t && (at_most ? *value > *t : *value < *t);
      };
      if (!value) {
        st = Status::kFail;
      } else if (beyond(fail)) {
        st = Status::kFail;
      } else if (beyond(warn)) {
        st = Status::kWarn;
      }
      counts[core::rank(st)] += 1;
      p.status = core::escalate(p.status, st);
      const std::string op = at_most ? " > " : " < ";
      std::string line = name + " " + (value ? fixed(*value, 3) : "n/a");
      if (value) line += " " + gauge(*value, warn, fail);
      line += " " + upper(st);
      std::vector<std::string> bounds;
      if (warn) bounds.push_back("warn" + op + fixed(*warn, 3));
      if (fail) bounds.push_back("fail" + op + fixed(*fail, 3));
      if (!bounds.empty()) line += " (" + core::join(bounds, ", ") + ")";
      if (!value) line += " — no value reported";
      p.details.push_back(std::move(line));
      json copy = m.is_object() ? m : json{{"value", m}};
      copy["status"] = core::to_string(st);
      rendered.push_back(std::move(copy));
    }
  }
  const std::size_t n = rendered.size();
  p.headline = "Gate health " + upper(p.status) + " — " + std::to_string(counts[2]) + " fail / " +
               std::to_string(counts[1]) + " warn across " + std::to_string(n) + " metric" +
               (n == 1 ? "" : "s");
  p.metadata = {{"gate_dashboard",
                 {{"status", core::to_string(p.status)},
                  {"counts", counts_json(counts)},
                  {"metrics", std::move(rendered)}}}};
  return p;
}

// ---- compliance -------------------------------------------------------------------------------

struct ComplianceCounts {
  int breaches = 0;
  int warnings = 0;
  int governance_actions = 0;
  int promotions = 0;
};

std::string plural(int n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

json derived_compliance_slo(const ComplianceCounts& c) {
  const std::string breach_status = c.breaches > 0   ? "breached"
                                    : c.warnings > 0 ? "at_risk"
                                                     : "met";
  const std::string breach_message =
      c.breaches > 0   ? plural(c.breaches, "risk breach", "risk breaches") + " recorded"
      : c.warnings > 0 ? plural(c.warnings, "risk warning", "risk warnings") + " recorded"
                       : "No risk breaches recorded";
  const std::string governance_status = c.governance_actions > 0 ? "at_risk" : "met";
  const std::string governance_message =
      c.governance_actions > 0
          ? plural(c.governance_actions, "governance action", "governance actions") + " recorded"
          : "No governance interventions recorded";
  const std::string overall = breach_status == "breached" ? "breached"
                              : breach_status == "at_risk" || governance_status == "at_risk"
                                  ? "at_risk"
                                  : "met";
  return {{"service", "risk_compliance"},
          {"status", overall},
          {"slos",
           {{{"name", "policy_breach_prevention"},
             {"status", breach_status},
             {"message", breach_message}},
            {{"name", "governance_interventions"},
             {"status", governance_status},
             {"message", governance_message}}}},
          {"metadata",
           {{"breaches", c.breaches},
            {"warnings", c.warnings},
            {"governance_actions", c.governance_actions},
            {"promotions", c.promotions}}}};
}

DashboardPanel compliance_panel(const std::vector<json>& raw_events,
                                const std::optional<json>& slo_snapshot) {
  DashboardPanel p{.name = "Compliance & governance"};
  struct Event {
    std::optional<core::TimePoint> at;
    json payload;
  };
  std::vector<Event> events;
  for (const json& e : raw_events) {
    if (!e.is_object()) continue;
    Event ev{.payload = e};
    if (auto t = text(e, {"occurred_at"})) {
      if (auto parsed = core::parse_rfc3339(*t)) {
        ev.at = *parsed;
        ev.payload["occurred_at"] = core::format_rfc3339(*parsed);
      }
    }
    events.push_back(std::move(ev));
  }
  // Newest first; events without a (valid) time last, each group in arrival order.
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    if (a.at && b.at) return *a.at > *b.at;
    return a.at.has_value() && !b.at.has_value();
  });
  ComplianceCounts c;
  json listed = json::array();
  if (events.empty()) {
    p.status = Status::kWarn;
    p.details.push_back(
        "No compliance telemetry supplied; provide loop results or explicit compliance events.");
  }
  for (const Event& ev : events) {
    const json& e = ev.payload;
    p.status = core::escalate(p.status, severity_status(at(e, "severity")));
    const std::string type = text(e, {"event_type"}).value_or("");
    c.breaches += type == "risk_breach";
    c.warnings += type == "risk_warning";
    c.governance_actions += type == "governance_action";
    c.promotions += type == "governance_promotion";
    p.details.push_back((ev.at ? core::format_rfc3339(*ev.at) : std::string("unknown")) + " — " +
                        text(e, {"policy_id"}).value_or("policy") + ": " +
                        text(e, {"summary"}).value_or("Compliance event recorded"));
    listed.push_back(e);
  }
  const json slo = slo_snapshot ? *slo_snapshot : derived_compliance_slo(c);
  p.status = core::escalate(p.status, mapped(at(slo, "status")));
  if (const json& slos = at(slo, "slos"); slos.is_array() && !slos.empty()) {
    p.details.emplace_back();
    p.details.push_back("SLO overview:");
    for (const json& s : slos) {
      p.status = core::escalate(p.status, mapped(at(s, "status")));
      p.details.push_back("- " + text(s, {"name"}).value_or("slo") + ": " +
                          text(s, {"status"}).value_or("unknown") + " — " +
                          text(s, {"message"}).value_or(""));
    }
  }
  std::vector<std::string> parts;
  const auto part = [&parts](std::string_view label, int n) {
    if (n > 0) parts.push_back(std::string(label) + " " + std::to_string(n));
  };
  part("Risk breaches", c.breaches);
  part("Risk warnings", c.warnings);
  part("Governance actions", c.governance_actions);
  part("Promotions", c.promotions);
  p.headline = parts.empty() ? "Compliance telemetry baseline" : core::join(parts, " | ");
  p.metadata = {{"events", std::move(listed)},
                {"counts",
                 {{"risk_breach", c.breaches},
                  {"risk_warning", c.warnings},
                  {"governance_action", c.governance_actions},
                  {"governance_promotion", c.promotions}}},
                {"compliance_slo", slo}};
  return p;
}

// ---- evolution and operator leverage ------------------------------------------------------------

// One line per reported field (sorted), a number with up to 3 decimals, an object with a
// `value` as that value (and its status), anything else as JSON.
std::vector<std::string> kpi_details(const json& snapshot) {
  std::vector<std::string> out;
  static const std::set<std::string, std::less<>> kSkip = {"status", "generated_at", "metadata"};
  if (!snapshot.is_object()) return out;
  for (const auto& [key, v] : snapshot.items()) {
    if (kSkip.contains(key)) continue;
    std::string value;
    if (v.is_number_integer() || v.is_number_unsigned()) {
      value = v.dump();
    } else if (v.is_number()) {
      value = fixed(v.get<double>(), 3);
    } else if (v.is_object() && v.contains("value")) {
      const json& inner = v["value"];
      value = inner.is_number_float() ? fixed(inner.get<double>(), 3) : scalar_text(inner);
      if (auto st = text(v, {"status"})) value += " (" + *st + ")";
    } else {
      value = scalar_text(v);
    }
    out.push_back(key + ": " + value);
  }
  return out;
}

DashboardPanel kpi_panel(std::string name, const std::optional<json>& snapshot,
                         std::string_view metadata_key, std::string_view what) {
  DashboardPanel p{.name = std::move(name)};
  if (!snapshot) {
    p.status = Status::kWarn;
    p.headline = p.name + " unavailable";
    p.details.push_back("No " + std::string(what) + " telemetry supplied.");
    p.metadata = {{std::string(metadata_key), {{"status", "missing"}}}};
    return p;
  }
  p.status = kpi_status(at(*snapshot, "status"));
  p.headline = p.name + " " + std::string(core::to_string(p.status));
  p.details = kpi_details(*snapshot);
  p.metadata = {{std::string(metadata_key), *snapshot}};
  return p;
}

// ---- latency & throughput ---------------------------------------------------------------------

struct Headline {
  std::vector<std::string> parts;
  void add(std::string part) {
    if (std::find(parts.begin(), parts.end(), part) == parts.end())
      parts.push_back(std::move(part));
  }
};

void event_bus_part(const json& bus, DashboardPanel& p, Headline& h) {
  const Status st = mapped(at(bus, "status"));
  p.status = core::escalate(p.status, st);
  const auto count = [&bus](std::string_view key) {
    const auto v = core::to_number(field(bus, key));
    return v ? integer(*v) : std::string("0");
  };
  p.details.push_back("Event bus queue " + count("queue_size") + " (dropped " +
                      count("dropped_events") + ", errors " + count("handler_errors") + ")");
  if (const auto cap = core::to_number(field(bus, "queue_capacity"))) {
    p.details.push_back("Queue capacity " + integer(*cap));
  }
  if (const json& v = field(bus, "last_event_at"); v.is_string()) {
    p.details.push_back("Last event: " + v.get<std::string>());
  }
  if (const json& v = field(bus, "last_error_at"); v.is_string()) {
    p.details.push_back("Last error: " + v.get<std::string>());
  }
  for (const auto& issue : issue_texts(bus)) p.details.push_back("Issue: " + issue);
  p.metadata["event_bus"] = bus;
  h.add("Event bus " + std::string(core::to_string(st)));
}

void slo_part(const json& slo, DashboardPanel& p, Headline& h) {
  const json& status_word = at(slo, "status");
  const Status st = mapped(status_word);
  p.status = core::escalate(p.status, st);
  // The original's slo list, or opsready's ingest_slos component (metadata.slos, whose first
  // record is the service roll-up: not counted again).
  const json& slos = at(slo, "slos").is_array() ? at(slo, "slos") : at(at(slo, "metadata"), "slos");
  const json& service = at(at(slo, "metadata"), "service");
  std::array<int, 3> counts{};
  if (slos.is_array()) {
    for (const json& s : slos) {
      if (!at(slo, "slos").is_array() && service.is_string() && at(s, "name") == service) continue;
      counts[core::rank(mapped(at(s, "status")))] += 1;
    }
  }
  p.details.push_back("SLOs pass " + std::to_string(counts[0]) + " / warn " +
                      std::to_string(counts[1]) + " / fail " + std::to_string(counts[2]));
  p.metadata["slos"] = slo;
  static constexpr std::array<std::string_view, 3> kWords = {"pass", "warn", "fail"};
  h.add("Ingest SLOs " + std::string(kWords[core::rank(st)]));
}

void latency_part(const json& latency, DashboardPanel& p, Headline& h) {
  p.status = core::escalate(p.status, token_status(at(latency, "status")));
  const auto p95 = number(latency, {"p95_ms", "p95"});
  const auto p99 = number(latency, {"p99_ms", "p99"});
  std::string line = "Latency p95 " + ms(p95) + ", p99 " + ms(p99);
  if (const auto target = number(
          latency, {"p99_target_ms", "target_p99_ms", "p99_budget_ms", "p99_threshold_ms"})) {
    line += " (target " + ms(target) + ")";
  }
  if (const auto samples = number(latency, {"samples", "sample_size", "count"})) {
    line += " samples " + integer(*samples);
  }
  p.details.push_back(std::move(line));
  if (p99) h.add("p99 " + ms(p99));
}

void throughput_part(const json& t, DashboardPanel& p, Headline& h) {
  p.status = core::escalate(p.status, token_status(at(t, "status")));
  const auto per_minute = number(t, {"per_minute", "per_min", "orders_per_minute"});
  const auto per_second = number(t, {"per_second", "per_sec", "orders_per_second"});
  const auto backlog = number(t, {"backlog"});
  std::vector<std::string> parts;
  if (per_minute) parts.push_back(fixed(*per_minute, 2) + " per min");
  if (per_second) parts.push_back(fixed(*per_second, 2) + " per sec");
  if (backlog) parts.push_back("backlog " + integer(*backlog));
  p.details.push_back("Throughput " + (parts.empty() ? "n/a" : core::join(parts, ", ")));
  if (per_minute) h.add("Throughput " + fixed(*per_minute, 1) + "/min");
}

void pnl_part(const json& pnl, DashboardPanel& p, Headline& h) {
  p.status = core::escalate(p.status, token_status(at(pnl, "status")));
  std::vector<std::string> parts;
  if (const auto daily = number(pnl, {"daily", "daily_pnl"})) {
    parts.push_back("Daily P&L " + money(*daily));
    h.add(parts.back());
  }
  if (const auto swing = number(pnl, {"swing", "volatility", "stdev"})) {
    parts.push_back("σ " + fixed(*swing, 3));
  }
  if (const auto dd = number(pnl, {"drawdown", "max_drawdown"})) {
    parts.push_back("Drawdown " + percent(*dd, 1));
  }
  p.details.push_back("P&L " + (parts.empty() ? "n/a" : core::join(parts, ", ")));
}

// A memory share: a value above 1 is already a percentage (82.0 -> 82.0%), else a fraction
// (0.82 -> 82.0%). The original treated every value as a fraction (82.0 -> 8200.0%) [I].
std::string share(double v) { return fixed(v > 1.0 ? v : v * 100.0, 1) + "%"; }

void memory_part(const json& m, DashboardPanel& p) {
  p.status = core::escalate(p.status, token_status(at(m, "status")));
  std::vector<std::string> parts;
  if (const auto v = number(m, {"current_mb", "current", "used_mb"})) {
    parts.push_back("current " + fixed(*v, 1) + " MiB");
  }
  if (const auto v = number(m, {"peak_mb", "max_mb"}))
    parts.push_back("peak " + fixed(*v, 1) + " MiB");
  if (const auto v = number(m, {"current_percent"})) parts.push_back("curr " + share(*v));
  if (const auto v = number(m, {"peak_percent", "max_percent"}))
    parts.push_back("peak " + share(*v));
  p.details.push_back("Memory " + (parts.empty() ? "n/a" : core::join(parts, ", ")));
}

void tail_spikes_part(const json& spikes, DashboardPanel& p) {
  if (!spikes.is_array()) return;
  for (const json& s : spikes) {
    if (!s.is_object()) continue;
    const json& severity = at(s, "severity");
    p.status = core::escalate(p.status, token_status(severity));
    const std::string name = core::to_upper(text(s, {"name", "metric"}).value_or("tail"));
    const std::string unit = text(s, {"unit"}).value_or("");
    const bool as_percent = unit == "%" || at(s, "percent") == true;
    const auto format = [&](double v) { return as_percent ? percent(v, 2) : fixed(v, 3) + unit; };
    const auto value = number(s, {"value", "magnitude"});
    std::string line = "Tail spike " + name + ": " + (value ? format(*value) : "n/a");
    if (const auto t = number(s, {"threshold", "limit"})) line += " (threshold " + format(*t) + ")";
    if (severity.is_string()) line += " [" + severity.get<std::string>() + "]";
    p.details.push_back(std::move(line));
  }
}

void drift_part(const json& drift, DashboardPanel& p, Headline& h) {
  p.metadata["drift"] = drift;
  const json& status_word = at(drift, "status");
  p.status = core::escalate(p.status, drift_status(status_word));
  h.add("Drift " + (status_word.is_string() ? status_word.get<std::string>() : "normal"));
  struct Dimension {
    std::string name;
    json payload;
    Status severity;
  };
  std::vector<Dimension> dims;
  const json& raw = at(drift, "dimensions");
  if (raw.is_object()) {
    for (const auto& [name, d] : raw.items()) {
      dims.push_back({name, d, drift_status(at(d, "severity"))});
    }
  } else if (raw.is_array()) {
    for (const json& d : raw) {
      dims.push_back({text(d, {"name", "dimension"}).value_or("dimension"), d,
                      drift_status(at(d, "severity"))});
    }
  }
  std::stable_sort(dims.begin(), dims.end(), [](const Dimension& a, const Dimension& b) {
    return core::rank(a.severity) > core::rank(b.severity);
  });
  for (std::size_t i = 0; i < dims.size() && i < 3; ++i) {
    const auto& d = dims[i];
    std::string line =
        "Drift " + d.name + ": " +
        text(d.payload, {"severity"}).value_or(std::string(core::to_string(d.severity)));
    if (const auto delta = number(d.payload, {"delta", "drift_ratio"}))
      line += " Δ " + fixed(*delta, 3);
    if (const auto var = number(d.payload, {"variance_ratio"})) line += " σ² x" + fixed(*var, 2);
    if (const auto n = number(d.payload, {"samples", "sample_size", "n"})) {
      line += " (n=" + integer(*n) + ")";
    }
    p.details.push_back(std::move(line));
  }
  for (const auto& d : dims) {
    if (d.severity != Status::kFail) continue;
    h.add(d.name + " drift " + text(d.payload, {"severity"}).value_or("alert"));
    // A failing dimension fails the panel: the original only named it in the headline [I].
    p.status = Status::kFail;
  }
}

void monitoring_part(const json& m, DashboardPanel& p, Headline& h) {
  p.metadata["monitoring"] = m;
  p.status = core::escalate(p.status, token_status(at(m, "status")));
  if (const json& v = object(m, {"latency_ms", "latency"}); v.is_object()) latency_part(v, p, h);
  if (const json& v = object(m, {"throughput"}); v.is_object()) throughput_part(v, p, h);
  if (const json& v = object(m, {"pnl", "pnl_swings"}); v.is_object()) pnl_part(v, p, h);
  if (const json& v = object(m, {"memory"}); v.is_object()) memory_part(v, p);
  tail_spikes_part(at(m, "tail_spikes"), p);
  if (const json& v = object(m, {"drift_summary", "drift"}); v.is_object()) drift_part(v, p, h);
}

DashboardPanel latency_panel(const DashboardInputs& in) {
  DashboardPanel p{.name = "Latency & throughput"};
  Headline h;
  if (in.event_bus_snapshot) event_bus_part(*in.event_bus_snapshot, p, h);
  if (in.slo_snapshot) slo_part(*in.slo_snapshot, p, h);
  if (in.monitoring_snapshot) monitoring_part(*in.monitoring_snapshot, p, h);
  p.headline = h.parts.empty() ? "Latency overview" : core::join(h.parts, "; ");
  return p;
}

// ---- system health and readiness ---------------------------------------------------------------

std::string component_name(const json& c) {
  return text(c, {"name", "component"}).value_or("component");
}

// A panel over a snapshot of components (the backbone's, readiness'): the snapshot's status,
// the counts line, then a blank line and `line(component)` for each component it names (a blank
// line only when `blank_always` or some component has a line).
template <typename Line>
DashboardPanel components_panel(std::string name, const json& snapshot, std::string headline,
                                std::string metadata_key, bool blank_always, Line line) {
  DashboardPanel p{.name = std::move(name)};
  p.status = mapped(at(snapshot, "status"));
  std::array<int, 3> counts{};
  std::vector<std::string> lines;
  if (const json& components = at(snapshot, "components"); components.is_array()) {
    for (const json& c : components) {
      const Status st = mapped(at(c, "status"));
      counts[core::rank(st)] += 1;
      if (auto l = line(c, st)) lines.push_back(std::move(*l));
    }
  }
  p.details.push_back(components_line(counts));
  if (blank_always || !lines.empty()) p.details.emplace_back();
  p.details.insert(p.details.end(), lines.begin(), lines.end());
  p.headline = std::move(headline) + " " + std::string(core::to_string(p.status));
  p.metadata = {{std::move(metadata_key), snapshot}};
  return p;
}

DashboardPanel backbone_panel(const json& backbone) {
  return components_panel("System health", backbone, "Backbone status", "backbone", true,
                          [](const json& c, Status) -> std::optional<std::string> {
                            return component_name(c) + ": " +
                                   text(c, {"status"}).value_or("unknown") + " — " +
                                   text(c, {"summary"}).value_or("");
                          });
}

// Only the components that are not ok get a line.
DashboardPanel readiness_panel(const json& readiness) {
  return components_panel("Operational readiness", readiness, "Readiness", "operational_readiness",
                          false, [](const json& c, Status st) -> std::optional<std::string> {
                            if (st == Status::kOk) return std::nullopt;
                            return component_name(c) + ": " + text(c, {"summary"}).value_or("");
                          });
}

// ---- policy graduation --------------------------------------------------------------------------

int stage_rank(const std::string& stage) {
  static constexpr std::array<std::string_view, 4> kStages = {"EXPERIMENT", "PAPER", "PILOT",
                                                              "LIMITED_LIVE"};
  const std::string s = core::to_upper(stage);
  const auto it = std::find(kStages.begin(), kStages.end(), s);
  return it == kStages.end() ? -1 : static_cast<int>(it - kStages.begin());
}

DashboardPanel graduation_panel(const json& assessments) {
  DashboardPanel p{.name = "Policy graduation"};
  std::vector<json> list;
  // [assessment, ...], {"assessments": [...]} (a feed payload is an object) or {policy:
  // assessment}.
  if (at(assessments, "assessments").is_array()) {
    for (const json& a : assessments["assessments"]) list.push_back(a);
  } else if (assessments.is_array()) {
    for (const json& a : assessments) list.push_back(a);
  } else if (assessments.is_object()) {
    for (const auto& [id, a] : assessments.items()) {
      json copy = a;
      if (copy.is_object() && !copy.contains("policy_id")) copy["policy_id"] = id;
      list.push_back(std::move(copy));
    }
  }
  json ready = json::array();
  json blocked = json::object();
  json regressions = json::array();
  for (const json& a : list) {
    const std::string id = text(a, {"policy_id", "name"}).value_or("policy");
    const std::string current = core::to_upper(text(a, {"current_stage"}).value_or("unknown"));
    const std::string recommended =
        core::to_upper(text(a, {"recommended_stage"}).value_or(current));
    std::vector<std::string> blockers;
    for (const json& b : at(a, "blockers").is_array() ? at(a, "blockers") : json::array()) {
      if (b.is_string()) blockers.push_back(b.get<std::string>());
    }
    const int cur = stage_rank(current);
    const int rec = stage_rank(recommended);
    std::string line = id + ": " + current + " → " + recommended;
    if (cur >= 0 && rec >= 0 && rec < cur) {
      p.status = core::escalate(p.status, Status::kFail);
      regressions.push_back(id);
      line += " (regression)";
    } else if (!blockers.empty()) {
      p.status = core::escalate(p.status, Status::kWarn);
      blocked[id] = blockers;
      line += " blocked: " + core::join(blockers, ", ");
    } else if (rec > cur) {
      ready.push_back(id);
      line += " (ready)";
    } else {
      line += " (hold)";
    }
    p.details.push_back(std::move(line));
  }
  p.headline = list.empty() ? "No policy graduation assessments"
                            : "Ready " + std::to_string(ready.size()) + " | Blocked " +
                                  std::to_string(blocked.size()) + " | Regressions " +
                                  std::to_string(regressions.size());
  p.metadata = {{"ready", std::move(ready)},
                {"blocked", std::move(blocked)},
                {"regressions", std::move(regressions)},
                {"assessments", list}};
  return p;
}

// ---- decision diary ---------------------------------------------------------------------------

const json* diary_coverage_of(const json& loop_result) {
  for (const json* holder :
       {&at(loop_result, "metadata"), &loop_result, &at(loop_result, "trade_metadata")}) {
    const json& c = at(*holder, "diary_coverage");
    if (c.is_object() && !c.empty()) return &c;
  }
  return nullptr;
}

DashboardPanel diary_panel(const std::optional<json>& loop_results) {
  DashboardPanel p{.name = "Decision diary"};
  const json* coverage_map = nullptr;
  if (loop_results && loop_results->is_array()) {
    for (const json& r : *loop_results) {
      if (const json* c = diary_coverage_of(r)) coverage_map = c;
    }
  }
  if (coverage_map == nullptr) {
    p.status = Status::kWarn;
    p.headline = "Diary coverage telemetry unavailable";
    p.details.push_back("No loop result carried diary_coverage telemetry.");
    p.metadata = {{"decision_diary", {{"status", "missing"}}}};
    return p;
  }
  const json& m = *coverage_map;
  const auto fraction = [](double v) { return v > 1.0 ? v / 100.0 : v; };
  const auto iterations = number(m, {"iterations"});
  const auto recorded = number(m, {"recorded"});
  std::optional<double> coverage;
  if (const auto v = number(m, {"coverage"})) {
    coverage = fraction(*v);
  } else if (const auto pct = number(m, {"coverage_percent"})) {
    coverage = *pct / 100.0;
  } else if (iterations && recorded && *iterations > 0) {
    coverage = std::clamp(*recorded / *iterations, 0.0, 1.0);
  }
  std::optional<double> target;
  bool target_inferred = false;
  if (const auto v = number(m, {"target"})) {
    target = fraction(*v);
  } else if (const auto pct = number(m, {"target_percent"})) {
    target = *pct / 100.0;
  } else {
    target = 0.95;
    target_inferred = true;
  }
  std::optional<double> missing = number(m, {"missing"});
  if (!missing && iterations && recorded) missing = std::max(0.0, *iterations - *recorded);
  const auto minimum = number(m, {"minimum_samples"});
  const bool gap_breach = at(m, "gap_breach") == true;

  std::vector<std::string> missing_fields;
  if (!number(m, {"coverage", "coverage_percent"})) missing_fields.push_back("coverage");
  if (!iterations) missing_fields.push_back("iterations");
  if (!recorded) missing_fields.push_back("recorded");
  if (target_inferred) missing_fields.push_back("target");
  std::sort(missing_fields.begin(), missing_fields.end());

  if (iterations && recorded) {
    p.details.push_back("Recorded " + integer(*recorded) + " of " + integer(*iterations) +
                        " iterations (missing " + integer(missing.value_or(0)) + ")");
  } else if (iterations.has_value() != recorded.has_value()) {
    p.status = core::escalate(p.status, Status::kWarn);
    p.details.push_back(iterations ? "Iterations reported without a recorded count."
                                   : "Recorded count reported without iterations.");
  }
  const bool insufficient = iterations && minimum && *iterations < *minimum;
  if (insufficient) {
    p.status = core::escalate(p.status, Status::kWarn);
    p.details.push_back("Insufficient samples: " + integer(*iterations) + " iterations (minimum " +
                        integer(*minimum) + ").");
  }
  const bool below = coverage && target && *coverage + 1e-9 < *target;
  if (below) {
    p.status = Status::kFail;
    p.details.push_back("Coverage shortfall " + fixed((*target - *coverage) * 100.0, 2) +
                        "pp vs target.");
  }
  if (gap_breach) {
    p.status = Status::kFail;
    const auto threshold = number(m, {"gap_threshold_seconds"}).value_or(180.0);
    p.details.push_back("Diary gap alert active (> " + integer(threshold) + "s); last recorded " +
                        text(m, {"last_recorded_at"}).value_or("unknown") + ".");
  }
  if (!missing_fields.empty()) {
    p.status = core::escalate(p.status, Status::kWarn);
    p.details.push_back("Missing diary telemetry: " + core::join(missing_fields, ", ") + ".");
  }
  if (!coverage || !target) p.status = core::escalate(p.status, Status::kWarn);
  p.headline = "Coverage " + (coverage ? percent(*coverage, 2) : std::string("unknown")) +
               " (target " + (target ? percent(*target, 2) : std::string("unknown")) + ")";
  json enriched = m;
  enriched["coverage"] = coverage ? json(*coverage) : json();
  enriched["coverage_percent"] = coverage ? json(*coverage * 100.0) : json();
  enriched["target"] = target ? json(*target) : json();
  enriched["target_percent"] = target ? json(*target * 100.0) : json();
  enriched["target_inferred"] = target_inferred;
  if (missing) enriched["missing"] = *missing;
  enriched["missing_telemetry_fields"] = missing_fields;
  p.metadata = {{"decision_diary",
                 {{"coverage", std::move(enriched)},
                  {"alerts",
                   {{"coverage_below_target", below},
                    {"gap_breach", gap_breach},
                    {"insufficient_samples", insufficient},
                    {"missing_telemetry", !missing_fields.empty()}}}}}};
  return p;
}

// ---- understanding loop -----------------------------------------------------------------------

std::vector<std::string> string_items(const json& j) {
  std::vector<std::string> out;
  if (j.is_array()) {
    for (const json& v : j) {
      if (v.is_string()) out.push_back(v.get<std::string>());
    }
  }
  return out;
}

DashboardPanel understanding_panel(const std::optional<json>& snapshot) {
  DashboardPanel p{.name = "Understanding loop"};
  // opsready's understanding_loop component carries the loop's diagnostics in
  // metadata.understanding_loop ({status: "missing"} until they arrive); the original's
  // snapshot is the diagnostics itself.
  const bool component = snapshot && snapshot->contains("component");
  const json* diagnostics = nullptr;
  if (snapshot) {
    diagnostics = component ? &at(at(*snapshot, "metadata"), "understanding_loop") : &*snapshot;
    if (!diagnostics->is_object() || at(*diagnostics, "status") == "missing") diagnostics = nullptr;
  }
  if (diagnostics == nullptr) {
    p.status = Status::kWarn;
    p.headline = "Understanding diagnostics unavailable";
    p.details.push_back(
        "No understanding loop snapshot provided; run the graph diagnostics CLI to rebuild "
        "artifacts.");
    p.metadata = {{"understanding_loop",
                   {{"status", "missing"},
                    {"recommended_cli", "python -m tools.understanding.graph_diagnostics"}}}};
    return p;
  }
  const json& d = *diagnostics;
  // The component's status also holds its loop SLO probes; the diagnostics' own otherwise.
  p.status = mapped(at(component ? *snapshot : d, "status"));
  if (const json& rs = at(d, "regime_state"); rs.is_object()) {
    p.details.push_back("Regime " + text(rs, {"regime"}).value_or("unknown") + " @ " +
                        percent(number(rs, {"confidence"}).value_or(0.0), 1));
  }
  p.details.push_back("Drift exceedances: " +
                      std::to_string(string_items(at(at(d, "drift_summary"), "exceeded")).size()));
  if (const json& dec = at(d, "decision"); dec.is_object()) {
    p.details.push_back("Selected tactic " + text(dec, {"tactic_id"}).value_or("unknown") +
                        " weight " + fixed(number(dec, {"selected_weight"}).value_or(0.0), 3));
  }
  const auto approvals = string_items(at(at(d, "ledger_diff"), "approvals"));
  p.details.push_back("Ledger approvals: " +
                      (approvals.empty() ? "none" : core::join(approvals, ",")));
  const auto experiments = string_items(at(at(d, "decision"), "experiments_applied"));
  p.details.push_back("Experiments: " +
                      (experiments.empty() ? "none" : core::join(experiments, ",")));
  if (component) {
    for (const auto& issue : issue_texts(*snapshot)) p.details.push_back("Issue: " + issue);
  }
  p.headline = "Understanding " + std::string(core::to_string(p.status));
  p.metadata = {{"understanding_loop", *snapshot}};
  return p;
}

// ---- policy reflections and quality -----------------------------------------------------------

DashboardPanel reflection_panel(const json& reflection) {
  DashboardPanel p{.name = "Policy reflections"};
  const json& digest = at(reflection, "digest").is_object() ? at(reflection, "digest") : reflection;
  const double total = number(digest, {"total_decisions"}).value_or(0.0);
  p.status = total > 0 ? Status::kOk : Status::kWarn;
  p.headline = "Policy reflections: " + integer(total) + " decisions";
  const auto top = [&](std::string_view key, std::string_view label,
                       std::initializer_list<std::string_view> id_keys) {
    const json& items = at(digest, key);
    if (!items.is_array() || items.empty()) return;
    const json& first = items.front();
    std::string line = std::string(label) + " " + text(first, id_keys).value_or("unknown");
    if (const auto n = number(first, {"count", "decisions"}))
      line += ": " + integer(*n) + " decisions";
    if (const auto s = number(first, {"share"})) line += " (" + percent(*s, 1) + ")";
    p.details.push_back(std::move(line));
  };
  top("tactics", "Top tactic", {"tactic_id", "name"});
  top("experiments", "Top experiment", {"experiment_id", "name"});
  top("tags", "Top tag", {"tag", "name"});
  for (const auto& insight : string_items(at(reflection, "insights"))) {
    p.details.push_back("Insight: " + insight);
  }
  if (total <= 0) p.details.push_back("No decisions recorded in the reflection window.");
  p.metadata = {{"policy_reflection", reflection}};
  return p;
}

DashboardPanel quality_panel(const json& quality) {
  DashboardPanel p{.name = "Quality & coverage"};
  p.status = mapped(at(quality, "status"));
  const auto as_percent = [&quality](std::string_view percent_key, std::string_view key) {
    if (auto v = number(quality, {percent_key})) return v;
    if (auto v = number(quality, {key})) return std::optional<double>(*v > 1.0 ? *v : *v * 100.0);
    return std::optional<double>();
  };
  const auto coverage = as_percent("coverage_percent", "coverage");
  const auto target = as_percent("target_percent", "target");
  p.headline = "Coverage " + (coverage ? fixed(*coverage, 2) + "%" : std::string("unknown")) +
               " (target " + (target ? fixed(*target, 2) + "%" : std::string("unknown")) + ")";
  p.details = string_items(at(quality, "notes"));
  const json& remediation = at(quality, "remediation");
  if (remediation.is_string() && !remediation.get<std::string>().empty()) {
    p.details.push_back("Remediation: " + remediation.get<std::string>());
  } else if (const auto items = string_items(remediation); !items.empty()) {
    p.details.push_back("Remediation: " + core::join(items, "; "));
  }
  p.metadata = {{"quality", quality}};
  return p;
}

std::array<int, 3> panel_counts(const Dashboard& d) {
  std::array<int, 3> c{};
  for (const auto& p : d.panels) c[core::rank(p.status)] += 1;
  return c;
}

core::Result<Status> status_field(const json& j, std::string_view field_name) {
  const json& v = at(j, field_name);
  if (!v.is_string())
    return core::fail("invalid_dashboard", "must be a status string", std::string(field_name));
  auto s = core::parse_status(v.get<std::string>());
  if (!s) return core::fail("invalid_dashboard", s.error().message, std::string(field_name));
  return *s;
}

}  // namespace

// ---- outputs ------------------------------------------------------------------------------------

nlohmann::json to_json(const DashboardPanel& p) {
  json j = {{"name", p.name}, {"status", core::to_string(p.status)}, {"headline", p.headline}};
  if (!p.details.empty()) j["details"] = p.details;
  if (p.metadata.is_object() && !p.metadata.empty()) j["metadata"] = p.metadata;
  return j;
}

nlohmann::json remediation_summary(const Dashboard& d) {
  json failing = json::array();
  json warning = json::array();
  json healthy = json::array();
  for (const auto& p : d.panels) {
    (p.status == Status::kFail   ? failing
     : p.status == Status::kWarn ? warning
                                 : healthy)
        .push_back(p.name);
  }
  return {{"generated_at", core::format_rfc3339(d.generated_at)},
          {"overall_status", core::to_string(d.status)},
          {"panel_counts", counts_json(panel_counts(d))},
          {"failing_panels", std::move(failing)},
          {"warning_panels", std::move(warning)},
          {"healthy_panels", std::move(healthy)}};
}

nlohmann::json to_json(const Dashboard& d) {
  json panels = json::array();
  for (const auto& p : d.panels) panels.push_back(to_json(p));
  return {{"generated_at", core::format_rfc3339(d.generated_at)},
          {"status", core::to_string(d.status)},
          {"panels", std::move(panels)},
          {"metadata", d.metadata},
          {"remediation_summary", remediation_summary(d)}};
}

std::string to_markdown(const Dashboard& d) {
  std::string out = "# Operational observability dashboard\n";
  out += "- Generated at: " + core::format_rfc3339(d.generated_at) + "\n";
  out += "- Overall status: " + upper(d.status) + "\n\n";
  if (!d.panels.empty()) {
    out += "| Panel | Status | Headline |\n| --- | --- | --- |\n";
    for (const auto& p : d.panels) {
      out += "| " + core::markdown_inline(p.name) + " | " + upper(p.status) + " | " +
             core::markdown_inline(p.headline) + " |\n";
    }
    out += "\n";
  }
  for (const auto& p : d.panels) {
    out += "## " + core::markdown_inline(p.name) + "\n";
    out += "**Status:** " + upper(p.status) + "\n";
    out += core::markdown_inline(p.headline) + "\n";
    bool first = true;
    for (const auto& detail : p.details) {
      if (core::trim(detail).empty()) continue;
      if (first) out += "\n";
      first = false;
      // A detail that is itself a bullet (the compliance SLO overview) nests under the one
      // before it instead of rendering as "- - ".
      const bool nested = detail.starts_with("- ");
      out += (nested ? "  - " : "- ") + core::markdown_inline(nested ? detail.substr(2) : detail) +
             "\n";
    }
    if (p.metadata.is_object() && !p.metadata.empty()) {
      out += "\nMetadata:\n";
      for (const auto& [key, value] : p.metadata.items()) {
        out += "- **" + core::markdown_inline(key) + "**: " +
               core::markdown_inline(value.is_string() ? value.get<std::string>() : value.dump()) +
               "\n";
      }
    }
    out += "\n";
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out + "\n";
}

core::Result<DashboardPanel> panel_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return core::fail("invalid_dashboard", "a panel must be an object");
  DashboardPanel p;
  if (!at(j, "name").is_string())
    return core::fail("invalid_dashboard", "must be a string", "name");
  p.name = j["name"].get<std::string>();
  auto st = status_field(j, "status");
  if (!st) return std::unexpected(st.error());
  p.status = *st;
  if (!at(j, "headline").is_string()) {
    return core::fail("invalid_dashboard", "must be a string", "headline");
  }
  p.headline = j["headline"].get<std::string>();
  const json& details = at(j, "details");
  if (!details.is_null()) {
    if (!details.is_array()) return core::fail("invalid_dashboard", "must be an array", "details");
    for (std::size_t i = 0; i < details.size(); ++i) {
      if (!details[i].is_string()) {
        return core::fail("invalid_dashboard", "must be a string",
                          "details[" + std::to_string(i) + "]");
      }
      p.details.push_back(details[i].get<std::string>());
    }
  }
  const json& metadata = at(j, "metadata");
  if (!metadata.is_null()) {
    if (!metadata.is_object())
      return core::fail("invalid_dashboard", "must be an object", "metadata");
    p.metadata = metadata;
  }
  return p;
}

core::Result<Dashboard> dashboard_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return core::fail("invalid_dashboard", "the dashboard must be a JSON object");
  Dashboard d;
  if (!at(j, "generated_at").is_string()) {
    return core::fail("invalid_dashboard", "must be an RFC 3339 time", "generated_at");
  }
  auto t = core::parse_rfc3339(j["generated_at"].get<std::string>());
  if (!t) return core::fail("invalid_dashboard", t.error().message, "generated_at");
  d.generated_at = *t;
  auto st = status_field(j, "status");
  if (!st) return std::unexpected(st.error());
  d.status = *st;
  const json& panels = at(j, "panels");
  if (!panels.is_array()) return core::fail("invalid_dashboard", "must be an array", "panels");
  for (std::size_t i = 0; i < panels.size(); ++i) {
    auto p = panel_from_json(panels[i]);
    if (!p) {
      core::Error e = p.error();
      e.field = "panels[" + std::to_string(i) + "]" + (e.field.empty() ? "" : "." + e.field);
      return std::unexpected(std::move(e));
    }
    d.panels.push_back(std::move(*p));
  }
  const json& metadata = at(j, "metadata");
  if (metadata.is_object()) d.metadata = metadata;
  return d;
}

core::Result<DashboardInputs> dashboard_inputs_from_json(const nlohmann::json& j) {
  if (!j.is_object())
    return core::fail("invalid_dashboard_inputs", "the inputs must be a JSON object");
  DashboardInputs in;
  const std::pair<std::string_view, std::optional<json> DashboardInputs::*> kDocuments[] = {
      {"roi_snapshot", &DashboardInputs::roi_snapshot},
      {"risk_results", &DashboardInputs::risk_results},
      {"risk_limits", &DashboardInputs::risk_limits},
      {"loop_results", &DashboardInputs::loop_results},
      {"compliance_events", &DashboardInputs::compliance_events},
      {"compliance_slo_snapshot", &DashboardInputs::compliance_slo_snapshot},
      {"evolution_kpis", &DashboardInputs::evolution_kpis},
      {"operator_leverage_snapshot", &DashboardInputs::operator_leverage_snapshot},
      {"event_bus_snapshot", &DashboardInputs::event_bus_snapshot},
      {"monitoring_snapshot", &DashboardInputs::monitoring_snapshot},
      {"slo_snapshot", &DashboardInputs::slo_snapshot},
      {"backbone_snapshot", &DashboardInputs::backbone_snapshot},
      {"operational_readiness_snapshot", &DashboardInputs::operational_readiness_snapshot},
      {"policy_graduation_assessments", &DashboardInputs::policy_graduation_assessments},
      {"quality_snapshot", &DashboardInputs::quality_snapshot},
      {"policy_reflection", &DashboardInputs::policy_reflection},
      {"understanding_snapshot", &DashboardInputs::understanding_snapshot},
      {"gate_dashboard", &DashboardInputs::gate_dashboard},
  };
  for (const auto& [key, value] : j.items()) {
    if (value.is_null()) continue;
    const auto doc = std::find_if(std::begin(kDocuments), std::end(kDocuments),
                                  [&key](const auto& d) { return d.first == key; });
    if (doc != std::end(kDocuments)) {
      in.*(doc->second) = value;
    } else if (key == "generated_at") {
      auto t = value.is_string() ? core::parse_rfc3339(value.get<std::string>())
                                 : core::fail("invalid_time", "must be an RFC 3339 string");
      if (!t) return core::fail("invalid_dashboard_inputs", t.error().message, key);
      in.generated_at = *t;
    } else if (key == "metadata") {
      if (!value.is_object())
        return core::fail("invalid_dashboard_inputs", "must be an object", key);
      in.metadata = value;
    } else if (key == "additional_panels") {
      if (!value.is_array()) return core::fail("invalid_dashboard_inputs", "must be an array", key);
      for (std::size_t i = 0; i < value.size(); ++i) {
        auto p = panel_from_json(value[i]);
        if (!p) {
          return core::fail("invalid_dashboard_inputs", p.error().describe(),
                            key + "[" + std::to_string(i) + "]");
        }
        in.additional_panels.push_back(std::move(*p));
      }
    } else {
      return core::fail("invalid_dashboard_inputs", "unknown dashboard input", key);
    }
  }
  return in;
}

Dashboard build_dashboard(const DashboardInputs& in) {
  Dashboard d;
  d.generated_at = in.generated_at.value_or(
      std::chrono::time_point_cast<core::Duration>(std::chrono::system_clock::now()));
  d.panels = in.additional_panels;
  if (in.roi_snapshot) d.panels.push_back(roi_panel(*in.roi_snapshot));
  if (in.risk_results && in.risk_results->is_object() && !in.risk_results->empty()) {
    d.panels.push_back(risk_panel(*in.risk_results, in.risk_limits.value_or(json::object())));
  }
  if (in.gate_dashboard) d.panels.push_back(gate_panel(*in.gate_dashboard));
  std::vector<json> events;
  if (in.loop_results && in.loop_results->is_array()) {
    for (const json& r : *in.loop_results) {
      const json& e = at(r, "compliance_events");
      if (e.is_array()) events.insert(events.end(), e.begin(), e.end());
    }
  }
  if (in.compliance_events && in.compliance_events->is_array()) {
    events.insert(events.end(), in.compliance_events->begin(), in.compliance_events->end());
  }
  d.panels.push_back(compliance_panel(events, in.compliance_slo_snapshot));
  d.panels.push_back(
      kpi_panel("Evolution KPIs", in.evolution_kpis, "evolution_kpis", "evolution KPI"));
  d.panels.push_back(kpi_panel("Operator leverage", in.operator_leverage_snapshot,
                               "operator_leverage", "operator leverage"));
  if (in.event_bus_snapshot || in.slo_snapshot || in.monitoring_snapshot) {
    d.panels.push_back(latency_panel(in));
  }
  if (in.backbone_snapshot) d.panels.push_back(backbone_panel(*in.backbone_snapshot));
  if (in.operational_readiness_snapshot) {
    d.panels.push_back(readiness_panel(*in.operational_readiness_snapshot));
  }
  if (in.policy_graduation_assessments) {
    d.panels.push_back(graduation_panel(*in.policy_graduation_assessments));
  }
  d.panels.push_back(diary_panel(in.loop_results));
  d.panels.push_back(understanding_panel(in.understanding_snapshot));
  if (in.policy_reflection) d.panels.push_back(reflection_panel(*in.policy_reflection));
  if (in.quality_snapshot) d.panels.push_back(quality_panel(*in.quality_snapshot));

  json statuses = json::object();
  for (const auto& p : d.panels) {
    d.status = core::escalate(d.status, p.status);
    statuses[p.name] = core::to_string(p.status);
  }
  d.metadata = in.metadata.is_object() ? in.metadata : json::object();
  if (!d.metadata.contains("panel_status_counts")) {
    d.metadata["panel_status_counts"] = counts_json(panel_counts(d));
  }
  if (!d.metadata.contains("panel_statuses")) d.metadata["panel_statuses"] = std::move(statuses);
  return d;
}

DashboardInputs dashboard_inputs(const readiness::ReadinessSnapshot& snapshot,
                                 const FeedPayloads& feeds) {
  DashboardInputs in;
  in.generated_at = snapshot.generated_at;
  const auto newest = [&feeds](std::string_view topic) -> std::optional<json> {
    const auto it = feeds.find(topic);
    if (it == feeds.end() || it->second.empty()) return std::nullopt;
    return it->second.back();
  };
  const auto all = [&feeds](std::string_view topic) -> const std::vector<json>* {
    const auto it = feeds.find(topic);
    return it == feeds.end() ? nullptr : &it->second;
  };
  in.roi_snapshot = newest(kRoiFeed);
  if (auto risk = newest(kRiskFeed)) {
    if (at(*risk, "results").is_object()) in.risk_results = (*risk)["results"];
    if (at(*risk, "limits").is_object()) in.risk_limits = (*risk)["limits"];
  }
  if (const auto* loops = all(kLoopFeed)) in.loop_results = json(*loops);
  if (const auto* compliance = all(kComplianceFeed)) {
    json events = json::array();
    for (const json& payload : *compliance) {
      if (at(payload, "events").is_array()) {
        for (const json& e : payload["events"]) events.push_back(e);
      } else {
        events.push_back(payload);
      }
    }
    in.compliance_events = std::move(events);
  }
  in.compliance_slo_snapshot = newest(kComplianceSloFeed);
  in.evolution_kpis = newest(kEvolutionFeed);
  in.operator_leverage_snapshot = newest(kOperatorLeverageFeed);
  in.monitoring_snapshot = newest(kMonitoringFeed);
  in.backbone_snapshot = newest(kBackboneFeed);
  in.policy_graduation_assessments = newest(kPolicyGraduationFeed);
  in.policy_reflection = newest(kPolicyReflectionFeed);
  in.quality_snapshot = newest(kQualityFeed);
  in.gate_dashboard = newest(kGateMetricsFeed);
  for (const auto& c : snapshot.components) {
    if (c.component == "event_bus") in.event_bus_snapshot = core::to_json(c);
    if (c.component == "ingest_slos") in.slo_snapshot = core::to_json(c);
    if (c.component == "understanding_loop") in.understanding_snapshot = core::to_json(c);
  }
  in.operational_readiness_snapshot = readiness::to_json(snapshot);
  return in;
}

}  // namespace opsready::server
