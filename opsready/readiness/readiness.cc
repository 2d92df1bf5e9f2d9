#include "opsready/readiness/readiness.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <utility>

#include "opsready/core/text.h"
#include "opsready/core/time.h"

namespace opsready::readiness {
namespace {

using core::Error;
using core::fail;
using core::Issue;
using core::Result;
using core::Severity;

constexpr std::string_view kStaleIssueCode = "stale_snapshot";
constexpr std::string_view kMissingIssueCode = "missing_component";
constexpr std::string_view kMissingSummary = "no snapshot received";
constexpr std::string_view kNoComponentsCode = "no_components";
constexpr std::string_view kNoComponentsMessage = "no component has reported yet";

bool contains(const std::vector<Status>& statuses, Status s) {
  return std::find(statuses.begin(), statuses.end(), s) != statuses.end();
}

// Finds the rule of each component when asked in non-decreasing name order: one merge walk
// over the (sorted) rule map instead of a map lookup per component.
class RuleCursor {
 public:
  explicit RuleCursor(const GatePolicy& policy)
      : it_(policy.components.begin()), end_(policy.components.end()) {}
  const ComponentRule* find(const std::string& name) {
    while (it_ != end_ && it_->first < name) ++it_;
    return it_ != end_ && it_->first == name ? &it_->second : nullptr;
  }

 private:
  std::map<std::string, ComponentRule>::const_iterator it_;
  std::map<std::string, ComponentRule>::const_iterator end_;
};

bool by_name(const ComponentSnapshot* a, const ComponentSnapshot* b) {
  return a->component < b->component;
}

// Pointers into one contiguous array, in name order; equal names keep their array order
// (a stable sort, without std::stable_sort: libstdc++ 12's uses get_temporary_buffer, which
// clang-19 flags as deprecated in C++23).
std::vector<const ComponentSnapshot*> name_order(std::span<const ComponentSnapshot> items) {
  std::vector<const ComponentSnapshot*> order;
  order.reserve(items.size());
  for (const auto& c : items) order.push_back(&c);
  if (!std::is_sorted(order.begin(), order.end(), by_name)) {
    std::sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
      const int cmp = a->component.compare(b->component);
      return cmp != 0 ? cmp < 0 : std::less<>()(a, b);
    });
  }
  return order;
}

// ---- JSON input helpers: every error names the field it is about. ----

std::unexpected<Error> prefixed(Error e, const std::string& prefix) {
  e.field = e.field.empty() ? prefix : prefix + "." + e.field;
  return std::unexpected(std::move(e));
}

std::string join_field(const std::string& prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
}

Result<const nlohmann::json*> required(const nlohmann::json& j, std::string_view key,
                                       const std::string& prefix) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return fail("missing_field", "required field is missing", join_field(prefix, key));
  }
  return &*it;
}

Result<std::string> string_field(const nlohmann::json& j, std::string_view key,
                                 const std::string& prefix, bool is_required) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (is_required) {
      return fail("missing_field", "required field is missing", join_field(prefix, key));
    }
    return std::string();
  }
  if (!it->is_string()) return fail("wrong_type", "must be a string", join_field(prefix, key));
  return it->get<std::string>();
}

Result<std::vector<GateReason>> reasons_from_json(const nlohmann::json& j,
                                                  const std::string& field) {
  if (!j.is_array()) return fail("wrong_type", "must be an array", field);
  std::vector<GateReason> out;
  out.reserve(j.size());
  for (std::size_t k = 0; k < j.size(); ++k) {
    const std::string path = field + "[" + std::to_string(k) + "]";
    const nlohmann::json& r = j[k];
    if (!r.is_object()) return fail("wrong_type", "a gate reason must be a JSON object", path);
    auto code = string_field(r, "code", path, true);
    if (!code) return std::unexpected(code.error());
    if (code->empty()) return fail("invalid_value", "must not be empty", path + ".code");
    auto component = string_field(r, "component", path, false);
    if (!component) return std::unexpected(component.error());
    auto message = string_field(r, "message", path, false);
    if (!message) return std::unexpected(message.error());
    out.push_back({std::move(*code), std::move(*component), std::move(*message)});
  }
  return out;
}

