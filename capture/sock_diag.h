// The kernel's table of TCP and UDP sockets through NETLINK_SOCK_DIAG (inet_diag_req_v2 dumps), for
// per-app attribution of live flows (capture/process_attribution.h). Netlink here is a local
// interface to the kernel of this machine and network namespace; nothing goes on the network.
//
// The reply bytes are parsed by a pure function over a span so that tests can feed it truncated,
// mis-sized and garbage messages: every length (nlmsg_len, rta_len) is checked against what is left
// before anything is copied (memcpy into the kernel's own structs, never a cast onto the buffer).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/ip_address.h"

namespace flowaudit::capture {

// One socket of the dump. Addresses are as the kernel reports them, except that IPv4-mapped IPv6
// addresses (::ffff:a.b.c.d, an AF_INET6 socket talking IPv4) are turned into IPv4 so they compare
// equal to what is seen on the wire. A socket that is not connected has a wildcard remote.
struct DiagSocket {
  std::uint8_t protocol = 0;  // IPPROTO_TCP or IPPROTO_UDP: from the request, not in the reply
  std::uint8_t family = 0;    // AF_INET or AF_INET6 as reported
  std::uint8_t state = 0;     // TCP_* state; UDP: TCP_ESTABLISHED when connected, TCP_CLOSE when not
  bool v6only = false;        // AF_INET6 only: IPV6_V6ONLY (from INET_DIAG_SKV6ONLY when present)
  std::uint32_t inode = 0;    // 0 for sockets no process holds (TIME_WAIT, request sockets)
  core::IpAddress local_ip;
  core::IpAddress remote_ip;
  std::uint16_t local_port = 0;
  std::uint16_t remote_port = 0;
};

enum class DiagBatch : std::uint8_t {
  kMore,   // sockets appended, the dump goes on in the next datagram
  kDone,   // NLMSG_DONE seen
  kError,  // malformed, a kernel error, or over a limit: `error` says which (one line)
};

// Parses one datagram of a dump reply: a sequence of netlink messages, each SOCK_DIAG_BY_FAMILY
// (appended to `out` with `protocol`), NLMSG_DONE or NLMSG_ERROR; NLMSG_NOOP and unknown types are
// skipped. A message whose sequence number is not `seq` is an error. `kernel_errno` is set to the
// positive errno of an NLMSG_ERROR/NLMSG_DONE error (0 otherwise), so that the caller can tell
// "this kernel has no UDP diag" (ENOENT) from other failures. At most `max_sockets` in `out`.
DiagBatch parse_sock_diag_batch(std::span<const std::uint8_t> datagram, std::uint32_t seq,
                                std::uint8_t protocol, std::vector<DiagSocket>& out,
                                std::size_t max_sockets, int& kernel_errno, std::string& error);

// The request datagram (nlmsghdr + inet_diag_req_v2) for a dump of every socket of one family and
// protocol, TIME_WAIT and SYN_RECV excluded (they belong to no process).
std::vector<std::uint8_t> build_sock_diag_request(std::uint8_t family, std::uint8_t protocol, std::uint32_t seq);

struct DiagDumpStats {
  bool udp_supported = true;  // false when the kernel answered ENOENT to the UDP dumps (no udp_diag)
  bool ipv6_supported = true;  // false when the kernel has no IPv6 (EAFNOSUPPORT/ENOENT for AF_INET6)
  std::size_t datagrams = 0;
};

// Dumps TCP and UDP, IPv4 and IPv6, into `out` (cleared first) through a netlink socket opened and
// closed here. `buffer` is reused between calls. Never throws; false with a one-line `error`.
bool dump_inet_sockets(std::vector<DiagSocket>& out, std::size_t max_sockets, std::vector<std::uint8_t>& buffer,
                       DiagDumpStats& stats, std::string& error);

}  // namespace flowaudit::capture
