#pragma once
// Exact summation, online mean/variance and the window statistics the drift detectors share.
//
//   detect::Welford w;                       // River's stats.Mean + stats.Var, bit for bit
//   for (double x : xs) w.update(x);
//   double sd = std::sqrt(w.variance());     // sample variance (n - 1)
//
//   auto r = detect::variance_ratio(baseline, evaluation);  // var(eval) / var(base), or none
//
// ExactSum is Python's math.fsum (Shewchuk's algorithm with half-even correction): the sum of
// its inputs rounded once. The batch helpers use it so a mean or variance does not depend on the
// order of the inputs, matching the spec's porting note ("correctly rounded mean (fsum)").
// All types are plain values, not thread-safe for concurrent mutation; functions are pure.
// Nothing here allocates.

#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <span>

#include "opsready/detect/outcome.h"

namespace opsready::detect {

// Sum of doubles rounded once (Python's math.fsum). Non-finite inputs propagate as IEEE
// addition would (inf, -inf + inf = NaN); an intermediate overflow of finite inputs gives the
// naive sum (±inf) where Python raises OverflowError.
class ExactSum {
 public:
  void add(double x);
  [[nodiscard]] double value() const;

 private:
  // Partials are non-overlapping with increasing exponents, so finite doubles never need more
  // than about 40 of them (2098 exponent bits / 53 mantissa bits).
  static constexpr int kMaxPartials = 64;
  std::array<double, kMaxPartials> partials_{};
  int count_ = 0;
  double special_ = 0.0;  // sum of the non-finite inputs
  double naive_ = 0.0;    // plain running sum, used only after an intermediate overflow
  bool overflow_ = false;
};

// Online mean and variance with River's exact arithmetic (stats.Mean: mean += (1/n)(x - mean);
// stats.Var: S += (x - mean_old)(x - mean_new)), so detectors built on it reproduce River bit for
// bit. Non-finite input is refused and counted.
class Welford {
 public:
  Outcome update(double x) {
    if (!std::isfinite(x)) {
      ++refused_;
      return Outcome::kRefused;
    }
    const double old_mean = mean_;
    n_ += 1.0;
    mean_ += (1.0 / n_) * (x - mean_);
    m2_ += (x - old_mean) * (x - mean_);
    return Outcome::kAccepted;
  }

  void reset() { *this = Welford{}; }

  // Samples folded in (a double, as River keeps it).
  [[nodiscard]] double count() const { return n_; }
  // 0 before the first sample, as River.
  [[nodiscard]] double mean() const { return mean_; }
  // Sum of squared deviations from the mean.
  [[nodiscard]] double m2() const { return m2_; }
  // Sample variance m2 / (n - 1); 0 with fewer than two samples (River's Var.get()).
  [[nodiscard]] double variance() const { return n_ > 1.0 ? m2_ / (n_ - 1.0) : 0.0; }
  // Population variance m2 / n; 0 before the first sample.
  [[nodiscard]] double population_variance() const { return n_ > 0.0 ? m2_ / n_ : 0.0; }
  [[nodiscard]] std::uint64_t refused() const { return refused_; }

  bool operator==(const Welford&) const = default;

 private:
  double n_ = 0.0;
  double mean_ = 0.0;
  double m2_ = 0.0;
  std::uint64_t refused_ = 0;
};

// fsum of the values.
[[nodiscard]] double exact_sum(std::span<const double> xs);
// fsum(xs) / n; none when empty.
[[nodiscard]] std::optional<double> mean(std::span<const double> xs);
// Sample variance fsum((x - mean)²) / (n - 1) with the mean above; none with fewer than two
// values. Not exact: a constant series can give a tiny positive variance when its mean does not
// round back to the constant (spec §7.4, 5.25e-35 for twelve 0.05).
[[nodiscard]] std::optional<double> sample_variance(std::span<const double> xs);
// var(evaluation) / var(baseline) with the spec's rules (§6.2 step 5, §7.2): none when either
// slice has fewer than two values; when the baseline variance is ≤ 0, +inf if the evaluation
// variance is > 0, else none.
[[nodiscard]] std::optional<double> variance_ratio(std::span<const double> baseline,
                                                   std::span<const double> evaluation);

}  // namespace opsready::detect
