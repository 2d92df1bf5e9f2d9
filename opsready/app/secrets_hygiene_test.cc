#include "opsready/app/secrets_hygiene.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "opsready/app/config.h"
#include "opsready/core/time.h"
#include "tests/support/temp_dir.h"

namespace opsready::app {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

const core::TimePoint kNow = core::parse_rfc3339("2026-06-01T00:00:00Z").value();

void write(const fs::path& p, const std::string& text, fs::perms mode = fs::perms(0600)) {
  std::ofstream(p) << text;
  fs::permissions(p, mode);
}

// A self-signed certificate and its key, made with OpenSSL, valid until `not_after`.
struct Credential {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{nullptr, EVP_PKEY_free};
  std::unique_ptr<X509, decltype(&X509_free)> cert{nullptr, X509_free};

  [[nodiscard]] std::string pem() const {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, cert.get());
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return out;
  }
};

Credential make_certificate(const char* common_name, core::TimePoint not_after) {
  const auto unix = [](core::TimePoint t) {
    return static_cast<time_t>(
        std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count());
  };
  Credential c;
  c.key.reset(EVP_EC_gen("P-256"));
  c.cert.reset(X509_new());
  X509* x = c.cert.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  ASN1_TIME_set(X509_getm_notBefore(x), unix(not_after - std::chrono::days(365)));
  ASN1_TIME_set(X509_getm_notAfter(x), unix(not_after));
  X509_set_pubkey(x, c.key.get());
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_sign(x, c.key.get(), EVP_sha256());
  return c;
}

std::vector<std::string> describe_all(const std::vector<HygieneFinding>& findings) {
  std::vector<std::string> out;
  for (const auto& f : findings) out.push_back(f.kind + " " + f.where.describe());
  return out;
}

std::vector<HygieneFinding> check(const fs::path& file, HygieneOptions options = {.now = kNow}) {
  auto cfg = load_config_file(file);
  EXPECT_TRUE(cfg) << (cfg ? "" : cfg.error().front().describe());
  if (!cfg) return {};
  return check_secrets_hygiene(*cfg, file, options);
}

// Each kind of inline secret, named by its key with file:line; the values never appear.
TEST(SecretsHygiene, InlineSecretsAreNamedNeverShown) {
  opsready::testing::TempDir dir{"opsready-hygiene"};
  const fs::path file = dir.path() / "opsready.yml";
  write(dir.path() / "sig.txt", "s3cret\n");
  write(file,
        "alerting:\n"                                                     // 1
        "  global:\n"                                                     // 2
        "    smtp_auth_password: hunter2\n"                               // 3
        "    slack_api_url: https://hooks.example/services/T0/B0/XXXX\n"  // 4
        "  route: {receiver: desk}\n"                                     // 5
        "  receivers:\n"                                                  // 6
        "    - name: desk\n"                                              // 7
        "      webhook_configs:\n"                                        // 8
        "        - url: https://hook.example/x?token=abc123\n"            // 9
        "          http_config:\n"                                        // 10
        "            basic_auth: {username: u, password: pw-secret}\n"    // 11
        "          headers:\n"                                            // 12
        "            X-Api-Key: hdr-secret\n"                             // 13
        "            X-Team: desk\n"                                      // 14
        "        - url: https://user:url-secret@hook.example/y\n"         // 15
        "        - url: https://hook.example/clean?team=desk\n"           // 16
        "          signature_secret_file: sig.txt\n"                      // 17
        "      github_configs:\n"                                         // 18
        "        - repository: desk/ops\n"                                // 19
        "          token: gh-secret\n");                                  // 20
  const std::string f = file.string();
  const std::string w = "alerting.receivers[0].webhook_configs";
  const std::string creds =
      " in its URL: give credentials with http_config (basic_auth.password_file, "
      "authorization.credentials_file)";
  const auto got = describe_all(check(file));
  EXPECT_EQ(
      got,
      (std::vector<std::string>{
          "inline_secret " + f +
              ":3: alerting.global.smtp_auth_password holds a secret inline: put it in a "
              "file named by smtp_auth_password_file (mode 0600)",
          "inline_secret " + f +
              ":4: alerting.global.slack_api_url is a secret URL given inline: put it in a "
              "file named by slack_api_url_file (mode 0600)",
          "inline_secret " + f + ":11: " + w +
              "[0].http_config.basic_auth.password holds a secret inline: put it in a file "
              "named by password_file (mode 0600)",
          "inline_secret " + f + ":9: " + w + "[0].url carries the query parameter 'token'" + creds,
          "inline_secret " + f + ":13: " + w +
              "[0].headers.X-Api-Key holds a credential inline (a header has no *_file "
              "form: use http_config.authorization with credentials_file, or keep " +
              f + " readable by its owner only)",
          "inline_secret " + f + ":15: " + w +
              "[1].url carries a user name and password (user:password@)" + creds,
          "inline_secret " + f +
              ":20: alerting.receivers[0].github_configs[0].token holds a secret inline: put "
              "it in a file named by token_file (mode 0600)",
      }));
  for (const auto& line : got) {
    for (const char* secret :
         {"hunter2", "XXXX", "abc123", "pw-secret", "hdr-secret", "url-secret", "gh-secret"}) {
      EXPECT_EQ(line.find(secret), std::string::npos) << line;
    }
  }
}

