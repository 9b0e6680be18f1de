// QUIC packet protection with TLS 1.3 traffic secrets (RFC 9001 §5, RFC 9369 §3.3.2): the keys of
// 1-RTT packets (CLIENT/SERVER_TRAFFIC_SECRET_0 of a key log) and of 0-RTT packets
// (CLIENT_EARLY_TRAFFIC_SECRET), for the three TLS 1.3 suites QUIC uses; header protection (AES-ECB
// or ChaCha20), packet numbers, AEAD, and key phase changes (RFC 9001 §6: "quic ku", the header
// protection key stays). Through libcrypto's EVP interfaces; only the QUIC framing around them is
// written here (no library opens a passive copy of someone else's QUIC packets).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "analysis/app/quic/initial_protection.h"

namespace flowaudit::analysis::quic {

// The keys of one secret: AEAD key and IV, and the secret itself (the next key phase comes from it).
struct PacketKeys {
  std::array<std::uint8_t, 48> secret{};
  std::uint8_t secret_len = 0;
  std::array<std::uint8_t, 32> key{};
  std::array<std::uint8_t, 12> iv{};
};

class OneRttOpener {
 public:
  OneRttOpener() noexcept;
  ~OneRttOpener();
  OneRttOpener(OneRttOpener&&) noexcept;
  OneRttOpener& operator=(OneRttOpener&&) noexcept;
  OneRttOpener(const OneRttOpener&) = delete;
  OneRttOpener& operator=(const OneRttOpener&) = delete;

  // Keys of `secret` for TLS suite `suite` (0x1301 AES-128-GCM, 0x1302 AES-256-GCM, 0x1303
  // ChaCha20-Poly1305) with the labels of `version` (v2: "quicv2 ..."). False for another suite or
  // a secret whose length is not the suite's hash length.
  bool init(std::uint16_t suite, std::uint32_t version, std::span<const std::uint8_t> secret) noexcept;
  [[nodiscard]] bool ready() const noexcept { return suite_ != 0; }
  [[nodiscard]] std::uint16_t suite() const noexcept { return suite_; }
  [[nodiscard]] std::uint32_t key_updates() const noexcept { return updates_; }

  // A short-header packet (RFC 9000 §17.3): `packet` from its first byte to the end of the datagram
  // (a short header packet is always last), `dcid_len` the length of its Destination Connection ID.
  // `largest`: the largest packet number opened in this direction's application space (-1: none).
  // On kOk, `plaintext` is the frames (in `scratch`), `packet_number` set, and `key_update` says the
  // packet was the first of a new key phase.
  OpenStatus open_short(std::span<const std::uint8_t> packet, std::size_t dcid_len, std::int64_t largest,
                        std::vector<std::uint8_t>& scratch, std::uint64_t& packet_number,
                        std::span<const std::uint8_t>& plaintext, bool& key_update) noexcept;
  // A long-header packet (0-RTT) read by read_long_header.
  OpenStatus open_long(const LongHeader& header, std::int64_t largest, std::vector<std::uint8_t>& scratch,
                       std::uint64_t& packet_number, std::span<const std::uint8_t>& plaintext) noexcept;

 private:
  struct Ctx;
  bool header_mask(std::span<const std::uint8_t, 16> sample, std::array<std::uint8_t, 5>& mask) noexcept;
  bool decrypt(const PacketKeys& keys, std::span<const std::uint8_t> header, std::uint64_t packet_number,
               std::span<const std::uint8_t> payload, std::vector<std::uint8_t>& scratch,
               std::span<const std::uint8_t>& plaintext) noexcept;
  bool next_keys(const PacketKeys& from, PacketKeys& out) noexcept;
  OpenStatus open(std::span<const std::uint8_t> packet, std::size_t pn_offset, bool short_header,
                  std::int64_t largest, std::vector<std::uint8_t>& scratch, std::uint64_t& packet_number,
                  std::span<const std::uint8_t>& plaintext, bool& key_update) noexcept;

  std::unique_ptr<Ctx> ctx_;
  std::uint16_t suite_ = 0;
  const char* hash_ = "SHA256";
  std::uint8_t key_len_ = 16;
  bool v2_ = false;
  PacketKeys current_;
  PacketKeys next_;        // derived when a packet of the other phase first arrives
  PacketKeys previous_;    // for packets of the old phase that arrive late
  bool has_next_ = false;
  bool has_previous_ = false;
  bool phase_ = false;     // the key phase bit of current_
  std::uint64_t phase_start_ = 0;  // the first packet number of the current phase
  std::uint32_t updates_ = 0;
};

}  // namespace flowaudit::analysis::quic
