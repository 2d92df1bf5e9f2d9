#include "opsready/server/alerts.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <utility>

#include <simdjson.h>

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

// One JSON member of an alert as read by either parser, before validation. Views point into
// the parser's document (nlohmann's values, or simdjson's string buffer), which outlives it.
struct RawValue {
  enum class Kind { kAbsent, kString, kOther } kind = Kind::kAbsent;  // absent: missing or null
  std::string_view text;                                              // kString only
};

struct RawLabels {
  enum class Kind { kAbsent, kObject, kOther } kind = Kind::kAbsent;  // absent: missing or null
  // kObject: the members sorted by name, one per name (the last one posted), as nlohmann's
  // object (a std::map) iterates them: the order errors are reported in.
  std::vector<std::pair<std::string_view, RawValue>> members;
};

struct RawAlert {
  bool is_object = true;
  RawLabels labels;
  RawLabels annotations;
  RawValue generator_url;
  RawValue starts_at;
  RawValue ends_at;

  // As newly constructed, keeping the members' capacity for the next alert.
  void reset() {
    is_object = true;
    labels.kind = annotations.kind = RawLabels::Kind::kAbsent;
    labels.members.clear();
    annotations.members.clear();
    generator_url = starts_at = ends_at = {};
  }
};

using LabelViews = std::vector<std::pair<std::string_view, std::string_view>>;

// out = the label set `kept` (sorted, unique). When out already has the same names, as a
// recycled alert usually does (alerts of one rule share their label names), only the values are
// assigned, into the strings' own buffers: no allocation.
void assign_labels(core::LabelSet& out, const LabelViews& kept) {
  if (out.size() == kept.size() &&
      std::equal(kept.begin(), kept.end(), out.begin(),
                 [](const auto& k, const auto& o) { return k.first == o.first; })) {
    auto it = out.begin();
    for (const auto& [name, value] : kept) (it++)->second.assign(value);
    return;
  }
  out.clear();
  for (const auto& [name, value] : kept) out.emplace_hint(out.end(), name, value);
}

// The last timestamp text read well for a field, and its value: the alerts of one request
// mostly share their endsAt (Prometheus sets it from the evaluation time), often their startsAt.
struct TimeCache {
  std::string text;
  core::TimePoint value{};
};

TimeField read_time(const RawValue& v, const char* name, std::size_t index, core::TimePoint& out,
                    std::vector<AlertError>& errors, TimeCache& cache) {
  if (v.kind == RawValue::Kind::kAbsent) return TimeField::kAbsent;
  if (v.kind != RawValue::Kind::kString) {
    errors.push_back({index, name, "must be an RFC 3339 timestamp string"});
    return TimeField::kBad;
  }
  const std::string_view text = v.text;
  if (text.empty() || text.starts_with(kGoZeroTime)) return TimeField::kAbsent;
  if (text == cache.text) {  // never empty here: an empty cache never matches
    out = cache.value;
    return TimeField::kSet;
  }
  int year = -1;
  if (text.size() >= 4 && text.find_first_not_of("0123456789") >= 4) {
    std::from_chars(text.data(), text.data() + 4, year);
  }
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
  cache.text.assign(text);
  cache.value = *t;
  return TimeField::kSet;
}

// Reads a label set; `drop_empty` removes empty values (labels only, as Alertmanager does).
bool read_labels(const RawLabels& raw, const char* field, const char* what, bool drop_empty,
                 std::size_t index, core::LabelSet& out, std::vector<AlertError>& errors,
                 LabelViews& kept) {
  if (raw.kind != RawLabels::Kind::kObject) {
    errors.push_back({index, field, std::string(what) + " must be an object of string values"});
    return false;
  }
  kept.clear();
  bool ok = true;
  for (const auto& [name, value] : raw.members) {
    if (value.kind != RawValue::Kind::kString) {
      errors.push_back(
          {index, std::string(field) + "." + std::string(name), "value must be a string"});
      ok = false;
      continue;
    }
    if (drop_empty && value.text.empty()) continue;
    if (!core::is_valid_label_name(name)) {
      errors.push_back(
          {index, std::string(field) + "." + std::string(name),
           std::string("invalid ") + what + ": invalid name \"" + std::string(name) + "\""});
      ok = false;
      continue;
    }
    kept.emplace_back(name, value.text);
  }
  if (ok) assign_labels(out, kept);
  return ok;
}

