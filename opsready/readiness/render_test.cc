// Rendering tests. The golden files under testdata/ are compared byte for byte; after an
// intended change, regenerate them with (from the repo root, any build dir):
//
//   OPSREADY_UPDATE_GOLDEN=1 ./build/<dir>/opsready/readiness/opsready_readiness_test
//   --gtest_filter='Golden.*'
//
// and review the diff of opsready/readiness/testdata/ before committing.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "opsready/core/time.h"
#include "opsready/readiness/readiness.h"

namespace opsready::readiness {
namespace {

using core::Severity;
using std::chrono::minutes;
using std::chrono::seconds;

TimePoint at(const char* s) { return core::parse_rfc3339(s).value(); }

const TimePoint kNow = at("2025-01-02T00:00:00Z");

ComponentSnapshot comp(std::string name, Status status, TimePoint observed, std::string summary,
                       std::vector<core::Issue> issues = {}) {
  return {.component = std::move(name),
          .status = status,
          .summary = std::move(summary),
          .observed_at = observed,
          .issues = std::move(issues),
          .metadata = nlohmann::json::object()};
}

// One snapshot that exercises every part of every rendering: ok/warn/fail, a stale component,
// a missing required component, issues with and without runbooks, '|' and newlines in text,
// blocking reasons and warnings.
ReadinessSnapshot golden_snapshot() {
  GatePolicy policy;
  policy.max_age = minutes(5);
  policy.max_warn_components = 1;
  policy.components["incident_response"] = {.required = true};
  policy.components["security"] = {.required = true};
  policy.components["backups"] = {.max_age = std::chrono::hours(24)};
  const std::vector<ComponentSnapshot> in = {
      comp("system_validation", Status::kOk, kNow - seconds(30), "10/10 checks passed"),
      comp("incident_response", Status::kWarn, kNow - seconds(90),
           "open incidents=2 | missing runbooks=1",
           {{.code = "open_incidents",
             .severity = Severity::kWarning,
             .message = "2 open incidents",
             .runbook = "docs/runbooks/incident_response.md"},
            {.code = "missing_runbooks",
             .severity = Severity::kWarning,
             .message = "runbook missing for:\nsev1 | sev2",
             .runbook = {}}}),
      comp("drift_sentry", Status::kFail, kNow - seconds(5), "belief_confidence:alert",
           {{.code = "page_hinkley_alert",
             .severity = Severity::kCritical,
             .message = "Page-Hinkley statistic 61.2 > 50",
             .runbook = "docs/runbooks/drift_sentry_response.md"}}),
      comp("backups", Status::kOk, kNow - std::chrono::hours(3), "last backup 3h ago"),
      comp("ingest_slos", Status::kOk, kNow - minutes(12), "pass across 3 SLOs\r\nall met"),
  };
  return aggregate(in, policy, kNow);
}

std::filesystem::path testdata(const char* name) {
  return std::filesystem::path(__FILE__).parent_path() / "testdata" / name;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Compares `got` with the golden file byte for byte, or rewrites the file when
// OPSREADY_UPDATE_GOLDEN=1.
void expect_golden(const char* name, const std::string& got) {
  const auto path = testdata(name);
  const char* update = std::getenv("OPSREADY_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary | std::ios::trunc) << got;
  }
  ASSERT_TRUE(std::filesystem::exists(path)) << path << " is missing; see the file comment";
  EXPECT_EQ(got, read_file(path)) << "golden " << path << " differs; see the file comment";
}

TEST(Golden, Markdown) { expect_golden("readiness.md", to_markdown(golden_snapshot())); }

TEST(Golden, Json) { expect_golden("readiness.json", to_json(golden_snapshot()).dump(2) + "\n"); }

TEST(Golden, HealthJson) {
  expect_golden("health.json", to_health_json(golden_snapshot(), "0.1.0").dump(2) + "\n");
}

TEST(Markdown, IsDeterministicAndRoundTripsThroughJson) {
  const ReadinessSnapshot s = golden_snapshot();
  const std::string md = to_markdown(s);
  EXPECT_EQ(md, to_markdown(golden_snapshot()));
  auto back = readiness_from_json(to_json(s));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(to_markdown(*back), md);
}

TEST(Markdown, EscapesCellsAndListItems) {
  struct Case {
    const char* summary;
    const char* cell;
  };
  const Case cases[] = {
      {"plain", "plain"},
      {"a|b", "a\\|b"},
      {"line1\nline2", "line1<br>line2"},
      {"crlf\r\nnext", "crlf<br>next"},
      {"cr\rnext", "cr<br>next"},
      {"||\n\n", "\\|\\|<br><br>"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.summary);
    const std::vector<ComponentSnapshot> in = {comp("x", Status::kFail, kNow, c.summary)};
    const std::string md = to_markdown(aggregate(in, GatePolicy{}, kNow));
    EXPECT_NE(md.find("| x | fail | 2025-01-02T00:00:00Z | " + std::string(c.cell) + " |\n"),
              std::string::npos)
        << md;
    EXPECT_NE(md.find("- `component_x_fail`: x status fail: " + std::string(c.cell) + "\n"),
              std::string::npos)
        << md;
  }
}

TEST(Markdown, Empty) {
  EXPECT_EQ(to_markdown(aggregate({}, GatePolicy{}, kNow)),
            "# Operational readiness: OK (gate: warn)\n"
            "\n"
            "Generated at: 2025-01-02T00:00:00Z\n"
            "\n"
            "Components: 0 (ok 0, warn 0, fail 0)\n"
            "\n"
            "No components reported.\n"
            "\n"
            "## Issues\n"
            "\n"
            "No issues.\n"
            "\n"
            "## Gate: warn\n"
            "\n"
            "### Warnings\n"
            "\n"
            "- `no_components`: no component has reported yet\n");
  EXPECT_NE(
      to_markdown(aggregate({}, GatePolicy{.empty_decision = GateDecision::Decision::kPass}, kNow))
          .find("## Gate: pass\n\nNo blocking reasons or warnings.\n"),
      std::string::npos);
}

TEST(Markdown, HeadlineCarriesStatusAndDecision) {
  struct Case {
    Status status;
    const char* headline;
    const char* gate;
  };
  const Case cases[] = {
      {Status::kOk, "# Operational readiness: OK (gate: pass)\n", "## Gate: pass\n"},
      {Status::kWarn, "# Operational readiness: WARN (gate: warn)\n", "## Gate: warn\n"},
      {Status::kFail, "# Operational readiness: FAIL (gate: block)\n", "## Gate: block\n"},
  };
  for (const auto& c : cases) {
    const std::vector<ComponentSnapshot> in = {comp("x", c.status, kNow, "s")};
    const std::string md = to_markdown(aggregate(in, GatePolicy{}, kNow));
    EXPECT_TRUE(md.starts_with(c.headline)) << md;
    EXPECT_NE(md.find(c.gate), std::string::npos) << md;
  }
}

TEST(HealthJson, StatusMapping) {
  struct Case {
    Status status;
    const char* word;
  };
  const Case cases[] = {{Status::kOk, "pass"}, {Status::kWarn, "warn"}, {Status::kFail, "fail"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.word);
    const std::vector<ComponentSnapshot> in = {comp("a", Status::kOk, kNow, "fine"),
                                               comp("x", c.status, kNow - seconds(1), "s")};
    const nlohmann::json j = to_health_json(aggregate(in, GatePolicy{}, kNow), "1.2.3");
    EXPECT_EQ(j["status"], c.word);
    EXPECT_EQ(j["version"], "1.2.3");
    EXPECT_EQ(j["description"], "opsready operational readiness");
    EXPECT_EQ(j.contains("output"), c.status != Status::kOk);
    ASSERT_EQ(j["checks"].size(), 2u);
    EXPECT_EQ(j["checks"]["x:status"], (nlohmann::json::array({{{"componentId", "x"},
                                                                {"componentType", "component"},
                                                                {"status", c.word},
                                                                {"time", "2025-01-01T23:59:59Z"},
                                                                {"output", "s"}}})));
    EXPECT_EQ(j["checks"]["a:status"][0]["status"], "pass");
  }
}

TEST(HealthJson, OutputSummarisesGate) {
  const nlohmann::json j = to_health_json(golden_snapshot(), "0.1.0");
  EXPECT_EQ(j["output"], "operational readiness fail; gate block: 3 blocking reasons, 3 warnings");
  const nlohmann::json empty = to_health_json(aggregate({}, GatePolicy{}, kNow), "v");
  EXPECT_EQ(empty, (nlohmann::json{{"status", "pass"},
                                   {"version", "v"},
                                   {"description", "opsready operational readiness"},
                                   {"checks", nlohmann::json::object()}}));
}

}  // namespace
}  // namespace opsready::readiness
