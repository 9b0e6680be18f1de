// Invariant checks for the fuzz targets. Unlike assert() these stay on in Release builds (the fuzz
// build inherits the project's build type) and abort, which both libFuzzer and the replay driver
// report as a failure.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "core/byte_reader.h"

#define FUZZ_CHECK(cond)                                                                     \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (false)

namespace flowaudit::fuzz {

inline volatile unsigned g_sink = 0;

// Reads every byte of a buffer the code under test handed back, so that AddressSanitizer sees an
// out-of-bounds span even when nothing else would have touched it. The volatile store keeps the
// optimiser from dropping the reads.
inline void touch(const unsigned char* p, std::size_t n) {
  unsigned sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += p[i];
  g_sink = sum;
}

// Feeds an input of chunks [u8 direction][u16 length][bytes] to on_bytes(from_client, bytes) (bit 0
// of direction: 0 client, 1 server), the format of the connection readers' targets.
template <typename OnBytes>
void for_each_chunk(const std::uint8_t* data, std::size_t size, OnBytes&& on_bytes) {
  flowaudit::core::ByteReader r(std::span<const std::uint8_t>(data, size));
  while (r.remaining() >= 3) {
    std::uint8_t dir = 0;
    std::uint16_t len = 0;
    std::span<const std::uint8_t> chunk;
    if (!r.read_u8(dir) || !r.read_u16be(len) || !r.read_bytes(std::min<std::size_t>(len, r.remaining()), chunk)) break;
    on_bytes((dir & 1) == 0, chunk);
  }
}

}  // namespace flowaudit::fuzz

