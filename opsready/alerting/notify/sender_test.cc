// The Sender against a real HTTP server on loopback (cpp-httplib): retries on 500 and 429
// (Retry-After honoured), a final 400, a receiver that never answers while another keeps
// receiving on time, the per-receiver concurrency limit, and the idempotency key that stays the
// same across retries.
#include "opsready/alerting/notify/sender.h"

#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

namespace opsready::alerting::notify {
namespace {

using namespace std::chrono_literals;

// One POST with the key in a header; the answer classified as every HTTP transport does.
class OnePost final : public Exchange {
 public:
  OnePost(std::string url, std::string key, std::chrono::milliseconds timeout = 5000ms)
      : url_(std::move(url)), key_(std::move(key)), timeout_(timeout) {}
  Request start() override {
    Request r{.what = HttpRequest{
                  .url = url_,
                  .headers = {{"Idempotency-Key", key_}, {"Content-Type", "application/json"}},
                  .body = R"({"k":")" + key_ + R"("})"}};
    r.timeout = timeout_;
    return r;
  }
  Step next(const Response& r, core::TimePoint now) override { return classify(r, now); }

 private:
  std::string url_;
  std::string key_;
  std::chrono::milliseconds timeout_;
};

class Receiver {
 public:
  Receiver() {
    server_.Post("/ok", [this](const httplib::Request& q, httplib::Response& a) {
      record(q);
      a.status = 200;
    });
    server_.Post("/flaky", [this](const httplib::Request& q, httplib::Response& a) {
      a.status = record(q) == 1 ? 500 : 200;
    });
    server_.Post("/limited", [this](const httplib::Request& q, httplib::Response& a) {
      if (record(q) == 1) {
        a.status = 429;
        a.set_header("Retry-After", "1");
      } else {
        a.status = 200;
      }
    });
    server_.Post("/bad", [this](const httplib::Request& q, httplib::Response& a) {
      record(q);
      a.status = 400;
    });
    server_.Post("/hang", [this](const httplib::Request& q, httplib::Response& a) {
      record(q);
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, 5s, [this] { return released_; });
      a.status = 200;
    });
    server_.Post("/gate", [this](const httplib::Request& q, httplib::Response& a) {
      const int now_in = ++concurrent_;
      {
        std::lock_guard lock(mu_);
        max_concurrent_ = std::max(max_concurrent_, now_in);
      }
      std::this_thread::sleep_for(100ms);
      --concurrent_;
      record(q);
      a.status = 200;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~Receiver() {
    {
      std::lock_guard lock(mu_);
      released_ = true;
    }
    cv_.notify_all();
    server_.stop();
    thread_.join();
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<std::string> keys(const std::string& path) {
    std::lock_guard lock(mu_);
    return keys_[path];
  }
  int max_concurrent() {
    std::lock_guard lock(mu_);
    return max_concurrent_;
  }

 private:
  // Returns how many requests the path has had, this one included.
  int record(const httplib::Request& q) {
    std::lock_guard lock(mu_);
    auto& k = keys_[q.path];
    k.push_back(q.get_header_value("Idempotency-Key"));
    return static_cast<int>(k.size());
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  std::map<std::string, std::vector<std::string>> keys_;
  std::atomic<int> concurrent_{0};
  int max_concurrent_ = 0;
};

// Runs a Sender on a thread and collects its outcomes.
class Running {
 public:
  explicit Running(SenderOptions o = {})
      : sender_(with_seed(o), clock_, [this](const Outcome& x) {
          std::lock_guard lock(mu_);
          outcomes_.push_back(x);
          cv_.notify_all();
        }) {
    thread_ = std::jthread([this](std::stop_token st) { sender_.run(st); });
  }
  ~Running() {
    thread_.request_stop();
    thread_.join();
  }
  Sender& sender() { return sender_; }
  // Waits until `id` has a final outcome (sent or failed); all of its outcomes, in order.
  std::vector<Outcome> wait_final(const std::string& id, std::chrono::milliseconds limit = 10s) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, limit, [&] { return final_of(id) != nullptr; });
    std::vector<Outcome> out;
    for (const auto& o : outcomes_) {
      if (o.id == id) out.push_back(o);
    }
    return out;
  }
  void submit(std::string id, std::string receiver, std::unique_ptr<Exchange> x) {
    sender_.submit({.id = std::move(id),
                    .receiver = std::move(receiver),
                    .integration = "webhook/0",
                    .exchange = std::move(x)});
  }

 private:
  static SenderOptions with_seed(SenderOptions o) {
    o.seed = 7;
    o.backoff_initial = 50ms;
    return o;
  }
  const Outcome* final_of(const std::string& id) const {
    for (const auto& o : outcomes_) {
      if (o.id == id && o.kind != Outcome::Kind::kRetrying) return &o;
    }
    return nullptr;
  }
  const core::SystemClock& clock_ = core::SystemClock::instance();
  Sender sender_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Outcome> outcomes_;
  std::jthread thread_;
};

TEST(Sender, A500IsRetriedWithTheSameKeyUntilAccepted) {
  Receiver rx;
  Running s;
  s.submit("k-flaky", "ops", std::make_unique<OnePost>(rx.url("/flaky"), "k-flaky"));
  const auto outcomes = s.wait_final("k-flaky");
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_EQ(outcomes[0].kind, Outcome::Kind::kRetrying);
  EXPECT_EQ(outcomes[0].status, 500);
  EXPECT_EQ(outcomes[0].error, "HTTP 500");
  EXPECT_EQ(outcomes[0].attempts, 1);
  EXPECT_EQ(outcomes[1].kind, Outcome::Kind::kSent);
  EXPECT_EQ(outcomes[1].attempts, 2);
  EXPECT_EQ(rx.keys("/flaky"), (std::vector<std::string>{"k-flaky", "k-flaky"}));
}

// Before a graceful stop: the request running ends (and is reported sent), a job submitted
// after the drain began never starts.
TEST(Sender, ADrainLetsTheRunningRequestEndAndStartsNothingNew) {
  Receiver rx;
  Running s;
  s.submit("k-slow", "ops", std::make_unique<OnePost>(rx.url("/gate"), "k-slow"));  // 100 ms
  // Wait until it is on the wire, then drain.
  for (int i = 0; i < 200 && s.sender().counts().in_flight == 0; ++i) {
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(s.sender().counts().in_flight, 1u);
  std::thread drainer([&] { EXPECT_TRUE(s.sender().drain(5s)); });
  std::this_thread::sleep_for(20ms);
  s.submit("k-late", "ops", std::make_unique<OnePost>(rx.url("/ok"), "k-late"));
  drainer.join();
  const auto outcomes = s.wait_final("k-slow");
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].kind, Outcome::Kind::kSent);
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(rx.keys("/ok").empty());
  EXPECT_EQ(s.sender().counts().queued, 1u);  // k-late waits, for the next start to send
}

// Many requests on the wire and many queued: the drain waits for the first, starts none of the
// rest.
TEST(Sender, ADrainWithManyInFlightEndsWhenTheyHaveEnded) {
  Receiver rx;
  // (Fewer in flight than the receiver's threads, so that none waits in its accept queue.)
  Running s({.max_in_flight = 4, .max_in_flight_per_receiver = 4});
  for (int i = 0; i < 40; ++i) {
    const std::string id = "k" + std::to_string(i);
    s.submit(id, "ops", std::make_unique<OnePost>(rx.url("/gate"), id));
  }
  for (int i = 0; i < 500 && s.sender().counts().in_flight < 4; ++i) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_TRUE(s.sender().drain(5s));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(rx.keys("/gate").size(), 4u);
}

TEST(Sender, AReceiverOutageRefusesItsConnectionsUntilItEnds) {
  Receiver rx;
  Running s;
  s.sender().set_outage("ops", true);
  EXPECT_EQ(s.sender().outages(), std::vector<std::string>{"ops"});
  s.submit("k-down", "ops", std::make_unique<OnePost>(rx.url("/ok"), "k-down"));
  s.submit("k-up", "other", std::make_unique<OnePost>(rx.url("/ok"), "k-up"));
  const auto up = s.wait_final("k-up");
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up[0].kind, Outcome::Kind::kSent);  // another receiver is not affected
  std::this_thread::sleep_for(300ms);           // several retries of k-down (50 ms backoff)
  EXPECT_EQ(rx.keys("/ok"), std::vector<std::string>{"k-up"});
  s.sender().set_outage("ops", false);
  const auto down = s.wait_final("k-down");
  ASSERT_GE(down.size(), 2u);
  EXPECT_EQ(down.front().kind, Outcome::Kind::kRetrying);
  EXPECT_EQ(down.front().status, 0);  // no answer: the connection was refused
  EXPECT_EQ(down.back().kind, Outcome::Kind::kSent);
  EXPECT_EQ(rx.keys("/ok"), (std::vector<std::string>{"k-up", "k-down"}));
}

TEST(Sender, AJobsExchangeIsPreparedOnTheSendingThreadAndAFailureFailsIt) {
  Receiver rx;
  Running s;
  std::thread::id prepared_on;
  s.sender().submit({.id = "k-lazy",
                     .receiver = "ops",
                     .integration = "webhook/0",
                     .prepare = [&]() -> core::Result<std::unique_ptr<Exchange>> {
                       prepared_on = std::this_thread::get_id();
                       return std::make_unique<OnePost>(rx.url("/ok"), "k-lazy");
                     }});
  s.sender().submit({.id = "k-broken",
                     .receiver = "ops",
                     .integration = "webhook/0",
                     .prepare = []() -> core::Result<std::unique_ptr<Exchange>> {
                       return core::fail("outbox_payload", "config: the payload is not JSON");
                     },
                     .attempts = 2});
  const auto lazy = s.wait_final("k-lazy");
  ASSERT_EQ(lazy.size(), 1u);
  EXPECT_EQ(lazy[0].kind, Outcome::Kind::kSent);
  EXPECT_EQ(rx.keys("/ok"), (std::vector<std::string>{"k-lazy"}));
  EXPECT_NE(prepared_on, std::this_thread::get_id());
  const auto broken = s.wait_final("k-broken");
  ASSERT_EQ(broken.size(), 1u);
  EXPECT_EQ(broken[0].kind, Outcome::Kind::kFailed);
  EXPECT_EQ(broken[0].error, "config: the payload is not JSON");
  EXPECT_EQ(broken[0].attempts, 2);  // no exchange was tried
}

TEST(Sender, A429WaitsForRetryAfter) {
  Receiver rx;
  Running s;
  const auto started = std::chrono::steady_clock::now();
  s.submit("k-429", "ops", std::make_unique<OnePost>(rx.url("/limited"), "k-429"));
  const auto outcomes = s.wait_final("k-429");
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_EQ(outcomes[0].status, 429);
  EXPECT_EQ(outcomes[1].kind, Outcome::Kind::kSent);
  // Retry-After: 1 was honoured, not the 50 ms backoff.
  EXPECT_GE(std::chrono::steady_clock::now() - started, 1s);
  EXPECT_EQ(outcomes[0].next_attempt_at -
                    std::chrono::floor<std::chrono::seconds>(outcomes[0].next_attempt_at) >=
                0ns,
            true);
}

TEST(Sender, A400IsFinalAndNotRetried) {
  Receiver rx;
  Running s;
  s.submit("k-400", "ops", std::make_unique<OnePost>(rx.url("/bad"), "k-400"));
  const auto outcomes = s.wait_final("k-400");
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].kind, Outcome::Kind::kFailed);
  EXPECT_EQ(outcomes[0].error, "HTTP 400");
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(rx.keys("/bad").size(), 1u);
}

