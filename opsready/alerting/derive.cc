#include "opsready/alerting/derive.h"

#include <algorithm>
#include <utility>

namespace opsready::alerting {
namespace {

constexpr std::string_view kReadinessRunbook = "readiness";

// Rank of a gate decision on the status lattice: pass 0, warn 1, block 2.
core::Status decision_status(readiness::GateDecision::Decision d) {
  switch (d) {
    case readiness::GateDecision::Decision::kPass:
      return core::Status::kOk;
    case readiness::GateDecision::Decision::kWarn:
      return core::Status::kWarn;
    case readiness::GateDecision::Decision::kBlock:
      return core::Status::kFail;
  }
  return core::Status::kFail;
}

std::string join_messages(const std::vector<readiness::GateReason>& reasons, std::size_t limit) {
  std::string out;
  for (std::size_t i = 0; i < reasons.size() && i < limit; ++i) {
    if (i > 0) out += "; ";
    out += reasons[i].message;
  }
  return out;
}

std::string join_codes(const std::vector<readiness::GateReason>& reasons) {
  if (reasons.empty()) return "none";
  std::string out;
  for (const readiness::GateReason& r : reasons) {
    if (!out.empty()) out += ", ";
    out += r.code;
  }
  return out;
}

// Sorted-vector set operations on the owners' fingerprint lists.
void insert_sorted(std::vector<std::string>& v, const std::string& s) {
  const auto it = std::lower_bound(v.begin(), v.end(), s);
  if (it == v.end() || *it != s) v.insert(it, s);
}

bool is_component_alert(std::string_view alertname) {
  return alertname == kComponentNotOkAlert || alertname == kIssueAlert ||
         alertname == kComponentStaleAlert || alertname == kComponentMissingAlert;
}

}  // namespace

std::string runbook_url(std::string_view base, std::string_view name) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  std::string out;
  out.reserve(base.size() + name.size() + 4);
  if (!base.empty()) {
    out.append(base);
    out.push_back('/');
  }
  out.append(name);
  out.append(".md");
  return out;
}

std::string operational_category(std::string_view component) {
  return "operational." + std::string(component);
}

Deriver::Deriver(DeriveOptions o) : options_(std::move(o)) {}

std::string Deriver::category_of(std::string_view component) const {
  return options_.category_of ? options_.category_of(component) : operational_category(component);
}

core::Alert Deriver::make(std::string_view alertname, std::string category, core::Severity severity,
                          std::string_view component) const {
  core::Alert a;
  a.labels.emplace("alertname", alertname);
  a.labels.emplace("category", std::move(category));
  a.labels.emplace("severity", core::to_string(severity));
  if (!options_.service.empty()) a.labels.emplace("service", options_.service);
  if (!component.empty()) {
    a.labels.emplace("component", component);
    if (drill_.contains(component)) a.labels.emplace("drill", "true");
  }
  a.ends_at = kFiring;
  return a;
}

