#include "analysis/app/proxy/proxy_messages.h"

#include <algorithm>
#include <array>

#include "core/byte_reader.h"
#include "core/ip_address.h"

namespace flowaudit::analysis::proxy {
namespace {

using app::ParseStatus;

// Where the blank line that ends an HTTP head ends (one past its last byte), or 0 when it has not
// arrived. Bare LF line ends are accepted, as servers do.
std::size_t head_end(std::span<const std::uint8_t> b) noexcept {
  for (std::size_t i = 1; i < b.size(); ++i) {
    if (b[i] != '\n') continue;
    if (b[i - 1] == '\n') return i + 1;
    if (b[i - 1] == '\r' && i >= 2 && b[i - 2] == '\n') return i + 1;
  }
  return 0;
}

std::string_view first_line(std::span<const std::uint8_t> b) noexcept {
  const auto* begin = reinterpret_cast<const char*>(b.data());
  std::string_view s(begin, b.size());
  std::size_t end = s.find('\n');
  if (end == std::string_view::npos) end = s.size();
  s = s.substr(0, end);
  if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
  return s;
}

bool parse_port(std::string_view text, std::uint16_t& port) noexcept {
  if (text.empty() || text.size() > 5) return false;
  std::uint32_t v = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (v == 0 || v > 65535) return false;
  port = static_cast<std::uint16_t>(v);
  return true;
}

bool host_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
         c == '_' || c == ':';
}

// "host:port" or "[v6]:port" (the authority-form of CONNECT, RFC 9110 section 7.1); `need_port`
// false lets the port be absent (absolute-form, default 80).
bool parse_authority(std::string_view a, Target& t, bool need_port) noexcept {
  std::string_view host;
  std::string_view port;
  if (!a.empty() && a.front() == '[') {
    const std::size_t close = a.find(']');
    if (close == std::string_view::npos) return false;
    host = a.substr(1, close - 1);
    const std::string_view rest = a.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
    }
  } else {
    const std::size_t colon = a.rfind(':');
    host = a.substr(0, colon);
    if (colon != std::string_view::npos) port = a.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return false;
  }
  if (host.empty() || host.size() > 255 || !std::all_of(host.begin(), host.end(), host_char)) return false;
  if (port.empty()) {
    if (need_port) return false;
    t.port = 80;
  } else if (!parse_port(port, t.port)) {
    return false;
  }
  t.host.assign(host);
  for (char& c : t.host) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  t.by_address = core::IpAddress::parse(t.host).has_value();
  return true;
}

ParseStatus need_or_bad(std::span<const std::uint8_t> b, std::size_t needed) noexcept {
  return b.size() < needed ? ParseStatus::kNeedMore : ParseStatus::kMalformed;
}

}  // namespace

ParseStatus parse_connect(std::span<const std::uint8_t> bytes, Target& target, std::size_t& size) {
  static constexpr std::string_view kMethod = "CONNECT ";
  const std::size_t n = std::min(bytes.size(), kMethod.size());
  if (!std::equal(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n), kMethod.begin())) {
    return ParseStatus::kMalformed;
  }
  const std::size_t end = head_end(bytes);
  if (end == 0) return ParseStatus::kNeedMore;
  const std::string_view line = first_line(bytes);
  const std::size_t sp = line.find(' ', kMethod.size());
  if (sp == std::string_view::npos || line.substr(sp + 1).substr(0, 7) != "HTTP/1.") return ParseStatus::kMalformed;
  if (!parse_authority(line.substr(kMethod.size(), sp - kMethod.size()), target, true)) return ParseStatus::kMalformed;
  size = end;
  return ParseStatus::kOk;
}

ParseStatus parse_response_head(std::span<const std::uint8_t> bytes, int& status, std::size_t& size) {
  static constexpr std::string_view kVersion = "HTTP/1.";
  const std::size_t n = std::min(bytes.size(), kVersion.size());
  if (!std::equal(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n), kVersion.begin())) {
    return ParseStatus::kMalformed;
  }
  const std::size_t end = head_end(bytes);
  if (end == 0) return ParseStatus::kNeedMore;
  const std::string_view line = first_line(bytes);
  // "HTTP/1.x NNN": the code is the three digits after the first space.
  if (line.size() < 12 || line[8] != ' ') return ParseStatus::kMalformed;
  int code = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return ParseStatus::kMalformed;
    code = code * 10 + (line[i] - '0');
  }
  status = code;
  size = end;
  return ParseStatus::kOk;
}

bool absolute_form_target(std::string_view t, Target& target) {
  static constexpr std::string_view kScheme = "http://";
  if (t.size() <= kScheme.size()) return false;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    const char c = t[i] >= 'A' && t[i] <= 'Z' ? static_cast<char>(t[i] - 'A' + 'a') : t[i];
    if (c != kScheme[i]) return false;
  }
  std::string_view authority = t.substr(kScheme.size());
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) authority = authority.substr(at + 1);
  return parse_authority(authority, target, false);
}

ParseStatus socks5_greeting(std::span<const std::uint8_t> b, std::size_t& size) {
  if (b.empty()) return ParseStatus::kNeedMore;
  if (b[0] != 5) return ParseStatus::kMalformed;
  if (b.size() < 2) return ParseStatus::kNeedMore;
  if (b[1] == 0) return ParseStatus::kMalformed;
  size = 2u + b[1];
  return b.size() < size ? ParseStatus::kNeedMore : ParseStatus::kOk;
}

