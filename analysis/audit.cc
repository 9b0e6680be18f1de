#include "analysis/audit.h"

#include <fmt/format.h>

#include <algorithm>
#include <new>

#include "capture/pcap_file_source.h"

namespace flowaudit::analysis {

Auditor::Auditor(AuditOptions options)
    : options_(std::move(options)), decoder_(options_.reassembly), table_(options_.flows) {}

void Auditor::process(const capture::RawPacket& raw, std::uint32_t input) noexcept {
  if (packets_ == 0 || raw.ts_ns < first_ns_) first_ns_ = raw.ts_ns;
  last_ns_ = std::max(last_ns_, raw.ts_ns);
  ++packets_;
  bytes_ += raw.data.size();
  packet::DecodedPacket p;
  if (decoder_.decode(raw, p) != packet::DecodeStatus::kTransport) return;
  try {
    std::uint8_t sender = 0;
    table_.update(p, input, sender);
  } catch (const std::bad_alloc&) {
    // Growth failed: keep counting packets, say so in the report.
    out_of_memory_ = true;
  }
}

capture::SourceInfo Auditor::run(capture::PacketSource& source, std::uint32_t input) {
  capture::RawPacket raw;
  while (source.next(raw) == capture::ReadStatus::kPacket) process(raw, input);
  return source.info();
}

AuditResult Auditor::finish(std::vector<capture::SourceInfo> inputs) {
  table_.finish();
  AuditResult r;
  r.inputs = std::move(inputs);
  r.flows = table_.finished();
  r.destinations = flow::aggregate_destinations(r.flows);
  r.decode = decoder_.counters();
  r.anomalies = decoder_.anomalies();
  r.flow_stats = table_.stats();
  r.packets = packets_;
  r.bytes = bytes_;
  r.first_ns = first_ns_;
  r.last_ns = last_ns_;

  for (const auto& in : r.inputs) {
    if (!in.error.empty()) r.warnings.push_back(in.error);
    for (const std::uint32_t lt : in.link_types) {
      if (!packet::is_supported_link_type(lt)) {
        r.warnings.push_back(fmt::format("{}: unsupported link type {}; its packets were counted, not analysed",
                                         in.path, capture::link_type_name(lt)));
      }
    }
  }
  if (r.flow_stats.evicted > 0) {
    r.warnings.push_back(fmt::format("flow table full: {} flows evicted early (raise --max-flows)",
                                     r.flow_stats.evicted));
  }
  if (out_of_memory_) r.warnings.push_back("out of memory while tracking flows: some packets were not tracked");
  const auto& a = r.anomalies.all();
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto kind = static_cast<packet::Anomaly>(i);
    if (a[i] == 0 || kind == packet::Anomaly::kUnsupportedLinkType) continue;
    r.warnings.push_back(fmt::format("{} packets with anomaly {}", a[i], packet::kAnomalyNames[i]));
  }
  return r;
}

}  // namespace flowaudit::analysis
