#include "analysis/packet/ip_reassembly.h"

#include <algorithm>
#include <cstring>

namespace flowaudit::analysis::packet {
namespace {
constexpr std::uint32_t kMaxDatagram = 65535;
}

void IpReassembler::drop(std::size_t index) {
  buffered_ -= pending_[index].data.capacity();
  pending_[index] = std::move(pending_.back());
  pending_.pop_back();
}

void IpReassembler::expire(core::TimestampNs now, AnomalyCounters& anomalies) {
  for (std::size_t i = 0; i < pending_.size();) {
    if (core::elapsed_more_than(pending_[i].first_seen, now, config_.timeout_ns)) {
      anomalies.add(Anomaly::kFragmentTimeout);
      drop(i);
    } else {
      ++i;
    }
  }
}

void IpReassembler::expire_all(AnomalyCounters& anomalies) {
  while (!pending_.empty()) {
    anomalies.add(Anomaly::kFragmentTimeout);
    drop(pending_.size() - 1);
  }
}

bool IpReassembler::add(const FragmentKey& key, std::uint32_t offset, bool more,
                        std::span<const std::uint8_t> payload, std::uint32_t wire_bytes, core::TimestampNs now,
                        std::span<const std::uint8_t>& datagram, std::uint32_t& fragments,
                        std::uint64_t& total_wire_bytes, AnomalyCounters& anomalies) {
  expire(now, anomalies);
  const std::uint64_t end64 = static_cast<std::uint64_t>(offset) + payload.size();
  if (end64 > kMaxDatagram) {
    anomalies.add(Anomaly::kFragmentTooLarge);
    return false;
  }
  const auto end = static_cast<std::uint32_t>(end64);

  auto it = std::find_if(pending_.begin(), pending_.end(), [&](const Pending& p) { return p.key == key; });
  if (it == pending_.end()) {
    if (!pending_.empty() && pending_.size() >= config_.max_datagrams) {
      // Make room by dropping the oldest datagram in progress.
      auto oldest = std::min_element(pending_.begin(), pending_.end(), [](const Pending& a, const Pending& b) {
        return a.first_seen < b.first_seen;
      });
      anomalies.add(Anomaly::kFragmentMemoryLimit);
      drop(static_cast<std::size_t>(oldest - pending_.begin()));
    }
    pending_.push_back(Pending{});
    it = pending_.end() - 1;
    it->key = key;
    it->first_seen = now;
  }
  Pending& p = *it;
  const std::size_t index = static_cast<std::size_t>(it - pending_.begin());

  if (p.fragments + 1 > config_.max_fragments) {
    anomalies.add(Anomaly::kFragmentTooMany);
    drop(index);
    return false;
  }
  if (!more) {
    if (p.have_total && p.total != end) {
      anomalies.add(Anomaly::kFragmentOverlap);
      drop(index);
      return false;
    }
    p.total = end;
    p.have_total = true;
  }
  if (p.have_total && end > p.total) {
    anomalies.add(Anomaly::kFragmentOverlap);
    drop(index);
    return false;
  }
  if (end > p.data.size()) {
    const std::size_t before = p.data.capacity();
    const std::size_t want = std::max<std::size_t>(end, before);
    if (buffered_ - before + want > config_.memory_limit) {
      anomalies.add(Anomaly::kFragmentMemoryLimit);
      drop(index);
      return false;
    }
    p.data.reserve(want);
    p.data.resize(end);
    buffered_ = buffered_ - before + p.data.capacity();
  }
  // First data wins where fragments overlap (as Linux does for IPv4); overlaps are counted.
  std::uint32_t cursor = offset;
  std::vector<Range> merged;
  merged.reserve(p.ranges.size() + 1);
  for (const Range& r : p.ranges) {
    if (r.end <= cursor || r.begin >= end) continue;
    anomalies.add(Anomaly::kFragmentOverlap);
    break;
  }
  for (const Range& r : p.ranges) {
    if (r.end <= cursor) continue;
    if (r.begin >= end) break;
    if (r.begin > cursor) std::memcpy(p.data.data() + cursor, payload.data() + (cursor - offset), r.begin - cursor);
    cursor = std::max(cursor, r.end);
    if (cursor >= end) break;
  }
  if (cursor < end) std::memcpy(p.data.data() + cursor, payload.data() + (cursor - offset), end - cursor);
  // Merge [offset, end) into the sorted range list.
  Range add_range{offset, end};
  bool placed = false;
  for (const Range& r : p.ranges) {
    if (r.end < add_range.begin) {
      merged.push_back(r);
    } else if (add_range.end < r.begin) {
      if (!placed) merged.push_back(add_range), placed = true;
      merged.push_back(r);
    } else {
      add_range.begin = std::min(add_range.begin, r.begin);
      add_range.end = std::max(add_range.end, r.end);
    }
  }
  if (!placed) merged.push_back(add_range);
  p.ranges = std::move(merged);
  ++p.fragments;
  p.wire_bytes += wire_bytes;

  if (!p.have_total || p.ranges.size() != 1 || p.ranges[0].begin != 0 || p.ranges[0].end != p.total) return false;
  done_.assign(p.data.begin(), p.data.begin() + p.total);
  fragments = p.fragments;
  total_wire_bytes = p.wire_bytes;
  drop(index);
  datagram = done_;
  return true;
}

}  // namespace flowaudit::analysis::packet
