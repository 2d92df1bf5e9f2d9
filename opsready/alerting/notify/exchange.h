#pragma once
// Exchange: what one integration of a receiver sends for one notification, as a conversation of
// requests and responses that the Sender (notify/sender.h) runs on libcurl. A transport
// (webhook, email, slack, sms, github: transports.h) builds an Exchange from the notification's
// data and the integration's settings; it never does I/O itself, so every payload is a pure
// function of its inputs (golden files) and the Sender owns every socket, timer and retry.
//
//   std::unique_ptr<Exchange> x = make_exchange(integration, data, options).value();
//   Request r = x->start();                     // the first request
//   Step s = x->next(response, clock.now());    // another request, done, retry or fail
//
// Most transports are one request: next() classifies the answer (classify()). GitHub's is a
// conversation (find the issue by its hidden marker, then create, comment, close or reopen).
//
// Plain value types; an Exchange is used by one thread at a time.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "opsready/core/alert.h"
#include "opsready/core/clock.h"

namespace opsready::alerting::notify {

// TLS and proxy settings of one request (Alertmanager's http_config / tls_config).
struct TlsOptions {
  bool insecure_skip_verify = false;  // verification is on by default
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string min_version;  // TLS10 .. TLS13, empty: libcurl's default
  std::string max_version;
  bool operator==(const TlsOptions&) const = default;
};

struct HttpRequest {
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // in order; names as sent
  std::string body;
  // Basic auth (Twilio, Alertmanager's basic_auth): sent as an Authorization header by curl.
  std::string username;
  std::string password;
  bool operator==(const HttpRequest&) const = default;
};

// One message over SMTP: libcurl speaks the protocol (EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA).
struct MailRequest {
  std::string url;    // smtp://host:port (STARTTLS when require_tls) or smtps://host:port
  std::string hello;  // the EHLO name (Alertmanager's smarthost `hello`, default localhost)
  std::string from;   // the envelope sender
  std::vector<std::string> to;  // envelope recipients
  std::string message;          // the whole RFC 5322 message, CRLF line ends
  std::string username;
  std::string password;
  std::string identity;     // SASL authorization identity (auth_identity), usually empty
  bool require_tls = true;  // Alertmanager's require_tls: STARTTLS or refuse
  bool operator==(const MailRequest&) const = default;
};

struct Request {
  std::variant<HttpRequest, MailRequest> what;
  TlsOptions tls;
  std::string proxy_url;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{10000};  // the whole exchange of this request
  bool follow_redirects = true;              // http_config.follow_redirects
  bool operator==(const Request&) const = default;
};

// What came back. For SMTP, status is the last SMTP reply code (250 accepted), or 0 with
// `error` set when the connection failed or timed out.
struct Response {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string error;  // transport error (curl's message); empty when an answer came
  bool timed_out = false;
  [[nodiscard]] const std::string* header(std::string_view lower_name) const;
};

// What to do after a response.
struct Done {};  // the receiver accepted the notification
struct Retry {   // try the whole exchange again later (5xx, 429, timeout, connection error)
  std::string reason;
  std::optional<std::chrono::milliseconds> after;  // from Retry-After / X-RateLimit-Reset
};
struct Fail {  // final: the receiver refused it (other 4xx, a bad answer); not retried
  std::string reason;
};
using Step = std::variant<Request, Done, Retry, Fail>;

// The common classification of an HTTP answer: 2xx Done; 429, 5xx, timeouts and connection
// errors Retry (with Retry-After in seconds or as an HTTP date, relative to `now`); other
// statuses (1xx, 3xx that were not followed, other 4xx) Fail.
[[nodiscard]] Step classify(const Response& r, core::TimePoint now);
// An SMTP answer: 2xx/3xx Done, 4xx (transient, RFC 5321) Retry, 5xx Fail; timeouts and
// connection errors Retry.
[[nodiscard]] Step classify_smtp(const Response& r);
// A Retry-After value: delay-seconds or an IMF-fixdate HTTP-date (a date in the past waits 0);
// nullopt when it is neither.
[[nodiscard]] std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                                         core::TimePoint now);

// What a transport cut to fit its receiver's limits, for the Sender to count. Every cut field
// ends with a visible marker (" … (truncated)"); alerts left out by max_alerts are reported in
// the payload itself (truncatedAlerts) and here.
struct Truncation {
  std::size_t fields = 0;  // fields cut to a length (Slack text, SMS body, issue body, ...)
  std::size_t alerts = 0;  // alerts left out (webhook max_alerts)
  bool operator==(const Truncation&) const = default;
};

class Exchange {
 public:
  virtual ~Exchange() = default;
  // What the payloads of this exchange cut; known once make_exchange() returned.
  [[nodiscard]] virtual Truncation truncation() const { return {}; }
  // The first request. Called again when the whole exchange is retried.
  [[nodiscard]] virtual Request start() = 0;
  // After each response: the next request, or how the exchange ended.
  [[nodiscard]] virtual Step next(const Response& r, core::TimePoint now) = 0;
};

}  // namespace opsready::alerting::notify
