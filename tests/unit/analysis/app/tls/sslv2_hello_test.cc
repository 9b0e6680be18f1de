// A client that opens with an SSLv2-format ClientHello (RFC 6101 appendix E, RFC 5246 E.2) and a
// server that answers in TLS: the flow is TLS, the hello's version and cipher spec count are kept,
// the ServerHello gives JA3S, and the missing name says why. The bytes follow two real captures
// (read, not copied: Wireshark's ssl.v3.pcap and sslv2-tls-upgrade-01, in shared/corpus/tls):
//  - ssl.v3.pcap, frame 4: an SSLv2 record of 2 + 85 bytes (header 0x80 0x55), version TLS 1.0, 20 cipher
//    specs (60 bytes), no session id, a 16-byte challenge; frame 6: a TLS 1.0 ServerHello choosing
//    TLS_RSA_WITH_RC4_128_MD5 (4) without extensions, whose JA3S by tshark 4.0 is
//    53611273a714cb4789c8222932efd5a7 ("769,4,"). tshark 4.0 gives no JA3 for the SSLv2 hello.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "analysis/app/app_context.h"
#include "analysis/app/tls/client_hello.h"
#include "analysis/app/tls/handshake_reader.h"
#include "analysis/app/tls/tls_handler.h"
#include "analysis/app/unnamed_reason.h"
#include "tests/unit/analysis/app/tls/tls_builder.h"

using namespace flowaudit::analysis;
using namespace flowaudit::tls_test;
using State = tls::HandshakeReader::State;

namespace {

// ssl.v3.pcap's cipher specs, in its order (3 bytes each; 0x00feff/0x00fefe are the old FIPS suites).
const std::vector<unsigned> kSpecs = {0x000039, 0x000038, 0x000035, 0x000033, 0x000032, 0x000004, 0x000005,
                                      0x00002f, 0x000016, 0x000013, 0x00feff, 0x00000a, 0x000015, 0x000012,
                                      0x00fefe, 0x000009, 0x000064, 0x000062, 0x000003, 0x000006};

// The SSLv2 record: 2-byte header with the high bit, then msg_type 1 and the E.2 fields.
Bytes sslv2_hello_record(unsigned version = 0x0301, std::size_t challenge = 16, unsigned msg_type = 1) {
  Bytes body;
  put_u8(body, msg_type);
  put_u16(body, version);
  put_u16(body, static_cast<unsigned>(kSpecs.size() * 3));
  put_u16(body, 0);
  put_u16(body, static_cast<unsigned>(challenge));
  for (unsigned s : kSpecs) {
    put_u8(body, s >> 16);
    put_u16(body, s & 0xffff);
  }
  fill(body, challenge, 0x5c);
  Bytes rec;
  put_u16(rec, 0x8000u | static_cast<unsigned>(body.size()));
  put(rec, body);
  return rec;
}

// A TLS 1.0 ServerHello without extensions (SSL 3.0 style), 32-byte session id.
Bytes tls10_server_hello(unsigned cipher) {
  Bytes b;
  put_u16(b, 0x0301);
  fill(b, 32, 0x45);
  put(b, vec8(Bytes(32, 0x22)));
  put_u16(b, cipher);
  put_u8(b, 0);
  return b;
}

app::ProbeInput probe(const Bytes& b, bool from_client = true) { return {b, 50000, 443, from_client}; }

}  // namespace

TEST_CASE("SSLv2-format ClientHello: 2 + 85 bytes as in ssl.v3.pcap, and parses") {
  const Bytes rec = sslv2_hello_record();
  REQUIRE(rec.size() == 2 + 85);
  CHECK(rec[0] == 0x80);
  CHECK(rec[1] == 0x55);
  tls::Sslv2ClientHello h;
  CHECK(tls::parse_sslv2_client_hello(std::span(rec).subspan(3), h) == app::ParseStatus::kOk);
  CHECK(h.version == 0x0301);
  CHECK(h.cipher_specs == 20);
  // Lengths that do not add up to the record, a cipher spec length not a multiple of 3, a short
  // challenge: malformed.
  Bytes bad = rec;
  bad[6] = 59;  // cipher_spec_length 59
  CHECK(tls::parse_sslv2_client_hello(std::span(bad).subspan(3), h) == app::ParseStatus::kMalformed);
  CHECK(tls::parse_sslv2_client_hello(std::span(rec).subspan(3, 60), h) == app::ParseStatus::kMalformed);
  CHECK(tls::parse_sslv2_client_hello(std::span(rec).subspan(3, 5), h) == app::ParseStatus::kNeedMore);
  const Bytes short_challenge = sslv2_hello_record(0x0301, 8);
  CHECK(tls::parse_sslv2_client_hello(std::span(short_challenge).subspan(3), h) == app::ParseStatus::kMalformed);
}

