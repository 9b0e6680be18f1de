// Fuzz target: frame decoding (link layers, VLANs, PPPoE, MPLS, IPv4/IPv6 with extension headers,
// fragment reassembly, tunnels, TCP/UDP) feeding a flow table.
//
// One input is a whole little capture, decoded by a Decoder and FlowTable that live for that input
// only: state (fragments in reassembly, live flows, eviction) carries from frame to frame inside an
// input, so one input can reassemble a datagram and fill the table, yet every crash reproduces from
// its input alone (static state would make crashes depend on the inputs that ran before).
//
// Layout (every field is optional: the input simply ends):
//   byte 0        configuration
//                   bits 0-1  max_flows: 64, 4, 1, 256
//                   bit 2     small reassembly limits (4 datagrams, 8 fragments, 96 KiB, 2 s)
//                   bit 3     client CIDRs 10.0.0.0/8 and fd00::/8 (orientation by --client)
//                   bit 4     short flow timeouts (TCP idle 5 s, closed 1 s, UDP 3 s)
//   then records:
//   byte          link type: value % 17 picks ethernet 1, raw 101, linux-sll 113, linux-sll2 276,
//                 null 0, loop 108, ipv4 228, ipv6 229, ppp 9, ppp-hdlc 50, ppp-ether 51,
//                 c-hdlc 104, 802.11 105, radiotap 127, ppi 192, ppp-with-dir 204, nflog 239
//   byte          time: below 0xF0 the clock advances by value * 100 ms; otherwise 8 more bytes
//                 (big-endian) are an absolute timestamp in ns, any int64 including negative ones
//   2 bytes       frame length, big-endian (clipped to what is left of the input)
//   frame
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "analysis/flow/flow_table.h"
#include "analysis/packet/decoder.h"
#include "core/byte_reader.h"
#include "fuzz_check.h"

