#pragma once
// The compliance cadence (docs/operator-guide.md "Compliance cadence"): the sign-offs a desk
// owes on a schedule (security reviews, secrets rotation, access reviews, compliance sign-offs,
// postmortem reviews), each graded from its last recorded completion.
//
//   SignoffCadence c{.name = "security-review", .kind = "security_review", .owner = "secops",
//                    .every = days(90), .due_soon = days(14)};
//   SignoffCompletion last{.by = "alice", .at = ..., .evidence = "https://..."};
//   core::ComponentSnapshot s = grade_signoffs({&c, 1}, [&](auto) { return &last; }, now);
//
// A sign-off is due `every` after its last completion (or after `since` when it has none yet;
// with neither it is overdue: nothing shows it was ever done). It is "due soon" from due_soon
// before that: the component warns and an issue compliance_cadence.signoff_due:<name> (severity
// warning) fires, so its owner hears of it before it falls due. Once due it is overdue: the
// component takes the cadence's `overdue` status (fail by default) and the issue
// compliance_cadence.signoff_overdue:<name> fires, critical (warning when `overdue` is warn). Both
// issues carry the labels owner and signoff, so a route can send them to the owner's receiver.
//
// Pure functions of their arguments; the app's ComplianceService keeps the completions (the
// store's signoffs table is their audit log) and republishes the snapshot as time passes.

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "opsready/core/clock.h"
#include "opsready/core/snapshot.h"
#include "opsready/core/status.h"

namespace opsready::components {

inline constexpr std::string_view kComplianceCadenceComponent = "compliance_cadence";

// The kinds a cadence may have (the brief's list, and `other`).
inline constexpr std::string_view kSignoffKinds[] = {"security_review",   "secrets_rotation",
                                                     "access_review",     "compliance_signoff",
                                                     "postmortem_review", "other"};
[[nodiscard]] bool is_signoff_kind(std::string_view kind);

struct SignoffCadence {
  std::string name;  // [a-z0-9_.-]+: a label value, a URL segment
  std::string kind = "compliance_signoff";
  std::string owner;  // who signs; the `owner` label of the reminders
  core::Duration every{};
  core::Duration due_soon = std::chrono::hours(24 * 14);  // never more than `every`
  core::Status overdue = core::Status::kFail;             // warn or fail
  std::optional<core::TimePoint> since;                   // the cadence's start, before any
  std::string description;
  std::string runbook = "docs/runbooks/compliance_cadence.md";

  bool operator==(const SignoffCadence&) const = default;
};

struct SignoffCompletion {
  std::string by;
  core::TimePoint at{};
  std::string evidence;  // a link or a path; may be empty

  bool operator==(const SignoffCompletion&) const = default;
};

struct SignoffStanding {
  enum class State { kOk, kDueSoon, kOverdue };
  State state = State::kOk;
  std::optional<core::TimePoint> due_at;  // unset: never done and no `since`
};

[[nodiscard]] std::string_view to_string(SignoffStanding::State s);
// A cadence's span as people write it: whole days as "90d" (not "12w6d"), else as
// core::format_duration.
[[nodiscard]] std::string format_span(core::Duration d);

[[nodiscard]] SignoffStanding standing(const SignoffCadence& c, const SignoffCompletion* last,
                                       core::TimePoint now);

// The last completion of a cadence by name, or nullptr.
using LastCompletion = std::function<const SignoffCompletion*(std::string_view name)>;

// The compliance_cadence snapshot at `now` (observed_at = now). metadata.signoffs lists every
// cadence: {name, kind, owner, every, state, due_at, last{by, at, evidence} | null}.
[[nodiscard]] core::ComponentSnapshot grade_signoffs(std::span<const SignoffCadence> cadences,
                                                     const LastCompletion& last,
                                                     core::TimePoint now);

// The first time after `now` at which some cadence's standing changes (due soon, overdue);
// nullopt when none will change without a new completion.
[[nodiscard]] std::optional<core::TimePoint> next_standing_change(
    std::span<const SignoffCadence> cadences, const LastCompletion& last, core::TimePoint now);

}  // namespace opsready::components
