#include "opsready/server/http_listener.h"

#include <spdlog/spdlog.h>
#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>

#include <array>
#include <ctime>
#include <latch>
#include <list>
#include <optional>

#include "opsready/core/compression.h"
#include "opsready/server/http_parser.h"

namespace opsready::server {
namespace {

using SteadyClock = std::chrono::steady_clock;
using asio::ip::tcp;
constexpr auto kTuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr SteadyClock::time_point kNever = SteadyClock::time_point::max();
// How long an error response's connection keeps reading (and discarding) what the client still
// sends before it is closed, so that the client reads the response rather than a reset.
constexpr auto kLinger = std::chrono::seconds(2);
constexpr std::size_t kMinBuffer = 4096;
constexpr std::size_t kMaxBuffer = 64u << 10;
// Bodies below this are copied into the response head's buffer and written with it.
constexpr std::size_t kInlineBody = 16u << 10;

// Why a connection ended: the label of opsready_http_connections_closed_total.
enum class CloseReason {
  kClientClosed,    // the client closed it (or reset it)
  kDone,            // after a response, as the request or the server asked (Connection: close)
  kIdleTimeout,     // no new request within idle_timeout
  kHeaderTimeout,   // the request headers did not arrive within header_timeout
  kBodyTimeout,     // the body did not arrive within body_timeout
  kWriteTimeout,    // the client did not read the response within write_timeout
  kHeaderTooLarge,  // 431
  kBodyTooLarge,    // 413
  kBadRequest,      // 400/505: not HTTP/1.x the parser accepts
  kMaxConnections,  // refused at accept: max_connections
  kMaxPerClient,    // refused at accept: max_connections_per_client
  kStreamOverflow,  // an event stream's client fell max_stream_buffer_bytes behind
  kShutdown,        // the server stopped
  kError,           // a socket error on the server's side
};
constexpr std::array kCloseReasons = {"client_closed",
                                      "done",
                                      "idle_timeout",
                                      "header_timeout",
                                      "body_timeout",
                                      "write_timeout",
                                      "header_too_large",
                                      "body_too_large",
                                      "bad_request",
                                      "max_connections",
                                      "max_connections_per_client",
                                      "stream_overflow",
                                      "shutdown",
                                      "error"};

enum class Phase { kIdle, kHeader, kBody, kHandler, kWrite, kStream, kLinger };

bool compressible(std::string_view type) {
  return type.starts_with("text/") || type.starts_with("application/json") ||
         type.starts_with("application/health+json") || type.find("+json") != type.npos;
}

// True when an Accept-Encoding value admits gzip (a plain "gzip", or a q-value above 0). "*"
// speaks for gzip only when gzip is not named (RFC 9110 §12.5.3).
bool accepts_gzip(std::string_view accept) {
  bool any = false;  // what "*" says
  for (std::size_t pos = 0; pos < accept.size();) {
    auto comma = accept.find(',', pos);
    if (comma == accept.npos) comma = accept.size();
    std::string_view item = accept.substr(pos, comma - pos);
    pos = comma + 1;
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    const auto semi = item.find(';');
    std::string_view coding = item.substr(0, semi);
    while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t')) {
      coding.remove_suffix(1);
    }
    const bool gzip = iequals(coding, "gzip");
    if (!gzip && coding != "*") continue;
    const auto q = semi == item.npos ? item.npos : item.find("q=", semi);
    const bool ok =
        q == item.npos || std::strtod(std::string(item.substr(q + 2)).c_str(), nullptr) > 0;
    if (gzip) return ok;
    any = ok;
  }
  return any;
}

}  // namespace

struct Listener::Stats {
  explicit Stats(metrics::Registry& r)
      : accepted(r.counter("opsready_http_connections_accepted_total",
                           "TCP connections accepted by the HTTP listener.")
                     .with({})),
        closed(r.counter("opsready_http_connections_closed_total",
                         "HTTP connections that ended, by reason (a refused connection ends at "
                         "once with reason max_connections or max_connections_per_client).",
                         {"reason"})),
        open(r.gauge("opsready_http_connections_open", "HTTP connections open now.").with({})),
        streams(
            r.gauge("opsready_http_streams_open", "Server-sent-event streams open now.").with({})),
        requests(r.counter("opsready_http_requests_total",
                           "HTTP requests answered, by route and status code.",
                           {"handler", "code"})),
        offloaded(r.counter("opsready_http_offloaded_requests_total",
                            "Requests whose handler ran on the worker pool rather than the "
                            "network thread (large bodies, blocking routes), by route.",
                            {"handler"})) {
    for (std::size_t i = 0; i < kCloseReasons.size(); ++i) {
      by_reason[i] = &closed.with({kCloseReasons[i]});
    }
  }
  metrics::Counter& accepted;
  metrics::CounterFamily& closed;
  metrics::Gauge& open;
  metrics::Gauge& streams;
  metrics::CounterFamily& requests;
  metrics::CounterFamily& offloaded;
  std::array<metrics::Counter*, kCloseReasons.size()> by_reason{};

  void count_close(CloseReason r) { by_reason[static_cast<std::size_t>(r)]->inc(); }
};

