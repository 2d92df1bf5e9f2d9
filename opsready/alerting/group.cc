#include "opsready/alerting/group.h"

#include <algorithm>
#include <array>
#include <memory>

namespace opsready::alerting {
namespace {

constexpr std::uint64_t kFnvOffset = 14695981039346656037ULL;
constexpr std::uint64_t kFnvPrime = 1099511628211ULL;

void fnv_add(std::uint64_t& h, std::string_view bytes) {
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= kFnvPrime;
  }
}

void fnv_add(std::uint64_t& h, unsigned char byte) {
  h ^= byte;
  h *= kFnvPrime;
}

// (fingerprint, resolved) pairs, sorted.
std::uint64_t hash_of(std::vector<std::pair<std::string_view, bool>> entries) {
  std::sort(entries.begin(), entries.end());
  std::uint64_t h = kFnvOffset;
  for (const auto& [fp, resolved] : entries) {
    fnv_add(h, fp);
    fnv_add(h, 0xff);
    fnv_add(h, static_cast<unsigned char>(resolved ? 'r' : 'f'));
    fnv_add(h, 0xff);
  }
  return h;
}

// Prometheus' model.LabelSet.Before: the smaller set first; then, over the union of the names
// in order, the set that lacks a name first, else the smaller value.
bool label_set_before(const core::LabelSet& a, const core::LabelSet& b) {
  if (a.size() != b.size()) return a.size() < b.size();
  auto ia = a.begin();
  auto ib = b.begin();
  while (ia != a.end() && ib != b.end()) {
    if (ia->first < ib->first) return false;  // b lacks ia's name
    if (ib->first < ia->first) return true;   // a lacks ib's name
    if (ia->second != ib->second) return ia->second < ib->second;
    ++ia;
    ++ib;
  }
  return false;  // equal sizes: both ended together
}

// Alertmanager's AlertSlice.Less.
bool alert_before(const core::Alert& x, const core::Alert& y) {
  // Strings built once: LabelSet's find takes a std::string, and a sort calls this n log n
  // times.
  static const std::array<std::string, 2> kOverrides = {"job", "instance"};
  for (const std::string& name : kOverrides) {
    const auto xi = x.labels.find(name);
    const auto yi = y.labels.find(name);
    const bool x_has = xi != x.labels.end();
    const bool y_has = yi != y.labels.end();
    if (!x_has && !y_has) continue;
    if (!x_has) return false;
    if (!y_has) return true;
    if (xi->second != yi->second) return xi->second < yi->second;
  }
  return label_set_before(x.labels, y.labels);
}

int severity_of(const core::Alert& a) {
  const auto it = a.labels.find("severity");
  return it == a.labels.end() ? 0 : severity_rank(it->second);
}

// Whether every fingerprint of `subset` (sorted) is in `set` (sorted).
bool includes(const std::vector<std::string>& set, const std::vector<const core::Alert*>& subset) {
  auto it = set.begin();
  for (const core::Alert* a : subset) {
    it = std::lower_bound(it, set.end(), a->fingerprint);
    if (it == set.end() || *it != a->fingerprint) return false;
    ++it;
  }
  return true;
}

std::vector<std::string> fingerprints(const std::vector<const core::Alert*>& alerts) {
  std::vector<std::string> out;
  out.reserve(alerts.size());
  for (const core::Alert* a : alerts) out.push_back(a->fingerprint);
  return out;
}

// needsUpdate (notify/dedup_stage.go) against the group's last notification, with resolved
// alerts always wanted; std::nullopt: do not notify. `firing` and `resolved` are sorted by
// fingerprint.
std::optional<NotifyReason> needs_update(const Group& g,
                                         const std::vector<const core::Alert*>& firing,
                                         const std::vector<const core::Alert*>& resolved,
                                         core::TimePoint at) {
  if (!g.last_notified) {
    if (firing.empty()) return std::nullopt;
    return NotifyReason::kFirst;
  }
  if (!includes(g.notified_firing, firing)) {
    return g.notified_firing.empty() ? NotifyReason::kFirst : NotifyReason::kNewAlerts;
  }
  if (firing.empty()) {
    if (g.notified_firing.empty()) return std::nullopt;
    return NotifyReason::kAllResolved;
  }
  if (!includes(g.notified_resolved, resolved)) return NotifyReason::kNewResolved;
  if (at - *g.last_notified > g.route->repeat_interval()) return NotifyReason::kRepeat;
  return std::nullopt;
}

}  // namespace

