#include "opsready/components/professional_readiness.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <map>

#include "opsready/core/text.h"
#include "opsready/core/time.h"

namespace opsready::components {
namespace {

constexpr std::string_view kTopic = "telemetry.operational.readiness";
constexpr std::string_view kDefaultBackupService = "timescale_backups";

constexpr std::string_view kDataBackbone = "data_backbone";
constexpr std::string_view kBackups = "backups";
constexpr std::string_view kIngestSlos = "ingest_slos";
constexpr std::string_view kOperationalReadiness = "operational_readiness";
constexpr std::string_view kFailover = "failover";
constexpr std::string_view kRecovery = "recovery";
constexpr std::array<std::string_view, 6> kComponentNames = {
    kDataBackbone, kBackups, kIngestSlos, kOperationalReadiness, kFailover, kRecovery};

// The SLO vocabulary keeps its own wire words (§0.1): pass/warn/fail.
std::string slo_word(core::Status s) {
  return s == core::Status::kOk ? "pass" : std::string(core::to_string(s));
}

// Python's int() over an issue_counts value: numbers (and numeric strings) truncated toward
// zero; anything else is skipped.
std::optional<long long> count_value(const nlohmann::json& v) {
  const auto n = coerce_number(v);
  if (!n || std::fabs(*n) > 9.0e18) return std::nullopt;
  return static_cast<long long>(std::trunc(*n));
}

// {key → int} of an issue_counts object; none when absent, not an object or without one
// usable entry.
std::optional<nlohmann::json> int_counts(const nlohmann::json& metadata) {
  if (!metadata.is_object()) return std::nullopt;
  const auto it = metadata.find("issue_counts");
  if (it == metadata.end() || !it->is_object()) return std::nullopt;
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [k, v] : it->items()) {
    if (auto n = count_value(v)) out[k] = *n;
  }
  if (out.empty()) return std::nullopt;
  return out;
}

nlohmann::json feeder_json(const FeederSnapshot& f, bool slo) {
  if (!f.snapshot.is_null()) return f.snapshot;
  nlohmann::json j = {{"status", slo ? slo_word(f.status) : std::string(core::to_string(f.status))},
                      {"summary", f.summary}};
  if (f.observed_at) j["generated_at"] = core::format_rfc3339(*f.observed_at);
  j["metadata"] = f.metadata.is_object() ? f.metadata : nlohmann::json::object();
  return j;
}

ProfessionalComponent feeder_component(std::string_view name, const FeederSnapshot& f) {
  const bool slo = name == kIngestSlos;
  const std::string word = slo ? slo_word(f.status) : std::string(core::to_string(f.status));
  ProfessionalComponent c{.name = std::string(name), .status = f.status};
  if (name == kBackups) {
    c.summary =
        (f.service.empty() ? std::string(kDefaultBackupService) : f.service) + " status=" + word;
  } else {
    c.summary =
        "status=" + word + " across " + std::to_string(f.count) + (slo ? " SLOs" : " components");
  }
  c.metadata = {{"snapshot", feeder_json(f, slo)}};
  if (name == kOperationalReadiness && f.metadata.is_object()) {
    for (const char* key : {"status_breakdown", "component_statuses"}) {
      if (const auto it = f.metadata.find(key); it != f.metadata.end() && !it->is_null()) {
        c.metadata[key] = *it;
      }
    }
    if (const auto it = f.metadata.find("issue_counts");
        it != f.metadata.end() && it->is_object()) {
      nlohmann::json counts = nlohmann::json::object();
      for (const auto& [k, v] : it->items()) {
        if (v.is_number()) counts[k] = static_cast<long long>(std::trunc(v.get<double>()));
      }
      c.metadata["issue_counts"] = std::move(counts);
    }
    if (const auto it = f.metadata.find("component_issue_details");
        it != f.metadata.end() && it->is_object()) {
      nlohmann::json details = nlohmann::json::object();
      for (const auto& [k, v] : it->items()) {
        if (v.is_object()) details[k] = v;
      }
      c.metadata["component_issue_details"] = std::move(details);
    }
  }
  return c;
}

ProfessionalComponent failover_component(const FailoverDecision& d) {
  ProfessionalComponent c{.name = std::string(kFailover)};
  if (d.should_failover) {
    c.status = core::Status::kFail;
    c.summary = d.reason.empty() ? "failover triggered" : d.reason;
  } else if (!d.optional_triggers.empty()) {
    c.status = core::Status::kWarn;
    c.summary = "optional dimensions degraded";
  } else {
    c.summary = "no failover required";
  }
  if (!d.decision.is_null()) {
    c.metadata = d.decision;
  } else {
    c.metadata = {{"should_failover", d.should_failover},
                  {"optional_triggers", d.optional_triggers}};
    if (!d.reason.empty()) c.metadata["reason"] = d.reason;
    if (d.generated_at) c.metadata["generated_at"] = core::format_rfc3339(*d.generated_at);
  }
  return c;
}

ProfessionalComponent recovery_component(const RecoveryPlan& r) {
  ProfessionalComponent c{.name = std::string(kRecovery)};
  const bool empty = !r.plan.is_array() || r.plan.empty();
  c.status = empty ? core::Status::kOk : core::Status::kWarn;
  c.summary = empty ? "no recovery actions necessary" : "recovery actions planned";
  if (!empty) c.metadata["plan"] = r.plan;
  if (!r.reasons.empty()) c.metadata["reasons"] = r.reasons;
  if (!r.missing_symbols.empty()) c.metadata["missing_symbols"] = r.missing_symbols;
  return c;
}

std::string summary_of(const ProfessionalReadinessSnapshot& p) {
  if (p.components.empty()) return "No professional readiness inputs";
  std::string out = std::string(core::to_string(p.status)) + " across " +
                    std::to_string(p.components.size()) + " components";
  std::string degraded;
  for (const auto& c : p.components) {
    if (c.status == core::Status::kOk) continue;
    degraded +=
        (degraded.empty() ? "" : ", ") + c.name + " " + std::string(core::to_string(c.status));
  }
  if (!degraded.empty()) out += " (" + degraded + ")";
  return out;
}

// Appends `issue`, making its code unique within the snapshot (":<n>" for the n-th repeat).
void add_unique(core::ComponentSnapshot& s, core::Issue issue) {
  const std::string base = issue.code;
  int n = 1;
  const auto taken = [&](const std::string& code) {
    return std::any_of(s.issues.begin(), s.issues.end(),
                       [&](const core::Issue& i) { return i.code == code; });
  };
  while (taken(issue.code)) issue.code = base + ":" + std::to_string(++n);
  s.status = core::escalate(s.status, core::status_for(issue.severity));
  s.issues.push_back(std::move(issue));
}

void add_component_issues(const ProfessionalReadinessSnapshot& p, core::ComponentSnapshot& s) {
  const std::string book = runbook_path(kProfessionalReadinessName);
  for (const auto& c : p.components) {
    if (c.status == core::Status::kOk) continue;
    add_unique(s, core::Issue{.code = std::string(kProfessionalReadinessName) + "." + c.name,
                              .severity = core::severity_for(c.status),
                              .message = c.name + " status " +
                                         std::string(core::to_string(c.status)) + ": " + c.summary,
                              .runbook = book + "#" + slug(c.name)});
  }
}

// ---- Reading documents ------------------------------------------------------------------------

core::Result<std::size_t> array_size(const Doc& d, std::string_view key, bool objects) {
  auto a = d.array(key);
  if (!a) return std::unexpected(a.error());
  if (*a == nullptr) return std::size_t{0};
  if (objects) {
    for (std::size_t i = 0; i < (*a)->size(); ++i) {
      if (!(**a)[i].is_object()) {
        return std::unexpected(
            d.error(std::string(key) + "[" + std::to_string(i) + "]", "must be an object"));
      }
    }
  }
  return (*a)->size();
}

core::Result<nlohmann::json> metadata_of(const Doc& d) {
  auto m = d.object("metadata");
  if (!m) return std::unexpected(m.error());
  return *m ? (*m)->json() : nlohmann::json::object();
}

// One feeder document: its status, generated_at, metadata and what it counts.
core::Result<FeederSnapshot> read_feeder(std::string_view name, const Doc& d) {
  std::vector<std::string_view> known = {"status", "generated_at", "metadata"};
  if (name == kDataBackbone) {
    known.insert(known.end(), {"components", "component_count"});
  } else if (name == kBackups) {
    known.insert(known.end(),
                 {"service", "latest_backup_at", "next_backup_due_at", "retention_days", "issues"});
  } else if (name == kIngestSlos) {
    known.insert(known.end(), {"service", "slos"});
  } else {
    known.insert(known.end(), {"components"});
  }
  if (auto ok = d.only(known); !ok) return std::unexpected(ok.error());
  FeederSnapshot f;
  auto st = required_status(d, "status");
  if (!st) return std::unexpected(st.error());
  f.status = *st;
  auto t = d.time("generated_at");
  if (!t) return std::unexpected(t.error());
  f.observed_at = *t;
  auto m = metadata_of(d);
  if (!m) return std::unexpected(m.error());
  f.metadata = std::move(*m);
  if (name == kDataBackbone || name == kOperationalReadiness) {
    auto n = array_size(d, "components", true);
    if (!n) return std::unexpected(n.error());
    f.count = *n;
    if (name == kDataBackbone && !d.has("components")) {
      auto declared = d.number("component_count");
      if (!declared) return std::unexpected(declared.error());
      if (*declared) {
        const double v = **declared;
        if (v < 0 || v != std::floor(v) || v > 1e9) {
          return std::unexpected(d.error("component_count", "must be a whole number ≥ 0"));
        }
        f.count = static_cast<std::size_t>(v);
      }
    }
  } else if (name == kIngestSlos) {
    auto n = array_size(d, "slos", true);
    if (!n) return std::unexpected(n.error());
    f.count = *n;
    auto service = d.string("service");
    if (!service) return std::unexpected(service.error());
    f.service = service->value_or("");
  } else {
    auto service = d.string("service");
    if (!service) return std::unexpected(service.error());
    f.service = service->value_or(std::string(kDefaultBackupService));
    for (const char* key : {"latest_backup_at", "next_backup_due_at"}) {
      if (auto bt = d.time(key); !bt) return std::unexpected(bt.error());
    }
    if (auto r = d.number("retention_days"); !r) return std::unexpected(r.error());
    if (auto i = d.strings("issues"); !i) return std::unexpected(i.error());
  }
  f.snapshot = d.json();
  return f;
}

core::Result<FailoverDecision> read_failover(const Doc& d) {
  if (auto ok = d.only({"should_failover", "reason", "optional_triggers", "triggered_dimensions",
                        "generated_at", "metadata"});
      !ok) {
    return std::unexpected(ok.error());
  }
  FailoverDecision f;
  auto should = d.boolean("should_failover");
  if (!should) return std::unexpected(should.error());
  if (!*should) return std::unexpected(d.error("should_failover", "required field is missing"));
  f.should_failover = **should;
  auto reason = d.string("reason");
  if (!reason) return std::unexpected(reason.error());
  f.reason = reason->value_or("");
  auto triggers = d.strings("optional_triggers");
  if (!triggers) return std::unexpected(triggers.error());
  f.optional_triggers = std::move(*triggers);
  if (auto td = d.strings("triggered_dimensions"); !td) return std::unexpected(td.error());
  auto t = d.time("generated_at");
  if (!t) return std::unexpected(t.error());
  f.generated_at = *t;
  if (auto m = metadata_of(d); !m) return std::unexpected(m.error());
  f.decision = d.json();
  return f;
}

core::Result<RecoveryPlan> read_recovery(const Doc& d) {
  if (auto ok = d.only({"plan", "reasons", "missing_symbols"}); !ok) {
    return std::unexpected(ok.error());
  }
  RecoveryPlan r;
  auto plan = d.array("plan");
  if (!plan) return std::unexpected(plan.error());
  if (*plan != nullptr) r.plan = **plan;
  auto reasons = d.strings("reasons");
  if (!reasons) return std::unexpected(reasons.error());
  r.reasons = std::move(*reasons);
  auto missing = d.strings("missing_symbols");
  if (!missing) return std::unexpected(missing.error());
  r.missing_symbols = std::move(*missing);
  return r;
}

// An evaluated snapshot's components, checked and read back into the snapshot type.
core::Result<ProfessionalReadinessSnapshot> read_evaluated(const Doc& root, core::TimePoint now) {
  if (auto ok = root.only({"status", "generated_at", "components", "metadata"}); !ok) {
    return std::unexpected(ok.error());
  }
  ProfessionalReadinessSnapshot p;
  auto st = required_status(root, "status");
  if (!st) return std::unexpected(st.error());
  p.status = *st;
  auto t = root.time("generated_at");
  if (!t) return std::unexpected(t.error());
  p.generated_at = t->value_or(now);
  auto m = metadata_of(root);
  if (!m) return std::unexpected(m.error());
  p.metadata = std::move(*m);
  auto components = root.array("components");
  if (!components) return std::unexpected(components.error());
  if (*components == nullptr) return p;
  for (std::size_t i = 0; i < (*components)->size(); ++i) {
    const nlohmann::json& item = (**components)[i];
    const std::string path = root.path_of("components") + "[" + std::to_string(i) + "]";
    if (!item.is_object()) return core::fail("invalid_document", "must be an object", path);
    Doc d(item, path);
    if (auto ok = d.only({"name", "status", "summary", "metadata"}); !ok) {
      return std::unexpected(ok.error());
    }
    auto name = d.string("name");
    if (!name) return std::unexpected(name.error());
    if (!*name) return std::unexpected(d.error("name", "required field is missing"));
    if (std::find(kComponentNames.begin(), kComponentNames.end(), **name) ==
        kComponentNames.end()) {
      return std::unexpected(d.error(
          "name", "unknown component '" + **name +
                      "' (known: data_backbone, backups, ingest_slos, operational_readiness, "
                      "failover, recovery)"));
    }
    ProfessionalComponent c{.name = **name};
    auto cst = required_status(d, "status");
    if (!cst) return std::unexpected(cst.error());
    c.status = *cst;
    auto summary = d.string("summary");
    if (!summary) return std::unexpected(summary.error());
    c.summary = summary->value_or("");
    auto cm = metadata_of(d);
    if (!cm) return std::unexpected(cm.error());
    c.metadata = std::move(*cm);
    p.components.push_back(std::move(c));
  }
  return p;
}

std::string cell(const nlohmann::json& v) {
  return core::markdown_inline(v.is_string() ? v.get<std::string>() : v.dump());
}

}  // namespace

