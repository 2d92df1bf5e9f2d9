#include "opsready/alerting/policy.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <utility>

#include "opsready/core/text.h"
#include "opsready/core/time.h"

namespace opsready::alerting {
namespace {

using nlohmann::json;

// ---- Key tables ----

enum class Kind {
  kString,
  kSecret,  // a string never echoed in messages
  kFile,    // a path; relative ones are joined to the file's directory
  kBool,
  kUint,         // a whole number (also given as a numeric string)
  kStrings,      // a list of strings
  kStringMap,    // a mapping of strings
  kHeaders,      // kStringMap whose names are unique regardless of case (MIME header names)
  kUrl,          // an absolute http:// or https:// URL
  kSecretUrl,    // kUrl, never echoed (it carries a token: Slack, webhooks)
  kHostPort,     // host:port
  kDuration,     // Alertmanager's duration syntax
  kTlsVersion,   // TLS10 .. TLS13
  kRepository,   // owner/name
  kObject,       // a mapping read by `table`
  kObjectList,   // a list of mappings, each read by `table`
  kUnsupported,  // known to Alertmanager, not honoured by opsready: an error
};

struct Table;

struct Key {
  std::string_view name;
  Kind kind = Kind::kString;
  const Table* table = nullptr;  // kObject, kObjectList
};

struct Table {
  std::vector<Key> keys;
  std::vector<std::string_view> required;
  std::vector<std::vector<std::string_view>> exclusive;  // at most one key of each group
  std::vector<std::vector<std::string_view>> one_of;     // at least one key of each group
};

const Table& tls_table() {
  static const Table t{.keys = {{"ca_file", Kind::kFile},
                                {"cert_file", Kind::kFile},
                                {"key_file", Kind::kFile},
                                // libcurl cannot verify a certificate against another name
                                // than the URL's host.
                                {"server_name", Kind::kUnsupported},
                                {"insecure_skip_verify", Kind::kBool},
                                {"min_version", Kind::kTlsVersion},
                                {"max_version", Kind::kTlsVersion}}};
  return t;
}

const Table& http_table() {
  static const Table basic_auth{.keys = {{"username", Kind::kString},
                                         {"password", Kind::kSecret},
                                         {"password_file", Kind::kFile}},
                                .exclusive = {{"password", "password_file"}}};
  static const Table authorization{.keys = {{"type", Kind::kString},
                                            {"credentials", Kind::kSecret},
                                            {"credentials_file", Kind::kFile}},
                                   .exclusive = {{"credentials", "credentials_file"}}};
  static const Table t{
      .keys = {{"basic_auth", Kind::kObject, &basic_auth},
               {"authorization", Kind::kObject, &authorization},
               // A token endpoint of its own to call and refresh: not in opsready's delivery.
               {"oauth2", Kind::kUnsupported},
               {"bearer_token", Kind::kSecret},
               {"bearer_token_file", Kind::kFile},
               {"tls_config", Kind::kObject, &tls_table()},
               {"proxy_url", Kind::kUrl},
               {"follow_redirects", Kind::kBool},
               {"enable_http2", Kind::kBool}},
      // prometheus/common: each pair of these excludes the other.
      .exclusive = {
          {"basic_auth", "authorization", "oauth2", "bearer_token", "bearer_token_file"}}};
  return t;
}

const Table& webhook_table() {
  static const Table t{.keys = {{"send_resolved", Kind::kBool},
                                {"http_config", Kind::kObject, &http_table()},
                                {"url", Kind::kSecretUrl},
                                {"max_alerts", Kind::kUint},
                                // opsready: the brief's payload, a signature, extra headers.
                                {"format", Kind::kString},
                                {"signature_secret", Kind::kSecret},
                                {"signature_secret_file", Kind::kFile},
                                {"headers", Kind::kHeaders}},
                       .exclusive = {{"signature_secret", "signature_secret_file"}}};
  return t;
}

const Table& email_table() {
  static const Table t{.keys = {{"send_resolved", Kind::kBool},
                                {"to", Kind::kString},
                                {"from", Kind::kString},
                                {"hello", Kind::kString},
                                {"smarthost", Kind::kHostPort},
                                {"auth_username", Kind::kString},
                                {"auth_password", Kind::kSecret},
                                {"auth_password_file", Kind::kFile},
                                {"auth_secret", Kind::kSecret},
                                {"auth_identity", Kind::kString},
                                {"headers", Kind::kHeaders},
                                {"html", Kind::kString},
                                {"text", Kind::kString},
                                {"require_tls", Kind::kBool},
                                {"tls_config", Kind::kObject, &tls_table()}},
                       .required = {"to"},
                       .exclusive = {{"auth_password", "auth_password_file"}}};
  return t;
}

const Table& slack_table() {
  static const Table field{
      .keys = {{"title", Kind::kString}, {"value", Kind::kString}, {"short", Kind::kBool}},
      .required = {"title", "value"}};
  static const Table confirm{.keys = {{"text", Kind::kString},
                                      {"title", Kind::kString},
                                      {"ok_text", Kind::kString},
                                      {"dismiss_text", Kind::kString}},
                             .required = {"text"}};
  static const Table action{.keys = {{"type", Kind::kString},
                                     {"text", Kind::kString},
                                     {"url", Kind::kString},
                                     {"style", Kind::kString},
                                     {"name", Kind::kString},
                                     {"value", Kind::kString},
                                     {"confirm", Kind::kObject, &confirm}},
                            .required = {"type", "text"},
                            .one_of = {{"url", "name"}}};
  static const Table t{.keys = {{"send_resolved", Kind::kBool},
                                {"http_config", Kind::kObject, &http_table()},
                                {"api_url", Kind::kSecretUrl},
                                {"api_url_file", Kind::kFile},
                                {"channel", Kind::kString},
                                {"username", Kind::kString},
                                {"color", Kind::kString},
                                {"title", Kind::kString},
                                {"title_link", Kind::kString},
                                {"pretext", Kind::kString},
                                {"text", Kind::kString},
                                {"fields", Kind::kObjectList, &field},
                                {"short_fields", Kind::kBool},
                                {"footer", Kind::kString},
                                {"fallback", Kind::kString},
                                {"callback_id", Kind::kString},
                                {"icon_emoji", Kind::kString},
                                {"icon_url", Kind::kString},
                                {"image_url", Kind::kString},
                                {"thumb_url", Kind::kString},
                                {"link_names", Kind::kBool},
                                {"mrkdwn_in", Kind::kStrings},
                                {"actions", Kind::kObjectList, &action}},
                       .exclusive = {{"api_url", "api_url_file"}}};
  return t;
}

const Table& sms_table() {
  static const Table t{.keys = {{"send_resolved", Kind::kBool},
                                {"gateway_url", Kind::kSecretUrl},
                                {"sender", Kind::kString},
                                {"recipients", Kind::kStrings},
                                {"format", Kind::kString},
                                {"message", Kind::kString},
                                {"max_segments", Kind::kUint},
                                {"http_config", Kind::kObject, &http_table()}}};
  return t;
}

const Table& github_table() {
  static const Table t{.keys = {{"send_resolved", Kind::kBool},
                                {"repository", Kind::kRepository},
                                {"token", Kind::kSecret},
                                {"token_file", Kind::kFile},
                                {"issue_number", Kind::kUint},
                                {"api_url", Kind::kUrl},
                                {"labels", Kind::kStrings},
                                {"assignees", Kind::kStrings},
                                {"title", Kind::kString},
                                {"body", Kind::kString},
                                {"label", Kind::kString},
                                {"close_on_resolve", Kind::kBool},
                                {"http_config", Kind::kObject, &http_table()}},
                       .exclusive = {{"token", "token_file"}}};
  return t;
}

const Table& global_table() {
  static const Table t{.keys = {{"resolve_timeout", Kind::kDuration},
                                {"http_config", Kind::kObject, &http_table()},
                                {"smtp_from", Kind::kString},
                                {"smtp_hello", Kind::kString},
                                {"smtp_smarthost", Kind::kHostPort},
                                {"smtp_auth_username", Kind::kString},
                                {"smtp_auth_password", Kind::kSecret},
                                {"smtp_auth_password_file", Kind::kFile},
                                {"smtp_auth_secret", Kind::kSecret},
                                {"smtp_auth_identity", Kind::kString},
                                {"smtp_require_tls", Kind::kBool},
                                {"slack_api_url", Kind::kSecretUrl},
                                {"slack_api_url_file", Kind::kFile},
                                // Alertmanager's keys for integrations opsready does not deliver
                                // to: accepted, so that its files load unchanged, and unused.
                                {"pagerduty_url", Kind::kUrl},
                                {"opsgenie_api_url", Kind::kUrl},
                                {"opsgenie_api_key", Kind::kSecret},
                                {"opsgenie_api_key_file", Kind::kFile},
                                {"wechat_api_url", Kind::kUrl},
                                {"wechat_api_secret", Kind::kSecret},
                                {"wechat_api_corp_id", Kind::kString},
                                {"victorops_api_url", Kind::kUrl},
                                {"victorops_api_key", Kind::kSecret},
                                {"victorops_api_key_file", Kind::kFile},
                                {"telegram_api_url", Kind::kUrl},
                                {"webex_api_url", Kind::kUrl}},
                       .exclusive = {{"smtp_auth_password", "smtp_auth_password_file"},
                                     {"slack_api_url", "slack_api_url_file"},
                                     {"opsgenie_api_key", "opsgenie_api_key_file"},
                                     {"victorops_api_key", "victorops_api_key_file"}}};
  return t;
}

constexpr std::array<IntegrationType, 5> kTypes = {{{"webhook", "webhook_configs", true},
                                                    {"email", "email_configs", false},
                                                    {"slack", "slack_configs", false},
                                                    {"sms", "sms_configs", false},
                                                    {"github", "github_configs", false}}};

const Table* table_of(std::string_view type) {
  if (type == "webhook") return &webhook_table();
  if (type == "email") return &email_table();
  if (type == "slack") return &slack_table();
  if (type == "sms") return &sms_table();
  if (type == "github") return &github_table();
  return nullptr;
}

// Alertmanager's receiver keys (0.25 and later releases) for integrations opsready lacks.
constexpr std::array<std::string_view, 15> kUnsupported = {
    "pagerduty_configs",  "opsgenie_configs",   "victorops_configs", "pushover_configs",
    "wechat_configs",     "telegram_configs",   "sns_configs",       "webex_configs",
    "discord_configs",    "msteams_configs",    "msteamsv2_configs", "jira_configs",
    "mattermost_configs", "rocketchat_configs", "incidentio_configs"};

// ---- Normalization ----

std::string join(const std::string& prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
}

std::string known_keys(const Table& t) {
  std::string out;
  for (const auto& k : t.keys) out += (out.empty() ? "" : ", ") + std::string(k.name);
  return out;
}

std::string words(const std::vector<std::string_view>& keys, const char* last) {
  std::string out;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    out += (i == 0                 ? ""
            : i + 1 == keys.size() ? std::string(" ") + last + " "
                                   : ", ") +
           std::string(keys[i]);
  }
  return out;
}

// The keys of `t` below `prefix`, as settings_keys() lists them.
void collect_keys(const Table& t, const std::string& prefix, std::vector<std::string>& out) {
  for (const auto& k : t.keys) {
    if (k.kind == Kind::kUnsupported) continue;
    const std::string path = join(prefix, k.name);
    out.push_back(path);
    if (k.kind == Kind::kObject) {
      collect_keys(*k.table, path, out);
    } else if (k.kind == Kind::kObjectList) {
      out.push_back(path + "[]");
      collect_keys(*k.table, path + "[]", out);
    } else if (k.kind == Kind::kStringMap || k.kind == Kind::kHeaders) {
      out.push_back(path + ".*");
    }
  }
}

// `host:port` as Go's net.SplitHostPort takes it, with a port that is not empty.
bool is_host_port(std::string_view s) {
  std::string_view port;
  if (s.starts_with('[')) {
    const auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return false;
    }
    port = s.substr(close + 2);
  } else {
    const auto colon = s.find(':');
    if (colon == std::string_view::npos || colon == 0 ||
        s.find(':', colon + 1) != std::string_view::npos) {
      return false;
    }
    port = s.substr(colon + 1);
  }
  return !port.empty() && port.size() <= 5 &&
         std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// An absolute http or https URL with a host, as Alertmanager's config.URL requires.
bool is_http_url(std::string_view s) {
  const std::string lower = core::to_lower(s);
  std::string_view rest = lower;
  if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else {
    return false;
  }
  const auto end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  const auto colon = authority.starts_with('[') ? authority.find("]:") : authority.rfind(':');
  const std::string_view host =
      colon == std::string_view::npos ? authority : authority.substr(0, colon);
  return !host.empty() && host != "[]" && std::none_of(s.begin(), s.end(), [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) != 0 || static_cast<unsigned char>(c) < 0x20;
  });
}

