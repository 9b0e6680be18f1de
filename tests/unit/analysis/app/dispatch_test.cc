// The dispatcher (AppAnalyzer over the handler table) through the Auditor: which row claims a
// flow, a handler fed its stream one byte at a time, and the per-flow memory budget.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "analysis/app/app_analyzer.h"
#include "analysis/audit.h"
#include "unit/analysis/app/dns/dns_builder.h"
#include "unit/packet_builder.h"

using namespace flowaudit::analysis;
using flowaudit::capture::RawPacket;
namespace pb = flowaudit::test;

namespace {

constexpr const char* kClient = "10.0.0.2";
constexpr const char* kServer = "192.0.2.53";

pb::Bytes tcp_frame(bool from_client, std::uint16_t server_port, std::uint32_t seq, std::uint8_t flags,
                    std::span<const std::uint8_t> payload = {}) {
  pb::TcpSpec t;
  t.src_port = from_client ? 50001 : server_port;
  t.dst_port = from_client ? server_port : 50001;
  t.seq = seq;
  t.flags = flags;
  pb::Ipv4Spec ip;
  ip.src = from_client ? kClient : kServer;
  ip.dst = from_client ? kServer : kClient;
  ip.protocol = 6;
  return pb::ethernet_frame(0x0800, pb::ipv4_packet(ip, pb::tcp_segment(t, payload).span()).span());
}

AuditResult audit(const std::vector<pb::Bytes>& frames) {
  Auditor a{AuditOptions{}};
  RawPacket p;
  std::int64_t ts = 1000;
  for (const auto& f : frames) {
    p.ts_ns = ts++;
    p.link_type = 1;
    p.orig_len = static_cast<std::uint32_t>(f.size());
    p.data = f.span();
    a.process(p, 0);
  }
  return a.finish({});
}

// Sized first and copied into: GCC 12 misreads an insert after a two-element list (-Warray-bounds).
std::vector<std::uint8_t> framed(const std::vector<std::uint8_t>& m) {
  std::vector<std::uint8_t> out(m.size() + 2);
  out[0] = static_cast<std::uint8_t>(m.size() >> 8);
  out[1] = static_cast<std::uint8_t>(m.size() & 0xff);
  std::copy(m.begin(), m.end(), out.begin() + 2);
  return out;
}

// A handshake, then each side's bytes in segments of `size` bytes.
std::vector<pb::Bytes> segments(std::uint16_t port, const std::vector<std::uint8_t>& up,
                                const std::vector<std::uint8_t>& down, std::size_t size = 1) {
  std::vector<pb::Bytes> frames = {tcp_frame(true, port, 999, 0x02), tcp_frame(false, port, 4999, 0x12)};
  for (std::size_t i = 0; i < up.size(); i += size) {
    const std::span<const std::uint8_t> piece(up.data() + i, std::min(size, up.size() - i));
    frames.push_back(tcp_frame(true, port, static_cast<std::uint32_t>(1000 + i), 0x18, piece));
  }
  for (std::size_t i = 0; i < down.size(); i += size) {
    const std::span<const std::uint8_t> piece(down.data() + i, std::min(size, down.size() - i));
    frames.push_back(tcp_frame(false, port, static_cast<std::uint32_t>(5000 + i), 0x18, piece));
  }
  return frames;
}

}  // namespace

TEST_SUITE("analysis.app.dispatch") {
  TEST_CASE("DNS over TCP one byte a segment: the framing layer joins query and response") {
    pb::DnsBuilder query(0x0100, 0x4242);
    query.counts(1, 0).question("example.org", 1);
    pb::DnsBuilder response(0x8180, 0x4242);
    response.counts(1, 1).question("example.org", 1).address_rr(12, "192.0.2.7");
    const auto r = audit(segments(53, framed(query.bytes()), framed(response.bytes())));
    REQUIRE(r.dns.size() == 1);
    CHECK(r.dns[0].transport == "tcp");
    CHECK(r.dns[0].query == "example.org");
    CHECK(r.dns[0].rcode == "NOERROR");
    REQUIRE(r.dns[0].answers.size() == 1);
    CHECK(r.dns[0].answers[0] == "192.0.2.7");
    REQUIRE(r.details.size() == 1);
    CHECK(r.details.begin()->second.app == app::AppProtocol::kDns);
  }

  TEST_CASE("the table's order: a TLS record to TCP port 53 is TLS, not DNS (DNS over TLS on the wrong port)") {
    const std::vector<std::uint8_t> record_header = {0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00};
    const auto r = audit(segments(53, record_header, {}, record_header.size()));
    REQUIRE(r.details.size() == 1);
    CHECK(r.details.begin()->second.app == app::AppProtocol::kTls);
    CHECK(r.dns.empty());
  }

  TEST_CASE("bytes no row claims leave a TCP flow unknown, with no details") {
    const std::vector<std::uint8_t> noise = {'S', 'S', 'H', '-', '2'};
    const auto r = audit(segments(2222, noise, {}, noise.size()));
    CHECK(r.details.empty());
  }

  TEST_CASE("per-flow inspection state stays within its budget") {
    // 616 bytes when one struct held every protocol's fields; the variant of handlers made it 448,
    // 32-bit record indices in the DNS handler's pending queries 320.
    // Growing it costs memory in every flow being inspected (up to AppConfig::max_inspections):
    // raise this only on purpose.
    CHECK(app::AppAnalyzer::inspection_size() <= 320);
  }
}
