#include "opsready/detect/page_hinkley.h"

namespace opsready::detect {

Direction direction_of(const PageHinkleyState& s, const PageHinkleyConfig& c) {
  if (!s.drift) return Direction::kNone;
  unsigned bits = 0;
  if (tests_up(c.mode) && s.sum_increase - s.min_increase > c.threshold) bits |= 1U;
  if (tests_down(c.mode) && s.max_decrease - s.sum_decrease > c.threshold) bits |= 2U;
  return static_cast<Direction>(bits);
}

core::Result<void> validate(const PageHinkleyConfig& c) {
  if (c.min_instances < 1) {
    return core::fail("invalid_parameter", "min_instances must be at least 1", "min_instances");
  }
  if (!std::isfinite(c.delta) || c.delta < 0.0) {
    return core::fail("invalid_parameter", "delta must be finite and >= 0", "delta");
  }
  if (!(c.threshold > 0.0)) {
    return core::fail("invalid_parameter", "threshold must be > 0", "threshold");
  }
  if (!(c.alpha > 0.0 && c.alpha <= 1.0)) {
    return core::fail("invalid_parameter", "alpha must be in (0, 1]", "alpha");
  }
  if (c.mode != Mode::kUp && c.mode != Mode::kDown && c.mode != Mode::kBoth) {
    return core::fail("invalid_parameter", "mode must be up, down or both", "mode");
  }
  return {};
}

PageHinkley::PageHinkley(const PageHinkleyConfig& config)
    : config_(config),
      min_instances_(static_cast<double>(config.min_instances)),
      test_up_(tests_up(config.mode)),
      test_down_(tests_down(config.mode)) {}

core::Result<PageHinkley> PageHinkley::create(const PageHinkleyConfig& config) {
  if (auto ok = validate(config); !ok) return std::unexpected(ok.error());
  return PageHinkley(config);
}

Direction PageHinkley::direction() const { return direction_of(state_, config_); }

}  // namespace opsready::detect
