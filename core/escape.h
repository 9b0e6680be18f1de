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

// A JSON string literal, quotes included (RFC 8259); always valid UTF-8 and free of raw controls.
void append_json_string(std::string& out, std::string_view s);

}  // namespace flowaudit::core
