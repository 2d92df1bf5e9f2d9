#include "opsready/app/components_config.h"

#include <charconv>
#include <optional>
#include <vector>

#include <yaml-cpp/yaml.h>

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

using config::value;

config::Table sensory_table(components::SensoryDriftConfig& c) {
  return {
      value("enabled", c.enabled),
      value("lookback", c.lookback),
      value("warn_threshold", c.warn_threshold),
      value("alert_threshold", c.alert_threshold),
      value("page_hinkley_delta", c.page_hinkley_delta),
      value("page_hinkley_warn", c.page_hinkley_warn),
      value("page_hinkley_alert", c.page_hinkley_alert),
      value("page_hinkley_min_samples", c.page_hinkley_min_samples),
      value("variance_window", c.variance_window),
      value("variance_warn_ratio", c.variance_warn_ratio),
      value("variance_alert_ratio", c.variance_alert_ratio),
      value("min_variance_samples", c.min_variance_samples),
      value("psi_enabled", c.psi_enabled),
      value("psi_alert", c.psi_alert),
      value("dimensions", c.dimensions),
  };
}

config::Table sentry_table(components::DriftSentryConfig& c) {
  return {
      value("enabled", c.enabled),
      value("baseline_window", c.baseline_window),
      value("evaluation_window", c.evaluation_window),
      value("min_observations", c.min_observations),
      value("page_hinkley_delta", c.page_hinkley_delta),
      value("page_hinkley_warn", c.page_hinkley_warn),
      value("page_hinkley_alert", c.page_hinkley_alert),
      value("cusum_drift", c.cusum_drift),
      value("cusum_warn", c.cusum_warn),
      value("cusum_alert", c.cusum_alert),
      value("variance_ratio_warn", c.variance_ratio_warn),
      value("variance_ratio_alert", c.variance_ratio_alert),
      value("training_mean_diff_warn", c.training_mean_diff_warn),
      value("training_mean_diff_alert", c.training_mean_diff_alert),
      value("training_variance_ratio_warn", c.training_variance_ratio_warn),
      value("training_variance_ratio_alert", c.training_variance_ratio_alert),
      value("size_multiplier", c.size_multiplier),
      value("size_multiplier_training_warn", c.size_multiplier_training_warn),
      value("size_multiplier_training_alert", c.size_multiplier_training_alert),
      value("max_metrics", c.max_metrics),
      config::entries(
          "training_reference", "a mapping {metric: reference}",
          [&c](config::Reader& r, const std::string& metric, const YAML::Node& n,
               const std::string& path) {
            auto ref = components::training_reference_from_json(to_json(n));
            if (!ref) {
              r.error(n, path + ": " + ref.error().describe());
              return;
            }
            c.training_reference[metric] = *ref;
          },
          [] { return config::name_keys(); }),
  };
}

config::Table targets_table(components::IngestTargets& t) {
  return {
      value("freshness_target", t.freshness_target),
      value("freshness_breach", t.freshness_breach),
      value("completeness_target", t.completeness_target),
      value("completeness_breach", t.completeness_breach),
      value("latency_target_p95", t.latency_target_p95),
      value("latency_breach_p95", t.latency_breach_p95),
  };
}

config::Table window_table(detect::BurnRateWindow& w) {
  return {
      config::required(value("long", w.long_window)),
      config::required(value("short", w.short_window)),
      config::required(value("burn_rate", w.burn_rate)),
      config::choice<detect::BurnSeverity>(
          "severity", w.severity,
          {{"page", detect::BurnSeverity::kPage}, {"ticket", detect::BurnSeverity::kTicket}}),
  };
}

config::Table burn_rate_table(detect::BurnRateConfig& c) {
  return {
      value("objective", c.objective),
      config::items<detect::BurnRateWindow>(
          "windows", c.windows, "a list of {long, short, burn_rate, severity}", window_table),
      value("buckets_per_window", c.buckets_per_window),
      value("min_events", c.min_events),
  };
}

