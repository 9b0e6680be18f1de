// HTTP/1.x request head (RFC 9112): request line and header fields, read line by line through
// core::ByteReader. Strict where a lenient reading would let a client hide what it sends
// (obs-fold, whitespace before the colon, conflicting Content-Length); lenient on bare LF.
#include "analysis/app/http/http_request.h"

#include <array>
#include <cstddef>
#include <limits>

#include "core/byte_reader.h"

namespace flowaudit::analysis::http {
namespace {

using app::ParseStatus;
using core::ByteReader;
using Bytes = std::span<const std::uint8_t>;

constexpr std::array<std::string_view, 9> kMethods = {"GET", "POST", "PUT", "DELETE", "HEAD",
                                                      "OPTIONS", "PATCH", "CONNECT", "TRACE"};

std::string_view as_text(Bytes b) noexcept {
  // A byte-for-byte view; char and unsigned char may alias.
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

bool is_tchar(std::uint8_t c) noexcept {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (const char c : s) {
    if (!is_tchar(static_cast<std::uint8_t>(c))) return false;
  }
  return true;
}


// Reads one line ending in LF; the LF and a CR before it are not part of the line. False when
// the bytes end first.
bool read_line(ByteReader& in, std::string_view& line) noexcept {
  const Bytes rest = in.rest();
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] != '\n') continue;
    Bytes b;
    in.read_bytes(i + 1, b);
    line = as_text(b.first(i));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return true;
  }
  return false;
}

bool http1_version(std::string_view v) noexcept {
  return v.size() == 8 && v.substr(0, 7) == "HTTP/1." && v[7] >= '0' && v[7] <= '9';
}

// request-line = method SP request-target SP HTTP-version. A line without its target
// (`GET HTTP/1.1`, from broken clients and scanners) is read too, with an empty target: the
// server may still answer it, and its Host header names the destination as in any request.
bool parse_request_line(std::string_view line, Request& out) noexcept {
  const std::size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return false;
  out.method = line.substr(0, sp1);
  const std::size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) {
    if (!is_token(out.method) || !http1_version(line.substr(sp1 + 1))) return false;
    out.target = {};
    out.version_minor = static_cast<std::uint8_t>(line.back() - '0');
    return true;
  }
  out.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!is_token(out.method) || out.target.empty()) return false;
  for (const char c : out.target) {
    const auto u = static_cast<std::uint8_t>(c);
    if (u <= 0x20 || u == 0x7F) return false;
  }
  if (!http1_version(version)) return false;
  out.version_minor = static_cast<std::uint8_t>(version[7] - '0');
  return true;
}

// Content-Length = 1*DIGIT, overflow-checked; -1 when not that.
std::int64_t parse_content_length(std::string_view v) noexcept {
  if (v.empty()) return -1;
  std::int64_t n = 0;
  for (const char c : v) {
    if (c < '0' || c > '9') return -1;
    const int digit = c - '0';
    if (n > (std::numeric_limits<std::int64_t>::max() - digit) / 10) return -1;
    n = n * 10 + digit;
  }
  return n;
}

bool valid_field_value(std::string_view v) noexcept {
  for (const char c : v) {
    const auto u = static_cast<std::uint8_t>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7F) return false;
  }
  return true;
}

// The request line is still arriving: it can only become valid if what came so far is a token,
// optionally followed by a space and more.
bool plausible_partial_request_line(Bytes partial) noexcept {
  for (const std::uint8_t c : partial) {
    if (c == ' ') return true;
    if (!is_tchar(c)) return false;
  }
  return true;
}

// A request line longer than the head limit: its method and the start of its target, so that
// the request is still reported. False when the cut line is not one.
bool partial_request_line(std::string_view partial, Request& out) noexcept {
  const std::size_t sp1 = partial.find(' ');
  if (sp1 == std::string_view::npos || !is_token(partial.substr(0, sp1))) return false;
  std::string_view target = partial.substr(sp1 + 1);
  target = target.substr(0, target.find(' '));
  for (const char c : target) {
    const auto u = static_cast<std::uint8_t>(c);
    if (u <= 0x20 || u == 0x7F) return false;
  }
  if (target.empty()) return false;
  out.method = partial.substr(0, sp1);
  out.target = target;
  return true;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view authority_host(std::string_view authority) noexcept {
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    return close == std::string_view::npos ? authority.substr(1) : authority.substr(1, close - 1);
  }
  const auto colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(':') == colon) return authority.substr(0, colon);
  return authority;
}

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool looks_like_request(Bytes bytes) noexcept { return request_start(bytes) == ParseStatus::kOk; }

ParseStatus request_start(Bytes bytes) noexcept {
  const std::string_view text = as_text(bytes);
  bool prefix = false;
  for (const std::string_view m : kMethods) {
    if (text.size() > m.size()) {
      if (text.substr(0, m.size()) == m && text[m.size()] == ' ') return ParseStatus::kOk;
    } else if (text == m.substr(0, text.size())) {
      prefix = true;  // "GE", "GET": the space may follow
    }
  }
  return prefix ? ParseStatus::kNeedMore : ParseStatus::kMalformed;
}

ParseStatus parse_request(Bytes bytes, Request& out) noexcept {
  out = Request{};
  const bool capped = bytes.size() >= kMaxHeaderBytes;
  const ParseStatus incomplete = capped ? ParseStatus::kLimit : ParseStatus::kNeedMore;
  ByteReader in(bytes.first(capped ? kMaxHeaderBytes : bytes.size()));

  std::string_view line;
  if (!read_line(in, line)) {
    if (!plausible_partial_request_line(in.rest())) return ParseStatus::kMalformed;
    if (!capped) return ParseStatus::kNeedMore;
    return partial_request_line(as_text(in.rest()), out) ? ParseStatus::kLimit : ParseStatus::kMalformed;
  }
  if (!parse_request_line(line, out)) {
    out = Request{};  // nothing of a broken request line is kept
    return ParseStatus::kMalformed;
  }

  enum class Length { kAbsent, kValue, kInvalid } length = Length::kAbsent;
  bool have_host = false;
  bool have_agent = false;
  bool have_type = false;
  ParseStatus status = ParseStatus::kOk;
  for (;;) {
    if (!read_line(in, line)) {
      status = incomplete;
      break;
    }
    if (line.empty()) break;
    if (line.front() == ' ' || line.front() == '\t') return ParseStatus::kMalformed;  // obs-fold
    if (out.header_count == kMaxHeaders) {
      status = ParseStatus::kLimit;
      break;
    }
    ++out.header_count;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return ParseStatus::kMalformed;
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim_ows(line.substr(colon + 1));
    if (!is_token(name) || !valid_field_value(value)) return ParseStatus::kMalformed;

    // The first Host, User-Agent and Content-Type count (a server would reject a second Host).
    if (iequals(name, "host")) {
      if (!have_host) out.host = value;
      have_host = true;
    } else if (iequals(name, "user-agent")) {
      if (!have_agent) out.user_agent = value;
      have_agent = true;
    } else if (iequals(name, "content-type")) {
      if (!have_type) out.content_type = value;
      have_type = true;
    } else if (iequals(name, "content-length")) {
      const std::int64_t n = parse_content_length(value);
      if (n < 0 || (length == Length::kValue && n != out.content_length)) {
        length = Length::kInvalid;
      } else if (length == Length::kAbsent) {
        length = Length::kValue;
        out.content_length = n;
      }
    }
  }
  if (length != Length::kValue) out.content_length = -1;
  return status;
}

}  // namespace flowaudit::analysis::http
