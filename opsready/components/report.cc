#include "opsready/components/report.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "opsready/core/text.h"
#include "opsready/core/time.h"

namespace opsready::components {
namespace {

std::string type_name(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::object:
      return "an object";
    case nlohmann::json::value_t::array:
      return "an array";
    case nlohmann::json::value_t::string:
      return "a string";
    case nlohmann::json::value_t::boolean:
      return "a boolean";
    case nlohmann::json::value_t::null:
      return "null";
    default:
      return "a number";
  }
}

}  // namespace

std::optional<double> document_number(const nlohmann::json& v) { return core::to_number(v); }

std::optional<bool> document_bool(const nlohmann::json& v) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number_integer() || v.is_number_unsigned()) {
    const auto n = v.get<long long>();
    if (n == 0 || n == 1) return n == 1;
    return std::nullopt;
  }
  if (!v.is_string()) return std::nullopt;
  const std::string w = core::to_lower(core::trim(v.get_ref<const std::string&>()));
  if (w == "1" || w == "true" || w == "yes" || w == "y" || w == "on") return true;
  if (w == "0" || w == "false" || w == "no" || w == "n" || w == "off") return false;
  return std::nullopt;
}

std::optional<core::TimePoint> document_time(std::string_view text) {
  text = core::trim(text);
  if (auto t = core::parse_rfc3339(text)) return *t;
  // Without an offset (naive): UTC. Only when the text has a time part and no zone.
  const auto tpos = text.find_first_of("Tt ");
  if (tpos == std::string_view::npos) {
    // A bare date: midnight UTC.
    if (auto t = core::parse_rfc3339(std::string(text) + "T00:00:00Z")) return *t;
    return std::nullopt;
  }
  const std::string_view clock = text.substr(tpos + 1);
  if (clock.find_first_of("Zz+-") != std::string_view::npos) return std::nullopt;
  std::string fixed(text);
  fixed[tpos] = 'T';
  if (auto t = core::parse_rfc3339(fixed + "Z")) return *t;
  return std::nullopt;
}

std::string slug(std::string_view part) { return core::slug_part(part); }

// ---- Doc ------------------------------------------------------------------------------------

Doc::Doc(const nlohmann::json& object, std::string path)
    : object_(&object), path_(std::move(path)) {}

std::string Doc::path_of(std::string_view key) const {
  if (path_.empty()) return std::string(key);
  return path_ + "." + std::string(key);
}

core::Error Doc::error(std::string_view key, std::string message) const {
  return core::Error{.code = "invalid_document",
                     .message = std::move(message),
                     .field = key.empty() ? path_ : path_of(key)};
}

core::Result<void> Doc::only(std::initializer_list<std::string_view> known) const {
  return only(std::vector<std::string_view>(known));
}

core::Result<void> Doc::only(const std::vector<std::string_view>& known) const {
  for (const auto& [key, value] : object_->items()) {
    (void)value;
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::string names;
      for (std::size_t i = 0; i < known.size() && i < 12; ++i) {
        names += (i ? ", " : "") + std::string(known[i]);
      }
      if (known.size() > 12) names += ", ...";
      return std::unexpected(error(key, "unknown field (known: " + names + ")"));
    }
  }
  return {};
}

bool Doc::has(std::string_view key) const { return get(key) != nullptr; }

const nlohmann::json* Doc::get(std::string_view key) const {
  const auto it = object_->find(key);
  if (it == object_->end() || it->is_null()) return nullptr;
  return &*it;
}

core::Result<std::optional<double>> Doc::number(std::string_view key) const {
  const nlohmann::json* v = get(key);
  if (v == nullptr) return std::optional<double>();
  if (auto n = document_number(*v)) return n;
  return std::unexpected(
      error(key, "must be a finite number (or a string holding one), got " + type_name(*v)));
}

core::Result<std::optional<bool>> Doc::boolean(std::string_view key) const {
  const nlohmann::json* v = get(key);
  if (v == nullptr) return std::optional<bool>();
  if (auto b = document_bool(*v)) return b;
  return std::unexpected(
      error(key, "must be a boolean (true/false, yes/no, on/off, 1/0), got " + type_name(*v)));
}

core::Result<std::optional<std::string>> Doc::string(std::string_view key) const {
  const nlohmann::json* v = get(key);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return std::unexpected(error(key, "must be a string, got " + type_name(*v)));
  return v->get<std::string>();
}

core::Result<std::optional<std::string>> Doc::text(std::string_view key) const {
  const nlohmann::json* v = get(key);
  if (v == nullptr) return std::optional<std::string>();
  if (v->is_string()) return v->get<std::string>();
  if (v->is_number() || v->is_boolean()) return v->dump();
  return std::unexpected(error(key, "must be a string, got " + type_name(*v)));
}

