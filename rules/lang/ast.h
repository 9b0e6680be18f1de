// Syntax tree of a condition. Every node and every literal carries the position it was read at, so
// the compiler can point at the exact spot of a type error. Operators are enums, never strings.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rules/lang/diagnostic.h"

namespace flowaudit::rules::lang {

enum class NodeKind : std::uint8_t { kOr, kAnd, kNot, kCompare, kIn, kExists, kMacroRef, kBool };

enum class CompareOp : std::uint8_t {
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kContains,
  kStartsWith,
  kEndsWith,
  kGlob,
  kMatches,
};

[[nodiscard]] std::string_view compare_op_name(CompareOp op) noexcept;

struct Literal {
  enum class Kind : std::uint8_t { kString, kBareWord, kInteger, kBool };
  Kind kind = Kind::kString;
  SourcePos pos;
  std::string text;  // kString, kBareWord; the spelling for the others
  std::int64_t integer = 0;
  bool boolean = false;
};

struct Node {
  NodeKind kind = NodeKind::kBool;
  SourcePos pos;                                // the first token of the node
  std::vector<std::unique_ptr<Node>> children;  // kOr, kAnd (two or more), kNot (one)
  std::string name;                             // field (kCompare, kIn, kExists) or macro (kMacroRef)
  CompareOp op = CompareOp::kEq;                // kCompare
  Literal value;                                // kCompare
  std::vector<Literal> items;                   // kIn with a list literal
  std::string list_name;                        // kIn with a named list (then items is empty)
  SourcePos list_pos;                           // kIn: the list literal or the list name
  bool boolean = false;                         // kBool
};

using NodePtr = std::unique_ptr<Node>;

}  // namespace flowaudit::rules::lang
