#include "analysis/app/quic/quic_initial.h"

#include <algorithm>
#include <array>

#include "core/byte_reader.h"

namespace flowaudit::analysis::quic {

namespace {

// Frame types an Initial packet may carry (RFC 9000 §12.4, Table 3).
namespace frame {
constexpr std::uint64_t kPadding = 0x00;
constexpr std::uint64_t kPing = 0x01;
constexpr std::uint64_t kAck = 0x02;
constexpr std::uint64_t kAckEcn = 0x03;
constexpr std::uint64_t kCrypto = 0x06;
constexpr std::uint64_t kConnectionClose = 0x1c;
}  // namespace frame

constexpr std::uint8_t kServerHello = 2;

}  // namespace

bool is_long_header(std::span<const std::uint8_t> datagram) noexcept {
  // First byte, version, and the two connection ID length bytes at least.
  return datagram.size() >= 7 && (datagram[0] & 0xc0) == 0xc0;
}

std::uint32_t long_header_version(std::span<const std::uint8_t> packet) noexcept {
  if (packet.size() < 5 || (packet[0] & 0x80) == 0) return 0;
  return (std::uint32_t{packet[1]} << 24) | (std::uint32_t{packet[2]} << 16) | (std::uint32_t{packet[3]} << 8) |
         packet[4];
}

bool read_server_start(std::span<const std::uint8_t> datagram, ServerStart& out) noexcept {
  out = ServerStart{};
  core::ByteReader in(datagram);
  // The version-independent part of the header (RFC 8999), as the Initial walk reads it.
  LongHeader header;
  if (read_long_header(in, nullptr, header, false) != HeaderStatus::kNotInitial) return false;
  const std::uint8_t first = header.first;
  const std::uint32_t version = header.version;
  if (version == 0) {
    // The rest is a list of 32-bit versions; anything else is not a Version Negotiation.
    if (in.remaining() == 0 || in.remaining() % 4 != 0) return false;
    std::uint32_t v = 0;
    while (in.read_u32be(v)) {
      if (!out.versions.push_back(v)) ++out.versions_left_out;
    }
    out.version_negotiation = true;
    return true;
  }
  const VersionParams* params = find_version_params(version);
  if (params == nullptr || params->gquic || (first & 0x40) == 0) return false;
  const std::uint8_t retry_type = params->initial_type == 0 ? 3 : 0;
  // A token and a 16-byte integrity tag at least.
  out.retry = ((first >> 4) & 0x03) == retry_type && in.remaining() > 16;
  if (out.retry) {
    for (const std::uint8_t b : header.scid) out.retry_scid.push_back(b);
  }
  return out.retry;
}

std::span<const std::uint8_t> InitialAssembler::client_hello() const noexcept {
  if (state_ != State::kComplete) return {};
  return std::span<const std::uint8_t>(crypto_).subspan(4, hello_len_);
}

bool InitialAssembler::use_keys(const VersionParams& params, std::span<const std::uint8_t> dcid) {
  InitialSecrets secrets;
  InitialSecret initial{};
  InitialOpener opener;
  if (!derive_client_initial_secrets(params, dcid, secrets, &initial) || !opener.init(secrets)) return false;
  opener_ = std::move(opener);
  initial_ = initial;
  key_dcid_.clear();
  for (const std::uint8_t b : dcid) key_dcid_.push_back(b);
  return true;
}

std::unique_ptr<InitialAssembler> InitialAssembler::for_server(const InitialAssembler& client) {
  if (client.params_ == nullptr || client.key_dcid_.empty()) return nullptr;
  InitialSecrets secrets;
  auto server = std::make_unique<InitialAssembler>();
  // The client's initial secret (from the same DCID) is the server's too: no second extract.
  if (!expand_server_initial_secrets(*client.params_, client.initial_, secrets) || !server->opener_.init(secrets)) {
    return nullptr;
  }
  server->params_ = client.params_;
  server->version_ = client.version_;
  server->key_dcid_ = client.key_dcid_;
  server->initial_ = client.initial_;
  server->expected_message_ = kServerHello;
  server->server_side_ = true;
  return server;
}

bool InitialAssembler::rekey_server(std::span<const std::uint8_t> retry_scid) {
  InitialSecrets secrets;
  InitialOpener opener;
  if (!server_side_ || params_ == nullptr || !derive_server_initial_secrets(*params_, retry_scid, secrets) ||
      !opener.init(secrets)) {
    return false;
  }
  opener_ = std::move(opener);
  key_dcid_.clear();
  for (const std::uint8_t b : retry_scid) key_dcid_.push_back(b);
  restart_crypto();
  return true;
}

bool InitialAssembler::change_server_version(std::uint32_t version) {
  const VersionParams* params = find_version_params(version);
  InitialSecrets secrets;
  InitialOpener opener;
  if (!server_side_ || params == nullptr || params->gquic || key_dcid_.empty() ||
      !derive_server_initial_secrets(*params, key_dcid_.view(), secrets) || !opener.init(secrets)) {
    return false;
  }
  opener_ = std::move(opener);
  params_ = params;
  version_ = version;
  largest_pn_ = -1;
  restart_crypto();
  return true;
}

void InitialAssembler::restart_crypto() noexcept {
  crypto_.clear();  // keeps its reservation
  ranges_.clear();
}

InitialAssembler::State InitialAssembler::feed(std::span<const std::uint8_t> datagram) {
  core::ByteReader in(datagram);
  // An Initial of a version we cannot read is answered by the server's Version Negotiation; the
  // client's next Initial, in a version both speak, is read as if it were the first.
  const bool was_unsupported = state_ == State::kUnsupportedVersion && params_ == nullptr;
  if (was_unsupported) state_ = State::kCollecting;
  while (state_ == State::kCollecting && in.remaining() > 0) {
    // The version decides where Initial's type bits are, so peek at it before reading the header.
    core::ByteReader peek = in;
    std::uint8_t first = 0;
    std::uint32_t version = 0;
    if (!peek.read_u8(first) || (first & 0x80) == 0) break;  // short header or padding ends the datagram
    if (!peek.read_u32be(version)) {
      if (packets_ == 0) state_ = State::kGaveUp;
      break;
    }
    const VersionParams* params = find_version_params(version);
    if (params != nullptr && params->gquic) params = nullptr;  // Google QUIC: parse_gquic_hello's job
    const bool trial = params == nullptr && params_ == nullptr && packets_ == 0 && reserved_version_trial(version) != nullptr;
    if (trial) params = reserved_version_trial(version);
    if (params_ == nullptr) {
      if (params == nullptr) {
        if (version != 0) {  // 0: version negotiation, not a client's
          state_ = State::kUnsupportedVersion;
          version_ = version;  // reported as the version that could not be read
        }
        break;
      }
    } else if (version != version_) {
      // The client changed version (after a Version Negotiation) before its hello was complete:
      // the hello is sent again in the new version, with keys from that Initial's DCID.
      if (server_side_ || params == nullptr || ++version_changes_ > kMaxVersionChanges) break;
      params_ = nullptr;
      largest_pn_ = -1;
      restart_crypto();
    }
    LongHeader header;
    const HeaderStatus status = read_long_header(in, params, header, server_side_);
    if (status == HeaderStatus::kNotInitial && !header.packet.empty()) continue;  // 0-RTT, Handshake
    if (status != HeaderStatus::kOk) {
      // A broken packet before anything was collected means this is not what we thought.
      if (status == HeaderStatus::kMalformed && packets_ == 0) state_ = State::kGaveUp;
      break;
    }
    if (params_ == nullptr) {
      if (!use_keys(*params, header.dcid)) {
        state_ = State::kGaveUp;
        break;
      }
      params_ = params;
      version_ = version;
    }
    state_ = feed_packet(header);
    if (trial && state_ == State::kUndecryptable) {
      // Not protected as we guessed: a version we cannot read after all.
      params_ = nullptr;
      largest_pn_ = -1;
      state_ = State::kUnsupportedVersion;
      break;
    }
  }
  // Nothing readable in this datagram (a short header, another unknown Initial): still unsupported.
  if (was_unsupported && params_ == nullptr && state_ == State::kCollecting) state_ = State::kUnsupportedVersion;
  return state_;
}

InitialAssembler::State InitialAssembler::feed_packet(const LongHeader& header) {
  if (++packets_ > kMaxPackets) return State::kLimit;
  std::array<std::uint8_t, kMaxPacketBytes> scratch;  // not zeroed: only written bytes are read
  std::span<const std::uint8_t> plaintext;
  std::uint64_t pn = 0;
  switch (opener_.open(header, largest_pn_, pn, scratch, plaintext)) {
    case OpenStatus::kOk:
      break;
    case OpenStatus::kAuthFailed: {
      // After a Retry the client's Initials are protected with keys from the Retry's connection ID,
      // which is the DCID of those Initials (RFC 9001 §5.2). Any other DCID change keeps the keys.
      if (server_side_ || std::equal(header.dcid.begin(), header.dcid.end(), key_dcid_.begin(), key_dcid_.end()) ||
          ++key_changes_ > kMaxVersionChanges) {
        return State::kUndecryptable;
      }
      InitialOpener previous = std::move(opener_);
      const auto previous_dcid = key_dcid_;
      const InitialSecret previous_initial = initial_;
      if (!use_keys(*params_, header.dcid) ||
          opener_.open(header, largest_pn_, pn, scratch, plaintext) != OpenStatus::kOk) {
        opener_ = std::move(previous);
        key_dcid_ = previous_dcid;
        initial_ = previous_initial;
        return State::kUndecryptable;
      }
      restart_crypto();  // the hello is sent again from offset 0 under the new keys
      break;
    }
    case OpenStatus::kMalformed:
      return State::kGaveUp;
  }
  largest_pn_ = std::max(largest_pn_, static_cast<std::int64_t>(pn));
  return parse_frames(plaintext);
}

InitialAssembler::State InitialAssembler::parse_frames(std::span<const std::uint8_t> payload) {
  core::ByteReader in(payload);
  while (in.remaining() > 0) {
    std::uint64_t type = 0;
    if (!read_varint(in, type)) return State::kGaveUp;
    if (type == frame::kPadding || type == frame::kPing) continue;
    if (type == frame::kAck || type == frame::kAckEcn) {
      if (!skip_ack(in, type == frame::kAckEcn)) return State::kGaveUp;
    } else if (type == frame::kCrypto) {
      std::uint64_t offset = 0;
      std::uint64_t length = 0;
      std::span<const std::uint8_t> data;
      if (!read_varint(in, offset) || !read_varint(in, length) || length > in.remaining() ||
          !in.read_bytes(static_cast<std::size_t>(length), data)) {
        return State::kGaveUp;
      }
      if (!add_crypto(offset, data)) return State::kLimit;  // too many disjoint pieces
    } else if (type == frame::kConnectionClose) {
      std::uint64_t reason_len = 0;
      if (!skip_varints(in, 2) || !read_varint(in, reason_len) || reason_len > in.remaining() ||
          !in.skip(static_cast<std::size_t>(reason_len))) {
        return State::kGaveUp;
      }
    } else {
      break;  // not allowed in Initial packets (or unknown): keep what was read, skip the rest
    }
  }
  return check_complete();
}

bool InitialAssembler::add_crypto(std::uint64_t offset, std::span<const std::uint8_t> data) {
  if (data.empty()) return true;
  if (offset >= kMaxCryptoBytes) return true;  // beyond the limit: check_complete() decides
  const std::size_t room = kMaxCryptoBytes - static_cast<std::size_t>(offset);
  if (data.size() > room) data = data.first(room);
  const auto begin = static_cast<std::uint32_t>(offset);
  const auto end = static_cast<std::uint32_t>(begin + data.size());
  if (crypto_.capacity() < kMaxCryptoBytes) crypto_.reserve(kMaxCryptoBytes);  // once per connection
  if (crypto_.size() < end) crypto_.resize(end);
  std::copy(data.begin(), data.end(), crypto_.begin() + begin);

  // Merge [begin, end) into the sorted, disjoint list: ranges it touches collapse into one.
  Range merged{begin, end};
  core::FixedList<Range, kMaxRanges> out;
  bool placed = false;
  for (const Range& r : ranges_) {
    if (r.end < merged.begin) {
      out.push_back(r);
    } else if (r.begin > merged.end) {
      if (!placed) {
        out.push_back(merged);
        placed = true;
      }
      if (!out.push_back(r)) return false;
    } else {
      merged.begin = std::min(merged.begin, r.begin);
      merged.end = std::max(merged.end, r.end);
    }
  }
  if (!placed && !out.push_back(merged)) return false;
  ranges_ = out;
  return true;
}

InitialAssembler::State InitialAssembler::check_complete() {
  if (ranges_.empty() || ranges_[0].begin != 0) return State::kCollecting;
  const std::uint32_t have = ranges_[0].end;
  if (have < 4) return State::kCollecting;
  if (crypto_[0] != expected_message_) return State::kGaveUp;  // the first message is the side's hello
  const std::uint32_t len = (std::uint32_t{crypto_[1]} << 16) | (std::uint32_t{crypto_[2]} << 8) | crypto_[3];
  if (len > kMaxCryptoBytes - 4) return State::kLimit;
  if (have < 4 + len) return State::kCollecting;
  hello_len_ = len;
  return State::kComplete;
}

}  // namespace flowaudit::analysis::quic
