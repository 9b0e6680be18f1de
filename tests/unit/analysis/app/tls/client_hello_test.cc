#include "analysis/app/tls/client_hello.h"

#include <doctest/doctest.h>

#include <string>

#include "tests/unit/analysis/app/tls/tls_builder.h"

using flowaudit::analysis::app::ParseStatus;
namespace tls = flowaudit::analysis::tls;
using namespace flowaudit::tls_test;

namespace {

// Chrome-like: GREASE in suites, extensions, groups and versions; ECH.
Bytes full_extensions() {
  Bytes e;
  put(e, extension(0x1a1a, {}));
  put(e, sni_ext("chat.deepseek.com"));
  put(e, alpn_ext({text("h2"), text("http/1.1")}));
  put(e, extension(0x000a, vec16(u16_list({0x2a2a, 0x001d, 0x0017}))));
  put(e, extension(0x000b, vec8({0})));
  put(e, extension(0x000d, vec16(u16_list({0x0403, 0x0804, 0x0401}))));
  put(e, extension(0x002b, vec8(u16_list({0x3a3a, 0x0304, 0x0303}))));
  put(e, extension(0xfe0d, Bytes(20, 0xee)));
  return e;
}

Bytes full_hello() { return client_hello(u16_list({0x0a0a, 0x1301, 0x1302, 0xc02b}), full_extensions()); }

}  // namespace

TEST_CASE("TLS is_grease") {
  for (unsigned hi = 0; hi < 16; ++hi) {
    const auto v = static_cast<std::uint16_t>((hi << 12) | 0x0a00 | (hi << 4) | 0x0a);
    CHECK(tls::is_grease(v));
  }
  CHECK_FALSE(tls::is_grease(0x0a1a));
  CHECK_FALSE(tls::is_grease(0x1301));
  CHECK_FALSE(tls::is_grease(0x000a));
  CHECK_FALSE(tls::is_grease(0x0000));
}

TEST_CASE("TLS ClientHello: every field") {
  const Bytes body = full_hello();
  tls::ClientHello h;
  REQUIRE(tls::parse_client_hello(body, h) == ParseStatus::kOk);
  CHECK(h.legacy_version == 0x0303);
  REQUIRE(h.cipher_suites.size() == 4);
  CHECK(h.cipher_suites[0] == 0x0a0a);  // GREASE kept in the parsed lists
  CHECK(h.cipher_suites[3] == 0xc02b);
  REQUIRE(h.extensions.size() == 8);
  CHECK(h.extensions[0] == 0x1a1a);
  CHECK(h.extensions[7] == 0xfe0d);
  CHECK(h.has_sni);
  CHECK(h.sni == "chat.deepseek.com");
  REQUIRE(h.alpn.size() == 2);
  CHECK(h.alpn[0] == "h2");
  CHECK(h.alpn[1] == "http/1.1");
  REQUIRE(h.supported_groups.size() == 3);
  CHECK(h.supported_groups[1] == 0x001d);
  REQUIRE(h.ec_point_formats.size() == 1);
  CHECK(h.ec_point_formats[0] == 0);
  REQUIRE(h.signature_algorithms.size() == 3);
  CHECK(h.signature_algorithms[2] == 0x0401);
  REQUIRE(h.supported_versions.size() == 3);
  CHECK(h.supported_versions[1] == 0x0304);
  CHECK(h.has_ech);
  CHECK_FALSE(h.cipher_suites.overflowed());
}

TEST_CASE("TLS ClientHello: no extensions, no SNI, no ECH") {
  const Bytes body = client_hello(u16_list({0x002f}), {}, false);
  tls::ClientHello h;
  REQUIRE(tls::parse_client_hello(body, h) == ParseStatus::kOk);
  CHECK(h.extensions.empty());
  CHECK_FALSE(h.has_sni);
  CHECK_FALSE(h.has_ech);
  CHECK(h.alpn.empty());
}

TEST_CASE("TLS ClientHello: every prefix is cut short, never accepted, except the end of the fixed part") {
  const Bytes body = full_hello();
  // 2 version + 32 random + 33 session id + 2+8 suites + 2 compression: a hello without extensions.
  const std::size_t fixed_end = 2 + 32 + 33 + 2 + 8 + 2;
  for (std::size_t n = 0; n < body.size(); ++n) {
    CAPTURE(n);
    tls::ClientHello h;
    const auto status = tls::parse_client_hello(std::span(body).first(n), h);
    if (n == fixed_end) {
      CHECK(status == ParseStatus::kOk);
    } else {
      CHECK(status == ParseStatus::kNeedMore);
    }
  }
}

