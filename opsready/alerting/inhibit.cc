#include "opsready/alerting/inhibit.h"

#include <algorithm>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <utility>

namespace opsready::alerting {
namespace {

std::string format_fingerprint(std::uint64_t fp) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, fp);
  return std::string(buf, 16);
}

}  // namespace

Inhibitor::Inhibitor(std::vector<InhibitRule> rules)
    : rules_(std::move(rules)), index_(rules_.size()) {}

core::Result<Inhibitor> Inhibitor::create(std::vector<InhibitRule> rules) {
  for (std::size_t i = 0; i < rules.size(); ++i) {
    for (std::size_t j = 0; j < rules[i].equal.size(); ++j) {
      if (!core::is_valid_label_name(rules[i].equal[j])) {
        return core::fail(
            "inhibit_invalid_equal", "invalid label name \"" + rules[i].equal[j] + "\" in equal",
            "inhibit_rules[" + std::to_string(i) + "].equal[" + std::to_string(j) + "]");
      }
    }
  }
  return Inhibitor(std::move(rules));
}

std::string Inhibitor::equal_key(const InhibitRule& rule, const core::LabelSet& labels) {
  // Each value as `<length>:<bytes>`, so no choice of values can make two tuples collide.
  std::string key;
  for (const std::string& name : rule.equal) {
    const auto it = labels.find(name);
    const std::string_view value =
        it == labels.end() ? std::string_view() : std::string_view(it->second);
    key += std::to_string(value.size());
    key += ':';
    key += value;
  }
  return key;
}

void Inhibitor::add(const core::Alert& alert) {
  const std::uint64_t fp = core::alert_fingerprint_value(alert.labels);
  if (sources_.contains(fp)) return;
  bool source = false;
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    const InhibitRule& rule = rules_[i];
    if (!matches(rule.source, alert.labels)) continue;
    Bucket& bucket = index_[i].buckets[equal_key(rule, alert.labels)];
    (matches(rule.target, alert.labels) ? bucket.two_sided : bucket.one_sided).insert(fp);
    source = true;
  }
  if (source) sources_.emplace(fp, alert.labels);
}

void Inhibitor::update(const core::Alert& alert, core::TimePoint now) {
  if (core::is_resolved(alert, now)) {
    remove(alert);
  } else {
    add(alert);
  }
}

void Inhibitor::unindex(std::uint64_t fp, const core::LabelSet& labels) {
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    const InhibitRule& rule = rules_[i];
    if (!matches(rule.source, labels)) continue;
    auto& buckets = index_[i].buckets;
    const auto it = buckets.find(equal_key(rule, labels));
    if (it == buckets.end()) continue;
    it->second.one_sided.erase(fp);
    it->second.two_sided.erase(fp);
    if (it->second.one_sided.empty() && it->second.two_sided.empty()) buckets.erase(it);
  }
}

bool Inhibitor::remove(std::string_view fingerprint) {
  std::uint64_t fp = 0;
  const char* end = fingerprint.data() + fingerprint.size();
  const auto [ptr, ec] = std::from_chars(fingerprint.data(), end, fp, 16);
  if (ec != std::errc() || ptr != end || fingerprint.empty()) return false;
  const auto it = sources_.find(fp);
  if (it == sources_.end()) return false;
  unindex(fp, it->second);
  sources_.erase(it);
  return true;
}

bool Inhibitor::remove(const core::Alert& alert) {
  const std::uint64_t fp = core::alert_fingerprint_value(alert.labels);
  const auto it = sources_.find(fp);
  if (it == sources_.end()) return false;
  unindex(fp, it->second);
  sources_.erase(it);
  return true;
}

std::optional<Inhibition> Inhibitor::inhibited_by(const core::LabelSet& target) const {
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    const InhibitRule& rule = rules_[i];
    if (!matches(rule.target, target)) continue;
    const auto& buckets = index_[i].buckets;
    if (buckets.empty()) continue;
    const auto it = buckets.find(equal_key(rule, target));
    if (it == buckets.end()) continue;
    const Bucket& b = it->second;
    // A target that matches both sides can only be muted by a source that matches one.
    const bool two_sided_target = matches(rule.source, target);
    std::optional<std::uint64_t> by;
    if (!b.one_sided.empty()) by = *b.one_sided.begin();
    if (!two_sided_target && !b.two_sided.empty()) {
      by = by ? std::min(*by, *b.two_sided.begin()) : *b.two_sided.begin();
    }
    if (by) return Inhibition{i, rule.name, format_fingerprint(*by)};
  }
  return std::nullopt;
}

}  // namespace opsready::alerting
