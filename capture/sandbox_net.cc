#include "capture/sandbox_net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <nftables/libnftables.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <fmt/format.h>

#include "core/dynamic_library.h"

namespace flowaudit::capture {

namespace {

struct SockDeleter {
  void operator()(nl_sock* s) const { nl_socket_free(s); }
};
using NlSock = std::unique_ptr<nl_sock, SockDeleter>;

NlSock route_socket(std::string& error) {
  NlSock sk(nl_socket_alloc());
  if (!sk) {
    error = "netlink: out of memory";
    return nullptr;
  }
  if (const int err = nl_connect(sk.get(), NETLINK_ROUTE); err < 0) {
    error = fmt::format("netlink: {}", nl_geterror(err));
    return nullptr;
  }
  return sk;
}

std::string ipv4(std::uint32_t host_order) {
  in_addr a{};
  a.s_addr = htonl(host_order);
  char buf[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

// The interface index of `name` (0 when it does not exist).
int ifindex_of(nl_sock* sk, const std::string& name) {
  rtnl_link* link = nullptr;
  if (rtnl_link_get_kernel(sk, 0, name.c_str(), &link) < 0 || link == nullptr) return 0;
  const int index = rtnl_link_get_ifindex(link);
  rtnl_link_put(link);
  return index;
}

bool link_up(nl_sock* sk, const std::string& name, std::string& error) {
  rtnl_link* link = nullptr;
  if (const int err = rtnl_link_get_kernel(sk, 0, name.c_str(), &link); err < 0) {
    error = fmt::format("{}: {}", name, nl_geterror(err));
    return false;
  }
  rtnl_link* change = rtnl_link_alloc();
  rtnl_link_set_flags(change, IFF_UP);
  const int err = rtnl_link_change(sk, link, change, 0);
  rtnl_link_put(change);
  rtnl_link_put(link);
  if (err < 0) {
    error = fmt::format("{}: cannot bring it up: {}", name, nl_geterror(err));
    return false;
  }
  return true;
}

bool add_address(nl_sock* sk, const std::string& name, const std::string& cidr, std::string& error) {
  const int index = ifindex_of(sk, name);
  if (index == 0) {
    error = fmt::format("{}: no such interface", name);
    return false;
  }
  nl_addr* local = nullptr;
  if (nl_addr_parse(cidr.c_str(), AF_INET, &local) < 0) {
    error = fmt::format("bad address {}", cidr);
    return false;
  }
  rtnl_addr* addr = rtnl_addr_alloc();
  rtnl_addr_set_ifindex(addr, index);
  rtnl_addr_set_local(addr, local);
  const int err = rtnl_addr_add(sk, addr, 0);
  rtnl_addr_put(addr);
  nl_addr_put(local);
  if (err < 0) {
    error = fmt::format("{}: cannot add {}: {}", name, cidr, nl_geterror(err));
    return false;
  }
  return true;
}

bool write_file(const std::string& path, const std::string& value) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::write(fd, value.data(), value.size()) == static_cast<ssize_t>(value.size());
  ::close(fd);
  return ok;
}

std::string read_small_file(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  std::getline(in, text);
  return text;
}

// libnftables, loaded the first time a command needs it (core/dynamic_library.h: only `run` and
// the capture's --uid/--cgroup selection use it; linked, its dependencies slowed every start).
struct Nft {
  decltype(&nft_ctx_new) ctx_new = nullptr;
  decltype(&nft_ctx_free) ctx_free = nullptr;
  decltype(&nft_ctx_buffer_output) buffer_output = nullptr;
  decltype(&nft_ctx_buffer_error) buffer_error = nullptr;
  decltype(&nft_run_cmd_from_buffer) run_cmd = nullptr;
  decltype(&nft_ctx_get_error_buffer) error_buffer = nullptr;
  decltype(&nft_ctx_get_output_buffer) output_buffer = nullptr;
  std::string error;  // why it could not be loaded
};

const Nft& nft_api() {
  static const Nft api = [] {
    static core::DynamicLibrary lib;
    Nft n;
    if (lib.open("libnftables.so.1", "libnftables1")) {
      lib.bind(n.ctx_new, "nft_ctx_new");
      lib.bind(n.ctx_free, "nft_ctx_free");
      lib.bind(n.buffer_output, "nft_ctx_buffer_output");
      lib.bind(n.buffer_error, "nft_ctx_buffer_error");
      lib.bind(n.run_cmd, "nft_run_cmd_from_buffer");
      lib.bind(n.error_buffer, "nft_ctx_get_error_buffer");
      lib.bind(n.output_buffer, "nft_ctx_get_output_buffer");
    }
    n.error = lib.error();
    return n;
  }();
  return api;
}

struct NftDeleter {
  void operator()(nft_ctx* c) const { nft_api().ctx_free(c); }
};

}  // namespace

bool load_nftables(std::string& error) {
  const Nft& api = nft_api();
  if (api.error.empty()) return true;
  error = "nftables: " + api.error;
  return false;
}

bool run_nft(const std::string& commands, std::string& error, std::string* output) {
  if (!load_nftables(error)) return false;
  const Nft& api = nft_api();
  std::unique_ptr<nft_ctx, NftDeleter> ctx(api.ctx_new(NFT_CTX_DEFAULT));
  if (!ctx) {
    error = "nftables: cannot create a context";
    return false;
  }
  api.buffer_output(ctx.get());
  api.buffer_error(ctx.get());
  if (api.run_cmd(ctx.get(), commands.c_str()) != 0) {
    std::string text = api.error_buffer(ctx.get());
    if (const auto nl = text.find('\n'); nl != std::string::npos) text.resize(nl);
    error = fmt::format("nftables: {}", text.empty() ? "command failed" : text);
    return false;
  }
  if (output != nullptr) *output = api.output_buffer(ctx.get());
  return true;
}

namespace {

bool nft(const std::string& commands, std::string& error, std::string* output = nullptr) {
  return run_nft(commands, error, output);
}

// A run's process is alive: /proc/PID/comm says flowaudit (a reused pid of another program is not).
bool run_alive(long pid) {
  return pid > 0 && read_small_file(fmt::format("/proc/{}/comm", pid)) == "flowaudit";
}

// The pid in NAME when NAME is PREFIX<digits>SUFFIX, else -1.
long pid_in(std::string_view name, std::string_view prefix, std::string_view suffix) {
  if (!name.starts_with(prefix) || !name.ends_with(suffix) || name.size() <= prefix.size() + suffix.size()) return -1;
  const auto digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.size() > 9) return -1;
  long pid = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return -1;
    pid = pid * 10 + (c - '0');
  }
  return pid;
}

}  // namespace

