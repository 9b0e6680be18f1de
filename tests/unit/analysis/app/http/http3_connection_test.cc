// The HTTP/3 reader (analysis/app/http/http3_connection.h): header blocks are made by nghttp3's own
// QPACK encoder with a dynamic table (so the encoder stream is exercised), frames and streams are
// built here, and everything is fed as a QUIC reassembly would hand it over: stream by stream, in
// pieces, in capture order.
#include <doctest/doctest.h>
#include <nghttp3/nghttp3.h>
#include <zlib.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "analysis/app/http/http3_connection.h"
#include "zlib_encode.h"

namespace http = flowaudit::analysis::http;
using Bytes = std::vector<std::uint8_t>;
using Fields = std::vector<std::pair<std::string, std::string>>;

namespace {

void put_varint(Bytes& b, std::uint64_t v) {  // RFC 9000 §16, shortest form
  if (v < 64) {
    b.push_back(static_cast<std::uint8_t>(v));
  } else if (v < 16384) {
    b.push_back(static_cast<std::uint8_t>(0x40 | (v >> 8)));
    b.push_back(static_cast<std::uint8_t>(v));
  } else if (v < (1u << 30)) {
    for (const int shift : {24, 16, 8, 0}) b.push_back(static_cast<std::uint8_t>((shift == 24 ? 0x80 : 0) | (v >> shift)));
  } else {
    for (const int shift : {56, 48, 40, 32, 24, 16, 8, 0}) {
      b.push_back(static_cast<std::uint8_t>((shift == 56 ? 0xc0 : 0) | (v >> shift)));
    }
  }
}

Bytes frame(std::uint64_t type, const Bytes& payload) {
  Bytes f;
  put_varint(f, type);
  put_varint(f, payload.size());
  for (const std::uint8_t b : payload) f.push_back(b);
  return f;
}

Bytes bytes_of(const std::string& s) { return Bytes(s.begin(), s.end()); }

void append(Bytes& to, const Bytes& from) {
  for (const std::uint8_t b : from) to.push_back(b);
}

Bytes gzip(const Bytes& in) { return flowaudit::test::zlib_encode(in, 15 + 16); }

// One side's QPACK encoder (nghttp3's), with a dynamic table of `capacity` bytes; what it writes on
// its encoder stream piles up in `stream` (the stream type byte first).
struct Encoder {
  nghttp3_qpack_encoder* enc = nullptr;
  Bytes stream{0x02};
  std::size_t sent = 0;  // of `stream`, handed to the reader so far

  explicit Encoder(std::size_t capacity) {
    REQUIRE(nghttp3_qpack_encoder_new(&enc, capacity, nghttp3_mem_default()) == 0);
    nghttp3_qpack_encoder_set_max_dtable_capacity(enc, capacity);
    nghttp3_qpack_encoder_set_max_blocked_streams(enc, 100);
  }
  ~Encoder() { nghttp3_qpack_encoder_del(enc); }
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  // A HEADERS frame for the fields.
  Bytes headers(std::int64_t stream_id, const Fields& fields) {
    std::vector<nghttp3_nv> nva;
    for (const auto& [n, v] : fields) {
      nghttp3_nv nv{};
      nv.name = reinterpret_cast<std::uint8_t*>(const_cast<char*>(n.data()));
      nv.namelen = n.size();
      nv.value = reinterpret_cast<std::uint8_t*>(const_cast<char*>(v.data()));
      nv.valuelen = v.size();
      nva.push_back(nv);
    }
    nghttp3_buf pbuf, rbuf, ebuf;
    nghttp3_buf_init(&pbuf);
    nghttp3_buf_init(&rbuf);
    nghttp3_buf_init(&ebuf);
    REQUIRE(nghttp3_qpack_encoder_encode(enc, &pbuf, &rbuf, &ebuf, stream_id, nva.data(), nva.size()) == 0);
    Bytes block(pbuf.pos, pbuf.last);
    block.insert(block.end(), rbuf.pos, rbuf.last);
    stream.insert(stream.end(), ebuf.pos, ebuf.last);
    for (nghttp3_buf* b : {&pbuf, &rbuf, &ebuf}) nghttp3_buf_free(b, nghttp3_mem_default());
    return frame(0x01, block);
  }

