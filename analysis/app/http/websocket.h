// WebSocket messages (RFC 6455) after an HTTP/1.1 Upgrade, both directions, read passively: frames
// through wslay's frame parser (Debian libwslay-dev; it unmasks the client's frames and takes its
// input in any pieces), messages assembled from fragments here, permessage-deflate (RFC 7692)
// inflated through zlib with its context takeover. Counts per direction; the client's messages
// are kept, bounded, for inspection (never reported).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/app/http/keep_budget.h"

namespace flowaudit::analysis::http {

struct WebSocketStats {
  bool opened = false;                      // the upgrade happened and the frames were followed
  std::uint64_t messages[2] = {0, 0};       // 0: client to server, 1: server to client (data messages)
  std::uint64_t payload_bytes[2] = {0, 0};  // after inflation
  std::uint64_t control_frames = 0;         // ping, pong, close
  bool deflate = false;                     // permessage-deflate was negotiated
  const char* stopped = "";                 // "" or why a direction stopped: "malformed", "limit"
};

class WebSocketReader {
 public:
  static constexpr std::uint64_t kMaxMessage = 16ull << 20;  // one message, inflated
  static constexpr std::size_t kMaxKept = 64 * 1024;         // client messages kept, all together

  // `extensions`: the server's Sec-WebSocket-Extensions (what was agreed); the client's messages
  // are kept within kMaxKept and `budget` (the connection's, shared with its request bodies).
  WebSocketReader(std::string_view extensions, KeepBudget& budget);
  ~WebSocketReader();
  WebSocketReader(const WebSocketReader&) = delete;
  WebSocketReader& operator=(const WebSocketReader&) = delete;

  void on_bytes(bool from_client, std::span<const std::uint8_t> bytes);

  [[nodiscard]] const WebSocketStats& stats() const noexcept { return stats_; }
  // The client's messages (inflated), in order, as far as kMaxKept allows.
  [[nodiscard]] std::vector<std::string>& client_messages() noexcept { return kept_; }

  struct Direction;

 private:
  void message_end(int d);
  void stop(const char* why) { stats_.stopped = why; }

  std::unique_ptr<Direction> dir_[2];
  KeepBudget& budget_;
  WebSocketStats stats_;
  std::vector<std::string> kept_;
  std::size_t kept_bytes_ = 0;
  bool no_context_takeover_[2] = {false, false};
};

}  // namespace flowaudit::analysis::http
