// Timestamps are nanoseconds since the Unix epoch in a signed 64-bit integer (good until 2262).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace flowaudit::core {

using TimestampNs = std::int64_t;
inline constexpr TimestampNs kNsPerSecond = 1'000'000'000;

// The wall clock now, in the same terms as a live capture's packet timestamps (the kernel stamps
// packets with the real-time clock), so the two can be compared.
inline TimestampNs wall_clock_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// True when more than `limit` has passed from `since` to `now`; a clock that went backwards never
// counts as elapsed. Computed unsigned so that extreme timestamps from a damaged file cannot overflow.
inline bool elapsed_more_than(TimestampNs since, TimestampNs now, TimestampNs limit) noexcept {
  return now > since && static_cast<std::uint64_t>(now) - static_cast<std::uint64_t>(since) >
                            static_cast<std::uint64_t>(limit);
}

// ISO 8601 in UTC with microseconds, e.g. 2025-01-29T10:00:00.123456Z ("invalid" outside years
// 0-9999). The buffer form writes without allocating and returns the length.
using Iso8601Buffer = std::array<char, 32>;
std::size_t format_iso8601(TimestampNs ts, Iso8601Buffer& out);
std::string format_iso8601(TimestampNs ts);

}  // namespace flowaudit::core
