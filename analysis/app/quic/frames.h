// The frames of a decrypted QUIC packet (RFC 9000 §19, RFC 9221 DATAGRAM, and the extension frames
// seen in deployed stacks): each is walked to its end so that the STREAM frames after it are
// reached; a frame whose type is unknown ends the walk (its length cannot be known). Written by
// hand: no library parses frames outside its own connection state.
#pragma once

#include <cstdint>
#include <span>

namespace flowaudit::analysis::quic {

struct StreamFrame {
  std::uint64_t stream_id = 0;
  std::uint64_t offset = 0;
  std::span<const std::uint8_t> data;
  bool fin = false;
};

// What a packet's frames held besides STREAM data, for the connection's state and the report.
struct FrameSummary {
  std::uint32_t frames = 0;
  std::uint32_t stream_frames = 0;
  std::uint32_t resets = 0;            // RESET_STREAM
  std::uint32_t new_connection_ids = 0;
  std::uint8_t new_cid_len = 0;        // the length of the last NEW_CONNECTION_ID's ID
  bool connection_close = false;
  bool datagram = false;               // RFC 9221 DATAGRAM frames carry data not in streams
  bool unknown_type = false;           // the walk stopped at a type it does not know
  bool malformed = false;              // a frame ran past the packet or broke its rules
};

class FrameVisitor {
 public:
  virtual ~FrameVisitor() = default;
  virtual void on_stream(const StreamFrame& frame) = 0;
  // RESET_STREAM: the sender abandons the stream at `final_size`.
  virtual void on_reset(std::uint64_t stream_id, std::uint64_t final_size) = 0;
};

// Walks every frame of `payload` (the plaintext of one packet). At most kMaxFrames frames.
inline constexpr std::uint32_t kMaxFramesPerPacket = 4096;
FrameSummary walk_frames(std::span<const std::uint8_t> payload, FrameVisitor& visitor) noexcept;

// Stream id helpers (RFC 9000 §2.1).
constexpr bool client_initiated(std::uint64_t id) noexcept { return (id & 1) == 0; }
constexpr bool bidirectional(std::uint64_t id) noexcept { return (id & 2) == 0; }

}  // namespace flowaudit::analysis::quic
