// cache (CacheHealth) tests. testdata/cache/evaluated.json is what report.json evaluates to;
// after an intended change, regenerate it with (from the repo root, any build dir):
//
//   OPSREADY_UPDATE_GOLDEN=1 ./build/<dir>/opsready/components/opsready_components_test
//       --gtest_filter='CacheHealth.EvaluatedSnapshotIntake'
//
// and review the diff before committing.

#include "opsready/components/cache_health.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "opsready/core/time.h"

namespace opsready::components {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kTestdata = fs::path(__FILE__).parent_path().parent_path().parent_path() /
                           "examples" / "documents" / "cache";
const core::TimePoint kT0 = core::parse_rfc3339("2025-01-02T00:00:00Z").value();
const core::TimePoint kNow = core::parse_rfc3339("2025-01-02T06:00:00Z").value();

json read_json(const fs::path& p) {
  std::ifstream in(p);
  return json::parse(in);
}

json healthy() { return {{"configured", true}, {"reachable", true}}; }

json with(json doc, const json& extra) {
  for (const auto& [k, v] : extra.items()) doc[k] = v;
  return doc;
}

std::string codes(const core::ComponentSnapshot& s) {
  std::string out;
  for (const auto& i : s.issues) out += (out.empty() ? "" : ",") + i.code;
  return out;
}

Evaluated eval(const json& doc, const CacheHealthConfig& config = {}) {
  auto c = CacheHealth::create(config).value();
  auto e = c->evaluate(doc, kNow);
  EXPECT_TRUE(e.has_value()) << doc.dump() << ": " << e.error().describe();
  return e.value_or(Evaluated{});
}

TEST(CacheHealth, Healthy) {
  const auto e = eval(with(healthy(), {{"hits", 950}, {"misses", 50}, {"latency_ms_p95", 1.25}}));
  EXPECT_EQ(e.snapshot.component, "cache");
  EXPECT_EQ(e.snapshot.status, core::Status::kOk);
  EXPECT_EQ(e.snapshot.summary, "Redis cache healthy (hit rate 95.0%, p95 1.2 ms)");
  EXPECT_TRUE(e.snapshot.issues.empty());
  EXPECT_EQ(e.snapshot.observed_at, kNow);  // no generated_at: the event's time
  EXPECT_EQ(e.snapshot.metadata["hit_rate"], 0.95);
  EXPECT_EQ(e.snapshot.metadata["requests"], 1000);
  EXPECT_EQ(e.snapshot.metadata["backend"], "redis");
  EXPECT_FALSE(e.snapshot.metadata.contains("issue_details"));
}

// The outage rules of the redis_cache_outage runbook: unreachable fails, the bootstrap cache
// warns.
TEST(CacheHealth, OutageAndFallback) {
  auto e = eval({{"configured", true}, {"reachable", false}, {"fallback_active", true}});
  EXPECT_EQ(e.snapshot.status, core::Status::kFail);
  EXPECT_EQ(codes(e.snapshot), "cache.unreachable,cache.fallback");
  EXPECT_EQ(e.snapshot.issues[0], (core::Issue{.code = "cache.unreachable",
                                               .severity = core::Severity::kCritical,
                                               .message = "Redis cache unreachable",
                                               .runbook = "docs/runbooks/cache.md#unreachable"}));
  EXPECT_EQ(e.snapshot.issues[1].severity, core::Severity::kWarning);
  EXPECT_EQ(e.snapshot.issues[1].message, "In-memory fallback cache active");
  EXPECT_EQ(e.snapshot.summary, "Redis cache unreachable; In-memory fallback cache active");
  EXPECT_EQ(e.snapshot.metadata["issue_counts"], (json{{"fail", 1}, {"warn", 1}}));

  e = eval({{"configured", false}, {"backend", "memory"}});
  EXPECT_EQ(e.snapshot.status, core::Status::kWarn);
  EXPECT_EQ(codes(e.snapshot), "cache.not_configured");
  EXPECT_EQ(e.snapshot.issues[0].message, "Redis cache not configured");
  e = eval({{"configured", false}, {"backend", "memory"}}, {.require_configured = false});
  EXPECT_EQ(e.snapshot.status, core::Status::kOk);
  EXPECT_EQ(e.snapshot.summary, "In-memory cache healthy");
  // Unreachability only counts for a configured cache.
  e = eval({{"configured", "no"}, {"reachable", false}}, {.require_configured = false});
  EXPECT_EQ(e.snapshot.status, core::Status::kOk);
}

TEST(CacheHealth, HitRateBoundaries) {
  struct Case {
    json extra;
    core::Status status;
    std::string message;
  };
  const Case cases[] = {
      {{{"hit_rate", 0.8}}, core::Status::kOk, ""},
      {{{"hit_rate", 0.7999}}, core::Status::kWarn, "Cache hit rate 80.0% below 80.0%"},
      {{{"hit_rate", 0.5}}, core::Status::kWarn, "Cache hit rate 50.0% below 80.0%"},
      {{{"hit_rate", 0.4999}}, core::Status::kFail, "Cache hit rate 50.0% below 50.0%"},
      {{{"hit_rate", "42%"}}, core::Status::kFail, "Cache hit rate 42.0% below 50.0%"},
      // Below min_requests (100) the rate is not graded; at it, it is.
      {{{"hits", 10}, {"misses", 89}}, core::Status::kOk, ""},
      {{{"hits", 10}, {"misses", 90}}, core::Status::kFail, "Cache hit rate 10.0% below 50.0%"},
      {{{"hit_rate", 0.1}, {"hits", 10}, {"misses", 80}}, core::Status::kOk, ""},
      {{{"hits", 70}, {"misses", 30}}, core::Status::kWarn, "Cache hit rate 70.0% below 80.0%"},
      // A reported rate wins over the counts.
      {{{"hit_rate", 0.9}, {"hits", 10}, {"misses", 90}}, core::Status::kOk, ""},
      {{{"hits", 0}, {"misses", 0}}, core::Status::kOk, ""},
  };
  for (const auto& c : cases) {
    const auto e = eval(with(healthy(), c.extra));
    EXPECT_EQ(e.snapshot.status, c.status) << c.extra.dump();
    if (c.message.empty()) {
      EXPECT_TRUE(e.snapshot.issues.empty()) << c.extra.dump();
    } else {
      ASSERT_EQ(e.snapshot.issues.size(), 1u) << c.extra.dump();
      EXPECT_EQ(e.snapshot.issues[0].code, "cache.hit_rate");
      EXPECT_EQ(e.snapshot.issues[0].message, c.message);
    }
  }
}

TEST(CacheHealth, LatencyEvictionsErrorsBoundaries) {
  struct Case {
    json extra;
    core::Status status;
    std::string codes;
    std::string message;
  };
  const Case cases[] = {
      {{{"latency_ms_p95", 5}}, core::Status::kOk, "", ""},
      {{{"latency_ms_p95", 5.01}},
       core::Status::kWarn,
       "cache.latency",
       "Cache p95 latency 5.0 ms above 5.0 ms"},
      {{{"latency_ms_p95", 50}},
       core::Status::kWarn,
       "cache.latency",
       "Cache p95 latency 50.0 ms above 5.0 ms"},
      {{{"latency_ms_p95", 50.1}},
       core::Status::kFail,
       "cache.latency",
       "Cache p95 latency 50.1 ms above 50.0 ms"},
      {{{"evictions", 0}, {"errors", 0}}, core::Status::kOk, "", ""},
      {{{"evictions", 1}}, core::Status::kWarn, "cache.evictions", "Cache evictions 1 above 0"},
      {{{"errors", 4}}, core::Status::kWarn, "cache.errors", "Cache errors 4 above 0"},
  };
  for (const auto& c : cases) {
    const auto e = eval(with(healthy(), c.extra));
    EXPECT_EQ(e.snapshot.status, c.status) << c.extra.dump();
    EXPECT_EQ(codes(e.snapshot), c.codes) << c.extra.dump();
    if (!c.message.empty()) {
      EXPECT_EQ(e.snapshot.issues.at(0).message, c.message);
    }
  }
  const auto e = eval(with(healthy(), {{"evictions", 10}, {"errors", 2}}),
                      {.evictions_warn = 10, .errors_warn = 1});
  EXPECT_EQ(codes(e.snapshot), "cache.errors");
  EXPECT_EQ(e.snapshot.issues[0].message, "Cache errors 2 above 1");
}

// A reported status word escalates when nothing else explains it.
TEST(CacheHealth, ReportedStatus) {
  auto e = eval(with(healthy(), {{"status", "fail"}}));
  EXPECT_EQ(e.snapshot.status, core::Status::kFail);
  EXPECT_EQ(codes(e.snapshot), "cache.status");
  EXPECT_EQ(e.snapshot.issues[0].message, "Cache reported status fail");
  e = eval(with(healthy(), {{"status", "degraded"}}));
  EXPECT_EQ(e.snapshot.status, core::Status::kWarn);
  EXPECT_EQ(codes(e.snapshot), "cache.status");
  e = eval(with(healthy(), {{"status", "warn"}, {"errors", 1}}));
  EXPECT_EQ(codes(e.snapshot), "cache.errors");
  e = eval(with(healthy(), {{"status", "fail"}, {"errors", 1}}));
  EXPECT_EQ(codes(e.snapshot), "cache.errors,cache.status");
  EXPECT_EQ(e.snapshot.status, core::Status::kFail);
  e = eval(with(healthy(), {{"status", "ok"}, {"errors", 1}}));
  EXPECT_EQ(e.snapshot.status, core::Status::kWarn);
}

TEST(CacheHealth, ReportAndMarkdown) {
  const auto e = eval(read_json(kTestdata / "report.json"));
  EXPECT_EQ(e.snapshot.status, core::Status::kWarn);
  EXPECT_EQ(e.snapshot.observed_at, kT0);
  EXPECT_EQ(codes(e.snapshot), "cache.hit_rate,cache.evictions");
  EXPECT_EQ(e.snapshot.summary, "Cache hit rate 72.0% below 80.0%; Cache evictions 3 above 0");
  EXPECT_EQ(e.snapshot.metadata["context"], (json{{"host", "redis-0.cache.svc"}, {"db", 0}}));
  EXPECT_EQ(e.snapshot.metadata["namespace"], "emp:bootstrap");
  EXPECT_EQ(e.snapshot.metadata["reported_status"], "ok");
  EXPECT_EQ(e.snapshot.metadata["issue_category_severity"],
            (json{{"evictions", "warn"}, {"hit_rate", "warn"}}));
  EXPECT_EQ(e.snapshot.metadata["issue_details"][0]["detail"],
            (json{{"hit_rate", 0.72}, {"requests", 1000}}));
  EXPECT_EQ(e.markdown,
            "**Cache health – redis** (status: warn, generated: 2025-01-02T00:00:00Z)\n"
            "\n"
            "| Check | Value |\n"
            "| --- | --- |\n"
            "| Namespace | emp:bootstrap |\n"
            "| Configured | yes |\n"
            "| Reachable | yes |\n"
            "| Fallback active | no |\n"
            "| Hit rate | 72.0% (1000 requests) |\n"
            "| p95 latency | 2.4 ms |\n"
            "| Evictions | 3 |\n"
            "| Errors | 0 |\n"
            "\n"
            "Issues:\n"
            "- **warn** Cache hit rate 72.0% below 80.0%\n"
            "- **warn** Cache evictions 3 above 0\n");
}

TEST(CacheHealth, EvaluatedSnapshotIntake) {
  const auto from_report = eval(read_json(kTestdata / "report.json"));
  if (std::getenv("OPSREADY_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(kTestdata / "evaluated.json") << from_report.report.dump(2) << "\n";
  }
  const json evaluated = read_json(kTestdata / "evaluated.json");
  EXPECT_EQ(evaluated, from_report.report);
  const auto e = eval(evaluated);
  EXPECT_EQ(e.snapshot.status, from_report.snapshot.status);
  EXPECT_EQ(e.snapshot.summary, from_report.snapshot.summary);
  EXPECT_EQ(e.snapshot.issues, from_report.snapshot.issues);
  EXPECT_EQ(e.snapshot.observed_at, kT0);
  EXPECT_EQ(e.markdown, from_report.markdown);
  EXPECT_EQ(e.snapshot.metadata["source"], "evaluated_snapshot");

  // The original's ok/warn/fail severities in issue_details.
  auto d = eval({{"status", "warn"},
                 {"generated_at", "2025-01-02T00:00:00"},
                 {"metadata",
                  {{"issue_details",
                    {{{"category", "unreachable"}, {"severity", "fail"}, {"message", "down"}},
                     {{"category", "fallback"}, {"severity", "warn"}, {"message", "fb"}},
                     {{"category", "note"}, {"severity", "ok"}, {"message", "fyi"}}}}}}});
  EXPECT_EQ(d.snapshot.status, core::Status::kFail);
  EXPECT_EQ(codes(d.snapshot), "cache.unreachable,cache.fallback,cache.note");
  EXPECT_EQ(d.snapshot.issues[2].severity, core::Severity::kInfo);
  EXPECT_EQ(d.snapshot.summary, "Cache status fail");
  // Only issue strings: they take the snapshot's status.
  d = eval({{"status", "warn"}, {"issues", {"Redis slow"}}});
  EXPECT_EQ(codes(d.snapshot), "cache.issue");
  EXPECT_EQ(d.snapshot.summary, "Redis slow");
  EXPECT_EQ(d.snapshot.observed_at, kNow);
}

TEST(CacheHealth, Refusals) {
  auto c = CacheHealth::create({}).value();
  struct Case {
    json doc;
    std::string field;
  };
  const Case cases[] = {
      {with(healthy(), {{"hitrate", 0.9}}), "hitrate"},
      {{{"configured", "maybe"}}, "configured"},
      {{{"configured", true}}, "reachable"},
      {with(healthy(), {{"reachable", "sometimes"}}), "reachable"},
      {with(healthy(), {{"hit_rate", 1.5}}), "hit_rate"},
      {with(healthy(), {{"hit_rate", "high"}}), "hit_rate"},
      {with(healthy(), {{"hits", -1}}), "hits"},
      {with(healthy(), {{"misses", 1.5}}), "misses"},
      {with(healthy(), {{"evictions", true}}), "evictions"},
      {with(healthy(), {{"latency_ms_p95", -1}}), "latency_ms_p95"},
      {with(healthy(), {{"backend", "memcached"}}), "backend"},
      {with(healthy(), {{"status", "green"}}), "status"},
      {with(healthy(), {{"generated_at", "today"}}), "generated_at"},
      {with(healthy(), {{"metadata", "x"}}), "metadata"},
      {with(healthy(), {{"namespace", 3}}), "namespace"},
      {{{"status", "ok"}, {"reachable", true}}, "reachable"},
      {{{"summary", "s"}}, "status"},
      {{{"status", "ok"}, {"issues", {{1, 2}}}}, "issues[0]"},
  };
  for (const auto& k : cases) {
    auto e = c->evaluate(k.doc, kNow);
    ASSERT_FALSE(e.has_value()) << k.doc.dump();
    EXPECT_EQ(e.error().field, k.field) << k.doc.dump() << ": " << e.error().describe();
  }
  EXPECT_FALSE(c->evaluate(json("redis down"), kNow).has_value());
}

TEST(CacheHealth, Config) {
  EXPECT_TRUE(validate(CacheHealthConfig{}).has_value());
  EXPECT_EQ(validate(CacheHealthConfig{.hit_rate_warn = 0.4}).error().field, "hit_rate_fail");
  EXPECT_EQ(validate(CacheHealthConfig{.hit_rate_warn = 1.2}).error().field, "hit_rate_warn");
  EXPECT_EQ(validate(CacheHealthConfig{.latency_fail_ms = 1}).error().field, "latency_fail_ms");
  EXPECT_EQ(validate(CacheHealthConfig{.latency_warn_ms = -1}).error().field, "latency_warn_ms");
  EXPECT_FALSE(CacheHealth::create({.hit_rate_fail = 0.9}).has_value());
}

TEST(CacheHealth, DocumentComponent) {
  auto c = CacheHealth::create({}).value();
  EXPECT_EQ(c->name(), "cache");
  EXPECT_EQ(c->alert_category(), "operational.cache");
  EXPECT_TRUE(c->consumes("telemetry.cache.health"));
  EXPECT_FALSE(c->consumes("telemetry.cache"));
  ASSERT_TRUE(c->apply({.topic = "telemetry.cache.health",
                        .time = kT0,
                        .payload = {{"configured", true}, {"reachable", false}}}));
  EXPECT_EQ(c->snapshot(kNow).status, core::Status::kFail);
  EXPECT_EQ(c->snapshot(kNow).observed_at, kT0);
  EXPECT_FALSE(
      c->apply({.topic = "telemetry.cache.health", .time = kT0, .payload = {{"configured", 2}}}));
  EXPECT_EQ(c->snapshot(kNow).status, core::Status::kFail);
}

}  // namespace
}  // namespace opsready::components