void Deriver::derive_component(const core::ComponentSnapshot& s,
                               std::vector<core::Alert>& desired) const {
  const std::string& c = s.component;
  const std::string_view status = core::to_string(s.status);
  const std::string_view threshold = core::to_string(options_.threshold);
  const int issue_floor = core::rank(core::severity_for(options_.threshold));
  std::optional<std::string> category;  // category_of(c), computed once when needed
  const auto own_category = [&]() -> const std::string& {
    if (!category) category = category_of(c);
    return *category;
  };
  const auto runbook = [&](const core::Issue* issue) {
    return issue != nullptr && !issue->runbook.empty() ? issue->runbook
                                                       : runbook_url(options_.runbook_base, c);
  };

  if (core::rank(s.status) >= core::rank(options_.threshold)) {
    core::Alert a = make(kComponentNotOkAlert, own_category(), core::severity_for(s.status), c);
    std::string summary = c + " status " + std::string(status);
    if (!s.summary.empty()) summary += ": " + s.summary;
    a.annotations.emplace("summary", std::move(summary));
    a.annotations.emplace("description",
                          "Component " + c + " reports status " + std::string(status) +
                              ", at or above the alert threshold " + std::string(threshold) +
                              ". Its issues fire as their own alerts.");
    a.annotations.emplace("runbook_url", runbook(nullptr));
    desired.push_back(std::move(a));
  }

  for (const core::Issue& issue : s.issues) {
    if (core::rank(issue.severity) < issue_floor) continue;
    core::Alert a;
    if (issue.code == kStaleIssueCode) {
      a = make(kComponentStaleAlert, operational_category(c), issue.severity, c);
      a.annotations.emplace("summary", c + " snapshot is stale");
      a.annotations.emplace("description",
                            "The latest snapshot of " + c +
                                " is older than the gate policy's max age, so readiness "
                                "escalates the component. The readiness snapshot shows its age.");
    } else if (issue.code == kMissingIssueCode) {
      a = make(kComponentMissingAlert, operational_category(c), issue.severity, c);
      a.annotations.emplace("summary", c + " is missing: " + issue.message);
      a.annotations.emplace("description",
                            "Component " + c +
                                " is required by the gate policy and has reported no snapshot; "
                                "the gate blocks until it does.");
    } else {
      // The category is the code up to a ':' qualifier ("system_validation.check:2" routes as
      // system_validation.check; the issue label keeps the whole code).
      const std::string_view base = std::string_view(issue.code).substr(0, issue.code.find(':'));
      const bool code_is_category = base.find('.') != std::string_view::npos;
      a = make(kIssueAlert, code_is_category ? std::string(base) : own_category(), issue.severity,
               c);
      a.labels.emplace("issue", issue.code);
      a.annotations.emplace("summary", issue.message.empty() ? c + ": issue " + issue.code
                                                             : c + ": " + issue.message);
      a.annotations.emplace("description", "Component " + c + " reports issue " + issue.code +
                                               " with severity " +
                                               std::string(core::to_string(issue.severity)) + ".");
    }
    // The issue's own labels (an owner to route to); the alert's labels above win.
    for (const auto& [name, value] : issue.labels) a.labels.emplace(name, value);
    a.annotations.emplace("runbook_url", runbook(&issue));
    desired.push_back(std::move(a));
  }
}

void Deriver::derive_readiness(core::Status status, const readiness::GateDecision& gate,
                               std::vector<core::Alert>& desired) const {
  const std::string threshold(core::to_string(options_.threshold));
  const std::string runbook = runbook_url(options_.runbook_base, kReadinessRunbook);
  if (core::rank(status) >= core::rank(options_.threshold)) {
    const std::string s(core::to_string(status));
    core::Alert a =
        make(kReadinessNotOkAlert, std::string(kReadinessCategory), core::severity_for(status), {});
    a.annotations.emplace("summary", "Operational readiness status " + s);
    a.annotations.emplace("description", "The worst component status is " + s +
                                             ", at or above the alert threshold " + threshold +
                                             "; the component alerts say which.");
    a.annotations.emplace("runbook_url", runbook);
    desired.push_back(std::move(a));
  }
  const core::Status gate_status = decision_status(gate.decision);
  if (options_.gate_alert && core::rank(gate_status) >= core::rank(options_.threshold)) {
    const std::string d(readiness::to_string(gate.decision));
    core::Alert a =
        make(kGateAlert, std::string(kGateCategory), core::severity_for(gate_status), {});
    a.labels.emplace("decision", d);
    std::string headline = !gate.blocking_reasons.empty() ? join_messages(gate.blocking_reasons, 2)
                           : !gate.warnings.empty()       ? join_messages(gate.warnings, 2)
                                                          : std::string("no additional context");
    a.annotations.emplace("summary", "Operational readiness gate " + d + ": " + headline);
    a.annotations.emplace("description", "Gate decision " + d +
                                             ". Blocking: " + join_codes(gate.blocking_reasons) +
                                             ". Warnings: " + join_codes(gate.warnings) + ".");
    a.annotations.emplace("runbook_url", runbook);
    desired.push_back(std::move(a));
  }
}

