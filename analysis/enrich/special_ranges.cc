#include "analysis/enrich/special_ranges.h"

#include <array>
#include <span>

namespace flowaudit::analysis::enrich {
namespace {

struct Range {
  std::array<std::uint8_t, 16> base;
  unsigned prefix;
  SpecialRange kind;
};

// Compares the first `prefix` bits of `bytes` with `base`.
bool matches(const std::array<std::uint8_t, 16>& bytes, const Range& r) noexcept {
  const unsigned whole = r.prefix / 8;
  for (unsigned i = 0; i < whole; ++i) {
    if (bytes[i] != r.base[i]) return false;
  }
  const unsigned rest = r.prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xFFu << (8 - rest));
  return (bytes[whole] & mask) == (r.base[whole] & mask);
}

// Order matters only where ranges nest; none of these do.
constexpr std::array<Range, 12> kV4Ranges{{
    {{0, 0, 0, 0}, 32, SpecialRange::kUnspecified},
    {{255, 255, 255, 255}, 32, SpecialRange::kBroadcast},
    {{10}, 8, SpecialRange::kPrivate},
    {{172, 16}, 12, SpecialRange::kPrivate},
    {{192, 168}, 16, SpecialRange::kPrivate},
    {{100, 64}, 10, SpecialRange::kCgnat},
    {{127}, 8, SpecialRange::kLoopback},
    {{169, 254}, 16, SpecialRange::kLinkLocal},
    {{224}, 4, SpecialRange::kMulticast},
    {{192, 0, 2}, 24, SpecialRange::kDocumentation},
    {{198, 51, 100}, 24, SpecialRange::kDocumentation},
    {{203, 0, 113}, 24, SpecialRange::kDocumentation},
}};

constexpr std::array<Range, 6> kV6Ranges{{
    {{}, 128, SpecialRange::kUnspecified},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, SpecialRange::kLoopback},
    {{0xfe, 0x80}, 10, SpecialRange::kLinkLocal},
    {{0xff}, 8, SpecialRange::kMulticast},
    {{0x20, 0x01, 0x0d, 0xb8}, 32, SpecialRange::kDocumentation},
    {{0xfc}, 7, SpecialRange::kUniqueLocal},
}};

}  // namespace

std::string_view special_range_name(SpecialRange range) noexcept {
  switch (range) {
    case SpecialRange::kNone: return "";
    case SpecialRange::kUnspecified: return "unspecified";
    case SpecialRange::kLoopback: return "loopback";
    case SpecialRange::kPrivate: return "private";
    case SpecialRange::kCgnat: return "cgnat";
    case SpecialRange::kLinkLocal: return "link-local";
    case SpecialRange::kMulticast: return "multicast";
    case SpecialRange::kDocumentation: return "documentation";
    case SpecialRange::kUniqueLocal: return "unique-local";
    case SpecialRange::kBroadcast: return "broadcast";
  }
  return "";
}

core::IpAddress unmap_ipv4(const core::IpAddress& ip) noexcept {
  if (!ip.is_v6()) return ip;
  const auto& b = ip.bytes();
  for (int i = 0; i < 10; ++i) {
    if (b[i] != 0) return ip;
  }
  if (b[10] != 0xff || b[11] != 0xff) return ip;
  return core::IpAddress::v4(std::span<const std::uint8_t, 4>(b.data() + 12, 4));
}

SpecialRange classify_special(const core::IpAddress& ip) noexcept {
  const core::IpAddress a = unmap_ipv4(ip);
  if (a.is_v4()) {
    for (const Range& r : kV4Ranges) {
      if (matches(a.bytes(), r)) return r.kind;
    }
  } else if (a.is_v6()) {
    for (const Range& r : kV6Ranges) {
      if (matches(a.bytes(), r)) return r.kind;
    }
  }
  return SpecialRange::kNone;
}

}  // namespace flowaudit::analysis::enrich
