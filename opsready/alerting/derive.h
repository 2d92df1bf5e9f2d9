#pragma once
// Label conventions
// -----------------
// Every alert opsready raises about itself, derived from readiness (Deriver, below) or
// watching its own pipeline (Watchdog and DeadMan, deadman.h), carries the labels
//   alertname  one of the names below
//   category   the routing category (spec §1.6/§1.7: AlertRule.categories match it)
//   severity   info | warning | critical, from status ok | warn | fail by rank (spec §0.1);
//              `none` for the watchdog only
//   service    DeriveOptions::service / HeartbeatOptions::service, default "opsready"; the
//              label is left out when the option is empty
//   component  the readiness component, on the four component alerts only
//   drill      "true" on the four component alerts of a component a drill targets, while the
//              drill runs (set_drill()), so routes can send them to a drill receiver
//   ...        an issue's alert also carries the issue's own labels (core::Issue::labels, e.g.
//              owner and signoff on compliance_cadence's reminders), except where they name
//              one of the labels above
// and the annotations summary, description, runbook_url. <base> below is runbook_base
// (default "docs/runbooks"); <threshold> the DeriveOptions threshold.
//
// OpsreadyComponentNotOk: a component whose status ranks >= <threshold>
//   labels       component; category = category_of(component); severity from the status
//   summary      "<component> status <status>: <summary>" (": <summary>" only when non-empty)
//   description  "Component <component> reports status <status>, at or above the alert
//                threshold <threshold>. Its issues fire as their own alerts."
//   runbook_url  <base>/<component>.md
// OpsreadyIssue: an issue (other than the two below) whose severity ranks >= <threshold>
//   labels       component, issue=<code>; category = <code> (up to a ':' qualifier, which
//                keeps repeated codes unique: "system_validation.check:2") when that
//                contains a '.', else category_of(component); severity = the issue's own
//   summary      "<component>: <message>" ("<component>: issue <code>" when no message)
//   description  "Component <component> reports issue <code> with severity <severity>."
//   runbook_url  the issue's runbook, else <base>/<component>.md
// OpsreadyComponentStale: issue stale_snapshot, severity ranks >= <threshold>
//   labels       component; category = operational.<component>; severity = the issue's
//   summary      "<component> snapshot is stale"
//   description  "The latest snapshot of <component> is older than the gate policy's max
//                age, so readiness escalates the component. The readiness snapshot shows
//                its age."
//   runbook_url  the issue's runbook, else <base>/<component>.md
// OpsreadyComponentMissing: issue missing_component, severity ranks >= <threshold>
//   labels       component; category = operational.<component>; severity = the issue's
//   summary      "<component> is missing: <message>"
//   description  "Component <component> is required by the gate policy and has reported no
//                snapshot; the gate blocks until it does."
//   runbook_url  the issue's runbook, else <base>/<component>.md
// OpsreadyReadinessNotOk: the overall status ranks >= <threshold>
//   labels       category = operational.readiness; severity from the status
//   summary      "Operational readiness status <status>"
//   description  "The worst component status is <status>, at or above the alert threshold
//                <threshold>; the component alerts say which."
//   runbook_url  <base>/readiness.md
// OpsreadyGate: the gate decision ranks >= <threshold> (pass 0, warn 1, block 2)
//   labels       decision=pass|warn|block; category = operational.readiness.gate;
//                severity info | warning | critical
//   summary      "Operational readiness gate <decision>: <headline>", <headline> = the
//                messages of the first two blocking reasons joined by "; ", else of the
//                first two warnings, else "no additional context" (spec §1.7)
//   description  "Gate decision <decision>. Blocking: <codes, or none>. Warnings: <codes,
//                or none>." (every reason code, in the gate's order, joined by ", ")
//   runbook_url  <base>/readiness.md
// OpsreadyWatchdog: always, from start (deadman.h)
//   labels       category = opsready.watchdog; severity = none
//   summary      "Alerting pipeline heartbeat (always firing)"
//   description  "This alert always fires. Route it to a dead-man's switch with a short
//                repeat_interval: when its notifications stop, the alerting pipeline is
//                broken."
//   runbook_url  <base>/watchdog.md
// OpsreadyTelemetryAbsent: an expected telemetry source silent for its `after` (deadman.h)
//   labels       source=<name>; category = operational.telemetry; severity = critical
//   summary      "No telemetry from <source> for <after>"
//   description  "No event on a topic matching <pattern> since <last seen, RFC 3339> (or
//                "since start, <RFC 3339>" when none was seen); one is expected at least
//                every <after>."
//   runbook_url  <base>/telemetry.md
//
// Deriver: turns readiness into opsready's own core::Alerts, one alert model for everything
// (the same shape, fingerprint and merge rules as alerts posted to /api/v2/alerts), so silences,
// inhibitions, routes, groups and notifications treat both alike.
//
//   Deriver d({.category_of = [&](std::string_view c) { return registry.alert_category(c); }});
//   std::vector<core::AlertRef> changed;
//   d.component(&old_view, &new_view, clock.now(), changed);   // after every event
//   d.readiness(snapshot.status, snapshot.gate, clock.now(), changed);
//   for (const core::AlertRef& a : changed) index.put(a);  // firing: ends_at == kFiring; resolved:
//   now
//
// Rules:
//  - a firing derived alert has ends_at = kFiring (TimePoint::max(): it fires until derivation
//    resolves it) and starts_at = the evaluation time it first fired; a resolved one has
//    ends_at = the evaluation time that resolved it. starts_at survives annotation updates and
//    restarts (restore());
//  - the identity of an alert is its label set (core::assign_fingerprint). A change of a label
//    (severity, category, the gate's decision) is a different alert: the old fingerprint
//    resolves and the new one fires in the same call. A change of annotations only (a new
//    summary text) updates the firing alert in place: same fingerprint and starts_at, reported
//    in `out` with the new annotations;
//  - the threshold (default warn) gates every derived alert alike by rank (spec §0.1): a status
//    (component, overall) or a gate decision (pass 0, warn 1, block 2) fires when its rank is
//    at least the threshold's, an issue when its severity's rank is. So with threshold ok an ok
//    component, an ok readiness and a passing gate fire info alerts, as spec §7.4 verifies;
//  - an issue alert carries the issue's own severity, independent of the component's status
//    (spec rec. §11.2 item 8): a warning issue of a failing component is a warning, and a
//    warning issue of a component that reports ok still fires. Two issues of one snapshot with
//    the same code and severity are one alert (the first one's text wins);
//  - stale_snapshot and missing_component, the issues readiness::aggregate adds, get their own
//    alertnames. The stale alert's text leaves out the issue message, which holds the growing
//    age and would otherwise update the alert at every evaluation;
//  - `out` receives, per call, the new and updated firing alerts in derivation order (the
//    component alert, then issues in snapshot order; readiness, then gate), then the resolved
//    ones in fingerprint order (resolutions of a `before` that names another component come
//    before all of these).
//
// The Deriver keeps its own index of the fingerprints each component (and readiness) owns and
// diffs the alerts `after` calls for against it. `before` is a hint only, read for its
// component's name: when `after` is null or names another component, the alerts of `before`'s
// component resolve. So a missed or wrong `before` cannot leave an alert firing. It also keeps
// the inputs it last derived from (status, summary, issues; not observed_at or metadata, which
// no alert reads) and returns at once when they are unchanged.
//
// Cost: component() is O(issues of that component · log n) (n = firing alerts) when the inputs
// changed, one comparison of them when not; readiness() likewise with the gate's reasons.
//
// Single owner: not thread-safe; the evaluation strand owns it and calls every method with
// `now` never going backwards. A plain value (copyable, movable); no clock reads.

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "opsready/core/alert.h"
#include "opsready/core/clock.h"
#include "opsready/core/snapshot.h"
#include "opsready/core/status.h"
#include "opsready/readiness/readiness.h"

