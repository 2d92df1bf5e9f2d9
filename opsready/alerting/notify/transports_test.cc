// The transports as pure functions: every payload shape against a golden file (exact bytes),
// the common headers, truncation markers and counts, RFC 2047, the webhook signature
// recomputed with OpenSSL, templates, and the GitHub conversation step by step.
//
// Golden files live in testdata/. After a deliberate change of a payload, regenerate them with
//   OPSREADY_UPDATE_GOLDENS=1 build/dev/opsready/alerting/notify/opsready_alerting_notify_test
//     --gtest_filter='Golden*'      (one command line)
// and review the diff (git diff opsready/alerting/notify/testdata).
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "opsready/alerting/notify/encoding.h"
#include "opsready/alerting/notify/template.h"
#include "opsready/alerting/notify/transports.h"
#include "opsready/core/text.h"
#include "opsready/core/time.h"

namespace opsready::alerting::notify {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const std::filesystem::path kTestdata = std::filesystem::path(__FILE__).parent_path() / "testdata";

core::TimePoint at(std::string_view s) { return core::parse_rfc3339(s).value(); }

core::Alert alert(core::LabelSet labels, core::LabelSet annotations, core::TimePoint starts,
                  core::TimePoint ends = core::TimePoint::max()) {
  core::Alert a{.labels = std::move(labels),
                .annotations = std::move(annotations),
                .starts_at = starts,
                .ends_at = ends,
                .generator_url = "http://prometheus.example:9090/graph?g0.expr=up+%3D%3D+0"};
  core::assign_fingerprint(a);
  return a;
}

// Two firing alerts and a resolved one of group {alertname="ComponentDown"}.
Data fixture(bool firing = true) {
  std::vector<core::Alert> fire;
  std::vector<core::Alert> resolved;
  if (firing) {
    fire.push_back(alert({{"alertname", "ComponentDown"},
                          {"category", "operational.fix_gateway"},
                          {"component", "fix_gateway"},
                          {"severity", "critical"},
                          {"venue", "XLON"}},
                         {{"summary", "fix_gateway is down <since 09:00> & not reconnecting"},
                          {"runbook_url", "https://runbooks.example/fix_gateway"}},
                         at("2025-03-04T09:00:00.250Z")));
    fire.push_back(alert({{"alertname", "ComponentDown"},
                          {"category", "operational.fix_gateway"},
                          {"component", "fix_gateway"},
                          {"severity", "warning"},
                          {"venue", "XPAR"}},
                         {{"summary", "fix_gateway XPAR session flapping"},
                          {"runbook_url", "https://runbooks.example/fix_gateway"}},
                         at("2025-03-04T09:01:00Z")));
  }
  resolved.push_back(alert({{"alertname", "ComponentDown"},
                            {"category", "operational.fix_gateway"},
                            {"component", "fix_gateway"},
                            {"severity", "warning"},
                            {"venue", "XETR"}},
                           {{"summary", "fix_gateway XETR logon refused"}},
                           at("2025-03-04T08:50:00Z"), at("2025-03-04T09:02:00Z")));
  return make_data("ops", {{"alertname", "ComponentDown"}}, fire, resolved,
                   "{}:{alertname=\"ComponentDown\"}", "5f1d2c3b4a596877", "new_alerts",
                   "ops/webhook/0/5f1d2c3b4a596877/3", "http://opsready.example:9477",
                   at("2025-03-04T09:03:00Z"));
}

Integration integration(std::string type, json settings) {
  return Integration{
      .type = std::move(type), .send_resolved = true, .settings = std::move(settings)};
}

std::unique_ptr<Exchange> exchange(const Integration& i, const Data& d = fixture(),
                                   const json& global = json::object()) {
  DeliveryOptions o{.global = global, .user_agent = "opsready/test"};
  auto x = make_exchange(i, d, o);
  EXPECT_TRUE(x.has_value()) << (x ? "" : x.error().describe());
  return x ? std::move(*x) : nullptr;
}

const HttpRequest& http(const Request& r) { return std::get<HttpRequest>(r.what); }

std::string header(const HttpRequest& h, std::string_view name) {
  for (const auto& [n, v] : h.headers) {
    if (core::to_lower(n) == core::to_lower(name)) return v;
  }
  return "<absent>";
}

// A request as the golden files hold it.
std::string dump(const Request& r) {
  std::string out;
  if (const auto* h = std::get_if<HttpRequest>(&r.what)) {
    out += h->method + " " + h->url + "\n";
    for (const auto& [n, v] : h->headers) out += n + ": " + v + "\n";
    if (!h->username.empty()) out += "(basic auth " + h->username + ")\n";
    out += "\n" + h->body;
  } else {
    const auto& m = std::get<MailRequest>(r.what);
    out += "SMTP " + m.url + " hello=" + m.hello +
           " require_tls=" + (m.require_tls ? "true" : "false") + "\nMAIL FROM:<" + m.from + ">\n";
    for (const auto& t : m.to) out += "RCPT TO:<" + t + ">\n";
    out += "\n" + m.message;
  }
  return out;
}

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void expect_golden(const std::string& name, const std::string& actual) {
  const auto path = kTestdata / name;
  const char* update = std::getenv("OPSREADY_UPDATE_GOLDENS");
  if (update != nullptr && std::string_view(update) == "1") {
    std::ofstream(path, std::ios::binary) << actual;
    return;
  }
  ASSERT_TRUE(std::filesystem::exists(path)) << path << " missing: OPSREADY_UPDATE_GOLDENS=1";
  EXPECT_EQ(read(path), actual) << "golden " << name;
}

void expect_common_headers(const HttpRequest& h) {
  EXPECT_EQ(header(h, "Idempotency-Key"), "ops/webhook/0/5f1d2c3b4a596877/3");
  EXPECT_EQ(header(h, "X-Opsready-Notification-Id"), "ops/webhook/0/5f1d2c3b4a596877/3");
  EXPECT_EQ(header(h, "User-Agent"), "opsready/test");
}

std::string decode_base64(std::string_view b) {
  std::string out(b.size(), '\0');
  const int n =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(b.data()), static_cast<int>(b.size()));
  out.resize(static_cast<std::size_t>(n));
  while (b.ends_with('=')) {  // EVP_DecodeBlock keeps the padding's zero bytes
    out.pop_back();
    b.remove_suffix(1);
  }
  return out;
}

