// Reads TLS records from one direction of a TCP stream (bytes in order, as the TCP reassembler
// delivers them) and hands out complete handshake messages, reassembled across records and
// segments, up to a byte limit: only the first bytes of a flow are ever inspected.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace flowaudit::analysis::tls {

class HandshakeReader {
 public:
  static constexpr std::size_t kMaxBuffered = 64 * 1024;  // a handshake message larger is dropped

  enum class State {
    kReading,   // more bytes wanted
    kNotTls,    // the stream does not start with a TLS record: stop feeding
    kEncrypted, // a ChangeCipherSpec / application data record was reached: nothing more to read
    kGaveUp,    // a limit was hit
  };

  struct Message {
    std::uint8_t type = 0;
    std::span<const std::uint8_t> body;  // valid only during the callback
  };

  // Feeds the next in-order bytes; calls on_message(const Message&) for each complete handshake
  // message. Returns the state after these bytes.
  template <typename F>
  State feed(std::span<const std::uint8_t> bytes, F&& on_message);

  [[nodiscard]] State state() const noexcept { return state_; }
  [[nodiscard]] std::uint16_t record_version() const noexcept { return record_version_; }

 private:
  State state_ = State::kReading;
  std::uint16_t record_version_ = 0;
  std::vector<std::uint8_t> record_;     // partial record (header + fragment)
  std::vector<std::uint8_t> handshake_;  // handshake bytes across records
};

}  // namespace flowaudit::analysis::tls
