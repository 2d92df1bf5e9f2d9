#include "opsready/engine/engine.h"

#include <algorithm>
#include <array>
#include <limits>
#include <utility>

#include "opsready/alerting/time_interval.h"
#include "opsready/core/time.h"

namespace opsready::engine {
namespace {

using core::TimePoint;

constexpr std::string_view kSilence = "silence";
// The Acks state: one row (kAcksKey) with the sequence number and, from stores written before
// per-group rows, every open group; and one kAckGroup row per open group (its key), written
// when the group's records change, so a checkpoint costs what changed, not every open group.
constexpr std::string_view kAcks = "acks";
constexpr std::string_view kAckGroup = "ack_group";
constexpr std::string_view kAcksKey = "open";
constexpr std::string_view kGroupLog = "group_log";
constexpr std::string_view kDerivedAlert = "derived_alert";
// A component's history (Component::state()), keyed by the component's name.
constexpr std::string_view kComponentState = "component";
// A dashboard feed (feeds.h), keyed by topic.
constexpr std::string_view kFeed = "feed";
// Every kind written is one that a driver loads (engine.h's kStateKinds).
static_assert(std::ranges::equal(kStateKinds, std::array{kSilence, kAcks, kAckGroup, kGroupLog,
                                                         kDerivedAlert, kComponentState, kFeed}));

std::string hex16(std::uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) out[static_cast<std::size_t>(i)] = kDigits[v & 0xf];
  return out;
}

std::string rfc3339(TimePoint t) { return core::format_rfc3339(t); }

core::Result<TimePoint> time_field(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_string()) {
    return core::fail("invalid_state", std::string("missing ") + key, key);
  }
  return core::parse_rfc3339(j[key].get<std::string>());
}

// ---- persisted forms (the store's alerting_state rows) -------------------------------------

nlohmann::json labels_json(const core::LabelSet& set) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : set) j[k] = v;
  return j;
}

core::LabelSet labels_from(const nlohmann::json& j) {
  core::LabelSet out;
  if (!j.is_object()) return out;
  for (const auto& [k, v] : j.items()) {
    if (v.is_string()) out.emplace(k, v.get<std::string>());
  }
  return out;
}

// A firing derived alert. ends_at is TimePoint::max() while it fires: not written.
nlohmann::json derived_json(const core::Alert& a) {
  return {{"labels", labels_json(a.labels)},
          {"annotations", labels_json(a.annotations)},
          {"startsAt", rfc3339(a.starts_at)}};
}

core::Result<core::Alert> derived_from(const nlohmann::json& j) {
  core::Alert a;
  a.labels = labels_from(j.value("labels", nlohmann::json::object()));
  a.annotations = labels_from(j.value("annotations", nlohmann::json::object()));
  auto starts = time_field(j, "startsAt");
  if (!starts) return std::unexpected(starts.error());
  a.starts_at = *starts;
  a.ends_at = TimePoint::max();
  a.received_at = *starts;
  core::assign_fingerprint(a);
  return a;
}

nlohmann::json group_log_json(const alerting::GroupLog& log) {
  return {{"route", log.key.route_id},
          {"labels", labels_json(log.key.labels)},
          {"lastNotified", rfc3339(log.last_notified)},
          {"hash", hex16(log.hash)},
          {"firing", log.firing},
          {"resolved", log.resolved},
          {"severity", log.severity}};
}

core::Result<alerting::GroupLog> group_log_from(const nlohmann::json& j) {
  alerting::GroupLog log;
  if (!j.contains("route") || !j["route"].is_string()) {
    return core::fail("invalid_state", "group log without a route", "route");
  }
  log.key.route_id = j["route"].get<std::string>();
  log.key.labels = labels_from(j.value("labels", nlohmann::json::object()));
  auto at = time_field(j, "lastNotified");
  if (!at) return std::unexpected(at.error());
  log.last_notified = *at;
  log.hash = std::stoull(j.value("hash", std::string("0")), nullptr, 16);
  for (const auto& fp : j.value("firing", nlohmann::json::array())) {
    if (fp.is_string()) log.firing.push_back(fp.get<std::string>());
  }
  for (const auto& fp : j.value("resolved", nlohmann::json::array())) {
    if (fp.is_string()) log.resolved.push_back(fp.get<std::string>());
  }
  log.severity = j.value("severity", 0);
  return log;
}

