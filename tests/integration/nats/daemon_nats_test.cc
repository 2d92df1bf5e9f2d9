// `opsready serve` with bus.nats against a real nats-server: NATS subjects
// opsready.events.<topic> as an ingest path (batches, back-pressure, malformed messages), the
// event_bus component, and a NATS outage (spool, recovery). Both servers run on loopback ports
// chosen by the test and are stopped by it.

#include <gtest/gtest.h>
#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/bus/nats_bus.h"
#include "opsready/core/clock.h"
#include "opsready/core/time.h"
#include "tests/integration/harness.h"
#include "tests/integration/nats/nats_server.h"
#include "tests/integration/receivers.h"
#include "tests/support/postgres_server.h"

namespace opsready::testing {
namespace {

using json = nlohmann::json;
using nats_testing::NatsServerProcess;
using namespace std::chrono_literals;

class NatsLibrary : public ::testing::Environment {
 public:
  void TearDown() override { bus::shutdown_nats_library(); }
};
const auto* const kNatsLibrary = ::testing::AddGlobalTestEnvironment(new NatsLibrary);

json get_json(httplib::Client& c, const std::string& path) {
  auto res = c.Get(path);
  if (!res) throw std::runtime_error("GET " + path + " failed");
  return json::parse(res->body);
}

// The value of one sample line of /metrics (`name{labels}` exactly as exposed), or -1.
double metric(httplib::Client& c, const std::string& series) {
  auto res = c.Get("/metrics");
  if (!res) return -1;
  const std::string& body = res->body;
  for (std::size_t pos = 0; pos < body.size();) {
    const auto end = body.find('\n', pos);
    const std::string line = body.substr(pos, end - pos);
    pos = end == std::string::npos ? body.size() : end + 1;
    if (line.size() > series.size() && line.starts_with(series) && line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return -1;
}

bool eventually(const std::function<bool()>& done, std::chrono::seconds limit = 30s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(25ms);
  }
  return true;
}

const json* component(const json& readiness, const std::string& name) {
  for (const auto& c : readiness["components"]) {
    if (c["component"] == name) return &c;
  }
  return nullptr;
}

std::string snapshot_line(const std::string& name, const std::string& status) {
  return json{{"source", "nats-test"},
              {"payload", {{"component", name}, {"status", status}, {"summary", status}}}}
      .dump();
}

// SIGTERM: a graceful stop that flushed the store (no loop may lose the stop request).
void expect_clean_stop(Daemon& d) {
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(20s), 0) << d.log();
  EXPECT_NE(d.log().find("state flushed"), std::string::npos) << d.log();
}

// A plain libnats JetStream producer, as a trading runtime or a script would publish.
class Producer {
 public:
  explicit Producer(const std::string& url) {
    ok_ = natsConnection_ConnectTo(&nc_, url.c_str()) == NATS_OK &&
          natsConnection_JetStream(&js_, nc_, nullptr) == NATS_OK;
  }
  ~Producer() {
    if (js_ != nullptr) jsCtx_Destroy(js_);
    if (nc_ != nullptr) natsConnection_Destroy(nc_);
  }
  [[nodiscard]] bool ok() const { return ok_; }

  // Publishes and waits for the stream's ack; `encoding` becomes Content-Encoding.
  bool publish(const std::string& subject, const std::string& body,
               const std::string& encoding = "") {
    natsMsg* msg = nullptr;
    if (natsMsg_Create(&msg, subject.c_str(), nullptr, body.data(),
                       static_cast<int>(body.size())) != NATS_OK) {
      return false;
    }
    if (!encoding.empty()) natsMsgHeader_Set(msg, "Content-Encoding", encoding.c_str());
    jsPubAck* ack = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    const natsStatus s = js_PublishMsg(&ack, js_, msg, nullptr, &jerr);
    jsPubAck_Destroy(ack);
    natsMsg_Destroy(msg);
    return s == NATS_OK;
  }

 private:
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
  bool ok_ = false;
};

class DaemonNats : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!server_.available()) GTEST_SKIP() << "nats-server is not installed";
    std::string error;
    ASSERT_TRUE(server_.start(&error)) << error;
  }

  // A config for `opsready serve` on this server; `extra` is appended at the top level.
  // `name` names the file and the data directory (one per replica).
  std::filesystem::path config(const std::string& extra = "",
                               const std::string& name = "opsready") {
    const auto path = dir_.path() / (name + ".yml");
    write_file(path,
               "listen: 127.0.0.1:0\n"
               "data_dir: " +
                   (dir_.path() / (name + "-data")).string() +
                   "\n"
                   "evaluation_interval: 100ms\n"
                   "bus:\n"
                   "  retry_interval: 100ms\n"
                   "  health_interval: 300ms\n"
                   "  nats:\n"
                   "    servers: [" +
                   server_.url() +
                   "]\n"
                   "    reconnect_initial: 50ms\n"
                   "    reconnect_max: 300ms\n"
                   "    fetch_timeout: 100ms\n" +
                   extra);
    return path;
  }

  // The stream exists before a producer publishes (the daemon creates it too, lazily).
  void ensure_stream() {
    auto bus = bus::NatsBus::connect({.servers = {server_.url()}});
    ASSERT_TRUE(bus) << bus.error().message;
    ASSERT_TRUE(eventually([&] { return (*bus)->ensure_stream().has_value(); }, 10s));
  }

  TempDir dir_;
  NatsServerProcess server_{dir_.path() / "nats"};
};

