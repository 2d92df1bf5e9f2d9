// delivery_load: issue 12's delivery benchmarks, against `opsready serve` and Prometheus
// Alertmanager with byte-identical requests, both sending to this program's own webhook
// receiver (see bench/run_delivery_load.sh, which starts each server fresh for each phase).
//
//   delivery_load config --hook-port H > alertmanager.yml   # the policy both servers run
//   delivery_load latency --target opsready=127.0.0.1:9477 --hook-port H --samples 2000
//       [--background 100000 --batch 64 --connections 2]
//   delivery_load burst   --target ... --hook-port H --alerts 20000 --batch 64 --connections 4
//   delivery_load bulk    --target ... --hook-port H --alerts 100000 --groups 100 --batch 64
//       --connections 4
//   delivery_load ingest  --target ... --hook-port H --alerts 100000 --batch 64 --connections 4
//   (every mode: [--timeout SECONDS], default 120)
//
// The receiver: one epoll thread on 127.0.0.1:H that reads each webhook request whole (partial
// reads, keep-alive and pipelined requests; a Content-Length or chunked body; `Expect:
// 100-continue` answered; neither server sends chunked or Expect today: Alertmanager's Go
// net/http client posts a bytes.Buffer, so it knows the length, and opsready's libcurl sets
// the length and clears Expect), stamps it (steady clock) the moment its last byte is read,
// answers `200 OK` with an empty body (what the socket does not take is sent on EPOLLOUT), and
// scans the body for `"bench_id":"..."` label values (every benchmark alert has a unique
// bench_id; both servers write labels as compact JSON). It records, per bench_id, when it was
// first seen, and counts requests, requests that carried at least one id, requests whose ids
// had all been seen before (duplicates: a group of burst or latency notifies once, so any is a
// resend), and requests it could not parse (answered 400, connection closed).
//
// The modes (each prints human lines and one `RESULT mode=... key=value ...` line):
//  latency  one new alert at a time, each in a new group (bench_group = its bench_id; the
//           policy's group_wait is 0s): the time from just before its POST to the webhook
//           request that carries it; --samples of them (p50, p99, max). With --background N,
//           first N distinct alerts are posted by --connections closed-loop posters in batches
//           of --batch into 10 groups (group_interval 10m: each notifies once), and the
//           samples are taken while they are being posted (at most --samples; the phase ends
//           with the background).
//  burst    --alerts distinct alerts, each its own group, posted in batches as fast as the
//           server takes them; the rate at which notifications arrive (first to last webhook
//           request; and from the first POST), their count, duplicates.
//  bulk     --alerts distinct alerts in --groups groups (group_interval 1s), posted in
//           batches; the POST rate, and the time from the first POST until every alert was
//           seen in some notification.
//  ingest   --alerts distinct alerts of bench/alerting_workload.h (issue 11's labels, 706 bytes
//           of JSON each) to a receiver without integrations, grouped by [alertname, cluster,
//           service]: the POST /api/v2/alerts rate with batches of --batch (what issue 11's
//           `alerting_load fill` measured, now with opsready's durable acknowledgement).
//
// Each poster connection is a thread with one keep-alive socket that sends the next request
// when the previous response is read (closed loop); a 429 is sent again 5 ms later, a failed
// connection retried up to 5 times. Nothing waits forever: a socket that takes or answers
// nothing for 30 s fails the request, and --timeout bounds every mode (posting and waiting
// together): requests not answered by then are given up (`unsent` alerts), latency stops
// taking samples (`cut=1`), burst and bulk stop waiting (also once no new alert arrived for
// 15 s: `stalled=1`), and the human line says NOT DONE. The exit status is 1 when anything
// was not done, failed or was delivered twice. Loopback only. Not a Google Benchmark program (it
// measures servers in other processes), so its name keeps it out of bench/CMakeLists.txt's
// *_bench.cc glob. (The client socket code is bench/alerting_load.cc's, the receiver's is
// bench/http_floor.cc's, both private to them.)

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "alerting_workload.h"
#include "load_net.h"
#include "opsready/core/time.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace workload = opsready::bench::workload;
using opsready::bench::net::append_label_set;
using opsready::bench::net::connect_to;
using opsready::bench::net::parse_target;
using opsready::bench::net::quantile;
using opsready::bench::net::send_all;
using opsready::bench::net::Target;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

struct Options {
  std::string mode;
  Target target;
  int hook_port = 0;
  int connections = 4;
  int batch = 64;
  int alerts = 0;
  int groups = 100;
  int samples = 2000;
  int background = 0;
  double timeout_s = 120;  // of the whole mode: posting and waiting for notifications
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "delivery_load: " << why
            << "\nusage: delivery_load config --hook-port PORT\n"
               "       delivery_load latency|burst|bulk|ingest --target NAME=127.0.0.1:PORT"
               " --hook-port PORT [--alerts N] [--groups N] [--samples N] [--background N]"
               " [--batch N] [--connections N] [--timeout SECONDS]\n";
  std::exit(2);
}

