#include "opsready/core/snapshot.h"

#include <gtest/gtest.h>

#include "opsready/core/event.h"
#include "opsready/core/time.h"

namespace opsready::core {
namespace {

TimePoint at(const char* s) { return parse_rfc3339(s).value(); }

TEST(ComponentSnapshot, JsonRoundTrip) {
  ComponentSnapshot s{.component = "incident_response",
                      .status = Status::kWarn,
                      .summary = "open incidents=2",
                      .observed_at = at("2025-01-02T00:00:00Z"),
                      .issues = {{.code = "open_incidents",
                                  .severity = Severity::kWarning,
                                  .message = "2 open incidents",
                                  .runbook = "docs/runbooks/incident_response.md",
                                  .labels = {{"owner", "desk-ops"}}}},
                      .metadata = {{"open", 2}}};
  const nlohmann::json j = to_json(s);
  EXPECT_EQ(j["status"], "warn");
  EXPECT_EQ(j["observed_at"], "2025-01-02T00:00:00Z");
  EXPECT_EQ(j["issues"][0]["labels"], (nlohmann::json{{"owner", "desk-ops"}}));
  auto back = component_snapshot_from_json(j, TimePoint{});
  ASSERT_TRUE(back.has_value()) << back.error().describe();
  EXPECT_EQ(*back, s);
}

TEST(ComponentSnapshot, AcceptsOtherVocabulariesAndDefaults) {
  auto s = component_snapshot_from_json({{"component", "operational_slos"}, {"status", "breached"}},
                                        at("2025-01-01T00:00:00Z"));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->status, Status::kFail);
  EXPECT_EQ(s->observed_at, at("2025-01-01T00:00:00Z"));
  EXPECT_TRUE(s->issues.empty());
}

TEST(ComponentSnapshot, ErrorsNameTheField) {
  struct Case {
    nlohmann::json in;
    std::string field;
  };
  const Case cases[] = {
      {nlohmann::json::array(), ""},
      {{{"status", "ok"}}, "component"},
      {{{"component", "Bad Name"}, {"status", "ok"}}, "component"},
      {{{"component", "x"}}, "status"},
      {{{"component", "x"}, {"status", "great"}}, "status"},
      {{{"component", "x"}, {"status", 1}}, "status"},
      {{{"component", "x"}, {"status", "ok"}, {"observed_at", "noon"}}, "observed_at"},
      {{{"component", "x"}, {"status", "ok"}, {"issues", {{{"code", "a"}, {"severity", "x"}}}}},
       "issues[0].severity"},
      {{{"component", "x"}, {"status", "ok"}, {"issues", {{{"message", "m"}}}}}, "issues[0].code"},
      {{{"component", "x"}, {"status", "ok"}, {"metadata", 3}}, "metadata"},
      {{{"component", "x"},
        {"status", "ok"},
        {"issues", {{{"code", "a"}, {"labels", {{"bad-name", "v"}}}}}}},
       "issues[0].labels"},
      {{{"component", "x"},
        {"status", "ok"},
        {"issues", {{{"code", "a"}, {"labels", {{"o", 1}}}}}}},
       "issues[0].labels.o"},
  };
  for (const auto& c : cases) {
    auto got = component_snapshot_from_json(c.in, TimePoint{});
    ASSERT_FALSE(got.has_value()) << c.in.dump();
    EXPECT_EQ(got.error().field, c.field) << c.in.dump();
  }
}

TEST(TelemetryEvent, JsonRoundTripAndValidation) {
  TelemetryEvent e{.topic = "telemetry.ingest.health",
                   .source = "ingest-1",
                   .time = at("2025-01-02T03:04:05.250Z"),
                   .payload = {{"series", "ingest.lag_seconds"}, {"value", 2.5}}};
  auto back = event_from_json(to_json(e), TimePoint{});
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, e);

  EXPECT_EQ(event_from_json({{"topic", "Bad Topic"}}, TimePoint{}).error().field, "topic");
  EXPECT_EQ(event_from_json({{"source", "x"}}, TimePoint{}).error().field, "topic");
  EXPECT_EQ(event_from_json({{"topic", "a.b"}, {"time", 5}}, TimePoint{}).error().field, "time");
  EXPECT_EQ(event_from_json({{"topic", "a.b"}, {"payload", "x"}}, TimePoint{}).error().field,
            "payload");
  EXPECT_EQ(event_from_json({{"topic", "a.b"}}, at("2025-01-01T00:00:00Z"))->time,
            at("2025-01-01T00:00:00Z"));
}

