#pragma once
// Engine: the one owner of evaluation state. It folds every input — telemetry events, external
// alerts (POST /api/v2/alerts), silences, acknowledgements — into the component evaluators,
// the readiness aggregate and the gate, derives alerts from readiness changes, and routes,
// groups, inhibits, silences, acknowledges and escalates every alert, derived or external, on
// an injected time: nothing in it reads a clock or runs a timer by itself. The daemon
// (app::Runtime) and `opsready replay` drive the same Engine, so the same calls give the same
// snapshots, alerts and notifications, byte for byte, whichever drives it.
//
//   engine::Engine e = engine::Engine::create(options, sink).value();
//   e.restore(state);                          // daemon: what the store holds, before anything
//   e.apply(event, now);                       // every input, on the evaluation strand
//   e.evaluate(now);                           // after a batch: readiness, derivation, routing
//   if (auto due = e.next_deadline(); due && *due <= now) e.advance(now);   // timers
//   auto snap = e.readiness();                 // materialized once per version
//
// What happens where:
//  - apply(event) routes a telemetry event to the component evaluators (components::Registry)
//    or, for a component.snapshot, records it as that component's latest snapshot; it also
//    feeds the dead-man switch (expected telemetry sources). Nothing is derived yet;
//  - evaluate(now) brings the incremental aggregate to `now` (readiness::Aggregator: cost by
//    the components that changed, never by how many there are), derives the alerts of every
//    changed component and of the overall readiness and gate (alerting::Deriver), and puts each
//    changed alert into the inhibitor and the dispatcher (aggregation groups);
//  - put_alerts() merges external alerts by fingerprint with Alertmanager's rules and puts them
//    into the same inhibitor and dispatcher: derived and external alerts meet the same route
//    tree, inhibition rules and silences;
//  - advance(now) fires what is due by `now`: staleness (an evaluate), group ticks (each muted
//    per alert by silences and inhibition, per route by time intervals, then filtered by acks),
//    ack expiry and escalation steps, external alerts timing out, the dead-man switch. Every
//    notification decided goes to the Sink, with the records of every decision.
//
// Outputs go to a Sink, in order, on the caller's thread: the daemon writes them behind to the
// store and (issue 12) the outbox; a replay prints them. The Engine never blocks and does no I/O.
//
// Not thread-safe: one evaluation strand owns it and calls every method, with `now` never going
// backwards. Reads (readiness(), alerts(), groups(), silences()) are made on the strand too; the
// daemon posts them there (see app::Runtime), so an HTTP thread never touches engine state.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/alerting/ack.h"
#include "opsready/alerting/deadman.h"
#include "opsready/alerting/derive.h"
#include "opsready/alerting/group.h"
#include "opsready/alerting/incident.h"
#include "opsready/alerting/inhibit.h"
#include "opsready/alerting/policy.h"
#include "opsready/alerting/record.h"
#include "opsready/alerting/route.h"
#include "opsready/alerting/silence.h"
#include "opsready/components/registry.h"
#include "opsready/core/alert.h"
#include "opsready/core/clock.h"
#include "opsready/core/error.h"
#include "opsready/core/event.h"
#include "opsready/engine/feeds.h"
#include "opsready/readiness/aggregator.h"
#include "opsready/readiness/readiness.h"
#include "opsready/store/store.h"

