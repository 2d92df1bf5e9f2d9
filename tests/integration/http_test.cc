// The front door of `opsready serve` under hostile and crowded clients: half-sent requests,
// idle keep-alive connections, hundreds of server-sent-event streams and connection limits,
// while a well-behaved client keeps calling the API. Latencies are printed for comparison,
// never asserted (docs/performance.md has the measured figures).

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <regex>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness.h"
#include "tests/support/http_probe.h"

namespace opsready::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string kHealthy = "GET /-/healthy HTTP/1.1\r\nHost: opsready\r\n\r\n";

std::string one_event() {
  return ndjson_post("/api/v1/events",
                     json{{"topic", "opsready.component.snapshot"},
                          {"source", "probe"},
                          {"payload", {{"component", "probe"}, {"status", "ok"}, {"summary", "x"}}}}
                             .dump() +
                         "\n");
}

void print(const char* what, const LatencyStats& s) {
  std::printf("  %-44s n=%zu errors=%zu p50=%.0fus p99=%.0fus max=%.0fus\n", what, s.count,
              s.errors, s.p50_us, s.p99_us, s.max_us);
}

// The value of one sample line of /metrics, e.g. `opsready_http_streams_open`, or -1.
double metric(Daemon& d, const std::string& series) {
  auto c = d.client();
  auto res = c.Get("/metrics");
  if (!res) return -1;
  std::smatch m;
  const std::regex line("(^|\n)" + std::regex_replace(series, std::regex(R"([{}"\\])"), R"(\$&)") +
                        " ([0-9.e+]+)");
  if (!std::regex_search(res->body, m, line)) return -1;
  return std::stod(m[2]);
}

// Polls `pred` every 20 ms until it holds or `limit` passes.
template <class Pred>
bool eventually(Pred pred, milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return pred();
}

class HttpFrontDoor : public ::testing::Test {
 protected:
  // `http` is the body of the config's http: section.
  std::unique_ptr<Daemon> start(const std::string& http) {
    write_file(
        dir_.path() / "opsready.yml",
        "listen: 127.0.0.1:0\ndata_dir: " + (dir_.path() / "data").string() + "\nhttp:\n" + http);
    return std::make_unique<Daemon>(
        std::vector<std::string>{"serve", "--config", (dir_.path() / "opsready.yml").string()});
  }
  TempDir dir_;
};

TEST_F(HttpFrontDoor, SlowAndIdleConnectionsDoNotStallOtherClients) {
  auto d = start("  header_timeout: 3s\n  idle_timeout: 10m\n  max_connections_per_client: 4096\n");
  const int port = d->port();

  const LatencyStats healthy_alone = measure_requests(port, kHealthy, 2000);
  const LatencyStats events_alone = measure_requests(port, one_event(), 1000);

  HeldConnections half;
  HeldConnections idle;
  ASSERT_EQ(half.open(port, 500, HoldMode::kHalfRequest), "");
  ASSERT_EQ(idle.open(port, 500, HoldMode::kIdleKeepAlive), "");
  EXPECT_GE(metric(*d, "opsready_http_connections_open"), 1000);

  const LatencyStats healthy_held = measure_requests(port, kHealthy, 2000);
  const LatencyStats events_held = measure_requests(port, one_event(), 1000);
  std::printf("GET /-/healthy and POST /api/v1/events, one client, closed loop:\n");
  print("GET /-/healthy, nothing else open", healthy_alone);
  print("GET /-/healthy, 500 half + 500 idle open", healthy_held);
  print("POST /api/v1/events, nothing else open", events_alone);
  print("POST /api/v1/events, 500 half + 500 idle open", events_held);
  EXPECT_EQ(healthy_alone.errors + healthy_held.errors, 0u);
  EXPECT_EQ(events_alone.errors + events_held.errors, 0u);
  EXPECT_EQ(healthy_held.count, 2000u);
  EXPECT_EQ(events_held.count, 1000u);

  // The half-sent requests end at the header deadline; the idle ones are within idle_timeout.
  ASSERT_TRUE(eventually([&] { return half.closed_count() == 500; }, seconds(15)))
      << half.closed_count() << " of 500 closed\n"
      << d->log();
  EXPECT_EQ(idle.closed_count(), 0u);
  const auto times = half.close_times();
  ASSERT_EQ(times.size(), 500u);
  for (const auto& t : times) EXPECT_LT(t, seconds(5));  // 3 s deadline, swept every 250 ms
  EXPECT_EQ(metric(*d, R"(opsready_http_connections_closed_total{reason="header_timeout"})"), 500);
  EXPECT_EQ(metric(*d, R"(opsready_http_connections_closed_total{reason="idle_timeout"})"), 0);

  // A graceful stop closes the idle connections at once and exits 0.
  d->signal(SIGTERM);
  const auto code = d->wait_exit(seconds(10));
  ASSERT_TRUE(code.has_value()) << d->log();
  EXPECT_EQ(*code, 0) << d->log();
  EXPECT_TRUE(eventually([&] { return idle.closed_count() == 500; }, seconds(5)));
}

