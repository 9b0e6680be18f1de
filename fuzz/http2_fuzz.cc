// Fuzz target: the HTTP/2 connection reader (analysis/app/http/http2_connection.h): its own frame
// reader, nghttp2's HPACK inflater, and the bodies' content decoding. Input: chunks
// [u8 direction][u16 length][bytes] (bit 0 of direction: 0 client, 1 server). Invariants: the limits
// hold, and what is kept of a request body never exceeds what was decoded.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "analysis/app/http/http2_connection.h"
#include "fuzz_check.h"
#include "http_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using flowaudit::analysis::http::ContentDecoder;
  using flowaudit::analysis::http::Exchange;
  using flowaudit::analysis::http::Http2Connection;
  {
    Http2Connection c;
    flowaudit::fuzz::for_each_chunk(data, size, [&](bool client, std::span<const std::uint8_t> b) { c.on_bytes(client, b); });
    FUZZ_CHECK(c.exchanges().size() <= Http2Connection::kMaxStreams);
    for (const Exchange& e : c.exchanges()) flowaudit::fuzz::check_exchange(e);
  }
  FUZZ_CHECK(ContentDecoder::live() == 0);  // every decoder freed with its connection
  return 0;
}