nlohmann::json silence_json(const alerting::Silence& s) {
  nlohmann::json matchers = nlohmann::json::array();
  for (const auto& m : s.matchers) {
    matchers.push_back({{"name", m.name()},
                        {"value", m.value()},
                        {"isRegex", m.type() == alerting::MatchType::kRegex ||
                                        m.type() == alerting::MatchType::kNotRegex},
                        {"isEqual", m.type() == alerting::MatchType::kEqual ||
                                        m.type() == alerting::MatchType::kRegex}});
  }
  return {{"id", s.id},
          {"matchers", std::move(matchers)},
          {"startsAt", rfc3339(s.starts_at)},
          {"endsAt", rfc3339(s.ends_at)},
          {"updatedAt", rfc3339(s.updated_at)},
          {"createdBy", s.created_by},
          {"comment", s.comment}};
}

core::Result<alerting::Silence> silence_from(const nlohmann::json& j) {
  alerting::Silence s;
  s.id = j.value("id", std::string());
  for (const auto& m : j.value("matchers", nlohmann::json::array())) {
    const bool regex = m.value("isRegex", false);
    const bool equal = m.value("isEqual", true);
    const auto type = regex
                          ? (equal ? alerting::MatchType::kRegex : alerting::MatchType::kNotRegex)
                          : (equal ? alerting::MatchType::kEqual : alerting::MatchType::kNotEqual);
    auto matcher = alerting::Matcher::create(type, m.value("name", std::string()),
                                             m.value("value", std::string()));
    if (!matcher) return std::unexpected(matcher.error());
    s.matchers.push_back(std::move(*matcher));
  }
  for (auto [field, slot] : {std::pair{"startsAt", &s.starts_at}, std::pair{"endsAt", &s.ends_at},
                             std::pair{"updatedAt", &s.updated_at}}) {
    auto t = time_field(j, field);
    if (!t) return std::unexpected(t.error());
    *slot = *t;
  }
  s.created_by = j.value("createdBy", std::string());
  s.comment = j.value("comment", std::string());
  return s;
}

}  // namespace

std::string group_id(const alerting::GroupKey& key) {
  std::uint64_t h = 14695981039346656037ull;
  for (const char c : key.to_string()) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return hex16(h);
}

core::Result<std::unique_ptr<Engine>> Engine::create(EngineOptions options, Sink& sink,
                                                     TimePoint start) {
  if (auto ok = alerting::validate(options.policy); !ok) {
    core::Error e = ok.error();
    e.field = "alerting." + e.field;
    return std::unexpected(std::move(e));
  }
  auto registry = components::Registry::create(options.detectors);
  if (!registry) {
    core::Error e = registry.error();
    e.field = "detectors." + e.field;
    return std::unexpected(std::move(e));
  }
  auto tree = alerting::Route::build(options.policy.route);
  if (!tree) {
    core::Error e = tree.error();
    e.field = "alerting." + e.field;
    return std::unexpected(std::move(e));
  }
  auto inhibitor = alerting::Inhibitor::create(options.policy.inhibit_rules);
  if (!inhibitor) {
    core::Error e = inhibitor.error();
    e.field = "alerting." + e.field;
    return std::unexpected(std::move(e));
  }
  const alerting::HeartbeatOptions heartbeat{.service = options.derive.service,
                                             .runbook_base = options.derive.runbook_base};
  auto deadman = alerting::DeadMan::create(options.expected_sources, start, heartbeat);
  if (!deadman) {
    core::Error e = deadman.error();
    e.field = "alerting.expected_" + e.field;
    return std::unexpected(std::move(e));
  }
  return std::unique_ptr<Engine>(new Engine(std::move(options), sink, std::move(*registry),
                                            std::make_unique<alerting::Route>(std::move(*tree)),
                                            std::move(*inhibitor), std::move(*deadman), start));
}

Engine::Engine(EngineOptions options, Sink& sink, components::Registry registry,
               std::unique_ptr<alerting::Route> routes, alerting::Inhibitor inhibitor,
               alerting::DeadMan deadman, TimePoint start)
    : options_(std::move(options)),
      sink_(sink),
      registry_(std::move(registry)),
      aggregator_(options_.gate),
      deriver_([this] {
        alerting::DeriveOptions d = options_.derive;
        if (!d.category_of) {
          d.category_of = [this](std::string_view c) { return registry_.alert_category(c); };
        }
        return d;
      }()),
      deadman_(std::move(deadman)),
      watchdog_(options_.watchdog
                    ? std::optional<alerting::Watchdog>(
                          std::in_place, start,
                          alerting::HeartbeatOptions{.service = options_.derive.service,
                                                     .runbook_base = options_.derive.runbook_base})
                    : std::nullopt),
      routes_(std::move(routes)),
      inhibitor_(std::move(inhibitor)),
      silences_(alerting::uuid_v4_generator(options_.silence_seed)),
      dispatcher_(*routes_),
      incident_stats_(options_.detectors.incident_response.metrics_window) {
  incident_component_ = dynamic_cast<components::IncidentResponse*>(
      registry_.find(components::kIncidentResponseName));
  for (const auto& ti : options_.policy.time_intervals) intervals_.emplace(ti.name, &ti);
  dispatcher_.set_mutes(
      {.alert = [this](const core::Alert& a, TimePoint at) { return muted(a, at); },
       .route = [this](const alerting::Route& r, TimePoint at) { return route_muted(r, at); }});
}

