// JA3 / JA3S as Salesforce defined them (decimal values joined by '-', GREASE removed, MD5) and JA4
// as FoxIO's technical_details/JA4.md specifies it, except for the ALPN characters of a first
// protocol that does not start and end with an ASCII letter or digit: there JA4 follows FoxIO's
// implementations and published values (see append_ja4_alpn).
#include "analysis/app/tls/fingerprint.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <functional>

namespace flowaudit::analysis::tls {

namespace {

constexpr std::string_view kHexDigits = "0123456789abcdef";
constexpr std::string_view kEmptyHash = "000000000000";  // JA4: a list with no values
constexpr std::size_t kJa4HashChars = 12;
constexpr std::size_t kJa4MaxCount = 99;

// Fetched once: EVP_md5()/EVP_sha256() make OpenSSL 3 look the algorithm up (under a lock) on every
// digest, which showed up in profiles at one digest per flow.
const EVP_MD* md5() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "MD5", nullptr);
  return md != nullptr ? md : EVP_md5();
}
const EVP_MD* sha256() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md != nullptr ? md : EVP_sha256();
}

std::string hex_digest(const EVP_MD* md, std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  if (EVP_Digest(text.data(), text.size(), digest.data(), &len, md, nullptr) != 1) return {};
  // Written into a buffer and copied once: appending char by char cost more than the digest.
  std::array<char, 2 * EVP_MAX_MD_SIZE> hex{};
  for (unsigned int i = 0; i < len && i < EVP_MAX_MD_SIZE; ++i) {
    hex[2 * i] = kHexDigits[digest[i] >> 4];
    hex[2 * i + 1] = kHexDigits[digest[i] & 0x0f];
  }
  return std::string(hex.data(), 2 * std::min<std::size_t>(len, EVP_MAX_MD_SIZE));
}

// The digest of a fingerprint text through a small direct-mapped memo: a client sends the same
// hello on every connection, so most digests of an audit repeat (MD5 and SHA-256 through libcrypto
// were 4% of a whole audit of the bench mix, issue 18). Per thread, so workers share nothing.
std::string memo_digest(const EVP_MD* md, std::string_view text) {
  struct Slot {
    const EVP_MD* md = nullptr;
    std::string text;
    std::string hex;
  };
  thread_local std::array<Slot, 64> memo;
  const std::size_t h = std::hash<std::string_view>{}(text) ^ reinterpret_cast<std::uintptr_t>(md);
  Slot& s = memo[h % memo.size()];
  if (s.md == md && s.text == text) return s.hex;
  s.hex = hex_digest(md, text);
  s.md = s.hex.empty() ? nullptr : md;  // a failed digest is not remembered
  s.text.assign(text);
  return s.hex;
}

void append_decimal(std::string& s, unsigned v) {
  std::array<char, 8> buf{};
  const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  s.append(buf.data(), res.ptr);
}

void append_hex4(std::string& s, std::uint16_t v) {
  const std::array<char, 4> hex = {kHexDigits[(v >> 12) & 0x0f], kHexDigits[(v >> 8) & 0x0f],
                                   kHexDigits[(v >> 4) & 0x0f], kHexDigits[v & 0x0f]};
  s.append(hex.data(), hex.size());
}

// JA3 list: values in order, GREASE left out, joined by '-'.
template <typename List>
void append_ja3_list(std::string& s, const List& list) {
  bool first = true;
  for (const auto v : list) {
    if (is_grease(static_cast<std::uint16_t>(v))) continue;
    if (!first) s += '-';
    first = false;
    append_decimal(s, v);
  }
}

// JA4 list: 4-digit lower-case hex joined by ','.
void append_ja4_list(std::string& s, std::span<const std::uint16_t> values) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i != 0) s += ',';
    append_hex4(s, values[i]);
  }
}

template <std::size_t N>
std::size_t copy_without_grease(const core::FixedList<std::uint16_t, N>& in, std::array<std::uint16_t, N>& out) {
  std::size_t n = 0;
  for (const auto v : in) {
    if (!is_grease(v)) out[n++] = v;
  }
  return n;
}

std::string_view ja4_version(const ClientHello& hello) {
  std::uint16_t version = hello.legacy_version;
  std::uint16_t highest = 0;
  for (const auto v : hello.supported_versions) {
    if (!is_grease(v)) highest = std::max(highest, v);
  }
  if (highest != 0) version = highest;
  switch (version) {
    case 0x0304: return "13";
    case 0x0303: return "12";
    case 0x0302: return "11";
    case 0x0301: return "10";
    case 0x0300: return "s3";
    case 0x0002: return "s2";
    case 0xfeff: return "d1";
    case 0xfefd: return "d2";
    case 0xfefc: return "d3";
    default: return "00";
  }
}