Options parse_args(int argc, char** argv) {
  if (argc < 2) usage("missing mode");
  Options o;
  o.mode = argv[1];
  if (o.mode != "config" && o.mode != "latency" && o.mode != "burst" && o.mode != "bulk" &&
      o.mode != "ingest") {
    usage("unknown mode '" + o.mode + "'");
  }
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) usage(a + " needs a value");
    const std::string v = argv[++i];
    if (a == "--target") {
      auto t = parse_target(v);
      if (auto* why = std::get_if<std::string>(&t)) usage(*why);
      o.target = std::get<Target>(t);
    } else if (a == "--hook-port") {
      o.hook_port = std::atoi(v.c_str());
    } else if (a == "--connections") {
      o.connections = std::atoi(v.c_str());
    } else if (a == "--batch") {
      o.batch = std::atoi(v.c_str());
    } else if (a == "--alerts") {
      o.alerts = std::atoi(v.c_str());
    } else if (a == "--groups") {
      o.groups = std::atoi(v.c_str());
    } else if (a == "--samples") {
      o.samples = std::atoi(v.c_str());
    } else if (a == "--background") {
      o.background = std::atoi(v.c_str());
    } else if (a == "--timeout") {
      o.timeout_s = std::atof(v.c_str());
    } else {
      usage("unknown option " + a);
    }
  }
  if (o.hook_port <= 0) usage("--hook-port is required");
  if (o.mode != "config" && o.target.port <= 0) usage("--target is required");
  if (o.connections < 1 || o.batch < 1 || o.groups < 1 || o.samples < 0 || o.background < 0) {
    usage("counts must be positive");
  }
  if (o.alerts == 0) o.alerts = o.mode == "burst" ? 20000 : 100000;
  if (o.alerts < 1 || !(o.timeout_s > 0)) usage("--alerts and --timeout must be positive");
  return o;
}

// The policy both servers run. Alerts without a bench_id (opsready's own derived alerts, the
// ingest mode's workload alerts) go to a receiver without integrations; every other alert to
// the webhook receiver `hook`, one group per bench_group value, group_wait 0s.
std::string policy_yaml(int hook_port) {
  return R"(# bench/delivery_load.cc: issue 12's delivery benchmark policy
route:
  receiver: hook
  group_by: [bench_group]
  group_wait: 0s
  group_interval: 10m
  repeat_interval: 4h
  routes:
    - receiver: none
      matchers: ['bench_id=""']
      group_by: [alertname, cluster, service]
    - receiver: hook
      matchers: ['bench_phase="bulk"']
      group_interval: 1s
receivers:
  - name: none
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:)" +
         std::to_string(hook_port) + R"(/hook
        send_resolved: false
)";
}

// ---- HTTP/1.1 messages ------------------------------------------------------------------

// The first whole HTTP/1.1 message (a request or a response) at the start of a buffer: its
// size in the buffer, its body decoded (Content-Length or chunked transfer coding; neither
// server sends chunked today, Go's net/http client and libcurl both know the length, but a
// chunked body must not be misread as the next request), and the headers that matter here.
struct Message {
  std::size_t size = 0;
  std::string body;
  bool expect_continue = false;  // Expect: 100-continue (the body follows our 100)
  bool close = false;            // Connection: close
};
enum class Parse { kIncomplete, kComplete, kBad };

