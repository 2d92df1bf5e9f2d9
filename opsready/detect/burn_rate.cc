#include "opsready/detect/burn_rate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>

namespace opsready::detect {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;

// floor(a / b) for b > 0.
std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

}  // namespace

std::string_view to_string(BurnSeverity s) {
  switch (s) {
    case BurnSeverity::kNone:
      return "none";
    case BurnSeverity::kTicket:
      return "ticket";
    case BurnSeverity::kPage:
      return "page";
  }
  return "none";
}

std::vector<BurnRateWindow> sre_workbook_windows() {
  return {
      {.long_window = hours(1),
       .short_window = minutes(5),
       .burn_rate = 14.4,
       .severity = BurnSeverity::kPage},
      {.long_window = hours(6),
       .short_window = minutes(30),
       .burn_rate = 6.0,
       .severity = BurnSeverity::kPage},
      {.long_window = days(3),
       .short_window = hours(6),
       .burn_rate = 1.0,
       .severity = BurnSeverity::kTicket},
  };
}

core::Result<void> validate(const BurnRateConfig& c) {
  if (!(c.objective > 0.0 && c.objective < 1.0)) {
    return core::fail("invalid_parameter", "objective must be in (0, 1)", "objective");
  }
  if (c.windows.empty()) {
    return core::fail("invalid_parameter", "at least one window pair is required", "windows");
  }
  if (c.buckets_per_window < 1) {
    return core::fail("invalid_parameter", "buckets_per_window must be at least 1",
                      "buckets_per_window");
  }
  for (std::size_t i = 0; i < c.windows.size(); ++i) {
    const BurnRateWindow& w = c.windows[i];
    const std::string field = "windows[" + std::to_string(i) + "]";
    const core::Duration resolution(c.buckets_per_window);
    if (w.short_window < resolution || w.long_window < resolution) {
      return core::fail("invalid_parameter",
                        "windows must be at least buckets_per_window nanoseconds long", field);
    }
    if (w.short_window > w.long_window) {
      return core::fail("invalid_parameter", "short_window must not exceed long_window", field);
    }
    if (!(w.burn_rate > 0.0) || !std::isfinite(w.burn_rate)) {
      return core::fail("invalid_parameter", "burn_rate must be finite and > 0",
                        field + ".burn_rate");
    }
    if (w.severity != BurnSeverity::kTicket && w.severity != BurnSeverity::kPage) {
      return core::fail("invalid_parameter", "severity must be ticket or page",
                        field + ".severity");
    }
  }
  return {};
}

BurnRateEvaluator::BurnRateEvaluator(const BurnRateConfig& config)
    : config_(config), budget_(1.0 - config.objective) {
  std::vector<core::Duration> distinct;
  for (const BurnRateWindow& w : config_.windows) {
    distinct.push_back(w.long_window);
    distinct.push_back(w.short_window);
  }
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  const std::size_t buckets = config_.buckets_per_window;
  for (std::size_t i = 0; i < distinct.size(); ++i) {
    Ring ring;
    ring.width_ns = distinct[i].count() / static_cast<std::int64_t>(buckets);
    ring.offset = i * buckets;
    rings_.push_back(ring);
  }
  slots_.assign(distinct.size() * buckets, Counts{});
  // Rings are in increasing window order; map each pair's windows to their ring.
  const auto index_of = [&](core::Duration d) {
    return static_cast<std::size_t>(std::lower_bound(distinct.begin(), distinct.end(), d) -
                                    distinct.begin());
  };
  for (const BurnRateWindow& w : config_.windows) {
    long_ring_.push_back(index_of(w.long_window));
    short_ring_.push_back(index_of(w.short_window));
  }
  readings_.assign(config_.windows.size(), BurnRatePairReading{});
}

core::Result<BurnRateEvaluator> BurnRateEvaluator::create(const BurnRateConfig& config) {
  if (auto ok = validate(config); !ok) return std::unexpected(ok.error());
  return BurnRateEvaluator(config);
}

