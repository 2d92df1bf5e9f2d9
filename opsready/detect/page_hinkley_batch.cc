// PageHinkleyBatch: the step over many series, in SIMD registers.
//
// The step is written once, as a template over the number of lanes, with GCC/Clang vector
// extensions: plain IEEE operations per lane (no reassociation; no contraction under
// -ffp-contract=off), so every lane computes exactly what PageHinkley::update computes, in the
// same order, whatever the width. Conditionals become lane-wise selects (vector `?:`, blends),
// so there is no branch per series; state lives in blocks of kBlock series (page_hinkley.h),
// walked front to back. The template is instantiated at the register width of each instruction set
// (2 lanes for SSE2, 4 for AVX2, 8 for AVX-512) and the widest one the CPU supports is picked once,
// at creation: a vector wider than the target's registers is lowered lane by lane by GCC, and GCC
// does not auto-vectorise the scalar loop (it hoists the division into a branch that it then cannot
// if-convert).

#include <algorithm>
#include <cassert>
#include <cstring>
#include <iterator>

#include "opsready/detect/page_hinkley.h"

// The helpers take and return vectors wider than the baseline ABI's registers. They have
// internal linkage and are always inlined, so no such value crosses an ABI boundary; GCC reports
// some of these at the end of the file, hence file-wide.
#pragma GCC diagnostic ignored "-Wpsabi"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define OPSREADY_DETECT_X86_DISPATCH 1
#else
#define OPSREADY_DETECT_X86_DISPATCH 0
#endif

namespace opsready::detect {
namespace {

// Vector types per width, spelled out: GCC drops vector_size on a typedef whose size depends
// on a template parameter.
template <std::size_t L>
struct VectorTypes;
template <>
struct VectorTypes<2> {
  using D = double __attribute__((vector_size(16)));
  using I = std::int64_t __attribute__((vector_size(16)));
};
template <>
struct VectorTypes<4> {
  using D = double __attribute__((vector_size(32)));
  using I = std::int64_t __attribute__((vector_size(32)));
};
template <>
struct VectorTypes<8> {
  using D = double __attribute__((vector_size(64)));
  using I = std::int64_t __attribute__((vector_size(64)));
};

template <std::size_t L>
struct Simd {
  using D = typename VectorTypes<L>::D;
  using I = typename VectorTypes<L>::I;
  static_assert(sizeof(D) == L * sizeof(double) && sizeof(I) == L * sizeof(std::int64_t));

