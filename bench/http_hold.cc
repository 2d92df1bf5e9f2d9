// http_hold: how an HTTP server on loopback behaves while clients hold its connections —
// half-sent requests, idle keep-alive connections, headers trickled one byte at a time,
// server-sent-events subscribers. Measures GET /-/healthy (or one small POST /api/v1/events)
// latency before and while they are held, then how many held connections the server closes,
// and when.
//
//   http_hold --port 9477 --half 500 --idle 500 --requests 2000 --wait-closed 10
//   http_hold --port 9477 --trickle 50 --trickle-interval-ms 1000 --wait-closed 30
//   http_hold --port 9477 --sse 500 --sse-path /api/v1/readiness/stream
//
// Not a Google Benchmark program (it measures a server in another process); its name keeps it
// out of bench/CMakeLists.txt's *_bench.cc glob. Loopback targets only.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/support/http_probe.h"

namespace {

using opsready::testing::HeldConnections;
using opsready::testing::HoldMode;
using opsready::testing::LatencyStats;
using opsready::testing::ProbeClock;
using opsready::testing::SseClients;

constexpr std::string_view kUsage =
    "usage: http_hold --port P [--half N] [--idle M] [--trickle T] [--trickle-interval-ms MS]\n"
    "                 [--requests K] [--path /-/healthy] [--post-events | --post-alerts]\n"
    "                 [--sse N] [--sse-path /api/v1/readiness/stream] [--sse-wait SECONDS]\n"
    "                 [--wait-closed SECONDS]\n"
    "\n"
    "Measures K requests to 127.0.0.1:P with nothing held (baseline), opens the held\n"
    "connections (half: an unfinished POST header block; idle: one GET answered, then silence;\n"
    "trickle: one header byte per interval, never finished; sse: event-stream subscribers),\n"
    "measures K requests again, then waits up to --wait-closed seconds for the server to close\n"
    "held connections and reports how many it closed and when.\n";

// One firing alert, re-posted (Prometheus re-sends its firing alerts every evaluation).
constexpr std::string_view kSampleAlerts =
    R"([{"labels":{"alertname":"ProbeAlert","severity":"warning","instance":"probe"},)"
    R"("annotations":{"summary":"http_hold probe"}}])";

constexpr std::string_view kSampleEvent =
    R"({"topic":"telemetry.ingest.freshness","kind":"sample","source":"probe","value":1})"
    "\n";

struct Options {
  int port = 0;
  std::size_t half = 0, idle = 0, trickle = 0, sse = 0;
  long trickle_interval_ms = 1000;
  int requests = 2000;
  std::string path = "/-/healthy";
  bool post_events = false;
  bool post_alerts = false;
  std::string sse_path = "/api/v1/readiness/stream";
  double sse_wait_s = 5;
  double wait_closed_s = 0;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "http_hold: " << why << "\n" << kUsage;
  std::exit(2);
}

long number(const std::string& flag, const char* text, long min) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < min) {
    usage(flag + " needs an integer >= " + std::to_string(min) + ", not '" + text + "'");
  }
  return v;
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      std::exit(0);
    }
    if (i + 1 >= argc) usage("missing value after " + a);
    const char* v = argv[++i];
    if (a == "--port") {
      o.port = static_cast<int>(number(a, v, 1));
      if (o.port > 65535) usage("--port must be at most 65535");
    } else if (a == "--half") {
      o.half = static_cast<std::size_t>(number(a, v, 0));
    } else if (a == "--idle") {
      o.idle = static_cast<std::size_t>(number(a, v, 0));
    } else if (a == "--trickle") {
      o.trickle = static_cast<std::size_t>(number(a, v, 0));
    } else if (a == "--trickle-interval-ms") {
      o.trickle_interval_ms = number(a, v, 1);
    } else if (a == "--requests") {
      o.requests = static_cast<int>(number(a, v, 1));
    } else if (a == "--path") {
      o.path = v;
      if (o.path.empty() || o.path[0] != '/') usage("--path must start with /");
    } else if (a == "--sse") {
      o.sse = static_cast<std::size_t>(number(a, v, 0));
    } else if (a == "--sse-path") {
      o.sse_path = v;
      if (o.sse_path.empty() || o.sse_path[0] != '/') usage("--sse-path must start with /");
    } else if (a == "--sse-wait") {
      o.sse_wait_s = static_cast<double>(number(a, v, 0));
    } else if (a == "--wait-closed") {
      o.wait_closed_s = static_cast<double>(number(a, v, 0));
    } else {
      usage("unknown argument " + a);
    }
  }
  if (o.port == 0) usage("--port is required");
  return o;
}

// --post-events and --post-alerts take no value: handle them before the generic "flag value"
// loop sees them.
std::vector<char*> without_post_events(int argc, char** argv, bool& post_events,
                                       bool& post_alerts) {
  std::vector<char*> out;
  for (int i = 0; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--post-events") {
      post_events = true;
    } else if (std::string_view(argv[i]) == "--post-alerts") {
      post_alerts = true;
    } else {
      out.push_back(argv[i]);
    }
  }
  return out;
}

