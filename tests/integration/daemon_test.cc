// End-to-end tests of `opsready serve`: the real binary on a loopback port, real HTTP.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <functional>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "harness.h"

namespace opsready::testing {
namespace {

using nlohmann::json;

json snapshot_event(const std::string& component, const std::string& status,
                    const std::string& observed_at = "") {
  json payload = {{"component", component}, {"status", status}, {"summary", status + " summary"}};
  if (!observed_at.empty()) payload["observed_at"] = observed_at;
  return {{"topic", "opsready.component.snapshot"}, {"source", "test"}, {"payload", payload}};
}

json get_json(httplib::Client& c, const std::string& path) {
  auto res = c.Get(path);
  if (!res) throw std::runtime_error("GET " + path + " failed");
  return json::parse(res->body);
}

// Polls until `pred` holds on the readiness document (evaluation is asynchronous).
json wait_readiness(httplib::Client& c, const std::function<bool(const json&)>& pred) {
  json last;
  for (int i = 0; i < 500; ++i) {
    last = get_json(c, "/api/v1/readiness");
    if (pred(last)) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "condition never held; last readiness: " << last.dump(2);
  return last;
}

bool has_component(const json& r, const std::string& name, const std::string& status) {
  for (const auto& c : r["components"]) {
    if (c["component"] == name && c["status"] == status) return true;
  }
  return false;
}

TEST(Daemon, HealthAndReadyEndpoints) {
  TempDir data;
  Daemon d({"serve", "--data-dir", data.path().string()});
  auto c = d.client();
  auto healthy = c.Get("/-/healthy");
  ASSERT_TRUE(healthy);
  EXPECT_EQ(healthy->status, 200);
  auto ready = c.Get("/-/ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  auto missing = c.Get("/no/such/route");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_NE(missing->body.find("no route"), std::string::npos);
}

TEST(Daemon, PostedSnapshotsDriveReadinessGateAndMetrics) {
  TempDir data;
  Daemon d({"serve", "--data-dir", data.path().string()});
  auto c = d.client();
  const json batch =
      json::array({snapshot_event("fix_gateway", "ok"), snapshot_event("risk_engine", "warn")});
  auto res = c.Post("/api/v1/events", batch.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 202) << res->body;
  EXPECT_EQ(json::parse(res->body)["accepted"], 2);

  json r = wait_readiness(c, [](const json& r) { return has_component(r, "risk_engine", "warn"); });
  EXPECT_EQ(r["status"], "warn");
  // fix_gateway and opsready's own task_supervision component.
  EXPECT_TRUE(has_component(r, "task_supervision", "ok")) << r.dump(2);
  EXPECT_EQ(r["counts"]["ok"], 2);
  EXPECT_EQ(r["counts"]["warn"], 1);
  EXPECT_EQ(r["gate"]["decision"], "warn");

  // NDJSON: the risk engine fails; the gate blocks.
  const std::string ndjson = snapshot_event("risk_engine", "fail").dump() + "\n" +
                             snapshot_event("fix_gateway", "ok").dump() + "\n";
  res = c.Post("/api/v1/events", ndjson, "application/x-ndjson");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 202) << res->body;
  r = wait_readiness(c, [](const json& r) { return r["status"] == "fail"; });
  EXPECT_EQ(r["gate"]["decision"], "block");
  bool blocked_by_risk = false;
  for (const auto& reason : r["gate"]["blocking_reasons"]) {
    blocked_by_risk = blocked_by_risk || reason["code"] == "component_risk_engine_fail";
  }
  EXPECT_TRUE(blocked_by_risk) << r["gate"].dump(2);

  const json gate = get_json(c, "/api/v1/gate");
  EXPECT_EQ(gate["decision"], "block");

  auto md = c.Get("/api/v1/readiness?format=markdown");
  ASSERT_TRUE(md);
  EXPECT_EQ(md->status, 200);
  EXPECT_NE(md->body.find("risk_engine"), std::string::npos);
  EXPECT_NE(md->get_header_value("Content-Type").find("text/markdown"), std::string::npos);

  auto health = c.Get("/api/v1/readiness", {{"Accept", "application/health+json"}});
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 503);  // fail maps to a 5xx, as the health-check draft says
  EXPECT_EQ(health->get_header_value("Content-Type"), "application/health+json");
  EXPECT_EQ(json::parse(health->body)["status"], "fail");

  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("opsready_component_status{component=\"risk_engine\"} 2"),
            std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("opsready_readiness_status 2"), std::string::npos);
  EXPECT_NE(metrics->body.find("opsready_gate_decision 2"), std::string::npos);
  EXPECT_NE(
      metrics->body.find("opsready_events_received_total{topic=\"opsready.component.snapshot\"} 4"),
      std::string::npos);
  EXPECT_NE(metrics->body.find("opsready_build_info{"), std::string::npos);
}

TEST(Daemon, MetricsPassPromtool) {
  TempDir data;
  Daemon d({"serve", "--data-dir", data.path().string()});
  auto c = d.client();
  // Odd label values (quotes, backslashes) exercise escaping.
  json odd = {{"topic", "telemetry.odd"}, {"source", "s"}, {"payload", json::object()}};
  ASSERT_EQ(c.Post("/api/v1/events", odd.dump(), "application/json")->status, 202);
  ASSERT_EQ(c.Post("/api/v1/events", snapshot_event("a-b.c_d", "warn").dump(), "application/json")
                ->status,
            202);
  ASSERT_EQ(c.Post("/api/v1/events", "{", "application/json")->status, 400);
  wait_readiness(c, [](const json& r) { return has_component(r, "a-b.c_d", "warn"); });
  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->get_header_value("Content-Type").find("version=0.0.4"), std::string::npos);
  EXPECT_NE(metrics->body.find("opsready_events_unrouted_total{topic=\"telemetry.odd\"} 1"),
            std::string::npos);
  TempDir tmp;
  write_file(tmp.path() / "metrics.txt", metrics->body);
  const auto checked =
      run({"sh", "-c", "promtool check metrics < '" + (tmp.path() / "metrics.txt").string() + "'"});
  EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err << "\n" << metrics->body;
}

