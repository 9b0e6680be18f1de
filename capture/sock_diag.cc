#include "capture/sock_diag.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace flowaudit::capture {
namespace {

constexpr std::size_t kHeaderLength = NLMSG_HDRLEN;               // aligned nlmsghdr
constexpr std::size_t kDiagMessageLength = NLMSG_ALIGN(sizeof(inet_diag_msg));
constexpr std::size_t kReceiveBuffer = 64 * 1024;                 // kernel dump datagrams are <= 32 KiB
constexpr std::size_t kMaxDatagramsPerDump = 1 << 16;             // 64 Ki x 64 KiB bounds one dump
constexpr int kReceiveTimeoutSeconds = 2;                         // the kernel answers at once; never hang

std::size_t align4(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

// An address of the dump: IPv4 in the first four bytes of idiag_src/dst; IPv4-mapped IPv6 turned
// into IPv4, so that a dual-stack socket's IPv4 flow has the key the wire shows.
core::IpAddress to_address(std::uint8_t family, const __be32 (&words)[4]) {
  std::array<std::uint8_t, 16> b{};
  std::memcpy(b.data(), words, 16);
  if (family == AF_INET) return core::IpAddress::v4(std::span<const std::uint8_t, 4>(b.data(), 4));
  static constexpr std::uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(b.data(), kMappedPrefix, 12) == 0) {
    return core::IpAddress::v4(std::span<const std::uint8_t, 4>(b.data() + 12, 4));
  }
  return core::IpAddress::v6(std::span<const std::uint8_t, 16>(b.data(), 16));
}

const char* protocol_name(std::uint8_t p) { return p == IPPROTO_TCP ? "TCP" : p == IPPROTO_UDP ? "UDP" : "?"; }
const char* family_name(std::uint8_t f) { return f == AF_INET ? "IPv4" : f == AF_INET6 ? "IPv6" : "?"; }

// One SOCK_DIAG_BY_FAMILY message body (after the nlmsghdr): inet_diag_msg then attributes.
bool parse_socket(std::span<const std::uint8_t> body, std::uint8_t protocol, DiagSocket& s, std::string& error) {
  if (body.size() < sizeof(inet_diag_msg)) {
    error = fmt::format("sock_diag: socket message of {} bytes, shorter than inet_diag_msg", body.size());
    return false;
  }
  inet_diag_msg m;
  std::memcpy(&m, body.data(), sizeof m);
  if (m.idiag_family != AF_INET && m.idiag_family != AF_INET6) {
    error = fmt::format("sock_diag: socket of address family {}", m.idiag_family);
    return false;
  }
  s = DiagSocket{};
  s.protocol = protocol;
  s.family = m.idiag_family;
  s.state = m.idiag_state;
  s.inode = m.idiag_inode;
  s.local_ip = to_address(m.idiag_family, m.id.idiag_src);
  s.remote_ip = to_address(m.idiag_family, m.id.idiag_dst);
  s.local_port = ntohs(m.id.idiag_sport);
  s.remote_port = ntohs(m.id.idiag_dport);
  // Attributes: the kernel adds some without being asked (INET_DIAG_SHUTDOWN, INET_DIAG_SKV6ONLY on
  // AF_INET6, ...). Only SKV6ONLY is read; every rta_len is checked so a bad one rejects the message.
  std::size_t at = std::min(kDiagMessageLength, body.size());
  while (at < body.size()) {
    const std::size_t left = body.size() - at;
    if (left < sizeof(rtattr)) {
      error = "sock_diag: truncated attribute header";
      return false;
    }
    rtattr a;
    std::memcpy(&a, body.data() + at, sizeof a);
    if (a.rta_len < sizeof(rtattr) || a.rta_len > left) {
      error = fmt::format("sock_diag: attribute length {} with {} bytes left", a.rta_len, left);
      return false;
    }
    if (a.rta_type == INET_DIAG_SKV6ONLY && a.rta_len > sizeof(rtattr)) {
      s.v6only = body[at + sizeof(rtattr)] != 0;
    }
    at += align4(a.rta_len);  // the padding of the last attribute may be absent
  }
  return true;
}

// The error code after an NLMSG_ERROR or NLMSG_DONE header (a negative errno), when there is one.
int payload_error(std::span<const std::uint8_t> body) {
  if (body.size() < sizeof(int)) return 0;
  int e;
  std::memcpy(&e, body.data(), sizeof e);
  return e;
}

}  // namespace

