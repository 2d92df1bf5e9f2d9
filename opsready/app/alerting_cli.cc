#include "opsready/app/alerting_cli.h"

#include <algorithm>
#include <cstdlib>
#include <expected>
#include <fstream>
#include <map>
#include <memory>
#include <ostream>
#include <sstream>
#include <string_view>
#include <utility>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "opsready/alerting/matcher.h"
#include "opsready/app/version.h"
#include "opsready/core/alert.h"
#include "opsready/core/clock.h"
#include "opsready/core/time.h"

namespace opsready::app {
namespace {

using nlohmann::json;

// Why a command stops: its exit code and the message after "opsready: <command>: ".
struct Failure {
  int code = kExitSoftware;
  std::string message;
};
template <typename T>
using Outcome = std::expected<T, Failure>;

std::unexpected<Failure> failure(int code, std::string message) {
  return std::unexpected(Failure{code, std::move(message)});
}

int report(std::ostream& err, std::string_view command, const Failure& f) {
  err << "opsready: " << command << ": " << f.message << "\n";
  return f.code;
}

std::string_view trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  const auto first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t from = 0;
  while (true) {
    const auto at = s.find(sep, from);
    out.emplace_back(s.substr(from, at == std::string_view::npos ? s.npos : at - from));
    if (at == std::string_view::npos) return out;
    from = at + 1;
  }
}

// RFC 3986 percent-encoding of everything but the unreserved characters, for a path segment or
// a query parameter's value (so `=`, `&`, `{`, `"` and `/` inside them survive).
std::string encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

// A query string built from (name, value) pairs, in order; empty when there are none.
std::string query(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    out += out.empty() ? '?' : '&';
    out += k + "=" + encode(v);
  }
  return out;
}

