// Per-app attribution of live flows on Linux (issue 7, item 4): which process owns the socket of a
// flow seen on the wire, and whether it belongs to the app being audited (`--pid`, `--process`).
//
// How: refresh() dumps the kernel's TCP and UDP socket tables (NETLINK_SOCK_DIAG, capture/sock_diag.h),
// then reads /proc to find the selected processes and the socket inodes in their /proc/PID/fd
// (capture/proc_scan.h), and joins the two on the inode. Lookups are then hash-table reads, no
// syscall, no allocation beyond the returned name (a comm is at most 15 bytes: small-string storage).
//
// Order: the process list first (the slow part: a stat, and for a name filter a cmdline, per
// process), then the socket dump, then at once the descriptors of the selected processes. A client
// that lives a few milliseconds (connect, one request, exit) must not exit between its socket being
// seen in the dump and its descriptors being read: that window (stats().exposure_ns) is the dump plus
// the selected processes' fd scans, well under a millisecond on a desktop, instead of the whole
// refresh. The price: a process started after the listing has its sockets read as another app's
// (kOther). The caller re-reads the table for any flow whose first packet is newer than the table,
// kOther or kUnknown (cli capture), and a flow's process exists by the time its first packet is
// sent, so a re-read that starts after that packet lists it.
//
// Limits of the method, for the report's caveats:
//  - sock_diag sees the sockets of the caller's network namespace only;
//  - reading another user's /proc/PID/fd needs root or CAP_SYS_PTRACE (or the same uid, if the
//    process is dumpable): a selected process that cannot be read fails refresh();
//  - a flow whose socket is already closed (TIME_WAIT) or not yet seen by a refresh is kUnknown;
//  - a socket shared by several processes (inherited across fork) is attributed to one of them,
//    the selected one if any, else the lowest pid;
//  - descendants are found through the parent pid in /proc/PID/stat (always there, unlike
//    /proc/PID/task/TID/children), so a process that double-forked away (reparented to init or a
//    subreaper) is no longer a descendant; select it by name instead.
// Not thread-safe: refresh() and the lookups are meant for one thread (the capture loop).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "capture/proc_scan.h"
#include "capture/sock_diag.h"
#include "core/ip_address.h"
#include "core/timestamp.h"

namespace flowaudit::capture {

struct ProcessInfo {
  int pid = 0;
  std::string name;  // /proc/PID/comm (as in /proc/PID/stat), at most 15 bytes
  friend bool operator==(const ProcessInfo&, const ProcessInfo&) = default;
};

// A socket's endpoints seen from its own side. protocol: IPPROTO_TCP (6) or IPPROTO_UDP (17).
struct SocketKey {
  std::uint8_t protocol = 0;
  core::IpAddress local_ip;
  std::uint16_t local_port = 0;
  core::IpAddress remote_ip;
  std::uint16_t remote_port = 0;
  friend bool operator==(const SocketKey&, const SocketKey&) = default;
};

enum class Owner : std::uint8_t {
  kSelected,  // a socket of a selected process: `process` says which
  kOther,     // a socket the last refresh saw, owned by a process that is not selected (or unreadable)
  kUnknown,   // no socket of the last refresh matches: too new, already closed, or another namespace
};

const char* to_string(Owner o) noexcept;

struct Attribution {
  Owner owner = Owner::kUnknown;
  ProcessInfo process;  // set when owner == kSelected
};

struct AttributionStats {
  std::size_t sockets = 0;             // in the kernel's table (TCP+UDP, IPv4+IPv6, with an inode)
  std::size_t processes = 0;           // in /proc
  std::size_t selected_processes = 0;  // selected, descendants included
  std::size_t socket_fds = 0;          // socket descriptors of the selected processes
  std::size_t unreadable_processes = 0;  // /proc/PID/fd denied (only counted when nothing is selected)
  bool udp_supported = true;           // false: this kernel lists no UDP sockets (no udp_diag)
  std::uint64_t refresh_ns = 0;        // wall time of the last successful refresh
  std::uint64_t dump_ns = 0;           // of which the sock_diag dumps (the rest is /proc and the join)
  std::uint64_t exposure_ns = 0;       // from the dump to the last fd scan: a selected process that
                                       // exits in this window loses its sockets' attribution
};

class ProcessAttribution {
 public:
  // Bounds on one refresh (more is an error, not a silent cut; the previous table is kept).
  static constexpr std::size_t kMaxSockets = 1 << 18;        // 256 Ki sockets in the namespace
  static constexpr std::size_t kMaxProcesses = 1 << 16;      // 64 Ki processes in /proc
  static constexpr std::size_t kMaxFdsPerProcess = 1 << 16;  // a process's descriptors read (then cut)
  static constexpr std::size_t kMaxSocketFds = 1 << 20;      // socket descriptors of selected processes
  static constexpr std::size_t kMaxSelectors = 256;          // pids + names given (more are ignored)
  static constexpr std::size_t kMaxLocalAddresses = 4096;    // interface addresses for wildcard matches

