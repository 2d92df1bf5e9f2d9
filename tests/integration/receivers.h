#pragma once
// Receivers: webhook receivers played by one local HTTP server (cpp-httplib), a path per
// receiver, recording every request (path, Idempotency-Key, X-Opsready-Notification-Id, body,
// arrival) and answering as each path is told to: "flaky" 500 then 200, "limited" 429 with
// Retry-After: 2 then 200, "bad" 400, "hang" never (until the server stops), "gate" 503 until
// open_gate(true), any other path 200. For the delivery and replica integration tests.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace opsready::testing {

using Clock = std::chrono::steady_clock;

struct Received {
  std::string path;
  std::string key;              // Idempotency-Key
  std::string notification_id;  // X-Opsready-Notification-Id
  nlohmann::json body;
  Clock::time_point at;
};

// The receivers: one HTTP server, a path per receiver.
class Receivers {
 public:
  // cpp-httplib serves a connection per thread while it is kept alive: more threads than any
  // test's delivery.max_in_flight, or requests wait in its queue for a thread to free up.
  Receivers() {
    server_.new_task_queue = [] { return new httplib::ThreadPool(160); };
    server_.Post(R"(/(\w+))", [this](const httplib::Request& q, httplib::Response& a) {
      const std::string path = q.matches[1];
      int seen = 0;
      {
        std::lock_guard lock(mu_);
        Received r{.path = path,
                   .key = q.get_header_value("Idempotency-Key"),
                   .notification_id = q.get_header_value("X-Opsready-Notification-Id"),
                   .body = nlohmann::json::parse(q.body, nullptr, false),
                   .at = Clock::now()};
        received_.push_back(std::move(r));
        seen = ++count_[path];
      }
      cv_.notify_all();
      if (path == "flaky") {
        a.status = seen == 1 ? 500 : 200;
      } else if (path == "limited") {
        a.status = seen == 1 ? 429 : 200;
        if (seen == 1) a.set_header("Retry-After", "2");
      } else if (path == "bad") {
        a.status = 400;
        a.set_content("{\"error\":\"bad request\"}", "application/json");
        return;
      } else if (path == "gate") {
        a.status = gate_open_ ? 200 : 503;  // down until open_gate()
      } else if (path == "hang") {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::seconds(20), [this] { return stopping_; });
        a.status = 200;
      } else {
        a.status = 200;
      }
      a.set_content("ok", "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~Receivers() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    server_.stop();
    thread_.join();
  }

  [[nodiscard]] std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/" + path;
  }
  // Waits until `pred(received)` holds; false after `limit`.
  bool wait_for(const std::function<bool(const std::vector<Received>&)>& pred,
                std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return pred(received_); });
  }
  [[nodiscard]] std::vector<Received> at(const std::string& path) const {
    std::lock_guard lock(mu_);
    std::vector<Received> out;
    for (const auto& r : received_) {
      if (r.path == path) out.push_back(r);
    }
    return out;
  }
  [[nodiscard]] std::vector<Received> all() const {
    std::lock_guard lock(mu_);
    return received_;
  }
  // The "gate" path answers 503 until opened, 200 after (until closed again).
  void open_gate(bool open) { gate_open_ = open; }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Received> received_;
  std::map<std::string, int> count_;
  bool stopping_ = false;
  std::atomic<bool> gate_open_{false};
};

// How many distinct values of the label g the alerts of `rs` carry (the tests' groups).
inline std::size_t distinct_g_labels(const std::vector<Received>& rs) {
  std::set<std::string> g;
  for (const auto& r : rs) {
    if (!r.body.is_object()) continue;
    for (const auto& a : r.body["alerts"]) g.insert(a["labels"].value("g", ""));
  }
  g.erase("");
  return g.size();
}

}  // namespace opsready::testing
