#include "opsready/alerting/ack.h"

#include <algorithm>
#include <set>

#include "opsready/core/time.h"

namespace opsready::alerting {
namespace {

using nlohmann::json;

std::string quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

// Null counts as absent. `path` prefixes the field names of errors ("groups[0].ack.").
const json* member(const json& object, const char* key) {
  const auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

core::Result<std::optional<std::string>> optional_string(const json& object, const char* key,
                                                         const std::string& path) {
  const json* v = member(object, key);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return core::fail("ack_wrong_type", "must be a string", path + key);
  return v->get<std::string>();
}

core::Result<std::string> required_string(const json& object, const char* key,
                                          const std::string& path) {
  auto v = optional_string(object, key, path);
  if (!v) return std::unexpected(v.error());
  if (!*v) return core::fail("ack_missing_field", "required field is missing", path + key);
  return std::move(**v);
}

core::Result<std::optional<core::TimePoint>> optional_time(const json& object, const char* key,
                                                           const std::string& path) {
  auto text = optional_string(object, key, path);
  if (!text) return std::unexpected(text.error());
  if (!*text) return std::optional<core::TimePoint>();
  auto t = core::parse_rfc3339(**text);
  if (!t) return core::fail("ack_invalid_timestamp", t.error().message, path + key);
  return std::optional<core::TimePoint>(*t);
}

core::Result<core::TimePoint> required_time(const json& object, const char* key,
                                            const std::string& path) {
  auto t = optional_time(object, key, path);
  if (!t) return std::unexpected(t.error());
  if (!*t) return core::fail("ack_missing_field", "required field is missing", path + key);
  return **t;
}

core::Result<Ack> ack_at(const json& j, const std::string& path) {
  if (!j.is_object()) {
    return core::fail("ack_wrong_type", "an ack must be a JSON object",
                      path.empty() ? "" : path.substr(0, path.size() - 1));
  }
  Ack a;
  auto group = required_string(j, "group", path);
  if (!group) return std::unexpected(group.error());
  a.group = std::move(*group);
  auto by = required_string(j, "by", path);
  if (!by) return std::unexpected(by.error());
  a.by = std::move(*by);
  auto comment = optional_string(j, "comment", path);
  if (!comment) return std::unexpected(comment.error());
  a.comment = comment->value_or("");
  auto channel = optional_string(j, "channel", path);
  if (!channel) return std::unexpected(channel.error());
  a.channel = channel->value_or("");
  auto at = optional_time(j, "at", path);
  if (!at) return std::unexpected(at.error());
  a.at = at->value_or(core::TimePoint{});
  auto updated_at = optional_time(j, "updated_at", path);
  if (!updated_at) return std::unexpected(updated_at.error());
  a.updated_at = updated_at->value_or(core::TimePoint{});
  auto expires_at = optional_time(j, "expires_at", path);
  if (!expires_at) return std::unexpected(expires_at.error());
  a.expires_at = *expires_at;
  return a;
}

core::Result<EscalationStep> step_from_json(const json& j, const std::string& path) {
  if (!j.is_object()) {
    return core::fail("ack_wrong_type", "must be an object", path.substr(0, path.size() - 1));
  }
  EscalationStep s;
  auto after_text = required_string(j, "after", path);
  if (!after_text) return std::unexpected(after_text.error());
  auto after = core::parse_duration(*after_text);
  if (!after) return core::fail("ack_invalid_duration", after.error().message, path + "after");
  s.after = *after;
  auto receiver = required_string(j, "receiver", path);
  if (!receiver) return std::unexpected(receiver.error());
  s.receiver = std::move(*receiver);
  return s;
}

core::Result<OpenGroup> open_group_from_json(const json& j, const std::string& path) {
  if (!j.is_object()) {
    return core::fail("ack_wrong_type", "must be an object", path.substr(0, path.size() - 1));
  }
  OpenGroup g;
  auto group = required_string(j, "group", path);
  if (!group) return std::unexpected(group.error());
  g.group = std::move(*group);
  auto receiver = required_string(j, "receiver", path);
  if (!receiver) return std::unexpected(receiver.error());
  g.receiver = std::move(*receiver);
  if (const json* policy = member(j, "policy")) {
    if (!policy->is_array())
      return core::fail("ack_wrong_type", "must be an array", path + "policy");
    for (std::size_t i = 0; i < policy->size(); ++i) {
      auto step = step_from_json((*policy)[i], path + "policy[" + std::to_string(i) + "].");
      if (!step) return std::unexpected(step.error());
      g.policy.push_back(std::move(*step));
    }
  }
  auto opened_at = required_time(j, "opened_at", path);
  if (!opened_at) return std::unexpected(opened_at.error());
  g.opened_at = *opened_at;
  auto chain_started_at = required_time(j, "chain_started_at", path);
  if (!chain_started_at) return std::unexpected(chain_started_at.error());
  g.chain_started_at = *chain_started_at;
  const json* next_step = member(j, "next_step");
  if (next_step == nullptr) {
    return core::fail("ack_missing_field", "required field is missing", path + "next_step");
  }
  if (!next_step->is_number_unsigned()) {
    return core::fail("ack_wrong_type", "must be a non-negative integer", path + "next_step");
  }
  g.next_step = next_step->get<std::size_t>();
  if (const json* ack = member(j, "ack")) {
    auto a = ack_at(*ack, path + "ack.");
    if (!a) return std::unexpected(a.error());
    g.ack = std::move(*a);
  }
  return g;
}

// When the chain of `g` fires its next step; std::nullopt when it is done. A step never fires
// before the steps ahead of it, nor before the chain started.
std::optional<core::TimePoint> step_due(const OpenGroup& g) {
  if (g.next_step >= g.policy.size()) return std::nullopt;
  core::Duration after = core::Duration::zero();
  for (std::size_t i = 0; i <= g.next_step; ++i) after = std::max(after, g.policy[i].after);
  return g.chain_started_at + after;
}

std::string reason_detail(NotifyReason reason, bool severity_rose) {
  std::string out(to_string(reason));
  if (severity_rose) out += "; severity rose";
  return out;
}

std::string policy_detail(const std::vector<EscalationStep>& policy) {
  if (policy.empty()) return {};
  std::string out = "escalation: ";
  for (std::size_t i = 0; i < policy.size(); ++i) {
    if (i > 0) out += ", ";
    out += core::format_duration(policy[i].after) + " " + policy[i].receiver;
  }
  return out;
}

}  // namespace

core::Result<void> validate_escalation_policy(const std::vector<EscalationStep>& steps) {
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const std::string field = "steps[" + std::to_string(i) + "].";
    if (steps[i].receiver.empty()) {
      return core::fail("escalation_missing_receiver", "must not be empty", field + "receiver");
    }
    if (steps[i].after < core::Duration::zero()) {
      return core::fail("escalation_negative_after", "must not be negative", field + "after");
    }
    if (i > 0 && steps[i].after < steps[i - 1].after) {
      return core::fail("escalation_steps_out_of_order",
                        "must not be shorter than the step before it (" +
                            core::format_duration(steps[i - 1].after) + ")",
                        field + "after");
    }
  }
  return {};
}

json to_json(const Ack& a) {
  json j = {{"group", a.group},
            {"by", a.by},
            {"comment", a.comment},
            {"at", core::format_rfc3339(a.at)},
            {"updated_at", core::format_rfc3339(a.updated_at)}};
  if (!a.channel.empty()) j["channel"] = a.channel;
  if (a.expires_at) j["expires_at"] = core::format_rfc3339(*a.expires_at);
  return j;
}

core::Result<Ack> ack_from_json(const json& j) { return ack_at(j, ""); }

json to_json(const AcksSnapshot& s) {
  json groups = json::array();
  for (const OpenGroup& g : s.groups) {
    json policy = json::array();
    for (const EscalationStep& step : g.policy) {
      policy.push_back({{"after", core::format_duration(step.after)}, {"receiver", step.receiver}});
    }
    json o = {{"group", g.group},
              {"receiver", g.receiver},
              {"policy", std::move(policy)},
              {"opened_at", core::format_rfc3339(g.opened_at)},
              {"chain_started_at", core::format_rfc3339(g.chain_started_at)},
              {"next_step", g.next_step}};
    if (g.ack) o["ack"] = to_json(*g.ack);
    groups.push_back(std::move(o));
  }
  return {{"sequence", s.sequence}, {"groups", std::move(groups)}};
}

core::Result<AcksSnapshot> acks_snapshot_from_json(const json& j) {
  if (!j.is_object()) return core::fail("ack_wrong_type", "a snapshot must be a JSON object");
  AcksSnapshot s;
  const json* sequence = member(j, "sequence");
  if (sequence == nullptr) {
    return core::fail("ack_missing_field", "required field is missing", "sequence");
  }
  if (!sequence->is_number_unsigned()) {
    return core::fail("ack_wrong_type", "must be a non-negative integer", "sequence");
  }
  s.sequence = sequence->get<std::uint64_t>();
  const json* groups = member(j, "groups");
  if (groups == nullptr)
    return core::fail("ack_missing_field", "required field is missing", "groups");
  if (!groups->is_array()) return core::fail("ack_wrong_type", "must be an array", "groups");
  for (std::size_t i = 0; i < groups->size(); ++i) {
    auto g = open_group_from_json((*groups)[i], "groups[" + std::to_string(i) + "].");
    if (!g) return std::unexpected(g.error());
    s.groups.push_back(std::move(*g));
  }
  return s;
}

void Acks::opened(const std::string& group, const std::string& receiver,
                  const std::vector<EscalationStep>& policy, core::TimePoint at) {
  if (const auto it = groups_.find(group); it != groups_.end()) {
    OpenGroup& g = it->second.state;
    g.receiver = receiver;
    g.policy = policy;
    g.next_step = std::min(g.next_step, g.policy.size());
    changed_.insert(it->first);
    schedule(it->first, it->second);
    return;
  }
  if (const auto old = resolved_.find(group); old != resolved_.end()) {
    resolved_order_.erase({old->second, &old->first});
    resolved_.erase(old);
  }
  const auto it = groups_
                      .emplace(group, Entry{.state = OpenGroup{.group = group,
                                                               .receiver = receiver,
                                                               .policy = policy,
                                                               .opened_at = at,
                                                               .chain_started_at = at}})
                      .first;
  record(RecordKind::kOpened, group, receiver, at, "", policy_detail(policy));
  schedule(it->first, it->second);
}

bool Acks::notify(std::string_view group, NotifyReason reason, bool severity_rose,
                  core::TimePoint at) {
  const auto it = groups_.find(group);
  if (it == groups_.end()) {
    record(RecordKind::kNotified, group, "", at, "", reason_detail(reason, severity_rose));
    return true;
  }
  const std::string& key = it->first;
  Entry& e = it->second;
  expire_if_due(key, e, at);
  if (e.state.ack) {
    const bool renotify =
        reason == NotifyReason::kFirst || reason == NotifyReason::kNewAlerts || severity_rose;
    if (renotify) {
      const std::string by = e.state.ack->by;
      record(RecordKind::kAckCleared, key, e.state.receiver, at, by,
             reason_detail(reason, severity_rose));
      retrigger(key, e, at);
    } else if (reason == NotifyReason::kRepeat) {
      record(RecordKind::kHeld, key, e.state.receiver, at, e.state.ack->by,
             reason_detail(reason, false));
      return false;
    }
  }
  record(RecordKind::kNotified, key, e.state.receiver, at, "",
         reason_detail(reason, severity_rose));
  if (reason == NotifyReason::kAllResolved) resolve(it, at);
  return true;
}

void Acks::resolved(std::string_view group, core::TimePoint at) {
  const auto it = groups_.find(group);
  if (it != groups_.end()) resolve(it, at);
}

core::Result<void> Acks::ack(Ack a, core::TimePoint now) {
  if (a.by.empty()) return core::fail("ack_missing_by", "must not be empty", "by");
  if (a.expires_at && *a.expires_at <= now) {
    return core::fail("ack_expires_in_past",
                      "must be after now (" + core::format_rfc3339(now) + ")", "expires_at");
  }
  const auto it = groups_.find(a.group);
  if (it == groups_.end()) return std::unexpected(not_open(a.group, now));
  const std::string& key = it->first;
  Entry& e = it->second;
  expire_if_due(key, e, now);
  a.at = e.state.ack ? e.state.ack->at : now;
  a.updated_at = now;
  record(RecordKind::kAcked, key, e.state.receiver, now, a.by, a.comment);
  records_.back().channel = a.channel;
  if (!e.state.ack) ++acked_;
  e.state.ack = std::move(a);
  schedule(key, e);
  return {};
}

core::Result<void> Acks::unack(std::string_view group, std::string_view by, core::TimePoint now) {
  if (by.empty()) return core::fail("ack_missing_by", "must not be empty", "by");
  const auto it = groups_.find(group);
  if (it == groups_.end()) return std::unexpected(not_open(group, now));
  const std::string& key = it->first;
  Entry& e = it->second;
  expire_if_due(key, e, now);
  if (!e.state.ack) {
    return core::fail("group_not_acked", "group " + quote(group) + " is not acknowledged", "group");
  }
  record(RecordKind::kUnacked, key, e.state.receiver, now, by, "ack by " + e.state.ack->by);
  retrigger(key, e, now);
  return {};
}

const Ack* Acks::find(std::string_view group) const {
  const auto it = groups_.find(group);
  if (it == groups_.end() || !it->second.state.ack) return nullptr;
  return &*it->second.state.ack;
}

std::vector<const Ack*> Acks::list() const {
  std::vector<const Ack*> out;
  for (const auto& [key, e] : groups_) {
    if (e.state.ack) out.push_back(&*e.state.ack);
  }
  return out;
}

std::optional<core::TimePoint> Acks::next_deadline() const {
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.begin()->first;
}

std::vector<Escalation> Acks::advance(core::TimePoint now) {
  forget_resolved(now);
  std::vector<Escalation> out;
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    const auto [due, key_ptr] = *deadlines_.begin();
    const auto it = groups_.find(*key_ptr);
    const std::string& key = it->first;
    Entry& e = it->second;
    if (e.state.ack) {  // an acked group's deadline is its ack's expiry
      expire(key, e);
      continue;
    }
    const std::size_t i = e.state.next_step;
    const EscalationStep& step = e.state.policy[i];
    out.push_back(Escalation{.group = key, .receiver = step.receiver, .step = i, .at = due});
    record(RecordKind::kEscalated, key, step.receiver, due, "",
           "step " + std::to_string(i) + " after " + core::format_duration(step.after));
    ++e.state.next_step;
    schedule(key, e);
  }
  return out;
}