config::Table ingest_table(components::IngestSlosConfig& c) {
  config::Table t = {value("enabled", c.enabled), value("service", c.service)};
  for (auto& f : targets_table(c.targets)) t.push_back(std::move(f));
  config::Table rest = {
      value("latency_window", c.latency_window),
      config::section("burn_rate", [&c] { return burn_rate_table(c.burn_rate); }),
      config::entries(
          "alert_routes", "a mapping {record name: route}",
          [&c](config::Reader& r, const std::string& record, const YAML::Node& n,
               const std::string& path) {
            // An empty route means none, as in the spec.
            if (auto route = r.scalar(n, path)) c.alert_routes[record] = *route;
          },
          [] { return config::name_keys(); }),
      // After the section's targets, which are each dimension's defaults.
      config::entries(
          "dimensions", "a mapping {dimension: targets}",
          [&c](config::Reader& r, const std::string& dimension, const YAML::Node& n,
               const std::string& path) {
            components::IngestTargets targets = c.targets;
            if (r.read(n, path, targets_table(targets))) {
              c.dimensions[dimension] = targets;
            }
          },
          [] {
            components::IngestTargets targets;
            return config::name_keys(config::known_keys(targets_table(targets)));
          }),
      value("max_dimensions", c.max_dimensions),
  };
  for (auto& f : rest) t.push_back(std::move(f));
  return t;
}

config::Table roi_table(components::RoiCostModel& c) {
  return {
      value("target_annual_roi", c.target_annual_roi),
      value("fee_flat", c.fee_flat),
      value("fee_bps", c.fee_bps),
      value("daily_infra_cost", c.daily_infra_cost),
  };
}

config::Table strategy_table(components::StrategyPerformanceConfig& c) {
  return {
      value("enabled", c.enabled),
      value("initial_capital", c.initial_capital),
      value("period_start", c.period_start),
      config::section("roi", [&c] { return roi_table(c.roi); }),
      value("baseline_window", c.baseline_window),
      value("baseline_min_trades", c.baseline_min_trades),
      value("baseline_tolerance_ratio", c.baseline_tolerance_ratio),
      value("baseline_min_gap", c.baseline_min_gap),
      value("baseline_default_spread_bps", c.baseline_default_spread_bps),
      value("tracking_status", c.tracking_status),
      value("at_risk_status", c.at_risk_status),
      value("baseline_alert_status", c.baseline_alert_status),
      value("max_strategies", c.max_strategies),
  };
}

config::Table loop_table(components::UnderstandingLoopConfig& c) {
  return {
      value("enabled", c.enabled),
      value("require_diagnostics", c.require_diagnostics),
      value("latency_target_p95", c.latency_target_p95),
      value("latency_breach_p95", c.latency_breach_p95),
      value("latency_window", c.latency_window),
      value("drift_alert_warn_after", c.drift_alert_warn_after),
      value("drift_alert_fail_after", c.drift_alert_fail_after),
      value("expected_drift_alerts", c.expected_drift_alerts),
      value("replay_warn", c.replay_warn),
      value("replay_fail", c.replay_fail),
      value("max_probes", c.max_probes),
  };
}

config::Table system_validation_table(components::SystemValidationConfig& c) {
  return {
      value("enabled", c.enabled),
      value("reliability_window", c.reliability_window),
      value("reliability_stale_warn", c.reliability_stale_warn),
      value("reliability_stale_fail", c.reliability_stale_fail),
      value("reliability_warn_success_rate", c.reliability_warn_success_rate),
      value("reliability_fail_success_rate", c.reliability_fail_success_rate),
      value("reliability_warn_fail_streak", c.reliability_warn_fail_streak),
      value("reliability_fail_fail_streak", c.reliability_fail_fail_streak),
      value("reliability_warn_warn_streak", c.reliability_warn_warn_streak),
      value("future_tolerance", c.future_tolerance),
      value("max_history", c.max_history),
      value("min_success_rate", c.min_success_rate),
      value("block_on_warn", c.block_on_warn),
      value("required_checks", c.required_checks),
      value("consider_reliability", c.consider_reliability),
      value("reliability_block_on_warn", c.reliability_block_on_warn),
      value("reliability_max_stale", c.reliability_max_stale),
  };
}

