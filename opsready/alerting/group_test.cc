#include "opsready/alerting/group.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "opsready/alerting/test_support.h"

namespace opsready::alerting {
namespace {

using test::build_or_die;
using test::kNow;
using test::M;

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

const core::TimePoint kT0 = test::kNow;

// group_by team, 30s / 5m / 1h.
RouteSpec team_route() {
  return RouteSpec{.receiver = "ops",
                   .group_by = std::vector<std::string>{"team"},
                   .group_wait = seconds(30),
                   .group_interval = minutes(5),
                   .repeat_interval = hours(1)};
}

core::LabelSet L(std::string name, std::string severity = "warning") {
  return {{"alertname", std::move(name)}, {"team", "a"}, {"severity", std::move(severity)}};
}

// One call on the Dispatcher, `at` after kT0.
struct Step {
  enum Op { kFire, kFireOld, kResolve, kAdvance };
  core::Duration at;
  Op op;
  core::LabelSet labels = {};
};

std::string names(const std::vector<core::Alert>& alerts) {
  std::string out = "[";
  for (const core::Alert& a : alerts) {
    if (out.size() > 1) out += ",";
    out += a.labels.at("alertname");
  }
  return out + "]";
}

// `<seconds after kT0>s <reason> <receiver> <group key> F[firing] R[resolved]`
std::string summary(const Notification& n) {
  return std::to_string(std::chrono::duration_cast<seconds>(n.at - kT0).count()) + "s " +
         std::string(to_string(n.reason)) + " " + n.receiver + " " + n.group.to_string() + " F" +
         names(n.firing) + " R" + names(n.resolved);
}

// Drives `d` as the evaluation strand does: timers due by a put() fire before it.
std::vector<Notification> run(Dispatcher& d, const std::vector<Step>& steps) {
  std::vector<Notification> out;
  std::map<core::LabelSet, core::TimePoint> started;
  for (const Step& s : steps) {
    const core::TimePoint now = kT0 + s.at;
    for (Notification& n : d.advance(now)) out.push_back(std::move(n));
    if (s.op == Step::kAdvance) continue;
    core::Alert a{.labels = s.labels, .received_at = now};
    core::assign_fingerprint(a);
    if (s.op == Step::kResolve) {
      a.starts_at = started.at(s.labels);
      a.ends_at = now;
    } else {
      a.starts_at = s.op == Step::kFireOld ? now - hours(1) : now;
      a.ends_at = now + hours(24);
      started[s.labels] = a.starts_at;
    }
    d.put(a, now);
  }
  return out;
}

std::vector<std::string> summaries(const std::vector<Notification>& ns) {
  std::vector<std::string> out;
  for (const Notification& n : ns) out.push_back(summary(n));
  return out;
}

TEST(Dispatcher, TimersAndReasons) {
  const RouteSpec two_receivers{
      .receiver = "ops",
      .group_by = std::vector<std::string>{"team"},
      .group_wait = seconds(30),
      .group_interval = minutes(5),
      .repeat_interval = hours(1),
      .routes = {RouteSpec{.receiver = "pager", .matchers = M("team=a"), .continue_matching = true},
                 RouteSpec{.receiver = "chat", .matchers = M("team=a")}}};
  RouteSpec by_all = team_route();
  by_all.group_by = std::vector<std::string>{"..."};

  struct Case {
    std::string name;
    RouteSpec spec;
    std::vector<Step> steps;
    std::vector<std::string> want;
    std::size_t groups_left;
  };
  const std::string g = R"({}:{team="a"})";
  const std::vector<Case> cases = {
      {"first notification after group_wait",
       team_route(),
       {{seconds(0), Step::kFire, L("A")}, {seconds(29), Step::kAdvance}},
       {},
       1},
      {"first notification at group_wait",
       team_route(),
       {{seconds(0), Step::kFire, L("A")}, {seconds(30), Step::kAdvance}},
       {"30s first notification ops " + g + " F[A] R[]"},
       1},
      {"a second alert within group_wait joins the first notification",
       team_route(),
       {{seconds(0), Step::kFire, L("B")},
        {seconds(29), Step::kFire, L("A")},
        {seconds(30), Step::kAdvance}},
       {"30s first notification ops " + g + " F[A,B] R[]"},
       1},
      {"a new alert after the first notification waits for the next group_interval tick",
       team_route(),
       {{seconds(0), Step::kFire, L("A")},
        {minutes(1), Step::kFire, L("B")},
        {minutes(5) + seconds(29), Step::kAdvance},
        {minutes(5) + seconds(30), Step::kAdvance}},
       {"30s first notification ops " + g + " F[A] R[]",
        "330s new alerts added ops " + g + " F[A,B] R[]"},
       1},
      {"no change: nothing until more than repeat_interval has passed, then a repeat",
       team_route(),
       {{seconds(0), Step::kFire, L("A")},
        {hours(1) + seconds(30), Step::kAdvance},  // the tick exactly 1h later: no repeat
        {hours(1) + minutes(5) + seconds(29), Step::kAdvance},
        {hours(1) + minutes(5) + seconds(30), Step::kAdvance},
        {hours(2) + minutes(10) + seconds(30), Step::kAdvance}},
       {"30s first notification ops " + g + " F[A] R[]",
        "3930s repeat interval elapsed ops " + g + " F[A] R[]",
        "7830s repeat interval elapsed ops " + g + " F[A] R[]"},
       1},
      {"resolution: new resolved, then all resolved, and the group is removed",
       team_route(),
       {{seconds(0), Step::kFire, L("A")},
        {seconds(0), Step::kFire, L("B")},
        {minutes(1), Step::kResolve, L("B")},
        {minutes(6), Step::kResolve, L("A")},
        {hours(3), Step::kAdvance}},
       {"30s first notification ops " + g + " F[A,B] R[]",
        "330s some alerts resolved ops " + g + " F[A] R[B]",
        "630s all alerts resolved ops " + g + " F[] R[A]"},
       0},
      {"an alert resolved between ticks is notified once, then leaves the group",
       team_route(),
       {{seconds(0), Step::kFire, L("A")},
        {seconds(0), Step::kFire, L("B")},
        {minutes(1), Step::kResolve, L("B")},
        {minutes(10) + seconds(30), Step::kAdvance}},
       {"30s first notification ops " + g + " F[A,B] R[]",
        "330s some alerts resolved ops " + g + " F[A] R[B]"},
       1},
      {"flapping within group_wait is never notified",
       team_route(),
       {{seconds(0), Step::kFire, L("A")},
        {seconds(10), Step::kResolve, L("A")},
        {seconds(30), Step::kAdvance},
        {hours(5), Step::kAdvance}},
       {},
       0},
      {"an alert resolved within group_wait goes out resolved with the first notification",
       team_route(),
       {{seconds(0), Step::kFire, L("A")},
        {seconds(1), Step::kFire, L("B")},
        {seconds(10), Step::kResolve, L("B")},
        {seconds(30), Step::kAdvance}},
       {"30s first notification ops " + g + " F[A] R[B]"},
       1},
      {"after all resolved, the next alert starts a new group with its own group_wait",
       team_route(),
       {{seconds(0), Step::kFire, L("A")},
        {minutes(1), Step::kResolve, L("A")},
        {minutes(5) + seconds(30), Step::kAdvance},
        {minutes(7), Step::kFire, L("A")},
        {minutes(7) + seconds(30), Step::kAdvance}},
       {"30s first notification ops " + g + " F[A] R[]",
        "330s all alerts resolved ops " + g + " F[] R[A]",
        "450s first notification ops " + g + " F[A] R[]"},
       1},
      {"a severity rise inside a repeat window notifies at once",
       team_route(),
       {{seconds(0), Step::kFire, L("W", "warning")},
        {minutes(2), Step::kFire, L("C", "critical")},
        {minutes(2), Step::kAdvance},
        {minutes(3), Step::kFire, L("W2", "warning")},
        {minutes(7), Step::kAdvance}},
       {"30s first notification ops " + g + " F[W] R[]",
        "120s new alerts added ops " + g + " F[C,W] R[]",
        // The tick after the escalation is group_interval later: 2m + 5m.
        "420s new alerts added ops " + g + " F[C,W,W2] R[]"},
       1},
      {"the same severity waits for the tick",
       team_route(),
       {{seconds(0), Step::kFire, L("W", "warning")},
        {minutes(2), Step::kFire, L("W2", "warning")},
        {minutes(5) + seconds(29), Step::kAdvance},
        {minutes(5) + seconds(30), Step::kAdvance}},
       {"30s first notification ops " + g + " F[W] R[]",
        "330s new alerts added ops " + g + " F[W,W2] R[]"},
       1},
      {"an unknown severity ranks below info",
       team_route(),
       {{seconds(0), Step::kFire, L("X", "page-me")},
        {minutes(2), Step::kFire, L("I", "info")},
        {minutes(2), Step::kAdvance}},
       {"30s first notification ops " + g + " F[X] R[]",
        "120s new alerts added ops " + g + " F[I,X] R[]"},
       1},
      {"a severity rise within group_wait keeps group_wait",
       team_route(),
       {{seconds(0), Step::kFire, L("W", "warning")},
        {seconds(10), Step::kFire, L("C", "critical")},
        {seconds(29), Step::kAdvance},
        {seconds(30), Step::kAdvance}},
       {"30s first notification ops " + g + " F[C,W] R[]"},
       1},
      {"an alert older than group_wait flushes a group that has not flushed at once",
       team_route(),
       {{seconds(0), Step::kFire, L("A")},
        {seconds(10), Step::kFireOld, L("B")},
        {seconds(10), Step::kAdvance},
        {minutes(5) + seconds(10), Step::kAdvance}},
       {"10s first notification ops " + g + " F[A,B] R[]"},
       1},
      {"two routes with continue: two groups, two notifications",
       two_receivers,
       {{seconds(0), Step::kFire, L("A")}, {seconds(30), Step::kAdvance}},
       {R"(30s first notification pager {}/{team="a"}/0:{team="a"} F[A] R[])",
        R"(30s first notification chat {}/{team="a"}/1:{team="a"} F[A] R[])"},
       2},
      {"group_by ...: each alert its own group, ties in key order",
       by_all,
       {{seconds(0), Step::kFire, L("B")},
        {seconds(0), Step::kFire, L("A")},
        {seconds(30), Step::kAdvance}},
       {R"(30s first notification ops {}:{alertname="A", severity="warning", team="a"} F[A] R[])",
        R"(30s first notification ops {}:{alertname="B", severity="warning", team="a"} F[B] R[])"},
       2},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const Route tree = build_or_die(c.spec);
    Dispatcher d(tree);
    const std::vector<Notification> got = run(d, c.steps);
    EXPECT_EQ(summaries(got), c.want);
    EXPECT_EQ(d.group_count(), c.groups_left);
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].sequence, i + 1);
  }
}

