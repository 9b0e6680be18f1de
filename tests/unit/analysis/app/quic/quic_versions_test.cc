// Issue 13 class 6: the Initial salts of drafts 22-28 and of mvfst's versions, a client that
// changes version after a Version Negotiation, Initials after a Retry (keys from the new DCID), and
// what the server's Version Negotiation and Retry packets leave in the flow's QUIC details.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "analysis/app/app_context.h"
#include "analysis/app/quic/initial_protection.h"
#include "analysis/app/quic/quic_handler.h"
#include "analysis/app/quic/quic_initial.h"
#include "initial_sealer.h"
#include "rfc_vectors.h"

namespace q = flowaudit::analysis::quic;
namespace v = flowaudit::test::quic_vectors;
namespace app = flowaudit::analysis::app;
using flowaudit::test::crypto_frame;
using flowaudit::test::from_hex;
using flowaudit::test::InitialSpec;
using flowaudit::test::seal_initial;
using State = q::InitialAssembler::State;
using Bytes = std::vector<std::uint8_t>;

namespace {

Bytes client_hello_message() {
  const Bytes frame = from_hex(v::kCryptoFrame);
  return Bytes(frame.begin() + 4, frame.end());
}

InitialSpec spec_for(std::uint32_t version, const char* dcid_hex, std::uint64_t pn = 0) {
  InitialSpec spec;
  spec.params = q::find_version_params(version);
  REQUIRE(spec.params != nullptr);
  spec.key_dcid = from_hex(dcid_hex);
  spec.pn = pn;
  return spec;
}

Bytes padded(Bytes payload) {
  payload.resize(1162, 0);
  return payload;
}

// The salts as the drafts print them (draft-ietf-quic-tls-22 and -23 §5.2, -29 §5.2, RFC 9001).
constexpr const char* kSalt22 = "7fbcdb0e7c66bbe9193a96cd21519ebd7a02644a";
constexpr const char* kSalt23 = "c3eef712c72ebb5a11a7d2432bb46365bef9f502";
constexpr const char* kSalt29 = "afbfec289993d24c9e9786f19c6111e04390a899";
constexpr const char* kSaltV1 = "38762cf7f55934b34d179ae6a4c80cadccbb7f0a";

}  // namespace

