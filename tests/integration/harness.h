#pragma once
// Test harness: runs the real opsready binary as a child process.
//
//   Daemon d({"serve", "--listen", "127.0.0.1:0"});   // waits until it listens
//   httplib::Client c = d.client();
//   d.signal(SIGTERM); int code = d.wait_exit(std::chrono::seconds(15));

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <httplib.h>

#include "tests/support/temp_dir.h"

namespace opsready::testing {

struct RunResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs a command (argv[0] resolved via PATH) to completion, with optional extra environment.
RunResult run(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env = {});
// Runs the opsready binary with these arguments.
RunResult run_opsready(const std::vector<std::string>& args,
                       const std::vector<std::string>& extra_env = {});

class Daemon {
 public:
  // Starts `opsready <args>` with --listen 127.0.0.1:0 appended unless args has --listen or
  // --config, and waits (up to 30 s) for it to log the address it listens on.
  explicit Daemon(std::vector<std::string> args);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] httplib::Client client() const;
  void signal(int sig) const;
  // Exit code, or nullopt if it did not exit in time (it is then killed).
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  [[nodiscard]] std::string log() const;

 private:
  int pid_ = -1;
  int port_ = 0;
  TempDir dir_;
  std::filesystem::path log_;
};

std::string read_file(const std::filesystem::path& p);
// `text` gzip-compressed (RFC 1952), as a client sends a Content-Encoding: gzip body.
std::string gzip(const std::string& text);
void write_file(const std::filesystem::path& p, const std::string& text);

// A drill's Markdown evidence with what changes from run to run (times, ids, seconds, ports,
// who started it) replaced by placeholders, for golden files.
std::string normalized_evidence(std::string md);
// Compares the daemon's Markdown evidence of drill `drill_id` with the golden file
// `dir`/`name`.md (OPSREADY_UPDATE_GOLDEN=1 rewrites it); a gtest failure when they differ.
void check_golden_evidence(int port, const std::string& drill_id, const std::filesystem::path& dir,
                           const std::string& name);

}  // namespace opsready::testing
