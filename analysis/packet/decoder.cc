#include "analysis/packet/decoder.h"

namespace flowaudit::analysis::packet {

DecodeStatus Decoder::decode(const capture::RawPacket& raw, DecodedPacket& out) noexcept {
  NetworkLayer net;
  switch (decode_link(raw.link_type, raw.data, net, anomalies_)) {
    case LinkStatus::kOk:
      break;
    case LinkStatus::kUnsupported:
      ++counters_.unsupported_link;
      return DecodeStatus::kUnsupportedLink;
    case LinkStatus::kMalformed:
      ++counters_.malformed;
      return DecodeStatus::kMalformed;
  }
  IpLayer ip;
  IpStatus status;
  if (net.ether_type == kEtherTypeIpv4) {
    status = decode_ipv4(net.payload, ip, anomalies_);
    if (status == IpStatus::kOk) ++counters_.ipv4;
  } else if (net.ether_type == kEtherTypeIpv6) {
    status = decode_ipv6(net.payload, ip, anomalies_);
    if (status == IpStatus::kOk) ++counters_.ipv6;
  } else {
    ++counters_.not_ip;
    return DecodeStatus::kNotIp;
  }
  if (status != IpStatus::kOk) {
    ++counters_.malformed;
    return DecodeStatus::kMalformed;
  }
  if (ip.payload_cut) anomalies_.add(Anomaly::kSnaplenCutPayload);
  out.ts_ns = raw.ts_ns;
  out.src = ip.src;
  out.dst = ip.dst;
  out.protocol = ip.protocol;
  out.vlan_id = net.vlan_count > 0 ? net.vlan_ids[net.vlan_count - 1] : 0;
  out.wire_bytes = ip.total_length;
  out.wire_packets = 1;

  if (!ip.is_fragment) return transport(ip, ip.payload, out);

  ++counters_.fragments;
  if (ip.payload_cut) {  // a fragment missing bytes can never complete a datagram
    ++counters_.malformed;
    return DecodeStatus::kMalformed;
  }
  const FragmentKey key{ip.src, ip.dst, ip.fragment_id, ip.src.is_v4() ? ip.protocol : std::uint8_t{0}};
  std::span<const std::uint8_t> datagram;
  std::uint32_t fragments = 0;
  std::uint64_t wire = 0;
  if (!reassembler_.add(key, ip.fragment_offset, ip.more_fragments, ip.payload, ip.total_length, raw.ts_ns,
                        datagram, fragments, wire, anomalies_)) {
    return DecodeStatus::kFragmentHeld;
  }
  ++counters_.reassembled;
  out.wire_bytes = wire;
  out.wire_packets = fragments;
  if (ip.src.is_v6()) {
    // The fragmentable part may begin with more extension headers (destination options, ...).
    IpLayer upper = ip;
    if (walk_ipv6_extensions(ip.protocol, datagram, upper, anomalies_) != IpStatus::kOk) {
      ++counters_.malformed;
      return DecodeStatus::kMalformed;
    }
    out.protocol = upper.protocol;
    return transport(upper, upper.payload, out);
  }
  return transport(ip, datagram, out);
}

DecodeStatus Decoder::transport(const IpLayer& ip, std::span<const std::uint8_t> payload,
                                DecodedPacket& out) noexcept {
  switch (ip.protocol) {
    case kProtoTcp:
      if (decode_tcp(payload, out.transport, anomalies_) != TransportStatus::kOk) {
        ++counters_.malformed;
        return DecodeStatus::kMalformed;
      }
      ++counters_.tcp;
      return DecodeStatus::kTransport;
    case kProtoUdp:
      if (decode_udp(payload, out.transport, anomalies_) != TransportStatus::kOk) {
        ++counters_.malformed;
        return DecodeStatus::kMalformed;
      }
      ++counters_.udp;
      return DecodeStatus::kTransport;
    case kProtoIcmp:
    case kProtoIcmpv6:
      ++counters_.icmp;
      return DecodeStatus::kIcmp;
    default:
      ++counters_.other_ip;
      return DecodeStatus::kOtherIp;
  }
}

}  // namespace flowaudit::analysis::packet
