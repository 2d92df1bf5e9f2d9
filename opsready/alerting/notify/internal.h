#pragma once
// What the transports share (not part of the layer's API): the environment of one build, secret
// reading, Alertmanager's http_config, the common headers, template rendering with the field
// named in errors.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "opsready/alerting/notify/data.h"
#include "opsready/alerting/notify/exchange.h"
#include "opsready/alerting/notify/template.h"
#include "opsready/alerting/notify/transports.h"
#include "opsready/alerting/policy.h"

namespace opsready::alerting::notify::internal {

using nlohmann::json;

struct Env {
  const Integration& integration;
  const Data& data;
  const DeliveryOptions& options;
  bool check = false;  // check_integration(): secrets are not read

  [[nodiscard]] const json& settings() const { return integration.settings; }
  // The template view of `data`, built on first use: an integration that renders no template
  // (a webhook without templated headers) never pays for it.
  [[nodiscard]] View& view() const {
    if (!view_) view_ = make_view(data);
    return *view_;
  }

  mutable std::optional<View> view_;
};

// settings[key] as a string ("" when absent).
[[nodiscard]] std::string str(const json& obj, std::string_view key);
[[nodiscard]] bool has(const json& obj, std::string_view key);

// The secret of `obj`: obj[key], or the content of the file obj[file_key] with surrounding
// whitespace trimmed (as Prometheus' common config does); "" when neither. Under check, a
// placeholder. Error secret_file names `field_prefix` + file_key and the path.
[[nodiscard]] core::Result<std::string> secret(const Env& env, const json& obj,
                                               std::string_view key, std::string_view file_key,
                                               const std::string& field_prefix);

// The template settings[key] (or `fallback`) rendered over env.view; errors carry field `key`.
[[nodiscard]] core::Result<std::string> render(const Env& env, const json& obj,
                                               std::string_view key, std::string_view fallback,
                                               const std::string& field,
                                               Escape escape = Escape::kNone);

// A request to `url` with http_config (the integration's, else global.http_config) applied:
// TLS, proxy, redirects, timeouts, basic auth (username/password) or an Authorization header.
// The common headers come first: Content-Type (when not empty), User-Agent, Idempotency-Key,
// X-Opsready-Notification-Id.
[[nodiscard]] core::Result<Request> http_request(const Env& env, std::string method,
                                                 std::string url, std::string content_type,
                                                 std::string body);

// `value`, or under check a placeholder when it is empty; error no_endpoint (naming `what`)
// when empty at send time.
[[nodiscard]] core::Result<std::string> endpoint(const Env& env, std::string value,
                                                 std::string_view what);

// Alertmanager's tls_config.
[[nodiscard]] TlsOptions tls_options(const json& tls);

// Sets header `name` (case-insensitive match) or appends it.
void set_header(HttpRequest& r, const std::string& name, std::string value);
[[nodiscard]] HttpRequest& http(Request& r);

[[nodiscard]] core::Result<std::unique_ptr<Exchange>> make_webhook(Env& env);
[[nodiscard]] core::Result<std::unique_ptr<Exchange>> make_email(Env& env);
[[nodiscard]] core::Result<std::unique_ptr<Exchange>> make_slack(Env& env);
[[nodiscard]] core::Result<std::unique_ptr<Exchange>> make_sms(Env& env);
[[nodiscard]] core::Result<std::unique_ptr<Exchange>> make_github(Env& env);

// An exchange of one request, classified by classify() (or classify_smtp() for mail).
class SingleExchange : public Exchange {
 public:
  SingleExchange(Request request, Truncation truncation)
      : request_(std::move(request)), truncation_(truncation) {}
  [[nodiscard]] Request start() override { return request_; }
  [[nodiscard]] Step next(const Response& r, core::TimePoint now) override;
  [[nodiscard]] Truncation truncation() const override { return truncation_; }

 private:
  Request request_;
  Truncation truncation_;
};

}  // namespace opsready::alerting::notify::internal
