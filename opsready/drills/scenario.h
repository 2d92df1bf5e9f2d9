#pragma once
// Scenario: one forced-failure drill as data (docs/drills.md) — what it claims (hypothesis),
// what must hold before and after (steady state), the fault and how long it lasts, the alert
// it expects and where, when it must stop early (abort conditions) and what recovery means.
// app/drills_config.cc reads it from YAML with the configuration's one reader; the Run
// (run.h) executes it against Observations; app/drill_service.cc injects the faults.
//
//   name: webhook-outage
//   hypothesis: A desk webhook outage raises OpsreadyNotificationFailing at the fallback.
//   steady_state: [{readiness: {at_most: warn}}, {no_alert: 'alertname="X"'}]
//   fault: {kind: receiver_outage, receiver: desk, duration: 10s}
//   expect: {alert: 'alertname="OpsreadyNotificationFailing"', receiver: fallback, within: 30s}
//
// A plain value; no I/O.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/alerting/matcher.h"
#include "opsready/components/incident_response.h"
#include "opsready/core/alert.h"
#include "opsready/core/clock.h"
#include "opsready/core/status.h"
#include "opsready/readiness/readiness.h"

namespace opsready::drills {

using GateOutcome = readiness::GateDecision::Decision;

// The faults opsready can inject (docs/drills.md "Faults").
enum class FaultKind {
  kReceiverOutage,  // every integration of a receiver fails to connect (real retries)
  kFeedStall,       // events on matching topics are dropped at ingest
  kCommand,         // a command to run and a command that undoes it
  kTaskCrash,       // a supervised task of the drill's own that fails `failures` times
  kStoreFault,      // the store refuses writes (read-only) and/or answers `delay` late
  kIncidentChaos,   // the spec's §5.3 chaos events change incident_response's state
  kIngestFailover,  // the spec's §6 ingest failover drill, with a real fallback command
};
[[nodiscard]] std::string_view to_string(FaultKind k);
[[nodiscard]] std::optional<FaultKind> parse_fault_kind(std::string_view word);

struct Fault {
  FaultKind kind = FaultKind::kCommand;
  std::string receiver;             // receiver_outage
  std::vector<std::string> topics;  // feed_stall: topic patterns (core/topic_pattern.h)
  std::string run;                  // command: run with /bin/sh -c
  std::string undo;  // command: undoes `run` (also after a crash); ingest_failover: optional
  core::Duration command_timeout = std::chrono::seconds(30);
  // task_crash: the task fails this many times in a row, then runs; its supervisor (the
  // drill's, under the daemon's root) allows `intensity` restarts within `period`, so
  // failures > intensity makes it fail and escalate.
  int failures = 3;
  int intensity = 5;
  core::Duration period = std::chrono::seconds(30);
  // store_fault: writes refused as by a read-only database, and/or every store operation
  // slowed by `delay` (store::StoreFault).
  bool read_only = false;
  core::Duration delay{};
  // incident_chaos: applied in order to the state of incident_response's latest document.
  std::vector<components::ChaosEvent> chaos;
  // ingest_failover: the ingest results the runtime wrote (JSON, as failover_drill reads them),
  // re-read at the injection; the dimensions emptied (empty: every result's); the command run
  // when the failover decision says to fail over (empty: none, which grades warn "fallback not
  // provided"). `undo`, when set, runs at the restore (back to the primary).
  std::string results_file;
  std::vector<std::string> dimensions;
  std::string fallback;
  core::Duration duration = std::chrono::seconds(30);  // from injection to restore

  bool operator==(const Fault&) const = default;
};

// One condition on what opsready observes. Steady-state checks must hold; an abort
// condition stops the drill when it holds.
struct Check {
  enum class Kind {
    kReadiness,  // the overall status, at_most / at_least
    kGate,       // the gate decision, at_most / at_least
    kComponent,  // one component's status, at_most / at_least (a missing one never holds)
    kAlert,      // some firing alert matches `matchers`
    kNoAlert,    // no firing alert matches `matchers`
    kMetric,     // the sum of opsready's own series `metric` whose labels match `matchers`,
                 // value_at_most / value_at_least (no such series never holds)
  };
  Kind kind = Kind::kReadiness;
  std::string component;
  std::optional<core::Status> status_at_most, status_at_least;
  std::optional<GateOutcome> gate_at_most, gate_at_least;
  alerting::Matchers matchers;
  std::string metric;  // kMetric: a counter or gauge of GET /metrics
  std::optional<double> value_at_most, value_at_least;

