#include "opsready/server/http_listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "opsready/core/compression.h"

namespace opsready::server {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

// How long a test waits for an event that must happen; never reached when the code works.
constexpr Ms kWait = 5s;

// ---- A raw-socket HTTP/1.1 client --------------------------------------------------------------

struct RawResponse {
  int status = 0;
  std::vector<Header> headers;
  std::string body;

  [[nodiscard]] std::string header(std::string_view name) const {
    for (const auto& h : headers) {
      if (iequals(h.name, name)) return h.value;
    }
    return {};
  }
  [[nodiscard]] bool has_header(std::string_view name) const {
    for (const auto& h : headers) {
      if (iequals(h.name, name)) return true;
    }
    return false;
  }
};

// One blocking TCP connection to 127.0.0.1:port that reads with deadlines, so that a server
// that never answers fails the test instead of hanging it.
class RawClient {
 public:
  // `source`: the local address to connect from (any 127/8 address is loopback); `rcvbuf`: a
  // small receive buffer, for clients that never read.
  explicit RawClient(int port, const char* source = nullptr, int rcvbuf = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (source != nullptr) {
      sockaddr_in src{};
      src.sin_family = AF_INET;
      ::inet_pton(AF_INET, source, &src.sin_addr);
      if (::bind(fd_, reinterpret_cast<const sockaddr*>(&src), sizeof src) != 0) return;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    connected_ = ::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~RawClient() { close(); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  [[nodiscard]] bool connected() const { return connected_; }

  bool send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // Everything up to and including `marker`; nullopt at EOF or after `timeout`.
  std::optional<std::string> read_until(std::string_view marker, Ms timeout = kWait) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      if (const auto at = buf_.find(marker); at != std::string::npos) {
        std::string out = buf_.substr(0, at + marker.size());
        buf_.erase(0, at + marker.size());
        return out;
      }
      if (!fill(deadline)) return std::nullopt;
    }
  }

  // Exactly `n` bytes; nullopt at EOF or after `timeout`.
  std::optional<std::string> read_exactly(std::size_t n, Ms timeout = kWait) {
    const auto deadline = Clock::now() + timeout;
    while (buf_.size() < n) {
      if (!fill(deadline)) return std::nullopt;
    }
    std::string out = buf_.substr(0, n);
    buf_.erase(0, n);
    return out;
  }

  // A response's status line and headers.
  std::optional<RawResponse> read_head(Ms timeout = kWait) {
    const auto head = read_until("\r\n\r\n", timeout);
    if (!head) return std::nullopt;
    RawResponse res;
    std::istringstream in(*head);
    std::string line;
    std::getline(in, line);
    if (!line.starts_with("HTTP/1.1 ") || line.size() < 12) return std::nullopt;
    res.status = std::stoi(line.substr(9, 3));
    while (std::getline(in, line) && line != "\r") {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const auto colon = line.find(':');
      if (colon == std::string::npos) return std::nullopt;
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      res.headers.push_back({line.substr(0, colon), value});
    }
    return res;
  }

  // One chunk of a chunked body: its data, "" for the last chunk; nullopt at EOF or timeout.
  std::optional<std::string> read_chunk(Ms timeout = kWait) {
    const auto size_line = read_until("\r\n", timeout);
    if (!size_line) return std::nullopt;
    const std::size_t size = std::stoul(*size_line, nullptr, 16);
    auto data = read_exactly(size + 2, timeout);
    if (!data || !data->ends_with("\r\n")) return std::nullopt;
    data->resize(size);
    return data;
  }

  // One whole response (Content-Length, chunked or until EOF); `head_request`: no body.
  std::optional<RawResponse> read_response(bool head_request = false, Ms timeout = kWait) {
    auto res = read_head(timeout);
    if (!res) return std::nullopt;
    if (head_request || res->status < 200 || res->status == 204 || res->status == 304) return res;
    if (iequals(res->header("Transfer-Encoding"), "chunked")) {
      for (;;) {
        auto chunk = read_chunk(timeout);
        if (!chunk) return std::nullopt;
        if (chunk->empty()) return res;
        res->body += *chunk;
      }
    }
    if (res->has_header("Content-Length")) {
      auto body = read_exactly(std::stoul(res->header("Content-Length")), timeout);
      if (!body) return std::nullopt;
      res->body = std::move(*body);
      return res;
    }
    const auto deadline = Clock::now() + timeout;
    while (fill(deadline)) {
    }
    if (!eof_) return std::nullopt;
    res->body = std::exchange(buf_, {});
    return res;
  }

  // True once the server has closed the connection (EOF or reset), discarding what it sent;
  // false after `timeout`.
  bool wait_closed(Ms timeout = kWait) {
    const auto deadline = Clock::now() + timeout;
    while (!eof_) {
      buf_.clear();
      if (!fill(deadline) && !eof_) return false;
    }
    return true;
  }

  // Bytes received and not yet consumed by a read_*.
  [[nodiscard]] const std::string& buffered() const { return buf_; }

 private:
  // Receives more into buf_; false at EOF, on an error or at `deadline`.
  bool fill(Clock::time_point deadline) {
    if (eof_ || fd_ < 0) return false;
    for (;;) {
      const auto left = std::chrono::duration_cast<Ms>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
      const int r = ::poll(&p, 1, static_cast<int>(left));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      char chunk[65536];
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        eof_ = true;
        return false;
      }
      buf_.append(chunk, static_cast<std::size_t>(n));
      return true;
    }
  }

  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  std::string buf_;
};

std::string get(std::string_view target, std::string_view extra_headers = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n" + std::string(extra_headers) +
         "\r\n";
}

std::string post(std::string_view target, std::string_view body,
                 std::string_view extra_headers = "") {
  return "POST " + std::string(target) +
         " HTTP/1.1\r\nHost: test\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         std::string(extra_headers) + "\r\n" + std::string(body);
}

// Hands values from handlers (any thread) to the test thread.
template <typename T>
class Slot {
 public:
  void put(T value) {
    std::lock_guard lock(mu_);
    items_.push_back(std::move(value));
    cv_.notify_all();
  }
  std::optional<T> take(Ms timeout = kWait) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [this] { return !items_.empty(); })) return std::nullopt;
    T value = std::move(items_.front());
    items_.pop_front();
    return value;
  }
  void clear() {
    std::deque<T> old;
    {
      std::lock_guard lock(mu_);
      old.swap(items_);
    }
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<T> items_;
};

