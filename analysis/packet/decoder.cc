#include "analysis/packet/decoder.h"

namespace flowaudit::analysis::packet {

DecodeStatus Decoder::decode(const capture::RawPacket& raw, DecodedPacket& out) noexcept {
  out.tunnel = Tunnel{};
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
  out.vlan_id = net.vlan_count > 0 ? net.vlan_ids[net.vlan_count - 1] : 0;
  return network(net, raw, 0, out);
}

DecodeStatus Decoder::network(const NetworkLayer& net, const capture::RawPacket& raw, int depth,
                              DecodedPacket& out) noexcept {
  IpLayer ip;
  IpStatus status;
  if (net.ether_type == kEtherTypeIpv4) {
    status = decode_ipv4(net.payload, ip, anomalies_);
    if (status == IpStatus::kOk && depth == 0) ++counters_.ipv4;
  } else if (net.ether_type == kEtherTypeIpv6) {
    status = decode_ipv6(net.payload, ip, anomalies_);
    if (status == IpStatus::kOk && depth == 0) ++counters_.ipv6;
  } else {
    switch (net.note) {
      case LinkNote::kWlanProtected: ++counters_.wlan_protected; break;
      case LinkNote::kWlanNonData: case LinkNote::kWlanFragment: ++counters_.wlan_non_data; break;
      case LinkNote::kNflogNoPayload: ++counters_.nflog_no_payload; break;
      case LinkNote::kNone: break;
    }
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
  out.wire_bytes = ip.total_length;  // a tunnelled flow counts its own (inner) IP bytes
  if (depth == 0) out.wire_packets = 1;  // inside a reassembled outer datagram: its fragments

  if (!ip.is_fragment) return upper(ip, ip.payload, raw, depth, out);

  ++counters_.fragments;
  if (ip.payload_cut) {  // a fragment missing bytes can never complete a datagram
    ++counters_.malformed;
    return DecodeStatus::kMalformed;
  }
  const FragmentKey key{ip.src, ip.dst, ip.fragment_id, ip.src.is_v4() ? ip.protocol : std::uint8_t{0}};
  std::span<const std::uint8_t> datagram;
  std::uint32_t fragments = 0;
  std::uint64_t wire = 0;
  // The reassembler copies the fragment before it reuses its output buffer, so a fragment inside a
  // reassembled outer datagram is safe to add.
  if (!reassembler_.add(key, ip.fragment_offset, ip.more_fragments, ip.payload, ip.total_length, raw.ts_ns,
                        datagram, fragments, wire, anomalies_)) {
    return DecodeStatus::kFragmentHeld;
  }
  ++counters_.reassembled;
  out.wire_bytes = wire;
  out.wire_packets = fragments;
  if (ip.src.is_v6()) {
    // The fragmentable part may begin with more extension headers (destination options, ...).
    IpLayer upper_ip = ip;
    if (walk_ipv6_extensions(ip.protocol, datagram, upper_ip, anomalies_) != IpStatus::kOk) {
      ++counters_.malformed;
      return DecodeStatus::kMalformed;
    }
    out.protocol = upper_ip.protocol;
    return upper(upper_ip, upper_ip.payload, raw, depth, out);
  }
  return upper(ip, datagram, raw, depth, out);
}

DecodeStatus Decoder::upper(const IpLayer& ip, std::span<const std::uint8_t> payload, const capture::RawPacket& raw,
                            int depth, DecodedPacket& out) noexcept {
  // TCP, most packets, on a short path; everything that may open a tunnel in carrier().
  if (ip.protocol == kProtoTcp) {
    if (decode_tcp(payload, out.transport, anomalies_) != TransportStatus::kOk) {
      ++counters_.malformed;
      return DecodeStatus::kMalformed;
    }
    ++counters_.tcp;
    return DecodeStatus::kTransport;
  }
  return carrier(ip, payload, raw, depth, out);
}

DecodeStatus Decoder::carrier(const IpLayer& ip, std::span<const std::uint8_t> payload, const capture::RawPacket& raw,
                              int depth, DecodedPacket& out) noexcept {
  TunnelInner inner;
  switch (ip.protocol) {
    case kProtoUdp:
      if (decode_udp(payload, out.transport, anomalies_) != TransportStatus::kOk) {
        ++counters_.malformed;
        return DecodeStatus::kMalformed;
      }
      switch (decode_udp_tunnel(out.transport.src_port, out.transport.dst_port, out.transport.payload, inner,
                                anomalies_)) {
        case TunnelStatus::kNotTunnel:
          break;
        case TunnelStatus::kOk:
          if (depth < kMaxTunnelDepth) return enter(inner, ip, raw, depth, out);
          // Too deep: the UDP flow that carries the tunnel is audited, marked.
          anomalies_.add(Anomaly::kTunnelTooDeep);
          ++counters_.tunnel_too_deep;
          out.tunnel.depth_exceeded = true;
          break;
        case TunnelStatus::kMalformed:
          ++counters_.malformed;
          return DecodeStatus::kMalformed;
      }
      ++counters_.udp;
      return DecodeStatus::kTransport;
    case kProtoGre:
      switch (decode_gre(payload, inner, anomalies_)) {
        case TunnelStatus::kOk: return enter(inner, ip, raw, depth, out);
        case TunnelStatus::kNotTunnel: break;
        case TunnelStatus::kMalformed: ++counters_.malformed; return DecodeStatus::kMalformed;
      }
      break;
    case kProtoIpInIp:
      return enter(TunnelInner{TunnelType::kIpInIp, kEtherTypeIpv4, payload}, ip, raw, depth, out);
    case kProtoIpv6InIp:
      return enter(TunnelInner{TunnelType::kIpInIp, kEtherTypeIpv6, payload}, ip, raw, depth, out);
    case kProtoIcmp:
    case kProtoIcmpv6:
      ++counters_.icmp;
      return DecodeStatus::kIcmp;
    default:
      break;
  }
  ++counters_.other_ip;
  return DecodeStatus::kOtherIp;
}

DecodeStatus Decoder::enter(const TunnelInner& inner, const IpLayer& outer, const capture::RawPacket& raw, int depth,
                            DecodedPacket& out) noexcept {
  if (depth >= kMaxTunnelDepth) {
    // No flow at this level (GRE, IP-in-IP): the packet is counted, nothing to mark.
    anomalies_.add(Anomaly::kTunnelTooDeep);
    ++counters_.tunnel_too_deep;
    ++counters_.other_ip;
    return DecodeStatus::kOtherIp;
  }
  if (depth == 0) {
    ++counters_.tunnelled;
    out.tunnel.type = inner.type;
    out.tunnel.outer_src = outer.src;
    out.tunnel.outer_dst = outer.dst;
  }
  out.tunnel.depth = static_cast<std::uint8_t>(depth + 1);
  NetworkLayer net;
  if (decode_ether_payload(inner.ether_type, inner.payload, net, anomalies_) != LinkStatus::kOk) {
    ++counters_.malformed;
    return DecodeStatus::kMalformed;
  }
  return network(net, raw, depth + 1, out);
}

}  // namespace flowaudit::analysis::packet