  // The encoder-stream bytes not yet handed over.
  Bytes pending() {
    Bytes b(stream.begin() + static_cast<std::ptrdiff_t>(sent), stream.end());
    sent = stream.size();
    return b;
  }
};

// A control stream: its type, then SETTINGS with SETTINGS_QPACK_MAX_TABLE_CAPACITY (and
// SETTINGS_QPACK_BLOCKED_STREAMS, and a grease setting).
Bytes control(std::uint64_t capacity) {
  Bytes settings;
  for (const std::uint64_t v : {std::uint64_t{0x01}, capacity, std::uint64_t{0x07}, std::uint64_t{100},
                                std::uint64_t{0x21 + 0x1f * 3}, std::uint64_t{77}}) {
    put_varint(settings, v);
  }
  Bytes c{0x00};
  append(c, frame(0x04, settings));
  return c;
}

// Client streams: control 2, encoder 6, decoder 10; server: 3, 7, 11.
struct Conversation {
  http::Http3Connection c;
  Encoder client{4096};
  Encoder server{4096};

  Conversation() {  // both sides announce a 4 KiB table
    c.on_stream(true, 2, control(4096), false);
    c.on_stream(false, 3, control(4096), false);
  }
  void client_encoder() {
    const Bytes b = client.pending();
    if (!b.empty()) c.on_stream(true, 6, b, false);
  }
  void server_encoder() {
    const Bytes b = server.pending();
    if (!b.empty()) c.on_stream(false, 7, b, false);
  }
};

const Fields kGet = {{":method", "GET"},
                     {":scheme", "https"},
                     {":authority", "chat.deepseek.com"},
                     {":path", "/api/v0/users/current"},
                     {"user-agent", "flowaudit-test/1"},
                     {"x-app-version", "20241129.1"}};

void feed_in_pieces(http::Http3Connection& c, bool from_client, std::uint64_t id, const Bytes& b, std::size_t piece,
                    bool fin) {
  for (std::size_t i = 0; i < b.size(); i += piece) {
    const std::size_t n = std::min(piece, b.size() - i);
    c.on_stream(from_client, id, std::span<const std::uint8_t>(b.data() + i, n), fin && i + n == b.size());
  }
}

}  // namespace

