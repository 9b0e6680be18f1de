// The audit clock: the "now" that idle expiry measures against. Capture timestamps are not a
// clock one can trust: files from different years are audited together, a device's clock is
// stepped back by NTP, captures from two devices are merged into one pcapng, a damaged packet is
// stamped 1970. The audit clock advances by the positive steps of each capture clock only, so a
// timestamp that goes back is a discontinuity (counted and listed here), never elapsed time.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/timestamp.h"

namespace flowaudit::analysis::flow {

// A step back of one capture clock by more than AuditClock::kReorderNs.
struct ClockJump {
  std::uint32_t input = 0;         // index of the input (Auditor inputs)
  std::uint64_t packet = 0;        // 1-based packet number within that input, as tshark counts
  std::uint32_t interface_id = 0;  // pcapng interface whose clock stepped
  core::TimestampNs from_ns = 0;   // the clock before the step (its latest timestamp)
  core::TimestampNs to_ns = 0;     // the packet's timestamp
  [[nodiscard]] std::uint64_t back_ns() const noexcept {
    return static_cast<std::uint64_t>(from_ns) - static_cast<std::uint64_t>(to_ns);  // from_ns > to_ns
  }
};

struct ClockStats {
  static constexpr std::size_t kMaxListed = 8;
  std::uint64_t jumps_back = 0;           // steps back by more than kReorderNs
  core::TimestampNs largest_back_ns = 0;
  std::uint64_t reordered = 0;            // packets stamped before an earlier one, within kReorderNs
  // Steps forward longer than the longest idle timeout: every flow open then ends idle. A pause in
  // the traffic and a clock stepped forward look the same; so does the next of several files.
  std::uint64_t forward_gaps = 0;
  core::TimestampNs largest_forward_ns = 0;
  std::uint32_t clocks = 0;               // capture clocks seen (one per pcapng interface id)
  core::TimestampNs elapsed_ns = 0;       // how far the audit clock advanced from the first packet
  std::vector<ClockJump> listed;          // the first kMaxListed jumps back
  [[nodiscard]] bool any() const noexcept { return jumps_back + reordered + forward_gaps > 0; }
};

// The report's warnings for the jumps back: one line per listed jump (input, packet number, size,
// the two timestamps), then how many more. `input_paths[i]` names input i.
std::vector<std::string> clock_warnings(const ClockStats& stats, const std::vector<std::string>& input_paths);

// "3.0 years", "2.5 h", "1.250 s": the size of a step, for a reader.
std::string format_duration(std::uint64_t ns);

class AuditClock {
 public:
  // Out-of-order stamping (several capture queues, a merge) moves a packet back by microseconds to
  // milliseconds; anything further back is a clock that jumped.
  static constexpr core::TimestampNs kReorderNs = core::kNsPerSecond;
  // Interface ids beyond this share the last clock (a pcapng may describe up to 1024).
  static constexpr std::size_t kMaxClocks = 64;

  explicit AuditClock(core::TimestampNs forward_gap_ns) : forward_gap_ns_(forward_gap_ns) {}

  // One packet, in the order read: its input, its pcapng interface and its timestamp. Returns the
  // audit clock after it (never less than before). Every packet is counted, whether it belongs to
  // a flow or not, so that the packet numbers of listed jumps are the capture's own.
  // Inline for the common case (the clock of the same input moving forward by less than the gap,
  // not on its way back from a jump); everything else, with the same result, in tick_slow().
  core::TimestampNs tick(core::TimestampNs ts, std::uint32_t input, std::uint32_t interface_id) noexcept {
    if (input == input_ && interface_id < kMaxClocks) {
      Source& s = sources_[interface_id];
      if (s.started && ts >= s.last && s.high == s.last) {
        const std::uint64_t step = static_cast<std::uint64_t>(ts) - static_cast<std::uint64_t>(s.last);
        if (step <= static_cast<std::uint64_t>(forward_gap_ns_) &&
            step < static_cast<std::uint64_t>(std::numeric_limits<core::TimestampNs>::max() - s.mono)) {
          ++packet_;
          s.high = ts;
          s.last = ts;
          s.mono += static_cast<core::TimestampNs>(step);
          if (s.mono > now_) now_ = s.mono;
          stats_.elapsed_ns = now_;
          return now_;
        }
      }
    }
    return tick_slow(ts, input, interface_id);
  }

  [[nodiscard]] core::TimestampNs now() const noexcept { return now_; }
  [[nodiscard]] const ClockStats& stats() const noexcept { return stats_; }

 private:
  // One capture clock (a pcapng interface; pcap has one). Its first packet starts it at the audit
  // clock's now: clocks of different devices are never compared with each other. The clocks of
  // later inputs continue those of earlier ones (interface 0 of a rotated file continues
  // interface 0 of the file before), so that files given together are one audit.
  struct Source {
    core::TimestampNs last = 0;  // its timestamp that the next step is measured from
    core::TimestampNs high = 0;  // its latest timestamp before any jump back
    core::TimestampNs mono = 0;  // the audit clock as this capture clock has moved it
    bool started = false;
  };

  core::TimestampNs tick_slow(core::TimestampNs ts, std::uint32_t input, std::uint32_t interface_id) noexcept;

  core::TimestampNs forward_gap_ns_;
  std::array<Source, kMaxClocks> sources_{};
  core::TimestampNs now_ = 0;
  std::uint32_t input_ = 0;
  std::uint64_t packet_ = 0;  // within input_
  ClockStats stats_;
};

}  // namespace flowaudit::analysis::flow