Engine::~Engine() = default;

// ---- restore -------------------------------------------------------------------------------

std::vector<core::Error> Engine::restore(RestoreState state, TimePoint now) {
  std::vector<core::Error> errors;
  auto bad = [&](const store::StateRow& row, const core::Error& e) {
    errors.push_back(core::Error{.code = "invalid_state",
                                 .message = "alerting state " + row.kind + "/" + row.key +
                                            " cannot be read: " + e.describe()});
  };
  std::vector<alerting::GroupLog> logs;
  std::vector<core::Alert> derived;
  std::optional<alerting::AcksSnapshot> acks;
  std::map<std::string, alerting::OpenGroup> ack_groups;
  // Silences first: nothing is routed before they are back.
  for (const store::StateRow& row : state.state) {
    const auto j = nlohmann::json::parse(row.json, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      bad(row, core::Error{.code = "invalid_json", .message = "not a JSON object"});
      continue;
    }
    if (row.kind == kSilence) {
      auto s = silence_from(j);
      if (!s) {
        bad(row, s.error());
      } else if (auto ok = silences_.restore(*s); !ok) {
        bad(row, ok.error());
      } else if (s->ends_at > now) {
        silence_ends_.emplace(s->ends_at, s->id);
      }
    } else if (row.kind == kGroupLog) {
      if (auto log = group_log_from(j); log) {
        logs.push_back(std::move(*log));
      } else {
        bad(row, log.error());
      }
    } else if (row.kind == kDerivedAlert) {
      if (auto a = derived_from(j); a) {
        derived.push_back(std::move(*a));
      } else {
        bad(row, a.error());
      }
    } else if (row.kind == kAcks) {
      if (auto a = alerting::acks_snapshot_from_json(j); a) {
        acks = std::move(*a);
      } else {
        bad(row, a.error());
      }
    } else if (row.kind == kFeed) {
      const FeedTopic* t = find_feed_topic(row.key);
      if (t == nullptr) continue;  // a topic no longer a feed
      if (auto f = feed_from_json(j, *t); f) {
        auto next = std::make_shared<Feeds>(*feeds_);
        (*next)[row.key] = std::move(*f);
        feeds_ = std::move(next);
        ++feeds_version_;
      } else {
        bad(row, f.error());
      }
    } else if (row.kind == kComponentState) {
      components::Component* c = registry_.find(row.key);
      if (c == nullptr) continue;  // a component no longer configured: its history is unused
      if (auto ok = c->restore(j); !ok) {
        bad(row, ok.error());
      } else {
        registry_dirty_ = true;
      }
    } else if (row.kind == kAckGroup) {
      // Stored as a snapshot of one group.
      auto a = alerting::acks_snapshot_from_json(j);
      if (a && a->groups.size() == 1 && a->groups[0].group == row.key) {
        ack_groups.insert_or_assign(row.key, std::move(a->groups[0]));
      } else {
        bad(row, a ? core::Error{.code = "invalid_state", .message = "not one group of its key"}
                   : a.error());
      }
    }
  }
  for (const alerting::Record& r : state.records) {
    if (incident_stats_.feed(r)) incident_stats_dirty_ = true;
  }
  for (auto& c : state.components) aggregator_.put(std::move(c));
  // Every alert is back in the inhibitor before any group ticks.
  for (auto& a : state.external_alerts) {
    if (a.fingerprint.empty()) core::assign_fingerprint(a);
    const std::uint64_t fp = core::fingerprint_value(a);
    auto [it, inserted] = external_.insert_or_assign(
        fp, External{.alert = std::make_shared<core::Alert>(std::move(a))});
    const core::Alert& stored = *it->second.alert;
    if (!core::is_resolved(stored, now)) external_ends_.emplace(stored.ends_at, fp);
    inhibitor_.update(stored, now);
  }
  std::vector<core::Alert> absent;
  std::erase_if(derived, [&absent](core::Alert& a) {
    const auto name = a.labels.find("alertname");
    if (name == a.labels.end() || name->second != alerting::kTelemetryAbsentAlert) return false;
    absent.push_back(std::move(a));
    return true;
  });
  deriver_.restore(std::move(derived));
  deadman_.restore(std::move(absent));
  for_each_internal([&](const core::Alert& a) { inhibitor_.update(a, now); });
  for (auto& [fp, x] : external_) dispatcher_.put(x.alert, now, &x.groups);
  for (const auto& [fp, a] : deriver_.active()) dispatcher_.put(a, now);
  for (const auto& [fp, a] : deadman_.active()) dispatcher_.put(a, now);
  if (watchdog_) dispatcher_.put(watchdog_->alert(), now);
  for (auto& log : logs) {
    const alerting::GroupKey key = log.key;
    dispatcher_.restore_group(std::move(log));
    if (dispatcher_.find(key) == nullptr && sink_.wants_persist()) {
      sink_.persist({.kind = std::string(kGroupLog), .key = key.to_string(), .json = ""});
    }
  }
  // Open groups, their acks and escalation chains. A group that did not come back resolves at
  // the first tick (Dispatcher::removed()).
  if (acks || !ack_groups.empty()) {
    if (!acks) acks.emplace();
    // Groups of a whole-state row (an older store) are written as their own rows at the next
    // checkpoint, which leaves the whole-state row with the sequence only.
    for (const alerting::OpenGroup& g : acks->groups) acks_changed_.insert(g.group);
    std::erase_if(acks->groups, [&ack_groups](const alerting::OpenGroup& g) {
      return ack_groups.contains(g.group);
    });
    for (auto& [key, g] : ack_groups) acks->groups.push_back(std::move(g));
    std::ranges::sort(acks->groups, {}, &alerting::OpenGroup::group);
    if (auto ok = acks_.restore(std::move(*acks)); !ok) {
      errors.push_back(core::Error{
          .code = "invalid_state",
          .message = "alerting state acks cannot be restored: " + ok.error().describe()});
    }
  }
  // The state now reflects the restored components; derive what changed while opsready was
  // down (a component that is ok again resolves its alert, one that is gone resolves all).
  evaluate(now);
  scratch_alerts_.clear();
  for (const std::string& c : deriver_.components()) {
    if (aggregator_.component(c) == nullptr) deriver_.absent(c, now, scratch_alerts_);
  }
  for (const core::AlertRef& a : scratch_alerts_) internal_changed(a, now);
  return errors;
}