TEST_F(DaemonNats, EventsOnNatsSubjectsReachReadinessAndUnroutedTopicsAreCounted) {
  ensure_stream();
  Daemon d({"serve", "--config", config().string()});
  auto c = d.client();
  Producer p(server_.url());
  ASSERT_TRUE(p.ok());
  // One event, topic from the subject.
  ASSERT_TRUE(p.publish("opsready.events.opsready.component.snapshot",
                        snapshot_line("risk_engine", "warn")));
  // An NDJSON batch, gzip-compressed.
  ASSERT_TRUE(p.publish(
      "opsready.events.opsready.component.snapshot",
      gzip(snapshot_line("fix_gateway", "ok") + "\n" + snapshot_line("md_feed", "fail") + "\n"),
      "gzip"));
  // A JSON array on a topic no component consumes: accepted and counted.
  ASSERT_TRUE(p.publish("opsready.events.telemetry.custom.thing",
                        R"([{"payload":{"a":1}},{"topic":"telemetry.custom.thing"},{}])"));

  json r;
  ASSERT_TRUE(eventually([&] {
    r = get_json(c, "/api/v1/readiness");
    return component(r, "risk_engine") && component(r, "fix_gateway") && component(r, "md_feed");
  })) << r.dump(2);
  EXPECT_EQ((*component(r, "md_feed"))["status"], "fail");
  EXPECT_EQ(r["gate"]["decision"], "block");
  ASSERT_TRUE(eventually([&] {
    return metric(c, "opsready_events_unrouted_total{topic=\"telemetry.custom.thing\"}") == 3;
  })) << c.Get("/metrics")->body;
  EXPECT_EQ(metric(c, "opsready_events_received_total{topic=\"opsready.component.snapshot\"}"), 3);
  // opsready's own event_bus snapshots come back from the stream too (and are not applied
  // twice), so the consumer's totals are at least the test's.
  ASSERT_TRUE(eventually([&] { return metric(c, "opsready_nats_events_total") >= 6; }));
  EXPECT_GE(metric(c, "opsready_nats_messages_total{result=\"taken\"}"), 3);
  EXPECT_EQ(metric(c, "opsready_nats_messages_total{result=\"rejected\"}"), 0);

  // The event_bus component: NATS up, a subscriber, opsready's own health events published.
  ASSERT_TRUE(eventually([&] {
    r = get_json(c, "/api/v1/readiness");
    const json* bus = component(r, "event_bus");
    return bus != nullptr && (*bus)["status"] == "ok";
  })) << r.dump(2);
  EXPECT_EQ((*component(r, "event_bus"))["metadata"]["service"], "nats");

  const json sup = get_json(c, "/api/v1/supervision");
  std::map<std::string, std::string> states;
  for (const auto& t : sup["tasks"]) states[t["name"]] = t["state"];
  EXPECT_EQ(states["nats-ingest"], "running") << sup.dump(2);
  EXPECT_EQ(states["bus"], "running") << sup.dump(2);

  expect_clean_stop(d);
}

