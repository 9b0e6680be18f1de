// Every HTTP/3 request of one connection (RFC 9114), from the bytes of its QUIC streams, each in
// stream order (the QUIC layer decrypts and reassembles them). The frames and the unidirectional
// stream types are read here (varint type and length, RFC 9114 §7.1; no library reads a passive
// copy of both sides); header blocks are decoded by nghttp3's QPACK decoder (RFC 9204, Debian
// libnghttp3-dev), one per sender, fed by that sender's encoder stream, as the peers' own decoders
// would. An Exchange is filled exactly as Http2Connection fills it.
//
// Limits (each documented where it is defined): a HEADERS frame is buffered up to kMaxHeaderFrame;
// DATA and every other frame are streamed, never buffered; a QPACK dynamic table is at most
// kMaxTableCapacity; a header block that waits for encoder-stream bytes (blocked, RFC 9204 §2.1.2)
// is held with what follows it on its stream within kMaxHeldPerStream, kMaxBlockedStreams,
// and all streams together buffer at most kMaxBufferedTotal; at most kMaxOpenStreams streams are read at once.
//
// What stops what: a malformed frame or a crossed limit stops its stream only (QUIC streams are
// independent; the other streams go on). A QPACK error stops the header decoding of its sender for
// the rest of the connection (nghttp3 refuses to decode after any error, and RFC 9204 §2.2 makes
// every such error a connection error): that sender's later HEADERS stop their streams, bodies
// already begun are still counted. stopped() names the first reason of all.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "analysis/app/http/http1_connection.h"

namespace flowaudit::analysis::http {

class Http3Connection {
 public:
  static constexpr std::size_t kMaxHeaderFrame = 64 * 1024;  // a larger HEADERS frame stops its stream ("limit")
  static constexpr std::size_t kMaxStreams = 1024;           // exchanges per connection; later ones are counted in dropped()
  // The largest QPACK dynamic table decoded (per sender). The decoder's capacity is the one the
  // decoding peer announced in SETTINGS_QPACK_MAX_TABLE_CAPACITY when its SETTINGS were read before
  // the table was used (capped here), else this: an encoder that sets a larger table stops its
  // sender's decoding ("qpack"). Peers commonly announce 4 KiB (nginx) to 64 KiB.
  static constexpr std::size_t kMaxTableCapacity = 64 * 1024;
  // Blocked header blocks and the bytes after them on their streams, held until the encoder-stream
  // bytes they need arrive: per stream and how many streams at once. Past one, the stream stops
  // ("limit").
  static constexpr std::size_t kMaxHeldPerStream = 128 * 1024;
  static constexpr std::size_t kMaxBlockedStreams = 128;
  // What all streams together buffer: HEADERS frames being received and held blocked streams.
  static constexpr std::size_t kMaxBufferedTotal = 2 * 1024 * 1024;
  // Streams being read at once (request, response and unidirectional, both senders). A stream past
  // it is not read ("limit"); one whose state is gone (ended, lost) frees its place.
  static constexpr std::size_t kMaxOpenStreams = 4096;
  static constexpr std::size_t kMaxSettingsFrame = 4096;  // a larger SETTINGS frame is skipped unread

  Http3Connection();
  ~Http3Connection();
  Http3Connection(const Http3Connection&) = delete;
  Http3Connection& operator=(const Http3Connection&) = delete;

  // Bytes of one QUIC stream in stream order (the caller reassembles), sent by the client or the
  // server; `fin`: the stream ends with them. Client-initiated bidirectional streams (id % 4 == 0)
  // carry requests (client side) and responses (server side); unidirectional streams (id % 4 == 2
  // from the client, 3 from the server) start with a stream type: 0x00 control (SETTINGS read for
  // SETTINGS_QPACK_MAX_TABLE_CAPACITY, the rest skipped), 0x01 push (skipped, counted in pushes()),
  // 0x02 QPACK encoder (feeds the decoder of that sender's header blocks), 0x03 QPACK decoder
  // (ignored), reserved and unknown types (skipped to the end of the stream). Bytes on any other
  // stream (server-initiated bidirectional, or a stream the sender cannot have opened) are
  // "malformed" and not read.
  void on_stream(bool from_client, std::uint64_t stream_id, std::span<const std::uint8_t> bytes, bool fin);
  // The stream's remaining bytes will never come (a gap the reassembly could not fill, a reset, a
  // limit): its exchange is kept as far as it was read (a coded body ends "truncated"), its QPACK
  // stream state dropped (a blocked header block with it). Not a reason in stopped(): the caller
  // knows its gaps. Its state is gone, so bytes given for it afterwards would be read as a new
  // stream: give none. A lost encoder stream stops the blocked blocks of its sender ("qpack").
  void on_stream_lost(bool from_client, std::uint64_t stream_id);

  [[nodiscard]] std::vector<Exchange>& exchanges() noexcept { return exchanges_; }  // in the order requests started
  [[nodiscard]] std::uint64_t dropped() const noexcept { return dropped_; }
  [[nodiscard]] std::uint64_t pushes() const noexcept { return pushes_; }  // server push streams seen (not read)
  // "" while everything read; else the first reason something could not be read: "malformed",
  // "limit", "qpack" (a QPACK decoder error).
  [[nodiscard]] const char* stopped() const noexcept { return stopped_; }

  struct Stream;  // the read state of one stream of one sender (http3_connection.cc)
  struct Qpack;   // nghttp3's decoders, kept out of this header

 private:
  // The frame reader (hand-written: see the .cc). Each may stop the stream; read() may end it.
  void read(Stream& s, std::span<const std::uint8_t> bytes, bool fin);
  void stream_type(Stream& s, std::span<const std::uint8_t>& bytes);
  void frame_header(Stream& s, std::span<const std::uint8_t>& bytes);
  void frame_payload(Stream& s, std::span<const std::uint8_t>& bytes);
  void frame_end(Stream& s);
  bool settings(int d, std::span<const std::uint8_t> payload);  // false: malformed
  // QPACK: encoder-stream bytes of sender d; a header block (false while blocked); the blocked
  // blocks of d tried again; d's decoder failed; d's encoder stream ended.
  void encoder_bytes(int d, std::span<const std::uint8_t> bytes);
  bool header_block(Stream& s);
  void resume_blocked(int d);
  void qpack_failed(int d);
  void encoder_gone(int d);
  void hold(Stream& s, std::span<const std::uint8_t> bytes, bool fin);
  // Frees what a stream buffers; ends its body (complete: the stream ended where a message may).
  void release(Stream& s) noexcept;
  void end_body(Stream& s, bool complete);
  void stop_stream(Stream& s, const char* why);
  void forget(std::uint64_t key);
  void note(const char* why) noexcept;
  Exchange* exchange(const Stream& s) noexcept;

  std::unique_ptr<Qpack> qpack_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Stream>> streams_;  // key: id << 1 | sender
  std::unordered_map<std::uint64_t, std::size_t> requests_;            // request stream id -> index in exchanges_
  std::vector<Exchange> exchanges_;
  KeepBudget keep_;
  std::size_t buffered_ = 0;  // HEADERS and SETTINGS frames being received, held blocked streams: all streams
  bool streams_full_ = false;
  std::uint64_t dropped_ = 0;
  std::uint64_t pushes_ = 0;
  const char* stopped_ = "";
};

}  // namespace flowaudit::analysis::http
