#include "opsready/app/shell_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "opsready/core/time.h"

extern char** environ;

namespace opsready::app {

namespace {

// Reads what `fd` has now (non-blocking) into `to`, keeping at most `max` bytes.
void drain(int fd, std::string& to, std::size_t max) {
  char buf[2048];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return;
    const std::size_t room = max > to.size() ? max - to.size() : 0;
    to.append(buf, std::min(room, static_cast<std::size_t>(n)));
  }
}

void trim_newlines(std::string& s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
}

}  // namespace

std::string ShellResult::describe(const std::string& command, core::Duration timeout) const {
  const std::string tail = err.empty() ? (out.empty() ? "" : ": " + out) : ": " + err;
  if (!started) return "cannot start /bin/sh for '" + command + "': " + start_error;
  if (timed_out) {
    return "'" + command + "' did not end within " + core::format_duration(timeout) + " (killed)" +
           tail;
  }
  if (signal != 0) return "'" + command + "' was killed by signal " + std::to_string(signal) + tail;
  if (exit_code == 0) return "'" + command + "' succeeded";
  return "'" + command + "' exited with " + std::to_string(exit_code) + tail;
}

ShellResult run_shell(const std::string& command, core::Duration timeout,
                      const std::vector<std::string>& extra_env, std::size_t max_output) {
  ShellResult r;
  int out_fds[2], err_fds[2];
  if (::pipe2(out_fds, O_CLOEXEC) != 0) {
    r.start_error = std::strerror(errno);
    return r;
  }
  if (::pipe2(err_fds, O_CLOEXEC) != 0) {
    r.start_error = std::strerror(errno);
    ::close(out_fds[0]);
    ::close(out_fds[1]);
    return r;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) env.emplace_back(*e);
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> envp;
  for (auto& s : env) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string sh = "/bin/sh", dash_c = "-c", cmd = command;
  char* argv[] = {sh.data(), dash_c.data(), cmd.data(), nullptr};
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(out_fds[1]);
  ::close(err_fds[1]);
  if (rc != 0) {
    r.start_error = std::strerror(rc);
    ::close(out_fds[0]);
    ::close(err_fds[0]);
    return r;
  }
  r.started = true;
  ::fcntl(out_fds[0], F_SETFL, O_NONBLOCK);
  ::fcntl(err_fds[0], F_SETFL, O_NONBLOCK);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    pollfd p[2] = {{.fd = out_fds[0], .events = POLLIN, .revents = 0},
                   {.fd = err_fds[0], .events = POLLIN, .revents = 0}};
    ::poll(p, 2, 20);
    drain(out_fds[0], r.out, max_output);
    drain(err_fds[0], r.err, max_output);
    if (::waitpid(pid, &status, WNOHANG) == pid) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      r.timed_out = true;
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
  }
  // What is there now; a background child that keeps a pipe open is not waited for.
  drain(out_fds[0], r.out, max_output);
  drain(err_fds[0], r.err, max_output);
  ::close(out_fds[0]);
  ::close(err_fds[0]);
  trim_newlines(r.out);
  trim_newlines(r.err);
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  return r;
}

}  // namespace opsready::app
