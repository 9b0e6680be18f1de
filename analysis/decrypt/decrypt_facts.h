// What decrypting one TLS connection found, without a secret in it: kept with the flow's details
// and written to reports (flows[].decryption).
#pragma once

#include <cstdint>

namespace flowaudit::analysis::decrypt {

enum class DecryptStop : std::uint8_t {
  kNone,
  kNoKeys,              // the key log has no secrets for this ClientHello's random
  kMissingSecret,       // some secrets, not the one this direction needs
  kUnsupportedVersion,  // SSL 3.0 or an unknown version
  kUnsupportedSuite,    // a suite flowaudit does not decrypt (the report names it)
  kAuthFailed,          // a record did not authenticate with the keys of the log
  kMalformed,           // record framing or handshake structure broken
  kLimit,               // a buffer limit was crossed
};
const char* to_string(DecryptStop s) noexcept;

struct DecryptFacts {
  bool hello_seen = false;       // a ServerHello was read (version and suite known)
  bool keys_found = false;
  std::uint16_t version = 0;     // negotiated (supported_versions for TLS 1.3)
  std::uint16_t suite = 0;
  DecryptStop stop[2] = {DecryptStop::kNone, DecryptStop::kNone};
  std::uint64_t records_opened[2] = {0, 0};
  std::uint64_t protected_bytes[2] = {0, 0};  // fragments of protected records seen
  std::uint64_t opened_bytes[2] = {0, 0};     // fragments of those that were opened
  std::uint64_t app_bytes[2] = {0, 0};        // application data delivered
  std::uint32_t key_updates = 0;
  bool early_data = false;                    // 0-RTT records were opened
};

}  // namespace flowaudit::analysis::decrypt
