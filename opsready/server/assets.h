#pragma once
// The dashboard's files (web/: index.html, app.js, app.css, the vendored uPlot), embedded in the
// binary at build time by cmake/embed_assets.cmake, so the daemon serves its dashboard with no
// network and nothing beside the binary.
//
//   const Asset* a = find_asset("app.js");     // nullptr when there is no such file
//   install_asset_routes(listener);            // GET / and GET /assets/<path>
//
// Each asset carries its content type and a strong ETag (the first 128 bits of the SHA-256 of
// its bytes, quoted), so a browser revalidates with If-None-Match and gets 304 while the binary
// is the same. The listener gzips the text types for clients that accept it
// (ListenerOptions::compress_min_bytes). The table is static, immutable data: thread-safe.

#include <span>
#include <string_view>

#include "opsready/server/http_listener.h"

namespace opsready::server {

struct Asset {
  std::string_view path;          // relative to web/, e.g. "index.html", "vendor/uPlot.min.css"
  std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
  std::string_view etag;          // strong, quoted: "\"3f2a...\""
  std::string_view body;
};

// Every embedded file, sorted by path.
[[nodiscard]] std::span<const Asset> assets();
// The asset at `path` (relative to web/); nullptr when none.
[[nodiscard]] const Asset* find_asset(std::string_view path);

// The headers every dashboard response carries: a Content-Security-Policy that allows only the
// page's own origin (no inline script, no framing), nosniff, no referrer, no framing.
void set_security_headers(Response& response);

// The answer to a GET of `asset`: 200 with the body, or 304 without one when `if_none_match`
// (the request's If-None-Match) names its ETag; both with ETag, Cache-Control: no-cache and
// the security headers.
[[nodiscard]] Response asset_response(const Asset& asset, std::string_view if_none_match);

// Routes GET / (index.html) and GET /assets/<path> for every other asset.
void install_asset_routes(Listener& listener);

namespace embedded {
// Defined by the generated source (cmake/embed_assets.cmake).
extern const Asset kAssets[];
extern const std::size_t kAssetCount;
}  // namespace embedded

}  // namespace opsready::server
