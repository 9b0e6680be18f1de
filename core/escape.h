// The one place where strings from the wire (SNI, Host, paths, DNS names, messages quoting them)
// are made safe for the medium they go to. A TLS SNI may hold ESC ] 0 ; ... BEL (retitles a
// terminal), CR/LF (forges report lines), U+202E (shows "moc.live" as "evil.com") or bytes that are
// not UTF-8; none of that may reach a reader as it is. Every writer calls these, none escapes on
// its own.
//
// Shared rule, every medium but JSON: C0 controls, DEL, C1 controls, the bidirectional controls
// (U+061C, U+200E/F, U+202A-U+202E, U+2066-U+2069), U+2028/9 and U+FFFE/F become visible escapes
// (\x1b, \u202e), and a byte that is not UTF-8 becomes \xNN, so the reader sees what was sent.
// Backslash itself is left alone (DNS names already carry RFC 4343 \DDD escapes).
// JSON keeps the data (it is read by programs): the same characters as JSON \u escapes, invalid
// bytes as U+FFFD.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace flowaudit::core {

// A terminal, a log line or a plain-text report: nothing but the visible escapes. The result is one
// line (CR, LF and TAB are escaped too).
void append_terminal(std::string& out, std::string_view s);
[[nodiscard]] std::string escape_terminal(std::string_view s);

// One CSV cell (RFC 4180): visible escapes, then a leading = + - @ guarded with ' (spreadsheets run
// such a cell as a formula), then quoted when it holds a quote, a comma or edge spaces.
void append_csv_cell(std::string& out, std::string_view s);

// Markdown inline text (a table cell, a list item): visible escapes, Markdown punctuation and HTML
// tags backslash-escaped, '@' as an entity (no mentions), "://" and "www." broken so that no
// autolink is made.
[[nodiscard]] std::string escape_markdown(std::string_view s);

// HTML element content and quoted attribute values. TAB and LF are kept (harmless in HTML).
void append_html(std::string& out, std::string_view s);
[[nodiscard]] std::string escape_html(std::string_view s);

// XML 1.0 content (attribute = false: LF and TAB kept) or an attribute value (as character
// references, which a parser keeps).
void append_xml(std::string& out, std::string_view s, bool attribute = true);
[[nodiscard]] std::string escape_xml(std::string_view s, bool attribute = true);

// SARIF message.text (SARIF 2.1.0 section 3.11): plain text that viewers may still render. Visible
// escapes, then '[', ']' and '\\' backslash-escaped (the spec's own escape), a '(' right after a ']'
// escaped too (no "](" survives for a viewer that ignores backslashes), '{' and '}' doubled
// (placeholders, section 3.11.5).
[[nodiscard]] std::string escape_sarif_text(std::string_view s);

// A JSON string literal, quotes included (RFC 8259); always valid UTF-8 and free of raw controls.
void append_json_string(std::string& out, std::string_view s);
// The same without the quotes: a part of a JSON string made of several.
void append_json_chars(std::string& out, std::string_view s);
// How many bytes at the start of `s` a JSON string carries as they are (printable ASCII other than
// '"' and '\\'); s.size() when nothing needs escaping. Inline: the event writer asks it of every
// string.
[[nodiscard]] inline std::size_t json_plain_prefix(std::string_view s) noexcept {
  // Printable ASCII without quotes or backslashes goes out as it is. Eight bytes at a time (written
  // by hand: a SWAR test of each byte of a 64-bit word for < 0x20, >= 0x7F, '"' and '\\'; the bit
  // tricks are the classic "has a zero byte" ones), then byte by byte.
  std::size_t plain = 0;
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  while (plain + 8 <= s.size()) {
    std::uint64_t x = 0;
    std::memcpy(&x, s.data() + plain, 8);
    const std::uint64_t quote = x ^ (kOnes * '"');
    const std::uint64_t backslash = x ^ (kOnes * '\\');
    const std::uint64_t del = x ^ (kOnes * 0x7F);
    const std::uint64_t special = ((x - kOnes * 0x20) | (quote - kOnes) | (backslash - kOnes) | (del - kOnes) | x) & kHigh;
    // A byte below 0x20 borrows in x - 0x20 (its high bit set), a byte equal to '"', '\\' or DEL is
    // zero after the XOR and borrows in - 1, and a byte >= 0x80 has its high bit set in x. Borrows
    // may mark a later byte too: any mark sends the word to the exact loop below.
    if (special != 0) break;
    plain += 8;
  }
  while (plain < s.size()) {
    const auto c = static_cast<unsigned char>(s[plain]);
    if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\') break;
    ++plain;
  }
  return plain;
}

}  // namespace flowaudit::core
