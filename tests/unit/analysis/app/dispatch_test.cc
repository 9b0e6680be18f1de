// The dispatcher (AppAnalyzer over the handler table) through the Auditor: which row claims a
// flow, a handler fed its stream one byte at a time, and the per-flow memory budget.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "analysis/app/app_analyzer.h"
#include "analysis/audit.h"
#include "unit/analysis/audit_frames.h"
#include "unit/analysis/app/dns/dns_builder.h"
#include "unit/analysis/app/tls/tls_builder.h"
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

AuditResult audit(const std::vector<pb::Bytes>& frames, AuditOptions options = {}) {
  return pb::audit_frames(frames, options);
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

// A handshake, then the client's bytes cut at `cut` (two segments), then optionally the server's.
std::vector<pb::Bytes> cut_at(std::uint16_t port, const std::vector<std::uint8_t>& up, std::size_t cut,
                              const std::vector<std::uint8_t>& down = {}) {
  std::vector<pb::Bytes> frames = {tcp_frame(true, port, 999, 0x02), tcp_frame(false, port, 4999, 0x12)};
  const std::span<const std::uint8_t> all(up);
  frames.push_back(tcp_frame(true, port, 1000, 0x18, all.first(cut)));
  if (!down.empty()) frames.push_back(tcp_frame(false, port, 5000, 0x18, down));
  if (cut < up.size()) frames.push_back(tcp_frame(true, port, static_cast<std::uint32_t>(1000 + cut), 0x18, all.subspan(cut)));
  return frames;
}

std::vector<std::uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

std::vector<std::uint8_t> tls_hello(std::string_view sni) {
  namespace t = flowaudit::tls_test;
  return t::record(22, t::handshake(1, t::client_hello(t::u16_list({0x1301}), t::sni_ext(sni))));
}

const app::FlowDetails& only(const AuditResult& r) {
  const auto details = pb::flow_details(r);
  REQUIRE(details.size() == 1);
  return *details.front();
}
// The details live in the result: a temporary one would leave the reference dangling (ASan found it).
const app::FlowDetails& only(AuditResult&& r) = delete;

}  // namespace

