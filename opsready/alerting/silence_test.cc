#include "opsready/alerting/silence.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "opsready/alerting/test_support.h"
#include "opsready/core/time.h"

namespace opsready::alerting {
namespace {

using test::build_or_die;
using test::kNow;
using test::M;

using nlohmann::json;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;

Silence make(std::string_view matchers, core::TimePoint starts, core::TimePoint ends) {
  return Silence{.matchers = M(matchers),
                 .starts_at = starts,
                 .ends_at = ends,
                 .created_by = "alice",
                 .comment = "maintenance"};
}

// "id-1", "id-2", ...: ids that a test can name in advance.
SilenceIdGenerator counter() {
  return [n = 0]() mutable { return "id-" + std::to_string(++n); };
}

std::string ids(const std::vector<const Silence*>& silences) {
  std::string out;
  for (const Silence* s : silences) out += (out.empty() ? "" : ",") + s->id;
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

TEST(SilenceState, HalfOpenInterval) {
  const Silence s = make("a=b", kNow, kNow + hours(1));
  struct Case {
    core::TimePoint now;
    SilenceState want;
    std::string_view name;
  };
  const std::vector<Case> cases = {
      {kNow - nanoseconds(1), SilenceState::kPending, "pending"},
      {kNow, SilenceState::kActive, "active"},
      {kNow + minutes(59), SilenceState::kActive, "active"},
      {kNow + hours(1) - nanoseconds(1), SilenceState::kActive, "active"},
      {kNow + hours(1), SilenceState::kExpired, "expired"},
      {kNow + hours(200), SilenceState::kExpired, "expired"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(s.state(c.now), c.want) << core::format_rfc3339(c.now);
    EXPECT_EQ(to_string(s.state(c.now)), c.name);
  }
}

TEST(SilenceValidate, EachRuleWithItsField) {
  struct Case {
    std::string name;
    Silence silence;
    std::string code;  // empty: valid
    std::string field;
  };
  const core::TimePoint end = kNow + hours(1);
  Silence no_creator = make("a=b", kNow, end);
  no_creator.created_by.clear();
  Silence no_comment = make("a=b", kNow, end);
  no_comment.comment.clear();
  const std::vector<Case> cases = {
      {"valid", make("a=b", kNow, end), "", ""},
      {"no matchers", make("", kNow, end), "silence_no_matchers", "matchers"},
      {"a colon is fine for the parser, not for a silence", make("a=b, c:d=e", kNow, end),
       "silence_invalid_matcher_name", "matchers[1].name"},
      {"only an empty equal", make(R"(a="")", kNow, end), "silence_matches_everything", "matchers"},
      {"only a regex matching empty", make(R"(a=~".*")", kNow, end), "silence_matches_everything",
       "matchers"},
      {"a regex with an empty alternative", make(R"(a=~"x|", b="")", kNow, end),
       "silence_matches_everything", "matchers"},
      {"one matcher not matching empty is enough", make(R"(a=~".*", b="c")", kNow, end), "", ""},
      {"a regex not matching empty", make(R"(a=~".+")", kNow, end), "", ""},
      // Alertmanager's matchesEmpty counts negative matchers as never matching "", although
      // `a!="foo"` selects alerts without `a`.
      {"not-equal alone", make(R"(a!="foo")", kNow, end), "", ""},
      {"not-regex alone", make(R"(a!~".+")", kNow, end), "", ""},
      {"endsAt equal to startsAt", make("a=b", kNow, kNow), "silence_invalid_time_range", "endsAt"},
      {"endsAt before startsAt", make("a=b", kNow, kNow - seconds(1)), "silence_invalid_time_range",
       "endsAt"},
      {"createdBy empty", no_creator, "silence_missing_created_by", "createdBy"},
      {"comment empty", no_comment, "silence_missing_comment", "comment"},
  };
  for (const Case& c : cases) {
    const core::Result<void> got = validate_silence(c.silence);
    if (c.code.empty()) {
      EXPECT_TRUE(got.has_value()) << c.name << ": " << got.error().describe();
      continue;
    }
    ASSERT_FALSE(got.has_value()) << c.name;
    EXPECT_EQ(got.error().code, c.code) << c.name;
    EXPECT_EQ(got.error().field, c.field) << c.name;
  }
}

json posted() {
  return json::parse(R"({
    "matchers": [{"name": "alertname", "value": "HighLag", "isRegex": false},
                 {"name": "service", "value": "ingest|bus", "isRegex": true}],
    "startsAt": "2070-01-01T00:00:00Z",
    "endsAt": "2070-01-01T02:00:00Z",
    "createdBy": "alice",
    "comment": "maintenance"
  })");
}

const core::TimePoint kJsonNow = core::parse_rfc3339("2070-01-01T01:00:00Z").value();

TEST(SilenceJson, FieldErrors) {
  struct Case {
    std::string name;
    json::json_pointer pointer;  // what to change in posted()
    json value;                  // discarded() removes the key
    std::string code;
    std::string field;
  };
  const json kRemove = json::value_t::discarded;
  const std::vector<Case> cases = {
      {"id not a string", json::json_pointer("/id"), 7, "silence_wrong_type", "id"},
      {"matchers missing", json::json_pointer("/matchers"), kRemove, "silence_missing_field",
       "matchers"},
      {"matchers null", json::json_pointer("/matchers"), nullptr, "silence_missing_field",
       "matchers"},
      {"matchers not an array", json::json_pointer("/matchers"), "a=b", "silence_wrong_type",
       "matchers"},
      {"matchers empty", json::json_pointer("/matchers"), json::array(), "silence_no_matchers",
       "matchers"},
      {"matcher not an object", json::json_pointer("/matchers/1"), "x", "silence_wrong_type",
       "matchers[1]"},
      {"name missing", json::json_pointer("/matchers/0/name"), kRemove, "silence_missing_field",
       "matchers[0].name"},
      {"name not a string", json::json_pointer("/matchers/0/name"), 1, "silence_wrong_type",
       "matchers[0].name"},
      {"name empty", json::json_pointer("/matchers/0/name"), "", "matcher_empty_label_name",
       "matchers[0].name"},
      {"name with a colon", json::json_pointer("/matchers/0/name"), "a:b",
       "silence_invalid_matcher_name", "matchers[0].name"},
      {"name not a label name", json::json_pointer("/matchers/0/name"), "a-b",
       "matcher_invalid_label_name", "matchers[0].name"},
      {"value missing", json::json_pointer("/matchers/1/value"), kRemove, "silence_missing_field",
       "matchers[1].value"},
      {"isRegex missing", json::json_pointer("/matchers/1/isRegex"), kRemove,
       "silence_missing_field", "matchers[1].isRegex"},
      {"isRegex not a boolean", json::json_pointer("/matchers/1/isRegex"), "true",
       "silence_wrong_type", "matchers[1].isRegex"},
      {"isEqual not a boolean", json::json_pointer("/matchers/0/isEqual"), 0, "silence_wrong_type",
       "matchers[0].isEqual"},
      {"bad regex", json::json_pointer("/matchers/1/value"), "(", "matcher_bad_regex",
       "matchers[1].value"},
      {"startsAt missing", json::json_pointer("/startsAt"), kRemove, "silence_missing_field",
       "startsAt"},
      {"startsAt not a string", json::json_pointer("/startsAt"), 0, "silence_wrong_type",
       "startsAt"},
      {"startsAt not RFC 3339", json::json_pointer("/startsAt"), "yesterday",
       "silence_invalid_timestamp", "startsAt"},
      {"endsAt not RFC 3339", json::json_pointer("/endsAt"), "2070-13-01T00:00:00Z",
       "silence_invalid_timestamp", "endsAt"},
      {"endsAt before startsAt", json::json_pointer("/endsAt"), "2069-12-31T23:00:00Z",
       "silence_invalid_time_range", "endsAt"},
      {"endsAt in the past", json::json_pointer("/endsAt"), "2070-01-01T00:59:59Z",
       "silence_ends_in_past", "endsAt"},
      {"createdBy missing", json::json_pointer("/createdBy"), kRemove, "silence_missing_field",
       "createdBy"},
      {"createdBy empty", json::json_pointer("/createdBy"), "", "silence_missing_created_by",
       "createdBy"},
      {"comment not a string", json::json_pointer("/comment"), 3, "silence_wrong_type", "comment"},
      {"comment empty", json::json_pointer("/comment"), "", "silence_missing_comment", "comment"},
      {"every matcher matches empty", json::json_pointer("/matchers"),
       json::parse(R"([{"name": "a", "value": ".*", "isRegex": true}])"),
       "silence_matches_everything", "matchers"},
  };
  for (const Case& c : cases) {
    json j = posted();
    if (c.value.is_discarded()) {
      j[c.pointer.parent_pointer()].erase(c.pointer.back());
    } else {
      j[c.pointer] = c.value;
    }
    const core::Result<Silence> got = silence_from_json(j, kJsonNow);
    ASSERT_FALSE(got.has_value()) << c.name;
    EXPECT_EQ(got.error().code, c.code) << c.name << ": " << got.error().describe();
    EXPECT_EQ(got.error().field, c.field) << c.name;
  }
  EXPECT_EQ(silence_from_json(json::array(), kJsonNow).error().code, "silence_wrong_type");
  json bad = posted();
  bad["matchers"][1]["isRegex"] = "true";
  EXPECT_EQ(silence_from_json(bad, kJsonNow).error().describe(),
            "matchers[1].isRegex: must be a boolean");
}

TEST(SilenceJson, ReadsPostableSilence) {
  json j = posted();
  j["id"] = nullptr;     // null is absent
  j["status"] = "junk";  // keys of a gettableSilence are ignored
  j["matchers"].push_back(
      {{"name", "env"}, {"value", "prod"}, {"isRegex", false}, {"isEqual", false}});
  j["matchers"].push_back(
      {{"name", "job"}, {"value", "x.*"}, {"isRegex", true}, {"isEqual", false}});
  j["matchers"][0]["isEqual"] = nullptr;
  const core::Result<Silence> got = silence_from_json(j, kJsonNow);
  ASSERT_TRUE(got.has_value()) << got.error().describe();
  const Silence want{
      .matchers = M(R"(alertname="HighLag", service=~"ingest|bus", env!="prod", job!~"x.*")"),
      .starts_at = core::parse_rfc3339("2070-01-01T00:00:00Z").value(),
      .ends_at = core::parse_rfc3339("2070-01-01T02:00:00Z").value(),
      .created_by = "alice",
      .comment = "maintenance"};
  EXPECT_EQ(*got, want);

  j = posted();
  j["id"] = "abc";
  EXPECT_EQ(silence_from_json(j, kJsonNow)->id, "abc");
}

TEST(SilenceJson, RoundTripsAsGettableSilence) {
  Silences silences(counter());
  const core::TimePoint now = kJsonNow;
  Silence s = silence_from_json(posted(), now).value();
  s.matchers.push_back(*Matcher::create(MatchType::kNotRegex, "job", "x\"y"));
  ASSERT_TRUE(silences.set(s, now + seconds(1)).has_value());
  const Silence& stored = *silences.get("id-1");

  const json got = to_json(stored, now + seconds(1));
  const json want = json::parse(R"({
    "id": "id-1",
    "status": {"state": "active"},
    "updatedAt": "2070-01-01T01:00:01Z",
    "matchers": [{"name": "alertname", "value": "HighLag", "isRegex": false, "isEqual": true},
                 {"name": "service", "value": "ingest|bus", "isRegex": true, "isEqual": true},
                 {"name": "job", "value": "x\"y", "isRegex": true, "isEqual": false}],
    "startsAt": "2070-01-01T01:00:01Z",
    "endsAt": "2070-01-01T02:00:00Z",
    "createdBy": "alice",
    "comment": "maintenance"
  })");
  EXPECT_EQ(got, want) << got.dump(2);

  core::Result<Silence> back = silence_from_json(got, now + seconds(1));
  ASSERT_TRUE(back.has_value()) << back.error().describe();
  Silence without_update_time = stored;
  without_update_time.updated_at = {};  // set by Silences, not posted
  EXPECT_EQ(*back, without_update_time);

  EXPECT_EQ(to_json(stored, now)["status"]["state"], "pending");
  EXPECT_EQ(to_json(stored, now + hours(1))["status"]["state"], "expired");
}

// Alertmanager's TestSilenceCanUpdate, plus the matcher and whole-second rules it leaves out.
TEST(SilenceCanUpdate, AsAlertmanager) {
  const core::TimePoint now = kNow;
  struct Case {
    std::string name;
    Silence a, b;
    bool ok;
  };
  const std::vector<Case> cases = {
      {"expired", make("a=b", now - hours(1), now - seconds(1)), make("a=b", now, now), false},
      {"pending, new start in the past", make("a=b", now + hours(1), now + hours(2)),
       make("a=b", now - minutes(1), now + hours(1)), false},
      {"pending, new start in the future", make("a=b", now + hours(1), now + hours(2)),
       make("a=b", now + minutes(1), now + minutes(1)), true},
      {"pending, new start exactly now", make("a=b", now + hours(1), now + hours(2)),
       make("a=b", now, now + hours(2)), true},
      {"active, start changed", make("a=b", now - hours(1), now + hours(2)),
       make("a=b", now - minutes(1), now + hours(2)), false},
      {"active, end moved into the past", make("a=b", now - hours(1), now + hours(2)),
       make("a=b", now - hours(1), now - seconds(1)), false},
      {"active, end moved to now", make("a=b", now - hours(1), now + hours(2)),
       make("a=b", now - hours(1), now), true},
      {"active, end extended", make("a=b", now - hours(1), now + hours(2)),
       make("a=b", now - hours(1), now + hours(3)), true},
      {"active, start changed within its second", make("a=b", now - hours(1), now + hours(2)),
       make("a=b", now - hours(1) + nanoseconds(999'999'999), now + hours(2)), true},
      {"active, start changed by a second", make("a=b", now - hours(1), now + hours(2)),
       make("a=b", now - hours(1) + seconds(1), now + hours(2)), false},
      {"matchers changed", make("a=b", now - hours(1), now + hours(2)),
       make("a=c", now - hours(1), now + hours(2)), false},
      {"matchers reordered", make("a=b, c=d", now + hours(1), now + hours(2)),
       make("c=d, a=b", now + hours(1), now + hours(2)), false},
      {"matcher type changed", make("a=b", now + hours(1), now + hours(2)),
       make("a=~b", now + hours(1), now + hours(2)), false},
      {"only createdBy and comment differ", make("a=b", now - hours(1), now + hours(2)),
       [&] {
         Silence s = make("a=b", now - hours(1), now + hours(2));
         s.created_by = "bob";
         s.comment = "longer";
         return s;
       }(),
       true},
  };
  for (const Case& c : cases) EXPECT_EQ(can_update(c.a, c.b, now), c.ok) << c.name;
}

// Alertmanager's TestSilenceSet, step by step.
TEST(SilencesSet, CreatesUpdatesAndReplacesAsAlertmanager) {
  Silences silences(counter());
  const core::TimePoint start1 = kNow;

  // A silence with a start in the future keeps it.
  Silence sil1 = make("a=b", start1 + minutes(2), start1 + minutes(5));
  ASSERT_EQ(silences.set(sil1, start1).value(), "id-1");
  Silence want1 = sil1;
  want1.id = "id-1";
  want1.updated_at = start1;
  EXPECT_EQ(*silences.get("id-1"), want1);

  // A start in the past (here: unset) becomes now. It ends two minutes later, not one as in
  // Alertmanager's test: its next step updates it at one minute, which would be its end, and an
  // end is already expired here (half-open states, see silence.h).
  const core::TimePoint start2 = start1 + minutes(1);
  Silence sil2 = make("a=b", core::TimePoint{}, start2 + minutes(2));
  ASSERT_EQ(silences.set(sil2, start2).value(), "id-2");
  Silence want2 = sil2;
  want2.id = "id-2";
  want2.starts_at = start2;
  want2.updated_at = start2;
  EXPECT_EQ(*silences.get("id-2"), want2);

  // A new end time updates it in place.
  const core::TimePoint start3 = start2 + minutes(1);
  Silence sil3 = want2;
  sil3.ends_at = start3 + minutes(100);
  ASSERT_EQ(silences.set(sil3, start3).value(), "id-2");
  Silence want3 = sil3;
  want3.updated_at = start3;
  EXPECT_EQ(*silences.get("id-2"), want3);

  // New matchers: the old silence expires now, a new one takes its place.
  const core::TimePoint start4 = start3 + minutes(1);
  Silence sil4 = want3;
  sil4.matchers = M("a=c");
  ASSERT_EQ(silences.set(sil4, start4).value(), "id-3");
  Silence expired2 = want3;
  expired2.ends_at = start4;
  expired2.updated_at = start4;
  EXPECT_EQ(*silences.get("id-2"), expired2);
  Silence want4 = sil4;
  want4.id = "id-3";
  want4.starts_at = start4;
  want4.updated_at = start4;
  EXPECT_EQ(*silences.get("id-3"), want4);

  // Re-creating the expired silence leaves it as it is and creates a new one, starting now.
  const core::TimePoint start5 = start4 + minutes(1);
  Silence sil5 = want3;
  sil5.starts_at = start1;
  sil5.ends_at = start1 + minutes(5);
  ASSERT_EQ(silences.set(sil5, start5).value(), "id-4");
  EXPECT_EQ(*silences.get("id-2"), expired2);
  Silence want5 = sil5;
  want5.id = "id-4";
  want5.starts_at = start5;
  want5.updated_at = start5;
  EXPECT_EQ(*silences.get("id-4"), want5);
  EXPECT_EQ(silences.size(), 4U);
}

// Alertmanager's TestSetActiveSilence: a start moved within its second is an update.
TEST(SilencesSet, UpdatesActiveSilenceWithinTheSameSecond) {
  Silences silences(counter());
  const core::TimePoint now = kNow;
  ASSERT_EQ(silences.set(make("a=b", now - minutes(1), now + minutes(5)), now).value(), "id-1");
  Silence update = *silences.get("id-1");  // its start became now
  update.starts_at = now + nanoseconds(2);
  update.ends_at = now + minutes(7);
  const core::TimePoint later = now + minutes(1);
  ASSERT_EQ(silences.set(update, later).value(), "id-1");
  Silence want = update;
  want.updated_at = later;
  EXPECT_EQ(*silences.get("id-1"), want);
  EXPECT_EQ(silences.size(), 1U);
}

TEST(SilencesSet, RefusedSilencesChangeNothing) {
  const core::TimePoint now = kNow;
  struct Case {
    std::string name;
    Silence silence;
    std::string code;
    std::string field;
  };
  Silence invalid_replacement = make("a=c", now - hours(1), now + hours(1));
  invalid_replacement.id = "id-1";
  invalid_replacement.comment.clear();
  Silence unknown = make("a=b", now, now + hours(1));
  unknown.id = "some_id";
  const std::vector<Case> cases = {
      {"unknown id", unknown, "silence_not_found", "id"},
      {"no matchers", make("", now, now + hours(1)), "silence_no_matchers", "matchers"},
      // Alertmanager 0.25 would expire id-1 before refusing its replacement.
      {"invalid replacement", invalid_replacement, "silence_missing_comment", "comment"},
      {"created with an end in the past", make("a=b", now - hours(2), now - hours(1)),
       "silence_ends_in_past", "endsAt"},
      {"created with an end at now", make("a=b", now - hours(2), now), "silence_ends_in_past",
       "endsAt"},
  };
  for (const Case& c : cases) {
    Silences silences(counter());
    ASSERT_TRUE(silences.set(make("a=b", now - hours(1), now + hours(1)), now - hours(1)));
    (void)silences.take_changes();
    const Silence before = *silences.get("id-1");
    const core::Result<std::string> got = silences.set(c.silence, now);
    ASSERT_FALSE(got.has_value()) << c.name;
    EXPECT_EQ(got.error().code, c.code) << c.name;
    EXPECT_EQ(got.error().field, c.field) << c.name;
    EXPECT_EQ(*silences.get("id-1"), before) << c.name;
    EXPECT_EQ(silences.size(), 1U) << c.name;
    EXPECT_TRUE(silences.take_changes().empty()) << c.name;
  }
}

TEST(SilencesSet, SkipsIdsInUse) {
  std::vector<std::string> sequence = {"x", "x", "", "y"};
  Silences silences([&, i = std::size_t{0}]() mutable { return sequence[i++ % 4]; });
  const Silence s = make("a=b", kNow, kNow + hours(1));
  EXPECT_EQ(silences.set(s, kNow).value(), "x");
  EXPECT_EQ(silences.set(s, kNow).value(), "y");  // "x" taken, "" refused

  Silences stuck([] { return std::string("same"); });
  ASSERT_TRUE(stuck.set(s, kNow).has_value());
  EXPECT_EQ(stuck.set(s, kNow).error().code, "silence_id_exhausted");
  EXPECT_EQ(stuck.size(), 1U);
}

// Alertmanager's TestSilenceExpire, with opsready's error for an expired one.
TEST(SilencesExpire, EndsNowAsAlertmanager) {
  const core::TimePoint now = kNow;
  Silences silences(counter());
  ASSERT_TRUE(silences.restore([&] {
    Silence s = make("a=b", now + minutes(1), now + hours(1));
    s.id = "pending";
    s.updated_at = now - hours(1);
    return s;
  }()));
  ASSERT_TRUE(silences.restore([&] {
    Silence s = make("a=b", now - minutes(1), now + hours(1));
    s.id = "active";
    s.updated_at = now - hours(1);
    return s;
  }()));
  Silence expired = make("a=b", now - hours(1), now - minutes(1));
  expired.id = "expired";
  expired.updated_at = now - hours(1);
  ASSERT_TRUE(silences.restore(expired));
  EXPECT_EQ(silences.count(SilenceState::kPending, now), 1U);
  EXPECT_EQ(silences.count(SilenceState::kActive, now), 1U);
  EXPECT_EQ(silences.count(SilenceState::kExpired, now), 1U);

  ASSERT_TRUE(silences.expire("pending", now));
  ASSERT_TRUE(silences.expire("active", now));
  const core::Result<void> again = silences.expire("expired", now);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, "silence_already_expired");
  EXPECT_EQ(again.error().field, "id");
  EXPECT_EQ(silences.expire("nope", now).error().code, "silence_not_found");

