#include "rules/lang/parser.h"

#include <doctest/doctest.h>

#include <string>
#include <variant>

using flowaudit::rules::lang::CompareOp;
using flowaudit::rules::lang::Error;
using flowaudit::rules::lang::Literal;
using flowaudit::rules::lang::Node;
using flowaudit::rules::lang::NodeKind;
using flowaudit::rules::lang::NodePtr;
using flowaudit::rules::lang::parse_condition;
using flowaudit::rules::lang::render_error;

namespace {

NodePtr parse_ok(std::string_view text) {
  auto result = parse_condition(text);
  if (auto* e = std::get_if<Error>(&result)) FAIL_CHECK(render_error(*e, "t", text));
  REQUIRE(std::holds_alternative<NodePtr>(result));
  return std::get<NodePtr>(std::move(result));
}

Error parse_error(std::string_view text) {
  auto result = parse_condition(text);
  REQUIRE(std::holds_alternative<Error>(result));
  return std::get<Error>(std::move(result));
}

}  // namespace

TEST_SUITE("rules.lang.parser") {
  TEST_CASE("and binds tighter than or; chains are n-ary") {
    NodePtr root = parse_ok("a = 1 or b = 2 and c = 3 and d = 4 or e exists");
    REQUIRE(root->kind == NodeKind::kOr);
    REQUIRE(root->children.size() == 3);
    CHECK(root->children[0]->kind == NodeKind::kCompare);
    const Node& conj = *root->children[1];
    REQUIRE(conj.kind == NodeKind::kAnd);
    CHECK(conj.children.size() == 3);
    CHECK(conj.pos.column == 10);
    CHECK(conj.children[2]->name == "d");
    CHECK(root->children[2]->kind == NodeKind::kExists);
    CHECK(root->children[2]->pos.column == 39);
  }

  TEST_CASE("comparisons keep the operator as an enum and the literal with its position") {
    NodePtr root = parse_ok("not (tls.version <= 'TLS 1.1')");
    REQUIRE(root->kind == NodeKind::kNot);
    const Node& cmp = *root->children[0];
    CHECK(cmp.kind == NodeKind::kCompare);
    CHECK(cmp.name == "tls.version");
    CHECK(cmp.op == CompareOp::kLe);
    CHECK(cmp.value.kind == Literal::Kind::kString);
    CHECK(cmp.value.text == "TLS 1.1");
    CHECK(cmp.value.pos.column == 21);
    for (auto text_op : {std::pair{"x contains 'a'", CompareOp::kContains},
                            std::pair{"x startswith 'a'", CompareOp::kStartsWith},
                            std::pair{"x endswith 'a'", CompareOp::kEndsWith},
                            std::pair{"x glob '*.a'", CompareOp::kGlob}, std::pair{"x matches 'a+'", CompareOp::kMatches},
                            std::pair{"x != 1", CompareOp::kNe}, std::pair{"x > 1", CompareOp::kGt},
                            std::pair{"x >= 1", CompareOp::kGe}, std::pair{"x < 1", CompareOp::kLt},
                            std::pair{"x == 1", CompareOp::kEq}}) {
      // no structured binding: doctest's CAPTURE/INFO lambda cannot take one (clang before 16)
      const char* const text = text_op.first;
      const CompareOp op = text_op.second;
      CAPTURE(text);
      NodePtr n = parse_ok(text);
      CHECK(n->op == op);
    }
  }

  TEST_CASE("values: numbers with units, bare words, booleans") {
    NodePtr n = parse_ok("bytes_out > 100 KB");
    CHECK(n->value.kind == Literal::Kind::kInteger);
    CHECK(n->value.integer == 100000);
    n = parse_ok("bytes_out > 100KB");
    CHECK(n->value.integer == 100000);
    n = parse_ok("app_protocol = http");
    CHECK(n->value.kind == Literal::Kind::kBareWord);
    CHECK(n->value.text == "http");
    n = parse_ok("encrypted = false");
    CHECK(n->value.kind == Literal::Kind::kBool);
    CHECK_FALSE(n->value.boolean);
  }

  TEST_CASE("in with a list literal, brackets, empty list and a list name") {
    NodePtr n = parse_ok("geo.country in (CN, HK, 'MO')");
    REQUIRE(n->kind == NodeKind::kIn);
    REQUIRE(n->items.size() == 3);
    CHECK(n->items[2].kind == Literal::Kind::kString);
    CHECK(n->items[1].pos.column == 21);
    CHECK(n->list_pos.column == 16);
    n = parse_ok("port in [80, 8080]");
    CHECK(n->items.size() == 2);
    n = parse_ok("port in ()");
    CHECK(n->items.empty());
    n = parse_ok("hostname in ai_hosts");
    CHECK(n->items.empty());
    CHECK(n->list_name == "ai_hosts");
    CHECK(n->list_pos.column == 13);
  }

  TEST_CASE("macro references and boolean literals") {
    NodePtr n = parse_ok("china_server and not true or false");
    REQUIRE(n->kind == NodeKind::kOr);
    const Node& conj = *n->children[0];
    CHECK(conj.children[0]->kind == NodeKind::kMacroRef);
    CHECK(conj.children[0]->name == "china_server");
    CHECK(conj.children[1]->kind == NodeKind::kNot);
    CHECK(conj.children[1]->children[0]->kind == NodeKind::kBool);
    CHECK(n->children[1]->kind == NodeKind::kBool);
  }

  TEST_CASE("rejects with exact messages and positions") {
    struct Case {
      const char* text;
      const char* message;
      unsigned line;
      unsigned column;
    };
    const Case cases[] = {
        {"", "expected a field, a macro, 'not', '(', 'true' or 'false', found end of condition", 1, 1},
        {"port =", "expected a value: a string, a number, a word, 'true' or 'false', found end of condition", 1, 7},
        {"port = 80 80", "expected 'and', 'or' or the end of the condition, found number 80", 1, 11},
        {"(port = 80", "expected ')', found end of condition", 1, 11},
        {"port in 80", "expected a list: '(', '[' or a list name, found number 80", 1, 9},
        {"port in (80 443)", "expected ',' or ')', found number 443", 1, 13},
        {"port in [80,\n 443)", "expected ',' or ']', found ')'", 2, 5},
        {"a and or b", "expected a field, a macro, 'not', '(', 'true' or 'false', found 'or'", 1, 7},
        {"a = (", "expected a value: a string, a number, a word, 'true' or 'false', found '('", 1, 5},
        {"x = 'a' and\n  y matches", "expected a value: a string, a number, a word, 'true' or 'false', found end of condition", 2, 12},
        {"a = 'b\"", "string is not closed", 1, 5},
    };
    for (const Case& c : cases) {
      CAPTURE(c.text);
      const Error e = parse_error(c.text);
      CHECK(e.message == c.message);
      CHECK(e.pos.line == c.line);
      CHECK(e.pos.column == c.column);
    }
  }

  TEST_CASE("nesting-depth bombs are clean errors") {
    std::string parens(10000, '(');
    parens += "a";
    parens += std::string(10000, ')');
    Error e = parse_error(parens);
    CHECK(e.message == "nesting is deeper than 64 levels");
    CHECK(e.pos.column == 65);

    std::string nots;
    for (int i = 0; i < 10000; ++i) nots += "not ";
    nots += "a";
    e = parse_error(nots);
    CHECK(e.message == "nesting is deeper than 64 levels");
    CHECK(e.pos.column == 64 * 4 + 1);

    std::string ok(64, '(');
    ok += "a";
    ok += std::string(64, ')');
    parse_ok(ok);
  }

  TEST_CASE("long flat chains are not nesting") {
    std::string text = "a";
    for (int i = 0; i < 3000; ++i) text += " and a";
    NodePtr n = parse_ok(text);
    CHECK(n->children.size() == 3001);
  }

  TEST_CASE("errors render as FILE:LINE:COL with the line and a caret") {
    const std::string text = "port = 80 and\n\thostname ~ 'x'";
    const Error e = parse_error(text);
    CHECK(render_error(e, "policy.yaml", text) ==
          "policy.yaml:2:11: unexpected character '~'\n\thostname ~ 'x'\n\t         ^");
    Error in_macro{"unknown field 'x'", {1, 1, 0}, {"a", "b"}};
    CHECK(render_error(in_macro, "p.yaml", "x = 1") == "p.yaml:1:1: unknown field 'x' (in macro a > b)\nx = 1\n^");
  }
}
