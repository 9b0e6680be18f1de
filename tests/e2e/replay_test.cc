// The replay pipeline end to end on the committed captures: link types, multi-interface pcapng,
// VLAN tags, fragments, orientation, stdin, several files, damaged files, flow caps, file modes.
#include <sys/stat.h>

#include <set>

#include "e2e/e2e_util.h"

namespace flowaudit::e2e {
namespace {

using boost::json::object;

std::string data(const std::string& name) { return source_path("tests/data/" + name); }

const object& input0(const object& report) { return report.at("inputs").as_array().at(0).as_object(); }

std::vector<std::string> link_types(const object& input) {
  std::vector<std::string> out;
  for (const auto& v : input.at("link_types").as_array()) out.emplace_back(v.as_string());
  return out;
}

const object* find_flow(const object& report, const std::string& server_ip, std::int64_t server_port) {
  for (const auto& f : report.at("flows").as_array()) {
    const auto& server = f.as_object().at("server").as_object();
    if (server.at("ip").as_string() == server_ip && get_int(server.at("port")) == server_port) {
      return &f.as_object();
    }
  }
  return nullptr;
}

}  // namespace

TEST_SUITE("e2e") {

TEST_CASE("the DeepSeek-like example: every destination, oriented from the device, sorted by bytes sent") {
  const auto report = audit_json({source_path("examples/deepseek-session.pcapng")});
  CHECK(report.at("schema").as_string() == "flowaudit.report/v1");
  CHECK(at_int(report, {"summary", "packets"}) == 83);
  CHECK(at_int(report, {"summary", "flows"}) == 12);
  CHECK(report.at("summary").as_object().at("verdict").as_string() == "not-evaluated");
  CHECK(link_types(input0(report)) == std::vector<std::string>{"ethernet"});
  CHECK(input0(report).at("format").as_string() == "pcapng");

  std::set<std::string> servers;
  std::int64_t previous = INT64_MAX;
  for (const auto& d : report.at("destinations").as_array()) {
    const auto& o = d.as_object();
    servers.insert(std::string(o.at("ip").as_string()) + ":" + std::to_string(get_int(o.at("port"))) + "/" +
                   std::string(o.at("transport").as_string()));
    CHECK(get_int(o.at("bytes_out")) <= previous);
    previous = get_int(o.at("bytes_out"));
  }
  for (const char* s : {"3.173.21.63:443/tcp", "43.109.38.198:80/tcp", "138.113.144.16:443/tcp",
                        "142.250.74.35:443/tcp", "192.168.1.1:53/udp"}) {
    CHECK_MESSAGE(servers.count(s) == 1, s);
  }
  for (const auto& f : report.at("flows").as_array()) {
    const auto& o = f.as_object();
    CHECK(o.at("client").as_object().at("ip").as_string() == "192.168.1.23");
    if (o.at("transport").as_string() == "tcp") CHECK(o.at("orientation").as_string() == "tcp-handshake");
    CHECK(get_int(o.at("bytes_out")) > 0);
    CHECK(get_int(o.at("bytes_in")) > 0);
  }
  const object* deepseek = find_flow(report, "3.173.21.63", 443);
  REQUIRE(deepseek != nullptr);
  CHECK(get_int(deepseek->at("payload_bytes_out")) > 500);  // ClientHello + the POSTed prompt
}

TEST_CASE("the terminal summary lists destinations and totals") {
  const auto r = run({"audit", source_path("examples/deepseek-session.pcapng"), "--policy", "none"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("Destinations by bytes sent") != std::string::npos);
  CHECK(r.out.find("3.173.21.63") != std::string::npos);
  CHECK(r.out.find("43.109.38.198") != std::string::npos);
  CHECK(r.out.find("Totals:") != std::string::npos);
  CHECK(r.err.empty());
}

TEST_CASE("every supported link type is decoded") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"linux-sll.pcap", "linux-sll"}, {"linux-sll2.pcap", "linux-sll2"}, {"raw-ip.pcap", "raw"},
      {"null-loopback.pcap", "null"},  {"vlan-8021q.pcap", "ethernet"},   {"qinq-8021ad.pcap", "ethernet"},
      {"ipv6-tcp.pcap", "ethernet"},   {"nsec.pcap", "ethernet"}};
  for (const auto& c : cases) {  // no structured binding: doctest's CAPTURE/INFO lambda cannot take one (clang before 16)
    const std::string& file = c.first;
    const std::string& lt = c.second;
    CAPTURE(file);
    const auto report = audit_json({data(file)});
    CHECK(link_types(input0(report)) == std::vector<std::string>{lt});
    CHECK(at_int(report, {"summary", "decode", "malformed"}) == 0);
    CHECK(at_int(report, {"summary", "decode", "not_ip"}) == 0);
    CHECK(at_int(report, {"summary", "flows"}) >= 1);
  }
}