// Alertmanager's validation of one alert, whichever parser read it. A valid alert becomes
// out.alerts[valid] (an element left from an earlier parse is reused) and `valid` counts it.
void validate_one(const RawAlert& raw, std::size_t index, core::TimePoint now,
                  core::Duration resolve_timeout, AlertsParse& out, std::size_t& valid,
                  LabelViews& kept) {
  if (!raw.is_object) {
    out.errors.push_back({index, "", "an alert must be a JSON object"});
    return;
  }
  const std::size_t errors_before = out.errors.size();
  if (valid == out.alerts.size()) out.alerts.emplace_back();
  core::Alert& a = out.alerts[valid];
  a.timeout = false;
  if (raw.labels.kind == RawLabels::Kind::kAbsent) {
    out.errors.push_back({index, "labels", "labels are required"});
  } else if (read_labels(raw.labels, "labels", "label set", true, index, a.labels, out.errors,
                         kept) &&
             a.labels.empty()) {
    out.errors.push_back({index, "labels", "at least one label pair required"});
  }
  if (raw.annotations.kind != RawLabels::Kind::kAbsent) {
    read_labels(raw.annotations, "annotations", "annotations", false, index, a.annotations,
                out.errors, kept);
  } else {
    a.annotations.clear();
  }
  if (raw.generator_url.kind == RawValue::Kind::kString) {
    a.generator_url.assign(raw.generator_url.text);
  } else if (raw.generator_url.kind == RawValue::Kind::kOther) {
    out.errors.push_back({index, "generatorURL", "must be a string"});
  } else {
    a.generator_url.clear();
  }
  thread_local TimeCache starts_cache;
  thread_local TimeCache ends_cache;
  const TimeField starts =
      read_time(raw.starts_at, "startsAt", index, a.starts_at, out.errors, starts_cache);
  const TimeField ends = read_time(raw.ends_at, "endsAt", index, a.ends_at, out.errors, ends_cache);
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
  core::assign_fingerprint(a);
  ++valid;
}

// ---- nlohmann-json: the reference reading, and the one that words JSON syntax errors.

RawValue raw_value(const nlohmann::json& alert, const char* name) {
  const auto it = alert.find(name);
  if (it == alert.end() || it->is_null()) return {};
  if (!it->is_string()) return {.kind = RawValue::Kind::kOther};
  return {.kind = RawValue::Kind::kString, .text = it->get_ref<const std::string&>()};
}

RawLabels raw_labels(const nlohmann::json& alert, const char* name) {
  const auto it = alert.find(name);
  if (it == alert.end() || it->is_null()) return {};
  if (!it->is_object()) return {.kind = RawLabels::Kind::kOther};
  RawLabels out{.kind = RawLabels::Kind::kObject};
  for (const auto& [k, v] : it->items()) {
    out.members.emplace_back(
        k, v.is_string() ? RawValue{RawValue::Kind::kString, v.get_ref<const std::string&>()}
                         : RawValue{RawValue::Kind::kOther});
  }
  return out;
}

AlertsParse parse_with_nlohmann(std::string_view body, core::TimePoint now,
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
  std::size_t valid = 0;
  LabelViews kept;
  for (std::size_t i = 0; i < doc.size(); ++i) {
    const nlohmann::json& j = doc[i];
    RawAlert raw;
    raw.is_object = j.is_object();
    if (raw.is_object) {
      raw.labels = raw_labels(j, "labels");
      raw.annotations = raw_labels(j, "annotations");
      raw.generator_url = raw_value(j, "generatorURL");
      raw.starts_at = raw_value(j, "startsAt");
      raw.ends_at = raw_value(j, "endsAt");
    }
    validate_one(raw, i, now, resolve_timeout, out, valid, kept);
  }
  out.alerts.resize(valid);
  return out;
}

// ---- simdjson On-Demand: the fast path for well-formed bodies.
//
// On-Demand reads forward only and checks syntax only where it reads, so every value is read
// in full, even those the alert does not use (a member such as "status" is walked and
// checked, never skipped): a body this path accepts is one nlohmann accepts too. Any simdjson
// error sends the whole body to parse_with_nlohmann, which words the error as before; the
// results of both paths are the same by construction (one validate_one) and by test.

namespace od = simdjson::ondemand;

// Walks a value to its end, checking its syntax (strings unescaped, numbers and literals
// parsed). False on any error.
bool check_value(od::value v) {
  od::json_type type;
  if (v.type().get(type)) return false;
  switch (type) {
    case od::json_type::object: {
      od::object o;
      if (v.get_object().get(o)) return false;
      for (auto field : o) {
        std::string_view key;
        od::value member;
        if (field.error() || field.unescaped_key().get(key) || field.value().get(member) ||
            !check_value(member)) {
          return false;
        }
      }
      return true;
    }
    case od::json_type::array: {
      od::array a;
      if (v.get_array().get(a)) return false;
      for (auto element : a) {
        od::value item;
        if (element.get(item) || !check_value(item)) return false;
      }
      return true;
    }
    case od::json_type::string: {
      std::string_view s;
      return !v.get_string().get(s);
    }
    case od::json_type::number: {
      od::number n;
      return !v.get_number().get(n);
    }
    case od::json_type::boolean: {
      bool b;
      return !v.get_bool().get(b);
    }
    case od::json_type::null: {
      bool null = false;
      return !v.is_null().get(null) && null;
    }
  }
  return false;
}

// A scalar member value: string, null (absent) or anything else (checked, then kOther).
bool read_value(od::value v, RawValue& out) {
  od::json_type type;
  if (v.type().get(type)) return false;
  if (type == od::json_type::string) {
    out.kind = RawValue::Kind::kString;
    return !v.get_string().get(out.text);
  }
  if (type == od::json_type::null) {
    out = {};
    return check_value(v);
  }
  out = {.kind = RawValue::Kind::kOther};
  return check_value(v);
}

