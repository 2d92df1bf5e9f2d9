#include "opsready/bus/spool.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <utility>

#include <nlohmann/json.hpp>

namespace opsready::bus {
namespace {

constexpr std::uint32_t kRecordMagic = 0x3150534F;  // bytes "OSP1"
constexpr std::uint32_t kOffsetMagic = 0x4F50534F;  // bytes "OSPO"
constexpr std::size_t kHeaderSize = 16;
constexpr std::uint64_t kOffsetSyncEvery = 256;

void put_u32(char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xFFu);
}
void put_u64(char* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xFFu);
}
std::uint32_t get_u32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
std::uint64_t get_u64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
std::uint32_t crc(const char* data, std::size_t n) {
  const uLong seed = crc32(0L, Z_NULL, 0);
  return static_cast<std::uint32_t>(
      crc32(seed, reinterpret_cast<const Bytef*>(data), static_cast<uInt>(n)));
}

std::string errno_text(int err) { return std::system_category().message(err); }

core::Error io_error(std::string_view what, int err, const std::filesystem::path& path) {
  std::string code = "spool_io_error";
  if (err == ENOSPC || err == EDQUOT) code = "spool_full";
  if (err == EROFS || err == EACCES || err == EPERM) code = "spool_read_only";
  return core::Error{
      std::move(code), std::string(what) + " " + path.string() + ": " + errno_text(err), {}};
}

// Reads up to n bytes at offset; fewer only at end of file. -1 on error (errno set).
ssize_t pread_full(int fd, char* buf, std::size_t n, std::uint64_t offset) {
  std::size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(fd, buf + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) break;
    done += static_cast<std::size_t>(r);
  }
  return static_cast<ssize_t>(done);
}

// 0 on success, else the errno of the failure (a short write that cannot progress is ENOSPC).
int pwrite_full(int fd, const char* buf, std::size_t n, std::uint64_t offset) {
  std::size_t done = 0;
  while (done < n) {
    const ssize_t w = ::pwrite(fd, buf + done, n - done, static_cast<off_t>(offset + done));
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (w == 0) return ENOSPC;
    done += static_cast<std::size_t>(w);
  }
  return 0;
}

int open_file(const std::filesystem::path& path) {
  return ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
}

void sync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

std::string_view to_string(FsyncPolicy p) {
  switch (p) {
    case FsyncPolicy::kAlways:
      return "always";
    case FsyncPolicy::kInterval:
      return "interval";
    case FsyncPolicy::kNever:
      return "never";
  }
  return "unknown";
}

struct Spool::Header {
  std::uint32_t length = 0;
  std::uint32_t body_crc = 0;
};

Spool::Spool(std::filesystem::path dir, SpoolOptions options, LogFn log, const core::Clock& clock)
    : dir_(std::move(dir)), options_(options), log_(std::move(log)), clock_(clock) {}

Spool::~Spool() {
  if (log_fd_ >= 0) {
    if (options_.fsync != FsyncPolicy::kNever) ::fdatasync(log_fd_);
    ::close(log_fd_);
  }
  if (offset_fd_ >= 0) {
    ::fdatasync(offset_fd_);
    ::close(offset_fd_);
  }
}

core::Result<std::unique_ptr<Spool>> Spool::open(const std::filesystem::path& directory,
                                                 SpoolOptions options, LogFn log,
                                                 const core::Clock& clock) {
  if (directory.empty()) return core::fail("spool_unavailable", "no spool directory given");
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) return std::unexpected(io_error("cannot create spool directory", ec.value(), directory));
  if (!std::filesystem::is_directory(directory, ec)) {
    return std::unexpected(io_error("spool path is not a directory", ENOTDIR, directory));
  }
  std::unique_ptr<Spool> s(new Spool(directory, options, std::move(log), clock));
  const auto log_path = directory / "spool.log";
  const auto offset_path = directory / "spool.offset";
  const bool existed = std::filesystem::exists(log_path, ec);
  s->log_fd_ = open_file(log_path);
  if (s->log_fd_ < 0) return std::unexpected(io_error("cannot open", errno, log_path));
  if (::flock(s->log_fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err == EWOULDBLOCK) {
      return core::fail("spool_locked",
                        "spool " + directory.string() + " is in use by another process");
    }
    return std::unexpected(io_error("cannot lock", err, log_path));
  }
  s->offset_fd_ = open_file(offset_path);
  if (s->offset_fd_ < 0) return std::unexpected(io_error("cannot open", errno, offset_path));
  if (!existed) sync_directory(directory);
  s->last_sync_ = clock.now();
  if (auto r = s->recover(); !r) return std::unexpected(r.error());
  return s;
}