// A file holding inline secrets that others may read is one more finding; 0640 is not.
TEST(SecretsHygiene, ConfigFileWithInlineSecretsReadableByOthers) {
  opsready::testing::TempDir dir{"opsready-hygiene"};
  const fs::path file = dir.path() / "opsready.yml";
  const std::string yaml =
      "alerting:\n  global: {smtp_auth_password: hunter2}\n  route: {receiver: desk}\n"
      "  receivers: [{name: desk}]\n";
  write(file, yaml, fs::perms(0644));
  auto got = check(file);
  ASSERT_EQ(got.size(), 2u) << ::testing::PrintToString(describe_all(got));
  EXPECT_EQ(got[1].kind, "config_file_readable");
  EXPECT_EQ(got[1].where.describe(),
            file.string() +
                ": holds 1 inline secret(s) and is readable by others (mode 0644): chmod o-r it, "
                "or move the secrets to *_file files");
  fs::permissions(file, fs::perms(0640));
  got = check(file);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, "inline_secret");
  // Without inline secrets, a readable file is no finding.
  write(file, "alerting:\n  route: {receiver: desk}\n  receivers: [{name: desk}]\n",
        fs::perms(0644));
  EXPECT_TRUE(check(file).empty());
}

// Secret files: open to group or others, or missing; in the Alertmanager file the paths are
// from its top and the file is its own.
TEST(SecretsHygiene, SecretFilesOpenOrMissing) {
  opsready::testing::TempDir dir{"opsready-hygiene"};
  const fs::path file = dir.path() / "opsready.yml";
  const fs::path am = dir.path() / "am.yml";
  write(dir.path() / "tokens.txt", "tok-a\n", fs::perms(0640));
  write(dir.path() / "slack.url", "https://hooks.example/services/T/B/X\n", fs::perms(0644));
  write(dir.path() / "ok.pass", "p\n", fs::perms(0400));
  write(file,
        "ingest:\n"
        "  auth:\n"
        "    tokens_file: tokens.txt\n"
        "alerting:\n"
        "  config_file: am.yml\n");
  write(am,
        "global:\n"
        "  smtp_auth_password_file: smtp.pass\n"
        "route: {receiver: desk}\n"
        "receivers:\n"
        "  - name: desk\n"
        "    slack_configs:\n"
        "      - api_url_file: slack.url\n"
        "        channel: '#ops'\n"
        "        http_config:\n"
        "          basic_auth: {username: u, password_file: ok.pass}\n");
  const std::string d = dir.path().string();
  EXPECT_EQ(
      describe_all(check(file)),
      (std::vector<std::string>{
          "secret_file_mode " + file.string() + ":3: ingest.auth.tokens_file: names '" + d +
              "/tokens.txt', which is open to group or others (mode 0640): chmod 600 it",
          "secret_file_missing " + am.string() + ":2: global.smtp_auth_password_file: names '" + d +
              "/smtp.pass', which cannot be read: No such file or directory",
          "secret_file_mode " + am.string() +
              ":7: receivers[0].slack_configs[0].api_url_file: names '" + d +
              "/slack.url', which is open to group or others (mode 0644): chmod 600 it",
      }));
}