namespace opsready::engine {

struct EngineOptions {
  readiness::GatePolicy gate;
  components::ComponentsConfig detectors;
  alerting::Policy policy = alerting::default_policy();
  // service, threshold, runbook base; category_of is filled in from the component registry.
  alerting::DeriveOptions derive;
  std::vector<alerting::ExpectedSource> expected_sources;
  bool watchdog = true;  // the always-firing OpsreadyWatchdog alert
  // Seeds the silence id generator; the daemon passes a random seed, a replay a fixed one.
  std::uint64_t silence_seed = 1;
  // How much the component evaluators put into their snapshots (a replay prints no metadata).
  components::Detail detail = components::Detail::kFull;
  // Expired silences are kept this long, as Alertmanager's --data.retention (120h).
  core::Duration silence_retention = std::chrono::hours(120);
  // Most external alerts held; a new fingerprint past it is refused (counted), as a cap on
  // what a misbehaving client can make opsready keep. 0 = no cap.
  std::size_t max_external_alerts = 1'000'000;
  // The most alert entries one advance() ticks through (Dispatcher::advance's budget); the
  // groups left over stay due, so next_deadline() is already past and the driver calls again.
  // 0 = no bound (a replay ticks everything due before its next line).
  std::size_t tick_budget = 0;
};

// A notification the engine decided: the Dispatcher's decision, or an escalation step.
struct Decision {
  alerting::Notification notification;  // receiver = who gets it (the escalation target for a step)
  std::string group_id;                 // group_id(notification.group)
  bool escalation = false;
  std::size_t step = 0;  // the escalation step (1-based) when escalation
};

// What an engine emits, in order, on the thread that called it. Every method has a do-nothing
// default, so a driver implements what it needs.
class Sink {
 public:
  virtual ~Sink() = default;
  // A component snapshot as received (component.snapshot events), for history.
  virtual void component_received(const core::ComponentSnapshot&) {}
  // A derived, dead-man or watchdog alert started, changed (annotations) or resolved
  // (firing = false), at `now`.
  virtual void alert_changed(const core::Alert&, bool /*firing*/, core::TimePoint /*now*/) {}
  // A notification is due. (Issue 12 delivers it through the durable outbox.)
  virtual void decided(const Decision&) {}
  // State to keep across a restart (an empty json deletes the row), and log rows to append.
  virtual void persist(store::StateRow) {}
  // Whether persist() is wanted at all. A driver that keeps no state (a replay) returns false,
  // and the engine then neither builds nor hands out state rows.
  [[nodiscard]] virtual bool wants_persist() const { return true; }
  virtual void append(store::LogRow) {}
  // A decision record (ack.h), as made, before append() gets it as a "record" log row: for a
  // driver that follows incidents live (the daemon's MTTA/MTTR histograms).
  virtual void recorded(const alerting::Record&) {}
};

// What a restart gives back, read from the store before the first input.
struct RestoreState {
  std::vector<core::ComponentSnapshot> components;  // the latest snapshot of each
  std::vector<core::Alert> external_alerts;
  std::vector<store::StateRow> state;  // every alerting_state row of kStateKinds
  // The decision records the store holds, in the order they were made: the incident log that
  // the incident_response component's MTTA / MTTR come from (alerting::ResponseStats).
  std::vector<alerting::Record> records;
};

// The alerting_state kinds the engine writes through EngineSink::persist() and reads back in
// restore(): a driver loads exactly these.
inline constexpr std::string_view kStateKinds[] = {
    "silence", "acks", "ack_group", "group_log", "derived_alert", "component", "feed"};

// A short, stable id for a group key, safe in a URL path: 16 hex digits of FNV-1a 64 over
// GroupKey::to_string().
[[nodiscard]] std::string group_id(const alerting::GroupKey& key);

// One alert as the API shows it: the alert, and why it is not notified.
struct AlertView {
  const core::Alert* alert = nullptr;
  bool derived = false;
  std::vector<std::string> silenced_by;   // silence ids
  std::vector<std::string> inhibited_by;  // source fingerprints
  std::vector<std::string> receivers;     // of the routes it matches
  [[nodiscard]] bool suppressed() const { return !silenced_by.empty() || !inhibited_by.empty(); }
};

struct EngineCounts {
  std::size_t alerts_firing = 0;  // derived and external
  std::size_t alerts_derived = 0;
  std::size_t alerts_external = 0;
  std::size_t groups = 0;
  std::size_t acks = 0;
  std::uint64_t notifications = 0;  // decided since start
  std::uint64_t escalations = 0;
  std::uint64_t held = 0;              // repeats held back by an ack
  std::uint64_t external_refused = 0;  // past max_external_alerts
  std::uint64_t events = 0;
  std::uint64_t events_unrouted = 0;
  std::uint64_t events_refused = 0;
  std::uint64_t evaluations = 0;
};

class Engine {
 public:
  // Builds the component registry, the route tree, the inhibitor and the time intervals from
  // `options`; errors name the configuration field.
  // `start` is when the engine starts (the watchdog's startsAt, the dead-man switch's origin).
  [[nodiscard]] static core::Result<std::unique_ptr<Engine>> create(EngineOptions options,
                                                                    Sink& sink,
                                                                    core::TimePoint start);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Before any other call: the state a previous run left. Silences, acks and group logs come
  // back before any alert is routed, and every alert is back in the inhibitor before the first
  // group tick, so a restart neither drops a silence nor lets an inhibited alert through
  // (Alertmanager's #4064). Rows it cannot read are skipped and returned as errors.
  std::vector<core::Error> restore(RestoreState state, core::TimePoint now);

