#include "capture/process_attribution.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

using flowaudit::capture::argv0_basename;
using flowaudit::capture::Attribution;
using flowaudit::capture::build_sock_diag_request;
using flowaudit::capture::DiagBatch;
using flowaudit::capture::DiagSocket;
using flowaudit::capture::Owner;
using flowaudit::capture::parse_proc_stat;
using flowaudit::capture::parse_socket_link;
using flowaudit::capture::parse_sock_diag_batch;
using flowaudit::capture::ProcessAttribution;
using flowaudit::capture::ProcessInfo;
using flowaudit::capture::SocketKey;
using flowaudit::core::IpAddress;

namespace {

constexpr std::uint8_t kTcp = IPPROTO_TCP;
constexpr std::uint8_t kUdp = IPPROTO_UDP;

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  [[nodiscard]] int get() const { return fd_; }
  [[nodiscard]] bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

std::string own_comm() {
  std::string s;
  char buf[64];
  const int fd = ::open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return s;
  const ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n > 0) s.assign(buf, static_cast<std::size_t>(n));
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

// A socket bound to `addr` (IPv4 or IPv6 literal) port 0; returns the port it got via `port`.
Fd bound_socket(int family, int type, const char* addr, std::uint16_t& port, int v6only = -1) {
  Fd s(::socket(family, type | SOCK_CLOEXEC, 0));
  if (!s.ok()) return s;
  if (v6only >= 0) ::setsockopt(s.get(), IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (family == AF_INET) {
    auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
    sa->sin_family = AF_INET;
    ::inet_pton(AF_INET, addr, &sa->sin_addr);
    len = sizeof(sockaddr_in);
  } else {
    auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
    sa->sin6_family = AF_INET6;
    ::inet_pton(AF_INET6, addr, &sa->sin6_addr);
    len = sizeof(sockaddr_in6);
  }
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) return Fd();
  sockaddr_storage got{};
  socklen_t got_len = sizeof got;
  ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&got), &got_len);
  port = family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in*>(&got)->sin_port)
                           : ntohs(reinterpret_cast<sockaddr_in6*>(&got)->sin6_port);
  return s;
}

bool connect_to(int fd, int family, const char* addr, std::uint16_t port) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (family == AF_INET) {
    auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);
    ::inet_pton(AF_INET, addr, &sa->sin_addr);
    len = sizeof(sockaddr_in);
  } else {
    auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons(port);
    ::inet_pton(AF_INET6, addr, &sa->sin6_addr);
    len = sizeof(sockaddr_in6);
  }
  return ::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0;
}

std::uint16_t local_port_of(int fd) {
  sockaddr_storage got{};
  socklen_t got_len = sizeof got;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&got), &got_len);
  return got.ss_family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in*>(&got)->sin_port)
                                  : ntohs(reinterpret_cast<sockaddr_in6*>(&got)->sin6_port);
}

// A TCP listener on `addr` and a client connected to it, accepted.
struct TcpPair {
  Fd listener, client, server;
  std::uint16_t listen_port = 0, client_port = 0;
  bool ok = false;
};

