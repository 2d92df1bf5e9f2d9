#include "opsready/components/sliding_quantiles.h"

#include <algorithm>
#include <cmath>

namespace opsready::components {

void SlidingQuantiles::add(double v) {
  if (arrival_.size() == capacity_) {
    const double old = arrival_.front();
    arrival_.pop_front();
    sorted_.erase(std::lower_bound(sorted_.begin(), sorted_.end(), old));
  }
  arrival_.push_back(v);
  sorted_.insert(std::upper_bound(sorted_.begin(), sorted_.end(), v), v);
}

double SlidingQuantiles::nearest_rank(double p) const {
  if (sorted_.empty()) return 0.0;
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted_.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted_.size());
  return sorted_[rank - 1];
}

}  // namespace opsready::components
