// Google QUIC client hellos. Up to Q046 the handshake travels in clear: a CHLO message (tag "CHLO",
// uint16 tag count, uint16 padding, then (tag, uint32 end offset) pairs, little-endian, then the
// values) in a STREAM frame on stream 1. Where that frame starts depends on the version (public
// header layouts, a 12-byte message hash before Q046's frames, stream frame field sizes), so the
// parser looks for the CHLO message itself after the version field and validates its tag table.
// Q050, T050 and T051 protect their Initial packets like IETF QUIC (own salts) and carry the
// handshake in CRYPTO frames: a CHLO message (Q050) or a TLS ClientHello (T050/T051).
#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>

#include "analysis/app/quic/initial_protection.h"
#include "analysis/app/quic/quic_initial.h"
#include "analysis/app/tls/client_hello.h"
#include "core/byte_reader.h"

namespace flowaudit::analysis::quic {

namespace {

using app::ParseStatus;

constexpr std::size_t kMaxTags = 128;
constexpr std::size_t kMaxSni = 255;
constexpr std::size_t kMaxUserAgent = 256;
constexpr std::array<std::uint8_t, 4> kChloTag = {'C', 'H', 'L', 'O'};
constexpr std::array<std::uint8_t, 4> kSniTag = {'S', 'N', 'I', 0};
constexpr std::array<std::uint8_t, 4> kUaidTag = {'U', 'A', 'I', 'D'};

bool is_digit(std::uint8_t c) noexcept { return c >= '0' && c <= '9'; }

std::string copy_text(std::span<const std::uint8_t> bytes, std::size_t limit) {
  bytes = bytes.first(std::min(bytes.size(), limit));
  return std::string(bytes.begin(), bytes.end());
}

bool same_tag(std::span<const std::uint8_t> tag, const std::array<std::uint8_t, 4>& want) noexcept {
  return std::equal(tag.begin(), tag.end(), want.begin(), want.end());
}

// A CHLO message at the start of `bytes`.
ParseStatus parse_chlo(std::span<const std::uint8_t> bytes, GquicHello& out) {
  core::ByteReader in(bytes);
  std::span<const std::uint8_t> tag;
  std::uint16_t count = 0;
  std::uint16_t padding = 0;
  if (!in.read_bytes(4, tag) || !same_tag(tag, kChloTag)) return ParseStatus::kMalformed;
  if (!in.read_u16le(count) || !in.read_u16le(padding)) return ParseStatus::kNeedMore;
  if (count == 0 || count > kMaxTags) return ParseStatus::kMalformed;
  core::ByteReader table;
  if (!in.sub_reader(std::size_t{count} * 8, table)) return ParseStatus::kNeedMore;
  const std::span<const std::uint8_t> values = in.rest();
  std::uint32_t prev_tag = 0;
  std::uint32_t prev_end = 0;
  bool truncated = false;
  bool found_sni = false;
  for (std::size_t i = 0; i < count; ++i) {
    std::uint32_t tag_value = 0;
    std::uint32_t end = 0;
    core::ByteReader tag_reader = table;
    std::span<const std::uint8_t> tag_bytes;
    if (!table.read_bytes(4, tag_bytes) || !tag_reader.read_u32le(tag_value) || !table.read_u32le(end)) {
      return ParseStatus::kMalformed;
    }
    // Tags are sorted and end offsets never go back: anything else is not a CHLO.
    if ((i > 0 && tag_value <= prev_tag) || end < prev_end) return ParseStatus::kMalformed;
    if (end > values.size()) {
      truncated = true;  // the message continues in the next packet; later values do too
      break;
    }
    const std::span<const std::uint8_t> value = values.subspan(prev_end, end - prev_end);
    if (same_tag(tag_bytes, kSniTag)) {
      out.sni = copy_text(value, kMaxSni);
      found_sni = true;
    } else if (same_tag(tag_bytes, kUaidTag)) {
      out.user_agent = copy_text(value, kMaxUserAgent);
    }
    prev_tag = tag_value;
    prev_end = end;
  }
  return truncated && !found_sni ? ParseStatus::kNeedMore : ParseStatus::kOk;
}

// Clear versions: the first valid CHLO after the header.
ParseStatus find_chlo(std::span<const std::uint8_t> after_header, GquicHello& out) {
  auto it = after_header.begin();
  while (true) {
    it = std::search(it, after_header.end(), kChloTag.begin(), kChloTag.end());
    if (it == after_header.end()) return ParseStatus::kMalformed;
    const auto at = static_cast<std::size_t>(it - after_header.begin());
    GquicHello candidate;
    candidate.version = out.version;
    const ParseStatus status = parse_chlo(after_header.subspan(at), candidate);
    if (status != ParseStatus::kMalformed) {
      out = std::move(candidate);
      return status;
    }
    ++it;
  }
}

// The CRYPTO data at stream offset 0 of a decrypted Q050/T05x Initial payload (gQUIC frame types:
// PADDING 0x00, PING 0x07, CRYPTO 0x08; 0x06, IETF's CRYPTO, is accepted as well).
bool first_crypto_data(std::span<const std::uint8_t> payload, std::span<const std::uint8_t>& data) {
  core::ByteReader in(payload);
  std::uint8_t type = 0;
  while (in.read_u8(type)) {
    if (type == 0x00 || type == 0x07) continue;
    if (type != 0x08 && type != 0x06) break;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    std::span<const std::uint8_t> bytes;
    if (!read_varint(in, offset) || !read_varint(in, length) || length > in.remaining() ||
        !in.read_bytes(static_cast<std::size_t>(length), bytes)) {
      return false;
    }
    if (offset == 0) {
      data = bytes;
      return true;
    }
  }
  return false;
}

ParseStatus parse_protected(std::span<const std::uint8_t> datagram, const VersionParams& params, GquicHello& out) {
  core::ByteReader in(datagram);
  LongHeader header;
  if (read_long_header(in, &params, header) != HeaderStatus::kOk) return ParseStatus::kMalformed;
  InitialSecrets secrets;
  InitialOpener opener;
  if (!derive_client_initial_secrets(params, header.dcid, secrets) || !opener.init(secrets)) {
    return ParseStatus::kMalformed;
  }
  std::array<std::uint8_t, kMaxPacketBytes> scratch;
  std::span<const std::uint8_t> plaintext;
  std::uint64_t pn = 0;
  if (opener.open(header, -1, pn, scratch, plaintext) != OpenStatus::kOk) return ParseStatus::kMalformed;
  std::span<const std::uint8_t> data;
  if (!first_crypto_data(plaintext, data)) return ParseStatus::kMalformed;
  if (data.size() >= 4 && same_tag(data.first(4), kChloTag)) return parse_chlo(data, out);

  // T050/T051: a TLS handshake message.
  core::ByteReader msg(data);
  std::uint8_t type = 0;
  std::uint8_t len_hi = 0;
  std::uint16_t len_lo = 0;
  if (!msg.read_u8(type) || !msg.read_u8(len_hi) || !msg.read_u16be(len_lo)) return ParseStatus::kNeedMore;
  if (type != tls::handshake::kClientHello) return ParseStatus::kMalformed;
  const std::size_t len = (std::size_t{len_hi} << 16) | len_lo;
  std::span<const std::uint8_t> body;
  if (!msg.read_bytes(len, body)) return ParseStatus::kNeedMore;
  tls::ClientHello hello;
  if (tls::parse_client_hello(body, hello) != ParseStatus::kOk) return ParseStatus::kMalformed;
  if (hello.has_sni) out.sni = std::string(hello.sni.substr(0, kMaxSni));
  return ParseStatus::kOk;
}

}  // namespace

app::ParseStatus parse_gquic_hello(std::span<const std::uint8_t> datagram, GquicHello& out) {
  out = GquicHello{};
  core::ByteReader in(datagram);
  std::uint8_t flags = 0;
  if (!in.read_u8(flags)) return ParseStatus::kMalformed;
  // Q044 and later: long header, version right after the first byte. Before: public header with
  // the version flag (0x01) and an 8-byte connection ID (0x08), version after the ID.
  if ((flags & 0x80) == 0) {
    if ((flags & 0x09) != 0x09 || !in.skip(8)) return ParseStatus::kMalformed;
  }
  std::span<const std::uint8_t> version;
  if (!in.read_bytes(4, version)) return ParseStatus::kMalformed;
  if ((version[0] != 'Q' && version[0] != 'T') || !is_digit(version[1]) || !is_digit(version[2]) ||
      !is_digit(version[3])) {
    return ParseStatus::kMalformed;
  }
  out.version = copy_text(version, 4);
  const std::uint32_t number = (std::uint32_t{version[0]} << 24) | (std::uint32_t{version[1]} << 16) |
                               (std::uint32_t{version[2]} << 8) | version[3];
  const VersionParams* params = find_version_params(number);
  if (params != nullptr && params->gquic) {
    std::string name = out.version;
    const ParseStatus status = parse_protected(datagram, *params, out);
    out.version = std::move(name);
    return status;
  }
  return find_chlo(in.rest(), out);
}

}  // namespace flowaudit::analysis::quic
