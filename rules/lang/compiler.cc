#include "rules/lang/compiler.h"

#include "core/string_pool.h"
#include "rules/lang/regex.h"

#include <algorithm>
#include <array>
#include <set>
#include <utility>

namespace flowaudit::rules::lang {
namespace detail {

struct CompiledNode {
  enum class Kind : std::uint8_t { kOr, kAnd, kNot, kConst, kCompare, kIn, kExists };
  Kind kind = Kind::kConst;
  std::vector<std::shared_ptr<const CompiledNode>> children;
  bool constant = false;
  FieldId field = FieldId::kHostname;
  FieldType type = FieldType::kString;
  CompareOp op = CompareOp::kEq;
  std::string text;                 // string, country, list item, glob pattern
  std::int64_t integer = 0;
  bool boolean = false;
  std::vector<core::Cidr> cidrs;    // address = / != (one) and in
  std::vector<std::string> strings;  // in, sorted
  std::vector<std::int64_t> integers;  // in, sorted
  std::optional<Regex> regex;
  std::size_t depth = 1;
  std::size_t size = 1;  // nodes evaluated when every branch runs (a shared macro counts each time)
};

}  // namespace detail

namespace {

using detail::CompiledNode;
using CNodePtr = std::shared_ptr<const CompiledNode>;
using Kind = CompiledNode::Kind;

std::string_view allowed_ops(FieldType type) noexcept {
  switch (type) {
    case FieldType::kString: return "=, !=, contains, startswith, endswith, glob, matches, in, exists";
    case FieldType::kInteger: return "=, !=, <, <=, >, >=, in, exists";
    case FieldType::kBoolean: return "=, !=, exists";
    case FieldType::kAddress: return "=, !=, in, exists";
    case FieldType::kCountry: return "=, !=, in, exists";
    case FieldType::kList: return "contains, in, exists";
  }
  return "";
}

bool op_allowed(FieldType type, CompareOp op) noexcept {
  switch (type) {
    case FieldType::kString: return op == CompareOp::kEq || op == CompareOp::kNe || op >= CompareOp::kContains;
    case FieldType::kInteger: return op <= CompareOp::kGe;
    case FieldType::kBoolean:
    case FieldType::kAddress:
    case FieldType::kCountry: return op == CompareOp::kEq || op == CompareOp::kNe;
    case FieldType::kList: return op == CompareOp::kContains;
  }
  return false;
}

std::string describe(const Literal& literal) {
  switch (literal.kind) {
    case Literal::Kind::kString: return "string '" + literal.text.substr(0, 64) + "'";
    case Literal::Kind::kBareWord: return "word '" + literal.text.substr(0, 64) + "'";
    case Literal::Kind::kInteger: return "number " + std::to_string(literal.integer);
    case Literal::Kind::kBool: return literal.boolean ? "'true'" : "'false'";
  }
  return "value";
}

bool is_country(std::string_view text) noexcept {
  return text.size() == 2 && text[0] >= 'A' && text[0] <= 'Z' && text[1] >= 'A' && text[1] <= 'Z';
}

std::optional<core::Cidr> parse_address_or_cidr(std::string_view text) {
  if (text.find('/') != std::string_view::npos) return core::Cidr::parse(text);
  auto ip = core::IpAddress::parse(text);
  if (!ip) return std::nullopt;
  return core::Cidr::parse(std::string(text) + (ip->is_v4() ? "/32" : "/128"));
}

class Compiler {
 public:
  explicit Compiler(const CompileOptions& options) : options_(options) {}

  std::variant<Predicate, Error> run(const Node& root) {
    CNodePtr compiled = node(root);
    if (error_) return std::move(*error_);
    return Predicate(std::move(compiled));
  }

 private:
  CNodePtr fail(std::string message, SourcePos pos) {
    if (!error_) error_ = Error{std::move(message), pos, stack_};
    return nullptr;
  }

