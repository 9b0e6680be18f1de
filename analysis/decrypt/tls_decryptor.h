// A TLS connection decrypted with the secrets of a key log: the records of both directions in
// stream order, the hellos read in the clear (client and server random, version, suite,
// encrypt_then_mac), the handshake followed through its encrypted part (TLS 1.3 Finished and
// KeyUpdate; TLS 1.2 ChangeCipherSpec) so that each direction switches keys at the right record.
// Application data goes to a sink in order; nothing is guessed: a record that fails
// authentication stops its direction with a reason, and so do missing keys, an unsupported suite
// or a framing error.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "analysis/decrypt/decrypt_facts.h"
#include "analysis/decrypt/key_log.h"
#include "analysis/decrypt/record_opener.h"

namespace flowaudit::analysis::decrypt {

class PlaintextSink {
 public:
  virtual ~PlaintextSink() = default;
  // Decrypted application data of `sender` (0: client, 1: server), in stream order.
  virtual void on_plaintext(std::uint8_t sender, std::span<const std::uint8_t> data) = 0;
};

class TlsDecryptor {
 public:
  static constexpr std::size_t kMaxRecordBuffer = 5 + 16384 + 2048;
  static constexpr std::size_t kMaxHeldBytes = 64 * 1024;      // client records held until the ServerHello
  static constexpr std::size_t kMaxHandshakeMessage = 64 * 1024;

  explicit TlsDecryptor(const KeyLog& keys) : keys_(&keys) {}

  void on_stream(std::uint8_t sender, std::span<const std::uint8_t> bytes, PlaintextSink& sink);
  // The flow ended or stopped being read: a direction still waiting for its keys stops with no-keys.
  void finish() noexcept;
  [[nodiscard]] const DecryptFacts& facts() const noexcept { return facts_; }
  [[nodiscard]] bool stopped(std::uint8_t sender) const noexcept { return dir_[sender & 1].stopped; }

 private:
  enum class Phase : std::uint8_t { kClear, kEarly, kHandshake, kApplication };
  struct Direction {
    std::vector<std::uint8_t> buffer;  // bytes of an incomplete record (or held client records)
    std::vector<std::uint8_t> handshake;  // an incomplete handshake message
    std::size_t skip_handshake = 0;       // bytes left of an over-long message, skipped
    Phase phase = Phase::kClear;
    RecordOpener opener;
    RecordOpener next;        // TLS 1.3 client: handshake keys while early data is tried
    bool stopped = false;
    bool waiting = false;     // a protected record waits for keys not in the log yet (live capture)
  };

  void process(std::uint8_t sender, PlaintextSink& sink);
  bool one_record(std::uint8_t sender, std::uint8_t type, std::uint16_t version, std::span<const std::uint8_t> body,
                  PlaintextSink& sink);
  void handshake_bytes(std::uint8_t sender, std::span<const std::uint8_t> bytes, bool encrypted);
  void handshake_message(std::uint8_t sender, std::uint8_t type, std::span<const std::uint8_t> body, bool encrypted);
  void server_hello(std::span<const std::uint8_t> body);
  bool install_keys(std::uint8_t sender);
  void stop(std::uint8_t sender, DecryptStop why) noexcept;

  const KeyLog* keys_;
  const TlsSecrets* secrets_ = nullptr;
  const SuiteInfo* suite_ = nullptr;
  std::array<std::uint8_t, 32> client_random_{};
  std::array<std::uint8_t, 32> server_random_{};
  bool client_random_seen_ = false;
  bool etm_ = false;
  bool tls13_ = false;
  Direction dir_[2];
  std::vector<std::uint8_t> plain_;  // reused for each record
  DecryptFacts facts_;
};

}  // namespace flowaudit::analysis::decrypt
