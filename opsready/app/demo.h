#pragma once
// The demo workload's schedule: which component snapshots the simulated trading runtime
// publishes at each tick (one tick every kDemoPeriod). A pure function of the tick, so the
// demo is the same on every run and testable.

#include <chrono>
#include <cstdint>
#include <vector>

#include "opsready/core/snapshot.h"

namespace opsready::app {

inline constexpr auto kDemoPeriod = std::chrono::seconds(2);

[[nodiscard]] std::vector<core::ComponentSnapshot> demo_snapshots(std::uint64_t tick,
                                                                  core::TimePoint now);

}  // namespace opsready::app
