// The alerting engine of `opsready serve` end to end (issue 11's "Done when"): the real daemon
// with the alerting policy of testdata/alerting/policy.yml, driven over HTTP, by the real amtool
// (Debian prometheus-alertmanager) and by the real Prometheus (Debian prometheus) where they are
// installed. Every notification the engine decides is logged ("alerting: notify <receiver>
// (<reason>) group <key> firing=N resolved=M"), and written to the store's alerting_log: the
// tests read the log to follow decisions as they happen, and the store once it is written.
//
// No test sleeps to show that nothing happened. Where a test must show that a group decided
// nothing at its next tick, it makes the tick witness (component "tick_witness", a route whose
// group_wait is longer than every other group's interval) fire in the same evaluation and waits
// for the witness's notification: the engine fires due ticks in deadline order, so by then the
// other group's tick has been decided and logged.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness.h"

extern char** environ;

namespace opsready::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

const std::string kTestdata = std::string(OPSREADY_TESTDATA) + "/alerting";
const std::string kAmtool = "/usr/bin/amtool";
const std::string kPrometheus = "/usr/bin/prometheus";
const std::string kSqlite = "/usr/bin/sqlite3";
// The tick witness's component (see the overview and policy.yml).
const std::string kWitness = "tick_witness";

// ---- child processes, each with a timeout ------------------------------------------------------

int decode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// A child process with stdout and stderr in files of a directory of its own; killed (SIGKILL)
// when it is still running as the object goes away.
class Child {
 public:
  explicit Child(std::vector<std::string> argv) : argv0_(argv.at(0)) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw std::runtime_error("cannot start " + argv0_);
    pid_ = pid;
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  void signal(int sig) const {
    if (pid_ > 0) kill(pid_, sig);
  }
  // The exit code (128 + signal when killed), or std::nullopt when it still runs after
  // `timeout`.
  std::optional<int> wait(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (pid_ <= 0) return exit_code_;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        exit_code_ = decode(status);
        return exit_code_;
      }
      if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
      std::this_thread::sleep_for(5ms);
    }
  }
  [[nodiscard]] std::string out() const { return read_file(out_path()); }
  [[nodiscard]] std::string err() const { return read_file(err_path()); }

 private:
  [[nodiscard]] fs::path out_path() const { return dir_.path() / "stdout"; }
  [[nodiscard]] fs::path err_path() const { return dir_.path() / "stderr"; }

  TempDir dir_;
  std::string argv0_;
  int pid_ = -1;
  std::optional<int> exit_code_;
};

// Runs `argv` (argv[0] an absolute path) to completion; a child still running after `timeout`
// is killed and reported with exit code -1.
RunResult run_for(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = 15s) {
  Child child(argv);
  const auto code = child.wait(timeout);
  RunResult r{code.value_or(-1), child.out(), child.err()};
  if (!code) r.err += "\n(killed: still running after " + std::to_string(timeout.count()) + " ms)";
  return r;
}

