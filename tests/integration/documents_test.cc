// The report-driven components in a running daemon (issue 13): one document of each kind posted
// as an event on the topic the trading runtime publishes it on, every component in readiness,
// the gate blocking on the failing one, the derived alerts routed by the brief's default policy
// (examples/alerting/brief-default-policy.yml), and a document of the wrong shape refused with
// 400 before anything of its request is applied. The NATS path is in nats/daemon_nats_test.cc.

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <ctime>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/harness.h"

namespace opsready::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

struct Document {
  const char* component;
  const char* topic;
  const char* file;  // under examples/documents/
};

// One example document per kind, each on its topic.
const Document kDocuments[] = {
    {"system_validation", "telemetry.operational.system_validation",
     "system_validation/report.json"},
    {"incident_response", "telemetry.operational.incident_response", "incident_response/env.json"},
    {"security", "telemetry.operational.security", "security/env.json"},
    {"backups", "telemetry.operational.backups", "backups/report.json"},
    {"failover_drill", "telemetry.operational.failover_drill", "failover_drill/report.json"},
    {"cross_region_failover", "telemetry.ingest.cross_region_failover",
     "cross_region_failover/report.json"},
    {"disaster_recovery", "telemetry.operational.disaster_recovery",
     "disaster_recovery/report.json"},
    {"professional_readiness", "telemetry.operational.readiness",
     "professional_readiness/input.json"},
    {"cache", "telemetry.cache.health", "cache/report.json"},
    {"nats_consumer", "telemetry.bus.consumer", "nats_consumer/consumer_info.json"},
};

json get_json(httplib::Client& c, const std::string& path) {
  auto res = c.Get(path);
  if (!res) throw std::runtime_error("GET " + path + " failed");
  return json::parse(res->body);
}