void Deriver::reconcile(std::vector<std::string>& owned, std::vector<core::Alert>& desired,
                        core::TimePoint now, std::vector<core::AlertRef>& out) {
  for (core::Alert& d : desired) core::assign_fingerprint(d);
  // Derivation order, by fingerprint; a stable sort keeps the first of equal fingerprints first.
  std::vector<std::size_t> order(desired.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return desired[a].fingerprint < desired[b].fingerprint;
  });
  std::vector<std::string> wanted;
  wanted.reserve(desired.size());
  std::vector<bool> duplicate(desired.size(), false);
  for (std::size_t i : order) {
    if (!wanted.empty() && wanted.back() == desired[i].fingerprint) {
      duplicate[i] = true;  // the first one's text wins
    } else {
      wanted.push_back(desired[i].fingerprint);
    }
  }

  for (std::size_t i = 0; i < desired.size(); ++i) {
    if (duplicate[i]) continue;
    core::Alert& d = desired[i];
    const auto it = active_.find(d.fingerprint);
    if (it == active_.end()) {
      d.starts_at = now;
      d.ends_at = kFiring;
      auto a = std::make_shared<core::Alert>(std::move(d));
      active_.try_emplace(a->fingerprint, a);
      out.push_back(std::move(a));
    } else if (it->second->annotations != d.annotations) {
      it->second->annotations = std::move(d.annotations);
      out.push_back(it->second);
    }
  }
  for (const std::string& fp : owned) {
    if (std::binary_search(wanted.begin(), wanted.end(), fp)) continue;
    const auto it = active_.find(fp);
    if (it == active_.end()) continue;
    std::shared_ptr<core::Alert> resolved = std::move(it->second);
    active_.erase(it);
    resolved->ends_at = now;
    out.push_back(std::move(resolved));
  }
  owned = std::move(wanted);
  desired.clear();
}

void Deriver::component(const core::ComponentSnapshot* before, const core::ComponentSnapshot* after,
                        core::TimePoint now, std::vector<core::AlertRef>& out) {
  if (after == nullptr) {
    if (before != nullptr) absent(before->component, now, out);
    return;
  }
  if (before != nullptr && before->component != after->component) {
    absent(before->component, now, out);
  }
  auto it = components_.find(after->component);
  if (it == components_.end()) {
    it = components_.emplace(after->component, ComponentState{}).first;
  }
  ComponentState& state = it->second;
  if (state.inputs_known && state.status == after->status && state.summary == after->summary &&
      state.issues == after->issues) {
    return;
  }
  derive_component(*after, desired_);
  reconcile(state.fingerprints, desired_, now, out);
  state.inputs_known = true;
  state.status = after->status;
  state.summary = after->summary;
  state.issues = after->issues;
}

std::vector<std::string> Deriver::set_drill(std::set<std::string, std::less<>> components) {
  std::vector<std::string> moved;
  std::set_symmetric_difference(drill_.begin(), drill_.end(), components.begin(), components.end(),
                                std::back_inserter(moved));
  drill_ = std::move(components);
  for (const auto& c : moved) {
    if (auto it = components_.find(c); it != components_.end()) it->second.inputs_known = false;
  }
  return moved;
}

void Deriver::absent(std::string_view component, core::TimePoint now,
                     std::vector<core::AlertRef>& out) {
  const auto it = components_.find(component);
  if (it == components_.end()) return;
  desired_.clear();
  reconcile(it->second.fingerprints, desired_, now, out);
  components_.erase(it);
}

void Deriver::readiness(core::Status status, const readiness::GateDecision& gate,
                        core::TimePoint now, std::vector<core::AlertRef>& out) {
  if (readiness_status_ == status && readiness_gate_ == gate) return;
  derive_readiness(status, gate, desired_);
  reconcile(readiness_fingerprints_, desired_, now, out);
  readiness_status_ = status;
  readiness_gate_ = gate;
}

std::vector<std::string> Deriver::components() const {
  std::vector<std::string> out;
  for (const auto& [name, state] : components_) {
    if (!state.fingerprints.empty()) out.push_back(name);
  }
  return out;
}

std::size_t Deriver::restore(std::vector<core::Alert> firing) {
  std::size_t taken = 0;
  for (core::Alert& a : firing) {
    if (a.ends_at != kFiring) continue;
    const auto name = a.labels.find("alertname");
    if (name == a.labels.end()) continue;
    std::vector<std::string>* owned = nullptr;
    if (name->second == kReadinessNotOkAlert || name->second == kGateAlert) {
      owned = &readiness_fingerprints_;
      readiness_status_.reset();
    } else if (is_component_alert(name->second)) {
      const auto component = a.labels.find("component");
      if (component == a.labels.end() || component->second.empty()) continue;
      auto it = components_.find(component->second);
      if (it == components_.end()) {
        it = components_.emplace(component->second, ComponentState{}).first;
      }
      it->second.inputs_known = false;
      owned = &it->second.fingerprints;
    } else {
      continue;
    }
    core::assign_fingerprint(a);
    if (active_.contains(a.fingerprint)) continue;
    insert_sorted(*owned, a.fingerprint);
    auto shared = std::make_shared<core::Alert>(std::move(a));
    active_.try_emplace(shared->fingerprint, shared);
    ++taken;
  }
  return taken;
}

}  // namespace opsready::alerting
