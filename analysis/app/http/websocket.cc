#include "analysis/app/http/websocket.h"

#include <wslay/wslay.h>
#include <zlib.h>

#include <algorithm>
#include <array>

namespace flowaudit::analysis::http {
namespace {

bool contains_token(std::string_view s, std::string_view token) {
  for (std::size_t i = s.find(token); i != std::string_view::npos; i = s.find(token, i + 1)) {
    const bool start = i == 0 || s[i - 1] == ' ' || s[i - 1] == ';' || s[i - 1] == ',';
    const std::size_t e = i + token.size();
    const bool end = e == s.size() || s[e] == ' ' || s[e] == ';' || s[e] == ',' || s[e] == '=';
    if (start && end) return true;
  }
  return false;
}

}  // namespace

struct WebSocketReader::Direction {
  wslay_frame_context_ptr frames = nullptr;
  std::span<const std::uint8_t> input;  // what the recv callback hands wslay
  std::uint64_t frame_left = 0;   // payload bytes of the current frame not handed over yet
  bool in_message = false;
  bool compressed = false;        // RSV1 on the message's first frame
  std::uint64_t message_bytes = 0;  // inflated
  std::string message;            // the client's message being assembled (bounded by kMaxKept)
  z_stream z{};
  bool z_init = false;

  Direction() {
    static const wslay_frame_callbacks kCallbacks = {nullptr, &Direction::recv, nullptr};
    if (wslay_frame_context_init(&frames, &kCallbacks, this) != 0) frames = nullptr;
  }
  ~Direction() {
    if (frames != nullptr) wslay_frame_context_free(frames);
    if (z_init) inflateEnd(&z);
  }
  // wslay pulls bytes; an empty input makes it answer WSLAY_ERR_WANT_READ.
  static ssize_t recv(std::uint8_t* buf, std::size_t len, int, void* user) {
    auto* d = static_cast<Direction*>(user);
    if (d->input.empty()) return -1;
    const std::size_t n = std::min(len, d->input.size());
    std::copy_n(d->input.begin(), n, buf);
    d->input = d->input.subspan(n);
    return static_cast<ssize_t>(n);
  }
};

WebSocketReader::WebSocketReader(std::string_view extensions, KeepBudget& budget) : budget_(budget) {
  stats_.opened = true;
  stats_.deflate = contains_token(extensions, "permessage-deflate");
  no_context_takeover_[0] = contains_token(extensions, "client_no_context_takeover");
  no_context_takeover_[1] = contains_token(extensions, "server_no_context_takeover");
  for (auto& d : dir_) d = std::make_unique<Direction>();
}

WebSocketReader::~WebSocketReader() = default;

void WebSocketReader::on_bytes(bool from_client, std::span<const std::uint8_t> bytes) {
  const int d = from_client ? 0 : 1;
  Direction& x = *dir_[d];
  if (*stats_.stopped != '\0' || x.frames == nullptr) return;
  x.input = bytes;
  std::array<std::uint8_t, 16 * 1024> out;  // inflate scratch: written before it is read, not zeroed per call
  auto take = [&](std::span<const std::uint8_t> plain) {
    x.message_bytes += plain.size();
    if (d == 0 && kept_bytes_ + x.message.size() < kMaxKept) {
      const std::size_t n = budget_.take(std::min(plain.size(), kMaxKept - kept_bytes_ - x.message.size()));
      x.message.append(reinterpret_cast<const char*>(plain.data()), n);
    }
  };
  auto inflate_some = [&](std::span<const std::uint8_t> in) -> bool {
    if (!x.z_init) {
      if (inflateInit2(&x.z, -15) != Z_OK) return false;
      x.z_init = true;
    }
    x.z.next_in = const_cast<Bytef*>(in.data());  // zlib's API is not const-correct; it only reads
    x.z.avail_in = static_cast<uInt>(in.size());
    for (;;) {
      x.z.next_out = out.data();
      x.z.avail_out = static_cast<uInt>(out.size());
      const int rc = inflate(&x.z, Z_SYNC_FLUSH);
      if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END) return false;
      const std::size_t produced = out.size() - x.z.avail_out;
      take(std::span<const std::uint8_t>(out.data(), produced));
      if (x.message_bytes > kMaxMessage) return false;
      if (x.z.avail_out != 0) return true;  // all input used and all output flushed
    }
  };
  for (;;) {
    wslay_frame_iocb io{};
    const ssize_t r = wslay_frame_recv(x.frames, &io);
    if (r == WSLAY_ERR_WANT_READ) return;
    if (r < 0) return stop("malformed");
    // wslay hands a frame's payload in pieces; the frame ended when all of it came.
    x.frame_left = x.frame_left == 0 ? io.payload_length - io.data_length : x.frame_left - io.data_length;
    const bool frame_end = x.frame_left == 0;
    if ((io.opcode & 0x8) != 0) {  // ping, pong, close
      if (frame_end) ++stats_.control_frames;
      continue;
    }
    if (!x.in_message) {
      if (io.opcode == WSLAY_CONTINUATION_FRAME) return stop("malformed");  // continues nothing
      x.in_message = true;
      x.compressed = stats_.deflate && (io.rsv & 0x4) != 0;
      x.message_bytes = 0;
      x.message.clear();
    }
    const std::span<const std::uint8_t> payload(io.data, io.data_length);
    if (x.compressed) {
      if (!inflate_some(payload)) return stop(x.message_bytes > kMaxMessage ? "limit" : "malformed");
    } else {
      take(payload);
      if (x.message_bytes > kMaxMessage) return stop("limit");
    }
    if (!frame_end || io.fin == 0) continue;
    if (x.compressed) {
      // RFC 7692 §7.2.2: a compressed message lacks the 00 00 ff ff its last flush ends with; the
      // receiver appends it.
      static constexpr std::uint8_t kTail[4] = {0x00, 0x00, 0xff, 0xff};
      if (!inflate_some(kTail)) return stop(x.message_bytes > kMaxMessage ? "limit" : "malformed");
      if (no_context_takeover_[d]) inflateReset(&x.z);
    }
    message_end(d);
  }
}

void WebSocketReader::message_end(int d) {
  Direction& x = *dir_[d];
  ++stats_.messages[d];
  stats_.payload_bytes[d] += x.message_bytes;
  if (d == 0 && kept_bytes_ < kMaxKept) {
    kept_bytes_ += x.message.size();
    kept_.push_back(std::move(x.message));
  }
  x.message.clear();
  x.in_message = false;
}

}  // namespace flowaudit::analysis::http