core::Result<std::vector<std::string>> Doc::strings(std::string_view key) const {
  std::vector<std::string> out;
  const nlohmann::json* v = get(key);
  if (v == nullptr) return out;
  if (v->is_string()) {
    std::string item;
    const auto flush = [&] {
      const std::string_view t = core::trim(item);
      if (!t.empty()) out.emplace_back(t);
      item.clear();
    };
    for (char c : v->get_ref<const std::string&>()) {
      if (c == ',' || c == ';') {
        flush();
      } else {
        item += c;
      }
    }
    flush();
    return out;
  }
  if (!v->is_array()) {
    return std::unexpected(error(
        key, "must be a list of strings or one ',' / ';' separated string, got " + type_name(*v)));
  }
  for (std::size_t i = 0; i < v->size(); ++i) {
    const nlohmann::json& item = (*v)[i];
    if (item.is_null()) continue;
    std::string s;
    if (item.is_string()) {
      s = std::string(core::trim(item.get_ref<const std::string&>()));
    } else if (item.is_number() || item.is_boolean()) {
      s = item.dump();
    } else {
      return std::unexpected(error(std::string(key) + "[" + std::to_string(i) + "]",
                                   "must be a string, got " + type_name(item)));
    }
    if (!s.empty()) out.push_back(std::move(s));
  }
  return out;
}

core::Result<std::optional<core::TimePoint>> Doc::time(std::string_view key) const {
  const nlohmann::json* v = get(key);
  if (v == nullptr) return std::optional<core::TimePoint>();
  if (v->is_string()) {
    if (auto t = document_time(v->get_ref<const std::string&>())) return t;
    return std::unexpected(
        error(key, "must be an RFC 3339 / ISO 8601 time, got '" + v->get<std::string>() + "'"));
  }
  return std::unexpected(error(key, "must be an RFC 3339 time string, got " + type_name(*v)));
}

core::Result<std::optional<Doc>> Doc::object(std::string_view key) const {
  const nlohmann::json* v = get(key);
  if (v == nullptr) return std::optional<Doc>();
  if (!v->is_object())
    return std::unexpected(error(key, "must be an object, got " + type_name(*v)));
  return std::optional<Doc>(Doc(*v, path_of(key)));
}

core::Result<const nlohmann::json*> Doc::array(std::string_view key) const {
  const nlohmann::json* v = get(key);
  if (v == nullptr) return static_cast<const nlohmann::json*>(nullptr);
  if (!v->is_array()) return std::unexpected(error(key, "must be an array, got " + type_name(*v)));
  return v;
}

core::Result<Doc> root_object(const nlohmann::json& doc, std::string_view what) {
  if (!doc.is_object()) {
    return core::fail("invalid_document",
                      std::string(what) + " must be a JSON object, got " + type_name(doc));
  }
  return Doc(doc, "");
}

core::Result<core::Status> required_status(const Doc& doc, std::string_view key) {
  auto word = doc.string(key);
  if (!word) return std::unexpected(word.error());
  if (!*word) return std::unexpected(doc.error(key, "required field is missing"));
  auto status = core::parse_status(**word);
  if (!status) return std::unexpected(doc.error(key, status.error().message));
  return *status;
}

core::Result<std::vector<NamedStatus>> named_statuses(const Doc& doc, std::string_view key) {
  std::vector<NamedStatus> out;
  auto list = doc.array(key);
  if (!list) return std::unexpected(list.error());
  if (*list == nullptr) return out;
  out.reserve((*list)->size());
  for (std::size_t i = 0; i < (*list)->size(); ++i) {
    const nlohmann::json& item = (**list)[i];
    const std::string path = doc.path_of(key) + "[" + std::to_string(i) + "]";
    if (!item.is_object()) return core::fail("invalid_document", "must be an object", path);
    Doc d(item, path);
    if (auto ok = d.only({"name", "status", "summary", "metadata"}); !ok) {
      return std::unexpected(ok.error());
    }
    NamedStatus row;
    auto name = d.text("name");
    if (!name) return std::unexpected(name.error());
    if (!*name) return std::unexpected(d.error("name", "required field is missing"));
    row.name = std::move(**name);
    auto status = required_status(d, "status");
    if (!status) return std::unexpected(status.error());
    row.status = *status;
    auto summary = d.text("summary");
    if (!summary) return std::unexpected(summary.error());
    row.summary = summary->value_or("");
    auto metadata = d.object("metadata");
    if (!metadata) return std::unexpected(metadata.error());
    if (*metadata) row.metadata = (*metadata)->json();
    out.push_back(std::move(row));
  }
  return out;
}

