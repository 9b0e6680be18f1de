// Link layers (the list is capture/link_types.h): Ethernet, Linux cooked v1/v2, raw IP, BSD
// null/loop, PPP (plain, HDLC-framed, with direction, Cisco HDLC, PPPoE), Linux NFLOG and 802.11
// (wlan.h); then 802.1Q/802.1ad tags, PPPoE sessions and MPLS label stacks above any of them.
#pragma once

#include <cstdint>
#include <span>

#include "analysis/packet/anomaly.h"
#include "capture/link_types.h"

namespace flowaudit::analysis::packet {

inline constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr std::uint16_t kEtherTypeIpv6 = 0x86DD;
inline constexpr std::uint16_t kEtherTypeTransparentBridging = 0x6558;  // an Ethernet frame follows
inline constexpr std::uint16_t kEtherTypeMplsUnicast = 0x8847;
inline constexpr std::uint16_t kEtherTypeMplsMulticast = 0x8848;
inline constexpr std::uint16_t kEtherTypePppoeSession = 0x8864;
inline constexpr std::uint16_t kEtherTypeNsh = 0x894F;  // network service header (RFC 8300)

namespace linktype = capture::linktype;
using capture::is_supported_link_type;

// Why a frame that decoded cleanly carries no IP packet the decoder can read (beyond "another
// EtherType"): counted apart so that a Wi-Fi capture says how much of it was encrypted.
enum class LinkNote : std::uint8_t { kNone, kWlanProtected, kWlanNonData, kWlanFragment, kNflogNoPayload };

struct NetworkLayer {
  std::uint16_t ether_type = 0;  // of the payload; 0 when not known
  std::span<const std::uint8_t> payload;
  std::uint16_t vlan_ids[2] = {0, 0};  // outermost first
  std::uint8_t vlan_count = 0;
  std::uint8_t mpls_labels = 0;
  bool pppoe = false;
  LinkNote note = LinkNote::kNone;
};

enum class LinkStatus { kOk, kUnsupported, kMalformed };

inline constexpr int kMaxVlanTags = 4;
inline constexpr int kMaxMplsLabels = 16;
inline constexpr int kMaxNflogTlvs = 64;
// Ethernet, PPPoE, MPLS and pseudowires may nest within one frame; past this the frame is malformed.
inline constexpr int kMaxLinkHeaders = 8;

LinkStatus decode_link(std::uint32_t link_type, std::span<const std::uint8_t> frame, NetworkLayer& out,
                       AnomalyCounters& anomalies) noexcept;

// An Ethernet frame (inside VXLAN, Geneve, GRE transparent bridging, ERSPAN).
LinkStatus decode_ethernet(std::span<const std::uint8_t> frame, NetworkLayer& out, AnomalyCounters& anomalies) noexcept;

// What follows an EtherType (GRE's protocol type, an 802.11 SNAP header, ...): tags, PPPoE, MPLS.
LinkStatus decode_ether_payload(std::uint16_t ether_type, std::span<const std::uint8_t> bytes, NetworkLayer& out,
                                AnomalyCounters& anomalies) noexcept;

// PPP protocol number -> EtherType (IPv4, IPv6, MPLS), 0 for the rest (LCP, IPCP, compressed ...).
std::uint16_t ether_type_from_ppp(std::uint16_t protocol) noexcept;

}  // namespace flowaudit::analysis::packet
