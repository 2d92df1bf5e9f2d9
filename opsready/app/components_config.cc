#include "opsready/app/components_config.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <set>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "opsready/core/text.h"
#include "opsready/core/time.h"

namespace opsready::app {
namespace {

using components::ComponentsConfig;

// YAML → JSON for free-form values (training references): scalars become numbers when they
// parse as one (YAML's booleans and null as such), else strings.
nlohmann::json to_json(const YAML::Node& n) {
  if (n.IsSequence()) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& item : n) a.push_back(to_json(item));
    return a;
  }
  if (n.IsMap()) {
    nlohmann::json o = nlohmann::json::object();
    for (const auto& kv : n) o[kv.first.Scalar()] = to_json(kv.second);
    return o;
  }
  if (!n.IsScalar()) return nullptr;
  const std::string& s = n.Scalar();
  if (s == "~" || s == "null") return nullptr;
  if (s == "true") return true;
  if (s == "false") return false;
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc() && end == s.data() + s.size()) return v;
  return s;
}

// The node a validation error's field ("ingest_slos.burn_rate.windows[1].burn_rate") points at:
// the deepest one that exists.
YAML::Node node_at(const YAML::Node& node, std::string_view path) {
  if (path.empty() || !node.IsMap()) return node;
  const auto dot = path.find('.');
  std::string_view token = path.substr(0, dot);
  const std::string_view rest = dot == std::string_view::npos ? "" : path.substr(dot + 1);
  std::optional<std::size_t> index;
  if (const auto bracket = token.find('['); bracket != std::string_view::npos) {
    std::size_t i = 0;
    std::from_chars(token.data() + bracket + 1, token.data() + token.size(), i);
    index = i;
    token = token.substr(0, bracket);
  }
  const YAML::Node child = node[std::string(token)];
  if (!child.IsDefined()) return node;
  if (index) {
    if (!child.IsSequence() || *index >= child.size()) return child;
    const YAML::Node item = child[*index];
    return node_at(item, rest);
  }
  return node_at(child, rest);
}

class Reader {
 public:
  explicit Reader(const ConfigErrorSink& sink) : sink_(sink) {}

  void error(const YAML::Node& at, std::string message) {
    ++errors_;
    sink_(at, std::move(message));
  }

  // Reports keys of `map` that are not in `known`; false when `map` is not a mapping.
  bool mapping(const YAML::Node& map, const std::string& where,
               std::initializer_list<const char*> known) {
    if (!map.IsMap()) {
      error(map, where + " must be a mapping");
      return false;
    }
    const std::set<std::string> names(known.begin(), known.end());
    for (const auto& kv : map) {
      const std::string key = kv.first.Scalar();
      if (!names.contains(key)) {
        std::string list;
        for (const auto& k : names) list += (list.empty() ? "" : ", ") + k;
        error(kv.first, "unknown key '" + key + "' in " + where + " (known: " + list + ")");
      }
    }
    return true;
  }

  std::optional<std::string> scalar(const YAML::Node& n, const std::string& what) {
    if (!n.IsScalar()) {
      error(n, what + " must be a single value");
      return std::nullopt;
    }
    return n.Scalar();
  }

  void get(const YAML::Node& n, const std::string& what, bool& out) {
    auto s = scalar(n, what);
    if (!s) return;
    if (*s == "true") {
      out = true;
    } else if (*s == "false") {
      out = false;
    } else {
      error(n, what + " must be true or false, got '" + *s + "'");
    }
  }

  // Numbers; YAML's .inf (or inf) is accepted, it disables a threshold.
  void get(const YAML::Node& n, const std::string& what, double& out) {
    auto s = scalar(n, what);
    if (!s) return;
    std::string t = core::to_lower(core::trim(*s));
    if (!t.empty() && t.front() == '+') t.erase(0, 1);
    bool negative = false;
    if (!t.empty() && t.front() == '-') {
      negative = true;
      t.erase(0, 1);
    }
    double v = 0;
    if (t == ".inf" || t == "inf") {
      v = std::numeric_limits<double>::infinity();
    } else {
      const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
      if (t.empty() || ec != std::errc() || end != t.data() + t.size() || std::isnan(v) ||
          t.starts_with("inf") || t.starts_with("nan")) {
        error(n, what + " must be a number, got '" + *s + "'");
        return;
      }
    }
    out = negative ? -v : v;
  }

