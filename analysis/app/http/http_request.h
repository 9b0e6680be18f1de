// Plaintext HTTP/1.x requests: the request line and the headers that name and describe what is sent.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "analysis/app/parse_status.h"

namespace flowaudit::analysis::http {

inline constexpr std::size_t kMaxHeaderBytes = 16 * 1024;
inline constexpr std::size_t kMaxHeaders = 100;

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

// True when the first bytes look like the start of an HTTP/1.x request ("GET ", "POST ", ...).
bool looks_like_request(std::span<const std::uint8_t> bytes) noexcept;

// Parses the request line and headers; kNeedMore until the blank line has arrived (or
// kMaxHeaderBytes is reached, then kMalformed).
app::ParseStatus parse_request(std::span<const std::uint8_t> bytes, Request& out) noexcept;

}  // namespace flowaudit::analysis::http
