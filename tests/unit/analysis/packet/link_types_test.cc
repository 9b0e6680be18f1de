// PPP family, PPPoE, MPLS, NFLOG, 802.11 (bare, radiotap, PPI) and the one link-type table.
#include <doctest/doctest.h>

#include "analysis/packet/decoder.h"
#include "capture/link_types.h"
#include "unit/packet_builder.h"

using namespace flowaudit::analysis::packet;
using flowaudit::capture::RawPacket;
using flowaudit::test::Bytes;
using flowaudit::test::ethernet_frame;
using flowaudit::test::ipv4_packet;
using flowaudit::test::Ipv4Spec;
using flowaudit::test::tcp_segment;
using flowaudit::test::TcpSpec;

namespace {

const Bytes kIp = ipv4_packet(Ipv4Spec{}, tcp_segment(TcpSpec{}).span());

struct Result {
  DecodeStatus status;
  DecodedPacket packet;
  DecodeCounters counters;
  AnomalyCounters anomalies;
};

Result run(std::uint32_t link_type, std::span<const std::uint8_t> frame) {
  Decoder d;
  RawPacket raw;
  raw.link_type = link_type;
  raw.data = frame;
  Result r{};
  r.status = d.decode(raw, r.packet);
  r.counters = d.counters();
  r.anomalies = d.anomalies();
  return r;
}

// Every prefix shorter than the whole frame decodes without a crash and never as TCP with a
// different address; the whole frame decodes as the TCP packet kIp.
void check(std::uint32_t link_type, const Bytes& frame) {
  const Result whole = run(link_type, frame.span());
  REQUIRE(whole.status == DecodeStatus::kTransport);
  CHECK(whole.packet.src.to_string() == "10.0.0.2");
  CHECK(whole.packet.dst.to_string() == "93.184.216.34");
  CHECK(whole.packet.transport.dst_port == 443);
  for (std::size_t n = 0; n < frame.size(); ++n) {
    CAPTURE(n);
    const Result cut = run(link_type, frame.prefix(n));
    if (cut.status == DecodeStatus::kTransport) CHECK(cut.packet.src.to_string() == "10.0.0.2");
  }
}

Bytes wlan_data(std::uint8_t subtype, std::uint8_t flags, const Bytes& body) {
  Bytes b;
  b.u8(0x08 | (subtype << 4)).u8(flags).u16le(0);  // data frame, flags, duration
  b.zeros(18).u16le(0);                            // three addresses, sequence control
  if ((flags & 0x03) == 0x03) b.zeros(6);
  if ((subtype & 0x08) != 0) b.u16le(0);  // QoS control
  b.append(body);
  return b;
}

Bytes snap(std::uint16_t ether_type, const Bytes& payload) {
  Bytes b;
  b.u8(0xAA).u8(0xAA).u8(0x03).zeros(3).u16be(ether_type).append(payload);
  return b;
}

}  // namespace

