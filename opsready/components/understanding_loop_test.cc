#include "opsready/components/understanding_loop.h"

#include <gtest/gtest.h>

#include "opsready/core/time.h"

namespace opsready::components {
namespace {

using nlohmann::json;
using std::chrono::seconds;

const core::TimePoint kT0 = core::parse_rfc3339("2025-01-02T00:00:00Z").value();

core::TelemetryEvent make_sample(std::string topic, std::string series, double value,
                                 core::TimePoint t = kT0, json labels = json::object()) {
  return {.topic = std::move(topic),
          .time = t,
          .payload = {{"series", std::move(series)}, {"value", value}, {"labels", labels}}};
}

json diagnostics(const char* status) {
  return {{"status", status},
          {"regime_state", {{"regime", "trending"}, {"confidence", 0.8125}}},
          {"decision",
           {{"tactic_id", "breakout"},
            {"selected_weight", 0.42},
            {"experiments_applied", {"exp-a", "exp-b"}}}},
          {"ledger_diff", {{"approvals", json::array()}}},
          {"drift_summary", {{"exceeded", {{{"name", "belief_confidence"}}}}}}};
}

std::string issue_codes(const core::ComponentSnapshot& s) {
  std::string out;
  for (const auto& i : s.issues) out += (out.empty() ? "" : ",") + i.code;
  return out;
}

// §9: without diagnostics the component warns and says which CLI produces them.
TEST(UnderstandingLoop, MissingDiagnosticsWarns) {
  auto loop = UnderstandingLoop::create({}).value();
  ASSERT_TRUE(
      loop->apply(make_sample("telemetry.understanding.latency_seconds", "professional", 0.5))
          .has_value());
  const auto s = loop->snapshot(kT0);
  EXPECT_EQ(s.status, core::Status::kWarn);
  EXPECT_EQ(s.summary, "Understanding diagnostics unavailable; all understanding-loop SLOs met");
  EXPECT_EQ(s.metadata["understanding_loop"]["status"], "missing");
  EXPECT_EQ(s.metadata["understanding_loop"]["recommended_cli"],
            "python -m tools.understanding.graph_diagnostics");
  EXPECT_EQ(issue_codes(s), "understanding_loop.diagnostics");

  auto relaxed = UnderstandingLoop::create({.require_diagnostics = false}).value();
  ASSERT_TRUE(
      relaxed->apply(make_sample("telemetry.understanding.latency_seconds", "professional", 0.5))
          .has_value());
  EXPECT_EQ(relaxed->snapshot(kT0).status, core::Status::kOk);
}

// §9: the panel's status mapping and detail lines.
TEST(UnderstandingLoop, Diagnostics) {
  auto loop = UnderstandingLoop::create({}).value();
  ASSERT_TRUE(loop->apply({.topic = "telemetry.understanding.diagnostics",
                           .time = kT0,
                           .payload = diagnostics("ok")})
                  .has_value());
  auto s = loop->snapshot(kT0);
  EXPECT_EQ(s.status, core::Status::kOk);
  EXPECT_EQ(s.summary, "Understanding ok");
  EXPECT_EQ(s.metadata["details"], (json{"Regime trending @ 81.2%", "Drift exceedances: 1",
                                         "Selected tactic breakout weight 0.420",
                                         "Ledger approvals: none", "Experiments: exp-a,exp-b"}));
  EXPECT_TRUE(s.issues.empty());
  ASSERT_TRUE(loop->apply({.topic = "telemetry.understanding.diagnostics",
                           .time = kT0 + seconds(1),
                           .payload = diagnostics("fail")})
                  .has_value());
  s = loop->snapshot(kT0);
  EXPECT_EQ(s.status, core::Status::kFail);
  ASSERT_EQ(s.issues.size(), 1u);
  EXPECT_EQ(s.issues[0].severity, core::Severity::kCritical);
  EXPECT_EQ(s.issues[0].message,
            "Understanding fail: Regime trending @ 81.2%; Drift exceedances: 1; Selected tactic "
            "breakout weight 0.420; Ledger approvals: none; Experiments: exp-a,exp-b");
  EXPECT_EQ(s.issues[0].runbook, "docs/runbooks/understanding_loop.md");
}

TEST(UnderstandingLoop, RefusesInvalidDiagnostics) {
  auto loop = UnderstandingLoop::create({}).value();
  json bad_conf = diagnostics("ok");
  bad_conf["regime_state"]["confidence"] = 1.5;
  auto a = loop->apply({.topic = "telemetry.understanding.diagnostics", .payload = bad_conf});
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().field, "payload.regime_state.confidence");
  auto b = loop->apply(
      {.topic = "telemetry.understanding.diagnostics", .payload = diagnostics("sideways")});
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(b.error().field, "payload.status");
  EXPECT_FALSE(loop->active());
}

// test_slo.py "loop probes": latency p95 1.8 (target 1.5, breach 3.0) → warn; freshness 250s
// (warn 200, fail 600) → warn; replay 0.03 with checksum true → pass; overall at risk.
TEST(UnderstandingLoop, LoopProbes) {
  auto loop = UnderstandingLoop::create({.latency_breach_p95 = std::chrono::seconds(3)}).value();
  ASSERT_TRUE(loop->apply({.topic = "telemetry.understanding.diagnostics",
                           .time = kT0,
                           .payload = diagnostics("ok")})
                  .has_value());
  ASSERT_TRUE(
      loop->apply(make_sample("telemetry.understanding.latency_seconds", "professional", 1.8))
          .has_value());
  ASSERT_TRUE(loop->apply(make_sample("telemetry.understanding.drift_alert", "drift_sentry", 1))
                  .has_value());
  ASSERT_TRUE(loop->apply(make_sample("telemetry.understanding.replay_drift", "nightly", 0.03, kT0,
                                      {{"checksum_match", "true"}}))
                  .has_value());
  const auto s = loop->snapshot(kT0 + seconds(250));
  EXPECT_EQ(s.status, core::Status::kWarn);
  EXPECT_EQ(s.summary, "Understanding ok; 2 loop SLOs at risk");
  const json& slos = s.metadata["slos"];
  ASSERT_EQ(slos.size(), 3u);
  EXPECT_EQ(slos[0]["name"], "understanding_loop.latency.professional");
  EXPECT_EQ(slos[0]["status"], "warn");
  EXPECT_EQ(slos[0]["message"], "p95 1.80s above target 1.50s");
  EXPECT_EQ(slos[1]["name"], "understanding_loop.drift_alert.drift_sentry");
  EXPECT_EQ(slos[1]["message"], "Freshness 250s approaching limit 600s");
  EXPECT_EQ(slos[2]["name"], "understanding_loop.replay.nightly");
  EXPECT_EQ(slos[2]["status"], "pass");
  EXPECT_EQ(slos[2]["message"], "Replay determinism within thresholds");
  EXPECT_EQ(issue_codes(s),
            "understanding_loop.latency.professional,understanding_loop.drift_alert.drift_sentry");
}

TEST(UnderstandingLoop, DriftAlertFreshnessBoundaries) {
  auto loop = UnderstandingLoop::create(
                  {.require_diagnostics = false, .expected_drift_alerts = {"sensory"}})
                  .value();
  ASSERT_TRUE(
      loop->apply(make_sample("telemetry.understanding.drift_alert", "sentry", 1)).has_value());
  const auto status_at = [&](int after, const char* name) {
    const auto snap = loop->snapshot(kT0 + seconds(after));
    for (const auto& r : snap.metadata["slos"]) {
      if (r["name"] == name) return r["status"].get<std::string>();
    }
    return std::string("absent");
  };
  EXPECT_EQ(status_at(200, "understanding_loop.drift_alert.sentry"), "pass");
  EXPECT_EQ(status_at(201, "understanding_loop.drift_alert.sentry"), "warn");
  EXPECT_EQ(status_at(600, "understanding_loop.drift_alert.sentry"), "warn");
  EXPECT_EQ(status_at(601, "understanding_loop.drift_alert.sentry"), "fail");
  // An expected alert never seen fails.
  EXPECT_EQ(status_at(0, "understanding_loop.drift_alert.sensory"), "fail");
}

// Replay determinism; the drift warning is reported even when the record already fails
// (the spec drops it: §11.2.9, fixed).
TEST(UnderstandingLoop, ReplayDeterminism) {
  struct Case {
    double drift;
    json labels;
    const char* status;
    const char* message;
  };
  const Case cases[] = {
      {0.05, {{"checksum_match", "true"}}, "pass", "Replay determinism within thresholds"},
      {0.0501, {{"checksum_match", "true"}}, "warn", "drift 0.050 above warn 0.050"},
      {0.1, {{"checksum_match", "true"}}, "warn", "drift 0.100 above warn 0.050"},
      {0.11, {{"checksum_match", "true"}}, "fail", "drift 0.110 exceeds 0.100"},
      {0.0, json::object(), "warn", "checksum unknown"},
      {0.07,
       {{"checksum_match", "false"}},
       "fail",
       "checksum mismatch; drift 0.070 above warn 0.050"},
      {0.0,
       {{"checksum_match", "true"}, {"mismatched_fields", "price, qty"}},
       "fail",
       "mismatched fields present"},
  };
  for (const auto& c : cases) {
    auto loop = UnderstandingLoop::create({.require_diagnostics = false}).value();
    ASSERT_TRUE(loop->apply(make_sample("telemetry.understanding.replay_drift", "p", c.drift, kT0,
                                        c.labels))
                    .has_value());
    const json r = loop->snapshot(kT0).metadata["slos"][0];
    EXPECT_EQ(r["status"], c.status) << c.drift;
    EXPECT_EQ(r["message"], c.message) << c.drift;
  }
}

TEST(UnderstandingLoop, LatencyMaxBreach) {
  auto loop = UnderstandingLoop::create({.require_diagnostics = false}).value();
  for (int k = 0; k < 99; ++k) {
    ASSERT_TRUE(
        loop->apply(make_sample("telemetry.understanding.latency_seconds", "l", 1.0)).has_value());
  }
  ASSERT_TRUE(
      loop->apply(make_sample("telemetry.understanding.latency_seconds", "l", 2.5)).has_value());
  const json r = loop->snapshot(kT0).metadata["slos"][0];
  EXPECT_EQ(r["status"], "fail");
  EXPECT_EQ(r["message"], "max 2.50s exceeds breach threshold 2.25s (p95 1.00s)");
}

TEST(UnderstandingLoop, ConfigValidation) {
  struct Case {
    UnderstandingLoopConfig config;
    const char* field;
  };
  const Case cases[] = {
      {{.latency_target_p95 = core::Duration::zero()}, "latency_target_p95"},
      {{.latency_breach_p95 = std::chrono::seconds(1)}, "latency_breach_p95"},
      {{.latency_window = 0}, "latency_window"},
      {{.drift_alert_fail_after = std::chrono::seconds(10)}, "drift_alert_fail_after"},
      {{.expected_drift_alerts = {"Bad Name"}}, "expected_drift_alerts"},
      {{.replay_fail = 0.01}, "replay_fail"},
  };
  for (const auto& c : cases) {
    auto ok = validate(c.config);
    ASSERT_FALSE(ok.has_value()) << c.field;
    EXPECT_EQ(ok.error().field, c.field);
  }
}

}  // namespace
}  // namespace opsready::components
