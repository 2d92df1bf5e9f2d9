#pragma once
// Helpers for the alerting tests only (not part of the library): matchers and routes written
// as text, failing the current test instead of returning an error, and a fixed test epoch.

#include <gtest/gtest.h>

#include <chrono>
#include <string_view>

#include "opsready/alerting/matcher.h"
#include "opsready/alerting/route.h"
#include "opsready/core/clock.h"

namespace opsready::alerting::test {

// 2019-12-20T00:00:00Z: a fixed "now" far from the epoch, so that times before it are valid.
inline const core::TimePoint kNow = core::TimePoint(std::chrono::hours(24 * 365 * 50));

// `text` parsed as matchers; an empty list (and a test failure) when it does not parse.
inline Matchers M(std::string_view text) {
  auto ms = parse_matchers(text);
  if (!ms) {
    ADD_FAILURE() << text << ": " << ms.error().message;
    return {};
  }
  return *ms;
}

// The route tree of `spec`; a one-node tree (and a test failure) when it does not build.
inline Route build_or_die(const RouteSpec& spec) {
  auto r = Route::build(spec);
  if (!r) {
    ADD_FAILURE() << r.error().describe();
    return *Route::build(RouteSpec{.receiver = "unused"});
  }
  return *r;
}

}  // namespace opsready::alerting::test
