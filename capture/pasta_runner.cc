#include "capture/pasta_runner.h"

#include "capture/exec_args.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <fmt/format.h>

namespace flowaudit::capture {

namespace {

std::atomic<pid_t> g_child{0};

void forward(int signal) {
  const pid_t child = g_child.load();
  if (child > 0) ::kill(child, signal);
}

bool on_path(const char* program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const std::size_t end = std::min(dirs.find(':', start), dirs.size());
    const std::string candidate = dirs.substr(start, end - start) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

std::string pasta_unavailable() {
  if (!on_path("pasta")) return "pasta is not installed (Debian package passt)";
  if (::access("/dev/net/tun", R_OK | W_OK) != 0) {
    return fmt::format("/dev/net/tun is not readable and writable for this user ({})", std::strerror(errno));
  }
  return {};
}

SandboxExit run_in_pasta(const PastaCommand& command, std::string& error) {
  SandboxExit out;
  std::vector<std::string> args{"pasta", "--config-net", "--quiet", "--ipv4-only", "--pcap", command.pcap, "--"};
  args.insert(args.end(), command.argv.begin(), command.argv.end());
  ExecArgs exec(std::move(args), command.env);

  int exec_pipe[2];
  if (::pipe2(exec_pipe, O_CLOEXEC) != 0) {
    error = std::strerror(errno);
    return out;
  }
  struct sigaction forwarder {}, old_int{}, old_term{};
  forwarder.sa_handler = forward;
  sigemptyset(&forwarder.sa_mask);
  ::sigaction(SIGINT, &forwarder, &old_int);
  ::sigaction(SIGTERM, &forwarder, &old_term);
  const auto begin = std::chrono::steady_clock::now();
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(exec_pipe[0]);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::execvpe("pasta", exec.argv(), exec.envp());
    const int err = errno;
    [[maybe_unused]] const auto n = ::write(exec_pipe[1], &err, sizeof err);
    ::_exit(127);
  }
  ::close(exec_pipe[1]);
  if (child < 0) {
    error = std::strerror(errno);
    ::close(exec_pipe[0]);
    return out;
  }
  g_child.store(child);
  const int exec_errno = read_exec_errno(exec_pipe[0]);
  ::close(exec_pipe[0]);
  int status = 0;
  if (exec_errno != 0) {
    ::waitpid(child, &status, 0);
    error = fmt::format("cannot start pasta: {}", std::strerror(exec_errno));
  } else {
    out.pid = child;
    bool term_sent = false;
    std::chrono::steady_clock::time_point kill_at{};
    for (;;) {
      const pid_t done = ::waitpid(child, &status, WNOHANG);
      if (done == child) break;
      if (done < 0 && errno != EINTR) break;
      const auto now = std::chrono::steady_clock::now();
      if (command.duration > 0 && !term_sent && now - begin >= std::chrono::duration<double>(command.duration)) {
        ::kill(child, SIGTERM);
        term_sent = true;
        kill_at = now + std::chrono::seconds(2);
      }
      if (term_sent && now >= kill_at) ::kill(child, SIGKILL);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    out.exited = true;
    if (WIFEXITED(status)) out.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) out.signal = WTERMSIG(status);
  }
  g_child.store(0);
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  return out;
}

}  // namespace flowaudit::capture
