#pragma once
// Loading component snapshots from files, for the CI subcommands.
//
//   auto snaps = load_component_snapshots("readiness/");   // a file or a directory
//
// A file holds one component snapshot (JSON object), an array of them, or a saved readiness
// snapshot (an object with "components", as GET /api/v1/readiness returns). A directory
// contributes every *.json file in it, in name order. Errors name the file, the array index
// and the field.

#include <filesystem>
#include <vector>

#include "opsready/core/error.h"
#include "opsready/core/snapshot.h"

namespace opsready::app {

[[nodiscard]] core::Result<std::vector<core::ComponentSnapshot>> load_component_snapshots(
    const std::filesystem::path& path, core::TimePoint default_time);

}  // namespace opsready::app
