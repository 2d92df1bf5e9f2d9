// The alerting CLI against the real daemon: a Runtime started in this process on a loopback port
// (port 0) with its own data directory and a small routing policy, driven by the command
// functions with string streams. No test double stands in for the daemon, so a change of the
// API's shapes breaks these tests.

#include "opsready/app/alerting_cli.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/app/alerting_config.h"
#include "opsready/app/config.h"
#include "opsready/app/runtime.h"
#include "opsready/core/clock.h"
#include "opsready/supervise/runner.h"
#include "tests/support/temp_dir.h"

namespace opsready::app {
namespace {

using nlohmann::json;
using ::testing::_;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char* kToken = "cli-test-token";

// Critical alerts page and carry on; risk_engine alerts go to risk; everything else to ops.
// group_wait 0s opens a group (and so makes it ackable) at its first evaluation.
constexpr const char* kPolicy = R"(
route:
  receiver: ops
  group_by: [alertname]
  group_wait: 0s
  routes:
    - matchers: ['severity="critical"']
      receiver: pager
      continue: true
    - matchers: ['component="risk_engine"']
      receiver: risk
receivers:
  - name: ops
  - name: pager
  - name: risk
)";

// A daemon in this process: Runtime + RuntimeRunner on a thread, as `opsready serve` wires them.
class InProcessDaemon {
 public:
  InProcessDaemon() {
    auto policy = parse_alerting(kPolicy, "alerting-cli-test.yml");
    if (!policy) throw std::runtime_error(policy.error().front().describe());
    Config cfg;
    cfg.listen = {.host = "127.0.0.1", .port = 0};
    cfg.data_dir = dir_.path();
    cfg.alerting = policy->policy;
    cfg.ingest_tokens = {kToken};
    runtime_ = std::make_unique<Runtime>(cfg, core::SystemClock::instance());
    auto port = runtime_->start({});
    if (!port) throw std::runtime_error("cannot start: " + port.error().message);
    port_ = *port;
    runner_ = std::make_unique<supervise::RuntimeRunner>(
        runtime_->context(), runtime_->supervisor(),
        supervise::RunnerOptions{.handle_signals = false,
                                 .log = [](supervise::LogLevel, std::string_view) {}});
    thread_ = std::thread([this] { runner_->run(); });
    // Serving and evaluating: the store is open and the first evaluation has run.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!runtime_->ready()) {
      if (std::chrono::steady_clock::now() > deadline) {
        throw std::runtime_error("the daemon did not become ready within 30 s");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~InProcessDaemon() {
    runner_->request_stop();
    thread_.join();
  }
  InProcessDaemon(const InProcessDaemon&) = delete;
  InProcessDaemon& operator=(const InProcessDaemon&) = delete;

  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] std::string metrics() const { return runtime_->registry().expose(); }

 private:
  testing::TempDir dir_;
  std::unique_ptr<Runtime> runtime_;
  std::unique_ptr<supervise::RuntimeRunner> runner_;
  std::thread thread_;
  int port_ = 0;
};

// A loopback TCP port that refuses connections (bound, not listening) or that takes them and
// never answers (listening, never accepting), held for the life of the object.
class DeadPort {
 public:
  explicit DeadPort(bool listening) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        (listening && ::listen(fd_, 8) != 0) ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("cannot bind a loopback port");
    }
    port_ = ntohs(addr.sin_port);
  }
  ~DeadPort() { ::close(fd_); }
  DeadPort(const DeadPort&) = delete;
  DeadPort& operator=(const DeadPort&) = delete;

  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_;
  int port_ = 0;
};

// Sets (or, with nullopt, unsets) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

struct CommandRun {
  int code = -1;
  std::string out;
  std::string err;
};

template <typename Options, typename Fn>
CommandRun run(Fn fn, const Options& o) {
  std::ostringstream out;
  std::ostringstream err;
  CommandRun r;
  r.code = fn(o, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}
CommandRun alerts(const AlertsOptions& o) { return run(run_alerts, o); }
CommandRun silence(const SilenceOptions& o) { return run(run_silence, o); }
CommandRun routes(const RoutesTestOptions& o) { return run(run_routes_test, o); }

// The lines of `text` that contain `needle`.
std::vector<std::string> lines_with(const std::string& text, const std::string& needle) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.find(needle) != std::string::npos) out.push_back(line);
  }
  return out;
}

