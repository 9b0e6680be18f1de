// From a captured frame to the transport layer: link -> VLAN -> IPv4/IPv6 (reassembled) -> TCP/UDP.
#pragma once

#include <cstdint>
#include <span>

#include "analysis/packet/anomaly.h"
#include "analysis/packet/ip.h"
#include "analysis/packet/ip_reassembly.h"
#include "analysis/packet/link_layer.h"
#include "analysis/packet/transport.h"
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
};

class Decoder {
 public:
  explicit Decoder(const ReassemblyConfig& reassembly = {}) : reassembler_(reassembly) {}

  DecodeStatus decode(const capture::RawPacket& raw, DecodedPacket& out) noexcept;

  [[nodiscard]] const DecodeCounters& counters() const noexcept { return counters_; }
  [[nodiscard]] const AnomalyCounters& anomalies() const noexcept { return anomalies_; }

 private:
  DecodeStatus transport(const IpLayer& ip, std::span<const std::uint8_t> payload, DecodedPacket& out) noexcept;

  IpReassembler reassembler_;
  DecodeCounters counters_;
  AnomalyCounters anomalies_;
};

}  // namespace flowaudit::analysis::packet
