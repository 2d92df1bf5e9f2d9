#pragma once
// Helpers for the store tests only (not part of the library): fixed test times and the rows
// the tests write, shared by the contract suite (store_test.cc) and the tests of each backend.

#include <chrono>
#include <string>
#include <utility>

#include "opsready/core/alert.h"
#include "opsready/core/snapshot.h"
#include "opsready/core/status.h"
#include "opsready/core/time.h"
#include "opsready/store/store.h"

namespace opsready::store::test {

inline core::TimePoint at(const char* s) { return core::parse_rfc3339(s).value(); }
inline core::TimePoint sec(int s) { return at("2025-01-02T00:00:00Z") + std::chrono::seconds(s); }

// The start of day `day` after 2025-01-02 (UTC), and hours and minutes into day 0.
inline core::TimePoint day_start(int day) {
  return at("2025-01-02T00:00:00Z") + std::chrono::days(day);
}
inline core::TimePoint hour(int h, int minutes = 0) {
  return day_start(0) + std::chrono::hours(h) + std::chrono::minutes(minutes);
}

inline core::ComponentSnapshot snap(std::string name, core::TimePoint t,
                                    core::Status st = core::Status::kOk) {
  core::ComponentSnapshot s;
  s.component = std::move(name);
  s.status = st;
  s.summary = "summary at " + core::format_rfc3339(t);
  s.observed_at = t;
  return s;
}

inline StoredReadiness ready(core::TimePoint t, core::Status st = core::Status::kOk) {
  return StoredReadiness{.generated_at = t,
                         .status = st,
                         .json = R"({"generated_at":")" + core::format_rfc3339(t) + R"("})"};
}

inline core::Alert alert(std::string name, core::TimePoint starts, core::TimePoint ends,
                         core::TimePoint received) {
  core::Alert a;
  a.labels = {{"alertname", std::move(name)}, {"severity", "page"}};
  a.annotations = {{"summary", "lag is high"}};
  a.fingerprint = core::alert_fingerprint(a.labels);
  a.starts_at = starts;
  a.ends_at = ends;
  a.generator_url = "http://prometheus:9090/graph?g0.expr=up";
  a.received_at = received;
  return a;
}

inline OutboxRow outbox_row(std::string id, std::string group, int decided_s) {
  return {.id = std::move(id),
          .receiver = "ops",
          .integration = "webhook/0",
          .group_key = std::move(group),
          .group_id = "00000000000000aa",
          .alerts_hash = "00000000000000bb",
          .reason = "first",
          .decided_at = sec(decided_s),
          .payload = R"({"alerts":[]})",
          .next_attempt_at = sec(decided_s)};
}

}  // namespace opsready::store::test
