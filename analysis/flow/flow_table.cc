#include "analysis/flow/flow_table.h"

#include <algorithm>

namespace flowaudit::analysis::flow {
namespace {

constexpr std::size_t kInitialSlots = 1024;
constexpr std::size_t kSweepPerPacket = 2;
constexpr std::size_t kEvictionCandidates = 64;
constexpr std::size_t kNotFound = static_cast<std::size_t>(-1);
constexpr std::uint16_t kEphemeralStart = 32768;

bool endpoint_less(const core::IpAddress& a, std::uint16_t pa, const core::IpAddress& b, std::uint16_t pb) {
  if (a != b) return a < b;
  return pa < pb;
}

}  // namespace

FlowTable::FlowTable(FlowTableConfig config) : config_(std::move(config)) {
  if (config_.max_flows == 0) config_.max_flows = 1;
  // Start small when the cap is small, so eviction scans stay short.
  std::size_t initial = 16;
  while (initial < kInitialSlots && initial < config_.max_flows * 2) initial *= 2;
  slots_.resize(initial);
}

std::size_t FlowTable::find(const FlowKey& key, std::uint64_t hash) const noexcept {
  const std::size_t mask = slots_.size() - 1;
  const auto tag = static_cast<std::uint32_t>(hash);
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.index == kEmpty) return kNotFound;
    if (s.tag == tag && pool_[s.index].key == key) return i;
  }
}

const Flow* FlowTable::lookup(const FlowKey& key) const noexcept {
  const std::size_t slot = find(key, key.hash());
  return slot == kNotFound ? nullptr : &pool_[slots_[slot].index];
}

void FlowTable::grow() {
  std::vector<Slot> old(slots_.size() * 2);
  old.swap(slots_);
  const std::size_t mask = slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.index == kEmpty) continue;
    std::size_t i = s.tag & mask;
    while (slots_[i].index != kEmpty) i = (i + 1) & mask;
    slots_[i] = s;
  }
  hand_ &= mask;
}

Flow& FlowTable::create(const FlowKey& key, std::uint64_t hash, const packet::DecodedPacket& p,
                        std::uint8_t sender, std::uint32_t input, std::uint64_t new_id) {
  if (live_ >= config_.max_flows) evict_one();
  // Keep the load factor at or below one half; the slot array is the only thing that rehashes.
  if ((live_ + 1) * 2 > slots_.size()) grow();
  std::uint32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
    pool_[index] = Flow{};
  } else {
    index = pool_.push();
  }
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = hash & mask;
  while (slots_[i].index != kEmpty) i = (i + 1) & mask;
  slots_[i] = Slot{index, static_cast<std::uint32_t>(hash)};
  ++live_;
  ++stats_.created;
  stats_.peak_live = std::max<std::uint64_t>(stats_.peak_live, live_);

  Flow& f = pool_[index];
  f.key = key;
  f.id = new_id != 0 ? new_id : next_id_++;
  f.input = input;
  orient(f, p, sender);
  if (key.protocol == packet::kProtoTcp) {
    f.tcp = (p.transport.tcp_flags & packet::tcp_flag::kSyn) != 0 ? TcpState::kNone : TcpState::kMidstream;
  }
  return f;
}

void FlowTable::orient(Flow& f, const packet::DecodedPacket& p, std::uint8_t sender) const {
  const auto other = static_cast<std::uint8_t>(1 - sender);
  const std::uint8_t flags = p.transport.tcp_flags;
  if (f.key.protocol == packet::kProtoTcp && (flags & packet::tcp_flag::kSyn) != 0) {
    f.client = (flags & packet::tcp_flag::kAck) != 0 ? other : sender;
    f.orientation = Orientation::kTcpHandshake;
    return;
  }
  if (!config_.clients.empty()) {
    bool in[2] = {false, false};
    for (const auto& c : config_.clients) {
      in[0] = in[0] || c.contains(f.key.addr[0]);
      in[1] = in[1] || c.contains(f.key.addr[1]);
    }
    if (in[0] != in[1]) {
      f.client = in[0] ? 0 : 1;
      f.orientation = Orientation::kClientCidr;
      return;
    }
  }
  const std::uint16_t ps = f.key.port[sender];
  const std::uint16_t pd = f.key.port[other];
  f.orientation = Orientation::kPort;
  if (pd < 1024 && ps >= 1024) {
    f.client = sender;
  } else if (ps < 1024 && pd >= 1024) {
    f.client = other;
  } else if (ps >= kEphemeralStart && pd < kEphemeralStart) {
    f.client = sender;
  } else if (pd >= kEphemeralStart && ps < kEphemeralStart) {
    f.client = other;
  } else {
    f.client = sender;
    f.orientation = Orientation::kFirstPacket;
  }
}

