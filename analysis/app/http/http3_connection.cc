// HTTP/3 (RFC 9114) read passively from both sides. The frame and stream-type reader is written
// here: nghttp3's own connection object is an endpoint (it checks stream states and flow control,
// and wants to answer), not a reader of a copy of both sides; its QPACK decoder is used as is.
#include "analysis/app/http/http3_connection.h"

#include <nghttp3/nghttp3.h>

#include <algorithm>
#include <string_view>

#include "analysis/app/quic/initial_protection.h"  // quic::read_varint (RFC 9000 §16)
#include "core/byte_reader.h"

namespace flowaudit::analysis::http {

namespace {

constexpr std::uint64_t kData = 0x00, kHeaders = 0x01, kSettings = 0x04;  // frame types (RFC 9114 §7.2)
constexpr std::uint64_t kControlStream = 0x00, kPushStream = 0x01, kEncoderStream = 0x02;  // stream types (§6.2)
constexpr std::uint64_t kSettingsQpackMaxTableCapacity = 0x01;  // RFC 9204 §5
constexpr std::uint64_t kMaxStreamId = (std::uint64_t{1} << 62) - 1;
constexpr std::size_t kNone = static_cast<std::size_t>(-1);

// The size of a QUIC varint from its first byte (RFC 9000 §16: the two high bits).
std::size_t varint_size(std::uint8_t first) noexcept { return std::size_t{1} << (first >> 6); }

std::string_view view(const nghttp3_rcbuf* b) noexcept {
  const nghttp3_vec v = nghttp3_rcbuf_get_buf(b);
  return {reinterpret_cast<const char*>(v.base), v.len};
}

}  // namespace

struct Http3Connection::Stream {
  enum class Kind : std::uint8_t {
    kRequest,   // client side of a request stream
    kResponse,  // server side of a request stream
    kUniType,   // a unidirectional stream whose type is not read yet
    kControl,
    kEncoder,
    kSkip,      // read to its end, unread: push, QPACK decoder, unknown types, streams without an exchange
  };
  enum class Phase : std::uint8_t { kHead, kBody, kTrailers };

  std::uint64_t key = 0;  // id << 1 | sender
  std::uint64_t id = 0;
  int d = 0;  // sender: 0 client, 1 server
  Kind kind = Kind::kSkip;
  Phase phase = Phase::kHead;
  bool stopped = false;
  bool in_frame = false;
  bool buffering = false;  // the frame's payload goes to `block` (a HEADERS or SETTINGS frame)
  bool body_begun = false;
  bool blocked = false;    // its header block waits for encoder-stream bytes
  bool held_fin = false;
  std::uint8_t hdr[16] = {};  // a frame header (two varints) or stream type read so far
  std::size_t hdr_len = 0;
  std::uint64_t type = 0;  // of the frame being read
  std::uint64_t left = 0;  // its payload bytes still to come
  std::size_t exchange = kNone;
  std::vector<std::uint8_t> block;  // the frame being buffered
  std::size_t block_pos = 0;        // bytes of it the QPACK decoder has read
  std::vector<std::uint8_t> held;   // what followed a blocked header block on the stream
  std::unique_ptr<ContentDecoder> dec;
  nghttp3_qpack_stream_context* sctx = nullptr;  // the header block being decoded

  ~Stream() {
    if (sctx != nullptr) nghttp3_qpack_stream_context_del(sctx);
  }
};

// side[d] decodes the header blocks sent by d (0: client, 1: server), fed by d's encoder stream.
struct Http3Connection::Qpack {
  struct Side {
    nghttp3_qpack_decoder* dec = nullptr;
    std::size_t capacity = kMaxTableCapacity;  // the table capacity it was made with
    bool settings = false;  // the peer that decodes d's blocks announced its capacity
    bool fed = false;       // encoder-stream bytes were read (the table may hold entries)
    bool bad = false;       // a QPACK error: nothing more of d is decoded
    bool encoder_seen = false;
    bool encoder_gone = false;  // the encoder stream ended or was lost: blocked blocks never resume
    std::vector<std::uint64_t> blocked;  // keys of the streams whose header block waits
  };
  Side side[2];
  std::vector<std::uint8_t> scratch;  // the decoder-stream instructions nghttp3 writes (discarded)