Parse parse_message(std::string_view buf, Message& m) {
  const auto end = buf.find("\r\n\r\n");
  m = {};
  if (end == std::string_view::npos) return Parse::kIncomplete;
  std::size_t length = 0;
  bool chunked = false;
  const std::string_view head = buf.substr(0, end);
  const auto has = [](std::string_view line, std::string_view name) {
    return line.size() >= name.size() && strncasecmp(line.data(), name.data(), name.size()) == 0;
  };
  const auto contains = [](std::string_view value, std::string_view word) {
    return std::search(value.begin(), value.end(), word.begin(), word.end(), [](char a, char b) {
             return std::tolower(a) == std::tolower(b);
           }) != value.end();
  };
  // The start line is skipped: the loop starts after it.
  for (std::size_t pos = std::min(head.size(), head.find("\r\n") + 2); pos < head.size();) {
    const auto eol = head.find("\r\n", pos);
    const std::string_view line =
        head.substr(pos, eol == std::string_view::npos ? head.npos : eol - pos);
    pos = eol == std::string_view::npos ? head.size() : eol + 2;
    const std::string_view value = line.substr(std::min(line.size(), line.find(':') + 1));
    if (has(line, "content-length:")) {
      const auto digits = value.find_first_not_of(" \t");
      if (digits == std::string_view::npos ||
          std::from_chars(value.data() + digits, value.data() + value.size(), length).ec !=
              std::errc{}) {
        return Parse::kBad;
      }
    } else if (has(line, "transfer-encoding:")) {
      chunked = contains(value, "chunked");
    } else if (has(line, "expect:")) {
      m.expect_continue = contains(value, "100-continue");
    } else if (has(line, "connection:")) {
      m.close = contains(value, "close");
    }
  }
  std::size_t pos = end + 4;
  if (!chunked) {
    if (buf.size() - pos < length) return Parse::kIncomplete;
    m.body.assign(buf.substr(pos, length));
    m.size = pos + length;
    return Parse::kComplete;
  }
  for (;;) {  // chunk-size [; ext] CRLF data CRLF ... 0 CRLF [trailers] CRLF
    const auto eol = buf.find("\r\n", pos);
    if (eol == std::string_view::npos) return Parse::kIncomplete;
    std::size_t n = 0;
    if (std::from_chars(buf.data() + pos, buf.data() + eol, n, 16).ec != std::errc{}) {
      return Parse::kBad;
    }
    pos = eol + 2;
    if (n == 0) break;
    if (buf.size() - pos < n + 2) return Parse::kIncomplete;
    m.body.append(buf.substr(pos, n));
    pos += n;
    if (buf.substr(pos, 2) != "\r\n") return Parse::kBad;
    pos += 2;
  }
  for (;;) {  // the trailer section, up to its empty line
    const auto eol = buf.find("\r\n", pos);
    if (eol == std::string_view::npos) return Parse::kIncomplete;
    const bool last = eol == pos;
    pos = eol + 2;
    if (last) break;
  }
  m.size = pos;
  return Parse::kComplete;
}

// ---- the webhook receiver ---------------------------------------------------------------

