#pragma once
// Watchdog and DeadMan: alerts about opsready's own pipeline, since a silent alerting pipeline
// is the worst failure (a quiet dashboard then looks like health).
//
// Watchdog: one alert that always fires, from start (kube-prometheus' `Watchdog`, severity
// `none`). Route it to an external dead-man's switch (a heartbeat receiver) with a short
// repeat_interval; when its notifications stop, the pipeline behind them is broken.
//
// DeadMan: the telemetry opsready expects. Each ExpectedSource names a topic pattern and how
// long it may stay silent; a source that has seen no event for that long raises
// `OpsreadyTelemetryAbsent{source=<name>}` (critical, category operational.telemetry), and the
// next event of that source resolves it. Labels and annotations: derive.h, "Label conventions".
//
//   auto dm = DeadMan::create({{.name = "ingest", .topic_pattern = "telemetry.ingest.>",
//                               .after = std::chrono::minutes(5)}},
//                             clock.now()).value();
//   dm.seen(event.topic, clock.now(), changed);              // every event
//   if (auto due = dm.next_deadline(); due && *due <= clock.now()) dm.advance(clock.now(),
//   changed);
//
// Timing: a source is absent once `after` has passed since the last event it saw (or since
// start, for a source never seen): with a last event at t, advance(t + after) raises the alert
// with starts_at = t + after, and advance(t + after - 1ns) does not. So at one instant, pass
// the events to seen() before calling advance(): an event at exactly t + after keeps the source
// present. advance(now) raises every source due by `now` at its own deadline, so skipping
// ahead gives what advancing at every deadline would. seen() resolves a firing source with
// ends_at = the event's time (not before its starts_at); its next deadline counts from there.
// The `time` passed to seen() is the engine's time for the event (receipt), not the producer's
// timestamp; a time earlier than one already seen does not move the source's last-seen back.
//
// Topic patterns are core::TopicPattern's (NATS subjects, as the bus subscribes): dot-separated
// tokens, `*` one token, `>` as the last token one or more remaining tokens; literal tokens of
// [a-z0-9_-].
//
// Cost: seen() is one hash lookup of the topic (the sources matching each topic are cached,
// up to kTopicCacheBound topics; past that a topic is matched against every pattern) plus O(1)
// per matching source; next_deadline() is O(1) unless the source holding the earliest
// deadline moved, then O(sources); advance() is O(sources).
//
// Single owner: not thread-safe; the evaluation strand owns it and passes every time in; no
// clock reads. A plain value (copyable, movable).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "opsready/alerting/derive.h"
#include "opsready/core/alert.h"
#include "opsready/core/clock.h"
#include "opsready/core/error.h"
#include "opsready/core/topic_pattern.h"

namespace opsready::alerting {

inline constexpr std::string_view kWatchdogAlert = "OpsreadyWatchdog";
inline constexpr std::string_view kTelemetryAbsentAlert = "OpsreadyTelemetryAbsent";
inline constexpr std::string_view kWatchdogCategory = "opsready.watchdog";
inline constexpr std::string_view kTelemetryCategory = "operational.telemetry";

// The labels and runbooks every self-monitoring alert shares (as DeriveOptions' fields).
struct HeartbeatOptions {
  std::string service = "opsready";
  std::string runbook_base = "docs/runbooks";

  bool operator==(const HeartbeatOptions&) const = default;
};

class Watchdog {
 public:
  explicit Watchdog(core::TimePoint start, const HeartbeatOptions& options = {});
  // Firing from `start` (ends_at = kFiring), fingerprint assigned.
  [[nodiscard]] const core::Alert& alert() const { return alert_; }

 private:
  core::Alert alert_;
};

struct ExpectedSource {
  std::string name;           // the `source` label; unique, non-empty
  std::string topic_pattern;  // an exact topic or a pattern ("telemetry.ingest.>", "a.*.c")
  core::Duration after{};     // silence that makes it absent; > 0

  bool operator==(const ExpectedSource&) const = default;
};

class DeadMan {
 public:
  // Topics whose matching sources are cached; more distinct topics are matched each time.
  static constexpr std::size_t kTopicCacheBound = 4096;

  // Errors (code `invalid_expected_source`, field `sources[i].<key>`): an empty or repeated
  // name, a pattern that does not parse, `after` not positive.
  [[nodiscard]] static core::Result<DeadMan> create(std::vector<ExpectedSource> sources,
                                                    core::TimePoint start,
                                                    HeartbeatOptions options = {});

  // An event on `topic` was received at `time`. Appends the resolved alert of every matching
  // source that was absent.
  void seen(std::string_view topic, core::TimePoint time, std::vector<core::Alert>& out);
  // The earliest time a present source becomes absent; std::nullopt when every source is
  // absent already (or there is none).
  [[nodiscard]] std::optional<core::TimePoint> next_deadline() const;
  // Raises every source absent by `now`, in deadline order (ties in configuration order).
  void advance(core::TimePoint now, std::vector<core::Alert>& out);

  // The firing OpsreadyTelemetryAbsent alerts, by fingerprint.
  [[nodiscard]] const std::map<std::string, core::Alert>& active() const { return active_; }
  [[nodiscard]] std::span<const ExpectedSource> sources() const { return specs_; }

  // Restore after a restart: firing OpsreadyTelemetryAbsent alerts whose labels are those this
  // DeadMan makes for one of its sources (same name, service) mark that source absent,
  // starts_at kept, until its next event. Others are skipped. Returns how many were taken.
  std::size_t restore(std::vector<core::Alert> firing);

 private:
  struct Source {
    core::TopicPattern pattern;
    core::Duration after{};
    core::TimePoint last_seen{};  // start until an event is seen
    bool ever_seen = false;
    bool absent = false;
    core::Alert alert;  // labels and fingerprint fixed at create()
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  DeadMan() = default;
  // When `s` becomes absent; TimePoint::max() (never) when that lies past the clock's range.
  [[nodiscard]] static core::TimePoint deadline(const Source& s);
  const std::vector<std::uint32_t>& matching(std::string_view topic);

  std::vector<ExpectedSource> specs_;
  std::vector<Source> sources_;
  std::unordered_map<std::string, std::vector<std::uint32_t>, Hash, std::equal_to<>> cache_;
  std::vector<std::uint32_t> uncached_;  // matching()'s answer past the cache's bound
  std::map<std::string, core::Alert> active_;
  // next_deadline()'s answer, valid unless `deadline_dirty_`.
  mutable std::optional<core::TimePoint> earliest_;
  mutable bool deadline_dirty_ = true;
};

}  // namespace opsready::alerting
