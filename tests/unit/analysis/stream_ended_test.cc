// Auditor::take_ended (issue 19): a capture that tells its flows as they end hands each flow over
// exactly once, whether its record is kept, folded past --max-flow-records during the capture, or
// folded as the capture ends; DNS messages once each too.
#include <doctest/doctest.h>

#include <array>
#include <map>

#include "analysis/audit.h"

namespace flowaudit::analysis {
namespace {

// Ethernet + IPv4 + UDP with 4 payload bytes, 10.0.0.1:port -> 3.173.21.<host>:9999.
struct UdpFrame {
  std::array<std::uint8_t, 46> bytes = {
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00,                       // Ethernet
      0x45, 0, 0, 32, 0, 1, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 3, 173, 21, 1,  // IPv4
      0x9c, 0x40, 0x27, 0x0f, 0, 12, 0, 0,                                    // UDP
      'd', 'a', 't', 'a'};
  void set(std::uint16_t port, std::uint8_t host) {
    bytes[34] = static_cast<std::uint8_t>(port >> 8);
    bytes[35] = static_cast<std::uint8_t>(port);
    bytes[33] = host;
  }
};

void take(Auditor& auditor, std::map<std::uint64_t, int>& told) {
  const AuditResult part = auditor.take_ended(1000, false);
  for (const auto& f : part.flows) ++told[f.id];
}

void every_flow_once(std::size_t max_flow_records, bool folds) {
  CAPTURE(max_flow_records);
  AuditOptions options;
  options.max_flow_records = max_flow_records;
  Auditor auditor{options};
  auditor.stream_ended(true);
  UdpFrame frame;
  capture::RawPacket raw;
  raw.link_type = 1;
  raw.data = frame.bytes;
  raw.orig_len = frame.bytes.size();
  raw.ts_ns = core::TimestampNs{1'700'000'000} * core::kNsPerSecond;
  std::map<std::uint64_t, int> told;
  constexpr int kFlows = 60;
  for (int i = 0; i < kFlows; ++i) {
    frame.set(static_cast<std::uint16_t>(40000 + i), static_cast<std::uint8_t>(1 + i % 7));
    raw.ts_ns += core::kNsPerSecond;
    auditor.process(raw, 0);
    if (i % 5 == 4) {
      // Time passes without packets: the UDP flows (120 s idle) end; some records are folded.
      auditor.idle(raw.ts_ns + 200 * core::kNsPerSecond);
      raw.ts_ns += 200 * core::kNsPerSecond;
      if (i % 10 == 9) take(auditor, told);  // told only every other round: some are folded first
    }
  }
  // The last flows are still open when the capture ends.
  frame.set(50000, 9);
  raw.ts_ns += core::kNsPerSecond;
  auditor.process(raw, 0);
  take(auditor, told);
  const AuditResult r = auditor.finish({}, false);
  take(auditor, told);  // folded as the capture ended
  CHECK(r.total_flows() == kFlows + 1);
  CHECK((r.caps.flow_records_dropped > 0) == folds);
  CHECK(auditor.stream_overflow() == 0);
  // Every flow was told, once; the ones still open at the end are told by the end (only_open_flows).
  std::size_t open_at_end = 0;
  for (const auto& f : r.flows) {
    if (f.end == flow::FlowEnd::kActive) ++open_at_end;
  }
  std::size_t missing = 0;
  for (std::uint64_t id = 1; id <= kFlows + 1; ++id) {
    const auto it = told.find(id);
    if (it == told.end()) {
      ++missing;
    } else {
      CHECK(it->second == 1);
    }
  }
  CHECK(missing == open_at_end);
  if (!folds) CHECK(open_at_end == 1);
}

}  // namespace

TEST_CASE("take_ended: every flow once, kept or folded, during the capture and as it ends") {
  every_flow_once(4, true);
  every_flow_once(1000, false);
}

}  // namespace flowaudit::analysis
