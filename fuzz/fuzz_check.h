// Invariant checks for the fuzz targets. Unlike assert() these stay on in Release builds (the fuzz
// build inherits the project's build type) and abort, which both libFuzzer and the replay driver
// report as a failure.
#pragma once

#include <cstddef>
#include <cstdio>
#include <cstdlib>

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

}  // namespace flowaudit::fuzz
