#include "analysis/inspect/canaries.h"

#include <doctest/doctest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <array>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "unit/temp_dir.h"

namespace flowaudit::analysis::inspect {
namespace {

// The encodings below are made here independently of canaries.cc: base64 by OpenSSL, base32 by a
// 40-bit accumulator (checked against RFC 4648 section 10), digests by EVP_Digest.

std::string b64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;  // padded
}

std::string b64url_unpadded(std::string_view in) {
  std::string s = b64(in);
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (char& c : s) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return s;
}

std::string b32(std::string_view in) {
  static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 5) {
    std::uint64_t group = 0;
    const std::size_t n = std::min<std::size_t>(5, in.size() - i);
    for (std::size_t j = 0; j < 5; ++j) {
      group = (group << 8) | (j < n ? static_cast<unsigned char>(in[i + j]) : 0u);
    }
    const std::size_t chars = (n * 8 + 4) / 5;
    for (std::size_t j = 0; j < 8; ++j) out += j < chars ? kAlphabet[(group >> (35 - 5 * j)) & 31] : '=';
  }
  return out;
}

std::string digest(std::string_view in, const EVP_MD* md) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  REQUIRE(EVP_Digest(in.data(), in.size(), out.data(), &len, md, nullptr) == 1);
  return std::string(out.begin(), out.begin() + len);
}

std::string hex(std::string_view in, bool upper_case) {
  const char* digits = upper_case ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  for (const char c : in) {
    out += digits[static_cast<unsigned char>(c) >> 4];
    out += digits[static_cast<unsigned char>(c) & 15];
  }
  return out;
}

std::string random_bytes(std::mt19937& rng, std::size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xFF);
  return s;
}

CanarySet compiled(std::initializer_list<std::string_view> values) {
  CanarySet set;
  for (const std::string_view v : values) {
    std::string why;
    REQUIRE_MESSAGE(set.add(v, why), why);
  }
  std::string error;
  REQUIRE_MESSAGE(set.compile(error), error);
  return set;
}

std::vector<CanaryHit> scan(const CanarySet& set, std::string_view text) {
  std::vector<CanaryHit> hits;
  set.scan(text, hits);
  for (const CanaryHit& h : hits) {
    CHECK(h.begin < h.end);
    CHECK(h.end <= text.size());
    CHECK(h.canary < set.size());
    CHECK(!h.chain.empty());
  }
  return hits;
}

const CanaryHit* find(const std::vector<CanaryHit>& hits, std::size_t canary, std::string_view chain) {
  const auto it = std::find_if(hits.begin(), hits.end(),
                               [&](const CanaryHit& h) { return h.canary == canary && h.chain == chain; });
  return it == hits.end() ? nullptr : &*it;
}

// `encoded` embedded in JSON-ish text; the hit must be found for `chain` and cover `encoded`
// (or, for fragments, lie inside it).
void check_found(const CanarySet& set, std::string_view chain, const std::string& encoded, std::size_t canary = 0) {
  const std::string text = "{\"k\":\"" + encoded + "\",\"n\":1}";
  const auto hits = scan(set, text);
  const CanaryHit* h = find(hits, canary, chain);
  // A url-safe encoding without '-' or '_' is the standard one: reported under the earlier name.
  const std::string_view url = "base64url";
  if (h == nullptr && chain.size() >= url.size() && chain.substr(chain.size() - url.size()) == url &&
      encoded.find_first_of("-_") == std::string::npos) {
    h = find(hits, canary, chain.substr(0, chain.size() - 3));
  }
  REQUIRE_MESSAGE(h != nullptr, "chain " << chain << " not found in " << text);
  CHECK(h->begin >= 6);
  CHECK(h->end <= 6 + encoded.size());
}

}  // namespace