  template <typename Int>
  requires std::is_unsigned_v<Int>
  void get(const YAML::Node& n, const std::string& what, Int& out) {
    auto s = scalar(n, what);
    if (!s) return;
    const std::string_view t = core::trim(*s);
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (t.empty() || ec != std::errc() || end != t.data() + t.size() ||
        v > std::numeric_limits<Int>::max()) {
      error(n, what + " must be a whole number from 0 to " +
                   std::to_string(std::numeric_limits<Int>::max()) + ", got '" + *s + "'");
      return;
    }
    out = static_cast<Int>(v);
  }

  void get(const YAML::Node& n, const std::string& what, core::Duration& out) {
    auto s = scalar(n, what);
    if (!s) return;
    auto d = core::parse_duration(*s);
    if (!d) {
      error(n, what + ": " + d.error().message);
      return;
    }
    out = *d;
  }

  void get(const YAML::Node& n, const std::string& what, std::optional<core::Duration>& out) {
    core::Duration d{};
    const std::size_t before = errors_;
    get(n, what, d);
    if (errors_ == before) out = d;
  }

  void get(const YAML::Node& n, const std::string& what, std::string& out) {
    if (auto s = scalar(n, what)) out = *s;
  }

  void get(const YAML::Node& n, const std::string& what, std::vector<std::string>& out) {
    if (!n.IsSequence()) {
      error(n, what + " must be a list");
      return;
    }
    std::vector<std::string> items;
    for (const auto& item : n) {
      if (auto s = scalar(item, what)) items.push_back(*s);
    }
    out = std::move(items);
  }

  void get(const YAML::Node& n, const std::string& what, core::Status& out) {
    auto s = scalar(n, what);
    if (!s) return;
    auto st = core::parse_status(*s);
    if (!st) {
      error(n, what + ": " + st.error().message);
      return;
    }
    out = *st;
  }

  void get(const YAML::Node& n, const std::string& what, std::optional<core::TimePoint>& out) {
    auto s = scalar(n, what);
    if (!s) return;
    auto t = core::parse_rfc3339(*s);
    if (!t) {
      error(n, what + ": " + t.error().message);
      return;
    }
    out = *t;
  }

  // `map[key]` into `out` when present.
  template <typename T>
  void field(const YAML::Node& map, const char* key, const std::string& where, T& out) {
    const YAML::Node n = map[key];
    if (n.IsDefined()) get(n, where + "." + key, out);
  }

  [[nodiscard]] std::size_t errors() const { return errors_; }

 private:
  const ConfigErrorSink& sink_;
  std::size_t errors_ = 0;
};

void load_sensory(Reader& r, const YAML::Node& n, components::SensoryDriftConfig& c) {
  const std::string w = "detectors.sensory_drift";
  if (!r.mapping(n, w,
                 {"enabled", "lookback", "warn_threshold", "alert_threshold", "page_hinkley_delta",
                  "page_hinkley_warn", "page_hinkley_alert", "page_hinkley_min_samples",
                  "variance_window", "variance_warn_ratio", "variance_alert_ratio",
                  "min_variance_samples", "psi_enabled", "psi_alert", "dimensions"})) {
    return;
  }
  r.field(n, "enabled", w, c.enabled);
  r.field(n, "lookback", w, c.lookback);
  r.field(n, "warn_threshold", w, c.warn_threshold);
  r.field(n, "alert_threshold", w, c.alert_threshold);
  r.field(n, "page_hinkley_delta", w, c.page_hinkley_delta);
  r.field(n, "page_hinkley_warn", w, c.page_hinkley_warn);
  r.field(n, "page_hinkley_alert", w, c.page_hinkley_alert);
  r.field(n, "page_hinkley_min_samples", w, c.page_hinkley_min_samples);
  r.field(n, "variance_window", w, c.variance_window);
  r.field(n, "variance_warn_ratio", w, c.variance_warn_ratio);
  r.field(n, "variance_alert_ratio", w, c.variance_alert_ratio);
  r.field(n, "min_variance_samples", w, c.min_variance_samples);
  r.field(n, "psi_enabled", w, c.psi_enabled);
  r.field(n, "psi_alert", w, c.psi_alert);
  r.field(n, "dimensions", w, c.dimensions);
}

