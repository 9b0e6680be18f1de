// Bounds-checked reads over untrusted bytes. Every read returns success; a failed read leaves the
// reader in a sticky failed state so a sequence of reads can be checked once at the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace flowaudit::core {

class ByteReader {
 public:
  ByteReader() = default;
  explicit ByteReader(std::span<const std::uint8_t> data) noexcept : data_(data) {}

  [[nodiscard]] bool ok() const noexcept { return !failed_; }
  [[nodiscard]] std::size_t offset() const noexcept { return pos_; }
  [[nodiscard]] std::size_t remaining() const noexcept { return failed_ ? 0 : data_.size() - pos_; }
  [[nodiscard]] std::span<const std::uint8_t> rest() const noexcept {
    return failed_ ? std::span<const std::uint8_t>{} : data_.subspan(pos_);
  }

  bool read_u8(std::uint8_t& v) noexcept {
    if (!need(1)) return false;
    v = data_[pos_++];
    return true;
  }
  bool read_u16be(std::uint16_t& v) noexcept { return read_be(v); }
  bool read_u32be(std::uint32_t& v) noexcept { return read_be(v); }
  bool read_u64be(std::uint64_t& v) noexcept { return read_be(v); }
  bool read_u16le(std::uint16_t& v) noexcept { return read_le(v); }
  bool read_u32le(std::uint32_t& v) noexcept { return read_le(v); }
  bool read_u64le(std::uint64_t& v) noexcept { return read_le(v); }
  bool read_u16(std::uint16_t& v, bool big_endian) noexcept { return big_endian ? read_be(v) : read_le(v); }
  bool read_u32(std::uint32_t& v, bool big_endian) noexcept { return big_endian ? read_be(v) : read_le(v); }

  bool peek_u8(std::uint8_t& v) const noexcept {
    if (failed_ || data_.size() - pos_ < 1) return false;
    v = data_[pos_];
    return true;
  }
  bool peek_u16be(std::uint16_t& v) const noexcept {
    ByteReader copy = *this;
    return copy.read_u16be(v);
  }

  bool skip(std::size_t n) noexcept {
    if (!need(n)) return false;
    pos_ += n;
    return true;
  }
  bool read_bytes(std::size_t n, std::span<const std::uint8_t>& out) noexcept {
    if (!need(n)) return false;
    out = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  // A reader over the next n bytes; this reader moves past them.
  bool sub_reader(std::size_t n, ByteReader& out) noexcept {
    std::span<const std::uint8_t> bytes;
    if (!read_bytes(n, bytes)) return false;
    out = ByteReader(bytes);
    return true;
  }

 private:
  bool need(std::size_t n) noexcept {
    // Written as a subtraction so that a huge n cannot overflow pos_ + n.
    if (failed_ || n > data_.size() - pos_) {
      failed_ = true;
      return false;
    }
    return true;
  }
  template <typename T>
  bool read_be(T& v) noexcept {
    if (!need(sizeof(T))) return false;
    T r = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) r = static_cast<T>((r << 8) | data_[pos_ + i]);
    pos_ += sizeof(T);
    v = r;
    return true;
  }
  template <typename T>
  bool read_le(T& v) noexcept {
    if (!need(sizeof(T))) return false;
    T r = 0;
    for (std::size_t i = sizeof(T); i-- > 0;) r = static_cast<T>((r << 8) | data_[pos_ + i]);
    pos_ += sizeof(T);
    v = r;
    return true;
  }

  std::span<const std::uint8_t> data_{};
  std::size_t pos_ = 0;
  bool failed_ = false;
};

}  // namespace flowaudit::core
