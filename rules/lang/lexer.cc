#include "rules/lang/lexer.h"

#include <algorithm>
#include <array>
#include <limits>
#include <optional>
#include <utility>

namespace flowaudit::rules::lang {
namespace {

struct Keyword {
  std::string_view word;
  TokenKind kind;
};

constexpr std::array<Keyword, 13> kKeywords{{
    {"and", TokenKind::kAnd},
    {"or", TokenKind::kOr},
    {"not", TokenKind::kNot},
    {"in", TokenKind::kIn},
    {"contains", TokenKind::kContains},
    {"startswith", TokenKind::kStartsWith},
    {"endswith", TokenKind::kEndsWith},
    {"glob", TokenKind::kGlob},
    {"matches", TokenKind::kMatches},
    {"exists", TokenKind::kExists},
    {"true", TokenKind::kTrue},
    {"false", TokenKind::kFalse},
    {"", TokenKind::kEnd},
}};

struct Unit {
  std::string_view suffix;
  std::int64_t factor;
};

// Decimal units are powers of 1000 (1 KB = 1000 bytes), binary ones powers of 1024.
constexpr std::array<Unit, 6> kUnits{{
    {"KB", 1000},
    {"MB", 1000 * 1000},
    {"GB", 1000 * 1000 * 1000},
    {"KiB", 1024},
    {"MiB", 1024 * 1024},
    {"GiB", 1024 * 1024 * 1024},
}};

bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_ident_start(char c) noexcept { return is_alpha(c) || c == '_'; }
bool is_ident_char(char c) noexcept { return is_ident_start(c) || is_digit(c) || c == '.' || c == '-'; }
bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  std::variant<std::vector<Token>, Error> run() {
    if (text_.size() > kMaxConditionBytes) {
      return Error{"condition is longer than " + std::to_string(kMaxConditionBytes) + " bytes", pos_, {}};
    }
    std::vector<Token> tokens;
    for (;;) {
      skip_space();
      if (tokens.size() >= kMaxTokens) {
        return Error{"condition has more than " + std::to_string(kMaxTokens) + " tokens", pos_, {}};
      }
      Token token;
      token.pos = pos_;
      if (at_end()) {
        tokens.push_back(std::move(token));
        return tokens;
      }
      if (auto error = next(token)) return std::move(*error);
      tokens.push_back(std::move(token));
    }
  }

 private:
  [[nodiscard]] bool at_end() const noexcept { return pos_.offset >= text_.size(); }
  [[nodiscard]] char peek(std::size_t ahead = 0) const noexcept {
    return pos_.offset + ahead < text_.size() ? text_[pos_.offset + ahead] : '\0';
  }
  void advance() noexcept {
    if (text_[pos_.offset] == '\n') {
      ++pos_.line;
      pos_.column = 1;
    } else {
      ++pos_.column;
    }
    ++pos_.offset;
  }
  void skip_space() noexcept {
    while (!at_end() && is_space(peek())) advance();
  }
  Error error_here(std::string message) const { return Error{std::move(message), pos_, {}}; }

  std::optional<Error> next(Token& token) {
    const char c = peek();
    if (is_ident_start(c)) return identifier(token);
    if (is_digit(c)) return number(token);
    if (c == '\'' || c == '"') return string(token);
    return punctuation(token);
  }

  std::optional<Error> identifier(Token& token) {
    const std::size_t begin = pos_.offset;
    while (!at_end() && is_ident_char(peek())) advance();
    const std::string_view word = text_.substr(begin, pos_.offset - begin);
    if (word.size() > kMaxTokenBytes) {
      return Error{"identifier is longer than " + std::to_string(kMaxTokenBytes) + " bytes", token.pos, {}};
    }
    token.kind = TokenKind::kIdentifier;
    for (const Keyword& keyword : kKeywords) {
      if (!keyword.word.empty() && keyword.word == word) token.kind = keyword.kind;
    }
    token.text = std::string(word);
    return std::nullopt;
  }

  std::optional<Error> number(Token& token) {
    const std::size_t begin = pos_.offset;
    std::int64_t value = 0;
    bool overflow = false;
    while (!at_end() && is_digit(peek())) {
      const int digit = peek() - '0';
      if (value > (std::numeric_limits<std::int64_t>::max() - digit) / 10) overflow = true;
      if (!overflow) value = value * 10 + digit;
      advance();
    }
    if (overflow) return Error{"number is too large", token.pos, {}};
    // A unit may follow after spaces ("100 KB"): a number followed by any other word is an error
    // in the grammar anyway, so reading the unit here takes nothing away.
    if (!at_end() && is_space(peek())) {
      std::size_t ahead = 0;
      while (is_space(peek(ahead))) ++ahead;
      std::size_t word = 0;
      while (is_ident_char(peek(ahead + word))) ++word;
      const std::string_view candidate = text_.substr(std::min(pos_.offset + ahead, text_.size()), word);
      for (const Unit& u : kUnits) {
        if (u.suffix == candidate) {
          for (std::size_t i = 0; i < ahead; ++i) advance();
        }
      }
    }
    const std::size_t suffix_begin = pos_.offset;
    while (!at_end() && is_ident_char(peek())) advance();
    const std::string_view suffix = text_.substr(suffix_begin, pos_.offset - suffix_begin);
    if (!suffix.empty()) {
      const Unit* unit = nullptr;
      for (const Unit& u : kUnits) {
        if (u.suffix == suffix) unit = &u;
      }
      if (unit == nullptr) {
        SourcePos at = token.pos;
        at.column += static_cast<std::uint32_t>(suffix_begin - begin);
        at.offset = suffix_begin;
        return Error{"unknown unit '" + std::string(suffix.substr(0, 64)) + "' (expected KB, MB, GB, KiB, MiB or GiB)",
                     at, {}};
      }
      if (value > std::numeric_limits<std::int64_t>::max() / unit->factor) {
        return Error{"number is too large", token.pos, {}};
      }
      value *= unit->factor;
    }
    if (pos_.offset - begin > kMaxTokenBytes) {  // digits and spaces before a unit
      return Error{"number is longer than " + std::to_string(kMaxTokenBytes) + " bytes", token.pos, {}};
    }
    token.kind = TokenKind::kInteger;
    token.integer = value;
    token.text = std::string(text_.substr(begin, pos_.offset - begin));
    return std::nullopt;
  }

