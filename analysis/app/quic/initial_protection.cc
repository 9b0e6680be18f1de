#include "analysis/app/quic/initial_protection.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <algorithm>
#include <cstring>

namespace flowaudit::analysis::quic {

namespace {

// Initial salts: RFC 9001 §5.2 (v1, also drafts 33-34), RFC 9369 §3.3.1 (v2), draft-ietf-quic-tls-29
// §5.2 (drafts 29-32), draft-ietf-quic-tls-23 §5.2 (drafts 23-28), draft-ietf-quic-tls-22 §5.2
// (draft 22, and mvfst's 0xfaceb001 built on it); Google's Q050, T050 and T051 as published in
// Chromium's QUIC code. mvfst (getQuicVersionSalt) uses the v1 salt for its v1 alias 0xfaceb003
// and the draft-23 salt for all its own versions (0xfaceb002 and the experimental aliases).
constexpr std::array<std::uint8_t, 20> kSaltV1 = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
                                                  0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
constexpr std::array<std::uint8_t, 20> kSaltV2 = {0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
                                                  0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9};
constexpr std::array<std::uint8_t, 20> kSaltDraft29 = {0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97,
                                                       0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99};
constexpr std::array<std::uint8_t, 20> kSaltDraft23 = {0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7,
                                                       0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65, 0xbe, 0xf9, 0xf5, 0x02};
constexpr std::array<std::uint8_t, 20> kSaltDraft22 = {0x7f, 0xbc, 0xdb, 0x0e, 0x7c, 0x66, 0xbb, 0xe9, 0x19, 0x3a,
                                                       0x96, 0xcd, 0x21, 0x51, 0x9e, 0xbd, 0x7a, 0x02, 0x64, 0x4a};
constexpr std::array<std::uint8_t, 20> kSaltQ050 = {0x50, 0x45, 0x74, 0xef, 0xd0, 0x66, 0xfe, 0x2f, 0x9d, 0x94,
                                                    0x5c, 0xfc, 0xdb, 0xd3, 0xa7, 0xf0, 0xd3, 0xb5, 0x6b, 0x45};
constexpr std::array<std::uint8_t, 20> kSaltT050 = {0x7f, 0xf5, 0x79, 0xe5, 0xac, 0xd0, 0x72, 0x91, 0x55, 0x80,
                                                    0x30, 0x4c, 0x43, 0xa2, 0x36, 0x7c, 0x60, 0x48, 0x83, 0x10};
constexpr std::array<std::uint8_t, 20> kSaltT051 = {0x7a, 0x4e, 0xde, 0xf4, 0xe7, 0xcc, 0xee, 0x5f, 0xa4, 0x50,
                                                    0x6c, 0x19, 0x12, 0x4f, 0xc8, 0xcc, 0xda, 0x6e, 0x03, 0x3d};

constexpr VersionParams ietf(std::uint32_t version, const std::array<std::uint8_t, 20>& salt) {
  return {version, salt, "quic key", "quic iv", "quic hp", 0, false};
}
constexpr VersionParams gquic(std::uint32_t version, const std::array<std::uint8_t, 20>& salt) {
  return {version, salt, "quic key", "quic iv", "quic hp", 0, true};
}

constexpr std::array kVersions = {
    ietf(0x00000001, kSaltV1),
    VersionParams{0x6b3343cf, kSaltV2, "quicv2 key", "quicv2 iv", "quicv2 hp", 1, false},
    ietf(0xff000016, kSaltDraft22),  // draft-22
    ietf(0xff000017, kSaltDraft23),  // draft-23
    ietf(0xff000018, kSaltDraft23),
    ietf(0xff000019, kSaltDraft23),
    ietf(0xff00001a, kSaltDraft23),
    ietf(0xff00001b, kSaltDraft23),  // draft-27
    ietf(0xff00001c, kSaltDraft23),  // draft-28
    ietf(0xff00001d, kSaltDraft29),  // draft-29
    ietf(0xff00001e, kSaltDraft29),
    ietf(0xff00001f, kSaltDraft29),
    ietf(0xff000020, kSaltDraft29),  // draft-32
    ietf(0xff000021, kSaltV1),       // draft-33
    ietf(0xff000022, kSaltV1),       // draft-34
    ietf(0xfaceb001, kSaltDraft22),  // mvfst draft-22
    ietf(0xfaceb002, kSaltDraft23),  // mvfst draft-27
    ietf(0xfaceb003, kSaltV1),       // mvfst alias of v1
    ietf(0xfaceb00e, kSaltDraft23),  // mvfst experimental
    ietf(0xfaceb010, kSaltDraft23),  // mvfst alias
    ietf(0xfaceb011, kSaltDraft23),  // mvfst experimental 2
    ietf(0xfaceb013, kSaltDraft23),  // mvfst experimental 3
    gquic(0x51303530, kSaltQ050),    // "Q050"
    gquic(0x54303530, kSaltT050),    // "T050"
    gquic(0x54303531, kSaltT051),    // "T051"
};

// HKDF-SHA256 through one EVP_KDF_CTX whose digest is set once: a derivation (one extract, four
// expands) then neither fetches the KDF nor the digest again. Fetching them per call cost more than
// the HMACs themselves, for every QUIC connection.
class Hkdf {
 public:
  Hkdf() noexcept {
    // Fetched once for the process (thread-safe static initialisation) and never freed.
    static EVP_KDF* const kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
    if (kdf == nullptr) return;
    ctx_ = EVP_KDF_CTX_new(kdf);
    if (ctx_ == nullptr) return;
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_KDF_CTX_set_params(ctx_, params) != 1) {
      EVP_KDF_CTX_free(ctx_);
      ctx_ = nullptr;
    }
  }
  ~Hkdf() { EVP_KDF_CTX_free(ctx_); }
  Hkdf(const Hkdf&) = delete;
  Hkdf& operator=(const Hkdf&) = delete;

