// Live capture from a network interface through libpcap (pcap_create / pcap_activate), in
// non-blocking mode so that an event loop can wait on its selectable descriptor and read whatever
// has arrived. Packets are handed over in blocks at least every kBlockTimeoutMs (TPACKET_V3 on
// Linux), not one by one (immediate mode): see open().
#pragma once

#include <pcap/pcap.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "capture/packet_source.h"

namespace flowaudit::capture {

struct LiveOptions {
  std::string interface;         // "any" captures on every interface (Linux cooked headers)
  int snaplen = 262144;          // bytes kept per packet
  int buffer_size = 8 << 20;     // kernel buffer, bytes
  bool promiscuous = false;      // off: only the audited machine's own traffic
  std::string filter;            // BPF, empty: everything
};

struct LiveStats {
  std::uint64_t received = 0;         // pcap_stats ps_recv
  std::uint64_t dropped = 0;          // ps_drop: the kernel buffer was full
  std::uint64_t interface_dropped = 0;  // ps_ifdrop: dropped by the interface or its driver
  bool available = false;
};

class LiveSource {
 public:
  // Longest wait before captured packets are handed over; the drain at stop waits this long for
  // the last block.
  static constexpr int kBlockTimeoutMs = 50;

  // Opens and activates the interface; nullptr and a one-line `error` (no permission, no such
  // interface with the list of those that exist, bad filter) otherwise.
  static std::unique_ptr<LiveSource> open(const LiveOptions& options, std::string& error);
  ~LiveSource();
  LiveSource(const LiveSource&) = delete;
  LiveSource& operator=(const LiveSource&) = delete;

  // A descriptor that becomes readable when packets are waiting.
  [[nodiscard]] int selectable_fd() const noexcept;
  [[nodiscard]] std::uint32_t link_type() const noexcept { return link_type_; }
  [[nodiscard]] int snaplen() const noexcept;
  [[nodiscard]] const SourceInfo& info() const noexcept { return info_; }

  // Hands every packet that has arrived (at most `max`) to `on_packet`; returns how many, or -1
  // when the capture failed (the interface went away): info().error says why.
  int dispatch(int max, const std::function<void(const RawPacket&)>& on_packet);

  [[nodiscard]] LiveStats stats() const;

 private:
  LiveSource() = default;
  pcap_t* pcap_ = nullptr;
  std::uint32_t link_type_ = 0;
  bool nanosecond_ = false;
  bool poll_first_ = false;  // NFLOG: blocking, read only when a message is waiting
  SourceInfo info_;
};

// Names of the interfaces libpcap can open, comma-separated (for error messages).
std::string interface_names();

}  // namespace flowaudit::capture
