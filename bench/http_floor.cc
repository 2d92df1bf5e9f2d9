// http_floor: the cheapest HTTP/1.1 server this machine can run, to measure the ceiling a
// closed-loop load generator can reach on loopback whatever the server does (issue 4's
// single-alert comparison). It parses nothing but the header end and Content-Length, and
// answers every request with `200 OK` and an empty body, from one epoll thread.
//
//   http_floor [PORT]        # 0 or nothing: a free port; prints "listening on 127.0.0.1:PORT"
//
// Not a server for anything else: no validation, no limits beyond 1 MiB per request, loopback
// only. Not a Google Benchmark program; its name keeps it out of the *_bench.cc glob.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>

namespace {

constexpr std::string_view kReply = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

// Bytes of the first complete request in `buf`, or 0 when it is not complete yet.
std::size_t request_size(std::string_view buf) {
  const auto end = buf.find("\r\n\r\n");
  if (end == std::string_view::npos) return 0;
  std::size_t length = 0;
  const std::string_view head = buf.substr(0, end);
  for (std::size_t pos = 0; pos < head.size();) {
    const auto eol = head.find("\r\n", pos);
    const std::string_view line =
        head.substr(pos, eol == std::string_view::npos ? head.npos : eol - pos);
    pos = eol == std::string_view::npos ? head.size() : eol + 2;
    constexpr std::string_view kName = "content-length:";
    if (line.size() > kName.size() && strncasecmp(line.data(), kName.data(), kName.size()) == 0) {
      length = std::strtoul(std::string(line.substr(kName.size())).c_str(), nullptr, 10);
    }
  }
  const std::size_t total = end + 4 + length;
  return buf.size() >= total ? total : 0;
}

}  // namespace

int main(int argc, char** argv) {
  const int port = argc > 1 ? std::atoi(argv[1]) : 0;
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, 128) != 0) {
    std::perror("http_floor: bind/listen");
    return 1;
  }
  socklen_t len = sizeof addr;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  std::printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
  std::fflush(stdout);

  const int ep = ::epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listener;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);
  std::unordered_map<int, std::string> buffers;
  epoll_event events[64];
  char chunk[65536];
  for (;;) {
    const int n = ::epoll_wait(ep, events, 64, -1);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == listener) {
        for (;;) {
          const int c = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK);
          if (c < 0) break;
          ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = c;
          ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
          buffers[c].clear();
        }
        continue;
      }
      std::string& buf = buffers[fd];
      bool closed = false;
      for (;;) {
        const ssize_t r = ::read(fd, chunk, sizeof chunk);
        if (r > 0) {
          buf.append(chunk, static_cast<std::size_t>(r));
          continue;
        }
        closed = r == 0;
        break;
      }
      std::string out;
      for (std::size_t size; (size = request_size(buf)) > 0;) {
        buf.erase(0, size);
        out += kReply;
      }
      if (!out.empty() && ::write(fd, out.data(), out.size()) < 0) closed = true;
      if (closed || buf.size() > (1u << 20)) {
        ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
        ::close(fd);
        buffers.erase(fd);
      }
    }
  }
}
