// The CI-facing subcommands of the real binary: exit codes, formats and error messages.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness.h"

namespace opsready::testing {
namespace {

using nlohmann::json;

const std::string kData = OPSREADY_TESTDATA;
const std::string kNow = "2025-01-02T00:01:00Z";

TEST(Cli, VersionAndHelpForEverySubcommand) {
  auto r = run_opsready({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("opsready 0."), std::string::npos);
  for (const char* cmd : {"serve", "demo", "check-config", "snapshot", "gate", "ci-summary"}) {
    r = run_opsready({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << cmd;
  }
  EXPECT_EQ(run_opsready({}).exit_code, 64);
  EXPECT_EQ(run_opsready({"frobnicate"}).exit_code, 64);
  EXPECT_EQ(run_opsready({"gate"}).exit_code, 64);  // --from is required
}

TEST(Cli, GateExitCodes) {
  struct Case {
    std::vector<std::string> args;
    int want;
  };
  const Case cases[] = {
      {{"gate", "--from", kData + "/pass", "--now", kNow}, 0},
      {{"gate", "--from", kData + "/warn", "--now", kNow}, 0},
      {{"gate", "--from", kData + "/warn", "--now", kNow, "--strict"}, 1},
      {{"gate", "--from", kData + "/pass", "--now", kNow, "--strict"}, 0},
      {{"gate", "--from", kData + "/block", "--now", kNow}, 2},
      {{"gate", "--from", kData + "/block", "--now", kNow, "--strict"}, 2},
      {{"gate", "--from", kData + "/bad_snapshot.json", "--now", kNow}, 65},
      {{"gate", "--from", kData + "/does-not-exist", "--now", kNow}, 65},
      {{"gate", "--from", kData + "/pass", "--now", "noon"}, 64},
      {{"gate", "--from", kData + "/pass", "--now", kNow, "--format", "yaml"}, 64},
      // The policy requires order_router, which no file provides: block.
      {{"gate", "--from", kData + "/pass", "--now", kNow, "--policy", kData + "/policy.yml"}, 2},
  };
  for (const auto& c : cases) {
    const auto r = run_opsready(c.args);
    std::string cmd;
    for (const auto& a : c.args) cmd += a + " ";
    EXPECT_EQ(r.exit_code, c.want) << cmd << "\n" << r.out << r.err;
  }
}

TEST(Cli, GateNamesReasonsAndBadInput) {
  auto r = run_opsready({"gate", "--from", kData + "/block", "--now", kNow});
  EXPECT_NE(r.out.find("component_incident_response_fail"), std::string::npos) << r.out;
  r = run_opsready({"gate", "--from", kData + "/bad_snapshot.json", "--now", kNow});
  EXPECT_NE(r.err.find("bad_snapshot.json[1]"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("purple"), std::string::npos) << r.err;
  r = run_opsready({"gate", "--from", kData + "/pass", "--now", kNow, "--policy",
                    kData + "/policy.yml", "--format", "json"});
  const json gate = json::parse(r.out);
  EXPECT_EQ(gate["decision"], "block");
  bool missing = false;
  for (const auto& reason : gate["blocking_reasons"]) {
    missing = missing || reason["code"] == "required_component_missing_order_router";
  }
  EXPECT_TRUE(missing) << gate.dump(2);
}

TEST(Cli, StalenessIsMeasuredAgainstNow) {
  // max_age 5m in the policy; the files were observed at 00:00.
  auto fresh = run_opsready({"snapshot", "--from", kData + "/pass", "--now", "2025-01-02T00:05:00Z",
                             "--policy", kData + "/policy.yml"});
  auto stale = run_opsready({"snapshot", "--from", kData + "/pass", "--now", "2025-01-02T00:05:01Z",
                             "--policy", kData + "/policy.yml"});
  ASSERT_EQ(fresh.exit_code, 0) << fresh.err;
  ASSERT_EQ(stale.exit_code, 0) << stale.err;
  const json f = json::parse(fresh.out);
  const json s = json::parse(stale.out);
  EXPECT_EQ(f["counts"]["warn"], 0);
  EXPECT_EQ(s["counts"]["warn"], 3);
  bool stale_issue = false;
  for (const auto& i : s["issues"]) stale_issue = stale_issue || i["code"] == "stale_snapshot";
  EXPECT_TRUE(stale_issue) << s.dump(2);
}

TEST(Cli, SnapshotFormats) {
  auto r = run_opsready({"snapshot", "--from", kData + "/warn", "--now", kNow});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["status"], "warn");
  EXPECT_EQ(j["components"].size(), 4u);
  EXPECT_EQ(j["generated_at"], kNow);
  r = run_opsready({"snapshot", "--from", kData + "/warn", "--now", kNow, "--format", "markdown"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("| market_data_ingest |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ingest_lag"), std::string::npos);
  // A saved readiness snapshot is accepted as input too.
  TempDir dir;
  write_file(dir.path() / "saved.json", j.dump());
  r = run_opsready({"snapshot", "--from", (dir.path() / "saved.json").string(), "--now", kNow});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["components"], j["components"]);
}

TEST(Cli, CiSummaryAppendsToGithubStepSummary) {
  TempDir dir;
  const auto summary = dir.path() / "step_summary.md";
  write_file(summary, "# Earlier step\n");
  auto r = run_opsready({"ci-summary", "--from", kData + "/block", "--now", kNow},
                        {"GITHUB_STEP_SUMMARY=" + summary.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string text = read_file(summary);
  EXPECT_EQ(text.rfind("# Earlier step\n", 0), 0u);
  EXPECT_NE(text.find("gate BLOCK"), std::string::npos) << text;
  EXPECT_NE(text.find("incident_response"), std::string::npos);

  const auto out = dir.path() / "out.md";
  r = run_opsready({"ci-summary", "--from", kData + "/pass", "--now", kNow, "--out", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(read_file(out).find("gate PASS"), std::string::npos);
}

TEST(Cli, CheckConfigReportsEveryErrorWithFileAndLine) {
  TempDir dir;
  write_file(dir.path() / "bad.yml",
             "listen: 127.0.0.1:99999\n"
             "evaluation_interval: soon\n"
             "gate:\n"
             "  block_on: [fail, purple]\n"
             "components:\n"
             "  - name: fix_gateway\n"
             "    max_age: 5x\n"
             "    colour: red\n"
             "  - required: true\n");
  auto r = run_opsready({"check-config", (dir.path() / "bad.yml").string()});
  EXPECT_EQ(r.exit_code, 65);
  for (const char* where :
       {"bad.yml:1:", "bad.yml:2:", "bad.yml:4:", "bad.yml:7:", "bad.yml:8:", "bad.yml:9:"}) {
    EXPECT_NE(r.err.find(where), std::string::npos) << where << "\n" << r.err;
  }
  write_file(dir.path() / "syntax.yml", "gate: [\n");
  r = run_opsready({"check-config", (dir.path() / "syntax.yml").string()});
  EXPECT_EQ(r.exit_code, 65);
  EXPECT_NE(r.err.find("syntax.yml:"), std::string::npos) << r.err;

  r = run_opsready({"check-config", std::string(OPSREADY_EXAMPLES) + "/opsready.yml"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;

  // The deprecated name of ingest.alerts still loads, with a warning naming file and line.
  write_file(dir.path() / "old.yml", "listen: 127.0.0.1:0\nalerts:\n  flush_interval: 1s\n");
  r = run_opsready({"check-config", (dir.path() / "old.yml").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("old.yml:2: warning: 'alerts' is deprecated; write it as 'ingest.alerts'"),
            std::string::npos)
      << r.err;
}

// Secrets hygiene: a warning that keeps exit 0, unless --strict (65); the secret is never
// printed (secrets_hygiene_test.cc has each kind of finding).
TEST(Cli, CheckConfigSecretsHygiene) {
  TempDir dir;
  const auto file = dir.path() / "secrets.yml";
  write_file(file,
             "alerting:\n  route: {receiver: desk}\n  receivers:\n    - name: desk\n"
             "      slack_configs:\n        - api_url: https://hooks.example/T/B/hush-hush\n");
  std::filesystem::permissions(file, std::filesystem::perms(0600));
  const std::string warning =
      "secrets.yml:6: warning: alerting.receivers[0].slack_configs[0].api_url is a secret URL "
      "given inline: put it in a file named by api_url_file (mode 0600)";
  auto r = run_opsready({"check-config", file.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find(warning), std::string::npos) << r.err;
  EXPECT_NE(r.out.find(": OK (0 component(s) configured, listen 127.0.0.1:9477, 1 secrets "
                       "hygiene warning(s))"),
            std::string::npos)
      << r.out;
  EXPECT_EQ((r.out + r.err).find("hush-hush"), std::string::npos);
  r = run_opsready({"check-config", "--strict", file.string()});
  EXPECT_EQ(r.exit_code, 65) << r.err;
  EXPECT_NE(r.err.find("1 secrets hygiene warning(s) in " + file.string() + " (--strict)"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.out.find("OK"), std::string::npos) << r.out;
  // Without a finding --strict passes.
  write_file(file, "listen: 127.0.0.1:0\n");
  EXPECT_EQ(run_opsready({"check-config", "--strict", "--probe", file.string()}).exit_code, 0);
  EXPECT_EQ(run_opsready({"check-config", "--cert-warn-days", "-1", file.string()}).exit_code, 64);
  r = run_opsready({"check-config", "--help"});
  for (const char* flag : {"--strict", "--cert-warn-days", "--probe"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace opsready::testing