// RFC 2047 B-encoded words back to UTF-8 (folds and the space between words dropped).
std::string decode_words(std::string_view v) {
  std::string out;
  std::size_t pos = 0;
  while ((pos = v.find("=?UTF-8?B?", pos)) != std::string_view::npos) {
    const auto end = v.find("?=", pos + 10);
    out += decode_base64(v.substr(pos + 10, end - pos - 10));
    pos = end + 2;
  }
  return out;
}

// ---- goldens ----

TEST(Golden, WebhookAlertmanager) {
  auto x = exchange(integration("webhook", {{"url", "https://hooks.example/am"}}));
  const Request r = x->start();
  expect_golden("webhook_alertmanager.txt", dump(r));
  expect_common_headers(http(r));
  const json body = json::parse(http(r).body);
  EXPECT_EQ(body["version"], "4");
  EXPECT_EQ(body["truncatedAlerts"], 0);
  EXPECT_EQ(body["status"], "firing");
  EXPECT_EQ(body["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(body["alerts"][0]["startsAt"], "2025-03-04T09:00:00.25Z");
  EXPECT_EQ(body["alerts"][2]["endsAt"], "2025-03-04T09:02:00Z");
  EXPECT_EQ(body["alerts"][2]["status"], "resolved");
  EXPECT_EQ(body["alerts"][0]["fingerprint"].get<std::string>().size(), 16U);
  // Go's encoder escapes <, > and & in strings.
  EXPECT_NE(http(r).body.find(R"(\u003csince 09:00\u003e \u0026 not)"), std::string::npos);
}

TEST(Golden, WebhookBrief) {
  auto x = exchange(integration("webhook", {{"url", "https://hooks.example/brief"},
                                            {"format", "brief"},
                                            {"headers", {{"X-Team", "{{receiver}}-oncall"}}}}));
  const Request r = x->start();
  expect_golden("webhook_brief.txt", dump(r));
  EXPECT_EQ(header(http(r), "X-Team"), "ops-oncall");
  const json body = json::parse(http(r).body);
  std::vector<std::string> keys;
  for (auto it = body.begin(); it != body.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"category", "context", "message", "occurred_at",
                                            "severity", "tags"}));
  EXPECT_EQ(body["severity"], "critical");
}

