#include "opsready/alerting/incident.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "opsready/core/text.h"
#include "opsready/core/time.h"

namespace opsready::alerting {
namespace {

using nlohmann::json;

// "slack/0" -> "slack".
std::string integration_type(std::string_view integration) {
  return std::string(integration.substr(0, integration.find('/')));
}

std::string rfc3339_seconds(core::TimePoint t) {
  return core::format_rfc3339(std::chrono::floor<std::chrono::seconds>(t));
}

TimelineEvent from_record(const Record& r) {
  return TimelineEvent{.type = std::string(to_string(r.kind)),
                       .at = r.at,
                       .receiver = r.receiver,
                       .by = r.by,
                       .channel = r.channel,
                       .detail = r.detail};
}

TimelineEvent from_row(const store::OutboxRow& row) {
  TimelineEvent e{.receiver = row.receiver,
                  .integration = row.integration,
                  .channel = integration_type(row.integration),
                  .attempts = row.attempts};
  switch (row.state) {
    case store::OutboxState::kSent:
      e.type = "delivered";
      e.at = row.done_at.value_or(row.decided_at);
      e.detail = row.reason;
      break;
    case store::OutboxState::kFailed:
      e.type = "delivery_failed";
      e.at = row.done_at.value_or(row.decided_at);
      e.detail = row.reason + (row.last_error.empty() ? "" : ": " + row.last_error);
      break;
    case store::OutboxState::kPending:
      e.type = "delivery_pending";
      e.at = row.decided_at;
      e.detail = row.reason + (row.last_error.empty() ? "" : ": " + row.last_error);
      break;
  }
  return e;
}

bool within(const Incident& i, core::TimePoint t) {
  return t >= i.opened_at && (!i.resolved_at || t <= *i.resolved_at);
}

// A Markdown table cell; "—" for nothing.
std::string cell(std::string_view s) { return s.empty() ? "—" : core::markdown_inline(s); }

std::string response(const std::optional<core::Duration>& d) {
  if (!d) return "n/a";
  return readable(*d) + " (" + std::to_string(rounded_seconds(*d)) + " s)";
}

}  // namespace

std::vector<IncidentTimeline> timelines(std::span<const Record> records,
                                        std::span<const store::OutboxRow> outbox) {
  std::vector<IncidentTimeline> out;
  for (Incident& i : incidents(records)) out.push_back(IncidentTimeline{.incident = std::move(i)});
  // Each incident's index by group, in the order they opened.
  std::map<std::string_view, std::vector<std::size_t>> by_group;
  for (std::size_t n = 0; n < out.size(); ++n) by_group[out[n].incident.group].push_back(n);
  // The incident of `group` open at `t`: the latest one opened at or before t that covers it.
  const auto owner = [&](std::string_view group, core::TimePoint t) -> IncidentTimeline* {
    const auto it = by_group.find(group);
    if (it == by_group.end()) return nullptr;
    for (auto n = it->second.rbegin(); n != it->second.rend(); ++n) {
      if (within(out[*n].incident, t)) return &out[*n];
    }
    return nullptr;
  };
  for (const Record& r : records) {
    if (IncidentTimeline* t = owner(r.group, r.at)) {
      // A kOpened belongs to the incident it opens, not to an unresolved one before it.
      if (r.kind == RecordKind::kOpened && t->incident.id != r.sequence) continue;
      t->events.push_back(from_record(r));
    }
  }
  std::vector<std::size_t> record_counts(out.size());
  for (std::size_t n = 0; n < out.size(); ++n) record_counts[n] = out[n].events.size();
  for (const store::OutboxRow& row : outbox) {
    IncidentTimeline* t = owner(row.group_key, row.decided_at);
    if (t == nullptr) continue;
    if (t->group_id.empty()) t->group_id = row.group_id;
    if (row.state == store::OutboxState::kSent && row.done_at) {
      auto [it, inserted] = t->first_notified.try_emplace(row.receiver, *row.done_at);
      if (!inserted) it->second = std::min(it->second, *row.done_at);
    }
    if (row.state == store::OutboxState::kFailed) ++t->deliveries_failed;
    t->events.push_back(from_row(row));
  }
  for (std::size_t n = 0; n < out.size(); ++n) {
    auto& events = out[n].events;
    // Records first, in the order made; deliveries after them by time (stable).
    const auto deliveries = events.begin() + static_cast<std::ptrdiff_t>(record_counts[n]);
    std::stable_sort(deliveries, events.end(), [](const TimelineEvent& a, const TimelineEvent& b) {
      if (a.at != b.at) return a.at < b.at;
      return a.integration < b.integration;
    });
    std::inplace_merge(events.begin(), deliveries, events.end(),
                       [](const TimelineEvent& a, const TimelineEvent& b) { return a.at < b.at; });
  }
  return out;
}

json to_json(const IncidentTimeline& t) {
  json j = to_json(t.incident);
  j["group_id"] = t.group_id;
  json first = json::object();
  for (const auto& [receiver, at] : t.first_notified) first[receiver] = core::format_rfc3339(at);
  j["first_notified"] = std::move(first);
  j["deliveries_failed"] = t.deliveries_failed;
  json events = json::array();
  for (const TimelineEvent& e : t.events) {
    json ev = {{"type", e.type}, {"at", core::format_rfc3339(e.at)}};
    if (!e.receiver.empty()) ev["receiver"] = e.receiver;
    if (!e.integration.empty()) ev["integration"] = e.integration;
    if (!e.by.empty()) ev["by"] = e.by;
    if (!e.channel.empty()) ev["channel"] = e.channel;
    if (!e.detail.empty()) ev["detail"] = e.detail;
    if (!e.integration.empty()) ev["attempts"] = e.attempts;
    events.push_back(std::move(ev));
  }
  j["events"] = std::move(events);
  return j;
}

json to_drill_json(const IncidentTimeline& t, core::TimePoint now) {
  const Incident& i = t.incident;
  // The integration type of the first delivery accepted at or after `from`.
  const auto first_channel = [&t](core::TimePoint from) {
    std::string channel = "opsready";
    core::TimePoint best = core::TimePoint::max();
    for (const TimelineEvent& e : t.events) {
      if (e.type == "delivered" && e.at >= from && e.at < best) {
        best = e.at;
        channel = e.channel;
      }
    }
    return channel;
  };
  json events = json::array();
  events.push_back({{"type", "alert_opened"},
                    {"timestamp", rfc3339_seconds(i.opened_at)},
                    {"channel", first_channel(i.opened_at)},
                    {"actor", "opsready"}});
  if (i.acknowledged_at) {
    events.push_back({{"type", "alert_acknowledged"},
                      {"timestamp", rfc3339_seconds(*i.acknowledged_at)},
                      {"channel", i.acknowledged_via.empty() ? "unknown" : i.acknowledged_via},
                      {"actor", i.acknowledged_by}});
  }
  if (i.resolved_at) {
    events.push_back({{"type", "alert_resolved"},
                      {"timestamp", rfc3339_seconds(*i.resolved_at)},
                      // The resolution's own notification: the first delivery since.
                      {"channel", first_channel(*i.resolved_at)},
                      {"actor", "opsready"}});
  }
  const std::string id = std::to_string(i.id);
  return {{"incident_id", id},
          {"label", id},
          {"drill", false},
          {"generated_at", rfc3339_seconds(now)},
          {"events", std::move(events)},
          {"note", "alert group " + i.group + ", receiver " + i.receiver}};
}

std::string to_markdown(const IncidentTimeline& t) {
  const Incident& i = t.incident;
  std::string md = "# Incident " + std::to_string(i.id) + "\n\n";
  md += "- Group: `" + i.group + "`" + (t.group_id.empty() ? "" : " (id `" + t.group_id + "`)") +
        "\n";
  md += "- Receiver: " + cell(i.receiver) + "\n";
  md += "- Opened: " + core::format_rfc3339(i.opened_at) + "\n";
  md += "- Acknowledged: " +
        (i.acknowledged_at ? core::format_rfc3339(*i.acknowledged_at) + " by " +
                                 cell(i.acknowledged_by) + " via " + cell(i.acknowledged_via)
                           : std::string("not yet")) +
        "\n";
  md += "- Resolved: " +
        (i.resolved_at ? core::format_rfc3339(*i.resolved_at) : std::string("open")) + "\n";
  md += "- MTTA: " + response(i.mtta()) + "; MTTR: " + response(i.mttr()) + "\n";
  md += "- Escalations: " + std::to_string(i.escalations) +
        "; failed deliveries: " + std::to_string(t.deliveries_failed) + "\n";
  if (!t.first_notified.empty()) {
    md += "\n## First notified\n\n| receiver | accepted at | after open |\n|---|---|---|\n";
    for (const auto& [receiver, at] : t.first_notified) {
      md += "| " + cell(receiver) + " | " + core::format_rfc3339(at) + " | " +
            core::format_duration(at - i.opened_at) + " |\n";
    }
  }
  md += "\n## Timeline\n\n| at | event | receiver | integration | by | channel | detail |\n";
  md += "|---|---|---|---|---|---|---|\n";
  for (const TimelineEvent& e : t.events) {
    md += "| " + core::format_rfc3339(e.at) + " | " + e.type + " | " + cell(e.receiver) + " | " +
          cell(e.integration) + " | " + cell(e.by) + " | " + cell(e.channel) + " | " +
          cell(e.detail) + " |\n";
  }
  return md;
}

std::optional<ResponseTime> ResponseTracker::feed(const Record& r) {
  switch (r.kind) {
    case RecordKind::kOpened:
      open_.insert_or_assign(r.group, Open{.opened_at = r.at, .receiver = r.receiver});
      return std::nullopt;
    case RecordKind::kAcked: {
      const auto it = open_.find(r.group);
      if (it == open_.end() || it->second.acknowledged) return std::nullopt;
      it->second.acknowledged = true;
      return ResponseTime{.kind = ResponseTime::Kind::kAcknowledge,
                          .receiver = it->second.receiver,
                          .value = r.at - it->second.opened_at};
    }
    case RecordKind::kResolved: {
      const auto it = open_.find(r.group);
      if (it == open_.end()) return std::nullopt;
      ResponseTime rt{.kind = ResponseTime::Kind::kResolve,
                      .receiver = std::move(it->second.receiver),
                      .value = r.at - it->second.opened_at};
      open_.erase(it);
      return rt;
    }
    default:
      return std::nullopt;
  }
}

bool ResponseStats::feed(const Record& r) {
  const auto t = tracker_.feed(r);
  if (!t) return false;
  auto& list = t->kind == ResponseTime::Kind::kAcknowledge ? acks_ : resolves_;
  // Records come in the order they were made, so completion times do not go backwards.
  list.push_back(Completed{.at = r.at, .value = t->value});
  return true;
}

void ResponseStats::drop_before(core::TimePoint cutoff) {
  for (auto* list : {&acks_, &resolves_}) {
    while (!list->empty() && list->front().at <= cutoff) list->pop_front();
  }
}

ResponseStats::Summary ResponseStats::summary(core::TimePoint now) {
  drop_before(now - window_);
  const auto mean_minutes = [](const std::deque<Completed>& list) -> std::optional<double> {
    if (list.empty()) return std::nullopt;
    double total = 0;
    for (const Completed& c : list) total += core::to_seconds(c.value);
    return total / static_cast<double>(list.size()) / 60.0;
  };
  return Summary{.mtta_minutes = mean_minutes(acks_),
                 .mttr_minutes = mean_minutes(resolves_),
                 .acknowledged = acks_.size(),
                 .resolved = resolves_.size(),
                 .sample_window_days = core::to_seconds(window_) / 86400.0};
}

std::optional<core::TimePoint> ResponseStats::next_change() const {
  std::optional<core::TimePoint> first;
  for (const auto* list : {&acks_, &resolves_}) {
    if (list->empty()) continue;
    const core::TimePoint leaves = list->front().at + window_;
    if (!first || leaves < *first) first = leaves;
  }
  return first;
}

}  // namespace opsready::alerting