// ---- Findings -------------------------------------------------------------------------------

void Findings::add(std::string category, core::Status severity, std::string message,
                   std::string code, nlohmann::json detail) {
  // The n-th use of a code takes the qualifier n (":n", or "-n" after an existing qualifier),
  // skipping any that a finding was already given as its own code.
  int& uses = uses_[code];
  if (uses > 0 || emitted_.contains(code)) {
    const std::string base = code;
    const char* sep = base.find(':') == std::string::npos ? ":" : "-";
    do {
      ++uses;
      code = base + sep + std::to_string(uses);
    } while (emitted_.contains(code));
  } else {
    ++uses;
  }
  emitted_.insert(code);
  findings_.push_back(Finding{.category = std::move(category),
                              .severity = severity,
                              .message = std::move(message),
                              .detail = std::move(detail),
                              .code = std::move(code)});
}

core::Status Findings::worst() const {
  core::Status s = core::Status::kOk;
  for (const Finding& f : findings_) s = core::escalate(s, f.severity);
  return s;
}

std::vector<std::string> Findings::messages() const {
  std::vector<std::string> out;
  out.reserve(findings_.size());
  for (const Finding& f : findings_) out.push_back(f.message);
  return out;
}

void Findings::write_to(core::ComponentSnapshot& s) const {
  const std::string book = runbook_path(component_);
  for (const Finding& f : findings_) {
    s.issues.push_back(core::Issue{.code = f.code,
                                   .severity = core::severity_for(f.severity),
                                   .message = f.message,
                                   .runbook = book + "#" + slug(f.category)});
  }
  s.status = core::escalate(s.status, worst());
}

void Findings::write_metadata(nlohmann::json& metadata) const {
  if (findings_.empty()) return;
  nlohmann::json details = nlohmann::json::array();
  std::map<std::string, int> counts;
  nlohmann::json catalog = nlohmann::json::object();
  std::map<std::string, core::Status> category_severity;
  for (const Finding& f : findings_) {
    nlohmann::json entry = {{"category", f.category},
                            {"severity", core::to_string(f.severity)},
                            {"message", f.message}};
    if (!f.detail.is_null()) entry["detail"] = f.detail;
    details.push_back(entry);
    ++counts[std::string(core::to_string(f.severity))];
    catalog[f.category].push_back(std::move(entry));
    auto [it, inserted] = category_severity.emplace(f.category, f.severity);
    if (!inserted) it->second = core::escalate(it->second, f.severity);
  }
  metadata["issue_details"] = std::move(details);
  metadata["issue_counts"] = counts;
  metadata["issue_catalog"] = std::move(catalog);
  nlohmann::json cs = nlohmann::json::object();
  for (const auto& [c, sev] : category_severity) cs[c] = core::to_string(sev);
  metadata["issue_category_severity"] = std::move(cs);
  metadata["highest_issue_severity"] = core::to_string(worst());
}

// ---- Evaluated documents --------------------------------------------------------------------

