#pragma once
// The brief's own drift statistics (spec supervision-drift-strategy §6.3 and §7.2): a two-sided,
// clamped, CUSUM-style Page-Hinkley with a running mean, and a CUSUM against a fixed reference,
// each graded on warn/alert thresholds. The sensory-drift and drift-sentry components use them.
//
//   auto ph = detect::ClampedPageHinkley::create({.delta = 0.01, .warn = 3.0, .alert = 6.0});
//   for (double x : series) ph->update(x);
//   double stat = ph->statistic();            // max(M+, |M-|)
//   detect::Grade g = ph->grade();            // kNormal / kWarn / kAlert
//
// Both accumulate d per sample into S+ = max(0, S+ + d), S- = min(0, S- + d) and keep the
// extremes M+ = max(M+, S+), M- = min(M-, S-); the statistic is max(M+, |M-|).
//   Page-Hinkley: the first sample only seeds the mean; for the k-th (0-based) sample after it,
//                 mean += (x - mean)/(k + 1) (the mean includes x), d = x - mean - delta.
//   CUSUM:        d = x - reference - drift for every sample.
// Delta (and drift) is subtracted on both sides, as the brief does: it damps the upward side and
// inflates the downward one (spec §6.3 [Q]; kept for parity, see docs/detectors.md). There is no
// minimum-sample rule beyond min_samples, no forgetting factor and no reset on detection: the
// statistic covers everything since construction or reset().
//
// Non-finite input is refused (Grade::kRefused), not folded in, and counted in refused().
// Plain values, not thread-safe; updates allocate nothing.

#include <cmath>
#include <cstdint>
#include <span>

#include "opsready/core/error.h"
#include "opsready/detect/outcome.h"

namespace opsready::detect {

[[nodiscard]] double clamped_page_hinkley(std::span<const double> series, double delta);
[[nodiscard]] double clamped_cusum(std::span<const double> values, double reference, double drift);

// The clamped two-sided sums shared by both statistics.
struct ClampedSums {
  double s_pos = 0.0;  // S+ ≥ 0
  double s_neg = 0.0;  // S- ≤ 0
  double m_pos = 0.0;  // max S+ so far
  double m_neg = 0.0;  // min S- so far

  // Python's max(0, v) / min(0, v): v only when strictly past 0.
  void add(double d) {
    const double up = s_pos + d;
    const double down = s_neg + d;
    s_pos = up > 0.0 ? up : 0.0;
    s_neg = down < 0.0 ? down : 0.0;
    if (s_pos > m_pos) m_pos = s_pos;
    if (s_neg < m_neg) m_neg = s_neg;
  }
  // max(M+, |M-|).
  [[nodiscard]] double statistic() const { return m_pos >= -m_neg ? m_pos : -m_neg; }
  // The side that holds the statistic: kDown when |M-| > M+, else kUp when M+ > 0, else kNone.
  [[nodiscard]] Direction direction() const;

  bool operator==(const ClampedSums&) const = default;
};

struct ClampedPageHinkleyConfig {
  double delta = 0.01;  // δ; finite, ≥ 0 (sensory drift 0.01, drift sentry 0.05)
  double warn = 3.0;    // grade thresholds, inclusive; warn ≤ alert (drift sentry 2.0 / 4.0)
  double alert = 6.0;
  std::uint32_t min_samples = 2;  // graded kNormal before this many samples; ≥ 1

  bool operator==(const ClampedPageHinkleyConfig&) const = default;
};

struct ClampedCusumConfig {
  double reference = 0.0;  // the expected level (the drift sentry uses the baseline mean)
  double drift = 0.0;      // k, subtracted from every deviation; finite
  double warn = 3.0;       // grade thresholds, inclusive; warn ≤ alert
  double alert = 6.0;
  std::uint32_t min_samples = 2;  // graded kNormal before this many samples; ≥ 1

  bool operator==(const ClampedCusumConfig&) const = default;
};

[[nodiscard]] core::Result<void> validate(const ClampedPageHinkleyConfig& config);
[[nodiscard]] core::Result<void> validate(const ClampedCusumConfig& config);

class ClampedPageHinkley {
 public:
  ClampedPageHinkley() = default;
  [[nodiscard]] static core::Result<ClampedPageHinkley> create(
      const ClampedPageHinkleyConfig& config);

