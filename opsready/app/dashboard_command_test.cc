// `opsready dashboard`: offline from the example inputs (a golden Markdown file) and from a
// daemon's /api/v1/dashboard (a loopback httplib server on port 0). After an intended change,
// regenerate the golden file with (from the repository root):
//   build/h/bin/opsready dashboard --input examples/dashboard/inputs.json --format markdown
//     --output opsready/app/testdata/dashboard_example.md   (one command line)
// and review its diff.

#include "opsready/app/dashboard_command.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>

#include "opsready/core/time.h"
#include "opsready/server/dashboard.h"

namespace opsready::app {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kRepo = fs::path(__FILE__).parent_path().parent_path().parent_path();
const fs::path kExample = kRepo / "examples" / "dashboard" / "inputs.json";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

TEST(DashboardCommandTest, ExampleInputsAsJson) {
  std::ostringstream out;
  std::ostringstream err;
  const int code = run_dashboard({.input = kExample}, out, err);
  EXPECT_EQ(code, kExitBlock) << err.str();  // the VaR limit violation fails the dashboard
  const json j = json::parse(out.str());
  EXPECT_EQ(j["status"], "fail");
  EXPECT_EQ(j["panels"].size(), 11u);
  EXPECT_EQ(j["remediation_summary"]["panel_counts"], (json{{"ok", 1}, {"warn", 9}, {"fail", 1}}));
  EXPECT_EQ(j["remediation_summary"]["failing_panels"], json::array({"Risk & exposure"}));
  EXPECT_EQ(j["metadata"]["environment"], "paper");
}

TEST(DashboardCommandTest, ExampleInputsAsMarkdownMatchTheGoldenFile) {
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(run_dashboard({.input = kExample, .format = "markdown"}, out, err), kExitBlock);
  EXPECT_EQ(out.str(), slurp(kRepo / "opsready" / "app" / "testdata" / "dashboard_example.md"));
}

TEST(DashboardCommandTest, OutputFileAndStrictWarn) {
  const fs::path dir =
      fs::temp_directory_path() / ("opsready_dashboard_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "in.json") << R"({"generated_at": "2025-01-01T12:00:00Z"})";
  std::ostringstream out;
  std::ostringstream err;
  // No inputs: five warn panels, so warn: 0 without --strict, 1 with it.
  EXPECT_EQ(run_dashboard({.input = dir / "in.json", .output = dir / "out.json"}, out, err),
            kExitOk);
  EXPECT_TRUE(out.str().empty());
  EXPECT_EQ(json::parse(slurp(dir / "out.json"))["panels"].size(), 5u);
  EXPECT_EQ(run_dashboard({.input = dir / "in.json", .output = dir / "out.json", .strict = true},
                          out, err),
            kExitWarn);
  fs::remove_all(dir);
}

TEST(DashboardCommandTest, RefusedInputs) {
  const fs::path dir =
      fs::temp_directory_path() / ("opsready_dashboard_bad_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "typo.json") << R"({"risk_result": {}})";
  std::ofstream(dir / "text.json") << "not json";
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(run_dashboard({.input = dir / "typo.json"}, out, err), kExitDataErr);
  EXPECT_NE(err.str().find("risk_result: unknown dashboard input"), std::string::npos) << err.str();
  EXPECT_EQ(run_dashboard({.input = dir / "text.json"}, out, err), kExitDataErr);
  EXPECT_EQ(run_dashboard({.input = dir / "missing.json"}, out, err), kExitNoInput);
  EXPECT_EQ(run_dashboard({.input = dir / "typo.json", .format = "yaml"}, out, err), kExitUsage);
  EXPECT_TRUE(out.str().empty());
  fs::remove_all(dir);
}

TEST(DashboardCommandTest, FromADaemon) {
  server::Dashboard d{.generated_at = core::parse_rfc3339("2025-01-01T12:00:00Z").value(),
                      .status = core::Status::kWarn};
  d.panels.push_back({.name = "Decision diary", .status = core::Status::kWarn, .headline = "h"});
  httplib::Server daemon;
  daemon.Get("/api/v1/dashboard", [&d](const httplib::Request&, httplib::Response& res) {
    res.set_content(server::to_json(d).dump(), "application/json");
  });
  daemon.Get("/broken/api/v1/dashboard", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status": "ok"})", "application/json");
  });
  const int port = daemon.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread serving([&daemon] { daemon.listen_after_bind(); });
  while (!daemon.is_running()) std::this_thread::yield();
  const std::string url = "http://127.0.0.1:" + std::to_string(port);

  std::ostringstream out;
  std::ostringstream err;
  DashboardOptions o{.format = "markdown"};
  o.daemon.url = url;
  EXPECT_EQ(run_dashboard(o, out, err), kExitOk) << err.str();
  EXPECT_EQ(out.str(), server::to_markdown(d));

  o.daemon.url = url + "/broken";
  EXPECT_EQ(run_dashboard(o, out, err), kExitSoftware);
  EXPECT_NE(err.str().find("GET /api/v1/dashboard: generated_at"), std::string::npos) << err.str();
  daemon.stop();
  serving.join();

  std::ostringstream err2;
  o.daemon.url = url;  // nothing listens any more
  o.daemon.timeout = "2s";
  EXPECT_EQ(run_dashboard(o, out, err2), kExitUnavailable) << err2.str();
}

}  // namespace
}  // namespace opsready::app