TEST(Golden, EmailMultipart) {
  auto x = exchange(integration("email", {{"to", "Oncall Ops <ops@example.org>, b@example.org"},
                                          {"from", "opsready <alerts@example.org>"},
                                          {"smarthost", "mail.example.org:587"},
                                          {"html", "<b>{{message}}</b>"}}));
  const Request r = x->start();
  expect_golden("email_multipart.txt", dump(r));
  const auto& m = std::get<MailRequest>(r.what);
  EXPECT_EQ(m.to, (std::vector<std::string>{"ops@example.org", "b@example.org"}));
  EXPECT_TRUE(m.require_tls);
  EXPECT_EQ(m.url, "smtp://mail.example.org:587");
  EXPECT_NE(m.message.find("Message-ID: <ops/webhook/0/5f1d2c3b4a596877/3@example.org>\r\n"),
            std::string::npos);
  EXPECT_NE(m.message.find("Date: Tue, 04 Mar 2025 09:03:00 +0000\r\n"), std::string::npos);
  EXPECT_NE(m.message.find("Content-Type: multipart/alternative"), std::string::npos);
  EXPECT_NE(m.message.find("Subject: [CRITICAL] operational.fix_gateway\r\n"), std::string::npos);
  // HTML escaped in the HTML part.
  EXPECT_NE(m.message.find("&lt;since 09:00&gt; &amp;"), std::string::npos);
}

TEST(Golden, EmailPlainTextOnImplicitTls) {
  auto x = exchange(
      integration("email", {{"to", "ops@example.org"}, {"smarthost", "mail.example.org:465"}}),
      fixture(false),
      {{"smtp_from", "alerts@example.org"},
       {"smtp_auth_username", "u"},
       {"smtp_auth_password", "p"}});
  const Request r = x->start();
  expect_golden("email_text.txt", dump(r));
  const auto& m = std::get<MailRequest>(r.what);
  EXPECT_EQ(m.url, "smtps://mail.example.org:465");
  EXPECT_EQ(m.username, "u");
  EXPECT_EQ(m.password, "p");
  EXPECT_NE(m.message.find("Subject: [RESOLVED] [WARNING] operational.fix_gateway\r\n"),
            std::string::npos);
}

TEST(Golden, SlackIncomingWebhook) {
  auto x = exchange(integration(
      "slack", {{"api_url", "https://hooks.slack.com/services/T/B/x"}, {"channel", "#ops"}}));
  const Request r = x->start();
  expect_golden("slack_webhook.txt", dump(r));
  expect_common_headers(http(r));
  const json body = json::parse(http(r).body);
  EXPECT_TRUE(body["text"].get<std::string>().starts_with("*CRITICAL* operational.fix_gateway\n"));
  EXPECT_NE(body["text"].get<std::string>().find("\nContext: ```{"), std::string::npos);
}

TEST(Golden, SlackPostMessageAttachment) {
  auto x = exchange(integration(
      "slack", {{"api_url", "https://slack.com/api/chat.postMessage"},
                {"channel", "C0123"},
                {"title", "{{ template \"slack.default.title\" . }}"},
                {"http_config", {{"authorization", {{"credentials", "xoxb-secret"}}}}}}));
  const Request r = x->start();
  expect_golden("slack_postmessage.txt", dump(r));
  EXPECT_EQ(header(http(r), "Authorization"), "Bearer xoxb-secret");
}

TEST(Golden, SmsJson) {
  auto x = exchange(integration("sms", {{"gateway_url", "https://sms.example/send"},
                                        {"recipients", {"+441234", "+447700"}}}));
  const Request r = x->start();
  expect_golden("sms_json.txt", dump(r));
  expect_common_headers(http(r));
}

TEST(Golden, SmsTwilioOneRequestPerRecipient) {
  auto x = exchange(integration(
      "sms", {{"gateway_url", "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json"},
              {"format", "twilio"},
              {"sender", "+15550001"},
              {"recipients", {"+441234", "+447700"}},
              {"http_config", {{"basic_auth", {{"username", "AC1"}, {"password", "tok"}}}}}}));
  const Request first = x->start();
  const Step second = x->next(Response{.status = 201}, at("2025-03-04T09:03:00Z"));
  ASSERT_TRUE(std::holds_alternative<Request>(second));
  expect_golden("sms_twilio.txt", dump(first) + "\n----\n" + dump(std::get<Request>(second)));
  EXPECT_EQ(http(first).username, "AC1");
  EXPECT_EQ(http(first).password, "tok");
  EXPECT_NE(http(std::get<Request>(second)).body.find("To=%2B447700"), std::string::npos);
  EXPECT_TRUE(
      std::holds_alternative<Done>(x->next(Response{.status = 201}, at("2025-03-04T09:03:00Z"))));
}

TEST(Golden, GithubCreateIssue) {
  auto x = exchange(integration(
      "github", {{"repository", "acme/ops"}, {"token", "ghp_secret"}, {"labels", {"incident"}}}));
  const auto now = at("2025-03-04T09:03:00Z");
  Request r = x->start();  // label lookup
  Step s = x->next(Response{.status = 200, .body = "{}"}, now);
  r = std::get<Request>(s);  // issue lookup
  s = x->next(Response{.status = 200, .body = "[]"}, now);
  expect_golden("github_create.txt", dump(std::get<Request>(s)));
}

