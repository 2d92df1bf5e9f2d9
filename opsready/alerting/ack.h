#pragma once
// Acks: acknowledgements and escalation of alert groups (issue 11 §5), which Alertmanager lacks
// and PagerDuty and Grafana OnCall have. The engine reports each group's life (its first
// notification, every notification the Dispatcher decides, its resolution); people ack and
// unack groups; Acks says which repeats to hold back, when to escalate to whom, and records
// every decision (record.h) for the audit trail and MTTA/MTTR. Manual time, as the Dispatcher:
// every call takes `now`, nothing reads a clock, the same calls give the same answers.
//
//   Acks acks;
//   for (Escalation& e : acks.advance(now)) outbox.push(escalated(e, dispatcher));  // first
//   for (Notification& n : dispatcher.advance(now)) {
//     const std::string key = n.group.to_string();
//     if (n.reason == NotifyReason::kFirst) acks.opened(key, n.receiver, policy(n.receiver), n.at);
//     if (acks.notify(key, n.reason, rose(n), n.at)) outbox.push(std::move(n));
//   }
//   auto ok = acks.ack({.group = key, .by = "alice", .comment = "on it"}, now);  // POST
//   for (Record& r : acks.take_records()) log.append(r);
//   for (const auto& key : acks.take_changed()) save(key, acks.open_group(key));  // or delete
//
// Semantics (PagerDuty's and Grafana OnCall's, reduced to what a group key can carry):
//  - a group is open from its first notification (opened()) until it resolves: notify() with
//    kAllResolved, or resolved() when the group disappears without one (a reload). Only an
//    open group can be acked: otherwise `unknown_group`, or `group_resolved` for a group that
//    resolved less than `resolved_retention` ago (the ack/resolve race of grafana/oncall#3161:
//    Acks never reopens a group because of an ack);
//  - while a group is acked, notify() holds back its repeats (kRepeat: returns false and
//    records kHeld). kNewAlerts (and kFirst, which an open group should not see again) or a
//    severity rise re-notify and end the ack: the group needs a fresh ack (kAckCleared, then
//    kNotified). kNewResolved and kAllResolved go out and leave the ack as it is;
//  - an ack ends by itself when its group resolves or at expires_at (half-open, as silences:
//    acked in [at, expires_at), so the expiry instant is no longer acked). unack() ends it at
//    once; anyone may unack (PagerDuty lets any responder), and the record says who did;
//  - re-acking an acked group replaces who, comment and expiry, and keeps `at`, the start of
//    the continuous acknowledgement (`updated_at` moves): MTTA takes the first ack anyway, and
//    a hand-over between responders should not look like a fresh response;
//  - escalation: a receiver's policy is a list of steps {after, receiver}. An open, unacked
//    group fires step i once `after_i` has passed since its chain started; each step fires once
//    per chain, in list order (a step whose `after` is shorter than the step before it fires
//    together with that step, after it; validate_escalation_policy() refuses such a list at
//    config time). The chain starts when the group opens. An ack stops the chain (the pending
//    steps are cancelled); when an ack ends without resolution (expiry, unack, cleared), the
//    chain starts again from the first step, its delays measured from that moment: PagerDuty
//    re-triggers an incident whose ack timed out from the first escalation rule, and
//    resuming instead would fire every step whose delay passed during the ack at once.
//    Resolution stops the chain for good;
//  - Acks does not re-notify the group's own receiver when an ack ends by expiry or unack: its
//    next repeat goes out at the Dispatcher's next repeat tick, and the escalation chain,
//    restarted, is what pages again.
//
// Calls must come in time order, with `now` never going backwards, and advance(now) before
// anything else at `now` (as with the Dispatcher), so records come out in time order. As a
// safety net notify(), ack(), unack() and resolved() first end an ack whose expiry has passed
// (recording kAckExpired at expires_at), so a late advance() never holds a repeat back past
// the expiry; escalations fire only in advance(), each with its own due time as `at`.
//
// Cost: O(log n) per call for n open groups, plus the length of the group's policy when a
// chain is scheduled (one ordered deadline per group: its ack's expiry, or its next escalation
// step); advance() costs O(log n) per expiry or step it fires, plus the recently resolved
// groups it forgets. list() and snapshot() walk every open group.
//
// Single owner: not thread-safe; the evaluation strand that owns the Dispatcher owns the Acks.
// Pointers that find() and list() return stay valid until the next non-const call. Movable,
// not copyable (the deadline sets point at the keys of the maps).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/alerting/group.h"
#include "opsready/alerting/record.h"
#include "opsready/core/clock.h"
#include "opsready/core/error.h"

namespace opsready::alerting {

// How long Acks remembers a resolved group, so that a late ack says `group_resolved`.
inline constexpr core::Duration kDefaultResolvedRetention = std::chrono::hours(1);

struct EscalationStep {
  core::Duration after{};  // since the chain started (the group opened, or its ack ended)
  std::string receiver;

