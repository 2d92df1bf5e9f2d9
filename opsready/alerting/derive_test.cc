#include "opsready/alerting/derive.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "opsready/alerting/test_support.h"
#include "opsready/readiness/readiness.h"

namespace opsready::alerting {
namespace {

using core::Alert;
using core::ComponentSnapshot;
using core::Issue;
using core::LabelSet;
using core::Severity;
using core::Status;
using readiness::GateDecision;
using readiness::GateReason;
using std::chrono::minutes;
using std::chrono::seconds;
using test::kNow;

using Decision = GateDecision::Decision;

ComponentSnapshot snap(std::string component, Status status, std::string summary = "",
                       std::vector<Issue> issues = {}) {
  return ComponentSnapshot{.component = std::move(component),
                           .status = status,
                           .summary = std::move(summary),
                           .observed_at = kNow,
                           .issues = std::move(issues),
                           .metadata = nlohmann::json::object()};
}

Issue issue(std::string code, Severity severity, std::string message = "msg",
            std::string runbook = "") {
  return Issue{.code = std::move(code),
               .severity = severity,
               .message = std::move(message),
               .runbook = std::move(runbook)};
}

std::string label(const Alert& a, const std::string& name) {
  const auto it = a.labels.find(name);
  return it == a.labels.end() ? "<none>" : it->second;
}

std::string annotation(const Alert& a, const std::string& name) {
  const auto it = a.annotations.find(name);
  return it == a.annotations.end() ? "<none>" : it->second;
}

// "alertname/severity/firing|resolved" of every alert, in order.
std::string shape(const std::vector<Alert>& alerts) {
  std::string out;
  for (const Alert& a : alerts) {
    if (!out.empty()) out += " ";
    out += label(a, "alertname") + "/" + label(a, "severity") + "/" +
           (a.ends_at == kFiring ? "firing" : "resolved");
  }
  return out;
}

// shape() with the alerts sorted: for sets whose order is the fingerprints'.
std::string bag(std::vector<Alert> alerts) {
  std::sort(alerts.begin(), alerts.end(), [](const Alert& a, const Alert& b) {
    return std::tie(a.labels, a.ends_at) < std::tie(b.labels, b.ends_at);
  });
  return shape(alerts);
}

std::vector<Alert> derive(Deriver& d, const ComponentSnapshot* before,
                          const ComponentSnapshot* after, core::TimePoint now = kNow) {
  std::vector<core::AlertRef> refs;
  d.component(before, after, now, refs);
  std::vector<Alert> out;
  for (const core::AlertRef& a : refs) out.push_back(*a);
  return out;
}

std::vector<Alert> derive_readiness(Deriver& d, Status status, const GateDecision& gate,
                                    core::TimePoint now = kNow) {
  std::vector<core::AlertRef> refs;
  d.readiness(status, gate, now, refs);
  std::vector<Alert> out;
  for (const core::AlertRef& a : refs) out.push_back(*a);
  return out;
}

TEST(RunbookUrl, JoinsBaseAndName) {
  struct Case {
    std::string_view base, name, want;
  };
  const Case cases[] = {
      {"docs/runbooks", "sensory_drift", "docs/runbooks/sensory_drift.md"},
      {"docs/runbooks/", "x", "docs/runbooks/x.md"},
      {"https://wiki.example/rb//", "x", "https://wiki.example/rb/x.md"},
      {"", "x", "x.md"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(runbook_url(c.base, c.name), c.want) << c.base;
  }
}

TEST(Deriver, ComponentAlertFiresUpdatesInPlaceAndResolves) {
  Deriver d({});
  const ComponentSnapshot warn = snap("incident_response", Status::kWarn, "open incidents=2");
  std::vector<Alert> out = derive(d, nullptr, &warn);
  ASSERT_EQ(out.size(), 1u);
  Alert want{.fingerprint = "",
             .labels = {{"alertname", "OpsreadyComponentNotOk"},
                        {"category", "operational.incident_response"},
                        {"severity", "warning"},
                        {"service", "opsready"},
                        {"component", "incident_response"}},
             .annotations = {{"summary", "incident_response status warn: open incidents=2"},
                             {"description",
                              "Component incident_response reports status warn, at or above the "
                              "alert threshold warn. Its issues fire as their own alerts."},
                             {"runbook_url", "docs/runbooks/incident_response.md"}},
             .starts_at = kNow,
             .ends_at = kFiring};
  want.fingerprint = core::alert_fingerprint(want.labels);
  EXPECT_EQ(out[0], want);
  EXPECT_EQ(d.active().size(), 1u);
  EXPECT_EQ(*d.active().at(want.fingerprint), want);

  // Summary text only: the same alert, updated in place.
  const ComponentSnapshot warn2 = snap("incident_response", Status::kWarn, "open incidents=3");
  out = derive(d, &warn, &warn2, kNow + minutes(1));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].fingerprint, want.fingerprint);
  EXPECT_EQ(out[0].starts_at, kNow);
  EXPECT_EQ(out[0].ends_at, kFiring);
  EXPECT_EQ(annotation(out[0], "summary"), "incident_response status warn: open incidents=3");
  EXPECT_EQ(*d.active().at(want.fingerprint), out[0]);

