#include "rules/lang/parser.h"

#include <optional>
#include <utility>
#include <vector>

#include "rules/lang/lexer.h"

namespace flowaudit::rules::lang {

std::string_view compare_op_name(CompareOp op) noexcept {
  switch (op) {
    case CompareOp::kEq: return "=";
    case CompareOp::kNe: return "!=";
    case CompareOp::kLt: return "<";
    case CompareOp::kLe: return "<=";
    case CompareOp::kGt: return ">";
    case CompareOp::kGe: return ">=";
    case CompareOp::kContains: return "contains";
    case CompareOp::kStartsWith: return "startswith";
    case CompareOp::kEndsWith: return "endswith";
    case CompareOp::kGlob: return "glob";
    case CompareOp::kMatches: return "matches";
  }
  return "?";
}

namespace {

// Grammar (EBNF; keywords are lower case and reserved):
//
//   condition  = or_expr END ;
//   or_expr    = and_expr { "or" and_expr } ;
//   and_expr   = unary { "and" unary } ;
//   unary      = "not" unary | primary ;
//   primary    = "(" or_expr ")" | "true" | "false" | IDENT [ predicate ] ;
//                (an IDENT without a predicate names a macro, or a boolean field meaning "= true")
//   predicate  = compare_op value | "in" list | "exists" ;
//   compare_op = "=" | "==" | "!=" | "<" | "<=" | ">" | ">="
//              | "contains" | "startswith" | "endswith" | "glob" | "matches" ;
//   list       = "(" [ value { "," value } ] ")" | "[" [ value { "," value } ] "]" | IDENT ;
//                (an IDENT list names a list defined in the policy)
//   value      = STRING | NUMBER | IDENT | "true" | "false" ;
//                (an IDENT value is a bare word, e.g. CN or http)
//
//   IDENT      = ( letter | "_" ) { letter | digit | "_" | "-" | "." } ;
//   STRING     = "'" { char | escape } "'" | '"' { char | escape } '"' ;
//   escape     = "\\" ( "\\" | "'" | '"' | "n" | "t" ) ;
//   NUMBER     = digit { digit } [ "KB" | "MB" | "GB" | "KiB" | "MiB" | "GiB" ] ;
//
// 'and' binds tighter than 'or'; chains of the same operator become one n-ary node. Every entry
// into "(" or "not" counts one level of nesting, limited by kMaxNestingDepth.

std::optional<CompareOp> compare_op_of(TokenKind kind) noexcept {
  switch (kind) {
    case TokenKind::kEq: return CompareOp::kEq;
    case TokenKind::kNe: return CompareOp::kNe;
    case TokenKind::kLt: return CompareOp::kLt;
    case TokenKind::kLe: return CompareOp::kLe;
    case TokenKind::kGt: return CompareOp::kGt;
    case TokenKind::kGe: return CompareOp::kGe;
    case TokenKind::kContains: return CompareOp::kContains;
    case TokenKind::kStartsWith: return CompareOp::kStartsWith;
    case TokenKind::kEndsWith: return CompareOp::kEndsWith;
    case TokenKind::kGlob: return CompareOp::kGlob;
    case TokenKind::kMatches: return CompareOp::kMatches;
    default: return std::nullopt;
  }
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  std::variant<NodePtr, Error> run() {
    NodePtr root = or_expr();
    if (error_) return std::move(*error_);
    if (peek().kind != TokenKind::kEnd) {
      return unexpected("'and', 'or' or the end of the condition");
    }
    return root;
  }

 private:
  [[nodiscard]] const Token& peek() const noexcept { return tokens_[index_]; }
  const Token& take() noexcept {
    const Token& token = tokens_[index_];
    if (token.kind != TokenKind::kEnd) ++index_;
    return token;
  }

  Error unexpected(std::string_view expected) const {
    const Token& token = peek();
    std::string found(token_kind_name(token.kind));
    if (token.kind == TokenKind::kIdentifier) found = "'" + token.text + "'";
    if (token.kind == TokenKind::kString) found = "string '" + token.text.substr(0, 64) + "'";
    if (token.kind == TokenKind::kInteger) found = "number " + token.text;
    return Error{"expected " + std::string(expected) + ", found " + found, token.pos, {}};
  }

  NodePtr fail(Error error) {
    if (!error_) error_ = std::move(error);
    return nullptr;
  }

  NodePtr make(NodeKind kind, SourcePos pos) {
    auto node = std::make_unique<Node>();
    node->kind = kind;
    node->pos = pos;
    return node;
  }

  // Parses `sub (op sub)*` into one n-ary node.
  template <typename Sub>
  NodePtr chain(TokenKind op, NodeKind kind, Sub sub) {
    NodePtr first = (this->*sub)();
    if (error_) return nullptr;
    if (peek().kind != op) return first;
    NodePtr node = make(kind, first->pos);
    node->children.push_back(std::move(first));
    while (peek().kind == op) {
      take();
      NodePtr next = (this->*sub)();
      if (error_) return nullptr;
      node->children.push_back(std::move(next));
    }
    return node;
  }

  NodePtr or_expr() { return chain(TokenKind::kOr, NodeKind::kOr, &Parser::and_expr); }
  NodePtr and_expr() { return chain(TokenKind::kAnd, NodeKind::kAnd, &Parser::unary); }

  bool enter(const Token& token) {
    if (++depth_ > kMaxNestingDepth) {
      fail(Error{"nesting is deeper than " + std::to_string(kMaxNestingDepth) + " levels", token.pos, {}});
      return false;
    }
    return true;
  }

  NodePtr unary() {
    if (peek().kind != TokenKind::kNot) return primary();
    const Token& token = take();
    if (!enter(token)) return nullptr;
    NodePtr operand = unary();
    --depth_;
    if (error_) return nullptr;
    NodePtr node = make(NodeKind::kNot, token.pos);
    node->children.push_back(std::move(operand));
    return node;
  }

  NodePtr primary() {
    const Token& token = peek();
    switch (token.kind) {
      case TokenKind::kLParen: {
        take();
        if (!enter(token)) return nullptr;
        NodePtr inner = or_expr();
        --depth_;
        if (error_) return nullptr;
        if (peek().kind != TokenKind::kRParen) return fail(unexpected("')'"));
        take();
        return inner;
      }
      case TokenKind::kTrue:
      case TokenKind::kFalse: {
        take();
        NodePtr node = make(NodeKind::kBool, token.pos);
        node->boolean = token.kind == TokenKind::kTrue;
        return node;
      }
      case TokenKind::kIdentifier: return field_or_macro();
      default: return fail(unexpected("a field, a macro, 'not', '(', 'true' or 'false'"));
    }
  }

  NodePtr field_or_macro() {
    const Token& name = take();
    const Token& next = peek();
    if (auto op = compare_op_of(next.kind)) {
      take();
      NodePtr node = make(NodeKind::kCompare, name.pos);
      node->name = name.text;
      node->op = *op;
      auto literal = value();
      if (!literal) return nullptr;
      node->value = std::move(*literal);
      return node;
    }
    if (next.kind == TokenKind::kExists) {
      take();
      NodePtr node = make(NodeKind::kExists, name.pos);
      node->name = name.text;
      return node;
    }
    if (next.kind == TokenKind::kIn) {
      take();
      NodePtr node = make(NodeKind::kIn, name.pos);
      node->name = name.text;
      if (!list(*node)) return nullptr;
      return node;
    }
    NodePtr node = make(NodeKind::kMacroRef, name.pos);
    node->name = name.text;
    return node;
  }

  bool list(Node& node) {
    const Token& open = peek();
    node.list_pos = open.pos;
    if (open.kind == TokenKind::kIdentifier) {
      node.list_name = take().text;
      return true;
    }
    if (open.kind != TokenKind::kLParen && open.kind != TokenKind::kLBracket) {
      fail(unexpected("a list: '(', '[' or a list name"));
      return false;
    }
    const TokenKind close = open.kind == TokenKind::kLParen ? TokenKind::kRParen : TokenKind::kRBracket;
    const std::string_view close_name = close == TokenKind::kRParen ? "')'" : "']'";
    take();
    if (peek().kind == close) {
      take();
      return true;
    }
    for (;;) {
      auto literal = value();
      if (!literal) return false;
      node.items.push_back(std::move(*literal));
      if (peek().kind == TokenKind::kComma) {
        take();
        continue;
      }
      if (peek().kind == close) {
        take();
        return true;
      }
      fail(unexpected("',' or " + std::string(close_name)));
      return false;
    }
  }

  std::optional<Literal> value() {
    const Token& token = peek();
    Literal literal;
    literal.pos = token.pos;
    literal.text = token.text;
    switch (token.kind) {
      case TokenKind::kString: literal.kind = Literal::Kind::kString; break;
      case TokenKind::kIdentifier: literal.kind = Literal::Kind::kBareWord; break;
      case TokenKind::kInteger:
        literal.kind = Literal::Kind::kInteger;
        literal.integer = token.integer;
        break;
      case TokenKind::kTrue:
      case TokenKind::kFalse:
        literal.kind = Literal::Kind::kBool;
        literal.boolean = token.kind == TokenKind::kTrue;
        break;
      default:
        fail(unexpected("a value: a string, a number, a word, 'true' or 'false'"));
        return std::nullopt;
    }
    take();
    return literal;
  }

  std::vector<Token> tokens_;
  std::size_t index_ = 0;
  std::size_t depth_ = 0;
  std::optional<Error> error_;
};

}  // namespace

std::variant<NodePtr, Error> parse_condition(std::string_view text) {
  auto tokens = lex(text);
  if (auto* error = std::get_if<Error>(&tokens)) return std::move(*error);
  return Parser(std::move(std::get<std::vector<Token>>(tokens))).run();
}

}  // namespace flowaudit::rules::lang