// Polls `pred` until it holds; false after `timeout`.
template <typename Pred>
bool wait_until(Pred pred, Ms timeout = kWait) {
  const auto deadline = Clock::now() + timeout;
  while (!pred()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

// The value of one series (name and labels exactly as exposed) in `registry`; 0 when absent.
double metric_value(const metrics::Registry& registry, std::string_view series) {
  std::istringstream in(registry.expose());
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > series.size() && line.starts_with(series) && line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return 0;
}

std::string closed_series(std::string_view reason) {
  return "opsready_http_connections_closed_total{reason=\"" + std::string(reason) + "\"}";
}

std::string requests_series(std::string_view handler, int code) {
  return "opsready_http_requests_total{handler=\"" + std::string(handler) + "\",code=\"" +
         std::to_string(code) + "\"}";
}

ListenerOptions test_options() {
  ListenerOptions o;
  o.limits.header_timeout = 2s;
  o.limits.body_timeout = 2s;
  o.limits.idle_timeout = 2s;
  o.limits.write_timeout = 2s;
  o.limits.workers = 2;
  return o;
}

class ListenerTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (listener_) listener_->stop(core::Duration::zero());
    if (server_.joinable()) server_.join();
    // Responders and streams must not outlive the listener.
    parked_.clear();
    streams_.clear();
    listener_.reset();
  }

  Listener& listener() {
    if (!listener_) listener_ = std::make_unique<Listener>(options_, registry_);
    return *listener_;
  }

  // Binds and serves on a thread of its own.
  void start() {
    auto port = listener().bind();
    ASSERT_TRUE(port.has_value()) << port.error().message;
    port_ = *port;
    serve();
  }
  void serve() {
    std::promise<void> done;
    served_ = done.get_future();
    server_ = std::thread([this, done = std::move(done)]() mutable {
      listener_->serve();
      done.set_value();
    });
  }
  // True once serve() has returned (then joined); false after `timeout`.
  bool wait_served(Ms timeout = kWait) {
    if (served_.wait_for(timeout) != std::future_status::ready) return false;
    server_.join();
    return true;
  }

  // The routes most tests use.
  void add_basic_routes() {
    listener().route("GET", "/hello", "hello", [](Request&, Responder res) {
      res.send(Response::text(200, "hello world\n"));
    });
    listener().route("POST", "/echo", "echo",
                     [](Request& req, Responder res) { res.send(Response::text(200, req.body)); });
    listener().route("GET", "/park", "park",
                     [this](Request&, Responder res) { parked_.put(std::move(res)); });
    listener().route("GET", "/stream", "stream", [this](Request&, Responder res) {
      Response head;
      head.set_header("X-Stream", "yes");
      streams_.put(res.stream(std::move(head)));
    });
  }

  [[nodiscard]] double metric(std::string_view series) const {
    return metric_value(registry_, series);
  }
  // True once `series` has reached `want`.
  bool wait_metric(std::string_view series, double want) {
    return wait_until([&] { return metric(series) == want; });
  }

  ListenerOptions options_ = test_options();
  metrics::Registry registry_;
  std::unique_ptr<Listener> listener_;
  std::thread server_;
  std::future<void> served_;
  int port_ = 0;
  Slot<Responder> parked_;
  Slot<std::shared_ptr<EventStream>> streams_;
};

// ---- Routing and responses ---------------------------------------------------------------------

TEST_F(ListenerTest, AnswersARoute) {
  add_basic_routes();
  start();
  RawClient c(port_);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send(get("/hello")));
  const auto res = c.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "hello world\n");
  EXPECT_EQ(res->header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(res->header("Content-Length"), "12");
  EXPECT_TRUE(res->header("Date").ends_with(" GMT")) << res->header("Date");
  EXPECT_FALSE(res->has_header("Connection"));
  EXPECT_EQ(metric(requests_series("hello", 200)), 1);
}

TEST_F(ListenerTest, HandlerSeesPathParamsHeadersAndRemote) {
  Slot<Request> seen;
  listener().route("GET", "/api/v1/some thing", "inspect", [&seen](Request& req, Responder res) {
    seen.put(req);
    res.send(Response::text(200, "ok\n"));
  });
  start();
  RawClient c(port_);
  ASSERT_TRUE(c.send(get("/api/v1/some%20thing?a=1&b=x+y&a=2", "X-Trace: t1\r\n")));
  const auto res = c.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  const auto req = seen.take();
  ASSERT_TRUE(req);
  EXPECT_EQ(req->method, "GET");
  EXPECT_EQ(req->target, "/api/v1/some%20thing?a=1&b=x+y&a=2");
  EXPECT_EQ(req->path, "/api/v1/some thing");
  const std::vector<std::pair<std::string, std::string>> params = {
      {"a", "1"}, {"b", "x y"}, {"a", "2"}};
  EXPECT_EQ(req->params, params);
  EXPECT_EQ(req->header("x-trace"), "t1");
  EXPECT_EQ(req->remote, "127.0.0.1");
}

TEST_F(ListenerTest, PathTemplatesCaptureSegmentsAndExactPathsWin) {
  Slot<Request> seen;
  auto capture = [&seen](Request& req, Responder res) {
    seen.put(req);
    res.send(Response::text(200, "ok\n"));
  };
  listener().route("GET", "/api/v2/silence/{id}", "silence", capture);
  listener().route("DELETE", "/api/v2/silence/{id}", "silence_delete", capture);
  listener().route("POST", "/api/v1/groups/{group}/ack", "ack", capture);
  listener().route("GET", "/api/v2/silence/special", "special",
                   [](Request&, Responder res) { res.send(Response::text(200, "exact\n")); });
  start();
  RawClient c(port_);
  ASSERT_TRUE(c.send(get("/api/v2/silence/ab%2Dcd")));
  auto res = c.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  auto req = seen.take();
  ASSERT_TRUE(req);
  EXPECT_EQ(req->path_param("id"), "ab-cd");
  EXPECT_EQ(req->path_param("other"), "");

  ASSERT_TRUE(
      c.send("POST /api/v1/groups/0123abcd/ack HTTP/1.1\r\nHost: t\r\n"
             "Content-Length: 0\r\n\r\n"));
  res = c.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  req = seen.take();
  ASSERT_TRUE(req);
  EXPECT_EQ(req->path_param("group"), "0123abcd");

  ASSERT_TRUE(c.send(get("/api/v2/silence/special")));
  res = c.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "exact\n");

  // An empty segment, an extra one, and a method the template lacks.
  for (const char* path : {"/api/v2/silence/", "/api/v2/silence/a/b"}) {
    ASSERT_TRUE(c.send(get(path)));
    res = c.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 404) << path;
  }
  ASSERT_TRUE(c.send("PUT /api/v2/silence/x HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"));
  res = c.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 405);
  EXPECT_NE(res->header("Allow").find("DELETE"), std::string::npos);
}