  // Recovered: resolved at the evaluation time.
  const ComponentSnapshot ok = snap("incident_response", Status::kOk, "fine");
  out = derive(d, &warn2, &ok, kNow + minutes(2));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].fingerprint, want.fingerprint);
  EXPECT_EQ(out[0].starts_at, kNow);
  EXPECT_EQ(out[0].ends_at, kNow + minutes(2));
  EXPECT_TRUE(d.active().empty());
}

TEST(Deriver, SeverityChangeResolvesTheOldAlertAndFiresTheNewOne) {
  Deriver d({});
  const ComponentSnapshot warn = snap("c", Status::kWarn, "s");
  const ComponentSnapshot fail = snap("c", Status::kFail, "s");
  const std::vector<Alert> first = derive(d, nullptr, &warn);
  ASSERT_EQ(first.size(), 1u);
  const std::vector<Alert> out = derive(d, &warn, &fail, kNow + seconds(5));
  // New and updated firing alerts first, then the resolved ones.
  EXPECT_EQ(shape(out),
            "OpsreadyComponentNotOk/critical/firing OpsreadyComponentNotOk/warning/resolved");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_NE(out[0].fingerprint, out[1].fingerprint);
  EXPECT_EQ(out[0].starts_at, kNow + seconds(5));
  EXPECT_EQ(out[1].fingerprint, first[0].fingerprint);
  EXPECT_EQ(out[1].ends_at, kNow + seconds(5));
  ASSERT_EQ(d.active().size(), 1u);
  EXPECT_EQ(d.active().begin()->first, out[0].fingerprint);
}

TEST(Deriver, ThresholdGatesStatusesAndIssueSeveritiesByRank) {
  struct Case {
    Status threshold;
    Status status;
    Severity issue_severity;
    std::string_view want;
  };
  const Case cases[] = {
      {Status::kWarn, Status::kOk, Severity::kInfo, ""},
      {Status::kWarn, Status::kWarn, Severity::kInfo, "OpsreadyComponentNotOk/warning/firing"},
      {Status::kWarn, Status::kFail, Severity::kWarning,
       "OpsreadyComponentNotOk/critical/firing OpsreadyIssue/warning/firing"},
      {Status::kFail, Status::kWarn, Severity::kWarning, ""},
      {Status::kFail, Status::kFail, Severity::kWarning, "OpsreadyComponentNotOk/critical/firing"},
      {Status::kFail, Status::kWarn, Severity::kCritical, "OpsreadyIssue/critical/firing"},
      {Status::kOk, Status::kOk, Severity::kInfo,
       "OpsreadyComponentNotOk/info/firing OpsreadyIssue/info/firing"},
  };
  for (const Case& c : cases) {
    Deriver d({.threshold = c.threshold});
    const ComponentSnapshot s = snap("c", c.status, "s", {issue("x.y", c.issue_severity)});
    EXPECT_EQ(shape(derive(d, nullptr, &s)), c.want)
        << "threshold " << to_string(c.threshold) << " status " << to_string(c.status) << " issue "
        << to_string(c.issue_severity);
  }
}

TEST(Deriver, IssueSeverityIsTheIssuesOwnNotTheSnapshots) {
  Deriver d({});
  // A failing component with a warning issue: the issue alert is a warning, not critical.
  const ComponentSnapshot fail =
      snap("c", Status::kFail, "s", {issue("c.lag", Severity::kWarning)});
  std::vector<Alert> out = derive(d, nullptr, &fail);
  EXPECT_EQ(shape(out), "OpsreadyComponentNotOk/critical/firing OpsreadyIssue/warning/firing");
  // An ok component whose issue is critical still fires the issue.
  Deriver d2({});
  const ComponentSnapshot ok = snap("c", Status::kOk, "s", {issue("c.lag", Severity::kCritical)});
  out = derive(d2, nullptr, &ok);
  EXPECT_EQ(shape(out), "OpsreadyIssue/critical/firing");
}

