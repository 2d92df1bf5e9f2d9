#include "opsready/alerting/silence.h"

#include <algorithm>
#include <random>
#include <string>
#include <tuple>
#include <utility>

#include "opsready/core/time.h"

namespace opsready::alerting {
namespace {

using nlohmann::json;

// A generator that returns taken ids this often in a row is broken, not unlucky.
constexpr int kMaxIdAttempts = 16;

std::string quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

// Alertmanager's matchesEmpty: negative matchers never count, whatever they would match.
bool matches_empty(const Matcher& m) {
  switch (m.type()) {
    case MatchType::kEqual:
      return m.value().empty();
    case MatchType::kRegex:
      return m.matches_value("");
    case MatchType::kNotEqual:
    case MatchType::kNotRegex:
      return false;
  }
  return false;
}

core::Result<void> validate(const Silence& s, bool allow_empty_range) {
  if (s.matchers.empty()) {
    return core::fail("silence_no_matchers", "at least one matcher required", "matchers");
  }
  bool all_match_empty = true;
  for (std::size_t i = 0; i < s.matchers.size(); ++i) {
    const Matcher& m = s.matchers[i];
    if (!core::is_valid_label_name(m.name())) {
      return core::fail("silence_invalid_matcher_name",
                        "invalid label name " + quote(m.name()) +
                            " (a label name matches [a-zA-Z_][a-zA-Z0-9_]*)",
                        "matchers[" + std::to_string(i) + "].name");
    }
    all_match_empty = all_match_empty && matches_empty(m);
  }
  if (all_match_empty) {
    return core::fail("silence_matches_everything",
                      "at least one matcher must not match the empty string", "matchers");
  }
  if (allow_empty_range ? s.ends_at < s.starts_at : s.ends_at <= s.starts_at) {
    return core::fail("silence_invalid_time_range",
                      allow_empty_range ? "must not be before startsAt" : "must be after startsAt",
                      "endsAt");
  }
  if (s.created_by.empty()) {
    return core::fail("silence_missing_created_by", "must not be empty", "createdBy");
  }
  if (s.comment.empty())
    return core::fail("silence_missing_comment", "must not be empty", "comment");
  return {};
}

// The matcher a silence is indexed under: its first `name="value"` with a non-empty value.
const Matcher* index_key(const Silence& s) {
  for (const Matcher& m : s.matchers) {
    if (m.type() == MatchType::kEqual && !m.value().empty()) return &m;
  }
  return nullptr;
}

// Null counts as absent, as the API's generated models read it.
const json* member(const json& object, const char* key) {
  const auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

core::Result<std::string> required_string(const json& object, const char* key,
                                          const std::string& field) {
  const json* v = member(object, key);
  if (v == nullptr) return core::fail("silence_missing_field", "required field is missing", field);
  if (!v->is_string()) return core::fail("silence_wrong_type", "must be a string", field);
  return v->get<std::string>();
}

core::Result<bool> boolean(const json& object, const char* key, const std::string& field,
                           std::optional<bool> fallback) {
  const json* v = member(object, key);
  if (v == nullptr) {
    if (fallback) return *fallback;
    return core::fail("silence_missing_field", "required field is missing", field);
  }
  if (!v->is_boolean()) return core::fail("silence_wrong_type", "must be a boolean", field);
  return v->get<bool>();
}

core::Result<core::TimePoint> required_time(const json& object, const char* key) {
  auto text = required_string(object, key, key);
  if (!text) return std::unexpected(text.error());
  auto t = core::parse_rfc3339(*text);
  if (!t) return core::fail("silence_invalid_timestamp", t.error().message, key);
  return *t;
}

core::Result<Matcher> matcher_from_json(const json& j, const std::string& field) {
  if (!j.is_object()) return core::fail("silence_wrong_type", "must be an object", field);
  auto name = required_string(j, "name", field + ".name");
  if (!name) return std::unexpected(name.error());
  auto value = required_string(j, "value", field + ".value");
  if (!value) return std::unexpected(value.error());
  auto is_regex = boolean(j, "isRegex", field + ".isRegex", std::nullopt);
  if (!is_regex) return std::unexpected(is_regex.error());
  auto is_equal = boolean(j, "isEqual", field + ".isEqual", true);
  if (!is_equal) return std::unexpected(is_equal.error());
  const MatchType type = *is_regex ? (*is_equal ? MatchType::kRegex : MatchType::kNotRegex)
                                   : (*is_equal ? MatchType::kEqual : MatchType::kNotEqual);
  auto m = Matcher::create(type, std::move(*name), std::move(*value));
  if (!m) {
    core::Error e = m.error();
    const bool about_name =
        e.code == "matcher_empty_label_name" || e.code == "matcher_invalid_label_name";
    e.field = field + (about_name ? ".name" : ".value");
    return std::unexpected(std::move(e));
  }
  return m;
}

int state_rank(SilenceState s) {
  switch (s) {
    case SilenceState::kActive:
      return 0;
    case SilenceState::kPending:
      return 1;
    case SilenceState::kExpired:
      return 2;
  }
  return 3;
}

}  // namespace

std::string_view to_string(SilenceState state) {
  switch (state) {
    case SilenceState::kPending:
      return "pending";
    case SilenceState::kActive:
      return "active";
    case SilenceState::kExpired:
      return "expired";
  }
  return "unknown";
}

SilenceState Silence::state(core::TimePoint now) const {
  if (now < starts_at) return SilenceState::kPending;
  if (now < ends_at) return SilenceState::kActive;
  return SilenceState::kExpired;
}

core::Result<void> validate_silence(const Silence& s) { return validate(s, false); }

bool can_update(const Silence& current, const Silence& next, core::TimePoint now) {
  if (current.matchers != next.matchers) return false;
  switch (current.state(now)) {
    case SilenceState::kActive: {
      // Alertmanager compares startsAt in whole Unix seconds (Go's Time.Unix floors).
      using std::chrono::floor;
      using std::chrono::seconds;
      if (floor<seconds>(current.starts_at) != floor<seconds>(next.starts_at)) return false;
      return next.ends_at >= now;
    }
    case SilenceState::kPending:
      return next.starts_at >= now;
    case SilenceState::kExpired:
      return false;
  }
  return false;
}

core::Result<Silence> silence_from_json(const json& j, core::TimePoint now) {
  if (!j.is_object()) return core::fail("silence_wrong_type", "a silence must be a JSON object");
  Silence s;
  if (const json* id = member(j, "id")) {
    if (!id->is_string()) return core::fail("silence_wrong_type", "must be a string", "id");
    s.id = id->get<std::string>();
  }
  const json* matchers = member(j, "matchers");
  if (matchers == nullptr) {
    return core::fail("silence_missing_field", "required field is missing", "matchers");
  }
  if (!matchers->is_array())
    return core::fail("silence_wrong_type", "must be an array", "matchers");
  for (std::size_t i = 0; i < matchers->size(); ++i) {
    auto m = matcher_from_json((*matchers)[i], "matchers[" + std::to_string(i) + "]");
    if (!m) return std::unexpected(m.error());
    s.matchers.push_back(std::move(*m));
  }
  auto starts_at = required_time(j, "startsAt");
  if (!starts_at) return std::unexpected(starts_at.error());
  s.starts_at = *starts_at;
  auto ends_at = required_time(j, "endsAt");
  if (!ends_at) return std::unexpected(ends_at.error());
  s.ends_at = *ends_at;
  auto created_by = required_string(j, "createdBy", "createdBy");
  if (!created_by) return std::unexpected(created_by.error());
  s.created_by = std::move(*created_by);
  auto comment = required_string(j, "comment", "comment");
  if (!comment) return std::unexpected(comment.error());
  s.comment = std::move(*comment);

  if (auto ok = validate_silence(s); !ok) return std::unexpected(ok.error());
  if (s.ends_at < now)
    return core::fail("silence_ends_in_past", "must not be in the past", "endsAt");
  return s;
}

json to_json(const Silence& s, core::TimePoint now) {
  json matchers = json::array();
  for (const Matcher& m : s.matchers) {
    const bool is_regex = m.type() == MatchType::kRegex || m.type() == MatchType::kNotRegex;
    const bool is_equal = m.type() == MatchType::kEqual || m.type() == MatchType::kRegex;
    matchers.push_back(
        {{"name", m.name()}, {"value", m.value()}, {"isRegex", is_regex}, {"isEqual", is_equal}});
  }
  return {{"id", s.id},
          {"status", {{"state", to_string(s.state(now))}}},
          {"updatedAt", core::format_rfc3339(s.updated_at)},
          {"matchers", std::move(matchers)},
          {"startsAt", core::format_rfc3339(s.starts_at)},
          {"endsAt", core::format_rfc3339(s.ends_at)},
          {"createdBy", s.created_by},
          {"comment", s.comment}};
}

SilenceIdGenerator uuid_v4_generator(std::uint64_t seed) {
  return [engine = std::mt19937_64(seed)]() mutable {
    // Big-endian: byte 6's high nibble is the version (4), byte 8's top bits the variant (10).
    const std::uint64_t hi = (engine() & ~std::uint64_t{0xF000}) | std::uint64_t{0x4000};
    const std::uint64_t lo = (engine() & ~(std::uint64_t{3} << 62)) | (std::uint64_t{2} << 62);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(36);
    for (int i = 0; i < 32; ++i) {
      if (i == 8 || i == 12 || i == 16 || i == 20) out.push_back('-');
      const std::uint64_t word = i < 16 ? hi : lo;
      out.push_back(kHex[(word >> (60 - 4 * (i % 16))) & 0xF]);
    }
    return out;
  };
}

Silences::Silences(SilenceIdGenerator next_id) : next_id_(std::move(next_id)) {}

core::Result<std::string> Silences::set(Silence s, core::TimePoint now) {
  auto prev = silences_.end();
  if (!s.id.empty()) {
    prev = silences_.find(s.id);
    if (prev == silences_.end()) {
      return core::fail("silence_not_found", "no silence with id " + quote(s.id), "id");
    }
  }
  if (auto ok = validate_silence(s); !ok) return std::unexpected(ok.error());

  if (prev != silences_.end() && can_update(prev->second.silence, s, now)) {
    // Same matchers, so the entry stays where the index has it.
    s.updated_at = now;
    prev->second.silence = std::move(s);
    record("update", prev->second.silence, now);
    return prev->first;
  }

  if (s.starts_at < now) s.starts_at = now;
  if (s.ends_at <= s.starts_at) {
    return core::fail("silence_ends_in_past", "must be after now", "endsAt");
  }
  std::string id;
  for (int attempt = 0;; ++attempt) {
    if (attempt == kMaxIdAttempts) {
      return core::fail("silence_id_exhausted", "the id generator returned only ids in use");
    }
    id = next_id_();
    if (!id.empty() && !silences_.contains(id)) break;
  }
  // The old silence keeps the history of what it muted; an expired one is left as it is.
  if (prev != silences_.end() && prev->second.silence.state(now) != SilenceState::kExpired) {
    expire_now(prev->second, now);
  }
  s.id = id;
  s.updated_at = now;
  Entry& e = silences_.emplace(id, Entry{.silence = std::move(s)}).first->second;
  index(e);
  record("create", e.silence, now);
  return id;
}

core::Result<void> Silences::expire(std::string_view id, core::TimePoint now) {
  const auto it = silences_.find(id);
  if (it == silences_.end()) {
    return core::fail("silence_not_found", "no silence with id " + quote(id), "id");
  }
  if (it->second.silence.state(now) == SilenceState::kExpired) {
    return core::fail("silence_already_expired", "silence " + quote(id) + " already expired", "id");
  }
  expire_now(it->second, now);
  return {};
}

void Silences::expire_now(Entry& e, core::TimePoint now) {
  if (e.silence.state(now) == SilenceState::kPending) e.silence.starts_at = now;
  e.silence.ends_at = now;
  e.silence.updated_at = now;
  unindex(e);
  record("expire", e.silence, now);
}

core::Result<void> Silences::restore(Silence s) {
  if (s.id.empty())
    return core::fail("silence_missing_field", "a restored silence needs an id", "id");
  if (auto ok = validate(s, true); !ok) return std::unexpected(ok.error());
  auto it = silences_.find(s.id);
  if (it == silences_.end()) {
    it = silences_.emplace(s.id, Entry{}).first;
  } else {
    unindex(it->second);
  }
  it->second.silence = std::move(s);
  index(it->second);
  return {};
}

const Silence* Silences::get(std::string_view id) const {
  const auto it = silences_.find(id);
  return it == silences_.end() ? nullptr : &it->second.silence;
}

std::vector<const Silence*> Silences::query(std::optional<SilenceState> state,
                                            const Matchers& filter, core::TimePoint now) const {
  std::vector<const Silence*> out;
  for (const auto& [id, e] : silences_) {
    if (state && e.silence.state(now) != *state) continue;
    const bool carries_filter = std::ranges::all_of(filter, [&](const Matcher& f) {
      return std::ranges::find(e.silence.matchers, f) != e.silence.matchers.end();
    });
    if (carries_filter) out.push_back(&e.silence);
  }
  std::ranges::sort(out, [now](const Silence* a, const Silence* b) {
    const SilenceState sa = a->state(now);
    const SilenceState sb = b->state(now);
    if (sa != sb) return state_rank(sa) < state_rank(sb);
    switch (sa) {
      case SilenceState::kActive:
        return std::tie(a->ends_at, a->id) < std::tie(b->ends_at, b->id);
      case SilenceState::kPending:
        return std::tie(a->starts_at, a->id) < std::tie(b->starts_at, b->id);
      case SilenceState::kExpired:
        return std::tie(b->ends_at, a->id) < std::tie(a->ends_at, b->id);
    }
    return a->id < b->id;
  });
  return out;
}

std::vector<std::string> Silences::mutes(const core::LabelSet& labels, core::TimePoint now) const {
  std::vector<std::string> out;
  const auto consider = [&](const Silence* s) {
    if (s->state(now) == SilenceState::kActive && matches(s->matchers, labels)) {
      out.push_back(s->id);
    }
  };
  for (const auto& [name, value] : labels) {
    const auto by_name = by_equal_.find(name);
    if (by_name == by_equal_.end()) continue;
    const auto bucket = by_name->second.find(value);
    if (bucket == by_name->second.end()) continue;
    for (const Silence* s : bucket->second) consider(s);
  }
  for (const Silence* s : unindexed_) consider(s);
  std::ranges::sort(out);
  return out;
}

std::size_t Silences::gc(core::TimePoint now, core::Duration retention) {
  std::size_t dropped = 0;
  for (auto it = silences_.begin(); it != silences_.end();) {
    Entry& e = it->second;
    if (e.silence.state(now) == SilenceState::kExpired) {
      unindex(e);
      if (e.silence.ends_at + retention <= now) {
        it = silences_.erase(it);
        ++dropped;
        continue;
      }
    }
    ++it;
  }
  return dropped;
}

std::vector<SilenceChange> Silences::take_changes() { return std::exchange(changes_, {}); }

std::size_t Silences::count(SilenceState state, core::TimePoint now) const {
  return static_cast<std::size_t>(std::ranges::count_if(
      silences_, [&](const auto& kv) { return kv.second.silence.state(now) == state; }));
}

void Silences::index(Entry& e) {
  if (e.indexed) return;
  if (const Matcher* key = index_key(e.silence)) {
    by_equal_[key->name()][key->value()].push_back(&e.silence);
  } else {
    unindexed_.push_back(&e.silence);
  }
  e.indexed = true;
}

void Silences::unindex(Entry& e) {
  if (!e.indexed) return;
  e.indexed = false;
  const Matcher* key = index_key(e.silence);
  if (key == nullptr) {
    std::erase(unindexed_, &e.silence);
    return;
  }
  const auto by_name = by_equal_.find(key->name());
  if (by_name == by_equal_.end()) return;
  const auto bucket = by_name->second.find(key->value());
  if (bucket == by_name->second.end()) return;
  std::erase(bucket->second, &e.silence);
  if (bucket->second.empty()) by_name->second.erase(bucket);
  if (by_name->second.empty()) by_equal_.erase(by_name);
}

void Silences::record(std::string action, const Silence& s, core::TimePoint at) {
  changes_.push_back(SilenceChange{
      .id = s.id, .action = std::move(action), .at = at, .by = s.created_by, .after = s});
}

}  // namespace opsready::alerting