  // ---- inputs ---------------------------------------------------------------------------
  // One telemetry event. Returns the routing outcome (a refused payload names the component).
  components::Routed apply(const core::TelemetryEvent& e, core::TimePoint now);
  // A component snapshot made in-process (supervision, bus health): as a component.snapshot
  // event would be.
  void put_component(core::ComponentSnapshot s, core::TimePoint now);
  // External alerts, already validated (server::parse_alerts), each with received_at set.
  // Returns how many were taken (the rest were past max_external_alerts).
  std::size_t put_alerts(const std::vector<core::Alert>& alerts, core::TimePoint now);
  // Silences (Alertmanager API v2). Errors are alerting::Silences's; nothing changes then.
  core::Result<std::string> put_silence(alerting::Silence s, core::TimePoint now);
  core::Result<void> expire_silence(std::string_view id, core::TimePoint now);
  // Acknowledgements of a group by its group_id() (or full key): `a` says by, comment, channel
  // and expires_at (its group is set here). Errors: alerting::Acks's.
  core::Result<void> ack(std::string_view group, alerting::Ack a, core::TimePoint now);
  core::Result<void> unack(std::string_view group, const std::string& by, core::TimePoint now);

  // The components a drill targets (alerting::Deriver::set_drill): their alerts carry
  // drill="true" until the set is emptied; those already firing are derived again at once.
  void set_drill_components(std::set<std::string, std::less<>> components, core::TimePoint now);
  // The newest drill that tested its hypothesis (Pass or Fail): incident_response's drill
  // cadence (its drill age) is measured from it rather than taken from the document.
  void set_last_drill(core::TimePoint at);
  // The incident_chaos drill fault (components::IncidentResponse::set_chaos): the events change
  // incident_response's state until cleared with an empty list. Returns the chaos_events the
  // component then records (their impacts); refused when incident_response is disabled or has
  // no state to change.
  [[nodiscard]] core::Result<nlohmann::json> set_incident_chaos(
      std::vector<components::ChaosEvent> events, core::TimePoint now);

  // Readiness and alert derivation as of `now` (see the overview). Returns whether the
  // readiness snapshot changed.
  bool evaluate(core::TimePoint now);
  // The earliest time advance() has something to do; std::nullopt when nothing is scheduled.
  [[nodiscard]] std::optional<core::TimePoint> next_deadline() const;
  // Fires everything due at or before `now`, in time order.
  void advance(core::TimePoint now);
  // Emits the state that is written as a whole (the acknowledgements and open incidents) when
  // it changed since the last call. The daemon calls it once per batch it writes.
  void checkpoint();
  // The external alerts merged since the last call (copies), for the store's write-behind.
  [[nodiscard]] std::vector<core::Alert> take_external_changes();

  // ---- reads (on the strand) -------------------------------------------------------------
  [[nodiscard]] std::shared_ptr<const readiness::ReadinessSnapshot> readiness();
  [[nodiscard]] std::uint64_t readiness_version() const;
  // Every known alert (firing derived ones, external ones until they are collected), sorted by
  // fingerprint, with why each is muted at `now`.
  [[nodiscard]] std::vector<AlertView> alerts(core::TimePoint now) const;
  [[nodiscard]] const std::map<alerting::GroupKey, alerting::Group>& groups() const;
  [[nodiscard]] const alerting::Silences& silences() const { return silences_; }
  [[nodiscard]] const alerting::Acks& acks() const { return acks_; }
  [[nodiscard]] const alerting::Policy& policy() const { return options_.policy; }
  [[nodiscard]] const alerting::Route& routes() const { return *routes_; }
  // The receivers an alert with `labels` would reach (amtool config routes test).
  [[nodiscard]] std::vector<std::string> receivers_for(const core::LabelSet& labels) const;
  [[nodiscard]] EngineCounts counts(core::TimePoint now) const;
  [[nodiscard]] components::Registry& registry() { return registry_; }
  [[nodiscard]] const readiness::Aggregator& aggregator() const { return aggregator_; }
  // The dashboard feeds (feeds.h) as of the last input; a new value whenever one changed.
  [[nodiscard]] std::shared_ptr<const Feeds> feeds() const { return feeds_; }
  [[nodiscard]] std::uint64_t feeds_version() const { return feeds_version_; }

 private:
  Engine(EngineOptions options, Sink& sink, components::Registry registry,
         std::unique_ptr<alerting::Route> routes, alerting::Inhibitor inhibitor,
         alerting::DeadMan deadman, core::TimePoint start);

