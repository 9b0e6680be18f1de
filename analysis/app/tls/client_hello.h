// TLS handshake messages a passive observer can read: ClientHello, ServerHello and, before TLS 1.3,
// the server's certificate. Views (string_view) point into the bytes given and live only as long
// as they do; lists are FixedLists (no heap).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/app/parse_status.h"
#include "core/fixed_list.h"

namespace flowaudit::analysis::tls {

namespace handshake {
inline constexpr std::uint8_t kClientHello = 1;
inline constexpr std::uint8_t kServerHello = 2;
inline constexpr std::uint8_t kCertificate = 11;
}  // namespace handshake

namespace ext {
inline constexpr std::uint16_t kServerName = 0x0000;
inline constexpr std::uint16_t kSupportedGroups = 0x000a;
inline constexpr std::uint16_t kEcPointFormats = 0x000b;
inline constexpr std::uint16_t kSignatureAlgorithms = 0x000d;
inline constexpr std::uint16_t kAlpn = 0x0010;
inline constexpr std::uint16_t kSupportedVersions = 0x002b;
inline constexpr std::uint16_t kEncryptedClientHello = 0xfe0d;
}  // namespace ext

bool is_grease(std::uint16_t value) noexcept;  // RFC 8701: 0x0a0a, 0x1a1a, ... 0xfafa

struct ClientHello {
  std::uint16_t legacy_version = 0;
  core::FixedList<std::uint16_t, 256> cipher_suites;  // in order, GREASE included
  core::FixedList<std::uint16_t, 128> extensions;     // extension types in order, GREASE included
  core::FixedList<std::uint16_t, 64> supported_groups;
  core::FixedList<std::uint8_t, 16> ec_point_formats;
  core::FixedList<std::uint16_t, 64> signature_algorithms;
  core::FixedList<std::uint16_t, 16> supported_versions;
  core::FixedList<std::string_view, 16> alpn;  // protocol names
  bool has_sni = false;
  std::string_view sni;  // host_name entry of server_name
  bool has_ech = false;  // encrypted_client_hello (0xfe0d) present
};

struct ServerHello {
  std::uint16_t legacy_version = 0;
  std::uint16_t selected_version = 0;  // from supported_versions, 0 when absent
  std::uint16_t cipher_suite = 0;
  core::FixedList<std::uint16_t, 64> extensions;
  std::string_view alpn;  // the selected protocol, empty when none
  bool hello_retry_request = false;  // the special random of RFC 8446 4.1.3: a HelloRetryRequest

  // The negotiated version: selected_version when present, else legacy_version.
  [[nodiscard]] std::uint16_t version() const noexcept { return selected_version != 0 ? selected_version : legacy_version; }
};

// An SSLv2-format ClientHello (RFC 6101 appendix E, RFC 5246 E.2), sent by clients that also
// speak SSL 2.0: no extensions, so no server name, ALPN or supported_versions can be in it.
struct Sslv2ClientHello {
  std::uint16_t version = 0;       // the highest version offered: 0x0002 (SSL 2.0), 0x0300 and up
  std::uint16_t cipher_specs = 0;  // 3-byte cipher specs offered (SSL 2.0 kinds and TLS suites)
};

struct Certificate {  // the leaf (first) certificate of a Certificate message
  std::string subject;  // RFC 2253 form, e.g. "CN=chat.deepseek.com"
  std::string issuer;
  std::vector<std::string> san_dns;  // subjectAltName dNSName entries (at most 64 kept)
};

// `body` is the handshake message body (after the 4-byte type + length header).
app::ParseStatus parse_client_hello(std::span<const std::uint8_t> body, ClientHello& out) noexcept;
app::ParseStatus parse_server_hello(std::span<const std::uint8_t> body, ServerHello& out) noexcept;
// `body` is the SSLv2 record body after its msg_type byte; the message fills it exactly.
app::ParseStatus parse_sslv2_client_hello(std::span<const std::uint8_t> body, Sslv2ClientHello& out) noexcept;
// TLS 1.2-and-older Certificate message body; parsed with OpenSSL's DER decoder.
app::ParseStatus parse_certificate(std::span<const std::uint8_t> body, Certificate& out);

// "TLS 1.2", "TLS 1.3", "SSL 3.0", or "0x7f1c" for anything else.
std::string version_name(std::uint16_t version);
// The same names without building a string; empty for values without a name.
std::string_view known_version_name(std::uint16_t version) noexcept;
std::string_view known_cipher_name(std::uint16_t suite) noexcept;
// Suites that do not encrypt: *_WITH_NULL_*, TLS_NULL_WITH_NULL_NULL, the integrity-only TLS 1.3 suites.
bool is_null_cipher(std::uint16_t suite) noexcept;
// IANA name of a cipher suite, e.g. "TLS_AES_128_GCM_SHA256", or "0x1301" style when unknown.
std::string cipher_name(std::uint16_t suite);

}  // namespace flowaudit::analysis::tls