  // "readiness at most warn", "component fix_gateway at least fail", "alert {a="b"}".
  [[nodiscard]] std::string describe() const;

  bool operator==(const Check&) const = default;
};

struct Expectation {
  alerting::Matchers alert;  // the alert the fault must raise (empty: none expected)
  std::string receiver;      // it must be notified there (empty: anywhere or nowhere)
  core::Duration within = std::chrono::seconds(60);  // of the injection
  bool acked = false;  // an ack (person or responder) is part of the hypothesis

  bool operator==(const Expectation&) const = default;
};

// The scripted responder of an unattended drill: acks the expected alert's group at
// `ack_after` past its first notification at `receiver`.
struct Responder {
  core::Duration ack_after{};
  std::string by = "drill-responder";

  bool operator==(const Responder&) const = default;
};

struct Recovery {
  core::Duration within = std::chrono::seconds(120);  // of the restore
  bool alert_resolved = true;                         // the expected alert must have resolved

  bool operator==(const Recovery&) const = default;
};

struct Scenario {
  std::string name;  // [a-z0-9_.-]+, the metrics' `scenario` label
  std::string description;
  std::string hypothesis;
  std::vector<Check> steady_state;
  Fault fault;
  // Components whose alerts carry drill="true" while the drill runs (routes send them to a
  // drill receiver instead of paging).
  std::vector<std::string> target_components;
  Expectation expect;
  std::optional<Responder> responder;
  std::vector<Check> abort_if;
  // Checks that must each hold at least once while the fault is in place (Litmus's "on
  // chaos" probes): the fault's effect, e.g. events spooled while the bus is down.
  std::vector<Check> during;
  Recovery recovery;
  std::string file;  // where it was read from (empty for one built in code)

  bool operator==(const Scenario&) const = default;
};

// Whether `name` may name a scenario ([a-z0-9][a-z0-9_.-]{0,63}).
[[nodiscard]] bool is_valid_scenario_name(std::string_view name);

// The plan as JSON (GET /api/v1/drills, `drill list`, the evidence's `scenario_plan`).
[[nodiscard]] nlohmann::json to_json(const Scenario& s);

// What a run observes of opsready at one instant, from opsready's own state.
struct ObservedAlert {
  core::LabelSet labels;
  std::string fingerprint;
  core::TimePoint starts_at{};
  std::vector<std::string> groups;  // engine::group_id of the groups holding it
};

struct ObservedNotification {
  std::string group;  // group id
  std::string receiver;
  core::TimePoint at{};  // accepted by the receiver; decided, for an integration that records
};

struct ObservedAck {
  std::string group;  // group id
  std::string by;
  std::string channel;
  core::TimePoint at{};
};

struct ObservedSample {
  core::LabelSet labels;
  double value = 0;
};

struct Observation {
  core::TimePoint now{};
  // The readiness snapshot's generated_at: when opsready last evaluated.
  core::TimePoint evaluated_at{};
  core::Status readiness = core::Status::kOk;
  GateOutcome gate = GateOutcome::kPass;
  std::vector<std::pair<std::string, core::Status>> components;  // sorted by name
  std::vector<ObservedAlert> alerts;                             // firing
  // Of the groups holding an alert matching the expectation (every receiver).
  std::vector<ObservedNotification> notifications;
  std::vector<ObservedAck> acks;
  // The series of every metric a check of the scenario names (metric_names()), by name.
  std::map<std::string, std::vector<ObservedSample>, std::less<>> metrics;
};

// The metric names the scenario's checks read (steady state, abort conditions, during).
[[nodiscard]] std::vector<std::string> metric_names(const Scenario& s);

struct CheckResult {
  std::string check;  // Check::describe()
  bool held = false;
  std::string observed;  // "readiness warn", "2 alerts match", ...
};

[[nodiscard]] CheckResult evaluate(const Check& c, const Observation& o);

}  // namespace opsready::drills