namespace {

using namespace flowaudit;

constexpr std::array<std::uint32_t, 17> kLinkTypes = {1, 101, 113, 276, 0, 108, 228, 229, 9,
                                                       50, 51, 104, 105, 127, 192, 204, 239};
constexpr std::array<std::size_t, 4> kMaxFlows = {64, 4, 1, 256};
constexpr core::TimestampNs kTick = core::kNsPerSecond / 10;

bool same_endpoint(const analysis::flow::FlowKey& k, int i, const core::IpAddress& a, std::uint16_t port) {
  return k.addr[i] == a && k.port[i] == port;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  core::ByteReader in(std::span<const std::uint8_t>(data, size));
  std::uint8_t config = 0;
  if (!in.read_u8(config)) return 0;

  analysis::packet::ReassemblyConfig reassembly;
  if ((config & 0x04) != 0) {
    reassembly.max_datagrams = 4;
    reassembly.max_fragments = 8;
    reassembly.memory_limit = 96 * 1024;
    reassembly.timeout_ns = 2 * core::kNsPerSecond;
  }
  analysis::flow::FlowTableConfig flows;
  flows.max_flows = kMaxFlows[config & 0x03];
  if ((config & 0x08) != 0) {
    flows.clients.push_back(*core::Cidr::parse("10.0.0.0/8"));
    flows.clients.push_back(*core::Cidr::parse("fd00::/8"));
  }
  if ((config & 0x10) != 0) {
    flows.tcp_idle_ns = 5 * core::kNsPerSecond;
    flows.tcp_closed_ns = 1 * core::kNsPerSecond;
    flows.udp_idle_ns = 3 * core::kNsPerSecond;
  }

  analysis::packet::Decoder decoder(reassembly);
  analysis::flow::FlowTable table(flows);

  std::uint64_t statuses[7] = {};
  std::uint64_t fed_packets = 0;
  std::uint64_t fed_payload = 0;
  core::TimestampNs now = 0;
  for (;;) {
    std::uint8_t link = 0;
    std::uint8_t time = 0;
    std::uint16_t length = 0;
    if (!in.read_u8(link) || !in.read_u8(time)) break;
    if (time < 0xF0) {
      now = static_cast<core::TimestampNs>(static_cast<std::uint64_t>(now) + time * static_cast<std::uint64_t>(kTick));
    } else {
      std::uint64_t absolute = 0;
      if (!in.read_u64be(absolute)) break;
      now = static_cast<core::TimestampNs>(absolute);
    }
    if (!in.read_u16be(length)) break;
    const std::size_t n = std::min<std::size_t>(length, in.remaining());
    std::span<const std::uint8_t> bytes;
    in.read_bytes(n, bytes);

    // An exact-size heap copy per frame, so that AddressSanitizer catches a read past this frame
    // (the input buffer would only catch reads past the last one).
    const auto frame = std::make_unique<std::uint8_t[]>(n);
    if (n > 0) std::memcpy(frame.get(), bytes.data(), n);

    capture::RawPacket raw;
    raw.ts_ns = now;
    raw.link_type = kLinkTypes[link % kLinkTypes.size()];
    raw.orig_len = static_cast<std::uint32_t>(n);
    raw.data = std::span<const std::uint8_t>(frame.get(), n);

    const std::uint64_t reassembled_before = decoder.counters().reassembled;
    analysis::packet::DecodedPacket p;
    const auto status = decoder.decode(raw, p);
    ++statuses[static_cast<int>(status)];
    if (status != analysis::packet::DecodeStatus::kTransport) continue;

    FUZZ_CHECK(p.protocol == analysis::packet::kProtoTcp || p.protocol == analysis::packet::kProtoUdp);
    FUZZ_CHECK(p.wire_packets >= 1);
    FUZZ_CHECK(p.src.family() == p.dst.family() && p.src.family() != core::IpAddress::Family::kNone);
    const auto payload = p.transport.payload;
    flowaudit::fuzz::touch(payload.data(), payload.size());
    if (decoder.counters().reassembled == reassembled_before) {
      // Not reassembled: the payload must be a piece of this frame.
      FUZZ_CHECK(p.wire_packets == 1);
      FUZZ_CHECK(payload.empty() || (payload.data() >= frame.get() && payload.data() + payload.size() <= frame.get() + n));
    }

    std::uint8_t sender = 2;
    const analysis::flow::Flow& f = table.update(p, 0, sender);
    FUZZ_CHECK(sender <= 1);
    FUZZ_CHECK(f.client <= 1);
    FUZZ_CHECK(f.key.protocol == p.protocol);
    FUZZ_CHECK(same_endpoint(f.key, sender, p.src, p.transport.src_port));
    FUZZ_CHECK(same_endpoint(f.key, 1 - sender, p.dst, p.transport.dst_port));
    FUZZ_CHECK(table.live() <= flows.max_flows);
    fed_packets += p.wire_packets;
    fed_payload += payload.size();
  }

  // Every decode ends in exactly one counter.
  using analysis::packet::DecodeStatus;
  const auto& c = decoder.counters();
  FUZZ_CHECK(statuses[static_cast<int>(DecodeStatus::kTransport)] == c.tcp + c.udp);
  FUZZ_CHECK(statuses[static_cast<int>(DecodeStatus::kIcmp)] == c.icmp);
  FUZZ_CHECK(statuses[static_cast<int>(DecodeStatus::kOtherIp)] == c.other_ip);
  FUZZ_CHECK(statuses[static_cast<int>(DecodeStatus::kNotIp)] == c.not_ip);
  FUZZ_CHECK(statuses[static_cast<int>(DecodeStatus::kMalformed)] == c.malformed);
  FUZZ_CHECK(statuses[static_cast<int>(DecodeStatus::kUnsupportedLink)] == c.unsupported_link);
  FUZZ_CHECK(c.reassembled <= c.fragments);

  // Every packet fed to the table is in exactly one flow once the table is finished.
  table.finish();
  FUZZ_CHECK(table.live() == 0);
  FUZZ_CHECK(table.finished().size() == table.stats().created);
  std::uint64_t packets = 0;
  std::uint64_t payload = 0;
  for (const auto& f : table.finished()) {
    packets += f.from[0].packets + f.from[1].packets;
    payload += f.from[0].payload_bytes + f.from[1].payload_bytes;
  }
  FUZZ_CHECK(packets == fed_packets);
  FUZZ_CHECK(payload == fed_payload);
  return 0;
}