core::Result<void> validate(const ProfessionalReadinessConfig& /*config*/) { return {}; }

FeederSnapshot feeder_of(const core::ComponentSnapshot& s, std::size_t count) {
  FeederSnapshot f{.status = s.status,
                   .summary = s.summary,
                   .observed_at = s.observed_at,
                   .metadata = s.metadata.is_object() ? s.metadata : nlohmann::json::object(),
                   .count = count};
  if (!f.metadata.contains("issue_counts") && !s.issues.empty()) {
    std::map<std::string, long long> counts;
    for (const core::Issue& i : s.issues) {
      if (i.severity == core::Severity::kInfo) continue;
      ++counts[std::string(core::to_string(core::status_for(i.severity)))];
    }
    if (!counts.empty()) f.metadata["issue_counts"] = counts;
  }
  const auto service = f.metadata.find("service");
  f.service = service != f.metadata.end() && service->is_string() ? service->get<std::string>()
                                                                  : s.component;
  f.snapshot = core::to_json(s);
  f.snapshot["metadata"] = f.metadata;
  return f;
}

FailoverDecision failover_of(const core::ComponentSnapshot& drill) {
  FailoverDecision d{.should_failover = drill.status == core::Status::kFail,
                     .generated_at = drill.observed_at};
  if (d.should_failover) d.reason = drill.summary;
  for (const core::Issue& i : drill.issues) {
    if (i.severity == core::Severity::kWarning) d.optional_triggers.push_back(i.message);
  }
  if (drill.status == core::Status::kWarn && d.optional_triggers.empty()) {
    d.optional_triggers.push_back(drill.summary);
  }
  return d;
}

