#pragma once
// Listener: opsready's event-driven HTTP/1.1 server. Idle, slow and streaming connections cost
// a few kilobytes of memory each, never a thread.
//
//   Listener http(options, registry);
//   http.route("GET", "/-/healthy", "healthy", [](Request&, Responder res) {
//     res.send(Response::text(200, "OK\n"));
//   });
//   http.route("POST", "/api/v1/events", "events", handler, Offload::kLargeBodies);
//   auto port = http.bind();      // the bound port (useful with port 0)
//   http.serve();                 // blocks until stop() has drained every connection
//
// Model. `threads` network threads each run an asio::io_context (one per thread, so a
// connection's state is touched by one thread only, without locks or strands); the acceptor
// runs on the first and hands each connection to the next thread in turn. A connection is a
// coroutine: read what arrived, hand it to the parser (server/http_parser.h, Boost.Beast's
// HTTP/1 parser), and once a request is whole, dispatch it. A handler runs on the network
// thread when it is cheap, or on the worker pool (`workers` threads) when its route says so
// (Offload::kAlways) or its body is large (Offload::kLargeBodies and at least
// offload_body_bytes), so that parsing a big batch never stalls the other connections.
//
// Waiting responses. A handler gets a Responder and may answer at once, or move it anywhere
// and answer later from any thread (a group commit, a long poll): the connection then waits
// without holding any thread. A handler may instead turn the exchange into a server-sent-events
// stream (Responder::stream), fed from any thread.
//
// Limits (ListenerOptions, documented in docs/configuration.md#http): a new connection must
// deliver its request headers within header_timeout of being accepted, a kept-alive one within
// header_timeout of the request's first byte; the body must arrive within body_timeout of the
// header; a kept-alive connection may wait idle_timeout for its next request; a response must
// be written within write_timeout. These are deadlines, not inactivity timers: a client that
// trickles a byte a second is closed all the same. Deadlines are checked by one sweep per
// network thread (every timeout/8, at most every 250 ms), so no timer is armed per request.
// Connections beyond max_connections, or beyond max_connections_per_client from one address,
// are closed as soon as they are accepted. Every connection that ends is counted in
// opsready_http_connections_closed_total{reason}.
//
// Stopping (stop(), thread-safe): the acceptor closes, idle keep-alive connections and event
// streams are closed at once, requests in flight are finished (their response says
// `Connection: close`); what is still open after `grace` is closed. serve() then returns.
//
// Lifetime: routes are added before bind(); the registry outlives the listener. The listener
// may be bound and served again after serve() returned (a supervised restart).

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "opsready/core/clock.h"
#include "opsready/core/error.h"
#include "opsready/metrics/registry.h"
#include "opsready/server/http_message.h"

namespace opsready::server {

// What an operator tunes: the `http:` section of the configuration (docs/configuration.md#http),
// declared once here and read into app::Config as it is.
struct ListenerLimits {
  std::size_t threads = 1;  // network threads (event loops)
  std::size_t workers = 2;  // handlers of large bodies and of routes that render or read the store
  core::Duration header_timeout = std::chrono::seconds(10);
  core::Duration body_timeout = std::chrono::seconds(30);
  core::Duration idle_timeout = std::chrono::seconds(120);
  core::Duration write_timeout = std::chrono::seconds(30);
  std::size_t max_connections = 8192;
  std::size_t max_connections_per_client = 1024;
  std::size_t max_header_bytes = 64u << 10;
  // Bodies at least this large (gzip bodies: a sixteenth of it) are handled on the worker pool
  // by routes with Offload::kLargeBodies.
  std::size_t offload_body_bytes = 64u << 10;
  // An event stream whose client has this much unsent data is closed (a reader too slow to
  // keep up must not make the server buffer without bound).
  std::size_t max_stream_buffer_bytes = 1u << 20;

  bool operator==(const ListenerLimits&) const = default;
};

struct ListenerOptions {
  std::string host = "127.0.0.1";
  int port = 0;
  ListenerLimits limits;
  std::size_t max_body_bytes = 8u << 20;  // ingest.max_body_bytes
  // Responses at least this large are gzip-compressed for clients that accept it
  // (text, JSON and Markdown only).
  std::size_t compress_min_bytes = 1024;
};

// Where a route's handler runs.
enum class Offload {
  kNever,        // on the network thread: the handler must be cheap and must not block
  kLargeBodies,  // on the worker pool when the body is at least offload_body_bytes
  kAlways,       // on the worker pool (the handler may block briefly: a store read)
};

namespace detail {
struct Exchange;
struct StreamState;
}  // namespace detail

// A server-sent-events stream (text/event-stream, chunked). Thread-safe; shared by the
// handler's side and the connection, which may end first (the client went away).
class EventStream {
 public:
  explicit EventStream(std::shared_ptr<detail::StreamState> state);
  ~EventStream();
  // Queues `text` (whole SSE records, e.g. "event: x\ndata: {...}\n\n"); false once the
  // stream is closed (client gone, server stopping, or the client fell too far behind).
  bool send(std::string_view text);
  // Ends the stream (the connection ends the chunked body and may be reused).
  void close();
  [[nodiscard]] bool open() const;

