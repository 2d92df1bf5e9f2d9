#include "opsready/app/secrets_hygiene.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <expected>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <yaml-cpp/yaml.h>

#include "opsready/alerting/policy.h"
#include "opsready/core/text.h"
#include "opsready/core/time.h"

namespace opsready::app {
namespace {

namespace chr = std::chrono;
using alerting::SecretSetting;
using K = SecretSetting::Kind;

// ---- Where a key is ----

int line_of(const YAML::Node& n) {
  return n.IsDefined() && n.Mark().line >= 0 ? n.Mark().line + 1 : 0;
}

// The node a field ("receivers[1].webhook_configs[0].url") names below `node`: the deepest one
// that exists, so that a key the normalizer added is reported at its mapping.
YAML::Node node_at(const YAML::Node& node, std::string_view field) {
  if (field.empty() || !node.IsDefined()) return node;
  if (field.front() == '.') field.remove_prefix(1);
  if (field.front() == '[') {
    const auto close = field.find(']');
    std::size_t index = 0;
    if (close == std::string_view::npos) return node;
    const auto [end, ec] = std::from_chars(field.data() + 1, field.data() + close, index);
    if (ec != std::errc() || !node.IsSequence() || index >= node.size()) return node;
    return node_at(node[index], field.substr(close + 1));
  }
  const auto stop = std::min(field.find('.'), field.find('['));
  if (!node.IsMap()) return node;
  const YAML::Node child = node[std::string(field.substr(0, stop))];
  if (!child.IsDefined()) return node;
  return node_at(child, stop == std::string_view::npos ? "" : field.substr(stop));
}

std::string at_path(const std::string& prefix, const std::string& field) {
  if (prefix.empty()) return field;
  return field.front() == '[' ? prefix + field : prefix + "." + field;
}

std::optional<YAML::Node> load_yaml(const std::string& file) {
  try {
    return YAML::LoadFile(file);
  } catch (const YAML::Exception&) {
    return std::nullopt;  // loaded once already; without it, findings have no line
  }
}

std::string octal_mode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// ---- URLs ----

struct Url {
  std::string scheme;
  std::string host;  // without IPv6 brackets
  std::string port;  // the scheme's default when not given
  bool userinfo = false;
  std::vector<std::string> query_names;

  [[nodiscard]] std::string origin() const {
    const bool v6 = host.find(':') != std::string::npos;
    return scheme + "://" + (v6 ? "[" + host + "]" : host) + ":" + port;
  }
};

std::optional<Url> parse_url(std::string_view text) {
  const auto colon = text.find("://");
  if (colon == std::string_view::npos) return std::nullopt;
  Url u;
  u.scheme = std::string(text.substr(0, colon));
  std::transform(u.scheme.begin(), u.scheme.end(), u.scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string_view rest = text.substr(colon + 3);
  const auto authority_end = std::min(rest.find_first_of("/?#"), rest.size());
  std::string_view authority = rest.substr(0, authority_end);
  rest.remove_prefix(authority_end);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    u.userinfo = true;
    authority.remove_prefix(at + 1);
  }
  std::string_view port;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    u.host = std::string(authority.substr(1, close - 1));
    if (authority.size() > close + 1 && authority[close + 1] == ':') {
      port = authority.substr(close + 2);
    }
  } else if (const auto c = authority.rfind(':'); c != std::string_view::npos) {
    u.host = std::string(authority.substr(0, c));
    port = authority.substr(c + 1);
  } else {
    u.host = std::string(authority);
  }
  u.port = port.empty() ? (u.scheme == "https" ? "443" : "80") : std::string(port);
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    std::string_view query = rest.substr(q + 1);
    query = query.substr(0, std::min(query.find('#'), query.size()));
    for (std::size_t pos = 0; pos <= query.size();) {
      const auto amp = std::min(query.find('&', pos), query.size());
      const std::string_view pair = query.substr(pos, amp - pos);
      pos = amp + 1;
      if (!pair.empty()) u.query_names.emplace_back(pair.substr(0, pair.find('=')));
    }
  }
  return u;
}

