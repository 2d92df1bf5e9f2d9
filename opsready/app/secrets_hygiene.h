#pragma once
// Secrets hygiene of opsready's own configuration, as `opsready check-config` reports it after
// a successful load (docs/configuration.md#secrets). Findings are warnings, never errors: the
// configuration works, but it keeps a secret where it should not or holds a certificate that
// is about to stop working.
//
//   auto cfg = load_config_file(file);
//   for (const auto& f : check_secrets_hygiene(*cfg, file, {.now = clock.now()}))
//     std::cerr << f.where.describe("warning") << "\n";
//
// What is found (HygieneFinding::kind):
//  - inline_secret: a secret given in the configuration or the Alertmanager file instead of a
//    *_file (passwords, bearer tokens, authorization credentials, API keys, Slack's api_url,
//    signature secrets: each key the key tables mark secret, alerting::secret_settings()), a
//    header whose name says it is a credential, or a URL carrying credentials (user:password@,
//    or a query parameter named like a token: token, key, secret, password, sig, auth, code).
//    A token in a URL's path (a webhook URL that is itself the credential) cannot be told from
//    a path and is not reported.
//  - config_file_readable: a file holding inline secrets that others may read (mode & 0004).
//  - secret_file_mode: a secret file (every *_file but the certificates ca_file and cert_file,
//    ingest.auth.tokens_file) open to group or others (mode & 0077).
//  - secret_file_missing: a *_file that names no readable file.
//  - cert_expiring, cert_expired, cert_unreadable: a certificate of a tls_config's ca_file or
//    cert_file that expires within `cert_warn_days` of `now`, has expired, or is not PEM.
//  - with `probe`, the same cert_* kinds for the certificate each https:// receiver URL
//    presents (a TLS handshake and no request: nothing is sent), and probe_failed when the
//    handshake fails.
// Messages name the key by its path (alerting.receivers[0].slack_configs[0].api_url, or from
// the top of the Alertmanager file) with the file and line of the key, and never hold a
// secret: a URL is shown as its scheme, host and port only.
//
// Control plane only (check-config); reads files, and the network with `probe`. Not shared
// across threads.

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "opsready/app/config.h"
#include "opsready/core/clock.h"

namespace opsready::app {

struct HygieneOptions {
  core::TimePoint now{};
  int cert_warn_days = 30;
  bool probe = false;
  core::Duration probe_timeout = std::chrono::seconds(5);  // each connection and handshake
};

struct HygieneFinding {
  std::string kind;   // inline_secret, config_file_readable, secret_file_mode, ...
  ConfigError where;  // file:line and the message (never a secret)

  bool operator==(const HygieneFinding&) const = default;
};

// `config` as loaded from `config_file` (which is read again for the keys' lines).
[[nodiscard]] std::vector<HygieneFinding> check_secrets_hygiene(
    const Config& config, const std::filesystem::path& config_file, const HygieneOptions& options);

}  // namespace opsready::app
