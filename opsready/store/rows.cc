#include "opsready/store/rows.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include <nlohmann/json.hpp>

#include "opsready/core/snapshot.h"

namespace opsready::store::rows {

std::int64_t day_of(core::TimePoint t) {
  const std::int64_t ns = to_ns(t);
  return ns >= 0 ? ns / kNsPerDay : -((-ns + kNsPerDay - 1) / kNsPerDay);
}

core::Status status_of_rank(std::int64_t r) {
  return r >= 2 ? core::Status::kFail : r == 1 ? core::Status::kWarn : core::Status::kOk;
}

std::int64_t to_limit(std::size_t limit) {
  return static_cast<std::int64_t>(
      std::min<std::size_t>(limit, std::numeric_limits<std::int64_t>::max()));
}

void carry_days(std::vector<ComponentDay>& out, std::int64_t first) {
  for (std::size_t i = out.size(); i-- > 1;) {
    const ComponentDay& prev = out[i - 1];
    ComponentDay& d = out[i];
    if (prev.component == d.component && d.day - prev.day == std::chrono::days(1) &&
        d.first_at > d.day) {
      d.worst = core::escalate(d.worst, prev.last);
    }
  }
  std::erase_if(out, [first](const ComponentDay& d) { return day_of(d.day) < first; });
}

core::Result<BucketPlan> plan_buckets(core::TimePoint since, core::TimePoint until,
                                      core::Duration bucket) {
  if (bucket <= core::Duration::zero() || until <= since) {
    return core::fail("invalid_argument",
                      "component buckets need a bucket longer than zero and until after since");
  }
  // Offsets times 4 must fit in 64 bits (the last status of a bucket is found as the largest
  // offset * 4 + rank): at most 36 years.
  if (until - since >= core::Duration(std::int64_t{1} << 60)) {
    return core::fail("invalid_argument", "component buckets: the range is out of bounds");
  }
  BucketPlan p;
  p.width = bucket.count();
  const std::int64_t span = to_ns(until) - to_ns(since);
  p.count = span / p.width + (span % p.width != 0 ? 1 : 0);
  if (p.count > kMaxBuckets) {
    return core::fail("invalid_argument", "component buckets: " + std::to_string(p.count) +
                                              " buckets asked for, at most " +
                                              std::to_string(kMaxBuckets));
  }
  p.from_day = day_of(since) - kCarryLookbackDays;
  p.to_day = day_of(until);
  p.by_quarter =
      to_ns(since) >= 0 && to_ns(since) % kNsPerQuarter == 0 && p.width % kNsPerQuarter == 0;
  p.since_quarter = to_ns(since) / kNsPerQuarter;
  p.until_quarter = to_ns(until) / kNsPerQuarter;
  return p;
}

std::vector<ComponentBucket> walk_buckets(
    const std::vector<std::pair<std::string, int>>& carried,
    const std::vector<std::pair<std::string, BucketRow>>& rows, core::TimePoint since,
    core::Duration bucket, std::int64_t count) {
  // Both lists are sorted by component (the same set); walk them together.
  std::vector<ComponentBucket> out;
  std::size_t r = 0;
  for (const auto& [component, carry_in] : carried) {
    int state = carry_in;
    std::int64_t next = 0;  // the next bucket index to emit
    const auto emit_carried_until = [&](std::int64_t end) {
      if (state >= 0) {
        for (; next < end; ++next) {
          out.push_back({.component = component,
                         .start = since + bucket * next,
                         .worst = status_of_rank(state)});
        }
      }
      next = end;
    };
    for (; r < rows.size() && rows[r].first == component; ++r) {
      const BucketRow& row = rows[r].second;
      emit_carried_until(row.index);
      out.push_back({.component = component,
                     .start = since + bucket * row.index,
                     .worst = status_of_rank(std::max(row.worst, state))});
      state = row.last;
      next = row.index + 1;
    }
    emit_carried_until(count);
  }
  return out;
}

std::string labels_to_text(const core::LabelSet& set) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : set) j[k] = v;
  // replace: callers validate UTF-8, but a stray byte must not lose the whole batch.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool labels_from_text(const std::string& text, core::LabelSet& out) {
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return false;
  for (const auto& [k, v] : j.items()) {
    if (!v.is_string()) return false;
    out.emplace(k, v.get<std::string>());
  }
  return true;
}

core::Result<std::string> component_json(const core::ComponentSnapshot& s) {
  // Refused here rather than stored: component_snapshot_from_json would reject the row when
  // it is read back, turning one bad write into an unreadable history.
  if (!core::is_valid_component_name(s.component)) {
    return core::fail("invalid_component_name",
                      "'" + s.component + "' is not a component name ([a-z0-9_.-]+, at most 128)",
                      "component");
  }
  // replace: a stray non-UTF-8 byte in a summary becomes U+FFFD instead of losing the whole
  // snapshot (dump() would otherwise throw).
  return core::to_json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

core::Result<core::ComponentSnapshot> parse_component(const std::string& text,
                                                      const std::string& where) {
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return core::fail("store_corrupt",
                      "a component snapshot row in " + where + " holds invalid JSON");
  }
  auto s = core::component_snapshot_from_json(j, core::TimePoint{});
  if (!s) {
    return core::fail("store_corrupt", "a component snapshot row in " + where +
                                           " does not parse: " + s.error().describe());
  }
  return s;
}

}  // namespace opsready::store::rows

namespace opsready::store {

std::string_view to_string(OutboxState s) {
  switch (s) {
    case OutboxState::kPending:
      return "pending";
    case OutboxState::kSent:
      return "sent";
    case OutboxState::kFailed:
      return "failed";
  }
  return "pending";
}

std::optional<OutboxState> parse_outbox_state(std::string_view s) {
  if (s == "pending") return OutboxState::kPending;
  if (s == "sent") return OutboxState::kSent;
  if (s == "failed") return OutboxState::kFailed;
  return std::nullopt;
}

}  // namespace opsready::store