  ~Qpack() {
    for (Side& s : side) {
      if (s.dec != nullptr) nghttp3_qpack_decoder_del(s.dec);
    }
  }

  // The decoder of d's header blocks, made on first need with the capacity the decoding peer
  // announced if its SETTINGS were read (the capacity fixes how a block's Required Insert Count is
  // read, RFC 9204 §4.5.1.1), else the most this reader allows. nullptr when out of memory.
  nghttp3_qpack_decoder* decoder(int d) {
    Side& s = side[d];
    if (s.dec == nullptr &&
        nghttp3_qpack_decoder_new(&s.dec, s.capacity, kMaxBlockedStreams, nghttp3_mem_default()) != 0) {
      s.dec = nullptr;
    }
    return s.dec;
  }

  // nghttp3 writes Section Acknowledgments and Insert Count Increments for the decoder stream it
  // would send, and fails once too many are pending: a passive reader throws them away.
  void drain(int d) {
    nghttp3_qpack_decoder* dec = side[d].dec;
    if (dec == nullptr) return;
    const std::size_t n = nghttp3_qpack_decoder_get_decoder_streamlen(dec);
    if (n == 0) return;
    if (scratch.size() < n) scratch.resize(n);
    nghttp3_buf b{};
    b.begin = b.pos = b.last = scratch.data();
    b.end = scratch.data() + scratch.size();
    nghttp3_qpack_decoder_write_decoder(dec, &b);
  }
};

Http3Connection::Http3Connection() : qpack_(std::make_unique<Qpack>()) {}

Http3Connection::~Http3Connection() {
  streams_.clear();  // stream contexts before the decoders
}

void Http3Connection::note(const char* why) noexcept {
  if (*stopped_ == '\0') stopped_ = why;
}

Exchange* Http3Connection::exchange(const Stream& s) noexcept {
  return s.exchange < exchanges_.size() ? &exchanges_[s.exchange] : nullptr;
}

void Http3Connection::release(Stream& s) noexcept {
  buffered_ -= std::min(buffered_, s.block.size() + s.held.size());
  s.block = {};
  s.held = {};
  s.block_pos = 0;
  if (s.sctx != nullptr) {
    nghttp3_qpack_stream_context_del(s.sctx);
    s.sctx = nullptr;
  }
  if (s.blocked) {
    auto& list = qpack_->side[s.d].blocked;
    list.erase(std::remove(list.begin(), list.end(), s.key), list.end());
    s.blocked = false;
  }
}

void Http3Connection::end_body(Stream& s, bool complete) {
  Exchange* e = exchange(s);
  if (e == nullptr) return;
  const bool request = s.d == 0;
  if (s.body_begun) {
    e->body_end(request, s.dec);
    s.body_begun = false;
    if (complete) (request ? e->request_complete : e->response_complete) = true;
  }
}

void Http3Connection::stop_stream(Stream& s, const char* why) {
  if (s.stopped) return;
  note(why);
  s.stopped = true;
  release(s);
  end_body(s, false);  // what was read is kept; a coded body ends truncated
}

void Http3Connection::forget(std::uint64_t key) {
  const auto it = streams_.find(key);
  if (it == streams_.end()) return;
  release(*it->second);
  streams_.erase(it);
}

void Http3Connection::on_stream(bool from_client, std::uint64_t stream_id, std::span<const std::uint8_t> bytes,
                                bool fin) {
  const int d = from_client ? 0 : 1;
  if (stream_id > kMaxStreamId) {
    note("malformed");
    return;
  }
  const std::uint64_t key = (stream_id << 1) | static_cast<std::uint64_t>(d);
  auto it = streams_.find(key);
  if (it == streams_.end()) {
    if (bytes.empty()) return;  // nothing to read (a bare fin)
    Stream::Kind kind;
    if ((stream_id & 3) == 0) kind = from_client ? Stream::Kind::kRequest : Stream::Kind::kResponse;
    else if ((stream_id & 3) == (from_client ? 2u : 3u)) kind = Stream::Kind::kUniType;
    else {
      note("malformed");  // a server-initiated bidirectional stream (none in HTTP/3), or the other side's stream
      return;
    }
    // Past the limit no new stream is read for the rest of the connection: one taken up later
    // would be read from the middle.
    if (streams_full_ || streams_.size() >= kMaxOpenStreams) {
      streams_full_ = true;
      note("limit");
      return;
    }
    auto s = std::make_unique<Stream>();
    s->key = key;
    s->id = stream_id;
    s->d = d;
    s->kind = kind;
    it = streams_.emplace(key, std::move(s)).first;
  }
  read(*it->second, bytes, fin);
}

void Http3Connection::on_stream_lost(bool from_client, std::uint64_t stream_id) {
  const int d = from_client ? 0 : 1;
  if (stream_id > kMaxStreamId) return;
  const std::uint64_t key = (stream_id << 1) | static_cast<std::uint64_t>(d);
  const auto it = streams_.find(key);
  if (it == streams_.end()) return;
  Stream& s = *it->second;
  if (s.kind == Stream::Kind::kEncoder) encoder_gone(d);
  end_body(s, false);
  forget(key);
}

// Reads a stream's bytes; `s` may be gone when it returns (the stream ended).
void Http3Connection::read(Stream& s, std::span<const std::uint8_t> bytes, bool fin) {
  for (;;) {
    if (s.stopped) break;
    if (s.blocked) {
      hold(s, bytes, fin);
      return;
    }
    if (s.in_frame && s.left == 0) {
      frame_end(s);
      continue;
    }
    if (bytes.empty()) break;
    switch (s.kind) {
      case Stream::Kind::kSkip:
        bytes = {};
        break;
      case Stream::Kind::kUniType:
        stream_type(s, bytes);
        break;
      case Stream::Kind::kEncoder:
        encoder_bytes(s.d, bytes);
        bytes = {};
        break;
      default:
        if (s.in_frame) frame_payload(s, bytes);
        else frame_header(s, bytes);
        break;
    }
  }
  if (!fin) return;
  if (!s.stopped) {
    if (s.in_frame || s.hdr_len != 0) {
      stop_stream(s, "malformed");  // the stream ended inside a frame (or its type)
    } else if (s.kind == Stream::Kind::kEncoder) {
      encoder_gone(s.d);  // a critical stream closed (RFC 9114 §6.2.1): no more inserts
    } else if (s.phase != Stream::Phase::kHead) {
      end_body(s, true);
    }
  }
  forget(s.key);
}

// Copies bytes into s.hdr until the varint that starts at s.hdr[at] is whole.
static bool fill_varint(Http3Connection::Stream& s, std::size_t at, std::span<const std::uint8_t>& bytes) {
  for (;;) {
    const std::size_t want = s.hdr_len > at ? at + varint_size(s.hdr[at]) : at + 1;
    if (s.hdr_len >= want) return true;
    if (bytes.empty()) return false;
    const std::size_t n = std::min(want - s.hdr_len, bytes.size());
    std::copy_n(bytes.begin(), n, s.hdr + s.hdr_len);
    s.hdr_len += n;
    bytes = bytes.subspan(n);
  }
}

void Http3Connection::stream_type(Stream& s, std::span<const std::uint8_t>& bytes) {
  if (!fill_varint(s, 0, bytes)) return;
  core::ByteReader r(std::span<const std::uint8_t>(s.hdr, s.hdr_len));
  std::uint64_t type = 0;
  quic::read_varint(r, type);  // whole: fill_varint saw to it
  s.hdr_len = 0;
  Qpack::Side& q = qpack_->side[s.d];
  if (type == kControlStream) {
    s.kind = Stream::Kind::kControl;
  } else if (type == kEncoderStream) {
    if (q.encoder_seen) {  // a second encoder stream of one sender (RFC 9204 §4.2): not read
      s.kind = Stream::Kind::kSkip;
      stop_stream(s, "malformed");
      return;
    }
    q.encoder_seen = true;
    s.kind = Stream::Kind::kEncoder;
  } else {
    // Push streams (counted; a pushed response is not a request the app made), the QPACK decoder
    // stream (what the peer acknowledges changes nothing here), reserved and unknown types.
    if (type == kPushStream && s.d == 1) ++pushes_;
    s.kind = Stream::Kind::kSkip;
  }
}

void Http3Connection::frame_header(Stream& s, std::span<const std::uint8_t>& bytes) {
  if (!fill_varint(s, 0, bytes)) return;
  if (!fill_varint(s, varint_size(s.hdr[0]), bytes)) return;
  core::ByteReader r(std::span<const std::uint8_t>(s.hdr, s.hdr_len));
  std::uint64_t type = 0, length = 0;
  quic::read_varint(r, type);
  quic::read_varint(r, length);
  s.hdr_len = 0;
  s.in_frame = true;
  s.type = type;
  s.left = length;
  s.buffering = false;
  if (s.kind == Stream::Kind::kControl) {
    if (type == kData || type == kHeaders) return stop_stream(s, "malformed");  // not on a control stream (§7.2)
    if (type == kSettings) {
      if (length > kMaxSettingsFrame) return note("limit");  // skipped unread
      s.buffering = true;
    }
    return;
  }
  // A request stream: HEADERS (the request, or a response's interim and final heads, then
  // trailers), DATA; every other frame type is skipped by its length.
  if (type == kData) {
    if (s.phase != Stream::Phase::kBody) stop_stream(s, "malformed");  // before the head, or after trailers
    return;
  }
  if (type != kHeaders) return;
  if (s.phase == Stream::Phase::kTrailers) return stop_stream(s, "malformed");
  if (s.phase == Stream::Phase::kBody) {
    // Trailers: not decoded (a field section changes no QPACK state; RFC 9204 §2.1.1) and never
    // over the request's fields; skipped by length.
    s.phase = Stream::Phase::kTrailers;
    return;
  }
  if (length > kMaxHeaderFrame) return stop_stream(s, "limit");
  if (s.exchange == kNone) {
    const auto found = requests_.find(s.id);
    if (found != requests_.end()) {
      s.exchange = found->second;
    } else if (s.kind == Stream::Kind::kResponse) {
      s.kind = Stream::Kind::kSkip;  // a response whose request was not read: no exchange (as HTTP/2)
      s.in_frame = false;
      return;
    } else if (exchanges_.size() >= kMaxStreams) {
      ++dropped_;
      s.kind = Stream::Kind::kSkip;
      s.in_frame = false;
      return;
    } else {
      s.exchange = exchanges_.size();
      requests_.emplace(s.id, s.exchange);
      exchanges_.emplace_back();
    }
  }
  s.buffering = true;
}

void Http3Connection::frame_payload(Stream& s, std::span<const std::uint8_t>& bytes) {
  const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(s.left, bytes.size()));
  const std::span<const std::uint8_t> chunk = bytes.first(n);
  bytes = bytes.subspan(n);
  s.left -= n;
  if (s.buffering) {
    if (buffered_ + n > kMaxBufferedTotal) return stop_stream(s, "limit");
    s.block.insert(s.block.end(), chunk.begin(), chunk.end());
    buffered_ += n;
    return;
  }
  if (s.type == kData && s.body_begun) {
    Exchange* e = exchange(s);
    if (e != nullptr) e->body_bytes(s.d == 0, chunk, s.dec, keep_);
  }
}

