#pragma once
// PostgresServerProcess: a throwaway PostgreSQL server on a loopback port, for the tests of the
// PostgreSQL store. Its cluster lives in a fresh directory under /tmp (initdb on the first
// start, trust authentication, user `opsready`), and the server runs in the foreground as our
// child (not pg_ctl), so its pid is ours to signal. The port is chosen once (free at
// construction) and kept across restarts, as is the data, so stop() + start() is a server
// restart.
//
//   PostgresServerProcess server;              // /tmp/opsready-pg-XXXXXX: data/, postgres.log
//   std::string error;
//   ASSERT_TRUE(server.start(&error)) << error;
//   ASSERT_TRUE(server.create_database("t_1", &error)) << error;
//   open_postgres_store({.dsn = server.dsn("t_1")}) ...
//   server.stop();                             // SIGINT (fast shutdown), SIGKILL after 10 s
//
//   // Most tests share one server per test binary (started at the first call; a start that
//   // fails fails every test that asks for it, with the server's log):
//   auto& pg = opsready::testing::shared_postgres();
//
// The binaries come from $PG_BINDIR, else `pg_config --bindir`, else the newest
// /usr/lib/postgresql/*/bin (Debian's `postgresql` package); available() is false when there
// are none. initdb and postgres refuse to run as root: under root the directory is given to the
// `postgres` system user (else `nobody`), and both run as that user. That is also why the
// directory is under /tmp and not the test's own temporary directory, which may be in root's
// home where that user cannot enter.
//
// The children get PR_SET_PDEATHSIG(SIGKILL), so the server dies with the test even if the test
// crashes; the destructor stops it otherwise and removes the directory. Caveat: the signal
// fires when the *thread* that called start() exits, so call start() from a thread that
// outlives the server (the test's main thread). Header-only; needs libpq
// (PostgreSQL::PostgreSQL). Not thread-safe: one owner at a time.

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>  // mkdtemp
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/loopback_port.h"

namespace opsready::testing {

namespace postgres_detail {

inline bool has_server_binaries(const std::filesystem::path& dir) {
  return ::access((dir / "initdb").c_str(), X_OK) == 0 &&
         ::access((dir / "postgres").c_str(), X_OK) == 0;
}

// The first line `command` prints, without its line end ("" when it fails or prints nothing).
inline std::string first_line_of(const char* command) {
  FILE* pipe = ::popen(command, "r");
  if (pipe == nullptr) return {};
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe) != nullptr) {
    out += buf;
    if (!out.empty() && out.back() == '\n') break;
  }
  ::pclose(pipe);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ')) {
    out.pop_back();
  }
  return out;
}

// "15" -> {15}, "9.6" -> {9, 6}; directories that are not versions compare lowest.
inline std::vector<int> version_of(const std::string& name) {
  std::vector<int> parts;
  std::size_t i = 0;
  while (i < name.size()) {
    std::size_t end = i;
    while (end < name.size() && name[end] >= '0' && name[end] <= '9') ++end;
    if (end == i) return {};
    parts.push_back(std::stoi(name.substr(i, end - i)));
    if (end < name.size() && name[end] != '.') return {};
    i = end + 1;
  }
  return parts;
}

}  // namespace postgres_detail

// The directory holding initdb and postgres, or "" when there is none. $PG_BINDIR is taken as
// given (a wrong one then fails at start, naming it, rather than quietly using another build).
inline std::string find_postgres_bindir() {
  using postgres_detail::has_server_binaries;
  if (const char* env = std::getenv("PG_BINDIR"); env != nullptr && *env != '\0') return env;
  // Debian's libpq-dev ships a pg_config that may name a server version not installed, hence
  // the check for the binaries.
  if (const std::string dir = postgres_detail::first_line_of("pg_config --bindir 2>/dev/null");
      !dir.empty() && has_server_binaries(dir)) {
    return dir;
  }
  std::filesystem::path best;
  std::vector<int> best_version;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    const auto version = postgres_detail::version_of(entry.path().filename().string());
    if (version.empty() || !has_server_binaries(entry.path() / "bin")) continue;
    if (best.empty() || version > best_version) {
      best = entry.path() / "bin";
      best_version = version;
    }
  }
  return best.string();
}