BurnRateEvaluator::Counts& BurnRateEvaluator::slot(const Ring& ring, std::int64_t bucket) {
  const auto n = static_cast<std::int64_t>(config_.buckets_per_window);
  return slots_[ring.offset + static_cast<std::size_t>((bucket % n + n) % n)];
}

void BurnRateEvaluator::advance(Ring& ring, std::int64_t bucket) {
  const std::size_t n = config_.buckets_per_window;
  if (!ring.started) {
    ring.started = true;
    ring.head = bucket;
    return;
  }
  if (bucket <= ring.head) return;
  if (bucket - ring.head >= static_cast<std::int64_t>(n)) {
    std::fill_n(slots_.begin() + static_cast<std::ptrdiff_t>(ring.offset), n, Counts{});
    ring.sum = {};
  } else {
    for (std::int64_t b = ring.head + 1; b <= bucket; ++b) {
      Counts& expired = slot(ring, b);
      ring.sum.events -= expired.events;
      ring.sum.errors -= expired.errors;
      expired = {};
    }
  }
  ring.head = bucket;
}

bool BurnRateEvaluator::add(Ring& ring, std::int64_t bucket, std::uint64_t events,
                            std::uint64_t errors) {
  advance(ring, bucket);
  if (bucket <= ring.head - static_cast<std::int64_t>(config_.buckets_per_window)) {
    return false;  // before this window
  }
  Counts& counts = slot(ring, bucket);
  counts.events += events;
  counts.errors += errors;
  ring.sum.events += events;
  ring.sum.errors += errors;
  return true;
}

BurnRateEvaluator::Record BurnRateEvaluator::record(core::TimePoint t, std::uint64_t events,
                                                    std::uint64_t errors) {
  if (errors > events) {
    ++refused_;
    return Record::kInvalid;
  }
  const std::int64_t ns = t.time_since_epoch().count();
  bool counted = false;
  for (Ring& ring : rings_) counted |= add(ring, floor_div(ns, ring.width_ns), events, errors);
  if (!counted) {
    ++refused_;
    return Record::kTooOld;
  }
  return Record::kRecorded;
}

BurnRateWindowReading BurnRateEvaluator::read(const Ring& ring) const {
  BurnRateWindowReading r{.events = ring.sum.events, .errors = ring.sum.errors};
  if (r.events > 0) {
    r.error_ratio = static_cast<double>(r.errors) / static_cast<double>(r.events);
    r.burn_rate = r.error_ratio / budget_;
  }
  return r;
}

const BurnRateEvaluation& BurnRateEvaluator::evaluate(core::TimePoint now) {
  const std::int64_t ns = now.time_since_epoch().count();
  for (Ring& ring : rings_) {
    if (ring.started) advance(ring, floor_div(ns, ring.width_ns));
  }
  evaluation_.severity = BurnSeverity::kNone;
  for (std::size_t i = 0; i < readings_.size(); ++i) {
    const BurnRateWindow& w = config_.windows[i];
    BurnRatePairReading& p = readings_[i];
    p.long_window = read(rings_[long_ring_[i]]);
    p.short_window = read(rings_[short_ring_[i]]);
    p.enough_traffic = p.long_window.events >= config_.min_events &&
                       p.short_window.events >= config_.min_events && p.short_window.events > 0;
    const double limit = w.burn_rate * budget_;
    p.firing =
        p.enough_traffic && p.long_window.error_ratio > limit && p.short_window.error_ratio > limit;
    if (p.firing &&
        static_cast<std::uint8_t>(w.severity) > static_cast<std::uint8_t>(evaluation_.severity)) {
      evaluation_.severity = w.severity;
    }
  }
  evaluation_.pairs = readings_;
  return evaluation_;
}

std::size_t BurnRateEvaluator::heap_bytes() const {
  return rings_.capacity() * sizeof(Ring) + slots_.capacity() * sizeof(Counts) +
         (long_ring_.capacity() + short_ring_.capacity()) * sizeof(std::size_t) +
         readings_.capacity() * sizeof(BurnRatePairReading) +
         config_.windows.capacity() * sizeof(BurnRateWindow);
}

}  // namespace opsready::detect
