#include "analysis/packet/ip.h"

#include <doctest/doctest.h>

#include "analysis/packet/link_layer.h"
#include "unit/packet_builder.h"

using namespace flowaudit::analysis::packet;
using flowaudit::core::IpAddress;
using flowaudit::test::Bytes;
using flowaudit::test::ipv4_packet;
using flowaudit::test::Ipv4Spec;
using flowaudit::test::ipv6_ext;
using flowaudit::test::ipv6_fragment_header;
using flowaudit::test::ipv6_packet;
using flowaudit::test::Ipv6Spec;
using flowaudit::test::payload_bytes;

namespace {

// Owns a copy of the packet, so that the payload span stays valid however the packet was made.
struct V4 {
  Bytes packet;
  IpStatus status;
  IpLayer ip;
  AnomalyCounters anomalies;
};

V4 v4(std::span<const std::uint8_t> b) {
  V4 r{};
  r.packet.append(b);
  r.status = decode_ipv4(r.packet.span(), r.ip, r.anomalies);
  return r;
}
V4 v6(std::span<const std::uint8_t> b) {
  V4 r{};
  r.packet.append(b);
  r.status = decode_ipv6(r.packet.span(), r.ip, r.anomalies);
  return r;
}

bool same_bytes(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

std::uint64_t total_anomalies(const AnomalyCounters& a) {
  std::uint64_t n = 0;
  for (const auto c : a.all()) n += c;
  return n;
}

}  // namespace

TEST_SUITE("analysis.packet.ip") {
  TEST_CASE("IPv4 plain") {
    const Bytes payload = payload_bytes(30);
    Ipv4Spec s;
    s.protocol = 17;
    const Bytes pkt = ipv4_packet(s, payload.span());
    const V4 r = v4(pkt.span());
    REQUIRE(r.status == IpStatus::kOk);
    CHECK(r.ip.src == *IpAddress::parse("10.0.0.2"));
    CHECK(r.ip.dst == *IpAddress::parse("93.184.216.34"));
    CHECK(r.ip.protocol == 17);
    CHECK(r.ip.total_length == 50);
    CHECK(same_bytes(r.ip.payload, payload.span()));
    CHECK_FALSE(r.ip.payload_cut);
    CHECK_FALSE(r.ip.is_fragment);
    CHECK(r.ip.fragment_id == 0x1234);
    CHECK(total_anomalies(r.anomalies) == 0);
  }

  TEST_CASE("IPv4 with options") {
    for (const std::size_t words : {std::size_t{1}, std::size_t{10}}) {
      CAPTURE(words);
      const Bytes payload = payload_bytes(12);
      Ipv4Spec s;
      s.option_words = words;
      const Bytes pkt = ipv4_packet(s, payload.span());
      const V4 r = v4(pkt.span());
      REQUIRE(r.status == IpStatus::kOk);
      CHECK(same_bytes(r.ip.payload, payload.span()));
      CHECK(r.ip.total_length == 20 + 4 * words + 12);
    }
  }

  TEST_CASE("IPv4 truncated at every length") {
    Ipv4Spec s;
    s.option_words = 1;
    const Bytes pkt = ipv4_packet(s, payload_bytes(16).span());  // header 24, total 40
    for (std::size_t n = 0; n <= pkt.size(); ++n) {
      CAPTURE(n);
      const V4 r = v4(pkt.prefix(n));
      if (n < 24) {
        CHECK(r.status == IpStatus::kMalformed);
        CHECK(r.anomalies.get(Anomaly::kTruncatedIpv4Header) == 1);
      } else {
        CHECK(r.status == IpStatus::kOk);
        CHECK(r.ip.payload.size() == n - 24);
        CHECK(r.ip.payload_cut == (n < pkt.size()));
        CHECK(r.ip.total_length == 40);
      }
    }
  }

  TEST_CASE("IPv4 bad IHL") {
    for (const int ihl : {0, 1, 4}) {
      CAPTURE(ihl);
      Ipv4Spec s;
      s.ihl_override = ihl;
      const V4 r = v4(ipv4_packet(s, payload_bytes(20).span()).span());
      CHECK(r.status == IpStatus::kMalformed);
      CHECK(r.anomalies.get(Anomaly::kBadIpv4HeaderLength) == 1);
    }
    Ipv4Spec big;
    big.ihl_override = 15;  // 60 bytes of header, 24 present
    const V4 r = v4(ipv4_packet(big, payload_bytes(4).span()).span());
    CHECK(r.status == IpStatus::kMalformed);
    CHECK(r.anomalies.get(Anomaly::kTruncatedIpv4Header) == 1);
  }

  TEST_CASE("IPv4 version mismatch") {
    Ipv4Spec s;
    s.version = 6;
    const V4 r = v4(ipv4_packet(s, payload_bytes(20).span()).span());
    CHECK(r.status == IpStatus::kMalformed);
    CHECK(r.anomalies.get(Anomaly::kIpVersionMismatch) == 1);
  }

  TEST_CASE("IPv4 total length shorter than the header") {
    for (const int total : {1, 19}) {
      Ipv4Spec s;
      s.total_length_override = total;
      const V4 r = v4(ipv4_packet(s, payload_bytes(20).span()).span());
      CHECK(r.status == IpStatus::kMalformed);
      CHECK(r.anomalies.get(Anomaly::kBadIpv4TotalLength) == 1);
    }
    Ipv4Spec opt;
    opt.option_words = 1;
    opt.total_length_override = 20;  // header is 24
    const V4 r = v4(ipv4_packet(opt, payload_bytes(20).span()).span());
    CHECK(r.status == IpStatus::kMalformed);
    CHECK(r.anomalies.get(Anomaly::kBadIpv4TotalLength) == 1);
  }

  TEST_CASE("IPv4 total length 0 (segmentation offload) takes what was captured") {
    Ipv4Spec s;
    s.total_length_override = 0;
    const V4 r = v4(ipv4_packet(s, payload_bytes(100).span()).span());
    REQUIRE(r.status == IpStatus::kOk);
    CHECK(r.ip.payload.size() == 100);
    CHECK(r.ip.total_length == 120);
    CHECK_FALSE(r.ip.payload_cut);
  }

  TEST_CASE("Ethernet padding is trimmed") {
    Ipv4Spec s;
    s.protocol = 6;
    const Bytes payload = payload_bytes(6);
    const Bytes frame = flowaudit::test::ethernet_frame(kEtherTypeIpv4, ipv4_packet(s, payload.span()).span());
    Bytes padded = frame;
    padded.zeros(60 - padded.size());  // minimum Ethernet frame
    NetworkLayer net;
    AnomalyCounters a;
    REQUIRE(decode_link(linktype::kEthernet, padded.span(), net, a) == LinkStatus::kOk);
    CHECK(net.payload.size() == 46);
    const V4 r = v4(net.payload);
    REQUIRE(r.status == IpStatus::kOk);
    CHECK(same_bytes(r.ip.payload, payload.span()));
    CHECK_FALSE(r.ip.payload_cut);
    CHECK(r.ip.total_length == 26);
  }

  TEST_CASE("IPv4 cut by the snaplen") {
    const Bytes pkt = ipv4_packet(Ipv4Spec{}, payload_bytes(80).span());
    const V4 r = v4(pkt.prefix(60));
    REQUIRE(r.status == IpStatus::kOk);
    CHECK(r.ip.payload_cut);
    CHECK(r.ip.payload.size() == 40);
    CHECK(r.ip.total_length == 100);
  }

  TEST_CASE("IPv4 fragment fields") {
    Ipv4Spec first;
    first.more_fragments = true;
    first.id = 0xBEEF;
    const V4 a = v4(ipv4_packet(first, payload_bytes(16).span()).span());
    REQUIRE(a.status == IpStatus::kOk);
    CHECK(a.ip.is_fragment);
    CHECK(a.ip.more_fragments);
    CHECK(a.ip.fragment_offset == 0);
    CHECK(a.ip.fragment_id == 0xBEEF);

    Ipv4Spec middle = first;
    middle.fragment_offset = 1480;
    const V4 b = v4(ipv4_packet(middle, payload_bytes(16).span()).span());
    CHECK(b.ip.is_fragment);
    CHECK(b.ip.fragment_offset == 1480);

    Ipv4Spec last;
    last.fragment_offset = 65528;  // the largest offset the field can hold
    const V4 c = v4(ipv4_packet(last, payload_bytes(8).span()).span());
    CHECK(c.ip.is_fragment);
    CHECK_FALSE(c.ip.more_fragments);
    CHECK(c.ip.fragment_offset == 65528);

    Ipv4Spec df;
    df.dont_fragment = true;
    const V4 d = v4(ipv4_packet(df, payload_bytes(8).span()).span());
    CHECK_FALSE(d.ip.is_fragment);
    CHECK_FALSE(d.ip.more_fragments);
  }

  TEST_CASE("IPv6 plain") {
    const Bytes payload = payload_bytes(24);
    Ipv6Spec s;
    s.next_header = 17;
    const V4 r = v6(ipv6_packet(s, payload.span()).span());
    REQUIRE(r.status == IpStatus::kOk);
    CHECK(r.ip.src == *IpAddress::parse("2001:db8::2"));
    CHECK(r.ip.dst == *IpAddress::parse("2606:4700::1111"));
    CHECK(r.ip.protocol == 17);
    CHECK(r.ip.total_length == 64);
    CHECK(same_bytes(r.ip.payload, payload.span()));
    CHECK_FALSE(r.ip.is_fragment);
    CHECK_FALSE(r.ip.payload_cut);
    CHECK(total_anomalies(r.anomalies) == 0);
  }

  TEST_CASE("IPv6 version mismatch") {
    Ipv6Spec s;
    s.version = 4;
    const V4 r = v6(ipv6_packet(s, payload_bytes(8).span()).span());
    CHECK(r.status == IpStatus::kMalformed);
    CHECK(r.anomalies.get(Anomaly::kIpVersionMismatch) == 1);
  }

  TEST_CASE("IPv6 hop-by-hop, routing and destination options chain, then truncated at every length") {
    const Bytes udp = payload_bytes(18);
    Bytes chain;
    chain.append(ipv6_ext(43, 0));  // hop-by-hop, 8 bytes, next routing
    chain.append(ipv6_ext(60, 2));  // routing, 24 bytes, next destination options
    chain.append(ipv6_ext(17, 0));  // destination options, 8 bytes, next UDP
    chain.append(udp);
    Ipv6Spec s;
    s.next_header = 0;
    const Bytes pkt = ipv6_packet(s, chain.span());
    const V4 r = v6(pkt.span());
    REQUIRE(r.status == IpStatus::kOk);
    CHECK(r.ip.protocol == 17);
    CHECK(same_bytes(r.ip.payload, udp.span()));
    CHECK(r.ip.total_length == pkt.size());

    for (std::size_t n = 0; n <= pkt.size(); ++n) {
      CAPTURE(n);
      const V4 t = v6(pkt.prefix(n));
      if (n < 40) {
        CHECK(t.status == IpStatus::kMalformed);
        CHECK(t.anomalies.get(Anomaly::kTruncatedIpv6Header) == 1);
      } else if (n < 80) {
        CHECK(t.status == IpStatus::kMalformed);
        CHECK(t.anomalies.get(Anomaly::kTruncatedIpv6Extension) == 1);
      } else {
        CHECK(t.status == IpStatus::kOk);
        CHECK(t.ip.payload.size() == n - 80);
        CHECK(t.ip.payload_cut == (n < pkt.size()));
      }
    }
  }

  TEST_CASE("IPv6 routing header with segments left: the flow's destination is the final one") {
    // Type 0 with two addresses, two segments left (as a source-routed DNS query), then UDP.
    Bytes chain;
    chain.u8(17).u8(4).u8(0).u8(2).zeros(4);
    chain.u32be(0x20010078).u32be(0x00010032).u32be(0).u32be(1);  // 2001:78:1:32::1
    chain.u32be(0x20010078).u32be(0x00010032).u32be(0).u32be(2);  // 2001:78:1:32::2
    const Bytes udp = payload_bytes(12);
    chain.append(udp);
    Ipv6Spec s;
    s.next_header = 43;
    const V4 r = v6(ipv6_packet(s, chain.span()).span());
    REQUIRE(r.status == IpStatus::kOk);
    CHECK(r.ip.dst == *IpAddress::parse("2001:78:1:32::2"));
    CHECK(r.ip.protocol == 17);
    CHECK(same_bytes(r.ip.payload, udp.span()));
    CHECK(r.anomalies.get(Anomaly::kIpv6RoutedDestination) == 1);

    // Segment Routing (type 4): the final segment is the first of the list; segments left 1.
    Bytes srh;
    srh.u8(6).u8(4).u8(4).u8(1).u8(1).u8(0).u16be(0);
    srh.u32be(0x20010db8).u32be(0).u32be(0).u32be(0xf1);  // 2001:db8::f1, the final destination
    srh.u32be(0x20010db8).u32be(0).u32be(0).u32be(0xa1);
    srh.append(payload_bytes(20));
    const V4 t = v6(ipv6_packet(s, srh.span()).span());
    REQUIRE(t.status == IpStatus::kOk);
    CHECK(t.ip.dst == *IpAddress::parse("2001:db8::f1"));
    CHECK(t.ip.protocol == 6);

    // No segments left: the wire destination is the final one.
    Bytes done;
    done.u8(17).u8(2).u8(0).u8(0).zeros(4).u32be(0x20010db8).zeros(12);
    done.append(udp);
    const V4 d = v6(ipv6_packet(s, done.span()).span());
    REQUIRE(d.status == IpStatus::kOk);
    CHECK(d.ip.dst == *IpAddress::parse("2606:4700::1111"));
    CHECK(d.anomalies.get(Anomaly::kIpv6RoutedDestination) == 0);
  }

  TEST_CASE("IPv6 authentication header counts its length in 4-byte units") {
    Bytes chain;
    chain.u8(6).u8(4).zeros(22);  // AH: (4 + 2) * 4 = 24 bytes, next TCP
    const Bytes tcp = payload_bytes(20);
    chain.append(tcp);
    Ipv6Spec s;
    s.next_header = 51;
    const V4 r = v6(ipv6_packet(s, chain.span()).span());
    REQUIRE(r.status == IpStatus::kOk);
    CHECK(r.ip.protocol == 6);
    CHECK(same_bytes(r.ip.payload, tcp.span()));
  }

  TEST_CASE("IPv6 fragment header") {
    Bytes chain = ipv6_fragment_header(17, 1448, true, 0xCAFEBABE);
    const Bytes data = payload_bytes(32);
    chain.append(data);
    Ipv6Spec s;
    s.next_header = 44;
    const V4 r = v6(ipv6_packet(s, chain.span()).span());
    REQUIRE(r.status == IpStatus::kOk);
    CHECK(r.ip.is_fragment);
    CHECK(r.ip.more_fragments);
    CHECK(r.ip.fragment_offset == 1448);
    CHECK(r.ip.fragment_id == 0xCAFEBABEu);
    CHECK(r.ip.protocol == 17);
    CHECK(same_bytes(r.ip.payload, data.span()));

    Bytes last = ipv6_fragment_header(6, 2896, false, 7);
    last.append(data);
    const V4 l = v6(ipv6_packet(s, last.span()).span());
    CHECK(l.ip.is_fragment);
    CHECK_FALSE(l.ip.more_fragments);
    CHECK(l.ip.fragment_offset == 2896);
  }

  TEST_CASE("IPv6 atomic fragment is a whole datagram") {
    Bytes chain = ipv6_fragment_header(17, 0, false, 99);
    chain.append(payload_bytes(12));
    Ipv6Spec s;
    s.next_header = 44;
    const V4 r = v6(ipv6_packet(s, chain.span()).span());
    REQUIRE(r.status == IpStatus::kOk);
    CHECK_FALSE(r.ip.is_fragment);
    CHECK(r.ip.protocol == 17);
    CHECK(r.ip.payload.size() == 12);
  }

  // Regression: after the fragment header of a real fragment come data bytes, not headers.
  TEST_CASE("IPv6 non-first fragment: the bytes after the fragment header are data") {
    Bytes chain = ipv6_fragment_header(60, 8, false, 5);  // fragmentable part starts with dest options
    Bytes data;
    data.u8(0xFF).u8(0xFF).zeros(14);  // 16 bytes of data that do not parse as a header
    chain.append(data);
    Ipv6Spec s;
    s.next_header = 44;
    const V4 r = v6(ipv6_packet(s, chain.span()).span());
    REQUIRE(r.status == IpStatus::kOk);
    CHECK(r.ip.is_fragment);
    CHECK(r.ip.fragment_offset == 8);
    CHECK(same_bytes(r.ip.payload, data.span()));
  }

  TEST_CASE("IPv6 with too many extension headers") {
    for (const int count : {8, 9}) {
      CAPTURE(count);
      Bytes chain;
      for (int i = 0; i < count; ++i) chain.append(ipv6_ext(i + 1 < count ? 60 : 17, 0));
      chain.append(payload_bytes(8));
      Ipv6Spec s;
      s.next_header = 60;
      const V4 r = v6(ipv6_packet(s, chain.span()).span());
      if (count <= kMaxIpv6ExtensionHeaders) {
        CHECK(r.status == IpStatus::kOk);
        CHECK(r.ip.protocol == 17);
        CHECK(r.ip.payload.size() == 8);
      } else {
        CHECK(r.status == IpStatus::kMalformed);
        CHECK(r.anomalies.get(Anomaly::kTooManyIpv6Extensions) == 1);
      }
    }
  }

  TEST_CASE("IPv6 truncated extension header") {
    SUBCASE("header longer than the packet") {
      Bytes chain;
      chain.u8(17).u8(3).zeros(6);  // claims 32 bytes, 8 present
      Ipv6Spec s;
      s.next_header = 0;
      const V4 r = v6(ipv6_packet(s, chain.span()).span());
      CHECK(r.status == IpStatus::kMalformed);
      CHECK(r.anomalies.get(Anomaly::kTruncatedIpv6Extension) == 1);
    }
    SUBCASE("header past the payload length, inside link padding") {
      Bytes chain = ipv6_ext(17, 1);  // 16 bytes
      Ipv6Spec s;
      s.next_header = 60;
      s.payload_length_override = 8;
      const V4 r = v6(ipv6_packet(s, chain.span()).span());
      CHECK(r.status == IpStatus::kMalformed);
      CHECK(r.anomalies.get(Anomaly::kTruncatedIpv6Extension) == 1);
    }
    SUBCASE("fragment header cut short") {
      Bytes chain;
      chain.u8(17).u8(0).u16be(8);
      Ipv6Spec s;
      s.next_header = 44;
      const V4 r = v6(ipv6_packet(s, chain.span()).span());
      CHECK(r.status == IpStatus::kMalformed);
      CHECK(r.anomalies.get(Anomaly::kTruncatedIpv6Extension) == 1);
    }
  }

  TEST_CASE("IPv6 padding trimmed and snaplen cut") {
    Ipv6Spec s;
    s.next_header = 17;
    Bytes pkt = ipv6_packet(s, payload_bytes(10).span());
    pkt.zeros(14);
    const V4 padded = v6(pkt.span());
    REQUIRE(padded.status == IpStatus::kOk);
    CHECK(padded.ip.payload.size() == 10);
    CHECK_FALSE(padded.ip.payload_cut);

    const Bytes big = ipv6_packet(s, payload_bytes(100).span());
    const V4 cut = v6(big.prefix(70));
    REQUIRE(cut.status == IpStatus::kOk);
    CHECK(cut.ip.payload_cut);
    CHECK(cut.ip.payload.size() == 30);
    CHECK(cut.ip.total_length == 140);
  }

  TEST_CASE("IPv6 payload length 0") {
    Ipv6Spec s;
    s.next_header = 6;
    s.payload_length_override = 0;
    const V4 jumbo = v6(ipv6_packet(s, payload_bytes(60).span()).span());
    REQUIRE(jumbo.status == IpStatus::kOk);
    CHECK(jumbo.anomalies.get(Anomaly::kIpv6Jumbogram) == 1);
    CHECK(jumbo.ip.payload.size() == 60);
    CHECK(jumbo.ip.total_length == 100);

    Ipv6Spec none;
    none.next_header = 59;  // no next header
    none.payload_length_override = 0;
    const V4 empty = v6(ipv6_packet(none, {}).span());
    REQUIRE(empty.status == IpStatus::kOk);
    CHECK(empty.anomalies.get(Anomaly::kIpv6Jumbogram) == 0);
    CHECK(empty.ip.payload.empty());
    CHECK(empty.ip.protocol == 59);
  }
}
