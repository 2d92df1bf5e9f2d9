// http_mhd_probe: the smallest server on libmicrohttpd (GNU libmicrohttpd, Debian's 0.9.75)
// that has the routes the daemon's HTTP server needs to be measured on — a candidate probe for
// replacing cpp-httplib, not a product. It exists so that bench/ingest_load and bench/http_hold
// can measure the library's throughput, timeouts and streaming on this machine; see
// bench/http_candidates_mhd.md.
//
//   http_mhd_probe [--timeout SECONDS] [--threads N] [--connection-limit N]
//                  [--per-ip-limit N] [--external]
//   # prints "listening on 127.0.0.1:PORT" (a free port)
//
// Routes: GET /-/healthy → 200 "OK\n"; any POST → the body read whole, 200 {"accepted":1};
// GET /stream → text/event-stream, "data: tick N\n\n" to every stream once a second (the
// content reader suspends the connection when it has nothing to send, a ticker thread appends
// and resumes); GET /-/stats → what MHD told the application: connections started and closed
// (MHD_OPTION_NOTIFY_CONNECTION) and requests completed by termination code
// (MHD_OPTION_NOTIFY_COMPLETED).
//
// Default mode: MHD_USE_EPOLL_INTERNAL_THREAD (a pool with --threads > 1). --external:
// MHD_USE_EPOLL without an internal thread, driven from main() by poll() on
// MHD_DAEMON_INFO_EPOLL_FD with MHD_get_timeout() and MHD_run() — the shape an asio supervisor
// would drive. Loopback only.

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

std::atomic<bool> g_stop{false};

struct Stats {
  std::atomic<unsigned long> connections_started{0};
  std::atomic<unsigned long> connections_closed{0};
  // Indexed by enum MHD_RequestTerminationCode (0..5).
  std::array<std::atomic<unsigned long>, 6> completed{};
};
Stats g_stats;

constexpr std::array<const char*, 6> kTerminationNames = {"completed_ok",    "with_error",
                                                          "timeout_reached", "daemon_shutdown",
                                                          "read_error",      "client_abort"};

// One event stream: text waiting to be sent, and whether its connection is suspended.
struct Stream {
  MHD_Connection* connection = nullptr;
  std::string pending;
  bool suspended = false;
};

class Streams {
 public:
  Stream* add(MHD_Connection* c) {
    std::lock_guard lock(mu_);
    auto* s = new Stream{c, {}, false};
    streams_.insert(s);
    return s;
  }
  // MHD's content reader: what is pending, or suspend until the ticker has more.
  ssize_t read(Stream* s, char* buf, std::size_t max) {
    std::lock_guard lock(mu_);
    if (stopping_) return MHD_CONTENT_READER_END_OF_STREAM;
    if (s->pending.empty()) {
      s->suspended = true;
      MHD_suspend_connection(s->connection);
      return 0;
    }
    const std::size_t n = std::min(max, s->pending.size());
    std::memcpy(buf, s->pending.data(), n);
    s->pending.erase(0, n);
    return static_cast<ssize_t>(n);
  }
  void remove(Stream* s) {
    std::lock_guard lock(mu_);
    streams_.erase(s);
    delete s;
  }
  void tick(unsigned long n) {
    std::lock_guard lock(mu_);
    const std::string event = "data: tick " + std::to_string(n) + "\n\n";
    for (Stream* s : streams_) {
      s->pending += event;
      resume_locked(s);
    }
  }
  // Before MHD_stop_daemon: suspended connections must be resumed first (an API violation
  // otherwise); the reader then ends every stream.
  void stop() {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (Stream* s : streams_) resume_locked(s);
  }
  std::size_t size() {
    std::lock_guard lock(mu_);
    return streams_.size();
  }

 private:
  void resume_locked(Stream* s) {
    if (!s->suspended) return;
    s->suspended = false;
    MHD_resume_connection(s->connection);
  }

  std::mutex mu_;
  std::set<Stream*> streams_;
  bool stopping_ = false;
};
Streams g_streams;

