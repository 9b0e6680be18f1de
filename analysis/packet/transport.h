// TCP and UDP headers; ICMP is only counted.
#pragma once

#include <cstdint>
#include <span>

#include "analysis/packet/anomaly.h"

namespace flowaudit::analysis::packet {

inline constexpr std::uint8_t kProtoIcmp = 1;
inline constexpr std::uint8_t kProtoTcp = 6;
inline constexpr std::uint8_t kProtoUdp = 17;
inline constexpr std::uint8_t kProtoIcmpv6 = 58;

namespace tcp_flag {
inline constexpr std::uint8_t kFin = 0x01;
inline constexpr std::uint8_t kSyn = 0x02;
inline constexpr std::uint8_t kRst = 0x04;
inline constexpr std::uint8_t kPsh = 0x08;
inline constexpr std::uint8_t kAck = 0x10;
}  // namespace tcp_flag

struct TransportLayer {
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::uint8_t tcp_flags = 0;
  std::uint32_t tcp_seq = 0;
  std::uint32_t tcp_ack = 0;
  std::span<const std::uint8_t> payload;
};

enum class TransportStatus { kOk, kMalformed };

TransportStatus decode_tcp(std::span<const std::uint8_t> bytes, TransportLayer& out,
                           AnomalyCounters& anomalies) noexcept;
TransportStatus decode_udp(std::span<const std::uint8_t> bytes, TransportLayer& out,
                           AnomalyCounters& anomalies) noexcept;

}  // namespace flowaudit::analysis::packet