// ---- common behaviour ----

TEST(Transports, EveryHttpRequestCarriesTheNotificationId) {
  for (const Integration& i :
       {integration("webhook", {{"url", "https://w.example/"}}),
        integration("slack", {{"api_url", "https://hooks.slack.com/x"}}),
        integration("sms", {{"gateway_url", "https://s.example/"}, {"recipients", {"+1"}}}),
        integration("github", {{"repository", "a/b"}, {"token", "t"}})}) {
    auto x = exchange(i);
    expect_common_headers(http(x->start()));
  }
}

TEST(Transports, NoEndpointIsAFinalError) {
  auto x = make_exchange(integration("webhook", json::object()), fixture(), {});
  ASSERT_FALSE(x);
  EXPECT_EQ(x.error().code, "no_endpoint");
  EXPECT_TRUE(check_integration(integration("webhook", json::object())));
  // The brief's default SMS channel names no recipient: recorded, not sent, like no gateway.
  auto sms =
      make_exchange(integration("sms", {{"gateway_url", "https://s.example/"}}), fixture(), {});
  ASSERT_FALSE(sms);
  EXPECT_EQ(sms.error().code, "no_endpoint");
  EXPECT_TRUE(check_integration(integration("sms", {{"gateway_url", "https://s.example/"}})));
}

TEST(Transports, SecretFileIsReadAndNeverInErrors) {
  const auto dir = std::filesystem::temp_directory_path() / "opsready_transports_test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "token") << "  ghp_from_file\n";
  auto x = exchange(
      integration("github", {{"repository", "a/b"}, {"token_file", (dir / "token").string()}}));
  EXPECT_EQ(header(http(x->start()), "Authorization"), "Bearer ghp_from_file");
  auto bad = make_exchange(
      integration("github", {{"repository", "a/b"}, {"token_file", (dir / "nope").string()}}),
      fixture(), {});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "secret_file");
  EXPECT_EQ(bad.error().field, "token_file");
  // check_integration does not read the file.
  EXPECT_TRUE(check_integration(
      integration("github", {{"repository", "a/b"}, {"token_file", (dir / "nope").string()}})));
}

// ---- webhook ----

TEST(Webhook, MaxAlertsCountsWhatItLeftOut) {
  auto x = exchange(integration("webhook", {{"url", "https://w.example/"}, {"max_alerts", 1}}));
  const json body = json::parse(http(x->start()).body);
  EXPECT_EQ(body["alerts"].size(), 1U);
  EXPECT_EQ(body["truncatedAlerts"], 2);
  EXPECT_EQ(x->truncation().alerts, 2U);
  // Common labels from what is left, as Alertmanager computes them.
  EXPECT_EQ(body["commonLabels"]["venue"], "XLON");
}

TEST(Webhook, SignatureVerifiesByRecomputing) {
  auto x = exchange(
      integration("webhook", {{"url", "https://w.example/"}, {"signature_secret", "s3cret"}}));
  const HttpRequest h = http(x->start());
  const std::string sig = header(h, "X-Opsready-Signature");
  ASSERT_TRUE(sig.starts_with("t=")) << sig;
  const auto comma = sig.find(",v1=");
  ASSERT_NE(comma, std::string::npos);
  const std::string t = sig.substr(2, comma - 2);
  EXPECT_EQ(t, std::to_string(core::to_unix_seconds(at("2025-03-04T09:03:00Z"))).substr(0, 10));
  // The recipe of docs/receivers.md: HMAC-SHA256(secret, t + "." + body), hex.
  const std::string message = t + "." + h.body;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), "s3cret", 6, reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), md, &len);
  std::string hex;
  for (unsigned i = 0; i < len; ++i) {
    static constexpr char kDigits[] = "0123456789abcdef";
    hex += kDigits[md[i] >> 4];
    hex += kDigits[md[i] & 0xf];
  }
  EXPECT_EQ(sig.substr(comma + 4), hex);
  // A changed body does not verify.
  EXPECT_NE(hmac_sha256_hex("s3cret", t + "." + h.body + " "), sig.substr(comma + 4));
}

TEST(Webhook, ReservedHeadersAndBadFormatAreRefused) {
  auto reserved = make_exchange(
      integration("webhook", {{"url", "https://w/"}, {"headers", {{"Idempotency-Key", "x"}}}}),
      fixture(), {});
  ASSERT_FALSE(reserved);
  EXPECT_EQ(reserved.error().field, "headers.Idempotency-Key");
  auto format = check_integration(integration("webhook", {{"url", "https://w/"}, {"format", "x"}}));
  ASSERT_FALSE(format);
  EXPECT_EQ(format.error().field, "format");
}

