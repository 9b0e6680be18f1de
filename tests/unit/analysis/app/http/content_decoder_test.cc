// Content decoding of HTTP bodies (analysis/app/http/content_decoder.h) and the event-stream
// counter: each coding round-trips data made by the library's own encoder, fed in small pieces
// as TCP would deliver it; bombs, truncation, garbage and unknown codings stop with their reason.
#include <brotli/encode.h>
#include <doctest/doctest.h>
#include <zlib.h>
#include <zstd.h>

#include <memory>
#include <string>
#include <vector>

#include "analysis/app/http/content_decoder.h"
#include "analysis/app/http/http1_connection.h"
#include "analysis/app/http/http2_connection.h"
#include "zlib_encode.h"

namespace http = flowaudit::analysis::http;
using Bytes = std::vector<std::uint8_t>;
using flowaudit::test::zlib_encode;

namespace {

Bytes text_body(std::size_t n) {
  Bytes b;
  for (std::size_t i = 0; b.size() < n; ++i) {
    const std::string piece = "{\"role\":\"user\",\"content\":\"message " + std::to_string(i) + "\"},";
    b.insert(b.end(), piece.begin(), piece.end());
  }
  b.resize(n);
  return b;
}


Bytes brotli_encode(const Bytes& in) {
  std::size_t n = BrotliEncoderMaxCompressedSize(in.size()) + 64;
  Bytes out(n);
  REQUIRE(BrotliEncoderCompress(5, 22, BROTLI_MODE_GENERIC, in.size(), in.data(), &n, out.data()) == BROTLI_TRUE);
  out.resize(n);
  return out;
}

Bytes zstd_encode(const Bytes& in) {
  Bytes out(ZSTD_compressBound(in.size()));
  const std::size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
  REQUIRE_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

struct Decoded {
  Bytes bytes;
  http::DecodeState state = http::DecodeState::kIdentity;
};

Decoded decode(std::string_view coding, const Bytes& coded, std::size_t piece = 7, bool finish = true) {
  Decoded r;
  auto dec = http::ContentDecoder::make(coding);
  REQUIRE(dec != nullptr);
  for (std::size_t i = 0; i < coded.size(); i += piece) {
    const std::size_t n = std::min(piece, coded.size() - i);
    dec->feed(std::span<const std::uint8_t>(coded.data() + i, n), [](void* c, std::span<const std::uint8_t> out) {
      auto* b = static_cast<Bytes*>(c);
      b->insert(b->end(), out.begin(), out.end());
    }, &r.bytes);
  }
  if (finish) dec->finish();
  r.state = dec->state();
  return r;
}

}  // namespace

TEST_SUITE("http") {

TEST_CASE("content decoding: gzip, deflate (zlib and raw), br and zstd round-trip in small pieces") {
  const Bytes body = text_body(100'000);
  for (const auto& item : std::vector<std::pair<std::string, Bytes>>{
           {"gzip", zlib_encode(body, 15 + 16)},
           {"x-gzip", zlib_encode(body, 15 + 16)},
           {"deflate", zlib_encode(body, 15)},
           {"deflate", zlib_encode(body, -15)},  // raw deflate, as some servers send it
           {"br", brotli_encode(body)},
           {" ZSTD ", zstd_encode(body)}}) {
    const auto& coding = item.first;  // not structured bindings: clang 14 cannot capture them
    const auto& coded = item.second;
    CAPTURE(coding);
    const Decoded d = decode(coding, coded);
    CHECK(d.state == http::DecodeState::kDone);
    CHECK(d.bytes == body);
  }
}

TEST_CASE("content decoding: concatenated gzip members and zstd frames are one body") {
  const Bytes a = text_body(5000);
  const Bytes b = text_body(3000);
  Bytes both_a_b = a;
  both_a_b.insert(both_a_b.end(), b.begin(), b.end());
  for (const auto& item : std::vector<std::pair<std::string, Bytes (*)(const Bytes&)>>{
           {"gzip", [](const Bytes& x) { return zlib_encode(x, 15 + 16); }}, {"zstd", &zstd_encode}}) {
    const auto& coding = item.first;  // not structured bindings: clang 14 cannot capture them
    const auto& enc = item.second;
    CAPTURE(coding);
    Bytes coded = enc(a);
    const Bytes second = enc(b);
    coded.insert(coded.end(), second.begin(), second.end());
    const Decoded d = decode(coding, coded, 1000);
    CHECK(d.state == http::DecodeState::kDone);
    CHECK(d.bytes == both_a_b);
  }
}

TEST_CASE("content decoding: no coding, unknown and chained codings") {
  CHECK(http::ContentDecoder::make("") == nullptr);
  CHECK(http::ContentDecoder::make("identity") == nullptr);
  CHECK(http::ContentDecoder::make("compress")->state() == http::DecodeState::kUnsupported);
  CHECK(http::ContentDecoder::make("gzip, br")->state() == http::DecodeState::kUnsupported);
  const Decoded d = decode("dcb", text_body(100));
  CHECK(d.state == http::DecodeState::kUnsupported);
  CHECK(d.bytes.empty());
}

TEST_CASE("content decoding: a body cut short is truncated, garbage is malformed") {
  const Bytes body = text_body(20'000);
  for (const auto& item : std::vector<std::pair<std::string, Bytes>>{
           {"gzip", zlib_encode(body, 15 + 16)}, {"br", brotli_encode(body)}, {"zstd", zstd_encode(body)}}) {
    const auto& coding = item.first;  // not structured bindings: clang 14 cannot capture them
    const auto& coded = item.second;
    CAPTURE(coding);
    const Bytes half(coded.begin(), coded.begin() + static_cast<std::ptrdiff_t>(coded.size() / 2));
    const Decoded d = decode(coding, half);
    CHECK(d.state == http::DecodeState::kTruncated);
    CHECK(d.bytes.size() < body.size());
    const Decoded g = decode(coding, text_body(300));
    CHECK(g.state == http::DecodeState::kMalformed);
  }
}

TEST_CASE("content decoding: a decompression bomb stops at the ratio limit, not in memory") {
  const Bytes zeros(8u << 20, 0);  // 8 MiB of zeros: thousands to one in every coding here
  for (const auto& item : std::vector<std::pair<std::string, Bytes>>{
           {"br", brotli_encode(zeros)}, {"zstd", zstd_encode(zeros)}}) {
    const auto& coding = item.first;  // not structured bindings: clang 14 cannot capture them
    const auto& coded = item.second;
    CAPTURE(coding);
    CAPTURE(coded.size());
    const Decoded d = decode(coding, coded, coded.size());
    CHECK(d.state == http::DecodeState::kLimit);
    CHECK(d.bytes.size() <= 2u << 20);  // stopped just past the grace, not at 8 MiB
  }
  // A highly compressible body under the ratio is decoded whole.
  const Bytes text = text_body(3u << 20);
  CHECK(decode("gzip", zlib_encode(text, 15 + 16), 65536).state == http::DecodeState::kDone);
}

TEST_CASE("content decoding: the number of live decoders is capped") {
  std::vector<std::unique_ptr<http::ContentDecoder>> live;
  const int before = http::ContentDecoder::live();
  for (int i = before; i < http::ContentDecoder::kMaxLiveDecoders; ++i) live.push_back(http::ContentDecoder::make("gzip"));
  CHECK(live.back()->state() == http::DecodeState::kDecoding);
  CHECK(http::ContentDecoder::make("br")->state() == http::DecodeState::kLimit);
  live.pop_back();
  CHECK(http::ContentDecoder::make("br")->state() == http::DecodeState::kDecoding);
  live.clear();
  CHECK(http::ContentDecoder::live() == before);
}

TEST_CASE("event stream: events end at a blank line and count their data bytes") {
  http::SseCounter c;
  const std::string s = ": comment\n"
                        "event: delta\r\ndata: {\"t\":\"Hel\"}\r\n\r\n"  // 11 data bytes
                        "data:lo\ndata\n\n"                              // 2 + 0
                        "id: 7\n\n"                                      // no data: not an event
                        "data: x\rdata: yz\r\r"                          // CR line ends: 1 + 2
                        "data: tail";                                    // not dispatched: no blank line
  for (const char ch : s) c.feed(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(&ch), 1));
  CHECK(c.events == 3);
  CHECK(c.data_bytes == 16);
}

}  // TEST_SUITE

TEST_SUITE("http") {

TEST_CASE("keep budget: a connection keeps at most 1 MiB of request bodies; sizes stay whole") {
  http::Http1Connection c;
  const std::string body(70 * 1024, 'x');
  const std::string req = "POST /api/v0/chat/completion HTTP/1.1\r\nHost: chat.deepseek.com\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body;
  for (int i = 0; i < 20; ++i) {
    c.on_bytes(true, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(req.data()), req.size()));
  }
  const auto& ex = c.exchanges();
  REQUIRE(ex.size() == 20);
  std::size_t kept = 0;
  for (std::size_t i = 0; i < ex.size(); ++i) {
    CAPTURE(i);
    CHECK(ex[i].request_body_bytes == body.size());
    CHECK(ex[i].request_body_cut);  // 64 KiB per request at most, then the connection's 1 MiB
    kept += ex[i].request_body.size();
    CHECK(ex[i].request_body.size() == (i < 16 ? http::Exchange::kMaxKeptBody : 0));
  }
  CHECK(kept == http::KeepBudget::kPerFlow);
}

}  // TEST_SUITE

namespace {

Bytes h2_frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream, const Bytes& payload) {
  Bytes f;
  f.reserve(9 + payload.size());  // built byte by byte: GCC 12 misreports inserts after a braced init
  for (const int shift : {16, 8, 0}) f.push_back(static_cast<std::uint8_t>(payload.size() >> shift));
  f.push_back(type);
  f.push_back(flags);
  for (const int shift : {24, 16, 8, 0}) f.push_back(static_cast<std::uint8_t>(stream >> shift));
  for (const std::uint8_t b : payload) f.push_back(b);
  return f;
}

void append_literal(Bytes& b, std::uint8_t first, const std::string& name, const std::string& value) {
  b.push_back(first);  // 0x00: without indexing, 0x40: with incremental indexing (new name)
  b.push_back(static_cast<std::uint8_t>(name.size()));
  b.insert(b.end(), name.begin(), name.end());
  b.push_back(static_cast<std::uint8_t>(value.size()));
  b.insert(b.end(), value.begin(), value.end());
}

}  // namespace