TEST(Deriver, AnIssuesOwnLabelsJoinItsAlertButCannotOverrideTheDerivedOnes) {
  Deriver d({});
  Issue i = issue("compliance_cadence.signoff_due:sec", Severity::kWarning);
  i.labels = {{"owner", "secops"}, {"signoff", "sec"}, {"severity", "info"}, {"component", "x"}};
  const ComponentSnapshot s = snap("compliance_cadence", Status::kOk, "", {i});
  const std::vector<Alert> out = derive(d, nullptr, &s);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].labels, (LabelSet{{"alertname", "OpsreadyIssue"},
                                     {"category", "compliance_cadence.signoff_due"},
                                     {"severity", "warning"},
                                     {"service", "opsready"},
                                     {"component", "compliance_cadence"},
                                     {"issue", "compliance_cadence.signoff_due:sec"},
                                     {"owner", "secops"},
                                     {"signoff", "sec"}}));
}

TEST(Deriver, IssueAlertLabelsCategoriesAndRunbooks) {
  Deriver d({.service = "trading",
             .runbook_base = "https://wiki.example/runbooks/",
             .category_of = [](std::string_view c) { return "custom." + std::string(c); }});
  const ComponentSnapshot s =
      snap("sensory_drift", Status::kWarn, "why:warn",
           {issue("sensory.drift.why", Severity::kWarning, "WHY drift", "docs/rb/drift.md"),
            issue("plain_code", Severity::kCritical, ""), issue("info_only", Severity::kInfo)});
  const std::vector<Alert> out = derive(d, nullptr, &s);
  ASSERT_EQ(out.size(), 3u);

  EXPECT_EQ(out[0].labels, (LabelSet{{"alertname", "OpsreadyComponentNotOk"},
                                     {"category", "custom.sensory_drift"},
                                     {"severity", "warning"},
                                     {"service", "trading"},
                                     {"component", "sensory_drift"}}));
  EXPECT_EQ(annotation(out[0], "runbook_url"), "https://wiki.example/runbooks/sensory_drift.md");

  EXPECT_EQ(out[1].labels, (LabelSet{{"alertname", "OpsreadyIssue"},
                                     {"category", "sensory.drift.why"},
                                     {"severity", "warning"},
                                     {"service", "trading"},
                                     {"component", "sensory_drift"},
                                     {"issue", "sensory.drift.why"}}));
  EXPECT_EQ(out[1].annotations,
            (LabelSet{{"summary", "sensory_drift: WHY drift"},
                      {"description",
                       "Component sensory_drift reports issue sensory.drift.why with severity "
                       "warning."},
                      {"runbook_url", "docs/rb/drift.md"}}));
  EXPECT_EQ(out[1].fingerprint, core::alert_fingerprint(out[1].labels));

  // A code without a '.' is not a category: the component's category instead.
  EXPECT_EQ(label(out[2], "category"), "custom.sensory_drift");
  EXPECT_EQ(label(out[2], "issue"), "plain_code");
  EXPECT_EQ(label(out[2], "severity"), "critical");
  EXPECT_EQ(annotation(out[2], "summary"), "sensory_drift: issue plain_code");
  EXPECT_EQ(annotation(out[2], "runbook_url"), "https://wiki.example/runbooks/sensory_drift.md");
}

