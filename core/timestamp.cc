#include "core/timestamp.h"

#include <ctime>
#include <limits>

namespace flowaudit::core {
namespace {

constexpr std::int64_t kSecondsPerDay = 86400;

void two_digits(char* p, unsigned v) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
}

}  // namespace

std::size_t format_iso8601(TimestampNs ts, Iso8601Buffer& out) {
  std::int64_t secs = ts / kNsPerSecond;
  std::int64_t rem = ts % kNsPerSecond;
  if (rem < 0) {
    rem += kNsPerSecond;
    --secs;
  }
  std::int64_t day = secs / kSecondsPerDay;
  std::int64_t sod = secs % kSecondsPerDay;
  if (sod < 0) {
    sod += kSecondsPerDay;
    --day;
  }
  // Reports print many timestamps of the same day: convert the date once per day.
  thread_local std::int64_t cached_day = std::numeric_limits<std::int64_t>::min();
  thread_local char cached_date[16];
  thread_local bool cached_ok = false;
  if (day != cached_day) {
    cached_day = day;
    const std::time_t t = static_cast<std::time_t>(day * kSecondsPerDay);
    std::tm tm{};
    cached_ok = gmtime_r(&t, &tm) != nullptr && tm.tm_year + 1900 >= 0 && tm.tm_year + 1900 <= 9999;
    if (cached_ok) {
      const auto year = static_cast<unsigned>(tm.tm_year + 1900);
      cached_date[0] = static_cast<char>('0' + year / 1000);
      cached_date[1] = static_cast<char>('0' + year / 100 % 10);
      two_digits(cached_date + 2, year % 100);
      cached_date[4] = '-';
      two_digits(cached_date + 5, static_cast<unsigned>(tm.tm_mon + 1));
      cached_date[7] = '-';
      two_digits(cached_date + 8, static_cast<unsigned>(tm.tm_mday));
    }
  }
  if (!cached_ok) {
    static constexpr char kInvalid[] = "invalid";
    for (std::size_t i = 0; i < sizeof kInvalid; ++i) out[i] = kInvalid[i];
    return sizeof kInvalid - 1;
  }
  char* p = out.data();
  for (int i = 0; i < 10; ++i) *p++ = cached_date[i];
  *p++ = 'T';
  two_digits(p, static_cast<unsigned>(sod / 3600));
  p[2] = ':';
  two_digits(p + 3, static_cast<unsigned>(sod / 60 % 60));
  p[5] = ':';
  two_digits(p + 6, static_cast<unsigned>(sod % 60));
  p[8] = '.';
  p += 9;
  auto micros = static_cast<unsigned>(rem / 1000);
  for (int i = 5; i >= 0; --i) {
    p[i] = static_cast<char>('0' + micros % 10);
    micros /= 10;
  }
  p += 6;
  *p++ = 'Z';
  *p = '\0';
  return static_cast<std::size_t>(p - out.data());
}

std::string format_iso8601(TimestampNs ts) {
  Iso8601Buffer buf;
  return std::string(buf.data(), format_iso8601(ts, buf));
}

}  // namespace flowaudit::core