RecoveryPlan recovery_of(const core::ComponentSnapshot& recovery) {
  RecoveryPlan r;
  for (const core::Issue& i : recovery.issues) {
    if (i.severity != core::Severity::kInfo) r.plan.push_back(i.message);
  }
  if (recovery.status != core::Status::kOk) {
    if (r.plan.empty()) r.plan.push_back(recovery.summary);
    r.reasons.push_back(recovery.summary);
  }
  return r;
}

ProfessionalReadinessSnapshot evaluate_professional_readiness(
    const ProfessionalInputs& in, core::TimePoint now, const ProfessionalReadinessConfig& config) {
  ProfessionalReadinessSnapshot p;
  std::optional<core::TimePoint> latest;
  const auto stamp = [&](const std::optional<core::TimePoint>& t) {
    if (t && (!latest || *t > *latest)) latest = *t;
  };
  const std::pair<std::string_view, const std::optional<FeederSnapshot>*> feeders[] = {
      {kDataBackbone, &in.data_backbone},
      {kBackups, &in.backups},
      {kIngestSlos, &in.ingest_slos},
      {kOperationalReadiness, &in.operational_readiness}};
  for (const auto& [name, f] : feeders) {
    if (!f->has_value()) continue;
    p.components.push_back(feeder_component(name, **f));
    stamp((*f)->observed_at);
  }
  if (in.failover) {
    p.components.push_back(failover_component(*in.failover));
    stamp(in.failover->generated_at);
  }
  if (in.recovery) p.components.push_back(recovery_component(*in.recovery));

  for (const auto& c : p.components) p.status = core::escalate(p.status, c.status);
  p.generated_at = latest.value_or(now);

  nlohmann::json& m = p.metadata;
  m["component_count"] = p.components.size();
  if (!p.components.empty()) {
    std::map<std::string, int> breakdown;
    nlohmann::json statuses = nlohmann::json::object();
    for (const auto& c : p.components) {
      ++breakdown[std::string(core::to_string(c.status))];
      statuses[c.name] = core::to_string(c.status);
    }
    m["status_breakdown"] = breakdown;
    m["component_statuses"] = std::move(statuses);
  }

  std::map<std::string, long long> total;
  nlohmann::json details = nlohmann::json::object();
  for (const auto& c : p.components) {
    nlohmann::json detail = nlohmann::json::object();
    std::optional<nlohmann::json> counts = int_counts(c.metadata);
    if (counts) {
      detail["issue_counts"] = *counts;
    } else if (const auto snap = c.metadata.find("snapshot");
               snap != c.metadata.end() && snap->is_object() && snap->contains("metadata")) {
      counts = int_counts((*snap)["metadata"]);
      if (counts) detail["snapshot_issue_counts"] = *counts;
    }
    if (const auto it = c.metadata.find("component_issue_details");
        it != c.metadata.end() && it->is_object() && !it->empty()) {
      detail["component_issue_details"] = *it;
    }
    if (!counts && c.status != core::Status::kOk && config.count_components_without_counts) {
      const std::string word(core::to_string(c.status));
      counts = nlohmann::json{{word, 1}};
      detail["severity"] = word;
      detail["summary"] = c.summary;
      detail["issue_counts"] = *counts;
    }
    if (counts) {
      for (const auto& [k, v] : counts->items()) total[k] += v.get<long long>();
    }
    if (!detail.empty()) details[c.name] = std::move(detail);
  }
  if (!total.empty()) m["issue_counts"] = total;
  if (!details.empty()) m["component_issue_details"] = std::move(details);
  if (in.metadata.is_object()) {
    for (const auto& [k, v] : in.metadata.items()) m[k] = v;
  }
  return p;
}

