// Fuzz target: the HTTP/3 connection reader (analysis/app/http/http3_connection.h): its own frame
// and stream-type reader, nghttp3's QPACK decoder (encoder streams, blocked header blocks), and the
// bodies' content decoding. Input: records [u8 flags][u8 stream][u16 length][bytes]: flags bit 0
// server (else client), bit 1 fin, bit 2 the stream is lost instead (its bytes are not given),
// bit 3 the stream id is the stream byte << 55 (large ids; past 2^62 - 1 invalid), else the byte
// itself (every id % 4 class comes up). Invariants: the limits hold, what is kept of a request
// body never exceeds what was decoded, stopped() is one of its reasons, every decoder is freed.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "analysis/app/http/http3_connection.h"
#include "fuzz_check.h"
#include "http_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using flowaudit::analysis::http::ContentDecoder;
  using flowaudit::analysis::http::Exchange;
  using flowaudit::analysis::http::Http3Connection;
  {
    Http3Connection c;
    flowaudit::core::ByteReader r(std::span<const std::uint8_t>(data, size));
    while (r.remaining() >= 4) {
      std::uint8_t flags = 0, stream = 0;
      std::uint16_t len = 0;
      std::span<const std::uint8_t> chunk;
      if (!r.read_u8(flags) || !r.read_u8(stream) || !r.read_u16be(len) ||
          !r.read_bytes(std::min<std::size_t>(len, r.remaining()), chunk)) {
        break;
      }
      const bool client = (flags & 1) == 0;
      const std::uint64_t id = (flags & 8) != 0 ? std::uint64_t{stream} << 55 : stream;
      if ((flags & 4) != 0) c.on_stream_lost(client, id);
      else c.on_stream(client, id, chunk, (flags & 2) != 0);
    }
    FUZZ_CHECK(c.exchanges().size() <= Http3Connection::kMaxStreams);
    for (const Exchange& e : c.exchanges()) flowaudit::fuzz::check_exchange(e);
    const char* why = c.stopped();
    FUZZ_CHECK(*why == '\0' || std::strcmp(why, "malformed") == 0 || std::strcmp(why, "limit") == 0 ||
               std::strcmp(why, "qpack") == 0);
  }
  FUZZ_CHECK(ContentDecoder::live() == 0);  // every decoder freed with its connection
  return 0;
}
