#include "analysis/inspect/canaries.h"

#include <openssl/evp.h>
#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <functional>
#include <iterator>
#include <string>
#include <utility>

#include "core/input_file.h"
#include "core/utf8.h"

namespace flowaudit::analysis::inspect {
namespace {

// One literal pattern: `needle` as it appears in a text; `fold` when ASCII case does not matter
// (hex), and then `needle` is lower case.
struct Pattern {
  std::size_t canary = 0;
  std::string_view chain;
  std::string needle;
  bool fold = false;
};

constexpr std::string_view kHexLower = "0123456789abcdef";
constexpr std::string_view kHexUpper = "0123456789ABCDEF";
constexpr std::string_view kBase64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kBase64Url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::string_view kBase32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

char ascii_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
char ascii_upper(char c) noexcept { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

std::string lower(std::string_view v) {
  std::string s(v);
  std::transform(s.begin(), s.end(), s.begin(), ascii_lower);
  return s;
}

std::string upper(std::string_view v) {
  std::string s(v);
  std::transform(s.begin(), s.end(), s.begin(), ascii_upper);
  return s;
}

bool is_blank(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view v) {
  while (!v.empty() && is_blank(v.front())) v.remove_prefix(1);
  while (!v.empty() && is_blank(v.back())) v.remove_suffix(1);
  return v;
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

void append_hex(std::string& out, unsigned char b, std::string_view digits) {
  out += digits[b >> 4];
  out += digits[b & 0x0F];
}

std::string hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) append_hex(out, static_cast<unsigned char>(c), kHexLower);
  return out;
}

// What percent-encoders leave as it is, besides letters, digits, '-', '.' and '_', and how they
// write a space. Lower-case hex digits only in the plain style: the encoders named write upper case.
struct UrlStyle {
  std::string_view chain;
  std::string_view extra_raw;  // beyond the unreserved characters
  bool tilde_raw = true;
  bool plus_for_space = false;
  bool lower_hex_too = false;
};
constexpr std::array<UrlStyle, 5> kUrlStyles{{
    {"url", "", true, false, true},          // RFC 3986 section 2.3: everything but unreserved
    {"url", "!'()*", true, false, false},    // JavaScript encodeURIComponent
    {"url", "/", true, false, false},        // Python urllib.parse.quote (safe='/')
    {"url form", "", true, true, true},      // Go url.QueryEscape, Python quote_plus
    {"url form", "*", false, true, false},   // WHATWG application/x-www-form-urlencoded, Java URLEncoder
}};

// Percent-encoding (RFC 3986 section 2) in one of the styles above. Hand-written: a few lines, and
// the libraries at hand encode in one style each.
std::string url_encode(std::string_view v, std::string_view digits, const UrlStyle& style) {
  std::string out;
  out.reserve(v.size() * 3);
  for (const char c : v) {
    const bool raw = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '-' || c == '.' ||
                     c == '_' || (c == '~' && style.tilde_raw) || style.extra_raw.find(c) != std::string_view::npos;
    if (raw) {
      out += c;
    } else if (c == ' ' && style.plus_for_space) {
      out += '+';
    } else {
      out += '%';
      append_hex(out, static_cast<unsigned char>(c), digits);
    }
  }
  return out;
}

enum class JsonUnicode { kRaw, kEscapeLower, kEscapeUpper };

void append_u_escape(std::string& out, unsigned unit, std::string_view digits) {
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out += digits[(unit >> shift) & 0x0F];
}

// The content of a JSON string holding `v` (RFC 8259 section 7), as encoders write it: the short
// escapes where they exist, \u00XX for other controls, optionally \/ and \u escapes of UTF-16 code
// units for non-ASCII. Hand-written: the JSON writers at hand (Boost.JSON, core/escape.h) each
// produce one of these spellings only. Empty when non-ASCII is to be escaped and `v` is not UTF-8.
std::string json_escape(std::string_view v, bool escape_slash, JsonUnicode unicode) {
  const std::string_view digits = unicode == JsonUnicode::kEscapeUpper ? kHexUpper : kHexLower;
  std::string out;
  out.reserve(v.size() * 2);
  for (std::size_t i = 0; i < v.size();) {
    const auto b = static_cast<unsigned char>(v[i]);
    if (b >= 0x80 && unicode != JsonUnicode::kRaw) {
      const std::size_t n = core::utf8_sequence_length(v, i);
      if (n == 0) return {};
      unsigned cp = n == 2 ? (b & 0x1Fu) : n == 3 ? (b & 0x0Fu) : (b & 0x07u);
      for (std::size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(v[i + k]) & 0x3Fu);
      if (cp >= 0x10000) {
        cp -= 0x10000;
        append_u_escape(out, 0xD800 + (cp >> 10), digits);
        append_u_escape(out, 0xDC00 + (cp & 0x3FF), digits);
      } else {
        append_u_escape(out, cp, digits);
      }
      i += n;
      continue;
    }
    switch (b) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '/': out += escape_slash ? "\\/" : "/"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (b < 0x20) {
          append_u_escape(out, b, digits);
        } else {
          out += static_cast<char>(b);
        }
    }
    ++i;
  }
  return out;
}

// Characters [first, last) of the radix-2^bits encoding (MSB first, RFC 4648) of `k` zero bytes
// followed by `v`. Hand-written: OpenSSL has base64 but no base32, and neither slices.
std::string radix_chars(std::string_view v, std::size_t k, unsigned bits, std::string_view alphabet,
                        std::size_t first, std::size_t last) {
  const auto stream_byte = [&](std::size_t j) -> unsigned {
    return j < k ? 0u : (j - k < v.size() ? static_cast<unsigned char>(v[j - k]) : 0u);
  };
  std::string out;
  out.reserve(last > first ? last - first : 0);
  for (std::size_t i = first; i < last; ++i) {
    const std::size_t bit = i * bits;
    // The character's bits lie within the two bytes starting at bit / 8 (bits <= 8).
    const unsigned two = (stream_byte(bit / 8) << 8) | stream_byte(bit / 8 + 1);
    const unsigned shift = 16 - static_cast<unsigned>(bit % 8) - bits;
    out += alphabet[(two >> shift) & ((1u << bits) - 1)];
  }
  return out;
}

// The unpadded encoding of `v` alone (for digests: the last character's spare bits are zero).
std::string radix_unpadded(std::string_view v, unsigned bits, std::string_view alphabet) {
  return radix_chars(v, 0, bits, alphabet, 0, (v.size() * 8 + bits - 1) / bits);
}

// The characters of the encoding of `v` at byte offset `k` in its group that depend on `v` alone
// (the alignment rule in canaries.h).
std::string radix_fragment(std::string_view v, std::size_t k, unsigned bits, std::string_view alphabet) {
  const std::size_t first = (8 * k + bits - 1) / bits;
  const std::size_t last = 8 * (k + v.size()) / bits;
  return first < last ? radix_chars(v, k, bits, alphabet, first, last) : std::string();
}

std::string digest(std::string_view v, const EVP_MD* md) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  if (md == nullptr || EVP_Digest(v.data(), v.size(), out.data(), &len, md, nullptr) != 1) return {};
  return std::string(reinterpret_cast<const char*>(out.data()), std::min<std::size_t>(len, out.size()));
}

