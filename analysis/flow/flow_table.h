// The flow table: open addressing with linear probing over a flat slot array, flows in a pool of
// fixed chunks that never move (flow_pool.h), a cap on live flows, idle expiry by a clock hand
// that advances a few slots per packet, and eviction of the stalest flow when full. Retired flows
// are kept, compact, for the report.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "analysis/flow/flow.h"
#include "analysis/flow/flow_pool.h"
#include "analysis/packet/decoder.h"
#include "core/ip_address.h"

namespace flowaudit::analysis::flow {

struct FlowTableConfig {
  std::size_t max_flows = 1u << 20;  // live flows at once
  core::TimestampNs tcp_idle_ns = 300 * core::kNsPerSecond;
  core::TimestampNs tcp_closed_ns = 10 * core::kNsPerSecond;
  core::TimestampNs udp_idle_ns = 120 * core::kNsPerSecond;
  std::vector<core::Cidr> clients;  // --client: addresses of the audited device(s)
};

struct FlowTableStats {
  std::uint64_t created = 0;
  std::uint64_t evicted = 0;
  std::uint64_t idle_expired = 0;
  std::uint64_t peak_live = 0;
};

class FlowTable {
 public:
  explicit FlowTable(FlowTableConfig config);

  // Accounts one decoded TCP/UDP packet; returns its flow (valid until the next call) and the
  // endpoint index that sent it. Never throws on the packet path beyond std::bad_alloc on growth.
  // `now_ns` is the audit clock (AuditClock::tick) at this packet: idle expiry compares it with
  // each flow's last_clock_ns, never with the packet's own timestamp.
  // `new_id`, if not 0, is the id a flow created by this packet gets (--threads: the number of the
  // packet that opened it, renumbered when the workers' flows are merged); 0 takes the next of
  // the table's own counter.
  Flow& update(const packet::DecodedPacket& p, std::uint32_t input, std::uint8_t& sender, core::TimestampNs now_ns,
               std::uint64_t new_id = 0);
  // A packet of a flow this table does not track (--threads: another worker's) still moves the
  // audit clock and the idle sweep, so that expiry is decided at the same moments as with one table.
  void advance(core::TimestampNs now_ns);
  // Live capture with no packet for a while: time moves on (now_ns, never backwards) and up to
  // `slots` slots are swept, so that idle and closed flows end without a packet to end them.
  void sweep_idle(core::TimestampNs now_ns, std::size_t slots);
  // The key of a packet's flow as update() builds it, with the endpoint index of its sender.
  [[nodiscard]] static FlowKey key_of(const packet::DecodedPacket& p, std::uint8_t& sender) noexcept;
  // Without an audit clock (tests, fuzzers): the latest timestamp so far is "now", so a timestamp
  // that goes back still expires nothing (time stands still until it catches up).
  Flow& update(const packet::DecodedPacket& p, std::uint32_t input, std::uint8_t& sender) {
    return update(p, input, sender, p.ts_ns);
  }

  // Retires every live flow (end of capture); after this, finished() holds all flows, in id order.
  // A flow idle past its timeout at the end ends as the sweep would have ended it (idle or closed),
  // wherever the sweep's hand happened to be: the end reason depends on the flow, not on the table's
  // layout (which differs with --threads).
  void finish();
  // The same in two steps without a second copy of the live flows (at the end of a high-churn
  // capture the two copies were the audit's memory peak, issue 18). retire_all() retires every
  // live flow where it lies (the listener runs as in finish()); take_finished() then hands over
  // every flow in id order, first passing the lowest ids to `fold` for as long as
  // `fold_more(left)` says so (left: the flows not folded yet). What is folded is not handed over.
  void retire_all();
  std::vector<Flow> take_finished(const std::function<bool(std::size_t left)>& fold_more,
                                  const std::function<void(Flow&)>& fold);

  // Called for every flow as it leaves the table (timeout, eviction, reuse, end of capture), before
  // it is copied to finished(): the listener may clear what it owns in it.
  void set_retire_listener(std::function<void(Flow&)> listener) { on_retire_ = std::move(listener); }

  [[nodiscard]] const std::vector<Flow>& finished() const noexcept { return finished_; }
  // Oldest first until finish() sorts them by id: the owner may drop records from the front to
  // bound memory (Auditor, --max-flow-records).
  [[nodiscard]] std::vector<Flow>& finished() noexcept { return finished_; }
  // Hands the finished flows over (after finish()), leaving the table empty.
  std::vector<Flow> take_finished() noexcept { return std::move(finished_); }
  [[nodiscard]] std::size_t live() const noexcept { return live_; }
  // The live flow with this key (as in Flow::key), or nullptr when there is none (retired, or never
  // seen). A later flow may reuse a key: compare ids.
  [[nodiscard]] const Flow* lookup(const FlowKey& key) const noexcept;
  [[nodiscard]] const FlowTableStats& stats() const noexcept { return stats_; }

 private:
  static constexpr std::uint32_t kEmpty = 0xFFFFFFFFu;
  struct Slot {
    std::uint32_t index = kEmpty;  // into pool_
    std::uint32_t tag = 0;         // low hash bits, to skip most key compares
  };

  std::size_t find(const FlowKey& key, std::uint64_t hash) const noexcept;
  Flow& create(const FlowKey& key, std::uint64_t hash, const packet::DecodedPacket& p, std::uint8_t sender,
               std::uint32_t input, std::uint64_t new_id);
  void retire_slot(std::size_t slot, FlowEnd why);
  void grow();
  void sweep(core::TimestampNs now, std::size_t slots);
  void evict_one();
  [[nodiscard]] bool expired(const Flow& f, core::TimestampNs now) const noexcept;
  void orient(Flow& f, const packet::DecodedPacket& p, std::uint8_t sender) const;
  static void track_tcp(Flow& f, std::uint8_t flags, std::uint8_t sender) noexcept;

  FlowTableConfig config_;
  std::vector<Slot> slots_;
  FlowPool pool_;
  std::vector<std::uint32_t> retired_live_;  // after retire_all(): the pool's live flows, in id order
  std::vector<std::uint32_t> free_;
  std::vector<Flow> finished_;
  std::size_t live_ = 0;
  std::size_t hand_ = 0;
  std::uint64_t next_id_ = 1;
  core::TimestampNs now_ = 0;
  FlowTableStats stats_;
  std::function<void(Flow&)> on_retire_;
};

}  // namespace flowaudit::analysis::flow