TEST_SUITE("analysis.app.quic") {
  TEST_CASE("QUIC Initial salts: drafts 22-34 and mvfst's versions") {
    const struct {
      std::uint32_t version;
      const char* salt;
    } cases[] = {
        {0xff000016, kSalt22}, {0xff000017, kSalt23}, {0xff000018, kSalt23}, {0xff000019, kSalt23},
        {0xff00001a, kSalt23}, {0xff00001b, kSalt23}, {0xff00001c, kSalt23}, {0xff00001d, kSalt29},
        {0xff000020, kSalt29}, {0xff000021, kSaltV1}, {0xff000022, kSaltV1}, {0xfaceb001, kSalt22},
        {0xfaceb002, kSalt23}, {0xfaceb003, kSaltV1}, {0xfaceb00e, kSalt23}, {0xfaceb010, kSalt23},
        {0xfaceb011, kSalt23}, {0xfaceb013, kSalt23},
    };
    const Bytes msg = client_hello_message();
    for (const auto& c : cases) {
      CAPTURE(c.version);
      const q::VersionParams* p = q::find_version_params(c.version);
      REQUIRE(p != nullptr);
      const Bytes want = from_hex(c.salt);
      CHECK(Bytes(p->salt.begin(), p->salt.end()) == want);
      q::InitialAssembler a;
      CHECK(a.feed(seal_initial(spec_for(c.version, v::kDcid), padded(crypto_frame(0, msg)))) == State::kComplete);
      CHECK(a.version() == c.version);
    }
    CHECK(q::find_version_params(0xfaceb00f) == nullptr);  // mvfst's "invalid" version
  }

  TEST_CASE("QUIC Version Negotiation: the client's next Initial, in another version, is read") {
    const Bytes msg = client_hello_message();
    SUBCASE("first Initial in a version we cannot read (a reserved 0x?a?a?a?a one)") {
      Bytes first = seal_initial(spec_for(q::kVersion1, v::kDcid), padded(crypto_frame(0, msg)));
      first[1] = 0x1a, first[2] = 0x2a, first[3] = 0x3a, first[4] = 0x4a;
      q::InitialAssembler a;
      CHECK(a.feed(first) == State::kUnsupportedVersion);
      CHECK(a.feed(seal_initial(spec_for(q::kVersion1, "0011223344556677"), padded(crypto_frame(0, msg)))) ==
            State::kComplete);
      CHECK(a.version() == q::kVersion1);
    }
    SUBCASE("first Initial in a version we read, the hello not complete yet") {
      q::InitialAssembler a;
      CHECK(a.feed(seal_initial(spec_for(q::kDraft29, v::kDcid), padded(crypto_frame(0, Bytes(msg.begin(), msg.begin() + 20))))) ==
            State::kCollecting);
      CHECK(a.feed(seal_initial(spec_for(q::kVersion1, "0011223344556677", 1), padded(crypto_frame(0, msg)))) ==
            State::kComplete);
      CHECK(a.version() == q::kVersion1);
    }
  }

  TEST_CASE("QUIC Retry: the Initials after it are opened with keys from their own DCID") {
    const Bytes msg = client_hello_message();
    q::InitialAssembler a;
    // The first Initial carries part of the hello; the server answers with a Retry.
    CHECK(a.feed(seal_initial(spec_for(q::kVersion1, v::kDcid), padded(crypto_frame(0, Bytes(msg.begin(), msg.begin() + 20))))) ==
          State::kCollecting);
    InitialSpec after = spec_for(q::kVersion1, "a1a2a3a4a5a6a7a8a9", 1);
    after.token = from_hex("0102030405060708");
    CHECK(a.feed(seal_initial(after, padded(crypto_frame(0, msg)))) == State::kComplete);
    SUBCASE("a DCID change without new keys still fails: not every failure is a Retry") {
      q::InitialAssembler b;
      CHECK(b.feed(seal_initial(spec_for(q::kVersion1, v::kDcid), padded(crypto_frame(0, Bytes(msg.begin(), msg.begin() + 20))))) ==
            State::kCollecting);
      InitialSpec wrong = spec_for(q::kVersion1, "0909090909090909", 1);
      wrong.header_dcid = from_hex("a1a2a3a4a5a6a7a8a9");
      CHECK(b.feed(seal_initial(wrong, padded(crypto_frame(0, msg)))) == State::kUndecryptable);
    }
  }

  TEST_CASE("QUIC server start: Version Negotiation and Retry") {
    q::ServerStart s;
    // Version Negotiation: 0x80 | random, version 0, DCID, SCID, then 1 and draft-29.
    const Bytes vn = from_hex("c5 00000000 04 01020304 04 05060708 00000001 ff00001d");
    REQUIRE(q::read_server_start(vn, s));
    CHECK(s.version_negotiation);
    REQUIRE(s.versions.size() == 2);
    CHECK(s.versions[1] == 0xff00001d);
    CHECK_FALSE(q::read_server_start(from_hex("c5 00000000 04 01020304 04 05060708 000001"), s));  // not whole versions
    // Retry (v1 type 3): token and integrity tag.
    const Bytes retry = from_hex("f0 00000001 04 01020304 08 a1a2a3a4a5a6a7a8 0102030405060708 "
                                 "00112233445566778899aabbccddeeff");
    REQUIRE(q::read_server_start(retry, s));
    CHECK(s.retry);
    CHECK_FALSE(q::read_server_start(from_hex("40 0102"), s));  // short header
  }

  TEST_CASE("QUIC handler: a Version Negotiation is recorded and the Initial after it named") {
    app::AppContext ctx(app::AppConfig{});
    flowaudit::analysis::flow::Flow f;
    f.id = 3;
    f.client = 0;
    q::QuicHandler h;
    const Bytes msg = client_hello_message();
    Bytes first = seal_initial(spec_for(q::kVersion1, v::kDcid), padded(crypto_frame(0, msg)));
    first[1] = 0x1a, first[2] = 0x2a, first[3] = 0x3a, first[4] = 0x4a;
    h.on_datagram(ctx, f, 0, first, 0);
    CHECK(ctx.details.at(f.id).blind_spot == app::BlindSpot::kQuicUndecryptable);  // if nothing follows
    CHECK_FALSE(app::is_done(f));
    h.on_datagram(ctx, f, 1, from_hex("c5 00000000 08 0011223344556677 08 8394c8f03e515708 00000001 ff00001d"), 0);
    h.on_datagram(ctx, f, 0, seal_initial(spec_for(q::kVersion1, "0011223344556677"), padded(crypto_frame(0, msg))), 0);
    const app::FlowDetails& d = ctx.details.at(f.id);
    CHECK(d.blind_spot == app::BlindSpot::kNone);
    REQUIRE(d.quic);
    CHECK(d.quic->decrypted);
    CHECK(d.quic->version_name == "1");
    CHECK(d.quic->version_negotiation);
    CHECK(d.quic->offered_versions == "1,draft-29");
    REQUIRE(d.tls);
    CHECK(d.tls->sni == "example.com");
  }
}

