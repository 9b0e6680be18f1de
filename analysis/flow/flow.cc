#include "analysis/flow/flow.h"

#include <algorithm>

namespace flowaudit::analysis::flow {

std::uint64_t FlowKey::hash() const noexcept {
  std::uint64_t h = addr[0].hash() ^ (addr[1].hash() * 0x94D049BB133111EBULL);
  h ^= (static_cast<std::uint64_t>(port[0]) << 32) | (static_cast<std::uint64_t>(port[1]) << 16) | protocol;
  h ^= h >> 31;
  h *= 0x9E3779B97F4A7C15ULL;
  h ^= h >> 29;
  return h;
}

core::TimestampNs Flow::first_seen() const noexcept {
  if (from[0].packets == 0) return from[1].first_ns;
  if (from[1].packets == 0) return from[0].first_ns;
  return std::min(from[0].first_ns, from[1].first_ns);
}

const char* to_string(TcpState s) noexcept {
  switch (s) {
    case TcpState::kNone: return "none";
    case TcpState::kSynSent: return "syn-sent";
    case TcpState::kSynAckSeen: return "syn-ack-seen";
    case TcpState::kEstablished: return "established";
    case TcpState::kMidstream: return "midstream";
    case TcpState::kClosing: return "closing";
    case TcpState::kClosed: return "closed";
    case TcpState::kReset: return "reset";
  }
  return "unknown";
}

const char* to_string(Orientation o) noexcept {
  switch (o) {
    case Orientation::kTcpHandshake: return "tcp-handshake";
    case Orientation::kClientCidr: return "client-cidr";
    case Orientation::kPort: return "port-heuristic";
    case Orientation::kFirstPacket: return "first-packet";
  }
  return "unknown";
}

const char* to_string(FlowEnd e) noexcept {
  switch (e) {
    case FlowEnd::kActive: return "end-of-capture";
    case FlowEnd::kIdleTimeout: return "idle-timeout";
    case FlowEnd::kEvicted: return "evicted";
    case FlowEnd::kTcpClosed: return "tcp-closed";
    case FlowEnd::kPortReused: return "port-reused";
  }
  return "unknown";
}

}  // namespace flowaudit::analysis::flow
