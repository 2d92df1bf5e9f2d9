#pragma once
// FailoverPublisher: publishes each event on the first bus of an ordered list that takes it,
// and spools it durably when none does, so that no event is dropped silently.
//
//   InProcessBus local;  NatsBus& nats = ...;
//   FailoverPublisher pub({&nats, &local}, {.spool_dir = "/var/lib/opsready/spool",
//                                           .log = my_log});
//   auto r = pub.publish(event);
//   if (!r) log(r.error().describe());   // "Failed to publish event 'x' via spool: ..."
//   else if (r->route == Delivery::Route::kSpool) ...;   // kept on disk, replayed later
//
// The state machine, per publish, under one mutex (so events leave in the order they came):
//  1. If the spool holds events, replay them first (oldest first) to the first bus that takes
//     each; a record is removed only after a bus accepted it. If events remain (no bus is
//     back), the new event is appended behind them: a new event never overtakes a spooled one.
//  2. Otherwise try the buses in order. A bus that fails (kNotRunning or kFailed) is marked
//     down: a warning is logged once per outage ("falling back to <next>"), and it is skipped
//     until `retry_interval` has passed, then tried again. A bus that accepts after an outage
//     is logged once as recovered.
//  3. Every bus failed: append to the spool (Route::kSpool). If every bus that was tried
//     refused the event permanently (retryable=false: invalid topic, too large) it is not
//     spooled (it would block the spool forever): error, stage kBus, code
//     `rejected_by_every_bus`. A permanent refusal concerns the event, not the bus: it does
//     not mark the bus down.
// Unexpected errors become a typed PublishError naming the stage and the event type, never an
// exception or a crash: a bus that throws (a bug: stage kBus, code `bus_exception`; later buses
// are not tried, as in the spec), a spool that cannot take the event (stage kSpool: full disk,
// read-only file system, no spool configured), a spool that cannot be read during replay
// (stage kReplay). During replay, a record that every bus refuses permanently is moved to
// <spool_dir>/rejected.jsonl and counted, so it cannot block the spool.
//
// Each event gets a message id "<publisher_id>-<nonce>-<sequence>" that travels with it into
// the spool and back: JetStream deduplicates on it, so an attempt that timed out but was stored
// after all does not appear twice when it is replayed (within the stream's duplicate window).
// The nonce is random per publisher instance, so a restarted process never reuses an id.
//
// Thread-safe: publish(), replay() and counters() from any thread; they serialise. run() is a
// blocking loop for a supervisor that replays the spool every retry_interval even when no new
// event arrives. The buses are not owned and must outlive the publisher.

#include <cstdint>
#include <expected>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "opsready/bus/event_bus.h"
#include "opsready/bus/spool.h"
#include "opsready/core/clock.h"

namespace opsready::bus {

enum class PublishStage : std::uint8_t { kBus, kSpool, kReplay };
[[nodiscard]] std::string_view to_string(PublishStage s);  // "bus", "spool", "replay"

struct PublishError {
  PublishStage stage = PublishStage::kBus;
  std::string bus;         // the bus involved (kBus, kReplay), else empty
  std::string event_type;  // the event's topic
  std::string code;        // bus_exception, rejected_by_every_bus, no_spool, spool_full, ...
  std::string message;

  bool operator==(const PublishError&) const = default;
  // "Failed to publish event '<type>' via <stage> (bus '<bus>'): <message>"
  [[nodiscard]] std::string describe() const;
};

struct Delivery {
  enum class Route : std::uint8_t { kBus, kSpool };
  Route route = Route::kBus;
  std::size_t bus_index = 0;  // kBus: position in the list
  std::string bus;            // kBus: its name
  std::size_t subscribers = 0;
  std::string message_id;

  bool operator==(const Delivery&) const = default;
};

struct FailoverOptions {
  // Empty: no spool; when every bus fails, publish() returns a kSpool error `no_spool`.
  std::filesystem::path spool_dir;
  SpoolOptions spool;
  // How long a failed bus is skipped before it is tried again (and how often run() replays).
  core::Duration retry_interval = std::chrono::seconds(1);
  // First part of message ids (names the producer); empty: "opsready". A random per-instance
  // nonce follows it, so ids never repeat across restarts.
  std::string publisher_id;
  LogFn log;
};

struct BusRouteCounters {
  std::string name;
  bool up = true;
  std::uint64_t delivered = 0;  // events this bus took (new and replayed)
  std::uint64_t failures = 0;   // attempts it refused
  std::uint64_t outages = 0;    // up -> down transitions
  std::string last_error;

  bool operator==(const BusRouteCounters&) const = default;
};

struct FailoverCounters {
  std::vector<BusRouteCounters> buses;
  std::uint64_t published = 0;  // events handed to publish() that did not end in an error
  std::uint64_t spooled = 0;    // appended to the spool
  std::uint64_t replayed = 0;   // taken from the spool by a bus
  std::uint64_t rejected = 0;   // moved to rejected.jsonl during replay
  std::uint64_t errors = 0;     // publish() calls that returned a PublishError
  bool spool_configured = false;
  bool spool_available = false;  // the spool directory is open
  std::string spool_error;       // why it is not, when it is not
  SpoolStats spool;

  bool operator==(const FailoverCounters&) const = default;
};

class FailoverPublisher {
 public:
  FailoverPublisher(std::vector<EventBus*> buses, FailoverOptions options = {},
                    const core::Clock& clock = core::SystemClock::instance());
  ~FailoverPublisher();
  FailoverPublisher(const FailoverPublisher&) = delete;
  FailoverPublisher& operator=(const FailoverPublisher&) = delete;

  [[nodiscard]] std::expected<Delivery, PublishError> publish(const core::TelemetryEvent& event);
  // Replays what it can now; returns how many records a bus took. Also syncs the spool when
  // its fsync interval is due.
  [[nodiscard]] std::expected<std::size_t, PublishError> replay();
  // Replays every retry_interval (at least every 10 ms) until `stop` is requested.
  void run(std::stop_token stop);

  [[nodiscard]] FailoverCounters counters() const;
  [[nodiscard]] std::uint64_t spool_pending() const;

 private:
  struct BusState {
    EventBus* bus = nullptr;
    BusRouteCounters counters;
    core::TimePoint retry_at{};
    core::TimePoint down_since{};
    std::uint64_t failures_this_outage = 0;
  };
  struct Attempt {
    bool delivered = false;
    std::size_t bus_index = 0;
    std::size_t subscribers = 0;
    bool any_tried = false;
    bool all_permanent = true;
    std::string reasons;
  };

  std::expected<Attempt, PublishError> try_buses(const core::TelemetryEvent& event,
                                                 const std::string& message_id, PublishStage stage);
  void mark_down(std::size_t index, const PublishResult& result);
  void mark_up(std::size_t index);
  std::expected<Delivery, PublishError> spool_event(const core::TelemetryEvent& event,
                                                    const std::string& message_id,
                                                    const std::string& reasons);
  std::expected<std::size_t, PublishError> replay_locked();
  bool ensure_spool();
  void dead_letter(const SpoolRecord& record, const std::string& reasons);
  std::string fallback_name(std::size_t index) const;
  PublishError error(PublishError e);

  FailoverOptions options_;
  const core::Clock& clock_;
  mutable std::mutex mu_;
  std::vector<BusState> buses_;
  std::unique_ptr<Spool> spool_;
  core::Error spool_error_;
  bool spool_error_logged_ = false;
  bool spooling_ = false;
  std::string id_prefix_;
  std::uint64_t next_sequence_ = 1;
  FailoverCounters totals_;
};

}  // namespace opsready::bus
