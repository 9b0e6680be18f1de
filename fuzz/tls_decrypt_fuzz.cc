// Fuzz target: TLS decryption (analysis/decrypt): the key log parser and the connection decryptor,
// which read a key log the user brings and records from the wire. Input: u16 length of key log
// text, the text, then chunks [u8 direction][u16 length][bytes] fed in order. Invariants: what the
// decryptor reports adds up, and a stopped direction stays stopped.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "analysis/decrypt/key_log.h"
#include "analysis/decrypt/tls_decryptor.h"
#include "core/byte_reader.h"
#include "fuzz_check.h"

namespace {

struct Sink final : flowaudit::analysis::decrypt::PlaintextSink {
  std::uint64_t bytes[2] = {0, 0};
  void on_plaintext(std::uint8_t sender, std::span<const std::uint8_t> data) override {
    FUZZ_CHECK(sender < 2);
    FUZZ_CHECK(!data.empty() && data.size() <= 16384 + 256);
    bytes[sender] += data.size();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace flowaudit::analysis::decrypt;
  flowaudit::core::ByteReader r(std::span<const std::uint8_t>(data, size));
  std::uint16_t text_len = 0;
  std::span<const std::uint8_t> text;
  if (!r.read_u16be(text_len) || !r.read_bytes(text_len, text)) return 0;
  KeyLog log;
  const KeyLogLoad load = log.add_text(std::string_view(reinterpret_cast<const char*>(text.data()), text.size()));
  FUZZ_CHECK(load.keys + load.ignored + load.malformed <= load.lines);
  FUZZ_CHECK(load.problems.size() <= KeyLog::kMaxProblems);
  FUZZ_CHECK(log.sessions() <= load.keys);
  TlsDecryptor dec(log);
  Sink sink;
  bool was_stopped[2] = {false, false};
  while (r.remaining() >= 3) {
    std::uint8_t dir = 0;
    std::uint16_t len = 0;
    std::span<const std::uint8_t> chunk;
    if (!r.read_u8(dir) || !r.read_u16be(len) || !r.read_bytes(std::min<std::size_t>(len, r.remaining()), chunk)) break;
    dir &= 1;
    dec.on_stream(dir, chunk, sink);
    for (std::uint8_t s = 0; s < 2; ++s) {
      if (was_stopped[s]) FUZZ_CHECK(dec.stopped(s));
      was_stopped[s] = dec.stopped(s);
    }
  }
  dec.finish();
  const DecryptFacts& f = dec.facts();
  for (int s = 0; s < 2; ++s) {
    FUZZ_CHECK(f.opened_bytes[s] <= f.protected_bytes[s]);
    FUZZ_CHECK(f.app_bytes[s] == sink.bytes[s]);
    FUZZ_CHECK(f.app_bytes[s] <= f.opened_bytes[s]);
  }
  if (f.records_opened[0] + f.records_opened[1] > 0) FUZZ_CHECK(f.keys_found);
  return 0;
}
