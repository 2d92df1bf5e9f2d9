#include "opsready/components/drift_sentry.h"

#include <algorithm>
#include <cmath>

#include "opsready/core/time.h"
#include "opsready/detect/clamped.h"
#include "opsready/detect/stats.h"

namespace opsready::components {
namespace {

using detect::Grade;

constexpr std::uint32_t kMaxWindow = 1'000'000;

std::string_view word(Grade g) { return detect::to_string(g); }

void label(std::vector<std::string>& out, Grade g, std::string_view prefix) {
  if (g == Grade::kWarn) out.push_back(std::string(prefix) + "_warn");
  if (g == Grade::kAlert) out.push_back(std::string(prefix) + "_alert");
}

core::Result<void> finite_nonnegative(double v, const char* field) {
  if (!std::isfinite(v) || v < 0) {
    return core::fail("invalid_parameter", "must be a finite number ≥ 0", field);
  }
  return {};
}

nlohmann::json metric_json(const DriftMetricReading& m) {
  nlohmann::json j = {{"name", m.name},
                      {"severity", word(m.severity)},
                      {"baseline_mean", json_number(m.baseline_mean)},
                      {"evaluation_mean", json_number(m.evaluation_mean)},
                      {"baseline_variance", json_number(m.baseline_variance)},
                      {"evaluation_variance", json_number(m.evaluation_variance)},
                      {"baseline_count", m.baseline_count},
                      {"evaluation_count", m.evaluation_count}};
  put_optional(j, "page_hinkley_stat", m.page_hinkley_stat);
  put_optional(j, "cusum_stat", m.cusum_stat);
  put_optional(j, "variance_ratio", m.variance_ratio);
  put_optional(j, "training_mean", m.training_mean);
  put_optional(j, "training_variance", m.training_variance);
  if (m.training_count) j["training_count"] = *m.training_count;
  put_optional(j, "training_mean_delta", m.training_mean_delta);
  put_optional(j, "training_variance_ratio", m.training_variance_ratio);
  if (!m.detectors.empty()) j["detectors"] = m.detectors;
  return j;
}

nlohmann::json action(std::string_view name, double mult, std::optional<double> value,
                      const std::string& reason) {
  nlohmann::json a = {
      {"action", name},          {"status", "recommended"}, {"reason", reason},
      {"reason_code", reason},   {"context_mult", mult},    {"edge_ticks", nullptr},
      {"cost_to_take", nullptr}, {"inventory", nullptr},    {"latency_ms", nullptr}};
  if (value) a["value"] = *value;
  return a;
}

}  // namespace

core::Result<TrainingReference> training_reference_from_json(const nlohmann::json& j) {
  std::vector<double> samples;
  bool have_samples = false;
  TrainingReference ref;
  const auto take = [&](const nlohmann::json& list) {
    have_samples = true;
    for (const auto& v : list) {
      if (auto x = coerce_number(v)) samples.push_back(*x);
    }
  };
  if (j.is_array()) {
    take(j);
  } else if (j.is_object()) {
    for (const char* key : {"values", "samples", "series", "data"}) {
      if (const auto it = j.find(key); it != j.end() && it->is_array()) {
        take(*it);
        break;
      }
    }
    ref.mean = number_field(j, "mean");
    ref.variance = number_field(j, "variance");
    if (auto c = number_field(j, "count")) {
      if (*c < 0 || *c > 9.0e15) return core::fail("invalid_value", "must be ≥ 0", "count");
      ref.count = static_cast<std::uint64_t>(*c);
    }
  } else if (auto v = coerce_number(j)) {
    ref.mean = *v;
  } else {
    return core::fail("wrong_type",
                      "a training reference is a number, a list of numbers or a mapping with "
                      "values/samples/series/data, mean, variance, count");
  }
  if (have_samples && !samples.empty()) {
    ref.mean = detect::mean(samples);
    ref.variance = detect::sample_variance(samples).value_or(0.0);
    ref.count = samples.size();
  }
  if (ref.count && *ref.count == 0) ref.count.reset();
  if (!ref.mean && !ref.variance) {
    return core::fail("invalid_value", "a training reference needs samples, a mean or a variance");
  }
  if (ref.variance && *ref.variance < 0) {
    return core::fail("invalid_value", "must be ≥ 0", "variance");
  }
  return ref;
}

core::Result<void> validate(const DriftSentryConfig& c) {
  if (c.baseline_window < 1 || c.baseline_window > kMaxWindow) {
    return core::fail("invalid_parameter", "must be between 1 and 1000000", "baseline_window");
  }
  if (c.evaluation_window < 1 || c.evaluation_window > kMaxWindow) {
    return core::fail("invalid_parameter", "must be between 1 and 1000000", "evaluation_window");
  }
  if (c.min_observations < 1 ||
      c.min_observations > std::min(c.baseline_window, c.evaluation_window)) {
    return core::fail("invalid_parameter",
                      "must be between 1 and min(baseline_window, evaluation_window) (" +
                          std::to_string(std::min(c.baseline_window, c.evaluation_window)) +
                          "), or no metric could ever be evaluated",
                      "min_observations");
  }
  if (auto ok = finite_nonnegative(c.page_hinkley_delta, "page_hinkley_delta"); !ok) return ok;
  if (!std::isfinite(c.cusum_drift)) {
    return core::fail("invalid_parameter", "must be a finite number", "cusum_drift");
  }
  const struct {
    double warn, alert;
    const char *warn_field, *alert_field;
  } pairs[] = {
      {c.page_hinkley_warn, c.page_hinkley_alert, "page_hinkley_warn", "page_hinkley_alert"},
      {c.cusum_warn, c.cusum_alert, "cusum_warn", "cusum_alert"},
      {c.variance_ratio_warn, c.variance_ratio_alert, "variance_ratio_warn",
       "variance_ratio_alert"},
      {c.training_mean_diff_warn, c.training_mean_diff_alert, "training_mean_diff_warn",
       "training_mean_diff_alert"},
      {c.training_variance_ratio_warn, c.training_variance_ratio_alert,
       "training_variance_ratio_warn", "training_variance_ratio_alert"},
  };
  for (const auto& p : pairs) {
    if (auto ok = check_thresholds(p.warn, p.alert, p.warn_field, p.alert_field); !ok) return ok;
  }
  if (auto ok = finite_nonnegative(c.size_multiplier, "size_multiplier"); !ok) return ok;
  if (auto ok =
          finite_nonnegative(c.size_multiplier_training_warn, "size_multiplier_training_warn");
      !ok) {
    return ok;
  }
  if (auto ok =
          finite_nonnegative(c.size_multiplier_training_alert, "size_multiplier_training_alert");
      !ok) {
    return ok;
  }
  if (c.max_metrics < 1) return core::fail("invalid_parameter", "must be ≥ 1", "max_metrics");
  for (const auto& [name, ref] : c.training_reference) {
    if (name.empty()) {
      return core::fail("invalid_parameter", "a metric name must not be empty",
                        "training_reference");
    }
    if (!ref.mean && !ref.variance) {
      return core::fail("invalid_parameter", "needs samples, a mean or a variance",
                        "training_reference." + name);
    }
  }
  return {};
}

nlohmann::json config_json(const DriftSentryConfig& c) {
  return {{"baseline_window", c.baseline_window},
          {"evaluation_window", c.evaluation_window},
          {"min_observations", c.min_observations},
          {"page_hinkley_delta", c.page_hinkley_delta},
          {"page_hinkley_warn", json_number(c.page_hinkley_warn)},
          {"page_hinkley_alert", json_number(c.page_hinkley_alert)},
          {"cusum_drift", c.cusum_drift},
          {"cusum_warn", json_number(c.cusum_warn)},
          {"cusum_alert", json_number(c.cusum_alert)},
          {"variance_ratio_warn", json_number(c.variance_ratio_warn)},
          {"variance_ratio_alert", json_number(c.variance_ratio_alert)},
          {"training_mean_diff_warn", json_number(c.training_mean_diff_warn)},
          {"training_mean_diff_alert", json_number(c.training_mean_diff_alert)},
          {"training_variance_ratio_warn", json_number(c.training_variance_ratio_warn)},
          {"training_variance_ratio_alert", json_number(c.training_variance_ratio_alert)}};
}

nlohmann::json to_json(const DriftSentryReport& r, const DriftSentryConfig& config,
                       core::TimePoint generated_at) {
  const std::string status(word(r.status));
  const std::string runbook = runbook_path(kDriftSentryName);
  nlohmann::json metrics = nlohmann::json::array();
  nlohmann::json counts = nlohmann::json::object();
  nlohmann::json catalog = nlohmann::json::object();
  nlohmann::json triggers = nlohmann::json::array();
  nlohmann::json divergent = nlohmann::json::array();
  for (const auto& m : r.metrics) {
    metrics.push_back(metric_json(m));
    const std::string sev(word(m.severity));
    counts[sev] = counts.value(sev, 0) + 1;
    nlohmann::json entry = {{"severity", sev}};
    if (!m.detectors.empty()) entry["detectors"] = m.detectors;
    put_optional(entry, "page_hinkley_stat", m.page_hinkley_stat);
    put_optional(entry, "cusum_stat", m.cusum_stat);
    put_optional(entry, "variance_ratio", m.variance_ratio);
    put_optional(entry, "training_mean", m.training_mean);
    put_optional(entry, "training_variance", m.training_variance);
    put_optional(entry, "training_mean_delta", m.training_mean_delta);
    put_optional(entry, "training_variance_ratio", m.training_variance_ratio);
    if (m.training_count) entry["training_count"] = *m.training_count;
    catalog[m.name] = entry;
    if (m.severity != Grade::kNormal) {
      nlohmann::json t = {{"metric", m.name},
                          {"severity", sev},
                          {"delta_mean", json_number(m.evaluation_mean - m.baseline_mean)},
                          {"baseline_mean", json_number(m.baseline_mean)},
                          {"evaluation_mean", json_number(m.evaluation_mean)},
                          {"baseline_count", m.baseline_count},
                          {"evaluation_count", m.evaluation_count}};
      if (!m.detectors.empty()) t["detectors"] = m.detectors;
      put_optional(t, "variance_ratio", m.variance_ratio);
      put_optional(t, "page_hinkley_stat", m.page_hinkley_stat);
      put_optional(t, "cusum_stat", m.cusum_stat);
      put_optional(t, "training_mean_delta", m.training_mean_delta);
      put_optional(t, "training_variance_ratio", m.training_variance_ratio);
      triggers.push_back(t);
    }
    if (m.training_severity != Grade::kNormal) {
      nlohmann::json d = {{"metric", m.name}, {"severity", word(m.training_severity)}};
      put_optional(d, "mean_delta", m.training_mean_delta);
      put_optional(d, "variance_ratio", m.training_variance_ratio);
      put_optional(d, "training_mean", m.training_mean);
      put_optional(d, "training_variance", m.training_variance);
      if (m.training_count) d["training_count"] = *m.training_count;
      std::vector<std::string> labels;
      for (const auto& det : m.detectors) {
        if (det.starts_with("training_")) labels.push_back(det);
      }
      if (!labels.empty()) d["detectors"] = labels;
      divergent.push_back(d);
    }
  }
  nlohmann::json metadata = {{"metric_count", r.metrics.size()},
                             {"runbook", runbook},
                             {"severity_counts", counts},
                             {"detectors", catalog},
                             {"recommended_size_multiplier", r.recommended_size_multiplier}};
  if (!triggers.empty()) metadata["triggers"] = triggers;
  if (r.training_divergence != Grade::kNormal) {
    metadata["training_divergence"] = {
        {"status", word(r.training_divergence)},
        {"metrics", divergent},
        {"thresholds",
         {{"mean_warn", json_number(config.training_mean_diff_warn)},
          {"mean_alert", json_number(config.training_mean_diff_alert)},
          {"variance_warn", json_number(config.training_variance_ratio_warn)},
          {"variance_alert", json_number(config.training_variance_ratio_alert)}}},
        {"recommended_size_multiplier", r.recommended_size_multiplier}};
  }
  nlohmann::json doc = {{"generated_at", core::format_rfc3339(generated_at)},
                        {"status", status},
                        {"metrics", metrics},
                        {"config", config_json(config)}};
  if (r.status != Grade::kNormal) {
    const double m = r.recommended_size_multiplier;
    const std::string reason = "drift_sentry_" + status;
    nlohmann::json actions =
        nlohmann::json::array({action("freeze_exploration", 0.0, std::nullopt, reason),
                               action("size_multiplier", m, m, reason)});
    std::string summary = "Drift sentry status " + status +
                          " recommends freezing exploration and applying a " + fixed(m, 2) +
                          "x size multiplier";
    if (!triggers.empty()) {
      summary += " (";
      for (std::size_t i = 0; i < triggers.size(); ++i) {
        summary += (i ? ", " : "") + triggers[i]["metric"].get<std::string>();
      }
      summary += ")";
    }
    metadata["actions"] = actions;
    metadata["theory_packet"] = {
        {"summary", summary},   {"generated_at", core::format_rfc3339(generated_at)},
        {"severity", status},   {"actions", actions},
        {"triggers", triggers}, {"runbook", runbook}};
    doc["actions"] = actions;
  }
  doc["metadata"] = metadata;
  return doc;
}

std::string to_markdown(const DriftSentryReport& r, core::TimePoint generated_at) {
  if (r.metrics.empty()) return "No drift sentry metrics available.\n";
  std::string out = "**Drift sentry status:** " + std::string(word(r.status)) + "\n" +
                    "Generated at: " + core::format_rfc3339(generated_at) + "\n\n" +
                    "| Metric | Severity | Δ Mean | Variance ratio | Detectors |\n"
                    "| --- | --- | --- | --- | --- |\n";
  for (const auto& m : r.metrics) {  // already sorted by name
    std::string dets = "—";
    if (!m.detectors.empty()) {
      dets.clear();
      for (std::size_t i = 0; i < m.detectors.size(); ++i) dets += (i ? ", " : "") + m.detectors[i];
    }
    out += "| " + m.name + " | " + std::string(word(m.severity)) + " | " +
           signed_fixed(m.evaluation_mean - m.baseline_mean, 3) + " | " +
           (m.variance_ratio ? fixed(*m.variance_ratio, 3) : std::string("n/a")) + " | " + dets +
           " |\n";
  }
  return out;
}

DriftSentry::DriftSentry(const DriftSentryConfig& config)
    : config_(config), training_(config.training_reference) {}

core::Result<std::unique_ptr<DriftSentry>> DriftSentry::create(const DriftSentryConfig& config) {
  if (auto ok = validate(config); !ok) return std::unexpected(ok.error());
  return std::unique_ptr<DriftSentry>(new DriftSentry(config));
}

bool DriftSentry::consumes(std::string_view topic) const {
  return topic == kDriftSentryMetricTopic || topic == kDriftSentryTrainingTopic;
}

core::Result<void> DriftSentry::apply(const core::TelemetryEvent& event) {
  if (event.topic == kDriftSentryMetricTopic) {
    auto sample = core::sample_from_json(event.payload);
    if (!sample) return std::unexpected(sample.error());
    auto it = series_.find(sample->series);
    if (it == series_.end()) {
      if (series_.size() >= config_.max_metrics) {
        return core::fail("too_many_metrics",
                          "at most " + std::to_string(config_.max_metrics) +
                              " metrics are tracked (drift_sentry.max_metrics)",
                          "payload.series");
      }
      it = series_.emplace(sample->series, std::deque<double>{}).first;
    }
    it->second.push_back(sample->value);
    const std::size_t window = std::size_t{config_.baseline_window} + config_.evaluation_window;
    if (it->second.size() > window) it->second.pop_front();
  } else if (event.topic == kDriftSentryTrainingTopic) {
    const auto& p = event.payload;
    std::vector<std::pair<std::string, TrainingReference>> refs;
    if (const auto metrics = p.find("metrics"); metrics != p.end()) {
      if (!metrics->is_object()) {
        return core::fail("wrong_type", "must be an object {metric: reference}", "payload.metrics");
      }
      for (const auto& [name, value] : metrics->items()) {
        auto ref = training_reference_from_json(value);
        if (!ref) {
          return core::fail(ref.error().code, ref.error().message,
                            "payload.metrics." + name +
                                (ref.error().field.empty() ? "" : "." + ref.error().field));
        }
        refs.emplace_back(name, *ref);
      }
    } else {
      const auto metric = p.find("metric");
      if (metric == p.end() || !metric->is_string() || metric->get<std::string>().empty()) {
        return core::fail("missing_field", "needs 'metric' (a name) or 'metrics' (a mapping)",
                          "payload.metric");
      }
      nlohmann::json rest = p;
      rest.erase("metric");
      auto ref = training_reference_from_json(rest);
      if (!ref) {
        return core::fail(ref.error().code, ref.error().message,
                          "payload" + (ref.error().field.empty() ? "" : "." + ref.error().field));
      }
      refs.emplace_back(metric->get<std::string>(), *ref);
    }
    for (auto& [name, ref] : refs) training_[name] = ref;
  } else {
    return core::fail("unknown_topic", "not a drift sentry topic", "topic");
  }
  ++applied_;
  last_event_ = event.time;
  dirty_ = true;
  return {};
}

DriftMetricReading DriftSentry::evaluate_metric(const std::string& name,
                                                const std::deque<double>& values) const {
  const std::size_t b = config_.baseline_window;
  const std::size_t e = config_.evaluation_window;
  std::vector<double> all(values.begin(), values.end());
  const std::span<const double> span(all);
  const auto base = span.first(b);
  const auto eval = span.subspan(b, e);
  DriftMetricReading m{.name = name,
                       .baseline_mean = detect::mean(base).value_or(0.0),
                       .evaluation_mean = detect::mean(eval).value_or(0.0),
                       .baseline_variance = detect::sample_variance(base).value_or(0.0),
                       .evaluation_variance = detect::sample_variance(eval).value_or(0.0),
                       .baseline_count = b,
                       .evaluation_count = e};
  m.page_hinkley_stat = detect::clamped_page_hinkley(span, config_.page_hinkley_delta);
  if (e >= 2) m.cusum_stat = detect::clamped_cusum(eval, m.baseline_mean, config_.cusum_drift);
  m.variance_ratio = detect::variance_ratio(base, eval);

  const Grade ph =
      detect::grade(*m.page_hinkley_stat, config_.page_hinkley_warn, config_.page_hinkley_alert);
  const Grade cusum = m.cusum_stat
                          ? detect::grade(*m.cusum_stat, config_.cusum_warn, config_.cusum_alert)
                          : Grade::kNormal;
  const Grade var = m.variance_ratio ? detect::grade(*m.variance_ratio, config_.variance_ratio_warn,
                                                     config_.variance_ratio_alert)
                                     : Grade::kNormal;
  label(m.detectors, ph, "page_hinkley");
  label(m.detectors, cusum, "cusum");
  label(m.detectors, var, "variance");
  Grade severity = detect::escalate(detect::escalate(ph, cusum), var);

  if (const auto ref = training_.find(name); ref != training_.end()) {
    const TrainingReference& t = ref->second;
    m.training_mean = t.mean;
    m.training_variance = t.variance;
    m.training_count = t.count;
    Grade mean_grade = Grade::kNormal;
    Grade var_grade = Grade::kNormal;
    if (t.mean) {
      m.training_mean_delta = m.evaluation_mean - *t.mean;
      mean_grade = detect::grade(std::fabs(*m.training_mean_delta), config_.training_mean_diff_warn,
                                 config_.training_mean_diff_alert);
    }
    if (t.variance && *t.variance > 0) {
      m.training_variance_ratio = m.evaluation_variance / *t.variance;
      var_grade = detect::grade(*m.training_variance_ratio, config_.training_variance_ratio_warn,
                                config_.training_variance_ratio_alert);
    }
    label(m.detectors, mean_grade, "training_mean");
    label(m.detectors, var_grade, "training_variance");
    m.training_severity = detect::escalate(mean_grade, var_grade);
    severity = detect::escalate(severity, m.training_severity);
  }
  m.severity = severity;
  return m;
}

void DriftSentry::evaluate() {
  DriftSentryReport r;
  const std::size_t window = std::size_t{config_.baseline_window} + config_.evaluation_window;
  for (const auto& [name, values] : series_) {
    if (values.size() < window) {
      ++r.waiting_metrics;
      continue;
    }
    r.metrics.push_back(evaluate_metric(name, values));
    const auto& m = r.metrics.back();
    r.status = detect::escalate(r.status, m.severity);
    r.training_divergence = detect::escalate(r.training_divergence, m.training_severity);
  }
  r.recommended_size_multiplier =
      r.training_divergence == Grade::kAlert  ? config_.size_multiplier_training_alert
      : r.training_divergence == Grade::kWarn ? config_.size_multiplier_training_warn
                                              : config_.size_multiplier;
  report_ = std::move(r);
  dirty_ = false;
  cached_[0].reset();
  cached_[1].reset();
}

const DriftSentryReport& DriftSentry::report() {
  if (dirty_) evaluate();
  return report_;
}

core::ComponentSnapshot DriftSentry::snapshot(core::TimePoint /*now*/, Detail detail) {
  const DriftSentryReport& r = report();
  auto& cached = cached_[detail == Detail::kFull ? 0 : 1];
  if (cached) return *cached;
  core::ComponentSnapshot s{.component = std::string(kDriftSentryName),
                            .status = detect::to_status(r.status),
                            .observed_at = last_event_};
  const std::string runbook = runbook_path(kDriftSentryName);
  DriftFindings findings(runbook);
  for (const auto& m : r.metrics) {
    nlohmann::json d = {{"baseline_mean", json_number(m.baseline_mean)},
                        {"evaluation_mean", json_number(m.evaluation_mean)},
                        {"baseline_variance", json_number(m.baseline_variance)},
                        {"evaluation_variance", json_number(m.evaluation_variance)},
                        {"baseline_count", m.baseline_count},
                        {"evaluation_count", m.evaluation_count}};
    put_optional(d, "page_hinkley_stat", m.page_hinkley_stat);
    put_optional(d, "variance_ratio", m.variance_ratio);
    findings.add(m.name, m.severity, "understanding.drift_sentry." + m.name, m.detectors,
                 std::move(d));
  }
  findings.write_to(s);
  if (r.metrics.empty()) {
    const std::size_t window = std::size_t{config_.baseline_window} + config_.evaluation_window;
    s.summary = "waiting for data: no metric has " + std::to_string(window) + " values yet";
    s.issues.push_back({.code = "understanding.drift_sentry.insufficient_observations",
                        .severity = core::Severity::kInfo,
                        .message = "No metrics satisfied the drift sentry evaluation windows (" +
                                   std::to_string(config_.baseline_window) + " baseline + " +
                                   std::to_string(config_.evaluation_window) +
                                   " evaluation values); " + std::to_string(r.waiting_metrics) +
                                   " metric(s) waiting",
                        .runbook = runbook});
  } else if (findings.empty()) {
    s.summary = "no drift exceedances";
  }
  if (detail == Detail::kFull) {
    nlohmann::json doc = to_json(r, config_, last_event_);
    s.metadata = std::move(doc["metadata"]);
    s.metadata["status"] = doc["status"];
    s.metadata["metrics"] = std::move(doc["metrics"]);
    s.metadata["config"] = std::move(doc["config"]);
    s.metadata["waiting_metrics"] = r.waiting_metrics;
    findings.write_metadata(s.metadata);
  }
  cached = s;
  return s;
}

}  // namespace opsready::components
