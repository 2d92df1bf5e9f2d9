// `opsready replay` golden tests. The replays of examples/replay/ are compared byte for byte with
// the files under testdata/; after an intended change, regenerate them with (from the repo
// root, any build dir):
//
//   OPSREADY_UPDATE_GOLDEN=1 ./build/<dir>/opsready/app/opsready_app_test --gtest_filter='Replay*'
//
// and review the diff of opsready/app/testdata/ before committing.

#include "opsready/app/replay_command.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "opsready/app/commands.h"
#include "tests/support/temp_dir.h"

namespace opsready::app {
namespace {

namespace fs = std::filesystem;

const fs::path kRepo = fs::path(__FILE__).parent_path().parent_path().parent_path();
const fs::path kTestdata = fs::path(__FILE__).parent_path() / "testdata";

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

void write(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

struct CommandRun {
  int code = -1;
  std::string out;
  std::string err;
};

CommandRun replay(ReplayOptions o) {
  std::ostringstream out;
  std::ostringstream err;
  CommandRun r;
  r.code = run_replay(o, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

// Compares `actual` with the golden file, or rewrites it under OPSREADY_UPDATE_GOLDEN=1.
void golden(const std::string& actual, const char* name) {
  const fs::path path = kTestdata / name;
  if (std::getenv("OPSREADY_UPDATE_GOLDEN") != nullptr) {
    write(path, actual);
    GTEST_SKIP() << "rewrote " << path;
  }
  ASSERT_TRUE(fs::exists(path)) << path << " is missing; run with OPSREADY_UPDATE_GOLDEN=1";
  EXPECT_EQ(actual, read(path)) << "differs from " << path;
}

const ReplayOptions kPageHinkley{.input = kRepo / "examples/replay/page_hinkley_replay.jsonl",
                                 .config = kRepo / "examples/replay/page_hinkley_replay.yml"};
const ReplayOptions kMixed{.input = kRepo / "examples/replay/mixed.jsonl",
                           .config = kRepo / "examples/replay/mixed.yml"};
const ReplayOptions kAlerting{.input = kRepo / "examples/replay/alerting_replay.jsonl",
                              .config = kRepo / "examples/replay/alerting_replay.yml"};

// The brief's deterministic Page-Hinkley fixture (spec §6.6): warn once the series reaches
// 0.6, alert at the last entry (PH ≈ 1.078270 ≥ 0.9).
TEST(ReplayGolden, PageHinkleyFixtureText) {
  const CommandRun r = replay(kPageHinkley);
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.err, "");
  golden(r.out, "page_hinkley_replay.txt");
}

TEST(ReplayGolden, PageHinkleyFixtureJson) {
  ReplayOptions o = kPageHinkley;
  o.format = "json";
  const CommandRun r = replay(o);
  EXPECT_EQ(r.code, kExitOk);
  golden(r.out, "page_hinkley_replay.json.txt");
}

// Every component, an external snapshot, staleness, a refused and an unrouted event.
TEST(ReplayGolden, MixedText) {
  const CommandRun r = replay(kMixed);
  // The replay runs to the end, then a rejected event fails it.
  EXPECT_EQ(r.code, kExitDataErr);
  golden(r.out, "mixed.txt");
  EXPECT_EQ(r.err, "opsready: " + kMixed.input.string() +
                       ":22: ingest_slos refused the event on telemetry.ingest.completeness: "
                       "payload.value: a completeness share must be between 0 and 1\n"
                       "opsready: " +
                       kMixed.input.string() +
                       ": 1 of 30 event(s) rejected (--keep-going exits 0 all the same)\n");
  ReplayOptions keep = kMixed;
  keep.keep_going = true;
  const CommandRun k = replay(keep);
  EXPECT_EQ(k.code, kExitOk);
  EXPECT_EQ(k.out, r.out);
}

// The alerting fixture: a flapping component, a severity rise inside the repeat window,
// external alerts one of which inhibits the other, a silence, an ack and an escalation.
TEST(ReplayGolden, AlertingText) {
  const CommandRun r = replay(kAlerting);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.err, "");
  golden(r.out, "alerting_replay.txt");
}

TEST(ReplayGolden, AlertingJson) {
  ReplayOptions o = kAlerting;
  o.format = "json";
  o.final = true;
  const CommandRun r = replay(o);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  golden(r.out, "alerting_replay.json.txt");
}

TEST(Replay, AlertingFixtureFacts) {
  const CommandRun r = replay(kAlerting);
  auto has = [&r](const std::string& line) { return r.out.find(line) != std::string::npos; };
  auto lines_with = [&r](const std::string& text) {
    std::size_t n = 0;
    for (std::size_t at = r.out.find(text); at != std::string::npos;
         at = r.out.find(text, at + 1)) {
      ++n;
    }
    return n;
  };
  // Flapping: risk_engine warns for 10 s, inside group_wait: derived, never notified.
  EXPECT_TRUE(has("2025-01-02T09:00:10Z alert firing warning operational.risk_engine"));
  EXPECT_FALSE(has("notify ops (first notification) {}:{component=\"risk_engine\"}"));
  // The warning is notified after group_wait, the rise to critical at once.
  EXPECT_TRUE(
      has("2025-01-02T09:01:30Z notify ops (first notification) "
          "{}:{component=\"fix_gateway\"}"));
  EXPECT_TRUE(
      has("2025-01-02T09:03:00Z notify ops (new alerts added) "
          "{}:{component=\"fix_gateway\"}"));
  // Inhibition: FixLatencyHigh stays out while FixSessionDown fires, and comes in after.
  EXPECT_TRUE(
      has("2025-01-02T09:08:00Z notify ops (new alerts added) {}:{} "
          "firing=[FixSessionDown,OpsreadyReadinessNotOk]"));
  EXPECT_TRUE(
      has("2025-01-02T09:23:00Z notify ops (new alerts added) {}:{} "
          "firing=[FixLatencyHigh,OpsreadyReadinessNotOk] resolved=[FixSessionDown]"));
  // The silence: risk_engine fails at 09:05:10 and nobody is told.
  EXPECT_TRUE(has("2025-01-02T09:05:10Z alert firing critical operational.risk_engine"));
  EXPECT_EQ(lines_with("{component=\"risk_engine\"} firing="), 0u);
  // The ack at 09:06 stops fix_gateway's escalation; the unacked group escalates at 10 min.
  EXPECT_TRUE(has("2025-01-02T09:11:30Z notify oncall-secondary (escalation step 1) {}:{}"));
  EXPECT_EQ(lines_with("notify oncall-secondary"), 1u);
  // The gate has its own route (the brief leaves *.gate unrouted).
  EXPECT_TRUE(has("notify release-managers (first notification)"));
  EXPECT_TRUE(
      has("end events=12 applied=12 unrouted=0 rejected=0 notifications=10 "
          "readiness=fail gate=block"));
}

TEST(Replay, BadControlLinesAreRejectedWithTheirLine) {
  const fs::path dir = fs::temp_directory_path();
  const fs::path in = dir / "opsready-replay-control.jsonl";
  write(
      in,
      R"({"time":"2025-01-02T00:00:00Z","silence":{"matchers":[],"startsAt":"2025-01-02T00:00:00Z","endsAt":"2025-01-02T01:00:00Z","createdBy":"a","comment":"c"}})"
      "\n"
      R"({"time":"2025-01-02T00:00:01Z","ack":{"group":"no-such-group","by":"a"}})"
      "\n"
      R"({"time":"2025-01-02T00:00:02Z","alerts":[{"labels":{}}]})"
      "\n");
  const CommandRun r = replay({.input = in});
  EXPECT_EQ(r.code, kExitDataErr);
  EXPECT_NE(r.err.find(":1: silence."), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(":2: ack: group: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(":3: alerts[0].labels"), std::string::npos) << r.err;
  fs::remove(in);
}

TEST(Replay, ByteIdenticalAcrossRuns) {
  for (const ReplayOptions& o : {kPageHinkley, kMixed, kAlerting}) {
    const CommandRun a = replay(o);
    const CommandRun b = replay(o);
    EXPECT_EQ(a.out, b.out);
    EXPECT_FALSE(a.out.empty());
  }
}

// The golden output is about the fixture, not about the test: spot-check its key facts.
TEST(Replay, PageHinkleyFixtureFacts) {
  const CommandRun r = replay(kPageHinkley);
  EXPECT_NE(r.out.find("2025-01-02T00:11:00Z alert firing critical sensory.drift.why "
                       "[sensory_drift] OpsreadyIssue: sensory_drift: WHY drift alert "
                       "(page_hinkley_alert)\n"),
            std::string::npos);
  // The warning is notified after group_wait; the rise to critical inside the repeat window
  // is notified at once, not suppressed (the brief's bug).
  EXPECT_NE(r.out.find("2025-01-02T00:10:30Z notify default (first notification) "
                       "{}:{alertname=\"OpsreadyIssue\", category=\"sensory.drift.why\", "
                       "component=\"sensory_drift\"}"),
            std::string::npos);
  EXPECT_NE(r.out.find("2025-01-02T00:11:00Z notify default (new alerts added) "
                       "{}:{alertname=\"OpsreadyIssue\", category=\"sensory.drift.why\", "
                       "component=\"sensory_drift\"}"),
            std::string::npos);
  EXPECT_NE(r.out.find("end events=12 applied=12 unrouted=0 rejected=0 notifications=8 "
                       "readiness=fail gate=block"),
            std::string::npos);
}

class ReplayErrors : public ::testing::Test {
 protected:
  fs::path file(const char* name, const std::string& text) {
    const fs::path p = dir_ / name;
    write(p, text);
    return p;
  }
  opsready::testing::TempDir tmp_{"opsready-replay-test"};
  fs::path dir_ = tmp_.path();
};

TEST_F(ReplayErrors, BadLinesNameTheLine) {
  const std::string ok =
      R"({"topic":"telemetry.ingest.latency_seconds","time":"2025-01-02T00:00:00Z",)"
      R"("payload":{"series":"bars","value":1}})"
      "\n";
  struct Case {
    std::string second_line;
    std::string message;
  };
  const Case cases[] = {
      {"{not json", ":3: not a JSON document\n"},
      {R"({"topic":"telemetry.x","payload":{}})", ":3: time: required in a replay"},
      {R"({"topic":"Bad Topic","time":"2025-01-02T00:00:00Z"})", ":3: topic: 'Bad Topic'"},
      {R"({"topic":"telemetry.x","time":"yesterday"})", ":3: time: "},
  };
  for (const auto& c : cases) {
    const fs::path in = file("in.jsonl", ok + "\n" + c.second_line + "\n" + ok);
    const CommandRun r = replay({.input = in});
    EXPECT_EQ(r.code, kExitDataErr) << c.second_line;
    EXPECT_NE(r.err.find(in.string() + c.message), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "") << "stops at the invalid line, before any evaluation";
    // --keep-going reports the line, skips it, counts it and goes on.
    const CommandRun k = replay({.input = in, .keep_going = true});
    EXPECT_EQ(k.code, kExitOk) << c.second_line << k.err;
    EXPECT_NE(k.err.find(in.string() + c.message), std::string::npos) << k.err;
    EXPECT_NE(k.out.find("end events=3 applied=2 unrouted=0 rejected=1"), std::string::npos)
        << k.out;
  }
}

TEST_F(ReplayErrors, InputAndOptions) {
  EXPECT_EQ(replay({.input = dir_ / "absent.jsonl"}).code, kExitNoInput);
  const fs::path in = file("in.jsonl", "");
  EXPECT_EQ(replay({.input = in, .format = "xml"}).code, kExitUsage);
  // An empty file: one evaluation at the epoch, nothing else. No component has reported, which
  // the gate does not call a pass.
  const CommandRun r = replay({.input = in});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out,
            "1970-01-01T00:00:00Z readiness ok gate=warn warnings=no_components\n"
            "1970-01-01T00:00:00Z end events=0 applied=0 unrouted=0 rejected=0 notifications=0 "
            "readiness=ok gate=warn\n");
}

// The `detectors:` block is read by the components' loader and the rest by the daemon's, with
// line numbers kept: errors in either name the right line.
TEST_F(ReplayErrors, ConfigErrorsNameTheLine) {
  const fs::path in = file("in.jsonl", "");
  const fs::path cfg = file("cfg.yml",
                            "gate:\n"
                            "  max_age: 5m\n"
                            "detectors:\n"
                            "  sensory_drift:\n"
                            "    lookback: zero\n"
                            "  bogus: {}\n"
                            "components:\n"
                            "  - name: Bad Name\n");
  const CommandRun r = replay({.input = in, .config = cfg});
  EXPECT_EQ(r.code, kExitDataErr);
  EXPECT_NE(r.err.find(cfg.string() + ":8: 'Bad Name' is not a component name"), std::string::npos)
      << r.err;
  EXPECT_NE(
      r.err.find(cfg.string() + ":5: detectors.sensory_drift.lookback must be a whole number"),
      std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(cfg.string() + ":6: unknown key 'bogus' in detectors"), std::string::npos)
      << r.err;
  EXPECT_EQ(replay({.input = in, .config = dir_ / "absent.yml"}).code, kExitNoInput);
}

// Settings after the `detectors:` block still apply.
TEST_F(ReplayErrors, GateAfterDetectorsApplies) {
  const fs::path in = file("in.jsonl", "");
  const fs::path cfg = file("cfg.yml",
                            "detectors:\n"
                            "  sensory_drift:\n"
                            "    lookback: 11\n"
                            "components:\n"
                            "  - name: risk_engine\n"
                            "    required: true\n");
  const CommandRun r = replay({.input = in, .config = cfg});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_NE(r.out.find("readiness fail gate=block risk_engine=fail"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace opsready::app
