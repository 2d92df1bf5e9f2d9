#pragma once
// HttpServer: opsready's HTTP API over cpp-httplib.
//
//   HttpServer server(backend, registry, {.host = "127.0.0.1", .port = 0});
//   auto port = server.bind();            // the bound port (useful with port 0)
//   server.serve();                       // blocks until stop() is called from elsewhere
//
// Routes: GET /-/healthy, GET /-/ready, POST /api/v1/events, GET /api/v1/readiness
// (?format=markdown, Accept: application/health+json), GET /api/v1/readiness/history,
// GET /api/v1/gate, GET /api/v1/supervision, GET /metrics. See docs/http-api.md.
//
// Lifetime: the backend and registry must outlive the server. serve() runs on the caller's
// thread and dispatches requests to httplib's worker pool; stop() is thread-safe and makes
// serve() return after in-flight requests finish.

#include <cstddef>
#include <memory>
#include <string>

#include "opsready/core/error.h"
#include "opsready/metrics/registry.h"
#include "opsready/server/backend.h"

namespace httplib {
class Server;
}

namespace opsready::server {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 0;
  std::size_t max_body_bytes = 8u << 20;
  std::size_t worker_threads = 4;
  std::string version = "dev";
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

  Backend& backend_;
  metrics::Registry& registry_;
  HttpOptions options_;
  std::unique_ptr<httplib::Server> http_;
  metrics::CounterFamily& requests_;
  metrics::CounterFamily& rejected_;
};

}  // namespace opsready::server
