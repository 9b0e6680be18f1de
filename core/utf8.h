// UTF-8 validation shared by the report writers: every string from a capture is untrusted bytes,
// and each output format has to replace what is not valid UTF-8 before it escapes the rest.
// Hand-written: a few lines of RFC 3629, not worth a dependency.
#pragma once

#include <cstddef>
#include <string_view>

namespace flowaudit::core {

// U+FFFD REPLACEMENT CHARACTER, what invalid bytes become.
inline constexpr std::string_view kUtf8Replacement = "\xEF\xBF\xBD";

// Length of the valid UTF-8 sequence starting at s[i] (i < s.size()), or 0 if it is not valid
// (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
[[nodiscard]] inline std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return 1;
  std::size_t len = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (s.size() - i < len) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return 0;
  }
  return len;
}

}  // namespace flowaudit::core
