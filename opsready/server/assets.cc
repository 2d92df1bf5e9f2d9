#include "opsready/server/assets.h"

#include <algorithm>
#include <cstddef>
#include <string>

namespace opsready::server {

std::span<const Asset> assets() { return {embedded::kAssets, embedded::kAssetCount}; }

const Asset* find_asset(std::string_view path) {
  const auto all = assets();
  const auto it =
      std::find_if(all.begin(), all.end(), [&](const Asset& a) { return a.path == path; });
  return it == all.end() ? nullptr : &*it;
}

void set_security_headers(Response& response) {
  response.set_header("Content-Security-Policy",
                      "default-src 'self'; base-uri 'none'; form-action 'self'; "
                      "frame-ancestors 'none'; object-src 'none'");
  response.set_header("X-Content-Type-Options", "nosniff");
  response.set_header("Referrer-Policy", "no-referrer");
  response.set_header("X-Frame-Options", "DENY");
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// If-None-Match uses the weak comparison (RFC 9110 §13.1.2): "W/" is ignored; "*" matches.
bool none_match_hits(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    const auto comma = header.find(',');
    auto tag = trim(header.substr(0, comma));
    if (tag == "*") return true;
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

Response asset_response(const Asset& asset, std::string_view if_none_match) {
  Response r;
  if (!if_none_match.empty() && none_match_hits(if_none_match, asset.etag)) {
    r.status = 304;
  } else {
    r.status = 200;
    r.content_type = std::string(asset.content_type);
    r.body = std::string(asset.body);
  }
  r.set_header("ETag", std::string(asset.etag));
  r.set_header("Cache-Control", "no-cache");
  set_security_headers(r);
  return r;
}

void install_asset_routes(Listener& listener) {
  const auto serve = [](const Asset& asset) {
    return [&asset](Request& req, Responder res) {
      res.send(asset_response(asset, req.header("If-None-Match")));
    };
  };
  for (const auto& asset : assets()) {
    if (asset.path == "index.html") listener.route("GET", "/", "dashboard_page", serve(asset));
    listener.route("GET", "/assets/" + std::string(asset.path), "dashboard_asset", serve(asset));
  }
}

}  // namespace opsready::server
