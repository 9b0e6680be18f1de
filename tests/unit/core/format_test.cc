#include "core/format.h"

#include <doctest/doctest.h>

using flowaudit::core::human_bytes;

TEST_SUITE("core.format") {
  TEST_CASE("human_bytes") {
    CHECK(human_bytes(0) == "0 B");
    CHECK(human_bytes(999) == "999 B");
    CHECK(human_bytes(1000) == "1.0 kB");
    CHECK(human_bytes(1'234'567) == "1.2 MB");
    CHECK(human_bytes(5'000'000'000ull) == "5.0 GB");
    CHECK(human_bytes(7'000'000'000'000'000ull) == "7000.0 TB");
  }
}
