// From a captured frame to the transport layer: link -> VLAN/PPPoE/MPLS -> IPv4/IPv6 (reassembled)
// -> TCP/UDP, opening tunnels (tunnel.h) on the way: the flow of a tunnelled packet is the
// innermost one, and the tunnel it came through is recorded with it.
#pragma once

#include <cstdint>
#include <span>

#include "analysis/packet/anomaly.h"
#include "analysis/packet/ip.h"
#include "analysis/packet/ip_reassembly.h"
#include "analysis/packet/link_layer.h"
#include "analysis/packet/transport.h"
#include "analysis/packet/tunnel.h"
#include "capture/packet_source.h"

namespace flowaudit::analysis::packet {

// A decoded TCP or UDP packet; spans point into the frame (or the reassembly buffer) and are valid
// only during the packet's callback.
struct DecodedPacket {
  core::TimestampNs ts_ns = 0;
  core::IpAddress src;
  core::IpAddress dst;
  std::uint8_t protocol = 0;  // kProtoTcp or kProtoUdp
  TransportLayer transport;
  std::uint64_t wire_bytes = 0;  // IP bytes this packet (or all fragments of it) took on the wire
  std::uint32_t wire_packets = 1;
  std::uint16_t vlan_id = 0;
  Tunnel tunnel;  // type kNone: not tunnelled
};

enum class DecodeStatus {
  kTransport,      // TCP or UDP, ready for the flow table
  kIcmp,           // ICMP or ICMPv6: counted
  kOtherIp,        // another IP protocol: counted
  kNotIp,          // ARP, LLDP, ...: counted
  kFragmentHeld,   // a fragment kept for reassembly
  kMalformed,      // see the anomaly counters
  kUnsupportedLink,
};

struct DecodeCounters {
  std::uint64_t ipv4 = 0;
  std::uint64_t ipv6 = 0;
  std::uint64_t tcp = 0;
  std::uint64_t udp = 0;
  std::uint64_t icmp = 0;
  std::uint64_t other_ip = 0;
  std::uint64_t not_ip = 0;
  std::uint64_t malformed = 0;
  std::uint64_t unsupported_link = 0;
  std::uint64_t fragments = 0;
  std::uint64_t reassembled = 0;
  std::uint64_t tunnelled = 0;       // packets read inside at least one tunnel
  std::uint64_t tunnel_too_deep = 0; // packets with tunnels nested past kMaxTunnelDepth
  std::uint64_t wlan_protected = 0;  // 802.11 data frames with the Protected bit: encrypted, not read
  std::uint64_t wlan_non_data = 0;   // 802.11 management, control and null frames, later fragments
  std::uint64_t nflog_no_payload = 0;  // NFLOG records without the packet
};

class Decoder {
 public:
  explicit Decoder(const ReassemblyConfig& reassembly = {}) : reassembler_(reassembly) {}

  DecodeStatus decode(const capture::RawPacket& raw, DecodedPacket& out) noexcept;
  // The end of the audit: datagrams whose fragments never all came are counted (fragment_timeout).
  void finish() { reassembler_.expire_all(anomalies_); }

  [[nodiscard]] const DecodeCounters& counters() const noexcept { return counters_; }
  [[nodiscard]] const AnomalyCounters& anomalies() const noexcept { return anomalies_; }

 private:
  DecodeStatus network(const NetworkLayer& net, const capture::RawPacket& raw, int depth, DecodedPacket& out) noexcept;
  DecodeStatus upper(const IpLayer& ip, std::span<const std::uint8_t> payload, const capture::RawPacket& raw,
                     int depth, DecodedPacket& out) noexcept;
  // UDP (which may carry a tunnel), GRE, IP-in-IP, ICMP and the rest; kept out of upper()'s TCP path.
  [[gnu::noinline]] DecodeStatus carrier(const IpLayer& ip, std::span<const std::uint8_t> payload,
                                         const capture::RawPacket& raw, int depth, DecodedPacket& out) noexcept;
  DecodeStatus enter(const TunnelInner& inner, const IpLayer& outer, const capture::RawPacket& raw, int depth,
                     DecodedPacket& out) noexcept;

  IpReassembler reassembler_;
  DecodeCounters counters_;
  AnomalyCounters anomalies_;
};

}  // namespace flowaudit::analysis::packet
