#include "analysis/flow/audit_clock.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace flowaudit::analysis::flow {
namespace {

// Timestamps from a damaged file can be anywhere in the int64 range: differences are unsigned.
std::uint64_t distance(core::TimestampNs from, core::TimestampNs to) noexcept {
  return static_cast<std::uint64_t>(to) - static_cast<std::uint64_t>(from);
}

core::TimestampNs advance(core::TimestampNs mono, std::uint64_t step) noexcept {
  constexpr auto kMax = std::numeric_limits<core::TimestampNs>::max();
  const auto room = static_cast<std::uint64_t>(kMax - mono);  // mono is never negative
  return step >= room ? kMax : mono + static_cast<core::TimestampNs>(step);
}

core::TimestampNs clamp_ns(std::uint64_t v) noexcept {
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<core::TimestampNs>::max());
  return static_cast<core::TimestampNs>(std::min(v, kMax));
}

}  // namespace

core::TimestampNs AuditClock::tick_slow(core::TimestampNs ts, std::uint32_t input, std::uint32_t interface_id) noexcept {
  if (input != input_) {
    input_ = input;
    packet_ = 0;
  }
  ++packet_;
  const std::size_t index = std::min<std::size_t>(interface_id, kMaxClocks - 1);
  Source& s = sources_[index];
  if (!s.started) {
    s = Source{ts, ts, now_, true};
    ++stats_.clocks;
    return now_;
  }
  if (ts < s.last) {
    const std::uint64_t back = distance(ts, s.last);
    if (back <= static_cast<std::uint64_t>(kReorderNs)) {
      // Measured from the latest timestamp still, so that reordering costs no time either.
      ++stats_.reordered;
      return now_;
    }
    ++stats_.jumps_back;
    stats_.largest_back_ns = std::max(stats_.largest_back_ns, clamp_ns(back));
    if (stats_.listed.size() < ClockStats::kMaxListed) {
      stats_.listed.push_back(ClockJump{input_, packet_, interface_id, s.last, ts});
    }
    s.last = ts;
    return now_;
  }
  std::uint64_t step = distance(s.last, ts);
  if (s.last < s.high && (ts >= s.high || distance(ts, s.high) <= static_cast<std::uint64_t>(kReorderNs))) {
    // Back on the timeline the clock had jumped back from (a stray packet stamped in the past, an
    // NTP step undone): only the time past its latest timestamp is new. Otherwise a jump back
    // and the return from it would expire every open flow.
    step = ts > s.high ? distance(s.high, ts) : 0;
  }
  s.high = std::max(s.high, ts);
  s.last = ts;
  if (step > static_cast<std::uint64_t>(forward_gap_ns_)) {
    ++stats_.forward_gaps;
    stats_.largest_forward_ns = std::max(stats_.largest_forward_ns, clamp_ns(step));
  }
  s.mono = advance(s.mono, step);
  now_ = std::max(now_, s.mono);
  stats_.elapsed_ns = now_;
  return now_;
}


std::string format_duration(std::uint64_t ns) {
  const double s = static_cast<double>(ns) / static_cast<double>(core::kNsPerSecond);
  if (s >= 365.25 * 86400) return fmt::format("{:.1f} years", s / (365.25 * 86400));
  if (s >= 2 * 86400) return fmt::format("{:.1f} days", s / 86400);
  if (s >= 3600) return fmt::format("{:.1f} h", s / 3600);
  if (s >= 60) return fmt::format("{:.1f} min", s / 60);
  return fmt::format("{:.3f} s", s);
}

std::vector<std::string> clock_warnings(const ClockStats& stats, const std::vector<std::string>& input_paths) {
  std::vector<std::string> out;
  for (const ClockJump& j : stats.listed) {
    const std::string path = j.input < input_paths.size() ? input_paths[j.input] : fmt::format("input {}", j.input);
    const std::string itf = j.interface_id == 0 ? std::string() : fmt::format(" (interface {})", j.interface_id);
    // At an input's first packet the jump is between files: one given after a later one, or two
    // captures of overlapping times.
    const std::string what = j.packet == 1 && j.input > 0 ? "starts {} before the input before it ends"
                                                          : "the capture clock goes back {}";
    out.push_back(fmt::format("{}: packet {}{}: {} ({} -> {}); taken as a clock discontinuity, not as time "
                              "passing: no flow was expired or split by it",
                              path, j.packet, itf, fmt::format(fmt::runtime(what), format_duration(j.back_ns())),
                              core::format_iso8601(j.from_ns), core::format_iso8601(j.to_ns)));
  }
  if (stats.jumps_back > stats.listed.size()) {
    out.push_back(fmt::format("{} more clock jumps back not listed (largest {}; summary.clock counts them)",
                              stats.jumps_back - stats.listed.size(), format_duration(static_cast<std::uint64_t>(stats.largest_back_ns))));
  }
  return out;
}

}  // namespace flowaudit::analysis::flow
