#include "opsready/server/http_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "opsready/core/event_batch.h"
#include "opsready/core/time.h"
#include "opsready/server/alerts.h"

namespace opsready::server {
namespace {

constexpr const char* kJson = "application/json";
// POST /api/v2/alerts keeps up to this many parsed alerts per HTTP worker for reuse (Prometheus
// sends at most 64 per request by default).
constexpr std::size_t kKeptAlertsPerThread = 1024;

void reply_json(httplib::Response& res, int code, const nlohmann::json& body,
                const char* type = kJson) {
  res.status = code;
  res.set_content(body.dump(2) + "\n", type);
}

void reply_error(httplib::Response& res, int code, const std::string& message) {
  reply_json(res, code, {{"error", message}});
}

// Parses an optional RFC 3339 query parameter; sets an error reply and returns false when bad.
bool time_param(const httplib::Request& req, httplib::Response& res, const char* name,
                core::TimePoint& out) {
  if (!req.has_param(name)) return true;
  auto t = core::parse_rfc3339(req.get_param_value(name));
  if (!t) {
    reply_error(res, 400, std::string("query parameter '") + name + "': " + t.error().message);
    return false;
  }
  out = *t;
  return true;
}

}  // namespace

HttpServer::HttpServer(Backend& backend, metrics::Registry& registry, HttpOptions options)
    : backend_(backend),
      registry_(registry),
      options_(std::move(options)),
      http_(std::make_unique<httplib::Server>()),
      requests_(registry.counter("opsready_http_requests_total",
                                 "HTTP requests answered, by route and status code.",
                                 {"handler", "code"})),
      rejected_(registry.counter("opsready_events_rejected_total",
                                 "Events refused at ingest, by reason.", {"reason"})),
      alerts_received_(registry.counter(
          "opsready_alerts_received_total",
          "Valid alerts stored from POST /api/v2/alerts, by status when received.", {"status"})),
      alerts_invalid_(registry
                          .counter("opsready_alerts_invalid_total",
                                   "Alerts refused by POST /api/v2/alerts validation.")
                          .with({})),
      unauthorized_(registry.counter("opsready_http_unauthorized_total",
                                     "Ingest requests refused with 401 (missing or wrong bearer "
                                     "token), by route.",
                                     {"handler"})),
      tokens_(options_.ingest_tokens) {
  // The tokens live on only as digests inside tokens_.
  options_.ingest_tokens.clear();
  // Both children exist from the start, so a rate() over them has a zero to start from.
  alerts_received_.with({"firing"});
  alerts_received_.with({"resolved"});
  http_->set_payload_max_length(options_.max_body_bytes);
  const std::size_t workers = options_.worker_threads;
  http_->new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  // httplib's defaults (Nagle on, 5 requests per connection) cost a delayed-ACK stall per
  // response and a reconnect every 5 requests; Prometheus and other senders keep their
  // connection open, so let them.
  http_->set_tcp_nodelay(true);
  http_->set_keep_alive_max_count(1000);
  http_->set_read_timeout(std::chrono::seconds(10));
  http_->set_write_timeout(std::chrono::seconds(10));
  install_routes();
}

HttpServer::~HttpServer() { stop(); }

core::Result<int> HttpServer::bind() {
  int port = options_.port == 0
                 ? http_->bind_to_any_port(options_.host)
                 : (http_->bind_to_port(options_.host, options_.port) ? options_.port : -1);
  if (port < 0) {
    return core::fail("bind_failed", "cannot listen on " + options_.host + ":" +
                                         std::to_string(options_.port) +
                                         " (address in use or not available?)");
  }
  return port;
}

bool HttpServer::serve() { return http_->listen_after_bind(); }

void HttpServer::stop() {
  if (http_) http_->stop();
}

bool HttpServer::running() const { return http_->is_running(); }

bool HttpServer::authorized(const char* handler, const httplib::Request& req,
                            httplib::Response& res) {
  const AuthResult r = tokens_.check(req.get_header_value("Authorization"));
  if (r == AuthResult::kOff || r == AuthResult::kOk) return true;
  unauthorized_.with({handler}).inc();
  res.set_header("WWW-Authenticate", R"(Bearer realm="opsready")");
  reply_error(res, 401,
              r == AuthResult::kMissing
                  ? "this route needs an 'Authorization: Bearer <token>' header"
                  : "the bearer token is not valid");
  return false;
}

void HttpServer::install_routes() {
  auto& srv = *http_;
  auto count = [this](const char* handler, const httplib::Response& res) {
    requests_.with({handler, std::to_string(res.status)}).inc();
  };

  srv.Get("/-/healthy", [count](const httplib::Request&, httplib::Response& res) {
    res.set_content("OK\n", "text/plain");
    count("healthy", res);
  });

  srv.Get("/-/ready", [this, count](const httplib::Request&, httplib::Response& res) {
    if (backend_.ready()) {
      res.set_content("OK\n", "text/plain");
    } else {
      res.status = 503;
      res.set_content("starting or stopping\n", "text/plain");
    }
    count("ready", res);
  });

  srv.Post("/api/v1/events", [this, count](const httplib::Request& req, httplib::Response& res) {
    if (!authorized("events", req, res)) {
      count("events", res);
      return;
    }
    core::IngestParse parsed = core::parse_events(req.body, backend_.clock().now());
    if (!parsed.errors.empty()) {
      rejected_.with({"invalid"}).inc(static_cast<double>(parsed.errors.size()));
      reply_json(res, 400,
                 core::errors_to_json(parsed.errors, parsed.events.size() + parsed.errors.size()));
      count("events", res);
      return;
    }
    const std::size_t n = parsed.events.size();
    switch (backend_.submit(std::move(parsed.events))) {
      case SubmitResult::kAccepted:
        reply_json(res, 202, {{"accepted", n}});
        break;
      case SubmitResult::kQueueFull:
        rejected_.with({"queue_full"}).inc(static_cast<double>(n));
        res.set_header("Retry-After", "1");
        reply_error(res, 429, "evaluation queue is full; nothing was applied, retry later");
        break;
      case SubmitResult::kStopping:
        rejected_.with({"stopping"}).inc(static_cast<double>(n));
        reply_error(res, 503, "opsready is shutting down; nothing was applied");
        break;
    }
    count("events", res);
  });

  // Alertmanager's postAlertsHandler: store the valid alerts, then answer 400 listing the
  // invalid ones. Prometheus does not retry a 4xx, so refusing the whole batch for one bad
  // alert would lose the good ones.
  srv.Post("/api/v2/alerts", [this, count, &firing_total = alerts_received_.with({"firing"}),
                              &resolved_total = alerts_received_.with({"resolved"})](
                                 const httplib::Request& req, httplib::Response& res) {
    if (!authorized("alerts", req, res)) {
      count("alerts", res);
      return;
    }
    const auto now = backend_.clock().now();
    // One per worker thread, reused: the alerts of the previous request take the new values in
    // place (see parse_alerts), so a steady stream of re-posts allocates next to nothing.
    thread_local AlertsParse parsed;
    parse_alerts(req.body, now, options_.alert_resolve_timeout, parsed);
    if (!parsed.body_ok) {
      reply_json(res, 400, alert_errors_to_json(parsed));
      count("alerts", res);
      return;
    }
    alerts_invalid_.inc(static_cast<double>(parsed.total - parsed.alerts.size()));
    if (!parsed.alerts.empty()) {
      if (auto stored = backend_.put_alerts(parsed.alerts); !stored) {
        spdlog::error("alerts: cannot store {} alert(s): {}", parsed.alerts.size(),
                      stored.error().message);
        reply_error(res, 500, "alerts could not be stored: " + stored.error().message);
        count("alerts", res);
        return;
      }
      std::size_t firing = 0;
      for (const auto& a : parsed.alerts) firing += core::is_resolved(a, now) ? 0 : 1;
      if (firing > 0) firing_total.inc(static_cast<double>(firing));
      if (firing < parsed.alerts.size()) {
        resolved_total.inc(static_cast<double>(parsed.alerts.size() - firing));
      }
    }
    if (!parsed.errors.empty()) {
      reply_json(res, 400, alert_errors_to_json(parsed));
    } else {
      reply_json(res, 200, {{"accepted", parsed.alerts.size()}});
    }
    count("alerts", res);
    // A rare huge batch is not kept per thread.
    if (parsed.alerts.capacity() > kKeptAlertsPerThread) parsed = AlertsParse{};
  });

  srv.Get("/api/v1/alerts", [this, count](const httplib::Request& req, httplib::Response& res) {
    bool active_only = false;
    if (req.has_param("active")) {
      const std::string v = req.get_param_value("active");
      if (v != "true" && v != "false") {
        reply_error(res, 400, "query parameter 'active' must be true or false");
        count("alerts_list", res);
        return;
      }
      active_only = v == "true";
    }
    const auto now = backend_.clock().now();
    auto rows = backend_.alerts(active_only, now);
    if (!rows) {
      reply_error(res, 500, "alerts unavailable: " + rows.error().message);
      count("alerts_list", res);
      return;
    }
    nlohmann::json list = nlohmann::json::array();
    for (const auto& a : *rows) list.push_back(core::to_json(a, now));
    reply_json(res, 200, {{"count", list.size()}, {"alerts", std::move(list)}});
    count("alerts_list", res);
  });

  srv.Get("/api/v1/readiness", [this, count](const httplib::Request& req, httplib::Response& res) {
    auto snap = backend_.current();
    if (!snap) {
      reply_error(res, 503, "no readiness snapshot yet");
      count("readiness", res);
      return;
    }
    const std::string format = req.has_param("format") ? req.get_param_value("format") : "json";
    const std::string accept = req.get_header_value("Accept");
    if (format == "markdown") {
      res.set_content(readiness::to_markdown(*snap), "text/markdown; charset=utf-8");
    } else if (accept.find("application/health+json") != std::string::npos) {
      reply_json(res, snap->status == core::Status::kFail ? 503 : 200,
                 readiness::to_health_json(*snap, options_.version), "application/health+json");
    } else if (format == "json") {
      reply_json(res, 200, readiness::to_json(*snap));
    } else {
      reply_error(res, 400, "unknown format '" + format + "' (use json or markdown)");
    }
    count("readiness", res);
  });

  srv.Get("/api/v1/readiness/history",
          [this, count](const httplib::Request& req, httplib::Response& res) {
            const auto now = backend_.clock().now();
            core::TimePoint since = now - std::chrono::hours(24);
            core::TimePoint until = now;
            if (!time_param(req, res, "since", since) || !time_param(req, res, "until", until)) {
              count("history", res);
              return;
            }
            std::size_t limit = 1000;
            if (req.has_param("limit")) {
              const std::string v = req.get_param_value("limit");
              if (v.empty() || v.size() > 6 || v.find_first_not_of("0123456789") != v.npos ||
                  std::stoul(v) == 0 || std::stoul(v) > 10000) {
                reply_error(res, 400, "query parameter 'limit' must be 1-10000");
                count("history", res);
                return;
              }
              limit = std::stoul(v);
            }
            if (since > until) {
              reply_error(res, 400, "'since' is after 'until'");
              count("history", res);
              return;
            }
            auto rows = backend_.history(since, until, limit);
            if (!rows) {
              reply_error(res, 500, "history unavailable: " + rows.error().message);
              count("history", res);
              return;
            }
            nlohmann::json list = nlohmann::json::array();
            for (const auto& r : *rows) {
              auto doc = nlohmann::json::parse(r.json, nullptr, false);
              if (!doc.is_discarded()) list.push_back(std::move(doc));
            }
            reply_json(res, 200,
                       {{"since", core::format_rfc3339(since)},
                        {"until", core::format_rfc3339(until)},
                        {"count", list.size()},
                        {"snapshots", std::move(list)}});
            count("history", res);
          });

  srv.Get("/api/v1/gate", [this, count](const httplib::Request&, httplib::Response& res) {
    auto snap = backend_.current();
    if (!snap) {
      reply_error(res, 503, "no readiness snapshot yet");
    } else {
      nlohmann::json body = readiness::to_json(snap->gate);
      body["status"] = core::to_string(snap->status);
      body["generated_at"] = core::format_rfc3339(snap->generated_at);
      reply_json(res, 200, body);
    }
    count("gate", res);
  });

  srv.Get("/api/v1/supervision", [this, count](const httplib::Request&, httplib::Response& res) {
    reply_json(res, 200, backend_.supervision());
    count("supervision", res);
  });

  srv.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    // Count before exposing so the scrape's own request shows up in the next scrape only.
    requests_.with({"metrics", "200"}).inc();
    res.set_content(registry_.expose(), std::string(metrics::kContentType).c_str());
  });

  srv.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.status == 404) {
      reply_error(res, 404, "no route for " + req.method + " " + req.path);
    } else if (res.status == 413) {
      reply_error(res, 413, "request body too large; nothing was applied");
    } else if (res.body.empty()) {
      reply_error(res, res.status, "request failed");
    }
  });

  srv.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown error";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        spdlog::error("http: {} {} failed: {}", req.method, req.path, what);
        reply_error(res, 500, "internal error");
      });
}

}  // namespace opsready::server