void FlowTable::track_tcp(Flow& f, std::uint8_t flags, std::uint8_t sender) noexcept {
  using namespace packet::tcp_flag;
  if ((flags & kRst) != 0) {
    f.tcp = TcpState::kReset;
    return;
  }
  if ((flags & kSyn) != 0) {
    if ((flags & kAck) == 0) {
      if (f.tcp == TcpState::kNone) f.tcp = TcpState::kSynSent;
    } else if (f.tcp == TcpState::kNone || f.tcp == TcpState::kSynSent) {
      f.tcp = TcpState::kSynAckSeen;
    }
  } else if ((flags & kAck) != 0 && f.tcp == TcpState::kSynAckSeen && sender == f.client) {
    f.tcp = TcpState::kEstablished;
  }
  if ((flags & kFin) != 0 && f.tcp != TcpState::kReset) {
    f.fin_from = static_cast<std::uint8_t>(f.fin_from | (1u << sender));
    f.tcp = f.fin_from == 3 ? TcpState::kClosed : TcpState::kClosing;
  }
}

bool FlowTable::expired(const Flow& f, core::TimestampNs now) const noexcept {
  const core::TimestampNs limit = f.tcp == TcpState::kClosed || f.tcp == TcpState::kReset ? config_.tcp_closed_ns
                                  : f.key.protocol == packet::kProtoTcp                 ? config_.tcp_idle_ns
                                                                                        : config_.udp_idle_ns;
  return core::elapsed_more_than(f.last_clock_ns, now, limit);
}

void FlowTable::retire_slot(std::size_t slot, FlowEnd why) {
  const std::uint32_t index = slots_[slot].index;
  pool_[index].end = why;
  if (on_retire_) on_retire_(pool_[index]);
  finished_.push_back(pool_[index]);
  free_.push_back(index);
  --live_;
  // Backward-shift deletion keeps probe chains intact without tombstones.
  const std::size_t mask = slots_.size() - 1;
  std::size_t hole = slot;
  for (std::size_t j = (hole + 1) & mask;; j = (j + 1) & mask) {
    if (slots_[j].index == kEmpty) break;
    const std::size_t home = slots_[j].tag & mask;
    const bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (!stays) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole] = Slot{};
}

void FlowTable::sweep(core::TimestampNs now, std::size_t count) {
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t n = 0; n < count; ++n) {
    hand_ = (hand_ + 1) & mask;
    const Slot& s = slots_[hand_];
    if (s.index == kEmpty) continue;
    const Flow& f = pool_[s.index];
    if (!expired(f, now)) continue;
    const bool closed = f.tcp == TcpState::kClosed || f.tcp == TcpState::kReset;
    ++stats_.idle_expired;
    retire_slot(hand_, closed ? FlowEnd::kTcpClosed : FlowEnd::kIdleTimeout);
  }
}

void FlowTable::evict_one() {
  const std::size_t mask = slots_.size() - 1;
  std::size_t best = kNotFound;
  std::size_t seen = 0;
  for (std::size_t n = 0, i = hand_; n < slots_.size() && seen < kEvictionCandidates; ++n, i = (i + 1) & mask) {
    if (slots_[i].index == kEmpty) continue;
    ++seen;
    if (best == kNotFound || pool_[slots_[i].index].last_clock_ns < pool_[slots_[best].index].last_clock_ns) best = i;
  }
  if (best == kNotFound) return;
  hand_ = best;
  ++stats_.evicted;
  retire_slot(best, FlowEnd::kEvicted);
}

FlowKey FlowTable::key_of(const packet::DecodedPacket& p, std::uint8_t& sender) noexcept {
  FlowKey key;
  key.protocol = p.protocol;
  const bool swap = endpoint_less(p.dst, p.transport.dst_port, p.src, p.transport.src_port);
  sender = swap ? 1 : 0;
  key.addr[sender] = p.src;
  key.port[sender] = p.transport.src_port;
  key.addr[1 - sender] = p.dst;
  key.port[1 - sender] = p.transport.dst_port;
  return key;
}

void FlowTable::advance(core::TimestampNs now_ns) {
  now_ = std::max(now_, now_ns);
  if (!slots_.empty()) sweep(now_, kSweepPerPacket);
}

void FlowTable::sweep_idle(core::TimestampNs now_ns, std::size_t slots) {
  now_ = std::max(now_, now_ns);
  if (!slots_.empty()) sweep(now_, std::min(slots, slots_.size()));
}

