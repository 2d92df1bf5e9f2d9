#pragma once
// Vocabulary shared by every detector in opsready::detect: what one update did (Outcome for
// detectors that answer drift / no drift, Grade for detectors graded on warn/alert thresholds),
// which way a detection points (Direction) and which ways a two-sided detector watches (Mode).
//
//   detect::PageHinkley ph;
//   switch (ph.update(x)) {
//     case detect::Outcome::kDrift: report(i, ph.direction()); break;
//     case detect::Outcome::kRefused: break;  // NaN or inf: not folded in, counted
//     case detect::Outcome::kAccepted: break;
//   }
//   core::Status s = detect::to_status(detect::grade(stat, /*warn=*/3.0, /*alert=*/6.0));
//
// All types here are plain values; the functions are pure and thread-safe.

#include <cstdint>
#include <string_view>

#include "opsready/core/error.h"
#include "opsready/core/status.h"

namespace opsready::detect {

// What a binary detector (Page-Hinkley, CUSUM, Welford) did with one input.
enum class Outcome : std::uint8_t {
  kAccepted = 0,  // folded into the state; no drift after it
  kDrift = 1,     // folded into the state; the detector reports drift after it
  kRefused = 2,   // not finite: left out of the state and counted in refused()
};

// What a graded detector (the brief's Page-Hinkley and CUSUM, rolling variance) did with one
// input. kNormal < kWarn < kAlert is the spec's DriftSeverity; kRefused is not a severity.
enum class Grade : std::uint8_t { kNormal = 0, kWarn = 1, kAlert = 2, kRefused = 3 };

// Which way a detection points. A bit set: kBoth means both sides crossed on the same update.
enum class Direction : std::uint8_t { kNone = 0, kUp = 1, kDown = 2, kBoth = 3 };

// Which sides a two-sided detector tests (River's `mode`). Bits as in Direction.
enum class Mode : std::uint8_t { kUp = 1, kDown = 2, kBoth = 3 };

// Whether a mode tests the upward / downward side.
[[nodiscard]] constexpr bool tests_up(Mode m) {
  return (static_cast<std::uint8_t>(m) & static_cast<std::uint8_t>(Mode::kUp)) != 0;
}
[[nodiscard]] constexpr bool tests_down(Mode m) {
  return (static_cast<std::uint8_t>(m) & static_cast<std::uint8_t>(Mode::kDown)) != 0;
}

// Threshold grading of the spec (supervision-drift-strategy §5): v ≥ alert → kAlert, else
// v ≥ warn → kWarn, else kNormal. Inclusive; +inf reaches any finite threshold, a finite value
// never reaches an infinite one, NaN reaches nothing.
[[nodiscard]] constexpr Grade grade(double v, double warn, double alert) {
  if (v >= alert) return Grade::kAlert;
  if (v >= warn) return Grade::kWarn;
  return Grade::kNormal;
}

// The higher of two grades; kRefused ranks below kNormal so a refusal never masks a finding.
[[nodiscard]] constexpr Grade escalate(Grade a, Grade b) {
  if (a == Grade::kRefused) return b;
  if (b == Grade::kRefused) return a;
  return static_cast<std::uint8_t>(a) >= static_cast<std::uint8_t>(b) ? a : b;
}

// normal → ok, warn → warn, alert → fail (the spec's readiness mapping). kRefused → ok: a
// refused input says nothing about drift.
[[nodiscard]] constexpr core::Status to_status(Grade g) {
  switch (g) {
    case Grade::kWarn:
      return core::Status::kWarn;
    case Grade::kAlert:
      return core::Status::kFail;
    case Grade::kNormal:
    case Grade::kRefused:
      break;
  }
  return core::Status::kOk;
}

// "accepted" / "drift" / "refused".
[[nodiscard]] std::string_view to_string(Outcome o);
// "normal" / "warn" / "alert" / "refused".
[[nodiscard]] std::string_view to_string(Grade g);
// "none" / "up" / "down" / "both".
[[nodiscard]] std::string_view to_string(Direction d);
// "up" / "down" / "both" (River's spelling).
[[nodiscard]] std::string_view to_string(Mode m);
// Parses "up", "down" or "both" (case-sensitive, as River); anything else is refused with
// code `unknown_mode` naming the word.
[[nodiscard]] core::Result<Mode> parse_mode(std::string_view word);

}  // namespace opsready::detect