class Receiver {
 public:
  explicit Receiver(int port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener_, 4096) != 0) {
      std::perror("delivery_load: receiver bind/listen");
      std::exit(1);
    }
    thread_ = std::thread([this] { loop(); });
  }
  ~Receiver() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
  }

  // Waits until `id` was seen (or the deadline); when it was first seen.
  std::optional<Clock::time_point> wait_for(const std::string& id, Clock::time_point deadline) {
    std::unique_lock lock(mu_);
    std::optional<Clock::time_point> at;
    cv_.wait_until(lock, deadline, [&] {
      const auto it = seen_.find(id);
      if (it == seen_.end()) return false;
      at = it->second;
      return true;
    });
    return at;
  }

  // Waits until `n` distinct ids were seen, or the deadline, or no new id arrived for `idle`
  // (since the call or the last new id; then `stalled` is set).
  std::size_t wait_count(std::size_t n, std::chrono::milliseconds idle, Clock::time_point deadline,
                         bool& stalled) {
    std::unique_lock lock(mu_);
    const auto since = Clock::now();
    stalled = false;
    for (;;) {
      if (seen_.size() >= n) return seen_.size();
      const auto now = Clock::now();
      if (now >= deadline) return seen_.size();
      const auto quiet_until = std::max(since, stats_.last) + idle;
      if (now >= quiet_until) {
        stalled = true;
        return seen_.size();
      }
      cv_.wait_until(lock, std::min(deadline, quiet_until), [&] { return seen_.size() >= n; });
    }
  }

  struct Stats {
    std::uint64_t requests = 0;     // webhook requests read
    std::uint64_t with_ids = 0;     // ... that carried at least one bench_id
    std::uint64_t duplicates = 0;   // ... whose ids had all been seen already
    std::uint64_t malformed = 0;    // requests that were not HTTP/1.1 we could read (400)
    std::uint64_t bytes = 0;        // of their bodies
    std::size_t ids = 0;            // distinct bench_ids seen
    std::size_t connections = 0;    // accepted
    Clock::time_point first, last;  // the first and last request with a new id
    std::vector<Clock::time_point> new_id_times;  // when each new id was first seen
  };
  Stats stats() {
    std::lock_guard lock(mu_);
    Stats s = stats_;
    s.ids = seen_.size();
    return s;
  }
  void reset() {
    std::lock_guard lock(mu_);
    seen_.clear();
    stats_ = {};
  }

 private:
  static constexpr std::string_view kReply = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  static constexpr std::string_view kBadRequest =
      "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

  struct Conn {
    std::string in;            // bytes read that are not a whole request yet
    std::string out;           // replies the socket did not take yet
    bool continued = false;    // a 100 Continue was sent for the request being read
    bool close_after = false;  // close once `out` is sent
    bool want_out = false;     // registered for EPOLLOUT
  };

  // Every bench_id label value in a webhook body (alerts[].labels, and commonLabels for a
  // group of one: the set removes the repeat).
  static void scan(std::string_view body, std::unordered_set<std::string_view>& ids) {
    constexpr std::string_view kKey = "\"bench_id\":";
    for (std::size_t p = body.find(kKey); p != std::string_view::npos; p = body.find(kKey, p)) {
      p += kKey.size();
      while (p < body.size() && body[p] == ' ') ++p;
      if (p >= body.size() || body[p] != '"') continue;
      const auto end = body.find('"', p + 1);
      if (end == std::string_view::npos) break;
      ids.insert(body.substr(p + 1, end - p - 1));
      p = end;
    }
  }

  void record(std::string_view body, Clock::time_point at) {
    std::unordered_set<std::string_view> ids;
    scan(body, ids);
    {
      std::lock_guard lock(mu_);
      ++stats_.requests;
      stats_.bytes += body.size();
      if (ids.empty()) return;
      ++stats_.with_ids;
      bool any_new = false;
      for (const std::string_view id : ids) {
        if (seen_.try_emplace(std::string(id), at).second) {
          any_new = true;
          stats_.new_id_times.push_back(at);
        }
      }
      if (!any_new) {
        ++stats_.duplicates;
        return;
      }
      if (stats_.first == Clock::time_point{}) stats_.first = at;
      stats_.last = at;
    }
    cv_.notify_all();
  }

  // Sends what it can of conn.out; false when the connection is to be closed.
  static bool flush(int ep, int fd, Conn& conn) {
    while (!conn.out.empty()) {
      const ssize_t n = ::send(fd, conn.out.data(), conn.out.size(), MSG_NOSIGNAL);
      if (n > 0) {
        conn.out.erase(0, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      return false;
    }
    const bool want_out = !conn.out.empty();
    if (want_out != conn.want_out) {
      epoll_event ev{};
      ev.events = EPOLLIN | (want_out ? EPOLLOUT : 0u);
      ev.data.fd = fd;
      ::epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
      conn.want_out = want_out;
    }
    return want_out || !conn.close_after;
  }

  void loop() {
    const int ep = ::epoll_create1(0);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = listener_;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, listener_, &ev);
    std::unordered_map<int, Conn> conns;
    epoll_event events[64];
    std::vector<char> chunk(1 << 20);
    const int one = 1;
    Message m;
    while (!stop_) {
      const int n = ::epoll_wait(ep, events, 64, 100);
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        if (fd == listener_) {
          for (;;) {
            const int c = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK);
            if (c < 0) break;
            ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            epoll_event cev{};
            cev.events = EPOLLIN;
            cev.data.fd = c;
            ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
            conns[c] = {};
            std::lock_guard lock(mu_);
            ++stats_.connections;
          }
          continue;
        }
        Conn& conn = conns[fd];
        bool closed = false;
        if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
          for (;;) {
            const ssize_t r = ::read(fd, chunk.data(), chunk.size());
            if (r > 0) {
              conn.in.append(chunk.data(), static_cast<std::size_t>(r));
              continue;
            }
            if (r < 0 && errno == EINTR) continue;
            closed = r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
            break;
          }
          const auto at = Clock::now();  // the last byte read so far
          std::size_t consumed = 0;
          while (!conn.close_after) {
            const Parse p = parse_message(std::string_view(conn.in).substr(consumed), m);
            if (p == Parse::kBad) {
              conn.out += kBadRequest;
              conn.close_after = true;
              std::lock_guard lock(mu_);
              ++stats_.malformed;
              break;
            }
            if (p == Parse::kIncomplete) {
              // The header is in and asks for a 100 Continue before its body.
              if (m.expect_continue && !conn.continued) {
                conn.out += kContinue;
                conn.continued = true;
              }
              break;
            }
            record(m.body, at);
            consumed += m.size;
            conn.continued = false;
            conn.out += kReply;
            conn.close_after = m.close;
          }
          if (consumed > 0) conn.in.erase(0, consumed);
          m.expect_continue = false;
        }
        if (!flush(ep, fd, conn)) closed = true;
        if (closed) {
          ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
          ::close(fd);
          conns.erase(fd);
        }
      }
    }
    for (auto& [fd, c] : conns) ::close(fd);
    ::close(ep);
  }

  int listener_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<std::string, Clock::time_point> seen_;
  Stats stats_;
};

// ---- the client -------------------------------------------------------------------------

struct Times {
  std::string starts, ends;
};

Times times() {
  const auto now =
      std::chrono::time_point_cast<opsready::core::Duration>(std::chrono::system_clock::now());
  return {opsready::core::format_rfc3339(now - std::chrono::minutes(5)),
          opsready::core::format_rfc3339(now + std::chrono::hours(1))};
}