TEST_CASE("SSLv2-format ClientHello: claimed as TLS from its first 11 bytes, from the client only") {
  const Bytes rec = sslv2_hello_record();
  for (std::size_t n = 1; n < 11; ++n) {
    CAPTURE(n);
    CHECK(tls::TlsHandler::claims(probe(Bytes(rec.begin(), rec.begin() + static_cast<std::ptrdiff_t>(n)))) ==
          app::Claim::kNeedMore);
  }
  CHECK(tls::TlsHandler::claims(probe(Bytes(rec.begin(), rec.begin() + 11))) == app::Claim::kYes);
  CHECK(tls::TlsHandler::claims(probe(rec)) == app::Claim::kYes);
  CHECK(tls::TlsHandler::claims(probe(sslv2_hello_record(0x0002))) == app::Claim::kYes);  // SSL 2.0 itself
  CHECK(tls::TlsHandler::claims(probe(rec, false)) == app::Claim::kNo);                   // a server's bytes
  CHECK(tls::TlsHandler::claims(probe(sslv2_hello_record(0x0301, 16, 4))) == app::Claim::kNo);  // not a hello
  CHECK(tls::TlsHandler::claims(probe(sslv2_hello_record(0x0401))) == app::Claim::kNo);
  Bytes wrong_length = rec;
  wrong_length[1] = 0x56;
  CHECK(tls::TlsHandler::claims(probe(wrong_length)) == app::Claim::kNo);
  CHECK(tls::TlsHandler::claims(probe(Bytes{0x80, 0x05})) == app::Claim::kNo);  // shorter than the fixed part
  // Telnet's IAC (0xff) and other high first bytes are refused at once, not waited on.
  CHECK(tls::TlsHandler::claims(probe(Bytes{0xff})) == app::Claim::kNo);
  CHECK(tls::TlsHandler::claims(probe(Bytes{0xff, 0xfb, 0x01})) == app::Claim::kNo);
  CHECK(tls::TlsHandler::claims(probe(Bytes{0x87})) == app::Claim::kNo);
  CHECK(tls::TlsHandler::claims(probe(Bytes{0x86})) == app::Claim::kNeedMore);
}

TEST_CASE("TLS handshake reader: an SSLv2-format ClientHello, then TLS records, any split") {
  const Bytes rec = sslv2_hello_record();
  Bytes stream = rec;
  const Bytes cke = handshake(16, Bytes(70, 0x77));
  put(stream, record(22, cke, 0x0301));
  put(stream, record(20, {1}, 0x0301));
  for (std::size_t chunk : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{11}, stream.size()}) {
    CAPTURE(chunk);
    tls::HandshakeReader reader;
    std::vector<std::pair<tls::HandshakeReader::Message, Bytes>> seen;
    State s = reader.state();
    for (std::size_t at = 0; at < stream.size(); at += chunk) {
      s = reader.feed(std::span(stream).subspan(at, std::min(chunk, stream.size() - at)),
                      [&](const tls::HandshakeReader::Message& m) {
                        seen.emplace_back(m, Bytes(m.body.begin(), m.body.end()));
                      });
    }
    CHECK(s == State::kReading);  // the ChangeCipherSpec: the next handshake record may still be a hello
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].first.sslv2);
    CHECK(seen[0].first.type == 1);
    CHECK(seen[0].second == Bytes(rec.begin() + 3, rec.end()));
    CHECK_FALSE(seen[1].first.sslv2);
    CHECK(seen[1].first.type == 16);
    CHECK(reader.record_version() == 0x0002);
  }
}

TEST_CASE("TLS handshake reader: SSL 2.0 beyond the client's hello is not read") {
  tls::HandshakeReader server;  // a v2 SERVER-HELLO (msg_type 4)
  CHECK(server.feed(sslv2_hello_record(0x0002, 16, 4), [](const auto&) { FAIL("no message"); }) == State::kNotTls);
  tls::HandshakeReader client;  // the hello, then a v2 CLIENT-MASTER-KEY record: SSL 2.0 was chosen
  int messages = 0;
  Bytes stream = sslv2_hello_record(0x0002);
  put(stream, Bytes{0x80, 0x0a, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  CHECK(client.feed(stream, [&](const auto&) { ++messages; }) == State::kGaveUp);
  CHECK(messages == 1);
}

TEST_CASE("TLS handler: SSLv2-format ClientHello, TLS 1.0 ServerHello (ssl.v3.pcap): JA3S, no JA3, reason") {
  app::AppContext ctx(app::AppConfig{});
  flow::Flow f;
  f.id = 3;
  f.client = 0;
  f.key.protocol = 6;
  f.from[0].payload_bytes = 87;
  f.orientation = flow::Orientation::kTcpHandshake;
  tls::TlsHandler h;

  const Bytes up = sslv2_hello_record();
  const Bytes down = record(22, handshake(2, tls10_server_hello(0x0004)), 0x0301);
  // As in the capture, the client's hello arrives in one segment and the server's in another.
  h.on_stream(ctx, f, 0, up);
  h.on_stream(ctx, f, 1, down);

  const app::FlowDetails& d = ctx.details.at(f.id);
  REQUIRE(d.tls);
  CHECK(d.tls->client_hello);
  CHECK(d.tls->sslv2_hello);
  CHECK(d.tls->client_version == 0x0301);
  CHECK(d.tls->cipher_count == 20);
  CHECK_FALSE(d.tls->has_sni);
  CHECK(d.tls->ja3.empty());
  CHECK(d.tls->ja4.empty());
  CHECK(d.tls->server_hello);
  CHECK(d.tls->version == 0x0301);
  CHECK(std::string(d.tls->ja3s) == "53611273a714cb4789c8222932efd5a7");
  CHECK(app::to_string(app::unnamed_reason(f, &d)) == "sslv2-hello");
  CHECK(ctx.stats.tls_malformed == 0);
}
