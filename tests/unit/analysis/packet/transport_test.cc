#include "analysis/packet/transport.h"

#include <doctest/doctest.h>

#include "unit/packet_builder.h"

using namespace flowaudit::analysis::packet;
using flowaudit::test::Bytes;
using flowaudit::test::payload_bytes;
using flowaudit::test::tcp_segment;
using flowaudit::test::TcpSpec;
using flowaudit::test::udp_datagram;
using flowaudit::test::UdpSpec;

namespace {

bool same_bytes(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

}  // namespace

TEST_SUITE("analysis.packet.transport") {
  TEST_CASE("TCP without options") {
    TcpSpec s;
    s.src_port = 51234;
    s.dst_port = 443;
    s.seq = 0xA0B0C0D0;
    s.ack = 0x01020304;
    s.flags = tcp_flag::kAck | tcp_flag::kPsh;
    const Bytes payload = payload_bytes(100);
    TransportLayer t;
    AnomalyCounters a;
    const Bytes seg = tcp_segment(s, payload.span());
    REQUIRE(decode_tcp(seg.span(), t, a) == TransportStatus::kOk);
    CHECK(t.src_port == 51234);
    CHECK(t.dst_port == 443);
    CHECK(t.tcp_seq == 0xA0B0C0D0u);
    CHECK(t.tcp_ack == 0x01020304u);
    CHECK(t.tcp_flags == (tcp_flag::kAck | tcp_flag::kPsh));
    CHECK(same_bytes(t.payload, payload.span()));
  }

  TEST_CASE("TCP with options, truncated at every length") {
    TcpSpec s;
    s.option_words = 3;  // data offset 8: 32-byte header
    s.flags = tcp_flag::kSyn;
    const Bytes payload = payload_bytes(5);
    const Bytes seg = tcp_segment(s, payload.span());
    TransportLayer t;
    AnomalyCounters ok;
    REQUIRE(decode_tcp(seg.span(), t, ok) == TransportStatus::kOk);
    CHECK(same_bytes(t.payload, payload.span()));
    CHECK(t.tcp_flags == tcp_flag::kSyn);

    for (std::size_t n = 0; n <= seg.size(); ++n) {
      CAPTURE(n);
      AnomalyCounters a;
      const auto st = decode_tcp(seg.prefix(n), t, a);
      if (n < 32) {
        CHECK(st == TransportStatus::kMalformed);
        CHECK(a.get(Anomaly::kTruncatedTcpHeader) == 1);
      } else {
        CHECK(st == TransportStatus::kOk);
        CHECK(t.payload.size() == n - 32);
      }
    }
  }

  TEST_CASE("TCP maximum data offset") {
    TcpSpec s;
    s.option_words = 10;  // 60-byte header
    TransportLayer t;
    AnomalyCounters a;
    CHECK(decode_tcp(tcp_segment(s, payload_bytes(1).span()).span(), t, a) == TransportStatus::kOk);
    CHECK(t.payload.size() == 1);
  }

  TEST_CASE("TCP bad data offset") {
    for (const int off : {0, 1, 4}) {
      CAPTURE(off);
      TcpSpec s;
      s.data_offset_override = off;
      TransportLayer t;
      AnomalyCounters a;
      CHECK(decode_tcp(tcp_segment(s, payload_bytes(40).span()).span(), t, a) == TransportStatus::kMalformed);
      CHECK(a.get(Anomaly::kBadTcpHeaderLength) == 1);
    }
    TcpSpec big;
    big.data_offset_override = 15;  // 60 bytes claimed, 30 present
    TransportLayer t;
    AnomalyCounters a;
    CHECK(decode_tcp(tcp_segment(big, payload_bytes(10).span()).span(), t, a) == TransportStatus::kMalformed);
    CHECK(a.get(Anomaly::kTruncatedTcpHeader) == 1);
  }

  TEST_CASE("UDP") {
    UdpSpec s;
    s.src_port = 5353;
    s.dst_port = 53;
    const Bytes payload = payload_bytes(33);
    TransportLayer t;
    AnomalyCounters a;
    const Bytes d = udp_datagram(s, payload.span());
    REQUIRE(decode_udp(d.span(), t, a) == TransportStatus::kOk);
    CHECK(t.src_port == 5353);
    CHECK(t.dst_port == 53);
    CHECK(t.tcp_flags == 0);
    CHECK(same_bytes(t.payload, payload.span()));
  }

  TEST_CASE("UDP truncated at every length") {
    const Bytes d = udp_datagram(UdpSpec{}, payload_bytes(12).span());
    for (std::size_t n = 0; n <= d.size(); ++n) {
      CAPTURE(n);
      TransportLayer t;
      AnomalyCounters a;
      const auto st = decode_udp(d.prefix(n), t, a);
      if (n < 8) {
        CHECK(st == TransportStatus::kMalformed);
        CHECK(a.get(Anomaly::kTruncatedUdpHeader) == 1);
      } else {
        CHECK(st == TransportStatus::kOk);
        CHECK(t.payload.size() == n - 8);  // cut datagrams give what is there
      }
    }
  }

  TEST_CASE("UDP length trims trailing bytes") {
    UdpSpec s;
    s.length_override = 8 + 4;
    Bytes d = udp_datagram(s, payload_bytes(20).span());
    TransportLayer t;
    AnomalyCounters a;
    REQUIRE(decode_udp(d.span(), t, a) == TransportStatus::kOk);
    CHECK(t.payload.size() == 4);
    CHECK(a.get(Anomaly::kBadUdpLength) == 0);
    UdpSpec exact;
    exact.length_override = 8;
    REQUIRE(decode_udp(udp_datagram(exact, payload_bytes(20).span()).span(), t, a) == TransportStatus::kOk);
    CHECK(t.payload.empty());
  }

  TEST_CASE("UDP bad length") {
    for (const int len : {1, 7}) {
      CAPTURE(len);
      UdpSpec s;
      s.length_override = len;
      TransportLayer t;
      AnomalyCounters a;
      CHECK(decode_udp(udp_datagram(s, payload_bytes(10).span()).span(), t, a) == TransportStatus::kOk);
      CHECK(a.get(Anomaly::kBadUdpLength) == 1);
      CHECK(t.payload.size() == 10);
    }
    UdpSpec zero;  // legal in IPv6 jumbograms
    zero.length_override = 0;
    TransportLayer t;
    AnomalyCounters a;
    CHECK(decode_udp(udp_datagram(zero, payload_bytes(10).span()).span(), t, a) == TransportStatus::kOk);
    CHECK(a.get(Anomaly::kBadUdpLength) == 0);
    CHECK(t.payload.size() == 10);
  }

  TEST_CASE("the output is reset on every call") {
    TcpSpec s;
    s.flags = tcp_flag::kFin | tcp_flag::kAck;
    TransportLayer t;
    AnomalyCounters a;
    REQUIRE(decode_tcp(tcp_segment(s).span(), t, a) == TransportStatus::kOk);
    CHECK(t.tcp_flags != 0);
    REQUIRE(decode_udp(udp_datagram(UdpSpec{}).span(), t, a) == TransportStatus::kOk);
    CHECK(t.tcp_flags == 0);
    CHECK(t.tcp_seq == 0);
  }
}
