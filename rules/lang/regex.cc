#include "rules/lang/regex.h"

#include <re2/re2.h>

#include <algorithm>
#include <new>
#include <optional>

namespace flowaudit::rules::lang {
namespace {

constexpr std::string_view kLinear = " is not supported: matches uses RE2, which runs in linear time and ";

std::string lookaround(std::string_view what, std::string_view rewrite) {
  return std::string(what) + std::string(kLinear) + "has no lookaround; " + std::string(rewrite);
}

std::string backreference(std::string_view spelled) {
  return "backreference " + std::string(spelled) + std::string(kLinear) +
         "cannot refer back to a group; spell the repeated text out, or test the field twice with 'and ... matches'";
}

bool is_group_number(char c) noexcept { return c >= '1' && c <= '9'; }

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The value of \xHH or \x{H...} starting at p[i] == '\\' (0 if malformed: RE2 reports that).
unsigned long hex_escape(std::string_view p, std::size_t i) noexcept {
  unsigned long value = 0;
  std::size_t j = i + 2;
  const bool braced = j < p.size() && p[j] == '{';
  const std::size_t end = braced ? p.size() : std::min(p.size(), j + 2);
  for (j += braced ? 1 : 0; j < end && hex_value(p[j]) >= 0 && value <= 0x10FFFF; ++j) {
    value = value * 16 + static_cast<unsigned long>(hex_value(p[j]));
  }
  return value;
}

// RE2 20220601 in Latin-1 mode mis-compiles a non-ASCII literal that alternatives share as a prefix
// ('\xe9x|\xe9y' never matches) and a UTF-8 character is several bytes: non-ASCII literal text is
// refused, byte classes such as [\x80-\xff] (which compile correctly) are not.
constexpr std::string_view kNonAscii =
    "non-ASCII character in a regular expression: matches compares bytes (Latin-1), not UTF-8 characters; use "
    "contains, startswith, endswith or = for non-ASCII text, or a byte class such as [\\x80-\\xff]";

// Constructs that ECMAScript or Perl accept and RE2 does not (or that would silently mean something
// else on bytes), found by walking the pattern with RE2's lexical rules: escapes, \Q...\E quoting
// and character classes (where '(' and '\1'-like text are literal). Kept in order of importance:
// lookaround and backreferences (no rewrite of the pattern alone expresses them) before spellings
// RE2 writes differently.
struct Scan {
  std::optional<std::string> lookaround_or_backref;
  std::optional<std::string> named_group;
  std::optional<std::string> bytes_problem;  // meaningful only on bytes-as-Latin-1
};

Scan scan(std::string_view p) {
  Scan out;
  auto note = [](std::optional<std::string>& slot, std::string message) {
    if (!slot) slot = std::move(message);
  };
  bool in_class = false;
  std::size_t class_first = 0;  // where a ']' would still be literal
  for (std::size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    const char next = i + 1 < p.size() ? p[i + 1] : '\0';
    if (c == '\\') {
      if (next == 'Q') {  // quoted text up to \E is literal
        const std::size_t end = std::min(p.find("\\E", i + 2), p.size());
        const std::string_view quoted = p.substr(i + 2, end - (i + 2));
        if (std::any_of(quoted.begin(), quoted.end(), [](char q) { return static_cast<unsigned char>(q) >= 0x80; })) {
          note(out.bytes_problem, std::string(kNonAscii));
        }
        i = end + 1;
        continue;
      }
      if (next == 'x' && !in_class && hex_escape(p, i) >= 0x80) note(out.bytes_problem, std::string(kNonAscii));
      if (next == 'p' || next == 'P') {
        note(out.bytes_problem,
             std::string("Unicode class \\") + next +
                 " is not supported: matches compares bytes (Latin-1), not UTF-8 characters; use an ASCII class "
                 "such as [[:alpha:]] or \\w");
      } else if (!in_class && is_group_number(next)) {
        note(out.lookaround_or_backref, backreference(std::string("\\") + next));
      } else if (!in_class && next == 'k' && i + 2 < p.size() && (p[i + 2] == '<' || p[i + 2] == '{')) {
        note(out.lookaround_or_backref, backreference("\\k<name>"));
      }
      ++i;
      continue;
    }
    if (in_class) {
      if (c == '[' && next == ':') {  // [:alpha:]
        const std::size_t end = p.find(":]", i + 2);
        if (end != std::string_view::npos) i = end + 1;
      } else if (c == ']' && i != class_first) {
        in_class = false;
      } else if (static_cast<unsigned char>(c) >= 0x80) {
        note(out.bytes_problem,
             "non-ASCII character in a character class: matches compares bytes (Latin-1), so a class would match "
             "each byte of a UTF-8 character on its own; use alternatives such as (é|è) instead");
      }
      continue;
    }
    if (static_cast<unsigned char>(c) >= 0x80) {
      note(out.bytes_problem, std::string(kNonAscii));
      continue;
    }
    if (c == '[') {
      in_class = true;
      class_first = i + 1 < p.size() && p[i + 1] == '^' ? i + 2 : i + 1;
      continue;
    }
    if (c != '(' || next != '?') continue;
    const std::string_view rest = p.substr(i + 2);
    // Lookaround: the construct and how to say the same without it.
    struct Look {
      std::string_view opener, construct, rewrite;
    };
    static constexpr Look kLookaround[] = {
        {"=", "lookahead (?=...)", "test the field twice with 'and ... matches' instead"},
        {"!", "negative lookahead (?!...)", "test the field twice with 'and not ... matches' instead"},
        {"<=", "lookbehind (?<=...)", "test the field twice with 'and ... matches' instead"},
        {"<!", "negative lookbehind (?<!...)", "test the field twice with 'and not ... matches' instead"},
    };
    const auto look = std::find_if(std::begin(kLookaround), std::end(kLookaround),
                                   [&](const Look& l) { return rest.starts_with(l.opener); });
    if (look != std::end(kLookaround)) {
      note(out.lookaround_or_backref, lookaround(look->construct, look->rewrite));
    } else if (rest.starts_with("P=")) {
      note(out.lookaround_or_backref, backreference("(?P=name)"));
    } else if (rest.starts_with("<")) {
      note(out.named_group, "named group (?<name>...) is written (?P<name>...) in RE2 syntax");
    }
  }
  return out;
}

// RE2's own message, on one line, with a hint where its wording alone does not say what to do.
std::string re2_message(const re2::RE2& re) {
  std::string text = "invalid regular expression: ";
  for (const char c : re.error()) text += (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) ? '?' : c;
  switch (re.error_code()) {
    case re2::RE2::ErrorRepeatSize:
      text += " (RE2 allows at most 1000 repetitions, nested counts multiplied)";
      break;
    case re2::RE2::ErrorPatternTooLarge:
      return "regular expression is too large: its compiled program exceeds RE2's memory limit (" +
             std::to_string(kRegexMaxMem >> 20) + " MiB); use fewer or smaller bounded repetitions";
    default: break;
  }
  return text;
}

}  // namespace

std::variant<Regex, std::string> Regex::compile(std::string_view pattern) {
  if (pattern.size() > kMaxRegexBytes) {
    return "regular expression is longer than " + std::to_string(kMaxRegexBytes) + " bytes";
  }
  // Bytes, not UTF-8: hostnames, paths and User-Agents from the wire may be invalid UTF-8, and in
  // UTF-8 mode RE2's '.' and [^x] do not match an invalid byte, so a hostile value could slip past
  // a pattern such as 'secret.*token'. As Latin-1 every byte is one character.
  re2::RE2::Options options;
  options.set_encoding(re2::RE2::Options::EncodingLatin1);
  options.set_log_errors(false);  // errors are reported as policy errors, not on stderr
  options.set_max_mem(kRegexMaxMem);
  options.set_case_sensitive(true);  // as ECMAScript's default; (?i) turns it off
  options.set_never_capture(true);   // only whether it matches is wanted
  options.set_dot_nl(false);         // '.' does not match a newline, as before; (?s) changes it
  options.set_posix_syntax(false);   // Perl-like syntax: \d \w \s \b and (?i) flags
  std::shared_ptr<const re2::RE2> re;
  try {
    re = std::make_shared<const re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  } catch (const std::bad_alloc&) {
    return std::string("regular expression: out of memory while compiling it");
  }
  Scan found = scan(pattern);
  // Also when RE2 compiles it: RE2 reads \12 as an octal escape where Perl and ECMAScript see a
  // backreference; refusing it is better than a silent change of meaning.
  if (found.lookaround_or_backref) return std::move(*found.lookaround_or_backref);
  if (!re->ok() && found.named_group) return std::move(*found.named_group);
  if (found.bytes_problem) return std::move(*found.bytes_problem);  // also \x{100}, refused by RE2
  if (!re->ok()) return re2_message(*re);
  // RE2's memory limit alone allows ~87,000 instructions; when the DFA cache overflows on such a
  // program RE2 continues with its NFA, linear but with a factor of the program size per byte.
  if (const int size = re->ProgramSize(); size > kMaxRegexProgram) {
    return "regular expression is too large: it compiles to " + std::to_string(size) + " instructions (limit " +
           std::to_string(kMaxRegexProgram) + "); use fewer or smaller bounded repetitions";
  }
  return Regex(std::move(re));
}

bool Regex::search(std::string_view subject) const noexcept {
  return re_ && re2::RE2::PartialMatch(re2::StringPiece(subject.data(), subject.size()), *re_);
}

}  // namespace flowaudit::rules::lang
