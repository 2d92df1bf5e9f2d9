#include "opsready/components/security.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <set>
#include <utility>

#include "opsready/components/document_fields.h"
#include "opsready/core/text.h"
#include "opsready/core/time.h"

namespace opsready::components {
namespace {

using fields::Field;
using nlohmann::json;

constexpr std::string_view kCodePrefix = "security";
// MFA bands compare with this slack, so that 80% against 95% − 15% (0.7999… in binary) is
// the warn it reads as, whatever the rounding.
constexpr double kMfaEpsilon = 1e-9;
constexpr double kWarnRatio = 0.75;

// ---- Policy and state ------------------------------------------------------------------------

struct Policy {
  double minimum_mfa_coverage = 0.95;
  std::int64_t credential_rotation_days = 90;
  std::int64_t secrets_rotation_days = 30;
  std::int64_t incident_drill_interval_days = 90;
  std::int64_t vulnerability_scan_interval_days = 30;
  std::vector<std::string> required_tls_versions;
  bool allow_legacy_tls = false;
  bool require_intrusion_detection = true;
  std::int64_t certificate_warn_days = 30;
  std::int64_t certificate_fail_days = 7;
  std::int64_t privileged_access_review_days = 90;
  std::int64_t failed_logins_warn = 20;
  std::int64_t failed_logins_fail = 100;
};

struct State {
  std::int64_t total_users = 0;
  std::int64_t mfa_enabled_users = 0;
  std::optional<double> credential_age_days;
  std::optional<double> secrets_age_days;
  std::optional<double> incident_drill_age_days;
  std::optional<double> vulnerability_scan_age_days;
  bool intrusion_detection_enabled = false;
  std::optional<std::int64_t> failed_logins_last_hour;
  std::vector<std::string> open_critical_alerts;
  std::vector<std::string> tls_versions;
  bool legacy_tls_in_use = false;
  bool secrets_manager_healthy = true;
  std::optional<double> certificate_expiry_days;
  std::optional<double> privileged_access_review_age_days;

