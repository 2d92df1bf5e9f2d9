#include "opsready/app/status_command.h"

#include <chrono>
#include <fstream>
#include <iostream>

#include "opsready/alerting/incident.h"
#include "opsready/alerting/record.h"
#include "opsready/app/alerting_cli.h"
#include "opsready/app/commands.h"
#include "opsready/core/time.h"
#include "opsready/readiness/readiness.h"

namespace opsready::app {
namespace {

// The records and outbox rows an incident list of the page needs: those of the last
// kRecentlyResolved and the incidents still open (bounded, as the daemon's incident API).
constexpr std::size_t kMaxRecords = 100000;

}  // namespace

core::Result<server::StatusPage> status_page_from_store(const store::Store& store,
                                                        const Config& cfg, core::TimePoint now) {
  auto latest = store.latest_components();
  if (!latest) return std::unexpected(latest.error());
  const auto readiness = readiness::aggregate(*latest, cfg.gate, now);
  const auto first_day = std::chrono::floor<std::chrono::days>(now) -
                         std::chrono::days(server::kStatusHistoryDays - 1);
  auto days = store.component_days(core::TimePoint(first_day), now);
  if (!days) return std::unexpected(days.error());
  auto rows = store.alerting_log("record", core::TimePoint::min(), now, kMaxRecords);
  if (!rows) return std::unexpected(rows.error());
  std::vector<alerting::Record> records;
  for (const auto& row : *rows) {
    auto r = alerting::record_from_json(nlohmann::json::parse(row.json, nullptr, false));
    if (r) records.push_back(std::move(*r));
  }
  // Deliveries do not change a public incident's state: no outbox rows needed.
  const auto timelines = alerting::timelines(records, {});
  return server::build_status_page(cfg.status_page, readiness, *days, timelines, now);
}

std::string render_status(const server::StatusPage& page, std::string_view format) {
  if (format == "json") return server::to_json(page).dump(2) + "\n";
  if (format == "html") return server::to_html(page);
  return server::to_markdown(page);
}

int run_status(const StatusOptions& o, std::ostream& out, std::ostream& err) {
  if (o.format != "markdown" && o.format != "json" && o.format != "html") {
    err << "opsready: status: --format must be markdown, json or html\n";
    return kExitUsage;
  }
  const auto timeout = core::parse_duration(o.timeout);
  if (!timeout || *timeout <= core::Duration::zero()) {
    err << "opsready: status: --timeout: '" << o.timeout << "' is not a positive duration\n";
    return kExitUsage;
  }
  Config cfg;
  if (o.config) {
    auto loaded = load_config_file(*o.config);
    if (!loaded) {
      for (const auto& e : loaded.error()) err << e.describe() << "\n";
      return kExitDataErr;
    }
    cfg = std::move(*loaded);
  }
  core::Result<server::StatusPage> page = core::fail("unset", "");
  if (o.db) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(*o.db, ec)) {
      err << "opsready: status: --db: '" << o.db->string() << "' is not a file\n";
      return kExitNoInput;
    }
    auto store = store::open_sqlite_store(*o.db);
    if (!store) {
      err << "opsready: status: " << store.error().message << "\n";
      return kExitNoInput;
    }
    page = status_page_from_store(
        **store, cfg,
        std::chrono::time_point_cast<core::Duration>(std::chrono::system_clock::now()));
  } else {
    // The daemon client of the other commands (URL checks, $OPSREADY_TOKEN, exit codes).
    auto j = daemon_get_json(DaemonOptions{.url = o.url, .timeout = o.timeout}, "/api/v1/status");
    if (!j) {
      err << "opsready: status: " << j.error().message << "\n";
      return j.error().code;
    }
    page = server::status_page_from_json(*j);
  }
  if (!page) {
    err << "opsready: status: " << page.error().message << "\n";
    return kExitDataErr;
  }
  const std::string text = render_status(*page, o.format);
  if (!o.output) {
    out << text;
    return kExitOk;
  }
  std::ofstream file(*o.output, std::ios::binary | std::ios::trunc);
  file << text;
  if (!file.flush()) {
    err << "opsready: status: cannot write '" << o.output->string() << "'\n";
    return kExitCantCreate;
  }
  return kExitOk;
}

}  // namespace opsready::app
