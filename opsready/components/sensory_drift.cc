#include "opsready/components/sensory_drift.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <set>

#include "opsready/components/report.h"
#include "opsready/core/text.h"
#include "opsready/detect/clamped.h"
#include "opsready/detect/psi.h"
#include "opsready/detect/stats.h"

namespace opsready::components {
namespace {

using detect::Grade;

constexpr std::string_view kTopicPrefix = "telemetry.sensory.";
// PSI windows (spec §6.4): fewer than 28 entries → no PSI; evaluation 8..24 entries; baseline
// up to 120 entries, at least 20; 8 to 12 features.
constexpr std::size_t kPsiMinEntries = 28;
constexpr std::size_t kPsiMinEvaluation = 8;
constexpr std::size_t kPsiMaxEvaluation = 24;
constexpr std::size_t kPsiMinBaseline = 20;
constexpr std::size_t kPsiMaxBaseline = 120;
constexpr std::size_t kPsiMinFeatures = 8;
constexpr std::size_t kPsiMaxFeatures = 12;
constexpr std::size_t kPsiMaxEntries = kPsiMaxEvaluation + kPsiMaxBaseline;
// Dimensions (and so features) a producer can create; more are refused.
constexpr std::size_t kMaxDimensions = 64;

constexpr std::array<std::string_view, 12> kPsiPriority = {
    "unified_score", "confidence",      "WHY.signal",     "WHY.confidence",
    "WHAT.signal",   "WHAT.confidence", "WHEN.signal",    "WHEN.confidence",
    "HOW.signal",    "HOW.confidence",  "ANOMALY.signal", "ANOMALY.confidence"};

bool valid_dimension_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

std::string_view grade_word(Grade g) { return detect::to_string(g); }

nlohmann::json to_json(const DimensionReading& d) {
  nlohmann::json j = {{"name", d.name},
                      {"current_signal", json_number(d.current_signal)},
                      {"severity", grade_word(d.severity)},
                      {"samples", d.samples}};
  put_optional(j, "baseline_signal", d.baseline_signal);
  put_optional(j, "delta", d.delta);
  put_optional(j, "current_confidence", d.current_confidence);
  put_optional(j, "baseline_confidence", d.baseline_confidence);
  put_optional(j, "confidence_delta", d.confidence_delta);
  put_optional(j, "page_hinkley_stat", d.page_hinkley_stat);
  put_optional(j, "variance_ratio", d.variance_ratio);
  put_optional(j, "psi", d.psi);
  if (!d.detectors.empty()) j["detectors"] = d.detectors;
  return j;
}

nlohmann::json catalog_entry(const DimensionReading& d, double psi_threshold) {
  nlohmann::json j = {{"severity", grade_word(d.severity)}};
  if (!d.detectors.empty()) j["detectors"] = d.detectors;
  if (d.psi) {
    j["psi"] = json_number(*d.psi);
    j["threshold"] = psi_threshold;
  }
  put_optional(j, "page_hinkley_stat", d.page_hinkley_stat);
  put_optional(j, "variance_ratio", d.variance_ratio);
  return j;
}

}  // namespace

core::Result<void> validate(const SensoryDriftConfig& c) {
  if (c.lookback < 1) return core::fail("invalid_parameter", "must be ≥ 1", "lookback");
  if (auto ok = check_thresholds(c.warn_threshold, c.alert_threshold, "warn_threshold",
                                 "alert_threshold");
      !ok) {
    return ok;
  }
  if (!std::isfinite(c.page_hinkley_delta) || c.page_hinkley_delta < 0) {
    return core::fail("invalid_parameter", "must be a finite number ≥ 0", "page_hinkley_delta");
  }
  if (auto ok = check_thresholds(c.page_hinkley_warn, c.page_hinkley_alert, "page_hinkley_warn",
                                 "page_hinkley_alert");
      !ok) {
    return ok;
  }
  if (c.page_hinkley_min_samples < 2) {
    return core::fail("invalid_parameter", "must be ≥ 2", "page_hinkley_min_samples");
  }
  if (auto ok = check_thresholds(c.variance_warn_ratio, c.variance_alert_ratio,
                                 "variance_warn_ratio", "variance_alert_ratio");
      !ok) {
    return ok;
  }
  if (c.min_variance_samples < 2) {
    return core::fail("invalid_parameter", "must be ≥ 2 (a variance needs two values)",
                      "min_variance_samples");
  }
  if (std::isnan(c.psi_alert) || c.psi_alert < 0) {
    return core::fail("invalid_parameter", "must be a number ≥ 0", "psi_alert");
  }
  std::set<std::string> seen;
  for (const auto& d : c.dimensions) {
    if (!valid_dimension_name(d)) {
      return core::fail("invalid_parameter",
                        "'" + d + "' is not a dimension name ([A-Za-z0-9_-], at most 64)",
                        "dimensions");
    }
    if (!seen.insert(core::to_upper(d)).second) {
      return core::fail("invalid_parameter", "'" + d + "' is listed twice", "dimensions");
    }
  }
  if (c.dimensions.size() > kMaxDimensions) {
    return core::fail("invalid_parameter", "at most 64 dimensions", "dimensions");
  }
  return {};
}

nlohmann::json to_json(const SensoryDriftReport& r) {
  nlohmann::json metadata =
      r.entry_metadata.is_object() ? r.entry_metadata : nlohmann::json::object();
  metadata["entries"] = r.entries;
  nlohmann::json counts = nlohmann::json::object();
  nlohmann::json catalog = nlohmann::json::object();
  nlohmann::json dims = nlohmann::json::array();
  const double threshold = r.psi ? r.psi->threshold : 0.25;
  for (const auto& d : r.dimensions) {
    const std::string sev(grade_word(d.severity));
    counts[sev] = counts.value(sev, 0) + 1;
    catalog[d.name] = catalog_entry(d, threshold);
    dims.push_back(to_json(d));
  }
  metadata["severity_counts"] = counts;
  metadata["detectors"] = catalog;
  if (r.psi) {
    nlohmann::json features = nlohmann::json::array();
    for (const auto& f : r.psi->features) {
      features.push_back({{"name", f.name}, {"psi", json_number(f.psi)}});
    }
    nlohmann::json psi = {{"threshold", r.psi->threshold},
                          {"feature_count", r.psi->features.size()},
                          {"features", features},
                          {"baseline_samples", r.psi->baseline_samples},
                          {"evaluation_samples", r.psi->evaluation_samples},
                          {"max_psi", json_number(r.psi->max_psi)}};
    if (!r.psi->alerts.empty()) {
      nlohmann::json alerts = nlohmann::json::array();
      for (const auto& f : r.psi->alerts) {
        alerts.push_back({{"name", f.name}, {"psi", json_number(f.psi)}});
      }
      psi["alerts"] = alerts;
    }
    metadata["psi"] = psi;
  }
  return {{"status", grade_word(r.status)},
          {"sample_window", r.sample_window},
          {"metadata", metadata},
          {"dimensions", dims}};
}

std::string to_markdown(const SensoryDriftReport& r) {
  if (r.dimensions.empty()) return "No sensory audit data available.\n";
  std::vector<const DimensionReading*> rows;
  for (const auto& d : r.dimensions) rows.push_back(&d);
  std::sort(rows.begin(), rows.end(),
            [](const DimensionReading* a, const DimensionReading* b) { return a->name < b->name; });
  std::string out =
      "| Dimension | Signal Δ | Confidence Δ | Status | Samples |\n"
      "| --- | --- | --- | --- | --- |\n";
  for (const auto* d : rows) {
    out += "| " + d->name + " | " + signed_fixed(d->delta.value_or(0.0), 3) + " | " +
           signed_fixed(d->confidence_delta.value_or(0.0), 3) + " | " +
           std::string(grade_word(d->severity)) + " | " + std::to_string(d->samples) + " |\n";
  }
  return out;
}

SensoryDrift::SensoryDrift(const SensoryDriftConfig& config) : config_(config) {
  for (const auto& d : config_.dimensions) {
    topics_.push_back(std::string(kTopicPrefix) + core::to_lower(d));
  }
}

core::Result<std::unique_ptr<SensoryDrift>> SensoryDrift::create(const SensoryDriftConfig& config) {
  if (auto ok = validate(config); !ok) return std::unexpected(ok.error());
  return std::unique_ptr<SensoryDrift>(new SensoryDrift(config));
}

bool SensoryDrift::consumes(std::string_view topic) const {
  if (topic == kSensoryAuditTopic) return true;
  return std::find(topics_.begin(), topics_.end(), topic) != topics_.end();
}

std::uint32_t SensoryDrift::feature_id(const std::string& name) {
  const auto it = feature_ids_.find(name);
  if (it != feature_ids_.end()) return it->second;
  const auto id = static_cast<std::uint32_t>(feature_names_.size());
  feature_names_.push_back(name);
  feature_ids_.emplace(name, id);
  return id;
}

void SensoryDrift::add_signal(const std::string& dimension, Signal s) {
  auto& q = series_[dimension];
  q.push_back(s);
  while (q.size() > static_cast<std::size_t>(config_.lookback) + 1) q.pop_front();
}

// One audit entry per event; another shape (a list under "audit_entries", a typo) is refused
// with the key rather than applied as an entry without dimensions.
static core::Result<void> check_audit_entry(const nlohmann::json& p) {
  if (!p.is_object()) return core::fail("wrong_type", "must be a JSON object", "payload");
  if (p.contains("audit_entries")) {
    return core::fail("invalid_document",
                      "a list of audit entries is not one entry: publish each entry as its own "
                      "event (an event batch carries many)",
                      "payload.audit_entries");
  }
  return Doc(p, "payload")
      .only({"symbol", "generated_at", "timestamp", "unified_score", "confidence", "dimensions",
             "metadata"});
}

core::Result<void> SensoryDrift::check(const core::TelemetryEvent& event) {
  if (event.topic == kSensoryAuditTopic) return check_audit_entry(event.payload);
  return {};
}

core::Result<void> SensoryDrift::apply(const core::TelemetryEvent& event) {
  // Parse everything first, so a refused event leaves the state unchanged.
  std::vector<std::pair<std::string, Signal>> signals;
  std::vector<std::pair<std::string, double>> features;
  nlohmann::json metadata;
  bool has_metadata = false;
  if (event.topic == kSensoryAuditTopic) {
    const auto& p = event.payload;
    if (auto ok = check_audit_entry(p); !ok) return ok;
    if (auto v = number_field(p, "unified_score")) features.emplace_back("unified_score", *v);
    if (auto v = number_field(p, "confidence")) features.emplace_back("confidence", *v);
    if (const auto dims = p.find("dimensions"); dims != p.end() && !dims->is_null()) {
      if (!dims->is_object()) {
        return core::fail("wrong_type", "must be an object {NAME: {signal, confidence}}",
                          "payload.dimensions");
      }
      for (const auto& [raw, value] : dims->items()) {
        if (!valid_dimension_name(raw)) {
          return core::fail("invalid_dimension",
                            "'" + raw + "' is not a dimension name ([A-Za-z0-9_-], at most 64)",
                            "payload.dimensions");
        }
        if (!value.is_object()) continue;  // the spec skips dimensions that are not mappings
        const std::string name = core::to_upper(raw);
        const auto signal = number_field(value, "signal");
        const auto confidence = number_field(value, "confidence");
        if (signal) features.emplace_back(name + ".signal", *signal);
        if (confidence) features.emplace_back(name + ".confidence", *confidence);
        if (signal) signals.push_back({name, Signal{*signal, confidence}});
      }
    }
    if (const auto md = p.find("metadata"); md != p.end() && !md->is_null()) {
      if (!md->is_object())
        return core::fail("wrong_type", "must be an object", "payload.metadata");
      metadata = *md;
      has_metadata = true;
    }
  } else if (consumes(event.topic)) {
    auto sample = core::sample_from_json(event.payload);
    if (!sample) return std::unexpected(sample.error());
    const std::string name = core::to_upper(event.topic.substr(kTopicPrefix.size()));
    std::optional<double> confidence;
    if (const auto it = sample->labels.find("confidence"); it != sample->labels.end()) {
      confidence = coerce_number(it->second);
      if (!confidence) {
        return core::fail("wrong_type", "must be a finite number", "payload.labels.confidence");
      }
    }
    features.emplace_back(name + ".signal", sample->value);
    if (confidence) features.emplace_back(name + ".confidence", *confidence);
    signals.push_back({name, Signal{sample->value, confidence}});
  } else {
    return core::fail("unknown_topic", "not a sensory drift topic", "topic");
  }
  std::size_t new_dims = 0;
  for (const auto& [name, s] : signals) {
    if (!series_.contains(name)) ++new_dims;
  }
  if (series_.size() + new_dims > kMaxDimensions) {
    return core::fail("too_many_dimensions", "at most 64 sensory dimensions are tracked",
                      "payload.dimensions");
  }

  for (auto& [name, s] : signals) add_signal(name, s);
  if (config_.psi_enabled) {
    Features f;
    f.reserve(features.size());
    for (const auto& [name, v] : features) f.emplace_back(feature_id(name), v);
    psi_entries_.push_front(std::move(f));
    if (psi_entries_.size() > kPsiMaxEntries) psi_entries_.pop_back();
  }
  if (has_metadata) entry_metadata_ = std::move(metadata);
  ++entries_;
  last_event_ = event.time;
  dirty_ = true;
  return {};
}

void SensoryDrift::evaluate_psi(SensoryDriftReport& r) const {
  const std::size_t n = psi_entries_.size();
  if (n < kPsiMinEntries) return;
  const std::size_t e = std::max(kPsiMinEvaluation, std::min(kPsiMaxEvaluation, n - 20));
  const std::size_t b = std::min(n - e, kPsiMaxBaseline);
  if (b < kPsiMinBaseline) return;
  const auto present = [&](std::size_t from, std::size_t to) {
    std::vector<bool> seen(feature_names_.size(), false);
    for (std::size_t k = from; k < to; ++k) {
      for (const auto& [id, v] : psi_entries_[k]) seen[id] = true;
    }
    return seen;
  };
  const auto in_eval = present(0, e);
  const auto in_base = present(e, e + b);
  std::vector<std::uint32_t> selected;
  std::vector<bool> taken(feature_names_.size(), false);
  for (std::string_view name : kPsiPriority) {
    const auto it = feature_ids_.find(name);
    if (it == feature_ids_.end() || !in_eval[it->second] || !in_base[it->second]) continue;
    selected.push_back(it->second);
    taken[it->second] = true;
  }
  if (selected.size() < kPsiMinFeatures) {
    // feature_ids_ iterates in name order: the alphabetical fill of the spec.
    for (const auto& [name, id] : feature_ids_) {
      if (selected.size() >= kPsiMinFeatures) break;
      if (taken[id] || !in_eval[id] || !in_base[id]) continue;
      selected.push_back(id);
    }
  }
  if (selected.size() > kPsiMaxFeatures) selected.resize(kPsiMaxFeatures);

  PsiSummary summary{
      .threshold = config_.psi_alert, .baseline_samples = b, .evaluation_samples = e};
  std::vector<double> base_values;
  std::vector<double> eval_values;
  std::vector<DimensionReading> dims;
  for (const std::uint32_t id : selected) {
    const auto collect = [&](std::size_t from, std::size_t to, std::size_t cap,
                             std::vector<double>& out) {
      out.clear();
      for (std::size_t k = from; k < to && out.size() < cap; ++k) {
        for (const auto& [fid, v] : psi_entries_[k]) {
          if (fid == id) {
            out.push_back(v);
            break;
          }
        }
      }
    };
    collect(e, e + b, kPsiMaxBaseline, base_values);
    collect(0, e, kPsiMaxEvaluation, eval_values);
    if (base_values.size() < kPsiMinBaseline || eval_values.size() < kPsiMinEvaluation) continue;
    const auto value = detect::psi(base_values, eval_values);
    if (!value) continue;
    summary.features.push_back({feature_names_[id], *value});
    DimensionReading d{.name = "psi:" + feature_names_[id],
                       .current_signal = *value,
                       .severity = *value >= config_.psi_alert ? Grade::kAlert : Grade::kNormal,
                       .samples = b + e,
                       .psi = *value,
                       .detectors = {"psi"}};
    if (d.severity == Grade::kAlert) d.detectors.push_back("psi_alert");
    dims.push_back(std::move(d));
  }
  for (const auto& f : summary.features) summary.max_psi = std::max(summary.max_psi, f.psi);
  for (const auto& f : summary.features) {
    if (f.psi >= config_.psi_alert) summary.alerts.push_back(f);
  }
  std::sort(summary.features.begin(), summary.features.end(),
            [](const PsiFeature& a, const PsiFeature& b) { return a.name < b.name; });
  // Highest first; ties by name, so the order never depends on the sort's stability.
  std::sort(summary.alerts.begin(), summary.alerts.end(),
            [](const PsiFeature& a, const PsiFeature& b) {
              return a.psi != b.psi ? a.psi > b.psi : a.name < b.name;
            });
  r.sample_window =
      std::max<std::uint64_t>(r.sample_window, std::min<std::uint64_t>(r.entries, b + e));
  r.psi = std::move(summary);
  for (auto& d : dims) r.dimensions.push_back(std::move(d));
}

void SensoryDrift::evaluate() {
  SensoryDriftReport r;
  r.entries = entries_;
  r.entry_metadata = entry_metadata_;
  r.sample_window = std::min<std::uint64_t>(entries_, std::uint64_t{config_.lookback} + 1);
  std::vector<double> series;
  std::vector<double> confidences;
  for (const auto& [name, q] : series_) {
    const std::size_t n = q.size();
    series.clear();
    confidences.clear();
    for (std::size_t k = 0; k < n; ++k) {
      series.push_back(q[k].signal);
      if (k + 1 < n && q[k].confidence) confidences.push_back(*q[k].confidence);
    }
    const Signal& current = q.back();
    const std::span<const double> history(series.data(), n - 1);
    DimensionReading d{.name = name, .current_signal = current.signal, .samples = n};
    Grade severity = Grade::kNormal;

    d.baseline_signal = detect::mean(history);
    if (d.baseline_signal) {
      d.delta = current.signal - *d.baseline_signal;
      const Grade g =
          detect::grade(std::fabs(*d.delta), config_.warn_threshold, config_.alert_threshold);
      if (g == Grade::kAlert) d.detectors.push_back("delta_alert");
      if (g == Grade::kWarn) d.detectors.push_back("delta_warn");
      severity = detect::escalate(severity, g);
    }
    d.current_confidence = current.confidence;
    d.baseline_confidence = detect::mean(confidences);
    if (d.current_confidence && d.baseline_confidence) {
      d.confidence_delta = *d.current_confidence - *d.baseline_confidence;
    }
    if (n >= config_.page_hinkley_min_samples) {
      const double stat = detect::clamped_page_hinkley(series, config_.page_hinkley_delta);
      d.page_hinkley_stat = stat;
      const Grade g = detect::grade(stat, config_.page_hinkley_warn, config_.page_hinkley_alert);
      if (g == Grade::kAlert) d.detectors.push_back("page_hinkley_alert");
      if (g == Grade::kWarn) d.detectors.push_back("page_hinkley_warn");
      severity = detect::escalate(severity, g);
    }
    const std::size_t m = config_.min_variance_samples;
    if (n >= 2 * m) {
      std::size_t w = config_.variance_window == 0 ? config_.lookback : config_.variance_window;
      w = std::max(m, std::min(w, n - m));
      const std::size_t base_len = std::min(w, n - w);
      const std::span<const double> all(series);
      const auto ratio =
          detect::variance_ratio(all.subspan(n - w - base_len, base_len), all.subspan(n - w, w));
      if (ratio) {
        d.variance_ratio = *ratio;
        const Grade g =
            detect::grade(*ratio, config_.variance_warn_ratio, config_.variance_alert_ratio);
        if (g == Grade::kAlert) d.detectors.push_back("variance_alert");
        if (g == Grade::kWarn) d.detectors.push_back("variance_warn");
        severity = detect::escalate(severity, g);
      }
    }
    d.severity = severity;
    r.dimensions.push_back(std::move(d));
  }
  if (config_.psi_enabled) evaluate_psi(r);
  for (const auto& d : r.dimensions) r.status = detect::escalate(r.status, d.severity);
  report_ = std::move(r);
  dirty_ = false;
  cached_[0].reset();
  cached_[1].reset();
}

const SensoryDriftReport& SensoryDrift::report() {
  if (dirty_) evaluate();
  return report_;
}

core::ComponentSnapshot SensoryDrift::snapshot(core::TimePoint /*now*/, Detail detail) {
  const SensoryDriftReport& r = report();
  auto& cached = cached_[detail == Detail::kFull ? 0 : 1];
  if (cached) return *cached;
  core::ComponentSnapshot s{.component = std::string(kSensoryDriftName),
                            .status = detect::to_status(r.status),
                            .observed_at = last_event_};
  const std::string runbook = runbook_path(kSensoryDriftName);
  DriftFindings findings(runbook);
  for (const auto& d : r.dimensions) {
    nlohmann::json detail = nlohmann::json::object();
    put_optional(detail, "page_hinkley_stat", d.page_hinkley_stat);
    put_optional(detail, "variance_ratio", d.variance_ratio);
    put_optional(detail, "psi", d.psi);
    findings.add(d.name, d.severity, "sensory.drift." + core::to_lower(d.name), d.detectors,
                 std::move(detail));
  }
  findings.write_to(s);
  if (findings.empty()) {
    s.summary = r.dimensions.empty() ? "no sensory dimensions evaluated" : "no drift exceedances";
  }
  if (detail == Detail::kFull) {
    nlohmann::json doc = to_json(r);
    s.metadata = std::move(doc["metadata"]);
    s.metadata["status"] = doc["status"];
    s.metadata["sample_window"] = r.sample_window;
    s.metadata["dimensions"] = std::move(doc["dimensions"]);
    s.metadata["runbook"] = runbook;
    findings.write_metadata(s.metadata);
  }
  cached = s;
  return s;
}

}  // namespace opsready::components