Flow& FlowTable::update(const packet::DecodedPacket& p, std::uint32_t input, std::uint8_t& sender,
                        core::TimestampNs now_ns, std::uint64_t new_id) {
  now_ = std::max(now_, now_ns);
  sweep(now_, kSweepPerPacket);

  const FlowKey key = key_of(p, sender);
  const std::uint64_t hash = key.hash();

  Flow* flow = nullptr;
  const std::size_t slot = find(key, hash);
  if (slot != kNotFound) {
    flow = &pool_[slots_[slot].index];
    const std::uint8_t flags = p.transport.tcp_flags;
    const bool new_syn = p.protocol == packet::kProtoTcp && (flags & packet::tcp_flag::kSyn) != 0 &&
                         (flags & packet::tcp_flag::kAck) == 0;
    if (expired(*flow, now_)) {
      // The sweep had not reached it yet: an idle gap splits the flow wherever the key hashes.
      const bool closed = flow->tcp == TcpState::kClosed || flow->tcp == TcpState::kReset;
      ++stats_.idle_expired;
      retire_slot(slot, closed ? FlowEnd::kTcpClosed : FlowEnd::kIdleTimeout);
      flow = nullptr;
    } else if (new_syn && (flow->tcp == TcpState::kClosed || flow->tcp == TcpState::kReset)) {
      retire_slot(slot, FlowEnd::kPortReused);
      flow = nullptr;
    }
  }
  if (flow == nullptr) flow = &create(key, hash, p, sender, input, new_id);

  DirectionStats& d = flow->from[sender];
  if (d.packets == 0) d.first_ns = p.ts_ns;
  d.packets += p.wire_packets;
  d.bytes += p.wire_bytes;
  d.payload_bytes += p.transport.payload.size();
  d.last_ns = std::max(d.last_ns, p.ts_ns);
  flow->last_seen = std::max(flow->last_seen, p.ts_ns);
  flow->last_clock_ns = now_;
  if (p.protocol == packet::kProtoTcp) track_tcp(*flow, p.transport.tcp_flags, sender);
  return *flow;
}

void FlowTable::finish() {
  retire_all();
  finished_ = take_finished({}, {});
}

void FlowTable::retire_all() {
  retired_live_.clear();
  retired_live_.reserve(live_);
  for (Slot& s : slots_) {
    if (s.index == kEmpty) continue;
    Flow& f = pool_[s.index];
    if (expired(f, now_)) {
      ++stats_.idle_expired;
      f.end = f.tcp == TcpState::kClosed || f.tcp == TcpState::kReset ? FlowEnd::kTcpClosed : FlowEnd::kIdleTimeout;
    } else {
      f.end = FlowEnd::kActive;
    }
    if (on_retire_) on_retire_(pool_[s.index]);
    retired_live_.push_back(s.index);
    s = Slot{};  // the slots stay (all empty), so lookup() still answers
  }
  live_ = 0;
  // The live flows stay where they lie in the pool; their indices are put in id order.
  std::vector<std::uint32_t>().swap(free_);
  std::sort(retired_live_.begin(), retired_live_.end(),
            [this](std::uint32_t a, std::uint32_t b) { return pool_[a].id < pool_[b].id; });
  std::sort(finished_.begin(), finished_.end(), [](const Flow& a, const Flow& b) { return a.id < b.id; });
}

std::vector<Flow> FlowTable::take_finished(const std::function<bool(std::size_t)>& fold_more,
                                           const std::function<void(Flow&)>& fold) {
  // Both runs are in id order: merged as they are read, the lowest ids first.
  std::size_t a = 0;  // into finished_
  std::size_t b = 0;  // into retired_live_ (the live flows retired by retire_all())
  const std::size_t total = finished_.size() + retired_live_.size();
  const auto next = [&]() -> Flow& {
    if (b >= retired_live_.size() || (a < finished_.size() && finished_[a].id < pool_[retired_live_[b]].id)) {
      return finished_[a++];
    }
    return pool_[retired_live_[b++]];
  };
  while (a + b < total && fold_more && fold_more(total - a - b)) fold(next());
  std::vector<Flow> kept;
  kept.reserve(total - a - b);
  while (a + b < total) kept.push_back(next());
  // Given back, not just emptied (`pool_ = {}` would assign an empty list and keep the memory).
  pool_.release();
  std::vector<std::uint32_t>().swap(retired_live_);
  std::vector<Flow>().swap(finished_);
  return kept;
}

}  // namespace flowaudit::analysis::flow
