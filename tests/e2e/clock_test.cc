// Capture clocks that jump (issue 13 class 1): an audit of several captures, or of one whose
// clock steps back, or of a pcapng merged from two devices whose clocks disagree, gives the same
// flows as the captures one by one; a jump back is a warning in every format; rotated files are
// one audit. The captures are tests/data/clock-*, made from captures of real software by
// scripts/gen/clock-captures; the splits and shifts below are done here on the committed pcaps,
// as editcap -c / -i / -t would.
#include <cstring>
#include <functional>
#include <map>
#include <set>

#include "e2e/e2e_util.h"

namespace flowaudit::e2e {
namespace {

using boost::json::object;

std::string data(const std::string& name) { return source_path("tests/data/" + name); }

// A flow as both audits must see it, whatever its id or input: endpoints and packet counts.
using FlowFacts = std::multiset<std::string>;

FlowFacts flow_facts(const object& report) {
  FlowFacts out;
  for (const auto& v : report.at("flows").as_array()) {
    const auto& f = v.as_object();
    const auto& c = f.at("client").as_object();
    const auto& s = f.at("server").as_object();
    out.insert(std::string(f.at("transport").as_string()) + " " + std::string(c.at("ip").as_string()) + ":" +
               std::to_string(get_int(c.at("port"))) + " -> " + std::string(s.at("ip").as_string()) + ":" +
               std::to_string(get_int(s.at("port"))) + " out " + std::to_string(get_int(f.at("packets_out"))) +
               " in " + std::to_string(get_int(f.at("packets_in"))));
  }
  return out;
}

FlowFacts one_by_one(const std::vector<std::string>& captures) {
  FlowFacts all;
  for (const auto& c : captures) {
    const FlowFacts part = flow_facts(audit_json({c}));
    all.insert(part.begin(), part.end());
  }
  return all;
}

const object& clock_of(const object& report) { return report.at("summary").as_object().at("clock").as_object(); }

std::vector<std::string> warnings(const object& report) {
  std::vector<std::string> out;
  for (const auto& w : report.at("warnings").as_array()) out.emplace_back(w.as_string());
  return out;
}

bool has_warning(const object& report, const std::string& start) {
  for (const auto& w : warnings(report)) {
    if (w.rfind(start, 0) == 0) return true;
  }
  return false;
}

// Classic pcap (little-endian, as the committed captures are): header and records.
struct Pcap {
  std::string header;
  struct Record {
    std::uint32_t sec = 0;
    std::uint32_t frac = 0;
    std::string rest;  // lengths and data
  };
  std::vector<Record> records;
};

std::uint32_t le32(const std::string& s, std::size_t at) {
  std::uint32_t v = 0;
  std::memcpy(&v, s.data() + at, 4);  // the test machine is little-endian, as the files are
  return v;
}

Pcap read_pcap(const std::string& path) {
  const std::string bytes = read_file(path);
  REQUIRE(bytes.size() >= 24);
  REQUIRE(le32(bytes, 0) == 0xA1B2C3D4u);
  Pcap p;
  p.header = bytes.substr(0, 24);
  for (std::size_t at = 24; at + 16 <= bytes.size();) {
    const std::uint32_t caplen = le32(bytes, at + 8);
    REQUIRE(at + 16 + caplen <= bytes.size());
    p.records.push_back({le32(bytes, at), le32(bytes, at + 4), bytes.substr(at + 8, 8 + caplen)});
    at += 16 + caplen;
  }
  return p;
}

std::string write_pcap(const std::string& name, const Pcap& p, std::size_t from, std::size_t to,
                       std::int64_t shift_seconds = 0) {
  std::string out = p.header;
  for (std::size_t i = from; i < to && i < p.records.size(); ++i) {
    const auto sec = static_cast<std::uint32_t>(static_cast<std::int64_t>(p.records[i].sec) + shift_seconds);
    out.append(reinterpret_cast<const char*>(&sec), 4);
    out.append(reinterpret_cast<const char*>(&p.records[i].frac), 4);
    out += p.records[i].rest;
  }
  const auto path = temp_dir() / name;
  std::ofstream(path, std::ios::binary) << out;
  return path.string();
}

constexpr std::int64_t kThreeYears = 3 * 365 * 86400;

}  // namespace

TEST_SUITE("e2e") {

TEST_CASE("a capture whose clock steps back 3 years gives the flows of its parts, and says where it stepped") {
  const auto report = audit_json({data("clock-back.pcap")});
  const FlowFacts parts = one_by_one({data("tls13-sni-alpn.pcap"), data("dns-udp-tcp.pcap")});
  CHECK(parts.size() == 10);
  CHECK(flow_facts(report) == parts);
  CHECK(at_int(report, {"summary", "flows"}) == 10);
  CHECK(at_int(report, {"summary", "flow_table", "idle_expired"}) == 0);
  const object& clock = clock_of(report);
  CHECK(get_int(clock.at("jumps_back")) == 1);
  CHECK(get_int(clock.at("largest_back_ns")) > 3 * 365 * 86400 * 1'000'000'000LL);
  const auto& jump = clock.at("jumps").as_array().at(0).as_object();
  CHECK(get_int(jump.at("input")) == 0);
  CHECK(get_int(jump.at("packet")) == 19);
  CHECK(jump.at("from").as_string() == "2024-06-01T10:00:00.108016Z");
  CHECK(jump.at("to").as_string() == "2021-06-02T10:00:00.000000Z");
  CHECK(has_warning(report, data("clock-back.pcap") + ": packet 19: the capture clock goes back 3.0 years"));
}

TEST_CASE("the jump back is a warning in every report format") {
  for (const char* format : {"text", "md", "html", "sarif"}) {
    const auto r = run({"audit", data("clock-back.pcap"), "--policy", "none", "--color", "never", "--report", format});
    REQUIRE(r.exit_code == 0);
    CHECK_MESSAGE(r.out.find("packet 19: the capture clock goes back 3.0 years") != std::string::npos, format);
  }
}

TEST_CASE("an NTP step back in the middle of a TCP connection neither splits it nor expires later flows") {
  const auto report = audit_json({data("clock-step.pcap")});
  CHECK(flow_facts(report) == flow_facts(audit_json({data("dns-udp-tcp.pcap")})));
  CHECK(at_int(report, {"summary", "flows"}) == 9);
  CHECK(get_int(clock_of(report).at("jumps_back")) == 1);
  CHECK(has_warning(report, data("clock-step.pcap") + ": packet 16: the capture clock goes back 60.0 min"));
}

TEST_CASE("a pcapng from two devices whose clocks are an hour apart gives the flows of both") {
  const auto report = audit_json({data("clock-two-devices.pcapng")});
  CHECK(flow_facts(report) == one_by_one({data("dns-udp-tcp.pcap"), data("tls13-sni-alpn.pcap")}));
  CHECK(at_int(report, {"summary", "flows"}) == 10);
  const object& clock = clock_of(report);
  CHECK(get_int(clock.at("clocks")) == 2);
  CHECK(get_int(clock.at("jumps_back")) == 0);  // each interface's clock only moves forward
  CHECK(capture_warnings(report).empty());
  // if_tsoffset -3600 on interface 1: its flow starts at 09:00.
  bool found = false;
  for (const auto& v : report.at("flows").as_array()) {
    const auto& f = v.as_object();
    if (get_int(f.at("server").as_object().at("port")) == 443) {
      found = true;
      CHECK(f.at("first_seen").as_string() == "2024-06-01T09:00:00.000000Z");
    }
  }
  CHECK(found);
}

TEST_CASE("several files given newest first are one audit with the flows of each") {
  const Pcap dns = read_pcap(data("dns-udp-tcp.pcap"));
  const std::string older = write_pcap("dns-2021.pcap", dns, 0, dns.records.size(), -kThreeYears);
  const auto report = audit_json({data("trackers-mix.pcap"), older, data("tls13-sni-alpn.pcap")});
  CHECK(flow_facts(report) == one_by_one({data("trackers-mix.pcap"), older, data("tls13-sni-alpn.pcap")}));
  CHECK(at_int(report, {"summary", "flows"}) == 15 + 9 + 1);
  const object& clock = clock_of(report);
  CHECK(get_int(clock.at("jumps_back")) == 1);
  // The third file returns to the timeline of the first: only time past its latest packet counts.
  CHECK(get_int(clock.at("forward_gaps")) == 0);
  CHECK(get_int(clock.at("jumps").as_array().at(0).as_object().at("input")) == 1);
  CHECK(has_warning(report, older + ": packet 1: starts 3.0 years before the input before it ends"));
}

TEST_CASE("rotated files (editcap -c, -i) continue their flows: the same flows as the whole capture") {
  const Pcap whole = read_pcap(data("trackers-mix.pcap"));
  const FlowFacts expected = flow_facts(audit_json({data("trackers-mix.pcap")}));
  SUBCASE("by packet count, as tcpdump -C or editcap -c 20") {
    std::vector<std::string> parts;
    for (std::size_t i = 0; i < whole.records.size(); i += 20) {
      parts.push_back(write_pcap("rotated-c-" + std::to_string(i) + ".pcap", whole, i, i + 20));
    }
    REQUIRE(parts.size() == 5);
    const auto report = audit_json(parts);
    CHECK(flow_facts(report) == expected);
    CHECK(get_int(clock_of(report).at("jumps_back")) == 0);
  }
  SUBCASE("by time, as tcpdump -G or editcap -i: a part per 0.2 s") {
    std::vector<std::string> parts;
    std::size_t start = 0;
    std::uint32_t slot = whole.records[0].frac / 200'000;
    for (std::size_t i = 0; i <= whole.records.size(); ++i) {
      const bool end = i == whole.records.size();
      if (end || whole.records[i].frac / 200'000 != slot) {
        parts.push_back(write_pcap("rotated-i-" + std::to_string(i) + ".pcap", whole, start, i));
        start = i;
        if (!end) slot = whole.records[i].frac / 200'000;
      }
    }
    REQUIRE(parts.size() >= 4);
    CHECK(flow_facts(audit_json(parts)) == expected);
  }
}

}  // TEST_SUITE

}  // namespace flowaudit::e2e
