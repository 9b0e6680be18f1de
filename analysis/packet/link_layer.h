// Link layers: Ethernet, Linux cooked v1/v2, raw IP, BSD null/loop, with 802.1Q/802.1ad tags.
#pragma once

#include <cstdint>
#include <span>

#include "analysis/packet/anomaly.h"

namespace flowaudit::analysis::packet {

inline constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr std::uint16_t kEtherTypeIpv6 = 0x86DD;

namespace linktype {
inline constexpr std::uint32_t kNull = 0;
inline constexpr std::uint32_t kEthernet = 1;
inline constexpr std::uint32_t kRaw = 101;
inline constexpr std::uint32_t kLoop = 108;
inline constexpr std::uint32_t kLinuxSll = 113;
inline constexpr std::uint32_t kIpv4 = 228;
inline constexpr std::uint32_t kIpv6 = 229;
inline constexpr std::uint32_t kLinuxSll2 = 276;
}  // namespace linktype

bool is_supported_link_type(std::uint32_t link_type) noexcept;

struct NetworkLayer {
  std::uint16_t ether_type = 0;  // of the payload; 0 when not known
  std::span<const std::uint8_t> payload;
  std::uint16_t vlan_ids[2] = {0, 0};  // outermost first
  std::uint8_t vlan_count = 0;
};

enum class LinkStatus { kOk, kUnsupported, kMalformed };

inline constexpr int kMaxVlanTags = 4;

LinkStatus decode_link(std::uint32_t link_type, std::span<const std::uint8_t> frame, NetworkLayer& out,
                       AnomalyCounters& anomalies) noexcept;

}  // namespace flowaudit::analysis::packet
