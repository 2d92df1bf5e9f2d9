#pragma once
// The demo workload's schedule: what the simulated trading runtime publishes at each tick (one
// tick every kDemoPeriod). A pure function of the tick and the time, so the demo is the same
// on every run and testable.
//
// The runtime's own components that opsready does not evaluate (fix_gateway,
// market_data_ingest, risk_engine) arrive as component.snapshot events; everything opsready
// has an evaluator for arrives as the document the trading runtime publishes on its topic — a
// validation report, an incident-response policy/state document, the SECURITY_* mapping, backup
// policy/state, a failover drill, a cross-region replica report, cache health — so the real
// evaluators grade it (docs/components.md "Report-driven components").
// The telemetry of the observability dashboard's panels arrives on the feed topics
// telemetry.dashboard.* (risk, monitoring, roi, loop, compliance, evolution, operator_leverage,
// backbone, policy_graduation, policy_reflection, quality, gate_metrics; server/dashboard.h).
//
// demo_config() is the demo's embedded configuration on top of the defaults or --config
// (docs/configuration.md "The demo's embedded configuration"): the components it requires, a
// dead-man source on the dashboard feeds, the drill scenario demo-feed-stall that stalls them,
// and two compliance sign-offs in different standings.

#include <chrono>
#include <cstdint>
#include <string_view>
#include <vector>

#include "opsready/app/config.h"
#include "opsready/core/clock.h"
#include "opsready/core/event.h"

namespace opsready::app {

inline constexpr auto kDemoPeriod = std::chrono::seconds(2);

// The demo's built-in drill scenario, and the expected source it silences.
inline constexpr std::string_view kDemoDrill = "demo-feed-stall";
inline constexpr std::string_view kDemoFeedSource = "dashboard_feeds";

// `cfg` with the demo's settings added; what `cfg` already names (a scenario, a sign-off or an
// expected source of the same name, an alerting policy of its own) is kept. `now` anchors the
// sign-offs' `since`, so their standings are the same on every start.
[[nodiscard]] Config demo_config(Config cfg, core::TimePoint now);

[[nodiscard]] std::vector<core::TelemetryEvent> demo_events(std::uint64_t tick,
                                                            core::TimePoint now);

}  // namespace opsready::app
