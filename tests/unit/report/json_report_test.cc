#include "report/json_report.h"
#include "report/report.h"

#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <string>

using flowaudit::analysis::AuditResult;
using flowaudit::analysis::flow::Destination;
using flowaudit::analysis::flow::Flow;
using flowaudit::analysis::flow::FlowEnd;
using flowaudit::analysis::flow::Orientation;
using flowaudit::analysis::flow::TcpState;
using flowaudit::analysis::packet::Anomaly;
using flowaudit::capture::SourceInfo;
using flowaudit::core::IpAddress;
using flowaudit::core::kNsPerSecond;
namespace json = boost::json;
namespace report = flowaudit::report;

namespace {

constexpr std::int64_t kT0 = 1738144800LL * kNsPerSecond;  // 2025-01-29T10:00:00Z

AuditResult sample() {
  AuditResult r;
  SourceInfo ok;
  ok.path = "session.pcapng";
  ok.format = "pcapng";
  ok.link_types = {1, 276};
  ok.packets = 7;
  ok.bytes = 900;
  ok.complete = true;
  SourceInfo bad;
  bad.path = "cut \"quoted\"\n.pcap";
  bad.format = "pcap";
  bad.link_types = {1};
  bad.packets = 3;
  bad.bytes = 300;
  bad.complete = false;
  bad.error = "cut.pcap: bad or cut-off packet record at offset 100: truncated";
  SourceInfo missing;
  missing.path = "missing.pcap";
  missing.error = "missing.pcap: No such file or directory";
  r.inputs = {ok, bad, missing};

  Flow tcp;
  tcp.id = 1;
  tcp.key.addr[0] = *IpAddress::parse("10.0.0.2");
  tcp.key.port[0] = 50000;
  tcp.key.addr[1] = *IpAddress::parse("93.184.216.34");
  tcp.key.port[1] = 443;
  tcp.key.protocol = 6;
  tcp.client = 0;
  tcp.orientation = Orientation::kTcpHandshake;
  tcp.tcp = TcpState::kEstablished;
  tcp.end = FlowEnd::kActive;
  tcp.from[0] = {6, 600, 300, kT0, kT0 + 2 * kNsPerSecond};
  tcp.from[1] = {4, 400, 200, kT0 + 1000, kT0 + kNsPerSecond};
  tcp.last_seen = kT0 + 2 * kNsPerSecond;
  Flow udp;
  udp.id = 2;
  udp.key.addr[0] = *IpAddress::parse("2001:db8::1");
  udp.key.port[0] = 53;
  udp.key.addr[1] = *IpAddress::parse("2001:db8::2");
  udp.key.port[1] = 40000;
  udp.key.protocol = 17;
  udp.client = 1;
  udp.orientation = Orientation::kPort;
  udp.end = FlowEnd::kIdleTimeout;
  udp.from[1] = {1, 80, 52, kT0, kT0};
  udp.last_seen = kT0;
  r.flows.emplace_back(tcp);
  r.flows.emplace_back(udp);

  Destination d;
  d.ip = *IpAddress::parse("93.184.216.34");
  d.port = 443;
  d.protocol = 6;
  d.flows = 1;
  d.bytes_out = 600;
  d.bytes_in = 400;
  d.first_ns = kT0;
  d.last_ns = kT0 + 2 * kNsPerSecond;
  r.destinations = {d};

  r.warnings = {"first warning", "second \"warning\""};
  r.decode.ipv4 = 9;
  r.decode.tcp = 8;
  r.decode.malformed = 2;
  r.anomalies.add(Anomaly::kTruncatedTcpHeader);
  r.anomalies.add(Anomaly::kTruncatedTcpHeader);
  r.flow_stats.created = 2;
  r.packets = 10;
  r.bytes = 1200;
  r.first_ns = kT0;
  r.last_ns = kT0 + 2 * kNsPerSecond + 500'000'000;
  return r;
}

json::value parsed(const AuditResult& r) {
  const std::string text = report::render(report::Format::kJson, {r});
  REQUIRE(!text.empty());
  CHECK(text.back() == '\n');
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  REQUIRE_MESSAGE(!ec, ec.message());
  return v;
}

}  // namespace

