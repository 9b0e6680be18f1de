// Fuzz target: the HTTP/1.x connection reader (analysis/app/http/http1_connection.h) over
// libhttp-parser, which reads plaintext HTTP and what TLS decryption yields. Input: chunks
// [u8 direction][u16 length][bytes]. Invariants: the limits hold and responses pair with requests.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "analysis/app/http/http1_connection.h"
#include "fuzz_check.h"
#include "http_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using flowaudit::analysis::http::Exchange;
  using flowaudit::analysis::http::Http1Connection;
  Http1Connection c;
  flowaudit::fuzz::for_each_chunk(data, size, [&](bool client, std::span<const std::uint8_t> b) { c.on_bytes(client, b); });
  FUZZ_CHECK(c.exchanges().size() <= Http1Connection::kMaxExchanges);
  for (const Exchange& e : c.exchanges()) flowaudit::fuzz::check_exchange(e);
  return 0;
}
