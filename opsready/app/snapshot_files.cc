#include "opsready/app/snapshot_files.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace opsready::app {
namespace {

core::Result<void> load_file(const std::filesystem::path& file, core::TimePoint default_time,
                             std::vector<core::ComponentSnapshot>& out) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return core::fail("unreadable", file.string() + ": cannot open the file for reading");
  std::stringstream buf;
  buf << in.rdbuf();
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(buf.str());
  } catch (const nlohmann::json::parse_error& e) {
    return core::fail("malformed_json", file.string() + ": malformed JSON: " + e.what());
  }
  const nlohmann::json* list = &doc;
  if (doc.is_object() && doc.contains("components") && !doc.contains("component")) {
    list = &doc["components"];
  }
  auto add = [&](const nlohmann::json& j, std::string where) -> core::Result<void> {
    auto s = core::component_snapshot_from_json(j, default_time);
    if (!s) {
      return core::fail(s.error().code, file.string() + where + ": " + s.error().describe(),
                        s.error().field);
    }
    out.push_back(std::move(*s));
    return {};
  };
  if (list->is_array()) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      if (auto ok = add((*list)[i], "[" + std::to_string(i) + "]"); !ok) return ok;
    }
    return {};
  }
  return add(*list, "");
}

}  // namespace

core::Result<std::vector<core::ComponentSnapshot>> load_component_snapshots(
    const std::filesystem::path& path, core::TimePoint default_time) {
  std::vector<core::ComponentSnapshot> out;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
      if (entry.is_regular_file() && entry.path().extension() == ".json") {
        files.push_back(entry.path());
      }
    }
    if (ec) return core::fail("unreadable", path.string() + ": " + ec.message());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      if (auto ok = load_file(f, default_time, out); !ok) return std::unexpected(ok.error());
    }
    return out;
  }
  if (!std::filesystem::exists(path, ec)) {
    return core::fail("not_found", path.string() + ": no such file or directory");
  }
  if (auto ok = load_file(path, default_time, out); !ok) return std::unexpected(ok.error());
  return out;
}

}  // namespace opsready::app
