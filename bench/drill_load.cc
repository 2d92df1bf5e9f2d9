// MTTD per fault kind, and what a drill costs the daemon (issue 15): starts a real
// `opsready serve` with local webhook receivers, a FIX feed (telemetry.fix.session every
// 200 ms), the FIX gateway's snapshot and an incident_response document, runs every scenario
// given (files, or directories of them) `--runs` times, and prints, per scenario, MTTD / MTTA /
// MTTR (min, median, max, from the evidence) and the daemon's CPU time per run, against the
// same wall time idle. The ingest-failover scenario's fallback (OPSREADY_INGEST_FALLBACK) is
// `true`. Scenarios that need a server of their own (email-outage: an SMTP relay; bus-outage:
// nats-server) are run by the integration tests, not here.
//
//   build/release/bench/drill_load build/release/bin/opsready examples/drills/feed-stall.yml
//       examples/drills/store-read-only.yml ... [--runs 5]
//
// Every request goes to 127.0.0.1. Figures: docs/performance.md "Drills (issue 15)".

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>
#include <algorithm>
#include <atomic>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

extern char** environ;

namespace {

using nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

// The daemon's user + system CPU time, in seconds (/proc/<pid>/stat fields 14 and 15).
double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = stat.rfind(')');
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct Stats {
  std::vector<double> v;
  [[nodiscard]] std::string text() const {
    if (v.empty()) return "—";
    auto s = v;
    std::sort(s.begin(), s.end());
    char buf[96];
    std::snprintf(buf, sizeof buf, "%.3f / %.3f / %.3f", s.front(), s[s.size() / 2], s.back());
    return buf;
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: drill_load OPSREADY_BINARY SCENARIO... [--runs N]\n";
    return 64;
  }
  const std::string binary = argv[1];
  std::string scenarios;  // a YAML list
  int runs = 5;
  for (int i = 2; i < argc; ++i) {
    if (std::string(argv[i]) == "--runs" && i + 1 < argc) {
      runs = std::atoi(argv[++i]);
      continue;
    }
    scenarios += (scenarios.empty() ? "'" : ", '") + fs::absolute(argv[i]).string() + "'";
  }
  ::setenv("OPSREADY_INGEST_FALLBACK", "true", 1);

  // The receivers: 200 to everything.
  httplib::Server rx;
  rx.Post(R"(/(\w+))", [](const httplib::Request&, httplib::Response& a) { a.status = 200; });
  const int rx_port = rx.bind_to_any_port("127.0.0.1");
  std::thread rx_thread([&] { rx.listen_after_bind(); });
  const auto url = [&](const char* p) {
    return "http://127.0.0.1:" + std::to_string(rx_port) + "/" + p;
  };

  char tmpl[] = "/tmp/opsready-drill-load-XXXXXX";
  const fs::path dir = mkdtemp(tmpl);
  const fs::path config = dir / "opsready.yml";
  std::ofstream(config) << "listen: 127.0.0.1:0\n"
                        << "data_dir: " << (dir / "data").string() << "\n"
                        << "evaluation_interval: 100ms\n"
                        << "ingest:\n  alerts: {flush_interval: 10ms}\n"
                        << "  expected_sources:\n"
                        << "    - {name: fix_session, topic: telemetry.fix.>, after: 2s}\n"
                        << "delivery: {backoff_initial: 100ms, backoff_max: 500ms, "
                           "failing_after_attempts: 2}\n"
                        << "alerting:\n  route:\n    receiver: desk\n    group_by: [alertname]\n"
                        << "    group_wait: 0s\n    group_interval: 1s\n    repeat_interval: 1h\n"
                        << "    routes:\n"
                        << "      - {matchers: ['alertname=\"OpsreadyNotificationFailing\"'], "
                           "receiver: fallback}\n"
                        << "      - {matchers: ['alertname=\"OpsreadyWatchdog\"'], receiver: desk, "
                           "repeat_interval: 2s}\n"
                        << "  receivers:\n"
                        << "    - {name: desk, webhook_configs: [{url: '" << url("desk") << "'}]}\n"
                        << "    - {name: fallback, webhook_configs: [{url: '" << url("fallback")
                        << "'}]}\n"
                        << "drills:\n  scenarios: [" << scenarios << "]\n"
                        << "  poll_interval: 50ms\n";

  pid_t pid = 0;
  std::string a0 = binary, a1 = "serve", a2 = "--config", a3 = config.string();
  char* args[] = {a0.data(), a1.data(), a2.data(), a3.data(), nullptr};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 2, (dir / "daemon.log").c_str(), O_WRONLY | O_CREAT, 0644);
  if (posix_spawn(&pid, binary.c_str(), &fa, nullptr, args, environ) != 0) {
    std::cerr << "drill_load: cannot start " << binary << "\n";
    return 69;
  }
  // The port it bound, from its log line "listening on http://127.0.0.1:PORT".
  int port = 0;
  for (int i = 0; i < 1500 && port == 0; ++i) {
    std::ifstream log(dir / "daemon.log");
    std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    if (const auto at = text.find("listening on http://127.0.0.1:"); at != std::string::npos) {
      port = std::atoi(text.c_str() + at + std::string("listening on http://127.0.0.1:").size());
    }
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      std::cerr << "drill_load: the daemon exited:\n" << text;
      return 69;
    }
    std::this_thread::sleep_for(20ms);
  }
  if (port == 0) {
    std::cerr << "drill_load: the daemon did not start listening\n";
    kill(pid, SIGKILL);
    return 69;
  }
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(30s);
  (void)c.Post(
      "/api/v1/events",
      R"({"topic":"opsready.component.snapshot","payload":{"component":"fix_gateway","status":"ok"}})",
      "application/json");
  (void)c.Post("/api/v1/events",
               R"({"topic":"telemetry.operational.incident_response","payload":)"
               R"({"policy":{"required_runbooks":["fix_restart"],"maximum_open_incidents":2},)"
               R"("state":{"available_runbooks":["fix_restart"],"training_age_days":5,)"
               R"("drill_age_days":5,"primary_oncall":["alice"],"secondary_oncall":["bob"],)"
               R"("open_incidents":[],"postmortem_backlog_hours":0,"chatops_ready":true}}})",
               "application/json");
  std::atomic<bool> feeding{true};
  std::thread feed([&] {
    httplib::Client f("127.0.0.1", port);
    while (feeding) {
      (void)f.Post("/api/v1/events", R"({"topic":"telemetry.fix.session","payload":{"up":1}})",
                   "application/json");
      std::this_thread::sleep_for(200ms);
    }
  });
  std::this_thread::sleep_for(3s);

  // Idle CPU over 10 s, the baseline of "what a drill costs".
  const double idle0 = cpu_seconds(pid);
  std::this_thread::sleep_for(10s);
  const double idle_per_s = (cpu_seconds(pid) - idle0) / 10.0;

  const json list = json::parse(c.Get("/api/v1/drills")->body);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::printf("%-18s %-16s %5s %-24s %-24s %-24s %9s %12s %12s\n", "scenario", "fault", "runs",
              "MTTD s (min/med/max)", "MTTA s", "MTTR s", "wall s", "CPU s/run", "idle CPU s");
  int failures = 0;
  for (const auto& s : list["scenarios"]) {
    const std::string name = s["name"];
    Stats mttd, mtta, mttr;
    double wall = 0, cpu = 0;
    int passed = 0;
    for (int i = 0; i < runs; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      const double c0 = cpu_seconds(pid);
      auto r = c.Post("/api/v1/drills", json{{"scenario", name}, {"by", "drill_load"}}.dump(),
                      "application/json");
      if (!r || r->status != 202) {
        std::cerr << "drill_load: " << name << " not started: " << (r ? r->body : "no answer")
                  << "\n";
        ++failures;
        break;
      }
      const std::string id = json::parse(r->body)["drill_id"];
      json e;
      for (;;) {
        std::this_thread::sleep_for(100ms);
        e = json::parse(c.Get("/api/v1/drills/" + id)->body, nullptr, false);
        if (e.is_object() && !e["finished_at"].is_null() && !e["verdict"].is_null()) break;
      }
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      wall += secs;
      cpu += cpu_seconds(pid) - c0 - idle_per_s * secs;
      if (e["verdict"] == "Pass")
        ++passed;
      else
        std::cerr << "drill_load: " << name << " run " << i << ": " << e["verdict"] << " "
                  << e["reason"] << "\n";
      if (e["mttd_seconds"].is_number()) mttd.v.push_back(e["mttd_seconds"]);
      if (e["mtta_seconds"].is_number()) mtta.v.push_back(e["mtta_seconds"]);
      if (e["mttr_seconds"].is_number()) mttr.v.push_back(e["mttr_seconds"]);
      std::this_thread::sleep_for(2s);  // the watchdog repeats; the next steady state holds
    }
    std::printf("%-18s %-16s %2d/%-2d %-24s %-24s %-24s %9.2f %12.4f %12.4f\n", name.c_str(),
                s["fault"]["kind"].get<std::string>().c_str(), passed, runs, mttd.text().c_str(),
                mtta.text().c_str(), mttr.text().c_str(), wall / runs, cpu / runs,
                idle_per_s * wall / runs);
    if (passed != runs) ++failures;
  }
  feeding = false;
  feed.join();
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  rx.stop();
  rx_thread.join();
  fs::remove_all(dir);
  return failures == 0 ? 0 : 1;
}