// ---- email ----

TEST(Email, NonAsciiSubjectIsRfc2047Encoded) {
  auto x = exchange(integration("email", {{"to", "ops@example.org"},
                                          {"from", "a@example.org"},
                                          {"smarthost", "m:25"},
                                          {"subject", "Störung {{category}} — ½ Ω"}}));
  const auto& m = std::get<MailRequest>(x->start().what);
  const auto pos = m.message.find("Subject: ");
  const std::string subject = m.message.substr(pos + 9, m.message.find("\r\nMessage-ID") - pos - 9);
  EXPECT_TRUE(subject.starts_with("=?UTF-8?B?")) << subject;
  EXPECT_EQ(decode_words(subject), "Störung operational.fix_gateway — ½ Ω");
}

TEST(Email, LongNonAsciiHeaderFoldsBetweenCodePoints) {
  std::string value;
  for (int i = 0; i < 40; ++i) value += "é€";
  const std::string enc = encode_header(value);
  std::size_t start = 0;
  while (start < enc.size()) {
    auto end = enc.find("\r\n ", start);
    if (end == std::string::npos) end = enc.size();
    EXPECT_LE(end - start, 75U);
    start = end + 3;
  }
  EXPECT_EQ(decode_words(enc), value);
  EXPECT_EQ(encode_header("plain ascii"), "plain ascii");
  EXPECT_EQ(encode_header("a\r\nBcc: x"), "a  Bcc: x");  // no header injection
}

TEST(Email, RequireTlsFollowsTheSettingAndGlobal) {
  auto x = exchange(integration("email", {{"to", "o@e"}, {"from", "a@e"}, {"smarthost", "m:25"}}),
                    fixture(), {{"smtp_require_tls", false}});
  EXPECT_FALSE(std::get<MailRequest>(x->start().what).require_tls);
  auto y = exchange(
      integration("email",
                  {{"to", "o@e"}, {"from", "a@e"}, {"smarthost", "m:25"}, {"require_tls", true}}),
      fixture(), {{"smtp_require_tls", false}});
  EXPECT_TRUE(std::get<MailRequest>(y->start().what).require_tls);
}

// ---- slack ----

// The default layout goes in Block Kit sections; `text` (an attachment key) would switch to
// Alertmanager's attachment, so a long message is what makes it long.
Data long_message(std::string message) {
  Data d = fixture();
  d.message = std::move(message);
  return d;
}

TEST(Slack, LongTextIsCutWithAMarkerAndCountedOnce) {
  const Data d = long_message(std::string(20000, 'a'));
  auto x = exchange(integration("slack", {{"api_url", "https://hooks.slack.com/x"}}), d);
  const json body = json::parse(http(x->start()).body);
  EXPECT_EQ(x->truncation().fields, 1U);
  std::size_t total = 0;
  ASSERT_LE(body["blocks"].size(), 50U);
  for (const json& b : body["blocks"]) {
    const std::string t = b["text"]["text"];
    EXPECT_LE(rune_count(t), 3000U);
    total += rune_count(t);
  }
  EXPECT_LE(total, 12000U);
  EXPECT_TRUE(body["blocks"].back()["text"]["text"].get<std::string>().ends_with(
      std::string(kTruncationMarker)));
  // The notification text (40 000) holds it all.
  EXPECT_NE(body["text"].get<std::string>().find(d.message), std::string::npos);
}

TEST(Slack, ManyLinesStayWithinFiftyBlocks) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += std::string(2990, 'x') + "\n";
  bool cut = false;
  const std::string head = truncate_runes(text, 12000, cut);
  EXPECT_TRUE(cut);
  auto x = exchange(integration("slack", {{"api_url", "https://hooks.slack.com/x"}}),
                    long_message(text));
  const json body = json::parse(http(x->start()).body);
  EXPECT_LE(body["blocks"].size(), 50U);
  EXPECT_GE(body["blocks"].size(), 4U);
  EXPECT_TRUE(body["text"].get<std::string>().ends_with(std::string(kTruncationMarker)));
  EXPECT_EQ(x->truncation().fields, 1U);
  // An attachment's text is cut at 40 000.
  auto a = exchange(
      integration("slack", {{"api_url", "https://hooks.slack.com/x"}, {"text", "{{message}}"}}),
      long_message(text));
  const json ab = json::parse(http(a->start()).body);
  EXPECT_EQ(rune_count(ab["attachments"][0]["text"].get<std::string>()), 40000U);
  EXPECT_EQ(a->truncation().fields, 1U);
}

