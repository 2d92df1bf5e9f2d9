#include "opsready/server/status_page.h"

#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "opsready/core/time.h"

namespace opsready::server {
namespace {

using core::Status;
using core::TimePoint;

TimePoint at(const char* s) { return core::parse_rfc3339(s).value(); }
const TimePoint kNow = at("2026-12-07T12:00:00Z");

core::ComponentSnapshot comp(std::string name, Status s, std::string summary = "secret summary") {
  core::ComponentSnapshot c;
  c.component = std::move(name);
  c.status = s;
  c.summary = std::move(summary);
  c.observed_at = kNow - std::chrono::minutes(1);
  return c;
}

readiness::ReadinessSnapshot readiness_of(std::vector<core::ComponentSnapshot> cs) {
  readiness::ReadinessSnapshot r;
  r.generated_at = kNow;
  r.components = std::move(cs);
  return r;
}

StatusPageOptions options() {
  return {.title = "Desk <status> & co",
          .groups = {
              {.name = "Market data", .description = "Feeds \"live\"", .components = {"ingest*"}},
              {.name = "Risk", .components = {"risk", "limits?"}}}};
}

store::ComponentDay day(std::string c, int days_ago, Status s) {
  const TimePoint today = at("2026-12-07T00:00:00Z");
  return {.component = std::move(c), .day = today - std::chrono::days(days_ago), .worst = s};
}

alerting::IncidentTimeline incident(std::uint64_t id, std::string component, TimePoint opened,
                                    std::optional<TimePoint> acked = std::nullopt,
                                    std::optional<TimePoint> resolved = std::nullopt) {
  alerting::IncidentTimeline t;
  t.incident.id = id;
  t.incident.group =
      "{}/{severity=\"critical\"}/0:{alertname=\"OpsreadyComponentNotOk\", component=\"" +
      component + "\"}";
  t.incident.receiver = "oncall";
  t.incident.opened_at = opened;
  t.incident.acknowledged_at = acked;
  t.incident.resolved_at = resolved;
  return t;
}

TEST(GlobMatch, Cases) {
  struct Case {
    const char* pattern;
    const char* name;
    bool match;
  } cases[] = {{"ingest*", "ingest_slos", true}, {"ingest*", "ingest", true},
               {"ingest*", "xingest", false},    {"limits?", "limits2", true},
               {"limits?", "limits", false},     {"*drift*", "sensory_drift", true},
               {"a*b*c", "axxbyyc", true},       {"a*b*c", "axxbyy", false},
               {"risk", "risk", true},           {"", "", true}};
  for (const auto& c : cases)
    EXPECT_EQ(glob_match(c.pattern, c.name), c.match) << c.pattern << " " << c.name;
}

TEST(StatusPage, GroupsByGlobWorstStatusAndOther) {
  const auto page = build_status_page(
      options(),
      readiness_of({comp("ingest_slos", Status::kWarn), comp("ingest_bus", Status::kOk),
                    comp("risk", Status::kOk), comp("event_bus", Status::kFail)}),
      {}, {}, kNow);
  ASSERT_EQ(page.groups.size(), 3u);
  EXPECT_EQ(page.groups[0].name, "Market data");
  EXPECT_EQ(page.groups[0].status, Status::kWarn);
  EXPECT_EQ(page.groups[1].status, Status::kOk);
  EXPECT_EQ(page.groups[2].name, "Other");
  EXPECT_EQ(page.groups[2].status, Status::kFail);
  EXPECT_EQ(page.status, Status::kFail);
  auto hidden = options();
  hidden.show_ungrouped = false;
  const auto no_other =
      build_status_page(hidden, readiness_of({comp("event_bus", Status::kFail)}), {}, {}, kNow);
  ASSERT_EQ(no_other.groups.size(), 2u);
  EXPECT_EQ(no_other.groups[0].status, std::nullopt);  // no data
  EXPECT_EQ(no_other.status, Status::kOk);
}

TEST(StatusPage, NinetyDaysOfHistoryWithGaps) {
  const auto page =
      build_status_page(options(), readiness_of({comp("ingest_slos", Status::kOk)}),
                        {day("ingest_slos", 0, Status::kOk), day("ingest_bus", 0, Status::kFail),
                         day("ingest_slos", 3, Status::kWarn), day("ingest_slos", 89, Status::kOk),
                         day("ingest_slos", 90, Status::kFail)},  // out of the window
                        {}, kNow);
  const auto& h = page.groups[0].history;
  ASSERT_EQ(h.size(), 90u);
  EXPECT_EQ(h.back().day, at("2026-12-07T00:00:00Z"));
  EXPECT_EQ(h.back().status, Status::kFail);  // worst of its components
  EXPECT_EQ(h[86].status, Status::kWarn);
  EXPECT_EQ(h[85].status, std::nullopt);
  EXPECT_EQ(h.front().status, Status::kOk);
  EXPECT_EQ(page.groups[0].days_with_data, 3);
  EXPECT_EQ(page.groups[0].operational_days, 1);
}

TEST(StatusPage, IncidentStates) {
  const auto page = build_status_page(
      options(), readiness_of({comp("ingest_slos", Status::kFail), comp("risk", Status::kOk)}), {},
      {incident(1, "ingest_slos", kNow - std::chrono::hours(2)),
       incident(2, "ingest_slos", kNow - std::chrono::hours(1), kNow - std::chrono::minutes(30)),
       incident(3, "risk", kNow - std::chrono::hours(3), kNow - std::chrono::hours(2)),
       incident(4, "risk", kNow - std::chrono::days(2), std::nullopt, kNow - std::chrono::days(1)),
       incident(5, "risk", kNow - std::chrono::days(9), std::nullopt, kNow - std::chrono::days(8))},
      kNow);
  ASSERT_EQ(page.incidents.size(), 3u);
  EXPECT_EQ(page.incidents[0].id, "2");
  EXPECT_EQ(page.incidents[0].state, IncidentState::kIdentified);
  EXPECT_EQ(page.incidents[0].groups, std::vector<std::string>{"Market data"});
  EXPECT_EQ(page.incidents[0].title, "OpsreadyComponentNotOk");
  EXPECT_EQ(page.incidents[1].state, IncidentState::kInvestigating);
  EXPECT_EQ(page.incidents[2].state, IncidentState::kMonitoring);  // acked, Risk operational
  ASSERT_EQ(page.resolved.size(), 1u);  // the one resolved 8 days ago is gone
  EXPECT_EQ(page.resolved[0].state, IncidentState::kResolved);
  auto only = options();
  only.incident_receivers = {"public"};
  EXPECT_TRUE(build_status_page(only, readiness_of({}), {},
                                {incident(1, "risk", kNow - std::chrono::hours(1))}, kNow)
                  .incidents.empty());
}

StatusPage sample() {
  return build_status_page(
      options(),
      readiness_of({comp("ingest_slos", Status::kWarn, "secret <b>summary</b>"),
                    comp("risk", Status::kOk), comp("event_bus", Status::kFail)}),
      {day("ingest_slos", 0, Status::kWarn), day("risk", 5, Status::kOk)},
      {incident(7, "ingest_slos", kNow - std::chrono::hours(1)),
       incident(8, "risk", kNow - std::chrono::days(1), std::nullopt,
                kNow - std::chrono::hours(20))},
      kNow);
}

TEST(StatusPage, InternalDetailNeverAppears) {
  const auto page = sample();
  for (const std::string& out :
       {to_html(page), to_json(page).dump(), to_summary_json(page).dump(), to_markdown(page)}) {
    EXPECT_EQ(out.find("secret"), std::string::npos);
    EXPECT_EQ(out.find("ingest_slos"), std::string::npos);  // component names neither
    EXPECT_EQ(out.find("severity"), std::string::npos);
  }
}

TEST(StatusPage, HtmlIsEscapedScriptFreeAndAccessible) {
  const std::string html = to_html(sample());
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find("<html lang=\"en\">"), std::string::npos);
  EXPECT_NE(html.find("Desk &lt;status&gt; &amp; co"), std::string::npos);
  EXPECT_EQ(html.find("Desk <status>"), std::string::npos);
  EXPECT_NE(html.find("Feeds &quot;live&quot;"), std::string::npos);
  EXPECT_NE(html.find("prefers-color-scheme:dark"), std::string::npos);
  EXPECT_NE(html.find("title=\"2026-12-07: Degraded performance\""), std::string::npos);
  EXPECT_NE(html.find("<h1>"), std::string::npos);
}

TEST(StatusPage, HtmlAndJsonAgree) {
  const auto page = sample();
  const std::string html = to_html(page);
  const auto j = to_json(page);
  const std::regex group_re("data-group=\"([^\"]+)\" data-status=\"([a-z]+)\"");
  std::vector<std::pair<std::string, std::string>> html_groups;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), group_re);
       it != std::sregex_iterator(); ++it) {
    html_groups.emplace_back((*it)[1], (*it)[2]);
  }
  std::vector<std::pair<std::string, std::string>> json_groups;
  std::size_t json_days = 0;
  for (const auto& g : j["groups"]) {
    json_groups.emplace_back(g["id"],
                             g["status"].is_null() ? "none" : g["status"].get<std::string>());
    json_days += g["history"].size();
  }
  EXPECT_EQ(html_groups, json_groups);
  const std::regex day_re("data-day=\"");
  EXPECT_EQ(static_cast<std::size_t>(std::distance(
                std::sregex_iterator(html.begin(), html.end(), day_re), std::sregex_iterator())),
            json_days);
  const std::regex inc_re("data-incident=\"([0-9]+)\" data-state=\"([a-z]+)\"");
  std::vector<std::string> html_incidents;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), inc_re);
       it != std::sregex_iterator(); ++it) {
    html_incidents.push_back((*it)[1].str() + "/" + (*it)[2].str());
  }
  std::vector<std::string> json_incidents;
  for (const char* list : {"incidents", "resolved"}) {
    for (const auto& i : j[list])
      json_incidents.push_back(i["id"].get<std::string>() + "/" + i["state"].get<std::string>());
  }
  EXPECT_EQ(html_incidents, json_incidents);
  EXPECT_NE(html.find("data-status=\"" + j["status"].get<std::string>() + "\""), std::string::npos);
}