bool is_repository(std::string_view s) {
  const auto slash = s.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == s.size() ||
      s.find('/', slash + 1) != std::string_view::npos) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.' ||
           c == '/';
  });
}

class Normalizer {
 public:
  Normalizer(const std::filesystem::path& base_dir, std::vector<core::Error>& errors)
      : base_dir_(base_dir), errors_(errors) {}

  void object(const Table& table, json& obj, const std::string& prefix) {
    if (!obj.is_object()) {
      fail("invalid_type", "must be a mapping", prefix);
      return;
    }
    std::vector<std::string> given;
    for (auto it = obj.begin(); it != obj.end();) {
      if (it->is_null()) {
        it = obj.erase(it);
        continue;
      }
      given.push_back(it.key());
      ++it;
    }
    for (const auto& name : given) {
      const auto key = std::find_if(table.keys.begin(), table.keys.end(),
                                    [&name](const Key& k) { return k.name == name; });
      if (key == table.keys.end()) {
        fail("unknown_key", "unknown key (known: " + known_keys(table) + ")", join(prefix, name));
        continue;
      }
      value(*key, obj[name], join(prefix, name));
    }
    for (const auto& key : table.required) {
      if (!obj.contains(key)) {
        fail("missing_key", "missing required key '" + std::string(key) + "'", prefix);
      }
    }
    for (const auto& group : table.exclusive) {
      std::vector<std::string_view> set;
      for (const auto& key : group) {
        if (obj.contains(key)) set.push_back(key);
      }
      if (set.size() > 1) {
        fail("exclusive_keys", "at most one of " + words(group, "and") + " may be set",
             join(prefix, set[1]));
      }
    }
    for (const auto& group : table.one_of) {
      if (std::none_of(group.begin(), group.end(),
                       [&obj](std::string_view key) { return obj.contains(key); })) {
        fail("missing_key", "needs " + words(group, "or"), prefix);
      }
    }
  }

