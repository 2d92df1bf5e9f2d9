#include "opsready/alerting/policy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "opsready/alerting/test_support.h"

namespace opsready::alerting {
namespace {

using nlohmann::json;
using test::M;
using namespace std::chrono_literals;

// code and field of each error, for whole-list comparisons.
std::vector<std::pair<std::string, std::string>> codes(const std::vector<core::Error>& errors) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& e : errors) out.emplace_back(e.code, e.field);
  return out;
}

TEST(Policy, DefaultPolicyRecordsEverythingOnOneReceiver) {
  const Policy p = default_policy();
  ASSERT_TRUE(validate(p)) << validate(p).error().describe();
  ASSERT_EQ(p.receivers.size(), 1u);
  EXPECT_EQ(p.receivers[0].name, "default");
  EXPECT_TRUE(p.receivers[0].integrations.empty());
  EXPECT_TRUE(p.source.empty());
  auto tree = Route::build(p.route);
  ASSERT_TRUE(tree);
  EXPECT_EQ(tree->group_by(), (std::vector<std::string>{"alertname", "category", "component"}));
  EXPECT_EQ(tree->group_wait(), kDefaultGroupWait);
  EXPECT_EQ(tree->repeat_interval(), kDefaultRepeatInterval);
  const auto hit = tree->match({{"category", "risk_breach"}, {"severity", "critical"}});
  ASSERT_EQ(hit.size(), 1u);
  EXPECT_EQ(hit[0]->receiver(), "default");
  EXPECT_EQ(default_policy(), p);  // a fresh, equal value every call
}

// A valid policy using every part, changed by each case into one with the problems listed.
Policy full_policy() {
  Policy p;
  p.route = RouteSpec{
      .receiver = "ops",
      .routes = {RouteSpec{
          .receiver = "pager",
          .matchers = M("severity=critical"),
          .mute_time_intervals = {"weekends"},
          .routes = {RouteSpec{.matchers = M("team=db"), .active_time_intervals = {"office"}}}}}};
  p.receivers = {
      Receiver{.name = "ops",
               .integrations = {{.type = "webhook",
                                 .send_resolved = true,
                                 .settings = {{"url", "https://hooks.example.org/ops"}}},
                                {.type = "email", .settings = {{"to", "ops@example.org"}}}},
               .escalation = {{.after = 15min, .receiver = "pager"},
                              {.after = 1h, .receiver = "pager"}}},
      Receiver{.name = "pager",
               .integrations = {{.type = "sms",
                                 .settings = {{"gateway_url", "https://sms.example.org/send"},
                                              {"recipients", {"+15550100"}}}}}},
  };
  p.inhibit_rules = {InhibitRule{
      .source = M("severity=critical"), .target = M("severity=warning"), .equal = {"alertname"}}};
  p.time_intervals = {
      TimeInterval{.name = "weekends", .ranges = {{.weekdays = {{6, 6}, {0, 0}}}}},
      TimeInterval{.name = "office",
                   .ranges = {{.times = {{540, 1020}}, .location = "Europe/Berlin"}}}};
  p.global = {{"resolve_timeout", "5m"}, {"smtp_smarthost", "smtp.example.org:587"}};
  return p;
}

