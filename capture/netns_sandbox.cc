#include "capture/netns_sandbox.h"

#include "capture/exec_args.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

namespace flowaudit::capture {

namespace {

// Keeper -> flowaudit. One write each, well under PIPE_BUF: never split.
struct Status {
  char type = 0;  // U unshared, R ready, E error, G started, X exec failed, D done
  std::int32_t a = 0, b = 0, c = 0;
  char text[200] = {};
};
// flowaudit -> keeper.
struct Ctl {
  char type = 0;  // C configure, S start, K signal (arg), T terminate
  std::int32_t arg = 0;
};

void send_status(int fd, char type, std::int32_t a = 0, std::int32_t b = 0, std::int32_t c = 0,
                 std::string_view text = {}) {
  Status s;
  s.type = type;
  s.a = a;
  s.b = b;
  s.c = c;
  if (!text.empty()) std::memcpy(s.text, text.data(), std::min(text.size(), sizeof s.text - 1));
  [[maybe_unused]] const auto n = ::write(fd, &s, sizeof s);
}

bool send_ctl(int fd, char type, std::int32_t arg = 0) {
  Ctl c;
  c.type = type;
  c.arg = arg;
  return fd >= 0 && ::write(fd, &c, sizeof c) == static_cast<ssize_t>(sizeof c);
}

// Reads one whole message, waiting at most `timeout_ms` (-1: no limit). False on timeout or EOF.
template <typename T>
bool read_message(int fd, T& out, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  for (;;) {
    const int ready = ::poll(&p, 1, timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    break;
  }
  ssize_t n;
  do {
    n = ::read(fd, &out, sizeof out);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(sizeof out);
}

bool write_proc(const char* path, const char* value) {
  const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::write(fd, value, std::strlen(value)) > 0;
  ::close(fd);
  return ok;
}

// The processes in the keeper's network namespace other than the keeper (at most 4096).
std::vector<pid_t> processes_in_namespace() {
  std::vector<pid_t> out;
  struct stat self {};
  if (::stat("/proc/self/ns/net", &self) != 0) return out;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return out;
  const pid_t me = ::getpid();
  while (const dirent* e = ::readdir(dir)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || pid <= 0 || pid == me) continue;
    struct stat ns {};
    const std::string path = fmt::format("/proc/{}/ns/net", pid);
    if (::stat(path.c_str(), &ns) == 0 && ns.st_ino == self.st_ino && ns.st_dev == self.st_dev) {
      out.push_back(static_cast<pid_t>(pid));
      if (out.size() >= 4096) break;
    }
  }
  ::closedir(dir);
  return out;
}

void reap_all() {
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

// The namespace's first process. Runs as root (it parses nothing from the network), holds the
// namespace, starts the command and, when it ends, what it left.
[[noreturn]] void keeper_main(int ctl_r, int status_w, const SandboxCommand& cmd, pid_t run_pid,
                              const SandboxAddresses& a) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != run_pid) ::_exit(1);
  // Orphans of the command come back here to be reaped (and ended at the end).
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  // Ctrl-C reaches the whole foreground process group: the command decides what to do with it,
  // the keeper ends the run when the command ends.
  ::signal(SIGINT, SIG_IGN);
  ::signal(SIGTERM, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  if (::unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) {
    send_status(status_w, 'E', 0, 0, 0, fmt::format("cannot make a network namespace: {}", std::strerror(errno)));
    ::_exit(1);
  }
  send_status(status_w, 'U');
  Ctl ctl;
  if (!read_message(ctl_r, ctl, -1) || ctl.type != 'C') ::_exit(1);
  std::string error;
  if (!configure_inside(run_pid, a, error)) {
    send_status(status_w, 'E', 0, 0, 0, error);
    ::_exit(1);
  }
  // IPv4 only inside (the report says so): no IPv6 route out is set up.
  write_proc("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
  write_proc("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      (!cmd.resolv_conf.empty() &&
       ::mount(cmd.resolv_conf.c_str(), "/etc/resolv.conf", nullptr, MS_BIND, nullptr) != 0)) {
    send_status(status_w, 'E', 0, 0, 0,
                fmt::format("cannot give the namespace its resolv.conf: {}", std::strerror(errno)));
    ::_exit(1);
  }
  send_status(status_w, 'R');
  if (!read_message(ctl_r, ctl, -1) || ctl.type != 'S') ::_exit(1);

  // The command's argv and environment, built before the fork.
  ExecArgs exec(cmd.argv, cmd.env);

  int exec_pipe[2];
  if (::pipe2(exec_pipe, O_CLOEXEC) != 0) ::_exit(1);
  const pid_t child = ::fork();
  if (child < 0) {
    send_status(status_w, 'X', errno);
    ::_exit(1);
  }
  if (child == 0) {
    ::close(exec_pipe[0]);
    ::close(ctl_r);
    ::close(status_w);
    for (const int s : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD, SIGQUIT}) ::signal(s, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    int err = 0;
    if (::getuid() == 0 && cmd.uid != 0) {
      if (::setgroups(cmd.groups.size(), cmd.groups.data()) != 0 || ::setgid(cmd.gid) != 0 ||
          ::setuid(cmd.uid) != 0) {
        err = errno;
      }
    }
    if (err == 0) {
      ::execvpe(exec.argv()[0], exec.argv(), exec.envp());
      err = errno;
    }
    [[maybe_unused]] const auto n = ::write(exec_pipe[1], &err, sizeof err);
    ::_exit(127);
  }
  ::close(exec_pipe[1]);
  const int exec_errno = read_exec_errno(exec_pipe[0]);
  ::close(exec_pipe[0]);
  if (exec_errno != 0) {
    ::waitpid(child, nullptr, 0);
    send_status(status_w, 'X', exec_errno);
    ::_exit(1);
  }
  send_status(status_w, 'G', child);

  // Until the command ends: signals from flowaudit, --duration, and flowaudit going away.
  int status = 0;
  bool done = false;
  bool term_sent = false;
  std::chrono::steady_clock::time_point kill_at{};
  pollfd p{ctl_r, POLLIN, 0};
  while (!done) {
    for (pid_t pid; (pid = ::waitpid(-1, &status, WNOHANG)) > 0;) {
      if (pid == child) {
        done = true;
        break;
      }
    }
    if (done) break;
    if (term_sent && std::chrono::steady_clock::now() >= kill_at) {
      ::kill(child, SIGKILL);
      term_sent = false;
    }
    if (p.fd >= 0 && ::poll(&p, 1, 50) > 0) {
      if (!read_message(ctl_r, ctl, 0)) {  // flowaudit went away: end the run
        p.fd = -1;
        ctl.type = 'T';
      }
      if (ctl.type == 'K') ::kill(child, ctl.arg);
      if (ctl.type == 'T' && !term_sent) {
        ::kill(child, SIGTERM);
        term_sent = true;
        kill_at = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      }
    } else if (p.fd < 0) {
      ::usleep(50000);
    }
  }
  // What the command left in the namespace: SIGTERM, then SIGKILL after 2 s.
  std::int32_t terminated = 0, killed = 0;
  auto left = processes_in_namespace();
  if (!left.empty()) {
    for (const pid_t pid : left) ::kill(pid, SIGTERM);
    terminated = static_cast<std::int32_t>(left.size());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (!left.empty() && std::chrono::steady_clock::now() < deadline) {
      reap_all();
      ::usleep(20000);
      left = processes_in_namespace();
    }
    for (const pid_t pid : left) ::kill(pid, SIGKILL);
    killed = static_cast<std::int32_t>(left.size());
    for (int i = 0; i < 100 && !processes_in_namespace().empty(); ++i) {
      reap_all();
      ::usleep(10000);
    }
  }
  reap_all();
  for (const auto& path : cmd.remove) {
    if (::unlink(path.c_str()) != 0) ::rmdir(path.c_str());
  }
  send_status(status_w, 'D', status, terminated, killed);
  // The namespace, and with it the link being captured, lives until flowaudit has read the last
  // packets off it: it closes the control pipe then (or exits).
  while (read_message(ctl_r, ctl, -1)) {
  }
  ::_exit(0);
}

std::string read_text(const char* path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str().substr(0, 1 << 16);
}

}  // namespace

std::unique_ptr<NetnsSandbox> NetnsSandbox::create(const SandboxCommand& command, std::string& error) {
  std::unique_ptr<NetnsSandbox> s(new NetnsSandbox());
  const pid_t me = ::getpid();
  s->stale_ = remove_stale_sandboxes();
  if (!pick_sandbox_addresses(s->addresses_, error)) return nullptr;
  s->host_if_ = sandbox_host_interface(me);
  // DNS inside goes to the host end of the link, and from there to the host's resolver, even when
  // that listens on a loopback address.
  s->resolver_ = first_ipv4_nameserver(read_text("/etc/resolv.conf"));
  if (!command.resolv_conf.empty()) {
    std::ofstream out(command.resolv_conf, std::ios::trunc);
    out << "# written by flowaudit run: DNS goes through the host end of the namespace's link\n";
    if (!s->resolver_.empty()) {
      out << "nameserver " << s->addresses_.host() << "\n";
    } else {
      out << read_text("/etc/resolv.conf");
    }
    if (!out) {
      error = fmt::format("cannot write {}", command.resolv_conf);
      return nullptr;
    }
  }
  int ctl[2], status[2];
  if (::pipe2(ctl, O_CLOEXEC) != 0 || ::pipe2(status, O_CLOEXEC) != 0) {
    error = fmt::format("pipe: {}", std::strerror(errno));
    return nullptr;
  }
  const pid_t keeper = ::fork();
  if (keeper < 0) {
    error = fmt::format("fork: {}", std::strerror(errno));
    return nullptr;
  }
  if (keeper == 0) {
    ::close(ctl[1]);
    ::close(status[0]);
    keeper_main(ctl[0], status[1], command, me, s->addresses_);
  }
  ::close(ctl[0]);
  ::close(status[1]);
  s->keeper_ = keeper;
  s->ctl_w_ = ctl[1];
  s->status_r_ = status[0];
  Status st;
  if (!read_message(s->status_r_, st, 10000) || st.type != 'U') {
    error = st.type == 'E' ? std::string(st.text) : "the namespace's keeper did not start";
    return nullptr;
  }
  if (!s->forwarding_.enable(error) || !create_veth(me, keeper, s->addresses_, error)) return nullptr;
  if (!add_nat_table(me, s->addresses_, s->resolver_, error)) return nullptr;
  s->table_added_ = true;
  send_ctl(s->ctl_w_, 'C');
  if (!read_message(s->status_r_, st, 10000) || st.type != 'R') {
    error = st.type == 'E' ? std::string(st.text) : "the namespace could not be set up";
    return nullptr;
  }
  return s;
}

bool NetnsSandbox::start(std::string& error) {
  send_ctl(ctl_w_, 'S');
  Status st;
  if (!read_message(status_r_, st, 30000)) {
    error = "the command did not start";
    return false;
  }
  if (st.type == 'X') {
    error = std::strerror(st.a);
    return false;
  }
  if (st.type != 'G') {
    error = "the command did not start";
    return false;
  }
  command_pid_ = st.a;
  return true;
}

void NetnsSandbox::forward_signal(int signal) { send_ctl(ctl_w_, 'K', signal); }

void NetnsSandbox::terminate() { send_ctl(ctl_w_, 'T'); }

SandboxExit NetnsSandbox::finish(int wait_ms) {
  SandboxExit out;
  out.pid = command_pid_;
  Status st;
  if (command_pid_ > 0 && read_message(status_r_, st, wait_ms) && st.type == 'D') {
    out.exited = true;
    if (WIFEXITED(st.a)) out.exit_code = WEXITSTATUS(st.a);
    if (WIFSIGNALED(st.a)) out.signal = WTERMSIG(st.a);
    out.leftovers_terminated = static_cast<std::uint32_t>(st.b);
    out.leftovers_killed = static_cast<std::uint32_t>(st.c);
  }
  teardown();
  return out;
}

void NetnsSandbox::teardown() {
  if (ctl_w_ >= 0) ::close(ctl_w_);
  ctl_w_ = -1;
  if (keeper_ > 0) {
    // The keeper ends once the command is gone; one that does not answer is ended here.
    for (int i = 0; i < 300 && ::waitpid(keeper_, nullptr, WNOHANG) == 0; ++i) {
      if (i == 250) ::kill(keeper_, SIGKILL);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(keeper_, SIGKILL);
    ::waitpid(keeper_, nullptr, WNOHANG);
    keeper_ = -1;
  }
  if (status_r_ >= 0) ::close(status_r_);
  status_r_ = -1;
  const pid_t me = ::getpid();
  std::string error;
  if (table_added_) delete_nat_table(me, error);
  table_added_ = false;
  if (!host_if_.empty()) delete_veth(host_if_);
  forwarding_.restore(me);
}

NetnsSandbox::~NetnsSandbox() { teardown(); }

}  // namespace flowaudit::capture
