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

#include <nlohmann/json.hpp>

#include "opsready/readiness/readiness.h"

namespace opsready::report {

inline constexpr std::size_t kGithubStepSummaryLimit = 1024 * 1024;

// A component's own Markdown report (an evaluated document: `opsready ci-summary --document`).
struct ReportSection {
  std::string component;
  std::string markdown;
};

// One point of readiness over the run's window (GET /api/v1/readiness/history).
struct ReadinessPoint {
  core::TimePoint at{};
  core::Status status = core::Status::kOk;
};

// What a summary holds besides the snapshot; each part is left out when empty.
struct CiSummaryParts {
  // Each component's own Markdown report (evaluated documents), in the given order; every
  // other component of the snapshot gets a section made from its snapshot (component_markdown).
  std::span<const ReportSection> reports;
  // Readiness over the run, oldest first: a Mermaid chart (GitHub renders it in a summary).
  std::span<const ReadinessPoint> history;
  // The active alerts, as GET /api/v2/alerts?active=true&silenced=false&inhibited=false
  // answers (an array of gettableAlerts); null when not known.
  nlohmann::json alerts;
  // The dashboard (GET /api/v1/dashboard: the panels with risk, latency and sensory status);
  // null when not known.
  nlohmann::json dashboard;
};

// The summary: headline, blocking reasons and warnings, readiness chart, components, active
// alerts, dashboard panels, issues, then one collapsible section per component.
[[nodiscard]] std::string ci_summary_markdown(const readiness::ReadinessSnapshot& snapshot,
                                              std::size_t max_bytes,
                                              const CiSummaryParts& parts = {});

// A component's section made from its snapshot: status, summary, observed at, its issues and
// the scalar values of its metadata.
[[nodiscard]] std::string component_markdown(const core::ComponentSnapshot& c);

// The Mermaid xychart of readiness over `history` (0 ok, 1 warn, 2 fail; the worst status of
// each of at most `max_points` equal slices of the window), or "" with fewer than two points.
[[nodiscard]] std::string readiness_chart(std::span<const ReadinessPoint> history,
                                          std::size_t max_points = 48);

// Cuts `text` at a line boundary so that it plus the marker fits `max_bytes`.
[[nodiscard]] std::string truncate_with_marker(const std::string& text, std::size_t max_bytes);

}  // namespace opsready::report
