#include "analysis/enrich/special_ranges.h"

#include <doctest/doctest.h>

#include <string>

using flowaudit::analysis::enrich::classify_special;
using flowaudit::analysis::enrich::special_range_name;
using flowaudit::analysis::enrich::SpecialRange;
using flowaudit::analysis::enrich::unmap_ipv4;
using flowaudit::core::IpAddress;

namespace {

SpecialRange cls(const char* text) {
  const auto ip = IpAddress::parse(text);
  REQUIRE(ip.has_value());
  return classify_special(*ip);
}

}  // namespace

TEST_SUITE("analysis.enrich.special_ranges") {
  TEST_CASE("IPv4 special ranges and their edges") {
    CHECK(cls("10.0.0.1") == SpecialRange::kPrivate);
    CHECK(cls("10.255.255.255") == SpecialRange::kPrivate);
    CHECK(cls("11.0.0.0") == SpecialRange::kNone);
    CHECK(cls("172.16.0.0") == SpecialRange::kPrivate);
    CHECK(cls("172.31.255.255") == SpecialRange::kPrivate);
    CHECK(cls("172.32.0.0") == SpecialRange::kNone);
    CHECK(cls("172.15.255.255") == SpecialRange::kNone);
    CHECK(cls("192.168.1.1") == SpecialRange::kPrivate);
    CHECK(cls("192.169.0.0") == SpecialRange::kNone);
    CHECK(cls("100.64.0.1") == SpecialRange::kCgnat);
    CHECK(cls("100.127.255.255") == SpecialRange::kCgnat);
    CHECK(cls("100.128.0.0") == SpecialRange::kNone);
    CHECK(cls("100.63.255.255") == SpecialRange::kNone);
    CHECK(cls("127.0.0.1") == SpecialRange::kLoopback);
    CHECK(cls("169.254.10.1") == SpecialRange::kLinkLocal);
    CHECK(cls("224.0.0.251") == SpecialRange::kMulticast);
    CHECK(cls("239.255.255.250") == SpecialRange::kMulticast);
    CHECK(cls("240.0.0.1") == SpecialRange::kNone);
    CHECK(cls("192.0.2.1") == SpecialRange::kDocumentation);
    CHECK(cls("198.51.100.7") == SpecialRange::kDocumentation);
    CHECK(cls("203.0.113.255") == SpecialRange::kDocumentation);
    CHECK(cls("203.0.114.0") == SpecialRange::kNone);
    CHECK(cls("0.0.0.0") == SpecialRange::kUnspecified);
    CHECK(cls("255.255.255.255") == SpecialRange::kBroadcast);
    CHECK(cls("8.8.8.8") == SpecialRange::kNone);
  }

  TEST_CASE("IPv6 special ranges") {
    CHECK(cls("::") == SpecialRange::kUnspecified);
    CHECK(cls("::1") == SpecialRange::kLoopback);
    CHECK(cls("fe80::1") == SpecialRange::kLinkLocal);
    CHECK(cls("febf::1") == SpecialRange::kLinkLocal);
    CHECK(cls("fec0::1") == SpecialRange::kNone);
    CHECK(cls("ff02::fb") == SpecialRange::kMulticast);
    CHECK(cls("2001:db8::1") == SpecialRange::kDocumentation);
    CHECK(cls("2001:db9::1") == SpecialRange::kNone);
    CHECK(cls("fc00::1") == SpecialRange::kUniqueLocal);
    CHECK(cls("fd12:3456::1") == SpecialRange::kUniqueLocal);
    CHECK(cls("fe00::1") == SpecialRange::kNone);
    CHECK(cls("2001:4860:4860::8888") == SpecialRange::kNone);
  }

  TEST_CASE("IPv4-mapped IPv6 is classified and unmapped as IPv4") {
    CHECK(cls("::ffff:10.1.2.3") == SpecialRange::kPrivate);
    CHECK(cls("::ffff:127.0.0.1") == SpecialRange::kLoopback);
    CHECK(cls("::ffff:8.8.8.8") == SpecialRange::kNone);
    const auto mapped = IpAddress::parse("::ffff:8.8.4.4");
    REQUIRE(mapped.has_value());
    const IpAddress v4 = unmap_ipv4(*mapped);
    CHECK(v4.is_v4());
    CHECK(v4.to_string() == "8.8.4.4");
    const auto plain = IpAddress::parse("2001:4860::1");
    REQUIRE(plain.has_value());
    CHECK(unmap_ipv4(*plain) == *plain);
    CHECK(classify_special(IpAddress{}) == SpecialRange::kNone);
  }

  TEST_CASE("names") {
    CHECK(special_range_name(SpecialRange::kNone).empty());
    CHECK(special_range_name(SpecialRange::kCgnat) == "cgnat");
    CHECK(special_range_name(SpecialRange::kLinkLocal) == "link-local");
    CHECK(special_range_name(SpecialRange::kUniqueLocal) == "unique-local");
    CHECK(special_range_name(SpecialRange::kDocumentation) == "documentation");
  }
}