core::Result<bool> Spool::read_header(std::uint64_t offset, Header& header) const {
  std::array<char, kHeaderSize> buf{};
  const ssize_t n = pread_full(log_fd_, buf.data(), buf.size(), offset);
  if (n < 0) return std::unexpected(io_error("cannot read", errno, dir_ / "spool.log"));
  if (static_cast<std::size_t>(n) < kHeaderSize) return false;
  if (get_u32(buf.data()) != kRecordMagic) return false;
  if (get_u32(buf.data() + 12) != crc(buf.data(), 12)) return false;
  header.length = get_u32(buf.data() + 4);
  header.body_crc = get_u32(buf.data() + 8);
  return header.length <= options_.max_record_bytes;
}

core::Result<bool> Spool::body_valid(std::uint64_t offset, const Header& header,
                                     std::string* body) const {
  std::string local;
  std::string& b = body != nullptr ? *body : local;
  b.resize(header.length);
  const ssize_t n = pread_full(log_fd_, b.data(), b.size(), offset + kHeaderSize);
  if (n < 0) return std::unexpected(io_error("cannot read", errno, dir_ / "spool.log"));
  if (static_cast<std::size_t>(n) < header.length) return false;
  return crc(b.data(), b.size()) == header.body_crc;
}

// The offset of the first record at or after `from` whose header and body check out and which
// ends at or before `limit`; `limit` when there is none.
core::Result<std::uint64_t> Spool::next_valid_record(std::uint64_t from,
                                                     std::uint64_t limit) const {
  constexpr std::size_t kChunk = 64 * 1024;
  std::string chunk(kChunk + 3, '\0');
  char magic[4];
  put_u32(magic, kRecordMagic);
  for (std::uint64_t base = from; base < limit; base += kChunk) {
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), limit - base));
    const ssize_t n = pread_full(log_fd_, chunk.data(), want, base);
    if (n < 0) return std::unexpected(io_error("cannot read", errno, dir_ / "spool.log"));
    for (std::size_t i = 0; i + 4 <= static_cast<std::size_t>(n) && i < kChunk; ++i) {
      if (std::memcmp(chunk.data() + i, magic, 4) != 0) continue;
      const std::uint64_t candidate = base + i;
      Header h;
      auto ok = read_header(candidate, h);
      if (!ok) return std::unexpected(ok.error());
      if (!*ok || candidate + kHeaderSize + h.length > limit) continue;
      auto body = body_valid(candidate, h, nullptr);
      if (!body) return std::unexpected(body.error());
      if (*body) return candidate;
    }
  }
  return limit;
}

