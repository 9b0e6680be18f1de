#include "core/timestamp.h"

#include <doctest/doctest.h>

using flowaudit::core::format_iso8601;
using flowaudit::core::kNsPerSecond;

TEST_SUITE("core.timestamp") {
  TEST_CASE("formats UTC with microseconds") {
    CHECK(format_iso8601(0) == "1970-01-01T00:00:00.000000Z");
    CHECK(format_iso8601(1738144800LL * kNsPerSecond + 123456789) == "2025-01-29T10:00:00.123456Z");
  }
  TEST_CASE("negative timestamps round toward the past") {
    CHECK(format_iso8601(-1) == "1969-12-31T23:59:59.999999Z");
    CHECK(format_iso8601(-kNsPerSecond) == "1969-12-31T23:59:59.000000Z");
  }
}
