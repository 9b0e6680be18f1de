#include "analysis/decrypt/tls_decryptor.h"

#include <algorithm>
#include <cstring>

#include "core/byte_reader.h"

namespace flowaudit::analysis::decrypt {

namespace {

constexpr std::uint8_t kChangeCipherSpec = 20;
constexpr std::uint8_t kAlert = 21;
constexpr std::uint8_t kHandshake = 22;
constexpr std::uint8_t kApplicationData = 23;
constexpr std::uint8_t kHeartbeat = 24;

// SHA-256("HelloRetryRequest"): the random of a ServerHello that is a HelloRetryRequest (RFC 8446 §4.1.3).
constexpr std::uint8_t kHelloRetryRandom[32] = {0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
                                                0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
                                                0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

}  // namespace

const char* to_string(DecryptStop s) noexcept {
  switch (s) {
    case DecryptStop::kNone: return "none";
    case DecryptStop::kNoKeys: return "no-keys";
    case DecryptStop::kMissingSecret: return "missing-secret";
    case DecryptStop::kUnsupportedVersion: return "unsupported-version";
    case DecryptStop::kUnsupportedSuite: return "unsupported-suite";
    case DecryptStop::kAuthFailed: return "authentication-failed";
    case DecryptStop::kMalformed: return "malformed";
    case DecryptStop::kLimit: return "limit";
  }
  return "none";
}

void TlsDecryptor::stop(std::uint8_t sender, DecryptStop why) noexcept {
  Direction& d = dir_[sender];
  if (d.stopped) return;
  d.stopped = true;
  facts_.stop[sender] = why;
  d.buffer.clear();
  d.buffer.shrink_to_fit();
  d.handshake.clear();
  d.handshake.shrink_to_fit();
}

void TlsDecryptor::on_stream(std::uint8_t sender, std::span<const std::uint8_t> bytes, PlaintextSink& sink) {
  sender &= 1;
  Direction& d = dir_[sender];
  if (d.stopped || bytes.empty()) return;
  d.buffer.insert(d.buffer.end(), bytes.begin(), bytes.end());
  const bool hello_before = facts_.hello_seen;
  process(sender, sink);
  // Client records held until the ServerHello said which keys they need; a direction waiting for
  // its keys tries again whenever the flow moves (the key log may have grown since).
  Direction& other = dir_[sender ^ 1];
  const bool hello_now = sender == 1 && !hello_before && facts_.hello_seen;
  if (!other.stopped && !other.buffer.empty() && (hello_now || other.waiting)) process(sender ^ 1, sink);
}

void TlsDecryptor::finish() noexcept {
  for (std::uint8_t s = 0; s < 2; ++s) {
    if (dir_[s].waiting) stop(s, DecryptStop::kNoKeys);
  }
}

void TlsDecryptor::process(std::uint8_t sender, PlaintextSink& sink) {
  Direction& d = dir_[sender];
  std::size_t pos = 0;
  while (!d.stopped && d.buffer.size() - pos >= 5) {
    const std::uint8_t* h = d.buffer.data() + pos;
    const std::uint8_t type = h[0];
    const auto version = static_cast<std::uint16_t>((h[1] << 8) | h[2]);
    const std::size_t len = static_cast<std::size_t>((h[3] << 8) | h[4]);
    if (type < kChangeCipherSpec || type > kHeartbeat || len > kMaxRecordBuffer - 5) {
      stop(sender, DecryptStop::kMalformed);
      return;
    }
    if (d.buffer.size() - pos < 5 + len) break;
    // A client's protected record before the ServerHello (0-RTT): its keys depend on the suite the
    // server picks, so it waits, within kMaxHeldBytes.
    if (sender == 0 && type == kApplicationData && !facts_.hello_seen) break;
    // Keys are looked up when the first protected record needs them. In a live capture the app
    // writes its key log a moment after the packets go out: the record waits, within
    // kMaxHeldBytes, and finish() makes a wait that never ended a no-keys stop.
    const bool protects = type == kApplicationData || (type == kChangeCipherSpec && !tls13_);
    if (protects && d.phase == Phase::kClear && secrets_ == nullptr && facts_.hello_seen && client_random_seen_) {
      secrets_ = keys_->find(client_random_);
      if (secrets_ == nullptr) {
        d.waiting = true;
        break;
      }
    }
    d.waiting = false;
    const auto body = std::span<const std::uint8_t>(h + 5, len);
    pos += 5 + len;
    if (!one_record(sender, type, version, body, sink)) return;
  }
  if (d.stopped) return;
  d.buffer.erase(d.buffer.begin(), d.buffer.begin() + static_cast<std::ptrdiff_t>(pos));
  const std::size_t limit = facts_.hello_seen && !d.waiting ? kMaxRecordBuffer : kMaxHeldBytes;
  if (d.buffer.size() > limit) stop(sender, d.waiting ? DecryptStop::kNoKeys : DecryptStop::kLimit);
}

bool TlsDecryptor::install_keys(std::uint8_t sender) {
  Direction& d = dir_[sender];
  if (secrets_ == nullptr && client_random_seen_) secrets_ = keys_->find(client_random_);
  if (secrets_ == nullptr) {
    stop(sender, DecryptStop::kNoKeys);
    return false;
  }
  facts_.keys_found = true;
  if (suite_ == nullptr) {
    stop(sender, DecryptStop::kUnsupportedSuite);
    return false;
  }
  if (tls13_) {
    const Secret& hs = secrets_->get(sender == 0 ? SecretKind::kClientHandshake : SecretKind::kServerHandshake);
    const Secret& early = secrets_->get(SecretKind::kClientEarly);
    if (sender == 0 && early.present()) {
      // 0-RTT: early data first; the handshake keys take over when EndOfEarlyData is read, or
      // when a record does not open with the early keys (the server rejected early data, and the
      // client moved on: RFC 8446 §4.2.10). Both are authenticated; nothing is guessed.
      if (!d.opener.init_tls13(*suite_, early.view()) || (hs.present() && !d.next.init_tls13(*suite_, hs.view()))) {
        stop(sender, DecryptStop::kMissingSecret);
        return false;
      }
      d.phase = Phase::kEarly;
      return true;
    }
    if (!hs.present() || !d.opener.init_tls13(*suite_, hs.view())) {
      stop(sender, DecryptStop::kMissingSecret);
      return false;
    }
    d.phase = Phase::kHandshake;
    return true;
  }
  const Secret& master = secrets_->get(SecretKind::kMaster);
  if (!master.present()) {
    stop(sender, DecryptStop::kMissingSecret);
    return false;
  }
  const std::uint16_t version = facts_.version;
  const std::size_t mac = suite_->mac_len;
  const std::size_t key = suite_->key_len;
  const std::size_t iv = suite_->kind == RecordKind::kCbc ? (version < 0x0302 ? 16 : 0) : suite_->fixed_iv_len;
  std::array<std::uint8_t, 2 * (48 + 32 + 16)> block{};
  const std::size_t need = 2 * (mac + key + iv);
  if (!tls12_key_block(*suite_, version, master.view(), client_random_, server_random_, std::span(block.data(), need))) {
    stop(sender, DecryptStop::kMissingSecret);
    return false;
  }
  const std::size_t side = sender;  // 0: client_write_*, 1: server_write_*
  const std::uint8_t* p = block.data();
  const auto mac_key = std::span<const std::uint8_t>(p + side * mac, mac);
  const auto enc_key = std::span<const std::uint8_t>(p + 2 * mac + side * key, key);
  const auto iv_part = std::span<const std::uint8_t>(p + 2 * mac + 2 * key + side * iv, iv);
  if (!d.opener.init_tls12(*suite_, version, mac_key, enc_key, iv_part, etm_)) {
    stop(sender, DecryptStop::kUnsupportedSuite);
    return false;
  }
  d.phase = Phase::kApplication;
  return true;
}

bool TlsDecryptor::one_record(std::uint8_t sender, std::uint8_t type, std::uint16_t version,
                              std::span<const std::uint8_t> body, PlaintextSink& sink) {
  Direction& d = dir_[sender];
  if (d.phase == Phase::kClear) {
    if (type == kChangeCipherSpec) {
      // TLS 1.3's middlebox compatibility (RFC 8446 §D.4) is not a key change, nor is the one both
      // sides send around a HelloRetryRequest, before the real ServerHello; TLS 1.2's comes after it.
      if (tls13_ || !facts_.hello_seen) return true;
      return install_keys(sender);
    }
    if (type == kHandshake) {
      handshake_bytes(sender, body, false);
      return !d.stopped;
    }
    if (type == kAlert) return true;
    if (type != kApplicationData || !tls13_) {  // data before the keys change: not TLS as we know it
      stop(sender, DecryptStop::kMalformed);
      return false;
    }
    if (!install_keys(sender)) return false;  // TLS 1.3: protected records start after the hellos
  } else if (type == kChangeCipherSpec && tls13_) {
    return true;
  }
  facts_.protected_bytes[sender] += body.size();
  std::uint8_t inner = 0;
  OpenStatus st = d.opener.open(type, version, body, plain_, inner);
  if (st == OpenStatus::kAuthFailed && d.phase == Phase::kEarly && d.next.ready()) {
    d.opener = std::move(d.next);
    d.next = RecordOpener();
    d.phase = Phase::kHandshake;
    st = d.opener.open(type, version, body, plain_, inner);
  }
  if (st != OpenStatus::kOk) {
    stop(sender, st == OpenStatus::kAuthFailed ? DecryptStop::kAuthFailed : DecryptStop::kMalformed);
    return false;
  }
  ++facts_.records_opened[sender];
  facts_.opened_bytes[sender] += body.size();
  if (d.phase == Phase::kEarly) facts_.early_data = true;
  switch (inner) {
    case kApplicationData:
      facts_.app_bytes[sender] += plain_.size();
      if (!plain_.empty()) sink.on_plaintext(sender, plain_);
      break;
    case kHandshake:
      handshake_bytes(sender, plain_, true);
      break;
    default:  // alerts (close_notify), heartbeats
      break;
  }
  return !d.stopped;
}

void TlsDecryptor::handshake_bytes(std::uint8_t sender, std::span<const std::uint8_t> bytes, bool encrypted) {
  Direction& d = dir_[sender];
  if (d.skip_handshake > 0) {
    const std::size_t n = std::min(d.skip_handshake, bytes.size());
    d.skip_handshake -= n;
    bytes = bytes.subspan(n);
  }
  d.handshake.insert(d.handshake.end(), bytes.begin(), bytes.end());
  std::size_t pos = 0;
  while (!d.stopped && d.handshake.size() - pos >= 4) {
    const std::uint8_t* m = d.handshake.data() + pos;
    const std::size_t len = (static_cast<std::size_t>(m[1]) << 16) | (static_cast<std::size_t>(m[2]) << 8) | m[3];
    const std::size_t have = d.handshake.size() - pos - 4;
    if (len > kMaxHandshakeMessage) {
      // Certificate chains can be this long; flowaudit needs none of it here. Skip it.
      if (have >= len) {
        pos += 4 + len;
        continue;
      }
      d.skip_handshake = len - have;
      pos = d.handshake.size();
      break;
    }
    if (have < len) break;
    handshake_message(sender, m[0], std::span<const std::uint8_t>(m + 4, len), encrypted);
    pos += 4 + len;
  }
  if (d.stopped) return;
  d.handshake.erase(d.handshake.begin(), d.handshake.begin() + static_cast<std::ptrdiff_t>(pos));
}

void TlsDecryptor::handshake_message(std::uint8_t sender, std::uint8_t type, std::span<const std::uint8_t> body,
                                     bool encrypted) {
  Direction& d = dir_[sender];
  if (!encrypted) {
    if (type == 1 && sender == 0 && body.size() >= 34) {  // ClientHello: legacy_version, random
      std::memcpy(client_random_.data(), body.data() + 2, 32);
      client_random_seen_ = true;
    } else if (type == 2 && sender == 1) {
      server_hello(body);
    }
    return;
  }
  if (!tls13_) return;  // TLS 1.2: the encrypted Finished changes nothing more
  if (type == 20 && d.phase == Phase::kHandshake) {  // Finished: application keys from the next record
    const Secret& ap = secrets_->get(sender == 0 ? SecretKind::kClientTraffic : SecretKind::kServerTraffic);
    if (!ap.present() || !d.opener.init_tls13(*suite_, ap.view())) {
      stop(sender, DecryptStop::kMissingSecret);
      return;
    }
    d.phase = Phase::kApplication;
  } else if (type == 5 && sender == 0 && d.phase == Phase::kEarly) {  // EndOfEarlyData
    if (!d.next.ready()) {
      stop(sender, DecryptStop::kMissingSecret);
      return;
    }
    d.opener = std::move(d.next);
    d.next = RecordOpener();
    d.phase = Phase::kHandshake;
  } else if (type == 24 && d.phase == Phase::kApplication) {  // KeyUpdate
    if (!d.opener.update_tls13()) {
      stop(sender, DecryptStop::kMissingSecret);
      return;
    }
    ++facts_.key_updates;
  }
}

void TlsDecryptor::server_hello(std::span<const std::uint8_t> body) {
  core::ByteReader r(body);
  std::uint16_t legacy = 0;
  std::span<const std::uint8_t> random;
  std::uint8_t sid_len = 0;
  std::uint16_t suite = 0;
  std::uint8_t compression = 0;
  if (!r.read_u16be(legacy) || !r.read_bytes(32, random) || !r.read_u8(sid_len) || !r.skip(sid_len) ||
      !r.read_u16be(suite) || !r.read_u8(compression)) {
    stop(0, DecryptStop::kMalformed);
    stop(1, DecryptStop::kMalformed);
    return;
  }
  if (std::memcmp(random.data(), kHelloRetryRandom, 32) == 0) return;  // a second ClientHello follows
  std::uint16_t version = legacy;
  bool etm = false;
  std::uint16_t ext_len = 0;
  if (r.remaining() >= 2 && r.read_u16be(ext_len)) {
    core::ByteReader ext;
    if (r.sub_reader(ext_len, ext)) {
      while (ext.remaining() >= 4) {
        std::uint16_t et = 0;
        std::uint16_t el = 0;
        core::ByteReader data;
        if (!ext.read_u16be(et) || !ext.read_u16be(el) || !ext.sub_reader(el, data)) break;
        if (et == 43) {
          std::uint16_t v = 0;
          if (data.read_u16be(v)) version = v;
        } else if (et == 22) {
          etm = true;
        }
      }
    }
  }
  std::memcpy(server_random_.data(), random.data(), 32);
  facts_.hello_seen = true;
  facts_.version = version;
  facts_.suite = suite;
  tls13_ = version == 0x0304;
  etm_ = etm;
  if (version < 0x0301 || version > 0x0304) {
    stop(0, DecryptStop::kUnsupportedVersion);
    stop(1, DecryptStop::kUnsupportedVersion);
    return;
  }
  const SuiteInfo* s = find_suite(suite);
  if (s == nullptr || s->tls13 != tls13_) {
    stop(0, DecryptStop::kUnsupportedSuite);
    stop(1, DecryptStop::kUnsupportedSuite);
    return;
  }
  suite_ = s;
}

}  // namespace flowaudit::analysis::decrypt
