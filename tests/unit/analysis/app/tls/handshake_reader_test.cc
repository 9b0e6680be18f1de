#include "analysis/app/tls/handshake_reader.h"

#include <doctest/doctest.h>

#include <string_view>

#include "analysis/app/tls/client_hello.h"
#include "tests/unit/analysis/app/tls/tls_builder.h"

using flowaudit::analysis::app::ParseStatus;
namespace tls = flowaudit::analysis::tls;
using namespace flowaudit::tls_test;
using State = tls::HandshakeReader::State;

namespace {

struct Seen {
  std::uint8_t type;
  Bytes body;
};

// Feeds `stream` in pieces of `chunk` bytes (the last one shorter) and records every message.
State feed_chunks(tls::HandshakeReader& reader, const Bytes& stream, std::size_t chunk, std::vector<Seen>& seen) {
  State s = reader.state();
  for (std::size_t at = 0; at < stream.size(); at += chunk) {
    const auto piece = std::span(stream).subspan(at, std::min(chunk, stream.size() - at));
    s = reader.feed(piece, [&](const tls::HandshakeReader::Message& m) {
      seen.push_back({m.type, Bytes(m.body.begin(), m.body.end())});
    });
  }
  return s;
}

Bytes hello_body() {
  Bytes e;
  put(e, sni_ext("chat.deepseek.com"));
  put(e, alpn_ext({text("h2")}));
  return client_hello(u16_list({0x1301, 0x1302}), e);
}

}  // namespace

TEST_CASE("TLS handshake reader: one ClientHello, any split, then ChangeCipherSpec") {
  const Bytes body = hello_body();
  Bytes stream = record(22, handshake(1, body));
  put(stream, record(20, {1}, 0x0303));
  put(stream, record(23, Bytes(40, 0xaa), 0x0303));
  for (std::size_t chunk : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{5}, std::size_t{7},
                            std::size_t{64}, stream.size()}) {
    CAPTURE(chunk);
    tls::HandshakeReader reader;
    std::vector<Seen> seen;
    CHECK(feed_chunks(reader, stream, chunk, seen) == State::kEncrypted);
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].type == 1);
    CHECK(seen[0].body == body);
    CHECK(reader.record_version() == 0x0301);
  }
}

TEST_CASE("TLS handshake reader: a huge ClientHello across several records") {
  Bytes e;
  put(e, sni_ext("big.example"));
  put(e, extension(0xffce, Bytes(30000, 0x5c)));  // e.g. a FrodoKEM-1344 key share (about 21 KB) and more
  const Bytes body = client_hello(u16_list({0x1301}), e);
  const Bytes message = handshake(1, body);
  Bytes stream;
  for (std::size_t at = 0; at < message.size(); at += 16384) {
    put(stream, record(22, Bytes(message.begin() + static_cast<std::ptrdiff_t>(at),
                                 message.begin() + static_cast<std::ptrdiff_t>(std::min(at + 16384, message.size())))));
  }
  for (std::size_t chunk : {std::size_t{1000}, std::size_t{1448}, std::size_t{16389}, stream.size()}) {
    CAPTURE(chunk);
    tls::HandshakeReader reader;
    std::vector<Seen> seen;
    CHECK(feed_chunks(reader, stream, chunk, seen) == State::kReading);
    REQUIRE(seen.size() == 1);
    tls::ClientHello h;
    REQUIRE(tls::parse_client_hello(seen[0].body, h) == ParseStatus::kOk);
    CHECK(h.sni == "big.example");
  }
}

TEST_CASE("TLS handshake reader: record boundary inside a handshake header; several messages per record") {
  const Bytes sh = handshake(2, server_hello(0xc02f, {}));
  const Bytes cert = handshake(11, vec24({}));
  const Bytes done = handshake(14, {});
  Bytes all = sh;
  put(all, cert);
  put(all, done);
  // First record: the ServerHello and two bytes of the Certificate header.
  const std::size_t cut = sh.size() + 2;
  Bytes stream = record(22, Bytes(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(cut)), 0x0303);
  put(stream, record(21, {1, 0}, 0x0303));  // a warning alert in between is skipped
  put(stream, record(22, Bytes(all.begin() + static_cast<std::ptrdiff_t>(cut), all.end()), 0x0303));
  for (std::size_t chunk : {std::size_t{1}, std::size_t{6}, std::size_t{80}, stream.size()}) {
    CAPTURE(chunk);
    tls::HandshakeReader reader;
    std::vector<Seen> seen;
    CHECK(feed_chunks(reader, stream, chunk, seen) == State::kReading);
    REQUIRE(seen.size() == 3);
    CHECK(seen[0].type == 2);
    CHECK(seen[1].type == 11);
    CHECK(seen[1].body == vec24({}));
    CHECK(seen[2].type == 14);
    CHECK(seen[2].body.empty());
  }
}

