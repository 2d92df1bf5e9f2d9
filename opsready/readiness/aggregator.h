#pragma once
// Aggregator: the readiness snapshot kept up to date one component snapshot at a time.
//
//   Aggregator agg(policy);
//   agg.put(snapshot);                   // the latest per component; an older one is ignored
//   if (agg.evaluate(clock.now())) {     // staleness and missing components as of now
//     for (const auto& c : agg.changes()) derive(c.component, c.before, c.after);
//     publish(agg.snapshot());           // == aggregate(every snapshot put, policy, now)
//   }
//   timer.arm(agg.next_deadline());      // the next time a component goes stale
//
// Why: aggregate() rebuilds the whole ReadinessSnapshot, about 12 ms for 10 000 components,
// and the evaluation engine evaluates after every event. The Aggregator keeps each
// component's view (its snapshot after staleness escalation, or the synthetic stand-in of a
// missing required one), the status counts and each component's gate contribution, ordered
// by name. evaluate() visits only the components put or removed since the last call and
// those whose max age it crosses; the gate decision comes from counts in O(1); the full
// snapshot with its reason lists is materialized only when asked for.
//
// Exactness: snapshot() is operator== equal to aggregate(every snapshot put since its
// component was last removed, policy(), the time of the last evaluate()), both built from the
// same rules (readiness.h, namespace detail); aggregator_test.cc checks this on random
// histories.
//
// Clock-derived fields: two fields of a view depend on the evaluation time alone, like
// generated_at: the age written in a `stale_snapshot` issue's message and the observed_at of
// a synthetic missing component. A new time alone is not a change (or every stale component
// would change at every evaluate() and the cost would grow with the fleet): version(),
// evaluate()'s result and changes() ignore them. They are written lazily, so component() and
// changes()' `after` show them as of the last evaluate() and `before` as of the one before.
//
// Time may go backwards (a component then becomes fresh again); an evaluation time is used
// as given. Before the first evaluate() nothing is aggregated: size() is 0 and the required
// components appear at the first evaluate(), in changes() with before == nullptr.
//
// Lifetime and threads: one owner (the evaluation engine) calls it from one thread at a time;
// it is not thread-safe, const members included (component() writes clock-derived fields
// lazily). Neither copyable nor movable: it points into itself (hold it by unique_ptr to move
// it). The snapshots it hands out are immutable and may be read from any thread. It reuses
// the memory of a snapshot nobody else holds any more (shared_ptr use_count() == 1), so keep
// shared_ptrs, not weak_ptrs, to them.

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "opsready/core/clock.h"
#include "opsready/core/snapshot.h"
#include "opsready/core/status.h"
#include "opsready/readiness/readiness.h"

namespace opsready::readiness {

class Aggregator {
 public:
  explicit Aggregator(GatePolicy policy);
  Aggregator(const Aggregator&) = delete;
  Aggregator& operator=(const Aggregator&) = delete;

  // Records `s` as the latest snapshot of s.component: a later or equal observed_at replaces
  // the stored one (on a tie the later call wins, as the later entry does in aggregate()); an
  // older one is ignored and put() returns false. Takes effect at the next evaluate().
  // O(1) expected (a hash lookup).
  bool put(core::ComponentSnapshot s);
  // Forgets a component's snapshot (true if one was stored); a required component becomes
  // missing again. Takes effect at the next evaluate(). O(1) expected.
  bool remove(std::string_view component);

  // Brings the state to `now`: applies the puts and removes since the last call, escalates the
  // components whose max age `now` exceeds (and relaxes those it no longer exceeds when time
  // went back), synthesizes the missing required components. Returns true when the
  // aggregated result changed in anything but generated_at and the clock-derived fields.
  // O((components put or removed + components crossing their max age) * log n).
  bool evaluate(core::TimePoint now);

  // +1 per evaluate() that returned true; 0 before any.
  [[nodiscard]] std::uint64_t version() const { return version_; }
  // The worst status (ok when there are no components), as of the last evaluate(). O(1).
  [[nodiscard]] core::Status status() const;
  // The gate's decision, equal to snapshot()->gate.decision. O(1).
  [[nodiscard]] GateDecision::Decision decision() const;
  [[nodiscard]] int count(core::Status s) const { return counts_[index(s)]; }
  // Components in the snapshot, the synthetic missing ones included.
  [[nodiscard]] std::size_t size() const { return views_; }

  // One component whose view changed in the last evaluate(): `before` is its view at the
  // previous evaluate() (nullptr: it was absent), `after` its view now (nullptr: removed).
  struct Change {
    std::string_view component;
    const core::ComponentSnapshot* before;
    const core::ComponentSnapshot* after;
  };
  // The changes of the last evaluate(), in name order; the alert derivation consumes these.
  // The pointers and names stay valid until the next evaluate().
  [[nodiscard]] const std::vector<Change>& changes() const { return changes_; }

  // The view of one component as of the last evaluate() (nullptr if there is none); valid
  // until the next evaluate(). O(1) expected.
  [[nodiscard]] const core::ComponentSnapshot* component(std::string_view name) const;

