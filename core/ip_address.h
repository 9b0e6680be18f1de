// IPv4/IPv6 addresses as a small value type, and CIDR prefixes.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace flowaudit::core {

class IpAddress {
 public:
  enum class Family : std::uint8_t { kNone = 0, kV4 = 4, kV6 = 6 };

  IpAddress() = default;
  static IpAddress v4(std::span<const std::uint8_t, 4> b) noexcept;
  static IpAddress v6(std::span<const std::uint8_t, 16> b) noexcept;
  static IpAddress v4(std::uint32_t host_order) noexcept;
  static std::optional<IpAddress> parse(std::string_view text);

  [[nodiscard]] Family family() const noexcept { return family_; }
  [[nodiscard]] bool is_v4() const noexcept { return family_ == Family::kV4; }
  [[nodiscard]] bool is_v6() const noexcept { return family_ == Family::kV6; }
  [[nodiscard]] const std::array<std::uint8_t, 16>& bytes() const noexcept { return bytes_; }
  [[nodiscard]] std::size_t size() const noexcept { return is_v4() ? 4 : is_v6() ? 16 : 0; }
  [[nodiscard]] std::string to_string() const;
  // The same text into `buf` (no allocation); returns its length. kTextMax is INET6_ADDRSTRLEN.
  static constexpr std::size_t kTextMax = 46;
  std::size_t format(std::array<char, kTextMax>& buf) const noexcept;
  [[nodiscard]] std::uint64_t hash() const noexcept;

  // Compared as two 64-bit words: these run several times per packet in the flow table, where the
  // defaulted (memcmp-based) comparisons showed up in profiles. Order is numeric, IPv4 first.
  friend bool operator==(const IpAddress& a, const IpAddress& b) noexcept {
    return a.family_ == b.family_ && a.word(0) == b.word(0) && a.word(1) == b.word(1);
  }
  friend std::strong_ordering operator<=>(const IpAddress& a, const IpAddress& b) noexcept {
    if (a.family_ != b.family_) return a.family_ <=> b.family_;
    if (a.word(0) != b.word(0)) return __builtin_bswap64(a.word(0)) <=> __builtin_bswap64(b.word(0));
    return __builtin_bswap64(a.word(1)) <=> __builtin_bswap64(b.word(1));
  }

 private:
  [[nodiscard]] std::uint64_t word(int i) const noexcept {
    std::uint64_t w;
    std::memcpy(&w, bytes_.data() + 8 * i, 8);
    return w;
  }

  Family family_ = Family::kNone;
  std::array<std::uint8_t, 16> bytes_{};  // IPv4 in the first four bytes, the rest zero
};

class Cidr {
 public:
  static std::optional<Cidr> parse(std::string_view text);
  [[nodiscard]] bool contains(const IpAddress& ip) const noexcept;
  [[nodiscard]] std::string to_string() const;
  [[nodiscard]] const IpAddress& base() const noexcept { return base_; }
  [[nodiscard]] unsigned prefix() const noexcept { return prefix_; }

 private:
  IpAddress base_;
  unsigned prefix_ = 0;
};

}  // namespace flowaudit::core
