#pragma once
// Security: the `security` readiness component — the security posture graded control by
// control (spec readiness-validation-incident-security-slo §6): MFA coverage, credential and
// secrets rotation, the security incident drill, the vulnerability scan, intrusion detection,
// TLS configuration and the secrets manager; and three opsready additions evaluated only when
// the document reports them: certificate expiry, the privileged-access review and failed logins.
//
//   auto sec = components::Security::create({}).value();
//   sec->apply(event);   // telemetry.operational.security, one document per event
//   core::ComponentSnapshot s = sec->snapshot(clock.now());
//
// Documents (docs/components.md "security"; schema docs/schemas/security.schema.json), told
// apart by shape:
// - a key `status` at the root: the original platform's evaluated SecurityPostureSnapshot
//   (as_dict: service, generated_at, status pass/warn/fail, controls[], metadata);
// - else any key starting with `SECURITY_`: the env-style flat mapping (policy and state keys
//   together, SECURITY_SERVICE_NAME, optional free-form `metadata`);
// - else the structured form {service?, policy{...}, state{...}, metadata?} with the spec's
//   field names.
// Anything else, an unknown key or a value of the wrong type is refused with the path of the
// offending field. Policy thresholds are the config's; a document's policy keys override them
// only while `document_policy` is true.
//
// Status: the worst control (pass → ok). Every warn or fail control is an issue
// `security.<control>` of its own severity. The spec gives this module no gate: the readiness
// gate blocks on the fail status. The failed-logins count is in metadata
// (`failed_logins_last_hour`) for the metrics exporter.
// Not thread-safe (see component.h).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "opsready/components/report.h"

namespace opsready::components {

inline constexpr std::string_view kSecurityName = "security";
inline constexpr std::string_view kSecurityTopic = "telemetry.operational.security";

struct SecurityConfig {
  bool enabled = true;
  // The service named in the snapshot when the document names none.
  std::string service = "emp_platform";
  // Whether a document's policy keys override the thresholds below.
  bool document_policy = true;

  // The policy (§6.1), with the spec's defaults.
  double minimum_mfa_coverage = 0.95;  // a ratio in [0, 1]
  std::uint32_t credential_rotation_days = 90;
  std::uint32_t secrets_rotation_days = 30;
  std::uint32_t incident_drill_interval_days = 90;
  std::uint32_t vulnerability_scan_interval_days = 30;
  std::vector<std::string> required_tls_versions = {"TLS1.2", "TLS1.3"};
  bool allow_legacy_tls = false;
  bool require_intrusion_detection = true;

  // opsready additions. Certificate expiry: warn under certificate_warn_days, fail under
  // certificate_fail_days (and once expired). Privileged-access review: the rotation bands
  // (pass ≤ 0.75·T, warn ≤ T, fail beyond). Failed logins in the last hour: warn at
  // failed_logins_warn, fail at failed_logins_fail. 0 disables a level.
  std::uint32_t certificate_warn_days = 30;
  std::uint32_t certificate_fail_days = 7;
  std::uint32_t privileged_access_review_days = 90;
  std::uint32_t failed_logins_warn = 20;
  std::uint32_t failed_logins_fail = 100;

  bool operator==(const SecurityConfig&) const = default;
};

[[nodiscard]] core::Result<void> validate(const SecurityConfig& config);

// A TLS version token as the policy compares it: upper-case, blanks, '-' and a 'V' after "TLS"
// dropped, '_' read as '.', a bare version prefixed with "TLS": "TLS 1.2", "tlsv1.2",
// "TLS_1_2" and "1.2" are all "TLS1.2".
[[nodiscard]] std::string normalize_tls_version(std::string_view token);

class Security final : public DocumentComponent {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<Security>> create(const SecurityConfig& config);

  // Evaluates one document at `now` (the event time).
  [[nodiscard]] core::Result<Evaluated> evaluate(const nlohmann::json& doc,
                                                 core::TimePoint now) override;
  [[nodiscard]] const SecurityConfig& config() const { return config_; }

 private:
  explicit Security(const SecurityConfig& config);

  SecurityConfig config_;
};

}  // namespace opsready::components
