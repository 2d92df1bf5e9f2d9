#include "opsready/alerting/notify/transports.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "opsready/alerting/notify/internal.h"
#include "opsready/core/text.h"
#include "opsready/core/time.h"

namespace opsready::alerting::notify {
namespace internal {

std::string str(const json& obj, std::string_view key) {
  if (!obj.is_object()) return {};
  const auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

bool has(const json& obj, std::string_view key) {
  return obj.is_object() && obj.contains(key) && !obj.at(std::string(key)).is_null();
}

core::Result<std::string> secret(const Env& env, const json& obj, std::string_view key,
                                 std::string_view file_key, const std::string& field_prefix) {
  if (has(obj, key)) return str(obj, key);
  if (file_key.empty() || !has(obj, file_key)) return std::string();
  if (env.check) return std::string("<secret>");
  const std::string path = str(obj, file_key);
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  if (!in || !(content << in.rdbuf())) {
    return core::fail("secret_file", "cannot read '" + path + "'",
                      field_prefix + std::string(file_key));
  }
  return std::string(core::trim(content.str()));
}

core::Result<std::string> render(const Env& env, const json& obj, std::string_view key,
                                 std::string_view fallback, const std::string& field,
                                 Escape escape) {
  auto t = Template::compile(str(obj, key), fallback, escape);
  if (!t) {
    core::Error e = t.error();
    e.field = field;
    return std::unexpected(std::move(e));
  }
  return t->render(env.view());
}

core::Result<std::string> endpoint(const Env& env, std::string value, std::string_view what) {
  if (!value.empty()) return value;
  if (env.check) return std::string("https://endpoint.invalid/");
  return core::fail("no_endpoint",
                    "no " + std::string(what) + ": notifications are recorded, not sent");
}

TlsOptions tls_options(const json& tls) {
  return TlsOptions{.insecure_skip_verify = tls.value("insecure_skip_verify", false),
                    .ca_file = str(tls, "ca_file"),
                    .cert_file = str(tls, "cert_file"),
                    .key_file = str(tls, "key_file"),
                    .min_version = str(tls, "min_version"),
                    .max_version = str(tls, "max_version")};
}

HttpRequest& http(Request& r) { return std::get<HttpRequest>(r.what); }

void set_header(HttpRequest& r, const std::string& name, std::string value) {
  const std::string lower = core::to_lower(name);
  for (auto& [n, v] : r.headers) {
    if (core::to_lower(n) == lower) {
      v = std::move(value);
      return;
    }
  }
  r.headers.emplace_back(name, std::move(value));
}

core::Result<Request> http_request(const Env& env, std::string method, std::string url,
                                   std::string content_type, std::string body) {
  Request req;
  req.connect_timeout = env.options.connect_timeout;
  req.timeout = env.options.timeout;
  HttpRequest h{.method = std::move(method), .url = std::move(url), .body = std::move(body)};
  if (!content_type.empty()) h.headers.emplace_back("Content-Type", std::move(content_type));
  h.headers.emplace_back("User-Agent", env.options.user_agent);
  h.headers.emplace_back("Idempotency-Key", env.data.notification_id);
  h.headers.emplace_back("X-Opsready-Notification-Id", env.data.notification_id);

  // Alertmanager: an integration without http_config takes global.http_config whole.
  const json& s = env.settings();
  const json empty = json::object();
  const bool own = has(s, "http_config");
  const json& hc = own                                      ? s.at("http_config")
                   : has(env.options.global, "http_config") ? env.options.global.at("http_config")
                                                            : empty;
  const std::string at = own ? "http_config." : "global.http_config.";
  if (has(hc, "basic_auth")) {
    const json& ba = hc.at("basic_auth");
    auto password = secret(env, ba, "password", "password_file", at + "basic_auth.");
    if (!password) return std::unexpected(password.error());
    h.username = str(ba, "username");
    h.password = *password;
  }
  if (has(hc, "authorization")) {
    const json& az = hc.at("authorization");
    auto credentials = secret(env, az, "credentials", "credentials_file", at + "authorization.");
    if (!credentials) return std::unexpected(credentials.error());
    const std::string type = has(az, "type") ? str(az, "type") : "Bearer";
    h.headers.emplace_back("Authorization", type + " " + *credentials);
  }
  if (has(hc, "bearer_token") || has(hc, "bearer_token_file")) {
    auto token = secret(env, hc, "bearer_token", "bearer_token_file", at);
    if (!token) return std::unexpected(token.error());
    h.headers.emplace_back("Authorization", "Bearer " + *token);
  }
  if (has(hc, "tls_config")) req.tls = tls_options(hc.at("tls_config"));
  req.proxy_url = str(hc, "proxy_url");
  req.follow_redirects = hc.value("follow_redirects", true);
  req.what = std::move(h);
  return req;
}

Step SingleExchange::next(const Response& r, core::TimePoint now) {
  if (!std::holds_alternative<MailRequest>(request_.what)) return classify(r, now);
  // libcurl failed after a positive reply (a refused STARTTLS under require_tls comes back with
  // the EHLO's 250): the message was not sent, and classify_smtp() alone would call it Done.
  if (!r.error.empty() && r.status > 0 && r.status < 400) {
    return Retry{.reason = "SMTP: " + r.error + " (after " + std::to_string(r.status) + ")",
                 .after = std::nullopt};
  }
  return classify_smtp(r);
}

}  // namespace internal

namespace {

core::Result<std::unique_ptr<Exchange>> build(const Integration& integration, const Data& data,
                                              const DeliveryOptions& options, bool check) {
  internal::Env env{.integration = integration, .data = data, .options = options, .check = check};
  const std::string& t = integration.type;
  if (t == "webhook") return internal::make_webhook(env);
  if (t == "email") return internal::make_email(env);
  if (t == "slack") return internal::make_slack(env);
  if (t == "sms") return internal::make_sms(env);
  if (t == "github") return internal::make_github(env);
  return core::fail("integration_unknown_type", "unknown integration type '" + t + "'");
}

}  // namespace

core::Result<std::unique_ptr<Exchange>> make_exchange(const Integration& integration,
                                                      const Data& data,
                                                      const DeliveryOptions& options) {
  return build(integration, data, options, false);
}

core::Result<void> check_integration(const Integration& integration, const nlohmann::json& global) {
  DeliveryOptions options;
  options.global = global;
  auto x = build(integration, sample_data(), options, true);
  if (!x && x.error().code != "no_endpoint") return std::unexpected(x.error());
  return {};
}

Data sample_data() {
  const core::TimePoint at = core::parse_rfc3339("2025-01-02T03:04:05Z").value();
  core::Alert a{.labels = {{"alertname", "OpsreadyComponentNotOk"},
                           {"category", "operational.system_validation"},
                           {"component", "system_validation"},
                           {"severity", "warning"}},
                .annotations = {{"summary", "system_validation status warn: 2 checks failing"}},
                .starts_at = at,
                .ends_at = core::TimePoint::max()};
  core::assign_fingerprint(a);
  return make_data("check", {{"alertname", "OpsreadyComponentNotOk"}}, {a}, {},
                   "{}:{alertname=\"OpsreadyComponentNotOk\"}", "0123456789abcdef", "first",
                   "check-notification", "http://localhost:9093", at);
}

}  // namespace opsready::alerting::notify
