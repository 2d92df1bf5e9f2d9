#pragma once
// CI step summary: GitHub-flavoured Markdown of a readiness snapshot and its gate, for
// `$GITHUB_STEP_SUMMARY`.
//
//   std::string md = ci_summary_markdown(snapshot, kGithubStepSummaryLimit);
//
// GitHub refuses a step summary over 1 MiB (and drops the step's summary upload), so the
// text is cut at a line boundary to fit `max_bytes`, with a visible marker saying how much
// was left out. Pure function; thread-safe.

#include <cstddef>
#include <span>
#include <string>

#include "opsready/readiness/readiness.h"

namespace opsready::report {

inline constexpr std::size_t kGithubStepSummaryLimit = 1024 * 1024;

// A component's own Markdown report (an evaluated document: `opsready ci-summary --document`).
struct ReportSection {
  std::string component;
  std::string markdown;
};

// `reports` follow the tables, one collapsible section per component, in the given order.
[[nodiscard]] std::string ci_summary_markdown(const readiness::ReadinessSnapshot& snapshot,
                                              std::size_t max_bytes,
                                              std::span<const ReportSection> reports = {});

// Cuts `text` at a line boundary so that it plus the marker fits `max_bytes`.
[[nodiscard]] std::string truncate_with_marker(const std::string& text, std::size_t max_bytes);

}  // namespace opsready::report
