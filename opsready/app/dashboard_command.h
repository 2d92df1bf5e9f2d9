#pragma once
// `opsready dashboard`: the original's machine-readable observability dashboard (spec §3) for
// CI, as JSON or Markdown, from a running daemon or built offline from an inputs file.
//
//   DashboardOptions o{.input = "examples/dashboard/inputs.json", .format = "markdown"};
//   int code = run_dashboard(o, std::cout, std::cerr);  // 0 ok/warn, 1 warn (--strict), 2 fail
//
// Sources: without --input, GET <--url>/api/v1/dashboard (default http://127.0.0.1:9477; the
// bearer token and timeout as the alerting commands take them); with --input FILE, a JSON
// object whose keys are server::DashboardInputs' field names (roi_snapshot, risk_results, ...;
// server::dashboard_inputs_from_json), built with server::build_dashboard.
// Output: --format json (default) the dashboard JSON {generated_at, status, panels, metadata,
// remediation_summary}; --format markdown its Markdown (server::to_markdown). --output FILE
// writes there instead of stdout.
// Exit codes, as `opsready gate` (docs/cli.md): 0 when the overall status is ok (and warn without
// --strict), 1 warn with --strict, 2 fail; 64 usage, 65 an input or answer not as documented,
// 66 an unreadable input file, 73 an unwritable output file, and the daemon codes of
// alerting_cli.h (69 unreachable, 70 daemon error, 77 refused token).

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

#include "opsready/app/alerting_cli.h"

namespace opsready::app {

struct DashboardOptions {
  DaemonOptions daemon;  // url, token_file, timeout (format is --format below)
  std::optional<std::filesystem::path> input;
  std::string format = "json";  // json | markdown
  std::optional<std::filesystem::path> output;
  bool strict = false;
};

[[nodiscard]] int run_dashboard(const DashboardOptions& options, std::ostream& out,
                                std::ostream& err);

}  // namespace opsready::app