void load_sentry(Reader& r, const YAML::Node& n, components::DriftSentryConfig& c) {
  const std::string w = "detectors.drift_sentry";
  if (!r.mapping(n, w,
                 {"enabled",
                  "baseline_window",
                  "evaluation_window",
                  "min_observations",
                  "page_hinkley_delta",
                  "page_hinkley_warn",
                  "page_hinkley_alert",
                  "cusum_drift",
                  "cusum_warn",
                  "cusum_alert",
                  "variance_ratio_warn",
                  "variance_ratio_alert",
                  "training_mean_diff_warn",
                  "training_mean_diff_alert",
                  "training_variance_ratio_warn",
                  "training_variance_ratio_alert",
                  "size_multiplier",
                  "size_multiplier_training_warn",
                  "size_multiplier_training_alert",
                  "max_metrics",
                  "training_reference"})) {
    return;
  }
  r.field(n, "enabled", w, c.enabled);
  r.field(n, "baseline_window", w, c.baseline_window);
  r.field(n, "evaluation_window", w, c.evaluation_window);
  r.field(n, "min_observations", w, c.min_observations);
  r.field(n, "page_hinkley_delta", w, c.page_hinkley_delta);
  r.field(n, "page_hinkley_warn", w, c.page_hinkley_warn);
  r.field(n, "page_hinkley_alert", w, c.page_hinkley_alert);
  r.field(n, "cusum_drift", w, c.cusum_drift);
  r.field(n, "cusum_warn", w, c.cusum_warn);
  r.field(n, "cusum_alert", w, c.cusum_alert);
  r.field(n, "variance_ratio_warn", w, c.variance_ratio_warn);
  r.field(n, "variance_ratio_alert", w, c.variance_ratio_alert);
  r.field(n, "training_mean_diff_warn", w, c.training_mean_diff_warn);
  r.field(n, "training_mean_diff_alert", w, c.training_mean_diff_alert);
  r.field(n, "training_variance_ratio_warn", w, c.training_variance_ratio_warn);
  r.field(n, "training_variance_ratio_alert", w, c.training_variance_ratio_alert);
  r.field(n, "size_multiplier", w, c.size_multiplier);
  r.field(n, "size_multiplier_training_warn", w, c.size_multiplier_training_warn);
  r.field(n, "size_multiplier_training_alert", w, c.size_multiplier_training_alert);
  r.field(n, "max_metrics", w, c.max_metrics);
  if (const YAML::Node refs = n["training_reference"]; refs.IsDefined()) {
    if (!refs.IsMap()) {
      r.error(refs, w + ".training_reference must be a mapping {metric: reference}");
    } else {
      for (const auto& kv : refs) {
        const std::string metric = kv.first.Scalar();
        auto ref = components::training_reference_from_json(to_json(kv.second));
        if (!ref) {
          r.error(kv.second, w + ".training_reference." + metric + ": " + ref.error().describe());
          continue;
        }
        c.training_reference[metric] = *ref;
      }
    }
  }
}

void load_targets(Reader& r, const YAML::Node& n, const std::string& w,
                  components::IngestTargets& t) {
  r.field(n, "freshness_target", w, t.freshness_target);
  r.field(n, "freshness_breach", w, t.freshness_breach);
  r.field(n, "completeness_target", w, t.completeness_target);
  r.field(n, "completeness_breach", w, t.completeness_breach);
  r.field(n, "latency_target_p95", w, t.latency_target_p95);
  r.field(n, "latency_breach_p95", w, t.latency_breach_p95);
}