class PostgresServerProcess {
 public:
  explicit PostgresServerProcess(int port = 0)
      : port_(port != 0 ? port : free_loopback_port()), bindir_(find_postgres_bindir()) {}
  ~PostgresServerProcess() {
    stop();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }
  PostgresServerProcess(const PostgresServerProcess&) = delete;
  PostgresServerProcess& operator=(const PostgresServerProcess&) = delete;

  [[nodiscard]] bool available() const { return !bindir_.empty(); }
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] bool running() const { return pid_ > 0; }
  [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }
  [[nodiscard]] std::filesystem::path log_path() const { return dir_ / "postgres.log"; }

  // A libpq connection string for `dbname` as the cluster's superuser.
  [[nodiscard]] std::string dsn(const std::string& dbname) const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=opsready dbname=" + dbname +
           " connect_timeout=5";
  }

  // Creates the cluster on the first call, then starts the server and waits (up to `timeout`)
  // until it accepts connections. True at once when it runs already.
  bool start(std::string* error,
             std::chrono::milliseconds timeout = std::chrono::milliseconds(30000)) {
    if (pid_ > 0) return true;
    if (bindir_.empty()) {
      return fail(error,
                  "PostgreSQL server binaries not found (set PG_BINDIR, or apt-get install "
                  "postgresql)");
    }
    if (!postgres_detail::has_server_binaries(bindir_)) {
      return fail(error, "no initdb and postgres in " + bindir_);
    }
    if (port_ == 0) return fail(error, "no free loopback port");
    if (!initialized_ && !init(error)) return false;
    const std::vector<std::string> args = {(std::filesystem::path(bindir_) / "postgres").string(),
                                           "-D",
                                           (dir_ / "data").string(),
                                           "-p",
                                           std::to_string(port_),
                                           "-k",
                                           dir_.string(),
                                           "-c",
                                           "listen_addresses=127.0.0.1",
                                           "-c",
                                           "fsync=off",
                                           "-c",
                                           "synchronous_commit=off",
                                           "-c",
                                           "full_page_writes=off",
                                           "-c",
                                           "max_connections=200"};
    const pid_t pid = spawn(args);
    if (pid < 0) return fail(error, "fork failed");
    pid_ = pid;
    const std::string conninfo = dsn("postgres");
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return fail(error, "postgres exited at start; log:\n" + log_tail());
      }
      if (PQping(conninfo.c_str()) == PQPING_OK) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    stop();
    return fail(error,
                "postgres did not accept connections within the timeout; log:\n" + log_tail());
  }

  // SIGINT (fast shutdown: sessions are ended, clients see their connection close), SIGKILL
  // after `grace`. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(10000)) {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGINT);
    const auto deadline = std::chrono::steady_clock::now() + grace;
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid_ = -1;
  }

  // SIGKILL, as a crash would. The backends notice the postmaster's death and exit on their
  // own shortly after.
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  // CREATE DATABASE "<name>" (through the `postgres` database).
  bool create_database(const std::string& name, std::string* error) const {
    std::string quoted = "\"";
    for (const char c : name) {
      if (c == '"') quoted += '"';
      quoted += c;
    }
    quoted += '"';
    PGconn* conn = PQconnectdb(dsn("postgres").c_str());
    if (conn == nullptr) return fail(error, "cannot allocate a libpq connection");
    if (PQstatus(conn) != CONNECTION_OK) {
      std::string message = PQerrorMessage(conn);
      PQfinish(conn);
      return fail(error, "cannot connect to create database " + name + ": " + message);
    }
    PGresult* result = PQexec(conn, ("CREATE DATABASE " + quoted).c_str());
    const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
    std::string message = ok ? "" : PQerrorMessage(conn);
    PQclear(result);
    PQfinish(conn);
    if (!ok) return fail(error, "CREATE DATABASE " + quoted + " failed: " + message);
    return true;
  }

  [[nodiscard]] std::string log_tail(std::size_t max = 4000) const {
    std::ifstream in(log_path());
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return all.size() > max ? all.substr(all.size() - max) : all;
  }

 private:
  static bool fail(std::string* error, std::string message) {
    if (error != nullptr) *error = std::move(message);
    return false;
  }

  // The directory, the user the server runs as (root only), and the cluster.
  bool init(std::string* error) {
    if (dir_.empty()) {
      std::string tmpl = "/tmp/opsready-pg-XXXXXX";
      if (::mkdtemp(tmpl.data()) == nullptr) return fail(error, "mkdtemp " + tmpl + " failed");
      dir_ = tmpl;
    }
    if (::geteuid() == 0) {
      const passwd* user = ::getpwnam("postgres");
      if (user == nullptr) user = ::getpwnam("nobody");
      if (user == nullptr) return fail(error, "running as root, and no postgres or nobody user");
      uid_ = user->pw_uid;
      gid_ = user->pw_gid;
      if (!chown_tree(dir_)) return fail(error, "cannot chown " + dir_.string());
    }
    const std::vector<std::string> args = {(std::filesystem::path(bindir_) / "initdb").string(),
                                           "-D",
                                           (dir_ / "data").string(),
                                           "-A",
                                           "trust",
                                           "-U",
                                           "opsready",
                                           "-E",
                                           "UTF8",
                                           "--locale=C.UTF-8",
                                           "--no-sync"};
    const pid_t pid = spawn(args);
    if (pid < 0) return fail(error, "fork failed");
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      const std::string how = WIFEXITED(status) ? "exit code " + std::to_string(WEXITSTATUS(status))
                                                : "signal " + std::to_string(WTERMSIG(status));
      return fail(error, "initdb failed (" + how + "); log:\n" + log_tail());
    }
    initialized_ = true;
    return true;
  }

  bool chown_tree(const std::filesystem::path& root) const {
    if (::chown(root.c_str(), uid_, gid_) != 0) return false;
    std::error_code ec;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root, ec)) {
      if (::lchown(entry.path().c_str(), uid_, gid_) != 0) return false;
    }
    return !ec;
  }

  // Forks and execs `args` with stdout and stderr appended to the log, as the server's user
  // when we are root. -1 when fork fails.
  pid_t spawn(const std::vector<std::string>& args) const {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const std::string log = log_path().string();
    const bool drop = ::geteuid() == 0;
    const uid_t uid = uid_;
    const gid_t gid = gid_;
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid != 0) return pid;
    // The child: async-signal-safe calls only.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (out >= 0) {
      ::dup2(out, 1);
      ::dup2(out, 2);
    }
    if (drop && (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0)) {
      ::_exit(126);
    }
    // Dropping privileges clears the death signal: set it again for the server's user.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }

  int port_ = 0;
  std::string bindir_;
  std::filesystem::path dir_;  // empty until the first start
  bool initialized_ = false;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  pid_t pid_ = -1;
};

// The test binary's one shared server, started at the first call (from the main thread: see
// PR_SET_PDEATHSIG above) and stopped at exit. CI has PostgreSQL installed, so a server that
// does not start fails each test that asks for it, with the reason, rather than skipping it.
inline PostgresServerProcess& shared_postgres() {
  static PostgresServerProcess server;
  static std::string error;
  static const bool started = server.start(&error);
  if (!started) ADD_FAILURE() << "the shared PostgreSQL server did not start: " << error;
  return server;
}

}  // namespace opsready::testing