std::string SandboxAddresses::host() const { return ipv4(network + 1); }
std::string SandboxAddresses::inside() const { return ipv4(network + 2); }
std::string SandboxAddresses::cidr() const { return ipv4(network) + "/30"; }

std::string sandbox_host_interface(pid_t pid) { return fmt::format("fa{}h", pid); }
std::string sandbox_inside_interface(pid_t pid) { return fmt::format("fa{}n", pid); }
std::string sandbox_table(pid_t pid) { return fmt::format("flowaudit_{}", pid); }

bool pick_sandbox_addresses(SandboxAddresses& out, std::string& error) {
  // Every network the host has an address in or a route to.
  struct Net {
    std::uint32_t addr, mask;
  };
  std::vector<Net> used;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) {
    error = fmt::format("cannot list the host's addresses: {}", std::strerror(errno));
    return false;
  }
  for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET || i->ifa_netmask == nullptr) continue;
    sockaddr_in a{}, m{};
    std::memcpy(&a, i->ifa_addr, sizeof a);
    std::memcpy(&m, i->ifa_netmask, sizeof m);
    used.push_back({ntohl(a.sin_addr.s_addr), ntohl(m.sin_addr.s_addr)});
  }
  ::freeifaddrs(list);
  // /proc/net/route: Iface Destination Gateway Flags RefCnt Use Metric Mask ..., hex in network order.
  std::ifstream routes("/proc/net/route");
  std::string line;
  std::getline(routes, line);
  for (int n = 0; n < 100000 && std::getline(routes, line); ++n) {
    std::istringstream fields(line);
    std::string iface, dst, gw, flags, refcnt, use, metric, mask;
    if (!(fields >> iface >> dst >> gw >> flags >> refcnt >> use >> metric >> mask)) continue;
    const auto d = static_cast<std::uint32_t>(std::strtoul(dst.c_str(), nullptr, 16));
    const auto k = static_cast<std::uint32_t>(std::strtoul(mask.c_str(), nullptr, 16));
    if (k == 0) continue;  // the default route overlaps everything
    used.push_back({ntohl(d), ntohl(k)});
  }
  const auto overlaps = [&](std::uint32_t net) {
    for (const auto& u : used) {
      const std::uint32_t mask = u.mask & 0xfffffffcU;  // the wider of the two masks decides
      if ((net & mask) == (u.addr & mask)) return true;
    }
    return false;
  };
  const auto start = static_cast<std::uint32_t>(::getpid() % 16384) * 4;
  for (const std::uint32_t base : {0x0afd0000U, 0x647f0000U}) {  // 10.253.0.0/16, 100.127.0.0/16
    for (std::uint32_t i = 0; i < 16384; ++i) {
      const std::uint32_t net = base + ((start + i * 4) & 0xffffU);
      if ((net & 0xffffU) == 0 || (net & 0xffffU) == 0xfffc) continue;
      if (!overlaps(net)) {
        out.network = net;
        return true;
      }
    }
  }
  error = "no free /30 in 10.253.0.0/16 or 100.127.0.0/16 for the namespace's link";
  return false;
}

