// IPv4 and IPv6 fragment reassembly within fixed limits: a cap on datagrams in progress, on bytes
// buffered across all of them, on fragments per datagram, and a timeout. Fragments are the uncommon
// path, so buffers are allocated per datagram here, never per ordinary packet.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "analysis/packet/anomaly.h"
#include "core/ip_address.h"
#include "core/timestamp.h"

namespace flowaudit::analysis::packet {

struct ReassemblyConfig {
  std::size_t memory_limit = 8u << 20;  // bytes buffered across all datagrams
  std::size_t max_datagrams = 1024;
  std::size_t max_fragments = 64;  // per datagram
  core::TimestampNs timeout_ns = 30 * core::kNsPerSecond;
};

struct FragmentKey {
  core::IpAddress src;
  core::IpAddress dst;
  std::uint32_t id = 0;
  std::uint8_t protocol = 0;
  friend bool operator==(const FragmentKey&, const FragmentKey&) = default;
};

class IpReassembler {
 public:
  explicit IpReassembler(const ReassemblyConfig& config) : config_(config) {}

  // Adds one fragment. Returns true when the datagram is complete: then `datagram` is the whole
  // upper-layer payload (valid until the next call), `fragments` and `wire_bytes` what it was made of.
  bool add(const FragmentKey& key, std::uint32_t offset, bool more, std::span<const std::uint8_t> payload,
           std::uint32_t wire_bytes, core::TimestampNs now, std::span<const std::uint8_t>& datagram,
           std::uint32_t& fragments, std::uint64_t& total_wire_bytes, AnomalyCounters& anomalies);

  [[nodiscard]] std::size_t pending() const noexcept { return pending_.size(); }
  // The end of the input: every datagram still waiting for fragments is counted as timed out
  // (kFragmentTimeout), so that one whose pieces never came is a warning, not silence.
  void expire_all(AnomalyCounters& anomalies);
  [[nodiscard]] std::size_t buffered_bytes() const noexcept { return buffered_; }

 private:
  struct Range {
    std::uint32_t begin;
    std::uint32_t end;
  };
  struct Pending {
    FragmentKey key;
    core::TimestampNs first_seen = 0;
    std::uint32_t total = 0;  // known once the last fragment arrives
    bool have_total = false;
    std::uint32_t fragments = 0;
    std::uint64_t wire_bytes = 0;
    std::vector<std::uint8_t> data;
    std::vector<Range> ranges;  // sorted, non-overlapping
  };

  void drop(std::size_t index);
  void expire(core::TimestampNs now, AnomalyCounters& anomalies);

  ReassemblyConfig config_;
  std::vector<Pending> pending_;
  std::vector<std::uint8_t> done_;
  std::size_t buffered_ = 0;
};

}  // namespace flowaudit::analysis::packet
