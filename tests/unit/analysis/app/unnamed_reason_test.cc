// Every flow without a name says why (issue 13 class 9): one reason per case the analyzer can tell
// apart, from hand-built flows and details, and through the whole pipeline from frames.
#include "analysis/app/unnamed_reason.h"

#include <doctest/doctest.h>

#include <set>
#include <string>

#include "analysis/app/flow_details.h"
#include "analysis/app/naming.h"
#include "analysis/packet/transport.h"
#include "unit/analysis/audit_frames.h"

using namespace flowaudit::analysis;
using flowaudit::analysis::app::UnnamedReason;
using flowaudit::core::IpAddress;

namespace {

flow::Flow make_flow(std::uint8_t proto, bool handshake = true, std::uint64_t payload = 100) {
  flow::Flow f;
  f.key.addr[0] = *IpAddress::parse("10.0.0.2");
  f.key.addr[1] = *IpAddress::parse("192.0.2.7");
  f.key.port[0] = 50000;
  f.key.port[1] = 443;
  f.key.protocol = proto;
  f.client = 0;
  f.from[0].packets = 1;
  f.from[0].payload_bytes = payload;
  f.orientation = handshake && proto == packet::kProtoTcp ? flow::Orientation::kTcpHandshake : flow::Orientation::kPort;
  return f;
}

app::FlowDetails tls_details(bool client_hello, bool ech = false) {
  app::FlowDetails d;
  d.app = app::AppProtocol::kTls;
  d.tls = std::make_unique<app::TlsDetails>();
  d.tls->client_hello = client_hello;
  d.tls->ech = ech;
  return d;
}

std::string reason(const flow::Flow& f, const app::FlowDetails* d) {
  return std::string(app::to_string(app::unnamed_reason(f, d)));
}

}  // namespace

TEST_CASE("unnamed reasons: one table, every value named once, in order") {
  std::set<std::string> names;
  for (std::size_t i = 1; i < app::kUnnamedReasonKinds; ++i) {
    const auto r = static_cast<UnnamedReason>(i);
    CHECK(app::kUnnamedReasons[i].reason == r);
    CHECK_FALSE(app::to_string(r).empty());
    CHECK_FALSE(app::explain(r).empty());
    CHECK(names.insert(std::string(app::to_string(r))).second);
  }
  CHECK(app::to_string(UnnamedReason::kNone).empty());
}

TEST_CASE("unnamed reasons: derived from what the analyzer saw") {
  const auto tcp = make_flow(packet::kProtoTcp);
  const auto udp = make_flow(packet::kProtoUdp);
  SUBCASE("not TCP or UDP is not inspected") { CHECK(reason(make_flow(1 /* ICMP */), nullptr) == "not-inspected"); }
  SUBCASE("an inspection limit wins over what was read before it") {
    auto d = tls_details(true);
    app::mark_blind_spot(d, app::BlindSpot::kInspectionLimit);
    CHECK(reason(tcp, &d) == "inspection-limit");
  }
  SUBCASE("ECH hides the name") {
    const auto d = tls_details(true, true);
    CHECK(reason(tcp, &d) == "encrypted-sni");
  }
  SUBCASE("QUIC that could not be decrypted") {
    app::FlowDetails d;
    d.app = app::AppProtocol::kQuic;
    app::mark_blind_spot(d, app::BlindSpot::kQuicUndecryptable);
    CHECK(reason(udp, &d) == "quic-undecryptable");
  }
  SUBCASE("a ClientHello without SNI") {
    const auto d = tls_details(true);
    CHECK(reason(tcp, &d) == "no-sni");
  }
  SUBCASE("TLS records without the ClientHello: missed handshake or not") {
    const auto d = tls_details(false);
    CHECK(reason(tcp, &d) == "no-client-hello");
    CHECK(reason(make_flow(packet::kProtoTcp, false), &d) == "no-handshake");
  }
  SUBCASE("HTTP without Host, or without a request read at all") {
    app::FlowDetails d;
    d.app = app::AppProtocol::kHttp;
    CHECK(reason(tcp, &d) == "http-no-request");
    d.http = std::make_unique<app::HttpDetails>();
    CHECK(reason(tcp, &d) == "http-no-host");
  }
  SUBCASE("DNS to a resolver") {
    app::FlowDetails d;
    d.app = app::AppProtocol::kDns;
    CHECK(reason(udp, &d) == "dns-exchange");
  }
  SUBCASE("nothing sent either way") {
    CHECK(reason(make_flow(packet::kProtoTcp, true, 0), nullptr) == "no-payload");
    CHECK(reason(make_flow(packet::kProtoUdp, true, 0), nullptr) == "no-payload");
  }
  SUBCASE("mid-stream TCP that named nothing") {
    CHECK(reason(make_flow(packet::kProtoTcp, false), nullptr) == "no-handshake");
  }
  SUBCASE("inspected from its first byte, nothing recognised") {
    CHECK(reason(tcp, nullptr) == "unknown-protocol");
    app::FlowDetails d;
    app::mark_blind_spot(d, app::BlindSpot::kUdpUnknown);
    CHECK(reason(udp, &d) == "unknown-protocol");
  }
}

