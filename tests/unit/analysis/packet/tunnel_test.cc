// Tunnels: the inner TCP/UDP packet is what the decoder hands on, with the outermost tunnel.
#include "analysis/packet/tunnel.h"

#include <doctest/doctest.h>

#include "analysis/app/unnamed_reason.h"
#include "analysis/packet/decoder.h"
#include "unit/analysis/audit_frames.h"
#include "unit/packet_builder.h"

using namespace flowaudit::analysis::packet;
using flowaudit::capture::RawPacket;
using flowaudit::test::Bytes;
using flowaudit::test::ethernet_frame;
using flowaudit::test::ipv4_packet;
using flowaudit::test::Ipv4Spec;
using flowaudit::test::ipv6_packet;
using flowaudit::test::Ipv6Spec;
using flowaudit::test::tcp_segment;
using flowaudit::test::TcpSpec;
using flowaudit::test::udp_datagram;
using flowaudit::test::UdpSpec;

namespace {

const Bytes kInner = ipv4_packet(Ipv4Spec{}, tcp_segment(TcpSpec{}).span());  // 10.0.0.2 -> 93.184.216.34:443

Bytes outer_v4(std::uint8_t protocol, const Bytes& payload) {
  Ipv4Spec s;
  s.src = "192.0.2.1";
  s.dst = "198.51.100.2";
  s.protocol = protocol;
  return ethernet_frame(kEtherTypeIpv4, ipv4_packet(s, payload.span()).span());
}

Bytes outer_udp(std::uint16_t port, const Bytes& payload) {
  UdpSpec u;
  u.src_port = 40000;
  u.dst_port = port;
  return outer_v4(17, udp_datagram(u, payload.span()));
}

struct Result {
  DecodeStatus status;
  DecodedPacket packet;
  DecodeCounters counters;
  AnomalyCounters anomalies;
};

Result run(std::span<const std::uint8_t> frame) {
  Decoder d;
  RawPacket raw;
  raw.link_type = 1;
  raw.data = frame;
  Result r{};
  r.status = d.decode(raw, r.packet);
  r.counters = d.counters();
  r.anomalies = d.anomalies();
  return r;
}

// The whole frame is the inner TCP packet in `type`; no prefix crashes or yields another packet.
void check(const Bytes& frame, TunnelType type) {
  const Result r = run(frame.span());
  REQUIRE(r.status == DecodeStatus::kTransport);
  CHECK(r.packet.src.to_string() == "10.0.0.2");
  CHECK(r.packet.dst.to_string() == "93.184.216.34");
  CHECK(r.packet.transport.dst_port == 443);
  CHECK(r.packet.tunnel.type == type);
  CHECK(r.packet.tunnel.outer_src.to_string() == "192.0.2.1");
  CHECK(r.packet.tunnel.outer_dst.to_string() == "198.51.100.2");
  CHECK(r.packet.tunnel.depth == 1);
  CHECK(r.counters.tunnelled == 1);
  CHECK(r.counters.ipv4 == 1);  // IP packets on the wire: the outer ones
  for (std::size_t n = 0; n < frame.size(); ++n) {
    CAPTURE(n);
    const Result cut = run(frame.prefix(n));
    if (cut.status == DecodeStatus::kTransport && cut.packet.tunnel.type != TunnelType::kNone) {
      CHECK(cut.packet.src.to_string() == "10.0.0.2");
    }
  }
}

Bytes gre(std::uint16_t flags, std::uint16_t protocol, const Bytes& payload) {
  Bytes b;
  b.u16be(flags).u16be(protocol);
  if ((flags & 0x8000) != 0) b.u32be(0);           // checksum
  if ((flags & 0x2000) != 0) b.u32be(0xABCD);      // key
  if ((flags & 0x1000) != 0) b.u32be(7);           // sequence
  return b.append(payload);
}

const Bytes kInnerFrame = ethernet_frame(kEtherTypeIpv4, kInner.span());

}  // namespace