TEST_SUITE("analysis.inspect.canaries") {

TEST_CASE("canaries: test encoders agree with RFC 4648 section 10") {
  CHECK(b64("foobar") == "Zm9vYmFy");
  CHECK(b64("fooba") == "Zm9vYmE=");
  CHECK(b32("f") == "MY======");
  CHECK(b32("fooba") == "MZXW6YTB");
  CHECK(b32("foobar") == "MZXW6YTBOI======");
}

TEST_CASE("canaries: every chain is found where it is embedded, at the right place") {
  const std::string v = "Canary Value/42";
  const CanarySet set = compiled({v});
  CHECK(set.size() == 1);
  CHECK(set.value(0) == v);
  CHECK(set.pattern_count() > 20);

  const std::string text = "x=" + v + "&y=1";
  const auto hits = scan(set, text);
  const CanaryHit* as_is = find(hits, 0, "as is");
  REQUIRE(as_is != nullptr);
  CHECK(as_is->begin == 2);
  CHECK(as_is->end == 2 + v.size());

  check_found(set, "lower", "canary value/42");
  check_found(set, "upper", "CANARY VALUE/42");
  check_found(set, "url", "Canary%20Value%2F42");
  check_found(set, "url", "Canary%20Value%2f42");
  check_found(set, "url form", "Canary+Value%2F42");
  check_found(set, "url form", "Canary+Value%2f42");
  check_found(set, "json", "Canary Value\\/42");
  check_found(set, "url", "Canary%20Value/42");    // Python quote
  check_found(set, "hex", hex(v, false));
  check_found(set, "hex", hex(v, true));
  check_found(set, "base64", b64(v));
  check_found(set, "base64url", b64url_unpadded(v));  // "base64" when no character differs
  check_found(set, "base32", b32(v));
  const std::array<std::pair<const EVP_MD*, std::string_view>, 3> hashes{
      {{EVP_md5(), "md5"}, {EVP_sha1(), "sha1"}, {EVP_sha256(), "sha256"}}};
  for (const auto& [md, name] : hashes) {
    const std::string d = digest(v, md);
    check_found(set, std::string(name) + " as hex", hex(d, false));
    check_found(set, std::string(name) + " as hex", hex(d, true));
    check_found(set, std::string(name) + " as base64", b64(d));
    check_found(set, std::string(name) + " as base64url", b64url_unpadded(d));
  }
  // Nothing about an e-mail or a phone number here.
  for (const CanaryHit& h : scan(set, hex(digest("canary value/42", EVP_sha256()), false))) {
    CHECK(h.chain.find("lower(trim)") == std::string_view::npos);
  }
}

TEST_CASE("canaries: percent-encoding in the styles of common encoders") {
  const CanarySet set = compiled({"O'Brien (Jr)! ~x*"});
  check_found(set, "url", "O%27Brien%20%28Jr%29%21%20~x%2A");     // RFC 3986
  check_found(set, "url", "O'Brien%20(Jr)!%20~x*");                // encodeURIComponent
  check_found(set, "url form", "O%27Brien+%28Jr%29%21+%7Ex*");     // WHATWG form, Java URLEncoder
  check_found(set, "url form", "O%27Brien+%28Jr%29%21+~x%2A");     // Python quote_plus, Go QueryEscape
  CHECK(scan(set, "O'Brien%20(Jr)!%20%7Ex%2A").empty());           // no encoder mixes these
}

TEST_CASE("canaries: JSON escapes of quotes, controls and non-ASCII (UTF-16 units, surrogate pairs)") {
  const std::string v = "Zo\xC3\xAB \"Q\"\t/\x01\xF0\x9F\x98\x80";  // Zoë "Q"<TAB>/<SOH>😀
  const CanarySet set = compiled({v});
  check_found(set, "json", "Zo\xC3\xAB \\\"Q\\\"\\t/\\u0001\xF0\x9F\x98\x80");
  check_found(set, "json", "Zo\\u00eb \\\"Q\\\"\\t/\\u0001\\ud83d\\ude00");
  check_found(set, "json", "Zo\\u00EB \\\"Q\\\"\\t\\/\\u0001\\uD83D\\uDE00");
  check_found(set, "url", "Zo%C3%AB%20%22Q%22%09%2F%01%F0%9F%98%80");
  // Only ASCII letters change case.
  check_found(set, "upper", "ZO\xC3\xAB \"Q\"\t/\x01\xF0\x9F\x98\x80");
}

TEST_CASE("canaries: base64 and base64url at all three alignments inside longer data") {
  std::mt19937 rng(20261207);
  // Three 0xFF bytes: at every alignment the encoding has a '/' (base64url: '_'), so the two differ.
  const std::string v = "tester+canary\xFF\xFF\xFF@example.org";
  const CanarySet set = compiled({v});
  for (std::size_t prefix = 0; prefix < 12; ++prefix) {
    for (const std::size_t suffix : {0, 1, 2, 5}) {
      const std::string data = random_bytes(rng, prefix) + v + random_bytes(rng, suffix);
      CAPTURE(prefix);
      CAPTURE(suffix);
      const std::string plain = b64(data);
      const auto hits = scan(set, plain);
      CHECK(find(hits, 0, "base64") != nullptr);
      const std::string url = b64url_unpadded(data);
      CHECK(find(scan(set, url), 0, "base64url") != nullptr);
    }
  }
}

TEST_CASE("canaries: base32 at all five alignments inside longer data") {
  std::mt19937 rng(7);
  const std::string v = "Jane Canary 1987";
  const CanarySet set = compiled({v});
  for (std::size_t prefix = 0; prefix < 15; ++prefix) {
    for (const std::size_t suffix : {0, 3, 4}) {
      CAPTURE(prefix);
      CAPTURE(suffix);
      const std::string data = random_bytes(rng, prefix) + v + random_bytes(rng, suffix);
      CHECK(find(scan(set, b32(data)), 0, "base32") != nullptr);
    }
  }
}

TEST_CASE("canaries: base32 in lower case, as in a DNS label") {
  const std::string v = "zz.canary.7f3a91@example.org";
  const CanarySet set = compiled({v});
  std::string label = b32(v);
  label.erase(label.find_last_not_of('=') + 1);
  for (char& c : label) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  CHECK(find(scan(set, label + ".x.example-track.com"), 0, "base32") != nullptr);
}

TEST_CASE("canaries: the shortest value is still found at every alignment") {
  std::mt19937 rng(3);
  const CanarySet set = compiled({"wxyz"});
  for (std::size_t prefix = 0; prefix < 5; ++prefix) {
    const std::string data = random_bytes(rng, prefix) + "wxyz" + random_bytes(rng, 2);
    CHECK(find(scan(set, b64(data)), 0, "base64") != nullptr);
    CHECK(find(scan(set, b32(data)), 0, "base32") != nullptr);
  }
}

TEST_CASE("canaries: hashed e-mail addresses (lower(trim)) and phone numbers (digits)") {
  const CanarySet set = compiled({"  Alice.Smith@Example.COM ", "+1 (202) 555-0143"});
  const std::string email = "alice.smith@example.com";
  check_found(set, "sha256(lower(trim)) as hex", hex(digest(email, EVP_sha256()), false), 0);
  check_found(set, "md5(lower(trim)) as hex", hex(digest(email, EVP_md5()), true), 0);
  check_found(set, "sha1(lower(trim)) as base64", b64(digest(email, EVP_sha1())), 0);
  check_found(set, "sha256(lower(trim)) as base64url", b64url_unpadded(digest(email, EVP_sha256())), 0);
  check_found(set, "sha256(digits) as hex", hex(digest("12025550143", EVP_sha256()), false), 1);
  check_found(set, "sha256(digits) as base64", b64(digest("12025550143", EVP_sha256())), 1);
  // The value itself and its digests too.
  check_found(set, "as is", "+1 (202) 555-0143", 1);
  check_found(set, "sha256 as hex", hex(digest("+1 (202) 555-0143", EVP_sha256()), false), 1);
  // A value already lower-case and trimmed keeps the first name of the identical digest.
  const CanarySet plain = compiled({"bob@example.net"});
  check_found(plain, "sha256 as hex", hex(digest("bob@example.net", EVP_sha256()), false));
}

TEST_CASE("canaries: one hit per canary and chain per text, at the first position") {
  const CanarySet set = compiled({"secret-token-1", "Other Value"});
  const std::string text = "a secret-token-1 b SECRET-TOKEN-1 c secret-token-1 Other Value other value";
  const auto hits = scan(set, text);
  REQUIRE(hits.size() == 4);
  const CanaryHit* first = find(hits, 0, "as is");
  REQUIRE(first != nullptr);
  CHECK(first->begin == 2);
  CHECK(find(hits, 0, "upper") != nullptr);
  CHECK(find(hits, 1, "as is") != nullptr);
  CHECK(find(hits, 1, "lower") != nullptr);
  // Hits of an earlier text stay as they are.
  std::vector<CanaryHit> out = hits;
  set.scan("secret-token-1", out);
  CHECK(out.size() == 5);
  CHECK(out.back().begin == 0);
}

TEST_CASE("canaries: case matters except for hex") {
  const std::string v = "MixedCase99";
  const CanarySet set = compiled({v});
  std::string lowered_b64 = b64(v);
  std::transform(lowered_b64.begin(), lowered_b64.end(), lowered_b64.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
  CHECK(find(scan(set, lowered_b64), 0, "base64") == nullptr);
  CHECK(find(scan(set, "mIXEDcASE99"), 0, "as is") == nullptr);
  std::string mixed_hex = hex(v, false);
  for (std::size_t i = 0; i < mixed_hex.size(); i += 2) mixed_hex[i] = static_cast<char>(std::toupper(mixed_hex[i]));
  CHECK(find(scan(set, "0x" + mixed_hex), 0, "hex") != nullptr);
}

TEST_CASE("canaries: similar values are not found") {
  const std::string v = "Canary Value/42";
  const CanarySet set = compiled({v});
  const std::string other = "Canary Value/43";
  std::string text = other + " " + b64(other) + " " + hex(other, false) + " " + b32(other) + " " +
                     hex(digest(other, EVP_sha256()), false) + " " + b64(digest(other, EVP_md5())) +
                     " Canary%20Value%2F43 Canary+Value/4 anary Value/42";
  CHECK(scan(set, text).empty());
  CHECK(scan(set, "").empty());
  // Canaries that share non-ASCII prefixes (RE2 in Latin-1 mode) are each found.
  const CanarySet accents = compiled({"\xC3\x89lo\xC3\xAFse Dupont", "\xC3\x89lo\xC3\xAFse Durand", "\xC3\x89LO"});
  CHECK(find(scan(accents, "x \xC3\x89lo\xC3\xAFse Durand"), 1, "as is") != nullptr);
  CHECK(find(scan(accents, "x \xC3\x89lo\xC3\xAFse Dupont"), 0, "as is") != nullptr);
  CHECK(find(scan(accents, "x \xC3\x89lo\xC3\xAFse Dupont"), 1, "as is") == nullptr);
  CHECK(find(scan(accents, "\xC3\x89LO\xC3\xAFSE DUPONT"), 0, "upper") != nullptr);
}

TEST_CASE("canaries: values refused, with why") {
  CanarySet set;
  std::string why;
  CHECK_FALSE(set.add("", why));
  CHECK(why.find("empty") != std::string::npos);
  CHECK_FALSE(set.add("abc", why));
  CHECK(why.find("shorter than 4") != std::string::npos);
  CHECK_FALSE(set.add(std::string(CanarySet::kMaxValueBytes + 1, 'a'), why));
  CHECK(why.find("longer than 1024") != std::string::npos);
  CHECK(set.add(std::string(CanarySet::kMaxValueBytes, 'a'), why));
  CHECK(set.add("abcd", why));
  CHECK_FALSE(set.add("abcd", why));
  CHECK(why.find("twice") != std::string::npos);
  for (std::size_t i = set.size(); i < CanarySet::kMaxCanaries; ++i) {
    REQUIRE(set.add("value-" + std::to_string(i), why));
  }
  CHECK_FALSE(set.add("one-too-many", why));
  CHECK(why.find("more than 64") != std::string::npos);
  std::string error;
  REQUIRE(set.compile(error));
  CHECK_FALSE(set.compile(error));
  CHECK_FALSE(set.add("after-compile", why));
  CHECK(find(scan(set, "x value-63 y"), 63, "as is") != nullptr);
}

TEST_CASE("canaries: an empty set compiles and finds nothing; scan before compile finds nothing") {
  CanarySet none;
  std::vector<CanaryHit> hits;
  none.scan("anything", hits);
  std::string error;
  CHECK(none.compile(error));
  none.scan("anything", hits);
  CHECK(hits.empty());
}

TEST_CASE("canaries: the largest set (64 values of 1024 bytes, any bytes) compiles and is found") {
  std::mt19937 rng(64);
  CanarySet set;
  std::vector<std::string> values;
  for (std::size_t i = 0; i < CanarySet::kMaxCanaries; ++i) {
    values.push_back(random_bytes(rng, CanarySet::kMaxValueBytes));
    std::string why;
    REQUIRE(set.add(values.back(), why));
  }
  std::string error;
  REQUIRE_MESSAGE(set.compile(error), error);
  CHECK(find(scan(set, "x" + values[17] + "y"), 17, "as is") != nullptr);
  CHECK(find(scan(set, b64("ab" + values[40])), 40, "base64") != nullptr);
  CHECK(find(scan(set, hex(values[63], true)), 63, "hex") != nullptr);
}

TEST_CASE("canaries: canary files, with errors by line") {
  test::TempDir dir;
  REQUIRE(dir.ok());
  const auto write = [&](const std::string& name, std::string_view text) {
    return dir.write(name, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  };
  {
    const std::string path = write("ok.txt", "# canaries for the sign-up test\n\nalice@example.com\r\n  Alice Tester  \n\t# indented comment\npass#word\nlast-line-no-newline");
    CanarySet set;
    std::string error;
    REQUIRE_MESSAGE(set.add_file(path, error), error);
    REQUIRE(set.size() == 4);
    CHECK(set.value(0) == "alice@example.com");
    CHECK(set.value(1) == "Alice Tester");
    CHECK(set.value(2) == "pass#word");
    CHECK(set.value(3) == "last-line-no-newline");
  }
  {
    const std::string path = write("short.txt", "alice@example.com\n# comment\n\nabc\n");
    CanarySet set;
    std::string error;
    CHECK_FALSE(set.add_file(path, error));
    CHECK(error == path + ":4: canary shorter than 4 bytes (it would match almost everywhere)");
  }
  {
    const std::string path = write("dup.txt", "value-one\nvalue-two\nvalue-one\n");
    CanarySet set;
    std::string error;
    CHECK_FALSE(set.add_file(path, error));
    CHECK(error.rfind(path + ":3: ", 0) == 0);
  }
  {
    std::string many;
    for (int i = 0; i < 65; ++i) many += "canary-" + std::to_string(i) + "\n";
    const std::string path = write("many.txt", many);
    CanarySet set;
    std::string error;
    CHECK_FALSE(set.add_file(path, error));
    CHECK(error.rfind(path + ":65: more than 64", 0) == 0);
  }
  {
    const std::string path = write("big.txt", std::string(CanarySet::kMaxFileBytes + 1, 'a'));
    CanarySet set;
    std::string error;
    CHECK_FALSE(set.add_file(path, error));
    CHECK(error.find("larger than") != std::string::npos);
  }
  CanarySet set;
  std::string error;
  CHECK_FALSE(set.add_file((dir.path() / "missing.txt").string(), error));
  CHECK(error.find("cannot read the canary file: no such file") != std::string::npos);
}

}  // TEST_SUITE

}  // namespace flowaudit::analysis::inspect
