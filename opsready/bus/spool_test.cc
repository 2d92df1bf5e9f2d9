#include "opsready/bus/spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "opsready/bus/test_support.h"
#include "opsready/core/time.h"

namespace opsready::bus {
namespace {

using core::TelemetryEvent;
using testing::LogCollector;
using testing::TempDir;
using testing::TmpfsMount;

TelemetryEvent event(int seq) {
  return TelemetryEvent{
      "telemetry.ingest.health",
      "src-" + std::to_string(seq % 3),
      core::parse_rfc3339("2025-01-02T03:04:05.000000007Z").value() + std::chrono::seconds(seq),
      {{"seq", seq}, {"nested", {{"a", {1, 2.5, "x\u00e9"}}}}}};
}

std::unique_ptr<Spool> open_spool(const std::filesystem::path& dir, SpoolOptions o = {},
                                  LogFn log = {}) {
  auto s = Spool::open(dir, o, std::move(log));
  EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().code + ": " + s.error().message);
  return s ? std::move(*s) : nullptr;
}

// Drains the spool, returning the seq of each record in replay order.
std::vector<int> drain(Spool& s) {
  std::vector<int> seqs;
  while (true) {
    auto rec = s.front();
    EXPECT_TRUE(rec.has_value()) << (rec ? "" : rec.error().message);
    if (!rec || !*rec) break;
    seqs.push_back((*rec)->event.payload["seq"].get<int>());
    EXPECT_TRUE(s.pop_front().has_value());
  }
  return seqs;
}

std::uint64_t size_of(const std::filesystem::path& p) { return std::filesystem::file_size(p); }

// Record offsets, read from the headers (16-byte header: magic, length, crc, crc).
std::vector<std::uint64_t> record_offsets(const std::filesystem::path& log) {
  std::ifstream in(log, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::uint64_t> offsets;
  std::uint64_t pos = 0;
  while (pos + 16 <= bytes.size()) {
    offsets.push_back(pos);
    std::uint32_t len = 0;
    for (int i = 3; i >= 0; --i) len = (len << 8) | static_cast<unsigned char>(bytes[pos + 4 + i]);
    pos += 16 + len;
  }
  return offsets;
}

void flip_byte(const std::filesystem::path& p, std::uint64_t offset) {
  std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ 0x5A));
}

TEST(Spool, AppendsAndReplaysInOrderAcrossReopen) {
  TempDir dir;
  {
    auto s = open_spool(dir.path());
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(s->append("id-" + std::to_string(i), event(i)));
    EXPECT_EQ(s->pending(), 5u);
    auto first = s->front();
    ASSERT_TRUE(first && *first);
    EXPECT_EQ((*first)->message_id, "id-0");
    EXPECT_EQ((*first)->event, event(0)) << "the event must round-trip exactly";
    // front() is idempotent until pop_front().
    EXPECT_EQ(s->front().value()->message_id, "id-0");
    ASSERT_TRUE(s->pop_front());
    ASSERT_TRUE(s->front() && *s->front());
    ASSERT_TRUE(s->pop_front());
    EXPECT_EQ(s->pending(), 3u);
  }
  auto s = open_spool(dir.path());
  EXPECT_EQ(s->pending(), 3u);
  EXPECT_EQ(s->front().value()->message_id, "id-2");
  EXPECT_EQ(drain(*s), (std::vector<int>{2, 3, 4}));
  EXPECT_TRUE(s->empty());
  EXPECT_EQ(size_of(dir.path() / "spool.log"), 0u) << "a drained spool is truncated";
  EXPECT_EQ(s->stats().appended, 0u);
  EXPECT_EQ(s->stats().removed, 3u);
  EXPECT_FALSE(s->front().value().has_value());
  EXPECT_EQ(s->pop_front().error().code, "spool_no_front");
}

TEST(Spool, EveryFsyncPolicyKeepsTheData) {
  for (FsyncPolicy policy : {FsyncPolicy::kAlways, FsyncPolicy::kInterval, FsyncPolicy::kNever}) {
    TempDir dir;
    {
      auto s = open_spool(dir.path(), {.fsync = policy});
      for (int i = 0; i < 3; ++i) ASSERT_TRUE(s->append("id", event(i)));
      ASSERT_TRUE(s->sync());
    }
    auto s = open_spool(dir.path(), {.fsync = policy});
    EXPECT_EQ(drain(*s), (std::vector<int>{0, 1, 2})) << to_string(policy);
  }
}

