#include "capture/process_attribution.h"

#include <fmt/format.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <exception>
#include <string_view>
#include <utility>

namespace flowaudit::capture {
namespace {

std::uint64_t mix(std::uint64_t h, std::uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h;
}

bool is_unspecified(const core::IpAddress& ip) {
  const auto& b = ip.bytes();
  return std::all_of(b.begin(), b.end(), [](std::uint8_t x) { return x == 0; });
}

// The marker the wildcard table uses for "any address of this family".
core::IpAddress any_of_family(const core::IpAddress& ip) {
  if (ip.is_v4()) return core::IpAddress::v4(0u);
  const std::array<std::uint8_t, 16> zero{};
  return core::IpAddress::v6(std::span<const std::uint8_t, 16>(zero));
}

// A key given as IPv4-mapped IPv6 is the IPv4 address, as in the table.
core::IpAddress unmapped(const core::IpAddress& ip) {
  if (!ip.is_v6()) return ip;
  static constexpr std::uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(ip.bytes().data(), kMappedPrefix, 12) != 0) return ip;
  return core::IpAddress::v4(std::span<const std::uint8_t, 4>(ip.bytes().data() + 12, 4));
}

// Keeps the first owner, except that a selected owner replaces "another process's" (two sockets
// with one key: SO_REUSEPORT groups, or a v6 and a v4 listener on one port).
template <typename Map, typename Key>
void put(Map& map, const Key& key, std::uint32_t owner, std::uint32_t other) {
  auto [it, inserted] = map.try_emplace(key, owner);
  if (!inserted && it->second == other && owner != other) it->second = owner;
}

template <typename Set>
void add_interface_addresses(Set& out, std::size_t limit) {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return;  // the sockets' own addresses still fill the set
  for (const ifaddrs* i = list; i != nullptr && out.size() < limit; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    if (i->ifa_addr->sa_family == AF_INET) {
      sockaddr_in sa;
      std::memcpy(&sa, i->ifa_addr, sizeof sa);
      std::array<std::uint8_t, 4> b;
      std::memcpy(b.data(), &sa.sin_addr, 4);
      out.insert(core::IpAddress::v4(std::span<const std::uint8_t, 4>(b)));
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      sockaddr_in6 sa;
      std::memcpy(&sa, i->ifa_addr, sizeof sa);
      std::array<std::uint8_t, 16> b;
      std::memcpy(b.data(), &sa.sin6_addr, 16);
      out.insert(core::IpAddress::v6(std::span<const std::uint8_t, 16>(b)));
    }
  }
  ::freeifaddrs(list);
}

// The kernel keeps 15 bytes of a process name (TASK_COMM_LEN 16 with the NUL): a longer name given
// on the command line matches a comm that is its first 15 bytes.
bool comm_matches(std::string_view name, std::string_view comm) {
  constexpr std::size_t kCommBytes = 15;
  if (name.size() > kCommBytes && comm.size() == kCommBytes) return name.substr(0, kCommBytes) == comm;
  return name == comm;
}

}  // namespace

const char* to_string(Owner o) noexcept {
  switch (o) {
    case Owner::kSelected: return "selected";
    case Owner::kOther: return "other";
    case Owner::kUnknown: return "unknown";
  }
  return "unknown";
}

std::size_t ProcessAttribution::Hash::operator()(const ExactKey& e) const noexcept {
  std::uint64_t h = mix(e.k.local_ip.hash(), e.k.remote_ip.hash());
  h = mix(h, (std::uint64_t{e.k.protocol} << 32) | (std::uint64_t{e.k.local_port} << 16) | e.k.remote_port);
  return static_cast<std::size_t>(h);
}

std::size_t ProcessAttribution::Hash::operator()(const LocalKey& l) const noexcept {
  return static_cast<std::size_t>(mix(l.ip.hash(), (std::uint64_t{l.protocol} << 16) | l.port));
}

ProcessAttribution::ProcessAttribution(std::vector<int> pids, std::vector<std::string> names)
    : pids_(std::move(pids)), names_(std::move(names)) {
  if (pids_.size() > kMaxSelectors) pids_.resize(kMaxSelectors);
  if (names_.size() > kMaxSelectors) names_.resize(kMaxSelectors);
  std::sort(pids_.begin(), pids_.end());
}