Result<GateDecision> gate_from_json(const nlohmann::json& j, const std::string& field) {
  if (!j.is_object()) return fail("wrong_type", "must be a JSON object", field);
  GateDecision g;
  auto decision = string_field(j, "decision", field, true);
  if (!decision) return std::unexpected(decision.error());
  auto parsed = parse_decision(*decision);
  if (!parsed) return prefixed(parsed.error(), field + ".decision");
  g.decision = *parsed;
  for (const auto& [key, out] :
       {std::pair{"blocking_reasons", &g.blocking_reasons}, std::pair{"warnings", &g.warnings}}) {
    auto list = required(j, key, field);
    if (!list) return std::unexpected(list.error());
    auto reasons = reasons_from_json(**list, join_field(field, key));
    if (!reasons) return std::unexpected(reasons.error());
    *out = std::move(*reasons);
  }
  return g;
}

Result<std::map<Status, int>> counts_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return fail("wrong_type", "must be a JSON object", "counts");
  std::map<Status, int> counts;
  for (Status s : core::kAllStatuses) counts[s] = 0;
  for (const auto& [key, value] : j.items()) {
    const std::string field = "counts." + key;
    const auto it = std::find_if(core::kAllStatuses.begin(), core::kAllStatuses.end(),
                                 [&](Status s) { return core::to_string(s) == key; });
    if (it == core::kAllStatuses.end()) {
      return fail("unknown_field", "expected one of ok, warn, fail", field);
    }
    if (!value.is_number_integer() || value.get<std::int64_t>() < 0 ||
        value.get<std::int64_t>() > std::numeric_limits<int>::max()) {
      return fail("wrong_type", "must be a non-negative integer", field);
    }
    counts[*it] = value.get<int>();
  }
  return counts;
}

}  // namespace