  // Selects an app: the processes `pids` and every descendant of them, and every process whose comm
  // or argv[0] basename equals one of `names` (and their descendants: helpers an app spawns often
  // have other names). A name longer than 15 bytes also matches a comm that is its first 15 bytes
  // (the kernel cuts comm there). `pids` are process ids (thread-group ids), not thread ids. Both empty: no filter, every socket is attributed to the process owning it.
  ProcessAttribution(std::vector<int> pids, std::vector<std::string> names);

  // Re-reads the socket table and /proc. Never throws. False with a one-line `error` (no permission,
  // a limit exceeded, netlink failure); the previous table then stays in use. Takes a few ms on a
  // desktop: call it when a new flow is not the app's by a table read before its first packet.
  bool refresh(std::string& error);

  // The selected process owning the socket `key` (local side first), or nullopt when the socket is
  // not the selected app's or is unknown. Connected sockets match on all four values; sockets with a
  // wildcard remote (unconnected UDP, TCP listeners) match on local address and port, and those on a
  // wildcard local address on the port alone (when the local address is one of this machine's).
  [[nodiscard]] std::optional<ProcessInfo> lookup(const SocketKey& key) const;

  // For a flow seen on the wire, whose local side may be either endpoint: exact matches in both
  // orders first, then the wildcard ones.
  [[nodiscard]] std::optional<ProcessInfo> lookup_flow(std::uint8_t protocol, const core::IpAddress& a,
                                                       std::uint16_t a_port, const core::IpAddress& b,
                                                       std::uint16_t b_port) const;
  // The same with the three-way answer, so the caller refreshes only for kUnknown.
  [[nodiscard]] Attribution attribute_flow(std::uint8_t protocol, const core::IpAddress& a, std::uint16_t a_port,
                                           const core::IpAddress& b, std::uint16_t b_port) const;

  // For a flow seen live whose first packet has just arrived (`first_packet_ns`: its capture time,
  // wall clock, ns since the epoch): attribute_flow(), and when the answer is not the selected app's
  // and the table was read before that packet, refresh() and ask again. The flow's socket may be
  // newer than the table (and a listener of another process can match it by port until the new
  // socket shows). A table read after the packet already answers for it, so when processing falls
  // behind a burst of new flows, refreshes thin out by themselves: no fixed rate limit, which would
  // leave flows out for good. A failed refresh sets `error` and the previous answer stands.
  Attribution attribute_new_flow(std::uint8_t protocol, const core::IpAddress& a, std::uint16_t a_port,
                                 const core::IpAddress& b, std::uint16_t b_port, core::TimestampNs first_packet_ns,
                                 std::string& error);

  // Wall-clock time (ns since the epoch) when the last refresh() began, successful or not; 0 before.
  [[nodiscard]] core::TimestampNs table_time_ns() const noexcept { return table_time_ns_; }
  // How many times refresh() ran.
  [[nodiscard]] std::uint64_t refreshes() const noexcept { return refreshes_; }

  [[nodiscard]] const AttributionStats& stats() const noexcept { return stats_; }
  [[nodiscard]] bool filtering() const noexcept { return !pids_.empty() || !names_.empty(); }

 private:
  static constexpr std::uint32_t kOtherProcess = 0xffffffffu;

  struct ExactKey {
    SocketKey k;
    friend bool operator==(const ExactKey&, const ExactKey&) = default;
  };
  struct LocalKey {  // protocol, local address (kNone family for wildcard) and port
    std::uint8_t protocol = 0;
    core::IpAddress ip;
    std::uint16_t port = 0;
    friend bool operator==(const LocalKey&, const LocalKey&) = default;
  };
  struct Hash {
    std::size_t operator()(const ExactKey& e) const noexcept;
    std::size_t operator()(const LocalKey& l) const noexcept;
    std::size_t operator()(const core::IpAddress& ip) const noexcept { return ip.hash(); }
  };
  struct Table {
    std::vector<ProcessInfo> processes;                            // owners, indexed by the maps
    std::unordered_map<ExactKey, std::uint32_t, Hash> connected;  // full 4-tuple
    std::unordered_map<LocalKey, std::uint32_t, Hash> bound;      // wildcard remote, given local address
    std::unordered_map<LocalKey, std::uint32_t, Hash> wildcard;   // wildcard remote and local; ip: v4 or v6 marker
    std::unordered_set<core::IpAddress, Hash> local_addresses;
  };

  enum class Tier : std::uint8_t { kExact, kBound, kWildcard };
  [[nodiscard]] std::optional<std::uint32_t> find(const SocketKey& key, Tier tier) const;
  [[nodiscard]] Attribution answer(std::uint32_t owner) const;

  std::vector<int> pids_;
  std::vector<std::string> names_;
  Table table_;
  AttributionStats stats_;
  core::TimestampNs table_time_ns_ = 0;
  std::uint64_t refreshes_ = 0;
  // Scratch reused between refreshes.
  std::vector<DiagSocket> sockets_;
  std::vector<ProcEntry> procs_;
  std::vector<std::uint8_t> netlink_buffer_;
  std::vector<std::uint64_t> inodes_;
};

}  // namespace flowaudit::capture
