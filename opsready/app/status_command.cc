#include "opsready/app/status_command.h"

#include <chrono>
#include <fstream>
#include <iostream>

#include <httplib.h>

#include "opsready/alerting/incident.h"
#include "opsready/alerting/record.h"
#include "opsready/app/commands.h"
#include "opsready/core/time.h"
#include "opsready/readiness/readiness.h"

namespace opsready::app {
namespace {

constexpr int kExitUnavailable = 69;

// The records and outbox rows an incident list of the page needs: those of the last
// kRecentlyResolved and the incidents still open (bounded, as the daemon's incident API).
constexpr std::size_t kMaxRecords = 100000;

core::Result<nlohmann::json> fetch_status(const std::string& url, core::Duration timeout) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) {
    return core::fail("usage", "--url: '" + url + "' is not an http:// or https:// URL");
  }
  const auto slash = url.find('/', scheme + 3);
  const std::string origin = url.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : url.substr(slash);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  httplib::Client client(origin);
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  const auto r = client.Get(prefix + "/api/v1/status", {{"Accept", "application/json"}});
  if (!r) {
    return core::fail("unavailable", "cannot reach the daemon at " + url + " (" +
                                         httplib::to_string(r.error()) + "; is it running?)");
  }
  if (r->status != 200) {
    return core::fail("unavailable",
                      "GET " + url + "/api/v1/status answered HTTP " + std::to_string(r->status));
  }
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded()) return core::fail("status_page_invalid", "the daemon's answer is not JSON");
  return j;
}

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
    auto j = fetch_status(o.url, *timeout);
    if (!j) {
      err << "opsready: status: " << j.error().message << "\n";
      return j.error().code == "usage"         ? kExitUsage
             : j.error().code == "unavailable" ? kExitUnavailable
                                               : kExitDataErr;
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