bool eventually(const std::function<bool()>& probe, std::chrono::milliseconds timeout = 15s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (probe()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
}

const json* component(const json& readiness, const std::string& name) {
  for (const auto& c : readiness["components"]) {
    if (c["component"] == name) return &c;
  }
  return nullptr;
}

json event_of(const Document& d) {
  return {
      {"topic", d.topic},
      {"source", "trading_runtime"},
      {"payload", json::parse(read_file(std::string(OPSREADY_EXAMPLES) + "/documents/" + d.file))}};
}

TEST(Documents, EachKindOverHttpReachesReadinessTheGateAndTheBriefsRoutes) {
  TempDir dir;
  const auto cfg = dir.path() / "opsready.yml";
  write_file(cfg, "listen: 127.0.0.1:0\ndata_dir: " + (dir.path() / "data").string() +
                      "\nevaluation_interval: 100ms\nalerting:\n  config_file: " +
                      std::string(OPSREADY_EXAMPLES) + "/alerting/brief-default-policy.yml\n");
  Daemon d({"serve", "--config", cfg.string()});
  auto c = d.client();

  // A document of the wrong shape, batched with a good one: 400 naming the field, nothing
  // applied (the ingest results {"results": ...} on the health topic, an unknown key).
  json bad = json::array({event_of(kDocuments[2]),
                          {{"topic", "telemetry.operational.backups"},
                           {"payload", {{"service", "x"}, {"polcy", json::object()}}}}});
  auto res = c.Post("/api/v1/events", bad.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400) << res->body;
  const json err = json::parse(res->body);
  EXPECT_NE(err.dump().find("payload.polcy"), std::string::npos) << err.dump(2);
  res = c.Post("/api/v1/events",
               json{{"topic", "telemetry.ingest.health"},
                    {"payload", {{"results", {{"daily_bars", {{"rows_written", 0}}}}}}}}
                   .dump(),
               "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400) << res->body;
  EXPECT_NE(res->body.find("payload.results"), std::string::npos) << res->body;

  json batch = json::array();
  for (const Document& doc : kDocuments) batch.push_back(event_of(doc));
  res = c.Post("/api/v1/events", batch.dump(), "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 202) << res->body;

  json r;
  ASSERT_TRUE(eventually([&] {
    r = get_json(c, "/api/v1/readiness");
    for (const Document& doc : kDocuments) {
      if (component(r, doc.component) == nullptr) return false;
    }
    return true;
  })) << r.dump(2);
  EXPECT_EQ(component(r, "ingest_slos"), nullptr) << "the refused health report was applied";
  // The validation report has 1 of 2 checks passing: system_validation fails and blocks.
  EXPECT_EQ((*component(r, "system_validation"))["status"], "fail");
  EXPECT_EQ(r["gate"]["decision"], "block");
  std::set<std::string> codes;
  for (const auto& b : r["gate"]["blocking_reasons"]) codes.insert(b["code"].get<std::string>());
  EXPECT_TRUE(codes.contains("component_system_validation_fail")) << r["gate"].dump(2);
  // Each component's issues carry their own codes and runbook links.
  bool check_issue = false;
  for (const auto& i : (*component(r, "system_validation"))["issues"]) {
    if (i["code"].get<std::string>().starts_with("system_validation.check")) {
      check_issue = true;
      EXPECT_EQ(i["runbook"], "docs/runbooks/system_validation.md#check");
    }
  }
  EXPECT_TRUE(check_issue) << component(r, "system_validation")->dump(2);

  // The failing check's alert reaches the brief's system-validation rule: email, Slack and
  // webhook (a warning; GitHub and SMS take critical only).
  std::set<std::string> receivers;
  ASSERT_TRUE(eventually([&] {
    receivers.clear();
    for (const json& g : get_json(c, "/api/v2/alerts/groups")) {
      if (g["labels"].value("category", "") == "system_validation.check") {
        receivers.insert(g["receiver"]["name"].get<std::string>());
      }
    }
    return receivers.size() >= 3;
  })) << get_json(c, "/api/v2/alerts/groups").dump(2);
  EXPECT_TRUE(receivers.contains("ops-email"));
  EXPECT_TRUE(receivers.contains("ops-slack"));
  EXPECT_TRUE(receivers.contains("ops-webhook"));
  EXPECT_FALSE(receivers.contains("blackhole"));

  // The security document's failed logins (SECURITY_FAILED_LOGINS_LAST_HOUR "4") on /metrics.
  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("\nopsready_security_failed_logins_last_hour 4\n"),
            std::string::npos);
}

// System validation's reliability history is kept in the store: a run posted before a restart
// still counts in the 72 h window after it, as if both reports had come to one process.
TEST(Documents, SystemValidationHistorySurvivesARestart) {
  TempDir dir;
  const auto cfg = dir.path() / "opsready.yml";
  write_file(cfg, "listen: 127.0.0.1:0\ndata_dir: " + (dir.path() / "data").string() +
                      "\nevaluation_interval: 100ms\n");
  const auto now = std::chrono::system_clock::now();
  const auto iso = [](std::chrono::system_clock::time_point t) {
    const std::time_t tt = std::chrono::system_clock::to_time_t(t);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&tt));
    return std::string(buf);
  };
  const auto report = [&](std::chrono::system_clock::time_point at, bool second_passes) {
    return json{
        {"topic", "telemetry.operational.system_validation"},
        {"payload",
         {{"timestamp", iso(at)}, {"results", {{"core", true}, {"integration", second_passes}}}}}}
        .dump();
  };
  const auto reliability = [](httplib::Client& c) -> json {
    const json r = get_json(c, "/api/v1/readiness");
    const json* sv = component(r, "system_validation");
    if (sv == nullptr || !(*sv)["metadata"]["reliability"].is_object()) return json::object();
    return (*sv)["metadata"]["reliability"];
  };
  {
    Daemon d({"serve", "--config", cfg.string()});
    auto c = d.client();
    auto res = c.Post("/api/v1/events", report(now - 2h, false), "application/json");
    ASSERT_TRUE(res && res->status == 202);
    ASSERT_TRUE(eventually([&] { return reliability(c).value("samples_considered", 0) == 1; }));
    d.signal(SIGTERM);
    ASSERT_EQ(d.wait_exit(20s), 0) << d.log();
  }
  Daemon d({"serve", "--config", cfg.string()});
  auto c = d.client();
  auto res = c.Post("/api/v1/events", report(now - 1h, true), "application/json");
  ASSERT_TRUE(res && res->status == 202);
  json rel;
  ASSERT_TRUE(eventually([&] {
    rel = reliability(c);
    return rel.value("samples_considered", 0) == 2;
  })) << rel.dump(2);
  // (0.5 + 1.0) / 2: the run from before the restart is in the average.
  EXPECT_DOUBLE_EQ(rel["average_success_rate"].get<double>(), 0.75);
}

}  // namespace
}  // namespace opsready::testing