// A member, or null when `j` is not an object or lacks it: the daemon's documents are read
// without trusting their shape.
const json& at(const json& j, std::string_view key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  const auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

// A member as text: a string as it is, a missing member or null as "", anything else as JSON.
std::string text_of(const json& j, std::string_view key) {
  const json& v = at(j, key);
  if (v.is_null()) return {};
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// ---- options checked before any request ------------------------------------------------------

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

// --by / --author: the flag, else $USER.
Outcome<std::string> person(const std::optional<std::string>& flag, const char* name) {
  std::string who(trim(flag ? *flag : env("USER").value_or("")));
  if (who.empty()) {
    return failure(kExitUsage, std::string(name) + ": required (" +
                                   (flag ? "it is empty" : "$USER is not set") + ")");
  }
  return who;
}

Outcome<alerting::Matchers> parse_matchers_flag(const std::vector<std::string>& texts,
                                                std::string_view what) {
  alerting::Matchers out;
  for (const std::string& text : texts) {
    auto m = alerting::parse_matcher(text);
    if (!m) {
      return failure(kExitUsage,
                     std::string(what) + ": bad matcher '" + text + "': " + m.error().message);
    }
    out.push_back(std::move(*m));
  }
  return out;
}

Outcome<core::TimePoint> time_flag(const std::string& text, std::string_view flag) {
  auto t = core::parse_rfc3339(text);
  if (!t) {
    return failure(kExitUsage, std::string(flag) + ": '" + text +
                                   "' is not an RFC 3339 time: " + t.error().message);
  }
  return *t;
}

Outcome<core::Duration> positive_duration(const std::string& text, std::string_view flag) {
  auto d = core::parse_duration(text);
  if (!d) {
    return failure(kExitUsage,
                   std::string(flag) + ": '" + text +
                       "' is not a duration (250ms, 30s, 5m, 1h30m, 2d): " + d.error().message);
  }
  if (*d <= core::Duration::zero()) {
    return failure(kExitUsage, std::string(flag) + ": must be longer than zero");
  }
  return *d;
}

// The bearer token: --token-file, else $OPSREADY_TOKEN, else none.
Outcome<std::optional<std::string>> bearer_token(const DaemonOptions& o) {
  std::string text;
  std::string source;
  if (o.token_file) {
    std::ifstream in(*o.token_file, std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    if (!in) {
      return failure(kExitNoInput, "--token-file: cannot read '" + o.token_file->string() + "'");
    }
    text = buf.str();
    source = "--token-file '" + o.token_file->string() + "'";
  } else if (auto v = env(kTokenEnv)) {
    text = *v;
    source = std::string("$") + kTokenEnv;
  } else {
    return std::optional<std::string>();
  }
  const std::string token(trim(text));
  if (token.empty()) return failure(kExitUsage, source + ": holds no token");
  const bool blank_inside = std::any_of(token.begin(), token.end(), [](char c) {
    return static_cast<unsigned char>(c) <= ' ' || c == '\x7f';
  });
  // Never echo the token itself.
  if (blank_inside) return failure(kExitUsage, source + ": the token must not contain whitespace");
  return std::optional<std::string>(token);
}

// ---- the daemon ----------------------------------------------------------------------------

// The daemon's API over one cpp-httplib client. The client lives only in this translation
// unit: its class layout depends on the library's build flags (STACK.md).
class Daemon {
 public:
  Daemon(std::string url, std::string origin, std::string prefix, core::Duration timeout,
         const std::optional<std::string>& token)
      : url_(std::move(url)), prefix_(std::move(prefix)), timeout_(timeout), client_(origin) {
    client_.set_connection_timeout(timeout);
    client_.set_read_timeout(timeout);
    client_.set_write_timeout(timeout);
    client_.set_url_encode(false);  // paths and queries are percent-encoded here
    if (token) client_.set_bearer_token_auth(*token);
  }

  // The answer's JSON body (null when it is empty), or why there is none.
  [[nodiscard]] Outcome<json> get(const std::string& path) {
    return answer("GET", path, client_.Get(prefix_ + path, headers()));
  }
  // The answer's body as text (a Markdown report), or why there is none.
  [[nodiscard]] Outcome<std::string> get_text(const std::string& path) {
    const httplib::Result r = client_.Get(prefix_ + path, headers());
    if (!r) return failure(kExitUnavailable, transport_error(r.error()));
    if (r->status >= 200 && r->status < 300) return r->body;
    return failure(exit_code(r->status),
                   daemon_error(json::parse(r->body, nullptr, false), r->status, r->body));
  }
  [[nodiscard]] Outcome<json> post(const std::string& path, const json& body) {
    return answer("POST", path,
                  client_.Post(prefix_ + path, headers(), body.dump(), "application/json"));
  }
  [[nodiscard]] Outcome<json> del(const std::string& path) {
    return answer("DELETE", path, client_.Delete(prefix_ + path, headers()));
  }

 private:
  static httplib::Headers headers() {
    return {{"Accept", "application/json"}, {"User-Agent", "opsready/" + std::string(kVersion)}};
  }

  Outcome<json> answer(std::string_view method, const std::string& path,
                       const httplib::Result& r) const {
    if (!r) return failure(kExitUnavailable, transport_error(r.error()));
    const int status = r->status;
    json parsed = json::parse(r->body, nullptr, false);
    if (status >= 200 && status < 300) {
      if (trim(r->body).empty()) return json();
      if (parsed.is_discarded()) {
        return failure(kExitSoftware, std::string(method) + " " + path + ": HTTP " +
                                          std::to_string(status) + " with a body that is not JSON");
      }
      return parsed;
    }
    return failure(exit_code(status), daemon_error(parsed, status, r->body));
  }

  std::string transport_error(httplib::Error e) const {
    const std::string after = " after " + core::format_duration(timeout_);
    switch (e) {
      case httplib::Error::Connection:
        return "cannot connect to the daemon at " + url_ + " (is it running? see --url)";
      case httplib::Error::ConnectionTimeout:
        return "cannot connect to the daemon at " + url_ + ": timed out" + after;
      case httplib::Error::Read:
        return "no answer from the daemon at " + url_ + " (connection closed, or timed out" +
               after + "; see --timeout)";
      case httplib::Error::Write:
        return "cannot send the request to the daemon at " + url_ +
               " (connection closed, or "
               "timed out" +
               after + ")";
      case httplib::Error::SSLConnection:
      case httplib::Error::SSLLoadingCerts:
      case httplib::Error::SSLServerVerification:
        return "TLS with the daemon at " + url_ + " failed (" + httplib::to_string(e) + ")";
      default:
        return "request to the daemon at " + url_ + " failed (" + httplib::to_string(e) + ")";
    }
  }

  static int exit_code(int status) {
    if (status == 401 || status == 403) return kExitNoPerm;
    if (status == 503) return kExitUnavailable;
    if (status >= 400 && status < 500) return kExitDataErr;
    return kExitSoftware;
  }

  // The daemon's {"error": "..."} when it sent one, or the JSON string Alertmanager's silence
  // routes answer with; otherwise the status and the body's start.
  static std::string daemon_error(const json& parsed, int status, const std::string& body) {
    if (at(parsed, "error").is_string()) return at(parsed, "error").get<std::string>();
    if (parsed.is_string()) return parsed.get<std::string>();
    std::string text(trim(body.substr(0, std::min<std::size_t>(body.find('\n'), 200))));
    return "HTTP " + std::to_string(status) + (text.empty() ? "" : ": " + text);
  }

  std::string url_;
  std::string prefix_;
  core::Duration timeout_;
  httplib::Client client_;
};

// The shared options, checked, and a client for the daemon they name.
struct Session {
  std::unique_ptr<Daemon> daemon;
  bool json = false;
};

Outcome<Session> open(const DaemonOptions& o) {
  if (o.format != "text" && o.format != "json") {
    return failure(kExitUsage, "--format: must be text or json, not '" + o.format + "'");
  }
  auto timeout = positive_duration(o.timeout, "--timeout");
  if (!timeout) return std::unexpected(timeout.error());
  // scheme://authority[/prefix]: the prefix is kept for a daemon behind a reverse proxy.
  const std::string url(trim(o.url));
  const auto scheme_end = url.find("://");
  const std::string scheme = scheme_end == std::string::npos ? "" : url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") {
    return failure(kExitUsage, "--url: '" + o.url + "' must start with http:// or https://");
  }
  const auto path_at = url.find('/', scheme_end + 3);
  const std::string authority = url.substr(scheme_end + 3, path_at - (scheme_end + 3));
  std::string prefix = path_at == std::string::npos ? "" : url.substr(path_at);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (authority.empty() || authority.find_first_of("@ ") != std::string::npos ||
      prefix.find_first_of("?# ") != std::string::npos) {
    return failure(kExitUsage, "--url: '" + o.url +
                                   "' is not scheme://host[:port][/path] (no user, query or "
                                   "fragment)");
  }
  auto token = bearer_token(o);
  if (!token) return std::unexpected(token.error());
  return Session{
      std::make_unique<Daemon>(url, scheme + "://" + authority, prefix, *timeout, *token),
      o.format == "json"};
}

// ---- rendering -------------------------------------------------------------------------------

// Alertmanager's quoting of a value in a matcher or label: `\`, `"` and line feed escaped.
std::string quote_value(std::string_view v) {
  std::string out = "\"";
  for (const char c : v) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

// {a="b",c="d"}, in the object's (sorted) order.
std::string labels_text(const json& labels) {
  std::string out = "{";
  if (labels.is_object()) {
    for (const auto& [k, v] : labels.items()) {
      if (out.size() > 1) out += ",";
      out += k + "=" + quote_value(v.is_string() ? v.get<std::string>() : v.dump());
    }
  }
  return out + "}";
}

// A gettableSilence's matchers [{name, value, isRegex, isEqual}] as {a="b",c=~"d"}.
std::string silence_matchers_text(const json& matchers) {
  std::string out = "{";
  if (matchers.is_array()) {
    for (const json& m : matchers) {
      const bool regex = at(m, "isRegex").is_boolean() && at(m, "isRegex").get<bool>();
      const bool equal = !at(m, "isEqual").is_boolean() || at(m, "isEqual").get<bool>();
      if (out.size() > 1) out += ",";
      out += text_of(m, "name") + (equal ? (regex ? "=~" : "=") : (regex ? "!~" : "!=")) +
             quote_value(text_of(m, "value"));
    }
  }
  return out + "}";
}

// Columns padded to their widest cell (in code points), two spaces apart; an empty cell is
// "-" and control characters are blanks, so every row stays on one line.
void print_table(std::ostream& out, const std::vector<std::string>& header,
                 std::vector<std::vector<std::string>> rows) {
  const auto width = [](const std::string& s) {
    return static_cast<std::size_t>(std::count_if(
        s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
  };
  for (auto& row : rows) {
    for (auto& cell : row) {
      std::replace_if(
          cell.begin(), cell.end(),
          [](char c) { return static_cast<unsigned char>(c) < ' ' || c == '\x7f'; }, ' ');
      if (cell.empty()) cell = "-";
    }
  }
  std::vector<std::size_t> widths(header.size(), 0);
  rows.insert(rows.begin(), header);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], width(row[i]));
    }
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - width(row[i]) + 2, ' ');
    }
    out << line << "\n";
  }
}