ParseStatus socks5_userpass(std::span<const std::uint8_t> b, std::size_t& size) {
  core::ByteReader r(b);
  std::uint8_t version = 0;
  std::uint8_t ulen = 0;
  std::uint8_t plen = 0;
  if (!r.read_u8(version)) return ParseStatus::kNeedMore;
  if (version != 1) return ParseStatus::kMalformed;
  if (!r.read_u8(ulen) || !r.skip(ulen) || !r.read_u8(plen) || !r.skip(plen)) return ParseStatus::kNeedMore;
  size = r.offset();
  return ParseStatus::kOk;
}

ParseStatus socks5_request(std::span<const std::uint8_t> b, Target& target, std::size_t& size) {
  if (b.size() < 4) return need_or_bad(b, 4);  // checked below once whole
  if (b[0] != 5 || b[1] < 1 || b[1] > 3 || b[2] != 0) return ParseStatus::kMalformed;
  core::ByteReader r(b.subspan(4));
  std::span<const std::uint8_t> addr;
  std::uint8_t len = 0;
  switch (b[3]) {
    case 1:
      if (!r.read_bytes(4, addr)) return ParseStatus::kNeedMore;
      target.host = core::IpAddress::v4(std::span<const std::uint8_t, 4>(addr.data(), 4)).to_string();
      target.by_address = true;
      break;
    case 3:
      if (!r.read_u8(len)) return ParseStatus::kNeedMore;
      if (len == 0) return ParseStatus::kMalformed;
      if (!r.read_bytes(len, addr)) return ParseStatus::kNeedMore;
      target.host.assign(reinterpret_cast<const char*>(addr.data()), addr.size());
      target.by_address = core::IpAddress::parse(target.host).has_value();
      break;
    case 4:
      if (!r.read_bytes(16, addr)) return ParseStatus::kNeedMore;
      target.host = core::IpAddress::v6(std::span<const std::uint8_t, 16>(addr.data(), 16)).to_string();
      target.by_address = true;
      break;
    default:
      return ParseStatus::kMalformed;
  }
  if (!r.read_u16be(target.port)) return ParseStatus::kNeedMore;
  size = 4 + r.offset();
  return ParseStatus::kOk;
}

ParseStatus socks5_choice(std::span<const std::uint8_t> b, std::uint8_t& method) {
  if (b.size() < 2) return !b.empty() && b[0] != 5 ? ParseStatus::kMalformed : ParseStatus::kNeedMore;
  if (b[0] != 5) return ParseStatus::kMalformed;
  method = b[1];
  return ParseStatus::kOk;
}

ParseStatus socks5_userpass_status(std::span<const std::uint8_t> b, std::uint8_t& status) {
  if (b.size() < 2) return !b.empty() && b[0] != 1 ? ParseStatus::kMalformed : ParseStatus::kNeedMore;
  if (b[0] != 1) return ParseStatus::kMalformed;
  status = b[1];
  return ParseStatus::kOk;
}

ParseStatus socks5_reply(std::span<const std::uint8_t> b, std::uint8_t& reply, std::size_t& size) {
  if (b.size() < 4) return !b.empty() && b[0] != 5 ? ParseStatus::kMalformed : ParseStatus::kNeedMore;
  if (b[0] != 5 || b[2] != 0) return ParseStatus::kMalformed;
  std::size_t addr = 0;
  switch (b[3]) {
    case 1: addr = 4; break;
    case 3:
      if (b.size() < 5) return ParseStatus::kNeedMore;
      addr = 1u + b[4];
      break;
    case 4: addr = 16; break;
    default: return ParseStatus::kMalformed;
  }
  size = 4 + addr + 2;
  if (b.size() < size) return ParseStatus::kNeedMore;
  reply = b[1];
  return ParseStatus::kOk;
}

ParseStatus socks4_request(std::span<const std::uint8_t> b, Target& target, bool& socks4a, std::size_t& size) {
  if (b.size() < 8) {
    if ((!b.empty() && b[0] != 4) || (b.size() >= 2 && b[1] != 1 && b[1] != 2)) return ParseStatus::kMalformed;
    return ParseStatus::kNeedMore;
  }
  if (b[0] != 4 || (b[1] != 1 && b[1] != 2)) return ParseStatus::kMalformed;
  // The user id, then (SOCKS4A) the name, each NUL-terminated; bounded by the caller's buffer.
  const auto nul = std::find(b.begin() + 8, b.end(), std::uint8_t{0});
  if (nul == b.end()) return ParseStatus::kNeedMore;
  std::size_t end = static_cast<std::size_t>(nul - b.begin()) + 1;
  target.port = static_cast<std::uint16_t>(b[2] << 8 | b[3]);
  socks4a = b[4] == 0 && b[5] == 0 && b[6] == 0 && b[7] != 0;
  if (socks4a) {
    const auto name_end = std::find(b.begin() + static_cast<std::ptrdiff_t>(end), b.end(), std::uint8_t{0});
    if (name_end == b.end()) return ParseStatus::kNeedMore;
    const std::size_t start = end;
    end = static_cast<std::size_t>(name_end - b.begin()) + 1;
    if (end - 1 == start || end - 1 - start > 255) return ParseStatus::kMalformed;
    target.host.assign(reinterpret_cast<const char*>(b.data() + start), end - 1 - start);
    target.by_address = core::IpAddress::parse(target.host).has_value();
  } else {
    target.host = core::IpAddress::v4(std::span<const std::uint8_t, 4>(b.data() + 4, 4)).to_string();
    target.by_address = true;
  }
  size = end;
  return ParseStatus::kOk;
}

ParseStatus socks4_reply(std::span<const std::uint8_t> b, std::uint8_t& code) {
  if (!b.empty() && b[0] != 0) return ParseStatus::kMalformed;
  if (b.size() < 8) return ParseStatus::kNeedMore;
  code = b[1];
  return ParseStatus::kOk;
}

}  // namespace flowaudit::analysis::proxy
