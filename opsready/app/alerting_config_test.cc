#include "opsready/app/alerting_config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "opsready/alerting/route.h"
#include "opsready/app/config.h"

namespace opsready::app {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const fs::path kTestdata = fs::path(__FILE__).parent_path() / "testdata" / "alerting";
const fs::path kExamples =
    fs::path(__FILE__).parent_path().parent_path().parent_path() / "examples" / "alerting";

std::vector<std::string> describe_all(const std::vector<ConfigError>& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) out.push_back(e.describe());
  return out;
}

alerting::Matchers M(std::string_view text) {
  auto ms = alerting::parse_matchers(text);
  if (!ms) {
    ADD_FAILURE() << text << ": " << ms.error().message;
    return {};
  }
  return *ms;
}

// The receivers Route::match() reaches for `labels`.
std::set<std::string> receivers_for(const alerting::Route& tree, const core::LabelSet& labels) {
  std::set<std::string> out;
  for (const auto* r : tree.match(labels)) out.insert(r->receiver());
  return out;
}

alerting::Route build_or_die(const alerting::RouteSpec& spec) {
  auto tree = alerting::Route::build(spec);
  if (!tree) {
    ADD_FAILURE() << tree.error().describe();
    return *alerting::Route::build(alerting::RouteSpec{.receiver = "unused"});
  }
  return *tree;
}

TEST(AlertingConfig, AbsentSectionKeepsTheDefaultPolicy) {
  auto cfg = parse_config("listen: 127.0.0.1:0\n", "t.yml");
  ASSERT_TRUE(cfg) << cfg.error().front().describe();
  EXPECT_EQ(cfg->alerting, alerting::default_policy());
}

// The inline section, every part of the policy read into its value.
TEST(AlertingConfig, InlineSectionLoads) {
  const char* yaml = R"(alerting:
  global:
    resolve_timeout: 1h30m
    smtp_smarthost: smtp.example.org:587
    smtp_from: am@example.org
  route:
    receiver: ops
    group_by: [alertname, cluster]
    group_wait: 0s
    group_interval: 1m
    repeat_interval: 1d
    routes:
      - receiver: pager
        matchers: ['severity="critical"', 'team=~"db|infra", env!="dev"']
        continue: true
        mute_time_intervals: [nights]
        routes:
          - {receiver: ops, active_time_intervals: [nights], repeat_interval: 1w}
  receivers:
    - name: ops
      email_configs:
        - to: ops@example.org
          require_tls: false
      webhook_configs:
        - url: https://hooks.example.org/a
        - url: https://hooks.example.org/b
          send_resolved: false
          max_alerts: 5
      escalation:
        - {after: 15m, receiver: pager}
    - name: pager
      sms_configs:
        - gateway_url: https://sms.example.org/send
          recipients: ['+15550100']
      github_configs:
        - repository: acme/ops-alerts
          token: t0ken
          issue_number: 7
  inhibit_rules:
    - source_matchers: [severity="critical"]
      target_matchers: [severity="warning"]
      equal: [alertname]
      name: critical-mutes-warning
  time_intervals:
    - name: nights
      time_intervals:
        - times: [{start_time: '00:00', end_time: '06:00'}, {start_time: '22:00', end_time: '24:00'}]
          weekdays: ['monday:friday']
          days_of_month: ['1:-1']
          months: ['january:march', '12']
          years: ['2024:2030']
          location: Europe/Berlin
  templates: []
)";
  auto cfg = parse_config(yaml, "conf/t.yml");
  ASSERT_TRUE(cfg) << describe_all(cfg.error()).front();
  EXPECT_TRUE(cfg->warnings.empty()) << cfg->warnings.front().describe();
  const alerting::Policy& p = cfg->alerting;
  alerting::Policy want;
  want.source = "conf/t.yml";
  want.global = {{"resolve_timeout", "1h30m"},
                 {"smtp_smarthost", "smtp.example.org:587"},
                 {"smtp_from", "am@example.org"}};
  want.route = alerting::RouteSpec{
      .receiver = "ops",
      .group_by = std::vector<std::string>{"alertname", "cluster"},
      .group_wait = 0s,
      .group_interval = 1min,
      .repeat_interval = 24h,
      .routes = {alerting::RouteSpec{
          .receiver = "pager",
          .matchers = M(R"(severity="critical", team=~"db|infra", env!="dev")"),
          .continue_matching = true,
          .mute_time_intervals = {"nights"},
          .routes = {alerting::RouteSpec{.receiver = "ops",
                                         .repeat_interval = 24h * 7,
                                         .active_time_intervals = {"nights"}}}}}};
  want.receivers = {
      alerting::Receiver{
          .name = "ops",
          .integrations = {{.type = "webhook",
                            .send_resolved = true,
                            .settings = {{"url", "https://hooks.example.org/a"}},
                            .line = 25},
                           {.type = "webhook",
                            .send_resolved = false,
                            .settings = {{"url", "https://hooks.example.org/b"}, {"max_alerts", 5}},
                            .line = 26},
                           {.type = "email",
                            .send_resolved = false,
                            .settings = {{"to", "ops@example.org"}, {"require_tls", false}},
                            .line = 22}},
          .escalation = {{.after = 15min, .receiver = "pager"}}},
      alerting::Receiver{
          .name = "pager",
          .integrations = {{.type = "sms",
                            .settings = {{"gateway_url", "https://sms.example.org/send"},
                                         {"recipients", {"+15550100"}}},
                            .line = 33},
                           {.type = "github",
                            .settings = {{"repository", "acme/ops-alerts"},
                                         {"token", "t0ken"},
                                         {"issue_number", 7}},
                            .line = 36}}}};
  want.inhibit_rules = {alerting::InhibitRule{.source = M("severity=critical"),
                                              .target = M("severity=warning"),
                                              .equal = {"alertname"},
                                              .name = "critical-mutes-warning"}};
  want.time_intervals = {alerting::TimeInterval{.name = "nights",
                                                .ranges = {{.times = {{0, 360}, {1320, 1440}},
                                                            .weekdays = {{1, 5}},
                                                            .days_of_month = {{1, -1}},
                                                            .months = {{1, 3}, {12, 12}},
                                                            .years = {{2024, 2030}},
                                                            .location = "Europe/Berlin"}}}};
  // Integrations come in the order of the receiver table's keys (webhook before email), each
  // list in file order.
  EXPECT_EQ(p.route, want.route);
  EXPECT_EQ(p.receivers, want.receivers);
  EXPECT_EQ(p.inhibit_rules, want.inhibit_rules);
  EXPECT_EQ(p.time_intervals, want.time_intervals);
  EXPECT_EQ(p.global, want.global);
  EXPECT_EQ(p, want);
}