TEST_CASE("unnamed reasons: a named flow has none") {
  flowaudit::core::StringPool pool;
  dns::NameCache names;
  const auto f = make_flow(packet::kProtoTcp);
  auto d = tls_details(true);
  d.tls->has_sni = true;
  d.tls->sni = "example.com";
  CHECK(app::name_flow(f, &d, names, pool).unnamed == UnnamedReason::kNone);
  d.tls->has_sni = false;
  CHECK(app::name_flow(f, &d, names, pool).unnamed == UnnamedReason::kNoSni);
}

TEST_CASE("unnamed reasons: through the pipeline, counted in the coverage") {
  using namespace flowaudit::test;
  const auto ip = [](std::uint8_t proto, const Bytes& l4) {
    Ipv4Spec s;
    s.protocol = proto;
    const Bytes packet = ipv4_packet(s, l4.span());
    return ethernet_frame(0x0800, packet.span());
  };
  TcpSpec syn;
  syn.src_port = 50001;
  TcpSpec mid;
  mid.src_port = 50002;
  mid.flags = 0x18;  // PSH ACK: no handshake seen
  const Bytes icmp = Bytes().u8(8).u8(0).u16be(0).u32be(1);  // echo request
  const Bytes data = payload_bytes(40);
  const auto r = audit_frames(std::vector<Bytes>{ip(6, tcp_segment(syn)), ip(6, tcp_segment(mid, data.span())), ip(1, icmp)});
  std::set<std::string> seen;
  for (const auto& f : r.flows) {
    CHECK(f.name.hostname.empty());
    seen.insert(std::string(app::to_string(f.name.unnamed)));
  }
  CHECK(seen.count("no-payload") == 1);
  CHECK(seen.count("no-handshake") == 1);
  const auto count = [&](UnnamedReason u) { return r.coverage.unnamed[static_cast<std::size_t>(u)]; };
  CHECK(count(UnnamedReason::kNoPayload) == 1);
  CHECK(count(UnnamedReason::kNoHandshake) == 1);
  std::uint64_t total = 0;
  for (const auto n : r.coverage.unnamed) total += n;
  CHECK(total == r.coverage.flows - r.coverage.named_flows);
  if (r.flows.size() == 3) CHECK(count(UnnamedReason::kNotInspected) == 1);
  CHECK(unnamed_summary(r.coverage).find("1 no-payload") != std::string::npos);
}

TEST_CASE("unnamed reasons: a proxy connection without its request, a session that never upgraded") {
  const flow::Flow f = make_flow(packet::kProtoTcp);
  for (const auto proxy : {app::AppProtocol::kHttpConnect, app::AppProtocol::kSocks}) {
    app::FlowDetails d;
    d.app = proxy;
    CHECK(reason(f, &d) == "proxy-no-request");
  }
  for (const auto plain : {app::AppProtocol::kSmtp, app::AppProtocol::kImap, app::AppProtocol::kPop3,
                           app::AppProtocol::kFtp, app::AppProtocol::kXmpp, app::AppProtocol::kLdap,
                           app::AppProtocol::kPostgres}) {
    app::FlowDetails d;
    d.app = plain;
    CHECK(reason(f, &d) == "no-tls-upgrade");
    // Upgraded, with a ClientHello that names nothing: the TLS reason wins.
    d.tls = std::make_unique<app::TlsDetails>();
    d.tls->client_hello = true;
    CHECK(reason(f, &d) == "no-sni");
  }
}