// A table row's cells: the text between runs of two or more spaces.
std::vector<std::string> cells(const std::string& row) {
  std::vector<std::string> out;
  std::size_t from = 0;
  while (from < row.size()) {
    const auto gap = row.find("  ", from);
    out.push_back(row.substr(from, gap == std::string::npos ? gap : gap - from));
    if (gap == std::string::npos) break;
    from = row.find_first_not_of(' ', gap);
  }
  return out;
}

class AlertingCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    spdlog::set_level(spdlog::level::warn);
    daemon_ = new InProcessDaemon();
  }
  static void TearDownTestSuite() {
    delete daemon_;
    daemon_ = nullptr;
  }

  // Every test starts with the token in the environment and a $USER, as in a shell.
  AlertingCli() : token_(kTokenEnv, kToken), user_("USER", "tester") {}

  static DaemonOptions to_daemon(std::string format = "text") {
    return {.url = daemon_->url(), .format = std::move(format)};
  }

  static InProcessDaemon* daemon_;
  ScopedEnv token_;
  ScopedEnv user_;
};

InProcessDaemon* AlertingCli::daemon_ = nullptr;

TEST_F(AlertingCli, SilenceAddListExpireListExpired) {
  const CommandRun added = silence({.daemon = to_daemon(),
                                    .action = SilenceOptions::Action::kAdd,
                                    .matchers = {"alertname=CliLifecycle", "severity=~crit.*"},
                                    .comment = "maintenance window",
                                    .duration = "2h"});
  ASSERT_EQ(added.code, kExitOk) << added.err;
  EXPECT_EQ(added.err, "");
  const std::string id = added.out.substr(0, added.out.find('\n'));
  EXPECT_TRUE(std::regex_match(
      added.out,
      std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\n")))
      << added.out;

  const CommandRun listed =
      silence({.daemon = to_daemon(), .action = SilenceOptions::Action::kList});
  ASSERT_EQ(listed.code, kExitOk) << listed.err;
  EXPECT_THAT(listed.out, StartsWith("ID "));
  const auto rows = lines_with(listed.out, id);
  ASSERT_EQ(rows.size(), 1u) << listed.out;
  EXPECT_THAT(cells(rows[0]), ElementsAre(id, R"({alertname="CliLifecycle",severity=~"crit.*"})",
                                          "active", _, "tester", "maintenance window"));
  const CommandRun none_expired =
      silence({.daemon = to_daemon(), .action = SilenceOptions::Action::kList, .expired = true});
  ASSERT_EQ(none_expired.code, kExitOk) << none_expired.err;
  EXPECT_THAT(lines_with(none_expired.out, id), ::testing::IsEmpty());

  const CommandRun expired =
      silence({.daemon = to_daemon(), .action = SilenceOptions::Action::kExpire, .ids = {id}});
  ASSERT_EQ(expired.code, kExitOk) << expired.err;
  EXPECT_EQ(expired.out, id + "\n");

  const CommandRun after =
      silence({.daemon = to_daemon(), .action = SilenceOptions::Action::kList});
  EXPECT_THAT(lines_with(after.out, id), ::testing::IsEmpty()) << after.out;
  const CommandRun listed_expired = silence({.daemon = to_daemon("json"),
                                             .action = SilenceOptions::Action::kList,
                                             .expired = true,
                                             .filters = {"alertname=CliLifecycle"}});
  ASSERT_EQ(listed_expired.code, kExitOk) << listed_expired.err;
  const json body = json::parse(listed_expired.out);
  ASSERT_EQ(body.size(), 1u) << body.dump(2);
  EXPECT_EQ(body[0]["id"], id);
  EXPECT_EQ(body[0]["status"]["state"], "expired");
  EXPECT_EQ(body[0]["createdBy"], "tester");
  EXPECT_EQ(
      body[0]["matchers"][1],
      (json{{"name", "severity"}, {"value", "crit.*"}, {"isRegex", true}, {"isEqual", true}}));
}

TEST_F(AlertingCli, AlertsListShowsTheWatchdogAndHidesItWhileSilenced) {
  const CommandRun listed = alerts({.daemon = to_daemon(), .action = AlertsOptions::Action::kList});
  ASSERT_EQ(listed.code, kExitOk) << listed.err;
  EXPECT_THAT(listed.out, StartsWith("ALERTNAME  "));
  EXPECT_THAT(listed.out, HasSubstr("SEVERITY"));
  const auto rows = lines_with(listed.out, "OpsreadyWatchdog");
  ASSERT_EQ(rows.size(), 1u) << listed.out;
  EXPECT_THAT(cells(rows[0]), ElementsAre("OpsreadyWatchdog", "none", _, "active", _,
                                          "Alerting pipeline heartbeat (always firing)"));

  const CommandRun as_json = alerts({.daemon = to_daemon("json"),
                                     .action = AlertsOptions::Action::kList,
                                     .filters = {"alertname=OpsreadyWatchdog"},
                                     .receiver = "o.s"});
  ASSERT_EQ(as_json.code, kExitOk) << as_json.err;
  const json body = json::parse(as_json.out);
  ASSERT_EQ(body.size(), 1u) << body.dump(2);
  EXPECT_EQ(body[0]["labels"]["alertname"], "OpsreadyWatchdog");
  EXPECT_EQ(body[0]["receivers"][0]["name"], "ops");
  const CommandRun other_receiver = alerts({.daemon = to_daemon("json"),
                                            .action = AlertsOptions::Action::kList,
                                            .filters = {"alertname=OpsreadyWatchdog"},
                                            .receiver = "pager"});
  ASSERT_EQ(other_receiver.code, kExitOk) << other_receiver.err;
  EXPECT_EQ(json::parse(other_receiver.out), json::array());

  // Silenced: gone from the default list, back with --silenced as "silenced".
  const CommandRun added = silence({.daemon = to_daemon(),
                                    .action = SilenceOptions::Action::kAdd,
                                    .matchers = {"alertname=OpsreadyWatchdog"},
                                    .comment = "quiet"});
  ASSERT_EQ(added.code, kExitOk) << added.err;
  const std::string id = added.out.substr(0, added.out.find('\n'));
  const CommandRun hidden = alerts({.daemon = to_daemon(), .action = AlertsOptions::Action::kList});
  EXPECT_THAT(lines_with(hidden.out, "OpsreadyWatchdog"), ::testing::IsEmpty()) << hidden.out;
  const CommandRun shown =
      alerts({.daemon = to_daemon(), .action = AlertsOptions::Action::kList, .silenced = true});
  const auto silenced_rows = lines_with(shown.out, "OpsreadyWatchdog");
  ASSERT_EQ(silenced_rows.size(), 1u) << shown.out;
  EXPECT_THAT(cells(silenced_rows[0]), ElementsAre("OpsreadyWatchdog", _, _, "silenced", _, _));
  EXPECT_EQ(
      silence({.daemon = to_daemon(), .action = SilenceOptions::Action::kExpire, .ids = {id}}).code,
      kExitOk);
}

TEST_F(AlertingCli, GroupsAckAndUnackTheWatchdogGroup) {
  // A group can be acked once it is open: from its first notification decision.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (daemon_->metrics().find("opsready_notifications_decided_total{") == std::string::npos) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no notification was decided";
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const CommandRun groups =
      alerts({.daemon = to_daemon("json"), .action = AlertsOptions::Action::kGroups});
  ASSERT_EQ(groups.code, kExitOk) << groups.err;
  std::string id;
  for (const json& g : json::parse(groups.out)) {
    if (g["labels"] == json{{"alertname", "OpsreadyWatchdog"}}) id = g["id"];
  }
  ASSERT_FALSE(id.empty()) << groups.out;

  const CommandRun acked = alerts({.daemon = to_daemon(),
                                   .action = AlertsOptions::Action::kAck,
                                   .group = id,
                                   .comment = "known",
                                   .expires = "1h"});
  ASSERT_EQ(acked.code, kExitOk) << acked.err;
  EXPECT_EQ(acked.out, "acknowledged " + id + " (by tester)\n");

  const CommandRun table =
      alerts({.daemon = to_daemon(), .action = AlertsOptions::Action::kGroups});
  ASSERT_EQ(table.code, kExitOk) << table.err;
  EXPECT_THAT(table.out, StartsWith("ID "));
  const auto rows = lines_with(table.out, id);
  ASSERT_EQ(rows.size(), 1u) << table.out;
  EXPECT_THAT(cells(rows[0]),
              ElementsAre(id, "ops", R"({alertname="OpsreadyWatchdog"})", "1", "tester", _));
  const CommandRun with_ack =
      alerts({.daemon = to_daemon("json"), .action = AlertsOptions::Action::kGroups});
  for (const json& g : json::parse(with_ack.out)) {
    if (g["id"] != id) continue;
    EXPECT_EQ(g["ack"]["by"], "tester");
    EXPECT_EQ(g["ack"]["comment"], "known");
    EXPECT_TRUE(g["ack"].contains("expiresAt"));
  }

  const CommandRun unacked = alerts(
      {.daemon = to_daemon(), .action = AlertsOptions::Action::kUnack, .group = id, .by = "alice"});
  ASSERT_EQ(unacked.code, kExitOk) << unacked.err;
  EXPECT_EQ(unacked.out, "unacknowledged " + id + " (by alice)\n");
  const CommandRun after =
      alerts({.daemon = to_daemon(), .action = AlertsOptions::Action::kGroups});
  const auto after_rows = lines_with(after.out, id);
  ASSERT_EQ(after_rows.size(), 1u);
  EXPECT_THAT(cells(after_rows[0]),
              ElementsAre(id, "ops", R"({alertname="OpsreadyWatchdog"})", "1", "-", "-"));
}

TEST_F(AlertingCli, AckOfAnUnknownGroupPrintsTheDaemonsError) {
  const CommandRun r = alerts({.daemon = to_daemon(),
                               .action = AlertsOptions::Action::kAck,
                               .group = "0123456789abcdef",
                               .by = "bob"});
  EXPECT_EQ(r.code, kExitDataErr);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "opsready: alerts ack: group: no alert group has the id or key '0123456789abcdef'\n");
  const CommandRun u = alerts({.daemon = to_daemon(),
                               .action = AlertsOptions::Action::kUnack,
                               .group = "0123456789abcdef"});
  EXPECT_EQ(u.code, kExitDataErr);
  EXPECT_THAT(u.err, StartsWith("opsready: alerts unack: group: no alert group"));
}

TEST_F(AlertingCli, ASilenceTheDaemonRefusesNamesTheField) {
  const CommandRun r = silence({.daemon = to_daemon(),
                                .action = SilenceOptions::Action::kAdd,
                                .matchers = {"alertname=~.*"},
                                .comment = "everything"});
  EXPECT_EQ(r.code, kExitDataErr);
  EXPECT_THAT(r.err, StartsWith("opsready: silence add: matchers: "));
  const CommandRun unknown = silence(
      {.daemon = to_daemon(), .action = SilenceOptions::Action::kExpire, .ids = {"no-such-id"}});
  EXPECT_EQ(unknown.code, kExitDataErr);
  EXPECT_THAT(unknown.err, StartsWith("opsready: silence expire: no-such-id: "));
}

TEST_F(AlertingCli, RoutesTestPrintsTheReceiversAndVerifiesThem) {
  struct Case {
    std::vector<std::string> labels;
    std::optional<std::string> verify;
    int code;
    std::string out;
  };
  const Case cases[] = {
      {{"alertname=X"}, std::nullopt, kExitOk, "ops\n"},
      {{"alertname=X,severity=critical", "component=risk_engine"},
       "pager,risk",
       kExitOk,
       "pager,risk\n"},
      {{"severity=critical"}, "pager", kExitOk, "pager\n"},
      {{"severity=critical"}, "ops", kExitMismatch, "pager\n"},
      {{"component=risk_engine,severity=critical"}, "risk,pager", kExitMismatch, "pager,risk\n"},
      {{}, "ops", kExitOk, "ops\n"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.labels));
    const CommandRun r = routes({.daemon = to_daemon(), .labels = c.labels, .verify = c.verify});
    EXPECT_EQ(r.code, c.code) << r.err;
    EXPECT_EQ(r.out, c.out);
    if (c.code == kExitMismatch) {
      EXPECT_EQ(r.err, "opsready: routes test: expected receivers '" + *c.verify + "', got '" +
                           c.out.substr(0, c.out.size() - 1) + "'\n");
    } else {
      EXPECT_EQ(r.err, "");
    }
  }
  const CommandRun as_json =
      routes({.daemon = to_daemon("json"), .labels = {"severity=critical,component=risk_engine"}});
  ASSERT_EQ(as_json.code, kExitOk) << as_json.err;
  const json body = json::parse(as_json.out);
  EXPECT_EQ(body["receivers"], (json{"pager", "risk"}));
  EXPECT_EQ(body["routes"].size(), 2u);
}

