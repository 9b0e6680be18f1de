#include "analysis/decrypt/record_opener.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace flowaudit::analysis::decrypt {

namespace {

constexpr std::size_t kTagLen = 16;
constexpr std::size_t kMaxPlain = 16384 + 256;  // TLSCiphertext limit (RFC 8446 §5.2)

EVP_KDF* fetch_kdf(const char* name) noexcept { return EVP_KDF_fetch(nullptr, name, nullptr); }

bool derive(const char* kdf_name, OSSL_PARAM* params, std::span<std::uint8_t> out) noexcept {
  static EVP_KDF* const hkdf = fetch_kdf("HKDF");
  static EVP_KDF* const prf = fetch_kdf("TLS1-PRF");
  EVP_KDF* kdf = std::strcmp(kdf_name, "HKDF") == 0 ? hkdf : prf;
  if (kdf == nullptr) return false;
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  if (ctx == nullptr) return false;
  const bool ok = EVP_KDF_derive(ctx, out.data(), out.size(), params) == 1;
  EVP_KDF_CTX_free(ctx);
  return ok;
}

const EVP_CIPHER* cipher_named(const char* name) noexcept {
  // Fetched once per name; the table is tiny.
  static EVP_CIPHER* const aes128gcm = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
  static EVP_CIPHER* const aes256gcm = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  static EVP_CIPHER* const chacha = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr);
  static EVP_CIPHER* const aes128cbc = EVP_CIPHER_fetch(nullptr, "AES-128-CBC", nullptr);
  static EVP_CIPHER* const aes256cbc = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
  const std::string_view n(name);
  if (n == "AES-128-GCM") return aes128gcm;
  if (n == "AES-256-GCM") return aes256gcm;
  if (n == "ChaCha20-Poly1305") return chacha;
  if (n == "AES-128-CBC") return aes128cbc;
  if (n == "AES-256-CBC") return aes256cbc;
  return nullptr;
}

std::size_t digest_size(const char* hash) noexcept {
  const std::string_view h(hash);
  if (h == "SHA1") return 20;
  if (h == "SHA384") return 48;
  return 32;
}

void put_u64(std::uint8_t* p, std::uint64_t v) noexcept {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<std::uint8_t>(v);
    v >>= 8;
  }
}

}  // namespace

bool expand_label(const char* hash, std::span<const std::uint8_t> secret, std::string_view label,
                  std::span<std::uint8_t> out) noexcept {
  // HkdfLabel: uint16 length, opaque label<7..255> = "tls13 " + label, opaque context<0..255> = "".
  std::array<std::uint8_t, 2 + 1 + 255 + 1> info{};
  if (label.size() > 249 || out.size() > 0xffff) return false;
  std::size_t n = 0;
  info[n++] = static_cast<std::uint8_t>(out.size() >> 8);
  info[n++] = static_cast<std::uint8_t>(out.size());
  info[n++] = static_cast<std::uint8_t>(6 + label.size());
  std::memcpy(&info[n], "tls13 ", 6);
  n += 6;
  std::memcpy(&info[n], label.data(), label.size());
  n += label.size();
  info[n++] = 0;
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>(hash), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<std::uint8_t*>(secret.data()), secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), n),
      OSSL_PARAM_construct_end()};
  return derive("HKDF", params, out);
}

bool tls12_key_block(const SuiteInfo& suite, std::uint16_t version, std::span<const std::uint8_t> master,
                     std::span<const std::uint8_t> client_random, std::span<const std::uint8_t> server_random,
                     std::span<std::uint8_t> out) noexcept {
  if (client_random.size() != 32 || server_random.size() != 32) return false;
  static constexpr char kLabel[] = "key expansion";
  std::array<std::uint8_t, sizeof kLabel - 1 + 64> seed{};
  std::memcpy(seed.data(), kLabel, sizeof kLabel - 1);
  std::memcpy(seed.data() + sizeof kLabel - 1, server_random.data(), 32);
  std::memcpy(seed.data() + sizeof kLabel - 1 + 32, client_random.data(), 32);
  const char* digest = version >= 0x0303 ? suite.hash : "MD5-SHA1";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>(digest), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, const_cast<std::uint8_t*>(master.data()), master.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed.data(), seed.size()),
      OSSL_PARAM_construct_end()};
  return derive("TLS1-PRF", params, out);
}

