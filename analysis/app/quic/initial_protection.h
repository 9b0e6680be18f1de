// Initial packet protection (RFC 9001 §5, RFC 9369 §3.3): the per-version salt and labels, the
// client's initial keys derived from the first Destination Connection ID, header protection
// removal and AEAD decryption of one long-header Initial packet. Shared by the IETF assembler and
// the Google QUIC versions (Q050, T050, T051) that protect their Initial packets the same way.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "core/byte_reader.h"

struct evp_cipher_ctx_st;  // OpenSSL's EVP_CIPHER_CTX, kept out of this header

namespace flowaudit::analysis::quic {

// What differs between versions for Initial packets.
struct VersionParams {
  std::uint32_t version = 0;
  std::span<const std::uint8_t, 20> salt;
  std::string_view key_label;  // "quic key" or "quicv2 key"
  std::string_view iv_label;
  std::string_view hp_label;
  std::uint8_t initial_type = 0;  // long-header type bits of Initial: 0 (v1), 1 (v2)
  bool gquic = false;             // Q050/T050/T051: Google QUIC frame types inside
};

// The parameters of a version whose Initial packets we can open, nullptr for any other.
const VersionParams* find_version_params(std::uint32_t version) noexcept;
// For a reserved version (0x?a?a?a?a), the parameters worth a try (draft-29's); nullptr otherwise.
// Only a successful decryption (the AEAD tag) says they were right.
const VersionParams* reserved_version_trial(std::uint32_t version) noexcept;

struct InitialSecrets {
  std::array<std::uint8_t, 16> key{};
  std::array<std::uint8_t, 12> iv{};
  std::array<std::uint8_t, 16> hp{};
};

// HKDF-Extract(salt, DCID): the initial secret both sides' keys are expanded from (RFC 9001 §5.2).
using InitialSecret = std::array<std::uint8_t, 32>;

// HKDF-Extract(salt, dcid), then HKDF-Expand-Label "client in", then key/iv/hp (RFC 9001 §5.2).
// `initial`, when given, receives the extracted secret, so that the server's keys need no second extract.
bool derive_client_initial_secrets(const VersionParams& params, std::span<const std::uint8_t> dcid,
                                   InitialSecrets& out, InitialSecret* initial = nullptr) noexcept;
// The same with "server in": the keys of the server's Initial packets (from the client's DCID).
bool derive_server_initial_secrets(const VersionParams& params, std::span<const std::uint8_t> dcid,
                                   InitialSecrets& out) noexcept;
// "server in" and key/iv/hp from an initial secret derive_client_initial_secrets extracted.
bool expand_server_initial_secrets(const VersionParams& params, const InitialSecret& initial,
                                   InitialSecrets& out) noexcept;

// TLS 1.3 HKDF-Expand-Label (RFC 8446 §7.1) with an empty context, SHA-256. Exposed for tests.
bool hkdf_expand_label(std::span<const std::uint8_t> secret, std::string_view label,
                       std::span<std::uint8_t> out) noexcept;

// The fields of one long-header packet (RFC 9000 §17.2); spans point into the datagram.
struct LongHeader {
  std::uint8_t first = 0;  // still protected
  std::uint32_t version = 0;
  std::uint8_t type = 0;  // bits 4-5 of the first byte, version-specific meaning
  std::span<const std::uint8_t> dcid;
  std::span<const std::uint8_t> scid;
  std::span<const std::uint8_t> packet;  // the whole packet, first byte to the end of its payload
  std::size_t pn_offset = 0;             // offset of the packet number within `packet`
};

enum class HeaderStatus {
  kOk,
  kNotLongHeader,  // a short header (or datagram padding): nothing more to walk in the datagram
  kNotInitial,     // a long-header packet of another type, skipped; `packet` is set when it has a length
  kMalformed,
};

// Reads one long-header packet at the reader's position and moves the reader past it. The type
// of Initial depends on the version, so `params` (nullptr when the version is unknown) says it.
// `greased_fixed_bit`: accept a clear fixed bit (RFC 9287: a peer that advertised grease_quic_bit
// may receive packets with it cleared; servers do so in their Initials).
HeaderStatus read_long_header(core::ByteReader& in, const VersionParams* params, LongHeader& out,
                              bool greased_fixed_bit = false) noexcept;

// RFC 9000 Appendix A.3: the full packet number nearest to largest + 1.
std::uint64_t decode_packet_number(std::int64_t largest, std::uint64_t truncated, std::size_t pn_len) noexcept;

// The largest protected packet we decrypt (plaintext is written to a buffer of this size on the
// stack). Client Initial packets are padded to 1200 bytes and sized by the path MTU, so real ones
// are far below; a larger one is treated as broken.
inline constexpr std::size_t kMaxPacketBytes = 4096;

enum class OpenStatus { kOk, kMalformed, kAuthFailed };

// One connection's client Initial keys with their OpenSSL contexts set up once, so that opening a
// packet neither derives nor allocates.
class InitialOpener {
 public:
  InitialOpener() noexcept;
  ~InitialOpener();
  InitialOpener(InitialOpener&&) noexcept;
  InitialOpener& operator=(InitialOpener&&) noexcept;
  InitialOpener(const InitialOpener&) = delete;
  InitialOpener& operator=(const InitialOpener&) = delete;

  bool init(const InitialSecrets& secrets) noexcept;
  [[nodiscard]] bool ready() const noexcept { return gcm_ != nullptr; }

  // Removes header protection, decodes the packet number (against `largest`, -1 when none yet) and
  // decrypts the payload into `scratch`; `plaintext` is the part of `scratch` written.
  OpenStatus open(const LongHeader& header, std::int64_t largest, std::uint64_t& packet_number,
                  std::span<std::uint8_t, kMaxPacketBytes> scratch,
                  std::span<const std::uint8_t>& plaintext) noexcept;

  // AES-128-ECB of the 16-byte sample with the header protection key (RFC 9001 §5.4.3).
  bool header_mask(std::span<const std::uint8_t, 16> sample, std::array<std::uint8_t, 16>& mask) noexcept;

 private:
  struct CtxDeleter {
    void operator()(evp_cipher_ctx_st* ctx) const noexcept;
  };
  std::unique_ptr<evp_cipher_ctx_st, CtxDeleter> gcm_;  // packet protection key set
  std::unique_ptr<evp_cipher_ctx_st, CtxDeleter> ecb_;  // header protection key set
  std::array<std::uint8_t, 12> iv_{};
};

// QUIC variable-length integer (RFC 9000 §16).
bool read_varint(core::ByteReader& in, std::uint64_t& v) noexcept;
// `n` varints skipped.
bool skip_varints(core::ByteReader& in, int n) noexcept;
// The fields of an ACK (ecn false) or ACK_ECN frame after its type (RFC 9000 §19.3), skipped; a
// range count the rest of the packet cannot hold is broken, not a long loop.
bool skip_ack(core::ByteReader& in, bool ecn) noexcept;

}  // namespace flowaudit::analysis::quic
