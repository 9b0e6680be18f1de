// WebSocket messages after an Upgrade (analysis/app/http/websocket.h), on the examples of RFC 6455
// §5.7 and RFC 7692 §7.2.3, fed a byte at a time as TCP may deliver them.
#include <doctest/doctest.h>
#include <zlib.h>

#include <string>
#include <vector>

#include "analysis/app/http/websocket.h"

namespace http = flowaudit::analysis::http;
using Bytes = std::vector<std::uint8_t>;

namespace {

void feed(http::WebSocketReader& ws, bool from_client, const Bytes& b, std::size_t piece = 1) {
  for (std::size_t i = 0; i < b.size(); i += piece) {
    ws.on_bytes(from_client, std::span<const std::uint8_t>(b.data() + i, std::min(piece, b.size() - i)));
  }
}

}  // namespace

TEST_SUITE("http") {

TEST_CASE("websocket: RFC 6455 examples — masked, fragmented, ping and pong") {
  http::KeepBudget budget;
  http::WebSocketReader ws("", budget);
  feed(ws, true, {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});  // masked "Hello"
  feed(ws, false, {0x01, 0x03, 0x48, 0x65, 0x6c});                                       // "Hel" ...
  feed(ws, false, {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});                           // a ping between fragments
  feed(ws, false, {0x80, 0x02, 0x6c, 0x6f});                                             // ... "lo"
  feed(ws, true, {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});  // masked pong
  feed(ws, false, {0x82, 0x7e, 0x01, 0x00}, 4);                                         // 256-byte binary, header
  feed(ws, false, Bytes(256, 0xab), 100);
  const auto& s = ws.stats();
  CHECK(*s.stopped == '\0');
  CHECK(s.messages[0] == 1);
  CHECK(s.payload_bytes[0] == 5);
  CHECK(s.messages[1] == 2);
  CHECK(s.payload_bytes[1] == 5 + 256);
  CHECK(s.control_frames == 2);
  REQUIRE(ws.client_messages().size() == 1);
  CHECK(ws.client_messages()[0] == "Hello");  // unmasked
}

TEST_CASE("websocket: permessage-deflate with context takeover (RFC 7692 §7.2.3)") {
  http::KeepBudget budget;
  http::WebSocketReader ws("permessage-deflate; client_max_window_bits=15", budget);
  CHECK(ws.stats().deflate);
  // "Hello" compressed (§7.2.3.1), then again using the first message's window (§7.2.3.2), masked
  // with the key 0 so the compressed bytes are as in the RFC.
  feed(ws, true, {0xc1, 0x87, 0, 0, 0, 0, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00});
  feed(ws, true, {0xc1, 0x85, 0, 0, 0, 0, 0xf2, 0x00, 0x11, 0x00, 0x00});
  // Unmasked, in two fragments, only the first with RSV1 (§7.2.3.3 style)
  feed(ws, false, {0x41, 0x03, 0xf2, 0x48, 0xcd});
  feed(ws, false, {0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00});
  const auto& s = ws.stats();
  CHECK(*s.stopped == '\0');
  CHECK(s.messages[0] == 2);
  CHECK(s.payload_bytes[0] == 10);
  CHECK(s.messages[1] == 1);
  CHECK(s.payload_bytes[1] == 5);
  REQUIRE(ws.client_messages().size() == 2);
  CHECK(ws.client_messages()[1] == "Hello");
}

TEST_CASE("websocket: a continuation of nothing is malformed, a deflate bomb stops at the limit") {
  http::KeepBudget budget;
  http::WebSocketReader bad("", budget);
  feed(bad, true, {0x80, 0x80, 0, 0, 0, 0});
  CHECK(std::string(bad.stats().stopped) == "malformed");
  // 32 MiB of zeros as one compressed message from the server (raw DEFLATE, sync-flushed, its
  // 00 00 ff ff tail removed as RFC 7692 §7.2.1 says): a few tens of kB on the wire.
  Bytes zeros(32u << 20, 0);
  z_stream z{};
  REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  Bytes packed(deflateBound(&z, static_cast<uLong>(zeros.size())) + 16);
  z.next_in = zeros.data();
  z.avail_in = static_cast<uInt>(zeros.size());
  z.next_out = packed.data();
  z.avail_out = static_cast<uInt>(packed.size());
  REQUIRE(deflate(&z, Z_SYNC_FLUSH) == Z_OK);
  packed.resize(z.total_out - 4);
  deflateEnd(&z);
  REQUIRE(packed.size() < 65536);  // the 16-bit length form (RFC 6455 asks for the shortest)
  Bytes frame{0xc2, 0x7e, static_cast<std::uint8_t>(packed.size() >> 8), static_cast<std::uint8_t>(packed.size())};
  frame.insert(frame.end(), packed.begin(), packed.end());
  http::WebSocketReader bomb("permessage-deflate", budget);
  feed(bomb, false, frame, 4096);
  CHECK(std::string(bomb.stats().stopped) == "limit");
  CHECK(bomb.stats().messages[1] == 0);
}

}  // TEST_SUITE

#include "analysis/app/http/http1_connection.h"

TEST_SUITE("http") {

TEST_CASE("websocket: an upgrade whose first frame is broken is an opened WebSocket that says why it stopped") {
  http::Http1Connection c;
  const std::string req = "GET /ws HTTP/1.1\r\nHost: a.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  const std::string resp = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
  const auto bytes = [](const std::string& s) {
    return std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
  };
  c.on_bytes(true, bytes(req));
  c.on_bytes(false, bytes(resp));
  c.on_bytes(true, std::vector<std::uint8_t>{0x80, 0x80, 0, 0, 0, 0});  // a continuation of nothing
  const auto& e = c.exchanges().at(0);
  CHECK(e.ws.opened);
  CHECK(e.ws.messages[0] == 0);
  CHECK(std::string(e.ws.stopped) == "malformed");
  http::Http1Connection plain;  // no upgrade: no WebSocket
  plain.on_bytes(true, bytes("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n"));
  CHECK_FALSE(plain.exchanges().at(0).ws.opened);
}

}  // TEST_SUITE
