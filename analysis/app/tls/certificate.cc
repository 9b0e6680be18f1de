// The leaf certificate of a TLS 1.2-and-older Certificate message (RFC 5246 7.4.2), decoded with
// OpenSSL's DER parser. Every OpenSSL object is owned by a unique_ptr so that no path leaks.
#include <openssl/bio.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <climits>
#include <memory>

#include "analysis/app/tls/client_hello.h"
#include "core/byte_reader.h"

namespace flowaudit::analysis::tls {

namespace {

using app::ParseStatus;
using core::ByteReader;

constexpr std::size_t kMaxNameText = 1024;  // subject / issuer text kept
constexpr std::size_t kMaxSanEntries = 64;
constexpr std::size_t kMaxSanLength = 255;
constexpr int kMaxSanScanned = 1024;  // general names looked at, of any type

struct BioFree {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const noexcept { X509_free(x); }
};
struct GeneralNamesFree {
  void operator()(GENERAL_NAMES* g) const noexcept { GENERAL_NAMES_free(g); }
};

bool read_u24(ByteReader& r, std::uint32_t& v) noexcept {
  std::uint8_t hi = 0;
  std::uint16_t lo = 0;
  if (!r.read_u8(hi) || !r.read_u16be(lo)) return false;
  v = (std::uint32_t{hi} << 16) | lo;
  return true;
}

std::string name_text(const X509_NAME* name) {
  if (name == nullptr) return {};
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio) return {};
  if (X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return {};
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  if (len <= 0 || data == nullptr) return {};
  return std::string(data, std::min(static_cast<std::size_t>(len), kMaxNameText));
}

void read_san_dns(X509* cert, std::vector<std::string>& out) {
  std::unique_ptr<GENERAL_NAMES, GeneralNamesFree> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return;
  const int count = std::min(sk_GENERAL_NAME_num(names.get()), kMaxSanScanned);
  for (int i = 0; i < count && out.size() < kMaxSanEntries; ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
    if (gn == nullptr || gn->type != GEN_DNS || gn->d.dNSName == nullptr) continue;
    const unsigned char* bytes = ASN1_STRING_get0_data(gn->d.dNSName);
    const int len = ASN1_STRING_length(gn->d.dNSName);
    if (bytes == nullptr || len <= 0 || static_cast<std::size_t>(len) > kMaxSanLength) continue;
    out.emplace_back(reinterpret_cast<const char*>(bytes), static_cast<std::size_t>(len));
  }
}

}  // namespace

app::ParseStatus parse_certificate(std::span<const std::uint8_t> body, Certificate& out) {
  out = Certificate{};
  ByteReader r(body);
  std::uint32_t list_len = 0;
  ByteReader list;
  if (!read_u24(r, list_len)) return ParseStatus::kNeedMore;
  if (!r.sub_reader(list_len, list)) return ParseStatus::kNeedMore;
  std::uint32_t cert_len = 0;
  std::span<const std::uint8_t> der;
  if (!read_u24(list, cert_len)) return ParseStatus::kMalformed;  // an empty list: no certificate
  if (cert_len == 0 || !list.read_bytes(cert_len, der)) return ParseStatus::kMalformed;

  // cert_len < 2^24, so it fits a long; d2i_X509 must not read past it and we check where it stopped.
  const unsigned char* p = der.data();
  std::unique_ptr<X509, X509Free> cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert || p < der.data() || p > der.data() + der.size()) return ParseStatus::kMalformed;

  out.subject = name_text(X509_get_subject_name(cert.get()));
  out.issuer = name_text(X509_get_issuer_name(cert.get()));
  read_san_dns(cert.get(), out.san_dns);
  return ParseStatus::kOk;
}

}  // namespace flowaudit::analysis::tls
