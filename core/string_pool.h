// Interned strings: many flows share the same fingerprints, ALPN lists, user agents and names, so
// they are stored once and flows keep views. Views stay valid as long as the pool lives (nodes of
// an unordered_set never move).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>

namespace flowaudit::core {

// Bounded: a flood of distinct names (random subdomains, one per flow) must not grow it without
// limit. Past the byte budget a new value is not stored: intern() returns kOverflow, a value no
// parser produces, and the miss is counted so that the report can say what it could not keep.
class StringPool {
 public:
  static constexpr std::string_view kOverflow = "(not kept: string pool full)";
  // Bytes of distinct strings kept, plus a per-entry overhead (a hash node).
  static constexpr std::size_t kEntryOverhead = 64;

  std::string_view intern(std::string_view s) {
    if (s.empty()) return {};
    if (const auto it = set_.find(s); it != set_.end()) return *it;
    if (bytes_ + s.size() + kEntryOverhead > max_bytes_) {
      ++dropped_;
      return kOverflow;
    }
    bytes_ += s.size() + kEntryOverhead;
    return *set_.emplace(s).first;
  }
  void set_max_bytes(std::size_t n) noexcept { max_bytes_ = n; }
  [[nodiscard]] std::size_t size() const noexcept { return set_.size(); }
  [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }
  // Values that could not be stored (each miss counts, repeats included).
  [[nodiscard]] std::uint64_t dropped() const noexcept { return dropped_; }

 private:
  struct Hash {  // lookups by string_view without building a string
    using is_transparent = void;
    std::size_t operator()(std::string_view v) const noexcept { return std::hash<std::string_view>{}(v); }
  };
  std::unordered_set<std::string, Hash, std::equal_to<>> set_;
  std::size_t bytes_ = 0;
  std::size_t max_bytes_ = std::size_t{64} << 20;
  std::uint64_t dropped_ = 0;
};

// Lists stored as one interned string with '\0' between items (items never contain NUL here:
// ALPN ids and DNS names are escaped or printable by the time they are stored).
inline constexpr char kListSeparator = '\0';

// Joins items with kListSeparator (the inverse of for_each_item).
template <typename Range>
std::string join_items(const Range& items) {
  std::string out;
  bool first = true;
  for (const auto& item : items) {
    if (!first) out.push_back(kListSeparator);
    first = false;
    out.append(std::string_view(item));
  }
  return out;
}

template <typename F>
void for_each_item(std::string_view joined, F&& f) {
  if (joined.empty()) return;
  std::size_t start = 0;
  for (;;) {
    const auto pos = joined.find(kListSeparator, start);
    f(joined.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) return;
    start = pos + 1;
  }
}

}  // namespace flowaudit::core