// ---- inputs ---------------------------------------------------------------------------------

components::Routed Engine::apply(const core::TelemetryEvent& e, TimePoint now) {
  ++counts_.events;
  if (!deadman_.sources().empty()) {
    scratch_heartbeats_.clear();
    deadman_.seen(e.topic, now, scratch_heartbeats_);
    internal_changed(scratch_heartbeats_, now);
  }
  if (const FeedTopic* t = find_feed_topic(e.topic)) {
    if (auto ok = check_feed(e); !ok) {
      ++counts_.events_refused;
      return components::Routed{
          .consumers = 1, .refused = 1, .component = "dashboard", .error = ok.error()};
    }
    auto next = std::make_shared<Feeds>(*feeds_);
    put_feed(*next, *t, e);
    if (sink_.wants_persist()) {
      sink_.persist({.kind = std::string(kFeed),
                     .key = std::string(t->topic),
                     .json = to_json(next->at(std::string(t->topic))).dump()});
    }
    feeds_ = std::move(next);
    ++feeds_version_;
    return components::Routed{.consumers = 1};
  }
  if (e.topic != core::kComponentSnapshotTopic) {
    components::Routed r = registry_.route(e);
    if (r.consumers == 0) {
      ++counts_.events_unrouted;
    } else if (r.refused > 0) {
      ++counts_.events_refused;
    } else {
      registry_dirty_ = true;
      persist_component_state();
    }
    return r;
  }
  auto snap = core::component_snapshot_from_json(e.payload, e.time);
  if (!snap) {
    ++counts_.events_refused;
    return components::Routed{.consumers = 1,
                              .refused = 1,
                              .component = std::string(core::kComponentSnapshotTopic),
                              .error = snap.error()};
  }
  put_component(std::move(*snap), now);
  return components::Routed{.consumers = 1};
}

void Engine::update_incident_metrics(TimePoint now) {
  if (incident_component_ == nullptr) return;
  const auto leaves = incident_stats_.next_change();
  if (!incident_stats_dirty_ && !(leaves && *leaves <= now)) return;
  incident_stats_dirty_ = false;
  const alerting::ResponseStats::Summary s = incident_stats_.summary(now);
  // The log is live, so its metrics have no data age (metrics_staleness grades documents).
  incident_component_->set_incident_metrics(
      components::IncidentMetrics{.mtta_minutes = s.mtta_minutes,
                                  .mttr_minutes = s.mttr_minutes,
                                  .acknowledged = s.acknowledged,
                                  .resolved = s.resolved,
                                  .sample_window_days = s.sample_window_days});
  registry_dirty_ = true;
}