// Certificates of tls_config: expiring (a CA bundle's second one), expired, not PEM; the
// private key is a secret file. --cert-warn-days moves the line.
// store.postgres: a password inline in the DSN is an inline secret; the DSN file is a secret
// file (its mode is checked); a DSN without a password is fine.
TEST(SecretsHygiene, PostgresDsnInlineOrInAnOpenFile) {
  opsready::testing::TempDir dir{"opsready-hygiene"};
  const fs::path file = dir.path() / "opsready.yml";
  write(file,
        "store:\n"
        "  postgres:\n"
        "    dsn: 'host=db1 dbname=opsready user=opsready password=pw-123'\n");
  const auto inline_findings = describe_all(check(file));
  ASSERT_EQ(inline_findings.size(), 1u);
  EXPECT_EQ(inline_findings[0],
            "inline_secret " + file.string() +
                ":3: store.postgres.dsn names a password inline: put the DSN in a file named by "
                "store.postgres.dsn_file (mode 0600), or use libpq's PGPASSFILE");
  EXPECT_EQ(inline_findings[0].find("pw-123"), std::string::npos);

  write(file, "store:\n  postgres:\n    dsn: 'host=db1 dbname=opsready user=opsready'\n");
  EXPECT_TRUE(check(file).empty());

  write(dir.path() / "pg.dsn", "host=db1 password=pw-123\n", fs::perms(0644));
  write(file, "store:\n  postgres:\n    dsn_file: pg.dsn\n");
  EXPECT_EQ(describe_all(check(file)),
            (std::vector<std::string>{"secret_file_mode " + file.string() +
                                      ":3: store.postgres.dsn_file: names '" + dir.path().string() +
                                      "/pg.dsn', which is open to group or others (mode 0644): "
                                      "chmod 600 it"}));
}

TEST(SecretsHygiene, CertificatesExpiringExpiredOrUnreadable) {
  opsready::testing::TempDir dir{"opsready-hygiene"};
  const fs::path file = dir.path() / "opsready.yml";
  write(dir.path() / "ca.pem", make_certificate("fine", kNow + std::chrono::days(90)).pem() +
                                   make_certificate("soon", kNow + std::chrono::days(10)).pem());
  write(dir.path() / "client.pem", make_certificate("old", kNow - std::chrono::days(1)).pem());
  write(dir.path() / "client.key", "key\n");
  write(dir.path() / "junk.pem", "not a certificate\n");
  write(file,
        "alerting:\n"                                      // 1
        "  route: {receiver: desk}\n"                      // 2
        "  receivers:\n"                                   // 3
        "    - name: desk\n"                               // 4
        "      webhook_configs:\n"                         // 5
        "        - url: https://hook.example/a\n"          // 6
        "          http_config:\n"                         // 7
        "            tls_config:\n"                        // 8
        "              ca_file: ca.pem\n"                  // 9
        "              cert_file: client.pem\n"            // 10
        "              key_file: client.key\n"             // 11
        "        - url: https://hook.example/b\n"          // 12
        "          http_config:\n"                         // 13
        "            tls_config: {ca_file: junk.pem}\n");  // 14
  const std::string f = file.string();
  const std::string d = dir.path().string();
  const std::string tls = "alerting.receivers[0].webhook_configs";
  const std::string expiring = "cert_expiring " + f + ":9: " + tls +
                               "[0].http_config.tls_config.ca_file: certificate "
                               "'CN=soon' in '" +
                               d +
                               "/ca.pem' expires on 2026-06-11T00:00:00Z, in 10 day(s) (warned "
                               "from 30)";
  const std::string expired = "cert_expired " + f + ":10: " + tls +
                              "[0].http_config.tls_config.cert_file: certificate 'CN=old' in '" +
                              d + "/client.pem' expired on 2026-05-31T00:00:00Z";
  const std::string junk = "cert_unreadable " + f + ":14: " + tls +
                           "[1].http_config.tls_config.ca_file: names '" + d +
                           "/junk.pem': it holds no PEM certificate";
  EXPECT_EQ(describe_all(check(file)), (std::vector<std::string>{expiring, expired, junk}));
  EXPECT_EQ(describe_all(check(file, {.now = kNow, .cert_warn_days = 10})),
            (std::vector<std::string>{expired, junk}));
  fs::remove(dir.path() / "client.pem");
  const auto got = check(file, {.now = kNow, .cert_warn_days = 10});
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].kind, "secret_file_missing");
}