  Silence want_pending = make("a=b", now, now);
  want_pending.id = "pending";
  want_pending.updated_at = now;
  EXPECT_EQ(*silences.get("pending"), want_pending);
  Silence want_active = make("a=b", now - minutes(1), now);
  want_active.id = "active";
  want_active.updated_at = now;
  EXPECT_EQ(*silences.get("active"), want_active);
  EXPECT_EQ(*silences.get("expired"), expired);
  // Expired at the instant of the call, not a clock tick later (see silence.h).
  EXPECT_EQ(silences.count(SilenceState::kExpired, now), 3U);
  EXPECT_EQ(silences.expire("active", now).error().code, "silence_already_expired");
}

TEST(SilencesMutes, MatchesActiveSilencesOnly) {
  const core::TimePoint now = kNow;
  Silences silences(counter());
  struct Spec {
    std::string matchers;
    core::TimePoint starts, ends;
  };
  const std::vector<Spec> specs = {
      {R"(alertname="HighLag")", now, now + hours(1)},                       // id-1
      {R"(alertname="HighLag", severity="critical")", now, now + hours(1)},  // id-2
      {R"(service=~"ingest|bus")", now, now + hours(1)},                     // id-3
      {R"(alertname="HighLag", env!="prod")", now, now + hours(1)},          // id-4
      {R"(job!~"batch.*", service="bus")", now, now + hours(1)},             // id-5
      {R"(alertname="HighLag", cluster="")", now, now + hours(1)},           // id-6
      {R"(alertname="HighLag")", now + minutes(5), now + hours(1)},          // id-7 pending
      {R"(alertname="HighLag")", now - hours(1), now - minutes(1)},          // id-8 expired
      {R"(env="prod", severity=~"crit.*")", now, now + hours(1)},            // id-9
  };
  for (std::size_t i = 0; i < specs.size(); ++i) {
    Silence x = make(specs[i].matchers, specs[i].starts, specs[i].ends);
    x.id = "id-" + std::to_string(i + 1);
    ASSERT_TRUE(silences.restore(x));
  }
  struct Case {
    core::LabelSet labels;
    std::string want;
  };
  const std::vector<Case> cases = {
      {{}, ""},
      {{{"alertname", "HighLag"}}, "id-1,id-4,id-6"},
      {{{"alertname", "HighLag"}, {"severity", "critical"}}, "id-1,id-2,id-4,id-6"},
      {{{"alertname", "HighLag"}, {"env", "prod"}}, "id-1,id-6"},
      {{{"alertname", "HighLag"}, {"cluster", "eu"}}, "id-1,id-4"},
      {{{"alertname", "Other"}, {"service", "ingest"}}, "id-3"},
      {{{"service", "bus"}}, "id-3,id-5"},
      {{{"service", "bus"}, {"job", "batch-1"}}, "id-3"},
      {{{"service", "busy"}}, ""},
      {{{"env", "prod"}, {"severity", "critical"}}, "id-9"},
      {{{"env", "prod"}, {"severity", "warning"}}, ""},
      {{{"severity", "critical"}}, ""},
  };
  for (const Case& c : cases) {
    std::string printed;
    for (const auto& [k, v] : c.labels) printed += k + "=" + v + " ";
    EXPECT_EQ(join(silences.mutes(c.labels, now)), c.want) << printed;
  }
  // Pending ones start to mute on their own; expired ones, however they expired, stop.
  const core::LabelSet lag = {{"alertname", "HighLag"}};
  EXPECT_EQ(join(silences.mutes(lag, now + minutes(5))), "id-1,id-4,id-6,id-7");
  ASSERT_TRUE(silences.expire("id-1", now + minutes(6)));
  ASSERT_TRUE(silences.expire("id-4", now + minutes(6)));
  EXPECT_EQ(join(silences.mutes(lag, now + minutes(6))), "id-6,id-7");
  EXPECT_EQ(silences.gc(now + minutes(10), minutes(1)), 3U);  // id-1, id-4, id-8
  EXPECT_EQ(join(silences.mutes(lag, now + minutes(10))), "id-6,id-7");
  EXPECT_EQ(join(silences.mutes(lag, now + hours(1))), "");
}

// The index answers what a scan of every silence answers, over random silences and alerts.
TEST(SilencesMutes, IndexAgreesWithAScan) {
  std::mt19937_64 rng(42);
  const std::vector<std::string> names = {"alertname", "service", "env", "severity"};
  const std::vector<std::string> values = {"", "a", "b", "c"};
  const std::vector<MatchType> types = {MatchType::kEqual, MatchType::kEqual, MatchType::kNotEqual,
                                        MatchType::kRegex, MatchType::kNotRegex};
  const auto pick = [&](const auto& v) { return v[rng() % v.size()]; };
  Silences silences(uuid_v4_generator(7));
  std::vector<Silence> all;
  core::TimePoint now = kNow;
  for (int i = 0; i < 300; ++i) {
    Silence s{.starts_at = now + minutes(static_cast<int>(rng() % 20)),
              .ends_at = now + minutes(20 + static_cast<int>(rng() % 40)),
              .created_by = "fuzz",
              .comment = "oracle"};
    const std::size_t n = 1 + rng() % 3;
    for (std::size_t k = 0; k < n; ++k) {
      const MatchType t = pick(types);
      std::string v = pick(values);
      if (t == MatchType::kRegex || t == MatchType::kNotRegex) v = v.empty() ? "a|b" : v + ".*";
      s.matchers.push_back(*Matcher::create(t, pick(names), v));
    }
    if (!validate_silence(s)) continue;
    const auto id = silences.set(s, now);
    ASSERT_TRUE(id.has_value()) << id.error().describe();
    if (rng() % 5 == 0) {
      ASSERT_TRUE(silences.expire(*id, now + minutes(1)));
    }
  }
  for (int step = 0; step < 12; ++step) {
    now += minutes(5);
    if (step % 4 == 3) silences.gc(now, minutes(10));
    for (int i = 0; i < 200; ++i) {
      core::LabelSet labels;
      for (const std::string& n : names) {
        if (rng() % 4 != 0) labels[n] = pick(values);
      }
      std::vector<std::string> want;
      for (const Silence* s : silences.query(SilenceState::kActive, {}, now)) {
        if (matches(s->matchers, labels)) want.push_back(s->id);
      }
      std::ranges::sort(want);
      ASSERT_EQ(silences.mutes(labels, now), want) << "step " << step;
    }
  }
}

TEST(SilencesQuery, FiltersByStateAndMatchersInApiOrder) {
  const core::TimePoint now = kNow;
  Silences silences(counter());
  struct Spec {
    std::string id, matchers;
    core::TimePoint starts, ends;
  };
  const std::vector<Spec> specs = {
      {"a1", R"(alertname="X", env="prod")", now - hours(1), now + hours(3)},
      {"a2", R"(alertname="X")", now - hours(1), now + hours(2)},
      {"a3", R"(alertname=~"X")", now - hours(1), now + hours(2)},
      {"p1", R"(alertname="X")", now + hours(2), now + hours(3)},
      {"p2", R"(env="prod")", now + hours(1), now + hours(3)},
      {"e1", R"(alertname="X")", now - hours(3), now - hours(2)},
      {"e2", R"(alertname="X", env="prod")", now - hours(3), now - hours(1)},
  };
  for (const Spec& s : specs) {
    Silence x = make(s.matchers, s.starts, s.ends);
    x.id = s.id;
    ASSERT_TRUE(silences.restore(x));
  }
  struct Case {
    std::optional<SilenceState> state;
    std::string filter;
    std::string want;
  };
  const std::vector<Case> cases = {
      {std::nullopt, "", "a2,a3,a1,p2,p1,e2,e1"},
      {SilenceState::kActive, "", "a2,a3,a1"},
      {SilenceState::kPending, "", "p2,p1"},
      {SilenceState::kExpired, "", "e2,e1"},
      {std::nullopt, R"(alertname="X")", "a2,a1,p1,e2,e1"},
      {std::nullopt, R"(alertname=~"X")", "a3"},
      {std::nullopt, R"(env="prod", alertname="X")", "a1,e2"},
      {SilenceState::kExpired, R"(env="prod")", "e2"},
      {std::nullopt, R"(env!="prod")", ""},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ids(silences.query(c.state, M(c.filter), now)), c.want)
        << (c.state ? to_string(*c.state) : "all") << " " << c.filter;
  }
}

