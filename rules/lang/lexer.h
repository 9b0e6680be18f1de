// Lexer of the condition language: text -> tokens with positions. Bounded: input length, token
// length and token count are limited, and every failure is an Error with a position, never a throw.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "rules/lang/diagnostic.h"

namespace flowaudit::rules::lang {

enum class TokenKind : std::uint8_t {
  kEnd,
  kIdentifier,  // letters, digits, '_', '-', '.'; starts with a letter or '_' (geo.country, tls-sni)
  kString,      // '...' or "..." with escapes decoded
  kInteger,     // digits with an optional unit (KB, MB, GB, KiB, MiB, GiB), scaled
  kAnd,
  kOr,
  kNot,
  kIn,
  kContains,
  kStartsWith,
  kEndsWith,
  kGlob,
  kMatches,
  kExists,
  kTrue,
  kFalse,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kLParen,
  kRParen,
  kComma,
  kLBracket,
  kRBracket,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  SourcePos pos;
  std::string text;         // identifier or decoded string; the spelling for other tokens
  std::int64_t integer = 0;  // kInteger only
};

inline constexpr std::size_t kMaxConditionBytes = 64 * 1024;
inline constexpr std::size_t kMaxTokenBytes = 4096;
inline constexpr std::size_t kMaxTokens = 32768;

[[nodiscard]] std::string_view token_kind_name(TokenKind kind) noexcept;

// The tokens end with one kEnd token.
[[nodiscard]] std::variant<std::vector<Token>, Error> lex(std::string_view text);

}  // namespace flowaudit::rules::lang
