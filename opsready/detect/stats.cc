#include "opsready/detect/stats.h"

#include <cassert>
#include <limits>

namespace opsready::detect {

// A port of CPython's math_fsum (Modules/mathmodule.c): keep the running sum as a list of
// non-overlapping partials whose exact total is the exact sum, then round once.
void ExactSum::add(double x) {
  const double original = x;
  naive_ += x;
  int kept = 0;
  for (int j = 0; j < count_; ++j) {
    double y = partials_[j];
    if (std::fabs(x) < std::fabs(y)) {
      const double t = x;
      x = y;
      y = t;
    }
    const double hi = x + y;
    const double lo = y - (hi - x);
    if (lo != 0.0) partials_[kept++] = lo;
    x = hi;
  }
  count_ = kept;
  if (x == 0.0) return;
  if (!std::isfinite(x)) {
    if (std::isfinite(original)) {
      overflow_ = true;
    } else {
      special_ += original;
    }
    count_ = 0;
    return;
  }
  assert(count_ < kMaxPartials);
  partials_[count_++] = x;
}

double ExactSum::value() const {
  if (special_ != 0.0) return special_;  // also NaN, which compares unequal to everything
  if (overflow_) return naive_;
  int n = count_;
  if (n == 0) return 0.0;
  double hi = partials_[--n];
  double lo = 0.0;
  while (n > 0) {
    const double x = hi;
    const double y = partials_[--n];
    hi = x + y;
    lo = y - (hi - x);
    if (lo != 0.0) break;
  }
  // Half-even rounding across partials: when the discarded tail and the next partial share a
  // sign, the true sum is past the halfway point that `hi + lo` rounded from.
  if (n > 0 && ((lo < 0.0 && partials_[n - 1] < 0.0) || (lo > 0.0 && partials_[n - 1] > 0.0))) {
    const double y = lo * 2.0;
    const double x = hi + y;
    if (y == x - hi) hi = x;
  }
  return hi;
}

double exact_sum(std::span<const double> xs) {
  ExactSum s;
  for (double x : xs) s.add(x);
  return s.value();
}

std::optional<double> mean(std::span<const double> xs) {
  if (xs.empty()) return std::nullopt;
  return exact_sum(xs) / static_cast<double>(xs.size());
}

std::optional<double> sample_variance(std::span<const double> xs) {
  if (xs.size() < 2) return std::nullopt;
  const double m = exact_sum(xs) / static_cast<double>(xs.size());
  ExactSum squares;
  for (double x : xs) {
    const double d = x - m;
    squares.add(d * d);
  }
  return squares.value() / static_cast<double>(xs.size() - 1);
}

std::optional<double> variance_ratio(std::span<const double> baseline,
                                     std::span<const double> evaluation) {
  const std::optional<double> base = sample_variance(baseline);
  const std::optional<double> eval = sample_variance(evaluation);
  if (!base || !eval) return std::nullopt;
  if (*base <= 0.0) {
    if (*eval > 0.0) return std::numeric_limits<double>::infinity();
    return std::nullopt;
  }
  return *eval / *base;
}

}  // namespace opsready::detect
