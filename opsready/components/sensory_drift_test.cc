#include "opsready/components/sensory_drift.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "opsready/core/time.h"

namespace opsready::components {
namespace {

using detect::Grade;
using nlohmann::json;

const core::TimePoint kT0 = core::parse_rfc3339("2025-01-02T00:00:00Z").value();

core::TelemetryEvent audit(json payload, int minute = 0) {
  return {.topic = "telemetry.sensory.audit",
          .source = "test",
          .time = kT0 + std::chrono::minutes(minute),
          .payload = std::move(payload)};
}

// One entry with the given dimensions {name: signal} (confidence 0.72 unless given).
json entry(std::vector<std::pair<std::string, double>> signals, double confidence = 0.72) {
  json dims = json::object();
  for (const auto& [name, s] : signals) dims[name] = {{"signal", s}, {"confidence", confidence}};
  return {{"symbol", "EURUSD"}, {"dimensions", dims}};
}

// Applies entries given newest first (the spec's audit order) oldest first, one minute apart.
std::unique_ptr<SensoryDrift> run(const SensoryDriftConfig& config,
                                  const std::vector<json>& newest_first) {
  auto drift = SensoryDrift::create(config).value();
  int minute = 0;
  for (auto it = newest_first.rbegin(); it != newest_first.rend(); ++it) {
    EXPECT_TRUE(drift->apply(audit(*it, minute++)).has_value());
  }
  return drift;
}

const DimensionReading& dim(const SensoryDriftReport& r, std::string_view name) {
  for (const auto& d : r.dimensions) {
    if (d.name == name) return d;
  }
  ADD_FAILURE() << "no dimension " << name;
  static const DimensionReading none;
  return none;
}

using Detectors = std::vector<std::string>;

// §6.6 flags_alert_and_warn: WHY delta 0.535 → alert; HOW delta exactly -0.25 → warn (the
// comparison is inclusive).
// {"audit_entries": [...]} is not one entry with no dimensions: it is refused, by its key.
TEST(SensoryDrift, AnAuditPayloadOfAnotherShapeIsRefusedByItsKey) {
  auto c = SensoryDrift::create({}).value();
  core::TelemetryEvent e{.topic = "telemetry.sensory.audit",
                         .payload = {{"audit_entries", nlohmann::json::array()}}};
  auto r = c->apply(e);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().field, "payload.audit_entries");
  e.payload = {{"dimension", {{"WHY", {{"signal", 0.1}}}}}};
  r = c->apply(e);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().field, "payload.dimension");
  EXPECT_FALSE(c->active());
}

TEST(SensoryDrift, FlagsAlertAndWarnInclusive) {
  json latest = entry({{"WHY", 0.55}, {"HOW", 0.0}});
  latest["metadata"] = {{"ingest_success", true}};
  auto drift = run(
      {}, {latest, entry({{"WHY", 0.05}, {"HOW", 0.25}}), entry({{"WHY", -0.02}, {"HOW", 0.25}})});
  const auto& r = drift->report();
  EXPECT_EQ(r.status, Grade::kAlert);
  EXPECT_EQ(r.entries, 3u);
  const auto& why = dim(r, "WHY");
  EXPECT_DOUBLE_EQ(*why.baseline_signal, 0.015);
  EXPECT_DOUBLE_EQ(*why.delta, 0.535);
  EXPECT_EQ(why.severity, Grade::kAlert);
  EXPECT_EQ(why.detectors, Detectors{"delta_alert"});
  const auto& how = dim(r, "HOW");
  EXPECT_EQ(*how.delta, -0.25);
  EXPECT_EQ(how.severity, Grade::kWarn);
  EXPECT_EQ(how.detectors, Detectors{"delta_warn"});
  EXPECT_FALSE(how.page_hinkley_stat.has_value());  // 3 < 4 signals

  const core::ComponentSnapshot s = drift->snapshot(kT0 + std::chrono::hours(1));
  EXPECT_EQ(s.component, "sensory_drift");
  EXPECT_EQ(s.status, core::Status::kFail);
  EXPECT_EQ(s.observed_at, kT0 + std::chrono::minutes(2));  // the last event, not "now"
  EXPECT_EQ(s.summary, "HOW:warn (delta_warn); WHY:alert (delta_alert)");
  ASSERT_EQ(s.issues.size(), 2u);
  EXPECT_EQ(s.issues[0], (core::Issue{.code = "sensory.drift.how",
                                      .severity = core::Severity::kWarning,
                                      .message = "HOW drift warn (delta_warn)",
                                      .runbook = "docs/runbooks/sensory_drift.md"}));
  EXPECT_EQ(s.issues[1].code, "sensory.drift.why");
  EXPECT_EQ(s.issues[1].severity, core::Severity::kCritical);
  EXPECT_EQ(s.metadata["ingest_success"], true);
  EXPECT_EQ(s.metadata["entries"], 3);
  EXPECT_EQ(s.metadata["severity_counts"], (json{{"alert", 1}, {"warn", 1}}));
  EXPECT_EQ(s.metadata["issue_counts"], (json{{"fail", 1}, {"warn", 1}}));
  EXPECT_EQ(drift->to_markdown(),
            "| Dimension | Signal Δ | Confidence Δ | Status | Samples |\n"
            "| --- | --- | --- | --- | --- |\n"
            "| HOW | -0.250 | +0.000 | warn | 3 |\n"
            "| WHY | +0.535 | +0.000 | alert | 3 |\n");
}