// One benchmark alert: small labels (about 260 bytes of JSON), bench_id unique.
void append_alert(std::string& body, const Times& t, const std::string& phase,
                  const std::string& group, const std::string& id) {
  opsready::core::LabelSet labels = {{"alertname", "DeliveryBench"}, {"bench_phase", phase},
                                     {"bench_group", group},         {"bench_id", id},
                                     {"instance", "10.0.0.1:9100"},  {"job", "delivery-bench"},
                                     {"severity", "warning"}};
  body += R"({"labels":)";
  append_label_set(body, labels);
  body += R"(,"annotations":{"summary":"delivery benchmark alert )" + id + R"("})";
  body += R"(,"startsAt":")" + t.starts + R"(","endsAt":")" + t.ends +
          R"(","generatorURL":"http://prometheus:9090/graph"})";
}

std::string request(const Target& t, const std::string& body) {
  return "POST /api/v2/alerts HTTP/1.1\r\nHost: " + t.host + ":" + std::to_string(t.port) +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

// How long one request may wait on a socket that neither takes nor answers it (the server is
// stuck): then it fails, is retried on a new connection, and the phase's deadline ends it.
constexpr std::chrono::seconds kIoTimeout{30};

// One response (Content-Length or chunked; 1xx interim responses skipped); its status, or -1
// when the connection failed, timed out or sent something else.
int read_response(int fd, std::string& buf, bool& close) {
  Message m;
  for (;;) {
    const Parse p = parse_message(buf, m);
    if (p == Parse::kBad) return -1;
    if (p == Parse::kComplete) {
      if (buf.size() < 12 || buf.compare(0, 5, "HTTP/") != 0) return -1;
      const int status = std::atoi(buf.c_str() + 9);
      buf.erase(0, m.size);
      if (status >= 100 && status < 200) continue;
      close = m.close;
      return status;
    }
    char chunk[16384];
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    buf.append(chunk, static_cast<std::size_t>(n));
  }
}

constexpr int kDeadlinePassed = -2;

// One keep-alive connection that posts and retries 429s and failed connections, until its
// deadline.
class Poster {
 public:
  Poster(const Target& t, Clock::time_point deadline) : t_(t), deadline_(deadline) {}
  ~Poster() {
    if (fd_ >= 0) ::close(fd_);
  }
  // Posts `req` until it gets an answer other than 429 (or fails 5 times in a row); its
  // status, -1, or kDeadlinePassed when the deadline passed before it got an answer.
  int post(const std::string& req) {
    for (int failures = 0;;) {
      if (Clock::now() >= deadline_) return kDeadlinePassed;
      if (fd_ < 0) fd_ = connect_to(t_, kIoTimeout);
      int status = -1;
      bool close = false;
      if (fd_ >= 0 && send_all(fd_, req)) status = read_response(fd_, buf_, close);
      if (close || status < 0) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
        buf_.clear();
      }
      if (status == 429) {
        ++throttled;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      if (status < 0 && ++failures < 5) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      return status;
    }
  }
  std::uint64_t throttled = 0;

 private:
  Target t_;
  Clock::time_point deadline_;
  int fd_ = -1;
  std::string buf_;
};

struct PostResult {
  Clock::time_point start, end;
  std::uint64_t requests = 0, ok = 0, failed = 0, throttled = 0, alerts = 0;
  std::uint64_t unsent = 0;        // alerts of requests the deadline stopped
  std::vector<double> latency_ms;  // of 2xx requests (a 429's retries included), sorted
};

// Request k of `requests` goes once, on connection k % connections; `done` is set at the end.
// Requests not answered by `deadline` are given up (their alerts counted in `unsent`).
PostResult post_all(const Target& t, const std::vector<std::string>& requests,
                    const std::vector<int>& alerts_in, int connections, Clock::time_point deadline,
                    std::atomic<bool>* done = nullptr) {
  PostResult all;
  std::vector<PostResult> per(static_cast<std::size_t>(connections));
  std::vector<std::thread> threads;
  all.start = Clock::now();
  const auto step = static_cast<std::size_t>(connections);
  for (std::size_t c = 0; c < step; ++c) {
    threads.emplace_back([&, c] {
      PostResult& r = per[c];
      Poster p(t, deadline);
      for (std::size_t k = c; k < requests.size(); k += step) {
        const auto sent = Clock::now();
        const int status = p.post(requests[k]);
        if (status == kDeadlinePassed) {
          r.unsent += static_cast<std::uint64_t>(alerts_in[k]);
          continue;
        }
        ++r.requests;
        if (status >= 200 && status < 300) {
          ++r.ok;
          r.alerts += static_cast<std::uint64_t>(alerts_in[k]);
          r.latency_ms.push_back(ms_between(sent, Clock::now()));
        } else {
          ++r.failed;
          if (r.failed <= 3) {
            std::fprintf(stderr, "delivery_load: %s: POST /api/v2/alerts answered %d\n",
                         t.name.c_str(), status);
          }
        }
      }
      r.throttled = p.throttled;
    });
  }
  for (auto& th : threads) th.join();
  all.end = Clock::now();
  if (done) *done = true;
  for (auto& r : per) {
    all.requests += r.requests;
    all.ok += r.ok;
    all.failed += r.failed;
    all.throttled += r.throttled;
    all.alerts += r.alerts;
    all.unsent += r.unsent;
    all.latency_ms.insert(all.latency_ms.end(), r.latency_ms.begin(), r.latency_ms.end());
  }
  std::sort(all.latency_ms.begin(), all.latency_ms.end());
  return all;
}

// A unique prefix per run, so that ids never repeat across runs against one server.
std::string run_tag() {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count() %
                        100000000);
}

