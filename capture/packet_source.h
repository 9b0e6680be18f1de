// Where packets come from: a capture file or a live interface. One interface so that the analysis
// pipeline does not care which.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/timestamp.h"

namespace flowaudit::capture {

// A packet as read; `data` is valid only until the next call to next().
struct RawPacket {
  core::TimestampNs ts_ns = 0;
  std::uint32_t link_type = 0;     // LINKTYPE_* value (not the platform's DLT_*)
  std::uint32_t interface_id = 0;  // pcapng interface, 0 for pcap
  std::uint32_t orig_len = 0;      // length on the wire
  std::span<const std::uint8_t> data;
  // pcapng: the packet's first opt_comment (flowaudit records the process a flow belongs to
  // there); valid like `data`.
  std::string_view comment;
  // Where data[0] lies in the input, in bytes from its start, so that a report can point at the
  // packet in the capture file; 0 when unknown (a live capture): no file has packet data at 0.
  std::uint64_t data_offset = 0;
};

enum class ReadStatus { kPacket, kEnd, kError };

struct SourceInfo {
  std::string path;                       // as the user gave it ("-" for stdin)
  std::string format;                     // "pcap", "pcap-nsec", "pcapng"
  std::vector<std::uint32_t> link_types;  // LINKTYPE_* of every interface, in order of appearance
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;  // captured bytes
  bool complete = false;    // read to the end without error
  std::uint64_t secrets_blocks = 0;  // pcapng Decryption Secrets Blocks read
  std::string error;        // one line naming the file (and offset), empty when none
};

class PacketSource {
 public:
  virtual ~PacketSource() = default;
  // Never throws. After kError, info().error says what went wrong and no more packets come.
  virtual ReadStatus next(RawPacket& packet) = 0;
  [[nodiscard]] virtual const SourceInfo& info() const = 0;
  // Bytes of the input consumed so far (for progress); 0 when the source cannot tell.
  [[nodiscard]] virtual std::uint64_t position() const noexcept { return 0; }
  // Where TLS secrets found in the input go (pcapng Decryption Secrets Blocks of NSS key log
  // lines, in file order, so before the packets that need them); `at` is the block's offset.
  using SecretsSink = std::function<void(std::span<const std::uint8_t> key_log_text, std::uint64_t at)>;
  virtual void set_secrets_sink(SecretsSink /*sink*/) {}
};

}  // namespace flowaudit::capture