struct RecordOpener::Crypto {
  EVP_CIPHER_CTX* cipher = nullptr;
  EVP_MAC_CTX* mac = nullptr;
  ~Crypto() {
    EVP_CIPHER_CTX_free(cipher);
    EVP_MAC_CTX_free(mac);
  }
};

RecordOpener::RecordOpener() = default;
RecordOpener::~RecordOpener() = default;
RecordOpener::RecordOpener(RecordOpener&&) noexcept = default;
RecordOpener& RecordOpener::operator=(RecordOpener&&) noexcept = default;

bool RecordOpener::set_key() noexcept {
  const EVP_CIPHER* cipher = cipher_named(suite_->cipher);
  if (cipher == nullptr) return false;
  if (!crypto_) crypto_ = std::make_unique<Crypto>();
  if (crypto_->cipher == nullptr) crypto_->cipher = EVP_CIPHER_CTX_new();
  if (crypto_->cipher == nullptr) return false;
  if (suite_->kind == RecordKind::kCbc) {
    static EVP_MAC* const hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (hmac == nullptr) return false;
    if (crypto_->mac == nullptr) crypto_->mac = EVP_MAC_CTX_new(hmac);
    if (crypto_->mac == nullptr) return false;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(suite_->mac), 0),
                           OSSL_PARAM_construct_end()};
    if (EVP_MAC_CTX_set_params(crypto_->mac, params) != 1) return false;
    // CBC is keyed per record (the IV changes); nothing more to set here.
    return true;
  }
  return EVP_DecryptInit_ex2(crypto_->cipher, cipher, key_.data(), nullptr, nullptr) == 1;
}

bool RecordOpener::init_tls13(const SuiteInfo& suite, std::span<const std::uint8_t> secret) noexcept {
  if (!suite.tls13 || secret.size() != digest_size(suite.hash)) return false;
  suite_ = &suite;
  tls13_ = true;
  seq_ = 0;
  std::memcpy(secret_.data(), secret.data(), secret.size());
  secret_len_ = static_cast<std::uint8_t>(secret.size());
  if (!expand_label(suite.hash, secret, "key", std::span(key_.data(), suite.key_len)) ||
      !expand_label(suite.hash, secret, "iv", std::span(iv_.data(), 12)) || !set_key()) {
    suite_ = nullptr;
    return false;
  }
  return true;
}

bool RecordOpener::update_tls13() noexcept {
  if (!tls13_ || suite_ == nullptr) return false;
  std::array<std::uint8_t, 64> next{};
  const std::span<const std::uint8_t> current(secret_.data(), secret_len_);
  if (!expand_label(suite_->hash, current, "traffic upd", std::span(next.data(), secret_len_))) return false;
  return init_tls13(*suite_, std::span<const std::uint8_t>(next.data(), secret_len_));
}

bool RecordOpener::init_tls12(const SuiteInfo& suite, std::uint16_t version, std::span<const std::uint8_t> mac_key,
                              std::span<const std::uint8_t> key, std::span<const std::uint8_t> iv, bool etm) noexcept {
  if (suite.tls13 || key.size() != suite.key_len || mac_key.size() != suite.mac_len || iv.size() > iv_.size())
    return false;
  suite_ = &suite;
  tls13_ = false;
  etm_ = etm && suite.kind == RecordKind::kCbc;
  explicit_iv_ = version >= 0x0302;
  seq_ = 0;
  std::memcpy(key_.data(), key.data(), key.size());
  std::memcpy(mac_key_.data(), mac_key.data(), mac_key.size());
  std::memcpy(iv_.data(), iv.data(), iv.size());
  if (!set_key()) {
    suite_ = nullptr;
    return false;
  }
  return true;
}

