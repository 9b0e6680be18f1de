#include "analysis/packet/link_layer.h"

#include "core/byte_reader.h"

namespace flowaudit::analysis::packet {
namespace {

constexpr std::uint16_t kEtherTypeVlan = 0x8100;
constexpr std::uint16_t kEtherTypeQinQ = 0x88A8;
constexpr std::uint16_t kEtherTypeQinQOld = 0x9100;

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

// Strips VLAN tags after the link header; `r` sits on the first byte after the EtherType.
LinkStatus strip_vlans(core::ByteReader& r, std::uint16_t& ether_type, NetworkLayer& out,
                       AnomalyCounters& anomalies) {
  int depth = 0;
  while (is_vlan(ether_type)) {
    if (++depth > kMaxVlanTags) {
      anomalies.add(Anomaly::kTooManyVlanTags);
      return LinkStatus::kMalformed;
    }
    std::uint16_t tci = 0;
    if (!r.read_u16be(tci) || !r.read_u16be(ether_type)) {
      anomalies.add(Anomaly::kTruncatedVlanTag);
      return LinkStatus::kMalformed;
    }
    if (out.vlan_count < 2) out.vlan_ids[out.vlan_count++] = tci & 0x0FFF;
  }
  return LinkStatus::kOk;
}

}  // namespace

bool is_supported_link_type(std::uint32_t link_type) noexcept {
  switch (link_type) {
    case linktype::kNull: case linktype::kEthernet: case linktype::kRaw: case linktype::kLoop:
    case linktype::kLinuxSll: case linktype::kIpv4: case linktype::kIpv6: case linktype::kLinuxSll2:
      return true;
    default:
      return false;
  }
}

LinkStatus decode_link(std::uint32_t link_type, std::span<const std::uint8_t> frame, NetworkLayer& out,
                       AnomalyCounters& anomalies) noexcept {
  out = NetworkLayer{};
  core::ByteReader r(frame);
  std::uint16_t ether_type = 0;
  switch (link_type) {
    case linktype::kEthernet: {
      if (!r.skip(12) || !r.read_u16be(ether_type)) {
        anomalies.add(Anomaly::kTruncatedLinkHeader);
        return LinkStatus::kMalformed;
      }
      break;
    }
    case linktype::kLinuxSll: {  // packet type, ARPHRD, address length, 8 address bytes, protocol
      if (!r.skip(14) || !r.read_u16be(ether_type)) {
        anomalies.add(Anomaly::kTruncatedLinkHeader);
        return LinkStatus::kMalformed;
      }
      break;
    }
    case linktype::kLinuxSll2: {  // protocol, reserved, ifindex, ARPHRD, packet type, address length, 8 bytes
      if (!r.read_u16be(ether_type) || !r.skip(18)) {
        anomalies.add(Anomaly::kTruncatedLinkHeader);
        return LinkStatus::kMalformed;
      }
      break;
    }
    case linktype::kNull:
    case linktype::kLoop: {
      // DLT_NULL stores the family in the writer's byte order, DLT_LOOP in network order; small
      // values tell which.
      std::uint32_t af = 0;
      if (!r.read_u32be(af)) {
        anomalies.add(Anomaly::kTruncatedLinkHeader);
        return LinkStatus::kMalformed;
      }
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
    default:
      anomalies.add(Anomaly::kUnsupportedLinkType);
      return LinkStatus::kUnsupported;
  }
  if (const auto s = strip_vlans(r, ether_type, out, anomalies); s != LinkStatus::kOk) return s;
  out.ether_type = ether_type;
  out.payload = r.rest();
  return LinkStatus::kOk;
}

}  // namespace flowaudit::analysis::packet
