// The application layer through the Auditor, for what the hostile captures of tests/e2e cannot
// show: a QUIC ClientHello over the limits (needs sealed Initials), an HTTP head the capture ends
// in, and which blind spot a flow keeps when it has two.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "analysis/app/flow_details.h"
#include "analysis/app/quic/quic_initial.h"
#include "analysis/audit.h"
#include "unit/analysis/audit_frames.h"
#include "unit/analysis/app/quic/initial_sealer.h"
#include "unit/analysis/app/quic/rfc_vectors.h"
#include "unit/packet_builder.h"

using namespace flowaudit::analysis;
using flowaudit::capture::RawPacket;
namespace pb = flowaudit::test;

namespace {

pb::Bytes ip_frame(std::uint8_t protocol, const pb::Bytes& transport) {
  pb::Ipv4Spec ip;
  ip.src = "10.0.0.2";
  ip.dst = "93.184.216.34";
  ip.protocol = protocol;
  return pb::ethernet_frame(0x0800, pb::ipv4_packet(ip, transport.span()).span());
}

pb::Bytes udp_frame(const std::vector<std::uint8_t>& payload) {
  pb::UdpSpec u;
  u.src_port = 50000;
  u.dst_port = 443;
  return ip_frame(17, pb::udp_datagram(u, payload));
}

pb::Bytes tcp_frame(std::uint32_t seq, std::uint8_t flags, std::string_view payload = {}) {
  pb::TcpSpec t;
  t.src_port = 50001;
  t.dst_port = 80;
  t.seq = seq;
  t.flags = flags;
  const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size());
  return ip_frame(6, pb::tcp_segment(t, bytes));
}

AuditResult audit(const std::vector<pb::Bytes>& frames, AuditOptions options = {}) {
  return pb::audit_frames(frames, options);
}

const app::FlowDetails& only_details(const AuditResult& r) {
  const auto details = pb::flow_details(r);
  REQUIRE(details.size() == 1);
  return *details.front();
}

pb::InitialSpec v1_spec(std::uint64_t pn) {
  pb::InitialSpec spec;
  spec.params = quic::find_version_params(quic::kVersion1);
  spec.key_dcid = pb::from_hex(pb::quic_vectors::kDcid);
  spec.pn = pn;
  return spec;
}

}  // namespace

TEST_SUITE("analysis.app.inspection-limit") {
  TEST_CASE("a QUIC ClientHello announced over the limit is inspection-limit, not quic-undecryptable") {
    const std::vector<std::uint8_t> header = {0x01, 0x00, 0xea, 0x60};  // 60,000 bytes announced
    const auto r = audit({udp_frame(pb::seal_initial(v1_spec(0), pb::crypto_frame(0, header)))});
    const app::FlowDetails& d = only_details(r);
    CHECK(d.app == app::AppProtocol::kQuic);
    CHECK(d.blind_spot == app::BlindSpot::kInspectionLimit);
    CHECK(d.limit == app::InspectionLimit::kQuicClientHello);
    CHECK(r.coverage.blind_spots[static_cast<std::size_t>(app::BlindSpot::kInspectionLimit)] == 1);
  }

  TEST_CASE("a QUIC ClientHello spread over more Initials than are read is inspection-limit") {
    std::vector<pb::Bytes> frames;
    static const std::vector<std::uint8_t> piece(100, 0x5c);  // static: GCC 12 misreads a local's size
    // Offset 0 never comes, so the hello never completes; every Initial decrypts.
    for (std::uint64_t pn = 0; pn < 12; ++pn) {
      frames.push_back(udp_frame(pb::seal_initial(v1_spec(pn), pb::crypto_frame(100 * (pn + 1), piece))));
    }
    CHECK(only_details(audit(frames)).blind_spot == app::BlindSpot::kInspectionLimit);
  }

  TEST_CASE("QUIC that does not decrypt stays quic-undecryptable") {
    std::vector<std::uint8_t> datagram = pb::seal_initial(v1_spec(0), pb::crypto_frame(0, std::vector<std::uint8_t>(50, 1)));
    datagram.back() ^= 0xff;  // the AEAD tag no longer matches
    CHECK(only_details(audit({udp_frame(datagram)})).blind_spot == app::BlindSpot::kQuicUndecryptable);
  }

  TEST_CASE("an HTTP head the capture ends in is still a request (and no limit)") {
    const std::string head = "POST /collect HTTP/1.1\r\nHost: t.example\r\nX-A: b\r\n";
    const auto r = audit({tcp_frame(999, 0x02), tcp_frame(1000, 0x18, head)});
    const app::FlowDetails& d = only_details(r);
    REQUIRE(d.http);
    CHECK(d.http->method == "POST");
    CHECK(d.http->host == "t.example");
    CHECK(d.blind_spot == app::BlindSpot::kNone);
  }

  TEST_CASE("a request with a broken header line (obs-fold) is still reported as plaintext HTTP") {
    const std::string head = "POST /collect HTTP/1.1\r\nHost: t.example\r\nX-A: b\r\n folded\r\n\r\n";
    const auto r = audit({tcp_frame(999, 0x02), tcp_frame(1000, 0x18, head)});
    const app::FlowDetails& d = only_details(r);
    REQUIRE(d.http);
    CHECK(d.http->method == "POST");
    CHECK(d.http->host == "t.example");
  }

  TEST_CASE("a flow with data that finds every inspection slot taken is inspection-limit") {
    AuditOptions o;
    o.app.max_inspections = 1;
    pb::TcpSpec other;
    other.src_port = 50002;
    other.dst_port = 80;
    const pb::Bytes busy = ip_frame(6, pb::tcp_segment(other));  // a SYN: holds the one slot
    const auto r = audit({busy, tcp_frame(999, 0x02), tcp_frame(1000, 0x18, "GET / HTTP/1.1\r\n\r\n")}, o);
    int limited = 0;
    for (const app::FlowDetails* entry : pb::flow_details(r)) {
      const app::FlowDetails& d = *entry;
      if (d.blind_spot != app::BlindSpot::kInspectionLimit) continue;
      ++limited;
      CHECK(d.limit == app::InspectionLimit::kConcurrentInspections);
    }
    CHECK(limited == 1);
  }

  TEST_CASE("inspection-limit wins over the other blind spots; the others only fill kNone") {
    app::FlowDetails d;
    app::mark_blind_spot(d, app::BlindSpot::kQuicUndecryptable);
    app::mark_blind_spot(d, app::BlindSpot::kUdpUnknown);
    CHECK(d.blind_spot == app::BlindSpot::kQuicUndecryptable);
    app::mark_blind_spot(d, app::BlindSpot::kInspectionLimit);
    app::mark_blind_spot(d, app::BlindSpot::kEch);
    CHECK(d.blind_spot == app::BlindSpot::kInspectionLimit);
    CHECK(std::string(app::to_string(d.blind_spot)) == "inspection-limit");
  }
}
