#include "core/string_pool.h"

#include <doctest/doctest.h>

#include <string>

using flowaudit::core::StringPool;

TEST_SUITE("core.string_pool") {
  TEST_CASE("a flood of distinct strings stops at the byte budget and is counted") {
    StringPool pool;
    pool.set_max_bytes(10 * (StringPool::kEntryOverhead + 8));
    const std::string_view first = pool.intern("name-000");
    for (int i = 1; i < 1000; ++i) {
      std::string s = "name-" + std::to_string(1000 + i).substr(1);
      (void)pool.intern(s);
    }
    CHECK(pool.size() == 10);
    CHECK(pool.dropped() == 990);
    CHECK(pool.bytes() <= 10 * (StringPool::kEntryOverhead + 8));
    // Values already kept are still found (same view); new ones read as the overflow marker.
    CHECK(pool.intern("name-000").data() == first.data());
    CHECK(pool.intern("another") == StringPool::kOverflow);
    CHECK(pool.intern("").empty());
  }
}
