// The transports' Exchanges run by the real Sender (libcurl) against real servers on loopback:
// email to a real SMTP server (aiosmtpd, testdata/smtp_sink.py, started here on a free port),
// and webhook, Slack, SMS and GitHub to a cpp-httplib server that checks the documented
// request shape (docs/receivers.md) and answers 400 to anything else.
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "opsready/alerting/notify/encoding.h"
#include "opsready/alerting/notify/sender.h"
#include "opsready/alerting/notify/transports.h"
#include "opsready/core/time.h"
#include "tests/support/smtp_sink.h"

extern char** environ;

namespace opsready::alerting::notify {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const std::filesystem::path kTestdata = std::filesystem::path(__FILE__).parent_path() / "testdata";

using test_support::SmtpSink;

// testdata/smtp_sink.py on a free port.
struct LiveSink : SmtpSink {
  LiveSink() : SmtpSink(kTestdata / "smtp_sink.py") {}
};

// A Sender on its own thread; run() submits one job and waits for its first final outcome
// (or the first kRetrying, when `until_retry`).
class Delivery {
 public:
  Delivery()
      : sender_(SenderOptions{.backoff_initial = 50ms, .backoff_max = 100ms, .seed = 7},
                core::SystemClock::instance(), [this](const Outcome& o) {
                  std::lock_guard lock(mu_);
                  outcomes_.push_back(o);
                  cv_.notify_all();
                }) {
    thread_ = std::jthread([this](std::stop_token st) { sender_.run(st); });
  }
  Outcome run(std::unique_ptr<Exchange> x, const std::string& id, bool until_retry = false) {
    sender_.submit(Job{.id = id, .receiver = "ops", .integration = id, .exchange = std::move(x)});
    std::unique_lock lock(mu_);
    Outcome found{.kind = Outcome::Kind::kFailed, .error = "no outcome in 10 s"};
    cv_.wait_for(lock, 10s, [&] {
      for (const Outcome& o : outcomes_) {
        if (o.id == id && (o.kind != Outcome::Kind::kRetrying || until_retry)) {
          found = o;
          return true;
        }
      }
      return false;
    });
    return found;
  }