TEST(Sample, ParsesAndRefusesNonFinite) {
  auto s = sample_from_json({{"series", "lag"}, {"value", 1.5}, {"labels", {{"venue", "lse"}}}});
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->labels.at("venue"), "lse");
  EXPECT_EQ(sample_from_json({{"series", "lag"}}).error().field, "payload.value");
  EXPECT_EQ(sample_from_json({{"value", 1}}).error().field, "payload.series");
  EXPECT_EQ(sample_from_json({{"series", "x"}, {"value", 1}, {"labels", {{"a", 1}}}}).error().field,
            "payload.labels.a");
  EXPECT_EQ(sample_from_json(to_json(*s)).value(), *s);
}

TEST(Number, OneRuleForSamplesAndDocuments) {
  EXPECT_EQ(to_number(nlohmann::json(0.5)), 0.5);
  EXPECT_EQ(to_number(nlohmann::json(" 0.5 ")), 0.5);
  EXPECT_EQ(to_number(nlohmann::json("+2")), 2.0);
  EXPECT_EQ(to_number(nlohmann::json("95%")), 0.95);
  EXPECT_EQ(to_number(nlohmann::json(true)), std::nullopt);
  EXPECT_EQ(to_number(nlohmann::json("nan")), std::nullopt);
  EXPECT_EQ(to_number(nlohmann::json("inf")), std::nullopt);
  EXPECT_EQ(to_number(nlohmann::json("1e999")), std::nullopt);
  EXPECT_EQ(to_number(nlohmann::json("0.5x")), std::nullopt);
  EXPECT_EQ(to_number(nlohmann::json("%")), std::nullopt);
  EXPECT_EQ(to_number(nlohmann::json::array()), std::nullopt);
  EXPECT_EQ(to_number(nlohmann::json()), std::nullopt);
  // A sample takes "0.5" as an audit entry does (it used to be refused).
  EXPECT_EQ(sample_from_json({{"series", "lag"}, {"value", "0.5"}})->value, 0.5);
  EXPECT_EQ(sample_from_json({{"series", "lag"}, {"value", "abc"}}).error().field, "payload.value");
}

TEST(ComponentSnapshot, TakesTheOriginalsIssueSeveritiesAndGeneratedAt) {
  auto s = component_snapshot_from_json({{"component", "incident_response"},
                                         {"status", "fail"},
                                         {"generated_at", "2025-01-02T00:00:00+00:00"},
                                         {"issues",
                                          {{{"code", "a"}, {"severity", "fail"}},
                                           {{"code", "b"}, {"severity", "warn"}},
                                           {{"code", "c"}, {"severity", "ok"}}}}},
                                        at("2030-01-01T00:00:00Z"));
  ASSERT_TRUE(s.has_value()) << s.error().describe();
  EXPECT_EQ(s->observed_at, at("2025-01-02T00:00:00Z"));
  ASSERT_EQ(s->issues.size(), 3u);
  EXPECT_EQ(s->issues[0].severity, Severity::kCritical);
  EXPECT_EQ(s->issues[1].severity, Severity::kWarning);
  EXPECT_EQ(s->issues[2].severity, Severity::kInfo);
  // observed_at wins over generated_at; a bad generated_at is named.
  EXPECT_EQ(component_snapshot_from_json({{"component", "x"},
                                          {"status", "ok"},
                                          {"observed_at", "2025-01-03T00:00:00Z"},
                                          {"generated_at", "2025-01-02T00:00:00Z"}},
                                         TimePoint{})
                ->observed_at,
            at("2025-01-03T00:00:00Z"));
  EXPECT_EQ(component_snapshot_from_json(
                {{"component", "x"}, {"status", "ok"}, {"generated_at", "yesterday"}}, TimePoint{})
                .error()
                .field,
            "generated_at");
}

}  // namespace
}  // namespace opsready::core
