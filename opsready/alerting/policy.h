#pragma once
// Policy: opsready's alerting policy as data. It is Alertmanager's configuration (the route tree,
// receivers and their integrations, inhibit rules, time intervals, `global`) with two opsready
// extensions: the sms_configs and github_configs integrations, and escalation steps on a
// receiver. app/alerting_config.h reads it from YAML (an Alertmanager 0.25 file unchanged, inline
// as the `alerting:` section or through `alerting.config_file`). check() and validate() check
// the parts against each other; default_policy() is what opsready runs with when no policy is
// configured.
//
//   alerting::Policy policy = alerting::default_policy();
//   if (auto ok = alerting::validate(policy); !ok) return ok.error();  // .field "route.receiver"
//   core::Result<Route> tree = Route::build(policy.route);
//   core::Result<Inhibitor> inhibitor = Inhibitor::create(policy.inhibit_rules);
//
// Integration settings stay JSON until delivery (issue 12) types them, but are never free-form:
// every key is checked against its type's key table (normalize_settings()), which holds
// Alertmanager 0.25's keys for webhook_configs, email_configs and slack_configs and opsready's
// for sms_configs and github_configs. Values are in canonical JSON types (booleans, whole
// numbers, strings, lists, objects), durations as core::format_duration prints them, relative
// *_file paths joined to the directory of the file they were read from. Keys that
// Alertmanager knows but opsready cannot honour (tls_config.server_name, http_config.oauth2)
// are errors, as are Alertmanager integrations opsready does not deliver to (pagerduty_configs,
// ...: unsupported_integration_keys()). Settings and `global` hold secrets (passwords, tokens,
// webhook URLs) in clear: never log or render them; errors name keys, never secret values.
//
// default_policy(): one receiver, `default`, with no integration, so notifications are decided
// and recorded (the notification log, GET /api/v2/alerts/groups) but nothing is sent, which is
// what the brief's default channels do with no endpoint configured. Its route groups by
// alertname, category and component: alertname names an external (Prometheus) alert, category
// and component an alert opsready derives from a component's snapshot; a label an alert lacks
// groups as empty, so one list serves both. Timers are Alertmanager's defaults (30s, 5m, 4h).
//
// Plain value types; not thread-safe for writes, safe to read from several threads.

#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/alerting/ack.h"  // EscalationStep
#include "opsready/alerting/inhibit.h"
#include "opsready/alerting/route.h"
#include "opsready/alerting/time_interval.h"
#include "opsready/core/clock.h"
#include "opsready/core/error.h"

namespace opsready::alerting {

// One delivery target of a receiver: one entry of one of its *_configs lists.
struct Integration {
  std::string type;  // webhook, email, slack, sms, github (IntegrationType::type)
  // Whether resolved alerts are sent too. Alertmanager's defaults: webhook true, email and
  // slack false; opsready's: sms and github false.
  bool send_resolved = false;
  nlohmann::json settings = nlohmann::json::object();  // every other key, normalized
  int line = 0;  // 1-based line of the entry in its file; 0 when built in code

  bool operator==(const Integration&) const = default;
};

struct Receiver {
  std::string name;
  std::vector<Integration> integrations;  // by type (integration_types()' order), then file order
  // opsready extension: while a group this receiver was notified of stays open and unacked,
  // step i notifies step i's receiver `after_i` from the group's first notification (Acks,
  // alerting/ack.h, runs the chain). `after` not negative and not decreasing.
  std::vector<EscalationStep> escalation;

  bool operator==(const Receiver&) const = default;
};

struct Policy {
  RouteSpec route;
  std::vector<Receiver> receivers;
  std::vector<InhibitRule> inhibit_rules;
  // `time_intervals:` then the deprecated `mute_time_intervals:`, names unique across both.
  std::vector<TimeInterval> time_intervals;
  // Alertmanager's `global:` as given (resolve_timeout, smtp_*, slack_api_url, http_config, ...),
  // normalized as integration settings are; defaults are the delivery's to apply.
  nlohmann::json global = nlohmann::json::object();
  std::string source;  // the file it was read from; empty for default_policy()