void print_stats(const std::string& label, const LatencyStats& s) {
  std::printf("%s: n=%zu errors=%zu p50=%.0fus p99=%.0fus max=%.0fus\n", label.c_str(), s.count,
              s.errors, s.p50_us, s.p99_us, s.max_us);
  std::fflush(stdout);
}

double ms(ProbeClock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct Group {
  std::string name;
  std::unique_ptr<HeldConnections> held;
};

void print_closes(const Group& g) {
  const std::size_t closed = g.held->closed_count();
  auto times = g.held->close_times();
  std::sort(times.begin(), times.end());
  std::printf("closed by server, %s: %zu of %zu", g.name.c_str(), closed, g.held->size());
  if (!times.empty()) {
    std::printf(" (after: min=%.0fms median=%.0fms max=%.0fms)", ms(times.front()),
                ms(times[times.size() / 2]), ms(times.back()));
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  bool post_events = false;
  bool post_alerts = false;
  std::vector<char*> args = without_post_events(argc, argv, post_events, post_alerts);
  Options o = parse_args(static_cast<int>(args.size()), args.data());
  o.post_events = post_events;
  o.post_alerts = post_alerts;

  const std::string label = o.post_events   ? "POST /api/v1/events"
                            : o.post_alerts ? "POST /api/v2/alerts"
                                            : "GET " + o.path;
  const std::string alert_body(kSampleAlerts);
  const std::string request =
      o.post_events ? opsready::testing::ndjson_post("/api/v1/events", std::string(kSampleEvent))
      : o.post_alerts
          ? "POST /api/v2/alerts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Content-Length: " +
                std::to_string(alert_body.size()) + "\r\n\r\n" + alert_body
          : "GET " + o.path + " HTTP/1.1\r\nHost: x\r\n\r\n";
  const LatencyStats baseline = opsready::testing::measure_requests(o.port, request, o.requests);
  print_stats("baseline " + label, baseline);

  std::vector<Group> groups;
  const struct {
    const char* name;
    std::size_t n;
    HoldMode mode;
  } wanted[] = {{"half", o.half, HoldMode::kHalfRequest},
                {"idle", o.idle, HoldMode::kIdleKeepAlive},
                {"trickle", o.trickle, HoldMode::kTrickle}};
  for (const auto& w : wanted) {
    if (w.n == 0) continue;
    Group g{w.name, std::make_unique<HeldConnections>()};
    const auto start = ProbeClock::now();
    if (auto err =
            g.held->open(o.port, w.n, w.mode, std::chrono::milliseconds(o.trickle_interval_ms));
        !err.empty()) {
      std::fprintf(stderr, "http_hold: opening %zu %s connections: %s\n", w.n, w.name, err.c_str());
      return 1;
    }
    std::printf("held %s: %zu connections opened in %.1fms\n", w.name, w.n,
                ms(ProbeClock::now() - start));
    groups.push_back(std::move(g));
  }
  SseClients sse;
  if (o.sse > 0) {
    const auto start = ProbeClock::now();
    if (auto err = sse.open(o.port, o.sse_path, o.sse); !err.empty()) {
      std::fprintf(stderr, "http_hold: opening %zu SSE clients: %s\n", o.sse, err.c_str());
      return 1;
    }
    std::printf("sse: %zu subscribers to %s opened in %.1fms\n", o.sse, o.sse_path.c_str(),
                ms(ProbeClock::now() - start));
    const bool all = sse.wait_until_each_has(
        1, std::chrono::milliseconds(static_cast<long>(o.sse_wait_s * 1000)));
    std::printf(
        "sse: every subscriber had an event within %.0fs: %s (after %.0fms; min events=%zu "
        "open=%zu failed=%zu)\n",
        o.sse_wait_s, all ? "yes" : "no", ms(ProbeClock::now() - start), sse.min_events(),
        sse.open_count(), sse.failed_count());
  }
  std::fflush(stdout);

  if (!groups.empty() || o.sse > 0) {
    const LatencyStats loaded = opsready::testing::measure_requests(o.port, request, o.requests);
    print_stats("loaded " + label, loaded);
  }
  if (o.sse > 0) {
    std::printf("sse: after the loaded run: min events=%zu open=%zu of %zu failed=%zu\n",
                sse.min_events(), sse.open_count(), o.sse, sse.failed_count());
  }

  if (o.wait_closed_s > 0 && !groups.empty()) {
    const auto deadline =
        ProbeClock::now() + std::chrono::milliseconds(static_cast<long>(o.wait_closed_s * 1000));
    for (;;) {
      std::size_t open = 0;
      for (auto& g : groups) open += g.held->size() - g.held->closed_count();
      if (open == 0 || ProbeClock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::printf("waited up to %.0fs for the server to close held connections\n", o.wait_closed_s);
  }
  for (const auto& g : groups) print_closes(g);
  std::fflush(stdout);
  return 0;
}