std::string first_ipv4_nameserver(const std::string& resolv_conf) {
  std::istringstream in(resolv_conf);
  std::string line;
  for (int n = 0; n < 10000 && std::getline(in, line); ++n) {
    std::istringstream fields(line);
    std::string key, value;
    if (!(fields >> key >> value) || key != "nameserver") continue;
    in_addr a{};
    if (::inet_pton(AF_INET, value.c_str(), &a) == 1) return value;
  }
  return {};
}

bool create_veth(pid_t run_pid, pid_t ns_pid, const SandboxAddresses& a, std::string& error) {
  auto sk = route_socket(error);
  if (!sk) return false;
  const std::string host = sandbox_host_interface(run_pid);
  rtnl_link* link = rtnl_link_veth_alloc();
  if (link == nullptr) {
    error = "netlink: out of memory";
    return false;
  }
  rtnl_link_set_name(link, host.c_str());
  rtnl_link* peer = rtnl_link_veth_get_peer(link);
  rtnl_link_set_name(peer, sandbox_inside_interface(run_pid).c_str());
  rtnl_link_set_ns_pid(peer, ns_pid);
  const int err = rtnl_link_add(sk.get(), link, NLM_F_CREATE | NLM_F_EXCL);
  rtnl_link_put(peer);
  rtnl_link_veth_release(link);
  if (err < 0) {
    error = fmt::format("cannot create the veth pair {}: {}", host, nl_geterror(err));
    return false;
  }
  // DNS to the host end may be redirected to a loopback resolver (systemd-resolved's 127.0.0.53).
  if (!write_file(fmt::format("/proc/sys/net/ipv4/conf/{}/route_localnet", host), "1")) {
    error = fmt::format("{}: cannot switch on route_localnet: {}", host, std::strerror(errno));
    return false;
  }
  return add_address(sk.get(), host, a.host() + "/30", error) && link_up(sk.get(), host, error);
}

bool configure_inside(pid_t run_pid, const SandboxAddresses& a, std::string& error) {
  auto sk = route_socket(error);
  if (!sk) return false;
  const std::string inside = sandbox_inside_interface(run_pid);
  if (!link_up(sk.get(), "lo", error) || !add_address(sk.get(), inside, a.inside() + "/30", error) ||
      !link_up(sk.get(), inside, error)) {
    return false;
  }
  nl_addr* dst = nullptr;
  nl_addr* gw = nullptr;
  if (nl_addr_parse("0.0.0.0/0", AF_INET, &dst) < 0 || nl_addr_parse(a.host().c_str(), AF_INET, &gw) < 0) {
    error = "netlink: cannot parse the default route";
    return false;
  }
  rtnl_route* route = rtnl_route_alloc();
  rtnl_route_set_family(route, AF_INET);
  rtnl_route_set_dst(route, dst);
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  rtnl_route_nh_set_gateway(nh, gw);
  rtnl_route_nh_set_ifindex(nh, ifindex_of(sk.get(), inside));
  rtnl_route_add_nexthop(route, nh);
  const int err = rtnl_route_add(sk.get(), route, NLM_F_CREATE);
  rtnl_route_put(route);
  nl_addr_put(dst);
  nl_addr_put(gw);
  if (err < 0) {
    error = fmt::format("cannot add the default route inside: {}", nl_geterror(err));
    return false;
  }
  return true;
}

void delete_veth(const std::string& host_interface) {
  std::string error;
  auto sk = route_socket(error);
  if (!sk) return;
  rtnl_link* link = rtnl_link_alloc();
  rtnl_link_set_name(link, host_interface.c_str());
  rtnl_link_delete(sk.get(), link);  // gone already when the namespace went: nothing to do
  rtnl_link_put(link);
}

