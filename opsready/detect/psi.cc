#include "opsready/detect/psi.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <utility>

#include "opsready/detect/stats.h"

namespace opsready::detect {

core::Result<void> validate(const PsiConfig& c) {
  if (c.buckets < 2)
    return core::fail("invalid_parameter", "buckets must be at least 2", "buckets");
  if (!(c.epsilon > 0.0) || !std::isfinite(c.epsilon)) {
    return core::fail("invalid_parameter", "epsilon must be finite and > 0", "epsilon");
  }
  if (std::isnan(c.alert))
    return core::fail("invalid_parameter", "alert must be a number", "alert");
  return {};
}

std::vector<double> inclusive_quantiles(std::span<const double> sorted, std::uint32_t n) {
  assert(sorted.size() >= 2 && n >= 2);
  const std::size_t m = sorted.size();
  std::vector<double> cuts;
  cuts.reserve(n - 1);
  for (std::size_t i = 1; i < n; ++i) {
    const std::size_t j = i * (m - 1) / n;
    const std::size_t r = i * (m - 1) - j * n;
    // Python: (data[j] * (n - delta) + data[j + 1] * delta) / n, ints promoted to float.
    cuts.push_back(
        (sorted[j] * static_cast<double>(n - r) + sorted[j + 1] * static_cast<double>(r)) /
        static_cast<double>(n));
  }
  return cuts;
}

core::Result<PsiBaseline> PsiBaseline::create(std::span<const double> baseline,
                                              const PsiConfig& config) {
  if (auto ok = validate(config); !ok) return std::unexpected(ok.error());
  std::vector<double> sorted;
  sorted.reserve(baseline.size());
  for (double x : baseline) {
    if (std::isfinite(x)) sorted.push_back(x);
  }
  if (sorted.size() < 2) {
    return core::fail("insufficient_baseline", "PSI needs at least two finite baseline values",
                      "baseline");
  }
  std::sort(sorted.begin(), sorted.end());
  PsiBaseline b;
  b.config_ = config;
  b.size_ = sorted.size();
  b.cuts_ = inclusive_quantiles(sorted, config.buckets);
  std::sort(b.cuts_.begin(), b.cuts_.end());
  b.cuts_.erase(std::unique(b.cuts_.begin(), b.cuts_.end()), b.cuts_.end());
  b.counts_.assign(b.buckets(), 0);
  for (double x : sorted) ++b.counts_[b.bucket(x)];
  b.shares_.resize(b.buckets());
  for (std::size_t k = 0; k < b.buckets(); ++k) {
    b.shares_[k] =
        std::max(config.epsilon, static_cast<double>(b.counts_[k]) / static_cast<double>(b.size_));
  }
  return b;
}

std::size_t PsiBaseline::bucket(double v) const {
  return static_cast<std::size_t>(std::upper_bound(cuts_.begin(), cuts_.end(), v) - cuts_.begin());
}

double PsiBaseline::index(std::span<const std::uint64_t> evaluation_counts,
                          std::uint64_t total) const {
  assert(evaluation_counts.size() == buckets() && total > 0);
  ExactSum sum;
  for (std::size_t k = 0; k < buckets(); ++k) {
    const double e = std::max(
        config_.epsilon, static_cast<double>(evaluation_counts[k]) / static_cast<double>(total));
    const double b = shares_[k];
    sum.add((e - b) * std::log(e / b));
  }
  return sum.value();
}

std::size_t PsiBaseline::heap_bytes() const {
  return cuts_.capacity() * sizeof(double) + counts_.capacity() * sizeof(std::uint64_t) +
         shares_.capacity() * sizeof(double);
}

PsiMonitor::PsiMonitor(PsiBaseline baseline)
    : baseline_(std::move(baseline)), counts_(baseline_.buckets(), 0) {}

std::optional<double> PsiMonitor::value() const {
  if (total_ == 0) return std::nullopt;
  return baseline_.index(counts_, total_);
}

Grade PsiMonitor::grade() const {
  const std::optional<double> v = value();
  return v && *v >= baseline_.config().alert ? Grade::kAlert : Grade::kNormal;
}

std::size_t PsiMonitor::heap_bytes() const {
  return baseline_.heap_bytes() + counts_.capacity() * sizeof(std::uint64_t);
}

void PsiMonitor::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  total_ = 0;
}

core::Result<double> psi(std::span<const double> baseline, std::span<const double> evaluation,
                         const PsiConfig& config) {
  auto base = PsiBaseline::create(baseline, config);
  if (!base) return std::unexpected(base.error());
  PsiMonitor monitor(std::move(*base));
  for (double x : evaluation) monitor.update(x);
  const std::optional<double> v = monitor.value();
  if (!v) {
    return core::fail("empty_evaluation", "PSI needs at least one finite evaluation value",
                      "evaluation");
  }
  return *v;
}

}  // namespace opsready::detect