TEST_CASE("TLS ClientHello: lying lengths are malformed") {
  tls::ClientHello h;
  const Bytes suites = u16_list({0x1301});
  SUBCASE("session id longer than 32") {
    Bytes b;
    put_u16(b, 0x0303);
    fill(b, 32, 0);
    put(b, vec8(Bytes(33, 0)));
    put(b, vec16(suites));
    put(b, vec8({0}));
    CHECK(tls::parse_client_hello(b, h) == ParseStatus::kMalformed);
  }
  SUBCASE("odd cipher suite length") {
    Bytes b = client_hello(Bytes{0x13, 0x01, 0x13}, {});
    CHECK(tls::parse_client_hello(b, h) == ParseStatus::kMalformed);
  }
  SUBCASE("no compression method") {
    Bytes b;
    put_u16(b, 0x0303);
    fill(b, 32, 0);
    put_u8(b, 0);
    put(b, vec16(suites));
    put_u8(b, 0);
    CHECK(tls::parse_client_hello(b, h) == ParseStatus::kMalformed);
  }
  SUBCASE("extension longer than the block") {
    Bytes e;
    put_u16(e, 0x0017);
    put_u16(e, 10);  // but only 2 bytes follow
    put_u16(e, 0);
    CHECK(tls::parse_client_hello(client_hello(suites, e), h) == ParseStatus::kMalformed);
  }
  SUBCASE("half an extension header") {
    CHECK(tls::parse_client_hello(client_hello(suites, Bytes{0x00, 0x17, 0x00}), h) == ParseStatus::kMalformed);
  }
  SUBCASE("server_name list longer than the extension") {
    Bytes data;
    put_u16(data, 40);
    put_u8(data, 0);
    put(data, vec16(text("a.example")));
    CHECK(tls::parse_client_hello(client_hello(suites, extension(0, data)), h) == ParseStatus::kMalformed);
  }
  SUBCASE("host name longer than the list") {
    Bytes entry;
    put_u8(entry, 0);
    put_u16(entry, 200);
    put(entry, text("a.example"));
    CHECK(tls::parse_client_hello(client_hello(suites, extension(0, vec16(entry))), h) == ParseStatus::kMalformed);
  }
  SUBCASE("ALPN name longer than the list") {
    Bytes list{5, 'h', '2'};
    CHECK(tls::parse_client_hello(client_hello(suites, extension(0x10, vec16(list))), h) == ParseStatus::kMalformed);
  }
  SUBCASE("odd supported_groups") {
    CHECK(tls::parse_client_hello(client_hello(suites, extension(0x0a, vec16({0, 0x1d, 0}))), h) ==
          ParseStatus::kMalformed);
  }
  SUBCASE("odd signature_algorithms") {
    CHECK(tls::parse_client_hello(client_hello(suites, extension(0x0d, vec16({4, 3, 8}))), h) ==
          ParseStatus::kMalformed);
  }
  SUBCASE("odd supported_versions") {
    CHECK(tls::parse_client_hello(client_hello(suites, extension(0x2b, vec8({3, 4, 3}))), h) ==
          ParseStatus::kMalformed);
  }
  SUBCASE("ec_point_formats longer than the extension") {
    CHECK(tls::parse_client_hello(client_hello(suites, extension(0x0b, Bytes{4, 0})), h) == ParseStatus::kMalformed);
  }
}

