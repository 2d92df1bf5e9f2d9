#pragma once
// The subcommands of the `opsready` binary, as plain functions returning the process exit
// code (documented in docs/cli.md). main.cc parses the command line (CLI11 lives there only,
// to keep its compile cost to one translation unit) and calls these.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace opsready::app {

// sysexits.h-style codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitWarn = 1;     // gate: warn under --strict
inline constexpr int kExitBlock = 2;    // gate: block
inline constexpr int kExitFailure = 3;  // serve/demo: could not start (bind, store, ...)
// serve/demo after a start: the codes of supervise::RuntimeRunner (docs/supervision.md):
// 4 shutdown incomplete, 5 stopped at once by a second signal, 6 the supervisor tree failed,
// 124 overall timeout.
inline constexpr int kExitUsage = 64;
inline constexpr int kExitDataErr = 65;
inline constexpr int kExitNoInput = 66;
inline constexpr int kExitCantCreate = 73;
// serve with replicas: another replica took the leadership (EX_TEMPFAIL: restart me).
inline constexpr int kExitLeadershipLost = 75;

struct ServeOptions {
  std::optional<std::filesystem::path> config;
  std::optional<std::string> listen;
  std::optional<std::filesystem::path> data_dir;
  bool demo = false;
};

struct SnapshotOptions {
  std::optional<std::filesystem::path> from;
  std::vector<std::string> documents;  // --document KIND=FILE, evaluated (evaluate_command.h)
  std::optional<std::filesystem::path> policy;
  std::optional<std::string> now;
  std::string format = "json";
  bool strict = false;
  std::optional<std::filesystem::path> out;
  // ci-summary from a running daemon instead of --from / --document: its readiness, the
  // readiness history of the last `window` (the chart), its active alerts and its dashboard.
  std::optional<std::string> url;
  std::string window = "1h";
  // gate --url: how long to wait for the gate to pass (deploy pipelines); unset: ask once.
  std::optional<std::string> wait;
};

// check-config: the load's errors and warnings, then the secrets hygiene warnings
// (app/secrets_hygiene.h).
struct CheckConfigOptions {
  std::filesystem::path file;
  bool strict = false;      // exit 65 when there is a secrets hygiene warning
  int cert_warn_days = 30;  // certificates expiring within this many days are reported
  bool probe = false;       // also read the certificates https:// receivers present
};

int run_serve(const ServeOptions& options);
int run_check_config(const CheckConfigOptions& options);
int run_snapshot(const SnapshotOptions& options);
int run_gate(const SnapshotOptions& options);
int run_ci_summary(const SnapshotOptions& options);

}  // namespace opsready::app
