#include "core/ip_address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace flowaudit::core {

static_assert(IpAddress::kTextMax == INET6_ADDRSTRLEN);

IpAddress IpAddress::v4(std::span<const std::uint8_t, 4> b) noexcept {
  IpAddress a;
  a.family_ = Family::kV4;
  std::memcpy(a.bytes_.data(), b.data(), 4);
  return a;
}

IpAddress IpAddress::v6(std::span<const std::uint8_t, 16> b) noexcept {
  IpAddress a;
  a.family_ = Family::kV6;
  std::memcpy(a.bytes_.data(), b.data(), 16);
  return a;
}

IpAddress IpAddress::v4(std::uint32_t host_order) noexcept {
  const std::array<std::uint8_t, 4> b{static_cast<std::uint8_t>(host_order >> 24),
                                      static_cast<std::uint8_t>(host_order >> 16),
                                      static_cast<std::uint8_t>(host_order >> 8),
                                      static_cast<std::uint8_t>(host_order)};
  return v4(std::span<const std::uint8_t, 4>(b));
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.size() >= INET6_ADDRSTRLEN || text.find('\0') != std::string_view::npos) return std::nullopt;
  char buf[INET6_ADDRSTRLEN] = {};
  std::memcpy(buf, text.data(), text.size());
  std::array<std::uint8_t, 16> raw{};
  if (inet_pton(AF_INET, buf, raw.data()) == 1) {
    return v4(std::span<const std::uint8_t, 4>(raw.data(), 4));
  }
  if (inet_pton(AF_INET6, buf, raw.data()) == 1) {
    return v6(std::span<const std::uint8_t, 16>(raw));
  }
  return std::nullopt;
}

std::size_t IpAddress::format(std::array<char, kTextMax>& buf) const noexcept {
  if (is_v4()) {
    // Dotted decimal without leading zeros, as inet_ntop writes it, without its sprintf: this
    // runs for every address a report, an event or a DNS answer names.
    std::size_t n = 0;
    for (std::size_t i = 0; i < 4; ++i) {
      const unsigned v = bytes_[i];
      if (i != 0) buf[n++] = '.';
      if (v >= 100) buf[n++] = static_cast<char>('0' + v / 100);
      if (v >= 10) buf[n++] = static_cast<char>('0' + v / 10 % 10);
      buf[n++] = static_cast<char>('0' + v % 10);
    }
    return n;
  }
  if (is_v6() && inet_ntop(AF_INET6, bytes_.data(), buf.data(), static_cast<socklen_t>(buf.size())) != nullptr) {
    return std::strlen(buf.data());
  }
  buf[0] = '-';
  return 1;
}

std::string IpAddress::to_string() const {
  std::array<char, kTextMax> buf{};
  return std::string(buf.data(), format(buf));
}

std::uint64_t IpAddress::hash() const noexcept {
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;
  std::memcpy(&lo, bytes_.data(), 8);
  std::memcpy(&hi, bytes_.data() + 8, 8);
  std::uint64_t h = lo * 0x9E3779B97F4A7C15ULL ^ (hi + static_cast<std::uint64_t>(family_));
  h ^= h >> 29;
  return h * 0xBF58476D1CE4E5B9ULL;
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
  Cidr c;
  const auto slash = text.find('/');
  const auto ip = IpAddress::parse(text.substr(0, slash));
  if (!ip) return std::nullopt;
  const unsigned max_prefix = ip->is_v4() ? 32 : 128;
  unsigned prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    const auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (ec != std::errc{} || p != digits.data() + digits.size() || digits.empty() || prefix > max_prefix) {
      return std::nullopt;
    }
  }
  c.base_ = *ip;
  c.prefix_ = prefix;
  return c;
}

bool Cidr::contains(const IpAddress& ip) const noexcept {
  if (ip.family() != base_.family()) return false;
  const auto& a = ip.bytes();
  const auto& b = base_.bytes();
  unsigned bits = prefix_;
  for (std::size_t i = 0; bits > 0; ++i, bits = bits >= 8 ? bits - 8 : 0) {
    const auto mask = static_cast<std::uint8_t>(bits >= 8 ? 0xFFu : 0xFFu << (8 - bits));
    if ((a[i] & mask) != (b[i] & mask)) return false;
  }
  return true;
}

std::string Cidr::to_string() const { return base_.to_string() + "/" + std::to_string(prefix_); }

}  // namespace flowaudit::core