TEST_SUITE("report.json") {
  TEST_CASE("schema and tool") {
    const json::value v = parsed(sample());
    REQUIRE(v.is_object());
    CHECK(v.at("schema").as_string() == "flowaudit.report/v1");
    CHECK(v.at("schema").as_string() == report::kReportSchema);
    CHECK(v.at("tool").at("name").as_string() == "flowaudit");
    CHECK(v.at("tool").at("version").as_string() == FLOWAUDIT_VERSION);
    CHECK(v.at("dns").as_array().empty());
    CHECK(v.at("findings").as_array().empty());
  }

  TEST_CASE("summary") {
    const json::value v = parsed(sample());
    const auto& s = v.at("summary");
    CHECK(s.at("packets").to_number<std::uint64_t>() == 10);
    CHECK(s.at("bytes").to_number<std::uint64_t>() == 1200);
    CHECK(s.at("flows").to_number<std::uint64_t>() == 2);
    CHECK(s.at("destinations").to_number<std::uint64_t>() == 1);
    CHECK(s.at("verdict").as_string() == "not-evaluated");
    CHECK(s.at("first_seen").as_string() == "2025-01-29T10:00:00.000000Z");
    CHECK(s.at("last_seen").as_string() == "2025-01-29T10:00:02.500000Z");
    CHECK(s.at("duration_seconds").to_number<double>() == doctest::Approx(2.5));
    CHECK(s.at("decode").at("ipv4").to_number<std::uint64_t>() == 9);
    CHECK(s.at("decode").at("tcp").to_number<std::uint64_t>() == 8);
    CHECK(s.at("decode").at("malformed").to_number<std::uint64_t>() == 2);
    CHECK(s.at("decode").at("reassembled").to_number<std::uint64_t>() == 0);
    CHECK(s.at("flow_table").at("created").to_number<std::uint64_t>() == 2);
    const auto& an = s.at("anomalies").as_object();
    CHECK(an.size() == 1);  // only the anomalies that happened
    CHECK(an.at("truncated_tcp_header").to_number<std::uint64_t>() == 2);
  }

  TEST_CASE("inputs") {
    const json::value v = parsed(sample());
    const auto& in = v.at("inputs").as_array();
    REQUIRE(in.size() == 3);
    CHECK(in[0].at("path").as_string() == "session.pcapng");
    CHECK(in[0].at("format").as_string() == "pcapng");
    CHECK(in[0].at("complete").as_bool());
    CHECK(in[0].at("error").is_null());
    CHECK(in[0].at("packets").to_number<std::uint64_t>() == 7);
    CHECK(in[0].at("bytes").to_number<std::uint64_t>() == 900);
    REQUIRE(in[0].at("link_types").as_array().size() == 2);
    CHECK(in[0].at("link_types").as_array()[0].as_string() == "ethernet");
    CHECK(in[0].at("link_types").as_array()[1].as_string() == "linux-sll2");
    CHECK(in[1].at("path").as_string() == "cut \"quoted\"\n.pcap");  // escaped and back
    CHECK_FALSE(in[1].at("complete").as_bool());
    CHECK(in[1].at("error").as_string() == "cut.pcap: bad or cut-off packet record at offset 100: truncated");
    CHECK(in[2].at("format").is_null());
    CHECK(in[2].at("link_types").as_array().empty());
    CHECK_FALSE(in[2].at("complete").as_bool());
  }

  TEST_CASE("flows and destinations") {
    const json::value v = parsed(sample());
    const auto& flows = v.at("flows").as_array();
    REQUIRE(flows.size() == 2);
    const auto& t = flows[0];
    CHECK(t.at("id").to_number<std::uint64_t>() == 1);
    CHECK(t.at("transport").as_string() == "tcp");
    CHECK(t.at("client").at("ip").as_string() == "10.0.0.2");
    CHECK(t.at("client").at("port").to_number<int>() == 50000);
    CHECK(t.at("server").at("ip").as_string() == "93.184.216.34");
    CHECK(t.at("server").at("port").to_number<int>() == 443);
    CHECK(t.at("orientation").as_string() == "tcp-handshake");
    CHECK(t.at("tcp_state").as_string() == "established");
    CHECK(t.at("end").as_string() == "end-of-capture");
    CHECK(t.at("packets_out").to_number<std::uint64_t>() == 6);
    CHECK(t.at("packets_in").to_number<std::uint64_t>() == 4);
    CHECK(t.at("bytes_out").to_number<std::uint64_t>() == 600);
    CHECK(t.at("payload_bytes_in").to_number<std::uint64_t>() == 200);
    CHECK(t.at("first_seen").as_string() == "2025-01-29T10:00:00.000000Z");
    CHECK(t.at("sni").is_null());
    CHECK(t.at("hostname").is_null());
    const auto& u = flows[1];
    CHECK(u.at("transport").as_string() == "udp");
    CHECK(u.at("tcp_state").is_null());
    CHECK(u.at("client").at("ip").as_string() == "2001:db8::2");
    CHECK(u.at("server").at("port").to_number<int>() == 53);
    CHECK(u.at("orientation").as_string() == "port-heuristic");
    CHECK(u.at("end").as_string() == "idle-timeout");
    CHECK(u.at("packets_out").to_number<std::uint64_t>() == 1);
    CHECK(u.at("packets_in").to_number<std::uint64_t>() == 0);

    const auto& d = v.at("destinations").as_array();
    REQUIRE(d.size() == 1);
    CHECK(d[0].at("ip").as_string() == "93.184.216.34");
    CHECK(d[0].at("port").to_number<int>() == 443);
    CHECK(d[0].at("transport").as_string() == "tcp");
    CHECK(d[0].at("bytes_out").to_number<std::uint64_t>() == 600);
    CHECK(d[0].at("encrypted").is_null());
  }

  TEST_CASE("warnings") {
    const json::value v = parsed(sample());
    const auto& w = v.at("warnings").as_array();
    REQUIRE(w.size() == 2);
    CHECK(w[0].as_string() == "first warning");
    CHECK(w[1].as_string() == "second \"warning\"");
  }

  TEST_CASE("a DNS message without a question has an empty query; the root is \".\"") {
    AuditResult r;
    flowaudit::analysis::app::DnsRecord asked;
    asked.transport = "udp";
    asked.query = ".";
    asked.qtype = "NS";
    flowaudit::analysis::app::DnsRecord none;  // an inverse query / mDNS announcement: QDCOUNT 0
    none.transport = "udp";
    none.qtype = "TYPE0";
    r.dns = {asked, none};
    const json::value v = parsed(r);
    const auto& dns = v.at("dns").as_array();
    REQUIRE(dns.size() == 2);
    CHECK(dns[0].at("query").as_string() == ".");
    CHECK(dns[1].at("query").as_string().empty());
  }

  TEST_CASE("an empty audit") {
    const json::value v = parsed(AuditResult{});
    CHECK(v.at("summary").at("packets").to_number<std::uint64_t>() == 0);
    CHECK(v.at("summary").at("first_seen").is_null());
    CHECK(v.at("summary").at("last_seen").is_null());
    CHECK(v.at("summary").at("duration_seconds").to_number<double>() == 0.0);
    CHECK(v.at("summary").at("anomalies").as_object().empty());
    CHECK(v.at("inputs").as_array().empty());
    CHECK(v.at("flows").as_array().empty());
    CHECK(v.at("warnings").as_array().empty());
  }

  TEST_CASE("the pretty text and the value agree") {
    const AuditResult r = sample();
    CHECK(parsed(r) == report::to_json({r}));
    const std::string text = report::render(report::Format::kJson, {r});
    CHECK(text.rfind("{\n  \"schema\": \"flowaudit.report/v1\",\n", 0) == 0);
  }
}