namespace opsready::alerting {

inline constexpr std::string_view kComponentNotOkAlert = "OpsreadyComponentNotOk";
inline constexpr std::string_view kIssueAlert = "OpsreadyIssue";
inline constexpr std::string_view kComponentStaleAlert = "OpsreadyComponentStale";
inline constexpr std::string_view kComponentMissingAlert = "OpsreadyComponentMissing";
inline constexpr std::string_view kReadinessNotOkAlert = "OpsreadyReadinessNotOk";
inline constexpr std::string_view kGateAlert = "OpsreadyGate";

inline constexpr std::string_view kReadinessCategory = "operational.readiness";
inline constexpr std::string_view kGateCategory = "operational.readiness.gate";

// The issue codes readiness::aggregate adds for a stale and a missing required component.
inline constexpr std::string_view kStaleIssueCode = "stale_snapshot";
inline constexpr std::string_view kMissingIssueCode = "missing_component";

// ends_at of a firing derived alert.
inline constexpr core::TimePoint kFiring = core::TimePoint::max();

// "<base>/<name>.md", one '/' between them (a trailing '/' of base is dropped); "<name>.md"
// when base is empty. With the default base it equals components::runbook_path(name).
[[nodiscard]] std::string runbook_url(std::string_view base, std::string_view name);

// "operational.<component>": the spec's per-component readiness category (§7.4), the
// default of DeriveOptions::category_of.
[[nodiscard]] std::string operational_category(std::string_view component);

struct DeriveOptions {
  std::string service = "opsready";
  core::Status threshold = core::Status::kWarn;
  std::string runbook_base = "docs/runbooks";
  // The category of a component's OpsreadyComponentNotOk alert (and of its issues whose code
  // is not a category); empty: operational_category(). The engine passes
  // components::Registry::alert_category.
  std::function<std::string(std::string_view component)> category_of;
  bool gate_alert = true;
};

class Deriver {
 public:
  explicit Deriver(DeriveOptions o);

