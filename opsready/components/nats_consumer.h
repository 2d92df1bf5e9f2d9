#pragma once
// NatsConsumer: the `nats_consumer` readiness component — the lag of the JetStream consumers
// that feed the platform (opsready's stand-in for the original's Kafka consumer lag, spec
// alerts-bus-dashboard-drills-ci §10 kafka_ingest_offset_recovery). Every report is one
// consumer's CONSUMER.INFO; the component keeps the latest report of every (stream, consumer)
// it has seen and grades each one at snapshot time.
//
//   auto lag = components::NatsConsumer::create({}).value();
//   lag->apply(event);   // telemetry.bus.consumer {stream_name: "TELEMETRY", name: "ingest",
//                        //   num_pending: 12, num_ack_pending: 3, num_redelivered: 0, ...}
//   core::ComponentSnapshot s = lag->snapshot(clock.now());   // staleness measured at now
//
// Consumes `telemetry.bus.consumer` (published by opsready's bus layer) and
// `telemetry.kafka.lag` (the same shape): the JetStream API's $JS.API.CONSUMER.INFO response
// {type?, stream_name | stream, name | consumer, num_pending, num_ack_pending,
// num_redelivered, num_waiting?, delivered?{consumer_seq, stream_seq, last_active?},
// ack_floor?{...}, config?{max_ack_pending?, ack_policy?, ...}, max_ack_pending?, ts |
// observed_at?, created?, cluster?, push_bound?, paused?, pause_remaining?, priority_groups?}
// (docs/schemas/nats_consumer_info.schema.json). A report older than the one kept for its
// consumer is ignored.
//
// Grading, per consumer (thresholds from NatsConsumerConfig):
// - num_pending > pending_fail → fail, > pending_warn → warn (nats_consumer.pending);
// - num_ack_pending ≥ max_ack_pending (when reported and > 0: the server stops delivering) →
//   fail, else > ack_pending_warn → warn (nats_consumer.ack_pending);
// - num_redelivered grown by more than redelivered_warn since the previous report → warn
//   (nats_consumer.redelivered);
// - no report for more than stale_after at snapshot time → warn (nats_consumer.stale).
// Issue codes carry the consumer: `nats_consumer.pending:<stream>/<consumer>` (alert category
// `nats_consumer.pending`). Nothing is persisted: after a restart the first report of each
// consumer starts its redelivery baseline again. Not thread-safe (see component.h).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "opsready/components/component.h"

namespace opsready::components {

inline constexpr std::string_view kNatsConsumerName = "nats_consumer";

struct NatsConsumerConfig {
  bool enabled = true;
  std::uint32_t pending_warn = 1000;      // warn when num_pending > this
  std::uint32_t pending_fail = 10000;     // fail when num_pending > this
  std::uint32_t ack_pending_warn = 1000;  // warn when num_ack_pending > this
  std::uint32_t redelivered_warn = 100;   // warn when redeliveries grew by more than this
  std::optional<core::Duration> stale_after = std::chrono::minutes(2);  // none: never stale
  // A consumer silent for longer is forgotten (a removed consumer); none: kept until restart.
  std::optional<core::Duration> forget_after;
  std::uint32_t max_consumers = 256;  // (stream, consumer) pairs tracked; more are refused

  bool operator==(const NatsConsumerConfig&) const = default;
};

[[nodiscard]] core::Result<void> validate(const NatsConsumerConfig& config);

class NatsConsumer final : public Component {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<NatsConsumer>> create(
      const NatsConsumerConfig& config);

  [[nodiscard]] std::string_view name() const override { return kNatsConsumerName; }
  [[nodiscard]] std::string_view alert_category() const override {
    return "operational.nats_consumer";
  }
  [[nodiscard]] bool consumes(std::string_view topic) const override;
  [[nodiscard]] core::Result<void> apply(const core::TelemetryEvent& event) override;
  [[nodiscard]] bool active() const override { return applied_ > 0; }
  [[nodiscard]] core::ComponentSnapshot snapshot(core::TimePoint now, Detail detail) override;
  using Component::snapshot;
  [[nodiscard]] const NatsConsumerConfig& config() const { return config_; }
  [[nodiscard]] std::size_t tracked() const { return consumers_.size(); }

 private:
  // One consumer's latest report.
  struct Report {
    double num_pending = 0;
    double num_ack_pending = 0;
    double num_redelivered = 0;
    std::optional<double> num_waiting;
    std::optional<double> max_ack_pending;  // none: not reported
    std::string ack_policy;                 // empty: not reported
    std::optional<bool> paused;
    nlohmann::json delivered;  // null: not reported
    nlohmann::json ack_floor;  // null: not reported
    core::TimePoint observed_at{};
  };
  struct Tracked {
    Report latest;
    std::optional<double> redelivered_growth;  // none until a second report
    std::uint64_t reports = 0;
  };

  struct Parsed {
    std::string stream;
    std::string consumer;
    Report report;
  };

  explicit NatsConsumer(const NatsConsumerConfig& config);
  // Reads one CONSUMER.INFO document; `received` is the time when it carries none.
  [[nodiscard]] static core::Result<Parsed> parse(const nlohmann::json& doc,
                                                  core::TimePoint received);

  NatsConsumerConfig config_;
  std::map<std::pair<std::string, std::string>, Tracked> consumers_;  // (stream, consumer)
  std::uint64_t applied_ = 0;
  core::TimePoint last_event_{};
};

}  // namespace opsready::components