TEST(Deriver, IssueLifecycle) {
  Deriver d({});
  const ComponentSnapshot a = snap("c", Status::kOk, "", {issue("c.a", Severity::kWarning, "one")});
  const ComponentSnapshot b = snap("c", Status::kOk, "", {issue("c.a", Severity::kWarning, "two")});
  const ComponentSnapshot c =
      snap("c", Status::kOk, "", {issue("c.a", Severity::kCritical, "two")});
  const ComponentSnapshot none = snap("c", Status::kOk, "");

  std::vector<Alert> out = derive(d, nullptr, &a);
  ASSERT_EQ(out.size(), 1u);
  const std::string fp = out[0].fingerprint;
  out = derive(d, &a, &b, kNow + seconds(1));
  ASSERT_EQ(out.size(), 1u);  // message: updated in place
  EXPECT_EQ(out[0].fingerprint, fp);
  EXPECT_EQ(out[0].starts_at, kNow);
  EXPECT_EQ(annotation(out[0], "summary"), "c: two");
  out = derive(d, &b, &c, kNow + seconds(2));  // severity: a new alert
  EXPECT_EQ(shape(out), "OpsreadyIssue/critical/firing OpsreadyIssue/warning/resolved");
  out = derive(d, &c, &none, kNow + seconds(3));
  EXPECT_EQ(shape(out), "OpsreadyIssue/critical/resolved");
  EXPECT_EQ(out[0].ends_at, kNow + seconds(3));
  EXPECT_TRUE(d.active().empty());
}

TEST(Deriver, DuplicateIssueCodesWithTheSameSeverityAreOneAlert) {
  Deriver d({});
  const ComponentSnapshot s =
      snap("c", Status::kOk, "",
           {issue("c.a", Severity::kWarning, "first"), issue("c.a", Severity::kWarning, "second"),
            issue("c.a", Severity::kCritical, "third")});
  const std::vector<Alert> out = derive(d, nullptr, &s);
  EXPECT_EQ(shape(out), "OpsreadyIssue/warning/firing OpsreadyIssue/critical/firing");
  EXPECT_EQ(annotation(out[0], "summary"), "c: first");
  EXPECT_EQ(d.active().size(), 2u);
}

// The stale and missing issues as readiness::aggregate makes them.
TEST(Deriver, StaleAndMissingComponentsFromTheAggregate) {
  readiness::GatePolicy policy;
  policy.components["ingest"] = {.max_age = minutes(5)};
  policy.components["backup"] = {.required = true};
  const std::vector<ComponentSnapshot> latest = {snap("ingest", Status::kOk, "lag 1s")};
  Deriver d({.category_of = [](std::string_view c) { return "registry." + std::string(c); }});

  const auto evaluate = [&](core::TimePoint now) {
    const readiness::ReadinessSnapshot r = readiness::aggregate(latest, policy, now);
    std::vector<core::AlertRef> refs;
    for (const ComponentSnapshot& c : r.components) d.component(nullptr, &c, now, refs);
    std::vector<Alert> out;
    for (const core::AlertRef& a : refs) out.push_back(*a);
    return out;
  };

  std::vector<Alert> out = evaluate(kNow + minutes(6));
  EXPECT_EQ(shape(out),
            "OpsreadyComponentNotOk/critical/firing OpsreadyComponentMissing/critical/firing "
            "OpsreadyComponentNotOk/warning/firing OpsreadyComponentStale/warning/firing");
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[1].labels, (LabelSet{{"alertname", "OpsreadyComponentMissing"},
                                     {"category", "operational.backup"},
                                     {"severity", "critical"},
                                     {"service", "opsready"},
                                     {"component", "backup"}}));
  EXPECT_EQ(annotation(out[1], "summary"),
            "backup is missing: required component backup has not reported a snapshot");
  EXPECT_EQ(label(out[2], "category"), "registry.ingest");
  EXPECT_EQ(out[3].labels, (LabelSet{{"alertname", "OpsreadyComponentStale"},
                                     {"category", "operational.ingest"},
                                     {"severity", "warning"},
                                     {"service", "opsready"},
                                     {"component", "ingest"}}));
  EXPECT_EQ(annotation(out[3], "summary"), "ingest snapshot is stale");
  EXPECT_EQ(annotation(out[3], "runbook_url"), "docs/runbooks/ingest.md");

  // The stale issue's message grows with the age; the alert does not change with it.
  out = evaluate(kNow + minutes(9));
  EXPECT_EQ(shape(out), "");
  EXPECT_EQ(d.active().size(), 4u);
}

TEST(Deriver, UnchangedInputsDeriveNothing) {
  Deriver d({});
  ComponentSnapshot s = snap("c", Status::kWarn, "s", {issue("c.a", Severity::kWarning)});
  ASSERT_EQ(derive(d, nullptr, &s).size(), 2u);
  EXPECT_EQ(derive(d, &s, &s, kNow + seconds(1)).size(), 0u);
  // observed_at and metadata are not read by any alert.
  ComponentSnapshot later = s;
  later.observed_at = kNow + seconds(2);
  later.metadata = {{"x", 1}};
  EXPECT_EQ(derive(d, &s, &later, kNow + seconds(2)).size(), 0u);
}