  CNodePtr finish(std::shared_ptr<CompiledNode> n, SourcePos pos) {
    for (const CNodePtr& child : n->children) {
      n->depth = std::max(n->depth, child->depth + 1);
      n->size = std::min(n->size + child->size, kMaxCompiledNodes + 1);
    }
    // Macros are shared, not copied, but evaluation still walks every use: bound the total work.
    if (n->size > kMaxCompiledNodes) {
      return fail("condition expands to more than " + std::to_string(kMaxCompiledNodes) +
                      " nodes through its macros",
                  pos);
    }
    if (n->depth > kMaxCompiledDepth) {
      return fail("condition nests deeper than " + std::to_string(kMaxCompiledDepth) + " levels through its macros",
                  pos);
    }
    return n;
  }

  CNodePtr node(const Node& n) {
    switch (n.kind) {
      case NodeKind::kOr:
      case NodeKind::kAnd:
      case NodeKind::kNot: {
        auto out = std::make_shared<CompiledNode>();
        out->kind = n.kind == NodeKind::kOr ? Kind::kOr : n.kind == NodeKind::kAnd ? Kind::kAnd : Kind::kNot;
        for (const NodePtr& child : n.children) {
          CNodePtr c = node(*child);
          if (!c) return nullptr;
          out->children.push_back(std::move(c));
        }
        return finish(std::move(out), n.pos);
      }
      case NodeKind::kBool: {
        auto out = std::make_shared<CompiledNode>();
        out->kind = Kind::kConst;
        out->constant = n.boolean;
        return out;
      }
      case NodeKind::kMacroRef: return macro(n);
      case NodeKind::kCompare: return compare(n);
      case NodeKind::kIn: return in(n);
      case NodeKind::kExists: {
        auto out = field_node(n, Kind::kExists);
        return out;
      }
    }
    return fail("unknown node", n.pos);
  }

  std::shared_ptr<CompiledNode> field_node(const Node& n, Kind kind) {
    const auto id = find_field(n.name);
    if (!id) {
      fail("unknown field '" + n.name + "' (flowaudit rules fields lists them)", n.pos);
      return nullptr;
    }
    const FieldInfo& info = field_info(*id);
    if (options_.scope && !field_visible(info.scope, *options_.scope)) {
      fail("field '" + n.name + "' belongs to " + std::string(scope_name(info.scope)) + " records, not to a " +
               std::string(scope_name(*options_.scope)) + " rule",
           n.pos);
      return nullptr;
    }
    auto out = std::make_shared<CompiledNode>();
    out->kind = kind;
    out->field = *id;
    out->type = info.type;
    return out;
  }

  CNodePtr macro(const Node& n) {
    if (options_.macros != nullptr) {
      if (auto it = options_.macros->find(n.name); it != options_.macros->end()) {
        if (auto done = compiled_macros_.find(n.name); done != compiled_macros_.end()) return done->second;
        if (std::find(stack_.begin(), stack_.end(), n.name) != stack_.end()) {
          std::string cycle;
          for (const std::string& name : stack_) cycle += name + " > ";
          return fail("macro cycle: " + cycle + n.name, n.pos);
        }
        if (it->second == nullptr) return fail("macro '" + n.name + "' has no condition", n.pos);
        stack_.push_back(n.name);
        CNodePtr body = node(*it->second);
        stack_.pop_back();
        if (!body) return nullptr;
        compiled_macros_.emplace(n.name, body);
        return body;
      }
    }
    if (const auto id = find_field(n.name)) {
      // A boolean field on its own means "= true".
      if (field_info(*id).type != FieldType::kBoolean) {
        return fail("field '" + n.name + "' is " + article(field_info(*id).type) +
                        ": it needs an operator (only boolean fields stand alone)",
                    n.pos);
      }
      auto out = field_node(n, Kind::kCompare);
      if (!out) return nullptr;
      out->op = CompareOp::kEq;
      out->boolean = true;
      return out;
    }
    return fail("unknown macro '" + n.name + "'", n.pos);
  }

  static std::string article(FieldType type) {
    const std::string_view name = field_type_name(type);
    return (type == FieldType::kInteger || type == FieldType::kAddress ? "an " : "a ") + std::string(name);
  }