TEST(SilencesGc, DropsSilencesExpiredLongerThanRetention) {
  const core::TimePoint now = kNow;
  const core::Duration retention = kDefaultSilenceRetention;
  EXPECT_EQ(retention, hours(120));
  Silences silences(counter());
  struct Spec {
    std::string id;
    core::TimePoint ends;
  };
  const std::vector<Spec> specs = {
      {"at-retention", now - retention},
      {"beyond", now - retention - hours(1)},
      {"within", now - retention + nanoseconds(1)},
      {"just-expired", now},
      {"active", now + hours(1)},
  };
  for (const Spec& s : specs) {
    Silence x = make("a=b", s.ends - hours(1), s.ends);
    x.id = s.id;
    ASSERT_TRUE(silences.restore(x));
  }
  EXPECT_EQ(silences.gc(now, retention), 2U);
  EXPECT_EQ(silences.get("at-retention"), nullptr);
  EXPECT_EQ(silences.get("beyond"), nullptr);
  EXPECT_EQ(ids(silences.query(std::nullopt, {}, now)), "active,just-expired,within");
  EXPECT_EQ(silences.gc(now, retention), 0U);
  EXPECT_EQ(silences.gc(now + hours(1) + retention, retention), 3U);
  EXPECT_EQ(silences.size(), 0U);
}

