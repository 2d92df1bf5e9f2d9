// The compliance cadence against a running daemon (issue 15): sign-offs recorded through the
// API and `opsready signoff`, graded as the compliance_cadence component, reminders routed to
// the owner's receiver by the owner label, the audit log kept across a restart.

#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "harness.h"
#include "opsready/core/time.h"

namespace opsready::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

json component(const Daemon& d, const std::string& name) {
  auto c = d.client();
  auto r = c.Get("/api/v1/readiness");
  if (!r) return nullptr;
  const json readiness = json::parse(r->body);  // named: a temporary's [] would dangle
  for (const auto& comp : readiness["components"]) {
    if (comp["component"] == name) return comp;
  }
  return nullptr;
}

std::string state_of(const json& comp, const std::string& signoff) {
  if (!comp.is_object()) return "";
  for (const auto& s : comp["metadata"]["signoffs"]) {
    if (s["name"] == signoff) return s["state"];
  }
  return "";
}

// Polls until the component shows `state` for `signoff` (up to 10 s).
json wait_state(const Daemon& d, const std::string& signoff, const std::string& state) {
  json comp;
  for (int i = 0; i < 400; ++i) {
    comp = component(d, "compliance_cadence");
    if (state_of(comp, signoff) == state) return comp;
    std::this_thread::sleep_for(25ms);
  }
  ADD_FAILURE() << signoff << " never became " << state << ": " << comp.dump(2) << "\n" << d.log();
  return comp;
}

