// Follows the key log file that `flowaudit run` hands to the app (SSLKEYLOGFILE): the lines the
// app's TLS library appended since the last look, checked one by one, to be stored in the pcapng
// as Decryption Secrets Blocks. Written by hand: no library parses the NSS key log format.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace flowaudit::capture {

// An NSS key log line (without its newline): a known label, the client random (32 bytes, hex) and
// a secret of 16 to 64 bytes (hex); or an "RSA" line (8 bytes of encrypted premaster, 48-byte
// premaster). Comments and empty lines are not key lines.
[[nodiscard]] bool is_key_log_line(std::string_view line) noexcept;

class KeyLogTap {
 public:
  static constexpr std::size_t kMaxLine = 1024;
  static constexpr std::uint64_t kMaxBytes = 64ULL << 20;  // past this the file is no longer read

  KeyLogTap() = default;
  explicit KeyLogTap(int fd) : fd_(fd) {}
  ~KeyLogTap();
  KeyLogTap(const KeyLogTap&) = delete;
  KeyLogTap& operator=(const KeyLogTap&) = delete;

  // The complete, valid key lines appended since the last call, each ending in '\n' ("" if none).
  // Malformed lines are counted and left out; a line still being written waits for its newline.
  std::string take_new_lines();
  [[nodiscard]] bool active() const noexcept { return fd_ >= 0; }
  [[nodiscard]] std::uint64_t keys() const noexcept { return keys_; }
  [[nodiscard]] std::uint64_t malformed() const noexcept { return malformed_; }
  [[nodiscard]] bool limit_reached() const noexcept { return limit_reached_; }

 private:
  int fd_ = -1;
  std::uint64_t offset_ = 0;
  std::string partial_;
  bool skipping_ = false;  // inside a line longer than kMaxLine
  std::uint64_t keys_ = 0;
  std::uint64_t malformed_ = 0;
  bool limit_reached_ = false;
};

}  // namespace flowaudit::capture