config::Table incident_table(components::IncidentResponseConfig& c) {
  return {
      value("enabled", c.enabled),
      value("service", c.service),
      value("document_policy", c.document_policy),
      config::choice("metrics_source", c.metrics_source,
                     {{"incident_log", "incident_log"}, {"document", "document"}}),
      value("metrics_window", c.metrics_window),
      value("required_runbooks", c.required_runbooks),
      value("training_interval_days", c.training_interval_days),
      value("drill_interval_days", c.drill_interval_days),
      value("minimum_primary_responders", c.minimum_primary_responders),
      value("minimum_secondary_responders", c.minimum_secondary_responders),
      value("postmortem_sla_hours", c.postmortem_sla_hours),
      value("maximum_open_incidents", c.maximum_open_incidents),
      value("require_chatops", c.require_chatops),
      value("mtta_warn_minutes", c.mtta_warn_minutes),
      value("mtta_fail_minutes", c.mtta_fail_minutes),
      value("mttr_warn_minutes", c.mttr_warn_minutes),
      value("mttr_fail_minutes", c.mttr_fail_minutes),
      value("metrics_stale_warn_hours", c.metrics_stale_warn_hours),
      value("metrics_stale_fail_hours", c.metrics_stale_fail_hours),
      value("require_major_incident_history", c.require_major_incident_history),
      value("major_incident_review_interval_days", c.major_incident_review_interval_days),
      value("major_incident_fail_multiplier", c.major_incident_fail_multiplier),
      value("block_on_warn", c.block_on_warn),
      value("warn_block_categories", c.warn_block_categories),
  };
}

config::Table security_table(components::SecurityConfig& c) {
  return {
      value("enabled", c.enabled),
      value("service", c.service),
      value("document_policy", c.document_policy),
      value("minimum_mfa_coverage", c.minimum_mfa_coverage),
      value("credential_rotation_days", c.credential_rotation_days),
      value("secrets_rotation_days", c.secrets_rotation_days),
      value("incident_drill_interval_days", c.incident_drill_interval_days),
      value("vulnerability_scan_interval_days", c.vulnerability_scan_interval_days),
      value("required_tls_versions", c.required_tls_versions),
      value("allow_legacy_tls", c.allow_legacy_tls),
      value("require_intrusion_detection", c.require_intrusion_detection),
      value("certificate_warn_days", c.certificate_warn_days),
      value("certificate_fail_days", c.certificate_fail_days),
      value("privileged_access_review_days", c.privileged_access_review_days),
      value("failed_logins_warn", c.failed_logins_warn),
      value("failed_logins_fail", c.failed_logins_fail),
  };
}

config::Table backups_table(components::BackupsConfig& c) {
  return {
      value("enabled", c.enabled),
      value("service", c.service),
      value("expected_frequency", c.expected_frequency),
      value("warn_after_factor", c.warn_after_factor),
      value("fail_after_factor", c.fail_after_factor),
      value("retention_days", c.retention_days),
      value("minimum_retention_days", c.minimum_retention_days),
      value("restore_test_interval_days", c.restore_test_interval_days),
      value("restore_warn_factor", c.restore_warn_factor),
      value("restore_fail_factor", c.restore_fail_factor),
  };
}

config::Table failover_drill_table(components::FailoverDrillConfig& c) {
  return {
      value("enabled", c.enabled),
      value("scenario", c.scenario),
      value("dimensions", c.dimensions),
      value("daily_bars_freshness_sla", c.daily_bars_freshness_sla),
      value("intraday_trades_freshness_sla", c.intraday_trades_freshness_sla),
      value("macro_events_freshness_sla", c.macro_events_freshness_sla),
      value("daily_bars_min_rows", c.daily_bars_min_rows),
      value("intraday_trades_min_rows", c.intraday_trades_min_rows),
      value("macro_events_min_rows", c.macro_events_min_rows),
      value("trigger_statuses", c.trigger_statuses),
      value("require_rows", c.require_rows),
      value("fail_on_missing_symbols", c.fail_on_missing_symbols),
      value("optional_dimensions", c.optional_dimensions),
  };
}

