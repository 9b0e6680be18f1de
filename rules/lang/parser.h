// Recursive-descent parser of conditions; the grammar is written above the parser in parser.cc and
// in docs/policy-language.md.
#pragma once

#include <cstddef>
#include <string_view>
#include <variant>

#include "rules/lang/ast.h"
#include "rules/lang/diagnostic.h"

namespace flowaudit::rules::lang {

// Nesting of parentheses and 'not' deeper than this is an error, not a stack overflow.
inline constexpr std::size_t kMaxNestingDepth = 64;

[[nodiscard]] std::variant<NodePtr, Error> parse_condition(std::string_view text);

}  // namespace flowaudit::rules::lang
