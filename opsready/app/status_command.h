#pragma once
// `opsready status`: the public status page (server/status_page.h) as Markdown, JSON or HTML,
// for a repository's STATUS.md that is regenerated rather than edited by hand.
//
//   StatusOptions o{.format = "markdown", .output = "STATUS.md"};
//   int code = run_status(o, std::cout, std::cerr);   // GET <url>/api/v1/status, rendered
//
// Two sources: a running daemon (--url, default http://127.0.0.1:9477: GET /api/v1/status,
// the page the daemon serves), or its SQLite file offline (--db PATH: the latest component
// snapshots aggregated under --config's gate, the daily roll-up and the incident log), with
// the page's settings from --config's status_page section (embedded defaults without it).
// Exit codes: 0 written, 64 usage, 65 a bad configuration or a daemon answer that is not a
// status page, 66 the --db file missing or unreadable, 69 the daemon unreachable, 73 the
// --output file not writable. Control plane: blocking, single-threaded.

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

#include "opsready/app/config.h"
#include "opsready/core/error.h"
#include "opsready/server/status_page.h"
#include "opsready/store/store.h"

namespace opsready::app {

struct StatusOptions {
  std::string url = "http://127.0.0.1:9477";
  std::optional<std::filesystem::path> db;  // set: offline, from the store
  std::optional<std::filesystem::path> config;
  std::string format = "markdown";  // markdown | json | html
  std::optional<std::filesystem::path> output;
  std::string timeout = "10s";
};

[[nodiscard]] int run_status(const StatusOptions& options, std::ostream& out, std::ostream& err);

// The page from a store, as the daemon would build it at `now`: readiness from the latest
// snapshots under cfg.gate, the 90 days of roll-up, the incidents of the decision log.
[[nodiscard]] core::Result<server::StatusPage> status_page_from_store(const store::Store& store,
                                                                      const Config& cfg,
                                                                      core::TimePoint now);

// The page in `format` (markdown, json, html).
[[nodiscard]] std::string render_status(const server::StatusPage& page, std::string_view format);

}  // namespace opsready::app