TEST_F(ListenerTest, UnknownPathIs404AndWrongMethodIs405ThroughTheErrorRenderer) {
  add_basic_routes();
  listener().route("POST", "/hello", "hello_post",
                   [](Request&, Responder res) { res.send(Response::text(201, "")); });
  listener().set_error_renderer([](int status, std::string message) {
    return Response::json(
        status, "{\"status\":" + std::to_string(status) + ",\"error\":\"" + message + "\"}");
  });
  start();
  RawClient c(port_);
  ASSERT_TRUE(c.send(get("/nope")));
  auto res = c.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(res->header("Content-Type"), "application/json");
  EXPECT_EQ(res->body, "{\"status\":404,\"error\":\"no route for GET /nope\"}");

  ASSERT_TRUE(c.send("DELETE /hello HTTP/1.1\r\nHost: test\r\n\r\n"));
  res = c.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 405);
  EXPECT_TRUE(res->body.starts_with("{\"status\":405,")) << res->body;
  const std::string allow = res->header("Allow");
  EXPECT_NE(allow.find("GET"), std::string::npos) << allow;
  EXPECT_NE(allow.find("HEAD"), std::string::npos) << allow;
  EXPECT_NE(allow.find("POST"), std::string::npos) << allow;
  EXPECT_EQ(allow.find("DELETE"), std::string::npos) << allow;

  // The connection survives both.
  ASSERT_TRUE(c.send(get("/hello")));
  res = c.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(metric(requests_series("unrouted", 404)), 1);
  EXPECT_EQ(metric(requests_series("unrouted", 405)), 1);
}

