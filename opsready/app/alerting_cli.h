#pragma once
// The alerting CLI: `opsready alerts`, `opsready silence` and `opsready routes test`, clients of
// a running daemon's HTTP API (issue 11 §6), as amtool is of Alertmanager's. Each command is one
// plain function returning the process exit code; main.cc fills the options from the command
// line (CLI11 stays there) and calls it.
//
//   SilenceOptions o{.action = SilenceOptions::Action::kAdd,
//                    .matchers = {"alertname=OpsreadyWatchdog"}, .comment = "maintenance"};
//   int code = run_silence(o, std::cout, std::cerr);   // prints the new silence id
//
// What each command asks of the daemon:
//   alerts list      GET    /api/v2/alerts?active=true&silenced=&inhibited=&filter=...&receiver=
//   alerts groups    GET    /api/v2/alerts/groups
//   alerts ack       POST   /api/v1/groups/{id}/ack   {"by", "comment", "channel", "expiresAt"?}
//   alerts unack     DELETE /api/v1/groups/{id}/ack?by=
//   silence add      POST   /api/v2/silences          a postableSilence
//   silence list     GET    /api/v2/silences?filter=...
//   silence expire   DELETE /api/v2/silence/{id}      once per id
//   routes test      GET    /api/v1/routes/test?label=k=v&...
//   incidents list   GET    /api/v1/incidents?since=&until=&state=&receiver=&limit=
//   incidents timeline GET  /api/v1/incidents/{id}?format=timeline|markdown
// docs/cli.md has the syntax, the output of each and the exit codes.
//
// Every matcher, duration, time, label and URL is checked before the first request, so a typo
// exits 64 without touching the daemon. Errors go to `err` as `opsready: <command>: <message>`,
// the message being the daemon's own ({"error": ...}) when it refused the request.
// Authentication: `Authorization: Bearer <token>` with the token read from DaemonOptions::
// token_file, else from the environment variable OPSREADY_TOKEN; none when neither is set.
// `--by` and `--author` default to $USER.
//
// Control plane: each call is blocking and single-threaded; the options are plain values.

#include <expected>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/app/commands.h"

namespace opsready::app {

// The codes these commands add to commands.h's (sysexits.h values).
inline constexpr int kExitMismatch = 1;      // routes test --verify: the receivers differ
inline constexpr int kExitUnavailable = 69;  // daemon unreachable, timed out, or answered 503
inline constexpr int kExitSoftware = 70;     // daemon answered 5xx, or a body not as documented
inline constexpr int kExitNoPerm = 77;       // daemon answered 401/403 (missing or bad token)

inline constexpr const char* kDefaultDaemonUrl = "http://127.0.0.1:9477";
// The environment variable holding the bearer token when no token file is given.
inline constexpr const char* kTokenEnv = "OPSREADY_TOKEN";

// How to reach the daemon, and how to print; shared by every command.
struct DaemonOptions {
  std::string url = kDefaultDaemonUrl;  // http:// or https://, host, port, optional path prefix
  std::optional<std::filesystem::path> token_file;  // the bearer token (whitespace trimmed)
  std::string format = "text";                      // text | json
  std::string timeout = "10s";  // connect, and each read and write (core::parse_duration)
};

struct AlertsOptions {
  enum class Action { kList, kGroups, kAck, kUnack };
  DaemonOptions daemon;
  Action action = Action::kList;
  // list: active alerts always; silenced and inhibited ones too when asked for.
  std::vector<std::string> filters;  // matchers (`a=b`, `a!=b`, `a=~re`, `a!~re`), all must hold
  bool silenced = false;
  bool inhibited = false;
  std::optional<std::string> receiver;  // a regex, anchored, on receiver names
  // ack / unack
  std::string group;              // a group's id (GET /api/v2/alerts/groups "id") or full key
  std::optional<std::string> by;  // default $USER
  std::string comment;
  std::optional<std::string> expires;  // a duration from now ("2h") or an RFC 3339 time
};

struct SilenceOptions {
  enum class Action { kAdd, kList, kExpire };
  DaemonOptions daemon;
  Action action = Action::kList;
  // add
  std::vector<std::string> matchers;
  std::string comment;
  std::optional<std::string> author;    // createdBy; default $USER
  std::optional<std::string> duration;  // default 1h when --end is not given
  std::optional<std::string> end;       // RFC 3339
  std::optional<std::string> start;     // RFC 3339; default now
  // list: the active and pending silences, or with `expired` the expired ones only.
  bool expired = false;
  std::vector<std::string> filters;  // matchers a silence must carry (same name, type, value)
  // expire
  std::vector<std::string> ids;
};

struct RoutesTestOptions {
  DaemonOptions daemon;
  std::vector<std::string> labels;    // each "k=v" or "k=v,k2=v2"
  std::optional<std::string> verify;  // "r1,r2": the receivers expected, in route order
};

struct IncidentsOptions {
  enum class Action { kList, kTimeline };
  DaemonOptions daemon;
  Action action = Action::kList;
  // list
  std::optional<std::string> since;  // a duration back from now ("7d") or an RFC 3339 time
  std::optional<std::string> until;  // the same; default now
  std::optional<std::string> state;  // open | resolved
  std::optional<std::string> receiver;
  int limit = 100;
  // timeline
  std::string id;
  // json: the brief's timeline document (spec §12.1); markdown: the report.
  std::string timeline_format = "markdown";
};

[[nodiscard]] int run_incidents(const IncidentsOptions& options, std::ostream& out,
                                std::ostream& err);
[[nodiscard]] int run_alerts(const AlertsOptions& options, std::ostream& out, std::ostream& err);
[[nodiscard]] int run_silence(const SilenceOptions& options, std::ostream& out, std::ostream& err);
[[nodiscard]] int run_routes_test(const RoutesTestOptions& options, std::ostream& out,
                                  std::ostream& err);

// Why a request to the daemon failed: the exit code these commands use (64 bad --url or
// --timeout, 69 unreachable or 503, 70 5xx or a body that is not JSON, 77 401/403, 65 other
// 4xx, 66 unreadable token file) and the message.
struct DaemonError {
  int code = kExitSoftware;
  std::string message;
};

// GET <daemon.url><path> exactly as the commands above ask the daemon (URL checks, bearer
// token, timeouts, error messages); the JSON body. For other clients of the daemon's API
// (`opsready dashboard`). daemon.format is not used.
[[nodiscard]] std::expected<nlohmann::json, DaemonError> daemon_get_json(
    const DaemonOptions& daemon, const std::string& path);

// POST <path> with a JSON body, as daemon_get_json() asks; the JSON answer.
[[nodiscard]] std::expected<nlohmann::json, DaemonError> daemon_post_json(
    const DaemonOptions& daemon, const std::string& path, const nlohmann::json& body);
// A member of a daemon's answer as a table cell: a string as it is, anything else as JSON,
// `missing` when absent or null (`opsready drill`, `opsready signoff`).
[[nodiscard]] std::string cell_text(const nlohmann::json& j, const char* key,
                                    const std::string& missing = "—");
// Prints "opsready: <command>: <message>" and returns the error's exit code.
int report_error(std::ostream& err, std::string_view command, const DaemonError& e);
// GET <path>; the body as text (a Markdown document).
[[nodiscard]] std::expected<std::string, DaemonError> daemon_get_text(const DaemonOptions& daemon,
                                                                      const std::string& path);

}  // namespace opsready::app