nlohmann::json to_json(const ProfessionalReadinessSnapshot& p) {
  nlohmann::json components = nlohmann::json::array();
  for (const auto& c : p.components) {
    components.push_back({{"name", c.name},
                          {"status", core::to_string(c.status)},
                          {"summary", c.summary},
                          {"metadata", c.metadata}});
  }
  return {{"status", core::to_string(p.status)},
          {"generated_at", core::format_rfc3339(p.generated_at)},
          {"components", std::move(components)},
          {"metadata", p.metadata}};
}

std::string to_markdown(const ProfessionalReadinessSnapshot& p) {
  std::string out = "| Component | Status | Summary |\n| --- | --- | --- |\n";
  if (p.components.empty()) return out;
  for (const auto& c : p.components) {
    out += "| " + core::markdown_inline(c.name) + " | " +
           core::to_upper(core::to_string(c.status)) + " | " + core::markdown_inline(c.summary) +
           " |\n";
  }
  if (p.metadata.is_object() && !p.metadata.empty()) {
    out += "\nMetadata:\n";
    // nlohmann::json objects iterate in key order: the lines come out sorted.
    for (const auto& [k, v] : p.metadata.items()) {
      out += "- **" + core::markdown_inline(k) + "**: " + cell(v) + "\n";
    }
  }
  return out;
}

