#include "opsready/components/compliance_cadence.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "opsready/core/time.h"

namespace opsready::components {
namespace {

using core::Status;
using std::chrono::hours;
using State = SignoffStanding::State;

core::TimePoint at(const char* s) { return core::parse_rfc3339(s).value(); }
constexpr auto days = [](int n) { return hours(24 * n); };

SignoffCadence cadence(std::string name, int every_days, int due_soon_days) {
  return {.name = std::move(name),
          .kind = "security_review",
          .owner = "secops",
          .every = days(every_days),
          .due_soon = days(due_soon_days)};
}

TEST(ComplianceCadence, StandingFollowsTheLastCompletionThenDueSoonThenOverdue) {
  const SignoffCadence c = cadence("sec", 90, 14);
  const SignoffCompletion done{.by = "alice", .at = at("2026-01-01T00:00:00Z")};
  const core::TimePoint due = at("2026-04-01T00:00:00Z");  // + 90 days
  EXPECT_EQ(standing(c, &done, due - days(15)).state, State::kOk);
  EXPECT_EQ(standing(c, &done, due - days(14)).state, State::kDueSoon);
  EXPECT_EQ(standing(c, &done, due - std::chrono::seconds(1)).state, State::kDueSoon);
  EXPECT_EQ(standing(c, &done, due).state, State::kOverdue);
  EXPECT_EQ(standing(c, &done, due).due_at, due);
}

TEST(ComplianceCadence, NeverDoneIsOverdueUnlessTheCadenceHasAStart) {
  SignoffCadence c = cadence("access", 30, 7);
  const auto now = at("2026-06-01T00:00:00Z");
  const SignoffStanding never = standing(c, nullptr, now);
  EXPECT_EQ(never.state, State::kOverdue);
  EXPECT_FALSE(never.due_at.has_value());
  c.since = at("2026-05-20T00:00:00Z");  // due 2026-06-19
  EXPECT_EQ(standing(c, nullptr, now).state, State::kOk);
  EXPECT_EQ(standing(c, nullptr, at("2026-06-12T00:00:00Z")).state, State::kDueSoon);
}

TEST(ComplianceCadence, GradesIssuesWithOwnerLabelsAndTheConfiguredOverdueStatus) {
  std::vector<SignoffCadence> cs = {cadence("sec", 90, 14), cadence("rotation", 30, 5),
                                    cadence("postmortems", 7, 2)};
  cs[2].overdue = Status::kWarn;
  cs[2].owner = "";
  const auto now = at("2026-06-01T00:00:00Z");
  const std::map<std::string, SignoffCompletion, std::less<>> last = {
      {"sec", {.by = "alice", .at = now - days(80), .evidence = "https://wiki/sec-q2"}},
      {"rotation", {.by = "bob", .at = now - days(40)}},
      {"postmortems", {.by = "carol", .at = now - days(8)}}};
  const LastCompletion find = [&](std::string_view n) -> const SignoffCompletion* {
    const auto it = last.find(n);
    return it == last.end() ? nullptr : &it->second;
  };
  const core::ComponentSnapshot s = grade_signoffs(cs, find, now);
  EXPECT_EQ(s.component, "compliance_cadence");
  EXPECT_EQ(s.status, Status::kFail);  // rotation is overdue, fail by default
  EXPECT_EQ(s.observed_at, now);
  EXPECT_EQ(s.summary, "3 sign-off(s): 2 overdue, 1 due soon");
  ASSERT_EQ(s.issues.size(), 3u);
  EXPECT_EQ(s.issues[0].code, "compliance_cadence.signoff_due:sec");
  EXPECT_EQ(s.issues[0].severity, core::Severity::kWarning);
  EXPECT_EQ(s.issues[0].message,
            "sec (security review, owner secops) is due in 10d (2026-06-11T00:00:00Z); last "
            "signed off by alice at 2026-03-13T00:00:00Z");
  EXPECT_EQ(s.issues[0].labels,
            (std::map<std::string, std::string>{{"owner", "secops"}, {"signoff", "sec"}}));
  EXPECT_EQ(s.issues[1].code, "compliance_cadence.signoff_overdue:rotation");
  EXPECT_EQ(s.issues[1].severity, core::Severity::kCritical);
  EXPECT_EQ(s.issues[1].message,
            "rotation (security review, owner secops) is overdue by 10d (due "
            "2026-05-22T00:00:00Z); last signed off by bob at 2026-04-22T00:00:00Z");
  EXPECT_EQ(s.issues[2].code, "compliance_cadence.signoff_overdue:postmortems");
  EXPECT_EQ(s.issues[2].severity, core::Severity::kWarning);  // overdue: warn
  EXPECT_EQ(s.issues[2].labels.at("owner"), "unowned");
  EXPECT_EQ(s.issues[2].runbook, "docs/runbooks/compliance_cadence.md");
  const auto& md = s.metadata["signoffs"];
  ASSERT_EQ(md.size(), 3u);
  EXPECT_EQ(md[0]["state"], "due_soon");
  EXPECT_EQ(md[0]["due_at"], "2026-06-11T00:00:00Z");
  EXPECT_EQ(md[0]["last"]["evidence"], "https://wiki/sec-q2");
  EXPECT_EQ(md[1]["state"], "overdue");
  EXPECT_EQ(md[0]["every"], "90d");
}

TEST(ComplianceCadence, SpansReadAsDays) {
  EXPECT_EQ(format_span(days(90)), "90d");
  EXPECT_EQ(format_span(hours(36)), "1d12h");
  EXPECT_EQ(format_span(hours(1)), "1h");
}

TEST(ComplianceCadence, NothingDueIsOkAndTheNextChangeIsTheEarliestTransition) {
  const std::vector<SignoffCadence> cs = {cadence("sec", 90, 14), cadence("rotation", 30, 5)};
  const auto now = at("2026-06-01T00:00:00Z");
  const SignoffCompletion sec{.by = "a", .at = now - days(1)};
  const SignoffCompletion rot{.by = "b", .at = now - days(2)};
  const LastCompletion find = [&](std::string_view n) { return n == "sec" ? &sec : &rot; };
  const core::ComponentSnapshot s = grade_signoffs(cs, find, now);
  EXPECT_EQ(s.status, Status::kOk);
  EXPECT_TRUE(s.issues.empty());
  // rotation: due now + 28d, due soon from now + 23d; sec: due soon from now + 75d.
  EXPECT_EQ(next_standing_change(cs, find, now), now + days(23));
  EXPECT_EQ(next_standing_change(cs, find, now + days(23)), now + days(28));
  const LastCompletion none = [](std::string_view) { return nullptr; };
  EXPECT_EQ(next_standing_change(cs, none, now), std::nullopt);
}

TEST(ComplianceCadence, KnowsItsKinds) {
  EXPECT_TRUE(is_signoff_kind("secrets_rotation"));
  EXPECT_TRUE(is_signoff_kind("postmortem_review"));
  EXPECT_FALSE(is_signoff_kind("security"));
}

}  // namespace
}  // namespace opsready::components
