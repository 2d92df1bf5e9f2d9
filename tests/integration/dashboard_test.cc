// The operator surfaces of a running daemon (issue 14): the original's dashboard from the feeds,
// the dashboard's event stream, the history strips, the status page, the CSRF refusal of
// cross-site writes, and `opsready ci-summary --url`. The page itself is driven in Chromium by
// tests/e2e/.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/integration/harness.h"

namespace opsready::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

bool eventually(const std::function<bool()>& probe, std::chrono::milliseconds timeout = 15s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (probe()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
}

json get_json(httplib::Client& c, const std::string& path) {
  auto res = c.Get(path);
  if (!res) throw std::runtime_error("GET " + path + " failed");
  return json::parse(res->body);
}

const json* panel(const json& dashboard, const std::string& name) {
  for (const auto& p : dashboard["panels"]) {
    if (p["name"] == name) return &p;
  }
  return nullptr;
}

struct Served {
  Served() : cfg(dir.path() / "opsready.yml") {
    write_file(cfg, "listen: 127.0.0.1:0\ndata_dir: " + (dir.path() / "data").string() +
                        "\nevaluation_interval: 100ms\nstatus_page:\n  title: Desk status\n"
                        "  groups:\n    - name: Trading\n      components: [\"fix_*\", risk]\n");
    daemon.emplace(std::vector<std::string>{"serve", "--config", cfg.string()});
  }
  TempDir dir;
  std::filesystem::path cfg;
  std::optional<Daemon> daemon;
};

int post_events(httplib::Client& c, const json& events) {
  auto res = c.Post("/api/v1/events", events.dump(), "application/json");
  return res ? res->status : -1;
}

json snapshot_event(const std::string& component, const std::string& status) {
  return {{"topic", "opsready.component.snapshot"},
          {"source", "test"},
          {"payload",
           {{"component", component}, {"status", status}, {"summary", component + " " + status}}}};
}

TEST(Dashboard, FeedsReachTheOriginalsPanelsAndANonObjectFeedIsRefused) {
  Served s;
  auto c = s.daemon->client();
  // No feed yet: the original's placeholders (compliance, evolution, leverage, diary,
  // understanding) are there, warn.
  json d;
  ASSERT_TRUE(eventually([&] {
    auto res = c.Get("/api/v1/dashboard");
    if (!res || res->status != 200) return false;
    d = json::parse(res->body);
    return true;
  }));
  ASSERT_NE(panel(d, "Decision diary"), nullptr) << d.dump(2);
  EXPECT_EQ((*panel(d, "Decision diary"))["status"], "warn");
  EXPECT_EQ(panel(d, "Risk & exposure"), nullptr);
  EXPECT_TRUE(d.contains("remediation_summary"));

  EXPECT_EQ(post_events(c, json::array({{{"topic", "telemetry.dashboard.risk"},
                                         {"payload", json::array({1, 2})}}})),
            400);
  ASSERT_EQ(post_events(c, json::array({{{"topic", "telemetry.dashboard.risk"},
                                         {"source", "risk"},
                                         {"payload",
                                          {{"results", {{"parametric_var", 12000}}},
                                           {"limits", {{"parametric_var", 10000}}}}}}})),
            202);
  ASSERT_TRUE(eventually([&] {
    d = get_json(c, "/api/v1/dashboard");
    return panel(d, "Risk & exposure") != nullptr;
  }));
  EXPECT_EQ((*panel(d, "Risk & exposure"))["status"], "fail");
  EXPECT_NE((*panel(d, "Risk & exposure"))["headline"].get<std::string>().find("120%"),
            std::string::npos)
      << d.dump(2);
  EXPECT_EQ(d["status"], "fail");
  const auto md = c.Get("/api/v1/dashboard?format=markdown");
  ASSERT_TRUE(md);
  EXPECT_NE(md->body.find("# Operational observability dashboard"), std::string::npos);
  EXPECT_NE(md->body.find("## Risk & exposure"), std::string::npos);
  // The unrouted counter does not count feeds; the ingest path does.
  const auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("opsready_events_ingested_total{path=\"http\"} 1"),
            std::string::npos);
}