  [[gnu::always_inline]] static D load(const double* p) {
    D v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  [[gnu::always_inline]] static void store(double* p, const D& v) { std::memcpy(p, &v, sizeof v); }
  [[gnu::always_inline]] static D splat(double x) {
    D v;
    for (std::size_t i = 0; i < L; ++i) v[i] = x;
    return v;
  }
  [[gnu::always_inline]] static I splat(std::int64_t x) {
    I v;
    for (std::size_t i = 0; i < L; ++i) v[i] = x;
    return v;
  }
  [[gnu::always_inline]] static I bits(const D& v) { return reinterpret_cast<I>(v); }
  [[gnu::always_inline]] static D from_bits(const I& v) { return reinterpret_cast<D>(v); }
};

using Batch = PageHinkleyBatch;

struct Scalars {
  double alpha;
  double delta;
  double threshold;
  double min_n;
  std::int64_t up;    // all ones when the mode tests increases
  std::int64_t down;  // all ones when the mode tests decreases
};

// One step of L series: x points at their samples, s at their lanes of the first state field
// of their block (field f is kBlock doubles further per field). Adds their drift flags and
// refusals (0 or 1 per lane) to the accumulators. kRestart: some series may carry a drift flag
// from the previous step and must start over (River's reset on the update after a detection);
// when no series does, the selects that perform it are left out.
template <std::size_t L, bool kRestart>
[[gnu::always_inline]] inline void step_group(const double* x, double* s, const Scalars& c,
                                              typename Simd<L>::D& drifts,
                                              typename Simd<L>::D& refusals) {
  using V = Simd<L>;
  using D = typename V::D;
  constexpr std::size_t B = Batch::kBlock;
  double* const n_p = s + Batch::kN * B;
  double* const mean_p = s + Batch::kMean * B;
  double* const si_p = s + Batch::kSumInc * B;
  double* const mi_p = s + Batch::kMinInc * B;
  double* const sd_p = s + Batch::kSumDec * B;
  double* const md_p = s + Batch::kMaxDec * B;
  double* const drift_p = s + Batch::kDrift * B;
  double* const refused_p = s + Batch::kRefused * B;
  const D xi = V::load(x);
  const D n_old = V::load(n_p);
  const D mean_old = V::load(mean_p);
  const D si_old = V::load(si_p);
  const D mi_old = V::load(mi_p);
  const D sd_old = V::load(sd_p);
  const D md_old = V::load(md_p);
  const D drift_old = V::load(drift_p);
  D n0 = n_old, mean0 = mean_old, si0 = si_old, mi0 = mi_old, sd0 = sd_old, md0 = md_old;
  if constexpr (kRestart) {
    // A refused lane also takes these values here, but its results are discarded below.
    const auto restart = drift_old != V::splat(0.0);
    const D zero = V::splat(0.0);
    n0 = restart ? zero : n0;
    mean0 = restart ? zero : mean0;
    si0 = restart ? zero : si0;
    mi0 = restart ? V::splat(std::numeric_limits<double>::infinity()) : mi0;
    sd0 = restart ? zero : sd0;
    md0 = restart ? V::splat(-1.0) : md0;
  }
  // |x| ≤ DBL_MAX: false for NaN and ±inf.
  const auto ok = V::from_bits(V::bits(xi) & V::splat(std::int64_t{0x7fffffffffffffff})) <=
                  V::splat(std::numeric_limits<double>::max());
  // PageHinkley::update, lane by lane.
  const D n1 = n0 + V::splat(1.0);
  const D mean1 = mean0 + (V::splat(1.0) / n1) * (xi - mean0);
  const D dev = xi - mean1;
  const D si1 = V::splat(c.alpha) * si0 + dev - V::splat(c.delta);
  const D sd1 = V::splat(c.alpha) * sd0 + dev + V::splat(c.delta);
  const D mi1 = si1 < mi0 ? si1 : mi0;
  const D md1 = sd1 > md0 ? sd1 : md0;
  const D threshold = V::splat(c.threshold);
  const auto crossed =
      (V::splat(c.up) & (si1 - mi1 > threshold)) | (V::splat(c.down) & (md1 - sd1 > threshold));
  const D d1 = V::from_bits((n1 >= V::splat(c.min_n)) & crossed & V::bits(V::splat(1.0)));
  // A refused lane keeps its whole state, drift flag included.
  const D d = ok ? d1 : drift_old;
  const D r = ok ? V::splat(0.0) : V::splat(1.0);
  V::store(n_p, ok ? n1 : n_old);
  V::store(mean_p, ok ? mean1 : mean_old);
  V::store(si_p, ok ? si1 : si_old);
  V::store(mi_p, ok ? mi1 : mi_old);
  V::store(sd_p, ok ? sd1 : sd_old);
  V::store(md_p, ok ? md1 : md_old);
  V::store(drift_p, d);
  V::store(refused_p, V::load(refused_p) + r);
  drifts += d;
  refusals += r;
}

template <std::size_t L, bool kRestart>
[[gnu::always_inline]] inline void step_block(const double* x, double* block, const Scalars& c,
                                              typename Simd<L>::D& drifts,
                                              typename Simd<L>::D& refusals) {
  static_assert(Batch::kBlock % L == 0);
  for (std::size_t j = 0; j < Batch::kBlock; j += L) {
    step_group<L, kRestart>(x + j, block + j, c, drifts, refusals);
  }
}

template <std::size_t L, bool kRestart>
[[gnu::always_inline]] inline Batch::Step run(const double* x, std::size_t count, double* storage,
                                              const Scalars& c) {
  using V = Simd<L>;
  constexpr std::size_t B = Batch::kBlock;
  constexpr std::size_t kBlockDoubles = B * Batch::kFields;
  typename V::D drifts = V::splat(0.0);
  typename V::D refusals = V::splat(0.0);
  const std::size_t full = count / B;
  for (std::size_t b = 0; b < full; ++b) {
    step_block<L, kRestart>(x + b * B, storage + b * kBlockDoubles, c, drifts, refusals);
  }
  const std::size_t tail = count % B;
  if (tail != 0) {
    // The last block is partly padding: its padding lanes get NaN, which they refuse (their
    // state never changes) and which is taken back out of the count below.
    double xs[B];
    std::fill(std::begin(xs), std::end(xs), std::numeric_limits<double>::quiet_NaN());
    std::copy_n(x + full * B, tail, xs);
    step_block<L, kRestart>(xs, storage + full * kBlockDoubles, c, drifts, refusals);
  }
  Batch::Step step;
  double total_drifts = 0.0;
  double total_refusals = 0.0;
  for (std::size_t k = 0; k < L; ++k) {
    total_drifts += drifts[k];
    total_refusals += refusals[k];
  }
  step.drifts = static_cast<std::size_t>(total_drifts);
  step.refused = static_cast<std::size_t>(total_refusals) - (tail == 0 ? 0 : B - tail);
  return step;
}

template <std::size_t L>
[[gnu::always_inline]] inline Batch::Step run(const double* x, std::size_t count, double* storage,
                                              const Scalars& c, bool restarts_pending) {
  return restarts_pending ? run<L, true>(x, count, storage, c)
                          : run<L, false>(x, count, storage, c);
}

Batch::Step run_baseline(const double* x, std::size_t count, double* storage, const Scalars& c,
                         bool restarts_pending) {
  return run<2>(x, count, storage, c, restarts_pending);
}

#if OPSREADY_DETECT_X86_DISPATCH
// target("avx2") does not enable FMA, and -ffp-contract=off would forbid contraction anyway.
[[gnu::target("avx2")]] Batch::Step run_avx2(const double* x, std::size_t count, double* storage,
                                             const Scalars& c, bool restarts_pending) {
  return run<4>(x, count, storage, c, restarts_pending);
}

[[gnu::target("avx512f,avx512dq")]] Batch::Step run_avx512(const double* x, std::size_t count,
                                                           double* storage, const Scalars& c,
                                                           bool restarts_pending) {
  return run<8>(x, count, storage, c, restarts_pending);
}
#endif

}  // namespace

bool PageHinkleyBatch::supported(Isa isa) {
  switch (isa) {
    case Isa::kAuto:
    case Isa::kBaseline:
      return true;
    case Isa::kAvx2:
#if OPSREADY_DETECT_X86_DISPATCH
      return __builtin_cpu_supports("avx2");
#else
      return false;
#endif
    case Isa::kAvx512:
#if OPSREADY_DETECT_X86_DISPATCH
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
#else
      return false;
#endif
  }
  return false;
}

PageHinkleyBatch::PageHinkleyBatch(std::size_t series, const PageHinkleyConfig& config, Isa isa)
    : config_(config),
      isa_(isa),
      series_(series),
      storage_((series + kBlock - 1) / kBlock * kBlock * kFields, 0.0) {
  const PageHinkleyState fresh;
  for (std::size_t i = 0; i < storage_.size() / kFields; ++i) {
    at(kMinInc, i) = fresh.min_increase;
    at(kMaxDec, i) = fresh.max_decrease;
  }
}

core::Result<PageHinkleyBatch> PageHinkleyBatch::create(std::size_t series,
                                                        const PageHinkleyConfig& config, Isa isa) {
  if (auto ok = validate(config); !ok) return std::unexpected(ok.error());
  if (!supported(isa)) {
    return core::fail("unsupported_isa", "this CPU or build cannot run the requested SIMD step",
                      "isa");
  }
  if (isa == Isa::kAuto) {
    isa = supported(Isa::kAvx512) ? Isa::kAvx512
          : supported(Isa::kAvx2) ? Isa::kAvx2
                                  : Isa::kBaseline;
  }
  return PageHinkleyBatch(series, config, isa);
}

PageHinkleyBatch::Step PageHinkleyBatch::update(std::span<const double> x) {
  assert(x.size() == size());
  const std::size_t count = std::min(x.size(), size());
  const Scalars c{.alpha = config_.alpha,
                  .delta = config_.delta,
                  .threshold = config_.threshold,
                  .min_n = static_cast<double>(config_.min_instances),
                  .up = tests_up(config_.mode) ? -1 : 0,
                  .down = tests_down(config_.mode) ? -1 : 0};
  // Drift flags are the only source of restarts, and the last step counted them.
  const bool restarts_pending = flagged_ > 0;
  Step step;
  switch (isa_) {
#if OPSREADY_DETECT_X86_DISPATCH
    case Isa::kAvx512:
      step = run_avx512(x.data(), count, storage_.data(), c, restarts_pending);
      break;
    case Isa::kAvx2:
      step = run_avx2(x.data(), count, storage_.data(), c, restarts_pending);
      break;
#endif
    default:
      step = run_baseline(x.data(), count, storage_.data(), c, restarts_pending);
      break;
  }
  flagged_ = step.drifts;
  return step;
}

Direction PageHinkleyBatch::direction(std::size_t i) const {
  return direction_of(state(i), config_);
}

PageHinkleyState PageHinkleyBatch::state(std::size_t i) const {
  return PageHinkleyState{.n = at(kN, i),
                          .mean = at(kMean, i),
                          .sum_increase = at(kSumInc, i),
                          .min_increase = at(kMinInc, i),
                          .sum_decrease = at(kSumDec, i),
                          .max_decrease = at(kMaxDec, i),
                          .drift = at(kDrift, i) != 0.0,
                          .refused = static_cast<std::uint64_t>(at(kRefused, i))};
}

void PageHinkleyBatch::restart(std::size_t i) {
  if (at(kDrift, i) != 0.0) --flagged_;
  const PageHinkleyState fresh;
  at(kN, i) = fresh.n;
  at(kMean, i) = fresh.mean;
  at(kSumInc, i) = fresh.sum_increase;
  at(kMinInc, i) = fresh.min_increase;
  at(kSumDec, i) = fresh.sum_decrease;
  at(kMaxDec, i) = fresh.max_decrease;
  at(kDrift, i) = 0.0;
}

}  // namespace opsready::detect