  CNodePtr compare(const Node& n) {
    auto out = field_node(n, Kind::kCompare);
    if (!out) return nullptr;
    if (!op_allowed(out->type, n.op)) {
      return fail("operator '" + std::string(compare_op_name(n.op)) + "' does not apply to " + article(out->type) +
                      " field '" + n.name + "' (use " + std::string(allowed_ops(out->type)) + ")",
                  n.pos);
    }
    out->op = n.op;
    const Literal& v = n.value;
    if (!check_value(*out, n.name, v, v.pos)) return nullptr;
    switch (out->type) {
      case FieldType::kInteger: out->integer = v.integer; break;
      case FieldType::kBoolean: out->boolean = v.boolean; break;
      case FieldType::kAddress: out->cidrs.push_back(*parse_address_or_cidr(v.text)); break;
      default: out->text = v.text; break;
    }
    if (n.op == CompareOp::kMatches) {
      // Compiled here, once: a bad pattern is a policy error, never a run-time one.
      auto compiled = Regex::compile(v.text);
      if (auto* message = std::get_if<std::string>(&compiled)) return fail(std::move(*message), v.pos);
      out->regex.emplace(std::get<Regex>(std::move(compiled)));
    }
    return out;
  }

  // Checks one literal against the field's type; `pos` is where to point (the literal, or the list
  // name for values of a named list).
  bool check_value(const CompiledNode& field, const std::string& name, const Literal& v, SourcePos pos) {
    auto mismatch = [&](std::string_view expected) {
      fail("field '" + name + "' is " + article(field.type) + ": expected " + std::string(expected) + ", found " +
               describe(v),
           pos);
      return false;
    };
    const bool text = v.kind == Literal::Kind::kString || v.kind == Literal::Kind::kBareWord;
    switch (field.type) {
      case FieldType::kString:
      case FieldType::kList:
        if (!text) return mismatch("a string");
        return true;
      case FieldType::kInteger:
        if (v.kind != Literal::Kind::kInteger) return mismatch("a number");
        return true;
      case FieldType::kBoolean:
        if (v.kind != Literal::Kind::kBool) return mismatch("true or false");
        return true;
      case FieldType::kCountry:
        if (!text || !is_country(v.text)) return mismatch("a country code (two upper-case letters, e.g. CN)");
        return true;
      case FieldType::kAddress:
        if (!text || !parse_address_or_cidr(v.text)) return mismatch("an IP address or CIDR prefix in quotes");
        return true;
    }
    return false;
  }

  CNodePtr in(const Node& n) {
    auto out = field_node(n, Kind::kIn);
    if (!out) return nullptr;
    if (out->type == FieldType::kBoolean) {
      return fail("operator 'in' does not apply to a boolean field '" + n.name + "' (use " +
                      std::string(allowed_ops(out->type)) + ")",
                  n.pos);
    }
    std::vector<Literal> named;
    const std::vector<Literal>* items = &n.items;
    if (!n.list_name.empty()) {
      const std::vector<std::string>* values = nullptr;
      if (options_.lists != nullptr) {
        if (auto it = options_.lists->find(n.list_name); it != options_.lists->end()) values = &it->second;
      }
      if (values == nullptr) return fail("unknown list '" + n.list_name + "'", n.list_pos);
      // Values of a list are text in YAML; numbers are read as numbers for integer fields.
      for (const std::string& value : *values) {
        Literal literal;
        literal.kind = Literal::Kind::kString;
        literal.text = value;
        literal.pos = n.list_pos;
        if (out->type == FieldType::kInteger) {
          std::int64_t number = 0;
          bool digits = !value.empty() && value.size() <= 18;
          for (char c : value) {
            if (c < '0' || c > '9') digits = false;
            number = number * 10 + (c - '0');
          }
          if (digits) {
            literal.kind = Literal::Kind::kInteger;
            literal.integer = number;
          }
        }
        named.push_back(std::move(literal));
      }
      items = &named;
    }
    for (const Literal& v : *items) {
      if (!check_value(*out, n.name, v, n.list_name.empty() ? v.pos : n.list_pos)) return nullptr;
      switch (out->type) {
        case FieldType::kInteger: out->integers.push_back(v.integer); break;
        case FieldType::kAddress: out->cidrs.push_back(*parse_address_or_cidr(v.text)); break;
        default: out->strings.push_back(v.text); break;
      }
    }
    std::sort(out->strings.begin(), out->strings.end());
    std::sort(out->integers.begin(), out->integers.end());
    return out;
  }

