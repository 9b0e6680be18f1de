// Every committed capture, audited end to end, agrees with what tshark recorded for it
// (scripts/record-expected), and its report validates against docs/report.schema.json.
#include <filesystem>
#include <map>

#include "e2e/e2e_util.h"

namespace flowaudit::e2e {
namespace {

std::map<std::string, std::string> read_expected(const std::filesystem::path& p) {
  std::map<std::string, std::string> kv;
  std::istringstream in(read_file(p));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto eq = line.find('=');
    if (eq != std::string::npos) kv[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return kv;
}

std::int64_t count_flows(const boost::json::object& report, const char* transport) {
  std::int64_t n = 0;
  for (const auto& f : report.at("flows").as_array()) n += f.as_object().at("transport").as_string() == transport;
  return n;
}

}  // namespace

TEST_SUITE("e2e") {

TEST_CASE("each committed capture matches tshark's packet and conversation counts") {
  const std::filesystem::path dir = source_path("tests/data/expected");
  REQUIRE(std::filesystem::is_directory(dir));
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".expected") continue;
    const std::string capture = entry.path().stem().string();
    const auto expected = read_expected(entry.path());
    CAPTURE(capture);
    const auto report = audit_json({source_path("tests/data/" + capture)});
    CHECK(at_int(report, {"summary", "packets"}) == std::stoll(expected.at("packets")));
    CHECK(count_flows(report, "tcp") == std::stoll(expected.at("tcp_conversations")));
    CHECK(count_flows(report, "udp") == std::stoll(expected.at("udp_conversations")));
    const auto& input = report.at("inputs").as_array().at(0).as_object();
    CHECK(input.at("complete").as_bool());
    CHECK(input.at("error").is_null());
    ++checked;
  }
  CHECK(checked >= 10);
}

TEST_CASE("reports validate against the JSON schema") {
  const auto report = temp_dir() / "schema-check.json";
  const auto r = run({"audit", source_path("examples/deepseek-session.pcapng"), source_path("tests/data/multi-link.pcapng"),
                      source_path("tests/data/dns-records.pcap"), source_path("tests/data/blind-spots.pcap"),
                      source_path("tests/data/quic-v1.pcap"), source_path("tests/data/tls-variants.pcap"),
                      source_path("tests/data/http-post.pcap"), source_path("tests/data/weak-tls.pcap"),
                      source_path("tests/data/tunnels/gre.pcap"), source_path("tests/data/tunnels/wifi-radiotap.pcap"),
                      "--report", "json:" + report.string()});
  REQUIRE(r.exit_code == 1);  // the default policy finds things at high severity in these

  const std::string cmd = "'" + source_path("tests/tools/validate-report") + "' '" + report.string() + "'";
  CHECK(std::system(cmd.c_str()) == 0);
}

}  // TEST_SUITE
}  // namespace flowaudit::e2e
