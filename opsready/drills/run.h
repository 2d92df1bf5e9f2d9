#pragma once
// Run: one execution of a drill Scenario as a state machine on injected time. It never
// touches opsready: its driver (app/drill_service.cc) observes opsready's own state
// (Observation: readiness, firing alerts, the notification log, acks), hands it to step(),
// and does what step() asks (inject the fault, restore it, ack as the scripted responder).
// So the verdict and every time in the evidence come from opsready's records, and a test can
// drive a Run with made-up observations.
//
//   drills::Run run(scenario, {.id = id, .started_at = now});
//   for (;;) {
//     for (const auto& a : run.step(observe())) {
//       if (a.kind == Action::Kind::kInject) run.injected(clock.now(), inject(fault));
//       ...
//     }
//     if (run.finished()) break;
//     sleep(poll_interval);
//   }
//   store(run.evidence());
//
// Phases (docs/drills.md): steady state before → inject → observe for fault.duration (abort
// conditions checked at every step; the expected alert, its notifications and acks followed)
// → restore → recover (steady state again, the expected alert resolved, within
// recovery.within) → verdict. Litmus's verdicts: Pass; Fail (an expectation unmet: the step
// and reason); Aborted (an abort condition held, or the run was stopped); Inconclusive (the
// hypothesis was not tested: the steady state did not hold before, or the fault could not be
// injected).
//
// Clocks: every time is opsready's wall clock. injected_at is when the driver began injecting
// (a command fault's `run` started: the fault may act before the command returns), restored_at
// when it finished restoring; detected_at is the expected alert's startsAt (the
// evaluation that raised it); notified_at the receiver's acceptance (the outbox row marked
// sent), or the decision for an integration that only records; acked_at the ack's time in the
// engine; recovered_at the evaluation at which the steady state held again. MTTD = detected −
// injected; MTTA = acked − first notified (the clock starts at the first notification,
// ANCHORS §4); MTTR = recovered − injected, and mttr_from_detection = recovered − detected
// (the spec's §12.2 MTTR, from the alert's opening).
//
// Single owner; not thread-safe.

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/core/clock.h"
#include "opsready/core/error.h"
#include "opsready/drills/scenario.h"

namespace opsready::drills {

enum class Verdict { kPass, kFail, kAborted, kInconclusive };
[[nodiscard]] std::string_view to_string(Verdict v);  // Pass, Fail, Aborted, Inconclusive
[[nodiscard]] std::optional<Verdict> parse_verdict(std::string_view word);
inline constexpr Verdict kAllVerdicts[] = {Verdict::kPass, Verdict::kFail, Verdict::kAborted,
                                           Verdict::kInconclusive};

struct RunOptions {
  std::string id;  // the drill id
  core::TimePoint started_at{};
  bool dry_run = false;  // check the steady state and stop: nothing is injected
  bool forced = false;   // started while the gate blocked
  std::string started_by;
  std::string base_url;  // for the evidence's links (empty: relative)
};

// The evidence record (ANCHORS §7), rendered by to_json() and to_markdown().
struct Evidence {
  std::string drill_id;
  Scenario scenario;
  bool dry_run = false;
  bool forced = false;
  std::string started_by;
  core::TimePoint started_at{};
  std::optional<core::TimePoint> injected_at, inject_ended_at, detected_at, acked_at, restored_at,
      recovered_at, finished_at;
  std::map<std::string, core::TimePoint> notified_at;  // per receiver, the first
  std::string acked_by, acked_via;
  std::optional<Verdict> verdict;  // none until finished, and for a dry run
  std::string failed_step;         // steady_state_before, inject, detect, notify, ...
  std::string reason;
  std::string abort_reason;
  std::vector<CheckResult> steady_state_before, steady_state_after;
  // Abort conditions, checked at every step of the fault: how often, how often they held.
  std::size_t probes = 0, probes_passed = 0;
  std::optional<CheckResult> abort_breach;
  // The scenario's `during` checks: the last observation of each, and when it first held.
  struct During {
    CheckResult result;
    std::optional<core::TimePoint> held_at;
  };
  std::vector<During> during;
  // The expected alert: its fingerprint, labels and groups as first seen.
  std::string alert_fingerprint;
  core::LabelSet alert_labels;
  std::vector<std::string> alert_groups;
  std::string inject_error, restore_error;
  // What the fault itself reported when it was injected (the ingest failover drill's report,
  // the chaos events' impacts); null for the faults that report nothing.
  nlohmann::json fault_report;
  std::string base_url;

  [[nodiscard]] std::optional<core::Duration> mttd() const;
  [[nodiscard]] std::optional<core::Duration> mtta() const;
  [[nodiscard]] std::optional<core::Duration> mttr() const;
  [[nodiscard]] std::optional<core::Duration> mttr_from_detection() const;
  [[nodiscard]] std::optional<core::TimePoint> first_notified_at() const;
};

[[nodiscard]] nlohmann::json to_json(const Evidence& e);
// The evidence as Markdown (docs/drills.md "Reading the evidence"); deterministic.
[[nodiscard]] std::string to_markdown(const Evidence& e);

class Run {
 public:
  struct Action {
    enum class Kind { kInject, kRestore, kAck };
    Kind kind = Kind::kInject;
    std::string group;  // kAck: the group id
    std::string by;     // kAck
  };

  Run(Scenario scenario, RunOptions options);

  // The next things to do, given what opsready looks like now. Call again after doing them
  // (and after injected()/restored() for kInject/kRestore), at the driver's poll interval.
  [[nodiscard]] std::vector<Action> step(const Observation& o);
  // The fault is in place (or could not be put in place: `result` has the error); `began` is
  // when the injection began, `at` when it ended.
  void injected(core::TimePoint began, core::TimePoint at, const core::Result<void>& result);
  void restored(core::TimePoint at, const core::Result<void>& result);
  // What the fault reported (Evidence::fault_report).
  void set_fault_report(nlohmann::json report) { evidence_.fault_report = std::move(report); }
  // Stops the run (an operator, a shutdown): Aborted with `reason`. Returns true when the
  // fault is in place: the next step() asks for kRestore (a driver that cannot wait restores
  // at once and calls restored()).
  bool stop(std::string reason, core::TimePoint now);

  [[nodiscard]] bool finished() const { return phase_ == Phase::kFinished; }
  // Injected and not yet restored: what a crash would leave behind.
  [[nodiscard]] bool fault_in_place() const {
    return phase_ == Phase::kInjecting || phase_ == Phase::kRunning || phase_ == Phase::kRestoring;
  }
  [[nodiscard]] const Evidence& evidence() const { return evidence_; }
  [[nodiscard]] const Scenario& scenario() const { return evidence_.scenario; }

 private:
  enum class Phase { kStart, kInjecting, kRunning, kRestoring, kRecovering, kFinished };

  void follow(const Observation& o);  // the expected alert, its notifications and acks
  void finish(core::TimePoint now);
  void set_outcome(Verdict v, std::string step, std::string reason);

  Phase phase_ = Phase::kStart;
  Evidence evidence_;
  std::set<std::string> preexisting_;  // fingerprints firing before the injection
  std::set<std::string> groups_;       // of the expected alert
  bool ack_sent_ = false;
  bool restore_due_ = false;  // step() asks for kRestore (after a failed inject, a stop)
};

}  // namespace opsready::drills