TEST_CASE("a pcapng with interfaces of different link types is read whole") {
  const auto report = audit_json({data("multi-link.pcapng")});
  CHECK(link_types(input0(report)) == std::vector<std::string>{"ethernet", "linux-sll", "raw"});
  CHECK(at_int(report, {"summary", "packets"}) == 52);
  CHECK(find_flow(report, "43.109.38.198", 80) != nullptr);  // from the Ethernet interface
  CHECK(find_flow(report, "3.173.21.63", 443) != nullptr);   // Linux cooked
  CHECK(find_flow(report, "138.113.144.16", 443) != nullptr);  // raw IP
}

TEST_CASE("IPv4 and IPv6 fragments are reassembled into one datagram each") {
  const auto report = audit_json({data("ip-fragments.pcap")});
  CHECK(at_int(report, {"summary", "decode", "fragments"}) == 6);
  CHECK(at_int(report, {"summary", "decode", "reassembled"}) == 2);
  const object* v4 = find_flow(report, "192.168.1.1", 53);
  REQUIRE(v4 != nullptr);
  CHECK(get_int(v4->at("packets_in")) == 3);            // three fragments on the wire
  CHECK(get_int(v4->at("payload_bytes_in")) > 2800);    // the whole 2.9 KB answer
  const object* v6 = find_flow(report, "fd00:200::1", 53);
  REQUIRE(v6 != nullptr);
  CHECK(get_int(v6->at("payload_bytes_in")) > 2800);
}

TEST_CASE("IPv4 options and IPv6 extension headers do not stop decoding") {
  const auto options = audit_json({data("ipv4-options.pcap")});
  CHECK(at_int(options, {"summary", "decode", "icmp"}) == 8);
  CHECK(at_int(options, {"summary", "decode", "malformed"}) == 0);
  const auto ext = audit_json({data("ipv6-ext.pcap")});
  CHECK(at_int(ext, {"summary", "decode", "ipv6"}) == 2);
  CHECK(at_int(ext, {"summary", "decode", "malformed"}) == 0);
}

TEST_CASE("orientation without a handshake: ports, then --client") {
  const auto plain = audit_json({data("no-handshake.pcap")});
  const object* tcp = find_flow(plain, "3.173.21.63", 443);
  REQUIRE(tcp != nullptr);
  CHECK(tcp->at("orientation").as_string() == "port-heuristic");
  CHECK(tcp->at("tcp_state").as_string() != "syn-sent");
  CHECK(tcp->at("client").as_object().at("ip").as_string() == "192.168.1.23");

  const auto with_client = audit_json({data("no-handshake.pcap")}, {"--client", "192.168.1.0/24"});
  const object* udp = find_flow(with_client, "3.173.21.63", 50000);
  REQUIRE(udp != nullptr);
  CHECK(udp->at("orientation").as_string() == "client-cidr");
  CHECK(udp->at("client").as_object().at("ip").as_string() == "192.168.1.23");
  CHECK(get_int(udp->at("client").as_object().at("port")) == 40000);
}

