// IPv4 (with options) and IPv6 (with extension headers) headers.
#pragma once

#include <cstdint>
#include <span>

#include "analysis/packet/anomaly.h"
#include "core/ip_address.h"

namespace flowaudit::analysis::packet {

struct IpLayer {
  core::IpAddress src;
  core::IpAddress dst;
  std::uint8_t protocol = 0;       // upper-layer protocol after all extension headers
  std::uint32_t total_length = 0;  // IP header + payload as the header states it
  std::span<const std::uint8_t> payload;  // upper-layer bytes present in this packet
  bool payload_cut = false;        // captured length shorter than the header says (snaplen)
  // Fragmentation
  bool is_fragment = false;
  bool more_fragments = false;
  std::uint32_t fragment_offset = 0;  // bytes
  std::uint32_t fragment_id = 0;
};

enum class IpStatus { kOk, kMalformed };

inline constexpr int kMaxIpv6ExtensionHeaders = 8;

IpStatus decode_ipv4(std::span<const std::uint8_t> bytes, IpLayer& out, AnomalyCounters& anomalies) noexcept;
IpStatus decode_ipv6(std::span<const std::uint8_t> bytes, IpLayer& out, AnomalyCounters& anomalies) noexcept;

// Walks IPv6 extension headers starting with header type `next` over `bytes`, setting
// out.protocol and out.payload. Stops at a fragment header of a real fragment (is_fragment set).
// Used on a packet's payload and again on a reassembled datagram (then with out.is_fragment true,
// so a second fragment header is malformed).
IpStatus walk_ipv6_extensions(std::uint8_t next, std::span<const std::uint8_t> bytes, IpLayer& out,
                              AnomalyCounters& anomalies) noexcept;

}  // namespace flowaudit::analysis::packet