void Engine::persist_component_state() {
  if (!sink_.wants_persist()) return;
  if (state_versions_.size() != registry_.size()) state_versions_.resize(registry_.size(), 0);
  for (std::size_t i = 0; i < registry_.size(); ++i) {
    components::Component& c = registry_.at(i);
    const std::uint64_t v = c.state_version();
    if (v == state_versions_[i]) continue;
    state_versions_[i] = v;
    const nlohmann::json state = c.state();
    sink_.persist({.kind = std::string(kComponentState),
                   .key = std::string(c.name()),
                   .json = state.is_null() ? std::string() : state.dump()});
  }
}

void Engine::put_component(core::ComponentSnapshot s, TimePoint now) {
  (void)now;
  sink_.component_received(s);
  if (options_.detail == components::Detail::kBrief) s.metadata = nlohmann::json::object();
  aggregator_.put(std::move(s));
}

std::size_t Engine::put_alerts(const std::vector<core::Alert>& alerts, TimePoint now) {
  if (auto due = dispatcher_.next_deadline(); due && *due <= now) tick_groups(now);
  std::size_t taken = 0;
  for (const core::Alert& in : alerts) {
    const std::uint64_t fp = core::fingerprint_value(in);
    auto it = external_.find(fp);
    // A re-post of a firing alert with the same labels that still fires: its routes, groups
    // and inhibitor entries are those of its last put, so only the group timers look at it.
    bool repost = false;
    if (it == external_.end()) {
      if (options_.max_external_alerts > 0 && external_.size() >= options_.max_external_alerts) {
        ++counts_.external_refused;
        continue;
      }
      it = external_.emplace(fp, External{.alert = std::make_shared<core::Alert>(in)}).first;
    } else {
      core::Alert& stored = *it->second.alert;
      const bool was_firing = !core::is_resolved(stored, now);
      if (was_firing) external_ends_.erase({stored.ends_at, fp});
      repost = was_firing && stored.labels == in.labels;
      core::merge_alert_into(stored, in);
    }
    ++taken;
    External& x = it->second;
    external_changed_.insert(fp);
    const bool firing = !core::is_resolved(*x.alert, now);
    if (firing) external_ends_.emplace(x.alert->ends_at, fp);
    if (repost && firing && dispatcher_.reput(x.groups, *x.alert, now)) continue;
    route(x.alert, now, &x.groups);
  }
  return taken;
}

core::Result<std::string> Engine::put_silence(alerting::Silence s, TimePoint now) {
  auto id = silences_.set(std::move(s), now);
  if (id) {
    if (const alerting::Silence* stored = silences_.get(*id); stored && stored->ends_at > now) {
      silence_ends_.emplace(stored->ends_at, *id);
    }
  }
  flush_silence_changes();
  return id;
}

core::Result<void> Engine::expire_silence(std::string_view id, TimePoint now) {
  auto ok = silences_.expire(id, now);
  flush_silence_changes();
  return ok;
}

namespace {
// The group key string of `group` (a group_id or the key itself) among `groups`.
std::optional<alerting::GroupKey> find_group(
    const std::map<alerting::GroupKey, alerting::Group>& groups, std::string_view group) {
  for (const auto& [key, g] : groups) {
    if (group_id(key) == group || key.to_string() == group) return key;
  }
  return std::nullopt;
}
}  // namespace

core::Result<void> Engine::ack(std::string_view group, alerting::Ack a, TimePoint now) {
  const auto key = find_group(dispatcher_.groups(), group);
  if (!key) {
    return core::fail("unknown_group",
                      "no alert group has the id or key '" + std::string(group) + "'", "group");
  }
  a.group = key->to_string();
  auto ok = acks_.ack(std::move(a), now);
  flush_records();
  return ok;
}

core::Result<void> Engine::unack(std::string_view group, const std::string& by, TimePoint now) {
  const auto key = find_group(dispatcher_.groups(), group);
  if (!key) {
    return core::fail("unknown_group",
                      "no alert group has the id or key '" + std::string(group) + "'", "group");
  }
  auto ok = acks_.unack(key->to_string(), by, now);
  flush_records();
  return ok;
}

// ---- evaluation -----------------------------------------------------------------------------

