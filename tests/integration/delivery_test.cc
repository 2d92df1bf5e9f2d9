// Delivery end to end (issue 12's "Done when"): the real daemon sends what its engine decides
// to webhook receivers played by a local HTTP server that records every request (path,
// Idempotency-Key, X-Opsready-Notification-Id, body), answering as each path is told to:
// 500 then 200, 429 with Retry-After: 2, 400, never, or 200. The crash test kills the daemon
// with SIGKILL at random moments while it delivers 10 000 groups, restarts it on the same data
// directory each time, and checks the promise of docs/alerting.md#delivery-guarantees.

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "harness.h"
#include "opsready/core/time.h"
#include "receivers.h"
#include "tests/support/postgres_server.h"

namespace opsready::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::size_t count_at(const std::vector<Received>& rs, const std::string& path) {
  return static_cast<std::size_t>(
      std::count_if(rs.begin(), rs.end(), [&](const Received& r) { return r.path == path; }));
}

// The alertnames of the alerts in a webhook body.
std::set<std::string> alertnames(const json& body) {
  std::set<std::string> out;
  if (!body.is_object() || !body.contains("alerts")) return out;
  for (const auto& a : body["alerts"]) out.insert(a["labels"].value("alertname", ""));
  return out;
}

void post_alerts(int port, const json& alerts) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(30s);
  auto r = c.Post("/api/v2/alerts", alerts.dump(), "application/json");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  ASSERT_EQ(r->status, 200) << r->body;
}

json alert(const std::string& name, const std::map<std::string, std::string>& extra = {}) {
  json labels = {{"alertname", name}, {"severity", "critical"}};
  for (const auto& [k, v] : extra) labels[k] = v;
  return {{"labels", labels},
          {"annotations", {{"summary", name + " fires"}}},
          {"endsAt", "2099-01-01T00:00:00Z"}};
}

std::string metrics(int port) {
  httplib::Client c("127.0.0.1", port);
  auto r = c.Get("/metrics");
  return r ? r->body : "";
}

