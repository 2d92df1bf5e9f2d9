#pragma once
// Alertmanager API v2, the read side and silences: what GET /api/v2/alerts, /alerts/groups,
// /receivers, /status, /silences and /silence/{id} answer, rendered from the engine's state in
// Alertmanager 0.25's JSON shapes (api/v2/openapi.yaml), so that Alertmanager's own CLI, amtool,
// and dashboards built for Alertmanager work against opsready.
//
//   auto filter = parse_alert_filter(req);            // 400 with the parameter on error
//   nlohmann::json body = alerts_json(engine, *filter, now);
//
// Every function reads the engine and must run on the evaluation strand (the HTTP server posts
// it there); they are pure otherwise.
//
// Where opsready differs:
//  - derived alerts (from readiness) appear beside the external ones; they have no
//    generatorURL, and while one fires it has no end time: endsAt is Go's zero time,
//    0001-01-01T00:00:00.000Z, the value Alertmanager's own JSON uses for "not set";
//  - /api/v2/status's config.original is the routing policy opsready runs, rendered as an
//    Alertmanager configuration (route, receivers by name, inhibit_rules, time_intervals), without
//    opsready's extensions and without any secret, so that `amtool config routes test` parses it;
//    cluster.status is "disabled" (one replica; see docs/alerting.md for replicas).

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/alerting/matcher.h"
#include "opsready/alerting/policy.h"
#include "opsready/core/clock.h"
#include "opsready/core/error.h"
#include "opsready/engine/engine.h"
#include "opsready/server/http_message.h"

namespace opsready::server {

// The query of GET /api/v2/alerts and /api/v2/alerts/groups: active, silenced, inhibited,
// unprocessed (booleans, default true), filter (matchers, repeatable), receiver (a regex,
// anchored, on receiver names).
struct AlertFilter {
  bool active = true;
  bool silenced = true;
  bool inhibited = true;
  bool unprocessed = true;
  alerting::Matchers filter;
  std::optional<alerting::Matcher> receiver;  // name "receiver", =~ the parameter
};

// Errors name the parameter (field) and say what is wrong, for a 400.
[[nodiscard]] core::Result<AlertFilter> parse_alert_filter(const Request& req);
// GET /api/v2/silences?filter=...
[[nodiscard]] core::Result<alerting::Matchers> parse_silence_filter(const Request& req);

// A gettableAlert.
[[nodiscard]] nlohmann::json gettable_alert(const engine::AlertView& v, core::TimePoint now);
// GET /api/v2/alerts: gettableAlerts, sorted by fingerprint.
[[nodiscard]] nlohmann::json alerts_json(const engine::Engine& e, const AlertFilter& f,
                                         core::TimePoint now);
// GET /api/v2/alerts/groups: alertGroups [{labels, receiver: {name}, alerts}], with opsready's
// additions "id" (engine::group_id), "key" and "ack" (the acknowledgement, when there is one).
[[nodiscard]] nlohmann::json groups_json(const engine::Engine& e, const AlertFilter& f,
                                         core::TimePoint now);
// GET /api/v2/receivers: [{name}].
[[nodiscard]] nlohmann::json receivers_json(const alerting::Policy& p);
// GET /api/v2/status.
[[nodiscard]] nlohmann::json status_json(const alerting::Policy& p, const std::string& version,
                                         core::TimePoint started, core::TimePoint now);
// The policy as an Alertmanager configuration document (JSON, which YAML parsers read).
[[nodiscard]] nlohmann::json alertmanager_config(const alerting::Policy& p);
// GET /api/v2/silences: gettableSilences in Alertmanager's order.
[[nodiscard]] nlohmann::json silences_json(const engine::Engine& e,
                                           const alerting::Matchers& filter, core::TimePoint now);

}  // namespace opsready::server
