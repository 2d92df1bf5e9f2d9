#pragma once
// Helpers for the bus tests only (not part of the library): a temporary directory, a log
// collector and tmpfs mounts for the read-only and full-disk cases.

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "opsready/bus/event_bus.h"
#include "tests/support/temp_dir.h"

namespace opsready::bus::testing {

using TempDir = opsready::testing::TempDir;

class LogCollector {
 public:
  LogFn fn() {
    return [this](LogLevel level, std::string_view message) {
      std::lock_guard lock(mu_);
      entries_.emplace_back(level, std::string(message));
    };
  }
  [[nodiscard]] int count(LogLevel level, std::string_view contains = {}) const {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const auto& [l, m] : entries_) {
      if (l == level && m.find(contains) != std::string::npos) ++n;
    }
    return n;
  }
  [[nodiscard]] std::string dump() const {
    std::lock_guard lock(mu_);
    std::string out;
    for (const auto& [l, m] : entries_) out += std::string(to_string(l)) + ": " + m + "\n";
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<LogLevel, std::string>> entries_;
};

// A tmpfs mounted on a fresh directory, unmounted (lazily) on destruction. mounted() is false
// when the process may not mount (no CAP_SYS_ADMIN); tests then use another technique.
class TmpfsMount {
 public:
  TmpfsMount(const std::filesystem::path& where, bool read_only, std::string_view size = "64k")
      : where_(where) {
    std::filesystem::create_directories(where_);
    const std::string data = "size=" + std::string(size) + ",mode=0755";
    mounted_ =
        ::mount("tmpfs", where_.c_str(), "tmpfs", read_only ? MS_RDONLY : 0, data.c_str()) == 0;
    error_ = mounted_ ? 0 : errno;
  }
  ~TmpfsMount() {
    if (mounted_) ::umount2(where_.c_str(), MNT_DETACH);
  }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  [[nodiscard]] bool mounted() const { return mounted_; }
  [[nodiscard]] std::string error() const { return std::generic_category().message(error_); }

 private:
  std::filesystem::path where_;
  bool mounted_ = false;
  int error_ = 0;
};

}  // namespace opsready::bus::testing