Outcome<const json*> array_body(const json& body, std::string_view what) {
  if (!body.is_array()) {
    return failure(kExitSoftware,
                   "the daemon's answer is not a JSON array of " + std::string(what));
  }
  return &body;
}

// ---- the commands --------------------------------------------------------------------------

Outcome<void> alerts_list(const AlertsOptions& o, std::ostream& out) {
  auto filters = parse_matchers_flag(o.filters, "--filter");
  if (!filters) return std::unexpected(filters.error());
  if (o.receiver) {
    auto re = alerting::Matcher::create(alerting::MatchType::kRegex, "receiver", *o.receiver);
    if (!re) {
      return failure(kExitUsage, "--receiver: bad regular expression '" + *o.receiver +
                                     "': " + re.error().message);
    }
  }
  auto session = open(o.daemon);
  if (!session) return std::unexpected(session.error());
  std::vector<std::pair<std::string, std::string>> params = {
      {"active", "true"},
      {"silenced", o.silenced ? "true" : "false"},
      {"inhibited", o.inhibited ? "true" : "false"}};
  for (const alerting::Matcher& m : *filters) params.emplace_back("filter", m.to_string());
  if (o.receiver) params.emplace_back("receiver", *o.receiver);
  auto body = session->daemon->get("/api/v2/alerts" + query(params));
  if (!body) return std::unexpected(body.error());
  auto alerts = array_body(*body, "alerts");
  if (!alerts) return std::unexpected(alerts.error());
  if (session->json) {
    out << body->dump(2) << "\n";
    return {};
  }
  // Each row carries the fingerprint last, for a total order; it is dropped before printing.
  std::vector<std::vector<std::string>> rows;
  for (const json& a : **alerts) {
    const json& labels = at(a, "labels");
    const json& status = at(a, "status");
    std::string state = text_of(status, "state");
    if (!at(status, "silencedBy").empty()) {
      state = "silenced";
    } else if (!at(status, "inhibitedBy").empty()) {
      state = "inhibited";
    }
    rows.push_back({text_of(labels, "alertname"), text_of(labels, "severity"),
                    text_of(labels, "component"), state, text_of(a, "startsAt"),
                    text_of(at(a, "annotations"), "summary"), text_of(a, "fingerprint")});
  }
  std::sort(rows.begin(), rows.end());
  for (auto& row : rows) row.pop_back();
  print_table(out, {"ALERTNAME", "SEVERITY", "COMPONENT", "STATE", "STARTS AT", "SUMMARY"},
              std::move(rows));
  return {};
}

