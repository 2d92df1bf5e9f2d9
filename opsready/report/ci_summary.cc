#include "opsready/report/ci_summary.h"

#include "opsready/core/text.h"
#include "opsready/core/time.h"

namespace opsready::report {
namespace {

using readiness::GateDecision;

std::string_view icon(core::Status s) {
  switch (s) {
    case core::Status::kOk:
      return "✅";
    case core::Status::kWarn:
      return "⚠️";
    case core::Status::kFail:
      return "❌";
  }
  return "❌";
}

std::string_view icon(GateDecision::Decision d) {
  switch (d) {
    case GateDecision::Decision::kPass:
      return "✅";
    case GateDecision::Decision::kWarn:
      return "⚠️";
    case GateDecision::Decision::kBlock:
      return "⛔";
  }
  return "⛔";
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

}  // namespace

std::string truncate_with_marker(const std::string& text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  auto marker = [](std::size_t omitted) {
    return "\n> ✂️ **Summary truncated:** " + std::to_string(omitted) +
           " bytes left out to stay under GitHub's 1 MiB step-summary limit. Run `opsready "
           "snapshot --format markdown` for the full report.\n";
  };
  // The marker's length depends on the number in it; reserve for the widest number.
  const std::size_t reserve = marker(text.size()).size();
  if (max_bytes <= reserve) return marker(text.size()).substr(0, max_bytes);
  std::size_t cut = text.rfind('\n', max_bytes - reserve);
  if (cut == std::string::npos) cut = 0;
  return text.substr(0, cut) + "\n" + marker(text.size() - cut);
}

std::string ci_summary_markdown(const readiness::ReadinessSnapshot& s, std::size_t max_bytes,
                                std::span<const ReportSection> reports) {
  std::string md;
  md += "## ";
  md += icon(s.gate.decision);
  md += " Operational readiness: " + upper(core::to_string(s.status)) + " — gate " +
        upper(readiness::to_string(s.gate.decision)) + "\n\n";
  const auto count = [&](core::Status st) {
    const auto it = s.counts.find(st);
    return it == s.counts.end() ? 0 : it->second;
  };
  md += "Generated at `" + core::format_rfc3339(s.generated_at) + "` · " +
        std::to_string(s.components.size()) +
        " components: " + std::to_string(count(core::Status::kOk)) + " ok, " +
        std::to_string(count(core::Status::kWarn)) + " warn, " +
        std::to_string(count(core::Status::kFail)) + " fail\n\n";

  if (!s.gate.blocking_reasons.empty()) {
    md += "### Blocking\n\n";
    for (const auto& r : s.gate.blocking_reasons) {
      md += "- ⛔ `" + r.code + "` " + core::markdown_inline(r.message) + "\n";
    }
    md += "\n";
  }
  if (!s.gate.warnings.empty()) {
    md += "### Warnings\n\n";
    for (const auto& r : s.gate.warnings)
      md += "- ⚠️ `" + r.code + "` " + core::markdown_inline(r.message) + "\n";
    md += "\n";
  }
  if (!s.components.empty()) {
    md += "| | Component | Status | Summary |\n|---|---|---|---|\n";
    for (const auto& c : s.components) {
      md += "| ";
      md += icon(c.status);
      md += " | `" + core::markdown_inline(c.component) + "` | " +
            std::string(core::to_string(c.status)) + " | " + core::markdown_inline(c.summary) +
            " |\n";
    }
    md += "\n";
  }
  if (!s.issues.empty()) {
    md += "<details><summary>Issues (" + std::to_string(s.issues.size()) +
          ")</summary>\n\n| Component | Code | Severity | Message | Runbook |\n"
          "|---|---|---|---|---|\n";
    for (const auto& i : s.issues) {
      md += "| `" + core::markdown_inline(i.component) + "` | `" +
            core::markdown_inline(i.issue.code) + "` | " +
            std::string(core::to_string(i.issue.severity)) + " | " +
            core::markdown_inline(i.issue.message) + " | " +
            (i.issue.runbook.empty() ? "" : core::markdown_inline(i.issue.runbook)) + " |\n";
    }
    md += "\n</details>\n";
  }
  for (const ReportSection& r : reports) {
    // Each report as the component renders it; a blank line after <summary> lets GitHub
    // render the Markdown inside the <details>.
    md += "\n<details><summary>Report: <code>" + core::markdown_inline(r.component) +
          "</code></summary>\n\n" + r.markdown;
    if (!r.markdown.empty() && r.markdown.back() != '\n') md += "\n";
    md += "\n</details>\n";
  }
  return truncate_with_marker(md, max_bytes);
}

}  // namespace opsready::report
