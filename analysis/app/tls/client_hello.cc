// ClientHello and ServerHello (RFC 8446 4.1.2/4.1.3, RFC 5246 7.4.1). Running out of `body` while
// reading means the message was cut short (kNeedMore); a length that does not fit inside the vector
// or extension that contains it is a lie (kMalformed).
#include "analysis/app/tls/client_hello.h"

#include <algorithm>
#include <array>

#include "core/byte_reader.h"

namespace flowaudit::analysis::tls {

namespace {

using app::ParseStatus;
using core::ByteReader;

constexpr std::size_t kRandomSize = 32;
constexpr std::uint8_t kMaxSessionId = 32;
constexpr std::size_t kMaxHostName = 255;  // longer is not a DNS name: not kept as the SNI

// SHA-256("HelloRetryRequest"): the random of a ServerHello that is really a HelloRetryRequest.
constexpr std::array<std::uint8_t, kRandomSize> kHelloRetryRandom = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

bool read_vector8(ByteReader& r, ByteReader& out) noexcept {
  std::uint8_t n = 0;
  return r.read_u8(n) && r.sub_reader(n, out);
}

bool read_vector16(ByteReader& r, ByteReader& out) noexcept {
  std::uint16_t n = 0;
  return r.read_u16be(n) && r.sub_reader(n, out);
}

std::string_view as_text(std::span<const std::uint8_t> bytes) noexcept {
  // Character-type aliasing of the same bytes; no struct is laid over them.
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// TLS 1.3 drafts before 22 (version 0x7f00 + draft number in the ServerHello) had no session id and
// no compression method in the ServerHello; later drafts and RFC 8446 put them back for middleboxes.
bool is_early_tls13_draft(std::uint16_t version) noexcept { return (version >> 8) == 0x7f && (version & 0xff) < 22; }

// A vector of 16-bit values (cipher suites, groups, signature schemes); an odd length is malformed.
template <std::size_t N>
bool read_u16_list(ByteReader& vec, core::FixedList<std::uint16_t, N>& out) noexcept {
  if (vec.remaining() % 2 != 0) return false;
  std::uint16_t v = 0;
  while (vec.remaining() > 0 && vec.read_u16be(v)) out.push_back(v);
  return vec.ok();
}

bool parse_server_name(ByteReader data, ClientHello& out) noexcept {
  if (data.remaining() == 0) return true;  // empty extension_data: allowed, carries no name
  ByteReader list;
  if (!read_vector16(data, list)) return false;
  while (list.remaining() > 0) {
    std::uint8_t name_type = 0;
    ByteReader name;
    if (!list.read_u8(name_type) || !read_vector16(list, name)) return false;
    const auto bytes = name.rest();
    if (name_type == 0 && !out.has_sni && !bytes.empty() && bytes.size() <= kMaxHostName) {
      out.has_sni = true;
      out.sni = as_text(bytes);
    }
  }
  return true;
}

bool parse_client_alpn(ByteReader data, ClientHello& out) noexcept {
  ByteReader list;
  if (!read_vector16(data, list)) return false;
  while (list.remaining() > 0) {
    ByteReader name;
    if (!read_vector8(list, name)) return false;
    out.alpn.push_back(as_text(name.rest()));  // an empty name is kept: JA4 looks at the first one
  }
  return true;
}

// One ClientHello extension; false when its contents are malformed.
bool parse_client_extension(std::uint16_t type, ByteReader data, ClientHello& out) noexcept {
  ByteReader vec;
  switch (type) {
    case ext::kServerName:
      return parse_server_name(data, out);
    case ext::kAlpn:
      return parse_client_alpn(data, out);
    case ext::kSupportedGroups:
      return read_vector16(data, vec) && read_u16_list(vec, out.supported_groups);
    case ext::kSignatureAlgorithms:
      return read_vector16(data, vec) && read_u16_list(vec, out.signature_algorithms);
    case ext::kSupportedVersions:
      return read_vector8(data, vec) && read_u16_list(vec, out.supported_versions);
    case ext::kEcPointFormats: {
      if (!read_vector8(data, vec)) return false;
      std::uint8_t v = 0;
      while (vec.remaining() > 0 && vec.read_u8(v)) out.ec_point_formats.push_back(v);
      return true;
    }
    case ext::kEncryptedClientHello:
      out.has_ech = true;
      return true;
    default:
      return true;
  }
}

// Bit for each extension whose contents we read, so that a repeated extension is only read once.
int handled_bit(std::uint16_t type) noexcept {
  switch (type) {
    case ext::kServerName: return 0;
    case ext::kAlpn: return 1;
    case ext::kSupportedGroups: return 2;
    case ext::kSignatureAlgorithms: return 3;
    case ext::kSupportedVersions: return 4;
    case ext::kEcPointFormats: return 5;
    default: return -1;
  }
}

// Walks an extensions block, calling on_ext(type, data) for each; false when an extension header
// or length does not fit in the block.
template <typename F>
bool for_each_extension(ByteReader block, F&& on_ext) noexcept {
  while (block.remaining() > 0) {
    std::uint16_t type = 0;
    ByteReader data;
    if (!block.read_u16be(type) || !read_vector16(block, data)) return false;
    if (!on_ext(type, data)) return false;
  }
  return true;
}

}  // namespace

bool is_grease(std::uint16_t value) noexcept {
  // 0x?a?a with both bytes equal.
  return (value & 0x0f0f) == 0x0a0a && (value >> 8) == (value & 0xff);
}

app::ParseStatus parse_client_hello(std::span<const std::uint8_t> body, ClientHello& out) noexcept {
  out = ClientHello{};
  ByteReader r(body);
  std::uint8_t session_id_len = 0;
  if (!r.read_u16be(out.legacy_version) || !r.skip(kRandomSize) || !r.read_u8(session_id_len)) {
    return ParseStatus::kNeedMore;
  }
  if (session_id_len > kMaxSessionId) return ParseStatus::kMalformed;
  if (!r.skip(session_id_len)) return ParseStatus::kNeedMore;

  std::uint16_t suites_len = 0;
  if (!r.read_u16be(suites_len)) return ParseStatus::kNeedMore;
  if (suites_len == 0 || suites_len % 2 != 0) return ParseStatus::kMalformed;
  ByteReader suites;
  if (!r.sub_reader(suites_len, suites)) return ParseStatus::kNeedMore;
  if (!read_u16_list(suites, out.cipher_suites)) return ParseStatus::kMalformed;

  std::uint8_t compression_len = 0;
  if (!r.read_u8(compression_len)) return ParseStatus::kNeedMore;
  if (compression_len == 0) return ParseStatus::kMalformed;
  if (!r.skip(compression_len)) return ParseStatus::kNeedMore;

  if (r.remaining() == 0) return ParseStatus::kOk;  // no extensions (SSL 3.0 style): allowed
  ByteReader block;
  if (!read_vector16(r, block)) return ParseStatus::kNeedMore;

  unsigned seen = 0;
  const bool ok = for_each_extension(block, [&](std::uint16_t type, ByteReader data) {
    out.extensions.push_back(type);
    const int bit = handled_bit(type);
    if (bit >= 0) {
      if ((seen & (1u << bit)) != 0) return true;  // repeated: the first one counts
      seen |= 1u << bit;
    }
    return parse_client_extension(type, data, out);
  });
  return ok ? ParseStatus::kOk : ParseStatus::kMalformed;
}

app::ParseStatus parse_server_hello(std::span<const std::uint8_t> body, ServerHello& out) noexcept {
  out = ServerHello{};
  ByteReader r(body);
  std::span<const std::uint8_t> random;
  if (!r.read_u16be(out.legacy_version) || !r.read_bytes(kRandomSize, random)) return ParseStatus::kNeedMore;
  out.hello_retry_request = std::equal(random.begin(), random.end(), kHelloRetryRandom.begin());
  if (is_early_tls13_draft(out.legacy_version)) {
    if (!r.read_u16be(out.cipher_suite)) return ParseStatus::kNeedMore;
  } else {
    std::uint8_t session_id_len = 0;
    std::uint8_t compression = 0;
    if (!r.read_u8(session_id_len)) return ParseStatus::kNeedMore;
    if (session_id_len > kMaxSessionId) return ParseStatus::kMalformed;
    if (!r.skip(session_id_len) || !r.read_u16be(out.cipher_suite) || !r.read_u8(compression)) {
      return ParseStatus::kNeedMore;
    }
  }
  if (r.remaining() == 0) return ParseStatus::kOk;
  ByteReader block;
  if (!read_vector16(r, block)) return ParseStatus::kNeedMore;

  const bool ok = for_each_extension(block, [&](std::uint16_t type, ByteReader data) {
    out.extensions.push_back(type);
    if (type == ext::kSupportedVersions && out.selected_version == 0) {
      return data.read_u16be(out.selected_version) && data.remaining() == 0;
    }
    if (type == ext::kAlpn && out.alpn.empty()) {
      ByteReader list;
      ByteReader name;
      // Exactly one protocol name (RFC 7301 3.1), and it fills the list.
      if (!read_vector16(data, list) || !read_vector8(list, name) || list.remaining() != 0) return false;
      out.alpn = as_text(name.rest());
    }
    return true;
  });
  return ok ? ParseStatus::kOk : ParseStatus::kMalformed;
}

// RFC 5246 E.2: version, cipher_spec_length, session_id_length, challenge_length, then the three
// vectors. A v2 session id is 16 bytes (0 for a new session), the challenge 16 to 32 bytes.
app::ParseStatus parse_sslv2_client_hello(std::span<const std::uint8_t> body, Sslv2ClientHello& out) noexcept {
  out = Sslv2ClientHello{};
  ByteReader r(body);
  std::uint16_t specs_len = 0;
  std::uint16_t session_id_len = 0;
  std::uint16_t challenge_len = 0;
  if (!r.read_u16be(out.version) || !r.read_u16be(specs_len) || !r.read_u16be(session_id_len) ||
      !r.read_u16be(challenge_len)) {
    return ParseStatus::kNeedMore;
  }
  const bool version_ok = out.version == 0x0002 || (out.version >> 8) == 3;
  if (!version_ok || specs_len == 0 || specs_len % 3 != 0 || session_id_len > kMaxSessionId ||
      challenge_len < 16 || challenge_len > 32 ||
      r.remaining() != std::size_t{specs_len} + session_id_len + challenge_len) {
    return ParseStatus::kMalformed;
  }
  out.cipher_specs = static_cast<std::uint16_t>(specs_len / 3);
  return ParseStatus::kOk;
}

}  // namespace flowaudit::analysis::tls