Evaluated to_evaluated(const ProfessionalReadinessSnapshot& p) {
  Evaluated e;
  e.snapshot = core::ComponentSnapshot{.component = std::string(kProfessionalReadinessName),
                                       .status = p.status,
                                       .summary = summary_of(p),
                                       .observed_at = p.generated_at,
                                       .metadata = p.metadata};
  add_component_issues(p, e.snapshot);
  e.report = to_json(p);
  e.markdown = to_markdown(p);
  return e;
}

core::Result<ProfessionalInputs> professional_inputs_from_json(const nlohmann::json& doc) {
  auto root = root_object(doc, "a professional readiness input document");
  if (!root) return std::unexpected(root.error());
  if (auto ok = root->only({"data_backbone", "backups", "ingest_slos", "operational_readiness",
                            "failover", "recovery", "metadata"});
      !ok) {
    return std::unexpected(ok.error());
  }
  ProfessionalInputs in;
  const std::pair<std::string_view, std::optional<FeederSnapshot>*> feeders[] = {
      {kDataBackbone, &in.data_backbone},
      {kBackups, &in.backups},
      {kIngestSlos, &in.ingest_slos},
      {kOperationalReadiness, &in.operational_readiness}};
  for (const auto& [name, slot] : feeders) {
    auto d = root->object(name);
    if (!d) return std::unexpected(d.error());
    if (!*d) continue;
    auto f = read_feeder(name, **d);
    if (!f) return std::unexpected(f.error());
    *slot = std::move(*f);
  }
  auto failover = root->object(kFailover);
  if (!failover) return std::unexpected(failover.error());
  if (*failover) {
    auto f = read_failover(**failover);
    if (!f) return std::unexpected(f.error());
    in.failover = std::move(*f);
  }
  auto recovery = root->object(kRecovery);
  if (!recovery) return std::unexpected(recovery.error());
  if (*recovery) {
    auto r = read_recovery(**recovery);
    if (!r) return std::unexpected(r.error());
    in.recovery = std::move(*r);
  }
  auto m = metadata_of(*root);
  if (!m) return std::unexpected(m.error());
  in.metadata = std::move(*m);
  return in;
}