TcpPair tcp_pair(int family, const char* addr) {
  TcpPair p;
  p.listener = bound_socket(family, SOCK_STREAM, addr, p.listen_port);
  if (!p.listener.ok() || ::listen(p.listener.get(), 8) != 0) return p;
  p.client = Fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!p.client.ok() || !connect_to(p.client.get(), family, addr, p.listen_port)) return p;
  p.server = Fd(::accept4(p.listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  p.client_port = local_port_of(p.client.get());
  p.ok = p.server.ok();
  return p;
}

// The pid of a child that has already exited and been reaped: a selector that matches nothing.
int dead_pid() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

// A child that names itself `name`, connects to 127.0.0.1:`port` and waits until `release` closes.
struct Child {
  pid_t pid = -1;
  std::uint16_t port = 0;  // the child's local port
  Fd release;              // write end: closing it lets the child exit
  Fd server;               // our accepted end of its connection
};

Child spawn_connecting_child(int listener, std::uint16_t port, const char* name) {
  Child c;
  int ready[2];
  int hold[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return c;
  if (::pipe2(hold, O_CLOEXEC) != 0) return c;
  c.pid = ::fork();
  if (c.pid == 0) {
    ::close(ready[0]);
    ::close(hold[1]);
    ::prctl(PR_SET_NAME, name, 0, 0, 0);
    const int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const char ok = ::connect(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 ? 'y' : 'n';
    if (::write(ready[1], &ok, 1) != 1) ::_exit(1);
    char b;
    while (::read(hold[0], &b, 1) > 0) {
    }
    ::_exit(0);
  }
  ::close(ready[1]);
  ::close(hold[0]);
  c.release = Fd(hold[1]);
  char ok = 'n';
  if (::read(ready[0], &ok, 1) != 1 || ok != 'y') c.pid = -1;
  ::close(ready[0]);
  if (c.pid > 0) {
    c.server = Fd(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    ::getpeername(c.server.get(), reinterpret_cast<sockaddr*>(&peer), &len);
    c.port = ntohs(peer.sin_port);
  }
  return c;
}

void reap(Child& c) {
  c.release = Fd();
  if (c.pid > 0) {
    int status = 0;
    ::waitpid(c.pid, &status, 0);
  }
}

// --- netlink message building for the parser tests ---

using Bytes = std::vector<std::uint8_t>;

// resize + memcpy rather than insert: GCC 12 at -O3 reports vector::insert of a range as an overflow
// (a -Wstringop-overflow false positive).
void append(Bytes& out, const void* p, std::size_t n) {
  if (n == 0) return;
  const std::size_t at = out.size();
  out.resize(at + n);
  std::memcpy(out.data() + at, p, n);
}

void append(Bytes& out, const Bytes& more) { append(out, more.data(), more.size()); }

void pad4(Bytes& out) {
  while (out.size() % 4 != 0) out.push_back(0);
}

struct Attr {
  std::uint16_t type;
  Bytes value;
};

Bytes socket_message(std::uint32_t seq, std::uint8_t family, const std::array<std::uint8_t, 16>& src,
                     std::uint16_t sport, const std::array<std::uint8_t, 16>& dst, std::uint16_t dport,
                     std::uint32_t inode, const std::vector<Attr>& attrs = {}) {
  inet_diag_msg m{};
  m.idiag_family = family;
  m.idiag_state = TCP_ESTABLISHED;
  m.id.idiag_sport = htons(sport);
  m.id.idiag_dport = htons(dport);
  std::memcpy(m.id.idiag_src, src.data(), 16);
  std::memcpy(m.id.idiag_dst, dst.data(), 16);
  m.idiag_inode = inode;
  Bytes body;
  append(body, &m, sizeof m);
  pad4(body);
  for (const Attr& a : attrs) {
    rtattr h{};
    h.rta_type = a.type;
    h.rta_len = static_cast<std::uint16_t>(sizeof h + a.value.size());
    append(body, &h, sizeof h);
    append(body, a.value.data(), a.value.size());
    pad4(body);
  }
  nlmsghdr h{};
  h.nlmsg_len = static_cast<std::uint32_t>(NLMSG_HDRLEN + body.size());
  h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  h.nlmsg_flags = NLM_F_MULTI;
  h.nlmsg_seq = seq;
  Bytes out;
  append(out, &h, sizeof h);
  pad4(out);
  append(out, body);
  return out;
}

Bytes control_message(std::uint32_t seq, std::uint16_t type, int error) {
  nlmsghdr h{};
  h.nlmsg_type = type;
  h.nlmsg_seq = seq;
  Bytes body;
  if (type == NLMSG_ERROR) {
    nlmsgerr e{};
    e.error = error;
    append(body, &e, sizeof e);
  } else {
    append(body, &error, sizeof error);
  }
  h.nlmsg_len = static_cast<std::uint32_t>(NLMSG_HDRLEN + body.size());
  Bytes out;
  append(out, &h, sizeof h);
  append(out, body);
  return out;
}

std::array<std::uint8_t, 16> v4_words(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  return {a, b, c, d, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
}

std::array<std::uint8_t, 16> mapped(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  return {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d};
}

DiagBatch parse(const Bytes& bytes, std::vector<DiagSocket>& out, int& kernel_errno, std::uint32_t seq = 7) {
  std::string error;
  const auto r = parse_sock_diag_batch(bytes, seq, kTcp, out, 1000, kernel_errno, error);
  if (r == DiagBatch::kError) CHECK_FALSE(error.empty());
  return r;
}

}  // namespace

TEST_SUITE("capture.attribution") {
  TEST_CASE("/proc/PID/stat: comm with spaces and parentheses, ppid after it") {
    auto s = parse_proc_stat("1234 (a) b) S 99 1234 1234 0 -1 4194560 100 0 0 0");
    REQUIRE(s);
    CHECK(s->comm == "a) b");
    CHECK(s->ppid == 99);
    s = parse_proc_stat("1 (systemd) S 0 1 1 0 -1");
    REQUIRE(s);
    CHECK(s->comm == "systemd");
    CHECK(s->ppid == 0);
    s = parse_proc_stat("7 (() S 1 2");
    REQUIRE(s);
    CHECK(s->comm == "(");
    s = parse_proc_stat("8 () R 5\n");
    REQUIRE(s);
    CHECK(s->comm.empty());
    CHECK(s->ppid == 5);
    for (const char* bad : {"", "1234", "1234 (x", "1234 x) S 1", "(x) S 1", "x (y) S 1", "1 (y) S", "1 (y) S x",
                            "1 (y) S -3", "1 (y)S 1", "1 (y) SS 1", "1 (y) S 99999999999", ")1 (", "1 )x( S 1"}) {
      CAPTURE(bad);
      CHECK_FALSE(parse_proc_stat(bad));
    }
  }

  TEST_CASE("/proc/PID/fd link text") {
    CHECK(parse_socket_link("socket:[12345]") == 12345u);
    CHECK(parse_socket_link("socket:[0]") == 0u);
    CHECK(parse_socket_link("socket:[18446744073709551615]") == 18446744073709551615ull);
    for (const char* bad : {"", "socket:[]", "socket:[", "socket:12345", "socket:[12a45]", "socket:[-1]", "socket:[+1]",
                            "socket:[18446744073709551616]", "socket:[1] ", " socket:[1]", "pipe:[12345]",
                            "anon_inode:[eventfd]", "/dev/null", "socket:[123456789012345678901]"}) {
      CAPTURE(bad);
      CHECK_FALSE(parse_socket_link(bad));
    }
  }

  TEST_CASE("argv[0] basename from /proc/PID/cmdline") {
    using namespace std::string_view_literals;
    CHECK(argv0_basename("/usr/bin/foo\0-x\0"sv) == "foo");
    CHECK(argv0_basename("foo"sv) == "foo");
    CHECK(argv0_basename("./a/b/"sv).empty());
    CHECK(argv0_basename(""sv).empty());
    CHECK(argv0_basename("\0x"sv).empty());
  }

  TEST_CASE("sock_diag reply parser: valid messages, mapped addresses, v6only") {
    const Bytes v4 = socket_message(7, AF_INET, v4_words(10, 0, 0, 1), 40000, v4_words(1, 2, 3, 4), 443, 111);
    const Bytes v6 = socket_message(7, AF_INET6, mapped(127, 0, 0, 1), 5000, mapped(127, 0, 0, 2), 80, 222,
                                    {{INET_DIAG_SHUTDOWN, {0}}, {INET_DIAG_SKV6ONLY, {1}}});
    Bytes batch = v4;
    append(batch, v6);
    std::vector<DiagSocket> out;
    int kernel_errno = -1;
    CHECK(parse(batch, out, kernel_errno) == DiagBatch::kMore);
    CHECK(kernel_errno == 0);
    REQUIRE(out.size() == 2);
    CHECK(out[0].protocol == kTcp);
    CHECK(out[0].family == AF_INET);
    CHECK(out[0].local_ip == ip("10.0.0.1"));
    CHECK(out[0].local_port == 40000);
    CHECK(out[0].remote_ip == ip("1.2.3.4"));
    CHECK(out[0].remote_port == 443);
    CHECK(out[0].inode == 111u);
    CHECK_FALSE(out[0].v6only);
    CHECK(out[1].family == AF_INET6);
    CHECK(out[1].local_ip == ip("127.0.0.1"));  // IPv4-mapped turned into IPv4
    CHECK(out[1].remote_ip == ip("127.0.0.2"));
    CHECK(out[1].v6only);
    CHECK(out[1].inode == 222u);

    const Bytes done = control_message(7, NLMSG_DONE, 0);
    append(batch, done);
    out.clear();
    CHECK(parse(batch, out, kernel_errno) == DiagBatch::kDone);
    CHECK(out.size() == 2);

    out.clear();
    CHECK(parse(control_message(7, NLMSG_ERROR, -EPERM), out, kernel_errno) == DiagBatch::kError);
    CHECK(kernel_errno == EPERM);
    CHECK(parse(control_message(7, NLMSG_DONE, -ENOENT), out, kernel_errno) == DiagBatch::kError);
    CHECK(kernel_errno == ENOENT);
    CHECK(parse(control_message(7, NLMSG_ERROR, 0), out, kernel_errno) == DiagBatch::kDone);

    // Another request's reply, and a socket limit.
    CHECK(parse(v4, out, kernel_errno, 8) == DiagBatch::kError);
    std::string error;
    out.assign(5, DiagSocket{});
    CHECK(parse_sock_diag_batch(v4, 7, kTcp, out, 5, kernel_errno, error) == DiagBatch::kError);
    CHECK(error.find("more than 5") != std::string::npos);

    // The request built for the kernel has the shape the kernel checks.
    const auto req = build_sock_diag_request(AF_INET6, kUdp, 3);
    REQUIRE(req.size() == sizeof(nlmsghdr) + sizeof(inet_diag_req_v2));
    nlmsghdr h;
    std::memcpy(&h, req.data(), sizeof h);
    CHECK(h.nlmsg_len == req.size());
    CHECK(h.nlmsg_type == SOCK_DIAG_BY_FAMILY);
    CHECK(h.nlmsg_seq == 3u);
    inet_diag_req_v2 r;
    std::memcpy(&r, req.data() + sizeof h, sizeof r);
    CHECK(r.sdiag_family == AF_INET6);
    CHECK(r.sdiag_protocol == kUdp);
  }

  TEST_CASE("sock_diag reply parser: every truncation rejected, wrong lengths and garbage") {
    const Bytes one = socket_message(7, AF_INET6, mapped(127, 0, 0, 1), 5000, mapped(127, 0, 0, 2), 80, 222,
                                     {{INET_DIAG_SHUTDOWN, {0}}, {INET_DIAG_SKV6ONLY, {1}}});
    std::vector<DiagSocket> out;
    int kernel_errno = 0;
    for (std::size_t n = 0; n < one.size(); ++n) {
      CAPTURE(n);
      const Bytes cut(one.begin(), one.begin() + static_cast<std::ptrdiff_t>(n));
      CHECK(parse(cut, out, kernel_errno) == DiagBatch::kError);
    }
    // A message cut inside with nlmsg_len fixed up to match: the body or an attribute is short.
    for (std::size_t n = NLMSG_HDRLEN; n < one.size(); ++n) {
      Bytes cut(one.begin(), one.begin() + static_cast<std::ptrdiff_t>(n));
      const auto len = static_cast<std::uint32_t>(n);
      std::memcpy(cut.data(), &len, sizeof len);
      const std::size_t attrs_at = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(inet_diag_msg));
      // Valid cuts: no attributes, or whole attributes (5 bytes each) with all, some or none of their padding.
      const bool whole_attrs = n == attrs_at || (n >= attrs_at + 5 && n <= attrs_at + 8) || n >= attrs_at + 13;
      CAPTURE(n);
      if (!whole_attrs) CHECK(parse(cut, out, kernel_errno) == DiagBatch::kError);
    }
    // A batch: cuts on a message boundary are a shorter valid batch, all others are rejected.
    Bytes batch = one;
    const Bytes done = control_message(7, NLMSG_DONE, 0);
    append(batch, one);
    append(batch, done);
    for (std::size_t n = 1; n < batch.size(); ++n) {
      CAPTURE(n);
      const Bytes cut(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(n));
      out.clear();
      const auto r = parse(cut, out, kernel_errno);
      if (n == one.size() || n == 2 * one.size()) {
        CHECK(r == DiagBatch::kMore);
      } else {
        CHECK(r == DiagBatch::kError);
      }
    }
    // Lengths that lie.
    auto with_len = [&](std::uint32_t len) {
      Bytes b = one;
      std::memcpy(b.data(), &len, sizeof len);
      return b;
    };
    for (const std::uint32_t len : {0u, 1u, 15u, static_cast<std::uint32_t>(one.size() + 1), 0xffffffffu}) {
      CAPTURE(len);
      CHECK(parse(with_len(len), out, kernel_errno) == DiagBatch::kError);
    }
    const std::size_t attr_at = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(inet_diag_msg));
    for (const std::uint16_t rta_len : {std::uint16_t{0}, std::uint16_t{3}, std::uint16_t{17}, std::uint16_t{0xffff}}) {
      CAPTURE(rta_len);
      Bytes b = one;
      std::memcpy(b.data() + attr_at, &rta_len, sizeof rta_len);
      CHECK(parse(b, out, kernel_errno) == DiagBatch::kError);
    }
    {
      Bytes b = one;
      b[NLMSG_HDRLEN] = 99;  // idiag_family
      CHECK(parse(b, out, kernel_errno) == DiagBatch::kError);
    }
    // Garbage, and flipped bytes of a valid batch: any answer, no crash, out stays bounded.
    std::uint64_t x = 0x243f6a8885a308d3ULL;
    auto next = [&] {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      return x;
    };
    for (int round = 0; round < 2000; ++round) {
      Bytes b = (round % 2 == 0) ? batch : Bytes(next() % 300);
      if (round % 2 == 1) {
        for (auto& c : b) c = static_cast<std::uint8_t>(next());
      } else {
        for (int k = 0; k < 4; ++k) b[next() % b.size()] = static_cast<std::uint8_t>(next());
      }
      out.clear();
      std::string error;
      (void)parse_sock_diag_batch(b, 7, kTcp, out, 16, kernel_errno, error);
      CHECK(out.size() <= 16);
    }
  }

  TEST_CASE("TCP over IPv4 and IPv6 loopback: our pid and comm; another selector gives nothing") {
    const std::string comm = own_comm();
    for (const auto& loopback : {std::pair{AF_INET, "127.0.0.1"}, std::pair{AF_INET6, "::1"}}) {  // no structured binding: doctest's CAPTURE/INFO lambda cannot take one (clang before 16)
      const int family = loopback.first;
      const char* const addr = loopback.second;
      CAPTURE(addr);
      TcpPair p = tcp_pair(family, addr);
      if (!p.ok && family == AF_INET6) {
        MESSAGE("no IPv6 loopback here: IPv6 part skipped");
        continue;
      }
      REQUIRE(p.ok);
      const IpAddress lo = ip(addr);
      ProcessAttribution mine({::getpid()}, {});
      std::string error;
      REQUIRE_MESSAGE(mine.refresh(error), error);
      const auto got = mine.lookup(SocketKey{kTcp, lo, p.client_port, lo, p.listen_port});
      REQUIRE(got);
      CHECK(got->pid == ::getpid());
      CHECK(got->name == comm);
      // The accepted side, both orders of a wire flow, and the listener's own port.
      CHECK(mine.lookup(SocketKey{kTcp, lo, p.listen_port, lo, p.client_port}));
      CHECK(mine.lookup_flow(kTcp, lo, p.listen_port, lo, p.client_port) == got);
      CHECK(mine.lookup_flow(kTcp, lo, p.client_port, lo, p.listen_port) == got);
      CHECK(mine.attribute_flow(kTcp, lo, p.client_port, lo, p.listen_port).owner == Owner::kSelected);
      CHECK_FALSE(mine.lookup(SocketKey{kUdp, lo, p.client_port, lo, p.listen_port}));
      CHECK(mine.stats().selected_processes >= 1);
      CHECK(mine.stats().socket_fds >= 3);

      ProcessAttribution other({dead_pid()}, {});
      REQUIRE_MESSAGE(other.refresh(error), error);
      CHECK_FALSE(other.lookup(SocketKey{kTcp, lo, p.client_port, lo, p.listen_port}));
      CHECK_FALSE(other.lookup_flow(kTcp, lo, p.listen_port, lo, p.client_port));
      CHECK(other.attribute_flow(kTcp, lo, p.listen_port, lo, p.client_port).owner == Owner::kOther);
      CHECK(other.stats().selected_processes == 0);

      ProcessAttribution none_by_name({}, {"no-such-proc-x"});
      REQUIRE_MESSAGE(none_by_name.refresh(error), error);
      CHECK_FALSE(none_by_name.lookup_flow(kTcp, lo, p.listen_port, lo, p.client_port));

      ProcessAttribution all({}, {});
      REQUIRE_MESSAGE(all.refresh(error), error);
      CHECK(all.lookup_flow(kTcp, lo, p.listen_port, lo, p.client_port) == got);
      // A port nobody uses between two addresses.
      CHECK(all.attribute_flow(kTcp, ip("192.0.2.1"), 1, ip("198.51.100.1"), 2).owner == Owner::kUnknown);
    }
  }

  TEST_CASE("a new flow: the table is re-read when it predates the flow's first packet, not otherwise") {
    ProcessAttribution mine({::getpid()}, {});
    std::string error;
    REQUIRE_MESSAGE(mine.refresh(error), error);
    const auto read_at = mine.table_time_ns();
    CHECK(read_at > 0);
    CHECK(mine.refreshes() == 1);
    const IpAddress lo = ip("127.0.0.1");

    // A connection made after the table was read, its first packet after it too: re-read, found.
    TcpPair p = tcp_pair(AF_INET, "127.0.0.1");
    REQUIRE(p.ok);
    CHECK(mine.attribute_flow(kTcp, lo, p.client_port, lo, p.listen_port).owner != Owner::kSelected);
    const auto later = mine.table_time_ns() + 1;
    auto a = mine.attribute_new_flow(kTcp, lo, p.client_port, lo, p.listen_port, later, error);
    CHECK(error.empty());
    CHECK(a.owner == Owner::kSelected);
    CHECK(a.process.pid == ::getpid());
    CHECK(mine.refreshes() == 2);
    CHECK(mine.table_time_ns() >= later);

    // Found in the table already: no re-read, whatever the packet's time.
    a = mine.attribute_new_flow(kTcp, lo, p.client_port, lo, p.listen_port, mine.table_time_ns() + 1, error);
    CHECK(a.owner == Owner::kSelected);
    CHECK(mine.refreshes() == 2);

    // Not in the table, but the table was read after the flow's first packet: it answers (no
    // re-read), even though the socket exists now: it did not when the packet was sent, by the
    // premise, and a burst of such flows must not re-read the table for each.
    TcpPair q = tcp_pair(AF_INET, "127.0.0.1");
    REQUIRE(q.ok);
    a = mine.attribute_new_flow(kTcp, lo, q.client_port, lo, q.listen_port, mine.table_time_ns() - 1, error);
    CHECK(a.owner != Owner::kSelected);
    CHECK(mine.refreshes() == 2);
    // The same flow with a packet newer than the table: re-read, found.
    a = mine.attribute_new_flow(kTcp, lo, q.client_port, lo, q.listen_port, mine.table_time_ns(), error);
    CHECK(a.owner == Owner::kSelected);
    CHECK(mine.refreshes() == 3);
  }

  TEST_CASE("a child process: found as a descendant of our pid, and by its name") {
    std::uint16_t port = 0;
    Fd listener = bound_socket(AF_INET, SOCK_STREAM, "127.0.0.1", port);
    REQUIRE(listener.ok());
    REQUIRE(::listen(listener.get(), 8) == 0);
    Child child = spawn_connecting_child(listener.get(), port, "fa-attr-child");
    REQUIRE(child.pid > 0);
    const IpAddress lo = ip("127.0.0.1");
    std::string error;

    ProcessAttribution by_parent({::getpid()}, {});
    REQUIRE_MESSAGE(by_parent.refresh(error), error);
    auto got = by_parent.lookup(SocketKey{kTcp, lo, child.port, lo, port});
    REQUIRE(got);
    CHECK(got->pid == child.pid);
    CHECK(got->name == "fa-attr-child");
    // Both ends are selected (ours and the child's); the wire flow names one of them.
    CHECK(by_parent.lookup_flow(kTcp, lo, port, lo, child.port));

    ProcessAttribution by_name({}, {"fa-attr-child"});
    REQUIRE_MESSAGE(by_name.refresh(error), error);
    got = by_name.lookup(SocketKey{kTcp, lo, child.port, lo, port});
    REQUIRE(got);
    CHECK(got->pid == child.pid);
    CHECK(by_name.lookup_flow(kTcp, lo, port, lo, child.port) == got);  // the child's end, not ours
    CHECK_FALSE(by_name.lookup(SocketKey{kTcp, lo, port, lo, child.port}));  // our accepted end

    // A name longer than comm's 15 bytes: matched on its first 15.
    Child long_named = spawn_connecting_child(listener.get(), port, "fa-attr-long-name-x");
    REQUIRE(long_named.pid > 0);
    ProcessAttribution by_long_name({}, {"fa-attr-long-name-x"});
    REQUIRE_MESSAGE(by_long_name.refresh(error), error);
    const auto long_got = by_long_name.lookup_flow(kTcp, lo, port, lo, long_named.port);
    REQUIRE(long_got);
    CHECK(long_got->pid == long_named.pid);
    CHECK(long_got->name == "fa-attr-long-na");
    // The first child's own end (our accepted end of it was inherited by the second child at fork).
    CHECK_FALSE(by_long_name.lookup(SocketKey{kTcp, lo, child.port, lo, port}));
    ProcessAttribution by_other_long_name({}, {"fa-attr-long-nXme-x"});
    REQUIRE_MESSAGE(by_other_long_name.refresh(error), error);
    CHECK_FALSE(by_other_long_name.lookup_flow(kTcp, lo, port, lo, long_named.port));
    reap(long_named);

    ProcessAttribution by_child_pid({child.pid}, {});
    REQUIRE_MESSAGE(by_child_pid.refresh(error), error);
    CHECK(by_child_pid.lookup(SocketKey{kTcp, lo, child.port, lo, port}) == got);
    CHECK_FALSE(by_child_pid.lookup(SocketKey{kTcp, lo, port, lo, child.port}));

    reap(child);
  }

  TEST_CASE("UDP: connected and unconnected sockets, wildcard local address") {
    const IpAddress lo = ip("127.0.0.1");
    std::uint16_t bound_port = 0, any_port = 0, peer_port = 0;
    Fd bound = bound_socket(AF_INET, SOCK_DGRAM, "127.0.0.1", bound_port);
    Fd any = bound_socket(AF_INET, SOCK_DGRAM, "0.0.0.0", any_port);
    Fd peer = bound_socket(AF_INET, SOCK_DGRAM, "127.0.0.1", peer_port);
    Fd connected(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    REQUIRE(bound.ok());
    REQUIRE(any.ok());
    REQUIRE(peer.ok());
    REQUIRE(connect_to(connected.get(), AF_INET, "127.0.0.1", peer_port));
    const std::uint16_t connected_port = local_port_of(connected.get());

    ProcessAttribution mine({::getpid()}, {});
    std::string error;
    REQUIRE_MESSAGE(mine.refresh(error), error);
    if (!mine.stats().udp_supported) {
      MESSAGE("this kernel lists no UDP sockets (no udp_diag): UDP part skipped");
      return;
    }
    const auto self = ProcessInfo{::getpid(), own_comm()};
    CHECK(mine.lookup(SocketKey{kUdp, lo, connected_port, lo, peer_port}) == self);
    CHECK(mine.lookup_flow(kUdp, lo, peer_port, lo, connected_port) == self);
    // Unconnected, bound to an address: any remote.
    CHECK(mine.lookup(SocketKey{kUdp, lo, bound_port, ip("203.0.113.9"), 53}) == self);
    CHECK(mine.lookup_flow(kUdp, ip("203.0.113.9"), 53, lo, bound_port) == self);
    CHECK_FALSE(mine.lookup(SocketKey{kUdp, ip("127.0.0.2"), bound_port, ip("203.0.113.9"), 53}));
    // Unconnected on 0.0.0.0: the port, on any of this machine's addresses...
    CHECK(mine.lookup_flow(kUdp, ip("203.0.113.9"), 53, lo, any_port) == self);
    // ...but not when neither side is ours (a remote server that happens to use that port).
    CHECK_FALSE(mine.lookup_flow(kUdp, ip("203.0.113.9"), any_port, ip("198.51.100.7"), 53));
    CHECK(mine.attribute_flow(kUdp, ip("203.0.113.9"), any_port, ip("198.51.100.7"), 53).owner == Owner::kUnknown);

    ProcessAttribution other({dead_pid()}, {});
    REQUIRE_MESSAGE(other.refresh(error), error);
    CHECK_FALSE(other.lookup(SocketKey{kUdp, lo, connected_port, lo, peer_port}));
    CHECK_FALSE(other.lookup_flow(kUdp, ip("203.0.113.9"), 53, lo, any_port));
  }

  TEST_CASE("IPv4 through dual-stack IPv6 sockets matches IPv4 keys") {
    const IpAddress lo = ip("127.0.0.1");
    std::uint16_t port = 0;
    Fd listener = bound_socket(AF_INET, SOCK_STREAM, "127.0.0.1", port);
    REQUIRE(listener.ok());
    REQUIRE(::listen(listener.get(), 8) == 0);
    Fd v6(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!v6.ok()) {
      MESSAGE("no IPv6 sockets here: skipped");
      return;
    }
    REQUIRE(connect_to(v6.get(), AF_INET6, "::ffff:127.0.0.1", port));
    Fd accepted(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    const std::uint16_t client_port = local_port_of(v6.get());

    // UDP on [::] dual-stack and v6-only.
    std::uint16_t dual_port = 0, only6_port = 0;
    Fd dual = bound_socket(AF_INET6, SOCK_DGRAM, "::", dual_port, 0);
    Fd only6 = bound_socket(AF_INET6, SOCK_DGRAM, "::", only6_port, 1);

    ProcessAttribution mine({::getpid()}, {});
    std::string error;
    REQUIRE_MESSAGE(mine.refresh(error), error);
    const auto self = ProcessInfo{::getpid(), own_comm()};
    CHECK(mine.lookup(SocketKey{kTcp, lo, client_port, lo, port}) == self);
    CHECK(mine.lookup_flow(kTcp, lo, port, lo, client_port) == self);
    // A key given in mapped form is the same socket.
    CHECK(mine.lookup(SocketKey{kTcp, ip("::ffff:127.0.0.1"), client_port, ip("::ffff:127.0.0.1"), port}) == self);

    if (mine.stats().udp_supported && dual.ok() && only6.ok()) {
      CHECK(mine.lookup_flow(kUdp, ip("203.0.113.9"), 53, lo, dual_port) == self);
      CHECK(mine.lookup_flow(kUdp, ip("2001:db8::9"), 53, ip("::1"), dual_port) == self);
      CHECK_FALSE(mine.lookup_flow(kUdp, ip("203.0.113.9"), 53, lo, only6_port));
      CHECK(mine.lookup_flow(kUdp, ip("2001:db8::9"), 53, ip("::1"), only6_port) == self);
    }
  }

  TEST_CASE("refresh time with this machine's sockets") {
    ProcessAttribution all({}, {});
    std::string error;
    REQUIRE_MESSAGE(all.refresh(error), error);
    std::uint64_t best = ~std::uint64_t{0}, worst = 0;
    for (int i = 0; i < 5; ++i) {
      REQUIRE_MESSAGE(all.refresh(error), error);
      best = std::min(best, all.stats().refresh_ns);
      worst = std::max(worst, all.stats().refresh_ns);
    }
    ProcessAttribution one({::getpid()}, {});
    REQUIRE_MESSAGE(one.refresh(error), error);
    const auto& s = all.stats();
    MESSAGE("refresh, no filter: " << s.sockets << " sockets, " << s.processes << " processes, " << s.socket_fds
                                   << " socket fds, " << s.unreadable_processes << " unreadable: "
                                   << best / 1000 << "-" << worst / 1000 << " us (sock_diag " << s.dump_ns / 1000
                                   << " us of the last); one pid selected: "
                                   << one.stats().refresh_ns / 1000 << " us, of which dump + fd scan "
                                   << one.stats().exposure_ns / 1000 << " us");
    CHECK(one.stats().exposure_ns <= one.stats().refresh_ns);
    CHECK(one.stats().dump_ns <= one.stats().exposure_ns);
    CHECK(s.sockets > 0);
  }

  TEST_CASE("refresh time with a thousand more loopback connections") {
    rlimit lim{};
    ::getrlimit(RLIMIT_NOFILE, &lim);
    const std::size_t room = lim.rlim_cur > 300 ? static_cast<std::size_t>(lim.rlim_cur - 200) / 2 : 0;
    const std::size_t pairs = std::min<std::size_t>(1000, room);
    if (pairs < 10) {
      MESSAGE("too few descriptors allowed: skipped");
      return;
    }
    std::uint16_t port = 0;
    Fd listener = bound_socket(AF_INET, SOCK_STREAM, "127.0.0.1", port);
    REQUIRE(listener.ok());
    REQUIRE(::listen(listener.get(), 1024) == 0);
    std::vector<Fd> fds;
    std::vector<std::uint16_t> client_ports;
    for (std::size_t i = 0; i < pairs; ++i) {
      Fd c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      REQUIRE(connect_to(c.get(), AF_INET, "127.0.0.1", port));
      client_ports.push_back(local_port_of(c.get()));
      fds.push_back(std::move(c));
      fds.emplace_back(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
      REQUIRE(fds.back().ok());
    }
    ProcessAttribution all({}, {});
    ProcessAttribution mine({::getpid()}, {});
    std::string error;
    std::uint64_t all_best = ~std::uint64_t{0}, mine_best = ~std::uint64_t{0}, dump_best = ~std::uint64_t{0};
    for (int i = 0; i < 3; ++i) {
      REQUIRE_MESSAGE(all.refresh(error), error);
      REQUIRE_MESSAGE(mine.refresh(error), error);
      all_best = std::min(all_best, all.stats().refresh_ns);
      mine_best = std::min(mine_best, mine.stats().refresh_ns);
      dump_best = std::min(dump_best, mine.stats().dump_ns);
    }
    CHECK(all.stats().sockets >= 2 * pairs);
    CHECK(mine.stats().socket_fds >= 2 * pairs);
    const IpAddress lo = ip("127.0.0.1");
    for (const std::uint16_t p : client_ports) {
      REQUIRE(mine.lookup_flow(kTcp, lo, port, lo, p));
    }
    MESSAGE("refresh with " << all.stats().sockets << " sockets (" << 2 * pairs << " ours): no filter "
                            << all_best / 1000 << " us, our pid " << mine_best / 1000 << " us (sock_diag "
                            << dump_best / 1000 << " us)");
  }
}
