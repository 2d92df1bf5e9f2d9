#pragma once
// Dispatcher: Alertmanager's aggregation groups on manual time. Alerts are routed through a
// Route tree and collected, per matching route, into the group their group_by labels select;
// each group runs Alertmanager's timers (group_wait, then a tick every group_interval) and
// decides at each tick whether to notify and why (first notification, new alerts, new
// resolved alerts, all resolved, repeat). Nothing runs by itself: the caller passes `now`,
// asks when the next timer is due and advances to it, so a replay and the daemon that feed the
// same calls get the same notifications, byte for byte.
//
//   Dispatcher d(tree);                                  // tree: a Route from Route::build()
//   if (auto due = d.next_deadline(); due && *due <= clock.now()) {
//     for (Notification& n : d.advance(clock.now())) outbox.push(std::move(n));
//   }
//   d.put(alert, clock.now());                           // after advance(): timers fire first
//   const Group* g = d.find(group_key(route, alert.labels));  // GET /api/v2/alerts/groups
//
// Semantics are Alertmanager's (dispatch/dispatch.go aggrGroup, notify/dedup_stage.go
// needsUpdate), with the notification log reduced to the last notification of each group:
//  - put() sends the alert to every route Route::match() returns and stores it in that route's
//    group (group_key()), creating the group on the first alert (a resolved one too: such a group
//    goes at its first tick without notifying); a re-put of the same fingerprint replaces the
//    stored alert (the latest wins: merging a re-posted alert with the stored one,
//    core::merge_alert, is the alert index's job, before put()). An alert is resolved when its
//    endsAt is not after the tick's time (core::is_resolved). Groups hold the alert put
//    (core::AlertRef), not a copy: one alert in several groups is stored once;
//  - a new group's first tick is group_wait after its creation; until that first tick, an alert
//    whose startsAt is more than group_wait in the past makes the tick due at once (Alertmanager
//    0.25's insert(); newer releases do this for the group's first alert only). After each
//    tick the next is group_interval later;
//  - at a tick, with F the firing and R the resolved alerts of the group and L the last
//    notification: no L and F empty: nothing (an alert that fires and resolves within
//    group_wait is never notified); no L: kFirst; F not a subset of L's firing alerts: kNewAlerts
//    (kFirst if L had no firing alert); F empty: kAllResolved when L had firing alerts, else
//    nothing; R not a subset of L's resolved alerts: kNewResolved; more than repeat_interval
//    since L: kRepeat (strictly more: Alertmanager's log entry is written just after the tick,
//    so the tick exactly repeat_interval later never repeats, and a repeat goes out on the
//    first tick after it); otherwise nothing;
//  - after every tick, notified or not, the alerts resolved at that tick leave the group, and a
//    group left empty is removed (the next alert with its key starts a new group, group_wait
//    included).
// Where opsready departs from Alertmanager, and why:
//  - severity escalation is never suppressed (issue 11): when put() adds a firing alert whose
//    `severity` ranks above every firing alert of the group's last notification (info <
//    warning < critical; a missing or unknown value ranks below info), the group's next tick
//    is due at that put()'s `now` instead of at the next group_interval tick; the tick after it
//    is group_interval later. A group that has not notified yet keeps its group_wait (the
//    alert joins the first notification, and inhibitors still get their time to arrive);
//  - resolved alerts are always part of the decision, as if every receiver had
//    `send_resolved: true` (Alertmanager checks kNewResolved only for receivers that want
//    resolved alerts); a receiver that does not want them drops the resolved list, and a
//    notification that would then be empty, when it sends. Such a notification still counts
//    as "the last notification" for repeat_interval;
//  - a notification is decided, not delivered: the next tick reads the last notification
//    whether or not the transport has sent it yet (delivery is the outbox's business; it is
//    durable, so a decided notification is never lost). Alertmanager keeps resolved alerts
//    for another tick when the send fails;
//  - muting is the caller's, through Mutes (set_mutes()): at a tick, the alerts the `alert`
//    hook mutes (silenced, inhibited) are left out before the decision, as Alertmanager's mute
//    stages run before its dedup stage, so a muted alert is never part of "the last
//    notification", and a tick whose alerts are all muted decides nothing; when the `route` hook
//    says the route is muted at the tick's time (its mute_time_intervals / active_time_intervals),
//    the tick decides nothing and the last notification stays as it was (Alertmanager's time mute
//    stages). Resolved alerts leave the group at the tick either way. max_alerts truncation is the
//    receiver's.
//
// advance(now) fires the due ticks in deadline order (ties by group key), each evaluated at its
// own deadline, not at `now`, and a group whose next tick is due again before `now` fires
// again in the same call: advance(t2) after advance(t1) returns what calling it at every
// deadline in (t1, t2] would. The alerts of a notification are sorted as Alertmanager sorts
// them (AlertSlice: by `job`, then `instance`, alerts with the label first, then by label set).
//
// The Dispatcher keeps a reference to the Route tree and pointers into it: the tree must
// outlive the Dispatcher and must not be moved or assigned meanwhile (a configuration reload
// builds a new Dispatcher). Pointers that find() returns stay valid until the next put() or
// advance(). Not thread-safe: one evaluation strand owns the Dispatcher and calls every
// method, with `now` never going backwards.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "opsready/alerting/route.h"
#include "opsready/core/alert.h"
#include "opsready/core/clock.h"

