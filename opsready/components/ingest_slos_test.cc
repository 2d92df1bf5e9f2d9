#include "opsready/components/ingest_slos.h"

#include <gtest/gtest.h>

#include <vector>

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

const SloRecord& record(const IngestSloReport& r, std::string_view name) {
  for (const auto& rec : r.records) {
    if (rec.name == name) return rec;
  }
  ADD_FAILURE() << "no record " << name;
  static const SloRecord none;
  return none;
}

// A report of another shape is refused with the offending key, never read as an empty,
// healthy report: the ingest *results* {"results": ...} published on the health topic.
TEST(IngestSlos, ARefusedHealthReportOfTheWrongShapeNamesTheKey) {
  auto slos = IngestSlos::create({}).value();
  const auto health = [](json payload) {
    return core::TelemetryEvent{
        .topic = "telemetry.ingest.health", .time = kT0, .payload = std::move(payload)};
  };
  auto r = slos->apply(health({{"results", {{"daily_bars", {{"rows", 10}}}}}}));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().field, "payload.results");
  EXPECT_FALSE(slos->active());
  r = slos->apply(health(json::object()));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().field, "payload");
  r = slos->apply(
      health({{"status", "ok"}, {"checks", {{{"dimension", "daily_bars"}, {"rows", 3}}}}}));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().field, "payload.checks[0].rows");
  EXPECT_TRUE(slos->apply(health({{"status", "ok"}, {"checks", json::array()}})).has_value());
}

// test_slo.py "ingest warn check": a warn check becomes an at-risk record; the summary record
// comes first with total_rows from the metrics; a caller route overrides the default.
TEST(IngestSlos, HealthReportWarnCheck) {
  IngestSlosConfig cfg;
  cfg.alert_routes["timescale_ingest.daily_bars"] = "pagerduty:test";
  auto slos = IngestSlos::create(cfg).value();
  const json report = {
      {"status", "warn"},
      {"generated_at", "2025-01-02T00:00:00Z"},
      {"checks",
       {{{"dimension", "daily_bars"},
         {"status", "warn"},
         {"message", "GBPUSD missing"},
         {"rows_written", 10},
         {"freshness_seconds", 120.0},
         {"expected_symbols", {"EURUSD", "GBPUSD"}},
         {"observed_symbols", {"EURUSD"}},
         {"missing_symbols", {"GBPUSD"}},
         {"metadata", {{"freshness_sla_seconds", 300}, {"min_rows_required", 5}}}}}},
      {"metrics",
       {{"generated_at", "2025-01-02T00:00:00Z"},
        {"dimensions",
         {{{"dimension", "daily_bars"},
           {"rows", 10},
           {"symbols", {"EURUSD"}},
           {"ingest_duration_seconds", 2.5},
           {"freshness_seconds", 120.0}}}}}}};
  ASSERT_TRUE(slos->apply({.topic = "telemetry.ingest.health", .time = kT0, .payload = report})
                  .has_value());
  const auto r = slos->report(kT0);
  EXPECT_EQ(r.status, SloStatus::kWarn);
  ASSERT_EQ(r.records.size(), 2u);
  const auto& summary = r.records[0];
  EXPECT_EQ(summary.name, "timescale_ingest");
  EXPECT_EQ(summary.message, "1 ingest SLO at risk");
  EXPECT_EQ(summary.observed["total_rows"], 10.0);
  EXPECT_EQ(summary.observed["health_status"], "warn");
  EXPECT_EQ(summary.alert_route, "pagerduty:data-backbone");
  EXPECT_EQ(summary.metadata["status_counts"], (json{{"warn", 1}}));
  const auto& check = r.records[1];
  EXPECT_EQ(check.name, "timescale_ingest.daily_bars");
  EXPECT_EQ(check.status, SloStatus::kWarn);
  EXPECT_EQ(check.alert_route, "pagerduty:test");
  EXPECT_EQ(check.metadata["missing_symbols"], (json{"GBPUSD"}));
  EXPECT_EQ(check.observed["ingest_duration_seconds"], 2.5);
  EXPECT_EQ(check.target, (json{{"freshness_seconds", 300}, {"min_rows", 5}}));

  const auto s = slos->snapshot(kT0);
  EXPECT_EQ(s.status, core::Status::kWarn);
  EXPECT_EQ(s.summary, "1 ingest SLO at risk");
  ASSERT_EQ(s.issues.size(), 1u);
  EXPECT_EQ(s.issues[0].code, "timescale_ingest.daily_bars");
  EXPECT_EQ(s.issues[0].message, "timescale_ingest.daily_bars: GBPUSD missing");
  EXPECT_EQ(s.issues[0].runbook, "docs/runbooks/ingest_slos.md");
  EXPECT_EQ(s.metadata["ingest_health"], "warn");
}