TEST_SUITE("http") {

TEST_CASE("HTTP/3: a GET and its response, header blocks through both dynamic tables") {
  Conversation t;
  Bytes req = t.client.headers(0, kGet);
  t.client_encoder();
  CHECK(t.client.stream.size() > 1);  // the encoder did use its table
  t.c.on_stream(true, 0, req, true);
  Bytes resp = t.server.headers(0, {{":status", "200"}, {"content-type", "application/json"}, {"server", "test"}});
  append(resp, frame(0x00, bytes_of("{\"id\":1}")));
  t.server_encoder();
  t.c.on_stream(false, 0, resp, true);
  // A second request on stream 4 reuses the table's entries.
  t.c.on_stream(true, 4, t.client.headers(4, kGet), true);
  t.client_encoder();

  CHECK(*t.c.stopped() == '\0');
  REQUIRE(t.c.exchanges().size() == 2);
  for (const http::Exchange& e : t.c.exchanges()) {
    CHECK(e.method == "GET");
    CHECK(e.authority == "chat.deepseek.com");
    CHECK(e.path == "/api/v0/users/current");
    CHECK(e.request_complete);
  }
  const http::Exchange& e = t.c.exchanges()[0];
  CHECK(e.status == 200);
  CHECK(e.response_content_type == "application/json");
  CHECK(e.response_body_bytes == 8);
  CHECK(e.response_complete);
  CHECK(t.c.dropped() == 0);
}

TEST_CASE("HTTP/3: a POST body over many calls, frame headers split byte by byte") {
  Conversation t;
  std::string body;
  for (int i = 0; body.size() < 40000; ++i) body += "{\"role\":\"user\",\"content\":\"message " + std::to_string(i) + "\"},";
  Bytes req = t.client.headers(0, {{":method", "POST"},
                                   {":scheme", "https"},
                                   {":authority", "api.example.com"},
                                   {":path", "/v1/chat"},
                                   {"content-type", "application/json"}});
  t.client_encoder();
  // The body in three DATA frames: 1-, 2- and 4-byte length varints.
  const Bytes all = bytes_of(body);
  append(req, frame(0x00, Bytes(all.begin(), all.begin() + 10)));
  append(req, frame(0x00, Bytes(all.begin() + 10, all.begin() + 1000)));
  append(req, frame(0x00, Bytes(all.begin() + 1000, all.end())));
  feed_in_pieces(t.c, true, 0, Bytes(req.begin(), req.begin() + 1100), 1, false);  // byte by byte
  feed_in_pieces(t.c, true, 0, Bytes(req.begin() + 1100, req.end()), 777, true);
  CHECK(*t.c.stopped() == '\0');
  REQUIRE(t.c.exchanges().size() == 1);
  const http::Exchange& e = t.c.exchanges()[0];
  CHECK(e.method == "POST");
  CHECK(e.request_content_type == "application/json");
  CHECK(e.request_body_bytes == body.size());
  CHECK(e.request_body == all);
  CHECK(e.request_complete);
  CHECK_FALSE(e.response_complete);
}

TEST_CASE("HTTP/3: gzip bodies are decoded in both directions") {
  Conversation t;
  std::string text;
  for (int i = 0; text.size() < 20000; ++i) text += "line " + std::to_string(i) + "\n";
  const Bytes plain = bytes_of(text);
  const Bytes coded = gzip(plain);
  Bytes req = t.client.headers(0, {{":method", "POST"}, {":scheme", "https"}, {":authority", "a.example"},
                                   {":path", "/upload"}, {"content-encoding", "gzip"}});
  append(req, frame(0x00, coded));
  t.client_encoder();
  feed_in_pieces(t.c, true, 0, req, 100, true);
  Bytes resp = t.server.headers(0, {{":status", "200"}, {"content-encoding", "gzip"}});
  append(resp, frame(0x00, coded));
  t.server_encoder();
  feed_in_pieces(t.c, false, 0, resp, 50, true);
  REQUIRE(t.c.exchanges().size() == 1);
  const http::Exchange& e = t.c.exchanges()[0];
  CHECK(e.request_content_encoding == "gzip");
  CHECK(e.request_body_bytes == coded.size());
  CHECK(e.request_body_decoded_bytes == plain.size());
  CHECK(e.request_body == plain);
  CHECK(e.request_decoding == http::DecodeState::kDone);
  CHECK(e.response_body_decoded_bytes == plain.size());
  CHECK(e.response_decoding == http::DecodeState::kDone);
  CHECK(http::ContentDecoder::live() == 0);
}

TEST_CASE("HTTP/3: a server-sent event stream is counted; a 1xx head does not end the response") {
  Conversation t;
  t.c.on_stream(true, 0, t.client.headers(0, kGet), true);
  t.client_encoder();
  Bytes resp = t.server.headers(0, {{":status", "103"}, {"link", "</style.css>; rel=preload"}});
  append(resp, t.server.headers(0, {{":status", "200"}, {"content-type", "text/event-stream; charset=utf-8"}}));
  append(resp, frame(0x00, bytes_of("data: {\"token\":\"Hel\"}\n\n")));
  append(resp, frame(0x00, bytes_of("data: {\"token\":\"lo\"}\n\ndata: [DONE]\n\n")));
  t.server_encoder();
  feed_in_pieces(t.c, false, 0, resp, 3, true);
  CHECK(*t.c.stopped() == '\0');
  REQUIRE(t.c.exchanges().size() == 1);
  const http::Exchange& e = t.c.exchanges()[0];
  CHECK(e.status == 200);
  CHECK(e.event_stream);
  CHECK(e.sse.events == 3);
  CHECK(e.response_complete);
}

TEST_CASE("HTTP/3: a blocked header block waits for the encoder stream, with what follows it") {
  Conversation t;
  Bytes req = t.client.headers(0, {{":method", "POST"}, {":scheme", "https"}, {":authority", "blocked.example"},
                                   {":path", "/later"}, {"content-type", "text/plain"}});
  append(req, frame(0x00, bytes_of("hello")));
  // The request stream comes first in capture order; the inserts it needs come after.
  t.c.on_stream(true, 0, Bytes(req.begin(), req.begin() + 3), false);
  t.c.on_stream(true, 0, Bytes(req.begin() + 3, req.end()), true);
  REQUIRE(t.c.exchanges().size() == 1);
  CHECK(t.c.exchanges()[0].method.empty());
  CHECK(t.c.exchanges()[0].request_body_bytes == 0);
  // The server answers before the client's encoder stream is read: still fine.
  t.c.on_stream(false, 0, t.server.headers(0, {{":status", "204"}}), true);
  t.server_encoder();
  const Bytes enc = t.client.pending();
  REQUIRE(enc.size() > 2);
  feed_in_pieces(t.c, true, 6, enc, 2, false);  // instructions split across calls
  CHECK(*t.c.stopped() == '\0');
  const http::Exchange& e = t.c.exchanges()[0];
  CHECK(e.method == "POST");
  CHECK(e.authority == "blocked.example");
  CHECK(e.path == "/later");
  CHECK(e.request_body == bytes_of("hello"));
  CHECK(e.request_complete);
  CHECK(e.status == 204);
  CHECK(e.response_complete);
}

TEST_CASE("HTTP/3: a blocked block whose encoder stream is lost stops with qpack") {
  Conversation t;
  t.c.on_stream(true, 6, t.client.pending(), false);  // the stream type only
  t.c.on_stream(true, 0, t.client.headers(0, kGet), true);
  t.c.on_stream_lost(true, 6);
  CHECK(std::string(t.c.stopped()) == "qpack");
  REQUIRE(t.c.exchanges().size() == 1);
  CHECK(t.c.exchanges()[0].method.empty());
}

TEST_CASE("HTTP/3: what blocked streams hold is bounded") {
  SUBCASE("per stream: a blocked head and more body than kMaxHeldPerStream") {
    Conversation t;
    Bytes req = t.client.headers(0, kGet);
    append(req, frame(0x00, Bytes(http::Http3Connection::kMaxHeldPerStream, 'b')));
    t.c.on_stream(true, 0, req, true);
    CHECK(std::string(t.c.stopped()) == "limit");
    t.client_encoder();  // too late for it
    REQUIRE(t.c.exchanges().size() == 1);
    CHECK(t.c.exchanges()[0].method.empty());
  }
  SUBCASE("streams: past kMaxBlockedStreams blocked at once") {
    Conversation t;
    nghttp3_qpack_encoder_set_max_blocked_streams(t.client.enc, 1000);
    for (std::size_t i = 0; i <= http::Http3Connection::kMaxBlockedStreams; ++i) {
      Fields f = kGet;
      f[2].second = "h" + std::to_string(i) + ".example";  // a new insert each time: every block waits
      t.c.on_stream(true, 4 * i, t.client.headers(static_cast<std::int64_t>(4 * i), f), true);
      CHECK(*t.c.stopped() == (i < http::Http3Connection::kMaxBlockedStreams ? '\0' : 'l'));
    }
    t.client_encoder();
    REQUIRE(t.c.exchanges().size() == http::Http3Connection::kMaxBlockedStreams + 1);
    CHECK(t.c.exchanges().front().authority == "h0.example");  // the ones held are read
    CHECK(t.c.exchanges().back().method.empty());
  }
}

TEST_CASE("HTTP/3: grease and unknown frames and stream types are skipped; pushes are counted") {
  Conversation t;
  // Unknown unidirectional stream types, grease included, with bytes after them.
  Bytes odd;
  put_varint(odd, 0x21 + 0x1f * 7);
  append(odd, bytes_of("anything at all"));
  t.c.on_stream(true, 14, odd, true);
  t.c.on_stream(false, 15, Bytes{0x03, 0x80, 0x01}, false);  // the server's QPACK decoder stream
  t.c.on_stream(false, 19, Bytes{0x01, 0x00, 0x01, 0x05, 'x'}, true);  // a push stream
  Bytes req;
  append(req, frame(0x21 + 0x1f * 2, bytes_of("grease")));  // before the head
  append(req, t.client.headers(0, kGet));
  append(req, frame(0x02, Bytes{1, 2, 3}));  // HTTP/2's PRIORITY type, reserved
  append(req, frame(0x21, Bytes(300, 'g')));
  t.client_encoder();
  feed_in_pieces(t.c, true, 0, req, 5, true);
  Bytes resp;
  Bytes promise;
  put_varint(promise, 0);  // push ID, then a field section the reader does not decode
  append(promise, Bytes{0x00, 0x00, 0xd1});
  append(resp, frame(0x05, promise));  // PUSH_PROMISE
  append(resp, t.server.headers(0, {{":status", "200"}}));
  append(resp, frame(0x0d, Bytes{0x00}));  // MAX_PUSH_ID is a control frame; here unknown, skipped
  append(resp, frame(0x00, bytes_of("ok")));
  append(resp, frame(0x21 + 0x1f * 1000, Bytes{}));  // an empty grease frame
  t.server_encoder();
  t.c.on_stream(false, 0, resp, true);
  // More frames on the control stream: GOAWAY and grease.
  Bytes more = frame(0x07, Bytes{0x00});
  append(more, frame(0x21 + 0x1f, Bytes(10, 0)));
  t.c.on_stream(true, 2, more, false);
  CHECK(*t.c.stopped() == '\0');
  CHECK(t.c.pushes() == 1);
  REQUIRE(t.c.exchanges().size() == 1);
  const http::Exchange& e = t.c.exchanges()[0];
  CHECK(e.method == "GET");
  CHECK(e.status == 200);
  CHECK(e.response_body_bytes == 2);
  CHECK(e.request_complete);
  CHECK(e.response_complete);
}

TEST_CASE("HTTP/3: malformed frames stop their stream only") {
  SUBCASE("a DATA frame whose length runs past the stream's end") {
    Conversation t;
    Bytes req = t.client.headers(0, kGet);
    t.client_encoder();
    req.push_back(0x00);  // DATA
    for (int k = 0; k < 8; ++k) req.push_back(0xff);  // a length of 2^62 - 1
    append(req, bytes_of("short"));
    t.c.on_stream(true, 0, req, true);
    CHECK(std::string(t.c.stopped()) == "malformed");
    REQUIRE(t.c.exchanges().size() == 1);
    CHECK(t.c.exchanges()[0].method == "GET");  // kept as far as it was read
    CHECK(t.c.exchanges()[0].request_body_bytes == 5);
    CHECK_FALSE(t.c.exchanges()[0].request_complete);
    // Another stream is still read.
    t.c.on_stream(true, 4, t.client.headers(4, kGet), true);
    t.client_encoder();
    REQUIRE(t.c.exchanges().size() == 2);
    CHECK(t.c.exchanges()[1].request_complete);
  }
  SUBCASE("a frame header cut by the stream's end") {
    Conversation t;
    Bytes req = t.client.headers(0, kGet);
    t.client_encoder();
    req.push_back(0x00);
    req.push_back(0x40);  // a 2-byte length varint, only its first byte
    t.c.on_stream(true, 0, req, true);
    CHECK(std::string(t.c.stopped()) == "malformed");
    CHECK_FALSE(t.c.exchanges()[0].request_complete);
  }
  SUBCASE("DATA before the head; DATA on a control stream; a server-initiated bidirectional stream") {
    Conversation t;
    t.c.on_stream(true, 0, frame(0x00, bytes_of("body")), true);
    CHECK(std::string(t.c.stopped()) == "malformed");
    CHECK(t.c.exchanges().empty());
    http::Http3Connection c2;
    c2.on_stream(true, 2, Bytes{0x00, 0x00, 0x01, 0x00}, false);
    CHECK(std::string(c2.stopped()) == "malformed");
    http::Http3Connection c3;
    c3.on_stream(false, 1, frame(0x01, Bytes{0, 0}), false);
    CHECK(std::string(c3.stopped()) == "malformed");
  }
  SUBCASE("a header block QPACK cannot decode stops that sender's decoding") {
    Conversation t;
    t.c.on_stream(true, 0, frame(0x01, Bytes{0x00, 0x00, 0xff}), true);  // an indexed line cut short
    CHECK(std::string(t.c.stopped()) == "qpack");
    t.c.on_stream(true, 4, t.client.headers(4, kGet), true);
    REQUIRE(t.c.exchanges().size() == 2);
    CHECK(t.c.exchanges()[1].method.empty());
  }
}

TEST_CASE("HTTP/3: a HEADERS frame over the limit stops its stream") {
  Conversation t;
  Bytes big;
  put_varint(big, 0x01);
  put_varint(big, http::Http3Connection::kMaxHeaderFrame + 1);
  big.resize(big.size() + 100, 0);
  t.c.on_stream(true, 0, big, false);
  CHECK(std::string(t.c.stopped()) == "limit");
  CHECK(t.c.exchanges().empty());
  t.c.on_stream(true, 0, Bytes(1000, 0), true);  // the rest of it: not read
  // A large HEADERS frame under the limit is read (a long cookie and path).
  const Fields big_get = {{":method", "GET"}, {":scheme", "https"}, {":authority", "a.example"},
                          {":path", "/" + std::string(3000, 'p')}, {"cookie", std::string(30000, 'c')}};
  const Bytes ok = t.client.headers(4, big_get);
  t.client_encoder();
  t.c.on_stream(true, 4, ok, true);
  REQUIRE(t.c.exchanges().size() == 1);
  CHECK(t.c.exchanges()[0].method == "GET");
  CHECK(t.c.exchanges()[0].path.size() == http::Exchange::kMaxField);  // cut, as HTTP/2 cuts it
}

TEST_CASE("HTTP/3: past kMaxStreams requests are counted, not kept") {
  Conversation t;
  const std::size_t n = http::Http3Connection::kMaxStreams + 3;
  for (std::size_t i = 0; i < n; ++i) {
    const auto id = static_cast<std::uint64_t>(4 * i);
    t.c.on_stream(true, id, t.client.headers(static_cast<std::int64_t>(id), kGet), true);
    t.client_encoder();
    t.c.on_stream(false, id, t.server.headers(static_cast<std::int64_t>(id), {{":status", "200"}}), true);
    t.server_encoder();
  }
  CHECK(t.c.exchanges().size() == http::Http3Connection::kMaxStreams);
  CHECK(t.c.dropped() == 3);
  CHECK(t.c.exchanges().back().status == 200);
}

TEST_CASE("HTTP/3: past kMaxOpenStreams streams open at once, no new stream is read") {
  http::Http3Connection c;
  for (std::uint64_t i = 0; i < http::Http3Connection::kMaxOpenStreams; ++i) {
    c.on_stream(true, 4 * i + 2, Bytes{0x21, 'x'}, false);  // unknown unidirectional streams, never ended
  }
  CHECK(*c.stopped() == '\0');
  c.on_stream(true, 4 * http::Http3Connection::kMaxOpenStreams + 2, Bytes{0x21}, false);
  CHECK(std::string(c.stopped()) == "limit");
}

TEST_CASE("HTTP/3: a stream lost in the middle of a DATA frame keeps what was read") {
  Conversation t;
  std::string text(50000, 'a');
  for (std::size_t i = 0; i < text.size(); i += 7) text[i] = static_cast<char>('a' + i % 26);
  const Bytes coded = gzip(bytes_of(text));
  Bytes req = t.client.headers(0, {{":method", "PUT"}, {":scheme", "https"}, {":authority", "a.example"},
                                   {":path", "/f"}, {"content-encoding", "gzip"}});
  append(req, frame(0x00, coded));
  t.client_encoder();
  const std::size_t cut = req.size() - coded.size() / 2;
  t.c.on_stream(true, 0, Bytes(req.begin(), req.begin() + static_cast<std::ptrdiff_t>(cut)), false);
  t.c.on_stream_lost(true, 0);
  CHECK(*t.c.stopped() == '\0');  // the caller's gap, not a reading failure
  // The response still finds its exchange.
  t.c.on_stream(false, 0, t.server.headers(0, {{":status", "201"}}), true);
  t.server_encoder();
  REQUIRE(t.c.exchanges().size() == 1);
  const http::Exchange& e = t.c.exchanges()[0];
  CHECK(e.method == "PUT");
  CHECK(e.request_body_bytes == coded.size() - coded.size() / 2);
  CHECK(e.request_decoding == http::DecodeState::kTruncated);
  CHECK_FALSE(e.request_complete);
  CHECK(e.status == 201);
  CHECK(http::ContentDecoder::live() == 0);
}

TEST_CASE("HTTP/3: trailers do not overwrite the request's fields") {
  Conversation t;
  Bytes req = t.client.headers(0, {{":method", "POST"}, {":scheme", "https"}, {":authority", "a.example"},
                                   {":path", "/grpc.Service/Call"}, {"content-type", "application/grpc"}});
  append(req, frame(0x00, bytes_of("12345")));
  append(req, t.client.headers(0, {{"content-type", "text/evil"}, {":path", "/evil"}, {"x-checksum", "abc"}}));
  t.client_encoder();
  t.c.on_stream(true, 0, req, true);
  Bytes resp = t.server.headers(0, {{":status", "200"}, {"content-type", "application/grpc"}});
  append(resp, frame(0x00, bytes_of("xy")));
  append(resp, t.server.headers(0, {{"grpc-status", "0"}, {"content-type", "text/evil"}}));
  t.server_encoder();
  t.c.on_stream(false, 0, resp, true);
  CHECK(*t.c.stopped() == '\0');
  const http::Exchange& e = t.c.exchanges()[0];
  CHECK(e.path == "/grpc.Service/Call");
  CHECK(e.request_content_type == "application/grpc");
  CHECK(e.request_body_bytes == 5);
  CHECK(e.request_complete);
  CHECK(e.response_content_type == "application/grpc");
  CHECK(e.response_body_bytes == 2);
  CHECK(e.response_complete);
  // DATA after trailers is malformed.
  Bytes late = t.client.headers(4, kGet);
  append(late, frame(0x00, bytes_of("a")));
  append(late, t.client.headers(4, {{"x-t", "1"}}));
  append(late, frame(0x00, bytes_of("b")));
  t.client_encoder();
  t.c.on_stream(true, 4, late, true);
  CHECK(std::string(t.c.stopped()) == "malformed");
  CHECK(t.c.exchanges()[1].request_body_bytes == 1);
}

TEST_CASE("HTTP/3: without SETTINGS the decoder takes the largest table; late SETTINGS remake an unused one") {
  SUBCASE("no SETTINGS seen: a 64 KiB table") {
    http::Http3Connection c;
    Encoder client(http::Http3Connection::kMaxTableCapacity);
    c.on_stream(true, 0, client.headers(0, kGet), true);
    c.on_stream(true, 6, client.pending(), false);
    CHECK(*c.stopped() == '\0');
    REQUIRE(c.exchanges().size() == 1);
    CHECK(c.exchanges()[0].path == "/api/v0/users/current");
  }
  SUBCASE("a blocked block read before the server's SETTINGS, decoded with the announced capacity") {
    // A 1 KiB table holds 32 entries: past 64 inserts a block's Required Insert Count wraps
    // (RFC 9204 §4.5.1.1), and only a decoder made with the announced capacity reads it right.
    http::Http3Connection c;
    Encoder client(1024);
    auto get = [](std::size_t i) {
      Fields f = kGet;
      f[2].second = "h" + std::to_string(i) + ".example";  // nghttp3 inserts each new :authority
      return f;
    };
    c.on_stream(true, 0, client.headers(0, get(0)), true);
    c.on_stream(false, 3, control(1024), false);
    c.on_stream(true, 6, client.pending(), false);
    for (std::size_t i = 1; i < 150; ++i) {
      c.on_stream(true, 4 * i, client.headers(static_cast<std::int64_t>(4 * i), get(i)), true);
      const Bytes enc = client.pending();
      c.on_stream(true, 6, enc, false);
      nghttp3_qpack_encoder_ack_everything(client.enc);
    }
    CHECK(*c.stopped() == '\0');
    REQUIRE(c.exchanges().size() == 150);
    for (std::size_t i = 0; i < 150; ++i) {
      CAPTURE(i);
      CHECK(c.exchanges()[i].authority == "h" + std::to_string(i) + ".example");
    }
  }
}

}  // TEST_SUITE
