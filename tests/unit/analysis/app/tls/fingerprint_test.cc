#include "analysis/app/tls/fingerprint.h"

#include <doctest/doctest.h>

#include <deque>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tests/unit/analysis/app/tls/tls_builder.h"

using flowaudit::analysis::app::ParseStatus;
namespace tls = flowaudit::analysis::tls;
using namespace flowaudit::tls_test;

namespace {

// The parsed hello holds views into its bytes: keep every body alive for the whole test run.
tls::ClientHello parse(Bytes body) {
  static std::deque<Bytes> kept;
  kept.push_back(std::move(body));
  tls::ClientHello h;
  REQUIRE(tls::parse_client_hello(kept.back(), h) == ParseStatus::kOk);
  return h;
}

// The example of FoxIO's technical_details/JA4.md: its 15 ciphers, 16 extensions (in the order
// given there) and 8 signature algorithms, with GREASE added, which must not change anything.
Bytes ja4_spec_example(bool with_sigs) {
  const Bytes suites = u16_list({0x2a2a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8,
                                 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035});
  Bytes e;
  put(e, extension(0x0a0a, {}));
  for (unsigned type : {0x001bu, 0x0000u, 0x0033u, 0x0010u, 0x4469u, 0x0017u, 0x002du, 0x000du, 0x0005u, 0x0023u,
                        0x0012u, 0x002bu, 0xff01u, 0x000bu, 0x000au, 0x0015u}) {
    if (type == 0x0000) {
      put(e, sni_ext("example.com"));
    } else if (type == 0x0010) {
      put(e, alpn_ext({text("h2"), text("http/1.1")}));
    } else if (type == 0x000d) {
      if (with_sigs) {
        put(e, extension(type, vec16(u16_list({0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601}))));
      } else {
        put(e, extension(0x0031, {}));  // keep 16 extensions, and the sorted list unchanged but for 000d -> 0031
      }
    } else if (type == 0x000a) {
      put(e, extension(type, vec16(u16_list({0x001d}))));
    } else if (type == 0x000b) {
      put(e, extension(type, vec8({0})));
    } else if (type == 0x002b) {
      put(e, extension(type, vec8(u16_list({0x5a5a, 0x0304, 0x0303}))));
    } else {
      put(e, extension(type, {}));
    }
  }
  put(e, extension(0xfafa, {0}));
  return client_hello(suites, e);
}

}  // namespace

TEST_CASE("JA4: the example of FoxIO's specification") {
  const tls::ClientHello h = parse(ja4_spec_example(true));
  // technical_details/JA4.md: "JA4 = t13d1516h2_8daaf6152771_e5627efa2ab1".
  CHECK(tls::ja4(h, false) == "t13d1516h2_8daaf6152771_e5627efa2ab1");
  CHECK(tls::ja4(h, true) == "q13d1516h2_8daaf6152771_e5627efa2ab1");
}

TEST_CASE("JA4: no signature algorithms; no SNI; empty lists") {
  // Without signature_algorithms the extension part is hashed without the '_' (the spec's
  // "0005,...,ff01 = 6d807ffa2a79" shows that rule with 000d in the list). Here 000d is replaced by
  // 0031; the value is sha256sum of "0005,000a,000b,0012,0015,0017,001b,0023,002b,002d,0031,0033,
  // 4469,ff01", first 12 digits.
  const tls::ClientHello no_sigs = parse(ja4_spec_example(false));
  CHECK(tls::ja4(no_sigs, false) == "t13d1516h2_8daaf6152771_56169385bdd5");

  // One GREASE suite only, no extensions at all: counts 00, hashes of nothing are all zeros.
  const tls::ClientHello bare = parse(client_hello(u16_list({0x0a0a}), {}, false));
  CHECK(tls::ja4(bare, false) == "t12i000000_000000000000_000000000000");

  // Only SNI and ALPN: both left out of the sorted list, which is then empty.
  Bytes e;
  put(e, sni_ext("a.example"));
  put(e, alpn_ext({text("http/1.1")}));
  const tls::ClientHello named = parse(client_hello(u16_list({0x1301}), e));
  const std::string v = tls::ja4(named, false);
  CHECK(v == "t12d0102h1_0f2cb44170f4_000000000000");  // 0f2cb44170f4: sha256sum of "1301"

}

