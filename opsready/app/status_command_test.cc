#include "opsready/app/status_command.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "opsready/app/commands.h"
#include "opsready/core/time.h"
#include "tests/support/temp_dir.h"

namespace opsready::app {
namespace {

core::ComponentSnapshot snap(std::string name, core::Status s, core::TimePoint t) {
  core::ComponentSnapshot c;
  c.component = std::move(name);
  c.status = s;
  c.summary = "internal summary";
  c.observed_at = t;
  return c;
}

TEST(StatusCommand, BuildsThePageOfflineFromTheStoreAndRendersItsJsonAgain) {
  opsready::testing::TempDir tmp{"opsready-status-test"};
  const auto file = tmp.path() / "opsready.db";
  const auto now = core::parse_rfc3339("2026-12-07T12:00:00Z").value();
  {
    auto store = store::open_sqlite_store(file);
    ASSERT_TRUE(store);
    ASSERT_TRUE(
        (*store)
            ->put_component(snap("ingest_slos", core::Status::kOk, now - std::chrono::days(2)))
            .has_value());
    ASSERT_TRUE(
        (*store)
            ->put_component(snap("ingest_slos", core::Status::kWarn, now - std::chrono::minutes(5)))
            .has_value());
    ASSERT_TRUE((*store)->put_component(snap("risk", core::Status::kOk, now)).has_value());
  }
  auto cfg = parse_config(
      "status_page:\n  title: Desk\n  groups:\n    - name: Market data\n"
      "      components: [\"ingest*\"]\n",
      "t.yml");
  ASSERT_TRUE(cfg);
  auto store = store::open_sqlite_store(file);
  ASSERT_TRUE(store);
  auto page = status_page_from_store(**store, *cfg, now);
  ASSERT_TRUE(page.has_value()) << page.error().message;
  ASSERT_EQ(page->groups.size(), 2u);
  EXPECT_EQ(page->groups[0].name, "Market data");
  EXPECT_EQ(page->groups[0].status, core::Status::kWarn);
  EXPECT_EQ(page->groups[0].history.back().status, core::Status::kWarn);
  EXPECT_EQ(page->groups[0].history[87].status, core::Status::kOk);
  EXPECT_EQ(page->groups[0].days_with_data, 2);
  EXPECT_EQ(page->groups[1].name, "Other");
  // What `--url` does with the daemon's JSON: the same page, the same Markdown.
  auto back = server::status_page_from_json(nlohmann::json::parse(render_status(*page, "json")));
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(*back, *page);
  EXPECT_EQ(render_status(*back, "markdown"), render_status(*page, "markdown"));
  EXPECT_EQ(render_status(*page, "markdown").find("internal summary"), std::string::npos);
}

TEST(StatusCommand, RunWritesTheOutputFileAndRefusesWhatItCannotUse) {
  opsready::testing::TempDir tmp{"opsready-status-run"};
  const auto file = tmp.path() / "opsready.db";
  {
    auto store = store::open_sqlite_store(file);
    ASSERT_TRUE(store);
  }
  std::ostringstream out, err;
  StatusOptions o{.db = file, .format = "html", .output = tmp.path() / "status.html"};
  EXPECT_EQ(run_status(o, out, err), kExitOk) << err.str();
  std::ifstream in(tmp.path() / "status.html");
  std::stringstream html;
  html << in.rdbuf();
  EXPECT_NE(html.str().find("<!DOCTYPE html>"), std::string::npos);
  EXPECT_EQ(html.str().find("<script"), std::string::npos);

  StatusOptions missing{.db = tmp.path() / "nope.db"};
  EXPECT_EQ(run_status(missing, out, err), kExitNoInput);
  StatusOptions bad_format{.db = file, .format = "pdf"};
  EXPECT_EQ(run_status(bad_format, out, err), kExitUsage);
  // Port 9 on loopback (discard): nothing listens there in the test environment.
  StatusOptions down{.url = "http://127.0.0.1:9", .timeout = "1s"};
  EXPECT_EQ(run_status(down, out, err), 69);
  EXPECT_NE(err.str().find("cannot connect to the daemon"), std::string::npos);
}

}  // namespace
}  // namespace opsready::app
