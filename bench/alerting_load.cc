// alerting_load: HTTP load for issue 11's alerting benchmarks, against `opsready serve` and
// Prometheus Alertmanager with byte-identical requests (see bench/run_alerting_load.sh).
//
//   alerting_load config > alertmanager.yml      # the workload's policy (20 routes, 100 inhibit
//                                                # rules), an Alertmanager 0.25 file
//   alerting_load fill --target opsready=127.0.0.1:9477 --alerts 100000 --batch 64
//       --connections 4                          # every alert of [0, alerts) posted once
//   alerting_load repost --target opsready=127.0.0.1:9477 --target alertmanager=127.0.0.1:9093
//       --alerts 10000 --batch 64 --connections 4 --duration 10
//
// The alerts are bench/alerting_workload.h's (Prometheus label sets of 9-10 labels, 200
// alertnames), posted to POST /api/v2/alerts as Prometheus' notifier posts them (a JSON list
// of {labels, annotations, startsAt, endsAt, generatorURL}; startsAt 5 minutes ago, endsAt in
// an hour, so nothing resolves during a run). `fill` posts alerts [0, alerts) in batches, each
// batch once, the batches dealt out to the connections. `repost` cycles over the batches of
// [0, alerts), as Prometheus re-sends firing alerts, until --duration; each target gets the
// same requests, one target after the other. Both print alerts/s and the request latency
// (p50, p99, max) of accepted requests.
//
// Each of N connections is a thread with one keep-alive socket that sends the next request
// when the previous response is read (closed loop). Loopback targets only. Not a Google
// Benchmark program (it measures a server in another process), so its name keeps it out of
// bench/CMakeLists.txt's *_bench.cc glob. (The socket code is bench/ingest_load.cc's, which
// keeps it private to that program.)

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
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "alerting_workload.h"
#include "load_net.h"
#include "opsready/core/time.h"

namespace {

using Clock = std::chrono::steady_clock;
using opsready::bench::net::append_label_set;
using opsready::bench::net::connect_to;
using opsready::bench::net::parse_target;
using opsready::bench::net::quantile;
using opsready::bench::net::read_response;
using opsready::bench::net::send_all;
using opsready::bench::net::Target;
namespace workload = opsready::bench::workload;

struct Options {
  std::string mode;
  std::vector<Target> targets;
  int connections = 4;
  int batch = 64;
  int alerts = 10000;
  double duration_s = 10;
  std::string token;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "alerting_load: " << why
            << "\nusage: alerting_load config\n"
               "       alerting_load fill|repost --target NAME=127.0.0.1:PORT [--target ...]"
               " [--alerts N] [--batch N] [--connections N] [--duration SECONDS]"
               " [--token TOKEN]\n";
  std::exit(2);
}

Options parse_args(int argc, char** argv) {
  if (argc < 2) usage("missing mode");
  Options o;
  o.mode = argv[1];
  if (o.mode == "config") return o;
  if (o.mode != "fill" && o.mode != "repost") usage("unknown mode '" + o.mode + "'");
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) usage(a + " needs a value");
    const std::string v = argv[++i];
    if (a == "--target") {
      auto t = parse_target(v);
      if (auto* why = std::get_if<std::string>(&t)) usage(*why);
      o.targets.push_back(std::get<Target>(t));
    } else if (a == "--connections") {
      o.connections = std::atoi(v.c_str());
    } else if (a == "--batch") {
      o.batch = std::atoi(v.c_str());
    } else if (a == "--alerts") {
      o.alerts = std::atoi(v.c_str());
    } else if (a == "--duration") {
      o.duration_s = std::atof(v.c_str());
    } else if (a == "--token") {
      o.token = v;
    } else {
      usage("unknown option " + a);
    }
  }
  if (o.targets.empty()) usage("at least one --target");
  if (o.connections < 1 || o.batch < 1 || o.alerts < 1) usage("counts must be positive");
  return o;
}

// The request bodies of alerts [0, alerts), `batch` per body (the last one may be shorter).
std::vector<std::string> bodies(int alerts, int batch) {
  const auto now =
      std::chrono::time_point_cast<opsready::core::Duration>(std::chrono::system_clock::now());
  const std::string starts = opsready::core::format_rfc3339(now - std::chrono::minutes(5));
  const std::string ends = opsready::core::format_rfc3339(now + std::chrono::hours(1));
  std::vector<std::string> out;
  for (int b = 0; b * batch < alerts; ++b) {
    std::string body = "[";
    for (int n = b * batch; n < std::min(alerts, (b + 1) * batch); ++n) {
      if (n != b * batch) body += ',';
      const auto labels = workload::alert_labels(n);
      body += R"({"labels":)";
      append_label_set(body, labels);
      body += R"(,"annotations":)";
      append_label_set(body, workload::alert_annotations(labels));
      body += R"(,"startsAt":")" + starts + R"(","endsAt":")" + ends +
              R"(","generatorURL":"http://prometheus-k8s-0:9090/graph?g0.expr=)" +
              labels.at("alertname") + R"(&g0.tab=1"})";
    }
    body += "]";
    out.push_back(std::move(body));
  }
  return out;
}

