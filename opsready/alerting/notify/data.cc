#include "opsready/alerting/notify/data.h"

#include <algorithm>
#include <utility>

#include "opsready/core/time.h"

namespace opsready::alerting::notify {
namespace {

core::LabelSet common(const std::vector<core::Alert>& alerts, core::LabelSet core::Alert::*member) {
  if (alerts.empty()) return {};
  core::LabelSet out = alerts.front().*member;
  for (std::size_t i = 1; i < alerts.size() && !out.empty(); ++i) {
    const core::LabelSet& other = alerts[i].*member;
    std::erase_if(out, [&other](const auto& kv) {
      const auto it = other.find(kv.first);
      return it == other.end() || it->second != kv.second;
    });
  }
  return out;
}

int severity_rank(std::string_view s) {
  if (s == "info") return 0;
  if (s == "warning") return 1;
  if (s == "critical") return 2;
  return -1;
}

std::string label(const core::Alert& a, const char* name) {
  const auto it = a.labels.find(name);
  return it == a.labels.end() ? std::string() : it->second;
}

std::string line_of(const core::Alert& a) {
  for (const char* key : {"summary", "description"}) {
    if (const auto it = a.annotations.find(key); it != a.annotations.end() && !it->second.empty()) {
      return it->second;
    }
  }
  return label(a, "alertname");
}

}  // namespace

core::LabelSet common_labels(const std::vector<core::Alert>& alerts) {
  return common(alerts, &core::Alert::labels);
}

core::LabelSet common_annotations(const std::vector<core::Alert>& alerts) {
  return common(alerts, &core::Alert::annotations);
}

Data make_data(std::string receiver, core::LabelSet group_labels, std::vector<core::Alert> firing,
               std::vector<core::Alert> resolved, std::string group_key, std::string group_id,
               std::string reason, std::string notification_id, std::string external_url,
               core::TimePoint at) {
  Data d;
  d.receiver = std::move(receiver);
  d.status = firing.empty() ? "resolved" : "firing";
  d.firing_count = firing.size();
  d.alerts = std::move(firing);
  d.alerts.insert(d.alerts.end(), std::make_move_iterator(resolved.begin()),
                  std::make_move_iterator(resolved.end()));
  d.group_labels = std::move(group_labels);
  d.common_labels = common_labels(d.alerts);
  d.common_annotations = common_annotations(d.alerts);
  d.external_url = std::move(external_url);
  d.group_key = std::move(group_key);
  d.group_id = std::move(group_id);
  d.reason = std::move(reason);
  d.notification_id = std::move(notification_id);
  d.at = at;

  // The alerts the placeholders speak of: the firing ones, or all when none fires.
  const std::size_t n = d.firing_count > 0 ? d.firing_count : d.alerts.size();
  int best = -1;
  std::string other;
  bool any = false;
  core::TimePoint earliest = core::TimePoint::max();
  for (std::size_t i = 0; i < n; ++i) {
    const core::Alert& a = d.alerts[i];
    earliest = std::min(earliest, a.starts_at);
    if (const auto it = a.labels.find("severity"); it != a.labels.end()) {
      any = true;
      best = std::max(best, severity_rank(it->second));
      if (other.empty()) other = it->second;
    }
  }
  d.severity = best == 0   ? "info"
               : best == 1 ? "warning"
               : best == 2 ? "critical"
               : any       ? other
                           : "none";
  for (const core::Alert& a : d.alerts) {
    if (std::string c = label(a, "category"); !c.empty()) {
      d.category = std::move(c);
      break;
    }
  }
  if (d.category.empty() && !d.alerts.empty()) d.category = label(d.alerts.front(), "alertname");
  for (std::size_t i = 0; i < d.alerts.size(); ++i) {
    if (i > 0) d.message += '\n';
    if (i >= d.firing_count) d.message += "[RESOLVED] ";
    d.message += line_of(d.alerts[i]);
  }
  d.occurred_at = n > 0 ? core::format_rfc3339(earliest) : core::format_rfc3339(at);
  for (const auto& [name, value] : d.common_labels) {
    if (name != "alertname" && name != "category" && name != "severity") {
      d.tags.push_back(name + "=" + value);
    }
  }
  if (!d.common_labels.empty()) d.context["labels"] = d.common_labels;
  core::LabelSet annotations = d.common_annotations;
  annotations.erase("summary");
  if (!annotations.empty()) d.context["annotations"] = annotations;
  d.context["firing"] = d.firing_count;
  d.context["resolved"] = d.alerts.size() - d.firing_count;
  return d;
}

}  // namespace opsready::alerting::notify