 private:
  void fail(std::string code, std::string message, std::string field) {
    errors_.push_back({std::move(code), std::move(message), std::move(field)});
  }

  // A string, or the text of a scalar YAML gave as one; nullptr when `v` is neither.
  static const std::string* text(const json& v) { return v.get_ptr<const std::string*>(); }

  void value(const Key& key, json& v, const std::string& path) {
    switch (key.kind) {
      case Kind::kString:
      case Kind::kSecret:
        if (!v.is_string()) fail("invalid_type", "must be a string", path);
        return;
      case Kind::kFile: {
        const std::string* s = text(v);
        if (s == nullptr || s->empty()) {
          fail("invalid_type", "must be a file name", path);
          return;
        }
        const std::filesystem::path p = *s;
        if (p.is_relative() && !base_dir_.empty()) v = (base_dir_ / p).string();
        return;
      }
      case Kind::kBool:
        if (v.is_boolean()) return;
        if (const std::string* s = text(v); s != nullptr && (*s == "true" || *s == "false")) {
          v = *s == "true";
          return;
        }
        fail("invalid_type", "must be true or false", path);
        return;
      case Kind::kUint: {
        if (v.is_number_unsigned()) return;
        std::uint64_t n = 0;
        const std::string* s = text(v);
        if (s != nullptr) {
          const auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), n);
          if (!s->empty() && ec == std::errc() && end == s->data() + s->size()) {
            v = n;
            return;
          }
        }
        fail("invalid_type", "must be a whole number", path);
        return;
      }
      case Kind::kStrings:
        if (!v.is_array() ||
            !std::all_of(v.begin(), v.end(), [](const json& item) { return item.is_string(); })) {
          fail("invalid_type", "must be a list of strings", path);
        }
        return;
      case Kind::kStringMap:
      case Kind::kHeaders: {
        if (!v.is_object() ||
            !std::all_of(v.begin(), v.end(), [](const json& item) { return item.is_string(); })) {
          fail("invalid_type", "must be a mapping of strings", path);
          return;
        }
        if (key.kind == Kind::kHeaders) {
          std::set<std::string> seen;
          for (auto it = v.begin(); it != v.end(); ++it) {
            if (!seen.insert(core::to_lower(it.key())).second) {
              fail("duplicate_header",
                   "header '" + it.key() + "' is given twice (names ignore case)",
                   path + "." + it.key());
            }
          }
        }
        return;
      }
      case Kind::kUrl:
      case Kind::kSecretUrl: {
        const std::string* s = text(v);
        if (s != nullptr && is_http_url(*s)) return;
        fail("invalid_url",
             key.kind == Kind::kUrl && s != nullptr
                 ? "'" + *s + "' is not an http:// or https:// URL with a host"
                 : "must be an http:// or https:// URL with a host (the value is secret)",
             path);
        return;
      }
      case Kind::kHostPort: {
        const std::string* s = text(v);
        if (s != nullptr && is_host_port(*s)) return;
        fail("invalid_address",
             (s != nullptr ? "'" + *s + "'" : std::string("the value")) +
                 " is not HOST:PORT (e.g. smtp.example.org:587)",
             path);
        return;
      }
      case Kind::kDuration: {
        const std::string* s = text(v);
        auto d = s != nullptr ? parse_alertmanager_duration(*s)
                              : core::fail("invalid_duration", "must be a duration, e.g. 5m");
        if (!d) {
          fail("invalid_duration", d.error().message, path);
          return;
        }
        v = core::format_duration(*d);
        return;
      }
      case Kind::kTlsVersion: {
        const std::string* s = text(v);
        if (s != nullptr && (*s == "TLS10" || *s == "TLS11" || *s == "TLS12" || *s == "TLS13")) {
          return;
        }
        fail("invalid_tls_version", "must be TLS10, TLS11, TLS12 or TLS13", path);
        return;
      }
      case Kind::kRepository: {
        const std::string* s = text(v);
        if (s != nullptr && is_repository(*s)) return;
        fail("invalid_repository", "must be OWNER/NAME (e.g. acme/ops-alerts)", path);
        return;
      }
      case Kind::kObject:
        object(*key.table, v, path);
        return;
      case Kind::kObjectList:
        if (!v.is_array()) {
          fail("invalid_type", "must be a list of mappings", path);
          return;
        }
        for (std::size_t i = 0; i < v.size(); ++i) {
          object(*key.table, v[i], path + "[" + std::to_string(i) + "]");
        }
        return;
      case Kind::kUnsupported:
        fail("unsupported", "not supported by opsready", path);
        return;
    }
  }

  const std::filesystem::path& base_dir_;
  std::vector<core::Error>& errors_;
};