namespace detail {

std::optional<Duration> max_age_for(const ComponentRule* rule, const GatePolicy& policy) {
  return rule != nullptr && rule->max_age ? rule->max_age : policy.max_age;
}

std::string stale_message(TimePoint observed_at, TimePoint now, Duration max_age) {
  return "snapshot observed at " + core::format_rfc3339(observed_at) + " is " +
         core::format_duration(now - observed_at) + " old (max age " +
         core::format_duration(max_age) + ")";
}

bool apply_staleness(ComponentSnapshot& c, const ComponentRule* rule, const GatePolicy& policy,
                     TimePoint now) {
  const std::optional<Duration> max_age = max_age_for(rule, policy);
  if (!max_age || now - c.observed_at <= *max_age) return false;
  const Status stale_status =
      rule != nullptr && rule->stale_status ? *rule->stale_status : policy.stale_status;
  c.status = core::escalate(c.status, stale_status);
  c.issues.push_back({.code = std::string(kStaleIssueCode),
                      .severity = core::severity_for(stale_status),
                      .message = stale_message(c.observed_at, now, *max_age),
                      .runbook = {}});
  return true;
}

ComponentSnapshot missing_component(const std::string& name, TimePoint now) {
  ComponentSnapshot c{.component = name,
                      .status = Status::kFail,
                      .summary = std::string(kMissingSummary),
                      .observed_at = now,
                      .issues = {},
                      .metadata = {{"synthetic", true}}};
  c.issues.push_back({.code = std::string(kMissingIssueCode),
                      .severity = Severity::kCritical,
                      .message = "required component " + name + " has not reported a snapshot",
                      .runbook = {}});
  return c;
}

bool is_synthetic(const ComponentSnapshot& c) {
  const auto it = c.metadata.find("synthetic");
  return it != c.metadata.end() && it->is_boolean() && it->get<bool>();
}

Verdict component_verdict(Status status, const ComponentRule* rule, const GatePolicy& policy) {
  const auto& block_on = rule != nullptr && rule->block_on ? *rule->block_on : policy.block_on;
  if (contains(block_on, status)) return Verdict::kBlock;
  const auto& warn_on = rule != nullptr && rule->warn_on ? *rule->warn_on : policy.warn_on;
  return contains(warn_on, status) ? Verdict::kWarn : Verdict::kNone;
}

GateReason component_reason(const ComponentSnapshot& c, Verdict v) {
  std::string message = c.component + " status " + std::string(core::to_string(c.status));
  if (!c.summary.empty()) message += ": " + c.summary;
  std::string code = v == Verdict::kBlock && c.status == Status::kWarn
                         ? core::reason_code({"component", c.component, "warn", "blocked"})
                         : core::reason_code({"component", c.component, core::to_string(c.status)});
  return {std::move(code), c.component, std::move(message)};
}

template <typename Reason>
void GateBuilder::add(bool blocking, Reason&& reason) {
  if (!distinct_codes_ &&
      !(blocking ? seen_blocking_ : seen_warnings_).insert(reason.code).second) {
    return;
  }
  std::vector<GateReason>& list = blocking ? out_.blocking_reasons : out_.warnings;
  std::size_t& used = blocking ? blocking_ : warnings_;
  if (used < list.size()) {
    list[used] = std::forward<Reason>(reason);  // reuses the strings' storage
  } else {
    list.push_back(std::forward<Reason>(reason));
  }
  ++used;
}

void GateBuilder::add_component(Verdict v, const GateReason& reason) {
  if (v != Verdict::kNone) add(v == Verdict::kBlock, reason);
}

void GateBuilder::add_component(Verdict v, GateReason&& reason) {
  if (v != Verdict::kNone) add(v == Verdict::kBlock, std::move(reason));
}

void GateBuilder::add_required_missing(const std::string& name) {
  add(true, GateReason{core::reason_code({"required_component_missing", name}), name,
                       "required component " + name + " has not reported a snapshot"});
}

void GateBuilder::finish(int failing, int warning, std::size_t components) {
  if (policy_.max_fail_components && failing > *policy_.max_fail_components) {
    add(true, GateReason{"max_fail_components_exceeded",
                         {},
                         std::to_string(failing) + " components failing exceeds limit " +
                             std::to_string(*policy_.max_fail_components)});
  }
  if (policy_.max_warn_components && warning > *policy_.max_warn_components) {
    const bool blocked = contains(policy_.block_on, Status::kWarn);
    add(blocked, GateReason{blocked ? "max_warn_components_exceeded_blocked"
                                    : "max_warn_components_exceeded",
                            {},
                            std::to_string(warning) + " components warning exceeds limit " +
                                std::to_string(*policy_.max_warn_components)});
  }
  if (components == 0 && policy_.empty_decision != GateDecision::Decision::kPass) {
    add(policy_.empty_decision == GateDecision::Decision::kBlock,
        GateReason{std::string(kNoComponentsCode), {}, std::string(kNoComponentsMessage)});
  }
  out_.blocking_reasons.resize(blocking_);
  out_.warnings.resize(warnings_);
  out_.decision = blocking_ > 0   ? GateDecision::Decision::kBlock
                  : warnings_ > 0 ? GateDecision::Decision::kWarn
                                  : GateDecision::Decision::kPass;
}

}  // namespace detail

std::string_view to_string(GateDecision::Decision d) {
  switch (d) {
    case GateDecision::Decision::kPass:
      return "pass";
    case GateDecision::Decision::kWarn:
      return "warn";
    case GateDecision::Decision::kBlock:
      return "block";
  }
  return "block";
}

