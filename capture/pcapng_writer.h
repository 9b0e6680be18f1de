// Writes what a live capture saw as pcapng (written by hand: libpcap's dumper writes only classic
// pcap). Each block is flushed to the kernel as soon as it is written, so that even a kill -9
// leaves a file that replays up to its last packet.
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>

#include "core/output_file.h"
#include "core/timestamp.h"

namespace flowaudit::capture {

class PcapngWriter {
 public:
  PcapngWriter() = default;
  ~PcapngWriter();
  PcapngWriter(const PcapngWriter&) = delete;
  PcapngWriter& operator=(const PcapngWriter&) = delete;

  // Creates the file (mode 0600: it holds everything the app sent) with a section header and one
  // interface (nanosecond timestamps). False and a one-line `error` naming the path otherwise.
  bool open(const std::string& path, std::uint32_t link_type, std::uint32_t snaplen, const std::string& if_name,
            std::string& error);
  // One Enhanced Packet Block; `comment`, when not empty, is stored as its opt_comment (used to
  // record which process a flow belongs to). False when the write failed (disk full): the caller
  // stops writing and says so.
  bool write(core::TimestampNs ts, std::uint32_t orig_len, std::span<const std::uint8_t> data,
             const std::string& comment = {});
  // One Decryption Secrets Block of NSS key log lines (each ending in a newline), so that readers
  // find the keys before the packets written after it. False when the write failed.
  bool write_tls_keys(std::string_view key_log_lines);
  [[nodiscard]] std::uint64_t secrets_blocks() const noexcept { return secrets_blocks_; }
  [[nodiscard]] bool is_open() const noexcept { return file_ != nullptr; }
  [[nodiscard]] std::uint64_t packets() const noexcept { return packets_; }
  // Bytes in the file so far (whole blocks only), and where the data of the next packet written
  // will start: after its Enhanced Packet Block's 28-byte header. Reports point into the file with it.
  [[nodiscard]] std::uint64_t bytes() const noexcept { return bytes_; }
  [[nodiscard]] std::uint64_t next_data_offset() const noexcept { return bytes_ + 28; }
  [[nodiscard]] const std::string& error() const noexcept { return error_; }
  void close();

 private:
  // Completes the block in buffer_ (its total length) and writes it; false (and error_) on failure.
  bool emit();
  core::OutputFile out_;
  std::FILE* file_ = nullptr;  // out_.file() while writing
  std::string path_;
  std::string error_;
  std::string buffer_;  // one block, reused
  std::uint64_t packets_ = 0;
  std::uint64_t secrets_blocks_ = 0;
  std::uint64_t bytes_ = 0;
};

}  // namespace flowaudit::capture