  const CompileOptions& options_;
  std::optional<Error> error_;
  std::vector<std::string> stack_;
  std::map<std::string, CNodePtr, std::less<>> compiled_macros_;
};

bool contains_string(const std::vector<std::string>& sorted, std::string_view value) noexcept {
  auto it = std::lower_bound(sorted.begin(), sorted.end(), value,
                             [](const std::string& a, std::string_view b) { return std::string_view(a) < b; });
  return it != sorted.end() && *it == value;
}

template <typename F>
bool any_item(std::string_view list, F&& f) noexcept {
  while (!list.empty()) {
    const std::size_t comma = list.find(core::kListSeparator);
    const std::string_view item = list.substr(0, comma);
    if (f(item)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

bool compare_string(const CompiledNode& n, std::string_view value) noexcept {
  const std::string_view text = n.text;
  switch (n.op) {
    case CompareOp::kEq: return value == text;
    case CompareOp::kNe: return value != text;
    case CompareOp::kContains: return value.find(text) != std::string_view::npos;
    case CompareOp::kStartsWith: return value.substr(0, text.size()) == text;
    case CompareOp::kEndsWith: return value.size() >= text.size() && value.substr(value.size() - text.size()) == text;
    case CompareOp::kGlob: return glob_match(text, value);
    case CompareOp::kMatches: return n.regex && n.regex->search(value);
    default: return false;
  }
}

bool compare_integer(CompareOp op, std::int64_t a, std::int64_t b) noexcept {
  switch (op) {
    case CompareOp::kEq: return a == b;
    case CompareOp::kNe: return a != b;
    case CompareOp::kLt: return a < b;
    case CompareOp::kLe: return a <= b;
    case CompareOp::kGt: return a > b;
    case CompareOp::kGe: return a >= b;
    default: return false;
  }
}

bool any_cidr(const std::vector<core::Cidr>& cidrs, const core::IpAddress& ip) noexcept {
  return std::any_of(cidrs.begin(), cidrs.end(), [&](const core::Cidr& c) { return c.contains(ip); });
}

bool eval_compare(const CompiledNode& n, const Value& value) noexcept {
  switch (n.type) {
    case FieldType::kString:
    case FieldType::kCountry: {
      const auto* s = std::get_if<std::string_view>(&value);
      return s != nullptr && compare_string(n, *s);
    }
    case FieldType::kList: {
      const auto* s = std::get_if<std::string_view>(&value);
      return s != nullptr && any_item(*s, [&](std::string_view item) { return item == n.text; });
    }
    case FieldType::kInteger: {
      const auto* i = std::get_if<std::int64_t>(&value);
      return i != nullptr && compare_integer(n.op, *i, n.integer);
    }
    case FieldType::kBoolean: {
      const auto* b = std::get_if<bool>(&value);
      return b != nullptr && ((*b == n.boolean) == (n.op == CompareOp::kEq));
    }
    case FieldType::kAddress: {
      const auto* ip = std::get_if<core::IpAddress>(&value);
      return ip != nullptr && (any_cidr(n.cidrs, *ip) == (n.op == CompareOp::kEq));
    }
  }
  return false;
}

bool eval_in(const CompiledNode& n, const Value& value) noexcept {
  switch (n.type) {
    case FieldType::kString:
    case FieldType::kCountry: {
      const auto* s = std::get_if<std::string_view>(&value);
      return s != nullptr && contains_string(n.strings, *s);
    }
    case FieldType::kList: {
      const auto* s = std::get_if<std::string_view>(&value);
      return s != nullptr && any_item(*s, [&](std::string_view item) { return contains_string(n.strings, item); });
    }
    case FieldType::kInteger: {
      const auto* i = std::get_if<std::int64_t>(&value);
      return i != nullptr && std::binary_search(n.integers.begin(), n.integers.end(), *i);
    }
    case FieldType::kAddress: {
      const auto* ip = std::get_if<core::IpAddress>(&value);
      return ip != nullptr && any_cidr(n.cidrs, *ip);
    }
    case FieldType::kBoolean: return false;
  }
  return false;
}

bool eval(const CompiledNode& n, const Record& record) noexcept {
  switch (n.kind) {
    case Kind::kConst: return n.constant;
    case Kind::kNot: return !eval(*n.children.front(), record);
    case Kind::kAnd:
      return std::all_of(n.children.begin(), n.children.end(), [&](const CNodePtr& c) { return eval(*c, record); });
    case Kind::kOr:
      return std::any_of(n.children.begin(), n.children.end(), [&](const CNodePtr& c) { return eval(*c, record); });
    case Kind::kExists:
    case Kind::kCompare:
    case Kind::kIn: break;
  }
  std::optional<Value> value;
  try {
    value = record.get(n.field);
  } catch (...) {
    return false;  // a Record that throws is a bug in the binding; the evaluation still must not
  }
  if (n.kind == Kind::kExists) return value.has_value();
  if (!value) return false;
  return n.kind == Kind::kCompare ? eval_compare(n, *value) : eval_in(n, *value);
}

}  // namespace

namespace {

// Clauses implied by a node being true: for each clause, some field of it has a value. Sound but
// not complete: clauses beyond Predicate's limit are dropped (fewer constraints, never wrong ones).
using Clauses = std::vector<FieldSet>;

Clauses implied(const CompiledNode& n, std::size_t limit) {
  switch (n.kind) {
    case Kind::kCompare:
    case Kind::kIn:
    case Kind::kExists: return {field_bit(n.field)};
    case Kind::kConst: return n.constant ? Clauses{} : Clauses{FieldSet{}};  // false: an unsatisfiable clause
    case Kind::kNot: return {};
    case Kind::kAnd: {
      Clauses out;
      for (const auto& child : n.children) {
        for (const FieldSet c : implied(*child, limit)) {
          if (out.size() < limit) out.push_back(c);
        }
      }
      return out;
    }
    case Kind::kOr: {
      // True only if some part is: the union of one clause from each part (the narrowest).
      FieldSet any;
      for (const auto& child : n.children) {
        const Clauses c = implied(*child, limit);
        if (c.empty()) return {};
        any |= *std::min_element(c.begin(), c.end(), [](FieldSet a, FieldSet b) {
          return a.count() < b.count();
        });
      }
      return {any};
    }
  }
  return {};
}

FieldSet fields_of(const CompiledNode& n) {
  FieldSet out;
  if (n.kind == Kind::kCompare || n.kind == Kind::kIn || n.kind == Kind::kExists) out |= field_bit(n.field);
  for (const auto& child : n.children) out |= fields_of(*child);
  return out;
}

}  // namespace

Predicate::Predicate(std::shared_ptr<const detail::CompiledNode> root) : root_(std::move(root)) {
  if (!root_) return;
  fields_ = fields_of(*root_);
  // The tree is at most kMaxCompiledNodes node visits (checked when compiling), so this is bounded.
  const Clauses clauses = implied(*root_, kMaxClauses);
  for (const FieldSet c : clauses) {
    if (clause_count_ < kMaxClauses) clauses_[clause_count_++] = c;
  }
}

bool Predicate::evaluate(const Record& record) const noexcept { return root_ && eval(*root_, record); }

std::variant<Predicate, Error> compile(const Node& root, const CompileOptions& options) {
  return Compiler(options).run(root);
}

bool glob_match(std::string_view pattern, std::string_view text) noexcept {
  // Greedy with one backtrack point (the last '*'): linear in practice, O(n*m) at worst.
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = std::string_view::npos;
  std::size_t resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace flowaudit::rules::lang