core::Result<GateDecision::Decision> parse_decision(std::string_view word) {
  const std::string w = core::to_lower(core::trim(word));
  if (w == "pass") return GateDecision::Decision::kPass;
  if (w == "warn") return GateDecision::Decision::kWarn;
  if (w == "block") return GateDecision::Decision::kBlock;
  return fail("unknown_decision_word",
              "unknown gate decision '" + std::string(word) + "' (expected pass, warn or block)");
}

ReadinessSnapshot aggregate(std::span<const ComponentSnapshot> latest, const GatePolicy& policy,
                            TimePoint now) {
  // Equal names stay in input order, so on an observed_at tie the later input wins (the `>=`
  // below), which keeps the choice deterministic.
  const std::vector<const ComponentSnapshot*> order = name_order(latest);
  std::vector<const ComponentSnapshot*> winners;
  winners.reserve(order.size());
  for (std::size_t i = 0; i < order.size();) {
    const ComponentSnapshot* winner = order[i];
    std::size_t j = i + 1;
    for (; j < order.size() && order[j]->component == winner->component; ++j) {
      if (order[j]->observed_at >= winner->observed_at) winner = order[j];
    }
    winners.push_back(winner);
    i = j;
  }

  ReadinessSnapshot out;
  out.generated_at = now;
  out.components.reserve(winners.size() + policy.components.size());
  // Merge the winners with a synthetic component for each required one that is missing; both
  // walks go in name order (policy.components is a sorted map).
  auto next = winners.begin();
  for (const auto& [name, rule] : policy.components) {
    if (!rule.required) continue;
    for (; next != winners.end() && (*next)->component < name; ++next) {
      out.components.push_back(**next);
    }
    if (next == winners.end() || (*next)->component != name) {
      out.components.push_back(detail::missing_component(name, now));
    }
  }
  for (; next != winners.end(); ++next) out.components.push_back(**next);

  for (Status s : core::kAllStatuses) out.counts[s] = 0;
  std::size_t issue_total = 0;
  RuleCursor rules(policy);
  for (auto& c : out.components) {
    detail::apply_staleness(c, rules.find(c.component), policy, now);
    out.status = core::escalate(out.status, c.status);
    ++out.counts[c.status];
    issue_total += c.issues.size();
  }

  out.issues.reserve(issue_total);
  for (const auto& c : out.components) {
    for (const auto& issue : c.issues) out.issues.push_back({c.component, issue});
  }
  out.gate = evaluate_gate(out, policy);
  return out;
}

GateDecision evaluate_gate(const ReadinessSnapshot& snapshot, const GatePolicy& policy) {
  // aggregate() hands over components in name order; a stored snapshot may come from
  // elsewhere, so walk it in name order regardless.
  const std::vector<const ComponentSnapshot*> order = name_order(snapshot.components);

  GateDecision g;
  detail::GateBuilder gate(policy, g);
  int failing = 0;
  int warning = 0;
  RuleCursor rules(policy);
  for (const ComponentSnapshot* c : order) {
    if (c->status == Status::kFail) ++failing;
    if (c->status == Status::kWarn) ++warning;
    const detail::Verdict v =
        detail::component_verdict(c->status, rules.find(c->component), policy);
    if (v != detail::Verdict::kNone) gate.add_component(v, detail::component_reason(*c, v));
  }

  for (const auto& [name, rule] : policy.components) {
    if (!rule.required) continue;
    const auto it = std::lower_bound(
        order.begin(), order.end(), name,
        [](const ComponentSnapshot* c, const std::string& n) { return c->component < n; });
    if (it != order.end() && (*it)->component == name && !detail::is_synthetic(**it)) continue;
    gate.add_required_missing(name);
  }
  gate.finish(failing, warning, snapshot.components.size());
  return g;
}

nlohmann::json to_json(const GateDecision& g) {
  const auto reasons = [](const std::vector<GateReason>& list) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : list) {
      out.push_back({{"code", r.code}, {"component", r.component}, {"message", r.message}});
    }
    return out;
  };
  return {{"decision", to_string(g.decision)},
          {"blocking_reasons", reasons(g.blocking_reasons)},
          {"warnings", reasons(g.warnings)}};
}