OpenStatus RecordOpener::open(std::uint8_t type, std::uint16_t version, std::span<const std::uint8_t> body,
                              std::vector<std::uint8_t>& out, std::uint8_t& inner_type) noexcept {
  if (suite_ == nullptr) return OpenStatus::kCryptoError;
  inner_type = type;
  const OpenStatus st = suite_->kind == RecordKind::kCbc ? open_cbc(type, version, body, out)
                                                         : open_aead(type, version, body, out, inner_type);
  if (st == OpenStatus::kOk) ++seq_;
  return st;
}

OpenStatus RecordOpener::open_aead(std::uint8_t type, std::uint16_t version, std::span<const std::uint8_t> body,
                                   std::vector<std::uint8_t>& out, std::uint8_t& inner_type) noexcept {
  const bool gcm12 = !tls13_ && suite_->kind == RecordKind::kAeadGcm;
  const std::size_t explicit_len = gcm12 ? 8 : 0;
  if (body.size() < explicit_len + kTagLen || body.size() > kMaxPlain + explicit_len + kTagLen)
    return OpenStatus::kMalformed;
  std::array<std::uint8_t, 12> nonce{};
  if (gcm12) {
    std::memcpy(nonce.data(), iv_.data(), 4);
    std::memcpy(nonce.data() + 4, body.data(), 8);
  } else {
    std::memcpy(nonce.data(), iv_.data(), 12);
    std::array<std::uint8_t, 8> s{};
    put_u64(s.data(), seq_);
    for (std::size_t i = 0; i < 8; ++i) nonce[4 + i] ^= s[i];
  }
  const auto cipher_text = body.subspan(explicit_len, body.size() - explicit_len - kTagLen);
  const auto tag = body.subspan(body.size() - kTagLen);
  std::array<std::uint8_t, 13> aad{};
  std::size_t aad_len = 0;
  if (tls13_) {  // the record header (RFC 8446 §5.2)
    aad[0] = type;
    aad[1] = static_cast<std::uint8_t>(version >> 8);
    aad[2] = static_cast<std::uint8_t>(version);
    aad[3] = static_cast<std::uint8_t>(body.size() >> 8);
    aad[4] = static_cast<std::uint8_t>(body.size());
    aad_len = 5;
  } else {  // seq_num + type + version + plaintext length (RFC 5246 §6.2.3.3)
    put_u64(aad.data(), seq_);
    aad[8] = type;
    aad[9] = static_cast<std::uint8_t>(version >> 8);
    aad[10] = static_cast<std::uint8_t>(version);
    aad[11] = static_cast<std::uint8_t>(cipher_text.size() >> 8);
    aad[12] = static_cast<std::uint8_t>(cipher_text.size());
    aad_len = 13;
  }
  EVP_CIPHER_CTX* c = crypto_->cipher;
  out.resize(cipher_text.size());
  int n = 0;
  int fin = 0;
  if (EVP_DecryptInit_ex2(c, nullptr, nullptr, nonce.data(), nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kTagLen), const_cast<std::uint8_t*>(tag.data())) != 1 ||
      EVP_DecryptUpdate(c, nullptr, &n, aad.data(), static_cast<int>(aad_len)) != 1 ||
      EVP_DecryptUpdate(c, out.data(), &n, cipher_text.data(), static_cast<int>(cipher_text.size())) != 1)
    return OpenStatus::kCryptoError;
  if (EVP_DecryptFinal_ex(c, out.data() + n, &fin) != 1) return OpenStatus::kAuthFailed;
  out.resize(static_cast<std::size_t>(n + fin));
  if (tls13_) {  // TLSInnerPlaintext: content, type, zero padding
    while (!out.empty() && out.back() == 0) out.pop_back();
    if (out.empty()) return OpenStatus::kMalformed;
    inner_type = out.back();
    out.pop_back();
  }
  return OpenStatus::kOk;
}

