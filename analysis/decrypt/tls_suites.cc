#include "analysis/decrypt/tls_suites.h"

namespace flowaudit::analysis::decrypt {

namespace {

using K = RecordKind;

constexpr SuiteInfo kSuites[] = {
    // TLS 1.3 (RFC 8446 §B.4). TLS_AES_128_CCM_SHA256 and CCM_8 are not supported: rarely offered.
    {0x1301, true, K::kAeadGcm, "AES-128-GCM", 16, 12, nullptr, 0, "SHA256", "TLS_AES_128_GCM_SHA256"},
    {0x1302, true, K::kAeadGcm, "AES-256-GCM", 32, 12, nullptr, 0, "SHA384", "TLS_AES_256_GCM_SHA384"},
    {0x1303, true, K::kAeadChaCha, "ChaCha20-Poly1305", 32, 12, nullptr, 0, "SHA256", "TLS_CHACHA20_POLY1305_SHA256"},
    // TLS 1.2 AES-GCM (RFC 5288, 5289)
    {0xc02f, false, K::kAeadGcm, "AES-128-GCM", 16, 4, nullptr, 0, "SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
    {0xc030, false, K::kAeadGcm, "AES-256-GCM", 32, 4, nullptr, 0, "SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"},
    {0xc02b, false, K::kAeadGcm, "AES-128-GCM", 16, 4, nullptr, 0, "SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
    {0xc02c, false, K::kAeadGcm, "AES-256-GCM", 32, 4, nullptr, 0, "SHA384", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"},
    {0x009c, false, K::kAeadGcm, "AES-128-GCM", 16, 4, nullptr, 0, "SHA256", "TLS_RSA_WITH_AES_128_GCM_SHA256"},
    {0x009d, false, K::kAeadGcm, "AES-256-GCM", 32, 4, nullptr, 0, "SHA384", "TLS_RSA_WITH_AES_256_GCM_SHA384"},
    {0x009e, false, K::kAeadGcm, "AES-128-GCM", 16, 4, nullptr, 0, "SHA256", "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"},
    {0x009f, false, K::kAeadGcm, "AES-256-GCM", 32, 4, nullptr, 0, "SHA384", "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"},
    // TLS 1.2 ChaCha20-Poly1305 (RFC 7905)
    {0xcca8, false, K::kAeadChaCha, "ChaCha20-Poly1305", 32, 12, nullptr, 0, "SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
    {0xcca9, false, K::kAeadChaCha, "ChaCha20-Poly1305", 32, 12, nullptr, 0, "SHA256", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"},
    {0xccaa, false, K::kAeadChaCha, "ChaCha20-Poly1305", 32, 12, nullptr, 0, "SHA256", "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
    // TLS 1.0-1.2 AES-CBC with HMAC (RFC 5246, 4492, 5289); the PRF of TLS 1.2 is SHA-256 unless
    // the suite names SHA-384.
    {0xc013, false, K::kCbc, "AES-128-CBC", 16, 16, "SHA1", 20, "SHA256", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"},
    {0xc014, false, K::kCbc, "AES-256-CBC", 32, 16, "SHA1", 20, "SHA256", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"},
    {0xc009, false, K::kCbc, "AES-128-CBC", 16, 16, "SHA1", 20, "SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"},
    {0xc00a, false, K::kCbc, "AES-256-CBC", 32, 16, "SHA1", 20, "SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"},
    {0x002f, false, K::kCbc, "AES-128-CBC", 16, 16, "SHA1", 20, "SHA256", "TLS_RSA_WITH_AES_128_CBC_SHA"},
    {0x0035, false, K::kCbc, "AES-256-CBC", 32, 16, "SHA1", 20, "SHA256", "TLS_RSA_WITH_AES_256_CBC_SHA"},
    {0x0033, false, K::kCbc, "AES-128-CBC", 16, 16, "SHA1", 20, "SHA256", "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"},
    {0x0039, false, K::kCbc, "AES-256-CBC", 32, 16, "SHA1", 20, "SHA256", "TLS_DHE_RSA_WITH_AES_256_CBC_SHA"},
    {0x003c, false, K::kCbc, "AES-128-CBC", 16, 16, "SHA256", 32, "SHA256", "TLS_RSA_WITH_AES_128_CBC_SHA256"},
    {0x003d, false, K::kCbc, "AES-256-CBC", 32, 16, "SHA256", 32, "SHA256", "TLS_RSA_WITH_AES_256_CBC_SHA256"},
    {0x0067, false, K::kCbc, "AES-128-CBC", 16, 16, "SHA256", 32, "SHA256", "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256"},
    {0x006b, false, K::kCbc, "AES-256-CBC", 32, 16, "SHA256", 32, "SHA256", "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256"},
    {0xc027, false, K::kCbc, "AES-128-CBC", 16, 16, "SHA256", 32, "SHA256", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"},
    {0xc028, false, K::kCbc, "AES-256-CBC", 32, 16, "SHA384", 48, "SHA384", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"},
    {0xc023, false, K::kCbc, "AES-128-CBC", 16, 16, "SHA256", 32, "SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"},
    {0xc024, false, K::kCbc, "AES-256-CBC", 32, 16, "SHA384", 48, "SHA384", "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"},
};

}  // namespace

const SuiteInfo* find_suite(std::uint16_t id) noexcept {
  for (const auto& s : kSuites) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

}  // namespace flowaudit::analysis::decrypt
