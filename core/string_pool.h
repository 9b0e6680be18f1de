// Interned strings: many flows share the same fingerprints, ALPN lists, user agents and names, so
// they are stored once and flows keep views. Views stay valid as long as the pool lives (nodes of
// an unordered_set never move).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

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
    if (!take(s.size() + kEntryOverhead)) {
      ++dropped_;
      return kOverflow;
    }
    bytes_ += s.size() + kEntryOverhead;
    return *set_.emplace(s).first;
  }
  void set_max_bytes(std::size_t n) noexcept { max_bytes_ = n; }
  // --threads: the workers' pools draw on one budget (`shared` counts the bytes of all of them
  // against max_bytes), so that the cap is the same whatever the number of workers.
  void share_budget(std::shared_ptr<std::atomic<std::size_t>> shared) noexcept { shared_ = std::move(shared); }
  // Keeps `other` alive as long as this pool: a result merged from the workers' pools views into
  // all of them.
  void keep_alive(std::shared_ptr<const StringPool> other) { kept_.push_back(std::move(other)); }
  [[nodiscard]] std::size_t size() const noexcept { return set_.size(); }
  [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }
  // Values that could not be stored (each miss counts, repeats included).
  [[nodiscard]] std::uint64_t dropped() const noexcept { return dropped_; }

 private:
  struct Hash {  // lookups by string_view without building a string
    using is_transparent = void;
    std::size_t operator()(std::string_view v) const noexcept { return std::hash<std::string_view>{}(v); }
  };
  bool take(std::size_t n) noexcept {
    if (!shared_) return bytes_ + n <= max_bytes_;
    std::size_t used = shared_->load(std::memory_order_relaxed);
    do {
      if (used + n > max_bytes_) return false;
    } while (!shared_->compare_exchange_weak(used, used + n, std::memory_order_relaxed));
    return true;
  }

  std::unordered_set<std::string, Hash, std::equal_to<>> set_;
  std::shared_ptr<std::atomic<std::size_t>> shared_;
  std::vector<std::shared_ptr<const StringPool>> kept_;
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