nlohmann::json counts_to_json(const std::map<Status, int>& counts) {
  nlohmann::json out = nlohmann::json::object();
  for (Status st : core::kAllStatuses) {
    const auto it = counts.find(st);
    out[std::string(core::to_string(st))] = it == counts.end() ? 0 : it->second;
  }
  return out;
}

nlohmann::json to_json(const ReadinessSnapshot& s) {
  nlohmann::json counts = counts_to_json(s.counts);
  nlohmann::json components = nlohmann::json::array();
  for (const auto& c : s.components) components.push_back(core::to_json(c));
  nlohmann::json issues = nlohmann::json::array();
  for (const auto& ci : s.issues) {
    nlohmann::json i = core::to_json(ci.issue);
    i["component"] = ci.component;
    issues.push_back(std::move(i));
  }
  return {
      {"status", core::to_string(s.status)}, {"generated_at", core::format_rfc3339(s.generated_at)},
      {"counts", std::move(counts)},         {"components", std::move(components)},
      {"issues", std::move(issues)},         {"gate", to_json(s.gate)}};
}

core::Result<ReadinessSnapshot> readiness_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return fail("wrong_type", "a readiness snapshot must be a JSON object");
  ReadinessSnapshot s;

  auto status = string_field(j, "status", "", true);
  if (!status) return std::unexpected(status.error());
  auto parsed_status = core::parse_status(*status);
  if (!parsed_status) return prefixed(parsed_status.error(), "status");
  s.status = *parsed_status;

  auto generated = string_field(j, "generated_at", "", true);
  if (!generated) return std::unexpected(generated.error());
  auto when = core::parse_rfc3339(*generated);
  if (!when) return prefixed(when.error(), "generated_at");
  s.generated_at = *when;

  auto counts = required(j, "counts", "");
  if (!counts) return std::unexpected(counts.error());
  auto parsed_counts = counts_from_json(**counts);
  if (!parsed_counts) return std::unexpected(parsed_counts.error());
  s.counts = std::move(*parsed_counts);

  auto components = required(j, "components", "");
  if (!components) return std::unexpected(components.error());
  if (!(*components)->is_array()) return fail("wrong_type", "must be an array", "components");
  s.components.reserve((*components)->size());
  for (std::size_t k = 0; k < (*components)->size(); ++k) {
    auto c = core::component_snapshot_from_json((**components)[k], s.generated_at);
    if (!c) return prefixed(c.error(), "components[" + std::to_string(k) + "]");
    s.components.push_back(std::move(*c));
  }

  auto issues = required(j, "issues", "");
  if (!issues) return std::unexpected(issues.error());
  if (!(*issues)->is_array()) return fail("wrong_type", "must be an array", "issues");
  s.issues.reserve((*issues)->size());
  for (std::size_t k = 0; k < (*issues)->size(); ++k) {
    const std::string path = "issues[" + std::to_string(k) + "]";
    const nlohmann::json& item = (**issues)[k];
    if (!item.is_object()) return fail("wrong_type", "an issue must be a JSON object", path);
    auto component = string_field(item, "component", path, true);
    if (!component) return std::unexpected(component.error());
    if (!core::is_valid_component_name(*component)) {
      return fail("invalid_component_name",
                  "'" + *component + "' is not a component name ([a-z0-9_.-]+, at most 128)",
                  path + ".component");
    }
    auto issue = core::issue_from_json(item);
    if (!issue) return prefixed(issue.error(), path);
    s.issues.push_back({std::move(*component), std::move(*issue)});
  }

  auto gate = required(j, "gate", "");
  if (!gate) return std::unexpected(gate.error());
  auto parsed_gate = gate_from_json(**gate, "gate");
  if (!parsed_gate) return std::unexpected(parsed_gate.error());
  s.gate = std::move(*parsed_gate);
  return s;
}

}  // namespace opsready::readiness