TEST(Sender, AReceiverThatNeverAnswersTimesOutWhileAnotherKeepsReceiving) {
  Receiver rx;
  Running s;
  s.submit("k-hang", "slow", std::make_unique<OnePost>(rx.url("/hang"), "k-hang", 700ms));
  for (int i = 0; i < 5; ++i) {
    const std::string id = "k-ok-" + std::to_string(i);
    const auto t0 = std::chrono::steady_clock::now();
    s.submit(id, "fast", std::make_unique<OnePost>(rx.url("/ok"), id));
    const auto outcomes = s.wait_final(id);
    ASSERT_EQ(outcomes.size(), 1u);
    EXPECT_EQ(outcomes[0].kind, Outcome::Kind::kSent);
    // Far less than the hanging receiver's timeout: it did not wait behind it.
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);
  }
  std::vector<Outcome> hang;
  for (int i = 0; i < 50 && hang.empty(); ++i) {
    hang = s.wait_final("k-hang", 100ms);
  }
  ASSERT_FALSE(hang.empty());
  EXPECT_EQ(hang[0].kind, Outcome::Kind::kRetrying);
  EXPECT_EQ(hang[0].error.rfind("timeout", 0), 0u) << hang[0].error;
}

TEST(Sender, RequestsPerReceiverStayWithinTheLimit) {
  Receiver rx;
  Running s({.max_in_flight_per_receiver = 2});
  for (int i = 0; i < 8; ++i) {
    const std::string id = "g" + std::to_string(i);
    s.submit(id, "ops", std::make_unique<OnePost>(rx.url("/gate"), id));
  }
  for (int i = 0; i < 8; ++i) {
    const auto outcomes = s.wait_final("g" + std::to_string(i));
    ASSERT_FALSE(outcomes.empty());
    EXPECT_EQ(outcomes.back().kind, Outcome::Kind::kSent);
  }
  EXPECT_EQ(rx.keys("/gate").size(), 8u);
  EXPECT_LE(rx.max_concurrent(), 2);
  EXPECT_GE(rx.max_concurrent(), 1);
}