TEST_SUITE("analysis.app.dispatch") {
  TEST_CASE("a ClientHello whose record header is cut after 1 to 5 bytes is TLS, with its SNI") {
    const auto hello = tls_hello("leak.example");
    for (std::size_t cut = 1; cut <= 5; ++cut) {
      CAPTURE(cut);
      const auto r = audit(cut_at(443, hello, cut));
      const app::FlowDetails& d = only(r);
      CHECK(d.app == app::AppProtocol::kTls);
      REQUIRE(d.tls);
      CHECK(d.tls->sni == "leak.example");
      CHECK(d.blind_spot == app::BlindSpot::kNone);
    }
    // One byte a segment, the whole hello.
    const AuditResult r1 = audit(segments(443, hello, {}, 1));
    const app::FlowDetails& d = only(r1);
    REQUIRE(d.tls);
    CHECK(d.tls->sni == "leak.example");
  }

  TEST_CASE("an HTTP request whose first 1 to 8 bytes travel alone is HTTP, with its Host") {
    for (const std::string_view method : {"GET", "OPTIONS"}) {
      const auto head = bytes_of(std::string(method) + " /x HTTP/1.1\r\nHost: leak.example\r\n\r\n");
      for (std::size_t cut = 1; cut <= method.size() + 1; ++cut) {
        CAPTURE(method);
        CAPTURE(cut);
        const AuditResult r2 = audit(cut_at(80, head, cut));
        const app::FlowDetails& d = only(r2);
        CHECK(d.app == app::AppProtocol::kHttp);
        REQUIRE(d.http);
        CHECK(d.http->host == "leak.example");
        CHECK(d.blind_spot == app::BlindSpot::kNone);
      }
    }
  }

  TEST_CASE("a row that needs more bytes holds back the rows after it: 0x16 alone to port 53 is not DNS yet") {
    const std::vector<std::uint8_t> record_header = {0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00};
    const auto r = audit(segments(53, record_header, {}, 1));
    CHECK(only(r).app == app::AppProtocol::kTls);
    CHECK(r.dns.empty());
  }

  TEST_CASE("first bytes that end before any claim decides: inspection-limit protocol-detection") {
    for (const std::string_view first : {"G", "OPTIONS", "\x16", "\x16\x03"}) {
      CAPTURE(first);
      const AuditResult r3 = audit(cut_at(8080, bytes_of(first), first.size()));
      const app::FlowDetails& d = only(r3);
      CHECK(d.app == app::AppProtocol::kUnknown);
      CHECK(d.blind_spot == app::BlindSpot::kInspectionLimit);
      CHECK(d.limit == app::InspectionLimit::kProtocolDetection);
    }
  }

  TEST_CASE("the server speaks while the client's first bytes are undecided: inspection-limit protocol-detection") {
    const auto head = bytes_of("POST /x HTTP/1.1\r\nHost: leak.example\r\n\r\n");
    const AuditResult r4 = audit(cut_at(80, head, 2, bytes_of("HTTP/1.1 408 Timeout\r\n\r\n")));
    const app::FlowDetails& d = only(r4);
    CHECK(d.blind_spot == app::BlindSpot::kInspectionLimit);
    CHECK(d.limit == app::InspectionLimit::kProtocolDetection);
  }

  TEST_CASE("a server that answers before the request (CVE-2018-6794) does not hide the client's HTTP Host") {
    std::vector<pb::Bytes> frames = {tcp_frame(true, 8089, 999, 0x02), tcp_frame(false, 8089, 4999, 0x12)};
    const auto answer = bytes_of("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
    frames.push_back(tcp_frame(false, 8089, 5000, 0x18, answer));
    const auto head = bytes_of("GET / HTTP/1.1\r\nHost: leak.example:8089\r\n\r\n");
    frames.push_back(tcp_frame(true, 8089, 1000, 0x18, head));
    const AuditResult r = audit(frames);
    const app::FlowDetails& d = only(r);
    CHECK(d.app == app::AppProtocol::kHttp);
    REQUIRE(d.http);
    CHECK(d.http->host == "leak.example:8089");
  }

  TEST_CASE("a first byte no row could take is decided at once: unknown, no details, no blind spot") {
    const auto r = audit(cut_at(8080, bytes_of("SSH-2.0-OpenSSH_9.2\r\n"), 1));
    CHECK(pb::flow_details(r).empty());
  }

  TEST_CASE("DNS over UDP between fixed ports: read to the message limit, a message past it is inspection-limit") {
    pb::DnsBuilder query(0x0100, 0x4242);
    query.counts(1, 0).question("example.org", 1);
    const auto q = query.bytes();
    const auto run = [&](std::size_t messages) {
      Auditor a{AuditOptions{}};
      RawPacket p;
      pb::UdpSpec u;
      u.src_port = 5353;
      u.dst_port = 5353;
      pb::Ipv4Spec ip;
      ip.src = kClient;
      ip.dst = "224.0.0.251";
      ip.protocol = 17;
      const auto frame = pb::ethernet_frame(0x0800, pb::ipv4_packet(ip, pb::udp_datagram(u, q).span()).span());
      for (std::size_t i = 0; i < messages; ++i) {
        p.ts_ns = static_cast<std::int64_t>(1000 + i);
        p.link_type = 1;
        p.orig_len = static_cast<std::uint32_t>(frame.size());
        p.data = frame.span();
        a.process(p, 0);
      }
      return a.finish({});
    };
    const std::size_t limit = app::AppConfig{}.max_dns_messages_per_flow;
    CHECK(limit >= 4096);  // a fixed-port conversation (mDNS, a forwarder) must not reach it
    const auto at = run(limit);
    CHECK(at.dns.size() == limit);
    CHECK(only(at).blind_spot == app::BlindSpot::kNone);
    const auto past = run(limit + 1);
    CHECK(past.dns.size() == limit);
    CHECK(only(past).blind_spot == app::BlindSpot::kInspectionLimit);
    CHECK(only(past).limit == app::InspectionLimit::kDnsMessages);
  }

  TEST_CASE("DNS over TCP: a client direction past the byte budget is inspection-limit, a server one is not") {
    pb::DnsBuilder query(0x0100, 0x4242);
    query.counts(1, 0).question("example.org", 1);
    const auto one = pb::dns_tcp_framed(query.bytes());
    std::vector<std::uint8_t> many;
    while (many.size() <= app::AppConfig{}.tcp_inspect_bytes) many.insert(many.end(), one.begin(), one.end());
    const auto up = audit(segments(53, many, {}, 1400));
    CHECK(only(up).blind_spot == app::BlindSpot::kInspectionLimit);
    CHECK(only(up).limit == app::InspectionLimit::kTcpBudget);
    CHECK(up.dns.size() == app::AppConfig{}.tcp_inspect_bytes / one.size());
    const auto down = audit(segments(53, one, many, 1400));
    CHECK(only(down).blind_spot == app::BlindSpot::kNone);
  }
  TEST_CASE("DNS over TCP one byte a segment: the framing layer joins query and response") {
    pb::DnsBuilder query(0x0100, 0x4242);
    query.counts(1, 0).question("example.org", 1);
    pb::DnsBuilder response(0x8180, 0x4242);
    response.counts(1, 1).question("example.org", 1).address_rr(12, "192.0.2.7");
    const auto r = audit(segments(53, pb::dns_tcp_framed(query.bytes()), pb::dns_tcp_framed(response.bytes())));
    REQUIRE(r.dns.size() == 1);
    CHECK(r.dns[0].transport == "tcp");
    CHECK(r.dns[0].query == "example.org");
    CHECK(r.dns[0].rcode == "NOERROR");
    REQUIRE(r.dns[0].answers.size() == 1);
    CHECK(r.dns[0].answers[0] == "192.0.2.7");
    CHECK(only(r).app == app::AppProtocol::kDns);
  }

  TEST_CASE("the table's order: a TLS record to TCP port 53 is TLS, not DNS (DNS over TLS on the wrong port)") {
    const std::vector<std::uint8_t> record_header = {0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00};
    const auto r = audit(segments(53, record_header, {}, record_header.size()));
    CHECK(only(r).app == app::AppProtocol::kTls);
    CHECK(r.dns.empty());
  }

  TEST_CASE("bytes no row claims leave a TCP flow unknown, with no details") {
    const std::vector<std::uint8_t> noise = {'S', 'S', 'H', '-', '2'};
    const auto r = audit(segments(2222, noise, {}, noise.size()));
    CHECK(pb::flow_details(r).empty());
  }

  TEST_CASE("per-flow inspection state stays within its budget") {
    // 616 bytes when one struct held every protocol's fields; the variant of handlers made it 448,
    // 32-bit record indices in the DNS handler's pending queries 320.
    // Growing it costs memory in every flow being inspected (up to AppConfig::max_inspections):
    // raise this only on purpose.
    CHECK(app::AppAnalyzer::inspection_size() <= 320);
  }
}
