// Policy regular expressions end to end: patterns that backtrack exponentially evaluate in linear
// time on a capture with a long hostname and a 4 KB User-Agent, and patterns RE2 cannot run are
// refused by `rules check` and `audit` with FILE:LINE:COL.
#include <fstream>
#include <set>

#include "e2e/e2e_util.h"
#include "unit/packet_builder.h"

namespace flowaudit::e2e {
namespace {

namespace pb = flowaudit::test;

// One plain HTTP request (handshake, request) whose Host is `host` and whose User-Agent is `agent`.
std::string write_http_capture(const std::string& name, const std::string& host, const std::string& agent) {
  std::vector<pb::PcapRecord> records;
  std::uint32_t t = 0;
  auto add = [&](bool to_server, std::uint8_t flags, std::uint32_t seq, std::uint32_t ack, const std::string& data) {
    pb::Ipv4Spec ip;
    ip.src = to_server ? "192.168.1.23" : "93.184.216.34";
    ip.dst = to_server ? "93.184.216.34" : "192.168.1.23";
    pb::TcpSpec tcp;
    tcp.src_port = to_server ? 50000 : 80;
    tcp.dst_port = to_server ? 80 : 50000;
    tcp.seq = seq;
    tcp.ack = ack;
    tcp.flags = flags;
    const std::vector<std::uint8_t> payload(data.begin(), data.end());
    pb::PcapRecord r;
    r.ts_sec = 1717236000 + t++;
    r.data = pb::ethernet_frame(0x0800, pb::ipv4_packet(ip, pb::tcp_segment(tcp, payload).span()).span());
    records.push_back(std::move(r));
  };
  const std::string request = "GET /" + std::string(" HTTP/1.1\r\nHost: ") + host + "\r\nUser-Agent: " + agent +
                              "\r\nAccept: */*\r\n\r\n";
  add(true, 0x02, 1000, 0, "");
  add(false, 0x12, 5000, 1001, "");
  add(true, 0x10, 1001, 5001, "");
  add(true, 0x18, 1001, 5001, request);
  add(false, 0x10, 5001, 1001 + static_cast<std::uint32_t>(request.size()), "");
  const auto bytes = pb::pcap_file(1, records);
  const auto path = temp_dir() / name;
  std::ofstream(path, std::ios::binary) << std::string(bytes.vec().begin(), bytes.vec().end());
  return path.string();
}

// With a time limit: a backtracking engine would never return, and the test must fail, not hang.
RunResult run_limited(const std::vector<std::string>& args) { return run_shell(binary_command(args, "timeout 120")); }

}  // namespace

TEST_SUITE("e2e") {

TEST_CASE("ReDoS patterns in a policy evaluate in linear time on a long hostname and a 4 KB User-Agent") {
  const std::string host = std::string(60, 'a') + ".example";
  const std::string agent(4096, 'a');
  const auto capture = write_http_capture("redos.pcap", host, agent);
  const auto report = temp_dir() / "redos.json";
  const auto r = run_limited({"audit", capture, "--policy", source_path("tests/data/bad/redos-policy.yaml"),
                              "--report", "json:" + report.string()});
  INFO("stderr: " << r.err);
  REQUIRE((r.exit_code == 0 || r.exit_code == 1));  // 124 would be the time limit
  const auto json = boost::json::parse(read_file(report)).as_object();
  std::set<std::string> fired;
  for (const auto& f : json.at("findings").as_array()) fired.insert(std::string(f.as_object().at("rule").as_string()));
  // '(a*)*b' and '(a+)+$' find nothing here (no b; the name ends in ".example"); 'a{1000}$' does.
  CHECK(fired == std::set<std::string>{"redos.user-agent-tail"});
  // The same evaluation where the slow patterns match: a User-Agent ending in b, a name ending in a.
  const auto matching = write_http_capture("redos-match.pcap", std::string(60, 'a') + ".aaaa", agent + "b");
  const auto r2 = run_limited({"audit", matching, "--policy", source_path("tests/data/bad/redos-policy.yaml"),
                               "--report", "json:" + report.string()});
  INFO("stderr: " << r2.err);
  REQUIRE(r2.exit_code == 1);
  fired.clear();
  const auto json2 = boost::json::parse(read_file(report));
  for (const auto& f : json2.as_object().at("findings").as_array()) {
    fired.insert(std::string(f.as_object().at("rule").as_string()));
  }
  CHECK(fired == std::set<std::string>{"redos.hostname", "redos.user-agent"});
}

TEST_CASE("lookaround and backreferences are refused at load with FILE:LINE:COL, by rules check and audit") {
  const std::string file = source_path("tests/data/bad/lookaround-policy.yaml");
  const auto check = run({"rules", "check", file});
  CHECK(check.exit_code == 2);
  INFO(check.err);
  CHECK(check.err.find(file + ":8:33: negative lookahead (?!...) is not supported: matches uses RE2, which runs in "
                              "linear time and has no lookaround; test the field twice with 'and not ... matches' "
                              "instead (in rule look.ahead)\n    condition: hostname matches '^chat\\\\.(?!deepseek)'\n"
                              "                                ^\n") != std::string::npos);
  CHECK(check.err.find(file + ":15:25: lookbehind (?<=...) is not supported") != std::string::npos);
  CHECK(check.err.find(file + ":20:33: backreference \\1 is not supported") != std::string::npos);
  CHECK(check.err.find("flowaudit: 3 errors") != std::string::npos);
  const auto audit = run({"audit", source_path("tests/data/http-post.pcap"), "--policy", file});
  CHECK(audit.exit_code == 2);
  CHECK(audit.err.find(file + ":8:33: negative lookahead") != std::string::npos);
}

}  // TEST_SUITE
}  // namespace flowaudit::e2e
