#pragma once
// What both store implementations (sqlite_store.cc, postgres_store.cc) do alike with the rows
// they read: time and day arithmetic, the daily roll-up's carry, the history strips' bucket
// walk, label sets as JSON text. Internal to store/: not part of the Store interface.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "opsready/core/alert.h"
#include "opsready/core/clock.h"
#include "opsready/core/error.h"
#include "opsready/core/status.h"
#include "opsready/store/store.h"

namespace opsready::store::rows {

inline constexpr std::int64_t kNsPerDay = 86'400'000'000'000;
// The quarter-hour roll-up's width (the migrations spell it out: 900000000000).
inline constexpr std::int64_t kNsPerQuarter = 900'000'000'000;
// component_buckets' components: those with a roll-up row this many days before `since` or
// later (the default history retention: older snapshots, which a carry would come from, are
// pruned anyway).
inline constexpr std::int64_t kCarryLookbackDays = 14;
inline constexpr std::int64_t kMaxBuckets = 100'000;

[[nodiscard]] inline std::int64_t to_ns(core::TimePoint t) { return t.time_since_epoch().count(); }
[[nodiscard]] inline core::TimePoint from_ns(std::int64_t ns) {
  return core::TimePoint(core::Duration(ns));
}
// The UTC day of `t`, as days since 1970-01-01 (floor, also before 1970).
[[nodiscard]] std::int64_t day_of(core::TimePoint t);
[[nodiscard]] core::Status status_of_rank(std::int64_t r);
// LIMIT takes a signed 64-bit value; a size_t beyond it means "no limit" in practice.
[[nodiscard]] std::int64_t to_limit(std::size_t limit);

// Days as read (by component then day, from the day before `first_day`): the day after a day
// with a row began with that day's last status, until its own first snapshot (unless that came
// at midnight itself). Drops the days before `first_day` afterwards.
void carry_days(std::vector<ComponentDay>& days, std::int64_t first_day);

// What component_buckets reads, once its arguments are checked.
struct BucketPlan {
  std::int64_t width = 0;  // ns
  std::int64_t count = 0;  // buckets in [since, until)
  std::int64_t from_day = 0;
  std::int64_t to_day = 0;
  // Whole quarters can be read from the quarter-hour roll-up (since on a quarter hour, the
  // bucket a whole number of quarters).
  bool by_quarter = false;
  std::int64_t since_quarter = 0;
  std::int64_t until_quarter = 0;  // the quarter `until` falls in
};
// invalid_argument unless bucket > 0, until > since and the range holds at most kMaxBuckets.
[[nodiscard]] core::Result<BucketPlan> plan_buckets(core::TimePoint since, core::TimePoint until,
                                                    core::Duration bucket);

// One bucket with snapshots, as read: its index, worst rank and the rank of its last snapshot.
struct BucketRow {
  std::int64_t index = 0;
  int worst = 0;
  int last = 0;
};
// `carried`: every component with the rank it had when the range began (-1: unknown), sorted
// by component; `rows`: the buckets with snapshots, by component then index. Fills in the
// buckets in between with the status carried into them.
[[nodiscard]] std::vector<ComponentBucket> walk_buckets(
    const std::vector<std::pair<std::string, int>>& carried,
    const std::vector<std::pair<std::string, BucketRow>>& rows, core::TimePoint since,
    core::Duration bucket, std::int64_t count);

// Label sets (labels, annotations) as a JSON object's text, and back (false: not an object of
// strings).
[[nodiscard]] std::string labels_to_text(const core::LabelSet& set);
[[nodiscard]] bool labels_from_text(const std::string& text, core::LabelSet& out);

// A component snapshot as stored (its JSON; a stray non-UTF-8 byte becomes U+FFFD), and back.
// `where` names the store in errors.
[[nodiscard]] core::Result<std::string> component_json(const core::ComponentSnapshot& s);
[[nodiscard]] core::Result<core::ComponentSnapshot> parse_component(const std::string& text,
                                                                    const std::string& where);

}  // namespace opsready::store::rows
