#include "analysis/audit.h"

#include <doctest/doctest.h>

#include <array>
#include <string>
#include <vector>

#include "unit/packet_builder.h"

using namespace flowaudit::analysis;
using flowaudit::capture::PacketSource;
using flowaudit::capture::RawPacket;
using flowaudit::capture::ReadStatus;
using flowaudit::capture::SourceInfo;
using flowaudit::test::Bytes;
namespace pb = flowaudit::test;

namespace {

// An in-memory packet source.
class VectorSource final : public PacketSource {
 public:
  struct Frame {
    std::int64_t ts;
    std::uint32_t link_type;
    Bytes data;
  };
  VectorSource(std::vector<Frame> frames, SourceInfo info) : frames_(std::move(frames)), info_(std::move(info)) {}
  ReadStatus next(RawPacket& p) override {
    if (i_ == frames_.size()) {
      info_.complete = info_.error.empty();
      return info_.error.empty() ? ReadStatus::kEnd : ReadStatus::kError;
    }
    const Frame& f = frames_[i_++];
    p.ts_ns = f.ts;
    p.link_type = f.link_type;
    p.interface_id = 0;
    p.orig_len = static_cast<std::uint32_t>(f.data.size());
    p.data = f.data.span();
    ++info_.packets;
    info_.bytes += f.data.size();
    return ReadStatus::kPacket;
  }
  [[nodiscard]] const SourceInfo& info() const override { return info_; }

