#include "analysis/app/quic/quic_initial.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "analysis/app/quic/initial_protection.h"
#include "analysis/app/tls/client_hello.h"
#include "initial_sealer.h"
#include "rfc_vectors.h"

namespace q = flowaudit::analysis::quic;
namespace v = flowaudit::test::quic_vectors;
using flowaudit::test::concat;
using flowaudit::test::crypto_frame;
using flowaudit::test::from_hex;
using flowaudit::test::InitialSpec;
using flowaudit::test::seal_initial;
using State = q::InitialAssembler::State;
using Bytes = std::vector<std::uint8_t>;

namespace {

template <std::size_t N>
Bytes to_vec(const std::array<std::uint8_t, N>& a) {
  return Bytes(a.begin(), a.end());
}

// The CRYPTO data of the RFC example: a complete ClientHello message (type 1, length 0xed).
Bytes rfc_client_hello_message() {
  const Bytes frame = from_hex(v::kCryptoFrame);
  return Bytes(frame.begin() + 4, frame.end());  // 06, offset 00, length 40f1
}

Bytes rfc_payload() {
  Bytes payload = from_hex(v::kCryptoFrame);
  payload.resize(1162, 0);
  return payload;
}

InitialSpec v1_spec(std::uint64_t pn = 0) {
  InitialSpec spec;
  spec.params = q::find_version_params(q::kVersion1);
  spec.key_dcid = from_hex(v::kDcid);
  spec.pn = pn;
  return spec;
}

bool same(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

}  // namespace

TEST_SUITE("analysis.app.quic") {
  TEST_CASE("QUIC v1 initial keys match RFC 9001 Appendix A.1") {
    q::InitialSecrets s;
    REQUIRE(q::derive_client_initial_secrets(*q::find_version_params(q::kVersion1), from_hex(v::kDcid), s));
    CHECK(to_vec(s.key) == from_hex(v::kV1Key));
    CHECK(to_vec(s.iv) == from_hex(v::kV1Iv));
    CHECK(to_vec(s.hp) == from_hex(v::kV1Hp));
  }

  TEST_CASE("QUIC v1 server initial keys match RFC 9001 Appendix A.1, also from the client's extracted secret") {
    const q::VersionParams& params = *q::find_version_params(q::kVersion1);
    q::InitialSecrets client;
    q::InitialSecret initial{};
    REQUIRE(q::derive_client_initial_secrets(params, from_hex(v::kDcid), client, &initial));
    CHECK(to_vec(initial) == from_hex("7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44"));
    q::InitialSecrets expanded;
    q::InitialSecrets derived;
    REQUIRE(q::expand_server_initial_secrets(params, initial, expanded));
    REQUIRE(q::derive_server_initial_secrets(params, from_hex(v::kDcid), derived));
    for (const q::InitialSecrets* s : {&expanded, &derived}) {
      CHECK(to_vec(s->key) == from_hex("cf3a5331653c364c88f0f379b6067e37"));
      CHECK(to_vec(s->iv) == from_hex("0ac1493ca1905853b0bba03e"));
      CHECK(to_vec(s->hp) == from_hex("c206b8d9b9f0f37644430b490eeaa314"));
    }
  }

  TEST_CASE("QUIC v2 initial keys match RFC 9369 Appendix A.1") {
    q::InitialSecrets s;
    REQUIRE(q::derive_client_initial_secrets(*q::find_version_params(q::kVersion2), from_hex(v::kDcid), s));
    CHECK(to_vec(s.key) == from_hex(v::kV2Key));
    CHECK(to_vec(s.iv) == from_hex(v::kV2Iv));
    CHECK(to_vec(s.hp) == from_hex(v::kV2Hp));
  }

  TEST_CASE("QUIC HKDF-Expand-Label of RFC 9001 A.1: client_initial_secret from initial_secret") {
    const Bytes initial = from_hex("7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44");
    std::array<std::uint8_t, 32> client{};
    REQUIRE(q::hkdf_expand_label(initial, "client in", client));
    CHECK(to_vec(client) == from_hex("c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea"));
  }

  TEST_CASE("QUIC header protection mask matches RFC 9001 A.2 and RFC 9369 A.2") {
    struct Case {
      std::uint32_t version;
      const char* sample;
      const char* mask;
    };
    for (const Case& c : {Case{q::kVersion1, v::kV1Sample, v::kV1Mask}, Case{q::kVersion2, v::kV2Sample, v::kV2Mask}}) {
      q::InitialSecrets s;
      REQUIRE(q::derive_client_initial_secrets(*q::find_version_params(c.version), from_hex(v::kDcid), s));
      q::InitialOpener opener;
      REQUIRE(opener.init(s));
      const Bytes sample = from_hex(c.sample);
      std::array<std::uint8_t, 16> mask{};
      REQUIRE(opener.header_mask(std::span<const std::uint8_t, 16>(sample.data(), 16), mask));
      CHECK(Bytes(mask.begin(), mask.begin() + 5) == from_hex(c.mask));
    }
  }

  TEST_CASE("QUIC v1 client Initial of RFC 9001 A.2: decrypted, CRYPTO frame gives the ClientHello") {
    const Bytes packet = from_hex(v::kV1ClientInitial);
    REQUIRE(packet.size() == 1200);
    q::InitialAssembler a;
    CHECK(a.feed(packet) == State::kComplete);
    CHECK(a.version() == q::kVersion1);
    const Bytes message = rfc_client_hello_message();
    CHECK(same(a.client_hello(), std::span<const std::uint8_t>(message).subspan(4)));
    flowaudit::analysis::tls::ClientHello hello;
    REQUIRE(flowaudit::analysis::tls::parse_client_hello(a.client_hello(), hello) ==
            flowaudit::analysis::app::ParseStatus::kOk);
    CHECK(hello.sni == "example.com");
    // Later datagrams change nothing.
    CHECK(a.feed(packet) == State::kComplete);
  }

  TEST_CASE("QUIC v2 client Initial of RFC 9369 A.2 (Initial is long-header type 1)") {
    const Bytes packet = from_hex(v::kV2ClientInitial);
    REQUIRE(packet.size() == 1200);
    q::InitialAssembler a;
    CHECK(a.feed(packet) == State::kComplete);
    CHECK(a.version() == q::kVersion2);
    const Bytes message = rfc_client_hello_message();
    CHECK(same(a.client_hello(), std::span<const std::uint8_t>(message).subspan(4)));
  }

  TEST_CASE("QUIC test sealer reproduces the RFC 9001 and RFC 9369 protected packets") {
    InitialSpec spec = v1_spec(2);
    CHECK(seal_initial(spec, rfc_payload()) == from_hex(v::kV1ClientInitial));
    spec.params = q::find_version_params(q::kVersion2);
    CHECK(seal_initial(spec, rfc_payload()) == from_hex(v::kV2ClientInitial));
  }

  TEST_CASE("QUIC Initial truncated at every length never completes and never crashes") {
    for (const char* hex : {v::kV1ClientInitial, v::kV2ClientInitial}) {
      const Bytes packet = from_hex(hex);
      for (std::size_t n = 0; n < packet.size(); ++n) {
        q::InitialAssembler a;
        const State s = a.feed(std::span<const std::uint8_t>(packet).first(n));
        CAPTURE(n);
        CHECK(s != State::kComplete);
        CHECK(a.client_hello().empty());
        if (n >= 7) CHECK(s == State::kGaveUp);  // the Length field points past the end
      }
    }
  }

  TEST_CASE("QUIC corrupted tag or ciphertext is kUndecryptable") {
    Bytes packet = from_hex(v::kV1ClientInitial);
    SUBCASE("tag") { packet.back() ^= 0x01; }
    SUBCASE("ciphertext") { packet[600] ^= 0x80; }
    SUBCASE("header byte in the associated data") { packet[6] ^= 0x01; }  // a DCID byte: other keys
    q::InitialAssembler a;
    CHECK(a.feed(packet) == State::kUndecryptable);
    CHECK(a.feed(from_hex(v::kV1ClientInitial)) == State::kUndecryptable);  // sticky
  }

  TEST_CASE("QUIC CRYPTO frames out of order in one packet") {
    const Bytes msg = rfc_client_hello_message();
    const std::span<const std::uint8_t> m(msg);
    const Bytes payload = concat({crypto_frame(150, m.subspan(150)), crypto_frame(0, m.first(50)),
                                  Bytes{0x01, 0x00, 0x00}, crypto_frame(50, m.subspan(50, 100))});
    q::InitialAssembler a;
    CHECK(a.feed(seal_initial(v1_spec(), payload)) == State::kComplete);
    CHECK(same(a.client_hello(), m.subspan(4)));
  }

  TEST_CASE("QUIC CRYPTO across two packets, end first, later DCID changed, overlapping") {
    const Bytes msg = rfc_client_hello_message();
    const std::span<const std::uint8_t> m(msg);
    InitialSpec second = v1_spec(1);
    second.header_dcid = from_hex("0102030405");  // the server's chosen ID; keys stay the first's
    second.scid = from_hex("aabbccdd");
    q::InitialAssembler a;
    CHECK(a.feed(seal_initial(v1_spec(0), crypto_frame(100, m.subspan(100)))) == State::kCollecting);
    CHECK(a.client_hello().empty());
    CHECK(a.feed(seal_initial(second, crypto_frame(0, m.first(120)))) == State::kComplete);
    CHECK(same(a.client_hello(), m.subspan(4)));
  }

  TEST_CASE("QUIC coalesced packets: Handshake skipped, Initial read, trailing padding ignored") {
    const Bytes msg = rfc_client_hello_message();
    // A Handshake packet (v1 type 2) whose contents are not ours to read.
    Bytes handshake = {0xe0, 0x00, 0x00, 0x00, 0x01, 0x01, 0xaa, 0x00, 0x05, 1, 2, 3, 4, 5};
    Bytes datagram = concat({handshake, seal_initial(v1_spec(), crypto_frame(0, msg)), Bytes(40, 0)});
    q::InitialAssembler a;
    CHECK(a.feed(datagram) == State::kComplete);
  }

  TEST_CASE("QUIC ACK, ACK_ECN, PING, CONNECTION_CLOSE frames are skipped; unknown frames end a packet") {
    const Bytes msg = rfc_client_hello_message();
    const std::span<const std::uint8_t> m(msg);
    const Bytes ack = {0x02, 0x05, 0x00, 0x01, 0x00, 0x01, 0x01};
    const Bytes ack_ecn = {0x03, 0x05, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03};
    const Bytes close = {0x1c, 0x00, 0x06, 0x02, 'h', 'i'};
    q::InitialAssembler a;
    CHECK(a.feed(seal_initial(v1_spec(0), concat({ack, ack_ecn, crypto_frame(0, m.first(10)), close,
                                                    Bytes{0x01}}))) == State::kCollecting);
    // A STREAM frame may not appear in an Initial: what follows it is not read.
    CHECK(a.feed(seal_initial(v1_spec(1), concat({Bytes{0x08, 0x00}, crypto_frame(10, m.subspan(10))}))) ==
          State::kCollecting);
    CHECK(a.feed(seal_initial(v1_spec(2), crypto_frame(10, m.subspan(10)))) == State::kComplete);
  }

  TEST_CASE("QUIC draft-29 and draft-27 Initials") {
    const Bytes msg = rfc_client_hello_message();
    for (std::uint32_t version : {q::kDraft29, 0xff00001bu}) {
      InitialSpec spec = v1_spec();
      spec.params = q::find_version_params(version);
      REQUIRE(spec.params != nullptr);
      spec.pn_len = 1;
      spec.token = from_hex("0011223344");
      spec.two_byte_length = false;
      q::InitialAssembler a;
      CHECK(a.feed(seal_initial(spec, crypto_frame(0, msg))) == State::kComplete);
      CHECK(a.version() == version);
    }
  }

  TEST_CASE("QUIC limits and refusals") {
    const Bytes msg = rfc_client_hello_message();
    const std::span<const std::uint8_t> m(msg);
    SUBCASE("more than kMaxPackets Initials") {
      q::InitialAssembler a;
      for (int i = 0; i < q::InitialAssembler::kMaxPackets; ++i) {
        CHECK(a.feed(seal_initial(v1_spec(static_cast<std::uint64_t>(i)), Bytes{0x01})) == State::kCollecting);
      }
      CHECK(a.feed(seal_initial(v1_spec(99), crypto_frame(0, m))) == State::kLimit);
    }
    SUBCASE("ClientHello longer than kMaxCryptoBytes") {
      Bytes big = {0x01, 0x00, 0x50, 0x00};  // 20480 bytes announced
      q::InitialAssembler a;
      CHECK(a.feed(seal_initial(v1_spec(), crypto_frame(0, big))) == State::kLimit);
    }
    SUBCASE("CRYPTO data beyond kMaxCryptoBytes is dropped, not stored") {
      q::InitialAssembler a;
      CHECK(a.feed(seal_initial(v1_spec(), crypto_frame((1u << 30) - 1, m))) == State::kCollecting);
      CHECK(a.feed(seal_initial(v1_spec(1), crypto_frame(q::InitialAssembler::kMaxCryptoBytes - 5, m))) ==
            State::kCollecting);
    }
    SUBCASE("too many disjoint CRYPTO ranges") {
      Bytes payload;
      for (std::size_t i = 0; i <= q::InitialAssembler::kMaxRanges; ++i) {
        const Bytes f = crypto_frame(10 + 3 * i, m.subspan(10 + 3 * i, 1));
        payload.insert(payload.end(), f.begin(), f.end());
      }
      q::InitialAssembler a;
      CHECK(a.feed(seal_initial(v1_spec(), payload)) == State::kLimit);
    }
    SUBCASE("first handshake message is not a ClientHello") {
      Bytes not_ch = msg;
      not_ch[0] = 2;
      q::InitialAssembler a;
      CHECK(a.feed(seal_initial(v1_spec(), crypto_frame(0, not_ch))) == State::kGaveUp);
    }
    SUBCASE("unknown version") {
      Bytes packet = from_hex(v::kV1ClientInitial);
      packet[4] = 0x0a;  // 0x0000000a
      q::InitialAssembler a;
      CHECK(a.feed(packet) == State::kUnsupportedVersion);
    }
    SUBCASE("DCID longer than 20 bytes") {
      Bytes packet = from_hex(v::kV1ClientInitial);
      packet[5] = 21;
      q::InitialAssembler a;
      CHECK(a.feed(packet) == State::kGaveUp);
    }
    SUBCASE("short header datagram before any Initial") {
      q::InitialAssembler a;
      CHECK(a.feed(Bytes{0x40, 1, 2, 3, 4, 5, 6, 7, 8, 9}) == State::kCollecting);
    }
  }

  TEST_CASE("QUIC is_long_header") {
    CHECK(q::is_long_header(from_hex(v::kV1ClientInitial)));
    CHECK_FALSE(q::is_long_header(Bytes{0x40, 0, 0, 0, 1, 0, 0}));
    CHECK_FALSE(q::is_long_header(Bytes{0xc0, 0, 0, 0, 1, 0}));
    CHECK_FALSE(q::is_long_header(Bytes{}));
  }

  TEST_CASE("QUIC packet number decoding of RFC 9000 Appendix A.3") {
    CHECK(q::decode_packet_number(0xa82f30ea, 0x9b32, 2) == 0xa82f9b32u);
    CHECK(q::decode_packet_number(-1, 0, 1) == 0);
    CHECK(q::decode_packet_number(-1, 2, 4) == 2);
    CHECK(q::decode_packet_number(0xff, 0x01, 1) == 0x101u);
  }
}
