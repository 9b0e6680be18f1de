// A bidirectional flow: both directions of one 5-tuple, oriented client -> server.
#pragma once

#include <cstdint>

#include "core/ip_address.h"
#include "core/timestamp.h"

namespace flowaudit::analysis::flow {

// Endpoints in canonical order (endpoint 0 sorts before endpoint 1) so both directions share a key.
struct FlowKey {
  core::IpAddress addr[2];
  std::uint16_t port[2] = {0, 0};
  std::uint8_t protocol = 0;
  friend bool operator==(const FlowKey&, const FlowKey&) = default;
  [[nodiscard]] std::uint64_t hash() const noexcept;
};

enum class TcpState : std::uint8_t {
  kNone,         // not TCP
  kSynSent,
  kSynAckSeen,
  kEstablished,
  kMidstream,    // first packet seen was not part of a handshake
  kClosing,      // one FIN seen
  kClosed,       // FIN both ways
  kReset,
};

enum class Orientation : std::uint8_t { kTcpHandshake, kClientCidr, kPort, kFirstPacket };

enum class FlowEnd : std::uint8_t { kActive, kIdleTimeout, kEvicted, kTcpClosed, kPortReused };

const char* to_string(TcpState s) noexcept;
const char* to_string(Orientation o) noexcept;
const char* to_string(FlowEnd e) noexcept;

struct DirectionStats {
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;          // IP bytes
  std::uint64_t payload_bytes = 0;  // TCP/UDP payload bytes
  core::TimestampNs first_ns = 0;
  core::TimestampNs last_ns = 0;
};

struct Flow {
  FlowKey key;
  std::uint64_t id = 0;
  DirectionStats from[2];  // from[i]: sent by endpoint i
  core::TimestampNs last_seen = 0;  // the capture's timestamp: for reports
  // The audit clock (AuditClock) at its last packet: what idle expiry and eviction measure from,
  // so that a capture clock that steps back never expires a flow early nor keeps it past its idle time.
  core::TimestampNs last_clock_ns = 0;
  std::uint32_t input = 0;  // index of the input where the flow started
  std::uint8_t client = 0;  // endpoint index of the client
  Orientation orientation = Orientation::kFirstPacket;
  TcpState tcp = TcpState::kNone;
  std::uint8_t fin_from = 0;  // bit i: endpoint i sent a FIN
  FlowEnd end = FlowEnd::kActive;
  std::uint8_t app_state = 0;  // owned by the application-layer analyzer (app::AppAnalyzer)
  // The flow's first packet in its input (capture::RawPacket::data_offset, its captured length):
  // where a report can point into the capture file. Offset 0: not known (live capture, no file).
  // The length sits in padding before app_data; the offset costs 8 bytes a flow.
  std::uint32_t first_packet_length = 0;
  void* app_data = nullptr;    // its per-flow parser state while app_state says "inspecting"
  std::uint64_t first_packet_offset = 0;

  [[nodiscard]] std::uint8_t server() const noexcept { return static_cast<std::uint8_t>(1 - client); }
  [[nodiscard]] const DirectionStats& out() const noexcept { return from[client]; }
  [[nodiscard]] const DirectionStats& in() const noexcept { return from[server()]; }
  [[nodiscard]] core::TimestampNs first_seen() const noexcept;
};

}  // namespace flowaudit::analysis::flow
