// Interned strings: many flows share the same fingerprints, ALPN lists, user agents and names, so
// they are stored once and flows keep views. Views stay valid as long as the pool lives (nodes of
// an unordered_set never move).
#pragma once

#include <string>
#include <string_view>
#include <unordered_set>

namespace flowaudit::core {

class StringPool {
 public:
  std::string_view intern(std::string_view s) {
    if (s.empty()) return {};
    return *set_.emplace(s).first;
  }
  [[nodiscard]] std::size_t size() const noexcept { return set_.size(); }

 private:
  std::unordered_set<std::string> set_;
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