TEST_F(DaemonNats, MalformedMessagesAreRejectedWholeCountedAndNeverApplied) {
  ensure_stream();
  Daemon d({"serve", "--config", config("ingest:\n  max_body_bytes: 2048\n").string()});
  auto c = d.client();
  Producer p(server_.url());
  ASSERT_TRUE(p.ok());
  const std::string snap = "opsready.events.opsready.component.snapshot";
  struct Case {
    const char* what;
    std::string subject;
    std::string body;
    std::string encoding;
  };
  const std::vector<Case> cases = {
      {"truncated JSON", snap, R"({"payload":{"component":"bad_a","status":"ok")", ""},
      {"wrong type", snap, R"({"payload":3})", ""},
      {"snapshot with an unknown status", snap, snapshot_line("bad_b", "maybe"), ""},
      {"topic contradicting the subject", snap,
       R"({"topic":"telemetry.other","payload":{"component":"bad_c","status":"ok"}})", ""},
      {"subject that is not a topic", "opsready.events.Telemetry.UPPER", R"({"payload":{}})", ""},
      {"invalid UTF-8", snap, "{\"payload\":{\"component\":\"bad_d\xff\",\"status\":\"ok\"}}", ""},
      {"bad gzip", snap, "\x1f\x8b not really gzip", "gzip"},
      {"unknown encoding", snap, snapshot_line("bad_e", "ok"), "br"},
      {"oversized", snap,
       json{{"payload",
             {{"component", "bad_f"}, {"status", "ok"}, {"summary", std::string(4096, 'x')}}}}
           .dump(),
       ""},
      {"gzip bomb over the size limit", snap,
       gzip(json{
           {"payload",
            {{"component", "bad_g"}, {"status", "ok"}, {"summary", std::string(1 << 16, 'y')}}}}
                .dump()),
       "gzip"},
      {"a good event batched with a bad one", snap,
       snapshot_line("bad_h", "ok") + "\n" + R"({"payload":{"component":"bad_i","status":7}})" +
           "\n",
       ""},
      {"empty body", snap, "", ""},
  };
  for (const auto& k : cases) {
    ASSERT_TRUE(p.publish(k.subject, k.body, k.encoding)) << k.what;
  }
  // A good message after them: once it is applied, every earlier one was handled.
  ASSERT_TRUE(p.publish(snap, snapshot_line("good_after", "ok")));
  json r;
  ASSERT_TRUE(eventually([&] {
    r = get_json(c, "/api/v1/readiness");
    return component(r, "good_after") != nullptr;
  })) << r.dump(2);
  for (const auto& comp : r["components"]) {
    EXPECT_FALSE(comp["component"].get<std::string>().starts_with("bad_")) << comp.dump();
  }
  ASSERT_TRUE(eventually([&] {
    return metric(c, "opsready_nats_messages_total{result=\"rejected\"}") ==
           static_cast<double>(cases.size());
  })) << c.Get("/metrics")->body;
  EXPECT_EQ(metric(c, "opsready_events_received_total{topic=\"opsready.component.snapshot\"}"), 1);
  EXPECT_NE(d.log().find("is not a valid event batch"), std::string::npos) << d.log();
  expect_clean_stop(d);
}