  std::optional<Error> string(Token& token) {
    const char quote = peek();
    advance();
    std::string value;
    for (;;) {
      if (at_end()) return Error{"string is not closed", token.pos, {}};
      const char c = peek();
      if (c == quote) {
        advance();
        break;
      }
      if (c == '\n') return Error{"string is not closed before the end of the line", token.pos, {}};
      if (c == '\\') {
        const SourcePos escape_pos = pos_;
        advance();
        if (at_end()) return Error{"string is not closed", token.pos, {}};
        const char e = peek();
        switch (e) {
          case '\\': value += '\\'; break;
          case '\'': value += '\''; break;
          case '"': value += '"'; break;
          case 'n': value += '\n'; break;
          case 't': value += '\t'; break;
          default:
            return Error{std::string("unknown escape '\\") + e + "' (expected \\\\, \\', \\\", \\n or \\t)",
                         escape_pos, {}};
        }
        advance();
      } else {
        value += c;
        advance();
      }
      if (value.size() > kMaxTokenBytes) {
        return Error{"string is longer than " + std::to_string(kMaxTokenBytes) + " bytes", token.pos, {}};
      }
    }
    token.kind = TokenKind::kString;
    token.text = std::move(value);
    return std::nullopt;
  }

  std::optional<Error> punctuation(Token& token) {
    const char c = peek();
    const char n = peek(1);
    auto one = [&](TokenKind kind) {
      token.kind = kind;
      token.text = std::string(1, c);
      advance();
      return std::nullopt;
    };
    auto two = [&](TokenKind kind) {
      token.kind = kind;
      token.text = std::string{c, n};
      advance();
      advance();
      return std::nullopt;
    };
    switch (c) {
      case '(': return one(TokenKind::kLParen);
      case ')': return one(TokenKind::kRParen);
      case '[': return one(TokenKind::kLBracket);
      case ']': return one(TokenKind::kRBracket);
      case ',': return one(TokenKind::kComma);
      case '=': return n == '=' ? two(TokenKind::kEq) : one(TokenKind::kEq);
      case '<': return n == '=' ? two(TokenKind::kLe) : one(TokenKind::kLt);
      case '>': return n == '=' ? two(TokenKind::kGe) : one(TokenKind::kGt);
      case '!':
        if (n == '=') return two(TokenKind::kNe);
        break;
      default: break;
    }
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      return error_here(std::string("unexpected byte 0x") + kHex[byte >> 4] + kHex[byte & 0xf]);
    }
    return error_here(std::string("unexpected character '") + c + "'");
  }

  std::string_view text_;
  SourcePos pos_;
};

}  // namespace

std::string_view token_kind_name(TokenKind kind) noexcept {
  switch (kind) {
    case TokenKind::kEnd: return "end of condition";
    case TokenKind::kIdentifier: return "identifier";
    case TokenKind::kString: return "string";
    case TokenKind::kInteger: return "number";
    case TokenKind::kAnd: return "'and'";
    case TokenKind::kOr: return "'or'";
    case TokenKind::kNot: return "'not'";
    case TokenKind::kIn: return "'in'";
    case TokenKind::kContains: return "'contains'";
    case TokenKind::kStartsWith: return "'startswith'";
    case TokenKind::kEndsWith: return "'endswith'";
    case TokenKind::kGlob: return "'glob'";
    case TokenKind::kMatches: return "'matches'";
    case TokenKind::kExists: return "'exists'";
    case TokenKind::kTrue: return "'true'";
    case TokenKind::kFalse: return "'false'";
    case TokenKind::kEq: return "'='";
    case TokenKind::kNe: return "'!='";
    case TokenKind::kLt: return "'<'";
    case TokenKind::kLe: return "'<='";
    case TokenKind::kGt: return "'>'";
    case TokenKind::kGe: return "'>='";
    case TokenKind::kLParen: return "'('";
    case TokenKind::kRParen: return "')'";
    case TokenKind::kComma: return "','";
    case TokenKind::kLBracket: return "'['";
    case TokenKind::kRBracket: return "']'";
  }
  return "token";
}

std::variant<std::vector<Token>, Error> lex(std::string_view text) { return Lexer(text).run(); }

}  // namespace flowaudit::rules::lang