TEST(StatusPage, JsonRoundTripsAndRefusesBadDocuments) {
  const auto page = sample();
  auto back = status_page_from_json(to_json(page));
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(*back, page);
  EXPECT_EQ(to_markdown(*back), to_markdown(page));
  auto j = to_json(page);
  j["groups"][0]["history"][3]["status"] = "purple";
  auto bad = status_page_from_json(j);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, "status_page_invalid");
  EXPECT_NE(bad.error().message.find("status.groups[0].history[3].status"), std::string::npos);
}

TEST(StatusPage, SummaryJsonHasTheStatuspageShape) {
  const auto s = to_summary_json(sample());
  for (const char* k : {"page", "status", "components", "incidents", "scheduled_maintenances"}) {
    EXPECT_TRUE(s.contains(k)) << k;
  }
  for (const char* k : {"id", "name", "url", "updated_at", "time_zone"})
    EXPECT_TRUE(s["page"].contains(k)) << k;
  EXPECT_EQ(s["status"]["indicator"], "major");
  EXPECT_EQ(s["status"]["description"], "Partial System Outage");
  ASSERT_EQ(s["components"].size(), 3u);
  EXPECT_EQ(s["components"][0]["status"], "degraded_performance");
  EXPECT_EQ(s["components"][1]["status"], "operational");
  EXPECT_EQ(s["components"][2]["status"], "major_outage");
  for (const char* k :
       {"id", "name", "status", "created_at", "updated_at", "position", "description", "showcase",
        "group_id", "page_id", "group", "only_show_if_degraded"}) {
    EXPECT_TRUE(s["components"][0].contains(k)) << k;
  }
  ASSERT_EQ(s["incidents"].size(), 1u);  // the open one only
  const auto& i = s["incidents"][0];
  EXPECT_EQ(i["status"], "investigating");
  EXPECT_EQ(i["impact"], "minor");
  EXPECT_EQ(i["components"][0]["name"], "Market data");
  ASSERT_EQ(i["incident_updates"].size(), 1u);
  EXPECT_EQ(i["incident_updates"][0]["status"], "investigating");
  EXPECT_TRUE(s["scheduled_maintenances"].empty());
}

TEST(StatusPage, MarkdownHasTheTableAndNinetyCharacterRows) {
  const std::string md = to_markdown(sample());
  EXPECT_NE(md.find("| Market data | Degraded performance | Feeds \"live\" |"), std::string::npos);
  EXPECT_NE(md.find("## Current incidents"), std::string::npos);
  EXPECT_NE(md.find("## Recently resolved"), std::string::npos);
  const auto row = md.find("\n`", md.find("**Market data**"));
  ASSERT_NE(row, std::string::npos);
  const auto end = md.find('`', row + 2);
  const std::string bars = md.substr(row + 2, end - row - 2);
  std::size_t chars = 0;
  for (unsigned char c : bars) chars += (c & 0xC0) != 0x80;
  EXPECT_EQ(chars, 90u);
}

}  // namespace
}  // namespace opsready::server