// Every error, with the line it is on, and nothing applied from a section with errors.
TEST(AlertingConfig, ErrorsNameTheKeyAndLine) {
  struct Case {
    const char* name;
    const char* yaml;
    std::vector<std::string> want;
  };
  const Case cases[] = {
      {"an integration opsready does not deliver to",
       "alerting:\n  route: {receiver: a}\n  receivers:\n    - name: a\n    - name: b\n"
       "    - name: c\n      pagerduty_configs:\n        - routing_key: x\n",
       {"t.yml:7: alerting.receivers[2].pagerduty_configs: not supported by opsready "
        "(supported: webhook_configs, email_configs, slack_configs, sms_configs, "
        "github_configs)"}},
      {"templates",
       "alerting:\n  templates: ['/etc/am/*.tmpl']\n  route: {receiver: a}\n"
       "  receivers: [{name: a}]\n",
       {"t.yml:2: alerting.templates: not supported by opsready: Alertmanager's templates are "
        "Go templates, which opsready does not run (leave the list empty)"}},
      {"config_file with inline keys",
       "alerting:\n  config_file: am.yml\n  route: {receiver: a}\n  receivers: [{name: a}]\n",
       {"t.yml:2: alerting.config_file cannot be combined with inline policy keys (route, "
        "receivers): put the whole policy in the file it names"}},
      {"config_file that cannot be read",
       "alerting:\n  config_file: no-such-file.yml\n",
       {"t.yml:2: alerting.config_file: cannot read 'no-such-file.yml': No such file or "
        "directory"}},
      {"no route", "alerting:\n  receivers: [{name: a}]\n", {"t.yml:2: alerting needs 'route'"}},
      {"an empty section", "alerting:\n", {"t.yml:2: alerting needs 'route'"}},
      {"unknown keys",
       "alerting:\n  route:\n    receiver: a\n    group_wiat: 1m\n  receivers:\n"
       "    - name: a\n      webhook_configs:\n        - url: http://x/\n          urll: y\n",
       {"t.yml:4: unknown key 'group_wiat' in alerting.route (known: receiver, group_by, "
        "continue, match, match_re, matchers, group_wait, group_interval, repeat_interval, "
        "mute_time_intervals, active_time_intervals, routes)",
        "t.yml:9: alerting.receivers[0].webhook_configs[0].urll: unknown key (known: "
        "send_resolved, http_config, url, max_alerts, format, signature_secret, "
        "signature_secret_file, headers)"}},
      {"a bad matcher",
       "alerting:\n  route:\n    receiver: a\n    routes:\n      - receiver: a\n"
       "        matchers:\n          - 'severity=~\"critical\"'\n          - "
       "'severity>=\"warning\"'\n"
       "  receivers: [{name: a}]\n",
       {"t.yml:8: alerting.route.routes[0].matchers[1]: position 0: invalid label name "
        "\"severity>\" (a label name matches [a-zA-Z_:][a-zA-Z0-9_:]*)"}},
      {"durations in Alertmanager's syntax only",
       "alerting:\n  route:\n    receiver: a\n    group_wait: 30 seconds\n"
       "    repeat_interval: 30m1h\n  receivers: [{name: a}]\n",
       {"t.yml:4: alerting.route.group_wait: not a valid duration string: '30 seconds' (units "
        "y, w, d, h, m, s, ms, in that order, e.g. 1h30m)",
        "t.yml:5: alerting.route.repeat_interval: not a valid duration string: '30m1h' (units "
        "y, w, d, h, m, s, ms, in that order, e.g. 1h30m)"}},
      {"references to receivers and time intervals",
       "alerting:\n  route:\n    receiver: a\n    routes:\n      - receiver: b\n"
       "        mute_time_intervals: [nights]\n  receivers:\n    - name: a\n"
       "      escalation: [{after: 10m, receiver: c}]\n",
       {"t.yml:9: alerting.receivers[0].escalation[0].receiver: undefined receiver 'c' used in "
        "escalation",
        "t.yml:5: alerting.route.routes[0].receiver: undefined receiver 'b' used in route",
        "t.yml:6: alerting.route.routes[0].mute_time_intervals[0]: undefined time interval "
        "'nights' used in route"}},
      {"duplicate names",
       "alerting:\n  route: {receiver: a}\n  receivers:\n    - name: a\n    - name: a\n"
       "  time_intervals:\n    - {name: t}\n  mute_time_intervals:\n    - {name: t}\n",
       {"t.yml:5: alerting.receivers[1].name: receiver name 'a' is not unique",
        "t.yml:9: alerting.mute_time_intervals[0].name: time interval 't' is not unique"}},
      {"time interval values",
       "alerting:\n  route: {receiver: a}\n  receivers: [{name: a}]\n  time_intervals:\n"
       "    - name: t\n      time_intervals:\n        - weekdays: ['friday:monday']\n"
       "          times: [{start_time: '9:00', end_time: '17:00'}, {start_time: '10:00'}]\n"
       "          location: Mars/Olympus\n",
       {"t.yml:8: alerting.time_intervals[0].time_intervals[0].times[0]: couldn't parse "
        "timestamp '9:00', invalid format (HH:MM from 00:00 to 24:00)",
        "t.yml:8: alerting.time_intervals[0].time_intervals[0].times[1] needs 'end_time'",
        "t.yml:7: alerting.time_intervals[0].time_intervals[0].weekdays[0]: start day friday "
        "is after end day monday",
        "t.yml:9: alerting.time_intervals[0].time_intervals[0].location: unknown time zone "
        "'Mars/Olympus' (an IANA name such as Europe/Berlin, or UTC, or Local)"}},
      {"what opsready cannot honour in http_config and tls_config",
       "alerting:\n  route: {receiver: a}\n  receivers:\n    - name: a\n      webhook_configs:\n"
       "        - url: https://x/\n          http_config:\n            oauth2: {client_id: x}\n"
       "            tls_config:\n              server_name: other\n",
       {"t.yml:8: alerting.receivers[0].webhook_configs[0].http_config.oauth2: not supported by "
        "opsready",
        "t.yml:10: alerting.receivers[0].webhook_configs[0].http_config.tls_config.server_name: "
        "not supported by opsready"}},
      {"values checked by the integration's key table",
       "alerting:\n  route: {receiver: a}\n  receivers:\n    - name: a\n      email_configs:\n"
       "        - smarthost: smtp.example.org\n          send_resolved: maybe\n",
       {"t.yml:7: alerting.receivers[0].email_configs[0].send_resolved: must be true or false",
        "t.yml:6: alerting.receivers[0].email_configs[0].smarthost: 'smtp.example.org' is not "
        "HOST:PORT (e.g. smtp.example.org:587)",
        "t.yml:6: alerting.receivers[0].email_configs[0]: missing required key 'to'"}},
      {"the root route's rules",
       "alerting:\n  route:\n    receiver: a\n    matchers: [a=b]\n    continue: true\n"
       "  receivers: [{name: a}]\n",
       {"t.yml:4: alerting.route.matchers: the root route must not have any matchers: every "
        "alert enters there"}},
      {"templates that delivery could not render, found before 3 a.m.",
       "alerting:\n  route: {receiver: a}\n  receivers:\n    - name: a\n      slack_configs:\n"
       "        - api_url: https://hooks.slack.example/x\n"
       "          title: '{{ .CommonLabels.alertname }}'\n"
       "    - name: b\n      email_configs:\n        - to: ops@example.org\n"
       "          smarthost: smtp.example.org:587\n          from: o@example.org\n"
       "          text: '{{#alerts}}{{labels.alertname}}'\n",
       {"t.yml:7: alerting.receivers[0].slack_configs[0].title: is an Alertmanager (Go) template, "
        "which opsready does not run; write it in mustache (docs/receivers.md#templates), e.g. "
        "'{{commonLabels.alertname}}'",
        "t.yml:13: alerting.receivers[1].email_configs[0].text: mustache: Unclosed section "
        "\"alerts\" at 0"}},
      {"inhibit rules",
       "alerting:\n  route: {receiver: a}\n  receivers: [{name: a}]\n  inhibit_rules:\n"
       "    - source_matchers: [a=b]\n      equal: [bad-label]\n",
       {"t.yml:6: alerting.inhibit_rules[0].equal[0]: invalid label name \"bad-label\" in "
        "equal"}},
  };
  for (const auto& c : cases) {
    auto cfg = parse_config(c.yaml, "t.yml");
    ASSERT_FALSE(cfg) << c.name;
    EXPECT_EQ(describe_all(cfg.error()), c.want) << c.name;
  }
}