bool Engine::evaluate(TimePoint now) {
  if (auto due = dispatcher_.next_deadline(); due && *due <= now) tick_groups(now);
  ++counts_.evaluations;
  update_incident_metrics(now);
  if (registry_dirty_ || now != last_evaluated_) {
    scratch_snapshots_.clear();
    registry_.snapshots(now, scratch_snapshots_, options_.detail);
    for (auto& s : scratch_snapshots_) aggregator_.put(std::move(s));
    registry_dirty_ = false;
  }
  last_evaluated_ = now;
  const bool changed = aggregator_.evaluate(now);
  if (!changed) return false;
  scratch_alerts_.clear();
  for (const auto& c : aggregator_.changes()) {
    deriver_.component(c.before, c.after, now, scratch_alerts_);
  }
  // The overall readiness and gate alerts: at once when the status or decision changed; a
  // change of their text alone (the gate's reasons) is taken at most once a second, by
  // advance(), so that evaluating after every event does not render the gate's reasons
  // (O(components not ok)) every time. Both drivers see the same texts at the same times.
  if (aggregator_.status() != derived_status_ || aggregator_.decision() != derived_decision_) {
    derive_readiness(now);
  } else if (!readiness_refresh_at_) {
    readiness_refresh_at_ = now + kReadinessTextInterval;
  }
  for (const core::AlertRef& a : scratch_alerts_) internal_changed(a, now);
  return true;
}

void Engine::set_drill_components(std::set<std::string, std::less<>> components, TimePoint now) {
  const auto moved = deriver_.set_drill(std::move(components));
  scratch_alerts_.clear();
  for (const auto& c : moved) {
    if (const auto* view = aggregator_.component(c)) {
      deriver_.component(view, view, now, scratch_alerts_);
    }
  }
  for (const core::AlertRef& a : scratch_alerts_) internal_changed(a, now);
}

void Engine::set_last_drill(TimePoint at) {
  if (incident_component_ == nullptr) return;
  const auto& last = incident_component_->last_drill();
  if (last && *last >= at) return;
  incident_component_->set_last_drill(at);
  registry_dirty_ = true;
}

core::Result<nlohmann::json> Engine::set_incident_chaos(std::vector<components::ChaosEvent> events,
                                                        TimePoint now) {
  if (incident_component_ == nullptr) {
    return core::fail("unavailable", "the incident_response component is disabled");
  }
  if (auto ok = incident_component_->set_chaos(std::move(events), now); !ok) {
    return std::unexpected(ok.error());
  }
  registry_dirty_ = true;
  const core::ComponentSnapshot s = incident_component_->snapshot(now);
  return s.metadata.value("chaos_events", nlohmann::json::array());
}

void Engine::derive_readiness(TimePoint now) {
  derived_status_ = aggregator_.status();
  derived_decision_ = aggregator_.decision();
  readiness_refresh_at_.reset();
  deriver_.readiness(derived_status_, aggregator_.gate(), now, scratch_alerts_);
}

void Engine::internal_changed(const core::AlertRef& a, TimePoint now) {
  const bool firing = !core::is_resolved(*a, now);
  sink_.alert_changed(*a, firing, now);
  if (sink_.wants_persist()) {
    sink_.persist({.kind = std::string(kDerivedAlert),
                   .key = a->fingerprint,
                   .json = firing ? derived_json(*a).dump() : ""});
  }
  route(a, now);
}

void Engine::internal_changed(const std::vector<core::Alert>& alerts, TimePoint now) {
  for (const core::Alert& a : alerts) internal_changed(std::make_shared<const core::Alert>(a), now);
}

std::vector<core::Alert> Engine::take_external_changes() {
  std::vector<core::Alert> out;
  out.reserve(external_changed_.size());
  for (const std::uint64_t fp : external_changed_) {
    if (const auto it = external_.find(fp); it != external_.end()) {
      out.push_back(*it->second.alert);
    }
  }
  external_changed_.clear();
  return out;
}

void Engine::route(const core::AlertRef& a, TimePoint now,
                   std::vector<const alerting::Group*>* joined) {
  inhibitor_.update(*a, now);
  dispatcher_.put(a, now, joined);
}

std::optional<TimePoint> Engine::next_deadline() const {
  std::optional<TimePoint> due;
  auto take = [&due](std::optional<TimePoint> t) {
    if (t && (!due || *t < *due)) due = t;
  };
  take(aggregator_.next_deadline());
  take(dispatcher_.next_deadline());
  take(acks_.next_deadline());
  take(deadman_.next_deadline());
  if (!external_ends_.empty()) take(external_ends_.begin()->first);
  if (!silence_ends_.empty()) take(silence_ends_.begin()->first);
  take(readiness_refresh_at_);
  return due;
}

void Engine::advance(TimePoint now) {
  expire_external(now);
  expire_silences(now);
  scratch_heartbeats_.clear();
  deadman_.advance(now, scratch_heartbeats_);
  internal_changed(scratch_heartbeats_, now);
  if (auto due = aggregator_.next_deadline(); due && *due <= now) evaluate(now);
  if (readiness_refresh_at_ && *readiness_refresh_at_ <= now) {
    scratch_alerts_.clear();
    derive_readiness(now);
    for (const core::AlertRef& a : scratch_alerts_) internal_changed(a, now);
  }
  tick_groups(now);
  fire_escalations(now);
  flush_records();
}