void Http3Connection::frame_end(Stream& s) {
  s.in_frame = false;
  if (!s.buffering) return;
  s.buffering = false;
  if (s.kind == Stream::Kind::kControl) {
    if (!settings(s.d, s.block)) stop_stream(s, "malformed");
    release(s);
    return;
  }
  s.block_pos = 0;
  if (header_block(s)) return;
  // Blocked: the block and whatever follows it on the stream wait for the encoder stream.
  Qpack::Side& q = qpack_->side[s.d];
  if (q.encoder_gone) return stop_stream(s, "qpack");  // it will never come
  if (q.blocked.size() >= kMaxBlockedStreams) return stop_stream(s, "limit");
  s.blocked = true;
  q.blocked.push_back(s.key);
}

bool Http3Connection::settings(int d, std::span<const std::uint8_t> payload) {
  core::ByteReader r(payload);
  bool found = false;
  std::uint64_t capacity = 0;  // the default when the setting is absent (RFC 9204 §5)
  while (r.remaining() > 0) {
    std::uint64_t id = 0, value = 0;
    if (!quic::read_varint(r, id) || !quic::read_varint(r, value)) return false;
    if (id == kSettingsQpackMaxTableCapacity && !found) {
      found = true;
      capacity = value;
    }
  }
  // d's SETTINGS describe d's decoder: the table the other side's header blocks may use.
  const int other = d ^ 1;
  Qpack::Side& q = qpack_->side[other];
  if (q.settings) return true;  // the first SETTINGS count
  q.settings = true;
  const std::size_t cap = static_cast<std::size_t>(std::min<std::uint64_t>(capacity, kMaxTableCapacity));
  if (q.dec == nullptr) {
    q.capacity = cap;
  } else if (!q.fed && !q.bad && cap != q.capacity) {
    // The decoder was made before these SETTINGS were read, for blocks that used no table: made
    // again with the right capacity, the blocked blocks read again from their start.
    nghttp3_qpack_decoder_del(q.dec);
    q.dec = nullptr;
    q.capacity = cap;
    for (const std::uint64_t key : q.blocked) {
      const auto it = streams_.find(key);
      if (it == streams_.end() || it->second->sctx == nullptr) continue;
      nghttp3_qpack_stream_context_reset(it->second->sctx);
      it->second->block_pos = 0;
    }
    resume_blocked(other);
  }
  return true;
}

