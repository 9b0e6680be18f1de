// Every HTTP/1.x exchange of one connection (keep-alive and pipelined requests, chunked and
// length-delimited bodies, Upgrade), both directions, from bytes in stream order: plaintext HTTP or
// what TLS decryption yields. Message framing is libhttp-parser's (Debian libhttp-parser-dev), a
// streaming parser that allocates nothing; what this class adds is pairing responses with
// requests, the fields a report needs, and the limits.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace flowaudit::analysis::http {

struct Exchange {
  static constexpr std::size_t kMaxField = 2048;      // method, authority, path, content types: cut past it
  static constexpr std::size_t kMaxKeptBody = 64 * 1024;  // request body kept for inspection, never reported

  std::string method;
  std::string authority;  // Host (or the absolute target's host)
  std::string path;       // the request target as sent
  std::string request_content_type;
  std::string request_content_encoding;
  std::string response_content_type;
  std::string response_content_encoding;
  std::uint16_t status = 0;  // 0: no response seen
  std::uint64_t request_body_bytes = 0;   // after chunked framing is removed, before content decoding
  std::uint64_t response_body_bytes = 0;
  bool upgrade = false;                   // 101 Switching Protocols (WebSocket)
  bool request_complete = false;
  bool response_complete = false;
  std::vector<std::uint8_t> request_body;  // the first kMaxKeptBody bytes
  bool request_body_cut = false;
};

class Http1Connection {
 public:
  static constexpr std::size_t kMaxExchanges = 1024;  // per connection; later ones are counted only

  Http1Connection();
  ~Http1Connection();
  Http1Connection(const Http1Connection&) = delete;
  Http1Connection& operator=(const Http1Connection&) = delete;

  // Bytes in stream order from the client (requests) or the server (responses).
  void on_bytes(bool from_client, std::span<const std::uint8_t> bytes);

  [[nodiscard]] const std::vector<Exchange>& exchanges() const noexcept { return exchanges_; }
  [[nodiscard]] std::vector<Exchange>& exchanges() noexcept { return exchanges_; }
  [[nodiscard]] std::uint64_t dropped() const noexcept { return dropped_; }
  // Why a direction stopped: "" while it reads; "malformed", "upgrade" (the bytes after are not
  // HTTP/1.x: WebSocket frames, HTTP/2 after h2c), "limit".
  [[nodiscard]] const char* stopped(bool from_client) const noexcept { return stopped_[from_client ? 0 : 1]; }

  struct Parsers;  // libhttp-parser state, kept out of this header

 private:
  friend struct Callbacks;
  std::unique_ptr<Parsers> parsers_;
  std::vector<Exchange> exchanges_;
  std::size_t next_response_ = 0;  // index of the exchange the next response answers
  std::uint64_t dropped_ = 0;
  const char* stopped_[2] = {"", ""};
};

}  // namespace flowaudit::analysis::http