TEST_SUITE("analysis.packet.link_types") {
  TEST_CASE("one table: decoder, names and messages agree") {
    using namespace flowaudit::capture;
    for (const LinkTypeInfo& t : link_types()) {
      CAPTURE(t.name);
      CHECK(is_supported_link_type(t.value) == t.supported);
      CHECK(link_type_name(t.value) == t.name);
      NetworkLayer net;
      AnomalyCounters a;
      const bool decoder_knows = decode_link(t.value, {}, net, a) != LinkStatus::kUnsupported;
      CHECK(decoder_knows == t.supported);
      if (t.supported) CHECK(supported_link_type_names().find(t.name) != std::string::npos);
    }
    CHECK(unsupported_link_type_message(253).find("netlink") != std::string::npos);
    CHECK(unsupported_link_type_message(253).find("not IP") != std::string::npos);
    CHECK(unsupported_link_type_message(147).find("supported: ethernet") != std::string::npos);
  }

  TEST_CASE("PPP: with and without address/control, compressed protocol, direction byte, HDLC") {
    check(linktype::kPpp, Bytes{}.u8(0xFF).u8(0x03).u16be(0x0021).append(kIp));
    check(linktype::kPpp, Bytes{}.u16be(0x0021).append(kIp));
    check(linktype::kPpp, Bytes{}.u8(0x21).append(kIp));  // protocol field compression
    check(linktype::kPppWithDir, Bytes{}.u8(0x01).u8(0xFF).u8(0x03).u16be(0x0021).append(kIp));
    check(linktype::kPppHdlc, Bytes{}.u8(0xFF).u8(0x03).u16be(0x0021).append(kIp));
    check(linktype::kPppHdlc, Bytes{}.u8(0x0F).u8(0x00).u16be(0x0800).append(kIp));  // Cisco HDLC
    check(linktype::kCiscoHdlc, Bytes{}.u8(0x8F).u8(0x00).u16be(0x0800).append(kIp));
    // LCP is PPP, not IP: counted as such.
    const Result lcp = run(linktype::kPpp, Bytes{}.u8(0xFF).u8(0x03).u16be(0xC021).append(kIp).span());
    CHECK(lcp.status == DecodeStatus::kNotIp);
  }

  TEST_CASE("PPPoE session inside Ethernet and VLAN; discovery is not IP") {
    const Bytes pppoe = Bytes{}.u8(0x11).u8(0x00).u16be(0x0001).u16be(static_cast<unsigned>(kIp.size() + 2))
                            .u16be(0x0021).append(kIp);
    check(linktype::kEthernet, ethernet_frame(0x8864, pppoe.span()));
    check(linktype::kEthernet, ethernet_frame(0x8864, pppoe.span(), {{0x8100, 7}}));
    check(linktype::kPppEther, pppoe);
    CHECK(run(linktype::kEthernet, ethernet_frame(0x8863, pppoe.span()).span()).status == DecodeStatus::kNotIp);
  }

  TEST_CASE("MPLS: label stack to the bottom, then the version nibble; pseudowire with control word") {
    check(linktype::kEthernet, ethernet_frame(0x8847, Bytes{}.u32be(0x00010040).u32be(0x00020140).append(kIp).span()));
    const Bytes pw = Bytes{}.u32be(0x00010140).u32be(0).append(ethernet_frame(0x0800, kIp.span()));
    check(linktype::kEthernet, ethernet_frame(0x8847, pw.span()));
    Bytes deep;
    for (int i = 0; i < kMaxMplsLabels + 1; ++i) deep.u32be(0x00010040);
    deep.u32be(0x00010140).append(kIp);
    const Result r = run(linktype::kEthernet, ethernet_frame(0x8847, deep.span()).span());
    CHECK(r.status == DecodeStatus::kMalformed);
    CHECK(r.anomalies.get(Anomaly::kTooManyMplsLabels) == 1);
  }

  TEST_CASE("NFLOG: attributes in either byte order, payload found, cut payload taken") {
    for (const bool big : {false, true}) {
      CAPTURE(big);
      Bytes f;
      f.u8(2).u8(0).u16be(5);
      f.u16(8, big).u16(1, big).u16be(0x0800).u8(3).u8(0);  // NFULA_PACKET_HDR, 4 bytes
      f.u16(4 + 6, big).u16(10, big).text("web").u8(0).zeros(2).zeros(2);  // prefix, padded
      f.u16(static_cast<unsigned>(4 + kIp.size()), big).u16(9, big).append(kIp);
      check(linktype::kNflog, f);
    }
    Bytes none;
    none.u8(2).u8(0).u16be(5).u16le(8).u16le(1).zeros(4);
    const Result r = run(linktype::kNflog, none.span());
    CHECK(r.status == DecodeStatus::kNotIp);
    CHECK(r.counters.nflog_no_payload == 1);
    Bytes bad;
    bad.u8(2).u8(0).u16be(5).u16le(2).u16le(1);
    CHECK(run(linktype::kNflog, bad.span()).anomalies.get(Anomaly::kBadNflogAttribute) == 1);
  }

  TEST_CASE("802.11: data frames with SNAP, QoS, four addresses; protected and management counted") {
    check(linktype::kIeee80211, wlan_data(0, 0x01, snap(0x0800, kIp)));
    check(linktype::kIeee80211, wlan_data(8, 0x02, snap(0x0800, kIp)));  // QoS data
    check(linktype::kIeee80211, wlan_data(8, 0x03, snap(0x0800, kIp)));  // WDS, four addresses
    const Result prot = run(linktype::kIeee80211, wlan_data(8, 0x41, snap(0x0800, kIp)).span());
    CHECK(prot.status == DecodeStatus::kNotIp);
    CHECK(prot.counters.wlan_protected == 1);
    Bytes beacon;
    beacon.u8(0x80).u8(0).zeros(22).zeros(12);
    const Result mgmt = run(linktype::kIeee80211, beacon.span());
    CHECK(mgmt.status == DecodeStatus::kNotIp);
    CHECK(mgmt.counters.wlan_non_data == 1);
    const Result null_data = run(linktype::kIeee80211, wlan_data(4, 0x01, Bytes{}).span());
    CHECK(null_data.counters.wlan_non_data == 1);
  }

  TEST_CASE("radiotap (with TSFT and flags: FCS at the end) and PPI in front of 802.11") {
    const Bytes frame = wlan_data(8, 0x02, snap(0x0800, kIp));
    Bytes rt;
    rt.u8(0).u8(0).u16le(8 + 8 + 1 + 1).u32le(0x03).u64le(123456).u8(0x10).u8(0).append(frame).u32be(0xDEADBEEF);
    check(linktype::kRadiotap, rt);
    Bytes plain;
    plain.u8(0).u8(0).u16le(8).u32le(0).append(frame);
    check(linktype::kRadiotap, plain);
    Bytes ppi;
    ppi.u8(0).u8(0).u16le(8).u32le(105).append(frame);
    check(linktype::kPpi, ppi);
    Bytes bad;
    bad.u8(0).u8(0).u16le(200).u32le(0).append(frame);
    CHECK(run(linktype::kRadiotap, bad.span()).status == DecodeStatus::kMalformed);
  }
}
