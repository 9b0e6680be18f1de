// The one table of link types: what the decoder reads, what the file source and the reports call
// them, and what the help text and the "unsupported link type" messages list.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace flowaudit::capture {

// LINKTYPE_* values (what pcap and pcapng files store).
namespace linktype {
inline constexpr std::uint32_t kNull = 0;
inline constexpr std::uint32_t kEthernet = 1;
inline constexpr std::uint32_t kPpp = 9;
inline constexpr std::uint32_t kPppHdlc = 50;  // PPP in HDLC-like framing (DLT_PPP_SERIAL)
inline constexpr std::uint32_t kPppEther = 51;  // PPPoE session header, no Ethernet
inline constexpr std::uint32_t kRaw = 101;
inline constexpr std::uint32_t kCiscoHdlc = 104;
inline constexpr std::uint32_t kIeee80211 = 105;
inline constexpr std::uint32_t kLoop = 108;
inline constexpr std::uint32_t kLinuxSll = 113;
inline constexpr std::uint32_t kRadiotap = 127;
inline constexpr std::uint32_t kPpi = 192;
inline constexpr std::uint32_t kPppWithDir = 204;
inline constexpr std::uint32_t kIpv4 = 228;
inline constexpr std::uint32_t kIpv6 = 229;
inline constexpr std::uint32_t kNflog = 239;
inline constexpr std::uint32_t kNetlink = 253;
inline constexpr std::uint32_t kLinuxSll2 = 276;
}  // namespace linktype

struct LinkTypeInfo {
  std::uint32_t value;
  const char* name;         // in reports: "ethernet", "nflog", ...
  const char* description;  // for the help text
  bool supported;           // the decoder reads it
  const char* why_not;      // unsupported: why, in words a user can act on
};

// Every link type flowaudit names, supported or known-unsupported.
std::span<const LinkTypeInfo> link_types() noexcept;
const LinkTypeInfo* find_link_type(std::uint32_t value) noexcept;
bool is_supported_link_type(std::uint32_t value) noexcept;

// "ethernet", ...; a type not in the table as libpcap names it ("linktype-147 (USER0)").
std::string link_type_name(std::uint32_t value);
// "ethernet, linux-sll, ..." (the supported ones, table order).
std::string supported_link_type_names();
// One line for an input whose link type the decoder does not read: the name, why (if the table
// says), and the supported list.
std::string unsupported_link_type_message(std::uint32_t value);

}  // namespace flowaudit::capture