TEST_SUITE("analysis.app.quic") {
  TEST_CASE("QUIC: after an Initial in an unknown version, datagrams with nothing readable keep it unsupported") {
    const Bytes msg = client_hello_message();
    Bytes first = seal_initial(spec_for(q::kVersion1, v::kDcid), padded(crypto_frame(0, msg)));
    first[1] = 0x70, first[2] = 0x9a, first[3] = 0x50, first[4] = 0xc4;  // a v2 draft we do not read
    q::InitialAssembler a;
    CHECK(a.feed(first) == State::kUnsupportedVersion);
    CHECK(a.feed(from_hex("41 0102030405060708 00112233445566778899")) == State::kUnsupportedVersion);  // short header
    CHECK(a.feed(first) == State::kUnsupportedVersion);
    CHECK(a.version() == 0x709a50c4);
  }
}

TEST_SUITE("analysis.app.quic") {
  TEST_CASE("QUIC: the server's Initial gives the ServerHello (JA3S), its fixed bit greased or not") {
    // A ServerHello body: TLS 1.2 legacy version, random, empty session id, TLS_AES_128_GCM_SHA256,
    // null compression, supported_versions (TLS 1.3) and key_share (x25519, 32 bytes).
    Bytes sh = {0x03, 0x03};
    sh.resize(sh.size() + 32, 0x55);
    for (const int b : {0x00, 0x13, 0x01, 0x00, 0x00, 0x2e, 0x00, 0x2b, 0x00, 0x02, 0x03, 0x04, 0x00, 0x33, 0x00,
                        0x24, 0x00, 0x1d, 0x00, 0x20}) {
      sh.push_back(static_cast<std::uint8_t>(b));
    }
    sh.resize(sh.size() + 32, 0x66);
    Bytes message = {0x02, 0x00, 0x00, static_cast<std::uint8_t>(sh.size())};
    message.insert(message.end(), sh.begin(), sh.end());
    for (const bool greased : {false, true}) {
      CAPTURE(greased);
      app::AppContext ctx(app::AppConfig{});
      flowaudit::analysis::flow::Flow f;
      f.id = 9;
      f.client = 0;
      q::QuicHandler h;
      h.on_datagram(ctx, f, 0, seal_initial(spec_for(q::kVersion1, v::kDcid), padded(crypto_frame(0, client_hello_message()))), 0);
      CHECK_FALSE(app::is_done(f));  // waits for the server's Initial
      InitialSpec server = spec_for(q::kVersion1, v::kDcid);
      server.server = true;
      server.header_dcid = from_hex("0102030405060708");
      server.scid = from_hex("a1a2a3a4a5a6a7a8");
      server.clear_fixed_bit = greased;
      Bytes payload = {0x02, 0x00, 0x00, 0x00, 0x00};  // ACK of packet 0
      const Bytes crypto = crypto_frame(0, message);
      payload.insert(payload.end(), crypto.begin(), crypto.end());
      h.on_datagram(ctx, f, 1, seal_initial(server, payload), 0);
      CHECK(app::is_done(f));
      const app::FlowDetails& d = ctx.details.at(f.id);
      REQUIRE(d.tls);
      CHECK(d.tls->server_hello);
      CHECK(d.tls->version == 0x0304);
      CHECK(d.tls->cipher == 0x1301);
      CHECK(d.tls->ja3s == "f4febc55ea12b31ae17cfb7e614afda8");  // MD5 of "771,4865,43-51", tshark's JA3S of such a hello
    }
  }
}

TEST_SUITE("analysis.app.quic") {
  TEST_CASE("QUIC: a reserved version's Initial protected like draft-29 (ngtcp2, Wireshark's guess) is read") {
    q::VersionParams reserved = *q::find_version_params(q::kDraft29);
    reserved.version = 0x1a2a3a4a;
    InitialSpec spec = spec_for(q::kDraft29, v::kDcid);
    spec.params = &reserved;
    q::InitialAssembler a;
    CHECK(a.feed(seal_initial(spec, padded(crypto_frame(0, client_hello_message())))) == State::kComplete);
    CHECK(a.version() == 0x1a2a3a4a);
  }
}