std::vector<Record> Acks::take_records() { return std::exchange(records_, {}); }

std::set<std::string, std::less<>> Acks::take_changed() { return std::exchange(changed_, {}); }

const OpenGroup* Acks::open_group(std::string_view group) const {
  const auto it = groups_.find(group);
  return it == groups_.end() ? nullptr : &it->second.state;
}

AcksSnapshot Acks::snapshot() const {
  AcksSnapshot s{.sequence = sequence_};
  s.groups.reserve(groups_.size());
  for (const auto& [key, e] : groups_) s.groups.push_back(e.state);
  return s;
}

core::Result<void> Acks::restore(AcksSnapshot s) {
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < s.groups.size(); ++i) {
    const OpenGroup& g = s.groups[i];
    const std::string field = "groups[" + std::to_string(i) + "].";
    if (g.group.empty())
      return core::fail("ack_restore_invalid", "must not be empty", field + "group");
    if (!seen.insert(g.group).second) {
      return core::fail("ack_restore_duplicate_group", "group " + quote(g.group) + " appears twice",
                        field + "group");
    }
    if (g.next_step > g.policy.size()) {
      return core::fail("ack_restore_invalid",
                        "beyond the policy's " + std::to_string(g.policy.size()) + " steps",
                        field + "next_step");
    }
    if (g.chain_started_at < g.opened_at) {
      return core::fail("ack_restore_invalid", "must not be before opened_at",
                        field + "chain_started_at");
    }
    if (g.ack) {
      if (!g.ack->group.empty() && g.ack->group != g.group) {
        return core::fail("ack_restore_invalid", "must be the group's key", field + "ack.group");
      }
      if (g.ack->by.empty()) {
        return core::fail("ack_restore_invalid", "must not be empty", field + "ack.by");
      }
    }
  }
  deadlines_.clear();
  groups_.clear();
  resolved_order_.clear();
  resolved_.clear();
  records_.clear();
  changed_.clear();
  sequence_ = s.sequence;
  acked_ = 0;
  for (OpenGroup& g : s.groups) {
    if (g.ack) {
      g.ack->group = g.group;
      ++acked_;
    }
    std::string key = g.group;
    const auto it = groups_.emplace(std::move(key), Entry{.state = std::move(g)}).first;
    schedule(it->first, it->second);
  }
  return {};
}

