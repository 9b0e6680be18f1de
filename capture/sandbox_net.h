// The host side of `flowaudit run`'s network namespace: the veth pair and its addresses (rtnetlink
// through libnl-route-3), the NAT, forwarding and DNS redirection (nftables through libnftables),
// and the clean-up of what a killed run left behind. Every object carries "flowaudit" and the pid
// of the run that made it, so that a later run can tell a stale one from a live one.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace flowaudit::capture {

// A /30 for the link: .1 on the host side, .2 inside. Chosen from 10.253.0.0/16 (then
// 100.127.0.0/16) so that it overlaps no address or route of the host.
struct SandboxAddresses {
  std::uint32_t network = 0;  // host byte order
  [[nodiscard]] std::string host() const;    // "10.253.x.y"
  [[nodiscard]] std::string inside() const;  // host() + 1
  [[nodiscard]] std::string cidr() const;    // network/30
};

// Interface and table names for the run of `pid`.
std::string sandbox_host_interface(pid_t pid);    // fa<pid>h
std::string sandbox_inside_interface(pid_t pid);  // fa<pid>n
std::string sandbox_table(pid_t pid);             // flowaudit_<pid>

// False and `error` when no free /30 was found (or the host's addresses could not be read).
bool pick_sandbox_addresses(SandboxAddresses& out, std::string& error);

// The first IPv4 nameserver of a resolv.conf text ("" when there is none).
std::string first_ipv4_nameserver(const std::string& resolv_conf);

// Creates the veth pair with its inside end in the network namespace of `ns_pid`, gives the host
// end its address and brings it up. Host side only: the inside end is configured from inside.
bool create_veth(pid_t run_pid, pid_t ns_pid, const SandboxAddresses& a, std::string& error);
// Inside the namespace (called by its first process): loopback and the inside end up, the inside
// address, and the default route through the host end.
bool configure_inside(pid_t run_pid, const SandboxAddresses& a, std::string& error);
// Removes the host end (and with it the inside end); quiet when it is already gone.
void delete_veth(const std::string& host_interface);

// The nftables table of the run: masquerade of the namespace's traffic leaving by any other
// interface, forwarding accepted for it (and for its replies), and DNS sent to the host end
// redirected to `resolver` (which may be a loopback address such as systemd-resolved's 127.0.0.53:
// route_localnet is switched on for the host end only).
bool add_nat_table(pid_t run_pid, const SandboxAddresses& a, const std::string& resolver, std::string& error);
// Removes the run's table (the NAT of `run`, the NFLOG selection of `capture --uid/--cgroup`).
bool delete_nat_table(pid_t run_pid, std::string& error);
// Runs nftables commands through libnftables; false and the first line of nft's error otherwise.
bool run_nft(const std::string& commands, std::string& error, std::string* output = nullptr);
// Loads libnftables now (run_nft does so when first called); false and the reason if it cannot be.
// Call it before a fork whose child runs nft: the child must not run the dynamic loader.
bool load_nftables(std::string& error);

// Removes the tables and interfaces of runs whose process is gone; returns what was removed
// ("table flowaudit_123", "link fa123h"), for a warning.
std::vector<std::string> remove_stale_sandboxes();

// IPv4 forwarding on the host: switched on for the run if it was off. The descriptor is opened
// while still root so that the setting can be put back after root is dropped.
class ForwardingGuard {
 public:
  ForwardingGuard() = default;
  ~ForwardingGuard();
  ForwardingGuard(const ForwardingGuard&) = delete;
  ForwardingGuard& operator=(const ForwardingGuard&) = delete;
  bool enable(std::string& error);
  // Puts the old value back, unless another run's table is still there (it needs forwarding too).
  void restore(pid_t run_pid);
  [[nodiscard]] bool changed() const noexcept { return changed_; }

 private:
  int fd_ = -1;
  bool changed_ = false;
};

}  // namespace flowaudit::capture
