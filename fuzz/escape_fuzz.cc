// Fuzz target: the escaping module (core/escape.h) and request-target redaction (core/redact.h).
//
// The input is any bytes, as a wire string would be. Every escaper's output must be valid UTF-8
// without a raw control, DEL, C1 or bidirectional control (JSON: inside a quoted literal); the
// Markdown and HTML/XML outputs must not hold a '<' that opens markup; redaction off must change
// nothing, and redaction on must leave no query value but REDACTED and no fragment.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/escape.h"
#include "core/utf8.h"
#include "fuzz_check.h"
#include "core/redact.h"

namespace {

using namespace flowaudit;

// Valid UTF-8, nothing a reader would not see (`allow_lf`: LF and TAB, which HTML/XML keep).
bool clean(std::string_view s, bool allow_lf) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 && !(allow_lf && (c == '\n' || c == '\t'))) return false;
    if (c == 0x7F) return false;
    const std::size_t n = core::utf8_sequence_length(s, i);
    if (n == 0) return false;
    const std::string_view ch = s.substr(i, n);
    if (n == 2 && c == 0xC2 && static_cast<unsigned char>(ch[1]) < 0xA0) return false;
    if (n == 3 && c == 0xE2) {
      const auto b1 = static_cast<unsigned char>(ch[1]);
      const auto b2 = static_cast<unsigned char>(ch[2]);
      if (b1 == 0x80 && ((b2 >= 0xAA && b2 <= 0xAE) || b2 == 0x8E || b2 == 0x8F)) return false;
      if (b1 == 0x81 && b2 >= 0xA6 && b2 <= 0xA9) return false;
    }
    i += n;
  }
  return true;
}

// Markdown: every '<' and '[' escaped with a backslash that is not itself escaped.
bool no_live_markdown(std::string_view s) {
  bool escaped = false;
  for (const char c : s) {
    if ((c == '<' || c == '[' || c == ']') && !escaped) return false;
    escaped = c == '\\' && !escaped;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  FUZZ_CHECK(clean(core::escape_terminal(in), false));
  std::string csv;
  core::append_csv_cell(csv, in);
  FUZZ_CHECK(clean(csv, false));
  FUZZ_CHECK(csv.empty() || (csv[0] != '=' && csv[0] != '+' && csv[0] != '-' && csv[0] != '@'));
  const std::string md = core::escape_markdown(in);
  FUZZ_CHECK(clean(md, false) && no_live_markdown(md));
  const std::string html = core::escape_html(in);
  FUZZ_CHECK(clean(html, true) && html.find('<') == std::string::npos);
  const std::string xml = core::escape_xml(in, true);
  FUZZ_CHECK(clean(xml, false) && xml.find('<') == std::string::npos);
  const std::string sarif = core::escape_sarif_text(in);
  // No SARIF embedded link ("](") and no unescaped bracket: every '[' or ']' follows a backslash.
  FUZZ_CHECK(clean(sarif, false) && sarif.find("](") == std::string::npos);
  for (std::size_t i = 0; i < sarif.size(); ++i) {
    if (sarif[i] == '\\') { ++i; continue; }
    FUZZ_CHECK(sarif[i] != '[' && sarif[i] != ']');
  }
  std::string json;
  core::append_json_string(json, in);
  FUZZ_CHECK(clean(json, false) && json.size() >= 2 && json.front() == '"' && json.back() == '"');

  FUZZ_CHECK(core::redact_target(in, false) == in);
  const std::string redacted = core::redact_target(in, true);
  FUZZ_CHECK(redacted.find('#') == std::string::npos);
  if (const std::size_t q = redacted.find('?'); q != std::string::npos) {
    std::string_view params = std::string_view(redacted).substr(q + 1);
    while (true) {
      const std::size_t sep = params.find_first_of("&;");
      const std::string_view pair = params.substr(0, sep);
      if (const std::size_t eq = pair.find('='); eq != std::string_view::npos) {
        const std::string_view value = pair.substr(eq + 1);
        FUZZ_CHECK(value.empty() || value == core::kRedacted);
      }
      if (sep == std::string_view::npos) break;
      params.remove_prefix(sep + 1);
    }
  }
  return 0;
}
