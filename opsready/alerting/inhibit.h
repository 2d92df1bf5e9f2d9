#pragma once
// Inhibitor: Alertmanager's inhibition rules. While a *source* alert fires, alerts that match a
// rule's *target* matchers and carry the same values of the rule's `equal` labels are muted
// (not notified; they still exist and are listed as inhibited).
//
//   core::Result<Inhibitor> inh = Inhibitor::create({InhibitRule{
//       .source = *parse_matchers("severity=critical"),
//       .target = *parse_matchers("severity=warning"),
//       .equal = {"cluster", "service"},
//       .name = "critical-mutes-warning"}});
//   inh->update(alert, clock.now());          // every alert change: firing ones are sources,
//   inh->remove(alert.fingerprint);           // resolved or deleted ones are not
//   if (auto by = inh->inhibited_by(target)) log(by->rule_name, by->source_fingerprint);
//
// Semantics are Alertmanager's (inhibit/inhibit.go):
//  - a target is muted by rule R when it matches R.target, and some firing alert that matches
//    R.source has, for every label in R.equal, the same value as the target, a missing label
//    counting as the empty string;
//  - the guard against self-inhibition: when the target also matches R.source, only sources
//    that do not match R.target count ("an alert that matches both sides cannot be inhibited
//    by alerts that also match both sides"), so no alert ever mutes itself;
//  - rules are tried in order and the first that mutes answers.
// Where Alertmanager's current code differs from its documented rule, the rule wins: its source
// index (inhibit/index.go) keeps one source per `equal` tuple, so when that one matches both
// sides a target matching both sides goes through even if another firing source with the same
// tuple matches the source side only. Here every source is counted (as releases that scanned
// all sources did), so that target is muted: the answer depends on the set of firing alerts,
// not on which of them arrived first.
//
// Cost: per rule, the firing sources are kept in buckets keyed by their tuple of `equal`
// values, two-sided sources (those also matching R.target) apart from the others, so
// inhibited() costs O(rules) (one target match and one hash lookup each), independent of how
// many alerts fire; update() costs O(rules) matcher evaluations.
//
// The Inhibitor knows only what it is told: an alert is a source from update()/add() until
// remove() or an update() that finds it resolved. It does not read clocks and runs no timers.
// Single owner: not thread-safe; it belongs to the evaluation strand, which calls every method.
// A plain value (copyable, movable).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "opsready/alerting/matcher.h"
#include "opsready/core/alert.h"
#include "opsready/core/clock.h"
#include "opsready/core/error.h"

namespace opsready::alerting {

struct InhibitRule {
  Matchers source;
  Matchers target;
  std::vector<std::string> equal;  // label names
  std::string name;                // optional, for metrics and explanations

  bool operator==(const InhibitRule&) const = default;
};

// Why an alert is muted: the first rule that mutes it and one firing source alert that does
// (the one with the smallest fingerprint, so the answer is deterministic).
struct Inhibition {
  std::size_t rule_index = 0;
  std::string rule_name;
  std::string source_fingerprint;  // 16 hex digits, core::alert_fingerprint of its labels

  bool operator==(const Inhibition&) const = default;
};

class Inhibitor {
 public:
  // Errors: `inhibit_invalid_equal` with field `inhibit_rules[i].equal[j]` for a label name
  // that is not a valid Prometheus label name.
  [[nodiscard]] static core::Result<Inhibitor> create(std::vector<InhibitRule> rules);

  [[nodiscard]] const std::vector<InhibitRule>& rules() const { return rules_; }

  // `alert` fires: it becomes a source of every rule whose source matchers it matches. Adding
  // an alert already known (same labels) changes nothing.
  void add(const core::Alert& alert);
  // add() when the alert is firing at `now` (now < ends_at), remove() when it is resolved.
  void update(const core::Alert& alert, core::TimePoint now);
  // The alert with this fingerprint (16 hex digits, as core::alert_fingerprint prints it) no
  // longer fires. Unknown fingerprints are ignored. Returns whether it was a source.
  bool remove(std::string_view fingerprint);
  bool remove(const core::Alert& alert);

  // Whether `target` is muted now, and by what.
  [[nodiscard]] std::optional<Inhibition> inhibited_by(const core::LabelSet& target) const;
  [[nodiscard]] std::optional<Inhibition> inhibited_by(const core::Alert& target) const {
    return inhibited_by(target.labels);
  }
  [[nodiscard]] bool inhibited(const core::LabelSet& target) const {
    return inhibited_by(target).has_value();
  }
  [[nodiscard]] bool inhibited(const core::Alert& target) const {
    return inhibited_by(target.labels).has_value();
  }

  // Firing alerts that are a source of at least one rule.
  [[nodiscard]] std::size_t source_count() const { return sources_.size(); }

 private:
  struct Bucket {
    std::set<std::uint64_t> one_sided;  // match the source side only
    std::set<std::uint64_t> two_sided;  // match the target side too
  };
  struct CompiledRule {
    std::unordered_map<std::string, Bucket> buckets;  // by equal_key()
  };

  explicit Inhibitor(std::vector<InhibitRule> rules);

  // The rule's `equal` values of `labels`, encoded without ambiguity.
  [[nodiscard]] static std::string equal_key(const InhibitRule& rule, const core::LabelSet& labels);
  void unindex(std::uint64_t fingerprint, const core::LabelSet& labels);

  std::vector<InhibitRule> rules_;
  std::vector<CompiledRule> index_;  // parallel to rules_
  // Every alert that is a source of some rule, by fingerprint value, with its labels (to find
  // its buckets again when it is removed).
  std::unordered_map<std::uint64_t, core::LabelSet> sources_;
};

}  // namespace opsready::alerting