namespace opsready::alerting {

// Alertmanager's NotifyReason, without "do not notify" (no Notification is made then).
enum class NotifyReason { kFirst, kNewAlerts, kNewResolved, kAllResolved, kRepeat };

// Alertmanager's NotifyReason.String(): "first notification", "new alerts added", "some alerts
// resolved", "all alerts resolved", "repeat interval elapsed".
[[nodiscard]] std::string_view to_string(NotifyReason reason);

// The rank of a `severity` label value: 0 for a missing or unknown value, 1 info, 2 warning,
// 3 critical (exact, lower-case words).
[[nodiscard]] int severity_rank(std::string_view severity);

// Identifies a notified set of alerts, for a notification log: 64-bit FNV-1a over the
// fingerprints of `firing` and `resolved` together, sorted, each followed by the byte 0xff, a
// flag byte ('f' firing, 'r' resolved) and 0xff again; independent of the order given and of
// everything but fingerprints and the firing/resolved split. Empty sets hash to the FNV
// offset basis.
[[nodiscard]] std::uint64_t alert_set_hash(const std::vector<core::Alert>& firing,
                                           const std::vector<core::Alert>& resolved);

// What the caller mutes, asked at every tick (see the overview). Unset hooks mute nothing.
struct Mutes {
  std::function<bool(const core::Alert&, core::TimePoint)> alert;
  std::function<bool(const Route&, core::TimePoint)> route;
};

// The notification-log part of a group, kept across a restart: restore_group() gives it back
// to the group its key names, so that the first tick after a restart does not notify again what
// was notified before it.
struct GroupLog {
  GroupKey key;
  core::TimePoint last_notified{};
  std::uint64_t hash = 0;
  std::vector<std::string> firing;    // fingerprints, sorted
  std::vector<std::string> resolved;  // fingerprints, sorted
  int severity = 0;

  bool operator==(const GroupLog&) const = default;
};

struct Notification {
  GroupKey group;
  std::string receiver;
  std::vector<core::Alert> firing;    // as stored, in Alertmanager's order
  std::vector<core::Alert> resolved;  // resolved at `at`; the receiver's send_resolved decides
  NotifyReason reason = NotifyReason::kFirst;
  core::TimePoint at{};        // the tick that decided it
  std::uint64_t sequence = 0;  // 1, 2, ... per Dispatcher, in the order advance() returns
  std::uint64_t hash = 0;      // alert_set_hash(firing, resolved)
  // The group had notified before and the highest severity of `firing` is above that of its
  // previous notification (an escalation, which an acknowledgement does not hold back).
  bool severity_rose = false;

  bool operator==(const Notification&) const = default;
};

// One aggregation group, as find() shows it.
struct Group {
  GroupKey key;
  const Route* route = nullptr;  // the node whose timers and receiver it uses
  // By core::fingerprint_value (the order of the hex fingerprints); resolved ones until a tick.
  std::map<std::uint64_t, core::AlertRef> alerts;
  core::TimePoint first_seen{};  // when its first alert was put
  core::TimePoint next_tick{};   // when advance() evaluates it next
  bool flushed = false;          // has had its first tick (Alertmanager's hasFlushed)
  // The last notification; std::nullopt until there is one.
  std::optional<core::TimePoint> last_notified;
  std::uint64_t last_notified_hash = 0;
  std::vector<std::string> notified_firing;    // its fingerprints, sorted
  std::vector<std::string> notified_resolved;  // its fingerprints, sorted
  int notified_severity = 0;                   // the highest severity_rank() of its firing alerts