TEST(Deriver, ItsOwnIndexNotTheBeforeHintDecides) {
  Deriver d({});
  const ComponentSnapshot warn = snap("c", Status::kWarn, "s", {issue("c.a", Severity::kWarning)});
  const ComponentSnapshot ok = snap("c", Status::kOk, "s");
  ASSERT_EQ(derive(d, nullptr, &warn).size(), 2u);
  // A caller that lost `before` (or passes a wrong one) still resolves what fired.
  EXPECT_EQ(bag(derive(d, &ok, &ok, kNow + seconds(1))),
            "OpsreadyComponentNotOk/warning/resolved OpsreadyIssue/warning/resolved");
  EXPECT_TRUE(d.active().empty());

  // Absent: `before` names the component whose alerts resolve.
  ASSERT_EQ(derive(d, nullptr, &warn, kNow + seconds(2)).size(), 2u);
  EXPECT_EQ(derive(d, &warn, nullptr, kNow + seconds(3)).size(), 2u);
  EXPECT_TRUE(d.active().empty());
  EXPECT_TRUE(d.components().empty());

  // A `before` of another component: that one is absent now.
  const ComponentSnapshot other = snap("other", Status::kFail, "x");
  ASSERT_EQ(derive(d, nullptr, &other, kNow + seconds(4)).size(), 1u);
  EXPECT_EQ(shape(derive(d, &other, &warn, kNow + seconds(5))),
            "OpsreadyComponentNotOk/critical/resolved OpsreadyComponentNotOk/warning/firing "
            "OpsreadyIssue/warning/firing");
  EXPECT_EQ(d.components(), std::vector<std::string>{"c"});
}

TEST(Deriver, EmptyServiceLeavesTheLabelOut) {
  Deriver d({.service = ""});
  const ComponentSnapshot s = snap("c", Status::kWarn);
  const std::vector<Alert> out = derive(d, nullptr, &s);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].labels.contains("service"));
  EXPECT_EQ(annotation(out[0], "summary"), "c status warn");  // no ": " without a summary
}

TEST(Deriver, ReadinessAlertFollowsTheOverallStatus) {
  Deriver d({});
  const GateDecision pass;
  EXPECT_EQ(derive_readiness(d, Status::kOk, pass).size(), 0u);
  std::vector<Alert> out = derive_readiness(d, Status::kWarn, pass, kNow + seconds(1));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].labels, (LabelSet{{"alertname", "OpsreadyReadinessNotOk"},
                                     {"category", "operational.readiness"},
                                     {"severity", "warning"},
                                     {"service", "opsready"}}));
  EXPECT_EQ(out[0].annotations,
            (LabelSet{{"summary", "Operational readiness status warn"},
                      {"description",
                       "The worst component status is warn, at or above the alert threshold "
                       "warn; the component alerts say which."},
                      {"runbook_url", "docs/runbooks/readiness.md"}}));
  EXPECT_EQ(out[0].starts_at, kNow + seconds(1));
  EXPECT_EQ(derive_readiness(d, Status::kWarn, pass, kNow + seconds(2)).size(), 0u);
  out = derive_readiness(d, Status::kFail, pass, kNow + seconds(3));
  EXPECT_EQ(shape(out),
            "OpsreadyReadinessNotOk/critical/firing OpsreadyReadinessNotOk/warning/resolved");
  out = derive_readiness(d, Status::kOk, pass, kNow + seconds(4));
  EXPECT_EQ(shape(out), "OpsreadyReadinessNotOk/critical/resolved");
  EXPECT_EQ(out[0].ends_at, kNow + seconds(4));
}

