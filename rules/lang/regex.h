// The `matches` operator's regular expressions: RE2, which runs in time linear in the subject (no
// backtracking), so a policy cannot hang a run on a hostile hostname or User-Agent. Patterns are
// checked and compiled when the policy loads; matching never fails.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

namespace re2 {
class RE2;
}

namespace flowaudit::rules::lang {

// Pattern length, and the memory RE2 may use for one pattern (program and the lazily built DFA
// cache; when the cache runs out RE2 continues with its NFA, still linear).
inline constexpr std::size_t kMaxRegexBytes = 1024;
inline constexpr std::int64_t kRegexMaxMem = 1 << 20;
// RE2 program instructions: sensible patterns use a few hundred ([a-z]{1,63} is ~130).
inline constexpr int kMaxRegexProgram = 5000;

class Regex {
 public:
  // A compiled pattern, or a one-line message saying what is wrong with it (and, for constructs
  // other engines accept but RE2 does not, how to write the condition instead).
  [[nodiscard]] static std::variant<Regex, std::string> compile(std::string_view pattern);

  // Search semantics (RE2::PartialMatch): true if the pattern matches anywhere in `subject`;
  // anchor with ^ and $ for a whole-value match. Subjects are bytes (Latin-1): invalid UTF-8 from
  // the wire is matched like any other bytes. Thread-safe.
  [[nodiscard]] bool search(std::string_view subject) const noexcept;

 private:
  explicit Regex(std::shared_ptr<const re2::RE2> re) : re_(std::move(re)) {}
  std::shared_ptr<const re2::RE2> re_;
};

}  // namespace flowaudit::rules::lang