// What in `url` is a credential, as a phrase naming it but not its value; empty: nothing.
std::string url_credential(const Url& u) {
  if (u.userinfo) return "a user name and password (user:password@)";
  for (const auto& name : u.query_names) {
    std::string n = name;
    std::transform(n.begin(), n.end(), n.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const bool named = n == "sig" || n == "signature" || n == "auth" || n == "code" ||
                       n.find("token") != std::string::npos ||
                       n.find("secret") != std::string::npos ||
                       n.find("key") != std::string::npos || n.find("pass") != std::string::npos;
    if (named) return "the query parameter '" + name + "'";
  }
  return {};
}

// ---- Certificates ----

struct Certificate {
  std::string subject;
  core::TimePoint not_after{};
};

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

std::optional<Certificate> describe(X509* x) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1) return std::nullopt;
  const chr::sys_days day{chr::year{tm.tm_year + 1900} /
                          chr::month{static_cast<unsigned>(tm.tm_mon + 1)} /
                          chr::day{static_cast<unsigned>(tm.tm_mday)}};
  Certificate c{.not_after = core::TimePoint(day) + chr::hours(tm.tm_hour) +
                             chr::minutes(tm.tm_min) + chr::seconds(tm.tm_sec)};
  BIO* bio = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(bio, X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  c.subject.assign(data, static_cast<std::size_t>(std::max(n, 0L)));
  BIO_free(bio);
  return c;
}

// Every certificate of a PEM file (a CA bundle has several).
std::expected<std::vector<Certificate>, std::string> read_certificates(const std::string& path) {
  BIO* bio = BIO_new_file(path.c_str(), "r");
  if (bio == nullptr) return std::unexpected(std::string(std::strerror(errno)));
  std::vector<Certificate> out;
  for (;;) {
    X509Ptr x(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
    if (!x) break;
    if (auto c = describe(x.get())) out.push_back(std::move(*c));
  }
  ERR_clear_error();  // the end of the file reads as an error
  BIO_free(bio);
  if (out.empty()) return std::unexpected(std::string("it holds no PEM certificate"));
  return out;
}

// The certificate `host:port` presents in a TLS handshake; nothing is sent after it.
std::expected<Certificate, std::string> probe_certificate(const Url& u, core::Duration timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = getaddrinfo(u.host.c_str(), u.port.c_str(), &hints, &found); rc != 0) {
    return std::unexpected(std::string("cannot resolve: ") + gai_strerror(rc));
  }
  const int timeout_ms = static_cast<int>(
      std::max<long long>(1, chr::duration_cast<chr::milliseconds>(timeout).count()));
  int fd = -1;
  std::string error = "no address";
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      error = std::strerror(errno);
      continue;
    }
    int err = 0;
    if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        pollfd p{.fd = fd, .events = POLLOUT, .revents = 0};
        const int ready = poll(&p, 1, timeout_ms);
        if (ready == 1) {
          socklen_t len = sizeof err;
          err = 0;
          getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        } else {
          err = ready == 0 ? ETIMEDOUT : errno;
        }
      }
    }
    if (err != 0) {
      error = std::strerror(err);
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0) return std::unexpected("cannot connect: " + error);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  timeval tv{.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  // A peer that closes during the handshake must fail the probe, not kill check-config: SIGPIPE
  // is blocked in this thread meanwhile, and one it raised is taken before it is unblocked.
  sigset_t pipe_only;
  sigset_t old_mask;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, &old_mask);
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = ctx ? SSL_new(ctx) : nullptr;
  std::expected<Certificate, std::string> out = std::unexpected(std::string("TLS setup failed"));
  if (ssl != nullptr) {
    // Not verified: the expiry is what is asked, and a chain a probe cannot verify (a private
    // CA given to delivery by ca_file) still has one.
    SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
    in6_addr ip{};
    if (inet_pton(AF_INET, u.host.c_str(), &ip) != 1 &&
        inet_pton(AF_INET6, u.host.c_str(), &ip) != 1) {
      SSL_set_tlsext_host_name(ssl, u.host.c_str());
    }
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1) {
      char buf[256];
      const unsigned long e = ERR_get_error();
      if (e != 0) {
        ERR_error_string_n(e, buf, sizeof buf);
      } else {
        std::snprintf(buf, sizeof buf, "%s", errno != 0 ? std::strerror(errno) : "closed");
      }
      out = std::unexpected("TLS handshake failed: " + std::string(buf));
    } else if (X509Ptr peer{SSL_get1_peer_certificate(ssl)}; !peer) {
      out = std::unexpected(std::string("no certificate presented"));
    } else if (auto c = describe(peer.get())) {
      out = std::move(*c);
    } else {
      out = std::unexpected(std::string("its certificate has no readable expiry"));
    }
    SSL_free(ssl);
  }
  if (ctx != nullptr) SSL_CTX_free(ctx);
  ERR_clear_error();
  close(fd);
  const timespec no_wait{};
  while (sigtimedwait(&pipe_only, nullptr, &no_wait) == SIGPIPE) {
  }
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  return out;
}

