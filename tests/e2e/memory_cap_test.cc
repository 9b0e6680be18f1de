// Memory caps (--max-flow-records, --max-destinations, --max-dns-records): records dropped past a
// cap change nothing the verdict depends on, and a cap that loses data fails the default policy.
#include <algorithm>
#include <fstream>
#include <set>

#include "e2e/e2e_util.h"

using namespace flowaudit::e2e;
using boost::json::array;
using boost::json::object;

TEST_SUITE_BEGIN("e2e");

namespace {

std::string data(const std::string& name) { return source_path("tests/data/" + name); }

object audit_default(const std::string& capture, std::vector<std::string> extra, int exit_code) {
  extra.insert(extra.end(), {"--policy", "default", "--geoip-db", source_path("tests/data/geo/fixture-country.mmdb"),
                             "--geoip-db", source_path("tests/data/geo/fixture-asn.mmdb")});
  return audit_json({capture}, extra, exit_code);
}

const object& caps_of(const object& report) { return report.at("summary").as_object().at("caps").as_object(); }

bool has_warning(const object& report, const std::string& part) {
  const auto& w = report.at("warnings").as_array();
  return std::any_of(w.begin(), w.end(), [&](const auto& v) { return std::string(v.as_string()).find(part) != std::string::npos; });
}

std::size_t count_rule(const object& report, const std::string& rule) {
  const auto& f = report.at("findings").as_array();
  return static_cast<std::size_t>(
      std::count_if(f.begin(), f.end(), [&](const auto& v) { return v.as_object().at("rule").as_string() == rule; }));
}

// A pcap of `flows` one-datagram UDP flows (unknown protocol: a blind-spots.udp-unknown finding
// each) from distinct client ports to `destinations` servers, interleaved.
std::string write_udp_flows(const std::string& name, int flows, int destinations) {
  std::string out;
  const auto le32 = [&](std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  };
  const auto be16 = [&](std::uint32_t v) {
    out.push_back(static_cast<char>((v >> 8) & 0xFF));
    out.push_back(static_cast<char>(v & 0xFF));
  };
  le32(0xA1B2C3D4);
  le32(0x00040002);  // version 2.4
  le32(0);
  le32(0);
  le32(65535);
  le32(101);  // LINKTYPE_RAW: the packet starts with its IP header
  for (int i = 0; i < flows; ++i) {
    le32(static_cast<std::uint32_t>(1700000000 + i));
    le32(0);
    le32(20 + 8 + 4);
    le32(20 + 8 + 4);
    const std::uint8_t server = static_cast<std::uint8_t>(1 + (i * 7) % destinations);
    const std::uint8_t ip[20] = {0x45, 0, 0, 32, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 2, 192, 0, 2, server};
    std::uint32_t sum = 0;
    for (int j = 0; j < 20; j += 2) sum += static_cast<std::uint32_t>(ip[j] << 8 | ip[j + 1]);
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    for (int j = 0; j < 20; ++j) {
      out.push_back(static_cast<char>(j == 10 ? (~sum >> 8) & 0xFF : j == 11 ? ~sum & 0xFF : ip[j]));
    }
    be16(static_cast<std::uint32_t>(40000 + i));
    be16(4000);
    be16(12);
    be16(0);
    out.append("\xA5\xA5\xA5\xA5", 4);
  }
  const auto path = temp_dir() / name;
  std::ofstream(path, std::ios::binary) << out;
  return path.string();
}

}  // namespace

TEST_CASE("--max-flow-records: flows folded into a record still count in its flow findings") {
  const std::string capture = write_udp_flows("udp-flows.pcap", 60, 3);
  const object full = audit_default(capture, {}, 0);
  const object capped = audit_default(capture, {"--max-flow-records", "8"}, 0);
  REQUIRE(get_int(full.at("summary").as_object().at("flows")) == 60);
  CHECK(get_int(capped.at("summary").as_object().at("flows")) == 60);
  CHECK(capped.at("flows").as_array().size() == 8);
  CHECK(get_int(caps_of(capped).at("flow_records_dropped")) == 52);
  CHECK(get_int(caps_of(capped).at("flow_groups")) == 3);
  CHECK(caps_of(capped).at("capped").as_bool() == false);
  REQUIRE(count_rule(full, "blind-spots.udp-unknown") == 3);
  // Same findings: 20 flows each, the same bytes, times, message and the lowest 20 flow ids.
  CHECK(capped.at("findings") == full.at("findings"));
  CHECK(capped.at("destinations") == full.at("destinations"));
}

