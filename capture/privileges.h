// Dropping root right after the capture device is open: everything that parses untrusted packets
// runs as an ordinary user.
#pragma once

#include <string>

namespace flowaudit::capture {

struct DropResult {
  bool dropped = false;  // false: not running as root, nothing to drop
  std::string user;
  std::string home;  // the user's home directory (for per-user data such as the geolocation databases)
  std::string error; // one line; set when dropping was needed and failed
  bool kept_ptrace = false;
  bool kept_net_admin = false;
};

// The user to become: `requested` if given, else $SUDO_USER (the user who ran sudo), else nobody.
// Sets supplementary groups, gid and uid, and checks that root cannot be regained. Does nothing
// when the process is not root.
// `keep_ptrace`: keep CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (read access only, nothing else) so
// that per-app attribution can still read /proc/PID/fd of the app's processes when they run as
// another user.
// `keep_net_admin`: keep CAP_NET_ADMIN only (`run` removes its namespace's link and nftables table at
// the end).
DropResult drop_root(const std::string& requested, bool keep_ptrace = false, bool keep_net_admin = false);

}  // namespace flowaudit::capture
