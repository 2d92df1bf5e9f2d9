#pragma once
// `opsready evaluate KIND --input FILE`: grades one document of a report-driven component for
// CI — the component's evaluator, then the one readiness gate over that component — and exits
// as `opsready gate` does (docs/cli.md).
//
//   EvaluateOptions o{.kind = "system-validation", .input = "system_validation_report.json"};
//   int code = run_evaluate(o, std::cout, std::cerr);  // 0 pass, 1 warn (--strict), 2 block
//
// KIND → component: system-validation → system_validation, incident-response →
// incident_response, security, backups, failover-drill → failover_drill, cross-region →
// cross_region_failover, disaster-recovery → disaster_recovery, professional-readiness →
// professional_readiness, cache, nats-consumer → nats_consumer. The document is either form the
// component accepts (the original platform's input report or its evaluated snapshot). --history
// FILE (a JSON array or JSON lines of earlier documents, oldest first) is for components whose
// rules use history (system-validation). Thresholds come from --config FILE (its `detectors`
// and `gate` sections), else the embedded defaults.
//
// Output: --format json (default) {kind, component, report, gate}: the component snapshot, the
// spec's as_dict of the evaluation and the gate decision; --format markdown: the component's
// Markdown, then the gate. Exit codes: 0 pass (and warn without --strict), 1 warn with
// --strict, 2 block, 64 usage (unknown kind, bad --now), 65 a document refused (the message
// names the offending field) or a bad configuration, 66 an unreadable input file.

#include <expected>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opsready/app/config.h"
#include "opsready/components/report.h"

namespace opsready::app {

struct EvaluateOptions {
  std::string kind;
  std::filesystem::path input;
  std::optional<std::filesystem::path> history;
  std::optional<std::filesystem::path> config;
  std::optional<std::string> now;  // RFC 3339; default: the current time
  std::string format = "json";     // json | markdown
  bool strict = false;
};

// The KIND words, in documentation order, and the component each names ("" when unknown).
[[nodiscard]] const std::vector<std::string_view>& evaluate_kinds();
[[nodiscard]] std::string_view component_of_kind(std::string_view kind);

[[nodiscard]] int run_evaluate(const EvaluateOptions& options, std::ostream& out,
                               std::ostream& err);

// Why a document could not be evaluated, with the exit code it means (64, 65 or 66).
struct DocumentError {
  int exit_code = 65;
  std::string message;  // names the file and, for a refused document, the offending field
};

// Evaluates the document in `input` as `kind` with the thresholds of `cfg.detectors`, after
// the earlier documents of `history` (run_evaluate and `--document KIND=FILE` of snapshot,
// gate and ci-summary).
[[nodiscard]] std::expected<components::Evaluated, DocumentError> evaluate_document(
    std::string_view kind, const std::filesystem::path& input,
    const std::optional<std::filesystem::path>& history, const Config& cfg, core::TimePoint now);

}  // namespace opsready::app
