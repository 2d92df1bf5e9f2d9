#pragma once
// Silence: Alertmanager's silences. A silence mutes every alert its matchers select while it is
// active; Silences is the set of them that the evaluation strand owns, with Alertmanager's
// create-or-update rules, expiry, queries, garbage collection and an audit trail of every change.
//
//   Silences silences(uuid_v4_generator(seed));
//   core::Result<Silence> posted = silence_from_json(body, clock.now());  // POST /api/v2/silences
//   if (!posted) return bad_request(posted.error().describe());          // "endsAt: must be ..."
//   core::Result<std::string> id = silences.set(*posted, clock.now());   // new or same id
//   std::vector<std::string> by = silences.mutes(alert.labels, clock.now());  // active, sorted
//   for (SilenceChange& c : silences.take_changes()) store.append(c);    // create/update/expire
//   silences.gc(clock.now(), kDefaultSilenceRetention);
//
// Semantics are Alertmanager's (silence/silence.go, api/v2) as of 0.25:
//  - validation: at least one matcher; matcher names are Prometheus label names
//    ([a-zA-Z_][a-zA-Z0-9_]*, stricter than the matcher parser, which allows `:`); not every
//    matcher may match the empty string (an `=` with an empty value, or a regex matching "";
//    `!=` and `!~` never count as matching it, as in Alertmanager); endsAt after startsAt;
//    createdBy and comment not empty (the API schema requires both);
//  - set(): a silence with an id that is not known is refused (`silence_not_found`); one whose
//    id is known is updated in place when can_update() allows it (same matchers in the same
//    order; a pending one keeps startsAt not before now; an active one keeps startsAt to the
//    second and endsAt not before now); otherwise the old one is expired (unless it already
//    is: an expired silence is never changed) and the posted one is created with a fresh id.
//    A created silence whose startsAt lies in the past starts now;
//  - expire(): an active silence ends now, a pending one starts and ends now.
// Where opsready differs, and why:
//  - states are half-open: active in [startsAt, endsAt), expired from endsAt on. Alertmanager
//    counts endsAt itself as active, so that a silence expired "now" stays active until the
//    clock moves; on manual time that would make expire() a no-op at the instant it is called;
//  - set() validates before it expires anything: Alertmanager 0.25 expires the old silence
//    and then refuses the invalid replacement, losing both (fixed in later releases);
//  - expiring an expired silence is an error (`silence_already_expired`); Alertmanager answers
//    success, so the HTTP layer can map this code to 200 for amtool's sake.
//
// Cost: mutes() looks silences up by one of their `=` matchers with a non-empty value (an alert
// can only match that silence when it carries that exact label), so it costs O(L + (C + U) * M)
// for an alert with L labels, C silences indexed under one of its (name, value) pairs, U
// silences that have no such matcher (only regex, `!=`, `!~` or empty `=` ones, scanned every
// time) and M matchers per silence. Expired silences leave the index on expire() and on gc();
// one that expired by the clock is skipped until the next gc(). set() and expire() cost
// O(log N) plus the size of the silence's index bucket; query() and gc() scan all N.
//
// Single owner: not thread-safe; it belongs to the evaluation strand, which calls every method,
// in time order: `now` must not go backwards between calls, since a silence that expire() or
// gc() found expired leaves the mutes() index for good.
// Pointers that get() and query() return stay valid until the next call of a non-const method.
// Movable, not copyable (the index points into the silences it owns).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsready/alerting/matcher.h"
#include "opsready/core/alert.h"
#include "opsready/core/clock.h"
#include "opsready/core/error.h"

namespace opsready::alerting {

// Alertmanager's `--data.retention` default: expired silences are kept this long for queries.
inline constexpr core::Duration kDefaultSilenceRetention = std::chrono::hours(120);

enum class SilenceState { kPending, kActive, kExpired };

// "pending", "active", "expired" (the API's silenceStatus.state).
[[nodiscard]] std::string_view to_string(SilenceState state);

struct Silence {
  std::string id;     // set by Silences::set(); empty in a silence posted for creation
  Matchers matchers;  // all must hold (AND), in the order posted
  core::TimePoint starts_at{};
  core::TimePoint ends_at{};
  core::TimePoint updated_at{};  // set by Silences on every change
  std::string created_by;
  std::string comment;

  bool operator==(const Silence&) const = default;

