// Drills end to end (issue 15's "Done when"): the real daemon runs every scenario shipped in
// examples/drills/ against real local receivers (webhooks played by an HTTP server that records
// each request and when it arrived), with a FIX feed and the FIX gateway's snapshots posted by
// the test, and each passes; a scenario whose alert is routed away from its receiver fails, one
// whose abort condition holds is aborted, each restoring the system; a kill -9 during a drill
// leaves nothing injected after the restart. The times in the evidence are checked against
// the times the test itself saw, and the Markdown evidence of each shipped scenario against a
// golden file (tests/integration/testdata/drills/, times and ids replaced by placeholders).

#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "harness.h"
#include "opsready/core/time.h"
#include "tests/support/smtp_sink.h"

namespace opsready::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct Received {
  std::string path;
  json body;
  core::TimePoint at;  // wall clock, as opsready's records are
};

// Webhook receivers: one HTTP server, a path per receiver; every request recorded with its
// arrival time.
class Receivers {
 public:
  Receivers() {
    server_.Post(R"(/(\w+))", [this](const httplib::Request& q, httplib::Response& a) {
      {
        std::lock_guard lock(mu_);
        received_.push_back(
            {.path = q.matches[1],
             .body = json::parse(q.body, nullptr, false),
             .at = std::chrono::time_point_cast<core::Duration>(std::chrono::system_clock::now())});
      }
      a.status = 200;
      a.set_content("ok", "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(1ms);
  }
  ~Receivers() {
    server_.stop();
    thread_.join();
  }
  [[nodiscard]] std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/" + path;
  }
  // The first request at `path` carrying a firing alert with these labels, if any.
  [[nodiscard]] std::optional<Received> first(const std::string& path,
                                              const std::map<std::string, std::string>& labels) {
    std::lock_guard lock(mu_);
    for (const auto& r : received_) {
      if (r.path != path || !r.body.is_object()) continue;
      for (const auto& a : r.body.value("alerts", json::array())) {
        if (a.value("status", "") != "firing") continue;
        bool all = true;
        for (const auto& [k, v] : labels) all = all && a["labels"].value(k, "") == v;
        if (all) return r;
      }
    }
    return std::nullopt;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::vector<Received> received_;
};

core::TimePoint at(const json& j, const char* key) {
  return core::parse_rfc3339(j.at(key).get<std::string>()).value();
}

double ms_between(core::TimePoint a, core::TimePoint b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

class DrillsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    extra_ = dir_.path() / "scenarios";
    fs::create_directories(extra_);
    marker_ = dir_.path() / "fault-in-place";
  }
  void TearDown() override {
    feeding_ = false;
    if (feeder_.joinable()) feeder_.join();
  }

  fs::path write_config() {
    const fs::path file = dir_.path() / "opsready.yml";
    write_file(file,
               "listen: 127.0.0.1:0\n"
               "data_dir: " +
                   (dir_.path() / "data").string() +
                   "\n"
                   "evaluation_interval: 100ms\n"
                   "ingest:\n"
                   "  alerts: {flush_interval: 10ms}\n"
                   "  expected_sources:\n"
                   "    - {name: fix_session, topic: telemetry.fix.>, after: 2s}\n"
                   "delivery:\n"
                   "  backoff_initial: 100ms\n"
                   "  backoff_max: 500ms\n"
                   "  failing_after_attempts: 2\n"
                   "alerting:\n"
                   "  route:\n"
                   "    receiver: desk\n"
                   "    group_by: [alertname]\n"
                   "    group_wait: 0s\n"
                   "    group_interval: 1s\n"
                   "    repeat_interval: 1h\n"
                   "    routes:\n"
                   "      - matchers: ['alertname=\"OpsreadyNotificationFailing\"']\n"
                   "        receiver: fallback\n"
                   "      - matchers: ['alertname=\"OpsreadyWatchdog\"']\n"
                   "        receiver: desk\n"
                   "        repeat_interval: 2s\n"
                   "        continue: true\n"
                   "      - matchers: ['alertname=\"OpsreadyWatchdog\"']\n"
                   "        receiver: desk-email\n"
                   "        repeat_interval: 2s\n"
                   "  receivers:\n"
                   "    - name: desk\n"
                   "      webhook_configs: [{url: '" +
                   rx_.url("desk") +
                   "'}]\n"
                   "    - name: fallback\n"
                   "      webhook_configs: [{url: '" +
                   rx_.url("fallback") +
                   "'}]\n"
                   "    - name: desk-email\n"
                   "      email_configs: [{to: desk@desk.example, from: opsready@desk.example, "
                   "smarthost: '127.0.0.1:" +
                   std::to_string(smtp_.port()) +
                   "', require_tls: false}]\n"
                   "    - name: pager\n"
                   "      webhook_configs: [{url: '" +
                   rx_.url("pager") +
                   "'}]\n"
                   "drills:\n"
                   "  scenarios: ['" +
                   std::string(OPSREADY_EXAMPLES) + "/drills', '" + extra_.string() +
                   "']\n"
                   "  poll_interval: 50ms\n");
    return file;
  }

  // A scenario of the test's own, next to the shipped ones.
  void scenario(const std::string& name, const std::string& yaml) {
    write_file(extra_ / (name + ".yml"), "name: " + name + "\n" + yaml);
  }

  // The FIX feed (every 200 ms) and the gateway's first snapshot (ok).
  void start_feed(int port) {
    post_event(port, R"({"topic":"opsready.component.snapshot","source":"test",)"
                     R"("payload":{"component":"fix_gateway","status":"ok"}})");
    feeding_ = true;
    feeder_ = std::thread([this, port] {
      httplib::Client c("127.0.0.1", port);
      while (feeding_) {
        (void)c.Post("/api/v1/events", R"({"topic":"telemetry.fix.session","payload":{"up":1}})",
                     "application/json");
        std::this_thread::sleep_for(200ms);
      }
    });
  }

  static void post_event(int port, const std::string& body) {
    httplib::Client c("127.0.0.1", port);
    auto r = c.Post("/api/v1/events", body, "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 202) << r->body;
  }

  static json get_json(int port, const std::string& path) {
    httplib::Client c("127.0.0.1", port);
    auto r = c.Get(path);
    if (!r) return nullptr;
    return json::parse(r->body, nullptr, false);
  }

  // Waits until the alert with these labels fires (or not), as the API shows it.
  static bool wait_alert(int port, const std::string& filter, bool firing,
                         std::chrono::milliseconds limit = 15s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      const json alerts = get_json(port, "/api/v2/alerts?filter=" + filter);
      if (alerts.is_array() && (alerts.empty() != firing)) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  RunResult drill(int port, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"drill"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--url");
    argv.push_back("http://127.0.0.1:" + std::to_string(port));
    return run_opsready(argv);
  }

  // The newest run of `scenario`, as GET /api/v1/drills lists it, then its evidence.
  json evidence(int port, const std::string& scenario) {
    const json list = get_json(port, "/api/v1/drills?scenario=" + scenario + "&limit=1");
    if (!list.is_object() || list["runs"].empty()) return nullptr;
    return get_json(port, "/api/v1/drills/" + list["runs"][0]["drill_id"].get<std::string>());
  }

  void check_golden(int port, const json& e, const std::string& name) {
    check_golden_evidence(port, e["drill_id"].get<std::string>(),
                          fs::path(OPSREADY_TESTDATA) / "drills", name);
  }

  TempDir dir_{"opsready-drills"};
  test_support::SmtpSink smtp_{fs::path(OPSREADY_EXAMPLES).parent_path() /
                               "opsready/alerting/notify/testdata/smtp_sink.py"};
  fs::path extra_;
  fs::path marker_;
  Receivers rx_;
  std::atomic<bool> feeding_{false};
  std::thread feeder_;
};

TEST_F(DrillsTest, EveryShippedScenarioPassesAndItsTimesAreTheOnesTheTestSaw) {
  Daemon d({"serve", "--config", write_config().string()});
  start_feed(d.port());
  // The watchdog reaches the desk, and the feed is seen: the steady state of every scenario.
  ASSERT_TRUE(wait_alert(d.port(), "alertname=\"OpsreadyWatchdog\"", true));
  std::this_thread::sleep_for(500ms);

  // Every scenario shipped is run by a test: these four here, bus-outage against a real
  // nats-server (tests/integration/nats/daemon_nats_test.cc), store-read-only, responder-outage
  // and ingest-failover (with its sample results, ingest-results.json) below.
  std::set<std::string> shipped;
  for (const auto& f : fs::directory_iterator(fs::path(OPSREADY_EXAMPLES) / "drills")) {
    shipped.insert(f.path().stem().string());
  }
  EXPECT_EQ(shipped,
            (std::set<std::string>{"webhook-outage", "email-outage", "feed-stall",
                                   "fix-session-drop", "bus-outage", "store-read-only",
                                   "responder-outage", "ingest-failover", "ingest-results"}));
  const auto list = drill(d.port(), {"list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  for (const char* name : {"webhook-outage", "feed-stall", "fix-session-drop"}) {
    EXPECT_NE(list.out.find(name), std::string::npos) << list.out;
  }
  const auto dry = drill(d.port(), {"run", "webhook-outage", "--dry-run"});
  EXPECT_EQ(dry.exit_code, 0) << dry.out << dry.err;
  EXPECT_NE(dry.out.find("Would run: yes"), std::string::npos) << dry.out;

  // webhook-outage: the fallback hears of the failing desk; the responder acks.
  auto r = drill(d.port(), {"run", "webhook-outage", "--wait", "2m"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << d.log();
  json e = evidence(d.port(), "webhook-outage");
  ASSERT_TRUE(e.is_object());
  EXPECT_EQ(e["verdict"], "Pass") << e.dump(2);
  const auto seen = rx_.first(
      "fallback",
      {{"alertname", "OpsreadyNotificationFailing"}, {"receiver", "desk"}, {"drill", "true"}});
  ASSERT_TRUE(seen) << "the fallback never got the drill's OpsreadyNotificationFailing";
  // opsready's record of the notification (the receiver's answer) and the test's own
  // observation of its arrival: the same moment, within the answer's trip back (generous for a
  // loaded CI machine).
  EXPECT_LT(std::abs(ms_between(seen->at, at(e["notified_at"], "fallback"))), 500.0) << e.dump(2);
  EXPECT_LE(at(e, "injected_at"), at(e, "detected_at"));
  EXPECT_LE(at(e, "detected_at"), at(e["notified_at"], "fallback"));
  // The responder acks ack_after (1 s) after the first notification, at a poll (50 ms).
  const double mtta_ms = e["mtta_seconds"].get<double>() * 1000;
  EXPECT_GE(mtta_ms, 1000.0) << e.dump(2);
  EXPECT_LT(mtta_ms, 1000.0 + 1000.0) << e.dump(2);
  EXPECT_EQ(e["acked_by"], "drill-responder");
  EXPECT_NEAR(e["mttd_seconds"].get<double>(),
              ms_between(at(e, "injected_at"), at(e, "detected_at")) / 1000, 0.0011);
  EXPECT_NEAR(e["mttr_seconds"].get<double>(),
              ms_between(at(e, "injected_at"), at(e, "recovered_at")) / 1000, 0.0011);
  EXPECT_GE(at(e, "recovered_at"), at(e, "restored_at"));
  check_golden(d.port(), e, "webhook-outage");

  // email-outage: the same over real SMTP (aiosmtpd); the held-back mail arrives after it.
  ASSERT_TRUE(smtp_.running());
  const std::size_t mails_before = smtp_.messages().size();
  EXPECT_GT(mails_before, 0u) << "the watchdog's mail never reached the relay";
  r = drill(d.port(), {"run", "email-outage", "--wait", "2m"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << d.log();
  e = evidence(d.port(), "email-outage");
  EXPECT_EQ(e["verdict"], "Pass") << e.dump(2);
  EXPECT_TRUE(e["during"][0]["held"].get<bool>()) << e.dump(2);
  ASSERT_TRUE(rx_.first(
      "fallback", {{"alertname", "OpsreadyNotificationFailing"}, {"receiver", "desk-email"}}));
  EXPECT_GT(smtp_.messages().size(), mails_before);
  check_golden(d.port(), e, "email-outage");

  // feed-stall: within the source's 2 s + one evaluation (100 ms) + the poll.
  r = drill(d.port(), {"run", "feed-stall", "--wait", "2m"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << d.log();
  e = evidence(d.port(), "feed-stall");
  EXPECT_EQ(e["verdict"], "Pass") << e.dump(2);
  EXPECT_LT(e["mttd_seconds"].get<double>(), 2.0 + 1.0) << e.dump(2);
  ASSERT_TRUE(
      rx_.first("desk", {{"alertname", "OpsreadyTelemetryAbsent"}, {"source", "fix_session"}}));
  check_golden(d.port(), e, "feed-stall");

  // fix-session-drop: a command fault; its alert carries drill="true".
  r = drill(d.port(), {"run", "fix-session-drop", "--wait", "2m"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << d.log();
  e = evidence(d.port(), "fix-session-drop");
  EXPECT_EQ(e["verdict"], "Pass") << e.dump(2);
  EXPECT_EQ(e["alert"]["labels"]["drill"], "true");
  check_golden(d.port(), e, "fix-session-drop");

  // Restored: the gateway is ok again, and the metrics count the runs.
  const json ready = get_json(d.port(), "/api/v1/readiness");
  for (const auto& c : ready["components"]) {
    if (c["component"] == "fix_gateway") {
      EXPECT_EQ(c["status"], "ok");
    }
  }
  httplib::Client c("127.0.0.1", d.port());
  const auto m = c.Get("/metrics");
  ASSERT_TRUE(m);
  for (const char* name : {"webhook-outage", "email-outage", "feed-stall", "fix-session-drop"}) {
    EXPECT_NE(m->body.find("opsready_drill_runs_total{scenario=\"" + std::string(name) +
                           "\",verdict=\"Pass\"} 1"),
              std::string::npos)
        << name;
  }
  EXPECT_NE(m->body.find("opsready_drill_running 0"), std::string::npos);
}

TEST_F(DrillsTest, AnAlertRoutedAwayFailsAnAbortConditionAbortsAndBothRestore) {
  const std::string fault =
      "fault:\n"
      "  kind: command\n"
      "  run: >-\n"
      "    curl -fsS -X POST \"$OPSREADY_URL/api/v1/events\" -d "
      "'{\"topic\":\"opsready.component.snapshot\",\"payload\":{\"component\":\"fix_gateway\","
      "\"status\":\"fail\"}}'\n"
      "  undo: >-\n"
      "    curl -fsS -X POST \"$OPSREADY_URL/api/v1/events\" -d "
      "'{\"topic\":\"opsready.component.snapshot\",\"payload\":{\"component\":\"fix_gateway\","
      "\"status\":\"ok\"}}'\n"
      "  duration: 2s\n";
  scenario("routed-nowhere",
           "hypothesis: The FIX gateway failing pages the pager.\n"
           "steady_state:\n  - component: {name: fix_gateway, at_most: ok}\n" +
               fault +
               "expect:\n"
               "  alert: 'alertname=\"OpsreadyComponentNotOk\", component=\"fix_gateway\"'\n"
               "  receiver: pager\n"
               "  within: 5s\n"
               "recovery: {within: 20s}\n");
  scenario("abort-on-fail",
           "hypothesis: A gateway failure is survivable.\n"
           "steady_state:\n  - component: {name: fix_gateway, at_most: ok}\n" +
               fault +
               "abort_if:\n  - component: {name: fix_gateway, at_least: fail}\n"
               "recovery: {within: 20s}\n");
  Daemon d({"serve", "--config", write_config().string()});
  start_feed(d.port());
  std::this_thread::sleep_for(500ms);

  auto r = drill(d.port(), {"run", "routed-nowhere", "--wait", "1m"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  json e = evidence(d.port(), "routed-nowhere");
  EXPECT_EQ(e["verdict"], "Fail");
  EXPECT_EQ(e["failed_step"], "notify");
  EXPECT_NE(e["detected_at"], nullptr);  // it fired, at the desk: not where it was expected
  EXPECT_TRUE(e["notified_at"].contains("desk")) << e.dump(2);
  EXPECT_NE(e["recovered_at"], nullptr);

  r = drill(d.port(), {"run", "abort-on-fail", "--wait", "1m"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  e = evidence(d.port(), "abort-on-fail");
  EXPECT_EQ(e["verdict"], "Aborted");
  EXPECT_NE(e["abort_reason"].get<std::string>().find("fix_gateway at least fail"),
            std::string::npos);
  // Restored at once: well before the fault's 2 s.
  EXPECT_LT(ms_between(at(e, "injected_at"), at(e, "restored_at")), 2000.0) << e.dump(2);
  EXPECT_NE(e["recovered_at"], nullptr);

  // The gate blocks: a drill does not start unless forced.
  post_event(d.port(), R"({"topic":"opsready.component.snapshot","payload":)"
                       R"({"component":"risk","status":"fail"}})");
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline &&
         get_json(d.port(), "/api/v1/gate").value("decision", "") != "block") {
    std::this_thread::sleep_for(50ms);
  }
  r = drill(d.port(), {"run", "abort-on-fail"});
  EXPECT_EQ(r.exit_code, 65) << r.out << r.err;
  EXPECT_NE(r.err.find("the gate blocks"), std::string::npos) << r.err;
}

// task_crash: a supervised task of the drill's own fails 4 times (within its supervisor's
// intensity of 5): the restart storm is detected from the supervision tree, the task is
// restarted each time and runs, and the tree is clean again once the drill ends.
TEST_F(DrillsTest, ATaskCrashLoopIsDetectedRestartedAndLeavesTheTreeClean) {
  scenario("crash-loop",
           "hypothesis: A task failing 4 times trips restart_storm and is restarted each time.\n"
           "steady_state:\n  - component: {name: task_supervision, at_most: ok}\n"
           "fault: {kind: task_crash, failures: 4, intensity: 5, period: 30s, duration: 8s}\n"
           "expect:\n  alert: '{alertname=\"OpsreadyIssue\", component=\"task_supervision\", "
           "issue=\"restart_storm\"}'\n  within: 10s\n"
           "during:\n  - metric: {name: opsready_supervisor_restarts_total, labels: "
           "'task=~\"opsready/drill-crash-loop/.*\"', at_least: 3}\n"
           "recovery: {within: 30s, alert_resolved: false}\n");
  scenario("crash-escalates",
           "hypothesis: A task failing beyond its supervisor's intensity escalates, and it is "
           "seen.\n"
           "steady_state:\n  - component: {name: task_supervision, at_most: warn}\n"
           "fault: {kind: task_crash, failures: 20, intensity: 2, period: 30s, duration: 3s}\n"
           "expect:\n  alert: '{alertname=\"OpsreadyIssue\", component=\"task_supervision\", "
           "issue=\"supervisor_failed\"}'\n  within: 5s\n"
           "recovery: {within: 30s}\n");
  Daemon d({"serve", "--config", write_config().string()});
  start_feed(d.port());
  ASSERT_TRUE(wait_alert(d.port(), "alertname=\"OpsreadyWatchdog\"", true));
  const auto r = drill(d.port(), {"run", "crash-loop", "--wait", "2m"});
  const json e = evidence(d.port(), "crash-loop");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(e["verdict"], "Pass") << e.dump(2);
  EXPECT_EQ(d.log().find("restart intensity exceeded"), std::string::npos) << d.log();
  bool drill_task_left = false;
  for (const auto& t : get_json(d.port(), "/api/v1/supervision")["tasks"]) {
    drill_task_left |= t.value("path", "").find("drill-crash-loop") != std::string::npos;
  }
  EXPECT_FALSE(drill_task_left);

  // More failures than the intensity: the drill's supervisor fails and escalates to the root,
  // which does not restart it (temporary); supervisor_failed is graded at once, though the
  // supervisor leaves the tree before the next 5 s sample, and clears after it.
  const auto r2 = drill(d.port(), {"run", "crash-escalates", "--wait", "2m"});
  const json e2 = evidence(d.port(), "crash-escalates");
  EXPECT_EQ(r2.exit_code, 0) << r2.out << r2.err << d.log();
  EXPECT_EQ(e2["verdict"], "Pass") << e2.dump(2);
  EXPECT_NE(e2["alert"]["labels"].value("issue", ""), "") << e2.dump(2);
  EXPECT_NE(d.log().find("opsready/drill-crash-escalates"), std::string::npos) << d.log();
  const json ready = get_json(d.port(), "/api/v1/readiness");
  for (const auto& c : ready["components"]) {
    if (c["component"] == "task_supervision") {
      EXPECT_NE(c["status"], "fail") << c.dump(2);  // the root was not taken down
    }
  }
}

// store-read-only, responder-outage and ingest-failover (the store fault, the spec's §5.3 chaos
// events and its §6 failover drill with a real fallback command), as shipped, each to a Pass;
// then an ingest failover whose fallback fails, which fails failover_drill and pages.
TEST_F(DrillsTest, StoreFaultChaosEventsAndIngestFailoverPass) {
  const fs::path fallback_marker = dir_.path() / "fallback-ran";
  const fs::path primary_marker = dir_.path() / "primary-back";
  ::setenv("OPSREADY_INGEST_FALLBACK",
           ("echo \"$OPSREADY_DRILL_DIMENSIONS|$OPSREADY_DRILL_SCENARIO\" > '" +
            fallback_marker.string() + "'")
               .c_str(),
           1);
  ::setenv("OPSREADY_INGEST_PRIMARY", ("touch '" + primary_marker.string() + "'").c_str(), 1);
  scenario("failing-fallback",
           "hypothesis: A fallback that fails is caught, failover_drill fails and pages.\n"
           "fault:\n  kind: ingest_failover\n  results_file: '" +
               (fs::path(OPSREADY_EXAMPLES) / "drills" / "ingest-results.json").string() +
               "'\n  dimensions: [daily]\n  fallback: 'echo no replica >&2; exit 3'\n"
               "  duration: 1s\n"
               "expect:\n  alert: '{alertname=\"OpsreadyComponentNotOk\", "
               "component=\"failover_drill\"}'\n  receiver: desk\n  within: 5s\n"
               "recovery: {within: 10s, alert_resolved: false}\n");
  Daemon d({"serve", "--config", write_config().string()});
  ::unsetenv("OPSREADY_INGEST_FALLBACK");
  ::unsetenv("OPSREADY_INGEST_PRIMARY");
  start_feed(d.port());
  ASSERT_TRUE(wait_alert(d.port(), "alertname=\"OpsreadyWatchdog\"", true));

  // store-read-only: while the store refuses writes a posted alert is answered 503 (not lost:
  // kept for the next flush), the store component pages the desk, and all of it clears.
  std::atomic<bool> refused{false};
  std::thread poster([&] {
    httplib::Client c("127.0.0.1", d.port());
    const auto until = std::chrono::steady_clock::now() + 20s;
    while (!refused && std::chrono::steady_clock::now() < until) {
      auto r =
          c.Post("/api/v2/alerts", R"([{"labels":{"alertname":"HeldThroughTheFault","job":"t"}}])",
                 "application/json");
      if (r && r->status == 503) refused = true;
      std::this_thread::sleep_for(100ms);
    }
  });
  auto r = drill(d.port(), {"run", "store-read-only", "--wait", "2m"});
  poster.join();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << d.log();
  json e = evidence(d.port(), "store-read-only");
  EXPECT_EQ(e["verdict"], "Pass") << e.dump(2);
  EXPECT_TRUE(refused) << "no POST /api/v2/alerts was refused while the store was read-only";
  ASSERT_TRUE(rx_.first("desk", {{"alertname", "OpsreadyComponentNotOk"}, {"component", "store"}}));
  EXPECT_TRUE(e["during"][0]["held"].get<bool>()) << e.dump(2);
  EXPECT_NE(d.log().find("readonly database"), std::string::npos);
  json store_component;
  const json readiness = get_json(d.port(), "/api/v1/readiness");
  for (const auto& c : readiness["components"]) {
    if (c["component"] == "store") store_component = c;
  }
  ASSERT_TRUE(store_component.is_object()) << readiness.dump(2);
  EXPECT_EQ(store_component["status"], "ok") << store_component.dump(2);
  EXPECT_GT(store_component["metadata"]["failed_writes"].get<int>(), 0);
  // The refused alert was kept and written once the store took writes again.
  EXPECT_FALSE(
      get_json(d.port(), "/api/v2/alerts?filter=alertname%3D%22HeldThroughTheFault%22").empty());
  check_golden(d.port(), e, "store-read-only");

  // responder-outage: needs incident_response's state, from a structured document.
  post_event(d.port(),
             R"({"topic":"telemetry.operational.incident_response","source":"test","payload":)"
             R"({"policy":{"required_runbooks":["fix_restart"],"maximum_open_incidents":2},)"
             R"("state":{"available_runbooks":["fix_restart"],"training_age_days":5,)"
             R"("drill_age_days":5,"primary_oncall":["alice"],"secondary_oncall":["bob"],)"
             R"("open_incidents":[],"postmortem_backlog_hours":0,"chatops_ready":true}}})");
  r = drill(d.port(), {"run", "responder-outage", "--wait", "2m"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << d.log();
  e = evidence(d.port(), "responder-outage");
  EXPECT_EQ(e["verdict"], "Pass") << e.dump(2);
  const json& chaos = e["fault_report"]["chaos_events"];
  ASSERT_EQ(chaos.size(), 3u) << e.dump(2);
  EXPECT_EQ(chaos[0]["impact"]["removed_primary"], json({"alice"}));
  EXPECT_EQ(chaos[1]["impact"]["removed_runbooks"], json({"fix_restart"}));
  EXPECT_EQ(chaos[2]["impact"]["added_incidents"],
            json({"incident_surge-001", "incident_surge-002", "incident_surge-003"}));
  EXPECT_EQ(e["alert"]["labels"]["drill"], "true");
  EXPECT_EQ(e["acked_by"], "drill-responder");
  for (const auto& c : get_json(d.port(), "/api/v1/readiness")["components"]) {
    if (c["component"] == "incident_response") {
      EXPECT_EQ(c["status"], "ok") << c.dump(2);
      EXPECT_FALSE(c["metadata"].contains("chaos_events"));
    }
  }
  check_golden(d.port(), e, "responder-outage");

  // ingest-failover: the fallback (OPSREADY_INGEST_FALLBACK) really ran, with the dimensions.
  r = drill(d.port(), {"run", "ingest-failover", "--wait", "2m"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << d.log();
  e = evidence(d.port(), "ingest-failover");
  EXPECT_EQ(e["verdict"], "Pass") << e.dump(2);
  EXPECT_EQ(read_file(fallback_marker), "daily_bars|ingest-failover\n");
  EXPECT_TRUE(fs::exists(primary_marker)) << "the undo did not run";
  EXPECT_EQ(e["fault_report"]["status"], "ok") << e.dump(2);
  EXPECT_EQ(e["fault_report"]["failover_decision"]["should_failover"], true);
  EXPECT_EQ(e["fault_report"]["metadata"]["fallback"],
            json({{"executed", true}, {"error", nullptr}}))
      << e["fault_report"].dump(2);
  check_golden(d.port(), e, "ingest-failover");

  // A fallback that fails: failover_drill fails with its error and pages the desk.
  r = drill(d.port(), {"run", "failing-fallback", "--wait", "2m"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << d.log();
  e = evidence(d.port(), "failing-fallback");
  EXPECT_EQ(e["verdict"], "Pass") << e.dump(2);
  EXPECT_EQ(e["fault_report"]["status"], "fail");
  EXPECT_NE(
      e["fault_report"]["metadata"]["fallback"]["error"].get<std::string>().find("no replica"),
      std::string::npos)
      << e["fault_report"].dump(2);
  ASSERT_TRUE(rx_.first(
      "desk", {{"alertname", "OpsreadyComponentNotOk"}, {"component", "failover_drill"}}));
}

TEST_F(DrillsTest, AKillDuringADrillLeavesNothingInjectedAfterTheRestart) {
  scenario("long-command",
           "hypothesis: Nothing.\n"
           "fault:\n"
           "  kind: command\n"
           "  run: touch '" +
               marker_.string() +
               "'\n"
               "  undo: rm -f '" +
               marker_.string() +
               "'\n"
               "  duration: 1h\n");
  const fs::path config = write_config();
  std::string id;
  {
    Daemon d({"serve", "--config", config.string()});
    httplib::Client c("127.0.0.1", d.port());
    auto r = c.Post("/api/v1/drills", R"({"scenario":"long-command"})", "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 202) << r->body;
    id = json::parse(r->body)["drill_id"];
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!fs::exists(marker_) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(20ms);
    }
    ASSERT_TRUE(fs::exists(marker_)) << d.log();
    // A second drill is refused while this one runs.
    r = c.Post("/api/v1/drills", R"({"scenario":"feed-stall"})", "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 409) << r->body;
    d.signal(SIGKILL);
    (void)d.wait_exit(5s);
  }
  ASSERT_TRUE(fs::exists(marker_));  // the crash left it injected
  Daemon d({"serve", "--config", config.string()});
  EXPECT_FALSE(fs::exists(marker_)) << d.log();  // undone before the daemon listened
  const json e = get_json(d.port(), "/api/v1/drills/" + id);
  EXPECT_EQ(e["verdict"], "Aborted") << e.dump(2);
  EXPECT_NE(e["reason"].get<std::string>().find("at the restart"), std::string::npos);
  EXPECT_NE(e["finished_at"], nullptr);
  httplib::Client c("127.0.0.1", d.port());
  const auto m = c.Get("/api/v1/drills/" + id + "?format=markdown");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("- **Verdict:** Aborted"), std::string::npos) << m->body;
}

}  // namespace
}  // namespace opsready::testing