TEST(AlertingConfig, WarningsLoadTheFile) {
  struct Case {
    const char* name;
    const char* yaml;
    std::vector<std::string> want;
  };
  const Case cases[] = {
      {"deprecated match and match_re, with the matchers to write",
       "alerting:\n  route:\n    receiver: a\n    routes:\n      - receiver: a\n"
       "        match: {severity: critical, team: db}\n        match_re:\n"
       "          service: \"mysql|postgres\"\n  receivers: [{name: a}]\n",
       {"t.yml:6: alerting.route.routes[0].match is deprecated; write it as matchers: "
        "['severity=\"critical\"', 'team=\"db\"']",
        "t.yml:7: alerting.route.routes[0].match_re is deprecated; write it as matchers: "
        "['service=~\"mysql|postgres\"']"}},
      {"deprecated inhibit rule maps",
       "alerting:\n  route: {receiver: a}\n  receivers: [{name: a}]\n  inhibit_rules:\n"
       "    - source_match: {severity: critical}\n      target_match_re: {severity: 'warn.*'}\n",
       {"t.yml:5: alerting.inhibit_rules[0].source_match is deprecated; write it as "
        "source_matchers: ['severity=\"critical\"']",
        "t.yml:6: alerting.inhibit_rules[0].target_match_re is deprecated; write it as "
        "target_matchers: ['severity=~\"warn.*\"']"}},
      {"deprecated mute_time_intervals",
       "alerting:\n  route:\n    receiver: a\n    routes: [{receiver: a, mute_time_intervals: "
       "[w]}]\n  receivers: [{name: a}]\n  mute_time_intervals:\n"
       "    - {name: w, time_intervals: [{weekdays: [saturday, sunday]}]}\n",
       {"t.yml:6: alerting.mute_time_intervals is deprecated; write it as time_intervals (the "
        "same keys)"}},
      {"no endpoint",
       "alerting:\n  route: {receiver: a}\n  receivers:\n    - name: a\n      slack_configs:\n"
       "        - channel: '#ops'\n",
       {"t.yml:6: alerting.receivers[0].slack_configs[0]: no api_url (here or "
        "global.slack_api_url): notifications are recorded, not sent"}},
  };
  for (const auto& c : cases) {
    auto cfg = parse_config(c.yaml, "t.yml");
    ASSERT_TRUE(cfg) << c.name << ": " << describe_all(cfg.error()).front();
    EXPECT_EQ(describe_all(cfg->warnings), c.want) << c.name;
  }
  // The deprecated maps become the same matchers as the `matchers` they suggest.
  auto old = parse_config(
      "alerting:\n  route:\n    receiver: a\n    routes: [{receiver: a, match: {team: db}, "
      "match_re: {env: 'prod|staging'}}]\n  receivers: [{name: a}]\n",
      "t.yml");
  auto now = parse_config(
      "alerting:\n  route:\n    receiver: a\n    routes: [{receiver: a, matchers: ['team=\"db\"', "
      "'env=~\"prod|staging\"']}]\n  receivers: [{name: a}]\n",
      "t.yml");
  ASSERT_TRUE(old && now);
  EXPECT_EQ(build_or_die(old->alerting.route), build_or_die(now->alerting.route));
}

