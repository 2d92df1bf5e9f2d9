#pragma once
// HttpServer: opsready's HTTP API over cpp-httplib.
//
//   HttpServer server(backend, registry, {.host = "127.0.0.1", .port = 0});
//   auto port = server.bind();            // the bound port (useful with port 0)
//   server.serve();                       // blocks until stop() is called from elsewhere
//
// Routes: GET /-/healthy, GET /-/ready, POST /api/v1/events, POST /api/v2/alerts (Alertmanager
// API v2), GET /api/v1/alerts (?active=true), GET /api/v1/readiness (?format=markdown,
// Accept: application/health+json), GET /api/v1/readiness/history, GET /api/v1/gate,
// GET /api/v1/supervision, GET /metrics. See docs/operator-guide.md.
//
// When `ingest_tokens` is not empty, the two ingest routes (POST /api/v1/events and
// POST /api/v2/alerts) require `Authorization: Bearer <token>` and answer 401 otherwise; the
// read-only routes stay open.
//
// Lifetime: the backend and registry must outlive the server. serve() runs on the caller's
// thread and dispatches requests to httplib's worker pool; stop() is thread-safe and makes
// serve() return after in-flight requests finish.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "opsready/core/error.h"
#include "opsready/metrics/registry.h"
#include "opsready/server/auth.h"
#include "opsready/server/backend.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace opsready::server {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 0;
  std::size_t max_body_bytes = 8u << 20;
  std::size_t worker_threads = 4;
  std::string version = "dev";
  // Bearer tokens for the ingest routes; empty: no authentication.
  std::vector<std::string> ingest_tokens;
  // endsAt of a posted alert that has none: received time + this (Alertmanager's
  // resolve_timeout).
  core::Duration alert_resolve_timeout = std::chrono::minutes(5);
};

class HttpServer {
 public:
  HttpServer(Backend& backend, metrics::Registry& registry, HttpOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the listening socket; returns the port or an error naming host and port.
  [[nodiscard]] core::Result<int> bind();
  // Serves until stop(); returns false if serving failed.
  bool serve();
  void stop();
  [[nodiscard]] bool running() const;

 private:
  void install_routes();
  // False (with a 401 reply set and counted) when the ingest route needs a token it lacks.
  bool authorized(const char* handler, const httplib::Request& req, httplib::Response& res);

  Backend& backend_;
  metrics::Registry& registry_;
  HttpOptions options_;
  std::unique_ptr<httplib::Server> http_;
  metrics::CounterFamily& requests_;
  metrics::CounterFamily& rejected_;
  metrics::CounterFamily& alerts_received_;
  metrics::Counter& alerts_invalid_;
  metrics::CounterFamily& unauthorized_;
  BearerTokens tokens_;
};

}  // namespace opsready::server
