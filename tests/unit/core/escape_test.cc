#include "core/escape.h"

#include <doctest/doctest.h>

namespace flowaudit::core {

TEST_SUITE("core.escape") {

// The hostile SNI of tests/data/hostile/injection.pcap, in parts.
constexpr std::string_view kOsc = "a\x1b]0;pwned\x07z";
constexpr std::string_view kLines = "a\r\nb\tc";
constexpr std::string_view kBidi = "x\xE2\x80\xAEgnp.exe\xE2\x81\xA6";
constexpr std::string_view kInvalid = "bad\xff\xfe\xc3";
constexpr std::string_view kC1 = "c\xC2\x9B" "31m";

TEST_CASE("terminal: controls, C1, bidi and invalid bytes become visible escapes") {
  CHECK(escape_terminal(kOsc) == "a\\x1b]0;pwned\\x07z");
  CHECK(escape_terminal(kLines) == "a\\x0d\\x0ab\\x09c");
  CHECK(escape_terminal(kBidi) == "x\\u202egnp.exe\\u2066");
  CHECK(escape_terminal(kInvalid) == "bad\\xff\\xfe\\xc3");
  CHECK(escape_terminal(kC1) == "c\\u009b31m");
  CHECK(escape_terminal(std::string_view("nul\0x", 5)) == "nul\\x00x");
  CHECK(escape_terminal("del\x7f") == "del\\x7f");
  CHECK(escape_terminal("Zürich 北京 \\DDD") == "Zürich 北京 \\DDD");
  CHECK(escape_terminal("\xE2\x80\x8F\xE2\x80\xA8\xEF\xBF\xBF") == "\\u200f\\u2028\\uffff");
}

TEST_CASE("csv: visible escapes, formula guard, quoting") {
  std::string out;
  append_csv_cell(out, kOsc);
  CHECK(out == "a\\x1b]0;pwned\\x07z");
  out.clear();
  append_csv_cell(out, "=1+2\r\n");
  CHECK(out == "'=1+2\\x0d\\x0a");
  out.clear();
  append_csv_cell(out, "@x,\"y\"");
  CHECK(out == "\"'@x,\"\"y\"\"\"");
  out.clear();
  append_csv_cell(out, kBidi);
  CHECK(out == "x\\u202egnp.exe\\u2066");
}

TEST_CASE("markdown: markup, links, mentions, autolinks and bidi are neutralised") {
  CHECK(escape_markdown("<script>") == "\\<script\\>");
  CHECK(escape_markdown("[x](http://evil)") == "\\[x\\](http:&#8203;//evil)");
  CHECK(escape_markdown("@admin") == "&#64;&#8203;admin");
  CHECK(escape_markdown("WWW.evil") == "W&#8203;WW.evil");
  CHECK(escape_markdown(kBidi) == "x\\u202egnp.exe\\u2066");
  CHECK(escape_markdown(kOsc) == "a\\x1b\\]0;pwned\\x07z");
}

TEST_CASE("html and xml: entities and visible escapes") {
  CHECK(escape_html("<a href='x'>&\"") == "&lt;a href=&#39;x&#39;&gt;&amp;&quot;");
  CHECK(escape_html(kOsc) == "a\\x1b]0;pwned\\x07z");
  CHECK(escape_html(kBidi) == "x\\u202egnp.exe\\u2066");
  CHECK(escape_html("a\tb\nc") == "a\tb\nc");
  CHECK(escape_xml("<&>\"'\n\t", true) == "&lt;&amp;&gt;&quot;&apos;&#10;&#9;");
  CHECK(escape_xml("a\nb\r", false) == "a\nb\\x0d");
  CHECK(escape_xml(kInvalid) == "bad\\xff\\xfe\\xc3");
}

TEST_CASE("json: short escapes, \\u for the rest, U+FFFD for bytes that are not UTF-8") {
  std::string out;
  append_json_string(out, "q\"b\\n\n\x1b");
  CHECK(out == "\"q\\\"b\\\\n\\n\\u001b\"");
  out.clear();
  append_json_string(out, kBidi);
  CHECK(out == "\"x\\u202egnp.exe\\u2066\"");
  out.clear();
  append_json_string(out, "bad\xff");
  CHECK(out == "\"bad\xEF\xBF\xBD\"");
  out.clear();
  append_json_string(out, "plain");
  CHECK(out == "\"plain\"");
}

}  // TEST_SUITE

}  // namespace flowaudit::core
