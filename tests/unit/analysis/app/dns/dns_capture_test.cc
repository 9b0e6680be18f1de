// The parser and the name cache against the real dnsmasq answers in the committed captures (facts
// from tests/data/README.md).
#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "analysis/app/dns/dns_message.h"
#include "analysis/app/dns/name_cache.h"
#include "analysis/packet/decoder.h"
#include "capture/pcap_file_source.h"

using namespace flowaudit;
using namespace flowaudit::analysis::dns;
using analysis::app::ParseStatus;

namespace {

struct Seen {
  std::string transport;  // "udp" or "tcp"
  std::string rcode;
  std::vector<std::string> answers;  // CNAME targets and addresses in order, as in the README
  core::TimestampNs ts = 0;
};

struct CaptureDns {
  std::map<std::string, Seen> responses;  // "qname qtype"
  int queries = 0;
  int failures = 0;
  NameCache cache;
  std::map<std::string, core::TimestampNs> first_tcp_to;  // server address -> first packet
};

CaptureDns read_capture(const std::string& file) {
  CaptureDns out;
  auto opened = capture::open_capture_file(std::string(FLOWAUDIT_SOURCE_DIR) + "/" + file);
  REQUIRE(opened.source);
  analysis::packet::Decoder decoder;
  auto m = std::make_unique<Message>();
  capture::RawPacket raw;
  while (opened.source->next(raw) == capture::ReadStatus::kPacket) {
    analysis::packet::DecodedPacket p;
    if (decoder.decode(raw, p) != analysis::packet::DecodeStatus::kTransport) continue;
    const bool tcp = p.protocol == analysis::packet::kProtoTcp;
    auto payload = p.transport.payload;
    if (tcp && (p.transport.dst_port == 443 || p.transport.dst_port == 80)) {
      out.first_tcp_to.try_emplace(p.dst.to_string(), p.ts_ns);
      continue;
    }
    if (p.transport.src_port != 53 && p.transport.dst_port != 53) continue;
    if (tcp) {
      // One message per segment in these captures, after its 2-byte length.
      if (payload.size() < 2 || static_cast<std::size_t>(payload[0] << 8 | payload[1]) != payload.size() - 2) continue;
      payload = payload.subspan(2);
    }
    if (parse_message(payload, *m) != ParseStatus::kOk) {
      ++out.failures;
      continue;
    }
    if (!m->response) {
      ++out.queries;
      continue;
    }
    std::array<char, 16> scratch{};
    Seen s;
    s.transport = tcp ? "tcp" : "udp";
    s.rcode = std::string(rcode_name(m->rcode, scratch));
    s.ts = p.ts_ns;
    for (const Answer& a : m->answers) {
      if (a.type == rr::kCname) s.answers.emplace_back(a.target.view());
      if (a.type == rr::kA || a.type == rr::kAaaa) s.answers.push_back(a.address.to_string());
    }
    out.responses[std::string(m->qname.view()) + " " + std::string(type_name(m->qtype, scratch))] = s;
    out.cache.add_response(*m, p.ts_ns);
  }
  return out;
}

using Answers = std::vector<std::string>;

}  // namespace

TEST_SUITE("analysis.app.dns.captures") {
  TEST_CASE("DNS: dnsmasq answers in dns-udp-tcp.pcap") {
    CaptureDns d = read_capture("tests/data/dns-udp-tcp.pcap");
    CHECK(d.failures == 0);
    CHECK(d.queries == 9);
    REQUIRE(d.responses.size() == 8);  // AAAA chat.deepseek.com was asked over UDP and TCP
    const std::string cf = "d2vmr3bhtjgxmt.cloudfront.net";
    CHECK(d.responses["chat.deepseek.com A"].answers == Answers{cf, "3.173.21.63"});
    CHECK(d.responses["chat.deepseek.com CNAME"].answers == Answers{cf});
    CHECK(d.responses["gator.volces.com A"].answers == Answers{"43.109.38.198"});
    CHECK(d.responses["apmplus.ap-southeast-1.volces.com A"].answers == Answers{"43.109.38.199"});
    CHECK(d.responses["nonexistent.deepseek.com A"].rcode == "NXDOMAIN");
    CHECK(d.responses["nonexistent.deepseek.com A"].answers.empty());
    CHECK(d.responses["fp-it-acc.portal101.cn A"].transport == "tcp");
    CHECK(d.responses["fp-it-acc.portal101.cn A"].answers == Answers{"138.113.144.16"});
    CHECK(d.responses["chat.deepseek.com AAAA"].transport == "tcp");  // the TCP one came last
    CHECK(d.responses["chat.deepseek.com AAAA"].answers == Answers{cf, "2600:9000:2490:a00:1b:c3e3:bf40:93a1"});
    CHECK(d.responses["fonts.gstatic.com A"].answers == Answers{"142.250.74.35"});
    for (const auto& response : d.responses) {  // no structured binding: doctest's CAPTURE/INFO lambda cannot take one (clang before 16)
      const auto& key = response.first;
      const auto& seen = response.second;
      CAPTURE(key);
      if (key.rfind("nonexistent", 0) != 0) CHECK(seen.rcode == "NOERROR");
    }

    const auto v6 = d.cache.lookup(*core::IpAddress::parse("2600:9000:2490:a00:1b:c3e3:bf40:93a1"), INT64_MAX);
    REQUIRE(v6);
    CHECK(v6->name == "chat.deepseek.com");
    CHECK(v6->cnames == Answers{cf});
  }

  TEST_CASE("DNS: the session capture names every TCP destination before its flow") {
    CaptureDns d = read_capture("tests/data/deepseek-session.pcapng");
    CHECK(d.failures == 0);
    CHECK(d.queries == 8);
    REQUIRE(d.responses.size() == 8);
    CHECK(d.responses["gator.volces.com AAAA"].answers.empty());
    CHECK(d.responses["fonts.gstatic.com AAAA"].answers == Answers{"2a00:1450:4001:82a::2003"});

    const std::map<std::string, std::string> expected = {{"3.173.21.63", "chat.deepseek.com"},
                                                         {"43.109.38.198", "gator.volces.com"},
                                                         {"138.113.144.16", "fp-it-acc.portal101.cn"},
                                                         {"142.250.74.35", "fonts.gstatic.com"}};
    REQUIRE(d.first_tcp_to.size() == expected.size());
    for (const auto& e : expected) {  // no structured binding: doctest's CAPTURE/INFO lambda cannot take one (clang before 16)
      const auto& address = e.first;
      const auto& name = e.second;
      CAPTURE(address);
      REQUIRE(d.first_tcp_to.count(address) == 1);
      const auto ip = *core::IpAddress::parse(address);
      const core::TimestampNs flow_start = d.first_tcp_to[address];
      const auto hit = d.cache.lookup(ip, flow_start);
      REQUIRE(hit);
      CHECK(hit->name == name);
      CHECK(hit->answered_ns <= flow_start);
      CHECK_FALSE(d.cache.lookup(ip, hit->answered_ns - 1));
    }
    CHECK(d.cache.lookup(*core::IpAddress::parse("3.173.21.63"), INT64_MAX)->cnames ==
          Answers{"d2vmr3bhtjgxmt.cloudfront.net"});
  }
}
