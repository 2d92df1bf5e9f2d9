// Ingest paths of `opsready serve` end to end: POST /api/v2/alerts as Prometheus sends it,
// Alertmanager's validation, merge and resolve semantics, persistence, and bearer-token
// authentication of the ingest routes.

#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness.h"
#include "opsready/core/alert.h"
#include "opsready/core/time.h"

namespace opsready::testing {
namespace {

using nlohmann::json;
using std::chrono::minutes;
using std::chrono::seconds;

core::TimePoint now() {
  return std::chrono::time_point_cast<core::Duration>(std::chrono::system_clock::now());
}
std::string rfc3339(core::TimePoint t) { return core::format_rfc3339(t); }
core::TimePoint parse(const json& j) { return core::parse_rfc3339(j.get<std::string>()).value(); }

// One alert exactly as Prometheus 2.x posts it (notifier.go: labels, annotations, startsAt,
// endsAt = now + 4 × resend delay while firing, generatorURL).
json prometheus_alert(const std::string& name, const std::string& instance, core::TimePoint starts,
                      core::TimePoint ends) {
  return {
      {"labels",
       {{"alertname", name},
        {"instance", instance},
        {"job", "fix_gateway"},
        {"severity", "page"},
        {"team", ""}}},  // an empty label means "no label": dropped before fingerprinting
      {"annotations",
       {{"summary", name + " on " + instance},
        {"runbook_url", "https://runbooks.example/" + name}}},
      {"startsAt", rfc3339(starts)},
      {"endsAt", rfc3339(ends)},
      {"generatorURL", "http://prometheus:9090/graph?g0.expr=fix_session_up+%3D%3D+0&g0.tab=1"}};
}

std::string fingerprint_of(const json& alert) {
  core::LabelSet labels;
  for (const auto& [k, v] : alert["labels"].items()) {
    if (!v.get<std::string>().empty()) labels.emplace(k, v.get<std::string>());
  }
  return core::alert_fingerprint(labels);
}

json get_json(httplib::Client& c, const std::string& path) {
  auto res = c.Get(path);
  if (!res) throw std::runtime_error("GET " + path + " failed");
  EXPECT_EQ(res->status, 200) << path << ": " << res->body;
  return json::parse(res->body);
}

json alerts_by_fingerprint(httplib::Client& c, const std::string& query = "") {
  // The external alerts only (the daemon's own derived ones, e.g. its watchdog, are listed too).
  const json list =
      get_json(c, "/api/v1/alerts" + query + (query.empty() ? "?" : "&") + "origin=external");
  json by_fp = json::object();
  for (const auto& a : list["alerts"]) by_fp[a["fingerprint"].get<std::string>()] = a;
  return by_fp;
}

httplib::Result post_alerts(httplib::Client& c, const std::string& body,
                            const httplib::Headers& headers = {}) {
  return c.Post("/api/v2/alerts", headers, body, "application/json");
}

std::string config_with(const TempDir& dir, const std::string& extra) {
  const auto file = dir.path() / "opsready.yml";
  write_file(file,
             "listen: 127.0.0.1:0\ndata_dir: " + (dir.path() / "data").string() + "\n" + extra);
  return file.string();
}

TEST(IngestAlerts, PrometheusPayloadIsStoredAndListed) {
  TempDir dir;
  Daemon d({"serve", "--config", config_with(dir, "alerts:\n  resolve_timeout: 1h\n")});
  auto c = d.client();
  const auto t = now();
  json batch = json::array(
      {prometheus_alert("FixSessionDown", "gw-1:9100", t - minutes(2), t + minutes(4)),
       prometheus_alert("FixSessionDown", "gw-2:9100", t - minutes(1), t + minutes(4))});
  // An alert without startsAt and endsAt: starts now, ends after resolve_timeout.
  batch.push_back({{"labels", {{"alertname", "Watchdog"}}}});
  auto res = post_alerts(c, batch.dump());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(json::parse(res->body)["accepted"], 3);

  const json all = alerts_by_fingerprint(c);
  ASSERT_EQ(all.size(), 3u) << all.dump(2);
  const json& gw1 = all.at(fingerprint_of(batch[0]));
  EXPECT_EQ(gw1["status"], "firing");
  EXPECT_EQ(gw1["labels"], json({{"alertname", "FixSessionDown"},
                                 {"instance", "gw-1:9100"},
                                 {"job", "fix_gateway"},
                                 {"severity", "page"}}));
  EXPECT_EQ(gw1["annotations"]["summary"], "FixSessionDown on gw-1:9100");
  EXPECT_EQ(gw1["startsAt"], batch[0]["startsAt"]);
  EXPECT_EQ(gw1["endsAt"], batch[0]["endsAt"]);
  EXPECT_EQ(gw1["generatorURL"], batch[0]["generatorURL"]);
  EXPECT_GE(parse(gw1["receivedAt"]), t);

  const json& watchdog = all.at(fingerprint_of(batch[2]));
  EXPECT_EQ(watchdog["status"], "firing");
  EXPECT_GE(parse(watchdog["startsAt"]), t);
  EXPECT_EQ(parse(watchdog["endsAt"]) - parse(watchdog["startsAt"]), std::chrono::hours(1));

  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("opsready_alerts_received_total{status=\"firing\"} 3"),
            std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("opsready_alerts_invalid_total 0"), std::string::npos);
}

TEST(IngestAlerts, InvalidAlertsAreListedAndTheValidOnesStored) {
  TempDir data;
  Daemon d({"serve", "--data-dir", data.path().string()});
  auto c = d.client();
  const auto t = now();
  const json good = prometheus_alert("Good", "a:1", t - minutes(1), t + minutes(4));
  struct Case {
    std::string what;
    json bad;
    std::string field;
    std::string reason;
  };
  const Case cases[] = {
      {"missing labels", {{"annotations", {{"summary", "x"}}}}, "labels", "labels are required"},
      {"only empty-valued labels",
       {{"labels", {{"alertname", ""}}}},
       "labels",
       "at least one label pair required"},
      {"bad label name", {{"labels", {{"1alertname", "x"}}}}, "labels.1alertname", "invalid name"},
      {"bad annotation name",
       {{"labels", {{"alertname", "x"}}}, {"annotations", {{"run-book", "x"}}}},
       "annotations.run-book",
       "invalid name"},
      {"label value of the wrong type",
       {{"labels", {{"alertname", 5}}}},
       "labels.alertname",
       "must be a string"},
      {"endsAt before startsAt",
       {{"labels", {{"alertname", "x"}}},
        {"startsAt", rfc3339(t)},
        {"endsAt", rfc3339(t - minutes(1))}},
       "endsAt",
       "start time must be before end time"},
      {"bad timestamp",
       {{"labels", {{"alertname", "x"}}}, {"startsAt", "yesterday"}},
       "startsAt",
       "YYYY-MM-DD"},
      {"not an object", json::array({1}), "", "must be a JSON object"},
  };
  double invalid = 0;
  for (const auto& cs : cases) {
    auto res = post_alerts(c, json::array({good, cs.bad}).dump());
    ASSERT_TRUE(res) << cs.what;
    EXPECT_EQ(res->status, 400) << cs.what << ": " << res->body;
    const json body = json::parse(res->body);
    EXPECT_EQ(body["accepted"], 1) << cs.what;
    EXPECT_EQ(body["rejected"], 1) << cs.what;
    ASSERT_EQ(body["errors"].size(), 1u) << cs.what << ": " << body.dump(2);
    EXPECT_EQ(body["errors"][0]["index"], 1) << cs.what;
    EXPECT_EQ(body["errors"][0]["field"], cs.field) << cs.what;
    EXPECT_NE(body["errors"][0]["reason"].get<std::string>().find(cs.reason), std::string::npos)
        << cs.what << ": " << body.dump(2);
    ++invalid;
  }
  // Whole-body errors store nothing.
  const std::string whole[][2] = {
      {"not an array", good.dump()},
      {"truncated JSON", "[" + good.dump().substr(0, 40)},
      {"invalid UTF-8", R"([{"labels": {"alertname": "caf)"
                        "\xe9"
                        R"("}}])"},
      {"empty body", ""},
  };
  for (const auto& [what, body] : whole) {
    auto res = post_alerts(c, body);
    ASSERT_TRUE(res) << what;
    EXPECT_EQ(res->status, 400) << what << ": " << res->body;
    const json j = json::parse(res->body);
    EXPECT_EQ(j["accepted"], 0) << what;
    ASSERT_EQ(j["errors"].size(), 1u) << what;
    EXPECT_EQ(j["errors"][0]["field"], "") << what;
  }
  const json all = alerts_by_fingerprint(c);
  ASSERT_EQ(all.size(), 1u) << all.dump(2);
  EXPECT_TRUE(all.contains(fingerprint_of(good)));

  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("opsready_alerts_invalid_total " +
                               std::to_string(static_cast<int>(invalid))),
            std::string::npos)
      << metrics->body;
}

