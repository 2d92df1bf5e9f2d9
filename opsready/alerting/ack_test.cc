#include "opsready/alerting/ack.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "opsready/alerting/test_support.h"
#include "opsready/core/time.h"

namespace opsready::alerting {
namespace {

using nlohmann::json;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

const core::TimePoint kT0 = test::kNow;

core::TimePoint T(int s) { return kT0 + seconds(s); }

// 5m to sre, then 30m to manager.
const std::vector<EscalationStep> kTwoSteps = {{minutes(5), "sre"}, {minutes(30), "manager"}};

// One call on Acks, `at` seconds after kT0.
struct Op {
  enum Kind { kOpen, kNotify, kResolve, kAck, kUnack, kAdvance };
  int at = 0;
  Kind kind = kAdvance;
  std::string group = "g";
  NotifyReason reason = NotifyReason::kRepeat;
  bool severity_rose = false;
  std::string by = "alice";
  std::optional<int> expires;  // seconds after kT0
  std::vector<EscalationStep> policy = {};
};

std::string secs(core::TimePoint t) {
  return std::to_string(std::chrono::duration_cast<seconds>(t - kT0).count()) + "s";
}

// `<at> <group> <kind> <receiver>[ by <by>][ (<detail>)]`
std::string line(const Record& r) {
  std::string out = secs(r.at) + " " + r.group + " " + std::string(to_string(r.kind));
  if (!r.receiver.empty()) out += " " + r.receiver;
  if (!r.by.empty()) out += " by " + r.by;
  if (!r.detail.empty()) out += " (" + r.detail + ")";
  return out;
}

// Drives `acks` through `ops`; the transcript holds every record, each held notification
// ("=> held"), each escalation ("=> escalate ...") and each refused call ("=> error ...").
std::vector<std::string> run(Acks& acks, const std::vector<Op>& ops) {
  std::vector<std::string> out;
  std::optional<std::uint64_t> last_sequence;
  for (const Op& op : ops) {
    const core::TimePoint now = T(op.at);
    std::vector<std::string> after;
    core::Result<void> result;
    switch (op.kind) {
      case Op::kOpen:
        acks.opened(op.group, "ops", op.policy, now);
        break;
      case Op::kNotify:
        if (!acks.notify(op.group, op.reason, op.severity_rose, now)) after.push_back("=> held");
        break;
      case Op::kResolve:
        acks.resolved(op.group, now);
        break;
      case Op::kAck: {
        std::optional<core::TimePoint> expires;
        if (op.expires) expires = T(*op.expires);
        result = acks.ack(
            {.group = op.group, .by = op.by, .comment = "on it", .expires_at = expires}, now);
        break;
      }
      case Op::kUnack:
        result = acks.unack(op.group, op.by, now);
        break;
      case Op::kAdvance:
        for (const Escalation& e : acks.advance(now)) {
          after.push_back("=> escalate " + e.group + " step " + std::to_string(e.step) + " to " +
                          e.receiver + " at " + secs(e.at));
        }
        break;
    }
    if (!result)
      after.push_back("=> error " + result.error().code + " (" + result.error().field + ")");
    for (const Record& r : acks.take_records()) {
      if (last_sequence) {
        EXPECT_EQ(r.sequence, *last_sequence + 1) << line(r);
      }
      last_sequence = r.sequence;
      out.push_back(line(r));
    }
    out.insert(out.end(), after.begin(), after.end());
  }
  return out;
}

struct Case {
  std::string name;
  std::vector<Op> ops;
  std::vector<std::string> want;
};

void run_cases(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    Acks acks;
    EXPECT_EQ(run(acks, c.ops), c.want) << c.name;
  }
}

// The group opens and goes out at 0s, with `policy`.
std::vector<Op> opened(std::vector<EscalationStep> policy = {}) {
  return {{.at = 0, .kind = Op::kOpen, .policy = std::move(policy)},
          {.at = 0, .kind = Op::kNotify, .reason = NotifyReason::kFirst}};
}

std::vector<Op> operator+(std::vector<Op> a, const std::vector<Op>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

const std::vector<std::string> kOpenedLines = {"0s g opened ops",
                                               "0s g notified ops (first notification)"};
const std::vector<std::string> kOpenedTwoStepsLines = {
    "0s g opened ops (escalation: 5m sre, 30m manager)", "0s g notified ops (first notification)"};

std::vector<std::string> operator+(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(Acks, AcksAndNotifications) {
  run_cases({
      {"an ack holds repeats back; resolved notifications still go out; resolution ends it",
       opened() +
           std::vector<Op>{{.at = 60, .kind = Op::kAck},
                           {.at = 3600, .kind = Op::kNotify},
                           {.at = 4000, .kind = Op::kNotify, .reason = NotifyReason::kNewResolved},
                           {.at = 7200, .kind = Op::kNotify},
                           {.at = 8000, .kind = Op::kNotify, .reason = NotifyReason::kAllResolved},
                           {.at = 8001, .kind = Op::kResolve}},
       kOpenedLines +
           std::vector<std::string>{"60s g acked ops by alice (on it)",
                                    "3600s g held ops by alice (repeat interval elapsed)",
                                    "=> held", "4000s g notified ops (some alerts resolved)",
                                    "7200s g held ops by alice (repeat interval elapsed)",
                                    "=> held", "8000s g notified ops (all alerts resolved)",
                                    "8000s g resolved ops (ack by alice)"}},
      {"without an ack repeats go out",
       opened() + std::vector<Op>{{.at = 3600, .kind = Op::kNotify}},
       kOpenedLines + std::vector<std::string>{"3600s g notified ops (repeat interval elapsed)"}},
      {"a new alert re-notifies and clears the ack; the next repeat goes out",
       opened() +
           std::vector<Op>{{.at = 60, .kind = Op::kAck},
                           {.at = 600, .kind = Op::kNotify, .reason = NotifyReason::kNewAlerts},
                           {.at = 4200, .kind = Op::kNotify}},
       kOpenedLines + std::vector<std::string>{"60s g acked ops by alice (on it)",
                                               "600s g ack_cleared ops by alice (new alerts added)",
                                               "600s g notified ops (new alerts added)",
                                               "4200s g notified ops (repeat interval elapsed)"}},
      {"a severity rise re-notifies and clears the ack, whatever the reason",
       opened() + std::vector<Op>{{.at = 60, .kind = Op::kAck},
                                  {.at = 600, .kind = Op::kNotify, .severity_rose = true},
                                  {.at = 700, .kind = Op::kAck, .by = "bob"},
                                  {.at = 800,
                                   .kind = Op::kNotify,
                                   .reason = NotifyReason::kNewResolved,
                                   .severity_rose = true}},
       kOpenedLines +
           std::vector<std::string>{
               "60s g acked ops by alice (on it)",
               "600s g ack_cleared ops by alice (repeat interval elapsed; severity rose)",
               "600s g notified ops (repeat interval elapsed; severity rose)",
               "700s g acked ops by bob (on it)",
               "800s g ack_cleared ops by bob (some alerts resolved; severity rose)",
               "800s g notified ops (some alerts resolved; severity rose)"}},
      {"a group that disappears resolves: the ack ends and resolved() again does nothing",
       opened() + std::vector<Op>{{.at = 60, .kind = Op::kAck},
                                  {.at = 90, .kind = Op::kResolve},
                                  {.at = 91, .kind = Op::kResolve},
                                  {.at = 92, .kind = Op::kNotify}},
       kOpenedLines + std::vector<std::string>{"60s g acked ops by alice (on it)",
                                               "90s g resolved ops (ack by alice)",
                                               "92s g notified (repeat interval elapsed)"}},
      {"expiry at the exact boundary: acked until the instant before, expired at it",
       opened() + std::vector<Op>{{.at = 60, .kind = Op::kAck, .expires = 600},
                                  {.at = 599, .kind = Op::kAdvance},
                                  {.at = 599, .kind = Op::kNotify},
                                  {.at = 600, .kind = Op::kAdvance},
                                  {.at = 600, .kind = Op::kNotify}},
       kOpenedLines + std::vector<std::string>{"60s g acked ops by alice (on it)",
                                               "599s g held ops by alice (repeat interval elapsed)",
                                               "=> held", "600s g ack_expired ops by alice",
                                               "600s g notified ops (repeat interval elapsed)"}},
      {"a repeat after the expiry is not held even when advance() was not called",
       opened() + std::vector<Op>{{.at = 60, .kind = Op::kAck, .expires = 600},
                                  {.at = 900, .kind = Op::kNotify}},
       kOpenedLines + std::vector<std::string>{"60s g acked ops by alice (on it)",
                                               "600s g ack_expired ops by alice",
                                               "900s g notified ops (repeat interval elapsed)"}},
      {"unack by anyone ends the ack; repeats go out again",
       opened() + std::vector<Op>{{.at = 60, .kind = Op::kAck},
                                  {.at = 120, .kind = Op::kUnack, .by = "bob"},
                                  {.at = 3600, .kind = Op::kNotify}},
       kOpenedLines + std::vector<std::string>{"60s g acked ops by alice (on it)",
                                               "120s g unacked ops by bob (ack by alice)",
                                               "3600s g notified ops (repeat interval elapsed)"}},
      {"a re-ack replaces the expiry: the old one no longer ends it",
       opened() + std::vector<Op>{{.at = 60, .kind = Op::kAck, .expires = 600},
                                  {.at = 300, .kind = Op::kAck, .by = "bob"},
                                  {.at = 700, .kind = Op::kAdvance},
                                  {.at = 3600, .kind = Op::kNotify}},
       kOpenedLines + std::vector<std::string>{"60s g acked ops by alice (on it)",
                                               "300s g acked ops by bob (on it)",
                                               "3600s g held ops by bob (repeat interval elapsed)",
                                               "=> held"}},
      {"a notification of a group that is not open passes, recorded without a receiver",
       {{.at = 5, .kind = Op::kNotify, .group = "other", .reason = NotifyReason::kNewAlerts}},
       {"5s other notified (new alerts added)"}},
  });
}

TEST(Acks, Errors) {
  run_cases({
      {"by is required",
       opened() + std::vector<Op>{{.at = 60, .kind = Op::kAck, .by = ""},
                                  {.at = 60, .kind = Op::kUnack, .by = ""}},
       kOpenedLines + std::vector<std::string>{"=> error ack_missing_by (by)",
                                               "=> error ack_missing_by (by)"}},
      {"an expiry not after now",
       opened() + std::vector<Op>{{.at = 60, .kind = Op::kAck, .expires = 60},
                                  {.at = 60, .kind = Op::kAck, .expires = 59}},
       kOpenedLines + std::vector<std::string>{"=> error ack_expires_in_past (expires_at)",
                                               "=> error ack_expires_in_past (expires_at)"}},
      {"an unknown group",
       opened() + std::vector<Op>{{.at = 60, .kind = Op::kAck, .group = "nope"},
                                  {.at = 60, .kind = Op::kUnack, .group = "nope"}},
       kOpenedLines + std::vector<std::string>{"=> error unknown_group (group)",
                                               "=> error unknown_group (group)"}},
      {"a group that resolved: group_resolved for resolved_retention, then unknown_group",
       opened() + std::vector<Op>{{.at = 60, .kind = Op::kResolve},
                                  {.at = 61, .kind = Op::kAck},
                                  {.at = 62, .kind = Op::kUnack},
                                  {.at = 3659, .kind = Op::kAdvance},
                                  {.at = 3659, .kind = Op::kAck},
                                  {.at = 3660, .kind = Op::kAdvance},
                                  {.at = 3660, .kind = Op::kAck}},
       kOpenedLines + std::vector<std::string>{"60s g resolved ops",
                                               "=> error group_resolved (group)",
                                               "=> error group_resolved (group)",
                                               "=> error group_resolved (group)",
                                               "=> error unknown_group (group)"}},
      {"unack of a group that is not acked, or whose ack expired",
       opened() + std::vector<Op>{{.at = 60, .kind = Op::kUnack},
                                  {.at = 70, .kind = Op::kAck, .expires = 100},
                                  {.at = 100, .kind = Op::kUnack}},
       kOpenedLines + std::vector<std::string>{"=> error group_not_acked (group)",
                                               "70s g acked ops by alice (on it)",
                                               "100s g ack_expired ops by alice",
                                               "=> error group_not_acked (group)"}},
      {"a group that opens again after resolving can be acked",
       opened() + std::vector<Op>{{.at = 60, .kind = Op::kResolve},
                                  {.at = 70, .kind = Op::kOpen},
                                  {.at = 80, .kind = Op::kAck}},
       kOpenedLines + std::vector<std::string>{"60s g resolved ops", "70s g opened ops",
                                               "80s g acked ops by alice (on it)"}},
  });
}

TEST(Acks, ReAckKeepsTheStartOfTheAcknowledgement) {
  Acks acks;
  acks.opened("g", "ops", {}, T(0));
  ASSERT_TRUE(acks.ack({.group = "g", .by = "alice", .comment = "looking"}, T(60)));
  ASSERT_TRUE(acks.ack({.group = "g", .by = "bob", .comment = "taking over", .expires_at = T(900)},
                       T(120)));
  const Ack* a = acks.find("g");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(*a, (Ack{.group = "g",
                     .by = "bob",
                     .comment = "taking over",
                     .at = T(60),
                     .expires_at = T(900),
                     .updated_at = T(120)}));
  EXPECT_EQ(acks.next_deadline(), T(900));
  ASSERT_EQ(acks.list().size(), 1u);
  EXPECT_EQ(acks.list()[0], a);
  EXPECT_EQ(acks.find("other"), nullptr);

  // A refused ack changes nothing.
  EXPECT_FALSE(acks.ack({.group = "g", .by = "carol", .expires_at = T(100)}, T(130)));
  EXPECT_EQ(acks.find("g")->by, "bob");

  // After an ack ended, the next ack starts a new acknowledgement.
  ASSERT_TRUE(acks.unack("g", "bob", T(200)));
  EXPECT_EQ(acks.find("g"), nullptr);
  ASSERT_TRUE(acks.ack({.group = "g", .by = "carol"}, T(300)));
  EXPECT_EQ(acks.find("g")->at, T(300));
}

TEST(Acks, Escalation) {
  run_cases({
      {"each step fires once, at exactly its after",
       opened(kTwoSteps) + std::vector<Op>{{.at = 299, .kind = Op::kAdvance},
                                           {.at = 300, .kind = Op::kAdvance},
                                           {.at = 1799, .kind = Op::kAdvance},
                                           {.at = 1800, .kind = Op::kAdvance},
                                           {.at = 99999, .kind = Op::kAdvance}},
       kOpenedTwoStepsLines +
           std::vector<std::string>{"300s g escalated sre (step 0 after 5m)",
                                    "=> escalate g step 0 to sre at 300s",
                                    "1800s g escalated manager (step 1 after 30m)",
                                    "=> escalate g step 1 to manager at 1800s"}},
      {"several steps in one advance(), in order, each at its own time",
       opened(kTwoSteps) + std::vector<Op>{{.at = 5000, .kind = Op::kAdvance}},
       kOpenedTwoStepsLines +
           std::vector<std::string>{"300s g escalated sre (step 0 after 5m)",
                                    "1800s g escalated manager (step 1 after 30m)",
                                    "=> escalate g step 0 to sre at 300s",
                                    "=> escalate g step 1 to manager at 1800s"}},
      {"groups interleave in time order",
       std::vector<Op>{{.at = 0, .kind = Op::kOpen, .group = "b", .policy = kTwoSteps},
                       {.at = 100, .kind = Op::kOpen, .group = "a", .policy = kTwoSteps},
                       {.at = 5000, .kind = Op::kAdvance}},
       {"0s b opened ops (escalation: 5m sre, 30m manager)",
        "100s a opened ops (escalation: 5m sre, 30m manager)",
        "300s b escalated sre (step 0 after 5m)", "400s a escalated sre (step 0 after 5m)",
        "1800s b escalated manager (step 1 after 30m)",
        "1900s a escalated manager (step 1 after 30m)", "=> escalate b step 0 to sre at 300s",
        "=> escalate a step 0 to sre at 400s", "=> escalate b step 1 to manager at 1800s",
        "=> escalate a step 1 to manager at 1900s"}},
      {"ties by group key",
       std::vector<Op>{{.at = 0, .kind = Op::kOpen, .group = "b", .policy = kTwoSteps},
                       {.at = 0, .kind = Op::kOpen, .group = "a", .policy = kTwoSteps},
                       {.at = 300, .kind = Op::kAdvance}},
       {"0s b opened ops (escalation: 5m sre, 30m manager)",
        "0s a opened ops (escalation: 5m sre, 30m manager)",
        "300s a escalated sre (step 0 after 5m)", "300s b escalated sre (step 0 after 5m)",
        "=> escalate a step 0 to sre at 300s", "=> escalate b step 0 to sre at 300s"}},
      {"an ack stops the chain",
       opened(kTwoSteps) +
           std::vector<Op>{{.at = 200, .kind = Op::kAck}, {.at = 99999, .kind = Op::kAdvance}},
       kOpenedTwoStepsLines + std::vector<std::string>{"200s g acked ops by alice (on it)"}},
      {"an ack after the first step cancels the rest",
       opened(kTwoSteps) + std::vector<Op>{{.at = 300, .kind = Op::kAdvance},
                                           {.at = 400, .kind = Op::kAck},
                                           {.at = 99999, .kind = Op::kAdvance}},
       kOpenedTwoStepsLines + std::vector<std::string>{"300s g escalated sre (step 0 after 5m)",
                                                       "=> escalate g step 0 to sre at 300s",
                                                       "400s g acked ops by alice (on it)"}},
      {"resolution stops the chain",
       opened(kTwoSteps) +
           std::vector<Op>{{.at = 300, .kind = Op::kAdvance},
                           {.at = 400, .kind = Op::kNotify, .reason = NotifyReason::kAllResolved},
                           {.at = 99999, .kind = Op::kAdvance}},
       kOpenedTwoStepsLines + std::vector<std::string>{"300s g escalated sre (step 0 after 5m)",
                                                       "=> escalate g step 0 to sre at 300s",
                                                       "400s g notified ops (all alerts resolved)",
                                                       "400s g resolved ops"}},
      {"a cleared ack restarts the chain from the first step, delays from the clear",
       opened(kTwoSteps) +
           std::vector<Op>{{.at = 300, .kind = Op::kAdvance},
                           {.at = 400, .kind = Op::kAck},
                           {.at = 1000, .kind = Op::kNotify, .reason = NotifyReason::kNewAlerts},
                           {.at = 1299, .kind = Op::kAdvance},
                           {.at = 1300, .kind = Op::kAdvance},
                           {.at = 2800, .kind = Op::kAdvance}},
       kOpenedTwoStepsLines +
           std::vector<std::string>{
               "300s g escalated sre (step 0 after 5m)", "=> escalate g step 0 to sre at 300s",
               "400s g acked ops by alice (on it)",
               "1000s g ack_cleared ops by alice (new alerts added)",
               "1000s g notified ops (new alerts added)", "1300s g escalated sre (step 0 after 5m)",
               "=> escalate g step 0 to sre at 1300s",
               "2800s g escalated manager (step 1 after 30m)",
               "=> escalate g step 1 to manager at 2800s"}},
      {"an expiry restarts the chain; its steps due by now fire in the same advance()",
       opened(kTwoSteps) + std::vector<Op>{{.at = 100, .kind = Op::kAck, .expires = 1000},
                                           {.at = 1300, .kind = Op::kAdvance}},
       kOpenedTwoStepsLines + std::vector<std::string>{"100s g acked ops by alice (on it)",
                                                       "1000s g ack_expired ops by alice",
                                                       "1300s g escalated sre (step 0 after 5m)",
                                                       "=> escalate g step 0 to sre at 1300s"}},
      {"an unack restarts the chain",
       opened(kTwoSteps) + std::vector<Op>{{.at = 100, .kind = Op::kAck},
                                           {.at = 200, .kind = Op::kUnack},
                                           {.at = 500, .kind = Op::kAdvance}},
       kOpenedTwoStepsLines + std::vector<std::string>{"100s g acked ops by alice (on it)",
                                                       "200s g unacked ops by alice (ack by alice)",
                                                       "500s g escalated sre (step 0 after 5m)",
                                                       "=> escalate g step 0 to sre at 500s"}},
      {"a step at 0 fires at the first advance(); one shorter than the step ahead waits for it",
       opened({{seconds(0), "sre"}, {minutes(10), "lead"}, {minutes(5), "manager"}}) +
           std::vector<Op>{{.at = 0, .kind = Op::kAdvance}, {.at = 600, .kind = Op::kAdvance}},
       std::vector<std::string>{
           "0s g opened ops (escalation: 0s sre, 10m lead, 5m manager)",
           "0s g notified ops (first notification)", "0s g escalated sre (step 0 after 0s)",
           "=> escalate g step 0 to sre at 0s", "600s g escalated lead (step 1 after 10m)",
           "600s g escalated manager (step 2 after 5m)", "=> escalate g step 1 to lead at 600s",
           "=> escalate g step 2 to manager at 600s"}},
      {"a reload (opened() again) replaces the policy and keeps the chain's position",
       opened(kTwoSteps) + std::vector<Op>{{.at = 300, .kind = Op::kAdvance},
                                           {.at = 400,
                                            .kind = Op::kOpen,
                                            .policy = {{minutes(5), "sre"}, {minutes(20), "boss"}}},
                                           {.at = 1200, .kind = Op::kAdvance}},
       kOpenedTwoStepsLines + std::vector<std::string>{"300s g escalated sre (step 0 after 5m)",
                                                       "=> escalate g step 0 to sre at 300s",
                                                       "1200s g escalated boss (step 1 after 20m)",
                                                       "=> escalate g step 1 to boss at 1200s"}},
  });
}

TEST(Acks, NextDeadline) {
  Acks acks;
  EXPECT_EQ(acks.next_deadline(), std::nullopt);
  acks.opened("g", "ops", kTwoSteps, T(0));
  EXPECT_EQ(acks.next_deadline(), T(300));
  acks.opened("h", "ops", {}, T(10));
  EXPECT_EQ(acks.next_deadline(), T(300));
  ASSERT_TRUE(acks.ack({.group = "h", .by = "alice", .expires_at = T(200)}, T(20)));
  EXPECT_EQ(acks.next_deadline(), T(200));
  ASSERT_TRUE(acks.ack({.group = "g", .by = "alice"}, T(30)));  // cancels g's chain
  EXPECT_EQ(acks.next_deadline(), T(200));
  EXPECT_TRUE(acks.advance(T(200)).empty());  // h expires; it has no policy
  EXPECT_EQ(acks.next_deadline(), std::nullopt);
  ASSERT_TRUE(acks.unack("g", "bob", T(250)));
  EXPECT_EQ(acks.next_deadline(), T(550));
  acks.resolved("g", T(260));
  EXPECT_EQ(acks.next_deadline(), std::nullopt);
  EXPECT_EQ(acks.open_count(), 1u);
  EXPECT_TRUE(acks.is_open("h"));
  EXPECT_FALSE(acks.is_open("g"));
}

TEST(EscalationPolicy, Validate) {
  struct Case {
    std::vector<EscalationStep> steps;
    std::string code;  // empty: valid
    std::string field;
  };
  const std::vector<Case> cases = {
      {{}, "", ""},
      {kTwoSteps, "", ""},
      {{{seconds(0), "a"}, {seconds(0), "b"}}, "", ""},
      {{{minutes(1), ""}}, "escalation_missing_receiver", "steps[0].receiver"},
      {{{minutes(1), "a"}, {-seconds(1), "b"}}, "escalation_negative_after", "steps[1].after"},
      {{{minutes(5), "a"}, {minutes(4), "b"}}, "escalation_steps_out_of_order", "steps[1].after"},
  };
  for (const Case& c : cases) {
    const auto r = validate_escalation_policy(c.steps);
    if (c.code.empty()) {
      EXPECT_TRUE(r.has_value()) << r.error().describe();
      continue;
    }
    ASSERT_FALSE(r.has_value()) << c.code;
    EXPECT_EQ(r.error().code, c.code);
    EXPECT_EQ(r.error().field, c.field);
  }
}

TEST(AckJson, RoundTripAndErrors) {
  const Ack a{.group = R"({}:{team="a"})",
              .by = "alice",
              .comment = "on it",
              .at = T(60),
              .expires_at = T(600) + std::chrono::milliseconds(250),
              .updated_at = T(120)};
  const json j = to_json(a);
  EXPECT_EQ(j.dump(), R"({"at":"2019-12-20T00:01:00Z","by":"alice","comment":"on it",)"
                      R"("expires_at":"2019-12-20T00:10:00.250Z","group":"{}:{team=\"a\"}",)"
                      R"("updated_at":"2019-12-20T00:02:00Z"})");
  auto back = ack_from_json(j);
  ASSERT_TRUE(back.has_value()) << back.error().describe();
  EXPECT_EQ(*back, a);

  // A request: only group and by.
  auto request = ack_from_json(json::parse(R"({"group":"g","by":"bob"})"));
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(*request, (Ack{.group = "g", .by = "bob"}));

  // Where it was given: kept, written only when set, and carried into the kAcked record.
  Ack via = a;
  via.channel = "slack";
  EXPECT_EQ(to_json(via)["channel"], "slack");
  EXPECT_EQ(ack_from_json(to_json(via)).value(), via);
  Acks acks;
  acks.opened("g", "ops", {}, T(0));
  ASSERT_TRUE(acks.ack({.group = "g", .by = "carol", .channel = "dashboard"}, T(30)));
  const auto records = acks.take_records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].kind, RecordKind::kAcked);
  EXPECT_EQ(records[1].channel, "dashboard");

  struct Case {
    std::string body;
    std::string code;
    std::string field;
  };
  const std::vector<Case> cases = {
      {R"([])", "ack_wrong_type", ""},
      {R"({"by":"a"})", "ack_missing_field", "group"},
      {R"({"group":"g"})", "ack_missing_field", "by"},
      {R"({"group":"g","by":1})", "ack_wrong_type", "by"},
      {R"({"group":"g","by":"a","comment":true})", "ack_wrong_type", "comment"},
      {R"({"group":"g","by":"a","channel":3})", "ack_wrong_type", "channel"},
      {R"({"group":"g","by":"a","expires_at":"tomorrow"})", "ack_invalid_timestamp", "expires_at"},
  };
  for (const Case& c : cases) {
    const auto r = ack_from_json(json::parse(c.body));
    ASSERT_FALSE(r.has_value()) << c.body;
    EXPECT_EQ(r.error().code, c.code) << c.body;
    EXPECT_EQ(r.error().field, c.field) << c.body;
  }
}

// The same calls on two Acks, from `at` on: their transcripts must agree.
std::vector<Op> tail() {
  return {{.at = 1000, .kind = Op::kAdvance},
          {.at = 1100, .kind = Op::kNotify, .group = "a"},
          {.at = 1100, .kind = Op::kNotify, .group = "b"},
          {.at = 1200, .kind = Op::kAck, .group = "c", .by = "dave"},
          {.at = 5000, .kind = Op::kAdvance},
          {.at = 6000, .kind = Op::kNotify, .group = "a", .reason = NotifyReason::kAllResolved}};
}

TEST(Acks, SnapshotRestoreRoundTrip) {
  Acks before;
  (void)run(before, {{.at = 0, .kind = Op::kOpen, .group = "a", .policy = kTwoSteps},
                     {.at = 0, .kind = Op::kOpen, .group = "b", .policy = kTwoSteps},
                     {.at = 0, .kind = Op::kOpen, .group = "c", .policy = kTwoSteps},
                     {.at = 300, .kind = Op::kAdvance},  // a, b and c: step 0
                     {.at = 400, .kind = Op::kAck, .group = "a", .expires = 900},
                     {.at = 500, .kind = Op::kAck, .group = "b", .by = "bob"}});

  const AcksSnapshot snap = before.snapshot();
  ASSERT_EQ(snap.groups.size(), 3u);
  EXPECT_EQ(snap.sequence, 8u);
  EXPECT_EQ(snap.groups[0], (OpenGroup{.group = "a",
                                       .receiver = "ops",
                                       .policy = kTwoSteps,
                                       .opened_at = T(0),
                                       .chain_started_at = T(0),
                                       .next_step = 1,
                                       .ack = Ack{.group = "a",
                                                  .by = "alice",
                                                  .comment = "on it",
                                                  .at = T(400),
                                                  .expires_at = T(900),
                                                  .updated_at = T(400)}}));

  const std::string text = to_json(snap).dump();
  auto parsed = acks_snapshot_from_json(json::parse(text));
  ASSERT_TRUE(parsed.has_value()) << parsed.error().describe();
  EXPECT_EQ(*parsed, snap);

  Acks after;
  after.opened("stale", "ops", kTwoSteps, T(0));  // replaced by restore()
  ASSERT_TRUE(after.restore(*parsed));
  EXPECT_EQ(after.snapshot(), snap);
  EXPECT_FALSE(after.is_open("stale"));
  EXPECT_TRUE(after.take_records().empty());
  EXPECT_EQ(after.next_deadline(), before.next_deadline());

  const std::vector<std::string> want = run(before, tail());
  EXPECT_EQ(run(after, tail()), want);
  EXPECT_EQ(want,
            (std::vector<std::string>{
                "900s a ack_expired ops by alice", "1100s a notified ops (repeat interval elapsed)",
                "1100s b held ops by bob (repeat interval elapsed)", "=> held",
                "1200s c acked ops by dave (on it)", "1200s a escalated sre (step 0 after 5m)",
                "2700s a escalated manager (step 1 after 30m)",
                "=> escalate a step 0 to sre at 1200s", "=> escalate a step 1 to manager at 2700s",
                "6000s a notified ops (all alerts resolved)", "6000s a resolved ops"}));
}

TEST(Acks, RestoreErrors) {
  const OpenGroup good{.group = "g",
                       .receiver = "ops",
                       .policy = kTwoSteps,
                       .opened_at = T(0),
                       .chain_started_at = T(0)};
  struct Case {
    std::string name;
    std::vector<OpenGroup> groups;
    std::string code;
    std::string field;
  };
  OpenGroup no_key = good;
  no_key.group.clear();
  OpenGroup beyond = good;
  beyond.next_step = 3;
  OpenGroup early = good;
  early.chain_started_at = T(-1);
  OpenGroup other_ack = good;
  other_ack.ack = Ack{.group = "h", .by = "alice"};
  OpenGroup anonymous_ack = good;
  anonymous_ack.ack = Ack{.group = "g"};
  OpenGroup other = good;
  other.group = "h";
  const std::vector<Case> cases = {
      {"empty key", {no_key}, "ack_restore_invalid", "groups[0].group"},
      {"duplicate", {good, other, good}, "ack_restore_duplicate_group", "groups[2].group"},
      {"next_step beyond", {other, beyond}, "ack_restore_invalid", "groups[1].next_step"},
      {"chain before open", {early}, "ack_restore_invalid", "groups[0].chain_started_at"},
      {"ack of another group", {other_ack}, "ack_restore_invalid", "groups[0].ack.group"},
      {"ack without by", {anonymous_ack}, "ack_restore_invalid", "groups[0].ack.by"},
  };
  for (const Case& c : cases) {
    Acks acks;
    acks.opened("kept", "ops", {}, T(0));
    const auto r = acks.restore({.groups = c.groups, .sequence = 7});
    ASSERT_FALSE(r.has_value()) << c.name;
    EXPECT_EQ(r.error().code, c.code) << c.name;
    EXPECT_EQ(r.error().field, c.field) << c.name;
    EXPECT_TRUE(acks.is_open("kept")) << c.name << ": a refused snapshot changes nothing";
  }

  // Records continue the restored sequence.
  Acks acks;
  OpenGroup fully_escalated = good;
  fully_escalated.next_step = 2;
  ASSERT_TRUE(acks.restore({.groups = {fully_escalated}, .sequence = 41}));
  EXPECT_EQ(acks.next_deadline(), std::nullopt);
  acks.resolved("g", T(10));
  const auto records = acks.take_records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].sequence, 42u);
}