// Every metric /metrics exposes is in the operator guide's table, and every metric in the table
// is exposed (those of bus.nats only when it is configured: DaemonNats covers them).
TEST(Daemon, MetricsAndTheOperatorGuideListTheSameMetrics) {
  TempDir data;
  Daemon d({"serve", "--data-dir", data.path().string()});
  auto c = d.client();
  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  std::set<std::string> exposed;
  std::istringstream lines(metrics->body);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("# TYPE ")) {
      exposed.insert(line.substr(7, line.find(' ', 7) - 7));
    }
  }
  const std::filesystem::path guide =
      std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "docs" /
      "operator-guide.md";
  std::set<std::string> documented;
  std::istringstream doc(read_file(guide));
  for (std::string line; std::getline(doc, line);) {
    if (!line.starts_with("| `opsready_")) continue;
    const auto end = line.find_first_of("{`", 3);
    documented.insert(line.substr(3, end - 3));
  }
  ASSERT_GT(documented.size(), 20u) << guide;
  for (const auto& name : exposed) {
    EXPECT_TRUE(documented.contains(name)) << name << " is exposed but not in " << guide;
  }
  for (const auto& name : documented) {
    const bool bus_only = name.starts_with("opsready_nats_") || name.starts_with("opsready_bus_") ||
                          name.starts_with("opsready_spool_");
    if (!bus_only) {
      EXPECT_TRUE(exposed.contains(name)) << name << " is documented, not exposed";
    }
  }
}

