#pragma once
// Tabular CUSUM with River's semantics and defaults (river.drift.CUSUM): the reference mean and
// standard deviation are estimated over a warm-up and then frozen, and the slack k and decision
// interval h are multiples of that deviation, so the detector is scale-free.
//
//   detect::Cusum cusum;  // min_instances 30, slack 0.5, threshold 5.0, mode both
//   for (std::size_t i = 0; i < xs.size(); ++i) {
//     if (cusum.update(xs[i]) == detect::Outcome::kDrift) report(i, cusum.direction());
//   }
//
// Per update (River):
//   if the previous update detected drift: reset         (on the NEXT update, like PageHinkley)
//   n += 1; fold x into the running mean and variance (River's stats.Mean / stats.Var)
//   if n < min_instances: no drift, done
//   at n == min_instances: reference = mean, sigma = var ** 0.5 (sample variance, n - 1), frozen
//   k = slack·sigma; limit = threshold·sigma; dev = x - reference
//   sum_increase = max(0, sum_increase + dev - k);  sum_decrease = max(0, sum_decrease - dev - k)
//   drift = sum_increase > limit (up) | sum_decrease > limit (down) | either (both)
// The min_instances-th sample both fixes the reference and is the first one tested. A constant
// warm-up gives sigma = 0, so the first later sample that differs from it is a detection (as in
// River). At the classical h = 5 the average run between false alarms is a few hundred samples.
//
// Non-finite input is refused (Outcome::kRefused), left out of the state and counted.
// Plain value, not thread-safe; the update allocates nothing.

#include <cmath>
#include <cstdint>

#include "opsready/core/error.h"
#include "opsready/detect/outcome.h"
#include "opsready/detect/stats.h"

namespace opsready::detect {

struct CusumConfig {
  std::uint32_t min_instances = 30;  // warm-up samples that fix the reference; ≥ 1
  double slack = 0.5;                // k, in reference standard deviations; finite, ≥ 0
  double threshold = 5.0;            // h, in reference standard deviations; > 0
  Mode mode = Mode::kBoth;

  bool operator==(const CusumConfig&) const = default;
};

[[nodiscard]] core::Result<void> validate(const CusumConfig& config);

class Cusum {
 public:
  // River's defaults.
  Cusum() = default;
  [[nodiscard]] static core::Result<Cusum> create(const CusumConfig& config);

  Outcome update(double x) {
    if (!std::isfinite(x)) [[unlikely]] {
      ++refused_;
      return Outcome::kRefused;
    }
    if (drift_) [[unlikely]] {
      restart();
    }
    ++n_;
    stats_.update(x);
    if (n_ < config_.min_instances) return Outcome::kAccepted;
    if (!frozen_) [[unlikely]] {
      freeze();
    }
    const double k = config_.slack * sigma_;
    const double limit = config_.threshold * sigma_;
    const double deviation = x - reference_;
    const double up = sum_increase_ + deviation - k;
    const double down = sum_decrease_ - deviation - k;
    sum_increase_ = up > 0.0 ? up : 0.0;
    sum_decrease_ = down > 0.0 ? down : 0.0;
    drift_ = (test_up_ && sum_increase_ > limit) || (test_down_ && sum_decrease_ > limit);
    return drift_ ? Outcome::kDrift : Outcome::kAccepted;
  }

  [[nodiscard]] bool drift_detected() const { return drift_; }
  // Which tested sides are over the limit; kNone unless drift_detected().
  [[nodiscard]] Direction direction() const;
  [[nodiscard]] double sum_increase() const { return sum_increase_; }
  [[nodiscard]] double sum_decrease() const { return sum_decrease_; }
  // The frozen reference and deviation; 0 until min_instances samples.
  [[nodiscard]] double reference() const { return reference_; }
  [[nodiscard]] double sigma() const { return sigma_; }
  // Accepted samples since the last reset.
  [[nodiscard]] std::uint64_t count() const { return n_; }
  [[nodiscard]] std::uint64_t refused() const { return refused_; }
  [[nodiscard]] const CusumConfig& config() const { return config_; }
  // Forgets everything learned (River's reset); keeps the refused count.
  void restart();

 private:
  explicit Cusum(const CusumConfig& config);
  void freeze();

  CusumConfig config_;
  bool test_up_ = true;
  bool test_down_ = true;
  bool frozen_ = false;
  bool drift_ = false;
  std::uint64_t n_ = 0;
  Welford stats_;
  double reference_ = 0.0;
  double sigma_ = 0.0;
  double sum_increase_ = 0.0;
  double sum_decrease_ = 0.0;
  std::uint64_t refused_ = 0;
};

}  // namespace opsready::detect