  // Each call sets the mode, the key and the salt (extract) or info (expand; it replaces the
  // previous info): nothing from an earlier call is used.
  bool run(int mode, std::span<const std::uint8_t> key, std::span<const std::uint8_t> salt_or_info,
           std::span<std::uint8_t> out) noexcept {
    if (ctx_ == nullptr) return false;
    // OSSL_PARAM takes non-const pointers even for inputs it only reads.
    void* key_ptr = const_cast<std::uint8_t*>(key.data());
    void* extra_ptr = const_cast<std::uint8_t*>(salt_or_info.data());
    const bool extract = mode == EVP_KDF_HKDF_MODE_EXTRACT_ONLY;
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, key_ptr, key.size()),
        OSSL_PARAM_construct_octet_string(extract ? OSSL_KDF_PARAM_SALT : OSSL_KDF_PARAM_INFO, extra_ptr,
                                          salt_or_info.size()),
        OSSL_PARAM_construct_end(),
    };
    return EVP_KDF_derive(ctx_, out.data(), out.size(), params) == 1;
  }

 private:
  EVP_KDF_CTX* ctx_ = nullptr;
};

bool expand_label(Hkdf& hkdf, std::span<const std::uint8_t> secret, std::string_view label,
                  std::span<std::uint8_t> out) noexcept {
  // HkdfLabel: uint16 length, opaque label<7..255> = "tls13 " + label, opaque context<0..255> = "".
  constexpr std::string_view kPrefix = "tls13 ";
  std::array<std::uint8_t, 2 + 1 + 255 + 1> info{};
  const std::size_t label_len = kPrefix.size() + label.size();
  if (label_len > 255 || out.size() > 0xffff) return false;
  std::size_t n = 0;
  info[n++] = static_cast<std::uint8_t>(out.size() >> 8);
  info[n++] = static_cast<std::uint8_t>(out.size());
  info[n++] = static_cast<std::uint8_t>(label_len);
  for (char c : kPrefix) info[n++] = static_cast<std::uint8_t>(c);
  for (char c : label) info[n++] = static_cast<std::uint8_t>(c);
  info[n++] = 0;
  return hkdf.run(EVP_KDF_HKDF_MODE_EXPAND_ONLY, secret, std::span<const std::uint8_t>(info.data(), n), out);
}