// A TLS server on loopback presenting a certificate that expires in 3 days: one handshake.
class TlsServer {
 public:
  explicit TlsServer(const Credential& c) : credential_(c) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || listen(fd_, 4) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "cannot listen on 127.0.0.1";
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~TlsServer() {
    thread_.join();
    close(fd_);
  }
  [[nodiscard]] int port() const { return port_; }

 private:
  void serve() {
    // The probe closes after its handshake; TLS 1.3 session tickets written after that raise
    // SIGPIPE, which stays pending in this thread.
    sigset_t pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, nullptr);
    pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
    if (poll(&p, 1, 10000) != 1) return;  // the probe never came: the test fails on its own
    const int conn = accept(fd_, nullptr, nullptr);
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(ctx, credential_.cert.get());
    SSL_CTX_use_PrivateKey(ctx, credential_.key.get());
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, conn);
    SSL_accept(ssl);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(conn);
  }

  const Credential& credential_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

TEST(SecretsHygiene, ProbeReadsTheCertificateAReceiverPresents) {
  opsready::testing::TempDir dir{"opsready-hygiene"};
  const auto now = core::SystemClock::instance().now();
  const auto not_after =
      std::chrono::floor<std::chrono::seconds>(now + std::chrono::days(3) + std::chrono::hours(12));
  const Credential credential = make_certificate("127.0.0.1", not_after);
  // A port nothing listens on: bound, then closed.
  int closed_port = 0;
  {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
    ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    closed_port = ntohs(addr.sin_port);
    close(fd);
  }
  const fs::path file = dir.path() / "opsready.yml";
  std::vector<HygieneFinding> without, with;
  int port = 0;
  {
    TlsServer server(credential);
    port = server.port();
    write(file,
          "alerting:\n  route: {receiver: desk}\n  receivers:\n    - name: desk\n"
          "      webhook_configs:\n"
          "        - url: https://127.0.0.1:" +
              std::to_string(port) +
              "/hook\n"
              "        - url: https://127.0.0.1:" +
              std::to_string(closed_port) + "/hook\n");
    without = check(file, {.now = now});
    with = check(file, {.now = now, .probe = true});
    // The server's destructor waits for the probe's handshake.
  }
  EXPECT_TRUE(without.empty()) << ::testing::PrintToString(describe_all(without));
  ASSERT_EQ(with.size(), 2u) << ::testing::PrintToString(describe_all(with));
  EXPECT_EQ(with[0].kind, "cert_expiring");
  const std::string origin = "https://127.0.0.1:" + std::to_string(port);
  EXPECT_EQ(with[0].where.describe(),
            file.string() + ":6: alerting.receivers[0].webhook_configs[0].url: the certificate " +
                origin + " presents ('CN=127.0.0.1') expires on " +
                core::format_rfc3339(not_after) + ", in 3 day(s) (warned from 30)");
  EXPECT_EQ(with[1].kind, "probe_failed");
  EXPECT_EQ(with[1].where.describe(),
            file.string() +
                ":7: alerting.receivers[0].webhook_configs[1].url: cannot read the "
                "certificate of https://127.0.0.1:" +
                std::to_string(closed_port) + ": cannot connect: Connection refused");
}

}  // namespace
}  // namespace opsready::app
