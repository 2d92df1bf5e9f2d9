#pragma once
// http_probe: hostile and well-behaved HTTP/1.1 clients for measuring a server on loopback —
// connections that hold a server's resources without finishing a request (slowloris-style),
// a closed-loop latency probe, and many server-sent-events subscribers. Used by bench/http_hold
// and by tests of the event-driven server; plain POSIX sockets, no third-party code.
//
//   opsready::testing::HeldConnections half;
//   if (auto err = half.open(port, 500, opsready::testing::HoldMode::kHalfRequest); !err.empty())
//     die(err);
//   LatencyStats s = opsready::testing::measure_requests(port, "GET /-/healthy ...", 2000);
//   half.closed_count();  // how many of the 500 the server has closed so far
//
// Every class owns its sockets and one background thread; the destructor stops the thread and
// closes the sockets. Public methods are safe to call from any one thread while the background
// thread runs. Loopback (127.0.0.1) only.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace opsready::testing {

using ProbeClock = std::chrono::steady_clock;

enum class HoldMode {
  // Sends the request line and some headers of a POST, never the blank line that ends them.
  kHalfRequest,
  // Sends one complete GET /-/healthy, reads the whole response, then stays open and silent.
  kIdleKeepAlive,
  // Sends the request line, then one more header byte every trickle interval, forever.
  kTrickle,
};

// N connections to 127.0.0.1:port held in one HoldMode, with a watcher thread that records when
// the server closes each of them. Not copyable or movable (the watcher points at it).
class HeldConnections {
 public:
  HeldConnections() = default;
  ~HeldConnections();
  HeldConnections(const HeldConnections&) = delete;
  HeldConnections& operator=(const HeldConnections&) = delete;

  // Opens `n` connections (connect() on all at once, then the mode's first bytes; kIdleKeepAlive
  // also waits for every response). Empty on success, else why it failed — e.g. the process
  // ran out of file descriptors (EMFILE) — and then nothing is held. Once per object.
  [[nodiscard]] std::string open(
      int port, std::size_t n, HoldMode mode,
      std::chrono::milliseconds trickle_interval = std::chrono::seconds(1));

  [[nodiscard]] std::size_t size() const;
  // How many the server has closed (EOF or reset) so far; checks every open one now.
  [[nodiscard]] std::size_t closed_count();
  // For each closed connection, the time from the end of open() to when the close was seen.
  [[nodiscard]] std::vector<ProbeClock::duration> close_times() const;

 private:
  struct Held {
    int fd = -1;
    std::optional<ProbeClock::time_point> closed_at;
    std::size_t trickled = 0;  // bytes of the endless header sent so far (kTrickle)
  };

  void watch();
  // Records connection `i` closed if the peer has closed it; requires mu_.
  bool check_closed_locked(std::size_t i, ProbeClock::time_point now);
  void stop();

  mutable std::mutex mu_;
  std::vector<Held> held_;
  HoldMode mode_ = HoldMode::kHalfRequest;
  std::chrono::milliseconds trickle_interval_{1000};
  ProbeClock::time_point opened_at_;
  int wake_fd_ = -1;  // eventfd that stops the watcher
  std::thread watcher_;
};

struct LatencyStats {
  std::size_t count = 0;   // requests sent
  std::size_t errors = 0;  // non-2xx answers, broken connections, timeouts
  double p50_us = 0;       // over the requests that got an answer
  double p99_us = 0;
  double max_us = 0;

  bool operator==(const LatencyStats&) const = default;
};

// Sends `raw_request` (a complete HTTP/1.1 request) `count` times, one after the other on one
// keep-alive connection, and measures each round trip until the whole response (Content-Length
// or chunked) has arrived. A broken connection counts an error and is reopened; a response that
// takes longer than 5 s counts an error.
[[nodiscard]] LatencyStats measure_requests(int port, const std::string& raw_request, int count);

// A complete `POST path` with Content-Type application/x-ndjson and Content-Length.
[[nodiscard]] std::string ndjson_post(const std::string& path, const std::string& body);

// N server-sent-events subscribers (GET path, Accept: text/event-stream) and a watcher thread
// that decodes each response (chunked or not) and counts the events it carries. Not copyable.
class SseClients {
 public:
  SseClients() = default;
  ~SseClients();
  SseClients(const SseClients&) = delete;
  SseClients& operator=(const SseClients&) = delete;

  // Connects and subscribes `n` clients. Empty on success, else why not. Once per object.
  [[nodiscard]] std::string open(int port, const std::string& path, std::size_t n);
  // True once every client has received at least `k` events; false at `timeout`.
  [[nodiscard]] bool wait_until_each_has(std::size_t k, std::chrono::milliseconds timeout);
  [[nodiscard]] std::size_t min_events() const;
  // Clients whose connection the server has not closed.
  [[nodiscard]] std::size_t open_count() const;
  // Clients that got a status other than 200 or a response that is not an event stream.
  [[nodiscard]] std::size_t failed_count() const;

 private:
  struct Client {
    int fd = -1;
    bool open = true;
    bool failed = false;
    std::string head;  // bytes until the end of the response headers
    bool in_body = false;
    bool chunked = false;
    std::string chunk_line;      // chunk-size line being read
    std::size_t chunk_left = 0;  // data bytes left in the current chunk
    bool chunk_crlf = false;     // expecting the CRLF after a chunk's data
    bool line_empty = true;      // nothing but '\r' since the last '\n'
    bool line_is_comment = false;
    bool event_has_field = false;
    std::size_t events = 0;
  };

  void watch();
  void feed_locked(Client& c, const char* data, std::size_t size);
  void feed_body_locked(Client& c, const char* data, std::size_t size);

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Client> clients_;
  int wake_fd_ = -1;
  std::thread watcher_;
};

}  // namespace opsready::testing
