// Every runbook command that an operator is told to run works: the fenced blocks marked
// ```sh checked in docs/runbooks/*.md run, as written, against a daemon this test starts (its
// port replaces the default 127.0.0.1:9477) from the repository root, with `opsready` the
// binary under test. A block's fence may say `exit=N` when the command is expected to exit N
// (e.g. `opsready evaluate` on a blocking example exits 2); otherwise it must exit 0.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/harness.h"

namespace opsready::testing {
namespace {

struct Block {
  std::filesystem::path file;
  int line = 0;
  int expected_exit = 0;
  std::string script;
};

std::vector<Block> checked_blocks() {
  std::vector<Block> out;
  const std::filesystem::path dir = std::filesystem::path(OPSREADY_SOURCE_DIR) / "docs/runbooks";
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".md") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  const std::regex fence(R"(^```sh\s+checked(?:\s+exit=(\d+))?\s*$)");
  for (const auto& f : files) {
    std::istringstream text(read_file(f));
    std::string line;
    int n = 0;
    Block* open = nullptr;
    while (std::getline(text, line)) {
      ++n;
      std::smatch m;
      if (open == nullptr && std::regex_match(line, m, fence)) {
        out.push_back(Block{.file = f,
                            .line = n,
                            .expected_exit = m[1].matched ? std::stoi(m[1].str()) : 0,
                            .script = {}});
        open = &out.back();
      } else if (open != nullptr && line.rfind("```", 0) == 0) {
        open = nullptr;
      } else if (open != nullptr) {
        open->script += line + "\n";
      }
    }
    EXPECT_EQ(open, nullptr) << f << ": a checked block is not closed";
  }
  return out;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

TEST(Runbooks, EveryCheckedCommandRunsAgainstARealDaemon) {
  const std::vector<Block> blocks = checked_blocks();
  ASSERT_FALSE(blocks.empty()) << "no ```sh checked block in docs/runbooks";
  Daemon d({"serve"});
  const std::string host = "127.0.0.1:" + std::to_string(d.port());
  for (const Block& b : blocks) {
    const std::string script = "set -eo pipefail\ncd '" + std::string(OPSREADY_SOURCE_DIR) +
                               "'\nopsready() { '" + std::string(OPSREADY_BINARY) +
                               "' \"$@\"; }\n" + replace_all(b.script, "127.0.0.1:9477", host);
    const RunResult r = run({"bash", "-c", script});
    EXPECT_EQ(r.exit_code, b.expected_exit) << b.file.filename().string() << ":" << b.line << "\n"
                                            << b.script << "stdout:\n"
                                            << r.out << "stderr:\n"
                                            << r.err;
  }
}

}  // namespace
}  // namespace opsready::testing