// MHD_USE_ERROR_LOG messages, counted by format string: the only place MHD says why it closed a
// connection whose request never reached the application.
std::mutex g_log_mu;
std::map<std::string, unsigned long> g_log_counts;

void log_message(void*, const char* fmt, va_list ap) {
  {
    std::lock_guard lock(g_log_mu);
    ++g_log_counts[fmt];
  }
  std::vfprintf(stderr, fmt, ap);
}

MHD_Result queue_text(MHD_Connection* c, unsigned int status, std::string_view body,
                      const char* type) {
  MHD_Response* r = MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()),
                                                    MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  const MHD_Result ok = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ok;
}

std::string stats_text() {
  std::string out = "connections_started " + std::to_string(g_stats.connections_started.load()) +
                    "\nconnections_closed " + std::to_string(g_stats.connections_closed.load()) +
                    "\nstreams_open " + std::to_string(g_streams.size()) + "\n";
  for (std::size_t i = 0; i < kTerminationNames.size(); ++i) {
    out += std::string("requests_terminated{") + kTerminationNames[i] + "} " +
           std::to_string(g_stats.completed[i].load()) + "\n";
  }
  std::lock_guard lock(g_log_mu);
  for (const auto& [fmt, n] : g_log_counts) {
    std::string line = fmt;
    while (!line.empty() && line.back() == '\n') line.pop_back();
    out += "log{" + line + "} " + std::to_string(n) + "\n";
  }
  return out;
}

MHD_Result handle(void*, MHD_Connection* c, const char* url, const char* method, const char*,
                  const char* upload_data, std::size_t* upload_data_size, void** con_cls) {
  const std::string_view m = method;
  const std::string_view u = url;
  // First call: headers only. Answering now would be an early response, and MHD closes the
  // connection after an early response, even for a GET with no body. Then body pieces, then a
  // call with no data: answer.
  if (*con_cls == nullptr) {
    *con_cls = new std::string();
    return MHD_YES;
  }
  if (*upload_data_size > 0) {
    static_cast<std::string*>(*con_cls)->append(upload_data, *upload_data_size);
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (m == MHD_HTTP_METHOD_POST) {
    return queue_text(c, MHD_HTTP_OK, R"({"accepted":1})", "application/json");
  }
  if (m != MHD_HTTP_METHOD_GET) return queue_text(c, 405, "method not allowed\n", "text/plain");
  if (u == "/-/healthy") return queue_text(c, MHD_HTTP_OK, "OK\n", "text/plain");
  if (u == "/-/stats") return queue_text(c, MHD_HTTP_OK, stats_text(), "text/plain");
  if (u == "/stream") {
    Stream* s = g_streams.add(c);
    MHD_Response* r = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, 4096,
        [](void* cls, std::uint64_t, char* buf, std::size_t max) {
          return g_streams.read(static_cast<Stream*>(cls), buf, max);
        },
        s, [](void* cls) { g_streams.remove(static_cast<Stream*>(cls)); });
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    const MHD_Result ok = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ok;
  }
  return queue_text(c, MHD_HTTP_NOT_FOUND, "not found\n", "text/plain");
}

void completed(void*, MHD_Connection*, void** con_cls, MHD_RequestTerminationCode toe) {
  if (static_cast<std::size_t>(toe) < g_stats.completed.size()) ++g_stats.completed[toe];
  delete static_cast<std::string*>(*con_cls);
  *con_cls = nullptr;
}