TEST(Sender, JobsWithOneOrderKeyRunOneAtATimeInSubmissionOrder) {
  Receiver rx;
  Running s({.max_in_flight_per_receiver = 16});
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back("o" + std::to_string(i));
    s.sender().submit({.id = ids.back(),
                       .receiver = "ops",
                       .integration = "webhook/0",
                       .order_key = "ops/webhook/0/{}:{alertname=\"X\"}",
                       .exchange = std::make_unique<OnePost>(rx.url("/gate"), ids.back())});
  }
  for (const auto& id : ids) {
    const auto outcomes = s.wait_final(id);
    ASSERT_FALSE(outcomes.empty());
    EXPECT_EQ(outcomes.back().kind, Outcome::Kind::kSent);
  }
  EXPECT_EQ(rx.keys("/gate"), ids);  // in order, never two at once
  EXPECT_EQ(rx.max_concurrent(), 1);
}

TEST(Sender, ARetriedJobKeepsItsOrderKeyUntilItEnds) {
  Receiver rx;
  Running s;
  // The first answers 500 once and is retried after a backoff; the second, of the same key,
  // waits for it rather than overtaking it.
  for (const auto& [id, path] : {std::pair{"r0", "/flaky"}, std::pair{"r1", "/flaky"}}) {
    s.sender().submit({.id = id,
                       .receiver = "ops",
                       .integration = "webhook/0",
                       .order_key = "g",
                       .exchange = std::make_unique<OnePost>(rx.url(path), id)});
  }
  ASSERT_EQ(s.wait_final("r1").back().kind, Outcome::Kind::kSent);
  EXPECT_EQ(rx.keys("/flaky"), (std::vector<std::string>{"r0", "r0", "r1"}));
}