TEST(Dispatcher, NextDeadlineFollowsTheTimers) {
  const Route tree = build_or_die(team_route());
  Dispatcher d(tree);
  EXPECT_EQ(d.next_deadline(), std::nullopt);
  EXPECT_TRUE(d.advance(kT0 + hours(1)).empty());

  core::Alert a{.labels = L("A"), .starts_at = kT0, .ends_at = kT0 + hours(24)};
  core::assign_fingerprint(a);
  d.put(a, kT0);
  EXPECT_EQ(d.next_deadline(), kT0 + seconds(30));
  EXPECT_TRUE(d.advance(kT0 + seconds(29)).empty());
  EXPECT_EQ(d.advance(kT0 + seconds(30)).size(), 1u);
  EXPECT_EQ(d.next_deadline(), kT0 + seconds(30) + minutes(5));

  // A critical one escalates: due at the put's own time.
  core::Alert c{
      .labels = L("C", "critical"), .starts_at = kT0 + minutes(1), .ends_at = kT0 + hours(24)};
  core::assign_fingerprint(c);
  d.put(c, kT0 + minutes(1));
  EXPECT_EQ(d.next_deadline(), kT0 + minutes(1));
  EXPECT_EQ(d.advance(kT0 + minutes(1)).size(), 1u);
  EXPECT_EQ(d.next_deadline(), kT0 + minutes(6));
}

