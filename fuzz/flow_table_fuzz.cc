// Fuzz target: the flow table alone, driven by synthetic decoded packets. Few distinct addresses
// and ports make keys repeat, so lookups, TCP state, port reuse, idle expiry by the sweeping hand,
// eviction when full and backward-shift deletion all run; a "burst" operation creates many fresh
// flows at once so the slot array grows too.
//
// Layout:
//   byte 0   configuration
//              bits 0-2  max_flows: 1, 2, 3, 8, 64, 600, 5000, 1 << 20
//              bit 3     client CIDR 10.0.0.0/30 (orientation by --client)
//              bit 4     timeouts of 1 s instead of 10 s / 2 s / 5 s (TCP idle / closed / UDP)
//   then 4-byte operations:
//   a        bits 0-1 source address, bits 2-3 destination address (v4, v4, v4, v6 loopback-ish),
//            bit 4 TCP (else UDP), bits 5-7 time step: +0, +1 ms, +1 s, +3 s, +11 s, +121 s, -5 s,
//            or 7 = burst
//   b        low nibble source port, high nibble destination port (16 ports spanning the
//            well-known, registered and ephemeral ranges); for a burst: b + 1 flows (at most 1200
//            flows from bursts per input, 100 when max_flows <= 512)
//   c        TCP flags
//   d        low 2 bits: wire packets - 1 (as for a reassembled datagram); the rest: payload size
//
// Checks, besides the sanitizers: a packet lands in a flow whose key holds its two endpoints in
// canonical order; a key seen before maps to the same flow until that flow has been retired (a
// broken probe chain after deletion would create a duplicate instead); live flows never exceed
// the cap; and after finish() every flow is retired once and every packet is counted once.
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <tuple>
#include <vector>

#include "analysis/flow/flow_table.h"
#include "core/byte_reader.h"
#include "fuzz_check.h"

namespace {

using namespace flowaudit;
using analysis::flow::FlowKey;

constexpr std::array<std::size_t, 8> kMaxFlows = {1, 2, 3, 8, 64, 600, 5000, std::size_t{1} << 20};
constexpr std::array<std::uint16_t, 16> kPorts = {0,     53,    80,    443,   1023,  1024,  5353,  8080,
                                                  32767, 32768, 40000, 50000, 51820, 60000, 65534, 65535};
constexpr std::array<core::TimestampNs, 7> kSteps = {
    0, core::kNsPerSecond / 1000, core::kNsPerSecond, 3 * core::kNsPerSecond, 11 * core::kNsPerSecond,
    121 * core::kNsPerSecond, -5 * core::kNsPerSecond};

core::IpAddress address(unsigned i) {
  switch (i & 3u) {
    case 0: return core::IpAddress::v4(0x0A000001u);  // 10.0.0.1
    case 1: return core::IpAddress::v4(0x0A000002u);  // 10.0.0.2
    case 2: return core::IpAddress::v4(0xC0000201u);  // 192.0.2.1
    default: return *core::IpAddress::parse("2001:db8::1");
  }
}

using ModelKey = std::tuple<core::IpAddress, std::uint16_t, core::IpAddress, std::uint16_t, std::uint8_t>;

ModelKey model_key(const FlowKey& k) { return {k.addr[0], k.port[0], k.addr[1], k.port[1], k.protocol}; }

struct Harness {
  analysis::flow::FlowTable table;
  std::size_t max_flows;
  std::map<ModelKey, std::uint64_t> last_id;  // flow id a key last mapped to
  std::set<std::uint64_t> retired;
  std::size_t finished_seen = 0;
  std::uint64_t fed_packets = 0;
  std::uint64_t fed_payload = 0;

  void collect_retired() {
    const auto& fin = table.finished();
    for (; finished_seen < fin.size(); ++finished_seen) {
      FUZZ_CHECK(fin[finished_seen].end != analysis::flow::FlowEnd::kActive);
      FUZZ_CHECK(retired.insert(fin[finished_seen].id).second);  // retired once
    }
  }

