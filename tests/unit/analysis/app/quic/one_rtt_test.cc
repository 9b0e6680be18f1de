#include <doctest/doctest.h>
#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "analysis/app/quic/frames.h"
#include "analysis/app/quic/one_rtt.h"
#include "analysis/app/quic/quic_decryptor.h"
#include "analysis/decrypt/key_log.h"
#include "analysis/decrypt/record_opener.h"
#include "analysis/app/quic/quic_initial.h"
#include "initial_sealer.h"

namespace q = flowaudit::analysis::quic;
namespace dec = flowaudit::analysis::decrypt;
using flowaudit::test::from_hex;
using Bytes = std::vector<std::uint8_t>;

namespace {

// A test-side sealer for 1-RTT packets with AES-128-GCM (RFC 9001 §5.3, §5.4.3), so that the opener
// is checked against packets built the other way round; the ChaCha20 path is pinned by the RFC's
// own vector below and the AES paths by the real ngtcp2 captures of the end-to-end tests.
struct Sealer {
  std::array<std::uint8_t, 16> key{};
  std::array<std::uint8_t, 12> iv{};
  std::array<std::uint8_t, 16> hp{};
  Bytes secret;

  explicit Sealer(const Bytes& s, bool keep_hp = false, const std::array<std::uint8_t, 16>* old_hp = nullptr)
      : secret(s) {
    REQUIRE(dec::expand_label("SHA256", secret, "quic key", key));
    REQUIRE(dec::expand_label("SHA256", secret, "quic iv", iv));
    if (keep_hp && old_hp != nullptr) {
      hp = *old_hp;
    } else {
      REQUIRE(dec::expand_label("SHA256", secret, "quic hp", hp));
    }
  }
  Sealer next() const {
    Bytes n(32);
    REQUIRE(dec::expand_label("SHA256", secret, "quic ku", n));
    return Sealer(n, true, &hp);
  }

  Bytes seal(const Bytes& dcid, std::uint64_t pn, bool phase, const Bytes& frames) const {
    Bytes header = {static_cast<std::uint8_t>(phase ? 0x45 : 0x41)};  // 2-byte packet number
    header.insert(header.end(), dcid.begin(), dcid.end());
    const std::size_t pn_offset = header.size();
    header.push_back(static_cast<std::uint8_t>(pn >> 8));
    header.push_back(static_cast<std::uint8_t>(pn));
    std::array<std::uint8_t, 12> nonce = iv;
    for (int i = 0; i < 8; ++i) nonce[11 - i] ^= static_cast<std::uint8_t>(pn >> (8 * i));
    Bytes body(frames.size() + 16);
    EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
    int len = 0;
    REQUIRE(EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), nullptr, key.data(), nonce.data()) == 1);
    REQUIRE(EVP_EncryptUpdate(c, nullptr, &len, header.data(), static_cast<int>(header.size())) == 1);
    REQUIRE(EVP_EncryptUpdate(c, body.data(), &len, frames.data(), static_cast<int>(frames.size())) == 1);
    REQUIRE(EVP_EncryptFinal_ex(c, body.data() + len, &len) == 1);
    REQUIRE(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, body.data() + frames.size()) == 1);
    EVP_CIPHER_CTX_free(c);
    Bytes packet = header;
    packet.insert(packet.end(), body.begin(), body.end());
    // Header protection: the sample starts 4 bytes after the packet number.
    std::array<std::uint8_t, 16> mask{};
    c = EVP_CIPHER_CTX_new();
    REQUIRE(EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), nullptr, hp.data(), nullptr) == 1);
    REQUIRE(EVP_EncryptUpdate(c, mask.data(), &len, packet.data() + pn_offset + 4, 16) == 1);
    EVP_CIPHER_CTX_free(c);
    packet[0] = static_cast<std::uint8_t>(packet[0] ^ (mask[0] & 0x1f));
    packet[pn_offset] ^= mask[1];
    packet[pn_offset + 1] ^= mask[2];
    return packet;
  }
};

