// Tunnels whose inner packets are the flows worth auditing: GRE (with ERSPAN I/II/III), VXLAN,
// Geneve, Teredo, GTP-U and IP-in-IP. Each function strips one tunnel header and says what
// follows: an EtherType and its bytes (which link_layer's decode_ether_payload reads on, so an
// Ethernet frame, MPLS or VLAN tags inside a tunnel need nothing more here).
#pragma once

#include <cstdint>
#include <span>

#include "analysis/packet/anomaly.h"
#include "core/ip_address.h"

namespace flowaudit::analysis::packet {

enum class TunnelType : std::uint8_t { kNone, kGre, kErspan, kVxlan, kGeneve, kIpInIp, kTeredo, kGtpU };
const char* to_string(TunnelType t) noexcept;  // "gre", "erspan", "vxlan", ... ; none -> ""

inline constexpr std::uint8_t kProtoIpInIp = 4;
inline constexpr std::uint8_t kProtoIpv6InIp = 41;
inline constexpr std::uint8_t kProtoGre = 47;
inline constexpr std::uint16_t kPortVxlan = 4789;
inline constexpr std::uint16_t kPortVxlanGpe = 4790;
inline constexpr std::uint16_t kPortVxlanLinux = 8472;
inline constexpr std::uint16_t kPortGeneve = 6081;
inline constexpr std::uint16_t kPortTeredo = 3544;
inline constexpr std::uint16_t kPortGtpU = 2152;
inline constexpr int kMaxGtpExtensionHeaders = 16;

// Tunnels nested deeper than this are not opened: the packet is counted (tunnel_too_deep) and its
// flow, if it has one at the last level read, says so (Tunnel::depth_exceeded).
inline constexpr int kMaxTunnelDepth = 4;

// The tunnel a flow was seen in: the outermost one (its addresses are the ones on the wire where
// the capture was taken); depth counts the tunnels nested in it, the outermost included.
struct Tunnel {
  TunnelType type = TunnelType::kNone;
  std::uint8_t depth = 0;
  bool depth_exceeded = false;
  core::IpAddress outer_src;
  core::IpAddress outer_dst;
};

struct TunnelInner {
  TunnelType type = TunnelType::kNone;
  std::uint16_t ether_type = 0;  // of `payload`; 0x6558 for an Ethernet frame
  std::span<const std::uint8_t> payload;
};

enum class TunnelStatus { kNotTunnel, kOk, kMalformed };

// GRE (RFC 2784/2890, and PPTP's version 1); the payload of an IP packet with protocol 47.
TunnelStatus decode_gre(std::span<const std::uint8_t> bytes, TunnelInner& out, AnomalyCounters& anomalies) noexcept;

// A UDP payload on one of the tunnel ports. A payload whose header does not fit the tunnel is
// kNotTunnel (the UDP flow is audited as it is): the ports are only a hint.
TunnelStatus decode_udp_tunnel(std::uint16_t src_port, std::uint16_t dst_port, std::span<const std::uint8_t> bytes,
                               TunnelInner& out, AnomalyCounters& anomalies) noexcept;

}  // namespace flowaudit::analysis::packet
