#include "opsready/components/compliance_cadence.h"

#include <algorithm>
#include <chrono>

#include "opsready/core/time.h"

namespace opsready::components {

namespace {

using core::TimePoint;
using State = SignoffStanding::State;

// Whole days, hours or minutes, for a reader: "in 13d", "3d ago", not "1123200s".
std::string span_words(core::Duration d) {
  using namespace std::chrono;
  d = std::max(d, core::Duration::zero());
  if (d >= hours(48)) return std::to_string(duration_cast<days>(d).count()) + "d";
  if (d >= hours(2)) return core::format_duration(duration_cast<hours>(d));
  return core::format_duration(duration_cast<minutes>(d));
}

std::string kind_words(const std::string& kind) {
  std::string s = kind;
  std::replace(s.begin(), s.end(), '_', ' ');
  return s;
}

}  // namespace

std::string format_span(core::Duration d) {
  constexpr auto kDay = std::chrono::hours(24);
  if (d > core::Duration::zero() && d % kDay == core::Duration::zero()) {
    return std::to_string(d / kDay) + "d";
  }
  return core::format_duration(d);
}

bool is_signoff_kind(std::string_view kind) {
  return std::find(std::begin(kSignoffKinds), std::end(kSignoffKinds), kind) !=
         std::end(kSignoffKinds);
}

std::string_view to_string(State s) {
  switch (s) {
    case State::kOk:
      return "ok";
    case State::kDueSoon:
      return "due_soon";
    case State::kOverdue:
      return "overdue";
  }
  return "ok";
}

SignoffStanding standing(const SignoffCadence& c, const SignoffCompletion* last, TimePoint now) {
  SignoffStanding s;
  if (last != nullptr) {
    s.due_at = last->at + c.every;
  } else if (c.since) {
    s.due_at = *c.since + c.every;
  }
  if (!s.due_at || now >= *s.due_at) {
    s.state = State::kOverdue;
  } else if (now >= *s.due_at - c.due_soon) {
    s.state = State::kDueSoon;
  }
  return s;
}

core::ComponentSnapshot grade_signoffs(std::span<const SignoffCadence> cadences,
                                       const LastCompletion& last, TimePoint now) {
  core::ComponentSnapshot snap{.component = std::string(kComplianceCadenceComponent),
                               .status = core::Status::kOk,
                               .observed_at = now};
  nlohmann::json list = nlohmann::json::array();
  std::size_t due_soon = 0, overdue = 0;
  for (const SignoffCadence& c : cadences) {
    const SignoffCompletion* done = last(c.name);
    const SignoffStanding st = standing(c, done, now);
    const std::string what =
        c.name + " (" + kind_words(c.kind) + (c.owner.empty() ? "" : ", owner " + c.owner) + ")";
    const std::string previously =
        done == nullptr
            ? std::string(c.since ? "; the cadence began " + core::format_rfc3339(*c.since) : "")
            : "; last signed off by " + done->by + " at " + core::format_rfc3339(done->at);
    core::Issue issue{
        .runbook = c.runbook,
        .labels = {{"owner", c.owner.empty() ? "unowned" : c.owner}, {"signoff", c.name}}};
    if (st.state == State::kOverdue) {
      ++overdue;
      snap.status = core::escalate(snap.status, c.overdue);
      issue.code = "compliance_cadence.signoff_overdue:" + c.name;
      issue.severity = core::severity_for(c.overdue);
      issue.message = !st.due_at
                          ? what + " has never been signed off (every " + format_span(c.every) + ")"
                          : what + " is overdue by " + span_words(now - *st.due_at) + " (due " +
                                core::format_rfc3339(*st.due_at) + ")" + previously;
      snap.issues.push_back(std::move(issue));
    } else if (st.state == State::kDueSoon) {
      ++due_soon;
      snap.status = core::escalate(snap.status, core::Status::kWarn);
      issue.code = "compliance_cadence.signoff_due:" + c.name;
      issue.severity = core::Severity::kWarning;
      issue.message = what + " is due in " + span_words(*st.due_at - now) + " (" +
                      core::format_rfc3339(*st.due_at) + ")" + previously;
      snap.issues.push_back(std::move(issue));
    }
    nlohmann::json j = {{"name", c.name},
                        {"kind", c.kind},
                        {"owner", c.owner},
                        {"every", format_span(c.every)},
                        {"state", to_string(st.state)},
                        {"due_at", st.due_at ? nlohmann::json(core::format_rfc3339(*st.due_at))
                                             : nlohmann::json(nullptr)},
                        {"last", nullptr}};
    if (done != nullptr) {
      j["last"] = {
          {"by", done->by}, {"at", core::format_rfc3339(done->at)}, {"evidence", done->evidence}};
    }
    list.push_back(std::move(j));
  }
  snap.summary = std::to_string(cadences.size()) + " sign-off(s): " + std::to_string(overdue) +
                 " overdue, " + std::to_string(due_soon) + " due soon";
  snap.metadata = {{"signoffs", std::move(list)}};
  return snap;
}

std::optional<TimePoint> next_standing_change(std::span<const SignoffCadence> cadences,
                                              const LastCompletion& last, TimePoint now) {
  std::optional<TimePoint> next;
  const auto consider = [&](TimePoint t) {
    if (t > now && (!next || t < *next)) next = t;
  };
  for (const SignoffCadence& c : cadences) {
    const SignoffStanding st = standing(c, last(c.name), now);
    if (!st.due_at) continue;
    consider(*st.due_at - c.due_soon);
    consider(*st.due_at);
  }
  return next;
}

}  // namespace opsready::components