TEST(Spool, IntervalPolicySyncsWhenDueEvenWithoutANewAppend) {
  TempDir dir;
  core::ManualClock clock(core::parse_rfc3339("2025-01-02T00:00:00Z").value());
  auto opened = Spool::open(
      dir.path(), {.fsync = FsyncPolicy::kInterval, .fsync_interval = std::chrono::seconds(1)}, {},
      clock);
  ASSERT_TRUE(opened.has_value());
  auto& s = *opened;
  clock.advance(std::chrono::seconds(2));
  ASSERT_TRUE(s->append("id", event(0)));  // due: synced by the append itself
  EXPECT_EQ(s->stats().syncs, 1u);
  ASSERT_TRUE(s->append("id", event(1)));  // not due: left dirty
  EXPECT_EQ(s->stats().syncs, 1u);
  ASSERT_TRUE(s->sync_if_due());  // still not due: nothing to do
  EXPECT_EQ(s->stats().syncs, 1u);
  clock.advance(std::chrono::seconds(1));
  ASSERT_TRUE(s->sync_if_due());  // due now
  EXPECT_EQ(s->stats().syncs, 2u);
  clock.advance(std::chrono::seconds(5));
  ASSERT_TRUE(s->sync_if_due());  // nothing new since: no sync
  EXPECT_EQ(s->stats().syncs, 2u);
  EXPECT_EQ(drain(*s), (std::vector<int>{0, 1}));

  auto always = open_spool(dir.path() / "always", {.fsync = FsyncPolicy::kAlways});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(always->append("id", event(i)));
  EXPECT_EQ(always->stats().syncs, 3u) << "kAlways syncs every append";
  auto never = open_spool(dir.path() / "never", {.fsync = FsyncPolicy::kNever});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(never->append("id", event(i)));
  ASSERT_TRUE(never->sync_if_due());
  EXPECT_EQ(never->stats().syncs, 0u);
}

TEST(Spool, DetectsAChecksumMismatchAndSkipsOnlyThatRecord) {
  TempDir dir;
  {
    auto s = open_spool(dir.path());
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(s->append("id", event(i)));
  }
  const auto log = dir.path() / "spool.log";
  const auto offsets = record_offsets(log);
  ASSERT_EQ(offsets.size(), 4u);
  flip_byte(log, offsets[1] + 16 + 10);  // inside record 1's body
  LogCollector logs;
  auto s = open_spool(dir.path(), {}, logs.fn());
  EXPECT_EQ(s->stats().corrupt_records, 1u);
  EXPECT_EQ(s->pending(), 3u);
  EXPECT_EQ(drain(*s), (std::vector<int>{0, 2, 3}));
  EXPECT_EQ(logs.count(LogLevel::kError, "checksum"), 1) << logs.dump();
  EXPECT_EQ(s->stats().corrupt_records, 1u) << "counted once, not again at replay";
}

TEST(Spool, ResynchronisesAfterADamagedHeader) {
  TempDir dir;
  {
    auto s = open_spool(dir.path());
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(s->append("id", event(i)));
  }
  const auto log = dir.path() / "spool.log";
  const auto offsets = record_offsets(log);
  flip_byte(log, offsets[2] + 5);  // record 2's length field: its header crc no longer matches
  auto s = open_spool(dir.path());
  EXPECT_EQ(s->stats().corrupt_records, 1u);
  EXPECT_EQ(s->stats().truncated_bytes, 0u) << "valid records follow: corruption, not a tail";
  EXPECT_EQ(drain(*s), (std::vector<int>{0, 1, 3}));
}

TEST(Spool, CutsOffATruncatedTailAndKeepsAppending) {
  for (std::uint64_t cut : {std::uint64_t{5}, std::uint64_t{20}}) {  // mid-body, mid-header
    TempDir dir;
    {
      auto s = open_spool(dir.path());
      for (int i = 0; i < 3; ++i) ASSERT_TRUE(s->append("id", event(i)));
    }
    const auto log = dir.path() / "spool.log";
    const auto offsets = record_offsets(log);
    const std::uint64_t size = size_of(log);
    const std::uint64_t new_size = cut == 5 ? size - cut : offsets[2] + 7;
    std::filesystem::resize_file(log, new_size);
    LogCollector logs;
    auto s = open_spool(dir.path(), {}, logs.fn());
    EXPECT_EQ(s->pending(), 2u);
    EXPECT_EQ(s->stats().truncated_bytes, new_size - offsets[2]);
    EXPECT_EQ(s->stats().corrupt_records, 0u);
    EXPECT_EQ(size_of(log), offsets[2]);
    EXPECT_EQ(logs.count(LogLevel::kWarn, "incomplete record"), 1) << logs.dump();
    ASSERT_TRUE(s->append("id", event(9)));
    EXPECT_EQ(drain(*s), (std::vector<int>{0, 1, 9}));
  }
}

