#include "harness.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace opsready::testing {
namespace {

std::vector<char*> c_args(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

int spawn(std::vector<std::string> argv, const std::vector<std::string>& extra_env,
          const std::filesystem::path& out, const std::filesystem::path& err) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  for (const auto& e : extra_env) env.push_back(e);
  auto args = c_args(argv);
  auto envp = c_args(env);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0]);
  return pid;
}

int decode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

RunResult run(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env) {
  TempDir dir;
  const auto out = dir.path() / "out";
  const auto err = dir.path() / "err";
  const int pid = spawn(argv, extra_env, out, err);
  int status = 0;
  waitpid(pid, &status, 0);
  return {decode(status), read_file(out), read_file(err)};
}

RunResult run_opsready(const std::vector<std::string>& args,
                       const std::vector<std::string>& extra_env) {
  std::vector<std::string> argv = {OPSREADY_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, extra_env);
}

Daemon::Daemon(std::vector<std::string> args) {
  bool has_listen = false;
  for (const auto& a : args) has_listen = has_listen || a == "--listen" || a == "--config";
  if (!has_listen) {
    args.push_back("--listen");
    args.push_back("127.0.0.1:0");
  }
  std::vector<std::string> argv = {OPSREADY_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  log_ = dir_.path() / "daemon.log";
  pid_ = spawn(argv, {}, dir_.path() / "daemon.out", log_);
  const std::regex listening(R"(listening on http://[^:]+:(\d+))");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::smatch m;
    const std::string text = read_file(log_);
    if (std::regex_search(text, m, listening)) {
      port_ = std::stoi(m[1]);
      return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("opsready exited with " + std::to_string(decode(status)) +
                               " before listening:\n" + text);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("opsready did not start listening within 30 s:\n" + read_file(log_));
}

Daemon::~Daemon() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

httplib::Client Daemon::client() const {
  httplib::Client c("127.0.0.1", port_);
  c.set_read_timeout(std::chrono::seconds(10));
  return c;
}

void Daemon::signal(int sig) const {
  if (pid_ > 0) kill(pid_, sig);
}

std::optional<int> Daemon::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (pid_ > 0) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return decode(status);
    }
    if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return std::nullopt;
}

std::string Daemon::log() const { return read_file(log_); }

std::string gzip(const std::string& text) {
  z_stream zs{};
  deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, text.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  zs.avail_in = static_cast<uInt>(text.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string normalized_evidence(std::string md) {
  md = std::regex_replace(md, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z)"), "<time>");
  md = std::regex_replace(md, std::regex(R"(drill-\d{8}T\d{6}Z-[0-9a-f]{8})"), "<drill>");
  md = std::regex_replace(md, std::regex(R"(-?\d+\.\d{3} s)"), "<seconds>");
  md = std::regex_replace(md, std::regex(R"(checked \d+ times, clear \d+ times)"),
                          "checked <n> times, clear <n> times");
  md = std::regex_replace(md, std::regex(R"(http://127\.0\.0\.1:\d+)"), "<url>");
  // What a `during` check saw when it first held (a count that depends on timing).
  md = std::regex_replace(md, std::regex(R"((\| yes \| <time> \| [a-z_:]+ )-?[0-9.]+( \|))"),
                          "$1<n>$2");
  // The checkout's path (a shipped scenario's files), which differs between clones.
  for (std::size_t at; (at = md.find(OPSREADY_SOURCE_DIR)) != std::string::npos;) {
    md.replace(at, std::string_view(OPSREADY_SOURCE_DIR).size(), "<source>");
  }
  // Who started it is $USER of the client, which differs between machines.
  md = std::regex_replace(md, std::regex(R"(- \*\*Started by:\*\* [^\n]*\n)"), "");
  return md;
}

void check_golden_evidence(int port, const std::string& drill_id, const std::filesystem::path& dir,
                           const std::string& name) {
  httplib::Client c("127.0.0.1", port);
  auto r = c.Get("/api/v1/drills/" + drill_id + "?format=markdown");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  const std::string md = normalized_evidence(r->body);
  const auto golden = dir / (name + ".md");
  if (std::getenv("OPSREADY_UPDATE_GOLDEN") != nullptr) {
    std::filesystem::create_directories(golden.parent_path());
    std::ofstream(golden) << md;
  }
  EXPECT_EQ(md, read_file(golden)) << "the evidence of " << name << " changed:\n" << md;
}

}  // namespace opsready::testing
