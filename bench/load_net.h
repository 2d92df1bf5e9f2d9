#pragma once
// What the HTTP load generators (alerting_load, ingest_load, delivery_load) share: a loopback
// target, blocking client sockets, the JSON of a label set, a simple Content-Length response
// reader, and the quantile of sorted samples. Written by hand rather than with libcurl so
// that the client adds as little as possible to what is measured: one send and one recv per
// request on a kept-alive connection.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "opsready/core/alert.h"

namespace opsready::bench::net {

struct Target {
  std::string name;
  std::string host = "127.0.0.1";
  int port = 0;
};

// `NAME=127.0.0.1:PORT` (a --target option), or an error to print: loopback targets only.
inline std::variant<Target, std::string> parse_target(const std::string& v) {
  const auto eq = v.find('=');
  const auto colon = v.rfind(':');
  if (eq == std::string::npos || colon == std::string::npos || colon < eq) {
    return std::string("--target must be NAME=HOST:PORT");
  }
  Target t{v.substr(0, eq), v.substr(eq + 1, colon - eq - 1), std::atoi(v.c_str() + colon + 1)};
  if (t.host != "127.0.0.1") return std::string("loopback targets only (127.0.0.1)");
  if (t.port <= 0 || t.port > 65535) return std::string("--target needs a port 1 to 65535");
  return t;
}

// A connected TCP socket with TCP_NODELAY, or -1. A non-zero `io_timeout` bounds each send
// and recv (so a stuck server fails the request instead of hanging the generator).
inline int connect_to(const Target& t, std::chrono::seconds io_timeout = std::chrono::seconds{0}) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(t.port));
  ::inet_pton(AF_INET, t.host.c_str(), &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (io_timeout.count() > 0) {
    const timeval tv{static_cast<time_t>(io_timeout.count()), 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  return fd;
}

// False on an error or when a send timeout passed (EAGAIN).
inline bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Reads one response with a Content-Length body (opsready and Alertmanager answer so); its
// status or -1. `close` is set when the server announced it closes the connection after it.
inline int read_response(int fd, std::string& buf, bool& close) {
  std::size_t header_end;
  while ((header_end = buf.find("\r\n\r\n")) == std::string::npos) {
    char chunk[16384];
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return -1;
    buf.append(chunk, static_cast<std::size_t>(n));
  }
  if (buf.size() < 12 || buf.compare(0, 5, "HTTP/") != 0) return -1;
  const int status = std::atoi(buf.c_str() + 9);
  std::string headers = buf.substr(0, header_end);
  std::transform(headers.begin(), headers.end(), headers.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::size_t length = 0;
  if (const auto p = headers.find("\r\ncontent-length:"); p != std::string::npos) {
    length = std::strtoull(headers.c_str() + p + 17, nullptr, 10);
  } else if (headers.find("\r\ntransfer-encoding:") != std::string::npos) {
    return -1;
  }
  close = headers.find("\r\nconnection: close") != std::string::npos;
  const std::size_t total = header_end + 4 + length;
  while (buf.size() < total) {
    char chunk[16384];
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return -1;
    buf.append(chunk, static_cast<std::size_t>(n));
  }
  buf.erase(0, total);
  return status;
}

inline void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
}

inline void append_label_set(std::string& out, const core::LabelSet& set) {
  out += '{';
  bool first = true;
  for (const auto& [k, v] : set) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, k);
    out += ':';
    append_json_string(out, v);
  }
  out += '}';
}

// The q-quantile (0..1) of ascending samples, nearest rank; 0 when there are none.
inline double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const auto i = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

}  // namespace opsready::bench::net