TEST(Dispatcher, FindShowsTheGroupState) {
  const Route tree = build_or_die(team_route());
  Dispatcher d(tree);
  const GroupKey key = group_key(tree, L("A"));
  EXPECT_EQ(d.find(key), nullptr);

  core::Alert a{.labels = L("A"), .starts_at = kT0, .ends_at = kT0 + hours(24)};
  d.put(a, kT0 + seconds(5));  // no fingerprint given: put() computes it
  const Group* g = d.find(key);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->key, key);
  EXPECT_EQ(g->receiver(), "ops");
  EXPECT_EQ(g->first_seen, kT0 + seconds(5));
  EXPECT_EQ(g->last_notified, std::nullopt);
  ASSERT_EQ(g->alerts.size(), 1u);
  EXPECT_EQ(g->alerts.begin()->first, core::alert_fingerprint_value(a.labels));

  // A re-put of the same fingerprint replaces the stored alert.
  a.annotations = {{"summary", "again"}};
  d.put(a, kT0 + seconds(6));
  g = d.find(key);
  ASSERT_EQ(g->alerts.size(), 1u);
  EXPECT_EQ(g->alerts.begin()->second->annotations.at("summary"), "again");

  const std::vector<Notification> ns = d.advance(kT0 + seconds(35));
  ASSERT_EQ(ns.size(), 1u);
  g = d.find(key);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->last_notified, kT0 + seconds(35));
  EXPECT_EQ(g->last_notified_hash, ns[0].hash);
  EXPECT_EQ(ns[0].hash, alert_set_hash(ns[0].firing, ns[0].resolved));
  EXPECT_EQ(g->notified_firing, std::vector<std::string>{core::alert_fingerprint(a.labels)});
  EXPECT_EQ(g->notified_severity, severity_rank("warning"));
}