core::Result<void> Spool::recover() {
  struct stat st {};
  if (::fstat(log_fd_, &st) != 0) return std::unexpected(io_error("cannot stat", errno, dir_));
  const auto size = static_cast<std::uint64_t>(st.st_size);

  std::array<char, 16> buf{};
  const ssize_t n = pread_full(offset_fd_, buf.data(), buf.size(), 0);
  if (n < 0) return std::unexpected(io_error("cannot read", errno, dir_ / "spool.offset"));
  read_pos_ = 0;
  if (n == 16 && get_u32(buf.data() + 12) == kOffsetMagic &&
      get_u32(buf.data() + 8) == crc(buf.data(), 8)) {
    read_pos_ = get_u64(buf.data());
  } else if (n > 0) {
    log_to(log_, LogLevel::kWarn,
           "spool " + dir_.string() +
               ": spool.offset is damaged; replaying from the start of the log (duplicates "
               "are possible, losses are not)");
  }
  if (read_pos_ > size) read_pos_ = 0;  // the log was emptied after a complete replay

  std::uint64_t pos = read_pos_;
  std::uint64_t cut = size;
  std::uint64_t pending = 0;
  while (pos < size) {
    Header h;
    auto header_ok = read_header(pos, h);
    if (!header_ok) return std::unexpected(header_ok.error());
    if (*header_ok) {
      const std::uint64_t end = pos + kHeaderSize + h.length;
      if (end > size) {  // a record cut short by a crash mid-append
        cut = pos;
        break;
      }
      auto body_ok = body_valid(pos, h, nullptr);
      if (!body_ok) return std::unexpected(body_ok.error());
      if (*body_ok) {
        ++pending;
      } else {
        known_corrupt_.emplace(pos, end);
        ++stats_.corrupt_records;
        stats_.corrupt_bytes += end - pos;
        log_to(log_, LogLevel::kError,
               "spool " + dir_.string() + ": record at offset " + std::to_string(pos) +
                   " fails its checksum; it will be skipped");
      }
      pos = end;
      continue;
    }
    auto next = next_valid_record(pos + 1, size);
    if (!next) return std::unexpected(next.error());
    if (*next >= size) {  // nothing valid follows: an incomplete tail
      cut = pos;
      break;
    }
    known_corrupt_.emplace(pos, *next);
    ++stats_.corrupt_records;
    stats_.corrupt_bytes += *next - pos;
    log_to(log_, LogLevel::kError,
           "spool " + dir_.string() + ": bytes " + std::to_string(pos) + ".." +
               std::to_string(*next) + " are not a valid record; they will be skipped");
    pos = *next;
  }
  end_ = cut;
  if (cut < size) {
    if (::ftruncate(log_fd_, static_cast<off_t>(cut)) != 0) {
      return std::unexpected(io_error("cannot truncate", errno, dir_ / "spool.log"));
    }
    ::fdatasync(log_fd_);
    stats_.truncated_bytes = size - cut;
    log_to(log_, LogLevel::kWarn,
           "spool " + dir_.string() + ": cut off an incomplete record of " +
               std::to_string(size - cut) + " bytes at the end of the log (interrupted write)");
  }
  stats_.pending = pending;
  stats_.log_bytes = end_;
  if (pending == 0 && end_ > 0) return compact();
  // Give spool.offset its 16 bytes now: on a full disk, overwriting them later needs no new
  // block, so replay progress can still be recorded.
  if (n != 16) return write_offset(true);
  return {};
}

core::Result<void> Spool::append(std::string_view message_id, const core::TelemetryEvent& event) {
  std::string record(kHeaderSize, '\0');
  try {
    record += nlohmann::json{{"id", message_id}, {"event", core::to_json(event)}}.dump(
        -1, ' ', false, nlohmann::json::error_handler_t::replace);
  } catch (const std::exception& e) {
    return core::fail("spool_encode_error", std::string("cannot encode the event: ") + e.what());
  }
  const std::size_t body = record.size() - kHeaderSize;
  if (body > options_.max_record_bytes) {
    return core::fail("spool_record_too_large", "record of " + std::to_string(body) +
                                                    " bytes exceeds the limit of " +
                                                    std::to_string(options_.max_record_bytes));
  }
  if (end_ + record.size() > options_.max_bytes) {
    return core::fail("spool_full", "spool " + dir_.string() + " reached its limit of " +
                                        std::to_string(options_.max_bytes) + " bytes");
  }
  put_u32(record.data(), kRecordMagic);
  put_u32(record.data() + 4, static_cast<std::uint32_t>(body));
  put_u32(record.data() + 8, crc(record.data() + kHeaderSize, body));
  put_u32(record.data() + 12, crc(record.data(), 12));

  auto roll_back = [&](int err, std::string_view what) {
    (void)::ftruncate(log_fd_, static_cast<off_t>(end_));  // leave no partial record
    return std::unexpected(io_error(what, err, dir_ / "spool.log"));
  };
  if (const int err = pwrite_full(log_fd_, record.data(), record.size(), end_); err != 0) {
    return roll_back(err, "cannot write");
  }
  const core::TimePoint now = clock_.now();
  const bool sync =
      options_.fsync == FsyncPolicy::kAlways ||
      (options_.fsync == FsyncPolicy::kInterval && now - last_sync_ >= options_.fsync_interval);
  if (sync) {
    if (::fdatasync(log_fd_) != 0) return roll_back(errno, "cannot fdatasync");
    last_sync_ = now;
    ++stats_.syncs;
  }
  dirty_ = !sync && options_.fsync == FsyncPolicy::kInterval;
  end_ += record.size();
  ++stats_.pending;
  ++stats_.appended;
  stats_.log_bytes = end_;
  return {};
}

