#include "opsready/components/report.h"

#include <gtest/gtest.h>

#include "opsready/core/time.h"

namespace opsready::components {
namespace {

core::TimePoint at(const char* s) { return core::parse_rfc3339(s).value(); }

TEST(Doc, ReadsFieldsByTheOneRuleAndNamesTheOffendingPath) {
  const nlohmann::json j = {{"rate", "95%"},
                            {"n", "12"},
                            {"on", "yes"},
                            {"off", 0},
                            {"list", "a, b;;c "},
                            {"arr", {"x", "", 3}},
                            {"when", "2025-01-02T03:04:05"},
                            {"nested", {{"k", 1}}},
                            {"bad", {1, 2}},
                            {"nil", nullptr}};
  Doc d(j, "report");
  EXPECT_EQ(d.number("rate").value(), 0.95);
  EXPECT_EQ(d.number("n").value(), 12.0);
  EXPECT_EQ(d.number("missing").value(), std::nullopt);
  EXPECT_EQ(d.number("nil").value(), std::nullopt);
  EXPECT_EQ(d.boolean("on").value(), true);
  EXPECT_EQ(d.boolean("off").value(), false);
  EXPECT_EQ(d.strings("list").value(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(d.strings("arr").value(), (std::vector<std::string>{"x", "3"}));
  EXPECT_EQ(d.time("when").value(), at("2025-01-02T03:04:05Z"));  // naive = UTC
  EXPECT_EQ(d.object("nested").value()->path(), "report.nested");

  EXPECT_EQ(d.number("list").error().field, "report.list");
  EXPECT_EQ(d.boolean("n").error().field, "report.n");
  EXPECT_EQ(d.string("off").error().field, "report.off");
  EXPECT_EQ(d.time("n").error().field, "report.n");
  EXPECT_EQ(d.object("bad").error().field, "report.bad");
  EXPECT_EQ(d.strings("nested").error().field, "report.nested");
  EXPECT_EQ(Doc(nlohmann::json{{"arr", {{{"x", 1}}}}}, "").strings("arr").error().field, "arr[0]");
  auto unknown = d.only({"rate", "n"});
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, "invalid_document");
  EXPECT_EQ(unknown.error().field.rfind("report.", 0), 0u);
  EXPECT_FALSE(root_object(nlohmann::json::array(), "a report").has_value());
}

TEST(Doc, TimesWithAndWithoutOffsets) {
  EXPECT_EQ(document_time("2025-01-02T03:00:00+01:00"), at("2025-01-02T02:00:00Z"));
  EXPECT_EQ(document_time("2025-01-02T03:00:00Z"), at("2025-01-02T03:00:00Z"));
  EXPECT_EQ(document_time("2025-01-02 03:00:00"), at("2025-01-02T03:00:00Z"));
  EXPECT_EQ(document_time("2025-01-02"), at("2025-01-02T00:00:00Z"));
  EXPECT_EQ(document_time("noon"), std::nullopt);
  EXPECT_EQ(document_bool(nlohmann::json("maybe")), std::nullopt);
  EXPECT_EQ(document_bool(nlohmann::json(2)), std::nullopt);
}

TEST(Findings, BuildTheSpecsCatalogAndUniqueIssueCodes) {
  Findings f("incident_response");
  f.add("training", core::Status::kWarn, "Incident response training overdue",
        "incident_response.training");
  f.add("missing_runbooks", core::Status::kFail, "Missing required runbooks: a",
        "incident_response.missing_runbooks", {{"missing", {"a"}}});
  f.add("training", core::Status::kWarn, "again", "incident_response.training");
  EXPECT_EQ(f.worst(), core::Status::kFail);
  core::ComponentSnapshot s{.component = "incident_response"};
  f.write_to(s);
  EXPECT_EQ(s.status, core::Status::kFail);
  ASSERT_EQ(s.issues.size(), 3u);
  EXPECT_EQ(s.issues[0].code, "incident_response.training");
  EXPECT_EQ(s.issues[2].code, "incident_response.training:2");
  // A code given with a qualifier that a repeat would also produce stays unique.
  Findings g("x");
  g.add("a", core::Status::kWarn, "m", "x.a");
  g.add("a", core::Status::kWarn, "m", "x.a:3");
  g.add("a", core::Status::kWarn, "m", "x.a");
  g.add("a", core::Status::kWarn, "m", "x.a");
  core::ComponentSnapshot t{.component = "x"};
  g.write_to(t);
  std::vector<std::string> codes;
  for (const auto& i : t.issues) codes.push_back(i.code);
  EXPECT_EQ(codes, (std::vector<std::string>{"x.a", "x.a:3", "x.a:2", "x.a:4"}));
  EXPECT_EQ(s.issues[1].severity, core::Severity::kCritical);
  EXPECT_EQ(s.issues[1].runbook, "docs/runbooks/incident_response.md#missing_runbooks");
  nlohmann::json md = nlohmann::json::object();
  f.write_metadata(md);
  EXPECT_EQ(md["issue_counts"], (nlohmann::json{{"fail", 1}, {"warn", 2}}));
  EXPECT_EQ(md["issue_category_severity"]["missing_runbooks"], "fail");
  EXPECT_EQ(md["issue_catalog"]["training"].size(), 2u);
  EXPECT_EQ(md["issue_details"][1]["detail"]["missing"][0], "a");
  EXPECT_EQ(md["highest_issue_severity"], "fail");
}

TEST(FromEvaluated, TakesTheOriginalsSnapshotWithItsSeverities) {
  const nlohmann::json doc = {
      {"service", "emp_incidents"},
      {"generated_at", "2025-01-02T00:00:00+00:00"},
      {"status", "fail"},
      {"issues", {"Missing required runbooks: redis_outage"}},
      {"metadata",
       {{"issue_details",
         {{{"category", "missing_runbooks"},
           {"severity", "fail"},
           {"message", "Missing required runbooks: redis_outage"}},
          {{"category", "training"}, {"severity", "warn"}, {"message", "overdue"}}}}}}};
  auto e = from_evaluated("incident_response", "incident_response", doc, at("2030-01-01T00:00:00Z"),
                          "from the runtime");
  ASSERT_TRUE(e.has_value()) << e.error().describe();
  EXPECT_EQ(e->snapshot.status, core::Status::kFail);
  EXPECT_EQ(e->snapshot.observed_at, at("2025-01-02T00:00:00Z"));
  ASSERT_EQ(e->snapshot.issues.size(), 2u);
  EXPECT_EQ(e->snapshot.issues[0].code, "incident_response.missing_runbooks");
  EXPECT_EQ(e->snapshot.issues[0].severity, core::Severity::kCritical);
  EXPECT_EQ(e->snapshot.issues[1].severity, core::Severity::kWarning);
  EXPECT_EQ(e->report, doc);

  nlohmann::json bad = doc;
  bad["metadata"]["issue_details"][1]["severity"] = "purple";
  EXPECT_EQ(from_evaluated("incident_response", "incident_response", bad, {}, "").error().field,
            "metadata.issue_details[1].severity");
  EXPECT_EQ(
      from_evaluated("x", "x", {{"generated_at", "2025-01-01T00:00:00Z"}}, {}, "").error().field,
      "status");
}

}  // namespace
}  // namespace opsready::components