TEST(Dispatcher, AlertsAreInAlertmanagersOrder) {
  const Route tree = build_or_die(RouteSpec{.receiver = "ops", .group_wait = seconds(0)});
  Dispatcher d(tree);
  const std::vector<core::LabelSet> put = {
      {{"alertname", "Z"}},
      {{"alertname", "Y"}, {"instance", "i1"}},
      {{"alertname", "X"}, {"job", "b"}},
      {{"alertname", "W"}, {"job", "a"}, {"instance", "i2"}},
      {{"alertname", "V"}, {"job", "a"}, {"instance", "i1"}},
      {{"alertname", "A"}, {"zone", "z"}},
  };
  for (const core::LabelSet& labels : put) {
    d.put(core::Alert{.labels = labels, .starts_at = kT0, .ends_at = kT0 + hours(1)}, kT0);
  }
  const std::vector<Notification> ns = d.advance(kT0);
  ASSERT_EQ(ns.size(), 1u);
  // job first (alerts with it before those without), then instance, then the smaller label
  // set, then names and values in order.
  EXPECT_EQ(names(ns[0].firing), "[V,W,X,Y,Z,A]");
}

TEST(Dispatcher, AdvanceOnceEqualsAdvanceAtEveryDeadline) {
  const std::vector<Step> script = {
      {seconds(0), Step::kFire, L("A")},
      {seconds(0), Step::kFire, L("B", "info")},
      {minutes(20), Step::kResolve, L("B", "info")},
  };
  const Route tree = build_or_die(team_route());

  Dispatcher once(tree);
  std::vector<Notification> a = run(once, script);
  for (Notification& n : once.advance(kT0 + hours(3))) a.push_back(std::move(n));

  Dispatcher stepwise(tree);
  std::vector<Notification> b = run(stepwise, script);
  while (auto due = stepwise.next_deadline()) {
    if (*due > kT0 + hours(3)) break;
    for (Notification& n : stepwise.advance(*due)) b.push_back(std::move(n));
  }
  EXPECT_EQ(a, b);
  EXPECT_EQ(summaries(a), (std::vector<std::string>{
                              R"(30s first notification ops {}:{team="a"} F[A,B] R[])",
                              R"(1230s some alerts resolved ops {}:{team="a"} F[A] R[B])",
                              R"(5130s repeat interval elapsed ops {}:{team="a"} F[A] R[])",
                              R"(9030s repeat interval elapsed ops {}:{team="a"} F[A] R[])",
                          }));
}

