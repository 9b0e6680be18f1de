#include "analysis/app/quic/one_rtt.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <string_view>

#include "analysis/app/quic/quic_initial.h"
#include "analysis/decrypt/record_opener.h"
#include "analysis/decrypt/tls_suites.h"

namespace flowaudit::analysis::quic {

namespace {

constexpr std::size_t kTag = 16;
constexpr std::size_t kSample = 16;
// The largest UDP payload (RFC 9000 §18.2 max_udp_payload_size): a packet cannot be larger.
constexpr std::size_t kMaxPacket = 65527;

const EVP_CIPHER* fetched(const char* name) noexcept { return EVP_CIPHER_fetch(nullptr, name, nullptr); }

// The AEAD and header protection ciphers of a suite (RFC 9001 §5.3, §5.4.3, §5.4.4), fetched once;
// key length and hash come from the TLS suite table (decrypt::find_suite).
struct Ciphers {
  const EVP_CIPHER* aead = nullptr;
  const EVP_CIPHER* hp = nullptr;
};
Ciphers ciphers(std::uint16_t suite) noexcept {
  static const Ciphers aes128{fetched("AES-128-GCM"), fetched("AES-128-ECB")};
  static const Ciphers aes256{fetched("AES-256-GCM"), fetched("AES-256-ECB")};
  static const Ciphers chacha{fetched("ChaCha20-Poly1305"), fetched("ChaCha20")};
  switch (suite) {
    case 0x1301: return aes128;
    case 0x1302: return aes256;
    case 0x1303: return chacha;
    default: return {};
  }
}

}  // namespace

struct OneRttOpener::Ctx {
  EVP_CIPHER_CTX* aead = EVP_CIPHER_CTX_new();
  EVP_CIPHER_CTX* hp = EVP_CIPHER_CTX_new();
  std::array<std::uint8_t, 32> hp_key{};
  ~Ctx() {
    EVP_CIPHER_CTX_free(aead);
    EVP_CIPHER_CTX_free(hp);
  }
};

OneRttOpener::OneRttOpener() noexcept = default;
OneRttOpener::~OneRttOpener() = default;
OneRttOpener::OneRttOpener(OneRttOpener&&) noexcept = default;
OneRttOpener& OneRttOpener::operator=(OneRttOpener&&) noexcept = default;

bool OneRttOpener::init(std::uint16_t suite, std::uint32_t version, std::span<const std::uint8_t> secret) noexcept {
  suite_ = 0;
  const Ciphers c = ciphers(suite);
  const decrypt::SuiteInfo* info = decrypt::find_suite(suite);
  if (c.aead == nullptr || c.hp == nullptr || info == nullptr || !info->tls13) return false;
  hash_ = info->hash;
  key_len_ = info->key_len;
  const std::size_t hash_len = std::string_view(info->hash) == "SHA384" ? 48 : 32;
  if (secret.size() != hash_len) return false;
  const EVP_CIPHER* aead = c.aead;
  const EVP_CIPHER* hp = c.hp;
  v2_ = version == kVersion2;
  if (!ctx_) ctx_ = std::make_unique<Ctx>();
  if (ctx_->aead == nullptr || ctx_->hp == nullptr) return false;
  current_ = PacketKeys{};
  std::copy(secret.begin(), secret.end(), current_.secret.begin());
  current_.secret_len = static_cast<std::uint8_t>(secret.size());
  const std::string_view key_label = v2_ ? "quicv2 key" : "quic key";
  const std::string_view iv_label = v2_ ? "quicv2 iv" : "quic iv";
  const std::string_view hp_label = v2_ ? "quicv2 hp" : "quic hp";
  if (!decrypt::expand_label(hash_, secret, key_label, std::span(current_.key.data(), key_len_)) ||
      !decrypt::expand_label(hash_, secret, iv_label, current_.iv) ||
      !decrypt::expand_label(hash_, secret, hp_label, std::span(ctx_->hp_key.data(), key_len_))) {
    return false;
  }
  // ChaCha20's header protection is keyed per packet (the sample is its counter and nonce); AES-ECB once.
  if (suite != 0x1303) {
    if (EVP_EncryptInit_ex(ctx_->hp, hp, nullptr, ctx_->hp_key.data(), nullptr) != 1) return false;
    EVP_CIPHER_CTX_set_padding(ctx_->hp, 0);
  }
  if (EVP_DecryptInit_ex(ctx_->aead, aead, nullptr, nullptr, nullptr) != 1) return false;
  has_next_ = has_previous_ = false;
  phase_ = false;
  phase_start_ = 0;
  updates_ = 0;
  suite_ = suite;
  return true;
}

bool OneRttOpener::next_keys(const PacketKeys& from, PacketKeys& out) noexcept {
  // RFC 9001 §6.1: the next secret is HKDF-Expand-Label(secret, "quic ku"); key and IV from it as
  // before; the header protection key does not change.
  out = PacketKeys{};
  out.secret_len = from.secret_len;
  const std::span<const std::uint8_t> secret(from.secret.data(), from.secret_len);
  const std::span<std::uint8_t> next(out.secret.data(), out.secret_len);
  return decrypt::expand_label(hash_, secret, v2_ ? "quicv2 ku" : "quic ku", next) &&
         decrypt::expand_label(hash_, next, v2_ ? "quicv2 key" : "quic key", std::span(out.key.data(), key_len_)) &&
         decrypt::expand_label(hash_, next, v2_ ? "quicv2 iv" : "quic iv", out.iv);
}

bool OneRttOpener::header_mask(std::span<const std::uint8_t, 16> sample, std::array<std::uint8_t, 5>& mask) noexcept {
  std::array<std::uint8_t, 16> out{};
  int len = 0;
  if (suite_ == 0x1303) {
    // RFC 9001 §5.4.4: counter = sample[0..3] (little-endian), nonce = sample[4..15]; OpenSSL's
    // ChaCha20 takes exactly that as its 16-byte IV. The mask is the keystream over five zeros.
    static constexpr std::array<std::uint8_t, 5> kZeros{};
    if (EVP_EncryptInit_ex(ctx_->hp, ciphers(suite_).hp, nullptr, ctx_->hp_key.data(), sample.data()) != 1 ||
        EVP_EncryptUpdate(ctx_->hp, out.data(), &len, kZeros.data(), 5) != 1) {
      return false;
    }
  } else if (EVP_EncryptUpdate(ctx_->hp, out.data(), &len, sample.data(), 16) != 1 || len != 16) {
    return false;
  }
  std::copy_n(out.begin(), 5, mask.begin());
  return true;
}

bool OneRttOpener::decrypt(const PacketKeys& keys, std::span<const std::uint8_t> header, std::uint64_t packet_number,
                           std::span<const std::uint8_t> payload, std::vector<std::uint8_t>& scratch,
                           std::span<const std::uint8_t>& plaintext) noexcept {
  if (payload.size() < kTag) return false;
  const std::size_t ct_len = payload.size() - kTag;
  if (scratch.size() < ct_len + 1) scratch.resize(ct_len + 1);  // capacity kept: one allocation per connection
  std::array<std::uint8_t, 12> nonce = keys.iv;
  for (std::size_t i = 0; i < 8; ++i) nonce[11 - i] ^= static_cast<std::uint8_t>(packet_number >> (8 * i));
  std::array<std::uint8_t, kTag> tag{};
  std::copy_n(payload.data() + ct_len, kTag, tag.begin());
  EVP_CIPHER_CTX* c = ctx_->aead;
  int len = 0;
  int final_len = 0;
  const bool ok = EVP_DecryptInit_ex(c, nullptr, nullptr, keys.key.data(), nonce.data()) == 1 &&
                  EVP_DecryptUpdate(c, nullptr, &len, header.data(), static_cast<int>(header.size())) == 1 &&
                  EVP_DecryptUpdate(c, scratch.data(), &len, payload.data(), static_cast<int>(ct_len)) == 1 &&
                  EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kTag), tag.data()) == 1 &&
                  EVP_DecryptFinal_ex(c, scratch.data() + len, &final_len) == 1;
  if (!ok) return false;
  plaintext = std::span<const std::uint8_t>(scratch.data(), ct_len);
  return true;
}