ProfessionalReadiness::ProfessionalReadiness(const ProfessionalReadinessConfig& config)
    : DocumentComponent(std::string(kProfessionalReadinessName),
                        "operational." + std::string(kProfessionalReadinessName),
                        {std::string(kTopic)}),
      config_(config) {}

core::Result<std::unique_ptr<ProfessionalReadiness>> ProfessionalReadiness::create(
    const ProfessionalReadinessConfig& config) {
  if (auto ok = validate(config); !ok) return std::unexpected(ok.error());
  return std::unique_ptr<ProfessionalReadiness>(new ProfessionalReadiness(config));
}

core::Result<Evaluated> ProfessionalReadiness::evaluate(const nlohmann::json& doc,
                                                        core::TimePoint now) {
  auto root = root_object(doc, "a professional readiness document");
  if (!root) return std::unexpected(root.error());
  if (!root->has("status")) {
    auto in = professional_inputs_from_json(doc);
    if (!in) return std::unexpected(in.error());
    return to_evaluated(evaluate_professional_readiness(*in, now, config_));
  }
  auto p = read_evaluated(*root, now);
  if (!p) return std::unexpected(p.error());
  auto e = from_evaluated(kProfessionalReadinessName, kProfessionalReadinessName, doc, now,
                          summary_of(*p), "");
  if (!e) return std::unexpected(e.error());
  add_component_issues(*p, e->snapshot);
  e->markdown = to_markdown(*p);
  return e;
}

