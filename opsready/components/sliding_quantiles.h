#pragma once
// SlidingQuantiles: the latest `capacity` observations of a series, kept both in arrival order
// and sorted, so nearest-rank percentiles of the window cost O(1) to read and O(capacity) (one
// memmove) to update, instead of a sort per evaluation.
//
//   components::SlidingQuantiles w(1024);
//   w.add(latency_seconds);             // evicts the oldest once 1024 are held
//   double p95 = w.nearest_rank(0.95);  // the ceil(0.95 n)-th smallest
//
// Values must be finite (callers refuse the others). Plain value, not thread-safe.

#include <cstddef>
#include <deque>
#include <vector>

namespace opsready::components {

class SlidingQuantiles {
 public:
  explicit SlidingQuantiles(std::size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {}

  void add(double v);

  [[nodiscard]] std::size_t size() const { return sorted_.size(); }
  [[nodiscard]] bool empty() const { return sorted_.empty(); }
  // The ceil(p·n)-th smallest value (at least the first), p in (0, 1]; 0 when empty.
  [[nodiscard]] double nearest_rank(double p) const;
  [[nodiscard]] double max() const { return sorted_.empty() ? 0.0 : sorted_.back(); }

 private:
  std::size_t capacity_;
  std::deque<double> arrival_;
  std::vector<double> sorted_;
};

}  // namespace opsready::components
