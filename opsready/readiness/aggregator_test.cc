#include "opsready/readiness/aggregator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "opsready/core/time.h"
#include "opsready/readiness/readiness.h"

namespace opsready::readiness {
namespace {

using core::Issue;
using core::Severity;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;
using Decision = GateDecision::Decision;

const TimePoint kNow = core::parse_rfc3339("2025-01-02T00:00:00Z").value();

ComponentSnapshot comp(std::string name, Status status, TimePoint observed,
                       std::string summary = {}) {
  return {.component = std::move(name),
          .status = status,
          .summary = std::move(summary),
          .observed_at = observed,
          .issues = {},
          .metadata = nlohmann::json::object()};
}

std::vector<std::string> codes(const std::vector<GateReason>& reasons) {
  std::vector<std::string> out;
  for (const auto& r : reasons) out.push_back(r.code);
  return out;
}

std::vector<std::string> changed_names(const Aggregator& agg) {
  std::vector<std::string> out;
  for (const auto& c : agg.changes()) out.emplace_back(c.component);
  return out;
}

// The incremental state against the batch oracle: every accessor against the materialized
// snapshot, the snapshot against aggregate().
void expect_matches(Aggregator& agg, const std::vector<ComponentSnapshot>& inputs, TimePoint now) {
  const ReadinessSnapshot want = aggregate(inputs, agg.policy(), now);
  const auto got = agg.snapshot();
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(*got, want);
  EXPECT_EQ(agg.snapshot(), got) << "a second call at the same version is the same snapshot";
  EXPECT_EQ(agg.status(), want.status);
  EXPECT_EQ(agg.decision(), want.gate.decision);
  EXPECT_EQ(agg.gate(), want.gate);
  EXPECT_EQ(agg.size(), want.components.size());
  for (Status s : core::kAllStatuses) EXPECT_EQ(agg.count(s), want.counts.at(s));
  for (const auto& c : want.components) {
    const ComponentSnapshot* view = agg.component(c.component);
    ASSERT_NE(view, nullptr) << c.component;
    EXPECT_EQ(*view, c);
  }
}

// ---- targeted ----

TEST(Aggregator, EmptyWarnsThatNothingReported) {
  Aggregator agg(GatePolicy{});
  EXPECT_FALSE(agg.evaluate(kNow));
  EXPECT_EQ(agg.version(), 0u);
  EXPECT_EQ(agg.size(), 0u);
  EXPECT_EQ(agg.status(), Status::kOk);
  EXPECT_EQ(agg.decision(), Decision::kWarn);
  const auto snap = agg.snapshot();
  EXPECT_EQ(snap->gate.warnings,
            (std::vector<GateReason>{{"no_components", "", "no component has reported yet"}}));
  EXPECT_EQ(agg.next_deadline(), std::nullopt);
  expect_matches(agg, {}, kNow);
}

TEST(Aggregator, PutKeepsTheLatestAndLetsTheLaterCallWinATie) {
  Aggregator agg(GatePolicy{});
  EXPECT_TRUE(agg.put(comp("x", Status::kOk, kNow - seconds(5), "first")));
  EXPECT_TRUE(agg.put(comp("x", Status::kWarn, kNow - seconds(5), "tie")));
  EXPECT_FALSE(agg.put(comp("x", Status::kFail, kNow - seconds(6), "older")));
  // Nothing is aggregated before evaluate().
  EXPECT_EQ(agg.component("x"), nullptr);
  EXPECT_TRUE(agg.evaluate(kNow));
  ASSERT_NE(agg.component("x"), nullptr);
  EXPECT_EQ(agg.component("x")->summary, "tie");
  EXPECT_FALSE(agg.put(comp("x", Status::kFail, kNow - seconds(6), "older")));
  EXPECT_FALSE(agg.evaluate(kNow));
  // The same snapshot again is no change.
  EXPECT_TRUE(agg.put(comp("x", Status::kWarn, kNow - seconds(5), "tie")));
  EXPECT_FALSE(agg.evaluate(kNow));
  EXPECT_EQ(agg.version(), 1u);
  EXPECT_TRUE(agg.changes().empty());
}

TEST(Aggregator, StaleOnlyPastMaxAgeAndDeadlineIsTheFirstStaleInstant) {
  GatePolicy policy;
  policy.max_age = minutes(5);
  Aggregator agg(policy);
  const TimePoint t0 = kNow;
  agg.put(comp("x", Status::kOk, t0, "fine"));
  ASSERT_TRUE(agg.evaluate(t0));
  EXPECT_EQ(agg.next_deadline(), t0 + minutes(5) + nanoseconds(1));

  // Exactly max age old is fresh (aggregate() stales on age > max_age).
  EXPECT_FALSE(agg.evaluate(t0 + minutes(5)));
  EXPECT_EQ(agg.component("x")->status, Status::kOk);
  expect_matches(agg, {comp("x", Status::kOk, t0, "fine")}, t0 + minutes(5));

  EXPECT_TRUE(agg.evaluate(*agg.next_deadline()));
  ASSERT_EQ(agg.changes().size(), 1u);
  const auto& change = agg.changes()[0];
  EXPECT_EQ(change.component, "x");
  ASSERT_NE(change.before, nullptr);
  ASSERT_NE(change.after, nullptr);
  EXPECT_EQ(change.before->status, Status::kOk);
  EXPECT_TRUE(change.before->issues.empty());
  EXPECT_EQ(change.after->status, Status::kWarn);
  ASSERT_EQ(change.after->issues.size(), 1u);
  EXPECT_EQ(change.after->issues[0].code, "stale_snapshot");
  EXPECT_EQ(agg.next_deadline(), std::nullopt);
  EXPECT_EQ(agg.decision(), Decision::kWarn);
  expect_matches(agg, {comp("x", Status::kOk, t0, "fine")}, t0 + minutes(5) + nanoseconds(1));
}

TEST(Aggregator, StaleAgeInTheMessageIsNotAChangeButIsKeptCurrent) {
  GatePolicy policy;
  policy.max_age = minutes(5);
  Aggregator agg(policy);
  const std::vector<ComponentSnapshot> in = {comp("x", Status::kOk, kNow - minutes(10))};
  agg.put(in[0]);
  ASSERT_TRUE(agg.evaluate(kNow));
  const auto first = agg.snapshot();
  const ReadinessSnapshot kept = *first;

  EXPECT_FALSE(agg.evaluate(kNow + seconds(30)));
  EXPECT_EQ(agg.version(), 1u);
  EXPECT_EQ(agg.component("x")->issues.back().message,
            "snapshot observed at 2025-01-01T23:50:00Z is 10m30s old (max age 5m)");
  const auto second = agg.snapshot();
  EXPECT_NE(second, first);
  EXPECT_EQ(*first, kept) << "a snapshot handed out never changes";
  expect_matches(agg, in, kNow + seconds(30));
}

TEST(Aggregator, StaleComponentRefreshedBySnapshot) {
  GatePolicy policy;
  policy.max_age = minutes(5);
  policy.components["x"] = {.stale_status = Status::kFail};
  Aggregator agg(policy);
  agg.put(comp("x", Status::kOk, kNow - minutes(6)));
  ASSERT_TRUE(agg.evaluate(kNow));
  EXPECT_EQ(agg.component("x")->status, Status::kFail);
  EXPECT_EQ(agg.decision(), Decision::kBlock);
  EXPECT_EQ(agg.next_deadline(), std::nullopt);

  const std::vector<ComponentSnapshot> in = {comp("x", Status::kOk, kNow, "back")};
  agg.put(in[0]);
  ASSERT_TRUE(agg.evaluate(kNow + seconds(1)));
  ASSERT_EQ(agg.changes().size(), 1u);
  EXPECT_EQ(agg.changes()[0].before->status, Status::kFail);
  // The view before is written as of the previous evaluation.
  EXPECT_EQ(agg.changes()[0].before->issues.back().message,
            "snapshot observed at 2025-01-01T23:54:00Z is 6m old (max age 5m)");
  EXPECT_EQ(*agg.changes()[0].after, in[0]);
  EXPECT_EQ(agg.decision(), Decision::kPass);
  EXPECT_EQ(agg.next_deadline(), kNow + minutes(5) + nanoseconds(1));
  expect_matches(agg, in, kNow + seconds(1));
}

TEST(Aggregator, TimeGoingBackMakesAComponentFreshAgain) {
  GatePolicy policy;
  policy.max_age = minutes(5);
  Aggregator agg(policy);
  const std::vector<ComponentSnapshot> in = {comp("x", Status::kWarn, kNow)};
  agg.put(in[0]);
  ASSERT_TRUE(agg.evaluate(kNow + hours(1)));
  EXPECT_EQ(agg.component("x")->issues.size(), 1u);
  ASSERT_TRUE(agg.evaluate(kNow + minutes(1)));
  EXPECT_EQ(*agg.component("x"), in[0]);
  expect_matches(agg, in, kNow + minutes(1));
}

TEST(Aggregator, TimeGoingBackRestoresTheStatusOfTheLatestSnapshot) {
  GatePolicy policy;
  policy.max_age = minutes(5);
  Aggregator agg(policy);
  std::vector<ComponentSnapshot> in = {comp("x", Status::kOk, kNow)};
  agg.put(in[0]);
  ASSERT_TRUE(agg.evaluate(kNow + minutes(10)));
  // Stale, ok and warn both show as warn: the same view, so no change ...
  in.push_back(comp("x", Status::kWarn, kNow));
  agg.put(in[1]);
  EXPECT_FALSE(agg.evaluate(kNow + minutes(10)));
  // ... but fresh again, the later snapshot's own status shows.
  ASSERT_TRUE(agg.evaluate(kNow + minutes(1)));
  EXPECT_EQ(agg.component("x")->status, Status::kWarn);
  expect_matches(agg, in, kNow + minutes(1));
}

TEST(Aggregator, RequiredMissingThenArriving) {
  GatePolicy policy;
  policy.components["r"] = {.required = true};
  Aggregator agg(policy);
  EXPECT_EQ(agg.size(), 0u) << "nothing before the first evaluate()";
  ASSERT_TRUE(agg.evaluate(kNow));
  ASSERT_EQ(agg.changes().size(), 1u);
  EXPECT_EQ(agg.changes()[0].before, nullptr);
  EXPECT_EQ(*agg.changes()[0].after, detail::missing_component("r", kNow));
  EXPECT_EQ(agg.decision(), Decision::kBlock);
  EXPECT_EQ(codes(agg.snapshot()->gate.blocking_reasons),
            (std::vector<std::string>{"component_r_fail", "required_component_missing_r"}));
  // Its observed_at follows the clock without counting as a change.
  EXPECT_FALSE(agg.evaluate(kNow + seconds(10)));
  EXPECT_EQ(agg.component("r")->observed_at, kNow + seconds(10));
  expect_matches(agg, {}, kNow + seconds(10));
  EXPECT_FALSE(agg.remove("r")) << "a missing component is not known";

  const std::vector<ComponentSnapshot> in = {comp("r", Status::kOk, kNow + seconds(15))};
  agg.put(in[0]);
  ASSERT_TRUE(agg.evaluate(kNow + seconds(20)));
  ASSERT_EQ(agg.changes().size(), 1u);
  EXPECT_EQ(agg.changes()[0].before->observed_at, kNow + seconds(10));
  EXPECT_EQ(*agg.changes()[0].after, in[0]);
  EXPECT_EQ(agg.decision(), Decision::kPass);
  expect_matches(agg, in, kNow + seconds(20));

  // Removed again, it is missing again.
  EXPECT_TRUE(agg.remove("r"));
  ASSERT_TRUE(agg.evaluate(kNow + seconds(30)));
  EXPECT_EQ(*agg.component("r"), detail::missing_component("r", kNow + seconds(30)));
  expect_matches(agg, {}, kNow + seconds(30));
}

TEST(Aggregator, RemoveForgetsAndAcceptsAnOlderSnapshotAfterwards) {
  Aggregator agg(GatePolicy{});
  EXPECT_FALSE(agg.remove("x"));
  agg.put(comp("x", Status::kFail, kNow));
  ASSERT_TRUE(agg.evaluate(kNow));
  EXPECT_TRUE(agg.remove("x"));
  EXPECT_FALSE(agg.remove("x"));
  ASSERT_TRUE(agg.evaluate(kNow));
  ASSERT_EQ(agg.changes().size(), 1u);
  EXPECT_EQ(agg.changes()[0].component, "x");
  EXPECT_EQ(agg.changes()[0].after, nullptr);
  EXPECT_EQ(agg.component("x"), nullptr);
  EXPECT_EQ(agg.decision(), Decision::kWarn);
  EXPECT_TRUE(agg.put(comp("x", Status::kOk, kNow - hours(1))));
  // Put and removed between two evaluations: no change at all.
  EXPECT_TRUE(agg.put(comp("y", Status::kOk, kNow)));
  EXPECT_TRUE(agg.remove("y"));
  ASSERT_TRUE(agg.evaluate(kNow));
  EXPECT_EQ(changed_names(agg), (std::vector<std::string>{"x"}));
  expect_matches(agg, {comp("x", Status::kOk, kNow - hours(1))}, kNow);
}

TEST(Aggregator, ChangesComeInNameOrderWithVersionPerChangingEvaluate) {
  GatePolicy policy;
  policy.max_age = minutes(1);
  Aggregator agg(policy);
  agg.put(comp("c", Status::kOk, kNow));
  agg.put(comp("a", Status::kOk, kNow - seconds(30)));
  agg.put(comp("b", Status::kOk, kNow));
  ASSERT_TRUE(agg.evaluate(kNow));
  EXPECT_EQ(changed_names(agg), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(agg.version(), 1u);
  // "a" goes stale by the clock, "c" changes by a new snapshot in the same evaluation.
  agg.put(comp("c", Status::kFail, kNow));
  ASSERT_TRUE(agg.evaluate(kNow + seconds(31)));
  EXPECT_EQ(changed_names(agg), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(agg.version(), 2u);
}

TEST(Aggregator, SnapshotsHandedOutStayIntactWhileBuffersAreReused) {
  GatePolicy policy;
  policy.max_age = minutes(5);
  Aggregator agg(policy);
  std::vector<ComponentSnapshot> in;
  for (int i = 0; i < 20; ++i) {
    in.push_back(comp("c" + std::to_string(i), Status::kOk, kNow - minutes(i % 8)));
    agg.put(in.back());
  }
  agg.evaluate(kNow);
  std::vector<std::pair<std::shared_ptr<const ReadinessSnapshot>, ReadinessSnapshot>> held;
  for (int step = 0; step < 12; ++step) {
    ComponentSnapshot c = comp("c" + std::to_string(step % 5), Status::kFail, kNow + seconds(step));
    c.issues = {{.code = "n", .severity = Severity::kInfo, .message = "m", .runbook = {}}};
    c.issues.resize(static_cast<std::size_t>(step % 3) + 1, c.issues[0]);
    in.push_back(c);
    agg.put(c);
    if (step % 4 == 0) {
      agg.remove("c" + std::to_string(10 + step));
      in.erase(std::remove_if(in.begin(), in.end(),
                              [&](const ComponentSnapshot& x) {
                                return x.component == "c" + std::to_string(10 + step);
                              }),
               in.end());
    }
    agg.evaluate(kNow + seconds(step));
    expect_matches(agg, in, kNow + seconds(step));
    // Keep the latest (as a server would) and, now and then, older ones too.
    if (step % 3 != 1 && !held.empty()) held.erase(held.begin());
    held.emplace_back(agg.snapshot(), *agg.snapshot());
    for (const auto& [ptr, copy] : held) EXPECT_EQ(*ptr, copy);
  }
}

TEST(Aggregator, DecisionFromCountsFollowsLimitsAndEmptyDecision) {
  struct Case {
    const char* name;
    GatePolicy policy;
    std::vector<Status> statuses;
    Decision want;
  };
  const std::vector<Status> fail_warn = {Status::kFail, Status::kWarn};
  const Case cases[] = {
      {"empty warns", {}, {}, Decision::kWarn},
      {"empty blocks", {.empty_decision = Decision::kBlock}, {}, Decision::kBlock},
      {"empty passes", {.empty_decision = Decision::kPass}, {}, Decision::kPass},
      {"max warn",
       {.warn_on = {}, .max_warn_components = 1},
       {Status::kWarn, Status::kWarn},
       Decision::kWarn},
      {"max warn blocked",
       {.block_on = fail_warn, .warn_on = {}, .max_warn_components = 1},
       {Status::kWarn, Status::kWarn},
       Decision::kBlock},
      {"max fail", {.block_on = {}, .max_fail_components = 0}, {Status::kFail}, Decision::kBlock},
      {"ignored", {.block_on = {}, .warn_on = {}}, {Status::kFail}, Decision::kPass},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Aggregator agg(c.policy);
    std::vector<ComponentSnapshot> in;
    for (std::size_t i = 0; i < c.statuses.size(); ++i) {
      in.push_back(comp("c" + std::to_string(i), c.statuses[i], kNow));
      agg.put(in.back());
    }
    agg.evaluate(kNow);
    EXPECT_EQ(agg.decision(), c.want);
    expect_matches(agg, in, kNow);
  }
}

// ---- randomized equivalence with aggregate() ----

// A view with its clock-derived fields blanked, to tell a change from a new time.
ComponentSnapshot state_of(ComponentSnapshot c) {
  if (c.summary == "no snapshot received" && detail::is_synthetic(c)) c.observed_at = {};
  if (!c.issues.empty() && c.issues.back().code == "stale_snapshot") c.issues.back().message = {};
  return c;
}

struct Scenario {
  const char* name;
  std::uint32_t seed;
  GatePolicy policy;
  std::vector<std::string> names;  // the components that report
  int steps;
};

std::vector<Scenario> scenarios() {
  std::vector<Scenario> out;
  const std::vector<std::string> names = {"a",     "a.b",   "a_b", "b",       "c",
                                          "drift", "ghost", "w-x", "w_x",     "zeta",
                                          "req1",  "req2",  "k9",  "quiet.v2"};
  {
    GatePolicy p;
    p.max_age = minutes(5);
    p.max_fail_components = 2;
    p.max_warn_components = 3;
    p.components["req1"] = {.required = true};
    p.components["req2"] = {.max_age = minutes(1), .required = true, .stale_status = Status::kFail};
    p.components["never"] = {.required = true};    // never reports
    p.components["never.b"] = {.required = true};  // slugs like never_b
    p.components["never_b"] = {.required = true};
    p.components["a"] = {.block_on = std::vector<Status>{Status::kWarn}};
    p.components["b"] = {.block_on = std::vector<Status>{},
                         .warn_on = std::vector<Status>{Status::kFail}};
    p.components["c"] = {.max_age = minutes(10),
                         .block_on = std::vector<Status>{},
                         .warn_on = std::vector<Status>{}};
    p.components["zeta"] = {.max_age = seconds(30), .stale_status = Status::kOk};
    out.push_back({"rules, limits, required", 20250102, p, names, 4000});
  }
  {
    GatePolicy p;
    p.max_age = minutes(2);
    p.stale_status = Status::kFail;
    p.block_on = {Status::kFail, Status::kWarn};
    p.warn_on = {Status::kOk};
    p.max_warn_components = 0;
    p.empty_decision = Decision::kBlock;
    p.components["k9"] = {.max_age = minutes(20), .required = true};
    out.push_back({"warn blocks, ok warns", 7, p, names, 3000});
  }
  {
    GatePolicy p;  // no max age, nothing required: often empty
    p.max_fail_components = 0;
    p.empty_decision = Decision::kPass;
    out.push_back({"no max age, often empty", 99, p, {"a", "b", "a.b"}, 3000});
  }
  {
    GatePolicy p;
    p.max_age = seconds(10);
    p.components["never"] = {.required = true};
    out.push_back({"short max age", 424242, p, names, 3000});
  }
  return out;
}

TEST(AggregatorEquivalence, MatchesAggregateAtEveryEvaluate) {
  for (const Scenario& sc : scenarios()) {
    SCOPED_TRACE(sc.name);
    std::mt19937 rng(sc.seed);
    const auto pick = [&rng](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
    Aggregator agg(sc.policy);
    std::vector<ComponentSnapshot> inputs;    // every put (accepted or not), minus removed names
    std::map<std::string, TimePoint> stored;  // what put() compares against
    TimePoint now = kNow;
    ReadinessSnapshot previous = aggregate({}, sc.policy, now);
    bool evaluated = false;
    std::shared_ptr<const ReadinessSnapshot> held;
    ReadinessSnapshot held_copy;
    const std::vector<Duration> steps = {Duration::zero(),  Duration::zero(), nanoseconds(1),
                                         milliseconds(250), seconds(1),       seconds(7),
                                         seconds(29),       minutes(1),       minutes(3)};
    const std::vector<std::string> summaries = {"", "fine", "slow | very\nslow", "disk full"};
    int evaluations = 0;
    int changed_evaluations = 0;
    for (int step = 0; step < sc.steps; ++step) {
      SCOPED_TRACE("step " + std::to_string(step));
      const int op = pick(100);
      if (op < 55) {
        const std::string& name =
            sc.names[static_cast<std::size_t>(pick(static_cast<int>(sc.names.size())))];
        ComponentSnapshot c = comp(name, core::kAllStatuses[static_cast<std::size_t>(pick(3))], now,
                                   summaries[static_cast<std::size_t>(pick(4))]);
        const auto it = stored.find(name);
        const int when = pick(10);
        if (it != stored.end() && when < 2) {
          c.observed_at = it->second;  // a tie
        } else if (it != stored.end() && when < 4) {
          c.observed_at = it->second - seconds(1 + pick(60));  // older than stored: ignored
        } else {
          c.observed_at = now - seconds(pick(900)) + seconds(pick(120));
        }
        for (int k = pick(4); k > 0; --k) {
          c.issues.push_back({.code = "issue_" + std::to_string(pick(3)),
                              .severity = static_cast<Severity>(pick(3)),
                              .message = "m" + std::to_string(pick(5)),
                              .runbook = pick(2) == 0 ? "" : "rb"});
        }
        if (pick(30) == 0) c.metadata = {{"synthetic", true}};
        if (pick(5) == 0) c.metadata = {{"shard", pick(3)}};
        const bool want = it == stored.end() || c.observed_at >= it->second;
        EXPECT_EQ(agg.put(c), want);
        if (want) stored[name] = c.observed_at;
        inputs.push_back(std::move(c));
      } else if (op < 62) {
        const std::string& name =
            sc.names[static_cast<std::size_t>(pick(static_cast<int>(sc.names.size())))];
        EXPECT_EQ(agg.remove(name), stored.contains(name));
        stored.erase(name);
        std::erase_if(inputs, [&](const ComponentSnapshot& c) { return c.component == name; });
      } else {
        if (pick(40) == 0) {
          now -= seconds(pick(400));  // now and then, time goes back
        } else {
          now += steps[static_cast<std::size_t>(pick(static_cast<int>(steps.size())))];
        }
        const std::uint64_t version = agg.version();
        const bool changed = agg.evaluate(now);
        ++evaluations;
        changed_evaluations += changed ? 1 : 0;
        const ReadinessSnapshot want = aggregate(inputs, sc.policy, now);
        ASSERT_NO_FATAL_FAILURE(expect_matches(agg, inputs, now));

        // changes(): exactly the components whose view differs other than by the clock,
        // with their views at the previous and at this evaluation.
        std::map<std::string, const ComponentSnapshot*> before;
        std::map<std::string, const ComponentSnapshot*> after;
        if (evaluated) {
          for (const auto& c : previous.components) before[c.component] = &c;
        }
        for (const auto& c : want.components) after[c.component] = &c;
        std::set<std::string> names;
        for (const auto& [n, c] : before) names.insert(n);
        for (const auto& [n, c] : after) names.insert(n);
        std::vector<std::string> want_changed;
        for (const auto& n : names) {
          const ComponentSnapshot* b = before.contains(n) ? before[n] : nullptr;
          const ComponentSnapshot* a = after.contains(n) ? after[n] : nullptr;
          const bool differs =
              (b == nullptr) != (a == nullptr) || (b != nullptr && state_of(*b) != state_of(*a));
          if (differs) want_changed.push_back(n);
        }
        EXPECT_EQ(changed_names(agg), want_changed);
        EXPECT_EQ(changed, !want_changed.empty());
        EXPECT_EQ(agg.version(), version + (changed ? 1 : 0));
        for (const auto& c : agg.changes()) {
          const std::string n(c.component);
          if (before.contains(n)) {
            ASSERT_NE(c.before, nullptr) << n;
            EXPECT_EQ(*c.before, *before[n]) << n;
          } else {
            EXPECT_EQ(c.before, nullptr) << n;
          }
          if (after.contains(n)) {
            ASSERT_NE(c.after, nullptr) << n;
            EXPECT_EQ(*c.after, *after[n]) << n;
          } else {
            EXPECT_EQ(c.after, nullptr) << n;
          }
        }

        // next_deadline(): one nanosecond past the earliest deadline of a fresh real view.
        std::optional<TimePoint> deadline;
        for (const auto& c : want.components) {
          const auto rule = sc.policy.components.find(c.component);
          const auto max_age = detail::max_age_for(
              rule == sc.policy.components.end() ? nullptr : &rule->second, sc.policy);
          const bool synthesized = state_of(c).observed_at == TimePoint{};
          const bool stale = !c.issues.empty() && c.issues.back().code == "stale_snapshot";
          if (!max_age || synthesized || stale) continue;
          const TimePoint d = c.observed_at + *max_age + nanoseconds(1);
          if (!deadline || d < *deadline) deadline = d;
        }
        EXPECT_EQ(agg.next_deadline(), deadline);

        // A snapshot handed out earlier never changes, however the buffers get reused.
        if (held) {
          EXPECT_EQ(*held, held_copy);
        }
        if (pick(3) != 0) {
          held = agg.snapshot();
          held_copy = *held;
        } else if (pick(2) == 0) {
          held.reset();
        }

        previous = want;
        evaluated = true;
      }
    }
    // The scenario did exercise what it is meant to.
    EXPECT_GT(evaluations, sc.steps / 4);
    EXPECT_GT(changed_evaluations, evaluations / 4);
  }
}

}  // namespace
}  // namespace opsready::readiness