bool add_nat_table(pid_t run_pid, const SandboxAddresses& a, const std::string& resolver, std::string& error) {
  const std::string table = sandbox_table(run_pid);
  const std::string dev = sandbox_host_interface(run_pid);
  std::string dns;
  if (!resolver.empty()) {
    dns = fmt::format(
        "  chain prerouting {{ type nat hook prerouting priority dstnat; policy accept;\n"
        "    iifname \"{0}\" ip daddr {1} udp dport 53 dnat ip to {2}\n"
        "    iifname \"{0}\" ip daddr {1} tcp dport 53 dnat ip to {2}\n  }}\n",
        dev, a.host(), resolver);
  }
  const std::string rules = fmt::format(
      "add table inet {0}\n"
      "table inet {0} {{\n{3}"
      "  chain postrouting {{ type nat hook postrouting priority srcnat; policy accept;\n"
      "    ip saddr {2} oifname != \"{1}\" masquerade\n  }}\n"
      "  chain forward {{ type filter hook forward priority filter; policy accept;\n"
      "    iifname \"{1}\" accept\n"
      "    oifname \"{1}\" ct state established,related accept\n"
      "    oifname \"{1}\" drop\n  }}\n"
      "}}\n",
      table, dev, a.inside(), dns);
  return nft(rules, error);
}

bool delete_nat_table(pid_t run_pid, std::string& error) {
  return nft(fmt::format("delete table inet {}", sandbox_table(run_pid)), error);
}

std::vector<std::string> remove_stale_sandboxes() {
  std::vector<std::string> removed;
  std::string error, listing;
  if (nft("list tables inet", error, &listing)) {
    std::istringstream in(listing);
    std::string word1, word2, name;
    while (in >> word1 >> word2 >> name) {
      const long pid = pid_in(name, "flowaudit_", "");
      if (word1 != "table" || pid < 0 || run_alive(pid)) continue;
      if (nft("delete table inet " + name, error)) removed.push_back("table " + name);
    }
  }
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/sys/class/net", ec)) {
    const std::string name = entry.path().filename().string();
    const long pid = pid_in(name, "fa", "h");
    if (pid < 0 || run_alive(pid)) continue;
    delete_veth(name);
    removed.push_back("link " + name);
  }
  // The key log directory of a killed run still holds its TLS keys.
  for (const auto& entry : std::filesystem::directory_iterator("/tmp", ec)) {
    const std::string name = entry.path().filename().string();
    const auto dot = name.rfind('.');
    if (!name.starts_with("flowaudit-run.") || dot == std::string::npos) continue;
    const long pid = pid_in(std::string_view(name).substr(0, dot), "flowaudit-run.", "");
    struct stat st {};
    if (pid < 0 || run_alive(pid) || ::lstat(entry.path().c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
        st.st_uid != 0) {
      continue;
    }
    for (const char* file : {"/keylog", "/resolv.conf"}) ::unlink((entry.path().string() + file).c_str());
    if (::rmdir(entry.path().c_str()) == 0) removed.push_back("directory " + entry.path().string());
  }
  return removed;
}

ForwardingGuard::~ForwardingGuard() {
  if (fd_ >= 0) ::close(fd_);
}

bool ForwardingGuard::enable(std::string& error) {
  const char* path = "/proc/sys/net/ipv4/ip_forward";
  fd_ = ::open(path, O_RDWR | O_CLOEXEC);
  if (fd_ < 0) {
    error = fmt::format("{}: {}", path, std::strerror(errno));
    return false;
  }
  char value = '0';
  if (::pread(fd_, &value, 1, 0) != 1) value = '0';
  if (value == '1') return true;
  if (::pwrite(fd_, "1", 1, 0) != 1) {
    error = fmt::format("{}: cannot switch IPv4 forwarding on: {}", path, std::strerror(errno));
    return false;
  }
  changed_ = true;
  return true;
}

void ForwardingGuard::restore(pid_t run_pid) {
  if (!changed_ || fd_ < 0) return;
  // Another live run still forwards through the host: leave forwarding on for it.
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/sys/class/net", ec)) {
    const long pid = pid_in(entry.path().filename().string(), "fa", "h");
    if (pid > 0 && pid != run_pid && run_alive(pid)) return;
  }
  if (::pwrite(fd_, "0", 1, 0) == 1) changed_ = false;
}

}  // namespace flowaudit::capture