// test_slo.py "no checks and no metrics": met, "No ingest checks executed", no total_rows.
TEST(IngestSlos, NoChecksExecuted) {
  auto slos = IngestSlos::create({}).value();
  ASSERT_TRUE(slos->apply({.topic = "telemetry.ingest.health",
                           .time = kT0,
                           .payload = {{"status", "ok"}, {"checks", json::array()}}})
                  .has_value());
  const auto r = slos->report(kT0);
  EXPECT_EQ(r.status, SloStatus::kPass);
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].message, "No ingest checks executed");
  EXPECT_FALSE(r.records[0].observed.contains("total_rows"));
  const std::string md = to_markdown(r, "timescale_ingest", kT0);
  EXPECT_EQ(md,
            "**Operational SLOs – timescale_ingest** (status: pass, generated: "
            "2025-01-02T00:00:00Z)\n\n"
            "| SLO | Status | Message | Alert |\n| --- | --- | --- | --- |\n"
            "| timescale_ingest | pass | No ingest checks executed | pagerduty:data-backbone |\n"
            "\nMetadata:\n- **ingest_health**: ok\n");
}

// The spec passes a report whose own status is error when it has no checks (§11.2.9); here the
// unexplained status is a record of its own.
TEST(IngestSlos, UnexplainedReportStatusIsARecord) {
  auto slos = IngestSlos::create({}).value();
  ASSERT_TRUE(slos->apply({.topic = "telemetry.ingest.health",
                           .time = kT0,
                           .payload = {{"status", "error"}, {"checks", json::array()}}})
                  .has_value());
  auto r = slos->report(kT0);
  EXPECT_EQ(r.status, SloStatus::kFail);
  EXPECT_EQ(record(r, "timescale_ingest.health_report").message,
            "the ingest health report says error and no check explains it");
  // A failing check explains it: no extra record.
  ASSERT_TRUE(slos->apply({.topic = "telemetry.ingest.health",
                           .time = kT0,
                           .payload = {{"status", "error"},
                                       {"checks", {{{"dimension", "bars"}, {"status", "error"}}}}}})
                  .has_value());
  r = slos->report(kT0);
  EXPECT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[1].name, "timescale_ingest.bars");
}

// Check statuses: ok → pass, warn → warn, anything else → fail.
TEST(IngestSlos, CheckStatusMapping) {
  auto slos = IngestSlos::create({}).value();
  json checks = json::array();
  for (const char* st : {"ok", "warn", "error", "bogus"}) {
    checks.push_back({{"dimension", std::string("d_") + st}, {"status", st}, {"message", st}});
  }
  ASSERT_TRUE(slos->apply({.topic = "telemetry.ingest.health", .payload = {{"checks", checks}}})
                  .has_value());
  const auto r = slos->report(kT0);
  EXPECT_EQ(record(r, "timescale_ingest.d_ok").status, SloStatus::kPass);
  EXPECT_EQ(record(r, "timescale_ingest.d_warn").status, SloStatus::kWarn);
  EXPECT_EQ(record(r, "timescale_ingest.d_error").status, SloStatus::kFail);
  EXPECT_EQ(record(r, "timescale_ingest.d_bogus").status, SloStatus::kFail);
  EXPECT_EQ(r.records[0].message, "2 ingest SLOs breached");
}

// Freshness: the reported age plus the time since the report; warn strictly above the target
// (300s), fail strictly above the breach (2 × target).
TEST(IngestSlos, FreshnessAgesWithTimeAtExactBoundaries) {
  auto slos = IngestSlos::create({}).value();
  ASSERT_TRUE(slos->apply(make_sample("telemetry.ingest.freshness_seconds", "daily_bars", 100.0))
                  .has_value());
  const std::string name = "timescale_ingest.daily_bars.freshness";
  struct Case {
    int after;
    SloStatus want;
    const char* message;
  };
  const Case cases[] = {
      {0, SloStatus::kPass, "freshness 100s within target 300s"},
      {200, SloStatus::kPass, "freshness 300s within target 300s"},
      {201, SloStatus::kWarn, "freshness 301s above target 300s"},
      {500, SloStatus::kWarn, "freshness 600s above target 300s"},
      {501, SloStatus::kFail, "freshness 601s exceeds breach 600s"},
  };
  for (const auto& c : cases) {
    const auto r = slos->report(kT0 + seconds(c.after));
    EXPECT_EQ(record(r, name).status, c.want) << c.after;
    EXPECT_EQ(record(r, name).message, c.message) << c.after;
  }
  // The route falls back to the dimension's, then the service's.
  EXPECT_EQ(record(slos->report(kT0), name).alert_route, "slack:#ops-timescale");
}

