// Compiler of conditions: checks a syntax tree against the field registry, resolves macros and
// named lists on the tree (never by text substitution) and produces a Predicate that evaluates a
// Record without throwing.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/ip_address.h"
#include "rules/lang/ast.h"
#include "rules/lang/diagnostic.h"
#include "rules/lang/fields.h"

namespace flowaudit::rules::lang {

// A field's value as a Record gives it. Strings (and lists: items separated by core::kListSeparator,
// '\0', as core/string_pool.h joins them) are views that
// must stay valid while evaluate() runs.
using Value = std::variant<std::string_view, std::int64_t, bool, core::IpAddress>;

// What a condition is evaluated on: the report objects (destination, flow, DNS query, capture)
// implement this. std::nullopt means the field has no value here (e.g. no service matched).
class Record {
 public:
  virtual ~Record() = default;
  [[nodiscard]] virtual std::optional<Value> get(FieldId field) const = 0;
};

using MacroMap = std::map<std::string, const Node*, std::less<>>;
using ListMap = std::map<std::string, std::vector<std::string>, std::less<>>;

struct CompileOptions {
  const MacroMap* macros = nullptr;  // macro name -> parsed condition
  const ListMap* lists = nullptr;    // list name -> values (checked against the field's type)
  std::optional<Scope> scope;        // when set, only fields visible from this scope are allowed
};

// Macros can nest through each other; the compiled tree is limited to this depth.
inline constexpr std::size_t kMaxCompiledDepth = 256;
// Macros are shared in the compiled tree, but evaluation visits every use: the number of nodes an
// evaluation may visit is limited too (a macro used twice in each of 40 macros would be 2^40).
inline constexpr std::size_t kMaxCompiledNodes = 100000;

namespace detail {
struct CompiledNode;
}

// A set of fields, one bit per FieldId, in two words (the table outgrew one 64-bit word when the
// request fields of issue 17 arrived). A value type: cheap to copy, no allocation.
class FieldSet {
 public:
  static constexpr std::size_t kWords = 2;
  static constexpr std::size_t kCapacity = 64 * kWords;

  constexpr FieldSet() noexcept = default;
  [[nodiscard]] static constexpr FieldSet of(FieldId field) noexcept {
    FieldSet out;
    const auto i = static_cast<std::size_t>(field);
    out.w_[i / 64] = std::uint64_t{1} << (i % 64);
    return out;
  }
  [[nodiscard]] constexpr bool none() const noexcept { return (w_[0] | w_[1]) == 0; }
  [[nodiscard]] constexpr bool any() const noexcept { return !none(); }
  [[nodiscard]] constexpr bool has(FieldId field) const noexcept { return (*this & of(field)).any(); }
  [[nodiscard]] constexpr int count() const noexcept { return std::popcount(w_[0]) + std::popcount(w_[1]); }
  // Calls f(FieldId) for every field in the set, in id order.
  template <typename F>
  constexpr void for_each(F&& f) const {
    for (std::size_t k = 0; k < kWords; ++k) {
      for (std::uint64_t m = w_[k]; m != 0; m &= m - 1) {
        f(static_cast<FieldId>(k * 64 + static_cast<std::size_t>(std::countr_zero(m))));
      }
    }
  }
  constexpr FieldSet& operator|=(FieldSet o) noexcept {
    w_[0] |= o.w_[0];
    w_[1] |= o.w_[1];
    return *this;
  }
  constexpr FieldSet& operator&=(FieldSet o) noexcept {
    w_[0] &= o.w_[0];
    w_[1] &= o.w_[1];
    return *this;
  }
  [[nodiscard]] friend constexpr FieldSet operator|(FieldSet a, FieldSet b) noexcept { return a |= b; }
  [[nodiscard]] friend constexpr FieldSet operator&(FieldSet a, FieldSet b) noexcept { return a &= b; }
  [[nodiscard]] friend constexpr FieldSet operator~(FieldSet a) noexcept {
    a.w_[0] = ~a.w_[0];
    a.w_[1] = ~a.w_[1];
    return a;
  }
  [[nodiscard]] friend constexpr bool operator==(FieldSet, FieldSet) noexcept = default;

 private:
  std::array<std::uint64_t, kWords> w_{};
};
static_assert(kFieldCount <= FieldSet::kCapacity, "FieldSet has one bit per field: add a word");
[[nodiscard]] constexpr FieldSet field_bit(FieldId field) noexcept { return FieldSet::of(field); }

class Predicate {
 public:
  explicit Predicate(std::shared_ptr<const detail::CompiledNode> root);

  // Whether the condition can be true on a record whose fields with a value are `present`: false
  // means it cannot, and evaluate() may be skipped. Computed once from the tree as a few clauses
  // "one of these fields has a value" implied by the condition (a comparison needs its field, `and`
  // needs the clauses of all its parts, `or` one field of each part); `not` implies nothing.
  // Every field the condition reads (through its macros too).
  [[nodiscard]] FieldSet fields() const noexcept { return fields_; }

  [[nodiscard]] bool may_match(FieldSet present) const noexcept {
    for (std::size_t i = 0; i < clause_count_; ++i) {
      if ((clauses_[i] & present).none()) return false;
    }
    return true;
  }

  // A field without a value makes every comparison on it false (including !=); `not` inverts that.
  // Never throws; regular expressions (RE2, see regex.h) run in time linear in the value.
  [[nodiscard]] bool evaluate(const Record& record) const noexcept;

 private:
  std::shared_ptr<const detail::CompiledNode> root_;
  static constexpr std::size_t kMaxClauses = 4;
  std::array<FieldSet, kMaxClauses> clauses_{};
  std::size_t clause_count_ = 0;
  FieldSet fields_;
};

[[nodiscard]] std::variant<Predicate, Error> compile(const Node& root, const CompileOptions& options = {});

// '*' matches any run of characters, '?' any one character; everything else matches itself.
[[nodiscard]] bool glob_match(std::string_view pattern, std::string_view text) noexcept;

}  // namespace flowaudit::rules::lang