TEST_F(ListenerTest, HeadIsServedByTheGetRouteWithoutABody) {
  add_basic_routes();
  start();
  RawClient c(port_);
  // Pipelined: if the HEAD response carried a body, the GET response would not follow it.
  ASSERT_TRUE(c.send("HEAD /hello HTTP/1.1\r\nHost: test\r\n\r\n" + get("/hello")));
  const auto head = c.read_response(/*head_request=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("Content-Length"), "12");
  EXPECT_EQ(head->header("Content-Type"), "text/plain; charset=utf-8");
  const auto full = c.read_response();
  ASSERT_TRUE(full) << c.buffered();
  EXPECT_EQ(full->status, 200);
  EXPECT_EQ(full->body, "hello world\n");
}

TEST_F(ListenerTest, KeepAliveServesManyRequestsOnOneConnection) {
  add_basic_routes();
  start();
  RawClient c(port_);
  for (int i = 0; i < 50; ++i) {
    const std::string body = "request " + std::to_string(i);
    ASSERT_TRUE(c.send(post("/echo", body)));
    const auto res = c.read_response();
    ASSERT_TRUE(res) << i;
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, body);
  }
  EXPECT_EQ(metric("opsready_http_connections_accepted_total"), 1);
  EXPECT_EQ(metric(requests_series("echo", 200)), 50);
}

TEST_F(ListenerTest, AnswersPipelinedRequestsInOrder) {
  listener().route("GET", "/n", "n", [](Request& req, Responder res) {
    res.send(Response::text(200, "n=" + req.param("i")));
  });
  add_basic_routes();
  start();
  RawClient c(port_);
  std::string all;
  for (int i = 0; i < 10; ++i) {
    all += i == 5 ? post("/echo", "n=5") : get("/n?i=" + std::to_string(i));
  }
  ASSERT_TRUE(c.send(all));
  for (int i = 0; i < 10; ++i) {
    const auto res = c.read_response();
    ASSERT_TRUE(res) << i;
    EXPECT_EQ(res->body, "n=" + std::to_string(i));
  }
}

TEST_F(ListenerTest, ChunkedRequestBodyReachesTheHandler) {
  add_basic_routes();
  start();
  RawClient c(port_);
  ASSERT_TRUE(
      c.send("POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
             "6\r\nchunks\r\n1\r\n \r\n6\r\narrive\r\n0\r\n\r\n"));
  const auto res = c.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "chunks arrive");
}

TEST_F(ListenerTest, ClosesAfterTheResponseWhenTheClientDoesNotKeepAlive) {
  struct Case {
    const char* name;
    std::string request;
  };
  const Case cases[] = {
      {"HTTP/1.1 with Connection: close", get("/hello", "Connection: close\r\n")},
      {"HTTP/1.0", "GET /hello HTTP/1.0\r\n\r\n"},
  };
  add_basic_routes();
  start();
  double done = 0;
  for (const auto& c : cases) {
    RawClient client(port_);
    ASSERT_TRUE(client.send(c.request)) << c.name;
    const auto res = client.read_response();
    ASSERT_TRUE(res) << c.name;
    EXPECT_EQ(res->status, 200) << c.name;
    EXPECT_EQ(res->body, "hello world\n") << c.name;
    EXPECT_EQ(res->header("Connection"), "close") << c.name;
    EXPECT_TRUE(client.wait_closed()) << c.name;
    client.close();
    EXPECT_TRUE(wait_metric(closed_series("done"), ++done)) << c.name;
  }
}

// The client pipelined a request after one that asked to close: the server must not reset the
// connection (unread data at close() sends a RST, which can destroy the response in flight).
TEST_F(ListenerTest, RequestsPipelinedAfterConnectionCloseDoNotResetTheResponse) {
  listener().route("GET", "/big", "big", [](Request&, Responder res) {
    res.send(Response::text(200, std::string(1u << 20, 'r'), "application/octet-stream"));
  });
  start();
  for (int i = 0; i < 5; ++i) {
    RawClient c(port_);
    std::string more;
    for (int j = 0; j < 5000; ++j) more += get("/big");
    ASSERT_TRUE(c.send(get("/big", "Connection: close\r\n") + more));
    std::this_thread::sleep_for(20ms);  // let the close happen before the client reads
    const auto res = c.read_response();
    ASSERT_TRUE(res) << i;
    EXPECT_EQ(res->body.size(), 1u << 20) << i;
    EXPECT_EQ(res->header("Connection"), "close");
  }
}

TEST_F(ListenerTest, Http10WithKeepAliveStaysOpen) {
  add_basic_routes();
  start();
  RawClient c(port_);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    const auto res = c.read_response();
    ASSERT_TRUE(res) << i;
    EXPECT_EQ(res->status, 200);
    // An HTTP/1.0 client keeps the connection only when the response says so.
    EXPECT_EQ(res->header("Connection"), "keep-alive");
  }
  EXPECT_EQ(metric("opsready_http_connections_accepted_total"), 1);
}

TEST_F(ListenerTest, ExpectContinueGets100BeforeTheBodyIsSent) {
  add_basic_routes();
  start();
  RawClient c(port_);
  ASSERT_TRUE(c.send(
      "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 7\r\nExpect: 100-continue\r\n\r\n"));
  const auto interim = c.read_until("\r\n\r\n");
  ASSERT_TRUE(interim);
  EXPECT_EQ(*interim, "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(c.send("payload"));
  const auto res = c.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "payload");
}

// ---- Requests the listener refuses -------------------------------------------------------------

TEST_F(ListenerTest, OversizedContentLengthIs413AndTheClientReadsIt) {
  options_.max_body_bytes = 1024;
  add_basic_routes();
  start();
  RawClient c(port_);
  const std::string body(100000, 'b');
  // The whole body is sent: the server must read (and drop) it rather than reset the connection.
  ASSERT_TRUE(c.send(post("/echo", body)));
  const auto res = c.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  EXPECT_EQ(res->header("Connection"), "close");
  EXPECT_NE(res->body.find("1024"), std::string::npos) << res->body;
  EXPECT_TRUE(c.wait_closed());
  c.close();
  EXPECT_TRUE(wait_metric(closed_series("body_too_large"), 1));
  EXPECT_EQ(metric(requests_series("echo", 413)), 1);  // the route is known from the header
}

TEST_F(ListenerTest, OversizedContentLengthWithExpectContinueIs413WithoutContinue) {
  options_.max_body_bytes = 1024;
  add_basic_routes();
  start();
  RawClient c(port_);
  ASSERT_TRUE(c.send(
      "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n"));
  const auto res = c.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
}

TEST_F(ListenerTest, MalformedRequestsAreAnsweredThenClosed) {
  struct Case {
    const char* name;
    std::string request;
    int status;
    const char* reason;
  };
  const Case cases[] = {
      {"garbage", "\x01\x02 this is not HTTP\r\n\r\n", 400, "bad_request"},
      {"bad Content-Length", "POST /echo HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400,
       "bad_request"},
      {"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, "bad_request"},
      {"header over max_header_bytes", get("/hello", "X-Big: " + std::string(4096, 'x') + "\r\n"),
       431, "header_too_large"},
  };
  options_.limits.max_header_bytes = 1024;
  add_basic_routes();
  start();
  for (const auto& c : cases) {
    const double before = metric(closed_series(c.reason));
    RawClient client(port_);
    ASSERT_TRUE(client.send(c.request)) << c.name;
    const auto res = client.read_response();
    ASSERT_TRUE(res) << c.name;
    EXPECT_EQ(res->status, c.status) << c.name;
    EXPECT_EQ(res->header("Connection"), "close") << c.name;
    EXPECT_TRUE(client.wait_closed()) << c.name;
    client.close();
    EXPECT_TRUE(wait_metric(closed_series(c.reason), before + 1)) << c.name;
    EXPECT_GE(metric(requests_series("unrouted", c.status)), 1) << c.name;
  }
}

TEST_F(ListenerTest, GzipRequestBodyIsInflatedBeforeTheHandler) {
  add_basic_routes();
  start();
  RawClient c(port_);
  const std::string text = "{\"events\":[" + std::string(5000, ' ') + "]}";
  ASSERT_TRUE(c.send(post("/echo", core::gzip(text), "Content-Encoding: gzip\r\n")));
  const auto res = c.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, text);
}

TEST_F(ListenerTest, RefusesBodiesItCannotDecode) {
  struct Case {
    const char* name;
    std::string encoding;
    std::string body;
    int status;
  };
  options_.max_body_bytes = 64u << 10;
  const Case cases[] = {
      {"not gzip at all", "gzip", "plain text, not gzip", 400},
      {"truncated gzip", "gzip", core::gzip(std::string(1000, 'a')).substr(0, 10), 400},
      {"gzip bomb beyond max_body_bytes", "gzip", core::gzip(std::string(4u << 20, '\0')), 413},
      {"unsupported coding", "br", "whatever", 415},
      {"unsupported coding: deflate", "deflate", "whatever", 415},
  };
  std::atomic<int> calls{0};
  listener().route("POST", "/count", "count", [&calls](Request&, Responder res) {
    ++calls;
    res.send(Response::text(200, "ok"));
  });
  start();
  RawClient client(port_);
  for (const auto& c : cases) {
    ASSERT_LT(c.body.size(), options_.max_body_bytes) << c.name;
    ASSERT_TRUE(client.send(post("/count", c.body, "Content-Encoding: " + c.encoding + "\r\n")))
        << c.name;
    const auto res = client.read_response();
    ASSERT_TRUE(res) << c.name;
    EXPECT_EQ(res->status, c.status) << c.name << ": " << res->body;
  }
  // The refusals were answered before any handler could run; identity still reaches it.
  ASSERT_TRUE(client.send(post("/count", "x", "Content-Encoding: identity\r\n")));
  const auto res = client.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(ListenerTest, CompressesLargeTextResponsesForClientsThatAcceptGzip) {
  struct Case {
    const char* name;
    std::string accept;  // empty: no Accept-Encoding
    std::size_t size;
    std::string type;
    bool gzip;
  };
  options_.compress_min_bytes = 1024;
  const Case cases[] = {
      {"gzip accepted, large text", "gzip", 4096, "text/plain", true},
      {"gzip among others", "deflate, br, gzip;q=0.8", 4096, "text/plain", true},
      {"gzip named, any other refused", "*;q=0, gzip", 4096, "text/plain", true},
      {"gzip refused, any other accepted", "*, gzip;q=0", 4096, "text/plain", false},
      {"upper case, spaces", " GZIP ; q=1 ", 4096, "text/plain", true},
      {"any coding", "*", 4096, "application/json", true},
      {"exactly compress_min_bytes", "gzip", 1024, "application/json", true},
      {"no Accept-Encoding", "", 4096, "text/plain", false},
      {"gzip refused by q=0", "gzip;q=0", 4096, "text/plain", false},
      {"only other codings", "br, deflate", 4096, "text/plain", false},
      {"below compress_min_bytes", "gzip", 1023, "text/plain", false},
      {"not a compressible type", "gzip", 4096, "application/octet-stream", false},
  };
  listener().route("GET", "/body", "body", [](Request& req, Responder res) {
    const std::size_t size = std::stoul(req.param("size"));
    std::string body;
    for (std::size_t i = 0; body.size() < size; ++i) body += std::to_string(i) + ",";
    body.resize(size);
    res.send(Response::text(200, std::move(body), req.param("type")));
  });
  start();
  RawClient client(port_);
  for (const auto& c : cases) {
    const std::string target = "/body?size=" + std::to_string(c.size) + "&type=" + c.type;
    ASSERT_TRUE(client.send(
        get(target, c.accept.empty() ? std::string() : "Accept-Encoding: " + c.accept + "\r\n")));
    const auto res = client.read_response();
    ASSERT_TRUE(res) << c.name;
    EXPECT_EQ(res->status, 200) << c.name;
    EXPECT_EQ(res->header("Content-Type"), c.type) << c.name;
    std::string body = res->body;
    if (c.gzip) {
      EXPECT_EQ(res->header("Content-Encoding"), "gzip") << c.name;
      EXPECT_EQ(res->header("Vary"), "Accept-Encoding") << c.name;
      EXPECT_LT(res->body.size(), c.size) << c.name;
      ASSERT_TRUE(core::gunzip(res->body, 1u << 20, body)) << c.name;
    } else {
      EXPECT_FALSE(res->has_header("Content-Encoding")) << c.name;
    }
    EXPECT_EQ(body.size(), c.size) << c.name;
    EXPECT_TRUE(body.starts_with("0,1,2,")) << c.name;
  }
}

// ---- Deadlines ---------------------------------------------------------------------------------

TEST_F(ListenerTest, HeaderTimeoutClosesAHalfRequest) {
  options_.limits.header_timeout = 300ms;
  add_basic_routes();
  start();
  RawClient c(port_);
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Len"));
  EXPECT_TRUE(c.wait_closed());
  EXPECT_TRUE(wait_metric(closed_series("header_timeout"), 1));
}

TEST_F(ListenerTest, HeaderTimeoutAlsoClosesASilentNewConnection) {
  options_.limits.header_timeout = 300ms;
  add_basic_routes();
  start();
  RawClient c(port_);
  ASSERT_TRUE(c.connected());
  EXPECT_TRUE(c.wait_closed());
  EXPECT_TRUE(wait_metric(closed_series("header_timeout"), 1));
}

// Deadlines are absolute: a client that sends a byte every 50 ms is closed all the same.
TEST_F(ListenerTest, TrickledHeaderIsClosedAtTheHeaderDeadline) {
  options_.limits.header_timeout = 300ms;
  add_basic_routes();
  start();
  RawClient c(port_);
  ASSERT_TRUE(c.send("GET /hello HTTP/1.1\r\nX-Slow: "));
  bool closed = false;
  for (int i = 0; i < 100 && !closed; ++i) {  // 100 x 50 ms: far past the deadline
    closed = c.wait_closed(50ms) || !c.send("a");
  }
  EXPECT_TRUE(closed || c.wait_closed());
  EXPECT_TRUE(wait_metric(closed_series("header_timeout"), 1));
}

TEST_F(ListenerTest, TrickledBodyIsClosedAtTheBodyDeadline) {
  options_.limits.body_timeout = 300ms;
  add_basic_routes();
  start();
  RawClient c(port_);
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\nfirst"));
  bool closed = false;
  for (int i = 0; i < 100 && !closed; ++i) {
    closed = c.wait_closed(50ms) || !c.send("b");
  }
  EXPECT_TRUE(closed || c.wait_closed());
  EXPECT_TRUE(wait_metric(closed_series("body_timeout"), 1));
}

TEST_F(ListenerTest, IdleTimeoutClosesAKeptAliveConnection) {
  options_.limits.idle_timeout = 300ms;
  options_.limits.header_timeout = 10s;
  add_basic_routes();
  start();
  RawClient c(port_);
  ASSERT_TRUE(c.send(get("/hello")));
  const auto res = c.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_TRUE(c.wait_closed());
  EXPECT_TRUE(wait_metric(closed_series("idle_timeout"), 1));
}

TEST_F(ListenerTest, WriteTimeoutClosesAClientThatDoesNotRead) {
  options_.limits.write_timeout = 300ms;
  listener().route("GET", "/big", "big", [](Request&, Responder res) {
    res.send(Response::text(200, std::string(32u << 20, 'w'), "application/octet-stream"));
  });
  start();
  RawClient c(port_, nullptr, /*rcvbuf=*/4096);
  ASSERT_TRUE(c.send(get("/big")));
  EXPECT_TRUE(wait_metric(closed_series("write_timeout"), 1));
}

