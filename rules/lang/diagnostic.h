// Source positions and errors of the condition language. Positions live inside the error itself, so
// a caller that knows the file (the policy loader) can render one actionable line with a caret.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace flowaudit::rules::lang {

// 1-based line and column (columns count bytes), 0-based byte offset into the condition text.
struct SourcePos {
  std::uint32_t line = 1;
  std::uint32_t column = 1;
  std::size_t offset = 0;
  friend bool operator==(const SourcePos&, const SourcePos&) = default;
};

struct Error {
  std::string message;
  SourcePos pos;
  // Macros the error was found in, outermost first: the position is inside the text of the last one
  // (or inside the condition itself when this is empty).
  std::vector<std::string> macro_chain;
};

// "FILE:LINE:COL: message" (with " (in macro a > b)" when found inside macros), then the source line
// and a caret under the column. `source` is the text the position refers to.
[[nodiscard]] std::string render_error(const Error& error, std::string_view file, std::string_view source);

}  // namespace flowaudit::rules::lang