// ---- lint ----

bool has(const json& obj, std::string_view key) {
  return obj.is_object() && obj.contains(key) && !obj.at(std::string(key)).is_null();
}

// The inside of a Go action, "{{- .X -}}" → ".X".
std::string_view action_body(std::string_view tag) {
  tag = core::trim(tag);
  if (tag.starts_with('-')) tag.remove_prefix(1);
  if (tag.ends_with('-')) tag.remove_suffix(1);
  return core::trim(tag);
}

bool is_go_action(std::string_view raw) {
  if (raw.starts_with('-') || raw.ends_with('-')) return true;  // trim markers
  const std::string_view a = action_body(raw);
  if (a.empty()) return false;
  if (a.front() == '#' || a.front() == '^' || a.front() == '/' || a.front() == '!' ||
      a.front() == '>' || a.front() == '&' || a.front() == '{' || a.front() == '=') {
    return false;  // mustache sigils
  }
  if (a.front() == '$' || a.find('|') != std::string_view::npos ||
      a.find('(') != std::string_view::npos || a.find('"') != std::string_view::npos) {
    return true;
  }
  if (a.size() > 1 && a.front() == '.' &&
      (std::isalpha(static_cast<unsigned char>(a[1])) != 0 || a[1] == '_')) {
    return true;
  }
  if (a == "else" || a == "end") return true;  // "{{.}}" is mustache's current item
  static constexpr std::array<std::string_view, 14> kKeywords = {
      "template", "range", "if",    "else",   "end", "with", "define",
      "block",    "len",   "index", "printf", "eq",  "not",  "toUpper"};
  const std::string_view word = a.substr(0, a.find(' '));
  return a.find(' ') != std::string_view::npos &&
         std::find(kKeywords.begin(), kKeywords.end(), word) != kKeywords.end();
}