void Engine::expire_external(TimePoint now) {
  while (!external_ends_.empty() && external_ends_.begin()->first <= now) {
    const auto node = external_ends_.extract(external_ends_.begin());
    if (const auto it = external_.find(node.value().second); it != external_.end()) {
      inhibitor_.update(*it->second.alert, now);  // resolved by time: no longer a source
    }
  }
}

void Engine::expire_silences(TimePoint now) {
  while (!silence_ends_.empty() && silence_ends_.begin()->first <= now) {
    const auto node = silence_ends_.extract(silence_ends_.begin());
    const auto& [at, id] = node.value();
    const alerting::Silence* s = silences_.get(id);
    if (s == nullptr || s->ends_at != at) continue;  // updated or expired by hand meanwhile
    // A silence that ends while alerts it muted still fire: a notice in the audit log.
    nlohmann::json still = nlohmann::json::array();
    auto check = [&](const core::Alert& a) {
      if (!core::is_resolved(a, now) && alerting::matches(s->matchers, a.labels)) {
        still.push_back(a.fingerprint);
      }
    };
    // External alerts in fingerprint order, so the notice does not depend on hash order.
    std::vector<const core::Alert*> external;
    for (const auto& [fp, x] : external_) external.push_back(x.alert.get());
    std::sort(external.begin(), external.end(), [](const core::Alert* a, const core::Alert* b) {
      return a->fingerprint < b->fingerprint;
    });
    for (const core::Alert* a : external) check(*a);
    for_each_internal(check);
    if (!still.empty()) {
      sink_.append({.kind = "silence_audit",
                    .at = at,
                    .json = nlohmann::json{{"id", id},
                                           {"action", "expired_while_firing"},
                                           {"at", rfc3339(at)},
                                           {"by", s->created_by},
                                           {"firing", std::move(still)}}
                                .dump()});
    }
  }
  if (silences_.gc(now, options_.silence_retention) > 0) flush_silence_changes();
}

void Engine::flush_silence_changes() {
  for (alerting::SilenceChange& c : silences_.take_changes()) {
    if (sink_.wants_persist()) {
      sink_.persist(
          {.kind = std::string(kSilence), .key = c.id, .json = silence_json(c.after).dump()});
    }
    sink_.append({.kind = "silence_audit",
                  .at = c.at,
                  .json = nlohmann::json{{"id", c.id},
                                         {"action", c.action},
                                         {"at", rfc3339(c.at)},
                                         {"by", c.by},
                                         {"silence", silence_json(c.after)}}
                              .dump()});
  }
}

void Engine::flush_records() {
  for (alerting::Record& r : acks_.take_records()) {
    if (incident_stats_.feed(r)) incident_stats_dirty_ = true;
    sink_.recorded(r);
    sink_.append({.kind = "record", .at = r.at, .json = alerting::to_json(r).dump()});
  }
}

void Engine::checkpoint() {
  auto changed = acks_.take_changed();
  changed.merge(acks_changed_);
  acks_changed_.clear();
  if (changed.empty()) return;
  if (!sink_.wants_persist()) return;
  for (const std::string& key : changed) {
    const alerting::OpenGroup* g = acks_.open_group(key);
    sink_.persist({.kind = std::string(kAckGroup),
                   .key = key,
                   .json = g == nullptr
                               ? std::string()
                               : alerting::to_json(alerting::AcksSnapshot{.groups = {*g}}).dump()});
  }
  sink_.persist(
      {.kind = std::string(kAcks),
       .key = std::string(kAcksKey),
       .json = alerting::to_json(alerting::AcksSnapshot{.sequence = acks_.sequence()}).dump()});
}