  bool operator==(const Policy&) const = default;
};

// An integration type opsready delivers to.
struct IntegrationType {
  std::string_view type;        // "webhook"
  std::string_view config_key;  // "webhook_configs"
  bool send_resolved = false;   // the default of `send_resolved`
};

// webhook, email, slack, sms, github: the order messages list them in.
[[nodiscard]] std::span<const IntegrationType> integration_types();
// By type ("email") or by configuration key ("email_configs"); nullptr when unknown.
[[nodiscard]] const IntegrationType* find_integration_type(std::string_view type_or_key);
// Alertmanager's receiver keys for integrations opsready does not deliver to (pagerduty_configs,
// opsgenie_configs, ...), refused with "not supported by opsready".
[[nodiscard]] std::span<const std::string_view> unsupported_integration_keys();
// "webhook_configs, email_configs, slack_configs, sms_configs, github_configs".
[[nodiscard]] std::string supported_integration_keys();

// Checks `settings` (a JSON object: the keys of one *_configs entry but send_resolved) against
// the key table of `type` and rewrites each value in its canonical type: "true" → true,
// "10" → 10, a duration → "1h30m", a relative *_file path → base_dir / path (base_dir empty: left
// as is). Scalars may come as strings (YAML's), so normalizing twice changes nothing. A null
// value is the same as an absent key and removed. Every problem is returned, each with .field
// the key's path inside `settings` ("http_config.tls_config.server_name", "fields[1].title"):
// unknown keys, missing required keys, keys that exclude each other, bad values, and keys
// opsready does not support (code `unsupported`).
[[nodiscard]] std::vector<core::Error> normalize_settings(
    std::string_view type, nlohmann::json& settings, const std::filesystem::path& base_dir = {});
// The same for Alertmanager's `global:` (every key of 0.25; those of integrations opsready does
// not deliver to are accepted and unused).
[[nodiscard]] std::vector<core::Error> normalize_global(nlohmann::json& global,
                                                        const std::filesystem::path& base_dir = {});

// Every key the key table of `type` accepts (the tables normalize_settings() checks against),
// as a path inside one entry, in the table's order: "url", "http_config",
// "http_config.basic_auth", "http_config.basic_auth.username", ...; the items of a list of
// mappings are "[]" ("fields[]", "fields[].title"), names the user chooses "*" ("headers.*").
// Keys opsready refuses (code `unsupported`) are left out. Empty for an unknown type.
[[nodiscard]] std::vector<std::string> settings_keys(std::string_view type);
// The same for `global:`.
[[nodiscard]] std::vector<std::string> global_keys();

// A setting that holds a credential or names a file, found by the same key tables, for the
// secrets hygiene of `opsready check-config` (app/secrets_hygiene.h). `value` of anything but
// kFile is a secret: inspect it, never print it.
struct SecretSetting {
  enum class Kind {
    kSecret,     // a password, token or key given inline
    kSecretUrl,  // a URL that is a credential (Slack's api_url) or may carry one (a webhook's)
    kUrl,        // another URL (proxy_url, GitHub's api_url): a credential only if it carries one
    kHeader,     // a header whose name says it carries a credential (X-Api-Key, X-Auth-Token)
    kFile,       // a *_file: `value` is its path (as normalized: relative ones joined)
  };
  std::string field;  // inside the settings: "http_config.basic_auth.password", "headers.X-Token"
  Kind kind = Kind::kSecret;
  std::string file_twin;  // the *_file key beside it that could hold it instead; empty: none
  std::string value;

  bool operator==(const SecretSetting&) const = default;
};
// Of one integration's normalized settings, in the key table's order.
[[nodiscard]] std::vector<SecretSetting> secret_settings(std::string_view type,
                                                         const nlohmann::json& settings);
// Of a normalized `global:`.
[[nodiscard]] std::vector<SecretSetting> global_secret_settings(const nlohmann::json& global);

// The actions of a template ("{{ x }}" → " x "), in order; an unclosed "{{" ends the list.
[[nodiscard]] std::vector<std::string_view> template_actions(std::string_view value);
// True when `value` holds Go template syntax that mustache cannot mean: a field reference
// ({{ .Status }}), a variable ($x), a pipe, a call or a string literal, a trim marker ({{- x -}}),
// or a Go keyword with arguments ({{ range .Alerts }}, {{ template "x" . }}, {{ if ... }}).
// Mustache tags ({{severity}}, {{#alerts}}, {{{message}}}, {{! note }}) are not.
[[nodiscard]] bool is_go_template(std::string_view value);

// What an integration will not do that its configuration may look like it does: no endpoint
// (here or in `global`: email without smarthost, slack without api_url, webhook without url, sms
// without gateway_url, github without repository and token), so its notifications are recorded
// and not sent (code `integration_records_only`); a value holding a Go template
// (is_go_template()), which opsready does not run (code `integration_go_template`; delivery's
// check_integration() refuses it too, with a mustache rewrite when there is one). Fields as
// normalize_settings() (empty for a missing endpoint: the entry itself).
[[nodiscard]] std::vector<core::Error> lint(const Integration& integration,
                                            const nlohmann::json& global);

// Every problem of the policy as a whole, in this order, fields relative to the policy
// ("receivers[2].name", "route.routes[0].receiver",
// "time_intervals[1].time_intervals[0].weekdays[0]"):
//   receiver_empty_name, receiver_duplicate           receivers[i].name
//   integration_unknown_type, and normalize_settings' receivers[i].<type>_configs[j]...
//   escalation_* (ack.h's validate_escalation_policy)  receivers[i].escalation[k]...
//   escalation_unknown_receiver                        receivers[i].escalation[k].receiver
//   time_interval_empty_name, time_interval_duplicate  time_intervals[i].name
//   time_interval_* (time_interval.h's validate)       time_intervals[i].time_intervals[j]...
//   route_unknown_receiver                             route....receiver
//   route_unknown_time_interval                        route....mute_time_intervals[k] / active_...
//   Route::build's errors, then Inhibitor::create's.
[[nodiscard]] std::vector<core::Error> check(const Policy& policy);
// The first of check()'s problems.
[[nodiscard]] core::Result<void> validate(const Policy& policy);

[[nodiscard]] Policy default_policy();

// Alertmanager's (Prometheus') duration syntax, model.ParseDuration: units y (365d), w, d, h,
// m, s, ms, each at most once and in that order ("1h30m", "1d", "1w", "90s"), or "0". Stricter
// than core::parse_duration, which takes units in any order and has no `y`.
// Error: invalid_duration.
[[nodiscard]] core::Result<core::Duration> parse_alertmanager_duration(std::string_view text);

}  // namespace opsready::alerting