TEST(Sender, AHeldSlotIsFreeOnlyOnceTheOutcomeIsRecorded) {
  Receiver rx;
  Running s({.max_in_flight = 1, .hold_until_recorded = true});
  s.submit("h0", "ops", std::make_unique<OnePost>(rx.url("/ok"), "h0"));
  s.submit("h1", "ops", std::make_unique<OnePost>(rx.url("/ok"), "h1"));
  ASSERT_EQ(s.wait_final("h0").back().kind, Outcome::Kind::kSent);
  // h0 ended but is not recorded: its slot is still taken, so h1 waits.
  EXPECT_TRUE(s.wait_final("h1", 300ms).empty());
  EXPECT_EQ(s.sender().counts().in_flight, 1u);
  EXPECT_EQ(rx.keys("/ok"), (std::vector<std::string>{"h0"}));
  s.sender().recorded({"unknown", "h0"});
  ASSERT_EQ(s.wait_final("h1").back().kind, Outcome::Kind::kSent);
  EXPECT_EQ(rx.keys("/ok"), (std::vector<std::string>{"h0", "h1"}));
}

TEST(Sender, AConnectionRefusedIsRetriedAndGivenUpAfterTheLimit) {
  // A port nobody listens on: bind one, then close it.
  // (httplib::Server keeps its socket listening after bind_to_any_port, so a plain socket.)
  int port = 0;
  {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port = ntohs(addr.sin_port);
    ::close(fd);
  }
  Running s({.give_up_after = 300ms});
  s.submit(
      "k-refused", "ops",
      std::make_unique<OnePost>("http://127.0.0.1:" + std::to_string(port) + "/x", "k-refused"));
  const auto outcomes = s.wait_final("k-refused");
  ASSERT_GE(outcomes.size(), 2u);
  EXPECT_EQ(outcomes.front().kind, Outcome::Kind::kRetrying);
  EXPECT_EQ(outcomes.front().error.rfind("connection error", 0), 0u) << outcomes.front().error;
  EXPECT_EQ(outcomes.back().kind, Outcome::Kind::kFailed);
  EXPECT_EQ(outcomes.back().error.rfind("gave up after", 0), 0u) << outcomes.back().error;
}

}  // namespace
}  // namespace opsready::alerting::notify
