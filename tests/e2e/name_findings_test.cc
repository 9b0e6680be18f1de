// Names as places (issue 17): a canary hex- and base32-encoded in DNS query names and in a TLS
// server name (tests/data/pii/names-exfil.pcap, made by scripts/gen/name-captures with dig, dnsmasq,
// curl and openssl s_server), found label by label, reported in name_findings and graded by the
// data-leaks pack; ordinary names and a CDN hash stay quiet; --no-inspect says it did not look.
#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "e2e/e2e_util.h"

using namespace flowaudit::e2e;
using boost::json::object;

TEST_SUITE_BEGIN("e2e");

namespace {

std::string data(const std::string& name) { return source_path("tests/data/pii/" + name); }

std::size_t count_rule(const object& report, const std::string& rule) {
  const auto& f = report.at("findings").as_array();
  return static_cast<std::size_t>(
      std::count_if(f.begin(), f.end(), [&](const auto& v) { return v.as_object().at("rule").as_string() == rule; }));
}

}  // namespace

TEST_CASE("name findings: canaries in DNS labels (hex, lower-case base32) and in the server name") {
  const object r = audit_json({data("names-exfil.pcap")},
                              {"--canary-file", data("canaries.txt"), "--policy", "data-leaks"}, 1);
  const auto& names = r.at("name_findings").as_array();
  std::map<std::string, std::set<std::string>> found;  // "place name" -> "field encoding"
  for (const auto& nv : names) {
    const object& n = nv.as_object();
    const std::string key = std::string(n.at("place").as_string()) + " " + std::string(n.at("name").as_string());
    for (const auto& fv : n.at("findings").as_array()) {
      const object& f = fv.as_object();
      CHECK(f.at("type").as_string() == "canary");
      CHECK(std::string(f.at("value").as_string()).find("canary") == std::string::npos);  // masked
      found[key].insert(std::string(f.at("field").as_string()) + " " + std::string(f.at("encoding").as_string()));
    }
  }
  const std::string hex = "7a7a2e63616e6172792e376633613931406578616d706c652e6f7267.t.example-track.com";
  const std::string b32 = "pj5c4y3bnzqxe6jog5tdgyjzgfagk6dbnvygyzjon5zgo.x.example-track.com";
  REQUIRE(found.size() == 3);
  CHECK(found["dns " + hex].count("dns.label[0] hex") == 1);
  CHECK(found["dns " + b32].count("dns.label[0] base32") == 1);
  CHECK(found["sni " + hex].count("sni.label[0] hex") == 1);
  CHECK(get_int(r.at("name_findings_dropped")) == 0);
  CHECK(count_rule(r, "data-leaks.dns-name") == 2);  // one per name
  CHECK(count_rule(r, "data-leaks.server-name") == 1);
  for (const auto& fv : r.at("findings").as_array()) {
    const std::string message(fv.as_object().at("message").as_string());
    CHECK(message.find("zz.canary") == std::string::npos);
  }
}

TEST_CASE("name findings: without canaries ordinary names and a CDN hash give nothing") {
  const object r = audit_json({data("names-exfil.pcap")}, {"--policy", "data-leaks"}, 0);
  CHECK(r.at("name_findings").as_array().empty());
  CHECK(r.at("findings").as_array().empty());
}

TEST_CASE("--no-inspect: nothing searched, and the report says so; canaries cannot be combined with it") {
  const object r = audit_json({data("names-exfil.pcap")}, {"--no-inspect", "--policy", "data-leaks"}, 0);
  CHECK(r.at("name_findings").as_array().empty());
  const auto& w = r.at("warnings").as_array();
  CHECK(std::any_of(w.begin(), w.end(), [](const auto& v) {
    return std::string(v.as_string()).find("--no-inspect: requests and names were not searched") != std::string::npos;
  }));
  const auto bad = run({"audit", data("names-exfil.pcap"), "--no-inspect", "--canary", "x@example.org"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("--no-inspect cannot be combined with --canary") != std::string::npos);
}

TEST_SUITE_END();
