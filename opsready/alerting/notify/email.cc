// Email: one RFC 5322 message over SMTP (libcurl speaks the protocol). Keys are Alertmanager's
// email_config with `global.smtp_*` defaults; the message is text/plain, or
// multipart/alternative with an HTML part when `html` is set.
#include <algorithm>
#include <map>

#include "opsready/alerting/notify/encoding.h"
#include "opsready/alerting/notify/internal.h"
#include "opsready/core/text.h"

namespace opsready::alerting::notify::internal {
namespace {

// The setting, else global[global_key].
std::string setting(const Env& env, std::string_view key, std::string_view global_key) {
  return has(env.settings(), key) ? str(env.settings(), key) : str(env.options.global, global_key);
}

// "Ops <ops@example.org>, b@example.org" → {"ops@example.org", "b@example.org"}, and the list
// with each display name RFC 2047-encoded when not ASCII. A comma inside a quoted name is not
// supported (docs/receivers.md).
struct Addresses {
  std::vector<std::string> envelope;
  std::string header;
};
Addresses addresses(std::string_view list) {
  Addresses out;
  std::size_t start = 0;
  while (start <= list.size()) {
    auto comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    const std::string_view one = core::trim(list.substr(start, comma - start));
    if (!one.empty()) {
      const auto lt = one.rfind('<');
      const auto gt = one.rfind('>');
      std::string header;
      if (lt != std::string_view::npos && gt != std::string_view::npos && gt > lt) {
        out.envelope.emplace_back(one.substr(lt + 1, gt - lt - 1));
        const std::string_view name = core::trim(one.substr(0, lt));
        header = name.empty() ? "<" + out.envelope.back() + ">"
                              : encode_header(name) + " <" + out.envelope.back() + ">";
      } else {
        out.envelope.emplace_back(one);
        header = std::string(one);
      }
      out.header += (out.header.empty() ? "" : ", ") + header;
    }
    start = comma + 1;
  }
  return out;
}

// An RFC 5322 msg-id local part: atext kept, anything else as %XX.
std::string msg_id_part(std::string_view id) {
  static constexpr std::string_view kSpecials = "!#$&'*+-/=?^_`{|}~.";
  std::string out;
  for (const char c : id) {
    if (std::isalnum(static_cast<unsigned char>(c)) != 0 ||
        kSpecials.find(c) != std::string_view::npos) {
      out += c;
    } else {
      out += url_escape(std::string_view(&c, 1));
    }
  }
  return out;
}

std::string part(std::string_view content_type, std::string_view text) {
  return "Content-Type: " + std::string(content_type) +
         "; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
         quoted_printable(text) + "\r\n";
}

}  // namespace

core::Result<std::unique_ptr<Exchange>> make_email(Env& env) {
  const json& s = env.settings();
  if (has(s, "auth_secret") || has(env.options.global, "smtp_auth_secret")) {
    return core::fail("unsupported", "CRAM-MD5 (auth_secret) is not supported by opsready",
                      has(s, "auth_secret") ? "auth_secret" : "global.smtp_auth_secret");
  }
  auto smarthost = endpoint(env, setting(env, "smarthost", "smtp_smarthost"), "smarthost");
  if (!smarthost) return std::unexpected(smarthost.error());
  if (env.check && smarthost->starts_with("https://")) *smarthost = "localhost:25";

  const json empty = json::object();
  const json& headers = has(s, "headers") ? s.at("headers") : empty;
  std::map<std::string, std::string> given;  // lower-cased name → configured name
  for (auto it = headers.begin(); it != headers.end(); ++it) {
    given[core::to_lower(it.key())] = it.key();
  }
  // To, From and Subject may come from `headers:` too, as in Alertmanager.
  const auto templated = [&](std::string_view name, std::string_view key,
                             std::string_view fallback) -> core::Result<std::string> {
    if (const auto it = given.find(std::string(name)); it != given.end()) {
      return render(env, headers, it->second, fallback, "headers." + it->second);
    }
    return render(env, s, key, fallback, std::string(key));
  };
  auto to = templated("to", "to", "");
  if (!to) return std::unexpected(to.error());
  auto from = templated("from", "from", str(env.options.global, "smtp_from"));
  if (!from) return std::unexpected(from.error());
  auto subject = templated("subject", "subject", kDefaultSubject);
  if (!subject) return std::unexpected(subject.error());
  const Addresses rcpt = addresses(*to);
  const Addresses sender = addresses(*from);
  if (rcpt.envelope.empty()) {
    return core::fail("invalid_value", "names no recipient",
                      given.contains("to") ? "headers.To" : "to");
  }
  if (sender.envelope.size() != 1) {
    if (!env.check || !sender.envelope.empty()) {
      return core::fail("invalid_value", "must name exactly one sender (here or global.smtp_from)",
                        "from");
    }
  }
  const std::string envelope_from =
      sender.envelope.empty() ? "check@example.invalid" : sender.envelope.front();

  env.view().set("subject", View(*subject));
  auto text = render(env, s, "text", kDefaultEmailText, "text");
  if (!text) return std::unexpected(text.error());
  std::string html;
  if (has(s, "html")) {
    auto h = render(env, s, "html", "", "html", Escape::kHtml);
    if (!h) return std::unexpected(h.error());
    html = std::move(*h);
  }

  const auto at = envelope_from.rfind('@');
  const std::string domain = at == std::string::npos ? "opsready" : envelope_from.substr(at + 1);
  std::string m;
  m += "Date: " + rfc5322_date(env.data.at) + "\r\n";
  m += "From: " + sender.header + "\r\n";
  m += "To: " + rcpt.header + "\r\n";
  m += "Subject: " + encode_header(*subject) + "\r\n";
  m += "Message-ID: <" + msg_id_part(env.data.notification_id) + "@" + domain + ">\r\n";
  m += "X-Opsready-Notification-Id: " + encode_header(env.data.notification_id) + "\r\n";
  for (auto it = headers.begin(); it != headers.end(); ++it) {
    const std::string lower = core::to_lower(it.key());
    if (lower == "to" || lower == "from" || lower == "subject") continue;
    if (lower == "date" || lower == "message-id" || lower == "mime-version" ||
        lower == "content-type" || lower == "content-transfer-encoding") {
      return core::fail("invalid_value", "header '" + it.key() + "' is set by opsready",
                        "headers." + it.key());
    }
    auto value = render(env, headers, it.key(), "", "headers." + it.key());
    if (!value) return std::unexpected(value.error());
    m += it.key() + ": " + encode_header(*value) + "\r\n";
  }
  m += "MIME-Version: 1.0\r\n";
  if (html.empty()) {
    m += part("text/plain", *text);
  } else {
    // Quoted-printable never writes "=_", so the boundary cannot occur in a part.
    const std::string boundary = "=_opsready_" + sha256_hex(env.data.notification_id).substr(0, 24);
    m += "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n\r\n";
    m += "--" + boundary + "\r\n" + part("text/plain", *text);
    m += "--" + boundary + "\r\n" + part("text/html", html);
    m += "--" + boundary + "--\r\n";
  }

  MailRequest mail;
  // Port 465 is implicit TLS (RFC 8314), as Alertmanager treats it; anything else STARTTLS.
  mail.url = (smarthost->ends_with(":465") ? "smtps://" : "smtp://") + *smarthost;
  mail.hello = has(s, "hello")                         ? str(s, "hello")
               : has(env.options.global, "smtp_hello") ? str(env.options.global, "smtp_hello")
                                                       : "localhost";
  mail.from = envelope_from;
  mail.to = rcpt.envelope;
  mail.message = std::move(m);
  mail.username = setting(env, "auth_username", "smtp_auth_username");
  mail.identity = setting(env, "auth_identity", "smtp_auth_identity");
  auto password = has(s, "auth_password") || has(s, "auth_password_file")
                      ? secret(env, s, "auth_password", "auth_password_file", "")
                      : secret(env, env.options.global, "smtp_auth_password",
                               "smtp_auth_password_file", "global.");
  if (!password) return std::unexpected(password.error());
  mail.password = *password;
  mail.require_tls = s.contains("require_tls") ? s.at("require_tls").get<bool>()
                     : env.options.global.contains("smtp_require_tls")
                         ? env.options.global.at("smtp_require_tls").get<bool>()
                         : true;
  Request req;
  req.connect_timeout = env.options.connect_timeout;
  req.timeout = env.options.timeout;
  if (has(s, "tls_config")) req.tls = tls_options(s.at("tls_config"));
  req.what = std::move(mail);
  return std::make_unique<SingleExchange>(std::move(req), Truncation{});
}

}  // namespace opsready::alerting::notify::internal