 private:
  std::vector<Frame> frames_;
  SourceInfo info_;
  std::size_t i_ = 0;
};

Bytes tcp_frame(const char* src, std::uint16_t sport, const char* dst, std::uint16_t dport, std::uint8_t flags,
                std::size_t payload) {
  pb::Ipv4Spec ip;
  ip.src = src;
  ip.dst = dst;
  pb::TcpSpec t;
  t.src_port = sport;
  t.dst_port = dport;
  t.flags = flags;
  return pb::ethernet_frame(0x0800, pb::ipv4_packet(ip, pb::tcp_segment(t, pb::payload_bytes(payload).span()).span()).span());
}

bool has_warning(const AuditResult& r, const std::string& needle) {
  for (const auto& w : r.warnings) {
    if (w.find(needle) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_SUITE("analysis.audit") {
  TEST_CASE("frames through decoding and flows into a result") {
    SourceInfo info;
    info.path = "mem";
    info.format = "pcap";
    info.link_types = {1};
    std::vector<VectorSource::Frame> frames;
    frames.push_back({3000, 1, tcp_frame("10.0.0.2", 50000, "93.184.216.34", 443, 0x02, 0)});
    frames.push_back({2000, 1, tcp_frame("93.184.216.34", 443, "10.0.0.2", 50000, 0x12, 0)});  // earlier clock
    frames.push_back({4000, 1, tcp_frame("10.0.0.2", 50000, "93.184.216.34", 443, 0x18, 100)});
    frames.push_back({5000, 1, tcp_frame("10.0.0.2", 50001, "1.1.1.1", 443, 0x02, 0)});
    frames.push_back({6000, 1, pb::ethernet_frame(0x0806, pb::payload_bytes(28).span())});
    frames.push_back({7000, 1, pb::payload_bytes(6)});  // too short for Ethernet
    VectorSource src(std::move(frames), info);
    Auditor a(AuditOptions{});
    const SourceInfo done = a.run(src, 0);
    CHECK(done.complete);
    CHECK(done.packets == 6);
    const AuditResult r = a.finish({done});
    CHECK(r.packets == 6);
    CHECK(r.first_ns == 2000);
    CHECK(r.last_ns == 7000);
    CHECK(r.flows.size() == 2);
    REQUIRE(r.destinations.size() == 2);
    CHECK(r.destinations[0].ip.to_string() == "93.184.216.34");  // most bytes sent
    CHECK(r.destinations[0].packets_out == 2);
    CHECK(r.destinations[0].packets_in == 1);
    CHECK(r.decode.tcp == 4);
    CHECK(r.decode.not_ip == 1);
    CHECK(r.decode.malformed == 1);
    CHECK(r.flow_stats.created == 2);
    CHECK(has_warning(r, "1 packets with anomaly truncated_link_header"));
    CHECK(r.inputs.size() == 1);
  }

  TEST_CASE("warnings: input errors, unsupported link types, eviction") {
    SourceInfo bad;
    bad.path = "x.pcap";
    bad.error = "x.pcap: No such file or directory";
    SourceInfo wifi;
    wifi.path = "wifi.pcap";
    wifi.link_types = {253};
    wifi.complete = true;
    AuditOptions o;
    o.flows.max_flows = 1;
    Auditor a(o);
    RawPacket p;
    const Bytes f1 = tcp_frame("10.0.0.2", 50000, "1.1.1.1", 443, 0x02, 0);
    const Bytes f2 = tcp_frame("10.0.0.2", 50001, "1.1.1.1", 443, 0x02, 0);
    const Bytes w = pb::payload_bytes(30);
    p.link_type = 1;
    p.data = f1.span();
    a.process(p, 0);
    p.data = f2.span();
    a.process(p, 0);
    p.link_type = 253;
    p.data = w.span();
    a.process(p, 1);
    const AuditResult r = a.finish({bad, wifi});
    CHECK(has_warning(r, "x.pcap: No such file or directory"));
    CHECK(has_warning(r, "wifi.pcap: unsupported link type netlink: Linux netlink messages"));
    CHECK(has_warning(r, "flow table full: 1 flows evicted early"));
    CHECK_FALSE(has_warning(r, "unsupported_link_type"));  // said once, per input, above
    CHECK(r.decode.unsupported_link == 1);
    CHECK(r.flows.size() == 2);
  }

  TEST_CASE("warnings: a DNS message not read whole, a datagram whose fragments never all came") {
    Auditor a(AuditOptions{});
    RawPacket p;
    p.link_type = 1;
    // A query whose name has a label of type 0x40 after "_sip".
    static constexpr std::array<std::uint8_t, 22> query = {0x0a, 0xbb, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00,
                                                           0x00, 0x00, 0x00, 0x00, 0x04, '_',  's',  'i',
                                                           'p',  0x4d, 0x00, 0x01, 0x00, 0x01};
    pb::Ipv4Spec ip;
    ip.protocol = 17;
    const Bytes dns = pb::ethernet_frame(0x0800, pb::ipv4_packet(ip, pb::udp_datagram({}, query).span()).span());
    p.data = dns.span();
    a.process(p, 0);
    pb::Ipv4Spec first;  // a first fragment alone
    first.more_fragments = true;
    first.id = 0x9d0f;
    const Bytes frag = pb::ethernet_frame(0x0800, pb::ipv4_packet(first, pb::payload_bytes(64).span()).span());
    p.data = frag.span();
    a.process(p, 0);
    const AuditResult r = a.finish({});
    CHECK(has_warning(r, "1 DNS messages could not be read whole"));
    CHECK(has_warning(r, "1 packets with anomaly fragment_timeout"));
    REQUIRE(r.dns.size() == 1);
    CHECK(r.dns[0].query == "_sip");
    CHECK(r.dns[0].name_error == "extended-label");
  }

  TEST_CASE("run() is the replay loop of the command line too: progress every 65536 packets") {
    SourceInfo info;
    info.path = "mem";
    info.format = "pcap";
    info.link_types = {1};
    std::vector<VectorSource::Frame> frames;
    const std::size_t n = 2 * 65536 + 7;
    frames.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      frames.push_back({static_cast<std::int64_t>(i), 1, pb::ethernet_frame(0x0806, pb::payload_bytes(28).span())});
    }
    VectorSource src(std::move(frames), info);
    Auditor a(AuditOptions{});
    std::vector<std::uint64_t> calls;
    const SourceInfo done = a.run(src, 0, [&](std::uint64_t packets, std::uint64_t) { calls.push_back(packets); });
    CHECK(done.packets == n);
    CHECK(calls == std::vector<std::uint64_t>{65536, 131072});
  }
}