core::Result<Evaluated> from_evaluated(std::string_view component, std::string_view code_prefix,
                                       const nlohmann::json& doc, core::TimePoint received,
                                       std::string summary, std::string_view issues_key,
                                       bool take_issue_details) {
  auto root = root_object(doc, "an evaluated snapshot");
  if (!root) return std::unexpected(root.error());
  Evaluated e;
  e.snapshot.component = std::string(component);
  auto status_word = root->string("status");
  if (!status_word) return std::unexpected(status_word.error());
  if (!*status_word) return std::unexpected(root->error("status", "required field is missing"));
  auto status = core::parse_status(**status_word);
  if (!status) return std::unexpected(root->error("status", status.error().message));
  e.snapshot.status = *status;
  auto generated = root->time("generated_at");
  if (!generated) return std::unexpected(generated.error());
  e.snapshot.observed_at = generated->value_or(received);
  e.snapshot.summary = std::move(summary);
  auto metadata = root->object("metadata");
  if (!metadata) return std::unexpected(metadata.error());
  Findings findings{std::string(component)};
  bool from_details = false;
  if (*metadata && take_issue_details) {
    auto details = (*metadata)->array("issue_details");
    if (!details) return std::unexpected(details.error());
    if (*details != nullptr) {
      for (std::size_t i = 0; i < (*details)->size(); ++i) {
        const nlohmann::json& item = (**details)[i];
        const std::string path =
            (*metadata)->path_of("issue_details") + "[" + std::to_string(i) + "]";
        if (!item.is_object()) {
          return core::fail("invalid_document", "must be an object", path);
        }
        Doc d(item, path);
        auto category = d.string("category");
        if (!category) return std::unexpected(category.error());
        auto message = d.string("message");
        if (!message) return std::unexpected(message.error());
        auto sev_word = d.string("severity");
        if (!sev_word) return std::unexpected(sev_word.error());
        core::Status sev = e.snapshot.status;
        if (*sev_word) {
          // The original writes ok/warn/fail; info/warning/critical are accepted too.
          if (auto st = core::parse_status(**sev_word)) {
            sev = *st;
          } else if (auto sv = core::parse_severity(**sev_word)) {
            sev = core::status_for(*sv);
          } else {
            return std::unexpected(d.error("severity", st.error().message));
          }
        }
        const std::string cat = category->value_or("general");
        nlohmann::json detail = nullptr;
        if (const nlohmann::json* dv = d.get("detail")) detail = *dv;
        findings.add(cat, sev, message->value_or(std::string(component) + " issue"),
                     std::string(code_prefix) + "." + slug(cat), std::move(detail));
        from_details = true;
      }
    }
  }
  if (!from_details && !issues_key.empty()) {
    auto issues = root->strings(issues_key);
    if (!issues) return std::unexpected(issues.error());
    for (const std::string& m : *issues) {
      findings.add("issue",
                   e.snapshot.status == core::Status::kOk ? core::Status::kWarn : e.snapshot.status,
                   m, std::string(code_prefix) + ".issue");
    }
  }
  findings.write_to(e.snapshot);
  // The document's own status stays authoritative: issues only escalate it (write_to).
  e.snapshot.metadata = nlohmann::json::object();
  if (*metadata) {
    e.snapshot.metadata = (*metadata)->json();
    if (!take_issue_details) e.snapshot.metadata.erase("issue_details");
  }
  e.snapshot.metadata["source"] = "evaluated_snapshot";
  e.report = doc;
  return e;
}

core::Result<Evaluated> evaluated_report(std::string_view component, bool evaluated_form,
                                         const nlohmann::json& doc, core::TimePoint now,
                                         const ReportView& view,
                                         const std::function<nlohmann::json()>& input_report,
                                         const Findings& findings, std::string markdown) {
  Evaluated e;
  if (evaluated_form) {
    auto env = from_evaluated(component, component, doc, now, view.summary, "", false);
    if (!env) return std::unexpected(env.error());
    e = std::move(*env);
  } else {
    e.snapshot.component = std::string(component);
    e.snapshot.status = view.status;
    e.snapshot.summary = view.summary;
    e.snapshot.observed_at = view.observed_at;
    if (view.metadata != nullptr) e.snapshot.metadata = *view.metadata;
    e.snapshot.metadata["source"] = "input";
    e.report = input_report();
  }
  findings.write_to(e.snapshot);
  findings.write_metadata(e.snapshot.metadata);
  e.markdown = std::move(markdown);
  return e;
}

// ---- DocumentComponent ----------------------------------------------------------------------

DocumentComponent::DocumentComponent(std::string name, std::string alert_category,
                                     std::vector<std::string> topics)
    : name_(std::move(name)),
      alert_category_(std::move(alert_category)),
      topics_(std::move(topics)) {}

bool DocumentComponent::consumes(std::string_view topic) const {
  return std::find(topics_.begin(), topics_.end(), topic) != topics_.end();
}

core::Result<void> DocumentComponent::apply(const core::TelemetryEvent& event) {
  auto e = evaluate(event.payload, event.time);
  if (!e) return std::unexpected(e.error());
  kept(*e);
  latest_ = std::move(*e);
  return {};
}

core::Result<void> DocumentComponent::check(const core::TelemetryEvent& event) {
  auto e = evaluate(event.payload, event.time);
  if (!e) return std::unexpected(e.error());
  return {};
}

core::ComponentSnapshot DocumentComponent::snapshot(core::TimePoint /*now*/, Detail detail) {
  if (!latest_) {
    return core::ComponentSnapshot{.component = name_, .status = core::Status::kOk};
  }
  if (detail == Detail::kBrief) {
    const core::ComponentSnapshot& l = latest_->snapshot;
    return core::ComponentSnapshot{.component = l.component,
                                   .status = l.status,
                                   .summary = l.summary,
                                   .observed_at = l.observed_at,
                                   .issues = l.issues,
                                   .metadata = nlohmann::json::object()};
  }
  return latest_->snapshot;
}

}  // namespace opsready::components
