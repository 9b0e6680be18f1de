#include "core/timestamp.h"

#include <fmt/format.h>

#include <ctime>

namespace flowaudit::core {

std::string format_iso8601(TimestampNs ts) {
  std::int64_t secs = ts / kNsPerSecond;
  std::int64_t rem = ts % kNsPerSecond;
  if (rem < 0) {
    rem += kNsPerSecond;
    --secs;
  }
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return "invalid";
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, rem / 1000);
}

}  // namespace flowaudit::core