  Grade update(double x) {
    if (!std::isfinite(x)) [[unlikely]] {
      ++refused_;
      return Grade::kRefused;
    }
    if (count_ == 0) {
      mean_ = x;
    } else {
      mean_ += (x - mean_) / static_cast<double>(count_ + 1);
      sums_.add(x - mean_ - config_.delta);
    }
    ++count_;
    return grade();
  }

  // max(M+, |M-|); 0 before the second sample.
  [[nodiscard]] double statistic() const { return sums_.statistic(); }
  // The statistic graded on warn/alert; kNormal before min_samples samples.
  [[nodiscard]] Grade grade() const {
    return count_ < config_.min_samples ? Grade::kNormal
                                        : detect::grade(statistic(), config_.warn, config_.alert);
  }
  [[nodiscard]] Direction direction() const { return sums_.direction(); }
  [[nodiscard]] std::uint64_t count() const { return count_; }
  [[nodiscard]] double mean() const { return mean_; }
  [[nodiscard]] const ClampedSums& sums() const { return sums_; }
  [[nodiscard]] std::uint64_t refused() const { return refused_; }
  [[nodiscard]] const ClampedPageHinkleyConfig& config() const { return config_; }
  // Starts over; keeps the refused count.
  void reset() {
    sums_ = {};
    mean_ = 0.0;
    count_ = 0;
  }

 private:
  explicit ClampedPageHinkley(const ClampedPageHinkleyConfig& config) : config_(config) {}
  friend double clamped_page_hinkley(std::span<const double> series, double delta);

  ClampedPageHinkleyConfig config_;
  ClampedSums sums_;
  double mean_ = 0.0;
  std::uint64_t count_ = 0;
  std::uint64_t refused_ = 0;
};

class ClampedCusum {
 public:
  ClampedCusum() = default;
  [[nodiscard]] static core::Result<ClampedCusum> create(const ClampedCusumConfig& config);

  Grade update(double x) {
    if (!std::isfinite(x)) [[unlikely]] {
      ++refused_;
      return Grade::kRefused;
    }
    sums_.add(x - config_.reference - config_.drift);
    ++count_;
    return grade();
  }

  // max(M+, |M-|); 0 before the first sample.
  [[nodiscard]] double statistic() const { return sums_.statistic(); }
  // The statistic graded on warn/alert; kNormal before min_samples samples.
  [[nodiscard]] Grade grade() const {
    return count_ < config_.min_samples ? Grade::kNormal
                                        : detect::grade(statistic(), config_.warn, config_.alert);
  }
  [[nodiscard]] Direction direction() const { return sums_.direction(); }
  [[nodiscard]] std::uint64_t count() const { return count_; }
  [[nodiscard]] const ClampedSums& sums() const { return sums_; }
  [[nodiscard]] std::uint64_t refused() const { return refused_; }
  [[nodiscard]] const ClampedCusumConfig& config() const { return config_; }
  // Starts over; keeps the refused count.
  void reset() {
    sums_ = {};
    count_ = 0;
  }

 private:
  explicit ClampedCusum(const ClampedCusumConfig& config) : config_(config) {}
  friend double clamped_cusum(std::span<const double> values, double reference, double drift);

  ClampedCusumConfig config_;
  ClampedSums sums_;
  std::uint64_t count_ = 0;
  std::uint64_t refused_ = 0;
};

// The spec's PH(series, δ) over a chronological series: 0 for fewer than two values (the sensory
// module's guard; the drift sentry treats n < 2 as "no statistic", which callers check by size).
// Non-finite values are skipped, as the streaming detector refuses them. Parameters are not
// validated (any finite delta works).
[[nodiscard]] double clamped_page_hinkley(std::span<const double> series, double delta);
// The drift sentry's CUSUM over the evaluation values against `reference`, skipping non-finite
// values.
[[nodiscard]] double clamped_cusum(std::span<const double> values, double reference, double drift);

}  // namespace opsready::detect
