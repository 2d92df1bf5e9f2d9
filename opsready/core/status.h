#pragma once
// Status and Severity: the two three-level lattices every opsready component speaks.
//
//   Status s = escalate(Status::kOk, Status::kWarn);  // kWarn: escalation only goes up
//   Severity sev = severity_for(s);                    // kWarning
//   auto parsed = parse_status("breached");            // Status::kFail
//
// The spec's modules use several wire vocabularies for the same ranks (pass/warn/fail,
// met/at_risk/breached, normal/warn/alert, ok/warn/error, ready/degraded/blocked); they all
// parse into Status, preserving rank. Unknown words are refused with an error naming the word.

#include <array>
#include <cstdint>
#include <string_view>

#include "opsready/core/error.h"

namespace opsready::core {

enum class Status : std::uint8_t { kOk = 0, kWarn = 1, kFail = 2 };
enum class Severity : std::uint8_t { kInfo = 0, kWarning = 1, kCritical = 2 };

inline constexpr std::array<Status, 3> kAllStatuses = {Status::kOk, Status::kWarn, Status::kFail};

[[nodiscard]] constexpr int rank(Status s) { return static_cast<int>(s); }
[[nodiscard]] constexpr int rank(Severity s) { return static_cast<int>(s); }

// Keeps the higher-ranked of two statuses.
[[nodiscard]] constexpr Status escalate(Status a, Status b) { return rank(a) >= rank(b) ? a : b; }
[[nodiscard]] constexpr Severity escalate(Severity a, Severity b) {
  return rank(a) >= rank(b) ? a : b;
}

// Rank-preserving mapping: ok<->info, warn<->warning, fail<->critical.
[[nodiscard]] constexpr Severity severity_for(Status s) { return static_cast<Severity>(rank(s)); }
[[nodiscard]] constexpr Status status_for(Severity s) { return static_cast<Status>(rank(s)); }

// "ok" / "warn" / "fail".
[[nodiscard]] std::string_view to_string(Status s);
// "info" / "warning" / "critical".
[[nodiscard]] std::string_view to_string(Severity s);

// Parses any of the vocabularies above, case-insensitively, ignoring surrounding blanks.
[[nodiscard]] Result<Status> parse_status(std::string_view word);
// Parses info/warning/critical (case-insensitive; "warn" is accepted for warning).
[[nodiscard]] Result<Severity> parse_severity(std::string_view word);

}  // namespace opsready::core
