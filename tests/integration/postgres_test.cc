// `opsready serve` with store.postgres against a real PostgreSQL server the test starts
// (tests/support/postgres_server.h): the daemon's state lands in PostgreSQL and survives a
// restart of the daemon; a restart of PostgreSQL under load loses nothing: the daemon keeps
// ingesting, shows the store's trouble on readiness and /-/ready, and catches up.

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness.h"
#include "opsready/core/clock.h"
#include "opsready/store/store.h"
#include "tests/support/postgres_server.h"

namespace opsready::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

json snapshot_event(const std::string& component, const std::string& status) {
  return {{"topic", "opsready.component.snapshot"},
          {"source", "test"},
          {"payload", {{"component", component}, {"status", status}, {"summary", status}}}};
}

json readiness(httplib::Client& c) {
  auto res = c.Get("/api/v1/readiness");
  return res && res->status == 200 ? json::parse(res->body) : json();
}

std::string component_status(const json& r, const std::string& name) {
  if (!r.is_object()) return "";
  for (const auto& c : r["components"]) {
    if (c["component"] == name) return c["status"];
  }
  return "";
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

std::string config_for(const PostgresServerProcess& pg, const std::string& db,
                       const std::filesystem::path& data) {
  return "listen: 127.0.0.1:0\ndata_dir: " + data.string() + "\nstore:\n  postgres:\n    dsn: '" +
         pg.dsn(db) + "'\n    reconnect_backoff_max: 500ms\n";
}

// The snapshots the daemon stored for `component`, read back through the store itself.
std::size_t stored_snapshots(const PostgresServerProcess& pg, const std::string& db,
                             const std::string& component) {
  auto store = store::open_postgres_store({.dsn = pg.dsn(db)});
  if (!store) {
    ADD_FAILURE() << store.error().message;
    return 0;
  }
  auto rows = (*store)->component_history(component, core::TimePoint::min(), core::TimePoint::max(),
                                          1'000'000);
  EXPECT_TRUE(rows) << rows.error().message;
  return rows ? rows->size() : 0;
}

TEST(DaemonPostgres, StateLivesInPostgresAndSurvivesADaemonRestart) {
  PostgresServerProcess pg;
  std::string error;
  ASSERT_TRUE(pg.start(&error)) << error;
  ASSERT_TRUE(pg.create_database("opsready", &error)) << error;
  TempDir data;
  write_file(data.path() / "opsready.yml", config_for(pg, "opsready", data.path() / "data"));
  {
    Daemon d({"serve", "--config", (data.path() / "opsready.yml").string()});
    auto c = d.client();
    auto res = c.Post("/api/v1/events", json::array({snapshot_event("risk_engine", "warn")}).dump(),
                      "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 202);
    ASSERT_TRUE(
        eventually([&] { return component_status(readiness(c), "risk_engine") == "warn"; }, 10s));
    d.signal(SIGTERM);
    EXPECT_EQ(d.wait_exit(15s), 0) << d.log();
    EXPECT_NE(d.log().find("store: PostgreSQL"), std::string::npos) << d.log();
  }
  EXPECT_EQ(stored_snapshots(pg, "opsready", "risk_engine"), 1u);
  // No SQLite file: the store is PostgreSQL only.
  EXPECT_FALSE(std::filesystem::exists(data.path() / "data" / "opsready.db"));
  // A second daemon restores the component from PostgreSQL.
  Daemon again({"serve", "--config", (data.path() / "opsready.yml").string()});
  auto c = again.client();
  EXPECT_EQ(component_status(readiness(c), "risk_engine"), "warn") << again.log();
}

TEST(DaemonPostgres, APostgresRestartLosesNothingAndIsShownOnReadinessAndReady) {
  PostgresServerProcess pg;
  std::string error;
  ASSERT_TRUE(pg.start(&error)) << error;
  ASSERT_TRUE(pg.create_database("opsready", &error)) << error;
  TempDir data;
  write_file(data.path() / "opsready.yml", config_for(pg, "opsready", data.path() / "data"));
  Daemon d({"serve", "--config", (data.path() / "opsready.yml").string()});
  auto c = d.client();
  int posted = 0;
  const auto post = [&](const std::string& status) {
    auto res = c.Post("/api/v1/events", json::array({snapshot_event("fix_gateway", status)}).dump(),
                      "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 202) << res->body;
    ++posted;
    // Each must be evaluated on its own (the engine stores every change it applies).
    ASSERT_TRUE(
        eventually([&] { return component_status(readiness(c), "fix_gateway") == status; }, 10s));
  };
  post("ok");
  post("warn");
  pg.stop();
  // Ingest goes on while PostgreSQL is down, and readiness and /-/ready say the store fails.
  post("fail");
  post("ok");
  ASSERT_TRUE(eventually([&] { return component_status(readiness(c), "store") == "fail"; }, 10s))
      << readiness(c).dump(2);
  auto ready = c.Get("/-/ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  EXPECT_NE(ready->body.find("the store is fail"), std::string::npos) << ready->body;
  EXPECT_NE(readiness(c).dump().find("store_unavailable"), std::string::npos);

  ASSERT_TRUE(pg.start(&error)) << error;
  ASSERT_TRUE(eventually([&] { return component_status(readiness(c), "store") == "ok"; }, 20s))
      << readiness(c).dump(2) << d.log();
  EXPECT_TRUE(eventually([&] { return c.Get("/-/ready")->body == "OK\n"; }, 10s));
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(15s), 0) << d.log();
  EXPECT_NE(d.log().find("store: reachable again"), std::string::npos) << d.log();
  // Every change, including the two applied while PostgreSQL was down, is stored.
  EXPECT_EQ(stored_snapshots(pg, "opsready", "fix_gateway"), static_cast<std::size_t>(posted));
}

TEST(DaemonPostgres, AnUnreachableStoreAtStartExits69WithoutThePassword) {
  TempDir data;
  const int port = free_loopback_port();
  write_file(data.path() / "opsready.yml",
             "listen: 127.0.0.1:0\ndata_dir: " + (data.path() / "data").string() +
                 "\nstore:\n  postgres:\n    dsn_file: pg.dsn\n");
  write_file(data.path() / "pg.dsn", "host=127.0.0.1 port=" + std::to_string(port) +
                                         " dbname=opsready user=opsready password=hunter22\n");
  const auto r = run_opsready({"serve", "--config", (data.path() / "opsready.yml").string()});
  EXPECT_EQ(r.exit_code, 69) << r.err;
  EXPECT_NE(r.err.find("cannot connect to PostgreSQL"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("hunter22"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("hunter22"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace opsready::testing