bool expand_side(Hkdf& hkdf, const VersionParams& params, const InitialSecret& initial, std::string_view side,
                 InitialSecrets& out) noexcept {
  std::array<std::uint8_t, 32> secret{};
  return expand_label(hkdf, initial, side, secret) && expand_label(hkdf, secret, params.key_label, out.key) &&
         expand_label(hkdf, secret, params.iv_label, out.iv) && expand_label(hkdf, secret, params.hp_label, out.hp);
}

}  // namespace

const VersionParams* reserved_version_trial(std::uint32_t version) noexcept {
  // RFC 9000 §15: 0x?a?a?a?a versions exist to exercise Version Negotiation; clients that send
  // one (ngtcp2 among them) protect its Initial like a draft-29 one, which is what Wireshark tries.
  static constexpr VersionParams kTrial = ietf(0, kSaltDraft29);
  return (version & 0x0f0f0f0fu) == 0x0a0a0a0au ? &kTrial : nullptr;
}

const VersionParams* find_version_params(std::uint32_t version) noexcept {
  for (const VersionParams& p : kVersions) {
    if (p.version == version) return &p;
  }
  return nullptr;
}

bool hkdf_expand_label(std::span<const std::uint8_t> secret, std::string_view label,
                       std::span<std::uint8_t> out) noexcept {
  Hkdf hkdf;
  return expand_label(hkdf, secret, label, out);
}

namespace {
bool extract(Hkdf& hkdf, const VersionParams& params, std::span<const std::uint8_t> dcid,
             InitialSecret& initial) noexcept {
  // HKDF needs key material; RFC 9000 §7.2 asks for at least 8 bytes.
  return !dcid.empty() && hkdf.run(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, dcid, params.salt, initial);
}
}  // namespace

bool derive_client_initial_secrets(const VersionParams& params, std::span<const std::uint8_t> dcid,
                                   InitialSecrets& out, InitialSecret* initial) noexcept {
  Hkdf hkdf;
  InitialSecret extracted{};
  if (!extract(hkdf, params, dcid, extracted) || !expand_side(hkdf, params, extracted, "client in", out)) return false;
  if (initial != nullptr) *initial = extracted;
  return true;
}

bool derive_server_initial_secrets(const VersionParams& params, std::span<const std::uint8_t> dcid,
                                   InitialSecrets& out) noexcept {
  Hkdf hkdf;
  InitialSecret extracted{};
  return extract(hkdf, params, dcid, extracted) && expand_side(hkdf, params, extracted, "server in", out);
}

bool expand_server_initial_secrets(const VersionParams& params, const InitialSecret& initial,
                                   InitialSecrets& out) noexcept {
  Hkdf hkdf;
  return expand_side(hkdf, params, initial, "server in", out);
}

bool read_varint(core::ByteReader& in, std::uint64_t& v) noexcept {
  std::uint8_t first = 0;
  if (!in.read_u8(first)) return false;
  const std::size_t extra = (std::size_t{1} << (first >> 6)) - 1;
  std::uint64_t r = first & 0x3f;
  for (std::size_t i = 0; i < extra; ++i) {
    std::uint8_t b = 0;
    if (!in.read_u8(b)) return false;
    r = (r << 8) | b;
  }
  v = r;
  return true;
}

bool skip_varints(core::ByteReader& in, int n) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) {
    if (!read_varint(in, v)) return false;
  }
  return true;
}

bool skip_ack(core::ByteReader& in, bool ecn) noexcept {
  std::uint64_t largest = 0;
  std::uint64_t delay = 0;
  std::uint64_t count = 0;
  std::uint64_t first_range = 0;
  if (!read_varint(in, largest) || !read_varint(in, delay) || !read_varint(in, count) ||
      !read_varint(in, first_range)) {
    return false;
  }
  // Each range takes at least two bytes: a count beyond that cannot be real.
  if (count > in.remaining() / 2) return false;
  for (std::uint64_t i = 0; i < count; ++i) {
    if (!skip_varints(in, 2)) return false;
  }
  return !ecn || skip_varints(in, 3);
}

