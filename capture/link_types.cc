#include "capture/link_types.h"

#include <fmt/format.h>
#include <pcap/pcap.h>

#include <array>

namespace flowaudit::capture {
namespace {

constexpr std::array kTable = {
    LinkTypeInfo{linktype::kEthernet, "ethernet", "Ethernet (802.1Q/802.1ad tags, PPPoE sessions, MPLS)", true, ""},
    LinkTypeInfo{linktype::kLinuxSll, "linux-sll", "Linux cooked capture v1 (tcpdump -i any)", true, ""},
    LinkTypeInfo{linktype::kLinuxSll2, "linux-sll2", "Linux cooked capture v2", true, ""},
    LinkTypeInfo{linktype::kRaw, "raw", "raw IPv4/IPv6", true, ""},
    LinkTypeInfo{linktype::kIpv4, "ipv4", "raw IPv4", true, ""},
    LinkTypeInfo{linktype::kIpv6, "ipv6", "raw IPv6", true, ""},
    LinkTypeInfo{linktype::kNull, "null", "BSD loopback", true, ""},
    LinkTypeInfo{linktype::kLoop, "loop", "OpenBSD loopback", true, ""},
    LinkTypeInfo{linktype::kPpp, "ppp", "PPP", true, ""},
    LinkTypeInfo{linktype::kPppHdlc, "ppp-hdlc", "PPP in HDLC-like framing (also Cisco HDLC)", true, ""},
    LinkTypeInfo{linktype::kPppWithDir, "ppp-with-dir", "PPP with a direction byte", true, ""},
    LinkTypeInfo{linktype::kPppEther, "ppp-ether", "PPPoE session without Ethernet", true, ""},
    LinkTypeInfo{linktype::kCiscoHdlc, "c-hdlc", "Cisco HDLC", true, ""},
    LinkTypeInfo{linktype::kNflog, "nflog", "Linux NFLOG (iptables/nftables `log group`, tcpdump -i nflog:N)", true,
                 ""},
    LinkTypeInfo{linktype::kIeee80211, "ieee802.11", "802.11 data frames (LLC/SNAP; protected frames counted)", true,
                 ""},
    LinkTypeInfo{linktype::kRadiotap, "ieee802.11-radiotap", "802.11 with a radiotap header", true, ""},
    LinkTypeInfo{linktype::kPpi, "ppi", "802.11 (or Ethernet) with a PPI header", true, ""},
    LinkTypeInfo{linktype::kNetlink, "netlink", "Linux netlink (nlmon)", false,
                 "Linux netlink messages between the kernel and processes, not IP traffic: there are no flows "
                 "to audit (capture on a network interface or nflog instead)"},
};

}  // namespace

std::span<const LinkTypeInfo> link_types() noexcept { return kTable; }

const LinkTypeInfo* find_link_type(std::uint32_t value) noexcept {
  for (const auto& t : kTable) {
    if (t.value == value) return &t;
  }
  return nullptr;
}

bool is_supported_link_type(std::uint32_t value) noexcept {
  const LinkTypeInfo* t = find_link_type(value);
  return t != nullptr && t->supported;
}

std::string link_type_name(std::uint32_t value) {
  if (const LinkTypeInfo* t = find_link_type(value)) return t->name;
  // Name it the way libpcap does, so the user can look it up.
  const char* name = pcap_datalink_val_to_name(static_cast<int>(value));
  return name != nullptr ? fmt::format("linktype-{} ({})", value, name) : fmt::format("linktype-{}", value);
}

std::string supported_link_type_names() {
  std::string out;
  for (const auto& t : kTable) {
    if (!t.supported) continue;
    if (!out.empty()) out += ", ";
    out += t.name;
  }
  return out;
}

std::string unsupported_link_type_message(std::uint32_t value) {
  const LinkTypeInfo* t = find_link_type(value);
  if (t != nullptr && *t->why_not != '\0') {
    return fmt::format("unsupported link type {}: {}", t->name, t->why_not);
  }
  return fmt::format("unsupported link type {} (supported: {})", link_type_name(value), supported_link_type_names());
}

}  // namespace flowaudit::capture