  bool operator==(const EscalationStep&) const = default;
};

// For configuration: every step has a receiver (`escalation_missing_receiver`, field
// steps[i].receiver), a non-negative delay (`escalation_negative_after`, steps[i].after) that
// is not shorter than the step before it (`escalation_steps_out_of_order`, steps[i].after).
[[nodiscard]] core::Result<void> validate_escalation_policy(
    const std::vector<EscalationStep>& steps);

// One escalation step that fired: the engine sends a notification of the group's current
// alerts to `receiver`.
struct Escalation {
  std::string group;
  std::string receiver;
  std::size_t step = 0;  // index into the policy, from 0
  core::TimePoint at{};  // when it was due

  bool operator==(const Escalation&) const = default;
};

struct Ack {
  std::string group;  // GroupKey::to_string()
  std::string by;     // required
  std::string comment;
  // Where the ack was given ("api", "cli", "dashboard", "slack", ...): the client says; kept
  // in the kAcked record for the incident timeline ("acknowledged via").
  std::string channel;
  core::TimePoint at{};                       // set by Acks: the first ack of this acknowledgement
  std::optional<core::TimePoint> expires_at;  // std::nullopt: until resolved or unacked
  core::TimePoint updated_at{};               // set by Acks: the latest (re-)ack

  bool operator==(const Ack&) const = default;
};

// {"group", "by", "comment", "channel"?, "at", "updated_at", "expires_at"?} with RFC 3339 times
// ("channel" only when not empty).
[[nodiscard]] nlohmann::json to_json(const Ack& a);
// The inverse of to_json(), and the body of an ack request: "group" and "by" are required
// strings, "comment" and "channel" optional strings, the times optional (an ack request leaves "at"
// and "updated_at" out; Acks sets them). Errors name the field: `ack_wrong_type`,
// `ack_missing_field`, `ack_invalid_timestamp`. Whether `by` is empty is ack()'s check.
[[nodiscard]] core::Result<Ack> ack_from_json(const nlohmann::json& j);

// One open group as snapshot() saves it and restore() takes it back.
struct OpenGroup {
  std::string group;
  std::string receiver;
  std::vector<EscalationStep> policy;
  core::TimePoint opened_at{};
  core::TimePoint chain_started_at{};  // opened_at, or when its last ack ended
  std::size_t next_step = 0;           // the step the chain fires next; policy.size(): done
  std::optional<Ack> ack;

  bool operator==(const OpenGroup&) const = default;
};

struct AcksSnapshot {
  std::vector<OpenGroup> groups;  // by group key
  std::uint64_t sequence = 0;     // the last record's sequence number

  bool operator==(const AcksSnapshot&) const = default;
};

// {"sequence", "groups": [{"group", "receiver", "policy": [{"after": "5m", "receiver"}],
// "opened_at", "chain_started_at", "next_step", "ack"?}]}; `after` as core::format_duration
// writes it (whole milliseconds, as configuration durations are).
[[nodiscard]] nlohmann::json to_json(const AcksSnapshot& s);
// The inverse of to_json(); errors as ack_from_json()'s (fields such as "groups[1].ack.by"),
// plus `ack_invalid_duration`. restore() checks the values.
[[nodiscard]] core::Result<AcksSnapshot> acks_snapshot_from_json(const nlohmann::json& j);

class Acks {
 public:
  explicit Acks(core::Duration resolved_retention = kDefaultResolvedRetention)
      : resolved_retention_(resolved_retention) {}

  Acks(Acks&&) = default;
  Acks& operator=(Acks&&) = default;
  Acks(const Acks&) = delete;
  Acks& operator=(const Acks&) = delete;

  // The group's first notification: it opens with `receiver`'s escalation `policy`, its chain
  // starting at `at` (kOpened). For a group that is already open (a configuration reload) only
  // receiver and policy are replaced: the incident, its ack and its chain position stay.
  void opened(const std::string& group, const std::string& receiver,
              const std::vector<EscalationStep>& policy, core::TimePoint at);

  // A notification the Dispatcher decided for `group` at `at`; false when it must be held back
  // (see the overview). `severity_rose`: its firing alerts rank above the previous
  // notification's (Group::notified_severity before the tick). kAllResolved resolves the group
  // (resolved() after it does nothing). A group that is not open passes (true), recorded with
  // an empty receiver.
  [[nodiscard]] bool notify(std::string_view group, NotifyReason reason, bool severity_rose,
                            core::TimePoint at);

  // The group resolved or disappeared: its ack ends, its chain stops (kResolved). Nothing for
  // a group that is not open.
  void resolved(std::string_view group, core::TimePoint at);

  // Acknowledges a.group as a.by until a.expires_at (see the overview); a.at and
  // a.updated_at are set here. Errors: `ack_missing_by` (by), `ack_expires_in_past`
  // (expires_at: not after now), `unknown_group`, `group_resolved` (group). A refused ack
  // changes nothing.
  [[nodiscard]] core::Result<void> ack(Ack a, core::TimePoint now);

