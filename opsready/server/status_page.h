#pragma once
// The public status page (issue 14, "The status page"): what people outside the desk see of
// opsready's readiness — an overall status, component groups with configurable names, current
// and recently resolved incidents and a 90-day daily history per group — built from live
// state, so it cannot drift from reality.
//
//   StatusPage page = build_status_page(cfg.status_page, *readiness, days, incidents, now);
//   std::string html = to_html(page);           // GET /status (no JavaScript)
//   nlohmann::json api = to_json(page);          // GET /api/v1/status
//   nlohmann::json agg = to_summary_json(page);  // GET /status/summary.json (Statuspage v2)
//   std::string md = to_markdown(page);          // opsready status --format markdown
//   auto again = status_page_from_json(api);     // the CLI renders a daemon's page
//
// What the page hides: it names groups, never components, and shows no component summary,
// issue, metadata or label. A group's status is the worst current status of its components
// (after staleness, as the readiness snapshot has it), worded for the public: Operational,
// Degraded performance, Major outage (ok, warn, fail). An incident's title is its alertname
// (the group labels' `alertname`, else "Incident <id>") and the groups its `component` label
// falls in; no other label is shown.
//
// Pure functions over plain values; no I/O, no clock (`now` is passed). Thread-safe.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/alerting/incident.h"
#include "opsready/core/clock.h"
#include "opsready/core/error.h"
#include "opsready/core/status.h"
#include "opsready/readiness/readiness.h"
#include "opsready/store/store.h"

namespace opsready::server {

// Days of history per group, the last being today (UTC).
inline constexpr int kStatusHistoryDays = 90;
// Resolved incidents stay on the page this long after their resolution.
inline constexpr core::Duration kRecentlyResolved = std::chrono::days(7);

// status_page.groups[]: one group of the page.
struct StatusGroupOptions {
  std::string name;
  std::string description;
  // Component names or glob patterns (`*` any run, `?` one character): "ingest*".
  std::vector<std::string> components;

  bool operator==(const StatusGroupOptions&) const = default;
};

// status_page: the page's configuration (docs/configuration.md#status_page).
struct StatusPageOptions {
  std::string title = "opsready status";
  // The page's public address, for summary.json's page.url and the HTML's links; empty: none.
  std::string url;
  std::vector<StatusGroupOptions> groups;
  // Components in no group are shown as a group "Other" (when there are any).
  bool show_ungrouped = true;
  // Only incidents of these receivers are shown; empty: every incident.
  std::vector<std::string> incident_receivers;
  // Days the store keeps the daily roll-up (Store::prune_component_days); at least 90.
  int status_days = store::kDefaultStatusDays;

  bool operator==(const StatusPageOptions&) const = default;
};

// The name of the group of components no configured group holds.
inline constexpr std::string_view kUngroupedName = "Other";

// Whether `name` matches `pattern` (`*` and `?` wildcards; everything else literal).
[[nodiscard]] bool glob_match(std::string_view pattern, std::string_view name);

enum class IncidentState { kInvestigating, kIdentified, kMonitoring, kResolved };
// "investigating", "identified", "monitoring", "resolved".
[[nodiscard]] std::string_view to_string(IncidentState s);
[[nodiscard]] std::optional<IncidentState> parse_incident_state(std::string_view s);

// The public wording: "Operational", "Degraded performance", "Major outage"; "No data" for
// none.
[[nodiscard]] std::string_view public_status(std::optional<core::Status> s);
// The page's headline: "All systems operational", "Degraded performance", "Major outage".
[[nodiscard]] std::string_view overall_description(core::Status s);

struct StatusDay {
  core::TimePoint day{};               // 00:00 UTC
  std::optional<core::Status> status;  // the worst of the day; nullopt: no data

