#pragma once
// Runs a shell command for drills (command faults) and scheduled validation runs: /bin/sh -c,
// stdin from /dev/null, stdout and stderr captured (bounded), extra environment variables,
// killed with its whole process group after a timeout. Blocking: call it on a pool thread.
//
//   auto r = run_shell("make validate", 5min, {"OPSREADY_URL=http://127.0.0.1:9477"});
//   if (!r.ok()) spdlog::warn("{}", r.describe("make validate"));
//
// posix_spawn rather than a library: no packaged library runs a shell command with a timeout
// and a bounded capture without threads of its own, and this is a dozen system calls.

#include <cstddef>
#include <string>
#include <vector>

#include "opsready/core/clock.h"

namespace opsready::app {

struct ShellResult {
  bool started = false;    // /bin/sh could be started
  bool timed_out = false;  // killed after the timeout
  int exit_code = -1;      // when it exited
  int signal = 0;          // when a signal ended it
  std::string out;         // stdout, at most max_output bytes
  std::string err;         // stderr, at most max_output bytes
  std::string start_error;

  [[nodiscard]] bool ok() const { return started && !timed_out && exit_code == 0; }
  // "'CMD' exited with 3: <stderr tail>", "'CMD' did not end within 5m (killed)", ...
  [[nodiscard]] std::string describe(const std::string& command, core::Duration timeout) const;
};

[[nodiscard]] ShellResult run_shell(const std::string& command, core::Duration timeout,
                                    const std::vector<std::string>& extra_env,
                                    std::size_t max_output = 4096);

}  // namespace opsready::app
