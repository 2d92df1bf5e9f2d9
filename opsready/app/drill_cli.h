#pragma once
// `opsready drill list|run|show`: a client of a running daemon's drills API (docs/drills.md,
// docs/cli.md), as the alerting commands are (alerting_cli.h: the same --url, --token-file,
// --timeout, errors and exit codes for a daemon that cannot be reached or refuses).
//
//   drill list          GET  /api/v1/drills
//   drill run NAME      POST /api/v1/drills {"scenario", "dry_run", "force", "by"}, then
//                       GET  /api/v1/drills/{id} until it ends (--wait), progress on stderr
//   drill show ID       GET  /api/v1/drills/{id}[?format=markdown]
//
// Exit codes of `drill run` by verdict: 0 Pass, 1 Fail, 2 Aborted, 3 Inconclusive; a dry run
// 0 when the drill would run (the steady state holds, the gate lets it), 1 when not; 75 still
// running after --wait (the drill goes on in the daemon); 65 refused (one runs already, the
// gate blocks, an unknown scenario); 69/70/77 as alerting_cli.h says.

#include <iosfwd>
#include <optional>
#include <string>

#include "opsready/app/alerting_cli.h"

namespace opsready::app {

inline constexpr int kExitDrillFail = 1;
inline constexpr int kExitDrillAborted = 2;
inline constexpr int kExitDrillInconclusive = 3;
inline constexpr int kExitStillRunning = 75;  // EX_TEMPFAIL

struct DrillOptions {
  enum class Action { kList, kRun, kShow };
  DaemonOptions daemon;
  Action action = Action::kList;
  std::string scenario;  // run
  bool dry_run = false;
  bool force = false;
  std::optional<std::string> by;  // default $USER
  std::string wait = "10m";       // run: how long to wait for the verdict
  std::string id;                 // show
  // run / show: text is the Markdown evidence; json the evidence document.
};

[[nodiscard]] int run_drill(const DrillOptions& options, std::ostream& out, std::ostream& err);

}  // namespace opsready::app