TEST_CASE("--max-flow-records: fewer records, same destinations, findings, coverage and verdict") {
  struct Case {
    std::string capture;
    int exit_code;
    std::int64_t records;  // room for one record per kind of flow, and a few more
  };
  const Case cases[] = {{"trackers-mix.pcap", 1, 10}, {"deepseek-session-v2.pcapng", 1, 10}, {"dns-udp-tcp.pcap", 0, 4}};
  for (const Case& c : cases) {
    const std::string& capture = c.capture;
    const std::int64_t records = c.records;
    INFO(capture);
    const object full = audit_default(data(capture), {}, c.exit_code);
    const object capped = audit_default(data(capture), {"--max-flow-records", std::to_string(records)}, c.exit_code);
    const auto& fs = full.at("summary").as_object();
    const auto& cs = capped.at("summary").as_object();
    const std::int64_t flows = get_int(fs.at("flows"));
    REQUIRE(flows > records);
    // Every flow is counted; only ten records are listed.
    CHECK(get_int(cs.at("flows")) == flows);
    CHECK(static_cast<std::int64_t>(capped.at("flows").as_array().size()) == records);
    CHECK(get_int(caps_of(capped).at("flow_records")) == records);
    CHECK(get_int(caps_of(capped).at("flow_records_dropped")) == flows - records);
    CHECK(get_int(caps_of(full).at("flow_records_dropped")) == 0);
    CHECK(caps_of(capped).at("capped").as_bool() == false);
    CHECK(has_warning(capped, "flow records were dropped to stay within --max-flow-records " + std::to_string(records)));
    // Nothing the verdict depends on changed.
    CHECK(capped.at("destinations") == full.at("destinations"));
    CHECK(capped.at("findings") == full.at("findings"));
    CHECK(cs.at("coverage") == fs.at("coverage"));
    CHECK(cs.at("blind_spots") == fs.at("blind_spots"));
    CHECK(cs.at("verdict") == fs.at("verdict"));
    // The first flow behind every flow finding is one of the records kept.
    std::set<std::int64_t> kept;
    for (const auto& f : capped.at("flows").as_array()) kept.insert(get_int(f.as_object().at("id")));
    for (const auto& f : capped.at("findings").as_array()) {
      const auto& o = f.as_object();
      if (o.at("scope").as_string() != "flow") continue;
      const auto& ids = o.at("evidence").as_object().at("flow_ids").as_array();
      REQUIRE(!ids.empty());
      CHECK(kept.count(get_int(ids.front())) == 1);
    }
  }
}

TEST_CASE("--max-destinations: flows past the cap are counted and the default verdict fails") {
  // Without the cap this capture passes the default policy; DNS to one resolver, then other hosts.
  const object full = audit_default(data("dns-udp-tcp.pcap"), {}, 0);
  CHECK(count_rule(full, "blind-spots.memory-cap") == 0);
  const object capped = audit_default(data("dns-udp-tcp.pcap"), {"--max-flow-records", "2", "--max-destinations", "1"}, 1);
  const auto& caps = caps_of(capped);
  CHECK(caps.at("capped").as_bool());
  CHECK(get_int(caps.at("max_destinations")) == 1);
  CHECK(get_int(caps.at("flows_over_destination_cap")) > 0);
  CHECK(capped.at("summary").as_object().at("verdict").as_string() == "fail");
  CHECK(count_rule(capped, "blind-spots.memory-cap") == 1);
  CHECK(has_warning(capped, "past --max-destinations 1"));
  // Still counted as flows of the capture.
  CHECK(get_int(capped.at("summary").as_object().at("flows")) == get_int(full.at("summary").as_object().at("flows")));
}

TEST_CASE("--max-dns-records: DNS messages past the cap are counted and the default verdict fails") {
  const object full = audit_default(data("dns-udp-tcp.pcap"), {}, 0);
  REQUIRE(full.at("dns").as_array().size() > 1);
  const object capped = audit_default(data("dns-udp-tcp.pcap"), {"--max-dns-records", "1"}, 1);
  CHECK(capped.at("dns").as_array().size() == 1);
  const auto& caps = caps_of(capped);
  CHECK(get_int(caps.at("dns_records_dropped")) > 0);
  CHECK(caps.at("capped").as_bool());
  CHECK(count_rule(capped, "blind-spots.memory-cap") == 1);
  CHECK(has_warning(capped, "DNS messages were not recorded"));
}

TEST_CASE("too few records for one per kind of flow: the flows not evaluated fail the default verdict") {
  const object capped = audit_default(data("trackers-mix.pcap"), {"--max-flow-records", "2"}, 1);
  const auto& caps = caps_of(capped);
  CHECK(get_int(caps.at("flows_over_group_cap")) > 0);
  CHECK(caps.at("capped").as_bool());
  CHECK(count_rule(capped, "blind-spots.memory-cap") == 1);
  CHECK(has_warning(capped, "were not evaluated by the flow rules"));
  // Destinations are still whole.
  const object full = audit_default(data("trackers-mix.pcap"), {}, 1);
  CHECK(capped.at("destinations") == full.at("destinations"));
}

TEST_SUITE_END();