// Just inside the delta threshold is normal.
TEST(SensoryDrift, DeltaJustBelowWarnIsNormal) {
  auto drift = run({}, {entry({{"HOW", std::nextafter(0.25, 1.0) - 0.25 + 0.0}}),
                        entry({{"HOW", 0.25}}), entry({{"HOW", 0.25}})});
  // current ≈ 5.5e-17, baseline 0.25: |delta| just under 0.25.
  const auto& how = dim(drift->report(), "HOW");
  EXPECT_LT(std::fabs(*how.delta), 0.25);
  EXPECT_EQ(how.severity, Grade::kNormal);
  EXPECT_EQ(drift->snapshot(kT0).summary, "no drift exceedances");
}

// §6.6 handles_single_entry.
TEST(SensoryDrift, SingleEntry) {
  auto drift = run({}, {entry({{"WHY", 0.4}})});
  const auto& r = drift->report();
  EXPECT_EQ(r.status, Grade::kNormal);
  EXPECT_EQ(r.sample_window, 1u);
  const auto& why = dim(r, "WHY");
  EXPECT_FALSE(why.baseline_signal.has_value());
  EXPECT_FALSE(why.delta.has_value());
  EXPECT_EQ(why.samples, 1u);
}

// §6.6 page_hinkley_escalates_without_delta_trigger.
TEST(SensoryDrift, PageHinkleyEscalatesWithoutDelta) {
  const SensoryDriftConfig cfg{.lookback = 6,
                               .warn_threshold = 1.5,
                               .alert_threshold = 2.0,
                               .page_hinkley_delta = 0.0,
                               .page_hinkley_warn = 0.4,
                               .page_hinkley_alert = 0.8,
                               .min_variance_samples = 2};
  std::vector<json> entries = {entry({{"WHY", 1.2}})};
  for (double v : {0.02, 0.03, 0.015, 0.01, 0.025, 0.018}) entries.push_back(entry({{"WHY", v}}));
  auto drift = run(cfg, entries);
  const auto& why = dim(drift->report(), "WHY");
  EXPECT_EQ(*why.page_hinkley_stat, 1.0224476190476188);  // ≈ 1.022448, bit for bit
  EXPECT_NEAR(*why.delta, 1.1803, 1e-4);
  EXPECT_EQ(why.severity, Grade::kAlert);
  EXPECT_EQ(why.detectors.front(), "page_hinkley_alert");  // no delta detector
}

SensoryDriftConfig replay_config() {
  return {.lookback = 11,
          .warn_threshold = 1.0,
          .alert_threshold = 1.5,
          .page_hinkley_delta = 0.0,
          .page_hinkley_warn = 0.6,
          .page_hinkley_alert = 0.9,
          .min_variance_samples = 50};
}

const std::vector<double> kReplaySignals = {0.40, 0.32, 0.24, 0.18, 0.14,  0.10,
                                            0.07, 0.05, 0.02, 0.0,  -0.01, -0.02};

std::vector<json> replay_entries() {
  std::vector<json> out;
  for (double v : kReplaySignals) {
    json e = entry({{"WHY", v}});
    e["metadata"] = {{"replay_id", "page_hinkley_replay"}};
    out.push_back(e);
  }
  return out;
}

