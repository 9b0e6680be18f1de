// Fuzz target: the HTTP/1.x connection reader (analysis/app/http/http1_connection.h) over
// libhttp-parser, which reads plaintext HTTP and what TLS decryption yields. Input: chunks
// [u8 direction][u16 length][bytes]. Invariants: the limits hold and responses pair with requests.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "analysis/app/http/http1_connection.h"
#include "core/byte_reader.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using flowaudit::analysis::http::Exchange;
  using flowaudit::analysis::http::Http1Connection;
  flowaudit::core::ByteReader r(std::span<const std::uint8_t>(data, size));
  Http1Connection c;
  while (r.remaining() >= 3) {
    std::uint8_t dir = 0;
    std::uint16_t len = 0;
    std::span<const std::uint8_t> chunk;
    if (!r.read_u8(dir) || !r.read_u16be(len) || !r.read_bytes(std::min<std::size_t>(len, r.remaining()), chunk)) break;
    c.on_bytes((dir & 1) == 0, chunk);
  }
  FUZZ_CHECK(c.exchanges().size() <= Http1Connection::kMaxExchanges);
  for (const Exchange& e : c.exchanges()) {
    FUZZ_CHECK(e.path.size() <= Exchange::kMaxField);
    FUZZ_CHECK(e.authority.size() <= Exchange::kMaxField);
    FUZZ_CHECK(e.request_body.size() <= Exchange::kMaxKeptBody);
    FUZZ_CHECK(e.request_body.size() <= e.request_body_decoded_bytes);
    if (e.request_body_cut) FUZZ_CHECK(e.request_body.size() == Exchange::kMaxKeptBody);
  }
  return 0;
}