TEST(AcksSnapshotJson, Errors) {
  struct Case {
    std::string body;
    std::string code;
    std::string field;
  };
  const std::string group = R"("group":"g","receiver":"ops","opened_at":"2019-12-20T00:00:00Z",)"
                            R"("chain_started_at":"2019-12-20T00:00:00Z")";
  const std::vector<Case> cases = {
      {R"({"groups":[]})", "ack_missing_field", "sequence"},
      {R"({"sequence":-1,"groups":[]})", "ack_wrong_type", "sequence"},
      {R"({"sequence":1})", "ack_missing_field", "groups"},
      {R"({"sequence":1,"groups":[1]})", "ack_wrong_type", "groups[0]"},
      {R"({"sequence":1,"groups":[{)" + group + "}]}", "ack_missing_field", "groups[0].next_step"},
      {R"({"sequence":1,"groups":[{)" + group +
           R"(,"next_step":0,"policy":[{"after":"5x","receiver":"a"}]}]})",
       "ack_invalid_duration", "groups[0].policy[0].after"},
      {R"({"sequence":1,"groups":[{)" + group + R"(,"next_step":0,"ack":{"group":"g"}}]})",
       "ack_missing_field", "groups[0].ack.by"},
  };
  for (const Case& c : cases) {
    const auto r = acks_snapshot_from_json(json::parse(c.body));
    ASSERT_FALSE(r.has_value()) << c.body;
    EXPECT_EQ(r.error().code, c.code) << c.body;
    EXPECT_EQ(r.error().field, c.field) << c.body;
  }
}

