#pragma once
// Feeding a run of samples to one detector, with its state held in registers.
//
//   detect::PageHinkley ph;   // e.g. a member of a component
//   std::vector<std::size_t> found;   // reserved by the caller
//   detect::feed(ph, samples, [&](std::size_t i, detect::Outcome o) {
//     if (o == detect::Outcome::kDrift) found.push_back(i);
//   });
//
// Equivalent to calling d.update(xs[i]) for each i in order and passing each result to
// on_result(i, result). It is faster when `d` is reachable from elsewhere (a member, or any
// object whose address has escaped): then the compiler must assume a load of the next sample
// may alias the detector's doubles and keeps the state in memory, a store-to-load round trip on
// every update. feed() works on a local copy that nothing else can see and writes it back once
// at the end, so the state stays in registers (Page-Hinkley: about 3x faster here, see
// docs/detectors.md). The callback sees the result, not the detector; it must not touch `d`.
//
// Only for detectors that are trivially copyable (PageHinkley, ClampedPageHinkley,
// ClampedCusum, Cusum, Welford), so the copy is a handful of words and never allocates.

#include <cstddef>
#include <span>
#include <type_traits>

// GCC 12's SLP vectoriser, seeded by the write-back below, packs pairs of the loop-carried state
// into vector registers and adds shuffles to every update's dependency chain, which halves
// Page-Hinkley's speed. It is turned off for this one function; clang does not do this.
#if defined(__GNUC__) && !defined(__clang__)
#define OPSREADY_DETECT_FEED_ATTRIBUTES [[gnu::optimize("no-tree-slp-vectorize")]]
#else
#define OPSREADY_DETECT_FEED_ATTRIBUTES
#endif

namespace opsready::detect {

template <typename Detector, typename OnResult>
OPSREADY_DETECT_FEED_ATTRIBUTES void feed(Detector& d, std::span<const double> xs,
                                          OnResult&& on_result) {
  static_assert(std::is_trivially_copyable_v<Detector>,
                "feed() copies the detector; use update() for detectors that own buffers");
  Detector local = d;
  for (std::size_t i = 0; i < xs.size(); ++i) on_result(i, local.update(xs[i]));
  d = local;
}

}  // namespace opsready::detect