void Acks::schedule(const std::string& key, Entry& e) {
  unschedule(key, e);
  e.deadline = e.state.ack ? e.state.ack->expires_at : step_due(e.state);
  if (e.deadline) deadlines_.emplace(*e.deadline, &key);
}

void Acks::unschedule(const std::string& key, Entry& e) {
  if (!e.deadline) return;
  deadlines_.erase({*e.deadline, &key});
  e.deadline.reset();
}

void Acks::retrigger(const std::string& key, Entry& e, core::TimePoint at) {
  if (e.state.ack) --acked_;
  e.state.ack.reset();
  e.state.chain_started_at = at;
  e.state.next_step = 0;
  schedule(key, e);
}

void Acks::expire_if_due(const std::string& key, Entry& e, core::TimePoint now) {
  if (e.state.ack && e.state.ack->expires_at && *e.state.ack->expires_at <= now) expire(key, e);
}

void Acks::expire(const std::string& key, Entry& e) {
  const core::TimePoint at = *e.state.ack->expires_at;
  record(RecordKind::kAckExpired, key, e.state.receiver, at, e.state.ack->by, "");
  retrigger(key, e, at);
}

void Acks::resolve(Groups::iterator it, core::TimePoint at) {
  Entry& e = it->second;
  expire_if_due(it->first, e, at);
  record(RecordKind::kResolved, it->first, e.state.receiver, at, "",
         e.state.ack ? "ack by " + e.state.ack->by : "");
  unschedule(it->first, e);
  if (e.state.ack) --acked_;
  auto node = groups_.extract(it);
  // The key moves into resolved_; a group that resolved before keeps only its latest time.
  auto [old, inserted] = resolved_.try_emplace(std::move(node.key()), at);
  if (!inserted) {
    resolved_order_.erase({old->second, &old->first});
    old->second = at;
  }
  resolved_order_.emplace(at, &old->first);
}