TEST(AlertingConfig, ConfigFileIsRelativeToTheConfiguration) {
  auto cfg = load_config_file(kTestdata / "config-file.yml");
  ASSERT_TRUE(cfg) << describe_all(cfg.error()).front();
  const fs::path am = kTestdata / "../../../../examples/alerting/alertmanager.yml";
  EXPECT_EQ(cfg->alerting.source, am.string());
  // The same policy as the file loaded on its own, and its warning under its own name.
  auto alone = load_alerting_file(am);
  ASSERT_TRUE(alone) << describe_all(alone.error()).front();
  EXPECT_EQ(cfg->alerting, alone->policy);
  EXPECT_EQ(describe_all(cfg->warnings), describe_all(alone->warnings));
}

TEST(AlertingConfig, ErrorsInTheConfigFileCarryItsName) {
  auto cfg = load_config_file(kTestdata / "bad-config-file.yml");
  ASSERT_FALSE(cfg);
  const std::string am = (kTestdata / "bad-alertmanager.yml").string();
  EXPECT_EQ(describe_all(cfg.error()),
            (std::vector<std::string>{
                am + ":5: route.group_wait: not a valid duration string: '30 seconds' (units y, "
                     "w, d, h, m, s, ms, in that order, e.g. 1h30m)",
                am + ":8: route.routes[0].matchers[0]: position 10: unescaped double quote in "
                     "the value of \"severity\" (write \\\" for a literal quote)",
                am + ":13: receivers[0].email_configs[0].smarthost: 'smtp.example.org' is not "
                     "HOST:PORT (e.g. smtp.example.org:587)",
                am + ":15: receivers[1].pagerduty_configs: not supported by opsready "
                     "(supported: webhook_configs, email_configs, slack_configs, sms_configs, "
                     "github_configs)",
                am + ":2: templates: not supported by opsready: Alertmanager's templates are Go "
                     "templates, which opsready does not run (leave the list empty)",
                (kTestdata / "bad-config-file.yml").string() +
                    ":3: alerting.config_file: 5 error(s) in '" + am + "'",
            }));
}

