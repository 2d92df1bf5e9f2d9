#pragma once
// Multiwindow, multi-burn-rate SLO alerting (Google SRE workbook, "Alerting on SLOs"): an alert
// fires when the error budget burns faster than a rate over both a long and a short window.
//
//   auto slo = detect::BurnRateEvaluator::create({.objective = 0.999}).value();
//   slo.record(t, /*events=*/120, /*errors=*/3);     // counts observed at time t
//   const detect::BurnRateEvaluation& e = slo.evaluate(clock.now());
//   if (e.severity == detect::BurnSeverity::kPage) page(e.pairs);
//
// burn rate = error ratio / (1 - objective), the error ratio being errors / events in a window.
// A pair fires when both windows hold at least min_events events (the minimum-traffic guard)
// and the error ratio of each exceeds burn_rate × (1 - objective), strictly, as the workbook's
// Prometheus rules (`>`). The pairs are ORed; the evaluation's severity is the highest firing
// one. Defaults are the workbook's pairs for a 30-day objective: 14.4× over 1h and 5m (page),
// 6× over 6h and 30m (page), 1× over 3d and 6h (ticket).
//
// Each distinct window is a ring of buckets_per_window buckets of window / buckets_per_window,
// aligned to the Unix epoch; the window at time now covers the bucket holding now and the
// buckets_per_window - 1 before it, i.e. between (1 - 1/buckets_per_window) × window and
// window of history. Time comes from the caller (the clock is injected upstream), so replays
// are deterministic. Windows never move back: evaluating at a time before the latest recorded
// one evaluates at the latest.
//
// The rings are allocated once, in create(); record() and evaluate() allocate nothing.
// Invalid records (errors > events) and records older than every window are refused and
// counted. Not thread-safe; one owner records and evaluates.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "opsready/core/clock.h"
#include "opsready/core/error.h"
#include "opsready/core/status.h"

namespace opsready::detect {

enum class BurnSeverity : std::uint8_t { kNone = 0, kTicket = 1, kPage = 2 };

// "none" / "ticket" / "page".
[[nodiscard]] std::string_view to_string(BurnSeverity s);
// none → ok, ticket → warn, page → fail.
[[nodiscard]] constexpr core::Status to_status(BurnSeverity s) {
  return static_cast<core::Status>(static_cast<std::uint8_t>(s));
}

// One alerting pair.
struct BurnRateWindow {
  core::Duration long_window;
  core::Duration short_window;  // ≤ long_window; the workbook uses long / 12
  double burn_rate = 1.0;       // > 0
  BurnSeverity severity = BurnSeverity::kPage;

  bool operator==(const BurnRateWindow&) const = default;
};

// The SRE workbook's pairs: 14.4×1h/5m page, 6×6h/30m page, 1×3d/6h ticket.
[[nodiscard]] std::vector<BurnRateWindow> sre_workbook_windows();

struct BurnRateConfig {
  double objective = 0.999;  // the SLO: target share of good events, in (0, 1)
  std::vector<BurnRateWindow> windows = sre_workbook_windows();  // at least one pair
  std::uint32_t buckets_per_window = 60;  // resolution of every window; ≥ 1
  std::uint64_t min_events = 10;          // events each window of a pair needs to fire

  bool operator==(const BurnRateConfig&) const = default;
};

[[nodiscard]] core::Result<void> validate(const BurnRateConfig& config);

// One window's counts at evaluation time.
struct BurnRateWindowReading {
  std::uint64_t events = 0;
  std::uint64_t errors = 0;
  double error_ratio = 0.0;  // errors / events; 0 without events
  double burn_rate = 0.0;    // error_ratio / (1 - objective)

  bool operator==(const BurnRateWindowReading&) const = default;
};

// One pair at evaluation time, in the order of config.windows.
struct BurnRatePairReading {
  BurnRateWindowReading long_window;
  BurnRateWindowReading short_window;
  bool enough_traffic = false;  // both windows hold ≥ min_events events
  bool firing = false;

  bool operator==(const BurnRatePairReading&) const = default;
};

struct BurnRateEvaluation {
  BurnSeverity severity = BurnSeverity::kNone;  // the highest firing pair's
  std::span<const BurnRatePairReading> pairs;   // valid until the next evaluate()
};

class BurnRateEvaluator {
 public:
  enum class Record : std::uint8_t {
    kRecorded = 0,
    kTooOld = 1,   // before every window: refused, counted
    kInvalid = 2,  // errors > events: refused, counted
  };

  [[nodiscard]] static core::Result<BurnRateEvaluator> create(const BurnRateConfig& config);

  // Adds `events` observations, `errors` of them bad, at time t.
  Record record(core::TimePoint t, std::uint64_t events, std::uint64_t errors);
  // The pairs at time `now` (the windows first slide to now).
  const BurnRateEvaluation& evaluate(core::TimePoint now);

  [[nodiscard]] std::uint64_t refused() const { return refused_; }
  [[nodiscard]] const BurnRateConfig& config() const { return config_; }
  [[nodiscard]] std::size_t heap_bytes() const;

 private:
  struct Counts {
    std::uint64_t events = 0;
    std::uint64_t errors = 0;
  };
  // One distinct window: a ring of buckets in slots_[offset, offset + buckets).
  struct Ring {
    std::int64_t width_ns = 0;
    std::size_t offset = 0;
    std::int64_t head = 0;  // bucket index of the newest bucket
    bool started = false;
    Counts sum;
  };

  explicit BurnRateEvaluator(const BurnRateConfig& config);
  Counts& slot(const Ring& ring, std::int64_t bucket);
  void advance(Ring& ring, std::int64_t bucket);
  bool add(Ring& ring, std::int64_t bucket, std::uint64_t events, std::uint64_t errors);
  [[nodiscard]] BurnRateWindowReading read(const Ring& ring) const;
  [[nodiscard]] std::size_t ring_of(core::Duration window) const;

  BurnRateConfig config_;
  double budget_ = 0.0;  // 1 - objective
  std::vector<Ring> rings_;
  std::vector<Counts> slots_;
  std::vector<std::size_t> long_ring_;   // per pair
  std::vector<std::size_t> short_ring_;  // per pair
  std::vector<BurnRatePairReading> readings_;
  BurnRateEvaluation evaluation_;
  std::uint64_t refused_ = 0;
};

}  // namespace opsready::detect