// One end of the first ALPN protocol as FoxIO's implementations print it. FoxIO-LLC/ja4 at commit
// 0e54bc8371de34df94a35f2442c05bda2e8b2034 (2026-06-19):
//  - technical_details/JA4.md ("ALPN Extension Value", reworded 2024-08 and 2026-01) says: when the
//    first or last byte is not an ASCII letter or digit, print the first and last hex digits of the
//    protocol (0xba 0xad -> "bd");
//  - rust/ja4/src/tls.rs first_last() (2023-12, unchanged since) prints '9' for each end that is not
//    ASCII and any ASCII character as itself; python/ja4.py to_ja4() and wireshark/source/
//    packet-ja4.c print "99" when the first character is not ASCII (resp. not alphanumeric);
//  - the published values follow the code: pcap/tls-non-ascii-alpn.pcapng (first protocol 0xba
//    0xad) is t13d151699_... in rust/ja4/src/snapshots, python/test/testdata and wireshark/test/
//    testdata alike.
// The issue asks for FoxIO's values, so the code wins where it agrees: a byte above 0x7f is '9'
// (rust, per end), printable ASCII is itself (rust, python; zeek too). A control byte reaches the
// rust tool through tshark's display escaping, so there is no single FoxIO value: '9' keeps the
// fingerprint printable. A one-character protocol is that character twice, as the document, the
// wireshark plugin and zeek print it (the rust tool prints '0' for the missing last character).
char ja4_alpn_char(unsigned char c) noexcept {
  if (c >= 0x20 && c < 0x7f) return static_cast<char>(c);
  return '9';
}

// First and last characters of the first ALPN protocol; "00" when there is none or it is empty.
void append_ja4_alpn(std::string& s, const ClientHello& hello) {
  if (hello.alpn.empty() || hello.alpn[0].empty()) {
    s += "00";
    return;
  }
  const std::string_view p = hello.alpn[0];
  s += ja4_alpn_char(static_cast<unsigned char>(p.front()));
  s += ja4_alpn_char(static_cast<unsigned char>(p.back()));
}

std::string ja4_hash(std::string_view text) {
  if (text.empty()) return std::string(kEmptyHash);
  return memo_digest(sha256(), text).substr(0, kJa4HashChars);
}

}  // namespace

std::string ja3_string(const ClientHello& hello) {
  std::string s;
  s.reserve(256);
  append_decimal(s, hello.legacy_version);
  s += ',';
  append_ja3_list(s, hello.cipher_suites);
  s += ',';
  append_ja3_list(s, hello.extensions);
  s += ',';
  append_ja3_list(s, hello.supported_groups);
  s += ',';
  append_ja3_list(s, hello.ec_point_formats);
  return s;
}

std::string ja3(const ClientHello& hello) { return memo_digest(md5(), ja3_string(hello)); }

std::string ja3s_string(const ServerHello& hello) {
  std::string s;
  s.reserve(64);
  append_decimal(s, hello.legacy_version);
  s += ',';
  append_decimal(s, hello.cipher_suite);
  s += ',';
  append_ja3_list(s, hello.extensions);
  return s;
}

std::string ja3s(const ServerHello& hello) { return memo_digest(md5(), ja3s_string(hello)); }

std::string ja4(const ClientHello& hello, bool over_quic) {
  std::array<std::uint16_t, decltype(hello.cipher_suites)::capacity()> ciphers{};
  const std::size_t n_ciphers = copy_without_grease(hello.cipher_suites, ciphers);
  std::array<std::uint16_t, decltype(hello.extensions)::capacity()> exts{};
  const std::size_t n_exts = copy_without_grease(hello.extensions, exts);
  std::array<std::uint16_t, decltype(hello.signature_algorithms)::capacity()> sigs{};
  const std::size_t n_sigs = copy_without_grease(hello.signature_algorithms, sigs);
  const bool sni = hello.has_sni || std::find(exts.begin(), exts.begin() + n_exts, ext::kServerName) != exts.begin() + n_exts;

  std::string out;
  out.reserve(40);
  out += over_quic ? 'q' : 't';
  out += ja4_version(hello);
  out += sni ? 'd' : 'i';
  const auto count = [&out](std::size_t n) {
    n = std::min(n, kJa4MaxCount);
    out += static_cast<char>('0' + n / 10);
    out += static_cast<char>('0' + n % 10);
  };
  count(n_ciphers);
  count(n_exts);
  append_ja4_alpn(out, hello);

  std::string list;
  list.reserve(6 * (ciphers.size() + sigs.size()));
  std::sort(ciphers.begin(), ciphers.begin() + n_ciphers);
  append_ja4_list(list, {ciphers.data(), n_ciphers});
  out += '_';
  out += ja4_hash(list);

  // SNI and ALPN are already in the first part; leaving them out keeps this part the same whether
  // the client went to a name or an address, and whatever protocol it asked for.
  const auto kept_end = std::remove_if(exts.begin(), exts.begin() + n_exts, [](std::uint16_t t) {
    return t == ext::kServerName || t == ext::kAlpn;
  });
  const auto n_kept = static_cast<std::size_t>(kept_end - exts.begin());
  std::sort(exts.begin(), kept_end);
  list.clear();
  append_ja4_list(list, {exts.data(), n_kept});
  if (n_kept != 0 && n_sigs != 0) {
    list += '_';
    append_ja4_list(list, {sigs.data(), n_sigs});
  }
  out += '_';
  out += ja4_hash(list);
  return out;
}

}  // namespace flowaudit::analysis::tls