// ---- Connection limits -------------------------------------------------------------------------

TEST_F(ListenerTest, MaxConnectionsRefusesAndCounts) {
  options_.limits.max_connections = 2;
  add_basic_routes();
  start();
  RawClient a(port_), b(port_);
  for (RawClient* c : {&a, &b}) {
    ASSERT_TRUE(c->send(get("/hello")));
    ASSERT_TRUE(c->read_response());
  }
  RawClient refused(port_);
  EXPECT_TRUE(refused.wait_closed());
  EXPECT_TRUE(wait_metric(closed_series("max_connections"), 1));
  EXPECT_EQ(metric("opsready_http_connections_open"), 2);

  // A freed slot admits the next one.
  a.close();
  ASSERT_TRUE(wait_metric("opsready_http_connections_open", 1));
  RawClient next(port_);
  ASSERT_TRUE(next.send(get("/hello")));
  const auto res = next.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

TEST_F(ListenerTest, MaxConnectionsPerClientRefusesAndCounts) {
  options_.limits.max_connections_per_client = 1;
  add_basic_routes();
  start();
  RawClient first(port_);
  ASSERT_TRUE(first.send(get("/hello")));
  ASSERT_TRUE(first.read_response());
  RawClient second(port_);
  EXPECT_TRUE(second.wait_closed());
  EXPECT_TRUE(wait_metric(closed_series("max_connections_per_client"), 1));
  EXPECT_EQ(metric(closed_series("max_connections")), 0);

  // Another client address is a client of its own.
  RawClient other(port_, "127.0.0.2");
  if (!other.connected()) GTEST_SKIP() << "cannot connect from 127.0.0.2";
  ASSERT_TRUE(other.send(get("/hello")));
  const auto res = other.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

// ---- Where handlers run, and how they answer ---------------------------------------------------

TEST_F(ListenerTest, OffloadRunsHandlersOnTheWorkerPool) {
  struct Case {
    const char* name;
    Offload offload;
    std::string body;
    bool gzip;
    bool on_worker;
  };
  options_.limits.offload_body_bytes = 16u << 10;
  const std::string large(16u << 10, 'x');
  // Compresses to well over a sixteenth of offload_body_bytes (1 KiB).
  std::string noisy;
  for (int i = 0; noisy.size() < 8000; ++i) noisy += std::to_string(i * 7919 % 100003) + " ";
  const Case cases[] = {
      {"kNever", Offload::kNever, large, false, false},
      {"kAlways, empty body", Offload::kAlways, "", false, true},
      {"kLargeBodies, small body", Offload::kLargeBodies, "small", false, false},
      {"kLargeBodies, one byte short", Offload::kLargeBodies, large.substr(1), false, false},
      {"kLargeBodies, offload_body_bytes", Offload::kLargeBodies, large, false, true},
      {"kLargeBodies, gzip body over a sixteenth", Offload::kLargeBodies, noisy, true, true},
  };
  Slot<std::thread::id> ran_on;
  int i = 0;
  for (const auto& c : cases) {
    listener().route(
        "POST", "/r" + std::to_string(i++), c.name,
        [&ran_on](Request&, Responder res) {
          ran_on.put(std::this_thread::get_id());
          res.send(Response::text(200, "ok"));
        },
        c.offload);
  }
  start();
  RawClient client(port_);
  i = 0;
  for (const auto& c : cases) {
    const std::string body = c.gzip ? core::gzip(c.body) : c.body;
    if (c.gzip) {
      ASSERT_GE(body.size() * 16, options_.limits.offload_body_bytes) << c.name;
    }
    ASSERT_TRUE(client.send(
        post("/r" + std::to_string(i++), body, c.gzip ? "Content-Encoding: gzip\r\n" : "")));
    const auto res = client.read_response();
    ASSERT_TRUE(res) << c.name;
    EXPECT_EQ(res->status, 200) << c.name;
    const auto id = ran_on.take();
    ASSERT_TRUE(id) << c.name;
    // With one network thread, the network thread is the one that called serve().
    EXPECT_EQ(*id != server_.get_id(), c.on_worker) << c.name;
    EXPECT_EQ(
        metric("opsready_http_offloaded_requests_total{handler=\"" + std::string(c.name) + "\"}"),
        c.on_worker ? 1 : 0)
        << c.name;
  }
}

TEST_F(ListenerTest, ResponderAnsweredLaterFromAnotherThreadWhileOthersAreServed) {
  add_basic_routes();
  start();
  RawClient waiting(port_);
  ASSERT_TRUE(waiting.send(get("/park")));
  auto responder = parked_.take();
  ASSERT_TRUE(responder);

  // The parked exchange holds no thread: other connections are served meanwhile.
  for (int i = 0; i < 3; ++i) {
    RawClient other(port_);
    ASSERT_TRUE(other.send(get("/hello")));
    const auto res = other.read_response();
    ASSERT_TRUE(res) << i;
    EXPECT_EQ(res->status, 200);
  }

  std::thread answer([r = std::move(*responder)]() mutable {
    std::this_thread::sleep_for(100ms);
    r.send(Response::text(202, "answered later\n"));
  });
  const auto res = waiting.read_response();
  answer.join();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 202);
  EXPECT_EQ(res->body, "answered later\n");

  // And the connection goes on.
  ASSERT_TRUE(waiting.send(get("/hello")));
  ASSERT_TRUE(waiting.read_response());
  EXPECT_EQ(metric(requests_series("park", 202)), 1);
}

TEST_F(ListenerTest, OnlyTheFirstAnswerCounts) {
  listener().route("GET", "/twice", "twice", [](Request&, Responder res) {
    Responder moved = std::move(res);
    moved.send(Response::text(200, "first"));
    moved.send(Response::text(500, "second"));
    res.send(Response::text(500, "moved-from"));
  });
  start();
  RawClient c(port_);
  ASSERT_TRUE(c.send(get("/twice") + get("/twice")));
  for (int i = 0; i < 2; ++i) {
    const auto res = c.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, "first");
  }
  EXPECT_EQ(metric(requests_series("twice", 500)), 0);
}