TEST(Daemon, MalformedInputIsRejectedWholeAndNamed) {
  TempDir data;
  Daemon d({"serve", "--data-dir", data.path().string()});
  auto c = d.client();
  // One good event and two bad ones: nothing may be applied.
  const json batch =
      json::array({snapshot_event("good_one", "ok"),
                   {{"topic", "Not A Topic"}},
                   {{"topic", "opsready.component.snapshot"}, {"payload", {{"component", "x"}}}}});
  auto res = c.Post("/api/v1/events", batch.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  const json body = json::parse(res->body);
  ASSERT_EQ(body["errors"].size(), 2u) << body.dump(2);
  EXPECT_EQ(body["errors"][0]["index"], 1);
  EXPECT_EQ(body["errors"][0]["field"], "topic");
  EXPECT_EQ(body["errors"][1]["index"], 2);
  EXPECT_EQ(body["errors"][1]["field"], "payload.status");
  EXPECT_FALSE(body["errors"][1]["reason"].get<std::string>().empty());

  struct Case {
    std::string body;
    std::string what;
  };
  const Case cases[] = {
      {"{\"topic\": \"a.b\"", "truncated JSON"},
      {"[1, 2]", "wrong types"},
      {"{\"topic\": 5}", "topic of the wrong type"},
      {"{\"topic\": \"a..b\"}", "topic syntax"},
      {"{\"topic\": \"a.b\", \"time\": \"yesterday\"}", "bad time"},
      {"\xff\xfe{}", "invalid UTF-8"},
      {"", "empty body"},
      {"{\"topic\": \"a.b\"}\n{oops\n", "bad NDJSON line"},
  };
  for (const auto& cs : cases) {
    auto r = c.Post("/api/v1/events", cs.body, "application/json");
    ASSERT_TRUE(r) << cs.what;
    EXPECT_EQ(r->status, 400) << cs.what << ": " << r->body;
    EXPECT_TRUE(json::parse(r->body).contains("errors")) << cs.what;
  }
  // The daemon is still alive and applied nothing.
  auto r = c.Post("/api/v1/events", snapshot_event("after", "ok").dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  const json readiness =
      wait_readiness(c, [](const json& j) { return has_component(j, "after", "ok"); });
  EXPECT_FALSE(has_component(readiness, "good_one", "ok"));
}

TEST(Daemon, BodyLimitsAndGzip) {
  TempDir data;
  write_file(data.path() / "opsready.yml",
             "listen: 127.0.0.1:0\ndata_dir: " + (data.path() / "db").string() +
                 "\ningest:\n  max_body_bytes: 4096\n");
  Daemon d({"serve", "--config", (data.path() / "opsready.yml").string()});
  auto c = d.client();
  std::string big = "[";
  for (int i = 0; i < 200; ++i)
    big += (i ? "," : "") + snapshot_event("c" + std::to_string(i), "ok").dump();
  big += "]";
  auto res = c.Post("/api/v1/events", big, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);

  httplib::Headers gz = {{"Content-Encoding", "gzip"}};
  res =
      c.Post("/api/v1/events", gz, gzip(snapshot_event("zipped", "ok").dump()), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 202) << res->body;
  wait_readiness(c, [](const json& j) { return has_component(j, "zipped", "ok"); });

  res = c.Post("/api/v1/events", gz, std::string("\x1f\x8b not gzip at all"), "application/json");
  ASSERT_TRUE(res);
  EXPECT_GE(res->status, 400);
  EXPECT_LT(res->status, 500);
}

TEST(Daemon, HistoryIsQueryableByTimeRange) {
  TempDir data;
  Daemon d({"serve", "--data-dir", data.path().string()});
  auto c = d.client();
  ASSERT_EQ(
      c.Post("/api/v1/events", snapshot_event("svc", "warn").dump(), "application/json")->status,
      202);
  wait_readiness(c, [](const json& j) { return j["status"] == "warn"; });
  ASSERT_EQ(
      c.Post("/api/v1/events", snapshot_event("svc", "ok").dump(), "application/json")->status,
      202);
  wait_readiness(c, [](const json& j) { return has_component(j, "svc", "ok"); });

  json hist;
  for (int i = 0; i < 250; ++i) {  // the store write is asynchronous
    hist = get_json(c, "/api/v1/readiness/history");
    if (hist["count"].get<int>() >= 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_GE(hist["count"].get<int>(), 3) << hist.dump(2);
  std::vector<std::string> statuses;
  for (const auto& s : hist["snapshots"]) statuses.push_back(s["status"]);
  EXPECT_NE(std::find(statuses.begin(), statuses.end(), "warn"), statuses.end());
  EXPECT_EQ(statuses.back(), "ok");

  const json none = get_json(
      c, "/api/v1/readiness/history?since=2000-01-01T00:00:00Z&until=2000-01-02T00:00:00Z");
  EXPECT_EQ(none["count"], 0);
  auto bad = c.Get("/api/v1/readiness/history?since=yesterday");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("since"), std::string::npos);
  bad = c.Get("/api/v1/readiness/history?limit=0");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
}

TEST(Daemon, SigtermDrainsFlushesAndRestartRestoresState) {
  TempDir data;
  {
    Daemon d({"serve", "--data-dir", data.path().string()});
    auto c = d.client();
    ASSERT_EQ(
        c.Post("/api/v1/events", snapshot_event("persisted", "warn").dump(), "application/json")
            ->status,
        202);
    d.signal(SIGTERM);
    const auto code = d.wait_exit(std::chrono::seconds(15));
    ASSERT_TRUE(code.has_value()) << d.log();
    EXPECT_EQ(*code, 0) << d.log();
    EXPECT_NE(d.log().find("state flushed"), std::string::npos) << d.log();
  }
  Daemon again({"serve", "--data-dir", data.path().string()});
  auto c = again.client();
  const json r = get_json(c, "/api/v1/readiness");
  EXPECT_TRUE(has_component(r, "persisted", "warn")) << r.dump(2);
}

TEST(Daemon, EveryLoopRunsUnderTheSupervisor) {
  TempDir data;
  Daemon d({"demo", "--data-dir", data.path().string()});
  auto c = d.client();
  // compliance: the demo's configuration declares sign-offs.
  constexpr std::array kLoops = {"persistence", "alerts",      "evaluation",
                                 "http",        "supervision", "drills",
                                 "delivery",    "demo",        "compliance"};
  // The listener answers before the last loops were first scheduled (slow under sanitizers):
  // wait until every loop left "starting".
  json sup;
  std::map<std::string, std::string> states;
  for (int i = 0; i < 250; ++i) {
    sup = get_json(c, "/api/v1/supervision");
    states.clear();
    for (const auto& t : sup["tasks"]) states[t["name"]] = t["state"];
    if (std::ranges::all_of(kLoops, [&](const char* l) { return states[l] == "running"; })) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (const char* loop : kLoops) {
    EXPECT_EQ(states[loop], "running") << loop << "\n" << sup.dump(2);
  }
  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("opsready_supervisor_tasks{state=\"running\"} 9"), std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("# TYPE opsready_supervisor_restarts_total counter"),
            std::string::npos);
  // The demo workload publishes through the same queue as HTTP ingest.
  wait_readiness(c, [](const json& j) { return has_component(j, "fix_gateway", "ok"); });
}

// The demo's embedded configuration offers the drill demo-feed-stall, which stalls the demo's
// own dashboard feeds and passes, and two sign-offs in different standings.
TEST(Daemon, DemoDrillPassesAndItsSignoffsAreListedWithTheirStandings) {
  TempDir data;
  Daemon d({"demo", "--data-dir", data.path().string()});
  auto c = d.client();
  // The workload runs; a drill starts while the gate does not block (the demo's blocks later
  // in its cycle).
  wait_readiness(c, [](const json& j) { return has_component(j, "fix_gateway", "ok"); });

  const json signoffs = get_json(c, "/api/v1/signoffs");
  std::map<std::string, std::string> standings;
  for (const auto& s : signoffs["signoffs"]) {
    standings[s["name"]] = s["state"];
    EXPECT_FALSE(s["owner"].get<std::string>().empty()) << s.dump();
    EXPECT_TRUE(s["last"].is_null()) << s.dump();
    EXPECT_TRUE(s["due_at"].is_string()) << s.dump();  // from the cadence's `since`
  }
  EXPECT_EQ(standings, (std::map<std::string, std::string>{{"access-review", "due_soon"},
                                                           {"security-review", "ok"}}))
      << signoffs.dump(2);
  EXPECT_EQ(signoffs["status"], "warn") << signoffs.dump(2);

  const json before = get_json(c, "/api/v1/drills");
  ASSERT_EQ(before["scenarios"].size(), 1u) << before.dump(2);
  EXPECT_EQ(before["scenarios"][0]["name"], "demo-feed-stall");
  EXPECT_EQ(before["scenarios"][0]["fault"]["kind"], "feed_stall");
  EXPECT_TRUE(before["runs"].empty()) << before.dump(2);

  const auto r = run_opsready({"drill", "run", "demo-feed-stall", "--wait", "2m", "--url",
                               "http://127.0.0.1:" + std::to_string(d.port())});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << d.log();
  const json after = get_json(c, "/api/v1/drills");
  ASSERT_EQ(after["runs"].size(), 1u) << after.dump(2);
  const json run = after["runs"][0];
  EXPECT_EQ(run["scenario"], "demo-feed-stall");
  EXPECT_EQ(run["verdict"], "Pass") << run.dump(2);
  const json e = get_json(c, "/api/v1/drills/" + run["drill_id"].get<std::string>());
  EXPECT_EQ(e["alert"]["labels"]["source"], "dashboard_feeds") << e.dump(2);
  // The list carries the injection time and the response times of the evidence.
  EXPECT_EQ(run["injected_at"], e["injected_at"]) << run.dump(2);
  for (const char* k : {"mttd_seconds", "mtta_seconds", "mttr_seconds"}) {
    ASSERT_TRUE(e[k].is_number()) << k << "\n" << e.dump(2);
    EXPECT_EQ(run[k], e[k]) << k;
  }
  EXPECT_LT(e["mttd_seconds"].get<double>(), 8.0);
  EXPECT_EQ(e["acked_by"], "drill-responder") << e.dump(2);
}

TEST(Daemon, SecondSigtermStopsAtOnce) {
  TempDir data;
  Daemon d({"serve", "--data-dir", data.path().string()});
  // A client that sends half a request keeps one HTTP worker busy, so the graceful drain
  // waits for it (up to the read timeout): the second signal lands during the drain.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(d.port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string partial =
      "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{";
  ASSERT_EQ(write(fd, partial.data(), partial.size()), static_cast<ssize_t>(partial.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let a worker pick it up
  d.signal(SIGTERM);
  for (int i = 0; i < 500 && d.log().find("closing the HTTP listener") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_NE(d.log().find("closing the HTTP listener"), std::string::npos) << d.log();
  d.signal(SIGTERM);
  const auto code = d.wait_exit(std::chrono::seconds(8));
  close(fd);
  ASSERT_TRUE(code.has_value()) << d.log();
  EXPECT_EQ(*code, 5) << d.log();
}

TEST(Daemon, SamplesFeedTheBuiltInComponents) {
  TempDir data;
  Daemon d({"serve", "--data-dir", data.path().string()});
  auto c = d.client();
  // Data 900 s old breaches the default ingest freshness SLO (fail past 600 s).
  const json sample = {{"topic", "telemetry.ingest.freshness_seconds"},
                       {"source", "ingest"},
                       {"payload", {{"series", "freshness"}, {"value", 900}}}};
  ASSERT_EQ(c.Post("/api/v1/events", sample.dump(), "application/json")->status, 202);
  const json r =
      wait_readiness(c, [](const json& j) { return has_component(j, "ingest_slos", "fail"); });
  EXPECT_EQ(r["gate"]["decision"], "block");
  bool runbook = false;
  for (const auto& i : r["issues"]) {
    runbook = runbook || i["runbook"] == "docs/runbooks/ingest_slos.md";
  }
  EXPECT_TRUE(runbook) << r["issues"].dump(2);
  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->body.find("opsready_events_unrouted_total{topic=\"telemetry.ingest"),
            std::string::npos);
}

TEST(Daemon, RefusesABadConfigWithFileAndLine) {
  TempDir dir;
  write_file(dir.path() / "bad.yml", "listen: nowhere\ngate:\n  block_on: [purple]\n");
  const auto r = run_opsready({"serve", "--config", (dir.path() / "bad.yml").string()});
  EXPECT_EQ(r.exit_code, 65);
  EXPECT_NE(r.err.find("bad.yml:1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bad.yml:3"), std::string::npos) << r.err;
  EXPECT_EQ(run_opsready({"serve", "--listen", "localhost"}).exit_code, 64);
}

}  // namespace
}  // namespace opsready::testing
