#pragma once
// Alert: an external alert in Alertmanager's shape (API v2), as Prometheus posts it to
// POST /api/v2/alerts, and the rules Alertmanager applies to it: the label-set fingerprint
// that identifies it and the merge of a re-posted alert into the stored one.
//
//   Alert a{.labels = {{"alertname", "HighLag"}, {"job", "ingest"}}, ...};
//   a.fingerprint = alert_fingerprint(a.labels);        // "b4e6f0c5d3a2e1f0"-style, 16 hex
//   Alert merged = merge_alert(stored, a);              // keeps the earliest startsAt, ...
//   bool firing = !is_resolved(merged, clock.now());
//
// Plain value type and pure functions; thread-safe as any value.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "opsready/core/clock.h"

namespace opsready::core {

using LabelSet = std::map<std::string, std::string>;

struct Alert {
  std::string fingerprint;  // alert_fingerprint(labels)
  LabelSet labels;
  LabelSet annotations;
  TimePoint starts_at{};
  TimePoint ends_at{};
  std::string generator_url;
  // endsAt was not posted: ends_at is received_at + resolve_timeout and the alert resolves by
  // itself unless re-posted (Alertmanager's `Timeout`).
  bool timeout = false;
  TimePoint received_at{};  // when opsready last received it (Alertmanager's `UpdatedAt`)

  bool operator==(const Alert&) const = default;
};

// One stored alert shared by the places that hold it (the engine's index, the aggregation
// groups it joined): held once, not copied into every group. Its owner changes it only in
// ways its holders must see (a merged re-post), and routes it again right after.
using AlertRef = std::shared_ptr<const Alert>;

// Alertmanager's (Prometheus common/model) label-set fingerprint, so the same alert has the
// same identity in both: 64-bit FNV-1a over the label names in byte order, each name and
// value followed by the byte 0xff; an empty set hashes to the FNV offset basis. Printed as 16
// lower-case hex digits.
[[nodiscard]] std::uint64_t alert_fingerprint_value(const LabelSet& labels);
[[nodiscard]] std::string alert_fingerprint(const LabelSet& labels);
// a.fingerprint = alert_fingerprint(a.labels), written into a.fingerprint's own buffer.
void assign_fingerprint(Alert& a);
// The 64-bit value of a.fingerprint (16 lower-case hex digits, as alert_fingerprint() prints
// it, read back without hashing the labels again); alert_fingerprint_value(a.labels) when
// a.fingerprint is not in that form. Hex order of fingerprints is numeric order of values.
[[nodiscard]] std::uint64_t fingerprint_value(const Alert& a);

// Resolved once ends_at is not after `now` (an alert is firing while now < ends_at).
[[nodiscard]] inline bool is_resolved(const Alert& a, TimePoint now) { return a.ends_at <= now; }

// Alertmanager's rules for an alert re-posted while `stored` exists (provider/mem Put and
// types.Alert.Merge):
//  - merge only when the activity ranges overlap (incoming ends inside the stored range, or
//    starts inside it); otherwise the incoming alert replaces the stored one;
//  - when merging, the younger alert (later received_at) wins, except: the earliest starts_at
//    is kept; if the younger one is resolved, the later of two resolved ends_at is kept; if it
//    is firing, the older ends_at is kept when later and not a timeout.
// Both must have the same fingerprint.
[[nodiscard]] Alert merge_alert(const Alert& stored, const Alert& incoming);
// The same merge in place: `stored` becomes merge_alert(stored, incoming). The rvalue form
// takes incoming's label sets over; the const form copies into stored's own strings and map
// nodes, which allocates nothing when a re-post carries label sets of the same shape.
void merge_alert_into(Alert& stored, Alert&& incoming);
void merge_alert_into(Alert& stored, const Alert& incoming);

// {fingerprint, labels, annotations, startsAt, endsAt, generatorURL, status, receivedAt}
// with status "firing" or "resolved" as of `now`.
[[nodiscard]] nlohmann::json to_json(const Alert& a, TimePoint now);

// A label name as Prometheus defines it: [a-zA-Z_][a-zA-Z0-9_]*.
[[nodiscard]] bool is_valid_label_name(std::string_view name);

}  // namespace opsready::core