std::string request(const Target& t, const std::string& body, const std::string& token) {
  std::string r =
      "POST /api/v2/alerts HTTP/1.1\r\nHost: " + t.host + ":" + std::to_string(t.port) +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n";
  if (!token.empty()) r += "Authorization: Bearer " + token + "\r\n";
  return r + "\r\n" + body;
}

struct Result {
  double seconds = 0;
  std::uint64_t requests = 0, ok = 0, throttled = 0, failed = 0, alerts = 0;
  std::vector<double> latency_us;  // of 2xx requests, sorted
};

// fill: request k of the list goes once, on connection k % connections (again after a 429).
// repost: connection c cycles over the list from c until the deadline.
Result run(const Options& o, const Target& t, const std::vector<std::string>& requests,
           const std::vector<int>& alerts_in) {
  const bool fill = o.mode == "fill";
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(o.duration_s));
  std::vector<Result> per(static_cast<std::size_t>(o.connections));
  std::vector<std::thread> threads;
  for (int c = 0; c < o.connections; ++c) {
    threads.emplace_back([&, c] {
      Result& r = per[static_cast<std::size_t>(c)];
      int fd = connect_to(t);
      std::string buf;
      for (std::size_t k = static_cast<std::size_t>(c);; k += fill ? o.connections : 1) {
        if (fill ? k >= requests.size() : Clock::now() >= deadline) break;
        const std::size_t i = k % requests.size();
        if (fd < 0) fd = connect_to(t);
        const auto sent = Clock::now();
        int status = -1;
        bool close = false;
        if (fd >= 0 && send_all(fd, requests[i])) status = read_response(fd, buf, close);
        const double us = std::chrono::duration<double, std::micro>(Clock::now() - sent).count();
        if (close || status < 0) {
          if (fd >= 0) ::close(fd);
          fd = -1;
          buf.clear();
        }
        ++r.requests;
        if (status >= 200 && status < 300) {
          ++r.ok;
          r.alerts += static_cast<std::uint64_t>(alerts_in[i]);
          r.latency_us.push_back(us);
        } else if (status == 429) {
          ++r.throttled;
          if (fill) {  // every alert must arrive: the same request again, a little later
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            k -= static_cast<std::size_t>(o.connections);
          }
        } else {
          ++r.failed;
        }
      }
      if (fd >= 0) ::close(fd);
    });
  }
  for (auto& th : threads) th.join();
  Result all;
  all.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& r : per) {
    all.requests += r.requests;
    all.ok += r.ok;
    all.throttled += r.throttled;
    all.failed += r.failed;
    all.alerts += r.alerts;
    all.latency_us.insert(all.latency_us.end(), r.latency_us.begin(), r.latency_us.end());
  }
  std::sort(all.latency_us.begin(), all.latency_us.end());
  return all;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_args(argc, argv);
  if (o.mode == "config") {
    std::fputs(workload::policy_yaml().c_str(), stdout);
    return 0;
  }
  const std::vector<std::string> list = bodies(o.alerts, o.batch);
  std::vector<int> alerts_in;
  std::size_t bytes = 0;
  for (std::size_t b = 0; b < list.size(); ++b) {
    alerts_in.push_back(std::min(o.batch, o.alerts - static_cast<int>(b) * o.batch));
    bytes += list[b].size();
  }
  std::printf("mode=%s alerts=%d batch=%d connections=%d%s body=%zu bytes (avg, %zu per alert)\n",
              o.mode.c_str(), o.alerts, o.batch, o.connections,
              o.mode == "repost" ? (" duration=" + std::to_string(o.duration_s) + "s").c_str() : "",
              bytes / list.size(), bytes / static_cast<std::size_t>(o.alerts));
  std::printf("%-14s %9s %8s %6s %7s %9s %11s %9s %9s %9s\n", "target", "requests", "2xx", "429",
              "failed", "seconds", "alerts/s", "p50_us", "p99_us", "max_us");
  int status = 0;
  for (const auto& t : o.targets) {
    std::vector<std::string> requests;
    requests.reserve(list.size());
    for (const auto& b : list) requests.push_back(request(t, b, o.token));
    const Result r = run(o, t, requests, alerts_in);
    std::printf("%-14s %9llu %8llu %6llu %7llu %9.2f %11.0f %9.0f %9.0f %9.0f\n", t.name.c_str(),
                static_cast<unsigned long long>(r.requests), static_cast<unsigned long long>(r.ok),
                static_cast<unsigned long long>(r.throttled),
                static_cast<unsigned long long>(r.failed), r.seconds,
                static_cast<double>(r.alerts) / r.seconds, quantile(r.latency_us, 0.5),
                quantile(r.latency_us, 0.99), r.latency_us.empty() ? 0 : r.latency_us.back());
    std::fflush(stdout);
    if (o.mode == "fill" && r.failed != 0) status = 1;
  }
  return status;
}