TEST_CASE("JA4: version from supported_versions, else the legacy version") {
  CHECK(tls::ja4(parse(client_hello(u16_list({0x002f}), extension(0x2b, vec8(u16_list({0x0a0a, 0x0302, 0x0301}))))),
                 false)
            .substr(0, 3) == "t11");
  CHECK(tls::ja4(parse(client_hello(u16_list({0x002f}), extension(0x2b, vec8(u16_list({0x7f1c}))))), false).substr(0, 3) ==
        "t00");
  Bytes ssl3 = client_hello(u16_list({0x000a}), {}, false);
  ssl3[0] = 0x03;
  ssl3[1] = 0x00;
  CHECK(tls::ja4(parse(ssl3), false).substr(0, 3) == "ts3");
}

TEST_CASE("JA4: ALPN characters as FoxIO's implementations print them") {
  const auto alpn_part = [](std::initializer_list<Bytes> names) {
    const tls::ClientHello h = parse(client_hello(u16_list({0x1301}), alpn_ext(names)));
    return tls::ja4(h, false).substr(8, 2);
  };
  CHECK(alpn_part({text("h2")}) == "h2");
  CHECK(alpn_part({text("http/1.1"), text("h2")}) == "h1");
  CHECK(alpn_part({text("h3")}) == "h3");
  CHECK(alpn_part({text("x")}) == "xx");  // one character is both first and last
  CHECK(alpn_part({Bytes{}, text("h2")}) == "00");  // the first name is empty
  // A byte above 0x7f is '9' at either end (FoxIO's rust/ja4/src/tls.rs first_last(); the JA4.md
  // text would print hex digits: "ad", "3b", "3d", "01", "bd").
  CHECK(alpn_part({Bytes{0xab}}) == "99");
  CHECK(alpn_part({Bytes{0xab, 0xcd}}) == "99");
  CHECK(alpn_part({Bytes{0x30, 0xab}}) == "09");
  CHECK(alpn_part({Bytes{0x30, 0x31, 0xab, 0xcd}}) == "09");
  CHECK(alpn_part({Bytes{0x30, 0xab, 0xcd, 0x31}}) == "01");
  CHECK(alpn_part({Bytes{0xc3, 0xa9, 0x61}}) == "9a");  // UTF-8 'e' with acute, then 'a'
  // Printable ASCII is itself, as in the rust and python tools; a control byte is '9'.
  CHECK(alpn_part({Bytes{0x20, 0x61}}) == " a");
  CHECK(alpn_part({text("/x")}) == "/x");
  CHECK(alpn_part({Bytes{0x01, 0x61}}) == "9a");
  CHECK(alpn_part({Bytes{0x61, 0x7f}}) == "a9");
  // No ALPN extension.
  CHECK(tls::ja4(parse(client_hello(u16_list({0x1301}), extension(0x17, {}))), false).substr(8, 2) == "00");
}

// FoxIO's pcap/tls-non-ascii-alpn.pcapng: a Chrome-like ClientHello whose first ALPN protocol is
// the two bytes 0xba 0xad. Its lists as FoxIO's python/test/testdata gives them (JA4_ro), GREASE
// added where the capture has it; FoxIO publishes t13d151699_8daaf6152771_e5627efa2ab1 for it
// (rust snapshot, python and wireshark test data alike).
TEST_CASE("JA4: FoxIO's published value for a non-ASCII first ALPN protocol") {
  const Bytes suites = u16_list({0xaaaa, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8,
                                 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035});
  Bytes e;
  put(e, extension(0x9a9a, {}));
  for (unsigned type : {0xff01u, 0x0033u, 0x002du, 0x0005u, 0x4469u, 0x000du, 0x0010u, 0x0023u, 0x001bu, 0x002bu,
                        0x0000u, 0x0012u, 0x000au, 0x0017u, 0x000bu, 0x0015u}) {
    if (type == 0x0000) {
      put(e, sni_ext("clientservices.googleapis.com"));
    } else if (type == 0x0010) {
      put(e, alpn_ext({Bytes{0xba, 0xad}, text("http/1.1")}));
    } else if (type == 0x000d) {
      put(e, extension(type, vec16(u16_list({0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601}))));
    } else if (type == 0x000a) {
      put(e, extension(type, vec16(u16_list({0x0a0a, 0x001d, 0x0017, 0x0018}))));
    } else if (type == 0x000b) {
      put(e, extension(type, vec8({0})));
    } else if (type == 0x002b) {
      put(e, extension(type, vec8(u16_list({0x0a0a, 0x0304, 0x0303}))));
    } else {
      put(e, extension(type, {}));
    }
  }
  put(e, extension(0x6a6a, {0}));
  CHECK(tls::ja4(parse(client_hello(suites, e)), false) == "t13d151699_8daaf6152771_e5627efa2ab1");
}

