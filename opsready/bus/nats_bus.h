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
// thread). A message carries one event or a batch of them: a JSON object, a JSON array or
// NDJSON (core::parse_events), optionally gzip-compressed (header `Content-Encoding: gzip`).
// Events may omit `topic`: the subject names it; an event naming another topic makes the
// message invalid. A message with any invalid event is terminated (Term) whole, counted as
// undecodable and reported to `on_reject`: none of its events is delivered.
//
// Two kinds of handler:
//  - Handler, called per event. The message is acked after its events' handlers returned; a
//    handler exception is counted and the message acked (it would fail again).
//  - BatchHandler, called once per fetch with the events of every valid message, in stream
//    order. It returns whether it took them: true acks their messages; false, or an
//    exception (counted), naks them with `redeliver_delay`, so they come again, to this or
//    another replica. It may block for back-pressure (it gets the loop's stop token).
// Redeliveries of a message already handled (an ack lost in an outage) are recognised by
// stream sequence and acked without calling the handler again, so each event reaches a
// durable consumer's handler once.
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

// Called on the consumer's loop thread for every message that is not a valid event batch.
using RejectFn = std::function<void(std::string_view subject, std::uint64_t stream_sequence,
                                    std::string_view reason)>;

struct NatsConsumerOptions {
  std::string durable;       // required: [A-Za-z0-9_-]+
  std::string filter = ">";  // a TopicPattern, mapped under the subject prefix
  int batch = 256;           // messages per fetch
  core::Duration fetch_timeout = std::chrono::milliseconds(500);  // also the stop latency
  core::Duration ack_wait = std::chrono::seconds(30);
  std::int64_t max_ack_pending = 20000;
  std::size_t dedup_window = 1 << 16;  // stream sequences remembered for redelivery checks
  // A message (after gzip decompression) larger than this is refused whole.
  std::size_t max_message_bytes = 8u << 20;
  // BatchHandler: how long a batch it did not take waits before it is redelivered.
  core::Duration redeliver_delay = std::chrono::seconds(1);
  // This process is the durable consumer's only reader. A delivery lost in flight (a server
  // restart, a broken connection) would otherwise come back only after ack_wait, behind later
  // messages; it shows as a gap in the delivery sequence, so the missed stream messages are
  // read from the stream directly (at most `max_gap_fill` of them) and handled first, keeping
  // stream order, and their late redeliveries are acked as duplicates. Set false when several
  // processes share the durable name: each then sees gaps that are the others' work.
  bool ordered = true;
  std::uint64_t max_gap_fill = 100000;
  RejectFn on_reject;
  // Asked for each event of a decoded message (thread-safe; the fetch thread calls it): a
  // refusal makes the message invalid, as an unparsable event does (terminated, counted,
  // on_reject). The daemon's is components::DocumentChecker: a document of the wrong shape.
  std::function<core::Result<void>(const core::TelemetryEvent&)> check;
};

// Per event: see above. Per fetch: the events of its valid messages, in stream order; return
// true when taken.
using BatchHandler =
    std::function<bool(std::vector<core::TelemetryEvent>& events, std::stop_token stop)>;

struct NatsConsumerCounters {
  std::uint64_t received = 0;   // messages fetched
  std::uint64_t delivered = 0;  // events handed to a handler that returned (took them)
  std::uint64_t handler_errors = 0;
  std::uint64_t duplicates = 0;  // redeliveries of messages already handled
  std::uint64_t undecodable = 0;
  std::uint64_t fetch_errors = 0;
  std::uint64_t pending = 0;     // stream messages not yet delivered to this consumer
  std::uint64_t not_taken = 0;   // BatchHandler: messages naked for redelivery
  std::uint64_t gap_filled = 0;  // ordered: messages read from the stream to fill a gap
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
  [[nodiscard]] core::Result<std::unique_ptr<NatsConsumer>> consumer(NatsConsumerOptions options,
                                                                     BatchHandler handler);
  [[nodiscard]] bool connected() const;
  // Creates the stream if it is missing (done lazily by publish and consumers too).
  [[nodiscard]] core::Result<void> ensure_stream();
  // The JetStream CONSUMER.INFO of `consumer` on `stream` (this bus's stream when empty), as
  // the nats_consumer component reads it (docs/components.md "nats_consumer"): {stream,
  // consumer, num_pending, num_ack_pending, num_redelivered, num_waiting, max_ack_pending?,
  // delivered{stream_seq, consumer_seq}, ack_floor{stream_seq, consumer_seq}, observed_at}.
  // Blocks for one request (at most publish_timeout).
  [[nodiscard]] core::Result<nlohmann::json> consumer_info(std::string_view stream,
                                                           std::string_view consumer);
  // `opsready.events.<topic>`
  [[nodiscard]] std::string subject_for(std::string_view topic) const;
  // Stops publishing and closes the connection (consumers' loops end).
  void close();

 private:
  explicit NatsBus(std::shared_ptr<detail::NatsShared> shared);
  core::Result<std::unique_ptr<NatsConsumer>> make_consumer(NatsConsumerOptions options,
                                                            Handler handler,
                                                            BatchHandler batch_handler);
  std::shared_ptr<detail::NatsShared> shared_;
};

// nats_CloseAndWait: releases libnats's global threads and memory. Once, at process exit,
// from main() (or a test environment's TearDown) after every NatsBus and consumer is gone.
// Not from a static destructor: libnats's own exit-time cleanup may have run already, and the
// call then crashes.
void shutdown_nats_library();

}  // namespace opsready::bus