  bool operator==(const StatusDay&) const = default;
};

struct StatusGroup {
  std::string id;  // slug of the name (core::slug_part), unique on the page
  std::string name;
  std::string description;
  std::optional<core::Status> status;         // nullopt: none of its components reported
  std::optional<core::TimePoint> updated_at;  // newest observed_at among its components
  std::vector<StatusDay> history;             // kStatusHistoryDays, oldest first
  int days_with_data = 0;                     // of history
  int operational_days = 0;                   // of history: worst of the day ok

  bool operator==(const StatusGroup&) const = default;
};

struct StatusIncident {
  std::string id;  // the incident's id (Incident::id), decimal
  std::string title;
  IncidentState state = IncidentState::kInvestigating;
  std::vector<std::string> groups;  // names of the groups it affects, page order
  core::TimePoint started_at{};
  std::optional<core::TimePoint> identified_at;  // acknowledged
  std::optional<core::TimePoint> resolved_at;
  core::TimePoint updated_at{};  // the latest of the three

  bool operator==(const StatusIncident&) const = default;
};

struct StatusPage {
  std::string title;
  std::string url;
  core::TimePoint generated_at{};
  core::Status status = core::Status::kOk;  // worst of the groups; ok without any
  std::vector<StatusGroup> groups;          // configured order, then "Other"
  std::vector<StatusIncident> incidents;    // open, newest first
  std::vector<StatusIncident> resolved;     // resolved within kRecentlyResolved, newest first

  bool operator==(const StatusPage&) const = default;
};

// Builds the page. `days` is Store::component_days over the history (any order); `incidents`
// the incident timelines (alerting::timelines), any order. An incident is identified once
// acknowledged, monitoring when acknowledged and every group it affects is operational again,
// resolved once resolved.
[[nodiscard]] StatusPage build_status_page(const StatusPageOptions& options,
                                           const readiness::ReadinessSnapshot& readiness,
                                           const std::vector<store::ComponentDay>& days,
                                           const std::vector<alerting::IncidentTimeline>& incidents,
                                           core::TimePoint now);

// HTML5, server-rendered, no script; inline CSS with light and dark themes
// (prefers-color-scheme); every status in words as well as colour; every string escaped.
[[nodiscard]] std::string to_html(const StatusPage& page);

// GET /api/v1/status: {"title", "url", "generated_at", "status" (ok|warn|fail), "description",
// "groups": [{"id", "name", "description", "status" (ok|warn|fail|null), "status_text",
// "updated_at" (null when none), "days_with_data", "operational_days", "history": [{"day"
// (YYYY-MM-DD), "status" (ok|warn|fail|null)}]}], "incidents": [incident], "resolved":
// [incident]}; incident = {"id", "title", "state", "groups", "started_at", "identified_at"
// (null), "resolved_at" (null), "updated_at"}.
[[nodiscard]] nlohmann::json to_json(const StatusPage& page);
// The inverse of to_json() (`opsready status --url`); errors name the field
// (`status_page_invalid`).
[[nodiscard]] core::Result<StatusPage> status_page_from_json(const nlohmann::json& j);

// Atlassian Statuspage API v2 summary.json, which status aggregators read: {"page": {"id",
// "name", "url", "time_zone": "Etc/UTC", "updated_at"}, "status": {"indicator" (none, minor,
// major, critical: every group in major outage), "description"}, "components": [{"id",
// "name", "status" (operational, degraded_performance, major_outage), "created_at",
// "updated_at", "position", "description", "showcase", "start_date", "group_id", "page_id",
// "group", "only_show_if_degraded"}] (groups without data left out), "incidents": [the open
// ones, {"id", "name", "status", "created_at", "updated_at", "monitoring_at", "resolved_at",
// "impact", "shortlink", "started_at", "page_id", "incident_updates": [...], "components":
// [...]}], "scheduled_maintenances": []}.
[[nodiscard]] nlohmann::json to_summary_json(const StatusPage& page);

// A repository's STATUS.md: title, overall status, the groups' table, current and recently
// resolved incidents, and per group a 90-character history row (legend below it) with the
// days operational.
[[nodiscard]] std::string to_markdown(const StatusPage& page);

}  // namespace opsready::server
