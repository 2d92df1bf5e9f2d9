#include "opsready/components/incident_response.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "opsready/components/document_fields.h"
#include "opsready/core/text.h"
#include "opsready/core/time.h"

namespace opsready::components {
namespace {

using nlohmann::json;

constexpr std::string_view kCodePrefix = "incident_response";

// The evaluation's issue categories (§4.3), in rule order, and their issue codes (= alert
// categories of the spec's default alert policy, §0.4).
constexpr std::array<std::pair<std::string_view, std::string_view>, 12> kCategoryCodes = {{
    {"missing_runbooks", "incident_response.missing_runbooks"},
    {"training", "incident_response.training"},
    {"drill", "incident_response.drill"},
    {"primary_roster", "incident_response.roster.primary"},
    {"secondary_roster", "incident_response.roster.secondary"},
    {"open_incidents", "incident_response.open_incidents"},
    {"postmortem_backlog", "incident_response.postmortem_backlog"},
    {"chatops", "incident_response.chatops"},
    {"major_incident_review", "incident_response.issue:major_incident_review"},
    {"metrics_mtta", "incident_response.mtta"},
    {"metrics_mttr", "incident_response.mttr"},
    {"metrics_staleness", "incident_response.metrics_staleness"},
}};

// An issue category the catalog does not know (an evaluated snapshot of a newer producer) is
// routed as the spec's generic `incident_response.issue`, qualified by its category.
std::string code_for(std::string_view category) {
  for (const auto& [c, code] : kCategoryCodes) {
    if (c == category) return std::string(code);
  }
  return std::string(kCodePrefix) + ".issue:" + slug(category);
}

bool is_metric_category(std::string_view c) {
  return c == "metrics_mtta" || c == "metrics_mttr" || c == "metrics_staleness";
}

// ---- Policy, state, metrics ----------------------------------------------------------------

struct Policy {
  std::vector<std::string> required_runbooks;
  std::int64_t training_interval_days = 90;
  std::int64_t drill_interval_days = 60;
  std::int64_t minimum_primary_responders = 1;
  std::int64_t minimum_secondary_responders = 1;
  double postmortem_sla_hours = 24.0;
  std::int64_t maximum_open_incidents = 1;
  bool require_chatops = true;
  std::optional<double> mtta_warn_minutes;
  std::optional<double> mtta_fail_minutes;
  std::optional<double> mttr_warn_minutes;
  std::optional<double> mttr_fail_minutes;
  std::optional<double> metrics_stale_warn_hours;
  std::optional<double> metrics_stale_fail_hours;
  bool require_major_incident_history = false;
  std::int64_t major_incident_review_interval_days = 180;
  double major_incident_fail_multiplier = 2.0;
};

struct Metrics {
  std::optional<double> mtta_minutes;
  std::optional<double> mttr_minutes;
  std::optional<std::int64_t> acknowledged_incidents;
  std::optional<std::int64_t> resolved_incidents;
  std::optional<double> sample_window_days;
  std::optional<double> data_age_hours;