TEST(AlertingConfig, ExampleAlertmanagerFileLoadsUnchanged) {
  auto loaded = load_alerting_file(kExamples / "alertmanager.yml");
  ASSERT_TRUE(loaded) << describe_all(loaded.error()).front();
  const std::string file = (kExamples / "alertmanager.yml").string();
  EXPECT_EQ(describe_all(loaded->warnings),
            (std::vector<std::string>{
                file + ":45: route.routes[3].match_re is deprecated; write it as matchers: "
                       "['job=~\"ci-.*\"']"}));
  const alerting::Policy& p = loaded->policy;
  EXPECT_EQ(p.receivers.size(), 6u);
  EXPECT_EQ(p.inhibit_rules.size(), 2u);
  EXPECT_EQ(p.time_intervals.size(), 3u);
  EXPECT_EQ(p.global["smtp_require_tls"], true);
  const alerting::Route tree = build_or_die(p.route);
  EXPECT_EQ(receivers_for(tree, {{"severity", "critical"}, {"service", "mysql"}}),
            (std::set<std::string>{"pager", "team-db-oncall"}));
  EXPECT_EQ(receivers_for(tree, {{"severity", "warning"}, {"team", "frontend"}}),
            (std::set<std::string>{"team-frontend"}));
  EXPECT_EQ(receivers_for(tree, {{"job", "ci-nightly"}}), (std::set<std::string>{"ci"}));
  EXPECT_EQ(receivers_for(tree, {{"alertname", "Other"}}), (std::set<std::string>{"team-ops"}));
}