// ---- The checks ----

// One document the policy's keys are in: the configuration file (under `alerting`) or the
// Alertmanager file alerting.config_file names.
struct Document {
  std::string file;
  std::string prefix;  // of the keys' paths in messages
  YAML::Node root;     // undefined when it cannot be read: findings without a line
};

class Checker {
 public:
  explicit Checker(const HygieneOptions& o) : o_(o) {}

  void setting(const Document& doc, const std::string& field, const SecretSetting& s,
               int fallback_line) {
    const int found = line_of(node_at(doc.root, field));
    const ConfigError where{doc.file, found > 0 ? found : fallback_line,
                            at_path(doc.prefix, field)};
    switch (s.kind) {
      case K::kSecret:
        inline_secret(where, s.file_twin.empty()
                                 ? "holds a secret inline and has no *_file form: keep " +
                                       doc.file + " readable by its owner only"
                                 : "holds a secret inline: put it in a file named by " +
                                       s.file_twin + " (mode 0600)");
        break;
      case K::kHeader:
        inline_secret(where,
                      "holds a credential inline (a header has no *_file form: use "
                      "http_config.authorization with credentials_file, or keep " +
                          doc.file + " readable by its owner only)");
        break;
      case K::kSecretUrl:
      case K::kUrl: {
        const auto url = parse_url(s.value);
        if (s.kind == K::kSecretUrl && !s.file_twin.empty()) {
          inline_secret(where, "is a secret URL given inline: put it in a file named by " +
                                   s.file_twin + " (mode 0600)");
        } else if (url) {
          if (const auto what = url_credential(*url); !what.empty()) {
            inline_secret(where, "carries " + what +
                                     " in its URL: give credentials with http_config "
                                     "(basic_auth.password_file, authorization.credentials_file)");
          }
        }
        if (url && url->scheme == "https" && !field.ends_with("proxy_url")) probe(where, *url);
        break;
      }
      case K::kFile:
        if (field.ends_with("ca_file") || field.ends_with("cert_file")) {
          certificate_file(where, s.value);
        } else if (secret_file(where, s.value) && o_.probe && field.ends_with("url_file")) {
          std::ifstream in(s.value);
          std::string text;
          std::getline(in, text);
          if (const auto url = parse_url(core::trim(text)); url && url->scheme == "https") {
            probe(where, *url);
          }
        }
        break;
    }
  }

  // True when the file exists and could be read.
  bool secret_file(const ConfigError& key, const std::string& path) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0 || access(path.c_str(), R_OK) != 0) {
      add("secret_file_missing", key,
          "names '" + path + "', which cannot be read: " + std::strerror(errno));
      return false;
    }
    if ((st.st_mode & 077) != 0) {
      add("secret_file_mode", key,
          "names '" + path + "', which is open to group or others (mode " + octal_mode(st.st_mode) +
              "): chmod 600 it");
    }
    return true;
  }

  void inline_dsn(const ConfigError& key) {
    inline_secret(key,
                  "names a password inline: put the DSN in a file named by "
                  "store.postgres.dsn_file (mode 0600), or use libpq's PGPASSFILE");
  }

  // Inline secrets counted per file, then the files others may read.
  void readable_files() {
    for (const auto& [file, count] : inline_by_file_) {
      struct stat st {};
      if (stat(file.c_str(), &st) != 0 || (st.st_mode & S_IROTH) == 0) continue;
      out_.push_back(
          {"config_file_readable",
           {file, 0,
            "holds " + std::to_string(count) +
                " inline secret(s) and is readable by others (mode " + octal_mode(st.st_mode) +
                "): chmod o-r it, or move the secrets to *_file files"}});
    }
  }

  std::vector<HygieneFinding> take() { return std::move(out_); }

 private:
  void add(std::string kind, const ConfigError& key, const std::string& what) {
    out_.push_back({std::move(kind), {key.file, key.line, key.message + ": " + what}});
  }

  void inline_secret(const ConfigError& key, const std::string& what) {
    out_.push_back({"inline_secret", {key.file, key.line, key.message + " " + what}});
    ++inline_by_file_[key.file];
  }

  void certificate_file(const ConfigError& key, const std::string& path) {
    auto certs = read_certificates(path);
    if (!certs) {
      struct stat st {};
      add(stat(path.c_str(), &st) != 0 ? "secret_file_missing" : "cert_unreadable", key,
          "names '" + path + "': " + certs.error());
      return;
    }
    for (const auto& c : *certs)
      expiry(key, "certificate '" + c.subject + "' in '" + path + "'", c);
  }

  void probe(const ConfigError& key, const Url& url) {
    if (!o_.probe || !probed_.insert(url.origin()).second) return;
    auto cert = probe_certificate(url, o_.probe_timeout);
    if (!cert) {
      add("probe_failed", key,
          "cannot read the certificate of " + url.origin() + ": " + cert.error());
      return;
    }
    expiry(key, "the certificate " + url.origin() + " presents ('" + cert->subject + "')", *cert);
  }

  void expiry(const ConfigError& key, const std::string& what, const Certificate& c) {
    const std::string date = core::format_rfc3339(c.not_after);
    if (c.not_after <= o_.now) {
      add("cert_expired", key, what + " expired on " + date);
      return;
    }
    const auto days = chr::floor<chr::days>(c.not_after - o_.now).count();
    if (days < o_.cert_warn_days) {
      add("cert_expiring", key,
          what + " expires on " + date + ", in " + std::to_string(days) + " day(s) (warned from " +
              std::to_string(o_.cert_warn_days) + ")");
    }
  }

  const HygieneOptions& o_;
  std::vector<HygieneFinding> out_;
  std::map<std::string, int> inline_by_file_;
  std::set<std::string> probed_;
};

}  // namespace