Outcome<void> alerts_groups(const AlertsOptions& o, std::ostream& out) {
  auto session = open(o.daemon);
  if (!session) return std::unexpected(session.error());
  auto body = session->daemon->get("/api/v2/alerts/groups");
  if (!body) return std::unexpected(body.error());
  auto groups = array_body(*body, "alert groups");
  if (!groups) return std::unexpected(groups.error());
  if (session->json) {
    out << body->dump(2) << "\n";
    return {};
  }
  std::vector<std::vector<std::string>> rows;
  for (const json& g : **groups) {
    const json& ack = at(g, "ack");
    const json& alerts = at(g, "alerts");
    rows.push_back({text_of(g, "id"), text_of(at(g, "receiver"), "name"),
                    labels_text(at(g, "labels")),
                    std::to_string(alerts.is_array() ? alerts.size() : 0), text_of(ack, "by"),
                    text_of(ack, "at")});
  }
  print_table(out, {"ID", "RECEIVER", "LABELS", "ALERTS", "ACKED BY", "SINCE"}, std::move(rows));
  return {};
}

Outcome<void> alerts_ack(const AlertsOptions& o, std::ostream& out, core::TimePoint now) {
  if (trim(o.group).empty()) return failure(kExitUsage, "GROUP_ID: required");
  auto by = person(o.by, "--by");
  if (!by) return std::unexpected(by.error());
  json body = {{"by", *by}, {"comment", o.comment}, {"channel", "cli"}};
  if (o.expires) {
    if (auto d = core::parse_duration(*o.expires)) {
      body["expiresAt"] = core::format_rfc3339(now + *d);
    } else if (auto t = core::parse_rfc3339(*o.expires)) {
      body["expiresAt"] = core::format_rfc3339(*t);
    } else {
      return failure(kExitUsage, "--expires: '" + *o.expires +
                                     "' is neither a duration (30m, 2h) nor an RFC 3339 time");
    }
  }
  auto session = open(o.daemon);
  if (!session) return std::unexpected(session.error());
  auto reply = session->daemon->post("/api/v1/groups/" + encode(o.group) + "/ack", body);
  if (!reply) return std::unexpected(reply.error());
  if (session->json) {
    out << reply->dump(2) << "\n";
  } else {
    out << "acknowledged " << o.group << " (by " << *by << ")\n";
  }
  return {};
}