TEST(Slack, PostMessageNeedsAChannelAndReadsOk) {
  auto none = check_integration(
      integration("slack", {{"api_url", "https://slack.com/api/chat.postMessage"}}));
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().field, "channel");
  auto x = exchange(integration(
      "slack", {{"api_url", "https://slack.com/api/chat.postMessage"}, {"channel", "C1"}}));
  const auto now = at("2025-03-04T09:03:00Z");
  EXPECT_TRUE(std::holds_alternative<Fail>(x->next(
      Response{.status = 200, .body = R"({"ok":false,"error":"channel_not_found"})"}, now)));
  EXPECT_TRUE(std::holds_alternative<Done>(
      x->next(Response{.status = 200, .body = R"({"ok":true})"}, now)));
  EXPECT_TRUE(std::holds_alternative<Retry>(
      x->next(Response{.status = 429, .headers = {{"retry-after", "3"}}}, now)));
}

// ---- sms ----

TEST(Sms, SegmentsGsm7AndUcs2) {
  EXPECT_EQ(fit_sms(std::string(160, 'a'), 1).segments, 1U);
  EXPECT_FALSE(fit_sms(std::string(160, 'a'), 1).cut);
  EXPECT_EQ(fit_sms(std::string(161, 'a'), 5).segments, 2U);
  EXPECT_EQ(fit_sms(std::string(306, 'a'), 5).segments, 2U);
  EXPECT_EQ(fit_sms(std::string(307, 'a'), 5).segments, 3U);
  std::string ucs;
  for (int i = 0; i < 70; ++i) ucs += "Ж";
  EXPECT_FALSE(fit_sms(ucs, 1).gsm7);
  EXPECT_EQ(fit_sms(ucs, 1).segments, 1U);
  EXPECT_EQ(fit_sms(ucs + "Ж", 5).segments, 2U);
  // {, } are two septets each (the extension table).
  EXPECT_EQ(fit_sms(std::string(80, '{'), 5).segments, 1U);
  EXPECT_EQ(fit_sms(std::string(81, '{'), 5).segments, 2U);
  const SmsFit cut = fit_sms(std::string(500, 'a'), 2);
  EXPECT_TRUE(cut.cut);
  EXPECT_EQ(cut.segments, 2U);
  EXPECT_EQ(cut.text.size(), 306U);
  EXPECT_TRUE(cut.text.ends_with("(truncated)"));
  const SmsFit ucut = fit_sms(ucs + ucs, 1);
  EXPECT_TRUE(ucut.cut);
  EXPECT_EQ(ucut.segments, 1U);
  EXPECT_EQ(rune_count(ucut.text), 70U);
}

TEST(Sms, MessageCutToMaxSegmentsIsCounted) {
  auto x = exchange(integration("sms", {{"gateway_url", "https://s/"},
                                        {"recipients", {"+1"}},
                                        {"message", std::string(400, 'z')},
                                        {"max_segments", 2}}));
  const json body = json::parse(http(x->start()).body);
  EXPECT_EQ(body["message"].get<std::string>().size(), 306U);
  EXPECT_EQ(x->truncation().fields, 1U);
}

// ---- templates ----

TEST(Templates, GoTemplatesAreRefusedMustacheIsNot) {
  EXPECT_TRUE(is_go_template("{{ .CommonLabels.alertname }}"));
  EXPECT_TRUE(is_go_template("{{ range .Alerts }}x{{ end }}"));
  EXPECT_TRUE(is_go_template("{{- .Status -}}"));
  EXPECT_FALSE(is_go_template("{{severity}} {{#alerts}}{{labels.alertname}}{{/alerts}}"));
  EXPECT_FALSE(is_go_template("{{{message}}}"));
  auto go = check_integration(
      integration("webhook", {{"url", "https://w/"}, {"headers", {{"X-A", "{{ .Status }}"}}}}));
  ASSERT_FALSE(go);
  EXPECT_EQ(go.error().code, "go_template");
  EXPECT_EQ(go.error().field, "headers.X-A");
  EXPECT_NE(go.error().message.find("{{status}}"), std::string::npos);
  auto syntax = check_integration(integration(
      "email", {{"to", "a@b"}, {"from", "c@d"}, {"smarthost", "m:25"}, {"text", "{{#alerts}}"}}));
  ASSERT_FALSE(syntax);
  EXPECT_EQ(syntax.error().code, "template_syntax");
  EXPECT_EQ(syntax.error().field, "text");
}

