#pragma once
// Config: the typed, validated form of opsready's YAML configuration file.
//
//   auto cfg = load_config_file("opsready.yml");
//   if (!cfg) for (const auto& e : cfg.error()) std::cerr << e.describe() << "\n";
//
// Every knob is documented in docs/configuration.md; defaults are the embedded defaults
// `opsready serve` runs with when no file is given. Loading collects every error (with
// file:line) instead of stopping at the first. Plain value types; not shared across threads.

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "opsready/components/registry.h"
#include "opsready/core/clock.h"
#include "opsready/readiness/readiness.h"

namespace opsready::app {

inline constexpr int kDefaultPort = 9477;

struct ListenAddress {
  std::string host = "127.0.0.1";
  int port = kDefaultPort;  // 0 = any free port (printed in the log when bound)

  bool operator==(const ListenAddress&) const = default;
};

struct Config {
  ListenAddress listen;
  std::filesystem::path data_dir = "./opsready-data";
  // How often readiness is re-evaluated even when no event arrives (staleness moves with time).
  core::Duration evaluation_interval = std::chrono::seconds(1);
  // How long `serve` may take to drain and flush after SIGTERM.
  core::Duration shutdown_timeout = std::chrono::seconds(10);
  std::size_t max_body_bytes = 8u << 20;
  std::size_t queue_capacity = 65536;
  // Bearer tokens for the ingest routes, read at load from ingest.auth.tokens_file and/or the
  // environment variable named by ingest.auth.tokens_env; empty: no authentication. Secrets:
  // never log or render them.
  std::vector<std::string> ingest_tokens;
  // alerts.resolve_timeout: endsAt given to a posted alert that has none (Alertmanager's
  // resolve_timeout).
  core::Duration alert_resolve_timeout = std::chrono::minutes(5);
  // History older than this is pruned from the store; zero keeps everything.
  core::Duration retention = std::chrono::hours(24 * 14);
  readiness::GatePolicy gate;
  // detectors: settings of the built-in component evaluators (docs/components.md).
  components::ComponentsConfig detectors;

  bool operator==(const Config&) const = default;
};

struct ConfigError {
  std::string file;
  int line = 0;  // 1-based; 0 when unknown
  std::string message;

  [[nodiscard]] std::string describe() const;
};

using ConfigResult = std::expected<Config, std::vector<ConfigError>>;

[[nodiscard]] ConfigResult load_config_file(const std::filesystem::path& file);
// `name` is used in error messages in place of a file name.
[[nodiscard]] ConfigResult parse_config(const std::string& yaml, const std::string& name);

[[nodiscard]] core::Result<ListenAddress> parse_listen_address(std::string_view text);

}  // namespace opsready::app
