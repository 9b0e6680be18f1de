#include "core/escape.h"

#include <cstdint>
#include <cstring>

#include "core/utf8.h"

namespace flowaudit::core {
namespace {

constexpr std::string_view kHex = "0123456789abcdef";

// Characters that a reader would not see, or that change how the text around them is shown.
bool hidden(std::uint32_t cp) noexcept {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x061C || cp == 0x200E || cp == 0x200F ||
         (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFFFE || cp == 0xFFFF;
}

std::uint32_t decode(std::string_view s, std::size_t i, std::size_t n) noexcept {
  auto cp = static_cast<std::uint32_t>(static_cast<unsigned char>(s[i]) & (0x7Fu >> n));
  for (std::size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3Fu);
  return cp;
}

void hex(std::string& out, std::string_view prefix, std::uint32_t v, int digits) {
  out.append(prefix);
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) out.push_back(kHex[(v >> shift) & 0xF]);
}

enum class Style { kVisible, kJson };

// A character the medium does not take as it is: \x1b / \u202e for a reader, \u001b / \u202e in JSON.
void escape_hidden(std::string& out, std::uint32_t cp, Style style) {
  if (style == Style::kVisible && cp < 0x80) hex(out, "\\x", cp, 2);
  else hex(out, "\\u", cp, 4);
}

// The single walk over untrusted text: valid, visible non-ASCII goes out as it is; hidden characters
// and invalid bytes are escaped in `style`; every ASCII byte is offered to `ascii(c, i)` first, which
// appends it (or its escape) and returns true, or returns false to have it escaped as hidden.
template <typename Ascii>
void walk(std::string& out, std::string_view s, Style style, Ascii&& ascii) {
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      if (!ascii(static_cast<char>(b), i)) escape_hidden(out, b, style);
      ++i;
      continue;
    }
    const std::size_t n = utf8_sequence_length(s, i);
    if (n == 0) {
      if (style == Style::kJson) out.append(kUtf8Replacement);  // JSON has no way to carry the byte
      else hex(out, "\\x", b, 2);
      ++i;
      continue;
    }
    const std::uint32_t cp = decode(s, i, n);
    if (hidden(cp)) escape_hidden(out, cp, style);
    else out.append(s.substr(i, n));
    i += n;
  }
}

bool printable(char c) noexcept { return c >= 0x20 && c != 0x7F; }

bool starts_with_nocase(std::string_view s, std::size_t i, std::string_view what) noexcept {
  if (s.size() - i < what.size()) return false;
  for (std::size_t k = 0; k < what.size(); ++k) {
    char c = s[i + k];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != what[k]) return false;
  }
  return true;
}

// The five markup characters as entities (HTML writes the apostrophe as &#39;, XML as &apos;).
bool markup_entity(std::string& out, char c, std::string_view apostrophe) {
  switch (c) {
    case '&': out.append("&amp;"); return true;
    case '<': out.append("&lt;"); return true;
    case '>': out.append("&gt;"); return true;
    case '"': out.append("&quot;"); return true;
    case '\'': out.append(apostrophe); return true;
    default: return false;
  }
}

}  // namespace

void append_terminal(std::string& out, std::string_view s) {
  walk(out, s, Style::kVisible, [&](char c, std::size_t) {
    if (!printable(c)) return false;
    out.push_back(c);
    return true;
  });
}

std::string escape_terminal(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  append_terminal(out, s);
  return out;
}

void append_csv_cell(std::string& out, std::string_view s) {
  std::string cell;
  cell.reserve(s.size() + 1);
  // Spreadsheets run a cell that starts with one of these as a formula (CSV injection). TAB and CR,
  // which some strip first, cannot lead: they are escaped.
  if (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@')) cell.push_back('\'');
  bool quote = false;
  walk(cell, s, Style::kVisible, [&](char c, std::size_t) {
    if (!printable(c)) return false;
    quote = quote || c == '"' || c == ',';
    cell.push_back(c);
    return true;
  });
  if (!cell.empty() && (cell.front() == ' ' || cell.back() == ' ')) quote = true;
  if (!quote) {
    out.append(cell);
    return;
  }
  out.push_back('"');
  for (const char c : cell) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

std::string escape_markdown(std::string_view s) {
  // A zero-width space is what keeps "@admin" from being a mention and "http://x" or "www.x" from
  // being a link on renderers that find them in text after Markdown is parsed (GitHub does).
  constexpr std::string_view kBreak = "&#8203;";
  std::string out;
  out.reserve(s.size() + 8);
  walk(out, s, Style::kVisible, [&](char c, std::size_t i) {
    switch (c) {
      case '@':
        out.append("&#64;").append(kBreak);
        return true;
      case ':':
        out.push_back(':');
        if (s.substr(i + 1, 2) == "//") out.append(kBreak);
        return true;
      case 'w':
      case 'W':
        out.push_back(c);
        if (starts_with_nocase(s, i, "www.")) out.append(kBreak);
        return true;
      case '\\': case '`': case '*': case '_': case '[': case ']': case '<': case '>':
      case '|': case '~': case '&': case '#': case '!':
        out.push_back('\\');
        out.push_back(c);
        return true;
      default:
        if (!printable(c)) return false;
        out.push_back(c);
        return true;
    }
  });
  return out;
}

void append_html(std::string& out, std::string_view s) {
  walk(out, s, Style::kVisible, [&](char c, std::size_t) {
    if (markup_entity(out, c, "&#39;")) return true;
    if (!printable(c) && c != '\t' && c != '\n') return false;
    out.push_back(c);
    return true;
  });
}

std::string escape_html(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  append_html(out, s);
  return out;
}

void append_xml(std::string& out, std::string_view s, bool attribute) {
  walk(out, s, Style::kVisible, [&](char c, std::size_t) {
    if (markup_entity(out, c, "&apos;")) return true;
    if (c == '\n' || c == '\t') {
      // A raw one in an attribute reads as a space.
      out.append(!attribute ? std::string_view(&c, 1) : c == '\n' ? "&#10;" : "&#9;");
      return true;
    }
    if (!printable(c)) return false;
    out.push_back(c);
    return true;
  });
}

std::string escape_xml(std::string_view s, bool attribute) {
  std::string out;
  out.reserve(s.size());
  append_xml(out, s, attribute);
  return out;
}

std::string escape_sarif_text(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  walk(out, s, Style::kVisible, [&](char c, std::size_t i) {
    if (!printable(c)) return false;
    if (c == '[' || c == ']' || c == '\\' || (c == '(' && i > 0 && s[i - 1] == ']')) {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '{' || c == '}') {
      out.append(2, c);
    } else {
      out.push_back(c);
    }
    return true;
  });
  return out;
}

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  append_json_chars(out, s);
  out.push_back('"');
}

void append_json_chars(std::string& out, std::string_view s) {
  const std::size_t plain = json_plain_prefix(s);
  out.append(s.substr(0, plain));
  if (plain == s.size()) return;  // the usual case (keys, names, numbers as text): nothing to walk
  walk(out, s.substr(plain), Style::kJson, [&](char c, std::size_t) {
    switch (c) {
      case '"': out.append("\\\""); return true;
      case '\\': out.append("\\\\"); return true;
      case '\n': out.append("\\n"); return true;
      case '\r': out.append("\\r"); return true;
      case '\t': out.append("\\t"); return true;
      default:
        if (!printable(c)) return false;
        out.push_back(c);
        return true;
    }
  });
}

}  // namespace flowaudit::core
