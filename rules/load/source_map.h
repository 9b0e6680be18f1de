// Positions inside YAML scalars. A condition's parser reports an offset into the condition's text;
// the user needs the line and column in the policy file, where that text may be quoted, folded over
// several lines or written as a block scalar. yaml-cpp only gives the position where a scalar
// starts, so the rest is mapped here by hand (no library does it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace flowaudit::rules::load {

// 0-based line and column (bytes) and byte offset in a file's text.
struct Location {
  std::uint32_t line = 0;
  std::uint32_t column = 0;
  std::size_t offset = 0;
  bool known = false;
};

// The start of a scalar as yaml-cpp marks it: its first character in the file, which is the quote
// of a quoted scalar and the '|' or '>' of a block scalar.
[[nodiscard]] Location location_at(std::string_view file_text, std::size_t offset) noexcept;

// Where character `offset` of a scalar's value lies in the file. The value is aligned with the file
// text from the scalar's start: characters that are equal advance both, a space of the value may
// stand for a folded line break, everything else in the file (quotes, escapes, indentation, block
// indicators) is skipped. If the alignment fails, the scalar's start is returned.
[[nodiscard]] Location locate_in_scalar(std::string_view file_text, std::size_t scalar_start, std::string_view value,
                                        std::size_t offset) noexcept;

// Control characters shown as '?', so that a message stays one line.
[[nodiscard]] std::string one_line(std::string_view text);

// "FILE:LINE:COL: message", the file's line and a caret under the column. Lines and columns are
// printed 1-based; an unknown location prints just "FILE: message".
[[nodiscard]] std::string render_at(std::string_view file, std::string_view file_text, Location where,
                                    std::string_view message);

}  // namespace flowaudit::rules::load
