#include "analysis/packet/tunnel.h"

#include "analysis/packet/link_layer.h"
#include "core/byte_reader.h"

namespace flowaudit::analysis::packet {
namespace {

constexpr std::uint16_t kGreChecksum = 0x8000;
constexpr std::uint16_t kGreRouting = 0x4000;
constexpr std::uint16_t kGreKey = 0x2000;
constexpr std::uint16_t kGreSequence = 0x1000;
constexpr std::uint16_t kGreAck = 0x0080;  // version 1 (PPTP) only
constexpr std::uint16_t kGreProtoErspan12 = 0x88BE;
constexpr std::uint16_t kGreProtoErspan3 = 0x22EB;
constexpr std::uint16_t kGreProtoPpp = 0x880B;
constexpr std::uint16_t kGreProtoWccp = 0x883E;  // Cisco WCCP redirect: a 4-byte header, then IPv4
constexpr std::uint8_t kGtpGpdu = 0xFF;

TunnelStatus bad(AnomalyCounters& anomalies, Anomaly a) {
  anomalies.add(a);
  return TunnelStatus::kMalformed;
}

std::uint16_t ether_type_from_version(std::span<const std::uint8_t> ip) {
  if (ip.empty()) return 0;
  return (ip[0] >> 4) == 4 ? kEtherTypeIpv4 : (ip[0] >> 4) == 6 ? kEtherTypeIpv6 : std::uint16_t{0};
}

// VXLAN (RFC 7348) on 4789, Linux's old default 8472 (strictly: flags and reserved bytes as the
// RFC has them, since nothing else marks it) and VXLAN-GPE's 4790 (a next-protocol byte when its
// P flag is set).
TunnelStatus vxlan(std::uint16_t port, core::ByteReader& r, TunnelInner& out) {
  std::uint8_t flags = 0;
  std::uint8_t reserved[2] = {0, 0};
  std::uint8_t next = 0;
  std::uint32_t vni = 0;
  if (!r.read_u8(flags) || !r.read_u8(reserved[0]) || !r.read_u8(reserved[1]) || !r.read_u8(next) ||
      !r.read_u32be(vni)) {
    return TunnelStatus::kNotTunnel;
  }
  // The VNI-valid flag is mandatory, the other flags reserved (but for group policy's 0x80 and GPE's
  // version, next-protocol and OAM bits on 4790), as is the last byte: other payloads on the port
  // stay UDP flows.
  if ((flags & 0x08) == 0 || (vni & 0xFF) != 0) return TunnelStatus::kNotTunnel;
  if ((flags & (port == kPortVxlanGpe ? 0x00 : 0x77)) != 0) return TunnelStatus::kNotTunnel;
  std::uint16_t ether_type = kEtherTypeTransparentBridging;
  if (port == kPortVxlanLinux && (flags != 0x08 || reserved[0] != 0 || reserved[1] != 0 || next != 0 ||
                                  (vni & 0xFF) != 0)) {
    return TunnelStatus::kNotTunnel;
  }
  if (port == kPortVxlanGpe && (flags & 0x04) != 0) {
    switch (next) {
      case 1: ether_type = kEtherTypeIpv4; break;
      case 2: ether_type = kEtherTypeIpv6; break;
      case 3: break;
      case 4: ether_type = kEtherTypeNsh; break;
      case 5: ether_type = kEtherTypeMplsUnicast; break;
      default: ether_type = 0; break;
    }
  }
  out = TunnelInner{TunnelType::kVxlan, ether_type, r.rest()};
  return TunnelStatus::kOk;
}

TunnelStatus geneve(core::ByteReader& r, TunnelInner& out, AnomalyCounters& anomalies) {
  std::uint8_t ver_optlen = 0;
  std::uint8_t flags = 0;
  std::uint16_t protocol = 0;
  std::uint32_t vni = 0;
  if (!r.read_u8(ver_optlen) || !r.read_u8(flags) || !r.read_u16be(protocol) || !r.read_u32be(vni)) {
    return TunnelStatus::kNotTunnel;
  }
  if ((ver_optlen >> 6) != 0) return TunnelStatus::kNotTunnel;
  if (!r.skip(static_cast<std::size_t>(ver_optlen & 0x3F) * 4)) return bad(anomalies, Anomaly::kTruncatedTunnelHeader);
  out = TunnelInner{TunnelType::kGeneve, protocol, r.rest()};
  return TunnelStatus::kOk;
}

// Teredo (RFC 4380): optional authentication and origin indicators, then an IPv6 packet.
TunnelStatus teredo(core::ByteReader& r, TunnelInner& out) {
  for (int n = 0; n < 2; ++n) {
    std::uint16_t indicator = 0;
    if (!r.peek_u16be(indicator)) return TunnelStatus::kNotTunnel;
    if (indicator == 0x0001) {
      std::uint8_t id_len = 0;
      std::uint8_t auth_len = 0;
      if (!r.skip(2) || !r.read_u8(id_len) || !r.read_u8(auth_len) || !r.skip(id_len + auth_len + 8u + 1u)) {
        return TunnelStatus::kNotTunnel;
      }
    } else if (indicator == 0x0000) {
      if (!r.skip(8)) return TunnelStatus::kNotTunnel;  // type, obfuscated port and address
    } else {
      break;
    }
  }
  const auto rest = r.rest();
  if (rest.size() < 40 || (rest[0] >> 4) != 6) return TunnelStatus::kNotTunnel;
  out = TunnelInner{TunnelType::kTeredo, kEtherTypeIpv6, rest};
  return TunnelStatus::kOk;
}

// GTP-U (3GPP TS 29.281): only G-PDUs carry user packets; echo and error messages stay UDP flows.
TunnelStatus gtp_u(core::ByteReader& r, TunnelInner& out, AnomalyCounters& anomalies) {
  std::uint8_t flags = 0;
  std::uint8_t type = 0;
  std::uint16_t length = 0;
  std::uint32_t teid = 0;
  if (!r.read_u8(flags) || !r.read_u8(type) || !r.read_u16be(length) || !r.read_u32be(teid)) {
    return TunnelStatus::kNotTunnel;
  }
  if ((flags >> 5) != 1 || (flags & 0x10) == 0 || type != kGtpGpdu) return TunnelStatus::kNotTunnel;
  if ((flags & 0x07) != 0) {  // sequence number, N-PDU number, next extension header type
    std::uint8_t next = 0;
    if (!r.skip(3) || !r.read_u8(next)) return bad(anomalies, Anomaly::kTruncatedTunnelHeader);
    for (int n = 0; next != 0; ++n) {
      std::uint8_t units = 0;  // the extension's length in 4-byte units, its length byte included
      if (n >= kMaxGtpExtensionHeaders) return bad(anomalies, Anomaly::kBadTunnelHeader);
      if (!r.read_u8(units)) return bad(anomalies, Anomaly::kTruncatedTunnelHeader);
      if (units == 0) return bad(anomalies, Anomaly::kBadTunnelHeader);
      if (!r.skip(units * 4u - 2u) || !r.read_u8(next)) return bad(anomalies, Anomaly::kTruncatedTunnelHeader);
    }
  }
  auto rest = r.rest();
  out = TunnelInner{TunnelType::kGtpU, ether_type_from_version(rest), rest};
  return TunnelStatus::kOk;
}

}  // namespace

const char* to_string(TunnelType t) noexcept {
  switch (t) {
    case TunnelType::kNone: return "";
    case TunnelType::kGre: return "gre";
    case TunnelType::kErspan: return "erspan";
    case TunnelType::kVxlan: return "vxlan";
    case TunnelType::kGeneve: return "geneve";
    case TunnelType::kIpInIp: return "ip-in-ip";
    case TunnelType::kTeredo: return "teredo";
    case TunnelType::kGtpU: return "gtp-u";
  }
  return "";
}

TunnelStatus decode_gre(std::span<const std::uint8_t> bytes, TunnelInner& out, AnomalyCounters& anomalies) noexcept {
  core::ByteReader r(bytes);
  std::uint16_t flags = 0;
  std::uint16_t protocol = 0;
  if (!r.read_u16be(flags) || !r.read_u16be(protocol)) return bad(anomalies, Anomaly::kTruncatedTunnelHeader);
  const int version = flags & 0x07;
  if (version > 1 || (flags & kGreRouting) != 0) return bad(anomalies, Anomaly::kBadTunnelHeader);
  std::size_t options = 0;
  if (version == 0 && (flags & kGreChecksum) != 0) options += 4;  // checksum, reserved
  if ((flags & kGreKey) != 0) options += 4;                       // key (PPTP: payload length, call id)
  if ((flags & kGreSequence) != 0) options += 4;
  if (version == 1 && (flags & kGreAck) != 0) options += 4;
  if (!r.skip(options)) return bad(anomalies, Anomaly::kTruncatedTunnelHeader);
  out = TunnelInner{TunnelType::kGre, protocol, r.rest()};
  switch (protocol) {
    case kGreProtoErspan12:
      // Type II has a sequence number and an 8-byte header; type I has neither.
      out.type = TunnelType::kErspan;
      out.ether_type = kEtherTypeTransparentBridging;
      if ((flags & kGreSequence) != 0) {
        std::uint8_t version_vlan = 0;
        if (!r.peek_u8(version_vlan)) return bad(anomalies, Anomaly::kTruncatedTunnelHeader);
        if ((version_vlan >> 4) != 1) return bad(anomalies, Anomaly::kBadTunnelHeader);
        if (!r.skip(8)) return bad(anomalies, Anomaly::kTruncatedTunnelHeader);
      }
      out.payload = r.rest();
      break;
    case kGreProtoErspan3: {
      out.type = TunnelType::kErspan;
      out.ether_type = kEtherTypeTransparentBridging;
      std::span<const std::uint8_t> header;
      if (!r.read_bytes(12, header)) return bad(anomalies, Anomaly::kTruncatedTunnelHeader);
      if ((header[0] >> 4) != 2) return bad(anomalies, Anomaly::kBadTunnelHeader);
      if ((header[11] & 0x01) != 0 && !r.skip(8)) {  // platform-specific subheader
        return bad(anomalies, Anomaly::kTruncatedTunnelHeader);
      }
      out.payload = r.rest();
      break;
    }
    case kGreProtoPpp: {  // PPTP: a PPP frame, usually compressed or encrypted (then not IP)
      std::uint16_t first_two = 0;
      if (r.peek_u16be(first_two) && first_two == 0xFF03) r.skip(2);
      std::uint8_t hi = 0;
      if (!r.read_u8(hi)) {
        out.ether_type = 0;
        break;
      }
      std::uint16_t ppp = hi;
      if ((hi & 1) == 0) {
        std::uint8_t lo = 0;
        if (!r.read_u8(lo)) return bad(anomalies, Anomaly::kTruncatedTunnelHeader);
        ppp = static_cast<std::uint16_t>((hi << 8) | lo);
      }
      out.ether_type = ether_type_from_ppp(ppp);
      out.payload = r.rest();
      break;
    }
    case kGreProtoWccp: {
      // WCCPv2 puts a 4-byte redirect header before the IP packet; version 1 has none.
      std::uint8_t first = 0;
      if (r.peek_u8(first) && (first >> 4) != 4 && !r.skip(4)) return bad(anomalies, Anomaly::kTruncatedTunnelHeader);
      out.ether_type = kEtherTypeIpv4;
      out.payload = r.rest();
      break;
    }
    default:
      break;
  }
  return TunnelStatus::kOk;
}

TunnelStatus decode_udp_tunnel(std::uint16_t src_port, std::uint16_t dst_port, std::span<const std::uint8_t> bytes,
                               TunnelInner& out, AnomalyCounters& anomalies) noexcept {
  core::ByteReader r(bytes);
  if (dst_port == kPortVxlan || dst_port == kPortVxlanGpe || dst_port == kPortVxlanLinux) return vxlan(dst_port, r, out);
  if (dst_port == kPortGeneve) return geneve(r, out, anomalies);
  if (dst_port == kPortGtpU || src_port == kPortGtpU) return gtp_u(r, out, anomalies);
  if (dst_port == kPortTeredo || src_port == kPortTeredo) return teredo(r, out);
  return TunnelStatus::kNotTunnel;
}

}  // namespace flowaudit::analysis::packet
