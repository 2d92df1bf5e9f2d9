#pragma once
// Build identity, shown by `opsready --version`, /metrics (opsready_build_info) and
// application/health+json.

#include <string_view>

namespace opsready::app {

inline constexpr std::string_view kVersion = OPSREADY_VERSION;
inline constexpr std::string_view kCompiler =
#if defined(__clang__)
    "clang-" __clang_version__;
#elif defined(__GNUC__)
    "gcc-" __VERSION__;
#else
    "unknown";
#endif

}  // namespace opsready::app
