#pragma once
// Clock: the only source of "now" in opsready. Production code takes a `const Clock&`;
// tests and replays pass a ManualClock so every snapshot is reproducible byte for byte.
//
//   ManualClock clock(parse_rfc3339("2025-01-02T00:00:00Z").value());
//   clock.advance(std::chrono::seconds(30));
//
// Both implementations are thread-safe: SystemClock is stateless, ManualClock keeps its
// time in an atomic so an embedding runtime may read it from any thread.

#include <atomic>
#include <chrono>

namespace opsready::core {

using TimePoint = std::chrono::sys_time<std::chrono::nanoseconds>;
using Duration = std::chrono::nanoseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual TimePoint now() const = 0;
};

// Wall-clock UTC time.
class SystemClock final : public Clock {
 public:
  [[nodiscard]] TimePoint now() const override;
  // One process-wide instance, for wiring defaults.
  static const SystemClock& instance();
};

// Time that moves only when told to. Never goes backwards through advance(); set() may.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint{}) : ns_(start.time_since_epoch().count()) {}
  [[nodiscard]] TimePoint now() const override {
    return TimePoint(Duration(ns_.load(std::memory_order_acquire)));
  }
  void set(TimePoint t) { ns_.store(t.time_since_epoch().count(), std::memory_order_release); }
  void advance(Duration d) { ns_.fetch_add(d.count(), std::memory_order_acq_rel); }

 private:
  std::atomic<Duration::rep> ns_;
};

}  // namespace opsready::core
