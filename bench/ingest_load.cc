// ingest_load: HTTP load generator for opsready's ingest routes (issue 4), and for Prometheus
// Alertmanager with the same payloads, so the two can be compared in one run.
//
//   ingest_load events --target opsready=127.0.0.1:9477 --connections 4 --batch 1000
//       --duration 10 [--token T]
//   ingest_load alerts --target opsready=127.0.0.1:9477 --target alertmanager=127.0.0.1:9093
//       --connections 4 --batch 100 --distinct 1000 --duration 10
//   ingest_load ping --target opsready=127.0.0.1:9477 --target alertmanager=127.0.0.1:9093
//
// `events` posts NDJSON batches of numeric samples to POST /api/v1/events and counts the events
// accepted into the evaluation queue (202); a 429 (queue full) is counted, not retried.
// `alerts` posts Prometheus-shaped alert lists to POST /api/v2/alerts and counts the alerts
// accepted (2xx). `--distinct` label sets are cycled, as a Prometheus server re-sends the same
// firing alerts; every target gets byte-identical request bodies, one target after the other.
// `ping` sends GET /-/healthy (both servers have it): the rate of a route that does nothing,
// the ceiling of each server's HTTP stack for one small request per round trip.
//
// Each of N connections is a thread with one keep-alive socket, sending the next request when
// the previous response has been read (closed loop). A run stops at --duration seconds or after
// --requests requests in total, whichever comes first. Loopback targets only.
//
// Not a Google Benchmark program (it measures a server in another process); its name keeps it
// out of bench/CMakeLists.txt's *_bench.cc glob.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "load_net.h"
#include "opsready/core/clock.h"
#include "opsready/core/time.h"

namespace {

using Clock = std::chrono::steady_clock;
using opsready::bench::net::connect_to;
using opsready::bench::net::parse_target;
using opsready::bench::net::read_response;
using opsready::bench::net::send_all;
using opsready::bench::net::Target;

struct Options {
  std::string mode;
  std::vector<Target> targets;
  int connections = 4;
  int batch = 1000;
  int distinct = 1000;
  double duration_s = 10;
  std::uint64_t max_requests = UINT64_MAX;
  std::string token;
};

struct Tally {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> accepted_items{0};
  std::atomic<std::uint64_t> ok{0};
  std::atomic<std::uint64_t> throttled{0};  // 429
  std::atomic<std::uint64_t> failed{0};     // any other status, or a broken connection
  std::atomic<std::uint64_t> budget{0};     // requests handed out so far
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "ingest_load: " << why
            << "\nusage: ingest_load events|alerts|ping --target NAME=127.0.0.1:PORT [--target ...]"
               " [--connections N] [--batch N] [--distinct N] [--duration SECONDS]"
               " [--requests N] [--token TOKEN]\n";
  std::exit(64);
}

Options parse_args(int argc, char** argv) {
  Options o;
  if (argc < 2) usage("missing mode");
  o.mode = argv[1];
  if (o.mode != "events" && o.mode != "alerts" && o.mode != "ping") {
    usage("mode must be events, alerts or ping");
  }
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) usage("missing value for " + a);
    const std::string v = argv[++i];
    if (a == "--target") {
      auto t = parse_target(v);
      if (auto* why = std::get_if<std::string>(&t)) usage(*why);
      o.targets.push_back(std::get<Target>(t));
    } else if (a == "--connections") {
      o.connections = std::stoi(v);
    } else if (a == "--batch") {
      o.batch = std::stoi(v);
    } else if (a == "--distinct") {
      o.distinct = std::stoi(v);
    } else if (a == "--duration") {
      o.duration_s = std::stod(v);
    } else if (a == "--requests") {
      o.max_requests = std::stoull(v);
    } else if (a == "--token") {
      o.token = v;
    } else {
      usage("unknown option " + a);
    }
  }
  if (o.targets.empty()) usage("at least one --target");
  if (o.connections < 1 || o.batch < 1 || o.distinct < 1) usage("counts must be positive");
  return o;
}

// One NDJSON body of `batch` samples, as a trading runtime's exporter would send them.
std::string events_body(int batch) {
  std::string body;
  char line[256];
  for (int i = 0; i < batch; ++i) {
    std::snprintf(line, sizeof line,
                  R"({"topic":"telemetry.ingest.lag","source":"feed-%d","payload":)"
                  R"({"series":"ingest.lag_seconds","value":%d.25,"labels":{"venue":"XNAS"}}})"
                  "\n",
                  i % 16, i % 7);
    body += line;
  }
  return body;
}

