// Test-only: builds protected QUIC Initial packets, the inverse of what InitialAssembler reads.
// Keys come from the library's own derivation (checked against the RFC vectors separately), the
// payload is sealed with OpenSSL's AES-128-GCM, and the header mask is the library's AES-ECB.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/app/quic/initial_protection.h"

namespace flowaudit::test {

inline std::vector<std::uint8_t> from_hex(std::string_view hex) {
  std::vector<std::uint8_t> out;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  int hi = -1;
  for (char c : hex) {
    const int v = nibble(c);
    if (v < 0) continue;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(hi * 16 + v));
      hi = -1;
    }
  }
  return out;
}

inline void put_varint(std::vector<std::uint8_t>& out, std::uint64_t v) {
  if (v < 0x40) {
    out.push_back(static_cast<std::uint8_t>(v));
  } else if (v < 0x4000) {
    out.push_back(static_cast<std::uint8_t>(0x40 | (v >> 8)));
    out.push_back(static_cast<std::uint8_t>(v));
  } else {
    out.push_back(static_cast<std::uint8_t>(0x80 | (v >> 24)));
    out.push_back(static_cast<std::uint8_t>(v >> 16));
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
  }
}

inline void put_bytes(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

// A CRYPTO frame (RFC 9000 §19.6).
inline std::vector<std::uint8_t> crypto_frame(std::uint64_t offset, std::span<const std::uint8_t> data,
                                              std::uint8_t type = 0x06) {
  std::vector<std::uint8_t> f{type};
  put_varint(f, offset);
  put_varint(f, data.size());
  put_bytes(f, data);
  return f;
}

struct InitialSpec {
  const analysis::quic::VersionParams* params = nullptr;
  std::vector<std::uint8_t> key_dcid;     // the DCID the keys come from (the connection's first)
  std::vector<std::uint8_t> header_dcid;  // the DCID in the header; key_dcid when empty
  std::vector<std::uint8_t> scid;
  std::vector<std::uint8_t> token;
  std::uint64_t pn = 0;
  std::size_t pn_len = 4;
  bool two_byte_length = true;  // the Length field as a 2-byte varint (as the RFC example does)
  bool server = false;          // the server's Initial: "server in" keys from key_dcid
  bool clear_fixed_bit = false; // RFC 9287 grease_quic_bit
};

// Seals `payload` into one Initial packet. Payloads shorter than the header protection sample
// needs are padded with PADDING frames.
inline std::vector<std::uint8_t> seal_initial(const InitialSpec& spec, std::vector<std::uint8_t> payload) {
  using namespace analysis::quic;
  if (payload.size() + spec.pn_len < 4) payload.resize(4 - spec.pn_len, 0);
  InitialSecrets secrets;
  const bool derived = spec.server ? derive_server_initial_secrets(*spec.params, spec.key_dcid, secrets)
                                   : derive_client_initial_secrets(*spec.params, spec.key_dcid, secrets);
  if (!derived) throw std::runtime_error("derive");
  const std::vector<std::uint8_t>& dcid = spec.header_dcid.empty() ? spec.key_dcid : spec.header_dcid;

  std::vector<std::uint8_t> pkt;
  pkt.push_back(static_cast<std::uint8_t>((spec.clear_fixed_bit ? 0x80 : 0xc0) | (spec.params->initial_type << 4) |
                                         (spec.pn_len - 1)));
  for (int i = 3; i >= 0; --i) pkt.push_back(static_cast<std::uint8_t>(spec.params->version >> (8 * i)));
  pkt.push_back(static_cast<std::uint8_t>(dcid.size()));
  put_bytes(pkt, dcid);
  pkt.push_back(static_cast<std::uint8_t>(spec.scid.size()));
  put_bytes(pkt, spec.scid);
  put_varint(pkt, spec.token.size());
  put_bytes(pkt, spec.token);
  const std::uint64_t length = spec.pn_len + payload.size() + 16;
  if (spec.two_byte_length && length < 0x4000) {
    pkt.push_back(static_cast<std::uint8_t>(0x40 | (length >> 8)));
    pkt.push_back(static_cast<std::uint8_t>(length));
  } else {
    put_varint(pkt, length);
  }
  const std::size_t pn_offset = pkt.size();
  for (std::size_t i = spec.pn_len; i-- > 0;) pkt.push_back(static_cast<std::uint8_t>(spec.pn >> (8 * i)));

  std::array<std::uint8_t, 12> nonce = secrets.iv;
  for (std::size_t i = 0; i < 8; ++i) nonce[11 - i] ^= static_cast<std::uint8_t>(spec.pn >> (8 * i));
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  std::vector<std::uint8_t> ct(payload.size() + 16);
  int len = 0;
  int fin = 0;
  const bool ok = EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), nullptr, secrets.key.data(), nonce.data()) == 1 &&
                  EVP_EncryptUpdate(ctx, nullptr, &len, pkt.data(), static_cast<int>(pkt.size())) == 1 &&
                  EVP_EncryptUpdate(ctx, ct.data(), &len, payload.data(), static_cast<int>(payload.size())) == 1 &&
                  EVP_EncryptFinal_ex(ctx, ct.data() + len, &fin) == 1 &&
                  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, ct.data() + payload.size()) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) throw std::runtime_error("seal");
  put_bytes(pkt, ct);

  InitialOpener opener;
  std::array<std::uint8_t, 16> mask{};
  if (!opener.init(secrets) ||
      !opener.header_mask(std::span<const std::uint8_t, 16>(pkt.data() + pn_offset + 4, 16), mask)) {
    throw std::runtime_error("mask");
  }
  pkt[0] = static_cast<std::uint8_t>(pkt[0] ^ (mask[0] & 0x0f));
  for (std::size_t i = 0; i < spec.pn_len; ++i) pkt[pn_offset + i] ^= mask[1 + i];
  return pkt;
}

inline std::vector<std::uint8_t> concat(std::initializer_list<std::span<const std::uint8_t>> parts) {
  std::vector<std::uint8_t> out;
  for (auto p : parts) put_bytes(out, p);
  return out;
}

}  // namespace flowaudit::test