std::string_view to_string(NotifyReason reason) {
  switch (reason) {
    case NotifyReason::kFirst:
      return "first notification";
    case NotifyReason::kNewAlerts:
      return "new alerts added";
    case NotifyReason::kNewResolved:
      return "some alerts resolved";
    case NotifyReason::kAllResolved:
      return "all alerts resolved";
    case NotifyReason::kRepeat:
      return "repeat interval elapsed";
  }
  return "unknown";
}

int severity_rank(std::string_view severity) {
  if (severity == "info") return 1;
  if (severity == "warning") return 2;
  if (severity == "critical") return 3;
  return 0;
}

std::uint64_t alert_set_hash(const std::vector<core::Alert>& firing,
                             const std::vector<core::Alert>& resolved) {
  std::vector<std::pair<std::string_view, bool>> entries;
  entries.reserve(firing.size() + resolved.size());
  for (const core::Alert& a : firing) entries.emplace_back(a.fingerprint, false);
  for (const core::Alert& a : resolved) entries.emplace_back(a.fingerprint, true);
  return hash_of(std::move(entries));
}

void Dispatcher::put(const core::Alert& a, core::TimePoint now) {
  put(std::make_shared<const core::Alert>(a), now);
}

void Dispatcher::put(core::AlertRef a, core::TimePoint now, std::vector<const Group*>* joined) {
  if (a->fingerprint.empty()) {
    auto copy = std::make_shared<core::Alert>(*a);
    core::assign_fingerprint(*copy);
    put(std::move(copy), now, joined);
    return;
  }
  const std::uint64_t fp = core::fingerprint_value(*a);
  matched_.clear();
  root_->match_into(a->labels, matched_);
  if (joined != nullptr) joined->clear();
  for (const Route* route : matched_) {
    const Group& g = put_into(*route, a, fp, now);
    if (joined != nullptr) joined->push_back(&g);
  }
}

bool Dispatcher::reput(const std::vector<const Group*>& joined, const core::Alert& a,
                       core::TimePoint now) {
  const std::uint64_t fp = core::fingerprint_value(a);
  for (const Group* g : joined) {
    const auto it = g->alerts.find(fp);
    if (it == g->alerts.end() || it->second.get() != &a) return false;
  }
  // The groups are this Dispatcher's own (put() handed them out as const).
  for (const Group* g : joined) on_put(const_cast<Group&>(*g), a, now);
  return true;
}

const Group& Dispatcher::put_into(const Route& route, core::AlertRef a, std::uint64_t fp,
                                  core::TimePoint now) {
  auto [it, created] = groups_.try_emplace(group_key(route, a->labels));
  Group& g = it->second;
  if (created) {
    g.key = it->first;
    g.route = &route;
    g.first_seen = now;
    g.next_tick = now + route.group_wait();
    schedule_.emplace(g.next_tick, &g.key);
  }
  const core::Alert& alert = *a;
  g.alerts.insert_or_assign(fp, std::move(a));
  on_put(g, alert, now);
  return g;
}

void Dispatcher::on_put(Group& g, const core::Alert& a, core::TimePoint now) {
  // Alertmanager 0.25: before the first tick, an alert that is older than group_wait already
  // has waited long enough.
  if (!g.flushed && a.starts_at + g.route->group_wait() < now) reschedule(g, now);
  // The departure documented in the header: a rise in severity does not wait for the tick.
  if (g.last_notified && !core::is_resolved(a, now) && severity_of(a) > g.notified_severity) {
    reschedule(g, now);
  }
}

void Dispatcher::apply_log(Group& g, const GroupLog& log) {
  g.last_notified = log.last_notified;
  g.last_notified_hash = log.hash;
  g.notified_firing = log.firing;
  g.notified_resolved = log.resolved;
  g.notified_severity = log.severity;
}

void Dispatcher::restore_group(GroupLog log) {
  const auto it = groups_.find(log.key);
  if (it != groups_.end()) apply_log(it->second, log);
}