void notify_connection(void*, MHD_Connection*, void**, MHD_ConnectionNotificationCode toe) {
  if (toe == MHD_CONNECTION_NOTIFY_STARTED) ++g_stats.connections_started;
  if (toe == MHD_CONNECTION_NOTIFY_CLOSED) ++g_stats.connections_closed;
}

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "http_mhd_probe: " << why
            << "\nusage: http_mhd_probe [--timeout SECONDS] [--threads N] [--connection-limit N]"
               " [--per-ip-limit N] [--external]\n";
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  unsigned timeout_s = 10, threads = 1, connection_limit = 4000, per_ip_limit = 0;
  bool external = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") usage("a libmicrohttpd server to measure");
    if (a == "--external") {
      external = true;
      continue;
    }
    if (i + 1 >= argc) usage("missing value after " + a);
    char* end = nullptr;
    const unsigned long v = std::strtoul(argv[++i], &end, 10);
    if (*end != '\0') usage(a + " needs a number");
    if (a == "--timeout") {
      timeout_s = static_cast<unsigned>(v);
    } else if (a == "--threads") {
      threads = static_cast<unsigned>(v);
    } else if (a == "--connection-limit") {
      connection_limit = static_cast<unsigned>(v);
    } else if (a == "--per-ip-limit") {
      per_ip_limit = static_cast<unsigned>(v);
    } else {
      usage("unknown argument " + a);
    }
  }
  if (threads < 1) usage("--threads must be at least 1");
  if (external && threads > 1) usage("--external runs on the caller's thread: no --threads");

  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO | MHD_USE_ERROR_LOG;
  if (!external) flags |= MHD_USE_INTERNAL_POLLING_THREAD;
  std::vector<MHD_OptionItem> options = {
      {MHD_OPTION_EXTERNAL_LOGGER, reinterpret_cast<intptr_t>(&log_message), nullptr},
      {MHD_OPTION_SOCK_ADDR, 0, &addr},
      {MHD_OPTION_CONNECTION_TIMEOUT, timeout_s, nullptr},
      {MHD_OPTION_CONNECTION_LIMIT, connection_limit, nullptr},
      {MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip_limit, nullptr},
      {MHD_OPTION_NOTIFY_COMPLETED, reinterpret_cast<intptr_t>(&completed), nullptr},
      {MHD_OPTION_NOTIFY_CONNECTION, reinterpret_cast<intptr_t>(&notify_connection), nullptr},
  };
  if (threads > 1) options.push_back({MHD_OPTION_THREAD_POOL_SIZE, threads, nullptr});
  options.push_back({MHD_OPTION_END, 0, nullptr});
  MHD_Daemon* d = MHD_start_daemon(flags, 0, nullptr, nullptr, &handle, nullptr, MHD_OPTION_ARRAY,
                                   options.data(), MHD_OPTION_END);
  if (d == nullptr) {
    std::perror("http_mhd_probe: MHD_start_daemon");
    return 1;
  }
  const MHD_DaemonInfo* port = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  std::printf("listening on 127.0.0.1:%u (libmicrohttpd %s, %s, %u thread%s, timeout %us)\n",
              port->port, MHD_get_version(), external ? "external epoll" : "internal epoll",
              threads, threads > 1 ? "s" : "", timeout_s);
  std::fflush(stdout);

  struct sigaction sa {};
  sa.sa_handler = [](int) { g_stop = true; };
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  std::thread ticker([] {
    for (unsigned long n = 1; !g_stop; ++n) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      g_streams.tick(n);
    }
  });

  if (external) {
    const int epfd = MHD_get_daemon_info(d, MHD_DAEMON_INFO_EPOLL_FD)->epoll_fd;
    while (!g_stop) {
      MHD_UNSIGNED_LONG_LONG t = 0;
      int wait_ms = 1000;  // bounded so that g_stop is seen
      if (MHD_get_timeout(d, &t) == MHD_YES)
        wait_ms = static_cast<int>(std::min<decltype(t)>(t, 1000));
      pollfd p{epfd, POLLIN, 0};
      ::poll(&p, 1, wait_ms);
      MHD_run(d);
    }
  } else {
    while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ticker.join();
  g_streams.stop();
  if (external) {
    for (int i = 0; i < 10; ++i) MHD_run(d);
  } else {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  std::fprintf(stderr, "%s", stats_text().c_str());
  MHD_stop_daemon(d);
  return 0;
}