TEST(Policy, CheckListsEveryProblemWithItsField) {
  struct Case {
    const char* name;
    std::function<void(Policy&)> change;
    std::vector<std::pair<std::string, std::string>> want;  // code, field
  };
  const Case cases[] = {
      {"valid", [](Policy&) {}, {}},
      {"receiver names",
       [](Policy& p) {
         p.receivers.push_back({.name = ""});
         p.receivers.push_back({.name = "ops"});
       },
       {{"receiver_empty_name", "receivers[2].name"}, {"receiver_duplicate", "receivers[3].name"}}},
      {"unknown receivers in routes",
       [](Policy& p) {
         p.route.receiver = "nobody";
         p.route.routes[0].routes[0].receiver = "ghost";
       },
       {{"route_unknown_receiver", "route.receiver"},
        {"route_unknown_receiver", "route.routes[0].routes[0].receiver"}}},
      {"escalation",
       [](Policy& p) {
         p.receivers[0].escalation = {{.after = 0s, .receiver = "pager"},
                                      {.after = 10min, .receiver = "ghost"},
                                      {.after = 10min, .receiver = "pager"},
                                      {.after = 5min, .receiver = "pager"}};
       },
       {{"escalation_steps_out_of_order", "receivers[0].escalation[3].after"},
        {"escalation_unknown_receiver", "receivers[0].escalation[1].receiver"}}},
      {"escalation with a negative delay",
       [](Policy& p) { p.receivers[0].escalation = {{.after = -1s, .receiver = "pager"}}; },
       {{"escalation_negative_after", "receivers[0].escalation[0].after"}}},
      {"time interval names and references",
       [](Policy& p) {
         p.time_intervals.push_back({.name = "weekends"});
         p.time_intervals.push_back({.name = ""});
         p.route.routes[0].mute_time_intervals.push_back("holidays");
         p.route.routes[0].routes[0].active_time_intervals = {"office", "night"};
       },
       {{"time_interval_duplicate", "time_intervals[2].name"},
        {"time_interval_empty_name", "time_intervals[3].name"},
        {"route_unknown_time_interval", "route.routes[0].mute_time_intervals[1]"},
        {"route_unknown_time_interval", "route.routes[0].routes[0].active_time_intervals[1]"}}},
      {"time interval ranges",
       [](Policy& p) {
         p.time_intervals[1].ranges.push_back({.weekdays = {{5, 1}}});
       },
       {{"time_interval_invalid_weekday", "time_intervals[1].time_intervals[1].weekdays[0]"}}},
      {"integration settings, numbered per type",
       [](Policy& p) {
         p.receivers[0].integrations.push_back(
             {.type = "webhook", .settings = {{"url", "ftp://x"}, {"urll", "https://x"}}});
         p.receivers[0].integrations.push_back({.type = "pagerduty"});
       },
       {{"invalid_url", "receivers[0].webhook_configs[1].url"},
        {"unknown_key", "receivers[0].webhook_configs[1].urll"},
        {"integration_unknown_type", "receivers[0]"}}},
      {"the route tree's own rules",
       [](Policy& p) { p.route.routes[0].group_wait = -1s; },
       {{"route_invalid_duration", "route.routes[0].group_wait"}}},
      {"the root has no matchers",
       [](Policy& p) { p.route.matchers = M("a=b"); },
       {{"route_root_matchers", "route.matchers"}}},
      {"inhibit rules",
       [](Policy& p) {
         p.inhibit_rules[0].equal = {"alertname", "bad-label"};
       },
       {{"inhibit_invalid_equal", "inhibit_rules[0].equal[1]"}}},
      {"global",
       [](Policy& p) { p.global["smtp_smarthost"] = "smtp.example.org"; },
       {{"invalid_address", "global.smtp_smarthost"}}},
  };
  for (const auto& c : cases) {
    Policy p = full_policy();
    c.change(p);
    EXPECT_EQ(codes(check(p)), c.want) << c.name;
    EXPECT_EQ(validate(p).has_value(), c.want.empty()) << c.name;
  }
}