// The report-driven components over NATS (issue 13): one document of each kind on its topic's
// subject reaches readiness; a document of the wrong shape is terminated whole, counted and
// never applied.
TEST_F(DaemonNats, EachDocumentKindReachesReadinessAndAWrongShapeIsTerminated) {
  ensure_stream();
  Daemon d({"serve", "--config", config().string()});
  auto c = d.client();
  Producer p(server_.url());
  ASSERT_TRUE(p.ok());
  const std::vector<std::tuple<std::string, std::string, std::string>> docs = {
      {"system_validation", "telemetry.operational.system_validation",
       "system_validation/report.json"},
      {"incident_response", "telemetry.operational.incident_response",
       "incident_response/env.json"},
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
  // The wrong shape first: a backups document with a misspelt key.
  ASSERT_TRUE(p.publish("opsready.events.telemetry.operational.backups",
                        json{{"payload", {{"service", "x"}, {"polcy", json::object()}}}}.dump()));
  for (const auto& [name, topic, file] : docs) {
    const json payload =
        json::parse(read_file(std::string(OPSREADY_EXAMPLES) + "/documents/" + file));
    ASSERT_TRUE(p.publish("opsready.events." + topic,
                          json{{"source", "trading_runtime"}, {"payload", payload}}.dump()))
        << name;
  }
  json r;
  ASSERT_TRUE(eventually([&] {
    r = get_json(c, "/api/v1/readiness");
    for (const auto& [name, topic, file] : docs) {
      if (component(r, name) == nullptr) return false;
    }
    return true;
  })) << r.dump(2);
  EXPECT_EQ((*component(r, "system_validation"))["status"], "fail");
  EXPECT_EQ(r["gate"]["decision"], "block");
  // The backups component is the good document's (service timescale_backups), not "x".
  EXPECT_TRUE(
      (*component(r, "backups"))["summary"].get<std::string>().starts_with("timescale_backups"))
      << component(r, "backups")->dump(2);
  ASSERT_TRUE(eventually([&] {
    return metric(c, "opsready_nats_messages_total{result=\"rejected\"}") == 1;
  })) << c.Get("/metrics")->body;
  EXPECT_NE(d.log().find("polcy"), std::string::npos) << d.log();
  // opsready's own ingest consumer is read through CONSUMER.INFO every health interval and
  // graded next to the published one.
  ASSERT_TRUE(eventually([&] {
    r = get_json(c, "/api/v1/readiness");
    const json* nc = component(r, "nats_consumer");
    if (nc == nullptr) return false;
    for (const auto& k : (*nc)["metadata"]["consumers"]) {
      if (k["stream"] == "OPSREADY_EVENTS" && k["consumer"] == "opsready") return true;
    }
    return false;
  })) << r.dump(2);
  expect_clean_stop(d);
}

TEST_F(DaemonNats, BackPressureLosesNothingAndADurableConsumerResumesAfterARestart) {
  ensure_stream();
  Producer p(server_.url());
  ASSERT_TRUE(p.ok());
  // Published while opsready is not running: the durable consumer picks them up later.
  constexpr int kMessages = 200;
  constexpr int kPerMessage = 50;
  auto publish_batches = [&](int from, int to) {
    for (int m = from; m < to; ++m) {
      std::string body;
      for (int i = 0; i < kPerMessage; ++i) {
        body += json{{"source", "load"}, {"payload", {{"m", m}, {"i", i}}}}.dump() + "\n";
      }
      ASSERT_TRUE(p.publish("opsready.events.telemetry.load.sample", body));
    }
  };
  publish_batches(0, kMessages / 2);
  {
    // A tiny evaluation queue: the consumer must wait for room instead of dropping.
    Daemon d({"serve", "--config", config("ingest:\n  queue_capacity: 64\n").string()});
    auto c = d.client();
    publish_batches(kMessages / 2, kMessages);
    ASSERT_TRUE(eventually([&] {
      return metric(c, "opsready_events_unrouted_total{topic=\"telemetry.load.sample\"}") ==
             kMessages * kPerMessage;
    })) << c.Get("/metrics")->body;
    EXPECT_TRUE(eventually(
        [&] { return metric(c, "opsready_nats_events_total") >= kMessages * kPerMessage; }));
    expect_clean_stop(d);
  }
  // A restart resumes after the last acked message: nothing is delivered twice.
  publish_batches(0, 2);
  Daemon again({"serve", "--config", config().string()});
  auto c = again.client();
  ASSERT_TRUE(eventually([&] {
    return metric(c, "opsready_events_unrouted_total{topic=\"telemetry.load.sample\"}") ==
           2 * kPerMessage;
  })) << c.Get("/metrics")->body;
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(metric(c, "opsready_events_unrouted_total{topic=\"telemetry.load.sample\"}"),
            2 * kPerMessage);
  expect_clean_stop(again);
}

TEST_F(DaemonNats, ANatsOutageFailsTheEventBusComponentSpoolsAndRecovers) {
  ensure_stream();
  Daemon d({"serve", "--config", config().string()});
  auto c = d.client();
  json r;
  ASSERT_TRUE(eventually([&] {
    r = get_json(c, "/api/v1/readiness");
    const json* bus = component(r, "event_bus");
    return bus != nullptr && (*bus)["status"] == "ok";
  })) << r.dump(2);

  server_.stop();
  // Readiness says so, and opsready's own events go to the spool instead of being lost.
  ASSERT_TRUE(eventually([&] {
    r = get_json(c, "/api/v1/readiness");
    const json* bus = component(r, "event_bus");
    return bus != nullptr && (*bus)["status"] == "fail" && metric(c, "opsready_spool_pending") > 0;
  })) << r.dump(2)
      << c.Get("/metrics")->body;
  bool not_running = false;
  for (const auto& issue : (*component(r, "event_bus"))["issues"]) {
    not_running = not_running || issue["code"] == "bus_not_running";
  }
  EXPECT_TRUE(not_running) << r.dump(2);
  EXPECT_EQ(metric(c, "opsready_bus_up{bus=\"nats\"}"), 0);
  EXPECT_EQ(metric(c, "opsready_nats_connected"), 0);
  // HTTP keeps working while NATS is down.
  auto res = c.Post("/api/v1/events",
                    snapshot_line("http_during_outage", "ok")
                        .insert(1, R"("topic":"opsready.component.snapshot",)"),
                    "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 202) << res->body;

  std::string error;
  ASSERT_TRUE(server_.start(&error)) << error;
  // Back: the spool is replayed, the component recovers, and NATS ingest works again.
  ASSERT_TRUE(eventually(
      [&] {
        return metric(c, "opsready_spool_pending") == 0 &&
               metric(c, "opsready_spool_replayed_total") > 0;
      },
      60s))
      << c.Get("/metrics")->body << d.log();
  Producer p(server_.url());
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(eventually(
      [&] {
        return p.publish("opsready.events.opsready.component.snapshot",
                         snapshot_line("after_outage", "ok"));
      },
      20s));
  ASSERT_TRUE(eventually(
      [&] {
        r = get_json(c, "/api/v1/readiness");
        return component(r, "after_outage") != nullptr;
      },
      60s))
      << r.dump(2) << d.log();
  EXPECT_NE(d.log().find("recovered"), std::string::npos) << d.log();
  expect_clean_stop(d);
}

// The shipped bus-outage drill (examples/drills/bus-outage.yml) against a real nats-server
// that the drill's own commands stop and start (here scripts the test writes, pointed to by the
// environment variables the scenario reads; in production the systemd unit): Pass, with the
// spool filled during the outage and drained after it, and its evidence a golden file.
TEST_F(DaemonNats, TheShippedBusOutageDrillPassesAgainstARealServer) {
  // The server of this test is one the scripts control (not a child of the test).
  server_.stop();
  const auto nats = dir_.path() / "drill-nats";
  std::filesystem::create_directories(nats / "store");
  const std::string port = std::to_string(server_.port());
  const auto pid_file = nats / "nats.pid";
  const auto start = nats / "start.sh", stop = nats / "stop.sh";
  const std::string up = "bash -c 'exec 3<>/dev/tcp/127.0.0.1/" + port + "' 2>/dev/null";
  write_file(start, "setsid " + nats_testing::find_nats_server() + " -js -a 127.0.0.1 -p " + port +
                        " -sd " + (nats / "store").string() + " -P " + pid_file.string() + " >>" +
                        (nats / "nats.log").string() +
                        " 2>&1 </dev/null &\n"
                        "for i in $(seq 200); do " +
                        up + " && exit 0; sleep 0.05; done; exit 1\n");
  write_file(stop, "pid=$(cat " + pid_file.string() +
                       ") || exit 1\nkill -TERM \"$pid\"\n"
                       "for i in $(seq 200); do kill -0 \"$pid\" 2>/dev/null || exit 0; "
                       "sleep 0.05; done; kill -KILL \"$pid\"\n");
  struct Cleanup {
    std::filesystem::path stop;
    ~Cleanup() { (void)std::system(("sh " + stop.string() + " >/dev/null 2>&1").c_str()); }
  } cleanup{stop};
  ASSERT_EQ(std::system(("sh " + start.string()).c_str()), 0) << read_file(nats / "nats.log");
  ensure_stream();
  ::setenv("OPSREADY_DRILL_NATS_STOP", ("sh " + stop.string()).c_str(), 1);
  ::setenv("OPSREADY_DRILL_NATS_START", ("sh " + start.string()).c_str(), 1);
  Daemon d({"serve", "--config",
            config("drills:\n  scenarios: ['" + std::string(OPSREADY_EXAMPLES) +
                   "/drills/bus-outage.yml']\n  poll_interval: 50ms\n")
                .string()});
  ::unsetenv("OPSREADY_DRILL_NATS_STOP");
  ::unsetenv("OPSREADY_DRILL_NATS_START");
  auto c = d.client();
  json r;
  ASSERT_TRUE(eventually([&] {
    r = get_json(c, "/api/v1/readiness");
    const json* bus = component(r, "event_bus");
    return bus != nullptr && (*bus)["status"] == "ok" && metric(c, "opsready_spool_pending") == 0;
  })) << r.dump(2);

  const RunResult run =
      run_opsready({"drill", "run", "bus-outage", "--wait", "2m", "--format", "json", "--url",
                    "http://127.0.0.1:" + std::to_string(d.port())});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  const json e = json::parse(run.out);
  EXPECT_EQ(e["verdict"], "Pass")
      << e.dump(2) << "\n"
      << (*component(get_json(c, "/api/v1/readiness"), "event_bus")).dump(2);
  EXPECT_TRUE(e["during"][0]["held"].get<bool>()) << e.dump(2);
  EXPECT_LE(e["mttd_seconds"].get<double>(), 10.0);
  // After the drill the spool is empty again and events reach the stream: replayed, not lost.
  EXPECT_EQ(metric(c, "opsready_spool_pending"), 0);
  EXPECT_GT(metric(c, "opsready_spool_replayed_total"), 0);
  check_golden_evidence(d.port(), e["drill_id"].get<std::string>(),
                        std::filesystem::path(OPSREADY_TESTDATA) / "drills", "bus-outage");
  expect_clean_stop(d);
}

// Two replicas sharing one durable consumer (ordered: false) share the work: every event is
// taken by exactly one of them, none by both, none by neither.
TEST_F(DaemonNats, ReplicasSharingADurableTakeEachEventOnce) {
  ensure_stream();
  const std::string shared = "    durable: desk\n    ordered: false\n    batch: 1\n";
  Daemon a({"serve", "--config", config(shared, "replica-a").string()});
  Daemon b({"serve", "--config", config(shared, "replica-b").string()});
  auto ca = a.client();
  auto cb = b.client();
  Producer p(server_.url());
  ASSERT_TRUE(p.ok());
  constexpr int kMessages = 200;
  constexpr int kPerMessage = 10;
  for (int m = 0; m < kMessages; ++m) {
    std::string body;
    for (int i = 0; i < kPerMessage; ++i) {
      body += json{{"source", "load"}, {"payload", {{"m", m}, {"i", i}}}}.dump() + "\n";
    }
    ASSERT_TRUE(p.publish("opsready.events.telemetry.load.sample", body));
  }
  const std::string series = "opsready_events_unrouted_total{topic=\"telemetry.load.sample\"}";
  auto taken = [&](httplib::Client& c) { return std::max(0.0, metric(c, series)); };
  ASSERT_TRUE(eventually([&] { return taken(ca) + taken(cb) >= kMessages * kPerMessage; }))
      << taken(ca) << " + " << taken(cb);
  std::this_thread::sleep_for(500ms);  // room for a duplicate to show up, if there were one
  EXPECT_EQ(taken(ca) + taken(cb), kMessages * kPerMessage) << taken(ca) << " + " << taken(cb);
  expect_clean_stop(a);
  expect_clean_stop(b);
}

// Issue 16's "done when": three replicas on one PostgreSQL store and one JetStream stream. A
// producer publishes 100 000 events (snapshots of 50 components) on NATS while 10 000 alerts,
// one group each, are posted to every replica, as Prometheus sends to every Alertmanager (the
// standbys answer 503). The leader is kill -9ed mid-run and restarted (it comes back as a
// standby); the next leader is stopped gracefully. At the end every group was notified under one
// key, the only keys that arrived twice are resends after the kill (at most its
// delivery.max_in_flight), and the surviving replicas show the same readiness, the one the last
// events describe.
TEST_F(DaemonNats, ThreeReplicasLoseNoNotificationAndDoubleOnlyTheKilledLeadersInFlight) {
  ensure_stream();
  opsready::testing::PostgresServerProcess pg;
  std::string error;
  ASSERT_TRUE(pg.start(&error)) << error;
  ASSERT_TRUE(pg.create_database("desk", &error)) << error;
  Receivers rx;
  constexpr int kInFlight = 64;
  constexpr int kGroups = 10'000;
  constexpr int kEvents = 100'000;
  constexpr int kComponents = 50;
  const auto replica = [&](const std::string& name) {
    return config(
        "    durable: desk\n    ordered: false\n"
        "store:\n  postgres:\n    dsn: '" +
            pg.dsn("desk") + "'\nreplica:\n  name: " + name +
            "\n  claim_lease: 2s\n  claim_interval: 200ms\n"
            "ingest:\n  alerts:\n    flush_interval: 10ms\n"
            "delivery:\n  max_in_flight: " +
            std::to_string(kInFlight) +
            "\n  max_in_flight_per_receiver: " + std::to_string(kInFlight) +
            "\n  backoff_initial: 50ms\n  backoff_max: 500ms\n"
            // A receiver slowed by the machine's load answers late rather than being
            // retried, and a graceful stop waits for what is on the wire (10 s).
            "  timeout: 30s\nshutdown_timeout: 40s\n"
            "alerting:\n  route:\n    receiver: sink\n    group_by: [g]\n"
            "    group_wait: 0s\n    group_interval: 1s\n    repeat_interval: 1h\n"
            "  receivers:\n    - name: sink\n      webhook_configs:\n        - url: " +
            rx.url("sink") + "\n",
        name);
  };
  std::map<std::string, std::unique_ptr<Daemon>> replicas;
  std::mutex replicas_mu;  // the poster's reads against the main thread's kills and starts
  const auto start = [&](const std::string& name) {
    auto d = std::make_unique<Daemon>(
        std::vector<std::string>{"serve", "--config", replica(name).string()});
    std::lock_guard lock(replicas_mu);
    replicas[name] = std::move(d);
  };
  start("r1");  // leads: the first to ask
  start("r2");
  start("r3");

  // The producer: 100 000 snapshot events, 100 per message, the component's status cycling.
  std::atomic<bool> produced{false};
  std::map<std::string, std::string> last_status;  // written by the producer, read after join
  std::thread producer([&] {
    Producer p(server_.url());
    ASSERT_TRUE(p.ok());
    const char* statuses[] = {"ok", "warn", "ok", "fail", "ok"};
    // Each event carries its time, as a runtime's do: a message redelivered after the failover
    // (JetStream delivers at least once) is older than what the new leader already holds, and
    // the aggregator keeps the newer snapshot.
    const auto base = core::SystemClock::instance().now();
    for (int m = 0; m < kEvents / 100; ++m) {
      std::string body;
      for (int i = 0; i < 100; ++i) {
        const int n = m * 100 + i;
        const std::string c = "desk_" + std::to_string(n % kComponents);
        const std::string st = statuses[(n / kComponents) % 5];
        last_status[c] = st;
        body += json{{"source", "desk"},
                     {"time", core::format_rfc3339(base + std::chrono::microseconds(10 * n))},
                     {"payload", {{"component", c}, {"status", st}, {"summary", st}}}}
                    .dump() +
                "\n";
      }
      ASSERT_TRUE(p.publish("opsready.events.opsready.component.snapshot", body));
    }
    produced = true;
  });
  // The alerts: batches of 200 posted to every replica until one (the leader) takes them.
  std::atomic<int> posted_groups{0};
  std::atomic<bool> abandon{false};  // a failed assertion below: the poster gives up
  std::thread poster([&] {
    for (int start_g = 0; start_g < kGroups && !abandon; start_g += 200) {
      json batch = json::array();
      for (int g = start_g; g < start_g + 200; ++g) {
        batch.push_back({{"labels", {{"alertname", "Desk"}, {"g", std::to_string(g)}}},
                         {"endsAt", "2099-01-01T00:00:00Z"}});
      }
      const std::string body = batch.dump();
      for (bool taken = false; !taken && !abandon;) {
        std::vector<int> ports;
        {
          std::lock_guard lock(replicas_mu);
          for (const auto& [name, d] : replicas) {
            if (d) ports.push_back(d->port());
          }
        }
        for (const int port : ports) {
          httplib::Client c("127.0.0.1", port);
          c.set_connection_timeout(1s);
          c.set_read_timeout(10s);
          auto r = c.Post("/api/v2/alerts", body, "application/json");
          if (r && r->status == 200) taken = true;
        }
        if (!taken) std::this_thread::sleep_for(100ms);
      }
      posted_groups = start_g + 200;
    }
  });
  // Threads are joined however the test ends.
  struct Join {
    std::atomic<bool>& abandon;
    std::thread& a;
    std::thread& b;
    ~Join() {
      abandon = true;
      if (a.joinable()) a.join();
      if (b.joinable()) b.join();
    }
  } join{abandon, poster, producer};
  const auto& groups_received = distinct_g_labels;
  const auto leader = [&]() -> std::string {
    std::lock_guard lock(replicas_mu);
    for (const auto& [name, d] : replicas) {
      if (!d) continue;
      httplib::Client c("127.0.0.1", d->port());
      if (auto r = c.Get("/-/ready"); r && r->status == 200) return name;
    }
    return "";
  };

  // Mid-run: the leader dies (kill -9) and is restarted; it comes back as a standby.
  ASSERT_TRUE(rx.wait_for([&](const auto& rs) { return groups_received(rs) >= 3000; }, 120s));
  std::string killed = leader();
  ASSERT_EQ(killed, "r1");
  {
    std::unique_ptr<Daemon> d;
    {
      std::lock_guard lock(replicas_mu);
      d = std::move(replicas[killed]);
    }
    d->signal(SIGKILL);
    d->wait_exit(10s);
  }
  const auto killed_at = Clock::now();
  ASSERT_TRUE(eventually([&] { return !leader().empty(); }, 30s));
  const auto took_over_at = Clock::now();
  start(killed);
  // Later: the new leader stops gracefully (and stays down).
  ASSERT_TRUE(rx.wait_for([&](const auto& rs) { return groups_received(rs) >= 7000; }, 180s));
  const std::string stopped = leader();
  Clock::time_point stopped_at{};
  std::string stopped_log;
  ASSERT_FALSE(stopped.empty());
  {
    std::unique_ptr<Daemon> d;
    {
      std::lock_guard lock(replicas_mu);
      d = std::move(replicas[stopped]);
    }
    stopped_at = Clock::now();
    d->signal(SIGTERM);
    EXPECT_EQ(d->wait_exit(30s), 0) << d->log();
    stopped_log = d->log();
  }
  poster.join();
  producer.join();
  ASSERT_TRUE(rx.wait_for([&](const auto& rs) { return groups_received(rs) == kGroups; }, 180s))
      << "received " << groups_received(rx.all()) << " of " << kGroups;
  ASSERT_TRUE(produced);

  // Every group under exactly one key; the keys sent twice are the kill's resends.
  std::map<std::string, std::set<std::string>> keys_of_group;
  std::map<std::string, int> sends_of_key;
  for (const auto& r : rx.at("sink")) {
    ++sends_of_key[r.key];
    for (const auto& a : r.body["alerts"]) {
      if (a["labels"].contains("g"))
        keys_of_group[a["labels"]["g"].get<std::string>()].insert(r.key);
    }
  }
  EXPECT_EQ(keys_of_group.size(), static_cast<std::size_t>(kGroups));
  for (const auto& [g, keys] : keys_of_group) EXPECT_EQ(keys.size(), 1u) << "group " << g;
  std::size_t resends = 0;
  for (const auto& [key, n] : sends_of_key) {
    EXPECT_LE(n, 2) << key << [&] {
      std::string out;
      for (const auto& r : rx.at("sink")) {
        if (r.key == key) {
          out +=
              " " +
              std::to_string(
                  std::chrono::duration_cast<std::chrono::milliseconds>(r.at - killed_at).count());
        }
      }
      return out + " ms after the kill; stopped at " +
             std::to_string(
                 std::chrono::duration_cast<std::chrono::milliseconds>(stopped_at - killed_at)
                     .count());
    }();
    resends += static_cast<std::size_t>(n - 1);
  }
  EXPECT_LE(resends, static_cast<std::size_t>(kInFlight)) << [&] {
    // When each twice-sent key arrived, relative to the kill and to the graceful stop.
    std::map<std::string, std::vector<long>> at;
    for (const auto& r : rx.at("sink")) {
      if (sends_of_key[r.key] > 1) {
        at[r.key].push_back(
            std::chrono::duration_cast<std::chrono::milliseconds>(r.at - killed_at).count());
      }
    }
    std::string out =
        "stop at " +
        std::to_string(
            std::chrono::duration_cast<std::chrono::milliseconds>(stopped_at - killed_at).count()) +
        " ms after the kill; twice-sent keys (ms after the kill):";
    for (const auto& [k, ts] : at) {
      out += "\n  " + k.substr(0, 8) + ":";
      for (const long t : ts) out += " " + std::to_string(t);
    }
    return out;
  }();
  if (::testing::Test::HasFailure()) {
    std::cerr << "---- " << stopped << " (stopped) ----\n" << stopped_log;
    std::lock_guard lock(replicas_mu);
    for (const auto& [name, d] : replicas) {
      if (!d) continue;
      std::istringstream in(d->log());
      for (std::string line; std::getline(in, line);) {
        if (line.find("lead") != std::string::npos || line.find("claimed") != std::string::npos ||
            line.find("listening") != std::string::npos) {
          std::cerr << name << ": " << line << "\n";
        }
      }
    }
  }

  // The survivors agree on readiness, and it is what the last events said.
  const std::string last_leader = leader();
  ASSERT_FALSE(last_leader.empty());
  std::map<std::string, std::map<std::string, std::string>> seen;  // replica -> component -> status
  std::string refused;  // the last answer that was not a snapshot
  ASSERT_TRUE(eventually(
      [&] {
        seen.clear();
        std::lock_guard lock(replicas_mu);
        for (const auto& [name, d] : replicas) {
          if (!d) continue;
          httplib::Client c("127.0.0.1", d->port());
          auto r = c.Get("/api/v1/readiness");
          if (!r || r->status != 200) {
            refused = name + ": " +
                      (r ? std::to_string(r->status) + " " + r->body.substr(0, 300)
                         : httplib::to_string(r.error()));
            return false;
          }
          const json doc = json::parse(r->body);  // (iterating a temporary's member dangles)
          for (const auto& comp : doc["components"]) {
            const std::string n = comp["component"];
            if (n.starts_with("desk_")) seen[name][n] = comp["status"];
          }
        }
        return seen.size() == 2 && seen.begin()->second == last_status &&
               seen.rbegin()->second == last_status;
      },
      30s))
      << "readiness differs between the survivors or from the last events: " << [&] {
           std::string out;
           for (const auto& [name, comps] : seen) {
             out += name + ":";
             for (const auto& [c, st] : comps) {
               if (last_status[c] != st)
                 out += " " + c + "=" + st + "(want " + last_status[c] + ")";
             }
             out += " [" + std::to_string(comps.size()) + " components]\n";
           }
           return out + "replicas answering: " + std::to_string(seen.size()) + "; " + refused;
         }();
  std::cout
      << "[ replicas ] " << kEvents << " events, " << kGroups << " groups; leader " << killed
      << " killed, " << stopped << " stopped; new leader ready "
      << std::chrono::duration_cast<std::chrono::milliseconds>(took_over_at - killed_at).count()
      << " ms after the kill; " << rx.at("sink").size() << " requests, " << resends << " resends\n";
  std::lock_guard lock(replicas_mu);
  for (auto& [name, d] : replicas) {
    if (!d) continue;
    if (name == last_leader) {
      expect_clean_stop(*d);
    } else {
      d->signal(SIGTERM);
      EXPECT_EQ(d->wait_exit(20s), 0) << d->log();
    }
  }
}

// No NATS server at all: opsready serves anyway, says so in readiness, keeps its own events
// in the spool, and still stops cleanly (the stop must reach loops busy with the bus).
TEST_F(DaemonNats, StartsWithoutAReachableServerAndStopsCleanly) {
  const int nobody = nats_testing::free_loopback_port();
  const auto path = dir_.path() / "unreachable.yml";
  write_file(path, "listen: 127.0.0.1:0\ndata_dir: " + (dir_.path() / "data").string() +
                       "\nbus:\n  retry_interval: 50ms\n  health_interval: 100ms\n  nats:\n"
                       "    servers: [nats://127.0.0.1:" +
                       std::to_string(nobody) + "]\n");
  for (int round = 0; round < 3; ++round) {
    Daemon d({"serve", "--config", path.string()});
    auto c = d.client();
    json r;
    ASSERT_TRUE(eventually([&] {
      r = get_json(c, "/api/v1/readiness");
      const json* bus = component(r, "event_bus");
      return bus != nullptr && (*bus)["status"] == "fail" &&
             metric(c, "opsready_spool_pending") > 0;
    })) << r.dump(2);
    // The spool outlives the process: later rounds find the earlier rounds' events in it.
    EXPECT_NE(d.log().find(round == 0 ? "spooling events to"
                                      : "from an earlier run; they will "
                                        "be replayed before new events"),
              std::string::npos)
        << d.log();
    expect_clean_stop(d);
  }
}

}  // namespace
}  // namespace opsready::testing