config::Table cross_region_table(components::CrossRegionFailoverConfig& c) {
  return {
      value("enabled", c.enabled),
      value("primary_region", c.primary_region),
      value("replica_region", c.replica_region),
      value("warn_after", c.warn_after),
      value("fail_after", c.fail_after),
      value("max_row_difference_ratio", c.max_row_difference_ratio),
      value("max_schedule_interval", c.max_schedule_interval),
      value("dimensions", c.dimensions),
  };
}

config::Table disaster_recovery_table(components::DisasterRecoveryConfig& c) {
  return {value("enabled", c.enabled), value("follow_components", c.follow_components)};
}

config::Table professional_table(components::ProfessionalReadinessConfig& c) {
  return {
      value("enabled", c.enabled),
      value("count_components_without_counts", c.count_components_without_counts),
      value("live_rollup", c.live_rollup),
  };
}

config::Table cache_table(components::CacheHealthConfig& c) {
  return {
      value("enabled", c.enabled),
      value("require_configured", c.require_configured),
      value("hit_rate_warn", c.hit_rate_warn),
      value("hit_rate_fail", c.hit_rate_fail),
      value("min_requests", c.min_requests),
      value("latency_warn_ms", c.latency_warn_ms),
      value("latency_fail_ms", c.latency_fail_ms),
      value("evictions_warn", c.evictions_warn),
      value("errors_warn", c.errors_warn),
  };
}

config::Table nats_consumer_table(components::NatsConsumerConfig& c) {
  return {
      value("enabled", c.enabled),
      value("pending_warn", c.pending_warn),
      value("pending_fail", c.pending_fail),
      value("ack_pending_warn", c.ack_pending_warn),
      value("redelivered_warn", c.redelivered_warn),
      value("stale_after", c.stale_after),
      value("forget_after", c.forget_after),
      value("max_consumers", c.max_consumers),
  };
}

config::Table detectors_table(ComponentsConfig& c) {
  return {
      config::section("sensory_drift", [&c] { return sensory_table(c.sensory_drift); }),
      config::section("drift_sentry", [&c] { return sentry_table(c.drift_sentry); }),
      config::section("ingest_slos", [&c] { return ingest_table(c.ingest_slos); }),
      config::section("strategy_performance",
                      [&c] { return strategy_table(c.strategy_performance); }),
      config::section("understanding_loop", [&c] { return loop_table(c.understanding_loop); }),
      config::section("system_validation",
                      [&c] { return system_validation_table(c.system_validation); }),
      config::section("incident_response", [&c] { return incident_table(c.incident_response); }),
      config::section("security", [&c] { return security_table(c.security); }),
      config::section("backups", [&c] { return backups_table(c.backups); }),
      config::section("failover_drill", [&c] { return failover_drill_table(c.failover_drill); }),
      config::section("cross_region_failover",
                      [&c] { return cross_region_table(c.cross_region_failover); }),
      config::section("disaster_recovery",
                      [&c] { return disaster_recovery_table(c.disaster_recovery); }),
      config::section("professional_readiness",
                      [&c] { return professional_table(c.professional_readiness); }),
      config::section("cache", [&c] { return cache_table(c.cache); }),
      config::section("nats_consumer", [&c] { return nats_consumer_table(c.nats_consumer); }),
  };
}

}  // namespace

config::Field detectors_field(std::string key, ComponentsConfig& out) {
  return config::custom(
      std::move(key),
      [&out](config::Reader& r, const YAML::Node& section, const std::string& path) {
        ComponentsConfig c = out;
        const std::size_t before = r.error_count();
        if (!r.read(section, path, detectors_table(c)) || r.error_count() > before) {
          return;  // validation would only repeat what is already reported
        }
        if (auto ok = components::validate(c); !ok) {
          r.error(node_at(section, ok.error().field),
                  path + "." + ok.error().field + ": " + ok.error().message);
          return;
        }
        out = std::move(c);
      },
      [] {
        ComponentsConfig c;
        return config::mapping_keys(config::known_keys(detectors_table(c)));
      });
}

void load_components_config(const YAML::Node& section, ComponentsConfig& out,
                            const ConfigErrorSink& error) {
  config::Reader r(error);
  detectors_field("detectors", out).read(r, section, "detectors");
}

}  // namespace opsready::app