TEST(Deriver, GateAlertText) {
  const GateReason b1{"component_a_fail", "a", "a status fail: down"};
  const GateReason b2{"component_b_fail", "b", "b status fail: gone"};
  const GateReason b3{"max_fail_components_exceeded", "", "3 components failing exceeds limit 0"};
  const GateReason w1{"component_c_warn", "c", "c status warn: slow"};
  const GateReason w2{"component_d_warn", "d", "d status warn: late"};
  const GateReason w3{"component_e_warn", "e", "e status warn: odd"};
  struct Case {
    GateDecision gate;
    std::string_view severity;
    std::string_view summary;
    std::string_view description;
  };
  const Case cases[] = {
      {{Decision::kBlock, {b1, b2, b3}, {w1}},
       "critical",
       "Operational readiness gate block: a status fail: down; b status fail: gone",
       "Gate decision block. Blocking: component_a_fail, component_b_fail, "
       "max_fail_components_exceeded. Warnings: component_c_warn."},
      {{Decision::kBlock, {b1}, {}},
       "critical",
       "Operational readiness gate block: a status fail: down",
       "Gate decision block. Blocking: component_a_fail. Warnings: none."},
      {{Decision::kWarn, {}, {w1, w2, w3}},
       "warning",
       "Operational readiness gate warn: c status warn: slow; d status warn: late",
       "Gate decision warn. Blocking: none. Warnings: component_c_warn, component_d_warn, "
       "component_e_warn."},
      {{Decision::kWarn, {}, {}},
       "warning",
       "Operational readiness gate warn: no additional context",
       "Gate decision warn. Blocking: none. Warnings: none."},
  };
  for (const Case& c : cases) {
    Deriver d({});
    const std::vector<Alert> out = derive_readiness(d, Status::kOk, c.gate);
    ASSERT_EQ(out.size(), 1u) << c.summary;
    const std::string decision(readiness::to_string(c.gate.decision));
    EXPECT_EQ(out[0].labels, (LabelSet{{"alertname", "OpsreadyGate"},
                                       {"category", "operational.readiness.gate"},
                                       {"decision", decision},
                                       {"severity", std::string(c.severity)},
                                       {"service", "opsready"}}));
    EXPECT_EQ(annotation(out[0], "summary"), c.summary);
    EXPECT_EQ(annotation(out[0], "description"), c.description);
    EXPECT_EQ(annotation(out[0], "runbook_url"), "docs/runbooks/readiness.md");
  }
}

TEST(Deriver, GateAlertLifecycle) {
  Deriver d({});
  const GateReason w{"component_c_warn", "c", "c status warn: slow"};
  const GateReason w2{"component_d_warn", "d", "d status warn: late"};
  const GateReason b{"component_c_fail", "c", "c status fail: down"};
  EXPECT_EQ(derive_readiness(d, Status::kOk, GateDecision{}).size(), 0u);  // pass: nothing
  std::vector<Alert> out =
      derive_readiness(d, Status::kWarn, {Decision::kWarn, {}, {w}}, kNow + seconds(1));
  EXPECT_EQ(shape(out), "OpsreadyReadinessNotOk/warning/firing OpsreadyGate/warning/firing");
  // Another warning: the same gate alert, new text.
  out = derive_readiness(d, Status::kWarn, {Decision::kWarn, {}, {w, w2}}, kNow + seconds(2));
  EXPECT_EQ(shape(out), "OpsreadyGate/warning/firing");
  EXPECT_EQ(out[0].starts_at, kNow + seconds(1));
  // warn -> block: decision and severity are labels, so a new alert.
  out = derive_readiness(d, Status::kFail, {Decision::kBlock, {b}, {}}, kNow + seconds(3));
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(label(out[0], "alertname"), "OpsreadyReadinessNotOk");
  EXPECT_EQ(label(out[1], "decision"), "block");
  EXPECT_EQ(label(out[1], "severity"), "critical");
  EXPECT_EQ(out[1].ends_at, kFiring);
  for (int i : {2, 3}) EXPECT_EQ(out[i].ends_at, kNow + seconds(3)) << i;
  out = derive_readiness(d, Status::kOk, GateDecision{}, kNow + seconds(4));
  EXPECT_EQ(out.size(), 2u);
  EXPECT_TRUE(d.active().empty());
}

TEST(Deriver, GateAlertCanBeTurnedOffAndFollowsTheThreshold) {
  Deriver off({.gate_alert = false});
  EXPECT_EQ(shape(derive_readiness(off, Status::kOk, {Decision::kBlock, {}, {}})), "");
  // Threshold ok: an ok readiness and a passing gate fire info alerts (spec §7.4, verified).
  Deriver all({.threshold = Status::kOk});
  EXPECT_EQ(shape(derive_readiness(all, Status::kOk, GateDecision{})),
            "OpsreadyReadinessNotOk/info/firing OpsreadyGate/info/firing");
}

