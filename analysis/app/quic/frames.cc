#include "analysis/app/quic/frames.h"

#include "analysis/app/quic/initial_protection.h"
#include "core/byte_reader.h"

namespace flowaudit::analysis::quic {

namespace {

constexpr std::uint64_t kMaxVarint = (1ULL << 62) - 1;

bool skip_bytes_of_length(core::ByteReader& in) noexcept {
  std::uint64_t len = 0;
  return read_varint(in, len) && len <= in.remaining() && in.skip(static_cast<std::size_t>(len));
}

}  // namespace

FrameSummary walk_frames(std::span<const std::uint8_t> payload, FrameVisitor& visitor) noexcept {
  FrameSummary s;
  core::ByteReader in(payload);
  while (in.remaining() > 0) {
    if (s.frames >= kMaxFramesPerPacket) {
      s.malformed = true;  // more frames than a packet of this size could sensibly hold
      break;
    }
    std::uint64_t type = 0;
    if (!read_varint(in, type)) {
      s.malformed = true;
      break;
    }
    ++s.frames;
    bool ok = true;
    if (type >= 0x08 && type <= 0x0f) {  // STREAM (§19.8): OFF 0x04, LEN 0x02, FIN 0x01
      StreamFrame f;
      std::uint64_t len = 0;
      ok = read_varint(in, f.stream_id) && ((type & 0x04) == 0 || read_varint(in, f.offset));
      if (ok) {
        if ((type & 0x02) != 0) {
          ok = read_varint(in, len) && len <= in.remaining();
        } else {
          len = in.remaining();  // no length: the frame runs to the end of the packet
        }
      }
      ok = ok && in.read_bytes(static_cast<std::size_t>(len), f.data) && f.offset + len <= kMaxVarint;
      if (ok) {
        f.fin = (type & 0x01) != 0;
        ++s.stream_frames;
        visitor.on_stream(f);
      }
    } else {
      switch (type) {
        case 0x00:  // PADDING: runs of zeros, skipped in one go
          while (in.remaining() > 0 && in.rest()[0] == 0) in.skip(1);
          break;
        case 0x01:  // PING
        case 0x1e:  // HANDSHAKE_DONE
        case 0x1f:  // IMMEDIATE_ACK (draft-ietf-quic-ack-frequency)
          break;
        case 0x02:
        case 0x03: ok = skip_ack(in, type == 0x03); break;
        case 0x04: {  // RESET_STREAM: id, error, final size
          std::uint64_t id = 0, error = 0, final_size = 0;
          ok = read_varint(in, id) && read_varint(in, error) && read_varint(in, final_size);
          if (ok) {
            ++s.resets;
            visitor.on_reset(id, final_size);
          }
          break;
        }
        case 0x05: ok = skip_varints(in, 2); break;                            // STOP_SENDING
        case 0x06: ok = skip_varints(in, 1) && skip_bytes_of_length(in); break;  // CRYPTO (tickets)
        case 0x07: ok = skip_bytes_of_length(in); break;                       // NEW_TOKEN
        case 0x10:                                                              // MAX_DATA
        case 0x12:
        case 0x13:  // MAX_STREAMS
        case 0x14:  // DATA_BLOCKED
        case 0x16:
        case 0x17:  // STREAMS_BLOCKED
        case 0x19:  // RETIRE_CONNECTION_ID
          ok = skip_varints(in, 1);
          break;
        case 0x11:  // MAX_STREAM_DATA
        case 0x15:  // STREAM_DATA_BLOCKED
          ok = skip_varints(in, 2);
          break;
        case 0x18: {  // NEW_CONNECTION_ID: seq, retire prior to, length (1-20), id, 16-byte token
          std::uint8_t len = 0;
          ok = skip_varints(in, 2) && in.read_u8(len) && len >= 1 && len <= 20 && in.skip(len) && in.skip(16);
          if (ok) {
            ++s.new_connection_ids;
            s.new_cid_len = len;
          }
          break;
        }
        case 0x1a:
        case 0x1b: ok = in.skip(8); break;  // PATH_CHALLENGE, PATH_RESPONSE
        case 0x1c: ok = skip_varints(in, 2) && skip_bytes_of_length(in); s.connection_close = true; break;
        case 0x1d: ok = skip_varints(in, 1) && skip_bytes_of_length(in); s.connection_close = true; break;
        case 0x30:  // DATAGRAM without length: to the end of the packet
          s.datagram = true;
          in.skip(in.remaining());
          break;
        case 0x31: s.datagram = true; ok = skip_bytes_of_length(in); break;
        case 0xaf:  // ACK_FREQUENCY (draft-ietf-quic-ack-frequency-07+): seq, threshold, max delay, reordering
          ok = skip_varints(in, 4);
          break;
        default:
          s.unknown_type = true;
          return s;
      }
    }
    if (!ok) {
      s.malformed = true;
      break;
    }
  }
  return s;
}

}  // namespace flowaudit::analysis::quic