// `{{ template "name" . }}` alone: a reference to one of Alertmanager's default templates
// means opsready's default (notify/template.h); check_integration() refuses other names.
bool is_template_reference(std::string_view value) {
  value = core::trim(value);
  const auto acts = template_actions(value);
  if (acts.size() != 1 || !value.starts_with("{{") || !value.ends_with("}}")) return false;
  const std::string_view a = action_body(acts.front());
  return a.starts_with("template \"") && a.ends_with("\" .");
}

void find_templates(const json& v, const std::string& path, std::vector<core::Error>& out) {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (is_go_template(s) && !is_template_reference(s)) {
      out.push_back({"integration_go_template",
                     "is a Go template, which opsready does not run: write it in mustache "
                     "(docs/receivers.md#templates)",
                     path});
    }
  } else if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) find_templates(*it, join(path, it.key()), out);
  } else if (v.is_array()) {
    for (std::size_t i = 0; i < v.size(); ++i) {
      find_templates(v[i], path + "[" + std::to_string(i) + "]", out);
    }
  }
}

// ---- check ----

void prefixed(std::vector<core::Error> errors, const std::string& prefix,
              std::vector<core::Error>& out) {
  for (auto& e : errors) {
    e.field = e.field.empty() ? prefix : prefix + "." + e.field;
    out.push_back(std::move(e));
  }
}

