#include "opsready/core/topic_pattern.h"

#include <gtest/gtest.h>

namespace opsready::core {
namespace {

TEST(TopicPattern, MatchingTable) {
  struct Case {
    const char* pattern;
    const char* topic;
    bool want;
  };
  const Case cases[] = {
      // literals
      {"telemetry.ingest.health", "telemetry.ingest.health", true},
      {"telemetry.ingest.health", "telemetry.ingest.healthy", false},
      {"telemetry.ingest.health", "telemetry.ingest", false},
      {"telemetry.ingest", "telemetry.ingest.health", false},
      // '*' is exactly one token
      {"telemetry.operational.*", "telemetry.operational.incident_response", true},
      {"telemetry.operational.*", "telemetry.operational.readiness", true},
      {"telemetry.operational.*", "telemetry.operational", false},
      {"telemetry.operational.*", "telemetry.operational.a.b", false},
      {"telemetry.operational.*", "telemetry.sensory.drift", false},
      {"telemetry.*.health", "telemetry.ingest.health", true},
      {"telemetry.*.health", "telemetry.event_bus.health", true},
      {"telemetry.*.health", "telemetry.ingest.lag", false},
      {"telemetry.*.health", "telemetry.a.b.health", false},
      {"*", "telemetry", true},
      {"*", "telemetry.ingest", false},
      {"*.*", "a.b", true},
      {"*.*", "a", false},
      {"*.*", "a.b.c", false},
      // '>' is one or more remaining tokens
      {"telemetry.>", "telemetry.ingest", true},
      {"telemetry.>", "telemetry.ingest.health", true},
      {"telemetry.>", "telemetry", false},
      {"telemetry.>", "telemetryx.ingest", false},
      {">", "a", true},
      {">", "a.b.c", true},
      {"*.>", "a", false},
      {"*.>", "a.b", true},
      {"telemetry.*.>", "telemetry.ingest.health", true},
      {"telemetry.*.>", "telemetry.ingest", false},
      // prefixes of a token are not matches
      {"telemetry.op.*", "telemetry.operational.x", false},
  };
  for (const auto& c : cases) {
    auto p = TopicPattern::parse(c.pattern);
    ASSERT_TRUE(p.has_value()) << c.pattern << ": " << p.error().message;
    EXPECT_EQ(p->matches(c.topic), c.want) << c.pattern << " vs " << c.topic;
  }
}

TEST(TopicPattern, RefusesMalformedPatterns) {
  const char* bad[] = {"",     ".",       "a.",  ".a",  "a..b", "a.>.b", "a>",
                       "a.b*", "tele*.x", "A.b", "a b", "a.*x", ">.a",   "a.\xc3\xa9"};
  for (const char* p : bad) {
    auto parsed = TopicPattern::parse(p);
    ASSERT_FALSE(parsed.has_value()) << "'" << p << "' was accepted";
    EXPECT_EQ(parsed.error().code, "invalid_topic_pattern");
  }
}

TEST(TopicPattern, LiteralFlag) {
  EXPECT_TRUE(TopicPattern::parse("a.b")->is_literal());
  EXPECT_FALSE(TopicPattern::parse("a.*")->is_literal());
  EXPECT_FALSE(TopicPattern::parse("a.>")->is_literal());
  EXPECT_EQ(TopicPattern::parse("a.>")->text(), "a.>");
}

TEST(TopicPattern, InvalidTopicsNeverMatchWildcards) {
  auto p = TopicPattern::parse("a.*").value();
  EXPECT_FALSE(p.matches("a."));
  EXPECT_FALSE(p.matches("a..b"));
  auto q = TopicPattern::parse("a.>").value();
  EXPECT_FALSE(q.matches("a."));
}

}  // namespace
}  // namespace opsready::core