TEST(Dashboard, TheStreamSendsEveryKindAndAComponentGoingFailAtOnce) {
  Served s;
  auto c = s.daemon->client();
  ASSERT_EQ(post_events(c, json::array({snapshot_event("fix_gateway", "ok")})), 202);
  ASSERT_TRUE(eventually([&] { return c.Get("/api/v1/readiness")->status == 200; }));

  std::mutex mu;
  std::string seen;
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    httplib::Client sc("127.0.0.1", s.daemon->port());
    sc.set_read_timeout(20s);
    (void)sc.Get("/api/v1/dashboard/stream", [&](const char* data, std::size_t n) {
      std::lock_guard lock(mu);
      seen.append(data, n);
      return !stop.load();
    });
  });
  auto has = [&](const std::string& text) {
    std::lock_guard lock(mu);
    return seen.find(text) != std::string::npos;
  };
  EXPECT_TRUE(eventually([&] {
    return has("event: readiness\n") && has("event: alerts\n") && has("event: stats\n") &&
           has("event: dashboard\n") && has("event: supervision\n");
  }));
  ASSERT_EQ(post_events(c, json::array({snapshot_event("fix_gateway", "fail")})), 202);
  // The change comes as a delta holding the one component (the whole snapshot came first).
  EXPECT_TRUE(eventually([&] { return has("\"summary\":\"fix_gateway fail\""); }, 3s));
  {
    std::lock_guard lock(mu);
    const auto at = seen.find("event: readiness_delta\n");
    ASSERT_NE(at, std::string::npos) << seen.substr(0, 2000);
    const auto data = seen.find("data: ", at) + 6;
    const json delta = json::parse(seen.substr(data, seen.find('\n', data) - data));
    EXPECT_EQ(delta["components"].size(), 1U) << delta.dump(2);
    EXPECT_EQ(delta["components"][0]["status"], "fail");
    EXPECT_EQ(delta["base"].get<int>() + 1, delta["version"].get<int>());
    EXPECT_EQ(delta["gate"]["decision"], "block");
    // The stream's dashboard event does not carry the snapshot a second time.
    const auto dash = seen.find("event: dashboard\n");
    ASSERT_NE(dash, std::string::npos);
    const auto ddata = seen.find("data: ", dash) + 6;
    const json doc = json::parse(seen.substr(ddata, seen.find('\n', ddata) - ddata));
    bool found = false;
    for (const auto& p : doc["panels"]) {
      if (p["name"] != "Operational readiness") continue;
      found = true;
      const json& brief = p["metadata"]["operational_readiness"];
      EXPECT_EQ(brief["abbreviated"], true) << brief.dump();
      // fix_gateway and opsready's own component, counted by status.
      EXPECT_EQ(brief["components"].get<int>(), brief["counts"]["ok"].get<int>() +
                                                    brief["counts"]["warn"].get<int>() +
                                                    brief["counts"]["fail"].get<int>())
          << brief.dump();
      EXPECT_GE(brief["components"].get<int>(), 1);
      EXPECT_FALSE(brief.contains("generated_at"));
    }
    EXPECT_TRUE(found) << doc.dump();
  }
  EXPECT_TRUE(has("\"events_total\":{"));
  stop = true;
  // The stream ends when the next event arrives and the receiver says stop.
  reader.join();
}

TEST(Dashboard, HistoryStripsAndTheStatusPageComeFromTheStore) {
  Served s;
  auto c = s.daemon->client();
  ASSERT_EQ(
      post_events(c, json::array({snapshot_event("fix_gateway", "fail"),
                                  snapshot_event("risk", "ok"), snapshot_event("cache", "warn")})),
      202);
  json strips;
  ASSERT_TRUE(eventually([&] {
    strips = get_json(c, "/api/v1/components/history?window=24h");
    return strips["components"].contains("fix_gateway") && strips["components"].contains("risk");
  })) << strips.dump(2);
  EXPECT_EQ(strips["bucket_seconds"], 900);
  EXPECT_EQ(strips["components"]["fix_gateway"].back()["status"], "fail");
  EXPECT_EQ(c.Get("/api/v1/components/history?window=1y")->status, 400);
  const json one = get_json(c, "/api/v1/components/fix_gateway/history");
  ASSERT_GE(one["count"].get<int>(), 1);
  EXPECT_EQ(one["snapshots"].back()["status"], "fail");

  // The public page: the group is down, detail is hidden, and it works without JavaScript.
  json status;
  ASSERT_TRUE(eventually([&] {
    status = get_json(c, "/api/v1/status");
    return status.contains("groups") && !status["groups"].empty();
  }));
  const auto html = c.Get("/status");
  ASSERT_TRUE(html);
  EXPECT_EQ(html->status, 200);
  EXPECT_EQ(html->body.find("<script"), std::string::npos);
  EXPECT_NE(html->body.find("Desk status"), std::string::npos);
  EXPECT_EQ(html->body.find("fix_gateway fail"), std::string::npos) << "a summary leaked";
  EXPECT_EQ(status.dump().find("fix_gateway fail"), std::string::npos);
  bool trading_down = false;
  for (const auto& g : status["groups"]) {
    if (g["name"] == "Trading") {
      trading_down = g.dump().find("fail") != std::string::npos ||
                     g.dump().find("outage") != std::string::npos;
      EXPECT_NE(html->body.find("Trading"), std::string::npos);
    }
  }
  EXPECT_TRUE(trading_down) << status.dump(2);
  const json summary = get_json(c, "/status/summary.json");
  EXPECT_EQ(summary["page"]["name"], "Desk status");
  EXPECT_TRUE(summary["status"].contains("indicator"));
}