// §6.6 fixture page_hinkley_replay.json.
TEST(SensoryDrift, PageHinkleyReplayFixture) {
  auto drift = run(replay_config(), replay_entries());
  const auto& r = drift->report();
  const auto& why = dim(r, "WHY");
  EXPECT_EQ(*why.page_hinkley_stat, 1.078270202020202);  // ≈ 1.078270
  EXPECT_EQ(why.detectors, Detectors{"page_hinkley_alert"});
  EXPECT_NEAR(*why.baseline_signal, 0.0990909, 1e-7);
  EXPECT_NEAR(*why.delta, 0.30091, 1e-5);
  EXPECT_FALSE(why.variance_ratio.has_value());  // 12 < 2 × 50
  EXPECT_EQ(r.sample_window, 12u);
  EXPECT_FALSE(r.psi.has_value());  // 12 < 28 entries
  const json doc = to_json(r);
  EXPECT_EQ(doc["metadata"]["severity_counts"], (json{{"alert", 1}}));
  EXPECT_EQ(doc["metadata"]["detectors"]["WHY"]["page_hinkley_stat"], 1.078270202020202);
  EXPECT_EQ(doc["metadata"]["replay_id"], "page_hinkley_replay");
  EXPECT_EQ(drift->snapshot(kT0).metadata["replay_id"], "page_hinkley_replay");
}

// The same thresholds at the exact statistic: inclusive, so alert; one ulp above it: warn.
TEST(SensoryDrift, PageHinkleyThresholdIsInclusive) {
  const double stat = 1.078270202020202;
  SensoryDriftConfig at = replay_config();
  at.page_hinkley_alert = stat;
  EXPECT_EQ(dim(run(at, replay_entries())->report(), "WHY").severity, Grade::kAlert);
  SensoryDriftConfig above = replay_config();
  above.page_hinkley_alert = std::nextafter(stat, 2.0);
  auto drift = run(above, replay_entries());
  const auto& why = dim(drift->report(), "WHY");
  EXPECT_EQ(why.severity, Grade::kWarn);
  EXPECT_EQ(why.detectors, Detectors{"page_hinkley_warn"});
}

// The per-dimension sample topic gives the same evaluation as audit entries.
TEST(SensoryDrift, DimensionSampleTopic) {
  auto drift = SensoryDrift::create(replay_config()).value();
  EXPECT_TRUE(drift->consumes("telemetry.sensory.why"));
  int minute = 0;
  for (auto it = kReplaySignals.rbegin(); it != kReplaySignals.rend(); ++it) {
    const core::TelemetryEvent e{
        .topic = "telemetry.sensory.why",
        .time = kT0 + std::chrono::minutes(minute++),
        .payload = {{"series", "signal"}, {"value", *it}, {"labels", {{"confidence", "0.72"}}}}};
    ASSERT_TRUE(drift->apply(e).has_value());
  }
  const auto& why = dim(drift->report(), "WHY");
  EXPECT_EQ(*why.page_hinkley_stat, 1.078270202020202);
  EXPECT_EQ(*why.current_confidence, 0.72);
  EXPECT_EQ(*why.confidence_delta, 0.0);
}

// §6.6 variance_ratio_flags_alert.
TEST(SensoryDrift, VarianceRatioFlagsAlert) {
  const SensoryDriftConfig cfg{.variance_window = 3, .min_variance_samples = 3};
  std::vector<json> entries;
  for (double v : {0.8, 0.6, 0.5, 0.016, 0.019, 0.017, 0.020, 0.018, 0.015}) {
    entries.push_back(entry({{"WHY", v}}));
  }
  auto drift = run(cfg, entries);
  const auto& why = dim(drift->report(), "WHY");
  EXPECT_NEAR(*why.variance_ratio, 10000.0, 1e-6);
  EXPECT_EQ(*why.page_hinkley_stat, 1.4101686507936508);  // ≈ 1.41, below 3
  EXPECT_EQ(why.severity, Grade::kAlert);
  EXPECT_NE(std::find(why.detectors.begin(), why.detectors.end(), "variance_alert"),
            why.detectors.end());
  EXPECT_EQ(std::find(why.detectors.begin(), why.detectors.end(), "page_hinkley_warn"),
            why.detectors.end());
}