const alerting::Receiver* Engine::receiver(std::string_view name) const {
  for (const auto& r : options_.policy.receivers) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

void Engine::tick_groups(TimePoint now) {
  const std::size_t budget =
      options_.tick_budget == 0 ? std::numeric_limits<std::size_t>::max() : options_.tick_budget;
  for (alerting::Notification& n : dispatcher_.advance(now, budget)) {
    const std::string key = n.group.to_string();
    if (n.reason == alerting::NotifyReason::kFirst && !acks_.is_open(key)) {
      const alerting::Receiver* r = receiver(n.receiver);
      static const std::vector<alerting::EscalationStep> kNone;
      acks_.opened(key, n.receiver, r != nullptr ? r->escalation : kNone, n.at);
    }
    const bool go = acks_.notify(key, n.reason, n.severity_rose, n.at);
    if (n.reason == alerting::NotifyReason::kAllResolved) acks_.resolved(key, n.at);
    persist_group(n.group);
    if (!go) {
      ++counts_.held;
      continue;
    }
    decide(std::move(n), false, 0);
  }
  for (const alerting::GroupKey& key : dispatcher_.removed()) {
    const std::string k = key.to_string();
    if (acks_.is_open(k)) acks_.resolved(k, now);
    if (sink_.wants_persist())
      sink_.persist({.kind = std::string(kGroupLog), .key = k, .json = ""});
  }
}

void Engine::fire_escalations(TimePoint now) {
  for (const alerting::Escalation& e : acks_.advance(now)) {
    const auto key = find_group(dispatcher_.groups(), e.group);
    if (!key) continue;
    const alerting::Group& g = dispatcher_.groups().at(*key);
    alerting::Notification n{.group = *key, .receiver = e.receiver, .at = e.at};
    for (const auto& [fp, a] : g.alerts) {
      if (!core::is_resolved(*a, e.at) && !muted(*a, e.at)) n.firing.push_back(*a);
    }
    if (n.firing.empty()) continue;
    n.hash = alerting::alert_set_hash(n.firing, n.resolved);
    ++counts_.escalations;
    decide(std::move(n), true, e.step + 1);
  }
}

void Engine::persist_group(const alerting::GroupKey& key) {
  if (!sink_.wants_persist()) return;
  if (auto log = dispatcher_.log(key)) {
    sink_.persist({.kind = std::string(kGroupLog),
                   .key = key.to_string(),
                   .json = group_log_json(*log).dump()});
  }
}

void Engine::decide(alerting::Notification n, bool escalation, std::size_t step) {
  ++counts_.notifications;
  Decision d{.group_id = group_id(n.group), .escalation = escalation, .step = step};
  d.notification = std::move(n);
  sink_.decided(d);
}

bool Engine::muted(const core::Alert& a, TimePoint at) const {
  return !silences_.mutes(a.labels, at).empty() || inhibitor_.inhibited(a);
}

bool Engine::route_muted(const alerting::Route& r, TimePoint at) const {
  for (const std::string& name : r.mute_time_intervals()) {
    const auto it = intervals_.find(name);
    if (it != intervals_.end() && alerting::contains(*it->second, at)) return true;
  }
  if (r.active_time_intervals().empty()) return false;
  for (const std::string& name : r.active_time_intervals()) {
    const auto it = intervals_.find(name);
    if (it != intervals_.end() && alerting::contains(*it->second, at)) return false;
  }
  return true;
}

// ---- reads ----------------------------------------------------------------------------------

std::shared_ptr<const readiness::ReadinessSnapshot> Engine::readiness() {
  return aggregator_.snapshot();
}

std::uint64_t Engine::readiness_version() const { return aggregator_.version(); }

std::vector<AlertView> Engine::alerts(TimePoint now) const {
  std::vector<AlertView> out;
  out.reserve(external_.size() + deriver_.active().size());
  auto view = [&](const core::Alert& a, bool derived) {
    AlertView v{.alert = &a, .derived = derived};
    v.silenced_by = silences_.mutes(a.labels, now);
    if (auto by = inhibitor_.inhibited_by(a)) v.inhibited_by.push_back(by->source_fingerprint);
    v.receivers = receivers_for(a.labels);
    out.push_back(std::move(v));
  };
  for (const auto& [fp, x] : external_) view(*x.alert, false);
  for_each_internal([&](const core::Alert& a) { view(a, true); });
  std::sort(out.begin(), out.end(), [](const AlertView& x, const AlertView& y) {
    return x.alert->fingerprint < y.alert->fingerprint;
  });
  return out;
}

const std::map<alerting::GroupKey, alerting::Group>& Engine::groups() const {
  return dispatcher_.groups();
}

std::vector<std::string> Engine::receivers_for(const core::LabelSet& labels) const {
  std::vector<std::string> out;
  for (const alerting::Route* r : routes_->match(labels)) {
    if (std::find(out.begin(), out.end(), r->receiver()) == out.end()) {
      out.push_back(r->receiver());
    }
  }
  return out;
}

EngineCounts Engine::counts(TimePoint now) const {
  EngineCounts c = counts_;
  c.alerts_derived = deriver_.active().size() + deadman_.active().size() + (watchdog_ ? 1 : 0);
  c.alerts_external = external_.size();
  // external_ends_ holds every external alert that fired when last put, by endsAt: those whose
  // endsAt is after `now` fire now, and all others are resolved. The entries at or before
  // `now` are the few that advance() has not expired yet.
  std::size_t ended = 0;
  for (auto it = external_ends_.begin(); it != external_ends_.end() && it->first <= now; ++it) {
    ++ended;
  }
  c.alerts_firing = c.alerts_derived + (external_ends_.size() - ended);
  c.groups = dispatcher_.group_count();
  c.acks = acks_.acked_count();
  return c;
}

}  // namespace opsready::engine
