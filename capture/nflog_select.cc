#include "capture/nflog_select.h"

#include <pwd.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "capture/sandbox_net.h"

namespace flowaudit::capture {

namespace {

// Where cgroup v2 is mounted ("" when it is not): /sys/fs/cgroup on a systemd machine,
// /sys/fs/cgroup/unified on a hybrid one.
std::string cgroup2_mount() {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  for (int n = 0; n < 100000 && std::getline(in, line); ++n) {
    // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
    const auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string fstype;
    tail >> fstype;
    if (fstype != "cgroup2") continue;
    std::istringstream head(line.substr(0, dash));
    std::string id, parent, dev, root, mountpoint;
    if (head >> id >> parent >> dev >> root >> mountpoint) return mountpoint;
  }
  return {};
}

// nft resolves a cgroupv2 path under /sys/fs/cgroup. Where cgroup2 is mounted elsewhere, the rules
// are loaded from a child that sees the cgroup2 hierarchy there, in a mount namespace of its own.
bool nft_with_cgroup2_at(const std::string& mount, const std::string& commands, std::string& error) {
  if (mount == "/sys/fs/cgroup") return run_nft(commands, error);
  // Loaded here, before the fork: the child must not run the dynamic loader.
  if (!load_nftables(error)) return false;
  int pipefd[2];
  if (::pipe(pipefd) != 0) {
    error = fmt::format("pipe: {}", std::strerror(errno));
    return false;
  }
  const pid_t child = ::fork();
  if (child < 0) {
    error = fmt::format("fork: {}", std::strerror(errno));
    return false;
  }
  if (child == 0) {
    ::close(pipefd[0]);
    std::string message;
    if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount(mount.c_str(), "/sys/fs/cgroup", nullptr, MS_BIND, nullptr) != 0) {
      message = fmt::format("cannot show nftables the cgroup2 hierarchy at {}: {}", mount, std::strerror(errno));
    } else if (!run_nft(commands, message)) {
      // message set
    } else {
      message.clear();
    }
    [[maybe_unused]] const auto n = ::write(pipefd[1], message.data(), message.size());
    ::_exit(message.empty() ? 0 : 1);
  }
  ::close(pipefd[1]);
  char buf[512];
  std::string message;
  for (ssize_t n; (n = ::read(pipefd[0], buf, sizeof buf)) > 0;) message.append(buf, static_cast<std::size_t>(n));
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  error = message.empty() ? std::string("nftables: loading the rules failed") : message;
  return false;
}

// A path inside the cgroup2 hierarchy, relative to its mount, without . or .. components.
bool relative_cgroup(const std::string& mount, const std::string& path, std::string& out, int& level,
                     std::string& error) {
  std::string rel = path;
  if (!rel.empty() && rel[0] == '/') {
    if (rel.starts_with(mount + "/")) {
      rel = rel.substr(mount.size() + 1);
    } else {
      rel = rel.substr(1);  // "/app.slice/x.scope": relative to the mount, as systemd prints it
    }
  }
  level = 0;
  out.clear();
  std::istringstream parts(rel);
  std::string part;
  while (std::getline(parts, part, '/')) {
    if (part.empty()) continue;
    if (part == "." || part == ".." || part.find('"') != std::string::npos) {
      error = fmt::format("--cgroup {}: not a plain cgroup path", path);
      return false;
    }
    out += (out.empty() ? "" : "/") + part;
    ++level;
  }
  struct stat st {};
  if (level == 0 || ::stat((mount + "/" + out).c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    error = fmt::format("--cgroup {}: no such cgroup under {}", path, mount);
    return false;
  }
  return true;
}

}  // namespace

bool resolve_uid(const std::string& text, uid_t& uid, std::string& description, std::string& error) {
  std::vector<char> buffer(16384);
  passwd pw{};
  passwd* found = nullptr;
  char* end = nullptr;
  const unsigned long number = std::strtoul(text.c_str(), &end, 10);
  const bool numeric = !text.empty() && end != nullptr && *end == '\0';
  if (numeric) {
    uid = static_cast<uid_t>(number);
    const bool named = ::getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &found) == 0 && found != nullptr;
    description = named ? fmt::format("uid {} ({})", uid, pw.pw_name) : fmt::format("uid {}", uid);
    return true;
  }
  if (::getpwnam_r(text.c_str(), &pw, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) {
    error = fmt::format("--uid: no such user '{}'", text);
    return false;
  }
  uid = pw.pw_uid;
  description = fmt::format("uid {} ({})", uid, pw.pw_name);
  return true;
}

bool add_nflog_selection(pid_t run_pid, const NflogSelection& selection, NflogRules& rules, std::string& error) {
  std::string match;
  std::string mount;
  if (selection.uid) {
    match = fmt::format("meta skuid {}", *selection.uid);
  } else {
    mount = cgroup2_mount();
    if (mount.empty()) {
      error = "--cgroup: cgroup v2 is not mounted on this machine";
      return false;
    }
    std::string rel;
    int level = 0;
    if (!relative_cgroup(mount, selection.cgroup, rel, level, error)) return false;
    match = fmt::format("socket cgroupv2 level {} \"{}\"", level, rel);
    rules.description = "cgroup /" + rel;
  }
  // Group and bit from the pid: two captures at once use different ones (or, rarely, the same bit,
  // which only makes each log the other's connections too, never lose its own).
  rules.group = static_cast<std::uint16_t>(4096 + run_pid % 28000);
  rules.mark_bit = 1U << (24 + run_pid % 7);
  const std::string table = sandbox_table(run_pid);
  const std::string commands = fmt::format(
      "add table inet {0}\n"
      "table inet {0} {{\n"
      "  chain output {{ type filter hook output priority mangle; policy accept;\n"
      "    {1} ct mark set ct mark or {2:#010x}\n"
      "    ct mark and {2:#010x} == {2:#010x} log group {3}\n  }}\n"
      // Loopback packets were logged on their way out already.
      "  chain input {{ type filter hook input priority mangle; policy accept;\n"
      "    iif != \"lo\" ct mark and {2:#010x} == {2:#010x} log group {3}\n  }}\n"
      "}}\n",
      table, match, rules.mark_bit, rules.group);
  return selection.uid ? run_nft(commands, error) : nft_with_cgroup2_at(mount, commands, error);
}

}  // namespace flowaudit::capture