TEST_F(AlertingCli, ChangesNeedTheTokenFromAFileOrTheEnvironment) {
  testing::TempDir dir;
  const auto file = dir.path() / "token";
  std::ofstream(file) << kToken << "\n";
  const SilenceOptions add{
      .action = SilenceOptions::Action::kAdd, .matchers = {"alertname=CliAuth"}, .comment = "auth"};
  {
    ScopedEnv no_token(kTokenEnv, std::nullopt);
    SilenceOptions o = add;
    o.daemon = to_daemon();
    const CommandRun r = silence(o);
    EXPECT_EQ(r.code, kExitNoPerm);
    EXPECT_EQ(
        r.err,
        "opsready: silence add: this route needs an 'Authorization: Bearer <token>' header\n");
    o.daemon.token_file = file;
    const CommandRun with_file = silence(o);
    EXPECT_EQ(with_file.code, kExitOk) << with_file.err;
    o.daemon.token_file = dir.path() / "missing";
    const CommandRun missing = silence(o);
    EXPECT_EQ(missing.code, kExitNoInput);
    EXPECT_THAT(missing.err, HasSubstr("--token-file: cannot read '"));
  }
  {
    ScopedEnv wrong(kTokenEnv, "not-the-token");
    SilenceOptions o = add;
    o.daemon = to_daemon();
    const CommandRun r = silence(o);
    EXPECT_EQ(r.code, kExitNoPerm);
    EXPECT_EQ(r.err, "opsready: silence add: the bearer token is not valid\n");
    EXPECT_THAT(r.err, ::testing::Not(HasSubstr("not-the-token")));
  }
  // Reads stay open, and a path prefix with a trailing slash is kept as given.
  ScopedEnv no_token(kTokenEnv, std::nullopt);
  DaemonOptions d = to_daemon();
  d.url += "/";
  EXPECT_EQ(alerts({.daemon = d, .action = AlertsOptions::Action::kList}).code, kExitOk);
}