  // The first time at which some component now fresh becomes stale (one nanosecond past
  // observed_at + max age; evaluate() at that time escalates it), nullopt when none can.
  // The engine's timer for evaluate(). O(1).
  [[nodiscard]] std::optional<core::TimePoint> next_deadline() const;

  // The full snapshot as of the last evaluate() (generated_at = its time). Cached: while
  // neither version() nor the evaluation time changes, the same pointer comes back. A new
  // one reuses one of two snapshots if nobody else holds it and patches only what changed
  // since it was built: O(changes * log n + gate reasons + stale and missing components),
  // plus shifting the tail of the components or the issue catalog when a component appears,
  // disappears or changes its number of issues. A reader that keeps only the latest snapshot
  // always leaves one free; when both are held, a new one is built in O(n log n).
  [[nodiscard]] std::shared_ptr<const ReadinessSnapshot> snapshot();
  // The gate alone, equal to snapshot()->gate, without materializing the snapshot: O(gate
  // reasons), each component's reason built once per change (the alert derivation reads it).
  [[nodiscard]] GateDecision gate();

  [[nodiscard]] const GatePolicy& policy() const { return policy_; }

 private:
  struct Entry;
  using DeadlineKey = std::pair<core::TimePoint, std::string_view>;
  using Deadlines = std::map<DeadlineKey, Entry*>;
  using ByName = std::map<std::string_view, Entry*>;

  // The fields an event touches come first, to share cache lines.
  struct Entry {
    std::string_view name;  // the key in entries_
    const ComponentRule* rule = nullptr;
    std::optional<Duration> max_age;
    bool dirty = false;   // in dirty_
    bool forget = false;  // remove() since the last evaluate()
    // The view as of the last evaluate().
    bool has_view = false;
    bool synthesized = false;  // the stand-in for a missing required component
    bool stale = false;        // `stale_snapshot` appended (last) and status escalated
    bool missing = false;      // a required component the gate reports missing
    core::Status raw_status = core::Status::kOk;  // the status before escalation
    detail::Verdict verdict = detail::Verdict::kNone;
    // Where it is filed (see relist() and place_deadline()).
    bool in_missing = false;
    bool in_synthesized = false;
    ByName* listed = nullptr;  // blocking_ or warning_
    ByName::iterator listed_at{};
    Deadlines* deadlines = nullptr;  // fresh_ or stale_
    Deadlines::iterator deadline{};
    mutable core::TimePoint stamped_at{};  // the time the clock-derived fields are written for
    std::unique_ptr<GateReason> reason;    // the gate reason, built by the first snapshot()
    mutable core::ComponentSnapshot view;
    std::optional<core::ComponentSnapshot> pending;  // put() since the last evaluate()
  };

  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };

  // A materialized snapshot that can be brought up to date in place: log_[applied, end) are
  // the components changed since it was last brought up to date.
  struct Buffer {
    std::shared_ptr<ReadinessSnapshot> snapshot;
    std::size_t applied = 0;
    bool in_sync = false;
  };

  static constexpr std::size_t index(core::Status s) { return static_cast<std::size_t>(s); }

  Entry& entry_for(std::string_view name);
  void erase(Entry& e);
  void mark_dirty(Entry& e);
  void settle(Entry& e);
  void cross_deadlines();
  void retire(Entry& e);
  void enlist(Entry& e);
  void relist(Entry& e);
  void place_deadline(Entry& e);
  const core::ComponentSnapshot* keep_before(core::ComponentSnapshot view, const Entry& e);
  void bring_up_to_date(const Entry& e) const;
  void log_changes();
  void sync_component(ReadinessSnapshot& s, std::string_view name) const;
  void sync_clock_fields(ReadinessSnapshot& s, const Entry& e) const;
  void rebuild(ReadinessSnapshot& s) const;
  void build_gate(GateDecision& out);

  GatePolicy policy_;
  bool warn_blocks_ = false;  // warn is in policy_.block_on

  // Node-based, so Entry addresses and the names viewed from them stay put.
  std::unordered_map<std::string, Entry, NameHash, std::equal_to<>> entries_;
  // Entries per name slug: reasons can share a code only when two names share a slug.
  std::unordered_map<std::string, int> slugs_;
  int shared_slugs_ = 0;
  std::vector<Entry*> dirty_;
  Deadlines fresh_;  // real views with a max age, not stale yet: the staleness timers
  Deadlines stale_;  // real views past their max age
  ByName blocking_;  // views whose verdict is kBlock
  ByName warning_;   // views whose verdict is kWarn
  ByName missing_;   // required components the gate reports missing
  ByName synthesized_;
  std::array<int, 3> counts_{};
  std::size_t views_ = 0;

  core::TimePoint now_{};
  core::TimePoint previous_now_{};
  std::uint64_t version_ = 0;
  std::vector<Change> changes_;
  std::deque<core::ComponentSnapshot> befores_;

  std::array<Buffer, 2> buffers_;
  std::vector<std::string> log_;
  std::shared_ptr<const ReadinessSnapshot> published_;
  std::uint64_t published_version_ = 0;
};

}  // namespace opsready::readiness
