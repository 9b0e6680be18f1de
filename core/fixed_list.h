// A list with a fixed capacity and no heap: parsers of untrusted bytes fill these, so that a packet
// can neither allocate nor grow a list beyond its limit. push_back() says when the limit was hit.
#pragma once

#include <array>
#include <cstddef>
#include <span>

namespace flowaudit::core {

template <typename T, std::size_t N>
class FixedList {
 public:
  bool push_back(const T& v) noexcept {
    if (size_ == N) {
      overflowed_ = true;
      return false;
    }
    items_[size_++] = v;
    return true;
  }
  void clear_last() noexcept {
    if (size_ > 0) --size_;
  }
  void clear() noexcept {
    size_ = 0;
    overflowed_ = false;
  }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] bool overflowed() const noexcept { return overflowed_; }  // an item was dropped
  static constexpr std::size_t capacity() noexcept { return N; }
  const T& operator[](std::size_t i) const noexcept { return items_[i]; }
  T& operator[](std::size_t i) noexcept { return items_[i]; }
  const T* begin() const noexcept { return items_.data(); }
  const T* end() const noexcept { return items_.data() + size_; }
  [[nodiscard]] std::span<const T> view() const noexcept { return {items_.data(), size_}; }

 private:
  std::array<T, N> items_{};
  std::size_t size_ = 0;
  bool overflowed_ = false;
};

}  // namespace flowaudit::core
