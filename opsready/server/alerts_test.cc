#include "opsready/server/alerts.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "opsready/core/time.h"

namespace opsready::server {
namespace {

using std::chrono::minutes;

core::TimePoint at(const char* text) { return core::parse_rfc3339(text).value(); }
const core::TimePoint kNow = at("2025-01-02T00:00:00Z");
const core::Duration kResolve = minutes(5);

// One alert as Prometheus 2.x posts it, with an empty-valued label ("no label").
const std::string kPrometheusAlert =
    R"({"labels":{"alertname":"FixSessionDown","instance":"gw-1:9100","job":"fix_gateway",)"
    R"("severity":"page","team":""},"annotations":{"summary":"FIX session down on gw-1",)"
    R"("runbook_url":"https://runbooks.example/fix-session-down"},)"
    R"("startsAt":"2025-01-01T23:58:00Z","endsAt":"2025-01-02T00:04:00Z",)"
    R"("generatorURL":"http://prometheus:9090/graph?g0.expr=fix_session_up+%3D%3D+0\u0026g0.tab=1"})";

TEST(ParseAlerts, ReadsAPrometheusPayload) {
  const AlertsParse p = parse_alerts("[" + kPrometheusAlert + "]", kNow, kResolve);
  ASSERT_TRUE(p.body_ok);
  EXPECT_TRUE(p.errors.empty());
  EXPECT_EQ(p.total, 1u);
  ASSERT_EQ(p.alerts.size(), 1u);
  const core::Alert& a = p.alerts[0];
  const core::LabelSet labels = {{"alertname", "FixSessionDown"},
                                 {"instance", "gw-1:9100"},
                                 {"job", "fix_gateway"},
                                 {"severity", "page"}};
  EXPECT_EQ(a.labels, labels);  // "team" had an empty value: dropped
  EXPECT_EQ(a.fingerprint, core::alert_fingerprint(labels));
  EXPECT_EQ(a.annotations.at("summary"), "FIX session down on gw-1");
  EXPECT_EQ(a.starts_at, at("2025-01-01T23:58:00Z"));
  EXPECT_EQ(a.ends_at, at("2025-01-02T00:04:00Z"));
  EXPECT_EQ(a.generator_url,
            "http://prometheus:9090/graph?g0.expr=fix_session_up+%3D%3D+0&g0.tab=1");
  EXPECT_FALSE(a.timeout);
  EXPECT_EQ(a.received_at, kNow);
}

TEST(ParseAlerts, MissingTimesTakeAlertmanagersDefaults) {
  AlertsParse p = parse_alerts(R"([{"labels":{"a":"1"}},{"labels":{"a":"2"},"startsAt":null,)"
                               R"("endsAt":"2025-01-02T00:10:00Z"},)"
                               R"({"labels":{"a":"3"},"startsAt":"0001-01-01T00:00:00Z"}])",
                               kNow, kResolve);
  ASSERT_EQ(p.alerts.size(), 3u) << ::testing::PrintToString(p.errors);
  // Neither: starts now, ends after resolve_timeout and is marked as a timeout.
  EXPECT_EQ(p.alerts[0].starts_at, kNow);
  EXPECT_EQ(p.alerts[0].ends_at, kNow + kResolve);
  EXPECT_TRUE(p.alerts[0].timeout);
  // Only endsAt: starts then.
  EXPECT_EQ(p.alerts[1].starts_at, at("2025-01-02T00:10:00Z"));
  EXPECT_FALSE(p.alerts[1].timeout);
  // Go's zero time means "not set".
  EXPECT_EQ(p.alerts[2].starts_at, kNow);
}

struct Case {
  const char* what;
  std::string alert;  // one element of the posted array
  std::vector<AlertError> errors;
};

TEST(ParseAlerts, ValidatesAsAlertmanagerDoes) {
  const Case cases[] = {
      {"missing labels",
       R"({"annotations":{"summary":"x"}})",
       {{0, "labels", "labels are required"}}},
      {"null labels", R"({"labels":null})", {{0, "labels", "labels are required"}}},
      {"empty labels", R"({"labels":{}})", {{0, "labels", "at least one label pair required"}}},
      {"only empty-valued labels",
       R"({"labels":{"a":"","b":""}})",
       {{0, "labels", "at least one label pair required"}}},
      {"labels not an object",
       R"({"labels":["a"]})",
       {{0, "labels", "label set must be an object of string values"}}},
      {"bad label name",
       R"({"labels":{"alertname":"X","1x":"y"}})",
       {{0, "labels.1x", "invalid label set: invalid name \"1x\""}}},
      {"a bad name with an empty value is dropped, not refused",
       R"({"labels":{"alertname":"X","1x":""}})",
       {}},
      {"label value not a string",
       R"({"labels":{"alertname":"X","n":1}})",
       {{0, "labels.n", "value must be a string"}}},
      {"errors in name order, as the label set is sorted",
       R"({"labels":{"b-":"1","a":2}})",
       {{0, "labels.a", "value must be a string"},
        {0, "labels.b-", "invalid label set: invalid name \"b-\""}}},
      {"a duplicate label name: the last one counts",
       R"({"labels":{"a":"x","a":7}})",
       {{0, "labels.a", "value must be a string"}}},
      {"a duplicate member: the last one counts", R"({"labels":5,"labels":{"a":"x"}})", {}},
      {"bad annotation name",
       R"({"labels":{"a":"x"},"annotations":{"a b":"y"}})",
       {{0, "annotations.a b", "invalid annotations: invalid name \"a b\""}}},
      {"annotation value not a string",
       R"({"labels":{"a":"x"},"annotations":{"s":true}})",
       {{0, "annotations.s", "value must be a string"}}},
      {"annotations not an object",
       R"({"labels":{"a":"x"},"annotations":"s"})",
       {{0, "annotations", "annotations must be an object of string values"}}},
      {"generatorURL not a string",
       R"({"labels":{"a":"x"},"generatorURL":3})",
       {{0, "generatorURL", "must be a string"}}},
      {"startsAt not a string",
       R"({"labels":{"a":"x"},"startsAt":12})",
       {{0, "startsAt", "must be an RFC 3339 timestamp string"}}},
      {"year out of range",
       R"({"labels":{"a":"x"},"endsAt":"2300-01-01T00:00:00Z"})",
       {{0, "endsAt", "year 2300 is out of range (1678-2261)"}}},
      {"endsAt before startsAt",
       R"({"labels":{"a":"x"},"startsAt":"2025-01-02T00:00:00Z","endsAt":"2025-01-01T00:00:00Z"})",
       {{0, "endsAt", "start time must be before end time"}}},
      {"not an object", "17", {{0, "", "an alert must be a JSON object"}}},
      {"every field's errors, labels first",
       R"({"endsAt":false,"generatorURL":[],"labels":{"a":1}})",
       {{0, "labels.a", "value must be a string"},
        {0, "generatorURL", "must be a string"},
        {0, "endsAt", "must be an RFC 3339 timestamp string"}}},
      {"unknown members are ignored",
       R"({"labels":{"a":"x"},"status":"firing","receivedAt":{"n":[1,2.5e3,null]}})",
       {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    // The bad alert second, after a good one: the good one is kept, the index is the bad one's.
    const std::string body = R"([{"labels":{"alertname":"Good"}},)" + c.alert + "]";
    const AlertsParse p = parse_alerts(body, kNow, kResolve);
    ASSERT_TRUE(p.body_ok);
    EXPECT_EQ(p.total, 2u);
    std::vector<AlertError> expected = c.errors;
    for (auto& e : expected) e.index = 1;
    EXPECT_EQ(p.errors, expected);
    EXPECT_EQ(p.alerts.size(), expected.empty() ? 2u : 1u);
    EXPECT_EQ(p.alerts.front().labels.at("alertname"), "Good");
    EXPECT_EQ(p, parse_alerts_reference(body, kNow, kResolve));
  }
}

TEST(ParseAlerts, RefusesABodyThatIsNotAJsonArrayWhole) {
  struct BodyCase {
    const char* what;
    std::string body;
    std::string reason_prefix;
  };
  const BodyCase cases[] = {
      {"bad UTF-8", "[{\"labels\":{\"a\":\"\xc3\x28\"}}]", "request body is not valid UTF-8"},
      {"a UTF-16 surrogate in UTF-8", "[{\"labels\":{\"a\":\"\xed\xa0\x80\"}}]",
       "request body is not valid UTF-8"},
      {"an object, not an array", R"({"labels":{"a":"x"}})",
       "the body must be a JSON array of alerts"},
      {"a string", R"("x")", "the body must be a JSON array of alerts"},
      {"truncated", R"([{"labels":{"a":"x"})", "malformed JSON: [json.exception.parse_error.101]"},
      {"empty", "", "malformed JSON: [json.exception.parse_error.101]"},
      {"trailing content", "[] []", "malformed JSON: [json.exception.parse_error.101]"},
      {"a bad literal in an ignored member", R"([{"labels":{"a":"x"},"status":tru}])",
       "malformed JSON: [json.exception.parse_error.101]"},
      {"a lone surrogate escape", R"([{"labels":{"a":"\udc00"}}])",
       "malformed JSON: [json.exception.parse_error.101]"},
      {"an unescaped control character", "[{\"labels\":{\"a\":\"x\x01\"}}]",
       "malformed JSON: [json.exception.parse_error.101]"},
      {"a leading zero", R"([{"labels":{"a":"x"},"n":01}])",
       "malformed JSON: [json.exception.parse_error.101]"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const AlertsParse p = parse_alerts(c.body, kNow, kResolve);
    EXPECT_FALSE(p.body_ok);
    EXPECT_TRUE(p.alerts.empty());
    ASSERT_EQ(p.errors.size(), 1u);
    EXPECT_EQ(p.errors[0].index, 0u);
    EXPECT_EQ(p.errors[0].field, "");
    EXPECT_TRUE(p.errors[0].reason.starts_with(c.reason_prefix)) << p.errors[0].reason;
    EXPECT_EQ(p, parse_alerts_reference(c.body, kNow, kResolve));
  }
}

// The simdjson path and the nlohmann reference agree on every prefix of a valid body and on
// every single-byte substitution of it: whatever the damage, the answer (alerts, errors and
// their wording) does not depend on which parser read the body.
TEST(ParseAlerts, FastPathAgreesWithTheReferenceOnDamagedBodies) {
  const std::string body = "[" + kPrometheusAlert +
                           R"(, {"labels":{"b":"1","a":"\u00e9\n","c":""},"endsAt":null,)"
                           R"("x":[true,false,null,-1.5E-3,{"y":{}}]}, 3 ])";
  ASSERT_EQ(parse_alerts(body, kNow, kResolve).alerts.size(), 2u);
  std::size_t checked = 0;
  for (std::size_t n = 0; n <= body.size(); ++n) {
    const std::string prefix = body.substr(0, n);
    ASSERT_EQ(parse_alerts(prefix, kNow, kResolve), parse_alerts_reference(prefix, kNow, kResolve))
        << prefix;
    ++checked;
  }
  const std::string replacements = "\"\\{}[],: x1-.eEnt\x01\x7f\xc3\xff";
  for (std::size_t i = 0; i < body.size(); ++i) {
    for (const char r : replacements) {
      std::string damaged = body;
      damaged[i] = r;
      ASSERT_EQ(parse_alerts(damaged, kNow, kResolve),
                parse_alerts_reference(damaged, kNow, kResolve))
          << damaged;
      ++checked;
    }
  }
  EXPECT_GT(checked, body.size() * replacements.size());
}

// A reused AlertsParse (one per HTTP worker) answers exactly as a fresh one, whatever the
// previous body held: more or fewer alerts, other label names, errors, a refused body.
TEST(ParseAlerts, ReusingTheResultGivesTheSameAnswers) {
  const std::string bodies[] = {
      "[" + kPrometheusAlert + "," + kPrometheusAlert + "]",
      R"([{"labels":{"alertname":"X","job":"j"},"annotations":{"s":"a much longer summary"}}])",
      R"([{"labels":{"alertname":"Y","zone":"z"}},{"labels":{}},{"labels":{"b":"1","a":"2"}}])",
      "[" + kPrometheusAlert + "]",
      R"([{"labels":{"alertname":"Z"},"generatorURL":"u","startsAt":"2025-01-01T00:00:00Z"}])",
      "[1, 2",
      R"([{"labels":{"alertname":"X","job":"j"}}])",
      "[]",
      "[" + kPrometheusAlert + "]",
  };
  AlertsParse reused;
  for (int round = 0; round < 2; ++round) {
    for (const auto& body : bodies) {
      parse_alerts(body, kNow, kResolve, reused);
      EXPECT_EQ(reused, parse_alerts_reference(body, kNow, kResolve)) << body;
    }
  }
}

TEST(AlertErrorsToJson, CountsAcceptedAndRejected) {
  const AlertsParse p = parse_alerts(R"([{"labels":{"a":"x"}},{"labels":{}}])", kNow, kResolve);
  const nlohmann::json j = alert_errors_to_json(p);
  EXPECT_EQ(j["accepted"], 1);
  EXPECT_EQ(j["rejected"], 1);
  ASSERT_EQ(j["errors"].size(), 1u);
  EXPECT_EQ(j["errors"][0]["index"], 1);
  EXPECT_EQ(j["errors"][0]["field"], "labels");
}

}  // namespace
}  // namespace opsready::server