TEST(Compliance, SignoffsAreGradedRemindTheOwnerAndSurviveARestart) {
  TempDir dir{"opsready-compliance"};
  const auto now = std::chrono::system_clock::now();
  const auto rfc = [](auto t) {
    return core::format_rfc3339(std::chrono::time_point_cast<core::Duration>(t));
  };
  write_file(dir.path() / "alertmanager.yml",
             "route:\n  receiver: desk\n  group_wait: 0s\n"
             "  routes:\n    - {matchers: ['owner=\"secops\"'], receiver: secops}\n"
             "receivers:\n  - name: desk\n  - name: secops\n");
  const auto config = dir.path() / "opsready.yml";
  write_file(config, "listen: 127.0.0.1:0\ndata_dir: " + (dir.path() / "data").string() +
                         "\nevaluation_interval: 100ms\n"
                         "alerting:\n  config_file: alertmanager.yml\n"
                         "compliance:\n  signoffs:\n"
                         "    - {name: security-review, kind: security_review, owner: secops, "
                         "every: 90d}\n"
                         "    - {name: secrets-rotation, kind: secrets_rotation, owner: platform, "
                         "every: 30d, due_soon: 14d, since: " +
                         rfc(now - 24h * 20) +
                         "}\n"
                         "    - {name: access-review, kind: access_review, owner: secops, every: "
                         "1h, due_soon: 30m}\n");
  const auto checked = run_opsready({"check-config", config.string()});
  ASSERT_EQ(checked.exit_code, 0) << checked.err;
  const auto url = [](const Daemon& d) { return "http://127.0.0.1:" + std::to_string(d.port()); };
  {
    Daemon d({"serve", "--config", config.string()});
    // Never signed: overdue (fail); the rotation began 20 days ago: due in 10 days (warn).
    json comp = wait_state(d, "security-review", "overdue");
    EXPECT_EQ(comp["status"], "fail") << comp.dump(2);
    EXPECT_EQ(state_of(comp, "secrets-rotation"), "due_soon");
    std::string codes;
    for (const auto& i : comp["issues"]) codes += i["code"].get<std::string>() + " ";
    EXPECT_EQ(codes,
              "compliance_cadence.signoff_overdue:security-review "
              "compliance_cadence.signoff_due:secrets-rotation "
              "compliance_cadence.signoff_overdue:access-review ");

    // The reminder is an alert with the owner's label, routed to the owner's receiver.
    auto c = d.client();
    json reminder;
    for (int i = 0; i < 200 && !reminder.is_object(); ++i) {
      for (const auto& a : json::parse(c.Get("/api/v2/alerts")->body)) {
        if (a["labels"].value("signoff", "") == "secrets-rotation") reminder = a;
      }
      if (!reminder.is_object()) std::this_thread::sleep_for(25ms);
    }
    ASSERT_TRUE(reminder.is_object()) << "no alert for the due rotation";
    EXPECT_EQ(reminder["labels"]["owner"], "platform");
    EXPECT_EQ(reminder["labels"]["category"], "compliance_cadence.signoff_due");
    EXPECT_EQ(reminder["labels"]["severity"], "warning");
    EXPECT_EQ(reminder["receivers"], (json::array({{{"name", "desk"}}})));
    bool secops_paged = false;
    for (const auto& a : json::parse(c.Get("/api/v2/alerts")->body)) {
      if (a["labels"].value("signoff", "") == "security-review") {
        secops_paged = a["receivers"] == json::array({{{"name", "secops"}}});
      }
    }
    EXPECT_TRUE(secops_paged);

    // Recorded with the CLI: ok again, and the next due date is 90 days on.
    auto r = run_opsready({"signoff", "record", "security-review", "--by", "alice", "--evidence",
                           "https://wiki.desk/sec/2026-q4", "--url", url(d)});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("Recorded sign-off #1: security-review by alice at "), std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("(now ok)"), std::string::npos) << r.out;
    wait_state(d, "security-review", "ok");

    // An access review done 59 min 57 s ago: due in 3 s (due soon), then overdue, as time passes.
    auto p = c.Post("/api/v1/signoffs",
                    json{{"signoff", "access-review"},
                         {"by", "bob"},
                         {"at", rfc(std::chrono::system_clock::now() - 1h + 3s)},
                         {"note", "quarterly access review"}}
                        .dump(),
                    "application/json");
    ASSERT_TRUE(p);
    ASSERT_EQ(p->status, 201) << p->body;
    EXPECT_EQ(json::parse(p->body)["standing"]["state"], "due_soon");
    wait_state(d, "access-review", "due_soon");
    comp = wait_state(d, "access-review", "overdue");
    EXPECT_EQ(comp["status"], "fail");

    // Refused: an unknown sign-off, a completion in the future, a missing `by`, unknown fields.
    r = run_opsready({"signoff", "record", "nope", "--by", "x", "--url", url(d)});
    EXPECT_EQ(r.exit_code, 65);
    EXPECT_NE(r.err.find("no sign-off is named 'nope' (configured: security-review, "
                         "secrets-rotation, access-review)"),
              std::string::npos)
        << r.err;
    r = run_opsready({"signoff", "record", "security-review", "--by", "x", "--at",
                      rfc(std::chrono::system_clock::now() + 1h), "--url", url(d)});
    EXPECT_EQ(r.exit_code, 65);
    EXPECT_NE(r.err.find("is in the future"), std::string::npos) << r.err;
    p = c.Post("/api/v1/signoffs", R"({"signoff":"security-review"})", "application/json");
    EXPECT_EQ(p->status, 400);
    p = c.Post("/api/v1/signoffs", R"({"signoff":"security-review","by":"x","who":"y"})",
               "application/json");
    EXPECT_EQ(p->status, 400);
    EXPECT_NE(p->body.find("unknown field 'who'"), std::string::npos) << p->body;

    const std::string m = c.Get("/metrics")->body;
    EXPECT_NE(m.find("opsready_signoffs_recorded_total{signoff=\"security-review\"} 1"),
              std::string::npos);
    EXPECT_NE(m.find("opsready_signoff_due_timestamp_seconds{signoff=\"access-review\"}"),
              std::string::npos);
  }
  // After a restart the last completions come back from the audit log.
  Daemon d({"serve", "--config", config.string()});
  wait_state(d, "security-review", "ok");
  auto r = run_opsready({"signoff", "list", "--url", url(d), "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json list = json::parse(r.out);
  ASSERT_EQ(list["records"].size(), 2u) << r.out;
  EXPECT_EQ(list["records"][0]["signoff"], "security-review");  // the newest completed first
  EXPECT_EQ(list["records"][0]["evidence"], "https://wiki.desk/sec/2026-q4");
  EXPECT_NE(list["records"][0]["source"].get<std::string>().find("http 127.0.0.1"),
            std::string::npos);
  EXPECT_EQ(list["records"][1]["note"], "quarterly access review");
  EXPECT_EQ(list["signoffs"][0]["last"]["by"], "alice");
  // --check: an overdue sign-off (access-review) makes it exit 1, for a CI job.
  r = run_opsready({"signoff", "list", "--url", url(d), "--check"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.out.find("access-review  access_review  secops  1h  overdue"), std::string::npos)
      << r.out;
  r = run_opsready({"signoff", "list", "--signoff", "nope", "--url", url(d)});
  EXPECT_EQ(r.exit_code, 65);
}

}  // namespace
}  // namespace opsready::testing
