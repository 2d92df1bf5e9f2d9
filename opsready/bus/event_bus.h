#pragma once
// EventBus: the seam every publisher of telemetry talks to, whatever carries the events (the
// in-process bus, NATS JetStream, a test double). The failover publisher holds an ordered list
// of them.
//
//   PublishResult r = bus.publish(event);
//   switch (r.status) {
//     case PublishStatus::kDelivered:  // r.subscribers may be 0: accepted, nobody listening
//     case PublishStatus::kNotRunning: // the bus is stopped: the event was NOT taken
//     case PublishStatus::kFailed:     // r.reason says why; r.retryable whether to try again
//   }
//
// The spec's contract "None means not delivered, any integer (0 included) means delivered" is
// the distinction between kDelivered{0} and kNotRunning/kFailed here. A bus never throws from
// publish(); the failover publisher still guards against one that does (a bug) and reports it
// as a typed error.
//
// Implementations are thread-safe: publish() and counters() may be called from any thread.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "opsready/core/clock.h"
#include "opsready/core/event.h"
#include "opsready/supervise/types.h"

namespace opsready::bus {

// Logging is a callback so the library stays embeddable: the runtime routes it to spdlog, a
// test collects it, a null LogFn discards it. Called from whatever thread hit the condition.
// The same levels and callback type as the supervisor's (one log vocabulary per runtime).
using supervise::LogFn;
using supervise::LogLevel;
// Calls `log` when it is set.
void log_to(const LogFn& log, LogLevel level, std::string_view message);

// A subscriber. Exceptions it throws are caught, counted and logged by the bus; they never
// reach the publisher or other subscribers.
using Handler = std::function<void(const core::TelemetryEvent&)>;

enum class PublishStatus : std::uint8_t {
  kDelivered,   // accepted; `subscribers` receivers will see it (0 is a success)
  kNotRunning,  // the bus is not started (or stopping): the event was not taken
  kFailed,      // the bus is running but could not take the event; see reason/retryable
};
[[nodiscard]] std::string_view to_string(PublishStatus s);

struct PublishResult {
  PublishStatus status = PublishStatus::kFailed;
  // kDelivered only. In-process: handlers whose pattern matched the topic when the event was
  // queued. JetStream: 1, the stream that stored it (its durable consumers read it later).
  std::size_t subscribers = 0;
  // kNotRunning/kFailed: why, for logs and typed errors.
  std::string reason;
  // kFailed only: false when this bus will never take this event (invalid topic, message too
  // large), true for conditions that pass (disconnected, timeout, queue full).
  bool retryable = true;

  bool operator==(const PublishResult&) const = default;

  [[nodiscard]] bool delivered() const { return status == PublishStatus::kDelivered; }

  [[nodiscard]] static PublishResult delivered_to(std::size_t subscribers) {
    return {PublishStatus::kDelivered, subscribers, {}, true};
  }
  [[nodiscard]] static PublishResult not_running(std::string reason) {
    return {PublishStatus::kNotRunning, 0, std::move(reason), true};
  }
  [[nodiscard]] static PublishResult failed(std::string reason, bool retryable = true) {
    return {PublishStatus::kFailed, 0, std::move(reason), retryable};
  }
};

// What a bus says about itself; the input of evaluate_bus_health(). Field names follow the
// spec's EventBusStatistics.
struct BusCounters {
  bool running = false;
  std::uint64_t published = 0;       // events the bus accepted
  std::uint64_t delivered = 0;       // handler invocations that returned normally
  std::uint64_t dropped = 0;         // events refused: not running, queue full, failed publish
  std::uint64_t handler_errors = 0;  // handler invocations that threw
  std::size_t queue_depth = 0;       // accepted, not yet handed to handlers (JetStream: lag)
  std::optional<std::size_t> queue_capacity;  // unset: unbounded
  std::size_t subscriber_count = 0;
  std::map<std::string, std::size_t> topic_subscribers;  // pattern -> subscriptions
  std::optional<core::TimePoint> last_event_at;          // bus clock when events last moved
  std::optional<core::TimePoint> last_error_at;          // bus clock at the last handler error
  std::optional<core::TimePoint> started_at;

  bool operator==(const BusCounters&) const = default;
};

class EventBus {
 public:
  virtual ~EventBus() = default;

  // Stable name used in logs, typed errors and metrics ("in_process", "nats").
  [[nodiscard]] virtual std::string_view name() const = 0;
  [[nodiscard]] virtual bool is_running() const = 0;
  // `message_id` identifies the event across retries: the failover publisher reuses it when it
  // replays the spool, so a bus that deduplicates (JetStream's Nats-Msg-Id) stores the event
  // once even if an earlier attempt timed out after all. Empty: no identity.
  [[nodiscard]] virtual PublishResult publish(const core::TelemetryEvent& event,
                                              std::string_view message_id) = 0;
  [[nodiscard]] PublishResult publish(const core::TelemetryEvent& event) {
    return publish(event, {});
  }
  [[nodiscard]] virtual BusCounters counters() const = 0;
};

}  // namespace opsready::bus
