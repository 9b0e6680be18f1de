// `flowaudit run`: the app in a network namespace of its own, so that its link carries exactly its
// traffic. As root: a child process (the namespace's keeper) unshares a network and a mount
// namespace, the host gives it one end of a veth pair (capture/sandbox_net.h), and the keeper
// starts the command as the requested user with the key log in its environment. When the command
// exits, the keeper ends what it left behind in the namespace (SIGTERM, then SIGKILL after 2 s)
// and reports the exit status; the namespace, its link and the run's nftables table go with it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "capture/sandbox_net.h"

namespace flowaudit::capture {

struct SandboxCommand {
  std::vector<std::string> argv;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;           // supplementary groups (looked up before the fork: no NSS after it)
  std::vector<std::string> env;        // "NAME=value" added to (or replacing in) the environment
  std::string resolv_conf;             // bound over /etc/resolv.conf inside
  std::vector<std::string> remove;     // files, then directories, removed by the keeper at the end
};

struct SandboxExit {
  bool exited = false;   // the command ran and ended (else: never started)
  int exit_code = 0;     // when it exited
  int signal = 0;        // when a signal ended it
  pid_t pid = 0;         // its process id
  std::uint32_t leftovers_terminated = 0;  // processes left in the namespace, sent SIGTERM
  std::uint32_t leftovers_killed = 0;      // ... and still there 2 s later, sent SIGKILL
};

class NetnsSandbox {
 public:
  // Makes the namespace and its link (root only); the command is not started yet, so that the
  // capture can open first. nullptr and a one-line `error` otherwise (everything made is removed).
  static std::unique_ptr<NetnsSandbox> create(const SandboxCommand& command, std::string& error);
  ~NetnsSandbox();
  NetnsSandbox(const NetnsSandbox&) = delete;
  NetnsSandbox& operator=(const NetnsSandbox&) = delete;

  [[nodiscard]] const std::string& host_interface() const noexcept { return host_if_; }
  [[nodiscard]] const SandboxAddresses& addresses() const noexcept { return addresses_; }
  [[nodiscard]] const std::string& resolver() const noexcept { return resolver_; }
  [[nodiscard]] const std::vector<std::string>& stale_removed() const noexcept { return stale_; }
  [[nodiscard]] bool forwarding_switched_on() const noexcept { return forwarding_.changed(); }

  // Starts the command; false and `error` when it could not be (no such program: exec failed).
  bool start(std::string& error);
  // Readable when the command's run is over (then finish()).
  [[nodiscard]] int done_fd() const noexcept { return status_r_; }
  // A signal for the command (SIGINT, SIGTERM sent to flowaudit).
  void forward_signal(int signal);
  // --duration: SIGTERM to the command, SIGKILL 2 s later.
  void terminate();
  // Waits for the keeper's report (at most `wait_ms`), reaps it and removes the link and the table.
  SandboxExit finish(int wait_ms);

 private:
  NetnsSandbox() = default;
  void teardown();
  pid_t keeper_ = -1;
  int ctl_w_ = -1;
  int status_r_ = -1;
  std::string host_if_;
  SandboxAddresses addresses_;
  std::string resolver_;
  std::vector<std::string> stale_;
  ForwardingGuard forwarding_;
  bool table_added_ = false;
  pid_t command_pid_ = 0;
};

}  // namespace flowaudit::capture