void Http3Connection::qpack_failed(int d) {
  Qpack::Side& q = qpack_->side[d];
  q.bad = true;
  note("qpack");
  const std::vector<std::uint64_t> waiting = q.blocked;
  for (const std::uint64_t key : waiting) {
    const auto it = streams_.find(key);
    if (it != streams_.end()) stop_stream(*it->second, "qpack");
  }
}

void Http3Connection::encoder_gone(int d) {
  Qpack::Side& q = qpack_->side[d];
  q.encoder_gone = true;
  const std::vector<std::uint64_t> waiting = q.blocked;
  for (const std::uint64_t key : waiting) {
    const auto it = streams_.find(key);
    if (it != streams_.end()) stop_stream(*it->second, "qpack");
  }
}

void Http3Connection::encoder_bytes(int d, std::span<const std::uint8_t> bytes) {
  Qpack::Side& q = qpack_->side[d];
  if (q.bad || bytes.empty()) return;
  q.fed = true;
  nghttp3_qpack_decoder* dec = qpack_->decoder(d);
  if (dec == nullptr) return qpack_failed(d);
  const nghttp3_ssize n = nghttp3_qpack_decoder_read_encoder(dec, bytes.data(), bytes.size());
  if (n < 0 || static_cast<std::size_t>(n) != bytes.size()) return qpack_failed(d);
  resume_blocked(d);
}