std::string describe(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

// amtool against the daemon. amtool warns on stderr that the server's version is not an
// Alertmanager's; only stdout and the exit code are asserted.
RunResult amtool(int port, std::vector<std::string> args) {
  std::vector<std::string> argv = {kAmtool,
                                   "--alertmanager.url=http://127.0.0.1:" + std::to_string(port)};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_for(argv);
}

// ---- the daemon and its HTTP API
// ------------------------------------------------------------------

// opsready.yml in `dir`: a loopback port of the kernel's choice, the data under dir/data, and
// the test policy (policy.yml) by alerting.config_file.
std::string write_config(const TempDir& dir) {
  const fs::path file = dir.path() / "opsready.yml";
  write_file(file, "listen: 127.0.0.1:0\ndata_dir: " + (dir.path() / "data").string() +
                       "\nalerting:\n  config_file: " + kTestdata + "/policy.yml\n");
  return file.string();
}

fs::path database(const TempDir& dir) { return dir.path() / "data" / "opsready.db"; }

std::string url_encode(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    if (std::isalnum(u) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out.push_back(ch);
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
  return out;
}

json get_json(httplib::Client& c, const std::string& path) {
  auto res = c.Get(path);
  if (!res) throw std::runtime_error("GET " + path + " failed");
  if (res->status != 200) {
    throw std::runtime_error("GET " + path + ": " + std::to_string(res->status) + " " + res->body);
  }
  return json::parse(res->body);
}

json snapshot(const std::string& component, const std::string& status,
              json issues = json::array()) {
  return {{"topic", "opsready.component.snapshot"},
          {"source", "alerting_test"},
          {"payload",
           {{"component", component},
            {"status", status},
            {"summary", status + " summary"},
            {"issues", std::move(issues)}}}};
}

// Posts a batch of events; returns the status (202 when accepted).
int post_events(httplib::Client& c, const json& batch) {
  auto res = c.Post("/api/v1/events", batch.dump(), "application/json");
  return res ? res->status : -1;
}

// GET /api/v2/alerts with matchers, each one `filter` parameter (as amtool sends them).
json v2_alerts(httplib::Client& c, const std::vector<std::string>& filters) {
  std::string path = "/api/v2/alerts";
  for (std::size_t i = 0; i < filters.size(); ++i) {
    path += (i == 0 ? "?" : "&") + std::string("filter=") + url_encode(filters[i]);
  }
  return get_json(c, path);
}

// Polls `probe` every 20 ms until it holds; false when it did not within `timeout`.
bool eventually(const std::function<bool()>& probe, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (probe()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
}

// The group of GET /api/v2/alerts/groups with exactly these group labels and this receiver;
// null when there is none.
json find_group(httplib::Client& c, const json& labels, const std::string& receiver) {
  for (const json& g : get_json(c, "/api/v2/alerts/groups")) {
    if (g["labels"] == labels && g["receiver"]["name"] == receiver) return g;
  }
  return nullptr;
}

// One "alerting: notify" line of the daemon's log.
struct Notified {
  std::string receiver;
  std::string reason;  // first, new_alerts, new_resolved, all_resolved, repeat, escalation
  std::string group;   // the group key
  int firing = 0;
  int resolved = 0;
};

std::vector<Notified> notifications(const Daemon& d) {
  static const std::regex line(
      R"(alerting: notify (\S+) \((\w+)\) group (.*) firing=(\d+) resolved=(\d+)$)");
  std::vector<Notified> out;
  std::istringstream in(d.log());
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (std::regex_search(l, m, line)) {
      out.push_back({m[1], m[2], m[3], std::stoi(m[4]), std::stoi(m[5])});
    }
  }
  return out;
}

std::vector<Notified> notifications_of(const Daemon& d, const std::string& key) {
  std::vector<Notified> out = notifications(d);
  std::erase_if(out, [&key](const Notified& n) { return n.group != key; });
  return out;
}

std::string dump(const std::vector<Notified>& ns) {
  std::string out;
  for (const auto& n : ns) {
    out += n.receiver + " (" + n.reason + ") " + n.group + " firing=" + std::to_string(n.firing) +
           " resolved=" + std::to_string(n.resolved) + "\n";
  }
  return out.empty() ? "(none)\n" : out;
}

// Waits for the group with these labels and receiver to be listed and its first notification
// to be decided; returns the group as listed (null on timeout, with a failure added).
json wait_first_notification(const Daemon& d, httplib::Client& c, const json& labels,
                             const std::string& receiver) {
  json group;
  const bool listed = eventually([&] {
    group = find_group(c, labels, receiver);
    return !group.is_null();
  });
  if (!listed) {
    ADD_FAILURE() << "no group " << labels.dump() << " for " << receiver << " in "
                  << get_json(c, "/api/v2/alerts/groups").dump(2);
    return nullptr;
  }
  const std::string key = group["key"];
  const bool notified = eventually([&] {
    const auto ns = notifications_of(d, key);
    return std::any_of(ns.begin(), ns.end(), [](const Notified& n) { return n.reason == "first"; });
  });
  if (!notified) {
    ADD_FAILURE() << "no first notification of " << key << "; decided:\n" << dump(notifications(d));
    return nullptr;
  }
  return group;
}

// The alert of `alerts` (gettableAlerts) with this alertname, or null.
json alert_named(const json& alerts, const std::string& alertname) {
  for (const json& a : alerts) {
    if (a["labels"].value("alertname", "") == alertname) return a;
  }
  return nullptr;
}

// Notification rows of the store's alerting_log (their json), oldest first, read with the
// sqlite3 shell (read-only: the daemon may be writing, WAL mode allows it).
std::vector<json> stored_notifications(const fs::path& db) {
  const auto r = run_for({kSqlite, "-readonly", "-json", db.string(),
                          "SELECT json FROM alerting_log WHERE kind = 'notification' ORDER BY id"});
  if (r.exit_code != 0) throw std::runtime_error("sqlite3: " + describe(r));
  std::vector<json> out;
  if (r.out.find_first_not_of(" \n") == std::string::npos) return out;  // no row: no output
  for (const json& row : json::parse(r.out)) {
    out.push_back(json::parse(row["json"].get<std::string>()));
  }
  return out;
}

// ---- 1. amtool ----------------------------------------------------------------------------------

TEST(AlertingAmtool, QueriesAlertsSilencesAndTestsRoutes) {
  if (!fs::exists(kAmtool)) {
    GTEST_SKIP() << kAmtool << " is not installed (Debian package prometheus-alertmanager)";
  }
  TempDir dir;
  Daemon d({"serve", "--config", write_config(dir)});
  auto c = d.client();
  const std::string comp = "amtool_c";
  ASSERT_EQ(post_events(c, json::array({snapshot(comp, "fail")})), 202);
  const json group = wait_first_notification(d, c, {{"component", comp}}, "pager");
  ASSERT_FALSE(group.is_null());
  const std::string key = group["key"];

  // alert query, as a table and as JSON: the derived alerts with their labels.
  RunResult r = amtool(d.port(), {"alert", "query"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("OpsreadyComponentNotOk"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("OpsreadyReadinessNotOk"), std::string::npos) << r.out;
  r = amtool(d.port(), {"-o", "json", "alert", "query"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const json listed = json::parse(r.out);
  const json not_ok = alert_named(listed, "OpsreadyComponentNotOk");
  ASSERT_FALSE(not_ok.is_null()) << listed.dump(2);
  EXPECT_EQ(not_ok["labels"], json({{"alertname", "OpsreadyComponentNotOk"},
                                    {"category", "operational." + comp},
                                    {"component", comp},
                                    {"service", "opsready"},
                                    {"severity", "critical"}}));
  EXPECT_EQ(not_ok["annotations"]["summary"], comp + " status fail: fail summary");
  EXPECT_EQ(not_ok["annotations"]["runbook_url"], "docs/runbooks/" + comp + ".md");
  EXPECT_EQ(not_ok["status"]["state"], "active");
  EXPECT_EQ(not_ok["receivers"], json::array({{{"name", "pager"}}}));
  const json readiness = alert_named(listed, "OpsreadyReadinessNotOk");
  ASSERT_FALSE(readiness.is_null()) << listed.dump(2);
  EXPECT_EQ(readiness["labels"], json({{"alertname", "OpsreadyReadinessNotOk"},
                                       {"category", "operational.readiness"},
                                       {"service", "opsready"},
                                       {"severity", "critical"}}));
  const json gate = alert_named(listed, "OpsreadyGate");
  ASSERT_FALSE(gate.is_null()) << listed.dump(2);
  EXPECT_EQ(gate["labels"]["decision"], "block");
  // A matcher argument filters.
  r = amtool(d.port(), {"-o", "json", "alert", "query", "component=" + comp});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  ASSERT_EQ(json::parse(r.out).size(), 1u) << r.out;

  // silence add prints the new silence's id; silence query lists it.
  r = amtool(d.port(), {"silence", "add", "component=" + comp, "-c", "maintenance window", "-a",
                        "alice", "-d", "1h"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const std::string id = r.out.substr(0, r.out.find_first_of(" \n"));
  ASSERT_FALSE(id.empty()) << describe(r);
  r = amtool(d.port(), {"silence", "query"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find(id), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("maintenance window"), std::string::npos) << r.out;
  r = amtool(d.port(), {"-o", "json", "silence", "query"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const json silences = json::parse(r.out);
  ASSERT_EQ(silences.size(), 1u) << r.out;
  EXPECT_EQ(silences[0]["id"], id);
  EXPECT_EQ(silences[0]["createdBy"], "alice");
  EXPECT_EQ(silences[0]["status"]["state"], "active");
  EXPECT_EQ(silences[0]["matchers"],
            json::array(
                {{{"name", "component"}, {"value", comp}, {"isRegex", false}, {"isEqual", true}}}));

  // The component's alerts are suppressed by that silence, in both listings.
  const std::string filter = "component=\"" + comp + "\"";
  json alerts = v2_alerts(c, {filter});
  ASSERT_EQ(alerts.size(), 1u) << alerts.dump(2);
  EXPECT_EQ(alerts[0]["status"]["state"], "suppressed") << alerts.dump(2);
  EXPECT_EQ(alerts[0]["status"]["silencedBy"], json::array({id}));
  const json silenced_group = find_group(c, {{"component", comp}}, "pager");
  ASSERT_FALSE(silenced_group.is_null());
  for (const json& a : silenced_group["alerts"]) {
    EXPECT_EQ(a["status"]["state"], "suppressed") << silenced_group.dump(2);
  }
  // Without the silence, a new alert of the group would be notified at its next tick: an issue
  // of the component. The witness fires in the same evaluation and notifies after that tick.
  const json issue = {{"code", "disk_full"}, {"severity", "critical"}, {"message", "disk full"}};
  ASSERT_EQ(post_events(c, json::array({snapshot(comp, "fail", json::array({issue})),
                                        snapshot(kWitness, "warn")})),
            202);
  ASSERT_FALSE(wait_first_notification(d, c, {{"component", kWitness}}, "default").is_null());
  alerts = v2_alerts(c, {filter});
  ASSERT_EQ(alerts.size(), 2u) << alerts.dump(2);
  for (const json& a : alerts) {
    EXPECT_EQ(a["status"]["state"], "suppressed") << alerts.dump(2);
    EXPECT_EQ(a["status"]["silencedBy"], json::array({id}));
  }
  auto decided = notifications_of(d, key);
  ASSERT_EQ(decided.size(), 1u) << "notified while silenced:\n" << dump(decided);

  // silence expire: the alerts are active again, and the next tick notifies the new one.
  r = amtool(d.port(), {"silence", "expire", id});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  alerts = v2_alerts(c, {filter});
  for (const json& a : alerts) {
    EXPECT_EQ(a["status"]["state"], "active") << alerts.dump(2);
    EXPECT_EQ(a["status"]["silencedBy"], json::array());
  }
  ASSERT_TRUE(eventually([&] { return notifications_of(d, key).size() == 2; }))
      << dump(notifications(d));
  decided = notifications_of(d, key);
  EXPECT_EQ(decided[1].receiver, "pager");
  EXPECT_EQ(decided[1].reason, "new_alerts");
  EXPECT_EQ(decided[1].firing, 2);
  r = amtool(d.port(), {"-o", "json", "silence", "query", "--expired"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  ASSERT_EQ(json::parse(r.out).size(), 1u) << r.out;
  EXPECT_EQ(json::parse(r.out)[0]["status"]["state"], "expired");

  // silence import: a silence without an id, and one from a backup of another Alertmanager
  // (an id this one does not know). For the latter amtool expects Alertmanager's 404 answer,
  // whose body is a JSON string ("silence not found"), and posts the silence again without its
  // id when the error says "not found" (cli/silence_import.go). amtool counts failed silences
  // racily (its exit code may be 0 when one failed), so its stderr and the list are checked too.
  r = amtool(d.port(), {"silence", "import", kTestdata + "/silences.json"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  const json all = get_json(c, "/api/v2/silences");
  std::vector<std::string> imported;
  for (const json& s : all) {
    if (s["createdBy"] == "importer" && s["status"]["state"] == "active") {
      imported.push_back(s["comment"]);
    }
  }
  std::sort(imported.begin(), imported.end());
  EXPECT_EQ(imported, (std::vector<std::string>{"a silence without an id",
                                                "imported from a backup of another Alertmanager"}))
      << describe(r) << "\n"
      << all.dump(2);
  EXPECT_EQ(r.err.find("Error adding silence"), std::string::npos) << describe(r);
  for (const json& s : all) EXPECT_NE(s["id"], "0b5e6c1a-7d3f-4a8e-9c21-5f4d3b2a1e0f");

  // config routes test reads the routing tree from GET /api/v2/status.
  r = amtool(d.port(), {"config", "routes", "test", "--verify.receivers=pager", "severity=critical",
                        "component=x"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("pager"), std::string::npos) << describe(r);
  r = amtool(d.port(), {"config", "routes", "test", "--verify.receivers=default",
                        "severity=critical", "component=x"});
  EXPECT_NE(r.exit_code, 0) << describe(r);
  r = amtool(d.port(), {"config", "routes", "test", "--verify.receivers=default",
                        "severity=critical", "component=" + kWitness});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
}

// ---- 2. Prometheus
// --------------------------------------------------------------------------------

TEST(AlertingPrometheus, AlertsFromARealPrometheusAreRoutedAndNotified) {
  if (!fs::exists(kPrometheus)) {
    GTEST_SKIP() << kPrometheus << " is not installed (Debian package prometheus)";
  }
  TempDir dir;
  Daemon d({"serve", "--config", write_config(dir)});
  auto c = d.client();
  const fs::path config = dir.path() / "prometheus.yml";
  write_file(config, "global:\n  evaluation_interval: 1s\nrule_files:\n  - " + kTestdata +
                         "/rules.yml\nalerting:\n  alertmanagers:\n    - api_version: v2\n"
                         "      static_configs:\n        - targets: ['127.0.0.1:" +
                         std::to_string(d.port()) + "']\n");
  // Port 0: nothing talks to Prometheus; it only sends.
  Child prometheus({kPrometheus, "--config.file=" + config.string(),
                    "--storage.tsdb.path=" + (dir.path() / "tsdb").string(),
                    "--web.listen-address=127.0.0.1:0", "--rules.alert.resend-delay=1s"});
  const json want = {
      {"alertname", "OpsreadyTestAlwaysFiring"}, {"component", "prom"}, {"severity", "critical"}};
  json external;
  const bool received = eventually(
      [&] {
        external = get_json(c, "/api/v1/alerts?origin=external");
        return external["count"] == 1;
      },
      30s);
  ASSERT_TRUE(received) << external.dump(2) << "\nprometheus:\n" << prometheus.err();
  const json& alert = external["alerts"][0];
  EXPECT_EQ(alert["labels"], want);
  EXPECT_EQ(alert["status"], "firing");
  EXPECT_EQ(alert["annotations"]["summary"], "always firing");
  EXPECT_NE(alert["generatorURL"].get<std::string>().find("vector%281%29"), std::string::npos)
      << alert.dump(2);
  EXPECT_EQ(alert["derived"], false);

  // The route the policy selects for it: severity="critical" → pager.
  const json route =
      get_json(c,
               "/api/v1/routes/test?label=alertname%3DOpsreadyTestAlwaysFiring&label="
               "severity%3Dcritical&label=component%3Dprom");
  EXPECT_EQ(route["receivers"], json::array({"pager"})) << route.dump(2);
  const json group = wait_first_notification(d, c, {{"component", "prom"}}, "pager");
  ASSERT_FALSE(group.is_null()) << "prometheus:\n" << prometheus.err();
  ASSERT_EQ(group["alerts"].size(), 1u) << group.dump(2);
  EXPECT_EQ(group["alerts"][0]["labels"], want);
  const auto decided = notifications_of(d, group["key"]);
  ASSERT_FALSE(decided.empty());
  EXPECT_EQ(decided[0].receiver, "pager");
  EXPECT_EQ(decided[0].firing, 1);

  prometheus.signal(SIGTERM);
  const auto code = prometheus.wait(15s);
  ASSERT_TRUE(code.has_value()) << prometheus.err();
  EXPECT_EQ(*code, 0) << prometheus.err();
}

// ---- 3. component snapshots → groups and receivers
// ------------------------------------------------

TEST(AlertingRouting, SnapshotsGroupByComponentAndResolve) {
  TempDir dir;
  Daemon d({"serve", "--config", write_config(dir)});
  auto c = d.client();
  ASSERT_EQ(post_events(c, json::array({snapshot("warn_c", "warn"), snapshot("fail_c", "fail")})),
            202);
  // critical → pager, warning → the root's receiver; one group per component.
  const json warn_group = wait_first_notification(d, c, {{"component", "warn_c"}}, "default");
  const json fail_group = wait_first_notification(d, c, {{"component", "fail_c"}}, "pager");
  ASSERT_FALSE(warn_group.is_null());
  ASSERT_FALSE(fail_group.is_null());
  ASSERT_EQ(warn_group["alerts"].size(), 1u) << warn_group.dump(2);
  EXPECT_EQ(warn_group["alerts"][0]["labels"]["severity"], "warning");
  EXPECT_EQ(warn_group["alerts"][0]["receivers"], json::array({{{"name", "default"}}}));
  ASSERT_EQ(fail_group["alerts"].size(), 1u) << fail_group.dump(2);
  EXPECT_EQ(fail_group["alerts"][0]["labels"]["severity"], "critical");
  EXPECT_EQ(fail_group["alerts"][0]["labels"]["alertname"], "OpsreadyComponentNotOk");
  EXPECT_EQ(fail_group["key"], "{}/{severity=\"critical\"}/1:{component=\"fail_c\"}")
      << fail_group.dump(2);
  EXPECT_EQ(find_group(c, {{"component", "fail_c"}}, "default"), nullptr);
  EXPECT_EQ(find_group(c, {{"component", "warn_c"}}, "pager"), nullptr);
  // The overall readiness is critical: its alerts go to the pager, in the group without a
  // component label.
  const json readiness_group = find_group(c, json::object(), "pager");
  ASSERT_FALSE(readiness_group.is_null());
  EXPECT_FALSE(alert_named(readiness_group["alerts"], "OpsreadyReadinessNotOk").is_null())
      << readiness_group.dump(2);

  json route = get_json(c, "/api/v1/routes/test?label=severity%3Dcritical");
  ASSERT_FALSE(route["receivers"].empty()) << route.dump(2);
  EXPECT_EQ(route["receivers"][0], "pager");
  EXPECT_EQ(route["routes"][0]["receiver"], "pager");
  route = get_json(c, "/api/v1/routes/test?label=severity%3Dwarning&label=component%3Dwarn_c");
  EXPECT_EQ(route["receivers"], json::array({"default"})) << route.dump(2);
  auto bad = c.Get("/api/v1/routes/test?label=severity");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("label"), std::string::npos) << bad->body;
  EXPECT_EQ(get_json(c, "/api/v2/receivers"),
            json::array({{{"name", "default"}}, {{"name", "pager"}}}));

  // Back to ok: the alert resolves, leaves the list, and the group is told.
  ASSERT_EQ(post_events(c, json::array({snapshot("fail_c", "ok")})), 202);
  ASSERT_TRUE(eventually([&] { return v2_alerts(c, {"component=\"fail_c\""}).empty(); }))
      << v2_alerts(c, {"component=\"fail_c\""}).dump(2);
  const std::string key = fail_group["key"];
  ASSERT_TRUE(eventually([&] { return notifications_of(d, key).size() == 2; }))
      << dump(notifications(d));
  const auto decided = notifications_of(d, key);
  EXPECT_EQ(decided[1].reason, "all_resolved");
  EXPECT_EQ(decided[1].receiver, "pager");
  EXPECT_EQ(decided[1].firing, 0);
  EXPECT_EQ(decided[1].resolved, 1);
  EXPECT_EQ(find_group(c, {{"component", "fail_c"}}, "pager"), nullptr);
  EXPECT_FALSE(find_group(c, {{"component", "warn_c"}}, "default").is_null());

  // The store holds the same decisions (written behind).
  if (!fs::exists(kSqlite)) return;  // the log lines above are the decisions too
  const std::string resolved_fp = fail_group["alerts"][0]["fingerprint"];
  std::vector<json> rows;
  const bool stored = eventually([&] {
    rows = stored_notifications(database(dir));
    return std::any_of(rows.begin(), rows.end(), [&](const json& r) {
      return r["reason"] == "all_resolved" && r["group"] == key;
    });
  });
  ASSERT_TRUE(stored) << json(rows).dump(2);
  for (const json& row : rows) {
    if (row["group"] != key) continue;
    EXPECT_EQ(row["receiver"], "pager");
    EXPECT_EQ(row["group_id"], fail_group["id"]);
    if (row["reason"] == "first") {
      EXPECT_EQ(row["firing"], json::array({resolved_fp})) << row.dump(2);
      EXPECT_EQ(row["resolved"], json::array());
    } else {
      EXPECT_EQ(row["reason"], "all_resolved");
      EXPECT_EQ(row["firing"], json::array());
      EXPECT_EQ(row["resolved"], json::array({resolved_fp})) << row.dump(2);
    }
  }
}

// ---- 4. acknowledgements over HTTP
// ----------------------------------------------------------------

TEST(AlertingAck, AckAndUnackAGroupOverHttp) {
  TempDir dir;
  Daemon d({"serve", "--config", write_config(dir)});
  auto c = d.client();
  ASSERT_EQ(post_events(c, json::array({snapshot("ack_c", "fail")})), 202);
  const json group = wait_first_notification(d, c, {{"component", "ack_c"}}, "pager");
  ASSERT_FALSE(group.is_null());
  const std::string id = group["id"];
  EXPECT_EQ(id.size(), 16u) << id;
  EXPECT_FALSE(group.contains("ack"));
  const std::string path = "/api/v1/groups/" + id + "/ack";

  auto res = c.Post(path, R"({"by": "alice", "comment": "x"})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(json::parse(res->body), json({{"acknowledged", id}}));
  json listed = find_group(c, {{"component", "ack_c"}}, "pager");
  ASSERT_TRUE(listed.contains("ack")) << listed.dump(2);
  EXPECT_EQ(listed["ack"]["by"], "alice");
  EXPECT_EQ(listed["ack"]["comment"], "x");
  EXPECT_TRUE(listed["ack"].contains("at"));
  EXPECT_FALSE(listed["ack"].contains("expiresAt"));

  struct Case {
    std::string what;
    std::string path;
    std::string body;
    int status;
    std::string field;  // in the JSON body; empty: not asserted
  };
  const Case cases[] = {
      {"by missing", path, R"({"comment": "x"})", 400, "by"},
      {"by empty", path, R"({"by": "", "comment": "x"})", 400, "by"},
      {"expiresAt not a time", path, R"({"by": "bob", "expiresAt": "tomorrow"})", 400, ""},
      // The request's name, not the ack record's (expires_at).
      {"expiresAt in the past", path, R"({"by": "bob", "expiresAt": "2000-01-01T00:00:00Z"})", 400,
       "expiresAt"},
      {"unknown group", "/api/v1/groups/0123456789abcdef/ack", R"({"by": "alice"})", 404, ""},
  };
  for (const auto& cs : cases) {
    res = c.Post(cs.path, cs.body, "application/json");
    ASSERT_TRUE(res) << cs.what;
    EXPECT_EQ(res->status, cs.status) << cs.what << ": " << res->body;
    const json body = json::parse(res->body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << cs.what << ": " << res->body;
    if (!cs.field.empty()) {
      EXPECT_EQ(body.value("field", ""), cs.field) << cs.what << ": " << res->body;
    }
  }
  // The refused requests changed nothing.
  listed = find_group(c, {{"component", "ack_c"}}, "pager");
  ASSERT_TRUE(listed.contains("ack")) << listed.dump(2);
  EXPECT_EQ(listed["ack"]["by"], "alice");

  res = c.Delete(path + "?by=alice");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  listed = find_group(c, {{"component", "ack_c"}}, "pager");
  EXPECT_FALSE(listed.contains("ack")) << listed.dump(2);
  res = c.Delete("/api/v1/groups/0123456789abcdef/ack?by=alice");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404) << res->body;
}

// ---- 5. restart
// -----------------------------------------------------------------------------------

TEST(AlertingRestart, SilencesAndGroupLogsSurviveARestart) {
  TempDir dir;
  const std::string config = write_config(dir);
  const json silence = {
      {"matchers",
       json::array({{{"name", "component"}, {"value", "restart_silenced"}, {"isRegex", false}}})},
      {"startsAt", "2024-01-01T00:00:00Z"},
      {"endsAt", "2099-01-01T00:00:00Z"},
      {"createdBy", "alice"},
      {"comment", "kept across a restart"}};
  std::string silence_id;
  std::vector<std::string> notified_keys;
  json silences_before;
  {
    Daemon d({"serve", "--config", config});
    auto c = d.client();
    ASSERT_EQ(post_events(c, json::array({snapshot("restart_c", "fail")})), 202);
    ASSERT_FALSE(wait_first_notification(d, c, {{"component", "restart_c"}}, "pager").is_null());
    // Every group has had its first notification (one that had not would rightly notify after
    // the restart).
    json groups;
    const bool all_notified = eventually([&] {
      groups = get_json(c, "/api/v2/alerts/groups");
      const auto ns = notifications(d);
      return std::all_of(groups.begin(), groups.end(), [&](const json& g) {
        return std::any_of(ns.begin(), ns.end(),
                           [&](const Notified& n) { return n.group == g["key"]; });
      });
    });
    ASSERT_TRUE(all_notified) << groups.dump(2) << dump(notifications(d));
    for (const json& g : groups) notified_keys.push_back(g["key"]);
    auto res = c.Post("/api/v2/silences", silence.dump(), "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    silence_id = json::parse(res->body)["silenceID"];
    silences_before = get_json(c, "/api/v2/silences");
    d.signal(SIGTERM);
    const auto code = d.wait_exit(std::chrono::seconds(15));
    ASSERT_TRUE(code.has_value()) << d.log();
    ASSERT_EQ(*code, 0) << d.log();
  }
  ASSERT_GE(notified_keys.size(), 2u);
  if (fs::exists(kSqlite)) {  // the graceful stop wrote every decision
    const auto rows = stored_notifications(database(dir));
    for (const std::string& key : notified_keys) {
      EXPECT_TRUE(
          std::any_of(rows.begin(), rows.end(), [&](const json& r) { return r["group"] == key; }))
          << key << " not in the store: " << json(rows).dump(2);
    }
  }

  Daemon again({"serve", "--config", config});
  auto c = again.client();
  const json silences_after = get_json(c, "/api/v2/silences");
  EXPECT_EQ(silences_after, silences_before);
  ASSERT_EQ(silences_after.size(), 1u) << silences_after.dump(2);
  EXPECT_EQ(silences_after[0]["id"], silence_id);
  EXPECT_EQ(silences_after[0]["status"]["state"], "active");
  EXPECT_EQ(get_json(c, "/api/v2/silence/" + silence_id)["comment"], "kept across a restart");

  // The restored groups came back when the engine started, before this component's group: by
  // its first notification they have had their first tick. Only the new group notifies.
  ASSERT_EQ(post_events(c, json::array({snapshot("after_restart", "fail")})), 202);
  const json fresh = wait_first_notification(again, c, {{"component", "after_restart"}}, "pager");
  ASSERT_FALSE(fresh.is_null());
  for (const std::string& key : notified_keys) {
    const auto decided = notifications_of(again, key);
    EXPECT_TRUE(decided.empty()) << key << " notified again after the restart:\n" << dump(decided);
  }
  const auto all = notifications(again);
  ASSERT_EQ(all.size(), 1u) << dump(all);
  EXPECT_EQ(all[0].group, fresh["key"]);
}

// ---- 6. malformed input -------------------------------------------------------------------------

TEST(AlertingMalformed, BadSilencesAndABadAlertingSectionChangeNothing) {
  TempDir dir;
  Daemon d({"serve", "--config", write_config(dir)});
  auto c = d.client();
  const json good = {
      {"matchers", json::array({{{"name", "component"}, {"value", "x"}, {"isRegex", false}}})},
      {"startsAt", "2024-01-01T00:00:00Z"},
      {"endsAt", "2099-01-01T00:00:00Z"},
      {"createdBy", "alice"},
      {"comment", "the one silence"}};
  auto res = c.Post("/api/v2/silences", good.dump(), "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json before = get_json(c, "/api/v2/silences");
  ASSERT_EQ(before.size(), 1u);

  auto with = [&good](const std::string& key, json value) {
    json s = good;
    if (value.is_null()) {
      s.erase(key);
    } else {
      s[key] = std::move(value);
    }
    return s.dump();
  };
  struct Case {
    std::string what;
    std::string body;
    std::string field;
  };
  const Case cases[] = {
      {"bad matcher name",
       with("matchers", json::array({{{"name", "1bad"}, {"value", "x"}, {"isRegex", false}}})),
       "matchers[0].name"},
      {"bad matcher regex",
       with("matchers", json::array({{{"name", "a"}, {"value", "(unclosed"}, {"isRegex", true}}})),
       "matchers[0].value"},
      {"matcher without a name", with("matchers", json::array({{{"value", "x"}}})),
       "matchers[0].name"},
      {"no matcher", with("matchers", json::array()), "matchers"},
      {"a matcher that matches everything",
       with("matchers", json::array({{{"name", "a"}, {"value", ""}, {"isRegex", false}}})),
       "matchers"},
      {"missing startsAt", with("startsAt", nullptr), "startsAt"},
      {"bad startsAt", with("startsAt", "yesterday"), "startsAt"},
      {"missing createdBy", with("createdBy", nullptr), "createdBy"},
      {"endsAt in the past", with("endsAt", "2020-01-01T00:00:00Z"), "endsAt"},
  };
  for (const auto& cs : cases) {
    res = c.Post("/api/v2/silences", cs.body, "application/json");
    ASSERT_TRUE(res) << cs.what;
    EXPECT_EQ(res->status, 400) << cs.what << ": " << res->body;
    // Alertmanager's shape: the error is a JSON string, which starts with the field.
    const json body = json::parse(res->body, nullptr, false);
    ASSERT_TRUE(body.is_string()) << cs.what << ": " << res->body;
    EXPECT_TRUE(body.get<std::string>().starts_with(cs.field + ": "))
        << cs.what << ": " << res->body;
  }
  res = c.Post("/api/v2/silences", "{\"matchers\": [", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400) << res->body;
  EXPECT_EQ(get_json(c, "/api/v2/silences"), before);

  // A bad alerting section: check-config names file and line, and serve refuses to start.
  const std::string bad = kTestdata + "/bad_pagerduty.yml";
  RunResult r = run_for({OPSREADY_BINARY, "check-config", bad});
  EXPECT_EQ(r.exit_code, 65) << describe(r);
  EXPECT_NE(r.err.find("bad_pagerduty.yml:8:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("pagerduty_configs: not supported by opsready"), std::string::npos) << r.err;
  r = run_for({OPSREADY_BINARY, "serve", "--config", bad});
  EXPECT_EQ(r.exit_code, 65) << describe(r);
  EXPECT_NE(r.err.find("bad_pagerduty.yml:8:"), std::string::npos) << r.err;
  r = run_for({OPSREADY_BINARY, "check-config", write_config(dir)});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
}

}  // namespace
}  // namespace opsready::testing