TEST_F(ListenerTest, UnansweredOrFailingHandlersAnswer500) {
  listener().route("GET", "/drop", "drop", [](Request&, Responder) {});
  listener().route("GET", "/throw", "throw",
                   [](Request&, Responder) { throw std::runtime_error("boom"); });
  listener().route(
      "GET", "/throw-offloaded", "throw_offloaded",
      [](Request&, Responder) { throw std::runtime_error("boom"); }, Offload::kAlways);
  listener().route("GET", "/reassign", "reassign", [](Request&, Responder res) {
    // Assigning over an unanswered Responder answers it first.
    res = Responder(nullptr);
  });
  add_basic_routes();
  start();
  RawClient c(port_);
  for (const char* target : {"/drop", "/throw", "/throw-offloaded", "/reassign"}) {
    ASSERT_TRUE(c.send(get(target)));
    const auto res = c.read_response();
    ASSERT_TRUE(res) << target;
    EXPECT_EQ(res->status, 500) << target;
  }
  // Dropped on another thread, later.
  ASSERT_TRUE(c.send(get("/park")));
  auto parked = parked_.take();
  ASSERT_TRUE(parked);
  std::thread([r = std::move(*parked)] {}).join();
  auto res = c.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  // The connection still serves.
  ASSERT_TRUE(c.send(get("/hello")));
  res = c.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(metric(requests_series("drop", 500)), 1);
  EXPECT_EQ(metric(requests_series("throw", 500)), 1);
}

// ---- Event streams -----------------------------------------------------------------------------

// Reads the chunks of a stream until `want` bytes of data have arrived.
std::optional<std::string> read_stream_data(RawClient& c, std::size_t want) {
  std::string data;
  while (data.size() < want) {
    auto chunk = c.read_chunk();
    if (!chunk || chunk->empty()) return std::nullopt;
    data += *chunk;
  }
  return data;
}