bool ProcessAttribution::refresh(std::string& error) {
  table_time_ns_ = core::wall_clock_ns();
  ++refreshes_;
  try {
    const auto start = std::chrono::steady_clock::now();
    // 1. Processes, and which of them are selected: seeds by pid or name, then their descendants.
    // This is the slow part (a stat and often a cmdline read per process), so it comes first.
    if (!list_processes(procs_, kMaxProcesses, error)) return false;
    const bool filter = filtering();
    std::vector<char> selected(procs_.size(), filter ? 0 : 1);
    if (filter) {
      std::vector<std::size_t> queue;
      for (std::size_t i = 0; i < procs_.size(); ++i) {
        const ProcEntry& p = procs_[i];
        bool seed = std::binary_search(pids_.begin(), pids_.end(), p.pid);
        if (!seed && !names_.empty()) {
          seed = std::any_of(names_.begin(), names_.end(), [&](const std::string& n) { return comm_matches(n, p.comm); });
          if (!seed) {
            const std::string argv0 = read_argv0(p.pid);
            seed = !argv0.empty() && std::find(names_.begin(), names_.end(), argv0) != names_.end();
          }
        }
        if (seed) {
          selected[i] = 1;
          queue.push_back(i);
        }
      }
      // Children by parent pid, sorted, so each process's children are one equal_range.
      std::vector<std::pair<int, std::size_t>> children;
      children.reserve(procs_.size());
      for (std::size_t i = 0; i < procs_.size(); ++i) children.emplace_back(procs_[i].ppid, i);
      std::sort(children.begin(), children.end());
      // Each process enters the queue once (the `selected` mark), so this ends after procs_.size().
      for (std::size_t q = 0; q < queue.size(); ++q) {
        const int parent = procs_[queue[q]].pid;
        auto it = std::lower_bound(children.begin(), children.end(), std::pair<int, std::size_t>(parent, 0));
        for (; it != children.end() && it->first == parent; ++it) {
          if (selected[it->second] == 0) {
            selected[it->second] = 1;
            queue.push_back(it->second);
          }
        }
      }
    }

    // 2. The kernel's sockets, then at once the selected processes' descriptors (see the header).
    DiagDumpStats dump_stats;
    const auto dump_start = std::chrono::steady_clock::now();
    if (!dump_inet_sockets(sockets_, kMaxSockets, netlink_buffer_, dump_stats, error)) return false;
    const auto dumped = std::chrono::steady_clock::now();

    // 3. Socket inodes of the selected processes, lowest pid first.
    Table t;
    AttributionStats st;
    st.processes = procs_.size();
    st.udp_supported = dump_stats.udp_supported;
    std::unordered_map<std::uint64_t, std::uint32_t> owner_of;
    for (std::size_t i = 0; i < procs_.size(); ++i) {
      if (selected[i] == 0) continue;
      ++st.selected_processes;
      inodes_.clear();
      const FdScan r = socket_inodes_of(procs_[i].pid, kMaxFdsPerProcess, inodes_);
      if (r == FdScan::kDenied) {
        if (filter) {
          error = fmt::format("no permission to read /proc/{}/fd ({}): run as root or with CAP_SYS_PTRACE",
                              procs_[i].pid, procs_[i].comm);
          return false;
        }
        ++st.unreadable_processes;
        continue;
      }
      if (inodes_.empty()) continue;
      st.socket_fds += inodes_.size();
      if (st.socket_fds > kMaxSocketFds) {
        error = fmt::format("more than {} socket descriptors in the selected processes", kMaxSocketFds);
        return false;
      }
      const auto index = static_cast<std::uint32_t>(t.processes.size());
      t.processes.push_back(ProcessInfo{procs_[i].pid, procs_[i].comm});
      for (const std::uint64_t inode : inodes_) owner_of.try_emplace(inode, index);
    }

    const auto scanned = std::chrono::steady_clock::now();

    // 4. Join on the inode.
    for (const DiagSocket& s : sockets_) {
      if (s.inode == 0) continue;
      ++st.sockets;
      const auto it = owner_of.find(s.inode);
      const std::uint32_t owner = it == owner_of.end() ? kOtherProcess : it->second;
      const bool local_any = is_unspecified(s.local_ip);
      if (!local_any && t.local_addresses.size() < kMaxLocalAddresses) t.local_addresses.insert(s.local_ip);
      if (s.remote_port != 0) {
        put(t.connected, ExactKey{SocketKey{s.protocol, s.local_ip, s.local_port, s.remote_ip, s.remote_port}},
            owner, kOtherProcess);
      } else if (!local_any) {
        put(t.bound, LocalKey{s.protocol, s.local_ip, s.local_port}, owner, kOtherProcess);
      } else {
        put(t.wildcard, LocalKey{s.protocol, any_of_family(s.local_ip), s.local_port}, owner, kOtherProcess);
        // A dual-stack socket on [::] also receives IPv4.
        if (s.family == AF_INET6 && !s.v6only && s.local_ip.is_v6()) {
          put(t.wildcard, LocalKey{s.protocol, core::IpAddress::v4(0u), s.local_port}, owner, kOtherProcess);
        }
      }
    }
    add_interface_addresses(t.local_addresses, kMaxLocalAddresses);

    const auto ns = [](auto d) {
      return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
    };
    st.dump_ns = ns(dumped - dump_start);
    st.exposure_ns = ns(scanned - dump_start);
    st.refresh_ns = ns(std::chrono::steady_clock::now() - start);
    table_ = std::move(t);
    stats_ = st;
    error.clear();
    return true;
  } catch (const std::exception& e) {  // allocation failure: keep the previous table
    error = fmt::format("process attribution: {}", e.what());
    return false;
  }
}

