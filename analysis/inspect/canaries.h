// Canaries: values the tester typed into the app (--canary VALUE, --canary-file), looked for in what
// the app sends, in the encodings apps use on the way out (docs/inspection-plan.md, module 3).
//
// Each value is expanded once, in compile(), to literal patterns, each named by the chain of
// encodings that makes it ("as is", "url", "base64", "sha256(lower(trim)) as hex", ...). All
// patterns of all canaries go into one RE2::Set, so a text is read once whatever the number of
// canaries; only for the patterns that matched is the first position then looked up (a
// Boyer-Moore search of that one literal).
//
// The encodings (chain names in quotes; a variant identical to an earlier one of the same value is
// dropped and the earlier name kept):
//   "as is", "lower", "upper"  the bytes; ASCII letters lower-/upper-cased (other bytes kept)
//   "url", "url form"          every byte but the unreserved A-Z a-z 0-9 - . _ ~ as %XX, with upper-
//                              and with lower-case hex digits; "url form" writes a space as '+'.
//                              Also in the styles of common encoders (upper-case hex): ! ' ( ) *
//                              left raw (encodeURIComponent), '/' left raw (Python quote), and as
//                              "url form" '*' raw and '~' encoded (WHATWG form encoding, Java URLEncoder)
//   "json"                     a JSON string's content: \" \\, \b \f \n \r \t, other controls as
//                              \u00XX; '/' raw or as \/; non-ASCII raw or, when the value is valid
//                              UTF-8, as \uXXXX escapes of UTF-16 code units (surrogate pairs above
//                              U+FFFF), with lower- and with upper-case hex digits
//   "base64", "base64url"      RFC 4648 sections 4 and 5, no padding, at each of the 3 alignments
//   "base32"                   RFC 4648 section 6 in any case (DNS names are lower-cased), no padding,
//                              at each of the 5 alignments
//   "hex"                      the bytes as hex, any case
//   "md5|sha1|sha256 as hex|base64|base64url"   the digest of the value (hex in any case; base64
//                              unpadded, which also matches the padded form)
//   "md5|sha1|sha256(lower(trim)) as ..."       the same of the trimmed, lower-cased value, when the
//                              value contains '@' (hashed e-mail addresses, as ad SDKs send them)
//   "sha256(digits) as ..."    SHA-256 of the digits alone (E.164 without '+'), when the value
//                              looks like a phone number: '+', a digit, then only digits and
//                              spaces, '-', '.', '(' or ')'
//
// Alignment rule (base64 and base32): a value of n bytes inside a longer encoded stream starts at
// some byte offset k within a group (3 bytes for base64, 5 for base32). Output character i of a
// group-aligned stream covers bits [b*i, b*(i+1)) (b = 6 or 5). Encoding k filler bytes followed by
// the value, the characters that depend on the value's bits alone are those with
// 8k <= b*i and b*(i+1) <= 8(k+n), i.e. i in [ceil(8k/b), floor(8(k+n)/b)): base64 drops the first
// 0, 2 or 3 characters for k = 0, 1, 2 and, at the end, the character that would also hold bits of
// what follows. That slice appears in any stream holding the value at offset k, whatever
// surrounds it. For k = 0 it is a prefix of the value's own unpadded encoding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace flowaudit::analysis::inspect {

struct CanaryHit {
  std::size_t canary = 0;   // index of the value, in the order added
  std::string_view chain;   // how the value was encoded, e.g. "as is", "base64", "sha256 as hex" (static text)
  std::size_t begin = 0;    // the first occurrence, within the text scanned
  std::size_t end = 0;
};

class CanarySet {
 public:
  static constexpr std::size_t kMaxCanaries = 64;
  static constexpr std::size_t kMaxValueBytes = 1024;
  static constexpr std::size_t kMinValueBytes = 4;
  static constexpr std::size_t kMaxFileBytes = 1 << 20;  // --canary-file
  // RE2 program and DFA budget of the one matcher. The largest set (64 values of 1024 arbitrary bytes,
  // ~2,500 patterns, ~2.5 MB of pattern text) fits: it compiles in seconds with a peak of ~180 MB;
  // a few short values compile in milliseconds.
  static constexpr std::int64_t kMaxMatcherMemory = std::int64_t{256} << 20;

  CanarySet();
  ~CanarySet();
  CanarySet(CanarySet&&) noexcept;
  CanarySet& operator=(CanarySet&&) noexcept;
  CanarySet(const CanarySet&) = delete;
  CanarySet& operator=(const CanarySet&) = delete;

  // False, with why, for an empty value, one shorter than kMinValueBytes (it would match almost
  // everywhere), one longer than kMaxValueBytes, a value already added, when kMaxCanaries were
  // added, or after compile().
  bool add(std::string_view value, std::string& why);

  // Reads a --canary-file: one value per line, surrounding spaces and tabs (and a CR) removed,
  // blank lines and lines whose first non-blank character is '#' skipped. Errors name FILE:LINE.
  // Values added before an error stay added.
  bool add_file(const std::string& path, std::string& error);

  // Builds the matcher; call once, after the adds. With no canaries it succeeds and scan finds nothing.
  bool compile(std::string& error);

  // Appends to `out` every canary variant found in `text` (a field value or a whole body): one hit
  // per (canary, chain) per call, at its first position. Only after compile().
  void scan(std::string_view text, std::vector<CanaryHit>& out) const;

  [[nodiscard]] std::size_t size() const noexcept { return values_.size(); }
  // The raw value (never reported unless --no-redact; the caller masks it).
  [[nodiscard]] std::string_view value(std::size_t i) const { return values_.at(i); }
  // Patterns in the matcher (all variants of all canaries), after compile().
  [[nodiscard]] std::size_t pattern_count() const noexcept;

 private:
  struct Matcher;
  std::vector<std::string> values_;
  std::unique_ptr<Matcher> matcher_;
};

}  // namespace flowaudit::analysis::inspect