Bytes varint(std::uint64_t v) {
  if (v < 64) return {static_cast<std::uint8_t>(v)};
  if (v < 16384) return {static_cast<std::uint8_t>(0x40 | (v >> 8)), static_cast<std::uint8_t>(v)};
  Bytes out = {static_cast<std::uint8_t>(0x80 | (v >> 24)), static_cast<std::uint8_t>(v >> 16),
               static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
  return out;
}

Bytes stream_frame(std::uint64_t id, std::uint64_t offset, const std::string& data, bool fin) {
  Bytes f = {static_cast<std::uint8_t>(0x08 | 0x04 | 0x02 | (fin ? 1 : 0))};
  for (const Bytes& v : {varint(id), varint(offset), varint(data.size())}) f.insert(f.end(), v.begin(), v.end());
  f.insert(f.end(), data.begin(), data.end());
  return f;
}

Bytes join(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

struct Recorder final : q::FrameVisitor, q::StreamSink {
  std::vector<q::StreamFrame> frames;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> resets;
  std::map<std::pair<bool, std::uint64_t>, std::string> streams;
  std::map<std::pair<bool, std::uint64_t>, bool> fin;
  std::map<std::pair<bool, std::uint64_t>, bool> lost;
  void on_stream(const q::StreamFrame& f) override { frames.push_back(f); }
  void on_reset(std::uint64_t id, std::uint64_t size) override { resets.emplace_back(id, size); }
  void on_stream(bool from_client, std::uint64_t id, std::span<const std::uint8_t> b, bool f) override {
    streams[{from_client, id}].append(b.begin(), b.end());
    if (f) fin[{from_client, id}] = true;
  }
  void on_stream_lost(bool from_client, std::uint64_t id) override { lost[{from_client, id}] = true; }
};

}  // namespace

TEST_CASE("1-RTT: the ChaCha20-Poly1305 short-header packet of RFC 9001 A.5 opens") {
  // RFC 9001 Appendix A.5: secret, the packet number 654360564 and a PING frame.
  const Bytes secret = from_hex("9ac312a7f877468ebe69422748ad00a15443f18203a07d6060f688f30f21632b");
  const Bytes packet = from_hex("4cfe4189655e5cd55c41f69080575d7999c25a5bfb");
  q::OneRttOpener o;
  REQUIRE(o.init(0x1303, 1, secret));
  std::vector<std::uint8_t> scratch;
  std::uint64_t pn = 0;
  std::span<const std::uint8_t> plain;
  bool update = false;
  REQUIRE(o.open_short(packet, 0, 654360563, scratch, pn, plain, update) == q::OpenStatus::kOk);
  CHECK(pn == 654360564);
  REQUIRE(plain.size() == 1);
  CHECK(plain[0] == 0x01);
  CHECK_FALSE(update);

  // One flipped bit anywhere fails authentication; nothing is delivered.
  Bytes bad = packet;
  bad[20] ^= 1;  // in the tag
  CHECK(o.open_short(bad, 0, 654360563, scratch, pn, plain, update) == q::OpenStatus::kAuthFailed);
  // Too short to hold a sample: malformed, not read past its end.
  CHECK(o.open_short(std::span(packet).first(10), 0, -1, scratch, pn, plain, update) == q::OpenStatus::kMalformed);
}

TEST_CASE("1-RTT: wrong secret lengths and suites are refused") {
  q::OneRttOpener o;
  CHECK_FALSE(o.init(0x1302, 1, Bytes(32, 1)));  // SHA-384 suite wants 48 bytes
  CHECK_FALSE(o.init(0x1301, 1, Bytes(48, 1)));
  CHECK_FALSE(o.init(0x1304, 1, Bytes(32, 1)));  // CCM: not used by QUIC stacks here
  CHECK_FALSE(o.ready());
  CHECK(o.init(0x1302, q::kVersion2, Bytes(48, 1)));
}

TEST_CASE("1-RTT: a key phase change is followed, and late packets of the old phase still open") {
  const Bytes secret(32, 0x5a);
  const Sealer s0(secret);
  const Sealer s1 = s0.next();
  const Sealer s2 = s1.next();
  const Bytes dcid = from_hex("0102030405060708");
  q::OneRttOpener o;
  REQUIRE(o.init(0x1301, 1, secret));
  std::vector<std::uint8_t> scratch;
  std::uint64_t pn = 0;
  std::span<const std::uint8_t> plain;
  bool update = false;
  const Bytes ping = {0x01, 0x00, 0x00};
  REQUIRE(o.open_short(s0.seal(dcid, 0, false, ping), 8, -1, scratch, pn, plain, update) == q::OpenStatus::kOk);
  CHECK(pn == 0);
  REQUIRE(o.open_short(s1.seal(dcid, 5, true, ping), 8, 0, scratch, pn, plain, update) == q::OpenStatus::kOk);
  CHECK(update);
  CHECK(o.key_updates() == 1);
  // Packet 3 was sent before the update and arrives late: the previous keys open it.
  REQUIRE(o.open_short(s0.seal(dcid, 3, false, ping), 8, 5, scratch, pn, plain, update) == q::OpenStatus::kOk);
  CHECK_FALSE(update);
  REQUIRE(o.open_short(s2.seal(dcid, 9, false, ping), 8, 5, scratch, pn, plain, update) == q::OpenStatus::kOk);
  CHECK(update);
  CHECK(o.key_updates() == 2);
  // A packet of the other phase that does not authenticate changes nothing.
  Bytes forged = s1.seal(dcid, 12, true, ping);
  forged[forged.size() - 3] ^= 0x40;
  CHECK(o.open_short(forged, 8, 9, scratch, pn, plain, update) == q::OpenStatus::kAuthFailed);
  CHECK(o.key_updates() == 2);
  REQUIRE(o.open_short(s2.seal(dcid, 13, false, ping), 8, 9, scratch, pn, plain, update) == q::OpenStatus::kOk);
}

TEST_CASE("frames: every RFC 9000 frame type is walked to reach the STREAM frames after it") {
  const Bytes payload = join({
      {0x00, 0x00, 0x00},                                // PADDING
      {0x01},                                            // PING
      {0x02, 0x10, 0x00, 0x01, 0x00, 0x02, 0x01},        // ACK: largest 16, 1 range
      {0x03, 0x05, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03},  // ACK_ECN
      {0x04, 0x04, 0x00, 0x05},                          // RESET_STREAM 4 at 5
      {0x05, 0x08, 0x00},                                // STOP_SENDING
      {0x06, 0x00, 0x02, 0xaa, 0xbb},                    // CRYPTO
      {0x07, 0x01, 0xcc},                                // NEW_TOKEN
      {0x10, 0x40, 0x10}, {0x11, 0x00, 0x20}, {0x12, 0x01}, {0x13, 0x01}, {0x14, 0x01}, {0x15, 0x00, 0x01},
      {0x16, 0x01}, {0x17, 0x01},
      join({{0x18, 0x01, 0x00, 0x04, 1, 2, 3, 4}, Bytes(16, 0xee)}),  // NEW_CONNECTION_ID, 4-byte ID
      {0x19, 0x00},                                                     // RETIRE_CONNECTION_ID
      join({{0x1a}, Bytes(8, 1)}), join({{0x1b}, Bytes(8, 2)}),          // PATH_CHALLENGE/RESPONSE
      {0x31, 0x02, 0x61, 0x62},                                         // DATAGRAM with length
      stream_frame(0, 0, "GET", false),
      {0x1e},  // HANDSHAKE_DONE
      {0x1c, 0x00, 0x00, 0x02, 'o', 'k'},  // CONNECTION_CLOSE
      {0x09, 0x00, 'r', 'e', 's', 't'},    // STREAM without offset or length, FIN: to the end
  });
  Recorder r;
  const q::FrameSummary s = q::walk_frames(payload, r);
  CHECK_FALSE(s.malformed);
  CHECK_FALSE(s.unknown_type);
  CHECK(s.stream_frames == 2);
  CHECK(s.resets == 1);
  CHECK(s.new_connection_ids == 1);
  CHECK(s.new_cid_len == 4);
  CHECK(s.datagram);
  CHECK(s.connection_close);
  REQUIRE(r.frames.size() == 2);
  CHECK(r.frames[0].stream_id == 0);
  CHECK(std::string(r.frames[0].data.begin(), r.frames[0].data.end()) == "GET");
  CHECK(r.frames[1].fin);
  CHECK(std::string(r.frames[1].data.begin(), r.frames[1].data.end()) == "rest");
  REQUIRE(r.resets.size() == 1);
  CHECK(r.resets[0] == std::make_pair<std::uint64_t, std::uint64_t>(4, 5));
}

TEST_CASE("frames: broken and unknown frames end the walk without reading past the packet") {
  Recorder r;
  CHECK(q::walk_frames(Bytes{0x0a, 0x00, 0x10, 'x'}, r).malformed);            // STREAM length past the end
  CHECK(q::walk_frames(Bytes{0x02, 0x01, 0x00, 0x3f, 0x00}, r).malformed);     // 63 ACK ranges in 0 bytes
  CHECK(q::walk_frames(Bytes{0x18, 0x01, 0x00, 0x15}, r).malformed);           // connection ID of 21 bytes
  CHECK(q::walk_frames(Bytes{0x40}, r).malformed);                            // truncated varint type
  const auto s = q::walk_frames(Bytes{0x01, 0x21, 0x08, 0x00, 'a'}, r);       // an extension type 0x21
  CHECK(s.unknown_type);
  CHECK(s.frames == 2);
  CHECK(r.frames.empty());
}

TEST_CASE("QuicDecryptor: streams of both directions reassembled in order across packets, with FIN and RESET") {
  const Bytes client_secret(32, 0x21);
  const Bytes server_secret(32, 0x22);
  dec::KeyLog log;
  std::string r_hex, c_hex, s_hex;
  for (int i = 0; i < 32; ++i) {
    r_hex += "11";
    c_hex += "21";
    s_hex += "22";
  }
  REQUIRE(log.add_line("CLIENT_TRAFFIC_SECRET_0 " + r_hex + " " + c_hex));
  REQUIRE(log.add_line("SERVER_TRAFFIC_SECRET_0 " + r_hex + " " + s_hex));
  std::array<std::uint8_t, 32> cr{};
  std::fill(cr.begin(), cr.end(), 0x11);
  q::QuicDecryptor d(log, cr, 1);
  d.set_suite(0x1301);
  Recorder sink;
  // A server Handshake packet (v1 type 2) with an 8-byte Source Connection ID: the client's 1-RTT
  // packets are addressed with it. Its payload is not opened (Handshake keys are not needed).
  const Bytes server_cid = from_hex("a1a2a3a4a5a6a7a8");
  const Bytes client_cid = from_hex("c1c2c3c4");
  const Bytes hs = join({{0xe0, 0, 0, 0, 1, 4}, client_cid, {8}, server_cid, {0x14}, Bytes(20, 0)});
  d.on_datagram(1, hs, sink, 1 << 20);
  const Bytes hs_client = join({{0xe0, 0, 0, 0, 1, 8}, server_cid, {4}, client_cid, {0x14}, Bytes(20, 0)});
  d.on_datagram(0, hs_client, sink, 1 << 20);
  const Sealer cs(client_secret);
  const Sealer ss(server_secret);
  // Stream 0 from the client in three pieces, the last one first; stream 4 reset after one piece.
  d.on_datagram(0, cs.seal(server_cid, 2, false, stream_frame(0, 6, "payload", true)), sink, 1 << 20);
  CHECK(sink.streams.empty());
  d.on_datagram(0, cs.seal(server_cid, 0, false, stream_frame(0, 0, "GET /a", false)), sink, 1 << 20);
  CHECK(sink.streams[{true, 0}] == "GET /apayload");
  CHECK(sink.fin[{true, 0}]);
  d.on_datagram(0, cs.seal(server_cid, 1, false, join({stream_frame(4, 0, "x", false), {0x04, 0x04, 0x00, 0x01}})),
                sink, 1 << 20);
  CHECK(sink.lost[{true, 4}]);
  // The server's answer on stream 0, addressed with the client's 4-byte ID.
  d.on_datagram(1, ss.seal(client_cid, 0, false, stream_frame(0, 0, "200 ok", true)), sink, 1 << 20);
  CHECK(sink.streams[{false, 0}] == "200 ok");
  CHECK(sink.fin[{false, 0}]);
  // Garbage short-header packets (a stateless reset looks like one) are counted, not fatal at once.
  d.on_datagram(1, Bytes(40, 0x41), sink, 1 << 20);
  CHECK_FALSE(d.stopped(1));
  d.finish(sink);
  const auto& f = d.facts();
  CHECK(f.keys_found);
  CHECK(f.suite == 0x1301);
  CHECK(f.records_opened[0] == 3);
  CHECK(f.records_opened[1] == 1);
  CHECK(f.app_bytes[0] == 14);
  CHECK(f.app_bytes[1] == 6);
  CHECK(f.stop[0] == dec::DecryptStop::kNone);
}

TEST_CASE("QuicDecryptor: without keys the directions stop with no-keys; a budget stops both") {
  dec::KeyLog log;
  std::array<std::uint8_t, 32> cr{};
  q::QuicDecryptor d(log, cr, 1);
  Recorder sink;
  const Bytes server_cid = from_hex("a1a2a3a4a5a6a7a8");
  d.on_datagram(1, join({{0xe0, 0, 0, 0, 1, 0, 8}, server_cid, {0x14}, Bytes(20, 0)}), sink, 1 << 20);
  const Sealer cs(Bytes(32, 0x21));
  d.on_datagram(0, cs.seal(server_cid, 0, false, stream_frame(0, 0, "GET", false)), sink, 1 << 20);
  d.finish(sink);
  CHECK_FALSE(d.facts().keys_found);
  CHECK(d.facts().stop[0] == dec::DecryptStop::kNoKeys);
  CHECK(d.facts().protected_bytes[0] > 0);

  std::string r_hex(64, '0'), c_hex;
  for (int i = 0; i < 32; ++i) c_hex += "21";
  REQUIRE(log.add_line("CLIENT_TRAFFIC_SECRET_0 " + r_hex + " " + c_hex));
  q::QuicDecryptor b(log, cr, 1);  // suite unknown: found by trying the ones a 32-byte secret allows
  b.on_datagram(1, join({{0xe0, 0, 0, 0, 1, 0, 8}, server_cid, {0x14}, Bytes(20, 0)}), sink, 1 << 20);
  b.on_datagram(0, cs.seal(server_cid, 0, false, stream_frame(8, 0, std::string(100, 'a'), false)), sink, 64);
  CHECK(b.facts().suite == 0x1301);
  CHECK(b.stopped(0));
  CHECK(b.stopped(1));
  CHECK(b.facts().stop[0] == dec::DecryptStop::kLimit);
  CHECK(b.facts().app_bytes[0] == 64);
  CHECK(sink.lost[{true, 8}]);
}
