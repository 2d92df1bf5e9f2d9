#pragma once
// TempDir: a fresh directory under the system's temporary directory for one test, removed
// with everything in it when the object goes away. Header-only, for every test binary.
//
//   opsready::testing::TempDir dir;               // /tmp/opsready-test-XXXXXX
//   auto db = dir.path() / "opsready.db";

#include <stdlib.h>  // mkdtemp

#include <cerrno>
#include <filesystem>
#include <string>
#include <system_error>

namespace opsready::testing {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "opsready-test") {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      throw std::system_error(errno, std::generic_category(), "mkdtemp " + tmpl);
    }
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace opsready::testing