TEST_F(ListenerTest, EventStreamSendsInOrderAndCloseEndsTheBody) {
  add_basic_routes();
  start();
  RawClient c(port_);
  ASSERT_TRUE(c.send(get("/stream", "Accept: text/event-stream\r\n")));
  const auto head = c.read_head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("Content-Type"), "text/event-stream");
  EXPECT_EQ(head->header("Transfer-Encoding"), "chunked");
  EXPECT_EQ(head->header("Cache-Control"), "no-cache");
  EXPECT_EQ(head->header("X-Stream"), "yes");
  EXPECT_FALSE(head->has_header("Content-Length"));
  auto stream = streams_.take();
  ASSERT_TRUE(stream);
  ASSERT_TRUE((*stream)->open());
  EXPECT_TRUE(wait_metric("opsready_http_streams_open", 1));

  std::string want;
  for (int i = 0; i < 20; ++i) {
    const std::string event = "event: tick\ndata: {\"n\":" + std::to_string(i) + "}\n\n";
    want += event;
    EXPECT_TRUE((*stream)->send(event)) << i;
  }
  const auto got = read_stream_data(c, want.size());
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, want);

  // Sent from another thread, too.
  std::thread([s = *stream] { EXPECT_TRUE(s->send("data: from a thread\n\n")); }).join();
  EXPECT_EQ(read_stream_data(c, 21), "data: from a thread\n\n");

  (*stream)->close();
  EXPECT_FALSE((*stream)->open());
  EXPECT_FALSE((*stream)->send("data: too late\n\n"));
  const auto last = c.read_chunk();
  ASSERT_TRUE(last);
  EXPECT_EQ(*last, "");
  EXPECT_TRUE(c.wait_closed());
  EXPECT_TRUE(wait_metric(closed_series("done"), 1));
  EXPECT_TRUE(wait_metric("opsready_http_streams_open", 0));
  EXPECT_EQ(metric(requests_series("stream", 200)), 1);
}

TEST_F(ListenerTest, EventStreamNoticesTheClientGoingAway) {
  add_basic_routes();
  start();
  RawClient c(port_);
  ASSERT_TRUE(c.send(get("/stream")));
  ASSERT_TRUE(c.read_head());
  auto stream = streams_.take();
  ASSERT_TRUE(stream);
  ASSERT_TRUE((*stream)->send("data: one\n\n"));
  ASSERT_EQ(read_stream_data(c, 11), "data: one\n\n");
  c.close();
  EXPECT_TRUE(wait_until([&] { return !(*stream)->open(); }));
  EXPECT_FALSE((*stream)->send("data: two\n\n"));
  EXPECT_TRUE(wait_metric(closed_series("client_closed"), 1));
  EXPECT_TRUE(wait_metric("opsready_http_streams_open", 0));
}

// The events come slowly enough for the stream to drain between them until the client's socket
// is full; then the stream's buffer fills while the connection is still writing.
TEST_F(ListenerTest, EventStreamOverflowClosesAReaderThatStoppedReading) {
  options_.limits.max_stream_buffer_bytes = 64u << 10;
  options_.limits.write_timeout = 60s;  // the overflow, not the write deadline, must end it
  add_basic_routes();
  start();
  RawClient c(port_, nullptr, /*rcvbuf=*/4096);
  ASSERT_TRUE(c.send(get("/stream")));
  ASSERT_TRUE(c.read_head());
  auto stream = streams_.take();
  ASSERT_TRUE(stream);
  const std::string event = "data: " + std::string(16u << 10, 'e') + "\n\n";
  bool refused = false;
  for (std::size_t sent = 0; sent < (256u << 20) && !refused; sent += event.size()) {
    refused = !(*stream)->send(event);
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_TRUE(refused);
  EXPECT_FALSE((*stream)->open());
  EXPECT_TRUE(wait_metric(closed_series("stream_overflow"), 1));
  EXPECT_TRUE(c.wait_closed());
}

TEST_F(ListenerTest, EventStreamOverflowClosesASlowReader) {
  options_.limits.max_stream_buffer_bytes = 8192;
  options_.limits.write_timeout = 60s;  // the overflow, not the write deadline, must end it
  add_basic_routes();
  start();
  RawClient c(port_, nullptr, /*rcvbuf=*/4096);
  ASSERT_TRUE(c.send(get("/stream")));
  ASSERT_TRUE(c.read_head());
  auto stream = streams_.take();
  ASSERT_TRUE(stream);
  // The client reads nothing more: once the socket buffers are full, the stream's buffer fills.
  const std::string event = "data: " + std::string(1000, 'e') + "\n\n";
  bool refused = false;
  for (std::size_t sent = 0; sent < (256u << 20) && !refused; sent += event.size()) {
    refused = !(*stream)->send(event);
  }
  EXPECT_TRUE(refused);
  EXPECT_FALSE((*stream)->open());
  EXPECT_TRUE(wait_metric(closed_series("stream_overflow"), 1));
  EXPECT_TRUE(c.wait_closed());
  EXPECT_EQ(metric(closed_series("write_timeout")), 0);
}

// ---- Stopping and restarting -------------------------------------------------------------------

TEST_F(ListenerTest, GracefulStopClosesIdleConnectionsAndFinishesRequestsInFlight) {
  options_.limits.idle_timeout = 60s;  // only the stop may close the idle connection
  options_.limits.header_timeout = 60s;
  add_basic_routes();
  start();
  RawClient idle(port_);
  ASSERT_TRUE(idle.send(get("/hello")));
  ASSERT_TRUE(idle.read_response());
  RawClient silent(port_);  // connected, nothing sent
  RawClient streaming(port_);
  ASSERT_TRUE(streaming.send(get("/stream")));
  ASSERT_TRUE(streaming.read_head());
  auto stream = streams_.take();
  ASSERT_TRUE(stream);
  RawClient busy(port_);
  ASSERT_TRUE(busy.send(get("/park")));
  auto responder = parked_.take();
  ASSERT_TRUE(responder);

  listener_->stop(30s);
  EXPECT_TRUE(idle.wait_closed());
  EXPECT_TRUE(silent.wait_closed());
  const auto last = streaming.read_chunk();  // the stream's body is ended, not cut
  ASSERT_TRUE(last);
  EXPECT_EQ(*last, "");
  EXPECT_TRUE(streaming.wait_closed());
  EXPECT_FALSE((*stream)->open());
  // The listening socket is closed: a new client is refused.
  EXPECT_FALSE(RawClient(port_).connected());

  // The request in flight still gets its answer, then its connection ends and serve() returns.
  responder->send(Response::text(200, "finished\n"));
  const auto res = busy.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "finished\n");
  EXPECT_EQ(res->header("Connection"), "close");
  EXPECT_TRUE(busy.wait_closed());
  busy.close();
  EXPECT_TRUE(wait_served());
  EXPECT_FALSE(listener_->serving());
  EXPECT_EQ(metric(closed_series("shutdown")), 3);
  EXPECT_EQ(metric("opsready_http_connections_open"), 0);
}

