// Automated gating against a running daemon (issue 15): `opsready gate --url` asks the daemon
// and `--wait` waits for the gate to pass, as a deploy pipeline does; every change of the gate
// is kept and listed at GET /api/v1/gate/history.

#include <chrono>
#include <future>
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

}  // namespace
}  // namespace opsready::testing