// §6.6 derive_drift_alerts_emits_dimension_events. The spec's PH ≈ 0.3244 is the statistic
// with δ = 0 (δ = 0.01 gives 0.3144).
TEST(SensoryDrift, DimensionAlertEvents) {
  const SensoryDriftConfig cfg{.lookback = 8,
                               .warn_threshold = 0.05,
                               .alert_threshold = 0.15,
                               .page_hinkley_delta = 0.0,
                               .page_hinkley_warn = 0.2,
                               .page_hinkley_alert = 0.4,
                               .variance_window = 4,
                               .variance_warn_ratio = 1.1,
                               .variance_alert_ratio = 1.4,
                               .min_variance_samples = 3};
  std::vector<json> entries = {entry({{"WHY", 0.5}})};
  for (int k = 0; k < 10; ++k) entries.push_back(entry({{"WHY", 0.10 + 0.01 * k}}));
  auto drift = run(cfg, entries);
  const auto& why = dim(drift->report(), "WHY");
  EXPECT_NEAR(*why.delta, 0.365, 1e-12);
  EXPECT_NEAR(*why.page_hinkley_stat, 0.3244, 1e-4);
  EXPECT_NEAR(*why.variance_ratio, 228.5, 0.1);
  EXPECT_EQ(why.detectors, (Detectors{"delta_alert", "page_hinkley_warn", "variance_alert"}));

  // What the alert derivation (alerting/derive.h) turns into a critical component alert under
  // sensory.drift and an issue alert under sensory.drift.why.
  EXPECT_EQ(drift->alert_category(), "sensory.drift");
  const auto s = drift->snapshot(kT0);
  EXPECT_EQ(s.status, core::Status::kFail);
  ASSERT_EQ(s.issues.size(), 1u);
  EXPECT_EQ(s.issues[0].code, "sensory.drift.why");
  EXPECT_EQ(s.issues[0].severity, core::Severity::kCritical);
  EXPECT_EQ(s.issues[0].message,
            "WHY drift alert (delta_alert, page_hinkley_warn, variance_alert)");
}

// §6.6 psi_triggers_alert: 12 evaluation entries (one at the first shifted level, eleven at the
// shifted level) then 36 at the base level; N = 48, so the evaluation window is 24 entries
// (12 shifted + 12 base) and the baseline 24. Only features whose constant baseline rounds to
// two cuts see the shift (docs/detectors.md decision 6).
TEST(SensoryDrift, PsiTriggersAlert) {
  const SensoryDriftConfig cfg{.warn_threshold = 1e9,
                               .alert_threshold = 1e9,
                               .page_hinkley_warn = 1e9,
                               .page_hinkley_alert = 1e9,
                               .variance_warn_ratio = 1e9,
                               .variance_alert_ratio = 1e9};
  const std::vector<std::pair<std::string, double>> offsets = {
      {"WHY", 0.0}, {"WHAT", 0.03}, {"WHEN", -0.02}, {"HOW", 0.05}, {"ANOMALY", -0.04}};
  const auto make = [&](double level, double conf) {
    json dims = json::object();
    for (const auto& [name, off] : offsets) {
      dims[name] = {{"signal", level + off}, {"confidence", conf - off / 2}};
    }
    return json{{"unified_score", level}, {"dimensions", dims}};
  };
  std::vector<json> entries = {make(0.40, 0.66)};
  for (int k = 0; k < 11; ++k) entries.push_back(make(0.88, 0.92));
  for (int k = 0; k < 36; ++k) entries.push_back(make(0.12, 0.58));
  auto drift = run(cfg, entries);
  const auto& r = drift->report();
  ASSERT_TRUE(r.psi.has_value());
  EXPECT_EQ(r.psi->evaluation_samples, 24u);
  EXPECT_EQ(r.psi->baseline_samples, 24u);
  EXPECT_EQ(r.psi->features.size(), 11u);  // unified_score + 5 × (signal, confidence)
  EXPECT_GE(r.psi->max_psi, 0.25);
  const double shifted = 6.90774215661876;
  EXPECT_EQ(*dim(r, "psi:WHY.signal").psi, shifted);
  EXPECT_EQ(dim(r, "psi:WHY.signal").severity, Grade::kAlert);
  EXPECT_EQ(dim(r, "psi:WHY.signal").detectors, (Detectors{"psi", "psi_alert"}));
  EXPECT_EQ(*dim(r, "psi:WHAT.signal").psi, 0.0);
  EXPECT_EQ(dim(r, "psi:WHAT.signal").detectors, Detectors{"psi"});
  ASSERT_EQ(r.psi->alerts.size(), 4u);  // equal PSI: by name
  EXPECT_EQ(r.psi->alerts[0].name, "WHEN.confidence");
  EXPECT_EQ(r.psi->alerts[1].name, "WHEN.signal");
  EXPECT_EQ(r.psi->alerts[2].name, "WHY.signal");
  EXPECT_EQ(r.psi->alerts[3].name, "unified_score");
  EXPECT_EQ(r.sample_window, 48u);  // max(21, min(48, 24 + 24))
  EXPECT_EQ(r.status, Grade::kAlert);
  const auto s = drift->snapshot(kT0);
  bool found = false;
  for (const auto& i : s.issues) found = found || i.code == "sensory.drift.psi:why.signal";
  EXPECT_TRUE(found);
}

