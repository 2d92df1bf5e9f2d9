#include "opsready/server/alerts.h"

#include "opsready/core/text.h"
#include "opsready/core/time.h"

namespace opsready::server {
namespace {

// Go's zero time.Time, which some clients send for "not set"; Alertmanager treats it as unset.
constexpr std::string_view kGoZeroTime = "0001-01-01T00:00:00";

// TimePoint holds int64 nanoseconds (years 1678-2261); a date outside that is refused.
constexpr int kMinYear = 1678;
constexpr int kMaxYear = 2261;

enum class TimeField { kAbsent, kSet, kBad };

TimeField read_time(const nlohmann::json& alert, const char* name, std::size_t index,
                    core::TimePoint& out, std::vector<AlertError>& errors) {
  const auto it = alert.find(name);
  if (it == alert.end() || it->is_null()) return TimeField::kAbsent;
  if (!it->is_string()) {
    errors.push_back({index, name, "must be an RFC 3339 timestamp string"});
    return TimeField::kBad;
  }
  const auto& text = it->get_ref<const std::string&>();
  if (text.empty() || text.starts_with(kGoZeroTime)) return TimeField::kAbsent;
  const int year = text.size() >= 4 && text.find_first_not_of("0123456789") >= 4
                       ? std::stoi(text.substr(0, 4))
                       : -1;
  if (year >= 0 && (year < kMinYear || year > kMaxYear)) {
    errors.push_back({index, name,
                      "year " + std::to_string(year) + " is out of range (" +
                          std::to_string(kMinYear) + "-" + std::to_string(kMaxYear) + ")"});
    return TimeField::kBad;
  }
  auto t = core::parse_rfc3339(text);
  if (!t) {
    errors.push_back({index, name, t.error().message});
    return TimeField::kBad;
  }
  out = *t;
  return TimeField::kSet;
}

// Reads a label set; `drop_empty` removes empty values (labels only, as Alertmanager does).
bool read_labels(const nlohmann::json& j, const char* field, const char* what, bool drop_empty,
                 std::size_t index, core::LabelSet& out, std::vector<AlertError>& errors) {
  if (!j.is_object()) {
    errors.push_back({index, field, std::string(what) + " must be an object of string values"});
    return false;
  }
  bool ok = true;
  for (const auto& [name, value] : j.items()) {
    if (!value.is_string()) {
      errors.push_back({index, std::string(field) + "." + name, "value must be a string"});
      ok = false;
      continue;
    }
    const auto& v = value.get_ref<const std::string&>();
    if (drop_empty && v.empty()) continue;
    if (!core::is_valid_label_name(name)) {
      errors.push_back({index, std::string(field) + "." + name,
                        std::string("invalid ") + what + ": invalid name \"" + name + "\""});
      ok = false;
      continue;
    }
    out.emplace(name, v);
  }
  return ok;
}

void parse_one(const nlohmann::json& j, std::size_t index, core::TimePoint now,
               core::Duration resolve_timeout, AlertsParse& out) {
  if (!j.is_object()) {
    out.errors.push_back({index, "", "an alert must be a JSON object"});
    return;
  }
  const std::size_t errors_before = out.errors.size();
  core::Alert a;
  const auto labels = j.find("labels");
  if (labels == j.end() || labels->is_null()) {
    out.errors.push_back({index, "labels", "labels are required"});
  } else if (read_labels(*labels, "labels", "label set", true, index, a.labels, out.errors) &&
             a.labels.empty()) {
    out.errors.push_back({index, "labels", "at least one label pair required"});
  }
  if (const auto ann = j.find("annotations"); ann != j.end() && !ann->is_null()) {
    read_labels(*ann, "annotations", "annotations", false, index, a.annotations, out.errors);
  }
  if (const auto url = j.find("generatorURL"); url != j.end() && !url->is_null()) {
    if (url->is_string()) {
      a.generator_url = url->get<std::string>();
    } else {
      out.errors.push_back({index, "generatorURL", "must be a string"});
    }
  }
  const TimeField starts = read_time(j, "startsAt", index, a.starts_at, out.errors);
  const TimeField ends = read_time(j, "endsAt", index, a.ends_at, out.errors);
  if (out.errors.size() != errors_before) return;
  // Alertmanager's postAlertsHandler defaults, then Validate().
  if (starts == TimeField::kAbsent) a.starts_at = ends == TimeField::kSet ? a.ends_at : now;
  if (ends == TimeField::kAbsent) {
    a.timeout = true;
    a.ends_at = now + resolve_timeout;
  }
  if (a.ends_at < a.starts_at) {
    out.errors.push_back({index, "endsAt", "start time must be before end time"});
    return;
  }
  a.received_at = now;
  a.fingerprint = core::alert_fingerprint(a.labels);
  out.alerts.push_back(std::move(a));
}

}  // namespace

AlertsParse parse_alerts(std::string_view body, core::TimePoint now,
                         core::Duration resolve_timeout) {
  AlertsParse out;
  auto refuse = [&out](std::string reason) {
    out.body_ok = false;
    out.errors.push_back({0, "", std::move(reason)});
    return out;
  };
  if (!core::is_valid_utf8(body)) return refuse("request body is not valid UTF-8");
  const auto doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    try {
      const auto j = nlohmann::json::parse(body);
      static_cast<void>(j);
    } catch (const nlohmann::json::exception& e) {
      return refuse(std::string("malformed JSON: ") + e.what());
    }
    return refuse("malformed JSON");
  }
  if (!doc.is_array()) {
    return refuse("the body must be a JSON array of alerts (Alertmanager API v2 postableAlerts)");
  }
  out.total = doc.size();
  out.alerts.reserve(doc.size());
  for (std::size_t i = 0; i < doc.size(); ++i) parse_one(doc[i], i, now, resolve_timeout, out);
  return out;
}

nlohmann::json alert_errors_to_json(const AlertsParse& p) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& e : p.errors) {
    list.push_back({{"index", e.index}, {"field", e.field}, {"reason", e.reason}});
  }
  std::string error;
  if (!p.body_ok) {
    error = "request rejected: " + (p.errors.empty() ? std::string() : p.errors.front().reason) +
            "; nothing was stored";
  } else {
    std::size_t rejected = p.total - p.alerts.size();
    error = std::to_string(rejected) + " invalid alert(s) of " + std::to_string(p.total) +
            " rejected; the " + std::to_string(p.alerts.size()) +
            " valid one(s) were stored (Alertmanager's best effort)";
  }
  return {{"error", std::move(error)},
          {"accepted", p.body_ok ? p.alerts.size() : 0},
          {"rejected", p.body_ok ? p.total - p.alerts.size() : 0},
          {"errors", std::move(list)}};
}

}  // namespace opsready::server
