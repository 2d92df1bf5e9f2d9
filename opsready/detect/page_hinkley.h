#pragma once
// Page-Hinkley change detection with River's semantics (river.drift.PageHinkley, the two-sided
// version with `mode`), reproducing River bit for bit; and a batch of independent Page-Hinkley
// detectors stepped together, for watching many series at once.
//
//   auto ph = detect::PageHinkley::create({.threshold = 50.0}).value();
//   for (std::size_t i = 0; i < xs.size(); ++i) {
//     if (ph.update(xs[i]) == detect::Outcome::kDrift) report(i, ph.direction());
//   }
//
// Per update (River, with x_mean a running mean that already includes x):
//   if the previous update detected drift: reset        (the reset happens on the NEXT update)
//   n += 1;  mean += (1/n)(x - mean);  dev = x - mean
//   sum_increase = alpha·sum_increase + dev - delta;   min_increase = min(min_increase, it)
//   sum_decrease = alpha·sum_decrease + dev + delta;   max_decrease = max(max_decrease, it)
//   if n ≥ min_instances: drift = (sum_increase - min_increase > threshold)   [mode up/both]
//                              or (max_decrease - sum_decrease > threshold)   [mode down/both]
// After a reset min_increase = +inf and max_decrease = -1 (River's value, not -inf; with
// delta ≥ 0 the first update lifts it to delta, so the difference is never observable).
//
// Exactness: the update is inline, so it is compiled in the caller's translation unit; the
// opsready_detect target exports -ffp-contract=off to every target that links it (a fused
// multiply-add would change the last bits). Never build it with -ffast-math.
//
// Non-finite input is refused: it returns Outcome::kRefused, leaves the state (drift flag
// included) untouched and is counted in refused(). refused() survives resets.
// Not thread-safe; one owner updates a detector. The update allocates nothing. To run a span of
// samples through a detector that other code can reach (a member), use detect::feed()
// (feed.h), which keeps the state in registers.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "opsready/core/error.h"
#include "opsready/detect/outcome.h"

namespace opsready::detect {

// River's parameters and defaults.
struct PageHinkleyConfig {
  std::uint32_t min_instances = 30;  // updates before drift can be reported; ≥ 1
  double delta = 0.005;              // magnitude of changes to tolerate; finite, ≥ 0
  double threshold = 50.0;           // λ; > 0 (+inf disables detection)
  double alpha = 1 - 0.0001;         // forgetting factor of the cumulative sums; in (0, 1]
  Mode mode = Mode::kBoth;

  bool operator==(const PageHinkleyConfig&) const = default;
};

// Everything a Page-Hinkley detector learns, field for field as River (n is a double there).
struct PageHinkleyState {
  double n = 0.0;
  double mean = 0.0;
  double sum_increase = 0.0;
  double min_increase = std::numeric_limits<double>::infinity();
  double sum_decrease = 0.0;
  double max_decrease = -1.0;
  bool drift = false;
  std::uint64_t refused = 0;  // non-finite inputs refused since construction

  bool operator==(const PageHinkleyState&) const = default;
};

// Checks the ranges documented on PageHinkleyConfig; the error names the field.
[[nodiscard]] core::Result<void> validate(const PageHinkleyConfig& config);

// Which tested sides of `state` are over the threshold; kNone unless state.drift.
[[nodiscard]] Direction direction_of(const PageHinkleyState& state,
                                     const PageHinkleyConfig& config);

class PageHinkley {
 public:
  // River's defaults.
  PageHinkley() = default;
  [[nodiscard]] static core::Result<PageHinkley> create(const PageHinkleyConfig& config);

  Outcome update(double x) {
    if (!std::isfinite(x)) [[unlikely]] {
      ++state_.refused;
      return Outcome::kRefused;
    }
    PageHinkleyState& s = state_;
    if (s.drift) [[unlikely]] {
      restart();
    }
    s.n += 1.0;
    s.mean += (1.0 / s.n) * (x - s.mean);
    const double dev = x - s.mean;
    s.sum_increase = config_.alpha * s.sum_increase + dev - config_.delta;
    s.sum_decrease = config_.alpha * s.sum_decrease + dev + config_.delta;
    if (s.sum_increase < s.min_increase) s.min_increase = s.sum_increase;
    if (s.sum_decrease > s.max_decrease) s.max_decrease = s.sum_decrease;
    if (s.n >= min_instances_) {
      s.drift = (test_up_ && s.sum_increase - s.min_increase > config_.threshold) ||
                (test_down_ && s.max_decrease - s.sum_decrease > config_.threshold);
    }
    return s.drift ? Outcome::kDrift : Outcome::kAccepted;
  }

