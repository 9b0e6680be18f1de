// Fuzz target: content decoding of HTTP bodies (analysis/app/http/content_decoder.h) over zlib,
// libbrotli and libzstd. Input: [u8 coding][u8 piece size][coded bytes...]: the coding picks gzip,
// deflate, br, zstd or an unknown one; the body is fed in pieces of that size. Invariants: output
// stays within the limits, and a decoder that stopped stays stopped.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <span>
#include <string_view>

#include "analysis/app/http/content_decoder.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using flowaudit::analysis::http::ContentDecoder;
  using flowaudit::analysis::http::DecodeState;
  if (size < 2) return 0;
  constexpr std::string_view kCodings[] = {"gzip", "deflate", "br", "zstd", "x-gzip", "compress"};
  const std::string_view coding = kCodings[data[0] % std::size(kCodings)];
  const std::size_t piece = data[1] == 0 ? 1 : data[1];
  std::span<const std::uint8_t> body(data + 2, size - 2);
  auto dec = ContentDecoder::make(coding);
  FUZZ_CHECK(dec != nullptr);
  std::uint64_t seen = 0;
  while (!body.empty()) {
    const std::size_t n = std::min(piece, body.size());
    const DecodeState before = dec->state();
    dec->feed(body.first(n), [](void* c, std::span<const std::uint8_t> out) {
      *static_cast<std::uint64_t*>(c) += out.size();
    }, &seen);
    if (before != DecodeState::kDecoding) FUZZ_CHECK(dec->state() == before);
    body = body.subspan(n);
  }
  dec->finish();
  FUZZ_CHECK(dec->state() != DecodeState::kDecoding);
  FUZZ_CHECK(seen == dec->decoded_bytes() || dec->state() == DecodeState::kLimit);
  FUZZ_CHECK(seen <= ContentDecoder::kMaxOutput);
  return 0;
}