TEST(IngestAlerts, RepostMergesAndResolvedAlertsLeaveTheActiveList) {
  TempDir data;
  Daemon d({"serve", "--data-dir", data.path().string()});
  auto c = d.client();
  const auto t = now();
  json first = prometheus_alert("RiskLimitBreach", "risk-1", t - minutes(5), t + minutes(4));
  ASSERT_EQ(post_alerts(c, json::array({first}).dump())->status, 200);

  // Prometheus re-sends while the alert fires: a later start (e.g. after a restart of
  // Prometheus), a later end and new annotations. The first start is kept.
  json again = prometheus_alert("RiskLimitBreach", "risk-1", t - minutes(1), t + minutes(8));
  again["annotations"]["summary"] = "still breached";
  ASSERT_EQ(post_alerts(c, json::array({again}).dump())->status, 200);
  json all = alerts_by_fingerprint(c);
  ASSERT_EQ(all.size(), 1u) << all.dump(2);
  const json& merged = all.at(fingerprint_of(first));
  EXPECT_EQ(merged["startsAt"], first["startsAt"]);
  EXPECT_EQ(merged["endsAt"], again["endsAt"]);
  EXPECT_EQ(merged["annotations"]["summary"], "still breached");
  EXPECT_EQ(merged["status"], "firing");

  // Prometheus resolves by posting endsAt = the resolve time.
  json resolved = first;
  resolved["endsAt"] = rfc3339(t - seconds(10));
  json other = prometheus_alert("FixSessionDown", "gw-9", t - minutes(1), t + minutes(4));
  ASSERT_EQ(post_alerts(c, json::array({resolved, other}).dump())->status, 200);
  all = alerts_by_fingerprint(c);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all.at(fingerprint_of(first))["status"], "resolved");
  EXPECT_EQ(all.at(fingerprint_of(first))["endsAt"], resolved["endsAt"]);
  const json active = alerts_by_fingerprint(c, "?active=true");
  ASSERT_EQ(active.size(), 1u) << active.dump(2);
  EXPECT_TRUE(active.contains(fingerprint_of(other)));

  auto bad = c.Get("/api/v1/alerts?active=yes");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("opsready_alerts_received_total{status=\"resolved\"} 1"),
            std::string::npos)
      << metrics->body;
}