// One request body per distinct window: alerts [k*batch, (k+1)*batch) mod distinct, shaped like
// Prometheus' notifier output (endsAt = now + 4 × resend delay while firing).
std::vector<std::string> alert_bodies(int batch, int distinct) {
  const auto now =
      std::chrono::time_point_cast<opsready::core::Duration>(std::chrono::system_clock::now());
  const std::string starts = opsready::core::format_rfc3339(now - std::chrono::minutes(1));
  const std::string ends = opsready::core::format_rfc3339(now + std::chrono::hours(1));
  const int bodies = std::max(1, (distinct + batch - 1) / batch);
  std::vector<std::string> out;
  char buf[1024];
  for (int b = 0; b < bodies; ++b) {
    std::string body = "[";
    for (int i = 0; i < batch; ++i) {
      const int n = (b * batch + i) % distinct;
      std::snprintf(
          buf, sizeof buf,
          R"(%s{"labels":{"alertname":"FixSessionDown","instance":"gw-%d:9100","job":"fix_gateway",)"
          R"("severity":"page","venue":"XNAS"},"annotations":{"summary":"FIX session down on gw-%d",)"
          R"("runbook_url":"https://runbooks.example/fix-session-down"},"startsAt":"%s",)"
          R"("endsAt":"%s","generatorURL":"http://prometheus:9090/graph?g0.expr=fix_session_up+%%3D%%3D+0&g0.tab=1"})",
          i ? "," : "", n, n, starts.c_str(), ends.c_str());
      body += buf;
    }
    body += "]";
    out.push_back(std::move(body));
  }
  return out;
}

std::string request(const Target& t, const std::string& path, const std::string& type,
                    const std::string& body, const std::string& token) {
  std::string r = "POST " + path + " HTTP/1.1\r\nHost: " + t.host + ":" + std::to_string(t.port) +
                  "\r\nContent-Type: " + type +
                  "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  if (!token.empty()) r += "Authorization: Bearer " + token + "\r\n";
  return r + "\r\n" + body;
}

std::string get_request(const Target& t, const std::string& path) {
  return "GET " + path + " HTTP/1.1\r\nHost: " + t.host + ":" + std::to_string(t.port) + "\r\n\r\n";
}

struct RunResult {
  double seconds = 0;
  std::uint64_t requests = 0, ok = 0, throttled = 0, failed = 0, items = 0;
};

RunResult run(const Options& o, const Target& t, const std::vector<std::string>& requests,
              std::uint64_t items_per_request) {
  Tally tally;
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(o.duration_s));
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < o.connections; ++c) {
    threads.emplace_back([&, c] {
      int fd = connect_to(t);
      std::string buf;
      for (std::size_t k = static_cast<std::size_t>(c); Clock::now() < deadline; ++k) {
        if (tally.budget.fetch_add(1) >= o.max_requests) break;
        if (fd < 0) fd = connect_to(t);
        const std::string& req = requests[k % requests.size()];
        int status = -1;
        bool close = false;
        if (fd >= 0 && send_all(fd, req)) status = read_response(fd, buf, close);
        if (close) {
          ::close(fd);
          fd = -1;
          buf.clear();
        }
        tally.requests.fetch_add(1);
        if (status >= 200 && status < 300) {
          tally.ok.fetch_add(1);
          tally.accepted_items.fetch_add(items_per_request);
        } else if (status == 429) {
          tally.throttled.fetch_add(1);
        } else {
          tally.failed.fetch_add(1);
          if (status < 0 && fd >= 0) {
            ::close(fd);
            fd = -1;
            buf.clear();
          }
        }
      }
      if (fd >= 0) ::close(fd);
    });
  }
  for (auto& th : threads) th.join();
  RunResult r;
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.requests = tally.requests;
  r.ok = tally.ok;
  r.throttled = tally.throttled;
  r.failed = tally.failed;
  r.items = tally.accepted_items;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_args(argc, argv);
  const bool events = o.mode == "events";
  const bool ping = o.mode == "ping";
  std::vector<std::string> bodies = events ? std::vector<std::string>{events_body(o.batch)}
                                    : ping ? std::vector<std::string>{std::string()}
                                           : alert_bodies(o.batch, o.distinct);
  std::size_t bytes = 0;
  for (const auto& b : bodies) bytes += b.size();
  std::printf("mode=%s connections=%d batch=%d%s duration=%.1fs body=%zu bytes (avg)\n",
              o.mode.c_str(), o.connections, ping ? 1 : o.batch,
              events || ping ? "" : (" distinct=" + std::to_string(o.distinct)).c_str(),
              o.duration_s, bytes / bodies.size());
  std::printf("%-14s %10s %8s %8s %8s %14s %10s\n", "target", "requests", "2xx", "429", "failed",
              events ? "events/s"
              : ping ? "requests/s"
                     : "alerts/s",
              "MB/s");
  for (const auto& t : o.targets) {
    std::vector<std::string> requests;
    for (const auto& b : bodies) {
      requests.push_back(events ? request(t, "/api/v1/events", "application/x-ndjson", b, o.token)
                         : ping ? get_request(t, "/-/healthy")
                                : request(t, "/api/v2/alerts", "application/json", b, o.token));
    }
    const RunResult r = run(o, t, requests, static_cast<std::uint64_t>(ping ? 1 : o.batch));
    const double rate = static_cast<double>(r.items) / r.seconds;
    const double mbps =
        static_cast<double>(r.ok) * static_cast<double>(bytes / bodies.size()) / r.seconds / 1e6;
    std::printf("%-14s %10llu %8llu %8llu %8llu %14.0f %10.1f\n", t.name.c_str(),
                static_cast<unsigned long long>(r.requests), static_cast<unsigned long long>(r.ok),
                static_cast<unsigned long long>(r.throttled),
                static_cast<unsigned long long>(r.failed), rate, mbps);
    std::fflush(stdout);
  }
  return 0;
}