 private:
  Sender sender_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Outcome> outcomes_;
  std::jthread thread_;
};

Data data(std::string id, bool firing = true) {
  core::Alert a{.labels = {{"alertname", "ComponentDown"},
                           {"category", "operational.fix_gateway"},
                           {"severity", "critical"}},
                .annotations = {{"summary", "fix_gateway is down — Störung"}},
                .starts_at = core::parse_rfc3339("2025-03-04T09:00:00Z").value(),
                .ends_at = firing ? core::TimePoint::max()
                                  : core::parse_rfc3339("2025-03-04T09:30:00Z").value()};
  core::assign_fingerprint(a);
  std::vector<core::Alert> on;
  std::vector<core::Alert> off;
  (firing ? on : off).push_back(a);
  return make_data("ops", {{"alertname", "ComponentDown"}}, on, off,
                   "{}:{alertname=\"ComponentDown\"}", "00aa11bb22cc33dd", "first", std::move(id),
                   "http://opsready.example", core::SystemClock::instance().now());
}

std::unique_ptr<Exchange> exchange(std::string type, json settings, const Data& d) {
  auto x = make_exchange(Integration{.type = std::move(type), .settings = std::move(settings)}, d,
                         DeliveryOptions{.user_agent = "opsready/live-test"});
  EXPECT_TRUE(x.has_value()) << (x ? "" : x.error().describe());
  return x ? std::move(*x) : nullptr;
}

// ---- email ----

TEST(LiveEmail, ThroughTheSenderToARealSmtpServer) {
  LiveSink smtp;
  ASSERT_TRUE(smtp.running()) << "python3-aiosmtpd (Debian) is needed: scripts/setup";
  Delivery delivery;
  const json settings{{"to", "Oncall <ops@example.org>, b@example.org"},
                      {"from", "alerts@example.org"},
                      {"smarthost", "127.0.0.1:" + std::to_string(smtp.port())},
                      {"auth_username", "user"},
                      {"auth_password", "secret"},
                      {"html", "<p>{{message}}</p>"},
                      {"require_tls", false}};
  const Outcome o = delivery.run(exchange("email", settings, data("mail-1")), "mail-1");
  ASSERT_EQ(o.kind, Outcome::Kind::kSent) << o.error;
  const auto messages = smtp.messages();
  ASSERT_EQ(messages.size(), 1U);
  const json& m = messages[0];
  EXPECT_EQ(m["mail_from"], "alerts@example.org");
  EXPECT_EQ(m["rcpt_tos"], json::array({"ops@example.org", "b@example.org"}));
  EXPECT_EQ(m["auth"], true);
  const std::string msg = m["data"];
  EXPECT_NE(msg.find("Message-ID: <mail-1@example.org>\r\n"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Subject: [CRITICAL] operational.fix_gateway\r\n"), std::string::npos);
  EXPECT_NE(msg.find("To: Oncall <ops@example.org>, b@example.org\r\n"), std::string::npos);
  EXPECT_TRUE(msg.starts_with("Date: ")) << msg;
  EXPECT_NE(msg.find("Content-Type: multipart/alternative"), std::string::npos);
  EXPECT_NE(msg.find("Content-Type: text/html; charset=UTF-8"), std::string::npos);
  // The body, quoted-printable: "— Störung".
  EXPECT_NE(msg.find("=E2=80=94 St=C3=B6rung"), std::string::npos) << msg;
}

TEST(LiveEmail, RequireTlsNeverSendsInClear) {
  LiveSink smtp;
  ASSERT_TRUE(smtp.running()) << "python3-aiosmtpd (Debian) is needed: scripts/setup";
  Delivery delivery;
  const json settings{{"to", "ops@example.org"},
                      {"from", "alerts@example.org"},
                      {"smarthost", "127.0.0.1:" + std::to_string(smtp.port())}};  // require_tls
  const Outcome o =
      delivery.run(exchange("email", settings, data("mail-tls")), "mail-tls", /*until_retry=*/true);
  EXPECT_EQ(o.kind, Outcome::Kind::kRetrying) << o.error;
  EXPECT_FALSE(o.error.empty());
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(smtp.messages().empty());
}

// ---- HTTP receivers ----

// A fake GitHub (issues, comments, labels under the GHE prefix /api/v3) and the other
// receivers, each checking the request shape.
class Receivers {
 public:
  Receivers() {
    server_.Post("/webhook", [this](const httplib::Request& q, httplib::Response& a) {
      std::lock_guard lock(mu_);
      const json body = json::parse(q.body, nullptr, false);
      const std::string sig = q.get_header_value("X-Opsready-Signature");
      const auto comma = sig.find(",v1=");
      const bool signed_ok =
          sig.starts_with("t=") && comma != std::string::npos &&
          sig.substr(comma + 4) == hmac_sha256_hex("k", sig.substr(2, comma - 2) + "." + q.body);
      const bool ok = common(q) && body.is_object() && body.value("version", "") == "4" &&
                      body.contains("groupKey") && body.contains("truncatedAlerts") &&
                      body["alerts"].is_array() && signed_ok &&
                      q.get_header_value("Content-Type") == "application/json";
      a.status = ok ? 200 : 400;
      if (ok) seen_.push_back("webhook");
    });
    server_.Post("/slack", [this](const httplib::Request& q, httplib::Response& a) {
      std::lock_guard lock(mu_);
      const json body = json::parse(q.body, nullptr, false);
      const bool ok = common(q) && body.is_object() && body["text"].is_string() &&
                      body["blocks"].is_array() && !body["blocks"].empty() &&
                      body["blocks"].size() <= 50;
      a.status = ok ? 200 : 400;
      a.set_content(ok ? "ok" : "invalid_payload", "text/plain");
      if (ok) seen_.push_back("slack");
    });
    server_.Post("/sms", [this](const httplib::Request& q, httplib::Response& a) {
      std::lock_guard lock(mu_);
      const json body = json::parse(q.body, nullptr, false);
      const bool ok = common(q) && body.is_object() && body["sender"] == "OPS" &&
                      body["recipients"] == json::array({"+441234"}) &&
                      body["message"].is_string() && body["severity"] == "critical" &&
                      body["category"] == "operational.fix_gateway";
      a.status = ok ? 200 : 400;
      if (ok) seen_.push_back("sms");
    });
    server_.Post("/twilio/Messages.json", [this](const httplib::Request& q, httplib::Response& a) {
      std::lock_guard lock(mu_);
      const bool ok = common(q) && q.get_header_value("Authorization").starts_with("Basic ") &&
                      q.get_header_value("Content-Type") == "application/x-www-form-urlencoded" &&
                      q.has_param("To") && q.get_param_value("From") == "+15550001" &&
                      q.has_param("Body");
      a.status = ok ? 201 : 400;
      if (ok) seen_.push_back("twilio " + q.get_param_value("To"));
    });
    const std::string repo = "/api/v3/repos/acme/ops";
    server_.Get(repo + "/labels/opsready-alert",
                [this](const httplib::Request& q, httplib::Response& a) {
                  std::lock_guard lock(mu_);
                  a.status = !github(q) ? 400 : label_ ? 200 : 404;
                });
    server_.Post(repo + "/labels", [this](const httplib::Request& q, httplib::Response& a) {
      std::lock_guard lock(mu_);
      const json body = json::parse(q.body, nullptr, false);
      a.status = github(q) && body.value("name", "") == "opsready-alert" ? 201 : 400;
      label_ = a.status == 201;
    });
    server_.Get(repo + "/issues", [this](const httplib::Request& q, httplib::Response& a) {
      std::lock_guard lock(mu_);
      if (!github(q) || q.get_param_value("labels") != "opsready-alert") {
        a.status = 400;
        return;
      }
      a.set_content(issues_.dump(), "application/json");
    });
    server_.Post(repo + "/issues", [this](const httplib::Request& q, httplib::Response& a) {
      std::lock_guard lock(mu_);
      json body = json::parse(q.body, nullptr, false);
      if (!github(q) || !body.is_object() || !body["title"].is_string()) {
        a.status = 400;
        return;
      }
      body["number"] = issues_.size() + 1;
      body["state"] = "open";
      issues_.push_back(body);
      comments_.push_back(json::array());
      seen_.push_back("issue created");
      a.status = 201;
      a.set_content(body.dump(), "application/json");
    });
    server_.Get(repo + R"(/issues/(\d+)/comments)",
                [this](const httplib::Request& q, httplib::Response& a) {
                  std::lock_guard lock(mu_);
                  const auto n = number(q);
                  if (!github(q) || n == 0 || !q.has_param("since")) {
                    a.status = 400;
                    return;
                  }
                  a.set_content(comments_[n - 1].dump(), "application/json");
                });
    server_.Post(repo + R"(/issues/(\d+)/comments)",
                 [this](const httplib::Request& q, httplib::Response& a) {
                   std::lock_guard lock(mu_);
                   const auto n = number(q);
                   const json body = json::parse(q.body, nullptr, false);
                   if (!github(q) || n == 0 || !body["body"].is_string()) {
                     a.status = 400;
                     return;
                   }
                   comments_[n - 1].push_back(body);
                   seen_.push_back("comment " + std::to_string(n));
                   a.status = 201;
                 });
    server_.Patch(repo + R"(/issues/(\d+))",
                  [this](const httplib::Request& q, httplib::Response& a) {
                    std::lock_guard lock(mu_);
                    const auto n = number(q);
                    const json body = json::parse(q.body, nullptr, false);
                    if (!github(q) || n == 0 || !body["state"].is_string()) {
                      a.status = 400;
                      return;
                    }
                    issues_[n - 1]["state"] = body["state"];
                    seen_.push_back(body["state"].get<std::string>() + " " + std::to_string(n));
                    a.status = 200;
                  });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(1ms);
  }
  ~Receivers() {
    server_.stop();
    thread_.join();
  }
  [[nodiscard]] std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<std::string> seen() {
    std::lock_guard lock(mu_);
    return std::exchange(seen_, {});
  }
  json issues() {
    std::lock_guard lock(mu_);
    return issues_;
  }

 private:
  // Every HTTP transport: the notification id twice, our User-Agent.
  static bool common(const httplib::Request& q) {
    const std::string id = q.get_header_value("X-Opsready-Notification-Id");
    return !id.empty() && q.get_header_value("Idempotency-Key").starts_with(id) &&
           q.get_header_value("User-Agent") == "opsready/live-test";
  }
  static bool github(const httplib::Request& q) {
    return common(q) && q.get_header_value("Authorization") == "Bearer ghp_t" &&
           q.get_header_value("Accept") == "application/vnd.github+json" &&
           q.get_header_value("X-GitHub-Api-Version") == "2022-11-28";
  }
  std::size_t number(const httplib::Request& q) const {
    const std::size_t n = std::stoul(q.matches[1]);
    return n >= 1 && n <= issues_.size() ? n : 0;
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::vector<std::string> seen_;
  bool label_ = false;
  json issues_ = json::array();
  std::vector<json> comments_;
};

TEST(LiveHttp, WebhookSlackSmsThroughTheSender) {
  Receivers r;
  Delivery delivery;
  const Data d = data("http-1");
  EXPECT_EQ(
      delivery
          .run(exchange("webhook", {{"url", r.url("/webhook")}, {"signature_secret", "k"}}, d),
               "webhook")
          .kind,
      Outcome::Kind::kSent);
  EXPECT_EQ(delivery.run(exchange("slack", {{"api_url", r.url("/slack")}}, d), "slack").kind,
            Outcome::Kind::kSent);
  EXPECT_EQ(
      delivery
          .run(exchange(
                   "sms",
                   {{"gateway_url", r.url("/sms")}, {"sender", "OPS"}, {"recipients", {"+441234"}}},
                   d),
               "sms")
          .kind,
      Outcome::Kind::kSent);
  EXPECT_EQ(
      delivery
          .run(
              exchange("sms",
                       {{"gateway_url", r.url("/twilio/Messages.json")},
                        {"format", "twilio"},
                        {"sender", "+15550001"},
                        {"recipients", {"+441234", "+447700"}},
                        {"http_config", {{"basic_auth", {{"username", "AC"}, {"password", "t"}}}}}},
                       d),
              "twilio")
          .kind,
      Outcome::Kind::kSent);
  EXPECT_EQ(r.seen(), (std::vector<std::string>{"webhook", "slack", "sms", "twilio +441234",
                                                "twilio +447700"}));
  // A wrong signature secret: the receiver refuses it (400 is final).
  const Outcome bad = delivery.run(
      exchange("webhook", {{"url", r.url("/webhook")}, {"signature_secret", "wrong"}}, d), "bad");
  EXPECT_EQ(bad.kind, Outcome::Kind::kFailed);
  EXPECT_EQ(bad.status, 400);
}

TEST(LiveHttp, GithubIssueLifecycleThroughTheSender) {
  Receivers r;
  Delivery delivery;
  const json settings{
      {"repository", "acme/ops"}, {"token", "ghp_t"}, {"api_url", r.url("/api/v3/")}};
  const auto send = [&](const std::string& id, bool firing) {
    return delivery.run(exchange("github", settings, data(id, firing)), id).kind;
  };
  ASSERT_EQ(send("gh-1", true), Outcome::Kind::kSent);
  EXPECT_EQ(r.seen(), std::vector<std::string>{"issue created"});
  // A resend of the same notification (after a crash) finds the issue it created.
  ASSERT_EQ(send("gh-1", true), Outcome::Kind::kSent);
  EXPECT_TRUE(r.seen().empty());
  ASSERT_EQ(send("gh-2", true), Outcome::Kind::kSent);
  EXPECT_EQ(r.seen(), std::vector<std::string>{"comment 1"});
  ASSERT_EQ(send("gh-2", true), Outcome::Kind::kSent);  // its comment is found: none again
  EXPECT_TRUE(r.seen().empty());
  ASSERT_EQ(send("gh-3", false), Outcome::Kind::kSent);
  EXPECT_EQ(r.seen(), (std::vector<std::string>{"comment 1", "closed 1"}));
  ASSERT_EQ(send("gh-4", true), Outcome::Kind::kSent);
  EXPECT_EQ(r.seen(), (std::vector<std::string>{"comment 1", "open 1"}));
  const json issues = r.issues();
  ASSERT_EQ(issues.size(), 1U);
  EXPECT_NE(issues[0]["body"].get<std::string>().find("<!-- opsready:group=00aa11bb22cc33dd -->"),
            std::string::npos);
  EXPECT_EQ(issues[0]["labels"], json::array({"opsready-alert"}));
}

}  // namespace
}  // namespace opsready::alerting::notify