 private:
  std::shared_ptr<detail::StreamState> state_;
};

// The handle a handler answers through: exactly once, from any thread, now or later. Dropping
// it unanswered answers 500 (and logs). Move-only.
class Responder {
 public:
  explicit Responder(std::shared_ptr<detail::Exchange> exchange);
  Responder(Responder&&) noexcept;
  Responder& operator=(Responder&&) noexcept;
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;
  ~Responder();

  void send(Response response);
  // Answers 200 with `head`'s extra headers and content type text/event-stream, then keeps the
  // exchange open as an event stream.
  [[nodiscard]] std::shared_ptr<EventStream> stream(Response head = {});

 private:
  std::shared_ptr<detail::Exchange> ex_;
};

using Handler = std::function<void(Request& req, Responder res)>;
// Builds the body of an error the listener answers itself (404, 405, 400, 413, 415, 431, 500).
using ErrorRenderer = std::function<Response(int status, std::string message)>;

class Listener {
 public:
  Listener(ListenerOptions options, metrics::Registry& registry);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // `name` labels the route in opsready_http_requests_total{handler, code}. HEAD requests are
  // served by the GET route without a body. A path segment `{name}` matches any one non-empty
  // segment, which the handler reads with Request::path_param("name"):
  //   route("DELETE", "/api/v2/silence/{id}", "silence", handler);
  void route(const std::string& method, const std::string& path, std::string name, Handler handler,
             Offload offload = Offload::kNever);
  void set_error_renderer(ErrorRenderer renderer);

  // Binds the listening socket; returns the port or an error naming host and port.
  [[nodiscard]] core::Result<int> bind();
  // Runs the network threads until stop() has finished; blocks the caller (which becomes the
  // first network thread).
  void serve();
  // Thread-safe; may be called before serve() (which then returns at once) and repeatedly.
  void stop(core::Duration grace = std::chrono::seconds(10));
  [[nodiscard]] bool serving() const { return serving_.load(); }
  // Runs `fn` on the worker pool (for work a handler or a publisher must not do on its own
  // thread). Thread-safe.
  void offload(std::function<void()> fn);
  [[nodiscard]] const ListenerOptions& options() const { return options_; }

  // Implementation types, public for the connection code in http_listener.cc only.
  // opsready_http_requests_total{handler=<route>, code} children, found without a lookup.
  class RouteCounters {
   public:
    RouteCounters(metrics::CounterFamily& family, std::string name);
    [[nodiscard]] const std::string& name() const { return name_; }
    void count(int status);

   private:
    metrics::CounterFamily& family_;
    std::string name_;
    std::array<std::atomic<metrics::Counter*>, 500> by_code_{};  // status 100-599
  };
  struct Route {
    Handler handler;
    Offload offload = Offload::kNever;
    std::shared_ptr<RouteCounters> counters;
  };
  struct Stats;
  struct Loop;
  class Connection;

 private:
  friend class Responder;
  void start_accepting();
  void start_sweep(Loop& loop);
  // Ends `loop`'s run() once it is stopping and has no connection left.
  void maybe_finish(Loop& loop);
  // The route for `method` and `path`: an exact path first, then a path template (`{name}`
  // segments), whose captures go to `captures` when given.
  [[nodiscard]] const Route* find(
      const std::string& method, const std::string& path, std::string& allow,
      std::vector<std::pair<std::string, std::string>>* captures = nullptr) const;
  [[nodiscard]] Response error(int status, std::string message) const;
  // Connection accounting (any network thread): false when a limit refuses the connection,
  // with `per_client` saying which.
  bool admit(const std::string& client, bool& per_client);
  void release(const std::string& client);

  ListenerOptions options_;
  std::unique_ptr<Stats> stats_;
  std::unordered_map<std::string, std::unordered_map<std::string, Route>> routes_;  // path, method
  // Paths with `{name}` segments, tried in the order added after no exact path matched.
  struct Template {
    std::vector<std::string> segments;  // "{id}" captures, anything else must be equal
    std::unordered_map<std::string, Route> methods;
  };
  std::vector<Template> templates_;
  ErrorRenderer error_renderer_;
  std::shared_ptr<RouteCounters> unrouted_;  // 404, 405 and requests the parser refused

  std::vector<std::unique_ptr<Loop>> loops_;  // one per network thread
  struct Pools;
  std::unique_ptr<Pools> pools_;
  struct Acceptor;
  std::unique_ptr<Acceptor> acceptor_;
  std::atomic<bool> serving_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> next_loop_{0};

  std::mutex clients_mu_;
  std::unordered_map<std::string, std::size_t> per_client_;
  std::size_t connections_ = 0;  // guarded by clients_mu_
};

}  // namespace opsready::server
