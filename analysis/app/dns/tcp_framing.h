// DNS over TCP (RFC 1035 4.2.2, RFC 7766): each message is preceded by its 2-byte length. Collects
// one direction's in-order bytes and hands out whole messages; the bytes of the one message still
// incomplete are kept. A length prefix cannot say more than 65,535, so the buffer never holds
// more than 65,537 bytes (a largest message and its prefix): no input can overflow it, and no
// message that TCP can frame is refused.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

namespace flowaudit::analysis::dns {

class TcpFraming {
 public:
  static constexpr std::size_t kMaxBuffered = 2 + 65535;

  enum class Result {
    kMore,     // every whole message was handed out; waiting for more bytes
    kStopped,  // on_message returned false
  };

  // Appends the next in-order bytes and calls on_message(span) for each whole message, in order,
  // until it returns false. The span is valid only during the call.
  template <typename F>
  Result feed(std::span<const std::uint8_t> bytes, F&& on_message) {
    while (!bytes.empty()) {
      // The prefix first, then the rest of the message it announces: never more than one message.
      const std::size_t want = buffer_.size() < 2 ? 2 : 2 + message_size();
      const std::size_t take = std::min(want - buffer_.size(), bytes.size());
      buffer_.insert(buffer_.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(take));
      bytes = bytes.subspan(take);
      if (buffer_.size() < 2 || buffer_.size() < 2 + message_size()) continue;
      const bool more = on_message(std::span<const std::uint8_t>(buffer_).subspan(2));
      buffer_.clear();
      if (!more) return Result::kStopped;
    }
    return Result::kMore;
  }

  [[nodiscard]] std::size_t buffered() const noexcept { return buffer_.size(); }

 private:
  std::size_t message_size() const noexcept { return (static_cast<std::size_t>(buffer_[0]) << 8) | buffer_[1]; }

  std::vector<std::uint8_t> buffer_;  // at most kMaxBuffered bytes
};

}  // namespace flowaudit::analysis::dns
