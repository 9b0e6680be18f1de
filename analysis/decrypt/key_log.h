// The TLS secrets of a run, from NSS key log lines (SSLKEYLOGFILE): `--keylog FILE`, the Decryption
// Secrets Blocks of a pcapng, or the key log `flowaudit run` follows. Indexed by the ClientHello's
// random, the only thing a capture and a key log share. Secrets stay here: reports only ever learn
// whether a flow's keys were found. Written by hand: no library parses the NSS key log format.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace flowaudit::analysis::decrypt {

using ClientRandom = std::array<std::uint8_t, 32>;

// One secret of up to 64 bytes (SHA-384 is the largest hash of a TLS 1.3 suite; 48 bytes for a
// TLS 1.2 master secret).
struct Secret {
  std::array<std::uint8_t, 64> bytes{};
  std::uint8_t size = 0;
  [[nodiscard]] bool present() const noexcept { return size != 0; }
  [[nodiscard]] std::span<const std::uint8_t> view() const noexcept { return {bytes.data(), size}; }
};

enum class SecretKind : std::uint8_t {
  kMaster,                  // CLIENT_RANDOM: TLS 1.2 (and earlier) master secret
  kClientEarly,             // CLIENT_EARLY_TRAFFIC_SECRET (0-RTT)
  kClientHandshake,         // CLIENT_HANDSHAKE_TRAFFIC_SECRET
  kServerHandshake,         // SERVER_HANDSHAKE_TRAFFIC_SECRET
  kClientTraffic,           // CLIENT_TRAFFIC_SECRET_0
  kServerTraffic,           // SERVER_TRAFFIC_SECRET_0
  kCount
};

struct TlsSecrets {
  std::array<Secret, static_cast<std::size_t>(SecretKind::kCount)> secret;
  [[nodiscard]] const Secret& get(SecretKind k) const noexcept { return secret[static_cast<std::size_t>(k)]; }
};

// What reading one source of key lines found; `problems` holds the first few malformed lines as
// "line N: why" (never the line itself: it may hold a secret).
struct KeyLogLoad {
  std::uint64_t lines = 0;
  std::uint64_t keys = 0;        // key lines stored
  std::uint64_t ignored = 0;     // valid lines of labels that decrypt nothing here (exporter secrets, RSA)
  std::uint64_t malformed = 0;
  bool limit_reached = false;    // kMaxBytes or kMaxSessions crossed: later lines were not read
  std::vector<std::string> problems;
};

class KeyLog {
 public:
  static constexpr std::size_t kMaxLine = 1024;
  static constexpr std::uint64_t kMaxBytes = 256ULL << 20;   // one source
  static constexpr std::size_t kMaxSessions = 2'000'000;     // client randoms in all
  static constexpr std::size_t kMaxProblems = 5;

  // Adds the key lines of `text` (a whole file, or a Decryption Secrets Block). Comments and blank
  // lines are skipped.
  KeyLogLoad add_text(std::string_view text);
  // Adds one line (no newline); false if it is not a valid key line.
  bool add_line(std::string_view line);

  [[nodiscard]] const TlsSecrets* find(std::span<const std::uint8_t> client_random) const noexcept;
  [[nodiscard]] std::size_t sessions() const noexcept { return table_.size(); }
  [[nodiscard]] bool empty() const noexcept { return table_.empty(); }

 private:
  struct RandomHash {
    std::size_t operator()(const ClientRandom& r) const noexcept;
  };
  enum class LineResult { kStored, kIgnored, kMalformed, kFull };
  LineResult parse_line(std::string_view line, const char** why);

  std::unordered_map<ClientRandom, TlsSecrets, RandomHash> table_;
};

// Reads a key log file (at most KeyLog::kMaxBytes). Returns false with `error` set ("FILE: why")
// when it cannot be opened or read; `world_readable` says whether others may read it (a warning:
// a key log opens every recorded session).
bool load_key_log_file(const std::string& path, KeyLog& log, KeyLogLoad& load, bool& world_readable,
                       std::string& error);

}  // namespace flowaudit::analysis::decrypt