std::optional<GroupLog> Dispatcher::log(const GroupKey& key) const {
  const auto it = groups_.find(key);
  if (it == groups_.end() || !it->second.last_notified) return std::nullopt;
  const Group& g = it->second;
  return GroupLog{.key = g.key,
                  .last_notified = *g.last_notified,
                  .hash = g.last_notified_hash,
                  .firing = g.notified_firing,
                  .resolved = g.notified_resolved,
                  .severity = g.notified_severity};
}

void Dispatcher::reschedule(Group& g, core::TimePoint at) {
  if (at >= g.next_tick) return;
  schedule_.erase({g.next_tick, &g.key});
  g.next_tick = at;
  schedule_.emplace(g.next_tick, &g.key);
}

std::optional<core::TimePoint> Dispatcher::next_deadline() const {
  if (schedule_.empty()) return std::nullopt;
  return schedule_.begin()->first;
}

std::vector<Notification> Dispatcher::advance(core::TimePoint now, std::size_t budget) {
  std::vector<Notification> out;
  removed_.clear();
  std::size_t spent = 0;
  while (!schedule_.empty() && schedule_.begin()->first <= now && spent < budget) {
    const auto [at, key] = *schedule_.begin();
    schedule_.erase(schedule_.begin());
    const auto it = groups_.find(*key);
    Group& g = it->second;
    spent += std::max<std::size_t>(g.alerts.size(), 1);
    if (tick(g, at, out)) {
      g.next_tick = at + g.route->group_interval();
      schedule_.emplace(g.next_tick, &g.key);
    } else {
      removed_.push_back(it->first);
      groups_.erase(it);
    }
  }
  return out;
}

bool Dispatcher::tick(Group& g, core::TimePoint at, std::vector<Notification>& out) {
  g.flushed = true;
  // g.alerts is ordered by fingerprint, so both lists come out sorted.
  std::vector<const core::Alert*>& firing = firing_;
  std::vector<const core::Alert*>& resolved = resolved_;
  std::vector<std::uint64_t>& gone = gone_;  // resolved, muted or not: they leave after the tick
  firing.clear();
  resolved.clear();
  gone.clear();
  const bool route_muted = mutes_.route && mutes_.route(*g.route, at);
  for (const auto& [fp, a] : g.alerts) {
    const bool is_resolved = core::is_resolved(*a, at);
    if (is_resolved) gone.push_back(fp);
    if (route_muted || (mutes_.alert && mutes_.alert(*a, at))) continue;
    (is_resolved ? resolved : firing).push_back(a.get());
  }

  if (route_muted || (firing.empty() && resolved.empty())) {
    // Decides nothing; the last notification stays as it was (Alertmanager's pipeline stops
    // when its mute stages leave no alert).
  } else if (const std::optional<NotifyReason> reason = needs_update(g, firing, resolved, at)) {
    Notification n{.group = g.key, .receiver = g.receiver(), .reason = *reason, .at = at};
    n.firing.reserve(firing.size());
    n.resolved.reserve(resolved.size());
    int severity = 0;
    // Sorted as pointers, then copied once: sorting the copies moved whole alerts around.
    const auto before = [](const core::Alert* x, const core::Alert* y) {
      return alert_before(*x, *y);
    };
    sorted_firing_ = firing;
    sorted_resolved_ = resolved;
    std::stable_sort(sorted_firing_.begin(), sorted_firing_.end(), before);
    std::stable_sort(sorted_resolved_.begin(), sorted_resolved_.end(), before);
    for (const core::Alert* a : sorted_firing_) {
      severity = std::max(severity, severity_of(*a));
      n.firing.push_back(*a);
    }
    for (const core::Alert* a : sorted_resolved_) n.resolved.push_back(*a);
    n.hash = alert_set_hash(n.firing, n.resolved);
    n.sequence = ++sequence_;
    n.severity_rose = g.last_notified.has_value() && severity > g.notified_severity;

    g.last_notified = at;
    g.last_notified_hash = n.hash;
    g.notified_severity = severity;
    g.notified_firing = fingerprints(firing);
    g.notified_resolved = fingerprints(resolved);
    out.push_back(std::move(n));
  }

  for (const std::uint64_t fp : gone) g.alerts.erase(fp);
  return !g.alerts.empty();
}

const Group* Dispatcher::find(const GroupKey& key) const {
  const auto it = groups_.find(key);
  return it == groups_.end() ? nullptr : &it->second;
}

}  // namespace opsready::alerting
