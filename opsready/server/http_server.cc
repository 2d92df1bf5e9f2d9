#include "opsready/server/http_server.h"

#include <spdlog/spdlog.h>

#include <mutex>
#include <thread>

#include "opsready/core/event_batch.h"
#include "opsready/core/time.h"
#include "opsready/server/alertmanager_api.h"
#include "opsready/server/alerts.h"
#include "opsready/server/assets.h"
#include "opsready/server/dashboard.h"
#include "opsready/server/dashboard_streams.h"

namespace opsready::server {
namespace {

constexpr const char* kJson = "application/json";

Response json_reply(int code, const nlohmann::json& body, const char* type = kJson) {
  return Response::json(code, body.dump(2) + "\n", type);
}

Response error_reply(int code, const std::string& message) {
  return json_reply(code, {{"error", message}});
}

// Alertmanager's silence routes answer an error as a JSON string (amtool decodes it as one, and
// `amtool silence import` retries an unknown id as a new silence only when it reads "silence
// not found" there). The string names the field: "<field>: <message>".
Response silence_error(const core::Error& e, int code) {
  return json_reply(code,
                    nlohmann::json(code == 404 ? std::string("silence not found: ") + e.describe()
                                               : e.describe()));
}

// A 400 (or `code`) naming the field: {"error": "<field>: <message>", "field", "code"}.
Response field_error(const core::Error& e, int code = 400) {
  nlohmann::json body = {{"error", e.describe()}, {"code", e.code}};
  if (!e.field.empty()) body["field"] = e.field;
  return json_reply(code, body);
}

// Parses an optional RFC 3339 query parameter; answers 400 and returns false when bad.
bool time_param(const Request& req, Responder& res, const char* name, core::TimePoint& out) {
  if (!req.has_param(name)) return true;
  auto t = core::parse_rfc3339(req.param(name));
  if (!t) {
    res.send(error_reply(400, std::string("query parameter '") + name + "': " + t.error().message));
    return false;
  }
  out = *t;
  return true;
}

// ?limit=N, 1-10000, into `out` when present; false (answered 400) when it is not such a number.
bool limit_param(const Request& req, Responder& res, std::size_t& out) {
  if (!req.has_param("limit")) return true;
  const std::string v = req.param("limit");
  if (v.empty() || v.size() > 6 || v.find_first_not_of("0123456789") != v.npos ||
      std::stoul(v) == 0 || std::stoul(v) > 10000) {
    res.send(error_reply(400, "query parameter 'limit' must be 1-10000"));
    return false;
  }
  out = std::stoul(v);
  return true;
}

// Whether a browser sent this request from a page of another site: Sec-Fetch-Site says so, or
// the Origin's host[:port] is not the Host the request was sent to. Non-browser clients
// (Prometheus, curl, amtool) send neither header and pass.
bool cross_site(const Request& req) {
  if (req.header("Sec-Fetch-Site") == "cross-site") return true;
  const std::string_view origin = req.header("Origin");
  if (origin.empty()) return false;
  const auto scheme = origin.find("://");
  if (scheme == std::string::npos) return true;  // "null" (a sandboxed or file: page) and junk
  const std::string_view host = req.header("Host");
  return host.empty() || origin.substr(scheme + 3) != host;
}

// The dashboard's `alerts` event: the groups and silences as the Alertmanager API shows them,
// and the counts the panel's headline needs.
nlohmann::json dashboard_alerts(const engine::Engine& e, core::TimePoint now) {
  nlohmann::json groups = groups_json(e, AlertFilter{}, now);
  nlohmann::json silences = silences_json(e, alerting::Matchers{}, now);
  std::size_t active = 0, suppressed = 0, silenced = 0, inhibited = 0;
  for (const engine::AlertView& v : e.alerts(now)) {
    if (core::is_resolved(*v.alert, now)) continue;
    if (v.suppressed()) {
      ++suppressed;
    } else {
      ++active;
    }
    if (!v.silenced_by.empty()) ++silenced;
    if (!v.inhibited_by.empty()) ++inhibited;
  }
  std::size_t acked = 0;
  std::size_t escalating = 0;
  for (auto& g : groups) {
    acked += g.contains("ack") ? 1 : 0;
    // An ack needs the group's first notification (its incident opened): before it, or for a
    // group no notification is made for, POST .../ack answers 404 unknown_group.
    g["ackable"] = e.acks().is_open(g["key"].get<std::string>());
    // Where the group's escalation chain stands: the steps fired, and the next one's time.
    const alerting::OpenGroup* open = e.acks().open_group(g["key"].get<std::string>());
    if (open == nullptr || open->policy.empty()) continue;
    nlohmann::json esc = {
        {"steps", open->policy.size()}, {"fired", open->next_step}, {"receiver", open->receiver}};
    if (open->next_step < open->policy.size() && !open->ack) {
      const alerting::EscalationStep& next = open->policy[open->next_step];
      esc["next_at"] = core::format_rfc3339(open->chain_started_at + next.after);
      esc["next_receiver"] = next.receiver;
    }
    if (open->next_step > 0) ++escalating;
    g["escalation"] = std::move(esc);
  }
  nlohmann::json counts = {{"active", active},        {"suppressed", suppressed},
                           {"silenced", silenced},    {"inhibited", inhibited},
                           {"groups", groups.size()}, {"acked", acked},
                           {"escalated", escalating}};
  return {{"groups", std::move(groups)},
          {"silences", std::move(silences)},
          {"counts", std::move(counts)}};
}

// GET /api/v1/dashboard: the original's dashboard (spec §3) from the readiness snapshot and
// the feeds.
Dashboard live_dashboard(const readiness::ReadinessSnapshot& snap, const engine::Feeds& feeds) {
  FeedPayloads payloads;
  for (const auto& [topic, feed] : feeds) payloads.emplace(topic, feed.payloads);
  return build_dashboard(dashboard_inputs(snap, payloads));
}

nlohmann::json dashboard_document(const readiness::ReadinessSnapshot& snap,
                                  const engine::Feeds& feeds) {
  return to_json(live_dashboard(snap, feeds));
}

// ?since=T&until=T&limit=N of the history routes (defaults: as given; limit 1000), checked;
// false (answered 400) when one is bad.
struct HistoryRange {
  core::TimePoint since{};
  core::TimePoint until{};
  std::size_t limit = 1000;
};
bool history_range(const Request& req, Responder& res, HistoryRange& r) {
  if (!time_param(req, res, "since", r.since) || !time_param(req, res, "until", r.until)) {
    return false;
  }
  if (!limit_param(req, res, r.limit)) return false;
  if (r.since > r.until) {
    res.send(error_reply(400, "'since' is after 'until'"));
    return false;
  }
  return true;
}

// On the dashboard stream, the Operational readiness panel's metadata (the whole readiness
// snapshot, spec §3) is cut to its status, counts, gate decision and number of components:
// the stream's readiness events carry the snapshot already, and a copy of it in every
// dashboard event made that event 190 KB with 1 000 components, sent whenever any panel
// changed. GET /api/v1/dashboard keeps the whole snapshot.
void abbreviate_readiness_metadata(nlohmann::json& doc) {
  auto panels = doc.find("panels");
  if (panels == doc.end() || !panels->is_array()) return;
  for (auto& p : *panels) {
    auto meta = p.find("metadata");
    if (meta == p.end() || !meta->is_object()) continue;
    auto snap = meta->find("operational_readiness");
    if (snap == meta->end() || !snap->is_object()) continue;
    nlohmann::json brief = {
        {"abbreviated", true},
        {"status", snap->value("status", "")},
        {"counts", snap->value("counts", nlohmann::json::object())},
        {"components", snap->value("components", nlohmann::json::array()).size()}};
    if (auto gate = snap->find("gate"); gate != snap->end() && gate->is_object()) {
      brief["decision"] = gate->value("decision", "");
    }
    *snap = std::move(brief);
  }
}

}  // namespace

// The readiness event streams (GET /api/v1/readiness/stream) and what was last sent on them.
// publish() renders on the listener's worker pool; a render that lost the race against a newer
// one is dropped, so streams never go back in time. Thread-safe.
class ReadinessStreams {
 public:
  ReadinessStreams(std::function<void(std::function<void()>)> offload, core::Duration heartbeat)
      : offload_(std::move(offload)),
        heartbeat_(std::chrono::duration_cast<std::chrono::steady_clock::duration>(heartbeat)) {}

