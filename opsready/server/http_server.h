#pragma once
// HttpServer: opsready's HTTP API, served by the event-driven Listener (server/http_listener.h).
//
//   HttpServer server(backend, registry, {.listener = {.host = "127.0.0.1", .port = 0}});
//   auto port = server.bind();            // the bound port (useful with port 0)
//   server.serve();                       // blocks until stop() has drained the connections
//
// Routes: GET /-/healthy, GET /-/ready, POST /api/v1/events, POST /api/v2/alerts (Alertmanager
// API v2), GET /api/v1/alerts (?active=true), GET /api/v1/readiness (?format=markdown,
// Accept: application/health+json), GET /api/v1/readiness/stream (server-sent events: the
// readiness snapshot whenever it changes), GET /api/v1/readiness/history, GET /api/v1/gate,
// GET /api/v1/supervision, GET /metrics. See docs/operator-guide.md.
//
// When `ingest_tokens` is not empty, the two ingest routes (POST /api/v1/events and
// POST /api/v2/alerts) require `Authorization: Bearer <token>` and answer 401 otherwise; the
// read-only routes stay open.
//
// Where handlers run: the cheap routes on the network thread; ingest with a large body, and the
// routes that render or read the store, on the listener's worker pool.
//
// Lifetime: the backend and registry must outlive the server. serve() runs on the caller's
// thread (the first network thread); stop() is thread-safe and makes serve() return once
// in-flight requests are answered. publish_readiness() is thread-safe.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "opsready/core/error.h"
#include "opsready/metrics/registry.h"
#include "opsready/server/auth.h"
#include "opsready/server/backend.h"
#include "opsready/server/http_listener.h"
#include "opsready/server/status_page.h"

namespace opsready::server {

struct HttpOptions {
  ListenerOptions listener;
  std::string version = "dev";
  // Bearer tokens for the ingest routes; empty: no authentication.
  std::vector<std::string> ingest_tokens;
  // endsAt of a posted alert that has none: received time + this (Alertmanager's
  // resolve_timeout).
  core::Duration alert_resolve_timeout = std::chrono::minutes(5);
  // A readiness stream with nothing new gets an SSE comment this often, so that proxies and
  // clients can tell a quiet stream from a dead one.
  core::Duration stream_heartbeat = std::chrono::seconds(15);
  // GET /status, /api/v1/status, /status/summary.json.
  StatusPageOptions status_page;
};

class ReadinessStreams;
class DashboardStreams;

class HttpServer {
 public:
  HttpServer(Backend& backend, metrics::Registry& registry, HttpOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the listening socket; returns the port or an error naming host and port.
  [[nodiscard]] core::Result<int> bind();
  // Serves until stop() has drained every connection.
  void serve();
  // Graceful: in-flight requests are answered, idle connections and streams closed at once;
  // what is still open after `grace` is closed.
  void stop(core::Duration grace = std::chrono::seconds(10));
  [[nodiscard]] bool running() const;

  // A new readiness snapshot was evaluated: readiness streams get it when it differs from the
  // last one sent (generated_at aside), a heartbeat otherwise when one is due.
  void publish_readiness(std::shared_ptr<const readiness::ReadinessSnapshot> snapshot);
  // The dashboard streams' periodic update (alerts, the original's panels, supervision, ingest
  // figures), called on the evaluation strand about once a second by the runtime: the alert
  // state is read from `engine` there, the rest is rendered on the worker pool. Does nothing
  // while no dashboard is connected.
  void dashboard_tick(engine::Engine& engine, core::TimePoint now);

 private:
  void install_routes();
  // False (with the answer sent and counted) when a write may not go ahead: 401 when the route
  // needs a token it lacks, 403 when a browser sent it from another site (CSRF: an Origin
  // that is not this server's, or Sec-Fetch-Site: cross-site).
  bool authorized(const char* handler, const Request& req, Responder& res);

  Backend& backend_;
  metrics::Registry& registry_;
  HttpOptions options_;
  Listener listener_;
  metrics::CounterFamily& rejected_;
  metrics::CounterFamily& alerts_received_;
  metrics::Counter& alerts_invalid_;
  metrics::CounterFamily& unauthorized_;
  BearerTokens tokens_;
  metrics::CounterFamily& cross_site_;
  std::unique_ptr<ReadinessStreams> streams_;
  std::unique_ptr<DashboardStreams> dashboards_;
  // Renders of the event streams on the worker pool (they read the backend and the streams):
  // counted, so that stop() and the destructor wait for them and none outlives what it reads;
  // one queued after stop() does nothing.
  void offload_render(std::function<void()> fn);
  void wait_renders();
  std::atomic<bool> stopping_{false};
  std::atomic<int> dashboard_renders_{0};
};

}  // namespace opsready::server
