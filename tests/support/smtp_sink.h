#pragma once
// SmtpSink: a real SMTP server for tests, aiosmtpd (Debian python3-aiosmtpd) running
// opsready/alerting/notify/testdata/smtp_sink.py on a free 127.0.0.1 port; every message it
// accepts is a JSON line {mail_from, rcpt_tos, data, auth} in a file read by messages(). Stopped
// (SIGTERM) when this goes. Header-only: the transports' live test and the drills test use it.
//
//   SmtpSink sink(source_dir / "opsready/alerting/notify/testdata/smtp_sink.py");
//   ASSERT_TRUE(sink.running());
//   ... smarthost 127.0.0.1:sink.port() ...
//   for (const auto& m : sink.messages()) ...

#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

extern char** environ;

namespace opsready::test_support {

class SmtpSink {
 public:
  explicit SmtpSink(const std::filesystem::path& script) : port_(free_port()) {
    out_ = std::filesystem::temp_directory_path() /
           ("opsready_smtp_" + std::to_string(::getpid()) + "_" + std::to_string(port_) + ".jsonl");
    std::filesystem::remove(out_);
    const std::string path = script.string();
    const std::string port = std::to_string(port_);
    const std::string out = out_.string();
    std::vector<char*> argv{const_cast<char*>("/usr/bin/python3"), const_cast<char*>(path.c_str()),
                            const_cast<char*>(port.c_str()), const_cast<char*>(out.c_str()),
                            nullptr};
    if (::posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ) != 0) pid_ = 0;
    for (int i = 0; i < 100 && pid_ != 0 && !can_connect(port_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~SmtpSink() {
    if (pid_ != 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    std::filesystem::remove(out_);
  }
  SmtpSink(const SmtpSink&) = delete;
  SmtpSink& operator=(const SmtpSink&) = delete;

  [[nodiscard]] bool running() const { return pid_ != 0 && can_connect(port_); }
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] std::vector<nlohmann::json> messages() const {
    std::vector<nlohmann::json> out;
    std::ifstream in(out_);
    for (std::string line; std::getline(in, line);) {
      out.push_back(nlohmann::json::parse(line, nullptr, false));
    }
    return out;
  }

  static int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
  }

  static bool can_connect(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
  }

 private:
  int port_;
  pid_t pid_ = 0;
  std::filesystem::path out_;
};

}  // namespace opsready::test_support
