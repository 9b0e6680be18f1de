// Fuzz target: QUIC Initial reassembly and Google QUIC client hellos.
//
// One input is the client side of one connection: datagrams, each preceded by its length (2 bytes,
// big-endian, clipped to what is left). They are fed, in order, to one InitialAssembler (so keys,
// packet numbers and CRYPTO ranges carry from datagram to datagram), and each is also given to
// parse_gquic_hello and, as if the server had sent it, read_server_start on its own.
#include <cstddef>
#include <cstdint>
#include <span>

#include "analysis/app/quic/quic_initial.h"
#include "core/byte_reader.h"
#include "fuzz_check.h"

using namespace flowaudit;
using State = analysis::quic::InitialAssembler::State;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  core::ByteReader in(std::span<const std::uint8_t>(data, size));
  analysis::quic::InitialAssembler assembler;
  State previous = assembler.state();
  std::uint16_t len = 0;
  while (in.read_u16be(len)) {
    std::span<const std::uint8_t> datagram;
    const std::size_t n = len < in.remaining() ? len : in.remaining();
    in.read_bytes(n, datagram);

    const State state = assembler.feed(datagram);
    FUZZ_CHECK(state == assembler.state());
    // Only kCollecting moves on, and kUnsupportedVersion (an Initial in a version we read may
    // follow a Version Negotiation); every other state is final.
    if (previous != State::kCollecting && previous != State::kUnsupportedVersion) FUZZ_CHECK(state == previous);
    previous = state;
    const std::span<const std::uint8_t> hello = assembler.client_hello();
    if (state == State::kComplete) {
      FUZZ_CHECK(hello.size() + 4 <= analysis::quic::InitialAssembler::kMaxCryptoBytes);
      fuzz::touch(hello.data(), hello.size());
    } else {
      FUZZ_CHECK(hello.empty());
    }

    // The same bytes as a server's datagram: Version Negotiation or Retry.
    analysis::quic::ServerStart start;
    if (analysis::quic::read_server_start(datagram, start)) {
      FUZZ_CHECK(start.version_negotiation != start.retry);
      FUZZ_CHECK(start.versions.size() <= analysis::quic::kMaxOfferedVersions);
    }

    analysis::quic::GquicHello gquic;
    const auto status = analysis::quic::parse_gquic_hello(datagram, gquic);
    FUZZ_CHECK(gquic.sni.size() <= 255 && gquic.user_agent.size() <= 256);
    if (status == analysis::app::ParseStatus::kOk) FUZZ_CHECK(gquic.version.size() == 4);
  }
  return 0;
}