  // An external alert: the one stored alert of its fingerprint, and the groups that hold it
  // (Dispatcher::put's `joined`), to re-put an unchanged re-post without routing it again.
  struct External {
    std::shared_ptr<core::Alert> alert;
    std::vector<const alerting::Group*> groups;
  };

  // Persists the state() of every component whose state_version() moved (kComponentState).
  void persist_component_state();
  // Hands the incident log's MTTA / MTTR to incident_response when they changed by `now`.
  void update_incident_metrics(core::TimePoint now);
  // An alert changed (derived or external): into the inhibitor and the dispatcher.
  void route(const core::AlertRef& a, core::TimePoint now,
             std::vector<const alerting::Group*>* joined = nullptr);
  // A derived, dead-man or watchdog alert changed: persisted, then routed.
  void internal_changed(const core::AlertRef& a, core::TimePoint now);
  // internal_changed() of each of `alerts` (copies of the dead-man switch's).
  void internal_changed(const std::vector<core::Alert>& alerts, core::TimePoint now);
  // Calls f(const core::Alert&) for every firing internal alert: derived, dead-man, watchdog.
  template <typename F>
  void for_each_internal(F&& f) const {
    for (const auto& [fp, a] : deriver_.active()) f(*a);
    for (const auto& [fp, a] : deadman_.active()) f(a);
    if (watchdog_) f(watchdog_->alert());
  }
  void tick_groups(core::TimePoint now);
  // The overall readiness and gate alerts, from the aggregator's current state.
  void derive_readiness(core::TimePoint now);
  void fire_escalations(core::TimePoint now);
  void expire_external(core::TimePoint now);
  void expire_silences(core::TimePoint now);
  void flush_silence_changes();
  void flush_records();
  void persist_group(const alerting::GroupKey& key);
  bool muted(const core::Alert& a, core::TimePoint at) const;
  bool route_muted(const alerting::Route& r, core::TimePoint at) const;
  const alerting::Receiver* receiver(std::string_view name) const;
  void decide(alerting::Notification n, bool escalation, std::size_t step);

  EngineOptions options_;
  Sink& sink_;
  components::Registry registry_;
  bool registry_dirty_ = false;
  // The state_version() of each registry component last persisted (kComponentState rows).
  std::vector<std::uint64_t> state_versions_;
  readiness::Aggregator aggregator_;
  alerting::Deriver deriver_;
  alerting::DeadMan deadman_;
  std::optional<alerting::Watchdog> watchdog_;
  std::unique_ptr<alerting::Route> routes_;  // the Dispatcher points into it: never moved
  alerting::Inhibitor inhibitor_;
  alerting::Silences silences_;
  alerting::Dispatcher dispatcher_;
  // MTTA / MTTR of the incident log, for the incident_response component (when enabled).
  alerting::ResponseStats incident_stats_;
  components::IncidentResponse* incident_component_ = nullptr;
  bool incident_stats_dirty_ = false;
  alerting::Acks acks_;
  std::map<std::string, const alerting::TimeInterval*, std::less<>> intervals_;

  // By core::fingerprint_value.
  std::unordered_map<std::uint64_t, External> external_;
  std::unordered_set<std::uint64_t> external_changed_;  // since take_external_changes()
  // Groups of an older store's whole-state acks row, to be written as their own rows at the
  // next checkpoint() (with what Acks::take_changed() gives).
  std::set<std::string, std::less<>> acks_changed_;
  // The external alerts firing when last put, by endsAt: those after `now` fire at `now`
  // (entries at or before it are due for expire_external()).
  std::set<std::pair<core::TimePoint, std::uint64_t>> external_ends_;
  std::set<std::pair<core::TimePoint, std::string>> silence_ends_;  // active ones, by endsAt
  core::TimePoint last_evaluated_{};
  // What the readiness and gate alerts were last derived from, and when their text is due
  // for a refresh (see evaluate()).
  static constexpr core::Duration kReadinessTextInterval = std::chrono::seconds(1);
  core::Status derived_status_ = core::Status::kOk;
  readiness::GateDecision::Decision derived_decision_ = readiness::GateDecision::Decision::kPass;
  std::optional<core::TimePoint> readiness_refresh_at_;
  std::vector<core::ComponentSnapshot> scratch_snapshots_;
  std::vector<core::AlertRef> scratch_alerts_;   // the Deriver's
  std::vector<core::Alert> scratch_heartbeats_;  // the dead-man switch's
  EngineCounts counts_;
  std::shared_ptr<const Feeds> feeds_ = std::make_shared<const Feeds>();
  std::uint64_t feeds_version_ = 0;
};

}  // namespace opsready::engine