// One network thread's io_context and the connections it owns.
struct Listener::Loop {
  asio::io_context ctx{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  asio::steady_timer sweep{ctx};
  std::list<Connection*> connections;
  bool stopping = false;
  // Hand-over from the acceptor (on loop 0) to this loop: a connection spawned here after the
  // loop finished would never run, so both sides take the mutex.
  std::mutex handoff_mu;
  std::size_t incoming = 0;  // spawned here, not started yet
  bool finished = false;
  SteadyClock::time_point hard_deadline = kNever;
  std::time_t date_second = 0;
  std::string date;  // "Date: ...\r\n", refreshed once a second

  const std::string& date_header() {
    const std::time_t now = std::time(nullptr);
    if (now != date_second) {
      date_second = now;
      std::tm tm{};
      gmtime_r(&now, &tm);
      char buf[64];
      const std::size_t n =
          std::strftime(buf, sizeof buf, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
      date.assign(buf, n);
    }
    return date;
  }
};

struct Listener::Pools {
  explicit Pools(std::size_t threads, std::size_t workers)
      : network(threads > 1 ? std::make_unique<asio::thread_pool>(threads - 1) : nullptr),
        workers(std::max<std::size_t>(workers, 1)) {}
  std::unique_ptr<asio::thread_pool> network;  // the network threads but the caller's
  asio::thread_pool workers;
};

struct Listener::Acceptor {
  explicit Acceptor(asio::io_context& ctx) : acceptor(ctx) {}
  tcp::acceptor acceptor;
};

namespace detail {

struct Exchange {
  std::shared_ptr<Listener::Connection> conn;
  Request request;
  const Listener::Route* route = nullptr;
  Listener::RouteCounters* counters = nullptr;  // the route's, or the unrouted ones
  bool head = false;
  bool gzip_ok = false;
  std::size_t compress_min = 0;
  std::atomic<bool> answered{false};
};

struct StreamState {
  std::weak_ptr<Listener::Connection> conn;
  std::size_t max_buffer = 0;
  std::mutex mu;
  std::string pending;  // guarded by mu
  bool closed = false;  // guarded by mu
  bool overflow = false;
  bool wake_posted = false;

  StreamState(std::weak_ptr<Listener::Connection> c, std::size_t max)
      : conn(std::move(c)), max_buffer(max) {}
  void wake();
};

}  // namespace detail

class Listener::Connection : public std::enable_shared_from_this<Listener::Connection> {
 public:
  Connection(Listener& listener, Loop& loop, tcp::socket socket, std::string client)
      : l_(listener),
        loop_(loop),
        socket_(std::move(socket)),
        client_(std::move(client)),
        wake_(loop.ctx) {
    wake_.expires_at(asio::steady_timer::time_point::max());
  }

  asio::io_context::executor_type executor() { return loop_.ctx.get_executor(); }
  Listener& listener() { return l_; }

  // The connection's coroutine. `self` is a parameter, so the frame owns the connection from
  // the moment co_spawn takes it (on another loop, the coroutine starts later).
  static asio::awaitable<void> run(std::shared_ptr<Connection> self) { co_await self->serve(); }

  asio::awaitable<void> serve() {
    {
      std::lock_guard handoff(loop_.handoff_mu);
      --loop_.incoming;
    }
    pos_ = loop_.connections.insert(loop_.connections.end(), this);
    if (loop_.stopping) close(CloseReason::kShutdown);
    try {
      co_await serve_requests();
    } catch (const std::exception& e) {
      spdlog::error("http: connection from {} failed: {}", client_, e.what());
      close(CloseReason::kError);
    }
    close(CloseReason::kClientClosed);  // no-op when a reason was recorded
    l_.stats_->count_close(reason_);
    loop_.connections.erase(pos_);
    l_.release(client_);
    // The exchange refers back to this connection: break the cycle.
    exchange_.reset();
    pending_stream_.reset();
    current_stream_.reset();
    l_.maybe_finish(loop_);
  }

  // On the loop's thread. The first reason wins.
  void close(CloseReason reason) {
    if (closed_) return;
    closed_ = true;
    reason_ = reason;
    asio::error_code ec;
    socket_.close(ec);
    wake_.cancel();
    if (current_stream_) {
      std::lock_guard lock(current_stream_->mu);
      current_stream_->closed = true;
    }
  }

  // The sweep: closes the connection when its phase's deadline has passed.
  void sweep(SteadyClock::time_point now) {
    if (closed_ || now < deadline_) return;
    switch (phase_) {
      case Phase::kIdle:
        return close(CloseReason::kIdleTimeout);
      case Phase::kHeader:
        return close(CloseReason::kHeaderTimeout);
      case Phase::kBody:
        return close(CloseReason::kBodyTimeout);
      case Phase::kWrite:
        return close(CloseReason::kWriteTimeout);
      case Phase::kLinger:
        return close(linger_reason_);
      case Phase::kHandler:
      case Phase::kStream:
        return;  // no deadline
    }
  }

  // Graceful stop: what is idle ends now, what is in flight ends after its response.
  void on_stop() {
    close_after_ = true;
    if (phase_ == Phase::kIdle || (phase_ == Phase::kHeader && !parser_.started())) {
      close(CloseReason::kShutdown);
    } else if (current_stream_) {  // waiting for events, or still writing the last ones
      {
        std::lock_guard lock(current_stream_->mu);
        current_stream_->closed = true;
      }
      wake_.cancel();
    }
  }

  void force_close() { close(CloseReason::kShutdown); }

  // A handler's answer, on the loop's thread.
  void complete(const std::shared_ptr<detail::Exchange>& ex, Response response,
                std::shared_ptr<detail::StreamState> stream) {
    if (ex != exchange_ || closed_) return;  // the connection has moved on or ended
    response_ = std::move(response);
    pending_stream_ = std::move(stream);
    wake_.cancel();
  }

  void wake() {
    // An overflowed stream ends now, even while its write to the stalled client is pending (the
    // stream's loop would only see the overflow once that write completes).
    if (current_stream_) {
      bool overflow = false;
      {
        std::lock_guard lock(current_stream_->mu);
        overflow = current_stream_->overflow;
      }
      if (overflow) close(CloseReason::kStreamOverflow);
    }
    wake_.cancel();
  }

 private:
  void set_phase(Phase p, SteadyClock::time_point deadline) {
    phase_ = p;
    deadline_ = deadline;
  }
  static SteadyClock::time_point after(core::Duration d) {
    return SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(d);
  }

  std::string_view unread() const { return {buffer_.get() + begin_, end_ - begin_}; }

  // Reads what the client sent into the buffer; false when the connection is over.
  asio::awaitable<bool> read_more() {
    if (begin_ == end_) begin_ = end_ = 0;
    if (end_ == capacity_) {
      if (begin_ > 0) {
        std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
      } else {
        grow(capacity_ == 0 ? kMinBuffer : capacity_ * 2);
      }
    }
    if (capacity_ == 0) grow(kMinBuffer);
    auto [ec, n] = co_await socket_.async_read_some(
        asio::buffer(buffer_.get() + end_, capacity_ - end_), kTuple);
    if (ec || n == 0) {
      close(CloseReason::kClientClosed);
      co_return false;
    }
    end_ += n;
    // A body arriving in full-buffer reads: read in larger pieces.
    if (end_ == capacity_ && capacity_ < kMaxBuffer && phase_ == Phase::kBody) grow(capacity_ * 2);
    co_return true;
  }

  // A header must be whole in the buffer for the parser, so it may grow past kMaxBuffer up to
  // twice the header limit (the parser refuses the header before that).
  void grow(std::size_t size) {
    const std::size_t cap = std::max(kMaxBuffer, 2 * l_.options_.limits.max_header_bytes);
    size = std::min(std::max(size, kMinBuffer), std::max(cap, capacity_));
    if (size <= capacity_) return;
    auto bigger = std::make_unique<char[]>(size);
    if (end_ > begin_) std::memcpy(bigger.get(), buffer_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
    buffer_ = std::move(bigger);
    capacity_ = size;
  }

  // An idle connection keeps a small buffer only.
  void shrink_if_idle() {
    if (begin_ == end_ && capacity_ > kMinBuffer * 4) {
      buffer_.reset();
      capacity_ = begin_ = end_ = 0;
    }
  }

  asio::awaitable<bool> write(std::string_view head, std::string_view body = {}) {
    set_phase(Phase::kWrite, after(l_.options_.limits.write_timeout));
    std::array<asio::const_buffer, 2> bufs = {asio::buffer(head.data(), head.size()),
                                              asio::buffer(body.data(), body.size())};
    auto [ec, n] = co_await asio::async_write(socket_, bufs, kTuple);
    if (ec) {
      close(CloseReason::kClientClosed);
      co_return false;
    }
    co_return true;
  }

  asio::awaitable<void> serve_requests() {
    const auto& opt = l_.options_;
    const ParseLimits limits{.max_header_bytes = opt.limits.max_header_bytes,
                             .max_body_bytes = opt.max_body_bytes};
    bool first = true;
    while (!closed_) {
      parser_.reset(limits);
      // A new connection must send its request within header_timeout; a kept-alive one may
      // wait idle_timeout for the first byte of the next.
      if (first) {
        set_phase(Phase::kHeader, after(opt.limits.header_timeout));
      } else {
        set_phase(Phase::kIdle, after(opt.limits.idle_timeout));
        if (close_after_) co_return close(CloseReason::kShutdown);
        shrink_if_idle();
      }
      first = false;
      bool continued = false;
      for (;;) {
        if (begin_ < end_) {
          if (phase_ == Phase::kIdle) set_phase(Phase::kHeader, after(opt.limits.header_timeout));
          begin_ += parser_.feed(unread());
          const ParseState st = parser_.state();
          if (st == ParseState::kDone) break;
          if (st == ParseState::kError) co_return co_await fail_request();
          if (st == ParseState::kHeaderDone) {
            set_phase(Phase::kBody, after(opt.limits.body_timeout));
            if (!continued && begin_ == end_ && parser_.expects_continue()) {
              continued = true;
              if (!co_await write("HTTP/1.1 100 Continue\r\n\r\n")) co_return;
              set_phase(Phase::kBody, after(opt.limits.body_timeout));
            }
            if (begin_ < end_) continue;
          }
        }
        if (!co_await read_more()) co_return;
      }
      if (!co_await dispatch()) co_return;
    }
  }

  // A request the parser refused: answer, then read and discard for a moment before closing.
  asio::awaitable<void> fail_request() {
    int status = 400;
    CloseReason reason = CloseReason::kBadRequest;
    std::string message = "malformed HTTP request: " + parser_.error_message();
    switch (parser_.error()) {
      case ParseError::kHeaderTooLarge:
        status = 431;
        reason = CloseReason::kHeaderTooLarge;
        message = "request header larger than " +
                  std::to_string(l_.options_.limits.max_header_bytes) + " bytes";
        break;
      case ParseError::kBodyTooLarge:
        status = 413;
        reason = CloseReason::kBodyTooLarge;
        message = "request body too large (limit " + std::to_string(l_.options_.max_body_bytes) +
                  " bytes); nothing was applied";
        break;
      case ParseError::kBadVersion:
        status = 505;
        message = "only HTTP/1.0 and HTTP/1.1 are served";
        break;
      case ParseError::kBadRequest:
      case ParseError::kNone:
        break;
    }
    RouteCounters* counters = l_.unrouted_.get();
    if (status == 413) {  // the header is whole: the route is known
      std::string allow;
      const std::string_view target = parser_.target();
      if (const Route* r = l_.find(std::string(parser_.method()),
                                   decode_path(target.substr(0, target.find('?'))), allow)) {
        counters = r->counters.get();
      }
    }
    Response res = l_.error(status, std::move(message));
    counters->count(res.status);
    std::string head;
    serialize_head(res, /*head_only=*/false, /*close=*/true, head);
    if (!co_await write(head, res.body)) co_return;
    co_await linger(reason);
  }

  // Half-closes, then reads and discards what the client still sends until it closes or kLinger
  // has passed: closing a socket with unread bytes resets the connection, and a reset can destroy
  // the response before the client has read it. The connection is counted as `reason`.
  asio::awaitable<void> linger(CloseReason reason) {
    asio::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    linger_reason_ = reason;
    set_phase(Phase::kLinger, after(kLinger));
    while (!closed_) {
      begin_ = end_ = 0;
      if (!co_await read_more()) break;
    }
    if (!closed_) close(reason);
    // A read that ended the linger recorded client_closed; `reason` is why it ended.
    reason_ = reason;
  }

  void serialize_head(const Response& res, bool head_only, bool close, std::string& out) {
    out.clear();
    out += "HTTP/1.1 ";
    out += std::to_string(res.status);
    out += ' ';
    out += reason_phrase(res.status);
    out += "\r\n";
    if (!res.content_type.empty()) {
      out += "Content-Type: ";
      out += res.content_type;
      out += "\r\n";
    }
    // 1xx, 204 and 304 responses have neither a body nor a Content-Length (RFC 9110 §8.6).
    const bool bodiless = res.status < 200 || res.status == 204 || res.status == 304;
    if (!bodiless) {
      out += "Content-Length: ";
      out += std::to_string(res.body.size());
      out += "\r\n";
    }
    out += loop_.date_header();
    for (const auto& h : res.headers) {
      out += h.name;
      out += ": ";
      out += h.value;
      out += "\r\n";
    }
    if (close) out += "Connection: close\r\n";
    out += "\r\n";
    if (!head_only && !bodiless && res.body.size() < kInlineBody) out += res.body;
  }

  // Routes and runs the request, waits for its answer and writes it; false when the connection
  // is over.
  asio::awaitable<bool> dispatch() {
    auto ex = std::make_shared<detail::Exchange>();
    ex->conn = shared_from_this();
    parser_.take(ex->request);
    ex->request.remote = client_;
    ex->head = ex->request.method == "HEAD";
    ex->gzip_ok = accepts_gzip(ex->request.header("Accept-Encoding"));
    ex->compress_min = l_.options_.compress_min_bytes;
    const bool keep_alive = parser_.keep_alive();
    // An HTTP/1.0 connection is kept alive only when the response says so.
    const bool http10 = parser_.version() == 10;
    exchange_ = ex;
    response_.reset();
    pending_stream_.reset();
    set_phase(Phase::kHandler, kNever);

    std::string allow;
    const Route* route = l_.find(ex->head ? std::string("GET") : ex->request.method,
                                 ex->request.path, allow, &ex->request.path_params);
    if (route == nullptr) {
      ex->counters = l_.unrouted_.get();
      Response res =
          allow.empty()
              ? l_.error(404, "no route for " + ex->request.method + " " + ex->request.path)
              : l_.error(405,
                         "method " + ex->request.method + " not allowed for " + ex->request.path);
      if (!allow.empty()) res.set_header("Allow", allow);
      Responder(ex).send(std::move(res));
    } else {
      ex->route = route;
      ex->counters = route->counters.get();
      const bool gzip_body = iequals(ex->request.header("Content-Encoding"), "gzip");
      const std::size_t cost = ex->request.body.size() * (gzip_body ? 16 : 1);
      if (route->offload == Offload::kAlways || (route->offload == Offload::kLargeBodies &&
                                                 cost >= l_.options_.limits.offload_body_bytes)) {
        l_.stats_->offloaded.with({route->counters->name()}).inc();
        l_.offload([ex] { run_handler(ex); });
      } else {
        run_handler(ex);
      }
    }
    while (!response_ && !closed_) {
      auto [ec] = co_await wake_.async_wait(kTuple);
      static_cast<void>(ec);
    }
    if (closed_) co_return false;
    exchange_.reset();
    Response res = std::move(*response_);
    response_.reset();
    if (pending_stream_) co_return co_await stream(std::move(res), std::move(pending_stream_));
    const bool close = !keep_alive || close_after_;
    if (http10 && !close) res.set_header("Connection", "keep-alive");
    std::string& head = head_buffer_;
    if (res.status < 200 || res.status == 204 || res.status == 304) res.body.clear();
    serialize_head(res, ex->head, close, head);
    const bool separate_body = !ex->head && res.body.size() >= kInlineBody;
    if (!co_await write(head, separate_body ? std::string_view(res.body) : std::string_view{})) {
      co_return false;
    }
    if (close) {
      // The client may have sent more (pipelined requests) that must not reset this response.
      co_await linger(CloseReason::kDone);
      co_return false;
    }
    co_return true;
  }

  void close_connection(CloseReason reason) {
    asio::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    close(reason);
  }

  // Runs the route's handler (on the network thread or a worker): undoes the content coding,
  // then calls it. An exception or a dropped Responder answers 500.
  static void run_handler(const std::shared_ptr<detail::Exchange>& ex) {
    Request& req = ex->request;
    const std::string_view coding = req.header("Content-Encoding");
    if (!coding.empty() && !iequals(coding, "identity")) {
      Listener& l = ex->conn->l_;
      if (!iequals(coding, "gzip")) {
        Responder(ex).send(l.error(415, "Content-Encoding '" + std::string(coding) +
                                            "' is not supported (use gzip or none)"));
        return;
      }
      std::string inflated;
      if (auto ok = core::gunzip(req.body, l.options_.max_body_bytes, inflated); !ok) {
        const bool too_large = ok.error().code == "too_large";
        Responder(ex).send(
            l.error(too_large ? 413 : 400, too_large ? ok.error().message + "; nothing was applied"
                                                     : "request body: " + ok.error().message));
        return;
      }
      req.body = std::move(inflated);
    }
    try {
      ex->route->handler(req, Responder(ex));
    } catch (const std::exception& e) {
      spdlog::error("http: {} {} failed: {}", req.method, req.path, e.what());
      Responder(ex).send(ex->conn->l_.error(500, "internal error"));
    }
  }

  // Writes the stream's head, then whatever the stream's writer queues, until either side ends
  // it; then the connection ends. Always false (the connection is over).
  asio::awaitable<bool> stream(Response head, std::shared_ptr<detail::StreamState> st) {
    current_stream_ = st;
    l_.stats_->streams.inc();
    std::string out =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
        "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n"
        "Connection: close\r\n";
    out += loop_.date_header();
    for (const auto& h : head.headers) out += h.name + ": " + h.value + "\r\n";
    out += "\r\n";
    bool ok = co_await write(out);
    // A client that goes away is noticed by reading: a stream's client sends nothing else.
    if (ok) asio::co_spawn(loop_.ctx, watch_client(shared_from_this()), asio::detached);
    while (ok && !closed_) {
      std::string chunk;
      bool ended = false;
      bool overflow = false;
      {
        std::lock_guard lock(st->mu);
        chunk.swap(st->pending);
        // A stream that began after stop() reached this connection ends at once, too.
        ended = st->closed || close_after_;
        overflow = st->overflow;
        st->wake_posted = false;
      }
      if (overflow) {
        close(CloseReason::kStreamOverflow);
        break;
      }
      if (!chunk.empty()) {
        char size[24];
        const int n = std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
        chunk.insert(0, size, static_cast<std::size_t>(n));
        chunk += "\r\n";
        ok = co_await write(chunk);
        continue;
      }
      if (ended) {
        ok = co_await write("0\r\n\r\n");
        break;
      }
      set_phase(Phase::kStream, kNever);
      auto [ec] = co_await wake_.async_wait(kTuple);
      static_cast<void>(ec);
    }
    {
      std::lock_guard lock(st->mu);
      st->closed = true;
    }
    l_.stats_->streams.dec();
    // The client watcher still reads the socket, so the connection cannot serve another
    // request: a stream's response says Connection: close.
    close_connection(close_after_ ? CloseReason::kShutdown : CloseReason::kDone);
    co_return false;
  }

  static asio::awaitable<void> watch_client(std::shared_ptr<Connection> self) {
    char sink[512];
    while (!self->closed_ && self->current_stream_) {
      auto [ec, n] = co_await self->socket_.async_read_some(asio::buffer(sink), kTuple);
      if (ec || n == 0) {
        self->close(CloseReason::kClientClosed);
        break;
      }
    }
  }

  Listener& l_;
  Loop& loop_;
  tcp::socket socket_;
  std::string client_;
  asio::steady_timer wake_;
  std::list<Connection*>::iterator pos_;

  std::unique_ptr<char[]> buffer_;
  std::size_t capacity_ = 0, begin_ = 0, end_ = 0;
  RequestParser parser_;
  std::string head_buffer_;

  Phase phase_ = Phase::kHeader;
  SteadyClock::time_point deadline_ = kNever;
  bool closed_ = false;
  bool close_after_ = false;
  CloseReason reason_ = CloseReason::kClientClosed;
  CloseReason linger_reason_ = CloseReason::kBadRequest;

  std::shared_ptr<detail::Exchange> exchange_;
  std::optional<Response> response_;
  std::shared_ptr<detail::StreamState> pending_stream_;
  std::shared_ptr<detail::StreamState> current_stream_;
};

void detail::StreamState::wake() {
  if (auto c = conn.lock()) {
    asio::post(c->executor(), [c] { c->wake(); });
  }
}

// ---- EventStream ---------------------------------------------------------------------------

EventStream::EventStream(std::shared_ptr<detail::StreamState> state) : state_(std::move(state)) {}
EventStream::~EventStream() = default;

bool EventStream::send(std::string_view text) {
  bool post = false;
  bool taken = true;
  {
    std::lock_guard lock(state_->mu);
    if (state_->closed) return false;
    if (state_->pending.size() + text.size() > state_->max_buffer) {
      state_->closed = true;
      state_->overflow = true;
      taken = false;
    } else {
      state_->pending.append(text);
    }
    // An overflow is posted even when a wake is pending: that wake may have run already, while
    // the connection was stuck writing, and the connection must now close.
    post = !std::exchange(state_->wake_posted, true) || !taken;
  }
  if (post) state_->wake();
  return taken;
}

void EventStream::close() {
  {
    std::lock_guard lock(state_->mu);
    if (state_->closed) return;
    state_->closed = true;
  }
  state_->wake();
}

bool EventStream::open() const {
  std::lock_guard lock(state_->mu);
  return !state_->closed;
}

// ---- Responder -----------------------------------------------------------------------------

Responder::Responder(std::shared_ptr<detail::Exchange> exchange) : ex_(std::move(exchange)) {}
Responder::Responder(Responder&&) noexcept = default;
Responder& Responder::operator=(Responder&& other) noexcept {
  if (this != &other) {
    if (ex_) Responder(std::move(ex_));  // answers 500 if still unanswered
    ex_ = std::move(other.ex_);
  }
  return *this;
}

Responder::~Responder() {
  if (ex_ && !ex_->answered.load()) {
    spdlog::error("http: {} {} gave no response", ex_->request.method, ex_->request.path);
    send(ex_->conn->listener().error(500, "internal error: no response"));
  }
}

void Responder::send(Response response) {
  if (!ex_ || ex_->answered.exchange(true)) return;
  auto ex = std::move(ex_);
  if (ex->gzip_ok && !ex->head && response.body.size() >= ex->compress_min &&
      compressible(response.content_type)) {
    bool encoded = false;
    for (const auto& h : response.headers) encoded |= iequals(h.name, "Content-Encoding");
    if (!encoded) {
      response.body = core::gzip(response.body);
      response.set_header("Content-Encoding", "gzip");
      response.set_header("Vary", "Accept-Encoding");
    }
  }
  ex->counters->count(response.status);
  auto conn = ex->conn;
  asio::dispatch(conn->executor(), [conn, ex = std::move(ex), r = std::move(response)]() mutable {
    conn->complete(ex, std::move(r), nullptr);
  });
}

std::shared_ptr<EventStream> Responder::stream(Response head) {
  auto conn = ex_ ? ex_->conn : nullptr;
  auto st = std::make_shared<detail::StreamState>(
      conn, conn ? conn->listener().options().limits.max_stream_buffer_bytes : 0);
  if (!ex_ || ex_->answered.exchange(true)) {
    st->closed = true;
    return std::make_shared<EventStream>(st);
  }
  auto ex = std::move(ex_);
  ex->counters->count(200);
  asio::dispatch(conn->executor(), [conn, ex = std::move(ex), h = std::move(head), st]() mutable {
    conn->complete(ex, std::move(h), st);
  });
  return std::make_shared<EventStream>(st);
}

// ---- Listener ------------------------------------------------------------------------------

Listener::Listener(ListenerOptions options, metrics::Registry& registry)
    : options_(std::move(options)),
      stats_(std::make_unique<Stats>(registry)),
      pools_(std::make_unique<Pools>(std::max<std::size_t>(options_.limits.threads, 1),
                                     options_.limits.workers)) {
  options_.limits.threads = std::max<std::size_t>(options_.limits.threads, 1);
  for (std::size_t i = 0; i < options_.limits.threads; ++i)
    loops_.push_back(std::make_unique<Loop>());
  acceptor_ = std::make_unique<Acceptor>(loops_[0]->ctx);
  unrouted_ = std::make_shared<RouteCounters>(stats_->requests, "unrouted");
  error_renderer_ = [](int status, std::string message) {
    return Response::text(status, message + "\n");
  };
}

Listener::~Listener() {
  stop(core::Duration::zero());
  pools_->workers.join();
  if (pools_->network) pools_->network->join();
}

namespace {
std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    const std::size_t slash = path.find('/', pos);
    const std::size_t end = slash == std::string_view::npos ? path.size() : slash;
    out.emplace_back(path.substr(pos, end - pos));
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  return out;
}

bool is_capture(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}
}  // namespace

void Listener::route(const std::string& method, const std::string& path, std::string name,
                     Handler handler, Offload offload) {
  Route r{std::move(handler), offload,
          std::make_shared<RouteCounters>(stats_->requests, std::move(name))};
  if (path.find('{') == std::string::npos) {
    routes_[path][method] = std::move(r);
    return;
  }
  std::vector<std::string> segments = split_path(path);
  for (Template& t : templates_) {
    if (t.segments == segments) {
      t.methods[method] = std::move(r);
      return;
    }
  }
  templates_.push_back(Template{.segments = std::move(segments), .methods = {}});
  templates_.back().methods[method] = std::move(r);
}

void Listener::set_error_renderer(ErrorRenderer renderer) { error_renderer_ = std::move(renderer); }

const Listener::Route* Listener::find(
    const std::string& method, const std::string& path, std::string& allow,
    std::vector<std::pair<std::string, std::string>>* captures) const {
  const std::unordered_map<std::string, Route>* methods = nullptr;
  if (captures != nullptr) captures->clear();
  if (const auto p = routes_.find(path); p != routes_.end()) {
    methods = &p->second;
  } else if (!templates_.empty()) {
    const std::vector<std::string> segments = split_path(path);
    for (const Template& t : templates_) {
      if (t.segments.size() != segments.size()) continue;
      bool match = true;
      for (std::size_t i = 0; i < segments.size() && match; ++i) {
        match = is_capture(t.segments[i]) ? !segments[i].empty() : t.segments[i] == segments[i];
      }
      if (!match) continue;
      methods = &t.methods;
      if (captures != nullptr) {
        for (std::size_t i = 0; i < segments.size(); ++i) {
          if (is_capture(t.segments[i])) {
            captures->emplace_back(t.segments[i].substr(1, t.segments[i].size() - 2), segments[i]);
          }
        }
      }
      break;
    }
  }
  if (methods == nullptr) return nullptr;
  const auto m = methods->find(method);
  if (m != methods->end()) return &m->second;
  for (const auto& [name, route] : *methods) {
    allow += (allow.empty() ? "" : ", ") + name;
    if (name == "GET") allow += ", HEAD";
  }
  return nullptr;
}

Response Listener::error(int status, std::string message) const {
  return error_renderer_(status, std::move(message));
}

Listener::RouteCounters::RouteCounters(metrics::CounterFamily& family, std::string name)
    : family_(family), name_(std::move(name)) {}

void Listener::RouteCounters::count(int status) {
  if (status < 100 || status > 599) return;
  auto& slot = by_code_[static_cast<std::size_t>(status - 100)];
  metrics::Counter* c = slot.load(std::memory_order_acquire);
  if (c == nullptr) {
    c = &family_.with({name_, std::to_string(status)});  // the same child on every thread
    slot.store(c, std::memory_order_release);
  }
  c->inc();
}

void Listener::offload(std::function<void()> fn) { asio::post(pools_->workers, std::move(fn)); }

core::Result<int> Listener::bind() {
  auto fail = [this](const std::string& why) {
    return core::fail("bind_failed", "cannot listen on " + options_.host + ":" +
                                         std::to_string(options_.port) + " (" + why + ")");
  };
  asio::error_code ec;
  tcp::resolver resolver(loops_[0]->ctx);
  const auto results =
      resolver.resolve(options_.host, std::to_string(options_.port),
                       tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) return fail(ec ? ec.message() : "no address");
  auto& acc = acceptor_->acceptor;
  const tcp::endpoint endpoint = results.begin()->endpoint();
  acc.close(ec);
  acc.open(endpoint.protocol(), ec);
  if (ec) return fail(ec.message());
  acc.set_option(tcp::acceptor::reuse_address(true), ec);
  acc.bind(endpoint, ec);
  if (ec) return fail(ec.message() + "; address in use or not available?");
  acc.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail(ec.message());
  stopping_ = false;
  for (auto& loop : loops_) {
    loop->stopping = false;
    {
      std::lock_guard handoff(loop->handoff_mu);
      loop->finished = false;
    }
    loop->hard_deadline = kNever;
    loop->ctx.restart();
    loop->guard.emplace(loop->ctx.get_executor());
  }
  return static_cast<int>(acc.local_endpoint(ec).port());
}

void Listener::serve() {
  serving_ = true;
  for (auto& loop : loops_) start_sweep(*loop);
  start_accepting();
  std::latch others(static_cast<std::ptrdiff_t>(loops_.size() - 1));
  for (std::size_t i = 1; i < loops_.size(); ++i) {
    asio::post(*pools_->network, [this, i, &others] {
      loops_[i]->ctx.run();
      others.count_down();
    });
  }
  loops_[0]->ctx.run();
  others.wait();
  serving_ = false;
}

void Listener::start_sweep(Loop& loop) {
  const auto shortest = std::min({options_.limits.header_timeout, options_.limits.body_timeout,
                                  options_.limits.idle_timeout, options_.limits.write_timeout});
  const auto period = std::clamp<SteadyClock::duration>(
      std::chrono::duration_cast<SteadyClock::duration>(shortest / 8), std::chrono::milliseconds(5),
      std::chrono::milliseconds(250));
  asio::co_spawn(
      loop.ctx,
      [&loop, period]() -> asio::awaitable<void> {
        // maybe_finish() ends the loop by cancelling the wait and dropping the guard; the guard
        // also tells a sweep that began, or woke, after that cancel (stop() before serve()).
        while (loop.guard) {
          loop.sweep.expires_after(period);
          auto [ec] = co_await loop.sweep.async_wait(kTuple);
          if (ec || !loop.guard) co_return;
          const auto now = SteadyClock::now();
          const bool hard = now >= loop.hard_deadline;
          for (Connection* c : loop.connections) {
            if (hard) {
              c->force_close();
            } else {
              c->sweep(now);
            }
          }
        }
      },
      asio::detached);
}

void Listener::start_accepting() {
  asio::co_spawn(
      loops_[0]->ctx,
      [this]() -> asio::awaitable<void> {
        auto& acc = acceptor_->acceptor;
        auto last_error_log = SteadyClock::time_point{};
        while (!stopping_) {
          Loop& target = *loops_[next_loop_++ % loops_.size()];
          auto [ec, socket] = co_await acc.async_accept(target.ctx, kTuple);
          if (ec) {
            if (stopping_ || ec == asio::error::operation_aborted || !acc.is_open()) break;
            // Out of file descriptors (or a transient error): say so, wait a moment, go on.
            if (SteadyClock::now() - last_error_log > std::chrono::seconds(10)) {
              last_error_log = SteadyClock::now();
              spdlog::error("http: accept failed: {} (connections open: {})", ec.message(),
                            static_cast<std::size_t>(stats_->open.value()));
            }
            stats_->count_close(CloseReason::kError);
            asio::steady_timer pause(loops_[0]->ctx, std::chrono::milliseconds(50));
            co_await pause.async_wait(kTuple);
            continue;
          }
          stats_->accepted.inc();
          asio::error_code ignored;
          socket.set_option(tcp::no_delay(true), ignored);
          const auto remote = socket.remote_endpoint(ignored);
          std::string client = remote.address().to_string();
          bool per_client = false;
          if (!admit(client, per_client)) {
            stats_->count_close(per_client ? CloseReason::kMaxPerClient
                                           : CloseReason::kMaxConnections);
            socket.close(ignored);
            continue;
          }
          {
            // Counted as incoming, the target loop cannot finish before the connection starts;
            // the spawn itself is outside the lock (on this loop it runs inline and takes it).
            std::lock_guard handoff(target.handoff_mu);
            if (target.finished) {  // stopping: that loop serves nothing more
              stats_->count_close(CloseReason::kShutdown);
              socket.close(ignored);
              release(client);
              continue;
            }
            ++target.incoming;
          }
          auto conn =
              std::make_shared<Connection>(*this, target, std::move(socket), std::move(client));
          asio::co_spawn(target.ctx, Connection::run(std::move(conn)), asio::detached);
        }
        maybe_finish(*loops_[0]);
      },
      asio::detached);
}

bool Listener::admit(const std::string& client, bool& per_client) {
  std::lock_guard lock(clients_mu_);
  if (connections_ >= options_.limits.max_connections) {
    per_client = false;
    return false;
  }
  auto& n = per_client_[client];
  if (n >= options_.limits.max_connections_per_client) {
    per_client = true;
    if (n == 0) per_client_.erase(client);
    return false;
  }
  ++n;
  ++connections_;
  stats_->open.set(static_cast<double>(connections_));
  return true;
}

void Listener::release(const std::string& client) {
  std::lock_guard lock(clients_mu_);
  if (const auto it = per_client_.find(client); it != per_client_.end() && --it->second == 0) {
    per_client_.erase(it);
  }
  --connections_;
  stats_->open.set(static_cast<double>(connections_));
}

void Listener::maybe_finish(Loop& loop) {
  if (!loop.stopping || !loop.connections.empty()) return;
  if (&loop == loops_[0].get() && acceptor_->acceptor.is_open()) return;
  {
    std::lock_guard handoff(loop.handoff_mu);
    if (loop.incoming > 0) return;  // it finishes when they have started and ended
    loop.finished = true;
  }
  loop.sweep.cancel();
  loop.guard.reset();
}

void Listener::stop(core::Duration grace) {
  stopping_ = true;
  const auto deadline =
      SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(grace);
  asio::post(loops_[0]->ctx, [this] {
    asio::error_code ec;
    acceptor_->acceptor.close(ec);
  });
  for (auto& l : loops_) {
    Loop* loop = l.get();
    asio::post(loop->ctx, [this, loop, deadline] {
      const bool first = !loop->stopping;
      loop->stopping = true;
      loop->hard_deadline = std::min(loop->hard_deadline, deadline);
      if (first) {
        for (Connection* c : loop->connections) c->on_stop();
      }
      if (SteadyClock::now() >= loop->hard_deadline) {
        for (Connection* c : loop->connections) c->force_close();
      }
      maybe_finish(*loop);
    });
  }
}

}  // namespace opsready::server