// Acks' records are what incidents() reads: a whole run, end to end.
TEST(Acks, RecordsGiveResponseTimes) {
  Acks acks;
  acks.opened("g", "ops", kTwoSteps, T(0));
  (void)acks.notify("g", NotifyReason::kFirst, false, T(0));
  (void)acks.advance(T(300));
  ASSERT_TRUE(acks.ack({.group = "g", .by = "alice"}, T(400)));
  ASSERT_TRUE(acks.ack({.group = "g", .by = "bob"}, T(500)));
  (void)acks.notify("g", NotifyReason::kAllResolved, false, T(1000));
  acks.opened("g", "ops", kTwoSteps, T(2000));  // reopens: a new incident
  (void)acks.advance(T(2300));
  acks.resolved("g", T(2600));
  acks.opened("h", "ops", {}, T(3000));  // still open at the end
  const std::vector<Record> log = acks.take_records();

  const std::vector<Incident> got = incidents(log);
  ASSERT_EQ(got.size(), 3u);
  // Ids: the kOpened records' sequence numbers.
  EXPECT_EQ(got[0], (Incident{.id = 1,
                              .group = "g",
                              .receiver = "ops",
                              .opened_at = T(0),
                              .acknowledged_at = T(400),
                              .acknowledged_by = "alice",
                              .resolved_at = T(1000),
                              .escalations = 1}));
  EXPECT_EQ(got[1], (Incident{.id = 8,
                              .group = "g",
                              .receiver = "ops",
                              .opened_at = T(2000),
                              .resolved_at = T(2600),
                              .escalations = 1}));
  EXPECT_EQ(got[2], (Incident{.id = 11, .group = "h", .receiver = "ops", .opened_at = T(3000)}));

  const ResponseSummary s = summarise(got);
  EXPECT_EQ(s.incidents, 3u);
  EXPECT_EQ(s.acknowledged, 1u);
  EXPECT_EQ(s.unacknowledged, 2u);
  EXPECT_EQ(s.resolved, 2u);
  EXPECT_EQ(s.open, 1u);
  EXPECT_EQ(s.escalated, 2u);
  EXPECT_EQ(s.mtta.mean, seconds(400));
  EXPECT_EQ(s.mttr.max, seconds(1000));
}

}  // namespace
}  // namespace opsready::alerting
