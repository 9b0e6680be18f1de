// Fuzz target: one direction of a TLS stream through HandshakeReader, fed in chunks, and every
// handshake message through the parsers and the fingerprints.
//
// Layout:
//   byte 0        n: the number of split points (low 4 bits)
//   n bytes       chunk sizes (byte + 1, so 1..256), used in turn; the rest of the stream goes in
//                 one last chunk
//   the rest      the stream
//
// Checks, besides the sanitizers: the same stream fed whole gives the same messages (type, format
// and body) and the same final state as fed in chunks; a body never exceeds the buffer limit;
// fingerprints have their fixed shapes; an SSLv2-format ClientHello goes through its own parser.
// The parsers also run on the raw stream as a message body, so that they are fuzzed even by inputs
// that are not framed as records.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "analysis/app/tls/client_hello.h"
#include "analysis/app/tls/fingerprint.h"
#include "analysis/app/tls/handshake_reader.h"
#include "fuzz_check.h"

namespace tls = flowaudit::analysis::tls;
using flowaudit::analysis::app::ParseStatus;

namespace {

struct Seen {
  std::uint8_t type;
  bool sslv2;
  std::vector<std::uint8_t> body;
};

void check_ja4(const std::string& v) {
  // t13d1516h2_8daaf6152771_e5627efa2ab1
  FUZZ_CHECK(v.size() == 36);
  FUZZ_CHECK(v[10] == '_' && v[23] == '_');
}

void parse_sslv2_hello(std::span<const std::uint8_t> body) {
  tls::Sslv2ClientHello h;
  if (tls::parse_sslv2_client_hello(body, h) == ParseStatus::kOk) {
    FUZZ_CHECK(h.cipher_specs > 0 && std::size_t{h.cipher_specs} * 3 <= body.size());
    FUZZ_CHECK(!tls::version_name(h.version).empty());
  }
}

void parse_message(std::uint8_t type, std::span<const std::uint8_t> body) {
  if (type == 1) {
    tls::ClientHello h;
    if (tls::parse_client_hello(body, h) == ParseStatus::kOk) {
      FUZZ_CHECK(h.sni.size() <= 255);
      FUZZ_CHECK(h.has_sni == !h.sni.empty());
      for (auto a : h.alpn) flowaudit::fuzz::touch(reinterpret_cast<const unsigned char*>(a.data()), a.size());
      flowaudit::fuzz::touch(reinterpret_cast<const unsigned char*>(h.sni.data()), h.sni.size());
      FUZZ_CHECK(tls::ja3(h).size() == 32);
      FUZZ_CHECK(!tls::ja3_string(h).empty());
      check_ja4(tls::ja4(h, false));
      check_ja4(tls::ja4(h, true));
      for (auto s : h.cipher_suites) FUZZ_CHECK(!tls::cipher_name(s).empty());
    }
  } else if (type == 2) {
    tls::ServerHello s;
    if (tls::parse_server_hello(body, s) == ParseStatus::kOk) {
      flowaudit::fuzz::touch(reinterpret_cast<const unsigned char*>(s.alpn.data()), s.alpn.size());
      FUZZ_CHECK(tls::ja3s(s).size() == 32);
      FUZZ_CHECK(!tls::version_name(s.version()).empty());
    }
  } else if (type == 11) {
    tls::Certificate c;
    if (tls::parse_certificate(body, c) == ParseStatus::kOk) {
      FUZZ_CHECK(c.san_dns.size() <= 64);
      FUZZ_CHECK(c.subject.size() <= 1024 && c.issuer.size() <= 1024);
    }
  }
}

tls::HandshakeReader::State run(std::span<const std::uint8_t> stream, std::span<const std::uint8_t> splits,
                                std::vector<Seen>& seen, bool parse) {
  tls::HandshakeReader reader;
  const auto on_message = [&](const tls::HandshakeReader::Message& m) {
    FUZZ_CHECK(m.body.size() + 4 <= tls::HandshakeReader::kMaxBuffered);
    seen.push_back({m.type, m.sslv2, std::vector<std::uint8_t>(m.body.begin(), m.body.end())});
    if (parse && m.sslv2) parse_sslv2_hello(m.body);
    if (parse && !m.sslv2) parse_message(m.type, m.body);
  };
  std::size_t at = 0;
  for (const std::uint8_t s : splits) {
    const std::size_t n = std::min<std::size_t>(s + 1u, stream.size() - at);
    reader.feed(stream.subspan(at, n), on_message);
    at += n;
  }
  reader.feed(stream.subspan(at), on_message);
  return reader.state();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::span<const std::uint8_t> input(data, size);
  const std::size_t n_splits = std::min<std::size_t>(input[0] & 0x0f, size - 1);
  const auto splits = input.subspan(1, n_splits);
  const auto stream = input.subspan(1 + n_splits);

  std::vector<Seen> chunked;
  const auto state_chunked = run(stream, splits, chunked, true);
  std::vector<Seen> whole;
  const auto state_whole = run(stream, {}, whole, false);
  FUZZ_CHECK(state_chunked == state_whole);
  FUZZ_CHECK(chunked.size() == whole.size());
  for (std::size_t i = 0; i < chunked.size(); ++i) {
    FUZZ_CHECK(chunked[i].type == whole[i].type);
    FUZZ_CHECK(chunked[i].sslv2 == whole[i].sslv2);
    FUZZ_CHECK(chunked[i].body == whole[i].body);
  }

  // The parsers on their own, on unframed bytes.
  constexpr std::uint8_t kTypes[] = {1, 2, 11};
  if (!stream.empty()) parse_message(kTypes[stream[0] % 3], stream.subspan(1));
  if (!stream.empty() && stream[0] % 4 == 3) parse_sslv2_hello(stream.subspan(1));
  return 0;
}