void ProfessionalReadiness::observe(std::span<const core::ComponentSnapshot> earlier) {
  if (!config_.live_rollup || latest() != nullptr) return;  // a document rules
  const core::ComponentSnapshot* feeders[4] = {};
  constexpr std::string_view kNames[4] = {"backups", "ingest_slos", "failover_drill",
                                          "disaster_recovery"};
  std::string key;
  for (const core::ComponentSnapshot& s : earlier) {
    for (std::size_t i = 0; i < 4; ++i) {
      if (s.component != kNames[i]) continue;
      feeders[i] = &s;
      // What the roll-up reads: status, summary, time, the issues (failover_of and
      // recovery_of use their messages) and whether the metadata came (kBrief rounds carry
      // none, so a roll-up made from them is not served to a kFull one).
      key += s.component + '\x1f' + std::string(core::to_string(s.status)) + '\x1f' + s.summary +
             '\x1f' + core::format_rfc3339(s.observed_at) + '\x1f' +
             (s.metadata.empty() ? "0" : "1");
      for (const core::Issue& i : s.issues) {
        key += '\x1f' + i.code + '\x1f' + std::string(core::to_string(i.severity)) + '\x1f' +
               i.message;
      }
      key += '\x1e';
    }
  }
  if (key.empty()) {
    live_.reset();
    live_key_.clear();
    return;
  }
  if (live_ && key == live_key_) return;
  ProfessionalInputs in;
  if (feeders[0] != nullptr) in.backups = feeder_of(*feeders[0]);
  if (feeders[1] != nullptr) in.ingest_slos = feeder_of(*feeders[1], feeders[1]->issues.size());
  if (feeders[2] != nullptr) in.failover = failover_of(*feeders[2]);
  if (feeders[3] != nullptr) in.recovery = recovery_of(*feeders[3]);
  in.metadata = {{"source", "opsready_components"}};
  // generated_at is the newest feeder's time, so `now` only matters when none has one.
  core::TimePoint newest{};
  for (const auto* f : feeders) {
    if (f != nullptr) newest = std::max(newest, f->observed_at);
  }
  live_ = to_evaluated(evaluate_professional_readiness(in, newest, config_)).snapshot;
  live_key_ = std::move(key);
}

core::ComponentSnapshot ProfessionalReadiness::snapshot(core::TimePoint now, Detail detail) {
  if (latest() != nullptr || !live_) return DocumentComponent::snapshot(now, detail);
  if (detail == Detail::kBrief) {
    return core::ComponentSnapshot{.component = live_->component,
                                   .status = live_->status,
                                   .summary = live_->summary,
                                   .observed_at = live_->observed_at,
                                   .issues = live_->issues,
                                   .metadata = nlohmann::json::object()};
  }
  return *live_;
}

}  // namespace opsready::components
