// A pcapng reader written by hand: libpcap 1.10's pcapng support rejects files whose interfaces have
// different link types and does not say which interface a packet came from, and both matter here
// (a capture of "any" plus a VPN tunnel, merged files). It reads blocks in place from a memory map,
// or from a stdio stream into one reusable buffer; every length is checked against the block and
// against fixed limits.
#pragma once

#include <cstdio>
#include <memory>
#include <vector>

#include "capture/byte_input.h"
#include "capture/packet_source.h"

namespace flowaudit::capture {

class PcapngReader final : public PacketSource {
 public:
  static constexpr std::uint32_t kMaxBlockLength = 16u << 20;  // 16 MiB
  static constexpr std::size_t kMaxInterfaces = 1024;

  // Takes ownership of `file` (closed in the destructor). `info` carries path and format.
  PcapngReader(std::FILE* file, SourceInfo info);
  // Reads the mapped file (its packets' data stays valid as long as the reader).
  PcapngReader(std::unique_ptr<MappedFile> map, SourceInfo info);
  ~PcapngReader() override = default;
  PcapngReader(const PcapngReader&) = delete;
  PcapngReader& operator=(const PcapngReader&) = delete;

  ReadStatus next(RawPacket& packet) override;
  [[nodiscard]] const SourceInfo& info() const override { return info_; }
  [[nodiscard]] std::uint64_t position() const noexcept override { return offset_; }
  void set_secrets_sink(SecretsSink sink) override { secrets_ = std::move(sink); }

  // Parses pcapng from memory (used by the fuzz target and tests); calls `on_packet` per packet.
  template <typename F>
  static SourceInfo read_all(std::FILE* file, SourceInfo info, F&& on_packet) {
    PcapngReader reader(file, std::move(info));
    RawPacket p;
    while (reader.next(p) == ReadStatus::kPacket) on_packet(p);
    return reader.info();
  }

 private:
  struct Interface {
    std::uint32_t link_type = 0;
    std::uint32_t snaplen = 0;
    // Timestamp units per second are 10^exp10 or 2^exp2.
    bool binary_resolution = false;
    std::uint8_t resolution_exponent = 6;
    std::int64_t offset_seconds = 0;
  };

  enum class BlockResult { kPacket, kSkipped, kEnd, kError };
  BlockResult read_block(RawPacket& packet);
  bool fail(const char* what, std::uint64_t at);
  bool read_rest_of_block(std::uint32_t len, std::uint32_t already_read, std::uint64_t at, bool section_header);
  bool parse_section_header(std::span<const std::uint8_t> body);
  bool parse_interface(std::span<const std::uint8_t> body, std::uint64_t at);
  BlockResult parse_packet(std::uint32_t type, std::span<const std::uint8_t> body, std::uint64_t at,
                           RawPacket& packet);
  [[nodiscard]] core::TimestampNs to_ns(const Interface& itf, std::uint64_t units) const;

  bool parse_secrets(std::span<const std::uint8_t> body, std::uint64_t at);

  SecretsSink secrets_;
  ByteInput input_;
  SourceInfo info_;
  std::span<const std::uint8_t> body_;  // the block being read, after its type and length
  std::vector<Interface> interfaces_;
  std::uint64_t offset_ = 0;  // of the next block in the stream
  // A simple packet block has no timestamp: it gets the previous packet's, so that it reads as
  // "no time passed" rather than as a clock jump back to 1970 (which an audit would warn about).
  core::TimestampNs last_ts_ = 0;
  bool big_endian_ = false;
  bool in_section_ = false;
  bool done_ = false;
};

}  // namespace flowaudit::capture
