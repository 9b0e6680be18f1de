#include "capture/privileges.h"

#include <grp.h>
#include <pwd.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <vector>

#include <fmt/format.h>

namespace flowaudit::capture {

namespace {

// capset(2) without libcap: only the capabilities named, permitted and effective. CAP_SYS_PTRACE
// (ptrace access to another user's /proc/PID/fd) and CAP_DAC_READ_SEARCH (to open that directory
// at all) for per-app attribution; CAP_NET_ADMIN for `run` (to remove its nftables table and link).
bool keep_only(std::initializer_list<int> caps) {
  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  __user_cap_data_struct data[2] = {};
  for (const int cap : caps) {
    data[CAP_TO_INDEX(cap)].permitted |= CAP_TO_MASK(cap);
    data[CAP_TO_INDEX(cap)].effective |= CAP_TO_MASK(cap);
  }
  return ::syscall(SYS_capset, &header, data) == 0;
}

}  // namespace

DropResult drop_root(const std::string& requested, bool keep_ptrace, bool keep_net_admin) {
  DropResult out;
  if (::geteuid() != 0 && ::getuid() != 0) return out;
  std::string name = requested;
  if (name.empty()) {
    const char* sudo_user = std::getenv("SUDO_USER");
    name = sudo_user != nullptr && *sudo_user != '\0' && std::string_view(sudo_user) != "root" ? sudo_user : "nobody";
  }
  std::vector<char> buffer(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (::getpwnam_r(name.c_str(), &pw, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) {
    out.error = fmt::format("--user: no such user '{}'", name);
    return out;
  }
  if (pw.pw_uid == 0) {
    out.error = fmt::format("--user {}: refusing to keep running as root", name);
    return out;
  }
  if (keep_ptrace || keep_net_admin) ::prctl(PR_SET_KEEPCAPS, 1);
  if (::initgroups(pw.pw_name, pw.pw_gid) != 0 || ::setgid(pw.pw_gid) != 0 || ::setuid(pw.pw_uid) != 0) {
    out.error = fmt::format("cannot drop root to {}: {}", name, std::strerror(errno));
    return out;
  }
  if (keep_ptrace || keep_net_admin) {
    const bool kept = keep_ptrace && keep_net_admin ? keep_only({CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH, CAP_NET_ADMIN})
                      : keep_ptrace                 ? keep_only({CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH})
                                                    : keep_only({CAP_NET_ADMIN});
    out.kept_ptrace = keep_ptrace && kept;
    out.kept_net_admin = keep_net_admin && kept;
    ::prctl(PR_SET_KEEPCAPS, 0);
  }
  // Dropped for good: setuid(0) must fail now (it would succeed if only the effective id changed).
  if (::setuid(0) == 0 || ::geteuid() == 0) {
    out.error = fmt::format("dropping root to {} did not stick", name);
    return out;
  }
  ::prctl(PR_SET_DUMPABLE, 0);  // no core dumps holding captured packets
  out.dropped = true;
  out.user = name;
  out.home = pw.pw_dir != nullptr ? pw.pw_dir : "";
  return out;
}

}  // namespace flowaudit::capture
