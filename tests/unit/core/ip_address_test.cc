#include "core/ip_address.h"

#include <doctest/doctest.h>

#include <arpa/inet.h>

#include <array>
#include <string_view>
#include <unordered_set>

using flowaudit::core::Cidr;
using flowaudit::core::IpAddress;

TEST_SUITE("core.ip_address") {
  TEST_CASE("IPv4 text is inet_ntop's for every octet value in every position") {
    for (unsigned v = 0; v < 256; ++v) {
      for (std::size_t pos = 0; pos < 4; ++pos) {
        std::array<std::uint8_t, 4> b = {1, 20, 255, 0};
        b[pos] = static_cast<std::uint8_t>(v);
        char expected[INET_ADDRSTRLEN] = {};
        REQUIRE(inet_ntop(AF_INET, b.data(), expected, sizeof expected) != nullptr);
        CHECK(IpAddress::v4(std::span<const std::uint8_t, 4>(b)).to_string() == std::string(expected));
      }
    }
  }

  TEST_CASE("parses and prints IPv4") {
    const auto a = IpAddress::parse("192.0.2.33");
    REQUIRE(a.has_value());
    CHECK(a->is_v4());
    CHECK_FALSE(a->is_v6());
    CHECK(a->size() == 4);
    CHECK(a->bytes()[0] == 192);
    CHECK(a->bytes()[3] == 33);
    for (std::size_t i = 4; i < 16; ++i) CHECK(a->bytes()[i] == 0);
    CHECK(a->to_string() == "192.0.2.33");
  }

  TEST_CASE("parses and prints IPv6 in canonical form") {
    const auto a = IpAddress::parse("2001:0db8:0000:0000:0000:0000:0000:0001");
    REQUIRE(a.has_value());
    CHECK(a->is_v6());
    CHECK(a->size() == 16);
    CHECK(a->to_string() == "2001:db8::1");
    const auto mapped = IpAddress::parse("::ffff:192.0.2.1");
    REQUIRE(mapped.has_value());
    CHECK(mapped->is_v6());
  }

  TEST_CASE("rejects bad text") {
    for (const std::string_view s : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", "::g", "host.example",
                                     "1.2.3.4/8", "01234567890123456789012345678901234567890123456789"}) {
      CAPTURE(s);
      CHECK_FALSE(IpAddress::parse(s).has_value());
    }
  }

  TEST_CASE("parse reads only the view, not what follows it in memory") {
    const char text[] = "10.0.0.1xyz";
    const auto a = IpAddress::parse(std::string_view(text, 8));
    REQUIRE(a.has_value());
    CHECK(a->to_string() == "10.0.0.1");
  }

  // Regression: an embedded NUL must not end the text early.
  TEST_CASE("parse rejects an embedded NUL") {
    const std::string_view s("1.2.3.4\0junk", 12);
    CHECK_FALSE(IpAddress::parse(s).has_value());
  }

  TEST_CASE("v4 from host order and from bytes agree") {
    const std::array<std::uint8_t, 4> b{203, 0, 113, 7};
    CHECK(IpAddress::v4(0xCB007107u) == IpAddress::v4(std::span<const std::uint8_t, 4>(b)));
    CHECK(IpAddress::v4(0xCB007107u).to_string() == "203.0.113.7");
  }

  TEST_CASE("default address is family none") {
    const IpAddress a;
    CHECK(a.family() == IpAddress::Family::kNone);
    CHECK(a.size() == 0);
    CHECK(a.to_string() == "-");
  }

  TEST_CASE("ordering and equality include the family") {
    const auto v4 = *IpAddress::parse("0.0.0.1");
    const auto v6 = *IpAddress::parse("::1");
    CHECK(v4 != v6);  // same low bytes would differ anyway; family differs too
    const auto v4zero = *IpAddress::parse("0.0.0.0");
    const auto v6zero = *IpAddress::parse("::");
    CHECK(v4zero != v6zero);
    CHECK(v4zero.hash() != v6zero.hash());
    CHECK(*IpAddress::parse("10.0.0.1") < *IpAddress::parse("10.0.0.2"));
    CHECK(*IpAddress::parse("9.255.255.255") < *IpAddress::parse("10.0.0.0"));
    CHECK(v4 < v6);  // kV4 sorts before kV6
  }

  TEST_CASE("hash is stable for equal values and spreads different ones") {
    CHECK(IpAddress::parse("10.1.2.3")->hash() == IpAddress::parse("10.1.2.3")->hash());
    std::unordered_set<std::uint64_t> hashes;
    for (std::uint32_t i = 0; i < 1000; ++i) hashes.insert(IpAddress::v4(0x0A000000u + i).hash());
    CHECK(hashes.size() == 1000);
  }

  TEST_CASE("CIDR parse") {
    const auto c = Cidr::parse("10.0.0.0/8");
    REQUIRE(c.has_value());
    CHECK(c->prefix() == 8);
    CHECK(c->to_string() == "10.0.0.0/8");
    const auto host = Cidr::parse("192.0.2.1");
    REQUIRE(host.has_value());
    CHECK(host->prefix() == 32);
    const auto v6host = Cidr::parse("2001:db8::1");
    REQUIRE(v6host.has_value());
    CHECK(v6host->prefix() == 128);
    CHECK(Cidr::parse("0.0.0.0/0").has_value());
    CHECK(Cidr::parse("::/0").has_value());
    CHECK(Cidr::parse("2001:db8::/128").has_value());
    for (const std::string_view s : {"10.0.0.0/33", "2001:db8::/129", "10.0.0.0/", "10.0.0.0/8x", "10.0.0.0/-1",
                                     "/8", "10.0.0/8", "10.0.0.0/8/9", "10.0.0.0/ 8"}) {
      CAPTURE(s);
      CHECK_FALSE(Cidr::parse(s).has_value());
    }
  }

  TEST_CASE("CIDR contains") {
    const auto c = *Cidr::parse("192.168.16.0/20");
    CHECK(c.contains(*IpAddress::parse("192.168.16.0")));
    CHECK(c.contains(*IpAddress::parse("192.168.31.255")));
    CHECK_FALSE(c.contains(*IpAddress::parse("192.168.32.0")));
    CHECK_FALSE(c.contains(*IpAddress::parse("192.168.15.255")));
    CHECK_FALSE(c.contains(*IpAddress::parse("::ffff:192.168.16.1")));  // other family

    // A base with host bits set still matches by prefix.
    const auto loose = *Cidr::parse("10.9.8.7/8");
    CHECK(loose.contains(*IpAddress::parse("10.255.0.1")));
    CHECK_FALSE(loose.contains(*IpAddress::parse("11.0.0.1")));

    const auto all4 = *Cidr::parse("0.0.0.0/0");
    CHECK(all4.contains(*IpAddress::parse("255.255.255.255")));
    CHECK_FALSE(all4.contains(*IpAddress::parse("::1")));

    const auto v6 = *Cidr::parse("2001:db8:abcd::/47");
    CHECK(v6.contains(*IpAddress::parse("2001:db8:abcd:1::1")));
    CHECK(v6.contains(*IpAddress::parse("2001:db8:abcc::1")));  // differs only in bit 48
    CHECK_FALSE(v6.contains(*IpAddress::parse("2001:db8:abce::1")));
    CHECK(v6.contains(*IpAddress::parse("2001:db8:abcd:ffff::1")));
    const auto v6b = *Cidr::parse("2001:db8:abcc::/47");
    CHECK(v6b.contains(*IpAddress::parse("2001:db8:abcd::1")));  // /47 covers abcc and abcd

    const auto exact = *Cidr::parse("2001:db8::1/128");
    CHECK(exact.contains(*IpAddress::parse("2001:db8::1")));
    CHECK_FALSE(exact.contains(*IpAddress::parse("2001:db8::2")));
    CHECK_FALSE(exact.contains(IpAddress{}));
  }
}
