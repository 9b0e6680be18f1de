// Every HTTP/2 request of one connection (RFC 9113), from the bytes of both directions in stream
// order: the frames are read here (a 9-byte header and a bounded buffer: no library frames a
// passive copy of both sides), header blocks (HEADERS + CONTINUATION) are decoded by nghttp2's
// HPACK inflater (Debian libnghttp2-dev), one per direction, as the peers' own decoders would.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "analysis/app/http/http1_connection.h"

namespace flowaudit::analysis::http {

class Http2Connection {
 public:
  static constexpr std::size_t kMaxFrame = 64 * 1024;        // larger frames stop the direction ("limit")
  static constexpr std::size_t kMaxHeaderBlock = 64 * 1024;  // one header block with its CONTINUATIONs
  static constexpr std::size_t kMaxStreams = 1024;           // exchanges per connection; later ones counted

  Http2Connection();
  ~Http2Connection();
  Http2Connection(const Http2Connection&) = delete;
  Http2Connection& operator=(const Http2Connection&) = delete;

  void on_bytes(bool from_client, std::span<const std::uint8_t> bytes);

  [[nodiscard]] std::vector<Exchange>& exchanges() noexcept { return exchanges_; }
  [[nodiscard]] std::uint64_t dropped() const noexcept { return dropped_; }
  // "" while reading; "malformed" (a frame or header block that does not parse), "limit".
  [[nodiscard]] const char* stopped(bool from_client) const noexcept { return dir_[from_client ? 0 : 1].stopped; }

 private:
  struct Direction {
    std::vector<std::uint8_t> buffer;  // an incomplete frame
    std::vector<std::uint8_t> block;   // a header block waiting for END_HEADERS
    std::uint32_t block_stream = 0;
    bool block_end_stream = false;
    bool block_push = false;  // the block is a PUSH_PROMISE's
    bool preface_done = false;
    const char* stopped = "";
  };
  struct Inflaters;

  void frame(int d, std::uint8_t type, std::uint8_t flags, std::uint32_t stream, std::span<const std::uint8_t> payload);
  // `block` is the complete header block, taken from the direction's buffer (nghttp2 reads it in place).
  void header_block(int d, std::uint32_t stream, std::vector<std::uint8_t>& block, bool push);
  Exchange* exchange_for(std::uint32_t stream, bool create);
  std::unique_ptr<ContentDecoder>& decoder(int d, const Exchange* e);
  void stop(int d, const char* why);

  Direction dir_[2];
  std::unique_ptr<Inflaters> inflaters_;
  std::vector<Exchange> exchanges_;
  std::vector<std::unique_ptr<ContentDecoder>> decoders_[2];  // per exchange, while its body is read
  KeepBudget keep_;
  std::unordered_map<std::uint32_t, std::size_t> streams_;  // stream id -> index in exchanges_
  std::uint64_t dropped_ = 0;
};

}  // namespace flowaudit::analysis::http