std::vector<HygieneFinding> check_secrets_hygiene(const Config& config,
                                                  const std::filesystem::path& config_file,
                                                  const HygieneOptions& options) {
  Checker check(options);
  const std::string file = config_file.string();
  const YAML::Node root = load_yaml(file).value_or(YAML::Node());

  // ingest.auth.tokens_file, resolved as the loader resolves it.
  if (root.IsMap() && root["ingest"] && root["ingest"]["auth"] &&
      root["ingest"]["auth"]["tokens_file"]) {
    const YAML::Node n = root["ingest"]["auth"]["tokens_file"];
    std::filesystem::path p = n.IsScalar() ? n.Scalar() : "";
    if (p.is_relative()) p = config_file.parent_path() / p;
    check.secret_file({file, line_of(n), "ingest.auth.tokens_file"}, p.string());
  }

  // store.postgres: a password inline in the DSN, or a DSN file others may read.
  if (root.IsMap() && root["store"] && root["store"]["postgres"]) {
    const YAML::Node pg = root["store"]["postgres"];
    if (config.store.dsn_has_inline_password && pg["dsn"]) {
      check.inline_dsn({file, line_of(pg["dsn"]), "store.postgres.dsn"});
    }
    if (pg["dsn_file"]) {
      const YAML::Node n = pg["dsn_file"];
      std::filesystem::path p = n.IsScalar() ? n.Scalar() : "";
      if (p.is_relative()) p = config_file.parent_path() / p;
      check.secret_file({file, line_of(n), "store.postgres.dsn_file"}, p.string());
    }
  }

  const alerting::Policy& policy = config.alerting;
  if (!policy.source.empty()) {
    Document doc{.file = policy.source, .prefix = "", .root = {}};
    if (policy.source == file) {
      doc.prefix = "alerting";
      if (root.IsMap()) doc.root = root["alerting"];
    } else {
      doc.root = load_yaml(policy.source).value_or(YAML::Node());
    }
    for (const auto& s : alerting::global_secret_settings(policy.global)) {
      check.setting(doc, "global." + s.field, s, 0);
    }
    for (std::size_t i = 0; i < policy.receivers.size(); ++i) {
      std::map<std::string, std::size_t> index;
      for (const auto& integration : policy.receivers[i].integrations) {
        const auto* type = alerting::find_integration_type(integration.type);
        if (type == nullptr) continue;
        const std::string at = "receivers[" + std::to_string(i) + "]." +
                               std::string(type->config_key) + "[" +
                               std::to_string(index[integration.type]++) + "]";
        for (const auto& s : alerting::secret_settings(integration.type, integration.settings)) {
          check.setting(doc, at + "." + s.field, s, integration.line);
        }
      }
    }
  }
  check.readable_files();
  return check.take();
}

}  // namespace opsready::app
