// Record layer (RFC 8446 5.1, RFC 5246 6.2.1) as far as a passive reader of the handshake needs it.
// An SSLv2-format ClientHello (first byte with the high bit set) is read as the first record only.
#include "analysis/app/tls/handshake_reader.h"

#include <algorithm>

#include "core/byte_reader.h"

namespace flowaudit::analysis::tls {

namespace {

using core::ByteReader;
using State = HandshakeReader::State;

constexpr std::uint8_t kChangeCipherSpec = 20;
constexpr std::uint8_t kHandshake = 22;
constexpr std::uint8_t kApplicationData = 23;
constexpr std::uint8_t kHeartbeat = 24;
constexpr std::size_t kRecordHeader = 5;
constexpr std::size_t kSslv2Header = 2;
constexpr std::uint8_t kSslv2Record = 0x80;  // record_type_ of the SSLv2-format first record (no TLS type)
// msg_type, version, and the three 2-byte lengths of an SSLv2-format ClientHello (RFC 5246 E.2).
constexpr std::size_t kSslv2HelloFixed = 9;
constexpr std::size_t kMessageHeader = 4;
constexpr std::size_t kInitialReserve = 4096;
constexpr std::uint8_t kClientHello = 1;
constexpr std::uint8_t kServerHello = 2;

bool known_content_type(std::uint8_t t) noexcept { return t >= kChangeCipherSpec && t <= kHeartbeat; }

// Total size (header included) of the handshake message starting at `bytes`, which holds at least
// its 4-byte header.
std::size_t message_size(std::span<const std::uint8_t> bytes) noexcept {
  ByteReader r(bytes);
  std::uint32_t type_and_length = 0;
  if (!r.read_u32be(type_and_length)) return 0;
  return kMessageHeader + (type_and_length & 0x00ffffffu);
}

}  // namespace

void HandshakeReader::stop(State state) noexcept {
  state_ = state;
  std::vector<std::uint8_t>().swap(handshake_);  // a finished reader holds no buffer
}

// The record header in header_ is complete: check it and start the record.
bool HandshakeReader::start_record() noexcept {
  ByteReader r(header_);
  std::uint8_t type = 0;
  std::uint16_t version = 0;
  std::uint16_t length = 0;
  r.read_u8(type);
  r.read_u16be(version);
  r.read_u16be(length);
  if (!known_content_type(type) || (version >> 8) != 3 || length > kMaxRecordLength) {
    // Garbage at the start means another protocol; later, a broken stream (or one we misread).
    stop(seen_record_ ? State::kGaveUp : State::kNotTls);
    return false;
  }
  if (!seen_record_) {
    seen_record_ = true;
    record_version_ = version;
  }
  if (type == kApplicationData || (type == kChangeCipherSpec && !handshake_.empty())) {
    stop(State::kEncrypted);
    return false;
  }
  if (type == kChangeCipherSpec) after_ccs_ = true;  // its body (one byte) is skipped
  record_type_ = type;
  record_left_ = length;
  record_length_ = length;
  return true;
}

// The 2-byte header of an SSLv2-format first record is in header_: the length is its low 15 bits.
bool HandshakeReader::start_sslv2_record() noexcept {
  const std::size_t length = (static_cast<std::size_t>(header_[0] & 0x7f) << 8) | header_[1];
  if (length < kSslv2HelloFixed || length > kMaxBuffered) {
    stop(State::kNotTls);
    return false;
  }
  seen_record_ = true;
  record_version_ = 0x0002;
  record_type_ = kSslv2Record;
  record_left_ = length;
  record_length_ = length;
  return true;
}

// Body bytes of the SSLv2-format first record: handed out once whole, in place when they came in
// one piece.
void HandshakeReader::sslv2_bytes(std::span<const std::uint8_t> bytes, const Sink& sink) noexcept {
  handshake_total_ += bytes.size();
  std::span<const std::uint8_t> whole = bytes;
  if (record_left_ != 0 || !handshake_.empty()) {
    if (handshake_.empty()) handshake_.reserve(record_length_);
    handshake_.insert(handshake_.end(), bytes.begin(), bytes.end());
    if (record_left_ != 0) return;
    whole = handshake_;
  }
  if (whole[0] != kClientHello) {  // only a client's hello is read in this format
    stop(State::kNotTls);
    return;
  }
  sink.call(sink.ctx, Message{whole[0], whole.subspan(1), true});
  std::vector<std::uint8_t>().swap(handshake_);  // TLS records follow, or nothing readable
}

// A message whose header has just been read; stops reading when it may not be read.
bool HandshakeReader::message_allowed(std::uint8_t type, std::size_t size) noexcept {
  if (after_ccs_ && ((type != kClientHello && type != kServerHello) || size != record_length_)) {
    stop(State::kEncrypted);
    return false;
  }
  if (size > kMaxBuffered) {
    stop(State::kLimit);
    return false;
  }
  return true;
}

void HandshakeReader::handshake_bytes(std::span<const std::uint8_t> bytes, const Sink& sink) noexcept {
  handshake_total_ += bytes.size();
  if (handshake_total_ > kMaxHandshakeBytes) {
    stop(State::kLimit);
    return;
  }
  ByteReader r(bytes);
  while (state_ == State::kReading && r.remaining() > 0) {
    if (handshake_.empty()) {
      // In place when the whole message is here.
      const auto rest = r.rest();
      if (rest.size() >= kMessageHeader) {
        const std::size_t size = message_size(rest);
        if (!message_allowed(rest[0], size)) return;
        std::span<const std::uint8_t> message;
        if (r.read_bytes(size, message)) {
          sink.call(sink.ctx, Message{message[0], message.subspan(kMessageHeader)});
          continue;
        }
        if (handshake_.capacity() < size) handshake_.reserve(std::max(size, kInitialReserve));
      } else if (handshake_.capacity() == 0) {
        handshake_.reserve(kInitialReserve);
      }
      handshake_.assign(rest.begin(), rest.end());  // less than one message: fits the reservation
      r.skip(rest.size());
      continue;
    }

    // Completing a buffered message: first its header, then its body.
    if (handshake_.size() < kMessageHeader) {
      std::span<const std::uint8_t> part;
      r.read_bytes(std::min(kMessageHeader - handshake_.size(), r.remaining()), part);
      handshake_.insert(handshake_.end(), part.begin(), part.end());
      if (handshake_.size() < kMessageHeader) continue;
    }
    const std::size_t size = message_size(handshake_);
    if (!message_allowed(handshake_[0], size)) return;
    if (handshake_.capacity() < size) {
      handshake_.reserve(std::min(std::max(size, 2 * handshake_.capacity()), kMaxBuffered));
    }
    std::span<const std::uint8_t> part;
    r.read_bytes(std::min(size - handshake_.size(), r.remaining()), part);
    handshake_.insert(handshake_.end(), part.begin(), part.end());
    if (handshake_.size() == size) {
      const std::span<const std::uint8_t> message(handshake_);
      sink.call(sink.ctx, Message{message[0], message.subspan(kMessageHeader)});
      handshake_.clear();  // keeps its capacity for the next cut message
    }
  }
}

HandshakeReader::State HandshakeReader::feed_impl(std::span<const std::uint8_t> bytes, const Sink& sink) noexcept {
  ByteReader r(bytes);
  while (state_ == State::kReading && r.remaining() > 0) {
    if (record_left_ == 0) {
      // The first byte says which header follows: SSLv2 format (high bit) or a TLS record.
      std::size_t header_size = kRecordHeader;
      if (!seen_record_) {
        if (header_len_ == 0) {
          r.read_u8(header_[0]);
          header_len_ = 1;
        }
        // Say kNotTls as soon as the first byte shows it, without waiting for five.
        if ((header_[0] & 0x80) != 0) {
          header_size = kSslv2Header;
        } else if (!known_content_type(header_[0])) {
          stop(State::kNotTls);
          break;
        }
      }
      std::span<const std::uint8_t> part;
      r.read_bytes(std::min(header_size - header_len_, r.remaining()), part);
      std::copy(part.begin(), part.end(), header_.begin() + static_cast<std::ptrdiff_t>(header_len_));
      header_len_ += part.size();
      if (header_len_ < header_size) break;
      header_len_ = 0;
      if (!(header_size == kSslv2Header ? start_sslv2_record() : start_record())) break;
      continue;
    }
    std::span<const std::uint8_t> part;
    r.read_bytes(std::min(record_left_, r.remaining()), part);
    record_left_ -= part.size();
    if (record_type_ == kHandshake) handshake_bytes(part, sink);
    if (record_type_ == kSslv2Record) sslv2_bytes(part, sink);
    // Alerts (21) and heartbeats (24) are skipped.
  }
  return state_;
}

}  // namespace flowaudit::analysis::tls
