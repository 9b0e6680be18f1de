#include "analysis/packet/link_layer.h"

#include "analysis/packet/wlan.h"
#include "core/byte_reader.h"

namespace flowaudit::analysis::packet {
namespace {

constexpr std::uint16_t kEtherTypeVlan = 0x8100;
constexpr std::uint16_t kEtherTypeQinQ = 0x88A8;
constexpr std::uint16_t kEtherTypeQinQOld = 0x9100;
constexpr std::uint8_t kNflogPayload = 9;  // NFULA_PAYLOAD: the packet from its network header on

bool is_vlan(std::uint16_t t) { return t == kEtherTypeVlan || t == kEtherTypeQinQ || t == kEtherTypeQinQOld; }

// BSD address families seen in null/loop headers: AF_INET is 2 everywhere, AF_INET6 differs by OS.
std::uint16_t ether_type_from_af(std::uint32_t af) {
  switch (af) {
    case 2: return kEtherTypeIpv4;
    case 10: case 24: case 28: case 30: return kEtherTypeIpv6;
    default: return 0;
  }
}

std::uint16_t ether_type_from_version(std::span<const std::uint8_t> ip) {
  if (ip.empty()) return 0;
  switch (ip[0] >> 4) {
    case 4: return kEtherTypeIpv4;
    case 6: return kEtherTypeIpv6;
    default: return 0;
  }
}

LinkStatus truncated(AnomalyCounters& anomalies) {
  anomalies.add(Anomaly::kTruncatedLinkHeader);
  return LinkStatus::kMalformed;
}

// A PPP header: optional address/control (0xFF 0x03), then a protocol of one byte (compressed: the
// low bit of its first byte is set) or two.
bool read_ppp(core::ByteReader& r, std::uint16_t& ether_type) {
  std::uint16_t first_two = 0;
  if (r.peek_u16be(first_two) && first_two == 0xFF03) r.skip(2);
  std::uint8_t hi = 0;
  if (!r.read_u8(hi)) return false;
  std::uint16_t protocol = hi;
  if ((hi & 1) == 0) {
    std::uint8_t lo = 0;
    if (!r.read_u8(lo)) return false;
    protocol = static_cast<std::uint16_t>((hi << 8) | lo);
  }
  ether_type = ether_type_from_ppp(protocol);
  return true;
}

// PPPoE session header (version/type, code, session, length), then PPP.
bool read_pppoe_session(core::ByteReader& r, std::uint16_t& ether_type) {
  std::uint8_t ver_type = 0;
  std::uint8_t code = 0;
  std::uint16_t session = 0;
  std::uint16_t length = 0;
  if (!r.read_u8(ver_type) || !r.read_u8(code) || !r.read_u16be(session) || !r.read_u16be(length)) return false;
  std::uint16_t protocol = 0;
  if (!r.read_u16be(protocol)) return false;
  ether_type = ether_type_from_ppp(protocol);
  return true;
}

// NFLOG: family, version, resource id, then netlink attributes (length, type) in the byte order of
// the host that captured (libpcap swaps them for pcap files from another host, pcapng does not):
// attribute types are small, which tells the order.
LinkStatus decode_nflog(core::ByteReader& r, std::uint16_t& ether_type, std::span<const std::uint8_t>& payload,
                        NetworkLayer& out, AnomalyCounters& anomalies) {
  std::uint8_t family = 0;
  std::uint8_t version = 0;
  std::uint16_t resource = 0;
  if (!r.read_u8(family) || !r.read_u8(version) || !r.read_u16be(resource)) return truncated(anomalies);
  bool little = true;
  bool order_known = false;
  for (int n = 0; n < kMaxNflogTlvs && r.remaining() > 0; ++n) {
    std::uint16_t len_le = 0;
    std::uint16_t type_le = 0;
    core::ByteReader head = r;
    if (!head.read_u16le(len_le) || !head.read_u16le(type_le)) return truncated(anomalies);
    if (!order_known) {
      little = (type_le & 0x3FFF) < 0x100;
      order_known = true;
    }
    std::uint16_t len = 0;
    std::uint16_t type = 0;
    r.read_u16(len, !little);
    r.read_u16(type, !little);
    if (len < 4) {
      anomalies.add(Anomaly::kBadNflogAttribute);
      return LinkStatus::kMalformed;
    }
    std::span<const std::uint8_t> value = r.rest();
    if (value.size() < len - 4u) {
      // The payload attribute is often the last and cut by the snap length: take what is there.
      if ((type & 0x3FFF) != kNflogPayload) return truncated(anomalies);
    } else {
      r.read_bytes(len - 4u, value);
      r.skip(std::min<std::size_t>((4u - len % 4u) % 4u, r.remaining()));  // attributes are 4-byte aligned
    }
    if ((type & 0x3FFF) == kNflogPayload) {
      payload = value;
      ether_type = family == 2 ? kEtherTypeIpv4 : family == 10 ? kEtherTypeIpv6 : ether_type_from_version(value);
      return LinkStatus::kOk;
    }
  }
  out.note = LinkNote::kNflogNoPayload;  // logged without the packet (nflog's copy mode, or a size of 0)
  ether_type = 0;
  return LinkStatus::kOk;
}

// MPLS label stack: 4-byte entries up to the one with the bottom-of-stack bit. What follows carries
// no type: the first nibble tells IPv4, IPv6 or a pseudowire control word (then Ethernet).
LinkStatus strip_mpls(core::ByteReader& r, std::uint16_t& ether_type, NetworkLayer& out,
                      AnomalyCounters& anomalies) {
  for (int n = 0;; ++n) {
    if (n >= kMaxMplsLabels) {
      anomalies.add(Anomaly::kTooManyMplsLabels);
      return LinkStatus::kMalformed;
    }
    std::uint32_t entry = 0;
    if (!r.read_u32be(entry)) return truncated(anomalies);
    if (out.mpls_labels < 255) ++out.mpls_labels;
    if ((entry & 0x100) != 0) break;
  }
  std::uint8_t first = 0;
  if (!r.peek_u8(first)) {
    ether_type = 0;
    return LinkStatus::kOk;
  }
  switch (first >> 4) {
    case 4: ether_type = kEtherTypeIpv4; break;
    case 6: ether_type = kEtherTypeIpv6; break;
    case 0:  // Ethernet pseudowire control word (RFC 4448), then the frame's addresses and type
      if (!r.skip(4 + 12) || !r.read_u16be(ether_type)) return truncated(anomalies);
      break;
    default: ether_type = 0; break;
  }
  return LinkStatus::kOk;
}

// Everything that may follow an EtherType before the network layer.
LinkStatus strip_link_headers(core::ByteReader& r, std::uint16_t& ether_type, NetworkLayer& out,
                              AnomalyCounters& anomalies) {
  int vlans = 0;
  for (int n = 0;; ++n) {
    if (is_vlan(ether_type)) {
      if (++vlans > kMaxVlanTags) {
        anomalies.add(Anomaly::kTooManyVlanTags);
        return LinkStatus::kMalformed;
      }
      std::uint16_t tci = 0;
      if (!r.read_u16be(tci) || !r.read_u16be(ether_type)) {
        anomalies.add(Anomaly::kTruncatedVlanTag);
        return LinkStatus::kMalformed;
      }
      if (out.vlan_count < 2) out.vlan_ids[out.vlan_count++] = tci & 0x0FFF;
      continue;  // VLAN tags have their own limit
    }
    if (n >= kMaxLinkHeaders) {
      anomalies.add(Anomaly::kTooManyLinkHeaders);
      return LinkStatus::kMalformed;
    }
    if (ether_type == kEtherTypePppoeSession) {
      out.pppoe = true;
      if (!read_pppoe_session(r, ether_type)) return truncated(anomalies);
    } else if (ether_type == kEtherTypeMplsUnicast || ether_type == kEtherTypeMplsMulticast) {
      if (const auto s = strip_mpls(r, ether_type, out, anomalies); s != LinkStatus::kOk) return s;
    } else if (ether_type == kEtherTypeNsh) {
      // Version, flags, TTL, length (in 4-byte words, the whole header), MD type, next protocol.
      std::uint8_t b0 = 0, b1 = 0, md_type = 0, next = 0;
      if (!r.read_u8(b0) || !r.read_u8(b1) || !r.read_u8(md_type) || !r.read_u8(next)) return truncated(anomalies);
      const std::size_t words = b1 & 0x3F;
      if (words < 2 || !r.skip(words * 4 - 4)) return truncated(anomalies);
      switch (next) {
        case 1: ether_type = kEtherTypeIpv4; break;
        case 2: ether_type = kEtherTypeIpv6; break;
        case 3: ether_type = kEtherTypeTransparentBridging; break;
        case 4: ether_type = kEtherTypeNsh; break;
        case 5: ether_type = kEtherTypeMplsUnicast; break;
        default: ether_type = 0; break;
      }
    } else if (ether_type == kEtherTypeTransparentBridging) {
      if (!r.skip(12) || !r.read_u16be(ether_type)) return truncated(anomalies);
    } else {
      return LinkStatus::kOk;
    }
  }
}

LinkStatus finish(core::ByteReader& r, std::uint16_t ether_type, NetworkLayer& out, AnomalyCounters& anomalies) {
  // Nearly every frame: IP right after the link header, nothing to strip.
  if (ether_type == kEtherTypeIpv4 || ether_type == kEtherTypeIpv6) {
    out.ether_type = ether_type;
    out.payload = r.rest();
    return LinkStatus::kOk;
  }
  if (const auto s = strip_link_headers(r, ether_type, out, anomalies); s != LinkStatus::kOk) return s;
  out.ether_type = ether_type;
  out.payload = r.rest();
  return LinkStatus::kOk;
}

}  // namespace

std::uint16_t ether_type_from_ppp(std::uint16_t protocol) noexcept {
  switch (protocol) {
    case 0x0021: return kEtherTypeIpv4;
    case 0x0057: return kEtherTypeIpv6;
    case 0x0281: return kEtherTypeMplsUnicast;
    case 0x0283: return kEtherTypeMplsMulticast;
    default: return 0;
  }
}

LinkStatus decode_ether_payload(std::uint16_t ether_type, std::span<const std::uint8_t> bytes, NetworkLayer& out,
                                AnomalyCounters& anomalies) noexcept {
  core::ByteReader r(bytes);
  return finish(r, ether_type, out, anomalies);
}

LinkStatus decode_ethernet(std::span<const std::uint8_t> frame, NetworkLayer& out, AnomalyCounters& anomalies) noexcept {
  core::ByteReader r(frame);
  std::uint16_t ether_type = 0;
  if (!r.skip(12) || !r.read_u16be(ether_type)) return truncated(anomalies);
  return finish(r, ether_type, out, anomalies);
}

LinkStatus decode_link(std::uint32_t link_type, std::span<const std::uint8_t> frame, NetworkLayer& out,
                       AnomalyCounters& anomalies) noexcept {
  out = NetworkLayer{};
  core::ByteReader r(frame);
  std::uint16_t ether_type = 0;
  switch (link_type) {
    case linktype::kEthernet:
      return decode_ethernet(frame, out, anomalies);
    case linktype::kLinuxSll:  // packet type, ARPHRD, address length, 8 address bytes, protocol
      if (!r.skip(14) || !r.read_u16be(ether_type)) return truncated(anomalies);
      break;
    case linktype::kLinuxSll2:  // protocol, reserved, ifindex, ARPHRD, packet type, address length, 8 bytes
      if (!r.read_u16be(ether_type) || !r.skip(18)) return truncated(anomalies);
      break;
    case linktype::kNull:
    case linktype::kLoop: {
      // DLT_NULL stores the family in the writer's byte order, DLT_LOOP in network order; small
      // values tell which.
      std::uint32_t af = 0;
      if (!r.read_u32be(af)) return truncated(anomalies);
      const std::uint32_t raw_be = af;
      if (af > 0xFFFF) af = __builtin_bswap32(af);
      ether_type = ether_type_from_af(af);
      // Some old captures carry an EtherType in bytes 2-3 instead of a family (Wireshark reads
      // them the same way).
      const auto low = static_cast<std::uint16_t>(raw_be & 0xFFFF);
      if (ether_type == 0 && (low == kEtherTypeIpv4 || low == kEtherTypeIpv6)) ether_type = low;
      break;
    }
    case linktype::kRaw:
      ether_type = ether_type_from_version(frame);
      break;
    case linktype::kIpv4:
      ether_type = kEtherTypeIpv4;
      break;
    case linktype::kIpv6:
      ether_type = kEtherTypeIpv6;
      break;
    case linktype::kPppWithDir:
      if (!r.skip(1) || !read_ppp(r, ether_type)) return truncated(anomalies);
      break;
    case linktype::kPpp:
      if (!read_ppp(r, ether_type)) return truncated(anomalies);
      break;
    case linktype::kPppHdlc: {
      // Cisco HDLC shares this link type (address 0x0F unicast or 0x8F broadcast, then an EtherType).
      std::uint8_t address = 0;
      if (!r.peek_u8(address)) return truncated(anomalies);
      if (address == 0x0F || address == 0x8F) {
        if (!r.skip(2) || !r.read_u16be(ether_type)) return truncated(anomalies);
      } else if (!read_ppp(r, ether_type)) {
        return truncated(anomalies);
      }
      break;
    }
    case linktype::kCiscoHdlc:
      if (!r.skip(2) || !r.read_u16be(ether_type)) return truncated(anomalies);
      break;
    case linktype::kPppEther:
      out.pppoe = true;
      if (!read_pppoe_session(r, ether_type)) return truncated(anomalies);
      break;
    case linktype::kNflog: {
      std::span<const std::uint8_t> payload;
      if (const auto s = decode_nflog(r, ether_type, payload, out, anomalies); s != LinkStatus::kOk) return s;
      out.ether_type = ether_type;
      out.payload = payload;
      return LinkStatus::kOk;
    }
    case linktype::kIeee80211:
    case linktype::kRadiotap:
    case linktype::kPpi:
      return decode_wireless(link_type, frame, out, anomalies);
    default:
      anomalies.add(Anomaly::kUnsupportedLinkType);
      return LinkStatus::kUnsupported;
  }
  return finish(r, ether_type, out, anomalies);
}

}  // namespace flowaudit::analysis::packet
