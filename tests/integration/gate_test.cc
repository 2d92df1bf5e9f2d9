// Automated gating against a running daemon (issue 15): `opsready gate --url` asks the daemon
// and `--wait` waits for the gate to pass, as a deploy pipeline does; every change of the gate
// is kept and listed at GET /api/v1/gate/history.

#include <chrono>
#include <future>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "harness.h"

namespace opsready::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

void post_status(const Daemon& d, const std::string& status) {
  auto c = d.client();
  auto r = c.Post("/api/v1/events",
                  R"({"topic":"opsready.component.snapshot","payload":{"component":"fix_gateway",)"
                  R"("status":")" +
                      status + R"("}})",
                  "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 202) << r->body;
}

std::string gate_of(const Daemon& d) {
  auto c = d.client();
  auto r = c.Get("/api/v1/gate");
  return r ? json::parse(r->body).value("decision", "") : "";
}

void wait_gate(const Daemon& d, const std::string& decision) {
  for (int i = 0; i < 200 && gate_of(d) != decision; ++i) std::this_thread::sleep_for(25ms);
  ASSERT_EQ(gate_of(d), decision);
}

TEST(Gate, AskedOfADaemonWaitsForItToPassAndEveryChangeIsKept) {
  TempDir data{"opsready-gate"};
  Daemon d({"serve", "--data-dir", data.path().string()});
  const std::string url = "http://127.0.0.1:" + std::to_string(d.port());
  post_status(d, "ok");
  wait_gate(d, "pass");
  auto r = run_opsready({"gate", "--url", url});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "gate: pass\n");

  post_status(d, "fail");
  wait_gate(d, "block");
  r = run_opsready({"gate", "--url", url, "--format", "json"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(json::parse(r.out)["decision"], "block");

  // A pipeline waits; the gateway recovers 1.5 s later; the wait ends with a pass.
  auto waiting = std::async(std::launch::async, [&] {
    return run_opsready({"gate", "--url", url, "--wait", "30s"});
  });
  std::this_thread::sleep_for(1500ms);
  post_status(d, "ok");
  r = waiting.get();
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("gate: block; waiting up to 30s"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "gate: pass\n");

  // A wait that runs out says so and exits with the decision's code.
  post_status(d, "fail");
  wait_gate(d, "block");
  r = run_opsready({"gate", "--url", url, "--wait", "1s"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("still block after --wait 1s"), std::string::npos) << r.err;

  auto c = d.client();
  auto h = c.Get("/api/v1/gate/history");
  ASSERT_TRUE(h);
  ASSERT_EQ(h->status, 200) << h->body;
  const json changes = json::parse(h->body)["changes"];
  std::vector<std::string> decisions;
  for (const auto& g : changes) decisions.push_back(g["decision"]);
  // The first evaluation (no component: warn), then pass, block, pass, block.
  const std::vector<std::string> want = {"warn", "pass", "block", "pass", "block"};
  EXPECT_EQ(decisions, want) << changes.dump(2);
  EXPECT_EQ(changes.back()["blocking_reasons"][0]["code"], "component_fix_gateway_fail");
  EXPECT_TRUE(changes.back().contains("at"));

  // Usage errors: --wait needs --url; --url excludes --from.
  EXPECT_EQ(run_opsready({"gate", "--wait", "1s"}).exit_code, 64);
  EXPECT_EQ(run_opsready({"gate", "--url", url, "--from", "x.json"}).exit_code, 64);
}

// Continuous validation: a scheduled command's report feeds system_validation; a failing
// schedule and a missed one are issues of continuous_validation, which the gate sees.
TEST(Gate, ScheduledValidationFeedsItsComponentAndAFailingScheduleIsAnIssue) {
  TempDir dir{"opsready-validation"};
  // The validator: a report stamped now, as the runtime's system-completeness validator prints.
  const auto report = dir.path() / "validate.sh";
  write_file(report,
             "printf '{\"timestamp\":\"%s\",\"validator\":\"System Completeness\","
             "\"total_checks\":2,\"results\":{\"core\":true,\"integration\":true},"
             "\"summary\":{\"status\":\"PASS\",\"message\":\"all good\"}}' "
             "\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"\n");
  const auto config = dir.path() / "opsready.yml";
  write_file(config,
             "listen: 127.0.0.1:0\n"
             "data_dir: " +
                 (dir.path() / "data").string() +
                 "\n"
                 "evaluation_interval: 100ms\n"
                 "validation:\n"
                 "  schedules:\n"
                 "    - name: completeness\n"
                 "      every: 1s\n"
                 "      command: sh '" +
                 report.string() +
                 "'\n"
                 "    - name: broken\n"
                 "      every: 1h\n"
                 "      command: echo 'validator crashed' >&2; exit 3\n"
                 "    - name: never\n"
                 "      every: 1s\n"
                 "      grace: 1s\n"
                 "      first_run_after: 1h\n"
                 "      command: 'true'\n");
  const auto checked = run_opsready({"check-config", config.string()});
  ASSERT_EQ(checked.exit_code, 0) << checked.err;
  Daemon d({"serve", "--config", config.string()});
  auto c = d.client();
  json cv, sv;
  for (int i = 0; i < 200; ++i) {
    const json r = json::parse(c.Get("/api/v1/readiness")->body);
    cv = sv = nullptr;
    for (const auto& comp : r["components"]) {
      if (comp["component"] == "continuous_validation") cv = comp;
      if (comp["component"] == "system_validation") sv = comp;
    }
    // `never` is missed once 2 s pass without a success.
    if (sv.is_object() && cv.is_object() && cv["status"] == "fail") break;
    std::this_thread::sleep_for(25ms);
  }
  ASSERT_TRUE(sv.is_object()) << "the scheduled report never reached system_validation";
  EXPECT_EQ(sv["status"], "ok") << sv.dump(2);
  ASSERT_TRUE(cv.is_object());
  EXPECT_EQ(cv["status"], "fail") << cv.dump(2);
  std::set<std::string> codes;
  std::string messages;
  for (const auto& i : cv["issues"]) {
    codes.insert(i["code"].get<std::string>());
    messages += i["message"].get<std::string>() + "\n";
  }
  EXPECT_TRUE(codes.contains("validation_run_failed")) << messages;
  EXPECT_TRUE(codes.contains("validation_run_missed")) << messages;
  EXPECT_NE(messages.find("broken failed its last run: 'echo 'validator crashed' >&2; exit 3' "
                          "exited with 3: validator crashed"),
            std::string::npos)
      << messages;
  EXPECT_NE(messages.find("never has had no successful run"), std::string::npos) << messages;
  EXPECT_EQ(json::parse(c.Get("/api/v1/gate")->body)["decision"], "block");
  const std::string m = c.Get("/metrics")->body;
  EXPECT_NE(m.find("opsready_validation_runs_total{schedule=\"broken\",result=\"failed\"} 1"),
            std::string::npos)
      << m.substr(0, 200);
  // A schedule needs exactly one of command and drill; a drill it names must exist.
  write_file(config,
             "validation:\n  schedules:\n    - {name: x, every: 1m}\n"
             "    - {name: y, every: 1m, drill: nope}\n");
  const auto bad = run_opsready({"check-config", config.string()});
  EXPECT_EQ(bad.exit_code, 65);
  EXPECT_NE(bad.err.find("'x' needs exactly one of command and drill"), std::string::npos)
      << bad.err;
  EXPECT_NE(bad.err.find("no drill scenario is named 'nope'"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace opsready::testing
