#include "opsready/detect/rolling_variance.h"

#include "opsready/detect/stats.h"

namespace opsready::detect {

core::Result<void> validate(const RollingVarianceConfig& c) {
  if (c.baseline_window < 2) {
    return core::fail("invalid_parameter", "baseline_window must be at least 2", "baseline_window");
  }
  if (c.evaluation_window < 2) {
    return core::fail("invalid_parameter", "evaluation_window must be at least 2",
                      "evaluation_window");
  }
  if (std::isnan(c.warn_ratio)) {
    return core::fail("invalid_parameter", "warn_ratio must be a number", "warn_ratio");
  }
  if (std::isnan(c.alert_ratio)) {
    return core::fail("invalid_parameter", "alert_ratio must be a number", "alert_ratio");
  }
  if (c.warn_ratio > c.alert_ratio) {
    return core::fail("invalid_parameter", "warn_ratio must be <= alert_ratio", "warn_ratio");
  }
  return {};
}

RollingVariance::RollingVariance(const RollingVarianceConfig& config)
    : config_(config),
      ring_(2 * (static_cast<std::size_t>(config.baseline_window) + config.evaluation_window),
            0.0) {}

core::Result<RollingVariance> RollingVariance::create(const RollingVarianceConfig& config) {
  if (auto ok = validate(config); !ok) return std::unexpected(ok.error());
  return RollingVariance(config);
}

Grade RollingVariance::update(double x) {
  if (!std::isfinite(x)) [[unlikely]] {
    ++refused_;
    return Grade::kRefused;
  }
  const std::size_t w = window();
  const std::size_t slot = static_cast<std::size_t>(count_ % w);
  ring_[slot] = x;
  ring_[slot + w] = x;
  ++count_;
  if (full()) ratio_ = variance_ratio(baseline(), evaluation());
  return grade();
}

Grade RollingVariance::grade() const {
  if (!ratio_) return Grade::kNormal;
  return detect::grade(*ratio_, config_.warn_ratio, config_.alert_ratio);
}

std::span<const double> RollingVariance::baseline() const {
  if (!full()) return {};
  const std::size_t start = static_cast<std::size_t>(count_ % window());
  return std::span<const double>(ring_).subspan(start, config_.baseline_window);
}

std::span<const double> RollingVariance::evaluation() const {
  if (!full()) return {};
  const std::size_t start = static_cast<std::size_t>(count_ % window());
  return std::span<const double>(ring_).subspan(start + config_.baseline_window,
                                                config_.evaluation_window);
}

void RollingVariance::reset() {
  count_ = 0;
  ratio_.reset();
}

}  // namespace opsready::detect