Outcome<void> alerts_unack(const AlertsOptions& o, std::ostream& out) {
  if (trim(o.group).empty()) return failure(kExitUsage, "GROUP_ID: required");
  auto by = person(o.by, "--by");
  if (!by) return std::unexpected(by.error());
  auto session = open(o.daemon);
  if (!session) return std::unexpected(session.error());
  auto reply =
      session->daemon->del("/api/v1/groups/" + encode(o.group) + "/ack" + query({{"by", *by}}));
  if (!reply) return std::unexpected(reply.error());
  if (session->json) {
    out << reply->dump(2) << "\n";
  } else {
    out << "unacknowledged " << o.group << " (by " << *by << ")\n";
  }
  return {};
}

Outcome<void> silence_add(const SilenceOptions& o, std::ostream& out, core::TimePoint now) {
  if (o.matchers.empty()) return failure(kExitUsage, "MATCHER: at least one is required");
  auto matchers = parse_matchers_flag(o.matchers, "MATCHER");
  if (!matchers) return std::unexpected(matchers.error());
  if (trim(o.comment).empty()) return failure(kExitUsage, "--comment: required");
  auto author = person(o.author, "--author");
  if (!author) return std::unexpected(author.error());
  if (o.duration && o.end) return failure(kExitUsage, "--duration and --end: give one of them");
  core::TimePoint starts = now;
  if (o.start) {
    auto t = time_flag(*o.start, "--start");
    if (!t) return std::unexpected(t.error());
    starts = *t;
  }
  core::TimePoint ends;
  if (o.end) {
    auto t = time_flag(*o.end, "--end");
    if (!t) return std::unexpected(t.error());
    ends = *t;
  } else {
    auto d = positive_duration(o.duration.value_or("1h"), "--duration");
    if (!d) return std::unexpected(d.error());
    ends = starts + *d;
  }
  json list = json::array();
  for (const alerting::Matcher& m : *matchers) {
    const auto t = m.type();
    list.push_back(
        {{"name", m.name()},
         {"value", m.value()},
         {"isRegex", t == alerting::MatchType::kRegex || t == alerting::MatchType::kNotRegex},
         {"isEqual", t == alerting::MatchType::kEqual || t == alerting::MatchType::kRegex}});
  }
  const json body = {{"matchers", std::move(list)},
                     {"startsAt", core::format_rfc3339(starts)},
                     {"endsAt", core::format_rfc3339(ends)},
                     {"createdBy", *author},
                     {"comment", o.comment}};
  auto session = open(o.daemon);
  if (!session) return std::unexpected(session.error());
  auto reply = session->daemon->post("/api/v2/silences", body);
  if (!reply) return std::unexpected(reply.error());
  const std::string id = text_of(*reply, "silenceID");
  if (id.empty()) return failure(kExitSoftware, "the daemon's answer has no silenceID");
  if (session->json) {
    out << reply->dump(2) << "\n";
  } else {
    out << id << "\n";
  }
  return {};
}