void load_burn_rate(Reader& r, const YAML::Node& n, const std::string& w,
                    detect::BurnRateConfig& c) {
  if (!r.mapping(n, w, {"objective", "windows", "buckets_per_window", "min_events"})) return;
  r.field(n, "objective", w, c.objective);
  r.field(n, "buckets_per_window", w, c.buckets_per_window);
  r.field(n, "min_events", w, c.min_events);
  const YAML::Node windows = n["windows"];
  if (!windows.IsDefined()) return;
  if (!windows.IsSequence()) {
    r.error(windows, w + ".windows must be a list of {long, short, burn_rate, severity}");
    return;
  }
  std::vector<detect::BurnRateWindow> out;
  for (std::size_t i = 0; i < windows.size(); ++i) {
    const YAML::Node item = windows[i];
    const std::string where = w + ".windows[" + std::to_string(i) + "]";
    if (!r.mapping(item, where, {"long", "short", "burn_rate", "severity"})) continue;
    detect::BurnRateWindow bw;
    for (const char* key : {"long", "short", "burn_rate"}) {
      if (!item[key].IsDefined()) r.error(item, where + " needs '" + key + "'");
    }
    r.field(item, "long", where, bw.long_window);
    r.field(item, "short", where, bw.short_window);
    r.field(item, "burn_rate", where, bw.burn_rate);
    std::string severity = "page";
    r.field(item, "severity", where, severity);
    if (severity == "page") {
      bw.severity = detect::BurnSeverity::kPage;
    } else if (severity == "ticket") {
      bw.severity = detect::BurnSeverity::kTicket;
    } else {
      r.error(item["severity"], where + ".severity must be page or ticket, got '" + severity + "'");
    }
    out.push_back(bw);
  }
  c.windows = std::move(out);
}

void load_ingest(Reader& r, const YAML::Node& n, components::IngestSlosConfig& c) {
  const std::string w = "detectors.ingest_slos";
  if (!r.mapping(
          n, w,
          {"enabled", "service", "freshness_target", "freshness_breach", "completeness_target",
           "completeness_breach", "latency_target_p95", "latency_breach_p95", "latency_window",
           "burn_rate", "alert_routes", "dimensions", "max_dimensions"})) {
    return;
  }
  r.field(n, "enabled", w, c.enabled);
  r.field(n, "service", w, c.service);
  load_targets(r, n, w, c.targets);
  r.field(n, "latency_window", w, c.latency_window);
  r.field(n, "max_dimensions", w, c.max_dimensions);
  if (const YAML::Node b = n["burn_rate"]; b.IsDefined()) {
    load_burn_rate(r, b, w + ".burn_rate", c.burn_rate);
  }
  if (const YAML::Node routes = n["alert_routes"]; routes.IsDefined()) {
    if (!routes.IsMap()) {
      r.error(routes, w + ".alert_routes must be a mapping {record name: route}");
    } else {
      for (const auto& kv : routes) {
        std::string route;
        r.get(kv.second, w + ".alert_routes." + kv.first.Scalar(), route);
        c.alert_routes[kv.first.Scalar()] = route;  // empty values are ignored, as the spec's
      }
    }
  }
  if (const YAML::Node dims = n["dimensions"]; dims.IsDefined()) {
    if (!dims.IsMap()) {
      r.error(dims, w + ".dimensions must be a mapping {dimension: targets}");
    } else {
      for (const auto& kv : dims) {
        const std::string where = w + ".dimensions." + kv.first.Scalar();
        if (!r.mapping(kv.second, where,
                       {"freshness_target", "freshness_breach", "completeness_target",
                        "completeness_breach", "latency_target_p95", "latency_breach_p95"})) {
          continue;
        }
        components::IngestTargets t = c.targets;  // the section's targets are the defaults
        load_targets(r, kv.second, where, t);
        c.dimensions[kv.first.Scalar()] = t;
      }
    }
  }
}

