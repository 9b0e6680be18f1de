// Fuzz target: decrypted QUIC connections (QuicDecryptor: 1-RTT packets, frames, stream reassembly).
//
// An input is a list of records: [direction (1 byte: bit 0 = server, bit 1 = send as is),
// packet number (2 bytes), length (2 bytes, big-endian, clipped), bytes]. A record without bit 1 is
// a packet's plaintext FRAMES, sealed here with the keys of a fixed key log line (AES-128-GCM and
// header protection, as a peer would), so that the fuzzer reaches the frame walker and the
// per-stream reassembly through real decryption; a record with bit 1 is a raw datagram (long
// headers, coalesced packets, garbage). Both sides learn their 8-byte connection IDs from one
// Handshake-type long header each, fed first.
// Invariants: a stream's bytes come in order and never after its FIN, the facts' counts match
// what was delivered, and the budget is never exceeded.
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "analysis/app/quic/quic_decryptor.h"
#include "analysis/decrypt/key_log.h"
#include "analysis/decrypt/record_opener.h"
#include "core/byte_reader.h"
#include "fuzz_check.h"

using namespace flowaudit;
namespace q = analysis::quic;

namespace {

constexpr std::uint64_t kBudget = 1 << 16;

struct Keys {
  std::array<std::uint8_t, 16> key{};
  std::array<std::uint8_t, 12> iv{};
  std::array<std::uint8_t, 16> hp{};
  explicit Keys(std::uint8_t fill) {
    const std::array<std::uint8_t, 32> secret = [&] {
      std::array<std::uint8_t, 32> s{};
      s.fill(fill);
      return s;
    }();
    analysis::decrypt::expand_label("SHA256", secret, "quic key", key);
    analysis::decrypt::expand_label("SHA256", secret, "quic iv", iv);
    analysis::decrypt::expand_label("SHA256", secret, "quic hp", hp);
  }
};

std::vector<std::uint8_t> seal(const Keys& k, std::span<const std::uint8_t> dcid, std::uint16_t pn,
                               std::span<const std::uint8_t> frames) {
  // Short header, key phase 0, 2-byte packet number. Sized first and filled by index (GCC 12's
  // -Warray-bounds misreads insert() into a vector made from an initializer list).
  const std::size_t pn_offset = 1 + dcid.size();
  std::vector<std::uint8_t> p(pn_offset + 2);
  p[0] = 0x41;
  std::copy(dcid.begin(), dcid.end(), p.begin() + 1);
  p[pn_offset] = static_cast<std::uint8_t>(pn >> 8);
  p[pn_offset + 1] = static_cast<std::uint8_t>(pn);
  std::array<std::uint8_t, 12> nonce = k.iv;
  nonce[10] ^= static_cast<std::uint8_t>(pn >> 8);
  nonce[11] ^= static_cast<std::uint8_t>(pn);
  // At least 4 bytes of frames (PADDING), so that a header protection sample exists.
  std::vector<std::uint8_t> plain(frames.begin(), frames.end());
  if (plain.size() < 4) plain.resize(4, 0);
  std::vector<std::uint8_t> body(plain.size() + 16);
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  int len = 0;
  EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), nullptr, k.key.data(), nonce.data());
  EVP_EncryptUpdate(c, nullptr, &len, p.data(), static_cast<int>(p.size()));
  EVP_EncryptUpdate(c, body.data(), &len, plain.data(), static_cast<int>(plain.size()));
  EVP_EncryptFinal_ex(c, body.data() + len, &len);
  EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, body.data() + plain.size());
  EVP_CIPHER_CTX_free(c);
  p.resize(pn_offset + 2 + body.size());
  std::copy(body.begin(), body.end(), p.begin() + static_cast<std::ptrdiff_t>(pn_offset + 2));
  std::array<std::uint8_t, 16> mask{};
  c = EVP_CIPHER_CTX_new();
  EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), nullptr, k.hp.data(), nullptr);
  EVP_EncryptUpdate(c, mask.data(), &len, p.data() + pn_offset + 4, 16);
  EVP_CIPHER_CTX_free(c);
  p[0] = static_cast<std::uint8_t>(p[0] ^ (mask[0] & 0x1f));
  p[pn_offset] ^= mask[1];
  p[pn_offset + 1] ^= mask[2];
  return p;
}

