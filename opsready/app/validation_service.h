#pragma once
// ValidationService: continuous system validation (docs/operator-guide.md "Continuous
// validation"). Each of validation.schedules runs every `every`, or at the fire times of its
// `cron` expression (UTC, core/cron.h): a command whose stdout is a report document (the
// runtime's system-completeness validator, or any command producing the system-validation
// report), taken in as an event on the schedule's topic exactly as if the
// runtime had posted it (checked and refused the same way), or a drill scenario (a game day).
// Every run is logged and counted; the `continuous_validation` component grades the
// schedules themselves: a failed run is a warning issue, a missed one (no successful run by
// missed_after()) a critical one, so the gate sees a validation that stopped running.
//
// The loop runs on the evaluation strand; commands run on the pool. Thread-safe: none needed
// (the loop owns its state).

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include "opsready/app/config.h"
#include "opsready/core/clock.h"
#include "opsready/core/error.h"
#include "opsready/core/event.h"
#include "opsready/core/snapshot.h"
#include "opsready/metrics/registry.h"

namespace opsready::app {

inline constexpr std::string_view kContinuousValidationComponent = "continuous_validation";

// When a schedule whose last success (or, before one, the daemon's start) was at `since` is
// missed: the run due next after `since`, plus grace. Interval: since + every + grace. Cron: the
// first fire time after `since`, plus grace, or when grace is zero plus the gap to the fire time
// after it ("0 9 * * mon-fri", last success on Friday: missed from Tuesday 09:00, when the run
// after Monday's is due). TimePoint::max() when the expression fires no more.
[[nodiscard]] core::TimePoint missed_after(const ValidationSchedule& schedule,
                                           core::TimePoint since);

class ValidationService {
 public:
  struct Hooks {
    // Whether ingest would refuse the event (a document of the wrong shape), then queues it.
    std::function<core::Result<void>(core::TelemetryEvent)> ingest;
    // Starts a drill (DrillService::start's answer: status and body).
    std::function<std::pair<int, nlohmann::json>(const nlohmann::json&)> drill;
    // The continuous_validation component's snapshot, into the engine (strand).
    std::function<void(core::ComponentSnapshot)> publish;
    std::string base_url;  // OPSREADY_URL for the commands
  };

  ValidationService(const ValidationConfig& config, const core::Clock& clock,
                    metrics::Registry& registry, asio::io_context& ctx, asio::thread_pool& pool,
                    Hooks hooks);
  ~ValidationService();

  asio::awaitable<void> loop();

  // The component's snapshot at `now` (also published by the loop).
  [[nodiscard]] core::ComponentSnapshot snapshot(core::TimePoint now) const;

 private:
  struct Metrics;
  struct State {
    const ValidationSchedule* schedule = nullptr;
    core::TimePoint next_at{};
    std::optional<core::TimePoint> last_run_at, last_ok_at;
    std::string last_error;  // of the last run; empty when it succeeded
    std::uint64_t runs = 0, failures = 0;
  };

  asio::awaitable<void> run(State& s);

  ValidationConfig config_;
  const core::Clock& clock_;
  std::unique_ptr<Metrics> metrics_;
  asio::io_context& ctx_;
  asio::thread_pool& pool_;
  Hooks hooks_;
  std::vector<State> states_;
  core::TimePoint started_at_{};
};

}  // namespace opsready::app
