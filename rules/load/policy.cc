#include "rules/load/policy.h"

#include <array>
#include <chrono>

namespace flowaudit::rules {
namespace {
constexpr std::array<std::string_view, kSeverityCount> kSeverityNames{"info", "low", "medium", "high", "critical"};
}  // namespace

std::string_view severity_name(Severity severity) noexcept {
  const auto i = static_cast<std::size_t>(severity);
  return i < kSeverityNames.size() ? kSeverityNames[i] : "?";
}

std::optional<Severity> parse_severity(std::string_view text) noexcept {
  for (std::size_t i = 0; i < kSeverityNames.size(); ++i) {
    if (kSeverityNames[i] == text) return static_cast<Severity>(i);
  }
  return std::nullopt;
}

std::optional<Date> parse_date(std::string_view text) noexcept {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  unsigned value[3] = {0, 0, 0};
  const std::size_t starts[3] = {0, 5, 8};
  const std::size_t lengths[3] = {4, 2, 2};
  for (int part = 0; part < 3; ++part) {
    for (std::size_t i = 0; i < lengths[part]; ++i) {
      const char c = text[starts[part] + i];
      if (c < '0' || c > '9') return std::nullopt;
      value[part] = value[part] * 10 + static_cast<unsigned>(c - '0');
    }
  }
  const std::chrono::year_month_day ymd{std::chrono::year{static_cast<int>(value[0])}, std::chrono::month{value[1]},
                                        std::chrono::day{value[2]}};
  if (!ymd.ok() || value[0] < 1970) return std::nullopt;
  return value[0] * 10000 + value[1] * 100 + value[2];
}

std::string format_date(Date date) {
  char buffer[16];
  const unsigned y = date / 10000 % 10000;
  const unsigned m = date / 100 % 100;
  const unsigned d = date % 100;
  buffer[0] = static_cast<char>('0' + y / 1000);
  buffer[1] = static_cast<char>('0' + y / 100 % 10);
  buffer[2] = static_cast<char>('0' + y / 10 % 10);
  buffer[3] = static_cast<char>('0' + y % 10);
  buffer[4] = '-';
  buffer[5] = static_cast<char>('0' + m / 10);
  buffer[6] = static_cast<char>('0' + m % 10);
  buffer[7] = '-';
  buffer[8] = static_cast<char>('0' + d / 10);
  buffer[9] = static_cast<char>('0' + d % 10);
  return std::string(buffer, 10);
}

Date today_utc() noexcept {
  const auto days = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now());
  const std::chrono::year_month_day ymd{days};
  return static_cast<Date>(static_cast<int>(ymd.year())) * 10000 + static_cast<unsigned>(ymd.month()) * 100 +
         static_cast<unsigned>(ymd.day());
}

}  // namespace flowaudit::rules
