#include "opsready/app/standby.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <optional>
#include <utility>

#include <nlohmann/json.hpp>

#include "opsready/app/version.h"
#include "opsready/core/time.h"
#include "opsready/server/http_listener.h"
#include "opsready/store/store.h"

namespace opsready::app {

metrics::GaugeFamily& replica_leader_gauge(metrics::Registry& registry) {
  return registry.gauge("opsready_replica_leader",
                        "1 when this replica leads (evaluates, decides and sends), 0 while it "
                        "stands by for another (docs/replicas.md).");
}

namespace {

// Waits up to `d` for SIGINT or SIGTERM (blocked in every thread by the caller); true when one
// came. sigtimedwait doubles as the standby's sleep, and no handler runs on another thread.
bool signalled(core::Duration d) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  timespec ts{.tv_sec = static_cast<time_t>(ns / 1'000'000'000),
              .tv_nsec = static_cast<long>(ns % 1'000'000'000)};
  return sigtimedwait(&set, nullptr, &ts) > 0;
}

// The standby's HTTP surface.
class StandbyServer {
 public:
  StandbyServer(const Config& config, std::string name)
      : name_(std::move(name)),
        listener_({.host = config.listen.host,
                   .port = config.listen.port,
                   .limits = config.http.listener,
                   .max_body_bytes = config.max_body_bytes},
                  registry_) {
    replica_leader_gauge(registry_).with({}).set(0);
    // One connection is enough for the leader's snapshot, read on request; the pool of the
    // daemon's size would sit idle on every standby.
    store::PostgresOptions reads = *config.store.postgres;
    reads.pool_size = 1;
    if (auto store = store::open_postgres_store(reads); store) {
      store_ = std::move(*store);
    }
    listener_.route("GET", "/-/healthy", "healthy", [](server::Request&, server::Responder res) {
      res.send(server::Response::text(200, "OK\n"));
    });
    listener_.route("GET", "/-/ready", "ready", [this](server::Request&, server::Responder res) {
      res.send(server::Response::text(503, "standby: " + describe_leader() + "\n"));
    });
    listener_.route("GET", "/metrics", "metrics", [this](server::Request&, server::Responder res) {
      res.send(server::Response::text(200, registry_.expose(), "text/plain; version=0.0.4"));
    });
    listener_.route(
        "GET", "/api/v1/readiness", "readiness",
        [this](server::Request&, server::Responder res) {
          auto latest = store_ ? store_->latest_readiness()
                               : core::Result<std::optional<store::StoredReadiness>>(
                                     core::fail("store_unavailable", "no store"));
          if (!latest || !*latest) {
            res.send(refusal("no readiness snapshot stored yet"));
            return;
          }
          auto r = server::Response::json(200, (*latest)->json);
          r.set_header("X-Opsready-Replica", "standby");
          res.send(std::move(r));
        },
        server::Offload::kAlways);
    for (const auto& [method, path] : {std::pair{"POST", "/api/v1/events"},
                                       {"POST", "/api/v2/alerts"},
                                       {"GET", "/api/v2/alerts"},
                                       {"GET", "/api/v2/alerts/groups"},
                                       {"GET", "/api/v2/silences"},
                                       {"POST", "/api/v2/silences"},
                                       {"GET", "/api/v2/status"}}) {
      listener_.route(method, path, "standby", [this](server::Request&, server::Responder res) {
        res.send(refusal("this replica stands by"));
      });
    }
  }
  ~StandbyServer() { stop(); }

  core::Result<int> bind() { return listener_.bind(); }
  void start() {
    thread_ = std::thread([this] { listener_.serve(); });
  }
  void stop() {
    listener_.stop(std::chrono::seconds(1));
    if (thread_.joinable()) thread_.join();
  }
  void set_leader(std::optional<std::string> leader) {
    std::lock_guard lock(mu_);
    leader_ = std::move(leader);
  }

 private:
  std::string describe_leader() const {
    std::lock_guard lock(mu_);
    return (leader_ ? "replica " + *leader_ + " leads" : std::string("no replica leads yet")) +
           "; this replica (" + name_ + ") takes over when it goes";
  }
  server::Response refusal(const std::string& why) const {
    auto r = server::Response::json(503, nlohmann::json{{"status", "error"},
                                                        {"errorType", "standby"},
                                                        {"error", why + ": " + describe_leader()}}
                                             .dump());
    r.set_header("Retry-After", "1");
    return r;
  }

  std::string name_;
  metrics::Registry registry_;
  server::Listener listener_;
  std::unique_ptr<store::Store> store_;
  mutable std::mutex mu_;
  std::optional<std::string> leader_;
  std::thread thread_;
};

}  // namespace

Leading Leading::wait(const Config& config) {
  Leading out;
  out.interval_ = config.replica.claim_interval;
  const std::string name = replica_name(config.replica);
  out.leadership_ = store::Leadership::create(*config.store.postgres, name);
  auto first = out.leadership_->try_acquire();
  if (!first) {
    out.outcome_ =
        first.error().code == "store_unavailable" ? Outcome::kUnavailable : Outcome::kFailed;
    out.error_ = first.error().message;
    return out;
  }
  if (*first) {
    spdlog::info("replica {} leads (no other replica held the leadership)", name);
    out.outcome_ = Outcome::kLeading;
    return out;
  }
  // Signals wait for sigtimedwait below: blocked here, before the listener's threads start,
  // so every thread inherits the mask; the runtime's runner unblocks them for itself.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &set, &previous);
  struct Restore {
    sigset_t mask;
    ~Restore() { pthread_sigmask(SIG_SETMASK, &mask, nullptr); }
  } restore{previous};

  auto server = std::make_unique<StandbyServer>(config, name);
  auto port = server->bind();
  if (!port) {
    out.outcome_ = Outcome::kFailed;
    out.error_ = port.error().message;
    return out;
  }
  out.port_ = *port;
  server->start();
  std::optional<std::string> leader;
  if (auto h = out.leadership_->holder(); h) leader = *h;
  server->set_leader(leader);
  spdlog::info("opsready {} standby listening on http://{}:{}", kVersion, config.listen.host,
               *port);
  spdlog::info("replica {} stands by: {} leads; trying every {}", name,
               leader.value_or("another replica"), core::format_duration(out.interval_));
  // After PostgreSQL was unreachable, the lock is tried only once it has been reachable for
  // claim_lease (see the header).
  std::optional<std::chrono::steady_clock::time_point> settle_until;
  bool failing = false;
  for (;;) {
    if (signalled(out.interval_)) {
      spdlog::info("stopping: a signal ended the standby");
      server->stop();
      out.outcome_ = Outcome::kStopped;
      return out;
    }
    auto h = out.leadership_->holder();
    if (!h) {
      if (!failing) spdlog::warn("standby: cannot reach PostgreSQL: {}", h.error().message);
      failing = true;
      continue;
    }
    if (failing) {
      spdlog::info("standby: PostgreSQL is reachable again; trying to lead in {} at the earliest",
                   core::format_duration(config.replica.claim_lease));
      settle_until = std::chrono::steady_clock::now() + config.replica.claim_lease;
      failing = false;
    }
    if (*h != leader) {
      leader = *h;
      server->set_leader(leader);
      spdlog::info("standby: {}", leader ? "replica " + *leader + " leads" : "no replica leads");
    }
    if (leader) continue;  // held: nothing to try
    if (settle_until && std::chrono::steady_clock::now() < *settle_until) continue;
    auto got = out.leadership_->try_acquire();
    if (got && *got) {
      spdlog::info("replica {} takes the leadership", name);
      server->stop();
      out.outcome_ = Outcome::kLeading;
      return out;
    }
  }
}

Leading::~Leading() { stop_watching(); }

void Leading::watch(std::function<void(const std::string& holder)> lost) {
  watcher_ = std::jthread([this, lost = std::move(lost)](std::stop_token stop) {
    std::mutex mu;
    std::condition_variable_any cv;
    bool unreachable = false;
    while (!stop.stop_requested()) {
      {
        std::unique_lock lock(mu);
        cv.wait_for(lock, stop, interval_, [] { return false; });
      }
      if (stop.stop_requested()) return;
      auto held = leadership_->check();
      if (held && *held) {
        if (unreachable) spdlog::info("leadership: PostgreSQL is reachable again; still leading");
        unreachable = false;
        continue;
      }
      // The session ended, or PostgreSQL could not be asked: take the lock again. While
      // PostgreSQL is unreachable, no other replica can take it either.
      auto again = leadership_->try_acquire();
      if (!again) {
        if (!unreachable) {
          spdlog::warn("leadership: cannot reach PostgreSQL ({}); leading on, retrying every {}",
                       again.error().message, core::format_duration(interval_));
        }
        unreachable = true;
        continue;
      }
      if (*again) {
        if (unreachable) spdlog::info("leadership: taken back after PostgreSQL came back");
        unreachable = false;
        continue;
      }
      auto holder = leadership_->holder();
      lost(holder && *holder ? **holder : std::string("another replica"));
      return;
    }
  });
}

void Leading::stop_watching() {
  if (watcher_.joinable()) {
    watcher_.request_stop();
    watcher_.join();
  }
}

}  // namespace opsready::app