TEST(Dispatcher, ABudgetedAdvanceTicksAPrefixAndTheRestStayDue) {
  // Four groups (by team) of 3 alerts each, all due at kT0 + 30s.
  const Route tree = build_or_die(team_route());
  const auto fill = [](Dispatcher& d) {
    for (const std::string team : {"a", "b", "c", "d"}) {
      for (const std::string name : {"X", "Y", "Z"}) {
        core::Alert a{.labels = {{"alertname", name}, {"team", team}},
                      .starts_at = kT0,
                      .ends_at = kT0 + hours(24),
                      .received_at = kT0};
        core::assign_fingerprint(a);
        d.put(a, kT0);
      }
    }
  };
  const core::TimePoint due = kT0 + seconds(30);
  Dispatcher whole(tree);
  fill(whole);
  const std::vector<Notification> all = whole.advance(due);
  ASSERT_EQ(all.size(), 4u);

  Dispatcher budgeted(tree);
  fill(budgeted);
  std::vector<Notification> parts;
  std::vector<std::size_t> per_call;
  while (budgeted.next_deadline() && *budgeted.next_deadline() <= due) {
    std::vector<Notification> ns = budgeted.advance(due, 5);  // 3 alerts per group: two groups
    per_call.push_back(ns.size());
    for (Notification& n : ns) parts.push_back(std::move(n));
  }
  EXPECT_EQ(per_call, (std::vector<std::size_t>{2, 2}));
  EXPECT_EQ(parts, all);  // the same notifications, in the same order
  // A budget smaller than one group still ticks that group.
  Dispatcher tiny(tree);
  fill(tiny);
  EXPECT_EQ(tiny.advance(due, 1).size(), 1u);
}

// Every byte of a notification, as a notification log or a replay golden file would keep it.
std::string render(const std::vector<Notification>& ns) {
  std::string out;
  for (const Notification& n : ns) {
    nlohmann::json alerts = nlohmann::json::array();
    for (const auto* list : {&n.firing, &n.resolved}) {
      for (const core::Alert& a : *list) alerts.push_back(core::to_json(a, n.at));
    }
    out += nlohmann::json{{"sequence", n.sequence},
                          {"group", n.group.to_string()},
                          {"receiver", n.receiver},
                          {"reason", to_string(n.reason)},
                          {"at", n.at.time_since_epoch().count()},
                          {"hash", n.hash},
                          {"alerts", alerts}}
               .dump();
    out += '\n';
  }
  return out;
}

TEST(Dispatcher, ReplayIsDeterministic) {
  const RouteSpec spec{.receiver = "ops",
                       .group_by = std::vector<std::string>{"team"},
                       .group_wait = seconds(30),
                       .group_interval = minutes(5),
                       .repeat_interval = minutes(30),
                       .routes = {RouteSpec{.receiver = "pager",
                                            .group_by = std::vector<std::string>{"..."},
                                            .matchers = M("severity=critical"),
                                            .continue_matching = true},
                                  RouteSpec{.receiver = "chat", .matchers = M("team=~a|b")}}};
  auto labels = [](std::string name, std::string team, std::string severity) {
    return core::LabelSet{{"alertname", std::move(name)},
                          {"team", std::move(team)},
                          {"severity", std::move(severity)}};
  };
  const std::vector<Step> script = {
      {seconds(0), Step::kFire, labels("Lag", "a", "warning")},
      {seconds(3), Step::kFire, labels("Lag", "b", "info")},
      {seconds(5), Step::kFire, labels("Flap", "a", "warning")},
      {seconds(20), Step::kResolve, labels("Flap", "a", "warning")},
      {minutes(2), Step::kFire, labels("Down", "a", "critical")},
      {minutes(4), Step::kFireOld, labels("Disk", "c", "warning")},
      {minutes(9), Step::kResolve, labels("Lag", "a", "warning")},
      {minutes(12), Step::kFire, labels("Down", "b", "critical")},
      {minutes(40), Step::kResolve, labels("Down", "a", "critical")},
      {minutes(41), Step::kResolve, labels("Down", "b", "critical")},
      {hours(2), Step::kAdvance},
  };
  const Route tree = build_or_die(spec);
  Dispatcher first(tree);
  Dispatcher second(tree);
  const std::vector<Notification> a = run(first, script);
  const std::vector<Notification> b = run(second, script);
  const std::vector<std::string> want = {
      R"(30s first notification chat {}/{team=~"a|b"}/1:{team="a"} F[Lag] R[Flap])",
      R"(33s first notification chat {}/{team=~"a|b"}/1:{team="b"} F[Lag] R[])",
      R"(120s new alerts added chat {}/{team=~"a|b"}/1:{team="a"} F[Down,Lag] R[])",
      R"(150s first notification pager {}/{severity="critical"}/0:{alertname="Down", severity="critical", team="a"} F[Down] R[])",
      R"(240s first notification ops {}:{team="c"} F[Disk] R[])",
      R"(720s some alerts resolved chat {}/{team=~"a|b"}/1:{team="a"} F[Down] R[Lag])",
      R"(720s new alerts added chat {}/{team=~"a|b"}/1:{team="b"} F[Down,Lag] R[])",
      R"(750s first notification pager {}/{severity="critical"}/0:{alertname="Down", severity="critical", team="b"} F[Down] R[])",
      R"(2250s repeat interval elapsed pager {}/{severity="critical"}/0:{alertname="Down", severity="critical", team="a"} F[Down] R[])",
      R"(2340s repeat interval elapsed ops {}:{team="c"} F[Disk] R[])",
      R"(2520s all alerts resolved chat {}/{team=~"a|b"}/1:{team="a"} F[] R[Down])",
      R"(2520s some alerts resolved chat {}/{team=~"a|b"}/1:{team="b"} F[Lag] R[Down])",
      R"(2550s all alerts resolved pager {}/{severity="critical"}/0:{alertname="Down", severity="critical", team="a"} F[] R[Down])",
      R"(2550s all alerts resolved pager {}/{severity="critical"}/0:{alertname="Down", severity="critical", team="b"} F[] R[Down])",
      R"(4440s repeat interval elapsed ops {}:{team="c"} F[Disk] R[])",
      R"(4620s repeat interval elapsed chat {}/{team=~"a|b"}/1:{team="b"} F[Lag] R[])",
      R"(6540s repeat interval elapsed ops {}:{team="c"} F[Disk] R[])",
      R"(6720s repeat interval elapsed chat {}/{team=~"a|b"}/1:{team="b"} F[Lag] R[])",
  };
  EXPECT_EQ(summaries(a), want);
  EXPECT_EQ(a, b);
  EXPECT_EQ(render(a), render(b));
  EXPECT_EQ(first.group_count(), second.group_count());
}