void check_route(const RouteSpec& r, const std::string& path,
                 const std::set<std::string>& receivers, const std::set<std::string>& intervals,
                 std::vector<core::Error>& out) {
  if (r.receiver && !r.receiver->empty() && !receivers.contains(*r.receiver)) {
    out.push_back({"route_unknown_receiver",
                   "undefined receiver '" + *r.receiver + "' used in route", path + ".receiver"});
  }
  const auto refs = [&](const std::vector<std::string>& names, const char* key) {
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (!names[i].empty() && !intervals.contains(names[i])) {
        out.push_back({"route_unknown_time_interval",
                       "undefined time interval '" + names[i] + "' used in route",
                       path + "." + key + "[" + std::to_string(i) + "]"});
      }
    }
  };
  refs(r.mute_time_intervals, "mute_time_intervals");
  refs(r.active_time_intervals, "active_time_intervals");
  for (std::size_t i = 0; i < r.routes.size(); ++i) {
    check_route(r.routes[i], path + ".routes[" + std::to_string(i) + "]", receivers, intervals,
                out);
  }
}

}  // namespace

std::span<const IntegrationType> integration_types() { return kTypes; }

const IntegrationType* find_integration_type(std::string_view type_or_key) {
  const auto it = std::find_if(kTypes.begin(), kTypes.end(), [type_or_key](const auto& t) {
    return t.type == type_or_key || t.config_key == type_or_key;
  });
  return it == kTypes.end() ? nullptr : &*it;
}

std::span<const std::string_view> unsupported_integration_keys() { return kUnsupported; }

std::string supported_integration_keys() {
  std::string out;
  for (const auto& t : kTypes) out += (out.empty() ? "" : ", ") + std::string(t.config_key);
  return out;
}

std::vector<core::Error> normalize_settings(std::string_view type, json& settings,
                                            const std::filesystem::path& base_dir) {
  std::vector<core::Error> errors;
  const Table* table = table_of(type);
  if (table == nullptr) {
    errors.push_back(
        {"integration_unknown_type", "unknown integration type '" + std::string(type) + "'", ""});
    return errors;
  }
  Normalizer(base_dir, errors).object(*table, settings, "");
  return errors;
}

std::vector<core::Error> normalize_global(json& global, const std::filesystem::path& base_dir) {
  std::vector<core::Error> errors;
  Normalizer(base_dir, errors).object(global_table(), global, "");
  return errors;
}

std::vector<std::string> settings_keys(std::string_view type) {
  std::vector<std::string> out;
  if (const Table* table = table_of(type)) collect_keys(*table, "", out);
  return out;
}

std::vector<std::string> global_keys() {
  std::vector<std::string> out;
  collect_keys(global_table(), "", out);
  return out;
}

namespace {

// A header name that says its value is a credential.
bool is_credential_header(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const std::string_view word :
       {"auth", "token", "secret", "password", "api-key", "apikey", "api_key", "access-key"}) {
    if (name.find(word) != std::string::npos) return true;
  }
  return false;
}

void collect_secrets(const Table& t, const json& obj, const std::string& prefix,
                     std::vector<SecretSetting>& out) {
  if (!obj.is_object()) return;
  using K = SecretSetting::Kind;
  for (const auto& k : t.keys) {
    const auto it = obj.find(std::string(k.name));
    if (it == obj.end()) continue;
    const std::string path = join(prefix, k.name);
    const std::string twin = std::string(k.name) + "_file";
    const bool has_twin = std::any_of(t.keys.begin(), t.keys.end(),
                                      [&twin](const Key& other) { return other.name == twin; });
    const auto add = [&](K kind, const json& value, std::string field) {
      if (value.is_string()) {
        out.push_back({std::move(field), kind, has_twin ? twin : "", value.get<std::string>()});
      }
    };
    switch (k.kind) {
      case Kind::kSecret:
        add(K::kSecret, *it, path);
        break;
      case Kind::kSecretUrl:
        add(K::kSecretUrl, *it, path);
        break;
      case Kind::kUrl:
        add(K::kUrl, *it, path);
        break;
      case Kind::kFile:
        add(K::kFile, *it, path);
        break;
      case Kind::kHeaders:
        if (!it->is_object()) break;
        for (const auto& [name, value] : it->items()) {
          if (is_credential_header(name)) add(K::kHeader, value, path + "." + name);
        }
        break;
      case Kind::kObject:
        collect_secrets(*k.table, *it, path, out);
        break;
      case Kind::kObjectList:
        if (!it->is_array()) break;
        for (std::size_t i = 0; i < it->size(); ++i) {
          collect_secrets(*k.table, (*it)[i], path + "[" + std::to_string(i) + "]", out);
        }
        break;
      default:
        break;
    }
  }
}

}  // namespace

