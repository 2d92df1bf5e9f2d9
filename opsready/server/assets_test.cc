#include "opsready/server/assets.h"

#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>

namespace opsready::server {
namespace {

std::string read_web_file(const std::string& path) {
  std::ifstream in(std::string(OPSREADY_WEB_DIR) + "/" + path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(Assets, TheDashboardAndTheVendoredUplotAreEmbeddedByteForByte) {
  for (const auto* path :
       {"index.html", "app.js", "app.css", "vendor/uPlot.iife.min.js", "vendor/uPlot.min.css"}) {
    SCOPED_TRACE(path);
    const Asset* a = find_asset(path);
    ASSERT_NE(a, nullptr);
    const std::string file = read_web_file(path);
    ASSERT_FALSE(file.empty());
    EXPECT_EQ(a->body, file);
    EXPECT_EQ(a->etag.size(), 34u);
    EXPECT_TRUE(a->etag.starts_with('"') && a->etag.ends_with('"')) << a->etag;
  }
  EXPECT_EQ(find_asset("index.html")->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(find_asset("app.js")->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(find_asset("app.css")->content_type, "text/css; charset=utf-8");
  EXPECT_EQ(find_asset("nope.js"), nullptr);
}

TEST(Assets, LeavesOutThePackageFilesAndTheModules) {
  for (const auto& a : assets()) {
    EXPECT_FALSE(a.path.starts_with("node_modules/")) << a.path;
    EXPECT_FALSE(a.path.starts_with("package")) << a.path;
    EXPECT_FALSE(a.path.starts_with(".")) << a.path;
  }
}

TEST(Assets, IndexHasNoInlineScriptForTheContentSecurityPolicy) {
  const std::string index(find_asset("index.html")->body);
  std::size_t at = 0;
  while ((at = index.find("<script", at)) != std::string::npos) {
    const auto end = index.find('>', at);
    ASSERT_NE(end, std::string::npos);
    EXPECT_NE(index.substr(at, end - at).find("src="), std::string::npos)
        << index.substr(at, end - at);
    at = end;
  }
}

TEST(Assets, ETagsAreStrongAndDistinct) {
  const auto all = assets();
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_FALSE(all[i].etag.starts_with("W/"));
    for (std::size_t j = i + 1; j < all.size(); ++j) {
      if (all[i].body != all[j].body) {
        EXPECT_NE(all[i].etag, all[j].etag);
      }
    }
  }
}

TEST(Assets, ResponsesRevalidateWithIfNoneMatch) {
  const Asset& a = *find_asset("app.js");
  const std::string etag(a.etag);
  struct Case {
    std::string if_none_match;
    int status;
  } cases[] = {
      {"", 200},  {etag, 304},        {"W/" + etag, 304}, {"\"other\", " + etag, 304},
      {"*", 304}, {"\"other\"", 200},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.if_none_match);
    const Response r = asset_response(a, c.if_none_match);
    EXPECT_EQ(r.status, c.status);
    EXPECT_EQ(r.body.empty(), c.status == 304);
  }
}

class AssetRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    listener_ = std::make_unique<Listener>(ListenerOptions{}, registry_);
    install_asset_routes(*listener_);
    auto port = listener_->bind();
    ASSERT_TRUE(port.has_value()) << port.error().message;
    port_ = *port;
    server_ = std::thread([this] { listener_->serve(); });
  }
  void TearDown() override {
    listener_->stop(core::Duration::zero());
    if (server_.joinable()) server_.join();
  }

  metrics::Registry registry_;
  std::unique_ptr<Listener> listener_;
  std::thread server_;
  int port_ = 0;
};

TEST_F(AssetRoutesTest, ServesThePageAndItsAssetsWithHeadersAnd304) {
  httplib::Client c("127.0.0.1", port_);
  auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->body, read_web_file("index.html"));
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(page->get_header_value("Cache-Control"), "no-cache");
  EXPECT_EQ(page->get_header_value("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(page->get_header_value("X-Frame-Options"), "DENY");
  EXPECT_EQ(page->get_header_value("Referrer-Policy"), "no-referrer");
  EXPECT_TRUE(page->get_header_value("Content-Security-Policy").starts_with("default-src 'self'"));

  auto uplot = c.Get("/assets/vendor/uPlot.iife.min.js");
  ASSERT_TRUE(uplot);
  EXPECT_EQ(uplot->status, 200);
  EXPECT_EQ(uplot->body, read_web_file("vendor/uPlot.iife.min.js"));
  const std::string etag = uplot->get_header_value("ETag");
  EXPECT_EQ(etag, find_asset("vendor/uPlot.iife.min.js")->etag);

  auto again = c.Get("/assets/vendor/uPlot.iife.min.js", {{"If-None-Match", etag}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 304);
  EXPECT_TRUE(again->body.empty());
  EXPECT_EQ(again->get_header_value("ETag"), etag);

  auto missing = c.Get("/assets/missing.js");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST_F(AssetRoutesTest, TextAssetsAreGzippedForClientsThatAcceptIt) {
  httplib::Client c("127.0.0.1", port_);
  c.set_decompress(false);
  auto res = c.Get("/assets/app.js", {{"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Encoding"), "gzip");
  EXPECT_LT(res->body.size(), find_asset("app.js")->body.size());
}

}  // namespace
}  // namespace opsready::server