TEST_F(HttpFrontDoor, FiveHundredEventStreamsEachGetEveryChangeAndTheApiStillAnswers) {
  auto d = start("  max_connections_per_client: 4096\n");
  const int port = d->port();
  SseClients streams;
  ASSERT_EQ(streams.open(port, "/api/v1/readiness/stream", 500), "");
  // Each stream starts with the current snapshot.
  ASSERT_TRUE(streams.wait_until_each_has(1, seconds(15))) << "fewest: " << streams.min_events();
  EXPECT_EQ(streams.failed_count(), 0u);
  EXPECT_EQ(metric(*d, "opsready_http_streams_open"), 500);

  // A change of readiness (a component turning fail) reaches every stream.
  auto c = d->client();
  const json event = {{"topic", "opsready.component.snapshot"},
                      {"source", "test"},
                      {"payload", {{"component", "fix_gateway"}, {"status", "fail"}}}};
  ASSERT_EQ(c.Post("/api/v1/events", event.dump(), "application/json")->status, 202);
  const LatencyStats during = measure_requests(port, kHealthy, 1000);
  print("GET /-/healthy with 500 streams open", during);
  EXPECT_EQ(during.errors, 0u);
  ASSERT_TRUE(streams.wait_until_each_has(2, seconds(15))) << "fewest: " << streams.min_events();
  EXPECT_EQ(streams.open_count(), 500u);
  EXPECT_EQ(c.Get("/api/v1/gate")->status, 200);

  // Stopping ends every stream and the daemon exits 0.
  d->signal(SIGTERM);
  const auto code = d->wait_exit(seconds(10));
  ASSERT_TRUE(code.has_value()) << d->log();
  EXPECT_EQ(*code, 0) << d->log();
  EXPECT_TRUE(eventually([&] { return streams.open_count() == 0; }, seconds(5)));
}

TEST_F(HttpFrontDoor, ConnectionLimitsRefuseAndCountTheRest) {
  auto d = start("  max_connections_per_client: 20\n");
  const int port = d->port();
  auto idle = std::make_unique<HeldConnections>();
  ASSERT_EQ(idle->open(port, 20, HoldMode::kIdleKeepAlive), "");
  // Connections beyond the 20th from this address are closed as soon as they are accepted.
  HeldConnections more;
  ASSERT_EQ(more.open(port, 5, HoldMode::kHalfRequest), "");
  ASSERT_TRUE(eventually([&] { return more.closed_count() == 5; }, seconds(5)));
  EXPECT_EQ(idle->closed_count(), 0u);
  // Reading /metrics needs a connection of its own: free the slots first.
  idle.reset();
  double refused = -1;
  ASSERT_TRUE(eventually(
      [&] {
        refused = metric(
            *d, R"(opsready_http_connections_closed_total{reason="max_connections_per_client"})");
        return refused >= 0;
      },
      seconds(5)));
  EXPECT_EQ(refused, 5);
}

TEST_F(HttpFrontDoor, AHeaderTrickledByteByByteIsClosedAtTheDeadline) {
  // One byte every 100 ms keeps an inactivity timer happy forever; the header deadline is not
  // reset by activity.
  auto d = start("  header_timeout: 1s\n");
  HeldConnections trickle;
  ASSERT_EQ(trickle.open(d->port(), 10, HoldMode::kTrickle, milliseconds(100)), "");
  ASSERT_TRUE(eventually([&] { return trickle.closed_count() == 10; }, seconds(10)));
  for (const auto& t : trickle.close_times()) EXPECT_LT(t, seconds(3));
  EXPECT_EQ(metric(*d, R"(opsready_http_connections_closed_total{reason="header_timeout"})"), 10);
}

}  // namespace
}  // namespace opsready::testing