HeaderStatus read_long_header(core::ByteReader& in, const VersionParams* params, LongHeader& out,
                              bool greased_fixed_bit) noexcept {
  const std::span<const std::uint8_t> start = in.rest();
  const std::size_t begin = in.offset();
  std::uint8_t first = 0;
  if (!in.peek_u8(first) || (first & 0x80) == 0) return HeaderStatus::kNotLongHeader;
  std::uint8_t dcid_len = 0;
  std::uint8_t scid_len = 0;
  out = LongHeader{};
  out.first = first;
  out.type = static_cast<std::uint8_t>((first >> 4) & 0x03);
  if (!in.skip(1) || !in.read_u32be(out.version) || !in.read_u8(dcid_len) || dcid_len > 20 ||
      !in.read_bytes(dcid_len, out.dcid) || !in.read_u8(scid_len) || scid_len > 20 ||
      !in.read_bytes(scid_len, out.scid)) {
    return HeaderStatus::kMalformed;
  }
  if (params == nullptr) return HeaderStatus::kNotInitial;  // unknown layout past the invariant header
  if ((first & 0x40) == 0 && !greased_fixed_bit) return HeaderStatus::kMalformed;  // fixed bit
  const std::uint8_t retry_type = params->initial_type == 0 ? 3 : 0;
  if (out.type == retry_type) return HeaderStatus::kNotInitial;  // no length field: ends the walk
  const bool initial = out.type == params->initial_type;
  if (initial) {
    std::uint64_t token_len = 0;
    if (!read_varint(in, token_len) || token_len > in.remaining() || !in.skip(static_cast<std::size_t>(token_len))) {
      return HeaderStatus::kMalformed;
    }
  }
  std::uint64_t length = 0;
  if (!read_varint(in, length) || length > in.remaining()) return HeaderStatus::kMalformed;
  const std::size_t pn_offset = in.offset() - begin;
  if (!in.skip(static_cast<std::size_t>(length))) return HeaderStatus::kMalformed;
  out.pn_offset = pn_offset;
  out.packet = start.first(pn_offset + static_cast<std::size_t>(length));
  return initial ? HeaderStatus::kOk : HeaderStatus::kNotInitial;
}

std::uint64_t decode_packet_number(std::int64_t largest, std::uint64_t truncated, std::size_t pn_len) noexcept {
  const std::int64_t expected = largest + 1;
  const std::int64_t win = std::int64_t{1} << (pn_len * 8);
  const std::int64_t hwin = win / 2;
  const std::int64_t mask = win - 1;
  const std::int64_t candidate = (expected & ~mask) | static_cast<std::int64_t>(truncated);
  if (candidate <= expected - hwin && candidate < (std::int64_t{1} << 62) - win) {
    return static_cast<std::uint64_t>(candidate + win);
  }
  if (candidate > expected + hwin && candidate >= win) return static_cast<std::uint64_t>(candidate - win);
  return static_cast<std::uint64_t>(candidate);
}

void InitialOpener::CtxDeleter::operator()(evp_cipher_ctx_st* ctx) const noexcept { EVP_CIPHER_CTX_free(ctx); }

InitialOpener::InitialOpener() noexcept = default;
InitialOpener::~InitialOpener() = default;
InitialOpener::InitialOpener(InitialOpener&&) noexcept = default;
InitialOpener& InitialOpener::operator=(InitialOpener&&) noexcept = default;

namespace {
// Fetched once (as fingerprint.cc does for its digests): EVP_aes_128_gcm()/EVP_aes_128_ecb() make
// OpenSSL 3 look the cipher up again for every context initialised, twice per QUIC connection.
const EVP_CIPHER* aes_128_gcm() noexcept {
  static EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
  return cipher != nullptr ? cipher : EVP_aes_128_gcm();
}
const EVP_CIPHER* aes_128_ecb() noexcept {
  static EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-128-ECB", nullptr);
  return cipher != nullptr ? cipher : EVP_aes_128_ecb();
}
}  // namespace

