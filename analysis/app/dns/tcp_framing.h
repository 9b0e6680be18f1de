// DNS over TCP (RFC 1035 4.2.2, RFC 7766): each message is preceded by its 2-byte length. Collects
// one direction's in-order bytes and hands out whole messages; bytes of a message still
// incomplete are kept, up to a limit.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace flowaudit::analysis::dns {

class TcpFraming {
 public:
  static constexpr std::size_t kMaxBuffered = 64 * 1024;

  enum class Result {
    kMore,      // every whole message was handed out; waiting for more bytes
    kStopped,   // on_message returned false
    kOverflow,  // the bytes kept would pass kMaxBuffered: nothing of these bytes was read
  };

  // Appends the next in-order bytes and calls on_message(span) for each whole message, in order,
  // until it returns false. The span is valid only during the call.
  template <typename F>
  Result feed(std::span<const std::uint8_t> bytes, F&& on_message) {
    if (buffer_.size() + bytes.size() > kMaxBuffered) return Result::kOverflow;
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
    std::size_t used = 0;
    while (buffer_.size() - used >= 2) {
      const std::size_t len = (static_cast<std::size_t>(buffer_[used]) << 8) | buffer_[used + 1];
      if (buffer_.size() - used - 2 < len) break;
      const bool more = on_message(std::span<const std::uint8_t>(buffer_).subspan(used + 2, len));
      used += 2 + len;
      if (!more) return Result::kStopped;
    }
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(used));
    return Result::kMore;
  }

 private:
  std::vector<std::uint8_t> buffer_;
};

}  // namespace flowaudit::analysis::dns
