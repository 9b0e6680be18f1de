// Reads TLS records from one direction of a TCP stream (bytes in order, as the TCP reassembler
// delivers them) and hands out complete handshake messages, reassembled across records and
// segments, up to a byte limit: only the first bytes of a flow are ever inspected.
//
// A message that lies whole inside the bytes of one feed() is handed out in place (no copy); only
// a message cut by a segment or record boundary is collected in a buffer, reserved on first need
// and released when reading stops. Records are only framing here: their bodies are never buffered.
//
// A ChangeCipherSpec ends the clear part of a TLS 1.2 handshake, but in TLS 1.3 it is a no-op sent
// for middleboxes: after a HelloRetryRequest, the client sends it before its second ClientHello and
// the server may send it before its real ServerHello, both in clear. So after a ChangeCipherSpec a
// handshake record is still read when it is exactly one whole ClientHello or ServerHello (an
// encrypted TLS 1.2 Finished passes that test with odds of about 2^-31); anything else means
// encrypted.
//
// A client that also speaks SSL 2.0 may open with an SSLv2-format ClientHello (RFC 6101 appendix
// E, RFC 5246 E.2: a 2-byte record header with the high bit set) and go on in TLS records once the
// server answered with a TLS ServerHello. That first record is handed out whole as one message
// with sslv2 set (type 1, the body after the message type byte); any other SSLv2 message stops the
// reader (kNotTls): SSL 2.0 itself is not read.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <type_traits>
#include <vector>

namespace flowaudit::analysis::tls {

class HandshakeReader {
 public:
  // A handshake message larger stops the reader (kLimit). Real ClientHellos are a few KiB (about
  // 1.8 KiB with a post-quantum key share, some more with PSK tickets and ECH); server certificate
  // chains rarely pass 16 KiB. It matches the analyzer's per-direction byte budget (AppConfig), so
  // a message the reader would accept can also arrive.
  static constexpr std::size_t kMaxBuffered = 32 * 1024;
  // Handshake bytes read (all messages) before giving up: a handshake in clear is a few records.
  static constexpr std::size_t kMaxHandshakeBytes = 256 * 1024;
  static constexpr std::size_t kMaxRecordLength = (1u << 14) + 2048;  // RFC 5246 6.2.3 ciphertext limit

  enum class State {
    kReading,   // more bytes wanted
    kNotTls,    // the stream does not start with a TLS record: stop feeding
    kEncrypted, // application data, or a ChangeCipherSpec not followed by a clear hello:
                // nothing more to read
    kGaveUp,    // a later record header was broken
    kLimit,     // a handshake message, or the handshake in all, is larger than the limits
  };

  struct Message {
    std::uint8_t type = 0;
    std::span<const std::uint8_t> body;  // valid only during the callback
    bool sslv2 = false;  // an SSLv2-format ClientHello (body: RFC 5246 E.2 after msg_type)
  };

  // Feeds the next in-order bytes; calls on_message(const Message&) for each complete handshake
  // message. Returns the state after these bytes. The callback must not feed this reader.
  template <typename F>
  State feed(std::span<const std::uint8_t> bytes, F&& on_message) {
    using Fn = std::remove_reference_t<F>;
    // Fn may be const; the pointer's constness is restored before the call.
    const Sink sink{const_cast<void*>(static_cast<const void*>(std::addressof(on_message))),
                    [](void* ctx, const Message& m) { (*static_cast<Fn*>(ctx))(m); }};
    return feed_impl(bytes, sink);
  }

  [[nodiscard]] State state() const noexcept { return state_; }
  [[nodiscard]] std::uint16_t record_version() const noexcept { return record_version_; }  // of the first record

 private:
  struct Sink {  // a non-owning callback, so that feed_impl is not a template
    void* ctx;
    void (*call)(void*, const Message&);
  };

  State feed_impl(std::span<const std::uint8_t> bytes, const Sink& sink) noexcept;
  bool start_record() noexcept;
  bool start_sslv2_record() noexcept;
  void sslv2_bytes(std::span<const std::uint8_t> bytes, const Sink& sink) noexcept;
  bool message_allowed(std::uint8_t type, std::size_t size) noexcept;
  void handshake_bytes(std::span<const std::uint8_t> bytes, const Sink& sink) noexcept;
  void stop(State state) noexcept;

  State state_ = State::kReading;
  std::uint16_t record_version_ = 0;
  bool seen_record_ = false;
  bool after_ccs_ = false;        // a ChangeCipherSpec was seen
  std::size_t record_length_ = 0;  // of the current record
  std::array<std::uint8_t, 5> header_{};  // a record header cut by a segment boundary
  std::size_t header_len_ = 0;
  std::uint8_t record_type_ = 0;
  std::size_t record_left_ = 0;   // body bytes of the current record still to come
  std::size_t handshake_total_ = 0;
  std::vector<std::uint8_t> handshake_;  // one handshake message cut by a boundary (header first)
};

}  // namespace flowaudit::analysis::tls