DiagBatch parse_sock_diag_batch(std::span<const std::uint8_t> datagram, std::uint32_t seq, std::uint8_t protocol,
                                std::vector<DiagSocket>& out, std::size_t max_sockets, int& kernel_errno,
                                std::string& error) {
  kernel_errno = 0;
  if (datagram.empty()) {
    error = "sock_diag: empty reply";
    return DiagBatch::kError;
  }
  std::size_t at = 0;
  while (at < datagram.size()) {
    const std::size_t left = datagram.size() - at;
    if (left < sizeof(nlmsghdr)) {
      error = fmt::format("sock_diag: {} trailing bytes, shorter than a netlink header", left);
      return DiagBatch::kError;
    }
    nlmsghdr h;
    std::memcpy(&h, datagram.data() + at, sizeof h);
    if (h.nlmsg_len < kHeaderLength || h.nlmsg_len > left) {
      error = fmt::format("sock_diag: message length {} with {} bytes left", h.nlmsg_len, left);
      return DiagBatch::kError;
    }
    if (h.nlmsg_seq != seq) {
      error = fmt::format("sock_diag: reply to request {} while waiting for {}", h.nlmsg_seq, seq);
      return DiagBatch::kError;
    }
    const auto body = datagram.subspan(at + kHeaderLength, h.nlmsg_len - kHeaderLength);
    switch (h.nlmsg_type) {
      case NLMSG_DONE:
      case NLMSG_ERROR: {
        const int e = payload_error(body);
        if (h.nlmsg_type == NLMSG_ERROR && body.size() < sizeof(int)) {
          error = "sock_diag: truncated error message";
          return DiagBatch::kError;
        }
        if (e < 0) {
          kernel_errno = -e;
          error = fmt::format("sock_diag {}: {}", protocol_name(protocol), std::strerror(-e));
          return DiagBatch::kError;
        }
        return DiagBatch::kDone;  // DONE, or an acknowledgement (error 0)
      }
      case SOCK_DIAG_BY_FAMILY: {
        if (out.size() >= max_sockets) {
          error = fmt::format("sock_diag: more than {} sockets", max_sockets);
          return DiagBatch::kError;
        }
        DiagSocket s;
        if (!parse_socket(body, protocol, s, error)) return DiagBatch::kError;
        out.push_back(s);
        break;
      }
      default:
        break;  // NLMSG_NOOP and anything newer: nothing to read
    }
    at += NLMSG_ALIGN(h.nlmsg_len);  // the padding of the last message may be absent
  }
  return DiagBatch::kMore;
}

std::vector<std::uint8_t> build_sock_diag_request(std::uint8_t family, std::uint8_t protocol, std::uint32_t seq) {
  struct {
    nlmsghdr h;
    inet_diag_req_v2 r;
  } req{};
  req.h.nlmsg_len = sizeof req;
  req.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.h.nlmsg_seq = seq;
  req.r.sdiag_family = family;
  req.r.sdiag_protocol = protocol;
  // Every state but those without an owning process (a TIME_WAIT socket has inode 0).
  req.r.idiag_states = ~((1u << TCP_TIME_WAIT) | (1u << TCP_SYN_RECV) | (1u << 12 /* TCP_NEW_SYN_RECV */));
  std::vector<std::uint8_t> bytes(sizeof req);
  std::memcpy(bytes.data(), &req, sizeof req);
  return bytes;
}

namespace {

class NetlinkSocket {
 public:
  NetlinkSocket() : fd_(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG)) {}
  ~NetlinkSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;
  [[nodiscard]] int fd() const { return fd_; }