TEST(IngestSlos, CompletenessAtExactBoundaries) {
  struct Case {
    double value;
    SloStatus want;
  };
  const Case cases[] = {{1.0, SloStatus::kPass},
                        {0.99, SloStatus::kPass},
                        {std::nextafter(0.99, 0.0), SloStatus::kWarn},
                        {0.95, SloStatus::kWarn},
                        {std::nextafter(0.95, 0.0), SloStatus::kFail},
                        {0.0, SloStatus::kFail}};
  for (const auto& c : cases) {
    auto slos = IngestSlos::create({}).value();
    ASSERT_TRUE(
        slos->apply(make_sample("telemetry.ingest.completeness", "trades", c.value)).has_value());
    EXPECT_EQ(record(slos->report(kT0), "timescale_ingest.trades.completeness").status, c.want)
        << c.value;
  }
  auto slos = IngestSlos::create({}).value();
  auto bad = slos->apply(make_sample("telemetry.ingest.completeness", "trades", 1.5));
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().field, "payload.value");
}

// Latency: nearest-rank p95 over the window; warn when p95 > target (5s), fail when p95 or the
// maximum > breach (1.5 × target = 7.5s), with a message that names what breached.
TEST(IngestSlos, LatencyPercentiles) {
  IngestSlosConfig cfg;
  cfg.latency_window = 20;
  const auto run = [&](std::vector<double> xs) {
    auto slos = IngestSlos::create(cfg).value();
    for (double x : xs) {
      EXPECT_TRUE(
          slos->apply(make_sample("telemetry.ingest.latency_seconds", "bars", x)).has_value());
    }
    return record(slos->report(kT0), "timescale_ingest.bars.latency");
  };
  // 20 values 1..20 scaled: p95 is the 19th smallest.
  std::vector<double> xs;
  for (int k = 1; k <= 20; ++k) xs.push_back(k * 0.25);  // 0.25 .. 5.0; p95 = 4.75
  auto r = run(xs);
  EXPECT_EQ(r.status, SloStatus::kPass);
  EXPECT_EQ(r.observed["p95_seconds"], 4.75);
  EXPECT_EQ(r.observed["p50_seconds"], 2.5);
  EXPECT_EQ(r.observed["max_seconds"], 5.0);
  xs[18] = 5.0;  // p95 exactly at the target: still met
  EXPECT_EQ(run(xs).status, SloStatus::kPass);
  xs[18] = 5.5;
  xs[19] = 6.0;
  r = run(xs);
  EXPECT_EQ(r.status, SloStatus::kWarn);
  EXPECT_EQ(r.message, "p95 5.50s above target 5.00s");
  xs[19] = 9.0;  // only the maximum breaches
  r = run(xs);
  EXPECT_EQ(r.status, SloStatus::kFail);
  EXPECT_EQ(r.message, "max 9.00s exceeds breach threshold 7.50s (p95 5.50s)");
  xs[18] = 8.0;
  EXPECT_EQ(run(xs).message, "p95 8.00s exceeds breach threshold 7.50s");
  // The window keeps only the latest 20 observations.
  xs.push_back(0.1);
  EXPECT_EQ(run(xs).observed["samples"], 20);
}

// Burn rate: the SRE workbook's pairs over recorded event counts.
TEST(IngestSlos, BurnRatePagesAndHonoursTheTrafficGuard) {
  auto slos = IngestSlos::create({}).value();
  // 5 errors out of 5 events: below the 10-event guard, not evaluated.
  ASSERT_TRUE(
      slos->apply(make_sample("telemetry.ingest.events", "trades", 5, kT0, {{"outcome", "error"}}))
          .has_value());
  auto r = record(slos->report(kT0), "timescale_ingest.trades.burn_rate");
  EXPECT_EQ(r.status, SloStatus::kPass);
  EXPECT_EQ(r.message, "burn rate not evaluated: fewer than 10 events in every window pair");
  // 980 good, 20 more bad over the next minute: 25/1005 ≈ 2.5% errors, 24.9× the budget of a
  // 99.9% objective in both windows of every pair → page.
  ASSERT_TRUE(slos->apply(make_sample("telemetry.ingest.events", "trades", 980, kT0 + seconds(30)))
                  .has_value());
  ASSERT_TRUE(slos->apply(make_sample("telemetry.ingest.events", "trades", 20, kT0 + seconds(60),
                                      {{"outcome", "error"}}))
                  .has_value());
  r = record(slos->report(kT0 + seconds(60)), "timescale_ingest.trades.burn_rate");
  EXPECT_EQ(r.status, SloStatus::kFail);
  EXPECT_EQ(r.message,
            "error budget burning 24.9x over 1h and 24.9x over 5m (threshold 14.4x, page)");
  EXPECT_EQ(r.observed["pairs"][0]["long_window"]["errors"], 25);
  const auto s = slos->snapshot(kT0 + seconds(60));
  EXPECT_EQ(s.status, core::Status::kFail);
  EXPECT_EQ(s.issues.at(0).code, "timescale_ingest.trades.burn_rate");
  EXPECT_EQ(s.issues.at(0).severity, core::Severity::kCritical);
}