TEST_F(AlertingCli, AnUnreachableDaemonExits69) {
  const DeadPort refused(/*listening=*/false);
  const DeadPort silent(/*listening=*/true);
  for (const auto& [url, timeout, message] :
       {std::tuple{refused.url(), "10s", "cannot connect to the daemon at " + refused.url()},
        std::tuple{silent.url(), "200ms", "no answer from the daemon at " + silent.url()}}) {
    SCOPED_TRACE(url);
    const DaemonOptions d{.url = url, .timeout = timeout};
    const CommandRun runs[] = {
        alerts({.daemon = d, .action = AlertsOptions::Action::kList}),
        alerts({.daemon = d, .action = AlertsOptions::Action::kGroups}),
        alerts({.daemon = d, .action = AlertsOptions::Action::kAck, .group = "g"}),
        silence({.daemon = d, .action = SilenceOptions::Action::kList}),
        silence({.daemon = d, .action = SilenceOptions::Action::kExpire, .ids = {"a", "b"}}),
        routes({.daemon = d, .labels = {"a=b"}}),
    };
    for (const CommandRun& r : runs) {
      EXPECT_EQ(r.code, kExitUnavailable) << r.err;
      EXPECT_THAT(r.err, HasSubstr(message));
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;  // expire stops
    }
  }
}