TEST(AlertingConfig, RelativeFilesAreResolvedAgainstTheirFile) {
  auto loaded = load_alerting_file(kTestdata / "secrets-relative.yml");
  ASSERT_TRUE(loaded) << describe_all(loaded.error()).front();
  EXPECT_EQ(loaded->policy.global["slack_api_url_file"],
            (kTestdata / "secrets/slack_url").string());
  const auto& github = loaded->policy.receivers[0].integrations[1];
  ASSERT_EQ(github.type, "github");
  EXPECT_EQ(github.settings["token_file"], (kTestdata / "secrets/github_token").string());
  EXPECT_TRUE(loaded->warnings.empty()) << loaded->warnings.front().describe();
}

// spec §1.8 against examples/alerting/brief-default-policy.yml: the receivers each event
// reaches (the brief's channels, set-wise: route order is the file's, as the brief's channel
// order).
TEST(AlertingConfig, BriefDefaultPolicyRoutesAsTheBrief) {
  auto cfg = load_config_file(kTestdata / "brief-policy.yml");
  ASSERT_TRUE(cfg) << describe_all(cfg.error()).front();
  alerting::Policy policy = cfg->alerting;
  const std::set<std::string> ews = {"ops-email", "ops-slack", "ops-webhook"};
  const std::set<std::string> ewsg = {"ops-email", "ops-slack", "ops-webhook", "ops-github"};
  const std::set<std::string> all = {"ops-email", "ops-slack", "ops-webhook", "ops-sms",
                                     "ops-github"};
  const std::set<std::string> blackhole = {"blackhole"};
  struct Case {
    const char* category;
    const char* severity;
    std::set<std::string> want;
  };
  const Case cases[] = {
      // §1.8 1
      {"risk_breach", "warning", ews},
      {"system_failure", "critical", all},
      {"system_failure", "warning", ews},
      // §1.8 3
      {"operational.readiness", "warning", ews},
      {"operational.drift_sentry", "warning", ews},
      {"sensory.drift.why", "warning", ews},
      {"system_validation.reliability", "warning", ews},
      {"incident_response.missing_runbooks", "critical", all},
      {"incident_response.mtta", "critical", all},
      // §1.6's net effect: critical adds GitHub, SMS only for the three SMS rules.
      {"risk_breach", "critical", ewsg},
      {"operational.readiness", "critical", ewsg},
      {"understanding.drift_sentry", "critical", ewsg},
      {"sensory.drift", "warning", ews},
      {"system_validation.check", "critical", ewsg},
      {"incident_response.roster.primary", "warning", ews},
      {"incident_response.metrics_staleness", "critical", all},
      {"incident_response.chatops", "critical", ewsg},
      // The gates, unrouted in the brief.
      {"operational.readiness.gate", "warning", ews},
      {"incident_response.gate", "critical", ewsg},
      // What no rule takes stays on the root.
      {"risk_breach", "info", blackhole},
      {"sensory.drift.volume", "critical", blackhole},
      {"operational.readinessX", "critical", blackhole},
      {"unknown", "critical", blackhole},
  };
  const alerting::Route tree = build_or_die(policy.route);
  for (const auto& c : cases) {
    EXPECT_EQ(receivers_for(tree, {{"category", c.category}, {"severity", c.severity}}), c.want)
        << c.category << "/" << c.severity;
  }
  // suppress_seconds → repeat_interval, per rule; the timers the mapping chose.
  const auto& rules = tree.routes();
  ASSERT_EQ(rules.size(), 11u);
  const std::vector<core::Duration> suppress = {300s, 120s, 600s, 300s, 600s, 300s,
                                                600s, 300s, 600s, 300s, 600s};
  for (std::size_t i = 0; i < rules.size(); ++i) {
    EXPECT_EQ(rules[i].repeat_interval(), suppress[i]) << i;
    EXPECT_EQ(rules[i].group_wait(), 0s) << i;
    EXPECT_EQ(rules[i].group_interval(), 30s) << i;
    EXPECT_EQ(rules[i].group_by(), std::vector<std::string>{"category"}) << i;
    for (const auto& channel : rules[i].routes()) {
      EXPECT_EQ(channel.repeat_interval(), suppress[i]) << i << " " << channel.receiver();
    }
  }
  // Every channel records only (no endpoint), and says so.
  EXPECT_EQ(cfg->warnings.size(), 5u);
  for (const auto& w : cfg->warnings) {
    EXPECT_NE(w.message.find("notifications are recorded, not sent"), std::string::npos)
        << w.describe();
  }

  // §1.8 4, the tag filter: a prod-only rule after system-failure, which therefore needs
  // `continue`; its `tags: [prod]` is a matcher on the comma-joined `tags` label.
  policy.receivers.push_back(
      {.name = "prod-email",
       .integrations = {{.type = "email", .settings = {{"to", "prod@example.com"}}}}});
  policy.route.routes[1].continue_matching = true;
  policy.route.routes.push_back(alerting::RouteSpec{
      .matchers = M(R"(category=~"system_failure", severity=~"warning|critical", )"
                    R"(tags=~"(.*,)?prod(,.*)?")"),
      .routes = {alerting::RouteSpec{.receiver = "prod-email",
                                     .matchers = M(R"(severity=~"warning|critical")"),
                                     .continue_matching = true}}});
  ASSERT_TRUE(alerting::validate(policy)) << alerting::validate(policy).error().describe();
  const alerting::Route tagged = build_or_die(policy.route);
  std::set<std::string> with_prod = all;
  with_prod.insert("prod-email");
  EXPECT_EQ(
      receivers_for(tagged,
                    {{"category", "system_failure"}, {"severity", "critical"}, {"tags", "dev,ci"}}),
      all);
  EXPECT_EQ(
      receivers_for(
          tagged, {{"category", "system_failure"}, {"severity", "critical"}, {"tags", "eu,prod"}}),
      with_prod);
  EXPECT_EQ(
      receivers_for(
          tagged, {{"category", "system_failure"}, {"severity", "critical"}, {"tags", "preprod"}}),
      all);
  // The prod route is a group of its own, so system-failure's window does not hold it back.
  const auto prod =
      tagged.match({{"category", "system_failure"}, {"severity", "warning"}, {"tags", "prod"}});
  std::set<std::string> ids;
  for (const auto* r : prod) ids.insert(r->id());
  EXPECT_EQ(ids.size(), prod.size());

  // §1.8 5: a channel's bad min_severity is refused at load, with file:line.
  auto bad = load_alerting_file(kTestdata / "bad-min-severity.yml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(describe_all(bad.error()),
            (std::vector<std::string>{(kTestdata / "bad-min-severity.yml").string() +
                                      ":9: route.routes[0].routes[0].matchers[0]: position 0: "
                                      "invalid label name \"severity>\" (a label name "
                                      "matches [a-zA-Z_:][a-zA-Z0-9_:]*)"}));
}

TEST(AlertingConfig, StandaloneFileErrors) {
  struct Case {
    const char* yaml;
    std::vector<std::string> want;
  };
  const Case cases[] = {
      {"", {"am.yml: the top level needs 'route'"}},
      {"- a\n", {"am.yml:1: an Alertmanager configuration must be a YAML mapping"}},
      {"route: {receiver: a}\nreceivers: [{name: a}]\nconfig_file: x.yml\n",
       {"am.yml:3: unknown key 'config_file' in the top level (known: global, route, receivers, "
        "inhibit_rules, templates, time_intervals, mute_time_intervals)"}},
      {"route: {receiver: a\n", {"am.yml:2: YAML syntax error: end of map flow not found"}},
  };
  for (const auto& c : cases) {
    auto got = parse_alerting(c.yaml, "am.yml");
    ASSERT_FALSE(got) << c.yaml;
    EXPECT_EQ(describe_all(got.error()), c.want) << c.yaml;
  }
}

}  // namespace
}  // namespace opsready::app
