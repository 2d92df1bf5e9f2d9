#include "opsready/report/ci_summary.h"

#include <gtest/gtest.h>

#include "opsready/core/text.h"
#include "opsready/core/time.h"

namespace opsready::report {
namespace {

readiness::ReadinessSnapshot sample(int components) {
  std::vector<core::ComponentSnapshot> in;
  const auto now = core::parse_rfc3339("2025-01-02T00:00:00Z").value();
  for (int i = 0; i < components; ++i) {
    in.push_back({.component = "component_" + std::to_string(i),
                  .status = i % 7 == 0 ? core::Status::kFail : core::Status::kOk,
                  .summary = "summary | with pipe",
                  .observed_at = now,
                  .issues = {{.code = "c", .severity = core::Severity::kWarning, .message = "m"}},
                  .metadata = nlohmann::json::object()});
  }
  return readiness::aggregate(in, readiness::GatePolicy{}, now);
}

TEST(CiSummary, ShowsDecisionComponentsAndEscapesPipes) {
  const std::string md = ci_summary_markdown(sample(3), kGithubStepSummaryLimit);
  EXPECT_NE(md.find("Operational readiness: FAIL"), std::string::npos);
  EXPECT_NE(md.find("gate BLOCK"), std::string::npos);
  EXPECT_NE(md.find("`component_component_0_fail`"), std::string::npos);
  EXPECT_NE(md.find("summary \\| with pipe"), std::string::npos);
  EXPECT_EQ(md.find("Summary truncated"), std::string::npos);
}

TEST(CiSummary, AppendsEachComponentsReportInItsOwnSection) {
  const std::vector<ReportSection> reports = {
      {.component = "system_validation", .markdown = "- **System validation – status: fail**"},
      {.component = "backups", .markdown = "**Backup readiness – timescale_backups**\n"}};
  const std::string md =
      ci_summary_markdown(sample(1), kGithubStepSummaryLimit, {.reports = reports});
  const auto sv =
      md.find("<summary>Report: <code>system_validation</code></summary>\n\n- **System");
  const auto bk = md.find("<summary>Report: <code>backups</code></summary>");
  ASSERT_NE(sv, std::string::npos) << md;
  ASSERT_NE(bk, std::string::npos);
  EXPECT_LT(sv, bk);
  EXPECT_LT(md.find("| Component | Status | Summary |"), sv);
}

TEST(CiSummary, CutsAtTheLimitWithAVisibleMarker) {
  for (std::size_t limit : {2000u, 4096u, 65536u}) {
    const std::string md = ci_summary_markdown(sample(5000), limit);
    EXPECT_LE(md.size(), limit);
    EXPECT_NE(md.find("Summary truncated"), std::string::npos);
    EXPECT_TRUE(core::is_valid_utf8(md));
  }
  const std::string big = ci_summary_markdown(sample(40000), kGithubStepSummaryLimit);
  EXPECT_LE(big.size(), kGithubStepSummaryLimit);
  EXPECT_GT(big.size(), kGithubStepSummaryLimit - 4096);
}

TEST(CiSummary, TruncateKeepsShortText) {
  EXPECT_EQ(truncate_with_marker("abc\n", 10), "abc\n");
  const std::string cut = truncate_with_marker(std::string(100, 'x') + "\n" + "tail\n", 1000);
  EXPECT_EQ(cut.size(), 106u);
}

TEST(CiSummary, ChartsReadinessOverTheRunWithTheWorstStatusOfEachSlice) {
  const auto t0 = core::parse_rfc3339("2025-01-02T10:00:00Z").value();
  using std::chrono::minutes;
  const std::vector<ReadinessPoint> history = {{t0, core::Status::kOk},
                                               {t0 + minutes(10), core::Status::kFail},
                                               {t0 + minutes(11), core::Status::kOk},
                                               {t0 + minutes(30), core::Status::kWarn}};
  const std::string chart = readiness_chart(history, 3);
  // Slices of 10 minutes: [10:00, 10:10) ok, [10:10, 10:20) fail then ok → fail, the last warn.
  EXPECT_NE(chart.find("x-axis [\"10:00\", \"10:10\", \"10:20\"]"), std::string::npos) << chart;
  EXPECT_NE(chart.find("line [0, 2, 1]"), std::string::npos) << chart;
  EXPECT_EQ(chart.rfind("```mermaid\nxychart-beta\n", 0), 0u);
  EXPECT_EQ(readiness_chart(std::span(history).first(1)), "");

  const std::string md =
      ci_summary_markdown(sample(1), kGithubStepSummaryLimit, {.history = history});
  EXPECT_NE(md.find("### Readiness over the run"), std::string::npos);
}

TEST(CiSummary, ListsActiveAlertsAndDashboardPanelsAndASectionPerComponent) {
  const nlohmann::json alerts = nlohmann::json::parse(R"([
    {"labels": {"alertname": "OpsreadyComponentNotOk", "severity": "critical",
                "component": "risk"},
     "annotations": {"summary": "risk is fail"}, "startsAt": "2025-01-02T00:00:00Z"}])");
  const nlohmann::json dashboard = nlohmann::json::parse(R"({"status": "fail", "panels": [
    {"name": "Risk & exposure", "status": "fail", "headline": "parametric_var 12,000.00"},
    {"name": "Latency & throughput", "status": "warn", "headline": "p99 880ms"}]})");
  const std::string md = ci_summary_markdown(sample(2), kGithubStepSummaryLimit,
                                             {.alerts = alerts, .dashboard = dashboard});
  EXPECT_NE(md.find("### Active alerts (1)"), std::string::npos) << md;
  EXPECT_NE(md.find("| `OpsreadyComponentNotOk` | critical | risk | 2025-01-02T00:00:00Z | risk "
                    "is fail |"),
            std::string::npos);
  EXPECT_NE(md.find("Risk & exposure | fail | parametric_var 12,000.00 |"), std::string::npos)
      << md;
  // Both components get a section from their snapshot, with their issue.
  EXPECT_NE(md.find("<code>component_0</code></summary>"), std::string::npos);
  EXPECT_NE(md.find("<code>component_1</code></summary>"), std::string::npos);
  EXPECT_NE(md.find("- ⚠️ `c` m"), std::string::npos);
  // Without alerts known, no alert section at all; an empty list says so.
  EXPECT_EQ(ci_summary_markdown(sample(1), kGithubStepSummaryLimit).find("Active alerts"),
            std::string::npos);
  EXPECT_NE(
      ci_summary_markdown(sample(1), kGithubStepSummaryLimit, {.alerts = nlohmann::json::array()})
          .find("No alert is firing"),
      std::string::npos);
}

TEST(CiSummary, ComponentMarkdownShowsScalarMetadataOnly) {
  core::ComponentSnapshot c{.component = "backups",
                            .status = core::Status::kWarn,
                            .summary = "last backup 30h ago",
                            .observed_at = core::parse_rfc3339("2025-01-02T00:00:00Z").value(),
                            .issues = {},
                            .metadata = {{"age_hours", 30}, {"policy", {{"interval", 24}}}}};
  const std::string md = component_markdown(c);
  EXPECT_NE(md.find("**Status:** WARN"), std::string::npos);
  EXPECT_NE(md.find("| `age_hours` | 30 |"), std::string::npos) << md;
  EXPECT_EQ(md.find("interval"), std::string::npos);
}

}  // namespace
}  // namespace opsready::report
