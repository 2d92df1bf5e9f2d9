#include "opsready/core/status.h"

#include <gtest/gtest.h>

#include "opsready/core/text.h"

namespace opsready::core {
namespace {

TEST(Status, EscalateKeepsTheWorse) {
  EXPECT_EQ(escalate(Status::kOk, Status::kWarn), Status::kWarn);
  EXPECT_EQ(escalate(Status::kFail, Status::kWarn), Status::kFail);
  EXPECT_EQ(escalate(Status::kOk, Status::kOk), Status::kOk);
  EXPECT_EQ(escalate(Severity::kInfo, Severity::kCritical), Severity::kCritical);
}

TEST(Status, SeverityMappingPreservesRank) {
  EXPECT_EQ(severity_for(Status::kOk), Severity::kInfo);
  EXPECT_EQ(severity_for(Status::kWarn), Severity::kWarning);
  EXPECT_EQ(severity_for(Status::kFail), Severity::kCritical);
  for (Status s : kAllStatuses) EXPECT_EQ(status_for(severity_for(s)), s);
}

TEST(Status, ParsesEveryVocabulary) {
  struct Case {
    const char* word;
    Status want;
  };
  const Case cases[] = {
      {"ok", Status::kOk},         {"warn", Status::kWarn},     {"fail", Status::kFail},
      {"pass", Status::kOk},       {"met", Status::kOk},        {"at_risk", Status::kWarn},
      {"breached", Status::kFail}, {"normal", Status::kOk},     {"alert", Status::kFail},
      {"error", Status::kFail},    {"ready", Status::kOk},      {"degraded", Status::kWarn},
      {"blocked", Status::kFail},  {"  WARN\n", Status::kWarn}, {"Pass", Status::kOk},
  };
  for (const auto& c : cases) {
    auto got = parse_status(c.word);
    ASSERT_TRUE(got.has_value()) << c.word;
    EXPECT_EQ(*got, c.want) << c.word;
  }
}

TEST(Status, RefusesUnknownWordsNamingThem) {
  for (const char* w : {"", "green", "okay", "failed!", "3"}) {
    auto got = parse_status(w);
    ASSERT_FALSE(got.has_value()) << w;
    EXPECT_EQ(got.error().code, "unknown_status_word");
    EXPECT_NE(got.error().message.find(std::string("'") + w + "'"), std::string::npos);
  }
  EXPECT_FALSE(parse_severity("fatal").has_value());
  EXPECT_EQ(parse_severity("CRITICAL").value(), Severity::kCritical);
}

TEST(Status, WireNames) {
  EXPECT_EQ(to_string(Status::kWarn), "warn");
  EXPECT_EQ(to_string(Severity::kCritical), "critical");
}

TEST(Text, ReasonCodeSlugsFollowSpecSection02) {
  EXPECT_EQ(reason_code({"component", "incident_response", "fail"}),
            "component_incident_response_fail");
  EXPECT_EQ(reason_code({"required_check_missing", "Routing.API"}),
            "required_check_missing_routing_api");
  EXPECT_EQ(reason_code({"a", "", "__x__"}), "a_unknown_x");
  EXPECT_EQ(slug_part("  Hello,  World!! "), "hello_world");
}

TEST(Text, TopicSyntax) {
  EXPECT_TRUE(is_valid_topic("telemetry.ingest.health"));
  EXPECT_TRUE(is_valid_topic("opsready.component.snapshot"));
  EXPECT_TRUE(is_valid_topic("telemetry.event_bus.health"));
  for (const char* bad : {"", ".a", "a.", "a..b", "Telemetry.x", "a b", "a.*", "a/b"}) {
    EXPECT_FALSE(is_valid_topic(bad)) << bad;
  }
}

TEST(Text, Utf8Validation) {
  EXPECT_TRUE(is_valid_utf8("plain"));
  EXPECT_TRUE(is_valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xc3"));              // truncated
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xff"));
}

TEST(Text, JoinAndToUpper) {
  EXPECT_EQ(join({}, ", "), "");
  EXPECT_EQ(join({"a"}, ", "), "a");
  EXPECT_EQ(join({"a", "", "c"}, "; "), "a; ; c");
  EXPECT_EQ(to_upper("tls1.2-ok"), "TLS1.2-OK");
  EXPECT_EQ(to_upper("\xc3\xa9"), "\xc3\xa9");  // ASCII letters only: UTF-8 stays intact
}

}  // namespace
}  // namespace opsready::core
