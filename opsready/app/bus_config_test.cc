#include <gtest/gtest.h>

#include "opsready/app/config.h"

namespace opsready::app {
namespace {

using namespace std::chrono_literals;

TEST(BusConfig, AbsentMeansNoNats) {
  auto cfg = parse_config("listen: 127.0.0.1:0\n", "t.yml");
  ASSERT_TRUE(cfg);
  EXPECT_FALSE(cfg->bus.nats.has_value());
  EXPECT_EQ(cfg->bus, BusConfig{});
}

TEST(BusConfig, NatsAloneTakesEveryDefault) {
  auto cfg = parse_config("bus:\n  nats:\n", "t.yml");
  ASSERT_TRUE(cfg) << cfg.error().front().describe();
  ASSERT_TRUE(cfg->bus.nats.has_value());
  EXPECT_EQ(*cfg->bus.nats, NatsConfig{});
  EXPECT_EQ(cfg->bus.nats->servers, std::vector<std::string>{"nats://127.0.0.1:4222"});
}

TEST(BusConfig, EveryKey) {
  auto cfg = parse_config(R"(bus:
  retry_interval: 250ms
  health_interval: 5s
  spool:
    dir: /var/lib/opsready/spool
    fsync: always
    fsync_interval: 50ms
    max_bytes: 2097152
  nats:
    servers: [nats://10.0.0.1:4222, "tls://nats.example:4443"]
    stream: EVENTS
    subject_prefix: desk.events
    create_stream: false
    memory_storage: true
    duplicate_window: 10m
    connect_timeout: 1s
    publish_timeout: 3s
    reconnect_initial: 20ms
    reconnect_max: 2s
    ingest: false
    durable: replica-1
    filter: telemetry.>
    batch: 64
    fetch_timeout: 250ms
    ack_wait: 1m
    max_ack_pending: 500
    ordered: false
)",
                          "t.yml");
  ASSERT_TRUE(cfg) << cfg.error().front().describe();
  const BusConfig& b = cfg->bus;
  EXPECT_EQ(b.retry_interval, 250ms);
  EXPECT_EQ(b.health_interval, 5s);
  EXPECT_EQ(b.spool_dir, "/var/lib/opsready/spool");
  EXPECT_EQ(b.spool_fsync, "always");
  EXPECT_EQ(b.spool_fsync_interval, 50ms);
  EXPECT_EQ(b.spool_max_bytes, 2097152u);
  ASSERT_TRUE(b.nats);
  const NatsConfig& n = *b.nats;
  EXPECT_EQ(n.servers,
            (std::vector<std::string>{"nats://10.0.0.1:4222", "tls://nats.example:4443"}));
  EXPECT_EQ(n.stream, "EVENTS");
  EXPECT_EQ(n.subject_prefix, "desk.events");
  EXPECT_FALSE(n.create_stream);
  EXPECT_TRUE(n.memory_storage);
  EXPECT_EQ(n.duplicate_window, 10min);
  EXPECT_EQ(n.connect_timeout, 1s);
  EXPECT_EQ(n.publish_timeout, 3s);
  EXPECT_EQ(n.reconnect_initial, 20ms);
  EXPECT_EQ(n.reconnect_max, 2s);
  EXPECT_FALSE(n.ingest);
  EXPECT_EQ(n.durable, "replica-1");
  EXPECT_EQ(n.filter, "telemetry.>");
  EXPECT_EQ(n.batch, 64);
  EXPECT_EQ(n.fetch_timeout, 250ms);
  EXPECT_EQ(n.ack_wait, 1min);
  EXPECT_EQ(n.max_ack_pending, 500);
  EXPECT_FALSE(n.ordered);
}

TEST(BusConfig, EveryErrorNamesItsLine) {
  auto cfg = parse_config(R"(bus:
  retry_interval: 0s
  colour: blue
  spool:
    fsync: sometimes
  nats:
    servers: [http://x:1]
    stream: "a.b"
    subject_prefix: Not A Topic
    durable: "has space"
    filter: "tele*"
    batch: 0
    ack_wait: soon
)",
                          "t.yml");
  ASSERT_FALSE(cfg);
  std::vector<std::string> got;
  for (const auto& e : cfg.error()) got.push_back(e.describe());
  // Unknown keys of a section first, then its keys in the order of its table (the docs' order).
  const std::vector<std::string> expected_prefixes = {
      "t.yml:3: unknown key 'colour' in bus",
      "t.yml:7: bus.nats.servers: 'http://x:1' is not a nats:// or tls:// URL",
      "t.yml:8: bus.nats.stream 'a.b'",
      "t.yml:9: bus.nats.subject_prefix 'Not A Topic'",
      "t.yml:10: bus.nats.durable 'has space'",
      "t.yml:11: bus.nats.filter:",
      "t.yml:12: bus.nats.batch must be between 1 and 10000",
      "t.yml:13: bus.nats.ack_wait:",
      "t.yml:5: bus.spool.fsync must be always, interval or never, got 'sometimes'",
      "t.yml:2: bus.retry_interval must be positive",
  };
  ASSERT_EQ(got.size(), expected_prefixes.size()) << ::testing::PrintToString(got);
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_TRUE(got[i].starts_with(expected_prefixes[i])) << got[i];
  }
}

}  // namespace
}  // namespace opsready::app
