// tests/data/hostile/injection.pcap (scripts/gen/injection-capture) through every report format and
// the diff: TLS SNIs with an OSC title sequence, CR LF, U+202E, invalid UTF-8 and markup, and plain
// HTTP requests with hostile targets that all carry alice@example.com. No format may pass a raw
// control byte, a bidirectional control, invalid UTF-8 or live markup through, and redaction must
// hold for every target (issue 11, items 3 to 5).
#include "core/utf8.h"
#include "e2e/e2e_util.h"

namespace flowaudit::e2e {
namespace {

std::string capture() { return source_path("tests/data/hostile/injection.pcap"); }

struct Output {
  std::string format;
  std::string text;
};

// Every format of one audit of the injection capture, with the default policy.
std::vector<Output> all_formats(const std::vector<std::string>& extra = {}) {
  static int counter = 0;
  const std::string formats[] = {"text", "csv", "md", "html", "junit", "json", "sarif"};
  std::vector<std::string> args{"audit", capture()};
  args.insert(args.end(), extra.begin(), extra.end());
  std::vector<std::string> paths;
  for (const auto& f : formats) {
    paths.push_back((temp_dir() / ("injection" + std::to_string(counter++) + "." + f)).string());
    args.push_back("--report");
    args.push_back(f + ":" + paths.back());
  }
  const auto r = run(args);
  INFO(r.err);
  REQUIRE((r.exit_code == 0 || r.exit_code == 1));
  std::vector<Output> out;
  for (std::size_t i = 0; i < paths.size(); ++i) out.push_back({formats[i], read_file(paths[i])});
  return out;
}

// What no reader may be handed: C0 controls but line ends, DEL, C1 controls, bidi controls,
// invalid UTF-8. Empty when clean, else a description of the first offence.
std::string first_raw_byte(const std::string& s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if ((c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7F) return "control byte at " + std::to_string(i);
    const std::size_t n = core::utf8_sequence_length(s, i);
    if (n == 0) return "invalid UTF-8 at " + std::to_string(i);
    const std::string_view ch(s.data() + i, n);
    if (ch.size() == 2 && c == 0xC2 && static_cast<unsigned char>(ch[1]) < 0xA0) return "C1 control at " + std::to_string(i);
    for (const std::string_view bidi : {"\u202A", "\u202B", "\u202C", "\u202D", "\u202E", "\u2066", "\u2067", "\u2068",
                                        "\u2069", "\u200E", "\u200F", "\u061C"}) {
      if (ch == bidi) return "bidi control at " + std::to_string(i);
    }
    i += n;
  }
  return {};
}

// Markdown that would become markup: an unescaped '<', '[' or ']', a live mention or autolink.
std::string first_live_markdown(const std::string& s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool escaped = i > 0 && s[i - 1] == '\\';
    if ((s[i] == '<' || s[i] == '[' || s[i] == ']') && !escaped) return "markup at " + std::to_string(i);
  }
  if (s.find("@admin") != std::string::npos) return "a mention";
  if (s.find("://evil") != std::string::npos) return "an autolink";
  return {};
}

void check_clean(const std::string& format, const std::string& text) {
  INFO("format " << format);
  REQUIRE(!text.empty());
  CHECK(first_raw_byte(text) == "");
  // The SNIs' markup, live in the formats that render it.
  if (format == "html" || format == "junit") {
    CHECK(text.find("<script>alert") == std::string::npos);
    CHECK(text.find("<img") == std::string::npos);
  }
  if (format == "md" || format == "diff-md") CHECK(first_live_markdown(text) == "");
}

}  // namespace

TEST_SUITE("e2e") {

TEST_CASE("injection capture: no format passes raw control bytes, bidi controls or markup") {
  for (const auto& o : all_formats()) check_clean(o.format, o.text);
}

TEST_CASE("injection capture: the SNIs are shown, escaped, not dropped") {
  for (const auto& o : all_formats()) {
    INFO("format " << o.format);
    // JUnit and SARIF list findings only; the text table cuts names at 30 characters.
    if (o.format == "json" || o.format == "sarif" || o.format == "junit") continue;
    CHECK(o.text.find("pwned\\x07") != std::string::npos);
    if (o.format != "text") CHECK(o.text.find("\\u202e") != std::string::npos);
  }
}

TEST_CASE("injection capture: redaction holds for every hostile request target, --no-redact keeps them") {
  for (const auto& o : all_formats()) {
    INFO("format " << o.format);
    CHECK(o.text.find("alice") == std::string::npos);
  }
  bool kept = false;
  for (const auto& o : all_formats({"--no-redact"})) {
    check_clean(o.format, o.text);
    kept = kept || o.text.find("email=alice@example.com") != std::string::npos;
  }
  CHECK(kept);
}

TEST_CASE("injection capture: the diff's text, Markdown and JSON are escaped the same way") {
  const std::string baseline = source_path("tests/data/http-post.pcap");
  for (const std::string format : {"text", "md", "json"}) {
    const auto r = run({"diff", baseline, capture(), "--report", format});
    INFO(r.err);
    REQUIRE((r.exit_code == 0 || r.exit_code == 1));
    check_clean("diff-" + format, r.out);
    CHECK(r.out.find("alice") == std::string::npos);
    if (format != "json") CHECK(r.out.find("\\u202e") != std::string::npos);
  }
}

}  // TEST_SUITE

}  // namespace flowaudit::e2e