TEST_CASE("TLS ClientHello: lists over capacity keep the first N") {
  Bytes suites;
  for (unsigned i = 0; i < 300; ++i) put_u16(suites, 0x1000 + i);
  Bytes names;
  for (unsigned i = 0; i < 20; ++i) put(names, vec8(text("p" + std::to_string(i))));
  const Bytes body = client_hello(suites, extension(0x10, vec16(names)));
  tls::ClientHello h;
  REQUIRE(tls::parse_client_hello(body, h) == ParseStatus::kOk);
  CHECK(h.cipher_suites.size() == 256);
  CHECK(h.cipher_suites.overflowed());
  CHECK(h.cipher_suites[255] == 0x1000 + 255);
  CHECK(h.alpn.size() == 16);
  CHECK(h.alpn.overflowed());
  CHECK(h.alpn[15] == "p15");

  Bytes many_ext;
  for (unsigned i = 0; i < 200; ++i) put(many_ext, extension(0x7000 + i, {}));
  REQUIRE(tls::parse_client_hello(client_hello(u16_list({0x1301}), many_ext), h) == ParseStatus::kOk);
  CHECK(h.extensions.size() == 128);
  CHECK(h.extensions.overflowed());
}

TEST_CASE("TLS ClientHello: ALPN with odd bytes, empty names, repeated extensions") {
  Bytes e;
  put(e, alpn_ext({Bytes{0xba, 0xad}, Bytes{}, text("x")}));
  put(e, alpn_ext({text("ignored")}));  // a repeated extension: the first one counts
  put(e, sni_ext("first.example"));
  put(e, sni_ext("second.example"));
  tls::ClientHello h;
  const Bytes body = client_hello(u16_list({0x1301}), e);  // the views in h point into it
  REQUIRE(tls::parse_client_hello(body, h) == ParseStatus::kOk);
  REQUIRE(h.alpn.size() == 3);
  CHECK(h.alpn[0] == std::string_view("\xba\xad", 2));
  CHECK(h.alpn[1].empty());
  CHECK(h.alpn[2] == "x");
  CHECK(h.sni == "first.example");
  CHECK(h.extensions.size() == 4);
}

TEST_CASE("TLS ClientHello: server_name without a usable host name") {
  tls::ClientHello h;
  SUBCASE("empty extension") {
    REQUIRE(tls::parse_client_hello(client_hello(u16_list({0x1301}), extension(0, {})), h) == ParseStatus::kOk);
  }
  SUBCASE("other name type only") {
    Bytes entry;
    put_u8(entry, 7);
    put(entry, vec16(text("x")));
    REQUIRE(tls::parse_client_hello(client_hello(u16_list({0x1301}), extension(0, vec16(entry))), h) ==
            ParseStatus::kOk);
  }
  SUBCASE("name longer than 255") {
    REQUIRE(tls::parse_client_hello(client_hello(u16_list({0x1301}), sni_ext(std::string(300, 'a'))), h) ==
            ParseStatus::kOk);
  }
  CHECK_FALSE(h.has_sni);
  CHECK(h.sni.empty());
  CHECK(h.extensions.size() == 1);
}

TEST_CASE("TLS ServerHello: fields, supported_versions, ALPN") {
  Bytes e;
  put(e, extension(0x002b, u16_list({0x0304})));
  put(e, extension(0x0033, Bytes(36, 1)));
  Bytes alpn_list = vec8(text("h2"));
  put(e, extension(0x0010, vec16(alpn_list)));
  const Bytes body = server_hello(0x1302, e);
  tls::ServerHello s;
  REQUIRE(tls::parse_server_hello(body, s) == ParseStatus::kOk);
  CHECK(s.legacy_version == 0x0303);
  CHECK(s.selected_version == 0x0304);
  CHECK(s.version() == 0x0304);
  CHECK(s.cipher_suite == 0x1302);
  CHECK(s.alpn == "h2");
  CHECK_FALSE(s.hello_retry_request);
  REQUIRE(s.extensions.size() == 3);
  CHECK(s.extensions[1] == 0x0033);

  // 2 + 32 + 33 + 2 + 1: a ServerHello without extensions.
  const std::size_t fixed_end = 70;
  for (std::size_t n = 0; n < body.size(); ++n) {
    CAPTURE(n);
    tls::ServerHello p;
    const auto status = tls::parse_server_hello(std::span(body).first(n), p);
    CHECK(status == (n == fixed_end ? ParseStatus::kOk : ParseStatus::kNeedMore));
  }
}

