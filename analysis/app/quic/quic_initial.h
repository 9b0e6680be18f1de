// QUIC Initial packets (RFC 9000/9001 v1, RFC 9369 v2, draft-29): header protection removed and
// payload decrypted with the initial secrets derived from the client's Destination Connection ID
// (HKDF-SHA256, AES-128-ECB, AES-128-GCM through OpenSSL's libcrypto); CRYPTO frames from one or
// more Initial packets reassembled, in any order, until the ClientHello is complete.
// Also the SNI of Google QUIC (Q046/Q050/T051) client hellos where they are in clear.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "analysis/app/parse_status.h"
#include "analysis/app/quic/initial_protection.h"
#include "core/fixed_list.h"

namespace flowaudit::analysis::quic {

inline constexpr std::uint32_t kVersion1 = 0x00000001;
inline constexpr std::uint32_t kVersion2 = 0x6b3343cf;
inline constexpr std::uint32_t kDraft29 = 0xff00001d;

// True when the datagram starts with a QUIC long header (fixed bit set) of any version.
bool is_long_header(std::span<const std::uint8_t> datagram) noexcept;
// The version field of a long-header packet at the start of `packet` (RFC 8999 §5.1); 0 (the
// version of Version Negotiation, never a connection's) for a short header or too few bytes.
std::uint32_t long_header_version(std::span<const std::uint8_t> packet) noexcept;

// Collects the client's Initial CRYPTO data of one connection. Keys come from the Destination
// Connection ID of the first client Initial and are kept for the connection's later Initials (which
// may carry another DCID once the server answered). An Initial those keys do not open and whose
// DCID differs is tried with keys from its own DCID: after a Retry the client protects its Initials
// with keys from the Retry's connection ID. An Initial in another version (after a Version
// Negotiation) starts the collection again in that version. Versions: v1, v2, drafts 22-34, mvfst's
// versions; at most kMaxVersionChanges changes of version and of keys each.
// Memory: one buffer of at most kMaxCryptoBytes, reserved on the first CRYPTO frame; packets are
// decrypted on the stack (at most kMaxPacketBytes each).
class InitialAssembler {
 public:
  static constexpr std::size_t kMaxCryptoBytes = 16 * 1024;
  static constexpr int kMaxPackets = 8;          // Initial packets decrypted per connection
  static constexpr std::size_t kMaxRanges = 32;  // disjoint CRYPTO ranges held at once
  static constexpr int kMaxVersionChanges = 2;

  enum class State {
    kCollecting,       // ClientHello not complete yet
    kComplete,         // client_hello() holds the whole handshake message
    kUnsupportedVersion,  // the first Initial's version is not one we read; a later Initial in
                          // another version (after Version Negotiation) may still be
    kUndecryptable,    // authentication failed or the packet is broken
    kGaveUp,           // not a client's Initial, or broken after decryption
    kLimit,            // decrypted, but the ClientHello is larger, or in more packets or pieces,
                       // than the limits below: a hello padded or split to hide its name
  };

  // Feeds one client->server UDP datagram (it may hold several coalesced QUIC packets).
  State feed(std::span<const std::uint8_t> datagram);

  // An assembler of the server's Initials of the connection `client` reads: the server's keys
  // from the DCID the client's keys came from, the version the client used, and a ServerHello
  // instead of a ClientHello. Null when `client` has no keys yet.
  static std::unique_ptr<InitialAssembler> for_server(const InitialAssembler& client);
  // A server's assembler after a Retry: its Initials are protected with keys from the Retry's
  // Source Connection ID. False (nothing changed) when no keys come of it.
  bool rekey_server(std::span<const std::uint8_t> retry_scid);
  // A server's assembler whose server answered in another version (compatible version negotiation,
  // RFC 9368 §2.3): its Initials use that version's salt and labels with the same connection ID.
  // False (nothing changed) for a version we do not read.
  bool change_server_version(std::uint32_t version);
  // The complete handshake message body once kComplete (ClientHello, or ServerHello for_server).
  [[nodiscard]] std::span<const std::uint8_t> hello() const noexcept { return client_hello(); }

  [[nodiscard]] State state() const noexcept { return state_; }
  [[nodiscard]] std::uint32_t version() const noexcept { return version_; }
  // At least one Initial of this connection was decrypted.
  [[nodiscard]] bool decrypted_any() const noexcept { return largest_pn_ >= 0; }
  // The complete ClientHello handshake message body (after its 4-byte header) once kComplete.
  [[nodiscard]] std::span<const std::uint8_t> client_hello() const noexcept;

 private:
  struct Range {
    std::uint32_t begin = 0;
    std::uint32_t end = 0;  // exclusive
  };
  State feed_packet(const LongHeader& header);
  State parse_frames(std::span<const std::uint8_t> payload);
  bool add_crypto(std::uint64_t offset, std::span<const std::uint8_t> data);
  State check_complete();
  bool use_keys(const VersionParams& params, std::span<const std::uint8_t> dcid);
  void restart_crypto() noexcept;

  State state_ = State::kCollecting;
  std::uint32_t version_ = 0;
  const VersionParams* params_ = nullptr;
  InitialOpener opener_;  // keys of the first Initial's DCID (or the Retry's), derived once
  core::FixedList<std::uint8_t, 20> key_dcid_;  // the DCID the keys come from
  InitialSecret initial_{};                     // extracted from key_dcid_: the server's keys come from it too
  int version_changes_ = 0;
  int key_changes_ = 0;
  std::uint8_t expected_message_ = 1;  // ClientHello; ServerHello for the server's side
  bool server_side_ = false;
  std::int64_t largest_pn_ = -1;
  std::vector<std::uint8_t> crypto_;     // CRYPTO stream bytes from offset 0 (holes are zero)
  core::FixedList<Range, kMaxRanges> ranges_;  // received, sorted, disjoint and not adjacent
  std::uint32_t hello_len_ = 0;          // body length once complete
  int packets_ = 0;
};

// What a server's datagram says about the connection's start: a Version Negotiation (long header,
// version 0, RFC 9000 §17.2.1) and the versions it lists, or a Retry (§17.2.5). At most
// kMaxOfferedVersions versions are kept; the rest are counted in versions_left_out.
inline constexpr std::size_t kMaxOfferedVersions = 16;
struct ServerStart {
  bool version_negotiation = false;
  core::FixedList<std::uint32_t, kMaxOfferedVersions> versions;
  std::size_t versions_left_out = 0;
  bool retry = false;
  core::FixedList<std::uint8_t, 20> retry_scid;  // the connection ID the client's Initials now use
};
// False when the datagram starts with neither.
bool read_server_start(std::span<const std::uint8_t> datagram, ServerStart& out) noexcept;

struct GquicHello {
  std::string version;  // "Q046", "Q050", "T051", ...
  std::string sni;
  std::string user_agent;  // UAID tag
};

// Reads the SNI of a Google QUIC client hello in one datagram (Q046 and older carry it in clear;
// Q050/T050/T051 in an Initial protected like IETF QUIC where peers can read it). kOk when the
// hello was found (sni may still be empty: not every CHLO has one), kNeedMore when it starts in
// this datagram but continues past it, kMalformed when this is no gQUIC client hello.
// Limits: 128 CHLO tags; sni and user_agent cut at 255 and 256 bytes.
app::ParseStatus parse_gquic_hello(std::span<const std::uint8_t> datagram, GquicHello& out);

}  // namespace flowaudit::analysis::quic
