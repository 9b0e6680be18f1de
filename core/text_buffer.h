// A growable byte buffer written through a cursor, for the JSON writers (report/json_writer.h,
// report/events/event_writer.h). std::string checks its capacity and calls out of line for every
// character pushed, which the profiles of the reports and the events showed, and it cannot take
// room without filling it (resize_and_overwrite is C++23): written by hand.
#pragma once

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "core/escape.h"

namespace flowaudit::core {

// Grown by doubling, never zero-filled; clear() keeps the memory for the next use.
class TextBuffer {
 public:
  // Room for `n` more bytes; write them at the pointer returned, then commit() how many were.
  [[gnu::always_inline]] char* room(std::size_t n) {
    if (capacity_ - size_ < n) grow(n);
    return data_.get() + size_;
  }
  void commit(std::size_t n) noexcept { size_ += n; }
  void commit_to(const char* end) noexcept { size_ = static_cast<std::size_t>(end - data_.get()); }
  void append(std::string_view s) {
    if (s.empty()) return;
    std::memcpy(room(s.size()), s.data(), s.size());
    size_ += s.size();
  }
  // `s` as a JSON string literal: printable ASCII copied as it is, anything else through
  // core::append_json_string, the one JSON escaper. The one string writer of both JSON writers.
  [[gnu::always_inline]] void append_json_string(std::string_view s) {
    if (json_plain_prefix(s) != s.size()) {
      escaped(s);
      return;
    }
    char* p = room(s.size() + 2);
    *p++ = '"';
    if (!s.empty()) std::memcpy(p, s.data(), s.size());  // an empty view may have no data at all
    p += s.size();
    *p++ = '"';
    commit_to(p);
  }
  [[nodiscard]] std::string_view view() const noexcept { return {data_.get(), size_}; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  void clear() noexcept { size_ = 0; }

 private:
  [[gnu::noinline]] void escaped(std::string_view s) {
    thread_local std::string text;
    text.clear();
    core::append_json_string(text, s);
    append(text);
  }
  [[gnu::noinline]] void grow(std::size_t n) {
    const std::size_t want = std::max(size_ + n, std::max<std::size_t>(2 * capacity_, 64 * 1024));
    auto bigger = std::make_unique_for_overwrite<char[]>(want);
    if (size_ != 0) std::memcpy(bigger.get(), data_.get(), size_);
    data_ = std::move(bigger);
    capacity_ = want;
  }
  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace flowaudit::core