Outcome<void> silence_list(const SilenceOptions& o, std::ostream& out) {
  auto filters = parse_matchers_flag(o.filters, "--filter");
  if (!filters) return std::unexpected(filters.error());
  auto session = open(o.daemon);
  if (!session) return std::unexpected(session.error());
  std::vector<std::pair<std::string, std::string>> params;
  for (const alerting::Matcher& m : *filters) params.emplace_back("filter", m.to_string());
  auto body = session->daemon->get("/api/v2/silences" + query(params));
  if (!body) return std::unexpected(body.error());
  auto all = array_body(*body, "silences");
  if (!all) return std::unexpected(all.error());
  // amtool's selection: the live silences (active, pending), or with --expired the others.
  json selected = json::array();
  for (const json& s : **all) {
    const bool expired = text_of(at(s, "status"), "state") == "expired";
    if (expired == o.expired) selected.push_back(s);
  }
  if (session->json) {
    out << selected.dump(2) << "\n";
    return {};
  }
  std::vector<std::vector<std::string>> rows;
  for (const json& s : selected) {
    rows.push_back({text_of(s, "id"), silence_matchers_text(at(s, "matchers")),
                    text_of(at(s, "status"), "state"), text_of(s, "endsAt"),
                    text_of(s, "createdBy"), text_of(s, "comment")});
  }
  print_table(out, {"ID", "MATCHERS", "STATE", "ENDS AT", "CREATED BY", "COMMENT"},
              std::move(rows));
  return {};
}

// Expires every id, going on past a refused one; the first failure gives the exit code. A
// daemon that cannot be reached stops it at once.
int silence_expire(const SilenceOptions& o, std::ostream& out, std::ostream& err) {
  constexpr std::string_view kCommand = "silence expire";
  if (o.ids.empty()) return report(err, kCommand, {kExitUsage, "ID: at least one is required"});
  for (const std::string& id : o.ids) {
    if (trim(id).empty()) return report(err, kCommand, {kExitUsage, "ID: must not be empty"});
  }
  auto session = open(o.daemon);
  if (!session) return report(err, kCommand, session.error());
  int code = kExitOk;
  json expired = json::array();
  for (const std::string& id : o.ids) {
    auto reply = session->daemon->del("/api/v2/silence/" + encode(id));
    if (!reply) {
      report(err, kCommand, {reply.error().code, id + ": " + reply.error().message});
      if (code == kExitOk) code = reply.error().code;
      if (reply.error().code == kExitUnavailable) break;
      continue;
    }
    expired.push_back(id);
    if (!session->json) out << id << "\n";
  }
  if (session->json) out << expired.dump(2) << "\n";
  return code;
}

Outcome<int> routes_test(const RoutesTestOptions& o, std::ostream& out, std::ostream& err) {
  std::map<std::string, std::string> labels;
  std::vector<std::pair<std::string, std::string>> params;
  for (const std::string& flag : o.labels) {
    for (const std::string& pair : split(flag, ',')) {
      const auto eq = pair.find('=');
      const std::string name(trim(std::string_view(pair).substr(0, eq)));
      if (eq == std::string::npos || !core::is_valid_label_name(name)) {
        return failure(kExitUsage, "--labels: '" + pair + "' is not name=value");
      }
      if (!labels.emplace(name, pair.substr(eq + 1)).second) {
        return failure(kExitUsage, "--labels: label '" + name + "' is given twice");
      }
      params.emplace_back("label", name + "=" + pair.substr(eq + 1));
    }
  }
  std::optional<std::vector<std::string>> expected;
  if (o.verify) {
    expected.emplace();
    for (const std::string& r : split(*o.verify, ',')) {
      if (!trim(r).empty()) expected->emplace_back(trim(r));
    }
  }
  auto session = open(o.daemon);
  if (!session) return std::unexpected(session.error());
  auto body = session->daemon->get("/api/v1/routes/test" + query(params));
  if (!body) return std::unexpected(body.error());
  if (!at(*body, "receivers").is_array()) {
    return failure(kExitSoftware, "the daemon's answer has no receivers list");
  }
  std::vector<std::string> receivers;
  for (const json& r : at(*body, "receivers")) {
    receivers.push_back(r.is_string() ? r.get<std::string>() : r.dump());
  }
  std::string joined;
  for (const auto& r : receivers) joined += (joined.empty() ? "" : ",") + r;
  if (session->json) {
    out << body->dump(2) << "\n";
  } else {
    out << joined << "\n";
  }
  if (expected && *expected != receivers) {
    std::string want;
    for (const auto& r : *expected) want += (want.empty() ? "" : ",") + r;
    err << "opsready: routes test: expected receivers '" << want << "', got '" << joined << "'\n";
    return kExitMismatch;
  }
  return kExitOk;
}