TEST(IngestAlerts, AlertsSurviveARestart) {
  TempDir data;
  const auto t = now();
  const json alert = prometheus_alert("BackupStale", "db-1", t - minutes(1), t + minutes(30));
  {
    Daemon d({"serve", "--data-dir", data.path().string()});
    auto c = d.client();
    ASSERT_EQ(post_alerts(c, json::array({alert}).dump())->status, 200);
    d.signal(SIGTERM);
    const auto code = d.wait_exit(std::chrono::seconds(15));
    ASSERT_TRUE(code.has_value()) << d.log();
    EXPECT_EQ(*code, 0) << d.log();
  }
  Daemon again({"serve", "--data-dir", data.path().string()});
  auto c = again.client();
  const json all = alerts_by_fingerprint(c);
  ASSERT_EQ(all.size(), 1u) << all.dump(2);
  EXPECT_EQ(all.at(fingerprint_of(alert))["startsAt"], alert["startsAt"]);
  EXPECT_EQ(all.at(fingerprint_of(alert))["status"], "firing");
}

// Accepted alerts are in memory at once and written behind; a graceful stop writes them all,
// even with a flush interval far longer than the test, re-posts merged as one row.
TEST(IngestAlerts, AGracefulStopWritesEveryAcceptedAlert) {
  TempDir dir;
  const auto config = config_with(dir, "alerts:\n  flush_interval: 1h\n");
  const auto t = now();
  const json first = prometheus_alert("FixSessionDown", "gw-1", t - minutes(3), t + minutes(4));
  const json again = prometheus_alert("FixSessionDown", "gw-1", t - minutes(1), t + minutes(9));
  const json other = prometheus_alert("FixSessionDown", "gw-2", t - minutes(2), t + minutes(4));
  json before_stop;
  {
    Daemon d({"serve", "--config", config});
    auto c = d.client();
    ASSERT_EQ(post_alerts(c, json::array({first, other}).dump())->status, 200);
    ASSERT_EQ(post_alerts(c, json::array({again}).dump())->status, 200);
    before_stop = alerts_by_fingerprint(c);  // served from memory
    ASSERT_EQ(before_stop.size(), 2u) << before_stop.dump(2);
    EXPECT_EQ(before_stop.at(fingerprint_of(first))["startsAt"], first["startsAt"]);
    EXPECT_EQ(before_stop.at(fingerprint_of(first))["endsAt"], again["endsAt"]);
    d.signal(SIGTERM);
    const auto code = d.wait_exit(std::chrono::seconds(15));
    ASSERT_TRUE(code.has_value()) << d.log();
    EXPECT_EQ(*code, 0) << d.log();
  }
  Daemon again_d({"serve", "--config", config});
  auto c = again_d.client();
  EXPECT_EQ(alerts_by_fingerprint(c), before_stop);
  EXPECT_NE(again_d.log().find("restored 2 external alert(s) from the store"), std::string::npos)
      << again_d.log();
}