TEST_CASE("TLS ServerHello: TLS 1.2 without supported_versions; HelloRetryRequest; lies") {
  tls::ServerHello s;
  REQUIRE(tls::parse_server_hello(server_hello(0xc02f, extension(0xff01, {0})), s) == ParseStatus::kOk);
  CHECK(s.selected_version == 0);
  CHECK(s.version() == 0x0303);
  CHECK(s.alpn.empty());

  const Bytes hrr_random = {0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
                            0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
                            0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};
  REQUIRE(tls::parse_server_hello(server_hello(0x1301, extension(0x002b, u16_list({0x0304})), hrr_random), s) ==
          ParseStatus::kOk);
  CHECK(s.hello_retry_request);

  CHECK(tls::parse_server_hello(server_hello(0x1301, extension(0x002b, u16_list({0x0304, 0x0303}))), s) ==
        ParseStatus::kMalformed);
  CHECK(tls::parse_server_hello(server_hello(0x1301, extension(0x002b, Bytes{3})), s) == ParseStatus::kMalformed);
  Bytes two_names = vec8(text("h2"));
  put(two_names, vec8(text("x")));
  CHECK(tls::parse_server_hello(server_hello(0x1301, extension(0x0010, vec16(two_names))), s) ==
        ParseStatus::kMalformed);
  CHECK(tls::parse_server_hello(server_hello(0x1301, extension(0x0010, Bytes{0, 9, 2, 'h', '2'})), s) ==
        ParseStatus::kMalformed);
  Bytes long_sid;
  put_u16(long_sid, 0x0303);
  fill(long_sid, 32, 0);
  put(long_sid, vec8(Bytes(40, 0)));
  put_u16(long_sid, 0x1301);
  put_u8(long_sid, 0);
  CHECK(tls::parse_server_hello(long_sid, s) == ParseStatus::kMalformed);
}

TEST_CASE("TLS ServerHello: TLS 1.3 draft 19 has no session id or compression") {
  Bytes b;
  put_u16(b, 0x7f13);
  fill(b, 32, 5);
  put_u16(b, 0x1301);
  put(b, vec16(extension(0x0028, Bytes(36, 1))));
  tls::ServerHello s;
  REQUIRE(tls::parse_server_hello(b, s) == ParseStatus::kOk);
  CHECK(s.cipher_suite == 0x1301);
  REQUIRE(s.extensions.size() == 1);
  CHECK(s.extensions[0] == 0x0028);
}

TEST_CASE("TLS version and cipher suite names") {
  CHECK(tls::version_name(0x0304) == "TLS 1.3");
  CHECK(tls::version_name(0x0303) == "TLS 1.2");
  CHECK(tls::version_name(0x0302) == "TLS 1.1");
  CHECK(tls::version_name(0x0301) == "TLS 1.0");
  CHECK(tls::version_name(0x0300) == "SSL 3.0");
  CHECK(tls::version_name(0x7f1c) == "0x7f1c");
  CHECK(tls::cipher_name(0x1301) == "TLS_AES_128_GCM_SHA256");
  CHECK(tls::cipher_name(0x1303) == "TLS_CHACHA20_POLY1305_SHA256");
  CHECK(tls::cipher_name(0xc02f) == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
  CHECK(tls::cipher_name(0xcca9) == "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256");
  CHECK(tls::cipher_name(0x009e) == "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256");
  CHECK(tls::cipher_name(0x0035) == "TLS_RSA_WITH_AES_256_CBC_SHA");
  CHECK(tls::cipher_name(0x0005) == "TLS_RSA_WITH_RC4_128_SHA");
  CHECK(tls::cipher_name(0x000a) == "TLS_RSA_WITH_3DES_EDE_CBC_SHA");
  CHECK(tls::cipher_name(0x0003) == "TLS_RSA_EXPORT_WITH_RC4_40_MD5");
  CHECK(tls::cipher_name(0x0002) == "TLS_RSA_WITH_NULL_SHA");
  CHECK(tls::cipher_name(0x0034) == "TLS_DH_anon_WITH_AES_128_CBC_SHA");
  CHECK(tls::cipher_name(0xc018) == "TLS_ECDH_anon_WITH_AES_128_CBC_SHA");
  CHECK(tls::cipher_name(0x0000) == "TLS_NULL_WITH_NULL_NULL");
  CHECK(tls::cipher_name(0x5600) == "TLS_FALLBACK_SCSV");
  CHECK(tls::cipher_name(0x0a0a) == "0x0a0a");
  CHECK(tls::cipher_name(0xffff) == "0xffff");
}