std::vector<SecretSetting> secret_settings(std::string_view type, const json& settings) {
  std::vector<SecretSetting> out;
  if (const Table* table = table_of(type)) collect_secrets(*table, settings, "", out);
  return out;
}

std::vector<SecretSetting> global_secret_settings(const json& global) {
  std::vector<SecretSetting> out;
  collect_secrets(global_table(), global, "", out);
  return out;
}

std::vector<core::Error> lint(const Integration& integration, const json& global) {
  std::vector<core::Error> out;
  const json& s = integration.settings;
  // The field is the entry itself: what is missing has no place in it.
  const auto records_only = [&out](const std::string& what) {
    out.push_back(
        {"integration_records_only", "no " + what + ": notifications are recorded, not sent", ""});
  };
  const std::string& type = integration.type;
  if (type == "email") {
    if (!has(s, "smarthost") && !has(global, "smtp_smarthost")) {
      records_only("smarthost (here or global.smtp_smarthost)");
    } else if (!has(s, "from") && !has(global, "smtp_from")) {
      records_only("from (here or global.smtp_from)");
    }
  } else if (type == "slack") {
    if (!has(s, "api_url") && !has(s, "api_url_file") && !has(global, "slack_api_url") &&
        !has(global, "slack_api_url_file")) {
      records_only("api_url (here or global.slack_api_url)");
    }
  } else if (type == "webhook") {
    if (!has(s, "url")) records_only("url");
  } else if (type == "sms") {
    if (!has(s, "gateway_url")) {
      records_only("gateway_url");
    } else if (!has(s, "recipients") || s.at("recipients").empty()) {
      records_only("recipients");
    }
  } else if (type == "github") {
    if (!has(s, "repository")) {
      records_only("repository");
    } else if (!has(s, "token") && !has(s, "token_file")) {
      records_only("token or token_file");
    }
  }
  find_templates(s, "", out);
  return out;
}

std::vector<std::string_view> template_actions(std::string_view value) {
  std::vector<std::string_view> out;
  for (std::size_t pos = value.find("{{"); pos != std::string_view::npos;
       pos = value.find("{{", pos)) {
    const auto end = value.find("}}", pos + 2);
    if (end == std::string_view::npos) break;
    out.push_back(value.substr(pos + 2, end - pos - 2));
    pos = end + 2;
  }
  return out;
}

bool is_go_template(std::string_view value) {
  const auto acts = template_actions(value);
  return std::any_of(acts.begin(), acts.end(), is_go_action);
}