// Batches of alerts n in [0, count): phase, group_of(n), id prefix + n.
template <class GroupOf>
std::vector<std::string> batches(const Target& t, int count, int batch, const std::string& phase,
                                 const std::string& prefix, GroupOf group_of,
                                 std::vector<int>& alerts_in) {
  const Times tm = times();
  std::vector<std::string> out;
  for (int b = 0; b * batch < count; ++b) {
    std::string body = "[";
    const int end = std::min(count, (b + 1) * batch);
    for (int n = b * batch; n < end; ++n) {
      if (n != b * batch) body += ',';
      append_alert(body, tm, phase, group_of(n), prefix + std::to_string(n));
    }
    body += "]";
    out.push_back(request(t, body));
    alerts_in.push_back(end - b * batch);
  }
  return out;
}

void print_post(const char* what, const PostResult& r) {
  const double s = std::chrono::duration<double>(r.end - r.start).count();
  std::printf(
      "%s: %llu requests, %llu 2xx, %llu failed, %llu 429 (retried), %llu alerts in %.2f s: "
      "%.0f alerts/s; request p50 %.2f ms, p99 %.2f ms, max %.2f ms%s\n",
      what, static_cast<unsigned long long>(r.requests), static_cast<unsigned long long>(r.ok),
      static_cast<unsigned long long>(r.failed), static_cast<unsigned long long>(r.throttled),
      static_cast<unsigned long long>(r.alerts), s, static_cast<double>(r.alerts) / s,
      quantile(r.latency_ms, 0.5), quantile(r.latency_ms, 0.99),
      r.latency_ms.empty() ? 0 : r.latency_ms.back(),
      r.unsent == 0
          ? ""
          : ("; NOT SENT (deadline passed): " + std::to_string(r.unsent) + " alerts").c_str());
}

// ---- the modes --------------------------------------------------------------------------

