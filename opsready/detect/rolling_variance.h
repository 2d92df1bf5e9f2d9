#pragma once
// Rolling variance ratio: the variance of the latest `evaluation_window` samples against the
// variance of the `baseline_window` samples just before them, graded on ratio thresholds. Only
// an increase in variance is flagged (spec supervision-drift-strategy §6.2 step 5, §7.2).
//
//   auto rv = detect::RollingVariance::create({.baseline_window = 20,
//                                              .evaluation_window = 20}).value();
//   for (double x : xs) {
//     if (rv.update(x) == detect::Grade::kAlert) page(*rv.ratio());
//   }
//
// Once baseline_window + evaluation_window samples have arrived, every update computes
// variance_ratio(baseline, evaluation) (stats.h): sample variances (n - 1) from correctly
// rounded sums, none when the baseline variance is ≤ 0 and the evaluation's is too, +inf when
// only the baseline's is. Each update recomputes both variances exactly from the window, so the
// ratio is the same number the batch function gives on the same slices, at O(window) per update;
// the windows in the spec are tens to hundreds of samples.
//
// The window lives in a buffer allocated once, in create() (2 × (baseline + evaluation) doubles,
// so both slices are always contiguous); update() allocates nothing. Non-finite input is refused
// (Grade::kRefused), not folded in, and counted. Not thread-safe.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "opsready/core/error.h"
#include "opsready/detect/outcome.h"

namespace opsready::detect {

struct RollingVarianceConfig {
  std::uint32_t baseline_window = 20;    // ≥ 2 (sensory drift: lookback, 20)
  std::uint32_t evaluation_window = 20;  // ≥ 2
  double warn_ratio = 1.5;               // inclusive; warn ≤ alert (drift sentry 1.6 / 2.4)
  double alert_ratio = 2.5;

  bool operator==(const RollingVarianceConfig&) const = default;
};

[[nodiscard]] core::Result<void> validate(const RollingVarianceConfig& config);

class RollingVariance {
 public:
  [[nodiscard]] static core::Result<RollingVariance> create(const RollingVarianceConfig& config);

  Grade update(double x);

  // var(evaluation) / var(baseline) after the last update; none until the windows are full or
  // when the ratio is undefined.
  [[nodiscard]] std::optional<double> ratio() const { return ratio_; }
  // The ratio graded on the thresholds; kNormal without a ratio.
  [[nodiscard]] Grade grade() const;
  // The current windows, oldest first; empty until the windows are full.
  [[nodiscard]] std::span<const double> baseline() const;
  [[nodiscard]] std::span<const double> evaluation() const;
  // Accepted samples since creation or reset().
  [[nodiscard]] std::uint64_t count() const { return count_; }
  [[nodiscard]] std::uint64_t refused() const { return refused_; }
  [[nodiscard]] const RollingVarianceConfig& config() const { return config_; }
  [[nodiscard]] std::size_t heap_bytes() const { return ring_.capacity() * sizeof(double); }
  // Empties the windows; keeps the refused count.
  void reset();

 private:
  explicit RollingVariance(const RollingVarianceConfig& config);
  [[nodiscard]] std::size_t window() const { return ring_.size() / 2; }
  [[nodiscard]] bool full() const { return count_ >= window(); }

  RollingVarianceConfig config_;
  // Mirrored ring: sample k is stored at k % W and k % W + W, so the latest W samples are always
  // the contiguous ring_[count % W, count % W + W).
  std::vector<double> ring_;
  std::uint64_t count_ = 0;
  std::uint64_t refused_ = 0;
  std::optional<double> ratio_;
};

}  // namespace opsready::detect
