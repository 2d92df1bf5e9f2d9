#include "opsready/core/alert.h"

#include <utility>

#include "opsready/core/time.h"

namespace opsready::core {
namespace {

// FNV-1a, 64 bit, as in Prometheus common/model (fnv.go).
constexpr std::uint64_t kFnvOffset = 14695981039346656037ULL;
constexpr std::uint64_t kFnvPrime = 1099511628211ULL;
constexpr unsigned char kSeparator = 0xff;

std::uint64_t fnv_add(std::uint64_t h, std::string_view s) {
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= kFnvPrime;
  }
  return h;
}

std::uint64_t fnv_add_byte(std::uint64_t h, unsigned char b) {
  h ^= b;
  h *= kFnvPrime;
  return h;
}

nlohmann::json label_json(const LabelSet& set) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : set) j[k] = v;
  return j;
}

}  // namespace

std::uint64_t alert_fingerprint_value(const LabelSet& labels) {
  // std::map iterates names in byte order, which is Go's sort order for strings.
  std::uint64_t h = kFnvOffset;
  for (const auto& [name, value] : labels) {
    h = fnv_add(h, name);
    h = fnv_add_byte(h, kSeparator);
    h = fnv_add(h, value);
    h = fnv_add_byte(h, kSeparator);
  }
  return h;
}

namespace {

void write_hex(std::uint64_t h, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.resize(16);
  for (int i = 15; i >= 0; --i, h >>= 4) out[static_cast<std::size_t>(i)] = kHex[h & 0xf];
}

// Both merge_alert_into forms: `In` is Alert (moved from) or const Alert (copied).
template <typename In>
void merge_into(Alert& stored, In& incoming) {
  const bool overlap =
      (incoming.ends_at > stored.starts_at && incoming.ends_at < stored.ends_at) ||
      (incoming.starts_at > stored.starts_at && incoming.starts_at < stored.ends_at);
  if (!overlap) {
    stored = std::move(incoming);
    return;
  }
  // `older`/`younger` by received_at, as Alertmanager's Merge orders by UpdatedAt; "resolved"
  // is judged at the younger alert's receive time (Alertmanager uses the wall clock then).
  const bool swap = incoming.received_at < stored.received_at;
  const Alert& older = swap ? incoming : stored;
  const Alert& younger = swap ? stored : incoming;
  const TimePoint now = younger.received_at;
  TimePoint starts = younger.starts_at;
  TimePoint ends = younger.ends_at;
  if (older.starts_at < younger.starts_at) starts = older.starts_at;
  if (is_resolved(younger, now)) {
    if (is_resolved(older, now) && older.ends_at > younger.ends_at) ends = older.ends_at;
  } else if (older.ends_at > younger.ends_at && !older.timeout) {
    ends = older.ends_at;
  }
  // The younger alert wins everything but the two times.
  if (!swap) stored = std::move(incoming);
  stored.starts_at = starts;
  stored.ends_at = ends;
}

}  // namespace

std::string alert_fingerprint(const LabelSet& labels) {
  std::string out;
  write_hex(alert_fingerprint_value(labels), out);
  return out;
}

void assign_fingerprint(Alert& a) { write_hex(alert_fingerprint_value(a.labels), a.fingerprint); }

std::uint64_t fingerprint_value(const Alert& a) {
  if (a.fingerprint.size() != 16) return alert_fingerprint_value(a.labels);
  std::uint64_t v = 0;
  for (const char c : a.fingerprint) {
    unsigned digit = 0;
    if (c >= '0' && c <= '9') {
      digit = static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<unsigned>(c - 'a' + 10);
    } else {
      return alert_fingerprint_value(a.labels);
    }
    v = (v << 4) | digit;
  }
  return v;
}

void merge_alert_into(Alert& stored, Alert&& incoming) { merge_into(stored, incoming); }

void merge_alert_into(Alert& stored, const Alert& incoming) { merge_into(stored, incoming); }

Alert merge_alert(const Alert& stored, const Alert& incoming) {
  Alert out = stored;
  merge_alert_into(out, Alert(incoming));
  return out;
}

nlohmann::json to_json(const Alert& a, TimePoint now) {
  return {{"fingerprint", a.fingerprint},
          {"labels", label_json(a.labels)},
          {"annotations", label_json(a.annotations)},
          {"startsAt", format_rfc3339(a.starts_at)},
          {"endsAt", format_rfc3339(a.ends_at)},
          {"generatorURL", a.generator_url},
          {"status", is_resolved(a, now) ? "resolved" : "firing"},
          {"receivedAt", format_rfc3339(a.received_at)}};
}

bool is_valid_label_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!(alpha || (i > 0 && digit))) return false;
  }
  return true;
}

}  // namespace opsready::core