TEST(Templates, DefaultsReproduceTheBriefs) {
  Data d = sample_data();
  const View v = make_view(d);
  EXPECT_EQ(Template::compile("", kDefaultSubject)->render(v),
            "[WARNING] operational.system_validation");
  EXPECT_EQ(Template::compile("", kDefaultEmailText)->render(v),
            d.message + "\n\ncontext=" + d.context.dump() + "\noccurred_at=" + d.occurred_at);
  EXPECT_TRUE(Template::compile("", kDefaultSlackText)
                  ->render(v)
                  .starts_with("*WARNING* operational.system_validation\n" + d.message));
  EXPECT_EQ(Template::compile("{{ template \"email.default.subject\" . }}", "")->source(),
            kDefaultSubject);
}

// ---- github ----

struct Convo {
  std::unique_ptr<Exchange> x;
  core::TimePoint now = at("2025-03-04T09:03:00Z");
  Step answer(long status, json body = json::object(),
              std::vector<std::pair<std::string, std::string>> headers = {}) {
    return x->next(Response{.status = status, .headers = std::move(headers), .body = body.dump()},
                   now);
  }
};

HttpRequest req(const Step& s) {
  EXPECT_TRUE(std::holds_alternative<Request>(s));
  return std::get<HttpRequest>(std::get<Request>(s).what);
}

Integration github(json extra = json::object()) {
  json s{{"repository", "acme/ops"}, {"token", "t"}};
  s.update(extra);
  return integration("github", s);
}

TEST(Github, FindThenCreate) {
  Convo c{exchange(github())};
  const HttpRequest first = http(c.x->start());
  EXPECT_EQ(first.method, "GET");
  EXPECT_EQ(first.url, "https://api.github.com/repos/acme/ops/labels/opsready-alert");
  EXPECT_EQ(header(first, "Authorization"), "Bearer t");
  EXPECT_EQ(header(first, "Accept"), "application/vnd.github+json");
  const HttpRequest label = req(c.answer(404));
  EXPECT_EQ(label.method, "POST");
  EXPECT_EQ(json::parse(label.body)["color"], "B60205");
  const HttpRequest find = req(c.answer(201));
  EXPECT_EQ(find.method, "GET");
  EXPECT_TRUE(find.url.starts_with(
      "https://api.github.com/repos/acme/ops/issues?state=all&labels=opsready-alert"));
  const HttpRequest create = req(c.answer(200, json::array({{{"number", 3}, {"body", "other"}}})));
  EXPECT_EQ(create.method, "POST");
  EXPECT_EQ(create.url, "https://api.github.com/repos/acme/ops/issues");
  const json issue = json::parse(create.body);
  EXPECT_NE(issue["body"].get<std::string>().find("<!-- opsready:group=5f1d2c3b4a596877 -->"),
            std::string::npos);
  EXPECT_NE(issue["body"].get<std::string>().find(
                "<!-- opsready:notification=ops/webhook/0/5f1d2c3b4a596877/3 -->"),
            std::string::npos);
  EXPECT_EQ(issue["labels"], json::array({"opsready-alert"}));
  EXPECT_TRUE(std::holds_alternative<Done>(c.answer(201, {{"number", 7}})));
}

TEST(Github, FindExistingThenComment) {
  Convo c{exchange(github())};
  (void)c.x->start();
  (void)c.answer(200);  // label exists
  const json issues = json::array(
      {{{"number", 9}, {"state", "open"}, {"body", "x <!-- opsready:group=5f1d2c3b4a596877 -->"}}});
  const HttpRequest lookup = req(c.answer(200, issues));
  EXPECT_TRUE(
      lookup.url.starts_with("https://api.github.com/repos/acme/ops/issues/9/"
                             "comments?per_page=100&since=2025-03-04T09%3A02%3A00Z"));
  const HttpRequest comment = req(c.answer(200, json::array()));
  EXPECT_EQ(comment.method, "POST");
  EXPECT_EQ(comment.url, "https://api.github.com/repos/acme/ops/issues/9/comments");
  EXPECT_TRUE(std::holds_alternative<Done>(c.answer(201)));
}

TEST(Github, AResendFindsItsOwnCommentAndIssue) {
  Convo c{exchange(github())};
  (void)c.x->start();
  (void)c.answer(200);
  (void)req(c.answer(200, json::array({{{"number", 9},
                                        {"state", "open"},
                                        {"body", "<!-- opsready:group=5f1d2c3b4a596877 -->"}}})));
  const json mine =
      json::array({{{"body", "old"}},
                   {{"body", "<!-- opsready:notification=ops/webhook/0/5f1d2c3b4a596877/3 -->"}}});
  EXPECT_TRUE(std::holds_alternative<Done>(c.answer(200, mine)));
  // The issue itself was created by this notification.
  Convo d{exchange(github())};
  (void)d.x->start();
  (void)d.answer(200);
  EXPECT_TRUE(std::holds_alternative<Done>(d.answer(
      200, json::array({{{"number", 9},
                         {"body",
                          "<!-- opsready:group=5f1d2c3b4a596877 -->\n<!-- "
                          "opsready:notification=ops/webhook/0/5f1d2c3b4a596877/3 -->"}}}))));
}