TEST_CASE("TLS handshake reader: not TLS") {
  const auto run = [](std::string_view bytes) {
    tls::HandshakeReader reader;
    const Bytes b(bytes.begin(), bytes.end());
    int messages = 0;
    const State s = reader.feed(b, [&](const tls::HandshakeReader::Message&) { ++messages; });
    CHECK(messages == 0);
    return s;
  };
  CHECK(run("GET / HTTP/1.1\r\nHost: chat.deepseek.com\r\n\r\n") == State::kNotTls);
  CHECK(run("G") == State::kNotTls);  // the first byte is enough
  CHECK(run("SSH-2.0-OpenSSH_9.2\r\n") == State::kNotTls);
  // An SSLv2-format ClientHello is read (sslv2_hello_test.cc); a record too short for one is not.
  CHECK(run(std::string_view("\x80\x2e\x01\x03\x01", 5)) == State::kReading);
  CHECK(run(std::string_view("\x80\x08\x01\x03\x01", 5)) == State::kNotTls);
  CHECK(run(std::string_view("\x16\x02\x01\x00\x10", 5)) == State::kNotTls);  // major version 2
  CHECK(run(std::string_view("\x16\x03\x01\x48\x01", 5)) == State::kNotTls);  // record longer than 2^14+2048
  CHECK(run(std::string_view("\x16\x03", 2)) == State::kReading);
  CHECK(run(std::string_view("\x17\x03\x03\x00\x10", 5)) == State::kEncrypted);  // joined mid-connection

  // Once a TLS record was seen, a broken header is a broken stream, not another protocol.
  tls::HandshakeReader reader;
  Bytes stream = record(22, handshake(1, hello_body()));
  put(stream, text("GET / HTTP/1.1\r\n"));
  std::vector<Seen> seen;
  CHECK(feed_chunks(reader, stream, stream.size(), seen) == State::kGaveUp);
  CHECK(seen.size() == 1);
}

TEST_CASE("TLS handshake reader: limits") {
  SUBCASE("a 60 KB ClientHello stops the reader at its header, not after buffering it") {
    Bytes e;
    put(e, sni_ext("big.example"));
    put(e, extension(21, Bytes(60000, 0)));  // padding
    const Bytes message = handshake(1, client_hello(u16_list({0x1301}), e));
    Bytes stream;
    for (std::size_t at = 0; at < message.size(); at += 16384) {
      put(stream, record(22, Bytes(message.begin() + static_cast<std::ptrdiff_t>(at),
                                   message.begin() + static_cast<std::ptrdiff_t>(std::min(at + 16384, message.size())))));
    }
    tls::HandshakeReader reader;
    std::vector<Seen> seen;
    CHECK(feed_chunks(reader, Bytes(stream.begin(), stream.begin() + 9), 9, seen) == State::kLimit);
    CHECK(feed_chunks(reader, stream, 1448, seen) == State::kLimit);
    CHECK(seen.empty());
  }
  SUBCASE("a message larger than kMaxBuffered") {
    Bytes header;
    put_u8(header, 11);
    put_u24(header, static_cast<unsigned>(tls::HandshakeReader::kMaxBuffered));
    tls::HandshakeReader reader;
    std::vector<Seen> seen;
    CHECK(feed_chunks(reader, record(22, header), 100, seen) == State::kLimit);
    CHECK(seen.empty());
  }
  SUBCASE("too many handshake bytes in all") {
    tls::HandshakeReader reader;
    const Bytes one = record(22, handshake(0, Bytes(16000, 0)));
    std::vector<Seen> seen;
    State s = State::kReading;
    for (int i = 0; i < 20 && s == State::kReading; ++i) s = feed_chunks(reader, one, one.size(), seen);
    CHECK(s == State::kLimit);
    CHECK(seen.size() == tls::HandshakeReader::kMaxHandshakeBytes / 16004);
  }
  SUBCASE("zero-length and heartbeat records are skipped") {
    Bytes stream = record(22, {});
    put(stream, record(24, {1, 0, 0}));
    put(stream, record(22, handshake(1, hello_body())));
    tls::HandshakeReader reader;
    std::vector<Seen> seen;
    CHECK(feed_chunks(reader, stream, 3, seen) == State::kReading);
    CHECK(seen.size() == 1);
  }
}

TEST_CASE("TLS handshake reader: HelloRetryRequest flow keeps reading the clear hello after ChangeCipherSpec") {
  const Bytes body = hello_body();
  Bytes client = record(22, handshake(1, body));
  put(client, record(20, {1}, 0x0303));
  put(client, record(22, handshake(1, body), 0x0303));  // second ClientHello, in clear
  put(client, record(23, Bytes(30, 0x77), 0x0303));
  tls::HandshakeReader reader;
  std::vector<Seen> seen;
  CHECK(feed_chunks(reader, client, 4, seen) == State::kEncrypted);
  CHECK(seen.size() == 2);

  // TLS 1.2: after ChangeCipherSpec comes the encrypted Finished, a handshake record that is not a hello.
  Bytes server = record(22, handshake(2, server_hello(0xc02f, {})), 0x0303);
  put(server, record(20, {1}, 0x0303));
  put(server, record(22, Bytes(40, 0x9d), 0x0303));
  tls::HandshakeReader r2;
  std::vector<Seen> seen2;
  CHECK(feed_chunks(r2, server, 7, seen2) == State::kEncrypted);
  CHECK(seen2.size() == 1);

  // A hello after ChangeCipherSpec that does not fill its record exactly is not trusted either.
  Bytes odd = record(20, {1}, 0x0303);
  Bytes two = handshake(1, body);
  put(two, handshake(1, body));
  put(odd, record(22, two, 0x0303));
  tls::HandshakeReader r3;
  std::vector<Seen> seen3;
  CHECK(feed_chunks(r3, odd, odd.size(), seen3) == State::kEncrypted);
  CHECK(seen3.empty());
}

TEST_CASE("TLS handshake reader: nothing more after a final state") {
  tls::HandshakeReader reader;
  const Bytes http = text("POST /x HTTP/1.1\r\n");
  int n = 0;
  CHECK(reader.feed(http, [&](const tls::HandshakeReader::Message&) { ++n; }) == State::kNotTls);
  const Bytes tls_bytes = record(22, handshake(1, hello_body()));
  CHECK(reader.feed(tls_bytes, [&](const tls::HandshakeReader::Message&) { ++n; }) == State::kNotTls);
  CHECK(n == 0);
  CHECK(reader.state() == State::kNotTls);
}
