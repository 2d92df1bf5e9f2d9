#include "opsready/report/ci_summary.h"

#include <algorithm>
#include <vector>

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

std::string upper(std::string_view s) { return core::to_upper(s); }

std::string label_of(const nlohmann::json& alert, const char* name) {
  const auto labels = alert.find("labels");
  if (labels == alert.end() || !labels->is_object()) return "";
  const auto it = labels->find(name);
  return it != labels->end() && it->is_string() ? it->get<std::string>() : "";
}

std::string string_at(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return "";
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

core::Status status_of(const nlohmann::json& j) {
  const std::string s = string_at(j, "status");
  if (s == "fail") return core::Status::kFail;
  if (s == "warn") return core::Status::kWarn;
  return core::Status::kOk;
}

// At most this many active alerts are listed; the rest are counted.
constexpr std::size_t kMaxAlertRows = 50;

void append_alerts(std::string& md, const nlohmann::json& alerts) {
  if (!alerts.is_array()) return;
  md += "### Active alerts (" + std::to_string(alerts.size()) + ")\n\n";
  if (alerts.empty()) {
    md += "No alert is firing (silenced and inhibited ones aside).\n\n";
    return;
  }
  md += "| Alert | Severity | Component | Since | Summary |\n|---|---|---|---|---|\n";
  std::size_t n = 0;
  for (const auto& a : alerts) {
    if (n++ == kMaxAlertRows) break;
    const auto annotations =
        a.is_object() ? a.value("annotations", nlohmann::json::object()) : nlohmann::json::object();
    md += "| `" + core::markdown_inline(label_of(a, "alertname")) + "` | " +
          core::markdown_inline(label_of(a, "severity")) + " | " +
          core::markdown_inline(label_of(a, "component")) + " | " +
          core::markdown_inline(string_at(a, "startsAt")) + " | " +
          core::markdown_inline(string_at(annotations, "summary")) + " |\n";
  }
  if (alerts.size() > kMaxAlertRows) {
    md += "\n… and " + std::to_string(alerts.size() - kMaxAlertRows) + " more.\n";
  }
  md += "\n";
}

void append_dashboard(std::string& md, const nlohmann::json& dashboard) {
  if (!dashboard.is_object() || !dashboard.contains("panels") || !dashboard["panels"].is_array()) {
    return;
  }
  md += "### Dashboard panels\n\n| | Panel | Status | Headline |\n|---|---|---|---|\n";
  for (const auto& p : dashboard["panels"]) {
    const core::Status st = status_of(p);
    md += "| ";
    md += icon(st);
    md += " | " + core::markdown_inline(string_at(p, "name")) + " | " +
          std::string(core::to_string(st)) + " | " +
          core::markdown_inline(string_at(p, "headline")) + " |\n";
  }
  md += "\n";
}

std::string metadata_value(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

}  // namespace

std::string component_markdown(const core::ComponentSnapshot& c) {
  std::string md = "**Status:** " + upper(core::to_string(c.status)) + " · observed at `" +
                   core::format_rfc3339(c.observed_at) + "`\n\n" +
                   core::markdown_inline(c.summary) + "\n";
  if (!c.issues.empty()) {
    md += "\n";
    for (const auto& i : c.issues) {
      md += "- " + std::string(icon(static_cast<core::Status>(core::rank(i.severity)))) + " `" +
            core::markdown_inline(i.code) + "` " + core::markdown_inline(i.message) +
            (i.runbook.empty() ? "" : " ([runbook](" + i.runbook + "))") + "\n";
    }
  }
  if (c.metadata.is_object()) {
    std::string rows;
    for (const auto& [key, value] : c.metadata.items()) {
      if (value.is_structured()) continue;  // nested detail stays in the JSON report
      rows += "| `" + core::markdown_inline(key) + "` | " +
              core::markdown_inline(metadata_value(value)) + " |\n";
    }
    if (!rows.empty()) md += "\n| Key | Value |\n|---|---|\n" + rows;
  }
  return md;
}

std::string readiness_chart(std::span<const ReadinessPoint> history, std::size_t max_points) {
  if (history.size() < 2 || max_points < 2) return "";
  const core::TimePoint first = history.front().at;
  const core::TimePoint last = history.back().at;
  const std::size_t slices = std::min(max_points, history.size());
  const auto span = std::max<core::Duration>(last - first, core::Duration(1));
  std::vector<int> worst(slices, -1);
  for (const ReadinessPoint& p : history) {
    auto i =
        static_cast<std::size_t>(static_cast<double>((p.at - first).count()) /
                                 static_cast<double>(span.count()) * static_cast<double>(slices));
    i = std::min(i, slices - 1);
    worst[i] = std::max(worst[i], static_cast<int>(core::rank(p.status)));
  }
  // A slice without a point carries the status before it.
  for (std::size_t i = 1; i < slices; ++i) {
    if (worst[i] < 0) worst[i] = worst[i - 1];
  }
  std::string labels;
  std::string values;
  for (std::size_t i = 0; i < slices; ++i) {
    const core::TimePoint at =
        first + std::chrono::duration_cast<core::Duration>(span * static_cast<double>(i) /
                                                           static_cast<double>(slices));
    const std::string t = core::format_rfc3339(at);  // YYYY-MM-DDTHH:MM:SSZ
    labels += (i ? ", \"" : "\"") + t.substr(11, 5) + "\"";
    values += (i ? ", " : "") + std::to_string(std::max(worst[i], 0));
  }
  return "```mermaid\nxychart-beta\n  title \"Readiness " + core::format_rfc3339(first) + " to " +
         core::format_rfc3339(last) + " (0 ok, 1 warn, 2 fail)\"\n  x-axis [" + labels +
         "]\n  y-axis \"status\" 0 --> 2\n  line [" + values + "]\n```\n";
}

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
                                const CiSummaryParts& parts) {
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
  if (const std::string chart = readiness_chart(parts.history); !chart.empty()) {
    md += "### Readiness over the run\n\n" + chart + "\n";
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
  append_alerts(md, parts.alerts);
  append_dashboard(md, parts.dashboard);
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
  for (const ReportSection& r : parts.reports) {
    // Each report as the component renders it; a blank line after <summary> lets GitHub
    // render the Markdown inside the <details>.
    md += "\n<details><summary>Report: <code>" + core::markdown_inline(r.component) +
          "</code></summary>\n\n" + r.markdown;
    if (!r.markdown.empty() && r.markdown.back() != '\n') md += "\n";
    md += "\n</details>\n";
  }
  // Every other component, from its snapshot.
  for (const auto& c : s.components) {
    const bool reported = std::ranges::any_of(
        parts.reports, [&](const ReportSection& r) { return r.component == c.component; });
    if (reported) continue;
    md += "\n<details><summary>" + std::string(icon(c.status)) + " <code>" +
          core::markdown_inline(c.component) + "</code></summary>\n\n" + component_markdown(c) +
          "\n</details>\n";
  }
  return truncate_with_marker(md, max_bytes);
}

}  // namespace opsready::report