void Acks::forget_resolved(core::TimePoint now) {
  while (!resolved_order_.empty() && resolved_order_.begin()->first + resolved_retention_ <= now) {
    const std::string* key = resolved_order_.begin()->second;
    resolved_order_.erase(resolved_order_.begin());
    resolved_.erase(resolved_.find(*key));
  }
}

core::Error Acks::not_open(std::string_view group, core::TimePoint now) const {
  if (const auto it = resolved_.find(group);
      it != resolved_.end() && it->second + resolved_retention_ > now) {
    return core::Error{
        .code = "group_resolved",
        .message = "group " + quote(group) + " resolved at " + core::format_rfc3339(it->second),
        .field = "group"};
  }
  return core::Error{
      .code = "unknown_group", .message = "no open group " + quote(group), .field = "group"};
}

void Acks::record(RecordKind kind, std::string_view group, std::string_view receiver,
                  core::TimePoint at, std::string_view by, std::string detail) {
  if (const auto it = changed_.find(group); it == changed_.end()) changed_.emplace_hint(it, group);
  records_.push_back(Record{.kind = kind,
                            .group = std::string(group),
                            .receiver = std::string(receiver),
                            .at = at,
                            .by = std::string(by),
                            .detail = std::move(detail),
                            .sequence = ++sequence_});
}

}  // namespace opsready::alerting