TEST_CASE("standard input and several files in one audit") {
  const auto from_file = audit_json({data("http-post.pcap")});
  const auto r = run({"audit", "-", "--report", "json", "--policy", "none"}, data("http-post.pcap"));
  REQUIRE(r.exit_code == 0);
  const auto from_stdin = boost::json::parse(r.out).as_object();
  CHECK(at_int(from_stdin, {"summary", "packets"}) == at_int(from_file, {"summary", "packets"}));
  CHECK(input0(from_stdin).at("path").as_string() == "-");

  const auto ng = run({"audit", "-", "--report", "json", "--policy", "none"}, data("multi-link.pcapng"));
  REQUIRE(ng.exit_code == 0);
  CHECK(at_int(boost::json::parse(ng.out).as_object(), {"summary", "packets"}) == 52);

  const auto both = audit_json({data("http-post.pcap"), data("tls13-sni-alpn.pcap")});
  CHECK(both.at("inputs").as_array().size() == 2);
  CHECK(at_int(both, {"summary", "packets"}) == 12 + 18);
  CHECK(at_int(both, {"summary", "flows"}) == 2);
}

TEST_CASE("a capture cut off mid-packet still gives a report of what was read") {
  for (const char* file : {"bad/truncated.pcap", "bad/truncated.pcapng"}) {
    CAPTURE(file);
    const auto r = run({"audit", data(file), "--report", "json", "--policy", "none"});
    CHECK(r.exit_code == 0);
    CHECK(r.err.find(data(file)) != std::string::npos);
    CHECK(r.err.find("offset") != std::string::npos);
    const auto report = boost::json::parse(r.out).as_object();
    CHECK(at_int(report, {"summary", "packets"}) == 5);
    CHECK_FALSE(input0(report).at("complete").as_bool());
    CHECK(input0(report).at("error").as_string().find("offset") != std::string::npos);
    CHECK(report.at("warnings").as_array().size() >= 1);
  }
}

TEST_CASE("garbage after a valid header is reported with its offset") {
  const auto r = run({"audit", data("bad/garbage-after-header.pcap"), "--report", "json"});
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("offset 24") != std::string::npos);
  const auto report = boost::json::parse(r.out).as_object();
  CHECK(at_int(report, {"summary", "packets"}) == 0);
  CHECK_FALSE(input0(report).at("complete").as_bool());
}

TEST_CASE("an unsupported link type and a non-capture are rejected with exit 2") {
  const auto lt = run({"audit", data("bad/unsupported-linktype.pcap")});
  CHECK(lt.exit_code == 2);
  CHECK(lt.err.find("unsupported link type") != std::string::npos);
  CHECK(lt.err.find("147") != std::string::npos);
  const auto text = run({"audit", data("bad/not-a-capture.pcap")});
  CHECK(text.exit_code == 2);
  CHECK(text.err.find("not a pcap or pcapng file") != std::string::npos);
}

TEST_CASE("the flow cap evicts and says so") {
  const auto report = audit_json({source_path("examples/deepseek-session.pcapng")}, {"--max-flows", "2"});
  CHECK(at_int(report, {"summary", "flow_table", "evicted"}) > 0);
  CHECK(at_int(report, {"summary", "flow_table", "peak_live"}) <= 2);
  bool warned = false;
  for (const auto& w : report.at("warnings").as_array()) warned |= w.as_string().find("evicted") != std::string::npos;
  CHECK(warned);
  CHECK(at_int(report, {"summary", "packets"}) == 83);
}

TEST_CASE("report files are readable by their owner only") {
  const auto path = temp_dir() / "mode.json";
  const auto r = run({"audit", data("http-post.pcap"), "--report", "json:" + path.string(), "--policy", "none"});
  REQUIRE(r.exit_code == 0);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

}  // TEST_SUITE
}  // namespace flowaudit::e2e