// '+', a digit, then digits and the separators people type.
bool looks_like_phone(std::string_view v) {
  if (v.size() < 2 || v[0] != '+' || !is_digit(v[1])) return false;
  return std::all_of(v.begin() + 1, v.end(), [](char c) {
    return is_digit(c) || c == ' ' || c == '-' || c == '.' || c == '(' || c == ')';
  });
}

// Chain names of the digests, static text: [form][hash][encoding].
constexpr std::array<std::array<std::array<std::string_view, 3>, 3>, 3> kDigestChains{{
    {{{"md5 as hex", "md5 as base64", "md5 as base64url"},
      {"sha1 as hex", "sha1 as base64", "sha1 as base64url"},
      {"sha256 as hex", "sha256 as base64", "sha256 as base64url"}}},
    {{{"md5(lower(trim)) as hex", "md5(lower(trim)) as base64", "md5(lower(trim)) as base64url"},
      {"sha1(lower(trim)) as hex", "sha1(lower(trim)) as base64", "sha1(lower(trim)) as base64url"},
      {"sha256(lower(trim)) as hex", "sha256(lower(trim)) as base64", "sha256(lower(trim)) as base64url"}}},
    {{{"", "", ""}, {"", "", ""}, {"sha256(digits) as hex", "sha256(digits) as base64", "sha256(digits) as base64url"}}},
}};