Clock::time_point deadline_after(double seconds) {
  return Clock::now() +
         std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

int latency(const Options& o, Receiver& hook) {
  const std::string tag = run_tag();
  const bool loaded = o.background > 0;
  std::vector<int> bg_in;
  std::vector<std::string> bg;
  if (loaded) {
    bg = batches(
        o.target, o.background, o.batch, "bg", "bg-" + tag + "-",
        [&](int n) { return "bg-" + tag + "-" + std::to_string(n % 10); }, bg_in);
  }
  const auto deadline = deadline_after(o.timeout_s);
  std::atomic<bool> bg_done{false};
  PostResult bg_result;
  std::thread bg_thread;
  if (loaded) {
    bg_thread = std::thread(
        [&] { bg_result = post_all(o.target, bg, bg_in, o.connections, deadline, &bg_done); });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the posters are under way
  }
  Poster p(o.target, deadline);
  const Times tm = times();
  std::vector<double> lat, ack;
  int lost = 0, failed = 0;
  bool cut = false;  // the deadline ended the samples
  for (int i = 0; i < o.samples; ++i) {
    if (loaded && bg_done) break;
    const std::string id = "lat-" + tag + "-" + std::to_string(i);
    std::string body = "[";
    append_alert(body, tm, loaded ? "latency-load" : "latency", id, id);
    body += "]";
    const std::string req = request(o.target, body);
    const auto t0 = Clock::now();
    const int status = p.post(req);
    const auto t1 = Clock::now();
    if (status == kDeadlinePassed) {
      cut = true;
      break;
    }
    if (status < 200 || status >= 300) {
      ++failed;
      continue;
    }
    ack.push_back(ms_between(t0, t1));
    const auto limit = t0 + std::chrono::seconds(10);
    const auto at = hook.wait_for(id, std::min(limit, deadline));
    if (!at) {
      if (limit > deadline) {
        cut = true;
        break;
      }
      ++lost;
      continue;
    }
    lat.push_back(ms_between(t0, *at));
  }
  if (loaded) bg_thread.join();
  std::sort(lat.begin(), lat.end());
  std::sort(ack.begin(), ack.end());
  std::printf(
      "%s latency%s: %zu samples (%d failed POSTs, %d not delivered within 10 s%s): POST to "
      "webhook p50 %.2f ms, p99 %.2f ms, max %.2f ms; POST answered p50 %.2f ms, p99 %.2f ms\n",
      o.target.name.c_str(), loaded ? " under load" : " idle", lat.size(), failed, lost,
      cut ? "; CUT SHORT by --timeout" : "", quantile(lat, 0.5), quantile(lat, 0.99),
      lat.empty() ? 0 : lat.back(), quantile(ack, 0.5), quantile(ack, 0.99));
  double bg_rate = 0, bg_s = 0;
  if (loaded) {
    print_post((o.target.name + " background").c_str(), bg_result);
    bg_s = seconds_between(bg_result.start, bg_result.end);
    bg_rate = static_cast<double>(bg_result.alerts) / bg_s;
  }
  std::printf(
      "RESULT mode=latency target=%s loaded=%d samples=%zu lost=%d failed=%d cut=%d p50_ms=%.3f "
      "p99_ms=%.3f max_ms=%.3f ack_p50_ms=%.3f ack_p99_ms=%.3f bg_alerts=%llu bg_unsent=%llu "
      "bg_failed=%llu bg_s=%.3f bg_rate=%.0f\n",
      o.target.name.c_str(), loaded ? 1 : 0, lat.size(), lost, failed, cut ? 1 : 0,
      quantile(lat, 0.5), quantile(lat, 0.99), lat.empty() ? 0 : lat.back(), quantile(ack, 0.5),
      quantile(ack, 0.99), static_cast<unsigned long long>(bg_result.alerts),
      static_cast<unsigned long long>(bg_result.unsent),
      static_cast<unsigned long long>(bg_result.failed), bg_s, bg_rate);
  const bool bg_ok = !loaded || (bg_result.failed == 0 && bg_result.unsent == 0);
  return lost + failed == 0 && !cut && bg_ok ? 0 : 1;
}

// burst (groups == alerts: one group per alert) and bulk (groups groups).
int delivered(const Options& o, Receiver& hook, bool burst) {
  const std::string tag = run_tag();
  const int groups = burst ? o.alerts : std::min(o.groups, o.alerts);
  const std::string phase = burst ? "burst" : "bulk";
  const std::string prefix = phase + "-" + tag + "-";
  std::vector<int> in;
  const auto reqs = batches(
      o.target, o.alerts, o.batch, phase, prefix,
      [&](int n) {
        return burst ? prefix + std::to_string(n) : prefix + "g" + std::to_string(n % groups);
      },
      in);
  hook.reset();
  const auto deadline = deadline_after(o.timeout_s);
  const PostResult r = post_all(o.target, reqs, in, o.connections, deadline);
  bool stalled = false;
  const std::size_t seen = hook.wait_count(static_cast<std::size_t>(o.alerts),
                                           std::chrono::seconds(15), deadline, stalled);
  const auto waited = Clock::now();
  const Receiver::Stats s = hook.stats();
  print_post((o.target.name + " " + phase + " POSTs").c_str(), r);
  const double post_s = seconds_between(r.start, r.end);
  const double first_to_last = seen > 0 ? seconds_between(s.first, s.last) : 0;
  const double from_post = seen > 0 ? seconds_between(r.start, s.last) : 0;
  const double first_after = seen > 0 ? ms_between(r.start, s.first) : 0;
  // The notifications with new ids (burst: one per alert), first to last.
  const std::uint64_t notes = s.with_ids - s.duplicates;
  const double rate = first_to_last > 0 ? static_cast<double>(notes - 1) / first_to_last : 0;
  // The steadiest second: the most new ids within any 1 s window.
  std::size_t best = 0;
  {
    auto t = s.new_id_times;
    std::sort(t.begin(), t.end());
    for (std::size_t a = 0, b = 0; b < t.size(); ++b) {
      while (t[b] - t[a] > std::chrono::seconds(1)) ++a;
      best = std::max(best, b - a + 1);
    }
  }
  const bool done = seen >= static_cast<std::size_t>(o.alerts);
  std::printf(
      "%s %s delivery: %zu of %d alerts seen in %llu webhook requests over %zu connections "
      "(%llu carried new alerts, %llu only seen ones, %llu malformed, %.1f MB of bodies); first "
      "%.1f ms after the first POST, last %.2f s after it (posting took %.2f s); first to last "
      "%.2f s: %.0f notifications/s, %.0f alerts/s; best 1 s window %zu alerts\n",
      o.target.name.c_str(), phase.c_str(), seen, o.alerts,
      static_cast<unsigned long long>(s.requests), s.connections,
      static_cast<unsigned long long>(notes), static_cast<unsigned long long>(s.duplicates),
      static_cast<unsigned long long>(s.malformed), static_cast<double>(s.bytes) / 1e6, first_after,
      from_post, post_s, first_to_last, rate,
      first_to_last > 0 ? static_cast<double>(seen) / first_to_last : 0, best);
  if (!done) {
    std::printf("%s %s: NOT DONE: %zu of %d alerts seen after %.1f s (%s)\n", o.target.name.c_str(),
                phase.c_str(), seen, o.alerts, seconds_between(r.start, waited),
                stalled ? "nothing new arrived for 15 s" : "--timeout passed");
  }
  std::printf(
      "RESULT mode=%s target=%s alerts=%d groups=%d seen=%zu done=%d stalled=%d requests=%llu "
      "notifications=%llu duplicates=%llu malformed=%llu hook_connections=%zu post_s=%.3f "
      "post_rate=%.0f post_p50_ms=%.3f post_p99_ms=%.3f first_ms=%.1f all_s=%.3f "
      "first_to_last_s=%.3f notif_rate=%.0f from_post_rate=%.0f best_window=%zu throttled=%llu "
      "failed=%llu unsent=%llu waited_s=%.3f\n",
      phase.c_str(), o.target.name.c_str(), o.alerts, groups, seen, done ? 1 : 0, stalled ? 1 : 0,
      static_cast<unsigned long long>(s.requests), static_cast<unsigned long long>(notes),
      static_cast<unsigned long long>(s.duplicates), static_cast<unsigned long long>(s.malformed),
      s.connections, post_s, static_cast<double>(r.alerts) / post_s, quantile(r.latency_ms, 0.5),
      quantile(r.latency_ms, 0.99), first_after, from_post, first_to_last, rate,
      from_post > 0 ? static_cast<double>(notes) / from_post : 0, best,
      static_cast<unsigned long long>(r.throttled), static_cast<unsigned long long>(r.failed),
      static_cast<unsigned long long>(r.unsent), seconds_between(r.start, waited));
  return done && r.failed == 0 && s.duplicates == 0 ? 0 : 1;
}

int ingest(const Options& o) {
  const Times tm = times();
  std::vector<std::string> reqs;
  std::vector<int> in;
  std::size_t bytes = 0;
  for (int b = 0; b * o.batch < o.alerts; ++b) {
    std::string body = "[";
    const int end = std::min(o.alerts, (b + 1) * o.batch);
    for (int n = b * o.batch; n < end; ++n) {
      if (n != b * o.batch) body += ',';
      const auto labels = workload::alert_labels(n);
      body += R"({"labels":)";
      append_label_set(body, labels);
      body += R"(,"annotations":)";
      append_label_set(body, workload::alert_annotations(labels));
      body += R"(,"startsAt":")" + tm.starts + R"(","endsAt":")" + tm.ends +
              R"(","generatorURL":"http://prometheus-k8s-0:9090/graph?g0.expr=)" +
              labels.at("alertname") + R"(&g0.tab=1"})";
    }
    body += "]";
    bytes += body.size();
    reqs.push_back(request(o.target, body));
    in.push_back(end - b * o.batch);
  }
  const PostResult r = post_all(o.target, reqs, in, o.connections, deadline_after(o.timeout_s));
  print_post(
      (o.target.name + " ingest (" + std::to_string(bytes / static_cast<std::size_t>(o.alerts)) +
       " B/alert, " + std::to_string(o.connections) + " connections)")
          .c_str(),
      r);
  const double s = seconds_between(r.start, r.end);
  std::printf(
      "RESULT mode=ingest target=%s alerts=%llu connections=%d rate=%.0f p50_ms=%.3f "
      "p99_ms=%.3f throttled=%llu failed=%llu unsent=%llu post_s=%.3f\n",
      o.target.name.c_str(), static_cast<unsigned long long>(r.alerts), o.connections,
      static_cast<double>(r.alerts) / s, quantile(r.latency_ms, 0.5), quantile(r.latency_ms, 0.99),
      static_cast<unsigned long long>(r.throttled), static_cast<unsigned long long>(r.failed),
      static_cast<unsigned long long>(r.unsent), s);
  return r.failed == 0 && r.unsent == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_args(argc, argv);
  if (o.mode == "config") {
    std::fputs(policy_yaml(o.hook_port).c_str(), stdout);
    return 0;
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  // Alertmanager opens a connection per concurrent notification (a goroutine per group).
  if (rlimit nofile{};
      ::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &nofile);
  }
  if (o.mode == "ingest") return ingest(o);
  Receiver hook(o.hook_port);
  if (o.mode == "latency") return latency(o, hook);
  return delivered(o, hook, o.mode == "burst");
}
