#pragma once
// Spool: the durable local queue of last resort. When every bus refuses an event the failover
// publisher appends it here; when a bus comes back it replays the spool in order and removes
// each record only after a bus accepted it.
//
//   auto spool = Spool::open("/var/lib/opsready/spool", {.fsync = FsyncPolicy::kInterval});
//   if (!spool) ...;                                   // directory unusable: typed error
//   (*spool)->append("pub-1f3a-42", event);            // Result<void>: spool_full, ...
//   while (auto rec = (*spool)->front(); rec && *rec) {
//     if (!bus.publish((*rec)->event, (*rec)->message_id).delivered()) break;
//     (*spool)->pop_front();                           // only now is the record gone
//   }
//
// Files in the directory:
//   spool.log     append-only records: a 16-byte header, then the body.
//                 header = magic "OSP1" | u32 body length | u32 crc32(body) | u32 crc32(bytes
//                 0..11), all little-endian; body = JSON {"id": message id, "event": event}.
//   spool.offset  where replay resumes: u64 offset | u32 crc32(offset) | magic "OSPO".
// The log is truncated to zero once every record has been replayed; until then it only grows
// (bounded by max_bytes).
//
// Recovery on open: a record cut short at the end of the log (a crash mid-append) is cut off
// and counted as truncated_bytes. A record whose checksum does not match, or a header that
// makes no sense, is corruption: front() skips to the next valid record, logs the offsets and
// counts corrupt_records; the bytes are not replayed. A bad spool.offset restarts replay at
// the beginning of the log (duplicates, which a deduplicating bus absorbs, rather than loss).
//
// Durability (FsyncPolicy): kAlways fdatasyncs the log before append() returns, so an accepted
// record survives power loss, at the price of one fdatasync per event (about 270 events/s on
// the project's virtual disk: during an outage every publisher is throttled to that). The
// default, kInterval, fdatasyncs when `fsync_interval` has passed since the last sync (and on
// close, and from sync_if_due()): an OS crash or power loss during an outage can lose at most
// that much of the spool,
// and the spool keeps up with tens of thousands of events/s. kNever leaves it to the kernel.
// A process crash loses nothing under any policy once append() returned: the data is in the
// page cache.
// Replay progress (spool.offset) is written after every pop_front() but synced only every
// 256 pops, when the spool empties and on close: losing it replays records again (at least
// once), never skips one.
//
// Errors are core::Error with codes: spool_read_only (EROFS/EACCES/EPERM), spool_full
// (ENOSPC/EDQUOT or max_bytes reached), spool_locked (another process owns the directory),
// spool_io_error (any other errno, e.g. ENOTDIR; the message names the path and the errno
// text), spool_record_too_large, spool_unavailable (no directory given).
// A failed append leaves no partial record behind.
//
// Not thread-safe: one owner (the failover publisher, under its mutex). An exclusive flock on
// spool.log keeps a second process out of the same directory.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "opsready/bus/event_bus.h"
#include "opsready/core/clock.h"
#include "opsready/core/error.h"
#include "opsready/core/event.h"

namespace opsready::bus {

enum class FsyncPolicy : std::uint8_t { kAlways, kInterval, kNever };
[[nodiscard]] std::string_view to_string(FsyncPolicy p);

struct SpoolOptions {
  FsyncPolicy fsync = FsyncPolicy::kInterval;
  core::Duration fsync_interval = std::chrono::milliseconds(200);
  std::uint64_t max_bytes = std::uint64_t{1} << 30;  // size of spool.log, headers included
  std::uint32_t max_record_bytes = 16u << 20;
};

struct SpoolRecord {
  std::string message_id;
  core::TelemetryEvent event;

  bool operator==(const SpoolRecord&) const = default;
};

struct SpoolStats {
  std::uint64_t pending = 0;          // records appended and not yet removed
  std::uint64_t appended = 0;         // since open
  std::uint64_t removed = 0;          // since open
  std::uint64_t corrupt_records = 0;  // skipped because their checksum or header was bad
  std::uint64_t corrupt_bytes = 0;
  std::uint64_t truncated_bytes = 0;  // incomplete tail cut off at open
  std::uint64_t log_bytes = 0;        // current size of spool.log
  std::uint64_t syncs = 0;            // fdatasyncs of spool.log by append(), sync(), sync_if_due()

  bool operator==(const SpoolStats&) const = default;
};

class Spool {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<Spool>> open(
      const std::filesystem::path& directory, SpoolOptions options = {}, LogFn log = {},
      const core::Clock& clock = core::SystemClock::instance());
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  [[nodiscard]] core::Result<void> append(std::string_view message_id,
                                          const core::TelemetryEvent& event);
  // The oldest record not yet removed, or nullopt when the spool is empty. Skips (and counts)
  // corrupt records. Calling it again without pop_front() returns the same record.
  [[nodiscard]] core::Result<std::optional<SpoolRecord>> front();
  // Removes the record front() returned. Error `spool_no_front` if there is none.
  [[nodiscard]] core::Result<void> pop_front();
  // fdatasync of the log and the offset file, whatever the policy.
  [[nodiscard]] core::Result<void> sync();
  // kInterval: syncs appends older than fsync_interval that no later append synced. The owner
  // calls it periodically (FailoverPublisher::run() does), so the loss bound holds even when
  // the outage's last event is followed by silence.
  [[nodiscard]] core::Result<void> sync_if_due();

  [[nodiscard]] std::uint64_t pending() const { return stats_.pending; }
  [[nodiscard]] bool empty() const { return stats_.pending == 0; }
  [[nodiscard]] const SpoolStats& stats() const { return stats_; }
  [[nodiscard]] const std::filesystem::path& directory() const { return dir_; }

 private:
  struct Header;
  Spool(std::filesystem::path dir, SpoolOptions options, LogFn log, const core::Clock& clock);
  core::Result<void> recover();
  core::Result<bool> read_header(std::uint64_t offset, Header& header) const;
  core::Result<bool> body_valid(std::uint64_t offset, const Header& header,
                                std::string* body) const;
  core::Result<std::uint64_t> next_valid_record(std::uint64_t from, std::uint64_t limit) const;
  core::Result<void> write_offset(bool force_sync);
  core::Result<void> compact();

  std::filesystem::path dir_;
  SpoolOptions options_;
  LogFn log_;
  const core::Clock& clock_;
  int log_fd_ = -1;
  int offset_fd_ = -1;
  std::uint64_t read_pos_ = 0;  // start of the next record to replay
  std::uint64_t end_ = 0;       // end of the last complete record
  std::optional<SpoolRecord> front_;
  std::uint64_t front_end_ = 0;
  std::map<std::uint64_t, std::uint64_t> known_corrupt_;  // begin -> end, found at open
  std::uint64_t pops_since_sync_ = 0;
  bool dirty_ = false;  // appended since the last fdatasync of the log
  core::TimePoint last_sync_{};
  SpoolStats stats_;
};

}  // namespace opsready::bus
