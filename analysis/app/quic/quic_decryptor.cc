#include "analysis/app/quic/quic_decryptor.h"

#include <algorithm>

#include "analysis/app/quic/quic_initial.h"

namespace flowaudit::analysis::quic {

namespace {

// The suites a secret may belong to while the ServerHello is unknown: its length is the suite's
// hash length (RFC 8446 §B.4).
std::span<const std::uint16_t> candidate_suites(std::uint16_t known, std::size_t secret_len,
                                                std::array<std::uint16_t, 2>& storage) noexcept {
  if (known != 0) {
    storage[0] = known;
    return {storage.data(), 1};
  }
  if (secret_len == 48) {
    storage[0] = 0x1302;
    return {storage.data(), 1};
  }
  storage = {0x1301, 0x1303};
  return {storage.data(), 2};
}

}  // namespace

QuicDecryptor::QuicDecryptor(const decrypt::KeyLog& keys, std::span<const std::uint8_t, 32> client_random,
                             std::uint32_t version)
    : keys_(&keys), version_(version) {
  std::copy(client_random.begin(), client_random.end(), client_random_.begin());
  facts_.version = 0x0304;  // QUIC is TLS 1.3 (RFC 9001 §4.2)
}

void QuicDecryptor::set_suite(std::uint16_t suite) noexcept {
  if (suite_ != 0) return;
  suite_ = suite;
  facts_.suite = suite;
  facts_.hello_seen = true;
}

void QuicDecryptor::add_cid_length(std::uint8_t dir, std::size_t len) noexcept {
  auto& list = dir_[dir & 1].cid_lengths;
  if (len > 20 || std::find(list.begin(), list.end(), static_cast<std::uint8_t>(len)) != list.end()) return;
  list.push_back(static_cast<std::uint8_t>(len));
}

void QuicDecryptor::stop(std::uint8_t sender, decrypt::DecryptStop why) noexcept {
  Direction& d = dir_[sender & 1];
  if (d.stopped) return;
  d.stopped = true;
  facts_.stop[sender & 1] = why;
}

// Keys of `sender`'s 1-RTT packets (and the client's 0-RTT ones), once the key log has them. A key
// log followed live may get them after the first packets: looked up again until found.
bool QuicDecryptor::find_secrets() noexcept {
  if (secrets_ == nullptr) secrets_ = keys_->find(client_random_);
  if (secrets_ != nullptr) facts_.keys_found = true;
  return secrets_ != nullptr;
}

bool QuicDecryptor::install(std::uint8_t sender) {
  Direction& d = dir_[sender];
  if (d.one_rtt.ready()) return true;
  if (!find_secrets()) return false;
  const auto& secret = secrets_->get(sender == 0 ? decrypt::SecretKind::kClientTraffic
                                                 : decrypt::SecretKind::kServerTraffic);
  if (!secret.present()) return false;
  std::array<std::uint16_t, 2> storage{};
  const auto suites = candidate_suites(suite_, secret.size, storage);
  if (d.suite_try >= suites.size()) return false;
  if (!d.one_rtt.init(suites[d.suite_try], version_, secret.view())) {
    stop(sender, suite_ != 0 ? decrypt::DecryptStop::kUnsupportedSuite : decrypt::DecryptStop::kMalformed);
    return false;
  }
  return true;
}

void QuicDecryptor::on_datagram(std::uint8_t sender, std::span<const std::uint8_t> datagram, StreamSink& sink,
                                std::uint64_t budget) {
  sender &= 1;
  core::ByteReader in(datagram);
  // Coalesced packets (RFC 9000 §12.2): long-header packets carry their length; a short-header
  // packet runs to the end of the datagram.
  for (int packets = 0; in.remaining() > 0 && packets < 16; ++packets) {
    const auto rest = in.rest();
    if ((rest[0] & 0x80) == 0) {
      short_packet(sender, rest, sink, budget);
      return;
    }
    const std::uint32_t version = long_header_version(rest);
    const VersionParams* params = find_version_params(version);
    LongHeader h;
    const HeaderStatus st = read_long_header(in, params, h, true);
    if (st == HeaderStatus::kMalformed || params == nullptr || h.packet.empty()) return;  // VN, Retry, unknown
    // The peer addresses this endpoint with the connection ID it chose: its length is what short
    // headers towards it carry.
    add_cid_length(sender ^ 1, h.scid.size());
    if (version != version_ && sender == 1) version_ = version;  // compatible version negotiation (RFC 9368)
    long_packet(sender, h, sink, budget);
  }
}

void QuicDecryptor::long_packet(std::uint8_t sender, const LongHeader& h, StreamSink& sink, std::uint64_t budget) {
  const VersionParams* params = find_version_params(h.version);
  const std::uint8_t zero_rtt_type = static_cast<std::uint8_t>((params->initial_type + 1) & 0x03);
  if (sender != 0 || h.type != zero_rtt_type) return;  // Initial and Handshake: the Initial reader's
  Direction& d = dir_[0];
  facts_.protected_bytes[0] += h.packet.size();
  if (d.stopped) return;
  if (!d.early.ready()) {
    if (!find_secrets()) return;
    const auto& secret = secrets_->get(decrypt::SecretKind::kClientEarly);
    if (!secret.present()) return;  // 0-RTT without its secret: counted as protected, not opened
    std::array<std::uint16_t, 2> storage{};
    const auto suites = candidate_suites(suite_, secret.size, storage);
    if (!d.early.init(suites[0], h.version, secret.view())) return;
  }
  std::uint64_t pn = 0;
  std::span<const std::uint8_t> plain;
  if (d.early.open_long(h, d.largest, scratch_, pn, plain) != OpenStatus::kOk) {
    failed(0);
    return;
  }
  facts_.early_data = true;
  opened(0, pn, h.packet, plain, sink, budget);
}

void QuicDecryptor::short_packet(std::uint8_t sender, std::span<const std::uint8_t> packet, StreamSink& sink,
                                 std::uint64_t budget) {
  Direction& d = dir_[sender];
  facts_.protected_bytes[sender] += packet.size();
  if (d.stopped || !install(sender)) return;
  for (;;) {
    for (const std::uint8_t cid_len : d.cid_lengths) {
      std::uint64_t pn = 0;
      std::span<const std::uint8_t> plain;
      bool update = false;
      if (d.one_rtt.open_short(packet, cid_len, d.largest, scratch_, pn, plain, update) == OpenStatus::kOk) {
        d.suite_fixed = true;
        if (suite_ == 0) {
          facts_.suite = d.one_rtt.suite();  // known from the packets themselves
          facts_.hello_seen = true;
        }
        if (update) ++facts_.key_updates;
        opened(sender, pn, packet, plain, sink, budget);
        return;
      }
    }
    // While no packet authenticated, the next suite the secret allows is tried on the same packet.
    if (d.suite_fixed || suite_ != 0) break;
    ++d.suite_try;
    d.one_rtt = OneRttOpener();
    if (!install(sender)) break;
  }
  if (!d.suite_fixed && suite_ == 0) {  // start again with the first suite on the next packet
    d.suite_try = 0;
    d.one_rtt = OneRttOpener();
  }
  failed(sender);
}

void QuicDecryptor::failed(std::uint8_t sender) {
  // A stateless reset looks like a short-header packet and never authenticates; so do packets of a
  // connection ID length not seen yet. Only a run of failures stops the direction.
  if (++dir_[sender].failures >= kMaxAuthFailures) stop(sender, decrypt::DecryptStop::kAuthFailed);
}

void QuicDecryptor::opened(std::uint8_t sender, std::uint64_t pn, std::span<const std::uint8_t> packet,
                           std::span<const std::uint8_t> plaintext, StreamSink& sink, std::uint64_t budget) {
  Direction& d = dir_[sender];
  d.failures = 0;
  if (static_cast<std::int64_t>(pn) > d.largest) d.largest = static_cast<std::int64_t>(pn);
  ++facts_.records_opened[sender];
  facts_.opened_bytes[sender] += packet.size();
  sink_ = &sink;
  sender_ = sender;
  budget_ = budget;
  const FrameSummary s = walk_frames(plaintext, *this);
  sink_ = nullptr;
  if (s.new_connection_ids > 0) add_cid_length(sender ^ 1, s.new_cid_len);
  if (s.unknown_type) ++unknown_frames_;
  if (s.malformed) ++malformed_frames_;
  if (s.datagram) datagram_frames_ = true;
}

void QuicDecryptor::on_stream(const StreamFrame& frame) {
  if (sink_ == nullptr || dir_[sender_].stopped) return;
  const std::uint64_t key = (frame.stream_id << 1) | sender_;
  auto it = streams_.find(key);
  if (it == streams_.end()) {
    if (streams_.size() >= kMaxStreams) {
      ++dropped_streams_;
      return;
    }
    it = streams_.emplace(key, Stream{}).first;
    it->second.bytes.start(0);
  }
  Stream& s = it->second;
  if (s.ended) return;
  if (frame.fin) s.final_size = frame.offset + frame.data.size();
  const bool from_client = sender_ == 0;
  // The connection's budget is shared by its streams: this stream may deliver what is left of it.
  const std::uint64_t used = facts_.app_bytes[0] + facts_.app_bytes[1];
  const std::uint64_t left = budget_ > used ? budget_ - used : 0;
  const std::uint64_t stream_budget = s.bytes.delivered() + left;
  // Offsets beyond 4 GiB cannot be delivered within any budget: a sequence number of 32 bits suffices.
  const auto state = s.bytes.add(static_cast<std::uint32_t>(frame.offset), frame.data, stream_budget,
                                 [&](std::span<const std::uint8_t> b) {
                                   facts_.app_bytes[sender_] += b.size();
                                   sink_->on_stream(from_client, frame.stream_id, b, false);
                                 });
  if (state != flow::TcpStream::State::kOpen) {
    s.ended = true;
    sink_->on_stream_lost(from_client, frame.stream_id);
    if (facts_.app_bytes[0] + facts_.app_bytes[1] >= budget_) {
      stop(0, decrypt::DecryptStop::kLimit);
      stop(1, decrypt::DecryptStop::kLimit);
    }
    return;
  }
  if (s.final_size != UINT64_MAX && s.bytes.delivered() >= s.final_size) {
    s.ended = true;
    sink_->on_stream(from_client, frame.stream_id, {}, true);
  }
}

void QuicDecryptor::on_reset(std::uint64_t stream_id, std::uint64_t /*final_size*/) {
  if (sink_ == nullptr) return;
  const auto it = streams_.find((stream_id << 1) | sender_);
  if (it == streams_.end() || it->second.ended) return;
  it->second.ended = true;
  sink_->on_stream_lost(sender_ == 0, stream_id);
}

void QuicDecryptor::finish(StreamSink& sink) noexcept {
  for (std::uint8_t s = 0; s < 2; ++s) {
    if (dir_[s].stopped) continue;
    if (facts_.records_opened[s] > 0 || facts_.protected_bytes[s] == 0) continue;
    // Protected packets were seen and none opened: say why.
    if (secrets_ == nullptr) {
      stop(s, decrypt::DecryptStop::kNoKeys);
    } else if (!secrets_->get(s == 0 ? decrypt::SecretKind::kClientTraffic : decrypt::SecretKind::kServerTraffic)
                    .present()) {
      stop(s, decrypt::DecryptStop::kMissingSecret);
    } else {
      stop(s, decrypt::DecryptStop::kAuthFailed);
    }
  }
  for (auto& [key, stream] : streams_) {
    if (stream.ended) continue;
    stream.ended = true;
    sink.on_stream_lost((key & 1) == 0, key >> 1);
  }
}

}  // namespace flowaudit::analysis::quic