void load_strategy(Reader& r, const YAML::Node& n, components::StrategyPerformanceConfig& c) {
  const std::string w = "detectors.strategy_performance";
  if (!r.mapping(n, w,
                 {"enabled", "initial_capital", "period_start", "roi", "baseline_window",
                  "baseline_min_trades", "baseline_tolerance_ratio", "baseline_min_gap",
                  "baseline_default_spread_bps", "tracking_status", "at_risk_status",
                  "baseline_alert_status", "max_strategies"})) {
    return;
  }
  r.field(n, "enabled", w, c.enabled);
  r.field(n, "initial_capital", w, c.initial_capital);
  r.field(n, "period_start", w, c.period_start);
  if (const YAML::Node roi = n["roi"]; roi.IsDefined()) {
    const std::string wr = w + ".roi";
    if (r.mapping(roi, wr, {"target_annual_roi", "fee_flat", "fee_bps", "daily_infra_cost"})) {
      r.field(roi, "target_annual_roi", wr, c.roi.target_annual_roi);
      r.field(roi, "fee_flat", wr, c.roi.fee_flat);
      r.field(roi, "fee_bps", wr, c.roi.fee_bps);
      r.field(roi, "daily_infra_cost", wr, c.roi.daily_infra_cost);
    }
  }
  r.field(n, "baseline_window", w, c.baseline_window);
  r.field(n, "baseline_min_trades", w, c.baseline_min_trades);
  r.field(n, "baseline_tolerance_ratio", w, c.baseline_tolerance_ratio);
  r.field(n, "baseline_min_gap", w, c.baseline_min_gap);
  r.field(n, "baseline_default_spread_bps", w, c.baseline_default_spread_bps);
  r.field(n, "tracking_status", w, c.tracking_status);
  r.field(n, "at_risk_status", w, c.at_risk_status);
  r.field(n, "baseline_alert_status", w, c.baseline_alert_status);
  r.field(n, "max_strategies", w, c.max_strategies);
}

void load_loop(Reader& r, const YAML::Node& n, components::UnderstandingLoopConfig& c) {
  const std::string w = "detectors.understanding_loop";
  if (!r.mapping(n, w,
                 {"enabled", "require_diagnostics", "latency_target_p95", "latency_breach_p95",
                  "latency_window", "drift_alert_warn_after", "drift_alert_fail_after",
                  "expected_drift_alerts", "replay_warn", "replay_fail", "max_probes"})) {
    return;
  }
  r.field(n, "enabled", w, c.enabled);
  r.field(n, "require_diagnostics", w, c.require_diagnostics);
  r.field(n, "latency_target_p95", w, c.latency_target_p95);
  r.field(n, "latency_breach_p95", w, c.latency_breach_p95);
  r.field(n, "latency_window", w, c.latency_window);
  r.field(n, "drift_alert_warn_after", w, c.drift_alert_warn_after);
  r.field(n, "drift_alert_fail_after", w, c.drift_alert_fail_after);
  r.field(n, "expected_drift_alerts", w, c.expected_drift_alerts);
  r.field(n, "replay_warn", w, c.replay_warn);
  r.field(n, "replay_fail", w, c.replay_fail);
  r.field(n, "max_probes", w, c.max_probes);
}

}  // namespace

void load_components_config(const YAML::Node& section, ComponentsConfig& out,
                            const ConfigErrorSink& error) {
  Reader r(error);
  if (section.IsNull()) return;  // `detectors:` with nothing under it: all defaults
  if (!r.mapping(section, "detectors",
                 {"sensory_drift", "drift_sentry", "ingest_slos", "strategy_performance",
                  "understanding_loop"})) {
    return;
  }
  ComponentsConfig c = out;
  if (const YAML::Node n = section["sensory_drift"]; n.IsDefined())
    load_sensory(r, n, c.sensory_drift);
  if (const YAML::Node n = section["drift_sentry"]; n.IsDefined())
    load_sentry(r, n, c.drift_sentry);
  if (const YAML::Node n = section["ingest_slos"]; n.IsDefined()) load_ingest(r, n, c.ingest_slos);
  if (const YAML::Node n = section["strategy_performance"]; n.IsDefined()) {
    load_strategy(r, n, c.strategy_performance);
  }
  if (const YAML::Node n = section["understanding_loop"]; n.IsDefined()) {
    load_loop(r, n, c.understanding_loop);
  }
  if (r.errors() > 0) return;  // validation would only repeat what is already reported
  if (auto ok = components::validate(c); !ok) {
    const YAML::Node at = node_at(section, ok.error().field);
    error(at, "detectors." + ok.error().field + ": " + ok.error().message);
    return;
  }
  out = std::move(c);
}

}  // namespace opsready::app