  // `first` renders the current snapshot for a new stream when nothing was published yet.
  void add(std::shared_ptr<EventStream> stream, const std::function<std::string()>& first) {
    std::string event;
    {
      std::lock_guard lock(mu_);
      event = last_event_;
    }
    if (event.empty()) event = first();
    if (!stream->send(event)) return;
    std::lock_guard lock(mu_);
    streams_.push_back(std::move(stream));
  }

  void publish(std::shared_ptr<const readiness::ReadinessSnapshot> snapshot) {
    std::uint64_t seq = 0;
    {
      std::lock_guard lock(mu_);
      if (streams_.empty()) {
        last_event_.clear();  // rendered afresh for the next subscriber
        return;
      }
      seq = ++published_;
    }
    offload_([this, seq, snapshot = std::move(snapshot)] { render(seq, *snapshot); });
  }

 private:
  void render(std::uint64_t seq, const readiness::ReadinessSnapshot& snapshot) {
    nlohmann::json doc = readiness::to_json(snapshot);
    std::string event = "event: readiness\ndata: " + doc.dump() + "\n\n";
    doc.erase("generated_at");
    std::string key = doc.dump();
    std::lock_guard lock(mu_);
    if (seq <= rendered_) return;  // a newer snapshot was rendered already
    rendered_ = seq;
    const auto now = std::chrono::steady_clock::now();
    std::string_view text;
    if (key != last_key_) {
      last_key_ = std::move(key);
      last_event_ = std::move(event);
      text = last_event_;
    } else if (now - last_sent_ >= heartbeat_) {
      text = ": heartbeat\n\n";
    } else {
      return;
    }
    last_sent_ = now;
    std::erase_if(streams_, [text](const auto& s) { return !s->send(text); });
  }