  // Ends the group's ack now; `by` is who takes it back. Errors: `ack_missing_by` (by),
  // `unknown_group`, `group_resolved`, `group_not_acked` (group).
  [[nodiscard]] core::Result<void> unack(std::string_view group, std::string_view by,
                                         core::TimePoint now);

  // The group's ack; nullptr when it is not open or not acked.
  [[nodiscard]] const Ack* find(std::string_view group) const;
  // Every ack, by group key.
  [[nodiscard]] std::vector<const Ack*> list() const;
  [[nodiscard]] bool is_open(std::string_view group) const { return groups_.contains(group); }
  [[nodiscard]] std::size_t open_count() const { return groups_.size(); }
  // How many open groups are acked (list().size(), without the walk).
  [[nodiscard]] std::size_t acked_count() const { return acked_; }
  // The state of an open group as snapshot() would save it; nullptr when it is not open.
  [[nodiscard]] const OpenGroup* open_group(std::string_view group) const;
  [[nodiscard]] std::uint64_t sequence() const { return sequence_; }

  // The earliest ack expiry or escalation step due; std::nullopt when there is none.
  [[nodiscard]] std::optional<core::TimePoint> next_deadline() const;

  // Ends the acks that expire at or before `now` and fires the escalation steps due by then,
  // in time order (ties by group key), each at its own due time: an expiry restarts its
  // group's chain, whose steps due by `now` fire in the same call. Forgets groups resolved
  // at least resolved_retention before `now`.
  [[nodiscard]] std::vector<Escalation> advance(core::TimePoint now);

  // The records since the last call, in the order made (sequence 1, 2, ...).
  [[nodiscard]] std::vector<Record> take_records();
  // The groups whose snapshot() state may have changed since the last call (every group that
  // got a record, and an open group whose receiver or policy changed): what to persist again.
  [[nodiscard]] std::set<std::string, std::less<>> take_changed();

  // The open groups, by key, and the last sequence number: what restore() needs after a
  // restart. Resolved groups are not kept (after a restart a late ack says `unknown_group`).
  [[nodiscard]] AcksSnapshot snapshot() const;

  // Replaces the whole state (untaken records included) with `s`, recording nothing; for
  // loading the store at start-up. Acks that expired and steps that fell due while the
  // daemon was down happen at the next advance(), at their own times. Errors, with the field
  // (groups[i].…): `ack_restore_invalid` (an empty group key, next_step beyond the policy,
  // chain_started_at before opened_at, an ack of another group or without `by`),
  // `ack_restore_duplicate_group`. A refused snapshot changes nothing.
  [[nodiscard]] core::Result<void> restore(AcksSnapshot s);

 private:
  struct Entry {
    OpenGroup state;
    std::optional<core::TimePoint> deadline;  // in deadlines_
  };

  struct DeadlineOrder {
    bool operator()(const std::pair<core::TimePoint, const std::string*>& a,
                    const std::pair<core::TimePoint, const std::string*>& b) const {
      if (a.first != b.first) return a.first < b.first;
      return *a.second < *b.second;
    }
  };
  using Deadlines = std::set<std::pair<core::TimePoint, const std::string*>, DeadlineOrder>;
  using Groups = std::map<std::string, Entry, std::less<>>;

  // Puts e's deadline in deadlines_: its ack's expiry, else its next step's due time.
  void schedule(const std::string& key, Entry& e);
  void unschedule(const std::string& key, Entry& e);
  // Ends e's ack (already recorded) and restarts its chain at `at`.
  void retrigger(const std::string& key, Entry& e, core::TimePoint at);
  // Records the expiry of e's ack when it is due by `now`.
  void expire_if_due(const std::string& key, Entry& e, core::TimePoint now);
  // Ends e's ack, which has an expiry, at that expiry.
  void expire(const std::string& key, Entry& e);
  void resolve(Groups::iterator it, core::TimePoint at);
  void forget_resolved(core::TimePoint now);
  // The error for a group that is not open.
  [[nodiscard]] core::Error not_open(std::string_view group, core::TimePoint now) const;
  void record(RecordKind kind, std::string_view group, std::string_view receiver,
              core::TimePoint at, std::string_view by, std::string detail);

  core::Duration resolved_retention_;
  Groups groups_;  // open groups; nodes never move: deadlines_ points at their keys
  Deadlines deadlines_;
  std::map<std::string, core::TimePoint, std::less<>> resolved_;  // recently, when
  std::size_t acked_ = 0;                                         // open groups with an ack
  Deadlines resolved_order_;  // resolved_ by time, pointing at its keys
  std::vector<Record> records_;
  std::set<std::string, std::less<>> changed_;
  std::uint64_t sequence_ = 0;
};

}  // namespace opsready::alerting