TEST(Group, AlertSetHash) {
  auto alert = [](std::string name) {
    core::Alert a{.labels = {{"alertname", std::move(name)}}};
    core::assign_fingerprint(a);
    return a;
  };
  const core::Alert a = alert("A");
  const core::Alert b = alert("B");
  EXPECT_EQ(alert_set_hash({}, {}), 14695981039346656037ULL);
  EXPECT_EQ(alert_set_hash({a, b}, {}), alert_set_hash({b, a}, {}));
  EXPECT_NE(alert_set_hash({a, b}, {}), alert_set_hash({a}, {b}));
  EXPECT_NE(alert_set_hash({a}, {}), alert_set_hash({}, {a}));
  EXPECT_NE(alert_set_hash({a}, {}), alert_set_hash({b}, {}));
  core::Alert a_changed = a;
  a_changed.annotations = {{"summary", "x"}};
  EXPECT_EQ(alert_set_hash({a}, {}), alert_set_hash({a_changed}, {}));

  // FNV-1a written out for one firing alert.
  std::uint64_t want = 14695981039346656037ULL;
  auto add = [&want](unsigned char c) {
    want ^= c;
    want *= 1099511628211ULL;
  };
  for (const char c : a.fingerprint) add(static_cast<unsigned char>(c));
  add(0xff);
  add('f');
  add(0xff);
  EXPECT_EQ(alert_set_hash({a}, {}), want);
}

TEST(Group, SeverityRankAndReasonNames) {
  struct Case {
    std::string severity;
    int want;
  };
  const std::vector<Case> cases = {{"", 0},     {"page", 0},    {"Critical", 0},
                                   {"info", 1}, {"warning", 2}, {"critical", 3}};
  for (const Case& c : cases) EXPECT_EQ(severity_rank(c.severity), c.want) << c.severity;

  EXPECT_EQ(to_string(NotifyReason::kFirst), "first notification");
  EXPECT_EQ(to_string(NotifyReason::kNewAlerts), "new alerts added");
  EXPECT_EQ(to_string(NotifyReason::kNewResolved), "some alerts resolved");
  EXPECT_EQ(to_string(NotifyReason::kAllResolved), "all alerts resolved");
  EXPECT_EQ(to_string(NotifyReason::kRepeat), "repeat interval elapsed");
}

}  // namespace
}  // namespace opsready::alerting