 private:
  int fd_;
};

enum class DumpResult : std::uint8_t { kOk, kUnsupported, kError };

DumpResult dump_one(int fd, std::uint8_t family, std::uint8_t protocol, std::uint32_t seq,
                    std::vector<DiagSocket>& out, std::size_t max_sockets, std::vector<std::uint8_t>& buffer,
                    DiagDumpStats& stats, std::string& error) {
  const auto request = build_sock_diag_request(family, protocol, seq);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd, request.data(), request.size(), 0, reinterpret_cast<const sockaddr*>(&kernel), sizeof kernel) < 0) {
    error = fmt::format("sock_diag: send: {}", std::strerror(errno));
    return DumpResult::kError;
  }
  for (std::size_t i = 0; i < kMaxDatagramsPerDump; ++i) {
    sockaddr_nl from{};
    socklen_t from_len = sizeof from;
    const ssize_t n = ::recvfrom(fd, buffer.data(), buffer.size(), MSG_TRUNC, reinterpret_cast<sockaddr*>(&from),
                                 &from_len);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = fmt::format("sock_diag: receive: {}", std::strerror(errno));
      return DumpResult::kError;
    }
    if (static_cast<std::size_t>(n) > buffer.size()) {
      error = fmt::format("sock_diag: reply of {} bytes, larger than the {} byte buffer", n, buffer.size());
      return DumpResult::kError;
    }
    ++stats.datagrams;
    if (from_len < sizeof from || from.nl_pid != 0) continue;  // only the kernel speaks here
    int kernel_errno = 0;
    const auto r = parse_sock_diag_batch(std::span<const std::uint8_t>(buffer.data(), static_cast<std::size_t>(n)),
                                         seq, protocol, out, max_sockets, kernel_errno, error);
    if (r == DiagBatch::kDone) return DumpResult::kOk;
    if (r == DiagBatch::kError) {
      if (kernel_errno == ENOENT || kernel_errno == EAFNOSUPPORT) return DumpResult::kUnsupported;
      error = fmt::format("{} ({} {})", error, protocol_name(protocol), family_name(family));
      return DumpResult::kError;
    }
  }
  error = fmt::format("sock_diag: dump longer than {} datagrams", kMaxDatagramsPerDump);
  return DumpResult::kError;
}

}  // namespace

bool dump_inet_sockets(std::vector<DiagSocket>& out, std::size_t max_sockets, std::vector<std::uint8_t>& buffer,
                       DiagDumpStats& stats, std::string& error) {
  out.clear();
  stats = DiagDumpStats{};
  if (buffer.size() < kReceiveBuffer) buffer.resize(kReceiveBuffer);
  NetlinkSocket sock;
  if (sock.fd() < 0) {
    error = fmt::format("sock_diag: netlink socket: {}", std::strerror(errno));
    return false;
  }
  timeval timeout{};
  timeout.tv_sec = kReceiveTimeoutSeconds;
  ::setsockopt(sock.fd(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::uint32_t seq = 1;
  for (const std::uint8_t protocol : {std::uint8_t{IPPROTO_TCP}, std::uint8_t{IPPROTO_UDP}}) {
    for (const std::uint8_t family : {std::uint8_t{AF_INET}, std::uint8_t{AF_INET6}}) {
      const auto r = dump_one(sock.fd(), family, protocol, seq++, out, max_sockets, buffer, stats, error);
      if (r == DumpResult::kError) return false;
      if (r == DumpResult::kUnsupported) {
        // No udp_diag module, or no IPv6: those sockets cannot exist or cannot be listed; TCP over IPv4
        // always can, so that one failing is an error.
        if (protocol == IPPROTO_TCP && family == AF_INET) return false;
        if (protocol == IPPROTO_UDP) {
          stats.udp_supported = false;
        } else {
          stats.ipv6_supported = false;
        }
      }
    }
  }
  error.clear();
  return true;
}

}  // namespace flowaudit::capture
