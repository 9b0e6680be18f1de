// Names as places (issue 17): DNS query names are inspected label by label at the end of an audit,
// once per distinct name, for canaries and identifiers; a request's Host is a place of the request.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "analysis/audit.h"
#include "analysis/inspect/inspector.h"
#include "unit/analysis/app/dns/dns_builder.h"
#include "unit/analysis/audit_frames.h"

namespace flowaudit::analysis::inspect {
namespace {

namespace pb = flowaudit::test;

test::Bytes dns_query_frame(std::string_view name, std::uint16_t id) {
  const auto q = test::DnsBuilder(0x0100, id).counts(1, 0).question(name, 1).bytes();
  pb::Ipv4Spec ip;
  ip.protocol = 17;
  pb::UdpSpec udp;
  udp.src_port = static_cast<std::uint16_t>(50000 + id);
  return pb::ethernet_frame(0x0800, pb::ipv4_packet(ip, pb::udp_datagram(udp, q).span()).span());
}

std::shared_ptr<Inspector> inspector_with(const std::string& canary) {
  auto canaries = std::make_shared<CanarySet>();
  std::string why;
  REQUIRE(canaries->add(canary, why));
  REQUIRE(canaries->compile(why));
  return std::make_shared<Inspector>(InspectOptions{}, std::move(canaries), std::make_shared<ChatEndpoints>());
}

}  // namespace

TEST_SUITE("inspect") {

TEST_CASE("names: a canary hex-encoded in a DNS label is found, once per name, with its label") {
  AuditOptions options;
  options.app.inspector = inspector_with("ilse@example.org");
  // hex("ilse@example.org") = 696c7365406578616d706c652e6f7267; asked twice, and one clean name.
  const std::string exfil = "696c7365406578616d706c652e6f7267.t.example-track.com";
  const auto r = test::audit_frames(
      {dns_query_frame(exfil, 1), dns_query_frame(exfil, 2), dns_query_frame("www.example.com", 3)}, options);
  REQUIRE(r.dns.size() == 3);
  REQUIRE(r.name_findings.size() == 1);
  const NameFindings& n = r.name_findings[0];
  CHECK(n.place == "dns");
  CHECK(n.name == exfil);
  REQUIRE_FALSE(n.findings.empty());
  CHECK(n.findings[0].type == "canary");
  CHECK(n.findings[0].field == "dns.label[0]");
  CHECK(n.findings[0].encoding.find("hex") != std::string::npos);
  CHECK(n.findings[0].value.find("ilse") == std::string::npos);  // masked by default
  CHECK(r.find_name_findings("dns", exfil) == &n);
  CHECK(r.find_name_findings("dns", "www.example.com") == nullptr);
  CHECK(r.find_name_findings("sni", exfil) == nullptr);
}

TEST_CASE("names: without an inspector nothing is searched") {
  const auto r = test::audit_frames({dns_query_frame("696c7365406578616d706c652e6f7267.t.example.com", 1)});
  CHECK(r.name_findings.empty());
}

TEST_CASE("names: a finding needs a canary or a value-only detector; ordinary names give none") {
  AuditOptions options;
  options.app.inspector = inspector_with("zz-canary-7f3a91");
  const auto r = test::audit_frames({dns_query_frame("d2vmr3bhtjgxmt.cloudfront.net", 1),
                                     dns_query_frame("a1b2c3d4e5f60718293a4b5c6d7e8f90.cdn.example.com", 2),
                                     dns_query_frame("1234567890123456.example.com", 3)},
                                    options);
  CHECK(r.name_findings.empty());
}

}  // TEST_SUITE
}  // namespace flowaudit::analysis::inspect