bool InitialOpener::init(const InitialSecrets& secrets) noexcept {
  std::unique_ptr<evp_cipher_ctx_st, CtxDeleter> gcm(EVP_CIPHER_CTX_new());
  std::unique_ptr<evp_cipher_ctx_st, CtxDeleter> ecb(EVP_CIPHER_CTX_new());
  if (!gcm || !ecb) return false;
  if (EVP_DecryptInit_ex(gcm.get(), aes_128_gcm(), nullptr, secrets.key.data(), nullptr) != 1) return false;
  if (EVP_EncryptInit_ex(ecb.get(), aes_128_ecb(), nullptr, secrets.hp.data(), nullptr) != 1 ||
      EVP_CIPHER_CTX_set_padding(ecb.get(), 0) != 1) {
    return false;
  }
  gcm_ = std::move(gcm);
  ecb_ = std::move(ecb);
  iv_ = secrets.iv;
  return true;
}

bool InitialOpener::header_mask(std::span<const std::uint8_t, 16> sample, std::array<std::uint8_t, 16>& mask) noexcept {
  int len = 0;
  return ecb_ && EVP_EncryptUpdate(ecb_.get(), mask.data(), &len, sample.data(), 16) == 1 && len == 16;
}

OpenStatus InitialOpener::open(const LongHeader& header, std::int64_t largest, std::uint64_t& packet_number,
                               std::span<std::uint8_t, kMaxPacketBytes> scratch,
                               std::span<const std::uint8_t>& plaintext) noexcept {
  constexpr std::size_t kTag = 16;
  constexpr std::size_t kSample = 16;
  const std::span<const std::uint8_t> pkt = header.packet;
  // The sample starts 4 bytes after the packet number's start, whatever its length (RFC 9001 §5.4.2).
  if (!ready() || pkt.size() < header.pn_offset + 4 + kSample || pkt.size() > kMaxPacketBytes + header.pn_offset) {
    return OpenStatus::kMalformed;
  }
  std::array<std::uint8_t, 16> mask{};
  if (!header_mask(std::span<const std::uint8_t, kSample>(pkt.data() + header.pn_offset + 4, kSample), mask)) {
    return OpenStatus::kMalformed;
  }
  const auto first = static_cast<std::uint8_t>(pkt[0] ^ (mask[0] & 0x0f));
  const std::size_t pn_len = (first & 0x03) + 1u;
  std::array<std::uint8_t, 4> pn_bytes{};
  std::uint64_t truncated = 0;
  for (std::size_t i = 0; i < pn_len; ++i) {
    pn_bytes[i] = static_cast<std::uint8_t>(pkt[header.pn_offset + i] ^ mask[1 + i]);
    truncated = (truncated << 8) | pn_bytes[i];
  }
  const std::size_t payload_offset = header.pn_offset + pn_len;
  if (pkt.size() < payload_offset + kTag) return OpenStatus::kMalformed;
  const std::size_t ct_len = pkt.size() - payload_offset - kTag;
  if (ct_len > scratch.size()) return OpenStatus::kMalformed;

  packet_number = decode_packet_number(largest, truncated, pn_len);
  std::array<std::uint8_t, 12> nonce = iv_;
  for (std::size_t i = 0; i < 8; ++i) nonce[11 - i] ^= static_cast<std::uint8_t>(packet_number >> (8 * i));
  std::array<std::uint8_t, kTag> tag{};
  std::copy_n(pkt.data() + payload_offset + ct_len, kTag, tag.begin());

  EVP_CIPHER_CTX* ctx = gcm_.get();
  int len = 0;
  int final_len = 0;
  // The associated data is the header as it is after header protection was removed: the first byte
  // and the packet number unmasked, everything between as received. Given in three pieces, no copy.
  const bool ok =
      EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data()) == 1 &&
      EVP_DecryptUpdate(ctx, nullptr, &len, &first, 1) == 1 &&
      EVP_DecryptUpdate(ctx, nullptr, &len, pkt.data() + 1, static_cast<int>(header.pn_offset - 1)) == 1 &&
      EVP_DecryptUpdate(ctx, nullptr, &len, pn_bytes.data(), static_cast<int>(pn_len)) == 1 &&
      EVP_DecryptUpdate(ctx, scratch.data(), &len, pkt.data() + payload_offset, static_cast<int>(ct_len)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTag), tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx, scratch.data() + len, &final_len) == 1;
  if (!ok) return OpenStatus::kAuthFailed;
  plaintext = std::span<const std::uint8_t>(scratch.data(), ct_len);
  return OpenStatus::kOk;
}

}  // namespace flowaudit::analysis::quic
