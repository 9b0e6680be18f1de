// A Chrome-style handshake with a HelloRetryRequest through the TLS handler: the fingerprints are
// those of the first ClientHello (the one tshark's JA3 and FoxIO's JA4 are computed on), whose
// GREASE extension with one data byte is followed by the padding extension.
#include <doctest/doctest.h>

#include <string>

#include "analysis/app/app_context.h"
#include "analysis/app/tls/fingerprint.h"
#include "analysis/app/tls/tls_handler.h"
#include "tests/unit/analysis/app/tls/tls_builder.h"

using namespace flowaudit::analysis;
using namespace flowaudit::tls_test;

namespace {

// Chrome's order (as in FoxIO's tls-sni.pcapng): GREASE first, ..., signature_algorithms (13),
// then GREASE carrying one 0x00 byte and, in the first hello only, padding (21) to 512 bytes.
Bytes chrome_hello(bool first) {
  const Bytes suites = u16_list({0x4a4a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f});
  Bytes e;
  put(e, extension(0x3a3a, {}));
  put(e, sni_ext("chat.example"));
  put(e, extension(0x0017, {}));
  put(e, extension(0xff01, {0}));
  put(e, extension(0x000a, vec16(u16_list({0x8a8a, 0x001d, 0x0017}))));
  put(e, extension(0x000b, vec8({0})));
  put(e, alpn_ext({text("h2"), text("http/1.1")}));
  put(e, extension(0x002b, vec8(u16_list({0x9a9a, 0x0304, 0x0303}))));
  put(e, extension(0x0033, first ? vec16(Bytes{0x8a, 0x8a, 0x00, 0x01, 0x00}) : vec16(Bytes(40, 0x44))));
  put(e, extension(0x000d, vec16(u16_list({0x0403, 0x0804, 0x0401}))));
  put(e, extension(0xcaca, {0x00}));
  if (first) put(e, extension(0x0015, Bytes(205, 0)));
  return client_hello(suites, e);
}

const Bytes kHelloRetryRandom = {0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
                                 0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
                                 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

}  // namespace

TEST_CASE("TLS handler: after a HelloRetryRequest the first ClientHello's JA3 and JA4 stay (GREASE then padding)") {
  app::AppContext ctx(app::AppConfig{});
  flowaudit::analysis::flow::Flow f;
  f.id = 7;
  f.client = 0;
  tls::TlsHandler h;

  const Bytes hello1 = record(22, handshake(1, chrome_hello(true)));
  Bytes hrr_ext;
  put(hrr_ext, extension(0x002b, u16_list({0x0304})));
  put(hrr_ext, extension(0x0033, u16_list({0x0018})));
  Bytes down = record(22, handshake(2, server_hello(0x1301, hrr_ext, kHelloRetryRandom)), 0x0303);
  put(down, record(20, {1}, 0x0303));
  Bytes up2 = record(20, {1}, 0x0303);
  put(up2, record(22, handshake(1, chrome_hello(false)), 0x0303));

  h.on_stream(ctx, f, 0, hello1);
  h.on_stream(ctx, f, 1, down);
  h.on_stream(ctx, f, 0, up2);

  const app::FlowDetails& d = ctx.details.at(f.id);
  REQUIRE(d.tls);
  CHECK(d.tls->sni == "chat.example");
  // tshark 4.0 on the same bytes keeps "...-13-21"; the second hello alone would end at 13.
  CHECK(std::string(d.tls->ja3_string) == "771,4865-4866-4867-49195-49199,0-23-65281-10-11-16-43-51-13-21,29-23,0");
  CHECK(std::string(d.tls->ja4).substr(0, 10) == "t13d0510h2");
}