TEST_SUITE("http") {

TEST_CASE("HTTP/2: a PUSH_PROMISE's header block keeps the server's HPACK table in step") {
  http::Http2Connection c;
  const std::string preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  Bytes client(preface.begin(), preface.end());
  Bytes req;
  for (const auto& item : std::vector<std::pair<std::string, std::string>>{
           {":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":authority", "chat.deepseek.com"}}) {
    const auto& n = item.first;  // not structured bindings: clang 14 cannot capture them
    const auto& v = item.second;
    append_literal(req, 0x00, n, v);
  }
  const Bytes h = h2_frame(1, 0x5, 1, req);  // END_STREAM | END_HEADERS
  client.insert(client.end(), h.begin(), h.end());
  c.on_bytes(true, client);
  // The server promises stream 2; its block adds "content-type: text/css" to the server's table.
  Bytes promise{0, 0, 0, 2};
  append_literal(promise, 0x00, ":method", "GET");
  append_literal(promise, 0x00, ":path", "/style.css");
  append_literal(promise, 0x40, "content-type", "text/css");
  Bytes server = h2_frame(5, 0x4, 1, promise);
  // The response on stream 1: :status 200 (static 8) and the dynamic entry 62 (the promise's).
  const Bytes resp = h2_frame(1, 0x5, 1, Bytes{0x88, 0xbe});
  server.insert(server.end(), resp.begin(), resp.end());
  c.on_bytes(false, server);
  CHECK(*c.stopped(false) == '\0');
  REQUIRE(c.exchanges().size() == 1);  // the pushed stream is not a request the app made
  CHECK(c.exchanges()[0].status == 200);
  CHECK(c.exchanges()[0].response_content_type == "text/css");
}

}  // TEST_SUITE