std::optional<std::uint32_t> ProcessAttribution::find(const SocketKey& key, Tier tier) const {
  switch (tier) {
    case Tier::kExact: {
      const auto it = table_.connected.find(ExactKey{key});
      if (it != table_.connected.end()) return it->second;
      return std::nullopt;
    }
    case Tier::kBound: {
      const auto it = table_.bound.find(LocalKey{key.protocol, key.local_ip, key.local_port});
      if (it != table_.bound.end()) return it->second;
      return std::nullopt;
    }
    case Tier::kWildcard: {
      // Port alone would also match a remote server on that port: only when the local side is ours.
      if (!key.local_ip.is_v4() && !key.local_ip.is_v6()) return std::nullopt;
      if (!table_.local_addresses.contains(key.local_ip)) return std::nullopt;
      const auto it = table_.wildcard.find(LocalKey{key.protocol, any_of_family(key.local_ip), key.local_port});
      if (it != table_.wildcard.end()) return it->second;
      return std::nullopt;
    }
  }
  return std::nullopt;
}

Attribution ProcessAttribution::answer(std::uint32_t owner) const {
  Attribution a;
  if (owner == kOtherProcess || owner >= table_.processes.size()) {
    a.owner = Owner::kOther;
    return a;
  }
  a.owner = Owner::kSelected;
  a.process = table_.processes[owner];
  return a;
}

std::optional<ProcessInfo> ProcessAttribution::lookup(const SocketKey& key) const {
  SocketKey k = key;
  k.local_ip = unmapped(k.local_ip);
  k.remote_ip = unmapped(k.remote_ip);
  for (const Tier tier : {Tier::kExact, Tier::kBound, Tier::kWildcard}) {
    if (const auto owner = find(k, tier)) {
      Attribution a = answer(*owner);
      if (a.owner != Owner::kSelected) return std::nullopt;  // the most specific socket decides
      return std::move(a.process);
    }
  }
  return std::nullopt;
}

Attribution ProcessAttribution::attribute_flow(std::uint8_t protocol, const core::IpAddress& a, std::uint16_t a_port,
                                               const core::IpAddress& b, std::uint16_t b_port) const {
  const core::IpAddress ua = unmapped(a);
  const core::IpAddress ub = unmapped(b);
  const SocketKey a_local{protocol, ua, a_port, ub, b_port};
  const SocketKey b_local{protocol, ub, b_port, ua, a_port};
  // Within a tier, a selected owner wins over another app's: on loopback both ends are local sockets,
  // and the selected app may be either the client or the server.
  for (const Tier tier : {Tier::kExact, Tier::kBound, Tier::kWildcard}) {
    std::optional<Attribution> other;
    for (const SocketKey* k : {&a_local, &b_local}) {
      if (const auto owner = find(*k, tier)) {
        Attribution r = answer(*owner);
        if (r.owner == Owner::kSelected) return r;
        other = std::move(r);
      }
    }
    if (other) return *other;
  }
  return Attribution{};
}

Attribution ProcessAttribution::attribute_new_flow(std::uint8_t protocol, const core::IpAddress& a,
                                                   std::uint16_t a_port, const core::IpAddress& b, std::uint16_t b_port,
                                                   core::TimestampNs first_packet_ns, std::string& error) {
  Attribution r = attribute_flow(protocol, a, a_port, b, b_port);
  if (r.owner == Owner::kSelected || table_time_ns_ > first_packet_ns) return r;
  if (!refresh(error)) return r;
  return attribute_flow(protocol, a, a_port, b, b_port);
}

std::optional<ProcessInfo> ProcessAttribution::lookup_flow(std::uint8_t protocol, const core::IpAddress& a,
                                                           std::uint16_t a_port, const core::IpAddress& b,
                                                           std::uint16_t b_port) const {
  Attribution r = attribute_flow(protocol, a, a_port, b, b_port);
  if (r.owner != Owner::kSelected) return std::nullopt;
  return std::move(r.process);
}

}  // namespace flowaudit::capture
