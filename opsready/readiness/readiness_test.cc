#include "opsready/readiness/readiness.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "opsready/core/time.h"

namespace opsready::readiness {
namespace {

using core::Issue;
using core::Severity;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;
using Decision = GateDecision::Decision;

TimePoint at(const char* s) { return core::parse_rfc3339(s).value(); }

const TimePoint kNow = at("2025-01-02T00:00:00Z");

ComponentSnapshot comp(std::string name, Status status, Duration age = Duration::zero(),
                       std::string summary = {}) {
  return {.component = std::move(name),
          .status = status,
          .summary = std::move(summary),
          .observed_at = kNow - age,
          .issues = {},
          .metadata = nlohmann::json::object()};
}

std::vector<std::string> codes(const std::vector<GateReason>& reasons) {
  std::vector<std::string> out;
  for (const auto& r : reasons) out.push_back(r.code);
  return out;
}

std::vector<std::string> names(const ReadinessSnapshot& s) {
  std::vector<std::string> out;
  for (const auto& c : s.components) out.push_back(c.component);
  return out;
}

// ---- aggregation ----

TEST(Aggregate, WorstStatusWinsAndCountsAlwaysHoldEveryStatus) {
  struct Case {
    const char* name;
    std::vector<Status> statuses;
    Status want;
    int ok, warn, fail;
  };
  const Case cases[] = {
      {"empty", {}, Status::kOk, 0, 0, 0},
      {"one ok", {Status::kOk}, Status::kOk, 1, 0, 0},
      {"ok warn", {Status::kOk, Status::kWarn}, Status::kWarn, 1, 1, 0},
      {"warn then ok", {Status::kWarn, Status::kOk}, Status::kWarn, 1, 1, 0},
      {"fail first", {Status::kFail, Status::kOk, Status::kWarn}, Status::kFail, 1, 1, 1},
      {"fail last", {Status::kOk, Status::kWarn, Status::kFail}, Status::kFail, 1, 1, 1},
      {"all fail", {Status::kFail, Status::kFail}, Status::kFail, 0, 0, 2},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<ComponentSnapshot> in;
    for (std::size_t i = 0; i < c.statuses.size(); ++i) {
      in.push_back(comp("c" + std::to_string(i), c.statuses[i]));
    }
    const ReadinessSnapshot s = aggregate(in, GatePolicy{}, kNow);
    EXPECT_EQ(s.status, c.want);
    const std::map<Status, int> want_counts = {
        {Status::kOk, c.ok}, {Status::kWarn, c.warn}, {Status::kFail, c.fail}};
    EXPECT_EQ(s.counts, want_counts);
    EXPECT_EQ(s.generated_at, kNow);
  }
}

TEST(Aggregate, EmptyIsOkButTheGateSaysNothingReported) {
  const GateReason no_components{"no_components", "", "no component has reported yet"};
  struct Case {
    const char* name;
    Decision empty_decision;
    GateDecision want;
  };
  const Case cases[] = {
      {"warn (default)", Decision::kWarn, {Decision::kWarn, {}, {no_components}}},
      {"block", Decision::kBlock, {Decision::kBlock, {no_components}, {}}},
      {"pass (the behaviour before issue 11)", Decision::kPass, GateDecision{}},
  };
  EXPECT_EQ(GatePolicy{}.empty_decision, Decision::kWarn);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const GatePolicy policy{.empty_decision = c.empty_decision};
    const ReadinessSnapshot s = aggregate({}, policy, kNow);
    EXPECT_EQ(s.status, Status::kOk);
    EXPECT_TRUE(s.components.empty());
    EXPECT_TRUE(s.issues.empty());
    EXPECT_EQ(s.gate, c.want);
    EXPECT_EQ(s.counts.size(), 3u);
    EXPECT_EQ(evaluate_gate(s, policy), c.want);
  }
}

TEST(Aggregate, RequiredComponentsAreNeverEmpty) {
  GatePolicy policy{.empty_decision = Decision::kBlock};
  policy.components["r"] = {.required = true};
  const ReadinessSnapshot s = aggregate({}, policy, kNow);
  EXPECT_EQ(s.components.size(), 1u);
  EXPECT_EQ(codes(s.gate.blocking_reasons),
            (std::vector<std::string>{"component_r_fail", "required_component_missing_r"}));
}

TEST(Aggregate, SortsByNameAndCatalogsEveryIssueOfEveryComponent) {
  ComponentSnapshot b = comp("b", Status::kOk);
  b.issues = {{.code = "note", .severity = Severity::kInfo, .message = "fyi", .runbook = {}}};
  ComponentSnapshot a = comp("a", Status::kFail);
  a.issues = {{.code = "x", .severity = Severity::kCritical, .message = "m1", .runbook = "rb"},
              {.code = "y", .severity = Severity::kWarning, .message = "m2", .runbook = {}}};
  ComponentSnapshot c = comp("c", Status::kWarn);
  c.issues = {{.code = "z", .severity = Severity::kWarning, .message = "m3", .runbook = {}}};
  const std::vector<ComponentSnapshot> in = {c, b, a};

  const ReadinessSnapshot s = aggregate(in, GatePolicy{}, kNow);
  EXPECT_EQ(names(s), (std::vector<std::string>{"a", "b", "c"}));
  const std::vector<CatalogIssue> want = {
      {"a", a.issues[0]}, {"a", a.issues[1]}, {"b", b.issues[0]}, {"c", c.issues[0]}};
  EXPECT_EQ(s.issues, want);
  // Components are otherwise copied unchanged.
  EXPECT_EQ(s.components[0], a);
  EXPECT_EQ(s.components[1], b);
  EXPECT_EQ(s.components[2], c);
}

TEST(Aggregate, Staleness) {
  struct Case {
    const char* name;
    std::optional<Duration> policy_max_age;
    std::optional<Duration> rule_max_age;
    Status policy_stale = Status::kWarn;
    std::optional<Status> rule_stale;
    Status status;
    Duration age;
    Status want;
    bool stale;
    Severity severity = Severity::kWarning;
  };
  const Case cases[] = {
      {"no max age never stale", std::nullopt, std::nullopt, Status::kWarn, std::nullopt,
       Status::kOk, std::chrono::hours(24 * 365), Status::kOk, false},
      {"exactly max age is fresh", minutes(5), std::nullopt, Status::kWarn, std::nullopt,
       Status::kOk, minutes(5), Status::kOk, false},
      {"one ns older is stale", minutes(5), std::nullopt, Status::kWarn, std::nullopt, Status::kOk,
       minutes(5) + nanoseconds(1), Status::kWarn, true},
      {"future dated is fresh", minutes(5), std::nullopt, Status::kWarn, std::nullopt, Status::kOk,
       -minutes(10), Status::kOk, false},
      {"rule max age looser than policy", minutes(5), minutes(10), Status::kWarn, std::nullopt,
       Status::kOk, minutes(6), Status::kOk, false},
      {"rule max age boundary", minutes(5), minutes(10), Status::kWarn, std::nullopt, Status::kOk,
       minutes(10), Status::kOk, false},
      {"rule max age exceeded", minutes(5), minutes(10), Status::kWarn, std::nullopt, Status::kOk,
       minutes(10) + nanoseconds(1), Status::kWarn, true},
      {"rule max age without policy max age", std::nullopt, minutes(1), Status::kWarn, std::nullopt,
       Status::kOk, minutes(2), Status::kWarn, true},
      {"rule max age stricter", minutes(5), minutes(1), Status::kWarn, std::nullopt, Status::kOk,
       minutes(2), Status::kWarn, true},
      {"policy stale status fail", minutes(5), std::nullopt, Status::kFail, std::nullopt,
       Status::kOk, minutes(6), Status::kFail, true, Severity::kCritical},
      {"rule stale status overrides", minutes(5), std::nullopt, Status::kWarn, Status::kFail,
       Status::kOk, minutes(6), Status::kFail, true, Severity::kCritical},
      {"stale only escalates", minutes(5), std::nullopt, Status::kWarn, std::nullopt, Status::kFail,
       minutes(6), Status::kFail, true},
      {"stale status ok adds info issue", minutes(5), std::nullopt, Status::kOk, std::nullopt,
       Status::kWarn, minutes(6), Status::kWarn, true, Severity::kInfo},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    GatePolicy policy;
    policy.max_age = c.policy_max_age;
    policy.stale_status = c.policy_stale;
    policy.components["x"] = {.max_age = c.rule_max_age, .stale_status = c.rule_stale};
    const std::vector<ComponentSnapshot> in = {comp("x", c.status, c.age)};
    const ReadinessSnapshot s = aggregate(in, policy, kNow);
    ASSERT_EQ(s.components.size(), 1u);
    EXPECT_EQ(s.components[0].status, c.want);
    EXPECT_EQ(s.status, c.want);
    EXPECT_EQ(s.counts.at(c.want), 1);
    if (c.stale) {
      ASSERT_EQ(s.components[0].issues.size(), 1u);
      EXPECT_EQ(s.components[0].issues[0].code, "stale_snapshot");
      EXPECT_EQ(s.components[0].issues[0].severity, c.severity);
      ASSERT_EQ(s.issues.size(), 1u);
      EXPECT_EQ(s.issues[0].component, "x");
    } else {
      EXPECT_TRUE(s.components[0].issues.empty());
      EXPECT_TRUE(s.issues.empty());
    }
  }
}

TEST(Aggregate, StaleIssueMessageAndGateReason) {
  GatePolicy policy;
  policy.max_age = minutes(5);
  ComponentSnapshot x = comp("x", Status::kOk, minutes(7) + seconds(30), "all good");
  x.issues = {{.code = "own", .severity = Severity::kInfo, .message = "kept", .runbook = {}}};
  const std::vector<ComponentSnapshot> in = {x};
  const ReadinessSnapshot s = aggregate(in, policy, kNow);
  ASSERT_EQ(s.components[0].issues.size(), 2u);
  EXPECT_EQ(s.components[0].issues[0], x.issues[0]);
  EXPECT_EQ(s.components[0].issues[1],
            (Issue{.code = "stale_snapshot",
                   .severity = Severity::kWarning,
                   .message = "snapshot observed at 2025-01-01T23:52:30Z is 7m30s old (max age 5m)",
                   .runbook = {}}));
  // Staleness warns through the ordinary per-component rule.
  EXPECT_EQ(s.gate.decision, Decision::kWarn);
  EXPECT_EQ(s.gate.warnings,
            (std::vector<GateReason>{{"component_x_warn", "x", "x status warn: all good"}}));
}

TEST(Aggregate, DuplicateNamesLaterObservedAtWins) {
  struct Case {
    const char* name;
    std::vector<ComponentSnapshot> in;
    std::string want_summary;
  };
  const Case cases[] = {
      {"later first in input",
       {comp("x", Status::kOk, seconds(1), "new"), comp("x", Status::kFail, seconds(9), "old")},
       "new"},
      {"later last in input",
       {comp("x", Status::kFail, seconds(9), "old"), comp("x", Status::kOk, seconds(1), "new")},
       "new"},
      {"latest in the middle of three",
       {comp("x", Status::kFail, seconds(5), "mid"), comp("x", Status::kWarn, seconds(0), "new"),
        comp("x", Status::kFail, seconds(9), "old")},
       "new"},
      {"tie: later input wins",
       {comp("x", Status::kFail, seconds(1), "first"),
        comp("x", Status::kOk, seconds(1), "second")},
       "second"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<ComponentSnapshot> in = c.in;
    in.push_back(comp("a", Status::kOk));
    in.push_back(comp("z", Status::kOk));
    const ReadinessSnapshot s = aggregate(in, GatePolicy{}, kNow);
    EXPECT_EQ(names(s), (std::vector<std::string>{"a", "x", "z"}));
    EXPECT_EQ(s.components[1].summary, c.want_summary);
    EXPECT_EQ(s.counts.at(Status::kOk) + s.counts.at(Status::kWarn) + s.counts.at(Status::kFail),
              3);
  }
}

TEST(Aggregate, RequiredMissingBecomesSyntheticFailingComponent) {
  GatePolicy policy;
  policy.max_age = minutes(5);
  policy.components["b_required"] = {.required = true};
  policy.components["present"] = {.required = true};
  policy.components["optional"] = {.required = false};
  const std::vector<ComponentSnapshot> in = {comp("present", Status::kOk), comp("a", Status::kOk),
                                             comp("c", Status::kOk)};
  const ReadinessSnapshot s = aggregate(in, policy, kNow);

  EXPECT_EQ(names(s), (std::vector<std::string>{"a", "b_required", "c", "present"}));
  const ComponentSnapshot want{
      .component = "b_required",
      .status = Status::kFail,
      .summary = "no snapshot received",
      .observed_at = kNow,
      .issues = {{.code = "missing_component",
                  .severity = Severity::kCritical,
                  .message = "required component b_required has not reported a snapshot",
                  .runbook = {}}},
      .metadata = {{"synthetic", true}}};
  EXPECT_EQ(s.components[1], want);
  EXPECT_EQ(s.status, Status::kFail);
  EXPECT_EQ(s.counts.at(Status::kFail), 1);
  EXPECT_EQ(s.issues, (std::vector<CatalogIssue>{{"b_required", want.issues[0]}}));
  EXPECT_EQ(s.gate.decision, Decision::kBlock);
  EXPECT_EQ(
      s.gate.blocking_reasons,
      (std::vector<GateReason>{{"component_b_required_fail", "b_required",
                                "b_required status fail: no snapshot received"},
                               {"required_component_missing_b_required", "b_required",
                                "required component b_required has not reported a snapshot"}}));
}

TEST(Aggregate, RequiredPresentButStaleIsNotMissing) {
  GatePolicy policy;
  policy.max_age = minutes(5);
  policy.components["r"] = {.required = true};
  const std::vector<ComponentSnapshot> in = {comp("r", Status::kOk, minutes(30))};
  const ReadinessSnapshot s = aggregate(in, policy, kNow);
  EXPECT_EQ(s.components.size(), 1u);
  EXPECT_EQ(s.gate.decision, Decision::kWarn);
  EXPECT_EQ(codes(s.gate.warnings), (std::vector<std::string>{"component_r_warn"}));
  EXPECT_TRUE(s.gate.blocking_reasons.empty());
}

// ---- gate ----

TEST(Gate, Rules) {
  const auto ok = [](const char* n) { return comp(n, Status::kOk); };
  const auto warn = [](const char* n) { return comp(n, Status::kWarn); };
  const auto failing = [](const char* n) { return comp(n, Status::kFail); };
  using Codes = std::vector<std::string>;
  struct Case {
    const char* name;
    GatePolicy policy;
    std::vector<ComponentSnapshot> in;
    Decision want;
    Codes blocking;
    Codes warnings;
  };
  const std::vector<Status> fail_warn = {Status::kFail, Status::kWarn};
  const Case cases[] = {
      {"all ok passes", {}, {ok("a"), ok("b")}, Decision::kPass, {}, {}},
      {"warn warns", {}, {ok("a"), warn("b")}, Decision::kWarn, {}, {"component_b_warn"}},
      {"fail blocks", {}, {failing("a"), ok("b")}, Decision::kBlock, {"component_a_fail"}, {}},
      {"fail and warn",
       {},
       {warn("b"), failing("a")},
       Decision::kBlock,
       {"component_a_fail"},
       {"component_b_warn"}},
      {"reasons follow name order",
       {},
       {failing("c"), failing("a"), failing("b")},
       Decision::kBlock,
       {"component_a_fail", "component_b_fail", "component_c_fail"},
       {}},
      {"names are slugged",
       {},
       {failing("drift-sentry.v2")},
       Decision::kBlock,
       {"component_drift_sentry_v2_fail"},
       {}},
      {"policy block_on warn",
       {.block_on = fail_warn},
       {warn("a")},
       Decision::kBlock,
       {"component_a_warn_blocked"},
       {}},
      {"rule block_on warn for one component",
       {.components = {{"a", {.block_on = std::vector<Status>{Status::kWarn}}}}},
       {warn("a"), warn("b")},
       Decision::kBlock,
       {"component_a_warn_blocked"},
       {"component_b_warn"}},
      {"rule demotes fail to warning",
       {.components = {{"a",
                        {.block_on = std::vector<Status>{},
                         .warn_on = std::vector<Status>{Status::kFail}}}}},
       {failing("a")},
       Decision::kWarn,
       {},
       {"component_a_fail"}},
      {"rule ignores component",
       {.components = {{"a",
                        {.block_on = std::vector<Status>{}, .warn_on = std::vector<Status>{}}}}},
       {failing("a"), warn("a2")},
       Decision::kWarn,
       {},
       {"component_a2_warn"}},
      {"policy warn_on empty passes warnings",
       {.warn_on = {}},
       {warn("a")},
       Decision::kPass,
       {},
       {}},
      {"policy block_on ok is honoured",
       {.block_on = {Status::kOk}},
       {ok("a")},
       Decision::kBlock,
       {"component_a_ok"},
       {}},
      {"max fail exceeded",
       {.max_fail_components = 1},
       {failing("a"), failing("b")},
       Decision::kBlock,
       {"component_a_fail", "component_b_fail", "max_fail_components_exceeded"},
       {}},
      {"max fail at limit",
       {.block_on = {}, .warn_on = {}, .max_fail_components = 2},
       {failing("a"), failing("b")},
       Decision::kPass,
       {},
       {}},
      {"max fail exceeded alone blocks",
       {.block_on = {}, .warn_on = {}, .max_fail_components = 1},
       {failing("a"), failing("b")},
       Decision::kBlock,
       {"max_fail_components_exceeded"},
       {}},
      {"max fail zero",
       {.block_on = {}, .max_fail_components = 0},
       {failing("a")},
       Decision::kBlock,
       {"max_fail_components_exceeded"},
       {}},
      {"max warn exceeded warns",
       {.max_warn_components = 1},
       {warn("a"), warn("b")},
       Decision::kWarn,
       {},
       {"component_a_warn", "component_b_warn", "max_warn_components_exceeded"}},
      {"max warn at limit",
       {.warn_on = {}, .max_warn_components = 2},
       {warn("a"), warn("b")},
       Decision::kPass,
       {},
       {}},
      {"max warn exceeded with warn in block_on blocks",
       {.block_on = fail_warn, .max_warn_components = 1},
       {warn("a"), warn("b")},
       Decision::kBlock,
       {"component_a_warn_blocked", "component_b_warn_blocked",
        "max_warn_components_exceeded_blocked"},
       {}},
      {"max warn counts warn only",
       {.warn_on = {}, .max_warn_components = 0},
       {failing("f")},
       Decision::kBlock,
       {"component_f_fail"},
       {}},
      {"required missing",
       {.components = {{"r", {.required = true}}}},
       {ok("a")},
       Decision::kBlock,
       {"component_r_fail", "required_component_missing_r"},
       {}},
      {"required missing blocks even when its rule does not",
       {.components = {{"r",
                        {.required = true,
                         .block_on = std::vector<Status>{},
                         .warn_on = std::vector<Status>{}}}}},
       {ok("a")},
       Decision::kBlock,
       {"required_component_missing_r"},
       {}},
      {"required present",
       {.components = {{"r", {.required = true}}}},
       {ok("r")},
       Decision::kPass,
       {},
       {}},
      {"synthetic required counts toward max fail",
       {.block_on = {}, .max_fail_components = 0, .components = {{"r", {.required = true}}}},
       {ok("a")},
       Decision::kBlock,
       {"required_component_missing_r", "max_fail_components_exceeded"},
       {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const ReadinessSnapshot s = aggregate(c.in, c.policy, kNow);
    EXPECT_EQ(s.gate.decision, c.want);
    EXPECT_EQ(codes(s.gate.blocking_reasons), c.blocking);
    EXPECT_EQ(codes(s.gate.warnings), c.warnings);
    EXPECT_EQ(evaluate_gate(s, c.policy), s.gate);
  }
}

TEST(Gate, Messages) {
  GatePolicy policy{.max_fail_components = 1, .max_warn_components = 0};
  const std::vector<ComponentSnapshot> in = {comp("a", Status::kFail, {}, "disk full"),
                                             comp("b", Status::kFail),
                                             comp("w", Status::kWarn, {}, "slow | very\nslow")};
  const GateDecision g = aggregate(in, policy, kNow).gate;
  EXPECT_EQ(g.blocking_reasons,
            (std::vector<GateReason>{
                {"component_a_fail", "a", "a status fail: disk full"},
                {"component_b_fail", "b", "b status fail"},
                {"max_fail_components_exceeded", "", "2 components failing exceeds limit 1"}}));
  EXPECT_EQ(g.warnings,
            (std::vector<GateReason>{
                {"component_w_warn", "w", "w status warn: slow | very\nslow"},
                {"max_warn_components_exceeded", "", "1 components warning exceeds limit 0"}}));

  policy.block_on = {Status::kFail, Status::kWarn};
  const GateDecision blocked = aggregate(in, policy, kNow).gate;
  ASSERT_EQ(blocked.blocking_reasons.size(), 5u);
  EXPECT_EQ(blocked.blocking_reasons[2],
            (GateReason{"component_w_warn_blocked", "w", "w status warn: slow | very\nslow"}));
  EXPECT_EQ(blocked.blocking_reasons[4], (GateReason{"max_warn_components_exceeded_blocked", "",
                                                     "1 components warning exceeds limit 0"}));
  EXPECT_TRUE(blocked.warnings.empty());
}

TEST(Gate, DeduplicatesByCodeKeepingFirstSeen) {
  // Two component names that slug to the same code: the first in name order is kept.
  const std::vector<ComponentSnapshot> in = {
      comp("a_b", Status::kFail, {}, "second"), comp("a.b", Status::kFail, {}, "first"),
      comp("w-x", Status::kWarn, {}, "first"), comp("w_x", Status::kWarn, {}, "second")};
  const GateDecision g = aggregate(in, GatePolicy{}, kNow).gate;
  EXPECT_EQ(g.blocking_reasons,
            (std::vector<GateReason>{{"component_a_b_fail", "a.b", "a.b status fail: first"}}));
  EXPECT_EQ(g.warnings,
            (std::vector<GateReason>{{"component_w_x_warn", "w-x", "w-x status warn: first"}}));

  // A hand-built (e.g. stored) snapshot may repeat a name and be out of order.
  ReadinessSnapshot stored;
  stored.components = {comp("z", Status::kFail, {}, "z"), comp("y", Status::kFail, {}, "one"),
                       comp("y", Status::kFail, {}, "two")};
  const GateDecision again = evaluate_gate(stored, GatePolicy{.max_fail_components = 1});
  EXPECT_EQ(again.blocking_reasons,
            (std::vector<GateReason>{
                {"component_y_fail", "y", "y status fail: one"},
                {"component_z_fail", "z", "z status fail: z"},
                {"max_fail_components_exceeded", "", "3 components failing exceeds limit 1"}}));
}

TEST(Gate, ReevaluatesStoredSnapshotUnderAnotherPolicy) {
  const std::vector<ComponentSnapshot> in = {comp("a", Status::kWarn), comp("b", Status::kOk)};
  const ReadinessSnapshot s = aggregate(in, GatePolicy{}, kNow);
  EXPECT_EQ(s.gate.decision, Decision::kWarn);

  GatePolicy strict{.block_on = {Status::kFail, Status::kWarn}};
  strict.components["c"] = {.required = true};
  const GateDecision g = evaluate_gate(s, strict);
  EXPECT_EQ(g.decision, Decision::kBlock);
  // "c" is absent from the stored snapshot altogether: still reported missing.
  EXPECT_EQ(codes(g.blocking_reasons),
            (std::vector<std::string>{"component_a_warn_blocked", "required_component_missing_c"}));
}

TEST(Gate, EmptyStoredSnapshotReasonsComeLast) {
  GatePolicy policy{.max_fail_components = -1, .empty_decision = Decision::kBlock};
  policy.components["c"] = {.required = true};
  const GateDecision g = evaluate_gate(ReadinessSnapshot{}, policy);
  EXPECT_EQ(codes(g.blocking_reasons),
            (std::vector<std::string>{"required_component_missing_c",
                                      "max_fail_components_exceeded", "no_components"}));
}

TEST(Gate, DecisionWords) {
  for (Decision d : {Decision::kPass, Decision::kWarn, Decision::kBlock}) {
    auto back = parse_decision(to_string(d));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, d);
  }
  EXPECT_EQ(to_string(Decision::kBlock), "block");
  EXPECT_EQ(parse_decision(" BLOCK ").value(), Decision::kBlock);
  auto bad = parse_decision("fail");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, "unknown_decision_word");
}

// ---- JSON ----

ReadinessSnapshot rich_snapshot() {
  GatePolicy policy;
  policy.max_age = minutes(5);
  policy.max_warn_components = 0;
  policy.components["incident_response"] = {.required = true};
  policy.components["security"] = {.required = true};
  ComponentSnapshot ir = comp("incident_response", Status::kWarn, seconds(30), "open incidents=2");
  ir.issues = {{.code = "open_incidents",
                .severity = Severity::kWarning,
                .message = "2 open incidents",
                .runbook = "docs/runbooks/incident_response.md"}};
  ir.metadata = {{"open", 2}, {"nested", {{"list", {1, 2.5, "x"}}}}};
  ComponentSnapshot sv =
      comp("system_validation", Status::kOk, minutes(6) + nanoseconds(1500), "10/10 checks passed");
  ComponentSnapshot drift = comp("drift_sentry", Status::kFail, seconds(1), "belief:alert");
  drift.observed_at += std::chrono::milliseconds(250);
  const std::vector<ComponentSnapshot> in = {ir, sv, drift};
  return aggregate(in, policy, kNow + std::chrono::microseconds(7));
}

TEST(Json, Shape) {
  const nlohmann::json j = to_json(rich_snapshot());
  EXPECT_EQ(j["status"], "fail");
  EXPECT_EQ(j["generated_at"], "2025-01-02T00:00:00.000007Z");
  EXPECT_EQ(j["counts"], (nlohmann::json{{"ok", 0}, {"warn", 2}, {"fail", 2}}));
  ASSERT_EQ(j["components"].size(), 4u);
  EXPECT_EQ(j["components"][0]["component"], "drift_sentry");
  EXPECT_EQ(j["issues"][0], (nlohmann::json{{"component", "incident_response"},
                                            {"code", "open_incidents"},
                                            {"severity", "warning"},
                                            {"message", "2 open incidents"},
                                            {"runbook", "docs/runbooks/incident_response.md"}}));
  EXPECT_FALSE(j["issues"][1].contains("runbook"));
  EXPECT_EQ(j["gate"]["decision"], "block");
  EXPECT_EQ(j["gate"]["blocking_reasons"][0],
            (nlohmann::json{{"code", "component_drift_sentry_fail"},
                            {"component", "drift_sentry"},
                            {"message", "drift_sentry status fail: belief:alert"}}));
  EXPECT_EQ(j["gate"], to_json(rich_snapshot().gate));
}

TEST(Json, RoundTripIsExact) {
  const ReadinessSnapshot empty = aggregate({}, GatePolicy{}, kNow);
  for (const ReadinessSnapshot& s : {rich_snapshot(), empty}) {
    const nlohmann::json j = to_json(s);
    auto back = readiness_from_json(j);
    ASSERT_TRUE(back.has_value()) << back.error().describe();
    EXPECT_EQ(*back, s);
    EXPECT_EQ(to_json(*back).dump(), j.dump());
    // And through text, as the store and the HTTP API carry it.
    auto reparsed = readiness_from_json(nlohmann::json::parse(j.dump(2)));
    ASSERT_TRUE(reparsed.has_value());
    EXPECT_EQ(*reparsed, s);
  }
}

TEST(Json, ErrorsNameTheField) {
  const nlohmann::json good = to_json(rich_snapshot());
  struct Case {
    const char* pointer;  // JSON pointer into `good` to replace (or remove when value is absent)
    std::optional<nlohmann::json> value;
    std::string field;
    std::string code;
  };
  const Case cases[] = {
      {"/status", std::nullopt, "status", "missing_field"},
      {"/status", "great", "status", "unknown_status_word"},
      {"/status", 2, "status", "wrong_type"},
      {"/generated_at", std::nullopt, "generated_at", "missing_field"},
      {"/generated_at", "noon", "generated_at", "invalid_timestamp"},
      {"/counts", std::nullopt, "counts", "missing_field"},
      {"/counts", nlohmann::json::array(), "counts", "wrong_type"},
      {"/counts/warn", -1, "counts.warn", "wrong_type"},
      {"/counts/warn", 1.5, "counts.warn", "wrong_type"},
      {"/counts/bogus", 1, "counts.bogus", "unknown_field"},
      {"/components", std::nullopt, "components", "missing_field"},
      {"/components", nlohmann::json::object(), "components", "wrong_type"},
      {"/components/1/status", "maybe", "components[1].status", "unknown_status_word"},
      {"/components/2/issues/0/severity", "loud", "components[2].issues[0].severity",
       "unknown_severity_word"},
      {"/components/0/component", "Bad Name", "components[0].component", "invalid_component_name"},
      {"/issues", std::nullopt, "issues", "missing_field"},
      {"/issues/0", "x", "issues[0]", "wrong_type"},
      {"/issues/0/component", std::nullopt, "issues[0].component", "missing_field"},
      {"/issues/1/code", "", "issues[1].code", "invalid_value"},
      {"/issues/1/severity", 3, "issues[1].severity", "wrong_type"},
      {"/gate", std::nullopt, "gate", "missing_field"},
      {"/gate", "block", "gate", "wrong_type"},
      {"/gate/decision", "fail", "gate.decision", "unknown_decision_word"},
      {"/gate/decision", std::nullopt, "gate.decision", "missing_field"},
      {"/gate/blocking_reasons", std::nullopt, "gate.blocking_reasons", "missing_field"},
      {"/gate/warnings", 1, "gate.warnings", "wrong_type"},
      {"/gate/blocking_reasons/0/code", std::nullopt, "gate.blocking_reasons[0].code",
       "missing_field"},
      {"/gate/warnings/0/message", false, "gate.warnings[0].message", "wrong_type"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.pointer);
    nlohmann::json bad = good;
    const nlohmann::json::json_pointer ptr(c.pointer);
    if (c.value) {
      bad[ptr] = *c.value;
    } else {
      bad[ptr.parent_pointer()].erase(ptr.back());
    }
    auto got = readiness_from_json(bad);
    ASSERT_FALSE(got.has_value());
    EXPECT_EQ(got.error().field, c.field);
    EXPECT_EQ(got.error().code, c.code);
  }
  auto not_object = readiness_from_json(nlohmann::json::array());
  ASSERT_FALSE(not_object.has_value());
  EXPECT_EQ(not_object.error().code, "wrong_type");
}

}  // namespace
}  // namespace opsready::readiness