// Fewer than 28 entries: no PSI.
TEST(SensoryDrift, PsiNeedsTwentyEightEntries) {
  std::vector<json> entries(27, entry({{"WHY", 0.1}}));
  EXPECT_FALSE(run({}, entries)->report().psi.has_value());
  entries.push_back(entry({{"WHY", 0.1}}));
  EXPECT_TRUE(run({}, entries)->report().psi.has_value());
}

TEST(SensoryDrift, RefusedPayloadLeavesStateUnchanged) {
  auto drift = SensoryDrift::create({}).value();
  auto bad = drift->apply(audit({{"dimensions", "WHY"}}));
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().field, "payload.dimensions");
  EXPECT_FALSE(drift->active());
  auto bad_label = drift->apply(
      {.topic = "telemetry.sensory.how",
       .payload = {{"series", "s"}, {"value", 1.0}, {"labels", {{"confidence", "high"}}}}});
  ASSERT_FALSE(bad_label.has_value());
  EXPECT_EQ(bad_label.error().field, "payload.labels.confidence");
  EXPECT_FALSE(drift->active());
  // A NaN signal (as a string) is not a number: the dimension is skipped, the entry counted.
  ASSERT_TRUE(drift->apply(audit({{"dimensions", {{"WHY", {{"signal", "nan"}}}}}})).has_value());
  EXPECT_TRUE(drift->active());
  EXPECT_TRUE(drift->report().dimensions.empty());
  EXPECT_EQ(drift->snapshot(kT0).summary, "no sensory dimensions evaluated");
}

TEST(SensoryDrift, Topics) {
  auto drift = SensoryDrift::create({}).value();
  EXPECT_TRUE(drift->consumes("telemetry.sensory.audit"));
  EXPECT_TRUE(drift->consumes("telemetry.sensory.anomaly"));
  EXPECT_FALSE(drift->consumes("telemetry.sensory.drift"));  // the published output
  EXPECT_FALSE(drift->consumes("telemetry.sensory"));
  EXPECT_FALSE(drift->consumes("telemetry.ingest.health"));
}

TEST(SensoryDrift, ConfigValidation) {
  struct Case {
    SensoryDriftConfig config;
    const char* field;
  };
  const Case cases[] = {
      {{.lookback = 0}, "lookback"},
      {{.warn_threshold = 0.6}, "warn_threshold"},
      {{.alert_threshold = std::numeric_limits<double>::quiet_NaN()}, "alert_threshold"},
      {{.page_hinkley_delta = -0.1}, "page_hinkley_delta"},
      {{.page_hinkley_min_samples = 1}, "page_hinkley_min_samples"},
      {{.variance_warn_ratio = 3.0}, "variance_warn_ratio"},
      {{.min_variance_samples = 1}, "min_variance_samples"},
      {{.psi_alert = -1}, "psi_alert"},
      {{.dimensions = {"WHY", "why"}}, "dimensions"},
      {{.dimensions = {"W HY"}}, "dimensions"},
  };
  for (const auto& c : cases) {
    auto ok = validate(c.config);
    ASSERT_FALSE(ok.has_value()) << c.field;
    EXPECT_EQ(ok.error().field, c.field);
  }
  EXPECT_TRUE(validate(SensoryDriftConfig{}).has_value());
  // +inf disables a level.
  EXPECT_TRUE(
      validate(SensoryDriftConfig{.alert_threshold = std::numeric_limits<double>::infinity()})
          .has_value());
}

}  // namespace
}  // namespace opsready::components