  std::function<void(std::function<void()>)> offload_;
  const std::chrono::steady_clock::duration heartbeat_;
  std::mutex mu_;
  std::vector<std::shared_ptr<EventStream>> streams_;
  std::string last_event_;
  std::string last_key_;
  std::chrono::steady_clock::time_point last_sent_{};
  std::uint64_t published_ = 0;
  std::uint64_t rendered_ = 0;
};

HttpServer::HttpServer(Backend& backend, metrics::Registry& registry, HttpOptions options)
    : backend_(backend),
      registry_(registry),
      options_(std::move(options)),
      listener_(options_.listener, registry),
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
      tokens_(options_.ingest_tokens),
      cross_site_(registry.counter("opsready_http_cross_site_refused_total",
                                   "Writes refused with 403 because a browser sent them from a "
                                   "page of another site (CSRF), by route.",
                                   {"handler"})),
      streams_(std::make_unique<ReadinessStreams>(
          [this](std::function<void()> fn) { offload_render(std::move(fn)); },
          options_.stream_heartbeat)),
      dashboards_(std::make_unique<DashboardStreams>(
          options_.stream_heartbeat,
          [this](std::function<void()> fn) { offload_render(std::move(fn)); })) {
  // The tokens live on only as digests inside tokens_.
  options_.ingest_tokens.clear();
  // Both children exist from the start, so a rate() over them has a zero to start from.
  alerts_received_.with({"firing"});
  alerts_received_.with({"resolved"});
  listener_.set_error_renderer(
      [](int status, std::string message) { return error_reply(status, message); });
  install_routes();
}

HttpServer::~HttpServer() {
  stopping_ = true;
  listener_.stop(core::Duration::zero());
  wait_renders();
}

void HttpServer::offload_render(std::function<void()> fn) {
  if (stopping_) return;
  ++dashboard_renders_;
  listener_.offload([this, fn = std::move(fn)] {
    struct Done {
      std::atomic<int>& renders;
      ~Done() { --renders; }
    } done{dashboard_renders_};
    if (!stopping_) fn();
  });
}

void HttpServer::wait_renders() {
  // Bounded: a render posted to a pool that stopped before running it would never count down.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (dashboard_renders_.load() != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

core::Result<int> HttpServer::bind() { return listener_.bind(); }

void HttpServer::serve() { listener_.serve(); }

void HttpServer::stop(core::Duration grace) {
  stopping_ = true;
  dashboards_->close_all();
  listener_.stop(grace);
  // A render started before the flag was set finishes first (it reads the backend).
  wait_renders();
}

bool HttpServer::running() const { return listener_.serving(); }

void HttpServer::publish_readiness(std::shared_ptr<const readiness::ReadinessSnapshot> snapshot) {
  if (!stopping_) dashboards_->publish_readiness(snapshot);
  streams_->publish(std::move(snapshot));
}

void HttpServer::dashboard_tick(engine::Engine& engine, core::TimePoint now) {
  if (dashboards_->empty() || stopping_) return;
  struct Tick {
    std::uint64_t alerts_seq, dashboard_seq, supervision_seq, stats_seq;
    nlohmann::json alerts;
  };
  auto tick =
      std::make_shared<Tick>(Tick{.alerts_seq = dashboards_->next_sequence("alerts"),
                                  .dashboard_seq = dashboards_->next_sequence("dashboard"),
                                  .supervision_seq = dashboards_->next_sequence("supervision"),
                                  .stats_seq = dashboards_->next_sequence("stats"),
                                  .alerts = dashboard_alerts(engine, now)});
  offload_render([this, tick, now] {
    std::string alerts = tick->alerts.dump();
    std::string text = sse_event("alerts", alerts);
    dashboards_->publish("alerts", tick->alerts_seq, std::move(alerts), std::move(text));
    if (auto snap = backend_.current()) {
      nlohmann::json doc = dashboard_document(*snap, *backend_.feeds());
      abbreviate_readiness_metadata(doc);
      std::string event = sse_event("dashboard", doc.dump());
      doc.erase("generated_at");
      doc["remediation_summary"].erase("generated_at");
      dashboards_->publish("dashboard", tick->dashboard_seq, doc.dump(), std::move(event));
    }
    std::string supervision = backend_.supervision().dump();
    std::string stext = sse_event("supervision", supervision);
    dashboards_->publish("supervision", tick->supervision_seq, std::move(supervision),
                         std::move(stext));
    nlohmann::json stats = backend_.stats();
    stats["at"] = core::format_rfc3339(now);
    nlohmann::json refused = nlohmann::json::object();
    for (const char* reason : {"invalid", "queue_full", "stopping"}) {
      refused[reason] = rejected_.with({reason}).value();
    }
    stats["refused_total"] = std::move(refused);
    stats["dashboards"] = dashboards_->size();
    dashboards_->publish("stats", tick->stats_seq, {}, sse_event("stats", stats.dump()),
                         /*always=*/true);
  });
}

bool HttpServer::authorized(const char* handler, const Request& req, Responder& res) {
  if (cross_site(req)) {
    cross_site_.with({handler}).inc();
    res.send(error_reply(403,
                         "a write from a page of another site is refused (its Origin is not "
                         "this server's)"));
    return false;
  }
  const AuthResult r = tokens_.check(req.header("Authorization"));
  if (r == AuthResult::kOff || r == AuthResult::kOk) return true;
  unauthorized_.with({handler}).inc();
  Response reply = error_reply(
      401, r == AuthResult::kMissing ? "this route needs an 'Authorization: Bearer <token>' header"
                                     : "the bearer token is not valid");
  reply.set_header("WWW-Authenticate", R"(Bearer realm="opsready")");
  res.send(std::move(reply));
  return false;
}

void HttpServer::install_routes() {
  auto& http = listener_;

  // GET / (the dashboard) and GET /assets/{file}: web/, embedded at build time.
  install_asset_routes(http);

  http.route("GET", "/-/healthy", "healthy",
             [](Request&, Responder res) { res.send(Response::text(200, "OK\n", "text/plain")); });

  http.route("GET", "/-/ready", "ready", [this](Request&, Responder res) {
    if (backend_.ready()) {
      // Serving, but an empty readiness is not healthy: say so (the gate warns no_components).
      const auto snap = backend_.current();
      std::string body = "OK\n";
      if (snap && snap->components.empty()) {
        body = "OK, but no component has reported yet (gate: " +
               std::string(readiness::to_string(snap->gate.decision)) + ", no_components)\n";
      } else if (snap) {
        // Still serving and ingesting while the store fails (its writes wait and are retried),
        // but a load balancer's operator should see it: 200, with the store's trouble named.
        for (const auto& c : snap->components) {
          if (c.component == "store" && c.status != core::Status::kOk) {
            body = "OK, but the store is " + std::string(core::to_string(c.status)) + ": " +
                   c.summary + "\n";
          }
        }
      }
      // Behind on the NATS stream (the consumer's pending count, sampled with the bus's
      // health): still ready, but a reader of /-/ready sees it is catching up.
      if (const auto st = backend_.stats(); st.contains("nats") && st["nats"].is_object()) {
        const double pending = st["nats"].value("consumer_pending", 0.0);
        if (pending > 0) {
          body += "catching up: " + std::to_string(static_cast<std::uint64_t>(pending)) +
                  " message(s) on the stream not yet taken\n";
        }
      }
      res.send(Response::text(200, body, "text/plain"));
    } else {
      res.send(Response::text(503, "starting or stopping\n", "text/plain"));
    }
  });

  http.route(
      "POST", "/api/v1/events", "events",
      [this](Request& req, Responder res) {
        if (!authorized("events", req, res)) return;
        core::IngestParse parsed = core::parse_events(req.body, backend_.clock().now());
        if (parsed.errors.empty()) {
          // A document of the wrong shape is refused here, to its sender, before anything of
          // the request is queued.
          for (std::size_t i = 0; i < parsed.events.size(); ++i) {
            if (auto ok = backend_.check(parsed.events[i]); !ok) {
              parsed.errors.push_back(core::IngestError{
                  .index = i, .field = ok.error().field, .reason = ok.error().message});
            }
          }
        }
        if (!parsed.errors.empty()) {
          rejected_.with({"invalid"}).inc(static_cast<double>(parsed.errors.size()));
          return res.send(json_reply(
              400,
              core::errors_to_json(parsed.errors, parsed.events.size() + parsed.errors.size())));
        }
        const std::size_t n = parsed.events.size();
        switch (backend_.submit(std::move(parsed.events), IngestPath::kHttp)) {
          case SubmitResult::kAccepted:
            return res.send(
                Response::json(202, "{\n  \"accepted\": " + std::to_string(n) + "\n}\n"));
          case SubmitResult::kQueueFull: {
            rejected_.with({"queue_full"}).inc(static_cast<double>(n));
            Response reply =
                error_reply(429, "evaluation queue is full; nothing was applied, retry later");
            reply.set_header("Retry-After", "1");
            return res.send(std::move(reply));
          }
          case SubmitResult::kStopping:
            rejected_.with({"stopping"}).inc(static_cast<double>(n));
            return res.send(error_reply(503, "opsready is shutting down; nothing was applied"));
        }
      },
      Offload::kLargeBodies);

  // Alertmanager's postAlertsHandler: queue the valid alerts, then answer 400 listing the
  // invalid ones. Prometheus does not retry a 4xx, so refusing the whole batch for one bad
  // alert would lose the good ones.
  http.route(
      "POST", "/api/v2/alerts", "alerts",
      [this, &firing_total = alerts_received_.with({"firing"}),
       &resolved_total = alerts_received_.with({"resolved"})](Request& req, Responder res) {
        if (!authorized("alerts", req, res)) return;
        const auto now = backend_.clock().now();
        AlertsParse parsed = parse_alerts(req.body, now, options_.alert_resolve_timeout);
        if (!parsed.body_ok) return res.send(json_reply(400, alert_errors_to_json(parsed)));
        alerts_invalid_.inc(static_cast<double>(parsed.total - parsed.alerts.size()));
        const std::size_t n = parsed.alerts.size();
        // Rendered before the alerts move into the queue (it counts them).
        const nlohmann::json errors =
            parsed.errors.empty() ? nlohmann::json() : alert_errors_to_json(parsed);
        // The answer once the alerts are durable (2xx means on disk: docs/alerting.md).
        auto answer = [errors, n](Responder& r) {
          if (!errors.is_null()) {
            r.send(json_reply(400, errors));
          } else {
            r.send(Response::json(200, "{\n  \"accepted\": " + std::to_string(n) + "\n}\n"));
          }
        };
        if (n == 0) return answer(res);
        std::size_t firing = 0;
        for (const auto& a : parsed.alerts) firing += core::is_resolved(a, now) ? 0 : 1;
        auto shared = std::make_shared<Responder>(std::move(res));
        const SubmitResult submitted = backend_.submit_alerts(
            std::move(parsed.alerts), [shared, answer](core::Result<void> written) {
              if (written) return answer(*shared);
              shared->send(error_reply(503, "the alerts were taken but could not be stored (" +
                                                written.error().message +
                                                "); retry: a re-post merges with them"));
            });
        switch (submitted) {
          case SubmitResult::kAccepted:
            break;
          case SubmitResult::kQueueFull: {
            Response reply =
                error_reply(429, "evaluation queue is full; no alert was taken, retry later");
            reply.set_header("Retry-After", "1");
            return shared->send(std::move(reply));
          }
          case SubmitResult::kStopping:
            return shared->send(error_reply(503, "opsready is shutting down; no alert was taken"));
        }
        if (firing > 0) firing_total.inc(static_cast<double>(firing));
        if (firing < n) resolved_total.inc(static_cast<double>(n - firing));
      },
      Offload::kLargeBodies);

  // Reads and changes of alert state run on the evaluation strand (Backend::post): the
  // handler moves the request and its responder into the task, which answers from there.
  auto strand_route =
      [this](const char* method, const char* path, const char* name, bool mutate,
             std::function<void(Request&, engine::Engine&, core::TimePoint, Responder&)> body) {
        listener_.route(
            method, path, name,
            [this, name, mutate, body = std::move(body)](Request& req, Responder res) {
              if (mutate && !authorized(name, req, res)) return;
              auto shared = std::make_shared<Responder>(std::move(res));
              auto request = std::make_shared<Request>(std::move(req));
              const bool posted =
                  backend_.post([shared, request, body](engine::Engine& e, core::TimePoint now) {
                    body(*request, e, now, *shared);
                  });
              if (!posted) shared->send(error_reply(503, "opsready is starting or shutting down"));
            },
            Offload::kNever);
      };

  // ---- Alertmanager API v2 (amtool, Grafana's Alertmanager data source) ----------------------
  strand_route("GET", "/api/v2/alerts", "v2_alerts", false,
               [](Request& req, engine::Engine& e, core::TimePoint now, Responder& res) {
                 auto f = parse_alert_filter(req);
                 if (!f) return res.send(field_error(f.error()));
                 res.send(json_reply(200, alerts_json(e, *f, now)));
               });
  strand_route("GET", "/api/v2/alerts/groups", "v2_groups", false,
               [](Request& req, engine::Engine& e, core::TimePoint now, Responder& res) {
                 auto f = parse_alert_filter(req);
                 if (!f) return res.send(field_error(f.error()));
                 res.send(json_reply(200, groups_json(e, *f, now)));
               });
  strand_route("GET", "/api/v2/receivers", "v2_receivers", false,
               [](Request&, engine::Engine& e, core::TimePoint, Responder& res) {
                 res.send(json_reply(200, receivers_json(e.policy())));
               });
  strand_route("GET", "/api/v2/status", "v2_status", false,
               [this](Request&, engine::Engine& e, core::TimePoint now, Responder& res) {
                 res.send(json_reply(
                     200, status_json(e.policy(), options_.version, backend_.started_at(), now)));
               });
  strand_route("GET", "/api/v2/silences", "v2_silences", false,
               [](Request& req, engine::Engine& e, core::TimePoint now, Responder& res) {
                 auto f = parse_silence_filter(req);
                 if (!f) return res.send(field_error(f.error()));
                 res.send(json_reply(200, silences_json(e, *f, now)));
               });
  strand_route("POST", "/api/v2/silences", "v2_silences_post", true,
               [](Request& req, engine::Engine& e, core::TimePoint now, Responder& res) {
                 const auto j = nlohmann::json::parse(req.body, nullptr, false);
                 if (j.is_discarded()) {
                   return res.send(json_reply(400, nlohmann::json("body: not valid JSON")));
                 }
                 auto s = alerting::silence_from_json(j, now);
                 if (!s) return res.send(silence_error(s.error(), 400));
                 auto id = e.put_silence(std::move(*s), now);
                 if (!id) {
                   return res.send(silence_error(
                       id.error(), id.error().code == "silence_not_found" ? 404 : 400));
                 }
                 res.send(json_reply(200, {{"silenceID", *id}}));
               });
  strand_route("GET", "/api/v2/silence/{id}", "v2_silence", false,
               [](Request& req, engine::Engine& e, core::TimePoint now, Responder& res) {
                 const alerting::Silence* s = e.silences().get(req.path_param("id"));
                 if (s == nullptr) {
                   return res.send(json_reply(404, nlohmann::json("silence not found")));
                 }
                 res.send(json_reply(200, alerting::to_json(*s, now)));
               });
  strand_route("DELETE", "/api/v2/silence/{id}", "v2_silence_delete", true,
               [](Request& req, engine::Engine& e, core::TimePoint now, Responder& res) {
                 auto ok = e.expire_silence(req.path_param("id"), now);
                 // Alertmanager answers 200 for an already expired silence (amtool relies on it).
                 if (!ok && ok.error().code != "silence_already_expired") {
                   return res.send(silence_error(
                       ok.error(), ok.error().code == "silence_not_found" ? 404 : 400));
                 }
                 res.send(Response::json(200, ""));
               });

  // ---- opsready's own: acknowledgements, route tests, the v1 alert list -----------------------
  strand_route("POST", "/api/v1/groups/{group}/ack", "ack", true,
               [](Request& req, engine::Engine& e, core::TimePoint now, Responder& res) {
                 const auto j = req.body.empty() ? nlohmann::json::object()
                                                 : nlohmann::json::parse(req.body, nullptr, false);
                 if (j.is_discarded() || !j.is_object()) {
                   return res.send(error_reply(400, "body: must be a JSON object"));
                 }
                 std::optional<core::TimePoint> expires;
                 if (j.contains("expiresAt")) {
                   if (!j["expiresAt"].is_string()) {
                     return res.send(error_reply(400, "expiresAt: must be an RFC 3339 time"));
                   }
                   auto t = core::parse_rfc3339(j["expiresAt"].get<std::string>());
                   if (!t) return res.send(error_reply(400, "expiresAt: " + t.error().message));
                   expires = *t;
                 }
                 if ((j.contains("by") && !j["by"].is_string()) ||
                     (j.contains("comment") && !j["comment"].is_string()) ||
                     (j.contains("channel") && !j["channel"].is_string())) {
                   return res.send(error_reply(400, "by, comment, channel: must be strings"));
                 }
                 // Where the ack was given, for the incident timeline; "api" unless the client
                 // (the CLI, the dashboard, a chat bot) says.
                 std::string channel = j.value("channel", std::string());
                 if (channel.empty()) channel = "api";
                 auto ok = e.ack(req.path_param("group"),
                                 {.by = j.value("by", std::string()),
                                  .comment = j.value("comment", std::string()),
                                  .channel = std::move(channel),
                                  .expires_at = expires},
                                 now);
                 if (!ok) {
                   // The request's own field names (the ack record says expires_at).
                   core::Error err = ok.error();
                   if (err.field == "expires_at") {
                     err.field = "expiresAt";
                     err.message = "must be after now";
                   }
                   return res.send(field_error(err, err.code == "unknown_group" ? 404 : 400));
                 }
                 res.send(json_reply(200, {{"acknowledged", req.path_param("group")}}));
               });
  strand_route(
      "DELETE", "/api/v1/groups/{group}/ack", "unack", true,
      [](Request& req, engine::Engine& e, core::TimePoint now, Responder& res) {
        const std::string by = req.has_param("by") ? req.param("by") : "";
        auto ok = e.unack(req.path_param("group"), by, now);
        if (!ok) {
          return res.send(field_error(ok.error(), ok.error().code == "unknown_group" ? 404 : 400));
        }
        res.send(json_reply(200, {{"unacknowledged", req.path_param("group")}}));
      });
  strand_route(
      "GET", "/api/v1/routes/test", "routes_test", false,
      [](Request& req, engine::Engine& e, core::TimePoint, Responder& res) {
        core::LabelSet labels;
        for (const auto& [k, v] : req.params) {
          if (k != "label") continue;
          const auto eq = v.find('=');
          if (eq == std::string::npos || eq == 0) {
            return res.send(error_reply(400, "label: must be name=value, not '" + v + "'"));
          }
          labels[v.substr(0, eq)] = v.substr(eq + 1);
        }
        nlohmann::json routes = nlohmann::json::array();
        for (const alerting::Route* r : e.routes().match(labels)) {
          routes.push_back({{"receiver", r->receiver()}, {"route", r->id()}});
        }
        res.send(json_reply(
            200, {{"receivers", e.receivers_for(labels)}, {"routes", std::move(routes)}}));
      });
  strand_route(
      "GET", "/api/v1/alerts", "alerts_list", false,
      [](Request& req, engine::Engine& e, core::TimePoint now, Responder& res) {
        bool active_only = false;
        if (req.has_param("active")) {
          const std::string v = req.param("active");
          if (v != "true" && v != "false") {
            return res.send(error_reply(400, "query parameter 'active' must be true or false"));
          }
          active_only = v == "true";
        }
        const std::string origin = req.has_param("origin") ? req.param("origin") : "";
        if (!origin.empty() && origin != "external" && origin != "derived") {
          return res.send(error_reply(400, "query parameter 'origin' must be external or derived"));
        }
        nlohmann::json list = nlohmann::json::array();
        for (const engine::AlertView& v : e.alerts(now)) {
          if (active_only && core::is_resolved(*v.alert, now)) continue;
          if (!origin.empty() && v.derived != (origin == "derived")) continue;
          nlohmann::json a = core::to_json(*v.alert, now);
          a["derived"] = v.derived;
          list.push_back(std::move(a));
        }
        res.send(json_reply(200, {{"count", list.size()}, {"alerts", std::move(list)}}));
      });

  http.route(
      "GET", "/api/v1/readiness", "readiness",
      [this](Request& req, Responder res) {
        auto snap = backend_.current();
        if (!snap) return res.send(error_reply(503, "no readiness snapshot yet"));
        const std::string format = req.has_param("format") ? req.param("format") : "json";
        if (format == "markdown") {
          res.send(
              Response::text(200, readiness::to_markdown(*snap), "text/markdown; charset=utf-8"));
        } else if (req.header("Accept").find("application/health+json") != std::string::npos) {
          res.send(json_reply(snap->status == core::Status::kFail ? 503 : 200,
                              readiness::to_health_json(*snap, options_.version),
                              "application/health+json"));
        } else if (format == "json") {
          res.send(json_reply(200, readiness::to_json(*snap)));
        } else {
          res.send(error_reply(400, "unknown format '" + format + "' (use json or markdown)"));
        }
      },
      Offload::kAlways);

  http.route(
      "GET", "/api/v1/readiness/stream", "readiness_stream",
      [this](Request&, Responder res) {
        auto snap = backend_.current();
        if (!snap) return res.send(error_reply(503, "no readiness snapshot yet"));
        streams_->add(res.stream(), [&snap] {
          return "event: readiness\ndata: " + readiness::to_json(*snap).dump() + "\n\n";
        });
      },
      Offload::kAlways);

  http.route(
      "GET", "/api/v1/readiness/history", "history",
      [this](Request& req, Responder res) {
        HistoryRange r{.since = backend_.clock().now() - std::chrono::hours(24),
                       .until = backend_.clock().now()};
        if (!history_range(req, res, r)) return;
        const auto [since, until, limit] = r;
        auto rows = backend_.history(since, until, limit);
        if (!rows)
          return res.send(error_reply(500, "history unavailable: " + rows.error().message));
        nlohmann::json list = nlohmann::json::array();
        for (const auto& r : *rows) {
          auto doc = nlohmann::json::parse(r.json, nullptr, false);
          if (!doc.is_discarded()) list.push_back(std::move(doc));
        }
        res.send(json_reply(200, {{"since", core::format_rfc3339(since)},
                                  {"until", core::format_rfc3339(until)},
                                  {"count", list.size()},
                                  {"snapshots", std::move(list)}}));
      },
      Offload::kAlways);

  // The gate's changes (decision or reason codes), for deploy audits: default the last 7 days.
  http.route(
      "GET", "/api/v1/gate/history", "gate_history",
      [this](Request& req, Responder res) {
        HistoryRange r{.since = backend_.clock().now() - std::chrono::hours(24 * 7),
                       .until = backend_.clock().now()};
        if (!history_range(req, res, r)) return;
        const auto [since, until, limit] = r;
        auto rows = backend_.gate_history(since, until, limit);
        if (!rows) {
          return res.send(error_reply(500, "gate history unavailable: " + rows.error().message));
        }
        nlohmann::json list = nlohmann::json::array();
        for (const auto& g : *rows) {
          auto doc = nlohmann::json::parse(g.json, nullptr, false);
          if (!doc.is_discarded()) list.push_back(std::move(doc));
        }
        res.send(json_reply(200, {{"since", core::format_rfc3339(since)},
                                  {"until", core::format_rfc3339(until)},
                                  {"count", list.size()},
                                  {"changes", std::move(list)}}));
      },
      Offload::kAlways);

  // ---- incidents: each alert group's timeline, MTTA and MTTR, from the store ---------------
  http.route(
      "GET", "/api/v1/incidents", "incidents",
      [this](Request& req, Responder res) {
        const auto now = backend_.clock().now();
        core::TimePoint since = now - std::chrono::hours(24 * 7);
        core::TimePoint until = now;
        if (!time_param(req, res, "since", since) || !time_param(req, res, "until", until)) return;
        if (since > until) return res.send(error_reply(400, "'since' is after 'until'"));
        const std::string state = req.has_param("state") ? req.param("state") : "";
        if (!state.empty() && state != "open" && state != "resolved") {
          return res.send(error_reply(400, "query parameter 'state' must be open or resolved"));
        }
        const std::string receiver = req.has_param("receiver") ? req.param("receiver") : "";
        std::size_t limit = 100;
        if (!limit_param(req, res, limit)) return;
        auto all = backend_.incidents(since);
        if (!all) {
          return res.send(error_reply(500, "incidents unavailable: " + all.error().message));
        }
        // Opened in [since, until], newest first; the summary covers every one that matches.
        std::vector<alerting::Incident> matching;
        nlohmann::json list = nlohmann::json::array();
        for (auto it = all->rbegin(); it != all->rend(); ++it) {
          const alerting::Incident& i = it->incident;
          if (i.opened_at < since || i.opened_at > until) continue;
          if (state == "open" && i.resolved_at) continue;
          if (state == "resolved" && !i.resolved_at) continue;
          if (!receiver.empty() && i.receiver != receiver) continue;
          matching.push_back(i);
          if (list.size() >= limit) continue;
          nlohmann::json j = alerting::to_json(*it);
          j["events"] = j["events"].size();  // the list carries counts; /incidents/{id} the rest
          list.push_back(std::move(j));
        }
        res.send(json_reply(200, {{"since", core::format_rfc3339(since)},
                                  {"until", core::format_rfc3339(until)},
                                  {"count", matching.size()},
                                  {"summary", alerting::to_json(alerting::summarise(matching))},
                                  {"incidents", std::move(list)}}));
      },
      Offload::kAlways);

  http.route(
      "GET", "/api/v1/incidents/{id}", "incident",
      [this](Request& req, Responder res) {
        const std::string id = req.path_param("id");
        const std::string format = req.has_param("format") ? req.param("format") : "json";
        if (format != "json" && format != "markdown" && format != "timeline") {
          return res.send(
              error_reply(400, "unknown format '" + format + "' (use json, markdown or timeline)"));
        }
        auto all = backend_.incidents(core::TimePoint::min());
        if (!all) {
          return res.send(error_reply(500, "incidents unavailable: " + all.error().message));
        }
        for (const alerting::IncidentTimeline& t : *all) {
          if (std::to_string(t.incident.id) != id) continue;
          if (format == "markdown") {
            return res.send(
                Response::text(200, alerting::to_markdown(t), "text/markdown; charset=utf-8"));
          }
          if (format == "timeline") {
            return res.send(json_reply(200, alerting::to_drill_json(t, backend_.clock().now())));
          }
          return res.send(json_reply(200, alerting::to_json(t)));
        }
        res.send(error_reply(404, "no incident has the id '" + id + "' (GET /api/v1/incidents)"));
      },
      Offload::kAlways);

  // ---- forced-failure drills (docs/drills.md) ------------------------------------------------
  http.route(
      "GET", "/api/v1/drills", "drills",
      [this](Request& req, Responder res) {
        std::size_t limit = 100;
        if (!limit_param(req, res, limit)) return;
        const std::string scenario = req.has_param("scenario") ? req.param("scenario") : "";
        auto r = backend_.drills(scenario, limit);
        res.send(json_reply(r.status, r.body));
      },
      Offload::kAlways);
  http.route(
      "POST", "/api/v1/drills", "drills_start",
      [this](Request& req, Responder res) {
        if (!authorized("drills_start", req, res)) return;
        const auto j = nlohmann::json::parse(req.body, nullptr, false);
        if (j.is_discarded()) return res.send(error_reply(400, "the body is not JSON"));
        auto r = backend_.start_drill(j);
        res.send(json_reply(r.status, r.body));
      },
      Offload::kAlways);
  http.route(
      "GET", "/api/v1/drills/{id}", "drill",
      [this](Request& req, Responder res) {
        const std::string id = req.path_param("id");
        const std::string format = req.has_param("format") ? req.param("format") : "json";
        if (format != "json" && format != "markdown") {
          return res.send(
              error_reply(400, "unknown format '" + format + "' (use json or markdown)"));
        }
        auto row = backend_.drill(id);
        if (!row) return res.send(error_reply(500, "drills unavailable: " + row.error().message));
        if (!*row) {
          return res.send(
              error_reply(404, "no drill has the id '" + id + "' (GET /api/v1/drills)"));
        }
        if (format == "markdown") {
          return res.send(Response::text(200, (*row)->markdown, "text/markdown; charset=utf-8"));
        }
        auto body = nlohmann::json::parse((*row)->json, nullptr, false);
        if (body.is_discarded())
          return res.send(error_reply(500, "the stored evidence is not JSON"));
        res.send(json_reply(200, body));
      },
      Offload::kAlways);
  http.route(
      "POST", "/api/v1/drills/{id}/stop", "drill_stop",
      [this](Request& req, Responder res) {
        if (!authorized("drill_stop", req, res)) return;
        std::string by;
        if (!req.body.empty()) {
          const auto j = nlohmann::json::parse(req.body, nullptr, false);
          if (!j.is_object() || (j.contains("by") && !j["by"].is_string())) {
            return res.send(error_reply(400, "the body must be {\"by\": \"...\"} or empty"));
          }
          by = j.value("by", "");
        }
        auto r = backend_.stop_drill(req.path_param("id"), by);
        res.send(json_reply(r.status, r.body));
      },
      Offload::kAlways);

  // ---- the compliance cadence (docs/operator-guide.md "Compliance cadence") -----------------
  http.route(
      "GET", "/api/v1/signoffs", "signoffs",
      [this](Request& req, Responder res) {
        std::size_t limit = 100;
        if (!limit_param(req, res, limit)) return;
        const std::string signoff = req.has_param("signoff") ? req.param("signoff") : "";
        auto r = backend_.signoffs(signoff, limit);
        res.send(json_reply(r.status, r.body));
      },
      Offload::kAlways);
  http.route(
      "POST", "/api/v1/signoffs", "signoffs_record",
      [this](Request& req, Responder res) {
        if (!authorized("signoffs_record", req, res)) return;
        const auto j = nlohmann::json::parse(req.body, nullptr, false);
        if (j.is_discarded()) return res.send(error_reply(400, "the body is not JSON"));
        std::string source = "http " + req.remote;
        if (const auto ua = req.header("User-Agent"); !ua.empty()) {
          source += " (" + std::string(ua.substr(0, 128)) + ")";
        }
        auto r = backend_.record_signoff(j, source);
        res.send(json_reply(r.status, r.body));
      },
      Offload::kAlways);

  // ---- the dashboard (web/, embedded) and what it reads -------------------------------------
  http.route(
      "GET", "/api/v1/dashboard", "dashboard",
      [this](Request& req, Responder res) {
        auto snap = backend_.current();
        if (!snap) return res.send(error_reply(503, "no readiness snapshot yet"));
        const std::string format = req.has_param("format") ? req.param("format") : "json";
        if (format != "json" && format != "markdown") {
          return res.send(
              error_reply(400, "unknown format '" + format + "' (use json or markdown)"));
        }
        const Dashboard d = live_dashboard(*snap, *backend_.feeds());
        if (format == "markdown") {
          return res.send(Response::text(200, to_markdown(d), "text/markdown; charset=utf-8"));
        }
        res.send(json_reply(200, to_json(d)));
      },
      Offload::kAlways);

  http.route(
      "GET", "/api/v1/dashboard/stream", "dashboard_stream",
      [this](Request&, Responder res) {
        auto snap = backend_.current();
        if (!snap) return res.send(error_reply(503, "no readiness snapshot yet"));
        Response head;
        head.set_header("Cache-Control", "no-cache");
        dashboards_->add(res.stream(std::move(head)), [&snap] { return snap; });
      },
      Offload::kAlways);

  // The status-history strips: 96 buckets over the last 24 h or 7 d, worst status per bucket.
  http.route(
      "GET", "/api/v1/components/history", "components_history",
      [this](Request& req, Responder res) {
        const std::string window = req.has_param("window") ? req.param("window") : "24h";
        core::Duration span{};
        if (window == "24h") {
          span = std::chrono::hours(24);
        } else if (window == "7d") {
          span = std::chrono::hours(24 * 7);
        } else {
          return res.send(error_reply(400, "query parameter 'window' must be 24h or 7d"));
        }
        constexpr int kBuckets = 96;
        const core::Duration bucket = span / kBuckets;
        // Buckets on multiples of their width, so that a page reloading keeps the same strip.
        const auto now = backend_.clock().now();
        const core::TimePoint until =
            core::TimePoint((now.time_since_epoch() / bucket + 1) * bucket);
        const core::TimePoint since = until - span;
        auto rows = backend_.component_buckets(since, until, bucket);
        if (!rows) {
          return res.send(error_reply(500, "history unavailable: " + rows.error().message));
        }
        nlohmann::json components = nlohmann::json::object();
        for (const store::ComponentBucket& b : *rows) {
          components[b.component].push_back(
              {{"start", core::format_rfc3339(b.start)}, {"status", core::to_string(b.worst)}});
        }
        res.send(json_reply(
            200,
            {{"since", core::format_rfc3339(since)},
             {"until", core::format_rfc3339(until)},
             {"bucket_seconds", std::chrono::duration_cast<std::chrono::seconds>(bucket).count()},
             {"components", std::move(components)}}));
      },
      Offload::kAlways);

  http.route(
      "GET", "/api/v1/components/{name}/history", "component_history",
      [this](Request& req, Responder res) {
        HistoryRange r{.since = backend_.clock().now() - std::chrono::hours(24),
                       .until = backend_.clock().now()};
        if (!history_range(req, res, r)) return;
        const auto [since, until, limit] = r;
        const std::string name = req.path_param("name");
        if (!core::is_valid_component_name(name)) {
          return res.send(error_reply(400, "'" + name + "' is not a component name"));
        }
        auto rows = backend_.component_history(name, since, until, limit);
        if (!rows) {
          return res.send(error_reply(500, "history unavailable: " + rows.error().message));
        }
        nlohmann::json list = nlohmann::json::array();
        for (const auto& s : *rows) list.push_back(core::to_json(s));
        res.send(json_reply(200, {{"component", name},
                                  {"since", core::format_rfc3339(since)},
                                  {"until", core::format_rfc3339(until)},
                                  {"count", list.size()},
                                  {"snapshots", std::move(list)}}));
      },
      Offload::kAlways);

  // ---- the public status page: live state, the daily roll-up and the incident log ----------
  auto status_route = [this](const char* path, const char* name, int form) {
    listener_.route(
        "GET", path, name,
        [this, form](Request&, Responder res) {
          auto snap = backend_.current();
          if (!snap) return res.send(error_reply(503, "no readiness snapshot yet"));
          const auto now = backend_.clock().now();
          const auto first_day = std::chrono::floor<std::chrono::days>(now) -
                                 std::chrono::days(kStatusHistoryDays - 1);
          auto days = backend_.component_days(core::TimePoint(first_day), now);
          if (!days) {
            return res.send(
                error_reply(500, "status history unavailable: " + days.error().message));
          }
          auto incidents = backend_.incidents(now - std::chrono::days(kStatusHistoryDays));
          if (!incidents) {
            return res.send(
                error_reply(500, "incidents unavailable: " + incidents.error().message));
          }
          const StatusPage page =
              build_status_page(options_.status_page, *snap, *days, *incidents, now);
          if (form == 0) {
            Response r = Response::text(200, to_html(page), "text/html; charset=utf-8");
            r.set_header("Content-Security-Policy",
                         "default-src 'none'; style-src 'unsafe-inline'");
            r.set_header("X-Content-Type-Options", "nosniff");
            r.set_header("Cache-Control", "no-cache");
            return res.send(std::move(r));
          }
          res.send(json_reply(200, form == 1 ? to_json(page) : to_summary_json(page)));
        },
        Offload::kAlways);
  };
  status_route("/status", "status_page", 0);
  status_route("/api/v1/status", "status", 1);
  status_route("/status/summary.json", "status_summary", 2);

  http.route("GET", "/api/v1/gate", "gate", [this](Request&, Responder res) {
    auto snap = backend_.current();
    if (!snap) return res.send(error_reply(503, "no readiness snapshot yet"));
    nlohmann::json body = readiness::to_json(snap->gate);
    body["status"] = core::to_string(snap->status);
    body["generated_at"] = core::format_rfc3339(snap->generated_at);
    res.send(json_reply(200, body));
  });

  http.route("GET", "/api/v1/supervision", "supervision", [this](Request&, Responder res) {
    res.send(json_reply(200, backend_.supervision()));
  });

  http.route(
      "GET", "/metrics", "metrics",
      [this](Request&, Responder res) {
        res.send(Response::text(200, registry_.expose(), std::string(metrics::kContentType)));
      },
      Offload::kAlways);
}

}  // namespace opsready::server
