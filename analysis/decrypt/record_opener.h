// One direction of a TLS connection's record protection: keys from a traffic secret (TLS 1.3) or
// from the key block (TLS 1.0-1.2), then each protected record opened and authenticated through
// libcrypto's EVP interfaces. An opener never guesses: a record that fails authentication is an
// error the caller reports, and the direction stops there.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "analysis/decrypt/tls_suites.h"

namespace flowaudit::analysis::decrypt {

enum class OpenStatus : std::uint8_t { kOk, kAuthFailed, kMalformed, kCryptoError };

// TLS 1.3 HKDF-Expand-Label (RFC 8446 §7.1) with `hash` ("SHA256", "SHA384") and an empty context.
bool expand_label(const char* hash, std::span<const std::uint8_t> secret, std::string_view label,
                  std::span<std::uint8_t> out) noexcept;

// TLS 1.0-1.2 key block (RFC 5246 §6.3): PRF(master, "key expansion", server_random + client_random).
// `version` < 0x0303 uses the MD5/SHA-1 PRF of TLS 1.0 and 1.1.
bool tls12_key_block(const SuiteInfo& suite, std::uint16_t version, std::span<const std::uint8_t> master,
                     std::span<const std::uint8_t> client_random, std::span<const std::uint8_t> server_random,
                     std::span<std::uint8_t> out) noexcept;

class RecordOpener {
 public:
  RecordOpener();
  ~RecordOpener();
  RecordOpener(RecordOpener&&) noexcept;
  RecordOpener& operator=(RecordOpener&&) noexcept;

  // TLS 1.3: keys of `secret` (a handshake or application traffic secret); the sequence restarts.
  bool init_tls13(const SuiteInfo& suite, std::span<const std::uint8_t> secret) noexcept;
  // TLS 1.3 KeyUpdate: the next application traffic secret of this direction.
  bool update_tls13() noexcept;
  // TLS 1.0-1.2: this direction's part of the key block. `etm`: encrypt_then_mac was negotiated
  // (RFC 7366; CBC suites only).
  bool init_tls12(const SuiteInfo& suite, std::uint16_t version, std::span<const std::uint8_t> mac_key,
                  std::span<const std::uint8_t> key, std::span<const std::uint8_t> iv, bool etm) noexcept;

  [[nodiscard]] bool ready() const noexcept { return suite_ != nullptr; }
  [[nodiscard]] std::uint64_t sequence() const noexcept { return seq_; }

  // Opens one record (`type` and `version` from its header, `body` its fragment). The plaintext
  // goes to `out` (resized; reuse it to avoid allocations); `inner_type` is the real content type
  // (TLS 1.3's inner type, else `type`).
  OpenStatus open(std::uint8_t type, std::uint16_t version, std::span<const std::uint8_t> body,
                  std::vector<std::uint8_t>& out, std::uint8_t& inner_type) noexcept;

 private:
  OpenStatus open_aead(std::uint8_t type, std::uint16_t version, std::span<const std::uint8_t> body,
                       std::vector<std::uint8_t>& out, std::uint8_t& inner_type) noexcept;
  OpenStatus open_cbc(std::uint8_t type, std::uint16_t version, std::span<const std::uint8_t> body,
                      std::vector<std::uint8_t>& out) noexcept;
  bool set_key() noexcept;

  struct Crypto;
  std::unique_ptr<Crypto> crypto_;
  const SuiteInfo* suite_ = nullptr;
  bool tls13_ = false;
  bool etm_ = false;
  bool explicit_iv_ = true;  // TLS 1.1+ CBC: the IV leads each record; TLS 1.0 chains it
  std::uint64_t seq_ = 0;
  std::array<std::uint8_t, 64> secret_{};  // TLS 1.3 traffic secret (for KeyUpdate)
  std::uint8_t secret_len_ = 0;
  std::array<std::uint8_t, 32> key_{};
  std::array<std::uint8_t, 16> iv_{};      // TLS 1.3 / ChaCha: 12 bytes; GCM 1.2: 4; CBC 1.0: 16
  std::array<std::uint8_t, 48> mac_key_{};
};

}  // namespace flowaudit::analysis::decrypt
