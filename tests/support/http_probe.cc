// http_probe: the slow, idle and streaming HTTP clients of http_probe.h — non-blocking connects
// so that a thousand connections open in milliseconds, one poll() watcher thread per group.

#include "tests/support/http_probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace opsready::testing {
namespace {

constexpr std::string_view kHalfRequest =
    "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n";
constexpr std::string_view kIdleRequest = "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n";
constexpr std::string_view kTrickleRequestLine = "POST /api/v1/events HTTP/1.1\r\n";
// Cycled one byte at a time: header lines that never end in the blank line.
constexpr std::string_view kTrickleHeader = "X-Trickle: 1\r\n";
constexpr auto kSetupTimeout = std::chrono::seconds(10);
constexpr int kResponseTimeoutMs = 5000;

std::string errno_text(int err) { return std::strerror(err); }

std::string fd_limit_text() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return "unknown";
  return std::to_string(lim.rlim_cur);
}

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

void close_all(std::vector<int>& fds) {
  for (int fd : fds) {
    if (fd >= 0) ::close(fd);
  }
  fds.clear();
}

// Waits until the connects of fds[from, to) complete. Empty or why not.
std::string await_connected(int port, std::vector<int>& fds, std::size_t from, std::size_t to,
                            ProbeClock::time_point deadline) {
  std::vector<bool> done(to - from, false);
  for (std::size_t pending = to - from; pending > 0;) {
    std::vector<pollfd> pfds;
    std::vector<std::size_t> index;
    for (std::size_t i = from; i < to; ++i) {
      if (done[i - from]) continue;
      pfds.push_back({fds[i], POLLOUT, 0});
      index.push_back(i);
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - ProbeClock::now());
    if (left.count() <= 0) {
      return std::to_string(fds.size() - to + pending) + " connections not established within " +
             std::to_string(std::chrono::seconds(kSetupTimeout).count()) + " s";
    }
    if (::poll(pfds.data(), pfds.size(), static_cast<int>(left.count())) < 0 && errno != EINTR) {
      return "poll: " + errno_text(errno);
    }
    for (std::size_t k = 0; k < pfds.size(); ++k) {
      if (pfds[k].revents == 0) continue;
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(pfds[k].fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) return "connect to 127.0.0.1:" + std::to_string(port) + ": " + errno_text(err);
      done[index[k] - from] = true;
      --pending;
    }
  }
  return {};
}

// Opens `n` non-blocking connections to 127.0.0.1:port, kConnectBatch connect() calls in flight
// at a time: a thousand cost a few loopback round trips, not a thousand, and a burst never
// overflows a listener's backlog (an overflow drops the SYN and costs a 1 s retransmission).
// Empty or why not; on failure nothing stays open.
std::string connect_all(int port, std::size_t n, std::vector<int>& fds) {
  constexpr std::size_t kConnectBatch = 32;
  const sockaddr_in addr = loopback(port);
  const auto deadline = ProbeClock::now() + kSetupTimeout;
  fds.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      const int err = errno;
      close_all(fds);
      if (err == EMFILE || err == ENFILE) {
        return "out of file descriptors after " + std::to_string(i) + " of " + std::to_string(n) +
               " connections (" + errno_text(err) + "; this process may open " + fd_limit_text() +
               "): raise the limit with `ulimit -n`";
      }
      return "socket: " + errno_text(err);
    }
    fds.push_back(fd);
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 &&
        errno != EINPROGRESS) {
      const int err = errno;
      close_all(fds);
      return "connect to 127.0.0.1:" + std::to_string(port) + ": " + errno_text(err);
    }
    if (fds.size() % kConnectBatch == 0 || fds.size() == n) {
      const std::size_t from = (fds.size() - 1) / kConnectBatch * kConnectBatch;
      if (auto err = await_connected(port, fds, from, fds.size(), deadline); !err.empty()) {
        close_all(fds);
        return err;
      }
    }
  }
  return {};
}

