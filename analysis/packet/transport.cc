#include "analysis/packet/transport.h"

#include "core/byte_reader.h"

namespace flowaudit::analysis::packet {

TransportStatus decode_tcp(std::span<const std::uint8_t> bytes, TransportLayer& out,
                           AnomalyCounters& anomalies) noexcept {
  out = TransportLayer{};
  core::ByteReader r(bytes);
  std::uint8_t offset_byte = 0;
  std::uint16_t window = 0;
  if (!r.read_u16be(out.src_port) || !r.read_u16be(out.dst_port) || !r.read_u32be(out.tcp_seq) ||
      !r.read_u32be(out.tcp_ack) || !r.read_u8(offset_byte) || !r.read_u8(out.tcp_flags) ||
      !r.read_u16be(window) || !r.skip(4)) {
    anomalies.add(Anomaly::kTruncatedTcpHeader);
    return TransportStatus::kMalformed;
  }
  const std::size_t header_len = static_cast<std::size_t>(offset_byte >> 4) * 4;
  if (header_len < 20) {
    anomalies.add(Anomaly::kBadTcpHeaderLength);
    return TransportStatus::kMalformed;
  }
  if (!r.skip(header_len - 20)) {
    anomalies.add(Anomaly::kTruncatedTcpHeader);
    return TransportStatus::kMalformed;
  }
  out.payload = r.rest();
  return TransportStatus::kOk;
}

TransportStatus decode_udp(std::span<const std::uint8_t> bytes, TransportLayer& out,
                           AnomalyCounters& anomalies) noexcept {
  out = TransportLayer{};
  core::ByteReader r(bytes);
  std::uint16_t length = 0;
  std::uint16_t checksum = 0;
  if (!r.read_u16be(out.src_port) || !r.read_u16be(out.dst_port) || !r.read_u16be(length) ||
      !r.read_u16be(checksum)) {
    anomalies.add(Anomaly::kTruncatedUdpHeader);
    return TransportStatus::kMalformed;
  }
  if (length < 8) {
    // Length 0 is legal for UDP in IPv6 jumbograms; otherwise the header is wrong. Take what is there.
    if (length != 0) anomalies.add(Anomaly::kBadUdpLength);
    out.payload = r.rest();
    return TransportStatus::kOk;
  }
  const std::size_t promised = length - 8u;
  out.payload = r.remaining() > promised ? r.rest().first(promised) : r.rest();
  return TransportStatus::kOk;
}

}  // namespace flowaudit::analysis::packet
