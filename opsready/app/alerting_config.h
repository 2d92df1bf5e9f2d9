#pragma once
// The `alerting:` section of the configuration file: opsready's alerting policy
// (alerting::Policy), written as an Alertmanager 0.25 configuration. An Alertmanager file is
// accepted unchanged, either inline as the section or named by it:
//
//   alerting:                                 alerting:
//     route: {receiver: ops, ...}               config_file: alertmanager.yml   # relative to
//     receivers: [{name: ops, ...}]                                             # this file
//
//   auto policy = load_alerting_file("alertmanager.yml");   // the same, on its own
//   if (!policy) for (const auto& e : policy.error()) std::cerr << e.describe() << "\n";
//
// Keys (Alertmanager's docs/configuration.md, 0.25):
//  - global: resolve_timeout, smtp_*, slack_api_url(_file), http_config and every other key of
//    0.25 (those of integrations opsready lacks are accepted and unused);
//  - route: receiver, group_by, group_wait, group_interval, repeat_interval, matchers (a list
//    of strings in Alertmanager's syntax, several per string allowed), continue,
//    mute_time_intervals, active_time_intervals, routes; the deprecated match / match_re maps
//    become matchers, with a warning that spells the matchers to write instead;
//  - receivers: name, webhook_configs, email_configs, slack_configs, and opsready's
//    sms_configs, github_configs and escalation ([{after: 15m, receiver: NAME}]);
//  - inhibit_rules: source_matchers, target_matchers, equal, name, and the deprecated
//    source_match(_re) / target_match(_re) (warnings);
//  - time_intervals, and the deprecated top-level mute_time_intervals (warning);
//  - templates: an empty list only. Alertmanager's templates are Go templates, which opsready
//    does not run.
// Nothing is ignored: an unknown key is an error, and so is anything Alertmanager has that
// opsready does not honour, each with file:line — pagerduty_configs and every other integration
// opsready does not deliver to ("alerting.receivers[2].pagerduty_configs: not supported by
// opsready (supported: webhook_configs, ...)"), a non-empty templates list, http_config.oauth2,
// tls_config.server_name. What loads but will not do what it may look like is a warning: an
// integration without an endpoint (its notifications are recorded, not sent) and a value that
// holds a Go template (sent as written). Durations are Alertmanager's (alerting::
// parse_alertmanager_duration: 30s, 5m, 4h, 1d, 1w, 1y, 1h30m); relative *_file paths are
// resolved against the directory of the file that names them.
//
// Messages name the key by its path: under `alerting.` for the inline form, from the top of the
// file for config_file and load_alerting_file() ("receivers[0].email_configs[1].to", in
// alertmanager.yml:14). Every error is reported and the section is applied only when there is
// none; when `alerting:` is absent the Config keeps alerting::default_policy(). Control plane
// only; a Field is read by one thread.

#include <expected>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "opsready/alerting/policy.h"
#include "opsready/app/config.h"
#include "opsready/app/config_reader.h"

namespace opsready::app {

// Diagnostics in another file than the one the Reader reads (the file alerting.config_file
// names): they carry their own file and line.
struct OtherFileSinks {
  std::function<void(ConfigError)> error;
  std::function<void(ConfigError)> warning;
};

// A YAML document of its own (an Alertmanager file, a drill scenario) read by `read` with a
// config::Reader whose errors and warnings carry `name` and their line; a syntax error or a
// YAML exception while reading is one error with its line. The caller's `read` calls
// Reader::finish() when it is done.
struct DocumentDiagnostics {
  std::vector<ConfigError> errors;
  std::vector<ConfigError> warnings;
};
[[nodiscard]] DocumentDiagnostics read_document(
    const std::string& yaml, const std::string& name,
    const std::function<void(config::Reader& reader, const YAML::Node& root)>& read);

// The `alerting:` section as a field of the top-level table, read into `out`. `file` is the
// configuration file's name: config_file is relative to its directory, and it is the policy's
// source when the policy is inline.
[[nodiscard]] config::Field alerting_field(std::string key, const std::string& file,
                                           alerting::Policy& out, OtherFileSinks other_file);

struct AlertingFile {
  alerting::Policy policy;
  std::vector<ConfigError> warnings;
};
using AlertingResult = std::expected<AlertingFile, std::vector<ConfigError>>;

// An Alertmanager configuration file on its own (what alerting.config_file names).
[[nodiscard]] AlertingResult load_alerting_file(const std::filesystem::path& file);
// The same from text; `name` stands for the file in messages and as the policy's source, and
// its directory resolves relative paths.
[[nodiscard]] AlertingResult parse_alerting(const std::string& yaml, const std::string& name);

}  // namespace opsready::app