namespace opsready::alerting {
namespace {

TEST(Dispatcher, MutedAlertsAreLeftOutBeforeTheDecision) {
  const Route tree = build_or_die(team_route());
  Dispatcher d(tree);
  bool silenced = true;
  d.set_mutes({.alert = [&](const core::Alert& a, core::TimePoint) {
    return silenced && a.labels.at("alertname") == "Muted";
  }});
  const std::vector<std::string> first = summaries(run(d, {{seconds(0), Step::kFire, L("Muted")},
                                                           {seconds(0), Step::kFire, L("Loud")},
                                                           {seconds(30), Step::kAdvance}}));
  EXPECT_EQ(first,
            (std::vector<std::string>{R"(30s first notification ops {}:{team="a"} F[Loud] R[])"}));
  // The silence ends: the muted alert was never notified, so it is new to the group's log.
  silenced = false;
  EXPECT_EQ(
      summaries(run(d, {{minutes(5) + seconds(30), Step::kAdvance}})),
      (std::vector<std::string>{R"(330s new alerts added ops {}:{team="a"} F[Loud,Muted] R[])"}));
}

TEST(Dispatcher, ATickWhoseAlertsAreAllMutedDecidesNothing) {
  const Route tree = build_or_die(team_route());
  Dispatcher d(tree);
  bool silenced = false;
  d.set_mutes({.alert = [&](const core::Alert&, core::TimePoint) { return silenced; }});
  EXPECT_EQ(run(d, {{seconds(0), Step::kFire, L("A")}, {seconds(30), Step::kAdvance}}).size(), 1u);
  silenced = true;  // not "all resolved": the receiver is told nothing while the silence lasts
  EXPECT_TRUE(run(d, {{hours(3), Step::kAdvance}}).empty());
  silenced = false;  // the log is as it was: the first tick after the silence repeats
  EXPECT_EQ(
      summaries(run(d, {{hours(3) + minutes(5), Step::kAdvance}})),
      (std::vector<std::string>{R"(10830s repeat interval elapsed ops {}:{team="a"} F[A] R[])"}));
}

TEST(Dispatcher, AMutedRouteDecidesNothingButResolvedAlertsStillLeave) {
  const Route tree = build_or_die(team_route());
  Dispatcher d(tree);
  bool muted = true;
  d.set_mutes({.route = [&](const Route&, core::TimePoint) { return muted; }});
  EXPECT_TRUE(run(d, {{seconds(0), Step::kFire, L("A")},
                      {seconds(30), Step::kAdvance},
                      {minutes(1), Step::kResolve, L("A")},
                      {minutes(6), Step::kAdvance}})
                  .empty());
  EXPECT_EQ(d.group_count(), 0u);
}

TEST(Dispatcher, ARestoredLogKeepsTheFirstTickAfterARestartQuiet) {
  const Route tree = build_or_die(team_route());
  GroupLog log;
  {
    Dispatcher before(tree);
    ASSERT_EQ(
        run(before, {{seconds(0), Step::kFireOld, L("A")}, {seconds(30), Step::kAdvance}}).size(),
        1u);
    log = before.log(before.groups().begin()->first).value();
  }
  // A new process: the alert comes back from the store, the log is restored, and the tick
  // right after (the alert is older than group_wait) notifies nothing.
  Dispatcher after(tree);
  after.restore_group(log);  // no such group yet: ignored
  EXPECT_EQ(after.group_count(), 0u);
  (void)run(after, {{minutes(2), Step::kFireOld, L("A")}});
  after.restore_group(log);  // after the restored alerts are back, before the first tick
  EXPECT_TRUE(run(after, {{minutes(2), Step::kAdvance}}).empty());
  // Without the log, the same restart notifies again.
  Dispatcher amnesiac(tree);
  EXPECT_EQ(
      run(amnesiac, {{minutes(2), Step::kFireOld, L("A")}, {minutes(2), Step::kAdvance}}).size(),
      1u);
  EXPECT_FALSE(amnesiac.log(GroupKey{.route_id = "{}", .labels = {{"team", "b"}}}).has_value());
}

}  // namespace
}  // namespace opsready::alerting