  // §4.2: at least one of mtta, mttr, acknowledged or resolved is known and non-zero.
  [[nodiscard]] bool has_signal() const {
    return (mtta_minutes && *mtta_minutes != 0) || (mttr_minutes && *mttr_minutes != 0) ||
           (acknowledged_incidents && *acknowledged_incidents != 0) ||
           (resolved_incidents && *resolved_incidents != 0);
  }
};

struct State {
  std::vector<std::string> available_runbooks;
  std::optional<double> training_age_days;
  std::optional<double> drill_age_days;
  std::vector<std::string> primary_oncall;
  std::vector<std::string> secondary_oncall;
  std::vector<std::string> open_incidents;
  std::optional<double> postmortem_backlog_hours;
  bool chatops_ready = false;
  std::optional<double> last_major_incident_age_days;
  Metrics metrics;
};

using fields::append_keys;
using fields::Field;
using fields::Member;
using fields::read_field;
using fields::read_fields;
using fields::to_int;

const std::array<Field<Policy>, 17> kPolicyFields = {{
    {"INCIDENT_REQUIRED_RUNBOOKS", "required_runbooks", &Policy::required_runbooks},
    {"INCIDENT_TRAINING_INTERVAL_DAYS", "training_interval_days", &Policy::training_interval_days},
    {"INCIDENT_DRILL_INTERVAL_DAYS", "drill_interval_days", &Policy::drill_interval_days},
    {"INCIDENT_MIN_PRIMARY_RESPONDERS", "minimum_primary_responders",
     &Policy::minimum_primary_responders},
    {"INCIDENT_MIN_SECONDARY_RESPONDERS", "minimum_secondary_responders",
     &Policy::minimum_secondary_responders},
    {"INCIDENT_POSTMORTEM_SLA_HOURS", "postmortem_sla_hours", &Policy::postmortem_sla_hours},
    {"INCIDENT_MAX_OPEN_INCIDENTS", "maximum_open_incidents", &Policy::maximum_open_incidents},
    {"INCIDENT_REQUIRE_CHATOPS", "require_chatops", &Policy::require_chatops},
    {"INCIDENT_MTTA_WARN_MINUTES", "mtta_warn_minutes", &Policy::mtta_warn_minutes},
    {"INCIDENT_MTTA_FAIL_MINUTES", "mtta_fail_minutes", &Policy::mtta_fail_minutes},
    {"INCIDENT_MTTR_WARN_MINUTES", "mttr_warn_minutes", &Policy::mttr_warn_minutes},
    {"INCIDENT_MTTR_FAIL_MINUTES", "mttr_fail_minutes", &Policy::mttr_fail_minutes},
    {"INCIDENT_METRICS_STALE_WARN_HOURS", "metrics_stale_warn_hours",
     &Policy::metrics_stale_warn_hours},
    {"INCIDENT_METRICS_STALE_FAIL_HOURS", "metrics_stale_fail_hours",
     &Policy::metrics_stale_fail_hours},
    {"INCIDENT_REQUIRE_MAJOR_HISTORY", "require_major_incident_history",
     &Policy::require_major_incident_history},
    {"INCIDENT_MAJOR_REVIEW_INTERVAL_DAYS", "major_incident_review_interval_days",
     &Policy::major_incident_review_interval_days},
    {"INCIDENT_MAJOR_REVIEW_FAIL_MULTIPLIER", "major_incident_fail_multiplier",
     &Policy::major_incident_fail_multiplier},
}};

const std::array<Field<State>, 9> kStateFields = {{
    {"INCIDENT_AVAILABLE_RUNBOOKS", "available_runbooks", &State::available_runbooks},
    {"INCIDENT_TRAINING_AGE_DAYS", "training_age_days", &State::training_age_days},
    {"INCIDENT_DRILL_AGE_DAYS", "drill_age_days", &State::drill_age_days},
    {"INCIDENT_PRIMARY_RESPONDERS", "primary_oncall", &State::primary_oncall},
    {"INCIDENT_SECONDARY_RESPONDERS", "secondary_oncall", &State::secondary_oncall},
    {"INCIDENT_OPEN_INCIDENTS", "open_incidents", &State::open_incidents},
    {"INCIDENT_POSTMORTEM_BACKLOG_HOURS", "postmortem_backlog_hours",
     &State::postmortem_backlog_hours},
    {"INCIDENT_CHATOPS_READY", "chatops_ready", &State::chatops_ready},
    {"INCIDENT_LAST_MAJOR_AGE_DAYS", "last_major_incident_age_days",
     &State::last_major_incident_age_days},
}};

const std::array<Field<Metrics>, 6> kMetricsFields = {{
    {"INCIDENT_METRICS_MTTA_MINUTES", "mtta_minutes", &Metrics::mtta_minutes},
    {"INCIDENT_METRICS_MTTR_MINUTES", "mttr_minutes", &Metrics::mttr_minutes},
    {"INCIDENT_METRICS_ACKNOWLEDGED", "acknowledged_incidents", &Metrics::acknowledged_incidents},
    {"INCIDENT_METRICS_RESOLVED", "resolved_incidents", &Metrics::resolved_incidents},
    {"INCIDENT_METRICS_SAMPLE_WINDOW_DAYS", "sample_window_days", &Metrics::sample_window_days},
    {"INCIDENT_METRICS_DATA_AGE_HOURS", "data_age_hours", &Metrics::data_age_hours},
}};

constexpr std::string_view kServiceKey = "INCIDENT_SERVICE_NAME";

// The spec's clamps of from_mapping (§4.1), applied to every policy whatever its source.
void normalize(Policy& p) {
  p.training_interval_days = std::max<std::int64_t>(p.training_interval_days, 0);
  p.drill_interval_days = std::max<std::int64_t>(p.drill_interval_days, 0);
  p.minimum_primary_responders = std::max<std::int64_t>(p.minimum_primary_responders, 0);
  p.minimum_secondary_responders = std::max<std::int64_t>(p.minimum_secondary_responders, 0);
  p.maximum_open_incidents = std::max<std::int64_t>(p.maximum_open_incidents, 0);
  p.major_incident_review_interval_days =
      std::max<std::int64_t>(p.major_incident_review_interval_days, 0);
  p.postmortem_sla_hours = std::max(p.postmortem_sla_hours, 0.0);
  p.major_incident_fail_multiplier = std::max(p.major_incident_fail_multiplier, 1.0);
  for (auto* t : {&p.mtta_warn_minutes, &p.mtta_fail_minutes, &p.mttr_warn_minutes,
                  &p.mttr_fail_minutes, &p.metrics_stale_warn_hours, &p.metrics_stale_fail_hours}) {
    if (*t && !(**t > 0)) t->reset();
  }
}

void normalize(Metrics& m) {
  if (m.acknowledged_incidents == 0) m.acknowledged_incidents.reset();
  if (m.resolved_incidents == 0) m.resolved_incidents.reset();
}

std::optional<double> positive(double v) { return v > 0 ? std::optional<double>(v) : std::nullopt; }

Policy policy_from(const IncidentResponseConfig& c) {
  Policy p{.required_runbooks = c.required_runbooks,
           .training_interval_days = c.training_interval_days,
           .drill_interval_days = c.drill_interval_days,
           .minimum_primary_responders = c.minimum_primary_responders,
           .minimum_secondary_responders = c.minimum_secondary_responders,
           .postmortem_sla_hours = c.postmortem_sla_hours,
           .maximum_open_incidents = c.maximum_open_incidents,
           .require_chatops = c.require_chatops,
           .mtta_warn_minutes = positive(c.mtta_warn_minutes),
           .mtta_fail_minutes = positive(c.mtta_fail_minutes),
           .mttr_warn_minutes = positive(c.mttr_warn_minutes),
           .mttr_fail_minutes = positive(c.mttr_fail_minutes),
           .metrics_stale_warn_hours = positive(c.metrics_stale_warn_hours),
           .metrics_stale_fail_hours = positive(c.metrics_stale_fail_hours),
           .require_major_incident_history = c.require_major_incident_history,
           .major_incident_review_interval_days = c.major_incident_review_interval_days,
           .major_incident_fail_multiplier = c.major_incident_fail_multiplier};
  normalize(p);
  return p;
}

Metrics metrics_from(const IncidentMetrics& m) {
  const auto count = [](const std::optional<std::uint64_t>& v) -> std::optional<std::int64_t> {
    if (!v) return std::nullopt;
    return static_cast<std::int64_t>(std::min<std::uint64_t>(*v, 1'000'000'000'000'000ULL));
  };
  Metrics out{.mtta_minutes = m.mtta_minutes,
              .mttr_minutes = m.mttr_minutes,
              .acknowledged_incidents = count(m.acknowledged),
              .resolved_incidents = count(m.resolved),
              .sample_window_days = m.sample_window_days,
              .data_age_hours = m.data_age_hours};
  normalize(out);
  return out;
}

json opt(const std::optional<double>& v) { return v ? json(*v) : json(); }
json opt(const std::optional<std::int64_t>& v) { return v ? json(*v) : json(); }

json to_json(const Metrics& m) {
  return {{"mtta_minutes", opt(m.mtta_minutes)},
          {"mttr_minutes", opt(m.mttr_minutes)},
          {"acknowledged_incidents", opt(m.acknowledged_incidents)},
          {"resolved_incidents", opt(m.resolved_incidents)},
          {"sample_window_days", opt(m.sample_window_days)},
          {"data_age_hours", opt(m.data_age_hours)}};
}

json to_json(const Policy& p) {
  return {{"required_runbooks", p.required_runbooks},
          {"training_interval_days", p.training_interval_days},
          {"drill_interval_days", p.drill_interval_days},
          {"minimum_primary_responders", p.minimum_primary_responders},
          {"minimum_secondary_responders", p.minimum_secondary_responders},
          {"postmortem_sla_hours", p.postmortem_sla_hours},
          {"maximum_open_incidents", p.maximum_open_incidents},
          {"require_chatops", p.require_chatops},
          {"mtta_warn_minutes", opt(p.mtta_warn_minutes)},
          {"mtta_fail_minutes", opt(p.mtta_fail_minutes)},
          {"mttr_warn_minutes", opt(p.mttr_warn_minutes)},
          {"mttr_fail_minutes", opt(p.mttr_fail_minutes)},
          {"metrics_stale_warn_hours", opt(p.metrics_stale_warn_hours)},
          {"metrics_stale_fail_hours", opt(p.metrics_stale_fail_hours)},
          {"require_major_incident_history", p.require_major_incident_history},
          {"major_incident_review_interval_days", p.major_incident_review_interval_days},
          {"major_incident_fail_multiplier", p.major_incident_fail_multiplier}};
}

// Adds a finding; a code that carries a ':' qualifier is made unique here (Findings does it
// for plain codes).
void add_finding(Findings& f, std::string category, core::Status severity, std::string message,
                 json detail = nullptr) {
  std::string code = code_for(category);
  if (code.find(':') != std::string::npos) {
    int repeats = 0;
    for (const Finding& g : f.all()) {
      if (g.code == code || g.code.starts_with(code + ":")) ++repeats;
    }
    if (repeats > 0) code += ":" + std::to_string(repeats + 1);
  }
  f.add(std::move(category), severity, std::move(message), std::move(code), std::move(detail));
}

// ---- Reading the input forms ---------------------------------------------------------------

struct Input {
  Policy policy;
  State state;
  std::string service;
  json context;                             // the caller's metadata; null: none
  std::vector<std::string> ignored_policy;  // policy keys document_policy kept out
  std::string source;                       // "env_mapping" / "structured"
};

core::Result<json> read_context(const Doc& root) {
  auto meta = root.object("metadata");
  if (!meta) return std::unexpected(meta.error());
  if (!*meta || (*meta)->json().empty()) return json();
  return (*meta)->json();
}

// Reads the policy keys of `doc` over the config's policy: applied when document_policy allows,
// else only checked and listed.
template <std::size_t N>
core::Result<void> read_policy(const Doc& doc, const std::array<Field<Policy>, N>& fields, bool env,
                               const IncidentResponseConfig& config, Input& in) {
  Policy read = in.policy;
  std::vector<std::string> present;
  if (auto ok = read_fields(doc, fields, env, read, &present); !ok) return ok;
  if (config.document_policy) {
    normalize(read);
    in.policy = std::move(read);
  } else {
    in.ignored_policy.insert(in.ignored_policy.end(), present.begin(), present.end());
  }
  return {};
}

core::Result<Input> read_env(const Doc& root, const IncidentResponseConfig& config) {
  std::vector<std::string_view> known = {kServiceKey, "metadata"};
  append_keys(known, kPolicyFields, true);
  append_keys(known, kStateFields, true);
  append_keys(known, kMetricsFields, true);
  if (auto ok = root.only(known); !ok) return std::unexpected(ok.error());
  Input in{.policy = policy_from(config), .service = config.service, .source = "env_mapping"};
  if (auto ok = read_policy(root, kPolicyFields, true, config, in); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = read_fields(root, kStateFields, true, in.state); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = read_fields(root, kMetricsFields, true, in.state.metrics); !ok) {
    return std::unexpected(ok.error());
  }
  auto service = root.string(kServiceKey);
  if (!service) return std::unexpected(service.error());
  if (*service && !core::trim(**service).empty()) in.service = std::string(core::trim(**service));
  auto context = read_context(root);
  if (!context) return std::unexpected(context.error());
  in.context = std::move(*context);
  return in;
}

core::Result<Input> read_structured(const Doc& root, const IncidentResponseConfig& config) {
  if (auto ok = root.only({"service", "policy", "state", "metadata"}); !ok) {
    return std::unexpected(ok.error());
  }
  Input in{.policy = policy_from(config), .service = config.service, .source = "structured"};
  auto policy = root.object("policy");
  if (!policy) return std::unexpected(policy.error());
  if (*policy) {
    std::vector<std::string_view> known;
    append_keys(known, kPolicyFields, false);
    if (auto ok = (*policy)->only(known); !ok) return std::unexpected(ok.error());
    if (auto ok = read_policy(**policy, kPolicyFields, false, config, in); !ok) {
      return std::unexpected(ok.error());
    }
  }
  auto state = root.object("state");
  if (!state) return std::unexpected(state.error());
  if (!*state) return std::unexpected(root.error("state", "required field is missing"));
  {
    std::vector<std::string_view> known = {"metrics"};
    append_keys(known, kStateFields, false);
    if (auto ok = (*state)->only(known); !ok) return std::unexpected(ok.error());
    if (auto ok = read_fields(**state, kStateFields, false, in.state); !ok) {
      return std::unexpected(ok.error());
    }
    auto metrics = (*state)->object("metrics");
    if (!metrics) return std::unexpected(metrics.error());
    if (*metrics) {
      std::vector<std::string_view> mk;
      append_keys(mk, kMetricsFields, false);
      if (auto ok = (*metrics)->only(mk); !ok) return std::unexpected(ok.error());
      if (auto ok = read_fields(**metrics, kMetricsFields, false, in.state.metrics); !ok) {
        return std::unexpected(ok.error());
      }
    }
  }
  auto service = root.string("service");
  if (!service) return std::unexpected(service.error());
  if (*service && !core::trim(**service).empty()) in.service = std::string(core::trim(**service));
  auto context = read_context(root);
  if (!context) return std::unexpected(context.error());
  in.context = std::move(*context);
  return in;
}

// ---- The evaluation (§4.3) ------------------------------------------------------------------

// Rules 10 and 11: ≥ fail → fail, else ≥ warn → warn.
void metric_rules(const Policy& p, const Metrics& m, Findings& f) {
  const auto minutes = [&f](std::string category, std::string_view label,
                            const std::optional<double>& value, const std::optional<double>& warn,
                            const std::optional<double>& fail) {
    if (!value) return;
    core::Status severity = core::Status::kOk;
    double threshold = 0;
    if (fail && *value >= *fail) {
      severity = core::Status::kFail;
      threshold = *fail;
    } else if (warn && *value >= *warn) {
      severity = core::Status::kWarn;
      threshold = *warn;
    } else {
      return;
    }
    const char* verb = severity == core::Status::kFail ? "exceeds" : "approaches";
    add_finding(
        f, std::move(category), severity,
        std::string(label) + " " + fixed(*value, 1) + " minutes " + verb + " threshold " +
            fixed(threshold, 1) + " minutes",
        {{"value_minutes", *value}, {"warn_minutes", opt(warn)}, {"fail_minutes", opt(fail)}});
  };
  minutes("metrics_mtta", "MTTA", m.mtta_minutes, p.mtta_warn_minutes, p.mtta_fail_minutes);
  minutes("metrics_mttr", "MTTR", m.mttr_minutes, p.mttr_warn_minutes, p.mttr_fail_minutes);
  if (m.data_age_hours) {
    const double age = *m.data_age_hours;
    const auto& warn = p.metrics_stale_warn_hours;
    const auto& fail = p.metrics_stale_fail_hours;
    core::Status severity = core::Status::kOk;
    double threshold = 0;
    if (fail && age >= *fail) {
      severity = core::Status::kFail;
      threshold = *fail;
    } else if (warn && age >= *warn) {
      severity = core::Status::kWarn;
      threshold = *warn;
    }
    if (severity != core::Status::kOk) {
      const char* verb = severity == core::Status::kFail ? "exceeds" : "approaches";
      add_finding(f, "metrics_staleness", severity,
                  "Incident metrics age " + fixed(age, 1) + " hours " + verb + " threshold " +
                      fixed(threshold, 1) + " hours",
                  {{"age_hours", age}, {"warn_hours", opt(warn)}, {"fail_hours", opt(fail)}});
    }
  }
}

void cadence_rule(Findings& f, std::string category, const std::optional<double>& age,
                  std::int64_t interval, const char* none, const char* lapsed,
                  const char* overdue) {
  if (!age) {
    add_finding(f, std::move(category), core::Status::kWarn, none);
  } else if (*age > static_cast<double>(interval) * 2) {
    add_finding(f, std::move(category), core::Status::kFail, lapsed);
  } else if (*age > static_cast<double>(interval)) {
    add_finding(f, std::move(category), core::Status::kWarn, overdue);
  }
}

std::vector<std::string> missing_runbooks(const Policy& p, const State& s) {
  std::set<std::string> available;
  for (const auto& r : s.available_runbooks) available.insert(core::to_lower(r));
  std::vector<std::string> missing;
  for (const auto& r : p.required_runbooks) {
    if (!available.contains(core::to_lower(r))) missing.push_back(r);
  }
  std::sort(missing.begin(), missing.end());
  return missing;
}

// Rules 1–9 (rules 10–11 are metric_rules).
void cadence_and_roster_rules(const Policy& p, const State& s,
                              const std::vector<std::string>& missing, Findings& f) {
  if (!missing.empty()) {
    add_finding(f, "missing_runbooks", core::Status::kFail,
                "Missing required runbooks: " + core::join(missing, ", "));
  }
  cadence_rule(f, "training", s.training_age_days, p.training_interval_days,
               "No incident response training recorded",
               "Incident response training overdue by more than 2x the interval",
               "Incident response training overdue");
  cadence_rule(f, "drill", s.drill_age_days, p.drill_interval_days,
               "No incident response drill recorded",
               "Incident drill cadence has lapsed significantly", "Incident drill overdue");
  if (static_cast<std::int64_t>(s.primary_oncall.size()) < p.minimum_primary_responders) {
    add_finding(f, "primary_roster", core::Status::kFail,
                "Primary on-call roster below minimum required responders");
  }
  if (static_cast<std::int64_t>(s.secondary_oncall.size()) < p.minimum_secondary_responders) {
    add_finding(f, "secondary_roster", core::Status::kWarn,
                "Secondary on-call roster below recommended responders");
  }
  const auto open = static_cast<std::int64_t>(s.open_incidents.size());
  if (open > p.maximum_open_incidents) {
    add_finding(f, "open_incidents", core::Status::kFail,
                std::to_string(open) + " open incidents exceeds threshold of " +
                    std::to_string(p.maximum_open_incidents));
  } else if (open > 0 && open == p.maximum_open_incidents) {
    add_finding(f, "open_incidents", core::Status::kWarn,
                "Incident volume approaching the configured threshold");
  }
  if (s.postmortem_backlog_hours && *s.postmortem_backlog_hours > p.postmortem_sla_hours) {
    add_finding(f, "postmortem_backlog",
                *s.postmortem_backlog_hours > p.postmortem_sla_hours * 2 ? core::Status::kFail
                                                                         : core::Status::kWarn,
                "Postmortem backlog exceeds the configured SLA");
  }
  if (p.require_chatops && !s.chatops_ready) {
    add_finding(f, "chatops", core::Status::kWarn, "ChatOps automations disabled or unavailable");
  }
  if (p.require_major_incident_history) {
    const auto interval = static_cast<double>(p.major_incident_review_interval_days);
    const double multiplier = p.major_incident_fail_multiplier;
    json detail = {{"age_days", opt(s.last_major_incident_age_days)},
                   {"interval_days", p.major_incident_review_interval_days},
                   {"fail_multiplier", multiplier}};
    std::optional<double> fail_threshold;
    if (interval > 0) {
      fail_threshold = interval * multiplier;
      detail["fail_threshold_days"] = *fail_threshold;
    }
    const auto& age = s.last_major_incident_age_days;
    if (!age) {
      add_finding(f, "major_incident_review", core::Status::kWarn,
                  "No major incident review recorded", std::move(detail));
    } else if (fail_threshold && *age >= *fail_threshold) {
      add_finding(f, "major_incident_review", core::Status::kFail,
                  "Major incident review overdue – " + fixed(*age, 1) +
                      " days exceeds fail threshold " + fixed(*fail_threshold, 1),
                  std::move(detail));
    } else if (interval > 0 && *age > interval) {
      add_finding(f, "major_incident_review", core::Status::kWarn,
                  "Major incident review aging – " + fixed(*age, 1) + " days exceeds interval " +
                      fixed(interval, 1),
                  std::move(detail));
    }
  }
}

// ---- Chaos events (spec alerts-bus-dashboard-drills-ci §5.3) ----------------------------------

// Removes the names of `names` (case-insensitive) from `from`, or all of it when `names` is
// empty; the removed ones in their order.
std::vector<std::string> remove_named(std::vector<std::string>& from,
                                      const std::vector<std::string>& names) {
  std::vector<std::string> removed;
  if (names.empty()) {
    removed.swap(from);
    return removed;
  }
  std::set<std::string> wanted;
  for (const auto& n : names) wanted.insert(core::to_lower(core::trim(n)));
  std::erase_if(from, [&](const std::string& x) {
    if (!wanted.contains(core::to_lower(x))) return false;
    removed.push_back(x);
    return true;
  });
  return removed;
}

// Applies `e` to the state (and to the incident log's metrics when they are in force); its
// impact, with the spec's keys.
json apply_chaos_event(const ChaosEvent& e, const Policy& p, State& s,
                       std::optional<Metrics>& log_metrics) {
  json impact = json::object();
  switch (e.type) {
    case ChaosEventType::kPrimaryResponderOutage:
      impact["removed_primary"] = remove_named(s.primary_oncall, e.responders);
      impact["remaining_primary"] = s.primary_oncall;
      break;
    case ChaosEventType::kSecondaryResponderOverload:
      impact["removed_secondary"] = remove_named(s.secondary_oncall, e.responders);
      impact["remaining_secondary"] = s.secondary_oncall;
      break;
    case ChaosEventType::kRunbookCorruption: {
      std::vector<std::string> names = e.runbooks;
      if (names.empty()) {
        std::set<std::string> available;
        for (const auto& r : s.available_runbooks) available.insert(core::to_lower(r));
        for (const auto& r : p.required_runbooks) {
          if (available.contains(core::to_lower(r))) names.push_back(r);
        }
        if (names.empty() && !s.available_runbooks.empty()) {
          names.push_back(s.available_runbooks.front());
        }
      }
      impact["removed_runbooks"] =
          names.empty() ? std::vector<std::string>{} : remove_named(s.available_runbooks, names);
      impact["remaining_runbooks"] = s.available_runbooks;
      break;
    }
    case ChaosEventType::kChatopsFailure:
      s.chatops_ready = false;
      impact["chatops_ready"] = false;
      break;
    case ChaosEventType::kMetricsStale: {
      Metrics& m = log_metrics ? *log_metrics : s.metrics;
      const double age =
          e.data_age_hours.value_or(p.metrics_stale_fail_hours && *p.metrics_stale_fail_hours > 0
                                        ? *p.metrics_stale_fail_hours
                                    : p.metrics_stale_warn_hours && *p.metrics_stale_warn_hours > 0
                                        ? *p.metrics_stale_warn_hours
                                        : 48.0);
      m.data_age_hours = age;
      impact["data_age_hours"] = age;
      if (e.mtta_minutes) {
        m.mtta_minutes = *e.mtta_minutes;
        impact["mtta_minutes"] = *e.mtta_minutes;
      }
      if (e.mttr_minutes) {
        m.mttr_minutes = *e.mttr_minutes;
        impact["mttr_minutes"] = *e.mttr_minutes;
      }
      break;
    }
    case ChaosEventType::kIncidentSurge: {
      const std::string prefix = e.prefix.empty() ? "incident_surge" : e.prefix;
      json added = json::array();
      const std::size_t first = s.open_incidents.size() + 1;
      for (std::uint32_t i = 0; i < e.count.value_or(1); ++i) {
        char id[16];
        std::snprintf(id, sizeof id, "%03zu", first + i);
        s.open_incidents.push_back(prefix + "-" + id);
        added.push_back(s.open_incidents.back());
      }
      impact["added_incidents"] = std::move(added);
      break;
    }
    case ChaosEventType::kPostmortemBacklog: {
      const double hours = e.hours.value_or(std::max(4.0 * p.postmortem_sla_hours, 24.0));
      s.postmortem_backlog_hours = hours;
      impact["postmortem_backlog_hours"] = hours;
      break;
    }
    case ChaosEventType::kTrainingLapse: {
      // Exactly twice the interval: the rules' strict `>` grades it warn, not fail (§5.3).
      const double training =
          e.training_age_days.value_or(2.0 * static_cast<double>(p.training_interval_days));
      const double drill =
          e.drill_age_days.value_or(2.0 * static_cast<double>(p.drill_interval_days));
      s.training_age_days = training;
      s.drill_age_days = drill;
      impact["training_age_days"] = training;
      impact["drill_age_days"] = drill;
      break;
    }
  }
  return impact;
}

// The events applied in order; their records (§5.3 `events`), the last applied at `at`.
json apply_chaos(const std::vector<ChaosEvent>& events, core::TimePoint at, const Policy& p,
                 State& s, std::optional<Metrics>& log_metrics) {
  json out = json::array();
  const std::size_t n = events.size();
  for (std::size_t i = 0; i < n; ++i) {
    const ChaosEvent& e = events[i];
    std::string description = e.description;
    if (description.empty()) {
      description = std::string(to_string(e.type));
      std::replace(description.begin(), description.end(), '_', ' ');
    }
    json impact = apply_chaos_event(e, p, s, log_metrics);
    out.push_back({{"sequence", i + 1},
                   {"applied_at", core::format_rfc3339(at - std::chrono::minutes(5) *
                                                                static_cast<int>(n - i - 1))},
                   {"event_type", to_string(e.type)},
                   {"severity", core::to_string(e.severity.value_or(default_severity(e.type)))},
                   {"description", std::move(description)},
                   {"impact", std::move(impact)}});
  }
  return out;
}

struct Graded {
  Findings findings{std::string(kIncidentResponseName)};
  core::Status status = core::Status::kOk;  // the evaluation's (the spec's snapshot status)
  json report;
};

Graded grade(const Input& in, const std::optional<Metrics>& log_metrics, core::TimePoint now) {
  Graded g;
  const Policy& p = in.policy;
  const State& s = in.state;
  const std::vector<std::string> missing = missing_runbooks(p, s);
  cadence_and_roster_rules(p, s, missing, g.findings);
  Metrics metrics = log_metrics ? *log_metrics : s.metrics;
  normalize(metrics);
  const bool signal = metrics.has_signal();
  // §4.2: the metrics object exists only when it has signal.
  if (signal) metric_rules(p, metrics, g.findings);
  g.status = g.findings.worst();

  json meta = {{"policy", to_json(p)},
               {"postmortem_backlog_hours", s.postmortem_backlog_hours.value_or(0.0)},
               {"primary_responders", s.primary_oncall},
               {"secondary_responders", s.secondary_oncall},
               {"open_incident_count", s.open_incidents.size()},
               {"open_incident_ids", s.open_incidents},
               {"chatops_ready", s.chatops_ready},
               {"metrics_source", log_metrics ? "incident_log" : "document"}};
  if (s.last_major_incident_age_days) {
    meta["last_major_incident_age_days"] = *s.last_major_incident_age_days;
  }
  if (signal) meta["reliability_metrics"] = to_json(metrics);
  g.findings.write_metadata(meta);
  if (!in.context.is_null()) meta["context"] = in.context;

  g.report = {{"service", in.service},
              {"generated_at", core::format_rfc3339(now)},
              {"status", core::to_string(g.status)},
              {"missing_runbooks", missing},
              {"training_age_days", opt(s.training_age_days)},
              {"drill_age_days", opt(s.drill_age_days)},
              {"primary_oncall", s.primary_oncall},
              {"secondary_oncall", s.secondary_oncall},
              {"open_incidents", s.open_incidents},
              {"issues", g.findings.messages()},
              {"metadata", std::move(meta)}};
  if (signal) g.report["metrics"] = to_json(metrics);
  return g;
}

// ---- Evaluated snapshots ---------------------------------------------------------------------

constexpr std::string_view kEvaluatedKeys[] = {
    "service",           "generated_at",   "status",         "missing_runbooks",
    "training_age_days", "drill_age_days", "primary_oncall", "secondary_oncall",
    "open_incidents",    "issues",         "metadata",       "metrics"};

// Checks the typed keys of an evaluated snapshot (metadata is free-form, its issue_details are
// read by read_details).
core::Result<void> check_evaluated(const Doc& root) {
  if (auto ok = root.only(
          std::vector<std::string_view>(std::begin(kEvaluatedKeys), std::end(kEvaluatedKeys)));
      !ok) {
    return ok;
  }
  if (auto v = root.string("service"); !v) return std::unexpected(v.error());
  for (const char* key :
       {"missing_runbooks", "primary_oncall", "secondary_oncall", "open_incidents", "issues"}) {
    if (auto v = root.strings(key); !v) return std::unexpected(v.error());
  }
  for (const char* key : {"training_age_days", "drill_age_days"}) {
    if (auto v = root.number(key); !v) return std::unexpected(v.error());
  }
  auto metrics = root.object("metrics");
  if (!metrics) return std::unexpected(metrics.error());
  if (*metrics) {
    std::vector<std::string_view> known;
    append_keys(known, kMetricsFields, false);
    if (auto ok = (*metrics)->only(known); !ok) return ok;
    Metrics scratch;
    if (auto ok = read_fields(**metrics, kMetricsFields, false, scratch); !ok) return ok;
  }
  return {};
}

// metadata.issue_details as findings, with the original severities (ok/warn/fail, or
// info/warning/critical).
core::Result<void> read_details(const Doc& root, Findings& f) {
  auto meta = root.object("metadata");
  if (!meta) return std::unexpected(meta.error());
  if (!*meta) return {};
  auto details = (*meta)->array("issue_details");
  if (!details) return std::unexpected(details.error());
  if (*details == nullptr) return {};
  for (std::size_t i = 0; i < (*details)->size(); ++i) {
    const std::string path = (*meta)->path_of("issue_details") + "[" + std::to_string(i) + "]";
    const json& item = (**details)[i];
    if (!item.is_object()) return core::fail("invalid_document", "must be an object", path);
    Doc d(item, path);
    auto category = d.string("category");
    if (!category) return std::unexpected(category.error());
    auto message = d.string("message");
    if (!message) return std::unexpected(message.error());
    auto word = d.string("severity");
    if (!word) return std::unexpected(word.error());
    core::Status severity = core::Status::kWarn;
    if (*word) {
      if (auto st = core::parse_status(**word)) {
        severity = *st;
      } else if (auto sv = core::parse_severity(**word)) {
        severity = core::status_for(*sv);
      } else {
        return std::unexpected(d.error("severity", st.error().message));
      }
    }
    json detail = nullptr;
    if (const json* dv = d.get("detail")) detail = *dv;
    add_finding(f, category->value_or("general"), severity,
                message->value_or("incident response issue"), std::move(detail));
  }
  return {};
}

// The metric thresholds an evaluated snapshot was graded with (metadata.policy), over the
// config's, for re-grading its metrics with the incident log's.
core::Result<Policy> evaluated_policy(const Doc& root, const IncidentResponseConfig& config) {
  Policy p = policy_from(config);
  if (!config.document_policy) return p;
  auto meta = root.object("metadata");
  if (!meta) return std::unexpected(meta.error());
  if (!*meta) return p;
  auto policy = (*meta)->object("policy");
  if (!policy) return std::unexpected(policy.error());
  if (!*policy) return p;
  for (const Field<Policy>& field : kPolicyFields) {
    if (!std::holds_alternative<std::optional<double> Policy::*>(field.member)) continue;
    if (auto got = read_field(**policy, field.name, field.member, p); !got) {
      return std::unexpected(got.error());
    }
  }
  normalize(p);
  return p;
}

// ---- The gate (§4.6) -------------------------------------------------------------------------

struct Gate {
  core::Status status = core::Status::kOk;
  std::vector<std::string> blocking_reasons;
  std::vector<std::string> blocking_codes;
  std::vector<std::string> warnings;
  std::vector<std::string> warning_codes;
  struct Blocked {
    std::string category;
    std::string message;
    std::string code;
  };
  std::vector<Blocked> warn_blocked;  // warn issues the gate turns into blockers
};

void push_unique(std::vector<std::string>& list, std::string item) {
  if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(std::move(item));
}

Gate gate(const IncidentResponseConfig& config, const Findings& findings, core::Status status,
          const std::vector<std::string>& issues) {
  std::set<std::string> blocking_categories;
  for (const auto& c : config.warn_block_categories) blocking_categories.insert(core::to_lower(c));
  Gate g;
  for (const Finding& f : findings.all()) {
    const std::string category = f.category.empty() ? "general" : f.category;
    const std::string message = f.message.empty() ? "incident response issue" : f.message;
    if (f.severity == core::Status::kFail) {
      push_unique(g.blocking_reasons, message);
      push_unique(g.blocking_codes, core::reason_code({"issue", category, "fail"}));
    } else if (f.severity == core::Status::kWarn) {
      if (config.block_on_warn || blocking_categories.contains(core::to_lower(category))) {
        std::string code = core::reason_code({"issue", category, "warn_blocked"});
        if (std::find(g.blocking_codes.begin(), g.blocking_codes.end(), code) ==
            g.blocking_codes.end()) {
          g.warn_blocked.push_back({.category = category, .message = message, .code = code});
        }
        push_unique(g.blocking_reasons, message);
        push_unique(g.blocking_codes, std::move(code));
      } else {
        push_unique(g.warnings, message);
        push_unique(g.warning_codes, core::reason_code({"issue", category, "warn"}));
      }
    }
  }
  if (status == core::Status::kFail && g.blocking_reasons.empty()) {
    if (issues.empty()) {
      push_unique(g.blocking_reasons, "Incident response status fail");
    } else {
      for (const auto& i : issues) push_unique(g.blocking_reasons, i);
    }
    push_unique(g.blocking_codes, "status_fail");
  }
  if (status == core::Status::kWarn && g.warnings.empty() && g.blocking_reasons.empty()) {
    for (const auto& i : issues) push_unique(g.warnings, i);
    if (!issues.empty()) push_unique(g.warning_codes, "status_warn");
  }
  g.status = g.blocking_reasons.empty() ? status : core::Status::kFail;
  return g;
}

json to_json(const Gate& g, const IncidentResponseConfig& config) {
  std::set<std::string> categories;
  for (const auto& c : config.warn_block_categories) categories.insert(core::to_lower(c));
  json j = {
      {"status", core::to_string(g.status)},
      {"blocking_reasons", g.blocking_reasons},
      {"warnings", g.warnings},
      {"block_on_warn", config.block_on_warn},
      {"warn_block_categories", std::vector<std::string>(categories.begin(), categories.end())}};
  if (!g.blocking_codes.empty()) j["blocking_reason_codes"] = g.blocking_codes;
  if (!g.warning_codes.empty()) j["warning_reason_codes"] = g.warning_codes;
  return j;
}

// ---- Reading back a report (summary, Markdown) -------------------------------------------------

std::vector<std::string> list_of(const json& report, const char* key) {
  std::vector<std::string> out;
  const auto it = report.find(key);
  if (it == report.end() || !it->is_array()) return out;
  for (const auto& v : *it) {
    if (v.is_string()) {
      out.push_back(v.get<std::string>());
    } else if (!v.is_null()) {
      out.push_back(v.dump());
    }
  }
  return out;
}

std::optional<double> number_at(const json& j, const char* key) {
  if (!j.is_object()) return std::nullopt;
  const auto it = j.find(key);
  if (it == j.end()) return std::nullopt;
  return document_number(*it);
}

// The report's metrics: `metrics`, else metadata.reliability_metrics (§4.5).
Metrics report_metrics(const json& report) {
  const json* m = nullptr;
  if (const auto it = report.find("metrics"); it != report.end() && it->is_object()) {
    m = &*it;
  } else if (const auto meta = report.find("metadata"); meta != report.end() && meta->is_object()) {
    if (const auto r = meta->find("reliability_metrics"); r != meta->end() && r->is_object()) {
      m = &*r;
    }
  }
  Metrics out;
  if (m == nullptr) return out;
  const auto count = [&](const char* key) -> std::optional<std::int64_t> {
    if (auto v = number_at(*m, key)) return to_int(*v);
    return std::nullopt;
  };
  out = {.mtta_minutes = number_at(*m, "mtta_minutes"),
         .mttr_minutes = number_at(*m, "mttr_minutes"),
         .acknowledged_incidents = count("acknowledged_incidents"),
         .resolved_incidents = count("resolved_incidents"),
         .sample_window_days = number_at(*m, "sample_window_days"),
         .data_age_hours = number_at(*m, "data_age_hours")};
  normalize(out);
  return out;
}

std::string string_at(const json& j, const char* key, std::string fallback) {
  if (const auto it = j.find(key); it != j.end() && it->is_string()) return it->get<std::string>();
  return fallback;
}

// The spec's operational-readiness summary of this component (§7.1).
std::string summary_of(const json& report, const Gate& g) {
  std::vector<std::string> parts = {
      "open incidents=" + std::to_string(list_of(report, "open_incidents").size()),
      "missing runbooks=" + std::to_string(list_of(report, "missing_runbooks").size())};
  const Metrics m = report_metrics(report);
  if (m.mtta_minutes) parts.push_back("MTTA=" + fixed(*m.mtta_minutes, 1) + "m");
  if (m.mttr_minutes) parts.push_back("MTTR=" + fixed(*m.mttr_minutes, 1) + "m");
  const auto issues = list_of(report, "issues");
  if (!issues.empty()) parts.push_back("issues: " + core::join(issues, "; "));
  std::string s = core::join(parts, ", ");
  if (!g.warn_blocked.empty()) {
    std::vector<std::string> categories;
    for (const auto& b : g.warn_blocked) categories.push_back(b.category);
    s += "; the gate blocks on warn: " + core::join(categories, ", ");
  }
  return s;
}

std::string text_of(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// §4.5, from the as_dict shape.
std::string markdown_of(const json& report, const std::string& fallback_service) {
  using core::markdown_inline;
  std::string status = string_at(report, "status", "ok");
  std::transform(status.begin(), status.end(), status.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  std::vector<std::string> lines = {
      "**Incident response – " + markdown_inline(string_at(report, "service", fallback_service)) +
          "**",
      "- Status: " + markdown_inline(status),
      "- Generated: " + markdown_inline(string_at(report, "generated_at", "")),
      "- Primary responders: " + std::to_string(list_of(report, "primary_oncall").size()),
      "- Secondary responders: " + std::to_string(list_of(report, "secondary_oncall").size()),
      "- Open incidents: " + std::to_string(list_of(report, "open_incidents").size())};
  if (auto v = number_at(report, "training_age_days")) {
    lines.push_back("- Training age (days): " + fixed(*v, 1));
  }
  if (auto v = number_at(report, "drill_age_days")) {
    lines.push_back("- Drill age (days): " + fixed(*v, 1));
  }
  auto missing = list_of(report, "missing_runbooks");
  std::sort(missing.begin(), missing.end());
  lines.push_back("- Missing runbooks: " + (missing.empty()
                                                ? std::string("none")
                                                : markdown_inline(core::join(missing, ", "))));
  const json meta = report.contains("metadata") && report["metadata"].is_object()
                        ? report["metadata"]
                        : json::object();
  if (const auto b = meta.find("postmortem_backlog_hours"); b != meta.end() && b->is_number()) {
    lines.push_back("- Postmortem backlog (hours): " + fixed(b->get<double>(), 1));
  }
  const Metrics m = report_metrics(report);
  if (m.has_signal()) {
    lines.emplace_back();
    lines.emplace_back("**Reliability metrics:**");
    if (m.mtta_minutes) lines.push_back("- MTTA (minutes): " + fixed(*m.mtta_minutes, 1));
    if (m.mttr_minutes) lines.push_back("- MTTR (minutes): " + fixed(*m.mttr_minutes, 1));
    if (m.acknowledged_incidents) {
      lines.push_back("- Incidents acknowledged: " + std::to_string(*m.acknowledged_incidents));
    }
    if (m.resolved_incidents) {
      lines.push_back("- Incidents resolved: " + std::to_string(*m.resolved_incidents));
    }
    if (m.sample_window_days) {
      lines.push_back("- Metrics window (days): " + fixed(*m.sample_window_days, 1));
    }
    if (m.data_age_hours) lines.push_back("- Metrics age (hours): " + fixed(*m.data_age_hours, 1));
  }
  if (const auto c = meta.find("context"); c != meta.end() && c->is_object()) {
    lines.emplace_back();
    lines.emplace_back("**Context:**");
    for (const auto& [key, value] : c->items()) {  // nlohmann objects iterate sorted by key
      lines.push_back("- " + markdown_inline(key) + ": " + markdown_inline(text_of(value)));
    }
  }
  const auto issues = list_of(report, "issues");
  if (!issues.empty()) {
    lines.emplace_back();
    lines.emplace_back("**Issues:**");
    for (const auto& i : issues) lines.push_back("- " + markdown_inline(i));
  }
  return core::join(lines, "\n");
}

// ---- Assembly --------------------------------------------------------------------------------

Evaluated assemble(const IncidentResponseConfig& config, const Findings& findings,
                   core::Status status, json report, core::TimePoint observed_at,
                   std::string_view source, const std::vector<std::string>& ignored_policy) {
  const Gate g = gate(config, findings, status, list_of(report, "issues"));
  Evaluated e;
  e.snapshot.component = std::string(kIncidentResponseName);
  e.snapshot.status = status;
  e.snapshot.observed_at = observed_at;
  findings.write_to(e.snapshot);
  Findings gate_findings{std::string(kIncidentResponseName)};
  for (const auto& b : g.warn_blocked) {
    gate_findings.add("gate", core::Status::kFail,
                      b.message + " (blocks the gate: " +
                          (config.block_on_warn ? std::string("block_on_warn")
                                                : b.category + " is in warn_block_categories") +
                          ")",
                      std::string(kCodePrefix) + ".gate:" + b.code);
  }
  gate_findings.write_to(e.snapshot);
  e.snapshot.status = core::escalate(e.snapshot.status, g.status);
  e.snapshot.summary = summary_of(report, g);
  json meta = report.contains("metadata") && report["metadata"].is_object() ? report["metadata"]
                                                                            : json::object();
  meta["gate"] = to_json(g, config);
  meta["evaluation_status"] = core::to_string(status);
  meta["source"] = source;
  meta["service"] = string_at(report, "service", config.service);
  if (!ignored_policy.empty()) meta["ignored_document_policy"] = ignored_policy;
  e.snapshot.metadata = std::move(meta);
  e.markdown = markdown_of(report, config.service);
  e.report = std::move(report);
  return e;
}

}  // namespace

// ---- Config ----------------------------------------------------------------------------------

core::Result<void> validate(const IncidentResponseConfig& c) {
  if (core::trim(c.service).empty()) {
    return core::fail("invalid_parameter", "must not be empty", "service");
  }
  if (c.metrics_window <= core::Duration::zero()) {
    return core::fail("invalid_parameter", "must be positive", "metrics_window");
  }
  if (c.metrics_source != "incident_log" && c.metrics_source != "document") {
    return core::fail("invalid_parameter", "must be incident_log or document", "metrics_source");
  }
  for (const auto& r : c.required_runbooks) {
    if (core::trim(r).empty()) {
      return core::fail("invalid_parameter", "must not hold an empty name", "required_runbooks");
    }
  }
  if (!std::isfinite(c.postmortem_sla_hours) || c.postmortem_sla_hours < 0) {
    return core::fail("invalid_parameter", "must be a finite number ≥ 0", "postmortem_sla_hours");
  }
  const std::array<std::tuple<double, double, const char*, const char*>, 3> pairs = {{
      {c.mtta_warn_minutes, c.mtta_fail_minutes, "mtta_warn_minutes", "mtta_fail_minutes"},
      {c.mttr_warn_minutes, c.mttr_fail_minutes, "mttr_warn_minutes", "mttr_fail_minutes"},
      {c.metrics_stale_warn_hours, c.metrics_stale_fail_hours, "metrics_stale_warn_hours",
       "metrics_stale_fail_hours"},
  }};
  for (const auto& [warn, fail, warn_field, fail_field] : pairs) {
    for (const auto& [v, field] : {std::pair{warn, warn_field}, std::pair{fail, fail_field}}) {
      if (std::isnan(v) || v < 0) {
        return core::fail("invalid_parameter", "must be ≥ 0 (0 disables the level)", field);
      }
    }
    if (warn > 0 && fail > 0 && fail < warn) {
      return core::fail("invalid_parameter", std::string("must not be below ") + warn_field,
                        fail_field);
    }
  }
  if (!std::isfinite(c.major_incident_fail_multiplier) || c.major_incident_fail_multiplier < 1) {
    return core::fail("invalid_parameter", "must be a finite number ≥ 1",
                      "major_incident_fail_multiplier");
  }
  for (const auto& category : c.warn_block_categories) {
    const std::string lower = core::to_lower(core::trim(category));
    const bool known =
        lower == "general" || std::any_of(kCategoryCodes.begin(), kCategoryCodes.end(),
                                          [&](const auto& k) { return k.first == lower; });
    if (!known) {
      return core::fail("invalid_parameter",
                        "'" + category +
                            "' is not an incident-response issue category (missing_runbooks, "
                            "training, drill, primary_roster, secondary_roster, open_incidents, "
                            "postmortem_backlog, chatops, major_incident_review, metrics_mtta, "
                            "metrics_mttr, metrics_staleness, general)",
                        "warn_block_categories");
    }
  }
  return {};
}

// ---- Chaos event types -----------------------------------------------------------------------

namespace {
constexpr std::array<std::pair<ChaosEventType, std::string_view>, 8> kChaosTypes = {{
    {ChaosEventType::kPrimaryResponderOutage, "primary_responder_outage"},
    {ChaosEventType::kSecondaryResponderOverload, "secondary_responder_overload"},
    {ChaosEventType::kRunbookCorruption, "runbook_corruption"},
    {ChaosEventType::kChatopsFailure, "chatops_failure"},
    {ChaosEventType::kMetricsStale, "metrics_stale"},
    {ChaosEventType::kIncidentSurge, "incident_surge"},
    {ChaosEventType::kPostmortemBacklog, "postmortem_backlog"},
    {ChaosEventType::kTrainingLapse, "training_lapse"},
}};
}  // namespace

std::string_view to_string(ChaosEventType t) {
  for (const auto& [type, word] : kChaosTypes) {
    if (type == t) return word;
  }
  return "primary_responder_outage";
}

std::optional<ChaosEventType> parse_chaos_event_type(std::string_view word) {
  for (const auto& [type, w] : kChaosTypes) {
    if (w == word) return type;
  }
  return std::nullopt;
}

nlohmann::json to_json(const ChaosEvent& e) {
  json j = {{"type", to_string(e.type)}};
  if (e.severity) j["severity"] = core::to_string(*e.severity);
  if (!e.description.empty()) j["description"] = e.description;
  if (!e.responders.empty()) j["responders"] = e.responders;
  if (!e.runbooks.empty()) j["runbooks"] = e.runbooks;
  if (e.count) j["count"] = *e.count;
  if (!e.prefix.empty()) j["prefix"] = e.prefix;
  for (const auto& [key, value] : {std::pair{"hours", e.hours},
                                   {"data_age_hours", e.data_age_hours},
                                   {"mtta_minutes", e.mtta_minutes},
                                   {"mttr_minutes", e.mttr_minutes},
                                   {"training_age_days", e.training_age_days},
                                   {"drill_age_days", e.drill_age_days}}) {
    if (value) j[key] = *value;
  }
  return j;
}

core::Status default_severity(ChaosEventType t) {
  switch (t) {
    case ChaosEventType::kPrimaryResponderOutage:
    case ChaosEventType::kRunbookCorruption:
    case ChaosEventType::kIncidentSurge:
      return core::Status::kFail;
    default:
      return core::Status::kWarn;
  }
}

// ---- IncidentResponse ------------------------------------------------------------------------

IncidentResponse::IncidentResponse(const IncidentResponseConfig& config)
    : DocumentComponent(std::string(kIncidentResponseName), "operational.incident_response",
                        {std::string(kIncidentResponseTopic)}),
      config_(config) {}

core::Result<std::unique_ptr<IncidentResponse>> IncidentResponse::create(
    const IncidentResponseConfig& config) {
  if (auto ok = validate(config); !ok) return std::unexpected(ok.error());
  return std::unique_ptr<IncidentResponse>(new IncidentResponse(config));
}

core::Result<void> IncidentResponse::apply(const core::TelemetryEvent& event) {
  auto ok = DocumentComponent::apply(event);
  if (ok) last_event_ = event;
  return ok;
}

void IncidentResponse::set_incident_metrics(std::optional<IncidentMetrics> metrics) {
  incident_metrics_ = std::move(metrics);
  if (last_event_) {
    // The document was accepted before; metrics cannot make it invalid, so this re-evaluation
    // cannot fail.
    auto ok = DocumentComponent::apply(*last_event_);
    (void)ok;
  }
}

void IncidentResponse::set_last_drill(std::optional<core::TimePoint> at) {
  if (at == last_drill_) return;
  last_drill_ = at;
  if (last_event_) {
    auto ok = DocumentComponent::apply(*last_event_);  // accepted before: cannot fail
    (void)ok;
  }
}

core::Result<void> IncidentResponse::set_chaos(std::vector<ChaosEvent> events,
                                               core::TimePoint applied_at) {
  if (!events.empty()) {
    if (!last_event_) {
      return core::fail("unavailable",
                        "incident_response has no document yet: chaos events change the state "
                        "of the latest one");
    }
    if (last_event_->payload.is_object() && last_event_->payload.contains("status")) {
      return core::fail("unavailable",
                        "the latest incident_response document is an evaluated snapshot, which "
                        "has no state for chaos events to change");
    }
  }
  chaos_ = std::move(events);
  chaos_at_ = applied_at;
  if (last_event_) {
    auto ok = DocumentComponent::apply(*last_event_);  // accepted before: cannot fail
    (void)ok;
  }
  return {};
}

core::Result<Evaluated> IncidentResponse::evaluate(const nlohmann::json& doc, core::TimePoint now) {
  auto root = root_object(doc, "an incident-response document");
  if (!root) return std::unexpected(root.error());
  std::optional<Metrics> log_metrics;
  if (config_.metrics_source == "incident_log" && incident_metrics_) {
    log_metrics = metrics_from(*incident_metrics_);
  }

  if (root->has("status")) {
    if (auto ok = check_evaluated(*root); !ok) return std::unexpected(ok.error());
    auto base = from_evaluated(kIncidentResponseName, kCodePrefix, doc, now, "");
    if (!base) return std::unexpected(base.error());
    Findings findings{std::string(kIncidentResponseName)};
    if (auto ok = read_details(*root, findings); !ok) return std::unexpected(ok.error());
    json report = doc;
    if (!report.contains("metadata") || !report["metadata"].is_object()) {
      report["metadata"] = json::object();
    }
    core::Status status = base->snapshot.status;
    if (log_metrics) {
      // Re-grade rules 10–11 with the incident log's metrics: the document's metric findings
      // go, the log's come last (as the rules do).
      auto policy = evaluated_policy(*root, config_);
      if (!policy) return std::unexpected(policy.error());
      Findings regraded{std::string(kIncidentResponseName)};
      for (const Finding& f : findings.all()) {
        if (!is_metric_category(f.category)) {
          add_finding(regraded, f.category, f.severity, f.message, f.detail);
        }
      }
      const bool signal = log_metrics->has_signal();
      if (signal) metric_rules(*policy, *log_metrics, regraded);
      const bool had_details = !findings.empty();
      findings = std::move(regraded);
      json& meta = report["metadata"];
      for (const char* key : {"issue_details", "issue_counts", "issue_catalog",
                              "issue_category_severity", "highest_issue_severity"}) {
        meta.erase(key);
      }
      findings.write_metadata(meta);
      if (signal) {
        report["metrics"] = to_json(*log_metrics);
        meta["reliability_metrics"] = report["metrics"];
      } else {
        report.erase("metrics");
        meta.erase("reliability_metrics");
      }
      // With issue_details the status is their worst (the spec's status is the escalation of
      // its issues); without, the document's status stands, raised by the log's findings.
      status = had_details ? findings.worst() : core::escalate(status, findings.worst());
      if (had_details) report["issues"] = findings.messages();
      report["status"] = core::to_string(status);
      meta["metrics_source"] = "incident_log";
    } else {
      report["metadata"]["metrics_source"] = "document";
      // Without issue_details, the issue strings stand for the findings (from_evaluated's rule).
      if (findings.empty()) {
        for (const core::Issue& i : base->snapshot.issues) {
          findings.add("issue", core::status_for(i.severity), i.message,
                       std::string(kCodePrefix) + ".issue");
        }
      }
    }
    return assemble(config_, findings, status, std::move(report), base->snapshot.observed_at,
                    "evaluated_snapshot", {});
  }

  const bool env = fields::has_key_prefix(doc, "INCIDENT_");
  auto input = env ? read_env(*root, config_) : read_structured(*root, config_);
  if (!input) return std::unexpected(input.error());
  const std::optional<double> document_drill_age = input->state.drill_age_days;
  if (last_drill_) {
    // The drill cadence measured from opsready's own drill evidence (docs/drills.md).
    input->state.drill_age_days = std::max(0.0, core::to_seconds(now - *last_drill_) / 86'400.0);
  }
  json chaos_events;
  if (!chaos_.empty()) {
    chaos_events = apply_chaos(chaos_, chaos_at_, input->policy, input->state, log_metrics);
  }
  Graded g = grade(*input, log_metrics, now);
  if (!chaos_events.is_null()) {
    core::Status worst = core::Status::kOk;
    for (const auto& e : chaos_)
      worst = core::escalate(worst, e.severity.value_or(default_severity(e.type)));
    g.report["metadata"]["chaos_events"] = std::move(chaos_events);
    g.report["metadata"]["worst_chaos_severity"] = core::to_string(worst);
  }
  if (last_drill_) {
    g.report["metadata"]["drill_source"] = "opsready_drills";
    g.report["metadata"]["last_drill_at"] = core::format_rfc3339(*last_drill_);
    if (document_drill_age) g.report["metadata"]["document_drill_age_days"] = *document_drill_age;
  }
  return assemble(config_, g.findings, g.status, std::move(g.report), now, input->source,
                  input->ignored_policy);
}

}  // namespace opsready::components