  // kPending before starts_at, kActive in [starts_at, ends_at), kExpired from ends_at.
  [[nodiscard]] SilenceState state(core::TimePoint now) const;
};

// The validation rules above. Errors, with the field: `silence_no_matchers` (matchers),
// `silence_invalid_matcher_name` (matchers[i].name), `silence_matches_everything` (matchers),
// `silence_invalid_time_range` (endsAt), `silence_missing_created_by` (createdBy),
// `silence_missing_comment` (comment).
[[nodiscard]] core::Result<void> validate_silence(const Silence& s);

// Alertmanager's canUpdate: whether `next` may replace `current` (same id) in place without
// rewriting what was muted in the past. Only matchers and times are compared.
[[nodiscard]] bool can_update(const Silence& current, const Silence& next, core::TimePoint now);

// A postableSilence of API v2: {"id"?, "matchers": [{"name", "value", "isRegex", "isEqual"?}],
// "startsAt", "endsAt", "createdBy", "comment"}, with isEqual true when absent; other keys are
// ignored (so a gettableSilence reads back too, minus its status and updatedAt). The result is
// validated (validate_silence) and, as the API does, refused when endsAt is before `now`.
// Errors name the field: `silence_wrong_type` ("matchers[1].isRegex": "must be a boolean"),
// `silence_missing_field`, `silence_invalid_timestamp` (parse_rfc3339's reason), the matcher's
// own code for matchers[i].name / matchers[i].value (e.g. `matcher_bad_regex`),
// `silence_ends_in_past` (endsAt), and validate_silence's.
[[nodiscard]] core::Result<Silence> silence_from_json(const nlohmann::json& j, core::TimePoint now);

// A gettableSilence: {"id", "status": {"state"}, "updatedAt", "matchers": [{"name", "value",
// "isRegex", "isEqual"}], "startsAt", "endsAt", "createdBy", "comment"}, state as of `now`.
[[nodiscard]] nlohmann::json to_json(const Silence& s, core::TimePoint now);

// One change to the set, for the audit log and for persistence: replaying the `after` values in
// order through Silences::restore() rebuilds the set.
struct SilenceChange {
  std::string id;
  std::string action;  // "create", "update" or "expire"
  core::TimePoint at{};
  std::string by;  // the silence's createdBy
  Silence after;   // the silence as stored after the change

  bool operator==(const SilenceChange&) const = default;
};

// Makes the id of each new silence; called until it returns one that is not taken.
using SilenceIdGenerator = std::function<std::string()>;

// Random (version 4) UUIDs, as Alertmanager's ids are, drawn from a generator seeded with
// `seed`: the same seed gives the same ids (tests, replays); the daemon seeds it at random.
[[nodiscard]] SilenceIdGenerator uuid_v4_generator(std::uint64_t seed);

class Silences {
 public:
  explicit Silences(SilenceIdGenerator next_id);

  Silences(Silences&&) = default;
  Silences& operator=(Silences&&) = default;
  Silences(const Silences&) = delete;
  Silences& operator=(const Silences&) = delete;

  // Creates or updates (see the overview); returns the id the silence is stored under, which
  // differs from s.id when a new silence replaced the posted one. Errors: validate_silence's,
  // `silence_not_found` (id), `silence_ends_in_past` (endsAt: a created silence must end after
  // now), `silence_id_exhausted` (the generator kept returning ids in use). A refused silence
  // changes nothing.
  [[nodiscard]] core::Result<std::string> set(Silence s, core::TimePoint now);

  // Ends the silence now. Errors: `silence_not_found`, `silence_already_expired` (field id).
  [[nodiscard]] core::Result<void> expire(std::string_view id, core::TimePoint now);

  // Puts a persisted silence back as it was (same id, times and updatedAt), recording no
  // change; for loading the store at start-up. Checks what validate_silence checks, except
  // that endsAt may equal startsAt (a pending silence that was expired).
  [[nodiscard]] core::Result<void> restore(Silence s);

  // nullptr when unknown.
  [[nodiscard]] const Silence* get(std::string_view id) const;

  // The silences in `state` (all when std::nullopt) that carry every matcher of `filter`
  // (same name, operator and value, as GET /api/v2/silences?filter= selects them; an empty
  // filter selects all), in the API's order: active by endsAt, then pending by startsAt, then
  // expired by endsAt latest first, ties by id.
  [[nodiscard]] std::vector<const Silence*> query(std::optional<SilenceState> state,
                                                  const Matchers& filter,
                                                  core::TimePoint now) const;

  // Ids of the active silences whose matchers `labels` satisfies, sorted; empty: not muted.
  [[nodiscard]] std::vector<std::string> mutes(const core::LabelSet& labels,
                                               core::TimePoint now) const;

  // Drops the silences whose endsAt is at least `retention` before `now` and takes every
  // expired silence out of the mutes() index. Returns how many were dropped.
  std::size_t gc(core::TimePoint now, core::Duration retention);

  // The changes since the last call, oldest first.
  [[nodiscard]] std::vector<SilenceChange> take_changes();

  [[nodiscard]] std::size_t size() const { return silences_.size(); }
  [[nodiscard]] std::size_t count(SilenceState state, core::TimePoint now) const;

 private:
  struct Entry {
    Silence silence;
    bool indexed = false;  // in by_equal_ or unindexed_
  };

  void index(Entry& e);
  void unindex(Entry& e);
  // expire() without the checks: `e` is pending or active.
  void expire_now(Entry& e, core::TimePoint now);
  void record(std::string action, const Silence& s, core::TimePoint at);

  SilenceIdGenerator next_id_;
  std::map<std::string, Entry, std::less<>> silences_;  // by id; nodes never move
  // Label name -> label value -> silences with a matcher `name="value"` (their first such).
  std::unordered_map<std::string, std::unordered_map<std::string, std::vector<const Silence*>>>
      by_equal_;
  std::vector<const Silence*> unindexed_;  // not expired by expire()/gc(), no such matcher
  std::vector<SilenceChange> changes_;
};

}  // namespace opsready::alerting
