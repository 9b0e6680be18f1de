#include "analysis/packet/link_layer.h"

#include <doctest/doctest.h>

#include "unit/packet_builder.h"

using namespace flowaudit::analysis::packet;
using flowaudit::test::Bytes;
using flowaudit::test::ethernet_frame;
using flowaudit::test::payload_bytes;

namespace {

const Bytes kIpv4Payload = [] {
  Bytes b;
  b.u8(0x45).zeros(27);  // looks like IPv4 to version sniffing
  return b;
}();
const Bytes kIpv6Payload = [] {
  Bytes b;
  b.u8(0x60).zeros(47);
  return b;
}();

// Owns a copy of the frame, so that the payload span stays valid however the frame was made.
struct Decoded {
  Bytes frame;
  LinkStatus status;
  NetworkLayer net;
  AnomalyCounters anomalies;
};

Decoded decode(std::uint32_t lt, std::span<const std::uint8_t> frame) {
  Decoded d{};
  d.frame.append(frame);
  d.status = decode_link(lt, d.frame.span(), d.net, d.anomalies);
  return d;
}

Decoded decode(std::uint32_t lt, const Bytes& frame) { return decode(lt, frame.span()); }

bool same_bytes(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

Bytes sll(std::uint16_t protocol, const Bytes& payload) {
  Bytes b;
  b.u16be(0).u16be(1).u16be(6).u8(2).zeros(5).zeros(2).u16be(protocol).append(payload);
  return b;
}

Bytes sll2(std::uint16_t protocol, const Bytes& payload) {
  Bytes b;
  b.u16be(protocol).u16be(0).u32be(3).u16be(1).u8(4).u8(6).u8(2).zeros(7).append(payload);
  return b;
}

// For every prefix of `frame`: never a crash; Malformed with `anomaly` below `header`, Ok above.
void check_prefixes(std::uint32_t lt, const Bytes& frame, std::size_t header, Anomaly anomaly) {
  for (std::size_t n = 0; n <= frame.size(); ++n) {
    CAPTURE(n);
    const Decoded d = decode(lt, frame.prefix(n));
    if (n < header) {
      CHECK(d.status == LinkStatus::kMalformed);
      CHECK(d.anomalies.get(anomaly) == 1);
    } else {
      CHECK(d.status == LinkStatus::kOk);
      CHECK(d.net.payload.size() == n - header);
    }
  }
}

}  // namespace

TEST_SUITE("analysis.packet.link_layer") {
  TEST_CASE("supported link types") {
    for (const std::uint32_t lt : {0u, 1u, 101u, 108u, 113u, 228u, 229u, 276u}) CHECK(is_supported_link_type(lt));
    for (const std::uint32_t lt : {12u, 14u, 147u, 253u, 9999u}) CHECK_FALSE(is_supported_link_type(lt));
  }

  TEST_CASE("Ethernet") {
    const Bytes f = ethernet_frame(kEtherTypeIpv4, kIpv4Payload.span());
    const Decoded d = decode(linktype::kEthernet, f);
    CHECK(d.status == LinkStatus::kOk);
    CHECK(d.net.ether_type == kEtherTypeIpv4);
    CHECK(same_bytes(d.net.payload, kIpv4Payload.span()));
    CHECK(d.net.vlan_count == 0);

    const Decoded arp = decode(linktype::kEthernet, ethernet_frame(0x0806, payload_bytes(28).span()));
    CHECK(arp.status == LinkStatus::kOk);
    CHECK(arp.net.ether_type == 0x0806);
  }

  TEST_CASE("Ethernet truncated at every length") {
    check_prefixes(linktype::kEthernet, ethernet_frame(kEtherTypeIpv6, kIpv6Payload.span()), 14,
                   Anomaly::kTruncatedLinkHeader);
  }

  TEST_CASE("Linux cooked capture v1") {
    const Decoded d = decode(linktype::kLinuxSll, sll(kEtherTypeIpv6, kIpv6Payload));
    CHECK(d.status == LinkStatus::kOk);
    CHECK(d.net.ether_type == kEtherTypeIpv6);
    CHECK(same_bytes(d.net.payload, kIpv6Payload.span()));
    check_prefixes(linktype::kLinuxSll, sll(kEtherTypeIpv4, kIpv4Payload), 16, Anomaly::kTruncatedLinkHeader);
  }

  TEST_CASE("Linux cooked capture v2") {
    const Decoded d = decode(linktype::kLinuxSll2, sll2(kEtherTypeIpv4, kIpv4Payload));
    CHECK(d.status == LinkStatus::kOk);
    CHECK(d.net.ether_type == kEtherTypeIpv4);
    CHECK(same_bytes(d.net.payload, kIpv4Payload.span()));
    check_prefixes(linktype::kLinuxSll2, sll2(kEtherTypeIpv6, kIpv6Payload), 20, Anomaly::kTruncatedLinkHeader);
  }

  TEST_CASE("raw IP sniffs the version") {
    const Decoded v4 = decode(linktype::kRaw, kIpv4Payload);
    CHECK(v4.status == LinkStatus::kOk);
    CHECK(v4.net.ether_type == kEtherTypeIpv4);
    CHECK(same_bytes(v4.net.payload, kIpv4Payload.span()));
    const Decoded v6 = decode(linktype::kRaw, kIpv6Payload);
    CHECK(v6.net.ether_type == kEtherTypeIpv6);
    const Decoded other = decode(linktype::kRaw, Bytes{0x50, 0, 0, 0});
    CHECK(other.status == LinkStatus::kOk);
    CHECK(other.net.ether_type == 0);
    const Decoded empty = decode(linktype::kRaw, Bytes{});
    CHECK(empty.status == LinkStatus::kOk);
    CHECK(empty.net.ether_type == 0);
    CHECK(empty.net.payload.empty());
  }

  TEST_CASE("LINKTYPE_IPV4 and LINKTYPE_IPV6 name the family") {
    const Decoded v4 = decode(linktype::kIpv4, kIpv6Payload);  // the link type wins over the nibble
    CHECK(v4.net.ether_type == kEtherTypeIpv4);
    const Decoded v6 = decode(linktype::kIpv6, kIpv6Payload);
    CHECK(v6.net.ether_type == kEtherTypeIpv6);
    CHECK(same_bytes(v6.net.payload, kIpv6Payload.span()));
  }

  TEST_CASE("BSD null with little- and big-endian family") {
    struct Case {
      std::uint32_t af;
      bool big_endian;
      std::uint16_t ether_type;
    };
    for (const Case c : {Case{2, false, kEtherTypeIpv4}, Case{2, true, kEtherTypeIpv4},
                         Case{24, false, kEtherTypeIpv6}, Case{28, false, kEtherTypeIpv6},
                         Case{30, false, kEtherTypeIpv6}, Case{30, true, kEtherTypeIpv6},
                         Case{10, false, kEtherTypeIpv6}, Case{7, false, 0}, Case{7, true, 0}}) {
      CAPTURE(c.af);
      CAPTURE(c.big_endian);
      Bytes f;
      f.u32(c.af, c.big_endian).append(kIpv4Payload);
      const Decoded d = decode(linktype::kNull, f);
      CHECK(d.status == LinkStatus::kOk);
      CHECK(d.net.ether_type == c.ether_type);
      CHECK(d.net.payload.size() == kIpv4Payload.size());
    }
    Bytes f;
    f.u32le(2).append(kIpv4Payload);
    check_prefixes(linktype::kNull, f, 4, Anomaly::kTruncatedLinkHeader);
  }

  TEST_CASE("loop (family in network order)") {
    Bytes f;
    f.u32be(2).append(kIpv4Payload);
    const Decoded d = decode(linktype::kLoop, f);
    CHECK(d.status == LinkStatus::kOk);
    CHECK(d.net.ether_type == kEtherTypeIpv4);
    Bytes g;
    g.u32be(30).append(kIpv6Payload);
    CHECK(decode(linktype::kLoop, g).net.ether_type == kEtherTypeIpv6);
    check_prefixes(linktype::kLoop, g, 4, Anomaly::kTruncatedLinkHeader);
  }

  TEST_CASE("802.1Q tag") {
    const Bytes f = ethernet_frame(kEtherTypeIpv4, kIpv4Payload.span(), {{0x8100, 42}});
    const Decoded d = decode(linktype::kEthernet, f);
    CHECK(d.status == LinkStatus::kOk);
    CHECK(d.net.ether_type == kEtherTypeIpv4);
    CHECK(d.net.vlan_count == 1);
    CHECK(d.net.vlan_ids[0] == 42);  // priority bits masked off
    CHECK(same_bytes(d.net.payload, kIpv4Payload.span()));
    for (std::size_t n = 0; n <= f.size(); ++n) {
      CAPTURE(n);
      const Decoded t = decode(linktype::kEthernet, f.prefix(n));
      if (n < 14) {
        CHECK(t.status == LinkStatus::kMalformed);
        CHECK(t.anomalies.get(Anomaly::kTruncatedLinkHeader) == 1);
      } else if (n < 18) {
        CHECK(t.status == LinkStatus::kMalformed);
        CHECK(t.anomalies.get(Anomaly::kTruncatedVlanTag) == 1);
      } else {
        CHECK(t.status == LinkStatus::kOk);
        CHECK(t.net.payload.size() == n - 18);
      }
    }
  }

  TEST_CASE("802.1ad outer tag with 802.1Q inner tag") {
    const Bytes f = ethernet_frame(kEtherTypeIpv6, kIpv6Payload.span(), {{0x88A8, 100}, {0x8100, 200}});
    const Decoded d = decode(linktype::kEthernet, f);
    CHECK(d.status == LinkStatus::kOk);
    CHECK(d.net.ether_type == kEtherTypeIpv6);
    CHECK(d.net.vlan_count == 2);
    CHECK(d.net.vlan_ids[0] == 100);
    CHECK(d.net.vlan_ids[1] == 200);
    CHECK(d.net.payload.size() == kIpv6Payload.size());
    const Decoded old = decode(linktype::kEthernet,
                               ethernet_frame(kEtherTypeIpv4, kIpv4Payload.span(), {{0x9100, 7}, {0x8100, 8}}));
    CHECK(old.status == LinkStatus::kOk);
    CHECK(old.net.vlan_count == 2);
    for (std::size_t n = 14; n < 22; ++n) {
      CAPTURE(n);
      const Decoded t = decode(linktype::kEthernet, f.prefix(n));
      CHECK(t.status == LinkStatus::kMalformed);
      CHECK(t.anomalies.get(Anomaly::kTruncatedVlanTag) == 1);
    }
  }

  TEST_CASE("VLAN tags on Linux cooked captures") {
    Bytes inner;
    inner.u16be(0x0005).u16be(kEtherTypeIpv4).append(kIpv4Payload);
    const Decoded d = decode(linktype::kLinuxSll, sll(0x8100, inner));
    CHECK(d.status == LinkStatus::kOk);
    CHECK(d.net.ether_type == kEtherTypeIpv4);
    CHECK(d.net.vlan_count == 1);
    CHECK(d.net.vlan_ids[0] == 5);
  }

  TEST_CASE("up to four tags are stripped, a fifth is too many") {
    const Bytes four = ethernet_frame(kEtherTypeIpv4, kIpv4Payload.span(),
                                      {{0x88A8, 1}, {0x8100, 2}, {0x8100, 3}, {0x8100, 4}});
    const Decoded d4 = decode(linktype::kEthernet, four);
    CHECK(d4.status == LinkStatus::kOk);
    CHECK(d4.net.ether_type == kEtherTypeIpv4);
    CHECK(d4.net.vlan_count == 2);  // the two outermost are kept
    CHECK(d4.net.vlan_ids[0] == 1);
    CHECK(d4.net.vlan_ids[1] == 2);
    CHECK(d4.net.payload.size() == kIpv4Payload.size());

    const Bytes five = ethernet_frame(kEtherTypeIpv4, kIpv4Payload.span(),
                                      {{0x88A8, 1}, {0x8100, 2}, {0x8100, 3}, {0x8100, 4}, {0x8100, 5}});
    const Decoded d5 = decode(linktype::kEthernet, five);
    CHECK(d5.status == LinkStatus::kMalformed);
    CHECK(d5.anomalies.get(Anomaly::kTooManyVlanTags) == 1);
  }

  TEST_CASE("unsupported link type") {
    const Decoded d = decode(147, payload_bytes(30));
    CHECK(d.status == LinkStatus::kUnsupported);
    CHECK(d.anomalies.get(Anomaly::kUnsupportedLinkType) == 1);
  }

  TEST_CASE("the output is reset on every call") {
    NetworkLayer net;
    AnomalyCounters a;
    const Bytes tagged = ethernet_frame(kEtherTypeIpv4, kIpv4Payload.span(), {{0x8100, 9}});
    CHECK(decode_link(linktype::kEthernet, tagged.span(), net, a) == LinkStatus::kOk);
    CHECK(net.vlan_count == 1);
    CHECK(decode_link(linktype::kRaw, kIpv6Payload.span(), net, a) == LinkStatus::kOk);
    CHECK(net.vlan_count == 0);
    CHECK(net.vlan_ids[0] == 0);
  }
}