TEST(Policy, NormalizeSettings) {
  struct Case {
    const char* name;
    const char* type;
    json settings;
    json want;  // the settings after normalizing (when no error is expected)
    std::vector<std::pair<std::string, std::string>> errors;
  };
  const Case cases[] = {
      {"webhook: YAML's strings become typed values",
       "webhook",
       {{"url", "http://127.0.0.1:5001/"}, {"max_alerts", "10"}},
       {{"url", "http://127.0.0.1:5001/"}, {"max_alerts", 10}},
       {}},
      {"a null value is an absent key",
       "webhook",
       {{"url", "https://h/"}, {"http_config", nullptr}},
       {{"url", "https://h/"}},
       {}},
      {"http_config in depth, files joined to the base directory",
       "webhook",
       {{"url", "https://h/"},
        {"http_config",
         {{"basic_auth", {{"username", "u"}, {"password_file", "secrets/pw"}}},
          {"follow_redirects", "false"},
          {"tls_config",
           {{"ca_file", "/etc/ssl/ca.pem"},
            {"insecure_skip_verify", "true"},
            {"min_version", "TLS12"}}}}}},
       {{"url", "https://h/"},
        {"http_config",
         {{"basic_auth", {{"username", "u"}, {"password_file", "/conf/secrets/pw"}}},
          {"follow_redirects", false},
          {"tls_config",
           {{"ca_file", "/etc/ssl/ca.pem"},
            {"insecure_skip_verify", true},
            {"min_version", "TLS12"}}}}}},
       {}},
      {"what opsready cannot honour",
       "webhook",
       {{"url", "https://h/"},
        {"http_config",
         {{"oauth2", {{"client_id", "x"}}}, {"tls_config", {{"server_name", "other.example"}}}}}},
       {},
       {{"unsupported", "http_config.oauth2"},
        {"unsupported", "http_config.tls_config.server_name"}}},
      {"authentications exclude each other",
       "webhook",
       {{"url", "https://h/"},
        {"http_config", {{"basic_auth", {{"username", "u"}}}, {"bearer_token", "t"}}}},
       {},
       {{"exclusive_keys", "http_config.bearer_token"}}},
      {"bad values",
       "webhook",
       {{"url", "hooks.example.org"}, {"max_alerts", "-1"}},
       {},
       {{"invalid_type", "max_alerts"}, {"invalid_url", "url"}}},
      {"email needs to; headers ignore case; host:port",
       "email",
       {{"smarthost", "smtp.example.org"},
        {"headers", {{"Subject", "a"}, {"subject", "b"}}},
        {"require_tls", "yes"}},
       {},
       {{"duplicate_header", "headers.subject"},
        {"invalid_type", "require_tls"},
        {"invalid_address", "smarthost"},
        {"missing_key", ""}}},
      {"email, every key of Alertmanager 0.25",
       "email",
       {{"to", "a@example.org, b@example.org"},
        {"from", "am@example.org"},
        {"hello", "am"},
        {"smarthost", "[::1]:25"},
        {"auth_username", "u"},
        {"auth_password", "p"},
        {"auth_secret", "s"},
        {"auth_identity", "i"},
        {"headers", {{"X-Team", "ops"}}},
        {"html", "<b>x</b>"},
        {"text", "x"},
        {"require_tls", "false"},
        {"tls_config", {{"insecure_skip_verify", "false"}}}},
       {{"to", "a@example.org, b@example.org"},
        {"from", "am@example.org"},
        {"hello", "am"},
        {"smarthost", "[::1]:25"},
        {"auth_username", "u"},
        {"auth_password", "p"},
        {"auth_secret", "s"},
        {"auth_identity", "i"},
        {"headers", {{"X-Team", "ops"}}},
        {"html", "<b>x</b>"},
        {"text", "x"},
        {"require_tls", false},
        {"tls_config", {{"insecure_skip_verify", false}}}},
       {}},
      {"slack fields and actions",
       "slack",
       {{"api_url", "https://hooks.slack.com/services/T/B/X"},
        {"api_url_file", "slack.url"},
        {"channel", "#ops-alerts"},
        {"fields", {{{"title", "t"}, {"value", "v"}, {"short", "true"}}, {{"title", "t"}}}},
        {"actions", {{{"type", "button"}, {"text", "Runbook"}}}},
        {"link_names", "true"},
        {"mrkdwn_in", {"text"}}},
       {},
       {{"missing_key", "actions[0]"},
        {"missing_key", "fields[1]"},
        {"exclusive_keys", "api_url_file"}}},
      {"sms (opsready)",
       "sms",
       {{"gateway_url", "https://sms.example.org/send"},
        {"sender", "OPS"},
        {"recipients", {"+15550100", "+15550101"}}},
       {{"gateway_url", "https://sms.example.org/send"},
        {"sender", "OPS"},
        {"recipients", {"+15550100", "+15550101"}}},
       {}},
      {"sms recipients are a list",
       "sms",
       {{"recipients", "+15550100"}},
       {},
       {{"invalid_type", "recipients"}}},
      {"github (opsready)",
       "github",
       {{"repository", "acme/ops-alerts"},
        {"token_file", "gh.token"},
        {"issue_number", "42"},
        {"api_url", "https://github.example.org/api/v3/"},
        {"labels", {"alert"}},
        {"assignees", {"oncall"}},
        {"title", "t"},
        {"body", "b"}},
       {{"repository", "acme/ops-alerts"},
        {"token_file", "/conf/gh.token"},
        {"issue_number", 42},
        {"api_url", "https://github.example.org/api/v3/"},
        {"labels", {"alert"}},
        {"assignees", {"oncall"}},
        {"title", "t"},
        {"body", "b"}},
       {}},
      {"github repository, token or token_file",
       "github",
       {{"repository", "acme"}, {"token", "t"}, {"token_file", "f"}},
       {},
       {{"invalid_repository", "repository"}, {"exclusive_keys", "token_file"}}},
      {"unknown type", "pagerduty", json::object(), {}, {{"integration_unknown_type", ""}}},
  };
  for (const auto& c : cases) {
    json settings = c.settings;
    const auto errors = normalize_settings(c.type, settings, "/conf");
    EXPECT_EQ(codes(errors), c.errors) << c.name;
    if (c.errors.empty()) {
      EXPECT_EQ(settings, c.want) << c.name << ": " << settings.dump();
      json again = settings;
      EXPECT_TRUE(normalize_settings(c.type, again, "/elsewhere").empty()) << c.name;
      EXPECT_EQ(again, settings) << c.name << ": normalizing twice changes nothing";
    }
  }
}

