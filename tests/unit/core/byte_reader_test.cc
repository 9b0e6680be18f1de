#include "core/byte_reader.h"

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <limits>

using flowaudit::core::ByteReader;

TEST_SUITE("core.byte_reader") {
  TEST_CASE("reads big- and little-endian integers of every width") {
    const std::array<std::uint8_t, 8> b{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
    {
      ByteReader r(b);
      std::uint8_t v8 = 0;
      std::uint16_t v16 = 0;
      std::uint32_t v32 = 0;
      CHECK(r.read_u8(v8));
      CHECK(v8 == 0x01);
      CHECK(r.read_u16be(v16));
      CHECK(v16 == 0x0203);
      CHECK(r.read_u32be(v32));
      CHECK(v32 == 0x04050607u);
      CHECK(r.offset() == 7);
      CHECK(r.remaining() == 1);
      CHECK(r.ok());
    }
    {
      ByteReader r(b);
      std::uint64_t v = 0;
      CHECK(r.read_u64be(v));
      CHECK(v == 0x0102030405060708ull);
      CHECK(r.remaining() == 0);
    }
    {
      ByteReader r(b);
      std::uint64_t v = 0;
      CHECK(r.read_u64le(v));
      CHECK(v == 0x0807060504030201ull);
    }
    {
      ByteReader r(b);
      std::uint16_t a = 0;
      std::uint32_t c = 0;
      CHECK(r.read_u16le(a));
      CHECK(a == 0x0201);
      CHECK(r.read_u32le(c));
      CHECK(c == 0x06050403u);
    }
    {
      ByteReader r(b);
      std::uint16_t a = 0;
      std::uint16_t c = 0;
      std::uint32_t d = 0;
      CHECK(r.read_u16(a, true));
      CHECK(a == 0x0102);
      CHECK(r.read_u16(c, false));
      CHECK(c == 0x0403);
      CHECK(r.read_u32(d, false));
      CHECK(d == 0x08070605u);
    }
  }

  TEST_CASE("high bytes do not sign-extend") {
    const std::array<std::uint8_t, 4> b{0xFF, 0xFE, 0x80, 0x00};
    ByteReader r(b);
    std::uint32_t v = 0;
    CHECK(r.read_u32be(v));
    CHECK(v == 0xFFFE8000u);
  }

  TEST_CASE("a failed read is sticky and leaves the output untouched") {
    const std::array<std::uint8_t, 3> b{1, 2, 3};
    ByteReader r(b);
    std::uint32_t v = 0xDEADBEEF;
    CHECK_FALSE(r.read_u32be(v));
    CHECK(v == 0xDEADBEEF);
    CHECK_FALSE(r.ok());
    CHECK(r.remaining() == 0);
    CHECK(r.rest().empty());
    std::uint8_t one = 0;
    CHECK_FALSE(r.read_u8(one));  // would fit, but the reader has failed
    CHECK_FALSE(r.peek_u8(one));
    CHECK_FALSE(r.skip(0));
  }

  TEST_CASE("skip, rest and read_bytes") {
    const std::array<std::uint8_t, 6> b{10, 11, 12, 13, 14, 15};
    ByteReader r(b);
    CHECK(r.skip(2));
    CHECK(r.rest().size() == 4);
    CHECK(r.rest()[0] == 12);
    std::span<const std::uint8_t> out;
    CHECK(r.read_bytes(3, out));
    CHECK(out.size() == 3);
    CHECK(out[2] == 14);
    CHECK(r.read_bytes(1, out));
    CHECK(r.remaining() == 0);
    CHECK(r.read_bytes(0, out));  // zero bytes at the end is fine
    CHECK(r.ok());
    CHECK_FALSE(r.skip(1));
  }

  TEST_CASE("huge lengths cannot overflow the position") {
    const std::array<std::uint8_t, 4> b{1, 2, 3, 4};
    ByteReader r(b);
    CHECK(r.skip(1));
    CHECK_FALSE(r.skip(std::numeric_limits<std::size_t>::max()));
    CHECK_FALSE(r.ok());
    ByteReader r2(b);
    std::span<const std::uint8_t> out;
    CHECK(r2.skip(3));
    CHECK_FALSE(r2.read_bytes(std::numeric_limits<std::size_t>::max() - 1, out));
  }

  TEST_CASE("peek does not advance") {
    const std::array<std::uint8_t, 2> b{0xAB, 0xCD};
    ByteReader r(b);
    std::uint8_t v8 = 0;
    std::uint16_t v16 = 0;
    CHECK(r.peek_u8(v8));
    CHECK(v8 == 0xAB);
    CHECK(r.peek_u16be(v16));
    CHECK(v16 == 0xABCD);
    CHECK(r.offset() == 0);
    CHECK(r.skip(1));
    CHECK_FALSE(r.peek_u16be(v16));
    CHECK(r.ok());  // a failed peek does not fail the reader
    CHECK(r.peek_u8(v8));
    CHECK(v8 == 0xCD);
  }

  TEST_CASE("sub_reader covers the next n bytes and moves past them") {
    const std::array<std::uint8_t, 5> b{1, 2, 3, 4, 5};
    ByteReader r(b);
    ByteReader sub;
    CHECK(r.sub_reader(3, sub));
    CHECK(sub.remaining() == 3);
    CHECK(r.remaining() == 2);
    std::uint32_t v = 0;
    CHECK_FALSE(sub.read_u32be(v));  // cannot read past its window
    ByteReader sub2;
    CHECK_FALSE(r.sub_reader(3, sub2));
  }

  TEST_CASE("an empty or default reader fails every read") {
    ByteReader def;
    std::uint8_t v = 0;
    CHECK(def.remaining() == 0);
    CHECK_FALSE(def.read_u8(v));
    ByteReader empty(std::span<const std::uint8_t>{});
    CHECK(empty.skip(0));
    CHECK_FALSE(empty.read_u8(v));
  }
}
