#include "opsready/core/status.h"

#include <string>

#include "opsready/core/text.h"

namespace opsready::core {
namespace {

struct Word {
  std::string_view word;
  Status status;
};

// Every vocabulary in spec section 0.1, rank-preserving.
constexpr std::array<Word, 15> kStatusWords = {{
    {"ok", Status::kOk},
    {"pass", Status::kOk},
    {"met", Status::kOk},
    {"normal", Status::kOk},
    {"ready", Status::kOk},
    {"warn", Status::kWarn},
    {"at_risk", Status::kWarn},
    {"degraded", Status::kWarn},
    {"fail", Status::kFail},
    {"breached", Status::kFail},
    {"alert", Status::kFail},
    {"error", Status::kFail},
    {"blocked", Status::kFail},
    {"warning", Status::kWarn},
    {"passed", Status::kOk},
}};

}  // namespace

std::string_view to_string(Status s) {
  switch (s) {
    case Status::kOk:
      return "ok";
    case Status::kWarn:
      return "warn";
    case Status::kFail:
      return "fail";
  }
  return "fail";
}

std::string_view to_string(Severity s) {
  switch (s) {
    case Severity::kInfo:
      return "info";
    case Severity::kWarning:
      return "warning";
    case Severity::kCritical:
      return "critical";
  }
  return "critical";
}

Result<Status> parse_status(std::string_view word) {
  const std::string w = to_lower(trim(word));
  for (const auto& entry : kStatusWords) {
    if (entry.word == w) return entry.status;
  }
  return fail("unknown_status_word", "unknown status word '" + std::string(word) +
                                         "' (expected ok/warn/fail or an equivalent: "
                                         "pass, met/at_risk/breached, normal/alert, error, "
                                         "ready/degraded/blocked)");
}

Result<Severity> parse_severity(std::string_view word) {
  const std::string w = to_lower(trim(word));
  if (w == "info") return Severity::kInfo;
  if (w == "warning" || w == "warn") return Severity::kWarning;
  if (w == "critical") return Severity::kCritical;
  return fail("unknown_severity_word", "unknown severity word '" + std::string(word) +
                                           "' (expected info, warning or critical)");
}

}  // namespace opsready::core
