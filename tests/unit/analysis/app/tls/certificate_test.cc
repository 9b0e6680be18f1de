#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

#include "analysis/app/tls/client_hello.h"
#include "tests/unit/analysis/app/tls/tls_builder.h"

using flowaudit::analysis::app::ParseStatus;
namespace tls = flowaudit::analysis::tls;
using namespace flowaudit::tls_test;

namespace {

// A self-signed P-256 certificate made on the spot, DER-encoded.
Bytes make_certificate(const std::string& cn, const std::string& san) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  REQUIRE(key);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  REQUIRE(cert);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* subject = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Example, Inc."), -1, -1, 0);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_NAME* issuer = X509_NAME_new();
  X509_NAME_add_entry_by_txt(issuer, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Test CA"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer);
  X509_NAME_free(issuer);
  if (!san.empty()) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str());
    REQUIRE(ext != nullptr);
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  REQUIRE(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0);
  const int len = i2d_X509(cert.get(), nullptr);
  REQUIRE(len > 0);
  Bytes der(static_cast<std::size_t>(len));
  unsigned char* p = der.data();
  i2d_X509(cert.get(), &p);
  return der;
}

// A TLS 1.2 Certificate message body: certificate_list<0..2^24-1> of ASN.1Cert<1..2^24-1>.
Bytes certificate_message(const std::initializer_list<Bytes> certs) {
  Bytes list;
  for (const auto& c : certs) put(list, vec24(c));
  return vec24(list);
}

}  // namespace

TEST_CASE("TLS Certificate: subject, issuer, SAN of the leaf") {
  const Bytes leaf = make_certificate("chat.deepseek.com", "DNS:chat.deepseek.com,DNS:*.deepseek.com,IP:1.2.3.4");
  const Bytes other = make_certificate("Intermediate", "");
  const Bytes body = certificate_message({leaf, other});
  tls::Certificate c;
  REQUIRE(tls::parse_certificate(body, c) == ParseStatus::kOk);
  CHECK(c.subject == "CN=chat.deepseek.com,O=Example\\, Inc.");  // RFC 2253: most specific first, ',' escaped
  CHECK(c.issuer == "CN=Test CA");
  REQUIRE(c.san_dns.size() == 2);
  CHECK(c.san_dns[0] == "chat.deepseek.com");
  CHECK(c.san_dns[1] == "*.deepseek.com");

  for (std::size_t n = 0; n < body.size(); ++n) {
    CAPTURE(n);
    tls::Certificate p;
    // Any prefix cuts the list (or the first certificate): never accepted.
    CHECK(tls::parse_certificate(std::span(body).first(n), p) != ParseStatus::kOk);
  }
}

TEST_CASE("TLS Certificate: SAN entries are capped at 64") {
  std::string san;
  for (int i = 0; i < 100; ++i) san += (i ? ",DNS:h" : "DNS:h") + std::to_string(i) + ".example";
  tls::Certificate c;
  REQUIRE(tls::parse_certificate(certificate_message({make_certificate("many", san)}), c) == ParseStatus::kOk);
  CHECK(c.san_dns.size() == 64);
  CHECK(c.san_dns[63] == "h63.example");
}

TEST_CASE("TLS Certificate: broken messages") {
  tls::Certificate c;
  CHECK(tls::parse_certificate(vec24({}), c) == ParseStatus::kMalformed);  // empty list
  CHECK(tls::parse_certificate(certificate_message({Bytes(50, 0x30)}), c) == ParseStatus::kMalformed);
  CHECK(tls::parse_certificate(certificate_message({Bytes{}}), c) == ParseStatus::kMalformed);
  // The certificate's length runs past the list.
  Bytes der = make_certificate("x", "");
  Bytes list;
  put_u24(list, static_cast<unsigned>(der.size() + 10));
  put(list, der);
  CHECK(tls::parse_certificate(vec24(list), c) == ParseStatus::kMalformed);
  // A DER certificate cut short inside an honest length.
  Bytes cut(der.begin(), der.end() - 20);
  CHECK(tls::parse_certificate(certificate_message({cut}), c) == ParseStatus::kMalformed);
  CHECK(c.subject.empty());
}
