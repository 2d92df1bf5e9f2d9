#pragma once
// NatsBus: the event bus across machines, on NATS JetStream through libnats (3.4).
//
//   auto bus = NatsBus::connect({.servers = {"nats://127.0.0.1:4222"}, .log = my_log});
//   if (!bus) ...;                                        // bad options, library failure
//   PublishResult r = (*bus)->publish(event, "pub-1-42");  // waits for the stream's ack
//   auto consumer = (*bus)->consumer({.durable = "opsready-eval", .filter = "telemetry.>"},
//                                    [&](const core::TelemetryEvent& e) { ... }).value();
//   consumer->start();                                    // or run(stop_token) under a supervisor
//
// Subjects: topic T travels on `<subject_prefix>.T` (opsready.events.T) as the JSON of
// core::to_json(event); the stream (`OPSREADY_EVENTS`, file storage) captures
// `<subject_prefix>.>`. It is created on first use when missing. A non-empty message id is
// sent as Nats-Msg-Id, so the stream stores a retried event once within `duplicate_window`.
//
// Connection: connect() returns at once even when no server is reachable; libnats keeps
// connecting and reconnecting forever with exponential backoff (reconnect_initial doubling up
// to reconnect_max, +-20 % jitter). While disconnected, publish() fails fast (kFailed,
// retryable) instead of buffering, and requests in flight fail on disconnect: the failover
// publisher, not libnats's reconnect buffer, decides where an event goes.
//
// Consumers are durable pull consumers with explicit acks, one fetch loop each (libnats 3.4
// has no asynchronous pull API, so the loop blocks in natsSubscription_Fetch on its own
// thread). A message is acked after its handler returns; a handler exception is counted and
// the message acked (it would fail again). Redeliveries of a message already handled (an ack
// lost in an outage) are recognised by stream sequence and acked without calling the handler
// again, so each event reaches a durable consumer's handler once. Undecodable messages are
// terminated (Term) and counted.
//
// Lifetime: destroying (or close()-ing) the bus closes the connection; consumers then stop
// fetching. Their shared state keeps the connection object valid, so a consumer may outlive
// the bus, but stop consumers first for a clean shutdown. Call shutdown_nats_library() once at
// process exit, after every NatsBus and consumer is gone.
// Thread-safety: publish(), counters(), consumer() from any thread.

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "opsready/bus/event_bus.h"
#include "opsready/core/clock.h"
#include "opsready/core/error.h"

namespace opsready::bus {

struct NatsBusOptions {
  std::string name = "nats";
  std::vector<std::string> servers = {"nats://127.0.0.1:4222"};
  std::string connection_name = "opsready";
  std::string stream = "OPSREADY_EVENTS";
  std::string subject_prefix = "opsready.events";
  bool create_stream = true;  // create the stream on first use if it does not exist
  bool memory_storage = false;
  core::Duration duplicate_window = std::chrono::minutes(2);
  std::int64_t max_bytes = -1;                 // stream limit; -1 unlimited
  core::Duration max_age = core::Duration(0);  // 0: keep forever (limits policy)
  core::Duration connect_timeout = std::chrono::seconds(2);
  core::Duration publish_timeout = std::chrono::seconds(2);  // wait for the stream's ack
  core::Duration reconnect_initial = std::chrono::milliseconds(100);
  core::Duration reconnect_max = std::chrono::seconds(5);
  std::size_t async_max_pending = 4096;  // publish_pipelined() in-flight window
  LogFn log;
};

struct NatsConsumerOptions {
  std::string durable;       // required: [A-Za-z0-9_-]+
  std::string filter = ">";  // a TopicPattern, mapped under the subject prefix
  int batch = 256;           // messages per fetch
  core::Duration fetch_timeout = std::chrono::milliseconds(500);  // also the stop latency
  core::Duration ack_wait = std::chrono::seconds(30);
  std::int64_t max_ack_pending = 20000;
  std::size_t dedup_window = 1 << 16;  // stream sequences remembered for redelivery checks
};

struct NatsConsumerCounters {
  std::uint64_t received = 0;   // messages fetched
  std::uint64_t delivered = 0;  // handler calls that returned
  std::uint64_t handler_errors = 0;
  std::uint64_t duplicates = 0;  // redeliveries of messages already handled
  std::uint64_t undecodable = 0;
  std::uint64_t fetch_errors = 0;
  std::uint64_t pending = 0;  // stream messages not yet delivered to this consumer
  bool operator==(const NatsConsumerCounters&) const = default;
};

struct PipelineResult {
  std::size_t acked = 0;
  std::size_t failed = 0;
  std::string first_error;
  bool operator==(const PipelineResult&) const = default;
};

namespace detail {
struct NatsShared;
struct NatsConsumerState;
}  // namespace detail

class NatsConsumer {
 public:
  ~NatsConsumer();  // stops the loop; the durable consumer stays on the server
  NatsConsumer(const NatsConsumer&) = delete;
  NatsConsumer& operator=(const NatsConsumer&) = delete;

  // The fetch loop, for a supervisor: returns when `stop` is requested (within fetch_timeout)
  // or the bus is closed. Binds (or creates) the durable consumer, retrying with backoff while
  // the server is unreachable.
  void run(std::stop_token stop);
  // run() on a thread owned by the consumer. No-op when already started.
  void start();
  void stop();

  [[nodiscard]] NatsConsumerCounters counters() const;
  [[nodiscard]] const std::string& durable() const;

 private:
  friend class NatsBus;
  explicit NatsConsumer(std::shared_ptr<detail::NatsConsumerState> state);
  std::shared_ptr<detail::NatsConsumerState> state_;
  std::jthread thread_;
};

class NatsBus final : public EventBus {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<NatsBus>> connect(
      NatsBusOptions options, const core::Clock& clock = core::SystemClock::instance());
  ~NatsBus() override;
  NatsBus(const NatsBus&) = delete;
  NatsBus& operator=(const NatsBus&) = delete;

  [[nodiscard]] std::string_view name() const override;
  // Open (not closed); see connected() for the link itself.
  [[nodiscard]] bool is_running() const override;
  using EventBus::publish;
  [[nodiscard]] PublishResult publish(const core::TelemetryEvent& event,
                                      std::string_view message_id) override;
  [[nodiscard]] BusCounters counters() const override;

  // Bulk publishing: sends every event without waiting, then waits for all the stream's acks.
  // Much faster than publish() per event, but a failure is reported for the batch as a whole
  // (which events failed is not tracked), so it is for producers that can resend a batch;
  // the failover publisher uses publish().
  [[nodiscard]] PipelineResult publish_pipelined(std::span<const core::TelemetryEvent> events);

  [[nodiscard]] core::Result<std::unique_ptr<NatsConsumer>> consumer(NatsConsumerOptions options,
                                                                     Handler handler);
  [[nodiscard]] bool connected() const;
  // Creates the stream if it is missing (done lazily by publish and consumers too).
  [[nodiscard]] core::Result<void> ensure_stream();
  // `opsready.events.<topic>`
  [[nodiscard]] std::string subject_for(std::string_view topic) const;
  // Stops publishing and closes the connection (consumers' loops end).
  void close();

 private:
  explicit NatsBus(std::shared_ptr<detail::NatsShared> shared);
  std::shared_ptr<detail::NatsShared> shared_;
};

// nats_CloseAndWait: releases libnats's global threads and memory. Once, at process exit,
// from main() (or a test environment's TearDown) after every NatsBus and consumer is gone.
// Not from a static destructor: libnats's own exit-time cleanup may have run already, and the
// call then crashes.
void shutdown_nats_library();

}  // namespace opsready::bus