  // One component's aggregated view changed from `before` to `after` (nullptr = absent).
  // Appends to `out` every alert whose state changed: new firing ones, updated ones, resolved
  // ones (ends_at = now). See the overview for how `before` is used.
  void component(const core::ComponentSnapshot* before, const core::ComponentSnapshot* after,
                 core::TimePoint now, std::vector<core::AlertRef>& out);
  // Resolves every alert of `component` (it left the configuration or the snapshot set).
  void absent(std::string_view component, core::TimePoint now, std::vector<core::AlertRef>& out);
  // The overall status and gate after an evaluation.
  void readiness(core::Status status, const readiness::GateDecision& gate, core::TimePoint now,
                 std::vector<core::AlertRef>& out);

  // Derived alerts that fire now, by fingerprint.
  [[nodiscard]] const std::map<std::string, std::shared_ptr<core::Alert>>& active() const {
    return active_;
  }
  // The components that own a firing alert, by name (to find those to pass to absent()).
  [[nodiscard]] std::vector<std::string> components() const;

  // Restore after a restart: the firing alerts that were active. Keeps starts_at (and the
  // annotations, until the next derivation updates them), so durations survive; the next
  // component() or readiness() call diffs against them as if they had been derived here.
  // Alerts that are not firing derived alerts (ends_at != kFiring, an alertname not listed
  // above, a component alert without a component label) and fingerprints already active are
  // skipped. Returns how many were taken.
  std::size_t restore(std::vector<core::Alert> firing);

  [[nodiscard]] const DeriveOptions& options() const { return options_; }

  // The components a drill targets (drills/): their alerts carry drill="true" from the next
  // component() call on. Returns the components that joined or left the set, whose alerts
  // the caller derives again (component() with their current view) so the label follows at
  // once: the labelled alert is a new alert (a new fingerprint), the unlabelled one resolves.
  std::vector<std::string> set_drill(std::set<std::string, std::less<>> components);
  [[nodiscard]] const std::set<std::string, std::less<>>& drill() const { return drill_; }

 private:
  // What one owner (a component, or readiness) last derived from, and the fingerprints of the
  // firing alerts it owns, sorted.
  struct ComponentState {
    bool inputs_known = false;
    core::Status status = core::Status::kOk;
    std::string summary;
    std::vector<core::Issue> issues;
    std::vector<std::string> fingerprints;
  };

  [[nodiscard]] std::string category_of(std::string_view component) const;
  [[nodiscard]] core::Alert make(std::string_view alertname, std::string category,
                                 core::Severity severity, std::string_view component) const;
  void derive_component(const core::ComponentSnapshot& s, std::vector<core::Alert>& desired) const;
  void derive_readiness(core::Status status, const readiness::GateDecision& gate,
                        std::vector<core::Alert>& desired) const;
  // Makes the owner's firing set `desired` (fingerprints assigned), appending the changes.
  void reconcile(std::vector<std::string>& owned, std::vector<core::Alert>& desired,
                 core::TimePoint now, std::vector<core::AlertRef>& out);

  DeriveOptions options_;
  // The Deriver owns these; `out` hands them out shared (core::AlertRef). An update of an
  // alert's annotations, and its resolution, change the shared alert in place and report it
  // in `out`: whoever holds it is told of the change by the same call.
  std::map<std::string, std::shared_ptr<core::Alert>> active_;
  std::map<std::string, ComponentState, std::less<>> components_;
  std::vector<std::string> readiness_fingerprints_;  // sorted
  std::optional<core::Status> readiness_status_;     // inputs last derived from
  readiness::GateDecision readiness_gate_;
  std::vector<core::Alert> desired_;          // scratch
  std::set<std::string, std::less<>> drill_;  // set_drill()
};

}  // namespace opsready::alerting
