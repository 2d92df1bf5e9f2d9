#include "opsready/alerting/deadman.h"

#include <algorithm>
#include <set>
#include <utility>

#include "opsready/core/time.h"
#include "opsready/core/topic_pattern.h"

namespace opsready::alerting {
namespace {

core::TimePoint saturating_add(core::TimePoint t, core::Duration d) {
  return t > core::TimePoint::max() - d ? core::TimePoint::max() : t + d;
}

core::Alert base_alert(std::string_view alertname, std::string_view category,
                       std::string_view severity, const HeartbeatOptions& options) {
  core::Alert a;
  a.labels.emplace("alertname", alertname);
  a.labels.emplace("category", category);
  a.labels.emplace("severity", severity);
  if (!options.service.empty()) a.labels.emplace("service", options.service);
  a.ends_at = kFiring;
  return a;
}

}  // namespace

Watchdog::Watchdog(core::TimePoint start, const HeartbeatOptions& options)
    : alert_(base_alert(kWatchdogAlert, kWatchdogCategory, "none", options)) {
  alert_.annotations.emplace("summary", "Alerting pipeline heartbeat (always firing)");
  alert_.annotations.emplace("description",
                             "This alert always fires. Route it to a dead-man's switch with a "
                             "short repeat_interval: when its notifications stop, the alerting "
                             "pipeline is broken.");
  alert_.annotations.emplace("runbook_url", runbook_url(options.runbook_base, "watchdog"));
  alert_.starts_at = start;
  core::assign_fingerprint(alert_);
}

core::Result<DeadMan> DeadMan::create(std::vector<ExpectedSource> sources, core::TimePoint start,
                                      HeartbeatOptions options) {
  DeadMan dm;
  std::set<std::string_view> names;
  const std::string runbook = runbook_url(options.runbook_base, "telemetry");
  for (std::size_t i = 0; i < sources.size(); ++i) {
    const ExpectedSource& spec = sources[i];
    const std::string field = "sources[" + std::to_string(i) + "]";
    if (spec.name.empty()) {
      return core::fail("invalid_expected_source", "an expected source needs a name",
                        field + ".name");
    }
    if (!names.insert(spec.name).second) {
      return core::fail("invalid_expected_source",
                        "expected source '" + spec.name + "' is listed twice", field + ".name");
    }
    if (spec.after <= core::Duration::zero()) {
      return core::fail("invalid_expected_source",
                        "expected source '" + spec.name + "' needs a positive `after`",
                        field + ".after");
    }
    auto pattern = core::TopicPattern::parse(spec.topic_pattern);
    if (!pattern) {
      return core::fail("invalid_expected_source", pattern.error().message,
                        field + ".topic_pattern");
    }
    Source s{.pattern = std::move(*pattern)};
    s.last_seen = start;
    s.after = spec.after;
    s.alert = base_alert(kTelemetryAbsentAlert, kTelemetryCategory, "critical", options);
    s.alert.labels.emplace("source", spec.name);
    s.alert.annotations.emplace("runbook_url", runbook);
    core::assign_fingerprint(s.alert);
    dm.sources_.push_back(std::move(s));
  }
  dm.specs_ = std::move(sources);
  return dm;
}

core::TimePoint DeadMan::deadline(const Source& s) { return saturating_add(s.last_seen, s.after); }

const std::vector<std::uint32_t>& DeadMan::matching(std::string_view topic) {
  if (const auto it = cache_.find(topic); it != cache_.end()) return it->second;
  std::vector<std::uint32_t> found;
  for (std::uint32_t i = 0; i < sources_.size(); ++i) {
    if (sources_[i].pattern.matches(topic)) found.push_back(i);
  }
  if (cache_.size() < kTopicCacheBound) {
    return cache_.emplace(std::string(topic), std::move(found)).first->second;
  }
  uncached_ = std::move(found);
  return uncached_;
}

void DeadMan::seen(std::string_view topic, core::TimePoint time, std::vector<core::Alert>& out) {
  for (const std::uint32_t i : matching(topic)) {
    Source& s = sources_[i];
    const core::TimePoint old = deadline(s);
    s.last_seen = std::max(s.last_seen, time);
    s.ever_seen = true;
    if (s.absent) {
      s.absent = false;
      const auto it = active_.find(s.alert.fingerprint);
      if (it != active_.end()) {
        core::Alert resolved = std::move(it->second);
        active_.erase(it);
        resolved.ends_at = std::max(time, resolved.starts_at);
        out.push_back(std::move(resolved));
      }
      // A present source again: its deadline may be earlier than the cached earliest.
      const core::TimePoint now_due = deadline(s);
      if (!deadline_dirty_ && now_due != core::TimePoint::max() &&
          (!earliest_ || now_due < *earliest_)) {
        earliest_ = now_due;
      }
    } else if (!deadline_dirty_ && earliest_ && old == *earliest_ && deadline(s) != old) {
      deadline_dirty_ = true;  // the source that held the earliest deadline moved on
    }
  }
}

std::optional<core::TimePoint> DeadMan::next_deadline() const {
  if (deadline_dirty_) {
    earliest_.reset();
    for (const Source& s : sources_) {
      if (s.absent) continue;
      const core::TimePoint due = deadline(s);
      if (due == core::TimePoint::max()) continue;  // never: `after` reaches past the clock
      if (!earliest_ || due < *earliest_) earliest_ = due;
    }
    deadline_dirty_ = false;
  }
  return earliest_;
}

void DeadMan::advance(core::TimePoint now, std::vector<core::Alert>& out) {
  if (const auto due = next_deadline(); !due || *due > now) return;
  std::vector<std::pair<core::TimePoint, std::size_t>> raised;
  for (std::size_t i = 0; i < sources_.size(); ++i) {
    const Source& s = sources_[i];
    const core::TimePoint due = deadline(s);
    if (!s.absent && due != core::TimePoint::max() && due <= now) raised.emplace_back(due, i);
  }
  std::sort(raised.begin(), raised.end());
  for (const auto& [due, i] : raised) {
    Source& s = sources_[i];
    s.absent = true;
    const ExpectedSource& spec = specs_[i];
    core::Alert a = s.alert;
    const std::string after = core::format_duration(spec.after);
    a.annotations.emplace("summary", "No telemetry from " + spec.name + " for " + after);
    a.annotations.emplace("description", "No event on a topic matching " + spec.topic_pattern +
                                             " since " + (s.ever_seen ? "" : "start, ") +
                                             core::format_rfc3339(s.last_seen) +
                                             "; one is expected at least every " + after + ".");
    a.starts_at = due;
    a.ends_at = kFiring;
    out.push_back(a);
    active_.insert_or_assign(a.fingerprint, std::move(a));
  }
  deadline_dirty_ = true;
}

std::size_t DeadMan::restore(std::vector<core::Alert> firing) {
  std::size_t taken = 0;
  for (core::Alert& a : firing) {
    if (a.ends_at != kFiring) continue;
    core::assign_fingerprint(a);
    for (Source& s : sources_) {
      if (s.absent || s.alert.fingerprint != a.fingerprint || s.alert.labels != a.labels) continue;
      s.absent = true;
      active_.insert_or_assign(a.fingerprint, std::move(a));
      deadline_dirty_ = true;
      ++taken;
      break;
    }
  }
  return taken;
}

}  // namespace opsready::alerting