// Sends a few bytes on a fresh connection; they fit in its empty send buffer.
bool send_small(int fd, std::string_view data) {
  const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  return n == static_cast<ssize_t>(data.size());
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

struct ResponseHead {
  int status = 0;
  std::size_t header_bytes = 0;  // through the blank line
  bool chunked = false;
  std::optional<std::size_t> content_length;
  bool close = false;
};

// The head of the response at the start of `buf`, or nullopt while incomplete; a head that is
// not HTTP gets status -1.
std::optional<ResponseHead> parse_head(std::string_view buf) {
  const auto end = buf.find("\r\n\r\n");
  if (end == std::string_view::npos) return std::nullopt;
  ResponseHead h;
  h.header_bytes = end + 4;
  if (buf.size() < 12 || buf.substr(0, 5) != "HTTP/") {
    h.status = -1;
    return h;
  }
  h.status = std::atoi(std::string(buf.substr(9, 3)).c_str());
  const std::string head = lower(buf.substr(0, end));
  if (const auto p = head.find("\r\ncontent-length:"); p != std::string::npos) {
    h.content_length = std::strtoull(head.c_str() + p + 17, nullptr, 10);
  }
  if (const auto p = head.find("\r\ntransfer-encoding:"); p != std::string::npos) {
    const auto eol = head.find("\r\n", p + 2);
    h.chunked = head.substr(p, eol - p).find("chunked") != std::string::npos;
  }
  h.close = head.find("\r\nconnection: close") != std::string::npos;
  return h;
}

// Bytes of the first complete response in `buf`: 0 while incomplete, -1 when it cannot be
// framed (not HTTP, or a body delimited only by the connection closing).
long response_size(std::string_view buf, ResponseHead& head) {
  const auto parsed = parse_head(buf);
  if (!parsed) return 0;
  head = *parsed;
  if (head.status < 0) return -1;
  std::size_t pos = head.header_bytes;
  if (head.chunked) {
    for (;;) {
      const auto eol = buf.find("\r\n", pos);
      if (eol == std::string_view::npos) return 0;
      const std::size_t size =
          std::strtoull(std::string(buf.substr(pos, eol - pos)).c_str(), nullptr, 16);
      pos = eol + 2;
      if (size == 0) {
        // Trailers, then the blank line.
        for (;;) {
          const auto t = buf.find("\r\n", pos);
          if (t == std::string_view::npos) return 0;
          const bool blank = t == pos;
          pos = t + 2;
          if (blank) return static_cast<long>(pos);
        }
      }
      if (buf.size() < pos + size + 2) return 0;
      pos += size + 2;
    }
  }
  if (head.content_length) {
    const std::size_t total = pos + *head.content_length;
    return buf.size() >= total ? static_cast<long>(total) : 0;
  }
  if (head.status == 204 || head.status == 304 || head.status / 100 == 1) {
    return static_cast<long>(pos);
  }
  return -1;
}

int make_eventfd() { return ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

void wake(int fd) {
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(fd, &one, sizeof one);
}

double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(rank, sorted.size() - 1)];
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// HeldConnections

HeldConnections::~HeldConnections() { stop(); }

void HeldConnections::stop() {
  if (watcher_.joinable()) {
    wake(wake_fd_);
    watcher_.join();
  }
  if (wake_fd_ >= 0) ::close(wake_fd_);
  wake_fd_ = -1;
  std::lock_guard lock(mu_);
  for (auto& h : held_) {
    if (h.fd >= 0) ::close(h.fd);
    h.fd = -1;
  }
}

std::string HeldConnections::open(int port, std::size_t n, HoldMode mode,
                                  std::chrono::milliseconds trickle_interval) {
  std::lock_guard lock(mu_);
  if (!held_.empty() || watcher_.joinable()) return "HeldConnections::open called twice";
  std::vector<int> fds;
  if (auto err = connect_all(port, n, fds); !err.empty()) return err;
  const std::string_view first = mode == HoldMode::kHalfRequest     ? kHalfRequest
                                 : mode == HoldMode::kIdleKeepAlive ? kIdleRequest
                                                                    : kTrickleRequestLine;
  for (int fd : fds) {
    if (!send_small(fd, first)) {
      const int err = errno;
      close_all(fds);
      return "sending the first bytes: " + errno_text(err);
    }
  }
  if (mode == HoldMode::kIdleKeepAlive) {
    // Read every response, all connections at once.
    std::vector<std::string> bufs(n);
    std::vector<bool> done(n, false);
    const auto deadline = ProbeClock::now() + kSetupTimeout;
    for (std::size_t pending = n; pending > 0;) {
      std::vector<pollfd> pfds;
      std::vector<std::size_t> index;
      for (std::size_t i = 0; i < n; ++i) {
        if (done[i]) continue;
        pfds.push_back({fds[i], POLLIN, 0});
        index.push_back(i);
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - ProbeClock::now());
      if (left.count() <= 0) {
        close_all(fds);
        return std::to_string(pending) + " of " + std::to_string(n) +
               " GET /-/healthy answers not received within 10 s";
      }
      ::poll(pfds.data(), pfds.size(), static_cast<int>(left.count()));
      for (std::size_t k = 0; k < pfds.size(); ++k) {
        if (pfds[k].revents == 0) continue;
        const std::size_t i = index[k];
        char chunk[4096];
        const ssize_t r = ::recv(fds[i], chunk, sizeof chunk, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
        if (r <= 0) {
          close_all(fds);
          return "the server closed a connection before answering GET /-/healthy";
        }
        bufs[i].append(chunk, static_cast<std::size_t>(r));
        ResponseHead head;
        const long size = response_size(bufs[i], head);
        if (size < 0) {
          close_all(fds);
          return "unframed answer to GET /-/healthy";
        }
        if (size > 0) {
          done[i] = true;
          --pending;
        }
      }
    }
  }
  wake_fd_ = make_eventfd();
  if (wake_fd_ < 0) {
    const int err = errno;
    close_all(fds);
    return "eventfd: " + errno_text(err);
  }
  held_.reserve(n);
  for (int fd : fds) held_.push_back({.fd = fd});
  mode_ = mode;
  trickle_interval_ = trickle_interval;
  opened_at_ = ProbeClock::now();
  watcher_ = std::thread([this] { watch(); });
  return {};
}

std::size_t HeldConnections::size() const {
  std::lock_guard lock(mu_);
  return held_.size();
}

bool HeldConnections::check_closed_locked(std::size_t i, ProbeClock::time_point now) {
  Held& h = held_[i];
  if (h.closed_at) return true;
  for (;;) {
    char byte;
    const ssize_t r = ::recv(h.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (r > 0) {
      // The server said something (a 408, an error page): read it and look again.
      char chunk[4096];
      if (::recv(h.fd, chunk, sizeof chunk, MSG_DONTWAIT) > 0) continue;
    }
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
    if (r < 0 && errno == EINTR) continue;
    break;  // 0: orderly close; any other error (ECONNRESET): closed
  }
  h.closed_at = now;
  ::close(h.fd);
  h.fd = -1;
  return true;
}

std::size_t HeldConnections::closed_count() {
  std::lock_guard lock(mu_);
  const auto now = ProbeClock::now();
  std::size_t closed = 0;
  for (std::size_t i = 0; i < held_.size(); ++i) closed += check_closed_locked(i, now) ? 1 : 0;
  return closed;
}

std::vector<ProbeClock::duration> HeldConnections::close_times() const {
  std::lock_guard lock(mu_);
  std::vector<ProbeClock::duration> out;
  for (const auto& h : held_) {
    if (h.closed_at) out.push_back(*h.closed_at - opened_at_);
  }
  return out;
}

void HeldConnections::watch() {
  auto next_trickle = ProbeClock::now() + trickle_interval_;
  std::vector<pollfd> pfds;
  std::vector<std::size_t> index;
  for (;;) {
    pfds.assign(1, {wake_fd_, POLLIN, 0});
    index.assign(1, 0);
    {
      std::lock_guard lock(mu_);
      for (std::size_t i = 0; i < held_.size(); ++i) {
        if (held_[i].closed_at) continue;
        pfds.push_back({held_[i].fd, POLLIN | POLLRDHUP, 0});
        index.push_back(i);
      }
    }
    int timeout_ms = -1;
    if (mode_ == HoldMode::kTrickle) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(next_trickle - ProbeClock::now());
      timeout_ms = static_cast<int>(std::max<long>(0, left.count()));
    }
    if (::poll(pfds.data(), pfds.size(), timeout_ms) < 0 && errno != EINTR) return;
    if (pfds[0].revents != 0) return;
    const auto now = ProbeClock::now();
    std::lock_guard lock(mu_);
    for (std::size_t k = 1; k < pfds.size(); ++k) {
      if (pfds[k].revents != 0) check_closed_locked(index[k], now);
    }
    if (mode_ == HoldMode::kTrickle && now >= next_trickle) {
      for (std::size_t i = 0; i < held_.size(); ++i) {
        Held& h = held_[i];
        if (h.closed_at) continue;
        const char byte = kTrickleHeader[h.trickled % kTrickleHeader.size()];
        if (::send(h.fd, &byte, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1) {
          ++h.trickled;
        } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
          check_closed_locked(i, now);
          if (!h.closed_at) {
            h.closed_at = now;  // EPIPE with nothing left to read: closed all the same
            ::close(h.fd);
            h.fd = -1;
          }
        }
      }
      next_trickle += trickle_interval_;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// measure_requests

namespace {

int connect_blocking(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const sockaddr_in addr = loopback(port);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Reads one whole response from `fd` (bytes beyond it stay in `buf`): its status, or -1 when the
// connection broke, timed out or the response cannot be framed.
int read_response(int fd, std::string& buf, bool& close) {
  const auto deadline = ProbeClock::now() + std::chrono::milliseconds(kResponseTimeoutMs);
  for (;;) {
    ResponseHead head;
    const long size = response_size(buf, head);
    if (size < 0) return -1;
    if (size > 0) {
      buf.erase(0, static_cast<std::size_t>(size));
      if (head.status / 100 == 1) continue;  // 100 Continue: the real answer follows
      close = head.close;
      return head.status;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - ProbeClock::now());
    if (left.count() <= 0) return -1;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char chunk[16384];
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    buf.append(chunk, static_cast<std::size_t>(n));
  }
}

}  // namespace

LatencyStats measure_requests(int port, const std::string& raw_request, int count) {
  LatencyStats stats;
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(std::max(count, 0)));
  int fd = -1;
  std::string buf;
  for (int i = 0; i < count; ++i) {
    ++stats.count;
    const auto start = ProbeClock::now();
    if (fd < 0) fd = connect_blocking(port);
    int status = -1;
    bool close = false;
    if (fd >= 0 && send_all(fd, raw_request)) status = read_response(fd, buf, close);
    const auto end = ProbeClock::now();
    if (status > 0) us.push_back(std::chrono::duration<double, std::micro>(end - start).count());
    if (status < 200 || status >= 300) ++stats.errors;
    if ((status < 0 || close) && fd >= 0) {
      ::close(fd);
      fd = -1;
      buf.clear();
    }
  }
  if (fd >= 0) ::close(fd);
  std::sort(us.begin(), us.end());
  stats.p50_us = percentile(us, 0.50);
  stats.p99_us = percentile(us, 0.99);
  stats.max_us = us.empty() ? 0 : us.back();
  return stats;
}

std::string ndjson_post(const std::string& path, const std::string& body) {
  return "POST " + path +
         " HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// ---------------------------------------------------------------------------------------------
// SseClients

SseClients::~SseClients() {
  if (watcher_.joinable()) {
    wake(wake_fd_);
    watcher_.join();
  }
  if (wake_fd_ >= 0) ::close(wake_fd_);
  for (auto& c : clients_) {
    if (c.fd >= 0) ::close(c.fd);
  }
}

std::string SseClients::open(int port, const std::string& path, std::size_t n) {
  std::lock_guard lock(mu_);
  if (!clients_.empty() || watcher_.joinable()) return "SseClients::open called twice";
  std::vector<int> fds;
  if (auto err = connect_all(port, n, fds); !err.empty()) return err;
  const std::string request =
      "GET " + path + " HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n";
  for (int fd : fds) {
    if (!send_small(fd, request)) {
      const int err = errno;
      close_all(fds);
      return "sending the subscription: " + errno_text(err);
    }
  }
  wake_fd_ = make_eventfd();
  if (wake_fd_ < 0) {
    const int err = errno;
    close_all(fds);
    return "eventfd: " + errno_text(err);
  }
  clients_.resize(n);
  for (std::size_t i = 0; i < n; ++i) clients_[i].fd = fds[i];
  watcher_ = std::thread([this] { watch(); });
  return {};
}

void SseClients::watch() {
  std::vector<pollfd> pfds;
  std::vector<std::size_t> index;
  std::vector<char> chunk(65536);
  for (;;) {
    pfds.assign(1, {wake_fd_, POLLIN, 0});
    index.assign(1, 0);
    {
      std::lock_guard lock(mu_);
      for (std::size_t i = 0; i < clients_.size(); ++i) {
        if (!clients_[i].open) continue;
        pfds.push_back({clients_[i].fd, POLLIN | POLLRDHUP, 0});
        index.push_back(i);
      }
    }
    if (::poll(pfds.data(), pfds.size(), -1) < 0 && errno != EINTR) return;
    if (pfds[0].revents != 0) return;
    {
      std::lock_guard lock(mu_);
      for (std::size_t k = 1; k < pfds.size(); ++k) {
        if (pfds[k].revents == 0) continue;
        Client& c = clients_[index[k]];
        for (;;) {
          const ssize_t r = ::recv(c.fd, chunk.data(), chunk.size(), MSG_DONTWAIT);
          if (r > 0) {
            feed_locked(c, chunk.data(), static_cast<std::size_t>(r));
            continue;
          }
          if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
          if (r < 0 && errno == EINTR) continue;
          c.open = false;
          ::close(c.fd);
          c.fd = -1;
          break;
        }
      }
    }
    cv_.notify_all();
  }
}

void SseClients::feed_locked(Client& c, const char* data, std::size_t size) {
  if (c.failed) return;
  if (c.in_body) {
    feed_body_locked(c, data, size);
    return;
  }
  c.head.append(data, size);
  const auto head = parse_head(c.head);
  if (!head) {
    if (c.head.size() > 65536) c.failed = true;
    return;
  }
  const std::string headers = lower(std::string_view(c.head).substr(0, head->header_bytes));
  if (head->status != 200 || headers.find("text/event-stream") == std::string::npos) {
    c.failed = true;
    return;
  }
  c.in_body = true;
  c.chunked = head->chunked;
  const std::string rest = c.head.substr(head->header_bytes);
  c.head.clear();
  feed_body_locked(c, rest.data(), rest.size());
}

void SseClients::feed_body_locked(Client& c, const char* data, std::size_t size) {
  // Scans decoded event-stream text: an event is a run of non-comment lines ended by a blank
  // line ("\n\n" or "\r\n\r\n").
  const auto scan = [&c](const char* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      const char ch = p[i];
      if (ch == '\r') continue;
      if (ch == '\n') {
        if (c.line_empty) {
          if (c.event_has_field) ++c.events;
          c.event_has_field = false;
        } else if (!c.line_is_comment) {
          c.event_has_field = true;
        }
        c.line_empty = true;
        c.line_is_comment = false;
      } else if (c.line_empty) {
        c.line_empty = false;
        c.line_is_comment = ch == ':';
      }
    }
  };
  if (!c.chunked) {
    scan(data, size);
    return;
  }
  std::size_t i = 0;
  while (i < size) {
    if (c.chunk_left > 0) {
      const std::size_t take = std::min(c.chunk_left, size - i);
      scan(data + i, take);
      c.chunk_left -= take;
      i += take;
      if (c.chunk_left == 0) c.chunk_crlf = true;
      continue;
    }
    const char ch = data[i++];
    if (c.chunk_crlf) {
      if (ch == '\n') c.chunk_crlf = false;
      continue;
    }
    if (ch != '\n') {
      c.chunk_line += ch;
      if (c.chunk_line.size() > 1024) c.failed = true;
      if (c.failed) return;
      continue;
    }
    const std::size_t chunk = std::strtoull(c.chunk_line.c_str(), nullptr, 16);
    c.chunk_line.clear();
    if (chunk == 0) return;  // the last chunk: the stream has ended
    c.chunk_left = chunk;
  }
}

bool SseClients::wait_until_each_has(std::size_t k, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  bool hopeless = false;
  const bool ok = cv_.wait_for(lock, timeout, [&] {
    bool all = true;
    for (const auto& c : clients_) {
      if (c.events >= k) continue;
      all = false;
      if (!c.open || c.failed) hopeless = true;
    }
    return all || hopeless;
  });
  return ok && !hopeless;
}

std::size_t SseClients::min_events() const {
  std::lock_guard lock(mu_);
  std::size_t m = clients_.empty() ? 0 : SIZE_MAX;
  for (const auto& c : clients_) m = std::min(m, c.events);
  return m;
}

std::size_t SseClients::open_count() const {
  std::lock_guard lock(mu_);
  return static_cast<std::size_t>(
      std::count_if(clients_.begin(), clients_.end(), [](const Client& c) { return c.open; }));
}

std::size_t SseClients::failed_count() const {
  std::lock_guard lock(mu_);
  return static_cast<std::size_t>(
      std::count_if(clients_.begin(), clients_.end(), [](const Client& c) { return c.failed; }));
}

}  // namespace opsready::testing