// The value of the sample `name{labels}` in a /metrics text; -1 when absent.
double sample(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

class DeliveryTest : public ::testing::Test {
 protected:
  // A configuration: one route per receiver path, matched by alertname == the path's name.
  fs::path write_config(const std::string& routes, const std::string& receivers,
                        const std::string& extra = {}) {
    const fs::path file = dir_.path() / "opsready.yml";
    write_file(file,
               "listen: 127.0.0.1:0\n"
               "data_dir: " +
                   (dir_.path() / "data").string() +
                   "\n"
                   "evaluation_interval: 100ms\n"
                   "ingest:\n  alerts:\n    flush_interval: 10ms\n" +
                   extra +
                   "alerting:\n"
                   "  route:\n"
                   "    receiver: sink\n"
                   "    group_by: [alertname]\n"
                   "    group_wait: 0s\n"
                   "    group_interval: 1s\n"
                   "    repeat_interval: 1h\n"
                   "    routes:\n" +
                   routes + "  receivers:\n" + receivers);
    return file;
  }
  static std::string route(const std::string& alertname, const std::string& receiver,
                           const std::string& more = {}) {
    return "      - matchers: ['alertname=\"" + alertname + "\"']\n        receiver: " + receiver +
           "\n" + more;
  }
  static std::string webhook(const std::string& name, const std::string& url,
                             const std::string& more = {}) {
    return "    - name: " + name + "\n      webhook_configs:\n        - url: " + url + "\n" + more;
  }

  // A replica `name` of the store at `dsn` (claims of `lease`, renewed every 200 ms), one group
  // per label g, every notification to the "gate" path; written to <name>.yml.
  fs::path replica_config(const std::string& dsn, const std::string& name,
                          const std::string& lease) {
    const fs::path file =
        write_config("", webhook("sink", rx_.url("gate")),
                     "store:\n  postgres:\n    dsn: '" + dsn + "'\nreplica:\n  name: " + name +
                         "\n  claim_lease: " + lease +
                         "\n  claim_interval: 200ms\ndelivery:\n  backoff_initial: 50ms\n"
                         "  backoff_max: 200ms\n");
    std::string text = read_file(file);
    text.replace(text.find("group_by: [alertname]"), 21, "group_by: [g]");
    text.replace(text.find("    routes:\n"), 12, "");
    const fs::path named = dir_.path() / (name + ".yml");
    write_file(named, text);
    return named;
  }

  TempDir dir_;
  Receivers rx_;
  Clock::time_point gate_opened_at_{};  // requests after it are answered 200
};

TEST_F(DeliveryTest, RetriesWaitsRefusesAndRaisesNotificationFailingToAFallback) {
  const std::string routes = route("OpsreadyNotificationFailing", "fallback") +
                             route("Flaky", "flaky") + route("Limited", "limited") +
                             route("Bad", "bad") + route("Hang", "hang") + route("Ok", "ok") +
                             route("Quiet", "quiet");
  // "quiet" has a webhook without a url: its notifications are recorded, not sent, and that is
  // no failure.
  const std::string receivers =
      "    - name: quiet\n      webhook_configs:\n        - send_resolved: true\n" +
      webhook("sink", rx_.url("sink")) + webhook("fallback", rx_.url("fallback")) +
      webhook("flaky", rx_.url("flaky")) + webhook("limited", rx_.url("limited")) +
      webhook("bad", rx_.url("bad")) + webhook("hang", rx_.url("hang")) +
      webhook("ok", rx_.url("ok"));
  const fs::path config = write_config(
      routes, receivers, "delivery:\n  timeout: 1s\n  backoff_initial: 100ms\n  backoff_max: 1s\n");
  Daemon d({"serve", "--config", config.string()});

  // A receiver that never answers, first: it must not hold up anyone else.
  post_alerts(d.port(), json::array({alert("Hang")}));
  ASSERT_TRUE(rx_.wait_for([](const auto& rs) { return count_at(rs, "hang") >= 1; })) << d.log();
  post_alerts(d.port(), json::array({alert("Flaky"), alert("Limited"), alert("Bad"), alert("Ok"),
                                     alert("Quiet")}));

  // 500 then 200: retried with the same key, accepted.
  ASSERT_TRUE(rx_.wait_for([](const auto& rs) { return count_at(rs, "flaky") >= 2; })) << d.log();
  const auto flaky = rx_.at("flaky");
  EXPECT_FALSE(flaky[0].key.empty());
  EXPECT_EQ(flaky[0].key, flaky[1].key);
  EXPECT_EQ(flaky[0].key, flaky[0].notification_id);
  EXPECT_EQ(alertnames(flaky[1].body), std::set<std::string>{"Flaky"});

  // The healthy receiver got its notification while "hang" still held its request.
  ASSERT_TRUE(rx_.wait_for([](const auto& rs) { return count_at(rs, "ok") >= 1; })) << d.log();
  const auto hang = rx_.at("hang");
  const auto ok = rx_.at("ok");
  EXPECT_LT(ok[0].at - hang[0].at, 1s) << "ok waited for the hanging receiver's timeout";

  // 429 with Retry-After: 2: the second attempt waits two seconds.
  ASSERT_TRUE(rx_.wait_for([](const auto& rs) { return count_at(rs, "limited") >= 2; }, 30s))
      << d.log();
  const auto limited = rx_.at("limited");
  EXPECT_GE(limited[1].at - limited[0].at, 1900ms);
  EXPECT_EQ(limited[0].key, limited[1].key);

  // 400: final (one request), counted, and OpsreadyNotificationFailing reaches the fallback
  // with the failing receiver and integration in its labels.
  ASSERT_TRUE(rx_.wait_for(
      [](const auto& rs) {
        for (const auto& r : rs) {
          if (r.path != "fallback" || !r.body.is_object()) continue;
          for (const auto& a : r.body["alerts"]) {
            if (a["labels"].value("alertname", "") == "OpsreadyNotificationFailing" &&
                a["labels"].value("receiver", "") == "bad") {
              return true;
            }
          }
        }
        return false;
      },
      30s))
      << d.log();
  EXPECT_EQ(rx_.at("bad").size(), 1u);
  for (const auto& r : rx_.at("fallback")) {
    for (const auto& a : r.body["alerts"]) {
      EXPECT_NE(a["labels"].value("receiver", ""), "quiet") << "a records-only integration failed";
      if (a["labels"].value("receiver", "") != "bad") continue;
      EXPECT_EQ(a["labels"].value("integration", ""), "webhook/0");
      EXPECT_EQ(a["labels"].value("reason", ""), "client_error");
    }
  }
  const std::string m = metrics(d.port());
  EXPECT_EQ(
      sample(
          m,
          R"(opsready_notifications_total{receiver="bad",integration="webhook/0",outcome="failed"})"),
      1)
      << m;
  EXPECT_EQ(
      sample(
          m,
          R"(opsready_notifications_total{receiver="quiet",integration="webhook/0",outcome="recorded"})"),
      1)
      << m;
  EXPECT_EQ(
      sample(
          m,
          R"(opsready_notifications_total{receiver="quiet",integration="webhook/0",outcome="failed"})"),
      -1)
      << m;
  EXPECT_GE(
      sample(
          m,
          R"(opsready_notifications_total{receiver="flaky",integration="webhook/0",outcome="sent"})"),
      1);
  EXPECT_GE(
      sample(
          m,
          R"(opsready_notification_attempts_failed_total{receiver="flaky",integration="webhook/0",reason="server_error"})"),
      1);
  EXPECT_GE(
      sample(
          m,
          R"(opsready_notification_attempts_failed_total{receiver="limited",integration="webhook/0",reason="rate_limited"})"),
      1);
}

TEST_F(DeliveryTest, NothingDueIsLostAndResendsKeepTheirKeyAcrossKill9) {
  constexpr int kGroups = 10000;
  constexpr int kCrashes = 3;
  constexpr int kInFlight = 64;
  const fs::path config =
      write_config("", webhook("sink", rx_.url("sink")),
                   "delivery:\n  max_in_flight: " + std::to_string(kInFlight) +
                       "\n  max_in_flight_per_receiver: " + std::to_string(kInFlight) + "\n");
  // group_by the alert's own label: one group per alert. The route tree has no child routes.
  {
    std::string text = read_file(config);
    text.replace(text.find("group_by: [alertname]"), 21, "group_by: [g]");
    text.replace(text.find("    routes:\n"), 12, "");
    write_file(config, text);
  }
  std::mt19937 rng(std::random_device{}());
  std::vector<int> kill_at;  // distinct groups received before each kill
  for (int i = 0; i < kCrashes; ++i) {
    kill_at.push_back(std::uniform_int_distribution<int>(500, kGroups - 500)(rng));
  }
  std::sort(kill_at.begin(), kill_at.end());
  const auto& distinct_groups = distinct_g_labels;

  {
    Daemon d({"serve", "--config", config.string()});
    for (int start = 0; start < kGroups; start += 1000) {
      json batch = json::array();
      for (int i = start; i < start + 1000; ++i) {
        batch.push_back(alert("Crash", {{"g", std::to_string(i)}}));
      }
      post_alerts(d.port(), batch);
    }
    std::this_thread::sleep_for(300ms);  // the write-behind of accepted alerts (flush 10ms)
    ASSERT_TRUE(rx_.wait_for(
        [&](const auto& rs) { return distinct_groups(rs) >= static_cast<std::size_t>(kill_at[0]); },
        60s))
        << d.log();
    d.signal(SIGKILL);
    d.wait_exit(10s);
  }
  for (int crash = 1; crash <= kCrashes; ++crash) {
    Daemon d({"serve", "--config", config.string()});
    if (crash < kCrashes) {
      ASSERT_TRUE(rx_.wait_for(
          [&](const auto& rs) {
            return distinct_groups(rs) >= static_cast<std::size_t>(kill_at[crash]);
          },
          60s))
          << d.log();
      d.signal(SIGKILL);
      d.wait_exit(10s);
      continue;
    }
    ASSERT_TRUE(rx_.wait_for(
        [&](const auto& rs) { return distinct_groups(rs) == static_cast<std::size_t>(kGroups); },
        120s))
        << "delivered " << distinct_groups(rx_.all()) << " of " << kGroups << "\n"
        << d.log();
    // A moment for anything still in flight, then a graceful stop.
    std::this_thread::sleep_for(500ms);
    d.signal(SIGTERM);
    d.wait_exit(15s);
  }

  // Every group went out under exactly one key; repeats of a key are the resends.
  std::map<std::string, std::set<std::string>> keys_of_group;
  std::map<std::string, int> sends_of_key;
  for (const auto& r : rx_.at("sink")) {
    ASSERT_TRUE(r.body.is_object());
    ASSERT_FALSE(r.key.empty());
    EXPECT_EQ(r.key, r.notification_id);
    ++sends_of_key[r.key];
    for (const auto& a : r.body["alerts"]) {
      // opsready's own alerts (the watchdog) have no g: they are not the workload.
      if (a["labels"].contains("g"))
        keys_of_group[a["labels"]["g"].get<std::string>()].insert(r.key);
    }
  }
  std::size_t duplicates = 0;
  for (const auto& [key, n] : sends_of_key) {
    duplicates += static_cast<std::size_t>(n - 1);
    // The promise: at most one resend per notification per crash.
    EXPECT_LE(n, 1 + kCrashes) << key << " was sent " << n << " times";
  }
  for (const auto& [g, keys] : keys_of_group) {
    EXPECT_EQ(keys.size(), 1u) << "group " << g << " was notified under several keys";
  }
  EXPECT_EQ(keys_of_group.size(), static_cast<std::size_t>(kGroups));
  // A resend is a notification the receiver took whose "sent" mark was not committed yet. A
  // finished notification keeps its request slot until its mark is committed, so a crash can
  // catch at most max_in_flight of them.
  EXPECT_LE(duplicates, static_cast<std::size_t>(kCrashes * kInFlight))
      << "duplicates " << duplicates;
  std::cout << "[ crash test ] " << kGroups << " groups, " << kCrashes << " kill -9 at "
            << kill_at[0] << "/" << kill_at[1] << "/" << kill_at[2] << " delivered; "
            << rx_.at("sink").size() << " requests, " << duplicates
            << " resends with an already-seen key\n";
}

TEST_F(DeliveryTest, A2xxFromPostAlertsSurvivesKill9) {
  const fs::path config = write_config("", webhook("sink", rx_.url("sink")),
                                       // No flush timer to help: only the group commit can save
                                       // the alerts before the kill.
                                       "");
  {
    std::string text = read_file(config);
    text.replace(text.find("flush_interval: 10ms"), 20, "flush_interval: 1h");
    text.replace(text.find("    routes:\n"), 12, "");
    write_file(config, text);
  }
  std::set<std::string> posted;
  {
    Daemon d({"serve", "--config", config.string()});
    json batch = json::array();
    for (int i = 0; i < 64; ++i) {
      batch.push_back(alert("Durable", {{"n", std::to_string(i)}}));
      posted.insert(std::to_string(i));
    }
    post_alerts(d.port(), batch);  // asserts the 200
    d.signal(SIGKILL);             // at once
    d.wait_exit(10s);
  }
  Daemon d({"serve", "--config", config.string()});
  httplib::Client c("127.0.0.1", d.port());
  auto r = c.Get("/api/v2/alerts?filter=alertname%3D%22Durable%22");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  std::set<std::string> back;
  for (const auto& a : json::parse(r->body)) back.insert(a["labels"].value("n", ""));
  EXPECT_EQ(back, posted);
}

// Two daemons on one PostgreSQL store (docs/replicas.md): what a replica that was kill -9ed left
// pending is claimed and sent by another, under the ids the dead one decided, once its claims'
// lease ends, without being decided again; a replica that stops gracefully releases its claims,
// so the next takes them at once (its lease here is an hour: nothing else could hand them over).
TEST_F(DeliveryTest, AReplicaSendsWhatADeadOrStoppedOneLeftPendingUnderTheSameIds) {
  PostgresServerProcess pg;
  std::string error;
  ASSERT_TRUE(pg.start(&error)) << error;
  ASSERT_TRUE(pg.create_database("replicas", &error)) << error;
  constexpr int kGroups = 200;
  const auto config_of = [&](const std::string& name, const std::string& lease) {
    return replica_config(pg.dsn("replicas"), name, lease);
  };
  // The keys tried and accepted for the groups of `prefix`, by group.
  // (From the requests `rs`: a wait_for predicate gets them under the receivers' lock.)
  const auto keys_by_group = [&](const std::vector<Received>& rs, const std::string& prefix,
                                 bool accepted_only) {
    std::map<std::string, std::set<std::string>> out;
    for (const auto& r : rs) {
      if (!r.body.is_object() || r.path != "gate") continue;
      if (accepted_only && r.at < gate_opened_at_) continue;
      for (const auto& a : r.body["alerts"]) {
        const std::string g = a["labels"].value("g", "");
        if (g.starts_with(prefix)) out[g].insert(r.key);
      }
    }
    return out;
  };
  const auto post_groups = [&](int port, const std::string& prefix) {
    json batch = json::array();
    for (int i = 0; i < kGroups; ++i)
      batch.push_back(alert("Replica", {{"g", prefix + std::to_string(i)}}));
    post_alerts(port, batch);
  };
  const auto tried_all = [&](const std::string& prefix) {
    return rx_.wait_for(
        [&](const auto& rs) { return keys_by_group(rs, prefix, false).size() == kGroups; }, 60s);
  };
  const auto claimed = [](int port) {
    return sample(metrics(port), "opsready_notifications_claimed_total");
  };
  // Waits until every group of `prefix` was accepted, each under the one key it was tried with
  // before the gate opened.
  const auto sent_under_tried_keys = [&](const std::string& prefix,
                                         const std::map<std::string, std::set<std::string>>& tried,
                                         const Daemon& d) {
    ASSERT_TRUE(rx_.wait_for(
        [&](const auto& rs) { return keys_by_group(rs, prefix, true).size() == kGroups; }, 60s))
        << d.log();
    for (const auto& [g, keys] : keys_by_group(rx_.all(), prefix, true)) {
      EXPECT_EQ(keys, tried.at(g)) << g << " was sent under another id than its decider's";
    }
  };

  // Replica a decides 200 notifications; the receiver is down; a is killed.
  const fs::path a = config_of("replica-a", "2s");
  const fs::path b = config_of("replica-b", "1h");
  {
    Daemon d({"serve", "--config", a.string()});
    post_groups(d.port(), "k");
    ASSERT_TRUE(tried_all("k")) << d.log();
    d.signal(SIGKILL);
    d.wait_exit(10s);
  }
  const auto tried = keys_by_group(rx_.all(), "k", false);
  gate_opened_at_ = Clock::now();
  rx_.open_gate(true);
  {
    // Replica b sends them all, with a's ids, once a's claims ran out (2 s after their last
    // renewal): none is decided again.
    Daemon d({"serve", "--config", b.string()});
    sent_under_tried_keys("k", tried, d);
    Clock::time_point last{};
    for (const auto& r : rx_.at("gate")) last = std::max(last, r.at);
    std::cout
        << "[ replica test ] " << kGroups << " notifications of a killed replica sent by "
        << "another "
        << std::chrono::duration_cast<std::chrono::milliseconds>(last - gate_opened_at_).count()
        << " ms after the kill (claim_lease 2s)\n";
    EXPECT_GE(claimed(d.port()), kGroups);
    // b now decides 200 more; the receiver is down again; b stops gracefully.
    rx_.open_gate(false);
    post_groups(d.port(), "s");
    ASSERT_TRUE(tried_all("s")) << d.log();
    d.signal(SIGTERM);
    EXPECT_EQ(d.wait_exit(30s), 0) << d.log();
    EXPECT_NE(d.log().find("released the claims of"), std::string::npos) << d.log();
  }
  const auto tried_s = keys_by_group(rx_.all(), "s", false);
  gate_opened_at_ = Clock::now();
  rx_.open_gate(true);
  // Replica a again: b's claims (lease 1h) were released, so a sends them at once.
  Daemon d({"serve", "--config", a.string()});
  sent_under_tried_keys("s", tried_s, d);
  EXPECT_GE(claimed(d.port()), kGroups);
}

// Replicas on one store (docs/replicas.md): one leads, the others stand by (503 on /-/ready,
// naming the leader). When the leader is kill -9ed, a standby takes over on its own port: it
// sends what the dead one left pending under its ids, decides what comes next, and keeps the
// silence that was added on the dead leader. A graceful stop hands over the same way.
TEST_F(DeliveryTest, AStandbyTakesOverWhenTheLeaderDiesAndKeepsItsSilences) {
  PostgresServerProcess pg;
  std::string error;
  ASSERT_TRUE(pg.start(&error)) << error;
  ASSERT_TRUE(pg.create_database("leaders", &error)) << error;
  const auto config_of = [&](const std::string& name) {
    return replica_config(pg.dsn("leaders"), name, "2s");
  };
  const auto get = [](int port, const std::string& path) {
    httplib::Client c("127.0.0.1", port);
    auto r = c.Get(path);
    return r ? std::make_pair(r->status, r->body) : std::make_pair(0, std::string());
  };
  // (From the requests `rs`: a wait_for predicate gets them under the receivers' lock.)
  const auto groups_seen = [&](const std::vector<Received>& rs, const std::string& prefix,
                               bool accepted_only) {
    std::map<std::string, std::set<std::string>> out;
    for (const auto& r : rs) {
      if (!r.body.is_object() || r.path != "gate" || (accepted_only && r.at < gate_opened_at_)) {
        continue;
      }
      for (const auto& a : r.body["alerts"]) {
        const std::string g = a["labels"].value("g", "");
        if (g.starts_with(prefix)) out[g].insert(r.key);
      }
    }
    return out;
  };
  constexpr int kGroups = 100;
  const fs::path a_config = config_of("replica-a");
  const fs::path b_config = config_of("replica-b");

  auto a =
      std::make_unique<Daemon>(std::vector<std::string>{"serve", "--config", a_config.string()});
  ASSERT_EQ(get(a->port(), "/-/ready").first, 200) << a->log();
  auto b =
      std::make_unique<Daemon>(std::vector<std::string>{"serve", "--config", b_config.string()});
  // b stands by: not ready, naming the leader; its metrics say so too.
  const auto b_ready = get(b->port(), "/-/ready");
  EXPECT_EQ(b_ready.first, 503) << b->log();
  EXPECT_NE(b_ready.second.find("replica replica-a leads"), std::string::npos) << b_ready.second;
  EXPECT_EQ(sample(metrics(b->port()), "opsready_replica_leader"), 0);
  EXPECT_EQ(sample(metrics(a->port()), "opsready_replica_leader"), 1);
  httplib::Client bc("127.0.0.1", b->port());
  auto refused = bc.Post("/api/v2/alerts", json::array({alert("X")}).dump(), "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(refused->get_header_value("Retry-After"), "1");

  // On a: a silence of g=muted, then 100 groups while the receiver is down; a dies.
  {
    httplib::Client ac("127.0.0.1", a->port());
    const json silence = {
        {"matchers",
         json::array({{{"name", "g"}, {"value", "muted"}, {"isRegex", false}, {"isEqual", true}}})},
        {"startsAt", "2020-01-01T00:00:00Z"},
        {"endsAt", "2099-01-01T00:00:00Z"},
        {"createdBy", "test"},
        {"comment", "added on replica-a"}};
    auto r = ac.Post("/api/v2/silences", silence.dump(), "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }
  json batch = json::array();
  for (int i = 0; i < kGroups; ++i)
    batch.push_back(alert("Lead", {{"g", "k" + std::to_string(i)}}));
  post_alerts(a->port(), batch);
  ASSERT_TRUE(rx_.wait_for(
      [&](const auto& rs) { return groups_seen(rs, "k", false).size() == kGroups; }, 60s))
      << a->log();
  const auto tried = groups_seen(rx_.all(), "k", false);
  a->signal(SIGKILL);
  a->wait_exit(10s);
  a.reset();
  gate_opened_at_ = Clock::now();
  rx_.open_gate(true);

  // b leads, on the port it stood by on, and sends a's notifications under a's ids.
  ASSERT_TRUE(rx_.wait_for(
      [&](const auto& rs) { return groups_seen(rs, "k", true).size() == kGroups; }, 60s))
      << b->log();
  for (const auto& [g, keys] : groups_seen(rx_.all(), "k", true)) {
    EXPECT_EQ(keys, tried.at(g)) << g << " was not sent under the id replica-a decided";
  }
  EXPECT_EQ(get(b->port(), "/-/ready").first, 200) << b->log();
  EXPECT_EQ(sample(metrics(b->port()), "opsready_replica_leader"), 1);
  // The silence made on a mutes on b: "muted" never goes out, "marker" (posted with it) does.
  post_alerts(b->port(),
              json::array({alert("Lead", {{"g", "muted"}}), alert("Lead", {{"g", "marker"}})}));
  ASSERT_TRUE(
      rx_.wait_for([&](const auto& rs) { return !groups_seen(rs, "marker", true).empty(); }, 30s))
      << b->log();
  std::this_thread::sleep_for(1500ms);  // more than group_interval: a muted group had its tick
  EXPECT_TRUE(groups_seen(rx_.all(), "muted", false).empty());
  const auto silences = get(b->port(), "/api/v2/silences");
  EXPECT_NE(silences.second.find("added on replica-a"), std::string::npos) << silences.second;

  // a comes back as a standby of b; b stops gracefully; a leads again.
  a = std::make_unique<Daemon>(std::vector<std::string>{"serve", "--config", a_config.string()});
  const auto a_ready = get(a->port(), "/-/ready");
  EXPECT_EQ(a_ready.first, 503);
  EXPECT_NE(a_ready.second.find("replica replica-b leads"), std::string::npos) << a_ready.second;
  b->signal(SIGTERM);
  EXPECT_EQ(b->wait_exit(30s), 0) << b->log();
  bool leads = false;
  for (int i = 0; i < 200 && !leads; ++i) {
    leads = get(a->port(), "/-/ready").first == 200;
    if (!leads) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(leads) << a->log();
  a->signal(SIGTERM);
  EXPECT_EQ(a->wait_exit(30s), 0) << a->log();
}

// `opsready alerts test-receiver`: one attempt per integration, each answered on its own line,
// through the same transports and Sender the daemon uses, with a test- notification id.
TEST_F(DeliveryTest, TestReceiverSendsOneNotificationPerIntegrationAndSaysHowEachWent) {
  const fs::path config = write_config(
      "", webhook("sink", rx_.url("sink")) +
              webhook("ops", rx_.url("ok"), "        - url: " + rx_.url("bad") + "\n"));
  const auto r = run_opsready({"alerts", "test-receiver", "ops", "--config", config.string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("receiver ops: 2 integration(s), notification id test-ops-"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("webhook/0: sent in"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("webhook/1: failed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("400"), std::string::npos) << r.out;
  const auto ok = rx_.at("ok");
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].key.rfind("test-ops-", 0), 0u) << ok[0].key;
  EXPECT_EQ(ok[0].key, ok[0].notification_id);
  EXPECT_EQ(alertnames(ok[0].body), (std::set<std::string>{"OpsreadyTestNotification"}));
  EXPECT_EQ(rx_.at("bad").size(), 1u);  // refused for good: not retried

  const auto sink = run_opsready(
      {"alerts", "test-receiver", "sink", "--config", config.string(), "--format", "json"});
  EXPECT_EQ(sink.exit_code, 0) << sink.out << sink.err;
  const json j = json::parse(sink.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << sink.out;
  EXPECT_EQ(rx_.at("sink").size(), 1u);

  const auto unknown =
      run_opsready({"alerts", "test-receiver", "nobody", "--config", config.string()});
  EXPECT_EQ(unknown.exit_code, 64);
  EXPECT_NE(unknown.err.find("nobody"), std::string::npos) << unknown.err;
  EXPECT_EQ(run_opsready({"alerts", "test-receiver", "ops", "--config",
                          (dir_.path() / "missing.yml").string()})
                .exit_code,
            66);
}

// MTTA / MTTR from opsready's own log: an alert group opens (its first notification accepted),
// is acknowledged through the CLI, resolves; GET /api/v1/incidents, `opsready incidents` and
// the /metrics histograms tell the same story, and a restart in the middle of a second incident
// still measures its ack from its open.
TEST_F(DeliveryTest, AnIncidentsTimelineMttaAndMttrComeFromTheLog) {
  const fs::path config =
      write_config(route("Outage", "pager"),
                   webhook("sink", rx_.url("sink")) + webhook("pager", rx_.url("pager")));
  const auto get_json = [](int port, const std::string& path) {
    httplib::Client c("127.0.0.1", port);
    auto r = c.Get(path);
    return r && r->status == 200 ? json::parse(r->body, nullptr, false) : json();
  };
  const auto group_of = [&](int port, const std::string& alertname) {
    for (const auto& g : get_json(port, "/api/v2/alerts/groups")) {
      if (g["labels"].value("alertname", "") == alertname) return g.value("id", std::string());
    }
    return std::string();
  };
  // The pager's incident of `alertname`, once the store has its records in state `want`.
  const auto incident_of = [&](int port, const std::string& alertname, const std::string& want) {
    for (int i = 0; i < 100; ++i) {
      const json list = get_json(port, "/api/v1/incidents?receiver=pager&state=" + want);
      for (const auto& inc : list.value("incidents", json::array())) {
        if (inc.value("group", "").find(alertname) != std::string::npos) return inc;
      }
      std::this_thread::sleep_for(50ms);
    }
    return json();
  };
  const std::string url_flag = "--url";

  Daemon d({"serve", "--config", config.string()});
  const std::string url = "http://127.0.0.1:" + std::to_string(d.port());
  post_alerts(d.port(), json::array({alert("Outage", {{"instance", "fix-gw-1"}})}));
  ASSERT_TRUE(rx_.wait_for([](const auto& rs) { return count_at(rs, "pager") >= 1; })) << d.log();
  const std::string group = group_of(d.port(), "Outage");
  ASSERT_FALSE(group.empty());
  std::this_thread::sleep_for(300ms);  // a measurable time to acknowledge
  const auto acked =
      run_opsready({"alerts", "ack", group, url_flag, url, "--by", "alice", "--comment", "on it"});
  ASSERT_EQ(acked.exit_code, 0) << acked.out << acked.err;
  // Resolved: the same alert with an end in the past; the group's next tick says so.
  json resolved = alert("Outage", {{"instance", "fix-gw-1"}});
  resolved["endsAt"] = "2020-01-01T00:00:00Z";
  post_alerts(d.port(), json::array({resolved}));
  ASSERT_TRUE(rx_.wait_for([](const auto& rs) {
    for (const auto& r : rs) {
      if (r.path == "pager" && r.body.value("status", "") == "resolved") return true;
    }
    return false;
  })) << d.log();

  const json inc = incident_of(d.port(), "Outage", "resolved");
  ASSERT_TRUE(inc.is_object()) << get_json(d.port(), "/api/v1/incidents").dump(2) << d.log();
  EXPECT_EQ(inc["receiver"], "pager");
  EXPECT_EQ(inc["group_id"], group);
  EXPECT_EQ(inc["acknowledged_by"], "alice");
  EXPECT_EQ(inc["acknowledged_via"], "cli");
  ASSERT_TRUE(inc["mtta_seconds"].is_number()) << inc.dump(2);
  ASSERT_TRUE(inc["mttr_seconds"].is_number()) << inc.dump(2);
  const auto at = [](const json& j, const char* k) {
    return core::parse_rfc3339(j[k].get<std::string>()).value();
  };
  EXPECT_GE(at(inc, "acknowledged_at") - at(inc, "opened_at"), 300ms);
  EXPECT_GT(at(inc, "resolved_at"), at(inc, "acknowledged_at"));
  ASSERT_TRUE(inc["first_notified"].contains("pager")) << inc.dump(2);
  EXPECT_GE(at(inc["first_notified"], "pager"), at(inc, "opened_at"));
  const std::string id = inc["id"];

  // The whole timeline: opened, delivered (to the webhook), acked, resolved, delivered.
  // The second delivery is logged once the receiver's answer is committed, which may be a
  // moment after the receiver has the request: wait for it.
  json full;
  std::vector<std::string> types;
  for (int i = 0; i < 100; ++i) {
    full = get_json(d.port(), "/api/v1/incidents/" + id);
    types.clear();
    for (const auto& e : full["events"]) types.push_back(e["type"]);
    if (std::count(types.begin(), types.end(), "delivered") >= 2) break;
    std::this_thread::sleep_for(50ms);
  }
  const auto index = [&types](const std::string& t) {
    return std::find(types.begin(), types.end(), t) - types.begin();
  };
  ASSERT_LT(index("delivered"), static_cast<std::ptrdiff_t>(types.size())) << full.dump(2);
  EXPECT_LT(index("opened"), index("delivered"));
  EXPECT_LT(index("delivered"), index("acked"));
  EXPECT_LT(index("acked"), index("resolved"));
  EXPECT_EQ(std::count(types.begin(), types.end(), "delivered"), 2) << full.dump(2);

  // The CLI: the list, the brief's timeline JSON, the Markdown report.
  const auto list = run_opsready({"incidents", "list", url_flag, url, "--receiver", "pager"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find(id), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("alice via cli"), std::string::npos) << list.out;
  const auto tl = run_opsready({"incidents", "timeline", id, url_flag, url, "--format", "json"});
  ASSERT_EQ(tl.exit_code, 0) << tl.err;
  const json brief = json::parse(tl.out, nullptr, false);
  ASSERT_TRUE(brief.is_object()) << tl.out;
  EXPECT_EQ(brief["incident_id"], id);
  ASSERT_EQ(brief["events"].size(), 3u) << tl.out;
  EXPECT_EQ(brief["events"][0]["type"], "alert_opened");
  EXPECT_EQ(brief["events"][0]["channel"], "webhook");
  EXPECT_EQ(brief["events"][1]["type"], "alert_acknowledged");
  EXPECT_EQ(brief["events"][1]["channel"], "cli");
  EXPECT_EQ(brief["events"][1]["actor"], "alice");
  EXPECT_EQ(brief["events"][2]["type"], "alert_resolved");
  EXPECT_EQ(brief["events"][2]["channel"], "webhook");
  const auto md = run_opsready({"incidents", "timeline", id, url_flag, url});
  ASSERT_EQ(md.exit_code, 0) << md.err;
  EXPECT_EQ(md.out.rfind("# Incident " + id + "\n", 0), 0u) << md.out;
  EXPECT_NE(md.out.find("by alice via cli"), std::string::npos) << md.out;
  const auto missing = run_opsready({"incidents", "timeline", "999999", url_flag, url});
  EXPECT_EQ(missing.exit_code, 65) << missing.out << missing.err;
  EXPECT_NE(missing.err.find("no incident has the id '999999'"), std::string::npos) << missing.err;

  const std::string m = metrics(d.port());
  EXPECT_EQ(sample(m, R"(opsready_incident_time_to_acknowledge_seconds_count{receiver="pager"})"),
            1)
      << m;
  EXPECT_EQ(sample(m, R"(opsready_incident_time_to_resolve_seconds_count{receiver="pager"})"), 1);

  // A second incident opens, the daemon restarts, the ack comes after: measured from its open.
  post_alerts(d.port(), json::array({alert("Outage", {{"instance", "fix-gw-2"}})}));
  ASSERT_TRUE(rx_.wait_for([](const auto& rs) { return count_at(rs, "pager") >= 3; })) << d.log();
  ASSERT_TRUE(incident_of(d.port(), "Outage", "open").is_object());
  d.signal(SIGTERM);
  ASSERT_EQ(d.wait_exit(15s), 0);
  Daemon again({"serve", "--config", config.string()});
  const std::string url2 = "http://127.0.0.1:" + std::to_string(again.port());
  const auto reacked = run_opsready(
      {"alerts", "ack", group_of(again.port(), "Outage"), url_flag, url2, "--by", "bob"});
  ASSERT_EQ(reacked.exit_code, 0) << reacked.out << reacked.err << again.log();
  const std::string m2 = metrics(again.port());
  EXPECT_EQ(sample(m2, R"(opsready_incident_time_to_acknowledge_seconds_count{receiver="pager"})"),
            1)
      << m2;
  // Both incidents, across the restart.
  const json all = get_json(again.port(), "/api/v1/incidents?receiver=pager");
  EXPECT_EQ(all["count"], 2) << all.dump(2);
  EXPECT_EQ(all["summary"]["resolved"], 1);
}

}  // namespace
}  // namespace opsready::testing