TEST(Policy, SecretsAreNotEchoed) {
  json settings = {{"api_url", "hooks.slack.com/services/SECRET"}};
  const auto errors = normalize_settings("slack", settings);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].message.find("SECRET"), std::string::npos) << errors[0].message;
}

// The settings secrets hygiene looks at, found by the key tables: inline secrets with their
// *_file twin (or none), URLs, credential headers and files, nested and in lists.
TEST(Policy, SecretSettingsFollowTheKeyTables) {
  using K = SecretSetting::Kind;
  json webhook = {{"url", "https://hook.example/x?token=t"},
                  {"signature_secret", "s"},
                  {"headers", {{"X-Api-Key", "b"}, {"X-Team", "desk"}}},
                  {"http_config",
                   {{"basic_auth", {{"username", "u"}, {"password", "p"}}},
                    {"proxy_url", "http://proxy:3128"},
                    {"tls_config", {{"ca_file", "/etc/ca.pem"}, {"key_file", "/etc/k.pem"}}}}}};
  ASSERT_TRUE(normalize_settings("webhook", webhook).empty());
  EXPECT_EQ(secret_settings("webhook", webhook),
            (std::vector<SecretSetting>{
                {"http_config.basic_auth.password", K::kSecret, "password_file", "p"},
                {"http_config.tls_config.ca_file", K::kFile, "", "/etc/ca.pem"},
                {"http_config.tls_config.key_file", K::kFile, "", "/etc/k.pem"},
                {"http_config.proxy_url", K::kUrl, "", "http://proxy:3128"},
                {"url", K::kSecretUrl, "", "https://hook.example/x?token=t"},
                {"signature_secret", K::kSecret, "signature_secret_file", "s"},
                {"headers.X-Api-Key", K::kHeader, "", "b"}}));
  json slack = {{"api_url_file", "/run/slack"}, {"channel", "#ops"}};
  ASSERT_TRUE(normalize_settings("slack", slack).empty());
  EXPECT_EQ(secret_settings("slack", slack),
            (std::vector<SecretSetting>{{"api_url_file", K::kFile, "", "/run/slack"}}));
  json global = {{"smtp_auth_password", "p"},
                 {"slack_api_url", "https://hooks.example/T/B/X"},
                 {"opsgenie_api_key", "k"},
                 {"smtp_auth_secret", "c"}};
  ASSERT_TRUE(normalize_global(global).empty());
  EXPECT_EQ(
      global_secret_settings(global),
      (std::vector<SecretSetting>{
          {"smtp_auth_password", K::kSecret, "smtp_auth_password_file", "p"},
          {"smtp_auth_secret", K::kSecret, "", "c"},
          {"slack_api_url", K::kSecretUrl, "slack_api_url_file", "https://hooks.example/T/B/X"},
          {"opsgenie_api_key", K::kSecret, "opsgenie_api_key_file", "k"}}));
}

