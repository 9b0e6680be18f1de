#include "analysis/app/http/http2_connection.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstring>
#include <string_view>

namespace flowaudit::analysis::http {

namespace {

constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr std::uint8_t kData = 0, kHeaders = 1, kSettings = 4, kPushPromise = 5, kContinuation = 9;
constexpr std::uint8_t kEndStream = 0x1, kEndHeaders = 0x4, kPadded = 0x8, kPriority = 0x20;
constexpr std::uint32_t kMaxHeaderTable = 64 * 1024;  // a peer may announce more; decoding past it stops

}  // namespace

// inflater[d] decodes the header blocks sent by direction d (0: client, 1: server).
struct Http2Connection::Inflaters {
  nghttp2_hd_inflater* inflater[2] = {nullptr, nullptr};
  ~Inflaters() {
    for (auto* i : inflater) {
      if (i != nullptr) nghttp2_hd_inflate_del(i);
    }
  }
};

Http2Connection::Http2Connection() : inflaters_(std::make_unique<Inflaters>()) {
  for (auto*& i : inflaters_->inflater) {
    if (nghttp2_hd_inflate_new(&i) != 0) i = nullptr;
  }
}

Http2Connection::~Http2Connection() = default;

void Http2Connection::stop(int d, const char* why) {
  Direction& x = dir_[d];
  if (*x.stopped != '\0') return;
  x.stopped = why;
  x.buffer.clear();
  x.buffer.shrink_to_fit();
  x.block.clear();
  x.block.shrink_to_fit();
}

std::unique_ptr<ContentDecoder>& Http2Connection::decoder(int d, const Exchange* e) {
  const auto i = static_cast<std::size_t>(e - exchanges_.data());  // e points into exchanges_
  auto& slots = decoders_[d];
  if (slots.size() <= i) slots.resize(i + 1);
  return slots[i];
}

Exchange* Http2Connection::exchange_for(std::uint32_t stream, bool create) {
  const auto it = streams_.find(stream);
  if (it != streams_.end()) return &exchanges_[it->second];
  if (!create) return nullptr;
  if (exchanges_.size() >= kMaxStreams) {
    ++dropped_;
    return nullptr;
  }
  streams_.emplace(stream, exchanges_.size());
  exchanges_.emplace_back();
  return &exchanges_.back();
}

void Http2Connection::on_bytes(bool from_client, std::span<const std::uint8_t> bytes) {
  const int d = from_client ? 0 : 1;
  Direction& x = dir_[d];
  if (*x.stopped != '\0' || bytes.empty()) return;
  x.buffer.insert(x.buffer.end(), bytes.begin(), bytes.end());
  std::size_t pos = 0;
  if (d == 0 && !x.preface_done) {
    if (x.buffer.size() < kPreface.size()) return;
    if (std::memcmp(x.buffer.data(), kPreface.data(), kPreface.size()) != 0) {
      stop(d, "malformed");
      return;
    }
    x.preface_done = true;
    pos = kPreface.size();
  }
  while (*x.stopped == '\0' && x.buffer.size() - pos >= 9) {
    const std::uint8_t* h = x.buffer.data() + pos;
    const std::size_t len = (static_cast<std::size_t>(h[0]) << 16) | (static_cast<std::size_t>(h[1]) << 8) | h[2];
    if (len > kMaxFrame) {
      stop(d, "limit");
      return;
    }
    if (x.buffer.size() - pos < 9 + len) break;
    const std::uint32_t stream =
        ((static_cast<std::uint32_t>(h[5]) << 24) | (static_cast<std::uint32_t>(h[6]) << 16) |
         (static_cast<std::uint32_t>(h[7]) << 8) | h[8]) & 0x7fffffffu;
    frame(d, h[3], h[4], stream, std::span<const std::uint8_t>(h + 9, len));
    pos += 9 + len;
  }
  if (*x.stopped != '\0') return;
  x.buffer.erase(x.buffer.begin(), x.buffer.begin() + static_cast<std::ptrdiff_t>(pos));
}

void Http2Connection::frame(int d, std::uint8_t type, std::uint8_t flags, std::uint32_t stream,
                            std::span<const std::uint8_t> payload) {
  Direction& x = dir_[d];
  // A header block is contiguous: between HEADERS without END_HEADERS and its last CONTINUATION
  // no other frame may come (RFC 9113 §6.10).
  if (!x.block.empty() || x.block_stream != 0) {
    if (type != kContinuation || stream != x.block_stream) {
      stop(d, "malformed");
      return;
    }
  }
  auto strip_padding = [&](std::span<const std::uint8_t>& p) {
    if ((flags & kPadded) == 0) return true;
    if (p.empty() || p[0] >= p.size()) return false;
    const std::size_t pad = p[0];
    p = p.subspan(1, p.size() - 1 - pad);
    return true;
  };
  switch (type) {
    case kData: {
      if (!strip_padding(payload)) return stop(d, "malformed");
      Exchange* e = exchange_for(stream, false);
      if (e == nullptr) return;
      e->body_bytes(d == 0, payload, decoder(d, e), keep_);
      if ((flags & kEndStream) != 0) {
        e->body_end(d == 0, decoder(d, e));
        (d == 0 ? e->request_complete : e->response_complete) = true;
      }
      return;
    }
    case kPushPromise:  // the server's promise: a header block too, with the promised stream first
    case kHeaders: {
      if (stream == 0 || !strip_padding(payload)) return stop(d, "malformed");
      if (type == kPushPromise) {
        if (d == 0 || payload.size() < 4) return stop(d, "malformed");  // only a server promises
        payload = payload.subspan(4);
      } else if ((flags & kPriority) != 0) {
        if (payload.size() < 5) return stop(d, "malformed");
        payload = payload.subspan(5);
      }
      x.block_stream = stream;
      x.block_end_stream = type == kHeaders && (flags & kEndStream) != 0;
      x.block_push = type == kPushPromise;
      [[fallthrough]];
    }
    case kContinuation: {
      if (type == kContinuation && x.block_stream == 0) return stop(d, "malformed");
      if (x.block.size() + payload.size() > kMaxHeaderBlock) return stop(d, "limit");
      x.block.insert(x.block.end(), payload.begin(), payload.end());
      if ((flags & kEndHeaders) == 0) return;
      std::vector<std::uint8_t> block;
      block.swap(x.block);
      const std::uint32_t s = x.block_stream;
      x.block_stream = 0;
      // A pushed response is the server's, not a request the app made: its promise's header block
      // only goes through the inflater, to keep the dynamic table in step; its stream has no
      // exchange, so its response is not one either.
      header_block(d, s, block, x.block_push);
      return;
    }
    case kSettings: {
      if ((flags & 0x1) != 0 || payload.size() % 6 != 0) return;  // ACK, or broken (ignored)
      for (std::size_t i = 0; i + 6 <= payload.size(); i += 6) {
        const unsigned id = (payload[i] << 8) | payload[i + 1];
        const std::uint32_t value = (static_cast<std::uint32_t>(payload[i + 2]) << 24) |
                                    (static_cast<std::uint32_t>(payload[i + 3]) << 16) |
                                    (static_cast<std::uint32_t>(payload[i + 4]) << 8) | payload[i + 5];
        // SETTINGS_HEADER_TABLE_SIZE bounds the table the OTHER side's encoder may use.
        nghttp2_hd_inflater* other = inflaters_->inflater[d ^ 1];
        if (id == 0x1 && other != nullptr) nghttp2_hd_inflate_change_table_size(other, std::min(value, kMaxHeaderTable));
      }
      return;
    }
    default:
      return;  // PRIORITY, RST_STREAM, PING, GOAWAY, WINDOW_UPDATE: nothing a request needs
  }
}

void Http2Connection::header_block(int d, std::uint32_t stream, std::vector<std::uint8_t>& block, bool push) {
  nghttp2_hd_inflater* inflater = inflaters_->inflater[d];
  if (inflater == nullptr) return stop(d, "limit");
  // A client's header block opens a stream (its request); a server's answers one. Trailers (a second
  // block on a stream) go through the inflater too and change nothing here.
  Exchange* e = push ? nullptr : exchange_for(stream, d == 0);
  // The request's first block; the response's first final one (a 1xx may come before it).
  const bool first = e != nullptr && (d == 0 ? e->method.empty() : e->status < 200);
  std::uint8_t* in = block.data();  // nghttp2 takes a non-const pointer: the block is ours to give
  std::size_t left = block.size();
  for (;;) {
    nghttp2_nv nv{};
    int flags = 0;
    const ssize_t used = nghttp2_hd_inflate_hd2(inflater, &nv, &flags, in, left, 1);
    if (used < 0) return stop(d, "malformed");
    in += used;
    left -= static_cast<std::size_t>(used);
    if ((flags & NGHTTP2_HD_INFLATE_EMIT) != 0 && e != nullptr && first) {
      e->header_field(d == 0, std::string_view(reinterpret_cast<const char*>(nv.name), nv.namelen),
                      std::string_view(reinterpret_cast<const char*>(nv.value), nv.valuelen));
    }
    if ((flags & NGHTTP2_HD_INFLATE_FINAL) != 0) {
      nghttp2_hd_inflate_end_headers(inflater);
      break;
    }
    if ((flags & NGHTTP2_HD_INFLATE_EMIT) == 0 && left == 0) break;
  }
  if (e != nullptr && first && (d == 0 || e->status >= 200)) e->body_begin(d == 0, decoder(d, e));
  if (e != nullptr && dir_[d].block_end_stream) {
    e->body_end(d == 0, decoder(d, e));
    (d == 0 ? e->request_complete : e->response_complete) = true;
  }
}

}  // namespace flowaudit::analysis::http