std::string_view alerts_command(AlertsOptions::Action a) {
  switch (a) {
    case AlertsOptions::Action::kList:
      return "alerts list";
    case AlertsOptions::Action::kGroups:
      return "alerts groups";
    case AlertsOptions::Action::kAck:
      return "alerts ack";
    case AlertsOptions::Action::kUnack:
      return "alerts unack";
  }
  return "alerts";
}

}  // namespace

// ---- incidents --------------------------------------------------------------------------------

// --since / --until: a duration back from now, or an RFC 3339 time.
Outcome<std::string> time_back(const std::string& text, std::string_view flag,
                               core::TimePoint now) {
  if (auto d = core::parse_duration(text)) return core::format_rfc3339(now - *d);
  if (auto t = core::parse_rfc3339(text)) return core::format_rfc3339(*t);
  return failure(kExitUsage, std::string(flag) + ": '" + text +
                                 "' is neither a duration back from now (7d, 12h) nor an RFC "
                                 "3339 time");
}

// "0:03:00" from an incident's *_readable member, "—" when null.
std::string readable_or_dash(const json& incident, std::string_view key) {
  const std::string s = text_of(incident, key);
  return s.empty() ? "—" : s;
}

Outcome<void> incidents_list(const IncidentsOptions& o, std::ostream& out, core::TimePoint now) {
  std::vector<std::pair<std::string, std::string>> params;
  if (o.since) {
    auto t = time_back(*o.since, "--since", now);
    if (!t) return std::unexpected(t.error());
    params.emplace_back("since", *t);
  }
  if (o.until) {
    auto t = time_back(*o.until, "--until", now);
    if (!t) return std::unexpected(t.error());
    params.emplace_back("until", *t);
  }
  if (o.state) {
    if (*o.state != "open" && *o.state != "resolved") {
      return failure(kExitUsage, "--state: must be open or resolved, not '" + *o.state + "'");
    }
    params.emplace_back("state", *o.state);
  }
  if (o.receiver) params.emplace_back("receiver", *o.receiver);
  if (o.limit < 1 || o.limit > 10000) return failure(kExitUsage, "--limit: must be 1-10000");
  params.emplace_back("limit", std::to_string(o.limit));
  auto session = open(o.daemon);
  if (!session) return std::unexpected(session.error());
  auto body = session->daemon->get("/api/v1/incidents" + query(params));
  if (!body) return std::unexpected(body.error());
  auto list = array_body(at(*body, "incidents"), "incidents");
  if (!list) return std::unexpected(list.error());
  if (session->json) {
    out << body->dump(2) << "\n";
    return {};
  }
  std::vector<std::vector<std::string>> rows;
  for (const json& i : **list) {
    const bool resolved = !at(i, "resolved_at").is_null();
    std::string acked = text_of(i, "acknowledged_by");
    if (!acked.empty() && !text_of(i, "acknowledged_via").empty()) {
      acked += " via " + text_of(i, "acknowledged_via");
    }
    rows.push_back({text_of(i, "id"), text_of(i, "opened_at"), text_of(i, "receiver"),
                    resolved ? "resolved" : "open", acked.empty() ? "—" : acked,
                    readable_or_dash(i, "mtta_readable"), readable_or_dash(i, "mttr_readable"),
                    text_of(i, "group")});
  }
  print_table(out, {"ID", "OPENED", "RECEIVER", "STATE", "ACKED BY", "MTTA", "MTTR", "GROUP"},
              std::move(rows));
  const json& s = at(*body, "summary");
  const auto mean = [&s](const char* which) {
    const json& m = at(at(s, which), "mean");
    return m.is_null() ? std::string("n/a") : text_of(m, "readable");
  };
  out << text_of(*body, "count") << " incident(s) opened " << text_of(*body, "since") << " to "
      << text_of(*body, "until") << ": " << text_of(s, "open") << " open, "
      << text_of(s, "unacknowledged") << " unacknowledged; mean MTTA " << mean("mtta")
      << ", mean MTTR " << mean("mttr") << "\n";
  return {};
}