TEST(Deriver, RestoreKeepsStartsAt) {
  Deriver before_restart({});
  const ComponentSnapshot warn =
      snap("c", Status::kWarn, "s", {issue("c.a", Severity::kWarning, "one")});
  const ComponentSnapshot gone = snap("gone", Status::kFail, "x");
  const GateDecision gate{Decision::kWarn, {}, {{"component_c_warn", "c", "c status warn: s"}}};
  std::vector<core::AlertRef> out;
  before_restart.component(nullptr, &warn, kNow, out);
  before_restart.component(nullptr, &gone, kNow, out);
  before_restart.readiness(Status::kFail, gate, kNow, out);
  std::vector<Alert> firing;
  for (const auto& [fp, a] : before_restart.active()) firing.push_back(*a);
  ASSERT_EQ(firing.size(), 5u);

  // Plus things restore() must skip: resolved, foreign, component alert without a component.
  Alert resolved = firing[0];
  resolved.ends_at = kNow;
  Alert foreign{.labels = {{"alertname", "HighLag"}}, .ends_at = kFiring};
  Alert anonymous{.labels = {{"alertname", "OpsreadyIssue"}}, .ends_at = kFiring};
  std::vector<Alert> stored = firing;
  stored.insert(stored.end(), {resolved, foreign, anonymous, firing[1]});

  Deriver d({});
  EXPECT_EQ(d.restore(stored), 5u);
  ASSERT_EQ(d.active().size(), before_restart.active().size());
  for (const auto& [fp, a] : before_restart.active()) EXPECT_EQ(*d.active().at(fp), *a) << fp;
  EXPECT_EQ(d.components(), (std::vector<std::string>{"c", "gone"}));

  // The same inputs after the restart: nothing changes, starts_at stays.
  const core::TimePoint later = kNow + minutes(30);
  EXPECT_EQ(derive(d, nullptr, &warn, later).size(), 0u);
  EXPECT_EQ(derive_readiness(d, Status::kFail, gate, later).size(), 0u);
  // New text: updated, starts_at from before the restart.
  const ComponentSnapshot warn2 =
      snap("c", Status::kWarn, "s", {issue("c.a", Severity::kWarning, "two")});
  const std::vector<Alert> updated = derive(d, &warn, &warn2, later);
  ASSERT_EQ(updated.size(), 1u);
  EXPECT_EQ(updated[0].starts_at, kNow);
  // A restored component that never reports again resolves through absent().
  out.clear();
  d.absent("gone", later, out);
  std::vector<Alert> gone_out;
  for (const core::AlertRef& a : out) gone_out.push_back(*a);
  EXPECT_EQ(shape(gone_out), "OpsreadyComponentNotOk/critical/resolved");
  EXPECT_EQ(gone_out[0].starts_at, kNow);
  EXPECT_EQ(gone_out[0].ends_at, later);
  // A restored alert that derivation no longer calls for resolves.
  const ComponentSnapshot ok = snap("c", Status::kOk, "s");
  EXPECT_EQ(bag(derive(d, nullptr, &ok, later)),
            "OpsreadyComponentNotOk/warning/resolved OpsreadyIssue/warning/resolved");
}

TEST(Deriver, ADrillTargetsAlertsCarryTheDrillLabelWhileItRuns) {
  Deriver d({});
  const auto failing = snap("ingest_slos", Status::kFail, "lag");
  const auto other = snap("risk", Status::kFail, "limits");
  std::vector<core::AlertRef> out;
  d.component(nullptr, &failing, kNow, out);
  d.component(nullptr, &other, kNow, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(label(*out[0], "drill"), "<none>");

  const auto moved = d.set_drill({"ingest_slos"});
  EXPECT_EQ(moved, std::vector<std::string>{"ingest_slos"});
  out.clear();
  d.component(&failing, &failing, kNow + seconds(1), out);  // derived again with the label
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(label(*out[0], "drill"), "true");
  EXPECT_EQ(out[0]->ends_at, kFiring);
  EXPECT_EQ(label(*out[1], "drill"), "<none>");  // the unlabelled one resolves
  EXPECT_EQ(out[1]->ends_at, kNow + seconds(1));
  out.clear();
  d.component(&other, &other, kNow + seconds(1), out);  // not a target: unchanged
  EXPECT_TRUE(out.empty());

  EXPECT_EQ(d.set_drill({}), std::vector<std::string>{"ingest_slos"});
  out.clear();
  d.component(&failing, &failing, kNow + seconds(2), out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(label(*out[0], "drill"), "<none>");
}

}  // namespace
}  // namespace opsready::alerting