TEST_F(ListenerTest, StopWithZeroGraceClosesEverything) {
  add_basic_routes();
  start();
  RawClient busy(port_);
  ASSERT_TRUE(busy.send(get("/park")));
  auto responder = parked_.take();
  ASSERT_TRUE(responder);
  RawClient half(port_);
  ASSERT_TRUE(half.send("GET /hello HTTP/1.1\r\nHost: te"));
  ASSERT_TRUE(wait_metric("opsready_http_connections_open", 2));

  listener_->stop(core::Duration::zero());
  EXPECT_FALSE(busy.read_response());  // closed without an answer
  EXPECT_TRUE(busy.wait_closed());
  EXPECT_TRUE(half.wait_closed());
  EXPECT_TRUE(wait_served());
  EXPECT_EQ(metric(closed_series("shutdown")), 2);
  // Answering an exchange whose connection is gone is harmless.
  responder->send(Response::text(200, "too late\n"));
}

TEST_F(ListenerTest, GraceEndsARequestThatDoesNotFinish) {
  add_basic_routes();
  start();
  RawClient busy(port_);
  ASSERT_TRUE(busy.send(get("/park")));
  auto responder = parked_.take();
  ASSERT_TRUE(responder);
  listener_->stop(200ms);
  EXPECT_TRUE(busy.wait_closed());
  EXPECT_TRUE(wait_served());
  EXPECT_EQ(metric(closed_series("shutdown")), 1);
}

TEST_F(ListenerTest, StopBeforeServeMakesServeReturnPromptly) {
  add_basic_routes();
  auto port = listener().bind();
  ASSERT_TRUE(port.has_value());
  listener().stop();
  serve();
  EXPECT_TRUE(wait_served());
  EXPECT_FALSE(listener().serving());
}

TEST_F(ListenerTest, StopBeforeServeMakesServeReturnPromptlyWithTwoNetworkThreads) {
  options_.limits.threads = 2;
  add_basic_routes();
  auto port = listener().bind();
  ASSERT_TRUE(port.has_value());
  listener().stop();
  serve();
  EXPECT_TRUE(wait_served());
}

// stop() arrives while the stream's head is still being written (the handler stops the
// listener itself, so the stop is queued before the write completes): the stream ends all the
// same, not after the grace.
TEST_F(ListenerTest, StopWhileAStreamHeadIsWrittenEndsTheStream) {
  listener().route("GET", "/stream-then-stop", "stream_then_stop", [this](Request&, Responder res) {
    streams_.put(res.stream());
    listener_->stop(30s);
  });
  start();
  RawClient c(port_);
  ASSERT_TRUE(c.send(get("/stream-then-stop")));
  const auto head = c.read_head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  const auto last = c.read_chunk();
  ASSERT_TRUE(last);
  EXPECT_EQ(*last, "");
  EXPECT_TRUE(c.wait_closed());
  EXPECT_TRUE(wait_served());
  auto stream = streams_.take();
  ASSERT_TRUE(stream);
  EXPECT_FALSE((*stream)->open());
}

TEST_F(ListenerTest, StopTwiceIsHarmless) {
  add_basic_routes();
  start();
  listener_->stop(10s);
  listener_->stop(core::Duration::zero());
  EXPECT_TRUE(wait_served());
}

TEST_F(ListenerTest, ServesAgainAfterAStop) {
  add_basic_routes();
  for (int round = 0; round < 3; ++round) {
    auto port = listener().bind();
    ASSERT_TRUE(port.has_value()) << round << ": " << port.error().message;
    port_ = *port;
    serve();
    RawClient c(port_);
    ASSERT_TRUE(c.send(get("/hello")));
    const auto res = c.read_response();
    ASSERT_TRUE(res) << round;
    EXPECT_EQ(res->status, 200) << round;
    listener_->stop(1s);
    EXPECT_TRUE(c.wait_closed()) << round;
    ASSERT_TRUE(wait_served()) << round;
  }
  EXPECT_EQ(metric(requests_series("hello", 200)), 3);
}

TEST_F(ListenerTest, BindNamesTheAddressWhenItFails) {
  options_.host = "203.0.113.1";  // TEST-NET-3: not an address of this host
  auto port = listener().bind();
  ASSERT_FALSE(port.has_value());
  EXPECT_EQ(port.error().code, "bind_failed");
  EXPECT_NE(port.error().message.find("203.0.113.1"), std::string::npos) << port.error().message;
}

// ---- Several network threads -------------------------------------------------------------------

TEST_F(ListenerTest, TwoNetworkThreadsShareTheConnections) {
  options_.limits.threads = 2;
  Slot<std::thread::id> ran_on;
  listener().route("GET", "/who", "who", [&ran_on](Request&, Responder res) {
    ran_on.put(std::this_thread::get_id());
    res.send(Response::text(200, "ok"));
  });
  add_basic_routes();
  start();
  constexpr int kClients = 16;
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(std::make_unique<RawClient>(port_));
  for (int round = 0; round < 3; ++round) {
    for (auto& c : clients) ASSERT_TRUE(c->send(get("/who")));
    for (auto& c : clients) {
      const auto res = c->read_response();
      ASSERT_TRUE(res) << round;
      EXPECT_EQ(res->status, 200);
    }
  }
  std::set<std::thread::id> threads;
  for (int i = 0; i < 3 * kClients; ++i) {
    const auto id = ran_on.take();
    ASSERT_TRUE(id);
    threads.insert(*id);
  }
  EXPECT_EQ(threads.size(), 2u);  // connections go to the network threads in turn

  // A stream and a parked exchange on either thread still end with a graceful stop.
  RawClient s1(port_), s2(port_);
  ASSERT_TRUE(s1.send(get("/stream")));
  ASSERT_TRUE(s2.send(get("/stream")));
  ASSERT_TRUE(s1.read_head());
  ASSERT_TRUE(s2.read_head());
  listener_->stop(10s);
  EXPECT_TRUE(s1.wait_closed());
  EXPECT_TRUE(s2.wait_closed());
  for (auto& c : clients) EXPECT_TRUE(c->wait_closed());
  EXPECT_TRUE(wait_served());
}

}  // namespace
}  // namespace opsready::server
