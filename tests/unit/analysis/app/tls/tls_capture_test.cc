// The committed captures of real curl / openssl handshakes, through the packet decoder, the
// handshake reader and the parsers, compared with what tshark 4.0.17 says about the same files.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "analysis/app/tls/client_hello.h"
#include "analysis/app/tls/fingerprint.h"
#include "analysis/app/tls/handshake_reader.h"
#include "analysis/packet/decoder.h"
#include "capture/pcap_file_source.h"

namespace tls = flowaudit::analysis::tls;
namespace packet = flowaudit::analysis::packet;
using flowaudit::analysis::app::ParseStatus;

namespace {

struct Direction {
  std::vector<std::vector<std::uint8_t>> segments;  // TCP payloads in capture order (no loss here)
};

// Client->server (to port 443) and server->client payloads of the one TLS flow in `file`.
void read_flow(const std::string& file, Direction& to_server, Direction& to_client) {
  auto opened = flowaudit::capture::open_capture_file(std::string(FLOWAUDIT_SOURCE_DIR) + "/tests/data/" + file);
  REQUIRE(opened.source);
  packet::Decoder decoder;
  flowaudit::capture::RawPacket raw;
  while (opened.source->next(raw) == flowaudit::capture::ReadStatus::kPacket) {
    packet::DecodedPacket p;
    if (decoder.decode(raw, p) != packet::DecodeStatus::kTransport || p.protocol != packet::kProtoTcp) continue;
    const auto& payload = p.transport.payload;
    if (payload.empty()) continue;
    if (p.transport.dst_port == 443) to_server.segments.emplace_back(payload.begin(), payload.end());
    if (p.transport.src_port == 443) to_client.segments.emplace_back(payload.begin(), payload.end());
  }
}

struct Seen {
  bool client_hello = false;
  bool server_hello = false;
  tls::ClientHello ch;
  tls::ServerHello sh;
  std::string sni;
  std::vector<std::string> alpn;
  std::vector<tls::Certificate> certs;
};

// Segment by segment, the way the flow pipeline feeds it.
tls::HandshakeReader::State replay(const Direction& d, Seen& seen) {
  tls::HandshakeReader reader;
  for (const auto& segment : d.segments) {
    reader.feed(segment, [&](const tls::HandshakeReader::Message& m) {
      if (m.type == 1 && !seen.client_hello) {
        REQUIRE(tls::parse_client_hello(m.body, seen.ch) == ParseStatus::kOk);
        seen.client_hello = true;
        seen.sni = std::string(seen.ch.sni);
        for (auto a : seen.ch.alpn) seen.alpn.emplace_back(a);
      } else if (m.type == 2 && !seen.server_hello) {
        REQUIRE(tls::parse_server_hello(m.body, seen.sh) == ParseStatus::kOk);
        seen.server_hello = true;
      } else if (m.type == 11) {
        tls::Certificate c;
        REQUIRE(tls::parse_certificate(m.body, c) == ParseStatus::kOk);
        seen.certs.push_back(c);
      }
    });
    if (reader.state() != tls::HandshakeReader::State::kReading) break;
  }
  return reader.state();
}

// curl's ClientHello in tls13-sni-alpn.pcap and ipv6-tcp.pcap. From tshark 4.0.17 on those files:
//   tshark -r F -Y tls.handshake.type==1 -T fields -e tls.handshake.extensions_server_name
//          -e tls.handshake.ja3 -e tls.handshake.ja3_full
// and -e tls.handshake.ja3s -e tls.handshake.ja3s_full for the ServerHello.
constexpr const char* kCurlJa3 = "89dfc51e72bdcb94e4ba4622588002b1";
constexpr const char* kCurlJa3Full =
    "771,4866-4867-4865-255,0-11-10-16-22-23-49-13-43-45-51-21,29-23-30-25-24-256-257-258-259-260,0-1-2";
constexpr const char* kTls13Ja3s = "15af977ce25de452b96affa2addb1036";
constexpr const char* kTls13Ja3sFull = "771,4866,43-51";
// JA4 of the same ClientHello: tshark 4.0.17 has no JA4, so this was computed independently from
// tshark's field values (ciphersuite, extension.type, sig_hash_alg, supported_version) with a few
// lines of Python following FoxIO's technical_details/JA4.md, and agrees with ours.
constexpr const char* kCurlJa4 = "t13d0412h2_16476d049b0b_85302d7e289e";

}  // namespace

