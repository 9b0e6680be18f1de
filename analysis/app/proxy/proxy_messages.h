// The messages that open a proxied connection: an HTTP CONNECT request and the proxy's response
// head (RFC 9110 section 9.3.6), SOCKS4 and SOCKS4A (the de-facto specifications by Ying-Da Lee)
// and SOCKS5 (RFC 1928, with username/password authentication, RFC 1929). Each parser reads one
// message from the start of `bytes` and says how many bytes it took: kOk (and `size`), kNeedMore
// (a proper prefix), kMalformed (not that message). Views point into `bytes`.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "analysis/app/parse_status.h"

namespace flowaudit::analysis::proxy {

// Bytes of one side's handshake read before the tunnel starts (the CONNECT head with its headers,
// or SOCKS messages: at most 4 + 255 + 2 bytes each, plus SOCKS4's NUL-terminated user id and name).
// A real handshake is well below it; past it the flow is an inspection-limit blind spot.
inline constexpr std::size_t kMaxHandshakeBytes = 8 * 1024;

struct Target {
  std::string host;  // a name, or an address as text (IPv6 without brackets)
  std::uint16_t port = 0;
  bool by_address = false;
};

// "CONNECT host:port HTTP/1.x" and its header lines, up to the blank line.
app::ParseStatus parse_connect(std::span<const std::uint8_t> bytes, Target& target, std::size_t& size);
// "HTTP/1.x NNN reason" and its header lines, up to the blank line.
app::ParseStatus parse_response_head(std::span<const std::uint8_t> bytes, int& status, std::size_t& size);
// The target of an absolute-form request target ("http://host:port/path"); false otherwise.
bool absolute_form_target(std::string_view request_target, Target& target);

// SOCKS5, client: the greeting (version 5, methods); username/password (version 1); the request
// (CONNECT, BIND or UDP ASSOCIATE; IPv4, domain or IPv6).
app::ParseStatus socks5_greeting(std::span<const std::uint8_t> bytes, std::size_t& size);
app::ParseStatus socks5_userpass(std::span<const std::uint8_t> bytes, std::size_t& size);
app::ParseStatus socks5_request(std::span<const std::uint8_t> bytes, Target& target, std::size_t& size);
// SOCKS5, server: the method choice (2 bytes), the username/password status (2 bytes), the reply.
app::ParseStatus socks5_choice(std::span<const std::uint8_t> bytes, std::uint8_t& method);
app::ParseStatus socks5_userpass_status(std::span<const std::uint8_t> bytes, std::uint8_t& status);
app::ParseStatus socks5_reply(std::span<const std::uint8_t> bytes, std::uint8_t& reply, std::size_t& size);
// SOCKS4 (address) and SOCKS4A (0.0.0.x, x != 0, then the name): the request; `socks4a` says which.
app::ParseStatus socks4_request(std::span<const std::uint8_t> bytes, Target& target, bool& socks4a, std::size_t& size);
// SOCKS4 reply: 8 bytes, version 0; code 90 is granted.
app::ParseStatus socks4_reply(std::span<const std::uint8_t> bytes, std::uint8_t& code);

inline constexpr std::uint8_t kSocks5NoAuth = 0x00;
inline constexpr std::uint8_t kSocks5UserPass = 0x02;
inline constexpr std::uint8_t kSocks4Granted = 90;

}  // namespace flowaudit::analysis::proxy