  [[nodiscard]] const std::string& receiver() const { return route->receiver(); }
};

class Dispatcher {
 public:
  explicit Dispatcher(const Route& root) : root_(&root) {}

  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;
  Dispatcher(Dispatcher&&) = default;
  Dispatcher& operator=(Dispatcher&&) = default;

  // Routes `a` and stores it in each matching route's group (see the overview). An alert
  // without a fingerprint gets core::alert_fingerprint(a.labels). Call advance(now) first when
  // a tick is due by `now`, so that the alert is not part of a tick that lies in its past.
  // The first form stores a copy; the second stores `a` itself and, when `joined` is given,
  // sets it to the groups `a` is now in (for reput()).
  void put(const core::Alert& a, core::TimePoint now);
  void put(core::AlertRef a, core::TimePoint now, std::vector<const Group*>* joined = nullptr);
  // A re-put of `a`, the very alert the last put() stored in the groups `joined` names, changed
  // since only in place and not in its labels, and firing at `now` as it was at that put (so no
  // tick has taken it out of those groups): put()'s timer rules run on those groups (group_wait
  // of an old alert, a rise in severity) without matching the route tree again; the same
  // outcome as put(). Returns false, changing nothing, when one of the groups holds another
  // alert for its fingerprint; put() it then.
  [[nodiscard]] bool reput(const std::vector<const Group*>& joined, const core::Alert& a,
                           core::TimePoint now);

  void set_mutes(Mutes mutes) { mutes_ = std::move(mutes); }

  // Gives a group its notification log back after a restart. Call it after the restored alerts
  // have been put() and before the first advance(); a log whose group does not exist (none of
  // its alerts came back) is dropped.
  void restore_group(GroupLog log);
  // The log of every group that has notified, for persistence.
  [[nodiscard]] std::optional<GroupLog> log(const GroupKey& key) const;

  // The earliest tick of any group; std::nullopt when there is no group.
  [[nodiscard]] std::optional<core::TimePoint> next_deadline() const;

  // Fires every tick due at or before `now` and returns the notifications they decide, in
  // order (see the overview). With a `budget`, stops once the groups it ticked held that many
  // alerts (at least one group ticks): the rest stay due, next_deadline() says so, and the next
  // call goes on in the same order. The daemon bounds each call so that a round of large
  // groups does not hold the evaluation strand (and the POSTs queued for it) for seconds.
  [[nodiscard]] std::vector<Notification> advance(
      core::TimePoint now, std::size_t budget = std::numeric_limits<std::size_t>::max());

  [[nodiscard]] std::size_t group_count() const { return groups_.size(); }
  // The groups the last advance() removed (left empty after a tick), in removal order.
  [[nodiscard]] const std::vector<GroupKey>& removed() const { return removed_; }
  // nullptr when there is no such group.
  [[nodiscard]] const Group* find(const GroupKey& key) const;
  // Every group, by key.
  [[nodiscard]] const std::map<GroupKey, Group>& groups() const { return groups_; }

 private:
  struct TickOrder {
    bool operator()(const std::pair<core::TimePoint, const GroupKey*>& a,
                    const std::pair<core::TimePoint, const GroupKey*>& b) const {
      if (a.first != b.first) return a.first < b.first;
      return *a.second < *b.second;
    }
  };

  const Group& put_into(const Route& route, core::AlertRef a, std::uint64_t fp,
                        core::TimePoint now);
  // put()'s timer rules for `a`, now in `g`.
  void on_put(Group& g, const core::Alert& a, core::TimePoint now);
  void reschedule(Group& g, core::TimePoint at);
  static void apply_log(Group& g, const GroupLog& log);
  // One tick of `g` at `at`; appends a notification to `out` when one is due. Returns false
  // when the group is empty afterwards and must be removed.
  bool tick(Group& g, core::TimePoint at, std::vector<Notification>& out);

  const Route* root_;
  Mutes mutes_;
  std::map<GroupKey, Group> groups_;  // nodes never move: schedule_ points at Group::key
  std::set<std::pair<core::TimePoint, const GroupKey*>, TickOrder> schedule_;
  std::vector<const Route*> matched_;  // put()'s scratch
  // tick()'s scratch: the group's unmuted firing and resolved alerts, and those leaving it.
  std::vector<const core::Alert*> firing_;
  std::vector<const core::Alert*> resolved_;
  std::vector<const core::Alert*> sorted_firing_;  // firing_ and resolved_ in notification order
  std::vector<const core::Alert*> sorted_resolved_;
  std::vector<std::uint64_t> gone_;
  std::vector<GroupKey> removed_;
  std::uint64_t sequence_ = 0;
};

}  // namespace opsready::alerting