bool by_name(const std::pair<std::string_view, RawValue>& a,
             const std::pair<std::string_view, RawValue>& b) {
  return a.first < b.first;
}

bool read_labels_value(od::value v, RawLabels& out) {
  out.members.clear();
  od::json_type type;
  if (v.type().get(type)) return false;
  if (type == od::json_type::null) {
    out.kind = RawLabels::Kind::kAbsent;
    return check_value(v);
  }
  if (type != od::json_type::object) {
    out.kind = RawLabels::Kind::kOther;
    return check_value(v);
  }
  out.kind = RawLabels::Kind::kObject;
  od::object o;
  if (v.get_object().get(o)) return false;
  for (auto field : o) {
    std::string_view key;
    od::value member;
    if (field.error() || field.unescaped_key().get(key) || field.value().get(member)) return false;
    RawValue value;
    if (!read_value(member, value)) return false;
    out.members.emplace_back(key, value);
  }
  // As a std::map: sorted by name (bytewise), the last of duplicate names wins. Prometheus
  // sends label sets sorted already.
  auto& m = out.members;
  if (!std::is_sorted(m.begin(), m.end(), by_name)) std::stable_sort(m.begin(), m.end(), by_name);
  for (std::size_t i = 1; i < m.size(); ++i) {
    if (m[i - 1].first == m[i].first) {
      std::vector<std::pair<std::string_view, RawValue>> unique;
      for (std::size_t k = 0; k < m.size(); ++k) {
        if (k + 1 < m.size() && m[k + 1].first == m[k].first) continue;
        unique.push_back(m[k]);
      }
      m = std::move(unique);
      break;
    }
  }
  return true;
}

bool read_alert(od::value v, RawAlert& raw) {
  od::json_type type;
  if (v.type().get(type)) return false;
  if (type != od::json_type::object) {
    raw.is_object = false;
    return check_value(v);
  }
  od::object o;
  if (v.get_object().get(o)) return false;
  for (auto field : o) {
    std::string_view key;
    od::value member;
    if (field.error() || field.unescaped_key().get(key) || field.value().get(member)) return false;
    bool ok;
    if (key == "labels") {
      ok = read_labels_value(member, raw.labels);
    } else if (key == "annotations") {
      ok = read_labels_value(member, raw.annotations);
    } else if (key == "startsAt") {
      ok = read_value(member, raw.starts_at);
    } else if (key == "endsAt") {
      ok = read_value(member, raw.ends_at);
    } else if (key == "generatorURL") {
      ok = read_value(member, raw.generator_url);
    } else {
      ok = check_value(member);
    }
    if (!ok) return false;
  }
  return true;
}

// Bodies up to this size reuse one parser per thread (its buffers grow to the largest body
// seen); a larger one gets a parser of its own, so a rare huge body is not kept in memory.
constexpr std::size_t kReusedParserMaxBytes = 1u << 20;

// False when simdjson refuses the body (`out` is then unspecified).
bool parse_with_simdjson(std::string_view body, core::TimePoint now, core::Duration resolve_timeout,
                         AlertsParse& out) {
  thread_local std::string reused_buffer;
  thread_local od::parser reused_parser;
  thread_local RawAlert raw;
  thread_local LabelViews kept;
  std::string own_buffer;
  std::optional<od::parser> own_parser;
  const bool reuse = body.size() <= kReusedParserMaxBytes;
  // simdjson reads up to SIMDJSON_PADDING bytes past the end: parse a padded copy.
  std::string& padded = reuse ? reused_buffer : own_buffer;
  padded.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  padded.assign(body);
  od::parser& parser = reuse ? reused_parser : own_parser.emplace();
  od::document doc;
  if (parser.iterate(padded.data(), padded.size(), padded.capacity()).get(doc)) return false;
  od::json_type type;
  if (doc.type().get(type) || type != od::json_type::array) return false;
  od::array array;
  if (doc.get_array().get(array)) return false;
  out.body_ok = true;
  out.errors.clear();
  std::size_t index = 0;
  std::size_t valid = 0;
  for (auto element : array) {
    od::value v;
    raw.reset();
    if (element.get(v) || !read_alert(v, raw)) return false;
    validate_one(raw, index++, now, resolve_timeout, out, valid, kept);
  }
  // Trailing content after the array ("[] []"): the document's location is past the end only
  // when there is none.
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) return false;
  out.total = index;
  out.alerts.resize(valid);
  return true;
}

}  // namespace

void parse_alerts(std::string_view body, core::TimePoint now, core::Duration resolve_timeout,
                  AlertsParse& out) {
  if (!parse_with_simdjson(body, now, resolve_timeout, out)) {
    out = parse_with_nlohmann(body, now, resolve_timeout);
  }
}

AlertsParse parse_alerts(std::string_view body, core::TimePoint now,
                         core::Duration resolve_timeout) {
  AlertsParse out;
  parse_alerts(body, now, resolve_timeout, out);
  return out;
}

AlertsParse parse_alerts_reference(std::string_view body, core::TimePoint now,
                                   core::Duration resolve_timeout) {
  return parse_with_nlohmann(body, now, resolve_timeout);
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
