#include "analysis/packet/decoder.h"

#include <doctest/doctest.h>

#include <vector>

#include "unit/packet_builder.h"

using namespace flowaudit::analysis::packet;
using flowaudit::capture::RawPacket;
using flowaudit::core::IpAddress;
using flowaudit::test::Bytes;
using flowaudit::test::ethernet_frame;
using flowaudit::test::ipv4_packet;
using flowaudit::test::Ipv4Spec;
using flowaudit::test::ipv6_ext;
using flowaudit::test::ipv6_fragment_header;
using flowaudit::test::ipv6_packet;
using flowaudit::test::Ipv6Spec;
using flowaudit::test::payload_bytes;
using flowaudit::test::tcp_segment;
using flowaudit::test::TcpSpec;
using flowaudit::test::udp_datagram;
using flowaudit::test::UdpSpec;

namespace {

RawPacket raw(const Bytes& frame, std::uint32_t link_type = 1, std::int64_t ts = 1'000) {
  RawPacket r;
  r.ts_ns = ts;
  r.link_type = link_type;
  r.orig_len = static_cast<std::uint32_t>(frame.size());
  r.data = frame.span();
  return r;
}

bool same_bytes(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

Bytes tcp_v4_frame(const Bytes& payload, std::uint8_t flags = tcp_flag::kSyn) {
  TcpSpec t;
  t.flags = flags;
  return ethernet_frame(kEtherTypeIpv4, ipv4_packet(Ipv4Spec{}, tcp_segment(t, payload.span()).span()).span());
}

}  // namespace

TEST_SUITE("analysis.packet.decoder") {
  TEST_CASE("Ethernet IPv4 TCP") {
    const Bytes payload = payload_bytes(10);
    const Bytes frame = tcp_v4_frame(payload, tcp_flag::kAck | tcp_flag::kPsh);
    Decoder d;
    DecodedPacket p;
    REQUIRE(d.decode(raw(frame, 1, 42), p) == DecodeStatus::kTransport);
    CHECK(p.ts_ns == 42);
    CHECK(p.src == *IpAddress::parse("10.0.0.2"));
    CHECK(p.dst == *IpAddress::parse("93.184.216.34"));
    CHECK(p.protocol == kProtoTcp);
    CHECK(p.transport.src_port == 50000);
    CHECK(p.transport.dst_port == 443);
    CHECK(p.transport.tcp_flags == (tcp_flag::kAck | tcp_flag::kPsh));
    CHECK(same_bytes(p.transport.payload, payload.span()));
    CHECK(p.wire_bytes == 20 + 20 + 10);
    CHECK(p.wire_packets == 1);
    CHECK(p.vlan_id == 0);
    CHECK(d.counters().ipv4 == 1);
    CHECK(d.counters().tcp == 1);
    CHECK(d.counters().malformed == 0);
  }

  TEST_CASE("VLAN-tagged IPv6 UDP") {
    const Bytes payload = payload_bytes(33);
    Ipv6Spec s;
    s.next_header = kProtoUdp;
    UdpSpec u;
    u.src_port = 40000;
    u.dst_port = 443;
    const Bytes frame = ethernet_frame(kEtherTypeIpv6, ipv6_packet(s, udp_datagram(u, payload.span()).span()).span(),
                                       {{0x88A8, 10}, {0x8100, 20}});
    Decoder d;
    DecodedPacket p;
    REQUIRE(d.decode(raw(frame), p) == DecodeStatus::kTransport);
    CHECK(p.src == *IpAddress::parse("2001:db8::2"));
    CHECK(p.protocol == kProtoUdp);
    CHECK(p.transport.dst_port == 443);
    CHECK(same_bytes(p.transport.payload, payload.span()));
    CHECK(p.vlan_id == 20);  // the innermost tag
    CHECK(p.wire_bytes == 40 + 8 + 33);
    CHECK(d.counters().ipv6 == 1);
    CHECK(d.counters().udp == 1);
  }

  TEST_CASE("raw IP, Linux cooked and null links reach the transport") {
    const Bytes ip = ipv4_packet(Ipv4Spec{}, tcp_segment(TcpSpec{}).span());
    Decoder d;
    DecodedPacket p;
    CHECK(d.decode(raw(ip, 101), p) == DecodeStatus::kTransport);
    CHECK(d.decode(raw(ip, 228), p) == DecodeStatus::kTransport);
    Bytes null_frame;
    null_frame.u32le(2).append(ip);
    CHECK(d.decode(raw(null_frame, 0), p) == DecodeStatus::kTransport);
    Bytes sll2;
    sll2.u16be(kEtherTypeIpv4).zeros(18).append(ip);
    CHECK(d.decode(raw(sll2, 276), p) == DecodeStatus::kTransport);
    CHECK(d.counters().tcp == 4);
  }

  TEST_CASE("what is not TCP or UDP is classified and counted") {
    Decoder d;
    DecodedPacket p;
    const Bytes arp = ethernet_frame(0x0806, payload_bytes(28).span());
    CHECK(d.decode(raw(arp), p) == DecodeStatus::kNotIp);
    Ipv4Spec icmp;
    icmp.protocol = kProtoIcmp;
    const Bytes ping = ethernet_frame(kEtherTypeIpv4, ipv4_packet(icmp, payload_bytes(8).span()).span());
    CHECK(d.decode(raw(ping), p) == DecodeStatus::kIcmp);
    Ipv6Spec icmp6;
    icmp6.next_header = kProtoIcmpv6;
    const Bytes ping6 = ethernet_frame(kEtherTypeIpv6, ipv6_packet(icmp6, payload_bytes(8).span()).span());
    CHECK(d.decode(raw(ping6), p) == DecodeStatus::kIcmp);
    Ipv4Spec sctp;
    sctp.protocol = 132;
    const Bytes other = ethernet_frame(kEtherTypeIpv4, ipv4_packet(sctp, payload_bytes(8).span()).span());
    CHECK(d.decode(raw(other), p) == DecodeStatus::kOtherIp);
    const Bytes unsupported = payload_bytes(40);
    CHECK(d.decode(raw(unsupported, 253), p) == DecodeStatus::kUnsupportedLink);
    CHECK(d.counters().not_ip == 1);
    CHECK(d.counters().icmp == 2);
    CHECK(d.counters().other_ip == 1);
    CHECK(d.counters().unsupported_link == 1);
    CHECK(d.counters().ipv4 == 2);
    CHECK(d.counters().ipv6 == 1);
    CHECK(d.anomalies().get(Anomaly::kUnsupportedLinkType) == 1);
  }

  TEST_CASE("malformed at each layer") {
    Decoder d;
    DecodedPacket p;
    CHECK(d.decode(raw(payload_bytes(10)), p) == DecodeStatus::kMalformed);  // short Ethernet
    Ipv4Spec bad_ihl;
    bad_ihl.ihl_override = 3;
    const Bytes b1 = ethernet_frame(kEtherTypeIpv4, ipv4_packet(bad_ihl, payload_bytes(20).span()).span());
    CHECK(d.decode(raw(b1), p) == DecodeStatus::kMalformed);
    TcpSpec bad_off;
    bad_off.data_offset_override = 2;
    const Bytes b2 =
        ethernet_frame(kEtherTypeIpv4, ipv4_packet(Ipv4Spec{}, tcp_segment(bad_off).span()).span());
    CHECK(d.decode(raw(b2), p) == DecodeStatus::kMalformed);
    Ipv4Spec udp;
    udp.protocol = kProtoUdp;
    const Bytes b3 = ethernet_frame(kEtherTypeIpv4, ipv4_packet(udp, payload_bytes(4).span()).span());
    CHECK(d.decode(raw(b3), p) == DecodeStatus::kMalformed);
    CHECK(d.counters().malformed == 4);
    CHECK(d.anomalies().get(Anomaly::kTruncatedLinkHeader) == 1);
    CHECK(d.anomalies().get(Anomaly::kBadIpv4HeaderLength) == 1);
    CHECK(d.anomalies().get(Anomaly::kBadTcpHeaderLength) == 1);
    CHECK(d.anomalies().get(Anomaly::kTruncatedUdpHeader) == 1);
  }

  TEST_CASE("every prefix of a frame decodes without crashing") {
    const Bytes frame = tcp_v4_frame(payload_bytes(20));  // 14 + 20 + 20 + 20
    Decoder d;
    for (std::size_t n = 0; n <= frame.size(); ++n) {
      CAPTURE(n);
      Bytes cut;
      cut.append(frame.prefix(n));
      DecodedPacket p;
      const DecodeStatus s = d.decode(raw(cut), p);
      if (n < 14 + 20 + 20) {
        CHECK(s == DecodeStatus::kMalformed);
      } else {
        CHECK(s == DecodeStatus::kTransport);
        CHECK(p.transport.payload.size() == n - 54);
        CHECK(p.wire_bytes == 60);  // what the IP header says went on the wire
      }
    }
    CHECK(d.anomalies().get(Anomaly::kSnaplenCutPayload) == 20 + 20);  // cut inside the TCP header or payload
  }

  TEST_CASE("IPv4 fragments reassembled end to end") {
    const Bytes payload = payload_bytes(3000, 7);
    UdpSpec u;
    u.src_port = 5000;
    u.dst_port = 4433;
    const Bytes datagram = udp_datagram(u, payload.span());  // 3008 bytes
    const std::vector<std::pair<std::uint32_t, std::uint32_t>> pieces = {{0, 1480}, {1480, 1480}, {2960, 48}};
    std::vector<Bytes> frames;
    for (const auto& [off, len] : pieces) {
      Ipv4Spec s;
      s.protocol = kProtoUdp;
      s.id = 777;
      s.fragment_offset = off;
      s.more_fragments = off + len < datagram.size();
      frames.push_back(ethernet_frame(kEtherTypeIpv4, ipv4_packet(s, datagram.span().subspan(off, len)).span()));
    }
    for (const std::vector<int>& order : {std::vector<int>{0, 1, 2}, std::vector<int>{2, 0, 1}}) {
      Decoder d;
      DecodedPacket p;
      CHECK(d.decode(raw(frames[static_cast<std::size_t>(order[0])], 1, 10), p) == DecodeStatus::kFragmentHeld);
      CHECK(d.decode(raw(frames[static_cast<std::size_t>(order[1])], 1, 11), p) == DecodeStatus::kFragmentHeld);
      REQUIRE(d.decode(raw(frames[static_cast<std::size_t>(order[2])], 1, 12), p) == DecodeStatus::kTransport);
      CHECK(p.protocol == kProtoUdp);
      CHECK(p.transport.src_port == 5000);
      CHECK(p.transport.dst_port == 4433);
      CHECK(same_bytes(p.transport.payload, payload.span()));
      CHECK(p.wire_packets == 3);
      CHECK(p.wire_bytes == 3008 + 3 * 20);
      CHECK(p.ts_ns == 12);
      CHECK(d.counters().fragments == 3);
      CHECK(d.counters().reassembled == 1);
      CHECK(d.counters().udp == 1);
      CHECK(d.counters().ipv4 == 3);
    }
  }

  TEST_CASE("IPv6 fragments reassembled end to end") {
    const Bytes payload = payload_bytes(2000, 9);
    TcpSpec t;
    t.flags = tcp_flag::kAck;
    t.dst_port = 8443;
    const Bytes segment = tcp_segment(t, payload.span());  // 2020 bytes
    const std::vector<std::pair<std::uint32_t, std::uint32_t>> pieces = {{0, 1232}, {1232, 788}};
    std::vector<Bytes> frames;
    for (const auto& [off, len] : pieces) {
      Bytes chain = ipv6_fragment_header(kProtoTcp, off, off + len < segment.size(), 0x01020304);
      chain.append(segment.span().subspan(off, len));
      Ipv6Spec s;
      s.next_header = 44;
      frames.push_back(ethernet_frame(kEtherTypeIpv6, ipv6_packet(s, chain.span()).span()));
    }
    for (const bool reversed : {false, true}) {
      CAPTURE(reversed);
      Decoder d;
      DecodedPacket p;
      CHECK(d.decode(raw(frames[reversed ? 1 : 0]), p) == DecodeStatus::kFragmentHeld);
      REQUIRE(d.decode(raw(frames[reversed ? 0 : 1]), p) == DecodeStatus::kTransport);
      CHECK(p.protocol == kProtoTcp);
      CHECK(p.src.is_v6());
      CHECK(p.transport.dst_port == 8443);
      CHECK(same_bytes(p.transport.payload, payload.span()));
      CHECK(p.wire_packets == 2);
      CHECK(p.wire_bytes == 2020 + 2 * (40 + 8));
      CHECK(d.counters().reassembled == 1);
      CHECK(d.counters().tcp == 1);
    }
  }

  // Regression: the fragmentable part may start with extension headers (RFC 8200 section 4.5).
  TEST_CASE("IPv6 fragments whose fragmentable part starts with destination options") {
    const Bytes payload = payload_bytes(40, 3);
    UdpSpec u;
    u.dst_port = 443;
    Bytes fragmentable = ipv6_ext(kProtoUdp, 0);  // destination options, 8 bytes
    fragmentable.append(udp_datagram(u, payload.span()));  // 56 bytes in all
    std::vector<Bytes> frames;
    for (const auto& [off, len] : {std::pair<std::uint32_t, std::uint32_t>{0, 24}, {24, 32}}) {
      Bytes chain = ipv6_fragment_header(60, off, off == 0, 42);
      chain.append(fragmentable.span().subspan(off, len));
      Ipv6Spec s;
      s.next_header = 44;
      frames.push_back(ethernet_frame(kEtherTypeIpv6, ipv6_packet(s, chain.span()).span()));
    }
    Decoder d;
    DecodedPacket p;
    CHECK(d.decode(raw(frames[0]), p) == DecodeStatus::kFragmentHeld);
    REQUIRE(d.decode(raw(frames[1]), p) == DecodeStatus::kTransport);
    CHECK(p.protocol == kProtoUdp);
    CHECK(p.transport.dst_port == 443);
    CHECK(same_bytes(p.transport.payload, payload.span()));
    CHECK(p.wire_packets == 2);
  }

  TEST_CASE("a fragment cut by the snaplen is malformed and not held") {
    Ipv4Spec s;
    s.more_fragments = true;
    s.protocol = kProtoUdp;
    const Bytes frame = ethernet_frame(kEtherTypeIpv4, ipv4_packet(s, payload_bytes(200).span()).span());
    Bytes cut;
    cut.append(frame.prefix(100));
    Decoder d;
    DecodedPacket p;
    CHECK(d.decode(raw(cut), p) == DecodeStatus::kMalformed);
    CHECK(d.counters().fragments == 1);
    CHECK(d.anomalies().get(Anomaly::kSnaplenCutPayload) == 1);
  }

  TEST_CASE("a datagram whose other fragments never come is counted at the end, not forgotten") {
    Ipv4Spec s;
    s.more_fragments = true;  // a first fragment alone (its ports are there, the rest never comes)
    s.protocol = kProtoTcp;
    s.id = 0x9d0f;
    const Bytes frame = ethernet_frame(kEtherTypeIpv4, ipv4_packet(s, payload_bytes(64).span()).span());
    Decoder d;
    DecodedPacket p;
    CHECK(d.decode(raw(frame), p) == DecodeStatus::kFragmentHeld);
    CHECK(d.anomalies().get(Anomaly::kFragmentTimeout) == 0);
    d.finish();
    CHECK(d.anomalies().get(Anomaly::kFragmentTimeout) == 1);
    d.finish();  // once
    CHECK(d.anomalies().get(Anomaly::kFragmentTimeout) == 1);
  }

  TEST_CASE("an IPv6 atomic fragment goes straight to the transport") {
    Bytes chain = ipv6_fragment_header(kProtoUdp, 0, false, 1);
    chain.append(udp_datagram(UdpSpec{}, payload_bytes(5).span()));
    Ipv6Spec s;
    s.next_header = 44;
    const Bytes frame = ethernet_frame(kEtherTypeIpv6, ipv6_packet(s, chain.span()).span());
    Decoder d;
    DecodedPacket p;
    CHECK(d.decode(raw(frame), p) == DecodeStatus::kTransport);
    CHECK(p.transport.payload.size() == 5);
    CHECK(d.counters().fragments == 0);
  }
}
