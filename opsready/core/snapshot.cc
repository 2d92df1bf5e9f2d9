#include "opsready/core/snapshot.h"

#include "opsready/core/alert.h"
#include "opsready/core/time.h"

namespace opsready::core {
namespace {

Result<std::string> string_field(const nlohmann::json& j, const char* key, const std::string& path,
                                 bool required) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) return fail("missing_field", "required field is missing", path + key);
    return std::string();
  }
  if (!it->is_string()) return fail("wrong_type", "must be a string", path + key);
  return it->get<std::string>();
}

}  // namespace

bool is_valid_component_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

nlohmann::json to_json(const Issue& i) {
  nlohmann::json j = {
      {"code", i.code}, {"severity", to_string(i.severity)}, {"message", i.message}};
  if (!i.runbook.empty()) j["runbook"] = i.runbook;
  if (!i.labels.empty()) j["labels"] = i.labels;
  return j;
}

nlohmann::json to_json(const ComponentSnapshot& s) {
  nlohmann::json issues = nlohmann::json::array();
  for (const auto& i : s.issues) issues.push_back(to_json(i));
  return {{"component", s.component},
          {"status", to_string(s.status)},
          {"summary", s.summary},
          {"observed_at", format_rfc3339(s.observed_at)},
          {"issues", std::move(issues)},
          {"metadata", s.metadata.is_null() ? nlohmann::json::object() : s.metadata}};
}

Result<Issue> issue_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return fail("wrong_type", "an issue must be a JSON object");
  Issue i;
  auto code = string_field(j, "code", "", true);
  if (!code) return std::unexpected(code.error());
  i.code = std::move(*code);
  if (i.code.empty()) return fail("invalid_value", "must not be empty", "code");
  const auto sev = j.find("severity");
  if (sev != j.end() && !sev->is_null()) {
    if (!sev->is_string()) return fail("wrong_type", "must be a string", "severity");
    // info/warning/critical, or the original platform's ok/warn/fail (issue_details), mapped
    // by rank.
    auto parsed = parse_severity(sev->get<std::string>());
    if (!parsed) {
      auto as_status = parse_status(sev->get<std::string>());
      if (!as_status) {
        return fail("unknown_severity_word",
                    "unknown severity word '" + sev->get<std::string>() +
                        "' (expected info, warning or critical; or ok, warn or fail)",
                    "severity");
      }
      parsed = severity_for(*as_status);
    }
    i.severity = *parsed;
  }
  auto message = string_field(j, "message", "", false);
  if (!message) return std::unexpected(message.error());
  i.message = std::move(*message);
  auto runbook = string_field(j, "runbook", "", false);
  if (!runbook) return std::unexpected(runbook.error());
  i.runbook = std::move(*runbook);
  if (const auto labels = j.find("labels"); labels != j.end() && !labels->is_null()) {
    if (!labels->is_object()) return fail("wrong_type", "must be a JSON object", "labels");
    for (const auto& [name, value] : labels->items()) {
      if (!is_valid_label_name(name)) {
        return fail("invalid_label_name", "'" + name + "' is not a label name", "labels");
      }
      if (!value.is_string()) return fail("wrong_type", "must be a string", "labels." + name);
      i.labels.emplace(name, value.get<std::string>());
    }
  }
  return i;
}

Result<ComponentSnapshot> component_snapshot_from_json(const nlohmann::json& j,
                                                       TimePoint default_time) {
  if (!j.is_object()) return fail("wrong_type", "a component snapshot must be a JSON object");
  ComponentSnapshot s;
  auto component = string_field(j, "component", "", true);
  if (!component) return std::unexpected(component.error());
  s.component = std::move(*component);
  if (!is_valid_component_name(s.component)) {
    return fail("invalid_component_name",
                "'" + s.component + "' is not a component name ([a-z0-9_.-]+, at most 128)",
                "component");
  }
  const auto status = j.find("status");
  if (status == j.end() || status->is_null()) {
    return fail("missing_field", "required field is missing", "status");
  }
  if (!status->is_string()) return fail("wrong_type", "must be a string", "status");
  auto parsed = parse_status(status->get<std::string>());
  if (!parsed) return fail(parsed.error().code, parsed.error().message, "status");
  s.status = *parsed;
  auto summary = string_field(j, "summary", "", false);
  if (!summary) return std::unexpected(summary.error());
  s.summary = std::move(*summary);
  s.observed_at = default_time;
  // observed_at, else the original platform's generated_at (so such a snapshot can go stale).
  const char* time_key = "observed_at";
  auto t = j.find("observed_at");
  if (t == j.end() || t->is_null()) {
    time_key = "generated_at";
    t = j.find("generated_at");
  }
  if (t != j.end() && !t->is_null()) {
    if (!t->is_string()) return fail("wrong_type", "must be an RFC 3339 string", time_key);
    auto when = parse_rfc3339(t->get<std::string>());
    if (!when) return fail("invalid_timestamp", when.error().message, time_key);
    s.observed_at = *when;
  }
  if (const auto issues = j.find("issues"); issues != j.end() && !issues->is_null()) {
    if (!issues->is_array()) return fail("wrong_type", "must be an array", "issues");
    for (std::size_t k = 0; k < issues->size(); ++k) {
      auto issue = issue_from_json((*issues)[k]);
      if (!issue) {
        Error e = issue.error();
        e.field = "issues[" + std::to_string(k) + "]" + (e.field.empty() ? "" : "." + e.field);
        return std::unexpected(std::move(e));
      }
      s.issues.push_back(std::move(*issue));
    }
  }
  if (const auto md = j.find("metadata"); md != j.end() && !md->is_null()) {
    if (!md->is_object()) return fail("wrong_type", "must be a JSON object", "metadata");
    s.metadata = *md;
  }
  return s;
}

}  // namespace opsready::core
