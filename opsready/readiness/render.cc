// Human-facing renderings of a ReadinessSnapshot: Markdown (reports, CI step summaries) and
// application/health+json. Both are deterministic: the same snapshot gives the same bytes.

#include <string>

#include "opsready/core/text.h"
#include "opsready/core/time.h"
#include "opsready/readiness/readiness.h"

namespace opsready::readiness {
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::string plural(std::size_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

int count_of(const ReadinessSnapshot& s, Status st) {
  const auto it = s.counts.find(st);
  return it == s.counts.end() ? 0 : it->second;
}

std::string_view health_word(Status s) {
  switch (s) {
    case Status::kOk:
      return "pass";
    case Status::kWarn:
      return "warn";
    case Status::kFail:
      return "fail";
  }
  return "fail";
}

void render_reasons(std::string& out, std::string_view title,
                    const std::vector<GateReason>& reasons) {
  if (reasons.empty()) return;
  out += "\n### ";
  out += title;
  out += "\n\n";
  for (const auto& r : reasons) {
    out += "- `" + r.code + "`: " + core::markdown_inline(r.message) + "\n";
  }
}

}  // namespace

std::string to_markdown(const ReadinessSnapshot& s) {
  std::string out;
  out += "# Operational readiness: " + upper(core::to_string(s.status)) +
         " (gate: " + std::string(to_string(s.gate.decision)) + ")\n\n";
  out += "Generated at: " + core::format_rfc3339(s.generated_at) + "\n\n";
  out += "Components: " + std::to_string(s.components.size()) + " (ok " +
         std::to_string(count_of(s, Status::kOk)) + ", warn " +
         std::to_string(count_of(s, Status::kWarn)) + ", fail " +
         std::to_string(count_of(s, Status::kFail)) + ")\n\n";

  if (s.components.empty()) {
    out += "No components reported.\n";
  } else {
    out += "| Component | Status | Observed at | Summary |\n";
    out += "| --- | --- | --- | --- |\n";
    for (const auto& c : s.components) {
      out += "| " + core::markdown_inline(c.component) + " | " +
             std::string(core::to_string(c.status)) + " | " + core::format_rfc3339(c.observed_at) +
             " | " + core::markdown_inline(c.summary) + " |\n";
    }
  }

  out += "\n## Issues\n\n";
  if (s.issues.empty()) {
    out += "No issues.\n";
  } else {
    out += "| Component | Code | Severity | Message | Runbook |\n";
    out += "| --- | --- | --- | --- | --- |\n";
    for (const auto& ci : s.issues) {
      const std::string runbook =
          ci.issue.runbook.empty() ? ""
                                   : "[runbook](" + core::markdown_inline(ci.issue.runbook) + ")";
      out += "| " + core::markdown_inline(ci.component) + " | " +
             core::markdown_inline(ci.issue.code) + " | " +
             std::string(core::to_string(ci.issue.severity)) + " | " +
             core::markdown_inline(ci.issue.message) + " | " + runbook + " |\n";
    }
  }

  out += "\n## Gate: " + std::string(to_string(s.gate.decision)) + "\n";
  if (s.gate.blocking_reasons.empty() && s.gate.warnings.empty()) {
    out += "\nNo blocking reasons or warnings.\n";
  }
  render_reasons(out, "Blocking reasons", s.gate.blocking_reasons);
  render_reasons(out, "Warnings", s.gate.warnings);
  return out;
}

nlohmann::json to_health_json(const ReadinessSnapshot& s, std::string_view version) {
  nlohmann::json checks = nlohmann::json::object();
  for (const auto& c : s.components) {
    checks[c.component + ":status"].push_back({{"componentId", c.component},
                                               {"componentType", "component"},
                                               {"status", health_word(c.status)},
                                               {"time", core::format_rfc3339(c.observed_at)},
                                               {"output", c.summary}});
  }
  nlohmann::json j = {{"status", health_word(s.status)},
                      {"version", version},
                      {"description", "opsready operational readiness"},
                      {"checks", std::move(checks)}};
  if (s.status != Status::kOk) {
    j["output"] = "operational readiness " + std::string(core::to_string(s.status)) + "; gate " +
                  std::string(to_string(s.gate.decision)) + ": " +
                  plural(s.gate.blocking_reasons.size(), "blocking reason", "blocking reasons") +
                  ", " + plural(s.gate.warnings.size(), "warning", "warnings");
  }
  return j;
}

}  // namespace opsready::readiness