// Every variant of one value, in the order of canaries.h, without repeats.
void expand(std::size_t canary, std::string_view v, std::vector<Pattern>& out) {
  const std::size_t first_of_value = out.size();
  const auto add = [&](std::string_view chain, std::string needle, bool fold) {
    if (needle.empty()) return;
    if (fold) needle = lower(needle);
    for (std::size_t i = first_of_value; i < out.size(); ++i) {
      if (out[i].fold == fold && out[i].needle == needle) return;
    }
    out.push_back(Pattern{canary, chain, std::move(needle), fold});
  };
  add("as is", std::string(v), false);
  add("lower", lower(v), false);
  add("upper", upper(v), false);
  for (const UrlStyle& style : kUrlStyles) {
    add(style.chain, url_encode(v, kHexUpper, style), false);
    if (style.lower_hex_too) add(style.chain, url_encode(v, kHexLower, style), false);
  }
  for (const bool slash : {false, true}) {
    for (const JsonUnicode u : {JsonUnicode::kRaw, JsonUnicode::kEscapeLower, JsonUnicode::kEscapeUpper}) {
      add("json", json_escape(v, slash, u), false);
    }
  }
  for (std::size_t k = 0; k < 3; ++k) add("base64", radix_fragment(v, k, 6, kBase64), false);
  for (std::size_t k = 0; k < 3; ++k) add("base64url", radix_fragment(v, k, 6, kBase64Url), false);
  // Either case: DNS names are lower-cased (and many encoders write base32 in lower case).
  for (std::size_t k = 0; k < 5; ++k) add("base32", radix_fragment(v, k, 5, kBase32), true);
  add("hex", hex(v), true);

  const std::array<const EVP_MD*, 3> hashes{EVP_md5(), EVP_sha1(), EVP_sha256()};
  const auto add_digests = [&](std::size_t form, std::string_view input, std::size_t first_hash) {
    for (std::size_t h = first_hash; h < hashes.size(); ++h) {
      const std::string d = digest(input, hashes[h]);
      if (d.empty()) continue;
      add(kDigestChains[form][h][0], hex(d), true);
      add(kDigestChains[form][h][1], radix_unpadded(d, 6, kBase64), false);
      add(kDigestChains[form][h][2], radix_unpadded(d, 6, kBase64Url), false);
    }
  };
  add_digests(0, v, 0);
  if (v.find('@') != std::string_view::npos) add_digests(1, lower(trim(v)), 0);
  if (const std::string_view t = trim(v); looks_like_phone(t)) {
    std::string digits;
    std::copy_if(t.begin(), t.end(), std::back_inserter(digits), is_digit);
    add_digests(2, digits, 2);
  }
}

// The first occurrence of a pattern (`lowered`: the text in ASCII lower case, made on first need).
std::size_t locate(const Pattern& p, std::string_view text, std::string& lowered, bool& have_lowered) {
  std::string_view hay = text;
  if (p.fold) {
    if (!have_lowered) {
      lowered = lower(text);
      have_lowered = true;
    }
    hay = lowered;
  }
  if (p.needle.size() > hay.size()) return std::string_view::npos;
  const auto it = std::search(hay.begin(), hay.end(), std::boyer_moore_searcher(p.needle.begin(), p.needle.end()));
  return it == hay.end() ? std::string_view::npos : static_cast<std::size_t>(it - hay.begin());
}

}  // namespace

struct CanarySet::Matcher {
  std::vector<Pattern> patterns;
  std::unique_ptr<re2::RE2::Set> set;
};

CanarySet::CanarySet() = default;
CanarySet::~CanarySet() = default;
CanarySet::CanarySet(CanarySet&&) noexcept = default;
CanarySet& CanarySet::operator=(CanarySet&&) noexcept = default;

std::size_t CanarySet::pattern_count() const noexcept { return matcher_ ? matcher_->patterns.size() : 0; }