TEST(Github, ResolveCommentsAndCloses) {
  Convo c{exchange(github(), fixture(false))};
  (void)c.x->start();
  (void)c.answer(200);
  (void)req(c.answer(200, json::array({{{"number", 4},
                                        {"state", "open"},
                                        {"body", "<!-- opsready:group=5f1d2c3b4a596877 -->"}}})));
  const HttpRequest comment = req(c.answer(200, json::array()));
  EXPECT_NE(json::parse(comment.body)["body"].get<std::string>().find("### Resolved"),
            std::string::npos);
  const HttpRequest close = req(c.answer(201));
  EXPECT_EQ(close.method, "PATCH");
  EXPECT_EQ(close.url, "https://api.github.com/repos/acme/ops/issues/4");
  EXPECT_EQ(json::parse(close.body)["state"], "closed");
  EXPECT_TRUE(std::holds_alternative<Done>(c.answer(200)));
}

TEST(Github, RefireReopens) {
  Convo c{exchange(github())};
  (void)c.x->start();
  (void)c.answer(200);
  (void)req(c.answer(200, json::array({{{"number", 4},
                                        {"state", "closed"},
                                        {"body", "<!-- opsready:group=5f1d2c3b4a596877 -->"}}})));
  (void)req(c.answer(200, json::array()));
  const HttpRequest reopen = req(c.answer(201));
  EXPECT_EQ(reopen.method, "PATCH");
  EXPECT_EQ(json::parse(reopen.body)["state"], "open");
}

TEST(Github, StandingIssueGetsComments) {
  Convo c{exchange(github({{"issue_number", 42}, {"api_url", "https://ghe.example/api/v3/"}}))};
  const HttpRequest first = http(c.x->start());
  EXPECT_EQ(first.url, "https://ghe.example/api/v3/repos/acme/ops/issues/42");
  (void)req(c.answer(200, {{"number", 42}, {"state", "open"}}));
  const HttpRequest comment = req(c.answer(200, json::array()));
  EXPECT_EQ(comment.url, "https://ghe.example/api/v3/repos/acme/ops/issues/42/comments");
  EXPECT_TRUE(std::holds_alternative<Done>(c.answer(201)));
}

TEST(Github, EnterprisePrefixIsKept) {
  auto x = exchange(github({{"api_url", "https://ghe.example/api/v3"}}));
  EXPECT_EQ(http(x->start()).url,
            "https://ghe.example/api/v3/repos/acme/ops/labels/opsready-alert");
}

TEST(Github, RateLimitRetriesAfterTheReset) {
  Convo c{exchange(github())};
  (void)c.x->start();
  const auto reset =
      std::chrono::duration_cast<std::chrono::seconds>(c.now.time_since_epoch() + 90s).count();
  const Step s =
      c.answer(403, {{"message", "API rate limit exceeded"}},
               {{"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset", std::to_string(reset)}});
  ASSERT_TRUE(std::holds_alternative<Retry>(s));
  EXPECT_EQ(std::get<Retry>(s).after, std::chrono::milliseconds(90'000));
  const Step ra = c.answer(429, json::object(), {{"retry-after", "7"}});
  ASSERT_TRUE(std::holds_alternative<Retry>(ra));
  EXPECT_EQ(std::get<Retry>(ra).after, std::chrono::milliseconds(7'000));
  // A 403 that is not a rate limit is final, also with the X-RateLimit-* headers GitHub puts
  // on every answer.
  EXPECT_TRUE(
      std::holds_alternative<Fail>(c.answer(403, {{"message", "Resource not accessible"}})));
  EXPECT_TRUE(std::holds_alternative<Fail>(
      c.answer(403, {{"message", "Resource not accessible by integration"}},
               {{"x-ratelimit-remaining", "4999"}, {"x-ratelimit-reset", std::to_string(reset)}})));
  // A secondary rate limit: 403 with Retry-After.
  const Step secondary = c.answer(403, {{"message", "You have exceeded a secondary rate limit"}},
                                  {{"retry-after", "60"}, {"x-ratelimit-remaining", "4998"}});
  ASSERT_TRUE(std::holds_alternative<Retry>(secondary));
  EXPECT_EQ(std::get<Retry>(secondary).after, std::chrono::milliseconds(60'000));
}

}  // namespace
}  // namespace opsready::alerting::notify