TEST(Spool, ADamagedOffsetFileReplaysFromTheStart) {
  TempDir dir;
  {
    auto s = open_spool(dir.path());
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(s->append("id", event(i)));
    ASSERT_TRUE(s->front());
    ASSERT_TRUE(s->pop_front());
  }
  flip_byte(dir.path() / "spool.offset", 0);
  LogCollector logs;
  auto s = open_spool(dir.path(), {}, logs.fn());
  EXPECT_EQ(logs.count(LogLevel::kWarn, "spool.offset is damaged"), 1);
  EXPECT_EQ(drain(*s), (std::vector<int>{0, 1, 2})) << "duplicates rather than losses";
}

TEST(Spool, RefusesBeyondItsLimitWithoutAPartialRecord) {
  TempDir dir;
  auto s = open_spool(dir.path(), {.max_bytes = 1024});
  int appended = 0;
  core::Result<void> r;
  while ((r = s->append("id", event(appended)))) ++appended;
  EXPECT_EQ(r.error().code, "spool_full");
  EXPECT_GT(appended, 0);
  const auto size = size_of(dir.path() / "spool.log");
  EXPECT_LE(size, 1024u);
  EXPECT_EQ(record_offsets(dir.path() / "spool.log").size(), static_cast<std::size_t>(appended));
  auto big = event(0);
  big.payload["blob"] = std::string(2000, 'x');
  auto s2 = open_spool(dir.path() / "other", {.max_record_bytes = 1000});
  EXPECT_EQ(s2->append("id", big).error().code, "spool_record_too_large");
}

TEST(Spool, ASecondOwnerIsRefused) {
  TempDir dir;
  auto s = open_spool(dir.path());
  auto again = Spool::open(dir.path());
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, "spool_locked");
}

TEST(Spool, AFileWhereTheDirectoryShouldBeIsATypedError) {
  TempDir dir;
  const auto file = dir.path() / "not-a-dir";
  std::ofstream(file) << "x";
  auto s = Spool::open(file);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, "spool_io_error");
  EXPECT_NE(s.error().message.find(file.string()), std::string::npos) << s.error().message;
  auto below = Spool::open(file / "spool");
  ASSERT_FALSE(below.has_value());
  EXPECT_NE(below.error().message.find(file.string()), std::string::npos);
}

TEST(Spool, AReadOnlyFileSystemIsATypedError) {
  TempDir dir;
  TmpfsMount ro(dir.path() / "ro", /*read_only=*/true);
  if (!ro.mounted()) GTEST_SKIP() << "cannot mount a read-only tmpfs here: " << ro.error();
  auto s = Spool::open(dir.path() / "ro");
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, "spool_read_only") << s.error().message;
  EXPECT_NE(s.error().message.find("Read-only file system"), std::string::npos)
      << s.error().message;
}

TEST(Spool, AFullDiskIsATypedErrorAndKeepsEarlierRecords) {
  TempDir dir;
  TmpfsMount tiny(dir.path() / "tiny", /*read_only=*/false, "8k");
  if (!tiny.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << tiny.error();
  auto s = open_spool(dir.path() / "tiny");
  int appended = 0;
  core::Result<void> r;
  while (appended < 10000 && (r = s->append("id", event(appended)))) ++appended;
  ASSERT_FALSE(r.has_value()) << "an 8k file system never filled up";
  EXPECT_EQ(r.error().code, "spool_full") << r.error().message;
  EXPECT_NE(r.error().message.find("No space left"), std::string::npos) << r.error().message;
  std::vector<int> want(static_cast<std::size_t>(appended));
  for (int i = 0; i < appended; ++i) want[static_cast<std::size_t>(i)] = i;
  EXPECT_EQ(drain(*s), want) << "no partial record may be left behind";
}

}  // namespace
}  // namespace opsready::bus
