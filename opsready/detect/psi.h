#pragma once
// Population stability index (spec supervision-drift-strategy §6.4): how far the distribution of
// an evaluation sample has moved from a baseline, over buckets cut at the baseline's deciles.
//
//   auto v = detect::psi(baseline, evaluation);            // one shot
//   if (v && *v >= detect::PsiConfig{}.alert) flag();
//
//   auto base = detect::PsiBaseline::create(baseline).value();  // streaming: frozen baseline,
//   detect::PsiMonitor monitor(std::move(base));                 // evaluation counted per sample
//   monitor.update(x);
//   std::optional<double> now = monitor.value();
//
// Cuts: Python's statistics.quantiles(baseline, n=buckets, method="inclusive"), evaluated with
// exactly its expression, (d[j]·(n - r) + d[j+1]·r) / n on the sorted baseline d of length m,
// j = ⌊i(m-1)/n⌋, r = i(m-1) - n·j, for i = 1..n-1. Edges are -inf, the distinct sorted cuts,
// +inf; a value v falls in bucket k when edge_k ≤ v < edge_k+1 (a value equal to a cut goes up).
// PSI = Σ (e_k - b_k)·ln(e_k / b_k) with b_k = max(ε, baseline share), e_k = max(ε, evaluation
// share), summed with a correctly rounded sum. The rounding of the cut expression matters: a
// constant baseline of 0.12 yields the two cuts 0.12 and 0.12000000000000002, and that is what
// lets PSI see an evaluation above a constant baseline (spec §6.4 [Q]; see docs/detectors.md).
//
// Non-finite values are left out (and counted by the monitor). PsiBaseline allocates when
// created; PsiMonitor::update() allocates nothing. Plain values, not thread-safe.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "opsready/core/error.h"
#include "opsready/detect/outcome.h"

namespace opsready::detect {

struct PsiConfig {
  std::uint32_t buckets = 10;  // quantile buckets (deciles); ≥ 2
  double epsilon = 1e-6;       // floor of each bucket share, so empty buckets stay finite; > 0
  double alert = 0.25;         // PSI ≥ alert is an alert; there is no warn level (spec §6.2)

  bool operator==(const PsiConfig&) const = default;
};

[[nodiscard]] core::Result<void> validate(const PsiConfig& config);

// statistics.quantiles(data, n=n, method="inclusive") on data sorted ascending (m ≥ 2, n ≥ 2):
// the n - 1 cut points, not deduplicated.
[[nodiscard]] std::vector<double> inclusive_quantiles(std::span<const double> sorted,
                                                      std::uint32_t n);

// The frozen side of PSI: bucket edges and baseline shares.
class PsiBaseline {
 public:
  // Errors: invalid config; `insufficient_baseline` with fewer than two finite values.
  [[nodiscard]] static core::Result<PsiBaseline> create(std::span<const double> baseline,
                                                        const PsiConfig& config = {});

  // The distinct sorted cuts (the inner edges).
  [[nodiscard]] std::span<const double> cuts() const { return cuts_; }
  [[nodiscard]] std::size_t buckets() const { return cuts_.size() + 1; }
  // The bucket of a finite value.
  [[nodiscard]] std::size_t bucket(double v) const;
  // Values per bucket and the floored shares b_k.
  [[nodiscard]] std::span<const std::uint64_t> counts() const { return counts_; }
  [[nodiscard]] std::span<const double> shares() const { return shares_; }
  // Finite baseline values used.
  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] const PsiConfig& config() const { return config_; }
  // PSI of an evaluation histogram (one count per bucket, `total` their sum > 0).
  [[nodiscard]] double index(std::span<const std::uint64_t> evaluation_counts,
                             std::uint64_t total) const;
  [[nodiscard]] std::size_t heap_bytes() const;

 private:
  PsiBaseline() = default;

  PsiConfig config_;
  std::vector<double> cuts_;
  std::vector<std::uint64_t> counts_;
  std::vector<double> shares_;
  std::size_t size_ = 0;
};

// Streaming evaluation against a frozen baseline: one bucket increment per sample.
class PsiMonitor {
 public:
  explicit PsiMonitor(PsiBaseline baseline);

  Outcome update(double x) {
    if (!std::isfinite(x)) [[unlikely]] {
      ++refused_;
      return Outcome::kRefused;
    }
    ++counts_[baseline_.bucket(x)];
    ++total_;
    return Outcome::kAccepted;
  }

  // PSI of the samples since creation or reset(); none before the first.
  [[nodiscard]] std::optional<double> value() const;
  // kAlert when value() ≥ config.alert, else kNormal.
  [[nodiscard]] Grade grade() const;
  [[nodiscard]] std::span<const std::uint64_t> counts() const { return counts_; }
  [[nodiscard]] std::uint64_t count() const { return total_; }
  [[nodiscard]] std::uint64_t refused() const { return refused_; }
  [[nodiscard]] const PsiBaseline& baseline() const { return baseline_; }
  [[nodiscard]] std::size_t heap_bytes() const;
  // Forgets the evaluation counts; keeps the baseline and the refused count.
  void reset();

 private:
  PsiBaseline baseline_;
  std::vector<std::uint64_t> counts_;
  std::uint64_t total_ = 0;
  std::uint64_t refused_ = 0;
};

// PSI of `evaluation` against `baseline`, non-finite values left out of both. Errors as
// PsiBaseline::create, and `empty_evaluation` when the evaluation has no finite value.
[[nodiscard]] core::Result<double> psi(std::span<const double> baseline,
                                       std::span<const double> evaluation,
                                       const PsiConfig& config = {});

}  // namespace opsready::detect