TEST_CASE("TLS capture: tls13-sni-alpn.pcap and ipv6-tcp.pcap (curl, TLS 1.3) match tshark") {
  for (const char* file : {"tls13-sni-alpn.pcap", "ipv6-tcp.pcap"}) {
    CAPTURE(file);
    Direction up;
    Direction down;
    read_flow(file, up, down);
    Seen client;
    CHECK(replay(up, client) == tls::HandshakeReader::State::kEncrypted);
    REQUIRE(client.client_hello);
    CHECK(client.sni == "chat.deepseek.com");
    CHECK(client.alpn == std::vector<std::string>{"h2", "http/1.1"});
    CHECK(tls::ja3(client.ch) == kCurlJa3);
    CHECK(tls::ja3_string(client.ch) == kCurlJa3Full);
    CHECK(tls::ja4(client.ch, false) == kCurlJa4);
    CHECK_FALSE(client.ch.has_ech);

    Seen server;
    CHECK(replay(down, server) == tls::HandshakeReader::State::kEncrypted);
    REQUIRE(server.server_hello);
    CHECK(tls::ja3s(server.sh) == kTls13Ja3s);
    CHECK(tls::ja3s_string(server.sh) == kTls13Ja3sFull);
    CHECK(server.sh.version() == 0x0304);
    CHECK(tls::version_name(server.sh.version()) == "TLS 1.3");
    CHECK(tls::cipher_name(server.sh.cipher_suite) == "TLS_AES_256_GCM_SHA384");
    CHECK(server.certs.empty());  // encrypted in TLS 1.3
  }
}

TEST_CASE("TLS capture: tls12-nosni.pcap (openssl s_client -tls1_2 -noservername) matches tshark") {
  Direction up;
  Direction down;
  read_flow("tls12-nosni.pcap", up, down);
  Seen client;
  CHECK(replay(up, client) == tls::HandshakeReader::State::kEncrypted);
  REQUIRE(client.client_hello);
  CHECK_FALSE(client.ch.has_sni);
  CHECK(client.alpn.empty());
  // tshark 4.0.17 on tls12-nosni.pcap (same command as above):
  CHECK(tls::ja3(client.ch) == "fbe7e189e37a07ee33706f86bc746344");
  CHECK(tls::ja3_string(client.ch) ==
        "771,49196-49200-159-52393-52392-52394-49195-49199-158-49188-49192-107-49187-49191-103-49162-49172-57-"
        "49161-49171-51-157-156-61-60-53-47-255,11-10-35-22-23-13,29-23-30-25-24,0-1-2");
  // Computed independently from tshark's fields like kCurlJa4.
  CHECK(tls::ja4(client.ch, false) == "t12i280600_d943125447b4_e7e480e5a997");

  Seen server;
  CHECK(replay(down, server) == tls::HandshakeReader::State::kEncrypted);
  REQUIRE(server.server_hello);
  CHECK(tls::ja3s(server.sh) == "abade5a4a7f42baf54766e5d108283b6");  // tshark 4.0.17
  CHECK(tls::ja3s_string(server.sh) == "771,49196,65281-11-35-23");
  CHECK(server.sh.version() == 0x0303);
  CHECK(tls::cipher_name(server.sh.cipher_suite) == "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
  // The self-signed certificate, in clear in TLS 1.2 (tshark: x509sat CN and dNSName chat.deepseek.com).
  REQUIRE(server.certs.size() == 1);
  CHECK(server.certs[0].subject == "CN=chat.deepseek.com");
  CHECK(server.certs[0].issuer == "CN=chat.deepseek.com");
  CHECK(server.certs[0].san_dns == std::vector<std::string>{"chat.deepseek.com"});
}

TEST_CASE("TLS capture: HTTP is not TLS (http-post.pcap)") {
  auto opened = flowaudit::capture::open_capture_file(std::string(FLOWAUDIT_SOURCE_DIR) + "/tests/data/http-post.pcap");
  REQUIRE(opened.source);
  packet::Decoder decoder;
  flowaudit::capture::RawPacket raw;
  tls::HandshakeReader reader;
  int messages = 0;
  while (opened.source->next(raw) == flowaudit::capture::ReadStatus::kPacket) {
    packet::DecodedPacket p;
    if (decoder.decode(raw, p) != packet::DecodeStatus::kTransport || p.transport.dst_port != 80 ||
        p.transport.payload.empty()) {
      continue;
    }
    reader.feed(p.transport.payload, [&](const tls::HandshakeReader::Message&) { ++messages; });
    break;
  }
  CHECK(reader.state() == tls::HandshakeReader::State::kNotTls);
  CHECK(messages == 0);
}