TEST_SUITE("analysis.packet.tunnel") {
  TEST_CASE("GRE: plain, checksum, key, sequence; IPv4, IPv6 inside; transparent Ethernet bridging") {
    check(outer_v4(47, gre(0, 0x0800, kInner)), TunnelType::kGre);
    check(outer_v4(47, gre(0xB000, 0x0800, kInner)), TunnelType::kGre);
    check(outer_v4(47, gre(0x2000, 0x6558, kInnerFrame)), TunnelType::kGre);
    Ipv6Spec v6;
    v6.src = "2001:db8::1";
    v6.dst = "2001:db8::2";
    const Bytes inner6 = ipv6_packet(v6, tcp_segment(TcpSpec{}).span());
    const Result r = run(outer_v4(47, gre(0, 0x86DD, inner6)).span());
    REQUIRE(r.status == DecodeStatus::kTransport);
    CHECK(r.packet.src.to_string() == "2001:db8::1");
    CHECK(r.packet.tunnel.type == TunnelType::kGre);
    // Routing present (RFC 1701) or version 2+: malformed, not guessed.
    CHECK(run(outer_v4(47, gre(0x4000, 0x0800, kInner)).span()).anomalies.get(Anomaly::kBadTunnelHeader) == 1);
  }

  TEST_CASE("ERSPAN type I, II and III (with the platform subheader)") {
    check(outer_v4(47, gre(0, 0x88BE, kInnerFrame)), TunnelType::kErspan);
    const Bytes type2 = Bytes{}.u16be(0x1000 | 5).u16be(0x0001).u32be(0).append(kInnerFrame);
    check(outer_v4(47, gre(0x1000, 0x88BE, type2)), TunnelType::kErspan);
    const Bytes type3 = Bytes{}.u16be(0x2000).u16be(1).u32be(0).u16be(0).u16be(0x0001).zeros(8).append(kInnerFrame);
    check(outer_v4(47, gre(0x1000, 0x22EB, type3)), TunnelType::kErspan);
    const Bytes bad3 = Bytes{}.u16be(0x1000).u16be(1).u32be(0).u16be(0).u16be(0).append(kInnerFrame);
    CHECK(run(outer_v4(47, gre(0x1000, 0x22EB, bad3)).span()).anomalies.get(Anomaly::kBadTunnelHeader) == 1);
  }

  TEST_CASE("VXLAN, Geneve with options, GTP-U with extension headers, Teredo with indicators") {
    check(outer_udp(4789, Bytes{}.u8(0x08).zeros(3).u32be(0x00001200).append(kInnerFrame)), TunnelType::kVxlan);
    check(outer_udp(6081, Bytes{}.u8(0x02).u8(0).u16be(0x6558).u32be(0x00001200).zeros(8).append(kInnerFrame)),
          TunnelType::kGeneve);
    check(outer_udp(6081, Bytes{}.u8(0x00).u8(0).u16be(0x0800).u32be(0).append(kInner)), TunnelType::kGeneve);
    check(outer_udp(2152, Bytes{}.u8(0x30).u8(0xFF).u16be(0).u32be(1).append(kInner)), TunnelType::kGtpU);
    // E flag: sequence, N-PDU, next type 0x85 (PDU session container, 1 unit), then none.
    check(outer_udp(2152, Bytes{}.u8(0x34).u8(0xFF).u16be(0).u32be(1).u16be(0).u8(0).u8(0x85).u8(1).u8(0x10).u8(0).u8(0)
                              .append(kInner)),
          TunnelType::kGtpU);
    Ipv6Spec v6;
    v6.src = "2001:0:4136:e378:8000:63bf:3fff:fdd2";
    v6.dst = "2001:db8::2";
    const Bytes inner6 = ipv6_packet(v6, tcp_segment(TcpSpec{}).span());
    const Bytes origin = Bytes{}.u16be(0).u16be(0xFFFF).u32be(0xFFFFFFFF).append(inner6);
    const Result t = run(outer_udp(3544, origin).span());
    REQUIRE(t.status == DecodeStatus::kTransport);
    CHECK(t.packet.tunnel.type == TunnelType::kTeredo);
    CHECK(t.packet.src.to_string() == "2001:0:4136:e378:8000:63bf:3fff:fdd2");
    const Bytes auth = Bytes{}.u16be(1).u8(0).u8(0).zeros(8).u8(0).append(inner6);
    CHECK(run(outer_udp(3544, auth).span()).packet.tunnel.type == TunnelType::kTeredo);
  }

  TEST_CASE("a UDP payload on a tunnel port that is not that tunnel stays a UDP flow") {
    for (const int p : {4789, 6081, 2152, 3544, 8472}) {
      const auto port = static_cast<std::uint16_t>(p);
      CAPTURE(port);
      const Result r = run(outer_udp(port, Bytes{}.text("not a tunnel header at all")).span());
      CHECK(r.status == DecodeStatus::kTransport);
      CHECK(r.packet.tunnel.type == TunnelType::kNone);
      CHECK(r.packet.transport.dst_port == port);
    }
    // GTP echo request: signalling, not user data.
    CHECK(run(outer_udp(2152, Bytes{}.u8(0x32).u8(0x01).u16be(4).u32be(0).u32be(0)).span()).packet.tunnel.type ==
          TunnelType::kNone);
  }

  TEST_CASE("a tunnel in a fragmented outer datagram: reassembled, then opened; the fragments are counted") {
    const Bytes payload = gre(0, 0x0800, kInner);
    Ipv4Spec first;
    first.src = "192.0.2.1";
    first.dst = "198.51.100.2";
    first.protocol = 47;
    first.more_fragments = true;
    Ipv4Spec second = first;
    second.more_fragments = false;
    second.fragment_offset = 24;
    const Bytes f1 = ethernet_frame(kEtherTypeIpv4, ipv4_packet(first, payload.prefix(24)).span());
    const Bytes f2 = ethernet_frame(kEtherTypeIpv4, ipv4_packet(second, payload.span().subspan(24)).span());
    Decoder d;
    RawPacket raw;
    raw.link_type = 1;
    DecodedPacket p;
    raw.data = f1.span();
    CHECK(d.decode(raw, p) == DecodeStatus::kFragmentHeld);
    raw.data = f2.span();
    p = DecodedPacket{};
    REQUIRE(d.decode(raw, p) == DecodeStatus::kTransport);
    CHECK(p.tunnel.type == TunnelType::kGre);
    CHECK(p.src.to_string() == "10.0.0.2");
    CHECK(p.wire_packets == 2);
  }

  TEST_CASE("IP-in-IP: 4in4, 6in4, 4in6, 6in6") {
    check(outer_v4(4, kInner), TunnelType::kIpInIp);
    Ipv6Spec o6;
    o6.src = "2001:db8::a";
    o6.dst = "2001:db8::b";
    o6.next_header = 4;
    const Result r = run(ethernet_frame(kEtherTypeIpv6, ipv6_packet(o6, kInner.span()).span()).span());
    REQUIRE(r.status == DecodeStatus::kTransport);
    CHECK(r.packet.tunnel.type == TunnelType::kIpInIp);
    CHECK(r.packet.tunnel.outer_src.to_string() == "2001:db8::a");
    CHECK(r.packet.src.to_string() == "10.0.0.2");
    const Bytes inner6 = ipv6_packet(Ipv6Spec{}, tcp_segment(TcpSpec{}).span());
    CHECK(run(outer_v4(41, inner6).span()).packet.src.to_string() == "2001:db8::2");
    o6.next_header = 41;
    CHECK(run(ethernet_frame(kEtherTypeIpv6, ipv6_packet(o6, inner6.span()).span()).span()).packet.src.to_string() ==
          "2001:db8::2");
  }

  TEST_CASE("nesting: the outermost tunnel is recorded; past the limit counted and the carrier flow marked") {
    // VXLAN in GRE: outermost GRE, depth 2.
    const Bytes vx = udp_datagram(UdpSpec{40000, 4789}, Bytes{}.u8(0x08).zeros(3).u32be(0x100).append(kInnerFrame).span());
    Ipv4Spec mid;
    mid.src = "172.16.0.1";
    mid.dst = "172.16.0.2";
    mid.protocol = 17;
    const Result r = run(outer_v4(47, gre(0, 0x0800, ipv4_packet(mid, vx.span()))).span());
    REQUIRE(r.status == DecodeStatus::kTransport);
    CHECK(r.packet.tunnel.type == TunnelType::kGre);
    CHECK(r.packet.tunnel.depth == 2);
    CHECK(r.packet.src.to_string() == "10.0.0.2");

    // kMaxTunnelDepth IP-in-IP layers, then a VXLAN: its UDP flow is handed on, marked.
    Bytes packet = ipv4_packet(mid, vx.span());
    for (int i = 0; i < kMaxTunnelDepth; ++i) {
      Ipv4Spec s;
      s.protocol = 4;
      packet = ipv4_packet(s, packet.span());
    }
    const Result deep = run(ethernet_frame(kEtherTypeIpv4, packet.span()).span());
    REQUIRE(deep.status == DecodeStatus::kTransport);
    CHECK(deep.packet.tunnel.depth_exceeded);
    CHECK(deep.packet.tunnel.depth == kMaxTunnelDepth);
    CHECK(deep.packet.transport.dst_port == 4789);
    CHECK(deep.counters.tunnel_too_deep == 1);
    CHECK(deep.anomalies.get(Anomaly::kTunnelTooDeep) == 1);

    // kMaxTunnelDepth + 1 IP-in-IP layers: no flow, counted.
    Bytes ipip = kInner;
    for (int i = 0; i < kMaxTunnelDepth + 1; ++i) {
      Ipv4Spec s;
      s.protocol = 4;
      ipip = ipv4_packet(s, ipip.span());
    }
    const Result too = run(ethernet_frame(kEtherTypeIpv4, ipip.span()).span());
    CHECK(too.status == DecodeStatus::kOtherIp);
    CHECK(too.counters.tunnel_too_deep == 1);
  }

  TEST_CASE("a flow inside tunnels too deep to open is unnamed for that reason, with its tunnel on the row") {
    // kMaxTunnelDepth IP-in-IP layers around a VXLAN datagram: the VXLAN carrier is the flow flowaudit
    // sees, and the VXLAN is the tunnel it did not open.
    const Bytes vx = udp_datagram(UdpSpec{40000, 4789}, Bytes{}.u8(0x08).zeros(3).u32be(0x100).append(kInnerFrame).span());
    Ipv4Spec mid;
    mid.src = "172.16.0.1";
    mid.dst = "172.16.0.2";
    mid.protocol = 17;
    Bytes packet = ipv4_packet(mid, vx.span());
    for (int i = 0; i < kMaxTunnelDepth; ++i) {
      Ipv4Spec s;
      s.protocol = 4;
      packet = ipv4_packet(s, packet.span());
    }
    const auto r = flowaudit::test::audit_frames({ethernet_frame(kEtherTypeIpv4, packet.span()), outer_v4(4, kInner)});
    REQUIRE(r.flows.size() == 2);
    int deep = 0;
    for (const auto& f : r.flows) {
      REQUIRE(f.tunnel.has_value());
      CHECK(f.tunnel->type == TunnelType::kIpInIp);
      if (!f.tunnel->depth_exceeded) {
        // One level of IP-in-IP, opened: the inner flow says what it is at its own level.
        CHECK(f.name.unnamed != flowaudit::analysis::app::UnnamedReason::kTunnelDepth);
        continue;
      }
      ++deep;
      CHECK(f.key.port[f.server()] == 4789);
      CHECK(f.name.hostname.empty());
      CHECK(f.name.unnamed == flowaudit::analysis::app::UnnamedReason::kTunnelDepth);
    }
    CHECK(deep == 1);
    CHECK(r.coverage.unnamed[static_cast<std::size_t>(flowaudit::analysis::app::UnnamedReason::kTunnelDepth)] == 1);
  }
}