struct Checker final : q::StreamSink {
  std::map<std::pair<bool, std::uint64_t>, std::uint64_t> delivered;
  std::map<std::pair<bool, std::uint64_t>, bool> closed;
  std::uint64_t total = 0;
  void on_stream(bool from_client, std::uint64_t id, std::span<const std::uint8_t> b, bool fin) override {
    const auto key = std::make_pair(from_client, id);
    FUZZ_CHECK(!closed[key]);
    FUZZ_CHECK(fin ? b.empty() : !b.empty());
    fuzz::touch(b.data(), b.size());
    delivered[key] += b.size();
    total += b.size();
    if (fin) closed[key] = true;
  }
  void on_stream_lost(bool from_client, std::uint64_t id) override {
    const auto key = std::make_pair(from_client, id);
    FUZZ_CHECK(!closed[key]);
    closed[key] = true;
  }
};

const analysis::decrypt::KeyLog& key_log() {
  static const analysis::decrypt::KeyLog log = [] {
    analysis::decrypt::KeyLog l;
    const std::string random(64, '0');
    l.add_line("CLIENT_TRAFFIC_SECRET_0 " + random + " " + std::string(64, '1'));
    l.add_line("SERVER_TRAFFIC_SECRET_0 " + random + " " + std::string(64, '2'));
    return l;
  }();
  return log;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Keys client(0x11);
  static const Keys server(0x22);
  static constexpr std::array<std::uint8_t, 8> kServerCid = {1, 2, 3, 4, 5, 6, 7, 8};
  static constexpr std::array<std::uint8_t, 8> kClientCid = {9, 10, 11, 12, 13, 14, 15, 16};
  const std::array<std::uint8_t, 32> random{};
  q::QuicDecryptor dec(key_log(), random, 1);
  dec.set_suite(0x1301);
  Checker sink;
  // Handshake-type long headers (v1 type 2) carrying each side's Source Connection ID.
  auto long_header = [](std::span<const std::uint8_t, 8> dcid, std::span<const std::uint8_t, 8> scid) {
    std::vector<std::uint8_t> h(6 + 8 + 1 + 8 + 1 + 20, 0);
    h[0] = 0xe0;  // long header, fixed bit, type 2 (Handshake in v1)
    h[4] = 1;     // version 1
    h[5] = 8;
    std::copy(dcid.begin(), dcid.end(), h.begin() + 6);
    h[14] = 8;
    std::copy(scid.begin(), scid.end(), h.begin() + 15);
    h[23] = 20;  // length: 20 bytes of payload, not opened
    return h;
  };
  dec.on_datagram(1, long_header(kClientCid, kServerCid), sink, kBudget);
  dec.on_datagram(0, long_header(kServerCid, kClientCid), sink, kBudget);

  core::ByteReader in(std::span<const std::uint8_t>(data, size));
  std::uint8_t flags = 0;
  std::uint16_t pn = 0;
  std::uint16_t len = 0;
  while (in.read_u8(flags) && in.read_u16be(pn) && in.read_u16be(len)) {
    std::span<const std::uint8_t> bytes;
    in.read_bytes(len < in.remaining() ? len : in.remaining(), bytes);
    const std::uint8_t sender = flags & 1;
    if ((flags & 2) != 0) {
      dec.on_datagram(sender, bytes, sink, kBudget);
    } else {
      const auto packet = seal(sender == 0 ? client : server, sender == 0 ? std::span(kServerCid) : std::span(kClientCid),
                               pn, bytes);
      dec.on_datagram(sender, packet, sink, kBudget);
    }
  }
  dec.finish(sink);
  const auto& f = dec.facts();
  FUZZ_CHECK(f.app_bytes[0] + f.app_bytes[1] == sink.total);
  FUZZ_CHECK(sink.total <= kBudget);
  FUZZ_CHECK(f.opened_bytes[0] <= f.protected_bytes[0]);
  FUZZ_CHECK(f.opened_bytes[1] <= f.protected_bytes[1]);
  for (const auto& [key, is_closed] : sink.closed) FUZZ_CHECK(is_closed);  // finish() closes every stream
  return 0;
}
