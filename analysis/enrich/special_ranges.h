// Address ranges that never reach a geolocation database: private, shared (CGNAT), loopback,
// link-local, multicast, documentation, unique-local, unspecified and broadcast. They are answered
// from the address bits alone, so a report never claims a country for 10.0.0.1.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/ip_address.h"

namespace flowaudit::analysis::enrich {

enum class SpecialRange : std::uint8_t {
  kNone = 0,
  kUnspecified,    // 0.0.0.0, ::
  kLoopback,       // 127/8, ::1
  kPrivate,        // 10/8, 172.16/12, 192.168/16 (RFC 1918)
  kCgnat,          // 100.64/10 (RFC 6598 shared address space)
  kLinkLocal,      // 169.254/16, fe80::/10
  kMulticast,      // 224/4, ff00::/8
  kDocumentation,  // 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32
  kUniqueLocal,    // fc00::/7
  kBroadcast,      // 255.255.255.255
};

// Short stable names used in reports: "private", "cgnat", "loopback", "link-local", "multicast",
// "documentation", "unique-local", "unspecified", "broadcast"; "" for kNone.
[[nodiscard]] std::string_view special_range_name(SpecialRange range) noexcept;

// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) become the IPv4 address; anything else is returned
// unchanged.
[[nodiscard]] core::IpAddress unmap_ipv4(const core::IpAddress& ip) noexcept;

// Classifies `ip` (IPv4-mapped IPv6 is classified as its IPv4 address).
[[nodiscard]] SpecialRange classify_special(const core::IpAddress& ip) noexcept;

}  // namespace flowaudit::analysis::enrich
