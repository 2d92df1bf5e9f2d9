#pragma once
// NatsServerProcess: a real `nats-server -js` on a loopback port, for the NATS integration
// tests and the bus benchmark. The port is chosen once (free at construction) and kept across
// restarts, as is the JetStream store, so stop() + start() is a server restart.
//
//   NatsServerProcess server(dir);            // dir: store/, nats.log, ports files
//   std::string error;
//   ASSERT_TRUE(server.start(&error)) << error;
//   connect to server.url() ...
//   server.stop();                            // SIGTERM, then SIGKILL after 10 s; idempotent
//
// The child gets PR_SET_PDEATHSIG(SIGKILL), so it dies with the test even if the test crashes;
// the destructor stops it otherwise. Caveat: the signal fires when the *thread* that called
// start() exits, so call start() from a thread that outlives the server (the test's main
// thread). stop() may be called from any thread. Header-only: the tests and the bench both
// include it. Not thread-safe: one owner at a time.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/loopback_port.h"

namespace opsready::nats_testing {

// The nats-server binary (Debian installs it in /usr/sbin), or "" when there is none.
inline std::string find_nats_server() {
  if (const char* env = std::getenv("NATS_SERVER"); env != nullptr && *env != '\0') return env;
  std::vector<std::filesystem::path> candidates = {"/usr/sbin/nats-server", "/usr/bin/nats-server",
                                                   "/usr/local/bin/nats-server"};
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    std::stringstream ss(path);
    std::string dir;
    while (std::getline(ss, dir, ':'))
      candidates.push_back(std::filesystem::path(dir) / "nats-server");
  }
  for (const auto& c : candidates) {
    if (::access(c.c_str(), X_OK) == 0) return c.string();
  }
  return {};
}

using ::opsready::testing::free_loopback_port;

class NatsServerProcess {
 public:
  explicit NatsServerProcess(std::filesystem::path dir, int port = 0)
      : dir_(std::move(dir)),
        port_(port != 0 ? port : free_loopback_port()),
        binary_(find_nats_server()) {
    std::filesystem::create_directories(dir_ / "store");
  }
  ~NatsServerProcess() { stop(); }
  NatsServerProcess(const NatsServerProcess&) = delete;
  NatsServerProcess& operator=(const NatsServerProcess&) = delete;

  [[nodiscard]] bool available() const { return !binary_.empty(); }
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] bool running() const { return pid_ > 0; }
  [[nodiscard]] const std::filesystem::path& log_path() const { return log_; }

  // Starts the server and waits (up to `timeout`) until its ports file says it listens.
  bool start(std::string* error,
             std::chrono::milliseconds timeout = std::chrono::milliseconds(20000)) {
    if (pid_ > 0) return true;
    if (binary_.empty()) return fail(error, "nats-server not found (apt-get install nats-server)");
    if (port_ == 0) return fail(error, "no free loopback port");
    log_ = dir_ / "nats.log";
    const std::vector<std::string> args = {binary_,
                                           "-js",
                                           "-a",
                                           "127.0.0.1",
                                           "-p",
                                           std::to_string(port_),
                                           "-sd",
                                           (dir_ / "store").string(),
                                           "--ports_file_dir",
                                           dir_.string(),
                                           "-l",
                                           log_.string()};
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) return fail(error, "fork failed");
    if (pid == 0) {  // child: async-signal-safe calls only
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      const int devnull = ::open("/dev/null", O_RDWR);
      if (devnull >= 0) {
        ::dup2(devnull, 0);
        ::dup2(devnull, 1);
        ::dup2(devnull, 2);
      }
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    pid_ = pid;
    const auto ports = dir_ / ("nats-server_" + std::to_string(pid) + ".ports");
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return fail(error, "nats-server exited at start; log:\n" + log_tail());
      }
      std::error_code ec;
      if (std::filesystem::file_size(ports, ec) > 0 && !ec) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop();
    return fail(error, "nats-server did not listen within the timeout; log:\n" + log_tail());
  }

  // SIGTERM (graceful: clients see the connection close), SIGKILL after `grace`. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(10000)) {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
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

  [[nodiscard]] std::string log_tail(std::size_t max = 4000) const {
    std::ifstream in(log_);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return all.size() > max ? all.substr(all.size() - max) : all;
  }

 private:
  static bool fail(std::string* error, std::string message) {
    if (error != nullptr) *error = std::move(message);
    return false;
  }

  std::filesystem::path dir_;
  int port_ = 0;
  std::string binary_;
  std::filesystem::path log_;
  pid_t pid_ = -1;
};

}  // namespace opsready::nats_testing
