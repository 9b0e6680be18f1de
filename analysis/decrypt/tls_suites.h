// The TLS cipher suites flowaudit can decrypt: what each uses for record protection and key
// derivation. Facts from the IANA TLS Cipher Suites registry and RFC 5246, 5288, 5289, 7905, 8446.
#pragma once

#include <cstdint>

namespace flowaudit::analysis::decrypt {

enum class RecordKind : std::uint8_t {
  kAeadGcm,     // AES-GCM: TLS 1.2 with an 8-byte explicit nonce; TLS 1.3 iv XOR sequence
  kAeadChaCha,  // ChaCha20-Poly1305: iv XOR sequence in both versions
  kCbc,         // AES-CBC with HMAC (MAC-then-encrypt, or encrypt-then-MAC per RFC 7366)
};

struct SuiteInfo {
  std::uint16_t id;
  bool tls13;
  RecordKind kind;
  const char* cipher;        // OpenSSL cipher name
  std::uint8_t key_len;
  std::uint8_t fixed_iv_len; // from the key block (TLS 1.2) or the traffic secret (TLS 1.3)
  const char* mac;           // HMAC digest of CBC suites, nullptr for AEAD
  std::uint8_t mac_len;
  const char* hash;          // PRF (TLS 1.2) or HKDF (TLS 1.3) digest
  const char* name;          // IANA name, for reports
};

// nullptr when the suite is not one flowaudit decrypts (the report says which one it was).
const SuiteInfo* find_suite(std::uint16_t id) noexcept;

}  // namespace flowaudit::analysis::decrypt
