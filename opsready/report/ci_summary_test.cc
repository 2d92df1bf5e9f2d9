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
  const std::string md = ci_summary_markdown(sample(1), kGithubStepSummaryLimit, reports);
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

}  // namespace
}  // namespace opsready::report