  void feed(const analysis::packet::DecodedPacket& p) {
    std::uint8_t sender = 2;
    const analysis::flow::Flow& f = table.update(p, 0, sender);
    FUZZ_CHECK(sender <= 1);
    FUZZ_CHECK(f.client <= 1);
    FUZZ_CHECK(f.key.protocol == p.protocol);
    FUZZ_CHECK(f.key.addr[sender] == p.src && f.key.port[sender] == p.transport.src_port);
    FUZZ_CHECK(f.key.addr[1 - sender] == p.dst && f.key.port[1 - sender] == p.transport.dst_port);
    // Canonical order: endpoint 0 does not sort after endpoint 1.
    FUZZ_CHECK(!(std::tie(f.key.addr[1], f.key.port[1]) < std::tie(f.key.addr[0], f.key.port[0])));
    const std::uint64_t id = f.id;
    collect_retired();
    FUZZ_CHECK(!retired.contains(id));  // the flow just updated is live
    auto [it, inserted] = last_id.try_emplace(model_key(f.key), id);
    if (!inserted && it->second != id) {
      // A new flow for a known key: only after the old one was retired (expired, evicted, reused).
      FUZZ_CHECK(retired.contains(it->second));
      it->second = id;
    }
    FUZZ_CHECK(table.live() <= max_flows);
    FUZZ_CHECK(table.live() + table.finished().size() == table.stats().created);
    fed_packets += p.wire_packets;
    fed_payload += p.transport.payload.size();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  core::ByteReader in(std::span<const std::uint8_t>(data, size));
  std::uint8_t config = 0;
  if (!in.read_u8(config)) return 0;

  analysis::flow::FlowTableConfig cfg;
  cfg.max_flows = kMaxFlows[config & 0x07];
  if ((config & 0x08) != 0) cfg.clients.push_back(*core::Cidr::parse("10.0.0.0/30"));
  if ((config & 0x10) != 0) {
    cfg.tcp_idle_ns = cfg.tcp_closed_ns = cfg.udp_idle_ns = core::kNsPerSecond;
  } else {
    cfg.tcp_idle_ns = 10 * core::kNsPerSecond;
    cfg.tcp_closed_ns = 2 * core::kNsPerSecond;
    cfg.udp_idle_ns = 5 * core::kNsPerSecond;
  }
  Harness h{analysis::flow::FlowTable(cfg), cfg.max_flows, {}, {}, 0, 0, 0};

  // Payload spans point here; the table only takes their size.
  static const std::array<std::uint8_t, 256> payload_bytes{};
  core::TimestampNs now = 1'700'000'000 * core::kNsPerSecond;
  std::uint16_t burst_port = 0;
  // Bursts exist to grow the slot array: enough flows to double it twice (past 512 and 1024 live)
  // where the cap allows that, few otherwise. Eviction in a small table scans the (sparse) slot
  // array, which under coverage instrumentation is slow enough to dominate the run.
  unsigned burst_budget = cfg.max_flows > 512 ? 1200 : 100;
  std::uint8_t op[4];
  std::span<const std::uint8_t> bytes;
  while (in.read_bytes(4, bytes)) {
    for (std::size_t i = 0; i < 4; ++i) op[i] = bytes[i];
    const unsigned step = op[0] >> 5;
    analysis::packet::DecodedPacket p;
    p.src = address(op[0]);
    p.dst = address(op[0] >> 2);
    p.protocol = (op[0] & 0x10) != 0 ? analysis::packet::kProtoTcp : analysis::packet::kProtoUdp;
    p.transport.tcp_flags = p.protocol == analysis::packet::kProtoTcp ? op[2] : 0;
    p.wire_packets = (op[3] & 0x03u) + 1u;
    p.transport.payload = std::span<const std::uint8_t>(payload_bytes).first(op[3] >> 2);
    p.wire_bytes = 40u * p.wire_packets + p.transport.payload.size();
    if (p.src.family() != p.dst.family()) p.dst = p.src;  // a packet has one IP version
    if (step == 7) {
      // Many distinct flows at once: same addresses, a fresh source port each.
      p.ts_ns = now;
      p.transport.dst_port = kPorts[op[1] & 0x0F];
      for (unsigned n = 0; n <= op[1] && burst_budget > 0; ++n, --burst_budget) {
        p.transport.src_port = static_cast<std::uint16_t>(1024u + burst_port++ % 64000u);
        h.feed(p);
      }
      continue;
    }
    now += kSteps[step];
    p.ts_ns = now;
    p.transport.src_port = kPorts[op[1] & 0x0F];
    p.transport.dst_port = kPorts[op[1] >> 4];
    h.feed(p);
  }

  h.table.finish();
  FUZZ_CHECK(h.table.live() == 0);
  const auto& fin = h.table.finished();
  FUZZ_CHECK(fin.size() == h.table.stats().created);
  std::uint64_t packets = 0;
  std::uint64_t payload = 0;
  std::set<std::uint64_t> ids;
  for (const auto& f : fin) {
    FUZZ_CHECK(ids.insert(f.id).second);
    FUZZ_CHECK(f.from[0].packets + f.from[1].packets > 0);
    FUZZ_CHECK(f.client <= 1);
    for (const auto& d : f.from) {
      FUZZ_CHECK(d.packets == 0 || d.first_ns <= d.last_ns);
    }
    packets += f.from[0].packets + f.from[1].packets;
    payload += f.from[0].payload_bytes + f.from[1].payload_bytes;
  }
  // Flows still live at the end were retired by finish(): active, or idle past their timeout (as
  // the sweep would have ended them), never evicted or reused; the others earlier.
  std::size_t at_end = 0;
  for (const auto& f : fin) {
    if (h.retired.contains(f.id)) continue;
    ++at_end;
    FUZZ_CHECK(f.end == analysis::flow::FlowEnd::kActive || f.end == analysis::flow::FlowEnd::kIdleTimeout ||
               f.end == analysis::flow::FlowEnd::kTcpClosed);
  }
  FUZZ_CHECK(at_end + h.retired.size() == fin.size());
  FUZZ_CHECK(packets == h.fed_packets);
  FUZZ_CHECK(payload == h.fed_payload);
  return 0;
}
