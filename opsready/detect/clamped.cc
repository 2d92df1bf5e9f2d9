#include "opsready/detect/clamped.h"

namespace opsready::detect {
namespace {

core::Result<void> validate_grades(double warn, double alert, std::uint32_t min_samples) {
  if (std::isnan(warn)) return core::fail("invalid_parameter", "warn must be a number", "warn");
  if (std::isnan(alert)) return core::fail("invalid_parameter", "alert must be a number", "alert");
  if (warn > alert) return core::fail("invalid_parameter", "warn must be <= alert", "warn");
  if (min_samples < 1) {
    return core::fail("invalid_parameter", "min_samples must be at least 1", "min_samples");
  }
  return {};
}

}  // namespace

Direction ClampedSums::direction() const {
  if (-m_neg > m_pos) return Direction::kDown;
  return m_pos > 0.0 ? Direction::kUp : Direction::kNone;
}

core::Result<void> validate(const ClampedPageHinkleyConfig& c) {
  if (!std::isfinite(c.delta) || c.delta < 0.0) {
    return core::fail("invalid_parameter", "delta must be finite and >= 0", "delta");
  }
  return validate_grades(c.warn, c.alert, c.min_samples);
}

core::Result<void> validate(const ClampedCusumConfig& c) {
  if (!std::isfinite(c.reference)) {
    return core::fail("invalid_parameter", "reference must be finite", "reference");
  }
  if (!std::isfinite(c.drift)) {
    return core::fail("invalid_parameter", "drift must be finite", "drift");
  }
  return validate_grades(c.warn, c.alert, c.min_samples);
}

core::Result<ClampedPageHinkley> ClampedPageHinkley::create(const ClampedPageHinkleyConfig& c) {
  if (auto ok = validate(c); !ok) return std::unexpected(ok.error());
  return ClampedPageHinkley(c);
}

core::Result<ClampedCusum> ClampedCusum::create(const ClampedCusumConfig& c) {
  if (auto ok = validate(c); !ok) return std::unexpected(ok.error());
  return ClampedCusum(c);
}

double clamped_page_hinkley(std::span<const double> series, double delta) {
  ClampedPageHinkley ph(ClampedPageHinkleyConfig{.delta = delta});
  for (double x : series) ph.update(x);
  return ph.statistic();
}

double clamped_cusum(std::span<const double> values, double reference, double drift) {
  ClampedCusum cusum(ClampedCusumConfig{.reference = reference, .drift = drift});
  for (double x : values) cusum.update(x);
  return cusum.statistic();
}

}  // namespace opsready::detect