  // True after an update that detected drift, until the next accepted update.
  [[nodiscard]] bool drift_detected() const { return state_.drift; }
  // Which tested sides are over the threshold now; kNone unless drift_detected().
  [[nodiscard]] Direction direction() const;
  // The two test statistics (River's test_increase / test_decrease).
  [[nodiscard]] double increase_statistic() const {
    return state_.sum_increase - state_.min_increase;
  }
  [[nodiscard]] double decrease_statistic() const {
    return state_.max_decrease - state_.sum_decrease;
  }
  [[nodiscard]] const PageHinkleyState& state() const { return state_; }
  [[nodiscard]] const PageHinkleyConfig& config() const { return config_; }
  [[nodiscard]] std::uint64_t refused() const { return state_.refused; }

  // Forgets everything learned (as River's reset); keeps the refused count.
  void restart() {
    const std::uint64_t refused = state_.refused;
    state_ = PageHinkleyState{};
    state_.refused = refused;
  }

 private:
  explicit PageHinkley(const PageHinkleyConfig& config);

  PageHinkleyConfig config_;
  double min_instances_ = 30.0;  // compared with the double n without a conversion per update
  bool test_up_ = true;
  bool test_down_ = true;
  PageHinkleyState state_;
};

// Many independent Page-Hinkley detectors sharing one configuration, stepped together: each
// update() takes one sample per series. Series i computes exactly what a PageHinkley fed the
// same samples computes (state(i) == that detector's state(), bit for bit, whatever the
// instruction set). Storage is allocated once, in create(); update() allocates nothing. Not
// thread-safe; one owner steps a batch.
//
// Layout: structure-of-arrays in blocks of kBlock series (each block holds the kBlock values of
// each state field side by side), so a step is one branch-free pass over one contiguous region,
// in SIMD registers. Blocks rather than whole-batch arrays keep the eight state streams from
// competing for the same cache sets.
class PageHinkleyBatch {
 public:
  // Instruction set of the step. All give identical results; kAuto picks the widest one the
  // CPU supports (AVX-512 or AVX2 on x86-64, else the baseline: SSE2 / the target's default).
  enum class Isa : std::uint8_t { kAuto, kBaseline, kAvx2, kAvx512 };

  struct Step {
    std::size_t drifts = 0;   // series that report drift after this step
    std::size_t refused = 0;  // non-finite samples refused in this step

    bool operator==(const Step&) const = default;
  };

  // Errors: invalid configuration (see validate()), or `unsupported_isa` when `isa` names an
  // instruction set this CPU or build lacks.
  [[nodiscard]] static core::Result<PageHinkleyBatch> create(std::size_t series,
                                                             const PageHinkleyConfig& config,
                                                             Isa isa = Isa::kAuto);
  // Whether this CPU and build can run `isa` (kAuto and kBaseline always can).
  [[nodiscard]] static bool supported(Isa isa);

  // x[i] is the next sample of series i; x.size() must equal size().
  Step update(std::span<const double> x);

  [[nodiscard]] std::size_t size() const { return series_; }
  [[nodiscard]] bool drift_detected(std::size_t i) const { return at(kDrift, i) != 0.0; }
  [[nodiscard]] Direction direction(std::size_t i) const;
  [[nodiscard]] PageHinkleyState state(std::size_t i) const;
  [[nodiscard]] const PageHinkleyConfig& config() const { return config_; }
  // The instruction set chosen at creation (never kAuto).
  [[nodiscard]] Isa isa() const { return isa_; }
  // Forgets what series i learned; keeps its refused count.
  void restart(std::size_t i);
  // Bytes of state held on the heap (all series, including the padding of the last block).
  [[nodiscard]] std::size_t heap_bytes() const { return storage_.size() * sizeof(double); }

  // Series per storage block.
  static constexpr std::size_t kBlock = 8;
  // State fields per series, in block order. drift (0 or 1) and refused (a count, exact below
  // 2^53) are doubles so every lane of the step is a double.
  enum Field : std::size_t { kN, kMean, kSumInc, kMinInc, kSumDec, kMaxDec, kDrift, kRefused };
  static constexpr std::size_t kFields = 8;
  // Bytes of state per series.
  static constexpr std::size_t kBytesPerSeries = kFields * sizeof(double);

 private:
  PageHinkleyBatch(std::size_t series, const PageHinkleyConfig& config, Isa isa);

  [[nodiscard]] double& at(Field f, std::size_t i) {
    return storage_[(i / kBlock) * kBlock * kFields + f * kBlock + i % kBlock];
  }
  [[nodiscard]] double at(Field f, std::size_t i) const {
    return storage_[(i / kBlock) * kBlock * kFields + f * kBlock + i % kBlock];
  }

  PageHinkleyConfig config_;
  Isa isa_ = Isa::kBaseline;
  std::size_t series_ = 0;
  std::vector<double> storage_;
  // Series whose drift flag is set (a restart is pending on their next accepted sample).
  std::size_t flagged_ = 0;
};

}  // namespace opsready::detect
