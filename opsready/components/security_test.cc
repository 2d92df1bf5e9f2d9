#include "opsready/components/security.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "opsready/core/time.h"

namespace opsready::components {
namespace {

using nlohmann::json;

const core::TimePoint kT0 = core::parse_rfc3339("2025-01-05T00:00:00Z").value();
const std::filesystem::path kTestdata =
    std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "examples" /
    "documents" / "security";

Evaluated eval(const json& doc, SecurityConfig c = {}) {
  auto e = Security::create(c).value()->evaluate(doc, kT0);
  EXPECT_TRUE(e.has_value()) << (e ? "" : e.error().describe());
  return e ? *e : Evaluated{};
}

core::Error refusal(const json& doc, SecurityConfig c = {}) {
  auto e = Security::create(c).value()->evaluate(doc, kT0);
  EXPECT_FALSE(e.has_value());
  return e ? core::Error{} : e.error();
}

std::string codes(const core::ComponentSnapshot& s) {
  std::string out;
  for (const auto& i : s.issues) {
    out += (out.empty() ? "" : ",") + i.code + "=" + std::string(core::to_string(i.severity));
  }
  return out;
}

// control → "status: summary" of a report.
std::map<std::string, std::string> controls(const Evaluated& e) {
  std::map<std::string, std::string> out;
  for (const auto& c : e.report["controls"]) {
    out[c["control"].get<std::string>()] =
        c["status"].get<std::string>() + ": " + c["summary"].get<std::string>();
  }
  return out;
}

std::string control(const Evaluated& e, const std::string& name) {
  const auto all = controls(e);
  const auto it = all.find(name);
  return it == all.end() ? "(absent)" : it->second;
}

// The spec's passing posture (§10).
json passing() {
  return {{"service", "emp"},
          {"policy",
           {{"minimum_mfa_coverage", 0.8},
            {"credential_rotation_days", 90},
            {"secrets_rotation_days", 30},
            {"incident_drill_interval_days", 120},
            {"vulnerability_scan_interval_days", 45},
            {"required_tls_versions", {"TLS1.2", "TLS1.3"}},
            {"require_intrusion_detection", true}}},
          {"state",
           {{"total_users", 10},
            {"mfa_enabled_users", 9},
            {"credential_age_days", 10},
            {"secrets_age_days", 5},
            {"incident_drill_age_days", 30},
            {"vulnerability_scan_age_days", 10},
            {"intrusion_detection_enabled", true},
            {"open_critical_alerts", json::array()},
            {"tls_versions", {"TLS1.2", "TLS1.3"}},
            {"secrets_manager_healthy", true}}}};
}

// The spec's degraded posture (§10).
json degraded() {
  return {{"service", "emp"},
          {"policy",
           {{"minimum_mfa_coverage", 0.9},
            {"credential_rotation_days", 30},
            {"secrets_rotation_days", 15},
            {"incident_drill_interval_days", 60},
            {"vulnerability_scan_interval_days", 30},
            {"required_tls_versions", {"TLS1.2", "TLS1.3"}},
            {"require_intrusion_detection", true}}},
          {"state",
           {{"total_users", 20},
            {"mfa_enabled_users", 5},
            {"credential_age_days", 120},
            {"secrets_age_days", 40},
            {"incident_drill_age_days", 120},
            {"vulnerability_scan_age_days", 50},
            {"intrusion_detection_enabled", false},
            {"open_critical_alerts", {"alert-1"}},
            {"tls_versions", {"TLS1.2", "TLS1.1"}},
            {"legacy_tls_in_use", true},
            {"secrets_manager_healthy", false}}}};
}

json with_state(json doc, const json& patch) {
  doc["state"].update(patch);
  return doc;
}

json with_policy(json doc, const json& patch) {
  doc["policy"].update(patch);
  return doc;
}

TEST(Security, Identity) {
  auto s = Security::create({}).value();
  EXPECT_EQ(s->name(), "security");
  EXPECT_EQ(s->alert_category(), "operational.security");
  EXPECT_TRUE(s->consumes("telemetry.operational.security"));
  EXPECT_FALSE(s->consumes("telemetry.operational.incident_response"));
  EXPECT_FALSE(s->active());
}

TEST(Security, AllControlsPass) {
  const Evaluated e = eval(passing());
  EXPECT_EQ(e.report["status"], "pass");
  EXPECT_EQ(e.snapshot.status, core::Status::kOk);
  EXPECT_TRUE(e.snapshot.issues.empty());
  EXPECT_EQ(e.report["service"], "emp");
  EXPECT_EQ(e.report["generated_at"], "2025-01-05T00:00:00Z");
  EXPECT_EQ(e.report["metadata"]["controls_evaluated"], 7);
  EXPECT_EQ(e.report["controls"].size(), 7u);
  EXPECT_EQ(e.report["metadata"]["mfa_coverage"], 0.9);
  EXPECT_EQ(e.snapshot.summary, "7 controls evaluated; all pass");
  EXPECT_EQ(e.markdown,
            "| Control | Status | Summary |\n"
            "| --- | --- | --- |\n"
            "| mfa_coverage | PASS | MFA coverage 90% meets target |\n"
            "| credential_rotation | PASS | rotation age 10d within target |\n"
            "| secrets_rotation | PASS | rotation age 5d within target |\n"
            "| incident_response | PASS | last drill 30d ago |\n"
            "| vulnerability_scan | PASS | scan age 10d within target |\n"
            "| intrusion_detection | PASS | intrusion detection active |\n"
            "| tls_configuration | PASS | TLS configuration meets policy |");
  EXPECT_EQ(e.report["controls"][0]["metadata"],
            json({{"coverage", 0.9}, {"minimum", 0.8}, {"total_users", 10}, {"mfa_enabled", 9}}));
}

TEST(Security, DegradedPostureFails) {
  const Evaluated e = eval(degraded());
  EXPECT_EQ(e.report["status"], "fail");
  EXPECT_EQ(e.snapshot.status, core::Status::kFail);
  EXPECT_EQ(controls(e), (std::map<std::string, std::string>{
                             {"mfa_coverage", "fail: MFA coverage 25% critically below 90%"},
                             {"credential_rotation", "fail: rotation age 120d exceeds 30d limit"},
                             {"secrets_rotation", "fail: rotation age 40d exceeds 15d limit"},
                             {"incident_response", "fail: last drill 120d ago exceeds target"},
                             {"vulnerability_scan", "fail: scan age 50d exceeds 30d limit"},
                             {"intrusion_detection", "fail: intrusion detection disabled"},
                             {"tls_configuration", "fail: missing TLS versions: TLS1.3"},
                             {"secrets_manager", "warn: secrets manager degraded"}}));
  EXPECT_EQ(e.report["metadata"]["open_critical_alerts"], json({"alert-1"}));
  EXPECT_EQ(e.report["metadata"]["tls_versions"], json({"TLS1.2", "TLS1.1"}));
  EXPECT_EQ(e.report["metadata"]["controls_evaluated"], 8);
  EXPECT_EQ(codes(e.snapshot),
            "security.mfa_coverage=critical,security.credential_rotation=critical,"
            "security.secrets_rotation=critical,security.incident_response=critical,"
            "security.vulnerability_scan=critical,security.intrusion_detection=critical,"
            "security.tls_configuration=critical,security.secrets_manager=warning");
  EXPECT_EQ(e.snapshot.issues[1].message,
            "credential_rotation: rotation age 120d exceeds 30d limit");
  EXPECT_EQ(e.snapshot.issues[1].runbook, "docs/runbooks/security.md#credential_rotation");
  EXPECT_EQ(e.snapshot.summary,
            "8 controls evaluated; fail: mfa_coverage, credential_rotation, secrets_rotation, "
            "incident_response, vulnerability_scan, intrusion_detection, tls_configuration; "
            "warn: secrets_manager");
  EXPECT_EQ(e.snapshot.metadata["issue_counts"], json({{"fail", 7}, {"warn", 1}}));
  const json& tls = e.report["controls"][6]["metadata"];
  EXPECT_EQ(tls["observed_versions"], json({"TLS1.1", "TLS1.2"}));
  EXPECT_EQ(tls["missing_versions"], json({"TLS1.3"}));
  EXPECT_EQ(tls["legacy_tls"], true);
}

// §6.2: a failing secrets rotation carries the spec's structured warning.
TEST(Security, SecretsRotationFailureWarning) {
  const Evaluated e = eval(with_policy(with_state(passing(), {{"secrets_age_days", 25}}),
                                       {{"secrets_rotation_days", 10}}));
  EXPECT_EQ(control(e, "secrets_rotation"), "fail: rotation age 25d exceeds 10d limit");
  ASSERT_EQ(e.snapshot.issues.size(), 1u);
  EXPECT_EQ(e.snapshot.issues[0].message, "Secrets rotation age 25d exceeds 10d policy limit");
  EXPECT_EQ(e.snapshot.metadata["issue_details"][0]["detail"],
            json({{"security_control", "secrets_rotation"},
                  {"secrets_age_days", 25.0},
                  {"secrets_threshold_days", 10}}));
}

TEST(Security, EnvMappingParsing) {
  const json mapping = {{"SECURITY_MFA_MIN_COVERAGE", "0.85"},
                        {"SECURITY_CREDENTIAL_ROTATION_DAYS", "45"},
                        {"SECURITY_REQUIRED_TLS_VERSIONS", "TLS1.2,TLS1.3"},
                        {"SECURITY_ALLOW_LEGACY_TLS", "false"},
                        {"SECURITY_TOTAL_USERS", "50"},
                        {"SECURITY_USERS_WITH_MFA", "40"},
                        {"SECURITY_CREDENTIAL_AGE_DAYS", "20"},
                        {"SECURITY_OPEN_ALERTS", "alert-a;alert-b"},
                        {"SECURITY_TLS_VERSIONS", {"TLS1.2", "TLS1.3"}},
                        {"SECURITY_SERVICE_NAME", "edge"}};
  const Evaluated e = eval(mapping);
  const json& policy = e.snapshot.metadata["policy"];
  EXPECT_EQ(policy["minimum_mfa_coverage"], 0.85);
  EXPECT_EQ(policy["credential_rotation_days"], 45);
  EXPECT_EQ(e.report["controls"][0]["metadata"]["total_users"], 50);
  EXPECT_EQ(e.report["controls"][0]["metadata"]["mfa_enabled"], 40);
  EXPECT_EQ(e.report["metadata"]["open_critical_alerts"], json({"alert-a", "alert-b"}));
  EXPECT_EQ(e.report["service"], "edge");
  EXPECT_EQ(control(e, "mfa_coverage"), "warn: MFA coverage 80% below 85% target");
  EXPECT_EQ(control(e, "credential_rotation"), "pass: rotation age 20d within target");
  EXPECT_EQ(e.snapshot.metadata["source"], "env_mapping");
  // Clamps: negative counts become 0; integers are truncated.
  const Evaluated c = eval({{"SECURITY_TOTAL_USERS", -5}, {"SECURITY_USERS_WITH_MFA", "3.9"}});
  EXPECT_EQ(c.report["controls"][0]["metadata"]["total_users"], 0);
  EXPECT_EQ(c.report["controls"][0]["metadata"]["mfa_enabled"], 3);
  EXPECT_EQ(control(c, "mfa_coverage"), "warn: no eligible users recorded");
  EXPECT_EQ(c.report["service"], "emp_platform");
}

TEST(Security, CallerMetadataMergedUnderDerivedKeys) {
  json doc = passing();
  doc["metadata"] = {{"region", "eu"}, {"controls_evaluated", 99}};
  const json before = doc;
  const Evaluated e = eval(doc);
  EXPECT_EQ(doc, before);
  EXPECT_EQ(e.report["metadata"]["region"], "eu");
  EXPECT_EQ(e.report["metadata"]["controls_evaluated"], 7);
}

TEST(Security, FailedLoginsInMetadata) {
  const Evaluated e = eval(with_state(passing(), {{"failed_logins_last_hour", 7}}));
  EXPECT_EQ(e.report["metadata"]["failed_logins_last_hour"], 7);
  EXPECT_EQ(control(e, "failed_logins"), "pass: 7 failed logins in the last hour");
  const Evaluated negative = eval(with_state(passing(), {{"failed_logins_last_hour", -3}}));
  EXPECT_EQ(negative.report["metadata"]["failed_logins_last_hour"], 0);
  EXPECT_FALSE(eval(passing()).report["metadata"].contains("failed_logins_last_hour"));
}

// §6.2 MFA bands with min 0.95: 95% passes; 85% and 80% warn (with the epsilon, 80% against
// 0.95 − 0.15 is deterministic); 79% fails.
TEST(Security, MfaBands) {
  struct Case {
    int enabled;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {95, "pass: MFA coverage 95% meets target"},
      {94, "warn: MFA coverage 94% below 95% target"},
      {85, "warn: MFA coverage 85% below 95% target"},
      {80, "warn: MFA coverage 80% below 95% target"},
      {79, "fail: MFA coverage 79% critically below 95%"},
      {0, "fail: MFA coverage 0% critically below 95%"},
  };
  for (const Case& c : cases) {
    const Evaluated e = eval({{"state", {{"total_users", 100}, {"mfa_enabled_users", c.enabled}}}});
    EXPECT_EQ(control(e, "mfa_coverage"), c.expected) << c.enabled;
  }
  // More enabled users than users: clamped to 100%.
  const Evaluated over = eval({{"state", {{"total_users", 10}, {"mfa_enabled_users", 12}}}});
  EXPECT_EQ(control(over, "mfa_coverage"), "pass: MFA coverage 100% meets target");
  // No users: warn, or pass when the minimum is 0.
  EXPECT_EQ(control(eval({{"state", json::object()}}), "mfa_coverage"),
            "warn: no eligible users recorded");
  EXPECT_EQ(control(eval({{"policy", {{"minimum_mfa_coverage", 0}}}, {"state", json::object()}}),
                    "mfa_coverage"),
            "pass: no eligible users recorded");
}

// The MFA minimum is percent-aware: 95, "95" and "95%" are all 0.95.
TEST(Security, MfaMinimumIsPercentAware) {
  for (const json& v : {json(95), json("95"), json("95%"), json(0.95), json("0.95")}) {
    const Evaluated e = eval({{"SECURITY_MFA_MIN_COVERAGE", v},
                              {"SECURITY_TOTAL_USERS", 100},
                              {"SECURITY_USERS_WITH_MFA", 90}});
    EXPECT_EQ(e.snapshot.metadata["policy"]["minimum_mfa_coverage"], 0.95) << v.dump();
    EXPECT_EQ(control(e, "mfa_coverage"), "warn: MFA coverage 90% below 95% target") << v.dump();
  }
  const Evaluated capped =
      eval({{"policy", {{"minimum_mfa_coverage", 250}}}, {"state", {{"total_users", 1}}}});
  EXPECT_EQ(capped.snapshot.metadata["policy"]["minimum_mfa_coverage"], 1.0);
}

// The rotation bands at their edges: pass ≤ 0.75·T, warn ≤ T, fail beyond.
TEST(Security, RotationBands) {
  struct Case {
    json age;
    int threshold;
    const char* credential;
    const char* scan;
  };
  const std::vector<Case> cases = {
      {json(30), 40, "pass: rotation age 30d within target", "pass: scan age 30d within target"},
      {json(30.5), 40, "warn: rotation age 30d approaching 40d limit",
       "warn: scan age 30d approaching 40d limit"},
      {json(40), 40, "warn: rotation age 40d approaching 40d limit",
       "warn: scan age 40d approaching 40d limit"},
      {json(40.2), 40, "fail: rotation age 40d exceeds 40d limit",
       "fail: scan age 40d exceeds 40d limit"},
      {json(), 40, "warn: rotation age unknown", "warn: scan age unknown"},
      {json(500), 0, "pass: rotation disabled by policy", "pass: scan disabled by policy"},
  };
  for (const Case& c : cases) {
    json state = {{"credential_age_days", c.age}, {"vulnerability_scan_age_days", c.age}};
    const Evaluated e = eval({{"policy",
                               {{"credential_rotation_days", c.threshold},
                                {"vulnerability_scan_interval_days", c.threshold}}},
                              {"state", state}});
    EXPECT_EQ(control(e, "credential_rotation"), c.credential) << c.age.dump();
    EXPECT_EQ(control(e, "vulnerability_scan"), c.scan) << c.age.dump();
  }
  struct Drill {
    json age;
    int threshold;
    const char* expected;
  };
  const std::vector<Drill> drills = {
      {json(30), 40, "pass: last drill 30d ago"},
      {json(31), 40, "warn: last drill 31d ago approaching target"},
      {json(41), 40, "fail: last drill 41d ago exceeds target"},
      {json(), 40, "warn: incident drill history unavailable"},
      {json(10), 0, "pass: incident drills disabled"},
  };
  for (const Drill& d : drills) {
    const Evaluated e = eval({{"policy", {{"incident_drill_interval_days", d.threshold}}},
                              {"state", {{"incident_drill_age_days", d.age}}}});
    EXPECT_EQ(control(e, "incident_response"), d.expected) << d.age.dump();
  }
}

TEST(Security, IntrusionDetection) {
  struct Case {
    bool required;
    bool enabled;
    json alerts;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {false, false, json::array(), "pass: intrusion detection optional"},
      {false, false, {"a"}, "warn: intrusion detection optional but critical alerts open"},
      {true, false, json::array(), "fail: intrusion detection disabled"},
      {true, true, {"a"}, "warn: critical alerts require triage"},
      {true, true, json::array(), "pass: intrusion detection active"},
  };
  for (const Case& c : cases) {
    const Evaluated e =
        eval({{"policy", {{"require_intrusion_detection", c.required}}},
              {"state",
               {{"intrusion_detection_enabled", c.enabled}, {"open_critical_alerts", c.alerts}}}});
    EXPECT_EQ(control(e, "intrusion_detection"), c.expected);
  }
}

TEST(Security, TlsTokensAreNormalized) {
  EXPECT_EQ(normalize_tls_version("TLS 1.2"), "TLS1.2");
  EXPECT_EQ(normalize_tls_version(" tlsv1.3 "), "TLS1.3");
  EXPECT_EQ(normalize_tls_version("TLS_1_2"), "TLS1.2");
  EXPECT_EQ(normalize_tls_version("TLS-1.1"), "TLS1.1");
  EXPECT_EQ(normalize_tls_version("1.0"), "TLS1.0");
  EXPECT_EQ(normalize_tls_version("TLS1.3"), "TLS1.3");
  EXPECT_EQ(normalize_tls_version("SSLv3"), "SSLV3");

  const Evaluated ok = eval({{"state", {{"tls_versions", "TLS 1.2; tlsv1.3"}}}});
  EXPECT_EQ(control(ok, "tls_configuration"), "pass: TLS configuration meets policy");
  EXPECT_EQ(ok.report["metadata"]["tls_versions"], json({"TLS 1.2", "tlsv1.3"}));  // as supplied
  const Evaluated missing = eval(
      {{"policy", {{"required_tls_versions", {"tls1.3", "TLS 1.2"}}}}, {"state", json::object()}});
  EXPECT_EQ(control(missing, "tls_configuration"), "fail: missing TLS versions: TLS1.2, TLS1.3");
  const Evaluated legacy = eval({{"state", {{"tls_versions", {"TLS1.2", "TLS1.3", "tls 1.0"}}}}});
  EXPECT_EQ(control(legacy, "tls_configuration"), "warn: legacy TLS detected");
  const Evaluated flagged =
      eval({{"state", {{"tls_versions", {"TLS1.2", "TLS1.3"}}, {"legacy_tls_in_use", "yes"}}}});
  EXPECT_EQ(control(flagged, "tls_configuration"), "warn: legacy TLS detected");
  const Evaluated allowed = eval({{"policy", {{"allow_legacy_tls", true}}},
                                  {"state", {{"tls_versions", {"TLS1.2", "TLS1.3", "TLS1.1"}}}}});
  EXPECT_EQ(control(allowed, "tls_configuration"), "pass: TLS configuration meets policy");
  // An empty required list means the default (§6.1).
  const Evaluated empty =
      eval({{"SECURITY_REQUIRED_TLS_VERSIONS", ""}, {"SECURITY_TLS_VERSIONS", "TLS1.2"}});
  EXPECT_EQ(control(empty, "tls_configuration"), "fail: missing TLS versions: TLS1.3");
}

TEST(Security, OpsreadyAdditions) {
  // Absent fields: not evaluated.
  EXPECT_EQ(control(eval(passing()), "certificate_expiry"), "(absent)");
  EXPECT_EQ(control(eval(passing()), "privileged_access_review"), "(absent)");
  EXPECT_EQ(control(eval(passing()), "failed_logins"), "(absent)");
  struct Case {
    const char* field;
    json value;
    const char* control;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"certificate_expiry_days", 30, "certificate_expiry", "pass: certificate valid for 30d"},
      {"certificate_expiry_days", 29.6, "certificate_expiry",
       "warn: certificate expires in 30d (under 30d)"},
      {"certificate_expiry_days", 7, "certificate_expiry",
       "warn: certificate expires in 7d (under 30d)"},
      {"certificate_expiry_days", 6.5, "certificate_expiry",
       "fail: certificate expires in 6d (under 7d)"},
      {"certificate_expiry_days", -2, "certificate_expiry", "fail: certificate expired 2d ago"},
      {"privileged_access_review_age_days", 67.5, "privileged_access_review",
       "pass: review age 68d within target"},
      {"privileged_access_review_age_days", 68, "privileged_access_review",
       "warn: review age 68d approaching 90d limit"},
      {"privileged_access_review_age_days", 90, "privileged_access_review",
       "warn: review age 90d approaching 90d limit"},
      {"privileged_access_review_age_days", 91, "privileged_access_review",
       "fail: review age 91d exceeds 90d limit"},
      {"failed_logins_last_hour", 19, "failed_logins", "pass: 19 failed logins in the last hour"},
      {"failed_logins_last_hour", 20, "failed_logins",
       "warn: 20 failed logins in the last hour reaches warn threshold 20"},
      {"failed_logins_last_hour", 99, "failed_logins",
       "warn: 99 failed logins in the last hour reaches warn threshold 20"},
      {"failed_logins_last_hour", 100, "failed_logins",
       "fail: 100 failed logins in the last hour reaches fail threshold 100"},
  };
  for (const Case& c : cases) {
    const Evaluated e = eval(with_state(passing(), {{c.field, c.value}}));
    EXPECT_EQ(control(e, c.control), c.expected) << c.field << "=" << c.value.dump();
  }
  // After the spec's eight, in this order; thresholds from the config or the document.
  const Evaluated all = eval(with_state(degraded(), {{"certificate_expiry_days", 3},
                                                     {"privileged_access_review_age_days", 10},
                                                     {"failed_logins_last_hour", 25}}),
                             {.failed_logins_warn = 30, .failed_logins_fail = 50});
  ASSERT_EQ(all.report["controls"].size(), 11u);
  EXPECT_EQ(all.report["controls"][8]["control"], "certificate_expiry");
  EXPECT_EQ(all.report["controls"][9]["control"], "privileged_access_review");
  EXPECT_EQ(all.report["controls"][10]["control"], "failed_logins");
  EXPECT_EQ(all.report["controls"][10]["status"], "pass");
  EXPECT_EQ(all.snapshot.issues.back().code, "security.certificate_expiry");
  const Evaluated env = eval({{"SECURITY_FAILED_LOGINS_LAST_HOUR", "8"},
                              {"SECURITY_FAILED_LOGINS_WARN", "5"},
                              {"SECURITY_FAILED_LOGINS_FAIL", "0"}});
  EXPECT_EQ(control(env, "failed_logins"),
            "warn: 8 failed logins in the last hour reaches warn threshold 5");
}

TEST(Security, DocumentPolicyCanBeTurnedOff) {
  const json doc = with_policy(passing(), {{"credential_rotation_days", 5}});
  EXPECT_EQ(control(eval(doc), "credential_rotation"), "fail: rotation age 10d exceeds 5d limit");
  const Evaluated off = eval(doc, {.document_policy = false});
  EXPECT_EQ(control(off, "credential_rotation"), "pass: rotation age 10d within target");
  EXPECT_EQ(off.snapshot.metadata["policy"]["minimum_mfa_coverage"], 0.95);
  EXPECT_EQ(off.snapshot.metadata["ignored_document_policy"].size(), 7u);
}

TEST(Security, EvaluatedSnapshotIntake) {
  const json evaluated = {
      {"service", "emp"},
      {"generated_at", "2025-01-04T08:00:00+00:00"},
      {"status", "warn"},
      {"controls",
       {{{"control", "mfa_coverage"},
         {"status", "pass"},
         {"summary", "MFA coverage 97% meets target"},
         {"metadata", {{"coverage", 0.97}}}},
        {{"control", "secrets_manager"},
         {"status", "warn"},
         {"summary", "secrets manager degraded"},
         {"metadata", {{"healthy", false}}}},
        {{"control", "tls_configuration"}, {"status", "fail"}, {"summary", "missing TLS | x"}}}},
      {"metadata", {{"controls_evaluated", 3}}}};
  const Evaluated e = eval(evaluated);
  EXPECT_EQ(e.snapshot.observed_at, core::parse_rfc3339("2025-01-04T08:00:00Z").value());
  EXPECT_EQ(e.snapshot.status, core::Status::kFail);  // raised by its failing control
  EXPECT_EQ(codes(e.snapshot),
            "security.secrets_manager=warning,security.tls_configuration=critical");
  EXPECT_EQ(e.snapshot.issues[0].message, "secrets_manager: secrets manager degraded");
  EXPECT_EQ(e.report, evaluated);
  EXPECT_EQ(e.snapshot.metadata["source"], "evaluated_snapshot");
  EXPECT_EQ(e.snapshot.metadata["issue_details"][0]["detail"], json({{"healthy", false}}));
  EXPECT_EQ(e.markdown,
            "| Control | Status | Summary |\n"
            "| --- | --- | --- |\n"
            "| mfa_coverage | PASS | MFA coverage 97% meets target |\n"
            "| secrets_manager | WARN | secrets manager degraded |\n"
            "| tls_configuration | FAIL | missing TLS \\| x |");
  EXPECT_EQ(e.snapshot.summary,
            "3 controls evaluated; fail: tls_configuration; warn: secrets_manager");

  // No controls: the header, the separator and a trailing newline.
  const Evaluated none = eval({{"status", "pass"}, {"controls", json::array()}});
  EXPECT_EQ(none.markdown, "| Control | Status | Summary |\n| --- | --- | --- |\n");
  EXPECT_EQ(none.snapshot.status, core::Status::kOk);
  EXPECT_EQ(none.snapshot.observed_at, kT0);

  // Our own report read back gives the same issues.
  const Evaluated first = eval(degraded());
  const Evaluated back = eval(first.report);
  EXPECT_EQ(back.markdown, first.markdown);
  EXPECT_EQ(back.snapshot.summary, first.snapshot.summary);
  EXPECT_EQ(back.snapshot.status, first.snapshot.status);
  EXPECT_EQ(back.snapshot.issues.size(), first.snapshot.issues.size());
  EXPECT_EQ(codes(back.snapshot), codes(first.snapshot));
}

TEST(Security, Refusals) {
  struct Case {
    const char* name;
    json doc;
    const char* field;
  };
  const std::vector<Case> cases = {
      {"env wrong type", {{"SECURITY_TOTAL_USERS", "many"}}, "SECURITY_TOTAL_USERS"},
      {"env bad bool", {{"SECURITY_ALLOW_LEGACY_TLS", "sometimes"}}, "SECURITY_ALLOW_LEGACY_TLS"},
      {"env unknown key", {{"SECURITY_TOTAL_USERS", 1}, {"SECURITY_MFA", 1}}, "SECURITY_MFA"},
      {"env list of objects",
       {{"SECURITY_TLS_VERSIONS", {{{"v", 1}}}}},
       "SECURITY_TLS_VERSIONS[0]"},
      {"boolean is not a number", {{"state", {{"total_users", true}}}}, "state.total_users"},
      {"structured unknown state key", {{"state", {{"users", 1}}}}, "state.users"},
      {"structured unknown policy key", {{"policy", {{"mfa", 1}}}, {"state", {}}}, "policy.mfa"},
      {"structured policy not object", {{"policy", "strict"}, {"state", {}}}, "policy"},
      {"structured without state", {{"service", "emp"}}, "state"},
      {"evaluated unknown key", {{"status", "pass"}, {"score", 1}}, "score"},
      {"evaluated control unknown key",
       {{"status", "pass"},
        {"controls", {{{"control", "a"}, {"status", "pass"}}, {{"control", "b"}, {"extra", 1}}}}},
       "controls[1].extra"},
      {"evaluated control bad status",
       {{"status", "pass"}, {"controls", {{{"control", "a"}, {"status", "green"}}}}},
       "controls[0].status"},
      {"evaluated control without name",
       {{"status", "pass"}, {"controls", {{{"status", "pass"}}}}},
       "controls[0].control"},
      {"evaluated controls not array", {{"status", "pass"}, {"controls", "all"}}, "controls"},
  };
  for (const Case& c : cases) {
    const core::Error err = refusal(c.doc);
    EXPECT_EQ(err.field, c.field) << c.name << ": " << err.describe();
    EXPECT_EQ(err.code, "invalid_document") << c.name;
  }
  EXPECT_EQ(refusal("posture").code, "invalid_document");
}

TEST(Security, ConfigValidation) {
  EXPECT_TRUE(validate(SecurityConfig{}).has_value());
  struct Case {
    SecurityConfig config;
    const char* field;
  };
  const std::vector<Case> cases = {
      {{.service = ""}, "service"},
      {{.minimum_mfa_coverage = 95}, "minimum_mfa_coverage"},
      {{.minimum_mfa_coverage = -0.1}, "minimum_mfa_coverage"},
      {{.required_tls_versions = {"ssl3"}}, "required_tls_versions"},
      {{.certificate_warn_days = 5, .certificate_fail_days = 10}, "certificate_fail_days"},
      {{.failed_logins_warn = 50, .failed_logins_fail = 10}, "failed_logins_fail"},
  };
  for (const Case& c : cases) {
    auto ok = validate(c.config);
    ASSERT_FALSE(ok.has_value()) << c.field;
    EXPECT_EQ(ok.error().field, c.field);
    EXPECT_FALSE(Security::create(c.config).has_value());
  }
}

TEST(Security, AppliesDocuments) {
  auto s = Security::create({}).value();
  ASSERT_TRUE(s->apply({.topic = std::string(kSecurityTopic), .time = kT0, .payload = degraded()})
                  .has_value());
  EXPECT_TRUE(s->active());
  EXPECT_EQ(s->snapshot(kT0).status, core::Status::kFail);
  EXPECT_FALSE(s->apply({.topic = std::string(kSecurityTopic),
                         .time = kT0,
                         .payload = {{"SECURITY_TOTAL_USERS", "x"}}})
                   .has_value());
  EXPECT_EQ(s->snapshot(kT0).status, core::Status::kFail);
  EXPECT_TRUE(s->snapshot(kT0, Detail::kBrief).metadata.empty());
}

TEST(Security, Testdata) {
  const auto read = [](const char* name) {
    std::ifstream in(kTestdata / name);
    return json::parse(in);
  };
  EXPECT_EQ(eval(read("env.json")).snapshot.status, core::Status::kWarn);
  EXPECT_EQ(eval(read("structured.json")).snapshot.status, core::Status::kOk);
  EXPECT_EQ(eval(read("evaluated.json")).snapshot.status, core::Status::kFail);
}

}  // namespace
}  // namespace opsready::components