core::Result<std::optional<SpoolRecord>> Spool::front() {
  if (front_) return front_;
  while (read_pos_ < end_) {
    if (auto known = known_corrupt_.find(read_pos_); known != known_corrupt_.end()) {
      read_pos_ = known->second;  // counted and logged at open
      continue;
    }
    Header h;
    auto header_ok = read_header(read_pos_, h);
    if (!header_ok) return std::unexpected(header_ok.error());
    const std::uint64_t end = read_pos_ + kHeaderSize + h.length;
    std::string reason;
    if (*header_ok && end <= end_) {
      std::string body;
      auto body_ok = body_valid(read_pos_, h, &body);
      if (!body_ok) return std::unexpected(body_ok.error());
      if (*body_ok) {
        const auto j = nlohmann::json::parse(body, nullptr, false);
        if (j.is_object() && j.contains("id") && j["id"].is_string() && j.contains("event")) {
          auto event = core::event_from_json(j["event"], clock_.now());
          if (event) {
            front_ = SpoolRecord{j["id"].get<std::string>(), std::move(*event)};
            front_end_ = end;
            return front_;
          }
          reason = "its event does not decode: " + event.error().describe();
        } else {
          reason = "its body is not a spool record";
        }
      } else {
        reason = "it fails its checksum";
      }
    } else {
      reason = "its header is damaged";
    }
    // Damage that appeared after open: skip to the next valid record.
    std::uint64_t next = end;
    if (!*header_ok || end > end_) {
      auto found = next_valid_record(read_pos_ + 1, end_);
      if (!found) return std::unexpected(found.error());
      next = *found;
    }
    log_to(log_, LogLevel::kError,
           "spool " + dir_.string() + ": skipping bytes " + std::to_string(read_pos_) + ".." +
               std::to_string(next) + " because " + reason);
    ++stats_.corrupt_records;
    stats_.corrupt_bytes += next - read_pos_;
    if (stats_.pending > 0) --stats_.pending;
    read_pos_ = next;
  }
  stats_.pending = 0;
  if (end_ > 0) {
    if (auto r = compact(); !r) return std::unexpected(r.error());
  }
  return std::nullopt;
}

core::Result<void> Spool::pop_front() {
  if (!front_) return core::fail("spool_no_front", "pop_front() without a record from front()");
  front_.reset();
  read_pos_ = front_end_;
  if (stats_.pending > 0) --stats_.pending;
  ++stats_.removed;
  if (stats_.pending == 0) return compact();
  return write_offset(++pops_since_sync_ >= kOffsetSyncEvery);
}

core::Result<void> Spool::write_offset(bool force_sync) {
  std::array<char, 16> buf{};
  put_u64(buf.data(), read_pos_);
  put_u32(buf.data() + 8, crc(buf.data(), 8));
  put_u32(buf.data() + 12, kOffsetMagic);
  if (const int err = pwrite_full(offset_fd_, buf.data(), buf.size(), 0); err != 0) {
    return std::unexpected(io_error("cannot write", err, dir_ / "spool.offset"));
  }
  if (force_sync) {
    if (::fdatasync(offset_fd_) != 0) {
      return std::unexpected(io_error("cannot fdatasync", errno, dir_ / "spool.offset"));
    }
    pops_since_sync_ = 0;
  }
  return {};
}

// Everything was replayed (or was corrupt): empty the log. Truncate first, then reset the
// offset: a crash in between leaves an offset past the end, which open() reads as "empty".
core::Result<void> Spool::compact() {
  if (::ftruncate(log_fd_, 0) != 0) {
    return std::unexpected(io_error("cannot truncate", errno, dir_ / "spool.log"));
  }
  ::fdatasync(log_fd_);
  read_pos_ = 0;
  end_ = 0;
  front_.reset();
  known_corrupt_.clear();
  stats_.log_bytes = 0;
  return write_offset(true);
}

core::Result<void> Spool::sync_if_due() {
  if (!dirty_ || clock_.now() - last_sync_ < options_.fsync_interval) return {};
  return sync();
}

core::Result<void> Spool::sync() {
  if (::fdatasync(log_fd_) != 0) {
    return std::unexpected(io_error("cannot fdatasync", errno, dir_ / "spool.log"));
  }
  last_sync_ = clock_.now();
  dirty_ = false;
  ++stats_.syncs;
  if (::fdatasync(offset_fd_) != 0) {
    return std::unexpected(io_error("cannot fdatasync", errno, dir_ / "spool.offset"));
  }
  pops_since_sync_ = 0;
  return {};
}

}  // namespace opsready::bus