  // §6.1: enabled / total in [0, 1]; 0 without users.
  [[nodiscard]] double mfa_coverage() const {
    if (total_users <= 0) return 0.0;
    return std::clamp(static_cast<double>(mfa_enabled_users) / static_cast<double>(total_users),
                      0.0, 1.0);
  }
};

const std::array<Field<Policy>, 13> kPolicyFields = {{
    {"SECURITY_MFA_MIN_COVERAGE", "minimum_mfa_coverage", &Policy::minimum_mfa_coverage},
    {"SECURITY_CREDENTIAL_ROTATION_DAYS", "credential_rotation_days",
     &Policy::credential_rotation_days},
    {"SECURITY_SECRETS_ROTATION_DAYS", "secrets_rotation_days", &Policy::secrets_rotation_days},
    {"SECURITY_INCIDENT_DRILL_DAYS", "incident_drill_interval_days",
     &Policy::incident_drill_interval_days},
    {"SECURITY_VULNERABILITY_SCAN_DAYS", "vulnerability_scan_interval_days",
     &Policy::vulnerability_scan_interval_days},
    {"SECURITY_REQUIRED_TLS_VERSIONS", "required_tls_versions", &Policy::required_tls_versions},
    {"SECURITY_ALLOW_LEGACY_TLS", "allow_legacy_tls", &Policy::allow_legacy_tls},
    {"SECURITY_REQUIRE_INTRUSION_DETECTION", "require_intrusion_detection",
     &Policy::require_intrusion_detection},
    {"SECURITY_CERTIFICATE_WARN_DAYS", "certificate_warn_days", &Policy::certificate_warn_days},
    {"SECURITY_CERTIFICATE_FAIL_DAYS", "certificate_fail_days", &Policy::certificate_fail_days},
    {"SECURITY_PRIVILEGED_ACCESS_REVIEW_DAYS", "privileged_access_review_days",
     &Policy::privileged_access_review_days},
    {"SECURITY_FAILED_LOGINS_WARN", "failed_logins_warn", &Policy::failed_logins_warn},
    {"SECURITY_FAILED_LOGINS_FAIL", "failed_logins_fail", &Policy::failed_logins_fail},
}};

const std::array<Field<State>, 14> kStateFields = {{
    {"SECURITY_TOTAL_USERS", "total_users", &State::total_users},
    {"SECURITY_USERS_WITH_MFA", "mfa_enabled_users", &State::mfa_enabled_users},
    {"SECURITY_CREDENTIAL_AGE_DAYS", "credential_age_days", &State::credential_age_days},
    {"SECURITY_SECRETS_AGE_DAYS", "secrets_age_days", &State::secrets_age_days},
    {"SECURITY_INCIDENT_DRILL_AGE_DAYS", "incident_drill_age_days",
     &State::incident_drill_age_days},
    {"SECURITY_VULNERABILITY_SCAN_AGE_DAYS", "vulnerability_scan_age_days",
     &State::vulnerability_scan_age_days},
    {"SECURITY_INTRUSION_DETECTION_ACTIVE", "intrusion_detection_enabled",
     &State::intrusion_detection_enabled},
    {"SECURITY_FAILED_LOGINS_LAST_HOUR", "failed_logins_last_hour",
     &State::failed_logins_last_hour},
    {"SECURITY_OPEN_ALERTS", "open_critical_alerts", &State::open_critical_alerts},
    {"SECURITY_TLS_VERSIONS", "tls_versions", &State::tls_versions},
    {"SECURITY_LEGACY_TLS_IN_USE", "legacy_tls_in_use", &State::legacy_tls_in_use},
    {"SECURITY_SECRETS_MANAGER_HEALTHY", "secrets_manager_healthy",
     &State::secrets_manager_healthy},
    {"SECURITY_CERTIFICATE_EXPIRY_DAYS", "certificate_expiry_days",
     &State::certificate_expiry_days},
    {"SECURITY_PRIVILEGED_ACCESS_REVIEW_AGE_DAYS", "privileged_access_review_age_days",
     &State::privileged_access_review_age_days},
}};

constexpr std::string_view kServiceKey = "SECURITY_SERVICE_NAME";

std::vector<std::string> normalized_tls(const std::vector<std::string>& tokens) {
  std::vector<std::string> out;
  for (const auto& t : tokens) out.push_back(normalize_tls_version(t));
  return out;
}

// The spec's clamps (§6.1), and the percent-aware MFA minimum: a value above 1 is a percentage
// ("95" and "95%" are both 0.95).
void normalize(Policy& p) {
  double m = p.minimum_mfa_coverage;
  if (m > 1) m /= 100.0;
  p.minimum_mfa_coverage = std::clamp(m, 0.0, 1.0);
  for (auto* d :
       {&p.credential_rotation_days, &p.secrets_rotation_days, &p.incident_drill_interval_days,
        &p.vulnerability_scan_interval_days, &p.certificate_warn_days, &p.certificate_fail_days,
        &p.privileged_access_review_days, &p.failed_logins_warn, &p.failed_logins_fail}) {
    *d = std::max<std::int64_t>(*d, 0);
  }
  p.required_tls_versions = normalized_tls(p.required_tls_versions);
}

void normalize(State& s) {
  s.total_users = std::max<std::int64_t>(s.total_users, 0);
  s.mfa_enabled_users = std::max<std::int64_t>(s.mfa_enabled_users, 0);
  if (s.failed_logins_last_hour) {
    s.failed_logins_last_hour = std::max<std::int64_t>(*s.failed_logins_last_hour, 0);
  }
}

Policy policy_from(const SecurityConfig& c) {
  Policy p{.minimum_mfa_coverage = c.minimum_mfa_coverage,
           .credential_rotation_days = c.credential_rotation_days,
           .secrets_rotation_days = c.secrets_rotation_days,
           .incident_drill_interval_days = c.incident_drill_interval_days,
           .vulnerability_scan_interval_days = c.vulnerability_scan_interval_days,
           .required_tls_versions = c.required_tls_versions,
           .allow_legacy_tls = c.allow_legacy_tls,
           .require_intrusion_detection = c.require_intrusion_detection,
           .certificate_warn_days = c.certificate_warn_days,
           .certificate_fail_days = c.certificate_fail_days,
           .privileged_access_review_days = c.privileged_access_review_days,
           .failed_logins_warn = c.failed_logins_warn,
           .failed_logins_fail = c.failed_logins_fail};
  normalize(p);
  return p;
}

json opt(const std::optional<double>& v) { return v ? json(*v) : json(); }

json to_json(const Policy& p) {
  return {{"minimum_mfa_coverage", p.minimum_mfa_coverage},
          {"credential_rotation_days", p.credential_rotation_days},
          {"secrets_rotation_days", p.secrets_rotation_days},
          {"incident_drill_interval_days", p.incident_drill_interval_days},
          {"vulnerability_scan_interval_days", p.vulnerability_scan_interval_days},
          {"required_tls_versions", p.required_tls_versions},
          {"allow_legacy_tls", p.allow_legacy_tls},
          {"require_intrusion_detection", p.require_intrusion_detection},
          {"certificate_warn_days", p.certificate_warn_days},
          {"certificate_fail_days", p.certificate_fail_days},
          {"privileged_access_review_days", p.privileged_access_review_days},
          {"failed_logins_warn", p.failed_logins_warn},
          {"failed_logins_fail", p.failed_logins_fail}};
}

// ---- Reading the input forms ---------------------------------------------------------------

struct Input {
  Policy policy;
  State state;
  std::string service;
  json caller_metadata = json::object();
  std::vector<std::string> ignored_policy;
  std::string source;
};

core::Result<void> read_policy(const Doc& doc, bool env, const SecurityConfig& config, Input& in) {
  Policy read = in.policy;
  read.required_tls_versions.clear();
  std::vector<std::string> present;
  if (auto ok = fields::read_fields(doc, kPolicyFields, env, read, &present); !ok) return ok;
  // §6.1: an empty required_tls_versions means the default (here: the config's).
  if (read.required_tls_versions.empty())
    read.required_tls_versions = in.policy.required_tls_versions;
  if (config.document_policy) {
    normalize(read);
    in.policy = std::move(read);
  } else {
    in.ignored_policy.insert(in.ignored_policy.end(), present.begin(), present.end());
  }
  return {};
}

core::Result<void> read_common(const Doc& root, std::string_view service_key, Input& in) {
  auto service = root.string(service_key);
  if (!service) return std::unexpected(service.error());
  if (*service && !core::trim(**service).empty()) in.service = std::string(core::trim(**service));
  auto meta = root.object("metadata");
  if (!meta) return std::unexpected(meta.error());
  if (*meta) in.caller_metadata = (*meta)->json();
  normalize(in.state);
  return {};
}

core::Result<Input> read_env(const Doc& root, const SecurityConfig& config) {
  std::vector<std::string_view> known = {kServiceKey, "metadata"};
  fields::append_keys(known, kPolicyFields, true);
  fields::append_keys(known, kStateFields, true);
  if (auto ok = root.only(known); !ok) return std::unexpected(ok.error());
  Input in{.policy = policy_from(config), .service = config.service, .source = "env_mapping"};
  if (auto ok = read_policy(root, true, config, in); !ok) return std::unexpected(ok.error());
  if (auto ok = fields::read_fields(root, kStateFields, true, in.state); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = read_common(root, kServiceKey, in); !ok) return std::unexpected(ok.error());
  return in;
}

core::Result<Input> read_structured(const Doc& root, const SecurityConfig& config) {
  if (auto ok = root.only({"service", "policy", "state", "metadata"}); !ok) {
    return std::unexpected(ok.error());
  }
  Input in{.policy = policy_from(config), .service = config.service, .source = "structured"};
  auto policy = root.object("policy");
  if (!policy) return std::unexpected(policy.error());
  if (*policy) {
    std::vector<std::string_view> known;
    fields::append_keys(known, kPolicyFields, false);
    if (auto ok = (*policy)->only(known); !ok) return std::unexpected(ok.error());
    if (auto ok = read_policy(**policy, false, config, in); !ok) {
      return std::unexpected(ok.error());
    }
  }
  auto state = root.object("state");
  if (!state) return std::unexpected(state.error());
  if (!*state) return std::unexpected(root.error("state", "required field is missing"));
  std::vector<std::string_view> known;
  fields::append_keys(known, kStateFields, false);
  if (auto ok = (*state)->only(known); !ok) return std::unexpected(ok.error());
  if (auto ok = fields::read_fields(**state, kStateFields, false, in.state); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = read_common(root, "service", in); !ok) return std::unexpected(ok.error());
  return in;
}

// ---- The controls (§6.2) ---------------------------------------------------------------------

struct Control {
  std::string control;
  core::Status status = core::Status::kOk;
  std::string summary;
  json metadata = json::object();
};

std::string_view word(core::Status s) {
  return s == core::Status::kOk ? "pass" : s == core::Status::kWarn ? "warn" : "fail";
}

std::string days(double v) { return fixed(v, 0) + "d"; }

Control mfa_control(const Policy& p, const State& s) {
  const double coverage = s.mfa_coverage();
  const double minimum = p.minimum_mfa_coverage;
  Control c{.control = "mfa_coverage",
            .metadata = {{"coverage", coverage},
                         {"minimum", minimum},
                         {"total_users", s.total_users},
                         {"mfa_enabled", s.mfa_enabled_users}}};
  if (s.total_users <= 0) {
    c.summary = "no eligible users recorded";
    c.status = minimum > 0 ? core::Status::kWarn : core::Status::kOk;
  } else if (coverage >= minimum - kMfaEpsilon) {
    c.summary = "MFA coverage " + percent(coverage, 0) + " meets target";
  } else if (coverage >= std::max(minimum - 0.15, 0.0) - kMfaEpsilon) {
    c.status = core::Status::kWarn;
    c.summary =
        "MFA coverage " + percent(coverage, 0) + " below " + percent(minimum, 0) + " target";
  } else {
    c.status = core::Status::kFail;
    c.summary = "MFA coverage " + percent(coverage, 0) + " critically below " + percent(minimum, 0);
  }
  return c;
}

// The shared age rule: pass ≤ 0.75·T, warn ≤ T, fail beyond; T ≤ 0 disables. `noun` is the
// spec's "rotation" (credentials, secrets), "scan" for the vulnerability scan, "review" for the
// privileged-access review.
Control age_control(std::string name, std::string_view noun, const std::optional<double>& age,
                    std::int64_t threshold) {
  Control c{.control = std::move(name),
            .metadata = {{"age_days", opt(age)}, {"threshold_days", threshold}}};
  const std::string n(noun);
  const std::string limit = std::to_string(threshold) + "d limit";
  if (threshold <= 0) {
    c.summary = n + " disabled by policy";
  } else if (!age) {
    c.status = core::Status::kWarn;
    c.summary = n + " age unknown";
  } else if (*age <= static_cast<double>(threshold) * kWarnRatio) {
    c.summary = n + " age " + days(*age) + " within target";
  } else if (*age <= static_cast<double>(threshold)) {
    c.status = core::Status::kWarn;
    c.summary = n + " age " + days(*age) + " approaching " + limit;
  } else {
    c.status = core::Status::kFail;
    c.summary = n + " age " + days(*age) + " exceeds " + limit;
  }
  return c;
}

Control drill_control(const std::optional<double>& age, std::int64_t threshold) {
  Control c{.control = "incident_response",
            .metadata = {{"age_days", opt(age)}, {"threshold_days", threshold}}};
  if (threshold <= 0) {
    c.summary = "incident drills disabled";
  } else if (!age) {
    c.status = core::Status::kWarn;
    c.summary = "incident drill history unavailable";
  } else if (*age <= static_cast<double>(threshold) * kWarnRatio) {
    c.summary = "last drill " + days(*age) + " ago";
  } else if (*age <= static_cast<double>(threshold)) {
    c.status = core::Status::kWarn;
    c.summary = "last drill " + days(*age) + " ago approaching target";
  } else {
    c.status = core::Status::kFail;
    c.summary = "last drill " + days(*age) + " ago exceeds target";
  }
  return c;
}

Control intrusion_control(const Policy& p, const State& s) {
  Control c{.control = "intrusion_detection",
            .metadata = {{"required", p.require_intrusion_detection},
                         {"enabled", s.intrusion_detection_enabled},
                         {"open_alerts", s.open_critical_alerts}}};
  const bool alerts = !s.open_critical_alerts.empty();
  if (!p.require_intrusion_detection) {
    c.status = alerts ? core::Status::kWarn : core::Status::kOk;
    c.summary = alerts ? "intrusion detection optional but critical alerts open"
                       : "intrusion detection optional";
  } else if (!s.intrusion_detection_enabled) {
    c.status = core::Status::kFail;
    c.summary = "intrusion detection disabled";
  } else if (alerts) {
    c.status = core::Status::kWarn;
    c.summary = "critical alerts require triage";
  } else {
    c.summary = "intrusion detection active";
  }
  return c;
}

Control tls_control(const Policy& p, const State& s) {
  std::set<std::string> observed;
  for (const auto& v : s.tls_versions) observed.insert(normalize_tls_version(v));
  const std::set<std::string> required(p.required_tls_versions.begin(),
                                       p.required_tls_versions.end());
  std::vector<std::string> missing;
  std::set_difference(required.begin(), required.end(), observed.begin(), observed.end(),
                      std::back_inserter(missing));
  const bool legacy =
      s.legacy_tls_in_use || observed.contains("TLS1.0") || observed.contains("TLS1.1");
  Control c{.control = "tls_configuration",
            .metadata = {{"observed_versions", observed},
                         {"required_versions", required},
                         {"missing_versions", missing},
                         {"legacy_tls", legacy},
                         {"allow_legacy", p.allow_legacy_tls}}};
  if (!missing.empty()) {
    c.status = core::Status::kFail;
    c.summary = "missing TLS versions: " + core::join(missing, ", ");
  } else if (legacy && !p.allow_legacy_tls) {
    c.status = core::Status::kWarn;
    c.summary = "legacy TLS detected";
  } else {
    c.summary = "TLS configuration meets policy";
  }
  return c;
}

Control certificate_control(const Policy& p, double expiry) {
  Control c{.control = "certificate_expiry",
            .metadata = {{"expiry_days", expiry},
                         {"warn_days", p.certificate_warn_days},
                         {"fail_days", p.certificate_fail_days}}};
  const auto under = [](std::int64_t d) { return " (under " + std::to_string(d) + "d)"; };
  if (expiry < 0) {
    c.status = core::Status::kFail;
    c.summary = "certificate expired " + days(-expiry) + " ago";
  } else if (expiry < static_cast<double>(p.certificate_fail_days)) {
    c.status = core::Status::kFail;
    c.summary = "certificate expires in " + days(expiry) + under(p.certificate_fail_days);
  } else if (expiry < static_cast<double>(p.certificate_warn_days)) {
    c.status = core::Status::kWarn;
    c.summary = "certificate expires in " + days(expiry) + under(p.certificate_warn_days);
  } else {
    c.summary = "certificate valid for " + days(expiry);
  }
  return c;
}

Control failed_logins_control(const Policy& p, std::int64_t n) {
  Control c{.control = "failed_logins",
            .metadata = {{"failed_logins_last_hour", n},
                         {"warn_threshold", p.failed_logins_warn},
                         {"fail_threshold", p.failed_logins_fail}}};
  const std::string head = std::to_string(n) + " failed logins in the last hour";
  if (p.failed_logins_fail > 0 && n >= p.failed_logins_fail) {
    c.status = core::Status::kFail;
    c.summary = head + " reaches fail threshold " + std::to_string(p.failed_logins_fail);
  } else if (p.failed_logins_warn > 0 && n >= p.failed_logins_warn) {
    c.status = core::Status::kWarn;
    c.summary = head + " reaches warn threshold " + std::to_string(p.failed_logins_warn);
  } else {
    c.summary = head;
  }
  return c;
}

std::vector<Control> controls_of(const Policy& p, const State& s) {
  std::vector<Control> out;
  out.push_back(mfa_control(p, s));
  out.push_back(age_control("credential_rotation", "rotation", s.credential_age_days,
                            p.credential_rotation_days));
  out.push_back(
      age_control("secrets_rotation", "rotation", s.secrets_age_days, p.secrets_rotation_days));
  out.push_back(drill_control(s.incident_drill_age_days, p.incident_drill_interval_days));
  out.push_back(age_control("vulnerability_scan", "scan", s.vulnerability_scan_age_days,
                            p.vulnerability_scan_interval_days));
  out.push_back(intrusion_control(p, s));
  out.push_back(tls_control(p, s));
  if (!s.secrets_manager_healthy) {
    out.push_back({.control = "secrets_manager",
                   .status = core::Status::kWarn,
                   .summary = "secrets manager degraded",
                   .metadata = {{"healthy", false}}});
  }
  if (s.certificate_expiry_days) out.push_back(certificate_control(p, *s.certificate_expiry_days));
  if (s.privileged_access_review_age_days) {
    out.push_back(age_control("privileged_access_review", "review",
                              s.privileged_access_review_age_days,
                              p.privileged_access_review_days));
  }
  if (s.failed_logins_last_hour) {
    out.push_back(failed_logins_control(p, *s.failed_logins_last_hour));
  }
  return out;
}

json to_json(const Control& c) {
  json j = {{"control", c.control}, {"status", word(c.status)}, {"summary", c.summary}};
  if (!c.metadata.empty()) j["metadata"] = c.metadata;
  return j;
}

// One finding per warn/fail control. A failing secrets rotation carries the spec's structured
// warning (§6.2) as its message and detail.
Findings findings_of(const std::vector<Control>& controls, const State& s, const Policy& p) {
  Findings f{std::string(kSecurityName)};
  for (const Control& c : controls) {
    if (c.status == core::Status::kOk) continue;
    std::string message = c.control + ": " + c.summary;
    json detail = c.metadata.empty() ? json() : c.metadata;
    if (c.control == "secrets_rotation" && c.status == core::Status::kFail && s.secrets_age_days) {
      message = "Secrets rotation age " + days(*s.secrets_age_days) + " exceeds " +
                std::to_string(p.secrets_rotation_days) + "d policy limit";
      detail = {{"security_control", "secrets_rotation"},
                {"secrets_age_days", *s.secrets_age_days},
                {"secrets_threshold_days", p.secrets_rotation_days}};
    }
    f.add(c.control, c.status, std::move(message), std::string(kCodePrefix) + "." + slug(c.control),
          std::move(detail));
  }
  return f;
}

// ---- Reading back a report (summary, Markdown) -------------------------------------------------

struct ControlRow {
  std::string control;
  std::string status;  // pass / warn / fail
  std::string summary;
};

std::vector<ControlRow> rows_of(const json& report) {
  std::vector<ControlRow> rows;
  const auto it = report.find("controls");
  if (it == report.end() || !it->is_array()) return rows;
  for (const auto& c : *it) {
    if (!c.is_object()) continue;
    ControlRow r;
    if (const auto v = c.find("control"); v != c.end() && v->is_string()) r.control = *v;
    if (const auto v = c.find("summary"); v != c.end() && v->is_string()) r.summary = *v;
    if (const auto v = c.find("status"); v != c.end() && v->is_string()) {
      const auto st = core::parse_status(v->get<std::string>());
      r.status = st ? std::string(word(*st)) : v->get<std::string>();
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

// §6.2 Markdown: the controls table, UPPERCASE status.
std::string markdown_of(const json& report) {
  const auto rows = rows_of(report);
  if (rows.empty()) return "| Control | Status | Summary |\n| --- | --- | --- |\n";
  std::vector<std::string> lines = {"| Control | Status | Summary |", "| --- | --- | --- |"};
  for (const auto& r : rows) {
    lines.push_back("| " + core::markdown_inline(r.control) + " | " +
                    core::markdown_inline(core::to_upper(r.status)) + " | " +
                    core::markdown_inline(r.summary) + " |");
  }
  return core::join(lines, "\n");
}

std::string summary_of(const json& report) {
  const auto rows = rows_of(report);
  std::vector<std::string> failing;
  std::vector<std::string> warning;
  for (const auto& r : rows) {
    if (r.status == "fail") failing.push_back(r.control);
    if (r.status == "warn") warning.push_back(r.control);
  }
  std::string s = std::to_string(rows.size()) + " controls evaluated";
  if (!failing.empty()) s += "; fail: " + core::join(failing, ", ");
  if (!warning.empty()) s += "; warn: " + core::join(warning, ", ");
  if (failing.empty() && warning.empty()) s += "; all pass";
  return s;
}

// ---- Assembly --------------------------------------------------------------------------------

Evaluated assemble(const SecurityConfig& config, const Findings& findings, core::Status status,
                   json report, core::TimePoint observed_at, std::string_view source,
                   const std::vector<std::string>& ignored_policy, json policy) {
  Evaluated e;
  e.snapshot.component = std::string(kSecurityName);
  e.snapshot.status = status;
  e.snapshot.observed_at = observed_at;
  findings.write_to(e.snapshot);
  e.snapshot.summary = summary_of(report);
  json meta = report.contains("metadata") && report["metadata"].is_object() ? report["metadata"]
                                                                            : json::object();
  findings.write_metadata(meta);
  meta["controls"] = report.contains("controls") ? report["controls"] : json::array();
  meta["source"] = source;
  meta["service"] = report.contains("service") && report["service"].is_string()
                        ? report["service"].get<std::string>()
                        : config.service;
  if (!policy.is_null()) meta["policy"] = std::move(policy);
  if (!ignored_policy.empty()) meta["ignored_document_policy"] = ignored_policy;
  e.snapshot.metadata = std::move(meta);
  e.markdown = markdown_of(report);
  e.report = std::move(report);
  return e;
}

core::Result<Evaluated> evaluate_input(const SecurityConfig& config, const Input& in,
                                       core::TimePoint now) {
  const std::vector<Control> controls = controls_of(in.policy, in.state);
  core::Status status = core::Status::kOk;
  json rendered = json::array();
  for (const Control& c : controls) {
    status = core::escalate(status, c.status);
    rendered.push_back(to_json(c));
  }
  // §6.2: the caller's metadata first, the derived keys override it.
  json meta = in.caller_metadata;
  meta["open_critical_alerts"] = in.state.open_critical_alerts;
  meta["tls_versions"] = in.state.tls_versions;
  meta["controls_evaluated"] = controls.size();
  meta["mfa_coverage"] = in.state.mfa_coverage();
  if (in.state.failed_logins_last_hour) {
    meta["failed_logins_last_hour"] = *in.state.failed_logins_last_hour;
  }
  json report = {{"service", in.service},
                 {"generated_at", core::format_rfc3339(now)},
                 {"status", word(status)},
                 {"controls", std::move(rendered)},
                 {"metadata", std::move(meta)}};
  const Findings findings = findings_of(controls, in.state, in.policy);
  return assemble(config, findings, status, std::move(report), now, in.source, in.ignored_policy,
                  to_json(in.policy));
}

// An evaluated SecurityPostureSnapshot: its controls become the findings.
core::Result<Evaluated> evaluate_snapshot(const SecurityConfig& config, const Doc& root,
                                          const json& doc, core::TimePoint now) {
  if (auto ok = root.only({"service", "generated_at", "status", "controls", "metadata"}); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto v = root.string("service"); !v) return std::unexpected(v.error());
  auto base = from_evaluated(kSecurityName, kCodePrefix, doc, now, "", "");
  if (!base) return std::unexpected(base.error());
  auto controls = root.array("controls");
  if (!controls) return std::unexpected(controls.error());
  Findings findings{std::string(kSecurityName)};
  if (*controls != nullptr) {
    for (std::size_t i = 0; i < (*controls)->size(); ++i) {
      const std::string path = root.path_of("controls") + "[" + std::to_string(i) + "]";
      const json& item = (**controls)[i];
      if (!item.is_object()) return core::fail("invalid_document", "must be an object", path);
      Doc c(item, path);
      if (auto ok = c.only({"control", "status", "summary", "metadata"}); !ok) {
        return std::unexpected(ok.error());
      }
      auto name = c.string("control");
      if (!name) return std::unexpected(name.error());
      if (!*name) return std::unexpected(c.error("control", "required field is missing"));
      auto status_word = c.string("status");
      if (!status_word) return std::unexpected(status_word.error());
      if (!*status_word) return std::unexpected(c.error("status", "required field is missing"));
      auto st = core::parse_status(**status_word);
      if (!st) return std::unexpected(c.error("status", st.error().message));
      auto summary = c.string("summary");
      if (!summary) return std::unexpected(summary.error());
      auto meta = c.object("metadata");
      if (!meta) return std::unexpected(meta.error());
      if (*st == core::Status::kOk) continue;
      json detail = *meta ? (*meta)->json() : json();
      findings.add(**name, *st, **name + ": " + summary->value_or(std::string(word(*st))),
                   std::string(kCodePrefix) + "." + slug(**name), std::move(detail));
    }
  }
  // The document's status stands, raised by its controls.
  const core::Status status = core::escalate(base->snapshot.status, findings.worst());
  return assemble(config, findings, status, doc, base->snapshot.observed_at, "evaluated_snapshot",
                  {}, nullptr);
}

}  // namespace

std::string normalize_tls_version(std::string_view token) {
  std::string s;
  for (char ch : core::trim(token)) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isspace(c) || ch == '-') continue;
    s += ch == '_' ? '.' : static_cast<char>(std::toupper(c));
  }
  if (s.starts_with("TLSV")) s.erase(3, 1);
  if (s.starts_with("TLS.")) s.erase(3, 1);
  if (!s.empty() && std::isdigit(static_cast<unsigned char>(s.front()))) s = "TLS" + s;
  return s;
}

// ---- Config ----------------------------------------------------------------------------------

core::Result<void> validate(const SecurityConfig& c) {
  if (core::trim(c.service).empty()) {
    return core::fail("invalid_parameter", "must not be empty", "service");
  }
  if (!std::isfinite(c.minimum_mfa_coverage) || c.minimum_mfa_coverage < 0 ||
      c.minimum_mfa_coverage > 1) {
    return core::fail("invalid_parameter", "must be a ratio between 0 and 1 (0.95 = 95%)",
                      "minimum_mfa_coverage");
  }
  for (const auto& v : c.required_tls_versions) {
    const std::string n = normalize_tls_version(v);
    if (!n.starts_with("TLS") || n.size() < 4) {
      return core::fail("invalid_parameter", "'" + v + "' is not a TLS version (e.g. TLS1.2)",
                        "required_tls_versions");
    }
  }
  if (c.certificate_warn_days > 0 && c.certificate_fail_days > c.certificate_warn_days) {
    return core::fail("invalid_parameter", "must not be above certificate_warn_days",
                      "certificate_fail_days");
  }
  if (c.failed_logins_warn > 0 && c.failed_logins_fail > 0 &&
      c.failed_logins_fail < c.failed_logins_warn) {
    return core::fail("invalid_parameter", "must not be below failed_logins_warn",
                      "failed_logins_fail");
  }
  return {};
}

// ---- Security --------------------------------------------------------------------------------

Security::Security(const SecurityConfig& config)
    : DocumentComponent(std::string(kSecurityName), "operational.security",
                        {std::string(kSecurityTopic)}),
      config_(config) {}

core::Result<std::unique_ptr<Security>> Security::create(const SecurityConfig& config) {
  if (auto ok = validate(config); !ok) return std::unexpected(ok.error());
  return std::unique_ptr<Security>(new Security(config));
}

core::Result<Evaluated> Security::evaluate(const nlohmann::json& doc, core::TimePoint now) {
  auto root = root_object(doc, "a security document");
  if (!root) return std::unexpected(root.error());
  if (root->has("status")) return evaluate_snapshot(config_, *root, doc, now);
  auto input = fields::has_key_prefix(doc, "SECURITY_") ? read_env(*root, config_)
                                                        : read_structured(*root, config_);
  if (!input) return std::unexpected(input.error());
  return evaluate_input(config_, *input, now);
}

}  // namespace opsready::components