TEST_F(AlertingCli, BadOptionsExit64BeforeAnyRequest) {
  // The daemon's address refuses connections: reaching it would exit 69, not 64.
  const DeadPort refused(/*listening=*/false);
  const DaemonOptions d{.url = refused.url()};
  struct Case {
    CommandRun run;
    std::string err;
  };
  DaemonOptions bad_format = d;
  bad_format.format = "yaml";
  DaemonOptions bad_timeout = d;
  bad_timeout.timeout = "soon";
  DaemonOptions bad_url = d;
  bad_url.url = "127.0.0.1:9477";
  const Case cases[] = {
      {silence({.daemon = d,
                .action = SilenceOptions::Action::kAdd,
                .matchers = {"alertname=~("},
                .comment = "c"}),
       "opsready: silence add: MATCHER: bad matcher 'alertname=~(': "},
      {silence({.daemon = d,
                .action = SilenceOptions::Action::kAdd,
                .matchers = {"alertname"},
                .comment = "c"}),
       "opsready: silence add: MATCHER: bad matcher 'alertname': "},
      {silence({.daemon = d, .action = SilenceOptions::Action::kAdd, .matchers = {"a=b"}}),
       "opsready: silence add: --comment: required"},
      {silence({.daemon = d,
                .action = SilenceOptions::Action::kAdd,
                .matchers = {"a=b"},
                .comment = "c",
                .duration = "1h",
                .end = "2030-01-01T00:00:00Z"}),
       "opsready: silence add: --duration and --end: give one of them"},
      {silence({.daemon = d,
                .action = SilenceOptions::Action::kAdd,
                .matchers = {"a=b"},
                .comment = "c",
                .duration = "0s"}),
       "opsready: silence add: --duration: must be longer than zero"},
      {silence({.daemon = d,
                .action = SilenceOptions::Action::kAdd,
                .matchers = {"a=b"},
                .comment = "c",
                .start = "tomorrow"}),
       "opsready: silence add: --start: 'tomorrow' is not an RFC 3339 time"},
      {silence({.daemon = d, .action = SilenceOptions::Action::kList, .filters = {"{a=b"}}),
       "opsready: silence list: --filter: bad matcher '{a=b': "},
      {alerts({.daemon = d, .action = AlertsOptions::Action::kList, .filters = {"a"}}),
       "opsready: alerts list: --filter: bad matcher 'a': "},
      {alerts({.daemon = d, .action = AlertsOptions::Action::kList, .receiver = "("}),
       "opsready: alerts list: --receiver: bad regular expression '(': "},
      {alerts(
           {.daemon = d, .action = AlertsOptions::Action::kAck, .group = "g", .expires = "later"}),
       "opsready: alerts ack: --expires: 'later' is neither a duration"},
      {alerts({.daemon = d, .action = AlertsOptions::Action::kAck, .group = "g", .by = ""}),
       "opsready: alerts ack: --by: required (it is empty)"},
      {routes({.daemon = d, .labels = {"a=b,novalue"}}),
       "opsready: routes test: --labels: 'novalue' is not name=value"},
      {routes({.daemon = d, .labels = {"a=b", "a=c"}}),
       "opsready: routes test: --labels: label 'a' is given twice"},
      {alerts({.daemon = bad_format, .action = AlertsOptions::Action::kGroups}),
       "opsready: alerts groups: --format: must be text or json, not 'yaml'"},
      {silence({.daemon = bad_timeout, .action = SilenceOptions::Action::kList}),
       "opsready: silence list: --timeout: 'soon' is not a duration"},
      {routes({.daemon = bad_url, .labels = {"a=b"}}),
       "opsready: routes test: --url: '127.0.0.1:9477' must start with http:// or https://"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.run.code, kExitUsage) << c.run.err;
    EXPECT_THAT(c.run.err, StartsWith(c.err));
    EXPECT_EQ(c.run.out, "");
  }
  ScopedEnv no_user("USER", std::nullopt);
  const CommandRun r = alerts({.daemon = d, .action = AlertsOptions::Action::kUnack, .group = "g"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_EQ(r.err, "opsready: alerts unack: --by: required ($USER is not set)\n");
}

}  // namespace
}  // namespace opsready::app
