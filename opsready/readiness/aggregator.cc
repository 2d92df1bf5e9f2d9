#include "opsready/readiness/aggregator.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <iterator>

#include "opsready/core/text.h"

namespace opsready::readiness {
namespace {

using core::ComponentSnapshot;
using Decision = GateDecision::Decision;
using detail::Verdict;

// Rewrites the clock-derived fields of a view for time `t` (see the header).
void restamp(ComponentSnapshot& v, bool synthesized, bool stale,
             const std::optional<Duration>& max_age, TimePoint t) {
  if (synthesized) v.observed_at = t;
  if (stale) v.issues.back().message = detail::stale_message(v.observed_at, t, *max_age);
}

// Equal up to the clock-derived fields, for two views of the same component.
bool same_state(const ComponentSnapshot& a, bool a_synthesized, bool a_stale,
                const ComponentSnapshot& b, bool b_synthesized, bool b_stale) {
  if (a_synthesized != b_synthesized || a_stale != b_stale) return false;
  if (a.status != b.status || a.summary != b.summary || a.metadata != b.metadata) return false;
  if (!a_synthesized && a.observed_at != b.observed_at) return false;
  if (a.issues.size() != b.issues.size()) return false;
  const std::size_t exact = a_stale ? a.issues.size() - 1 : a.issues.size();
  if (!std::equal(a.issues.begin(), a.issues.begin() + static_cast<std::ptrdiff_t>(exact),
                  b.issues.begin())) {
    return false;
  }
  if (!a_stale) return true;
  const core::Issue& x = a.issues.back();
  const core::Issue& y = b.issues.back();
  return x.code == y.code && x.severity == y.severity && x.runbook == y.runbook;
}

struct ByComponent {
  bool operator()(const ComponentSnapshot& c, std::string_view n) const { return c.component < n; }
  bool operator()(std::string_view n, const ComponentSnapshot& c) const { return n < c.component; }
  bool operator()(const CatalogIssue& i, std::string_view n) const { return i.component < n; }
  bool operator()(std::string_view n, const CatalogIssue& i) const { return n < i.component; }
};

}  // namespace

Aggregator::Aggregator(GatePolicy policy)
    : policy_(std::move(policy)),
      warn_blocks_(std::find(policy_.block_on.begin(), policy_.block_on.end(),
                             core::Status::kWarn) != policy_.block_on.end()) {
  for (const auto& [name, rule] : policy_.components) {
    if (rule.required) mark_dirty(entry_for(name));
  }
}

Aggregator::Entry& Aggregator::entry_for(std::string_view name) {
  auto it = entries_.find(name);
  if (it != entries_.end()) return it->second;
  it = entries_.try_emplace(std::string(name)).first;
  Entry& e = it->second;
  e.name = it->first;
  const auto rule = policy_.components.find(it->first);
  e.rule = rule == policy_.components.end() ? nullptr : &rule->second;
  e.max_age = detail::max_age_for(e.rule, policy_);
  if (++slugs_[core::reason_code({e.name})] == 2) ++shared_slugs_;
  return e;
}

void Aggregator::erase(Entry& e) {
  const auto slug = slugs_.find(core::reason_code({e.name}));
  if (slug->second-- == 2) --shared_slugs_;
  if (slug->second == 0) slugs_.erase(slug);
  entries_.erase(entries_.find(e.name));
}

void Aggregator::mark_dirty(Entry& e) {
  if (e.dirty) return;
  e.dirty = true;
  dirty_.push_back(&e);
}

bool Aggregator::put(ComponentSnapshot s) {
  Entry& e = entry_for(s.component);
  const TimePoint* stored = nullptr;
  if (e.pending) {
    stored = &e.pending->observed_at;
  } else if (e.has_view && !e.synthesized && !e.forget) {
    stored = &e.view.observed_at;
  }
  if (stored != nullptr && s.observed_at < *stored) return false;
  e.pending = std::move(s);
  e.forget = false;
  mark_dirty(e);
  return true;
}

bool Aggregator::remove(std::string_view component) {
  const auto it = entries_.find(component);
  if (it == entries_.end()) return false;
  Entry& e = it->second;
  if (!e.pending && !(e.has_view && !e.synthesized && !e.forget)) return false;
  e.pending.reset();
  e.forget = true;
  mark_dirty(e);
  return true;
}

bool Aggregator::evaluate(TimePoint now) {
  changes_.clear();
  befores_.clear();
  previous_now_ = now_;
  now_ = now;
  // settle() may erase its entry, never another one, so the rest of dirty_ stays valid.
  for (Entry* e : dirty_) {
    e->dirty = false;
    settle(*e);
  }
  dirty_.clear();
  cross_deadlines();
  if (changes_.empty()) return false;
  std::sort(changes_.begin(), changes_.end(),
            [](const Change& a, const Change& b) { return a.component < b.component; });
  ++version_;
  log_changes();
  return true;
}

// Recomputes the view of a component that was put, removed or newly required.
void Aggregator::settle(Entry& e) {
  std::optional<ComponentSnapshot> next;
  bool synthesized = false;
  const bool real = e.has_view && !e.synthesized;
  if (e.pending) {
    next = std::move(*e.pending);
    e.pending.reset();
  } else if (real && !e.forget) {
    return;
  } else if (e.rule != nullptr && e.rule->required) {
    e.forget = false;
    if (e.has_view && e.synthesized) return;
    next = detail::missing_component(std::string(e.name), now_);
    synthesized = true;
  }
  e.forget = false;

  if (!next) {
    if (e.has_view) {
      retire(e);
      relist(e);
      place_deadline(e);
      const ComponentSnapshot* before = keep_before(std::move(e.view), e);
      changes_.push_back({before->component, before, nullptr});
    }
    erase(e);
    return;
  }

  const core::Status raw_status = next->status;
  const bool stale = detail::apply_staleness(*next, e.rule, policy_, now_);
  if (e.has_view && same_state(e.view, e.synthesized, e.stale, *next, synthesized, stale)) {
    // Only clock-derived fields can differ: take the fresher copy, record no change. The raw
    // status may differ under an equal escalated one, and matters if time goes back.
    e.view = std::move(*next);
    e.raw_status = raw_status;
    e.stamped_at = now_;
    return;
  }
  const ComponentSnapshot* before = nullptr;
  if (e.has_view) {
    retire(e);
    before = keep_before(std::move(e.view), e);
  }
  e.view = std::move(*next);
  e.has_view = true;
  e.synthesized = synthesized;
  e.stale = stale;
  e.raw_status = raw_status;
  e.stamped_at = now_;
  enlist(e);
  place_deadline(e);
  changes_.push_back({e.name, before, &e.view});
}

// Files a real view with a max age under its deadline in fresh_ or stale_ (reusing the map
// node when it has one), and any other entry nowhere. Snapshots mostly arrive in time order,
// so the new deadline mostly goes last: the end() hint makes that O(1).
void Aggregator::place_deadline(Entry& e) {
  Deadlines::node_type node;
  if (e.deadlines != nullptr) node = e.deadlines->extract(e.deadline);
  e.deadlines = nullptr;
  if (!e.has_view || e.synthesized || !e.max_age) return;
  const DeadlineKey key{e.view.observed_at + *e.max_age, e.name};
  Deadlines& into = e.stale ? stale_ : fresh_;
  if (node) {
    node.key() = key;
    e.deadline = into.insert(into.end(), std::move(node));
  } else {
    e.deadline = into.emplace_hint(into.end(), key, &e);
  }
  e.deadlines = &into;
}

// A component is stale at `now` when now > observed_at + max age: moves the entries whose
// deadline `now` passed from fresh_ to stale_ (and, when time went back, the other way).
void Aggregator::cross_deadlines() {
  const auto cross = [this](Deadlines& from, Deadlines& to, Deadlines::iterator it) {
    auto node = from.extract(it);
    Entry& e = *node.mapped();
    const ComponentSnapshot* before = keep_before(e.view, e);
    retire(e);
    if (e.stale) {
      e.view.issues.pop_back();
      e.view.status = e.raw_status;
      e.stale = false;
    } else {
      e.stale = detail::apply_staleness(e.view, e.rule, policy_, now_);
    }
    e.stamped_at = now_;
    enlist(e);
    e.deadline = to.insert(to.end(), std::move(node));
    e.deadlines = &to;
    changes_.push_back({e.name, before, &e.view});
  };
  while (!fresh_.empty() && fresh_.begin()->first.first < now_) {
    cross(fresh_, stale_, fresh_.begin());
  }
  while (!stale_.empty() && std::prev(stale_.end())->first.first >= now_) {
    cross(stale_, fresh_, std::prev(stale_.end()));
  }
}

// Keeps the view a change replaces, written for the previous evaluation time.
const ComponentSnapshot* Aggregator::keep_before(ComponentSnapshot view, const Entry& e) {
  restamp(view, e.synthesized, e.stale, e.max_age, previous_now_);
  return &befores_.emplace_back(std::move(view));
}

void Aggregator::bring_up_to_date(const Entry& e) const {
  if ((!e.synthesized && !e.stale) || e.stamped_at == now_) return;
  restamp(e.view, e.synthesized, e.stale, e.max_age, now_);
  e.stamped_at = now_;
}

// Takes a view's contribution out of the counts ...
void Aggregator::retire(Entry& e) {
  --counts_[index(e.view.status)];
  --views_;
  e.has_view = false;
  e.reason.reset();
}

// ... and puts the new one in.
void Aggregator::enlist(Entry& e) {
  e.has_view = true;
  ++counts_[index(e.view.status)];
  ++views_;
  e.verdict = detail::component_verdict(e.view.status, e.rule, policy_);
  e.missing = e.rule != nullptr && e.rule->required && detail::is_synthetic(e.view);
  relist(e);
}

// Files the entry under the name-ordered lists its view belongs to, touching a list only when
// the membership changes (most changes keep the verdict).
void Aggregator::relist(Entry& e) {
  ByName* const list = !e.has_view                    ? nullptr
                       : e.verdict == Verdict::kBlock ? &blocking_
                       : e.verdict == Verdict::kWarn  ? &warning_
                                                      : nullptr;
  if (list != e.listed) {
    if (e.listed != nullptr) e.listed->erase(e.listed_at);
    if (list != nullptr) e.listed_at = list->emplace(e.name, &e).first;
    e.listed = list;
  }
  const auto flag = [&e](ByName& names, bool& in, bool want) {
    if (in == want) return;
    if (want) {
      names.emplace(e.name, &e);
    } else {
      names.erase(e.name);
    }
    in = want;
  };
  flag(missing_, e.in_missing, e.has_view && e.missing);
  flag(synthesized_, e.in_synthesized, e.has_view && e.synthesized);
}

core::Status Aggregator::status() const {
  if (counts_[index(core::Status::kFail)] > 0) return core::Status::kFail;
  if (counts_[index(core::Status::kWarn)] > 0) return core::Status::kWarn;
  return core::Status::kOk;
}

// The decision evaluate_gate() would reach, from the counts: a reason list is non-empty
// exactly when something feeds it, whatever de-duplication drops.
GateDecision::Decision Aggregator::decision() const {
  const int failing = counts_[index(core::Status::kFail)];
  const int warning = counts_[index(core::Status::kWarn)];
  bool block = !blocking_.empty() || !missing_.empty() ||
               (policy_.max_fail_components && failing > *policy_.max_fail_components);
  bool warn = !warning_.empty();
  if (policy_.max_warn_components && warning > *policy_.max_warn_components) {
    (warn_blocks_ ? block : warn) = true;
  }
  if (views_ == 0) {
    block = block || policy_.empty_decision == Decision::kBlock;
    warn = warn || policy_.empty_decision == Decision::kWarn;
  }
  return block ? Decision::kBlock : warn ? Decision::kWarn : Decision::kPass;
}

const ComponentSnapshot* Aggregator::component(std::string_view name) const {
  const auto it = entries_.find(name);
  if (it == entries_.end() || !it->second.has_view) return nullptr;
  bring_up_to_date(it->second);
  return &it->second.view;
}

std::optional<TimePoint> Aggregator::next_deadline() const {
  if (fresh_.empty()) return std::nullopt;
  return fresh_.begin()->first.first + Duration(1);
}

// Records the changed names for the buffers that will catch up from them. A buffer that
// falls too far behind is rebuilt instead, so the log stays short when nobody materializes.
void Aggregator::log_changes() {
  if (std::none_of(buffers_.begin(), buffers_.end(), [](const Buffer& b) { return b.in_sync; })) {
    log_.clear();
    return;
  }
  for (const Change& c : changes_) log_.emplace_back(c.component);
  const std::size_t limit = 64 + entries_.size() / 8;
  std::size_t oldest = log_.size();
  for (Buffer& b : buffers_) {
    if (!b.in_sync) continue;
    if (log_.size() - b.applied > limit) {
      b.in_sync = false;
    } else {
      oldest = std::min(oldest, b.applied);
    }
  }
  if (oldest == 0 || oldest < log_.size() / 2) return;
  log_.erase(log_.begin(), log_.begin() + static_cast<std::ptrdiff_t>(oldest));
  for (Buffer& b : buffers_) b.applied = b.in_sync ? b.applied - oldest : 0;
}

std::shared_ptr<const ReadinessSnapshot> Aggregator::snapshot() {
  if (published_ && published_version_ == version_ && published_->generated_at == now_) {
    return published_;
  }
  const ReadinessSnapshot* last = published_.get();
  published_.reset();
  // A buffer only we hold may be rewritten; prefer the one closest to the present.
  Buffer* target = nullptr;
  for (Buffer& b : buffers_) {
    if (b.snapshot && b.snapshot.use_count() != 1) continue;
    if (target == nullptr || (b.in_sync && (!target->in_sync || b.applied > target->applied))) {
      target = &b;
    }
  }
  if (target == nullptr) {
    // Both are still read: leave the older one to its readers.
    target = buffers_[0].snapshot.get() == last ? &buffers_[1] : &buffers_[0];
    target->snapshot.reset();
    target->in_sync = false;
  }
  // use_count() is a relaxed load; the fence orders our writes after the last reader's
  // release of its reference.
  std::atomic_thread_fence(std::memory_order_acquire);
  if (!target->snapshot) target->snapshot = std::make_shared<ReadinessSnapshot>();
  ReadinessSnapshot& s = *target->snapshot;
  if (target->in_sync) {
    for (std::size_t i = target->applied; i < log_.size(); ++i) sync_component(s, log_[i]);
    if (s.generated_at != now_) {
      for (const auto& [name, e] : synthesized_) sync_clock_fields(s, *e);
      for (const auto& [key, e] : stale_) sync_clock_fields(s, *e);
    }
  } else {
    rebuild(s);
  }
  target->applied = log_.size();
  target->in_sync = true;

  s.status = status();
  s.generated_at = now_;
  for (core::Status st : core::kAllStatuses) s.counts[st] = count(st);
  build_gate(s.gate);
  published_ = target->snapshot;
  published_version_ = version_;
  return published_;
}

// Makes one component of `s` (and its issues in the catalog) equal to its view.
void Aggregator::sync_component(ReadinessSnapshot& s, std::string_view name) const {
  const auto it = entries_.find(name);
  const Entry* e = it != entries_.end() && it->second.has_view ? &it->second : nullptr;
  const auto pos = static_cast<std::size_t>(
      std::lower_bound(s.components.begin(), s.components.end(), name, ByComponent{}) -
      s.components.begin());
  const bool present = pos < s.components.size() && s.components[pos].component == name;
  const auto [lo, hi] = std::equal_range(s.issues.begin(), s.issues.end(), name, ByComponent{});
  const auto first = static_cast<std::size_t>(lo - s.issues.begin());
  const auto had = static_cast<std::size_t>(hi - lo);
  const auto at = [&s](std::size_t i) { return s.issues.begin() + static_cast<std::ptrdiff_t>(i); };
  if (e == nullptr) {
    if (present) s.components.erase(s.components.begin() + static_cast<std::ptrdiff_t>(pos));
    s.issues.erase(at(first), at(first + had));
    return;
  }
  bring_up_to_date(*e);
  if (present) {
    s.components[pos] = e->view;
  } else {
    s.components.insert(s.components.begin() + static_cast<std::ptrdiff_t>(pos), e->view);
  }
  const std::vector<core::Issue>& issues = e->view.issues;
  const std::size_t keep = std::min(had, issues.size());
  for (std::size_t i = 0; i < keep; ++i) s.issues[first + i].issue = issues[i];
  if (issues.size() < had) {
    s.issues.erase(at(first + keep), at(first + had));
  } else if (issues.size() > had) {
    std::vector<CatalogIssue> added;
    added.reserve(issues.size() - had);
    for (std::size_t i = had; i < issues.size(); ++i) {
      added.push_back({e->view.component, issues[i]});
    }
    s.issues.insert(at(first + had), std::make_move_iterator(added.begin()),
                    std::make_move_iterator(added.end()));
  }
}

// Rewrites the clock-derived fields of one component of `s` for the current time.
void Aggregator::sync_clock_fields(ReadinessSnapshot& s, const Entry& e) const {
  bring_up_to_date(e);
  const auto c = std::lower_bound(s.components.begin(), s.components.end(), e.name, ByComponent{});
  assert(c != s.components.end() && c->component == e.name);  // s is in sync with entries_
  c->observed_at = e.view.observed_at;
  if (!e.stale) return;
  c->issues.back().message = e.view.issues.back().message;
  const auto end = std::upper_bound(s.issues.begin(), s.issues.end(), e.name, ByComponent{});
  std::prev(end)->issue.message = e.view.issues.back().message;
}

void Aggregator::rebuild(ReadinessSnapshot& s) const {
  std::vector<const Entry*> order;
  order.reserve(views_);
  for (const auto& [name, e] : entries_) {
    if (e.has_view) order.push_back(&e);
  }
  std::sort(order.begin(), order.end(),
            [](const Entry* a, const Entry* b) { return a->name < b->name; });
  s.components.clear();
  s.issues.clear();
  s.components.reserve(order.size());
  for (const Entry* e : order) {
    bring_up_to_date(*e);
    s.components.push_back(e->view);
    for (const core::Issue& issue : e->view.issues) s.issues.push_back({e->view.component, issue});
  }
}

GateDecision Aggregator::gate() {
  GateDecision out;
  build_gate(out);
  return out;
}

void Aggregator::build_gate(GateDecision& out) {
  detail::GateBuilder gate(policy_, out, shared_slugs_ == 0);
  const auto reason = [](Entry& e) -> const GateReason& {
    if (!e.reason) {
      e.reason = std::make_unique<GateReason>(detail::component_reason(e.view, e.verdict));
    }
    return *e.reason;
  };
  for (const auto& [name, e] : blocking_) gate.add_component(Verdict::kBlock, reason(*e));
  for (const auto& [name, e] : warning_) gate.add_component(Verdict::kWarn, reason(*e));
  for (const auto& [name, e] : missing_) gate.add_required_missing(std::string(name));
  gate.finish(count(core::Status::kFail), count(core::Status::kWarn), views_);
}

}  // namespace opsready::readiness
