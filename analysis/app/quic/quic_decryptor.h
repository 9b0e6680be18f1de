// One QUIC connection decrypted with the TLS secrets of a key log (found by the ClientHello's
// random, as for TLS): 0-RTT and 1-RTT packets of both directions opened (OneRttOpener), their
// frames walked, and the STREAM data of each stream reassembled in order (flow::TcpStream with the
// stream offset as its sequence number) within per-connection limits, then handed to a sink
// (HTTP/3). Initial and Handshake packets are left to the Initial reader: they carry the TLS
// handshake, not requests. Nothing is guessed: a packet that does not authenticate is counted, and
// a direction whose packets keep failing stops with a reason.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "analysis/app/quic/frames.h"
#include "analysis/app/quic/one_rtt.h"
#include "analysis/decrypt/decrypt_facts.h"
#include "analysis/decrypt/key_log.h"
#include "analysis/flow/tcp_stream.h"
#include "core/fixed_list.h"

namespace flowaudit::analysis::quic {

class StreamSink {
 public:
  virtual ~StreamSink() = default;
  // Bytes of stream `id` sent by the client or the server, in stream order; `fin`: the stream ended.
  virtual void on_stream(bool from_client, std::uint64_t id, std::span<const std::uint8_t> bytes, bool fin) = 0;
  // The rest of the stream will not be delivered (reset, a gap past the reassembly limits, a budget).
  virtual void on_stream_lost(bool from_client, std::uint64_t id) = 0;
};

class QuicDecryptor final : private FrameVisitor {
 public:
  static constexpr std::size_t kMaxStreams = 4096;        // both directions; later streams are counted only
  static constexpr std::uint32_t kMaxAuthFailures = 16;  // in a row, per direction, before it stops
  static constexpr std::size_t kMaxCidLengths = 4;        // distinct connection ID lengths tried per direction

  // `version`: the QUIC version of the client's Initial (a server may switch to another compatible
  // version: set_version).
  QuicDecryptor(const decrypt::KeyLog& keys, std::span<const std::uint8_t, 32> client_random, std::uint32_t version);

  // The ServerHello's suite; without it the suites a secret's length allows are tried in turn.
  void set_suite(std::uint16_t suite) noexcept;

  // One UDP datagram of `sender` (0: client, 1: server), in capture order. `budget`: stream bytes
  // the connection may deliver in all; past it both directions stop with kLimit.
  void on_datagram(std::uint8_t sender, std::span<const std::uint8_t> datagram, StreamSink& sink, std::uint64_t budget);
  // The flow ended: directions still waiting for keys stop with no-keys; open streams are lost.
  void finish(StreamSink& sink) noexcept;

  [[nodiscard]] const decrypt::DecryptFacts& facts() const noexcept { return facts_; }
  [[nodiscard]] bool stopped(std::uint8_t sender) const noexcept { return dir_[sender & 1].stopped; }
  [[nodiscard]] std::uint64_t dropped_streams() const noexcept { return dropped_streams_; }
  [[nodiscard]] std::uint64_t undecodable_packets() const noexcept { return unknown_frames_ + malformed_frames_; }
  [[nodiscard]] bool datagrams_seen() const noexcept { return datagram_frames_; }

 private:
  struct Direction {
    OneRttOpener one_rtt;
    OneRttOpener early;  // client: 0-RTT
    std::int64_t largest = -1;
    std::uint8_t suite_try = 0;  // index into the candidate suites while none authenticated yet
    bool suite_fixed = false;
    bool stopped = false;
    std::uint32_t failures = 0;  // packets in a row that did not authenticate
    // Lengths of the connection IDs this direction's packets are addressed with (the receiver chose them).
    core::FixedList<std::uint8_t, kMaxCidLengths> cid_lengths;
  };
  struct Stream {
    flow::TcpStream bytes;
    std::uint64_t final_size = UINT64_MAX;
    bool ended = false;  // fin delivered, or lost
  };

  void long_packet(std::uint8_t sender, const LongHeader& h, StreamSink& sink, std::uint64_t budget);
  void short_packet(std::uint8_t sender, std::span<const std::uint8_t> packet, StreamSink& sink, std::uint64_t budget);
  bool install(std::uint8_t sender);
  void opened(std::uint8_t sender, std::uint64_t pn, std::span<const std::uint8_t> packet,
              std::span<const std::uint8_t> plaintext, StreamSink& sink, std::uint64_t budget);
  void failed(std::uint8_t sender);
  // The key log's secrets for this connection, looked up until found (a live key log fills later).
  bool find_secrets() noexcept;
  void add_cid_length(std::uint8_t dir, std::size_t len) noexcept;
  void stop(std::uint8_t sender, decrypt::DecryptStop why) noexcept;
  void on_stream(const StreamFrame& frame) override;
  void on_reset(std::uint64_t stream_id, std::uint64_t final_size) override;

  const decrypt::KeyLog* keys_;
  std::array<std::uint8_t, 32> client_random_{};
  std::uint32_t version_ = 0;
  std::uint16_t suite_ = 0;
  const decrypt::TlsSecrets* secrets_ = nullptr;
  Direction dir_[2];
  std::unordered_map<std::uint64_t, Stream> streams_;  // key: stream id * 2 + sender
  std::vector<std::uint8_t> scratch_;                  // plaintext of one packet, reused
  decrypt::DecryptFacts facts_;
  std::uint64_t dropped_streams_ = 0;
  std::uint64_t unknown_frames_ = 0;
  std::uint64_t malformed_frames_ = 0;
  bool datagram_frames_ = false;
  // While frames of one packet are walked: where their stream data goes.
  StreamSink* sink_ = nullptr;
  std::uint8_t sender_ = 0;
  std::uint64_t budget_ = 0;
};

}  // namespace flowaudit::analysis::quic
