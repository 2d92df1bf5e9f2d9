#include "opsready/alerting/record.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <utility>

#include "opsready/core/time.h"

namespace opsready::alerting {
namespace {

using nlohmann::json;

constexpr std::array<std::pair<RecordKind, std::string_view>, 9> kKindNames = {{
    {RecordKind::kOpened, "opened"},
    {RecordKind::kNotified, "notified"},
    {RecordKind::kHeld, "held"},
    {RecordKind::kAcked, "acked"},
    {RecordKind::kUnacked, "unacked"},
    {RecordKind::kAckExpired, "ack_expired"},
    {RecordKind::kAckCleared, "ack_cleared"},
    {RecordKind::kEscalated, "escalated"},
    {RecordKind::kResolved, "resolved"},
}};

// Null counts as absent.
const json* member(const json& object, const char* key) {
  const auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

core::Result<std::string> string_field(const json& object, const char* key, bool required) {
  const json* v = member(object, key);
  if (v == nullptr) {
    if (!required) return std::string();
    return core::fail("record_missing_field", "required field is missing", key);
  }
  if (!v->is_string()) return core::fail("record_wrong_type", "must be a string", key);
  return v->get<std::string>();
}

json time_or_null(const std::optional<core::TimePoint>& t) {
  return t ? json(core::format_rfc3339(*t)) : json(nullptr);
}

json seconds_or_null(const std::optional<core::Duration>& d) {
  return d ? json(rounded_seconds(*d)) : json(nullptr);
}

json minutes_or_null(const std::optional<core::Duration>& d) {
  return d ? json(rounded_minutes(*d)) : json(nullptr);
}

json readable_or_null(const std::optional<core::Duration>& d) {
  return d ? json(readable(*d)) : json(nullptr);
}

json stat_json(core::Duration d) {
  return {
      {"seconds", rounded_seconds(d)}, {"minutes", rounded_minutes(d)}, {"readable", readable(d)}};
}

json stats_json(const DurationStats& s) {
  if (s.count == 0) {
    return {{"count", 0}, {"mean", nullptr}, {"p50", nullptr}, {"p95", nullptr}, {"max", nullptr}};
  }
  return {{"count", s.count},
          {"mean", stat_json(s.mean)},
          {"p50", stat_json(s.p50)},
          {"p95", stat_json(s.p95)},
          {"max", stat_json(s.max)}};
}

// The ceil(percent·n/100)-th smallest of `sorted` (not empty).
core::Duration nearest_rank(const std::vector<core::Duration>& sorted, std::size_t percent) {
  const std::size_t rank = (percent * sorted.size() + 99) / 100;
  return sorted[rank == 0 ? 0 : rank - 1];
}

}  // namespace

std::string_view to_string(RecordKind kind) {
  for (const auto& [k, name] : kKindNames) {
    if (k == kind) return name;
  }
  return "unknown";
}

std::optional<RecordKind> record_kind_from_string(std::string_view text) {
  for (const auto& [k, name] : kKindNames) {
    if (name == text) return k;
  }
  return std::nullopt;
}

json to_json(const Record& r) {
  return {{"kind", to_string(r.kind)},
          {"group", r.group},
          {"receiver", r.receiver},
          {"at", core::format_rfc3339(r.at)},
          {"by", r.by},
          {"detail", r.detail},
          {"channel", r.channel},
          {"sequence", r.sequence}};
}

core::Result<Record> record_from_json(const json& j) {
  if (!j.is_object()) return core::fail("record_wrong_type", "a record must be a JSON object");
  Record r;
  auto kind = string_field(j, "kind", true);
  if (!kind) return std::unexpected(kind.error());
  const auto parsed_kind = record_kind_from_string(*kind);
  if (!parsed_kind) {
    return core::fail("record_unknown_kind", "unknown record kind \"" + *kind + "\"", "kind");
  }
  r.kind = *parsed_kind;
  auto group = string_field(j, "group", true);
  if (!group) return std::unexpected(group.error());
  r.group = std::move(*group);
  auto receiver = string_field(j, "receiver", false);
  if (!receiver) return std::unexpected(receiver.error());
  r.receiver = std::move(*receiver);
  auto at_text = string_field(j, "at", true);
  if (!at_text) return std::unexpected(at_text.error());
  auto at = core::parse_rfc3339(*at_text);
  if (!at) return core::fail("record_invalid_timestamp", at.error().message, "at");
  r.at = *at;
  auto by = string_field(j, "by", false);
  if (!by) return std::unexpected(by.error());
  r.by = std::move(*by);
  auto detail = string_field(j, "detail", false);
  if (!detail) return std::unexpected(detail.error());
  r.detail = std::move(*detail);
  auto channel = string_field(j, "channel", false);
  if (!channel) return std::unexpected(channel.error());
  r.channel = std::move(*channel);
  const json* sequence = member(j, "sequence");
  if (sequence == nullptr) {
    return core::fail("record_missing_field", "required field is missing", "sequence");
  }
  if (!sequence->is_number_unsigned()) {
    return core::fail("record_wrong_type", "must be a non-negative integer", "sequence");
  }
  r.sequence = sequence->get<std::uint64_t>();
  return r;
}

std::optional<core::Duration> Incident::mtta() const {
  if (!acknowledged_at) return std::nullopt;
  return *acknowledged_at - opened_at;
}

std::optional<core::Duration> Incident::mttr() const {
  if (!resolved_at) return std::nullopt;
  return *resolved_at - opened_at;
}

std::vector<Incident> incidents(std::span<const Record> records) {
  std::vector<Incident> out;
  std::map<std::string_view, std::size_t> open;  // group -> index into out; views into records
  for (const Record& r : records) {
    if (r.kind == RecordKind::kOpened) {
      open[r.group] = out.size();
      out.push_back(
          Incident{.id = r.sequence, .group = r.group, .receiver = r.receiver, .opened_at = r.at});
      continue;
    }
    const auto it = open.find(r.group);
    if (it == open.end()) continue;
    Incident& incident = out[it->second];
    switch (r.kind) {
      case RecordKind::kAcked:
        if (!incident.acknowledged_at) {
          incident.acknowledged_at = r.at;
          incident.acknowledged_by = r.by;
          incident.acknowledged_via = r.channel;
        }
        break;
      case RecordKind::kEscalated:
        ++incident.escalations;
        break;
      case RecordKind::kResolved:
        incident.resolved_at = r.at;
        open.erase(it);
        break;
      default:
        break;
    }
  }
  return out;
}

DurationStats duration_stats(std::vector<core::Duration> samples) {
  DurationStats s;
  if (samples.empty()) return s;
  std::ranges::sort(samples);
  const auto n = static_cast<core::Duration::rep>(samples.size());
  // Quotients and remainders apart, so that the sum of many long durations cannot overflow.
  core::Duration::rep quotient = 0;
  core::Duration::rep remainder = 0;
  for (const core::Duration d : samples) {
    quotient += d.count() / n;
    remainder += d.count() % n;
  }
  s.count = samples.size();
  s.mean = core::Duration(quotient + remainder / n);
  s.p50 = nearest_rank(samples, 50);
  s.p95 = nearest_rank(samples, 95);
  s.max = samples.back();
  return s;
}

ResponseSummary summarise(std::span<const Incident> incidents) {
  ResponseSummary s;
  std::vector<core::Duration> mtta;
  std::vector<core::Duration> mttr;
  for (const Incident& i : incidents) {
    ++s.incidents;
    if (const auto d = i.mtta()) {
      ++s.acknowledged;
      mtta.push_back(*d);
    }
    if (const auto d = i.mttr()) {
      ++s.resolved;
      mttr.push_back(*d);
    }
    if (i.escalations > 0) ++s.escalated;
  }
  s.open = s.incidents - s.resolved;
  s.unacknowledged = s.incidents - s.acknowledged;
  s.mtta = duration_stats(std::move(mtta));
  s.mttr = duration_stats(std::move(mttr));
  return s;
}

std::int64_t rounded_seconds(core::Duration d) {
  constexpr core::Duration::rep kSecond = 1'000'000'000;
  core::Duration::rep whole = d.count() / kSecond;
  core::Duration::rep rest = d.count() % kSecond;
  if (rest < 0) {  // floor, so that rest is in [0, 1s)
    rest += kSecond;
    --whole;
  }
  if (2 * rest > kSecond || (2 * rest == kSecond && whole % 2 != 0)) ++whole;
  return whole;
}

double rounded_minutes(core::Duration d) {
  return std::round(core::to_seconds(d) / 60.0 * 100.0) / 100.0;
}

std::string readable(core::Duration d) {
  const std::int64_t s = std::max<std::int64_t>(0, rounded_seconds(d));
  std::array<char, 32> buf{};
  std::snprintf(buf.data(), buf.size(), "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                static_cast<long long>(s % 3600 / 60), static_cast<long long>(s % 60));
  return buf.data();
}

json to_json(const Incident& i) {
  return {{"id", std::to_string(i.id)},
          {"group", i.group},
          {"receiver", i.receiver},
          {"opened_at", core::format_rfc3339(i.opened_at)},
          {"acknowledged_at", time_or_null(i.acknowledged_at)},
          {"acknowledged_by", i.acknowledged_by},
          {"acknowledged_via", i.acknowledged_via},
          {"resolved_at", time_or_null(i.resolved_at)},
          {"escalations", i.escalations},
          {"mtta_seconds", seconds_or_null(i.mtta())},
          {"mtta_minutes", minutes_or_null(i.mtta())},
          {"mtta_readable", readable_or_null(i.mtta())},
          {"mttr_seconds", seconds_or_null(i.mttr())},
          {"mttr_minutes", minutes_or_null(i.mttr())},
          {"mttr_readable", readable_or_null(i.mttr())}};
}

json to_json(const ResponseSummary& s) {
  return {{"incidents", s.incidents},
          {"resolved", s.resolved},
          {"open", s.open},
          {"acknowledged", s.acknowledged},
          {"unacknowledged", s.unacknowledged},
          {"escalated", s.escalated},
          {"mtta", stats_json(s.mtta)},
          {"mttr", stats_json(s.mttr)}};
}

}  // namespace opsready::alerting