TEST(Policy, NormalizeGlobal) {
  json global = {{"resolve_timeout", "1h30m"},    {"smtp_require_tls", "false"},
                 {"smtp_smarthost", "smtp:25"},   {"pagerduty_url", "https://events.example/"},
                 {"slack_api_url_file", "slack"}, {"http_config", {{"enable_http2", "true"}}}};
  EXPECT_TRUE(normalize_global(global, "/conf").empty());
  EXPECT_EQ(global, (json{{"resolve_timeout", "1h30m"},
                          {"smtp_require_tls", false},
                          {"smtp_smarthost", "smtp:25"},
                          {"pagerduty_url", "https://events.example/"},
                          {"slack_api_url_file", "/conf/slack"},
                          {"http_config", {{"enable_http2", true}}}}));
  json bad = {{"resolve_timeout", "5 minutes"},
              {"smtp_auth_password", "p"},
              {"smtp_auth_password_file", "f"},
              {"smtp_tls", true}};
  EXPECT_EQ(codes(normalize_global(bad)), (std::vector<std::pair<std::string, std::string>>{
                                              {"invalid_duration", "resolve_timeout"},
                                              {"unknown_key", "smtp_tls"},
                                              {"exclusive_keys", "smtp_auth_password_file"}}));
}

TEST(Policy, LintSaysWhatWillNotBeSent) {
  struct Case {
    Integration integration;
    json global;
    std::vector<std::pair<std::string, std::string>> want;
  };
  const json none = json::object();
  const Case cases[] = {
      {{.type = "email", .settings = {{"to", "a@b"}}}, none, {{"integration_records_only", ""}}},
      {{.type = "email", .settings = {{"to", "a@b"}}},
       {{"smtp_smarthost", "smtp:25"}, {"smtp_from", "am@b"}},
       {}},
      {{.type = "email", .settings = {{"to", "a@b"}, {"smarthost", "smtp:25"}}},
       none,
       {{"integration_records_only", ""}}},
      {{.type = "slack", .settings = json::object()}, none, {{"integration_records_only", ""}}},
      {{.type = "slack", .settings = json::object()}, {{"slack_api_url_file", "/f"}}, {}},
      {{.type = "webhook", .settings = json::object()}, none, {{"integration_records_only", ""}}},
      {{.type = "sms", .settings = json::object()}, none, {{"integration_records_only", ""}}},
      {{.type = "sms", .settings = {{"gateway_url", "https://s/"}}},
       none,
       {{"integration_records_only", ""}}},
      {{.type = "github", .settings = {{"repository", "a/b"}}},
       none,
       {{"integration_records_only", ""}}},
      {{.type = "github", .settings = {{"repository", "a/b"}, {"token_file", "/t"}}}, none, {}},
      {{.type = "slack",
        .settings = {{"api_url", "https://x/"},
                     {"title", "{{ template \"slack.default.title\" . }}"},
                     {"fields", {{{"title", "a"}, {"value", "{{ .CommonLabels.job }}"}}}}}},
       none,
       {{"integration_go_template", "fields[0].value"}}},
      // Mustache is what opsready runs: no warning.
      {{.type = "webhook",
        .settings = {{"url", "https://x/"},
                     {"headers",
                      {{"X-Sev", "{{severity}} {{#alerts}}{{labels.x}}{{/alerts}}"},
                       {"X-All", "{{{message}}} {{.}} {{! note }}"}}}}},
       none,
       {}},
      {{.type = "webhook",
        .settings = {{"url", "https://x/"},
                     {"headers",
                      {{"X-A", "{{ range .Alerts }}x{{ end }}"}, {"X-B", "{{- .Status -}}"}}}}},
       none,
       {{"integration_go_template", "headers.X-A"}, {"integration_go_template", "headers.X-B"}}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(codes(lint(c.integration, c.global)), c.want) << c.integration.settings.dump();
  }
}

TEST(Policy, AlertmanagerDurations) {
  struct Case {
    const char* text;
    std::optional<core::Duration> want;
  };
  using std::chrono::hours;
  using std::chrono::milliseconds;
  const Case cases[] = {
      {"0", 0s},
      {"0s", 0s},
      {"30s", 30s},
      {"5m", 5min},
      {"4h", 4h},
      {"1d", hours(24)},
      {"1w", hours(24 * 7)},
      {"1y", hours(24 * 365)},
      {"1h30m", 90min},
      {"2d12h", hours(60)},
      {"1y2w3d4h5m6s7ms", hours(24 * 365 + 24 * 14 + 24 * 3 + 4) + 5min + 6s + milliseconds(7)},
      {"250ms", milliseconds(250)},
      {"", std::nullopt},
      {"30m1h", std::nullopt},  // out of order
      {"1h1h", std::nullopt},   // twice
      {"1.5h", std::nullopt},
      {"-5m", std::nullopt},
      {"5", std::nullopt},
      {"5 m", std::nullopt},
      {"5M", std::nullopt},
      {"1us", std::nullopt},
      {"100000000y", std::nullopt},  // too long for int64 nanoseconds
  };
  for (const auto& c : cases) {
    auto got = parse_alertmanager_duration(c.text);
    if (c.want) {
      ASSERT_TRUE(got) << c.text << ": " << got.error().message;
      EXPECT_EQ(*got, *c.want) << c.text;
    } else {
      ASSERT_FALSE(got) << c.text;
      EXPECT_EQ(got.error().code, "invalid_duration") << c.text;
    }
  }
}

TEST(Policy, IntegrationTypes) {
  ASSERT_EQ(integration_types().size(), 5u);
  EXPECT_EQ(supported_integration_keys(),
            "webhook_configs, email_configs, slack_configs, sms_configs, github_configs");
  ASSERT_NE(find_integration_type("email_configs"), nullptr);
  EXPECT_EQ(find_integration_type("email_configs")->type, "email");
  EXPECT_EQ(find_integration_type("webhook")->send_resolved, true);
  EXPECT_EQ(find_integration_type("slack")->send_resolved, false);
  EXPECT_EQ(find_integration_type("pagerduty_configs"), nullptr);
  const auto unsupported = unsupported_integration_keys();
  EXPECT_NE(std::find(unsupported.begin(), unsupported.end(), "pagerduty_configs"),
            unsupported.end());
  for (const auto& t : integration_types()) {
    EXPECT_EQ(std::find(unsupported.begin(), unsupported.end(), t.config_key), unsupported.end());
  }
}

// A settings object that holds the key `path` (as settings_keys() writes it), with "x" at the
// end: "fields[].title" → {"fields": [{"title": "x"}]}, "headers.*" → {"headers": {"N": "x"}}.
json holding(std::string_view path) {
  if (path.empty()) return "x";
  if (path.starts_with("[]")) {
    path.remove_prefix(2);
    if (path.starts_with('.')) path.remove_prefix(1);
    return json::array({path.empty() ? json::object() : holding(path)});
  }
  const auto stop = std::min(path.find('.'), path.find('['));
  std::string key(path.substr(0, stop));
  if (key == "*") key = "N";
  std::string_view rest = stop == std::string_view::npos ? "" : path.substr(stop);
  if (rest.starts_with('.')) rest.remove_prefix(1);
  return json{{key, holding(rest)}};
}

// Every key settings_keys() and global_keys() list is one the normalizer knows: none of them is
// an unknown key, and a key they do not list is one (the probe can fail).
TEST(Policy, SettingsKeysAreTheKeysTheNormalizerKnows) {
  const auto unknown = [](const std::vector<core::Error>& errors) {
    return std::count_if(errors.begin(), errors.end(),
                         [](const core::Error& e) { return e.code == "unknown_key"; });
  };
  for (const auto& type : integration_types()) {
    const auto keys = settings_keys(type.type);
    ASSERT_FALSE(keys.empty()) << type.type;
    for (const auto& key : keys) {
      json settings = holding(key);
      EXPECT_EQ(unknown(normalize_settings(type.type, settings)), 0) << type.type << ": " << key;
    }
    json settings = holding("http_config.no_such_key");
    EXPECT_EQ(unknown(normalize_settings(type.type, settings)), 1) << type.type;
  }
  for (const auto& key : global_keys()) {
    json global = holding(key);
    EXPECT_EQ(unknown(normalize_global(global)), 0) << key;
  }
  const auto slack = settings_keys("slack");
  for (const char* key : {"api_url", "http_config.basic_auth.password_file", "fields[]",
                          "fields[].title", "actions[].confirm.ok_text"}) {
    EXPECT_NE(std::find(slack.begin(), slack.end(), key), slack.end()) << key;
  }
  // Refused keys are not listed: they do not load.
  EXPECT_EQ(std::find(slack.begin(), slack.end(), "http_config.oauth2"), slack.end());
  const auto webhook = settings_keys("webhook");
  EXPECT_NE(std::find(webhook.begin(), webhook.end(), "headers.*"), webhook.end());
  EXPECT_TRUE(settings_keys("pagerduty").empty());
  const auto global = global_keys();
  EXPECT_NE(std::find(global.begin(), global.end(), "smtp_smarthost"), global.end());
}

}  // namespace
}  // namespace opsready::alerting
