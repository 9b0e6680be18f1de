#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "analysis/app/quic/initial_protection.h"
#include "analysis/app/quic/quic_initial.h"
#include "initial_sealer.h"
#include "rfc_vectors.h"

namespace q = flowaudit::analysis::quic;
using flowaudit::analysis::app::ParseStatus;
using flowaudit::test::concat;
using flowaudit::test::crypto_frame;
using flowaudit::test::from_hex;
using flowaudit::test::InitialSpec;
using flowaudit::test::seal_initial;
using Bytes = std::vector<std::uint8_t>;

namespace {

void put_u16le(Bytes& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
}
void put_u32le(Bytes& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

// A CHLO message: tags in the order of their little-endian value, as gQUIC requires.
Bytes chlo(const std::string& sni, const std::string& uaid) {
  struct Entry {
    const char* tag;
    std::string value;
  };
  const std::vector<Entry> entries = {
      {"PAD\0", std::string(20, '-')}, {"SNI\0", sni}, {"VER\0", "Q046"}, {"UAID", uaid}};
  Bytes out = {'C', 'H', 'L', 'O'};
  put_u16le(out, static_cast<std::uint16_t>(entries.size()));
  put_u16le(out, 0);
  std::uint32_t end = 0;
  for (const Entry& e : entries) {
    out.insert(out.end(), e.tag, e.tag + 4);
    end += static_cast<std::uint32_t>(e.value.size());
    put_u32le(out, end);
  }
  for (const Entry& e : entries) out.insert(out.end(), e.value.begin(), e.value.end());
  return out;
}

// Q046: long header (0xc3: 4-byte packet number), version, DCIL/SCIL nibbles, 8-byte DCID, packet
// number, 12-byte message hash, STREAM frame on stream 1 with a 2-byte data length.
Bytes q046_packet(const Bytes& message) {
  Bytes p;
  p.reserve(64 + message.size());
  for (int b : {0xc3, int{'Q'}, int{'0'}, int{'4'}, int{'6'}, 0x50, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 1}) p.push_back(static_cast<std::uint8_t>(b));
  for (int i = 0; i < 12; ++i) p.push_back(0x5a);
  p.push_back(0xa0);  // STREAM, data length present, 1-byte stream ID, no offset
  p.push_back(0x01);
  p.push_back(static_cast<std::uint8_t>(message.size() >> 8));
  p.push_back(static_cast<std::uint8_t>(message.size()));
  p.insert(p.end(), message.begin(), message.end());
  return p;
}

}  // namespace

TEST_SUITE("analysis.app.quic") {
  TEST_CASE("gQUIC Q046 CHLO in clear: SNI and UAID") {
    q::GquicHello h;
    CHECK(q::parse_gquic_hello(q046_packet(chlo("www.example.com", "Chrome/120")), h) == ParseStatus::kOk);
    CHECK(h.version == "Q046");
    CHECK(h.sni == "www.example.com");
    CHECK(h.user_agent == "Chrome/120");
  }

  TEST_CASE("gQUIC Q043 public header with version flag") {
    const Bytes msg = chlo("mail.google.com", "ua");
    Bytes p = {0x09, 1, 2, 3, 4, 5, 6, 7, 8, 'Q', '0', '4', '3', 0x01};
    p.insert(p.end(), 12, 0x11);
    p.insert(p.end(), {0xa0, 0x01, 0x00, static_cast<std::uint8_t>(msg.size())});
    p.insert(p.end(), msg.begin(), msg.end());
    q::GquicHello h;
    CHECK(q::parse_gquic_hello(p, h) == ParseStatus::kOk);
    CHECK(h.version == "Q043");
    CHECK(h.sni == "mail.google.com");
  }

  TEST_CASE("gQUIC CHLO truncated at every length") {
    const Bytes p = q046_packet(chlo("www.example.com", "Chrome/120"));
    bool saw_need_more = false;
    for (std::size_t n = 0; n < p.size(); ++n) {
      q::GquicHello h;
      const ParseStatus s = q::parse_gquic_hello(std::span<const std::uint8_t>(p).first(n), h);
      CAPTURE(n);
      if (s == ParseStatus::kOk) CHECK(h.sni == "www.example.com");  // cut inside UAID only
      saw_need_more = saw_need_more || s == ParseStatus::kNeedMore;
    }
    CHECK(saw_need_more);
  }

  TEST_CASE("gQUIC refusals: IETF version, tags out of order, too many tags") {
    q::GquicHello h;
    CHECK(q::parse_gquic_hello(from_hex(flowaudit::test::quic_vectors::kV1ClientInitial), h) ==
          ParseStatus::kMalformed);
    Bytes msg = chlo("a.example", "ua");
    std::swap(msg[10], msg[18]);  // "PAI\0" then "SND\0": descending little-endian values
    CHECK(q::parse_gquic_hello(q046_packet(msg), h) == ParseStatus::kMalformed);
    msg = chlo("a.example", "ua");
    msg[4] = 0xff;  // 255 tags
    CHECK(q::parse_gquic_hello(q046_packet(msg), h) == ParseStatus::kMalformed);
    CHECK(q::parse_gquic_hello(Bytes{}, h) == ParseStatus::kMalformed);
  }

  TEST_CASE("gQUIC Q050: protected Initial, CHLO in a CRYPTO frame") {
    InitialSpec spec;
    spec.params = q::find_version_params(0x51303530);
    REQUIRE(spec.params != nullptr);
    spec.key_dcid = from_hex("0102030405060708");
    spec.pn = 1;
    Bytes payload = crypto_frame(0, chlo("www.google.com", "Chrome"), 0x08);
    payload.resize(1000, 0);
    q::GquicHello h;
    const Bytes packet = seal_initial(spec, payload);
    CHECK(q::parse_gquic_hello(packet, h) == ParseStatus::kOk);
    CHECK(h.version == "Q050");
    CHECK(h.sni == "www.google.com");
    CHECK(h.user_agent == "Chrome");
    // Q050 is not an IETF version for the assembler.
    q::InitialAssembler a;
    CHECK(a.feed(packet) == q::InitialAssembler::State::kUnsupportedVersion);
    Bytes broken = packet;
    broken.at(broken.size() - 1) = static_cast<std::uint8_t>(broken.at(broken.size() - 1) ^ 1);
    CHECK(q::parse_gquic_hello(broken, h) == ParseStatus::kMalformed);
  }

  TEST_CASE("gQUIC T051: protected Initial, TLS ClientHello in a CRYPTO frame") {
    InitialSpec spec;
    spec.params = q::find_version_params(0x54303531);
    REQUIRE(spec.params != nullptr);
    spec.key_dcid = from_hex("a1a2a3a4a5a6a7a8");
    const Bytes frame = from_hex(flowaudit::test::quic_vectors::kCryptoFrame);
    const Bytes message(frame.begin() + 4, frame.end());
    q::GquicHello h;
    CHECK(q::parse_gquic_hello(seal_initial(spec, crypto_frame(0, message, 0x08)), h) == ParseStatus::kOk);
    CHECK(h.version == "T051");
    CHECK(h.sni == "example.com");
    // Only the first part of the ClientHello in this datagram.
    CHECK(q::parse_gquic_hello(seal_initial(spec, crypto_frame(0, std::span<const std::uint8_t>(message).first(100), 0x08)),
                               h) == ParseStatus::kNeedMore);
  }
}