TEST(SilencesAudit, RecordsEveryChange) {
  const core::TimePoint now = kNow;
  Silences silences(counter());
  ASSERT_EQ(silences.set(make("a=b", now, now + hours(1)), now).value(), "id-1");

  Silence longer = *silences.get("id-1");
  longer.ends_at = now + hours(2);
  longer.created_by = "bob";
  ASSERT_EQ(silences.set(longer, now + minutes(1)).value(), "id-1");

  Silence narrower = *silences.get("id-1");
  narrower.matchers = M("a=b, c=d");
  narrower.created_by = "carol";
  ASSERT_EQ(silences.set(narrower, now + minutes(2)).value(), "id-2");
  ASSERT_TRUE(silences.expire("id-2", now + minutes(3)));

  const std::vector<SilenceChange> changes = silences.take_changes();
  struct Want {
    std::string id, action, by;
    core::TimePoint at;
  };
  const std::vector<Want> want = {
      {"id-1", "create", "alice", now},
      {"id-1", "update", "bob", now + minutes(1)},
      {"id-1", "expire", "bob", now + minutes(2)},
      {"id-2", "create", "carol", now + minutes(2)},
      {"id-2", "expire", "carol", now + minutes(3)},
  };
  ASSERT_EQ(changes.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(changes[i].id, want[i].id) << i;
    EXPECT_EQ(changes[i].action, want[i].action) << i;
    EXPECT_EQ(changes[i].by, want[i].by) << i;
    EXPECT_EQ(changes[i].at, want[i].at) << i;
    EXPECT_EQ(changes[i].after.id, want[i].id) << i;
    EXPECT_EQ(changes[i].after.updated_at, want[i].at) << i;
  }
  EXPECT_EQ(changes[2].after, *silences.get("id-1"));
  EXPECT_EQ(changes[4].after, *silences.get("id-2"));
  EXPECT_TRUE(silences.take_changes().empty());

  // Replaying the trail rebuilds the set.
  Silences replayed(counter());
  for (const SilenceChange& c : changes) ASSERT_TRUE(replayed.restore(c.after));
  EXPECT_EQ(ids(replayed.query(std::nullopt, {}, now)), ids(silences.query(std::nullopt, {}, now)));
  EXPECT_EQ(*replayed.get("id-1"), *silences.get("id-1"));
  EXPECT_TRUE(replayed.take_changes().empty());
}