TEST(IngestAlerts, BadFlushIntervalIsAConfigErrorWithFileAndLine) {
  TempDir dir;
  write_file(dir.path() / "short.yml", "alerts:\n  resolve_timeout: 5m\n  flush_interval: 5ms\n");
  auto r = run_opsready({"check-config", (dir.path() / "short.yml").string()});
  EXPECT_EQ(r.exit_code, 65);
  EXPECT_NE(r.err.find("short.yml:3: alerts.flush_interval must be between 10ms and 1h"),
            std::string::npos)
      << r.err;
  write_file(dir.path() / "word.yml", "alerts:\n  flush_interval: soon\n");
  r = run_opsready({"check-config", (dir.path() / "word.yml").string()});
  EXPECT_EQ(r.exit_code, 65);
  EXPECT_NE(r.err.find("word.yml:2: alerts.flush_interval"), std::string::npos) << r.err;
  write_file(dir.path() / "ok.yml", "alerts:\n  flush_interval: 250ms\n");
  r = run_opsready({"check-config", (dir.path() / "ok.yml").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

const char* kFileToken = "file-token-7f3a9c";
const char* kEnvToken = "env-token-b81d2e";
const char* kEnvVar = "OPSREADY_TEST_INGEST_TOKENS";

TEST(IngestAuth, TokensFromFileAndEnvironmentGuardTheIngestRoutes) {
  TempDir dir;
  write_file(dir.path() / "tokens",
             std::string("# ingest tokens, one per line\n\n") + kFileToken + "\n");
  ASSERT_EQ(setenv(kEnvVar, (std::string("other-token, ") + kEnvToken).c_str(), 1), 0);
  // A relative tokens_file is resolved against the configuration file's directory.
  Daemon d({"serve", "--config",
            config_with(dir, std::string("ingest:\n  auth:\n    tokens_file: tokens\n"
                                         "    tokens_env: ") +
                                 kEnvVar + "\n")});
  unsetenv(kEnvVar);
  auto c = d.client();
  const std::string event = R"({"topic": "opsready.component.snapshot", "source": "t",)"
                            R"( "payload": {"component": "auth_probe", "status": "ok"}})";
  const auto t = now();
  const std::string alerts =
      json::array({prometheus_alert("AuthProbe", "x", t, t + minutes(4))}).dump();
  auto bearer = [](const std::string& token) {
    return httplib::Headers{{"Authorization", "Bearer " + token}};
  };
  struct Route {
    std::string path;
    std::string body;
    int ok;
  };
  const Route routes[] = {{"/api/v1/events", event, 202}, {"/api/v2/alerts", alerts, 200}};
  for (const auto& r : routes) {
    auto res = c.Post(r.path, r.body, "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401) << r.path;
    EXPECT_EQ(res->get_header_value("WWW-Authenticate"), R"(Bearer realm="opsready")");
    res = c.Post(r.path, bearer("wrong-token"), r.body, "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401) << r.path;
    res = c.Post(r.path, {{"Authorization", "Basic dXNlcjpwYXNz"}}, r.body, "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401) << r.path;
    res = c.Post(r.path, bearer(kFileToken), r.body, "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, r.ok) << r.path << ": " << res->body;
    res = c.Post(r.path, {{"Authorization", std::string("bearer ") + kEnvToken}}, r.body,
                 "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, r.ok) << r.path << ": " << res->body;
  }
  // Reading stays open.
  EXPECT_EQ(get_json(c, "/api/v1/alerts?origin=external")["count"], 1);
  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("opsready_http_unauthorized_total{handler=\"events\"} 3"),
            std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("opsready_http_unauthorized_total{handler=\"alerts\"} 3"),
            std::string::npos);
  // Never logged.
  const std::string log = d.log();
  EXPECT_EQ(log.find(kFileToken), std::string::npos) << log;
  EXPECT_EQ(log.find(kEnvToken), std::string::npos) << log;
}

TEST(IngestAuth, WithoutTokensConfiguredIngestIsOpen) {
  TempDir data;
  Daemon d({"serve", "--data-dir", data.path().string()});
  auto c = d.client();
  const auto t = now();
  auto res = post_alerts(c, json::array({prometheus_alert("Open", "x", t, t + minutes(4))}).dump(),
                         {{"Authorization", "Bearer anything"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
}

TEST(IngestAuth, BadTokenSourcesAreConfigErrorsWithFileAndLine) {
  TempDir dir;
  write_file(dir.path() / "empty-tokens", "# nothing here\n\n");
  write_file(dir.path() / "bad.yml",
             "ingest:\n"
             "  auth:\n"
             "    tokens_file: " +
                 (dir.path() / "no-such-file").string() +
                 "\n"
                 "    tokens_env: OPSREADY_TEST_UNSET_VARIABLE\n"
                 "alerts:\n"
                 "  resolve_timeout: 0s\n");
  unsetenv("OPSREADY_TEST_UNSET_VARIABLE");
  auto r = run_opsready({"check-config", (dir.path() / "bad.yml").string()});
  EXPECT_EQ(r.exit_code, 65);
  EXPECT_NE(r.err.find("bad.yml:3: ingest.auth.tokens_file: cannot read"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("bad.yml:4: ingest.auth.tokens_env: environment variable "
                       "'OPSREADY_TEST_UNSET_VARIABLE' is not set"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("bad.yml:6: alerts.resolve_timeout must be positive"), std::string::npos)
      << r.err;

  write_file(dir.path() / "empty.yml", "ingest:\n  auth:\n    tokens_file: empty-tokens\n");
  r = run_opsready({"check-config", (dir.path() / "empty.yml").string()});
  EXPECT_EQ(r.exit_code, 65);
  EXPECT_NE(r.err.find("empty.yml:3:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("holds no token"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace opsready::testing