TEST(IngestSlos, PerDimensionTargets) {
  IngestSlosConfig cfg;
  cfg.dimensions["daily_bars"] = {.freshness_target = std::chrono::hours(26)};
  auto slos = IngestSlos::create(cfg).value();
  ASSERT_TRUE(slos->apply(make_sample("telemetry.ingest.freshness_seconds", "daily_bars", 3600.0))
                  .has_value());
  ASSERT_TRUE(
      slos->apply(make_sample("telemetry.ingest.freshness_seconds", "trades", 3600.0)).has_value());
  const auto r = slos->report(kT0);
  EXPECT_EQ(record(r, "timescale_ingest.daily_bars.freshness").status, SloStatus::kPass);
  EXPECT_EQ(record(r, "timescale_ingest.trades.freshness").status, SloStatus::kFail);
}

TEST(IngestSlos, RefusedPayloads) {
  auto slos = IngestSlos::create({.max_dimensions = 1}).value();
  struct Case {
    core::TelemetryEvent event;
    const char* field;
  };
  const Case cases[] = {
      {make_sample("telemetry.ingest.events", "t", 1.5), "payload.value"},
      {make_sample("telemetry.ingest.events", "t", 3, kT0, {{"outcome", "maybe"}}),
       "payload.labels.outcome"},
      {make_sample("telemetry.ingest.latency_seconds", "t", -1), "payload.value"},
      {make_sample("telemetry.ingest.latency_seconds", "Bad Name", 1), "payload.series"},
      {{.topic = "telemetry.ingest.health", .payload = {{"checks", "none"}}}, "payload.checks"},
      {{.topic = "telemetry.ingest.health", .payload = {{"checks", {{{"status", "ok"}}}}}},
       "payload.checks[0].dimension"},
  };
  for (const auto& c : cases) {
    auto ok = slos->apply(c.event);
    ASSERT_FALSE(ok.has_value()) << c.field;
    EXPECT_EQ(ok.error().field, c.field);
  }
  EXPECT_FALSE(slos->active());
  ASSERT_TRUE(slos->apply(make_sample("telemetry.ingest.latency_seconds", "a", 1)).has_value());
  auto full = slos->apply(make_sample("telemetry.ingest.latency_seconds", "b", 1));
  ASSERT_FALSE(full.has_value());
  EXPECT_EQ(full.error().code, "too_many_dimensions");
}

TEST(IngestSlos, ConfigValidation) {
  struct Case {
    IngestSlosConfig config;
    const char* field;
  };
  IngestSlosConfig bad_dim;
  bad_dim.dimensions["bars"] = {.completeness_target = 0.9, .completeness_breach = 0.95};
  IngestSlosConfig bad_burn;
  bad_burn.burn_rate.objective = 1.0;
  const Case cases[] = {
      {{.service = "Timescale Ingest"}, "service"},
      {{.targets = {.freshness_target = core::Duration::zero()}}, "freshness_target"},
      {{.targets = {.freshness_breach = std::chrono::minutes(1)}}, "freshness_breach"},
      {{.targets = {.completeness_target = 1.5}}, "completeness_target"},
      {{.targets = {.latency_breach_p95 = std::chrono::seconds(1)}}, "latency_breach_p95"},
      {bad_dim, "dimensions.bars.completeness_breach"},
      {{.latency_window = 0}, "latency_window"},
      {bad_burn, "burn_rate.objective"},
  };
  for (const auto& c : cases) {
    auto ok = validate(c.config);
    ASSERT_FALSE(ok.has_value()) << c.field;
    EXPECT_EQ(ok.error().field, c.field);
  }
  EXPECT_TRUE(validate(IngestSlosConfig{}).has_value());
}

}  // namespace
}  // namespace opsready::components
