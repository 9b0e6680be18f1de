// Ethernet frames through an Auditor, one nanosecond apart, as one input: the
// whole pipeline for unit tests that build their packets by hand.
#pragma once

#include <cstdint>
#include <vector>

#include "analysis/audit.h"
#include "unit/packet_builder.h"

namespace flowaudit::test {

inline analysis::AuditResult audit_frames(const std::vector<Bytes>& frames, analysis::AuditOptions options = {}) {
  analysis::Auditor a(options);
  capture::RawPacket p;
  std::int64_t ts = 1000;
  for (const auto& f : frames) {
    p.ts_ns = ts++;
    p.link_type = 1;  // Ethernet
    p.orig_len = static_cast<std::uint32_t>(f.size());
    p.data = f.span();
    a.process(p, 0);
  }
  return a.finish({});
}

// The details of the flows that have some, in flow order (pointers into `r`).
inline std::vector<const analysis::app::FlowDetails*> flow_details(const analysis::AuditResult& r) {
  std::vector<const analysis::app::FlowDetails*> out;
  for (const auto& f : r.flows) {
    if (f.details) out.push_back(&*f.details);
  }
  return out;
}

}  // namespace flowaudit::test
