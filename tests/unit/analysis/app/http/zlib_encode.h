// Test helper: bytes compressed with zlib, as a sender's Content-Encoding would (window_bits:
// 15+16 gzip, 15 zlib, -15 raw deflate). Shared by the HTTP reader tests.
#pragma once

#include <doctest/doctest.h>
#include <zlib.h>

#include <cstdint>
#include <vector>

namespace flowaudit::test {

inline std::vector<std::uint8_t> zlib_encode(const std::vector<std::uint8_t>& in, int window_bits) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::vector<std::uint8_t> out(deflateBound(&z, static_cast<uLong>(in.size())) + 64);
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

}  // namespace flowaudit::test