OpenStatus OneRttOpener::open(std::span<const std::uint8_t> pkt, std::size_t pn_offset, bool short_header,
                              std::int64_t largest, std::vector<std::uint8_t>& scratch, std::uint64_t& packet_number,
                              std::span<const std::uint8_t>& plaintext, bool& key_update) noexcept {
  key_update = false;
  // The sample starts 4 bytes after the packet number's start, whatever its length (RFC 9001 §5.4.2).
  if (!ready() || pkt.size() < pn_offset + 4 + kSample || pkt.size() > kMaxPacket) return OpenStatus::kMalformed;
  std::array<std::uint8_t, 5> mask{};
  if (!header_mask(std::span<const std::uint8_t, kSample>(pkt.data() + pn_offset + 4, kSample), mask)) {
    return OpenStatus::kMalformed;
  }
  // The unprotected header is the associated data: at most 1 + 20 (short) or a long header's fields.
  std::array<std::uint8_t, 128> header{};
  const std::uint8_t first = static_cast<std::uint8_t>(pkt[0] ^ (mask[0] & (short_header ? 0x1f : 0x0f)));
  const std::size_t pn_len = (first & 0x03) + 1u;
  if (pn_offset + pn_len > header.size()) return OpenStatus::kMalformed;
  std::copy_n(pkt.data(), pn_offset, header.begin());
  header[0] = first;
  std::uint64_t truncated = 0;
  for (std::size_t i = 0; i < pn_len; ++i) {
    header[pn_offset + i] = static_cast<std::uint8_t>(pkt[pn_offset + i] ^ mask[1 + i]);
    truncated = (truncated << 8) | header[pn_offset + i];
  }
  const std::span<const std::uint8_t> ad(header.data(), pn_offset + pn_len);
  const auto payload = pkt.subspan(pn_offset + pn_len);
  packet_number = decode_packet_number(largest, truncated, pn_len);
  if (!short_header) {
    return decrypt(current_, ad, packet_number, payload, scratch, plaintext) ? OpenStatus::kOk
                                                                              : OpenStatus::kAuthFailed;
  }
  const bool phase = (first & 0x04) != 0;
  // A packet numbered before the current phase began belongs to the phase before it, whatever its bit.
  if (has_previous_ && packet_number < phase_start_) {
    return decrypt(previous_, ad, packet_number, payload, scratch, plaintext) ? OpenStatus::kOk
                                                                               : OpenStatus::kAuthFailed;
  }
  if (phase == phase_) {
    return decrypt(current_, ad, packet_number, payload, scratch, plaintext) ? OpenStatus::kOk
                                                                              : OpenStatus::kAuthFailed;
  }
  if (!has_next_) {
    if (!next_keys(current_, next_)) return OpenStatus::kMalformed;
    has_next_ = true;
  }
  if (!decrypt(next_, ad, packet_number, payload, scratch, plaintext)) return OpenStatus::kAuthFailed;
  // Only a packet that authenticates with the next keys changes the phase (RFC 9001 §6.3).
  previous_ = current_;
  has_previous_ = true;
  current_ = next_;
  has_next_ = false;
  phase_ = phase;
  phase_start_ = packet_number;
  ++updates_;
  key_update = true;
  return OpenStatus::kOk;
}

OpenStatus OneRttOpener::open_short(std::span<const std::uint8_t> packet, std::size_t dcid_len, std::int64_t largest,
                                    std::vector<std::uint8_t>& scratch, std::uint64_t& packet_number,
                                    std::span<const std::uint8_t>& plaintext, bool& key_update) noexcept {
  if (packet.empty() || (packet[0] & 0x80) != 0 || dcid_len > 20) return OpenStatus::kMalformed;
  return open(packet, 1 + dcid_len, true, largest, scratch, packet_number, plaintext, key_update);
}

OpenStatus OneRttOpener::open_long(const LongHeader& header, std::int64_t largest, std::vector<std::uint8_t>& scratch,
                                   std::uint64_t& packet_number, std::span<const std::uint8_t>& plaintext) noexcept {
  bool unused = false;
  return open(header.packet, header.pn_offset, false, largest, scratch, packet_number, plaintext, unused);
}

}  // namespace flowaudit::analysis::quic
