#include <gtest/gtest.h>

#include "opsready/app/config.h"

namespace opsready::app {
namespace {

using namespace std::chrono_literals;

TEST(HttpConfig, AbsentTakesEveryDefault) {
  auto cfg = parse_config("listen: 127.0.0.1:0\n", "t.yml");
  ASSERT_TRUE(cfg);
  EXPECT_EQ(cfg->http, HttpConfig{});
  EXPECT_EQ(cfg->http.listener.header_timeout, 10s);
  EXPECT_EQ(cfg->http.listener.max_connections_per_client, 1024u);
}

TEST(HttpConfig, EveryKey) {
  auto cfg = parse_config(R"(http:
  threads: 2
  workers: 3
  header_timeout: 2s
  body_timeout: 45s
  idle_timeout: 5m
  write_timeout: 20s
  max_connections: 500
  max_connections_per_client: 50
  max_header_bytes: 8192
  offload_body_bytes: 0
  max_stream_buffer_bytes: 65536
  stream_heartbeat: 30s
)",
                          "t.yml");
  ASSERT_TRUE(cfg) << cfg.error().front().describe();
  const HttpConfig want{.listener = {.threads = 2,
                                     .workers = 3,
                                     .header_timeout = 2s,
                                     .body_timeout = 45s,
                                     .idle_timeout = 5min,
                                     .write_timeout = 20s,
                                     .max_connections = 500,
                                     .max_connections_per_client = 50,
                                     .max_header_bytes = 8192,
                                     .offload_body_bytes = 0,
                                     .max_stream_buffer_bytes = 65536},
                        .stream_heartbeat = 30s};
  EXPECT_EQ(cfg->http, want);
}

TEST(HttpConfig, BadValuesAreErrorsWithFileAndLine) {
  struct Case {
    const char* yaml;
    const char* message;  // a part of the one error expected
  };
  const Case cases[] = {
      {"http:\n  threads: 0\n", "t.yml:2: http.threads must be between 1 and 64"},
      {"http:\n  workers: many\n", "t.yml:2: http.workers must be an integer, got 'many'"},
      {"http:\n  header_timeout: 10\n", "t.yml:2: http.header_timeout:"},
      {"http:\n  header_timeout: 1ms\n",
       "t.yml:2: http.header_timeout must be between 100ms and 1h"},
      {"http:\n  idle_timeout: 2d\n", "t.yml:2: http.idle_timeout must be between 100ms and 1d"},
      {"http:\n  max_header_bytes: 10\n", "t.yml:2: http.max_header_bytes must be between 1024"},
      {"http:\n  max_connections: [1]\n", "t.yml:2: http.max_connections must be a single value"},
      {"http:\n  keepalive: 5s\n",
       "t.yml:2: unknown key 'keepalive' in http (known: threads, workers, header_timeout"},
      {"http: 5\n", "t.yml:1: http must be a mapping"},
  };
  for (const auto& c : cases) {
    auto cfg = parse_config(c.yaml, "t.yml");
    ASSERT_FALSE(cfg) << c.yaml;
    ASSERT_EQ(cfg.error().size(), 1u) << c.yaml;
    EXPECT_NE(cfg.error().front().describe().find(c.message), std::string::npos)
        << c.yaml << " gave: " << cfg.error().front().describe();
  }
}

}  // namespace
}  // namespace opsready::app