Outcome<void> incidents_timeline(const IncidentsOptions& o, std::ostream& out) {
  if (trim(o.id).empty()) return failure(kExitUsage, "ID: required");
  if (o.timeline_format != "json" && o.timeline_format != "markdown") {
    return failure(kExitUsage,
                   "--format: must be json or markdown, not '" + o.timeline_format + "'");
  }
  auto session = open(o.daemon);
  if (!session) return std::unexpected(session.error());
  const std::string path = "/api/v1/incidents/" + encode(std::string(trim(o.id)));
  if (o.timeline_format == "json") {
    auto body = session->daemon->get(path + "?format=timeline");
    if (!body) return std::unexpected(body.error());
    out << body->dump(2) << "\n";
    return {};
  }
  auto text = session->daemon->get_text(path + "?format=markdown");
  if (!text) return std::unexpected(text.error());
  out << *text;
  return {};
}

int run_incidents(const IncidentsOptions& options, std::ostream& out, std::ostream& err) {
  const core::TimePoint now = core::SystemClock::instance().now();
  if (options.action == IncidentsOptions::Action::kList) {
    auto done = incidents_list(options, out, now);
    return done ? kExitOk : report(err, "incidents list", done.error());
  }
  auto done = incidents_timeline(options, out);
  return done ? kExitOk : report(err, "incidents timeline", done.error());
}

int run_alerts(const AlertsOptions& options, std::ostream& out, std::ostream& err) {
  const core::TimePoint now = core::SystemClock::instance().now();
  Outcome<void> done;
  switch (options.action) {
    case AlertsOptions::Action::kList:
      done = alerts_list(options, out);
      break;
    case AlertsOptions::Action::kGroups:
      done = alerts_groups(options, out);
      break;
    case AlertsOptions::Action::kAck:
      done = alerts_ack(options, out, now);
      break;
    case AlertsOptions::Action::kUnack:
      done = alerts_unack(options, out);
      break;
  }
  return done ? kExitOk : report(err, alerts_command(options.action), done.error());
}

int run_silence(const SilenceOptions& options, std::ostream& out, std::ostream& err) {
  const core::TimePoint now = core::SystemClock::instance().now();
  switch (options.action) {
    case SilenceOptions::Action::kAdd: {
      auto done = silence_add(options, out, now);
      return done ? kExitOk : report(err, "silence add", done.error());
    }
    case SilenceOptions::Action::kList: {
      auto done = silence_list(options, out);
      return done ? kExitOk : report(err, "silence list", done.error());
    }
    case SilenceOptions::Action::kExpire:
      return silence_expire(options, out, err);
  }
  return kExitUsage;
}

int run_routes_test(const RoutesTestOptions& options, std::ostream& out, std::ostream& err) {
  auto done = routes_test(options, out, err);
  return done ? *done : report(err, "routes test", done.error());
}

std::expected<nlohmann::json, DaemonError> daemon_get_json(const DaemonOptions& daemon,
                                                           const std::string& path) {
  DaemonOptions o = daemon;
  o.format = "json";  // the caller renders; only the connection options matter here
  auto session = open(o);
  if (!session) return std::unexpected(DaemonError{session.error().code, session.error().message});
  auto body = session->daemon->get(path);
  if (!body) return std::unexpected(DaemonError{body.error().code, body.error().message});
  return *body;
}

std::expected<nlohmann::json, DaemonError> daemon_post_json(const DaemonOptions& daemon,
                                                            const std::string& path,
                                                            const nlohmann::json& body) {
  DaemonOptions o = daemon;
  o.format = "json";
  auto session = open(o);
  if (!session) return std::unexpected(DaemonError{session.error().code, session.error().message});
  auto answer = session->daemon->post(path, body);
  if (!answer) return std::unexpected(DaemonError{answer.error().code, answer.error().message});
  return *answer;
}

std::expected<std::string, DaemonError> daemon_get_text(const DaemonOptions& daemon,
                                                        const std::string& path) {
  DaemonOptions o = daemon;
  o.format = "json";
  auto session = open(o);
  if (!session) return std::unexpected(DaemonError{session.error().code, session.error().message});
  auto answer = session->daemon->get_text(path);
  if (!answer) return std::unexpected(DaemonError{answer.error().code, answer.error().message});
  return *answer;
}

std::string cell_text(const json& j, const char* key, const std::string& missing) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return missing;
  if (j[key].is_string()) return j[key].get<std::string>();
  return j[key].dump();
}

int report_error(std::ostream& err, std::string_view command, const DaemonError& e) {
  err << "opsready: " << command << ": " << e.message << "\n";
  return e.code;
}

}  // namespace opsready::app
