#pragma once
// Data: what a transport and its templates see of one notification. It is Alertmanager's
// template data (receiver, status, alerts with labels and annotations, group/common labels and
// annotations, external URL, truncation) plus what delivery adds: the group key, the reason,
// the notification id (the idempotency key that travels with every request) and the brief's
// placeholders, which transports derive from the alerts (severity, category, message,
// occurred_at, context_json).
//
//   Data d = make_data(receiver, group_key, firing, resolved, reason, id, external_url, now);
//
// The brief's placeholders for a group (it had one event per message, a group has several):
//   severity     the highest of info < warning < critical among the `severity` labels of the
//                firing alerts (of all alerts when none fires); another value when no alert
//                has one of those three (the first one given); "none" when no alert has the label
//   category     the `category` label of the first alert that has one, else the first
//                alert's `alertname`
//   message      one alert: its `summary` annotation, else `description`, else its alertname;
//                several: one such line per alert. A resolved alert's line starts "[RESOLVED] "
//   occurred_at  the earliest startsAt of the firing alerts (of all when none fires), RFC 3339
//   tags         the common labels but alertname, category and severity, as "name=value"
//   context      {"labels": common labels, "annotations": common annotations but summary,
//                "firing": n, "resolved": m}, empty members left out
//
// Plain value type.

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/core/alert.h"
#include "opsready/core/clock.h"

namespace opsready::alerting::notify {

struct Data {
  std::string receiver;
  std::string status;               // "firing" while any alert fires, else "resolved"
  std::vector<core::Alert> alerts;  // firing first, then resolved (those the integration sends)
  core::LabelSet group_labels;
  core::LabelSet common_labels;       // labels every alert has with the same value
  core::LabelSet common_annotations;  // likewise
  std::string external_url;           // where opsready is reached (--web.external-url)
  std::string group_key;              // GroupKey::to_string()
  std::string group_id;               // engine::group_id(): 16 hex digits
  std::string reason;                 // first, new_alerts, new_resolved, all_resolved, repeat,
                                      // escalation
  std::string notification_id;        // the idempotency key (outbox id); stable across resends
  core::TimePoint at{};               // when it was decided
  std::size_t firing_count = 0;       // alerts[0, firing_count) fire, the rest are resolved
  // The brief's placeholders (see above).
  std::string severity;
  std::string category;
  std::string message;
  std::string occurred_at;
  std::vector<std::string> tags;
  nlohmann::json context = nlohmann::json::object();

  bool operator==(const Data&) const = default;
};

// The common labels of `alerts` (those every alert has with the same value), and likewise
// of their annotations: Alertmanager's template.Data rule.
[[nodiscard]] core::LabelSet common_labels(const std::vector<core::Alert>& alerts);
[[nodiscard]] core::LabelSet common_annotations(const std::vector<core::Alert>& alerts);

// The Data of a notification: status, common labels/annotations computed from the alerts.
// `resolved` alerts are included only when send_resolved (the caller passes an empty list
// otherwise). Alerts are ordered as given.
[[nodiscard]] Data make_data(std::string receiver, core::LabelSet group_labels,
                             std::vector<core::Alert> firing, std::vector<core::Alert> resolved,
                             std::string group_key, std::string group_id, std::string reason,
                             std::string notification_id, std::string external_url,
                             core::TimePoint at);

}  // namespace opsready::alerting::notify