bool CanarySet::add(std::string_view value, std::string& why) {
  if (matcher_) {
    why = "canaries are added before the matcher is built";
    return false;
  }
  if (value.empty()) {
    why = "empty canary";
    return false;
  }
  if (value.size() < kMinValueBytes) {
    why = "canary shorter than " + std::to_string(kMinValueBytes) + " bytes (it would match almost everywhere)";
    return false;
  }
  if (value.size() > kMaxValueBytes) {
    why = "canary longer than " + std::to_string(kMaxValueBytes) + " bytes";
    return false;
  }
  if (values_.size() >= kMaxCanaries) {
    why = "more than " + std::to_string(kMaxCanaries) + " canaries";
    return false;
  }
  if (std::find(values_.begin(), values_.end(), value) != values_.end()) {
    why = "the same canary was given twice";
    return false;
  }
  values_.emplace_back(value);
  return true;
}

bool CanarySet::add_file(const std::string& path, std::string& error) {
  std::string content;
  if (const std::string problem = core::read_input_file(path, kMaxFileBytes, content); !problem.empty()) {
    error = path + ": cannot read the canary file: " + problem;
    return false;
  }
  std::string_view rest = content;
  for (std::size_t line = 1; !rest.empty(); ++line) {
    const std::size_t nl = rest.find('\n');
    std::string_view text = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
    if (text.empty() || text.front() == '#') continue;
    std::string why;
    if (!add(text, why)) {
      error = path + ":" + std::to_string(line) + ": " + why;
      return false;
    }
  }
  return true;
}

bool CanarySet::compile(std::string& error) {
  if (matcher_) {
    error = "the canary matcher is already built";
    return false;
  }
  auto m = std::make_unique<Matcher>();
  for (std::size_t i = 0; i < values_.size(); ++i) expand(i, values_[i], m->patterns);
  re2::RE2::Options options;
  // Bytes, not UTF-8: values and texts may hold any byte. Case folding only where asked, in (?i:).
  options.set_encoding(re2::RE2::Options::EncodingLatin1);
  options.set_log_errors(false);
  options.set_max_mem(kMaxMatcherMemory);
  m->set = std::make_unique<re2::RE2::Set>(options, re2::RE2::UNANCHORED);
  for (const Pattern& p : m->patterns) {
    const std::string quoted = re2::RE2::QuoteMeta(p.needle);
    std::string why;
    if (m->set->Add(p.fold ? "(?i:" + quoted + ")" : quoted, &why) < 0) {
      error = "canary " + std::to_string(p.canary) + " (" + std::string(p.chain) + "): " + why;
      return false;
    }
  }
  if (!m->patterns.empty() && !m->set->Compile()) {
    error = "the canaries need more than " + std::to_string(kMaxMatcherMemory >> 20) +
            " MiB of matcher memory; give fewer or shorter values";
    return false;
  }
  matcher_ = std::move(m);
  return true;
}

void CanarySet::scan(std::string_view text, std::vector<CanaryHit>& out) const {
  if (!matcher_ || matcher_->patterns.empty()) return;
  const std::vector<Pattern>& patterns = matcher_->patterns;
  std::vector<int> matched;
  re2::RE2::Set::ErrorInfo info{};
  if (!matcher_->set->Match(text, &matched, &info) && info.kind != re2::RE2::Set::kNoError) {
    // The DFA ran out of its memory (not expected for literals within kMaxMatcherMemory): look for
    // every pattern on its own rather than miss one.
    matched.resize(patterns.size());
    for (std::size_t i = 0; i < patterns.size(); ++i) matched[i] = static_cast<int>(i);
  }
  std::sort(matched.begin(), matched.end());
  const std::size_t first_new = out.size();
  std::string lowered;
  bool have_lowered = false;
  for (const int index : matched) {
    if (index < 0 || static_cast<std::size_t>(index) >= patterns.size()) continue;
    const Pattern& p = patterns[static_cast<std::size_t>(index)];
    const std::size_t pos = locate(p, text, lowered, have_lowered);
    if (pos == std::string_view::npos) continue;
    const auto same = std::find_if(out.begin() + static_cast<std::ptrdiff_t>(first_new), out.end(),
                                   [&](const CanaryHit& h) { return h.canary == p.canary && h.chain == p.chain; });
    if (same == out.end()) {
      out.push_back(CanaryHit{p.canary, p.chain, pos, pos + p.needle.size()});
    } else if (pos < same->begin) {
      same->begin = pos;
      same->end = pos + p.needle.size();
    }
  }
}

}  // namespace flowaudit::analysis::inspect