void Http3Connection::resume_blocked(int d) {
  const std::vector<std::uint64_t> waiting = qpack_->side[d].blocked;
  for (const std::uint64_t key : waiting) {
    const auto it = streams_.find(key);
    if (it == streams_.end() || !it->second->blocked) continue;
    Stream& s = *it->second;
    s.blocked = false;  // header_block() may block it again (it then stays in the list)
    if (!header_block(s)) {
      s.blocked = true;
      continue;
    }
    auto& list = qpack_->side[d].blocked;
    list.erase(std::remove(list.begin(), list.end(), key), list.end());
    // The rest of the stream, held while it waited.
    std::vector<std::uint8_t> rest;
    rest.swap(s.held);
    buffered_ -= std::min(buffered_, rest.size());
    const bool fin = s.held_fin;
    s.held_fin = false;
    if (!s.stopped) read(s, rest, fin);
    else if (fin) forget(key);
  }
}

void Http3Connection::hold(Stream& s, std::span<const std::uint8_t> bytes, bool fin) {
  if (s.block.size() + s.held.size() + bytes.size() > kMaxHeldPerStream ||
      buffered_ + bytes.size() > kMaxBufferedTotal) {
    stop_stream(s, "limit");
    if (fin) forget(s.key);
    return;
  }
  s.held.insert(s.held.end(), bytes.begin(), bytes.end());
  buffered_ += bytes.size();
  s.held_fin = s.held_fin || fin;
}

