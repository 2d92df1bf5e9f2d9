// SMS (opsready extension `sms_configs`): the brief's JSON gateway shape, one request that names
// every recipient, or Twilio's Messages API (`format: twilio`), form-encoded, one request per
// recipient in order. The message is cut to `max_segments` SMS segments.
#include "opsready/alerting/notify/encoding.h"
#include "opsready/alerting/notify/internal.h"

namespace opsready::alerting::notify::internal {
namespace {

// Twilio: recipient i is sent once recipient i-1 was accepted. A retry of the exchange resumes
// at the recipient that failed (the exchange keeps its place); a new exchange for the same
// notification (a resend after a crash) starts again at the first, and the Idempotency-Key
// "<id>:<i>" tells a deduplicating proxy which request it already saw.
class TwilioExchange : public Exchange {
 public:
  TwilioExchange(std::vector<Request> requests, Truncation truncation)
      : requests_(std::move(requests)), truncation_(truncation) {}
  [[nodiscard]] Request start() override { return requests_[next_]; }
  [[nodiscard]] Step next(const Response& r, core::TimePoint now) override {
    Step s = classify(r, now);
    if (!std::holds_alternative<Done>(s)) return s;
    if (++next_ < requests_.size()) return requests_[next_];
    return Done{};
  }
  [[nodiscard]] Truncation truncation() const override { return truncation_; }

 private:
  std::vector<Request> requests_;
  std::size_t next_ = 0;
  Truncation truncation_;
};

}  // namespace

core::Result<std::unique_ptr<Exchange>> make_sms(Env& env) {
  const json& s = env.settings();
  auto url = endpoint(env, str(s, "gateway_url"), "gateway_url");
  if (!url) return std::unexpected(url.error());
  std::vector<std::string> recipients;
  if (has(s, "recipients")) recipients = s.at("recipients").get<std::vector<std::string>>();
  std::erase_if(recipients, [](const std::string& r) { return r.empty(); });
  // No recipient is like no gateway: the brief's default SMS channel names neither, and its
  // notifications are recorded, not sent (lint warns; see policy.cc).
  if (recipients.empty() && !env.check) {
    return core::fail("no_endpoint", "no recipients: notifications are recorded, not sent");
  }
  const std::string format = has(s, "format") ? str(s, "format") : "json";
  if (format != "json" && format != "twilio") {
    return core::fail("invalid_value", "must be json or twilio", "format");
  }
  const std::string sender = has(s, "sender") ? str(s, "sender") : "opsready";
  auto message = render(env, s, "message",
                        format == "twilio" ? kDefaultTwilioBody : kDefaultSmsMessage, "message");
  if (!message) return std::unexpected(message.error());
  const SmsFit fit = fit_sms(*message, s.value("max_segments", std::size_t{1}));
  const Truncation truncation{.fields = fit.cut ? 1U : 0U, .alerts = 0};

  if (format == "json") {
    const nlohmann::ordered_json body{{"sender", sender},
                                      {"recipients", recipients},
                                      {"message", fit.text},
                                      {"severity", env.data.severity},
                                      {"category", env.data.category}};
    auto req = http_request(env, "POST", *url, "application/json", body.dump());
    if (!req) return std::unexpected(req.error());
    return std::make_unique<SingleExchange>(std::move(*req), truncation);
  }
  std::vector<Request> requests;
  for (std::size_t i = 0; i < recipients.size(); ++i) {
    auto req =
        http_request(env, "POST", *url, "application/x-www-form-urlencoded",
                     form_encode({{"To", recipients[i]}, {"From", sender}, {"Body", fit.text}}));
    if (!req) return std::unexpected(req.error());
    set_header(http(*req), "Idempotency-Key", env.data.notification_id + ":" + std::to_string(i));
    requests.push_back(std::move(*req));
  }
  return std::make_unique<TwilioExchange>(std::move(requests), truncation);
}

}  // namespace opsready::alerting::notify::internal
