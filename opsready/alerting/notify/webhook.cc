// Webhook: Alertmanager's payload version 4 byte for byte (webhook.go: the template data, then
// version, groupKey, truncatedAlerts, as Go's json.Encoder writes it), or the brief's own shape
// (`format: brief`); an optional HMAC-SHA256 signature (opsready extension).
#include <algorithm>
#include <chrono>

#include "opsready/alerting/notify/encoding.h"
#include "opsready/alerting/notify/internal.h"
#include "opsready/core/text.h"

namespace opsready::alerting::notify::internal {
namespace {

using ojson = nlohmann::ordered_json;

ojson kv(const core::LabelSet& labels) {
  ojson out = ojson::object();
  for (const auto& [k, v] : labels) out[k] = v;
  return out;
}

std::string alertmanager_body(const Data& full, std::size_t max_alerts, Truncation& truncation) {
  // Alertmanager truncates first and computes the template data from what is left.
  Data d = full;
  if (max_alerts > 0 && d.alerts.size() > max_alerts) {
    truncation.alerts = d.alerts.size() - max_alerts;
    d.alerts.resize(max_alerts);
    d.firing_count = std::min(d.firing_count, max_alerts);
    d.status = d.firing_count > 0 ? "firing" : "resolved";
    d.common_labels = common_labels(d.alerts);
    d.common_annotations = common_annotations(d.alerts);
  }
  ojson alerts = ojson::array();
  for (std::size_t i = 0; i < d.alerts.size(); ++i) {
    const core::Alert& a = d.alerts[i];
    const bool firing = i < d.firing_count;
    alerts.push_back(ojson{{"status", firing ? "firing" : "resolved"},
                           {"labels", kv(a.labels)},
                           {"annotations", kv(a.annotations)},
                           {"startsAt", go_time(a.starts_at)},
                           {"endsAt", firing ? "0001-01-01T00:00:00Z" : go_time(a.ends_at)},
                           {"generatorURL", a.generator_url},
                           {"fingerprint", a.fingerprint}});
  }
  const ojson body{{"receiver", d.receiver},
                   {"status", d.status},
                   {"alerts", alerts},
                   {"groupLabels", kv(d.group_labels)},
                   {"commonLabels", kv(d.common_labels)},
                   {"commonAnnotations", kv(d.common_annotations)},
                   {"externalURL", d.external_url},
                   {"version", "4"},
                   {"groupKey", d.group_key},
                   {"truncatedAlerts", truncation.alerts}};
  return go_json(body) + "\n";
}

// The brief's shape (spec §1.5), for the group as one event.
std::string brief_body(const Data& d) {
  const ojson body{{"category", d.category}, {"severity", d.severity},
                   {"message", d.message},   {"occurred_at", d.occurred_at},
                   {"tags", d.tags},         {"context", d.context}};
  return body.dump();
}

// Headers the transport owns; `headers:` may not replace them.
bool reserved(const std::string& name) {
  const std::string n = core::to_lower(name);
  return n == "idempotency-key" || n == "x-opsready-notification-id" ||
         n == "x-opsready-signature" || n == "authorization";
}

}  // namespace

core::Result<std::unique_ptr<Exchange>> make_webhook(Env& env) {
  const json& s = env.settings();
  auto url = endpoint(env, str(s, "url"), "url");
  if (!url) return std::unexpected(url.error());
  const std::string format = has(s, "format") ? str(s, "format") : "alertmanager";
  Truncation truncation;
  std::string body;
  if (format == "alertmanager") {
    body = alertmanager_body(env.data, s.value("max_alerts", std::size_t{0}), truncation);
  } else if (format == "brief") {
    body = brief_body(env.data);
  } else {
    return core::fail("invalid_value", "must be alertmanager or brief", "format");
  }
  auto req = http_request(env, "POST", *url, "application/json", std::move(body));
  if (!req) return std::unexpected(req.error());
  HttpRequest& h = http(*req);
  if (has(s, "signature_secret") || has(s, "signature_secret_file")) {
    auto key = secret(env, s, "signature_secret", "signature_secret_file", "");
    if (!key) return std::unexpected(key.error());
    const std::string t = std::to_string(
        std::chrono::floor<std::chrono::seconds>(env.data.at).time_since_epoch().count());
    h.headers.emplace_back("X-Opsready-Signature",
                           "t=" + t + ",v1=" + hmac_sha256_hex(*key, t + "." + h.body));
  }
  if (has(s, "headers")) {
    for (auto it = s.at("headers").begin(); it != s.at("headers").end(); ++it) {
      if (reserved(it.key())) {
        return core::fail("invalid_value", "header '" + it.key() + "' is set by opsready",
                          "headers." + it.key());
      }
      auto value = render(env, s.at("headers"), it.key(), "", "headers." + it.key());
      if (!value) return std::unexpected(value.error());
      set_header(h, it.key(), *value);
    }
  }
  return std::make_unique<SingleExchange>(std::move(*req), truncation);
}

}  // namespace opsready::alerting::notify::internal
