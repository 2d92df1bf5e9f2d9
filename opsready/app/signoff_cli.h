#pragma once
// `opsready signoff record|list`: a client of a running daemon's compliance cadence
// (docs/operator-guide.md "Compliance cadence", docs/cli.md), as the alerting commands are
// (alerting_cli.h: the same --url, --token-file, --timeout, errors and exit codes).
//
//   signoff record NAME   POST /api/v1/signoffs {"signoff", "by", "at"?, "evidence"?, "note"?}
//   signoff list          GET  /api/v1/signoffs[?signoff=NAME&limit=N]
//
// Exit codes: 0 recorded / listed (list: whatever the standing; --check makes it 1 when any
// sign-off is overdue), 65 refused (an unknown sign-off, a time in the future), and 64, 66,
// 69, 70, 77 as alerting_cli.h says.

#include <iosfwd>
#include <optional>
#include <string>

#include "opsready/app/alerting_cli.h"

namespace opsready::app {

struct SignoffOptions {
  enum class Action { kRecord, kList };
  DaemonOptions daemon;
  Action action = Action::kList;
  // record
  std::string name;
  std::optional<std::string> by;  // default $USER
  std::optional<std::string> at;  // RFC 3339; default now (the daemon's clock)
  std::string evidence;
  std::string note;
  // list
  std::optional<std::string> signoff;
  int limit = 20;
  bool check = false;  // exit 1 when a sign-off is overdue
};

[[nodiscard]] int run_signoff(const SignoffOptions& options, std::ostream& out, std::ostream& err);

}  // namespace opsready::app
