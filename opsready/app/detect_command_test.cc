#include "opsready/app/detect_command.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "opsready/app/commands.h"
#include "tests/support/temp_dir.h"

namespace opsready::app {
namespace {

namespace fs = std::filesystem;

const fs::path kDetectData = fs::path(__FILE__).parent_path().parent_path() / "detect" / "testdata";

struct CommandRun {
  int code = -1;
  std::string out;
  std::string err;
};

CommandRun detect(const DetectOptions& o) {
  std::ostringstream out;
  std::ostringstream err;
  CommandRun r;
  r.code = run_detect(o, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

class Detect : public ::testing::Test {
 protected:
  fs::path file(const std::string& text) {
    const fs::path p = dir_ / "in.csv";
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  opsready::testing::TempDir tmp_{"opsready-detect-test"};
  fs::path dir_ = tmp_.path();
};

// The shared Page-Hinkley vectors: detections [2051, 3568] and River's documentation [1006].
TEST_F(Detect, PageHinkleyVectors) {
  CommandRun r =
      detect({.detector = "page-hinkley", .input = kDetectData / "page_hinkley/shift_5000.csv"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out,
            "index,direction,statistic,level\n"
            "2051,up,50.740761424935556,drift\n"
            "3568,down,50.04232749399064,drift\n");
  r = detect({.detector = "page-hinkley",
              .input = kDetectData / "page_hinkley/river_doc_example.csv",
              .format = "json"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["samples"], 2000);
  EXPECT_EQ(doc["refused"], 0);
  ASSERT_EQ(doc["detections"].size(), 1u);
  EXPECT_EQ(doc["detections"][0]["index"], 1006);
  EXPECT_EQ(doc["parameters"]["threshold"], 50.0);
}

// River's CUSUM documentation stream: [201, 251] with the defaults.
TEST_F(Detect, CusumRiverExample) {
  const CommandRun r =
      detect({.detector = "cusum", .input = kDetectData / "cusum/river_doc_example.csv"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  std::vector<std::string> indices;
  std::getline(lines, line);  // header
  while (std::getline(lines, line)) indices.push_back(line.substr(0, line.find(',')));
  EXPECT_EQ(indices, (std::vector<std::string>{"201", "251"}));
}

TEST_F(Detect, ParametersChangeDetections) {
  const fs::path in = file("t,value\n0,1\n1,1\n2,1\n3,100\n");
  DetectOptions o{.detector = "page-hinkley", .input = in, .column = "value"};
  o.min_instances = 1;
  o.threshold = 10;
  o.mode = "down";
  EXPECT_EQ(detect(o).out, "index,direction,statistic,level\n");  // the jump is upward
  o.mode = "up";
  const CommandRun r = detect(o);
  EXPECT_TRUE(r.out.starts_with("index,direction,statistic,level\n3,up,")) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2);
}

// Variance: one line when the grade rises; the spec's variance case (§6.6) alerts at the
// third jump sample.
TEST_F(Detect, VarianceOnsets) {
  const fs::path in = file("x\n0.017\n0.019\n0.016\n0.5\n0.6\n0.8\n0.6\n");
  DetectOptions o{.detector = "variance", .input = in};
  o.baseline_window = 3;
  o.evaluation_window = 3;
  const CommandRun r = detect(o);
  ASSERT_EQ(r.code, kExitOk) << r.err;
  // Index 5: baseline [0.017, 0.019, 0.016], evaluation [0.5, 0.6, 0.8]: ratio ≈ 10000.
  EXPECT_TRUE(r.out.starts_with("index,direction,statistic,level\n5,up,1000")) << r.out;
  EXPECT_NE(r.out.find(",alert\n"), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2);  // no new onset at 6
}

// PSI: a constant baseline of 0.12 (two cuts, docs/detectors.md decision 6) and a window that
// moved up alerts; the unchanged window does not.
TEST_F(Detect, PsiWindows) {
  std::string text = "x\n";
  for (int k = 0; k < 24; ++k) text += "0.12\n";
  for (int k = 0; k < 4; ++k) text += "0.12\n";
  for (int k = 0; k < 4; ++k) text += "0.88\n";
  text += "nan\n";  // refused, counted
  const fs::path in = file(text);
  DetectOptions o{.detector = "psi", .input = in, .format = "json"};
  o.baseline = 24;
  o.window = 4;
  const CommandRun r = detect(o);
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const auto doc = nlohmann::json::parse(r.out);
  ASSERT_EQ(doc["detections"].size(), 1u);
  EXPECT_EQ(doc["detections"][0]["index"], 31);
  EXPECT_EQ(doc["detections"][0]["direction"], "up");
  EXPECT_GE(doc["detections"][0]["statistic"].get<double>(), 0.25);
  EXPECT_EQ(doc["samples"], 33);
  EXPECT_EQ(doc["refused"], 0);  // the nan is in an incomplete trailing window
}

TEST_F(Detect, BadInputNamesTheLine) {
  struct Case {
    std::string text;
    std::string message;
  };
  const Case cases[] = {
      {"i,y\n0,1\n", ":1: no column 'x' in the header (columns: i, y)"},
      {"i,x\n0,1\n1,abc\n", ":3: column 'x': 'abc' is not a number"},
      {"i,x\n0,1\n\n3\n", ":4: the row has 1 field(s); column 'x' is field 2"},
      {"i,x\n0,\"1\n", ":2: unterminated quoted field"},
      {"i,x\n0,\n", ":2: column 'x': '' is not a number"},
      {"", ":1: no header line"},
  };
  for (const auto& c : cases) {
    const fs::path in = file(c.text);
    const CommandRun r = detect({.detector = "page-hinkley", .input = in});
    EXPECT_EQ(r.code, kExitDataErr) << c.text;
    EXPECT_NE(r.err.find(in.string() + c.message), std::string::npos) << r.err;
  }
  // Quoted fields, CRLF and a leading '+' are fine; NaN is refused and counted.
  const fs::path in = file("\"i\",\"x\"\r\n0,\"+1.5\"\r\n1,nan\r\n");
  const CommandRun r = detect({.detector = "page-hinkley", .input = in, .format = "json"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["samples"], 2);
  EXPECT_EQ(doc["refused"], 1);
}

TEST_F(Detect, UsageErrors) {
  const fs::path in = file("x\n1\n");
  DetectOptions bad_delta{.detector = "page-hinkley", .input = in};
  bad_delta.delta = -1;
  CommandRun r = detect(bad_delta);
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("--delta"), std::string::npos) << r.err;
  DetectOptions bad_window{.detector = "variance", .input = in};
  bad_window.evaluation_window = 1;
  r = detect(bad_window);
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("--evaluation-window"), std::string::npos) << r.err;
  EXPECT_EQ(detect({.detector = "adwin", .input = in}).code, kExitUsage);
  EXPECT_EQ(detect({.detector = "cusum", .input = in, .format = "xml"}).code, kExitUsage);
  EXPECT_EQ(detect({.detector = "cusum", .input = dir_ / "absent.csv"}).code, kExitNoInput);
}

}  // namespace
}  // namespace opsready::app
