// Plaintext HTTP/1.x requests: the request line and the headers that name and describe what is sent.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "analysis/app/parse_status.h"

namespace flowaudit::analysis::http {

// How much of a request head is read. nginx accepts a head of up to 4 x 8 KiB by default
// (large_client_header_buffers), Apache 100 fields of at most 8190 bytes each; a head larger than
// these is either exotic or built to hide what follows. Past either limit the parse stops with
// kLimit, keeping what it read (the request line and the headers before the limit).
inline constexpr std::size_t kMaxHeaderBytes = 32 * 1024;
inline constexpr std::size_t kMaxHeaders = 256;

struct Request {  // views into the bytes given
  std::string_view method;
  std::string_view target;  // as sent: origin-form path or absolute URI
  std::uint8_t version_minor = 1;  // HTTP/1.x
  std::string_view host;
  std::string_view user_agent;
  std::string_view content_type;
  std::int64_t content_length = -1;  // -1 when absent or invalid
  std::uint16_t header_count = 0;
};

// ASCII case-insensitive equality, as HTTP compares field names and tokens (RFC 9110 §5.1).
bool iequals(std::string_view a, std::string_view b) noexcept;
// The host of an authority ("host:port", "[v6]:port", "host"): without its port, an IPv6 literal
// without its brackets.
std::string_view authority_host(std::string_view authority) noexcept;
// `s` without the optional whitespace (spaces and tabs) around a field value (RFC 9110 §5.6.3).
std::string_view trim_ows(std::string_view s) noexcept;

// True when the first bytes look like the start of an HTTP/1.x request ("GET ", "POST ", ...).
bool looks_like_request(std::span<const std::uint8_t> bytes) noexcept;
// The same, for bytes that may be only the first few of a stream: kOk (a request starts),
// kNeedMore (a proper prefix of a method and its space, "G", "OPTIO"), kMalformed (no request).
// Decided on at most 8 bytes ("CONNECT ", "OPTIONS ").
app::ParseStatus request_start(std::span<const std::uint8_t> bytes) noexcept;

// Parses the request line and headers; kNeedMore until the blank line has arrived. kLimit when
// kMaxHeaderBytes bytes hold no end of the head or the head has more than kMaxHeaders fields: the
// method and target (cut at the limit when the request line alone is that long) and the headers
// read before the limit are set. kMalformed after a valid request line keeps the request line
// and the headers before the broken one (method is empty when the request line itself is broken).
app::ParseStatus parse_request(std::span<const std::uint8_t> bytes, Request& out) noexcept;

}  // namespace flowaudit::analysis::http