TEST(Dashboard, AWriteFromAnotherSiteIsRefusedAndTheSameOriginPasses) {
  Served s;
  auto c = s.daemon->client();
  ASSERT_TRUE(eventually([&] { return c.Get("/-/ready")->status == 200; }));
  const json silence = {
      {"matchers",
       json::array({{{"name", "alertname"}, {"value", "OpsreadyWatchdog"}, {"isRegex", false}}})},
      {"startsAt", "2020-01-01T00:00:00Z"},
      {"endsAt", "2099-01-01T00:00:00Z"},
      {"createdBy", "test"},
      {"comment", "csrf"}};
  const std::string host = "127.0.0.1:" + std::to_string(s.daemon->port());
  auto evil = c.Post("/api/v2/silences", {{"Origin", "http://evil.example"}}, silence.dump(),
                     "application/json");
  ASSERT_TRUE(evil);
  EXPECT_EQ(evil->status, 403) << evil->body;
  auto fetch_site = c.Post("/api/v2/silences", {{"Sec-Fetch-Site", "cross-site"}}, silence.dump(),
                           "application/json");
  ASSERT_TRUE(fetch_site);
  EXPECT_EQ(fetch_site->status, 403);
  auto null_origin =
      c.Post("/api/v2/silences", {{"Origin", "null"}}, silence.dump(), "application/json");
  EXPECT_EQ(null_origin->status, 403);
  EXPECT_TRUE(get_json(c, "/api/v2/silences").empty()) << "a refused write was applied";
  auto same = c.Post("/api/v2/silences", {{"Origin", "http://" + host}}, silence.dump(),
                     "application/json");
  ASSERT_TRUE(same);
  EXPECT_EQ(same->status, 200) << same->body;
  const auto metrics = c.Get("/metrics")->body;
  EXPECT_NE(metrics.find("opsready_http_cross_site_refused_total{handler=\"v2_silences_post\"} 3"),
            std::string::npos);
}

TEST(Dashboard, CiSummaryFromADaemonHasTheChartAlertsPanelsAndComponents) {
  Served s;
  auto c = s.daemon->client();
  ASSERT_EQ(post_events(c, json::array({snapshot_event("fix_gateway", "ok")})), 202);
  std::this_thread::sleep_for(1200ms);
  ASSERT_EQ(post_events(c, json::array({snapshot_event("fix_gateway", "fail")})), 202);
  ASSERT_TRUE(eventually([&] { return get_json(c, "/api/v1/readiness")["status"] == "fail"; }));
  std::this_thread::sleep_for(1200ms);
  const auto out = s.dir.path() / "summary.md";
  const RunResult r =
      run_opsready({"ci-summary", "--url", "http://127.0.0.1:" + std::to_string(s.daemon->port()),
                    "--window", "10m", "--out", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string md = read_file(out);
  EXPECT_NE(md.find("Operational readiness: FAIL"), std::string::npos) << md;
  EXPECT_NE(md.find("```mermaid\nxychart-beta"), std::string::npos) << md;
  EXPECT_NE(md.find("### Active alerts"), std::string::npos);
  EXPECT_NE(md.find("### Dashboard panels"), std::string::npos);
  EXPECT_NE(md.find("<code>fix_gateway</code></summary>"), std::string::npos);
  // --url with --from is a usage error; an unreachable daemon is 69.
  EXPECT_EQ(run_opsready({"ci-summary", "--url", "http://127.0.0.1:1", "--from", "x"}).exit_code,
            64);
  EXPECT_EQ(run_opsready({"ci-summary", "--url", "http://127.0.0.1:1"}).exit_code, 69);
}

}  // namespace
}  // namespace opsready::testing
