#include "rules/lang/lexer.h"

#include <doctest/doctest.h>

#include <string>
#include <variant>
#include <vector>

using flowaudit::rules::lang::Error;
using flowaudit::rules::lang::kMaxConditionBytes;
using flowaudit::rules::lang::lex;
using flowaudit::rules::lang::Token;
using flowaudit::rules::lang::TokenKind;

namespace {

std::vector<Token> tokens_of(std::string_view text) {
  auto result = lex(text);
  REQUIRE(std::holds_alternative<std::vector<Token>>(result));
  return std::get<std::vector<Token>>(std::move(result));
}

Error error_of(std::string_view text) {
  auto result = lex(text);
  REQUIRE(std::holds_alternative<Error>(result));
  return std::get<Error>(std::move(result));
}

}  // namespace

TEST_SUITE("rules.lang.lexer") {
  TEST_CASE("identifiers with dots, keywords and operators, with positions") {
    const auto tokens = tokens_of("geo.country in (CN, HK)\n and not tls.version != 'TLS 1.0'");
    REQUIRE(tokens.size() == 13);
    CHECK(tokens[0].kind == TokenKind::kIdentifier);
    CHECK(tokens[0].text == "geo.country");
    CHECK(tokens[0].pos.line == 1);
    CHECK(tokens[0].pos.column == 1);
    CHECK(tokens[1].kind == TokenKind::kIn);
    CHECK(tokens[2].kind == TokenKind::kLParen);
    CHECK(tokens[3].text == "CN");
    CHECK(tokens[4].kind == TokenKind::kComma);
    CHECK(tokens[6].kind == TokenKind::kRParen);
    CHECK(tokens[7].kind == TokenKind::kAnd);
    CHECK(tokens[7].pos.line == 2);
    CHECK(tokens[7].pos.column == 2);
    CHECK(tokens[7].pos.offset == 25);
    CHECK(tokens[8].kind == TokenKind::kNot);
    CHECK(tokens[10].kind == TokenKind::kNe);
    CHECK(tokens[11].kind == TokenKind::kString);
    CHECK(tokens[11].text == "TLS 1.0");
    CHECK(tokens[12].kind == TokenKind::kEnd);
  }

  TEST_CASE("all comparison operators and brackets") {
    const auto tokens = tokens_of("= == != < <= > >= [ ] contains startswith endswith glob matches exists true false or");
    const std::vector<TokenKind> expected{
        TokenKind::kEq, TokenKind::kEq, TokenKind::kNe, TokenKind::kLt, TokenKind::kLe, TokenKind::kGt,
        TokenKind::kGe, TokenKind::kLBracket, TokenKind::kRBracket, TokenKind::kContains, TokenKind::kStartsWith,
        TokenKind::kEndsWith, TokenKind::kGlob, TokenKind::kMatches, TokenKind::kExists, TokenKind::kTrue,
        TokenKind::kFalse, TokenKind::kOr, TokenKind::kEnd};
    REQUIRE(tokens.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) CHECK(tokens[i].kind == expected[i]);
  }

  TEST_CASE("strings in both quotes with escapes") {
    const auto tokens = tokens_of(R"('it\'s' "say \"hi\"\n" 'a\\b\t')");
    REQUIRE(tokens.size() == 4);
    CHECK(tokens[0].text == "it's");
    CHECK(tokens[1].text == "say \"hi\"\n");
    CHECK(tokens[2].text == "a\\b\t");
  }

  TEST_CASE("numbers with units: decimal and binary") {
    const auto tokens = tokens_of("100 100KB 2MB 1GB 1KiB 3 MiB\n\t1GiB");
    REQUIRE(tokens.size() == 8);
    CHECK(tokens[0].integer == 100);
    CHECK(tokens[1].integer == 100000);
    CHECK(tokens[2].integer == 2000000);
    CHECK(tokens[3].integer == 1000000000);
    CHECK(tokens[4].integer == 1024);
    CHECK(tokens[5].integer == 3 * 1024 * 1024);
    CHECK(tokens[6].integer == 1024LL * 1024 * 1024);
    CHECK(tokens[1].kind == TokenKind::kInteger);
  }

  TEST_CASE("errors carry a message and a position") {
    Error e = error_of("port = 80 and x = 'open");
    CHECK(e.message == "string is not closed");
    CHECK(e.pos.column == 19);
    e = error_of("bytes_out > 10XB");
    CHECK(e.message == "unknown unit 'XB' (expected KB, MB, GB, KiB, MiB or GiB)");
    CHECK(e.pos.column == 15);
    e = error_of("a = 99999999999999999999");
    CHECK(e.message == "number is too large");
    e = error_of("a = 9223372036854775807GB");
    CHECK(e.message == "number is too large");
    e = error_of("a ! b");
    CHECK(e.message == "unexpected character '!'");
    CHECK(e.pos.column == 3);
    CHECK(error_of("a = 'b\\").message == "string is not closed");
    e = error_of("a\n= 'b\\y'");
    CHECK(e.message == "unknown escape '\\y' (expected \\\\, \\', \\\", \\n or \\t)");
    CHECK(e.pos.line == 2);
    CHECK(e.pos.column == 5);
    e = error_of("a = \x01");
    CHECK(e.message == "unexpected byte 0x01");
  }

  TEST_CASE("limits: input length, token length, token count") {
    CHECK(error_of(std::string(kMaxConditionBytes + 1, ' ')).message == "condition is longer than 65536 bytes");
    CHECK(error_of("a = '" + std::string(5000, 'x') + "'").message == "string is longer than 4096 bytes");
    CHECK(error_of(std::string(5000, 'x')).message == "identifier is longer than 4096 bytes");
    std::string many;
    for (int i = 0; i < 40000; ++i) many += "(";
    CHECK(error_of(many).message == "condition has more than 32768 tokens");
  }
}
