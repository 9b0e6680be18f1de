// The `matches` operator's regular expressions (RE2): what is accepted, what is refused with which
// message, byte semantics, and patterns that take exponential time in a backtracking engine.
#include "rules/lang/regex.h"

#include <doctest/doctest.h>

#include <string>
#include <variant>

namespace lang = flowaudit::rules::lang;

namespace {

lang::Regex compiled(std::string_view pattern) {
  auto r = lang::Regex::compile(pattern);
  if (auto* e = std::get_if<std::string>(&r)) FAIL_CHECK("'" << pattern << "' did not compile: " << *e);
  REQUIRE(std::holds_alternative<lang::Regex>(r));
  return std::get<lang::Regex>(std::move(r));
}

std::string refused(std::string_view pattern) {
  auto r = lang::Regex::compile(pattern);
  REQUIRE_MESSAGE(std::holds_alternative<std::string>(r), "'" << pattern << "' compiled");
  return std::get<std::string>(r);
}

bool starts(const std::string& text, std::string_view prefix) { return text.rfind(prefix, 0) == 0; }

}  // namespace

TEST_SUITE("rules.lang.regex") {

TEST_CASE("search semantics: anywhere in the value unless anchored, case-sensitive unless (?i)") {
  CHECK(compiled("deepseek").search("chat.deepseek.com"));
  CHECK_FALSE(compiled("^deepseek").search("chat.deepseek.com"));
  CHECK(compiled("^chat\\.[a-z]+\\.com$").search("chat.deepseek.com"));
  CHECK_FALSE(compiled("^chat\\.[a-z]+\\.com$").search("chat.deepseek.com.evil"));
  CHECK_FALSE(compiled("DeepSeek").search("chat.deepseek.com"));
  CHECK(compiled("(?i)DeepSeek").search("chat.deepseek.com"));
  CHECK(compiled("_(RC4|DES|3DES)_").search("TLS_RSA_WITH_RC4_128_SHA"));
  CHECK(compiled("(?P<name>a)b").search("ab"));  // RE2's spelling of a named group
  CHECK(compiled("\\bfoo\\b").search("a foo b"));
  CHECK(compiled("").search(""));
  // '.' stops at a newline, as in ECMAScript; (?s) changes that.
  CHECK_FALSE(compiled("a.b").search("a\nb"));
  CHECK(compiled("(?s)a.b").search("a\nb"));
}

TEST_CASE("values are bytes: invalid UTF-8 from the wire cannot slip past '.' or a negated class") {
  const std::string invalid = std::string("secret") + "\xff\xfe" + "token";
  CHECK(compiled("secret.*token").search(invalid));
  CHECK(compiled("secret[^ ]+token").search(invalid));
  CHECK(compiled("^.{13}$").search(invalid));  // one byte, one character
  CHECK(compiled("[\\x80-\\xff]{2}$").search("caf\xc3\xa9"));
  CHECK(compiled("[^[:ascii:]]").search("caf\xc3\xa9"));
}

TEST_CASE("patterns that backtrack exponentially run in linear time") {
  // Each of these takes seconds (26 characters) or never ends (4 KB) in std::regex: this test case
  // would time out with a backtracking engine.
  const std::string as(4096, 'a');
  CHECK_FALSE(compiled("(a*)*b").search(as));
  CHECK_FALSE(compiled("(a+)+$").search(as + "!"));
  CHECK_FALSE(compiled("^(a|aa)+$").search(as + "b"));
  CHECK_FALSE(compiled("(.*a){20}").search(std::string(4096, 'b')));
  CHECK(compiled("(a+)+$").search(as));
  // No cut-off: a match beyond the first 4 KB of a long value is still found.
  CHECK(compiled("needle").search(std::string(100000, 'x') + "needle"));
}

TEST_CASE("lookaround and backreferences are refused with a way to write the condition instead") {
  const std::string ahead = refused("^a(?=b)");
  CHECK(starts(ahead, "lookahead (?=...) is not supported: matches uses RE2, which runs in linear time and has no "
                      "lookaround; test the field twice with 'and ... matches' instead"));
  CHECK(starts(refused("a(?!b)"), "negative lookahead (?!...) is not supported"));
  CHECK(refused("a(?!b)").find("'and not ... matches'") != std::string::npos);
  CHECK(starts(refused("(?<=a)b"), "lookbehind (?<=...) is not supported"));
  CHECK(starts(refused("(?<!a)b"), "negative lookbehind (?<!...) is not supported"));
  CHECK(starts(refused("(a)\\1"), "backreference \\1 is not supported"));
  CHECK(starts(refused("(?P<n>a)\\k<n>"), "backreference \\k<name> is not supported"));
  CHECK(starts(refused("(?P<n>a)(?P=n)"), "backreference (?P=name) is not supported"));
  // Lookaround before the named-group spelling, which is only a spelling.
  CHECK(starts(refused("(?<n>a)\\k<n>"), "backreference \\k<name>"));
  CHECK(refused("(?<n>a)") == "named group (?<name>...) is written (?P<name>...) in RE2 syntax");
  // Inside a class or quoted these are plain characters, and the pattern compiles.
  CHECK(compiled("[(?=]").search("="));
  CHECK(starts(refused("(a)\\12"), "backreference \\1 is not supported"));  // not RE2's octal escape
  CHECK(compiled("\\Q(?=\\E").search("(?="));
}

TEST_CASE("other errors: RE2's message on one line, repetition and size limits") {
  CHECK(refused("([") == "invalid regular expression: missing ]: [");
  CHECK(refused("a**") == "invalid regular expression: bad repetition operator: **");
  CHECK(refused("\\Z") == "invalid regular expression: invalid escape sequence: \\Z");
  CHECK(refused("a\n)") == "invalid regular expression: unexpected ): a?)");
  CHECK(refused("a{1001}") == "invalid regular expression: invalid repetition size: {1001} (RE2 allows at most "
                              "1000 repetitions, nested counts multiplied)");
  CHECK(starts(refused("a{1000}{1000}"), "invalid regular expression: bad repetition operator: {1000}{1000}"));
  CHECK(starts(refused("(a{100}){100}"), "invalid regular expression: invalid repetition size: {100}"));
  // Each repetition within RE2's count, but the program too big for the memory limit.
  std::string big;
  for (int i = 0; i < 90; ++i) big += "[a-z]{1000}";
  CHECK(refused(big) == "regular expression is too large: its compiled program exceeds RE2's memory limit (1 MiB); "
                        "use fewer or smaller bounded repetitions");
  CHECK(refused("[a-z]{1000}[a-z]{1000}[a-z]{1000}[a-z]{1000}[a-z]{1000}") ==
        "regular expression is too large: it compiles to 5004 instructions (limit 5000); use fewer or smaller bounded "
        "repetitions");
  CHECK(compiled("[a-z]{1000}[a-z]{1000}[a-z]{1000}[a-z]{1000}").search(std::string(4000, 'q')));
  CHECK(refused(std::string(lang::kMaxRegexBytes + 1, 'a')) == "regular expression is longer than 1024 bytes");
  CHECK(compiled(std::string(lang::kMaxRegexBytes, 'a')).search(std::string(1024, 'a')));
}

TEST_CASE("constructs that would mean something else on bytes are refused") {
  CHECK(starts(refused("\\pL"), "Unicode class \\p is not supported: matches compares bytes (Latin-1)"));
  CHECK(starts(refused("\\P{Greek}"), "Unicode class \\P is not supported"));
  CHECK(starts(refused("[\xc3\xa9\xc3\xa8]"), "non-ASCII character in a character class"));
  CHECK(starts(refused("[^\xc3\xa9]"), "non-ASCII character in a character class"));
  CHECK(starts(refused("\\x{100}"), "non-ASCII character in a regular expression"));
  // Non-ASCII literals: RE2 20220601 never matches '\xe9x|\xe9y' in Latin-1 mode, so none are taken.
  CHECK(starts(refused("caf\xc3\xa9"), "non-ASCII character in a regular expression: matches compares bytes"));
  CHECK(starts(refused("\\xe9x|\\xe9y"), "non-ASCII character in a regular expression"));
  CHECK(starts(refused("\\x{e9}"), "non-ASCII character in a regular expression"));
  CHECK(starts(refused("\\Q\xc3\xa9\\E"), "non-ASCII character in a regular expression"));
  CHECK(compiled("\\x7f|\\x{41}").search("A"));
  CHECK(compiled("[]\\\\x]").search("]"));     // ']' first in a class is literal
  CHECK(compiled("[[:alpha:]]+\\d").search("ab1"));
  CHECK(compiled("\\\\p").search("\\p"));      // an escaped backslash, then p
}

}