TEST_CASE("JA4: counts are capped at 99") {
  Bytes suites;
  for (unsigned i = 0; i < 120; ++i) put_u16(suites, 0x0100 + i);
  Bytes e;
  for (unsigned i = 0; i < 110; ++i) put(e, extension(0x0100 + i, {}));
  CHECK(tls::ja4(parse(client_hello(suites, e)), false).substr(0, 8) == "t12i9999");
}

TEST_CASE("JA3: string and MD5, GREASE removed") {
  Bytes e;
  put(e, extension(0x3a3a, {}));
  put(e, sni_ext("x.example"));
  put(e, extension(0x000a, vec16(u16_list({0x4a4a, 29, 23}))));
  put(e, extension(0x000b, vec8({0, 1, 2})));
  const tls::ClientHello h = parse(client_hello(u16_list({0x0a0a, 0x1301, 0xc02f}), e));
  CHECK(tls::ja3_string(h) == "771,4865-49199,0-10-11,29-23,0-1-2");
  CHECK(tls::ja3(h) == "d2ba89b6da42211a96e0a74793b3ef78");  // md5sum of the string above

  // Empty lists leave empty fields.
  const tls::ClientHello bare = parse(client_hello(u16_list({0x002f}), {}, false));
  CHECK(tls::ja3_string(bare) == "771,47,,,");
}

// The digests go through a small memo (issue 18): many different hellos, asked for in turns, each
// keep their own digest whichever slot they share.
TEST_CASE("JA3 and JA4 digests stay right through the memo") {
  std::vector<std::pair<std::string, std::string>> first;
  for (unsigned i = 0; i < 300; ++i) {
    const tls::ClientHello h = parse(client_hello(u16_list({0x1301, static_cast<std::uint16_t>(0x0100 + i)}), {}));
    first.emplace_back(tls::ja3(h), tls::ja4(h, false));
  }
  for (unsigned round = 0; round < 2; ++round) {
    for (unsigned i = 300; i-- > 0;) {
      const tls::ClientHello h = parse(client_hello(u16_list({0x1301, static_cast<std::uint16_t>(0x0100 + i)}), {}));
      CHECK(tls::ja3(h) == first[i].first);
      CHECK(tls::ja4(h, false) == first[i].second);
    }
  }
  // The one computed in the test above, after all of those.
  Bytes e;
  put(e, extension(0x3a3a, {}));
  put(e, sni_ext("x.example"));
  put(e, extension(0x000a, vec16(u16_list({0x4a4a, 29, 23}))));
  put(e, extension(0x000b, vec8({0, 1, 2})));
  CHECK(tls::ja3(parse(client_hello(u16_list({0x0a0a, 0x1301, 0xc02f}), e))) == "d2ba89b6da42211a96e0a74793b3ef78");
  std::set<std::string> distinct;
  for (const auto& f : first) distinct.insert(f.first);
  CHECK(distinct.size() == first.size());
}

TEST_CASE("JA3S: string and MD5") {
  Bytes e;
  put(e, extension(0x002b, u16_list({0x0304})));
  put(e, extension(0x0033, Bytes(36, 1)));
  tls::ServerHello s;
  REQUIRE(tls::parse_server_hello(server_hello(0x1302, e), s) == ParseStatus::kOk);
  CHECK(tls::ja3s_string(s) == "771,4866,43-51");
  // tshark 4.0.17 gives this JA3S for "771,4866,43-51" (tests/data/tls13-sni-alpn.pcap).
  CHECK(tls::ja3s(s) == "15af977ce25de452b96affa2addb1036");
}