std::vector<core::Error> check(const Policy& policy) {
  std::vector<core::Error> out;
  std::set<std::string> receivers;
  for (std::size_t i = 0; i < policy.receivers.size(); ++i) {
    const std::string at = "receivers[" + std::to_string(i) + "]";
    const Receiver& r = policy.receivers[i];
    if (r.name.empty()) {
      out.push_back({"receiver_empty_name", "a receiver needs a name", at + ".name"});
    } else if (!receivers.insert(r.name).second) {
      out.push_back(
          {"receiver_duplicate", "receiver name '" + r.name + "' is not unique", at + ".name"});
    }
  }
  for (std::size_t i = 0; i < policy.receivers.size(); ++i) {
    const std::string at = "receivers[" + std::to_string(i) + "]";
    const Receiver& r = policy.receivers[i];
    std::map<std::string, std::size_t> index;  // per type, as the file numbers them
    for (const Integration& integration : r.integrations) {
      const IntegrationType* type = find_integration_type(integration.type);
      if (type == nullptr || type->type != integration.type) {
        out.push_back({"integration_unknown_type",
                       "unknown integration type '" + integration.type +
                           "' (known: webhook, "
                           "email, slack, sms, github)",
                       at});
        continue;
      }
      json settings = integration.settings;
      prefixed(normalize_settings(type->type, settings),
               at + "." + std::string(type->config_key) + "[" +
                   std::to_string(index[integration.type]++) + "]",
               out);
    }
    if (auto ok = validate_escalation_policy(r.escalation); !ok) {
      // Its fields are steps[k]...: the configuration calls the list `escalation`.
      core::Error e = ok.error();
      if (e.field.starts_with("steps")) e.field.replace(0, 5, "escalation");
      prefixed({std::move(e)}, at, out);
    }
    for (std::size_t k = 0; k < r.escalation.size(); ++k) {
      const EscalationStep& step = r.escalation[k];
      if (!step.receiver.empty() && !receivers.contains(step.receiver)) {
        out.push_back({"escalation_unknown_receiver",
                       "undefined receiver '" + step.receiver + "' used in escalation",
                       at + ".escalation[" + std::to_string(k) + "].receiver"});
      }
    }
  }
  std::set<std::string> intervals;
  for (std::size_t i = 0; i < policy.time_intervals.size(); ++i) {
    const std::string at = "time_intervals[" + std::to_string(i) + "]";
    const TimeInterval& ti = policy.time_intervals[i];
    if (ti.name.empty()) {
      out.push_back({"time_interval_empty_name", "a time interval needs a name", at + ".name"});
    } else if (!intervals.insert(ti.name).second) {
      out.push_back({"time_interval_duplicate", "time interval '" + ti.name + "' is not unique",
                     at + ".name"});
    }
    for (std::size_t j = 0; j < ti.ranges.size(); ++j) {
      if (auto ok = validate(ti.ranges[j]); !ok) {
        prefixed({ok.error()}, at + ".time_intervals[" + std::to_string(j) + "]", out);
      }
    }
  }
  check_route(policy.route, "route", receivers, intervals, out);
  if (auto tree = Route::build(policy.route); !tree) out.push_back(tree.error());
  if (auto inhibitor = Inhibitor::create(policy.inhibit_rules); !inhibitor) {
    out.push_back(inhibitor.error());
  }
  json global = policy.global;
  prefixed(normalize_global(global), "global", out);
  return out;
}

core::Result<void> validate(const Policy& policy) {
  auto problems = check(policy);
  if (!problems.empty()) return std::unexpected(std::move(problems.front()));
  return {};
}

Policy default_policy() {
  Policy p;
  p.route.receiver = "default";
  p.route.group_by = std::vector<std::string>{"alertname", "category", "component"};
  p.receivers = {Receiver{.name = "default"}};
  return p;
}

core::Result<core::Duration> parse_alertmanager_duration(std::string_view text) {
  const auto bad = [text] {
    return core::fail("invalid_duration",
                      "not a valid duration string: '" + std::string(text) +
                          "' (units y, w, d, h, m, s, ms, in that order, e.g. 1h30m)");
  };
  if (text.empty()) return core::fail("invalid_duration", "empty duration string");
  if (text == "0") return core::Duration::zero();
  using std::chrono::milliseconds;
  struct Unit {
    std::string_view name;
    std::int64_t ms;
  };
  constexpr std::array<Unit, 7> kUnits = {{{"y", 365LL * 86'400'000},
                                           {"w", 7LL * 86'400'000},
                                           {"d", 86'400'000},
                                           {"h", 3'600'000},
                                           {"m", 60'000},
                                           {"s", 1'000},
                                           {"ms", 1}}};
  std::size_t next_unit = 0;  // units must come in kUnits' order, each at most once
  std::size_t pos = 0;
  std::int64_t total = 0;
  while (pos < text.size()) {
    const std::size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    if (pos == start) return bad();
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data() + start, text.data() + pos, n);
    if (ec != std::errc() || end != text.data() + pos) return bad();
    const std::size_t ustart = pos;
    while (pos < text.size() && text[pos] >= 'a' && text[pos] <= 'z') ++pos;
    const std::string_view unit = text.substr(ustart, pos - ustart);
    std::size_t u = next_unit;
    while (u < kUnits.size() && kUnits[u].name != unit) ++u;
    if (u == kUnits.size()) return bad();
    next_unit = u + 1;
    // Nanoseconds in an int64 last 292 years.
    constexpr std::int64_t kMaxMs = std::numeric_limits<std::int64_t>::max() / 1'000'000;
    if (n > (kMaxMs - total) / kUnits[u].ms) {
      return core::fail("invalid_duration", "duration '" + std::string(text) + "' is too long");
    }
    total += n * kUnits[u].ms;
  }
  return std::chrono::duration_cast<core::Duration>(milliseconds(total));
}

}  // namespace opsready::alerting