TEST(SilencesRestore, PutsBackAsStoredAndValidates) {
  const core::TimePoint now = kNow;
  Silences silences(counter());
  Silence s = make("a=b", now - hours(1), now + hours(1));
  s.id = "kept";
  s.updated_at = now - hours(2);
  ASSERT_TRUE(silences.restore(s));
  EXPECT_EQ(*silences.get("kept"), s);
  EXPECT_EQ(join(silences.mutes({{"a", "b"}}, now)), "kept");

  Silence moved = s;
  moved.matchers = M("a=c");
  ASSERT_TRUE(silences.restore(moved));  // a later record of the same id replaces it
  EXPECT_EQ(join(silences.mutes({{"a", "b"}}, now)), "");
  EXPECT_EQ(join(silences.mutes({{"a", "c"}}, now)), "kept");

  Silence no_id = s;
  no_id.id.clear();
  EXPECT_EQ(silences.restore(no_id).error().field, "id");
  Silence empty_range = s;
  empty_range.id = "expired-while-pending";
  empty_range.ends_at = empty_range.starts_at;
  EXPECT_TRUE(silences.restore(empty_range).has_value());
  Silence backwards = empty_range;
  backwards.ends_at -= seconds(1);
  EXPECT_EQ(silences.restore(backwards).error().code, "silence_invalid_time_range");
  EXPECT_TRUE(silences.take_changes().empty());
}

TEST(SilenceIds, SeededUuidV4) {
  SilenceIdGenerator a = uuid_v4_generator(1);
  SilenceIdGenerator b = uuid_v4_generator(1);
  SilenceIdGenerator c = uuid_v4_generator(2);
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string id = a();
    ASSERT_EQ(id.size(), 36U) << id;
    for (std::size_t k = 0; k < id.size(); ++k) {
      const bool dash = k == 8 || k == 13 || k == 18 || k == 23;
      EXPECT_EQ(id[k] == '-', dash) << id;
      if (!dash) {
        EXPECT_NE(std::string_view("0123456789abcdef").find(id[k]), std::string::npos);
      }
    }
    EXPECT_EQ(id[14], '4') << id;
    EXPECT_NE(std::string_view("89ab").find(id[19]), std::string::npos) << id;
    EXPECT_EQ(id, b()) << "the same seed gives the same ids";
    EXPECT_NE(id, c());
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 100U);
}

}  // namespace
}  // namespace opsready::alerting