bool Http3Connection::header_block(Stream& s) {
  Qpack::Side& q = qpack_->side[s.d];
  if (q.bad) {
    stop_stream(s, "qpack");
    return true;
  }
  nghttp3_qpack_decoder* dec = qpack_->decoder(s.d);
  if (dec == nullptr ||
      (s.sctx == nullptr &&
       nghttp3_qpack_stream_context_new(&s.sctx, static_cast<std::int64_t>(s.id), nghttp3_mem_default()) != 0)) {
    s.sctx = nullptr;
    stop_stream(s, "limit");  // out of memory
    return true;
  }
  const bool request = s.d == 0;
  Exchange* e = exchange(s);
  // The request's block; the response's first final one (1xx heads may come before it).
  const bool first = e != nullptr && (request ? e->method.empty() : e->status < 200);
  for (;;) {
    nghttp3_qpack_nv nv{};
    std::uint8_t flags = 0;
    const nghttp3_ssize n = nghttp3_qpack_decoder_read_request(
        dec, s.sctx, &nv, &flags, s.block.data() + s.block_pos, s.block.size() - s.block_pos, 1);
    if (n < 0) {
      qpack_failed(s.d);
      stop_stream(s, "qpack");
      return true;
    }
    s.block_pos += static_cast<std::size_t>(n);
    if ((flags & NGHTTP3_QPACK_DECODE_FLAG_EMIT) != 0) {
      if (e != nullptr && first) e->header_field(request, view(nv.name), view(nv.value));
      nghttp3_rcbuf_decref(nv.name);
      nghttp3_rcbuf_decref(nv.value);
    }
    if ((flags & NGHTTP3_QPACK_DECODE_FLAG_BLOCKED) != 0) return false;
    if ((flags & NGHTTP3_QPACK_DECODE_FLAG_FINAL) != 0) break;
    if (n == 0 && flags == 0) {  // no progress: cannot happen with the whole block given; never spin
      stop_stream(s, "qpack");
      return true;
    }
  }
  qpack_->drain(s.d);
  nghttp3_qpack_stream_context_del(s.sctx);
  s.sctx = nullptr;
  buffered_ -= std::min(buffered_, s.block.size());
  s.block = {};
  s.block_pos = 0;
  if (e == nullptr) return true;
  if (request || e->status >= 200) {
    if (first) {
      e->body_begin(request, s.dec);
      s.body_begun = true;
    }
    s.phase = Stream::Phase::kBody;
  }
  return true;
}

}  // namespace flowaudit::analysis::http
