#include "opsready/detect/cusum.h"

namespace opsready::detect {

core::Result<void> validate(const CusumConfig& c) {
  if (c.min_instances < 1) {
    return core::fail("invalid_parameter", "min_instances must be at least 1", "min_instances");
  }
  if (!std::isfinite(c.slack) || c.slack < 0.0) {
    return core::fail("invalid_parameter", "slack must be finite and >= 0", "slack");
  }
  if (!(c.threshold > 0.0)) {
    return core::fail("invalid_parameter", "threshold must be > 0", "threshold");
  }
  if (c.mode != Mode::kUp && c.mode != Mode::kDown && c.mode != Mode::kBoth) {
    return core::fail("invalid_parameter", "mode must be up, down or both", "mode");
  }
  return {};
}

Cusum::Cusum(const CusumConfig& config)
    : config_(config), test_up_(tests_up(config.mode)), test_down_(tests_down(config.mode)) {}

core::Result<Cusum> Cusum::create(const CusumConfig& config) {
  if (auto ok = validate(config); !ok) return std::unexpected(ok.error());
  return Cusum(config);
}

// River: reference = Mean.get(); sigma = max(Var.get(), 0) ** 0.5. Python's float ** 0.5 calls
// the C library's pow(), which is not always the correctly rounded sqrt(); pow() keeps parity.
void Cusum::freeze() {
  reference_ = stats_.mean();
  const double var = stats_.variance();
  sigma_ = std::pow(0.0 > var ? 0.0 : var, 0.5);
  frozen_ = true;
}

void Cusum::restart() {
  const std::uint64_t refused = refused_;
  *this = Cusum(config_);
  refused_ = refused;
}

Direction Cusum::direction() const {
  if (!drift_) return Direction::kNone;
  const double limit = config_.threshold * sigma_;
  unsigned bits = 0;
  if (test_up_ && sum_increase_ > limit) bits |= 1U;
  if (test_down_ && sum_decrease_ > limit) bits |= 2U;
  return static_cast<Direction>(bits);
}

}  // namespace opsready::detect
