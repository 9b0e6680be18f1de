// --max-flow-records folds dropped flows into groups of flows that no flow rule can tell apart: the
// group key is made of the rule-visible values of analysis/flow_values.h and nothing else.
#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "unit/analysis/audit_frames.h"

namespace flowaudit::analysis {
namespace {

namespace pb = flowaudit::test;

pb::Bytes frame(std::uint16_t client_port, bool from_client, std::uint32_t seq, std::uint8_t flags,
                std::string_view payload = {}) {
  pb::TcpSpec t;
  t.src_port = from_client ? client_port : 80;
  t.dst_port = from_client ? 80 : client_port;
  t.seq = seq;
  t.flags = flags;
  pb::Ipv4Spec ip;
  ip.src = from_client ? "10.0.0.2" : "192.0.2.80";
  ip.dst = from_client ? "192.0.2.80" : "10.0.0.2";
  ip.protocol = 6;
  const std::vector<std::uint8_t> bytes(payload.begin(), payload.end());
  return pb::ethernet_frame(0x0800, pb::ipv4_packet(ip, pb::tcp_segment(t, bytes).span()).span());
}

// One plaintext HTTP request from `client_port` to 192.0.2.80:80, the connection then closed.
void request(std::vector<pb::Bytes>& frames, std::uint16_t client_port, std::string_view user_agent,
             std::string_view accept) {
  const std::string head = "GET /x HTTP/1.1\r\nHost: example.org\r\nUser-Agent: " + std::string(user_agent) +
                           "\r\nAccept: " + std::string(accept) + "\r\n\r\n";
  frames.push_back(frame(client_port, true, 999, 0x02));
  frames.push_back(frame(client_port, false, 4999, 0x12));
  frames.push_back(frame(client_port, true, 1000, 0x18, head));
  frames.push_back(frame(client_port, true, static_cast<std::uint32_t>(1000 + head.size()), 0x11));
}

AuditResult audit_three(std::string_view second_user_agent, std::string_view second_accept) {
  std::vector<pb::Bytes> frames;
  request(frames, 40001, "agent/1", "text/html");
  request(frames, 40002, second_user_agent, second_accept);
  request(frames, 40003, "agent/2", "text/html");
  AuditOptions options;
  options.max_flow_records = 2;
  return pb::audit_frames(frames, options);
}

}  // namespace

TEST_CASE("flows that differ only where no rule reads share a group") {
  // The Accept header is in no field: the second flow folds into the first one's record.
  const AuditResult r = audit_three("agent/1", "application/json");
  CHECK(r.caps.flow_groups == 1);
  CHECK(r.caps.flows_over_group_cap == 0);
  CHECK(r.flows.size() == 2);
  REQUIRE(r.folded.size() == 1);
  CHECK(r.folded.begin()->second.flows == 1);
}

TEST_CASE("flows that differ in a rule-visible value never share a group") {
  // http.user_agent differs: two groups, and no room left for the third kind of flow.
  const AuditResult r = audit_three("agent/3", "text/html");
  CHECK(r.caps.flow_groups == 2);
  CHECK(r.folded.empty());
  CHECK(r.caps.flows_over_group_cap == 1);
}

}  // namespace flowaudit::analysis