OpenStatus RecordOpener::open_cbc(std::uint8_t type, std::uint16_t version, std::span<const std::uint8_t> body,
                                  std::vector<std::uint8_t>& out) noexcept {
  constexpr std::size_t kBlock = 16;
  const std::size_t mac_len = suite_->mac_len;
  const std::size_t iv_len = explicit_iv_ ? kBlock : 0;
  std::span<const std::uint8_t> protected_part = body;  // IV + ciphertext
  std::span<const std::uint8_t> etm_mac;
  if (etm_) {
    if (body.size() < mac_len) return OpenStatus::kMalformed;
    protected_part = body.first(body.size() - mac_len);
    etm_mac = body.subspan(body.size() - mac_len);
  }
  if (protected_part.size() < iv_len + kBlock || (protected_part.size() - iv_len) % kBlock != 0 ||
      protected_part.size() > kMaxPlain + 2048)
    return OpenStatus::kMalformed;
  EVP_MAC_CTX* mac = crypto_->mac;
  auto mac_of = [&](std::span<const std::uint8_t> data, std::array<std::uint8_t, 48>& result) {
    std::array<std::uint8_t, 13> hdr{};
    put_u64(hdr.data(), seq_);
    hdr[8] = type;
    hdr[9] = static_cast<std::uint8_t>(version >> 8);
    hdr[10] = static_cast<std::uint8_t>(version);
    hdr[11] = static_cast<std::uint8_t>(data.size() >> 8);
    hdr[12] = static_cast<std::uint8_t>(data.size());
    std::size_t len = 0;
    return EVP_MAC_init(mac, mac_key_.data(), mac_len, nullptr) == 1 && EVP_MAC_update(mac, hdr.data(), hdr.size()) == 1 &&
           EVP_MAC_update(mac, data.data(), data.size()) == 1 &&
           EVP_MAC_final(mac, result.data(), &len, result.size()) == 1 && len == mac_len;
  };
  std::array<std::uint8_t, 48> expect{};
  if (etm_) {
    if (!mac_of(protected_part, expect)) return OpenStatus::kCryptoError;
    if (std::memcmp(expect.data(), etm_mac.data(), mac_len) != 0) return OpenStatus::kAuthFailed;
  }
  std::array<std::uint8_t, kBlock> iv{};
  std::memcpy(iv.data(), explicit_iv_ ? protected_part.data() : iv_.data(), kBlock);
  const auto cipher_text = protected_part.subspan(iv_len);
  EVP_CIPHER_CTX* c = crypto_->cipher;
  out.resize(cipher_text.size());
  int n = 0;
  if (EVP_DecryptInit_ex2(c, cipher_named(suite_->cipher), key_.data(), iv.data(), nullptr) != 1 ||
      EVP_CIPHER_CTX_set_padding(c, 0) != 1 ||
      EVP_DecryptUpdate(c, out.data(), &n, cipher_text.data(), static_cast<int>(cipher_text.size())) != 1 ||
      static_cast<std::size_t>(n) != cipher_text.size())
    return OpenStatus::kCryptoError;
  if (!explicit_iv_) std::memcpy(iv_.data(), cipher_text.data() + cipher_text.size() - kBlock, kBlock);
  // Padding (RFC 5246 §6.2.3.2): padding_length + 1 bytes, each equal to padding_length.
  const std::size_t pad = out.back();
  if (pad + 1 > out.size()) return OpenStatus::kAuthFailed;
  for (std::size_t i = out.size() - pad - 1; i < out.size(); ++i) {
    if (out[i] != pad) return OpenStatus::kAuthFailed;
  }
  out.resize(out.size() - pad - 1);
  if (etm_) return OpenStatus::kOk;
  if (out.size() < mac_len) return OpenStatus::kAuthFailed;
  const std::size_t plain_len = out.size() - mac_len;
  if (!mac_of(std::span<const std::uint8_t>(out.data(), plain_len), expect)) return OpenStatus::kCryptoError;
  if (std::memcmp(expect.data(), out.data() + plain_len, mac_len) != 0) return OpenStatus::kAuthFailed;
  out.resize(plain_len);
  return OpenStatus::kOk;
}

}  // namespace flowaudit::analysis::decrypt
